//! Webhook secrets and signatures: what a receiver needs to check that a page came from firebreak and was
//! not altered or replayed from long ago.
//!
//! The scheme is the common one (HMAC-SHA256 over `"{timestamp}.{body}"`, sent as `v1=<hex>`), so
//! receivers can reuse code they wrote for other services. `docs/webhooks.md` describes it for receivers.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The prefix of every secret from [`new_webhook_secret`], so a leaked one is recognizable in a scan.
const SECRET_PREFIX: &str = "whsec_";

/// How many signatures [`verify`] tries from one header; more than two only happen in an attack.
const SIGNATURES_MAX: usize = 8;

/// A new random webhook signing secret: `whsec_` followed by 32 random bytes in lowercase hex.
///
/// # Panics
///
/// If the operating system cannot provide random bytes, which leaves nothing secure to fall back on.
pub fn new_webhook_secret() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system provides random bytes");
    let mut secret = String::with_capacity(SECRET_PREFIX.len() + 64);
    secret.push_str(SECRET_PREFIX);
    secret.push_str(&hex(&bytes));
    secret
}

/// The `X-Firebreak-Signature` value for `body` sent at `timestamp` (Unix seconds): `v1=` followed by
/// the lowercase hex HMAC-SHA256 of `"{timestamp}.{body}"`, keyed with the secret's UTF-8 bytes as
/// stored (prefix included).
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let digest = mac(secret, timestamp, body).finalize().into_bytes();
    format!("v1={}", hex(&digest))
}

/// Whether `signature_header` holds a valid signature of `body` sent at `timestamp` with `secret`.
///
/// The header may list several signatures separated by commas or spaces (as during a secret rotation);
/// one valid `v1=` entry is enough, and entries of unknown versions are skipped. Comparison is constant
/// time. This does not judge the timestamp: receivers should also reject timestamps more than a few
/// minutes from their clock, so that a captured request cannot be replayed later.
pub fn verify(secret: &str, timestamp: i64, body: &[u8], signature_header: &str) -> bool {
    signature_header
        .split([',', ' '])
        .filter(|entry| !entry.is_empty())
        .take(SIGNATURES_MAX)
        .filter_map(|entry| entry.strip_prefix("v1="))
        .filter_map(unhex)
        .any(|signature| mac(secret, timestamp, body).verify_slice(&signature).is_ok())
}

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0xf)]));
    }
    text
}

/// Decodes hex in either case; `None` for odd lengths or other characters.
fn unhex(text: &str) -> Option<Vec<u8>> {
    fn digit(c: u8) -> Option<u8> {
        char::from(c).to_digit(16).and_then(|d| u8::try_from(d).ok())
    }
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.as_bytes().chunks_exact(2).map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test";
    const TIMESTAMP: i64 = 1_700_000_000;
    const BODY: &[u8] = br#"{"type":"page"}"#;
    /// `printf '%s' '1700000000.{"type":"page"}' | openssl dgst -sha256 -hmac whsec_test`
    const SIGNATURE: &str = "v1=5d5eda5f663f69ec11539cf7776723f9830f4063e1ddd5bb0065ec9a3c4e3fdd";

    #[test]
    fn sign_matches_openssl() {
        assert_eq!(sign(SECRET, TIMESTAMP, BODY), SIGNATURE);
        // `printf '0.' | openssl dgst -sha256 -hmac key`: an empty body still signs the timestamp.
        assert_eq!(
            sign("key", 0, b""),
            "v1=85841b4efc3cd7776c3c8f9b7cca9e281c550e5d19889d78e9e669c6337f000d"
        );
        // `printf '%s' '-5.x' | openssl dgst -sha256 -hmac 'ключ'`: the key is the secret's UTF-8 bytes.
        assert_eq!(
            sign("ключ", -5, b"x"),
            "v1=42ee5566f3791d5ad4589c0d5dc0bbd83b55892d268254c88edfe6186512c709"
        );
    }

    #[test]
    fn verify_accepts_the_signature_and_nothing_altered() {
        let check =
            |secret: &str, timestamp: i64, body: &[u8], header: &str| verify(secret, timestamp, body, header);
        assert!(check(SECRET, TIMESTAMP, BODY, SIGNATURE));
        assert!(check(SECRET, TIMESTAMP, BODY, &SIGNATURE.to_uppercase().replace("V1=", "v1=")));
        assert!(check(SECRET, TIMESTAMP, BODY, &format!("v1=00ff, {SIGNATURE}")));
        assert!(check(SECRET, TIMESTAMP, BODY, &format!("v0=abc {SIGNATURE}")));

        assert!(!check(SECRET, TIMESTAMP, br#"{"type":"pagE"}"#, SIGNATURE));
        assert!(!check(SECRET, TIMESTAMP, br#"{"type":"page"} "#, SIGNATURE));
        assert!(!check(SECRET, TIMESTAMP + 1, BODY, SIGNATURE));
        assert!(!check("whsec_tesT", TIMESTAMP, BODY, SIGNATURE));
        assert!(!check("", TIMESTAMP, BODY, SIGNATURE));
        for header in ["", "v1=", "v1", &SIGNATURE[3..], &SIGNATURE[..SIGNATURE.len() - 1], "v1=zz", "v2=00"]
        {
            assert!(!check(SECRET, TIMESTAMP, BODY, header), "{header:?}");
        }
        let truncated = &SIGNATURE[..SIGNATURE.len() - 2];
        assert!(!check(SECRET, TIMESTAMP, BODY, truncated));
    }

    #[test]
    fn verify_reads_only_the_first_signatures() {
        let padded = format!("{}{SIGNATURE}", "v1=00,".repeat(SIGNATURES_MAX));
        assert!(!verify(SECRET, TIMESTAMP, BODY, &padded));
    }

    #[test]
    fn secrets_are_random_and_well_formed() {
        let first = new_webhook_secret();
        let second = new_webhook_secret();
        assert_ne!(first, second);
        let digits = first.strip_prefix("whsec_").expect("prefix");
        assert_eq!(digits.len(), 64);
        assert!(digits.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)), "{first}");
        let signature = sign(&first, TIMESTAMP, BODY);
        assert!(verify(&first, TIMESTAMP, BODY, &signature));
        assert!(!verify(&second, TIMESTAMP, BODY, &signature));
    }

    #[test]
    fn hex_round_trips() {
        let bytes: Vec<u8> = (0..=255).collect();
        assert_eq!(unhex(&hex(&bytes)), Some(bytes));
        assert_eq!(unhex("0"), None);
        assert_eq!(unhex("0g"), None);
        assert_eq!(unhex("é"), None);
    }
}
