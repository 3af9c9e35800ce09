output "queue_arns" {
  description = "Stage queue ARNs by stage."
  value       = { for k, q in aws_sqs_queue.stage : k => q.arn }
}

output "queue_urls" {
  description = "Stage queue URLs by stage."
  value       = { for k, q in aws_sqs_queue.stage : k => q.id }
}

output "queue_names" {
  description = "Stage queue names by stage."
  value       = { for k, q in aws_sqs_queue.stage : k => q.name }
}

output "dlq_arns" {
  description = "DLQ ARNs by stage."
  value       = { for k, q in aws_sqs_queue.dlq : k => q.arn }
}

output "dlq_names" {
  description = "DLQ names by stage."
  value       = { for k, q in aws_sqs_queue.dlq : k => q.name }
}

output "kms_key_arn" {
  description = "CMK of the queues."
  value       = module.sqs_key.arn
}
