//! What every page of the web UI shares: the page shell, its security headers, the session of the
//! person logged in, the error page and the catalog's names. A person logs in with their name and
//! password (or an OpenID provider); the random secret of their server-side session is kept in an
//! `HttpOnly`, `SameSite=Lax` cookie (`Secure` when served over HTTPS); every form also carries a
//! token derived from it, so another site cannot submit forms on their behalf.
//!
//! Every page is written with maud's `html!`, which escapes whatever text it is given. The only
//! markup inserted as it is is the stylesheet below and the output of [`crate::markdown`], which
//! sanitizes what it renders. Each page is loaded from the store first and then rendered by a
//! function of the loaded data alone, so what a page shows can be tested without a database.
//! The pages of a logged-in person load one script file, [`super::live`]'s, which refreshes the
//! parts of a page marked live (no inline script: the policy allows none); every page and every
//! form works without it.
//! [`layout`] is the one page shell, for these pages and for the signed-link pages of
//! [`super::links`] alike, and the one place that sets the security headers.

use std::collections::HashMap;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use firebreak_app::Principal;
use firebreak_app::access::{form_token, form_token_matches};
use firebreak_domain::{Id, Service, Team};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::error::ApiError;
use crate::state::Shared;

/// The name of the cookie that holds the secret of a logged-in person's session.
pub(super) const COOKIE: &str = "firebreak_session";
/// The Content-Security-Policy of every page: scripts only from files of this server (the one
/// script, [`super::live`], which keeps lists up to date) and never inline, requests from scripts
/// only to this server, styles only inline (the one stylesheet is in the page), forms only to this
/// server, and no framing, which stops clickjacking of the action buttons.
const CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; \
                   img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
/// The stylesheet of every page.
const STYLE: &str = include_str!("style.css");

/// The logged-in person and the form token of their session. As an extractor it answers a request
/// without a session with a redirect to the login page (`/login?expired=1` when the session in the
/// cookie ended), and a page they may not read with `403`.
pub(super) struct Session {
    pub(super) actor: Principal,
    pub(super) csrf: String,
}

/// Who a page is for, which decides its header and the headers that go with it.
pub(super) enum Viewer<'a> {
    /// A logged-in person: the header has the navigation and the log-out form.
    LoggedIn(&'a Session),
    /// Someone at the login page.
    Anonymous,
    /// Someone who opened an acknowledge or resolve link from a page, without logging in. The page
    /// is not to be indexed, and no referrer leaves it, since the link's URL is what grants its
    /// action.
    Link,
}

/// Names of services and teams, to show next to ids, and which escalation policy each service
/// follows.
pub(super) struct Catalog {
    pub(super) services: HashMap<Id, Service>,
    pub(super) teams: HashMap<Id, Team>,
    /// The escalation policy of each service that has one, by service id.
    pub(super) escalation_policies: HashMap<Id, Id>,
}

/// A page, or the response that takes its place: a redirect to the login page or an error page.
pub(super) type Page = Result<Response, Response>;

/// A whole page: `body` in the shell shared by every page, answered with `status` and the security
/// headers.
pub(super) fn layout(status: StatusCode, title: &str, viewer: Viewer<'_>, body: Markup) -> Response {
    let referrer = match viewer {
        Viewer::Link => "no-referrer",
        Viewer::LoggedIn(_) | Viewer::Anonymous => "same-origin",
    };
    let mut response = (status, document(title, &viewer, body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static(referrer));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

impl Session {
    /// A page for this session.
    pub(super) fn page(&self, title: &str, body: Markup) -> Response {
        layout(StatusCode::OK, title, Viewer::LoggedIn(self), body)
    }

    /// A page for this session answered with `status`: a form shown again with what was wrong.
    pub(super) fn page_with(&self, status: StatusCode, title: &str, body: Markup) -> Response {
        layout(status, title, Viewer::LoggedIn(self), body)
    }

    /// The error page for this session.
    pub(super) fn error(&self, err: ApiError) -> Response {
        error_page(Viewer::LoggedIn(self), err)
    }
}

impl FromRequestParts<Shared> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, server: &Shared) -> Result<Session, Response> {
        let Some(secret) = cookie_value(&parts.headers, COOKIE) else {
            return Err(Redirect::to("/login").into_response());
        };
        let address = crate::auth::client_address(&parts.extensions);
        let session = match server.session(secret, &address).await {
            Ok(found) => Session { actor: found.actor, csrf: form_token(secret) },
            Err(firebreak_app::Error::Unauthorized(_)) => {
                return Err(Redirect::to("/login?expired=1").into_response());
            }
            Err(err) => return Err(ApiError::from(err).into_response()),
        };
        if let Err(err) = crate::auth::may_read(server, &session.actor, &parts.method, parts.uri.path()).await
        {
            return Err(session.error(err));
        }
        Ok(session)
    }
}

impl Catalog {
    pub(super) async fn load(server: &Shared) -> Result<Catalog, ApiError> {
        let mut services = HashMap::new();
        let mut escalation_policies = HashMap::new();
        for detail in server.services().await? {
            if let Some(policy) = detail.escalation_policy_id {
                escalation_policies.insert(detail.service.id, policy);
            }
            services.insert(detail.service.id, detail.service);
        }
        let teams = server.teams().await?.into_iter().map(|t| (t.id, t)).collect();
        Ok(Catalog { services, teams, escalation_policies })
    }

    pub(super) fn service_name(&self, id: Id) -> String {
        self.services.get(&id).map_or_else(|| format!("service {id}"), |s| s.name.clone())
    }

    pub(super) fn team_of(&self, service_id: Id) -> Option<&Team> {
        self.services.get(&service_id).and_then(|s| self.teams.get(&s.team_id))
    }

    /// The name of the team that owns `service`, or nothing.
    pub(super) fn team_name(&self, service: &Service) -> &str {
        self.teams.get(&service.team_id).map_or("", |t| t.name.as_str())
    }
}

/// The page shell: `body` with the head, the stylesheet and the header that suit `viewer`.
fn document(title: &str, viewer: &Viewer<'_>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                @if matches!(viewer, Viewer::Link) {
                    meta name="robots" content="noindex";
                }
                title { (title) " · firebreak" }
                // The stylesheet is a constant of this crate, not anything a person typed.
                style { (PreEscaped(STYLE)) }
                @if matches!(viewer, Viewer::LoggedIn(_)) {
                    script src=(super::live::SCRIPT_URL.as_str()) defer {}
                }
            }
            body {
                header {
                    a.brand href="/incidents" { "firebreak" }
                    @if let Viewer::LoggedIn(session) = viewer {
                        (nav(session))
                    }
                }
                main { (body) }
            }
        }
    }
}

/// The header's navigation, with the log-out form and who is logged in.
fn nav(session: &Session) -> Markup {
    html! {
        nav {
            a href="/incidents" { "Incidents" }
            a href="/services" { "Services" }
            a href="/oncall" { "On call" }
            a href="/schedules" { "Schedules" }
            a href="/escalation-policies" { "Escalation policies" }
            a href="/people" { "People" }
            a href="/silences" { "Silences" }
            a href="/status" { "Status" }
            a href="/account" { "Account" }
            @if session.actor.is_admin() {
                a href="/audit" { "Audit log" }
            }
            form method="post" action="/logout" class="inline" {
                input type="hidden" name="csrf" value=(session.csrf);
                span.who { (session.actor.name()) }
                button.link { "Log out" }
            }
        }
    }
}

/// A page saying what went wrong, answered with the error's status.
pub(super) fn error_page(viewer: Viewer<'_>, err: ApiError) -> Response {
    layout(err.status, "Error", viewer, error_body(&err))
}

/// What the error page says: the kind of error, and what went wrong.
fn error_body(err: &ApiError) -> Markup {
    html! {
        h1 { (err.status.canonical_reason().unwrap_or("Error")) }
        p.error { (err.detail) }
        p { a href="/incidents" { "Back to incidents" } }
    }
}

/// The value of cookie `name`, if the request has it.
pub(super) fn cookie_value<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(name).and_then(|rest| rest.strip_prefix('=')))
}

/// Whether a submitted form token is the session's, compared in constant time. The form token is
/// derived from the session's secret, so it needs no storage, and is useless to anyone who does
/// not already have the session.
pub(super) fn csrf_matches(session: &Session, submitted: &str) -> bool {
    form_token_matches(submitted, &session.csrf)
}

/// The id in a page's path; anything else is a page that does not exist.
pub(super) fn page_id(text: &str, what: &str) -> Result<Id, ApiError> {
    text.parse().map_err(|_| ApiError::not_found(format!("there is no {what} {text:?}")))
}
#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::ui::login::login_form;

    /// Text that breaks out of an element or a double-quoted attribute, and an ampersand, unless it
    /// is escaped.
    pub(in crate::ui) const HOSTILE: &str = "<script>alert(1)</script>\"><img src=x onerror=alert(1)>'&";
    /// [`HOSTILE`] as it must appear in a page.
    pub(in crate::ui) const ESCAPED: &str =
        "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(1)&gt;'&amp;";

    /// Checks that `html` shows [`HOSTILE`] at least `places` times, each escaped, and never as it
    /// is. Attributes are always double-quoted, so the single quote needs no escaping.
    #[track_caller]
    pub(in crate::ui) fn assert_escaped(html: &str, places: usize) {
        // The one script element of the shell, loading the server's own file, is the only one.
        let shell_script = format!(r#"<script src="{}" defer></script>"#, *super::super::live::SCRIPT_URL);
        let html = &html.replacen(&shell_script, "", 1);
        // Markdown (notes, descriptions) is rendered with quotes left as they are in text, which
        // is as safe.
        let in_text = ESCAPED.replace("&quot;", "\"");
        let shown = html.matches(ESCAPED).count() + html.matches(in_text.as_str()).count();
        assert!(shown >= places, "the hostile text is shown {shown} times, not at least {places}: {html}");
        // Every `alert(1)` in the page is one of the two in an escaped copy.
        assert_eq!(html.matches("alert(1)").count(), 2 * shown, "a raw copy of the hostile text: {html}");
        for raw in ["<script", "</script", "<img", "alert(1)>"] {
            assert!(!html.contains(raw), "{raw:?} in {html}");
        }
        assert_eq!(html.matches("'&").count(), html.matches("'&amp;").count(), "a raw ampersand: {html}");
    }

    /// The time the pages in tests are rendered at.
    pub(in crate::ui) const NOW: &str = "2026-03-02T11:00:00Z";

    pub(in crate::ui) fn at(text: &str) -> jiff::Timestamp {
        text.parse().expect("test times are valid")
    }

    /// A team and two services, every name and description of which is [`HOSTILE`]; service 1
    /// depends on service 2 and has a link, a runbook with a script in it, and no documentation.
    pub(in crate::ui) fn catalog() -> Catalog {
        let service = |id: Id, dependencies: Vec<Id>| Service {
            id,
            name: format!("{id}{HOSTILE}"),
            team_id: 7,
            description: HOSTILE.to_owned(),
            documentation: String::new(),
            runbook: "Restart it.\n\n<script>alert(2)</script>".to_owned(),
            links: vec![firebreak_domain::Link {
                title: HOSTILE.to_owned(),
                url: format!("https://grafana.example/d/{HOSTILE}"),
            }],
            dependencies,
            created_at: at(NOW),
        };
        let team = Team { id: 7, name: HOSTILE.to_owned(), description: String::new(), created_at: at(NOW) };
        Catalog {
            services: [(1, service(1, vec![2])), (2, service(2, vec![]))].into_iter().collect(),
            teams: [(7, team)].into_iter().collect(),
            escalation_policies: HashMap::new(),
        }
    }

    /// A session of someone whose name is [`HOSTILE`].
    pub(in crate::ui) fn session() -> Session {
        Session { actor: Principal::with_grants(HOSTILE, Default::default()), csrf: form_token("fbs_test") }
    }

    #[test]
    fn every_page_has_the_one_content_security_policy() {
        let session = session();
        let pages = [
            ("logged in", layout(StatusCode::OK, "Incidents", Viewer::LoggedIn(&session), html! {})),
            (
                "login",
                layout(
                    StatusCode::UNAUTHORIZED,
                    "Log in",
                    Viewer::Anonymous,
                    login_form(&Default::default()),
                ),
            ),
            ("link", layout(StatusCode::GONE, "Link expired", Viewer::Link, html! {})),
            ("error", session.error(ApiError::not_found("there is no incident 9"))),
            ("anonymous error", error_page(Viewer::Anonymous, ApiError::bad_request("no"))),
        ];
        for (what, page) in pages {
            let headers = page.headers();
            assert_eq!(headers[header::CONTENT_SECURITY_POLICY], CSP, "{what}");
            assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{what}");
            assert_eq!(headers[header::CACHE_CONTROL], "no-store", "{what}");
            assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8", "{what}");
            let referrer = if what == "link" { "no-referrer" } else { "same-origin" };
            assert_eq!(headers[header::REFERRER_POLICY], referrer, "{what}");
        }
    }

    #[test]
    fn the_shell_escapes_the_title_and_who_is_logged_in() {
        let session = session();
        let html = document(HOSTILE, &Viewer::LoggedIn(&session), html! { p { (HOSTILE) } }).into_string();
        assert_escaped(&html, 3);
        assert!(html.contains(&format!(r#"<input type="hidden" name="csrf" value="{}">"#, session.csrf)));
        assert!(html.contains(r#"<form method="post" action="/logout" class="inline">"#), "{html}");
        assert!(!html.contains("noindex"), "{html}");
    }

    #[test]
    fn link_pages_have_no_navigation_and_are_not_indexed() {
        let html = document(HOSTILE, &Viewer::Link, html! {}).into_string();
        assert_escaped(&html, 1);
        assert!(html.contains(r#"<meta name="robots" content="noindex">"#), "{html}");
        assert!(!html.contains("<nav>") && !html.contains("/logout"), "{html}");
    }

    #[test]
    fn the_error_page_escapes_the_error() {
        let err = ApiError::not_found(format!("there is no service {HOSTILE}"));
        let html = error_body(&err).into_string();
        assert_escaped(&html, 1);
        assert!(html.starts_with("<h1>Not Found</h1>"), "{html}");
        assert_eq!(error_page(Viewer::Anonymous, err).status(), StatusCode::NOT_FOUND);
    }

    #[test]
    fn the_form_token_is_derived_from_the_session_token() {
        let token = form_token("fbt_one");
        assert_eq!(token.len(), 32);
        assert_eq!(token, form_token("fbt_one"));
        assert_ne!(token, form_token("fbt_two"));
        let session =
            Session { actor: Principal::with_grants("ana", Default::default()), csrf: token.clone() };
        assert!(csrf_matches(&session, &token));
        assert!(!csrf_matches(&session, &form_token("fbt_two")));
        assert!(!csrf_matches(&session, ""));
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        assert_eq!(cookie_value(&headers, COOKIE), None);
        headers.append(header::COOKIE, HeaderValue::from_static("theme=dark; firebreak_session=fbs_abc"));
        assert_eq!(cookie_value(&headers, COOKIE), Some("fbs_abc"));
    }
}
