# prod: three AZs, one NAT per AZ, COMPLIANCE Object Lock, code signing enforced.
environment = "prod"
region      = "us-east-1"
account_id  = "222222222222"

vpc_cidr           = "10.50.0.0/16"
azs                = ["us-east-1a", "us-east-1b", "us-east-1c"]
enable_nat_gateway = true
single_nat_gateway = false

deletion_protection         = true
audit_lock_mode             = "COMPLIANCE"
audit_digest_retention_days = 2194

lambda_package_s3_key       = "lambda/medcode-prod.zip"
enforce_code_signing        = true
lambda_memory_mb            = { ingest = 1024, code = 3008, scrub = 1024, submit = 1024, remit = 1024 }
lambda_reserved_concurrency = { ingest = 50, code = 50, scrub = 50, submit = 10, remit = 10 }
# narrow to the clearinghouse's published ranges before go-live
internet_egress_cidrs = ["0.0.0.0/0"]

serving_integration  = "vpc_link"
serving_endpoint_url = "http://serving-nlb.prod.medcode.internal:8000"
serving_nlb_arn      = "arn:aws:elasticloadbalancing:us-east-1:222222222222:loadbalancer/net/medcode-prod-serving/0123456789abcdef"

usage_plans = {
  standard   = { rate_limit = 10, burst_limit = 20, quota_limit = 100000, quota_period = "MONTH" }
  enterprise = { rate_limit = 50, burst_limit = 100, quota_limit = 2000000, quota_period = "MONTH" }
}
api_keys = {}

# one GPU count per group: p4d.24xlarge (8 x A100) needs gpus_per_node = 8
gpu_instance_types = ["g5.12xlarge"]
gpus_per_node      = 4
gpu_capacity_type  = "ON_DEMAND"
gpu_min_size       = 1
gpu_max_size       = 4

rayservice_manifest_path = "../../../out/rayservice-prod.yaml"

alarm_emails       = ["oncall@example.com"]
trail_lock_mode    = "COMPLIANCE"
log_retention_days = 731
