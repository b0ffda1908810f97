//! The DynamoDB adapter.

/// The table's hash key (String).
pub const HASH_KEY: &str = "id";
/// The `site` counter's item: v1's one counter, which keeps its key so an existing
/// table keeps its number (`/count` is the counter `site`).
pub const COUNTER_ID: &str = "visitorCount";
/// Every other counter's item: `counter#NAME`.
pub const COUNTER_PREFIX: &str = "counter#";
/// A counter's day: `day#NAME#YYYY-MM-DD`.
pub const DAY_PREFIX: &str = "day#";
/// A visitor marker: `visitor#YYYY-MM-DD#HASH` (a keyed hash, never an address).
pub const VISITOR_PREFIX: &str = "visitor#";
/// The day's salt.
pub const SALT_ID: &str = "salt";
/// The Number attribute holding a counter's (or a day's) views.
pub const COUNT_ATTRIBUTE: &str = "count";
/// The Number attribute holding a counter's (or a day's) visitors.
pub const VISITORS_ATTRIBUTE: &str = "visitors";
/// The table's TTL attribute (epoch seconds): markers and salts expire by it.
pub const TTL_ATTRIBUTE: &str = "ttl";
/// Every hash key the service reads or writes, as `dynamodb:LeadingKeys` patterns.
pub const KEY_PATTERNS: &[&str] = &["visitorCount", "counter#*", "day#*", "visitor#*", "salt"];
/// The DynamoDB operations that name their keys (limited to [`KEY_PATTERNS`]).
pub const KEYED_OPERATIONS: &[&str] = &["BatchGetItem", "GetItem", "UpdateItem"];
/// Every DynamoDB operation the service calls: the function's IAM policy grants exactly
/// these. `Scan` (the list of counters) names no key, so it cannot be limited by key.
pub const OPERATIONS: &[&str] = &["BatchGetItem", "GetItem", "Scan", "UpdateItem"];

use std::time::Duration;

use aws_config::environment::{
    EnvironmentVariableCredentialsProvider, EnvironmentVariableRegionProvider,
};
use aws_config::meta::region::RegionProviderChain;
use aws_config::profile::ProfileFileRegionProvider;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::ProvideCredentials;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::update_item::{UpdateItemError, UpdateItemOutput};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use super::{BoxError, CounterStore, StoreError};
use crate::config::TableName;

/// Every store call answers within this, success or not (the contract promises 3 s).
pub const OPERATION_TIMEOUT: Duration = Duration::from_millis(2500);
/// One read attempt; a read is retried (it changes nothing) until the operation times out.
pub const READ_ATTEMPT_TIMEOUT: Duration = Duration::from_millis(1000);
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
/// Attempts per call, for reads, and for writes that DynamoDB refused outright.
const MAX_ATTEMPTS: u32 = 3;
const INITIAL_BACKOFF: Duration = Duration::from_millis(25);
const MAX_BACKOFF: Duration = Duration::from_millis(250);

/// Error codes with which DynamoDB refuses a request without applying it.
const THROTTLING_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
];

/// Why the DynamoDB store could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The SDK's configuration chain found no region.
    #[error(
        "AWS_REGION: not set; the DynamoDB store needs a region (AWS_REGION, AWS_DEFAULT_REGION or a profile's region)"
    )]
    NoRegion,
}

/// The counter as one DynamoDB item.
///
/// Reads go through a client with the SDK's standard retries. Writes go through a
/// client that never retries on its own: an `ADD` that timed out may have landed, and
/// retrying it would count one visit twice. [`CounterStore::increment`] retries only
/// the failures that prove the write was not applied (throttling, connection refused).
#[derive(Debug, Clone)]
pub struct DynamoDbStore {
    reads: Client,
    writes: Client,
    table: String,
}

impl DynamoDbStore {
    /// Loads the SDK's standard configuration (region, credentials,
    /// `AWS_ENDPOINT_URL_DYNAMODB`, ...) with this store's timeouts and retries.
    pub async fn connect(table: &TableName) -> Result<Self, ConnectError> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        // Lambda puts the function's credentials in the environment, where the default
        // chain looks first. Naming that provider when it has credentials gives the
        // same credentials without building the rest of the chain (profile files, an
        // STS client for web identity, ECS, IMDS), which is most of `load`'s init time.
        let environment = EnvironmentVariableCredentialsProvider::new();
        if environment.provide_credentials().await.is_ok() {
            loader = loader.credentials_provider(environment);
        }
        // The region from the environment (Lambda sets AWS_REGION) or a profile, not
        // from EC2's metadata endpoint: the default chain's last resort, which off EC2
        // logs its failures (or stalls) before the one line saying the region is missing.
        let region = RegionProviderChain::first_try(EnvironmentVariableRegionProvider::new())
            .or_else(ProfileFileRegionProvider::new())
            .region()
            .await
            .ok_or(ConnectError::NoRegion)?;
        loader = loader.region(region);
        Self::connect_with(loader, table).await
    }

    /// As [`connect`](Self::connect), from a loader the caller has set up
    /// (tests point it at DynamoDB Local).
    pub async fn connect_with(
        loader: aws_config::ConfigLoader,
        table: &TableName,
    ) -> Result<Self, ConnectError> {
        let sdk = loader
            .http_client(http_client())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(CONNECT_TIMEOUT)
                    .operation_attempt_timeout(READ_ATTEMPT_TIMEOUT)
                    .operation_timeout(OPERATION_TIMEOUT)
                    .build(),
            )
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(MAX_ATTEMPTS)
                    .with_initial_backoff(INITIAL_BACKOFF)
                    .with_max_backoff(MAX_BACKOFF),
            )
            .load()
            .await;
        if sdk.region().is_none() {
            return Err(ConnectError::NoRegion);
        }
        Ok(Self::from_sdk_config(&sdk, table))
    }

    pub fn from_sdk_config(sdk: &SdkConfig, table: &TableName) -> Self {
        let writes = aws_sdk_dynamodb::config::Builder::from(sdk)
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(CONNECT_TIMEOUT)
                    // One attempt may use the whole budget: cutting a slow write short
                    // would not undo it, only hide whether it landed.
                    .operation_attempt_timeout(OPERATION_TIMEOUT)
                    .operation_timeout(OPERATION_TIMEOUT)
                    .build(),
            )
            .build();
        Self {
            reads: Client::new(sdk),
            writes: Client::from_conf(writes),
            table: table.as_str().to_owned(),
        }
    }

    /// Opens the connection (TLS included) before the first visit needs it.
    /// A failure here is logged, not fatal: the next request tries again.
    pub async fn warm_up(&self) {
        if let Err(error) = self.get().await {
            tracing::warn!(error = %crate::error::error_chain(&error), "DynamoDB warm-up read failed");
        }
    }

    async fn update_once(&self) -> Result<UpdateItemOutput, SdkError<UpdateItemError>> {
        self.writes
            .update_item()
            .table_name(&self.table)
            .key(HASH_KEY, AttributeValue::S(COUNTER_ID.to_owned()))
            .update_expression("ADD #count :one")
            // A stored value that is not a count (a string, a negative number) is left
            // as it is: the condition fails and nothing is written.
            .condition_expression(
                "attribute_not_exists(#count) OR (attribute_type(#count, :number) AND #count >= :zero)",
            )
            .expression_attribute_names("#count", COUNT_ATTRIBUTE)
            .expression_attribute_values(":one", AttributeValue::N("1".to_owned()))
            .expression_attribute_values(":zero", AttributeValue::N("0".to_owned()))
            .expression_attribute_values(":number", AttributeValue::S("N".to_owned()))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
    }
}

impl CounterStore for DynamoDbStore {
    async fn get(&self) -> Result<u64, StoreError> {
        let output = self
            .reads
            .get_item()
            .table_name(&self.table)
            .key(HASH_KEY, AttributeValue::S(COUNTER_ID.to_owned()))
            .consistent_read(true)
            .projection_expression("#count")
            .expression_attribute_names("#count", COUNT_ATTRIBUTE)
            .send()
            .await
            .map_err(|error| classify(error, false))?;
        match output.item().and_then(|item| item.get(COUNT_ATTRIBUTE)) {
            // Never visited: reads as 0, and nothing is written.
            None => Ok(0),
            Some(AttributeValue::N(number)) => number
                .parse()
                .map_err(|_| StoreError::NotACount(format!("the Number {number:?}"))),
            Some(other) => Err(StoreError::NotACount(format!("{other:?}"))),
        }
    }

    async fn increment(&self) -> Result<u64, StoreError> {
        let attempts = async {
            let mut attempt = 1;
            loop {
                match self.update_once().await {
                    Ok(output) => return updated_count(&output),
                    Err(error) if attempt < MAX_ATTEMPTS && never_applied(&error) => {
                        tokio::time::sleep(backoff(attempt)).await;
                        attempt += 1;
                    }
                    Err(error) => return Err(classify(error, true)),
                }
            }
        };
        tokio::time::timeout(OPERATION_TIMEOUT, attempts)
            .await
            .unwrap_or_else(|_elapsed| {
                Err(StoreError::Unavailable(
                    "UpdateItem did not finish within the operation timeout".into(),
                ))
            })
    }
}

/// The count in UpdateItem's answer. ADD on a Number always returns the new Number;
/// anything else means the reply is broken (the write itself did happen).
fn updated_count(output: &UpdateItemOutput) -> Result<u64, StoreError> {
    match output
        .attributes()
        .and_then(|item| item.get(COUNT_ATTRIBUTE))
    {
        Some(AttributeValue::N(number)) => number.parse().map_err(|_| {
            StoreError::Failed(format!("UpdateItem answered {number:?} as the count").into())
        }),
        other => Err(StoreError::Failed(
            format!("UpdateItem answered {other:?} as the count").into(),
        )),
    }
}

/// Exponential backoff with up to 50% jitter, so throttled callers spread out.
fn backoff(attempt: u32) -> Duration {
    let base = INITIAL_BACKOFF
        .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
        .min(MAX_BACKOFF);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.subsec_nanos())
        .unwrap_or(0);
    base + base.mul_f64(f64::from(nanos % 1000) / 2000.0)
}

/// Failures that prove the write did not happen, so one more attempt cannot double-count:
/// DynamoDB refused it (throttling), or no connection was ever made to send it on.
fn never_applied<R>(error: &SdkError<UpdateItemError, R>) -> bool
where
    R: std::fmt::Debug + 'static,
{
    match error {
        SdkError::ServiceError(service) => service
            .err()
            .code()
            .is_some_and(|code| THROTTLING_CODES.contains(&code)),
        SdkError::DispatchFailure(_) => {
            let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
            while let Some(cause) = source {
                if cause
                    .downcast_ref::<hyper_util::client::legacy::Error>()
                    .is_some_and(hyper_util::client::legacy::Error::is_connect)
                {
                    return true;
                }
                source = cause.source();
            }
            false
        }
        _ => false,
    }
}

fn classify<E>(
    error: SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>,
    write: bool,
) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let unavailable = match &error {
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or_default();
            if write && code == "ConditionalCheckFailedException" {
                return StoreError::NotACount(
                    "the stored count is not a non-negative Number".to_owned(),
                );
            }
            THROTTLING_CODES.contains(&code)
                || matches!(code, "InternalServerError" | "ServiceUnavailable")
                // A 5xx that is not DynamoDB's own error body (a proxy's or a load
                // balancer's page) is as much an outage as its InternalServerError.
                || service.raw().status().is_server_error()
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        _ => false,
    };
    let error: BoxError = Box::new(error);
    if unavailable {
        StoreError::Unavailable(error)
    } else {
        StoreError::Failed(error)
    }
}

/// HTTPS with rustls on the `ring` provider: smaller and quicker to start than the
/// SDK's default provider, which matters for a Lambda cold start.
pub fn http_client() -> aws_sdk_dynamodb::config::SharedHttpClient {
    use aws_smithy_http_client::tls;
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}
