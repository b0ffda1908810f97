# The bootstrap, planned with a mocked AWS provider: one environment (the default) is
# a complete set-up, staging is an option, and each environment's roles and boundary
# reach what its stack needs (the function's index, the dashboard's password) and no
# other environment's.

mock_provider "aws" {
  override_during = plan

  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_data "aws_iam_openid_connect_provider" {
    defaults = { arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com" }
  }
  mock_resource "aws_iam_openid_connect_provider" {
    defaults = { arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com" }
  }
  mock_resource "aws_s3_bucket" {
    defaults = { arn = "arn:aws:s3:::visitor-counter-tfstate-123456789012-us-east-1" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/visitor-counter-github-mock" }
  }
  mock_resource "aws_iam_policy" {
    defaults = { arn = "arn:aws:iam::123456789012:policy/visitor-counter-boundary-mock" }
  }
}

variables {
  github_repository = "owner/site"
}

run "one_environment_by_default" {
  command = plan

  assert {
    condition     = keys(aws_iam_role.apply) == ["production"] && keys(aws_iam_role.deploy) == ["production"] && keys(aws_iam_policy.boundary) == ["production"]
    error_message = "The default bootstrap serves one environment, production."
  }

  assert {
    condition = toset(flatten([
      for s in data.aws_iam_policy_document.environment_trust["production"].statement : [
        for c in s.condition : tolist(c.values) if endswith(c.variable, ":sub")
      ]
    ])) == toset(["repo:owner/site:environment:production"])
    error_message = "production's roles trust jobs of the GitHub environment production only."
  }

  assert {
    condition = anytrue([
      for s in data.aws_iam_policy_document.boundary["production"].statement :
      contains(s.actions, "dynamodb:Query") && contains(s.resources, "arn:aws:dynamodb:us-east-1:123456789012:table/visitor-counter-production/index/*")
    ])
    error_message = "The boundary should let the function Query its table's counters index, or the list of counters is denied."
  }

  assert {
    condition = anytrue([
      for s in data.aws_iam_policy_document.apply["production"].statement :
      contains(s.actions, "ssm:PutParameter") && s.resources == toset(["arn:aws:ssm:us-east-1:123456789012:parameter/visitor-counter-production/*"])
    ])
    error_message = "The apply role should manage production's parameters (the dashboard's password) and no other."
  }

  assert {
    condition     = length(aws_iam_openid_connect_provider.github) == 1
    error_message = "By default the bootstrap creates the GitHub OIDC provider."
  }

  assert {
    condition     = output.environment_variables["production"].AWS_APPLY_ROLE_ARN != null && keys(output.environment_variables) == ["production"]
    error_message = "The outputs give the one environment's role ARNs."
  }
}

run "staging_and_production" {
  command = plan

  variables {
    environments = ["staging", "production"]
  }

  assert {
    condition     = toset(keys(aws_iam_role.apply)) == toset(["staging", "production"]) && toset(keys(aws_iam_policy.boundary)) == toset(["staging", "production"])
    error_message = "Each environment gets its own apply role and boundary."
  }

  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.apply["staging"].statement :
      alltrue([for r in s.resources : !strcontains(r, "visitor-counter-production")])
    ])
    error_message = "staging's apply role must not reach production's resources."
  }
}

run "an_existing_oidc_provider" {
  command = plan

  variables {
    create_oidc_provider = false
  }

  assert {
    condition     = length(aws_iam_openid_connect_provider.github) == 0 && length(data.aws_iam_openid_connect_provider.github) == 1
    error_message = "create_oidc_provider = false uses the account's provider instead of creating one."
  }
}

run "no_environment_inside_another" {
  command = plan

  variables {
    environments = ["prod", "prod-eu"]
  }

  expect_failures = [var.environments]
}
