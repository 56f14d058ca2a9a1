//! The pages of acknowledge and resolve links from pages: usable without logging in, signed for
//! one action on one incident (see `firebreak_app::links`).
//!
//! Opening a link (`GET`) shows what it will do and a button; only the `POST` acts. Mail security
//! scanners and link previews fetch links in messages on their own, and a fetch must not acknowledge
//! an incident (which stops paging) behind the responder's back. Tools that act on a responder's
//! behalf, such as a chat bot, can `POST` to the link directly.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use firebreak_app::Error;
use firebreak_app::links::{Action, LinkError};
use firebreak_domain::{Id, IncidentError};
use maud::{Markup, html};

use super::page::{Viewer, layout};
use crate::extract::Path;
use crate::state::Shared;

/// Shows what the link does, with the button that does it.
pub(super) fn routes() -> Router<Shared> {
    Router::new().route("/act/{token}", get(show).post(act))
}

async fn show(State(server): State<Shared>, Path(token): Path<String>) -> Response {
    let (action, incident_id) = match server.verify_link(&token) {
        Ok(link) => (link.action, link.incident_id),
        Err(err) => return refused(err),
    };
    let title = match server.incident(incident_id).await {
        Ok(detail) => {
            let incident = detail.incident;
            format!("#{} {} ({})", incident.id, incident.title, incident.status)
        }
        Err(_) => {
            return page(StatusCode::NOT_FOUND, "Not found", html! { "This incident no longer exists." });
        }
    };
    page(StatusCode::OK, &format!("{} incident #{incident_id}", action.verb()), confirmation(&title, action))
}

/// Acknowledges or resolves the link's incident.
async fn act(State(server): State<Shared>, Path(token): Path<String>) -> Response {
    let link = match server.verify_link(&token) {
        Ok(link) => link,
        Err(err) => return refused(err),
    };
    let (action, incident_id) = (link.action, link.incident_id);
    let principal = server.link_principal(&link).await;
    match server.act(&principal, incident_id, action.command()).await.map(|detail| detail.incident) {
        Ok(incident) => page(
            StatusCode::OK,
            &format!("Incident #{incident_id} {}", incident.status),
            outcome(&incident.title, incident_id),
        ),
        // Someone else was quicker, or the link was used twice: say where the incident stands.
        Err(Error::Refused(IncidentError::IllegalTransition { status, .. })) => page(
            StatusCode::OK,
            &format!("Incident #{incident_id} is already {status}"),
            outcome("Nothing was changed.", incident_id),
        ),
        Err(Error::NotFound(_)) => {
            page(StatusCode::NOT_FOUND, "Not found", html! { "This incident no longer exists." })
        }
        Err(err) => {
            tracing::error!(error = %err, incident_id, "link_action_failed");
            page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Try again",
                html! { "The action could not be recorded; try again." },
            )
        }
    }
}

fn refused(err: LinkError) -> Response {
    match err {
        LinkError::Expired => page(
            StatusCode::GONE,
            "Link expired",
            html! { "This link has expired. Log in to firebreak to act on the incident." },
        ),
        LinkError::Malformed | LinkError::BadSignature => {
            page(StatusCode::NOT_FOUND, "Not found", html! { "This link is not valid." })
        }
    }
}

/// What opening a link shows: the incident, described by `what`, and the button that does `action`
/// to it. The form posts back to the link itself.
fn confirmation(what: &str, action: Action) -> Markup {
    html! {
        p { (what) }
        form method="post" { button.primary type="submit" { (action.verb()) " incident" } }
    }
}

/// What a link says once it has been used: `text`, and a link to incident `incident_id`.
fn outcome(text: &str, incident_id: Id) -> Markup {
    html! {
        p { (text) }
        p { a href={ "/incidents/" (incident_id) } { "Open the incident" } }
    }
}

/// A link's page: `title` as its heading over `body`, in the web UI's page shell for someone who is
/// not logged in.
fn page(status: StatusCode, title: &str, body: Markup) -> Response {
    let body = html! {
        section.standalone {
            h1 { (title) }
            (body)
        }
    };
    layout(status, title, Viewer::Link, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn link_pages_escape_what_they_show_and_have_the_ui_headers() {
        use axum::http::header;
        use http_body_util::BodyExt;

        use crate::ui::page::tests::{HOSTILE, assert_escaped};

        let title = format!("#42 {HOSTILE} (triggered)");
        let shown = page(StatusCode::OK, &title, confirmation(&title, Action::Resolve));
        let used = page(StatusCode::OK, &title, outcome(HOSTILE, 42));
        let ui_page = layout(StatusCode::OK, "Incidents", Viewer::Anonymous, html! {});
        for response in [shown, used] {
            let headers = response.headers();
            for name in
                [header::CONTENT_SECURITY_POLICY, header::X_CONTENT_TYPE_OPTIONS, header::CACHE_CONTROL]
            {
                assert_eq!(headers[&name], ui_page.headers()[&name], "{name}");
            }
            assert_eq!(headers[header::REFERRER_POLICY], "no-referrer");
            let body = response.into_body().collect().await.expect("a page body is in memory").to_bytes();
            let html = String::from_utf8(body.to_vec()).expect("pages are UTF-8");
            // The title, the heading, and the incident.
            assert_escaped(&html, 3);
            assert!(html.contains(r#"<meta name="robots" content="noindex">"#), "{html}");
            assert!(!html.contains("<nav>"), "{html}");
        }
    }
}
