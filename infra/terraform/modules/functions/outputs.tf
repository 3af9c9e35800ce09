output "function_names" {
  description = "Function names by stage."
  value       = { for k, f in aws_lambda_function.stage : k => f.function_name }
}

output "function_arns" {
  description = "Function ARNs by stage."
  value       = { for k, f in aws_lambda_function.stage : k => f.arn }
}

output "role_arns" {
  description = "Execution role ARNs by stage."
  value       = { for k, r in aws_iam_role.stage : k => r.arn }
}

output "security_group_id" {
  description = "Security group of the functions."
  value       = aws_security_group.lambda.id
}

output "signing_profile_name" {
  description = "Signer profile CI signs packages with (aws signer start-signing-job)."
  value       = aws_signer_signing_profile.lambda.name
}
