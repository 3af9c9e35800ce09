output "arn" {
  description = "Key ARN."
  value       = aws_kms_key.this.arn
}

output "key_id" {
  description = "Key id."
  value       = aws_kms_key.this.key_id
}

output "alias_name" {
  description = "alias/<name>."
  value       = aws_kms_alias.this.name
}

output "alias_arn" {
  description = "Alias ARN."
  value       = aws_kms_alias.this.arn
}
