output "api_invoke_url" {
  description = "Base URL of the metered API."
  value       = module.api.invoke_url
}

output "api_key_ids" {
  description = "API key ids by partner."
  value       = module.api.api_key_ids
}

output "function_names" {
  description = "Stage Lambdas."
  value       = module.functions.function_names
}

output "queue_urls" {
  description = "Stage queues."
  value       = module.queues.queue_urls
}

output "table_names" {
  description = "DynamoDB tables."
  value       = module.data.table_names
}

output "bucket_names" {
  description = "S3 buckets."
  value       = module.data.bucket_names
}

output "eks_cluster_name" {
  description = "EKS cluster."
  value       = module.compute.cluster_name
}

output "alarm_topic_arn" {
  description = "Alarm topic."
  value       = module.observability.alarm_topic_arn
}
