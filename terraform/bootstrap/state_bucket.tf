# The bucket that holds every environment's Terraform state (and its lock files:
# the S3 backend's use_lockfile writes <key>.tflock next to the state).
resource "aws_s3_bucket" "state" {
  bucket = local.state_bucket

  lifecycle {
    prevent_destroy = true
  }

  # checkov:skip=CKV_AWS_18:Access logging would need a second bucket for a few requests a day; every state change is also a versioned object, and CloudTrail records who assumed the roles.
  # checkov:skip=CKV_AWS_144:Cross-region replication doubles the bucket for state that versioning already protects and that the stack can be re-imported from.
  # checkov:skip=CKV2_AWS_62:Nothing needs to react to state writes.
}

resource "aws_s3_bucket_versioning" "state" {
  bucket = aws_s3_bucket.state.id

  versioning_configuration {
    status = "Enabled"
  }
}

# SSE-KMS with the AWS managed key (aws/s3): no key to pay for or manage, and the
# bucket key keeps KMS requests (and their cost) to a minimum.
resource "aws_s3_bucket_server_side_encryption_configuration" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "aws:kms"
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "state" {
  bucket = aws_s3_bucket.state.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    id     = "old-state-versions-lock-markers-and-failed-uploads"
    status = "Enabled"

    filter {}

    # Keep 90 days of previous states to recover from a bad apply, not forever.
    noncurrent_version_expiration {
      noncurrent_days = 90
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }

    # Every plan and apply writes <key>.tflock and deletes it, which in a versioned
    # bucket leaves a delete marker; once the lock's old versions have expired above,
    # the marker is all that is left, and this removes it.
    expiration {
      expired_object_delete_marker = true
    }
  }

  depends_on = [aws_s3_bucket_versioning.state]
}

data "aws_iam_policy_document" "state_bucket" {
  statement {
    sid     = "DenyPlainHttp"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.state.arn,
      "${aws_s3_bucket.state.arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "state" {
  bucket = aws_s3_bucket.state.id
  policy = data.aws_iam_policy_document.state_bucket.json

  depends_on = [aws_s3_bucket_public_access_block.state]
}
