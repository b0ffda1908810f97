//! Which `User-Agent`s are not people: [`is_bot`].
//!
//! A visit counts when a person's browser made it. A request whose `User-Agent` is
//! missing, blank, has no ASCII letter at all (digits, punctuation, other bytes),
//! or names a crawler, a bot, a monitor, an HTTP library or an automation tool is a bot.
//! The `User-Agent` is only read here, in memory: nothing of it is kept or logged.
//!
//! # Which list, and why
//!
//! The names come from [crawler-user-agents] (Martin Monperrus and contributors, MIT),
//! vendored in `service/data/bots/` with its version, integrity and licence text, and
//! refreshed by `scripts/refresh-bot-list`. Each of its 1,500 entries is a
//! case-sensitive regular expression with real User-Agents that it must match, and the
//! list's own CI checks them; search engines, the AI crawlers (GPTBot, ClaudeBot,
//! anthropic-ai, CCBot, PerplexityBot, Bytespider, Google-Extended, Amazonbot, ...),
//! link previews, uptime monitors, scanners, HTTP libraries (curl, Wget,
//! python-requests, Go-http-client, axios, okhttp, ...) and automation that says so
//! (HeadlessChrome, Chrome-Lighthouse, PhantomJS, Playwright, Puppeteer, Selenium) are
//! all named. `service/data/bots/extra.txt` adds a dozen HTTP clients of our own
//! choosing, each with its reason. `service/tests/bots.rs` measures the result against
//! corpora nobody here wrote (docs/bots.md has the figures): every example the list
//! carries is a bot, and real browsers' User-Agents are people.
//!
//! The others considered: isbot (Unlicense) is broader, but its patterns need
//! look-behind and look-ahead (`(?<! cu)bots?`), which neither `regex` nor `regex-lite`
//! has, its npm package ships no test data, and several of its rules are heuristics
//! (`^[^ ]{50,}$`) rather than names. uap-core's spider rules (Apache-2.0) come inside a
//! whole User-Agent parser (1,179 regexes in 0.18.0), and its npm package ships no test
//! cases either.
//!
//! # What it misses, and what it catches that is a person
//!
//! A bot that sends a browser's `User-Agent` (a scraper, an AI agent driving a real
//! browser, Playwright with its default headed Chrome) is counted: nothing in a header
//! tells it apart (an automated browser that declares itself to the page, through
//! `navigator.webdriver`, is for the embed script to see). A new crawler is counted
//! until the list names it. The other way, a person who fetches a page with curl, or
//! reads it through a feed reader or a link preview, is not counted: those requests are
//! programs, not visits.
//!
//! # What it costs
//!
//! The matcher is built on the first call ([`LazyLock`]), so a process that never asks
//! (and a Lambda's init) pays nothing. 1,464 of the list's patterns are plain text; the
//! rest are small expressions. All the text, and for each expression a run of text it
//! cannot match without (`ContextualBot` for `ContextualBot[\s\S]*outcomes\.net`), go
//! into one index keyed by their first two bytes, read straight from the compiled-in
//! list without copying a pattern. A call walks the `User-Agent` once, looking each byte
//! pair up in a 64 Kbit bitmap, and compiles and runs an expression (`regex-lite`, which
//! the binary already has for the AWS SDK) only when its text is there, once per call at
//! most: a browser's `User-Agent` usually runs none. Measured by `cargo run --release
//! --example bots-bench` (docs/bots.md has the table): the build takes well under a
//! millisecond and a few hundred kilobytes, and a call about a microsecond. The matchers
//! it was chosen over, in the same table: `regex` over the whole list as one expression
//! answers five times faster but takes over ten milliseconds and about 5 MB to build,
//! half of the Lambda's memory budget; `regex-lite` alone takes milliseconds a call, as
//! it has no literal search; `aho-corasick` for the text plus `regex-lite` for the rest
//! takes milliseconds to build, over a megabyte, and tens of microseconds a call for a
//! browser.
//!
//! [crawler-user-agents]: https://github.com/monperrus/crawler-user-agents

use std::sync::{LazyLock, OnceLock};

use regex_lite::Regex;

/// crawler-user-agents' patterns, one a line as written, spaces included
/// (`service/data/bots/SOURCE` says which version).
const LIST: &str = include_str!("../../data/bots/crawler-user-agents.txt");
/// The project's own additions: one pattern a line, `#` comments.
const EXTRA: &str = include_str!("../../data/bots/extra.txt");
/// The shortest text that guards an expression: shorter runs would match too often to
/// save anything, so such an expression runs on every call.
const MIN_GUARD: usize = 3;

static MATCHER: LazyLock<Matcher> = LazyLock::new(|| Matcher::build(patterns()).0);

/// Whether a request with this `User-Agent` header (its raw bytes; `None` when it has
/// none) is a bot rather than a person's browser.
pub fn is_bot(user_agent: Option<&[u8]>) -> bool {
    let Some(bytes) = user_agent else {
        return true;
    };
    // Empty, blank, only digits and punctuation, or bytes that are not text: no browser
    // sends that.
    if !bytes.iter().any(u8::is_ascii_alphabetic) {
        return true;
    }
    MATCHER.is_match(&String::from_utf8_lossy(bytes))
}

/// Every pattern: the list's, then the project's own (read in place, nothing copied).
fn patterns() -> impl Iterator<Item = &'static str> {
    LIST.lines().chain(
        EXTRA
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#')),
    )
}

/// What finding a needle in the `User-Agent` means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Then {
    /// It is a pattern on its own: a bot.
    Bot,
    /// It guards `guarded[i]`, which decides.
    Run(usize),
}

/// One text to find, as a range of [`Matcher::text`].
struct Needle {
    /// Its first two bytes, big-endian: the index key.
    key: u16,
    start: usize,
    end: usize,
    then: Then,
}

/// An expression compiled the first time its needle is found: most never are, and
/// compiling them all would double the build's time and memory.
struct Guarded {
    source: String,
    /// `None` if `regex-lite` refused it (a unit test requires it never does).
    regex: OnceLock<Option<Regex>>,
}

impl Guarded {
    fn regex(&self) -> Option<&Regex> {
        self.regex
            .get_or_init(|| Regex::new(&self.source).ok())
            .as_ref()
    }
}

/// The compiled list. See the module doc for its shape and cost.
struct Matcher {
    /// Every needle's bytes, one after another.
    text: String,
    /// Sorted by `key`.
    needles: Vec<Needle>,
    /// `needles[starts[b]..starts[b + 1]]` are the needles whose first byte is `b`.
    starts: Box<[usize; 257]>,
    /// Bit `key` is set when some needle starts with that byte pair.
    first_pairs: Box<[u64; 1024]>,
    /// `^text$`, `^text`, `text$`.
    whole: Vec<String>,
    prefixes: Vec<String>,
    suffixes: Vec<String>,
    /// Expressions run when their needle is found.
    guarded: Vec<Guarded>,
    /// Expressions without a usable needle, run on every call.
    unguarded: Vec<Regex>,
}

impl Matcher {
    /// Indexes `patterns`; also returns the unguarded expressions `regex-lite` refused,
    /// which are left out (a unit test requires there be none, guarded ones included).
    fn build<'a>(patterns: impl IntoIterator<Item = &'a str>) -> (Self, Vec<String>) {
        let mut matcher = Matcher {
            text: String::new(),
            needles: Vec::new(),
            starts: Box::new([0; 257]),
            first_pairs: Box::new([0; 1024]),
            whole: Vec::new(),
            prefixes: Vec::new(),
            suffixes: Vec::new(),
            guarded: Vec::new(),
            unguarded: Vec::new(),
        };
        let mut refused = Vec::new();
        for pattern in patterns {
            // Most patterns are plain text (`Googlebot\/`): indexed as they are read,
            // without the allocations of the general path below.
            if matcher.add_plain_text(pattern) {
                continue;
            }
            for alternative in alternatives(pattern) {
                match Piece::of(alternative) {
                    Piece::Text(text) => matcher.add_needle(&text, Then::Bot),
                    Piece::Whole(text) => matcher.whole.push(text),
                    Piece::Prefix(text) => matcher.prefixes.push(text),
                    Piece::Suffix(text) => matcher.suffixes.push(text),
                    Piece::Expression { guard: Some(guard) } => {
                        matcher.add_needle(&guard, Then::Run(matcher.guarded.len()));
                        matcher.guarded.push(Guarded {
                            source: alternative.to_owned(),
                            regex: OnceLock::new(),
                        });
                    }
                    Piece::Expression { guard: None } => match Regex::new(alternative) {
                        Ok(regex) => matcher.unguarded.push(regex),
                        Err(_) => refused.push(alternative.to_owned()),
                    },
                }
            }
        }
        matcher.needles.sort_by_key(|needle| needle.key);
        for first in 0..=255u8 {
            matcher.starts[usize::from(first) + 1] = matcher
                .needles
                .partition_point(|needle| needle.key >> 8 <= u16::from(first));
        }
        (matcher, refused)
    }

    /// The guarded expressions `regex-lite` refuses (compiling them all).
    #[cfg(test)]
    fn refused(&self) -> Vec<&str> {
        self.guarded
            .iter()
            .filter(|guarded| guarded.regex().is_none())
            .map(|guarded| guarded.source.as_str())
            .collect()
    }

    /// Indexes `pattern` as a needle if it is plain text of two bytes or more, each
    /// character itself or escaped (`\/`); false (and nothing indexed) otherwise.
    fn add_plain_text(&mut self, pattern: &str) -> bool {
        let start = self.text.len();
        let mut chars = pattern.chars();
        let mut plain = true;
        while let Some(c) = chars.next() {
            let c = match c {
                '\\' => match chars.next() {
                    Some(escaped) if !escaped.is_ascii_alphanumeric() => escaped,
                    _ => {
                        plain = false;
                        break;
                    }
                },
                '.' | '^' | '$' | '*' | '+' | '?' | '(' | ')' | '[' | ']' | '{' | '}' | '|' => {
                    plain = false;
                    break;
                }
                c => c,
            };
            self.text.push(c);
        }
        if !plain {
            self.text.truncate(start);
            return false;
        }
        self.index_from(start, Then::Bot)
    }

    /// Indexes `text` (two bytes or more: shorter pieces are [`Piece::Expression`]s).
    fn add_needle(&mut self, text: &str, then: Then) {
        let start = self.text.len();
        self.text.push_str(text);
        self.index_from(start, then);
    }

    /// Makes a needle of `text[start..]` if it has two bytes or more (true); otherwise
    /// drops it from `text` (false).
    fn index_from(&mut self, start: usize, then: Then) -> bool {
        let &[first, second, ..] = &self.text.as_bytes()[start..] else {
            self.text.truncate(start);
            return false;
        };
        let key = u16::from_be_bytes([first, second]);
        self.first_pairs[usize::from(key >> 6)] |= 1 << (key & 63);
        self.needles.push(Needle {
            key,
            start,
            end: self.text.len(),
            then,
        });
        true
    }

    fn is_match(&self, user_agent: &str) -> bool {
        if self.whole.iter().any(|text| text == user_agent)
            || self
                .prefixes
                .iter()
                .any(|text| user_agent.starts_with(text))
            || self.suffixes.iter().any(|text| user_agent.ends_with(text))
        {
            return true;
        }
        let bytes = user_agent.as_bytes();
        let text = self.text.as_bytes();
        // Which guarded expressions already ran: each runs once a call at most, however
        // often its needle occurs (a hostile header of one needle repeated stays linear).
        let mut ran: Vec<bool> = Vec::new();
        for (at, pair) in bytes.windows(2).enumerate() {
            let key = u16::from_be_bytes([pair[0], pair[1]]);
            if self.first_pairs[usize::from(key >> 6)] & (1 << (key & 63)) == 0 {
                continue;
            }
            let first = usize::from(pair[0]);
            let bucket = &self.needles[self.starts[first]..self.starts[first + 1]];
            let from = bucket.partition_point(|needle| needle.key < key);
            let rest = &bytes[at..];
            for needle in bucket[from..].iter().take_while(|needle| needle.key == key) {
                if !rest.starts_with(&text[needle.start..needle.end]) {
                    continue;
                }
                match needle.then {
                    Then::Bot => return true,
                    Then::Run(index) => {
                        if ran.is_empty() {
                            ran = vec![false; self.guarded.len()];
                        }
                        let (Some(done), Some(guarded)) =
                            (ran.get_mut(index), self.guarded.get(index))
                        else {
                            continue;
                        };
                        if !std::mem::replace(done, true)
                            && guarded
                                .regex()
                                .is_some_and(|regex| regex.is_match(user_agent))
                        {
                            return true;
                        }
                    }
                }
            }
        }
        self.unguarded
            .iter()
            .any(|regex| regex.is_match(user_agent))
    }
}

/// One alternative of a pattern, by the cheapest way to find it.
#[derive(Debug, PartialEq, Eq)]
enum Piece {
    /// Plain text, anywhere.
    Text(String),
    /// `^text$`: the whole `User-Agent`.
    Whole(String),
    /// `^text`.
    Prefix(String),
    /// `text$`.
    Suffix(String),
    /// Anything else: a `regex-lite` expression, and the longest run of text that every
    /// match contains, when there is one of at least [`MIN_GUARD`] bytes.
    Expression { guard: Option<String> },
}

impl Piece {
    fn of(alternative: &str) -> Piece {
        let (start, rest) = match alternative.strip_prefix('^') {
            Some(rest) => (true, rest),
            None => (false, alternative),
        };
        let (end, body) = match rest.strip_suffix('$') {
            Some(body) if !ends_escaped(body) => (true, body),
            _ => (false, rest),
        };
        let atoms = atoms(body);
        let plain: Option<String> = atoms
            .iter()
            .map(|atom| match atom {
                Atom::Char(c) => Some(*c),
                Atom::Repeated(_) | Atom::Other | Atom::Unknown => None,
            })
            .collect();
        match plain {
            Some(text) if text.len() >= 2 => match (start, end) {
                (false, false) => Piece::Text(text),
                (true, true) => Piece::Whole(text),
                (true, false) => Piece::Prefix(text),
                (false, true) => Piece::Suffix(text),
            },
            _ => Piece::Expression {
                guard: guard(&atoms),
            },
        }
    }
}

/// True when `text` ends in an odd number of backslashes (its next character is escaped).
fn ends_escaped(text: &str) -> bool {
    text.bytes().rev().take_while(|&b| b == b'\\').count() % 2 == 1
}

/// One step of an expression, as far as finding its text goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Atom {
    /// A literal character, exactly once.
    Char(char),
    /// A literal character one or more times (`a+`): it is there, but what follows
    /// need not be next to its first occurrence.
    Repeated(char),
    /// A class, a group, `.`, an anchor, a class escape, or anything optional.
    Other,
    /// Syntax this reader does not follow (`\x41`, `\p{L}`, `(?i)`): the expression
    /// gets no guard at all.
    Unknown,
}

/// `expression` read as atoms, enough to find the text every match contains.
fn atoms(expression: &str) -> Vec<Atom> {
    let chars: Vec<char> = expression.chars().collect();
    let mut atoms = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let (atom, next) = match c {
            '\\' => match chars.get(i + 1) {
                Some(&escaped) if !escaped.is_ascii_alphanumeric() => (Atom::Char(escaped), i + 2),
                Some('d' | 'D' | 's' | 'S' | 'w' | 'W' | 'b' | 'B') => (Atom::Other, i + 2),
                _ => (Atom::Unknown, i + 2),
            },
            '[' => (Atom::Other, class_end(&chars, i)),
            '(' if chars.get(i + 1) == Some(&'?') && chars.get(i + 2) != Some(&':') => {
                (Atom::Unknown, group_end(&chars, i))
            }
            '(' => (Atom::Other, group_end(&chars, i)),
            '.' | '^' | '$' => (Atom::Other, i + 1),
            '*' | '+' | '?' | '{' | '}' | ')' | ']' | '|' => (Atom::Unknown, i + 1),
            c => (Atom::Char(c), i + 1),
        };
        // A quantifier after the atom: `?`, `*`, `{0,n}` make it optional; `+` keeps it.
        let (atom, next) = match chars.get(next) {
            Some('+') => match atom {
                Atom::Char(c) => (Atom::Repeated(c), next + 1),
                other => (other, next + 1),
            },
            Some('?' | '*') => (optional(atom), next + 1),
            Some('{') => {
                let close = chars[next..]
                    .iter()
                    .position(|&c| c == '}')
                    .map_or(chars.len(), |at| next + at + 1);
                (optional(atom), close)
            }
            _ => (atom, next),
        };
        // A `?` still here follows a quantifier (it makes it lazy): nothing to find.
        let next = if chars.get(next) == Some(&'?') {
            next + 1
        } else {
            next
        };
        atoms.push(atom);
        i = next;
    }
    atoms
}

fn optional(atom: Atom) -> Atom {
    match atom {
        Atom::Unknown => Atom::Unknown,
        _ => Atom::Other,
    }
}

/// The index just past the class that starts at `open` (`[`); a `]` first in the class
/// (after an optional `^`) is a member, not its end.
fn class_end(chars: &[char], open: usize) -> usize {
    let mut i = open + 1;
    if chars.get(i) == Some(&'^') {
        i += 1;
    }
    if chars.get(i) == Some(&']') {
        i += 1;
    }
    while let Some(&c) = chars.get(i) {
        match c {
            '\\' => i += 2,
            '[' => i = class_end(chars, i),
            ']' => return i + 1,
            _ => i += 1,
        }
    }
    chars.len()
}

/// The index just past the group that starts at `open` (`(`).
fn group_end(chars: &[char], open: usize) -> usize {
    let mut i = open + 1;
    while let Some(&c) = chars.get(i) {
        match c {
            '\\' => i += 2,
            '[' => i = class_end(chars, i),
            '(' => i = group_end(chars, i),
            ')' => return i + 1,
            _ => i += 1,
        }
    }
    chars.len()
}

/// The longest run of text that every match of `atoms` contains, if it is long enough.
fn guard(atoms: &[Atom]) -> Option<String> {
    if atoms.contains(&Atom::Unknown) {
        return None;
    }
    let mut best = String::new();
    let mut run = String::new();
    for atom in atoms {
        match *atom {
            Atom::Char(c) => run.push(c),
            Atom::Repeated(c) => {
                run.push(c);
                if run.len() > best.len() {
                    best = std::mem::take(&mut run);
                }
                run.clear();
                // What follows a repeated character follows its last occurrence.
                run.push(c);
            }
            Atom::Other | Atom::Unknown => {
                if run.len() > best.len() {
                    best = std::mem::take(&mut run);
                }
                run.clear();
            }
        }
    }
    if run.len() > best.len() {
        best = run;
    }
    (best.len() >= MIN_GUARD).then_some(best)
}

/// A pattern's top-level alternatives: `a|b` is `a` or `b`; `(a|b)c` is one.
fn alternatives(pattern: &str) -> Vec<&str> {
    let chars: Vec<(usize, char)> = pattern.char_indices().collect();
    let plain: Vec<char> = chars.iter().map(|&(_, c)| c).collect();
    let mut parts = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while let Some(&(at, c)) = chars.get(i) {
        i = match c {
            '\\' => i + 2,
            '[' => class_end(&plain, i),
            '(' => group_end(&plain, i),
            '|' => {
                parts.push(&pattern[start..at]);
                start = at + 1;
                i + 1
            }
            _ => i + 1,
        };
    }
    parts.push(&pattern[start..]);
    parts
}

#[cfg(test)]
mod tests;
