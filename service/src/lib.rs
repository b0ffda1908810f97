//! visitor-counter: a website visitor counter.
//!
//! One axum [`app`](app::app) serves `/count`; [`run`] puts it behind AWS Lambda or a
//! local HTTP server, on DynamoDB or the embedded store, as [`Config`] says.

pub mod app;
pub mod config;
pub mod cors;
pub mod lambda;
pub mod problem;
pub mod server;
pub mod store;

pub use config::Config;

use std::sync::Arc;

use config::{AllowedOrigins, COUNTER_DB, COUNTER_TABLE, LISTEN_ADDR, Mode, StoreConfig};
use store::{CounterStore, DynamoDbStore, EmbeddedStore};

/// Why the service could not start or stopped: one line, naming the variable
/// to fix where there is one.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StartError(String);

impl From<config::ConfigError> for StartError {
    fn from(error: config::ConfigError) -> Self {
        Self(error.to_string())
    }
}

/// Opens the configured store and serves the app until stopped.
pub async fn run(config: Config) -> Result<(), StartError> {
    let Config {
        mode,
        store,
        allowed_origins,
    } = config;
    let description = store.to_string();
    match store {
        StoreConfig::DynamoDb { table } => {
            let store = DynamoDbStore::connect(&table)
                .await
                .map_err(|e| StartError(format!("{COUNTER_TABLE}: {}", app::error_chain(&e))))?;
            store.warm_up().await;
            serve(mode, store, allowed_origins, &description).await
        }
        StoreConfig::Embedded { path } => {
            let store = EmbeddedStore::open(&path).map_err(|e| {
                StartError(format!(
                    "{COUNTER_DB}: cannot open {}: {}",
                    path.display(),
                    app::error_chain(&e)
                ))
            })?;
            let description = match std::path::absolute(store.path()) {
                Ok(path) => format!("embedded store {}", path.display()),
                Err(_) => description,
            };
            serve(mode, store, allowed_origins, &description).await
        }
    }
}

async fn serve<S: CounterStore>(
    mode: Mode,
    store: S,
    allowed_origins: AllowedOrigins,
    description: &str,
) -> Result<(), StartError> {
    let app = app::app(Arc::new(store), allowed_origins);
    match mode {
        Mode::Lambda => lambda::run(app)
            .await
            .map_err(|e| StartError(format!("Lambda runtime: {e}"))),
        Mode::Local { listen } => server::serve(listen, app, description)
            .await
            .map_err(|e| StartError(format!("{LISTEN_ADDR}: cannot serve on {listen}: {e}"))),
    }
}
