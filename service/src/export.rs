//! The export format of `visitor-counter counters export` and `import`, version 1.
//!
//! JSON lines (UTF-8, one JSON object per line, `\n` after each):
//!
//! ```text
//! {"format":"visitor-counter-export","version":1}
//! {"name":"home","views":12,"visitors":5,"days":[{"date":"2026-12-01","views":3,"visitors":2}]}
//! {"name":"site","views":7,"visitors":7,"days":[]}
//! {"end":true,"counters":2}
//! ```
//!
//! - The first line names the format and its version. A reader refuses a version it
//!   does not know; a later version that changes the meaning of a line gets a new number.
//! - Then one line per counter, sorted by name: its totals and each day it has numbers
//!   for (days without visits are left out), oldest first. Numbers are whole numbers
//!   from 0 to 2^53 - 1 (the largest integer every JSON reader keeps exactly, and far
//!   from where a counter could no longer count), written exactly; `visitors` is never
//!   more than `views`. Each name once, each date once per counter, each member once
//!   per object. A line is at most [`MAX_LINE`] bytes.
//! - The last line ends the file and counts the counter lines, so a file cut short, by
//!   whole lines or in the middle of one, is refused rather than half-imported.
//!
//! No member other than these is allowed on any line. Visitor markers and salts are not
//! exported: they are keyed hashes that only mean something under the day's salt, which
//! is destroyed after its day.

use std::collections::{HashMap, HashSet};
use std::io::Write;

use serde::{Deserialize, Serialize};

use crate::day::Day;
use crate::names::{AllowedCounters, CounterName};
use crate::store::{CounterRecord, Totals};

/// The largest number an export holds: 2^53 - 1.
pub const MAX_NUMBER: u64 = (1 << 53) - 1;
/// The longest line an import reads (ten years of days is about 250 KB): the reader
/// holds at most one line of this size in memory.
pub const MAX_LINE: usize = 4 << 20;

/// The first line's `format`.
pub const FORMAT: &str = "visitor-counter-export";
/// The version this binary writes and the only one it reads.
pub const VERSION: u64 = 1;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    format: String,
    version: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CounterLine {
    name: String,
    views: u64,
    visitors: u64,
    days: Vec<DayLine>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DayLine {
    date: String,
    views: u64,
    visitors: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct End {
    end: bool,
    counters: u64,
}

/// Writes `records` (sorted by name, as [`crate::store::OperatorStore::export`] gives
/// them) in the format.
pub fn write(records: &[CounterRecord], out: &mut impl Write) -> std::io::Result<()> {
    line(
        out,
        &Header {
            format: FORMAT.to_owned(),
            version: VERSION,
        },
    )?;
    for record in records {
        let days = record
            .days
            .iter()
            .map(|(day, totals)| DayLine {
                date: day.to_string(),
                views: totals.views,
                visitors: totals.visitors,
            })
            .collect();
        line(
            out,
            &CounterLine {
                name: record.name.to_string(),
                views: record.totals.views,
                visitors: record.totals.visitors,
                days,
            },
        )?;
    }
    line(
        out,
        &End {
            end: true,
            counters: records.len() as u64,
        },
    )?;
    out.flush()
}

fn line(out: &mut impl Write, value: &impl Serialize) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, value).map_err(std::io::Error::other)?;
    out.write_all(b"\n")
}

/// Why a file is not an export this binary can import: the line and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {problem}")]
pub struct FormatError {
    pub line: usize,
    pub problem: String,
}

/// Reads a whole export, checking every line (names against `allowed` too) before
/// anything is returned: either every counter of the file, or the first problem.
pub fn parse(text: &str, allowed: &AllowedCounters) -> Result<Vec<CounterRecord>, FormatError> {
    parse_from(std::io::Cursor::new(text.as_bytes()), allowed)
}

/// As [`parse`], reading `input` one line at a time: a line over [`MAX_LINE`] is
/// refused as soon as the reader has that much of it, so no input makes it hold more.
pub fn parse_from(
    input: impl std::io::BufRead,
    allowed: &AllowedCounters,
) -> Result<Vec<CounterRecord>, FormatError> {
    let mut lines = Lines {
        input,
        number: 0,
        failed: false,
    };
    parse_lines(&mut lines, allowed)
}

/// The lines of an input, each at most [`MAX_LINE`] bytes of UTF-8, numbered from 1.
struct Lines<R> {
    input: R,
    number: usize,
    failed: bool,
}

impl<R: std::io::BufRead> Iterator for Lines<R> {
    type Item = (usize, Result<String, String>);

    fn next(&mut self) -> Option<Self::Item> {
        use std::io::{BufRead, Read};
        if self.failed {
            return None;
        }
        self.number += 1;
        let mut bytes = Vec::new();
        let limit = (MAX_LINE + 2) as u64;
        let read = (&mut self.input).take(limit).read_until(b'\n', &mut bytes);
        let line = match read {
            Ok(0) => return None,
            Ok(_) if bytes.len() > MAX_LINE + 1 => Err(format!(
                "the line is longer than {MAX_LINE} bytes; this is not an export"
            )),
            Ok(_) => String::from_utf8(bytes)
                .map(|text| {
                    text.trim_end_matches('\n')
                        .trim_end_matches('\r')
                        .to_owned()
                })
                .map_err(|error| {
                    format!(
                        "it is not UTF-8 text (byte {})",
                        error.utf8_error().valid_up_to()
                    )
                }),
            Err(error) => Err(format!("it could not be read: {error}")),
        };
        self.failed = line.is_err();
        Some((self.number, line))
    }
}

fn parse_lines(
    lines: &mut impl Iterator<Item = (usize, Result<String, String>)>,
    allowed: &AllowedCounters,
) -> Result<Vec<CounterRecord>, FormatError> {
    let mut lines = lines.by_ref();
    let next = |lines: &mut dyn Iterator<Item = (usize, Result<String, String>)>| {
        lines
            .next()
            .map(|(number, line)| line.map(|line| (number, line)).map_err(at(number)))
            .transpose()
    };

    let Some((_, first)) = next(&mut lines)? else {
        return Err(at(1)(format!(
            "the file is empty; an export starts with {}",
            header_line()
        )));
    };
    header(&first).map_err(at(1))?;

    let mut records = Vec::new();
    let mut names: HashMap<CounterName, usize> = HashMap::new();
    let mut last = 1;
    while let Some((number, line)) = next(&mut lines)? {
        last = number;
        let problem = at(number);
        if line.is_empty() {
            return Err(problem("empty line".to_owned()));
        }
        // serde_json keeps the last of two equal members: refused first instead.
        serde_json::from_str::<NoDuplicates>(&line)
            .map_err(|error| problem(line_problem(&error)))?;
        let value: serde_json::Value =
            serde_json::from_str(&line).map_err(|error| problem(line_problem(&error)))?;
        if value.get("end").is_some() {
            let end: End =
                serde_json::from_value(value).map_err(|error| problem(json_problem(&error)))?;
            if !end.end {
                return Err(problem("\"end\" is true on the end line".to_owned()));
            }
            if end.counters != records.len() as u64 {
                return Err(problem(format!(
                    "the end line counts {} counters, the file has {}; lines are missing or added",
                    end.counters,
                    records.len()
                )));
            }
            while let Some((after, line)) = next(&mut lines)? {
                if !line.is_empty() {
                    return Err(at(after)("a line after the end line".to_owned()));
                }
            }
            return Ok(records);
        }
        let counter: CounterLine =
            serde_json::from_value(value).map_err(|error| problem(json_problem(&error)))?;
        let record = counter_record(counter, allowed).map_err(&problem)?;
        if let Some(first) = names.insert(record.name.clone(), number) {
            return Err(problem(format!(
                "counter {} is already on line {first}",
                record.name
            )));
        }
        records.push(record);
    }
    Err(at(last)(
        "the file ends without its end line ({\"end\":true,\"counters\":N}): it is truncated"
            .to_owned(),
    ))
}

/// Views and visitors a store can hold and go on counting from.
fn numbers(what: &str, views: u64, visitors: u64) -> Result<(), String> {
    if views > MAX_NUMBER || visitors > MAX_NUMBER {
        return Err(format!(
            "{what}: {} is over {MAX_NUMBER} (2^53 - 1), the largest count an export holds",
            views.max(visitors)
        ));
    }
    if visitors > views {
        return Err(format!(
            "{what}: {visitors} visitors but {views} views; every visitor made at least one view"
        ));
    }
    Ok(())
}

/// Any JSON value, refused if an object in it names a member twice.
struct NoDuplicates;

impl<'de> Deserialize<'de> for NoDuplicates {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NoDuplicatesVisitor)
    }
}

struct NoDuplicatesVisitor;

impl<'de> serde::de::Visitor<'de> for NoDuplicatesVisitor {
    type Value = NoDuplicates;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_i64<E>(self, _: i64) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_u64<E>(self, _: u64) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_f64<E>(self, _: f64) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_str<E>(self, _: &str) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_unit<E>(self) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<NoDuplicates, A::Error> {
        while seq.next_element::<NoDuplicates>()?.is_some() {}
        Ok(NoDuplicates)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<NoDuplicates, A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(serde::de::Error::custom(format!(
                    "the member {key:?} appears twice in one object"
                )));
            }
            map.next_value::<NoDuplicates>()?;
        }
        Ok(NoDuplicates)
    }
}

/// Makes a problem on line `line` into the error.
fn at(line: usize) -> impl Fn(String) -> FormatError {
    move |problem| FormatError { line, problem }
}

fn header_line() -> String {
    format!("{{\"format\":\"{FORMAT}\",\"version\":{VERSION}}}")
}

fn header(line: &str) -> Result<(), String> {
    let not_an_export = || {
        format!(
            "not a visitor-counter export (it starts with {})",
            header_line()
        )
    };
    let value: serde_json::Value = serde_json::from_str(line).map_err(|_| not_an_export())?;
    if value.get("format").and_then(serde_json::Value::as_str) != Some(FORMAT) {
        return Err(not_an_export());
    }
    match value.get("version") {
        Some(version) if version.as_u64() == Some(VERSION) => {}
        Some(version) => {
            return Err(format!(
                "export format version {version} is not supported; this visitor-counter reads version {VERSION}"
            ));
        }
        None => return Err(format!("the format version is missing ({})", header_line())),
    }
    serde_json::from_value::<Header>(value)
        .map(|_| ())
        .map_err(|error| json_problem(&error))
}

fn counter_record(line: CounterLine, allowed: &AllowedCounters) -> Result<CounterRecord, String> {
    let name = CounterName::parse(&line.name)
        .map_err(|error| format!("{:?} is not a counter name: {error}", line.name))?;
    if !allowed.allows(&name) {
        return Err(format!(
            "counter {name} is not allowed by COUNTERS ({allowed})"
        ));
    }
    numbers(&format!("counter {name}"), line.views, line.visitors)?;
    let mut dates = HashSet::new();
    let mut days = Vec::with_capacity(line.days.len());
    for day in line.days {
        let date = Day::parse(&day.date)
            .ok_or_else(|| format!("{:?} is not a date (YYYY-MM-DD)", day.date))?;
        if !dates.insert(date) {
            return Err(format!("day {date} of {name} appears twice"));
        }
        numbers(&format!("day {date} of {name}"), day.views, day.visitors)?;
        days.push((
            date,
            Totals {
                views: day.views,
                visitors: day.visitors,
            },
        ));
    }
    days.sort_by_key(|(day, _)| *day);
    Ok(CounterRecord {
        name,
        totals: Totals {
            views: line.views,
            visitors: line.visitors,
        },
        days,
    })
}

/// What is wrong with a line that is not JSON.
fn line_problem(error: &serde_json::Error) -> String {
    if error.is_eof() {
        format!(
            "the line is cut short at column {}: the file is truncated",
            error.column()
        )
    } else {
        json_problem(error)
    }
}

/// serde_json's message without its "at line 1 column N" (each line is parsed alone;
/// the line number is the file's).
fn json_problem(error: &serde_json::Error) -> String {
    let message = error.to_string();
    let message = message
        .rfind(" at line ")
        .map_or(message.as_str(), |at| &message[..at]);
    if error.column() > 0 {
        format!("{message} (column {})", error.column())
    } else {
        message.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<CounterRecord> {
        vec![
            CounterRecord {
                name: CounterName::parse("home").unwrap(),
                totals: Totals {
                    views: MAX_NUMBER,
                    visitors: 5,
                },
                days: vec![(
                    Day::parse("2026-12-01").unwrap(),
                    Totals {
                        views: 3,
                        visitors: 2,
                    },
                )],
            },
            CounterRecord {
                name: CounterName::site(),
                totals: Totals {
                    views: 7,
                    visitors: 7,
                },
                days: vec![],
            },
        ]
    }

    fn written(records: &[CounterRecord]) -> String {
        let mut out = Vec::new();
        write(records, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn an_export_reads_back_as_written() {
        let text = written(&sample());
        assert_eq!(
            text,
            "{\"format\":\"visitor-counter-export\",\"version\":1}\n\
             {\"name\":\"home\",\"views\":9007199254740991,\"visitors\":5,\"days\":[{\"date\":\"2026-12-01\",\"views\":3,\"visitors\":2}]}\n\
             {\"name\":\"site\",\"views\":7,\"visitors\":7,\"days\":[]}\n\
             {\"end\":true,\"counters\":2}\n"
        );
        assert_eq!(parse(&text, &AllowedCounters::Any).unwrap(), sample());
        assert_eq!(
            parse(text.trim_end(), &AllowedCounters::Any).unwrap(),
            sample()
        );
        assert_eq!(parse(&written(&[]), &AllowedCounters::Any).unwrap(), vec![]);
    }

    #[test]
    fn every_problem_is_one_line_naming_its_line() {
        let good = written(&sample());
        let lines: Vec<&str> = good.lines().collect();
        let joined = |lines: &[&str]| lines.join("\n") + "\n";
        let cut = &good[..good.len() - 10];
        let cases: Vec<(String, usize, &str)> = vec![
            (String::new(), 1, "empty"),
            ("hello\n".into(), 1, "not a visitor-counter export"),
            (
                good.replace("\"version\":1", "\"version\":2"),
                1,
                "version 2 is not supported",
            ),
            (joined(&lines[..3]), 3, "truncated"),
            (cut.to_owned(), 4, "cut short"),
            (
                good.replace("\"views\":7", "\"views\":-7"),
                3,
                "expected u64",
            ),
            (
                good.replace("\"views\":7", "\"views\":\"7\""),
                3,
                "expected u64",
            ),
            (
                good.replace("\"site\"", "\"Site\""),
                3,
                "not a counter name",
            ),
            (good.replace("2026-12-01", "2026-02-30"), 2, "not a date"),
            (
                good.replace("\"days\":[]", "\"days\":[],\"x\":1"),
                3,
                "unknown field",
            ),
            (good.replace("\"site\"", "\"home\""), 3, "already on line 2"),
            (
                good.replace("\"counters\":2", "\"counters\":3"),
                4,
                "lines are missing",
            ),
            (good.clone() + "{}\n", 5, "after the end line"),
            (
                good.replace("\n{\"name\":\"site\"", "\n\n{\"name\":\"site\""),
                3,
                "empty line",
            ),
        ];
        for (text, line, words) in cases {
            let error = parse(&text, &AllowedCounters::Any).unwrap_err();
            let message = error.to_string();
            assert_eq!(error.line, line, "{message}");
            assert!(message.contains(words), "{words:?} not in {message:?}");
            assert!(!message.contains('\n'), "{message:?}");
        }
        let allowed = AllowedCounters::parse("blog-*").unwrap();
        let error = parse(&good, &allowed).unwrap_err();
        assert_eq!(error.line, 2);
        assert!(
            error.problem.contains("not allowed by COUNTERS (blog-*)"),
            "{error}"
        );
    }
}
