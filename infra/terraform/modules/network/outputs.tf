output "vpc_id" {
  description = "VPC id."
  value       = aws_vpc.this.id
}

output "vpc_cidr" {
  description = "VPC CIDR."
  value       = aws_vpc.this.cidr_block
}

output "private_subnet_ids" {
  description = "Private subnet ids (Lambdas, EKS nodes, VPC link NLB)."
  value       = aws_subnet.private[*].id
}

output "private_subnet_arns" {
  description = "Private subnet ARNs (for IAM conditions on ENI creation)."
  value       = aws_subnet.private[*].arn
}

output "endpoint_security_group_id" {
  description = "Security group of the interface endpoints."
  value       = aws_security_group.endpoints.id
}

output "flow_log_group_name" {
  description = "CloudWatch log group of the flow logs."
  value       = aws_cloudwatch_log_group.flow.name
}

output "nat_enabled" {
  description = "Whether private subnets have internet egress."
  value       = var.enable_nat_gateway
}

output "gateway_prefix_list_ids" {
  description = "Prefix lists of the S3 and DynamoDB gateway endpoints (security-group egress targets)."
  value       = [for e in aws_vpc_endpoint.gateway : e.prefix_list_id]
}
