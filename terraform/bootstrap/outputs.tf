# Set these in GitHub (Settings > Secrets and variables > Actions > Variables, and
# Settings > Environments > <environment> > Environment variables); docs/deploy.md
# ("Through GitHub") sets them all with `gh`.

output "state_bucket" {
  description = "Bucket holding every environment's state: repository variable TF_STATE_BUCKET."
  value       = aws_s3_bucket.state.id
}

output "plan_role_arn" {
  description = "Role for terraform plan on pull requests, every environment: repository variable AWS_PLAN_ROLE_ARN."
  value       = aws_iam_role.plan.arn
}

output "apply_role_arns" {
  description = "Per environment, the role for terraform apply in that GitHub environment: its environment variable AWS_APPLY_ROLE_ARN."
  value       = { for env, role in aws_iam_role.apply : env => role.arn }
}

output "deploy_role_arns" {
  description = "Per environment, the role for the Deploy job in that GitHub environment (code, versions, alias): its environment variable AWS_DEPLOY_ROLE_ARN."
  value       = { for env, role in aws_iam_role.deploy : env => role.arn }
}

output "permissions_boundary_arns" {
  description = "Per environment, the permissions boundary every role of that environment's stack carries (terraform/iam.tf computes the same ARN)."
  value       = { for env, policy in aws_iam_policy.boundary : env => policy.arn }
}

output "repository_variables" {
  description = "The repository variables the workflows read, by name."
  value = {
    AWS_PLAN_ROLE_ARN = aws_iam_role.plan.arn
    TF_STATE_BUCKET   = aws_s3_bucket.state.id
    AWS_REGION        = var.region
  }
}

output "environment_variables" {
  description = "Per GitHub environment, the environment variables the workflows read there, by name (optionally E2E_ORIGIN too, one of the environment's allowed_origins; by default the deploy sends the stack's output e2e_origin)."
  value = { for env in var.environments : env => {
    AWS_APPLY_ROLE_ARN  = aws_iam_role.apply[env].arn
    AWS_DEPLOY_ROLE_ARN = aws_iam_role.deploy[env].arn
  } }
}
