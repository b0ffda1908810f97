//! The command line. `visitor-counter` alone (or `visitor-counter serve`) serves; the
//! operator commands set, list, export and import counters on the store the same
//! environment configures (see the README, "Operator commands"):
//!
//! - `counters set NAME --views N [--visitors M] [--force]`: reads the counter, then
//!   writes the new totals only if it still holds what was read; `--visitors` left out
//!   keeps its visitors; its days are left alone.
//! - `counters list`: every counter in the store with its totals.
//! - `counters export`: every counter with its days, to stdout ([`crate::export`]).
//! - `counters import FILE` (`-` for stdin): checks the whole file, then writes each
//!   counter and day in it, replacing what the store holds for those (nothing else).
//!
//! Every failure is one line on stderr, `error: ...`, and a non-zero exit; bad input
//! is refused before the store is opened, so it changes nothing.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::chain::error_chain;
use crate::config::{COUNTER_DB, COUNTERS, Config, ConfigError, StoreConfig};
use crate::export::{self, FormatError};
use crate::names::{AllowedCounters, CounterName, NameError};
use crate::store::dynamodb::ConnectError;
use crate::store::{
    CounterRecord, DynamoDbStore, EmbeddedStore, OperatorStore, PAGE_SIZE, RenameOutcome,
    SetOutcome, StoreError, Totals, embedded,
};

/// What the command line asks for.
#[derive(Debug)]
pub enum Invocation {
    /// Serve the API, as the binary always has.
    Serve,
    /// An operator command.
    Counters(CountersCommand),
    /// Help or the version was printed, or the command line was refused (one line on
    /// stderr): exit with this.
    Exit(ExitCode),
}

#[derive(Debug, Parser)]
#[command(
    name = "visitor-counter",
    version,
    about = "A website visitor counter: serves its HTTP API (the default), or sets, lists, exports and imports counters",
    long_about = "A website visitor counter. With no command it serves the HTTP API, locally on the \
embedded store (COUNTER_DB) or on DynamoDB (COUNTER_TABLE), or as an AWS Lambda function. \
The counters commands work on the store the same environment variables configure."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the HTTP API (what `visitor-counter` with no command does)
    Serve,
    /// Set, list, export and import counters (the operator's commands)
    #[command(subcommand, subcommand_required = true, arg_required_else_help = false)]
    Counters(CountersCommand),
}

/// An operator command.
#[derive(Debug, Subcommand)]
pub enum CountersCommand {
    /// Set a counter's views (and visitors), e.g. to the number an old counter left behind
    #[command(
        long_about = "Set a counter's views (and visitors), e.g. to the number an old counter left \
behind: the next visit counts from there. The counter is read first and written only if it \
has not moved since (a visit came in between); --force writes anyway. Its days are left as they are."
    )]
    Set(SetArgs),
    /// List every counter in the store with its views and visitors
    List,
    /// Write every counter with its days to stdout, as JSON lines (format version 1)
    #[command(
        long_about = "Write every counter in the store with its days to stdout, as JSON lines: \
a first line {\"format\":\"visitor-counter-export\",\"version\":1}, one line per counter \
({\"name\",\"views\",\"visitors\",\"days\":[{\"date\",\"views\",\"visitors\"}]}), and a last \
line {\"end\":true,\"counters\":N}."
    )]
    Export,
    /// Restore or merge counters from an export: each counter and day in the file replaces the store's
    #[command(
        long_about = "Restore or merge counters from an export. The whole file is checked first; \
if any line is wrong nothing is written. Then each counter in the file gets the file's views and \
visitors, and each of its days the file's numbers; counters and days the file does not name are \
left as they are. Nothing is added up, so running the same import again is safe."
    )]
    Import {
        /// The export to read, or - for stdin
        file: PathBuf,
    },
    /// Delete a counter and its days (the site's totals keep the visits it had)
    Delete {
        /// The counter to delete
        name: String,
    },
    /// Give a counter, with its days, a name no counter has
    Rename {
        /// The counter's name now
        old: String,
        /// Its new name
        new: String,
    },
    /// Put every counter in the list's index and count them (once, after an upgrade)
    #[command(
        long_about = "Put every counter in the list's index and count them for MAX_COUNTERS. A DynamoDB table written by a version before the index needs it once: counters that were there appear in GET /counters and /totals after it (or after their next visit). Running it again changes nothing. On the embedded store it recounts the counters."
    )]
    Reindex,
}

#[derive(Debug, Args)]
pub struct SetArgs {
    /// The counter (`site` is the one /count shows)
    name: String,
    /// Its views from now on; the next visit counts N + 1
    #[arg(long, value_name = "N", value_parser = count, allow_negative_numbers = true)]
    views: u64,
    /// Its visitors from now on [default: keep the visitors it has]
    #[arg(long, value_name = "M", value_parser = count, allow_negative_numbers = true)]
    visitors: Option<u64>,
    /// Write even if the counter moved since it was read (a visit in between is lost)
    #[arg(long)]
    force: bool,
}

fn count(text: &str) -> Result<u64, String> {
    text.parse()
        .map_err(|_| format!("not a count (a whole number from 0 to {})", u64::MAX))
}

/// Reads the command line. No arguments at all serves, without looking further: the
/// binary starts exactly as it did before it had commands (Lambda runs it so).
pub fn invocation(args: impl IntoIterator<Item = OsString>) -> Invocation {
    let args: Vec<OsString> = args.into_iter().collect();
    if args.len() <= 1 {
        return Invocation::Serve;
    }
    match Cli::try_parse_from(args) {
        Ok(Cli {
            command: None | Some(Command::Serve),
        }) => Invocation::Serve,
        Ok(Cli {
            command: Some(Command::Counters(command)),
        }) => Invocation::Counters(command),
        Err(error) if !error.use_stderr() => {
            // --help or --version, to stdout.
            let _ = error.print();
            Invocation::Exit(ExitCode::SUCCESS)
        }
        Err(error) => {
            eprintln!("error: {} (see visitor-counter --help)", one_line(&error));
            Invocation::Exit(ExitCode::from(2))
        }
    }
}

/// clap's message without its usage and its pointer to `--help` (the line ends with
/// one): the paragraphs before `Usage:`, each on one line, separated by `; `.
fn one_line(error: &clap::Error) -> String {
    let rendered = error.render().to_string();
    let rendered = rendered.strip_prefix("error: ").unwrap_or(&rendered);
    rendered
        .split("\n\n")
        .map(|paragraph| {
            paragraph
                .lines()
                .map(str::trim)
                .filter(|line| !line.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .take_while(|paragraph| !paragraph.starts_with("Usage:"))
        .filter(|paragraph| !paragraph.is_empty() && !paragraph.starts_with("For more information"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Why an operator command did nothing, or stopped. Each names what to fix.
#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    DynamoDb(#[from] ConnectError),
    #[error("{name:?} is not a counter name")]
    Name {
        name: String,
        #[source]
        source: NameError,
    },
    #[error("counter {name} is not allowed by {COUNTERS} ({allowed})")]
    NotAllowed {
        name: CounterName,
        allowed: AllowedCounters,
    },
    #[error(
        "the embedded store {} is in use (is the server running?); stop it, run the command, start it again",
        path.display()
    )]
    InUse { path: PathBuf },
    #[error(
        "{COUNTER_DB}: {} does not exist; nothing has been counted there (set {COUNTER_DB} to the server's file)",
        path.display()
    )]
    NoStore { path: PathBuf },
    #[error("{COUNTER_DB}: cannot open {}", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: StoreError,
    },
    #[error("{store}")]
    Store {
        store: String,
        #[source]
        source: StoreError,
    },
    #[error(
        "counter {name} moved from {} while it was being set; run again, or add --force",
        moved(before, now)
    )]
    Moved {
        name: CounterName,
        before: Totals,
        now: Totals,
    },
    #[error("there is no counter {name}; `visitor-counter counters list` shows them")]
    NoSuchCounter { name: CounterName },
    #[error("a counter named {name} exists; delete it first or choose another name")]
    NameTaken { name: CounterName },
    #[error("cannot read {file}")]
    Read {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file} is not an export this visitor-counter can import")]
    Format {
        file: String,
        #[source]
        source: FormatError,
    },
    #[error("cannot write to stdout")]
    Output(#[source] std::io::Error),
    #[error("cannot start the async runtime")]
    AsyncRuntime(#[source] std::io::Error),
}

/// `12 to 13 views`, or whichever of the two numbers changed.
fn moved(before: &Totals, now: &Totals) -> String {
    match (before.views != now.views, before.visitors != now.visitors) {
        (true, false) => format!("{} to {} views", before.views, now.views),
        (false, true) => format!("{} to {} visitors", before.visitors, now.visitors),
        _ => format!("{} to {}", shown(before), shown(now)),
    }
}

fn shown(totals: &Totals) -> String {
    format!(
        "{} and {}",
        plural(usize::try_from(totals.views).unwrap_or(usize::MAX), "view"),
        plural(
            usize::try_from(totals.visitors).unwrap_or(usize::MAX),
            "visitor"
        )
    )
}

/// Runs an operator command on the store the environment configures; one line on
/// stderr if it fails.
pub fn run(command: CountersCommand) -> ExitCode {
    match run_command(command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", error_chain(&error));
            ExitCode::FAILURE
        }
    }
}

/// A command with its input checked, ready to meet the store.
enum Checked {
    Set {
        name: CounterName,
        views: u64,
        visitors: Option<u64>,
        force: bool,
    },
    List,
    Export,
    Import {
        records: Vec<CounterRecord>,
    },
    Delete {
        name: CounterName,
    },
    Rename {
        old: CounterName,
        new: CounterName,
    },
    Reindex,
}

fn run_command(command: CountersCommand) -> Result<(), OperatorError> {
    let config = Config::from_env()?;
    // Everything the operator typed or handed in is checked before the store is opened.
    let checked = check(command, &config.counters)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(OperatorError::AsyncRuntime)?;
    let description = config.store.to_string();
    runtime.block_on(async {
        match config.store {
            StoreConfig::DynamoDb { table } => {
                let store = DynamoDbStore::connect(&table).await?;
                act(&store, &description, checked).await
            }
            StoreConfig::Embedded { path } => {
                if matches!(checked, Checked::List | Checked::Export) && !path.exists() {
                    return Err(OperatorError::NoStore { path });
                }
                let store = open_embedded(&path)?;
                act(&store, &description, checked).await
            }
        }
    })
}

fn open_embedded(path: &Path) -> Result<EmbeddedStore, OperatorError> {
    EmbeddedStore::open(path).map_err(|source| {
        if embedded::is_in_use(&source) {
            OperatorError::InUse {
                path: path.to_owned(),
            }
        } else {
            OperatorError::Open {
                path: path.to_owned(),
                source,
            }
        }
    })
}

fn check(command: CountersCommand, allowed: &AllowedCounters) -> Result<Checked, OperatorError> {
    Ok(match command {
        CountersCommand::Set(SetArgs {
            name,
            views,
            visitors,
            force,
        }) => Checked::Set {
            name: counter_name(&name, allowed)?,
            views,
            visitors,
            force,
        },
        CountersCommand::List => Checked::List,
        CountersCommand::Export => Checked::Export,
        CountersCommand::Delete { name } => Checked::Delete {
            name: counter_name(&name, &AllowedCounters::Any)?,
        },
        CountersCommand::Rename { old, new } => Checked::Rename {
            old: counter_name(&old, &AllowedCounters::Any)?,
            new: counter_name(&new, allowed)?,
        },
        CountersCommand::Reindex => Checked::Reindex,
        CountersCommand::Import { file } => {
            let (shown, input) = read_import(&file)?;
            let records =
                export::parse_from(input, allowed).map_err(|source| OperatorError::Format {
                    file: shown,
                    source,
                })?;
            Checked::Import { records }
        }
    })
}

fn counter_name(name: &str, allowed: &AllowedCounters) -> Result<CounterName, OperatorError> {
    let counter = CounterName::parse(name).map_err(|source| OperatorError::Name {
        name: name.to_owned(),
        source,
    })?;
    if !allowed.allows(&counter) {
        return Err(OperatorError::NotAllowed {
            name: counter,
            allowed: allowed.clone(),
        });
    }
    Ok(counter)
}

/// The file's name as shown in messages, and a reader of it: the import reads it one
/// line at a time (see [`export::parse_from`]).
fn read_import(file: &Path) -> Result<(String, Box<dyn std::io::BufRead>), OperatorError> {
    if file.as_os_str() == "-" {
        return Ok((
            "stdin".to_owned(),
            Box::new(std::io::BufReader::new(std::io::stdin())),
        ));
    }
    let shown = file.display().to_string();
    match std::fs::File::open(file) {
        Ok(opened) => Ok((shown, Box::new(std::io::BufReader::new(opened)))),
        Err(source) => Err(OperatorError::Read {
            file: shown,
            source,
        }),
    }
}

async fn act<S: OperatorStore>(
    store: &S,
    description: &str,
    checked: Checked,
) -> Result<(), OperatorError> {
    let failed = |source| OperatorError::Store {
        store: description.to_owned(),
        source,
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match checked {
        Checked::Set {
            name,
            views,
            visitors,
            force,
        } => {
            let before = store.get(&name).await.map_err(failed)?;
            let totals = Totals {
                views,
                visitors: visitors.unwrap_or(before.visitors),
            };
            let expected = (!force).then_some(before);
            match store
                .set_totals(&name, expected, totals)
                .await
                .map_err(failed)?
            {
                SetOutcome::Set => writeln!(
                    out,
                    "counter {name}: {} (it had {}); its days are unchanged",
                    shown(&totals),
                    shown(&before)
                ),
                SetOutcome::Moved { current } => {
                    return Err(OperatorError::Moved {
                        name,
                        before,
                        now: current,
                    });
                }
            }
        }
        Checked::List => {
            let mut counters = Vec::new();
            let mut after = None;
            loop {
                let page = store
                    .list(after.as_ref(), PAGE_SIZE)
                    .await
                    .map_err(failed)?;
                after = page.counters.last().map(|(name, _)| name.clone());
                counters.extend(page.counters);
                if !page.more {
                    break;
                }
            }
            write_list(&counters, &mut out)
        }
        Checked::Export => {
            let records = store.export().await.map_err(failed)?;
            export::write(&records, &mut out)
        }
        Checked::Delete { name } => {
            if store.delete(&name).await.map_err(failed)? {
                writeln!(out, "counter {name} and its days are deleted")
            } else {
                return Err(OperatorError::NoSuchCounter { name });
            }
        }
        Checked::Rename { old, new } => match store.rename(&old, &new).await.map_err(failed)? {
            RenameOutcome::Renamed => writeln!(out, "counter {old} is now {new}, with its days"),
            RenameOutcome::NoSuchCounter => {
                return Err(OperatorError::NoSuchCounter { name: old });
            }
            RenameOutcome::Taken => return Err(OperatorError::NameTaken { name: new }),
        },
        Checked::Reindex => {
            let counters = store.reindex().await.map_err(failed)?;
            writeln!(
                out,
                "{} in the index of the {description}",
                plural(usize::try_from(counters).unwrap_or(usize::MAX), "counter")
            )
        }
        Checked::Import { records } => {
            store.restore(&records).await.map_err(failed)?;
            let days: usize = records.iter().map(|record| record.days.len()).sum();
            writeln!(
                out,
                "imported {} and {} into the {description}",
                plural(records.len(), "counter"),
                plural(days, "day")
            )
        }
    }
    .and_then(|()| out.flush())
    .map_err(OperatorError::Output)
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// `name  views  visitors` columns, a header first.
fn write_list(counters: &[(CounterName, Totals)], out: &mut impl Write) -> std::io::Result<()> {
    let width = |header: &str, values: &mut dyn Iterator<Item = usize>| {
        values.max().unwrap_or(0).max(header.len())
    };
    let names = width("name", &mut counters.iter().map(|(n, _)| n.as_str().len()));
    let views = width(
        "views",
        &mut counters.iter().map(|(_, t)| t.views.to_string().len()),
    );
    let visitors = width(
        "visitors",
        &mut counters.iter().map(|(_, t)| t.visitors.to_string().len()),
    );
    writeln!(
        out,
        "{:names$}  {:>views$}  {:>visitors$}",
        "name", "views", "visitors"
    )?;
    for (name, totals) in counters {
        writeln!(
            out,
            "{:names$}  {:>views$}  {:>visitors$}",
            name.as_str(),
            totals.views,
            totals.visitors
        )?;
    }
    Ok(())
}
