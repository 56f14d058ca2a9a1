//! Acknowledge and resolve links in pages: signed, expiring, single-purpose, usable without logging
//! in.
//!
//! A link's token names its action, its incident, its expiry and the person it was sent to
//! (`ack.42.1750086400.u7`), and carries an HMAC-SHA256 of them under a key generated once per
//! installation and shared by every replica through the database. Changing any part breaks the
//! signature, so a link acknowledges one incident, cannot be turned into a resolve link or a link
//! for another incident, and is recorded as done by the person it was sent to. (Links made before
//! they named the person still work, until they expire, and are recorded as a page link's.)
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

    /// The link that performs `action` on incident `incident_id` until `expires`, for the page
    /// sent to user `recipient`.
    pub fn url(&self, action: Action, incident_id: Id, recipient: Id, expires: Timestamp) -> String {
        format!("{}/act/{}", self.public_url, self.token(action, incident_id, recipient, expires))
    }

    fn token(&self, action: Action, incident_id: Id, recipient: Id, expires: Timestamp) -> String {
        let claims = format!("{}.{}.{}.u{recipient}", action.as_str(), incident_id, expires.as_second());
        format!("{claims}.{}", hex(&self.mac(&claims).finalize().into_bytes()))
    }

    fn mac(&self, claims: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(b"firebreak-link.");
        mac.update(claims.as_bytes());
        mac
    }

    /// What a token does, if it is genuine and has not expired at `now`.
    pub fn verify(&self, token: &str, now: Timestamp) -> Result<Verified, LinkError> {
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
        let recipient = match parts.next() {
            None => None,
            Some(user) => {
                Some(user.strip_prefix('u').and_then(|id| id.parse().ok()).ok_or(LinkError::Malformed)?)
            }
        };
        if parts.next().is_some() {
            return Err(LinkError::Malformed);
        }
        if now.as_second() >= expires {
            return Err(LinkError::Expired);
        }
        Ok(Verified { action, incident_id, recipient })
    }
}

/// What a genuine link does, and for whom it was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verified {
    pub action: Action,
    pub incident_id: Id,
    /// The user the page with the link was sent to; `None` for links made before links named them.
    pub recipient: Option<Id>,
}

impl App {
    /// What a link's token does, if it is genuine and has not expired.
    pub fn verify_link(&self, token: &str) -> Result<Verified, LinkError> {
        self.inner.links.verify(token, self.now())
    }

    /// Who acts by a link: the person it was sent to, or, for an older link or a person since
    /// removed, the link itself.
    pub async fn link_principal(&self, link: &Verified) -> crate::Principal {
        let user = match link.recipient {
            Some(user) => self.store().user(user).await.ok(),
            None => None,
        };
        crate::Principal::paged(user.as_ref())
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
        let url = links().url(Action::Acknowledge, 42, 7, expires);
        let token = url.strip_prefix("https://fb.example/act/").unwrap();
        let verified = Verified { action: Action::Acknowledge, incident_id: 42, recipient: Some(7) };
        assert_eq!(links().verify(token, now), Ok(verified));
        assert_eq!(links().verify(token, expires), Err(LinkError::Expired));

        let forged_action = token.replacen("ack.", "resolve.", 1);
        assert_eq!(links().verify(&forged_action, now), Err(LinkError::BadSignature));
        let forged_incident = token.replacen(".42.", ".43.", 1);
        assert_eq!(links().verify(&forged_incident, now), Err(LinkError::BadSignature));
        let forged_person = token.replacen(".u7.", ".u8.", 1);
        assert_eq!(links().verify(&forged_person, now), Err(LinkError::BadSignature));
        // A link made before links named the person still works, for nobody in particular.
        let claims = format!("ack.42.{}", expires.as_second());
        let old = format!("{claims}.{}", hex(&links().mac(&claims).finalize().into_bytes()));
        assert_eq!(links().verify(&old, now), Ok(Verified { recipient: None, ..verified }));
        let other_key = Links::new(vec![8; 32], "https://fb.example");
        assert_eq!(other_key.verify(token, now), Err(LinkError::BadSignature));
        for junk in ["", ".", "ack.1.2.zz", "ack.1.2", &"a".repeat(500)] {
            assert!(links().verify(junk, now).is_err(), "{junk:?}");
        }
    }
}
