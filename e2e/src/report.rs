//! What the checker found: checks, their outcomes and their evidence.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

/// The result of one run of [`verify`](crate::verify).
///
/// `Display` renders the human report: a heading, one line per check
/// (`PASS name`, `FAIL name: why` followed by the evidence, `SKIP name: why`), and
/// a closing `N passed, M failed` line. `Serialize` gives the machine report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The base URL that was checked, normalised to end with `/`.
    pub base_url: String,
    /// The origin sent as the allowed one.
    pub origin: String,
    /// Whether the run was read-only (no `POST`).
    pub read_only: bool,
    /// Every check, in the order it ran.
    pub checks: Vec<Check>,
    /// How many checks passed.
    pub passed: usize,
    /// How many checks failed.
    pub failed: usize,
    /// How many checks were skipped (read-only mode).
    pub skipped: usize,
    /// How many `429 Too Many Requests` answers the run met, over all checks.
    pub throttled: usize,
}

/// One clause of the contract, checked.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// A stable kebab-case name, one of [`CHECK_NAMES`](crate::CHECK_NAMES).
    pub name: &'static str,
    /// Passed, failed (and why) or skipped (and why).
    #[serde(flatten)]
    pub outcome: Outcome,
    /// What the check saw when the contract allows more than one answer (the dashboard
    /// served, or turned off), whatever the outcome.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The exchanges the verdict rests on.
    pub evidence: Vec<Exchange>,
    /// How many `429 Too Many Requests` answers the check met (each request sent again
    /// after its `Retry-After`); their exchanges are in the evidence.
    #[serde(skip_serializing_if = "is_zero")]
    pub throttled: usize,
}

fn is_zero(count: &usize) -> bool {
    *count == 0
}

/// How a check ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum Outcome {
    Passed,
    /// The service broke the clause; `reason` says how (all problems found, `; `-separated).
    Failed {
        reason: String,
    },
    /// Not checked in this mode; `reason` says why.
    Skipped {
        reason: String,
    },
}

/// One request and what came back, as evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exchange {
    pub method: String,
    pub url: String,
    /// The request headers that matter to the check (`Origin`, preflight headers).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub request_headers: BTreeMap<String, String>,
    /// Size of the request body, if one was sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_body_bytes: Option<usize>,
    /// The answer's status; `None` when no answer came (see `error`).
    pub status: Option<u16>,
    /// The answer's headers that the contract speaks about, lower-case names, repeated
    /// headers joined with `, `.
    pub headers: BTreeMap<String, String>,
    /// The start of the answer's body, at most [`BODY_EXCERPT_CHARS`] characters.
    pub body: String,
    /// Why no answer came (timeout, refused connection...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The most characters of a body kept as evidence.
pub const BODY_EXCERPT_CHARS: usize = 300;

impl Report {
    pub(crate) fn new(
        base_url: String,
        origin: String,
        read_only: bool,
        checks: Vec<Check>,
    ) -> Self {
        let count = |wanted: fn(&Outcome) -> bool| {
            checks.iter().filter(|check| wanted(&check.outcome)).count()
        };
        let passed = count(|outcome| matches!(outcome, Outcome::Passed));
        let failed = count(|outcome| matches!(outcome, Outcome::Failed { .. }));
        let skipped = count(|outcome| matches!(outcome, Outcome::Skipped { .. }));
        let throttled = checks.iter().map(|check| check.throttled).sum();
        Self {
            base_url,
            origin,
            read_only,
            checks,
            passed,
            failed,
            skipped,
            throttled,
        }
    }

    /// True when no check failed (skipped checks do not count against it).
    pub fn all_passed(&self) -> bool {
        self.failed == 0
    }

    /// The names of the failed checks, in order.
    pub fn failed_names(&self) -> Vec<&'static str> {
        self.checks
            .iter()
            .filter(|check| matches!(check.outcome, Outcome::Failed { .. }))
            .map(|check| check.name)
            .collect()
    }

    /// The check with this name, if it ran.
    pub fn check(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|check| check.name == name)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = if self.read_only {
            "read-only"
        } else {
            "full mode"
        };
        writeln!(
            f,
            "checking {} against the contract ({mode}, origin {})",
            self.base_url, self.origin
        )?;
        for check in &self.checks {
            let throttled = match check.throttled {
                0 => String::new(),
                n => format!(
                    " (throttled: {n} answers were 429, each sent again after its Retry-After)"
                ),
            };
            match &check.outcome {
                Outcome::Passed => {
                    let note = check
                        .note
                        .as_ref()
                        .map_or(String::new(), |note| format!(" ({note})"));
                    writeln!(f, "PASS {}{note}{throttled}", check.name)?;
                }
                Outcome::Skipped { reason } => writeln!(f, "SKIP {}: {reason}", check.name)?,
                Outcome::Failed { reason } => {
                    writeln!(f, "FAIL {}: {reason}{throttled}", check.name)?;
                    for exchange in &check.evidence {
                        write!(f, "{exchange}")?;
                    }
                }
            }
        }
        if self.throttled > 0 {
            writeln!(
                f,
                "throttled: {} answers were 429 Too Many Requests; the requests were sent again",
                self.throttled
            )?;
        }
        writeln!(f, "{} passed, {} failed", self.passed, self.failed)
    }
}

/// Indented, one fact a line: `>` what was sent, `<` what came back.
impl fmt::Display for Exchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "    > {} {}", self.method, self.url)?;
        for (name, value) in &self.request_headers {
            writeln!(f, "    > {name}: {value}")?;
        }
        if let Some(bytes) = self.request_body_bytes {
            writeln!(f, "    > ({bytes}-byte body)")?;
        }
        if let Some(error) = &self.error {
            writeln!(f, "    < no answer: {error}")?;
        }
        if let Some(status) = self.status {
            writeln!(f, "    < {status}")?;
        }
        for (name, value) in &self.headers {
            writeln!(f, "    < {name}: {value}")?;
        }
        if !self.body.is_empty() {
            writeln!(f, "    < body: {}", one_line(&self.body))?;
        }
        Ok(())
    }
}

/// Keeps a body excerpt on one line of the report.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The first [`BODY_EXCERPT_CHARS`] characters of a body, as text.
pub(crate) fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut chars = text.chars();
    let mut kept: String = chars.by_ref().take(BODY_EXCERPT_CHARS).collect();
    if chars.next().is_some() {
        // Mark the cut, staying within the limit.
        kept.pop();
        kept.push('…');
    }
    kept
}

#[cfg(test)]
mod tests {

    use super::*;

    #[test]
    fn excerpts_stop_at_the_limit() {
        assert_eq!(excerpt(b"{\"count\":1}"), "{\"count\":1}");
        let long = "x".repeat(1000);
        let cut = excerpt(long.as_bytes());
        assert_eq!(cut.chars().count(), BODY_EXCERPT_CHARS);
        assert!(cut.ends_with('…'));
        let exact = "y".repeat(BODY_EXCERPT_CHARS);
        assert_eq!(excerpt(exact.as_bytes()), exact);
    }

    #[test]
    fn the_closing_line_counts_passed_and_failed() {
        let check = |name, outcome| Check {
            name,
            outcome,
            note: None,
            evidence: Vec::new(),
            throttled: 0,
        };
        let report = Report::new(
            "http://127.0.0.1:3000/".to_owned(),
            "https://example.com".to_owned(),
            true,
            vec![
                check("get-count", Outcome::Passed),
                check(
                    "not-found",
                    Outcome::Failed {
                        reason: "404 expected".to_owned(),
                    },
                ),
                check(
                    "payload-too-large",
                    Outcome::Skipped {
                        reason: "read-only".to_owned(),
                    },
                ),
            ],
        );
        let text = report.to_string();
        assert_eq!(text.lines().last(), Some("1 passed, 1 failed"));
        assert!(text.contains("\nFAIL not-found: 404 expected\n"));
        assert_eq!(report.failed_names(), ["not-found"]);
        assert!(!report.all_passed());
    }
}
