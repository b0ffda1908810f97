locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition

  state_bucket = coalesce(var.state_bucket_name, "visitor-counter-tfstate-${local.account_id}-${var.region}")
  # Every environment's state lives under this prefix: visitor-counter/<environment>.tfstate
  state_prefix = "visitor-counter"

  # The stack names everything of environment E visitor-counter-E or visitor-counter-E-...
  # (terraform/locals.tf). The bootstrap's own names begin visitor-counter-github- or
  # visitor-counter-boundary-, which no environment's names can match (var.environments
  # forbids such environment names), so no role of the workflows can change them.
  stack_names = { for env in var.environments : env => "visitor-counter-${env}" }

  github_oidc_host = "token.actions.githubusercontent.com"
}
