variable "project" {
  description = "Name prefix."
  type        = string
  default     = "medcode"
}

variable "environment" {
  description = "dev or prod."
  type        = string
}

variable "deletion_protection" {
  description = "DynamoDB deletion protection."
  type        = bool
  default     = true
}

variable "app_ttl_attribute" {
  description = "TTL attribute of the application table."
  type        = string
  default     = "ttl"
}

variable "phi_key_alias" {
  description = "Alias (without alias/) of the PHI envelope CMK; medcore.phi.envelope.DEFAULT_KMS_ALIAS is medcode-phi."
  type        = string
  default     = "medcode-phi"
}

variable "audit_lock_mode" {
  description = "Object Lock mode of the audit-digest bucket (matches MEDCODE_AUDIT_LOCK_MODE)."
  type        = string
  default     = "COMPLIANCE"
}

variable "audit_digest_retention_days" {
  description = "Default Object Lock retention of digests: six years and two days (2194 days, leap days included)."
  type        = number
  default     = 2194
  validation {
    condition     = var.audit_digest_retention_days >= 2193
    error_message = "Audit digests must be retained at least six years and two days (45 CFR 164.316(b)(2)(i))."
  }
}

variable "access_log_retention_days" {
  description = "Days S3 access logs are kept."
  type        = number
  default     = 400
}

variable "tags" {
  description = "Tags."
  type        = map(string)
  default     = {}
}
