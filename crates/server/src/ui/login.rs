//! Logging in and out: with a name and password, with an OpenID Connect provider, and, while
//! nobody can log in yet, creating the first administrator with the setup code in the server's log.
//!
//! A session's secret is kept in an `HttpOnly`, `SameSite=Lax` cookie, `Secure` when the server is
//! reached over HTTPS. The login forms, which come before any session, carry a token that must
//! equal a random one in a cookie of their own (a double-submit check), so another site cannot log
//! someone in as somebody else; the log-out form carries the session's form token.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use firebreak_app::access::{NewSession, form_token_matches, new_form_secret};
use maud::{Markup, html};
use serde::Deserialize;

use super::forms::Fields;
use super::page::{COOKIE, Session, Viewer, cookie_value, error_page, layout};
use crate::error::ApiError;
use crate::extract::Form;
use crate::state::Shared;

/// The cookie of the login forms' double-submit check.
const LOGIN_COOKIE: &str = "firebreak_login";
/// The cookie that ties a sign-in with the OpenID provider to the browser that began it.
const OIDC_COOKIE: &str = "firebreak_oidc";

#[derive(Deserialize)]
struct LoginQuery {
    expired: Option<String>,
    setup: Option<String>,
}

#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/login/setup", post(setup))
        .route("/logout", post(logout))
        .route("/auth/oidc/start", get(oidc_start))
        .route(firebreak_app::oidc::CALLBACK_PATH, get(oidc_callback))
}

/// What the login page shows around its form.
#[derive(Default)]
pub(super) struct LoginView<'a> {
    pub(super) notice: Option<&'a str>,
    pub(super) name: &'a str,
    pub(super) csrf: &'a str,
    pub(super) oidc: bool,
}

async fn login_page(State(server): State<Shared>, Query(query): Query<LoginQuery>) -> Response {
    let csrf = new_form_secret();
    if let Some(code) = &query.setup {
        return match server.needs_first_admin().await {
            Ok(true) => with_login_cookie(
                &server,
                layout(
                    StatusCode::OK,
                    "Create the first administrator",
                    Viewer::Anonymous,
                    setup_form(code, &csrf, None),
                ),
                &csrf,
            ),
            Ok(false) => Redirect::to("/login").into_response(),
            Err(err) => error_page(Viewer::Anonymous, err.into()),
        };
    }
    let notice = query.expired.is_some().then_some("Your session ended. Log in again.");
    let view = LoginView { notice, csrf: &csrf, oidc: server.oidc_configured(), ..LoginView::default() };
    with_login_cookie(&server, layout(StatusCode::OK, "Log in", Viewer::Anonymous, login_form(&view)), &csrf)
}

pub(super) fn login_form(view: &LoginView<'_>) -> Markup {
    html! {
        section.login {
            h1 { "Log in" }
            @if let Some(notice) = view.notice {
                p.error { (notice) }
            }
            form method="post" action="/login" {
                input type="hidden" name="csrf" value=(view.csrf);
                label for="name" { "Name" }
                input #name name="name" type="text" autocomplete="username" value=(view.name) required autofocus;
                label for="password" { "Password" }
                input #password name="password" type="password" autocomplete="current-password" required;
                button.primary #login { "Log in" }
            }
            @if view.oidc {
                p { a.button #oidc href="/auth/oidc/start" { "Sign in with single sign-on" } }
            }
            p.hint { "No password yet? Ask an administrator, or run " code { "firebreak user set-password NAME" } "." }
        }
    }
}

fn setup_form(code: &str, csrf: &str, notice: Option<&str>) -> Markup {
    html! {
        section.login {
            h1 { "Create the first administrator" }
            @if let Some(notice) = notice {
                p.error { (notice) }
            }
            form method="post" action="/login/setup" {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="code" value=(code);
                label for="name" { "Name" }
                input #name name="name" type="text" autocomplete="username" required autofocus;
                label for="email" { "Email" }
                input #email name="email" type="email" autocomplete="email" required;
                label for="password" { "Password (at least 12 characters; a few unrelated words work well)" }
                input #password name="password" type="password" autocomplete="new-password" required;
                button.primary #create { "Create and log in" }
            }
        }
    }
}

/// Whether the form's token equals the one in the login cookie.
fn login_csrf_ok(headers: &HeaderMap, fields: &Fields) -> bool {
    cookie_value(headers, LOGIN_COOKIE)
        .is_some_and(|kept| !kept.is_empty() && form_token_matches(fields.get("csrf"), kept))
}

fn expired_form() -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "forbidden", "the form has expired; reload the page and try again")
}

async fn login(
    State(server): State<Shared>,
    parts: Parts,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let fields = Fields(fields);
    if !login_csrf_ok(&parts.headers, &fields) {
        return error_page(Viewer::Anonymous, expired_form());
    }
    let address = crate::auth::client_address(&parts.extensions);
    let name = fields.get("name");
    match server.login(name, fields.get("password"), &address).await.map_err(ApiError::from) {
        Ok(session) => logged_in(&server, &session),
        Err(err) if matches!(err.status, StatusCode::UNAUTHORIZED | StatusCode::TOO_MANY_REQUESTS) => {
            let csrf = new_form_secret();
            let view =
                LoginView { notice: Some(&err.detail), name, csrf: &csrf, oidc: server.oidc_configured() };
            let mut response = with_login_cookie(
                &server,
                layout(err.status, "Log in", Viewer::Anonymous, login_form(&view)),
                &csrf,
            );
            if let Some(seconds) = err.retry_after {
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            }
            response
        }
        Err(err) => error_page(Viewer::Anonymous, err),
    }
}

async fn setup(
    State(server): State<Shared>,
    parts: Parts,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let fields = Fields(fields);
    if !login_csrf_ok(&parts.headers, &fields) {
        return error_page(Viewer::Anonymous, expired_form());
    }
    let address = crate::auth::client_address(&parts.extensions);
    let body = firebreak_api::CreateUser {
        name: fields.get("name").to_owned(),
        email: fields.get("email").to_owned(),
        time_zone: None,
    };
    match server.create_first_admin(fields.get("code"), body, fields.get("password"), &address).await {
        Ok(session) => logged_in(&server, &session),
        Err(err) => {
            let err = ApiError::from(err);
            let csrf = new_form_secret();
            let page = layout(
                err.status,
                "Create the first administrator",
                Viewer::Anonymous,
                setup_form(fields.get("code"), &csrf, Some(&err.detail)),
            );
            with_login_cookie(&server, page, &csrf)
        }
    }
}

async fn logout(
    State(server): State<Shared>,
    session: Session,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let fields = Fields(fields);
    if let Err(err) = fields.check(&session) {
        return session.error(err);
    }
    if let Err(err) = server.logout(&session.actor).await {
        return session.error(err.into());
    }
    let mut response = Redirect::to("/login").into_response();
    set_cookie(&mut response, &cookie(&server, COOKIE, "", "/", Some(0)));
    response
}

async fn oidc_start(State(server): State<Shared>) -> Response {
    match server.oidc_start().await {
        Ok(start) => {
            let mut response = Redirect::to(&start.authorize_url).into_response();
            let max_age = firebreak_app::oidc::LOGIN_WAIT.as_secs();
            set_cookie(
                &mut response,
                &cookie(&server, OIDC_COOKIE, &start.state, "/auth/oidc", Some(max_age)),
            );
            response
        }
        Err(err) => error_page(Viewer::Anonymous, err.into()),
    }
}

async fn oidc_callback(
    State(server): State<Shared>,
    parts: Parts,
    Query(query): Query<CallbackQuery>,
) -> Response {
    let refused = |detail: String| {
        let view =
            LoginView { notice: Some(&detail), oidc: server.oidc_configured(), ..LoginView::default() };
        layout(StatusCode::UNAUTHORIZED, "Log in", Viewer::Anonymous, login_form(&view))
    };
    if let Some(error) = &query.error {
        let detail = query.error_description.as_deref().unwrap_or("");
        return refused(format!("The OpenID provider refused the sign-in: {error} {detail}"));
    }
    let (Some(code), Some(state)) = (&query.code, &query.state) else {
        return refused(
            "The OpenID provider sent the browser back without a code; sign in again.".to_owned(),
        );
    };
    let address = crate::auth::client_address(&parts.extensions);
    let kept = cookie_value(&parts.headers, OIDC_COOKIE);
    match server.oidc_finish(code, state, kept, &address).await.map_err(ApiError::from) {
        Ok(session) => {
            let mut response = logged_in(&server, &session);
            let clear = cookie(&server, OIDC_COOKIE, "", "/auth/oidc", Some(0));
            response
                .headers_mut()
                .append(header::SET_COOKIE, HeaderValue::from_str(&clear).expect("a cookie is a header"));
            response
        }
        Err(err) if err.status == StatusCode::UNAUTHORIZED => refused(err.detail),
        Err(err) => error_page(Viewer::Anonymous, err),
    }
}

/// The answer to a successful login: the session's cookie, and the incident list.
fn logged_in(server: &Shared, session: &NewSession) -> Response {
    let mut response = Redirect::to("/incidents").into_response();
    set_cookie(&mut response, &cookie(server, COOKIE, &session.secret, "/", None));
    response
}

fn with_login_cookie(server: &Shared, mut response: Response, csrf: &str) -> Response {
    set_cookie(&mut response, &cookie(server, LOGIN_COOKIE, csrf, "/login", None));
    response
}

/// A `Set-Cookie` value: `HttpOnly`, `SameSite=Lax`, `Secure` when people reach the server over
/// HTTPS; a session cookie (ending with the browser) unless `max_age` says otherwise.
fn cookie(server: &Shared, name: &str, value: &str, path: &str, max_age: Option<i64>) -> String {
    let secure = if server.public_url().starts_with("https://") { "; Secure" } else { "" };
    let max_age = max_age.map_or(String::new(), |seconds| format!("; Max-Age={seconds}"));
    format!("{name}={value}; Path={path}; HttpOnly; SameSite=Lax{secure}{max_age}")
}

fn set_cookie(response: &mut Response, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}
