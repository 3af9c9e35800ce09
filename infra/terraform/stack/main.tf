# One environment: the seven modules wired together in deploy order. dev and prod share this
# file; they differ only in terraform.tfvars.

provider "aws" {
  region = var.region
  default_tags {
    tags = local.tags
  }
}

# kubernetes/helm talk to the private EKS endpoint: run from inside the VPC (or a peered one)
provider "kubernetes" {
  host                   = module.compute.cluster_endpoint
  cluster_ca_certificate = base64decode(module.compute.cluster_ca)
  exec {
    api_version = "client.authentication.k8s.io/v1beta1"
    command     = "aws"
    args        = ["eks", "get-token", "--cluster-name", module.compute.cluster_name, "--region", var.region]
  }
}

provider "helm" {
  kubernetes {
    host                   = module.compute.cluster_endpoint
    cluster_ca_certificate = base64decode(module.compute.cluster_ca)
    exec {
      api_version = "client.authentication.k8s.io/v1beta1"
      command     = "aws"
      args        = ["eks", "get-token", "--cluster-name", module.compute.cluster_name, "--region", var.region]
    }
  }
}

locals {
  tags = merge(var.tags, {
    Project     = var.project
    Environment = var.environment
    ManagedBy   = "terraform"
  })
}

module "network" {
  source             = "../modules/network"
  project            = var.project
  environment        = var.environment
  vpc_cidr           = var.vpc_cidr
  azs                = var.azs
  enable_nat_gateway = var.enable_nat_gateway
  single_nat_gateway = var.single_nat_gateway
  log_retention_days = var.log_retention_days
  tags               = local.tags
}

module "data" {
  source                      = "../modules/data"
  project                     = var.project
  environment                 = var.environment
  deletion_protection         = var.deletion_protection
  audit_lock_mode             = var.audit_lock_mode
  audit_digest_retention_days = var.audit_digest_retention_days
  phi_key_alias               = var.phi_key_alias
  tags                        = local.tags
}

module "queues" {
  source                     = "../modules/queues"
  project                    = var.project
  environment                = var.environment
  stages                     = var.stages
  visibility_timeout_seconds = { for s, t in var.lambda_timeout_seconds : s => 6 * t }
  max_receive_count          = var.max_receive_count
  tags                       = local.tags
}

module "functions" {
  source                  = "../modules/functions"
  project                 = var.project
  environment             = var.environment
  stages                  = var.stages
  package_filename        = var.lambda_package_filename
  package_s3_bucket       = var.lambda_package_filename == null ? module.data.bucket_names["artifacts"] : null
  package_s3_key          = var.lambda_package_s3_key
  enforce_code_signing    = var.enforce_code_signing
  memory_mb               = var.lambda_memory_mb
  timeout_seconds         = var.lambda_timeout_seconds
  reserved_concurrency    = var.lambda_reserved_concurrency
  batch_size              = var.lambda_batch_size
  log_retention_days      = var.log_retention_days
  vpc_id                  = module.network.vpc_id
  vpc_cidr                = module.network.vpc_cidr
  private_subnet_ids      = module.network.private_subnet_ids
  private_subnet_arns     = module.network.private_subnet_arns
  gateway_prefix_list_ids = module.network.gateway_prefix_list_ids
  internet_egress_stages  = var.enable_nat_gateway ? var.internet_egress_stages : []
  internet_egress_cidrs   = var.internet_egress_cidrs
  queue_arns              = module.queues.queue_arns
  queue_urls              = module.queues.queue_urls
  dlq_arns                = module.queues.dlq_arns
  sqs_key_arn             = module.queues.kms_key_arn
  table_names             = module.data.table_names
  table_arns              = module.data.table_arns
  table_key_arns          = module.data.table_key_arns
  phi_key_arn             = module.data.phi_key_arn
  phi_key_alias           = module.data.phi_key_alias
  s3_key_arn              = module.data.s3_key_arn
  documents_bucket        = module.data.bucket_names["documents"]
  documents_bucket_arn    = module.data.bucket_arns["documents"]
  audit_digest_bucket     = module.data.bucket_names["audit_digests"]
  audit_lock_mode         = var.audit_lock_mode
  extra_environment       = var.lambda_extra_environment
  tags                    = local.tags
}

module "api" {
  source                         = "../modules/api"
  project                        = var.project
  environment                    = var.environment
  serving_integration            = var.serving_integration
  serving_endpoint_url           = var.serving_endpoint_url
  serving_nlb_arn                = var.serving_nlb_arn
  usage_plans                    = var.usage_plans
  api_keys                       = var.api_keys
  waf_rate_limit                 = var.waf_rate_limit
  manage_account_cloudwatch_role = var.manage_apigw_account_role
  log_retention_days             = var.log_retention_days
  tags                           = local.tags
}

module "compute" {
  source                         = "../modules/compute"
  project                        = var.project
  environment                    = var.environment
  kubernetes_version             = var.kubernetes_version
  vpc_id                         = module.network.vpc_id
  vpc_cidr                       = module.network.vpc_cidr
  private_subnet_ids             = module.network.private_subnet_ids
  api_allowed_cidrs              = var.eks_api_allowed_cidrs
  system_instance_types          = var.system_instance_types
  gpu_instance_types             = var.gpu_instance_types
  gpus_per_node                  = var.gpus_per_node
  gpu_capacity_type              = var.gpu_capacity_type
  gpu_min_size                   = var.gpu_min_size
  gpu_max_size                   = var.gpu_max_size
  kuberay_operator_chart_version = var.kuberay_operator_chart_version
  serving_namespace              = var.serving_namespace
  rayservice_manifest_path       = var.rayservice_manifest_path
  log_retention_days             = var.log_retention_days
  tags                           = local.tags
}

module "observability" {
  source                  = "../modules/observability"
  project                 = var.project
  environment             = var.environment
  alarm_emails            = var.alarm_emails
  dlq_names               = module.queues.dlq_names
  function_names          = module.functions.function_names
  api_name                = module.api.rest_api_name
  api_stage               = module.api.stage_name
  api_latency_p95_ms      = var.api_latency_p95_ms
  trail_bucket_name       = "${var.project}-${var.environment}-cloudtrail-${var.account_id}"
  trail_lock_mode         = var.trail_lock_mode
  access_log_bucket       = module.data.access_log_bucket
  audit_digest_bucket_arn = module.data.bucket_arns["audit_digests"]
  audit_table_arn         = module.data.table_arns["audit"]
  log_retention_days      = var.log_retention_days
  tags                    = local.tags
}
