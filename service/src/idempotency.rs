//! `Idempotency-Key` (after the IETF httpapi draft): a visit retried with one key is
//! counted exactly once.
//!
//! A `POST /count` or `POST /counters/{name}` may carry a key: 1 to 255 visible ASCII
//! characters, bare (`abc`) or as the draft's quoted string (`"abc"`, the same key).
//! The first request with a key counts the visit, and the store keeps its answer, with
//! the counter's name, for [`RETENTION`]. Another request with the key then counts
//! nothing: on the same counter it gets that answer again, marked
//! `Idempotent-Replayed: true` (in the shape of the route it asked: `/count` and
//! `/counters/site` are one counter); on another counter it is `422`. A request that
//! meets another one with its key being written at that very moment is `409` with
//! `Retry-After`. A malformed key is `400`. Nothing else changes for POSTs without a key.
//!
//! # Why no window remains
//!
//! The answer is not written after the count: it is written with it, in one atomic
//! write. On DynamoDB that is one `TransactWriteItems` of the key's record (conditional:
//! no live record for the key), the counter's `ADD`, the day's `ADD` and, for a new
//! visitor, the marker (conditional: no marker yet). On the embedded store it is one
//! redb commit holding the same four writes. So at every instant either the visit is
//! not counted and there is no record, or it is counted and its record (with the answer
//! the first request gave or would have given) exists. There is no step between the two
//! to die in:
//!
//! - an attempt that times out after its write landed (the `503` of v1's known
//!   ambiguity) left the record: the retry reads it and replays it;
//! - so sending a keyed write again is always safe, and the DynamoDB store does so
//!   itself when a connection breaks without an answer (up to 3 attempts within the
//!   deadline): if the first had landed, the record refuses the second and names its
//!   writer (a random name per request), so the request answers its own visit's
//!   answer, as counted, not as a replay;
//! - a process killed at any point left either nothing (the retry counts the visit) or
//!   the record (the retry replays it);
//! - a write that arrives late, after a retry has already counted the visit (a request
//!   held in the network), fails its condition and changes nothing: the record is the
//!   fence, for the whole retention, where DynamoDB's own `ClientRequestToken` would
//!   hold for 10 minutes only;
//! - concurrent requests with one key: one transaction commits; the others fail its
//!   condition (and replay its record) or conflict with it (`409`).
//!
//! The record keeps a digest of the key (SHA-256), never the key itself: records have
//! one size, and nothing a client chose is stored as it was sent.
//!
//! # What it costs (DynamoDB)
//!
//! - a retry with a known key: 1 round trip (`BatchGetItem` of the record, the counter
//!   and the marker), 0 write units; like every `POST` with a visitor, a process's first
//!   one of a UTC day reads the day's salt first (the marker needs it);
//! - a new key: that read, then the transaction: 2 round trips, as a POST without a key.
//!   Transactional writes cost two write units per item: 6 (a repeat visitor: record,
//!   counter, day) or 8 (a new visitor: and the marker), where a POST without a key
//!   costs 3. The answer is the totals the read saw plus this visit: when other visits
//!   land between the read and the write, the counter has moved further than it says
//!   (a POST without a key is answered its own consecutive number instead);
//! - a marker made by another visit between the read and the write: the transaction is
//!   refused on its condition, and sent again counting no visitor (1 more round trip).

use std::fmt;
use std::time::Duration;

use http::HeaderMap;

/// The request header.
pub const HEADER: &str = "idempotency-key";
/// The header marking a replayed answer (`true`).
pub const REPLAYED_HEADER: &str = "idempotent-replayed";
/// How long a key's record, and so its answer, is kept.
pub const RETENTION: Duration = Duration::from_secs(24 * 60 * 60);
/// The longest key, in characters (after unquoting).
pub const MAX_KEY_LENGTH: usize = 255;
/// Bytes of a key's digest.
pub const DIGEST_BYTES: usize = 32;

/// A valid key, as the digest the stores keep.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey([u8; DIGEST_BYTES]);

impl fmt::Debug for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdempotencyKey({}..)", &self.hex()[..8])
    }
}

/// Why a header value is not a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidKey {
    Empty,
    TooLong,
    /// A byte that is not visible ASCII (`!` to `~`): a space, a control, non-ASCII.
    NotVisibleAscii,
    /// Starts with `"` but is not a whole quoted string (`"abc"`, with `\"` and `\\`).
    BrokenQuotes,
    /// A bare key with a `,`: HTTP lets intermediaries join a header given twice into
    /// one value with commas (API Gateway does), so it cannot be told from two keys.
    Comma,
    Repeated,
}

impl InvalidKey {
    /// The problem's detail.
    pub fn detail(self) -> &'static str {
        match self {
            InvalidKey::Empty => {
                "Idempotency-Key: empty; a key is 1 to 255 visible ASCII characters."
            }
            InvalidKey::TooLong => "Idempotency-Key: longer than 255 characters.",
            InvalidKey::NotVisibleAscii => {
                "Idempotency-Key: a key is 1 to 255 visible ASCII characters ('!' to '~'): no spaces, controls or non-ASCII."
            }
            InvalidKey::BrokenQuotes => {
                "Idempotency-Key: starts a quoted string (\"abc\") that is not one: it must end with '\"', and only '\\\"' and '\\\\' may be escaped."
            }
            InvalidKey::Repeated => "Idempotency-Key: given more than once.",
            InvalidKey::Comma => {
                "Idempotency-Key: a ',' separates the values of a header given more than once; a key with a ',' must be quoted (\"a,b\")."
            }
        }
    }
}

impl IdempotencyKey {
    /// Parses one header value: a bare key, or the draft's quoted string of one.
    pub fn parse(value: &[u8]) -> Result<Self, InvalidKey> {
        let key = match value {
            [b'"', inner @ .., b'"'] => unquote(inner)?,
            [b'"', ..] => return Err(InvalidKey::BrokenQuotes),
            bare if bare.contains(&b',') => return Err(InvalidKey::Comma),
            bare => bare.to_vec(),
        };
        if key.is_empty() {
            return Err(InvalidKey::Empty);
        }
        if !key.iter().all(|byte| (b'!'..=b'~').contains(byte)) {
            return Err(InvalidKey::NotVisibleAscii);
        }
        if key.len() > MAX_KEY_LENGTH {
            return Err(InvalidKey::TooLong);
        }
        let digest = ring::digest::digest(&ring::digest::SHA256, &key);
        let mut bytes = [0; DIGEST_BYTES];
        bytes.copy_from_slice(digest.as_ref());
        Ok(Self(bytes))
    }

    /// The request's key: `None` without the header, why not if it is not one key
    /// (a `400` problem at the HTTP edge).
    pub fn of(headers: &HeaderMap) -> Result<Option<Self>, InvalidKey> {
        let mut values = headers.get_all(HEADER).iter();
        match (values.next(), values.next()) {
            (None, _) => Ok(None),
            (Some(_), Some(_)) => Err(InvalidKey::Repeated),
            (Some(value), None) => Self::parse(value.as_bytes()).map(Some),
        }
    }

    pub fn digest(&self) -> &[u8; DIGEST_BYTES] {
        &self.0
    }

    /// The digest in lower-case hex.
    pub fn hex(&self) -> String {
        self.0.iter().map(|byte| format!("{byte:02x}")).collect()
    }
}

/// The inside of a quoted string, unescaped: `\"` and `\\` only, and no bare `"`.
fn unquote(inner: &[u8]) -> Result<Vec<u8>, InvalidKey> {
    let mut key = Vec::with_capacity(inner.len());
    let mut bytes = inner.iter();
    while let Some(&byte) = bytes.next() {
        match byte {
            b'\\' => match bytes.next() {
                Some(&escaped @ (b'"' | b'\\')) => key.push(escaped),
                _ => return Err(InvalidKey::BrokenQuotes),
            },
            b'"' => return Err(InvalidKey::BrokenQuotes),
            other => key.push(other),
        }
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> Result<IdempotencyKey, InvalidKey> {
        IdempotencyKey::parse(text.as_bytes())
    }

    #[test]
    fn the_quoted_form_is_the_same_key() {
        assert_eq!(key("\"abc\"").unwrap(), key("abc").unwrap());
        assert_eq!(key(r#""a\"b""#).unwrap(), key("a\"b").unwrap());
        assert_eq!(key(r#""a\\b""#).unwrap(), key(r"a\b").unwrap());
        // A comma only quoted; the longest quoted key is 512 characters.
        assert!(key(r#""a,b""#).is_ok());
        assert!(key(&format!("\"{}\"", r"\\".repeat(255))).is_ok());
        assert_ne!(key("abc").unwrap(), key("abd").unwrap());
        assert_eq!(
            key(&"k".repeat(255)).unwrap(),
            key(&format!("\"{}\"", "k".repeat(255))).unwrap()
        );
    }

    #[test]
    fn keys_that_are_not_1_to_255_visible_ascii_are_refused() {
        for (text, why) in [
            ("", InvalidKey::Empty),
            ("\"\"", InvalidKey::Empty),
            ("a b", InvalidKey::NotVisibleAscii),
            ("\"a b\"", InvalidKey::NotVisibleAscii),
            ("a\tb", InvalidKey::NotVisibleAscii),
            ("\u{e9}", InvalidKey::NotVisibleAscii),
            ("\"", InvalidKey::BrokenQuotes),
            ("\"abc", InvalidKey::BrokenQuotes),
            ("\"a\"b\"", InvalidKey::BrokenQuotes),
            (r#""a\b""#, InvalidKey::BrokenQuotes),
            (r#""abc\""#, InvalidKey::BrokenQuotes),
            // Two headers joined by an intermediary, bare or quoted.
            ("k,j", InvalidKey::Comma),
            ("k, j", InvalidKey::Comma),
            (r#""k","j""#, InvalidKey::BrokenQuotes),
        ] {
            assert_eq!(key(text), Err(why), "{text:?}");
        }
        assert_eq!(key(&"k".repeat(256)), Err(InvalidKey::TooLong));
        assert_eq!(
            key(&format!("\"{}\"", "k".repeat(256))),
            Err(InvalidKey::TooLong)
        );
        assert_eq!(
            IdempotencyKey::parse(b"a\xffb"),
            Err(InvalidKey::NotVisibleAscii)
        );
    }

    #[test]
    fn a_key_given_twice_is_refused_and_none_is_none() {
        let mut headers = HeaderMap::new();
        assert_eq!(IdempotencyKey::of(&headers), Ok(None));
        headers.append(HEADER, http::HeaderValue::from_static("a"));
        assert!(IdempotencyKey::of(&headers).unwrap().is_some());
        headers.append(HEADER, http::HeaderValue::from_static("a"));
        assert_eq!(IdempotencyKey::of(&headers), Err(InvalidKey::Repeated));
    }
}
