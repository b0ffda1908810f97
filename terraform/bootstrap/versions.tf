terraform {
  required_version = ">= 1.11.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
  }

  # Local state, on purpose: this configuration creates the bucket that holds every
  # other state. Keep its terraform.tfstate somewhere safe (see docs/deploy.md).
}
