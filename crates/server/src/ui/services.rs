//! The service catalog and a service's page: what it does, who owns it, what it depends on, who
//! its escalation policy pages now, its golden signals, recent incidents and alerts, runbook and
//! documentation.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use firebreak_api::Ref;
use firebreak_domain::{Alert, Id, Incident, Service};
use jiff::{SignedDuration, Timestamp};
use maud::{Markup, PreEscaped, html};

use super::chart::{SignalChart, anomaly_spans, chart};
use super::format::{format_time, service_links, table_head};
use super::page::{Catalog, Page, Session};
use super::roster::{ServiceOnCall, service_on_call};
use crate::error::ApiError;
use crate::extract::Path;
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

pub(super) fn routes() -> Router<Shared> {
    Router::new().route("/services", get(service_list)).route("/services/{id}", get(service_page))
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
        h1 { "Services" }
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
            p.empty { "No services yet. Create one with " code { "POST /api/v1/services" } "." }
        }
    }
}

/// The body of `service`'s page.
fn service_body(service: &Service, data: &ServiceData) -> Markup {
    let catalog = &data.catalog;
    let dependents: Vec<Id> =
        catalog.services.values().filter(|s| s.dependencies.contains(&service.id)).map(|s| s.id).collect();
    html! {
        h1 { (service.name) }
        p.description { (service.description) }
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
