//! `GET /counter.js`: the embed script, `text/javascript`, the one answer that may be
//! cached (`public, max-age=3600`); any other method is a 405 with `Allow: GET`.

use reqwest::header::ORIGIN;
use reqwest::{Method, StatusCode};

use super::errors::expect_405;
use super::expect::{expect_cache_control, expect_media_type, expect_status, expect_utf8_if_any};
use super::{Finding, get};
use crate::contract::Contract;
use crate::error::Error;
use crate::http::{Client, Request};
use crate::report::Check;

pub(super) const EMBED_SCRIPT: &str = "embed-script";

/// The script, relative to the base URL.
pub(super) const SCRIPT: &str = "counter.js";

/// `GET /counter.js` is 200 `text/javascript` (UTF-8 if it names a charset), with the
/// contract's `Cache-Control` for it and a body; `PUT` and `DELETE` (and `POST`, in
/// full mode) are 405 problems with `Allow: GET`.
pub(super) async fn embed_script(
    client: &Client,
    contract: &Contract,
    origin: &str,
    read_only: bool,
) -> Result<Check, Error> {
    let mut finding = Finding::new(EMBED_SCRIPT);
    if let Some(answer) = finding.send(client, get(SCRIPT, origin)).await? {
        expect_status(&mut finding, &answer, StatusCode::OK);
        expect_media_type(&mut finding, &answer, "text/javascript");
        expect_utf8_if_any(&mut finding, &answer);
        expect_cache_control(&mut finding, &answer, &contract.script_cache_control);
        if answer.body.iter().all(u8::is_ascii_whitespace) {
            finding.fail(format!("{}: the script is empty", answer.label));
        }
    }
    let mut methods = vec![Method::PUT, Method::DELETE];
    if !read_only {
        methods.push(Method::POST);
    }
    for method in methods {
        let request = Request::new(method, SCRIPT).header(ORIGIN, origin);
        expect_405(
            &mut finding,
            client,
            contract,
            request,
            &contract.allow_script,
        )
        .await?;
    }
    Ok(finding.finish())
}
