//! The operator commands (`visitor-counter counters set | list | export | import`), run
//! as the real binary on both stores: what each does, that bad input is one line and
//! changes nothing (an export before and after compare equal), that a running server
//! keeps them off its embedded store, and that `set` refuses a counter that moved.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use visitor_counter::config::TableName;
use visitor_counter::day::Day;
use visitor_counter::names::CounterName;
use visitor_counter::store::{
    CounterStore, EmbeddedStore, OperatorStore, SetOutcome, Totals, Visit,
};
use visitor_counter::visitor::{MARKER_BYTES, Marker};
use wiremock::matchers::{body_string_contains, header, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Embedded,
    DynamoDb,
}

const BOTH: [Kind; 2] = [Kind::Embedded, Kind::DynamoDb];

/// A fresh store of one kind, and the environment that points the binary at it.
struct Store {
    kind: Kind,
    env: Vec<(String, String)>,
    /// The embedded store's file.
    path: Option<PathBuf>,
    table: Option<TableName>,
    _dir: Option<tempfile::TempDir>,
}

async fn fresh(kind: Kind) -> Store {
    match kind {
        Kind::Embedded => {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("count.redb");
            Store {
                kind,
                env: vec![("COUNTER_DB".into(), path.display().to_string())],
                path: Some(path),
                table: None,
                _dir: Some(dir),
            }
        }
        Kind::DynamoDb => {
            let table = fresh_table(&admin_client().await).await;
            Store {
                kind,
                env: dynamodb_env(&dynamodb_endpoint(), &table),
                path: None,
                table: Some(table),
                _dir: None,
            }
        }
    }
}

impl Store {
    /// Runs `visitor-counter ARGS` on this store, with `extra` variables and `stdin`.
    fn run_with(&self, args: &[&str], extra: &[(&str, &str)], stdin: Option<&[u8]>) -> Output {
        let mut command = service_command();
        command
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .envs(extra.iter().copied())
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            });
        let mut child = command.spawn().unwrap();
        if let Some(input) = stdin {
            child.stdin.take().unwrap().write_all(input).unwrap();
        }
        child.wait_with_output().unwrap()
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_with(args, &[], None)
    }

    /// Runs a command that must succeed; its stdout.
    fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert_success(&output, args);
        String::from_utf8(output.stdout).unwrap()
    }

    fn export(&self) -> String {
        self.ok(&["counters", "export"])
    }

    /// The export written to a file of its own in `dir`.
    fn export_file(&self, dir: &Path, name: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, self.export()).unwrap();
        path
    }

    /// The server on this store (started after the commands on the embedded store).
    fn serve(&self) -> TestServer {
        spawn_server(&self.env)
    }

    /// Counts `visits` straight through the store (the binary is not running), on
    /// the days given, `visitors` of them each from a new visitor.
    async fn record(&self, counter: &str, day: &str, views: u64, visitors: u64) {
        let counter = CounterName::parse(counter).unwrap();
        let day = Day::parse(day).unwrap();
        let visits = (0..views).map(|i| Visit {
            counter: counter.clone(),
            day,
            marker: (i < visitors).then(|| marker(counter.as_str(), day, i)),
            site_marker: None,
            limits: Default::default(),
        });
        match self.kind {
            Kind::Embedded => {
                let store = open_embedded(self.path.as_ref().unwrap()).await;
                for visit in visits {
                    store.record(&visit).await.unwrap();
                }
            }
            Kind::DynamoDb => {
                let store =
                    dynamodb_store(&dynamodb_endpoint(), self.table.as_ref().unwrap()).await;
                for visit in visits {
                    store.record(&visit).await.unwrap();
                }
            }
        }
    }
}

/// The embedded store at `path`, in this process (closed again when dropped).
async fn open_embedded(path: &Path) -> EmbeddedStore {
    EmbeddedStore::open(path)
        .unwrap_or_else(|error| panic!("{}", visitor_counter::error_chain(&error)))
}

/// A marker of its own for each counter, day and visitor number.
fn marker(counter: &str, day: Day, i: u64) -> Marker {
    let mut bytes = [0; MARKER_BYTES];
    let seed = format!("{counter}/{day}/{i}");
    for (slot, byte) in bytes.iter_mut().zip(seed.bytes().cycle()) {
        *slot = byte;
    }
    bytes[MARKER_BYTES - 8..].copy_from_slice(&i.to_be_bytes());
    Marker(bytes)
}

fn assert_success(output: &Output, args: &[&str]) {
    assert!(
        output.status.success(),
        "{args:?}: {:?}\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&output.stderr), "", "{args:?}");
}

/// A refused command: a non-zero exit, nothing on stdout, one line on stderr that
/// starts with `error: ` and says `words`. Returns the line.
fn assert_refused(output: &Output, words: &str, what: &str) -> String {
    let stderr = String::from_utf8(output.stderr.clone()).unwrap();
    assert!(
        !output.status.success(),
        "{what}: succeeded; stderr {stderr:?}"
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout), "", "{what}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{what}: stderr is not one line: {stderr:?}");
    assert!(lines[0].starts_with("error: "), "{what}: {stderr:?}");
    assert!(
        lines[0].contains(words),
        "{what}: {words:?} is not in {stderr:?}"
    );
    lines[0].to_owned()
}

/// An export's counter lines as JSON (without the first and last lines, which are checked).
fn counter_lines(export: &str) -> Vec<Value> {
    let lines: Vec<Value> = export
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(
        lines[0],
        json!({"format": "visitor-counter-export", "version": 1})
    );
    let counters = &lines[1..lines.len() - 1];
    assert_eq!(
        lines[lines.len() - 1],
        json!({"end": true, "counters": counters.len()})
    );
    counters.to_vec()
}

/// `counters list`'s rows: (name, views, visitors), after its header.
fn list_rows(list: &str) -> Vec<(String, u64, u64)> {
    let mut lines = list.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["name", "views", "visitors"]);
    lines
        .map(|line| {
            let cells: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(cells.len(), 3, "{line:?}");
            (
                cells[0].to_owned(),
                cells[1].parse().unwrap(),
                cells[2].parse().unwrap(),
            )
        })
        .collect()
}

async fn post_counter(server: &TestServer, name: &str) -> (u64, u64) {
    let response = http_client()
        .post(server.url(&format!("/counters/{name}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["name"], name, "{body}");
    (
        body["views"].as_u64().unwrap(),
        body["visitors"].as_u64().unwrap(),
    )
}

// ---- set, list ------------------------------------------------------------------

/// The dead-service case: an old counter had 12,345 visits; after `set`, the next
/// visit shows 12,346. On the embedded store the server starts after the commands;
/// on DynamoDB it serves throughout.
#[tokio::test]
async fn operator_set_starts_a_counter_at_n_and_the_next_visit_is_n_plus_1() {
    for kind in BOTH {
        let store = fresh(kind).await;
        let live = (kind == Kind::DynamoDb).then(|| store.serve());
        let (views, kept) = match &live {
            Some(server) => post_counter(server, "home").await,
            None => (0, 0),
        };
        let said = store.ok(&["counters", "set", "home", "--views", "12345"]);
        let plural = |n: u64, what: &str| {
            if n == 1 {
                format!("1 {what}")
            } else {
                format!("{n} {what}s")
            }
        };
        let had = format!("{} and {}", plural(views, "view"), plural(kept, "visitor"));
        assert_eq!(
            said,
            format!(
                "counter home: 12345 views and {} (it had {had}); its days are unchanged\n",
                plural(kept, "visitor")
            ),
            "{kind:?}"
        );
        store.ok(&[
            "counters",
            "set",
            "site",
            "--views",
            "500",
            "--visitors",
            "40",
        ]);
        let rows = list_rows(&store.ok(&["counters", "list"]));
        assert_eq!(
            rows,
            [("home".into(), 12345, kept), ("site".into(), 500, 40)],
            "{kind:?}"
        );

        let server = live.unwrap_or_else(|| store.serve());
        let (views, _) = post_counter(&server, "home").await;
        assert_eq!(views, 12346, "{kind:?}");
        assert_eq!(server.post_count().await, 501, "{kind:?}");
        let (views, visitors) = {
            let response = http_client()
                .get(server.url("/counters/site"))
                .send()
                .await
                .unwrap();
            let body: Value = response.json().await.unwrap();
            (
                body["views"].as_u64().unwrap(),
                body["visitors"].as_u64().unwrap(),
            )
        };
        // The POST was this client's first visit of `site` today.
        assert_eq!((views, visitors), (501, 41), "{kind:?}");
        drop(server);

        // `set` leaves the days alone: today still holds only what was served.
        let export = store.export();
        let home = counter_lines(&export)
            .into_iter()
            .find(|line| line["name"] == "home")
            .unwrap();
        assert_eq!(home["views"], 12346, "{kind:?}");
        let served_today = if kind == Kind::DynamoDb { 2 } else { 1 };
        assert_eq!(home["days"].as_array().unwrap().len(), 1, "{home}");
        assert_eq!(home["days"][0]["views"], served_today, "{kind:?}: {home}");
    }
}

/// `--visitors` left out keeps the visitors the counter has.
#[tokio::test]
async fn operator_set_without_visitors_keeps_the_visitors() {
    for kind in BOTH {
        let store = fresh(kind).await;
        store.record("home", "2026-11-30", 9, 4).await;
        store.ok(&["counters", "set", "home", "--views", "100"]);
        assert_eq!(
            list_rows(&store.ok(&["counters", "list"])),
            [("home".into(), 100, 4)],
            "{kind:?}"
        );
        store.ok(&["counters", "set", "home", "--views", "0", "--visitors", "0"]);
        assert_eq!(
            list_rows(&store.ok(&["counters", "list"])),
            [("home".into(), 0, 0)],
            "{kind:?}"
        );
    }
}

// ---- export, import -------------------------------------------------------------

/// A store with three counters over several days.
async fn seeded(kind: Kind) -> Store {
    let store = fresh(kind).await;
    store.record("home", "2026-11-29", 5, 2).await;
    store.record("home", "2026-12-01", 3, 3).await;
    store.record("site", "2026-12-01", 4, 1).await;
    store.record("blog.post-1", "2025-02-28", 1, 0).await;
    store
}

fn expected_seeded_lines() -> Vec<Value> {
    vec![
        json!({"name": "blog.post-1", "views": 1, "visitors": 0,
               "days": [{"date": "2025-02-28", "views": 1, "visitors": 0}]}),
        json!({"name": "home", "views": 8, "visitors": 5,
               "days": [{"date": "2026-11-29", "views": 5, "visitors": 2},
                        {"date": "2026-12-01", "views": 3, "visitors": 3}]}),
        json!({"name": "site", "views": 4, "visitors": 1,
               "days": [{"date": "2026-12-01", "views": 4, "visitors": 1}]}),
    ]
}

#[tokio::test]
async fn operator_export_then_import_into_a_fresh_store_is_identical_between_any_two_stores() {
    let files = tempfile::tempdir().unwrap();
    for from in BOTH {
        let source = seeded(from).await;
        let export = source.export();
        assert_eq!(counter_lines(&export), expected_seeded_lines(), "{from:?}");
        for to in BOTH {
            let target = fresh(to).await;
            let said = if to == Kind::DynamoDb {
                // From stdin, as `-`.
                let output =
                    target.run_with(&["counters", "import", "-"], &[], Some(export.as_bytes()));
                assert_success(&output, &["import", "-"]);
                String::from_utf8(output.stdout).unwrap()
            } else {
                let file = source.export_file(files.path(), "export.jsonl");
                target.ok(&["counters", "import", file.to_str().unwrap()])
            };
            assert!(
                said.starts_with("imported 3 counters and 4 days into the "),
                "{said}"
            );
            assert_eq!(target.export(), export, "{from:?} -> {to:?}");

            // What the service serves from the imported store.
            let server = target.serve();
            let response = http_client()
                .get(server.url("/counters/home/days?from=2026-11-29&to=2026-12-01"))
                .send()
                .await
                .unwrap();
            let days: Value = response.json().await.unwrap();
            let views: Vec<u64> = days["days"]
                .as_array()
                .unwrap()
                .iter()
                .map(|day| day["views"].as_u64().unwrap())
                .collect();
            assert_eq!(views, [5, 0, 3], "{from:?} -> {to:?}");
            assert_eq!(server.get_count().await, 4, "{from:?} -> {to:?}");
        }
    }
}

/// The import rule: each counter and day in the file replaces the store's; counters
/// and days the file does not name stay; nothing is added up, so a second run is
/// the same store.
#[tokio::test]
async fn operator_import_into_a_store_with_data_replaces_what_the_file_names_and_keeps_the_rest() {
    let files = tempfile::tempdir().unwrap();
    let file = files.path().join("import.jsonl");
    std::fs::write(
        &file,
        [
            r#"{"format":"visitor-counter-export","version":1}"#,
            r#"{"name":"home","views":100,"visitors":10,"days":[{"date":"2026-11-29","views":40,"visitors":4},{"date":"2026-11-30","views":60,"visitors":6}]}"#,
            r#"{"name":"new","views":7,"visitors":7,"days":[]}"#,
            r#"{"end":true,"counters":2}"#,
            "",
        ]
        .join("\n"),
    )
    .unwrap();
    for kind in BOTH {
        let store = seeded(kind).await;
        let said = store.ok(&["counters", "import", file.to_str().unwrap()]);
        assert!(
            said.starts_with("imported 2 counters and 2 days into the "),
            "{said}"
        );
        let after = store.export();
        let expected = vec![
            expected_seeded_lines()[0].clone(),
            json!({"name": "home", "views": 100, "visitors": 10,
                   "days": [{"date": "2026-11-29", "views": 40, "visitors": 4},
                            {"date": "2026-11-30", "views": 60, "visitors": 6},
                            {"date": "2026-12-01", "views": 3, "visitors": 3}]}),
            json!({"name": "new", "views": 7, "visitors": 7, "days": []}),
            expected_seeded_lines()[2].clone(),
        ];
        assert_eq!(counter_lines(&after), expected, "{kind:?}");
        store.ok(&["counters", "import", file.to_str().unwrap()]);
        assert_eq!(
            store.export(),
            after,
            "{kind:?}: a second import changed the store"
        );
    }
}

// ---- bad input ------------------------------------------------------------------

/// Variables a case adds to the store's.
type Variables = &'static [(&'static str, &'static str)];

#[tokio::test]
async fn operator_bad_input_is_one_line_a_failed_exit_and_changes_nothing() {
    let files = tempfile::tempdir().unwrap();
    let good = seeded(Kind::Embedded).await.export();
    let lines: Vec<&str> = good.lines().collect();
    let write = |name: &str, text: &str| {
        let path = files.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    // Valid counters first, then a bad line: the import is all or nothing.
    let bad_last = write(
        "bad-last.jsonl",
        &[
            lines[0],
            r#"{"name":"home","views":999,"visitors":9,"days":[]}"#,
            r#"{"name":"zzz","views":-1,"visitors":0,"days":[]}"#,
            r#"{"end":true,"counters":2}"#,
        ]
        .join("\n"),
    );
    let truncated = write("truncated.jsonl", &good[..good.len() / 2]);
    let no_end = write(
        "no-end.jsonl",
        &(lines[..lines.len() - 1].join("\n") + "\n"),
    );
    let version_2 = write("v2.jsonl", &good.replace("\"version\":1", "\"version\":2"));
    let not_export = write("not.jsonl", "name,views\nhome,3\n");
    let bad_name = write("bad-name.jsonl", &good.replace("\"home\"", "\"Home\""));
    let bad_date = write("bad-date.jsonl", &good.replace("2025-02-28", "2025-02-29"));
    let empty = write("empty.jsonl", "");
    let latin1 = files.path().join("latin1.jsonl");
    let mut bytes = good.clone().into_bytes();
    bytes.insert(60, 0xff);
    std::fs::write(&latin1, bytes).unwrap();
    let latin1 = latin1.display().to_string();
    let missing = files.path().join("missing.jsonl").display().to_string();
    let import = |file: &str| vec!["counters".to_owned(), "import".into(), file.to_owned()];
    let words = |args: &[&str]| args.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>();

    let cases: Vec<(Vec<String>, Variables, &str)> = vec![
        (
            words(&["frobnicate"]),
            &[],
            "unrecognized subcommand 'frobnicate'",
        ),
        (
            words(&["counters", "frobnicate"]),
            &[],
            "unrecognized subcommand 'frobnicate'",
        ),
        (words(&["counters"]), &[], "requires a subcommand"),
        (words(&["counters", "set", "home"]), &[], "--views <N>"),
        (
            words(&["counters", "set", "home", "--views", "-5"]),
            &[],
            "not a count",
        ),
        (
            words(&["counters", "set", "home", "--views", "12x"]),
            &[],
            "not a count",
        ),
        (
            words(&["counters", "set", "home", "--views", "18446744073709551616"]),
            &[],
            "not a count",
        ),
        (
            words(&[
                "counters",
                "set",
                "home",
                "--views",
                "1",
                "--visitors",
                "-1",
            ]),
            &[],
            "not a count",
        ),
        (
            words(&["counters", "set", "Home", "--views", "1"]),
            &[],
            "\"Home\" is not a counter name",
        ),
        (
            words(&["counters", "set", "a/b", "--views", "1"]),
            &[],
            "is not a counter name",
        ),
        (
            words(&["counters", "set", "home", "--views", "1"]),
            &[("COUNTERS", "blog-*")],
            "counter home is not allowed by COUNTERS (blog-*)",
        ),
        (
            words(&["counters", "list", "extra"]),
            &[],
            "unexpected argument 'extra'",
        ),
        (words(&["counters", "import"]), &[], "<FILE>"),
        (
            import(&bad_last),
            &[],
            "line 3: invalid value: integer `-1`, expected u64",
        ),
        (import(&truncated), &[], "truncated"),
        (import(&no_end), &[], "truncated"),
        (
            import(&version_2),
            &[],
            "line 1: export format version 2 is not supported",
        ),
        (
            import(&not_export),
            &[],
            "line 1: not a visitor-counter export",
        ),
        (import(&bad_name), &[], "\"Home\" is not a counter name"),
        (import(&bad_date), &[], "\"2025-02-29\" is not a date"),
        (import(&empty), &[], "the file is empty"),
        (import(&missing), &[], "cannot read"),
        (
            import(&write("good.jsonl", &good)),
            &[("COUNTERS", "home")],
            "counter blog.post-1 is not allowed by COUNTERS (home)",
        ),
        (import(&latin1), &[], "not UTF-8"),
    ];
    for kind in BOTH {
        let store = seeded(kind).await;
        let before = store.export();
        for (args, extra, expected) in &cases {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let output = store.run_with(&args, extra, None);
            assert_refused(&output, expected, &format!("{kind:?} {args:?}"));
            assert_eq!(
                store.export(),
                before,
                "{kind:?} {args:?} changed the store"
            );
        }
    }
}

#[tokio::test]
async fn operator_list_and_export_refuse_a_missing_embedded_store_and_create_nothing() {
    let store = fresh(Kind::Embedded).await;
    let path = store.path.clone().unwrap();
    for command in ["list", "export"] {
        let line = assert_refused(
            &store.run(&["counters", command]),
            "does not exist",
            command,
        );
        assert_eq!(
            line,
            format!(
                "error: COUNTER_DB: {} does not exist; nothing has been counted there (set COUNTER_DB to the server's file)",
                path.display()
            )
        );
        assert!(!path.exists(), "{command} created the store");
    }
}

// ---- a running server ------------------------------------------------------------

#[tokio::test]
async fn operator_commands_refuse_an_embedded_store_a_server_is_running_on() {
    let store = seeded(Kind::Embedded).await;
    let files = tempfile::tempdir().unwrap();
    let file = store.export_file(files.path(), "export.jsonl");
    let before = store.export();
    let server = store.serve();
    let served = server.get_count().await;
    let expected = format!(
        "error: the embedded store {} is in use (is the server running?); stop it, run the command, start it again",
        store.path.as_ref().unwrap().display()
    );
    for args in [
        &["counters", "set", "site", "--views", "12345"][..],
        &["counters", "set", "home", "--views", "1", "--force"],
        &["counters", "list"],
        &["counters", "export"],
        &["counters", "import", file.to_str().unwrap()],
    ] {
        let line = assert_refused(&store.run(args), "is in use", &format!("{args:?}"));
        assert_eq!(line, expected, "{args:?}");
    }
    assert_eq!(server.get_count().await, served);
    drop(server);
    assert_eq!(store.export(), before);
}

// ---- set when the counter moved --------------------------------------------------

/// The conditional write itself, on both stores: an expected value that is stale
/// (a visit came in after it was read) writes nothing; none (`--force`) writes.
#[tokio::test]
async fn operator_set_totals_refuses_a_stale_expected_value_on_both_stores() {
    let target = Totals {
        views: 12345,
        visitors: 3,
    };
    for kind in BOTH {
        let store = fresh(kind).await;
        store.record("home", "2026-12-01", 13, 2).await;
        let read_before_the_visit = Totals {
            views: 12,
            visitors: 2,
        };
        let now = Totals {
            views: 13,
            visitors: 2,
        };
        match kind {
            Kind::Embedded => {
                let s = open_embedded(store.path.as_ref().unwrap()).await;
                check_set_totals(&s, read_before_the_visit, now, target).await;
            }
            Kind::DynamoDb => {
                let s = dynamodb_store(&dynamodb_endpoint(), store.table.as_ref().unwrap()).await;
                check_set_totals(&s, read_before_the_visit, now, target).await;
            }
        }
    }
}

async fn check_set_totals<S: OperatorStore>(s: &S, stale: Totals, now: Totals, target: Totals) {
    let home = CounterName::parse("home").unwrap();
    let outcome = s.set_totals(&home, Some(stale), target).await.unwrap();
    assert_eq!(outcome, SetOutcome::Moved { current: now }, "stale");
    assert_eq!(s.get(&home).await.unwrap(), now, "a stale set wrote");
    let outcome = s.set_totals(&home, None, target).await.unwrap();
    assert_eq!(outcome, SetOutcome::Set, "forced");
    assert_eq!(s.get(&home).await.unwrap(), target);
    let outcome = s.set_totals(&home, Some(target), now).await.unwrap();
    assert_eq!(outcome, SetOutcome::Set, "up to date");
    assert_eq!(s.get(&home).await.unwrap(), now);
    let never = CounterName::parse("never").unwrap();
    let outcome = s
        .set_totals(&never, Some(Totals::default()), target)
        .await
        .unwrap();
    assert_eq!(outcome, SetOutcome::Set, "a counter never counted");
    assert_eq!(s.get(&never).await.unwrap(), target);
    let outcome = s
        .set_totals(&never, Some(Totals::default()), now)
        .await
        .unwrap();
    assert_eq!(
        outcome,
        SetOutcome::Moved { current: target },
        "no longer zero"
    );
}

/// The command against a DynamoDB where a visit lands between the read and the write:
/// a stub whose first `GetItem` answers 12 views, the next 13, and whose conditional
/// `UpdateItem` fails its condition. `--force` sends the write without a condition.
#[tokio::test]
async fn operator_set_refuses_with_one_line_when_a_visit_came_in_between_and_force_writes() {
    let stub = MockServer::start().await;
    let item = |views: u64| {
        ResponseTemplate::new(200)
            .insert_header("content-type", "application/x-amz-json-1.0")
            .set_body_json(json!({"Item": {
                "id": {"S": "counter#home"},
                "count": {"N": views.to_string()},
                "visitors": {"N": "1"}
            }}))
    };
    let target = |operation: &str| {
        Mock::given(method("POST")).and(header(
            "x-amz-target",
            format!("DynamoDB_20120810.{operation}").as_str(),
        ))
    };
    target("GetItem")
        .respond_with(item(12))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&stub)
        .await;
    target("GetItem")
        .respond_with(item(13))
        .with_priority(2)
        .mount(&stub)
        .await;
    target("UpdateItem")
        .and(body_string_contains("ConditionExpression"))
        .respond_with(
            ResponseTemplate::new(400)
                .insert_header("content-type", "application/x-amz-json-1.0")
                .set_body_json(json!({
                    "__type": "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
                    "message": "The conditional request failed"
                })),
        )
        .with_priority(1)
        .mount(&stub)
        .await;
    target("UpdateItem")
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "application/x-amz-json-1.0")
                .set_body_json(json!({})),
        )
        .with_priority(2)
        .mount(&stub)
        .await;
    let table = TableName::parse("visitor-count").unwrap();
    let store = Store {
        kind: Kind::DynamoDb,
        env: dynamodb_env(&stub.uri(), &table),
        path: None,
        table: Some(table),
        _dir: None,
    };

    let output = store.run(&["counters", "set", "home", "--views", "12345"]);
    let line = assert_refused(&output, "moved", "set while a visit came in");
    assert_eq!(
        line,
        "error: counter home moved from 12 to 13 views while it was being set; run again, or add --force"
    );

    let said = store.ok(&["counters", "set", "home", "--views", "12345", "--force"]);
    assert_eq!(
        said,
        "counter home: 12345 views and 1 visitor (it had 13 views and 1 visitor); its days are unchanged\n"
    );
    let updates: Vec<Value> = stub
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|request| {
            request
                .headers
                .get("x-amz-target")
                .and_then(|v| v.to_str().ok())
                == Some("DynamoDB_20120810.UpdateItem")
        })
        .map(|request| serde_json::from_slice::<Value>(&request.body).unwrap())
        // The set's own writes (putting the counter in the index comes first).
        .filter(|update| {
            update["UpdateExpression"]
                .as_str()
                .is_some_and(|expression| expression.starts_with("SET #count"))
        })
        .collect();
    assert_eq!(updates.len(), 2, "{updates:?}");
    assert_eq!(
        updates[0]["ConditionExpression"],
        "#count = :old_views AND #visitors = :old_visitors"
    );
    assert_eq!(
        updates[0]["ExpressionAttributeValues"][":old_views"],
        json!({"N": "12"})
    );
    assert!(
        updates[1].get("ConditionExpression").is_none(),
        "{}",
        updates[1]
    );
    assert_eq!(updates[1]["Key"], json!({"id": {"S": "counter#home"}}));
    assert_eq!(
        updates[1]["ExpressionAttributeValues"][":views"],
        json!({"N": "12345"})
    );
    assert_eq!(
        updates[1]["ExpressionAttributeValues"][":visitors"],
        json!({"N": "1"})
    );
}

// ---- the command line ------------------------------------------------------------

#[test]
fn operator_help_works_for_every_command() {
    for (args, usage) in [
        (&["--help"][..], "Usage: visitor-counter [COMMAND]"),
        (&["help"], "Usage: visitor-counter [COMMAND]"),
        (&["serve", "--help"], "Usage: visitor-counter serve"),
        (
            &["counters", "--help"],
            "Usage: visitor-counter counters <COMMAND>",
        ),
        (
            &["counters", "set", "--help"],
            "Usage: visitor-counter counters set [OPTIONS] --views <N> <NAME>",
        ),
        (
            &["counters", "list", "--help"],
            "Usage: visitor-counter counters list",
        ),
        (
            &["counters", "export", "--help"],
            "Usage: visitor-counter counters export",
        ),
        (
            &["counters", "import", "--help"],
            "Usage: visitor-counter counters import <FILE>",
        ),
        (
            &["counters", "help", "set"],
            "Usage: visitor-counter counters set",
        ),
    ] {
        let output = service_command()
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_success(&output, args);
        let help = String::from_utf8(output.stdout).unwrap();
        assert!(help.contains(usage), "{args:?}: {usage:?} not in\n{help}");
    }
    let output = service_command().arg("--version").output().unwrap();
    assert_success(&output, &["--version"]);
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        format!("visitor-counter {}\n", env!("CARGO_PKG_VERSION"))
    );
}

/// `visitor-counter serve` is the server, as `visitor-counter` alone is (every other
/// test that starts the binary starts it without arguments).
#[tokio::test]
async fn operator_serve_names_the_default_command() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("count.redb");
    let mut command = server_command(&[("COUNTER_DB", &db)]);
    command.arg("serve").stderr(Stdio::null());
    let server = TestServer::start(&mut command).unwrap();
    assert_eq!(server.post_count().await, 1);
    assert_eq!(server.get_count().await, 1);
}
