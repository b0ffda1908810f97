# Backend (supplied by the workflow): key = "visitor-counter/staging.tfstate".
environment = "staging"
region      = "us-east-1"

# The origins of the site(s) that show the counter. Replace with your own.
allowed_origins = ["https://staging.example.com"]

api_throttling_rate_limit  = 5
api_throttling_burst_limit = 10
log_retention_days         = 14

# alarm_email = "you@example.com"
