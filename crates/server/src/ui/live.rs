//! Parts of a page that keep themselves up to date: the incident list and an incident's timeline.
//!
//! A live part is rendered by the same function whether it is in its page or asked for alone, and
//! marked with the URL that answers it alone (`data-live`) and the version it shows
//! (`data-version`, a hash of its HTML). The one script of the web UI, `live.js`, served here from
//! a URL that changes with its content (so it can be cached for a year), asks that URL every few
//! seconds while the page is visible; the answer is `304 Not Modified` while the version is the
//! same, or the new HTML with its version as `ETag`. Each replica answers from the database, so
//! this works whichever replica a request reaches.

use std::sync::LazyLock;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::{Markup, html};

use crate::state::Shared;

/// The script that refreshes live parts.
const SCRIPT: &str = include_str!("live.js");

/// Where pages load the script from: the path with the script's version, so that a new build's
/// script is a new URL and an old one may be cached for good.
pub(super) static SCRIPT_URL: LazyLock<String> =
    LazyLock::new(|| format!("/static/live.js?v={:016x}", fnv1a(SCRIPT.as_bytes())));

pub(super) fn routes() -> Router<Shared> {
    Router::new().route("/static/live.js", get(script))
}

/// The script, cacheable for a year: its URL changes with its content.
async fn script() -> Response {
    let mut response = SCRIPT.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/javascript; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// `body` as a live part of its page, with the id `id`, answered alone by `url`.
pub(super) fn region(id: &str, url: &str, body: Markup) -> Markup {
    html! {
        div.live id=(id) data-live=(url) data-version=(version(&body.0)) { (body) }
    }
}

/// `body` as the answer to a live part's URL: `304` when the request's `If-None-Match` is its
/// version already, else the HTML with its version as `ETag`. Like every page, not to be stored.
pub(super) fn fragment(request: &HeaderMap, body: Markup) -> Response {
    let etag = version(&body.0);
    let unchanged = request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|tag| tag.trim() == etag);
    let mut response = if unchanged {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (StatusCode::OK, body).into_response()
    };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// The version of a live part's HTML, as an entity tag.
fn version(html: &str) -> String {
    format!("\"{:016x}\"", fnv1a(html.as_bytes()))
}

/// The 64-bit FNV-1a hash of `bytes`: the same in every process and build, so every replica gives
/// the same HTML the same version.
const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_part_carries_its_url_and_version() {
        let html =
            region("incident-list", "/incidents?status=open&fragment=1", html! { p { "x" } }).into_string();
        assert_eq!(
            html,
            format!(
                r#"<div class="live" id="incident-list" data-live="/incidents?status=open&amp;fragment=1" data-version="{}"><p>x</p></div>"#,
                version("<p>x</p>").replace('"', "&quot;")
            )
        );
    }

    #[test]
    fn an_unchanged_part_is_answered_304() {
        let body = || html! { p { "x" } };
        let fresh = fragment(&HeaderMap::new(), body());
        assert_eq!(fresh.status(), StatusCode::OK);
        let etag = fresh.headers()[header::ETAG].clone();
        let mut request = HeaderMap::new();
        request.insert(header::IF_NONE_MATCH, etag.clone());
        let again = fragment(&request, body());
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(again.headers()[header::ETAG], etag);
        let changed = fragment(&request, html! { p { "y" } });
        assert_eq!(changed.status(), StatusCode::OK);
        assert_ne!(changed.headers()[header::ETAG], etag);
    }

    #[test]
    fn the_script_url_changes_with_the_script() {
        assert!(SCRIPT_URL.starts_with("/static/live.js?v="), "{}", *SCRIPT_URL);
        assert_ne!(fnv1a(b"a"), fnv1a(b"b"));
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
    }
}
