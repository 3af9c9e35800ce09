# One SQS queue per pipeline stage (ingest, code, scrub, submit, remit), each with its own DLQ
# and a redrive policy, all encrypted with one customer-managed KMS key.

locals {
  name = "${var.project}-${var.environment}"
}

module "sqs_key" {
  source      = "../kms_key"
  alias       = "${local.name}-sqs"
  description = "SQS stage queues and DLQs of ${local.name}"
  tags        = var.tags
}

resource "aws_sqs_queue" "dlq" {
  for_each                          = toset(var.stages)
  name                              = "${local.name}-${each.key}-dlq"
  message_retention_seconds         = 1209600
  kms_master_key_id                 = module.sqs_key.arn
  kms_data_key_reuse_period_seconds = 300
  tags                              = merge(var.tags, { Stage = each.key, Role = "dlq" })
}

resource "aws_sqs_queue" "stage" {
  for_each                          = toset(var.stages)
  name                              = "${local.name}-${each.key}"
  visibility_timeout_seconds        = lookup(var.visibility_timeout_seconds, each.key, 360)
  message_retention_seconds         = var.message_retention_seconds
  receive_wait_time_seconds         = 20
  kms_master_key_id                 = module.sqs_key.arn
  kms_data_key_reuse_period_seconds = 300

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq[each.key].arn
    maxReceiveCount     = var.max_receive_count
  })

  tags = merge(var.tags, { Stage = each.key, Role = "stage" })
}

# only the stage's own queue may redrive into its DLQ
resource "aws_sqs_queue_redrive_allow_policy" "dlq" {
  for_each  = toset(var.stages)
  queue_url = aws_sqs_queue.dlq[each.key].id
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.stage[each.key].arn]
  })
}
