//! Local mode: the app on a plain HTTP server.

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use tokio::net::TcpListener;

/// Serves until Ctrl-C or SIGTERM, then lets requests in flight finish.
/// Prints one line saying where it listens and on what store.
pub async fn serve(listen: SocketAddr, app: Router, store: &str) -> std::io::Result<()> {
    // Handlers first: a signal that arrives right after the start-up line must
    // already mean "shut down cleanly", not the default "die".
    let shutdown = shutdown_signal()?;
    let listener = TcpListener::bind(listen).await?;
    let address = listener.local_addr()?;
    println!("visitor-counter listening on http://{address} with the {store}");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    tracing::info!("stopped");
    Ok(())
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
