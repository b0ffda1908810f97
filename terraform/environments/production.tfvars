# Backend (supplied by the workflow): key = "visitor-counter/production.tfstate".
environment = "production"
region      = "us-east-1"

# The origins of the site(s) that show the counter. Replace with your own.
allowed_origins = ["https://example.com", "https://www.example.com"]

api_throttling_rate_limit  = 20
api_throttling_burst_limit = 40
log_retention_days         = 30

# alarm_email        = "you@example.com"
# Account-wide, so set in this environment only.
# monthly_budget_usd = 5
