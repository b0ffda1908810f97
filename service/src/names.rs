//! Counter names and the `COUNTERS` allow-list.

use std::fmt;

/// The counter `/count` reads and counts.
pub const SITE: &str = "site";
/// The longest name, in characters.
pub const MAX_NAME_LENGTH: usize = 64;

/// A valid counter name: 1 to 64 characters of `a-z 0-9 . _ -`, starting and
/// ending with a letter or digit. Valid names never need escaping in a URL path,
/// a DynamoDB key or an HTML attribute.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CounterName(String);

impl CounterName {
    pub fn parse(name: &str) -> Result<Self, NameError> {
        if name.is_empty() {
            return Err(NameError::Empty);
        }
        if name.len() > MAX_NAME_LENGTH {
            return Err(NameError::TooLong(name.chars().count()));
        }
        if let Some(bad) = name.chars().find(|&c| !is_name_char(c)) {
            return Err(NameError::Character(bad));
        }
        let ends = [name.as_bytes()[0], name.as_bytes()[name.len() - 1]];
        if ends.iter().any(|byte| !byte.is_ascii_alphanumeric()) {
            return Err(NameError::Ends);
        }
        Ok(Self(name.to_owned()))
    }

    /// The counter `site` (`/count`).
    pub fn site() -> Self {
        Self(SITE.to_owned())
    }

    pub fn is_site(&self) -> bool {
        self.0 == SITE
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CounterName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
}

/// Why a string is not a counter name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("a counter name cannot be empty")]
    Empty,
    #[error("a counter name has at most {MAX_NAME_LENGTH} characters, not {0}")]
    TooLong(usize),
    #[error("{0:?} cannot appear in a counter name (only a-z, 0-9, '.', '_' and '-')")]
    Character(char),
    #[error("a counter name starts and ends with a letter or a digit")]
    Ends,
}

/// Which valid names may be counted (`COUNTERS`). `site` is always allowed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum AllowedCounters {
    /// Every valid name (`COUNTERS` unset, empty or `*`).
    #[default]
    Any,
    /// These names and `prefix*` patterns.
    List {
        names: Vec<CounterName>,
        prefixes: Vec<String>,
    },
}

impl AllowedCounters {
    /// Parses `COUNTERS`: comma-separated names and `prefix*` patterns.
    pub fn parse(value: &str) -> Result<Self, String> {
        let value = value.trim();
        if value.is_empty() || value == "*" {
            return Ok(Self::Any);
        }
        let mut names = Vec::new();
        let mut prefixes = Vec::new();
        for entry in value.split(',').map(str::trim) {
            if entry.is_empty() {
                return Err("empty entry; separate names with single commas".to_owned());
            }
            if let Some(prefix) = entry.strip_suffix('*') {
                let valid_start = prefix
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
                if !valid_start || !prefix.chars().all(is_name_char) || prefix.contains('*') {
                    return Err(format!(
                        "{entry:?} is not a pattern (a name's first characters followed by '*', e.g. blog-*)"
                    ));
                }
                if prefix.len() >= MAX_NAME_LENGTH {
                    return Err(format!(
                        "{entry:?}: a prefix leaves room for at least one more character"
                    ));
                }
                prefixes.push(prefix.to_owned());
            } else {
                names.push(
                    CounterName::parse(entry)
                        .map_err(|error| format!("{entry:?} is not a counter name: {error}"))?,
                );
            }
        }
        Ok(Self::List { names, prefixes })
    }

    pub fn allows(&self, name: &CounterName) -> bool {
        match self {
            Self::Any => true,
            Self::List { names, prefixes } => {
                name.is_site()
                    || names.contains(name)
                    || prefixes
                        .iter()
                        .any(|p| name.as_str().starts_with(p.as_str()))
            }
        }
    }

    /// The counter a path names, if the name is valid and allowed.
    pub fn resolve(&self, name: &str) -> Option<CounterName> {
        CounterName::parse(name)
            .ok()
            .filter(|name| self.allows(name))
    }
}

impl fmt::Display for AllowedCounters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Any => f.write_str("any valid name"),
            Self::List { names, prefixes } => {
                let entries: Vec<String> = names
                    .iter()
                    .map(ToString::to_string)
                    .chain(prefixes.iter().map(|p| format!("{p}*")))
                    .collect();
                f.write_str(&entries.join(","))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_rules() {
        for good in ["a", "home", "blog.post-1_x", "0", &"a".repeat(64)] {
            assert!(CounterName::parse(good).is_ok(), "{good}");
        }
        let too_long = "a".repeat(65);
        for bad in [
            "", "Home", "-a", "a-", ".a", "a.", "_a", "a b", "a/b", "é", &too_long, "a\0", "%2e",
        ] {
            assert!(CounterName::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_allow_list_takes_names_and_prefixes_and_always_site() {
        let allowed = AllowedCounters::parse(" home , blog-* ").unwrap();
        for name in ["home", "blog-1", "blog-x.y", "site"] {
            assert!(allowed.resolve(name).is_some(), "{name}");
        }
        for name in ["about", "blog", "homes", "Home"] {
            assert!(allowed.resolve(name).is_none(), "{name}");
        }
        assert_eq!(AllowedCounters::parse("").unwrap(), AllowedCounters::Any);
        assert_eq!(AllowedCounters::parse("*").unwrap(), AllowedCounters::Any);
        let long_prefix = format!("{}*", "a".repeat(64));
        for bad in [
            "home,,blog",
            "Home",
            "-x*",
            "a*b*",
            "**",
            "a b",
            &long_prefix,
        ] {
            assert!(AllowedCounters::parse(bad).is_err(), "{bad:?}");
        }
    }
}
