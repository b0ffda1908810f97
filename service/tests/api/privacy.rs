//! Privacy: no client address or User-Agent is stored, in any encoding, on either
//! store, and once a day's salt is gone its markers cannot be recomputed.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use http::Method;
use visitor_counter::app::{Settings, app};
use visitor_counter::day::{Clock, ManualClock};
use visitor_counter::names::{AllowedCounters, CounterName};
use visitor_counter::store::{CounterStore, EmbeddedStore};

use crate::helpers::*;

const ADDRESSES: [&str; 2] = ["203.0.113.77", "2001:db8::77"];
/// A browser's User-Agent with a mark of its own, so it can be looked for.
const AGENT: &str =
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0; unique-7f3a) Gecko/20100101 Firefox/133.0";
/// A bot's, tallied and not counted: its User-Agent must not be kept either.
const BOT: &str =
    "Mozilla/5.0 (compatible; Googlebot/2.1; unique-9c2e; +http://www.google.com/bot.html)";

fn base64(bytes: &[u8], alphabet: &[u8; 64]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..=chunk.len() {
            out.push(char::from(alphabet[(n >> (18 - 6 * i)) as usize & 63]));
        }
    }
    out
}

/// Every way `secret` could sit in stored bytes: raw, UTF-16, hex, base64 (standard and
/// URL-safe, at each of the three alignments, without padding), and an address's own bytes.
fn encodings(secret: &str) -> Vec<Vec<u8>> {
    const STANDARD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let raw = secret.as_bytes();
    let mut all = vec![
        raw.to_vec(),
        raw.iter().flat_map(|b| [*b, 0]).collect(),
        raw.iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
            .into_bytes(),
        raw.iter()
            .map(|b| format!("{b:02X}"))
            .collect::<String>()
            .into_bytes(),
    ];
    for alphabet in [STANDARD, URL] {
        for skip in 0..3 {
            // Aligned at `skip`: the middle of the encoding is stable wherever it starts.
            let encoded = base64(&raw[skip..], alphabet);
            all.push(encoded.as_bytes()[..encoded.len().saturating_sub(4)].to_vec());
        }
    }
    if let Ok(ip) = secret.parse::<std::net::IpAddr>() {
        all.push(match ip {
            std::net::IpAddr::V4(v4) => v4.octets().to_vec(),
            std::net::IpAddr::V6(v6) => v6.octets().to_vec(),
        });
    }
    all
}

fn find(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

fn assert_holds_none(what: &str, bytes: &[u8]) {
    for secret in ADDRESSES.iter().copied().chain([AGENT, BOT]) {
        for encoding in encodings(secret) {
            assert!(
                !find(bytes, &encoding),
                "{what} holds {secret:?} as {encoding:?}"
            );
        }
    }
}

/// Every kind of visit, from each address: counted (counter and site markers, the
/// site's day), a bot's (its tallies) and, past the limit, limited ones.
async fn visit_everything(app: &axum::Router) {
    for address in ADDRESSES {
        for path in ["/count", "/counters/home", "/counters/about"] {
            let answer = visit_as(app, Method::POST, path, address, AGENT).await;
            assert_eq!(answer.status, http::StatusCode::OK);
            assert_eq!(answer.header("visit-filtered"), None, "{path}");
            let bot = visit_as(app, Method::POST, path, address, BOT).await;
            assert_eq!(bot.header("visit-filtered"), Some("bot"), "{path}");
        }
    }
}

#[test]
fn the_scan_finds_what_is_there() {
    // The control: each encoding of a secret is found where it was planted.
    for secret in ADDRESSES.iter().copied().chain([AGENT, BOT]) {
        for encoding in encodings(secret) {
            let planted = [b"prefix".as_slice(), &encoding, b"suffix"].concat();
            assert!(find(&planted, &encoding));
        }
        let standard = base64(
            format!("xx{secret}yy").as_bytes(),
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
        );
        assert!(
            encodings(secret)
                .iter()
                .any(|e| find(standard.as_bytes(), e)),
            "base64 of {secret:?} inside other bytes is found"
        );
    }
}

#[tokio::test]
async fn the_embedded_file_holds_no_address_or_user_agent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.redb");
    {
        let store = EmbeddedStore::open(&path).unwrap();
        let app = app(Arc::new(store), origins());
        visit_everything(&app).await;
        assert_eq!(
            get_path(&app, "/counters/home").await.totals("home"),
            (2, 2)
        );
    }
    // The file as written (the store closes when its writer thread lets go).
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_holds_none("the redb file", &std::fs::read(&path).unwrap());
}

#[tokio::test]
async fn no_dynamodb_item_holds_an_address_or_user_agent() {
    let admin = admin_client().await;
    let table = fresh_table(&admin).await;
    let store = dynamodb_store(&dynamodb_endpoint(), &table).await;
    let app = app(Arc::new(store), origins());
    visit_everything(&app).await;
    assert_eq!(
        get_path(&app, "/counters/home").await.totals("home"),
        (2, 2)
    );
    let items = admin
        .scan()
        .table_name(table.as_str())
        .send()
        .await
        .unwrap();
    assert!(items.items().len() >= 10, "{:?}", items.items());
    // The scan sees the site's items and the tallies: they are checked too.
    let ids: Vec<&str> = items
        .items()
        .iter()
        .filter_map(|item| item.get("id").and_then(|id| id.as_s().ok()))
        .map(String::as_str)
        .collect();
    assert!(ids.iter().any(|id| id.starts_with("site#")), "{ids:?}");
    assert!(
        items.items().iter().any(|item| item.contains_key("bots")),
        "no tally among {ids:?}"
    );
    // Counter markers and site markers: two per address and counter, and per address.
    let markers = ids.iter().filter(|id| id.starts_with("visitor#")).count();
    assert_eq!(markers, ADDRESSES.len() * 3 + ADDRESSES.len(), "{ids:?}");
    for item in items.items() {
        let mut bytes = Vec::new();
        for (name, value) in item {
            bytes.extend(name.as_bytes());
            match value {
                AttributeValue::S(s) | AttributeValue::N(s) => bytes.extend(s.as_bytes()),
                AttributeValue::B(b) => bytes.extend(b.as_ref()),
                other => bytes.extend(format!("{other:?}").as_bytes()),
            }
        }
        assert_holds_none(&format!("the item {item:?}"), &bytes);
    }
}

#[tokio::test]
async fn after_a_day_its_salt_is_gone_and_its_markers_cannot_be_recomputed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.redb");
    let clock = Arc::new(ManualClock::on("2026-12-02", 12).unwrap());
    let store = Arc::new(EmbeddedStore::open_with_clock(&path, clock.clone()).unwrap());
    let settings = Settings {
        allowed_origins: origins(),
        counters: AllowedCounters::Any,
        clock: clock.clone(),
        ..Settings::default()
    };
    let app = app(Arc::clone(&store), settings);
    visit_everything(&app).await;
    let day = clock.today();
    let old_salt = store.salt(day).await.unwrap();
    let home = CounterName::parse("home").unwrap();
    let old_marker = old_salt.marker(&home, ADDRESSES[0], AGENT.as_bytes());
    let old_site_marker = old_salt.site_marker(ADDRESSES[0], AGENT.as_bytes());

    // The next day's first visit makes a new salt and destroys the old one.
    clock.advance(Duration::from_secs(24 * 3600));
    visit_everything(&app).await;
    let new_salt = store.salt(clock.today()).await.unwrap();
    assert_ne!(new_salt, old_salt);
    // Two days on, the old day's markers are deleted too.
    clock.advance(Duration::from_secs(24 * 3600));
    visit_everything(&app).await;
    drop(app);
    drop(store);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let file = std::fs::read(&path).unwrap();
    assert!(
        !find(&file, &old_salt.0),
        "the old salt is still in the file"
    );
    assert!(
        !find(&file, &old_marker.0),
        "the old day's marker is still in the file"
    );
    assert!(
        !find(&file, &old_site_marker.0),
        "the old day's site marker is still in the file"
    );
    // With today's salt the old marker cannot be recomputed.
    assert_ne!(
        new_salt.marker(&home, ADDRESSES[0], AGENT.as_bytes()),
        old_marker
    );
    let _ = day;
}
