# dev: one NAT, small GPU pool that scales to zero, code signing warns only.
environment = "dev"
region      = "us-east-1"
account_id  = "111111111111"

vpc_cidr           = "10.40.0.0/16"
azs                = ["us-east-1a", "us-east-1b"]
enable_nat_gateway = true
single_nat_gateway = true

deletion_protection = false
audit_lock_mode     = "GOVERNANCE"

lambda_package_s3_key       = "lambda/medcode-dev.zip"
enforce_code_signing        = false
lambda_reserved_concurrency = { ingest = 5, code = 5, scrub = 5, submit = 2, remit = 2 }
internet_egress_cidrs       = ["0.0.0.0/0"]

serving_integration  = "vpc_link"
serving_endpoint_url = "http://serving-nlb.dev.medcode.internal:8000"
serving_nlb_arn      = "arn:aws:elasticloadbalancing:us-east-1:111111111111:loadbalancer/net/medcode-dev-serving/0123456789abcdef"

usage_plans = {
  trial = { rate_limit = 2, burst_limit = 5, quota_limit = 1000, quota_period = "MONTH" }
}
api_keys = {
  internal-dev = "trial"
}

gpu_instance_types = ["g5.xlarge", "g5.2xlarge"]
gpus_per_node      = 1
gpu_capacity_type  = "SPOT"
gpu_min_size       = 0
gpu_max_size       = 1

rayservice_manifest_path = "../../../out/rayservice-dev.yaml"

alarm_emails      = []
trail_lock_mode   = "GOVERNANCE"
log_retention_days = 365
