//! The stub's `Idempotency-Key`, as the contract has it: the first POST with a key
//! counts the visit and its answer is kept; the key again on the same counter is that
//! answer, marked `Idempotent-Replayed: true`, counting nothing (`/count` and
//! `/counters/site` are one counter, each answered in its own shape); on another
//! counter a 422; while the first request is being written, a 409 with `Retry-After`;
//! a malformed key a 400.
//!
//! "Being written" is played by holding the first answer to a key for [`IN_FLIGHT`]:
//! a request with the key that comes before it was answered is in flight, one that
//! comes after it (as the next of a sequence does) is replayed.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use wiremock::{Request, ResponseTemplate};

use super::named::{Numbers, SITE};
use super::{Fault, Stub};

/// How long the first answer to a key is held, its request in flight meanwhile.
pub const IN_FLIGHT: Duration = Duration::from_millis(100);
/// The longest key, in characters.
const MAX_KEY_LENGTH: usize = 255;
/// The counter a key of `/count` belongs to under [`Fault::KeysPerRoute`].
const COUNT_ROUTE: &str = "/count";

/// A key's first visit.
#[derive(Debug)]
struct Record {
    counter: String,
    /// The numbers its answer had.
    numbers: Numbers,
    /// Until when its first request is in flight.
    until: Instant,
}

/// Every key sent so far.
#[derive(Debug, Default)]
pub struct Keys(HashMap<String, Record>);

/// Where a keyed POST went.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// `/count`: the counter `site`, answered `{"count": N}`.
    Count,
    /// `/counters/{name}`, a valid name.
    Named(&'a str),
}

/// The key of a header value: bare, or a quoted string with `\"` and `\\` escaped;
/// 1 to 255 visible ASCII characters, no `,` in a bare one. `None` when it is none.
fn parse(value: &[u8]) -> Option<Vec<u8>> {
    let key = match value {
        [b'"', inner @ .., b'"'] => {
            let mut key = Vec::new();
            let mut bytes = inner.iter();
            while let Some(&byte) = bytes.next() {
                match byte {
                    b'\\' => match bytes.next() {
                        Some(&escaped @ (b'"' | b'\\')) => key.push(escaped),
                        _ => return None,
                    },
                    b'"' => return None,
                    other => key.push(other),
                }
            }
            key
        }
        [b'"', ..] => return None,
        bare if bare.contains(&b',') => return None,
        bare => bare.to_vec(),
    };
    let visible = key.iter().all(|byte| (b'!'..=b'~').contains(byte));
    ((1..=MAX_KEY_LENGTH).contains(&key.len()) && visible).then_some(key)
}

/// The request's key: `Ok(None)` without one, `Err` when the header is not one key
/// (malformed, or given twice).
fn key_of(request: &Request) -> Result<Option<String>, ()> {
    let mut values = request.headers.get_all("idempotency-key").iter();
    match (values.next(), values.next()) {
        (None, _) => Ok(None),
        (Some(_), Some(_)) => Err(()),
        (Some(value), None) => parse(value.as_bytes())
            .map(|key| Some(String::from_utf8_lossy(&key).into_owned()))
            .ok_or(()),
    }
}

impl Stub {
    /// The answer to a POST on a counting route, whose origin and body were let through,
    /// if it has an `Idempotency-Key` (`None`: it has none, and is counted as before).
    pub(super) fn keyed(
        &self,
        request: &Request,
        target: Target<'_>,
    ) -> Option<(ResponseTemplate, u16, bool)> {
        let key = match key_of(request) {
            Ok(None) => return None,
            // Ignored, as a server that does not read the header would.
            Err(()) if self.has(Fault::InvalidKeyAccepted) => return None,
            Err(()) => {
                return Some((
                    self.problem(&self.examples.invalid_idempotency_key),
                    400,
                    false,
                ));
            }
            Ok(Some(key)) => key,
        };
        let counter = match target {
            Target::Count if self.has(Fault::KeysPerRoute) => COUNT_ROUTE,
            Target::Count => SITE,
            Target::Named(name) => name,
        };
        let slot = if self.has(Fault::ReusedKeyCounted) {
            // Keys kept per counter: on another counter a key is a new one.
            format!("{counter} {key}")
        } else {
            key
        };
        let mut keys = self.keys.lock().unwrap();
        let now = Instant::now();
        let answer = match keys.0.get(&slot) {
            Some(record) if record.counter != counter => (
                self.problem(&self.examples.idempotency_key_reused),
                422,
                false,
            ),
            Some(record) if now < record.until && self.has(Fault::ConcurrentCountedTwice) => {
                // A check-then-write race: the record is seen, but not as in flight.
                let numbers = self.count_target(request, target);
                (self.keyed_answer(target, numbers, false), 200, false)
            }
            Some(record) if now < record.until => {
                let answer = self.problem(&self.examples.idempotency_key_in_flight);
                let answer = if self.has(Fault::InFlightWithoutRetryAfter) {
                    answer
                } else {
                    answer.insert_header("Retry-After", "1")
                };
                (answer, 409, false)
            }
            Some(record) => {
                let numbers = if self.has(Fault::ReplayRereads) {
                    self.current(target)
                } else {
                    record.numbers
                };
                if self.has(Fault::ReplayCounts) {
                    self.count_target(request, target);
                }
                let marked = !self.has(Fault::ReplayNotMarked);
                (self.keyed_answer(target, numbers, marked), 200, false)
            }
            None => {
                let numbers = self.count_target(request, target);
                keys.0.insert(
                    slot,
                    Record {
                        counter: counter.to_owned(),
                        numbers,
                        until: now + IN_FLIGHT,
                    },
                );
                let answer = self.keyed_answer(target, numbers, false);
                (answer.set_delay(IN_FLIGHT), 200, false)
            }
        };
        Some(answer)
    }

    /// Counts a visit of the target: its numbers after it.
    fn count_target(&self, request: &Request, target: Target<'_>) -> Numbers {
        match target {
            Target::Count => {
                self.count.fetch_add(1, Ordering::SeqCst);
                self.site_visit(request);
                self.current(target)
            }
            Target::Named(name) => self.count(request, name),
        }
    }

    /// The target's numbers now.
    fn current(&self, target: Target<'_>) -> Numbers {
        let store = self.store.lock().unwrap();
        let name = match target {
            Target::Count => SITE,
            Target::Named(name) => name,
        };
        let mut numbers = self.numbers(&store, name);
        if let Target::Count = target {
            numbers.views = self.count.load(Ordering::SeqCst);
        }
        numbers
    }

    /// A keyed visit's answer in the target's shape, marked replayed or not.
    fn keyed_answer(
        &self,
        target: Target<'_>,
        numbers: Numbers,
        replayed: bool,
    ) -> ResponseTemplate {
        let answer = match target {
            Target::Count => self.count_body(numbers.views),
            Target::Named(name) => self.counter_body(name, numbers),
        };
        if replayed {
            answer.insert_header("Idempotent-Replayed", self.examples.replayed.as_str())
        } else {
            answer
        }
    }
}

#[test]
fn keys_are_parsed_as_the_contract_has_them() {
    assert_eq!(parse(b"abc"), Some(b"abc".to_vec()));
    assert_eq!(parse(b"\"abc\""), Some(b"abc".to_vec()));
    assert_eq!(parse(br#""a\"b\\c""#), Some(br#"a"b\c"#.to_vec()));
    assert_eq!(parse(br#"a"b"#), Some(br#"a"b"#.to_vec()));
    assert_eq!(parse(&[b'k'; 255]), Some(vec![b'k'; 255]));
    for malformed in [
        &b""[..],
        b"\"\"",
        b"a b",
        b"\"",
        b"\"abc",
        b"\"a\"b\"",
        br#""a\b""#,
        b"\xc3\xa9",
        &[b'k'; 256],
    ] {
        assert_eq!(
            parse(malformed),
            None,
            "{:?}",
            String::from_utf8_lossy(malformed)
        );
    }
}
