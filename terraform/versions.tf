terraform {
  # 1.11: S3 native state locking (`use_lockfile`) is generally available.
  required_version = ">= 1.11.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
    archive = {
      source  = "hashicorp/archive"
      version = "~> 2.7"
    }
  }

  # Partial configuration: the workflow (or the person running Terraform) supplies
  # bucket, key = "visitor-counter/<environment>.tfstate", region and
  # use_lockfile = true with -backend-config. See docs/deploy.md.
  backend "s3" {}
}
