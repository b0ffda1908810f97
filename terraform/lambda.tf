# How Terraform and the Deploy workflow share the function
#
# Terraform owns the function's configuration: role, runtime, architecture, memory,
# timeout, environment and logging. The Deploy workflow owns its code: it builds
# `cargo lambda build --release --arm64 --output-format zip`, then runs
# `update-function-code`, `publish-version` and `update-alias --name live`, and moves
# the alias back if the post-deploy check fails.
#
# So Terraform creates the function from a placeholder package (placeholder/bootstrap,
# which answers 503 until the first deploy) and ignores the code fields afterwards,
# and it ignores the alias's function_version. Otherwise every apply would put the
# placeholder back, or point `live` at whatever version Terraform last saw, undoing
# a deploy or a rollback. Terraform never needs the Rust toolchain either.
#
# A published version freezes code *and* configuration: a configuration change that
# Terraform applies reaches `live` with the next deploy (publish-version), not before.

# The placeholder package is committed (placeholder/bootstrap.zip, made by
# scripts/build-placeholder from placeholder/bootstrap, byte for byte the same each
# time; scripts/check-terraform checks it), so planning needs no archive provider and
# writes no file.
locals {
  placeholder_package = "${path.module}/placeholder/bootstrap.zip"
}

resource "aws_cloudwatch_log_group" "function" {
  name              = "/aws/lambda/${local.name}"
  retention_in_days = var.log_retention_days

  # checkov:skip=CKV_AWS_338:Operational logs of a counter, kept for var.log_retention_days (30 by default) to bound cost; nothing here needs a year of audit trail.
  # checkov:skip=CKV_AWS_158:The function logs no secrets; CloudWatch encrypts them at rest with its own keys, and a customer managed KMS key costs $1/month.
}

resource "aws_lambda_function" "counter" {
  function_name = local.name
  description   = "visitor-counter (${var.environment}): /count, /counters, badges, embed script, dashboard"
  role          = aws_iam_role.function.arn

  runtime       = "provided.al2023"
  architectures = ["arm64"]
  handler       = "bootstrap"
  memory_size   = var.lambda_memory_mb
  timeout       = var.lambda_timeout_seconds

  # Version 1 is the placeholder, so the first deploy has a version to roll back to.
  publish = true

  filename         = local.placeholder_package
  source_code_hash = filebase64sha256(local.placeholder_package)

  reserved_concurrent_executions = var.lambda_reserved_concurrency == null ? -1 : var.lambda_reserved_concurrency

  environment {
    variables = {
      COUNTER_TABLE     = aws_dynamodb_table.counter.name
      ALLOWED_ORIGINS   = join(",", var.allowed_origins)
      COUNTERS          = var.counters
      DASHBOARD         = var.dashboard ? "on" : "off"
      VIEWS_PER_VISITOR = tostring(var.views_per_visitor)
      MAX_COUNTERS      = tostring(var.max_counters)
      # The SSM parameter's value (dashboard_password.tf); sensitive, so plans and
      # outputs show it as (sensitive value).
      DASHBOARD_PASSWORD = aws_ssm_parameter.dashboard_password.value
    }
  }

  logging_config {
    log_format            = "JSON"
    log_group             = aws_cloudwatch_log_group.function.name
    application_log_level = var.log_level
    system_log_level      = var.system_log_level
  }

  lifecycle {
    # The code is the Deploy workflow's (see the top of this file).
    ignore_changes = [filename, source_code_hash, s3_bucket, s3_key, s3_object_version, image_uri]
  }

  # The role must be able to write logs before the first cold start.
  depends_on = [aws_iam_role_policy.function]

  # checkov:skip=CKV_AWS_50:X-Ray would bill per traced request for a function that makes one or two DynamoDB calls; the JSON logs, Lambda metrics and API access logs cover it.
  # checkov:skip=CKV_AWS_116:A dead-letter queue only receives failed asynchronous invocations; API Gateway invokes this function synchronously and gets the error back.
  # checkov:skip=CKV_AWS_117:The function reaches only DynamoDB and CloudWatch through their public endpoints; a VPC would add NAT or endpoint costs and cold-start time, and protect nothing.
  # checkov:skip=CKV_AWS_173:Lambda encrypts the environment at rest with its AWS managed key; its one secret, the dashboard's password, guards a list of counter names and numbers, and a customer managed KMS key would cost $1/month.
  # checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile and signing in the Deploy workflow; the code comes only from this repository's main branch, through the OIDC deploy role.
}

resource "aws_lambda_alias" "live" {
  name             = local.alias_name
  description      = "The version the API serves; moved by the Deploy workflow."
  function_name    = aws_lambda_function.counter.function_name
  function_version = aws_lambda_function.counter.version

  lifecycle {
    # The Deploy workflow moves the alias (deploy and rollback); see the top of this file.
    ignore_changes = [function_version]
  }
}
