# A customer-managed KMS key (CMK) with rotation on, an explicit key policy and an alias.
# Every CMK in medcode comes from here so that the key policy shape is reviewed once.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_root = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"

  # the account (IAM policies decide who in it may use the key) administers the key
  base_statements = [
    {
      Sid       = "AccountAdministers"
      Effect    = "Allow"
      Principal = { AWS = local.account_root }
      Action    = "kms:*"
      Resource  = "*"
    },
  ]

  # AWS services that encrypt with the key on the account's behalf (logs, SNS, CloudTrail...)
  service_statements = length(var.service_principals) == 0 ? [] : [
    {
      Sid       = "ServicesUseKey"
      Effect    = "Allow"
      Principal = { Service = var.service_principals }
      Action    = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:DescribeKey"]
      Resource  = "*"
      Condition = {
        StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id }
      }
    },
  ]
}

resource "aws_kms_key" "this" {
  description             = var.description
  enable_key_rotation     = true
  rotation_period_in_days = var.rotation_period_in_days
  deletion_window_in_days = var.deletion_window_in_days
  multi_region            = false
  tags                    = var.tags

  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = concat(local.base_statements, local.service_statements, var.extra_statements)
  })
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.alias}"
  target_key_id = aws_kms_key.this.key_id
}
