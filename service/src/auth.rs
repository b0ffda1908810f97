//! The owner's password for the dashboard and the list (`DASHBOARD_PASSWORD`): HTTP Basic
//! authentication (RFC 7617), any user name.
//!
//! Why Basic: every browser asks for it natively, with no page, script or cookie of the
//! service's own, and every client (curl `-u`, a monitor) can send it; the API is served
//! over HTTPS only in AWS, so the password is not in the clear on the wire. Locally,
//! without a password, the dashboard stays open: the server listens on 127.0.0.1.
//!
//! The comparison takes the same time whatever the password sent: both sides are
//! hashed (SHA-256) and the digests compared with every byte examined, so neither the
//! length nor a matching prefix shows in the time of an answer.

use http::{HeaderMap, header};
use ring::digest::{SHA256, digest};

/// The `WWW-Authenticate` challenge of a `401`.
pub const CHALLENGE: &str = r#"Basic realm="visitor-counter", charset="UTF-8""#;

/// The owner's password, held as its digest.
#[derive(Clone)]
pub struct Password([u8; 32]);

impl std::fmt::Debug for Password {
    // Never printed, so never logged by accident.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(..)")
    }
}

impl PartialEq for Password {
    fn eq(&self, other: &Self) -> bool {
        same(&self.0, &other.0)
    }
}

impl Eq for Password {}

impl Password {
    pub fn new(password: &str) -> Self {
        Self(sha256(password.as_bytes()))
    }

    /// Whether the request carries this password (Basic, any user name).
    pub fn admits(&self, headers: &HeaderMap) -> bool {
        let Some(sent) = basic_password(headers) else {
            return false;
        };
        same(&self.0, &sha256(&sent))
    }
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0; 32];
    out.copy_from_slice(digest(&SHA256, bytes).as_ref());
    out
}

/// Equal digests, every byte compared whatever the first difference.
fn same(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The password of an `Authorization: Basic` header: what follows the first `:` of the
/// decoded credentials.
fn basic_password(headers: &HeaderMap) -> Option<Vec<u8>> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64_decode(token.trim())?;
    let colon = decoded.iter().position(|&byte| byte == b':')?;
    Some(decoded[colon + 1..].to_vec())
}

/// Standard base64 (RFC 4648 section 4), padding optional.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut buffer = 0u32;
    let mut bits = 0;
    for byte in text.bytes() {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        buffer = (buffer << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn with(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn any_user_name_with_the_password_is_admitted() {
        let password = Password::new("open sesame");
        // "owner:open sesame", "x:open sesame", ":open sesame"
        assert!(password.admits(&with("Basic b3duZXI6b3BlbiBzZXNhbWU=")));
        assert!(password.admits(&with("basic eDpvcGVuIHNlc2FtZQ==")));
        assert!(password.admits(&with("Basic Om9wZW4gc2VzYW1l")));
    }

    #[test]
    fn anything_else_is_refused() {
        let password = Password::new("open sesame");
        assert!(!password.admits(&HeaderMap::new()));
        // "owner:open sesamE", no colon, another scheme, not base64
        assert!(!password.admits(&with("Basic b3duZXI6b3BlbiBzZXNhbUU=")));
        assert!(!password.admits(&with("Basic b3BlbiBzZXNhbWU=")));
        assert!(!password.admits(&with("Bearer b3duZXI6b3BlbiBzZXNhbWU=")));
        assert!(!password.admits(&with("Basic !!!")));
        // a password with a colon in it is all that follows the first colon
        assert!(Password::new("a:b").admits(&with("Basic dTphOmI=")));
    }
}
