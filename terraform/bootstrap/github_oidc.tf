# GitHub Actions gets short-lived AWS credentials by exchanging its OIDC token for a
# role (aws-actions/configure-aws-credentials); no long-lived keys exist anywhere.
resource "aws_iam_openid_connect_provider" "github" {
  count = var.create_oidc_provider ? 1 : 0

  url            = "https://${local.github_oidc_host}"
  client_id_list = ["sts.amazonaws.com"]
  # No thumbprint_list: AWS validates GitHub's certificate against its own trusted CAs.
}

data "aws_iam_openid_connect_provider" "github" {
  count = var.create_oidc_provider ? 0 : 1

  url = "https://${local.github_oidc_host}"
}

locals {
  github_oidc_provider_arn = var.create_oidc_provider ? aws_iam_openid_connect_provider.github[0].arn : data.aws_iam_openid_connect_provider.github[0].arn

  # OIDC subjects (the token's `sub` claim) that may assume each role.
  # Pull requests from this repository (GitHub gives forks' pull requests no token).
  plan_subjects = ["repo:${var.github_repository}:pull_request"]
  # The main branch, and jobs running in one of the protected GitHub environments
  # (a job with `environment:` gets the environment's subject, not the branch's).
  apply_subjects = concat(
    ["repo:${var.github_repository}:ref:refs/heads/main"],
    [for env in var.environments : "repo:${var.github_repository}:environment:${env}"],
  )
}

data "aws_iam_policy_document" "plan_trust" {
  statement {
    sid     = "GitHubPullRequestsOfThisRepository"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.github_oidc_provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.github_oidc_host}:aud"
      values   = ["sts.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.github_oidc_host}:sub"
      values   = local.plan_subjects
    }
  }
}

data "aws_iam_policy_document" "apply_trust" {
  statement {
    sid     = "GitHubMainAndProtectedEnvironmentsOfThisRepository"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.github_oidc_provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.github_oidc_host}:aud"
      values   = ["sts.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.github_oidc_host}:sub"
      values   = local.apply_subjects
    }
  }
}
