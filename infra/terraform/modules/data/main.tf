# DynamoDB tables (application, idempotency, audit) and S3 buckets (documents, artifacts,
# audit digests under Object Lock), each table under its own customer-managed KMS key.

data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  name = "${var.project}-${var.environment}"

  # one CMK per table (crypto-shredding one never touches the others), one for the buckets
  # and one for PHI envelopes (medcore.phi.envelope: alias/medcode-phi by default)
  tables = {
    app = {
      name      = "${local.name}-app"
      hash_key  = "pk"
      range_key = "sk"
      ttl       = var.app_ttl_attribute
    }
    idempotency = {
      # aws-lambda-powertools DynamoDBPersistenceLayer defaults: key "id", expiry "expiration"
      name      = "${local.name}-idempotency"
      hash_key  = "id"
      range_key = null
      ttl       = "expiration"
    }
    audit = {
      # audit/models.py: shard (hash) + seq (range); TTL attribute "ttl", six years and a day
      # past the shard's UTC day, set by the app (audit.entry.retain_until)
      name      = "${local.name}-audit"
      hash_key  = "shard"
      range_key = "seq"
      ttl       = "ttl"
    }
  }

  key_types = {
    shard = "S"
    seq   = "N"
    pk    = "S"
    sk    = "S"
    id    = "S"
  }
}

module "table_key" {
  for_each    = local.tables
  source      = "../kms_key"
  alias       = "${local.name}-${each.key}-table"
  description = "DynamoDB table ${each.value.name}"
  tags        = var.tags
}

module "s3_key" {
  source      = "../kms_key"
  alias       = "${local.name}-s3"
  description = "S3 buckets of ${local.name}"
  tags        = var.tags
}

module "phi_key" {
  source      = "../kms_key"
  alias       = var.phi_key_alias
  description = "PHI envelope encryption (medcore.phi.envelope data keys) for ${local.name}"
  tags        = var.tags
}

resource "aws_dynamodb_table" "this" {
  for_each                    = local.tables
  name                        = each.value.name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = each.value.hash_key
  range_key                   = each.value.range_key
  deletion_protection_enabled = var.deletion_protection

  attribute {
    name = each.value.hash_key
    type = local.key_types[each.value.hash_key]
  }

  dynamic "attribute" {
    for_each = each.value.range_key == null ? [] : [each.value.range_key]
    content {
      name = attribute.value
      type = local.key_types[attribute.value]
    }
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = module.table_key[each.key].arn
  }

  ttl {
    enabled        = true
    attribute_name = each.value.ttl
  }

  tags = merge(var.tags, { Name = each.value.name, Role = each.key })
}

# ---- buckets --------------------------------------------------------------------------------

# The server-access-log target. S3 delivers access logs only to SSE-S3 buckets, so this is the
# one bucket that is not SSE-KMS; it holds request metadata, no object content and no PHI.
resource "aws_s3_bucket" "access_logs" {
  #checkov:skip=CKV_AWS_145:S3 server access logs cannot be delivered to an SSE-KMS bucket; SSE-S3 (AES256) is used.
  #checkov:skip=CKV_AWS_18:This is the access-log target; logging it to itself would loop.
  #checkov:skip=CKV_AWS_144:Access logs are not replicated cross-region (DR decision, see infra/README.md).
  #checkov:skip=CKV2_AWS_62:No event notifications needed on the access-log bucket.
  bucket        = "${local.name}-access-logs-${data.aws_caller_identity.current.account_id}"
  force_destroy = false
  tags          = merge(var.tags, { Name = "${local.name}-access-logs" })
}

resource "aws_s3_bucket_public_access_block" "access_logs" {
  bucket                  = aws_s3_bucket.access_logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id
  rule {
    id     = "expire-access-logs"
    status = "Enabled"
    filter {}
    expiration {
      days = var.access_log_retention_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 30
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
  depends_on = [aws_s3_bucket_versioning.access_logs]
}

data "aws_iam_policy_document" "access_logs" {
  statement {
    sid     = "S3ServerAccessLogs"
    actions = ["s3:PutObject"]
    principals {
      type        = "Service"
      identifiers = ["logging.s3.amazonaws.com"]
    }
    resources = ["${aws_s3_bucket.access_logs.arn}/s3/*"]
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    resources = [aws_s3_bucket.access_logs.arn, "${aws_s3_bucket.access_logs.arn}/*"]
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "access_logs" {
  bucket     = aws_s3_bucket.access_logs.id
  policy     = data.aws_iam_policy_document.access_logs.json
  depends_on = [aws_s3_bucket_public_access_block.access_logs]
}

module "bucket" {
  for_each = {
    # inputs (FHIR/HL7/C-CDA drops), encrypted encounter records, generated 837P files
    documents = { name = "${local.name}-documents-${data.aws_caller_identity.current.account_id}", lock = null }
    # Lambda packages, retrieval indexes, model artifacts
    artifacts = { name = "${local.name}-artifacts-${data.aws_caller_identity.current.account_id}", lock = null }
    # audit/digest.py anchors signed digests here; COMPLIANCE: nobody (root included) deletes early
    audit_digests = { name = "${local.name}-audit-digests-${data.aws_caller_identity.current.account_id}", lock = var.audit_lock_mode }
  }
  source            = "../s3_bucket"
  name              = each.value.name
  kms_key_arn       = module.s3_key.arn
  access_log_bucket = aws_s3_bucket.access_logs.id
  object_lock_mode  = each.value.lock
  object_lock_days  = var.audit_digest_retention_days
  tags              = merge(var.tags, { Role = each.key })
}
