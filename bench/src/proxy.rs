//! What one invocation asks of DynamoDB: a recording proxy in front of DynamoDB Local
//! that counts the calls by operation, the round trips one after another (a call that
//! starts while none is in flight begins a new one), and the capacity units DynamoDB
//! reports in its answers (`ConsumedCapacity`, when the caller asked for it).
//!
//! It forwards every request and answer unchanged (DynamoDB Local does not check
//! signatures; the answer's `x-amz-crc32`, which boto3 checks, is passed on).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};
use serde::Serialize;

use crate::Result;

/// What DynamoDB was asked between two [`Proxy::take`]s.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Calls {
    /// Calls by operation (`UpdateItem`, ...).
    pub operations: BTreeMap<String, u64>,
    /// Round trips one after another: calls in parallel count once.
    pub round_trips: u64,
    /// Capacity units DynamoDB reported; `None` when no answer reported any (the
    /// caller did not ask for `ReturnConsumedCapacity`).
    pub write_units: Option<f64>,
    pub read_units: Option<f64>,
    /// The keys `GetItem` and `BatchGetItem` asked for, counted as DynamoDB bills them
    /// for items under 4 KB: 1 unit each strongly consistent, 0.5 eventually
    /// consistent, found or not (DynamoDB Local reports units for found items only).
    pub key_read_units: f64,
    /// The units DynamoDB reported for `Query` and `Scan` (billed by the size read).
    pub query_units: f64,
}

impl Calls {
    /// The read units DynamoDB would bill for these calls, items under 4 KB: the keys
    /// asked for, and what the queries reported.
    pub fn billed_read_units(&self) -> f64 {
        self.key_read_units + self.query_units
    }

    /// `UpdateItem x2, GetItem x1`.
    pub fn operations_text(&self) -> String {
        self.operations
            .iter()
            .map(|(op, n)| format!("{op} x{n}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[derive(Default)]
struct Recording {
    calls: Calls,
    in_flight: u64,
}

struct Shared {
    upstream: String,
    client: reqwest::Client,
    recording: Mutex<Recording>,
}

/// The proxy, serving on a loopback port until dropped.
pub struct Proxy {
    pub endpoint: String,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl Proxy {
    pub async fn start(upstream: &str) -> Result<Self> {
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_owned(),
            client: testkit::http_client()?,
            recording: Mutex::new(Recording::default()),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let router = Router::new()
            .fallback(forward)
            .with_state(Arc::clone(&shared));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(Self {
            endpoint,
            shared,
            server,
        })
    }

    /// What was recorded since the last call, and a fresh start.
    pub fn take(&self) -> Calls {
        match self.shared.recording.lock() {
            Ok(mut recording) => std::mem::take(&mut recording.calls),
            Err(_) => Calls::default(),
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn forward(
    State(shared): State<Arc<Shared>>,
    method: http::Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let operation = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|target| target.rsplit('.').next())
        .unwrap_or("unknown")
        .to_owned();
    let asked = key_read_units(&operation, &body);
    if let Ok(mut recording) = shared.recording.lock() {
        recording.calls.key_read_units += asked;
        if recording.in_flight == 0 {
            recording.calls.round_trips += 1;
        }
        recording.in_flight += 1;
        *recording
            .calls
            .operations
            .entry(operation.clone())
            .or_default() += 1;
    }
    let mut request = shared
        .client
        .request(method, format!("{}/", shared.upstream))
        .body(body);
    for (name, value) in &headers {
        if name != http::header::HOST && name != http::header::CONTENT_LENGTH {
            request = request.header(name, value);
        }
    }
    let answer = async {
        let response = request.send().await?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await?;
        Ok::<_, reqwest::Error>((status, headers, body))
    }
    .await;
    let mut recording = shared.recording.lock().ok();
    if let Some(recording) = recording.as_mut() {
        recording.in_flight = recording.in_flight.saturating_sub(1);
    }
    match answer {
        Ok((status, upstream_headers, body)) => {
            if let Some(recording) = recording.as_mut() {
                consumed(&mut recording.calls, &operation, &body);
            }
            drop(recording);
            let mut response = (status, body).into_response();
            for (name, value) in &upstream_headers {
                if name != http::header::CONTENT_LENGTH
                    && name != http::header::TRANSFER_ENCODING
                    && name != http::header::CONNECTION
                {
                    response.headers_mut().insert(name, value.clone());
                }
            }
            response
        }
        Err(error) => (StatusCode::BAD_GATEWAY, error.to_string()).into_response(),
    }
}

/// Adds the `ConsumedCapacity` of one answer (an object, or a list for batches and
/// transactions) to `calls`: read units for the operations that read, write units
/// for the others.
fn consumed(calls: &mut Calls, operation: &str, body: &[u8]) {
    let Ok(answer) = serde_json::from_slice::<serde_json::Value>(body) else {
        return;
    };
    let units: f64 = match &answer["ConsumedCapacity"] {
        serde_json::Value::Array(list) => list
            .iter()
            .filter_map(|entry| entry["CapacityUnits"].as_f64())
            .sum(),
        serde_json::Value::Object(entry) => entry
            .get("CapacityUnits")
            .and_then(serde_json::Value::as_f64)
            .unwrap_or(0.0),
        _ => return,
    };
    if matches!(operation, "Scan" | "Query") {
        calls.query_units += units;
    }
    let reads = matches!(operation, "GetItem" | "BatchGetItem" | "Scan" | "Query");
    let slot = if reads {
        &mut calls.read_units
    } else {
        &mut calls.write_units
    };
    *slot.get_or_insert(0.0) += units;
}

/// The units the keys of a `GetItem` or `BatchGetItem` request are billed, whether or
/// not their items exist: 1 a key strongly consistent, 0.5 eventually consistent (items
/// under 4 KB).
fn key_read_units(operation: &str, body: &[u8]) -> f64 {
    let Ok(request) = serde_json::from_slice::<serde_json::Value>(body) else {
        return 0.0;
    };
    let unit = |consistent: &serde_json::Value| {
        if consistent.as_bool() == Some(true) {
            1.0
        } else {
            0.5
        }
    };
    match operation {
        "GetItem" => unit(&request["ConsistentRead"]),
        "BatchGetItem" => request["RequestItems"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(_, table)| {
                let keys = table["Keys"].as_array().map_or(0, Vec::len);
                keys as f64 * unit(&table["ConsistentRead"])
            })
            .sum(),
        _ => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_billed_found_or_not_strongly_consistent_at_one_unit() {
        let get = br#"{"TableName":"t","Key":{"id":{"S":"a"}},"ConsistentRead":true}"#;
        assert_eq!(key_read_units("GetItem", get), 1.0);
        let eventual = br#"{"TableName":"t","Key":{"id":{"S":"a"}}}"#;
        assert_eq!(key_read_units("GetItem", eventual), 0.5);
        let batch = br#"{"RequestItems":{"t":{"Keys":[{"id":{"S":"a"}},{"id":{"S":"b"}},{"id":{"S":"c"}}],"ConsistentRead":true},"u":{"Keys":[{"id":{"S":"d"}}]}}}"#;
        assert_eq!(key_read_units("BatchGetItem", batch), 3.5);
        assert_eq!(key_read_units("Query", batch), 0.0);
    }

    #[test]
    fn query_units_are_kept_apart_from_the_keys() {
        let mut calls = Calls::default();
        consumed(
            &mut calls,
            "Query",
            br#"{"ConsumedCapacity":{"TableName":"t","CapacityUnits":2.5}}"#,
        );
        consumed(
            &mut calls,
            "BatchGetItem",
            br#"{"ConsumedCapacity":[{"TableName":"t","CapacityUnits":3.0}]}"#,
        );
        assert_eq!(calls.query_units, 2.5);
        assert_eq!(calls.read_units, Some(5.5));
    }
}
