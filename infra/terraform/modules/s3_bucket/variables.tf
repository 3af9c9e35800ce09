variable "name" {
  description = "Globally unique bucket name."
  type        = string
}

variable "kms_key_arn" {
  description = "CMK for SSE-KMS (required: medcode buckets are never SSE-S3 except the access-log bucket)."
  type        = string
}

variable "access_log_bucket" {
  description = "Bucket (name) that receives this bucket's server access logs."
  type        = string
}

variable "object_lock_mode" {
  description = "COMPLIANCE or GOVERNANCE to enable Object Lock with a default retention; null for none."
  type        = string
  default     = null
  validation {
    condition     = var.object_lock_mode == null || contains(["COMPLIANCE", "GOVERNANCE"], coalesce(var.object_lock_mode, "x"))
    error_message = "object_lock_mode must be COMPLIANCE, GOVERNANCE or null."
  }
}

variable "object_lock_days" {
  description = "Default Object Lock retention in days (the app also sets a per-object retain-until date)."
  type        = number
  default     = 2194
}

variable "noncurrent_version_days" {
  description = "Days a noncurrent object version is kept (Object Lock still wins while retention lasts)."
  type        = number
  default     = 365
}

variable "extra_policy_json" {
  description = "Extra bucket-policy statements (a policy JSON document) merged with the TLS-only statements."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags."
  type        = map(string)
  default     = {}
}
