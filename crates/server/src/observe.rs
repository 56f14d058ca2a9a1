//! What the server does around every request: an id, a metrics count, a log line, and waiting for
//! the alert events answered before it; plus the health, readiness and metrics endpoints.

use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::metrics::Scraped;
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
    let paging = server.paging_counters();
    let body = server.metrics.render(Scraped {
        incidents: server.incident_counts().await?,
        ingest: server.ingest_metrics(),
        attempts: paging.attempts(),
        escalations_exhausted: paging.exhausted(),
    });
    let content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    Ok(([(header::CONTENT_TYPE, content_type)], body).into_response())
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
    let response = match crate::extract::nul_in_uri(request.uri()) {
        Some(refused) => refused.into_response(),
        None => next.run(request).await,
    };
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
