output "rest_api_id" {
  description = "REST API id."
  value       = aws_api_gateway_rest_api.this.id
}

output "rest_api_name" {
  description = "REST API name (CloudWatch ApiName dimension)."
  value       = aws_api_gateway_rest_api.this.name
}

output "stage_name" {
  description = "Stage name."
  value       = aws_api_gateway_stage.this.stage_name
}

output "invoke_url" {
  description = "Base URL of the stage."
  value       = aws_api_gateway_stage.this.invoke_url
}

output "web_acl_arn" {
  description = "WAF web ACL ARN."
  value       = aws_wafv2_web_acl.this.arn
}

output "api_key_ids" {
  description = "API key ids by partner (values: aws apigateway get-api-key --include-value)."
  value       = { for k, v in aws_api_gateway_api_key.this : k => v.id }
}
