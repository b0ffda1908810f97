locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition

  state_bucket = coalesce(var.state_bucket_name, "visitor-counter-tfstate-${local.account_id}-${var.region}")
  # Every environment's state lives under this prefix: visitor-counter/<environment>.tfstate
  state_prefix = "visitor-counter"

  # The stack names everything visitor-counter-<environment>...; these roles are named
  # visitor-counter-github-..., which matches none of these prefixes, so the apply role
  # cannot change its own permissions.
  name_prefixes = [for env in var.environments : "visitor-counter-${env}"]

  github_oidc_host = "token.actions.githubusercontent.com"
}
