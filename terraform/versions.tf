terraform {
  # 1.11: S3 native state locking (`use_lockfile`) is generally available.
  required_version = ">= 1.11.0"

  required_providers {
    # 5.100 (the last 5.x, which `terraform test` plans with offline, from the provider
    # mirror scripts/test-terraform points at) and every 6.x. The committed lock file,
    # made with `terraform providers lock`, pins the one CI and your laptop deploy with.
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100.0, < 7.0.0"
    }
  }

  # Partial configuration: the workflow (or the person running Terraform) supplies
  # bucket, key = "visitor-counter/<environment>.tfstate", region and
  # use_lockfile = true with -backend-config. See docs/deploy.md.
  backend "s3" {}
}
