# One Lambda per pipeline stage handler, each with its own least-privilege role: its own queue
# (consume), the next stage's queue (send), its DLQ, only the tables and keys it uses.

data "aws_region" "current" {}
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  name      = "${var.project}-${var.environment}"
  region    = data.aws_region.current.name
  account   = data.aws_caller_identity.current.account_id
  partition = data.aws_partition.current.partition

  # What each stage touches. next: the queue it feeds; app_actions: application-table actions;
  # phi_actions: PHI-envelope key actions (DescribeKey: KmsKeyProvider.ensure_key resolves the alias); documents: documents-bucket object actions.
  stage_access = {
    ingest = {
      next        = "code"
      app_actions = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
      phi_actions = ["kms:GenerateDataKey", "kms:Decrypt", "kms:DescribeKey"]
      documents   = ["s3:GetObject", "s3:PutObject"]
    }
    code = {
      next        = "scrub"
      app_actions = ["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:Query"]
      phi_actions = ["kms:GenerateDataKey", "kms:Decrypt", "kms:DescribeKey"]
      documents   = ["s3:GetObject"]
    }
    scrub = {
      next        = "submit"
      app_actions = ["dynamodb:GetItem", "dynamodb:UpdateItem"]
      phi_actions = ["kms:Decrypt", "kms:DescribeKey"]
      documents   = []
    }
    submit = {
      next        = null
      app_actions = ["dynamodb:GetItem", "dynamodb:UpdateItem"]
      phi_actions = ["kms:Decrypt", "kms:DescribeKey"]
      documents   = ["s3:PutObject"]
    }
    remit = {
      next        = null
      app_actions = ["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:Query"]
      phi_actions = ["kms:Decrypt", "kms:DescribeKey"]
      documents   = ["s3:GetObject", "s3:PutObject"]
    }
  }

  stages = { for s in var.stages : s => local.stage_access[s] }

  # the audit log: reads the shard head, appends with TransactWriteItems (Put + Update + ConditionCheck)
  audit_actions       = ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"]
  idempotency_actions = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]

  eni_arn = "arn:${local.partition}:ec2:${local.region}:${local.account}:network-interface/*"
  sg_arn  = "arn:${local.partition}:ec2:${local.region}:${local.account}:security-group/${aws_security_group.lambda.id}"
}

# ---- keys, logs, code signing ------------------------------------------------------------------

module "lambda_key" {
  source             = "../kms_key"
  alias              = "${local.name}-lambda"
  description        = "Lambda environment variables and log groups of ${local.name}"
  service_principals = ["logs.${local.region}.amazonaws.com"]
  tags               = var.tags
}

resource "aws_cloudwatch_log_group" "stage" {
  for_each          = local.stages
  name              = "/aws/lambda/${local.name}-${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = module.lambda_key.arn
  tags              = merge(var.tags, { Stage = each.key })
}

resource "aws_signer_signing_profile" "lambda" {
  name_prefix = replace("${local.name}_lambda_", "-", "_")
  platform_id = "AWSLambda-SHA384-ECDSA"
  tags        = var.tags
}

resource "aws_lambda_code_signing_config" "this" {
  description = "Only packages signed by the ${local.name} signing profile deploy"
  allowed_publishers {
    signing_profile_version_arns = [aws_signer_signing_profile.lambda.version_arn]
  }
  policies {
    untrusted_artifact_on_deployment = var.enforce_code_signing ? "Enforce" : "Warn"
  }
}

# ---- network --------------------------------------------------------------------------------

resource "aws_security_group" "lambda" {
  name        = "${local.name}-lambda"
  description = "Stage Lambdas: HTTPS to VPC endpoints (interface and gateway) only"
  vpc_id      = var.vpc_id

  egress {
    description = "HTTPS to interface endpoints"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = [var.vpc_cidr]
  }

  egress {
    description     = "HTTPS to the S3 and DynamoDB gateway endpoints"
    from_port       = 443
    to_port         = 443
    protocol        = "tcp"
    prefix_list_ids = var.gateway_prefix_list_ids
  }

  tags = merge(var.tags, { Name = "${local.name}-lambda" })
}

# stages that call outside AWS (submit: the clearinghouse) need NAT egress on 443
resource "aws_security_group" "lambda_internet" {
  count       = length(var.internet_egress_stages) > 0 ? 1 : 0
  name        = "${local.name}-lambda-internet"
  description = "HTTPS egress to the internet through NAT for the stages that call external partners"
  vpc_id      = var.vpc_id

  egress {
    description = "HTTPS to external partners (clearinghouse)"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = var.internet_egress_cidrs
  }

  tags = merge(var.tags, { Name = "${local.name}-lambda-internet" })
}

# ---- IAM --------------------------------------------------------------------------------------

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

resource "aws_iam_role" "stage" {
  for_each           = local.stages
  name               = "${local.name}-${each.key}-lambda"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = merge(var.tags, { Stage = each.key })
}

data "aws_iam_policy_document" "stage" {
  for_each = local.stages

  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.stage[each.key].arn}:*"]
  }

  statement {
    sid       = "ConsumeOwnQueue"
    actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"]
    resources = [var.queue_arns[each.key]]
  }

  statement {
    sid       = "FailuresToOwnDlq"
    actions   = ["sqs:SendMessage"]
    resources = [var.dlq_arns[each.key]]
  }

  dynamic "statement" {
    for_each = each.value.next == null ? [] : [each.value.next]
    content {
      sid       = "FeedNextStage"
      actions   = ["sqs:SendMessage", "sqs:GetQueueUrl"]
      resources = [var.queue_arns[statement.value]]
    }
  }

  statement {
    sid       = "QueueKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.sqs_key_arn]
  }

  statement {
    sid       = "AppTable"
    actions   = each.value.app_actions
    resources = [var.table_arns["app"], "${var.table_arns["app"]}/index/*"]
  }

  statement {
    sid       = "IdempotencyTable"
    actions   = local.idempotency_actions
    resources = [var.table_arns["idempotency"]]
  }

  statement {
    sid       = "AuditAppend"
    actions   = local.audit_actions
    resources = [var.table_arns["audit"]]
  }

  statement {
    sid       = "TableKeys"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    resources = [var.table_key_arns["app"], var.table_key_arns["idempotency"], var.table_key_arns["audit"]]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["dynamodb.${local.region}.amazonaws.com"]
    }
  }

  statement {
    sid       = "PhiEnvelopes"
    actions   = each.value.phi_actions
    resources = [var.phi_key_arn]
  }

  dynamic "statement" {
    for_each = length(each.value.documents) == 0 ? [] : [each.value.documents]
    content {
      sid       = "Documents"
      actions   = statement.value
      resources = ["${var.documents_bucket_arn}/*"]
    }
  }

  dynamic "statement" {
    for_each = length(each.value.documents) == 0 ? [] : [each.value.documents]
    content {
      sid       = "DocumentsKey"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [var.s3_key_arn]
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["s3.${local.region}.amazonaws.com"]
      }
    }
  }

  statement {
    sid       = "EnvironmentKey"
    actions   = ["kms:Decrypt"]
    resources = [module.lambda_key.arn]
  }

  statement {
    sid     = "VpcEniCreate"
    actions = ["ec2:CreateNetworkInterface"]
    resources = concat(
      [local.eni_arn, local.sg_arn],
      var.private_subnet_arns,
      [for sg in aws_security_group.lambda_internet : "arn:${local.partition}:ec2:${local.region}:${local.account}:security-group/${sg.id}"],
    )
  }

  statement {
    sid       = "VpcEniManage"
    actions   = ["ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"]
    resources = [local.eni_arn]
  }

  # these actions have no resource-level permissions in IAM: "*" is the only valid resource
  statement {
    sid       = "NoResourceLevelPermissions"
    actions   = ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets", "xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "stage" {
  for_each = local.stages
  name     = "${local.name}-${each.key}"
  role     = aws_iam_role.stage[each.key].id
  policy   = data.aws_iam_policy_document.stage[each.key].json
}

# ---- functions ----------------------------------------------------------------------------------

resource "aws_lambda_function" "stage" {
  for_each = local.stages

  function_name = "${local.name}-${each.key}"
  description   = "medcode ${each.key} stage (${lookup(var.handlers, each.key, "handlers.${each.key}.lambda_handler")})"
  role          = aws_iam_role.stage[each.key].arn
  handler       = lookup(var.handlers, each.key, "handlers.${each.key}.lambda_handler")
  runtime       = var.runtime
  architectures = [var.architecture]
  memory_size   = lookup(var.memory_mb, each.key, 1024)
  timeout       = lookup(var.timeout_seconds, each.key, 60)

  # the package is built elsewhere (CI); either a local zip or an object in the artifacts bucket
  filename  = var.package_filename
  s3_bucket = var.package_filename == null ? var.package_s3_bucket : null
  s3_key    = var.package_filename == null ? var.package_s3_key : null

  reserved_concurrent_executions = lookup(var.reserved_concurrency, each.key, 10)
  code_signing_config_arn        = aws_lambda_code_signing_config.this.arn
  kms_key_arn                    = module.lambda_key.arn

  tracing_config {
    mode = "Active"
  }

  dead_letter_config {
    target_arn = var.dlq_arns[each.key]
  }

  vpc_config {
    subnet_ids = var.private_subnet_ids
    security_group_ids = concat(
      [aws_security_group.lambda.id],
      contains(var.internet_egress_stages, each.key) ? [aws_security_group.lambda_internet[0].id] : [],
    )
  }

  environment {
    variables = merge(
      {
        MEDCODE_STAGE               = each.key
        MEDCODE_AWS_REGION          = local.region
        # an explicit regional endpoint: medcore.settings defaults to DynamoDB Local otherwise
        MEDCODE_DYNAMODB_ENDPOINT   = "https://dynamodb.${local.region}.amazonaws.com"
        # empty = real AWS for S3/KMS (medcore.settings defaults to the local moto server)
        MEDCODE_MOTO_ENDPOINT       = ""
        MEDCODE_AUDIT_TABLE         = var.table_names["audit"]
        MEDCODE_APP_TABLE           = var.table_names["app"]
        MEDCODE_IDEMPOTENCY_TABLE   = var.table_names["idempotency"]
        MEDCODE_AUDIT_DIGEST_BUCKET = var.audit_digest_bucket
        MEDCODE_AUDIT_LOCK_MODE     = var.audit_lock_mode
        MEDCODE_DOCUMENTS_BUCKET    = var.documents_bucket
        MEDCODE_PHI_KEYS            = "kms"
        MEDCODE_PHI_KMS_ALIAS       = var.phi_key_alias
        MEDCODE_QUEUE_URL           = var.queue_urls[each.key]
        MEDCODE_NEXT_QUEUE_URL      = each.value.next == null ? "" : var.queue_urls[each.value.next]
        # the Lambda filesystem is read-only except /tmp
        MEDCODE_VAR_DIR             = "/tmp/medcode/var"
        MEDCODE_OUT_DIR             = "/tmp/medcode/out"
        POWERTOOLS_SERVICE_NAME     = "medcode-${each.key}"
      },
      var.extra_environment,
    )
  }

  tags = merge(var.tags, { Stage = each.key })

  depends_on = [aws_cloudwatch_log_group.stage, aws_iam_role_policy.stage]
}

# async invocations (retries exhausted) also land in the stage DLQ
resource "aws_lambda_function_event_invoke_config" "stage" {
  for_each                     = local.stages
  function_name                = aws_lambda_function.stage[each.key].function_name
  maximum_retry_attempts       = 2
  maximum_event_age_in_seconds = 3600
  destination_config {
    on_failure {
      destination = var.dlq_arns[each.key]
    }
  }
}

resource "aws_lambda_event_source_mapping" "stage" {
  for_each                           = local.stages
  event_source_arn                   = var.queue_arns[each.key]
  function_name                      = aws_lambda_function.stage[each.key].arn
  batch_size                         = lookup(var.batch_size, each.key, 10)
  maximum_batching_window_in_seconds = 5
  # the handlers return {"batchItemFailures": [...]} (powertools BatchProcessor): only the
  # failed records are retried and, after maxReceiveCount, moved to the DLQ
  function_response_types = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = max(2, lookup(var.reserved_concurrency, each.key, 10))
  }
}
