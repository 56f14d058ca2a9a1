//! Acknowledge and resolve links in pages: signed, expiring, single-purpose, usable without logging
//! in.
//!
//! A link's token names its action, its incident and its expiry, and carries an HMAC-SHA256 of the
//! three under a key generated once per installation and shared by every replica through the
//! database. Changing any part breaks the signature, so a link acknowledges one incident and cannot
//! be turned into a resolve link or a link for another incident.
//!
//! Opening a link (`GET`) shows what it will do and a button; only the `POST` acts. Mail security
//! scanners and link previews fetch links in messages on their own, and a fetch must not acknowledge
//! an incident (which stops paging) behind the responder's back. Tools that act on a responder's
//! behalf, such as a chat bot, can `POST` to the link directly.

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use firebreak_domain::{Command, Id, IncidentError};
use firebreak_store::StoreError;
use firebreak_store::secret::{hex, unhex};
use hmac::{Hmac, Mac};
use jiff::{SignedDuration, Timestamp};
use sha2::Sha256;

use crate::App;
use crate::extract::Path;

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

    fn verb(self) -> &'static str {
        match self {
            Action::Acknowledge => "Acknowledge",
            Action::Resolve => "Resolve",
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

pub(crate) fn routes() -> Router<App> {
    Router::new().route("/act/{token}", get(show).post(act))
}

/// Shows what the link does, with the button that does it.
async fn show(State(app): State<App>, Path(token): Path<String>) -> Response {
    let (action, incident_id) = match app.links.verify(&token, app.now()) {
        Ok(found) => found,
        Err(err) => return refused(err),
    };
    let title = match app.store.incident(incident_id).await {
        Ok(incident) => format!("#{} {} ({})", incident.id, incident.title, incident.status),
        Err(_) => return page(StatusCode::NOT_FOUND, "Not found", "This incident no longer exists."),
    };
    let verb = action.verb();
    let body = format!(
        "<p>{}</p><form method=\"post\"><button type=\"submit\">{verb} incident</button></form>",
        escape(&title),
    );
    page(StatusCode::OK, &format!("{verb} incident #{incident_id}"), &body)
}

/// Acknowledges or resolves the link's incident.
async fn act(State(app): State<App>, Path(token): Path<String>) -> Response {
    let (action, incident_id) = match app.links.verify(&token, app.now()) {
        Ok(found) => found,
        Err(err) => return refused(err),
    };
    let command = match action {
        Action::Acknowledge => Command::Acknowledge,
        Action::Resolve => Command::Resolve,
    };
    let result = app.store.update_incident(incident_id, &command, "page link", app.now()).await;
    app.pager.wake();
    let link = format!("<p><a href=\"/incidents/{incident_id}\">Open the incident</a></p>");
    match result {
        Ok((incident, _)) => page(
            StatusCode::OK,
            &format!("Incident #{incident_id} {}", incident.status),
            &format!("<p>{}</p>{link}", escape(&incident.title)),
        ),
        // Someone else was quicker, or the link was used twice: say where the incident stands.
        Err(StoreError::Refused(IncidentError::IllegalTransition { status, .. })) => page(
            StatusCode::OK,
            &format!("Incident #{incident_id} is already {status}"),
            &format!("<p>Nothing was changed.</p>{link}"),
        ),
        Err(StoreError::NotFound(_)) => {
            page(StatusCode::NOT_FOUND, "Not found", "This incident no longer exists.")
        }
        Err(err) => {
            tracing::error!(error = %err, incident_id, "link_action_failed");
            page(StatusCode::SERVICE_UNAVAILABLE, "Try again", "The action could not be recorded; try again.")
        }
    }
}

fn refused(err: LinkError) -> Response {
    match err {
        LinkError::Expired => page(
            StatusCode::GONE,
            "Link expired",
            "This link has expired. Log in to firebreak to act on the incident.",
        ),
        LinkError::Malformed | LinkError::BadSignature => {
            page(StatusCode::NOT_FOUND, "Not found", "This link is not valid.")
        }
    }
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\"><title>{title} · firebreak</title>\
         <style>body{{font:16px system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}}\
         button{{font:inherit;padding:.6rem 1.4rem;border-radius:6px;border:1px solid #b42318;\
         background:#d92d20;color:#fff;cursor:pointer}}</style></head>\
         <body><h1>{title}</h1>{body}</body></html>",
        title = escape(title),
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::REFERRER_POLICY, "no-referrer"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
            ),
        ],
        html,
    )
        .into_response()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
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
