//! Who a visitor is, kept only as a keyed hash that stops linking after two days.
//!
//! A visitor is (client IP, User-Agent). The service never stores or logs either:
//! it keeps `HMAC-SHA256(salt, counter, IP, User-Agent)`, cut to 128 bits, as the
//! day's marker. The salt is 32 random bytes made for each UTC day (not derived from
//! anything that lives longer) and destroyed when the next day's is made, or by its
//! expiry; markers expire two days after their day. Once a day's salt is gone,
//! nobody, the operator included, can recompute a marker from an address to learn
//! whose visit it was.

use std::fmt;

use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

use crate::day::Day;
use crate::names::CounterName;

/// Bytes of random salt per day.
pub const SALT_BYTES: usize = 32;
/// Bytes of a marker (a truncated HMAC-SHA256).
pub const MARKER_BYTES: usize = 16;
/// Days after its own that a marker is kept (it expires at the start of day + 2).
pub const MARKER_DAYS: i32 = 2;

/// The client's address as the edge saw it: the TCP peer locally, API Gateway's
/// `requestContext.http.sourceIp` in Lambda; never a header a client can set.
/// Requests carry it as an extension; it is hashed, never kept.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientAddress(pub String);

impl fmt::Debug for ClientAddress {
    // Never printed, so never logged by accident.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientAddress(..)")
    }
}

/// A day's salt.
#[derive(Clone, PartialEq, Eq)]
pub struct Salt(pub [u8; SALT_BYTES]);

impl fmt::Debug for Salt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Salt(..)")
    }
}

impl Salt {
    /// Fresh random bytes from the operating system.
    pub fn random() -> Result<Self, ring::error::Unspecified> {
        let mut bytes = [0; SALT_BYTES];
        SystemRandom::new().fill(&mut bytes)?;
        Ok(Self(bytes))
    }

    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(Self)
    }

    /// The marker of one visitor on one counter, under this salt.
    pub fn marker(&self, counter: &CounterName, address: &str, user_agent: &[u8]) -> Marker {
        self.keyed(counter.as_str().as_bytes(), address, user_agent)
    }

    /// The marker of one visitor on the whole site (every counter), under this salt:
    /// no counter's marker, since no counter's name is empty.
    pub fn site_marker(&self, address: &str, user_agent: &[u8]) -> Marker {
        self.keyed(b"", address, user_agent)
    }

    fn keyed(&self, scope: &[u8], address: &str, user_agent: &[u8]) -> Marker {
        let key = hmac::Key::new(hmac::HMAC_SHA256, &self.0);
        let mut context = hmac::Context::with_key(&key);
        // Length-prefixed, so no two (scope, address, agent) triples hash the same
        // bytes; the User-Agent, last, needs no prefix.
        for part in [scope, address.as_bytes()] {
            context.update(&(part.len() as u64).to_be_bytes());
            context.update(part);
        }
        context.update(user_agent);
        let tag = context.sign();
        let mut marker = [0; MARKER_BYTES];
        marker.copy_from_slice(&tag.as_ref()[..MARKER_BYTES]);
        Marker(marker)
    }
}

/// One visitor's mark on one counter for one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Marker(pub [u8; MARKER_BYTES]);

impl Marker {
    pub fn hex(&self) -> String {
        self.0.iter().map(|byte| format!("{byte:02x}")).collect()
    }
}

/// The day's salt, held in memory once read, so that a visit costs no extra
/// round trip for it (one per process per day). One fetch at a time: the first
/// visits of a day, arriving together, wait for one read of the store instead of
/// each asking for it.
#[derive(Debug, Default)]
pub struct SaltCache(tokio::sync::Mutex<Option<(Day, Salt)>>);

impl SaltCache {
    /// `day`'s salt, from memory, or from `fetch` (then kept, replacing an older day's).
    pub async fn get_or_fetch<E, F>(&self, day: Day, fetch: F) -> Result<Salt, E>
    where
        F: Future<Output = Result<Salt, E>>,
    {
        let mut cached = self.0.lock().await;
        if let Some((cached_day, salt)) = cached.as_ref()
            && *cached_day == day
        {
            return Ok(salt.clone());
        }
        let salt = fetch.await?;
        *cached = Some((day, salt.clone()));
        Ok(salt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marker_depends_on_every_part_and_on_the_salt() {
        let salt = Salt([7; SALT_BYTES]);
        let home = CounterName::parse("home").unwrap();
        let about = CounterName::parse("about").unwrap();
        let base = salt.marker(&home, "192.0.2.1", b"Firefox");
        assert_eq!(base, salt.marker(&home, "192.0.2.1", b"Firefox"));
        assert_ne!(base, salt.marker(&about, "192.0.2.1", b"Firefox"));
        assert_ne!(base, salt.marker(&home, "192.0.2.2", b"Firefox"));
        assert_ne!(base, salt.marker(&home, "192.0.2.1", b"Chrome"));
        assert_ne!(
            base,
            Salt([8; SALT_BYTES]).marker(&home, "192.0.2.1", b"Firefox")
        );
        // The length prefixes keep (address, agent) pairs apart.
        assert_ne!(
            salt.marker(&home, "1", b"2\0x"),
            salt.marker(&home, "1\x002", b"x")
        );
        assert_eq!(base.hex().len(), 2 * MARKER_BYTES);
        // The site's marker is no counter's.
        let site = salt.site_marker("192.0.2.1", b"Firefox");
        assert_ne!(site, base);
        assert_ne!(
            site,
            salt.marker(&CounterName::site(), "192.0.2.1", b"Firefox")
        );
        assert_eq!(site, salt.site_marker("192.0.2.1", b"Firefox"));
    }

    #[test]
    fn salts_are_random() {
        assert_ne!(Salt::random().unwrap(), Salt::random().unwrap());
    }
}
