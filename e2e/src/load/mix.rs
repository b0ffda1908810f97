//! The share of `GET`s and `POST`s in a load run.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

use crate::error::Error;

/// The share of `GET`s and `POST`s, as weights: `1:1` alternates, `3:1` sends one `POST`
/// after every three `GET`s, `0:1` only `POST`s, `1:0` only `GET`s.
///
/// Written and parsed as `get:post`. The requests are spread evenly and
/// deterministically: of the first `n` requests, exactly [`Mix::posts_in`]`(n)` are
/// `POST`s, whatever the timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mix {
    get: u32,
    post: u32,
}

impl Mix {
    /// As many `GET`s as `POST`s.
    pub const EVEN: Self = Self { get: 1, post: 1 };
    /// `GET`s only: nothing changes the count.
    pub const GET_ONLY: Self = Self { get: 1, post: 0 };
    /// `POST`s only.
    pub const POST_ONLY: Self = Self { get: 0, post: 1 };

    /// A mix of these weights; at least one must be more than zero.
    pub fn new(get: u32, post: u32) -> Result<Self, Error> {
        if get == 0 && post == 0 {
            return Err(Error::InvalidOptions(
                "the mix 0:0 sends nothing; give a GET or a POST weight above zero".to_owned(),
            ));
        }
        Ok(Self { get, post })
    }

    /// The `GET` weight.
    pub fn get(&self) -> u32 {
        self.get
    }

    /// The `POST` weight.
    pub fn post(&self) -> u32 {
        self.post
    }

    /// Whether request number `index` (from 0) is a `POST`.
    pub fn is_post(&self, index: u64) -> bool {
        let cycle = u64::from(self.get) + u64::from(self.post);
        if cycle == 0 {
            return false;
        }
        let step = index % cycle;
        let post = u64::from(self.post);
        (step + 1) * post / cycle > step * post / cycle
    }

    /// How many of the first `requests` requests are `POST`s.
    pub fn posts_in(&self, requests: u64) -> u64 {
        let cycle = u64::from(self.get) + u64::from(self.post);
        if cycle == 0 {
            return 0;
        }
        let post = u64::from(self.post);
        requests / cycle * post + requests % cycle * post / cycle
    }
}

impl Default for Mix {
    fn default() -> Self {
        Self::EVEN
    }
}

impl FromStr for Mix {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        let invalid = || {
            Error::InvalidOptions(format!(
                "the mix must be GET:POST weights such as 1:1, 0:1 or 3:1, not {text:?}"
            ))
        };
        let (get, post) = text.split_once(':').ok_or_else(invalid)?;
        let weight = |part: &str| part.trim().parse::<u32>().map_err(|_| invalid());
        Self::new(weight(get)?, weight(post)?)
    }
}

impl fmt::Display for Mix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.get, self.post)
    }
}

impl Serialize for Mix {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {

    use super::*;

    #[test]
    fn mixes_parse_and_print_as_get_post() {
        assert_eq!("1:1".parse::<Mix>().unwrap(), Mix::EVEN);
        assert_eq!("0:1".parse::<Mix>().unwrap(), Mix::POST_ONLY);
        assert_eq!("1:0".parse::<Mix>().unwrap(), Mix::GET_ONLY);
        assert_eq!(" 3 : 1 ".parse::<Mix>().unwrap(), Mix::new(3, 1).unwrap());
        assert_eq!(Mix::new(3, 1).unwrap().to_string(), "3:1");
        for bad in ["", "1", "1:", ":1", "0:0", "1:1:1", "-1:1", "a:b", "1.5:1"] {
            assert!(
                matches!(bad.parse::<Mix>(), Err(Error::InvalidOptions(_))),
                "{bad:?} was accepted"
            );
        }
    }

    #[test]
    fn mixes_spread_requests_evenly_and_exactly() {
        let pattern = |mix: Mix| -> String {
            (0..8)
                .map(|index| if mix.is_post(index) { 'P' } else { 'G' })
                .collect()
        };
        assert_eq!(pattern(Mix::EVEN), "GPGPGPGP");
        assert_eq!(pattern(Mix::new(3, 1).unwrap()), "GGGPGGGP");
        assert_eq!(pattern(Mix::new(1, 3).unwrap()), "GPPPGPPP");
        assert_eq!(pattern(Mix::POST_ONLY), "PPPPPPPP");
        assert_eq!(pattern(Mix::GET_ONLY), "GGGGGGGG");
        for (get, post) in [(1, 1), (3, 1), (1, 3), (2, 5), (0, 1), (1, 0), (7, 0)] {
            let mix = Mix::new(get, post).unwrap();
            for requests in 0..50 {
                let counted = (0..requests).filter(|&index| mix.is_post(index)).count();
                assert_eq!(mix.posts_in(requests), counted as u64, "{mix} x{requests}");
            }
        }
    }
}
