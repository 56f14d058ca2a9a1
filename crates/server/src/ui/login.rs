//! Logging in and out of the web UI with an API token, kept in an `HttpOnly`, `SameSite=Strict`
//! cookie.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;

use super::page::{COOKIE, Viewer, error_page, layout};
use crate::error::ApiError;
use crate::extract::Form;
use crate::state::Shared;

#[derive(Deserialize)]
struct LoginQuery {
    expired: Option<String>,
}

#[derive(Deserialize)]
struct LoginForm {
    token: String,
}

pub(super) fn routes() -> Router<Shared> {
    Router::new().route("/login", get(login_page).post(login)).route("/logout", post(logout))
}

async fn login_page(Query(query): Query<LoginQuery>) -> Response {
    let notice = query.expired.is_some().then_some("That token is not valid (any more). Log in again.");
    layout(StatusCode::OK, "Log in", Viewer::Anonymous, login_form(notice))
}

pub(super) fn login_form(notice: Option<&str>) -> Markup {
    html! {
        section.login {
            h1 { "Log in" }
            @if let Some(notice) = notice {
                p.error { (notice) }
            }
            form method="post" action="/login" {
                label for="token" { "API token" }
                input #token name="token" type="password" autocomplete="current-password" required autofocus;
                button.primary #login { "Log in" }
            }
            p.hint { "Create a token with " code { "firebreak token create --name YOUR-NAME" } "." }
        }
    }
}

async fn login(State(server): State<Shared>, Form(form): Form<LoginForm>) -> Response {
    let token = form.token.trim();
    match server.authenticate(token).await.map_err(ApiError::from) {
        Ok(_) => {
            let cookie = format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=2592000");
            let mut response = Redirect::to("/incidents").into_response();
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().insert(header::SET_COOKIE, value);
            }
            response
        }
        Err(err) if err.status == StatusCode::UNAUTHORIZED => layout(
            StatusCode::UNAUTHORIZED,
            "Log in",
            Viewer::Anonymous,
            login_form(Some("That token is not valid.")),
        ),
        Err(err) => error_page(Viewer::Anonymous, err),
    }
}

async fn logout() -> Response {
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("firebreak_token=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    response
}
