//! What the server does around every request: an id, a metrics count, a log line, and waiting for
//! the alert events answered before it; plus the health, readiness and metrics endpoints.

use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::request_log::Line;
use crate::state::Shared;

pub(crate) async fn healthz() -> &'static str {
    "ok\n"
}

pub(crate) async fn readyz(State(server): State<Shared>) -> Response {
    match server.ready().await {
        Ok(()) => "ready\n".into_response(),
        Err(reasons) => {
            let reasons = reasons.join("\n");
            tracing::warn!(reasons = %reasons, "readiness_failed");
            (StatusCode::SERVICE_UNAVAILABLE, format!("not ready:\n{reasons}\n")).into_response()
        }
    }
}

pub(crate) async fn metrics(State(server): State<Shared>) -> Result<Response, ApiError> {
    let incidents = server.incident_counts().await?;
    let mut body = server.metrics.render(&incidents);
    let ingest = server.ingest_metrics();
    let counters = [
        (
            "firebreak_alert_events_accepted_total",
            "Alert events stored and answered 202.",
            ingest.events_accepted,
        ),
        (
            "firebreak_ingest_requests_throttled_total",
            "Ingest requests answered 429.",
            ingest.requests_throttled,
        ),
        (
            "firebreak_ingest_batches_committed_total",
            "Transactions that stored alert events.",
            ingest.batches_committed,
        ),
        (
            "firebreak_ingest_journal_records_total",
            "Records synced to the ingest journal (each answers every request waiting for it).",
            ingest.journal_records,
        ),
        (
            "firebreak_ingest_events_dropped_total",
            "Accepted alert events left out when applied, because their service had been removed.",
            ingest.events_dropped,
        ),
    ];
    for (name, help, value) in counters {
        body.push_str(&format!("# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}\n"));
    }
    body.push_str(&format!(
        "# HELP firebreak_ingest_backlog_events Alert events accepted and journaled, not yet in the database.\n\
         # TYPE firebreak_ingest_backlog_events gauge\nfirebreak_ingest_backlog_events {}\n",
        ingest.backlog_events
    ));
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], body).into_response())
}

/// Lets a request through once the events answered before it arrived are applied.
pub(crate) async fn settled(State(server): State<Shared>, request: Request, next: Next) -> Response {
    server.settle().await;
    next.run(request).await
}

/// Records metrics and a log line for every request, and gives each one an id.
pub(crate) async fn observe(State(server): State<Shared>, request: Request, next: Next) -> Response {
    // The matched path is shared, not copied: this runs for every request.
    let matched = request.extensions().get::<MatchedPath>().cloned();
    let observed = Observed::start(&server, &request);
    let response = next.run(request).await;
    observed.finish(&server, matched.as_ref().map_or("unmatched", MatchedPath::as_str), response)
}

/// A request being answered, as [`observe`] records it.
pub(crate) struct Observed {
    started: Instant,
    method: Method,
    request_id: String,
}

impl Observed {
    pub(crate) fn start(server: &Shared, request: &Request) -> Observed {
        Observed {
            started: Instant::now(),
            method: request.method().clone(),
            request_id: format!("{:x}", server.request_ids.fetch_add(1, Ordering::Relaxed)),
        }
    }

    /// Counts the answer to the request, logs it, and gives it the request's id.
    pub(crate) fn finish(self, server: &Shared, route: &str, mut response: Response) -> Response {
        let Observed { started, method, request_id } = self;
        let elapsed = started.elapsed();
        if response.status() == StatusCode::PAYLOAD_TOO_LARGE {
            // The rest of the body was never read, so the connection cannot carry another
            // request: say so, or a client that reuses it fails writing its next request.
            response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        let status = response.status().as_u16();
        server.metrics.record_request(method.as_str(), route, status, elapsed);
        if let Ok(value) = HeaderValue::from_str(&request_id) {
            response.headers_mut().insert("x-request-id", value);
        }
        let duration_ms = elapsed.as_secs_f64() * 1000.0;
        match server.request_log.line(method.as_str(), route, status, started + elapsed) {
            Line::Error => {
                tracing::error!(%method, %route, status, duration_ms, request_id, "request_finished");
            }
            Line::Info { unlogged: 0 } => {
                tracing::info!(%method, %route, status, duration_ms, request_id, "request_finished");
            }
            Line::Info { unlogged } => tracing::info!(
                %method, %route, status, duration_ms, request_id, client_errors_unlogged = unlogged,
                "request_finished"
            ),
            Line::Debug => {
                tracing::debug!(%method, %route, status, duration_ms, request_id, "request_finished");
            }
            Line::Skipped => {}
        }
        response
    }
}
