# Three roles for the workflows, each limited to the stack's own resources: every
# name the stack creates begins visitor-counter-<environment> (terraform/locals.tf).
#
#   plan   - pull requests: reads the stack's metadata and the state (and takes the
#            state lock), changes nothing. Never reads the table's items or the logs.
#   apply  - main and the protected environments: creates, changes and deletes the
#            stack's resources and writes the state.
#   deploy - main and the protected environments: uploads new code to the function,
#            publishes a version and moves the alias; reads the state for outputs.

locals {
  arn = {
    state_objects  = "arn:${local.partition}:s3:::${local.state_bucket}/${local.state_prefix}/*"
    state_lockfile = "arn:${local.partition}:s3:::${local.state_bucket}/${local.state_prefix}/*.tflock"
    tables         = [for p in local.name_prefixes : "arn:${local.partition}:dynamodb:${var.region}:${local.account_id}:table/${p}*"]
    functions      = [for p in local.name_prefixes : "arn:${local.partition}:lambda:${var.region}:${local.account_id}:function:${p}*"]
    roles          = [for p in local.name_prefixes : "arn:${local.partition}:iam::${local.account_id}:role/${p}*"]
    log_groups = flatten([for p in local.name_prefixes : [
      "arn:${local.partition}:logs:${var.region}:${local.account_id}:log-group:/aws/lambda/${p}*",
      "arn:${local.partition}:logs:${var.region}:${local.account_id}:log-group:/aws/vendedlogs/apigateway/${p}*",
    ]])
    all_log_groups = "arn:${local.partition}:logs:${var.region}:${local.account_id}:log-group:*"
    # HTTP APIs are addressed by generated ids, not names: any API of this region.
    apis = [
      "arn:${local.partition}:apigateway:${var.region}::/apis",
      "arn:${local.partition}:apigateway:${var.region}::/apis/*",
      "arn:${local.partition}:apigateway:${var.region}::/tags/*",
    ]
    topics  = [for p in local.name_prefixes : "arn:${local.partition}:sns:${var.region}:${local.account_id}:${p}*"]
    alarms  = [for p in local.name_prefixes : "arn:${local.partition}:cloudwatch:${var.region}:${local.account_id}:alarm:${p}*"]
    budgets = [for p in local.name_prefixes : "arn:${local.partition}:budgets::${local.account_id}:budget/${p}*"]
  }
}

# --- plan -------------------------------------------------------------------

data "aws_iam_policy_document" "plan" {
  statement {
    sid       = "ListState"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.state.arn]
  }

  statement {
    sid       = "ReadState"
    actions   = ["s3:GetObject"]
    resources = [local.arn.state_objects]
  }

  # `terraform plan` takes the state lock: with use_lockfile that is a <key>.tflock
  # object, written and deleted. Nothing else in the bucket is writable.
  statement {
    sid       = "TakeTheStateLock"
    actions   = ["s3:PutObject", "s3:DeleteObject"]
    resources = [local.arn.state_lockfile]
  }

  statement {
    sid       = "ReadTables"
    actions   = ["dynamodb:Describe*", "dynamodb:ListTagsOfResource"]
    resources = local.arn.tables
  }

  statement {
    sid       = "ReadFunctions"
    actions   = ["lambda:Get*", "lambda:List*"]
    resources = local.arn.functions
  }

  statement {
    sid       = "ReadRoles"
    actions   = ["iam:GetRole*", "iam:ListRole*", "iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole"]
    resources = local.arn.roles
  }

  statement {
    sid       = "FindLogGroups"
    actions   = ["logs:DescribeLogGroups"]
    resources = [local.arn.all_log_groups]
  }

  statement {
    sid       = "ReadLogGroups"
    actions   = ["logs:ListTagsForResource", "logs:ListTagsLogGroup"]
    resources = local.arn.log_groups
  }

  statement {
    sid       = "ReadApis"
    actions   = ["apigateway:GET"]
    resources = local.arn.apis
  }

  statement {
    sid       = "ReadTopics"
    actions   = ["sns:Get*", "sns:List*"]
    resources = local.arn.topics
  }

  statement {
    sid       = "ReadAlarms"
    actions   = ["cloudwatch:DescribeAlarms*", "cloudwatch:ListTagsForResource"]
    resources = local.arn.alarms
  }

  statement {
    sid       = "ReadBudgets"
    actions   = ["budgets:View*", "budgets:ListTagsForResource"]
    resources = local.arn.budgets
  }
}

resource "aws_iam_role" "plan" {
  name                 = "visitor-counter-github-plan"
  description          = "GitHub Actions, pull requests of ${var.github_repository}: terraform plan (read-only)."
  assume_role_policy   = data.aws_iam_policy_document.plan_trust.json
  max_session_duration = 3600
}

resource "aws_iam_role_policy" "plan" {
  name   = "read-stack-and-state"
  role   = aws_iam_role.plan.id
  policy = data.aws_iam_policy_document.plan.json
}

# --- apply ------------------------------------------------------------------

data "aws_iam_policy_document" "apply" {
  # Everything the plan role can read.
  source_policy_documents = [data.aws_iam_policy_document.plan.json]

  statement {
    sid       = "WriteState"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = [local.arn.state_objects]
  }

  statement {
    sid = "ManageTables"
    # Table management only: no item reads or writes.
    actions   = ["dynamodb:CreateTable", "dynamodb:UpdateTable", "dynamodb:DeleteTable", "dynamodb:UpdateContinuousBackups", "dynamodb:UpdateTimeToLive", "dynamodb:TagResource", "dynamodb:UntagResource"]
    resources = local.arn.tables
  }

  statement {
    sid       = "ManageFunctions"
    actions   = ["lambda:CreateFunction", "lambda:DeleteFunction", "lambda:UpdateFunctionConfiguration", "lambda:UpdateFunctionCode", "lambda:PublishVersion", "lambda:PutFunctionConcurrency", "lambda:DeleteFunctionConcurrency", "lambda:CreateAlias", "lambda:UpdateAlias", "lambda:DeleteAlias", "lambda:AddPermission", "lambda:RemovePermission", "lambda:TagResource", "lambda:UntagResource"]
    resources = local.arn.functions
  }

  statement {
    sid       = "ManageFunctionRoles"
    actions   = ["iam:CreateRole", "iam:DeleteRole", "iam:UpdateRole", "iam:UpdateRoleDescription", "iam:UpdateAssumeRolePolicy", "iam:TagRole", "iam:UntagRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy"]
    resources = local.arn.roles
  }

  statement {
    sid       = "PassFunctionRolesToLambdaOnly"
    actions   = ["iam:PassRole"]
    resources = local.arn.roles

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["lambda.amazonaws.com"]
    }
  }

  statement {
    sid       = "ManageLogGroups"
    actions   = ["logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:PutRetentionPolicy", "logs:DeleteRetentionPolicy", "logs:TagResource", "logs:UntagResource", "logs:TagLogGroup", "logs:UntagLogGroup"]
    resources = local.arn.log_groups
  }

  # Turning on an HTTP API stage's access logs sets up a CloudWatch Logs delivery;
  # these actions have no resource-level permissions.
  statement {
    sid       = "SetUpApiAccessLogDelivery"
    actions   = ["logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies"]
    resources = ["*"]
  }

  statement {
    sid       = "ManageApis"
    actions   = ["apigateway:POST", "apigateway:PUT", "apigateway:PATCH", "apigateway:DELETE"]
    resources = local.arn.apis
  }

  statement {
    sid       = "ManageTopics"
    actions   = ["sns:CreateTopic", "sns:DeleteTopic", "sns:SetTopicAttributes", "sns:Subscribe", "sns:Unsubscribe", "sns:SetSubscriptionAttributes", "sns:TagResource", "sns:UntagResource"]
    resources = local.arn.topics
  }

  statement {
    sid       = "ManageAlarms"
    actions   = ["cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:TagResource", "cloudwatch:UntagResource"]
    resources = local.arn.alarms
  }

  statement {
    sid       = "ManageBudgets"
    actions   = ["budgets:ModifyBudget", "budgets:TagResource", "budgets:UntagResource"]
    resources = local.arn.budgets
  }
}

resource "aws_iam_role" "apply" {
  name                 = "visitor-counter-github-apply"
  description          = "GitHub Actions, main and protected environments of ${var.github_repository}: terraform apply."
  assume_role_policy   = data.aws_iam_policy_document.apply_trust.json
  max_session_duration = 3600
}

resource "aws_iam_role_policy" "apply" {
  name   = "manage-stack-and-state"
  role   = aws_iam_role.apply.id
  policy = data.aws_iam_policy_document.apply.json
}

# --- deploy -----------------------------------------------------------------

data "aws_iam_policy_document" "deploy" {
  statement {
    sid       = "ListState"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.state.arn]
  }

  # For `terraform output` (function name, alias, count_url).
  statement {
    sid       = "ReadState"
    actions   = ["s3:GetObject"]
    resources = [local.arn.state_objects]
  }

  statement {
    sid       = "ShipCodeAndMoveTheAlias"
    actions   = ["lambda:GetFunction", "lambda:GetFunctionConfiguration", "lambda:UpdateFunctionCode", "lambda:PublishVersion", "lambda:ListVersionsByFunction", "lambda:GetAlias", "lambda:UpdateAlias", "lambda:ListAliases"]
    resources = local.arn.functions
  }
}

resource "aws_iam_role" "deploy" {
  name                 = "visitor-counter-github-deploy"
  description          = "GitHub Actions, main and protected environments of ${var.github_repository}: deploy function code and move the live alias."
  assume_role_policy   = data.aws_iam_policy_document.apply_trust.json
  max_session_duration = 3600
}

resource "aws_iam_role_policy" "deploy" {
  name   = "ship-function-code"
  role   = aws_iam_role.deploy.id
  policy = data.aws_iam_policy_document.deploy.json
}
