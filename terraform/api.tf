resource "aws_apigatewayv2_api" "counter" {
  name          = local.name
  description   = "visitor-counter (${var.environment}); contract: contracts/openapi.json"
  protocol_type = "HTTP"

  # No cors_configuration, on purpose. With one, API Gateway answers preflights itself
  # and replaces the function's CORS headers with its own, so the CORS code the tests
  # exercise (service/src/cors.rs, fed by ALLOWED_ORIGINS in lambda.tf) would never
  # reach a browser. Without one, every request, OPTIONS included, goes to the function
  # (the routes below). service/tests/infra.rs fails if a cors_configuration comes back.
}

# The API invokes the `live` alias, never $LATEST: a deploy publishes a version and
# moves the alias, and a failed post-deploy check moves it back.
resource "aws_apigatewayv2_integration" "counter" {
  api_id                 = aws_apigatewayv2_api.counter.id
  integration_type       = "AWS_PROXY"
  integration_method     = "POST"
  integration_uri        = aws_lambda_alias.live.invoke_arn
  payload_format_version = "2.0"
}

# The contract's operations (contracts/openapi.json), by path: each one a route to the
# function, and ANY on each path so that the function's own 405 problem (with `Allow`)
# answers every other method. $default sends every other path to the function too, for
# its 404 problem. Without the ANY routes and $default, API Gateway would answer those
# requests itself with a non-problem {"message":"Not Found"} and break the contract.
# OPTIONS is the CORS preflight, which the function answers like every other request.
# The function decides which names exist (COUNTERS, lambda.tf): an unknown name is its
# 404 unknown-counter problem, so `{name}` matches any one path segment here.
# service/tests/infra.rs checks this map against contracts/openapi.json, and
# terraform/tests/ checks the routes the plan makes.
locals {
  contract_routes = {
    "/"                             = ["GET", "HEAD"]
    "/count"                        = ["GET", "HEAD", "POST", "OPTIONS"]
    "/totals"                       = ["GET", "HEAD", "OPTIONS"]
    "/totals/days"                  = ["GET", "HEAD", "OPTIONS"]
    "/counters"                     = ["GET", "HEAD", "OPTIONS"]
    "/counters/{name}"              = ["GET", "HEAD", "POST", "OPTIONS"]
    "/counters/{name}/days"         = ["GET", "HEAD", "OPTIONS"]
    "/counters/{name}/badge.svg"    = ["GET", "HEAD", "OPTIONS"]
    "/counters/{name}/shields.json" = ["GET", "HEAD", "OPTIONS"]
    "/counter.js"                   = ["GET", "HEAD"]
    "/dashboard"                    = ["GET", "HEAD"]
    "/dashboard/"                   = ["GET", "HEAD"]
  }

  route_keys = toset(concat(
    flatten([for path, methods in local.contract_routes : [for method in methods : "${method} ${path}"]]),
    [for path in keys(local.contract_routes) : "ANY ${path}"],
    ["$default"],
  ))
}

resource "aws_apigatewayv2_route" "function" {
  for_each = local.route_keys

  api_id    = aws_apigatewayv2_api.counter.id
  route_key = each.key
  target    = "integrations/${aws_apigatewayv2_integration.counter.id}"

  # checkov:skip=CKV_AWS_309:A public visitor counter: anonymous by design, bounded by the stage's throttling; a CORS preflight carries no credentials by definition; the dashboard and the list ask for DASHBOARD_PASSWORD in the function.
}

resource "aws_cloudwatch_log_group" "api_access" {
  # The /aws/vendedlogs/ prefix keeps API Gateway's log delivery from growing the
  # account's CloudWatch Logs resource policy with one entry per log group.
  name              = "/aws/vendedlogs/apigateway/${local.name}"
  retention_in_days = var.log_retention_days

  # checkov:skip=CKV_AWS_338:Operational access logs of a counter, kept for var.log_retention_days (30 by default) to bound cost; nothing here needs a year of audit trail.
  # checkov:skip=CKV_AWS_158:The access logs hold no secrets and no client IPs; CloudWatch encrypts them at rest with its own keys, and a customer managed KMS key costs $1/month.
}

# `$default` serves the API at its root, so the function sees /count and not /<stage>/count.
resource "aws_apigatewayv2_stage" "default" {
  api_id      = aws_apigatewayv2_api.counter.id
  name        = "$default"
  auto_deploy = true

  default_route_settings {
    throttling_rate_limit  = var.api_throttling_rate_limit
    throttling_burst_limit = var.api_throttling_burst_limit
  }

  # One JSON line per request. No client IP: a visitor counter has no use for one.
  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.api_access.arn
    format = jsonencode({
      requestId          = "$context.requestId"
      requestTime        = "$context.requestTime"
      httpMethod         = "$context.httpMethod"
      path               = "$context.path"
      routeKey           = "$context.routeKey"
      status             = "$context.status"
      protocol           = "$context.protocol"
      responseLength     = "$context.responseLength"
      responseLatency    = "$context.responseLatency"
      integrationStatus  = "$context.integrationStatus"
      integrationLatency = "$context.integrationLatency"
      integrationError   = "$context.integrationErrorMessage"
      errorMessage       = "$context.error.message"
    })
  }
}

# Only this API may invoke the alias.
resource "aws_lambda_permission" "api_invokes_live" {
  statement_id  = "AllowInvokeFromThisHttpApi"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.counter.function_name
  qualifier     = aws_lambda_alias.live.name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.counter.execution_arn}/*"
}
