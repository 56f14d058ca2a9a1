//! The front door for monitoring: PagerDuty Events API v2 (`POST /v2/enqueue`), Alertmanager and
//! Grafana webhooks, and the pipeline that makes what they send durable.
//!
//! Handlers parse (with `firebreak-ingest`), resolve the integration key, and hand the events to
//! the single writer task through a bounded queue. The writer takes everything that is waiting
//! (up to [`BATCH_EVENTS_MAX`] events) and stores it with [`Store::ingest_unsynced`] in one
//! transaction (group commit). The syncer then syncs the database's log once for all the batches
//! committed meanwhile, and only then are their requests answered: a `202` means the events are
//! on disk. Writing a batch and syncing the previous ones overlap. When the queue is full,
//! requests get `429` with `Retry-After` instead of growing memory without bound.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use firebreak_domain::{AlertEvent, Id};
use firebreak_ingest::{alertmanager, grafana, pagerduty};
use firebreak_store::{IngestItem, IngestSummary, Store, StoreError, WalSync, secret};
use serde_json::json;
use tokio::sync::{mpsc, oneshot};

use crate::App;
use crate::error::ApiError;
use crate::extract::Path;

/// Largest ingest request body, in bytes.
pub const INGEST_BODY_BYTES_MAX: usize = 512 * 1024;
/// Requests waiting for the writer; beyond this, senders get `429`.
pub const QUEUE_REQUESTS_MAX: usize = 8192;
/// Most events stored in one transaction.
pub const BATCH_EVENTS_MAX: usize = 4096;
/// What `Retry-After` tells a sender that got `429`, in seconds.
pub const RETRY_AFTER_SECS: u64 = 1;
/// Unknown integration keys remembered, so that a sender with a wrong key does not cost a
/// database query per request.
const UNKNOWN_KEYS_MAX: usize = 10_000;

/// A request's events on their way to the writer, and where to say they are stored.
struct Job {
    items: Vec<IngestItem>,
    done: Done,
}

/// Where the writer says whether a request's events are stored.
type Done = oneshot::Sender<Result<(), StoreError>>;

/// The ingest pipeline: integration key lookup and the queue to the writer.
pub struct Ingestor {
    queue: mpsc::Sender<Job>,
    keys: Mutex<KeyCache>,
    pub(crate) counters: Arc<Counters>,
}

/// What the pipeline has done, for metrics.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) events_accepted: AtomicU64,
    pub(crate) requests_throttled: AtomicU64,
    pub(crate) batches_committed: AtomicU64,
}

#[derive(Default)]
struct KeyCache {
    known: HashMap<String, Id>,
    unknown: std::collections::HashSet<String>,
}

/// Why events were not accepted.
pub(crate) enum Refusal {
    /// The queue is full: retry later.
    Busy,
    /// Storing failed.
    Store(StoreError),
}

impl Ingestor {
    /// Starts the writer task on `store` and returns the pipeline feeding it. The writer stops
    /// once every sender is gone and the queue is drained.
    /// Starts the writer. `opened` is called after a commit that opened incidents, so that paging
    /// starts without waiting for the escalation driver's next poll.
    pub fn start(
        store: Store,
        clock: Arc<dyn firebreak_domain::Clock>,
        opened: Arc<dyn Fn() + Send + Sync>,
    ) -> Ingestor {
        let (queue, receiver) = mpsc::channel(QUEUE_REQUESTS_MAX);
        let counters = Arc::new(Counters::default());
        tokio::spawn(write_batches(store, clock, receiver, counters.clone(), opened));
        Ingestor { queue, keys: Mutex::default(), counters }
    }

    /// The service whose integration key is `key`, if any.
    pub(crate) async fn service_for_key(&self, store: &Store, key: &str) -> Result<Option<Id>, StoreError> {
        if key.is_empty() || key.len() > secret::SECRET_CHARS_MAX {
            return Ok(None);
        }
        let hash = secret::hash(key);
        {
            let keys = self.keys.lock().expect("key cache lock is never poisoned");
            if let Some(id) = keys.known.get(&hash) {
                return Ok(Some(*id));
            }
            if keys.unknown.contains(&hash) {
                return Ok(None);
            }
        }
        let found = store.service_id_by_integration_key(key).await?;
        let mut keys = self.keys.lock().expect("key cache lock is never poisoned");
        match found {
            Some(id) => {
                keys.known.insert(hash, id);
            }
            None => {
                if keys.unknown.len() >= UNKNOWN_KEYS_MAX {
                    keys.unknown.clear();
                }
                keys.unknown.insert(hash);
            }
        }
        Ok(found)
    }

    /// Stores `events` for `service_id`, returning once they are durable.
    pub(crate) async fn submit(&self, service_id: Id, events: Vec<AlertEvent>) -> Result<(), Refusal> {
        if events.is_empty() {
            return Ok(());
        }
        let count = events.len() as u64;
        let items = events.into_iter().map(|event| IngestItem { service_id, event }).collect();
        let (done, stored) = oneshot::channel();
        match self.queue.try_send(Job { items, done }) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.counters.requests_throttled.fetch_add(1, Ordering::Relaxed);
                return Err(Refusal::Busy);
            }
            Err(mpsc::error::TrySendError::Closed(_)) => return Err(Refusal::Busy),
        }
        match stored.await {
            Ok(Ok(())) => {
                self.counters.events_accepted.fetch_add(count, Ordering::Relaxed);
                Ok(())
            }
            Ok(Err(err)) => Err(Refusal::Store(err)),
            Err(_) => Err(Refusal::Busy),
        }
    }
}

/// Committed batches waiting for the disk; beyond this the writer waits for the syncer.
const SYNC_QUEUE_BATCHES_MAX: usize = 64;

/// A committed batch waiting for the disk.
struct Committed {
    done: Vec<Done>,
    /// The batch opened incidents: paging is told once they are durable.
    opened: bool,
}

/// The writer: one batch per round, as many waiting jobs as fit. It commits each batch without
/// waiting for the disk and passes it to the syncer, so that the next batch is written while the
/// previous ones are synced; requests are answered only once their batch is synced.
async fn write_batches(
    store: Store,
    clock: Arc<dyn firebreak_domain::Clock>,
    mut receiver: mpsc::Receiver<Job>,
    counters: Arc<Counters>,
    opened: Arc<dyn Fn() + Send + Sync>,
) {
    let (committed, to_sync) = mpsc::channel(SYNC_QUEUE_BATCHES_MAX);
    let syncer = tokio::spawn(sync_batches(store.wal_sync().cloned(), to_sync, opened));
    let mut items: Vec<IngestItem> = Vec::new();
    // Per waiting request: where its events are in `items`, and whom to tell.
    let mut waiting: Vec<(std::ops::Range<usize>, Done)> = Vec::new();
    while let Some(first) = receiver.recv().await {
        let mut job = Some(first);
        while let Some(Job { items: mut job_items, done }) = job.take() {
            let start = items.len();
            items.append(&mut job_items);
            waiting.push((start..items.len(), done));
            if items.len() < BATCH_EVENTS_MAX {
                job = receiver.try_recv().ok();
            }
        }
        let mut batch = Committed { done: Vec::with_capacity(waiting.len()), opened: false };
        match store_with_retry(&store, &items, clock.now()).await {
            Ok(summary) => {
                counters.batches_committed.fetch_add(1, Ordering::Relaxed);
                batch.done.extend(waiting.drain(..).map(|(_, done)| done));
                batch.opened = !summary.incidents_opened.is_empty();
            }
            Err(err) if waiting.len() > 1 => {
                // One request may be at fault (its service was just removed, say): store the
                // others on their own so they are not refused with it.
                tracing::warn!(error = %err, requests = waiting.len(), "ingest_batch_failed");
                for (range, done) in waiting.drain(..) {
                    match store_with_retry(&store, &items[range], clock.now()).await {
                        Ok(summary) => {
                            counters.batches_committed.fetch_add(1, Ordering::Relaxed);
                            batch.done.push(done);
                            batch.opened |= !summary.incidents_opened.is_empty();
                        }
                        Err(err) => {
                            let _ = done.send(Err(err));
                        }
                    }
                }
            }
            Err(err) => {
                tracing::warn!(error = %err, "ingest_batch_failed");
                if let Some((_, done)) = waiting.pop() {
                    let _ = done.send(Err(err));
                }
            }
        }
        items.clear();
        if !batch.done.is_empty() && committed.send(batch).await.is_err() {
            return;
        }
    }
    // Answer what was committed before stopping.
    drop(committed);
    let _ = syncer.await;
}

/// The syncer: syncs the log once for all the batches committed meanwhile, then answers their
/// requests.
async fn sync_batches(
    wal: Option<WalSync>,
    mut committed: mpsc::Receiver<Committed>,
    opened: Arc<dyn Fn() + Send + Sync>,
) {
    let mut batches = Vec::with_capacity(SYNC_QUEUE_BATCHES_MAX);
    while committed.recv_many(&mut batches, SYNC_QUEUE_BATCHES_MAX).await > 0 {
        let synced = match wal.clone() {
            Some(wal) => match tokio::task::spawn_blocking(move || wal.sync()).await {
                Ok(synced) => synced,
                Err(join) => Err(std::io::Error::other(join)),
            },
            None => Ok(()),
        };
        if let Err(err) = &synced {
            tracing::error!(error = %err, "ingest_sync_failed");
        }
        if synced.is_ok() && batches.iter().any(|batch| batch.opened) {
            opened();
        }
        for batch in batches.drain(..) {
            for done in batch.done {
                let _ = done.send(synced.as_ref().map_err(StoreError::sync_failed).copied());
            }
        }
    }
}

async fn store_with_retry(
    store: &Store,
    items: &[IngestItem],
    now: jiff::Timestamp,
) -> Result<IngestSummary, StoreError> {
    let mut delay = Duration::from_millis(10);
    for _ in 0..5 {
        match store.ingest_unsynced(items, now).await {
            Err(StoreError::Unavailable(err)) => {
                tracing::warn!(error = %err, "ingest_retrying");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            other => return other,
        }
    }
    store.ingest_unsynced(items, now).await
}

pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/v2/enqueue", post(enqueue))
        .route("/api/v1/ingest/alertmanager/{key}", post(alertmanager_webhook))
        .route("/api/v1/ingest/grafana/{key}", post(grafana_webhook))
        .layer(DefaultBodyLimit::max(INGEST_BODY_BYTES_MAX))
}

/// `POST /v2/enqueue`, answered exactly as PagerDuty's Events API v2 answers.
async fn enqueue(
    State(app): State<App>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) => return pagerduty_invalid(rejection.status(), vec![rejection.body_text()]),
    };
    let enqueue = match pagerduty::parse(&body) {
        Ok(enqueue) => enqueue,
        Err(invalid) => {
            return pagerduty_response(
                StatusCode::BAD_REQUEST,
                json!({"status": "invalid event", "message": invalid.message, "errors": invalid.errors}),
            );
        }
    };
    let service_id = match app.ingestor.service_for_key(&app.store, &enqueue.routing_key).await {
        Ok(Some(id)) => id,
        Ok(None) => {
            return pagerduty_invalid(
                StatusCode::BAD_REQUEST,
                vec!["'routing_key' is invalid: no service has this integration key".to_owned()],
            );
        }
        Err(err) => return ApiError::from(err).into_response(),
    };
    let mut event = enqueue.event;
    let dedup_key = event.dedup_key.get_or_insert_with(|| secret::generate("")[..32].to_owned()).clone();
    match app.ingestor.submit(service_id, vec![event]).await {
        Ok(()) => pagerduty_response(
            StatusCode::ACCEPTED,
            json!({"status": "success", "message": "Event processed", "dedup_key": dedup_key}),
        ),
        Err(Refusal::Busy) => {
            let mut response = pagerduty_response(
                StatusCode::TOO_MANY_REQUESTS,
                json!({"status": "throttle event", "message": "Requests for this service are arriving too quickly. Please retry later."}),
            );
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
            response
        }
        Err(Refusal::Store(err)) => ApiError::from(err).into_response(),
    }
}

fn pagerduty_invalid(status: StatusCode, errors: Vec<String>) -> Response {
    pagerduty_response(
        status,
        json!({"status": "invalid event", "message": "Event object is invalid", "errors": errors}),
    )
}

fn pagerduty_response(status: StatusCode, body: serde_json::Value) -> Response {
    (status, axum::Json(body)).into_response()
}

async fn alertmanager_webhook(
    app: State<App>,
    key: Path<String>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    webhook(app, key, body, alertmanager::parse).await
}

async fn grafana_webhook(
    app: State<App>,
    key: Path<String>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    webhook(app, key, body, grafana::parse).await
}

/// A webhook carrying many alerts: each valid one is stored, each invalid one is listed with its
/// reason in the answer.
async fn webhook(
    State(app): State<App>,
    Path(key): Path<String>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
    parse: fn(&[u8]) -> Result<alertmanager::Batch, String>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            let status = rejection.status();
            let detail = if status == StatusCode::PAYLOAD_TOO_LARGE {
                format!("the body is larger than the limit of {INGEST_BODY_BYTES_MAX} bytes")
            } else {
                rejection.body_text()
            };
            return ApiError::new(status, "bad-request", detail).into_response();
        }
    };
    let service_id = match app.ingestor.service_for_key(&app.store, &key).await {
        Ok(Some(id)) => id,
        Ok(None) => {
            return ApiError::new(
                StatusCode::BAD_REQUEST,
                "unknown-integration-key",
                "no service has this integration key; use the integration_key returned when the service was created",
            )
            .into_response();
        }
        Err(err) => return ApiError::from(err).into_response(),
    };
    let batch = match parse(&body) {
        Ok(batch) => batch,
        Err(message) => return ApiError::bad_request(message).into_response(),
    };
    let accepted = batch.events.len();
    match app.ingestor.submit(service_id, batch.events).await {
        Ok(()) => {
            (StatusCode::ACCEPTED, axum::Json(json!({"accepted": accepted, "rejected": batch.rejected})))
                .into_response()
        }
        Err(Refusal::Busy) => {
            let mut response = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "busy",
                format!("too many alerts are waiting to be stored; retry in {RETRY_AFTER_SECS} s"),
            )
            .into_response();
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
            response
        }
        Err(Refusal::Store(err)) => ApiError::from(err).into_response(),
    }
}
