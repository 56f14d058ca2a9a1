//! What Twilio posts back: a reply to an SMS page (`POST /twilio/sms`, the number's messaging
//! webhook) and the key pressed during a page by phone (`POST /twilio/voice/{notification}`, the
//! call's `<Gather>` action). Each request must carry Twilio's `X-Twilio-Signature` over this
//! server's public URL and the posted parameters; anything else is refused with `403`, and both
//! routes are `404` when no Twilio account is configured. Answers are TwiML.

use axum::Router;
use axum::extract::{DefaultBodyLimit, OriginalUri, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use firebreak_domain::Id;

use crate::extract::{Form, Path};
use crate::state::Shared;

/// Largest body Twilio posts here; its webhooks carry a few dozen short parameters.
const BODY_BYTES_MAX: usize = 16 * 1024;

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/twilio/sms", post(sms))
        .route("/twilio/voice/{notification}", post(voice))
        .layer(DefaultBodyLimit::max(BODY_BYTES_MAX))
}

/// A reply to an SMS page: `From` is the person's number, `Body` what they wrote.
async fn sms(
    State(server): State<Shared>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    Form(params): Form<Vec<(String, String)>>,
) -> Response {
    if let Err(refused) = check(&server, &uri, &headers, &params) {
        return refused.into_response();
    }
    let from = param(&params, "From");
    let body = param(&params, "Body");
    match server.sms_reply(from, body).await {
        Ok(outcome) => twiml(firebreak_notify::sms_reply_twiml(&outcome.message)),
        Err(err) => {
            tracing::warn!(error = %err, "sms_reply_failed");
            twiml(firebreak_notify::sms_reply_twiml("firebreak could not act on this reply; try again."))
        }
    }
}

/// The key pressed during the call of notification `notification`: `Digits`.
async fn voice(
    State(server): State<Shared>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    Path(notification): Path<Id>,
    Form(params): Form<Vec<(String, String)>>,
) -> Response {
    if let Err(refused) = check(&server, &uri, &headers, &params) {
        return refused.into_response();
    }
    match server.voice_reply(notification, param(&params, "Digits")).await {
        Ok(outcome) => twiml(firebreak_notify::voice_reply_twiml(&outcome.message)),
        Err(err) => {
            tracing::warn!(error = %err, "voice_reply_failed");
            twiml(firebreak_notify::voice_reply_twiml(
                "firebreak could not act on this key. Try the link in the message.",
            ))
        }
    }
}

/// Refuses what Twilio did not sign, or everything when no Twilio account is configured.
fn check(
    server: &Shared,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    params: &[(String, String)],
) -> Result<(), (StatusCode, &'static str)> {
    if !server.twilio_configured() {
        return Err((StatusCode::NOT_FOUND, "no Twilio account is configured\n"));
    }
    let signature = headers.get("x-twilio-signature").and_then(|value| value.to_str().ok()).unwrap_or("");
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or(uri.path());
    let url = format!("{}{path}", server.public_url());
    if signature.is_empty() || !server.twilio_signed(&url, params, signature) {
        tracing::warn!(path = uri.path(), "twilio_signature_refused");
        return Err((
            StatusCode::FORBIDDEN,
            "X-Twilio-Signature does not match this request
",
        ));
    }
    Ok(())
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> &'a str {
    params.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str()).unwrap_or("")
}

fn twiml(body: String) -> Response {
    let mut response = body.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml; charset=utf-8"));
    response
}
