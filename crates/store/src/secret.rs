//! Secrets: API tokens and integration keys.
//!
//! A secret is 32 random bytes from the operating system, hex-encoded behind a short prefix that
//! says what it is (so a leaked one is recognisable in logs and by secret scanners). Only its
//! SHA-256 hash is stored; checks compare hashes in constant time.

use sha2::{Digest, Sha256};

/// Prefix of API tokens.
pub const TOKEN_PREFIX: &str = "fbt_";
/// Prefix of integration keys.
pub const INTEGRATION_KEY_PREFIX: &str = "fbk_";
/// Longest secret accepted for checking; anything longer cannot be one of ours.
pub const SECRET_CHARS_MAX: usize = 128;

/// A new random secret with `prefix`.
///
/// # Panics
/// When the operating system's random source fails, which leaves nothing safe to do.
pub fn generate(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source must be available");
    format!("{prefix}{}", hex(&bytes))
}

/// The stored form of `secret`: its SHA-256, hex-encoded.
pub fn hash(secret: &str) -> String {
    hex(&digest(secret))
}

/// The SHA-256 of `secret`, for keeping in memory in place of the secret itself.
pub fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Compares two strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `url` with every password in it replaced by `***`, for messages and logs: the
/// password of the user information (which ends at the authority's last `@`, as URL
/// parsers read it, so a password may itself hold `@`), and the value of any
/// `password` or `sslpassword` parameter, in a query string or in a `key=value`
/// connection string.
pub fn redact_url(url: &str) -> String {
    let (head, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (format!("{scheme}://"), rest),
        None => (String::new(), url),
    };
    let mut redacted = head;
    let rest = if redacted.is_empty() {
        rest
    } else {
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, after) = rest.split_at(end);
        match authority.rsplit_once('@') {
            Some((userinfo, host)) => {
                match userinfo.split_once(':') {
                    Some((user, _)) => redacted.push_str(&format!("{user}:***@")),
                    None => redacted.push_str(&format!("{userinfo}@")),
                }
                redacted.push_str(host);
            }
            None => redacted.push_str(authority),
        }
        after
    };
    redacted.push_str(&redact_password_parameters(rest));
    redacted
}

/// `text` with the value of every `password=` or `sslpassword=` parameter (either
/// case, `&`- or space-separated) replaced by `***`.
fn redact_password_parameters(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut start = 0;
    for (at, _) in text.match_indices('=') {
        if at < start {
            continue;
        }
        let key_start = text[..at].rfind(['?', '&', ' ', ';']).map_or(0, |i| i + 1).max(start);
        let key = text[key_start..at].trim();
        if key.eq_ignore_ascii_case("password") || key.eq_ignore_ascii_case("sslpassword") {
            let value_end = text[at + 1..].find(['&', ' ', ';', '#']).map_or(text.len(), |i| at + 1 + i);
            out.push_str(&text[start..=at]);
            out.push_str("***");
            start = value_end;
        }
    }
    out.push_str(&text[start..]);
    out
}

/// `bytes` as lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0xf)]));
    }
    text
}

/// Decodes hex in either case; `None` for odd lengths or other characters.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets() {
        let token = generate(TOKEN_PREFIX);
        assert!(token.starts_with("fbt_") && token.len() == 68, "{token}");
        assert_ne!(generate(TOKEN_PREFIX), token);
        assert_eq!(hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert!(constant_time_eq(&hash(&token), &hash(&token)));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "ab"));
        assert_eq!(unhex(&hex(&[0, 1, 0xab, 0xff])), Some(vec![0, 1, 0xab, 0xff]));
        assert_eq!(unhex("AB"), Some(vec![0xab]));
        assert_eq!(unhex("0"), None);
        assert_eq!(unhex("0g"), None);
        assert_eq!(unhex("é"), None);
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(redact_url("postgres://u:hunter2@db/x"), "postgres://u:***@db/x");
        assert_eq!(redact_url("postgres://u@db/x"), "postgres://u@db/x");
        assert_eq!(redact_url("sqlite:fb.db"), "sqlite:fb.db");
        assert_eq!(redact_url("postgres://u:p@ss@db:5432/x"), "postgres://u:***@db:5432/x");
        assert_eq!(redact_url("postgres://u:a@b@c@db"), "postgres://u:***@db");
        assert_eq!(
            redact_url("postgres://u@db/x?sslmode=require&password=hunter2&application_name=fb"),
            "postgres://u@db/x?sslmode=require&password=***&application_name=fb"
        );
        assert_eq!(redact_url("postgres://db/x?PASSWORD=hunter2"), "postgres://db/x?PASSWORD=***");
        assert_eq!(redact_url("postgres://db/x?sslpassword=k3y"), "postgres://db/x?sslpassword=***");
        assert_eq!(
            redact_url("host=db user=u password=hunter2 dbname=x"),
            "host=db user=u password=*** dbname=x"
        );
        assert_eq!(redact_url("postgres://u:pw@db/x?options=a@b"), "postgres://u:***@db/x?options=a@b");
        for url in [
            "postgres://u:p@ss@db/x",
            "postgres://u@db/x?password=hunter2",
            "postgresql://u:hunter2@db/x?password=hunter2",
            "postgres://u:hunter2@db?password=hunter2#x",
        ] {
            let shown = redact_url(url);
            assert!(!shown.contains("hunter2") && !shown.contains("ss@"), "{url} shown as {shown}");
        }
    }
}
