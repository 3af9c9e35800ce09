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
  description = "Pipeline stages; one queue + DLQ each."
  type        = list(string)
  default     = ["ingest", "code", "scrub", "submit", "remit"]
}

variable "visibility_timeout_seconds" {
  description = "Per-stage visibility timeout; keep it >= 6x the stage Lambda's timeout (AWS guidance for event source mappings)."
  type        = map(number)
  default     = {}
}

variable "message_retention_seconds" {
  description = "Stage-queue retention."
  type        = number
  default     = 345600
}

variable "max_receive_count" {
  description = "Receives before a message moves to the DLQ."
  type        = number
  default     = 5
}

variable "tags" {
  description = "Tags."
  type        = map(string)
  default     = {}
}
