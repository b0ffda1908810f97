# The stack's settings, each run planned with a mocked AWS provider and its own
# variables (scripts/test-terraform runs this file without a tfvars file): one
# environment alone, the budget and the e-mail only where asked, what the alarms cost
# at rest, and the variables' validation.

mock_provider "aws" {
  source          = "./tests/mocks"
  override_during = plan
}

# A single environment as the README's laptop path sets it up.
variables {
  environment        = "production"
  allowed_origins    = ["https://example.com"]
  alarm_email        = "owner@example.com"
  monthly_budget_usd = 10
}

run "one_environment_alone" {
  command = plan

  assert {
    condition     = aws_lambda_function.counter.function_name == "visitor-counter-production" && aws_dynamodb_table.counter.name == "visitor-counter-production"
    error_message = "One environment names everything visitor-counter-production."
  }

  assert {
    condition = (
      aws_lambda_function.counter.environment[0].variables["VIEWS_PER_VISITOR"] == "50"
      && aws_lambda_function.counter.environment[0].variables["MAX_COUNTERS"] == "10000"
      && aws_lambda_function.counter.environment[0].variables["DASHBOARD"] == "on"
      && aws_lambda_function.counter.environment[0].variables["COUNTERS"] == ""
    )
    error_message = "The function's defaults should be the service's: VIEWS_PER_VISITOR 50, MAX_COUNTERS 10000, the dashboard on, every counter name allowed."
  }

  assert {
    condition     = length(aws_sns_topic_subscription.alarm_email) == 1 && aws_sns_topic_subscription.alarm_email[0].endpoint == "owner@example.com"
    error_message = "alarm_email asked for a subscription to the alarm topic."
  }

  assert {
    condition     = length(aws_budgets_budget.monthly) == 1 && aws_budgets_budget.monthly[0].limit_amount == "10.00"
    error_message = "monthly_budget_usd asked for a budget of 10.00 USD."
  }

  # CloudWatch bills $0.10 a month per metric an alarm reads: the default (basic)
  # alarms must cost at most about $0.50 a month at rest.
  assert {
    condition = (
      length(aws_cloudwatch_metric_alarm.api_5xx) + length(aws_cloudwatch_metric_alarm.function_errors) + length(aws_cloudwatch_metric_alarm.function_throttles)
      + length(flatten([for alarm in concat(aws_cloudwatch_metric_alarm.api_4xx_rate, aws_cloudwatch_metric_alarm.table_throttles) : [for query in alarm.metric_query : query.metric]]))
    ) == 3
    error_message = "The basic alarms (the default) read 3 metrics, $0.30 a month: API 5xx and the 4xx rate's two."
  }

  assert {
    condition     = output.e2e_origin == "https://example.com"
    error_message = "The post-deploy check sends the first allowed origin."
  }

  assert {
    condition     = output.dashboard_password_parameter == "/visitor-counter-production/dashboard-password"
    error_message = "The outputs name the password's parameter (and never the password)."
  }
}

run "detailed_alarms" {
  command = plan

  variables {
    alarms = "detailed"
  }

  assert {
    condition = (
      length(aws_cloudwatch_metric_alarm.api_5xx) + length(aws_cloudwatch_metric_alarm.function_errors) + length(aws_cloudwatch_metric_alarm.function_throttles)
      + length(flatten([for alarm in concat(aws_cloudwatch_metric_alarm.api_4xx_rate, aws_cloudwatch_metric_alarm.table_throttles) : [for query in alarm.metric_query : query.metric]]))
    ) == 10
    error_message = "Detailed alarms read 10 metrics ($1.00 a month), as docs/deploy.md says."
  }
}

run "alarms_off" {
  command = plan

  variables {
    alarms = "off"
  }

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.api_5xx) + length(aws_cloudwatch_metric_alarm.api_4xx_rate) + length(aws_cloudwatch_metric_alarm.function_errors) + length(aws_cloudwatch_metric_alarm.function_throttles) + length(aws_cloudwatch_metric_alarm.table_throttles) == 0
    error_message = "alarms = \"off\" creates no alarm."
  }

  assert {
    condition     = length(aws_budgets_budget.monthly) == 1
    error_message = "Turning the alarms off keeps the budget."
  }
}

run "staging_without_mail_or_budget" {
  command = plan

  variables {
    environment        = "staging"
    allowed_origins    = ["*"]
    alarm_email        = null
    monthly_budget_usd = null
  }

  assert {
    condition     = length(aws_sns_topic_subscription.alarm_email) == 0 && length(aws_budgets_budget.monthly) == 0
    error_message = "Without alarm_email and monthly_budget_usd, no subscription and no budget (budgets are account-wide: one environment has it)."
  }

  assert {
    condition     = aws_lambda_function.counter.environment[0].variables["ALLOWED_ORIGINS"] == "*" && output.e2e_origin == null
    error_message = "[\"*\"] is accepted, and gives the post-deploy check no origin of its own."
  }
}

run "production_needs_an_email" {
  command = plan

  variables {
    alarm_email = null
  }

  expect_failures = [var.alarm_email]
}

run "production_needs_a_budget" {
  command = plan

  variables {
    monthly_budget_usd = null
  }

  expect_failures = [var.monthly_budget_usd]
}

run "views_per_visitor_is_at_least_one" {
  command = plan

  variables {
    views_per_visitor = 0
  }

  expect_failures = [var.views_per_visitor]
}

run "max_counters_is_a_whole_number" {
  command = plan

  variables {
    max_counters = 2.5
  }

  expect_failures = [var.max_counters]
}

run "alarms_is_one_of_three" {
  command = plan

  variables {
    alarms = "all"
  }

  expect_failures = [var.alarms]
}

run "origins_are_https" {
  command = plan

  variables {
    allowed_origins = ["http://example.com"]
  }

  expect_failures = [var.allowed_origins]
}
