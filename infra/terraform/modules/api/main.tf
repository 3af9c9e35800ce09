# The metered REST API: API Gateway (REST) in front of the serving endpoint (Ray Serve on EKS,
# through a VPC link to an internal NLB, an HTTP endpoint, or a Lambda), API keys + usage plans,
# access logging, X-Ray, and a WAFv2 web ACL (AWS managed rule groups + a rate-based rule).

data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  name   = "${var.project}-${var.environment}"
  region = data.aws_region.current.name

  integration_type = var.serving_integration == "lambda" ? "AWS_PROXY" : "HTTP_PROXY"
  integration_uri  = var.serving_integration == "lambda" ? var.serving_lambda_invoke_arn : "${trimsuffix(var.serving_endpoint_url, "/")}/{proxy}"
}

module "logs_key" {
  source             = "../kms_key"
  alias              = "${local.name}-api-logs"
  description        = "API Gateway access logs and WAF logs of ${local.name}"
  service_principals = ["logs.${local.region}.amazonaws.com"]
  tags               = var.tags
}

resource "aws_api_gateway_rest_api" "this" {
  name        = "${local.name}-api"
  description = "medcode metered coding API"
  endpoint_configuration {
    types = ["REGIONAL"]
  }
  lifecycle {
    create_before_destroy = true
  }
  tags = var.tags
}

resource "aws_api_gateway_request_validator" "this" {
  rest_api_id                 = aws_api_gateway_rest_api.this.id
  name                        = "params-and-body"
  validate_request_body       = true
  validate_request_parameters = true
}

resource "aws_api_gateway_resource" "v1" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_rest_api.this.root_resource_id
  path_part   = "v1"
}

resource "aws_api_gateway_resource" "proxy" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_resource.v1.id
  path_part   = "{proxy+}"
}

# every call needs an API key (x-api-key); the usage plan meters and throttles it
resource "aws_api_gateway_method" "proxy" {
  rest_api_id          = aws_api_gateway_rest_api.this.id
  resource_id          = aws_api_gateway_resource.proxy.id
  http_method          = "ANY"
  authorization        = "NONE"
  api_key_required     = true
  request_validator_id = aws_api_gateway_request_validator.this.id
  request_parameters = {
    "method.request.path.proxy" = true
  }
}

resource "aws_api_gateway_vpc_link" "serving" {
  count       = var.serving_integration == "vpc_link" ? 1 : 0
  name        = "${local.name}-serving"
  description = "To the internal NLB in front of the Ray Serve ingress on EKS"
  target_arns = [var.serving_nlb_arn]
  tags        = var.tags
}

resource "aws_api_gateway_integration" "proxy" {
  rest_api_id             = aws_api_gateway_rest_api.this.id
  resource_id             = aws_api_gateway_resource.proxy.id
  http_method             = aws_api_gateway_method.proxy.http_method
  type                    = local.integration_type
  integration_http_method = var.serving_integration == "lambda" ? "POST" : "ANY"
  uri                     = local.integration_uri
  connection_type         = var.serving_integration == "vpc_link" ? "VPC_LINK" : "INTERNET"
  connection_id           = var.serving_integration == "vpc_link" ? aws_api_gateway_vpc_link.serving[0].id : null
  timeout_milliseconds    = var.integration_timeout_ms
  request_parameters = var.serving_integration == "lambda" ? {} : {
    "integration.request.path.proxy" = "method.request.path.proxy"
  }
}

resource "aws_lambda_permission" "serving" {
  count         = var.serving_integration == "lambda" ? 1 : 0
  statement_id  = "AllowApiGatewayInvoke"
  action        = "lambda:InvokeFunction"
  function_name = var.serving_lambda_function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_api_gateway_rest_api.this.execution_arn}/*/*/v1/*"
}

resource "aws_api_gateway_deployment" "this" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  triggers = {
    redeploy = sha1(jsonencode([
      aws_api_gateway_resource.proxy.id,
      aws_api_gateway_method.proxy.id,
      aws_api_gateway_integration.proxy.id,
      local.integration_uri,
    ]))
  }
  lifecycle {
    create_before_destroy = true
  }
}

# ---- stage, logging ---------------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "access" {
  name              = "/aws/apigateway/${local.name}-api/access"
  retention_in_days = var.log_retention_days
  kms_key_id        = module.logs_key.arn
  tags              = var.tags
}

# account-wide (per region) setting that lets API Gateway write to CloudWatch Logs
data "aws_iam_policy_document" "apigw_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["apigateway.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "apigw_cloudwatch" {
  count              = var.manage_account_cloudwatch_role ? 1 : 0
  name               = "${local.name}-apigw-cloudwatch"
  assume_role_policy = data.aws_iam_policy_document.apigw_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "apigw_cloudwatch" {
  count      = var.manage_account_cloudwatch_role ? 1 : 0
  role       = aws_iam_role.apigw_cloudwatch[0].name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
}

resource "aws_api_gateway_account" "this" {
  count               = var.manage_account_cloudwatch_role ? 1 : 0
  cloudwatch_role_arn = aws_iam_role.apigw_cloudwatch[0].arn
}

# API Gateway presents this certificate to the serving backend, which can verify the caller
resource "aws_api_gateway_client_certificate" "this" {
  description = "${local.name} API Gateway to serving backend"
  tags        = var.tags
}

resource "aws_api_gateway_stage" "this" {
  #checkov:skip=CKV_AWS_120:Responses are PHI-derived coding results for POSTed notes; they must not be cached.
  rest_api_id           = aws_api_gateway_rest_api.this.id
  deployment_id         = aws_api_gateway_deployment.this.id
  stage_name            = var.stage_name
  xray_tracing_enabled  = true
  client_certificate_id = aws_api_gateway_client_certificate.this.id

  # request metadata only: no bodies, no headers (the API key is identified by its id)
  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.access.arn
    format = jsonencode({
      requestId          = "$context.requestId"
      ip                 = "$context.identity.sourceIp"
      apiKeyId           = "$context.identity.apiKeyId"
      requestTime        = "$context.requestTime"
      httpMethod         = "$context.httpMethod"
      resourcePath       = "$context.resourcePath"
      status             = "$context.status"
      responseLength     = "$context.responseLength"
      integrationLatency = "$context.integrationLatency"
      latency            = "$context.responseLatency"
      wafStatus          = "$context.waf.status"
    })
  }

  tags       = var.tags
  depends_on = [aws_api_gateway_account.this]
}

resource "aws_api_gateway_method_settings" "all" {
  #checkov:skip=CKV_AWS_225:Caching is off on purpose: responses are PHI-derived and per-request.
  rest_api_id = aws_api_gateway_rest_api.this.id
  stage_name  = aws_api_gateway_stage.this.stage_name
  method_path = "*/*"

  settings {
    metrics_enabled        = true
    logging_level          = "ERROR"
    data_trace_enabled     = false # full request/response logging would write PHI to logs
    caching_enabled        = false
    cache_data_encrypted   = true
    throttling_rate_limit  = var.stage_throttle_rate
    throttling_burst_limit = var.stage_throttle_burst
  }
}

# ---- metering: usage plans and keys -----------------------------------------------------------

resource "aws_api_gateway_usage_plan" "this" {
  for_each    = var.usage_plans
  name        = "${local.name}-${each.key}"
  description = "medcode ${each.key} tier"

  api_stages {
    api_id = aws_api_gateway_rest_api.this.id
    stage  = aws_api_gateway_stage.this.stage_name
  }

  quota_settings {
    limit  = each.value.quota_limit
    period = each.value.quota_period
  }

  throttle_settings {
    rate_limit  = each.value.rate_limit
    burst_limit = each.value.burst_limit
  }

  tags = var.tags
}

# key values are generated by AWS (never in tfvars); hand them out from the console/CLI
resource "aws_api_gateway_api_key" "this" {
  for_each    = var.api_keys
  name        = "${local.name}-${each.key}"
  description = "API key of partner ${each.key} (${each.value} tier)"
  enabled     = true
  tags        = merge(var.tags, { Partner = each.key, Tier = each.value })
}

resource "aws_api_gateway_usage_plan_key" "this" {
  for_each      = var.api_keys
  key_id        = aws_api_gateway_api_key.this[each.key].id
  key_type      = "API_KEY"
  usage_plan_id = aws_api_gateway_usage_plan.this[each.value].id
}

# ---- WAF ------------------------------------------------------------------------------------

resource "aws_wafv2_web_acl" "this" {
  name        = "${local.name}-api"
  description = "medcode API: AWS managed rule groups and a per-IP rate limit"
  scope       = "REGIONAL"

  default_action {
    allow {}
  }

  # always on: known-bad inputs (Log4Shell...) and anonymisers; the other groups come from the variable
  rule {
    name     = "AWSManagedRulesKnownBadInputsRuleSet"
    priority = 0
    override_action {
      none {}
    }
    statement {
      managed_rule_group_statement {
        name        = "AWSManagedRulesKnownBadInputsRuleSet"
        vendor_name = "AWS"
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${local.name}-AWSManagedRulesKnownBadInputsRuleSet"
      sampled_requests_enabled   = true
    }
  }

  # anonymisers (Tor, anonymous proxies); partners call from cloud hosts, so the hosting-provider
  # list only counts
  rule {
    name     = "AWSManagedRulesAnonymousIpList"
    priority = 1
    override_action {
      none {}
    }
    statement {
      managed_rule_group_statement {
        name        = "AWSManagedRulesAnonymousIpList"
        vendor_name = "AWS"
        rule_action_override {
          name = "HostingProviderIPList"
          action_to_use {
            count {}
          }
        }
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${local.name}-AWSManagedRulesAnonymousIpList"
      sampled_requests_enabled   = true
    }
  }

  dynamic "rule" {
    for_each = var.waf_managed_rule_groups
    content {
      name     = rule.value
      priority = rule.key + 10
      override_action {
        none {}
      }
      statement {
        managed_rule_group_statement {
          name        = rule.value
          vendor_name = "AWS"
        }
      }
      visibility_config {
        cloudwatch_metrics_enabled = true
        metric_name                = "${local.name}-${rule.value}"
        sampled_requests_enabled   = true
      }
    }
  }

  rule {
    name     = "rate-limit-per-ip"
    priority = 100
    action {
      block {}
    }
    statement {
      rate_based_statement {
        limit              = var.waf_rate_limit
        aggregate_key_type = "IP"
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${local.name}-rate-limit"
      sampled_requests_enabled   = true
    }
  }

  visibility_config {
    cloudwatch_metrics_enabled = true
    metric_name                = "${local.name}-api-waf"
    sampled_requests_enabled   = true
  }

  tags = var.tags
}

resource "aws_wafv2_web_acl_association" "stage" {
  resource_arn = aws_api_gateway_stage.this.arn
  web_acl_arn  = aws_wafv2_web_acl.this.arn
}

resource "aws_cloudwatch_log_group" "waf" {
  # WAF requires the aws-waf-logs- prefix
  name              = "aws-waf-logs-${local.name}-api"
  retention_in_days = var.log_retention_days
  kms_key_id        = module.logs_key.arn
  tags              = var.tags
}

resource "aws_wafv2_web_acl_logging_configuration" "this" {
  resource_arn            = aws_wafv2_web_acl.this.arn
  log_destination_configs = [aws_cloudwatch_log_group.waf.arn]

  redacted_fields {
    single_header {
      name = "x-api-key"
    }
  }
}
