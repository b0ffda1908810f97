//! Lambda mode: the same app, fed by API Gateway HTTP API (payload 2.0) events.

use axum::Router;
use lambda_http::request::{LambdaRequest, RequestContext};
use lambda_http::{LambdaEvent, Request, RequestExt};
use tower::ServiceBuilder;
use tower::util::MapRequest;

use crate::visitor::ClientAddress;

/// The app as Lambda calls it.
pub type LambdaService = MapRequest<Router, fn(Request) -> Request>;

/// Wraps the app for Lambda: paths arrive with the stage in front (`/prod/count`),
/// which the app, like the contract, does not know about.
pub fn service(app: Router) -> LambdaService {
    ServiceBuilder::new()
        .map_request(strip_stage as fn(Request) -> Request)
        .service(app)
}

/// Serves invocations until Lambda stops the process.
pub async fn run(app: Router) -> Result<(), lambda_http::Error> {
    // `lambda_http::run`, with each event's query string made safe first.
    let handler = ServiceBuilder::new()
        .map_request(|event: LambdaEvent<LambdaRequest>| LambdaEvent {
            payload: escape_query(event.payload),
            context: event.context,
        })
        .service(lambda_http::Adapter::from(service(app)));
    lambda_http::lambda_runtime::run(handler).await
}

/// Percent-encodes the characters `http::Uri` refuses (`"`, `<`, `>`, space,
/// controls) in an event's raw query string, the one part of the URI a client
/// writes as it likes. lambda_http builds the request URI from it and panics on
/// such a character ("failed to build request"): the invocation fails and API
/// Gateway answers 500. The app never reads the query, so nothing else changes.
pub fn escape_query(mut event: LambdaRequest) -> LambdaRequest {
    if let LambdaRequest::ApiGatewayV2(request) = &mut event
        && let Some(query) = request.raw_query_string.as_mut()
        && http::uri::PathAndQuery::try_from(format!("/?{query}")).is_err()
    {
        let mut escaped = String::with_capacity(query.len() * 3);
        for byte in query.bytes() {
            if byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?%".contains(&byte) {
                escaped.push(char::from(byte));
            } else {
                escaped.push_str(&format!("%{byte:02X}"));
            }
        }
        *query = escaped;
    }
    event
}

/// `/prod/count` on stage `prod` becomes `/count`; the `$default` stage has no prefix.
/// The client's address is API Gateway's `requestContext.http.sourceIp` (the TCP peer
/// it saw), never a header the client sets.
fn strip_stage(mut request: Request) -> Request {
    let (stage, source_ip) = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => {
            (context.stage.clone(), context.http.source_ip.clone())
        }
        _ => (None, None),
    };
    if let Some(source_ip) = source_ip.filter(|ip| !ip.is_empty()) {
        request.extensions_mut().insert(ClientAddress(source_ip));
    }
    let Some(stage) = stage.filter(|stage| stage != "$default") else {
        return request;
    };
    let uri = request.uri();
    let path = uri.path();
    let Some(rest) = path
        .strip_prefix('/')
        .and_then(|p| p.strip_prefix(stage.as_str()))
        .filter(|rest| rest.is_empty() || rest.starts_with('/'))
    else {
        return request;
    };
    let rest = if rest.is_empty() { "/" } else { rest };
    let path_and_query = match uri.query() {
        Some(query) => format!("{rest}?{query}"),
        None => rest.to_owned(),
    };
    let mut parts = uri.clone().into_parts();
    if let Ok(path_and_query) = path_and_query.parse() {
        parts.path_and_query = Some(path_and_query);
        if let Ok(uri) = http::Uri::from_parts(parts) {
            *request.uri_mut() = uri;
        }
    }
    request
}

/// Tells Lambda why the function could not start (`/runtime/init/error`), so the
/// reason shows in the invocation error and the log instead of a bare exit.
/// Blocking: it runs once, as the process exits.
pub fn report_init_error(runtime_api: &str, message: &str) -> std::io::Result<()> {
    use std::io::{Read, Write};
    const LIMIT: std::time::Duration = std::time::Duration::from_secs(2);
    let body = serde_json::json!({
        "errorMessage": message,
        "errorType": "Runtime.ConfigurationError",
    })
    .to_string();
    let request = format!(
        "POST /2018-06-01/runtime/init/error HTTP/1.1\r\n\
         Host: {runtime_api}\r\n\
         Content-Type: application/json\r\n\
         Lambda-Runtime-Function-Error-Type: Runtime.ConfigurationError\r\n\
         Content-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = std::net::TcpStream::connect(runtime_api)?;
    stream.set_read_timeout(Some(LIMIT))?;
    stream.set_write_timeout(Some(LIMIT))?;
    stream.write_all(request.as_bytes())?;
    // Wait for the answer so the report is in before the process exits.
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    Ok(())
}
