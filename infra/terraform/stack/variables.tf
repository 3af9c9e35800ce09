variable "project" {
  description = "Name prefix of every resource."
  type        = string
  default     = "medcode"
}

variable "environment" {
  description = "dev or prod."
  type        = string
  validation {
    condition     = contains(["dev", "prod"], var.environment)
    error_message = "environment must be dev or prod."
  }
}

variable "region" {
  description = "AWS region."
  type        = string
}

variable "account_id" {
  description = "AWS account id (bucket-name suffix; guards against applying to the wrong account)."
  type        = string
}

variable "tags" {
  description = "Extra tags on every resource."
  type        = map(string)
  default     = {}
}

# ---- network
variable "vpc_cidr" {
  description = "VPC CIDR."
  type        = string
}

variable "azs" {
  description = "Availability zones."
  type        = list(string)
}

variable "enable_nat_gateway" {
  description = "NAT egress (clearinghouse calls, public image registries)."
  type        = bool
  default     = false
}

variable "single_nat_gateway" {
  description = "One NAT for all AZs."
  type        = bool
  default     = true
}

# ---- data
variable "deletion_protection" {
  description = "DynamoDB deletion protection."
  type        = bool
  default     = true
}

variable "audit_lock_mode" {
  description = "Object Lock mode of the audit-digest bucket (= MEDCODE_AUDIT_LOCK_MODE)."
  type        = string
  default     = "COMPLIANCE"
}

variable "audit_digest_retention_days" {
  description = "Default retention of audit digests (>= 2193 days)."
  type        = number
  default     = 2194
}

variable "phi_key_alias" {
  description = "PHI CMK alias name (without alias/)."
  type        = string
  default     = "medcode-phi"
}

# ---- queues / functions
variable "stages" {
  description = "Pipeline stages."
  type        = list(string)
  default     = ["ingest", "code", "scrub", "submit", "remit"]
}

variable "max_receive_count" {
  description = "Receives before a message moves to its DLQ."
  type        = number
  default     = 5
}

variable "lambda_package_filename" {
  description = "Local deployment zip (dev); null to use lambda_package_s3_key in the artifacts bucket."
  type        = string
  default     = null
}

variable "lambda_package_s3_key" {
  description = "Key of the signed deployment zip in the artifacts bucket."
  type        = string
  default     = null
}

variable "enforce_code_signing" {
  description = "Reject unsigned Lambda packages."
  type        = bool
  default     = true
}

variable "lambda_memory_mb" {
  description = "Memory per stage."
  type        = map(number)
  default     = {}
}

variable "lambda_timeout_seconds" {
  description = "Timeout per stage (queue visibility = 6x)."
  type        = map(number)
  default     = { ingest = 60, code = 120, scrub = 60, submit = 60, remit = 60 }
}

variable "lambda_reserved_concurrency" {
  description = "Reserved concurrency per stage."
  type        = map(number)
  default     = {}
}

variable "lambda_batch_size" {
  description = "SQS batch size per stage."
  type        = map(number)
  default     = {}
}

variable "internet_egress_stages" {
  description = "Stages with HTTPS internet egress (only when enable_nat_gateway)."
  type        = list(string)
  default     = ["submit"]
}

variable "internet_egress_cidrs" {
  description = "Where those stages may connect on 443."
  type        = list(string)
  default     = []
}

variable "lambda_extra_environment" {
  description = "Extra MEDCODE_* environment (no secrets)."
  type        = map(string)
  default     = {}
}

# ---- api
variable "serving_integration" {
  description = "vpc_link, http or lambda."
  type        = string
  default     = "vpc_link"
}

variable "serving_endpoint_url" {
  description = "Base URL of the serving endpoint."
  type        = string
  default     = ""
}

variable "serving_nlb_arn" {
  description = "Internal NLB of the Ray Serve ingress (vpc_link)."
  type        = string
  default     = null
}

variable "usage_plans" {
  description = "Usage plans (tiers)."
  type = map(object({
    rate_limit   = number
    burst_limit  = number
    quota_limit  = number
    quota_period = string
  }))
}

variable "api_keys" {
  description = "Partner => tier."
  type        = map(string)
  default     = {}
}

variable "waf_rate_limit" {
  description = "WAF requests per 5 minutes per IP."
  type        = number
  default     = 2000
}

variable "manage_apigw_account_role" {
  description = "Whether this stack owns the region's API Gateway CloudWatch role."
  type        = bool
  default     = true
}

# ---- compute
variable "kubernetes_version" {
  description = "EKS version."
  type        = string
  default     = "1.33"
}

variable "eks_api_allowed_cidrs" {
  description = "Extra CIDRs allowed to the private EKS API."
  type        = list(string)
  default     = []
}

variable "system_instance_types" {
  description = "System node types."
  type        = list(string)
  default     = ["m6i.xlarge"]
}

variable "gpu_instance_types" {
  description = "GPU node types (g5/p4)."
  type        = list(string)
}

variable "gpus_per_node" {
  description = "GPUs per GPU node."
  type        = number
  default     = 1
}

variable "gpu_capacity_type" {
  description = "ON_DEMAND or SPOT."
  type        = string
  default     = "ON_DEMAND"
}

variable "gpu_min_size" {
  description = "GPU nodes min."
  type        = number
  default     = 0
}

variable "gpu_max_size" {
  description = "GPU nodes max."
  type        = number
  default     = 2
}

variable "kuberay_operator_chart_version" {
  description = "Pinned kuberay-operator chart."
  type        = string
  default     = "1.4.2"
}

variable "serving_namespace" {
  description = "RayService namespace."
  type        = string
  default     = "medcode-serving"
}

variable "rayservice_manifest_path" {
  description = "RayService manifest rendered by `medcode render-rayservice --out FILE`."
  type        = string
}

# ---- observability
variable "alarm_emails" {
  description = "Alarm subscribers."
  type        = list(string)
  default     = []
}

variable "api_latency_p95_ms" {
  description = "API p95 latency alarm (ms)."
  type        = number
  default     = 5000
}

variable "trail_lock_mode" {
  description = "Object Lock mode of the CloudTrail bucket."
  type        = string
  default     = "GOVERNANCE"
}

variable "log_retention_days" {
  description = "CloudWatch log retention (days) everywhere."
  type        = number
  default     = 365
}
