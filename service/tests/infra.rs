#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Drift between the infrastructure (`terraform/*.tf`) and the code.
//!
//! `terraform validate` and `plan` need the provider registry, so they run only in the
//! workflows; these tests read the HCL itself and fail, naming the file to fix, when the
//! stack stops matching what the service and the contract expect:
//! - the table's hash key is the store's `HASH_KEY` (a String);
//! - the function's environment variables are exactly the ones the config reads;
//! - the API's method routes are the operations of `contracts/openapi.json`;
//! - the function's role may call exactly the store's DynamoDB `OPERATIONS`, on the
//!   counter item (`COUNTER_ID`) of this table;
//! - one CORS implementation, the function's: no `cors_configuration` on the API, every
//!   preflight of the contract routed to the function, whose `ALLOWED_ORIGINS` is the one
//!   origins variable (no default).

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use hcl::expr::{Operation, TemplateExpr, TraversalOperator};
use hcl::template::{Element, Template};
use hcl::{Block, Body, Expression, ObjectKey};
use pretty_assertions::assert_eq;
use visitor_counter::config::{ALLOWED_ORIGINS, COUNTER_TABLE, FUNCTION_VARIABLES};
use visitor_counter::store::dynamodb::{COUNT_ATTRIBUTE, COUNTER_ID, HASH_KEY, OPERATIONS};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The top-level blocks of the stack's `.tf` files (terraform/, not its bootstrap/),
/// each with the file it came from.
struct Stack {
    blocks: Vec<(String, Block)>,
}

impl Stack {
    fn load() -> Self {
        let dir = repo_root().join("terraform");
        let mut files: Vec<PathBuf> = fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "tf"))
            .collect();
        files.sort();
        assert!(!files.is_empty(), "no .tf files in {}", dir.display());

        let mut blocks = Vec::new();
        for path in files {
            let name = format!("terraform/{}", path.file_name().unwrap().to_string_lossy());
            let text =
                fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {name}: {e}"));
            let body: Body =
                hcl::parse(&text).unwrap_or_else(|e| panic!("{name} is not valid HCL: {e}"));
            blocks.extend(body.into_blocks().map(|block| (name.clone(), block)));
        }
        Self { blocks }
    }

    /// Every `kind "type" "name" { ... }` block (kind: resource or data) of a type.
    fn all(&self, kind: &str, ty: &str) -> Vec<Found<'_>> {
        self.blocks
            .iter()
            .filter(|(_, block)| {
                block.identifier() == kind
                    && block.labels().first().map(|label| label.as_str()) == Some(ty)
            })
            .map(|(file, block)| Found {
                address: format!(
                    "{}{ty}.{}",
                    if kind == "data" { "data." } else { "" },
                    block.labels()[1].as_str()
                ),
                name: block.labels()[1].as_str(),
                file,
                body: block.body(),
            })
            .collect()
    }

    fn resources(&self, ty: &str) -> Vec<Found<'_>> {
        self.all("resource", ty)
    }

    /// The one resource of a type; the tests below assume one table, function, API.
    fn only_resource(&self, ty: &str) -> Found<'_> {
        let mut found = self.resources(ty);
        assert_eq!(
            found.len(),
            1,
            "expected exactly one {ty} in terraform/*.tf, found {:?}",
            found.iter().map(|f| &f.address).collect::<Vec<_>>()
        );
        found.pop().unwrap()
    }

    /// The `variable "name" { ... }` block.
    fn variable(&self, name: &str) -> Found<'_> {
        self.blocks
            .iter()
            .find(|(_, block)| {
                block.identifier() == "variable"
                    && block.labels().first().map(|label| label.as_str()) == Some(name)
            })
            .map(|(file, block)| Found {
                address: format!("var.{name}"),
                name: block.labels()[0].as_str(),
                file,
                body: block.body(),
            })
            .unwrap_or_else(|| panic!("no variable \"{name}\" in terraform/*.tf"))
    }

    fn data(&self, ty: &str, name: &str) -> Found<'_> {
        self.all("data", ty)
            .into_iter()
            .find(|found| found.name == name)
            .unwrap_or_else(|| panic!("no data source data.{ty}.{name} in terraform/*.tf"))
    }
}

/// One resource or data block, with where it is for the failure messages.
struct Found<'a> {
    address: String,
    name: &'a str,
    file: &'a str,
    body: &'a Body,
}

impl Found<'_> {
    fn attr(&self, key: &str) -> &Expression {
        attr(self.body, key)
            .unwrap_or_else(|| panic!("{} ({}) has no `{key}`", self.address, self.file))
    }

    fn block(&self, ident: &str) -> &Body {
        blocks(self.body, ident)
            .next()
            .unwrap_or_else(|| panic!("{} ({}) has no `{ident}` block", self.address, self.file))
    }
}

fn attr<'a>(body: &'a Body, key: &str) -> Option<&'a Expression> {
    body.attributes().find(|a| a.key() == key).map(|a| a.expr())
}

fn blocks<'a>(body: &'a Body, ident: &str) -> std::vec::IntoIter<&'a Body> {
    body.blocks()
        .filter(|b| b.identifier() == ident)
        .map(|b| b.body())
        .collect::<Vec<_>>()
        .into_iter()
}

/// A literal string (not a template, not a reference).
fn literal(expr: &Expression, what: &str) -> String {
    match expr {
        Expression::String(s) => s.clone(),
        other => panic!("{what} should be a literal string, found `{other}`"),
    }
}

/// A list of literal strings.
fn literals(expr: &Expression, what: &str) -> BTreeSet<String> {
    match expr {
        Expression::Array(items) => items.iter().map(|item| literal(item, what)).collect(),
        other => panic!("{what} should be a list of literal strings, found `{other}`"),
    }
}

/// The keys of an object expression (`{ A = ..., "B" = ... }`).
fn object_keys(expr: &Expression, what: &str) -> BTreeSet<String> {
    match expr {
        Expression::Object(object) => object
            .keys()
            .map(|key| match key {
                ObjectKey::Identifier(ident) => ident.to_string(),
                ObjectKey::Expression(Expression::String(s)) => s.clone(),
                ObjectKey::Expression(other) => panic!("{what}: a computed key `{other}`"),
                other => panic!("{what}: an unexpected key `{other:?}`"),
            })
            .collect(),
        other => panic!("{what} should be an object, found `{other}`"),
    }
}

fn object_value<'a>(expr: &'a Expression, key: &str, what: &str) -> &'a Expression {
    let Expression::Object(object) = expr else {
        panic!("{what} should be an object, found `{expr}`");
    };
    object
        .iter()
        .find(|(k, _)| match k {
            ObjectKey::Identifier(ident) => ident.as_str() == key,
            ObjectKey::Expression(Expression::String(s)) => s == key,
            _ => false,
        })
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("{what} has no key {key}"))
}

/// Every reference an expression makes, as written: `var.allowed_origins`,
/// `aws_dynamodb_table.counter.arn`, `data.aws_iam_policy_document.function.json`.
fn references(expr: &Expression) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    collect_references(expr, &mut found);
    found
}

fn collect_references(expr: &Expression, found: &mut BTreeSet<String>) {
    match expr {
        Expression::Variable(variable) => {
            found.insert(variable.to_string());
        }
        Expression::Traversal(traversal) => {
            if let Expression::Variable(root) = &traversal.expr {
                let mut path = root.to_string();
                for operator in &traversal.operators {
                    match operator {
                        TraversalOperator::GetAttr(ident) => {
                            path.push('.');
                            path.push_str(ident.as_str());
                        }
                        _ => break,
                    }
                }
                found.insert(path);
            } else {
                collect_references(&traversal.expr, found);
            }
            for operator in &traversal.operators {
                if let TraversalOperator::Index(index) = operator {
                    collect_references(index, found);
                }
            }
        }
        Expression::Array(items) => items
            .iter()
            .for_each(|item| collect_references(item, found)),
        Expression::Object(object) => {
            for (key, value) in object {
                if let ObjectKey::Expression(key) = key {
                    collect_references(key, found);
                }
                collect_references(value, found);
            }
        }
        Expression::TemplateExpr(template) => collect_template_references(template, found),
        Expression::FuncCall(call) => call
            .args
            .iter()
            .for_each(|arg| collect_references(arg, found)),
        Expression::Parenthesis(inner) => collect_references(inner, found),
        Expression::Conditional(cond) => {
            collect_references(&cond.cond_expr, found);
            collect_references(&cond.true_expr, found);
            collect_references(&cond.false_expr, found);
        }
        Expression::Operation(operation) => match operation.as_ref() {
            Operation::Unary(op) => collect_references(&op.expr, found),
            Operation::Binary(op) => {
                collect_references(&op.lhs_expr, found);
                collect_references(&op.rhs_expr, found);
            }
        },
        Expression::ForExpr(for_expr) => {
            collect_references(&for_expr.collection_expr, found);
            if let Some(key) = &for_expr.key_expr {
                collect_references(key, found);
            }
            collect_references(&for_expr.value_expr, found);
            if let Some(cond) = &for_expr.cond_expr {
                collect_references(cond, found);
            }
        }
        Expression::Null | Expression::Bool(_) | Expression::Number(_) | Expression::String(_) => {}
        // Expression is non-exhaustive; anything new is a construct these files do not use.
        _ => {}
    }
}

fn collect_template_references(template: &TemplateExpr, found: &mut BTreeSet<String>) {
    let template =
        Template::from_expr(template).unwrap_or_else(|e| panic!("template `{template}`: {e}"));
    for element in template.elements() {
        if let Element::Interpolation(interpolation) = element {
            collect_references(&interpolation.expr, found);
        }
    }
}

/// The `var.*` references of an expression.
fn variables(expr: &Expression) -> BTreeSet<String> {
    references(expr)
        .into_iter()
        .filter(|r| r.starts_with("var."))
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn the_table_is_keyed_as_the_store_reads_it() {
    let stack = Stack::load();
    let table = stack.only_resource("aws_dynamodb_table");

    assert_eq!(
        literal(table.attr("hash_key"), "the table's hash_key"),
        HASH_KEY,
        "{}: the table's hash key is not the store's HASH_KEY (service/src/store/dynamodb.rs)",
        table.file
    );
    assert!(
        attr(table.body, "range_key").is_none(),
        "{}: the store addresses the counter by hash key alone; a range_key would make every GetItem/UpdateItem fail",
        table.file
    );

    // The only attribute definitions are the key's: `id` as a String. The counter's
    // COUNT_ATTRIBUTE is a plain Number attribute (ADD needs a non-key attribute) and
    // must not be declared here.
    let declared: BTreeSet<(String, String)> = blocks(table.body, "attribute")
        .map(|attribute| {
            (
                literal(
                    attr(attribute, "name").expect("attribute without name"),
                    "attribute name",
                ),
                literal(
                    attr(attribute, "type").expect("attribute without type"),
                    "attribute type",
                ),
            )
        })
        .collect();
    assert_eq!(
        declared,
        BTreeSet::from([(HASH_KEY.to_owned(), "S".to_owned())]),
        "{}: the table should declare exactly its hash key {HASH_KEY:?} as a String (S); {COUNT_ATTRIBUTE:?} is a non-key Number",
        table.file
    );
}

#[test]
fn the_function_gets_exactly_the_variables_the_config_reads() {
    let stack = Stack::load();
    let function = stack.only_resource("aws_lambda_function");
    let variables_expr = attr(function.block("environment"), "variables")
        .unwrap_or_else(|| panic!("{}: environment has no variables", function.file));

    assert_eq!(
        object_keys(variables_expr, "the function's environment variables"),
        set(FUNCTION_VARIABLES),
        "{}: the function's environment variables differ from visitor_counter::config::FUNCTION_VARIABLES",
        function.file
    );

    // The table name comes from the table resource, never a hard-coded string.
    let table = stack.only_resource("aws_dynamodb_table");
    let table_name = format!("{}.name", table.address);
    assert!(
        references(object_value(variables_expr, COUNTER_TABLE, "environment"))
            .contains(&table_name),
        "{}: {COUNTER_TABLE} should be {table_name}",
        function.file
    );
}

/// The paths of `contracts/openapi.json`, each with its operations as route keys
/// (`GET /count`, `OPTIONS /count`, ...).
fn contract_operations() -> Vec<(String, BTreeSet<String>)> {
    const METHODS: &[&str] = &[
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];

    let contract_path = repo_root().join("contracts/openapi.json");
    let contract: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(&contract_path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", contract_path.display())),
    )
    .unwrap_or_else(|e| panic!("contracts/openapi.json is not JSON: {e}"));
    let paths = contract["paths"]
        .as_object()
        .expect("contracts/openapi.json has no `paths` object");
    paths
        .iter()
        .map(|(path, item)| {
            let operations = item
                .as_object()
                .into_iter()
                .flat_map(|ops| ops.keys())
                .filter(|key| METHODS.contains(&key.as_str()))
                .map(|method| format!("{} {path}", method.to_uppercase()))
                .collect();
            (path.clone(), operations)
        })
        .collect()
}

#[test]
fn the_apis_routes_are_the_contracts_operations() {
    let paths = contract_operations();
    // Every operation, OPTIONS (the CORS preflight) included: the function answers them all.
    let operations: BTreeSet<String> = paths
        .iter()
        .flat_map(|(_, operations)| operations.iter().cloned())
        .collect();
    assert!(
        !operations.is_empty(),
        "contracts/openapi.json has no operations"
    );

    let stack = Stack::load();
    let routes = stack.resources("aws_apigatewayv2_route");
    let route_keys: Vec<(String, &Found<'_>)> = routes
        .iter()
        .map(|route| (literal(route.attr("route_key"), "route_key"), route))
        .collect();
    let method_routes: BTreeSet<String> = route_keys
        .iter()
        .map(|(key, _)| key.clone())
        .filter(|key| key != "$default" && !key.starts_with("ANY "))
        .collect();
    assert_eq!(
        method_routes, operations,
        "terraform/api.tf: the API's method routes differ from the operations of contracts/openapi.json"
    );

    // Every other method on a contract path, and every other path, must reach the
    // function too, or API Gateway answers with its own non-problem 404.
    let keys: BTreeSet<&str> = route_keys.iter().map(|(key, _)| key.as_str()).collect();
    for (path, _) in &paths {
        assert!(
            keys.contains(format!("ANY {path}").as_str()),
            "terraform/api.tf: no `ANY {path}` route: the function's 405 problem for other methods would never be seen"
        );
    }
    assert!(
        keys.contains("$default"),
        "terraform/api.tf: no `$default` route: the function's 404 problem for unknown paths would never be seen"
    );

    // All of them go to the one integration, which invokes the alias with payload 2.0.
    let integration = stack.only_resource("aws_apigatewayv2_integration");
    let target = format!("{}.id", integration.address);
    for (key, route) in &route_keys {
        assert!(
            references(route.attr("target")).contains(&target),
            "{}: route {key:?} should target {}",
            route.file,
            integration.address
        );
    }
    assert_eq!(
        literal(integration.attr("integration_type"), "integration_type"),
        "AWS_PROXY"
    );
    assert_eq!(
        literal(
            integration.attr("payload_format_version"),
            "payload_format_version"
        ),
        "2.0",
        "{}: the service reads API Gateway HTTP API payload 2.0 events",
        integration.file
    );
    let alias = stack.only_resource("aws_lambda_alias");
    assert_eq!(
        references(integration.attr("integration_uri")),
        set(&[&format!("{}.invoke_arn", alias.address)]),
        "{}: the API must invoke the alias the Deploy workflow moves, not the function",
        integration.file
    );
}

#[test]
fn the_function_may_call_exactly_the_stores_dynamodb_operations() {
    let stack = Stack::load();
    let function = stack.only_resource("aws_lambda_function");
    let table = stack.only_resource("aws_dynamodb_table");

    // function.role = aws_iam_role.X.arn; aws_iam_role_policy.* with role = aws_iam_role.X
    // carry the policies; each is data.aws_iam_policy_document.Y.json.
    let role_refs: Vec<String> = references(function.attr("role"))
        .into_iter()
        .filter(|r| r.starts_with("aws_iam_role.") && r.ends_with(".arn"))
        .collect();
    assert_eq!(
        role_refs.len(),
        1,
        "{}: role should be one aws_iam_role's arn",
        function.file
    );
    let role = role_refs[0].trim_end_matches(".arn").to_owned();

    let attached = |ty: &str| -> Vec<Found<'_>> {
        stack
            .resources(ty)
            .into_iter()
            .filter(|p| {
                references(p.attr("role"))
                    .iter()
                    .any(|r| *r == format!("{role}.id") || *r == format!("{role}.name"))
            })
            .collect()
    };
    assert!(
        attached("aws_iam_role_policy_attachment").is_empty(),
        "terraform/iam.tf: a managed policy is attached to {role}; its grants cannot be checked here"
    );
    let inline = attached("aws_iam_role_policy");
    assert!(
        !inline.is_empty(),
        "terraform/iam.tf: no aws_iam_role_policy on {role}"
    );

    let expected_actions: BTreeSet<String> = OPERATIONS
        .iter()
        .map(|op| format!("dynamodb:{op}"))
        .collect();
    let table_arn = format!("{}.arn", table.address);
    let mut dynamodb_actions = BTreeSet::new();

    for policy in &inline {
        let documents: Vec<String> = references(policy.attr("policy"))
            .into_iter()
            .filter(|r| r.starts_with("data.aws_iam_policy_document.") && r.ends_with(".json"))
            .collect();
        assert_eq!(
            documents.len(),
            1,
            "{}: {}'s policy should be one aws_iam_policy_document's json",
            policy.file,
            policy.address
        );
        let name = documents[0].split('.').nth(2).unwrap();
        let document = stack.data("aws_iam_policy_document", name);

        for statement in blocks(document.body, "statement") {
            let actions = literals(
                attr(statement, "actions").expect("a statement without actions"),
                "actions",
            );
            let on_table: BTreeSet<String> = actions
                .into_iter()
                .filter(|a| a.starts_with("dynamodb:"))
                .collect();
            if on_table.is_empty() {
                continue;
            }
            assert!(
                attr(statement, "effect").is_none_or(|e| literal(e, "effect") == "Allow"),
                "{}: deny statements are not expected in the function's policy",
                document.file
            );
            let resources = attr(statement, "resources").expect("a statement without resources");
            assert_eq!(
                references(resources),
                set(&[&table_arn]),
                "{}: the DynamoDB grants should be on {table_arn} only (no index, no other table, no *)",
                document.file
            );
            let Expression::Array(items) = resources else {
                panic!("resources should be a list")
            };
            assert_eq!(
                items.len(),
                1,
                "{}: resources should be [{table_arn}]",
                document.file
            );

            // Only the counter item: the hash key must be the store's COUNTER_ID.
            let leading_keys: Vec<BTreeSet<String>> = blocks(statement, "condition")
                .filter(|c| {
                    attr(c, "variable")
                        .is_some_and(|v| literal(v, "variable") == "dynamodb:LeadingKeys")
                })
                .map(|c| {
                    literals(
                        attr(c, "values").expect("a condition without values"),
                        "values",
                    )
                })
                .collect();
            assert_eq!(
                leading_keys,
                vec![set(&[COUNTER_ID])],
                "{}: the DynamoDB grant should be limited (dynamodb:LeadingKeys) to the counter item {COUNTER_ID:?}",
                document.file
            );

            dynamodb_actions.extend(on_table);
        }
    }

    assert_eq!(
        dynamodb_actions, expected_actions,
        "terraform/iam.tf: the function's DynamoDB actions differ from visitor_counter::store::dynamodb::OPERATIONS"
    );
}

#[test]
fn one_cors_implementation_the_functions() {
    let stack = Stack::load();
    let api = stack.only_resource("aws_apigatewayv2_api");
    let function = stack.only_resource("aws_lambda_function");

    // With a cors_configuration API Gateway answers preflights itself and overwrites the
    // function's CORS headers: the CORS that service/src/cors.rs implements, and the
    // tests exercise, would never reach a browser.
    assert!(
        blocks(api.body, "cors_configuration").next().is_none()
            && attr(api.body, "cors_configuration").is_none(),
        "{}: {} has a cors_configuration; the function is the one CORS implementation (DESIGN.md), so API Gateway must pass every request, preflights included, to it",
        api.file,
        api.address
    );

    // Every preflight the contract declares is a route to the function's integration.
    let integration = stack.only_resource("aws_apigatewayv2_integration");
    let target = format!("{}.id", integration.address);
    let preflights: Vec<String> = contract_operations()
        .into_iter()
        .flat_map(|(_, operations)| operations)
        .filter(|key| key.starts_with("OPTIONS "))
        .collect();
    assert!(
        !preflights.is_empty(),
        "contracts/openapi.json declares no OPTIONS operation: the CORS preflight is part of the contract"
    );
    let routes = stack.resources("aws_apigatewayv2_route");
    for preflight in &preflights {
        let route = routes
            .iter()
            .find(|route| literal(route.attr("route_key"), "route_key") == *preflight)
            .unwrap_or_else(|| {
                panic!("terraform/api.tf: no `{preflight}` route: the function never sees the CORS preflight")
            });
        assert!(
            references(route.attr("target")).contains(&target),
            "{}: route `{preflight}` should target {}, the function's integration",
            route.file,
            integration.address
        );
    }

    // The function's ALLOWED_ORIGINS is the service's comma-separated form of the one
    // origins variable, and that variable has no default, least of all a wildcard: each
    // environment names its own sites.
    let variables_expr = attr(function.block("environment"), "variables").unwrap();
    let allowed = object_value(variables_expr, ALLOWED_ORIGINS, "environment");
    let origins_variables = variables(allowed);
    assert_eq!(
        origins_variables.len(),
        1,
        "{}: {ALLOWED_ORIGINS} should come from one origins variable, found `{allowed}`",
        function.file
    );
    let origins = origins_variables.first().unwrap().clone();
    let joined = matches!(
        allowed,
        Expression::FuncCall(call)
            if call.name.name.as_str() == "join"
                && call.args.len() == 2
                && call.args[0] == Expression::String(",".to_owned())
                && matches!(call.args[1], Expression::Traversal(_))
                && references(&call.args[1]) == set(&[&origins])
    );
    assert!(
        joined,
        "{}: {ALLOWED_ORIGINS} should be join(\",\", {origins}); found `{allowed}`",
        function.file
    );
    let variable = stack.variable(origins.trim_start_matches("var."));
    assert!(
        attr(variable.body, "default").is_none(),
        "{}: {origins} has a default (`{}`); an origins list must be chosen per environment, never a wildcard by default",
        variable.file,
        attr(variable.body, "default").unwrap()
    );
}
