//! A person's own account: their password and their API tokens (made, listed, revoked; a new
//! token is shown once); and, for administrators, the audit log.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use firebreak_api::{self as api, Ref};
use firebreak_app::access::{TokenInfo, TokenRequest};
use maud::{Markup, html};

use super::format::{format_time, table_head};
use super::forms::{Fields, csrf_field, done, parse_id, problem, text_input};
use super::page::{Page, Session};
use crate::error::ApiError;
use crate::extract::{Form, Query};
use crate::state::Shared;

type Posted = Form<Vec<(String, String)>>;

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/account", get(account_page))
        .route("/account/password", post(change_password))
        .route("/account/tokens", post(create_token))
        .route("/account/tokens/{id}/revoke", post(revoke_token))
        .route("/audit", get(audit_page))
}

async fn account_page(State(server): State<Shared>, session: Session) -> Page {
    account(&server, &session, StatusCode::OK, None, None).await
}

/// The account page, answered with `status`, showing `error` or a token just made.
async fn account(
    server: &Shared,
    session: &Session,
    status: StatusCode,
    error: Option<&ApiError>,
    new_token: Option<&str>,
) -> Page {
    let tokens = server.api_tokens(&session.actor).await.unwrap_or_default();
    Ok(session.page_with(status, "Account", account_body(session, &tokens, error, new_token)))
}

fn account_body(
    session: &Session,
    tokens: &[TokenInfo],
    error: Option<&ApiError>,
    new_token: Option<&str>,
) -> Markup {
    html! {
        h1 { "Account: " (session.actor.name()) }
        (problem(error))
        @if let Some(token) = new_token {
            p.ok role="status" { "Your new token, shown this once: " code #new-token { (token) } }
        }
        @if session.actor.user_id().is_some() {
            h2 { "Password" }
            form.edit #password-form method="post" action="/account/password" {
                (csrf_field(session))
                label.field { "New password (at least 12 characters; a few unrelated words work well)"
                    input name="password" type="password" autocomplete="new-password" required;
                }
                div.buttons { button.primary #change-password { "Change password" } }
            }
        }
        h2 { "API tokens" }
        p.hint { "A token acts as you, with at most the role it was made with; the API and the command line take it as "
            code { "Authorization: Bearer …" } "." }
        @if tokens.is_empty() {
            p.empty #tokens { "No tokens." }
        } @else {
            div.scroll {
                table #tokens {
                    (table_head(&["Name", "Role", "Created", "Last used", "Expires", ""]))
                    tbody {
                        @for token in tokens {
                            tr {
                                td { (token.name) }
                                td { (token.role) }
                                td { (format_time(token.created_at)) }
                                td { (token.last_used_at.map_or_else(|| "never".to_owned(), format_time)) }
                                td { (token.expires_at.map_or_else(|| "never".to_owned(), format_time)) }
                                td {
                                    form.inline method="post" action={ "/account/tokens/" (token.id) "/revoke" } {
                                        (csrf_field(session))
                                        button.link { "Revoke" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        form.edit.inline-fields #token-form method="post" action="/account/tokens" {
            (csrf_field(session))
            (text_input("New token named", "name", "", ""))
            label.field { "Role"
                select name="role" {
                    option value="" selected { "mine" }
                    @for role in ["owner", "responder", "viewer", "stakeholder"] {
                        option value=(role) { (role) }
                    }
                }
            }
            div.buttons { button #create-token { "Create token" } }
        }
    }
}

async fn change_password(State(server): State<Shared>, session: Session, Form(fields): Posted) -> Page {
    let fields = Fields(fields);
    fields.check(&session).map_err(|err| session.error(err))?;
    let Some(user) = session.actor.user_id() else {
        return Err(session.error(ApiError::bad_request("this session is not a person's")));
    };
    match server.set_password(&session.actor, &Ref::Id(user), fields.get("password")).await {
        // Changing the password ends every session, this one too.
        Ok(()) => Ok(done("/login")),
        Err(err) => {
            let err = ApiError::from(err);
            account(&server, &session, err.status, Some(&err), None).await
        }
    }
}

async fn create_token(State(server): State<Shared>, session: Session, Form(fields): Posted) -> Page {
    let fields = Fields(fields);
    fields.check(&session).map_err(|err| session.error(err))?;
    let role = Some(fields.get("role")).filter(|role| !role.is_empty()).map(str::to_owned);
    let request = TokenRequest { name: fields.get("name").to_owned(), role, ..TokenRequest::default() };
    match server.create_api_token(&session.actor, request).await {
        Ok((_, token)) => account(&server, &session, StatusCode::CREATED, None, Some(&token)).await,
        Err(err) => {
            let err = ApiError::from(err);
            account(&server, &session, err.status, Some(&err), None).await
        }
    }
}

async fn revoke_token(
    State(server): State<Shared>,
    crate::extract::Path(id): crate::extract::Path<String>,
    session: Session,
    Form(fields): Posted,
) -> Page {
    let fields = Fields(fields);
    fields.check(&session).map_err(|err| session.error(err))?;
    let id = parse_id("token", &id).map_err(|err| session.error(err))?;
    server.revoke_api_token(&session.actor, id).await.map_err(|err| session.error(err.into()))?;
    Ok(done("/account"))
}

async fn audit_page(
    State(server): State<Shared>,
    session: Session,
    Query(query): Query<api::AuditQuery>,
) -> Page {
    let entries =
        server.audit_entries(&session.actor, &query).await.map_err(|err| session.error(err.into()))?;
    Ok(session.page("Audit log", audit_body(&query, &entries)))
}

fn audit_body(query: &api::AuditQuery, entries: &[api::AuditEntry]) -> Markup {
    let value = |text: &Option<String>| text.clone().unwrap_or_default();
    html! {
        h1 { "Audit log" }
        form.edit.inline-fields #audit-filter method="get" action="/audit" {
            (text_input("Who", "actor", &value(&query.actor), ""))
            (text_input("What", "object", &value(&query.object), "such as service:12, or service"))
            (text_input("Since", "since", &value(&query.since), "RFC 3339"))
            div.buttons { button #filter { "Filter" } }
        }
        @if entries.is_empty() {
            p.empty #audit { "Nothing recorded." }
        } @else {
            div.scroll {
                table #audit {
                    (table_head(&["When", "Who", "From", "Did", "To", "Change"]))
                    tbody {
                        @for entry in entries {
                            tr {
                                td { (format_time(entry.at)) }
                                td { (entry.actor) }
                                td { (entry.address) }
                                td { (entry.action) }
                                td { (entry.object) }
                                td {
                                    @if let Some(before) = &entry.before { code { "before: " (before.to_string()) } br; }
                                    @if let Some(after) = &entry.after { code { "after: " (after.to_string()) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
