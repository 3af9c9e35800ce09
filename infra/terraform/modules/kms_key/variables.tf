variable "alias" {
  description = "Alias without the alias/ prefix, e.g. medcode-prod-audit-table."
  type        = string
}

variable "description" {
  description = "What the key protects."
  type        = string
}

variable "service_principals" {
  description = "AWS service principals allowed to use the key for the account (e.g. logs.us-east-1.amazonaws.com)."
  type        = list(string)
  default     = []
}

variable "extra_statements" {
  description = "Additional key-policy statements (objects in IAM JSON shape)."
  type        = list(any)
  default     = []
}

variable "rotation_period_in_days" {
  description = "Automatic rotation period (90 to 2560 days)."
  type        = number
  default     = 365
}

variable "deletion_window_in_days" {
  description = "Waiting period before a scheduled deletion (7 to 30 days). Deleting a CMK crypto-shreds what it wraps."
  type        = number
  default     = 30
}

variable "tags" {
  description = "Tags for the key."
  type        = map(string)
  default     = {}
}
