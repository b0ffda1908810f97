//! Configuration: every environment variable the service reads is read and
//! validated here, once, at start-up.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

pub use crate::app::AllowedOrigins;
use crate::auth::Password;
use crate::names::AllowedCounters;
use crate::store::Limits;
pub use crate::store::dynamodb::TableName;

/// DynamoDB table name; when set, the DynamoDB store is used.
pub const COUNTER_TABLE: &str = "COUNTER_TABLE";
/// The embedded store's file (used when `COUNTER_TABLE` is not set).
pub const COUNTER_DB: &str = "COUNTER_DB";
/// Comma-separated CORS allow-list of origins, or `*`.
pub const ALLOWED_ORIGINS: &str = "ALLOWED_ORIGINS";
/// Comma-separated allow-list of counter names and `prefix*` patterns; unset, any valid name.
pub const COUNTERS: &str = "COUNTERS";
/// `off` turns the dashboard (`GET /dashboard`) into a 404; `on` (the default) serves it.
pub const DASHBOARD: &str = "DASHBOARD";
/// The most views one visitor counts on one counter in one UTC day (default 50).
pub const VIEWS_PER_VISITOR: &str = "VIEWS_PER_VISITOR";
/// The most counters the store holds (default 10,000); a POST that would make one more
/// is refused.
pub const MAX_COUNTERS: &str = "MAX_COUNTERS";
/// When set, `/dashboard` and `GET /counters` ask for it (HTTP Basic, any user name).
pub const DASHBOARD_PASSWORD: &str = "DASHBOARD_PASSWORD";
/// Local server address.
pub const LISTEN_ADDR: &str = "LISTEN_ADDR";
/// Set by AWS Lambda; when present the binary runs as a Lambda function.
pub const AWS_LAMBDA_RUNTIME_API: &str = "AWS_LAMBDA_RUNTIME_API";
/// Log level (`error`, `warn`, `info`, `debug`, `trace`).
pub const RUST_LOG: &str = "RUST_LOG";
/// Lambda's own log level setting; wins over `RUST_LOG` in Lambda.
pub const AWS_LAMBDA_LOG_LEVEL: &str = "AWS_LAMBDA_LOG_LEVEL";
/// Lambda's log format, `Text` or `JSON`.
pub const AWS_LAMBDA_LOG_FORMAT: &str = "AWS_LAMBDA_LOG_FORMAT";

/// The variables the deployed function is configured with (Terraform sets these).
pub const FUNCTION_VARIABLES: &[&str] = &[
    COUNTER_TABLE,
    ALLOWED_ORIGINS,
    COUNTERS,
    DASHBOARD,
    VIEWS_PER_VISITOR,
    MAX_COUNTERS,
    DASHBOARD_PASSWORD,
];

/// The largest `VIEWS_PER_VISITOR` or `MAX_COUNTERS`: 2^53 - 1, the largest integer
/// every JSON reader keeps exactly.
pub const MAX_LIMIT: u64 = (1 << 53) - 1;
/// The shortest `DASHBOARD_PASSWORD` accepted.
pub const MIN_PASSWORD: usize = 8;

pub const DEFAULT_LISTEN_ADDR: &str = "127.0.0.1:3000";
pub const DEFAULT_COUNTER_DB: &str = "visitor-counter.redb";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub mode: Mode,
    pub store: StoreConfig,
    pub allowed_origins: AllowedOrigins,
    pub counters: AllowedCounters,
    /// Whether `GET /dashboard` is served (`DASHBOARD`).
    pub dashboard: bool,
    /// `VIEWS_PER_VISITOR` and `MAX_COUNTERS`.
    pub limits: Limits,
    /// `DASHBOARD_PASSWORD`: the dashboard and the list are the owner's when set.
    pub dashboard_password: Option<Password>,
    pub logging: Logging,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Serve Lambda invocations from the runtime API at this address.
    Lambda { runtime_api: String },
    /// Serve HTTP on this address.
    Local { listen: SocketAddr },
}

impl Mode {
    /// The Lambda Runtime API's address, in Lambda.
    pub fn runtime_api(&self) -> Option<&str> {
        match self {
            Mode::Lambda { runtime_api } => Some(runtime_api),
            Mode::Local { .. } => None,
        }
    }
}

/// Where and how the service logs (always to stderr).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logging {
    pub level: tracing::Level,
    pub format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Plain lines with timestamps, coloured on a terminal (local mode).
    Terminal,
    /// Plain lines without timestamps (Lambda adds its own).
    LambdaText,
    /// JSON lines (Lambda with `AWS_LAMBDA_LOG_FORMAT=JSON`).
    LambdaJson,
}

/// A log level as `RUST_LOG` or Lambda's `AWS_LAMBDA_LOG_LEVEL` spell it, any case.
/// Lambda's `FATAL` is the most severe level this service has, `error`.
/// Empty is the same as unset (`None`). Filters by module (`hyper=warn`) are refused:
/// this service has one level for all of its log.
fn parse_level(value: &str) -> Result<Option<tracing::Level>, String> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    if value.eq_ignore_ascii_case("fatal") {
        return Ok(Some(tracing::Level::ERROR));
    }
    value.parse().map(Some).map_err(|_| {
        format!(
            "{value:?} is not a log level (expected one of error, warn, info, debug or trace; filters by module are not supported)"
        )
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreConfig {
    DynamoDb { table: TableName },
    Embedded { path: PathBuf },
}

impl fmt::Display for StoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreConfig::DynamoDb { table } => write!(f, "DynamoDB table {table}"),
            StoreConfig::Embedded { path } => write!(f, "embedded store {}", path.display()),
        }
    }
}

/// A configuration value that stops start-up; its message names the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {message}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub message: String,
    /// The Lambda Runtime API's address when running in Lambda, so that the
    /// failure can be reported there too (`/runtime/init/error`).
    pub runtime_api: Option<String>,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var_os(name))
    }

    /// Reads configuration through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<std::ffi::OsString>,
    ) -> Result<Self, ConfigError> {
        let runtime_api =
            lookup(AWS_LAMBDA_RUNTIME_API).map(|value| value.to_string_lossy().into_owned());
        Self::read(&lookup, runtime_api.as_deref()).map_err(|(variable, message)| ConfigError {
            variable,
            message,
            runtime_api,
        })
    }

    fn read(
        lookup: &impl Fn(&str) -> Option<std::ffi::OsString>,
        runtime_api: Option<&str>,
    ) -> Result<Self, (&'static str, String)> {
        let text = |variable: &'static str| -> Result<Option<String>, (&'static str, String)> {
            match lookup(variable) {
                None => Ok(None),
                Some(value) => value
                    .into_string()
                    .map(Some)
                    .map_err(|_| (variable, "the value is not valid UTF-8".to_owned())),
            }
        };
        let fail = |variable: &'static str| move |message: String| (variable, message);

        let lambda = runtime_api.is_some();

        let mode = if let Some(runtime_api) = runtime_api {
            Mode::Lambda {
                runtime_api: runtime_api.to_owned(),
            }
        } else {
            let listen = match text(LISTEN_ADDR)? {
                None => DEFAULT_LISTEN_ADDR.to_owned(),
                Some(value) => value,
            };
            let listen = listen.trim().parse::<SocketAddr>().map_err(|_| {
                (
                    LISTEN_ADDR,
                    format!("{listen:?} is not an address (expected IP:PORT, e.g. {DEFAULT_LISTEN_ADDR})"),
                )
            })?;
            Mode::Local { listen }
        };

        let store = match text(COUNTER_TABLE)? {
            Some(table) => StoreConfig::DynamoDb {
                table: TableName::parse(table.trim()).map_err(fail(COUNTER_TABLE))?,
            },
            None if lambda => {
                return Err((
                    COUNTER_TABLE,
                    "must be set when running in AWS Lambda (the embedded store is for local use)"
                        .to_owned(),
                ));
            }
            None => {
                let path = lookup(COUNTER_DB)
                    .map(PathBuf::from)
                    .unwrap_or_else(|| PathBuf::from(DEFAULT_COUNTER_DB));
                if path.as_os_str().is_empty() {
                    return Err((
                        COUNTER_DB,
                        "is empty; give a file path or unset it for the default".to_owned(),
                    ));
                }
                StoreConfig::Embedded { path }
            }
        };

        let allowed_origins = match text(ALLOWED_ORIGINS)? {
            None => AllowedOrigins::None,
            Some(value) => AllowedOrigins::parse(&value).map_err(fail(ALLOWED_ORIGINS))?,
        };

        let counters = match text(COUNTERS)? {
            None => AllowedCounters::Any,
            Some(value) => AllowedCounters::parse(&value).map_err(fail(COUNTERS))?,
        };

        let dashboard = match text(DASHBOARD)?.as_deref().map(str::trim) {
            None | Some("") => true,
            Some(value) if value.eq_ignore_ascii_case("on") => true,
            Some(value) if value.eq_ignore_ascii_case("off") => false,
            Some(other) => {
                return Err((
                    DASHBOARD,
                    format!("{other:?} is neither on nor off (unset, the dashboard is on)"),
                ));
            }
        };

        let positive = |variable: &'static str,
                        default: u64|
         -> Result<u64, (&'static str, String)> {
            match text(variable)?.as_deref().map(str::trim) {
                None | Some("") => Ok(default),
                Some(value) => match value.replace('_', "").parse::<u64>() {
                    Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
                    _ => Err((
                        variable,
                        format!(
                            "{value:?} is not a whole number from 1 to {MAX_LIMIT} (unset, it is {default})"
                        ),
                    )),
                },
            }
        };
        let limits = Limits {
            views_per_visitor: positive(VIEWS_PER_VISITOR, Limits::DEFAULT_VIEWS_PER_VISITOR)?,
            max_counters: positive(MAX_COUNTERS, Limits::DEFAULT_MAX_COUNTERS)?,
        };

        let dashboard_password = match text(DASHBOARD_PASSWORD)? {
            None => None,
            Some(value) if value.is_empty() => None,
            Some(value) if value.trim() != value || value.chars().any(char::is_control) => {
                return Err((
                    DASHBOARD_PASSWORD,
                    "has spaces at its ends or control characters, which a browser's password prompt cannot send; unset it to leave the dashboard open".to_owned(),
                ));
            }
            Some(value) if value.chars().count() < MIN_PASSWORD => {
                return Err((
                    DASHBOARD_PASSWORD,
                    format!(
                        "is shorter than {MIN_PASSWORD} characters; choose a longer one, or unset it to leave the dashboard open"
                    ),
                ));
            }
            Some(value) => Some(Password::new(&value)),
        };

        // Lambda's own level setting wins there; RUST_LOG is read only when it is unset.
        let lambda_level = match lambda
            .then(|| text(AWS_LAMBDA_LOG_LEVEL))
            .transpose()?
            .flatten()
        {
            Some(value) => parse_level(&value).map_err(fail(AWS_LAMBDA_LOG_LEVEL))?,
            None => None,
        };
        let level = match lambda_level {
            Some(level) => level,
            None => match text(RUST_LOG)? {
                Some(value) => parse_level(&value).map_err(fail(RUST_LOG))?,
                None => None,
            }
            .unwrap_or(tracing::Level::INFO),
        };
        let format = if !lambda {
            LogFormat::Terminal
        } else {
            match text(AWS_LAMBDA_LOG_FORMAT)?.as_deref().map(str::trim) {
                Some(format) if format.eq_ignore_ascii_case("json") => LogFormat::LambdaJson,
                None | Some("") => LogFormat::LambdaText,
                Some(format) if format.eq_ignore_ascii_case("text") => LogFormat::LambdaText,
                Some(other) => {
                    return Err((
                        AWS_LAMBDA_LOG_FORMAT,
                        format!("{other:?} is not a log format (expected Text or JSON)"),
                    ));
                }
            }
        };

        Ok(Self {
            mode,
            store,
            allowed_origins,
            counters,
            dashboard,
            limits,
            dashboard_password,
            logging: Logging { level, format },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::ffi::OsString;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, OsString> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), OsString::from(v)))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_are_local_embedded_and_no_cors() {
        let config = config(&[]).unwrap();
        assert_eq!(
            config.mode,
            Mode::Local {
                listen: "127.0.0.1:3000".parse().unwrap()
            }
        );
        assert_eq!(
            config.store,
            StoreConfig::Embedded {
                path: PathBuf::from("visitor-counter.redb")
            }
        );
        assert_eq!(config.allowed_origins, AllowedOrigins::None);
        assert!(config.dashboard);
    }

    #[test]
    fn the_dashboard_is_on_unless_turned_off() {
        for (value, on) in [
            ("on", true),
            ("ON", true),
            ("", true),
            (" off ", false),
            ("Off", false),
        ] {
            assert_eq!(
                config(&[(DASHBOARD, value)]).unwrap().dashboard,
                on,
                "{value:?}"
            );
        }
        let err = config(&[(DASHBOARD, "no")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "DASHBOARD: \"no\" is neither on nor off (unset, the dashboard is on)"
        );
    }

    #[test]
    fn table_selects_dynamodb_and_lambda_requires_it() {
        let c = config(&[(COUNTER_TABLE, "visitor-count")]).unwrap();
        assert_eq!(c.store.to_string(), "DynamoDB table visitor-count");
        let err = config(&[(AWS_LAMBDA_RUNTIME_API, "127.0.0.1:9001")]).unwrap_err();
        assert_eq!(err.variable, COUNTER_TABLE);
        assert_eq!(err.runtime_api.as_deref(), Some("127.0.0.1:9001"));
        let c = config(&[
            (AWS_LAMBDA_RUNTIME_API, "127.0.0.1:9001"),
            (COUNTER_TABLE, "visitor-count"),
            (LISTEN_ADDR, "not used in Lambda"),
        ])
        .unwrap();
        assert_eq!(
            c.mode,
            Mode::Lambda {
                runtime_api: "127.0.0.1:9001".into()
            }
        );
    }

    #[test]
    fn log_level_and_format() {
        let c = config(&[]).unwrap();
        assert_eq!(
            c.logging,
            Logging {
                level: tracing::Level::INFO,
                format: LogFormat::Terminal
            }
        );
        assert_eq!(
            config(&[(RUST_LOG, "DEBUG")]).unwrap().logging.level,
            tracing::Level::DEBUG
        );
        assert_eq!(
            config(&[(RUST_LOG, " ")]).unwrap().logging.level,
            tracing::Level::INFO
        );
        let filter = config(&[(RUST_LOG, "info,hyper=warn")]).unwrap_err();
        assert!(filter.to_string().contains("filters by module"), "{filter}");
        let lambda = [
            (AWS_LAMBDA_RUNTIME_API, "127.0.0.1:9001"),
            (COUNTER_TABLE, "visitor-count"),
        ];
        let with = |extra: &[(&str, &str)]| config(&[lambda.as_slice(), extra].concat());
        assert_eq!(with(&[]).unwrap().logging.format, LogFormat::LambdaText);
        let c = with(&[
            (AWS_LAMBDA_LOG_FORMAT, "JSON"),
            (AWS_LAMBDA_LOG_LEVEL, "FATAL"),
            (RUST_LOG, "trace"),
        ])
        .unwrap();
        assert_eq!(
            c.logging,
            Logging {
                level: tracing::Level::ERROR,
                format: LogFormat::LambdaJson
            }
        );
        // Outside Lambda, Lambda's own settings are not read.
        assert_eq!(
            config(&[(AWS_LAMBDA_LOG_LEVEL, "nonsense")])
                .unwrap()
                .logging
                .level,
            tracing::Level::INFO
        );
        assert_eq!(
            with(&[(AWS_LAMBDA_LOG_FORMAT, "xml")])
                .unwrap_err()
                .variable,
            AWS_LAMBDA_LOG_FORMAT
        );
        assert_eq!(
            with(&[(AWS_LAMBDA_LOG_LEVEL, "loud")])
                .unwrap_err()
                .variable,
            AWS_LAMBDA_LOG_LEVEL
        );
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (variable, value) in [
            (LISTEN_ADDR, "localhost"),
            (LISTEN_ADDR, "127.0.0.1:99999"),
            (COUNTER_TABLE, "ab"),
            (COUNTER_TABLE, "bad name"),
            (COUNTER_DB, ""),
            (ALLOWED_ORIGINS, "example.com"),
            (ALLOWED_ORIGINS, "https://example.com/"),
            (ALLOWED_ORIGINS, "ftp://example.com"),
            (ALLOWED_ORIGINS, "https://a.com,,https://b.com"),
            (ALLOWED_ORIGINS, "https://a.com,*"),
            (ALLOWED_ORIGINS, "https://a.com:port"),
            (RUST_LOG, "verbose"),
            (DASHBOARD, "false"),
        ] {
            let err = config(&[(variable, value)]).unwrap_err();
            assert_eq!(err.variable, variable, "{value:?}");
            let line = err.to_string();
            assert!(line.starts_with(&format!("{variable}: ")), "{line}");
            assert!(!line.contains('\n'), "{line}");
        }
    }

    #[test]
    fn origins_are_exact_and_normalised() {
        let origins =
            AllowedOrigins::parse(" https://Example.com , http://localhost:8080").unwrap();
        assert_eq!(
            origins,
            AllowedOrigins::List(vec![
                "https://example.com".into(),
                "http://localhost:8080".into()
            ])
        );
        assert!(origins.allows(b"https://example.com"));
        assert!(origins.allows(b"http://localhost:8080"));
        assert!(!origins.allows(b"https://example.com.evil.test"));
        assert!(!origins.allows(b"http://example.com"));
        assert!(!origins.allows(b"null"));
        assert_eq!(AllowedOrigins::parse("*").unwrap(), AllowedOrigins::Any);
        assert_eq!(AllowedOrigins::parse("").unwrap(), AllowedOrigins::None);
        assert!(AllowedOrigins::parse("https://[::1]:8080").is_ok());
        // Default ports are left out, as browsers leave them out of `Origin`.
        let origins =
            AllowedOrigins::parse("https://example.com:443,http://[::1]:80,http://a.test:443")
                .unwrap();
        assert!(origins.allows(b"https://example.com"));
        assert!(origins.allows(b"http://[::1]"));
        assert!(origins.allows(b"http://a.test:443"));
    }
}
