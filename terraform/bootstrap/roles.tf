# The workflows' roles, each limited to the stack's own resources: every name the stack
# creates for environment E is visitor-counter-E or begins visitor-counter-E-
# (terraform/locals.tf).
#
#   plan          - pull requests, shared by every environment: reads the stack's
#                   metadata and the state, changes nothing. Never reads the table's
#                   items or the logs, and never takes the state lock (the workflow
#                   plans with -lock=false), so it writes nothing at all. It does read
#                   the dashboard's password parameter (a plan refreshes it), which
#                   the state it reads holds too.
#   apply-E       - jobs in GitHub environment E only: creates, changes and deletes E's
#                   resources and writes E's state. It may create and change roles only
#                   with E's permissions boundary attached, and never remove it.
#   deploy-E      - jobs in GitHub environment E only: uploads new code to E's function,
#                   publishes a version and moves the alias; reads E's state for outputs.
#   boundary-E    - the permissions boundary of every role the apply-E role creates:
#                   E's table items and E's function logs, nothing else.
#
# So a staging job can neither assume production's roles nor, with its own, change
# production's resources. One exception, which IAM cannot express: HTTP APIs are
# addressed by generated ids, and their routes and integrations carry no tags, so every
# apply role may change any HTTP API in the region (see "What each role may do" in
# docs/deploy.md).

locals {
  # The actions of each kind of resource that terraform plan reads, for the plan role
  # (every environment) and each apply role (its own environment).
  read_actions = {
    tables     = ["dynamodb:Describe*", "dynamodb:ListTagsOfResource"]
    functions  = ["lambda:Get*", "lambda:List*"]
    roles      = ["iam:GetRole*", "iam:ListRole*", "iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole"]
    log_groups = ["logs:ListTagsForResource", "logs:ListTagsLogGroup"]
    topics     = ["sns:Get*", "sns:List*"]
    alarm_tags = ["cloudwatch:ListTagsForResource"]
    budgets    = ["budgets:View*", "budgets:ListTagsForResource"]
    # GetParameter decrypts the dashboard's password: plan refreshes the parameter.
    parameters = ["ssm:GetParameter", "ssm:GetParameters", "ssm:ListTagsForResource"]
  }

  # Resources that no name can scope. DescribeLogGroups, DescribeAlarms and
  # DescribeParameters are authorised on every log group, alarm and parameter of the
  # region (the provider reads one by listing with a name filter); HTTP APIs have
  # generated ids; GetRandomPassword (the dashboard's first password, generated on
  # every plan, see terraform/dashboard_password.tf) touches no resource at all.
  unscoped = {
    all_log_groups = "arn:${local.partition}:logs:${var.region}:${local.account_id}:log-group:*"
    all_alarms     = "arn:${local.partition}:cloudwatch:${var.region}:${local.account_id}:alarm:*"
    apis = [
      "arn:${local.partition}:apigateway:${var.region}::/apis",
      "arn:${local.partition}:apigateway:${var.region}::/apis/*",
      "arn:${local.partition}:apigateway:${var.region}::/tags/*",
    ]
  }

  # One environment's resources: the exact name, or the name followed by "-" or ":".
  env = { for env, name in local.stack_names : env => {
    state          = "arn:${local.partition}:s3:::${local.state_bucket}/${local.state_prefix}/${env}.tfstate"
    state_lockfile = "arn:${local.partition}:s3:::${local.state_bucket}/${local.state_prefix}/${env}.tfstate.tflock"
    tables         = ["arn:${local.partition}:dynamodb:${var.region}:${local.account_id}:table/${name}"]
    # The table's global secondary indexes (the list of counters, `counters`).
    table_indexes = ["arn:${local.partition}:dynamodb:${var.region}:${local.account_id}:table/${name}/index/*"]
    functions = [
      "arn:${local.partition}:lambda:${var.region}:${local.account_id}:function:${name}",
      "arn:${local.partition}:lambda:${var.region}:${local.account_id}:function:${name}:*",
    ]
    roles = ["arn:${local.partition}:iam::${local.account_id}:role/${name}-*"]
    log_groups = flatten([for group in ["/aws/lambda/${name}", "/aws/vendedlogs/apigateway/${name}"] : [
      "arn:${local.partition}:logs:${var.region}:${local.account_id}:log-group:${group}",
      "arn:${local.partition}:logs:${var.region}:${local.account_id}:log-group:${group}:*",
    ]])
    function_logs = "arn:${local.partition}:logs:${var.region}:${local.account_id}:log-group:/aws/lambda/${name}:*"
    topics        = ["arn:${local.partition}:sns:${var.region}:${local.account_id}:${name}-*"]
    alarms        = ["arn:${local.partition}:cloudwatch:${var.region}:${local.account_id}:alarm:${name}-*"]
    budgets       = ["arn:${local.partition}:budgets::${local.account_id}:budget/${name}-*"]
    parameters    = ["arn:${local.partition}:ssm:${var.region}:${local.account_id}:parameter/${name}/*"]
    # The stack computes the same ARN from its environment (terraform/iam.tf);
    # service/tests/infra.rs checks that the two agree.
    boundary = "arn:${local.partition}:iam::${local.account_id}:policy/visitor-counter-boundary-${env}"
  } }

  # Every environment's resources, for the plan role.
  all_envs = {
    states     = [for env in var.environments : local.env[env].state]
    tables     = flatten([for env in var.environments : local.env[env].tables])
    functions  = flatten([for env in var.environments : local.env[env].functions])
    roles      = flatten([for env in var.environments : local.env[env].roles])
    log_groups = flatten([for env in var.environments : local.env[env].log_groups])
    topics     = flatten([for env in var.environments : local.env[env].topics])
    alarms     = flatten([for env in var.environments : local.env[env].alarms])
    budgets    = flatten([for env in var.environments : local.env[env].budgets])
    parameters = flatten([for env in var.environments : local.env[env].parameters])
  }
}

# --- permissions boundary ---------------------------------------------------

# The most any role of environment E's stack may ever do, whatever inline policy the
# apply role writes: E's table items and E's function logs. The function's own policy
# (terraform/iam.tf) grants exactly the store's operations within it.
data "aws_iam_policy_document" "boundary" {
  for_each = toset(var.environments)

  statement {
    sid       = "ItemsOfItsOwnTable"
    actions   = ["dynamodb:*Item*", "dynamodb:Query", "dynamodb:Scan"]
    resources = local.env[each.key].tables
  }

  # The list of counters reads the table's `counters` index (version 3).
  statement {
    sid       = "QueryItsOwnTablesIndexes"
    actions   = ["dynamodb:Query"]
    resources = local.env[each.key].table_indexes
  }

  statement {
    sid       = "WriteItsOwnFunctionLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [local.env[each.key].function_logs]
  }
}

resource "aws_iam_policy" "boundary" {
  for_each = toset(var.environments)

  name        = "visitor-counter-boundary-${each.key}"
  description = "Permissions boundary of every role the ${each.key} apply role creates: the ${each.key} table's items and function logs only."
  policy      = data.aws_iam_policy_document.boundary[each.key].json
}

# --- plan -------------------------------------------------------------------

data "aws_iam_policy_document" "plan" {
  statement {
    sid       = "ListState"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.state.arn]
  }

  # Read only: the workflow plans with -lock=false, so the plan role needs no write
  # to the lock file (or anything else).
  statement {
    sid       = "ReadState"
    actions   = ["s3:GetObject"]
    resources = local.all_envs.states
  }

  statement {
    sid       = "ReadTables"
    actions   = local.read_actions.tables
    resources = local.all_envs.tables
  }

  statement {
    sid       = "ReadFunctions"
    actions   = local.read_actions.functions
    resources = local.all_envs.functions
  }

  statement {
    sid       = "ReadRoles"
    actions   = local.read_actions.roles
    resources = local.all_envs.roles
  }

  statement {
    sid       = "FindLogGroups"
    actions   = ["logs:DescribeLogGroups"]
    resources = [local.unscoped.all_log_groups]
  }

  statement {
    sid       = "ReadLogGroups"
    actions   = local.read_actions.log_groups
    resources = local.all_envs.log_groups
  }

  statement {
    sid       = "ReadApis"
    actions   = ["apigateway:GET"]
    resources = local.unscoped.apis
  }

  statement {
    sid       = "ReadTopics"
    actions   = local.read_actions.topics
    resources = local.all_envs.topics
  }

  statement {
    sid       = "FindAlarms"
    actions   = ["cloudwatch:DescribeAlarms"]
    resources = [local.unscoped.all_alarms]
  }

  statement {
    sid       = "ReadAlarmTags"
    actions   = local.read_actions.alarm_tags
    resources = local.all_envs.alarms
  }

  statement {
    sid       = "ReadBudgets"
    actions   = local.read_actions.budgets
    resources = local.all_envs.budgets
  }
  statement {
    sid       = "ReadParameters"
    actions   = local.read_actions.parameters
    resources = local.all_envs.parameters
  }

  statement {
    sid       = "FindParameters"
    actions   = ["ssm:DescribeParameters"]
    resources = ["*"]
  }

  statement {
    sid       = "GeneratePasswords"
    actions   = ["secretsmanager:GetRandomPassword"]
    resources = ["*"]
  }
}

resource "aws_iam_role" "plan" {
  name                 = "visitor-counter-github-plan"
  description          = "GitHub Actions, pull requests of ${var.github_repository}: terraform plan of every environment (read-only)."
  assume_role_policy   = data.aws_iam_policy_document.plan_trust.json
  max_session_duration = 3600
}

resource "aws_iam_role_policy" "plan" {
  name   = "read-stack-and-state"
  role   = aws_iam_role.plan.id
  policy = data.aws_iam_policy_document.plan.json
}

# --- apply, one per environment ---------------------------------------------

data "aws_iam_policy_document" "apply" {
  for_each = toset(var.environments)

  statement {
    sid       = "ListState"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.state.arn]
  }

  statement {
    sid       = "ReadAndWriteItsState"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = [local.env[each.key].state]
  }

  # With use_lockfile the S3 backend locks by writing <key>.tflock and deleting it.
  statement {
    sid       = "TakeItsStateLock"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = [local.env[each.key].state_lockfile]
  }

  statement {
    sid       = "ReadTables"
    actions   = local.read_actions.tables
    resources = local.env[each.key].tables
  }

  statement {
    sid = "ManageTables"
    # Table management only: no item reads or writes.
    actions   = ["dynamodb:CreateTable", "dynamodb:UpdateTable", "dynamodb:DeleteTable", "dynamodb:UpdateContinuousBackups", "dynamodb:UpdateTimeToLive", "dynamodb:TagResource", "dynamodb:UntagResource"]
    resources = local.env[each.key].tables
  }

  statement {
    sid       = "ReadFunctions"
    actions   = local.read_actions.functions
    resources = local.env[each.key].functions
  }

  statement {
    sid       = "ManageFunctions"
    actions   = ["lambda:CreateFunction", "lambda:DeleteFunction", "lambda:UpdateFunctionConfiguration", "lambda:UpdateFunctionCode", "lambda:PublishVersion", "lambda:PutFunctionConcurrency", "lambda:DeleteFunctionConcurrency", "lambda:CreateAlias", "lambda:UpdateAlias", "lambda:DeleteAlias", "lambda:AddPermission", "lambda:RemovePermission", "lambda:TagResource", "lambda:UntagResource"]
    resources = local.env[each.key].functions
  }

  statement {
    sid       = "ReadRoles"
    actions   = local.read_actions.roles
    resources = local.env[each.key].roles
  }

  # A role's permissions can be created or changed only while it carries this
  # environment's boundary (IAM evaluates iam:PermissionsBoundary on the role as it
  # will be), so whatever inline policy is written, the role can do no more than the
  # boundary: no IAM, no other environment, nothing outside E's table and logs.
  statement {
    sid       = "CreateAndChangeRolesOnlyWithTheBoundary"
    actions   = ["iam:CreateRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:PutRolePermissionsBoundary"]
    resources = local.env[each.key].roles

    condition {
      test     = "StringEquals"
      variable = "iam:PermissionsBoundary"
      values   = [local.env[each.key].boundary]
    }
  }

  # Changes that grant nothing: names, descriptions, tags, the trust policy (of a
  # bounded role) and deletion.
  statement {
    sid       = "ManageRolesOfThisEnvironment"
    actions   = ["iam:DeleteRole", "iam:UpdateRole", "iam:UpdateRoleDescription", "iam:UpdateAssumeRolePolicy", "iam:TagRole", "iam:UntagRole"]
    resources = local.env[each.key].roles
  }

  statement {
    sid       = "PassRolesToLambdaOnly"
    actions   = ["iam:PassRole"]
    resources = local.env[each.key].roles

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["lambda.amazonaws.com"]
    }
  }

  # Belt and braces: no allow above grants these, and no later edit of this policy
  # should either.
  statement {
    sid       = "NeverRemoveOrAvoidTheBoundary"
    effect    = "Deny"
    actions   = ["iam:DeleteRolePermissionsBoundary", "iam:AttachRolePolicy", "iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicy"]
    resources = ["*"]
  }

  statement {
    sid       = "FindLogGroups"
    actions   = ["logs:DescribeLogGroups"]
    resources = [local.unscoped.all_log_groups]
  }

  statement {
    sid       = "ReadLogGroups"
    actions   = local.read_actions.log_groups
    resources = local.env[each.key].log_groups
  }

  statement {
    sid       = "ManageLogGroups"
    actions   = ["logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:PutRetentionPolicy", "logs:DeleteRetentionPolicy", "logs:TagResource", "logs:UntagResource", "logs:TagLogGroup", "logs:UntagLogGroup"]
    resources = local.env[each.key].log_groups
  }

  # Turning on an HTTP API stage's access logs sets up a CloudWatch Logs delivery;
  # these actions have no resource-level permissions.
  statement {
    sid       = "SetUpApiAccessLogDelivery"
    actions   = ["logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies"]
    resources = ["*"]
  }

  statement {
    sid       = "ReadApis"
    actions   = ["apigateway:GET"]
    resources = local.unscoped.apis
  }

  statement {
    sid       = "ManageApis"
    actions   = ["apigateway:POST", "apigateway:PUT", "apigateway:PATCH", "apigateway:DELETE"]
    resources = local.unscoped.apis
  }

  statement {
    sid       = "ReadTopics"
    actions   = local.read_actions.topics
    resources = local.env[each.key].topics
  }

  statement {
    sid       = "ManageTopics"
    actions   = ["sns:CreateTopic", "sns:DeleteTopic", "sns:SetTopicAttributes", "sns:Subscribe", "sns:Unsubscribe", "sns:SetSubscriptionAttributes", "sns:TagResource", "sns:UntagResource"]
    resources = local.env[each.key].topics
  }

  statement {
    sid       = "FindAlarms"
    actions   = ["cloudwatch:DescribeAlarms"]
    resources = [local.unscoped.all_alarms]
  }

  statement {
    sid       = "ReadAlarmTags"
    actions   = local.read_actions.alarm_tags
    resources = local.env[each.key].alarms
  }

  statement {
    sid       = "ManageAlarms"
    actions   = ["cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:TagResource", "cloudwatch:UntagResource"]
    resources = local.env[each.key].alarms
  }

  statement {
    sid       = "ReadBudgets"
    actions   = local.read_actions.budgets
    resources = local.env[each.key].budgets
  }

  statement {
    sid       = "ManageBudgets"
    actions   = ["budgets:ModifyBudget", "budgets:TagResource", "budgets:UntagResource"]
    resources = local.env[each.key].budgets
  }
  statement {
    sid       = "ReadParameters"
    actions   = local.read_actions.parameters
    resources = local.env[each.key].parameters
  }

  statement {
    sid       = "ManageParameters"
    actions   = ["ssm:PutParameter", "ssm:DeleteParameter", "ssm:AddTagsToResource", "ssm:RemoveTagsFromResource"]
    resources = local.env[each.key].parameters
  }

  statement {
    sid       = "FindParameters"
    actions   = ["ssm:DescribeParameters"]
    resources = ["*"]
  }

  statement {
    sid       = "GeneratePasswords"
    actions   = ["secretsmanager:GetRandomPassword"]
    resources = ["*"]
  }
}

resource "aws_iam_role" "apply" {
  for_each = toset(var.environments)

  name                 = "visitor-counter-github-apply-${each.key}"
  description          = "GitHub Actions, environment ${each.key} of ${var.github_repository}: terraform apply of ${each.key}."
  assume_role_policy   = data.aws_iam_policy_document.environment_trust[each.key].json
  max_session_duration = 3600
}

resource "aws_iam_role_policy" "apply" {
  for_each = toset(var.environments)

  name   = "manage-${each.key}-stack-and-state"
  role   = aws_iam_role.apply[each.key].id
  policy = data.aws_iam_policy_document.apply[each.key].json
}

# --- deploy, one per environment --------------------------------------------

data "aws_iam_policy_document" "deploy" {
  for_each = toset(var.environments)

  statement {
    sid       = "ListState"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.state.arn]
  }

  # For `terraform output` (function name, alias, api_base_url).
  statement {
    sid       = "ReadItsState"
    actions   = ["s3:GetObject"]
    resources = [local.env[each.key].state]
  }

  statement {
    sid       = "ShipCodeAndMoveTheAlias"
    actions   = ["lambda:GetFunction", "lambda:GetFunctionConfiguration", "lambda:UpdateFunctionCode", "lambda:PublishVersion", "lambda:ListVersionsByFunction", "lambda:GetAlias", "lambda:UpdateAlias", "lambda:ListAliases"]
    resources = local.env[each.key].functions
  }
}

resource "aws_iam_role" "deploy" {
  for_each = toset(var.environments)

  name                 = "visitor-counter-github-deploy-${each.key}"
  description          = "GitHub Actions, environment ${each.key} of ${var.github_repository}: deploy the ${each.key} function's code and move its live alias."
  assume_role_policy   = data.aws_iam_policy_document.environment_trust[each.key].json
  max_session_duration = 3600
}

resource "aws_iam_role_policy" "deploy" {
  for_each = toset(var.environments)

  name   = "ship-${each.key}-function-code"
  role   = aws_iam_role.deploy[each.key].id
  policy = data.aws_iam_policy_document.deploy[each.key].json
}
