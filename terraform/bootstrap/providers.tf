provider "aws" {
  region = var.region

  default_tags {
    tags = {
      Project   = "visitor-counter"
      Component = "bootstrap"
      ManagedBy = "terraform"
    }
  }
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}
