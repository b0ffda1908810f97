# Backend (scripts/deploy and the workflows supply it): key = "visitor-counter/staging.tfstate".
environment = "staging"
region      = "us-east-1"

# The origins of the site(s) that show the counter. Replace with your own.
allowed_origins = ["https://staging.example.com"]

# Sized for the post-deploy check, which runs here in full mode after every deploy:
# about 27 requests within 1-3 s, 8 of them POSTs sent at once (`--burst 8`). At
# 5/s with a burst of 10, API Gateway would answer part of that run with its own 429
# (not a problem+json), the check would fail and every deploy would roll back before
# production. A burst of 100 takes a whole run at once, with room for a retry of it
# and a tester's curl alongside; 50/s refills that in 2 s. The ceiling it sets on
# abuse: 50/s is at most 4.3 M requests a day, about $9 at the per-million cost in
# docs/deploy.md, and the 4xx alarm and the budget speak up long before that.
api_throttling_rate_limit  = 50
api_throttling_burst_limit = 100
log_retention_days         = 14

# alarm_email = "you@example.com"
