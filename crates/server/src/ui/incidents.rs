//! The incident list and an incident's page: its actions, alerts, the pages sent for it, what
//! moved around its start, its timeline and its facts; and the form posts that act on it.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use firebreak_domain::{self as domain, Alert, Command, Id, Incident, Status, TimelineEntry};
use jiff::{SignedDuration, Timestamp};
use maud::{Markup, PreEscaped, html};
use serde::Deserialize;

use super::chart::{SignalChart, anomaly_spans, chart};
use super::format::{age, format_time, service_link, table_head, time_until};
use super::live;
use super::page::{Catalog, Page, Session, csrf_matches, page_id};
use crate::error::ApiError;
use crate::extract::{Form, Path};
use crate::state::Shared;
use firebreak_api::{IncidentQuery, Ref};
use firebreak_app::paging::{Notification, PagingSummary, shown_address};
use firebreak_app::signals::short;
use firebreak_engine::EscalationState;

/// Most incidents listed on one page of the incident list.
const LIST_PAGE_INCIDENTS: u32 = 100;
/// Most alerts listed on an incident's page.
const INCIDENT_ALERTS_MAX: u32 = 100;
/// Longest last error shown in full on an incident's page; the rest is in its tooltip.
const PAGE_ERROR_CHARS_MAX: usize = 120;
/// Minutes of golden-signal history shown before an incident started.
const MOVED_BEFORE_MINS: i64 = 60;
/// Minutes of golden-signal history shown after an incident started, as far as there is any.
const MOVED_AFTER_MINS: i64 = 30;
/// The tabs of the incident list, each a value of its `status` parameter.
const TABS: [&str; 6] = ["open", "triggered", "acknowledged", "mitigated", "resolved", "all"];

#[derive(Deserialize)]
struct ListParams {
    status: Option<String>,
    cursor: Option<String>,
    /// Set by the live list: answer only the list, not the page.
    fragment: Option<String>,
}

#[derive(Deserialize)]
struct IncidentParams {
    /// `timeline` for the live timeline: answer only the timeline, not the page.
    fragment: Option<String>,
}

#[derive(Deserialize)]
struct ActForm {
    csrf: String,
    action: String,
    text: Option<String>,
    severity: Option<String>,
    /// For `snooze`: how long, in minutes.
    minutes: Option<String>,
    /// For `reassign`: the user's id.
    user: Option<String>,
}

/// Everything an incident's page shows, as loaded from the store.
struct IncidentData {
    incident: Incident,
    timeline: Vec<TimelineEntry>,
    alerts: Vec<Alert>,
    notifications: Vec<Notification>,
    /// Where paging stands; `None` when the incident is not paged.
    paging: Option<PagingSummary>,
    /// When the page was made, for "in 4m".
    now: Timestamp,
    /// Names of users, by id (deleted ones too, for the history).
    users: HashMap<Id, String>,
    /// The people an incident can be reassigned to, by name.
    people: Vec<(Id, String)>,
    catalog: Catalog,
    moved: Moved,
    /// The severity guide of the incident's team, for the assess form.
    guide: domain::SeverityGuide,
}

/// The "What moved" charts of an incident's page: the golden signals of the incident's service and
/// of its dependencies over `[from, to]`, one chart per signal that has samples then.
struct Moved {
    from: Timestamp,
    to: Timestamp,
    charts: Vec<SignalChart>,
}

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/incidents", get(incident_list))
        .route("/incidents/{id}", get(incident_page))
        .route("/incidents/{id}/act", post(incident_act))
        .route("/incidents/{id}/assess", post(incident_assess))
}

/// Assesses an incident with the answers of the page's severity-guide form.
async fn incident_assess(
    State(server): State<Shared>,
    Path(id): Path<Id>,
    session: Session,
    Form(fields): Form<Vec<(String, String)>>,
) -> Page {
    let csrf = fields.iter().find(|(name, _)| name == "csrf").map_or("", |(_, value)| value.as_str());
    if !csrf_matches(&session, csrf) {
        return Err(session.error(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "the form has expired; reload the page and try again",
        )));
    }
    let answers = fields
        .into_iter()
        .filter_map(|(name, value)| name.strip_prefix("answer.").map(|question| (question.to_owned(), value)))
        .filter(|(_, value)| !value.is_empty())
        .collect();
    match server.assess(&session.actor, id, answers).await {
        Ok(_) => Ok(Redirect::to(&format!("/incidents/{id}")).into_response()),
        Err(err) => Err(session.error(ApiError::from(err))),
    }
}

async fn incident_list(
    State(server): State<Shared>,
    Query(params): Query<ListParams>,
    headers: HeaderMap,
    session: Session,
) -> Page {
    let status = params.status.unwrap_or_else(|| "open".to_owned());
    let query = IncidentQuery {
        status: (status != "all").then(|| status.clone()),
        cursor: params.cursor.clone(),
        limit: Some(LIST_PAGE_INCIDENTS),
        ..Default::default()
    };
    let result = async {
        let page = server.incidents(&query).await?;
        Ok::<_, ApiError>((page.incidents, page.next_cursor, Catalog::load(&server).await?))
    }
    .await;
    let (incidents, next, catalog) = result.map_err(|err| session.error(err))?;
    let list = List {
        status: &status,
        cursor: query.cursor.as_deref(),
        incidents: &incidents,
        next: next.as_deref(),
    };
    if params.fragment.is_some() {
        return Ok(live::fragment(&headers, list_items(&list, &catalog, server.now())));
    }
    Ok(session.page("Incidents", list_body(&list, &catalog, server.now())))
}

async fn incident_page(
    State(server): State<Shared>,
    Path(id): Path<String>,
    Query(params): Query<IncidentParams>,
    headers: HeaderMap,
    session: Session,
) -> Page {
    if params.fragment.is_some() {
        let result = async { Ok::<_, ApiError>(server.incident(page_id(&id, "incident")?).await?) }.await;
        let detail = result.map_err(|err| session.error(err))?;
        return Ok(live::fragment(&headers, timeline(&detail.timeline)));
    }
    let data = load_incident(&server, &id).await.map_err(|err| session.error(err))?;
    let title = format!("#{} {}", data.incident.id, data.incident.title);
    Ok(session.page(&title, incident_body(&data, &session)))
}

async fn incident_act(
    State(server): State<Shared>,
    Path(id): Path<Id>,
    session: Session,
    Form(form): Form<ActForm>,
) -> Page {
    if !csrf_matches(&session, &form.csrf) {
        return Err(session.error(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "the form has expired; reload the page and try again",
        )));
    }
    let done = match form.action.as_str() {
        "escalate" => Some(server.escalate_now(&session.actor, id).await),
        "snooze" => match form.minutes.as_deref().unwrap_or_default().parse::<i64>() {
            Ok(minutes) => Some(server.snooze(&session.actor, id, minutes).await),
            Err(_) => {
                return Err(session.error(ApiError::invalid("minutes must be a whole number".to_owned())));
            }
        },
        "reassign" => {
            let user = Ref::parse(form.user.as_deref().unwrap_or_default());
            Some(server.reassign(&session.actor, id, &user).await)
        }
        _ => None,
    };
    if let Some(done) = done {
        return match done {
            Ok(_) => Ok(Redirect::to(&format!("/incidents/{id}")).into_response()),
            Err(err) => Err(session.error(ApiError::from(err))),
        };
    }
    let command = match form.action.as_str() {
        "acknowledge" => Ok(Command::Acknowledge),
        "mitigate" => Ok(Command::Mitigate),
        "resolve" => Ok(Command::Resolve),
        "note" => domain::validate_note(form.text.as_deref().unwrap_or_default())
            .map(|text| Command::AddNote(text.to_owned()))
            .map_err(ApiError::invalid),
        "severity" => domain::Severity::parse(form.severity.as_deref().unwrap_or_default())
            .map(Command::SetSeverity)
            .map_err(ApiError::invalid),
        other => Err(ApiError::bad_request(format!("unknown action {other:?}"))),
    };
    let result = match command {
        Ok(command) => server.act(&session.actor, id, command).await.map_err(ApiError::from),
        Err(err) => Err(err),
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/incidents/{id}")).into_response()),
        Err(err) => Err(session.error(err)),
    }
}

async fn load_incident(server: &Shared, id: &str) -> Result<IncidentData, ApiError> {
    let id = page_id(id, "incident")?;
    let detail = server.incident(id).await?;
    let (incident, timeline) = (detail.incident, detail.timeline);
    let alerts = server.incident_alerts(id, INCIDENT_ALERTS_MAX).await?;
    let notifications = server.incident_notifications(id).await?;
    let users = server.user_names().await?;
    let catalog = Catalog::load(server).await?;
    let moved = load_moved(server, &incident, &catalog).await?;
    let paging = server.paging_summary(id).await?;
    let now = server.now();
    let people = server.users().await?.into_iter().map(|user| (user.id, user.name)).collect();
    let team = catalog.team_of(incident.service_id).map(|team| team.id);
    let guide = match team {
        Some(team) => server.severity_guide(&Ref::Id(team)).await?.0,
        None => domain::SeverityGuide::built_in(),
    };
    Ok(IncidentData {
        incident,
        timeline,
        alerts,
        notifications,
        users,
        people,
        catalog,
        moved,
        paging,
        now,
        guide,
    })
}

/// The golden signals of the incident's service and of its dependencies around the incident's
/// start.
async fn load_moved(server: &Shared, incident: &Incident, catalog: &Catalog) -> Result<Moved, ApiError> {
    let from = incident.created_at - SignedDuration::from_mins(MOVED_BEFORE_MINS);
    let to = (incident.created_at + SignedDuration::from_mins(MOVED_AFTER_MINS))
        .min(server.now().max(incident.created_at));
    let to = to.max(incident.created_at + SignedDuration::from_secs(60));
    let mut service_ids = vec![incident.service_id];
    if let Some(service) = catalog.services.get(&incident.service_id) {
        service_ids.extend(&service.dependencies);
    }
    let mut charts = Vec::new();
    for service_id in service_ids {
        let signals = server.golden_signals_of(service_id).await?;
        if signals.is_empty() {
            continue;
        }
        let anomalies = server.anomalies_between(service_id, from, to).await?;
        for signal in signals {
            let samples = server.samples(signal.id, from, to).await?;
            if samples.is_empty() {
                continue;
            }
            let spans = anomaly_spans(&anomalies, signal.id, to);
            charts.push(SignalChart { signal, samples, spans });
        }
    }
    Ok(Moved { from, to, charts })
}

/// One page of the incident list, as asked for.
struct List<'a> {
    /// The tab: a status, `open` or `all`.
    status: &'a str,
    /// Where the page starts, when it is not the first.
    cursor: Option<&'a str>,
    incidents: &'a [Incident],
    /// Where the next page starts, when there are more.
    next: Option<&'a str>,
}

/// The incident list: tabs by status, and the list itself, which keeps itself up to date.
fn list_body(list: &List<'_>, catalog: &Catalog, now: Timestamp) -> Markup {
    let mut url = format!("/incidents?status={}", list.status);
    if let Some(cursor) = list.cursor {
        url.push_str("&cursor=");
        url.push_str(cursor);
    }
    url.push_str("&fragment=1");
    html! {
        h1 { "Incidents" }
        div.tabs {
            @for tab in TABS {
                a class=[(tab == list.status).then_some("active")] href={ "/incidents?status=" (tab) } { (tab) }
            }
        }
        (live::region("incident-list", &url, list_items(list, catalog, now)))
    }
}

/// The incidents of the list, and a link to older ones when there are more: the live part of the
/// list, answered alone to `fragment=1`.
fn list_items(list: &List<'_>, catalog: &Catalog, now: Timestamp) -> Markup {
    html! {
        @if list.incidents.is_empty() {
            p.empty { "No incidents here. Quiet is good." }
        } @else {
            table.incidents.cards {
                (table_head(&["#", "Sev", "Status", "Title", "Service", "Owner", "Declared"]))
                tbody {
                    @for incident in list.incidents {
                        tr class=(incident.status) {
                            td.num { a href={ "/incidents/" (incident.id) } { (incident.id) } }
                            td { (severity_badge(incident)) }
                            td { span class={ "status " (incident.status) } { (incident.status) } }
                            td.title { a href={ "/incidents/" (incident.id) } { (incident.title) } }
                            td { (service_link(catalog, incident.service_id)) }
                            td { (catalog.team_of(incident.service_id).map_or("", |t| t.name.as_str())) }
                            td title=(format_time(incident.created_at)) { (age(now, incident.created_at)) }
                        }
                    }
                }
            }
        }
        @if let Some(next) = list.next {
            p { a href={ "/incidents?status=" (list.status) "&cursor=" (next) } { "Older →" } }
        }
    }
}

/// The body of an incident's page.
fn incident_body(data: &IncidentData, session: &Session) -> Markup {
    let incident = &data.incident;
    let service = data.catalog.services.get(&incident.service_id);
    let team = data.catalog.team_of(incident.service_id);
    let user = |id: Option<Id>| match id {
        Some(id) => data.users.get(&id).map_or("unknown user", |name| name.as_str()),
        None => "—",
    };
    let when = |at: Option<Timestamp>| at.map_or("—".to_owned(), format_time);
    html! {
        div.incident-head {
            h1 { span.num { "#" (incident.id) } " " (incident.title) }
            div.badges {
                span #status class={ "status " (incident.status) } { (incident.status) }
                (severity_badge(incident))
                span.kind { (incident.kind) }
            }
        }
        div.columns {
            div.main {
                (actions(incident, &data.people, session))
                (assess_form(incident.id, &data.guide, session))
                (paging(data.paging.as_ref(), data.now))
                (alerts(&data.alerts))
                (pages(&data.notifications))
                (what_moved(&data.moved, &data.catalog, incident.created_at))
                h2 { "Timeline" }
                (live::region(
                    "timeline-live",
                    &format!("/incidents/{}?fragment=timeline", incident.id),
                    timeline(&data.timeline),
                ))
            }
            aside {
                dl {
                    dt { "Service" }
                    dd {
                        @match service {
                            Some(service) => a href={ "/services/" (service.id) } { (service.name) },
                            None => { "service " (incident.service_id) }
                        }
                    }
                    dt { "Owner" } dd { (team.map_or("", |t| t.name.as_str())) }
                    dt { "Assignee" } dd { (user(incident.assignee_id)) }
                    dt { "Commander" } dd { (user(incident.commander_id)) }
                    dt { "Declared" } dd { (format_time(incident.created_at)) }
                    dt { "Acknowledged" } dd { (when(incident.acknowledged_at)) }
                    dt { "Mitigated" } dd { (when(incident.mitigated_at)) }
                    dt { "Resolved" } dd { (when(incident.resolved_at)) }
                }
                @if let Some(service) = service {
                    div.description.markdown { (PreEscaped(crate::markdown::render(&service.description))) }
                    @if !service.runbook.is_empty() {
                        p { a href={ "/services/" (service.id) "#runbook" } { "Runbook →" } }
                    }
                }
            }
        }
    }
}

/// The severity guide's questions as a form: answering them sets the severity and wakes whoever
/// the guide says.
fn assess_form(id: Id, guide: &domain::SeverityGuide, session: &Session) -> Markup {
    html! {
        details #assess {
            summary { "How severe is it? Assess with the severity guide" }
            form.edit method="post" action={ "/incidents/" (id) "/assess" } {
                input type="hidden" name="csrf" value=(session.csrf);
                @for question in guide.questions() {
                    label.field {
                        (question.text)
                        select name={ "answer." (question.id) } {
                            option value="" { "—" }
                            @for answer in &question.answers {
                                option value=(answer) { (answer) }
                            }
                        }
                    }
                }
                div.buttons { button.primary #assess-submit { "Assess" } }
            }
        }
    }
}

/// An incident's severity as a badge coloured by level.
fn severity_badge(incident: &Incident) -> Markup {
    html! {
        span class={ "sev " (incident.severity.as_str().to_lowercase()) } { (incident.severity) }
    }
}

/// How long a snooze may be chosen for on the incident page, in minutes.
const SNOOZE_CHOICES: [(i64, &str); 6] =
    [(15, "15 min"), (30, "30 min"), (60, "1 hour"), (120, "2 hours"), (240, "4 hours"), (480, "8 hours")];

/// The buttons that move an incident along, the severity picker, snooze and reassign, and the note
/// form. Each is a form that carries the session's form token.
fn actions(incident: &Incident, people: &[(Id, String)], session: &Session) -> Markup {
    let target = format!("/incidents/{}/act", incident.id);
    let button = |action: &str, label: &str, class: &str| {
        html! {
            form method="post" action=(target) class="inline" {
                input type="hidden" name="csrf" value=(session.csrf);
                input type="hidden" name="action" value=(action);
                button class=(class) id=(action) { (label) }
            }
        }
    };
    html! {
        div.actions {
            @if incident.status == Status::Triggered {
                (button("acknowledge", "Acknowledge", "primary"))
                (button("escalate", "Escalate now", ""))
            }
            @if matches!(incident.status, Status::Triggered | Status::Acknowledged) {
                (button("mitigate", "Mitigated", ""))
            }
            @if incident.is_open() {
                (button("resolve", "Resolve", ""))
            }
            form method="post" action=(target) class="inline" {
                input type="hidden" name="csrf" value=(session.csrf);
                input type="hidden" name="action" value="severity";
                select name="severity" aria-label="severity" {
                    @for severity in domain::Severity::ALL {
                        option selected[*severity == incident.severity] { (severity) }
                    }
                }
                button { "Set severity" }
            }
            @if incident.status == Status::Acknowledged {
                form method="post" action=(target) class="inline" {
                    input type="hidden" name="csrf" value=(session.csrf);
                    input type="hidden" name="action" value="snooze";
                    select name="minutes" aria-label="snooze for" {
                        @for (minutes, label) in SNOOZE_CHOICES {
                            option value=(minutes) selected[minutes == 60] { (label) }
                        }
                    }
                    button #snooze { "Snooze" }
                }
            }
            @if incident.is_open() && !people.is_empty() {
                form method="post" action=(target) class="inline" {
                    input type="hidden" name="csrf" value=(session.csrf);
                    input type="hidden" name="action" value="reassign";
                    select name="user" aria-label="reassign to" {
                        @for (id, name) in people {
                            option value=(id) selected[Some(*id) == incident.assignee_id] { (name) }
                        }
                    }
                    button #reassign { "Reassign" }
                }
            }
        }
        form method="post" action=(target) class="note" {
            input type="hidden" name="csrf" value=(session.csrf);
            input type="hidden" name="action" value="note";
            textarea name="text" rows="2" required
                placeholder="Add a note: what you saw, what you tried, what changed" {}
            button #add-note { "Add note" }
        }
    }
}

/// Where paging stands: the level paged last and what comes next, and when.
fn paging(summary: Option<&PagingSummary>, now: Timestamp) -> Markup {
    let Some(summary) = summary else {
        return html! { p.muted #paging { "Nobody is paged for this incident: its service had no escalation policy." } };
    };
    let position =
        format!("pass {} of {}, level {} of {}", summary.pass, summary.passes, summary.level, summary.levels);
    html! {
        div.paging #paging {
            @match summary.state {
                EscalationState::Active => {
                    p { "Paging through " b { (summary.policy_name) } ": " (position) " paged." }
                    @match &summary.next {
                        Some((at, Some(next))) => p.next {
                            "Next: level " (next.level)
                            @if next.pass != summary.pass { " of pass " (next.pass) }
                            " at " (format_time(*at)) " (" (time_until(now, *at)) ") → "
                            @if next.people.is_empty() { "nobody on call" } @else { (next.people.join(", ")) }
                        },
                        Some((at, None)) => p.next {
                            "Every level has been paged; paging ends at " (format_time(*at)) " (" (time_until(now, *at)) ") without an acknowledgement."
                        },
                        None => {}
                    }
                }
                EscalationState::Acknowledged => p { "Paging stopped when the incident was acknowledged (" (position) " had been paged)." },
                EscalationState::Resolved => p { "Paging is over: the incident is resolved." },
                EscalationState::Exhausted => p.next { "Every level of " b { (summary.policy_name) } " was paged without an acknowledgement; nobody more will be paged." },
            }
        }
    }
}

/// The alerts of an incident, if it has any.
fn alerts(alerts: &[Alert]) -> Markup {
    if alerts.is_empty() {
        return html! {};
    }
    html! {
        h2 { "Alerts (" (alerts.len()) ")" }
        table.alerts #alerts {
            (table_head(&["Status", "Sev", "Summary", "Source", "Count", "Last seen"]))
            tbody {
                @for alert in alerts {
                    tr {
                        td { span class={ "status " (alert.status.as_str()) } { (alert.status.as_str()) } }
                        td { (alert.severity) }
                        td title=(alert.dedup_key) { (alert.summary) }
                        td { (alert.source) }
                        td.num { (alert.event_count) }
                        td { (format_time(alert.last_seen_at)) }
                    }
                    tr.alert-context {
                        td colspan="6" { (alert_context(alert)) }
                    }
                }
            }
        }
    }
}

/// What an alert carries besides its summary: its links, labels, when the sender says it happened,
/// and the sender's details, shown as the sender gave them (and escaped).
fn alert_context(alert: &Alert) -> Markup {
    let details: Option<String> = serde_json::from_str::<serde_json::Value>(&alert.details)
        .ok()
        .filter(|value| value.as_object().is_none_or(|fields| !fields.is_empty()))
        .map(|value| serde_json::to_string_pretty(&value).unwrap_or_default());
    html! {
        @if !alert.links.is_empty() {
            div.alert-links {
                @for link in &alert.links {
                    // Links are kept at ingest only when they are http or https.
                    a href=(link.url) rel="noopener noreferrer" { (link.title) } " "
                }
            }
        }
        @if !alert.labels.is_empty() {
            div.alert-labels {
                @for (name, value) in &alert.labels {
                    span.tag { (name) "=" (value) } " "
                }
            }
        }
        @if let Some(at) = alert.occurred_at {
            div.muted { "happened at " (format_time(at)) ", by its sender's clock" }
        }
        @if let Some(details) = details {
            details.alert-details {
                summary { "Details" }
                pre { (details) }
            }
        }
    }
}

/// The "Pages" section of an incident's page: each notification of the incident to one contact
/// method, and how its delivery went. Webhook and Slack addresses are shortened to their host, as
/// everywhere else, because the URL itself lets anyone post.
fn pages(notifications: &[Notification]) -> Markup {
    if notifications.is_empty() {
        return html! {
            h2 { "Pages" }
            p.empty #pages { "Nobody has been paged." }
        };
    }
    html! {
        h2 { "Pages (" (notifications.len()) ")" }
        table.pages #pages {
            (table_head(&[
                "Who", "Channel", "Address", "Level", "Status", "Attempts", "Last error", "Delivered",
            ]))
            tbody {
                @for notification in notifications {
                    @let error = notification.last_error.as_deref().unwrap_or_default();
                    @let badge = status_class(&notification.status);
                    tr {
                        td {
                            b { (notification.user_name) }
                            @if let Some(what) = &notification.follow_up {
                                " " span.tag { "told: " (what) }
                            }
                        }
                        td { (notification.channel) }
                        td.address {
                            (shown_address(&notification.channel, &notification.address))
                        }
                        td.num { (notification.level) }
                        td { span class={ "status " (badge) } { (notification.status) } }
                        td.num { (notification.attempts) }
                        td.page-error title=(error) {
                            @if error.is_empty() { "—" } @else { (shortened(error, PAGE_ERROR_CHARS_MAX)) }
                        }
                        td.nowrap { (notification.delivered_at.map_or("—".to_owned(), format_time)) }
                    }
                }
            }
        }
    }
}

/// The class of a notification's status badge: the status, when it is one the stylesheet knows.
fn status_class(status: &str) -> &str {
    match status {
        known @ ("pending" | "sending" | "delivered" | "failed" | "withdrawn" | "unknown") => known,
        _ => "other",
    }
}

/// `text` cut to its first `max` characters, with an ellipsis when it was longer.
fn shortened(text: &str, max: usize) -> String {
    if text.chars().count() > max {
        format!("{}…", text.chars().take(max).collect::<String>())
    } else {
        text.to_owned()
    }
}

/// "What moved": the golden signals of the incident's service and of its dependencies around the
/// incident's start, each a small chart with the expected band and anomalies shaded, and a mark at
/// `start`. Nothing when no signal has samples then.
fn what_moved(moved: &Moved, catalog: &Catalog, start: Timestamp) -> Markup {
    if moved.charts.is_empty() {
        return html! {};
    }
    html! {
        h2 { "What moved" }
        div.charts #what-moved {
            @for chart_of in &moved.charts {
                @let signal = &chart_of.signal;
                @let shifted = !chart_of.spans.is_empty();
                @let last = chart_of.samples.last().map_or(0.0, |s| s.value);
                figure class=(if shifted { "chart moved" } else { "chart" })
                    data-service=(signal.service_id) data-signal=(signal.signal) {
                    figcaption {
                        b { (catalog.service_name(signal.service_id)) }
                        " " (signal.signal) " "
                        @if shifted { span.flag { "moved" } " " }
                        span.muted { (short(last)) }
                    }
                    (chart(&chart_of.samples, &chart_of.spans, moved.from, moved.to, start, &chart_of.signal.unit))
                }
            }
        }
    }
}

/// An incident's timeline, oldest first: the live part of an incident's page, answered alone to
/// `fragment=timeline`.
fn timeline(entries: &[TimelineEntry]) -> Markup {
    html! {
        table.timeline #timeline {
            tbody {
                @for entry in entries {
                    @let entry = firebreak_api::TimelineEntry::from(entry.clone());
                    @let class = match entry.event.as_str() {
                        "note" => "note",
                        "alert" | "alerts_joined" => "alert",
                        _ => "event",
                    };
                    tr class=(class) {
                        td.time { (format_time(entry.at)) }
                        td.actor { (entry.actor) }
                        @if class == "note" {
                            // Notes are Markdown, rendered and sanitized.
                            td.markdown { (PreEscaped(crate::markdown::render(&entry.summary))) }
                        } @else {
                            td { (entry.summary) }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use firebreak_domain::{
        AlertStatus, Direction, GoldenSignal, Kind, Sample, Severity, Signal, TimelineEvent,
    };

    use super::super::page::tests::{HOSTILE, NOW, assert_escaped, at, catalog, session};
    use super::*;

    fn incident() -> Incident {
        Incident {
            id: 42,
            title: HOSTILE.to_owned(),
            service_id: 1,
            severity: Severity::Sev1,
            kind: Kind::Signal,
            status: Status::Triggered,
            assignee_id: Some(5),
            commander_id: None,
            created_at: at("2026-03-02T10:00:00Z"),
            acknowledged_at: None,
            mitigated_at: None,
            resolved_at: None,
            updated_at: at("2026-03-02T10:00:00Z"),
            snoozed_until: None,
        }
    }

    fn data() -> IncidentData {
        let incident = incident();
        let entry = |id: Id, event: TimelineEvent| TimelineEntry {
            id,
            incident_id: incident.id,
            at: incident.created_at,
            actor: HOSTILE.to_owned(),
            event,
        };
        let alert = Alert {
            id: 1,
            service_id: 1,
            dedup_key: HOSTILE.to_owned(),
            status: AlertStatus::Triggered,
            summary: HOSTILE.to_owned(),
            source: HOSTILE.to_owned(),
            severity: Severity::Sev2,
            kind: Kind::Signal,
            labels: [(HOSTILE.to_owned(), HOSTILE.to_owned())].into_iter().collect(),
            details: serde_json::json!({"note": "<script>alert(2)</script>"}).to_string(),
            links: vec![domain::Link {
                title: HOSTILE.to_owned(),
                url: format!("https://x.example/?{HOSTILE}"),
            }],
            occurred_at: Some(incident.created_at),
            event_count: 3,
            first_seen_at: incident.created_at,
            last_seen_at: incident.created_at,
            resolved_at: None,
            incident_id: Some(incident.id),
            silence_id: None,
        };
        let notification = Notification {
            id: 1,
            incident_id: incident.id,
            user_id: 5,
            user_name: HOSTILE.to_owned(),
            channel: "email".to_owned(),
            address: HOSTILE.to_owned(),
            level: 1,
            status: HOSTILE.to_owned(),
            attempts: 1,
            last_error: Some(HOSTILE.to_owned()),
            created_at: incident.created_at,
            next_attempt_at: incident.created_at,
            delivered_at: None,
            follow_up: None,
        };
        let signal = GoldenSignal {
            id: 1,
            service_id: 1,
            signal: Signal::Latency,
            query: String::new(),
            bad: Direction::Up,
            step_secs: 15,
            open_incident: true,
            severity: Severity::Sev2,
            unit: "s".into(),
        };
        let sample = |at: Timestamp, value: f64| Sample {
            at,
            value,
            expected: 0.2,
            lower: 0.1,
            upper: 0.3,
            score: 0.0,
        };
        let from = incident.created_at - SignedDuration::from_mins(MOVED_BEFORE_MINS);
        let to = at(NOW);
        let moved = Moved {
            from,
            to,
            charts: vec![SignalChart {
                signal,
                samples: vec![sample(from, 0.2), sample(incident.created_at, 0.9)],
                spans: vec![(incident.created_at, to)],
            }],
        };
        IncidentData {
            guide: firebreak_domain::SeverityGuide::built_in(),
            timeline: vec![
                entry(1, TimelineEvent::Declared { title: HOSTILE.to_owned(), severity: Severity::Sev1 }),
                entry(2, TimelineEvent::Note { text: HOSTILE.to_owned() }),
            ],
            incident,
            alerts: vec![alert],
            notifications: vec![notification],
            paging: Some(PagingSummary {
                policy_name: HOSTILE.to_owned(),
                state: EscalationState::Active,
                pass: 1,
                passes: 2,
                level: 1,
                levels: 2,
                next: Some((
                    at(NOW) + SignedDuration::from_mins(4),
                    Some(firebreak_app::paging::NextLevel {
                        pass: 1,
                        level: 2,
                        people: vec![HOSTILE.to_owned()],
                    }),
                )),
            }),
            now: at(NOW),
            users: [(5, HOSTILE.to_owned())].into_iter().collect(),
            people: vec![(5, HOSTILE.to_owned())],
            catalog: catalog(),
            moved,
        }
    }

    #[test]
    fn the_incident_list_escapes_titles_names_and_parameters() {
        let incidents = [incident()];
        let list =
            List { status: HOSTILE, cursor: Some(HOSTILE), incidents: &incidents, next: Some(HOSTILE) };
        let html = list_body(&list, &catalog(), at(NOW)).into_string();
        // The title, the service, the owner, the status and cursor in the link to older ones, and
        // the status and the cursor in the live list's URL.
        assert_escaped(&html, 7);
        assert!(html.contains(r#"<a href="/incidents/42">42</a>"#), "{html}");
    }

    #[test]
    fn the_incident_page_escapes_what_people_and_alerts_wrote() {
        let html = incident_body(&data(), &session()).into_string();
        // The title; two timeline actors, the declaration and the note; the alert's key, summary
        // and source; its link (address and title) and label (name and value); the paging policy
        // and who is next; the page's person, address, status and error (twice); the assignee; the
        // service, its owner and description; and the service in "What moved".
        assert_escaped(&html, 24);
        assert!(html.contains("level 1 of 2 paged") && html.contains("Next: level 2 at "), "{html}");
        assert!(html.contains("(in 4m)"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(2)&lt;/script&gt;"), "the details, escaped: {html}");
    }

    #[test]
    fn the_incident_page_keeps_its_ids_and_forms() {
        let session = session();
        let html = incident_body(&data(), &session).into_string();
        for id in [
            "status",
            "acknowledge",
            "escalate",
            "mitigate",
            "resolve",
            "add-note",
            "reassign",
            "alerts",
            "pages",
            "what-moved",
            "timeline",
            "assess",
        ] {
            assert!(html.contains(&format!(r#"id="{id}""#)), "no #{id} in {html}");
        }
        let csrf = format!(r#"<input type="hidden" name="csrf" value="{}">"#, session.csrf);
        assert_eq!(html.matches(&csrf).count(), 8, "{html}");
        assert_eq!(html.matches(r#"<form method="post" action="/incidents/42/act""#).count(), 7, "{html}");
        assert_eq!(
            html.matches(r#"<form class="edit" method="post" action="/incidents/42/assess""#).count(),
            1
        );
        for action in ["acknowledge", "escalate", "mitigate", "resolve", "severity", "reassign", "note"] {
            let field = format!(r#"<input type="hidden" name="action" value="{action}">"#);
            assert!(html.contains(&field), "no {action} form in {html}");
        }
        assert!(html.contains("<option selected>SEV1</option>"), "{html}");
        assert!(
            html.contains(r#"<figure class="chart moved" data-service="1" data-signal="latency">"#),
            "{html}"
        );
        assert!(html.contains(r#"<rect class="anomaly""#), "{html}");
    }

    #[test]
    fn long_page_errors_are_shortened_with_the_whole_in_the_tooltip() {
        let error = "x".repeat(PAGE_ERROR_CHARS_MAX + 1);
        let mut data = data();
        data.notifications[0].last_error = Some(error.clone());
        let html = pages(&data.notifications).into_string();
        assert!(html.contains(&format!(r#"title="{error}""#)), "{html}");
        assert!(html.contains(&format!(">{}…<", &error[..PAGE_ERROR_CHARS_MAX])), "{html}");
        assert!(html.contains(r#"<span class="status other">"#), "{html}");
        let html = pages(&[]).into_string();
        assert_eq!(html, r#"<h2>Pages</h2><p class="empty" id="pages">Nobody has been paged.</p>"#);
    }
}
