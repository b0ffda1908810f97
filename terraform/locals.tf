locals {
  # Every resource name starts with this, so staging and production can share an
  # account, and the bootstrap's roles can be scoped to one environment's names.
  name = "visitor-counter-${var.environment}"

  # The alias the API invokes and the Deploy workflow moves (`update-alias --name live`).
  alias_name = "live"
}
