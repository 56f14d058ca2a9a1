//! Alerts: the ingest pipeline that makes what monitoring sends durable, and the alerts listed
//! for incidents and services.
//!
//! Senders' bodies are parsed by `firebreak-ingest` (over HTTP, in the server); here their events
//! are handed to a single writer through a bounded queue. When the database has fallen
//! [`BACKLOG_EVENTS_MAX`] events behind the journal and does not catch up within
//! [`BACKLOG_WAIT_MAX`] (or the queue is full), the sender is refused ([`Refusal::Busy`], which
//! HTTP answers `429`) instead of waiting without bound. The writer takes everything waiting (up to
//! [`BATCH_EVENTS_MAX`] events) and makes it durable at once (group commit), and only then are
//! the senders answered: an accepted event survives a crash.
//!
//! On an SQLite database file the writer is the journal thread: it appends each group to the
//! ingest journal ([`firebreak_store::journal`]) and syncs it, which costs a fraction of a
//! database commit, then answers. The applier stores journaled events in the database behind it,
//! in large batches, and records which journal record it applied last in the same transaction;
//! at start, the records after that one are applied again. Reads wait until everything answered
//! before they arrived is applied ([`App::settle`]), so that what a client was told is stored can
//! be read at once. On PostgreSQL (and an in-memory SQLite database) the writer commits each
//! group to the database itself.
//!
//! The pipeline stops by closing its queue: the writer drains what is queued, answers it, and
//! returns; the applier returns once the journal thread is gone and everything journaled is
//! applied. Incidents that stored events open or change are announced by the store, which wakes
//! the escalation driver.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use firebreak_api::Ref;
use firebreak_domain::{Alert, AlertEvent, Clock, Id};
use firebreak_store::journal::{self, Journal};
use firebreak_store::{IngestItem, IngestSummary, Store, StoreError, secret};
use jiff::Timestamp;
use tokio::sync::{mpsc, oneshot, watch};

use crate::workers::Workers;
use crate::{App, Error, Result, resolve};

/// Most alerts listed at once, for an incident or a service.
pub const ALERTS_LISTED_MAX: u32 = 500;
/// Requests waiting for the writer; beyond this, senders are refused. One per connection the
/// server serves at once (its `CONNECTIONS_MAX` is this), each of which has at most one request in
/// flight: a flood of connections waits its turn while the journal keeps up rather than being
/// refused. What refuses when the pipeline cannot keep up is [`BACKLOG_EVENTS_MAX`] (after
/// [`BACKLOG_WAIT_MAX`]).
pub const QUEUE_REQUESTS_MAX: usize = 1024;
/// Most events made durable in one group.
pub const BATCH_EVENTS_MAX: usize = 4096;
/// Most bytes of encoded events in one journal record (a record may exceed it by one request).
const BATCH_BYTES_MAX: usize = 4 * 1024 * 1024;
/// Events journaled but not yet applied to the database; beyond this, the journal takes no more
/// until the applier catches up: the requests in the queue wait, and new ones are refused unless
/// it catches up within [`BACKLOG_WAIT_MAX`].
pub const BACKLOG_EVENTS_MAX: usize = 25_000;
/// How long a request waits for the database to catch up when it is [`BACKLOG_EVENTS_MAX`] events
/// behind, before it is refused.
const BACKLOG_WAIT_MAX: Duration = Duration::from_secs(1);
/// How often the journal looks whether the applier has caught up, while it waits for that.
const BACKLOG_POLL: Duration = Duration::from_millis(1);
/// Most events the applier stores in one transaction.
const APPLY_EVENTS_MAX: usize = 8192;
/// Journal records are applied together only if they were written within this span: a batch is
/// stored with the time of its last record.
const APPLY_SPAN_MAX: Duration = Duration::from_secs(1);
/// Under sustained load (records arrived while the last batch was being applied), the applier
/// waits up to this long for a batch of at least [`APPLY_GATHER_EVENTS`] events: much of a
/// transaction's cost (its statements' round trips, the commit's sync) does not grow with its
/// size, so fewer, larger ones leave more of the machine to the requests. When records come one
/// at a time, nothing waits.
const APPLY_GATHER_MAX: Duration = Duration::from_millis(5);
/// The batch size the applier waits for under sustained load.
const APPLY_GATHER_EVENTS: usize = 1024;
/// How long a request waits for the events answered before it to be applied before it goes on
/// without them (when the database is failing, say).
const SETTLE_WAIT_MAX: Duration = Duration::from_secs(5);
/// How long a refused sender should wait before retrying, in seconds (HTTP's `Retry-After`).
pub const RETRY_AFTER_SECS: u64 = 1;
/// Unknown integration keys remembered, so that a sender with a wrong key does not cost a
/// database query per request.
const UNKNOWN_KEYS_MAX: usize = 10_000;

/// What the writer's queue carries: a request's events, or the signal to stop taking more.
enum Message {
    Job(Job),
    /// Close the queue, write what it still holds, and return.
    Stop,
}

/// A request's events on their way to the writer, and where to say they are durable.
struct Job {
    items: Vec<IngestItem>,
    /// The events as a journal payload; empty without a journal.
    encoded: Vec<u8>,
    done: Done,
}

/// Where the writer says whether a request's events are durable.
type Done = oneshot::Sender<Result<(), StoreError>>;

/// The ingest pipeline: integration key lookup and the queue to the writer.
pub(crate) struct Ingestor {
    queue: mpsc::Sender<Message>,
    keys: Mutex<KeyCache>,
    counters: Arc<Counters>,
    /// With a journal: how far journaling and applying have come.
    progress: Option<Arc<Progress>>,
}

/// The workers of the pipeline, ready to start: the journal thread and the applier, or the
/// writer.
pub(crate) struct Pipeline(Workings);

enum Workings {
    Journaled {
        journal: Journal,
        queue: mpsc::Receiver<Message>,
        pending: Vec<Journaled>,
        progress: Arc<Progress>,
        store: Store,
        clock: Arc<dyn Clock>,
        counters: Arc<Counters>,
    },
    Direct {
        queue: mpsc::Receiver<Message>,
        store: Store,
        clock: Arc<dyn Clock>,
        counters: Arc<Counters>,
    },
}

/// What the pipeline has done, for metrics.
#[derive(Debug, Default)]
struct Counters {
    events_accepted: AtomicU64,
    requests_throttled: AtomicU64,
    batches_committed: AtomicU64,
    events_dropped: AtomicU64,
    journal_records: AtomicU64,
}

/// What the pipeline has done since the process started, and how far behind the database is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IngestMetrics {
    /// Alert events made durable and answered as accepted.
    pub events_accepted: u64,
    /// Requests refused because the pipeline was full.
    pub requests_throttled: u64,
    /// Transactions that stored alert events.
    pub batches_committed: u64,
    /// Accepted events left out when applied, because their service had been removed.
    pub events_dropped: u64,
    /// Records synced to the ingest journal.
    pub journal_records: u64,
    /// Events journaled and not yet in the database.
    pub backlog_events: u64,
}

/// How far the journal and the applier have come.
struct Progress {
    /// The last journal record synced (its requests are answered once this is set).
    journaled: AtomicU64,
    /// The last journal record applied to the database.
    applied: watch::Sender<u64>,
    /// Events journaled and not yet applied.
    backlog: AtomicUsize,
}

impl Progress {
    /// Waits, at most `timeout`, until record `target` is applied; whether it is.
    async fn applied_by(&self, target: u64, timeout: Duration) -> bool {
        let mut applied = self.applied.subscribe();
        matches!(tokio::time::timeout(timeout, applied.wait_for(|seq| *seq >= target)).await, Ok(Ok(_)))
    }
}

/// How long a known integration key is taken on the strength of an earlier lookup: a key rotated
/// on another replica stops working here within this time (at once on the replica that rotated it).
const KNOWN_KEY_TTL: Duration = Duration::from_secs(30);

/// Integration keys looked up before, by their SHA-256: the keys themselves are not kept.
#[derive(Default)]
struct KeyCache {
    known: HashMap<[u8; 32], (Id, std::time::Instant)>,
    unknown: std::collections::HashSet<[u8; 32]>,
}

/// Why events were not accepted.
#[derive(Debug)]
pub enum Refusal {
    /// The queue is full, the database is too far behind, or the pipeline is stopping: retry
    /// later ([`RETRY_AFTER_SECS`]).
    Busy,
    /// Storing failed.
    Failed(Error),
}

/// Where a journal record's events are in a batch being applied.
struct Span {
    seq: u64,
    at: Timestamp,
    events: std::ops::Range<usize>,
}

/// A journal record's events, on their way to the applier.
struct Journaled {
    seq: u64,
    at: Timestamp,
    items: Vec<IngestItem>,
}

impl Ingestor {
    /// The pipeline over `store`: on an SQLite file the journal is opened and the records not yet
    /// applied are read, to be applied first. Nothing runs until [`Pipeline::spawn`].
    ///
    /// Fails when the journal's position cannot be read or the journal cannot be opened.
    pub(crate) async fn open(store: Store, clock: Arc<dyn Clock>) -> anyhow::Result<(Ingestor, Pipeline)> {
        let (queue, receiver) = mpsc::channel(QUEUE_REQUESTS_MAX);
        let counters = Arc::new(Counters::default());
        let Some(dir) = store.journal_dir() else {
            let ingestor =
                Ingestor { queue, keys: Mutex::default(), counters: counters.clone(), progress: None };
            return Ok((ingestor, Pipeline(Workings::Direct { queue: receiver, store, clock, counters })));
        };
        let applied = store.journal_applied().await.context("reading the ingest journal's position")?;
        let opening = dir.clone();
        let (journal, records) = tokio::task::spawn_blocking(move || Journal::open(&opening, applied))
            .await?
            .with_context(|| format!("opening the ingest journal {}", dir.display()))?;
        let last = records.last().map_or(applied, |record| record.seq);
        let progress = Arc::new(Progress {
            journaled: AtomicU64::new(last),
            applied: watch::channel(applied).0,
            backlog: AtomicUsize::new(0),
        });
        if !records.is_empty() {
            tracing::info!(records = records.len(), "ingest_journal_replaying");
        }
        let pending = records
            .into_iter()
            .map(|record| {
                let items = journal::decode_events(&record.payload).unwrap_or_else(|err| {
                    tracing::error!(seq = record.seq, error = %err, "ingest_journal_record_unreadable");
                    Vec::new()
                });
                progress.backlog.fetch_add(items.len(), Ordering::Relaxed);
                Journaled { seq: record.seq, at: record.at, items }
            })
            .collect();
        let ingestor = Ingestor {
            queue,
            keys: Mutex::default(),
            counters: counters.clone(),
            progress: Some(progress.clone()),
        };
        let pipeline = Pipeline(Workings::Journaled {
            journal,
            queue: receiver,
            pending,
            progress,
            store,
            clock,
            counters,
        });
        Ok((ingestor, pipeline))
    }

    /// Closes the queue: the writer answers what it holds and returns, and new events are refused.
    pub(crate) async fn close(&self) {
        // A full queue makes this wait for room, as any sender would; the writer drains it.
        let _ = self.queue.send(Message::Stop).await;
    }

    /// Waits (at most [`SETTLE_WAIT_MAX`]) until every event answered `202` before this call is
    /// in the database. Immediate without a journal, or when the applier has caught up.
    pub(crate) async fn settle(&self) {
        let Some(progress) = &self.progress else { return };
        let target = progress.journaled.load(Ordering::Acquire);
        if *progress.applied.borrow() < target {
            progress.applied_by(target, SETTLE_WAIT_MAX).await;
        }
    }

    /// Waits, at most `timeout`, until every event answered before this call is in the database.
    /// Fails naming how far behind the applier is when it is not.
    pub(crate) async fn caught_up(&self, timeout: Duration) -> Result<(), String> {
        let Some(progress) = &self.progress else { return Ok(()) };
        let target = progress.journaled.load(Ordering::Acquire);
        if progress.applied_by(target, timeout).await {
            Ok(())
        } else {
            Err(format!(
                "the database is {} accepted alert events behind, and has not caught up in {} s",
                self.backlog(),
                timeout.as_secs()
            ))
        }
    }

    /// Waits, at most `timeout`, until every journaled event is in the database; says in the log
    /// if some are not (they are applied at the next start).
    pub(crate) async fn drain(&self, timeout: Duration) {
        let Some(progress) = &self.progress else { return };
        let target = progress.journaled.load(Ordering::Acquire);
        if !progress.applied_by(target, timeout).await {
            tracing::warn!(events = self.backlog(), "ingest_journal_left_unapplied");
        }
    }

    /// Events journaled and not yet in the database.
    fn backlog(&self) -> usize {
        self.progress.as_ref().map_or(0, |progress| progress.backlog.load(Ordering::Relaxed))
    }

    fn metrics(&self) -> IngestMetrics {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        IngestMetrics {
            events_accepted: read(&self.counters.events_accepted),
            requests_throttled: read(&self.counters.requests_throttled),
            batches_committed: read(&self.counters.batches_committed),
            events_dropped: read(&self.counters.events_dropped),
            journal_records: read(&self.counters.journal_records),
            backlog_events: self.backlog() as u64,
        }
    }

    /// The service whose integration key is `key`, if any.
    async fn service_for_key(&self, store: &Store, key: &str) -> Result<Option<Id>, StoreError> {
        if key.is_empty() || key.len() > secret::SECRET_CHARS_MAX {
            return Ok(None);
        }
        let hash = secret::digest(key);
        {
            let keys = self.keys.lock().expect("key cache lock is never poisoned");
            if let Some((id, _)) = keys.known.get(&hash).filter(|(_, at)| at.elapsed() < KNOWN_KEY_TTL) {
                return Ok(Some(*id));
            }
            if keys.unknown.contains(&hash) {
                return Ok(None);
            }
        }
        let found = store.service_id_by_key_digest(&hash).await?;
        let mut keys = self.keys.lock().expect("key cache lock is never poisoned");
        match found {
            Some(id) => {
                keys.known.insert(hash, (id, std::time::Instant::now()));
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

    /// Forgets the keys of service `id` looked up before: its key changed.
    pub(crate) fn forget_keys_of(&self, id: Id) {
        self.keys
            .lock()
            .expect("key cache lock is never poisoned")
            .known
            .retain(|_, (known, _)| *known != id);
    }

    /// Whether the database is less than [`BACKLOG_EVENTS_MAX`] events behind the journal, waiting
    /// up to [`BACKLOG_WAIT_MAX`] for it to catch up when it is not. The wait paces senders that
    /// retry at once, whatever `Retry-After` says, to the rate the database takes; a database that
    /// cannot be written at all gets its senders told to retry later instead of left waiting.
    async fn room_in_backlog(&self) -> bool {
        let Some(progress) = &self.progress else { return true };
        let has_room = || progress.backlog.load(Ordering::Relaxed) < BACKLOG_EVENTS_MAX;
        if has_room() {
            return true;
        }
        // Each applied batch shrinks the backlog: look again then.
        let mut applied = progress.applied.subscribe();
        matches!(tokio::time::timeout(BACKLOG_WAIT_MAX, applied.wait_for(|_| has_room())).await, Ok(Ok(_)))
    }

    /// Stores `events` for `service_id`, returning once they are durable.
    pub(crate) async fn submit(&self, service_id: Id, events: Vec<AlertEvent>) -> Result<(), Refusal> {
        if events.is_empty() {
            return Ok(());
        }
        let count = events.len() as u64;
        if !self.room_in_backlog().await {
            self.counters.requests_throttled.fetch_add(1, Ordering::Relaxed);
            return Err(Refusal::Busy);
        }
        let mut encoded = Vec::new();
        if self.progress.is_some() {
            journal::encode_events(service_id, &events, &mut encoded);
        }
        let items = events.into_iter().map(|event| IngestItem { service_id, event }).collect();
        let (done, stored) = oneshot::channel();
        match self.queue.try_send(Message::Job(Job { items, encoded, done })) {
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
            Ok(Err(err)) => Err(Refusal::Failed(err.into())),
            Err(_) => Err(Refusal::Busy),
        }
    }
}

/// Takes the first job and as many waiting ones as fit in a group, appending their events to
/// `items` and their payloads to `payload`, and returns whom to answer. A stop message closes the
/// queue: what it still holds comes after, and nothing more is taken.
fn gather(
    first: Job,
    receiver: &mut mpsc::Receiver<Message>,
    items: &mut Vec<IngestItem>,
    payload: &mut Vec<u8>,
) -> Vec<(std::ops::Range<usize>, Done)> {
    let mut waiting = Vec::new();
    let mut job = Some(first);
    while let Some(Job { items: mut job_items, encoded, done }) = job.take() {
        let start = items.len();
        items.append(&mut job_items);
        payload.extend_from_slice(&encoded);
        waiting.push((start..items.len(), done));
        while job.is_none() && items.len() < BATCH_EVENTS_MAX && payload.len() < BATCH_BYTES_MAX {
            match receiver.try_recv() {
                Ok(Message::Job(next)) => job = Some(next),
                Ok(Message::Stop) => receiver.close(),
                Err(_) => break,
            }
        }
    }
    waiting
}

/// The next job of the queue, waiting for one; `None` once the queue is closed and drained. A stop
/// message closes it.
async fn next_job(receiver: &mut mpsc::Receiver<Message>) -> Option<Job> {
    loop {
        match receiver.recv().await? {
            Message::Job(job) => return Some(job),
            Message::Stop => receiver.close(),
        }
    }
}

/// [`next_job`] for the journal thread, which blocks.
fn next_job_blocking(receiver: &mut mpsc::Receiver<Message>) -> Option<Job> {
    loop {
        match receiver.blocking_recv()? {
            Message::Job(job) => return Some(job),
            Message::Stop => receiver.close(),
        }
    }
}

impl Pipeline {
    /// Starts the pipeline's workers: on a journal, the records read at start go to the applier
    /// before anything new.
    pub(crate) fn spawn(self, workers: &Workers) {
        match self.0 {
            Workings::Direct { queue, store, clock, counters } => {
                workers.spawn("ingest-writer", write_batches(store, clock, queue, counters));
            }
            Workings::Journaled { journal, queue, pending, progress, store, clock, counters } => {
                let (to_apply, applying) = mpsc::unbounded_channel();
                for record in pending {
                    let _ = to_apply.send(record);
                }
                let (journal_progress, journal_counters) = (progress.clone(), counters.clone());
                let thread = std::thread::Builder::new()
                    .name("firebreak-journal".to_owned())
                    .spawn(move || {
                        journal_batches(journal, queue, to_apply, journal_progress, clock, journal_counters)
                    })
                    .expect("the operating system starts a thread");
                workers.adopt_thread("ingest-journal", thread);
                workers.spawn("ingest-applier", apply_batches(store, applying, progress, counters));
            }
        }
    }
}

/// The journal thread: one record per group of waiting requests, synced, then answered; the
/// events go on to the applier.
fn journal_batches(
    mut journal: Journal,
    mut receiver: mpsc::Receiver<Message>,
    to_apply: mpsc::UnboundedSender<Journaled>,
    progress: Arc<Progress>,
    clock: Arc<dyn Clock>,
    counters: Arc<Counters>,
) {
    let mut items: Vec<IngestItem> = Vec::new();
    let mut payload: Vec<u8> = Vec::new();
    while let Some(first) = next_job_blocking(&mut receiver) {
        // While the database is behind by the most events memory may hold, accept nothing more:
        // the requests in the queue wait, and new ones get `429` (see `Ingestor::room_in_backlog`).
        while progress.backlog.load(Ordering::Relaxed) >= BACKLOG_EVENTS_MAX {
            std::thread::sleep(BACKLOG_POLL);
        }
        let waiting = gather(first, &mut receiver, &mut items, &mut payload);
        let at = clock.now();
        match journal.append(at, &payload) {
            Ok(seq) => {
                counters.journal_records.fetch_add(1, Ordering::Relaxed);
                progress.backlog.fetch_add(items.len(), Ordering::Relaxed);
                progress.journaled.store(seq, Ordering::Release);
                let _ = to_apply.send(Journaled { seq, at, items: std::mem::take(&mut items) });
                for (_, done) in waiting {
                    let _ = done.send(Ok(()));
                }
            }
            Err(err) => {
                tracing::error!(error = %err, "ingest_journal_write_failed");
                for (_, done) in waiting {
                    let _ = done.send(Err(StoreError::sync_failed(&err)));
                }
                items.clear();
            }
        }
        payload.clear();
        let applied = *progress.applied.borrow();
        if let Err(err) = journal.release(applied) {
            tracing::warn!(error = %err, "ingest_journal_release_failed");
        }
    }
}

/// The applier: stores journaled events in the database, as many records per transaction as
/// have arrived (up to [`APPLY_EVENTS_MAX`] events written within [`APPLY_SPAN_MAX`]).
async fn apply_batches(
    store: Store,
    mut applying: mpsc::UnboundedReceiver<Journaled>,
    progress: Arc<Progress>,
    counters: Arc<Counters>,
) {
    let mut waiting: VecDeque<Journaled> = VecDeque::new();
    let mut arrived = Vec::new();
    // Whether records arrived while the last batch was being applied.
    let mut sustained = false;
    loop {
        if waiting.is_empty() && applying.recv_many(&mut arrived, 1024).await == 0 {
            return;
        }
        while let Ok(record) = applying.try_recv() {
            arrived.push(record);
        }
        waiting.extend(arrived.drain(..));
        if sustained {
            gather_records(&mut applying, &mut waiting).await;
        }
        let Some(first_at) = waiting.front().map(|record| record.at) else { continue };
        // The batch's events in one list, and where each record's are in it.
        let mut items: Vec<IngestItem> = Vec::new();
        let mut records: Vec<Span> = Vec::new();
        while let Some(next) = waiting.front() {
            let span = next.at.duration_since(first_at).unsigned_abs();
            if !items.is_empty()
                && (items.len() + next.items.len() > APPLY_EVENTS_MAX || span > APPLY_SPAN_MAX)
            {
                break;
            }
            let Some(record) = waiting.pop_front() else { break };
            let start = items.len();
            items.extend(record.items);
            records.push(Span { seq: record.seq, at: record.at, events: start..items.len() });
        }
        let events = items.len();
        let summary = apply(&store, &items, &records).await;
        progress.backlog.fetch_sub(events, Ordering::Relaxed);
        counters.batches_committed.fetch_add(1, Ordering::Relaxed);
        if summary.events_dropped > 0 {
            counters.events_dropped.fetch_add(summary.events_dropped as u64, Ordering::Relaxed);
        }
        if let Some(seq) = summary.seq {
            progress.applied.send_replace(seq);
        }
        sustained = !waiting.is_empty() || !applying.is_empty();
    }
}

/// Waits, at most [`APPLY_GATHER_MAX`], until the records waiting hold [`APPLY_GATHER_EVENTS`]
/// events.
async fn gather_records(
    applying: &mut mpsc::UnboundedReceiver<Journaled>,
    waiting: &mut VecDeque<Journaled>,
) {
    let mut events: usize = waiting.iter().map(|record| record.items.len()).sum();
    let deadline = tokio::time::Instant::now() + APPLY_GATHER_MAX;
    while events < APPLY_GATHER_EVENTS {
        match tokio::time::timeout_at(deadline, applying.recv()).await {
            Ok(Some(record)) => {
                events += record.items.len();
                waiting.push_back(record);
            }
            Ok(None) | Err(_) => return,
        }
    }
}

/// What applying some journal records did.
#[derive(Default)]
struct Applied {
    /// The last record applied.
    seq: Option<u64>,
    events_dropped: usize,
}

/// Attempts before the applier gives up on a batch that fails for a reason retrying will not
/// fix, and splits it (or, for a single record, records it as applied without its events).
const APPLY_ATTEMPTS_MAX: u32 = 3;
/// The longest pause between attempts.
const APPLY_RETRY_DELAY_MAX: Duration = Duration::from_secs(5);

/// Stores the events of `records` (ranges of `all`) in one transaction. A database that cannot be
/// reached or written is retried until it can: nothing answered `202` is given up for it. A batch
/// refused for what it holds is split into its records, and a record refused on its own is logged
/// and skipped, so that one bad record does not stop ingest for good.
async fn apply(store: &Store, all: &[IngestItem], records: &[Span]) -> Applied {
    let (Some(first), Some(last)) = (records.first(), records.last()) else { return Applied::default() };
    let (seq, at) = (last.seq, last.at);
    let items = &all[first.events.start..last.events.end];
    let mut delay = Duration::from_millis(10);
    let mut refused = 0;
    loop {
        let err = match store.ingest_journaled(items, at, seq).await {
            Ok(summary) => return applied(seq, &summary),
            Err(err) => err,
        };
        if !err.is_transient() {
            refused += 1;
        }
        if refused >= APPLY_ATTEMPTS_MAX {
            if records.len() > 1 {
                tracing::warn!(error = %err, records = records.len(), "ingest_apply_splitting");
                let mut result = Applied::default();
                for record in records {
                    let one = Box::pin(apply(store, all, std::slice::from_ref(record))).await;
                    result.seq = one.seq.or(result.seq);
                    result.events_dropped += one.events_dropped;
                }
                return result;
            }
            tracing::error!(error = %err, seq, events = items.len(), "ingest_journal_record_skipped");
            return match store.ingest_journaled(&[], at, seq).await {
                Ok(summary) => Applied { events_dropped: items.len(), ..applied(seq, &summary) },
                Err(_) => Applied::default(),
            };
        }
        tracing::warn!(error = %err, seq, "ingest_apply_retrying");
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(APPLY_RETRY_DELAY_MAX);
    }
}

fn applied(seq: u64, summary: &IngestSummary) -> Applied {
    Applied { seq: Some(seq), events_dropped: summary.events_dropped }
}

/// The writer without a journal: one transaction per group of waiting requests, each answered
/// once it is committed.
async fn write_batches(
    store: Store,
    clock: Arc<dyn Clock>,
    mut receiver: mpsc::Receiver<Message>,
    counters: Arc<Counters>,
) {
    let mut items: Vec<IngestItem> = Vec::new();
    let mut payload: Vec<u8> = Vec::new();
    while let Some(first) = next_job(&mut receiver).await {
        let waiting = gather(first, &mut receiver, &mut items, &mut payload);
        match store_with_retry(&store, &items, clock.now()).await {
            Ok(_) => {
                counters.batches_committed.fetch_add(1, Ordering::Relaxed);
                for (_, done) in waiting {
                    let _ = done.send(Ok(()));
                }
            }
            Err(err) if waiting.len() > 1 => {
                // One request may be at fault (its service was just removed, say): store the
                // others on their own so they are not refused with it.
                tracing::warn!(error = %err, requests = waiting.len(), "ingest_batch_failed");
                for (range, done) in waiting {
                    let result = store_with_retry(&store, &items[range], clock.now()).await;
                    if result.is_ok() {
                        counters.batches_committed.fetch_add(1, Ordering::Relaxed);
                    }
                    let _ = done.send(result.map(|_| ()));
                }
            }
            Err(err) => {
                tracing::warn!(error = %err, "ingest_batch_failed");
                if let Some((_, done)) = waiting.into_iter().next() {
                    let _ = done.send(Err(err));
                }
            }
        }
        items.clear();
        payload.clear();
    }
}

async fn store_with_retry(
    store: &Store,
    items: &[IngestItem],
    now: Timestamp,
) -> Result<IngestSummary, StoreError> {
    let mut delay = Duration::from_millis(10);
    for _ in 0..5 {
        match store.ingest(items, now).await {
            Err(StoreError::Unavailable(err)) => {
                tracing::warn!(error = %err, "ingest_retrying");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            other => return other,
        }
    }
    store.ingest(items, now).await
}

/// A dedup key for a trigger whose sender gave none: 32 random hex digits.
pub fn new_dedup_key() -> String {
    secret::generate("")[..32].to_owned()
}

impl App {
    /// The service whose integration key is `key`, if any. Keys are looked up by their SHA-256 in
    /// a cache in front of the store; unknown keys are remembered too, within a bound.
    pub async fn service_for_integration_key(&self, key: &str) -> Result<Option<Id>> {
        Ok(self.inner.ingestor.service_for_key(self.store(), key).await?)
    }

    /// Makes `events` of service `service_id` durable, returning once they are: in a synced
    /// journal record (SQLite) or a committed transaction (PostgreSQL). Every event must have a
    /// dedup key.
    ///
    /// A NUL character in an event's text becomes U+FFFD: PostgreSQL cannot store one, and an
    /// alert is not refused for its text.
    pub async fn submit_alerts(&self, service_id: Id, mut events: Vec<AlertEvent>) -> Result<(), Refusal> {
        events.iter_mut().for_each(AlertEvent::replace_nul);
        self.inner.ingestor.submit(service_id, events).await
    }

    /// Waits (at most five seconds) until every alert event accepted before this call is in the
    /// database, so that what a client was told is stored can be read.
    pub async fn settle(&self) {
        self.inner.ingestor.settle().await;
    }

    /// What the ingest pipeline has done, for metrics.
    pub fn ingest_metrics(&self) -> IngestMetrics {
        self.inner.ingestor.metrics()
    }

    /// The alerts of incident `id`, oldest first, at most `limit` (capped at [`ALERTS_LISTED_MAX`]).
    ///
    /// Fails with [`Error::NotFound`] when there is no incident `id`.
    pub async fn incident_alerts(&self, id: Id, limit: u32) -> Result<Vec<Alert>> {
        self.store().incident(id).await?;
        Ok(self.store().incident_alerts(id, limit.min(ALERTS_LISTED_MAX)).await?)
    }

    /// The alerts of a service, newest first, silenced ones included, at most `limit` (capped at
    /// [`ALERTS_LISTED_MAX`]).
    ///
    /// Fails with [`Error::NotFound`] when there is no such service.
    pub async fn service_alerts(&self, service: &Ref, limit: u32) -> Result<Vec<Alert>> {
        let id = resolve::service_id(self.store(), service).await?;
        Ok(self.store().service_alerts(id, limit.min(ALERTS_LISTED_MAX)).await?)
    }
}

#[cfg(test)]
mod tests {
    use firebreak_domain::{AlertAction, Kind, Severity};

    use super::*;

    fn event(key: &str) -> AlertEvent {
        AlertEvent {
            action: AlertAction::Trigger,
            dedup_key: Some(key.to_owned()),
            summary: "disk almost full".to_owned(),
            source: "db-1".to_owned(),
            severity: Severity::Sev1,
            kind: Kind::Signal,
            occurred_at: None,
            labels: Default::default(),
            details: String::new(),
            links: Vec::new(),
        }
    }

    /// An ingestor whose queue holds `capacity` requests, with the writer's end returned.
    fn ingestor(capacity: usize, backlog: usize) -> (Arc<Ingestor>, mpsc::Receiver<Message>) {
        let (queue, receiver) = mpsc::channel(capacity);
        let progress = Arc::new(Progress {
            journaled: AtomicU64::new(0),
            applied: watch::channel(0).0,
            backlog: AtomicUsize::new(backlog),
        });
        let ingestor =
            Ingestor { queue, keys: Mutex::default(), counters: Arc::default(), progress: Some(progress) };
        (Arc::new(ingestor), receiver)
    }

    #[tokio::test]
    async fn a_full_queue_refuses_at_once_and_the_waiting_request_is_still_answered() {
        let (ingestor, mut writer) = ingestor(1, 0);
        let waiting = tokio::spawn({
            let ingestor = ingestor.clone();
            async move { ingestor.submit(7, vec![event("first")]).await }
        });
        while writer.is_empty() {
            tokio::task::yield_now().await;
        }
        assert!(matches!(ingestor.submit(7, vec![event("second")]).await, Err(Refusal::Busy)));
        assert_eq!(ingestor.counters.requests_throttled.load(Ordering::Relaxed), 1);

        let Some(Message::Job(job)) = writer.recv().await else { panic!("a job is queued") };
        assert_eq!(job.items[0].event.dedup_key.as_deref(), Some("first"));
        job.done.send(Ok(())).unwrap();
        assert!(waiting.await.unwrap().is_ok());
        assert_eq!(ingestor.counters.events_accepted.load(Ordering::Relaxed), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_database_too_far_behind_refuses_after_a_bounded_wait_unless_it_catches_up() {
        let (ingestor, mut writer) = ingestor(QUEUE_REQUESTS_MAX, BACKLOG_EVENTS_MAX);
        let started = tokio::time::Instant::now();
        assert!(matches!(ingestor.submit(7, vec![event("late")]).await, Err(Refusal::Busy)));
        assert_eq!(started.elapsed(), BACKLOG_WAIT_MAX);
        assert!(writer.is_empty(), "nothing waits for a writer that is not taking more");
        assert_eq!(ingestor.counters.requests_throttled.load(Ordering::Relaxed), 1);

        let submitted = tokio::spawn({
            let ingestor = ingestor.clone();
            async move { ingestor.submit(7, vec![event("in time")]).await }
        });
        tokio::time::sleep(BACKLOG_WAIT_MAX / 2).await;
        assert!(writer.is_empty());
        // The applier stores a batch: the waiting request goes on to the writer.
        let progress = ingestor.progress.as_ref().unwrap();
        progress.backlog.store(BACKLOG_EVENTS_MAX - 1000, Ordering::Relaxed);
        progress.applied.send_replace(1);
        let Some(Message::Job(job)) = writer.recv().await else { panic!("a job is queued") };
        assert_eq!(job.items[0].event.dedup_key.as_deref(), Some("in time"));
        job.done.send(Ok(())).unwrap();
        assert!(submitted.await.unwrap().is_ok());
        assert_eq!(ingestor.counters.requests_throttled.load(Ordering::Relaxed), 1);
    }
}
