//! Paging: the escalation driver that turns incidents into notifications, their delivery, and the
//! contact-method and notification routes of the API.
//!
//! # The driver
//!
//! [`Pager`] runs the engine's pure state machine (`firebreak-engine`) against the store, with an
//! injected clock. Each round it
//! 1. brings the escalations of *pending* incidents in line with their status: a database trigger
//!    marks every incident that is created or changes status, so no code path can forget to start
//!    or stop paging;
//! 2. ticks the escalations whose deadline has passed, checking between batches whether new
//!    incidents are pending, so that a new trigger never queues behind a burst of timers;
//! 3. claims notifications whose next attempt is due (retries, and attempts whose claim expired
//!    because the replica making them died).
//!
//! Decisions are written with [`Store::apply_escalations`], a compare-and-set per escalation, so
//! replicas that decide the same step write it once; the pages become notifications in the same
//! transaction, claimed for their first attempt by the replica that wrote them, which sends them at
//! once. Every attempt's outcome is recorded with the claim it was made under, and goes on the
//! incident's timeline.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get};
use firebreak_api as api;
use firebreak_domain::{Clock, Id, NotifyOutcome, Status, TimelineEvent};
use firebreak_engine::{self as engine, Action as EngineAction, Input, Target};
use firebreak_notify::{self as notify, Channel, Delivered, Notifier, SendError};
use firebreak_store::{
    Applied, ClaimedNotification, ContactMethod, EscalationUpdate, Finish, NewNotification, Outcome,
    PendingIncident, Store, StoredEscalation,
};
use jiff::{SignedDuration, Timestamp};
use tokio::sync::{Notify, Semaphore, mpsc};

use crate::App;
use crate::error::ApiError;
use crate::extract::{Json, Path};
use crate::links::{self, Links};

/// Escalations decided, or notifications claimed, per transaction. Small enough that a new incident
/// waits for at most one such transaction while a burst of timers is worked through.
pub const BATCH_MAX: u32 = 64;
/// How long a claimed notification attempt may take before another replica may retry it.
pub const LEASE: SignedDuration = SignedDuration::from_secs(60);
/// How often the driver looks for work it was not woken for: other replicas' incidents, expired
/// claims. A replica that dies leaves its due timers to the others within this interval.
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);
/// Longest a single delivery attempt may take, whatever the channel.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(40);
/// Deliveries in flight at once, per kind: pages of new incidents have their own allowance, so a
/// burst of escalation timers never delays the first page of a new incident.
const DELIVERIES_MAX: usize = 64;

/// Outcomes waiting to be recorded; deliveries wait when it is full.
const OUTCOMES_QUEUED_MAX: usize = 4096;
/// Most outcomes recorded in one transaction.
const OUTCOMES_PER_COMMIT_MAX: usize = 512;

/// Records delivery outcomes as they come, everything waiting in one transaction.
async fn record_outcomes(store: Store, mut receiver: mpsc::Receiver<Outcome>) {
    let mut batch = Vec::new();
    while let Some(first) = receiver.recv().await {
        batch.push(first);
        while batch.len() < OUTCOMES_PER_COMMIT_MAX {
            match receiver.try_recv() {
                Ok(outcome) => batch.push(outcome),
                Err(_) => break,
            }
        }
        record(&store, &batch).await;
        batch.clear();
    }
}

async fn record(store: &Store, outcomes: &[Outcome]) {
    match store.finish_notifications(outcomes).await {
        Ok(held) => {
            for (outcome, held) in outcomes.iter().zip(held) {
                if !held {
                    tracing::warn!(notification_id = outcome.claim.id, "notification_claim_lost");
                }
            }
        }
        Err(err) => {
            tracing::warn!(error = %err, outcomes = outcomes.len(), "notification_outcomes_not_saved")
        }
    }
}

/// Delivers one page to one contact method. [`Notifier`] is the real one; simulations record.
pub trait Transport: Send + Sync + 'static {
    fn send(
        &self,
        channel: Channel,
        address: &str,
        secret: Option<&str>,
        page: &notify::Page,
        now: Timestamp,
    ) -> impl Future<Output = std::result::Result<Delivered, SendError>> + Send;
}

impl Transport for Notifier {
    fn send(
        &self,
        channel: Channel,
        address: &str,
        secret: Option<&str>,
        page: &notify::Page,
        now: Timestamp,
    ) -> impl Future<Output = std::result::Result<Delivered, SendError>> + Send {
        Notifier::send(self, channel, address, secret, page, now)
    }
}

/// The escalation driver and notification sender of one process.
pub struct Pager<T: Transport = Notifier> {
    store: Store,
    clock: Arc<dyn Clock>,
    transport: T,
    links: Links,
    public_url: String,
    wake: Notify,
    /// Set when new incidents may be pending, so that a burst of timers yields to them.
    pending_hint: AtomicBool,
    random: AtomicU64,
    fresh: Arc<Semaphore>,
    due: Arc<Semaphore>,
    /// Where deliveries hand their outcomes when serving: one task records them in batches, so a
    /// burst of pages costs a few commits rather than one each, and the writer stays free for new
    /// incidents.
    outcomes: std::sync::OnceLock<mpsc::Sender<Outcome>>,
}

/// How a round hands out deliveries.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Delivery {
    /// Concurrently, in tasks of their own (serving).
    Spawn,
    /// One after the other, before the round ends (deterministic simulations).
    Inline,
}

/// Data a round loads once.
#[derive(Default)]
struct Cache {
    policies: HashMap<Id, Option<engine::Policy>>,
    schedules: HashMap<Id, Option<(String, firebreak_domain::Schedule)>>,
    users: HashMap<Id, Option<String>>,
    teams: HashMap<Id, Option<(String, Vec<Id>)>>,
    methods: HashMap<Id, Vec<ContactMethod>>,
}

impl<T: Transport> Pager<T> {
    /// A driver over `store` that pages through `transport`, with links signed by `links`.
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        transport: T,
        links: Links,
        public_url: &str,
    ) -> Pager<T> {
        let seed = std::hash::BuildHasher::hash_one(&std::collections::hash_map::RandomState::new(), 0u8);
        Pager {
            store,
            clock,
            transport,
            links,
            public_url: public_url.trim_end_matches('/').to_owned(),
            wake: Notify::new(),
            pending_hint: AtomicBool::new(true),
            random: AtomicU64::new(seed | 1),
            fresh: Arc::new(Semaphore::new(DELIVERIES_MAX)),
            due: Arc::new(Semaphore::new(DELIVERIES_MAX)),
            outcomes: std::sync::OnceLock::new(),
        }
    }

    /// Says that incidents were created or changed status, so the driver looks now rather than at
    /// its next poll.
    pub fn wake(&self) {
        self.pending_hint.store(true, Ordering::Release);
        self.wake.notify_one();
    }

    /// Runs the driver until the process ends.
    pub async fn run(self: Arc<Self>) {
        let (sender, receiver) = mpsc::channel(OUTCOMES_QUEUED_MAX);
        if self.outcomes.set(sender).is_ok() {
            tokio::spawn(record_outcomes(self.store.clone(), receiver));
        }
        loop {
            let more = match self.round(Delivery::Spawn).await {
                Ok(more) => more,
                Err(err) => {
                    tracing::warn!(error = %err, "paging_round_failed");
                    false
                }
            };
            if more {
                continue;
            }
            let pause = match self.store.next_paging_work().await {
                Ok(Some(at)) => {
                    let wait = at.duration_since(self.clock.now());
                    Duration::try_from(wait).unwrap_or(Duration::ZERO).min(POLL_INTERVAL)
                }
                Ok(None) => POLL_INTERVAL,
                Err(_) => POLL_INTERVAL,
            };
            if pause.is_zero() {
                // Due work that another replica holds (or a claim not yet expired): do not spin.
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
            tokio::select! {
                () = self.wake.notified() => {}
                () = tokio::time::sleep(pause) => {}
            }
        }
    }

    /// Does everything due at the clock's current time, delivering inline, until nothing is left:
    /// what a simulation calls after each move of its clock.
    pub async fn run_until_idle(self: &Arc<Self>) -> anyhow::Result<()> {
        while self.round(Delivery::Inline).await? {}
        Ok(())
    }

    /// One round. Returns whether to go again at once: when serving, because a batch was full or
    /// new incidents are waiting; inline, because the round did anything at all.
    async fn round(self: &Arc<Self>, delivery: Delivery) -> anyhow::Result<bool> {
        let mut cache = Cache::default();
        let mut worked = false;
        if self.pending_hint.swap(false, Ordering::AcqRel) || delivery == Delivery::Inline {
            worked |= self.reconcile_pending(&mut cache, delivery).await?;
        }
        // One batch of timers; new incidents go first at the next round if they appeared meanwhile.
        let now = self.clock.now();
        let due = self.store.due_escalations(now, BATCH_MAX).await?;
        let mut updates = Vec::with_capacity(due.len());
        for stored in &due {
            if let Some(update) = self.tick(stored, now, &mut cache).await? {
                updates.push(update);
            }
        }
        worked |= !updates.is_empty();
        self.apply(&updates, delivery, false).await?;
        let retries = self.store.claim_notifications(self.clock.now(), LEASE, BATCH_MAX).await?;
        let full = due.len() == BATCH_MAX as usize || retries.len() == BATCH_MAX as usize;
        worked |= !retries.is_empty();
        self.dispatch(retries, delivery, false).await;
        Ok(match delivery {
            Delivery::Inline => worked,
            Delivery::Spawn => full || self.pending_hint.load(Ordering::Acquire),
        })
    }

    /// Brings the escalations of pending incidents in line with their status. Returns whether there
    /// were any.
    async fn reconcile_pending(
        self: &Arc<Self>,
        cache: &mut Cache,
        delivery: Delivery,
    ) -> anyhow::Result<bool> {
        let mut any = false;
        loop {
            let pending = self.store.pending_escalations(BATCH_MAX).await?;
            let now = self.clock.now();
            let mut updates = Vec::with_capacity(pending.len());
            for incident in &pending {
                updates.push(self.reconcile(incident, now, cache).await?);
            }
            any |= !pending.is_empty();
            self.apply(&updates, delivery, true).await?;
            if pending.len() < BATCH_MAX as usize {
                return Ok(any);
            }
        }
    }

    /// The step that makes one pending incident's escalation match its status.
    async fn reconcile(
        &self,
        pending: &PendingIncident,
        now: Timestamp,
        cache: &mut Cache,
    ) -> anyhow::Result<EscalationUpdate> {
        let incident = &pending.incident;
        let mut update = EscalationUpdate {
            incident_id: incident.id,
            expected_version: pending.escalation.as_ref().map(|stored| stored.version),
            next: None,
            handled_status: Some(incident.status),
            notifications: Vec::new(),
            timeline: Vec::new(),
            now,
            lease: LEASE,
        };
        let Some(stored) = &pending.escalation else {
            if incident.status == Status::Triggered
                && let Some(policy_id) = pending.service_policy_id
                && let Some(policy) = self.policy(policy_id, cache).await?
            {
                let (escalation, actions) = engine::start(incident.id, &policy, now);
                update.next = Some((policy_id, escalation));
                self.pages(&actions, now, cache, &mut update).await?;
            }
            return Ok(update);
        };
        let state = stored.escalation.state;
        let input = match incident.status {
            Status::Triggered if state == engine::EscalationState::Resolved => Some(Input::Retriggered),
            Status::Acknowledged | Status::Mitigated
                if matches!(state, engine::EscalationState::Active | engine::EscalationState::Exhausted) =>
            {
                Some(Input::Acknowledged)
            }
            Status::Resolved if state != engine::EscalationState::Resolved => Some(Input::Resolved),
            _ => None,
        };
        let Some(input) = input else { return Ok(update) };
        // A re-trigger follows the service's policy as it is now; other steps the one it started with.
        let policy_id = match input {
            Input::Retriggered => pending.service_policy_id.unwrap_or(stored.policy_id),
            _ => stored.policy_id,
        };
        let Some(policy) = self.policy(policy_id, cache).await? else { return Ok(update) };
        let (escalation, actions) = engine::step(&stored.escalation, &policy, input, now);
        update.next = Some((policy_id, escalation));
        self.pages(&actions, now, cache, &mut update).await?;
        Ok(update)
    }

    /// The step of an escalation whose deadline passed, or `None` when its policy is unreadable.
    async fn tick(
        &self,
        stored: &StoredEscalation,
        now: Timestamp,
        cache: &mut Cache,
    ) -> anyhow::Result<Option<EscalationUpdate>> {
        let Some(policy) = self.policy(stored.policy_id, cache).await? else { return Ok(None) };
        let (escalation, actions) = engine::step(&stored.escalation, &policy, Input::Tick, now);
        let mut update = EscalationUpdate {
            incident_id: stored.escalation.incident_id,
            expected_version: Some(stored.version),
            next: Some((stored.policy_id, escalation)),
            handled_status: None,
            notifications: Vec::new(),
            timeline: Vec::new(),
            now,
            lease: LEASE,
        };
        self.pages(&actions, now, cache, &mut update).await?;
        Ok(Some(update))
    }

    /// Turns the engine's actions into notifications (one per contact method of each person paged)
    /// and timeline entries.
    async fn pages(
        &self,
        actions: &[EngineAction],
        now: Timestamp,
        cache: &mut Cache,
        update: &mut EscalationUpdate,
    ) -> anyhow::Result<()> {
        for action in actions {
            let page = match action {
                EngineAction::Page(page) => page,
                EngineAction::Exhausted { generation, .. } => {
                    update.timeline.push(TimelineEvent::EscalationExhausted { generation: *generation });
                    continue;
                }
            };
            // Who the target stands for now, or why it reaches nobody.
            let recipients = match page.target {
                Target::User(id) => Ok(vec![id]),
                Target::Schedule(id) => match self.schedule(id, cache).await? {
                    Some((name, schedule)) => schedule
                        .on_call(now)
                        .map(|user| vec![user])
                        .ok_or_else(|| format!("nobody is on call for schedule {name}")),
                    None => Err(format!("schedule {id} cannot be read")),
                },
                Target::Team(id) => match self.team(id, cache).await? {
                    Some((_, members)) if !members.is_empty() => Ok(members),
                    Some((name, _)) => Err(format!("team {name} has no members")),
                    None => Err(format!("team {id} cannot be read")),
                },
            };
            match recipients {
                Ok(users) => {
                    for user_id in users {
                        self.page_user(page, user_id, cache, update).await?;
                    }
                }
                Err(reason) => update.timeline.push(TimelineEvent::Unreachable { level: page.level, reason }),
            }
        }
        Ok(())
    }

    /// Adds a notification per contact method of `user_id` for `page`, or says on the timeline why
    /// the person cannot be reached.
    async fn page_user(
        &self,
        page: &engine::Page,
        user_id: Id,
        cache: &mut Cache,
        update: &mut EscalationUpdate,
    ) -> anyhow::Result<()> {
        let Some(name) = self.user(user_id, cache).await? else {
            update.timeline.push(TimelineEvent::Unreachable {
                level: page.level,
                reason: format!("user {user_id} no longer exists"),
            });
            return Ok(());
        };
        let methods = self.methods(user_id, cache).await?;
        if methods.is_empty() {
            update.timeline.push(TimelineEvent::Unreachable {
                level: page.level,
                reason: format!("{name} has no contact methods"),
            });
            return Ok(());
        }
        let key = page.key();
        for method in methods {
            // The same person reached twice in one step (directly and through a schedule, say)
            // gets one message per contact method.
            if update.notifications.iter().any(|n| n.contact_method_id == method.id && n.level == page.level)
            {
                continue;
            }
            update.notifications.push(NewNotification {
                page_key: key.clone(),
                user_id,
                contact_method_id: method.id,
                channel: method.kind.clone(),
                address: method.address.clone(),
                level: page.level,
                wakes_management: page.wakes_management,
            });
        }
        Ok(())
    }

    /// Writes decided steps and sends what they paged.
    async fn apply(
        self: &Arc<Self>,
        updates: &[EscalationUpdate],
        delivery: Delivery,
        fresh: bool,
    ) -> anyhow::Result<()> {
        if updates.is_empty() {
            return Ok(());
        }
        let applied = self.store.apply_escalations(updates).await?;
        for (update, applied) in updates.iter().zip(applied) {
            match applied {
                Applied::Done(claims) => self.dispatch(claims, delivery, fresh).await,
                Applied::Conflict => {
                    tracing::debug!(incident_id = update.incident_id, "escalation_decided_elsewhere");
                }
            }
        }
        Ok(())
    }

    async fn dispatch(self: &Arc<Self>, claims: Vec<ClaimedNotification>, delivery: Delivery, fresh: bool) {
        for claim in claims {
            match delivery {
                Delivery::Inline => self.deliver(claim).await,
                Delivery::Spawn => {
                    let pager = self.clone();
                    let permits = if fresh { self.fresh.clone() } else { self.due.clone() };
                    tokio::spawn(async move {
                        let Ok(_permit) = permits.acquire_owned().await else { return };
                        pager.deliver(claim).await;
                    });
                }
            }
        }
    }

    /// Makes one attempt and records its outcome.
    async fn deliver(&self, claim: ClaimedNotification) {
        let now = self.clock.now();
        let result = if !claim.contact_method_exists {
            Err(SendError::Permanent("the contact method was removed".to_owned()))
        } else if claim.status != Status::Triggered {
            Err(SendError::Permanent(format!("not sent: the incident is {}", claim.status)))
        } else {
            match Channel::parse(&claim.channel) {
                Ok(channel) => {
                    let page = self.message(&claim, now);
                    let send =
                        self.transport.send(channel, &claim.address, claim.secret.as_deref(), &page, now);
                    tokio::time::timeout(SEND_TIMEOUT, send)
                        .await
                        .unwrap_or_else(|_| Err(SendError::Transient("timed out".to_owned())))
                }
                Err(err) => Err(SendError::Permanent(err)),
            }
        };
        let finished = self.clock.now();
        let (finish, outcome, detail) = match result {
            Ok(delivered) => (Finish::Delivered, NotifyOutcome::Delivered, delivered.detail),
            Err(SendError::Transient(error)) if claim.attempt < notify::ATTEMPTS_MAX => {
                let wait = notify::backoff(claim.attempt, self.next_random());
                let at = finished.saturating_add(wait).unwrap_or(finished);
                (Finish::Retry { at, error: error.clone() }, NotifyOutcome::Retrying, error)
            }
            Err(SendError::Transient(error) | SendError::Permanent(error)) => {
                (Finish::Failed { error: error.clone() }, NotifyOutcome::Failed, error)
            }
        };
        tracing::info!(
            notification_id = claim.id,
            incident_id = claim.incident_id,
            channel = %claim.channel,
            attempt = claim.attempt,
            outcome = outcome.as_str(),
            "notification_attempted"
        );
        let event = TimelineEvent::Notified {
            user_id: claim.user_id,
            user: claim.user_name.clone(),
            channel: claim.channel.clone(),
            level: claim.level,
            attempt: claim.attempt,
            outcome,
            detail,
        };
        match self.store.finish_notification(&claim, &finish, &event, finished).await {
            Ok(true) => {}
            Ok(false) => tracing::warn!(notification_id = claim.id, "notification_claim_lost"),
            Err(err) => {
                tracing::warn!(notification_id = claim.id, error = %err, "notification_outcome_not_saved")
            }
        }
    }

    /// What a page says, with its signed links.
    fn message(&self, claim: &ClaimedNotification, now: Timestamp) -> notify::Page {
        let expires = now.saturating_add(links::LINK_LIFETIME).unwrap_or(now);
        notify::Page {
            delivery_id: format!("{}/{}", claim.page_key, claim.id),
            incident_id: claim.incident_id,
            title: claim.incident_title.clone(),
            service: claim.service_name.clone(),
            severity: claim.severity.as_str().to_owned(),
            kind: claim.kind.as_str().to_owned(),
            status: claim.status.as_str().to_owned(),
            level: claim.level,
            wakes_management: claim.wakes_management,
            recipient: claim.user_name.clone(),
            incident_url: format!("{}/incidents/{}", self.public_url, claim.incident_id),
            acknowledge_url: self.links.url(links::Action::Acknowledge, claim.incident_id, expires),
            resolve_url: self.links.url(links::Action::Resolve, claim.incident_id, expires),
        }
    }

    fn next_random(&self) -> u64 {
        // xorshift64: jitter needs spread, not secrecy.
        let mut x = self.random.load(Ordering::Relaxed);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.random.store(x, Ordering::Relaxed);
        x
    }

    async fn policy(&self, id: Id, cache: &mut Cache) -> anyhow::Result<Option<engine::Policy>> {
        if let Some(policy) = cache.policies.get(&id) {
            return Ok(policy.clone());
        }
        let policy = match self.store.escalation_policy(id).await {
            Ok(stored) => match crate::oncall::policy_of(&stored) {
                Ok(policy) => Some(policy),
                Err(err) => {
                    tracing::error!(policy_id = id, error = %err.detail, "escalation_policy_unreadable");
                    None
                }
            },
            Err(firebreak_store::StoreError::NotFound(_)) => None,
            Err(err) => return Err(err.into()),
        };
        cache.policies.insert(id, policy.clone());
        Ok(policy)
    }

    async fn schedule(
        &self,
        id: Id,
        cache: &mut Cache,
    ) -> anyhow::Result<Option<(String, firebreak_domain::Schedule)>> {
        cached(&mut cache.schedules, id, async {
            let stored = self.store.schedule(id).await?;
            Ok(crate::oncall::schedule_of(&stored).ok().map(|schedule| (stored.name, schedule)))
        })
        .await
    }

    async fn user(&self, id: Id, cache: &mut Cache) -> anyhow::Result<Option<String>> {
        cached(&mut cache.users, id, async { Ok(Some(self.store.user(id).await?.name)) }).await
    }

    /// A team's name and members, `None` when it no longer exists.
    async fn team(&self, id: Id, cache: &mut Cache) -> anyhow::Result<Option<(String, Vec<Id>)>> {
        cached(&mut cache.teams, id, async {
            let (team, members) = self.store.team_members(id).await?;
            Ok(Some((team.name, members.iter().map(|user| user.id).collect())))
        })
        .await
    }

    async fn methods(&self, user_id: Id, cache: &mut Cache) -> anyhow::Result<Vec<ContactMethod>> {
        if let Some(methods) = cache.methods.get(&user_id) {
            return Ok(methods.clone());
        }
        let methods = self.store.contact_methods_of(&[user_id]).await?;
        cache.methods.insert(user_id, methods.clone());
        Ok(methods)
    }
}

/// What `map` holds for `id`, or else what `fetch` finds (`None` for what no longer exists, or
/// cannot be read), kept in `map` for the rest of the round.
async fn cached<T: Clone>(
    map: &mut HashMap<Id, Option<T>>,
    id: Id,
    fetch: impl Future<Output = std::result::Result<Option<T>, firebreak_store::StoreError>>,
) -> anyhow::Result<Option<T>> {
    if let Some(found) = map.get(&id) {
        return Ok(found.clone());
    }
    let found = match fetch.await {
        Ok(found) => found,
        Err(firebreak_store::StoreError::NotFound(_)) => None,
        Err(err) => return Err(err.into()),
    };
    map.insert(id, found.clone());
    Ok(found)
}

// ---- HTTP ----

pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/users/{id}/contact-methods", get(list_contact_methods).post(create_contact_method))
        .route("/users/{id}/contact-methods/{method}", delete(delete_contact_method))
        .route("/incidents/{id}/notifications", get(incident_notifications))
        .route("/incidents/{id}/escalation", get(incident_escalation))
}

/// Where the paging of an incident stands; 404 when its service had no escalation policy.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/escalation", params(("id" = i64, Path)),
    responses((status = 200, body = api::Escalation), (status = 404, body = api::Problem)))]
pub(crate) async fn incident_escalation(
    State(app): State<App>,
    Path(id): Path<Id>,
) -> Result<axum::Json<api::Escalation>> {
    app.store.incident(id).await?;
    let stored = app.store.escalation(id).await?.ok_or_else(|| {
        ApiError::not_found(format!("incident {id} is not escalated: its service had no escalation policy"))
    })?;
    let escalation = stored.escalation;
    Ok(axum::Json(api::Escalation {
        incident_id: id,
        escalation_policy_id: stored.policy_id,
        state: escalation.state.as_str().to_owned(),
        generation: escalation.generation,
        pass: escalation.pass,
        level: escalation.level,
        next_deadline: escalation.next_deadline,
    }))
}

type Result<T> = std::result::Result<T, ApiError>;

/// Add a contact method to a user. A webhook's response carries its signing secret, once.
#[utoipa::path(post, path = "/api/v1/users/{id}/contact-methods", params(("id" = String, Path, description = "User id or name")),
    request_body = api::CreateContactMethod,
    responses((status = 201, body = api::ContactMethod), (status = 404, body = api::Problem), (status = 422, body = api::Problem)))]
pub(crate) async fn create_contact_method(
    State(app): State<App>,
    Path(user): Path<String>,
    Json(body): Json<api::CreateContactMethod>,
) -> Result<(StatusCode, axum::Json<api::ContactMethod>)> {
    let user_id = crate::v1::user_id(&app, &api::Ref::parse(&user)).await?;
    let channel = Channel::parse(&body.kind).map_err(ApiError::invalid)?;
    let address = body.address.trim();
    notify::validate_address(channel, address).map_err(ApiError::invalid)?;
    let secret = (channel == Channel::Webhook).then(notify::new_webhook_secret);
    let method = app
        .store
        .create_contact_method(user_id, channel.as_str(), address, secret.as_deref(), app.now())
        .await?;
    let mut view = contact_method_view(method);
    view.secret = secret;
    Ok((StatusCode::CREATED, axum::Json(view)))
}

/// List a user's contact methods (without secrets).
#[utoipa::path(get, path = "/api/v1/users/{id}/contact-methods", params(("id" = String, Path, description = "User id or name")),
    responses((status = 200, body = Vec<api::ContactMethod>), (status = 404, body = api::Problem)))]
pub(crate) async fn list_contact_methods(
    State(app): State<App>,
    Path(user): Path<String>,
) -> Result<axum::Json<Vec<api::ContactMethod>>> {
    let user_id = crate::v1::user_id(&app, &api::Ref::parse(&user)).await?;
    let methods = app.store.contact_methods(user_id).await?;
    Ok(axum::Json(methods.into_iter().map(contact_method_view).collect()))
}

/// Remove a contact method.
#[utoipa::path(delete, path = "/api/v1/users/{id}/contact-methods/{method}",
    params(("id" = String, Path, description = "User id or name"), ("method" = i64, Path)),
    responses((status = 204), (status = 404, body = api::Problem)))]
pub(crate) async fn delete_contact_method(
    State(app): State<App>,
    Path((user, method)): Path<(String, Id)>,
) -> Result<StatusCode> {
    let user_id = crate::v1::user_id(&app, &api::Ref::parse(&user)).await?;
    app.store.delete_contact_method(user_id, method).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The pages of an incident: who was notified how, and how delivery went.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/notifications", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<api::Notification>), (status = 404, body = api::Problem)))]
pub(crate) async fn incident_notifications(
    State(app): State<App>,
    Path(id): Path<Id>,
) -> Result<axum::Json<Vec<api::Notification>>> {
    app.store.incident(id).await?;
    let notifications = app.store.incident_notifications(id).await?;
    Ok(axum::Json(
        notifications
            .into_iter()
            .map(|n| api::Notification {
                id: n.id,
                incident_id: n.incident_id,
                user_id: n.user_id,
                user_name: n.user_name,
                address: shown_address(&n.channel, &n.address),
                channel: n.channel,
                level: n.level,
                status: n.status,
                attempts: n.attempts,
                last_error: n.last_error,
                created_at: n.created_at,
                delivered_at: n.delivered_at,
            })
            .collect(),
    ))
}

/// An address as pages and timelines show it: the URL of a webhook or Slack contact method is itself
/// a secret (anyone holding a Slack webhook URL can post to the channel), so only its host is shown.
pub(crate) fn shown_address(channel: &str, address: &str) -> String {
    if channel == "email" {
        return address.to_owned();
    }
    match address.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
            let host = host.rsplit('@').next().unwrap_or_default();
            format!("{scheme}://{host}/…")
        }
        None => "…".to_owned(),
    }
}

fn contact_method_view(method: ContactMethod) -> api::ContactMethod {
    api::ContactMethod {
        id: method.id,
        user_id: method.user_id,
        kind: method.kind,
        address: method.address,
        secret: None,
        created_at: method.created_at,
    }
}
