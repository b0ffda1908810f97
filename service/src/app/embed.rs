//! `GET /counter.js`: the embed script (`assets/counter.js`), which a page includes
//! with one line to count its load and show the numbers. Its header comment says what
//! it does; the README's "On a web page" gives the line and the naming rule.
//!
//! It is the one cacheable answer (`public, max-age=3600`): it holds no number, and the
//! numbers it shows come from its own `POST`, which is never cached. Served as
//! `text/javascript` (RFC 9239), with `nosniff`, and with
//! `Cross-Origin-Resource-Policy: cross-origin` so that pages which isolate themselves
//! (`Cross-Origin-Embedder-Policy`) may still load it.

use axum::response::Response;
use http::header;

/// The script, as served.
pub const SCRIPT: &str = include_str!("../../assets/counter.js");
/// Its path.
pub const PATH: &str = "/counter.js";
pub const CONTENT_TYPE: &str = "text/javascript; charset=utf-8";
pub const CACHE_CONTROL: &str = "public, max-age=3600";

/// The answer to `GET /counter.js`.
pub fn script() -> Response {
    super::with_headers(
        SCRIPT,
        &[
            (header::CONTENT_TYPE, CONTENT_TYPE),
            (header::CACHE_CONTROL, CACHE_CONTROL),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (super::CROSS_ORIGIN_RESOURCE_POLICY, "cross-origin"),
        ],
    )
}
