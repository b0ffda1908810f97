terraform {
  required_version = ">= 1.11.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # As the stack's (terraform/versions.tf): 5.100 for the offline tests, and 6.x.
      version = ">= 5.100.0, < 7.0.0"
    }
  }

  # Local state, on purpose: this configuration creates the bucket that holds every
  # other state. Keep its terraform.tfstate somewhere safe (see docs/deploy.md).
}
