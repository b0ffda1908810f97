output "api_base_url" {
  description = "Base URL of the API (the $default stage serves it at the root), without a trailing slash."
  value       = trimsuffix(aws_apigatewayv2_stage.default.invoke_url, "/")
}

output "count_url" {
  description = "The counter: GET reads it, POST counts a visit."
  value       = "${trimsuffix(aws_apigatewayv2_stage.default.invoke_url, "/")}/count"
}

output "embed_script_url" {
  description = "The embed script: <script async src=\"THIS\" data-counter=\"home\"></script> counts a page load and shows the numbers."
  value       = "${trimsuffix(aws_apigatewayv2_stage.default.invoke_url, "/")}/counter.js"
}

output "dashboard_url" {
  description = "Every counter on one page (a 404 when var.dashboard is false), behind the password in dashboard_password_parameter."
  value       = "${trimsuffix(aws_apigatewayv2_stage.default.invoke_url, "/")}/dashboard"
}

output "dashboard_password_parameter" {
  description = "SSM parameter holding the password of /dashboard and GET /counters (HTTP Basic, any user name). Read it with: aws ssm get-parameter --with-decryption --query Parameter.Value --output text --name THIS"
  value       = aws_ssm_parameter.dashboard_password.name
}

output "e2e_origin" {
  description = "The origin the post-deploy check sends (the first of allowed_origins; null when allowed_origins is [\"*\"], which the check cannot use). scripts/deploy and the Deploy workflow use it unless E2E_ORIGIN is set."
  value       = contains(var.allowed_origins, "*") ? null : var.allowed_origins[0]
}

output "table_name" {
  description = "DynamoDB table holding the count (the function's COUNTER_TABLE)."
  value       = aws_dynamodb_table.counter.name
}

output "function_name" {
  description = "Lambda function the Deploy workflow updates."
  value       = aws_lambda_function.counter.function_name
}

output "alias_name" {
  description = "Alias the API invokes and the Deploy workflow moves."
  value       = aws_lambda_alias.live.name
}

output "alarm_topic_arn" {
  description = "SNS topic every alarm (and the optional budget) notifies."
  value       = aws_sns_topic.alarms.arn
}
