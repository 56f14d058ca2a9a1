//! The service catalog and a service's page: what it does, who owns it, what it depends on, who
//! its escalation policy pages now, its golden signals, recent incidents and alerts, runbook and
//! documentation; and the forms that create a service, edit it, give it a new integration key
//! (each key shown once, with the URLs to send alerts to) and delete it.

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use firebreak_api::{self as api, Ref};
use firebreak_app::catalog::ServiceDetail;
use firebreak_domain::{Alert, GroupBy, Id, Incident, Service};
use jiff::{SignedDuration, Timestamp};
use maud::{Markup, PreEscaped, html};

use super::chart::{SignalChart, anomaly_spans, chart};
use super::format::{format_time, service_links, table_head};
use super::forms::{
    Fields, change_loaded, checkbox, confirmed, csrf_field, delete_form, parse_id, parse_number, problem,
    select, status_of, text_area, text_input,
};
use super::page::{Catalog, Page, Session, page_id};
use super::roster::{ServiceOnCall, service_on_call};
use crate::error::ApiError;
use crate::extract::{Form, Path};
use crate::markdown;
use crate::state::Shared;
use firebreak_api::IncidentQuery;

/// Hours of golden-signal history shown on a service's page.
const SERVICE_SIGNAL_HOURS: i64 = 6;
/// Most incidents listed on a service's page.
const RECENT_INCIDENTS: u32 = 10;
/// Most alerts listed on a service's page.
const RECENT_ALERTS: u32 = 20;

/// Everything a service's page shows, as loaded from the store.
struct ServiceData {
    id: Id,
    catalog: Catalog,
    incidents: Vec<Incident>,
    signals: Signals,
    on_call: Option<ServiceOnCall>,
    alerts: Vec<Alert>,
    now: Timestamp,
}

/// The golden signals of a service over `[from, to]`, one chart each.
struct Signals {
    from: Timestamp,
    to: Timestamp,
    charts: Vec<SignalChart>,
}

/// What a service form holds: what the person typed, or the service as it is.
#[derive(Debug, Default)]
struct ServiceDraft {
    name: String,
    /// The owner team's id.
    team: String,
    description: String,
    /// The escalation policy's id, or empty for none.
    escalation_policy: String,
    /// The ids of the services it depends on.
    dependencies: Vec<String>,
    runbook: String,
    documentation: String,
    /// One link a line: its title, then its URL.
    links: String,
    /// Label names, separated by commas.
    group_by: String,
    /// Minutes, or empty for no window.
    group_window: String,
    auto_resolve: bool,
}

/// What the selects of a service form offer, each as `(id, name)`.
struct ServiceChoices {
    teams: Vec<(String, String)>,
    policies: Vec<(String, String)>,
    services: Vec<(String, String)>,
}

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/services", get(service_list).post(create_service))
        .route("/services/new", get(new_service))
        .route("/services/{id}", get(service_page))
        .route("/services/{id}/edit", get(edit_service).post(save_service))
        .route("/services/{id}/rotate-key", post(rotate_key))
        .route("/services/{id}/delete", post(delete_service))
}

async fn service_list(State(server): State<Shared>, session: Session) -> Page {
    let catalog = Catalog::load(&server).await.map_err(|err| session.error(err))?;
    Ok(session.page("Services", list_body(&catalog)))
}

async fn service_page(State(server): State<Shared>, Path(service): Path<String>, session: Session) -> Page {
    let data = load_service(&server, &service).await.map_err(|err| session.error(err))?;
    let Some(service) = data.catalog.services.get(&data.id) else {
        return Err(session.error(ApiError::not_found(format!("there is no service {}", data.id))));
    };
    Ok(session.page(&service.name, service_body(service, &data)))
}

async fn new_service(State(server): State<Shared>, session: Session) -> Page {
    let choices = ServiceChoices::load(&server, None).await.map_err(|err| session.error(err))?;
    Ok(session.page("New service", new_service_body(&session, &ServiceDraft::default(), &choices, None)))
}

async fn create_service(
    State(server): State<Shared>,
    session: Session,
    Form(fields): Form<Vec<(String, String)>>,
) -> Page {
    let fields = Fields(fields);
    fields.check(&session).map_err(|err| session.error(err))?;
    let draft = ServiceDraft::from_fields(&fields);
    let result = async {
        let policy = draft.policy()?;
        let body = draft.create_request()?;
        let (detail, key) = server.create_service(&session.actor, body).await?;
        let id = detail.service.id;
        // A new service has no policy: it is set once the service exists.
        let policy_error = match policy {
            Some(policy) => {
                let change =
                    api::UpdateService { escalation_policy: Some(Some(policy)), ..Default::default() };
                server.update_service(&session.actor, &Ref::Id(id), change).await.err().map(ApiError::from)
            }
            None => None,
        };
        Ok::<_, ApiError>((detail, key, policy_error))
    }
    .await;
    match result {
        Ok((detail, key, policy_error)) => {
            let body = key_body(&server, &detail.service, &key, true, policy_error.as_ref());
            Ok(session.page(&format!("{} created", detail.service.name), body))
        }
        Err(err) => {
            let choices = ServiceChoices::load(&server, None).await.map_err(|err| session.error(err))?;
            let body = new_service_body(&session, &draft, &choices, Some(&err));
            Ok(session.page_with(err.status, "New service", body))
        }
    }
}

async fn edit_service(State(server): State<Shared>, Path(id): Path<String>, session: Session) -> Page {
    let result = async {
        let id = page_id(&id, "service")?;
        let detail = server.service(&Ref::Id(id)).await?;
        let choices = ServiceChoices::load(&server, Some(id)).await?;
        Ok::<_, ApiError>((detail, choices))
    }
    .await;
    let (detail, choices) = result.map_err(|err| session.error(err))?;
    let draft = ServiceDraft::of(&detail);
    Ok(session.page(
        &format!("Edit {}", detail.service.name),
        edit_service_body(&session, &detail, &draft, &choices, None),
    ))
}

async fn save_service(
    State(server): State<Shared>,
    Path(id): Path<String>,
    session: Session,
    Form(fields): Form<Vec<(String, String)>>,
) -> Page {
    let fields = Fields(fields);
    let draft = ServiceDraft::from_fields(&fields);
    let change = async |&id: &Id| {
        server.update_service(&session.actor, &Ref::Id(id), draft.update_request()?).await?;
        Ok(format!("/services/{id}"))
    };
    let again = async |&id: &Id, err| service_form_again(&server, &session, id, &draft, err).await;
    change_loaded(&session, &fields, async { page_id(&id, "service") }, change, again).await
}

async fn rotate_key(
    State(server): State<Shared>,
    Path(id): Path<String>,
    session: Session,
    Form(fields): Form<Vec<(String, String)>>,
) -> Page {
    let fields = Fields(fields);
    fields.check(&session).map_err(|err| session.error(err))?;
    let id = page_id(&id, "service").map_err(|err| session.error(err))?;
    let result = async {
        confirmed(&fields)?;
        let (_, key) = server.rotate_integration_key(&session.actor, &Ref::Id(id)).await?;
        Ok::<_, ApiError>((server.service(&Ref::Id(id)).await?, key))
    }
    .await;
    match result {
        Ok((detail, key)) => {
            let body = key_body(&server, &detail.service, &key, false, None);
            Ok(session.page(&format!("New key of {}", detail.service.name), body))
        }
        Err(err) => service_again_as_stored(&server, &session, id, err).await,
    }
}

async fn delete_service(
    State(server): State<Shared>,
    Path(id): Path<String>,
    session: Session,
    Form(fields): Form<Vec<(String, String)>>,
) -> Page {
    let fields = Fields(fields);
    let change = async |&id: &Id| {
        confirmed(&fields)?;
        server.delete_service(&session.actor, &Ref::Id(id)).await?;
        Ok("/services".to_owned())
    };
    let again = async |&id: &Id, err| service_again_as_stored(&server, &session, id, err).await;
    change_loaded(&session, &fields, async { page_id(&id, "service") }, change, again).await
}

/// The edit page of service `id` again, filled in as it is stored, with what was wrong.
async fn service_again_as_stored(server: &Shared, session: &Session, id: Id, err: ApiError) -> Page {
    let detail = server.service(&Ref::Id(id)).await.map_err(|other| session.error(other.into()))?;
    service_form_again(server, session, id, &ServiceDraft::of(&detail), err).await
}

/// The edit page of service `id` again, with `draft` and what was wrong.
async fn service_form_again(
    server: &Shared,
    session: &Session,
    id: Id,
    draft: &ServiceDraft,
    err: ApiError,
) -> Page {
    let result = async {
        let detail = server.service(&Ref::Id(id)).await?;
        let choices = ServiceChoices::load(server, Some(id)).await?;
        Ok::<_, ApiError>((detail, choices))
    }
    .await;
    let (detail, choices) = result.map_err(|other| session.error(other))?;
    let body = edit_service_body(session, &detail, draft, &choices, Some(&err));
    Ok(session.page_with(status_of(Some(&err)), &format!("Edit {}", detail.service.name), body))
}

impl ServiceChoices {
    /// The teams, policies and services to choose from; a service cannot depend on `except`.
    async fn load(server: &Shared, except: Option<Id>) -> Result<ServiceChoices, ApiError> {
        let named = |id: Id, name: &str| (id.to_string(), name.to_owned());
        let teams = server.teams().await?.iter().map(|team| named(team.id, &team.name)).collect();
        let policies = server.policies().await?.iter().map(|policy| named(policy.id, &policy.name)).collect();
        let services = server
            .services()
            .await?
            .iter()
            .filter(|detail| Some(detail.service.id) != except)
            .map(|detail| named(detail.service.id, &detail.service.name))
            .collect();
        Ok(ServiceChoices { teams, policies, services })
    }
}

impl ServiceDraft {
    /// The form of a service as it is.
    fn of(detail: &ServiceDetail) -> ServiceDraft {
        let service = &detail.service;
        ServiceDraft {
            name: service.name.clone(),
            team: service.team_id.to_string(),
            description: service.description.clone(),
            escalation_policy: detail.escalation_policy_id.map(|id| id.to_string()).unwrap_or_default(),
            dependencies: service.dependencies.iter().map(Id::to_string).collect(),
            runbook: service.runbook.clone(),
            documentation: service.documentation.clone(),
            links: service
                .links
                .iter()
                .map(|link| format!("{} {}", link.title, link.url))
                .collect::<Vec<_>>()
                .join("\n"),
            group_by: detail
                .settings
                .grouping
                .by
                .iter()
                .map(|by| match by {
                    GroupBy::Label(label) => label.as_str(),
                })
                .collect::<Vec<_>>()
                .join(", "),
            group_window: detail
                .settings
                .grouping
                .window
                .map(|w| (w.as_secs() / 60).to_string())
                .unwrap_or_default(),
            auto_resolve: detail.settings.auto_resolve,
        }
    }

    /// The form as it was sent.
    fn from_fields(fields: &Fields) -> ServiceDraft {
        ServiceDraft {
            name: fields.get("name").to_owned(),
            team: fields.get("team").to_owned(),
            description: fields.get("description").to_owned(),
            escalation_policy: fields.get("escalation_policy").to_owned(),
            dependencies: fields.all("dependencies").into_iter().map(str::to_owned).collect(),
            runbook: fields.get("runbook").to_owned(),
            documentation: fields.get("documentation").to_owned(),
            links: fields.get("links").to_owned(),
            group_by: fields.get("group_by").to_owned(),
            group_window: fields.get("group_window").to_owned(),
            auto_resolve: fields.get("auto_resolve") == "yes",
        }
    }

    fn policy(&self) -> Result<Option<Id>, ApiError> {
        match self.escalation_policy.trim() {
            "" => Ok(None),
            id => parse_id("an escalation policy", id).map(Some),
        }
    }

    fn team(&self) -> Result<Ref, ApiError> {
        parse_id("the team that owns the service", &self.team).map(Ref::Id)
    }

    fn dependencies(&self) -> Result<Vec<Ref>, ApiError> {
        self.dependencies.iter().map(|id| parse_id("a service it depends on", id).map(Ref::Id)).collect()
    }

    /// The links, one a line: the last word of a line is its URL, the words before it its title
    /// (the URL itself when there are none).
    fn links(&self) -> Vec<api::Link> {
        self.links
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .map(|line| match line.rsplit_once(char::is_whitespace) {
                Some((title, url)) => api::Link { title: title.trim().to_owned(), url: url.to_owned() },
                None => api::Link { title: line.to_owned(), url: line.to_owned() },
            })
            .collect()
    }

    fn create_request(&self) -> Result<api::CreateService, ApiError> {
        Ok(api::CreateService {
            name: self.name.trim().to_owned(),
            team: self.team()?,
            description: self.description.trim().to_owned(),
            documentation: self.documentation.clone(),
            runbook: self.runbook.clone(),
            links: self.links(),
            dependencies: self.dependencies()?,
        })
    }

    fn update_request(&self) -> Result<api::UpdateService, ApiError> {
        let group_by =
            self.group_by.split(',').map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect();
        let group_window = match self.group_window.trim() {
            "" => 0,
            minutes => parse_number("the group window", minutes)?,
        };
        Ok(api::UpdateService {
            name: Some(self.name.trim().to_owned()),
            team: Some(self.team()?),
            description: Some(self.description.trim().to_owned()),
            documentation: Some(self.documentation.clone()),
            runbook: Some(self.runbook.clone()),
            links: Some(self.links()),
            dependencies: Some(self.dependencies()?),
            group_by: Some(group_by),
            group_window_minutes: Some(group_window),
            auto_resolve: Some(self.auto_resolve),
            escalation_policy: Some(self.policy()?),
        })
    }
}

/// The page with the form for a new service.
fn new_service_body(
    session: &Session,
    draft: &ServiceDraft,
    choices: &ServiceChoices,
    error: Option<&ApiError>,
) -> Markup {
    html! {
        h1 { "New service" }
        @if choices.teams.is_empty() {
            p.empty { "A service is owned by a team: " a href="/teams/new" { "create a team" } " first." }
        }
        form.edit #service-form method="post" action="/services" {
            (problem(error))
            (csrf_field(session))
            (service_fields(draft, choices, false))
            div.buttons { button.primary #save { "Create service" } a href="/services" { "Cancel" } }
        }
    }
}

/// The edit page of a service: its form, and the form that gives it a new integration key.
fn edit_service_body(
    session: &Session,
    detail: &ServiceDetail,
    draft: &ServiceDraft,
    choices: &ServiceChoices,
    error: Option<&ApiError>,
) -> Markup {
    let service = &detail.service;
    html! {
        h1 { "Edit " (service.name) }
        form.edit #service-form method="post" action={ "/services/" (service.id) "/edit" } {
            (problem(error))
            (csrf_field(session))
            (service_fields(draft, choices, true))
            div.buttons {
                button.primary #save { "Save" }
                a href={ "/services/" (service.id) } { "Cancel" }
            }
        }
        h2 { "Integration key" }
        p.hint {
            "A new key is shown once; the old one stops working at once, so monitoring that sends "
            "with it must be given the new one."
        }
        form.danger method="post" action={ "/services/" (service.id) "/rotate-key" } {
            (csrf_field(session))
            label.check {
                input type="checkbox" name="confirm" value="yes" required;
                " Yes, replace the key of " (service.name)
            }
            button #rotate-key { "Give it a new key" }
        }
        h2 { "Delete" }
        p.hint {
            "Its integration key stops working and its name is free again; its incidents and alerts "
            "stay. A service that others depend on, or with incidents not resolved, cannot be deleted."
        }
        (delete_form(session, &format!("/services/{}/delete", service.id), &service.name))
    }
}

/// The fields of a service form; the alert settings only when editing, as a new service starts
/// with the defaults.
fn service_fields(draft: &ServiceDraft, choices: &ServiceChoices, editing: bool) -> Markup {
    let mut policies = vec![(String::new(), "none: incidents page nobody".to_owned())];
    policies.extend(choices.policies.iter().cloned());
    let dependencies: Vec<&str> = draft.dependencies.iter().map(String::as_str).collect();
    html! {
        (text_input("Name", "name", &draft.name, ""))
        (select("Owner team", "team", &choices.teams, &[draft.team.as_str()], false, ""))
        (text_input("What it does", "description", &draft.description, "a sentence or two"))
        (select("Escalation policy", "escalation_policy", &policies, &[draft.escalation_policy.as_str()], false, ""))
        @if !choices.services.is_empty() {
            (select("Depends on", "dependencies", &choices.services, &dependencies, true,
                "hold Ctrl (⌘ on a Mac) to choose several"))
        }
        (text_area("Links", "links", &draft.links, 3, "one a line: a title, then the URL"))
        (text_area("Runbook", "runbook", &draft.runbook, 8, "Markdown"))
        (text_area("Documentation", "documentation", &draft.documentation, 4, "Markdown"))
        @if editing {
            fieldset {
                legend { "Alerts" }
                (text_input("Group alerts by", "group_by", &draft.group_by,
                    "label names, separated by commas; none: one open incident for the service"))
                (text_input("Group window (minutes)", "group_window", &draft.group_window,
                    "an alert joins an incident opened at most this long ago; empty: while it is open"))
                (checkbox("Resolve the incident when all its alerts have resolved", "auto_resolve", draft.auto_resolve))
            }
        }
    }
}

/// The page that shows a service's integration key, this once, with where to send alerts.
fn key_body(
    server: &Shared,
    service: &Service,
    key: &str,
    created: bool,
    error: Option<&ApiError>,
) -> Markup {
    let base = server.public_url().trim_end_matches('/');
    html! {
        h1 {
            @if created { "Created " (service.name) } @else { "New key of " (service.name) }
        }
        (problem(error))
        p { "Its integration key is shown this once: copy it now. Only its hash is stored." }
        p { code #integration-key { (key) } }
        h2 { "Where to send alerts" }
        dl.facts {
            dt { "PagerDuty Events v2" }
            dd { code { "POST " (base) "/v2/enqueue" } " with " code { "\"routing_key\": \"" (key) "\"" } }
            dt { "Alertmanager" }
            dd { code { (base) "/api/v1/ingest/alertmanager/" (key) } }
            dt { "Grafana" }
            dd { code { (base) "/api/v1/ingest/grafana/" (key) } }
        }
        p { a href={ "/services/" (service.id) } { "Go to " (service.name) " →" } }
    }
}

async fn load_service(server: &Shared, service: &str) -> Result<ServiceData, ApiError> {
    let detail = server.service(&Ref::parse(service)).await?;
    let id = detail.service.id;
    let catalog = Catalog::load(server).await?;
    let query =
        IncidentQuery { service: Some(id.to_string()), limit: Some(RECENT_INCIDENTS), ..Default::default() };
    let incidents = server.incidents(&query).await?.incidents;
    let now = server.now();
    let signals = load_signals(server, id, now).await?;
    let on_call = ServiceOnCall::load(server, detail.escalation_policy_id).await?;
    let alerts = server.service_alerts(&Ref::Id(id), RECENT_ALERTS).await?;
    Ok(ServiceData { id, catalog, incidents, signals, on_call, alerts, now })
}

/// The golden signals of a service over the last [`SERVICE_SIGNAL_HOURS`] before `now`.
async fn load_signals(server: &Shared, service_id: Id, now: Timestamp) -> Result<Signals, ApiError> {
    let from = now - SignedDuration::from_hours(SERVICE_SIGNAL_HOURS);
    let signals = server.golden_signals_of(service_id).await?;
    let mut charts = Vec::with_capacity(signals.len());
    if !signals.is_empty() {
        let anomalies = server.anomalies_between(service_id, from, now).await?;
        for signal in signals {
            let samples = server.samples(signal.id, from, now).await?;
            let spans = anomaly_spans(&anomalies, signal.id, now);
            charts.push(SignalChart { signal, samples, spans });
        }
    }
    Ok(Signals { from, to: now, charts })
}

/// The service catalog: every service by name, with its owner and dependencies.
fn list_body(catalog: &Catalog) -> Markup {
    let mut services: Vec<&Service> = catalog.services.values().collect();
    services.sort_by(|a, b| a.name.cmp(&b.name));
    html! {
        div.page-head {
            h1 { "Services" }
            a.button #new-service href="/services/new" { "New service" }
        }
        table.services {
            (table_head(&["Service", "Owner", "What it does", "Depends on"]))
            tbody {
                @for service in services {
                    tr {
                        td { a href={ "/services/" (service.id) } { (service.name) } }
                        td { (catalog.team_name(service)) }
                        td { (service.description) }
                        td { (service_links(catalog, &service.dependencies)) }
                    }
                }
            }
        }
        @if catalog.services.is_empty() {
            p.empty { "No services yet." }
        }
    }
}

/// The body of `service`'s page.
fn service_body(service: &Service, data: &ServiceData) -> Markup {
    let catalog = &data.catalog;
    let dependents: Vec<Id> =
        catalog.services.values().filter(|s| s.dependencies.contains(&service.id)).map(|s| s.id).collect();
    html! {
        div.page-head {
            h1 { (service.name) }
            a.button #heartbeats href={ "/services/" (service.id) "/heartbeats" } { "Heartbeats" }
            a.button #edit href={ "/services/" (service.id) "/edit" } { "Edit" }
        }
        div.description.markdown { (rendered_markdown(&service.description)) }
        dl.facts {
            dt { "Owner" } dd { (catalog.team_name(service)) }
            dt { "Depends on" } dd { (service_links(catalog, &service.dependencies)) }
            dt { "Depended on by" } dd { (service_links(catalog, &dependents)) }
            @if !service.links.is_empty() {
                dt { "Links" }
                dd {
                    @for link in &service.links {
                        a href=(link.url) rel="noopener noreferrer" { (link.title) } " "
                    }
                }
            }
            (service_on_call(data.on_call.as_ref(), data.now))
        }
        (signals(&data.signals))
        h2 { "Recent incidents" }
        @if data.incidents.is_empty() {
            p.empty { "None." }
        } @else {
            ul.recent {
                @for incident in &data.incidents {
                    li {
                        span class={ "status " (incident.status) } { (incident.status) } " "
                        a href={ "/incidents/" (incident.id) } { "#" (incident.id) " " (incident.title) } " "
                        span.muted { (format_time(incident.created_at)) }
                    }
                }
            }
        }
        (recent_alerts(&data.alerts))
        h2 #runbook { "Runbook" }
        div.markdown {
            @if service.runbook.is_empty() {
                p.empty { "No runbook yet." }
            } @else {
                (rendered_markdown(&service.runbook))
            }
        }
        h2 { "Documentation" }
        div.markdown {
            @if service.documentation.is_empty() {
                p.empty { "No documentation yet." }
            } @else {
                (rendered_markdown(&service.documentation))
            }
        }
    }
}

/// Markdown written for a service, as HTML. The renderer shows raw HTML in the source as text and
/// drops links to anything but the web and mail, so its output goes into the page as it is.
fn rendered_markdown(source: &str) -> Markup {
    PreEscaped(markdown::render(source))
}

/// The golden signals of a service as charts with anomalies shaded; nothing when it has none.
fn signals(signals: &Signals) -> Markup {
    if signals.charts.is_empty() {
        return html! {};
    }
    html! {
        h2 { "Golden signals (last " (SERVICE_SIGNAL_HOURS) " h)" }
        div.charts {
            @for chart_of in &signals.charts {
                @let signal = &chart_of.signal;
                figure class=(if chart_of.spans.is_empty() { "chart" } else { "chart moved" }) {
                    figcaption {
                        b { (signal.signal) } " "
                        span.muted {
                            "bad " (signal.bad) ", every " (signal.step_secs) " s"
                            @if signal.open_incident { ", opens incidents" }
                        }
                    }
                    @if chart_of.samples.is_empty() {
                        p.empty { "No samples yet." }
                    } @else {
                        (chart(&chart_of.samples, &chart_of.spans, signals.from, signals.to, signals.to, &chart_of.signal.unit))
                    }
                }
            }
        }
    }
}

/// The latest alerts of a service and the incident each joined (or the silence that held it back);
/// nothing when it has none.
fn recent_alerts(alerts: &[Alert]) -> Markup {
    if alerts.is_empty() {
        return html! {};
    }
    html! {
        h2 { "Recent alerts" }
        table.alerts {
            (table_head(&["Status", "Sev", "Summary", "Source", "Count", "Last seen", "Incident"]))
            tbody {
                @for alert in alerts {
                    tr {
                        td { span class={ "status " (alert.status.as_str()) } { (alert.status.as_str()) } }
                        td { (alert.severity) }
                        td { (alert.summary) }
                        td { (alert.source) }
                        td.num { (alert.event_count) }
                        td { (format_time(alert.last_seen_at)) }
                        td {
                            @match (alert.incident_id, alert.silence_id) {
                                (Some(id), _) => a href={ "/incidents/" (id) } { "#" (id) },
                                (None, Some(silence)) => span.muted { "silenced (" (silence) ")" },
                                (None, None) => "—",
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use firebreak_domain::{AlertStatus, Kind, Severity, Status};

    use super::super::page::tests::{ESCAPED, HOSTILE, NOW, assert_escaped, at, catalog};
    use super::*;

    fn data() -> ServiceData {
        let incident = Incident {
            id: 42,
            title: HOSTILE.to_owned(),
            service_id: 1,
            severity: Severity::Sev2,
            kind: Kind::Unknown,
            status: Status::Resolved,
            assignee_id: None,
            commander_id: None,
            created_at: at(NOW),
            acknowledged_at: None,
            mitigated_at: None,
            resolved_at: Some(at(NOW)),
            updated_at: at(NOW),
            snoozed_until: None,
        };
        let alert = Alert {
            id: 1,
            service_id: 1,
            dedup_key: HOSTILE.to_owned(),
            status: AlertStatus::Resolved,
            summary: HOSTILE.to_owned(),
            source: HOSTILE.to_owned(),
            severity: Severity::Sev2,
            kind: Kind::Unknown,
            labels: Default::default(),
            details: HOSTILE.to_owned(),
            links: Vec::new(),
            occurred_at: None,
            event_count: 1,
            first_seen_at: at(NOW),
            last_seen_at: at(NOW),
            resolved_at: Some(at(NOW)),
            incident_id: None,
            silence_id: Some(3),
        };
        let now = at(NOW);
        ServiceData {
            id: 1,
            catalog: catalog(),
            incidents: vec![incident],
            signals: Signals { from: now, to: now, charts: vec![] },
            on_call: None,
            alerts: vec![alert],
            now,
        }
    }

    #[test]
    fn the_catalog_escapes_names_and_descriptions() {
        let html = list_body(&catalog()).into_string();
        // Each service's name, owner and description, and service 2 as service 1's dependency.
        assert_escaped(&html, 7);
        assert!(html.contains(r#"<a href="/services/2">2&lt;script&gt;"#), "{html}");
    }

    #[test]
    fn the_service_page_escapes_names_descriptions_links_and_what_alerts_wrote() {
        let data = data();
        let html = service_body(&data.catalog.services[&1], &data).into_string();
        // The name, description and owner; the dependency; the link's title and address; the
        // incident's title; the alert's summary and source.
        assert_escaped(&html, 9);
        let url = format!("https://grafana.example/d/{ESCAPED}");
        assert!(html.contains(&format!(r#"<a href="{url}" rel="noopener noreferrer">"#)), "{html}");
        // The runbook is markdown: the script in it is shown as text.
        assert!(html.contains("&lt;script&gt;alert(2)&lt;/script&gt;"), "{html}");
        assert!(html.contains(r#"<h2 id="runbook">Runbook</h2>"#), "{html}");
        assert!(
            html.contains(r#"<dd class="muted">none: incidents of this service page nobody</dd>"#),
            "{html}"
        );
        assert!(html.contains(r#"<span class="muted">silenced (3)</span>"#), "{html}");
        assert!(html.contains(r#"<p class="empty">No documentation yet.</p>"#), "{html}");
    }
}
