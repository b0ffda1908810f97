//! Time limits, retries and what a failure means: whether a write may have landed,
//! and whether the client is told to come back (`503`) or not (`500`).

#[allow(unused_imports)]
use super::*;

/// Every store call answers within this, success or not (the contract promises 3 s).
pub const OPERATION_TIMEOUT: Duration = crate::store::DEADLINE;
/// One read attempt; a read is retried (it changes nothing) until the operation times out.
pub const READ_ATTEMPT_TIMEOUT: Duration = Duration::from_millis(1000);
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
/// Attempts per call, for reads, and for writes that DynamoDB refused outright.
pub(super) const MAX_ATTEMPTS: u32 = 3;
pub(super) const INITIAL_BACKOFF: Duration = Duration::from_millis(25);
pub(super) const MAX_BACKOFF: Duration = Duration::from_millis(250);

/// Error codes with which DynamoDB refuses a request without applying it (with
/// `TransactionConflictException` when the item is in a keyed visit's transaction at
/// that moment).
pub(super) const THROTTLING_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TransactionConflictException",
];

pub(super) fn failed(error: BoxError) -> StoreError {
    StoreError::Failed(error)
}

/// The reasons DynamoDB gave for cancelling a transaction, if it did.
pub(super) fn cancellation_reasons(
    error: &SdkError<TransactWriteItemsError, HttpResponse>,
) -> Option<Vec<CancellationReason>> {
    match error {
        SdkError::ServiceError(service) => match service.err() {
            TransactWriteItemsError::TransactionCanceledException(cancelled) => {
                Some(cancelled.cancellation_reasons().to_vec())
            }
            _ => None,
        },
        _ => None,
    }
}

/// Exponential backoff with up to 50% jitter, so throttled callers spread out.
pub(super) fn backoff(attempt: u32) -> Duration {
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
pub(super) fn never_applied<E, R>(error: &SdkError<E, R>) -> bool
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
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

pub(super) fn classify<E>(
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
