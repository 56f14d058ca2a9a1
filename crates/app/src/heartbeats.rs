//! Heartbeats: checks that expect a job to ping, Healthchecks-compatible, and the worker that
//! raises an alert when one goes down.
//!
//! A ping (`/ping/{uuid}`, `/start`, `/fail`, `/log`, `/{exit_status}`, or the same by slug) is put
//! on a bounded queue; the ping writer takes everything waiting, records it in one transaction
//! ([`Store::record_pings`]) and only then answers: accepted means durable, and a flood of pings
//! costs one commit per batch, not per ping. The watcher looks at every check each
//! [`WATCH_TICK`] and at once after pings that may change a state; a check that is down gets an
//! alert event (dedup key `heartbeat:{id}`, kind `silent`, labels `alertname=HeartbeatDown`,
//! `heartbeat={slug}`) through the ingest pipeline, so silences, grouping and paging apply to it
//! as to any alert; when it is up again (or paused, or deleted) the alert is resolved, which
//! resolves its incident once no other alert holds it open.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use firebreak_api::{self as api, Ref};
use firebreak_domain::{
    Action, AlertAction, AlertEvent, Clock, Expect, FAILURES_TO_ALERT_MAX, Heartbeat, HeartbeatState, Id,
    Kind, PERIOD_SECONDS_MAX, PERIOD_SECONDS_MIN, PingKind, Severity, slugify, validate_slug,
};
use firebreak_store::{NewHeartbeat, NewPing, PINGS_KEPT, Ping, Store};
use jiff::{SignedDuration, Timestamp};
use tokio::sync::{Mutex, Notify, mpsc, oneshot};

use crate::access::Audit;
use crate::alerts::{Ingestor, Refusal};
use crate::resolve;
use crate::workers::Stop;
use crate::{App, Error, Principal, Result};

/// How much of a ping's body is kept (Healthchecks' default), said in the `Ping-Body-Limit`
/// header of every answer so that clients can send less.
pub const PING_BODY_LIMIT: usize = 100_000;
/// Longest run id (`?rid=`): a UUID is 36 characters.
pub const RID_CHARS_MAX: usize = 64;
/// Longest user agent kept.
const USER_AGENT_CHARS_MAX: usize = 500;
/// Pings waiting to be written; more are refused (`503`) until the writer catches up.
const QUEUE_PINGS_MAX: usize = 20_000;
/// Most pings written in one transaction.
const BATCH_PINGS_MAX: usize = 2_000;
/// How often the watcher looks at every check without being woken.
pub const WATCH_TICK: Duration = Duration::from_secs(1);
/// Pings shown with one check.
pub const PINGS_SHOWN: i64 = 50;
/// What a check made by a slug ping with `?create=1` expects: a ping a day, an hour's grace
/// (Healthchecks' defaults).
const AUTO_PERIOD_SECONDS: i64 = 86_400;
const AUTO_GRACE_SECONDS: i64 = 3_600;
/// The `alertname` label of heartbeat alerts, for silences.
pub const HEARTBEAT_ALERT_NAME: &str = "HeartbeatDown";

/// Which check a ping is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PingTarget {
    /// `/ping/{uuid}`.
    Id(String),
    /// `/ping/{ping_key}/{slug}`; `create` makes the check when the service has none of that slug.
    Slug { key: String, slug: String, create: bool },
}

/// A ping as it arrived.
#[derive(Clone, Debug)]
pub struct PingRequest {
    pub target: PingTarget,
    pub kind: PingKind,
    pub exit_status: Option<u8>,
    /// The run id (`?rid=`), empty when none.
    pub rid: String,
    pub method: String,
    pub address: String,
    pub user_agent: String,
    /// The body, of which only the first [`PING_BODY_LIMIT`] bytes are kept.
    pub body: Vec<u8>,
}

/// A check as the API and the web UI show it.
#[derive(Clone, Debug)]
pub struct CheckView {
    pub check: Heartbeat,
    pub state: HeartbeatState,
    pub ping_url: String,
    pub slug_url: String,
    pub next_expected: Option<Timestamp>,
    pub pings: Option<Vec<Ping>>,
}

impl From<CheckView> for api::Heartbeat {
    fn from(view: CheckView) -> api::Heartbeat {
        let check = view.check;
        let (cron, time_zone) = match check.expect.cron_text() {
            Some((cron, zone)) => (Some(cron.to_owned()), zone.to_owned()),
            None => (None, "UTC".to_owned()),
        };
        api::Heartbeat {
            id: check.id,
            name: check.name,
            service_id: check.service_id,
            ping_url: view.ping_url,
            slug_url: view.slug_url,
            slug: check.slug,
            status: view.state.as_str().to_owned(),
            period_seconds: check.expect.period_seconds(),
            cron,
            time_zone,
            grace_seconds: check.grace.as_secs(),
            failures_to_alert: check.failures_to_alert,
            severity: check.severity.into(),
            last_ping_at: check.seen.last_ping_at,
            next_expected_at: view.next_expected,
            started_at: check.seen.started_at,
            failures_in_row: check.seen.failures_in_row,
            alerting: check.alert_open,
            created_at: check.created_at,
            created_by: check.created_by,
            pings: view.pings.map(|pings| pings.into_iter().map(ping_to_api).collect()),
        }
    }
}

fn ping_to_api(ping: Ping) -> api::HeartbeatPing {
    api::HeartbeatPing {
        id: ping.id,
        at: ping.at,
        kind: ping.kind.as_str().to_owned(),
        exit_status: ping.exit_status,
        rid: ping.rid,
        duration_ms: ping.duration.map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
        method: ping.method,
        address: ping.address,
        user_agent: ping.user_agent,
        body: ping.body,
    }
}

/// What writing a ping came to: the check it changed, `None` for a check gone, or why it could not
/// be written.
type Outcome = std::result::Result<Option<(Heartbeat, Option<SignedDuration>)>, String>;

struct Job {
    ping: NewPing,
    answer: oneshot::Sender<Outcome>,
}

/// The heartbeat worker's shared parts: the ping queue and the watcher's wake-up.
pub(crate) struct Heartbeats {
    store: Store,
    clock: Arc<dyn Clock>,
    ingestor: Arc<Ingestor>,
    queue: mpsc::Sender<Job>,
    jobs: std::sync::Mutex<Option<mpsc::Receiver<Job>>>,
    wake: Notify,
    /// Ping ids seen before, to the check's id; a deleted check is found gone when written.
    ids: Mutex<HashMap<String, Id>>,
    /// One watcher round at a time.
    round: Mutex<()>,
    /// Pings written per check since its pings were last pruned (by the ping writer only).
    unpruned: std::sync::Mutex<HashMap<Id, i64>>,
}

impl Heartbeats {
    pub(crate) fn new(store: Store, clock: Arc<dyn Clock>, ingestor: Arc<Ingestor>) -> Heartbeats {
        let (queue, jobs) = mpsc::channel(QUEUE_PINGS_MAX);
        Heartbeats {
            store,
            clock,
            ingestor,
            queue,
            jobs: std::sync::Mutex::new(Some(jobs)),
            wake: Notify::new(),
            ids: Mutex::default(),
            round: Mutex::new(()),
            unpruned: std::sync::Mutex::default(),
        }
    }

    /// Writes queued pings in batches until `stop` is raised, then writes what is still queued.
    pub(crate) async fn write(self: Arc<Self>, mut stop: Stop) {
        let Some(mut jobs) = self.jobs.lock().expect("the ping queue lock is never poisoned").take() else {
            return;
        };
        let mut batch = Vec::with_capacity(BATCH_PINGS_MAX);
        loop {
            tokio::select! {
                () = stop.requested() => break,
                got = jobs.recv_many(&mut batch, BATCH_PINGS_MAX) => if got == 0 { return },
            }
            self.write_batch(&mut batch).await;
        }
        jobs.close();
        while jobs.recv_many(&mut batch, BATCH_PINGS_MAX).await > 0 {
            self.write_batch(&mut batch).await;
        }
    }

    async fn write_batch(&self, batch: &mut Vec<Job>) {
        let pings: Vec<NewPing> = batch.iter().map(|job| job.ping.clone()).collect();
        let prune = {
            let mut unpruned = self.unpruned.lock().expect("the prune counts lock is never poisoned");
            for ping in &pings {
                *unpruned.entry(ping.heartbeat_id).or_default() += 1;
            }
            if unpruned.len() > QUEUE_PINGS_MAX {
                // Checks deleted long ago; their pings went with them.
                unpruned.retain(|_, count| *count >= PINGS_KEPT);
            }
            let due: Vec<Id> =
                unpruned.iter().filter(|(_, count)| **count >= PINGS_KEPT).map(|(id, _)| *id).collect();
            for id in &due {
                unpruned.remove(id);
            }
            due
        };
        match self.store.record_pings(&pings, &prune).await {
            Ok(outcomes) => {
                // The watcher is woken when a check's alert is to be raised or resolved now, not
                // for every ping: under a flood of pings it would otherwise look at every check
                // after every batch.
                let now = self.clock.now();
                let due = outcomes
                    .iter()
                    .flatten()
                    .any(|(check, _)| (check.state(now) == HeartbeatState::Down) != check.alert_open);
                if due {
                    self.wake.notify_one();
                }
                for (job, outcome) in batch.drain(..).zip(outcomes) {
                    let _ = job.answer.send(Ok(outcome));
                }
            }
            Err(err) => {
                tracing::warn!(error = %err, pings = batch.len(), "pings_not_recorded");
                let message = err.to_string();
                for job in batch.drain(..) {
                    let _ = job.answer.send(Err(message.clone()));
                }
            }
        }
    }

    /// Looks at every check each [`WATCH_TICK`], and when pings may have changed one, until
    /// `stop` is raised.
    pub(crate) async fn watch(self: Arc<Self>, mut stop: Stop) {
        let mut ticker = tokio::time::interval(WATCH_TICK);
        loop {
            tokio::select! {
                () = stop.requested() => return,
                _ = ticker.tick() => {}
                () = self.wake.notified() => {}
            }
            if let Err(err) = self.round().await {
                tracing::warn!(error = %err, "heartbeats_unwatched");
            }
        }
    }

    /// One look at every check: raises the alert of each check that is down and has none open,
    /// and resolves the alert of each that has one and is not down.
    pub(crate) async fn round(&self) -> Result<()> {
        let _one = self.round.lock().await;
        let now = self.clock.now();
        for (check, deleted) in self.store.heartbeats_to_watch().await? {
            let why = if deleted { None } else { check.why_down(now) };
            // The alert to send, and whether it leaves the alert open.
            let change = match (why, check.alert_open) {
                (Some(summary), false) => Some((AlertAction::Trigger, summary, true)),
                (None, true) => Some((AlertAction::Resolve, String::new(), false)),
                _ => None,
            };
            if let Some((action, summary, open)) = change
                && self.send(&check, action, summary).await
            {
                self.store.set_heartbeat_alert(check.id, !open, open).await?;
            }
        }
        Ok(())
    }

    /// Sends `action` for the check's alert through the ingest pipeline and waits until it is
    /// stored; says whether it was.
    async fn send(&self, check: &Heartbeat, action: AlertAction, summary: String) -> bool {
        let event = AlertEvent {
            action,
            dedup_key: Some(dedup_key(check.id)),
            summary,
            source: "firebreak".to_owned(),
            severity: check.severity,
            kind: Kind::Silent,
            occurred_at: Some(self.clock.now()),
            labels: BTreeMap::from([
                ("alertname".to_owned(), HEARTBEAT_ALERT_NAME.to_owned()),
                ("heartbeat".to_owned(), check.slug.clone()),
                ("source".to_owned(), "firebreak".to_owned()),
            ]),
            details: String::new(),
            links: Vec::new(),
        };
        match self.ingestor.submit(check.service_id, vec![event]).await {
            Ok(()) => {
                self.ingestor.settle().await;
                true
            }
            Err(Refusal::Busy) => {
                tracing::warn!(heartbeat_id = check.id, "heartbeat_alert_refused");
                false
            }
            Err(Refusal::Failed(err)) => {
                tracing::warn!(heartbeat_id = check.id, error = %err, "heartbeat_alert_failed");
                false
            }
        }
    }

    /// Queues a ping for the writer and waits for it to be recorded.
    async fn record(&self, ping: NewPing) -> Result<Option<(Heartbeat, Option<SignedDuration>)>> {
        let (answer, outcome) = oneshot::channel();
        self.queue
            .try_send(Job { ping, answer })
            .map_err(|_| Error::Unavailable("too many pings waiting to be recorded; retry".to_owned()))?;
        let outcome =
            outcome.await.map_err(|_| Error::Unavailable("firebreak is stopping; retry".to_owned()))?;
        outcome.map_err(Error::Unavailable)
    }
}

/// The dedup key of a check's alert.
pub fn dedup_key(id: Id) -> String {
    format!("heartbeat:{id}")
}

/// A random UUID (version 4), the ping id of a check.
fn new_uuid() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the operating system's random source must be available");
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

/// Whether `text` is a UUID as pings carry them (any case).
pub fn is_uuid(text: &str) -> bool {
    text.len() == 36
        && text
            .char_indices()
            .all(|(i, c)| if matches!(i, 8 | 13 | 18 | 23) { c == '-' } else { c.is_ascii_hexdigit() })
}

/// A fresh key for a service's slug URLs: 22 characters of letters and digits.
fn new_ping_key() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut bytes = [0u8; 22];
    getrandom::fill(&mut bytes).expect("the operating system's random source must be available");
    bytes.iter().map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char).collect()
}

fn expect_of(period_seconds: Option<i64>, cron: Option<&str>, time_zone: Option<&str>) -> Result<Expect> {
    match (period_seconds, cron) {
        (Some(seconds), None) => {
            if time_zone.is_some() {
                return Err(Error::Invalid("time_zone goes with cron, not with period_seconds".to_owned()));
            }
            Expect::period(seconds).map_err(Error::Invalid)
        }
        (None, Some(cron)) => Expect::cron(cron, time_zone.unwrap_or("UTC")).map_err(Error::Invalid),
        _ => Err(Error::Invalid("give exactly one of period_seconds and cron".to_owned())),
    }
}

fn grace_of(seconds: i64) -> Result<SignedDuration> {
    if !(PERIOD_SECONDS_MIN..=PERIOD_SECONDS_MAX).contains(&seconds) {
        return Err(Error::Invalid(format!(
            "grace_seconds must be between {PERIOD_SECONDS_MIN} and {PERIOD_SECONDS_MAX}"
        )));
    }
    Ok(SignedDuration::from_secs(seconds))
}

fn failures_of(failures: u32) -> Result<u32> {
    if !(1..=FAILURES_TO_ALERT_MAX).contains(&failures) {
        return Err(Error::Invalid(format!(
            "failures_to_alert must be between 1 and {FAILURES_TO_ALERT_MAX}"
        )));
    }
    Ok(failures)
}

impl App {
    fn heartbeats_worker(&self) -> &Heartbeats {
        &self.inner.heartbeats
    }

    /// The check as shown, with its last pings when `pings`.
    async fn view(&self, check: Heartbeat, pings: bool) -> Result<CheckView> {
        let key = self.store().service_ping_key(check.service_id).await?.unwrap_or_default();
        let pings =
            if pings { Some(self.store().heartbeat_pings(check.id, PINGS_SHOWN).await?) } else { None };
        let base = self.public_url();
        Ok(CheckView {
            state: check.state(self.now()),
            ping_url: format!("{base}/ping/{}", check.ping_id),
            slug_url: format!("{base}/ping/{key}/{}", check.slug),
            next_expected: check.next_expected(),
            pings,
            check,
        })
    }

    /// Creates a heartbeat check on behalf of `who`, who configures the service's team.
    ///
    /// Fails with [`Error::Invalid`] for a bad schedule, grace time or slug, [`Error::NotFound`]
    /// for an unknown service and [`Error::Conflict`] for a slug the service has already.
    pub async fn create_heartbeat(&self, who: &Principal, body: api::CreateHeartbeat) -> Result<CheckView> {
        let service_id = resolve::service_id(self.store(), &body.service).await?;
        self.authorize(who, Action::Configure, self.service_scope(service_id).await?).await?;
        let name = resolve::name(&body.name)?;
        let slug = body.slug.clone().unwrap_or_else(|| slugify(&name));
        validate_slug(&slug).map_err(Error::Invalid)?;
        let check = NewHeartbeat {
            service_id,
            name,
            slug,
            expect: expect_of(body.period_seconds, body.cron.as_deref(), body.time_zone.as_deref())?,
            grace: grace_of(body.grace_seconds)?,
            failures_to_alert: failures_of(body.failures_to_alert.unwrap_or(1))?,
            severity: body.severity.map_or(Severity::Sev3, Into::into),
        };
        let check = self.insert_heartbeat(who, &check).await?;
        self.view(check, false).await
    }

    async fn insert_heartbeat(&self, who: &Principal, check: &NewHeartbeat) -> Result<Heartbeat> {
        let mut tx = self.store().begin().await?;
        let check = tx.create_heartbeat(check, &new_uuid(), &new_ping_key(), who.name(), self.now()).await?;
        let audit = Audit::new("heartbeat.create", format!("heartbeat:{}", check.id)).after(
            serde_json::json!({"name": check.name, "slug": check.slug, "service_id": check.service_id}),
        );
        self.audit_in(&mut tx, who, audit).await?;
        tx.commit().await?;
        Ok(check)
    }

    /// Changes check `id`'s settings on behalf of `who`, who configures its service's team.
    pub async fn update_heartbeat(
        &self,
        who: &Principal,
        id: Id,
        body: api::UpdateHeartbeat,
    ) -> Result<CheckView> {
        let check = self.store().heartbeat(id).await?;
        self.authorize(who, Action::Configure, self.service_scope(check.service_id).await?).await?;
        let name = match &body.name {
            Some(name) => resolve::name(name)?,
            None => check.name.clone(),
        };
        let slug = body.slug.clone().unwrap_or_else(|| check.slug.clone());
        validate_slug(&slug).map_err(Error::Invalid)?;
        let expect = if body.period_seconds.is_some() || body.cron.is_some() {
            expect_of(body.period_seconds, body.cron.as_deref(), body.time_zone.as_deref())?
        } else if let (Some(zone), Some((cron, _))) = (&body.time_zone, check.expect.cron_text()) {
            Expect::cron(cron, zone).map_err(Error::Invalid)?
        } else if body.time_zone.is_some() {
            return Err(Error::Invalid("time_zone goes with cron, not with period_seconds".to_owned()));
        } else {
            check.expect.clone()
        };
        let changed = NewHeartbeat {
            service_id: check.service_id,
            name,
            slug,
            expect,
            grace: body.grace_seconds.map_or(Ok(check.grace), grace_of)?,
            failures_to_alert: body.failures_to_alert.map_or(Ok(check.failures_to_alert), failures_of)?,
            severity: body.severity.map_or(check.severity, Into::into),
        };
        let mut tx = self.store().begin().await?;
        let after = tx.update_heartbeat(id, &changed).await?;
        let audit = Audit::new("heartbeat.update", format!("heartbeat:{id}"))
            .before(serde_json::json!({"name": check.name, "slug": check.slug}))
            .after(serde_json::json!({"name": after.name, "slug": after.slug}));
        self.audit_in(&mut tx, who, audit).await?;
        tx.commit().await?;
        self.heartbeats_worker().wake.notify_one();
        self.view(after, false).await
    }

    /// The checks of one service (id or name), or of every service.
    pub async fn heartbeats(&self, service: Option<&Ref>) -> Result<Vec<CheckView>> {
        let service_id = match service {
            Some(service) => Some(resolve::service_id(self.store(), service).await?),
            None => None,
        };
        let mut views = Vec::new();
        for check in self.store().heartbeats(service_id).await? {
            views.push(self.view(check, false).await?);
        }
        Ok(views)
    }

    /// Check `id` with its last pings. Fails with [`Error::NotFound`] for an unknown check.
    pub async fn heartbeat(&self, id: Id) -> Result<CheckView> {
        let check = self.store().heartbeat(id).await?;
        self.view(check, true).await
    }

    /// Pauses check `id` (`paused`) or resumes it, on behalf of `who`, a responder of its service's
    /// team. A paused check expects nothing, and its alert is resolved; a resumed one expects its
    /// next ping a period (or the next cron run) from now.
    pub async fn pause_heartbeat(&self, who: &Principal, id: Id, paused: bool) -> Result<CheckView> {
        let check = self.store().heartbeat(id).await?;
        self.authorize(who, Action::Respond, self.service_scope(check.service_id).await?).await?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let mut check = tx.heartbeat_for_update(id).await?;
        if paused {
            check.pause();
        } else {
            check.resume(now);
        }
        tx.save_seen(id, &check.seen).await?;
        let action = if paused { "heartbeat.pause" } else { "heartbeat.resume" };
        self.audit_in(&mut tx, who, Audit::new(action, format!("heartbeat:{id}"))).await?;
        tx.commit().await?;
        self.heartbeats_worker().round().await?;
        self.heartbeat(id).await
    }

    /// Deletes check `id` and its pings on behalf of `who`, who configures its service's team; its
    /// alert, if raised, is resolved.
    pub async fn delete_heartbeat(&self, who: &Principal, id: Id) -> Result<()> {
        let check = self.store().heartbeat(id).await?;
        self.authorize(who, Action::Configure, self.service_scope(check.service_id).await?).await?;
        let mut tx = self.store().begin().await?;
        tx.delete_heartbeat(id, self.now()).await?;
        let audit = Audit::new("heartbeat.delete", format!("heartbeat:{id}")).before(
            serde_json::json!({"name": check.name, "slug": check.slug, "service_id": check.service_id}),
        );
        self.audit_in(&mut tx, who, audit).await?;
        tx.commit().await?;
        self.heartbeats_worker().ids.lock().await.remove(&check.ping_id);
        self.heartbeats_worker().round().await
    }

    /// Looks at every check now, raising and resolving alerts (the watcher does this every
    /// second; tests on a manual clock call it after moving the clock).
    pub async fn watch_heartbeats(&self) -> Result<()> {
        self.heartbeats_worker().round().await
    }

    /// Records a ping and answers once it is durable. Fails with [`Error::NotFound`] for an
    /// unknown check (or ping key), [`Error::BadRequest`] for a bad run id, and
    /// [`Error::Unavailable`] when too many pings are waiting.
    pub async fn ping(&self, request: PingRequest) -> Result<()> {
        let rid = request.rid;
        if rid.chars().count() > RID_CHARS_MAX
            || !rid.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(Error::BadRequest(format!(
                "rid must be up to {RID_CHARS_MAX} letters, digits, - and _, such as a UUID"
            )));
        }
        let id = self.ping_target(&request.target).await?;
        let keep = request.body.len().min(PING_BODY_LIMIT);
        let body = String::from_utf8_lossy(&request.body[..keep]).replace('\0', "\u{fffd}");
        let ping = NewPing {
            heartbeat_id: id,
            at: self.now(),
            kind: request.kind,
            exit_status: request.exit_status,
            rid,
            method: request.method,
            address: request.address,
            user_agent: request
                .user_agent
                .chars()
                .take(USER_AGENT_CHARS_MAX)
                .collect::<String>()
                .replace('\0', ""),
            body,
        };
        match self.heartbeats_worker().record(ping).await? {
            Some(_) => Ok(()),
            None => {
                if let PingTarget::Id(ping_id) = &request.target {
                    self.heartbeats_worker().ids.lock().await.remove(&ping_id.to_ascii_lowercase());
                }
                Err(Error::NotFound("not found".to_owned()))
            }
        }
    }

    /// The check a ping is for, creating it for a slug ping that asks.
    async fn ping_target(&self, target: &PingTarget) -> Result<Id> {
        let not_found = || Error::NotFound("not found".to_owned());
        match target {
            PingTarget::Id(ping_id) => {
                let ping_id = ping_id.to_ascii_lowercase();
                if !is_uuid(&ping_id) {
                    return Err(not_found());
                }
                let ids = &self.heartbeats_worker().ids;
                if let Some(id) = ids.lock().await.get(&ping_id) {
                    return Ok(*id);
                }
                let check = self.store().heartbeat_by_ping_id(&ping_id).await?.ok_or_else(not_found)?;
                let mut ids = ids.lock().await;
                if ids.len() >= QUEUE_PINGS_MAX {
                    ids.clear();
                }
                ids.insert(ping_id, check.id);
                Ok(check.id)
            }
            PingTarget::Slug { key, slug, create } => {
                if key.len() > 100 || validate_slug(slug).is_err() {
                    return Err(not_found());
                }
                let (service_id, check) =
                    self.store().heartbeat_by_slug(key, slug).await?.ok_or_else(not_found)?;
                match check {
                    Some(check) => Ok(check.id),
                    None if *create => {
                        let check = NewHeartbeat {
                            service_id,
                            name: slug.clone(),
                            slug: slug.clone(),
                            expect: Expect::period(AUTO_PERIOD_SECONDS).map_err(Error::Internal)?,
                            grace: SignedDuration::from_secs(AUTO_GRACE_SECONDS),
                            failures_to_alert: 1,
                            severity: Severity::Sev3,
                        };
                        let who = Principal::admin("ping key");
                        match self.insert_heartbeat(&who, &check).await {
                            Ok(check) => Ok(check.id),
                            // Two first pings at once: the other made it.
                            Err(Error::Conflict(_)) => self
                                .store()
                                .heartbeat_by_slug(key, slug)
                                .await?
                                .and_then(|(_, check)| check)
                                .map(|check| check.id)
                                .ok_or_else(not_found),
                            Err(err) => Err(err),
                        }
                    }
                    None => Err(not_found()),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_version_4_and_recognised() {
        let id = new_uuid();
        assert!(is_uuid(&id), "{id}");
        assert_eq!(&id[14..15], "4");
        assert!(!is_uuid("not-a-uuid"));
        assert!(is_uuid("5C6E2C2D-7C4C-4C1B-9D5B-1E1E1E1E1E1E"));
        assert_ne!(new_uuid(), new_uuid());
        assert_eq!(new_ping_key().len(), 22);
    }
}
