output "alarm_topic_arn" {
  description = "SNS topic of all alarms."
  value       = aws_sns_topic.alarms.arn
}

output "trail_arn" {
  description = "CloudTrail ARN."
  value       = aws_cloudtrail.this.arn
}

output "trail_bucket" {
  description = "CloudTrail bucket."
  value       = module.trail_bucket.id
}
