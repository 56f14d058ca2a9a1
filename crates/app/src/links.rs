//! Acknowledge and resolve links in pages: signed, expiring, single-purpose, usable without logging
//! in.
//!
//! A link's token names its action, its incident and its expiry, and carries an HMAC-SHA256 of the
//! three under a key generated once per installation and shared by every replica through the
//! database. Changing any part breaks the signature, so a link acknowledges one incident and cannot
//! be turned into a resolve link or a link for another incident.
//!
//! The server shows what a link will do on `GET` and acts only on `POST` (mail scanners fetch
//! links on their own); here are the signing, the checking, and the command a link stands for.

use firebreak_domain::{Command, Id};
use firebreak_store::secret::{hex, unhex};
use hmac::{Hmac, Mac};
use jiff::{SignedDuration, Timestamp};
use sha2::Sha256;

use crate::App;

/// How long a link in a page works.
pub const LINK_LIFETIME: SignedDuration = SignedDuration::from_hours(24);
/// The name of the signing key in the store.
pub(crate) const KEY_NAME: &str = "action_links";
/// Longest token looked at; real ones are far shorter.
const TOKEN_CHARS_MAX: usize = 200;

/// What a link does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Acknowledge,
    Resolve,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Action::Acknowledge => "ack",
            Action::Resolve => "resolve",
        }
    }

    /// The word a button for the action shows: `Acknowledge` or `Resolve`.
    pub fn verb(self) -> &'static str {
        match self {
            Action::Acknowledge => "Acknowledge",
            Action::Resolve => "Resolve",
        }
    }

    /// The incident command the action is.
    pub fn command(self) -> Command {
        match self {
            Action::Acknowledge => Command::Acknowledge,
            Action::Resolve => Command::Resolve,
        }
    }
}

/// Makes and checks links with the installation's key.
#[derive(Clone)]
pub struct Links {
    key: Vec<u8>,
    public_url: String,
}

impl std::fmt::Debug for Links {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Links").field("public_url", &self.public_url).finish_non_exhaustive()
    }
}

/// Why a link does not work.
#[derive(Debug, PartialEq, Eq)]
pub enum LinkError {
    Malformed,
    BadSignature,
    Expired,
}

impl Links {
    pub fn new(key: Vec<u8>, public_url: &str) -> Links {
        Links { key, public_url: public_url.trim_end_matches('/').to_owned() }
    }

    /// The link that performs `action` on incident `incident_id` until `expires`.
    pub fn url(&self, action: Action, incident_id: Id, expires: Timestamp) -> String {
        format!("{}/act/{}", self.public_url, self.token(action, incident_id, expires))
    }

    fn token(&self, action: Action, incident_id: Id, expires: Timestamp) -> String {
        let claims = format!("{}.{}.{}", action.as_str(), incident_id, expires.as_second());
        format!("{claims}.{}", hex(&self.mac(&claims).finalize().into_bytes()))
    }

    fn mac(&self, claims: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(b"firebreak-link.");
        mac.update(claims.as_bytes());
        mac
    }

    /// The action and incident of a token, if it is genuine and has not expired at `now`.
    pub fn verify(&self, token: &str, now: Timestamp) -> Result<(Action, Id), LinkError> {
        if token.len() > TOKEN_CHARS_MAX {
            return Err(LinkError::Malformed);
        }
        let (claims, signature) = token.rsplit_once('.').ok_or(LinkError::Malformed)?;
        let signature = unhex(signature).ok_or(LinkError::Malformed)?;
        // Constant time: the comparison reveals nothing about how much of a forged signature was right.
        self.mac(claims).verify_slice(&signature).map_err(|_| LinkError::BadSignature)?;
        let mut parts = claims.split('.');
        let action = match parts.next() {
            Some("ack") => Action::Acknowledge,
            Some("resolve") => Action::Resolve,
            _ => return Err(LinkError::Malformed),
        };
        let incident_id: Id = parts.next().and_then(|id| id.parse().ok()).ok_or(LinkError::Malformed)?;
        let expires: i64 = parts.next().and_then(|at| at.parse().ok()).ok_or(LinkError::Malformed)?;
        if parts.next().is_some() {
            return Err(LinkError::Malformed);
        }
        if now.as_second() >= expires {
            return Err(LinkError::Expired);
        }
        Ok((action, incident_id))
    }
}

impl App {
    /// The action and incident of a link's token, if it is genuine and has not expired.
    pub fn verify_link(&self, token: &str) -> Result<(Action, Id), LinkError> {
        self.inner.links.verify(token, self.now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links() -> Links {
        Links::new(vec![7; 32], "https://fb.example/")
    }

    #[test]
    fn a_link_does_one_thing_to_one_incident_until_it_expires() {
        let now: Timestamp = "2026-03-01T12:00:00Z".parse().unwrap();
        let expires = now + LINK_LIFETIME;
        let url = links().url(Action::Acknowledge, 42, expires);
        let token = url.strip_prefix("https://fb.example/act/").unwrap();
        assert_eq!(links().verify(token, now), Ok((Action::Acknowledge, 42)));
        assert_eq!(links().verify(token, expires), Err(LinkError::Expired));

        let forged_action = token.replacen("ack.", "resolve.", 1);
        assert_eq!(links().verify(&forged_action, now), Err(LinkError::BadSignature));
        let forged_incident = token.replacen(".42.", ".43.", 1);
        assert_eq!(links().verify(&forged_incident, now), Err(LinkError::BadSignature));
        let other_key = Links::new(vec![8; 32], "https://fb.example");
        assert_eq!(other_key.verify(token, now), Err(LinkError::BadSignature));
        for junk in ["", ".", "ack.1.2.zz", "ack.1.2", &"a".repeat(500)] {
            assert!(links().verify(junk, now).is_err(), "{junk:?}");
        }
    }
}
