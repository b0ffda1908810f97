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
    let source = include_str!("../../data/bots/SOURCE");
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
