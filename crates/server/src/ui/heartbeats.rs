//! A service's heartbeat checks in the web UI: each check's state, what it expects, its ping URL
//! and a bar of its last pings (oldest on the left), with buttons that pause, resume and delete it,
//! and the form that makes one. A refused form comes back with what was typed and the message.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use firebreak_api::{self as api, Ref};
use firebreak_app::heartbeats::CheckView;
use firebreak_domain::{Id, PingKind};
use maud::{Markup, html};

use super::format::{format_time, table_head};
use super::forms::{Fields, csrf_field, done, parse_number, problem, status_of, text_input};
use super::page::{Page, Session, page_id};
use crate::error::ApiError;
use crate::extract::{Form, Path};
use crate::state::Shared;

type Posted = Form<Vec<(String, String)>>;

/// What the form to make a check holds.
struct Draft {
    name: String,
    period_minutes: String,
    cron: String,
    time_zone: String,
    grace_minutes: String,
    failures: String,
}

impl Draft {
    fn empty() -> Draft {
        Draft {
            name: String::new(),
            period_minutes: "60".to_owned(),
            cron: String::new(),
            time_zone: String::new(),
            grace_minutes: "10".to_owned(),
            failures: "1".to_owned(),
        }
    }
}

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/services/{id}/heartbeats", get(checks_page).post(create_check))
        .route("/heartbeats/{id}/pause", post(pause_check))
        .route("/heartbeats/{id}/resume", post(resume_check))
        .route("/heartbeats/{id}/delete", post(delete_check))
}

async fn checks_page(State(server): State<Shared>, Path(id): Path<String>, session: Session) -> Page {
    let id = page_id(&id, "service").map_err(|err| session.error(err))?;
    page(&server, &session, id, &Draft::empty(), None).await
}

async fn create_check(
    State(server): State<Shared>,
    Path(id): Path<String>,
    session: Session,
    Form(fields): Posted,
) -> Page {
    let id = page_id(&id, "service").map_err(|err| session.error(err))?;
    let fields = Fields(fields);
    fields.check(&session).map_err(|err| session.error(err))?;
    let draft = Draft {
        name: fields.get("name").to_owned(),
        period_minutes: fields.get("period_minutes").to_owned(),
        cron: fields.get("cron").to_owned(),
        time_zone: fields.get("time_zone").to_owned(),
        grace_minutes: fields.get("grace_minutes").to_owned(),
        failures: fields.get("failures_to_alert").to_owned(),
    };
    let result = async {
        let cron = Some(draft.cron.trim().to_owned()).filter(|c| !c.is_empty());
        let period_seconds = match cron {
            Some(_) => None,
            None => Some(parse_number::<i64>("period_minutes", &draft.period_minutes)?.saturating_mul(60)),
        };
        let body = api::CreateHeartbeat {
            name: draft.name.trim().to_owned(),
            service: Ref::Id(id),
            slug: None,
            period_seconds,
            time_zone: cron.as_ref().and(Some(draft.time_zone.trim().to_owned())).filter(|z| !z.is_empty()),
            cron,
            grace_seconds: parse_number::<i64>("grace_minutes", &draft.grace_minutes)?.saturating_mul(60),
            failures_to_alert: Some(parse_number::<u32>("failures_to_alert", &draft.failures)?),
            severity: None,
        };
        server.create_heartbeat(&session.actor, body).await?;
        Ok::<_, ApiError>(())
    }
    .await;
    match result {
        Ok(()) => Ok(done(&format!("/services/{id}/heartbeats"))),
        Err(err) => page(&server, &session, id, &draft, Some(&err)).await,
    }
}

/// What a button on a check does.
enum Act {
    Pause,
    Resume,
    Delete,
}

async fn act(server: &Shared, session: &Session, id: &str, fields: Vec<(String, String)>, act: Act) -> Page {
    let fields = Fields(fields);
    fields.check(session).map_err(|err| session.error(err))?;
    let result = async {
        let id = page_id(id, "heartbeat check")?;
        let service = server.heartbeat(id).await?.check.service_id;
        match act {
            Act::Pause => drop(server.pause_heartbeat(&session.actor, id, true).await?),
            Act::Resume => drop(server.pause_heartbeat(&session.actor, id, false).await?),
            Act::Delete => server.delete_heartbeat(&session.actor, id).await?,
        }
        Ok::<_, ApiError>(service)
    }
    .await;
    match result {
        Ok(service) => Ok(done(&format!("/services/{service}/heartbeats"))),
        Err(err) => Err(session.error(err)),
    }
}

async fn pause_check(
    State(server): State<Shared>,
    Path(id): Path<String>,
    session: Session,
    Form(f): Posted,
) -> Page {
    act(&server, &session, &id, f, Act::Pause).await
}

async fn resume_check(
    State(server): State<Shared>,
    Path(id): Path<String>,
    session: Session,
    Form(f): Posted,
) -> Page {
    act(&server, &session, &id, f, Act::Resume).await
}

async fn delete_check(
    State(server): State<Shared>,
    Path(id): Path<String>,
    session: Session,
    Form(f): Posted,
) -> Page {
    act(&server, &session, &id, f, Act::Delete).await
}

/// The checks page of service `id`, with `error` shown on the form when the last one was refused.
async fn page(
    server: &Shared,
    session: &Session,
    id: Id,
    draft: &Draft,
    error: Option<&ApiError>,
) -> Result<Response, Response> {
    let service = server.service(&Ref::Id(id)).await.map_err(|err| session.error(err.into()))?;
    let mut checks = Vec::new();
    for check in server.heartbeats(Some(&Ref::Id(id))).await.map_err(|err| session.error(err.into()))? {
        checks.push(server.heartbeat(check.check.id).await.map_err(|err| session.error(err.into()))?);
    }
    let body = body(session, &service.service.name, id, &checks, draft, error);
    Ok(session.page_with(status_of(error), &format!("Heartbeats of {}", service.service.name), body))
}

fn expects(view: &CheckView) -> String {
    let grace = view.check.grace.as_secs() / 60;
    match view.check.expect.cron_text() {
        Some((cron, zone)) => format!("cron {cron} ({zone}), {grace} min grace"),
        None => format!(
            "every {} min, {grace} min grace",
            view.check.expect.period_seconds().unwrap_or_default() / 60
        ),
    }
}

/// The last pings as a bar of cells, oldest first: green a success, red a failure, blue a start,
/// grey a log message; each says what it was in its title.
fn ping_bar(view: &CheckView) -> Markup {
    let pings = view.pings.as_deref().unwrap_or_default();
    html! {
        span.pingbar {
            @for ping in pings.iter().rev() {
                @let class = match ping.kind {
                    PingKind::Success => "ok",
                    PingKind::Fail => "fail",
                    PingKind::Start => "start",
                    PingKind::Log => "log",
                };
                @let exit = ping.exit_status.map_or_else(String::new, |s| format!(" exit {s}"));
                span class=(class) title={ (ping.kind.as_str()) (exit) " at " (format_time(ping.at)) } {}
            }
        }
    }
}

fn body(
    session: &Session,
    service: &str,
    service_id: Id,
    checks: &[CheckView],
    draft: &Draft,
    error: Option<&ApiError>,
) -> Markup {
    html! {
        div.page-head {
            h1 { "Heartbeats of " a href={ "/services/" (service_id) } { (service) } }
        }
        p.hint { "A job pings its check's URL when it runs (with curl, say); a check with no ping by the time it expects one, plus its grace, is down and opens an incident of kind silent." }
        @if checks.is_empty() {
            p.empty #heartbeats { "No heartbeat checks yet." }
        } @else {
            div.scroll {
                table #heartbeats {
                    (table_head(&["Check", "State", "Expects", "Last pings", "Last ping", "Ping URL", ""]))
                    tbody {
                        @for view in checks {
                            @let state = view.state.as_str();
                            tr {
                                td { (view.check.name) }
                                td { span class={ "status hb-" (state) } { (state) } }
                                td { (expects(view)) }
                                td { (ping_bar(view)) }
                                td.nowrap { (view.check.seen.last_ping_at.map_or_else(|| "never".to_owned(), format_time)) }
                                td { code { (view.ping_url) } }
                                td.nowrap {
                                    @let id = view.check.id;
                                    @if state == "paused" {
                                        form.inline method="post" action={ "/heartbeats/" (id) "/resume" } {
                                            (csrf_field(session)) button { "Resume" }
                                        }
                                    } @else {
                                        form.inline method="post" action={ "/heartbeats/" (id) "/pause" } {
                                            (csrf_field(session)) button { "Pause" }
                                        }
                                    }
                                    form.inline method="post" action={ "/heartbeats/" (id) "/delete" } {
                                        (csrf_field(session)) button.danger { "Delete" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { "New check" }
        form.edit #new-heartbeat method="post" action={ "/services/" (service_id) "/heartbeats" } {
            (csrf_field(session))
            (problem(error))
            (text_input("Name", "name", &draft.name, "Such as nightly-backup; the slug URL uses it."))
            (text_input("Every (minutes)", "period_minutes", &draft.period_minutes, "How often the job runs; left as is when a cron expression is given."))
            (text_input("Or cron", "cron", &draft.cron, "Five fields, such as 0 3 * * *."))
            (text_input("Time zone", "time_zone", &draft.time_zone, "Of the cron expression, such as Europe/Berlin; UTC when empty."))
            (text_input("Grace (minutes)", "grace_minutes", &draft.grace_minutes, "How late a ping may be before the check is down."))
            (text_input("Failures to alert", "failures_to_alert", &draft.failures, "Failures in a row that make the check down."))
            div.buttons { button.primary { "Create check" } }
        }
    }
}
