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
    let files = raise_file_limit();
    let listener = TcpListener::bind(listen).await?;
    let address = listener.local_addr()?;
    println!("visitor-counter listening on http://{address} with the {store}; {files}");
    let clients = Clients::default();

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
                Ok((stream, peer)) => match clients.admit(peer.ip().to_canonical()) {
                    Some(slot) => (stream, slot),
                    // Past its share: closed at once, before a byte is read.
                    None => continue,
                },
                Err(error) => {
                    accept_failed(error).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let address = ClientAddress(client.ip.to_string());
        let service = TowerToHyperService::new(app.clone().map_request(
            move |mut request: http::Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(address.clone());
                request
            },
        ));
        let connection = connections
            .watch(http.serve_connection(TokioIo::new(wire::Wire::new(stream)), service));
        tokio::spawn(async move {
            // The client's slot is given back when its connection ends.
            let _slot = client;
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

/// The most connections one client address holds open at once; more are closed as
/// they arrive. Browsers open at most six per host; 256 leaves room for an office
/// behind one address (and a load test's pool), and keeps any one address from taking
/// more than a small share of the server's file descriptors.
pub const MAX_CONNECTIONS_PER_CLIENT: usize = 256;
/// How long accepting pauses after running out of file descriptors: long enough not
/// to spin, short enough that a freed descriptor is taken at once.
pub const ACCEPT_PAUSE: Duration = Duration::from_millis(10);

/// Open connections per client address. Addresses are held only while their
/// connections are open, never logged or written anywhere.
#[derive(Debug, Default, Clone)]
struct Clients(
    std::sync::Arc<std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>>,
);

/// One open connection's place in [`Clients`]; given back when dropped.
struct Slot {
    ip: std::net::IpAddr,
    clients: Clients,
}

impl Clients {
    fn admit(&self, ip: std::net::IpAddr) -> Option<Slot> {
        let mut open = self.0.lock().ok()?;
        let count = open.entry(ip).or_insert(0);
        if *count >= MAX_CONNECTIONS_PER_CLIENT {
            return None;
        }
        *count += 1;
        Some(Slot {
            ip,
            clients: self.clone(),
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Ok(mut open) = self.clients.0.lock()
            && let Some(count) = open.get_mut(&self.ip)
        {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// Raises the soft limit on open files to the hard limit (a server holds one per
/// connection, and the usual soft limit of 1,024 is soon reached); what the start-up
/// line says about it.
fn raise_file_limit() -> String {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, getrlimit, setrlimit};
        let limit = getrlimit(Resource::Nofile);
        let (Some(soft), hard) = (limit.current, limit.maximum) else {
            return "no limit on open files".to_owned();
        };
        if hard.is_some_and(|hard| hard <= soft) {
            return format!("open files limited to {soft}");
        }
        let raised = rustix::process::Rlimit {
            current: hard,
            maximum: hard,
        };
        match setrlimit(Resource::Nofile, raised) {
            Ok(()) => match hard {
                Some(hard) => format!("open files limited to {hard} (raised from {soft})"),
                None => "no limit on open files".to_owned(),
            },
            Err(error) => format!(
                "open files limited to {soft}: the limit could not be raised ({error}); raise it (ulimit -n) for many connections"
            ),
        }
    }
    #[cfg(not(unix))]
    {
        String::new()
    }
}

/// A failed `accept` ends one connection, never the server. Running out of file
/// descriptors is worth a short pause before trying again.
async fn accept_failed(error: std::io::Error) {
    use std::io::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::ConnectionRefused | ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(%error, "accepting a connection failed; trying again");
    tokio::time::sleep(ACCEPT_PAUSE).await;
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
