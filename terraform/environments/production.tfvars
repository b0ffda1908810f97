# Backend (scripts/deploy and the workflows supply it): key = "visitor-counter/production.tfstate".
environment = "production"
region      = "us-east-1"

# The origins of the site(s) that show the counter. Replace with your own.
allowed_origins = ["https://example.com", "https://www.example.com"]

api_throttling_rate_limit  = 20
api_throttling_burst_limit = 40
log_retention_days         = 30

# The cost guard, required in production: the alarms and the budget mail this address
# (accept AWS's confirmation mail first). Replace it with your own.
alarm_email = "you@example.com"
# A monthly budget for the whole account (budgets are account-wide, so only production
# sets one): alerts at 80% forecast and 100% actual. The stack costs about $0.30 a
# month at rest and $3.34 per million visits (docs/deploy.md), so $10 speaks up long
# before a surprise.
monthly_budget_usd = 10
