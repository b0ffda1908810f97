data "aws_iam_policy_document" "function_assume" {
  statement {
    sid     = "LambdaAssumesTheFunctionRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

data "aws_partition" "current" {}

# The bootstrap's permissions boundary for this environment (terraform/bootstrap/roles.tf,
# aws_iam_policy.boundary): the apply role may create and change roles only with it
# attached, so every role here carries it. service/tests/infra.rs checks that this ARN
# is the one the bootstrap creates and the apply role's condition names.
locals {
  permissions_boundary_arn = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:policy/visitor-counter-boundary-${var.environment}"
}

resource "aws_iam_role" "function" {
  name                 = "${local.name}-function"
  description          = "Execution role of the ${local.name} function: its table's items and its own log group, nothing else."
  assume_role_policy   = data.aws_iam_policy_document.function_assume.json
  permissions_boundary = local.permissions_boundary_arn
}

# Exactly the IAM actions of the DynamoDB operations the service calls
# (visitor_counter::store::dynamodb::ACTIONS; TransactWriteItems has no action of its own,
# IAM authorises each of its items as the UpdateItem it is), on this table and its
# `counters` index only; service/tests/infra.rs and terraform/tests/ check both
# statements against the code.
data "aws_iam_policy_document" "function" {
  # The actions that name their keys (KEYED_ACTIONS), on the service's own items only:
  # every hash key of the request must match one of the store's KEY_PATTERNS (the
  # counter `site`, the other counters, their days, the visitor markers, the salt, the
  # Idempotency-Key records, the site's registry and its days).
  statement {
    sid       = "ReadAndCountTheServicesItems"
    actions   = ["dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:UpdateItem"]
    resources = [aws_dynamodb_table.counter.arn]

    condition {
      test     = "ForAllValues:StringLike"
      variable = "dynamodb:LeadingKeys"
      values   = ["visitorCount", "counter#*", "day#*", "visitor#*", "salt", "idem#*", "registry", "site#*"]
    }
  }

  # The list of counters (GET /counters, the dashboard): a Query of the `counters`
  # index, whose hash key is `list` and not an item's `id`, so dynamodb:LeadingKeys
  # cannot limit it to the store's key patterns; this statement has no condition. It
  # reads the index's keys (KEYS_ONLY: a counter's `id`, `list` and `name`) and nothing
  # else: not the table, where Query is not granted, and no Scan at all.
  statement {
    sid       = "ListTheCounters"
    actions   = ["dynamodb:Query"]
    resources = ["${aws_dynamodb_table.counter.arn}/index/${local.counter_index}"]
  }

  statement {
    sid       = "WriteItsOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.function.arn}:*"]
  }
}

resource "aws_iam_role_policy" "function" {
  name   = "counter-table-and-logs"
  role   = aws_iam_role.function.id
  policy = data.aws_iam_policy_document.function.json
}
