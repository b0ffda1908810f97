# DASHBOARD_PASSWORD: GET /dashboard and GET /counters (the list) ask for it, with HTTP
# Basic and any user name; a counter, its days, the totals and the badges stay public
# for embeds. A deployed stack always has one.
#
# The first apply generates it with Secrets Manager's GetRandomPassword (the AWS
# provider's own means, so no other provider is needed) and keeps it in an SSM
# SecureString parameter: free at the standard tier, encrypted with the AWS managed
# key, readable only by whoever may decrypt it. The data source asks for a new password
# on every plan, so the parameter ignores changes to its value: the first one stays,
# and plans show no change. Each refresh reads what the parameter holds, so an owner
# who puts their own password there (docs/deploy.md, "The dashboard's password") gives
# it to the function with the next apply and deploy.
#
# It is kept out of plain outputs and logs: the parameter's value is sensitive, so
# Terraform shows the function's environment as (sensitive value); the outputs name
# only the parameter. Terraform's state holds it, as it holds the whole environment.
data "aws_secretsmanager_random_password" "dashboard" {
  password_length     = 24
  exclude_punctuation = true
}

resource "aws_ssm_parameter" "dashboard_password" {
  name        = "/${local.name}/dashboard-password"
  description = "Password of the ${local.name} dashboard and list of counters (HTTP Basic, any user name); the function's DASHBOARD_PASSWORD."
  type        = "SecureString"
  value       = data.aws_secretsmanager_random_password.dashboard.random_password

  lifecycle {
    # Generated once; the owner may replace it (see the top of this file).
    ignore_changes = [value]
  }

  # checkov:skip=CKV_AWS_337:A SecureString encrypted with the AWS managed key (alias/aws/ssm); a customer managed key costs $1/month, more than the rest of the stack at rest, to guard a list of counter names and numbers.
}
