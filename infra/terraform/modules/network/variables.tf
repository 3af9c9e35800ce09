variable "project" {
  description = "Name prefix."
  type        = string
  default     = "medcode"
}

variable "environment" {
  description = "dev or prod."
  type        = string
}

variable "vpc_cidr" {
  description = "VPC CIDR; private subnets are /20s carved from it (cidrsubnet(cidr, 4, i))."
  type        = string
}

variable "azs" {
  description = "Availability zones, one private subnet each."
  type        = list(string)
}

variable "interface_endpoints" {
  description = "Interface endpoint service suffixes. SQS/KMS/Logs/ECR for the stages; sts/ec2/eks/autoscaling/elasticloadbalancing for private EKS, IRSA and the cluster autoscaler; xray for tracing."
  type        = list(string)
  default     = ["sqs", "kms", "logs", "ecr.api", "ecr.dkr", "sts", "xray", "ec2", "eks", "eks-auth", "autoscaling", "elasticloadbalancing"]
}

variable "enable_nat_gateway" {
  description = "Public subnets + NAT for egress (the submit stage's clearinghouse, public image registries). Off = no internet egress at all."
  type        = bool
  default     = false
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all AZs (dev) instead of one per AZ (prod)."
  type        = bool
  default     = true
}

variable "log_retention_days" {
  description = "Flow-log retention (days)."
  type        = number
  default     = 365
}

variable "tags" {
  description = "Tags."
  type        = map(string)
  default     = {}
}
