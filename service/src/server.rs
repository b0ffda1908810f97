//! Local mode: the app on a plain HTTP server.

use std::net::SocketAddr;

use axum::Router;
use tokio::net::TcpListener;

/// Serves until Ctrl-C or SIGTERM, then lets requests in flight finish.
/// Prints one line saying where it listens and on what store.
pub async fn serve(listen: SocketAddr, app: Router, store: &str) -> std::io::Result<()> {
    let listener = TcpListener::bind(listen).await?;
    let address = listener.local_addr()?;
    println!("visitor-counter listening on http://{address} with the {store}");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
    tracing::info!("shutting down: finishing requests in flight");
}
