#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Drift between the infrastructure (`terraform/*.tf` and `terraform/bootstrap/*.tf`)
//! and the code, the contract and the design.
//!
//! Two layers. `terraform test` (terraform/tests/, run offline by scripts/test-terraform
//! from scripts/check-terraform) plans every environment with a mocked provider and
//! compares the plan with facts written in its test file; the last test here compares
//! those facts with the code's constants. The tests here read the HCL itself and fail,
//! naming the file to fix, when the stack stops matching what the service and the
//! contract expect:
//! - the table's hash key is still the store's `HASH_KEY`, a String; the only other
//!   attributes declared are the keys of its one index, `COUNTER_INDEX` (keys only);
//!   its TTL is enabled on the store's `TTL_ATTRIBUTE`;
//! - the function's environment variables are exactly the config's `FUNCTION_VARIABLES`,
//!   `COUNTERS` from one variable whose default (`""`) allows every name;
//! - the API's method routes are the operations of `contracts/openapi.json`;
//! - the facts the `terraform test` files assert are the code's;
//! - the function's role holds exactly the IAM actions of the store's DynamoDB
//!   operations (`ACTIONS`), on this table and its index only, written out (no wildcard): the
//!   `KEYED_ACTIONS` in statements limited
//!   by `dynamodb:LeadingKeys` (`ForAllValues:StringLike`) to exactly the store's
//!   `KEY_PATTERNS`, the rest (`Query`, which reads the index and names no item key)
//!   on that index alone, without any condition; and its permissions boundary allows
//!   each of them there;
//! - the DynamoDB throttling alarm adds up `ThrottledRequests` of exactly those
//!   `OPERATIONS`;
//! - one CORS implementation, the function's: no `cors_configuration` on the API, every
//!   preflight of the contract routed to the function, whose `ALLOWED_ORIGINS` is the one
//!   origins variable (no default);
//! - the bootstrap's roles: the plan role (pull requests) only reads; every other role
//!   exists once per environment, is trusted only from that GitHub environment and is
//!   limited to that environment's resources; every grant that creates a role or its
//!   permissions requires the environment's permissions boundary, and every role of the
//!   stack carries it;
//! - `scripts/deploy`, run among fake tools that record their calls: `--dry-run` prints
//!   the whole sequence and runs nothing; a missing tool or credentials are refused
//!   before anything runs; a failed post-deploy check moves `live` back.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use hcl::expr::{Operation, TemplateExpr, TraversalOperator};
use hcl::template::{Element, Template};
use hcl::{Block, Body, Expression, ObjectKey};
use pretty_assertions::assert_eq;
use visitor_counter::config::{ALLOWED_ORIGINS, COUNTER_TABLE, COUNTERS, FUNCTION_VARIABLES};
use visitor_counter::store::dynamodb::{
    ACTIONS, COUNT_ATTRIBUTE, COUNTER_INDEX, HASH_KEY, KEY_PATTERNS, KEYED_ACTIONS, LIST_ATTRIBUTE,
    NAME_ATTRIBUTE, OPERATIONS, TTL_ATTRIBUTE, VISITORS_ATTRIBUTE,
};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The top-level blocks of one Terraform configuration's `.tf` files (the stack in
/// terraform/, or its bootstrap in terraform/bootstrap/), each with the file it came from.
struct Stack {
    dir: &'static str,
    blocks: Vec<(String, Block)>,
}

impl Stack {
    /// The stack: terraform/*.tf.
    fn load() -> Self {
        Self::load_dir("terraform")
    }

    /// The one-time bootstrap: terraform/bootstrap/*.tf (state bucket, OIDC, roles).
    fn bootstrap() -> Self {
        Self::load_dir("terraform/bootstrap")
    }

    fn load_dir(relative: &'static str) -> Self {
        let dir = repo_root().join(relative);
        let mut files: Vec<PathBuf> = fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "tf"))
            .collect();
        files.sort();
        assert!(!files.is_empty(), "no .tf files in {}", dir.display());

        let mut blocks = Vec::new();
        for path in files {
            let name = format!("{relative}/{}", path.file_name().unwrap().to_string_lossy());
            let text =
                fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {name}: {e}"));
            let body: Body =
                hcl::parse(&text).unwrap_or_else(|e| panic!("{name} is not valid HCL: {e}"));
            blocks.extend(body.into_blocks().map(|block| (name.clone(), block)));
        }
        Self {
            dir: relative,
            blocks,
        }
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
            "expected exactly one {ty} in {}/*.tf, found {:?}",
            self.dir,
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
            .unwrap_or_else(|| panic!("no variable \"{name}\" in {}/*.tf", self.dir))
    }

    fn resource(&self, ty: &str, name: &str) -> Found<'_> {
        self.resources(ty)
            .into_iter()
            .find(|found| found.name == name)
            .unwrap_or_else(|| panic!("no resource {ty}.{name} in {}/*.tf", self.dir))
    }

    /// The expression of `local.NAME`, from whichever `locals` block defines it.
    fn local(&self, name: &str) -> (&str, &Expression) {
        self.blocks
            .iter()
            .filter(|(_, block)| block.identifier() == "locals")
            .find_map(|(file, block)| attr(block.body(), name).map(|expr| (file.as_str(), expr)))
            .unwrap_or_else(|| panic!("no local.{name} in {}/*.tf", self.dir))
    }

    fn data(&self, ty: &str, name: &str) -> Found<'_> {
        self.all("data", ty)
            .into_iter()
            .find(|found| found.name == name)
            .unwrap_or_else(|| panic!("no data source data.{ty}.{name} in {}/*.tf", self.dir))
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

/// The text of a string or a template, interpolations as written:
/// `repo:${var.github_repository}:environment:${each.key}`.
fn template(expr: &Expression, what: &str) -> String {
    match expr {
        Expression::String(s) => s.clone(),
        Expression::TemplateExpr(t) => t.to_string(),
        other => panic!("{what} should be a string or a template, found `{other}`"),
    }
}

/// The block a traversal such as `data.aws_iam_policy_document.apply[each.key].json`
/// or `aws_iam_role.apply[each.key].id` names: its address (`data.TYPE.NAME` or
/// `TYPE.NAME`) and its index expression, if any.
fn named_block(expr: &Expression) -> Option<(String, Option<&Expression>)> {
    let Expression::Traversal(traversal) = expr else {
        return None;
    };
    let Expression::Variable(root) = &traversal.expr else {
        return None;
    };
    let mut parts = vec![root.to_string()];
    let mut index = None;
    for operator in &traversal.operators {
        match operator {
            TraversalOperator::GetAttr(ident) if index.is_none() => {
                parts.push(ident.to_string());
            }
            TraversalOperator::Index(expr) if index.is_none() => index = Some(expr),
            _ => break,
        }
    }
    let wanted = if parts[0] == "data" { 3 } else { 2 };
    (parts.len() >= wanted).then(|| (parts[..wanted].join("."), index))
}

/// True when an expression is exactly `each.key`.
fn is_each_key(expr: Option<&Expression>) -> bool {
    expr.is_some_and(|expr| {
        matches!(expr, Expression::Traversal(_)) && references(expr) == set(&["each.key"])
    })
}

/// IAM's wildcard match (`*` any run, `?` one character), case-insensitive as action
/// names are.
fn iam_matches(pattern: &str, action: &str) -> bool {
    fn go(p: &[u8], a: &[u8]) -> bool {
        match (p.first(), a.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], a) || (!a.is_empty() && go(p, &a[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &a[1..]),
            (Some(x), Some(y)) if x.eq_ignore_ascii_case(y) => go(&p[1..], &a[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), action.as_bytes())
}

/// The `statement` blocks of a policy document, with their effect.
fn statements<'a>(document: &Found<'a>) -> Vec<(bool, &'a Body)> {
    blocks(document.body, "statement")
        .map(|statement| {
            let allow = attr(statement, "effect").is_none_or(|e| literal(e, "effect") == "Allow");
            (allow, statement)
        })
        .collect()
}

/// A statement's actions: a list of strings, or a `local.NAME.KEY` that holds one.
fn actions(stack: &Stack, statement: &Body) -> BTreeSet<String> {
    let expr = attr(statement, "actions").expect("a statement without actions");
    if let Expression::Array(_) = expr {
        return literals(expr, "actions");
    }
    let path: Vec<String> = references(expr).into_iter().collect();
    let parts: Vec<&str> = path
        .first()
        .map(|p| p.split('.').collect())
        .unwrap_or_default();
    match (path.len(), parts.as_slice()) {
        (1, ["local", name, key]) => {
            let (file, local) = stack.local(name);
            literals(
                object_value(local, key, &format!("{file}: local.{name}")),
                "actions",
            )
        }
        _ => panic!("actions should be a list of strings or local.NAME.KEY, found `{expr}`"),
    }
}

fn sid(statement: &Body) -> String {
    attr(statement, "sid").map_or_else(|| "(no sid)".to_owned(), |sid| literal(sid, "sid"))
}

/// The `sub` values a trust policy accepts, as written (strings or templates); a value
/// that is neither a list nor a `local.NAME` holding one comes back as its expression.
fn trusted_subjects(stack: &Stack, document: &Found<'_>) -> Vec<String> {
    let mut subjects = Vec::new();
    for (_, statement) in statements(document) {
        for condition in blocks(statement, "condition") {
            let variable = template(attr(condition, "variable").unwrap(), "variable");
            if !variable.ends_with(":sub") {
                continue;
            }
            let mut values = attr(condition, "values").unwrap();
            if let Some(name) = references(values)
                .into_iter()
                .find_map(|r| r.strip_prefix("local.").map(str::to_owned))
                .filter(|_| matches!(values, Expression::Traversal(_)))
            {
                values = stack.local(&name).1;
            }
            match values {
                Expression::Array(values) => {
                    subjects.extend(values.iter().map(|value| template(value, "a sub value")));
                }
                other => subjects.push(other.to_string()),
            }
        }
    }
    subjects
}

/// The roles of the bootstrap that serve one environment each (everything but the
/// shared plan role, whose trust is pull requests only), and the plan roles.
fn bootstrap_roles(bootstrap: &Stack) -> (Vec<Found<'_>>, Vec<Found<'_>>) {
    bootstrap
        .resources("aws_iam_role")
        .into_iter()
        .partition(|role| {
            let (address, _) = named_block(role.attr("assume_role_policy")).unwrap_or_else(|| {
                panic!(
                    "{}: assume_role_policy should be a policy document's json",
                    role.file
                )
            });
            let document = bootstrap.data(
                "aws_iam_policy_document",
                address.trim_start_matches("data.aws_iam_policy_document."),
            );
            let subjects = trusted_subjects(bootstrap, &document);
            subjects.is_empty()
                || !subjects
                    .iter()
                    .all(|subject| subject.ends_with(":pull_request"))
        })
}

/// The inline policies of a bootstrap role, as the policy documents they are made of.
fn role_policies<'a>(bootstrap: &'a Stack, role: &Found<'_>) -> Vec<(Found<'a>, Found<'a>)> {
    bootstrap
        .resources("aws_iam_role_policy")
        .into_iter()
        .filter(|policy| {
            named_block(policy.attr("role")).is_some_and(|(address, _)| address == role.address)
        })
        .map(|policy| {
            let (address, index) = named_block(policy.attr("policy")).unwrap_or_else(|| {
                panic!(
                    "{}: {}'s policy should be a policy document's json",
                    policy.file, policy.address
                )
            });
            assert_eq!(
                is_each_key(index),
                attr(role.body, "for_each").is_some(),
                "{}: {} should use its own environment's document ([each.key])",
                policy.file,
                policy.address
            );
            let document = bootstrap.data(
                "aws_iam_policy_document",
                address.trim_start_matches("data.aws_iam_policy_document."),
            );
            (policy, document)
        })
        .collect()
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

    // The only attribute definitions are the keys': `id`, and the `counters` index's
    // `list` and `name`, all Strings. COUNT_ATTRIBUTE and VISITORS_ATTRIBUTE are plain
    // Number attributes (ADD needs non-key attributes) and TTL_ATTRIBUTE a plain one too:
    // none of them is declared here. Another type for `id` would replace the table and
    // its counts.
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
        BTreeSet::from([
            (HASH_KEY.to_owned(), "S".to_owned()),
            (LIST_ATTRIBUTE.to_owned(), "S".to_owned()),
            (NAME_ATTRIBUTE.to_owned(), "S".to_owned()),
        ]),
        "{}: the table should declare exactly its hash key {HASH_KEY:?} and the index's keys {LIST_ATTRIBUTE:?} and {NAME_ATTRIBUTE:?}, as Strings (S); {COUNT_ATTRIBUTE:?}, {VISITORS_ATTRIBUTE:?} and {TTL_ATTRIBUTE:?} are non-key attributes",
        table.file
    );

    // The list of counters reads one sparse index: COUNTER_INDEX, keyed by
    // LIST_ATTRIBUTE and NAME_ATTRIBUTE, keys only.
    let indexes: Vec<&Body> = blocks(table.body, "global_secondary_index").collect();
    assert_eq!(
        indexes.len(),
        1,
        "{}: {} should have one global_secondary_index, the store's {COUNTER_INDEX:?}",
        table.file,
        table.address
    );
    let index = indexes[0];
    let field = |key: &str| -> String {
        let expr = attr(index, key)
            .unwrap_or_else(|| panic!("{}: the global_secondary_index has no `{key}`", table.file));
        resolve_local(&stack, expr, key)
    };
    assert_eq!(
        (
            field("name"),
            field("hash_key"),
            field("range_key"),
            field("projection_type")
        ),
        (
            COUNTER_INDEX.to_owned(),
            LIST_ATTRIBUTE.to_owned(),
            NAME_ATTRIBUTE.to_owned(),
            "KEYS_ONLY".to_owned()
        ),
        "{}: the index should be the store's COUNTER_INDEX, hash key LIST_ATTRIBUTE, range key NAME_ATTRIBUTE, keys only (service/src/store/dynamodb.rs)",
        table.file
    );
}

/// A literal string, or a `local.NAME` that holds one.
fn resolve_local(stack: &Stack, expr: &Expression, what: &str) -> String {
    if let Expression::Traversal(_) = expr {
        let refs = references(expr);
        if let Some(name) = refs.first().and_then(|r| r.strip_prefix("local.")) {
            let (file, local) = stack.local(name);
            return literal(local, &format!("{file}: local.{name} ({what})"));
        }
    }
    literal(expr, what)
}

#[test]
fn the_table_expires_items_by_the_stores_ttl_attribute() {
    let stack = Stack::load();
    let table = stack.only_resource("aws_dynamodb_table");

    // Visitor markers and salts carry TTL_ATTRIBUTE; without TTL on that attribute they
    // would never be deleted.
    let ttl: Vec<&Body> = blocks(table.body, "ttl").collect();
    assert_eq!(
        ttl.len(),
        1,
        "{}: {} should have one `ttl` block (attribute_name = {TTL_ATTRIBUTE:?}, enabled = true)",
        table.file,
        table.address
    );
    assert_eq!(
        attr(ttl[0], "attribute_name").map(|name| literal(name, "the ttl block's attribute_name")),
        Some(TTL_ATTRIBUTE.to_owned()),
        "{}: the table's TTL attribute is not the store's TTL_ATTRIBUTE (service/src/store/dynamodb.rs)",
        table.file
    );
    assert_eq!(
        attr(ttl[0], "enabled"),
        Some(&Expression::Bool(true)),
        "{}: the table's TTL should be enabled (enabled = true): expired visitor markers and salts would stay",
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

    // COUNTERS is one string variable whose default, "", lets every valid name be
    // counted: an environment limits its counters only by setting it.
    let counters = object_value(variables_expr, COUNTERS, "environment");
    assert!(
        matches!(counters, Expression::Traversal(_)) && variables(counters).len() == 1,
        "{}: {COUNTERS} should be one variable (var.counters), found `{counters}`",
        function.file
    );
    let variable = stack.variable(
        variables(counters)
            .first()
            .unwrap()
            .trim_start_matches("var."),
    );
    assert_eq!(
        attr(variable.body, "default"),
        Some(&Expression::String(String::new())),
        "{}: {}'s default should be \"\" (every valid name may be counted)",
        variable.file,
        variable.address
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

/// The routes api.tf makes: `local.contract_routes` (path => methods) as route keys
/// (`GET /count`, ...), with the file it is in. The one route resource makes a route of
/// each of these, ANY on each path, and `$default` (terraform/tests/ plans them).
fn stack_routes(stack: &Stack) -> (String, BTreeSet<String>) {
    let (file, routes) = stack.local("contract_routes");
    let Expression::Object(object) = routes else {
        panic!("{file}: local.contract_routes should be an object of path = [methods]");
    };
    let keys = object
        .iter()
        .flat_map(|(path, methods)| {
            let path = match path {
                ObjectKey::Expression(Expression::String(path)) => path.clone(),
                other => panic!("{file}: local.contract_routes has a key `{other:?}`, not a path"),
            };
            literals(methods, "local.contract_routes' methods")
                .into_iter()
                .map(move |method| format!("{method} {path}"))
        })
        .collect();
    (file.to_owned(), keys)
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
    let (file, method_routes) = stack_routes(&stack);
    assert_eq!(
        method_routes, operations,
        "{file}: local.contract_routes differs from the operations of contracts/openapi.json"
    );

    // One route resource makes them all, with ANY on every path (the function's 405
    // problem for other methods) and $default (its 404 problem for other paths);
    // without those API Gateway answers with its own non-problem 404.
    let route = stack.only_resource("aws_apigatewayv2_route");
    assert_eq!(
        references(route.attr("for_each")),
        set(&["local.route_keys"]),
        "{}: {} should make one route per key of local.route_keys",
        route.file,
        route.address
    );
    assert_eq!(
        references(route.attr("route_key")),
        set(&["each.key"]),
        "{}: {}'s route_key should be each.key",
        route.file,
        route.address
    );
    let (keys_file, route_keys) = stack.local("route_keys");
    let route_keys = route_keys.to_string();
    for needed in ["\"ANY ${path}\"", "\"$default\"", "local.contract_routes"] {
        assert!(
            route_keys.contains(needed),
            "{keys_file}: local.route_keys should hold {needed} (the ANY route of each path, $default, the contract's routes); it is `{route_keys}`"
        );
    }

    // All of them go to the one integration, which invokes the alias with payload 2.0.
    let integration = stack.only_resource("aws_apigatewayv2_integration");
    let target = format!("{}.id", integration.address);
    assert!(
        references(route.attr("target")).contains(&target),
        "{}: {} should target {}",
        route.file,
        route.address,
        integration.address
    );
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

    let dynamodb = |ops: &[&str]| -> BTreeSet<String> {
        ops.iter().map(|op| format!("dynamodb:{op}")).collect()
    };
    let expected_actions = dynamodb(ACTIONS);
    let keyed_operations = dynamodb(KEYED_ACTIONS);
    assert!(
        keyed_operations.is_subset(&expected_actions),
        "service/src/store/dynamodb.rs: KEYED_ACTIONS {KEYED_ACTIONS:?} should be among ACTIONS {ACTIONS:?}"
    );
    let unkeyed_operations: BTreeSet<String> = expected_actions
        .difference(&keyed_operations)
        .cloned()
        .collect();
    let table_arn = format!("{}.arn", table.address);
    // What the policy grants under a key condition, and without one.
    let mut keyed_actions = BTreeSet::new();
    let mut unkeyed_actions = BTreeSet::new();

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
            let sid = sid(statement);
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
            // The keyed actions on the table itself, Query on the list's index alone:
            // no other index, no other table, no *.
            let resources = attr(statement, "resources").expect("a statement without resources");
            let Expression::Array(items) = resources else {
                panic!(
                    "{}: statement {sid}'s resources should be a list",
                    document.file
                )
            };
            let resources: Vec<String> = items
                .iter()
                .map(|item| {
                    let (_, counter_index) = stack.local("counter_index");
                    let text = match item {
                        Expression::Traversal(_) => format!("${{{item}}}"),
                        other => template(other, "a resource"),
                    };
                    text.replace(
                        "${local.counter_index}",
                        &literal(counter_index, "local.counter_index"),
                    )
                })
                .collect();
            let on_table_arn = vec![format!("${{{table_arn}}}")];
            let on_index = vec![format!("${{{table_arn}}}/index/{COUNTER_INDEX}")];

            let uncalled: BTreeSet<&String> = on_table.difference(&expected_actions).collect();
            assert!(
                uncalled.is_empty(),
                "{}: statement {sid} grants {uncalled:?}, which the store never needs (visitor_counter::store::dynamodb::ACTIONS)",
                document.file
            );

            let conditions: Vec<&Body> = blocks(statement, "condition").collect();
            if on_table.is_subset(&keyed_operations) {
                assert_eq!(
                    resources, on_table_arn,
                    "{}: statement {sid} should grant {on_table:?} on the table alone ({table_arn})",
                    document.file
                );
                // Operations that name their keys: only the store's items, each hash key
                // of the request matching one of KEY_PATTERNS. ForAllValues, so a
                // BatchGetItem with one allowed key cannot read others along with it;
                // StringLike, so `counter#*` is a pattern and not a literal key.
                assert!(
                    conditions.len() == 1
                        && attr(conditions[0], "variable")
                            .is_some_and(|v| literal(v, "variable") == "dynamodb:LeadingKeys"),
                    "{}: statement {sid} grants {on_table:?}, which name their keys: it should have exactly one condition, on dynamodb:LeadingKeys, limiting it to the store's KEY_PATTERNS",
                    document.file
                );
                let condition = conditions[0];
                assert_eq!(
                    literal(
                        attr(condition, "test").expect("a condition without test"),
                        "test"
                    ),
                    "ForAllValues:StringLike",
                    "{}: statement {sid}'s dynamodb:LeadingKeys condition should test ForAllValues:StringLike: every key of a request must match a pattern",
                    document.file
                );
                assert_eq!(
                    literals(
                        attr(condition, "values").expect("a condition without values"),
                        "values"
                    ),
                    set(KEY_PATTERNS),
                    "{}: statement {sid} should be limited (dynamodb:LeadingKeys) to exactly the store's KEY_PATTERNS (service/src/store/dynamodb.rs)",
                    document.file
                );
                keyed_actions.extend(on_table);
            } else {
                // Query of the index names no item key (its hash key is `list`), so no
                // key condition can limit it; a statement that mixed it with a keyed
                // operation would free that one from its limit.
                let keyed: BTreeSet<&String> = on_table.intersection(&keyed_operations).collect();
                assert!(
                    keyed.is_empty(),
                    "{}: statement {sid} grants {keyed:?}, which name their keys, together with {:?}, which do not: put the keyed operations in the statement limited by dynamodb:LeadingKeys",
                    document.file,
                    on_table.difference(&keyed_operations).collect::<Vec<_>>()
                );
                assert_eq!(
                    resources, on_index,
                    "{}: statement {sid} should grant {on_table:?} on the store's {COUNTER_INDEX:?} index alone (`${{{table_arn}}}/index/${{local.counter_index}}`): Query on the table would read every item",
                    document.file
                );
                assert!(
                    conditions.is_empty(),
                    "{}: statement {sid} grants {on_table:?}, which name no key, under a condition: dynamodb:LeadingKeys cannot limit them (and ForAllValues of no key is true), and any other condition would refuse the store's calls",
                    document.file
                );
                unkeyed_actions.extend(on_table);
            }
        }
    }

    assert_eq!(
        keyed_actions, keyed_operations,
        "terraform/iam.tf: the DynamoDB actions limited by dynamodb:LeadingKeys differ from visitor_counter::store::dynamodb::KEYED_ACTIONS"
    );
    assert_eq!(
        unkeyed_actions, unkeyed_operations,
        "terraform/iam.tf: the DynamoDB actions without a key condition differ from the ACTIONS that name no key (ACTIONS minus KEYED_ACTIONS)"
    );
    let dynamodb_actions: BTreeSet<String> =
        keyed_actions.union(&unkeyed_actions).cloned().collect();
    assert_eq!(
        dynamodb_actions, expected_actions,
        "terraform/iam.tf: the function's DynamoDB actions differ from visitor_counter::store::dynamodb::ACTIONS"
    );

    // Exactly means no pattern and no exception: every action written out, no
    // not_actions or not_resources, which would grant everything else.
    for policy in &inline {
        let (address, _) = named_block(policy.attr("policy")).unwrap();
        let document = stack.data(
            "aws_iam_policy_document",
            address.trim_start_matches("data.aws_iam_policy_document."),
        );
        for (_, statement) in statements(&document) {
            for key in ["not_actions", "not_resources", "not_principals"] {
                assert!(
                    attr(statement, key).is_none(),
                    "{}: statement {} of {} uses {key}, which grants everything it does not name",
                    document.file,
                    sid(statement),
                    document.address
                );
            }
            let wildcards: Vec<String> = actions(&stack, statement)
                .into_iter()
                .filter(|a| a.contains(['*', '?']))
                .collect();
            assert!(
                wildcards.is_empty(),
                "{}: statement {} of {} grants {wildcards:?}: the function's actions are written out, one by one",
                document.file,
                sid(statement),
                document.address
            );
        }
    }

    // And the role's permissions boundary (the bootstrap's, see
    // every_role_the_apply_roles_may_create_carries_the_boundary) allows each of those
    // operations on this environment's table, or DynamoDB would refuse the store's calls.
    let function_role = stack.resource("aws_iam_role", role.trim_start_matches("aws_iam_role."));
    assert!(
        attr(function_role.body, "permissions_boundary").is_some(),
        "{}: {} has no permissions_boundary: the bootstrap's apply roles may create roles only with their environment's boundary",
        function_role.file,
        function_role.address
    );
    let bootstrap = Stack::bootstrap();
    let boundary = bootstrap.data("aws_iam_policy_document", "boundary");
    let allowed_on = |operation: &str, resources: &str| {
        statements(&boundary).into_iter().any(|(allow, statement)| {
            allow
                && actions(&bootstrap, statement)
                    .iter()
                    .any(|pattern| iam_matches(pattern, operation))
                && attr(statement, "resources").is_some_and(|r| {
                    references(r) == set(&["local.env", "each.key"])
                        && r.to_string().ends_with(&format!(".{resources}"))
                })
        })
    };
    for operation in &keyed_actions {
        assert!(
            allowed_on(operation, "tables"),
            "{}: the permissions boundary ({}) does not allow {operation} on its environment's table (local.env[each.key].tables): the function's call would be denied",
            boundary.file,
            boundary.address
        );
    }
    for operation in &unkeyed_actions {
        assert!(
            allowed_on(operation, "table_indexes"),
            "{}: the permissions boundary ({}) does not allow {operation} on its environment's table indexes (local.env[each.key].table_indexes): the list of counters would be denied",
            boundary.file,
            boundary.address
        );
    }
}

#[test]
fn the_throttling_alarm_watches_every_operation_the_store_calls() {
    // DynamoDB publishes ThrottledRequests per operation: an operation the alarm leaves
    // out is throttled unseen (the service answers 503, and no alarm says why).
    let stack = Stack::load();
    let table = stack.only_resource("aws_dynamodb_table");
    let table_name = format!("{}.name", table.address);
    let mut watched = Vec::new();
    for alarm in stack.resources("aws_cloudwatch_metric_alarm") {
        let mut ids = Vec::new();
        let mut expressions = Vec::new();
        for query in blocks(alarm.body, "metric_query") {
            if let Some(expression) = attr(query, "expression") {
                expressions.push(template(expression, "a metric_query's expression"));
            }
            let Some(metric) = blocks(query, "metric").next() else {
                continue;
            };
            if attr(metric, "metric_name")
                .is_none_or(|name| literal(name, "metric_name") != "ThrottledRequests")
            {
                continue;
            }
            let dimensions = attr(metric, "dimensions").expect("a metric without dimensions");
            assert!(
                references(object_value(dimensions, "TableName", "dimensions"))
                    .contains(&table_name),
                "{}: {} watches ThrottledRequests of another table than {table_name}",
                alarm.file,
                alarm.address
            );
            let operation = literal(
                object_value(dimensions, "Operation", "dimensions"),
                "the Operation dimension",
            );
            ids.push(literal(
                attr(query, "id").expect("a metric_query without id"),
                "id",
            ));
            watched.push((alarm.address.clone(), operation));
        }
        // Each operation's metric counts only when the alarm's expression adds it up.
        for id in &ids {
            assert!(
                expressions.iter().any(|expression| expression
                    .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .any(|word| word == id)),
                "{}: {}'s metric `{id}` is in no expression ({expressions:?}): its throttles would not raise the alarm",
                alarm.file,
                alarm.address
            );
        }
    }
    let operations: BTreeSet<String> = watched.iter().map(|(_, op)| op.clone()).collect();
    assert_eq!(
        operations,
        set(OPERATIONS),
        "terraform/monitoring.tf: the operations whose ThrottledRequests an alarm watches ({watched:?}) differ from visitor_counter::store::dynamodb::OPERATIONS"
    );
}

#[test]
fn one_cors_implementation_the_functions() {
    let stack = Stack::load();
    let api = stack.only_resource("aws_apigatewayv2_api");
    let function = stack.only_resource("aws_lambda_function");

    // With a cors_configuration API Gateway answers preflights itself and overwrites the
    // function's CORS headers: the CORS that service/src/app/cors.rs implements, and the
    // tests exercise, would never reach a browser.
    assert!(
        blocks(api.body, "cors_configuration").next().is_none()
            && attr(api.body, "cors_configuration").is_none(),
        "{}: {} has a cors_configuration; the function is the one CORS implementation (service/src/app/cors.rs), so API Gateway must pass every request, preflights included, to it",
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
    let (file, routes) = stack_routes(&stack);
    for preflight in &preflights {
        assert!(
            routes.contains(preflight),
            "{file}: no `{preflight}` route in local.contract_routes: the function never sees the CORS preflight"
        );
    }
    let route = stack.only_resource("aws_apigatewayv2_route");
    assert!(
        references(route.attr("target")).contains(&target),
        "{}: {} should target {}, the function's integration",
        route.file,
        route.address,
        integration.address
    );

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

#[test]
fn each_environments_roles_trust_only_that_environment() {
    let bootstrap = Stack::bootstrap();
    let (environment_roles, plan_roles) = bootstrap_roles(&bootstrap);

    // The plan role may stay shared: it reads, and only pull requests may assume it.
    for role in &plan_roles {
        let (address, _) = named_block(role.attr("assume_role_policy")).unwrap();
        let document = bootstrap.data(
            "aws_iam_policy_document",
            address.trim_start_matches("data.aws_iam_policy_document."),
        );
        assert_eq!(
            trusted_subjects(&bootstrap, &document),
            vec!["repo:${var.github_repository}:pull_request".to_owned()],
            "{}: {} should trust this repository's pull requests and nothing else",
            document.file,
            document.address
        );
    }

    // Every other role is one per environment, assumable only from its own GitHub
    // environment: not from another environment, not from a branch.
    let names: BTreeSet<&str> = environment_roles.iter().map(|role| role.name).collect();
    assert!(
        names.contains("apply") && names.contains("deploy"),
        "terraform/bootstrap/roles.tf: expected the apply and deploy roles among the environment roles, found {names:?}"
    );
    for role in &environment_roles {
        let for_each = attr(role.body, "for_each").unwrap_or_else(|| {
            panic!(
                "{}: {} is not one role per environment (no for_each over var.environments): staging's jobs could use production's role",
                role.file, role.address
            )
        });
        assert!(
            references(for_each).contains("var.environments"),
            "{}: {} should have one instance per environment (for_each over var.environments), found `{for_each}`",
            role.file,
            role.address
        );
        let (address, index) = named_block(role.attr("assume_role_policy")).unwrap();
        assert!(
            is_each_key(index),
            "{}: {}'s trust should be its own environment's document ([each.key])",
            role.file,
            role.address
        );
        let document = bootstrap.data(
            "aws_iam_policy_document",
            address.trim_start_matches("data.aws_iam_policy_document."),
        );
        assert_eq!(
            attr(document.body, "for_each"),
            Some(for_each),
            "{}: {} and the role {} should iterate over the same environments",
            document.file,
            document.address,
            role.address
        );
        assert_eq!(
            trusted_subjects(&bootstrap, &document),
            vec!["repo:${var.github_repository}:environment:${each.key}".to_owned()],
            "{}: {} (the trust of {}) should accept jobs of its own GitHub environment only: no branch (ref:), no other environment",
            document.file,
            document.address,
            role.address
        );
    }
}

#[test]
fn each_environments_roles_are_scoped_to_that_environment() {
    // Grants no environment's name can narrow, each explained in bootstrap/roles.tf:
    // listing the state bucket's keys, the region-wide DescribeLogGroups, DescribeAlarms
    // and DescribeParameters, HTTP APIs (generated ids, untaggable routes), the log
    // delivery that API access logs need, and GetRandomPassword (no resource-level
    // permissions).
    const UNSCOPED: &[&str] = &[
        "ListState",
        "FindLogGroups",
        "FindAlarms",
        "ReadApis",
        "ManageApis",
        "SetUpApiAccessLogDelivery",
        "FindParameters",
        "GeneratePasswords",
    ];

    let bootstrap = Stack::bootstrap();
    let (environment_roles, _) = bootstrap_roles(&bootstrap);
    assert!(
        !environment_roles.is_empty(),
        "terraform/bootstrap/: no per-environment roles"
    );
    let mut scoped = 0;
    for role in &environment_roles {
        assert!(
            attr(role.body, "for_each").is_some(),
            "{}: {} is shared by every environment; each environment needs its own",
            role.file,
            role.address
        );
        assert!(
            bootstrap
                .resources("aws_iam_role_policy_attachment")
                .iter()
                .all(|attachment| named_block(attachment.attr("role"))
                    .is_none_or(|(address, _)| address != role.address)),
            "terraform/bootstrap/: a managed policy is attached to {}; its grants cannot be checked here",
            role.address
        );
        let policies = role_policies(&bootstrap, role);
        assert!(
            !policies.is_empty(),
            "terraform/bootstrap/: {} has no inline policy",
            role.address
        );
        for (_, document) in &policies {
            for (allow, statement) in statements(document) {
                let sid = sid(statement);
                if !allow || UNSCOPED.contains(&sid.as_str()) {
                    continue;
                }
                let resources = attr(statement, "resources").unwrap_or_else(|| {
                    panic!(
                        "{}: statement {sid} of {} has no resources",
                        document.file, document.address
                    )
                });
                assert!(
                    references(resources).contains("each.key"),
                    "{}: statement {sid} of {} (policy of {}) is not limited to its own environment: its resources `{resources}` should come from local.env[each.key]",
                    document.file,
                    document.address,
                    role.address
                );
                scoped += 1;
            }
        }
    }
    assert!(scoped > 0, "no scoped statement was checked");
}

#[test]
fn the_plan_role_only_reads() {
    // Verbs that change nothing. `terraform plan` runs with -lock=false, so not even
    // the state lock is written.
    fn reads(action: &str) -> bool {
        let (_, verb) = action.split_once(':').unwrap_or(("", action));
        ["Get", "List", "Describe", "View"]
            .iter()
            .any(|read| verb.starts_with(read))
            || action.eq_ignore_ascii_case("apigateway:GET")
    }

    let bootstrap = Stack::bootstrap();
    let (_, plan_roles) = bootstrap_roles(&bootstrap);
    assert_eq!(
        plan_roles.len(),
        1,
        "terraform/bootstrap/: expected one plan role (trusted from pull requests only)"
    );
    let mut actions_seen = 0;
    for (_, document) in role_policies(&bootstrap, &plan_roles[0]) {
        for (allow, statement) in statements(&document) {
            assert!(
                allow,
                "{}: {}: no deny statements expected",
                document.file, document.address
            );
            let actions = actions(&bootstrap, statement);
            let writes: Vec<&String> = actions.iter().filter(|a| !reads(a)).collect();
            assert!(
                writes.is_empty(),
                "{}: statement {} of {} lets the plan role (pull requests) write: {writes:?}",
                document.file,
                sid(statement),
                document.address
            );
            actions_seen += actions.len();
        }
    }
    assert!(actions_seen > 0, "the plan role has no actions to check");
}

#[test]
fn every_role_the_apply_roles_may_create_carries_the_boundary() {
    // What creating or changing a role's permissions takes; each such grant must be
    // conditional on the boundary.
    const ROLE_WRITES: &[&str] = &[
        "iam:CreateRole",
        "iam:PutRolePolicy",
        "iam:AttachRolePolicy",
        "iam:PutRolePermissionsBoundary",
    ];
    // What would take the boundary away, or rewrite it: never allowed.
    const NEVER: &[&str] = &[
        "iam:DeleteRolePermissionsBoundary",
        "iam:CreatePolicyVersion",
        "iam:SetDefaultPolicyVersion",
    ];
    fn environment(text: &str) -> String {
        text.replace("${each.key}", "${ENV}")
            .replace("${env}", "${ENV}")
            .replace("${var.environment}", "${ENV}")
    }

    let bootstrap = Stack::bootstrap();
    let stack = Stack::load();

    // The bootstrap makes one boundary per environment ...
    let boundary = bootstrap.resource("aws_iam_policy", "boundary");
    assert!(
        attr(boundary.body, "for_each").is_some_and(|e| references(e).contains("var.environments")),
        "{}: {} should exist once per environment (for_each over var.environments)",
        boundary.file,
        boundary.address
    );
    let boundary_name = environment(&template(boundary.attr("name"), "the boundary's name"));

    // ... and names it in the apply roles' condition as local.env[each.key].boundary,
    // whose ARN is that policy's.
    let (locals_file, env_local) = bootstrap.local("env");
    let Expression::ForExpr(for_expr) = env_local else {
        panic!("{locals_file}: local.env should be a for expression over the environments");
    };
    let condition_arn = environment(&template(
        object_value(&for_expr.value_expr, "boundary", "local.env's entries"),
        "local.env[...].boundary",
    ));
    assert!(
        condition_arn.ends_with(&format!(":policy/{boundary_name}")),
        "{locals_file}: local.env[...].boundary is `{condition_arn}`, not the ARN of {} ({boundary_name})",
        boundary.address
    );

    let mut conditional_grants = 0;
    for document in bootstrap.all("data", "aws_iam_policy_document") {
        for (allow, statement) in statements(&document) {
            if !allow {
                continue;
            }
            let sid = sid(statement);
            let actions = actions(&bootstrap, statement);
            for never in NEVER {
                assert!(
                    !actions.iter().any(|a| iam_matches(a, never)),
                    "{}: statement {sid} of {} allows {never}, which takes the boundary away or rewrites it",
                    document.file,
                    document.address
                );
            }
            if !actions
                .iter()
                .any(|a| ROLE_WRITES.iter().any(|w| iam_matches(a, w)))
            {
                continue;
            }
            let bounded = blocks(statement, "condition").any(|condition| {
                template(attr(condition, "variable").unwrap(), "variable")
                    == "iam:PermissionsBoundary"
                    && ["StringEquals", "ArnEquals"]
                        .contains(&literal(attr(condition, "test").unwrap(), "test").as_str())
                    && matches!(attr(condition, "values"), Some(Expression::Array(values))
                        if values.len() == 1
                            && references(&values[0]) == set(&["local.env", "each.key"])
                            && values[0].to_string().ends_with(".boundary"))
            });
            assert!(
                bounded,
                "{}: statement {sid} of {} lets a role be created or given permissions without the condition iam:PermissionsBoundary = local.env[each.key].boundary",
                document.file, document.address
            );
            conditional_grants += 1;
        }
    }
    assert!(
        conditional_grants > 0,
        "terraform/bootstrap/: no statement lets an apply role create a role, so this test checks nothing; the stack's function role needs one"
    );

    // Every role of the stack carries that boundary.
    let (arn_file, arn) = stack.local("permissions_boundary_arn");
    let stack_arn = environment(&template(arn, "local.permissions_boundary_arn"));
    assert!(
        stack_arn.starts_with("arn:")
            && stack_arn.ends_with(&format!(":policy/{boundary_name}"))
            && stack_arn.contains(":iam::"),
        "{arn_file}: local.permissions_boundary_arn is `{stack_arn}`, not the bootstrap's {} ({boundary_name})",
        boundary.address
    );
    let roles = stack.resources("aws_iam_role");
    assert!(!roles.is_empty(), "terraform/: no aws_iam_role");
    for role in &roles {
        assert!(
            attr(role.body, "permissions_boundary")
                .is_some_and(|b| references(b) == set(&["local.permissions_boundary_arn"])),
            "{}: {} should set permissions_boundary = local.permissions_boundary_arn: the apply role may create roles only with it",
            role.file,
            role.address
        );
    }
}

/// The `variables` block of a `terraform test` file: the facts its assertions compare
/// the plan with.
fn test_facts(relative: &str) -> Body {
    let path = repo_root().join(relative);
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {relative}: {e}"));
    let body: Body =
        hcl::parse(&text).unwrap_or_else(|e| panic!("{relative} is not valid HCL: {e}"));
    body.into_blocks()
        .find(|block| block.identifier() == "variables")
        .map(|block| block.body().clone())
        .unwrap_or_else(|| panic!("{relative} has no file-level `variables` block"))
}

#[test]
fn the_terraform_tests_expect_what_the_code_does() {
    // terraform/tests/environment.tftest.hcl plans every environment's tfvars and
    // compares the plan with these facts; here the facts are compared with the code,
    // so the plan is checked against the code itself, not against a copy that drifts.
    const FILE: &str = "terraform/tests/environment.tftest.hcl";
    let facts = test_facts(FILE);
    let list = |key: &str| -> BTreeSet<String> {
        literals(
            attr(&facts, key).unwrap_or_else(|| panic!("{FILE}: no variable {key}")),
            key,
        )
    };
    let one = |key: &str| -> String {
        literal(
            attr(&facts, key).unwrap_or_else(|| panic!("{FILE}: no variable {key}")),
            key,
        )
    };
    let unkeyed: Vec<&str> = ACTIONS
        .iter()
        .filter(|action| !KEYED_ACTIONS.contains(action))
        .copied()
        .collect();

    let expected = [
        ("service_function_variables", set(FUNCTION_VARIABLES)),
        ("service_keyed_actions", set(KEYED_ACTIONS)),
        ("service_index_actions", set(&unkeyed)),
        ("service_key_patterns", set(KEY_PATTERNS)),
        ("service_operations", set(OPERATIONS)),
        (
            "service_routes",
            contract_operations()
                .into_iter()
                .flat_map(|(_, operations)| operations)
                .collect(),
        ),
    ];
    for (key, code) in expected {
        assert_eq!(
            list(key),
            code,
            "{FILE}: {key} differs from the code (service/src/config.rs, service/src/store/dynamodb.rs, contracts/openapi.json)"
        );
    }
    for (key, code) in [
        ("service_ttl_attribute", TTL_ATTRIBUTE),
        ("service_hash_key", HASH_KEY),
        ("service_counter_index", COUNTER_INDEX),
        ("service_list_key", LIST_ATTRIBUTE),
        ("service_name_key", NAME_ATTRIBUTE),
    ] {
        assert_eq!(one(key), code, "{FILE}: {key} differs from the store's");
    }
}

// --- scripts/deploy ------------------------------------------------------------------

/// A folder for `scripts/deploy` to run with: PATH holds the basic tools the script
/// itself uses (bash, sed, git, ...) linked from this machine, plus fakes of `fakes`
/// that write their command line to `calls.log` (and fail, or run `script`).
struct DeployBench {
    dir: tempfile::TempDir,
}

impl DeployBench {
    fn new(fakes: &[(&str, &str)]) -> Self {
        const BASIC: &[&str] = &[
            "bash",
            "dirname",
            "sed",
            "git",
            "cat",
            "awk",
            "env",
            "mktemp",
            "tee",
            "sha256sum",
            "cut",
            "id",
            "rm",
        ];
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        fs::create_dir(&bin).unwrap();
        let path = std::env::var_os("PATH").unwrap_or_default();
        for tool in BASIC {
            let found = std::env::split_paths(&path)
                .map(|dir| dir.join(tool))
                .find(|candidate| candidate.is_file())
                .unwrap_or_else(|| panic!("{tool} is not on PATH; scripts/deploy needs it"));
            std::os::unix::fs::symlink(found, bin.join(tool)).unwrap();
        }
        let log = dir.path().join("calls.log");
        for (name, script) in fakes {
            let fake = bin.join(name);
            fs::write(
                &fake,
                format!(
                    "#!/bin/bash\nprintf '%s\\n' \"{name} $*\" >>'{}'\n{script}\n",
                    log.display()
                ),
            )
            .unwrap();
            let mut permissions = fs::metadata(&fake).unwrap().permissions();
            std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
            fs::set_permissions(&fake, permissions).unwrap();
        }
        Self { dir }
    }

    /// Runs scripts/deploy with these arguments: (exit code, stderr).
    fn run(&self, args: &[&str]) -> (i32, String) {
        self.run_with(args, &[])
    }

    /// Runs scripts/deploy with these arguments and environment variables.
    fn run_with(&self, args: &[&str], vars: &[(&str, &str)]) -> (i32, String) {
        let output = std::process::Command::new(self.dir.path().join("bin/bash"))
            .arg(repo_root().join("scripts/deploy"))
            .args(args)
            .env_clear()
            .env("PATH", self.dir.path().join("bin"))
            .env("HOME", self.dir.path())
            .env("TOOLS_DIR", self.dir.path().join("tools"))
            .env("CARGO_TARGET_DIR", self.dir.path().join("target"))
            .envs(vars.iter().copied())
            .output()
            .unwrap();
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    /// The fakes' command lines, in the order they ran.
    fn calls(&self) -> Vec<String> {
        fs::read_to_string(self.dir.path().join("calls.log"))
            .map(|log| log.lines().map(str::to_owned).collect())
            .unwrap_or_default()
    }
}

/// Fakes of every tool a deploy runs, each failing: a dry run must start none of them.
const EVERY_TOOL: &[(&str, &str)] = &[
    ("aws", "exit 99"),
    ("terraform", "exit 99"),
    ("cargo", "exit 99"),
    ("cargo-lambda", "exit 99"),
    ("rustup", "exit 99"),
    ("python3", "exit 99"),
];

/// The lines of `text` that contain each of `wanted`, in that order.
fn assert_in_order(text: &str, wanted: &[&str], what: &str) {
    let mut rest = text;
    for needle in wanted {
        let at = rest.find(needle).unwrap_or_else(|| {
            panic!("{what}: `{needle}` is missing, or out of order, in:\n{text}")
        });
        rest = &rest[at + needle.len()..];
    }
}

#[test]
fn deploy_dry_run_prints_the_whole_sequence_and_runs_nothing() {
    let bench = DeployBench::new(EVERY_TOOL);

    let (code, printed) = bench.run(&["--dry-run", "production"]);
    assert_eq!(
        code, 0,
        "scripts/deploy --dry-run production failed:\n{printed}"
    );
    assert_eq!(
        bench.calls(),
        Vec::<String>::new(),
        "a dry run ran tools (no AWS call, no build, no Terraform may run):\n{printed}"
    );
    assert_in_order(
        &printed,
        &[
            "+ aws sts get-caller-identity",
            "+ cargo lambda build --release --arm64 --output-format zip --package visitor-counter",
            "+ cargo build --release --package e2e",
            "+ terraform -chdir=terraform init",
            "-backend-config=key=visitor-counter/production.tfstate",
            "-backend-config=use_lockfile=true",
            "+ terraform -chdir=terraform apply -input=true -var-file=environments/production.tfvars",
            "+ terraform -chdir=terraform output -no-color -json function_name",
            "+ aws lambda get-alias",
            "+ aws lambda update-function-code",
            "bootstrap.zip",
            "+ aws lambda wait function-updated-v2",
            "+ aws lambda publish-version",
            "--code-sha256",
            "+ aws lambda wait published-version-active",
            "+ aws lambda update-alias",
            "--function-version '<the new version>'",
            "+ env -i 'PATH=$PATH' 'HOME=$HOME'",
            "--read-only",
            "if the check fails",
            "+ aws lambda update-alias",
            "--function-version '<the live version now>'",
            "dry run: nothing was run",
        ],
        "scripts/deploy --dry-run production",
    );

    // Any other environment gets the full check (it counts visits), and the pipeline's
    // form builds nothing and applies nothing.
    let (code, printed) = bench.run(&[
        "--dry-run",
        "--skip-apply",
        "--package",
        "terraform/placeholder/bootstrap.zip",
        "--checker",
        "scripts/deploy",
        "staging",
    ]);
    assert_eq!(code, 0, "the pipeline's dry run failed:\n{printed}");
    assert!(bench.calls().is_empty());
    for absent in [
        "--read-only",
        "cargo lambda build",
        "cargo build",
        "terraform -chdir=terraform apply",
    ] {
        assert!(
            !printed.contains(absent),
            "staging with --skip-apply and a package should not print `{absent}`:\n{printed}"
        );
    }
    assert_in_order(
        &printed,
        &[
            "-backend-config=key=visitor-counter/staging.tfstate",
            "fileb://terraform/placeholder/bootstrap.zip",
            "+ env -i",
            "scripts/deploy --base-url",
        ],
        "scripts/deploy --dry-run --skip-apply ... staging",
    );
}

#[test]
fn deploy_refuses_without_a_tool_or_credentials() {
    // No AWS CLI: refused before anything runs, naming it.
    let without_aws: Vec<(&str, &str)> = EVERY_TOOL
        .iter()
        .filter(|(name, _)| *name != "aws")
        .copied()
        .collect();
    let bench = DeployBench::new(&without_aws);
    let (code, printed) = bench.run(&["production"]);
    assert_ne!(code, 0, "a deploy without the AWS CLI went on:\n{printed}");
    assert!(
        printed.contains("missing tools") && printed.contains("aws (the AWS CLI"),
        "the refusal should name the missing AWS CLI:\n{printed}"
    );
    assert!(
        bench.calls().is_empty(),
        "tools ran before the refusal: {:?}",
        bench.calls()
    );
    // The dry run says it would refuse, and still prints the sequence.
    let (code, printed) = bench.run(&["--dry-run", "production"]);
    assert_eq!(code, 0, "{printed}");
    assert!(
        printed.contains("a real run would refuse here: missing aws"),
        "{printed}"
    );

    // Credentials that do not work: refused after asking STS who they are, and nothing
    // else runs.
    let bench = DeployBench::new(&[
        ("aws", "exit 255"),
        ("terraform", "exit 99"),
        ("cargo", "exit 99"),
        ("cargo-lambda", "exit 99"),
    ]);
    let (code, printed) = bench.run(&["production"]);
    assert_ne!(code, 0, "a deploy without credentials went on:\n{printed}");
    assert!(
        printed.contains("no usable AWS credentials"),
        "the refusal should say the credentials are missing:\n{printed}"
    );
    assert_eq!(
        bench.calls(),
        vec!["aws sts get-caller-identity --query Arn --output text".to_owned()],
        "only the credentials check may run before the refusal"
    );

    // An environment without tfvars is refused at once.
    let (code, printed) = bench.run(&["--dry-run", "no-such-environment"]);
    assert_ne!(code, 0);
    assert!(
        printed.contains("no terraform/environments/no-such-environment.tfvars"),
        "{printed}"
    );
}

/// A Terraform that knows one stack's outputs, and an AWS CLI whose function's `live`
/// is on version 3 and whose next published version is 4.
const A_STACK: &[(&str, &str)] = &[
    (
        "terraform",
        r#"case "$*" in
  *" output "*) name="${!#}"; case "$name" in
      function_name) echo '"visitor-counter-production"' ;;
      alias_name) echo '"live"' ;;
      api_base_url) echo '"https://abc.execute-api.us-east-1.amazonaws.com"' ;;
      e2e_origin) echo '"https://example.com"' ;;
      *) exit 1 ;;
    esac ;;
esac"#,
    ),
    (
        "aws",
        r#"case "$1 $2" in
  "sts get-caller-identity") echo arn:aws:iam::123456789012:user/owner ;;
  "lambda get-alias") echo 3 ;;
  "lambda update-function-code") echo c29tZS1zaGE= ;;
  "lambda publish-version") echo 4 ;;
  "lambda update-alias") echo moved ;;
  "lambda wait") ;;
  *) exit 1 ;;
esac"#,
    ),
    // It runs under `env -i`: what it sees is written next to it, and it passes only
    // when a file `checker.pass` is there.
    ("checker", r#"env >"$0.env"; [ -e "$0.pass" ]"#),
];

#[test]
fn deploy_moves_live_back_when_the_check_fails() {
    let bench = DeployBench::new(A_STACK);
    let checker = bench.dir.path().join("bin/checker");
    let checker = checker.to_str().unwrap();
    let summary = bench.dir.path().join("summary.md");
    let args = [
        "--skip-apply",
        "--package",
        "terraform/placeholder/bootstrap.zip",
        "--checker",
        checker,
        "production",
    ];
    let vars = [
        ("TF_STATE_BUCKET", "a-state-bucket"),
        ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
    ];
    let live_moves = |calls: &[String]| -> Vec<String> {
        calls
            .iter()
            .filter(|call| call.starts_with("aws lambda update-alias"))
            .map(|call| {
                call.split("--function-version ")
                    .nth(1)
                    .and_then(|rest| rest.split(' ').next())
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect()
    };

    // The check fails: live goes to 4, then back to 3, and the run fails saying so.
    let (code, printed) = bench.run_with(&args, &vars);
    assert_ne!(code, 0, "a failed check must fail the deploy:\n{printed}");
    let calls = bench.calls();
    assert_eq!(
        live_moves(&calls),
        ["4", "3"],
        "live should move to the new version and back: {calls:#?}\n{printed}"
    );
    assert!(
        calls.iter().any(|call| call
            == "checker --base-url https://abc.execute-api.us-east-1.amazonaws.com --origin https://example.com --read-only"),
        "the checker should run read-only in production, with the stack's URL and e2e_origin: {calls:#?}"
    );
    assert!(
        printed.contains("live is back on version 3"),
        "the failure should say where live is:\n{printed}"
    );
    let written = fs::read_to_string(&summary).unwrap();
    assert!(
        written.contains("post-deploy check failed, rolled back"),
        "the job summary should say so: {written}"
    );

    // The checker got no credentials, no state bucket, nothing of the deploy's own.
    let seen = fs::read_to_string(format!("{checker}.env")).unwrap();
    assert!(
        seen.contains("PATH=") && !seen.contains("TF_STATE_BUCKET") && !seen.contains("GITHUB_"),
        "the checker should run with PATH and HOME only: {seen}"
    );

    // The check passes: live stays on 4.
    fs::remove_file(bench.dir.path().join("calls.log")).unwrap();
    fs::write(format!("{checker}.pass"), "").unwrap();
    let (code, printed) = bench.run_with(&args, &vars);
    assert_eq!(code, 0, "{printed}");
    assert_eq!(live_moves(&bench.calls()), ["4"], "{printed}");
}
