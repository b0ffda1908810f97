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

# The contract's routes (contracts/openapi.json; service/tests/infra.rs checks them).
resource "aws_apigatewayv2_route" "get_count" {
  api_id    = aws_apigatewayv2_api.counter.id
  route_key = "GET /count"
  target    = "integrations/${aws_apigatewayv2_integration.counter.id}"

  # checkov:skip=CKV_AWS_309:A public visitor counter: anonymous by design, bounded by the stage's throttling.
}

# CORS preflight: the function answers it (204 and the CORS headers for an allowed
# origin, no CORS headers for any other), like every other request.
resource "aws_apigatewayv2_route" "options_count" {
  api_id    = aws_apigatewayv2_api.counter.id
  route_key = "OPTIONS /count"
  target    = "integrations/${aws_apigatewayv2_integration.counter.id}"

  # checkov:skip=CKV_AWS_309:A CORS preflight carries no credentials by definition; browsers send it before the real request, and the function decides its answer.
}

resource "aws_apigatewayv2_route" "post_count" {
  api_id    = aws_apigatewayv2_api.counter.id
  route_key = "POST /count"
  target    = "integrations/${aws_apigatewayv2_integration.counter.id}"

  # checkov:skip=CKV_AWS_309:A public visitor counter: anonymous by design, bounded by the stage's throttling.
}

# The rest of the contract is the function's too: 405 problem+json with `Allow` for any
# other method on /count, and 404 problem+json for any other path. Without these
# catch-all routes (this one, an ANY route for each path below, and $default) API
# Gateway would answer those requests itself, with its own non-problem
# {"message":"Not Found"}, and the deployed API would break the contract.
resource "aws_apigatewayv2_route" "any_count" {
  api_id    = aws_apigatewayv2_api.counter.id
  route_key = "ANY /count"
  target    = "integrations/${aws_apigatewayv2_integration.counter.id}"

  # checkov:skip=CKV_AWS_309:A public visitor counter: anonymous by design, bounded by the stage's throttling.
}

# Version 2's named counters, the same way: the contract's operations, a preflight
# route per path, and ANY for the function's 405. The function decides which names
# exist (COUNTERS, lambda.tf): an unknown name is its 404 unknown-counter problem, so
# `{name}` matches any one path segment here.
resource "aws_apigatewayv2_route" "get_counters" {
  api_id    = aws_apigatewayv2_api.counter.id
  route_key = "GET /counters"
  target    = "integrations/${aws_apigatewayv2_integration.counter.id}"

  # checkov:skip=CKV_AWS_309:A public visitor counter: anonymous by design, bounded by the stage's throttling.
}

resource "aws_apigatewayv2_route" "options_counters" {
  api_id    = aws_apigatewayv2_api.counter.id
  route_key = "OPTIONS /counters"
  target    = "integrations/${aws_apigatewayv2_integration.counter.id}"

  # checkov:skip=CKV_AWS_309:A CORS preflight carries no credentials by definition; browsers send it before the real request, and the function decides its answer.
}

resource "aws_apigatewayv2_route" "any_counters" {
  api_id    = aws_apigatewayv2_api.counter.id
  route_key = "ANY /counters"
  target    = "integrations/${aws_apigatewayv2_integration.counter.id}"

  # checkov:skip=CKV_AWS_309:A public visitor counter: anonymous by design, bounded by the stage's throttling.
}

resource "aws_apigatewayv2_route" "get_counter" {
  api_id    = aws_apigatewayv2_api.counter.id
  route_key = "GET /counters/{name}"
  target    = "integrations/${aws_apigatewayv2_integration.counter.id}"

  # checkov:skip=CKV_AWS_309:A public visitor counter: anonymous by design, bounded by the stage's throttling.
}

resource "aws_apigatewayv2_route" "post_counter" {
  api_id    = aws_apigatewayv2_api.counter.id
  route_key = "POST /counters/{name}"
  target    = "integrations/${aws_apigatewayv2_integration.counter.id}"

  # checkov:skip=CKV_AWS_309:A public visitor counter: anonymous by design, bounded by the stage's throttling.
}

resource "aws_apigatewayv2_route" "options_counter" {
  api_id    = aws_apigatewayv2_api.counter.id
  route_key = "OPTIONS /counters/{name}"
  target    = "integrations/${aws_apigatewayv2_integration.counter.id}"

  # checkov:skip=CKV_AWS_309:A CORS preflight carries no credentials by definition; browsers send it before the real request, and the function decides its answer.
}

resource "aws_apigatewayv2_route" "any_counter" {
  api_id    = aws_apigatewayv2_api.counter.id
  route_key = "ANY /counters/{name}"
  target    = "integrations/${aws_apigatewayv2_integration.counter.id}"

  # checkov:skip=CKV_AWS_309:A public visitor counter: anonymous by design, bounded by the stage's throttling.
}

resource "aws_apigatewayv2_route" "get_counter_days" {
  api_id    = aws_apigatewayv2_api.counter.id
  route_key = "GET /counters/{name}/days"
  target    = "integrations/${aws_apigatewayv2_integration.counter.id}"

  # checkov:skip=CKV_AWS_309:A public visitor counter: anonymous by design, bounded by the stage's throttling.
}

resource "aws_apigatewayv2_route" "options_counter_days" {
  api_id    = aws_apigatewayv2_api.counter.id
  route_key = "OPTIONS /counters/{name}/days"
  target    = "integrations/${aws_apigatewayv2_integration.counter.id}"

  # checkov:skip=CKV_AWS_309:A CORS preflight carries no credentials by definition; browsers send it before the real request, and the function decides its answer.
}

resource "aws_apigatewayv2_route" "any_counter_days" {
  api_id    = aws_apigatewayv2_api.counter.id
  route_key = "ANY /counters/{name}/days"
  target    = "integrations/${aws_apigatewayv2_integration.counter.id}"

  # checkov:skip=CKV_AWS_309:A public visitor counter: anonymous by design, bounded by the stage's throttling.
}

# A counter's badges: read-only, like `days`.
resource "aws_apigatewayv2_route" "get_counter_badge" {
  api_id    = aws_apigatewayv2_api.counter.id
  route_key = "GET /counters/{name}/badge.svg"
  target    = "integrations/${aws_apigatewayv2_integration.counter.id}"

  # checkov:skip=CKV_AWS_309:A public visitor counter: anonymous by design, bounded by the stage's throttling.
}

resource "aws_apigatewayv2_route" "options_counter_badge" {
  api_id    = aws_apigatewayv2_api.counter.id
  route_key = "OPTIONS /counters/{name}/badge.svg"
  target    = "integrations/${aws_apigatewayv2_integration.counter.id}"

  # checkov:skip=CKV_AWS_309:A CORS preflight carries no credentials by definition; browsers send it before the real request, and the function decides its answer.
}

resource "aws_apigatewayv2_route" "any_counter_badge" {
  api_id    = aws_apigatewayv2_api.counter.id
  route_key = "ANY /counters/{name}/badge.svg"
  target    = "integrations/${aws_apigatewayv2_integration.counter.id}"

  # checkov:skip=CKV_AWS_309:A public visitor counter: anonymous by design, bounded by the stage's throttling.
}

resource "aws_apigatewayv2_route" "get_counter_shields" {
  api_id    = aws_apigatewayv2_api.counter.id
  route_key = "GET /counters/{name}/shields.json"
  target    = "integrations/${aws_apigatewayv2_integration.counter.id}"

  # checkov:skip=CKV_AWS_309:A public visitor counter: anonymous by design, bounded by the stage's throttling.
}

resource "aws_apigatewayv2_route" "options_counter_shields" {
  api_id    = aws_apigatewayv2_api.counter.id
  route_key = "OPTIONS /counters/{name}/shields.json"
  target    = "integrations/${aws_apigatewayv2_integration.counter.id}"

  # checkov:skip=CKV_AWS_309:A CORS preflight carries no credentials by definition; browsers send it before the real request, and the function decides its answer.
}

resource "aws_apigatewayv2_route" "any_counter_shields" {
  api_id    = aws_apigatewayv2_api.counter.id
  route_key = "ANY /counters/{name}/shields.json"
  target    = "integrations/${aws_apigatewayv2_integration.counter.id}"

  # checkov:skip=CKV_AWS_309:A public visitor counter: anonymous by design, bounded by the stage's throttling.
}

# The embed script and the dashboard: GET only (`DASHBOARD=off` makes the dashboard the
# function's 404).
resource "aws_apigatewayv2_route" "get_embed_script" {
  api_id    = aws_apigatewayv2_api.counter.id
  route_key = "GET /counter.js"
  target    = "integrations/${aws_apigatewayv2_integration.counter.id}"

  # checkov:skip=CKV_AWS_309:A public visitor counter: anonymous by design, bounded by the stage's throttling.
}

resource "aws_apigatewayv2_route" "any_embed_script" {
  api_id    = aws_apigatewayv2_api.counter.id
  route_key = "ANY /counter.js"
  target    = "integrations/${aws_apigatewayv2_integration.counter.id}"

  # checkov:skip=CKV_AWS_309:A public visitor counter: anonymous by design, bounded by the stage's throttling.
}

resource "aws_apigatewayv2_route" "get_dashboard" {
  api_id    = aws_apigatewayv2_api.counter.id
  route_key = "GET /dashboard"
  target    = "integrations/${aws_apigatewayv2_integration.counter.id}"

  # checkov:skip=CKV_AWS_309:The dashboard shows what GET /counters already makes public; var.dashboard turns it off.
}

resource "aws_apigatewayv2_route" "any_dashboard" {
  api_id    = aws_apigatewayv2_api.counter.id
  route_key = "ANY /dashboard"
  target    = "integrations/${aws_apigatewayv2_integration.counter.id}"

  # checkov:skip=CKV_AWS_309:A public visitor counter: anonymous by design, bounded by the stage's throttling.
}

resource "aws_apigatewayv2_route" "default" {
  api_id    = aws_apigatewayv2_api.counter.id
  route_key = "$default"
  target    = "integrations/${aws_apigatewayv2_integration.counter.id}"

  # checkov:skip=CKV_AWS_309:A public visitor counter: anonymous by design, bounded by the stage's throttling.
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
