# One table, one String hash key `id`; every item is told apart by its id alone:
#
#   visitorCount              the counter `site` (v1's one item, kept so /count keeps
#                             its number): Number attributes `count` (views), `visitors`
#   counter#NAME              every other counter: `count`, `visitors`
#   day#NAME#YYYY-MM-DD       a counter's day (UTC): `count`, `visitors`
#   visitor#YYYY-MM-DD#HASH   that a visitor was counted on a counter that day: a keyed
#                             hash of (counter, IP, User-Agent) under the day's salt,
#                             never an address; only `ttl`
#   salt                      the day's salt: `day`, `salt` (32 random bytes), `ttl`
#   idem#SHA256               an Idempotency-Key's record, `ttl` 24 hours on
#   registry, site#...        the whole site's totals and days (version 3)
#
# Counter items also carry `list` = "counter" and `name`, the keys of the sparse
# global secondary index `counters` (keys only): GET /counters and the dashboard read
# a page of the list from it with one Query, instead of scanning the table. Adding the
# index to an existing table is an update in place (UpdateTable), not a replacement;
# `visitor-counter counters reindex` then puts the counters a version 2 table already
# has into it (docs/deploy.md, "Upgrading a version 2 stack").
#
# Markers and salts carry `ttl` (epoch seconds, two days on): DynamoDB deletes an item
# whose `ttl` has passed, in the background, usually within a few days and not at that
# second, so TTL is the clean-up and not the deadline. Counters and days have no `ttl`
# and stay. Only keys are declared (the table's, and the index's below): the other
# attributes need no schema.
#
# The service's store (service/src/store/dynamodb.rs: HASH_KEY, KEY_PATTERNS,
# TTL_ATTRIBUTE, COUNTER_INDEX, LIST_ATTRIBUTE, NAME_ATTRIBUTE) names the key, the
# items, the TTL attribute and the index, and service/tests/infra.rs fails when this
# table and that code disagree.
locals {
  counter_index = "counters"
}

resource "aws_dynamodb_table" "counter" {
  name         = local.name
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "id"

  attribute {
    name = "id"
    type = "S"
  }

  # The index's keys. Declaring them changes nothing for the table's own key.
  attribute {
    name = "list"
    type = "S"
  }

  attribute {
    name = "name"
    type = "S"
  }

  global_secondary_index {
    name            = local.counter_index
    hash_key        = "list"
    range_key       = "name"
    projection_type = "KEYS_ONLY"
  }

  # Turning TTL on changes the table in place; the key schema above is v1's, so a v1
  # table is kept, with its count, and nothing is replaced.
  ttl {
    attribute_name = "ttl"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  # Encrypted with the AWS managed key (aws/dynamodb); see the checkov skip below.
  server_side_encryption {
    enabled = true
  }

  deletion_protection_enabled = true

  lifecycle {
    # The counts are the one thing here that cannot be rebuilt: a plan that would
    # destroy the table fails instead (see "Tear down" in docs/deploy.md).
    prevent_destroy = true
  }

  # checkov:skip=CKV_AWS_119:A customer managed KMS key costs $1/month, more than the rest of the stack at rest, to protect a few counters; the table is encrypted with the AWS managed key.
}
