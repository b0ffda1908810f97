//! What a load run measured: the [`LoadReport`], and the tally the workers keep on
//! the way to it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use reqwest::{StatusCode, Url};
use serde::Serialize;

use super::{LoadOptions, Mix};
use crate::contract::count_in;
use crate::http::{Broken, Fetched, error_chain};
use crate::latency::Latency;

/// What the integrity check takes for granted; part of every report.
pub const INTEGRITY_NOTE: &str =
    "the integrity check assumes no other traffic moves the count during the run";
/// Distinct error messages kept as examples in the report.
const MAX_ERROR_SAMPLES: usize = 5;

/// What a run of [`run`](super::run) measured.
///
/// `Display` renders a few aligned lines and a closing `PASS: ...` or `FAIL: ...` line;
/// `Serialize` gives the same as one JSON object.
#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    /// The URL that was loaded: `<base_url>/count`.
    pub url: String,
    /// The `Origin` sent with every request, if any.
    pub origin: Option<String>,
    pub mix: Mix,
    /// Workers that ran at the same time.
    pub concurrency: usize,
    /// Requests sent (all of [`LoadOptions::requests`]).
    pub sent: u64,
    pub gets_sent: u64,
    pub posts_sent: u64,
    /// Requests that got a whole answer, of any status.
    pub answered: u64,
    /// Answers by status code.
    pub statuses: BTreeMap<u16, u64>,
    /// Answers with a 5xx status.
    pub server_errors: u64,
    /// Requests that got no (whole) answer: `timeouts + transport_errors`.
    pub errors: u64,
    /// Requests that ran out of [`LoadOptions::timeout`].
    pub timeouts: u64,
    /// Requests that failed otherwise: refused or reset connections, broken bodies.
    pub transport_errors: u64,
    /// Up to five distinct messages of those errors, as examples.
    pub error_samples: Vec<String>,
    /// Seconds from the first request sent to the last answer, the two reads of the
    /// count left out.
    pub elapsed_secs: f64,
    /// Answered requests per second of `elapsed_secs`.
    pub throughput_per_sec: f64,
    /// Latency of every answered request; `None` if none was answered.
    pub latency: Option<Latency>,
    /// Latency of the answered `GET`s.
    pub get_latency: Option<Latency>,
    /// Latency of the answered `POST`s.
    pub post_latency: Option<Latency>,
    /// The count read before the run.
    pub count_before: u64,
    /// The count read after the run; `None` if it could not be read (see
    /// `count_after_error`).
    pub count_after: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count_after_error: Option<String>,
    /// `POST`s answered 200: visits the service says it counted.
    pub posts_answered_200: u64,
    /// Of those, answers whose body held no readable count.
    pub post_counts_unreadable: u64,
    /// `count_after - count_before - posts_answered_200`: negative when answered visits
    /// were lost, positive when visits were counted twice (or counted without a 200,
    /// such as a `POST` that timed out after the service counted it). `None` when the
    /// count could not be read after the run.
    pub lost_or_doubled: Option<i64>,
    /// `POST` answers whose count another `POST` answer had already carried.
    pub duplicate_values: usize,
    /// `lost_or_doubled` is 0, no duplicate values, and every 200 `POST` carried a count.
    pub integrity_holds: bool,
    /// [`INTEGRITY_NOTE`].
    pub integrity_note: &'static str,
    /// No 5xx, no request without an answer, and the integrity check holds.
    pub passed: bool,
}

impl LoadReport {
    /// Why the run failed, one reason each; empty when it passed.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.server_errors > 0 {
            problems.push(format!("{} answers were 5xx", self.server_errors));
        }
        if self.errors > 0 {
            problems.push(format!(
                "{} requests got no answer ({} timeouts, {} transport errors)",
                self.errors, self.timeouts, self.transport_errors
            ));
        }
        match (self.count_after, self.lost_or_doubled) {
            (Some(after), Some(lost_or_doubled)) if lost_or_doubled != 0 => {
                problems.push(format!(
                    "the count moved by {} for {} POSTs answered 200 (lost or doubled: {lost_or_doubled:+})",
                    i128::from(after) - i128::from(self.count_before),
                    self.posts_answered_200
                ));
            }
            (None, _) | (_, None) => problems.push(format!(
                "the count could not be read after the run: {}",
                self.count_after_error
                    .as_deref()
                    .unwrap_or("no reason given")
            )),
            _ => {}
        }
        if self.duplicate_values > 0 {
            problems.push(format!(
                "{} POST answers repeated a count another POST already got",
                self.duplicate_values
            ));
        }
        if self.post_counts_unreadable > 0 {
            problems.push(format!(
                "{} POSTs answered 200 without a readable count",
                self.post_counts_unreadable
            ));
        }
        problems
    }
}

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "load on {}: mix {} (GET:POST), concurrency {}{}",
            self.url,
            self.mix,
            self.concurrency,
            self.origin
                .as_deref()
                .map(|origin| format!(", origin {origin}"))
                .unwrap_or_default()
        )?;
        writeln!(
            f,
            "{:<12}{} ({} GET, {} POST) in {:.3} s",
            "sent", self.sent, self.gets_sent, self.posts_sent, self.elapsed_secs
        )?;
        let statuses: Vec<String> = self
            .statuses
            .iter()
            .map(|(status, count)| format!("{status}: {count}"))
            .collect();
        writeln!(
            f,
            "{:<12}{} ({})",
            "answered",
            self.answered,
            if statuses.is_empty() {
                "none".to_owned()
            } else {
                statuses.join(", ")
            }
        )?;
        writeln!(
            f,
            "{:<12}{} ({} timeouts, {} transport)",
            "no answer", self.errors, self.timeouts, self.transport_errors
        )?;
        for sample in &self.error_samples {
            writeln!(f, "{:<12}e.g. {sample}", "")?;
        }
        writeln!(
            f,
            "{:<12}{:.1} answered/s",
            "throughput", self.throughput_per_sec
        )?;
        writeln!(
            f,
            "{:<12}{:>9} {:>9} {:>9} {:>9}",
            "latency ms", "p50", "p90", "p99", "max"
        )?;
        for (label, latency) in [
            ("  all", &self.latency),
            ("  GET", &self.get_latency),
            ("  POST", &self.post_latency),
        ] {
            match latency {
                Some(latency) => writeln!(
                    f,
                    "{label:<12}{:>9.3} {:>9.3} {:>9.3} {:>9.3}",
                    latency.p50_ms, latency.p90_ms, latency.p99_ms, latency.max_ms
                )?,
                None => writeln!(f, "{label:<12}{:>9} {:>9} {:>9} {:>9}", "-", "-", "-", "-")?,
            }
        }
        match self.count_after {
            Some(after) => writeln!(
                f,
                "{:<12}{} -> {after} ({:+})",
                "count",
                self.count_before,
                i128::from(after) - i128::from(self.count_before)
            )?,
            None => writeln!(
                f,
                "{:<12}{} -> unreadable: {}",
                "count",
                self.count_before,
                self.count_after_error
                    .as_deref()
                    .unwrap_or("no reason given")
            )?,
        }
        writeln!(
            f,
            "{:<12}{} answered 200, {} without a count",
            "POSTs", self.posts_answered_200, self.post_counts_unreadable
        )?;
        let lost_or_doubled = match self.lost_or_doubled {
            Some(0) => "0".to_owned(),
            Some(value) => format!("{value:+}"),
            None => "unknown".to_owned(),
        };
        writeln!(
            f,
            "{:<12}{}: lost or doubled {lost_or_doubled}, duplicate values {}",
            "integrity",
            if self.integrity_holds {
                "holds"
            } else {
                "BROKEN"
            },
            self.duplicate_values
        )?;
        writeln!(f, "{:<12}{INTEGRITY_NOTE}", "note")?;
        if self.passed {
            writeln!(
                f,
                "PASS: no 5xx, every request answered, the count moved by exactly the {} POSTs answered 200",
                self.posts_answered_200
            )
        } else {
            writeln!(f, "FAIL: {}", self.problems().join("; "))
        }
    }
}

/// What one worker (or, merged, all of them) saw.
#[derive(Default)]
pub(super) struct Tally {
    gets_sent: u64,
    posts_sent: u64,
    statuses: BTreeMap<u16, u64>,
    timeouts: u64,
    transport_errors: u64,
    error_samples: BTreeSet<String>,
    get_micros: Vec<u64>,
    post_micros: Vec<u64>,
    posts_answered_200: u64,
    post_counts_unreadable: u64,
    post_counts: Vec<u64>,
}

impl Tally {
    pub(super) fn record(&mut self, post: bool, micros: u64, result: &Result<Fetched, Broken>) {
        if post {
            self.posts_sent += 1;
        } else {
            self.gets_sent += 1;
        }
        match result {
            Ok(answer) => {
                *self.statuses.entry(answer.status.as_u16()).or_default() += 1;
                if post {
                    self.post_micros.push(micros);
                    if answer.status == StatusCode::OK {
                        self.posts_answered_200 += 1;
                        match count_in(&answer.body) {
                            Some(count) => self.post_counts.push(count),
                            None => self.post_counts_unreadable += 1,
                        }
                    }
                } else {
                    self.get_micros.push(micros);
                }
            }
            Err(Broken { source: error, .. }) => {
                if error.is_timeout() {
                    self.timeouts += 1;
                } else {
                    self.transport_errors += 1;
                }
                if self.error_samples.len() < MAX_ERROR_SAMPLES {
                    self.error_samples.insert(error_chain(error));
                }
            }
        }
    }

    pub(super) fn merge(&mut self, other: Self) {
        self.gets_sent += other.gets_sent;
        self.posts_sent += other.posts_sent;
        for (status, count) in other.statuses {
            *self.statuses.entry(status).or_default() += count;
        }
        self.timeouts += other.timeouts;
        self.transport_errors += other.transport_errors;
        for sample in other.error_samples {
            if self.error_samples.len() < MAX_ERROR_SAMPLES {
                self.error_samples.insert(sample);
            }
        }
        self.get_micros.extend(other.get_micros);
        self.post_micros.extend(other.post_micros);
        self.posts_answered_200 += other.posts_answered_200;
        self.post_counts_unreadable += other.post_counts_unreadable;
        self.post_counts.extend(other.post_counts);
    }

    pub(super) fn report(
        mut self,
        url: &Url,
        options: &LoadOptions,
        workers: usize,
        elapsed: Duration,
        count_before: u64,
        count_after: Result<u64, String>,
    ) -> LoadReport {
        self.get_micros.sort_unstable();
        self.post_micros.sort_unstable();
        let mut all_micros = Vec::with_capacity(self.get_micros.len() + self.post_micros.len());
        all_micros.extend_from_slice(&self.get_micros);
        all_micros.extend_from_slice(&self.post_micros);
        all_micros.sort_unstable();

        self.post_counts.sort_unstable();
        let duplicate_values = self
            .post_counts
            .windows(2)
            .filter(|pair| pair[0] == pair[1])
            .count();

        let answered: u64 = self.statuses.values().sum();
        let server_errors: u64 = self
            .statuses
            .iter()
            .filter(|(status, _)| (500..600).contains(*status))
            .map(|(_, count)| count)
            .sum();
        let errors = self.timeouts + self.transport_errors;
        let (count_after, count_after_error) = match count_after {
            Ok(count) => (Some(count), None),
            Err(error) => (None, Some(error)),
        };
        let lost_or_doubled = count_after.map(|after| {
            let moved = i128::from(after) - i128::from(count_before);
            let lost_or_doubled = moved - i128::from(self.posts_answered_200);
            i64::try_from(lost_or_doubled).unwrap_or(if lost_or_doubled < 0 {
                i64::MIN
            } else {
                i64::MAX
            })
        });
        let integrity_holds =
            lost_or_doubled == Some(0) && duplicate_values == 0 && self.post_counts_unreadable == 0;
        let seconds = elapsed.as_secs_f64();
        LoadReport {
            url: url.to_string(),
            origin: options.origin.clone(),
            mix: options.mix,
            concurrency: workers,
            sent: self.gets_sent + self.posts_sent,
            gets_sent: self.gets_sent,
            posts_sent: self.posts_sent,
            answered,
            statuses: self.statuses,
            server_errors,
            errors,
            timeouts: self.timeouts,
            transport_errors: self.transport_errors,
            error_samples: self.error_samples.into_iter().collect(),
            elapsed_secs: seconds,
            throughput_per_sec: if seconds > 0.0 {
                answered as f64 / seconds
            } else {
                0.0
            },
            latency: Latency::of_sorted_micros(&all_micros),
            get_latency: Latency::of_sorted_micros(&self.get_micros),
            post_latency: Latency::of_sorted_micros(&self.post_micros),
            count_before,
            count_after,
            count_after_error,
            posts_answered_200: self.posts_answered_200,
            post_counts_unreadable: self.post_counts_unreadable,
            lost_or_doubled,
            duplicate_values,
            integrity_holds,
            integrity_note: INTEGRITY_NOTE,
            passed: server_errors == 0 && errors == 0 && integrity_holds,
        }
    }
}
