# Alarms and the optional budget all notify one topic; subscribe to it by e-mail
# with var.alarm_email (or any other way SNS offers).
resource "aws_sns_topic" "alarms" {
  name = "${local.name}-alarms"

  # checkov:skip=CKV_AWS_26:CloudWatch alarms and AWS Budgets cannot publish to a topic encrypted with the AWS managed SNS key; a customer managed key costs $1/month to protect alarm names.
}

data "aws_iam_policy_document" "alarms_topic" {
  statement {
    sid       = "CloudWatchAlarmsAndBudgetsOfThisAccountPublish"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alarms.arn]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com", "budgets.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_sns_topic_policy" "alarms" {
  arn    = aws_sns_topic.alarms.arn
  policy = data.aws_iam_policy_document.alarms_topic.json
}

resource "aws_sns_topic_subscription" "alarm_email" {
  count = var.alarm_email == null ? 0 : 1

  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

data "aws_caller_identity" "current" {}

locals {
  alarm_actions = [aws_sns_topic.alarms.arn]

  # var.alarms: "basic" watches what clients see (API 5xx, the 4xx rate); "detailed"
  # adds the alarms that say which part failed. CloudWatch bills each metric an alarm
  # reads ($0.10 a month): basic is 3 of them, detailed 10.
  basic_alarms    = var.alarms != "off"
  detailed_alarms = var.alarms == "detailed"
}

resource "aws_cloudwatch_metric_alarm" "function_errors" {
  count = local.detailed_alarms ? 1 : 0

  alarm_name        = "${local.name}-function-errors"
  alarm_description = "The function failed (crashed, timed out or returned an invocation error): API Gateway answers 500 for those."
  namespace         = "AWS/Lambda"
  metric_name       = "Errors"
  dimensions = {
    FunctionName = aws_lambda_function.counter.function_name
  }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "function_throttles" {
  count = local.detailed_alarms ? 1 : 0

  alarm_name        = "${local.name}-function-throttles"
  alarm_description = "Lambda refused invocations for lack of concurrency (account limit or reserved concurrency)."
  namespace         = "AWS/Lambda"
  metric_name       = "Throttles"
  dimensions = {
    FunctionName = aws_lambda_function.counter.function_name
  }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "api_5xx" {
  count = local.basic_alarms ? 1 : 0

  alarm_name        = "${local.name}-api-5xx"
  alarm_description = "The API answered 5xx: the service's own 503 (storage down or throttled) or 500, or API Gateway's when the function failed."
  namespace         = "AWS/ApiGateway"
  metric_name       = "5xx"
  dimensions = {
    ApiId = aws_apigatewayv2_api.counter.id
    Stage = aws_apigatewayv2_stage.default.name
  }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# 4xx includes 429: API Gateway's answer when the stage's throttle refuses a request.
# A high share of refused requests means someone is hammering the API (each request
# is still billed), a page calls it wrongly, or the throttle is too tight for real
# traffic. HTTP APIs publish no separate 429 metric, so this watches the 4xx rate.
resource "aws_cloudwatch_metric_alarm" "api_4xx_rate" {
  count = local.basic_alarms ? 1 : 0

  alarm_name          = "${local.name}-api-4xx-rate"
  alarm_description   = "Over ${var.api_4xx_alarm_percent}% of at least ${var.api_4xx_alarm_min_requests} requests in 5 minutes were answered 4xx, 429 (throttled) included: abuse, a broken page, or a throttle too tight."
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.api_4xx_alarm_percent
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  metric_query {
    id          = "refused_percent"
    expression  = "IF(requests >= ${var.api_4xx_alarm_min_requests}, 100 * refused / requests, 0)"
    label       = "4xx (429 included) as % of requests"
    return_data = true
  }

  metric_query {
    id = "refused"
    metric {
      namespace   = "AWS/ApiGateway"
      metric_name = "4xx"
      dimensions = {
        ApiId = aws_apigatewayv2_api.counter.id
        Stage = aws_apigatewayv2_stage.default.name
      }
      stat   = "Sum"
      period = 300
    }
  }

  metric_query {
    id = "requests"
    metric {
      namespace   = "AWS/ApiGateway"
      metric_name = "Count"
      dimensions = {
        ApiId = aws_apigatewayv2_api.counter.id
        Stage = aws_apigatewayv2_stage.default.name
      }
      stat   = "Sum"
      period = 300
    }
  }
}

# ThrottledRequests is published per operation: add up the ones the service calls
# (visitor_counter::store::dynamodb::OPERATIONS; service/tests/infra.rs compares them).
# Query is the list's read of the `counters` index; its throttles count here too.
resource "aws_cloudwatch_metric_alarm" "table_throttles" {
  count = local.detailed_alarms ? 1 : 0

  alarm_name          = "${local.name}-table-throttled-requests"
  alarm_description   = "DynamoDB throttled the counters' reads or writes (the service answers 503 with Retry-After)."
  evaluation_periods  = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  metric_query {
    id          = "throttled"
    expression  = "SUM([batch_get_item, get_item, query, transact_write_items, update_item])"
    label       = "ThrottledRequests (BatchGetItem + GetItem + Query + TransactWriteItems + UpdateItem)"
    return_data = true
  }

  metric_query {
    id = "batch_get_item"
    metric {
      namespace   = "AWS/DynamoDB"
      metric_name = "ThrottledRequests"
      dimensions = {
        TableName = aws_dynamodb_table.counter.name
        Operation = "BatchGetItem"
      }
      stat   = "Sum"
      period = 300
    }
  }

  metric_query {
    id = "get_item"
    metric {
      namespace   = "AWS/DynamoDB"
      metric_name = "ThrottledRequests"
      dimensions = {
        TableName = aws_dynamodb_table.counter.name
        Operation = "GetItem"
      }
      stat   = "Sum"
      period = 300
    }
  }

  metric_query {
    id = "query"
    metric {
      namespace   = "AWS/DynamoDB"
      metric_name = "ThrottledRequests"
      dimensions = {
        TableName = aws_dynamodb_table.counter.name
        Operation = "Query"
      }
      stat   = "Sum"
      period = 300
    }
  }

  metric_query {
    id = "transact_write_items"
    metric {
      namespace   = "AWS/DynamoDB"
      metric_name = "ThrottledRequests"
      dimensions = {
        TableName = aws_dynamodb_table.counter.name
        Operation = "TransactWriteItems"
      }
      stat   = "Sum"
      period = 300
    }
  }

  metric_query {
    id = "update_item"
    metric {
      namespace   = "AWS/DynamoDB"
      metric_name = "ThrottledRequests"
      dimensions = {
        TableName = aws_dynamodb_table.counter.name
        Operation = "UpdateItem"
      }
      stat   = "Sum"
      period = 300
    }
  }
}

# A monthly cost budget for the whole account (Budgets cannot filter by these resources
# without activated cost-allocation tags): required in production, so the account has
# one cost guard; other environments leave it unset.
resource "aws_budgets_budget" "monthly" {
  count = var.monthly_budget_usd == null ? 0 : 1

  name         = "${local.name}-monthly"
  budget_type  = "COST"
  limit_amount = format("%.2f", var.monthly_budget_usd)
  limit_unit   = "USD"
  time_unit    = "MONTHLY"

  notification {
    comparison_operator       = "GREATER_THAN"
    threshold                 = 80
    threshold_type            = "PERCENTAGE"
    notification_type         = "FORECASTED"
    subscriber_sns_topic_arns = [aws_sns_topic.alarms.arn]
  }

  notification {
    comparison_operator       = "GREATER_THAN"
    threshold                 = 100
    threshold_type            = "PERCENTAGE"
    notification_type         = "ACTUAL"
    subscriber_sns_topic_arns = [aws_sns_topic.alarms.arn]
  }

  depends_on = [aws_sns_topic_policy.alarms]
}
