# Plans one environment's tfvars with a mocked AWS provider: nothing reaches AWS, and
# every value the configuration computes from its variables is checked against what
# the service's code expects. scripts/test-terraform runs this file once per
# terraform/environments/*.tfvars (-var-file), so a tfvars value that drifts fails here.
#
# The service's facts below are the code's constants written out; service/tests/infra.rs
# fails when they differ from the code, and the assertions fail when the plan differs
# from them.

mock_provider "aws" {
  source = "./tests/mocks"
  # The mocks' values are known while planning, so assertions can compare them.
  override_during = plan
}

variables {
  # visitor_counter::config::FUNCTION_VARIABLES
  service_function_variables = ["COUNTER_TABLE", "ALLOWED_ORIGINS", "COUNTERS", "DASHBOARD", "VIEWS_PER_VISITOR", "MAX_COUNTERS", "DASHBOARD_PASSWORD"]
  # visitor_counter::store::dynamodb: KEYED_ACTIONS, ACTIONS without them (granted on
  # the index), KEY_PATTERNS, OPERATIONS, TTL_ATTRIBUTE, HASH_KEY, COUNTER_INDEX,
  # LIST_ATTRIBUTE, NAME_ATTRIBUTE
  service_keyed_actions = ["BatchGetItem", "GetItem", "UpdateItem"]
  service_index_actions = ["Query"]
  service_key_patterns  = ["visitorCount", "counter#*", "day#*", "visitor#*", "salt", "idem#*", "registry", "site#*"]
  service_operations    = ["BatchGetItem", "GetItem", "Query", "TransactWriteItems", "UpdateItem"]
  service_ttl_attribute = "ttl"
  service_hash_key      = "id"
  service_counter_index = "counters"
  service_list_key      = "list"
  service_name_key      = "name"
  # The contract's operations (contracts/openapi.json), which the router serves.
  service_routes = [
    "GET /", "HEAD /",
    "GET /count", "HEAD /count", "POST /count", "OPTIONS /count",
    "GET /counters", "HEAD /counters", "OPTIONS /counters",
    "GET /counters/{name}", "HEAD /counters/{name}", "POST /counters/{name}", "OPTIONS /counters/{name}",
    "GET /counters/{name}/days", "HEAD /counters/{name}/days", "OPTIONS /counters/{name}/days",
    "GET /counters/{name}/badge.svg", "HEAD /counters/{name}/badge.svg", "OPTIONS /counters/{name}/badge.svg",
    "GET /counters/{name}/shields.json", "HEAD /counters/{name}/shields.json", "OPTIONS /counters/{name}/shields.json",
    "GET /totals", "HEAD /totals", "OPTIONS /totals",
    "GET /totals/days", "HEAD /totals/days", "OPTIONS /totals/days",
    "GET /counter.js", "HEAD /counter.js",
    "GET /dashboard", "HEAD /dashboard",
    "GET /dashboard/", "HEAD /dashboard/",
  ]
}

run "environment" {
  command = plan

  # --- the function's configuration -------------------------------------------

  assert {
    condition     = toset(keys(aws_lambda_function.counter.environment[0].variables)) == toset(var.service_function_variables)
    error_message = "The function's environment variables ${jsonencode(sort(keys(aws_lambda_function.counter.environment[0].variables)))} differ from the service's FUNCTION_VARIABLES ${jsonencode(sort(var.service_function_variables))}."
  }

  assert {
    condition     = aws_lambda_function.counter.environment[0].variables["COUNTER_TABLE"] == aws_dynamodb_table.counter.name && aws_dynamodb_table.counter.name == "visitor-counter-${var.environment}"
    error_message = "COUNTER_TABLE should be the table's name, visitor-counter-${var.environment}."
  }

  assert {
    condition     = aws_lambda_function.counter.environment[0].variables["ALLOWED_ORIGINS"] == join(",", var.allowed_origins)
    error_message = "ALLOWED_ORIGINS should be the environment's allowed_origins, comma-separated."
  }

  assert {
    condition = (
      aws_lambda_function.counter.environment[0].variables["VIEWS_PER_VISITOR"] == format("%d", var.views_per_visitor)
      && aws_lambda_function.counter.environment[0].variables["MAX_COUNTERS"] == format("%d", var.max_counters)
      && contains(["on", "off"], aws_lambda_function.counter.environment[0].variables["DASHBOARD"])
    )
    error_message = "VIEWS_PER_VISITOR and MAX_COUNTERS should be the whole numbers of their variables, DASHBOARD on or off."
  }

  assert {
    condition = nonsensitive(
      aws_lambda_function.counter.environment[0].variables["DASHBOARD_PASSWORD"] == aws_ssm_parameter.dashboard_password.value
      && aws_ssm_parameter.dashboard_password.value == data.aws_secretsmanager_random_password.dashboard.random_password
    ) && data.aws_secretsmanager_random_password.dashboard.password_length >= 16
    error_message = "A deployed stack has a dashboard password: DASHBOARD_PASSWORD should be the SSM parameter's, first generated (at least 16 characters)."
  }

  assert {
    condition     = aws_ssm_parameter.dashboard_password.type == "SecureString" && aws_ssm_parameter.dashboard_password.name == "/visitor-counter-${var.environment}/dashboard-password"
    error_message = "The dashboard's password should be kept in the SecureString parameter /visitor-counter-${var.environment}/dashboard-password (docs/deploy.md tells the owner to read it there)."
  }

  assert {
    condition     = aws_lambda_function.counter.runtime == "provided.al2023" && aws_lambda_function.counter.architectures == tolist(["arm64"]) && aws_lambda_function.counter.handler == "bootstrap"
    error_message = "The function should run the arm64 bootstrap that cargo lambda builds, on provided.al2023."
  }

  # --- the function's policy ---------------------------------------------------

  assert {
    condition = length([
      for s in data.aws_iam_policy_document.function.statement : s
      if length(s.condition) > 0
      && toset(s.actions) == toset([for a in var.service_keyed_actions : "dynamodb:${a}"])
      && toset(s.resources) == toset([aws_dynamodb_table.counter.arn])
      && length([
        for c in s.condition : c
        if c.test == "ForAllValues:StringLike" && c.variable == "dynamodb:LeadingKeys" && toset(c.values) == toset(var.service_key_patterns)
      ]) == 1
    ]) == 1
    error_message = "The function's policy should hold one statement granting exactly KEYED_ACTIONS on the table, limited by dynamodb:LeadingKeys (ForAllValues:StringLike) to exactly KEY_PATTERNS."
  }

  assert {
    condition = toset(flatten([
      for s in data.aws_iam_policy_document.function.statement : [for a in s.actions : a if startswith(a, "dynamodb:")]
      if length(s.condition) == 0
      ])) == toset([for a in var.service_index_actions : "dynamodb:${a}"]) && alltrue([
      for s in data.aws_iam_policy_document.function.statement :
      toset(s.resources) == toset(["${aws_dynamodb_table.counter.arn}/index/${var.service_counter_index}"])
      if length(s.condition) == 0 && anytrue([for a in s.actions : startswith(a, "dynamodb:")])
    ])
    error_message = "Without a key condition the function's policy should grant exactly Query, and only on the ${var.service_counter_index} index: no Scan, nothing on the table itself."
  }

  assert {
    condition = toset(flatten([
      for s in data.aws_iam_policy_document.function.statement : [for a in s.actions : a if startswith(a, "dynamodb:")]
    ])) == toset([for a in concat(var.service_keyed_actions, var.service_index_actions) : "dynamodb:${a}"])
    error_message = "The function's DynamoDB actions should be exactly the store's ACTIONS."
  }

  assert {
    condition     = aws_iam_role.function.permissions_boundary == "arn:aws:iam::123456789012:policy/visitor-counter-boundary-${var.environment}"
    error_message = "The function's role should carry the bootstrap's boundary of this environment."
  }

  # --- the table -------------------------------------------------------------

  assert {
    condition     = aws_dynamodb_table.counter.hash_key == var.service_hash_key && aws_dynamodb_table.counter.range_key == null
    error_message = "The table's key should stay the store's HASH_KEY alone (another key replaces the table)."
  }

  assert {
    condition     = one(aws_dynamodb_table.counter.ttl).attribute_name == var.service_ttl_attribute && one(aws_dynamodb_table.counter.ttl).enabled
    error_message = "TTL should be enabled on the store's TTL_ATTRIBUTE, or markers, salts and key records stay forever."
  }

  assert {
    condition = length([
      for index in aws_dynamodb_table.counter.global_secondary_index : index
      if index.name == var.service_counter_index && index.hash_key == var.service_list_key && index.range_key == var.service_name_key && index.projection_type == "KEYS_ONLY"
    ]) == 1 && length(aws_dynamodb_table.counter.global_secondary_index) == 1
    error_message = "The table should have one index, ${var.service_counter_index} (hash key ${var.service_list_key}, range key ${var.service_name_key}, keys only)."
  }

  assert {
    condition = toset([for a in aws_dynamodb_table.counter.attribute : "${a.name}:${a.type}"]) == toset([
      "${var.service_hash_key}:S", "${var.service_list_key}:S", "${var.service_name_key}:S",
    ])
    error_message = "The table should declare exactly its key and the index's keys, all strings."
  }

  # --- the API -----------------------------------------------------------------

  assert {
    condition = toset(keys(aws_apigatewayv2_route.function)) == toset(concat(
      var.service_routes,
      distinct([for route in var.service_routes : "ANY ${split(" ", route)[1]}"]),
      ["$default"],
    ))
    error_message = "The API's routes should be the contract's operations, ANY on each of its paths and $default; the plan makes ${jsonencode(sort(keys(aws_apigatewayv2_route.function)))}."
  }

  assert {
    condition     = aws_apigatewayv2_integration.counter.payload_format_version == "2.0" && aws_apigatewayv2_integration.counter.integration_uri == aws_lambda_alias.live.invoke_arn
    error_message = "The API should invoke the live alias with payload 2.0."
  }

  # --- what each environment needs -----------------------------------------------

  assert {
    condition     = var.environment != "production" || (length(aws_sns_topic_subscription.alarm_email) == 1 && length(aws_budgets_budget.monthly) == 1)
    error_message = "production should mail its alarms and have the account's budget (alarm_email, monthly_budget_usd in production.tfvars)."
  }

  assert {
    condition     = var.environment != "staging" || aws_apigatewayv2_stage.default.default_route_settings[0].throttling_burst_limit >= 27
    error_message = "staging runs the full post-deploy check (about 27 requests at once): its throttle's burst must take them, or every deploy rolls back."
  }

  assert {
    condition = var.alarms != "detailed" ? length(aws_cloudwatch_metric_alarm.table_throttles) == 0 : toset(flatten([
      for alarm in aws_cloudwatch_metric_alarm.table_throttles : [
        for query in alarm.metric_query : [for metric in query.metric : metric.dimensions["Operation"]]
      ]
    ])) == toset(var.service_operations)
    error_message = "With detailed alarms, the DynamoDB throttling alarm should watch exactly the store's OPERATIONS."
  }

  assert {
    condition     = output.e2e_origin == null || contains(var.allowed_origins, output.e2e_origin)
    error_message = "The post-deploy check's origin should be one of the environment's allowed_origins."
  }
}
