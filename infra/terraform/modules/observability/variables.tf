variable "project" {
  description = "Name prefix."
  type        = string
  default     = "medcode"
}

variable "environment" {
  description = "dev or prod."
  type        = string
}

variable "alarm_emails" {
  description = "Addresses subscribed to the alarm topic (each must confirm)."
  type        = list(string)
  default     = []
}

variable "dlq_names" {
  description = "DLQ names by stage (queues module)."
  type        = map(string)
}

variable "function_names" {
  description = "Lambda names by stage (functions module)."
  type        = map(string)
}

variable "lambda_error_rate_percent" {
  description = "Lambda error-rate alarm threshold (% of invocations over 5 minutes)."
  type        = number
  default     = 5
}

variable "lambda_duration_p95_ms" {
  description = "p95 duration threshold per stage (ms; default 30000)."
  type        = map(number)
  default     = {}
}

variable "api_name" {
  description = "REST API name (api module)."
  type        = string
}

variable "api_stage" {
  description = "REST API stage."
  type        = string
}

variable "api_5xx_rate_percent" {
  description = "API 5xx alarm threshold (% of requests)."
  type        = number
  default     = 1
}

variable "api_latency_p95_ms" {
  description = "API p95 latency alarm threshold (ms)."
  type        = number
  default     = 5000
}

variable "trail_bucket_name" {
  description = "CloudTrail bucket name (globally unique)."
  type        = string
}

variable "trail_lock_mode" {
  description = "Object Lock mode of the trail bucket (COMPLIANCE, GOVERNANCE or null)."
  type        = string
  default     = "GOVERNANCE"
}

variable "trail_retention_days" {
  description = "Default Object Lock retention of trail logs (days)."
  type        = number
  default     = 2194
}

variable "access_log_bucket" {
  description = "Server-access-log bucket (data module)."
  type        = string
}

variable "audit_digest_bucket_arn" {
  description = "Audit-digest bucket ARN (data events)."
  type        = string
}

variable "audit_table_arn" {
  description = "Audit table ARN (data events)."
  type        = string
}

variable "log_retention_days" {
  description = "CloudTrail log-group retention (days)."
  type        = number
  default     = 365
}

variable "tags" {
  description = "Tags."
  type        = map(string)
  default     = {}
}
