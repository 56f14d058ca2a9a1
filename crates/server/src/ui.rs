//! The web UI: server-rendered HTML pages, no scripts, no build step.
//!
//! Pages: incident list, incident page (with actions), service catalog and service page. A person
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
use jiff::Timestamp;
use serde::Deserialize;

use crate::App;
use crate::auth::Actor;
use crate::error::ApiError;
use crate::extract::Path;
use crate::markdown;
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

async fn incident_page(State(app): State<App>, headers: HeaderMap, Path(id): Path<Id>) -> Page {
    let session = session(&app, &headers).await?;
    let result = async {
        let incident = app.store.incident(id).await?;
        let timeline = app.store.timeline(id).await?;
        let alerts = app.store.incident_alerts(id, 100).await?;
        let users: HashMap<Id, String> =
            app.store.users().await?.into_iter().map(|u| (u.id, u.name)).collect();
        Ok::<_, ApiError>((incident, timeline, alerts, users, Catalog::load(&app).await?))
    }
    .await;
    let (incident, timeline, alerts, users, catalog) =
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
        Ok(_) => Ok(Redirect::to(&format!("/incidents/{id}")).into_response()),
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
@media (max-width:900px){.columns{grid-template-columns:1fr}}
"#;
