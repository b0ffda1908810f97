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
  description = "Environments the stack is applied as (terraform/environments/<name>.tfvars). One, production, is a complete deployment; [\"staging\", \"production\"] adds a staging environment that every deploy passes first. Each gets its own apply and deploy roles, trusted only from the GitHub environment of the same name and limited to resources named visitor-counter-<environment> or visitor-counter-<environment>-..., and its own permissions boundary."
  type        = list(string)
  default     = ["production"]

  validation {
    condition     = length(var.environments) > 0 && alltrue([for env in var.environments : can(regex("^[a-z][a-z0-9-]{1,19}$", env)) && !startswith(env, "github") && !startswith(env, "boundary")])
    error_message = "environments must be a non-empty list of names of 2-20 characters of a-z, 0-9 and '-', none starting with \"github\" or \"boundary\" (the bootstrap's own names begin visitor-counter-github and visitor-counter-boundary)."
  }

  # visitor-counter-prod-* would match every name of an environment called prod-eu:
  # the roles of prod could change prod-eu's resources.
  validation {
    condition     = alltrue([for a in var.environments : alltrue([for b in var.environments : a == b || !startswith(b, "${a}-")])])
    error_message = "no environment name may be another one followed by '-' (prod and prod-eu): each environment's roles are limited to visitor-counter-<environment>-*, which would cover the other's resources."
  }

  validation {
    condition     = length(distinct(var.environments)) == length(var.environments)
    error_message = "environments must not repeat a name."
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
