# Version 2 named each route's resource; version 3 makes them all from one map
# (api.tf). These blocks tell Terraform that the routes it already manages are the same
# routes under their new addresses, so an upgrade moves them in its state and changes
# nothing in AWS. They can go once every environment has applied version 3.

moved {
  from = aws_apigatewayv2_route.get_count
  to   = aws_apigatewayv2_route.function["GET /count"]
}

moved {
  from = aws_apigatewayv2_route.options_count
  to   = aws_apigatewayv2_route.function["OPTIONS /count"]
}

moved {
  from = aws_apigatewayv2_route.post_count
  to   = aws_apigatewayv2_route.function["POST /count"]
}

moved {
  from = aws_apigatewayv2_route.any_count
  to   = aws_apigatewayv2_route.function["ANY /count"]
}

moved {
  from = aws_apigatewayv2_route.get_counters
  to   = aws_apigatewayv2_route.function["GET /counters"]
}

moved {
  from = aws_apigatewayv2_route.options_counters
  to   = aws_apigatewayv2_route.function["OPTIONS /counters"]
}

moved {
  from = aws_apigatewayv2_route.any_counters
  to   = aws_apigatewayv2_route.function["ANY /counters"]
}

moved {
  from = aws_apigatewayv2_route.get_counter
  to   = aws_apigatewayv2_route.function["GET /counters/{name}"]
}

moved {
  from = aws_apigatewayv2_route.post_counter
  to   = aws_apigatewayv2_route.function["POST /counters/{name}"]
}

moved {
  from = aws_apigatewayv2_route.options_counter
  to   = aws_apigatewayv2_route.function["OPTIONS /counters/{name}"]
}

moved {
  from = aws_apigatewayv2_route.any_counter
  to   = aws_apigatewayv2_route.function["ANY /counters/{name}"]
}

moved {
  from = aws_apigatewayv2_route.get_counter_days
  to   = aws_apigatewayv2_route.function["GET /counters/{name}/days"]
}

moved {
  from = aws_apigatewayv2_route.options_counter_days
  to   = aws_apigatewayv2_route.function["OPTIONS /counters/{name}/days"]
}

moved {
  from = aws_apigatewayv2_route.any_counter_days
  to   = aws_apigatewayv2_route.function["ANY /counters/{name}/days"]
}

moved {
  from = aws_apigatewayv2_route.get_counter_badge
  to   = aws_apigatewayv2_route.function["GET /counters/{name}/badge.svg"]
}

moved {
  from = aws_apigatewayv2_route.options_counter_badge
  to   = aws_apigatewayv2_route.function["OPTIONS /counters/{name}/badge.svg"]
}

moved {
  from = aws_apigatewayv2_route.any_counter_badge
  to   = aws_apigatewayv2_route.function["ANY /counters/{name}/badge.svg"]
}

moved {
  from = aws_apigatewayv2_route.get_counter_shields
  to   = aws_apigatewayv2_route.function["GET /counters/{name}/shields.json"]
}

moved {
  from = aws_apigatewayv2_route.options_counter_shields
  to   = aws_apigatewayv2_route.function["OPTIONS /counters/{name}/shields.json"]
}

moved {
  from = aws_apigatewayv2_route.any_counter_shields
  to   = aws_apigatewayv2_route.function["ANY /counters/{name}/shields.json"]
}

moved {
  from = aws_apigatewayv2_route.get_embed_script
  to   = aws_apigatewayv2_route.function["GET /counter.js"]
}

moved {
  from = aws_apigatewayv2_route.any_embed_script
  to   = aws_apigatewayv2_route.function["ANY /counter.js"]
}

moved {
  from = aws_apigatewayv2_route.get_dashboard
  to   = aws_apigatewayv2_route.function["GET /dashboard"]
}

moved {
  from = aws_apigatewayv2_route.any_dashboard
  to   = aws_apigatewayv2_route.function["ANY /dashboard"]
}

moved {
  from = aws_apigatewayv2_route.default
  to   = aws_apigatewayv2_route.function["$default"]
}
