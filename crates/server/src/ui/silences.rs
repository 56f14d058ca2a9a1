//! Silences in the web UI: the silences that have not ended, each with a button that ends it now,
//! and the form that makes one (matchers one per line, for a while, on one service or all). A
//! refused form comes back with what was typed and the application's message.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use firebreak_api::{self as api, Ref};
use firebreak_domain::{Id, Silence};
use maud::{Markup, html};

use super::format::{format_time, table_head};
use super::forms::{
    Fields, csrf_field, done, parse_number, problem, select, status_of, text_area, text_input,
};
use super::page::{Catalog, Page, Session, page_id};
use crate::error::ApiError;
use crate::extract::{Form, Path};
use crate::state::Shared;

type Posted = Form<Vec<(String, String)>>;

/// How long a new silence lasts unless the form says otherwise, in minutes.
const DEFAULT_MINUTES: &str = "60";

/// What the form to make a silence holds.
struct Draft {
    service: String,
    matchers: String,
    minutes: String,
    comment: String,
}

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/silences", get(silences_page).post(create_silence))
        .route("/silences/{id}/expire", post(expire_silence))
}

async fn silences_page(State(server): State<Shared>, session: Session) -> Page {
    let draft = Draft {
        service: String::new(),
        matchers: String::new(),
        minutes: DEFAULT_MINUTES.to_owned(),
        comment: String::new(),
    };
    page(&server, &session, &draft, None).await
}

async fn create_silence(State(server): State<Shared>, session: Session, Form(fields): Posted) -> Page {
    let fields = Fields(fields);
    fields.check(&session).map_err(|err| session.error(err))?;
    let draft = Draft {
        service: fields.get("service").to_owned(),
        matchers: fields.get("matchers").to_owned(),
        minutes: fields.get("minutes").to_owned(),
        comment: fields.get("comment").to_owned(),
    };
    let result = async {
        let body = api::CreateSilence {
            service: Some(draft.service.trim()).filter(|s| !s.is_empty()).map(Ref::parse),
            matchers: draft
                .matchers
                .lines()
                .map(str::trim)
                .filter(|m| !m.is_empty())
                .map(str::to_owned)
                .collect(),
            starts_at: None,
            ends_at: None,
            duration_minutes: Some(parse_number("minutes", &draft.minutes)?),
            comment: draft.comment.clone(),
        };
        server.create_silence(&session.actor, body).await?;
        Ok::<_, ApiError>(())
    }
    .await;
    match result {
        Ok(()) => Ok(done("/silences")),
        Err(err) => page(&server, &session, &draft, Some(&err)).await,
    }
}

async fn expire_silence(
    State(server): State<Shared>,
    Path(id): Path<String>,
    session: Session,
    Form(fields): Posted,
) -> Page {
    let fields = Fields(fields);
    fields.check(&session).map_err(|err| session.error(err))?;
    let result = async {
        let id = page_id(&id, "silence")?;
        server.expire_silence(&session.actor, id).await?;
        Ok::<_, ApiError>(())
    }
    .await;
    match result {
        Ok(()) => Ok(done("/silences")),
        Err(err) => Err(session.error(err)),
    }
}

/// The silences page, with `error` shown on the form when the last one was refused.
async fn page(
    server: &Shared,
    session: &Session,
    draft: &Draft,
    error: Option<&ApiError>,
) -> Result<Response, Response> {
    let silences = server.silences().await.map_err(|err| session.error(err.into()))?;
    let catalog = Catalog::load(server).await.map_err(|err| session.error(err))?;
    let body = silences_body(session, &silences, &catalog, draft, error);
    Ok(session.page_with(status_of(error), "Silences", body))
}

fn silences_body(
    session: &Session,
    silences: &[Silence],
    catalog: &Catalog,
    draft: &Draft,
    error: Option<&ApiError>,
) -> Markup {
    let service_name = |id: Option<Id>| match id {
        Some(id) => catalog.services.get(&id).map_or_else(|| id.to_string(), |s| s.name.clone()),
        None => "every service".to_owned(),
    };
    let mut services: Vec<(String, String)> = vec![(String::new(), "every service".to_owned())];
    let mut named: Vec<(String, String)> =
        catalog.services.values().map(|s| (s.id.to_string(), s.name.clone())).collect();
    named.sort_by(|a, b| a.1.cmp(&b.1));
    services.extend(named);
    html! {
        h1 { "Silences" }
        p.hint { "A silence keeps matching alerts from opening or joining incidents while it lasts; they are still recorded." }
        @if silences.is_empty() {
            p.empty #silences { "No silences: every alert can page." }
        } @else {
            div.scroll {
                table #silences {
                    (table_head(&["Matchers", "Service", "From", "Until", "Comment", "By", ""]))
                    tbody {
                        @for silence in silences {
                            tr {
                                td.address {
                                    @for matcher in &silence.matchers { div { (matcher.to_string()) } }
                                }
                                td { (service_name(silence.service_id)) }
                                td.nowrap { (format_time(silence.starts_at)) }
                                td.nowrap { (format_time(silence.ends_at)) }
                                td { (silence.comment) }
                                td { (silence.created_by) }
                                td {
                                    form.inline method="post" action={ "/silences/" (silence.id) "/expire" } {
                                        (csrf_field(session))
                                        button.link { "Expire now" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { "New silence" }
        (problem(error))
        form.edit #silence-form method="post" action="/silences" {
            (csrf_field(session))
            (text_area("Matchers", "matchers", &draft.matchers, 3, "one per line: alertname=DiskFull, instance=~db-.*, severity!=info"))
            (select("Service", "service", &services, &[draft.service.as_str()], false, ""))
            (text_input("For (minutes)", "minutes", &draft.minutes, "1 to 525600"))
            (text_input("Comment", "comment", &draft.comment, "why, for whoever wonders later"))
            div.buttons { button.primary #save { "Silence" } }
        }
    }
}
