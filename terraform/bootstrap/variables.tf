variable "github_repository" {
  description = "The GitHub repository whose workflows may assume the roles, as \"owner/name\" with GitHub's exact capitalisation (the OIDC subject claim is compared case-sensitively)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$", var.github_repository))
    error_message = "github_repository must look like \"owner/name\"."
  }
}

variable "region" {
  description = "Region of the state bucket and of the stack (the roles are scoped to it)."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as us-east-1."
  }
}

variable "environments" {
  description = "Environments the stack is applied as (terraform/environments/<name>.tfvars). The apply and deploy roles may touch only resources named visitor-counter-<environment>..., and GitHub environments of these names may assume them."
  type        = list(string)
  default     = ["staging", "production"]

  validation {
    condition     = length(var.environments) > 0 && alltrue([for env in var.environments : can(regex("^[a-z][a-z0-9-]{1,19}$", env)) && !startswith(env, "github")])
    error_message = "environments must be a non-empty list of names of 2-20 characters of a-z, 0-9 and '-', none starting with \"github\" (the roles' own names begin visitor-counter-github)."
  }
}

variable "state_bucket_name" {
  description = "Name of the S3 bucket for Terraform state, or null for visitor-counter-tfstate-<account id>-<region> (bucket names are global)."
  type        = string
  default     = null

  validation {
    condition     = var.state_bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.state_bucket_name))
    error_message = "state_bucket_name must be a valid S3 bucket name (3-63 characters of a-z, 0-9, '.' and '-')."
  }
}

variable "create_oidc_provider" {
  description = "Create the account's GitHub OIDC provider (token.actions.githubusercontent.com). Set to false when the account already has one: there can be only one per URL."
  type        = bool
  default     = true
}
