variable "environment" {
  description = "Environment name (staging, production). Prefixes every resource name so several environments can share one AWS account; the bootstrap's apply and deploy roles are scoped to the names it lists."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,19}$", var.environment))
    error_message = "environment must be 2-20 characters of a-z, 0-9 and '-', starting with a letter."
  }
}

variable "region" {
  description = "AWS region to deploy into."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as us-east-1."
  }
}

variable "tags" {
  description = "Extra tags for every resource (added to the provider's default tags)."
  type        = map(string)
  default     = {}
}

variable "allowed_origins" {
  description = "Browser origins allowed to call the API cross-origin, e.g. [\"https://example.com\"]; exactly [\"*\"] allows any origin (and fails the post-deploy check, which expects its origin echoed). Becomes the function's ALLOWED_ORIGINS: the function is the API's one CORS implementation. No default: every environment names its own sites."
  type        = list(string)

  validation {
    condition = length(var.allowed_origins) > 0 && (
      var.allowed_origins == tolist(["*"]) ||
      alltrue([for origin in var.allowed_origins : can(regex("^https://[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?$", origin))])
    )
    error_message = "allowed_origins must be a non-empty list of lower-case https:// origins (scheme://host[:port], no path or trailing slash), or exactly [\"*\"]."
  }
}

variable "counters" {
  description = "The counters the API may count and show: comma-separated names and prefix* patterns (\"home,blog-*\": home and every name starting blog-), no spaces; \"*\" alone or \"\" (the default) allows every valid name. `site` (GET/POST /count) is always allowed. A name is 1 to 64 characters of a-z, 0-9, '.', '_' and '-', starting and ending with a letter or digit; any other name is the API's 404 unknown-counter. Becomes the function's COUNTERS."
  type        = string
  default     = ""
  nullable    = false

  validation {
    condition = var.counters == "" || var.counters == "*" || alltrue([
      for entry in split(",", var.counters) :
      can(regex("^[a-z0-9]([a-z0-9._-]{0,62}[a-z0-9])?$", entry)) || can(regex("^[a-z0-9][a-z0-9._-]{0,63}[*]$", entry))
    ])
    error_message = "counters must be \"\" or \"*\" (every valid name), or comma-separated entries without spaces, each a counter name (1-64 characters of a-z, 0-9, '.', '_', '-', first and last a letter or digit) or a prefix of one followed by '*' (e.g. \"home,blog-*\")."
  }
}

variable "dashboard" {
  description = "Whether the API serves GET /dashboard, one HTML page with every counter and its last 30 days (the same numbers GET /counters already shows). false makes it a 404. Becomes the function's DASHBOARD (on or off)."
  type        = bool
  default     = true
  nullable    = false
}

variable "views_per_visitor" {
  description = "The most views one visitor counts on one counter in one UTC day; further POSTs are answered with the totals, counted as `limited` and not as views. Becomes the function's VIEWS_PER_VISITOR."
  type        = number
  default     = 50
  nullable    = false

  validation {
    condition     = var.views_per_visitor >= 1 && floor(var.views_per_visitor) == var.views_per_visitor
    error_message = "views_per_visitor must be a whole number >= 1."
  }
}

variable "max_counters" {
  description = "The most counters the table may hold; a POST that would create one more is refused, so a flood of made-up names cannot grow the table (or the dashboard) without bound. Becomes the function's MAX_COUNTERS."
  type        = number
  default     = 10000
  nullable    = false

  validation {
    condition     = var.max_counters >= 1 && floor(var.max_counters) == var.max_counters
    error_message = "max_counters must be a whole number >= 1."
  }
}

# --- Function ---------------------------------------------------------------

variable "lambda_memory_mb" {
  description = "Memory of the function in MB (CPU scales with it)."
  type        = number
  default     = 128

  validation {
    condition     = var.lambda_memory_mb >= 128 && var.lambda_memory_mb <= 10240 && floor(var.lambda_memory_mb) == var.lambda_memory_mb
    error_message = "lambda_memory_mb must be a whole number from 128 to 10240."
  }
}

variable "lambda_timeout_seconds" {
  description = "Function timeout in seconds. Must stay above the service's own storage timeouts (2.5 s), so that a slow DynamoDB becomes the service's 503 problem and not a Lambda timeout."
  type        = number
  default     = 5

  validation {
    condition     = var.lambda_timeout_seconds >= 3 && var.lambda_timeout_seconds <= 29 && floor(var.lambda_timeout_seconds) == var.lambda_timeout_seconds
    error_message = "lambda_timeout_seconds must be a whole number from 3 (above the service's 2.5 s storage timeouts) to 29 (below API Gateway's 30 s integration timeout)."
  }
}

variable "lambda_reserved_concurrency" {
  description = "Reserved concurrent executions for the function, or null for none (the default: new AWS accounts have a total of 10, and reserving some can make the deploy fail)."
  type        = number
  default     = null

  validation {
    condition     = var.lambda_reserved_concurrency == null || try(var.lambda_reserved_concurrency >= 1 && floor(var.lambda_reserved_concurrency) == var.lambda_reserved_concurrency, false)
    error_message = "lambda_reserved_concurrency must be null or a whole number >= 1 (0 would stop the function)."
  }
}

variable "log_level" {
  description = "Lowest level of the function's own (application) log lines that Lambda keeps."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"], var.log_level)
    error_message = "log_level must be one of TRACE, DEBUG, INFO, WARN, ERROR, FATAL."
  }
}

variable "system_log_level" {
  description = "Lowest level of Lambda's platform log lines (START/END/REPORT are INFO). WARN keeps errors and drops three lines per request, which is most of the log bill."
  type        = string
  default     = "WARN"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARN"], var.system_log_level)
    error_message = "system_log_level must be one of DEBUG, INFO, WARN."
  }
}

variable "log_retention_days" {
  description = "How long CloudWatch keeps the function's logs and the API's access logs."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)."
  }
}

# --- API --------------------------------------------------------------------

variable "api_throttling_rate_limit" {
  description = "Steady-state requests per second the API stage accepts before answering 429."
  type        = number
  default     = 20

  validation {
    condition     = var.api_throttling_rate_limit > 0
    error_message = "api_throttling_rate_limit must be positive."
  }
}

variable "api_throttling_burst_limit" {
  description = "Burst of requests the API stage accepts above the steady rate."
  type        = number
  default     = 40

  validation {
    condition     = var.api_throttling_burst_limit > 0 && floor(var.api_throttling_burst_limit) == var.api_throttling_burst_limit
    error_message = "api_throttling_burst_limit must be a positive whole number."
  }
}

# --- Monitoring -------------------------------------------------------------

variable "alarms" {
  description = "Which CloudWatch alarms to create. \"basic\" (the default): API 5xx and the API's 4xx rate, 3 alarm metrics, $0.30 a month; every failure of the function or of DynamoDB reaches clients as a 5xx, so this one alarm hears them all. \"detailed\" adds function errors, function throttles and DynamoDB throttled requests per operation, which say which part failed: 10 alarm metrics, $1.00 a month. \"off\": none (the topic and the budget stay). CloudWatch's free tier covers 10 alarm metrics per account."
  type        = string
  default     = "basic"
  nullable    = false

  validation {
    condition     = contains(["basic", "detailed", "off"], var.alarms)
    error_message = "alarms must be \"basic\", \"detailed\" or \"off\"."
  }
}

variable "alarm_email" {
  description = "E-mail address subscribed to the alarm topic, or null for none. Required in production, so that its alarms and budget reach someone. AWS sends a confirmation mail that must be accepted."
  type        = string
  default     = null

  validation {
    condition     = var.alarm_email == null || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alarm_email))
    error_message = "alarm_email must be null or an e-mail address."
  }

  validation {
    condition     = var.environment != "production" || var.alarm_email != null
    error_message = "production needs alarm_email: without a subscriber its alarms and its budget alert nobody (set it in environments/production.tfvars)."
  }
}

variable "monthly_budget_usd" {
  description = "Monthly AWS cost budget for the whole account in USD, or null for none. It alerts the alarm topic at 80% forecast and 100% actual. Budgets are account-wide: production sets it (required there), other environments leave it null."
  type        = number
  default     = null

  validation {
    condition     = var.monthly_budget_usd == null || try(var.monthly_budget_usd > 0, false)
    error_message = "monthly_budget_usd must be null or a positive amount."
  }

  validation {
    condition     = var.environment != "production" || var.monthly_budget_usd != null
    error_message = "production needs monthly_budget_usd, the account's cost guard (set it in environments/production.tfvars; docs/deploy.md suggests 10)."
  }
}

variable "api_4xx_alarm_percent" {
  description = "The 4xx alarm fires when more than this percentage of the API's requests in 5 minutes were answered 4xx, 429 (the stage's throttle) included."
  type        = number
  default     = 20

  validation {
    condition     = var.api_4xx_alarm_percent > 0 && var.api_4xx_alarm_percent < 100
    error_message = "api_4xx_alarm_percent must be between 0 and 100."
  }
}

variable "api_4xx_alarm_min_requests" {
  description = "Below this many requests in 5 minutes the 4xx alarm stays quiet: a post-deploy check (27 requests, a quarter of them answered 4xx on purpose) or a lone scanner is not an incident."
  type        = number
  default     = 100

  validation {
    condition     = var.api_4xx_alarm_min_requests >= 1 && floor(var.api_4xx_alarm_min_requests) == var.api_4xx_alarm_min_requests
    error_message = "api_4xx_alarm_min_requests must be a whole number >= 1."
  }
}
