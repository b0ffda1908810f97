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
const LIST: &str = include_str!("../data/bots/crawler-user-agents.txt");
/// The project's own additions: one pattern a line, `#` comments.
const EXTRA: &str = include_str!("../data/bots/extra.txt");
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
mod tests {

    use super::*;

    fn bot(user_agent: &str) -> bool {
        is_bot(Some(user_agent.as_bytes()))
    }

    #[test]
    fn the_agents_the_project_must_catch_are_bots() {
        let required = [
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.6778.33 Safari/537.36",
            "Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 Mobile Safari/537.36 Chrome-Lighthouse",
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 Safari/537.36 Chrome-Lighthouse",
            "curl/8.11.1",
            "Wget/1.25.0",
            "python-requests/2.32.3",
            "Go-http-client/1.1",
            "Go-http-client/2.0",
            "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)",
            "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; ChatGPT-User/1.0; +https://openai.com/bot",
            "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; OAI-SearchBot/1.0; +https://openai.com/searchbot)",
            "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; +claudebot@anthropic.com)",
            "anthropic-ai",
            "Claude-User/1.0",
            "CCBot/2.0 (https://commoncrawl.org/faq/)",
            "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; PerplexityBot/1.0; +https://perplexity.ai/perplexitybot)",
            "Mozilla/5.0 (Linux; Android 5.0) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36 (compatible; Bytespider; spider-feedback@bytedance.com)",
            "Google-Extended",
            "Mozilla/5.0 (compatible; Amazonbot/0.1; +https://developer.amazon.com/support/amazonbot)",
            "meta-externalagent/1.1 (+https://developers.facebook.com/docs/sharing/webmasters/crawler)",
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        ];
        let missed: Vec<_> = required.iter().filter(|ua| !bot(ua)).collect();
        assert!(missed.is_empty(), "counted as people: {missed:#?}");
    }

    #[test]
    fn real_browsers_are_people() {
        let browsers = [
            // Chrome on Windows, and on Android
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
            "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
            // Firefox on Linux and macOS
            "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0",
            // Safari on iPhone, and on a Mac
            "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
            // Edge
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
            // Samsung Internet
            "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/27.0 Chrome/125.0.0.0 Mobile Safari/537.36",
            // Opera, and Chrome on iOS
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 OPR/116.0.0.0",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
        ];
        let caught: Vec<_> = browsers.iter().filter(|ua| bot(ua)).collect();
        assert!(caught.is_empty(), "taken for bots: {caught:#?}");
    }

    #[test]
    fn a_missing_blank_or_letterless_user_agent_is_a_bot() {
        assert!(is_bot(None));
        assert!(is_bot(Some(b"")));
        assert!(is_bot(Some(b" \t ")));
        assert!(is_bot(Some(b"-")));
        assert!(is_bot(Some(b"12345")));
        assert!(is_bot(Some(&[0xff, 0xfe, 0x80, 0x20])));
        assert!(is_bot(Some("Мозилла/5.0".as_bytes())));
        // Bytes that are not text around a browser's User-Agent do not hide it: it is
        // read as text with the bad bytes replaced.
        let mut chrome = b"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36".to_vec();
        chrome.push(0xff);
        assert!(!is_bot(Some(&chrome)));
        chrome.extend_from_slice(b" GPTBot/1.2");
        assert!(is_bot(Some(&chrome)));
    }

    #[test]
    fn the_list_and_the_extras_compile_whole() {
        let source = include_str!("../data/bots/SOURCE");
        let recorded: usize = source
            .lines()
            .find_map(|line| line.strip_prefix("patterns="))
            .expect("SOURCE records the number of patterns")
            .parse()
            .unwrap();
        let list: Vec<&str> = LIST.lines().collect();
        assert_eq!(
            list.len(),
            recorded,
            "the vendored list and SOURCE disagree"
        );
        assert!(list.iter().all(|pattern| !pattern.trim().is_empty()));
        assert!(patterns().count() > recorded, "the extras were not read");
        let (matcher, refused) = Matcher::build(patterns());
        assert!(refused.is_empty(), "regex-lite refused {refused:#?}");
        let refused = matcher.refused();
        assert!(refused.is_empty(), "regex-lite refused {refused:#?}");
        // Every expression is guarded by some text: none runs on every call.
        assert!(
            matcher.unguarded.is_empty(),
            "{} expressions run on every call",
            matcher.unguarded.len()
        );
        assert!(!matcher.guarded.is_empty() && !matcher.prefixes.is_empty());
    }

    #[test]
    fn each_extra_is_needed_and_catches_what_its_comment_says() {
        let examples = [
            "Java/17.0.2",
            "PostmanRuntime/7.36.0",
            "node",
            "undici",
            "Deno/1.40.2",
            "Bun/1.0.25",
            "Dart/3.2 (dart:io)",
            "Ruby",
            "Faraday v2.7.4",
            "PycURL/7.45.2 libcurl/7.81.0 OpenSSL/3.0.2",
            "reqwest/0.12",
            "schemathesis/3.39.0",
        ];
        let (list_only, _) = Matcher::build(LIST.lines());
        for example in examples {
            assert!(bot(example), "{example} is not caught");
            assert!(
                !list_only.is_match(example),
                "{example} is caught by the list already: its extra is not needed"
            );
        }
    }

    #[test]
    fn patterns_are_sorted_into_the_cheapest_piece() {
        let text = |s: &str| Piece::Text(s.to_owned());
        let guarded = |s: &str| Piece::Expression {
            guard: Some(s.to_owned()),
        };
        assert_eq!(Piece::of(r"Googlebot\/"), text("Googlebot/"));
        assert_eq!(Piece::of(" DVbot"), text(" DVbot"));
        assert_eq!(Piece::of("^curl"), Piece::Prefix("curl".into()));
        assert_eq!(Piece::of("SSL Labs$"), Piece::Suffix("SSL Labs".into()));
        assert_eq!(Piece::of("^node$"), Piece::Whole("node".into()));
        assert_eq!(Piece::of(r"price\$"), text("price$"));
        assert_eq!(Piece::of("[wW]get"), guarded("get"));
        assert_eq!(Piece::of("AdsBot-Google([^-]|$)"), guarded("AdsBot-Google"));
        assert_eq!(
            Piece::of(r"BlogTraffic\/\d\.\d+ Feed-Fetcher"),
            guarded(" Feed-Fetcher")
        );
        assert_eq!(Piece::of(r"(^| )sentry\/"), guarded("sentry/"));
        assert_eq!(
            Piece::of(r"Spider[\s\S]*spider\.com"),
            guarded("spider.com")
        );
        // Optional characters are not required text; a repeated one is, once.
        assert_eq!(Piece::of("abcx?yz"), guarded("abc"));
        assert_eq!(Piece::of("abcdx{0,2}yz"), guarded("abcd"));
        assert_eq!(Piece::of("ab+cdef"), guarded("bcdef"));
        // Syntax it does not follow gets no guard rather than a wrong one.
        assert_eq!(Piece::of(r"\x41bcdef"), Piece::Expression { guard: None });
        assert_eq!(
            Piece::of("(?i)googlebot"),
            Piece::Expression { guard: None }
        );
        assert_eq!(Piece::of("a.b"), Piece::Expression { guard: None });
        assert_eq!(alternatives("Chirp|gotosocial"), ["Chirp", "gotosocial"]);
        assert_eq!(alternatives("(a|b)c|[|]d"), ["(a|b)c", "[|]d"]);
        assert_eq!(alternatives(r"a\|b"), [r"a\|b"]);
        assert_eq!(alternatives("[]|]x|y"), ["[]|]x", "y"]);
    }

    /// Each entry of the vendored list, alone, still matches every example User-Agent
    /// it carries once it is cut into pieces and indexed: a wrong guard, anchor or
    /// alternative shows here, whatever other entries catch the same example. The
    /// examples come from the same version of the list, installed by the test command
    /// (see `service/tests/bots.rs`, which also measures the whole).
    #[test]
    fn each_entry_alone_matches_its_own_examples() {
        let modules = std::env::var_os("NODE_TOOLS").map_or_else(
            || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.tools/node/node_modules"),
            std::path::PathBuf::from,
        );
        let path = modules.join("crawler-user-agents/crawler-user-agents.json");
        let entries = std::fs::read_to_string(&path).unwrap_or_else(|error| {
            panic!(
                "{} ({error}): run scripts/test, which installs it",
                path.display()
            )
        });
        let entries: serde_json::Value = serde_json::from_str(&entries).unwrap();
        let mut checked = 0;
        let mut missed = Vec::new();
        for entry in entries.as_array().unwrap() {
            let pattern = entry["pattern"].as_str().unwrap();
            let (alone, refused) = Matcher::build([pattern]);
            assert!(
                refused.is_empty() && alone.refused().is_empty(),
                "{pattern} refused"
            );
            for instance in entry["instances"].as_array().unwrap() {
                let instance = instance.as_str().unwrap();
                checked += 1;
                if !alone.is_match(instance) {
                    missed.push((pattern, instance));
                }
            }
        }
        assert!(checked > 1000, "only {checked} examples");
        assert!(
            missed.is_empty(),
            "entries that miss their own examples: {missed:#?}"
        );
    }

    #[test]
    fn plain_text_is_indexed_as_it_reads_unescaped() {
        let patterns = [r"Googlebot\/", r"price\$", "SSL Labs$", "x", r"a\d"];
        let (matcher, refused) = Matcher::build(patterns);
        assert!(refused.is_empty());
        assert!(matcher.is_match("Googlebot/2.1"));
        assert!(!matcher.is_match(r"Googlebot\/2.1"));
        assert!(matcher.is_match("the price$ is"));
        // `$` unescaped is an anchor, not text.
        assert!(matcher.is_match("Qualys SSL Labs"));
        assert!(!matcher.is_match("SSL Labs$ scan"));
        // Too short for the index, or not text: expressions.
        assert_eq!(matcher.unguarded.len(), 2);
        assert!(matcher.is_match("a9") && !matcher.is_match("ad"));
    }

    #[test]
    fn a_guarded_expression_still_decides() {
        // "get" is found in both; only one matches `[wW]get`.
        assert!(bot("Wget/1.25.0"));
        assert!(!bot(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0 budget"
        ));
        // `AdsBot-Google([^-]|$)`: the plain name, not the mobile one's prefix alone.
        let (matcher, _) = Matcher::build(["AdsBot-Google([^-]|$)"]);
        assert!(matcher.is_match("AdsBot-Google (+http://www.google.com/adsbot.html)"));
        assert!(matcher.is_match("AdsBot-Google"));
        assert!(!matcher.is_match("AdsBot-Google-Mobile"));
    }

    #[test]
    fn a_needle_repeated_all_over_a_long_header_is_still_answered() {
        // 8 KB of the guard of `[wW]get` without its match, then with it at the end:
        // the expression runs once, not once for each of the 2,048 needles.
        let mut hostile = "xget".repeat(2048);
        assert!(!bot(&hostile));
        hostile.push_str(" Wget");
        assert!(bot(&hostile));
    }
}
