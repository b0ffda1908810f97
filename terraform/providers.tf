provider "aws" {
  region = var.region

  default_tags {
    tags = merge(var.tags, {
      Project     = "visitor-counter"
      Environment = var.environment
      ManagedBy   = "terraform"
    })
  }
}
