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

/// `url` with any password replaced by `***`, for messages and logs.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
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
    }
}
