output "table_names" {
  description = "DynamoDB table names by role (app, idempotency, audit)."
  value       = { for k, t in aws_dynamodb_table.this : k => t.name }
}

output "table_arns" {
  description = "DynamoDB table ARNs by role."
  value       = { for k, t in aws_dynamodb_table.this : k => t.arn }
}

output "table_key_arns" {
  description = "CMK ARN of each table, by role."
  value       = { for k, m in module.table_key : k => m.arn }
}

output "s3_key_arn" {
  description = "CMK of the buckets."
  value       = module.s3_key.arn
}

output "phi_key_arn" {
  description = "CMK of PHI envelopes."
  value       = module.phi_key.arn
}

output "phi_key_alias" {
  description = "alias/<name> of the PHI CMK."
  value       = module.phi_key.alias_name
}

output "bucket_names" {
  description = "Bucket names by role (documents, artifacts, audit_digests)."
  value       = { for k, b in module.bucket : k => b.id }
}

output "bucket_arns" {
  description = "Bucket ARNs by role."
  value       = { for k, b in module.bucket : k => b.arn }
}

output "access_log_bucket" {
  description = "Server-access-log bucket name (CloudTrail's bucket logs here too)."
  value       = aws_s3_bucket.access_logs.id
}
