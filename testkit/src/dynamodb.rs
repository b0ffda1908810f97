//! DynamoDB Local: the one `scripts/test` and `scripts/bench` start, a table of its own
//! for each test or run, and the counter item read and written behind the service's back.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_config::{BehaviorVersion, ConfigLoader, Region};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::Credentials;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};
use visitor_counter::config::TableName;
use visitor_counter::store::DynamoDbStore;
use visitor_counter::store::dynamodb::{COUNT_ATTRIBUTE, COUNTER_ID, HASH_KEY};

use crate::Error;

/// Where `scripts/test` and `scripts/bench` put the endpoint of the DynamoDB Local they started.
pub const ENDPOINT_VARIABLE: &str = "DYNAMODB_LOCAL_ENDPOINT";
/// The region every client and the binary are given (DynamoDB Local ignores it, the SDK
/// needs one).
pub const REGION: &str = "us-east-1";

/// The item as DynamoDB holds it.
pub type Item = HashMap<String, AttributeValue>;

/// The endpoint of the DynamoDB Local that the test or bench script started.
pub fn endpoint() -> Result<String, Error> {
    std::env::var(ENDPOINT_VARIABLE).map_err(|_| Error::NoDynamoDbLocal)
}

/// An SDK config loader for DynamoDB Local at `endpoint`: the service's HTTP client,
/// [`REGION`], dummy credentials.
pub fn loader(endpoint: &str) -> ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(visitor_counter::store::dynamodb::http_client())
        .endpoint_url(endpoint)
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new("local", "local", None, None, "testkit"))
}

/// A client with the SDK's default timeouts and retries, for tables and items.
pub async fn client(endpoint: &str) -> Client {
    Client::new(&loader(endpoint).load().await)
}

/// The service's own store on `table`, with its timeouts and retries.
pub async fn store(endpoint: &str, table: &TableName) -> Result<DynamoDbStore, Error> {
    DynamoDbStore::connect_with(loader(endpoint), table)
        .await
        .map_err(|error| Error::dynamodb("cannot set up the store", error))
}

/// Creates an empty table of its own, named `<prefix>-<pid>-<n>`, shaped as Terraform
/// makes it (hash key `id`, String; on demand; the counters' index).
///
/// The index is made with the table: DynamoDB Local cannot query an index added to a
/// table later (its SQLite table lacks the index's columns: "no such column:
/// indexKey_0"), though DynamoDB adds one in place, as Terraform does to a v2 table.
pub async fn fresh_table(client: &Client, prefix: &str) -> Result<TableName, Error> {
    use aws_sdk_dynamodb::types::{GlobalSecondaryIndex, Projection, ProjectionType};
    use visitor_counter::store::dynamodb::{COUNTER_INDEX, LIST_ATTRIBUTE, NAME_ATTRIBUTE};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    );
    let table = TableName::parse(&name).map_err(|reason| Error::DynamoDb {
        what: format!("{name} is not a table name: {reason}"),
        source: None,
    })?;
    let index = GlobalSecondaryIndex::builder()
        .index_name(COUNTER_INDEX)
        .key_schema(key(LIST_ATTRIBUTE, KeyType::Hash)?)
        .key_schema(key(NAME_ATTRIBUTE, KeyType::Range)?)
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::KeysOnly)
                .build(),
        )
        .build()
        .map_err(|error| Error::dynamodb("the index", error))?;
    client
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(string_attribute(HASH_KEY)?)
        .attribute_definitions(string_attribute(LIST_ATTRIBUTE)?)
        .attribute_definitions(string_attribute(NAME_ATTRIBUTE)?)
        .key_schema(key(HASH_KEY, KeyType::Hash)?)
        .global_secondary_indexes(index)
        .send()
        .await
        .map_err(|error| Error::dynamodb(format!("cannot create table {name}"), error))?;
    Ok(table)
}

/// A String attribute of a key.
fn string_attribute(name: &str) -> Result<AttributeDefinition, Error> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(|error| Error::dynamodb(format!("the attribute definition of {name}"), error))
}

/// One element of a key schema.
fn key(name: &str, kind: KeyType) -> Result<KeySchemaElement, Error> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .map_err(|error| Error::dynamodb(format!("the key schema element {name}"), error))
}

/// The counter item as stored, read consistently behind the service's back.
pub async fn stored_item(client: &Client, table: &TableName) -> Result<Option<Item>, Error> {
    let output = client
        .get_item()
        .table_name(table.as_str())
        .key(HASH_KEY, AttributeValue::S(COUNTER_ID.to_owned()))
        .consistent_read(true)
        .send()
        .await
        .map_err(|error| Error::dynamodb(format!("cannot read the counter in {table}"), error))?;
    Ok(output.item)
}

/// The count as stored: 0 when there is no item yet; an error when it is not a Number
/// that is a count.
pub async fn stored_count(client: &Client, table: &TableName) -> Result<u64, Error> {
    let item = stored_item(client, table).await?;
    match item.as_ref().and_then(|item| item.get(COUNT_ATTRIBUTE)) {
        None => Ok(0),
        Some(AttributeValue::N(number)) => number
            .parse()
            .map_err(|_| Error::NotACount(format!("the Number {number}"))),
        Some(other) => Err(Error::NotACount(format!("{other:?}"))),
    }
}

/// Writes `value` as the counter's `count`, whatever it is.
pub async fn put_count_attribute(
    client: &Client,
    table: &TableName,
    value: AttributeValue,
) -> Result<(), Error> {
    client
        .put_item()
        .table_name(table.as_str())
        .item(HASH_KEY, AttributeValue::S(COUNTER_ID.to_owned()))
        .item(COUNT_ATTRIBUTE, value)
        .send()
        .await
        .map_err(|error| Error::dynamodb(format!("cannot write the counter in {table}"), error))?;
    Ok(())
}

/// The variables that put the binary on `table` of DynamoDB Local, as Terraform
/// configures the function (plus the endpoint).
pub fn function_env(endpoint: &str, table: &TableName) -> Vec<(String, String)> {
    vec![
        ("COUNTER_TABLE".to_owned(), table.as_str().to_owned()),
        ("AWS_ENDPOINT_URL_DYNAMODB".to_owned(), endpoint.to_owned()),
    ]
}

/// [`function_env`], plus the region and credentials that Lambda would provide, for
/// the binary in local mode.
pub fn local_env(endpoint: &str, table: &TableName) -> Vec<(String, String)> {
    let mut env = function_env(endpoint, table);
    env.extend(
        [
            ("AWS_REGION", REGION),
            ("AWS_ACCESS_KEY_ID", "local"),
            ("AWS_SECRET_ACCESS_KEY", "local"),
        ]
        .map(|(name, value)| (name.to_owned(), value.to_owned())),
    );
    env
}
