//! The web UI: server-rendered HTML pages, no scripts, no build step.
//!
//! Pages: incident list, incident page (with actions and the pages sent), service catalog and
//! service page, who is on call now, schedules and escalation policies. A person
//! logs in with an API token, which is kept in an `HttpOnly`, `SameSite=Strict` cookie; every form
//! also carries a token derived from it, so another site cannot submit forms on their behalf.

use std::collections::HashMap;
use std::fmt::Write;

use axum::Form;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use firebreak_api::Ref;
use firebreak_domain::{self as domain, Command, Id, Incident, Service, Status, Team};
use firebreak_store::secret;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;

use crate::App;
use crate::auth::Actor;
use crate::error::ApiError;
use crate::extract::Path;
use crate::markdown;
use crate::oncall;
use crate::v1::{self, IncidentQuery};

const COOKIE: &str = "firebreak_token";
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; \
                   frame-ancestors 'none'; base-uri 'none'";

pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/incidents") }))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/incidents", get(incident_list))
        .route("/incidents/{id}", get(incident_page))
        .route("/incidents/{id}/act", post(incident_act))
        .route("/services", get(service_list))
        .route("/services/{id}", get(service_page))
        .route("/oncall", get(oncall_page))
        .route("/schedules", get(schedule_list))
        .route("/schedules/{id}", get(schedule_page))
        .route("/escalation-policies", get(policy_list))
        .route("/escalation-policies/{id}", get(policy_page))
}

/// A page, or a redirect to the login page.
type Page = Result<Response, Response>;

/// The logged-in person and the form token of their session.
struct Session {
    actor: Actor,
    csrf: String,
}

async fn session(app: &App, headers: &HeaderMap) -> Result<Session, Response> {
    let token = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(COOKIE).and_then(|rest| rest.strip_prefix('=')))
        .map(str::to_owned);
    let Some(token) = token else {
        return Err(Redirect::to("/login").into_response());
    };
    match app.tokens.check(&app.store, &token).await {
        Ok(actor) => Ok(Session { actor, csrf: csrf_token(&token) }),
        Err(err) if err.status == StatusCode::UNAUTHORIZED => {
            Err(Redirect::to("/login?expired=1").into_response())
        }
        Err(err) => Err(err.into_response()),
    }
}

fn csrf_token(token: &str) -> String {
    secret::hash(&format!("firebreak form token:{token}"))[..32].to_owned()
}

fn page(title: &str, session: Option<&Session>, body: &str) -> Response {
    let nav = match session {
        Some(session) => format!(
            "<nav><a href=\"/incidents\">Incidents</a><a href=\"/services\">Services</a>\
             <a href=\"/oncall\">On call</a><a href=\"/schedules\">Schedules</a>\
             <a href=\"/escalation-policies\">Escalation policies</a>\
             <form method=\"post\" action=\"/logout\" class=\"inline\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <span class=\"who\">{}</span><button class=\"link\">Log out</button></form></nav>",
            session.csrf,
            escape(&session.actor.0)
        ),
        None => String::new(),
    };
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · firebreak</title><style>{STYLE}</style></head>\
         <body><header><a class=\"brand\" href=\"/incidents\">firebreak</a>{nav}</header><main>{body}</main></body></html>",
        title = escape(title),
    );
    let mut response = Html(html).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn error_page(session: Option<&Session>, err: ApiError) -> Response {
    let status = err.status;
    let body = format!(
        "<h1>{}</h1><p class=\"error\">{}</p><p><a href=\"/incidents\">Back to incidents</a></p>",
        status.canonical_reason().unwrap_or("Error"),
        escape(&err.detail)
    );
    let mut response = page("Error", session, &body);
    *response.status_mut() = status;
    response
}

#[derive(Deserialize)]
struct LoginQuery {
    expired: Option<String>,
}

async fn login_page(Query(query): Query<LoginQuery>) -> Response {
    let notice = if query.expired.is_some() {
        "<p class=\"error\">That token is not valid (any more). Log in again.</p>"
    } else {
        ""
    };
    page("Log in", None, &login_form(notice))
}

fn login_form(notice: &str) -> String {
    format!(
        "<section class=\"login\"><h1>Log in</h1>{notice}\
         <form method=\"post\" action=\"/login\"><label for=\"token\">API token</label>\
         <input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"current-password\" required autofocus>\
         <button class=\"primary\" id=\"login\">Log in</button></form>\
         <p class=\"hint\">Create a token with <code>firebreak token create --name YOUR-NAME</code>.</p></section>"
    )
}

#[derive(Deserialize)]
struct LoginForm {
    token: String,
}

async fn login(State(app): State<App>, Form(form): Form<LoginForm>) -> Response {
    let token = form.token.trim();
    match app.tokens.check(&app.store, token).await {
        Ok(_) => {
            let cookie = format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=2592000");
            let mut response = Redirect::to("/incidents").into_response();
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().insert(header::SET_COOKIE, value);
            }
            response
        }
        Err(err) if err.status == StatusCode::UNAUTHORIZED => {
            let mut response =
                page("Log in", None, &login_form("<p class=\"error\">That token is not valid.</p>"));
            *response.status_mut() = StatusCode::UNAUTHORIZED;
            response
        }
        Err(err) => error_page(None, err),
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

/// Names of services and teams, to show next to ids.
struct Catalog {
    services: HashMap<Id, Service>,
    teams: HashMap<Id, Team>,
}

impl Catalog {
    async fn load(app: &App) -> Result<Catalog, ApiError> {
        let services = app.store.services().await?.into_iter().map(|s| (s.id, s)).collect();
        let teams = app.store.teams().await?.into_iter().map(|t| (t.id, t)).collect();
        Ok(Catalog { services, teams })
    }

    fn service_name(&self, id: Id) -> String {
        self.services.get(&id).map_or_else(|| format!("service {id}"), |s| s.name.clone())
    }

    fn team_of(&self, service_id: Id) -> Option<&Team> {
        self.services.get(&service_id).and_then(|s| self.teams.get(&s.team_id))
    }
}

#[derive(Deserialize)]
struct ListParams {
    status: Option<String>,
    cursor: Option<String>,
}

async fn incident_list(State(app): State<App>, headers: HeaderMap, Query(params): Query<ListParams>) -> Page {
    let session = session(&app, &headers).await?;
    let status = params.status.unwrap_or_else(|| "open".to_owned());
    let query = IncidentQuery {
        status: (status != "all").then(|| status.clone()),
        cursor: params.cursor,
        limit: Some(100),
        ..Default::default()
    };
    let result = async {
        let (incidents, next) = v1::list(&app, &query).await?;
        Ok::<_, ApiError>((incidents, next, Catalog::load(&app).await?))
    }
    .await;
    let (incidents, next, catalog) = result.map_err(|err| error_page(Some(&session), err))?;
    let now = app.now();
    let mut body = String::from("<h1>Incidents</h1><div class=\"tabs\">");
    for tab in ["open", "triggered", "acknowledged", "mitigated", "resolved", "all"] {
        let class = if tab == status { " class=\"active\"" } else { "" };
        let _ = write!(body, "<a{class} href=\"/incidents?status={tab}\">{tab}</a>");
    }
    body.push_str("</div>");
    if incidents.is_empty() {
        body.push_str("<p class=\"empty\">No incidents here. Quiet is good.</p>");
    } else {
        body.push_str(
            "<table class=\"incidents\"><thead><tr><th>#</th><th>Sev</th><th>Status</th><th>Title</th>\
             <th>Service</th><th>Owner</th><th>Declared</th></tr></thead><tbody>",
        );
        for incident in &incidents {
            let team = catalog.team_of(incident.service_id).map_or(String::new(), |t| escape(&t.name));
            let _ = write!(
                body,
                "<tr class=\"{status}\"><td class=\"num\"><a href=\"/incidents/{id}\">{id}</a></td>\
                 <td><span class=\"sev {sev_class}\">{sev}</span></td><td><span class=\"status {status}\">{status}</span></td>\
                 <td class=\"title\"><a href=\"/incidents/{id}\">{title}</a></td>\
                 <td><a href=\"/services/{service_id}\">{service}</a></td><td>{team}</td>\
                 <td title=\"{at}\">{age}</td></tr>",
                id = incident.id,
                sev = incident.severity,
                sev_class = incident.severity.as_str().to_lowercase(),
                status = incident.status,
                title = escape(&incident.title),
                service_id = incident.service_id,
                service = escape(&catalog.service_name(incident.service_id)),
                at = format_time(incident.created_at),
                age = age(now, incident.created_at),
            );
        }
        body.push_str("</tbody></table>");
    }
    if let Some(next) = next {
        let _ = write!(body, "<p><a href=\"/incidents?status={status}&cursor={next}\">Older →</a></p>");
    }
    Ok(page("Incidents", Some(&session), &body))
}

async fn incident_page(State(app): State<App>, headers: HeaderMap, Path(id): Path<String>) -> Page {
    let session = session(&app, &headers).await?;
    let id = page_id(&id, "incident").map_err(|err| error_page(Some(&session), err))?;
    let result = async {
        let incident = app.store.incident(id).await?;
        let timeline = app.store.timeline(id).await?;
        let alerts = app.store.incident_alerts(id, 100).await?;
        let notifications = app.store.incident_notifications(id).await?;
        let users: HashMap<Id, String> =
            app.store.users().await?.into_iter().map(|u| (u.id, u.name)).collect();
        Ok::<_, ApiError>((incident, timeline, alerts, notifications, users, Catalog::load(&app).await?))
    }
    .await;
    let (incident, timeline, alerts, notifications, users, catalog) =
        result.map_err(|err| error_page(Some(&session), err))?;
    let moved = what_moved(&app, &incident, &catalog).await.map_err(|err| error_page(Some(&session), err))?;
    let service = catalog.services.get(&incident.service_id);
    let team = catalog.team_of(incident.service_id);
    let user = |id: Option<Id>| {
        id.map_or("—".to_owned(), |id| escape(users.get(&id).map_or("unknown user", |n| n)))
    };
    let when = |at: Option<Timestamp>| at.map_or("—".to_owned(), format_time);
    let mut body = format!(
        "<div class=\"incident-head\"><h1><span class=\"num\">#{id}</span> {title}</h1>\
         <div class=\"badges\"><span class=\"status {status}\" id=\"status\">{status}</span>\
         <span class=\"sev {sev_class}\">{sev}</span><span class=\"kind\">{kind}</span></div></div>",
        id = incident.id,
        title = escape(&incident.title),
        status = incident.status,
        sev = incident.severity,
        sev_class = incident.severity.as_str().to_lowercase(),
        kind = incident.kind,
    );
    body.push_str("<div class=\"columns\"><div class=\"main\">");
    body.push_str(&actions(&incident, &session));
    if !alerts.is_empty() {
        let _ = write!(
            body,
            "<h2>Alerts ({})</h2><table class=\"alerts\" id=\"alerts\"><thead><tr><th>Status</th><th>Sev</th>\
             <th>Summary</th><th>Source</th><th>Count</th><th>Last seen</th></tr></thead><tbody>",
            alerts.len()
        );
        for alert in &alerts {
            let _ = write!(
                body,
                "<tr><td><span class=\"status {status}\">{status}</span></td><td>{sev}</td><td title=\"{key}\">{summary}</td>\
                 <td>{source}</td><td class=\"num\">{count}</td><td>{last}</td></tr>",
                status = alert.status.as_str(),
                sev = alert.severity,
                key = escape(&alert.dedup_key),
                summary = escape(&alert.summary),
                source = escape(&alert.source),
                count = alert.event_count,
                last = format_time(alert.last_seen_at),
            );
        }
        body.push_str("</tbody></table>");
    }
    body.push_str(&pages(&notifications));
    body.push_str(&moved);
    body.push_str("<h2>Timeline</h2><table class=\"timeline\" id=\"timeline\"><tbody>");
    for entry in &timeline {
        let entry = firebreak_api::TimelineEntry::from(entry.clone());
        let class = match entry.event.as_str() {
            "note" => "note",
            "alert" | "alerts_joined" => "alert",
            _ => "event",
        };
        let _ = write!(
            body,
            "<tr class=\"{class}\"><td class=\"time\">{at}</td><td class=\"actor\">{actor}</td><td>{summary}</td></tr>",
            at = format_time(entry.at),
            actor = escape(&entry.actor),
            summary = escape(&entry.summary),
        );
    }
    body.push_str("</tbody></table></div><aside>");
    let _ = write!(
        body,
        "<dl><dt>Service</dt><dd>{service}</dd><dt>Owner</dt><dd>{team}</dd>\
         <dt>Assignee</dt><dd>{assignee}</dd><dt>Commander</dt><dd>{commander}</dd>\
         <dt>Declared</dt><dd>{declared}</dd><dt>Acknowledged</dt><dd>{acked}</dd>\
         <dt>Mitigated</dt><dd>{mitigated}</dd><dt>Resolved</dt><dd>{resolved}</dd></dl>",
        service = service.map_or_else(
            || format!("service {}", incident.service_id),
            |s| format!("<a href=\"/services/{}\">{}</a>", s.id, escape(&s.name))
        ),
        team = team.map_or(String::new(), |t| escape(&t.name)),
        assignee = user(incident.assignee_id),
        commander = user(incident.commander_id),
        declared = format_time(incident.created_at),
        acked = when(incident.acknowledged_at),
        mitigated = when(incident.mitigated_at),
        resolved = when(incident.resolved_at),
    );
    if let Some(service) = service {
        let _ = write!(body, "<p class=\"description\">{}</p>", escape(&service.description));
        if !service.runbook.is_empty() {
            let _ = write!(body, "<p><a href=\"/services/{}#runbook\">Runbook →</a></p>", service.id);
        }
    }
    body.push_str("</aside></div>");
    Ok(page(&format!("#{} {}", incident.id, incident.title), Some(&session), &body))
}

/// Longest last error shown in full on an incident's page; the rest is in its tooltip.
const PAGE_ERROR_CHARS_MAX: usize = 120;

/// The "Pages" section of an incident's page: each notification of the incident to one contact
/// method, and how its delivery went. Webhook and Slack addresses are shortened to their host, as
/// everywhere else, because the URL itself lets anyone post.
fn pages(notifications: &[firebreak_store::Notification]) -> String {
    if notifications.is_empty() {
        return "<h2>Pages</h2><p class=\"empty\" id=\"pages\">Nobody has been paged.</p>".to_owned();
    }
    let mut out = format!(
        "<h2>Pages ({})</h2><table class=\"pages\" id=\"pages\"><thead><tr><th>Who</th><th>Channel</th>\
         <th>Address</th><th>Level</th><th>Status</th><th>Attempts</th><th>Last error</th><th>Delivered</th>\
         </tr></thead><tbody>",
        notifications.len()
    );
    for notification in notifications {
        let status = match notification.status.as_str() {
            known @ ("pending" | "sending" | "delivered" | "failed") => known,
            _ => "other",
        };
        let error = notification.last_error.as_deref().unwrap_or_default();
        let shown_error = if error.chars().count() > PAGE_ERROR_CHARS_MAX {
            format!("{}…", error.chars().take(PAGE_ERROR_CHARS_MAX).collect::<String>())
        } else {
            error.to_owned()
        };
        let _ = write!(
            out,
            "<tr><td><b>{who}</b></td><td>{channel}</td><td class=\"address\">{address}</td><td class=\"num\">{level}</td>\
             <td><span class=\"status {status}\">{status_text}</span></td><td class=\"num\">{attempts}</td>\
             <td class=\"page-error\" title=\"{error}\">{shown_error}</td><td class=\"nowrap\">{delivered}</td></tr>",
            who = escape(&notification.user_name),
            channel = escape(&notification.channel),
            address = escape(&crate::paging::shown_address(&notification.channel, &notification.address)),
            level = notification.level,
            status_text = escape(&notification.status),
            attempts = notification.attempts,
            error = escape(error),
            shown_error = if error.is_empty() { "—".to_owned() } else { escape(&shown_error) },
            delivered = notification.delivered_at.map_or("—".to_owned(), format_time),
        );
    }
    out.push_str("</tbody></table>");
    out
}

fn actions(incident: &Incident, session: &Session) -> String {
    let form = |action: &str, label: &str, class: &str| {
        format!(
            "<form method=\"post\" action=\"/incidents/{id}/act\" class=\"inline\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><input type=\"hidden\" name=\"action\" value=\"{action}\">\
             <button class=\"{class}\" id=\"{action}\">{label}</button></form>",
            id = incident.id,
            csrf = session.csrf,
        )
    };
    let mut out = String::from("<div class=\"actions\">");
    if incident.status == Status::Triggered {
        out.push_str(&form("acknowledge", "Acknowledge", "primary"));
    }
    if matches!(incident.status, Status::Triggered | Status::Acknowledged) {
        out.push_str(&form("mitigate", "Mitigated", ""));
    }
    if incident.is_open() {
        out.push_str(&form("resolve", "Resolve", ""));
    }
    let _ = write!(
        out,
        "<form method=\"post\" action=\"/incidents/{id}/act\" class=\"inline\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><input type=\"hidden\" name=\"action\" value=\"severity\">\
         <select name=\"severity\" aria-label=\"severity\">",
        id = incident.id,
        csrf = session.csrf,
    );
    for severity in domain::Severity::ALL {
        let selected = if *severity == incident.severity { " selected" } else { "" };
        let _ = write!(out, "<option{selected}>{severity}</option>");
    }
    let _ = write!(
        out,
        "</select><button>Set severity</button></form></div>\
         <form method=\"post\" action=\"/incidents/{id}/act\" class=\"note\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><input type=\"hidden\" name=\"action\" value=\"note\">\
         <textarea name=\"text\" rows=\"2\" placeholder=\"Add a note: what you saw, what you tried, what changed\" required></textarea>\
         <button id=\"add-note\">Add note</button></form>",
        id = incident.id,
        csrf = session.csrf,
    );
    out
}

#[derive(Deserialize)]
struct ActForm {
    csrf: String,
    action: String,
    text: Option<String>,
    severity: Option<String>,
}

async fn incident_act(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<Id>,
    Form(form): Form<ActForm>,
) -> Page {
    let session = session(&app, &headers).await?;
    if !secret::constant_time_eq(&form.csrf, &session.csrf) {
        return Err(error_page(
            Some(&session),
            ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "the form has expired; reload the page and try again",
            ),
        ));
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
        Ok(command) => {
            app.store.update_incident(id, &command, &session.actor.0, app.now()).await.map_err(ApiError::from)
        }
        Err(err) => Err(err),
    };
    match result {
        Ok(_) => {
            app.pager.wake();
            Ok(Redirect::to(&format!("/incidents/{id}")).into_response())
        }
        Err(err) => Err(error_page(Some(&session), err)),
    }
}

async fn service_list(State(app): State<App>, headers: HeaderMap) -> Page {
    let session = session(&app, &headers).await?;
    let catalog = Catalog::load(&app).await.map_err(|err| error_page(Some(&session), err))?;
    let mut services: Vec<&Service> = catalog.services.values().collect();
    services.sort_by(|a, b| a.name.cmp(&b.name));
    let mut body = String::from(
        "<h1>Services</h1><table class=\"services\"><thead><tr><th>Service</th><th>Owner</th>\
         <th>What it does</th><th>Depends on</th></tr></thead><tbody>",
    );
    for service in services {
        let _ = write!(
            body,
            "<tr><td><a href=\"/services/{id}\">{name}</a></td><td>{team}</td><td>{description}</td><td>{deps}</td></tr>",
            id = service.id,
            name = escape(&service.name),
            team = catalog.teams.get(&service.team_id).map_or(String::new(), |t| escape(&t.name)),
            description = escape(&service.description),
            deps = service_links(&catalog, &service.dependencies),
        );
    }
    body.push_str("</tbody></table>");
    if catalog.services.is_empty() {
        body.push_str(
            "<p class=\"empty\">No services yet. Create one with <code>POST /api/v1/services</code>.</p>",
        );
    }
    Ok(page("Services", Some(&session), &body))
}

async fn service_page(State(app): State<App>, headers: HeaderMap, Path(service): Path<String>) -> Page {
    let session = session(&app, &headers).await?;
    let result = async {
        let id = v1::service_id(&app, &Ref::parse(&service)).await?;
        let catalog = Catalog::load(&app).await?;
        let query = IncidentQuery { service: Some(id.to_string()), limit: Some(10), ..Default::default() };
        let (incidents, _) = v1::list(&app, &query).await?;
        Ok::<_, ApiError>((id, catalog, incidents))
    }
    .await;
    let (id, catalog, incidents) = result.map_err(|err| error_page(Some(&session), err))?;
    let signals = service_signals(&app, id).await.map_err(|err| error_page(Some(&session), err))?;
    let on_call = service_on_call(&app, id).await.map_err(|err| error_page(Some(&session), err))?;
    let alerts = app
        .store
        .service_alerts(id, 20)
        .await
        .map_err(|err| error_page(Some(&session), ApiError::from(err)))?;
    let Some(service) = catalog.services.get(&id) else {
        return Err(error_page(Some(&session), ApiError::not_found(format!("there is no service {id}"))));
    };
    let dependents: Vec<Id> =
        catalog.services.values().filter(|s| s.dependencies.contains(&id)).map(|s| s.id).collect();
    let mut body = format!(
        "<h1>{name}</h1><p class=\"description\">{description}</p><dl class=\"facts\"><dt>Owner</dt><dd>{team}</dd>\
         <dt>Depends on</dt><dd>{deps}</dd><dt>Depended on by</dt><dd>{dependents}</dd>",
        name = escape(&service.name),
        description = escape(&service.description),
        team = catalog.teams.get(&service.team_id).map_or(String::new(), |t| escape(&t.name)),
        deps = service_links(&catalog, &service.dependencies),
        dependents = service_links(&catalog, &dependents),
    );
    if !service.links.is_empty() {
        body.push_str("<dt>Links</dt><dd>");
        for link in &service.links {
            let _ = write!(
                body,
                "<a href=\"{}\" rel=\"noopener noreferrer\">{}</a> ",
                escape(&link.url),
                escape(&link.title)
            );
        }
        body.push_str("</dd>");
    }
    body.push_str(&on_call);
    body.push_str("</dl>");
    body.push_str(&signals);
    body.push_str("<h2>Recent incidents</h2>");
    if incidents.is_empty() {
        body.push_str("<p class=\"empty\">None.</p>");
    } else {
        body.push_str("<ul class=\"recent\">");
        for incident in &incidents {
            let _ = write!(
                body,
                "<li><span class=\"status {status}\">{status}</span> <a href=\"/incidents/{id}\">#{id} {title}</a> \
                 <span class=\"muted\">{at}</span></li>",
                status = incident.status,
                id = incident.id,
                title = escape(&incident.title),
                at = format_time(incident.created_at),
            );
        }
        body.push_str("</ul>");
    }
    if !alerts.is_empty() {
        body.push_str(
            "<h2>Recent alerts</h2><table class=\"alerts\"><thead><tr><th>Status</th><th>Sev</th><th>Summary</th>\
             <th>Source</th><th>Count</th><th>Last seen</th><th>Incident</th></tr></thead><tbody>",
        );
        for alert in &alerts {
            let incident = match (alert.incident_id, alert.silence_id) {
                (Some(id), _) => format!("<a href=\"/incidents/{id}\">#{id}</a>"),
                (None, Some(silence)) => format!("<span class=\"muted\">silenced ({silence})</span>"),
                (None, None) => "—".to_owned(),
            };
            let _ = write!(
                body,
                "<tr><td><span class=\"status {status}\">{status}</span></td><td>{sev}</td><td>{summary}</td><td>{source}</td>\
                 <td class=\"num\">{count}</td><td>{last}</td><td>{incident}</td></tr>",
                status = alert.status.as_str(),
                sev = alert.severity,
                summary = escape(&alert.summary),
                source = escape(&alert.source),
                count = alert.event_count,
                last = format_time(alert.last_seen_at),
            );
        }
        body.push_str("</tbody></table>");
    }
    let _ = write!(
        body,
        "<h2 id=\"runbook\">Runbook</h2><div class=\"markdown\">{}</div><h2>Documentation</h2><div class=\"markdown\">{}</div>",
        if service.runbook.is_empty() {
            "<p class=\"empty\">No runbook yet.</p>".to_owned()
        } else {
            markdown::render(&service.runbook)
        },
        if service.documentation.is_empty() {
            "<p class=\"empty\">No documentation yet.</p>".to_owned()
        } else {
            markdown::render(&service.documentation)
        },
    );
    Ok(page(&service.name, Some(&session), &body))
}

/// Hours of golden-signal history shown on a service's page.
const SERVICE_SIGNAL_HOURS: i64 = 6;

/// The golden signals of a service over the last hours, as charts with anomalies shaded.
async fn service_signals(app: &App, service_id: Id) -> Result<String, ApiError> {
    let signals = app.store.golden_signals(Some(service_id)).await?;
    if signals.is_empty() {
        return Ok(String::new());
    }
    let to = app.now();
    let from = to - jiff::SignedDuration::from_hours(SERVICE_SIGNAL_HOURS);
    let anomalies = app.store.anomalies(service_id, from, to).await?;
    let mut charts = String::new();
    for signal in signals {
        let samples = app.store.samples(signal.id, from, to).await?;
        let spans = anomaly_spans(&anomalies, signal.id, to);
        let caption = format!(
            "<figcaption><b>{}</b> <span class=\"muted\">bad {}, every {} s{}</span></figcaption>",
            signal.signal,
            signal.bad,
            signal.step_secs,
            if signal.open_incident { ", opens incidents" } else { "" }
        );
        let svg = if samples.is_empty() {
            "<p class=\"empty\">No samples yet.</p>".to_owned()
        } else {
            chart(&samples, &spans, from, to, to)
        };
        let class = if spans.is_empty() { "chart" } else { "chart moved" };
        let _ = write!(charts, "<figure class=\"{class}\">{caption}{svg}</figure>");
    }
    Ok(format!("<h2>Golden signals (last {SERVICE_SIGNAL_HOURS} h)</h2><div class=\"charts\">{charts}</div>"))
}

/// Minutes of golden-signal history shown before an incident started, and after.
const MOVED_BEFORE_MINS: i64 = 60;
const MOVED_AFTER_MINS: i64 = 30;

/// "What moved": the golden signals of the incident's service and of its dependencies around the
/// incident's start, each a small chart with the expected band and anomalies shaded.
async fn what_moved(app: &App, incident: &Incident, catalog: &Catalog) -> Result<String, ApiError> {
    let from = incident.created_at - jiff::SignedDuration::from_mins(MOVED_BEFORE_MINS);
    let to = (incident.created_at + jiff::SignedDuration::from_mins(MOVED_AFTER_MINS))
        .min(app.now().max(incident.created_at));
    let to = to.max(incident.created_at + jiff::SignedDuration::from_secs(60));
    let mut service_ids = vec![incident.service_id];
    if let Some(service) = catalog.services.get(&incident.service_id) {
        service_ids.extend(&service.dependencies);
    }
    let mut charts = String::new();
    for service_id in service_ids {
        let signals = app.store.golden_signals(Some(service_id)).await?;
        if signals.is_empty() {
            continue;
        }
        let anomalies = app.store.anomalies(service_id, from, to).await?;
        for signal in signals {
            let samples = app.store.samples(signal.id, from, to).await?;
            if samples.is_empty() {
                continue;
            }
            let spans = anomaly_spans(&anomalies, signal.id, to);
            let moved = !spans.is_empty();
            let last = samples.last().map_or(0.0, |s| s.value);
            let _ = write!(
                charts,
                "<figure class=\"chart{class}\" data-service=\"{service_id}\" data-signal=\"{signal}\"><figcaption>\
                 <b>{service}</b> {signal}{flag}<span class=\"muted\">{last}</span></figcaption>{svg}</figure>",
                class = if moved { " moved" } else { "" },
                service = escape(&catalog.service_name(service_id)),
                signal = signal.signal,
                flag = if moved { " <span class=\"flag\">moved</span> " } else { " " },
                last = crate::monitor::short(last),
                svg = chart(&samples, &spans, from, to, incident.created_at),
            );
        }
    }
    if charts.is_empty() {
        return Ok(String::new());
    }
    Ok(format!("<h2>What moved</h2><div class=\"charts\" id=\"what-moved\">{charts}</div>"))
}

/// The stretches of time during which golden signal `signal_id` was anomalous; one still going on
/// ends at `to`.
fn anomaly_spans(
    anomalies: &[firebreak_domain::Anomaly],
    signal_id: Id,
    to: Timestamp,
) -> Vec<(Timestamp, Timestamp)> {
    anomalies
        .iter()
        .filter(|a| a.golden_signal_id == signal_id)
        .map(|a| (a.started_at, a.ended_at.unwrap_or(to)))
        .collect()
}

/// An SVG chart of `samples` over `[from, to]`: the value as a line, the expected band shaded,
/// anomalies highlighted, and a mark at `mark` (the incident's start).
fn chart(
    samples: &[firebreak_domain::Sample],
    anomalies: &[(Timestamp, Timestamp)],
    from: Timestamp,
    to: Timestamp,
    mark: Timestamp,
) -> String {
    const W: f64 = 320.0;
    const H: f64 = 80.0;
    let banded: Vec<&firebreak_domain::Sample> = samples.iter().filter(|s| s.upper > s.lower).collect();
    let mut low = samples.iter().map(|s| s.value).fold(f64::INFINITY, f64::min);
    let mut high = samples.iter().map(|s| s.value).fold(f64::NEG_INFINITY, f64::max);
    for sample in &banded {
        low = low.min(sample.lower);
        high = high.max(sample.upper);
    }
    if high - low < 1e-9 {
        high += 1.0;
        low -= 1.0;
    }
    let span_secs = (to.as_second() - from.as_second()).max(1) as f64;
    let x = |at: Timestamp| ((at.as_second() - from.as_second()) as f64 / span_secs * W).clamp(0.0, W);
    let y = |v: f64| (H - 4.0 - (v - low) / (high - low) * (H - 8.0)).clamp(0.0, H);
    let mut svg = format!("<svg viewBox=\"0 0 {W} {H}\" width=\"{W}\" height=\"{H}\" role=\"img\">");
    for (start, end) in anomalies {
        let _ = write!(
            svg,
            "<rect class=\"anomaly\" x=\"{:.1}\" y=\"0\" width=\"{:.1}\" height=\"{H}\"/>",
            x(*start),
            (x(*end) - x(*start)).max(2.0)
        );
    }
    if banded.len() > 1 {
        let upper: Vec<String> = banded.iter().map(|s| format!("{:.1},{:.1}", x(s.at), y(s.upper))).collect();
        let lower: Vec<String> =
            banded.iter().rev().map(|s| format!("{:.1},{:.1}", x(s.at), y(s.lower))).collect();
        let _ = write!(svg, "<polygon class=\"band\" points=\"{} {}\"/>", upper.join(" "), lower.join(" "));
    }
    let line: Vec<String> = samples.iter().map(|s| format!("{:.1},{:.1}", x(s.at), y(s.value))).collect();
    let _ = write!(svg, "<polyline class=\"value\" points=\"{}\"/>", line.join(" "));
    let _ =
        write!(svg, "<line class=\"mark\" x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"0\" y2=\"{H}\"/></svg>", x(mark));
    svg
}

// ---- On call: who is on call now, schedules and escalation policies ----

/// How far ahead the end of a current shift is looked for; a longer shift is shown as "for N+ days".
const SHIFT_END_HORIZON_DAYS: i64 = 35;
/// Days of a schedule shown on its page, from today in the schedule's time zone.
const SCHEDULE_DAYS: i64 = 14;
/// Distinct colours for people on a schedule's day bars; more people than this share colours.
const PERSON_COLOURS: usize = 8;

/// Names of the people and schedules that the on-call pages mention.
struct Directory {
    users: HashMap<Id, String>,
    schedules: HashMap<Id, String>,
}

impl Directory {
    async fn load(app: &App) -> Result<Directory, ApiError> {
        let users = app.store.users().await?.into_iter().map(|u| (u.id, u.name)).collect();
        let schedules = app.store.schedules().await?.into_iter().map(|s| (s.id, s.name)).collect();
        Ok(Directory { users, schedules })
    }

    /// A user's name, escaped for HTML.
    fn user(&self, id: Id) -> String {
        self.users.get(&id).map_or_else(|| format!("user {id}"), |name| escape(name))
    }

    fn schedule_link(&self, id: Id) -> String {
        let name = self.schedules.get(&id).map_or_else(|| format!("schedule {id}"), |name| escape(name));
        format!("<a href=\"/schedules/{id}\">{name}</a>")
    }
}

/// An escalation policy with its targets resolved, ready to say who it pages now.
struct PolicyNow {
    id: Id,
    name: String,
    spec: firebreak_api::CreateEscalationPolicy,
    targets: Vec<Vec<oncall::Target>>,
}

impl PolicyNow {
    async fn load(app: &App, id: Id) -> Result<PolicyNow, ApiError> {
        let stored = app.store.escalation_policy(id).await?;
        let spec = oncall::policy_spec(&stored)?;
        let targets = oncall::policy_targets(app, &spec).await?;
        Ok(PolicyNow { id, name: stored.name, spec, targets })
    }

    fn link(&self) -> String {
        format!("<a href=\"/escalation-policies/{}\">{}</a>", self.id, escape(&self.name))
    }

    /// The people the first level pages at `now`, each once, in target order.
    fn first_paged(&self, now: Timestamp) -> Vec<Id> {
        let mut users = Vec::new();
        for user in self.targets.first().into_iter().flatten().flat_map(|target| target.on_call(now)) {
            if !users.contains(&user) {
                users.push(user);
            }
        }
        users
    }

    /// One view per level, in order.
    fn levels(&self, directory: &Directory, now: Timestamp) -> Vec<LevelView> {
        let mut after_minutes = 0;
        let mut views = Vec::with_capacity(self.spec.levels.len());
        for (index, (level, targets)) in self.spec.levels.iter().zip(&self.targets).enumerate() {
            let badge = if level.wakes_management {
                " <span class=\"tag wakes\" title=\"the one level allowed to wake management\">wakes management</span>"
            } else {
                ""
            };
            let pages = if targets.is_empty() {
                "<span class=\"muted\">nobody</span>".to_owned()
            } else {
                targets
                    .iter()
                    .map(|target| format!("<div>{}</div>", target_now(directory, target, now)))
                    .collect()
            };
            views.push(LevelView {
                number: format!("<span class=\"level\">{}</span>{badge}", index + 1),
                after: if after_minutes == 0 { "at once".to_owned() } else { minutes_text(after_minutes) },
                wait: minutes_text(level.timeout_minutes),
                pages,
            });
            after_minutes = after_minutes.saturating_add(level.timeout_minutes);
        }
        views
    }
}

/// One level of an escalation policy as the on-call pages show it; every field is HTML.
struct LevelView {
    number: String,
    /// When the level is paged, counted from the incident's start when nobody acknowledges.
    after: String,
    /// How long the level waits for an acknowledgement.
    wait: String,
    /// Who the level pages now, target by target.
    pages: String,
}

/// Who `schedule` has on call at `now`, and until when: the end of their shift or, in a gap, the
/// start of the next one. The end is `None` when it lies more than [`SHIFT_END_HORIZON_DAYS`] ahead.
fn stretch(schedule: &domain::Schedule, now: Timestamp) -> (Option<Id>, Option<Timestamp>) {
    let Ok(horizon) = now.checked_add(SignedDuration::from_hours(24 * SHIFT_END_HORIZON_DAYS)) else {
        return (schedule.on_call(now), None);
    };
    let first = schedule.shifts(now, horizon).ok().and_then(|shifts| shifts.first().copied());
    match first {
        Some(shift) if shift.start == now => (Some(shift.user), (shift.end < horizon).then_some(shift.end)),
        Some(shift) => (None, Some(shift.start)),
        None => (None, None),
    }
}

/// Who a schedule has on call now and until when, as HTML.
fn on_call_now(directory: &Directory, schedule: &domain::Schedule, now: Timestamp) -> String {
    let (user, until) = stretch(schedule, now);
    let who = match user {
        Some(user) => format!("<b>{}</b>", directory.user(user)),
        None => "<span class=\"muted\">nobody</span>".to_owned(),
    };
    let until = match until {
        Some(end) => format!(
            " <span class=\"muted\" title=\"{}\">until {} ({})</span>",
            format_time(end),
            local_time(end, &schedule.time_zone, "%a %d %b %H:%M %Z"),
            time_until(now, end)
        ),
        None if user.is_some() => format!(" <span class=\"muted\">for {SHIFT_END_HORIZON_DAYS}+ days</span>"),
        None => String::new(),
    };
    format!("{who}{until}")
}

/// A target of an escalation level as HTML: a person, a linked schedule with who it has on call,
/// or a team with its members.
fn target_now(directory: &Directory, target: &oncall::Target, now: Timestamp) -> String {
    match target {
        oncall::Target::User(id) => format!("<b>{}</b>", directory.user(*id)),
        oncall::Target::Schedule { id, schedule } => format!(
            "{} <span class=\"muted\">→</span> {}",
            directory.schedule_link(*id),
            on_call_now(directory, schedule, now)
        ),
        oncall::Target::Team { name, members, .. } => {
            let members = if members.is_empty() {
                "<span class=\"muted\">no members</span>".to_owned()
            } else {
                members
                    .iter()
                    .map(|id| format!("<b>{}</b>", directory.user(*id)))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            format!("team {} <span class=\"muted\">→</span> {members}", escape(name))
        }
    }
}

/// The escalation policy of every service that has one, each policy loaded once.
async fn service_policies(
    app: &App,
    catalog: &Catalog,
) -> Result<(HashMap<Id, Id>, HashMap<Id, PolicyNow>), ApiError> {
    let mut by_service = HashMap::new();
    let mut policies = HashMap::new();
    for service in catalog.services.values() {
        let Some(policy_id) = app.store.service_escalation_policy(service.id).await? else {
            continue;
        };
        by_service.insert(service.id, policy_id);
        if let std::collections::hash_map::Entry::Vacant(entry) = policies.entry(policy_id) {
            entry.insert(PolicyNow::load(app, policy_id).await?);
        }
    }
    Ok((by_service, policies))
}

async fn oncall_page(State(app): State<App>, headers: HeaderMap) -> Page {
    let session = session(&app, &headers).await?;
    let body = oncall_body(&app).await.map_err(|err| error_page(Some(&session), err))?;
    Ok(page("On call now", Some(&session), &body))
}

async fn oncall_body(app: &App) -> Result<String, ApiError> {
    let now = app.now();
    let catalog = Catalog::load(app).await?;
    let directory = Directory::load(app).await?;
    let (by_service, policies) = service_policies(app, &catalog).await?;
    let mut body = format!(
        "<h1>On call now</h1><p class=\"hint\">Who each service's escalation policy would page, level by \
         level, if an incident started now ({}).</p>",
        format_time(now)
    );
    let mut teams: Vec<&Team> = catalog.teams.values().collect();
    teams.sort_by(|a, b| a.name.cmp(&b.name));
    if teams.is_empty() {
        body.push_str(
            "<p class=\"empty\">No teams yet. Create one with <code>POST /api/v1/teams</code>.</p>",
        );
    }
    for team in teams {
        let mut services: Vec<&Service> =
            catalog.services.values().filter(|s| s.team_id == team.id).collect();
        services.sort_by(|a, b| a.name.cmp(&b.name));
        let mut first: Vec<Id> = Vec::new();
        for service in &services {
            let policy = by_service.get(&service.id).and_then(|id| policies.get(id));
            for user in policy.map(|p| p.first_paged(now)).unwrap_or_default() {
                if !first.contains(&user) {
                    first.push(user);
                }
            }
        }
        let first = if first.is_empty() {
            "<span class=\"muted\">nobody</span>".to_owned()
        } else {
            first.iter().map(|id| format!("<b>{}</b>", directory.user(*id))).collect::<Vec<_>>().join(", ")
        };
        let _ = write!(
            body,
            "<section class=\"team\" id=\"team-{id}\"><div class=\"team-head\"><h2>{name}</h2>\
             <span class=\"team-now\">paged first: {first}</span></div>",
            id = team.id,
            name = escape(&team.name),
        );
        if services.is_empty() {
            body.push_str("<p class=\"empty\">No services.</p></section>");
            continue;
        }
        body.push_str(
            "<table class=\"oncall\"><thead><tr><th>Service</th><th>Escalation policy</th><th>Level</th>\
             <th>Paged after</th><th>On call now</th></tr></thead>",
        );
        for service in services {
            let service_link = format!("<a href=\"/services/{}\">{}</a>", service.id, escape(&service.name));
            let policy = by_service.get(&service.id).and_then(|id| policies.get(id));
            let _ = write!(body, "<tbody id=\"service-{}\">", service.id);
            let levels = policy.map(|p| p.levels(&directory, now)).unwrap_or_default();
            match policy {
                None => {
                    let _ = write!(
                        body,
                        "<tr><td class=\"name\">{service_link}</td><td colspan=\"4\" class=\"muted\">\
                         No escalation policy: incidents of this service page nobody.</td></tr>"
                    );
                }
                Some(policy) if levels.is_empty() => {
                    let _ = write!(
                        body,
                        "<tr><td class=\"name\">{service_link}</td><td>{}</td><td colspan=\"3\" class=\"muted\">\
                         The policy has no levels.</td></tr>",
                        policy.link()
                    );
                }
                Some(policy) => {
                    for (index, level) in levels.iter().enumerate() {
                        body.push_str("<tr>");
                        if index == 0 {
                            let _ = write!(
                                body,
                                "<td class=\"name\" rowspan=\"{rows}\">{service_link}</td><td rowspan=\"{rows}\">{policy}</td>",
                                rows = levels.len(),
                                policy = policy.link(),
                            );
                        }
                        let _ = write!(
                            body,
                            "<td class=\"nowrap\">{}</td><td class=\"nowrap muted\">{}</td><td>{}</td></tr>",
                            level.number, level.after, level.pages
                        );
                    }
                }
            }
            body.push_str("</tbody>");
        }
        body.push_str("</table></section>");
    }
    Ok(body)
}

/// The escalation-policy facts of a service's page: which policy, and who its first level pages now.
async fn service_on_call(app: &App, service_id: Id) -> Result<String, ApiError> {
    let Some(policy_id) = app.store.service_escalation_policy(service_id).await? else {
        return Ok(
            "<dt>Escalation policy</dt><dd class=\"muted\">none: incidents of this service page nobody</dd>"
                .to_owned(),
        );
    };
    let policy = PolicyNow::load(app, policy_id).await?;
    let directory = Directory::load(app).await?;
    let now = app.now();
    let first = match policy.targets.first() {
        Some(targets) if !targets.is_empty() => targets
            .iter()
            .map(|target| format!("<div>{}</div>", target_now(&directory, target, now)))
            .collect::<String>(),
        _ => "<span class=\"muted\">nobody</span>".to_owned(),
    };
    Ok(format!(
        "<dt>Escalation policy</dt><dd>{}</dd><dt>On call now</dt><dd id=\"on-call\">{first}</dd>",
        policy.link()
    ))
}

async fn schedule_list(State(app): State<App>, headers: HeaderMap) -> Page {
    let session = session(&app, &headers).await?;
    let body = schedule_list_body(&app).await.map_err(|err| error_page(Some(&session), err))?;
    Ok(page("Schedules", Some(&session), &body))
}

async fn schedule_list_body(app: &App) -> Result<String, ApiError> {
    let now = app.now();
    let stored = app.store.schedules().await?;
    let directory = Directory::load(app).await?;
    let mut body = String::from("<h1>Schedules</h1>");
    if stored.is_empty() {
        body.push_str(
            "<p class=\"empty\">No schedules yet. Create one with <code>firebreak schedule create</code>.</p>",
        );
        return Ok(body);
    }
    body.push_str(
        "<table class=\"schedules\"><thead><tr><th>Schedule</th><th>Time zone</th><th>Layers</th>\
         <th>Overrides ahead</th><th>On call now</th></tr></thead><tbody>",
    );
    for stored in &stored {
        let schedule = oncall::schedule_of(stored)?;
        let upcoming = schedule.overrides.iter().filter(|cover| cover.end > now).count();
        let _ = write!(
            body,
            "<tr><td class=\"name\"><a href=\"/schedules/{id}\">{name}</a></td><td>{tz}</td><td class=\"num\">{layers}</td>\
             <td class=\"num\">{upcoming}</td><td>{now}</td></tr>",
            id = stored.id,
            name = escape(&stored.name),
            tz = escape(&stored.time_zone),
            layers = schedule.layers.len(),
            now = on_call_now(&directory, &schedule, now),
        );
    }
    body.push_str("</tbody></table>");
    Ok(body)
}

async fn schedule_page(State(app): State<App>, headers: HeaderMap, Path(id): Path<String>) -> Page {
    let session = session(&app, &headers).await?;
    let (title, body) = schedule_body(&app, &id).await.map_err(|err| error_page(Some(&session), err))?;
    Ok(page(&title, Some(&session), &body))
}

async fn schedule_body(app: &App, id: &str) -> Result<(String, String), ApiError> {
    let id = page_id(id, "schedule")?;
    let now = app.now();
    let stored = app.store.schedule(id).await?;
    let schedule = oncall::schedule_of(&stored)?;
    let directory = Directory::load(app).await?;
    let mut used_by = Vec::new();
    for policy in app.store.escalation_policies().await? {
        let spec = oncall::policy_spec(&policy)?;
        let uses = spec.levels.iter().flat_map(|l| &l.targets).any(|t| t.kind == "schedule" && t.id == id);
        if uses {
            used_by.push(format!(
                "<a href=\"/escalation-policies/{}\">{}</a>",
                policy.id,
                escape(&policy.name)
            ));
        }
    }
    let tz = &schedule.time_zone;
    let mut body = format!(
        "<h1>{name}</h1><dl class=\"facts\"><dt>Time zone</dt><dd>{tz_name}</dd>\
         <dt>On call now</dt><dd id=\"on-call\">{now_html}</dd><dt>Used by</dt><dd>{used_by}</dd></dl>",
        name = escape(&stored.name),
        tz_name = escape(&stored.time_zone),
        now_html = on_call_now(&directory, &schedule, now),
        used_by = if used_by.is_empty() { "—".to_owned() } else { used_by.join(", ") },
    );
    body.push_str(&schedule_days(&schedule, &directory, now)?);

    body.push_str(
        "<h2>Layers</h2><p class=\"hint\">A higher layer wins wherever it has someone on call; overrides win \
         over every layer.</p>",
    );
    if schedule.layers.is_empty() {
        body.push_str("<p class=\"empty\">No layers.</p>");
    } else {
        body.push_str(
            "<table class=\"layers\"><thead><tr><th>Layer</th><th>First hand-off</th><th>Shift</th>\
             <th>Rotation</th><th>On call</th></tr></thead><tbody>",
        );
        for (index, layer) in schedule.layers.iter().enumerate().rev() {
            let rotation: Vec<String> =
                layer.users.iter().map(|user| format!("<b>{}</b>", directory.user(*user))).collect();
            let restricted = if layer.restrictions.is_empty() {
                "always".to_owned()
            } else {
                layer.restrictions.iter().map(restriction_text).collect::<Vec<_>>().join("<br>")
            };
            let _ = write!(
                body,
                "<tr><td class=\"num\">{number}</td><td class=\"nowrap\">{start}</td><td class=\"nowrap\">{shift}</td>\
                 <td>{rotation}</td><td class=\"nowrap\">{restricted}</td></tr>",
                number = index + 1,
                start = local_time(layer.start, tz, "%a %Y-%m-%d %H:%M %Z"),
                shift = shift_text(layer.shift),
                rotation = rotation.join(" <span class=\"muted\">→</span> "),
            );
        }
        body.push_str("</tbody></table>");
    }

    body.push_str("<h2>Overrides</h2>");
    let mut overrides = schedule.overrides.clone();
    overrides.sort_by_key(|cover| cover.start);
    if overrides.is_empty() {
        body.push_str("<p class=\"empty\">None.</p>");
    } else {
        body.push_str(
            "<table class=\"overrides\" id=\"overrides\"><thead><tr><th>Who</th><th>From</th><th>To</th><th></th></tr>\
             </thead><tbody>",
        );
        for cover in &overrides {
            let (class, state) = if cover.end <= now {
                ("past", "ended")
            } else if cover.start <= now {
                ("", "<span class=\"tag cover\">now</span>")
            } else {
                ("", "upcoming")
            };
            let _ = write!(
                body,
                "<tr class=\"{class}\"><td><b>{who}</b></td><td class=\"nowrap\">{from}</td><td class=\"nowrap\">{to}</td>\
                 <td class=\"muted\">{state}</td></tr>",
                who = directory.user(cover.user),
                from = local_time(cover.start, tz, "%a %Y-%m-%d %H:%M %Z"),
                to = local_time(cover.end, tz, "%a %Y-%m-%d %H:%M %Z"),
            );
        }
        body.push_str("</tbody></table>");
    }
    Ok((stored.name, body))
}

/// A stretch of one day's schedule with one person on call, either by rotation or by override.
struct Piece {
    user: Id,
    start: Timestamp,
    end: Timestamp,
    cover: bool,
}

/// The next [`SCHEDULE_DAYS`] days of `schedule`, from the start of today in its time zone: one row per
/// day with a bar of who is on call when, and the same as text.
fn schedule_days(
    schedule: &domain::Schedule,
    directory: &Directory,
    now: Timestamp,
) -> Result<String, ApiError> {
    let tz = &schedule.time_zone;
    let today = now.to_zoned(tz.clone()).date();
    // Midnight of each day and of the day after the last; a date whose midnight cannot be computed
    // (past the end of time) ends the view early.
    let midnights: Vec<(jiff::civil::Date, Timestamp)> = (0..=SCHEDULE_DAYS)
        .map_while(|offset| {
            let date = today.checked_add(jiff::Span::new().days(offset)).ok()?;
            Some((date, date.to_zoned(tz.clone()).ok()?.timestamp()))
        })
        .collect();
    let (Some((_, from)), Some((_, to))) = (midnights.first(), midnights.last()) else {
        return Ok(String::new());
    };
    let shifts = schedule.shifts(*from, *to).map_err(ApiError::bad_request)?;
    let colours = person_colours(schedule);
    let mut out = format!(
        "<h2>Next two weeks</h2><p class=\"hint\">Times in {}. Striped stretches are overrides.</p>\
         <table class=\"days\" id=\"days\"><thead><tr><th>Day</th><th class=\"bar-cell\"><div class=\"ticks\">",
        escape(tz.iana_name().unwrap_or("the schedule's time zone"))
    );
    for hour in [0, 6, 12, 18] {
        let _ =
            write!(out, "<span style=\"left:{:.2}%\">{hour:02}:00</span>", f64::from(hour) / 24.0 * 100.0);
    }
    out.push_str("</div></th><th>Who</th></tr></thead><tbody>");
    for pair in midnights.windows(2) {
        let [(date, start), (_, end)] = pair else { continue };
        let pieces = day_pieces(schedule, &shifts, *start, *end);
        let span_secs = (end.as_second() - start.as_second()).max(1) as f64;
        let percent = |at: Timestamp| (at.as_second() - start.as_second()) as f64 / span_secs * 100.0;
        let is_today = *date == today;
        let _ = write!(
            out,
            "<tr{class}><th class=\"day\">{day}{today_tag}</th><td class=\"bar-cell\"><div class=\"bar\">",
            class = if is_today { " class=\"today\"" } else { "" },
            day = date.strftime("%a %d %b"),
            today_tag = if is_today { " <span class=\"tag\">today</span>" } else { "" },
        );
        let mut text = Vec::with_capacity(pieces.len());
        for piece in &pieces {
            let name = directory.user(piece.user);
            let from = local_time(piece.start, tz, "%H:%M");
            let to = if piece.end == *end { "24:00".to_owned() } else { local_time(piece.end, tz, "%H:%M") };
            let colour = colours.get(&piece.user).copied().unwrap_or(piece.user.unsigned_abs() as usize)
                % PERSON_COLOURS;
            let cover = if piece.cover { " cover" } else { "" };
            let _ = write!(
                out,
                "<span class=\"seg c{colour}{cover}\" style=\"left:{left:.3}%;width:{width:.3}%\" \
                 title=\"{name} {from}–{to}{note}\">{name}</span>",
                left = percent(piece.start),
                width = percent(piece.end) - percent(piece.start),
                note = if piece.cover { " (override)" } else { "" },
            );
            text.push(format!(
                "<div class=\"shift\"><span class=\"hours\">{from}–{to}</span> <b>{name}</b>{tag}</div>",
                tag = if piece.cover { " <span class=\"tag cover\">override</span>" } else { "" },
            ));
        }
        if is_today {
            let _ =
                write!(out, "<span class=\"now\" style=\"left:{:.3}%\" title=\"now\"></span>", percent(now));
        }
        if text.is_empty() {
            text.push("<span class=\"muted\">nobody on call</span>".to_owned());
        }
        let _ = write!(out, "</div></td><td class=\"shifts\">{}</td></tr>", text.concat());
    }
    out.push_str("</tbody></table>");
    Ok(out)
}

/// The final shifts overlapping `[start, end)`, clipped to it and cut where overrides begin or end,
/// each marked with whether an override puts its person on call. An override wins wherever it
/// covers, so a stretch is an override's exactly when some override covers its start.
fn day_pieces(
    schedule: &domain::Schedule,
    shifts: &[domain::Shift],
    start: Timestamp,
    end: Timestamp,
) -> Vec<Piece> {
    let mut pieces: Vec<Piece> = Vec::new();
    for shift in shifts.iter().filter(|shift| shift.start < end && shift.end > start) {
        let from = shift.start.max(start);
        let to = shift.end.min(end);
        let mut cuts: Vec<Timestamp> = schedule
            .overrides
            .iter()
            .flat_map(|cover| [cover.start, cover.end])
            .filter(|at| from < *at && *at < to)
            .collect();
        cuts.push(from);
        cuts.push(to);
        cuts.sort();
        cuts.dedup();
        for window in cuts.windows(2) {
            let [piece_start, piece_end] = window else { continue };
            let cover = schedule
                .overrides
                .iter()
                .any(|cover| cover.start <= *piece_start && *piece_start < cover.end);
            match pieces.last_mut() {
                Some(last) if last.user == shift.user && last.cover == cover && last.end == *piece_start => {
                    last.end = *piece_end;
                }
                _ => pieces.push(Piece { user: shift.user, start: *piece_start, end: *piece_end, cover }),
            }
        }
    }
    pieces
}

/// A colour index for each person on `schedule`, in order of first appearance in its layers and then
/// its overrides, so the people of one schedule get distinct colours while there are few enough.
fn person_colours(schedule: &domain::Schedule) -> HashMap<Id, usize> {
    let mut colours = HashMap::new();
    let people = schedule
        .layers
        .iter()
        .flat_map(|layer| &layer.users)
        .chain(schedule.overrides.iter().map(|c| &c.user));
    for user in people {
        let next = colours.len();
        colours.entry(*user).or_insert(next);
    }
    colours
}

async fn policy_list(State(app): State<App>, headers: HeaderMap) -> Page {
    let session = session(&app, &headers).await?;
    let body = policy_list_body(&app).await.map_err(|err| error_page(Some(&session), err))?;
    Ok(page("Escalation policies", Some(&session), &body))
}

async fn policy_list_body(app: &App) -> Result<String, ApiError> {
    let now = app.now();
    let catalog = Catalog::load(app).await?;
    let directory = Directory::load(app).await?;
    let (by_service, _) = service_policies(app, &catalog).await?;
    let stored = app.store.escalation_policies().await?;
    let mut body = String::from("<h1>Escalation policies</h1>");
    if stored.is_empty() {
        body.push_str(
            "<p class=\"empty\">No escalation policies yet. Create one with <code>firebreak policy create</code>.</p>",
        );
        return Ok(body);
    }
    body.push_str(
        "<table class=\"policies\"><thead><tr><th>Policy</th><th>Levels</th><th>Repeats</th>\
         <th>Paged first now</th><th>Used by</th></tr></thead><tbody>",
    );
    for stored in stored {
        let policy = PolicyNow::load(app, stored.id).await?;
        let first: Vec<String> =
            policy.first_paged(now).iter().map(|id| format!("<b>{}</b>", directory.user(*id))).collect();
        let services: Vec<Id> = by_service
            .iter()
            .filter(|(_, policy_id)| **policy_id == policy.id)
            .map(|(service, _)| *service)
            .collect();
        let _ = write!(
            body,
            "<tr><td class=\"name\">{link}</td><td class=\"num\">{levels}</td><td class=\"num\">{repeat}</td>\
             <td>{first}</td><td>{services}</td></tr>",
            link = policy.link(),
            levels = policy.spec.levels.len(),
            repeat = policy.spec.repeat,
            first = if first.is_empty() {
                "<span class=\"muted\">nobody</span>".to_owned()
            } else {
                first.join(", ")
            },
            services = sorted_service_links(&catalog, services),
        );
    }
    body.push_str("</tbody></table>");
    Ok(body)
}

async fn policy_page(State(app): State<App>, headers: HeaderMap, Path(id): Path<String>) -> Page {
    let session = session(&app, &headers).await?;
    let (title, body) = policy_body(&app, &id).await.map_err(|err| error_page(Some(&session), err))?;
    Ok(page(&title, Some(&session), &body))
}

async fn policy_body(app: &App, id: &str) -> Result<(String, String), ApiError> {
    let id = page_id(id, "escalation policy")?;
    let now = app.now();
    let policy = PolicyNow::load(app, id).await?;
    let catalog = Catalog::load(app).await?;
    let directory = Directory::load(app).await?;
    let (by_service, _) = service_policies(app, &catalog).await?;
    let services: Vec<Id> =
        by_service.iter().filter(|(_, policy_id)| **policy_id == id).map(|(service, _)| *service).collect();
    let repeat = match policy.spec.repeat {
        0 => "no: each level is paged once".to_owned(),
        1 => "once more from level 1 when the last level times out".to_owned(),
        n => format!("{n} more times from level 1 when the last level times out"),
    };
    let mut body = format!(
        "<h1>{name}</h1><dl class=\"facts\"><dt>Repeats</dt><dd>{repeat}</dd><dt>Used by</dt><dd id=\"used-by\">{services}</dd></dl>\
         <h2>Levels</h2><p class=\"hint\">Each level is paged in turn until someone acknowledges; times count \
         from when the incident starts.</p>",
        name = escape(&policy.name),
        services = sorted_service_links(&catalog, services),
    );
    let levels = policy.levels(&directory, now);
    if levels.is_empty() {
        body.push_str("<p class=\"empty\">No levels.</p>");
    } else {
        body.push_str(
            "<table class=\"levels\" id=\"levels\"><thead><tr><th>Level</th><th>Paged after</th>\
             <th>Waits for an ack</th><th>Pages (on call now)</th></tr></thead><tbody>",
        );
        for level in &levels {
            let _ = write!(
                body,
                "<tr><td class=\"nowrap\">{}</td><td class=\"nowrap muted\">{}</td><td class=\"nowrap muted\">{}</td>\
                 <td>{}</td></tr>",
                level.number, level.after, level.wait, level.pages
            );
        }
        body.push_str("</tbody></table>");
    }
    Ok((policy.name.clone(), body))
}

/// Links to `services`, sorted by name.
fn sorted_service_links(catalog: &Catalog, mut services: Vec<Id>) -> String {
    services.sort_by_key(|id| catalog.service_name(*id));
    service_links(catalog, &services)
}

/// The id in a page's path; anything else is a page that does not exist.
fn page_id(text: &str, what: &str) -> Result<Id, ApiError> {
    text.parse().map_err(|_| ApiError::not_found(format!("there is no {what} {text:?}")))
}

/// `at` as the wall-clock time in `time_zone`, formatted with `format` (strftime).
fn local_time(at: Timestamp, time_zone: &TimeZone, format: &str) -> String {
    jiff::fmt::strtime::format(format, &at.to_zoned(time_zone.clone())).unwrap_or_else(|_| format_time(at))
}

fn time_until(now: Timestamp, then: Timestamp) -> String {
    let secs = then.as_second().saturating_sub(now.as_second()).max(0);
    match secs {
        0..60 => "in under a minute".to_owned(),
        60..3600 => format!("in {}m", secs / 60),
        3600..86400 => format!("in {}h {}m", secs / 3600, secs % 3600 / 60),
        _ => format!("in {}d {}h", secs / 86400, secs % 86400 / 3600),
    }
}

fn minutes_text(minutes: i64) -> String {
    match (minutes / 60, minutes % 60) {
        (0, minutes) => format!("{minutes} min"),
        (hours, 0) => format!("{hours} h"),
        (hours, minutes) => format!("{hours} h {minutes} min"),
    }
}

fn shift_text(shift: domain::ShiftLength) -> String {
    let (count, unit) = match shift {
        domain::ShiftLength::Hours(n) => (n, "hour"),
        domain::ShiftLength::Days(n) => (n, "day"),
        domain::ShiftLength::Weeks(n) => (n, "week"),
    };
    if count == 1 { format!("1 {unit}") } else { format!("{count} {unit}s") }
}

fn restriction_text(restriction: &domain::Restriction) -> String {
    let time = |time: jiff::civil::Time| format!("{:02}:{:02}", time.hour(), time.minute());
    let day = |day: Option<jiff::civil::Weekday>| {
        use jiff::civil::Weekday::*;
        match day {
            Some(Monday) => "Mon ",
            Some(Tuesday) => "Tue ",
            Some(Wednesday) => "Wed ",
            Some(Thursday) => "Thu ",
            Some(Friday) => "Fri ",
            Some(Saturday) => "Sat ",
            Some(Sunday) => "Sun ",
            None => "",
        }
    };
    match restriction.kind {
        domain::RestrictionKind::Daily => {
            format!("daily {}–{}", time(restriction.start_time), time(restriction.end_time))
        }
        // A window within one day reads best without repeating the day.
        domain::RestrictionKind::Weekly
            if restriction.start_day == restriction.end_day
                && restriction.start_time < restriction.end_time =>
        {
            format!(
                "{}{}–{}",
                day(restriction.start_day),
                time(restriction.start_time),
                time(restriction.end_time)
            )
        }
        domain::RestrictionKind::Weekly => format!(
            "{}{}–{}{}",
            day(restriction.start_day),
            time(restriction.start_time),
            day(restriction.end_day),
            time(restriction.end_time)
        ),
    }
}

fn service_links(catalog: &Catalog, ids: &[Id]) -> String {
    if ids.is_empty() {
        return "—".to_owned();
    }
    ids.iter()
        .map(|id| format!("<a href=\"/services/{id}\">{}</a>", escape(&catalog.service_name(*id))))
        .collect::<Vec<_>>()
        .join(", ")
}

fn format_time(at: Timestamp) -> String {
    at.strftime("%Y-%m-%d %H:%M:%S UTC").to_string()
}

fn age(now: Timestamp, then: Timestamp) -> String {
    let secs = now.as_second().saturating_sub(then.as_second()).max(0);
    match secs {
        0..60 => format!("{secs}s ago"),
        60..3600 => format!("{}m ago", secs / 60),
        3600..86400 => format!("{}h {}m ago", secs / 3600, secs % 3600 / 60),
        _ => format!("{}d ago", secs / 86400),
    }
}

/// `text` with the characters that mean something in HTML escaped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
:root{--bg:#0f1115;--panel:#171a21;--line:#2a2f3a;--text:#e6e8ee;--muted:#9aa3b2;--link:#7cb7ff;
--red:#ff5d5d;--orange:#ffa24c;--yellow:#f2d14b;--green:#4cd07d;--blue:#6aa8ff}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--text);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
a{color:var(--link);text-decoration:none}a:hover{text-decoration:underline}
header{display:flex;align-items:center;gap:24px;padding:10px 20px;border-bottom:1px solid var(--line);background:var(--panel)}
.brand{font-weight:700;color:var(--orange);letter-spacing:.5px}
nav{display:flex;gap:18px;align-items:center;flex:1}nav form{margin-left:auto}
.who{color:var(--muted);margin-right:8px}
main{padding:16px 20px;max-width:1400px}
h1{font-size:20px;margin:4px 0 12px}h2{font-size:15px;margin:20px 0 8px;color:var(--muted);text-transform:uppercase;letter-spacing:.6px}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{color:var(--muted);font-weight:600;font-size:12px;text-transform:uppercase}
tr:hover td{background:#1b1f28}td.num{font-variant-numeric:tabular-nums;color:var(--muted)}td.title{font-weight:600}
.tabs{display:flex;gap:4px;margin-bottom:10px}.tabs a{padding:4px 10px;border-radius:4px;color:var(--muted)}
.tabs a.active{background:var(--line);color:var(--text)}
.status,.sev,.kind{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:700;border:1px solid}
.status.triggered{color:var(--red);border-color:var(--red)}.status.acknowledged{color:var(--yellow);border-color:var(--yellow)}
.status.mitigated{color:var(--blue);border-color:var(--blue)}.status.resolved{color:var(--green);border-color:var(--green)}
.sev.sev1{background:var(--red);color:#000;border-color:var(--red)}.sev.sev2{background:var(--orange);color:#000;border-color:var(--orange)}
.sev.sev3{color:var(--yellow);border-color:var(--yellow)}.sev.sev4{color:var(--muted);border-color:var(--muted)}
.kind{color:var(--muted);border-color:var(--line)}
tr.resolved td{opacity:.6}
.incident-head{display:flex;align-items:center;gap:16px;flex-wrap:wrap}.incident-head h1{margin:0}
.incident-head .num{color:var(--muted)}.badges{display:flex;gap:6px}
.columns{display:grid;grid-template-columns:minmax(0,1fr) 340px;gap:24px;margin-top:14px}
aside{background:var(--panel);border:1px solid var(--line);border-radius:6px;padding:12px 14px;align-self:start}
dl{display:grid;grid-template-columns:110px 1fr;gap:4px 8px;margin:0}dt{color:var(--muted)}dd{margin:0}
dl.facts{grid-template-columns:140px 1fr;max-width:900px}
.actions{display:flex;gap:8px;flex-wrap:wrap;align-items:center;margin-bottom:10px}
form.inline{display:inline-flex;gap:6px;align-items:center;margin:0}
button,select,input,textarea{font:inherit;color:var(--text);background:#222733;border:1px solid var(--line);border-radius:4px;padding:5px 12px}
button{cursor:pointer}button:hover{border-color:var(--muted)}
button.primary{background:var(--orange);color:#000;border-color:var(--orange);font-weight:700}
button.link{background:none;border:none;color:var(--link);padding:0}
form.note{display:flex;gap:8px;margin:6px 0 0}form.note textarea{flex:1;resize:vertical}
table.timeline td{border-bottom:1px solid #20242d}td.time{white-space:nowrap;color:var(--muted);font-variant-numeric:tabular-nums;width:1%}
td.actor{white-space:nowrap;color:var(--muted);width:1%}tr.note td:last-child{white-space:pre-wrap}
tr.alert td:last-child{color:var(--orange)}
.description{color:var(--muted);max-width:900px}.markdown{max-width:900px}.markdown pre,code{background:#222733;border-radius:4px;padding:1px 4px}
.markdown pre{padding:8px;overflow:auto}
.markdown h1,.markdown h2,.markdown h3{text-transform:none;letter-spacing:0;color:var(--text);font-size:15px}
.empty,.muted,.hint{color:var(--muted)}.error{color:var(--red)}
.login{max-width:380px;margin:60px auto}.login form{display:flex;flex-direction:column;gap:8px}
ul.recent{list-style:none;padding:0}
.charts{display:flex;flex-wrap:wrap;gap:10px}.chart{margin:0;background:var(--panel);border:1px solid var(--line);border-radius:6px;padding:6px 8px}
.chart.moved{border-color:var(--red)}.chart figcaption{font-size:12px;display:flex;gap:6px;align-items:center}.chart .flag{color:var(--red);font-weight:700}
.chart svg{display:block}.chart .band{fill:rgba(106,168,255,.18)}.chart .value{fill:none;stroke:var(--text);stroke-width:1.3}
.chart .anomaly{fill:rgba(255,93,93,.25)}.chart .mark{stroke:var(--orange);stroke-dasharray:3 3}ul.recent li{padding:3px 0}
.status.pending{color:var(--muted);border-color:var(--muted)}.status.sending{color:var(--blue);border-color:var(--blue)}
.status.delivered{color:var(--green);border-color:var(--green)}.status.failed{color:var(--red);border-color:var(--red)}
.status.other{color:var(--muted);border-color:var(--line)}
td.nowrap,td .nowrap{white-space:nowrap}td.name{font-weight:600}td.address{font-family:ui-monospace,monospace;font-size:12px}
td.page-error{color:var(--orange);max-width:360px}
.tag{display:inline-block;padding:0 6px;border-radius:8px;font-size:11px;font-weight:700;color:var(--muted);border:1px solid var(--line);vertical-align:1px}
.tag.wakes{color:var(--orange);border-color:var(--orange)}.tag.cover{color:var(--yellow);border-color:var(--yellow)}
span.level{display:inline-block;min-width:22px;font-weight:700}
section.team{margin-bottom:22px}.team-head{display:flex;align-items:baseline;gap:14px;flex-wrap:wrap}
.team-head h2{margin-bottom:6px}.team-now{color:var(--muted)}.team-now b{color:var(--text)}
table.oncall tbody{border-top:2px solid var(--line)}table.oncall td div+div{margin-top:2px}
table.oncall th:nth-child(1){width:16%}table.oncall th:nth-child(2){width:16%}table.oncall th:nth-child(3){width:14%}table.oncall th:nth-child(4){width:10%}
table.levels th:nth-child(1){width:18%}table.levels th:nth-child(2),table.levels th:nth-child(3){width:12%}
tr.past td{opacity:.5}
table.days th.day{white-space:nowrap;width:1%;font-size:13px;text-transform:none;color:var(--text);font-weight:600;padding-right:14px}
table.days th.bar-cell,table.days td.bar-cell{width:58%}table.days tr.today th.day{color:var(--orange)}
table.days td.shifts{font-size:13px}.shift .hours{color:var(--muted);font-variant-numeric:tabular-nums}
.ticks{position:relative;height:16px}.ticks span{position:absolute;top:0;font-weight:400;font-variant-numeric:tabular-nums;text-transform:none}
.bar{position:relative;height:24px;background:#12151b;border:1px solid var(--line);border-radius:4px;overflow:hidden}
.bar .seg{position:absolute;top:0;bottom:0;padding:3px 6px;font-size:12px;font-weight:600;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;
border-right:1px solid var(--bg);color:#0f1115}
.bar .seg.cover{background-image:repeating-linear-gradient(135deg,rgba(0,0,0,.28) 0 5px,transparent 5px 10px)}
.bar .now{position:absolute;top:-1px;bottom:-1px;width:2px;background:var(--red)}
.seg.c0{background:#6aa8ff}.seg.c1{background:#4cd07d}.seg.c2{background:#ffa24c}.seg.c3{background:#c39bff}
.seg.c4{background:#f2d14b}.seg.c5{background:#5fd4d4}.seg.c6{background:#ff8fb1}.seg.c7{background:#b4c26a}
@media (max-width:900px){.columns{grid-template-columns:1fr}}
"#;

#[cfg(test)]
mod tests {
    use super::*;

    /// A schedule in UTC with one layer of daily shifts from 2026-03-02 and the given overrides.
    fn schedule(users: &[Id], overrides: &[(Id, &str, &str)]) -> domain::Schedule {
        let at = |text: &str| format!("2026-03-02T{text}:00Z").parse::<Timestamp>().unwrap();
        domain::Schedule {
            time_zone: TimeZone::UTC,
            layers: vec![domain::Layer {
                start: at("00:00"),
                shift: domain::ShiftLength::Days(1),
                users: users.to_vec(),
                restrictions: vec![],
            }],
            overrides: overrides
                .iter()
                .map(|(user, start, end)| domain::Override { user: *user, start: at(start), end: at(end) })
                .collect(),
        }
    }

    fn check_day(schedule: &domain::Schedule, expected: &str) {
        let start: Timestamp = "2026-03-02T00:00:00Z".parse().unwrap();
        let end: Timestamp = "2026-03-03T00:00:00Z".parse().unwrap();
        let shifts = schedule.shifts(start, end).unwrap();
        let pieces: Vec<String> = day_pieces(schedule, &shifts, start, end)
            .iter()
            .map(|piece| {
                format!(
                    "{} {}-{}{}",
                    piece.user,
                    local_time(piece.start, &TimeZone::UTC, "%H:%M"),
                    local_time(piece.end, &TimeZone::UTC, "%H:%M"),
                    if piece.cover { " override" } else { "" }
                )
            })
            .collect();
        assert_eq!(pieces.join(", "), expected);
    }

    #[test]
    fn overrides_show_in_a_day() {
        check_day(&schedule(&[1, 2], &[]), "1 00:00-00:00");
        check_day(
            &schedule(&[1, 2], &[(3, "10:00", "12:00")]),
            "1 00:00-10:00, 3 10:00-12:00 override, 1 12:00-00:00",
        );
        // Covering for oneself still shows, though the final shifts merge it away.
        check_day(
            &schedule(&[1, 2], &[(1, "10:00", "12:00")]),
            "1 00:00-10:00, 1 10:00-12:00 override, 1 12:00-00:00",
        );
        // Overlapping overrides: the later one wins where they overlap, and both are overrides.
        check_day(
            &schedule(&[1, 2], &[(3, "10:00", "14:00"), (4, "12:00", "13:00")]),
            "1 00:00-10:00, 3 10:00-12:00 override, 4 12:00-13:00 override, 3 13:00-14:00 override, \
             1 14:00-00:00",
        );
        check_day(&schedule(&[], &[(3, "22:00", "23:00")]), "3 22:00-23:00 override");
    }

    #[test]
    fn the_current_stretch_ends_at_the_hand_off() {
        let schedule = schedule(&[1, 2], &[(3, "10:00", "12:00")]);
        let at = |text: &str| text.parse::<Timestamp>().unwrap();
        assert_eq!(
            stretch(&schedule, at("2026-03-02T09:00:00Z")),
            (Some(1), Some(at("2026-03-02T10:00:00Z")))
        );
        assert_eq!(
            stretch(&schedule, at("2026-03-02T11:00:00Z")),
            (Some(3), Some(at("2026-03-02T12:00:00Z")))
        );
        assert_eq!(stretch(&schedule, at("2026-03-01T23:00:00Z")), (None, Some(at("2026-03-02T00:00:00Z"))));
        let alone = domain::Schedule { layers: vec![], ..schedule };
        assert_eq!(stretch(&alone, at("2026-03-02T13:00:00Z")), (None, None));
    }
}
