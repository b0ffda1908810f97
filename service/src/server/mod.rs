//! Local mode: the app on a plain HTTP/1.1 server, with the limits a public
//! endpoint needs (API Gateway applies its own in front of Lambda).
//!
//! hyper's connection builder rather than `axum::serve`: `axum::serve` sets no
//! timer, so a client trickling its headers could hold a connection open forever,
//! and it takes headers up to hyper's ~400 KB buffer.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::ServiceExt;

use crate::visitor::ClientAddress;

mod wire;
pub use wire::{LINGER_BYTES, LINGER_IDLE, LINGER_TIME};

/// How long a client may take to send a request's headers; the connection is
/// closed after it. Also bounds how long an idle keep-alive connection stays open.
/// (The body has its own limit, [`crate::app::BODY_TIMEOUT`], answered with 408.)
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// The most bytes of request line and headers taken; more is answered 431.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// The most request headers taken; more is answered 431.
pub const MAX_HEADERS: usize = 64;

/// Serves until Ctrl-C or SIGTERM, then lets requests in flight finish.
/// Prints one line saying where it listens and on what store.
pub async fn serve(listen: SocketAddr, app: Router, store: &str) -> std::io::Result<()> {
    // Handlers first: a signal that arrives right after the start-up line must
    // already mean "shut down cleanly", not the default "die".
    let shutdown = shutdown_signal()?;
    let listener = TcpListener::bind(listen).await?;
    let address = listener.local_addr()?;
    println!("visitor-counter listening on http://{address} with the {store}");

    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_header_size(MAX_HEADER_BYTES)
        .max_headers(MAX_HEADERS);
    let connections = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, client) = tokio::select! {
            accepted = listener.accept() => match accepted {
                // The peer's address is neither kept nor logged: it goes with each
                // request to be hashed into a visitor marker, and nowhere else.
                Ok((stream, peer)) => (stream, ClientAddress(peer.ip().to_canonical().to_string())),
                Err(error) => {
                    accept_failed(error).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = TowerToHyperService::new(app.clone().map_request(
            move |mut request: http::Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(client.clone());
                request
            },
        ));
        let connection = connections
            .watch(http.serve_connection(TokioIo::new(wire::Wire::new(stream)), service));
        tokio::spawn(async move {
            // Timeouts, limits and clients that hang up end here; none is the server's fault.
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection closed with an error");
            }
        });
    }
    // No new connections from here; open ones finish the request they are on.
    drop(listener);
    connections.shutdown().await;
    tracing::info!("stopped");
    Ok(())
}

/// A failed `accept` ends one connection, never the server. Running out of file
/// descriptors is worth a pause before trying again, as `axum::serve` does.
async fn accept_failed(error: std::io::Error) {
    use std::io::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::ConnectionRefused | ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(%error, "accepting a connection failed; retrying in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

#[cfg(unix)]
fn shutdown_signal() -> std::io::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
        tracing::info!("shutting down: finishing requests in flight");
    })
}

#[cfg(not(unix))]
fn shutdown_signal() -> std::io::Result<impl Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down: finishing requests in flight");
    })
}
