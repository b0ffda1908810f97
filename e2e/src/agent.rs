//! The User-Agents the checker and the load generator send.
//!
//! The service counts only people: a `POST` whose `User-Agent` is missing, empty, or on
//! its list of crawlers, bots and automation tools (curl, reqwest's default of none,
//! python-requests, Googlebot, HeadlessChrome, ...) is answered `200` and counts
//! nothing. So every request that means to count says it is a desktop browser.
//!
//! A visitor is the client's IP and User-Agent, and one visitor counts at most
//! `VIEWS_PER_VISITOR` (50 by default) views of a counter in a UTC day. The checker's
//! IP is the same for all its requests, so [`Browsers`] makes up a browser build for
//! the run (a random one, so that no two runs of a day are the same visitor) and numbers
//! the visitors of the run in its patch level: `Chrome/131.0.<build>.<visitor>`. Nothing
//! about the real browser or machine the checker runs on is sent.

use std::hash::{BuildHasher, Hasher};
use std::time::{SystemTime, UNIX_EPOCH};

/// What a crawler sends: Google's, which every bot list knows.
pub(crate) const CRAWLER: &str =
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";

/// The most views one visitor may count on one counter in a UTC day unless the operator
/// says otherwise (`VIEWS_PER_VISITOR`); the checker and the load generator stay within
/// it on a stage that keeps the default.
pub const DEFAULT_VIEWS_PER_VISITOR: u64 = 50;

/// The lowest and highest browser build of a run: five digits, so that two runs on one
/// day are the same visitors once in 90,000.
const BUILDS: (u64, u64) = (10_000, 99_999);

/// Desktop browsers made up for one run: each [`visitor`](Self::visitor) number is
/// another visitor, and the same number is the same visitor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Browsers {
    build: u64,
}

impl Browsers {
    /// A build nobody has used before (see [`random_u64`]).
    pub fn new() -> Self {
        Self {
            build: BUILDS.0 + random_u64() % (BUILDS.1 - BUILDS.0 + 1),
        }
    }

    /// Visitor number `n` of the run: Chrome on Windows, the run's build, `n` its patch.
    pub fn visitor(self, n: u64) -> String {
        format!(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
             Chrome/131.0.{}.{n} Safari/537.36",
            self.build
        )
    }
}

/// 64 bits that differ from run to run and call to call: std's `RandomState` is seeded
/// from the operating system's randomness once per thread and moves on with every
/// instance, and the clock and process id go in too. Not a secret, only unique.
pub(crate) fn random_u64() -> u64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    hasher.write_u128(nanos);
    hasher.write_u32(std::process::id());
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn visitors_of_a_run_differ_and_runs_differ() {
        let run = Browsers::new();
        assert_eq!(run.visitor(3), run.visitor(3));
        assert_ne!(run.visitor(3), run.visitor(4));
        let builds: BTreeSet<u64> = (0..20).map(|_| Browsers::new().build).collect();
        assert!(builds.len() > 15, "{builds:?}");
        assert!(builds.iter().all(|b| (BUILDS.0..=BUILDS.1).contains(b)));
    }

    #[test]
    fn a_visitor_reads_as_a_desktop_browser_and_names_no_tool() {
        let agent = Browsers::new().visitor(0);
        assert!(agent.starts_with("Mozilla/5.0 (Windows NT 10.0; Win64; x64)"));
        assert!(agent.ends_with(" Safari/537.36"));
        let lower = agent.to_ascii_lowercase();
        for tool in [
            "bot",
            "e2e",
            "headless",
            "reqwest",
            "curl",
            "visitor-counter",
        ] {
            assert!(!lower.contains(tool), "{agent}");
        }
    }
}
