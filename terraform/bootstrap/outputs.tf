# Set these as GitHub repository variables (Settings > Secrets and variables >
# Actions > Variables); `terraform output -json repository_variables` prints them all.

output "state_bucket" {
  description = "Bucket holding every environment's state: repository variable TF_STATE_BUCKET."
  value       = aws_s3_bucket.state.id
}

output "plan_role_arn" {
  description = "Role for terraform plan on pull requests: repository variable AWS_PLAN_ROLE_ARN."
  value       = aws_iam_role.plan.arn
}

output "apply_role_arn" {
  description = "Role for terraform apply on main / protected environments: repository variable AWS_APPLY_ROLE_ARN."
  value       = aws_iam_role.apply.arn
}

output "deploy_role_arn" {
  description = "Role for the Deploy workflow (code, versions, alias): repository variable AWS_DEPLOY_ROLE_ARN."
  value       = aws_iam_role.deploy.arn
}

output "repository_variables" {
  description = "Every repository variable the workflows read, by name."
  value = {
    AWS_PLAN_ROLE_ARN   = aws_iam_role.plan.arn
    AWS_APPLY_ROLE_ARN  = aws_iam_role.apply.arn
    AWS_DEPLOY_ROLE_ARN = aws_iam_role.deploy.arn
    TF_STATE_BUCKET     = aws_s3_bucket.state.id
    AWS_REGION          = var.region
  }
}
