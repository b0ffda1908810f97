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
  description          = "Execution role of the ${local.name} function: the counter item and its own log group, nothing else."
  assume_role_policy   = data.aws_iam_policy_document.function_assume.json
  permissions_boundary = local.permissions_boundary_arn
}

# Exactly the DynamoDB operations the service calls (visitor_counter::store::dynamodb::OPERATIONS),
# on this table, on the counter item only; service/tests/infra.rs checks both against the code.
data "aws_iam_policy_document" "function" {
  statement {
    sid       = "ReadAndIncrementTheCounterItem"
    actions   = ["dynamodb:GetItem", "dynamodb:UpdateItem"]
    resources = [aws_dynamodb_table.counter.arn]

    # Only the item whose hash key is the counter's id (visitor_counter::store::dynamodb::COUNTER_ID).
    condition {
      test     = "ForAllValues:StringEquals"
      variable = "dynamodb:LeadingKeys"
      values   = ["visitorCount"]
    }
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
