//! visitor-counter: a website visitor counter.
//!
//! One axum [`app`](app::app) serves `/count`, `/counters`, `/totals`, the badges, the
//! embed script and the dashboard; [`run`] puts it behind AWS Lambda or a local HTTP
//! server, on DynamoDB or the embedded store, as [`Config`] says. [`operator`] reads the
//! command line: serving is the default, and `counters ...` are the operator's commands
//! on the same store.
//!
//! Layers, each using only those before it (`tests/api/layers.rs` checks there is no
//! import cycle):
//! - the domain: [`names`], [`day`], [`visitor`], [`idempotency`], [`bots`], [`auth`],
//!   [`markup`], [`chain`];
//! - the store: [`store`] (DynamoDB and embedded), with [`badge`], [`export`] and
//!   [`dashboard`], which render what it holds;
//! - HTTP: [`app`] (routes, CORS, the embed script) and [`problem`];
//! - the runners and start-up: [`lambda`], [`server`], [`config`], [`error`],
//!   [`logging`], [`operator`].

pub mod app;
pub mod auth;
pub mod badge;
pub mod bots;
pub mod chain;
pub mod config;
pub mod dashboard;
pub mod day;
pub mod error;
pub mod export;
pub mod idempotency;
pub mod lambda;
pub mod logging;
pub mod markup;
pub mod names;
pub mod operator;
pub mod problem;
pub mod server;
pub mod store;
pub mod visitor;

pub use chain::error_chain;
pub use config::Config;
pub use error::StartError;

use std::sync::Arc;

use app::Settings;
use config::{Mode, StoreConfig};
use store::{CounterStore, DynamoDbStore, EmbeddedStore};

/// Opens the configured store and serves the app until stopped.
pub fn run(config: Config) -> Result<(), StartError> {
    // Lambda runs one invocation at a time: a single-threaded runtime starts faster.
    let runtime = match config.mode {
        Mode::Lambda { .. } => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        Mode::Local { .. } => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build(),
    }
    .map_err(StartError::AsyncRuntime)?;
    runtime.block_on(run_async(config))
}

async fn run_async(config: Config) -> Result<(), StartError> {
    let Config {
        mode,
        store,
        allowed_origins,
        counters,
        dashboard,
        limits,
        dashboard_password,
        logging: _,
    } = config;
    let origins = match &allowed_origins {
        config::AllowedOrigins::None => {
            "no origin may count from a page (ALLOWED_ORIGINS is unset)".to_owned()
        }
        other => format!("origins allowed: {other}"),
    };
    let settings = Settings {
        allowed_origins,
        counters,
        dashboard,
        limits,
        dashboard_password,
        ..Settings::default()
    };
    match store {
        StoreConfig::DynamoDb { table } => {
            let description = format!("DynamoDB table {table}; {origins}");
            let store = DynamoDbStore::connect(&table).await?;
            store.warm_up().await;
            serve(mode, store, settings, &description).await
        }
        StoreConfig::Embedded { path } => {
            let store = EmbeddedStore::open(&path)
                .map_err(|source| StartError::EmbeddedStore { path, source })?;
            let shown = std::path::absolute(store.path()).unwrap_or_else(|_| store.path().into());
            let description = format!("embedded store {}; {origins}", shown.display());
            serve(mode, store, settings, &description).await
        }
    }
}

async fn serve<S: CounterStore>(
    mode: Mode,
    store: S,
    settings: Settings,
    description: &str,
) -> Result<(), StartError> {
    let app = app::app(Arc::new(store), settings);
    match mode {
        Mode::Lambda { .. } => lambda::run(app).await.map_err(StartError::Lambda),
        Mode::Local { listen } => server::serve(listen, app, description)
            .await
            .map_err(|source| StartError::Listen { listen, source }),
    }
}
