variable "project" {
  description = "Name prefix."
  type        = string
  default     = "medcode"
}

variable "environment" {
  description = "dev or prod."
  type        = string
}

variable "stages" {
  description = "Stages to deploy (each needs a queue from the queues module)."
  type        = list(string)
  default     = ["ingest", "code", "scrub", "submit", "remit"]
}

variable "handlers" {
  description = "Handler per stage; default handlers.<stage>.lambda_handler."
  type        = map(string)
  default     = {}
}

variable "runtime" {
  description = "Lambda runtime (the project is Python 3.11)."
  type        = string
  default     = "python3.11"
}

variable "architecture" {
  description = "x86_64 or arm64 (the package must match)."
  type        = string
  default     = "x86_64"
}

variable "package_filename" {
  description = "Local path of the deployment zip (built elsewhere). Set this or package_s3_key."
  type        = string
  default     = null
}

variable "package_s3_bucket" {
  description = "Bucket holding the signed deployment zip (normally the artifacts bucket)."
  type        = string
  default     = null
}

variable "package_s3_key" {
  description = "Key of the signed deployment zip in package_s3_bucket."
  type        = string
  default     = null
}

variable "enforce_code_signing" {
  description = "Enforce (true) or only warn about (false) unsigned packages."
  type        = bool
  default     = true
}

variable "memory_mb" {
  description = "Memory per stage (default 1024)."
  type        = map(number)
  default     = {}
}

variable "timeout_seconds" {
  description = "Timeout per stage (default 60); queue visibility timeout must be >= 6x this."
  type        = map(number)
  default     = {}
}

variable "reserved_concurrency" {
  description = "Reserved concurrency per stage (default 10); also caps the SQS event source mapping."
  type        = map(number)
  default     = {}
}

variable "batch_size" {
  description = "SQS batch size per stage (default 10)."
  type        = map(number)
  default     = {}
}

variable "log_retention_days" {
  description = "Lambda log retention (days)."
  type        = number
  default     = 365
}

variable "vpc_id" {
  description = "VPC (network module)."
  type        = string
}

variable "vpc_cidr" {
  description = "VPC CIDR (egress to interface endpoints)."
  type        = string
}

variable "private_subnet_ids" {
  description = "Private subnets for the functions."
  type        = list(string)
}

variable "private_subnet_arns" {
  description = "Their ARNs (ENI-creation permission)."
  type        = list(string)
}

variable "gateway_prefix_list_ids" {
  description = "S3/DynamoDB gateway endpoint prefix lists."
  type        = list(string)
}

variable "internet_egress_stages" {
  description = "Stages that get HTTPS egress to the internet (needs the network module's NAT)."
  type        = list(string)
  default     = []
}

variable "internet_egress_cidrs" {
  description = "Destinations the internet-egress stages may reach on 443 (narrow to the clearinghouse's ranges where known)."
  type        = list(string)
  default     = []
}

variable "queue_arns" {
  description = "Stage queue ARNs by stage (queues module)."
  type        = map(string)
}

variable "queue_urls" {
  description = "Stage queue URLs by stage."
  type        = map(string)
}

variable "dlq_arns" {
  description = "DLQ ARNs by stage."
  type        = map(string)
}

variable "sqs_key_arn" {
  description = "CMK of the queues."
  type        = string
}

variable "table_names" {
  description = "Table names by role: app, idempotency, audit (data module)."
  type        = map(string)
}

variable "table_arns" {
  description = "Table ARNs by role."
  type        = map(string)
}

variable "table_key_arns" {
  description = "Table CMK ARNs by role."
  type        = map(string)
}

variable "phi_key_arn" {
  description = "PHI envelope CMK."
  type        = string
}

variable "phi_key_alias" {
  description = "alias/<name> of the PHI CMK."
  type        = string
}

variable "s3_key_arn" {
  description = "CMK of the buckets."
  type        = string
}

variable "documents_bucket" {
  description = "Documents bucket name."
  type        = string
}

variable "documents_bucket_arn" {
  description = "Documents bucket ARN."
  type        = string
}

variable "audit_digest_bucket" {
  description = "Audit-digest bucket name (MEDCODE_AUDIT_DIGEST_BUCKET)."
  type        = string
}

variable "audit_lock_mode" {
  description = "MEDCODE_AUDIT_LOCK_MODE."
  type        = string
  default     = "COMPLIANCE"
}

variable "extra_environment" {
  description = "More MEDCODE_* variables (no secrets: those come from Secrets Manager at run time)."
  type        = map(string)
  default     = {}
}

variable "tags" {
  description = "Tags."
  type        = map(string)
  default     = {}
}
