//! Paging: the escalation driver that turns incidents into notifications, their delivery, people's
//! contact methods, and where an incident's paging stands.
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

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use std::pin::Pin;

use firebreak_api::{self as api, Ref};
use firebreak_domain::{
    Clock, Command, Hours, Id, NotificationRule, NotifyOutcome, Severity, Status, TimelineEvent, Urgency,
};
use firebreak_engine::{self as engine, Action as EngineAction, Input, Target};
use firebreak_notify::{self as notify, Channel, Delivered, Notifier, SendError};
use firebreak_store::{
    Applied, ClaimedNotification, EscalationUpdate, Finish, NewNotification, PendingIncident, SYSTEM_ACTOR,
    Store, StoreError, StoredEscalation,
};
use jiff::{SignedDuration, Timestamp};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

pub use firebreak_store::{ContactMethod, Notification};

use crate::access::Audit;
use crate::links::{self, Links};
use crate::workers::Stop;
use crate::{App, Error, Principal, Result, resolve};

/// Escalations decided, or notifications claimed, per transaction. Small enough that a new incident
/// waits for at most one such transaction while a burst of timers is worked through.
pub const BATCH_MAX: u32 = 64;
/// How long, in real time, a claimed notification attempt may take before another replica may
/// retry it: longer than [`SEND_TIMEOUT`], with time to record the outcome. On a sped-up clock
/// the lease is this much real time in the clock's time.
pub const LEASE: Duration = Duration::from_secs(60);
/// How often the driver looks for work it was not woken for: other replicas' incidents, expired
/// claims. A replica that dies leaves its due timers to the others within this interval.
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);
/// Longest a single delivery attempt may take, whatever the channel.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(40);
/// Deliveries in flight at once, per kind: pages of new incidents have their own allowance, so a
/// burst of escalation timers never delays the first page of a new incident.
const DELIVERIES_MAX: usize = 64;

/// Longest wait for deliveries in flight when the driver stops; an attempt cut short is retried
/// by whichever replica takes its claim once the lease ends.
const STOP_DELIVERIES_WAIT: Duration = Duration::from_secs(10);

/// One delivery attempt, as a [`Transport`] makes it.
pub type Sending<'a> = Pin<Box<dyn Future<Output = std::result::Result<Delivered, SendError>> + Send + 'a>>;

/// Delivers one page to one contact method. [`Notifier`] is the real one; tests and simulations
/// record ([`crate::testing::Recording`]).
pub trait Transport: Send + Sync + 'static {
    fn send<'a>(
        &'a self,
        channel: Channel,
        address: &'a str,
        secret: Option<&'a str>,
        page: &'a notify::Page,
        now: Timestamp,
    ) -> Sending<'a>;

    /// Whether pages over `channel` can be sent at all (email needs an SMTP server, SMS and voice
    /// a Twilio account).
    fn configured(&self, _channel: Channel) -> bool {
        true
    }
}

impl Transport for Notifier {
    fn configured(&self, channel: Channel) -> bool {
        Notifier::configured(self, channel)
    }

    fn send<'a>(
        &'a self,
        channel: Channel,
        address: &'a str,
        secret: Option<&'a str>,
        page: &'a notify::Page,
        now: Timestamp,
    ) -> Sending<'a> {
        Box::pin(Notifier::send(self, channel, address, secret, page, now))
    }
}

/// The escalation driver and notification sender of one process.
pub struct Pager {
    store: Store,
    clock: Arc<dyn Clock>,
    transport: Arc<dyn Transport>,
    /// [`LEASE`] in the clock's time.
    lease: SignedDuration,
    links: Links,
    public_url: String,
    /// Set when new incidents may be pending, so that a burst of timers yields to them.
    pending_hint: AtomicBool,
    random: AtomicU64,
    fresh: Arc<Semaphore>,
    due: Arc<Semaphore>,
    /// Deliveries in flight when serving, joined when the driver stops.
    deliveries: std::sync::Mutex<JoinSet<()>>,
    counters: Arc<PagingCounters>,
}

/// What this process's pager has done since it started, for metrics.
#[derive(Debug, Default)]
pub struct PagingCounters {
    /// Delivery attempts recorded, by channel and outcome (`delivered`, `retrying`, `failed`,
    /// `withdrawn`, `unknown`).
    attempts: std::sync::Mutex<std::collections::BTreeMap<(String, &'static str), u64>>,
    /// Escalations that paged every level of every pass without an acknowledgement.
    exhausted: AtomicU64,
}

impl PagingCounters {
    /// Delivery attempts by (channel, outcome).
    pub fn attempts(&self) -> Vec<((String, &'static str), u64)> {
        let attempts = self.attempts.lock().expect("the counters lock is never poisoned");
        attempts.iter().map(|(key, count)| (key.clone(), *count)).collect()
    }

    /// Escalations exhausted.
    pub fn exhausted(&self) -> u64 {
        self.exhausted.load(Ordering::Relaxed)
    }

    fn attempted(&self, channel: &str, outcome: NotifyOutcome) {
        let mut attempts = self.attempts.lock().expect("the counters lock is never poisoned");
        *attempts.entry((channel.to_owned(), outcome.as_str())).or_default() += 1;
    }
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
    /// A user's name and time zone (for notification rules by day).
    users: HashMap<Id, Option<(String, jiff::tz::TimeZone)>>,
    teams: HashMap<Id, Option<(String, Vec<Id>)>>,
    methods: HashMap<Id, Vec<ContactMethod>>,
    rules: HashMap<Id, Vec<NotificationRule>>,
    severities: HashMap<Id, Option<Severity>>,
}

impl Pager {
    /// A driver over `store` that pages through `transport`, with links signed by `links`.
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        transport: Arc<dyn Transport>,
        links: Links,
        public_url: &str,
    ) -> Pager {
        let seed = std::hash::BuildHasher::hash_one(&std::collections::hash_map::RandomState::new(), 0u8);
        Pager {
            store,
            lease: clock.over(LEASE),
            clock,
            transport,
            links,
            public_url: public_url.trim_end_matches('/').to_owned(),
            pending_hint: AtomicBool::new(true),
            random: AtomicU64::new(seed | 1),
            fresh: Arc::new(Semaphore::new(DELIVERIES_MAX)),
            due: Arc::new(Semaphore::new(DELIVERIES_MAX)),
            deliveries: std::sync::Mutex::default(),
            counters: Arc::default(),
        }
    }

    /// What this pager has done, for metrics.
    pub fn counters(&self) -> Arc<PagingCounters> {
        self.counters.clone()
    }

    /// Runs the driver until `stop` is raised, then waits (at most [`STOP_DELIVERIES_WAIT`]) for
    /// the deliveries in flight. It looks for pending incidents whenever the store announces a
    /// commit that changed incidents, and polls for work it was not told of (other replicas'
    /// incidents, deadlines, expired claims).
    pub(crate) async fn run(self: Arc<Self>, mut stop: Stop) {
        let mut changes = self.store.incident_changes();
        while !stop.is_requested() {
            if changes.has_changed().unwrap_or(false) {
                changes.borrow_and_update();
                self.pending_hint.store(true, Ordering::Release);
            }
            let more = match self.round(Delivery::Spawn).await {
                Ok(more) => more,
                Err(err) => {
                    tracing::warn!(error = %err, "paging_round_failed");
                    false
                }
            };
            // Incidents that changed during the round go first, without a look at the deadlines.
            if more || changes.has_changed().unwrap_or(false) {
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
            // Due work that another replica holds (or a claim not yet expired): do not spin.
            let pause = pause.max(Duration::from_millis(20)).min(POLL_INTERVAL);
            tokio::select! {
                () = stop.requested() => {}
                _ = changes.changed() => self.pending_hint.store(true, Ordering::Release),
                () = tokio::time::sleep(pause) => {}
            }
        }
        let mut deliveries =
            std::mem::take(&mut *self.deliveries.lock().expect("the delivery set lock is never poisoned"));
        let joined = tokio::time::timeout(STOP_DELIVERIES_WAIT, async {
            while deliveries.join_next().await.is_some() {}
        });
        if joined.await.is_err() {
            tracing::warn!(deliveries = deliveries.len(), "deliveries_cut_short");
            deliveries.shutdown().await;
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
        let mut worked = self.end_snoozes().await?;
        if self.pending_hint.swap(false, Ordering::AcqRel) || delivery == Delivery::Inline || worked {
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
        let retries = self.store.claim_notifications(self.clock.now(), self.lease, BATCH_MAX).await?;
        let full = due.len() == BATCH_MAX as usize || retries.len() == BATCH_MAX as usize;
        worked |= !retries.is_empty();
        self.dispatch(retries, delivery, false).await;
        Ok(match delivery {
            Delivery::Inline => worked,
            Delivery::Spawn => full || self.pending_hint.load(Ordering::Acquire),
        })
    }

    /// Triggers again the acknowledged incidents whose snooze ran out; their escalations then start
    /// over from the first level, as pending incidents. Returns whether there were any.
    async fn end_snoozes(&self) -> anyhow::Result<bool> {
        let now = self.clock.now();
        let due = self.store.due_snoozes(now, BATCH_MAX).await?;
        for &id in &due {
            let mut tx = self.store.begin().await?;
            match tx.update_incident(id, &Command::EndSnooze, SYSTEM_ACTOR, now).await {
                Ok(_) => tx.commit().await?,
                // Resolved, acknowledged again or snoozed longer meanwhile, by someone else.
                Err(StoreError::Refused(_)) => {}
                Err(err) => return Err(err.into()),
            }
        }
        Ok(!due.is_empty())
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
            lease: self.lease,
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
            // Re-opened, or a snooze ran out.
            Status::Triggered
                if matches!(
                    state,
                    engine::EscalationState::Resolved | engine::EscalationState::Acknowledged
                ) =>
            {
                Some(Input::Retriggered)
            }
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
        if matches!(input, Input::Acknowledged | Input::Resolved) {
            self.follow_ups(incident, &escalation, &mut update).await?;
        }
        update.next = Some((policy_id, escalation));
        self.pages(&actions, now, cache, &mut update).await?;
        Ok(update)
    }

    /// Tells everyone a page of `incident` reached, but whoever acted, what became of it
    /// ("acknowledged by Bo"), on each contact method it reached them on except calls: nobody
    /// is rung to hear that they may go back to sleep.
    async fn follow_ups(
        &self,
        incident: &firebreak_domain::Incident,
        escalation: &engine::Escalation,
        update: &mut EscalationUpdate,
    ) -> anyhow::Result<()> {
        let actor = self.store.status_actor(incident.id, incident.status).await?.unwrap_or_default();
        let what = if actor.is_empty() {
            incident.status.to_string()
        } else {
            format!("{} by {actor}", incident.status)
        };
        let page_key = format!("followup/{}/{}/{}", incident.id, escalation.generation, incident.status);
        for paged in self.store.paged_for(incident.id).await? {
            if paged.user_name == actor || paged.channel == Channel::Voice.as_str() {
                continue;
            }
            update.notifications.push(NewNotification {
                page_key: page_key.clone(),
                user_id: paged.user_id,
                contact_method_id: paged.contact_method_id,
                channel: paged.channel,
                address: paged.address,
                level: escalation.level,
                wakes_management: false,
                due: update.now,
                follow_up: Some(what.clone()),
            });
        }
        Ok(())
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
            lease: self.lease,
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
        let mut reached = HashSet::new();
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
                        self.page_user(page, user_id, cache, &mut reached, update).await?;
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
        reached: &mut HashSet<(u32, u32, u32, Id)>,
        update: &mut EscalationUpdate,
    ) -> anyhow::Result<()> {
        let Some((name, time_zone)) = self.user(user_id, cache).await? else {
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
        let now = update.now;
        // The person's notification rules decide which methods, and when; without rules, all at once.
        let rules = self.rules(user_id, cache).await?;
        let due: Vec<(Id, Timestamp)> = if rules.is_empty() {
            methods.iter().map(|method| (method.id, now)).collect()
        } else {
            let severity = self.severity(update.incident_id, cache).await?.unwrap_or(Severity::Sev1);
            let ids: Vec<Id> = methods.iter().map(|method| method.id).collect();
            firebreak_domain::plan_notifications(&rules, &ids, severity, &time_zone, now)
        };
        for (method_id, at) in due {
            let Some(method) = methods.iter().find(|method| method.id == method_id) else { continue };
            // The same person reached twice by one level (directly and through a schedule, say)
            // gets one message per contact method. A step that catches up after downtime may page
            // the same level of several passes: each is a page of its own.
            if !reached.insert((page.generation, page.pass, page.level, method.id)) {
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
                due: at,
                follow_up: None,
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
                Applied::Done(claims) => {
                    if update
                        .timeline
                        .iter()
                        .any(|event| matches!(event, TimelineEvent::EscalationExhausted { .. }))
                    {
                        self.counters.exhausted.fetch_add(1, Ordering::Relaxed);
                    }
                    self.dispatch(claims, delivery, fresh).await
                }
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
                    let mut deliveries =
                        self.deliveries.lock().expect("the delivery set lock is never poisoned");
                    // Forget the deliveries that are done, so the set holds only those in flight.
                    while deliveries.try_join_next().is_some() {}
                    deliveries.spawn(async move {
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
        if claim.status != Status::Triggered && claim.follow_up.is_none() {
            // The incident no longer needs the page. Say what is known of the earlier attempts:
            // one that was interrupted before its outcome was recorded may have been delivered.
            let (finish, outcome, detail) = if claim.interrupted == 0 {
                let reason = format!("not sent: the incident is {}", claim.status);
                (Finish::Withdrawn { reason: reason.clone() }, NotifyOutcome::Withdrawn, reason)
            } else {
                let reason = format!(
                    "{} interrupted before its outcome was recorded, and not sent again: the incident is {}",
                    if claim.interrupted == 1 { "an earlier attempt was" } else { "earlier attempts were" },
                    claim.status
                );
                (Finish::Unknown { reason: reason.clone() }, NotifyOutcome::Unknown, reason)
            };
            return self.record(&claim, finish, outcome, detail, now).await;
        }
        let result = if !claim.contact_method_exists {
            Err(SendError::Permanent("the contact method was removed".to_owned()))
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
        self.record(&claim, finish, outcome, detail, finished).await;
    }

    /// Records how an attempt that ended at `finished` went, on the notification and the
    /// incident's timeline.
    async fn record(
        &self,
        claim: &ClaimedNotification,
        finish: Finish,
        outcome: NotifyOutcome,
        detail: String,
        finished: Timestamp,
    ) {
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
        match self.store.finish_notification(claim, &finish, &event, finished).await {
            Ok(true) => self.counters.attempted(&claim.channel, outcome),
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
            title: match &claim.follow_up {
                // "Acknowledged by Bo: Card payments failing".
                Some(what) => format!("{}{}: {}", what[..1].to_uppercase(), &what[1..], claim.incident_title),
                None => claim.incident_title.clone(),
            },
            service: claim.service_name.clone(),
            severity: claim.severity.as_str().to_owned(),
            kind: claim.kind.as_str().to_owned(),
            status: claim.status.as_str().to_owned(),
            level: claim.level,
            wakes_management: claim.wakes_management,
            recipient: claim.user_name.clone(),
            incident_url: format!("{}/incidents/{}", self.public_url, claim.incident_id),
            acknowledge_url: self.links.url(
                links::Action::Acknowledge,
                claim.incident_id,
                claim.user_id,
                expires,
            ),
            resolve_url: self.links.url(links::Action::Resolve, claim.incident_id, claim.user_id, expires),
            voice_url: format!("{}/twilio/voice/{}", self.public_url, claim.id),
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
            Ok(stored) => Some(stored.policy),
            Err(StoreError::NotFound(_)) => None,
            Err(err) if !err.is_transient() => {
                tracing::error!(policy_id = id, error = %err, "escalation_policy_unreadable");
                None
            }
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
            match self.store.schedule(id).await {
                Ok(stored) => Ok(Some((stored.name, stored.schedule))),
                Err(err) if !matches!(err, StoreError::NotFound(_)) && !err.is_transient() => {
                    tracing::error!(schedule_id = id, error = %err, "schedule_unreadable");
                    Ok(None)
                }
                Err(err) => Err(err),
            }
        })
        .await
    }

    async fn user(&self, id: Id, cache: &mut Cache) -> anyhow::Result<Option<(String, jiff::tz::TimeZone)>> {
        cached(&mut cache.users, id, async {
            let user = self.store.user(id).await?;
            // A time zone that no longer exists in the database of zones reads as UTC.
            let time_zone = jiff::tz::TimeZone::get(&user.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
            Ok(Some((user.name, time_zone)))
        })
        .await
    }

    async fn rules(&self, user_id: Id, cache: &mut Cache) -> anyhow::Result<Vec<NotificationRule>> {
        if let Some(rules) = cache.rules.get(&user_id) {
            return Ok(rules.clone());
        }
        let rules = self.store.notification_rules(user_id).await?;
        cache.rules.insert(user_id, rules.clone());
        Ok(rules)
    }

    /// The severity of incident `id` now, which decides the urgency of its pages.
    async fn severity(&self, id: Id, cache: &mut Cache) -> anyhow::Result<Option<Severity>> {
        cached(&mut cache.severities, id, async { Ok(Some(self.store.incident(id).await?.severity)) }).await
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
    fetch: impl Future<Output = std::result::Result<Option<T>, StoreError>>,
) -> anyhow::Result<Option<T>> {
    if let Some(found) = map.get(&id) {
        return Ok(found.clone());
    }
    let found = match fetch.await {
        Ok(found) => found,
        Err(StoreError::NotFound(_)) => None,
        Err(err) => return Err(err.into()),
    };
    map.insert(id, found.clone());
    Ok(found)
}

/// A channel, whether it can send, and how many contact methods count on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelStatus {
    pub channel: Channel,
    pub configured: bool,
    pub contact_methods: i64,
}

impl ChannelStatus {
    /// The warning to give when contact methods count on a channel that cannot send.
    pub fn warning(&self) -> Option<String> {
        if self.configured || self.contact_methods == 0 {
            return None;
        }
        let setting = match self.channel {
            Channel::Email => "a mail server (--smtp-url)",
            Channel::Sms | Channel::Voice => {
                "a Twilio account (--twilio-account-sid, --twilio-from and the auth token)"
            }
            Channel::Webhook | Channel::Slack | Channel::Ntfy => "nothing",
        };
        Some(format!(
            "{} {} contact method(s) get no pages: {} is not configured; set {setting}",
            self.contact_methods,
            self.channel.as_str(),
            self.channel.as_str()
        ))
    }
}

/// Where the paging of an incident stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EscalationView {
    pub incident_id: Id,
    pub escalation_policy_id: Id,
    pub escalation: engine::Escalation,
}

impl App {
    /// The id of `user`, whose own things `who` may change (themselves, or an administrator).
    async fn own_user(&self, who: &Principal, user: &Ref) -> Result<Id> {
        let user_id = resolve::user_id(self.store(), user).await?;
        self.authorize(who, firebreak_domain::Action::Configure, firebreak_domain::Scope::Person(user_id))
            .await?;
        Ok(user_id)
    }

    /// Adds a contact method to a user. A webhook gets a signing secret, returned with it once.
    ///
    /// Fails with [`Error::NotFound`] for an unknown user, [`Error::Invalid`] for an unknown
    /// channel or a bad address, and [`Error::Conflict`] when the user has this address already or
    /// too many contact methods.
    pub async fn create_contact_method(
        &self,
        who: &Principal,
        user: &Ref,
        body: api::CreateContactMethod,
    ) -> Result<(ContactMethod, Option<String>)> {
        let user_id = self.own_user(who, user).await?;
        let channel = Channel::parse(&body.kind).map_err(Error::Invalid)?;
        let address = body.address.trim();
        notify::validate_address(channel, address).map_err(Error::Invalid)?;
        let token = body.token.as_deref().map(str::trim).filter(|token| !token.is_empty());
        if let Some(token) = token {
            if channel != Channel::Ntfy {
                return Err(Error::Invalid("only ntfy contact methods take a token".to_owned()));
            }
            if token.len() > 256 || !token.chars().all(|c| c.is_ascii_graphic()) {
                return Err(Error::Invalid(
                    "token must be at most 256 printable ASCII characters".to_owned(),
                ));
            }
        }
        // A webhook's signing secret is made here and shown once; an ntfy token is kept, unshown.
        let secret = (channel == Channel::Webhook).then(notify::new_webhook_secret);
        let stored = secret.as_deref().or(token);
        let mut tx = self.store().begin().await?;
        let method = tx.create_contact_method(user_id, channel.as_str(), address, stored, self.now()).await?;
        let audit = Audit::new("contact_method.create", format!("user:{user_id}"))
            .after(serde_json::json!({ "id": method.id, "type": method.kind, "address": method.address }));
        self.audit_in(&mut tx, who, audit).await?;
        tx.commit().await?;
        Ok((method, secret))
    }

    /// Every channel with whether it is configured and how many contact methods use it; pages to
    /// a channel that is not configured fail.
    pub async fn channels(&self) -> Result<Vec<ChannelStatus>> {
        let mut channels = Vec::with_capacity(Channel::ALL.len());
        for channel in Channel::ALL {
            channels.push(ChannelStatus {
                channel,
                configured: self.inner.transport.configured(channel),
                contact_methods: self.store().contact_methods_of_kind(channel.as_str()).await?,
            });
        }
        Ok(channels)
    }

    /// A user's contact methods, oldest first (without secrets).
    pub async fn contact_methods(&self, user: &Ref) -> Result<Vec<ContactMethod>> {
        let user_id = resolve::user_id(self.store(), user).await?;
        Ok(self.store().contact_methods(user_id).await?)
    }

    /// Fails with [`Error::NotFound`] when the user has no such contact method.
    pub async fn delete_contact_method(&self, who: &Principal, user: &Ref, method: Id) -> Result<()> {
        let user_id = self.own_user(who, user).await?;
        let mut tx = self.store().begin().await?;
        tx.delete_contact_method(user_id, method).await?;
        let audit = Audit::new("contact_method.delete", format!("user:{user_id}"))
            .before(serde_json::json!({ "id": method }));
        self.audit_in(&mut tx, who, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Changes a contact method's address (a webhook keeps its signing secret; an ntfy topic may
    /// get a new access token). Pages already sent keep the address they went to.
    ///
    /// Fails with [`Error::NotFound`] when the user has no such contact method, [`Error::Invalid`]
    /// for a bad address and [`Error::Conflict`] when the user has the new address already.
    pub async fn update_contact_method(
        &self,
        who: &Principal,
        user: &Ref,
        method: Id,
        body: api::UpdateContactMethod,
    ) -> Result<ContactMethod> {
        let user_id = self.own_user(who, user).await?;
        let current = self
            .store()
            .contact_methods(user_id)
            .await?
            .into_iter()
            .find(|m| m.id == method)
            .ok_or_else(|| Error::NotFound(format!("user {user} has no contact method {method}")))?;
        let channel = Channel::parse(&current.kind).map_err(Error::Invalid)?;
        let address = body.address.as_deref().map(str::trim).unwrap_or(&current.address).to_owned();
        notify::validate_address(channel, &address).map_err(Error::Invalid)?;
        let mut tx = self.store().begin().await?;
        let updated = tx.update_contact_method(user_id, method, &address, None).await?;
        let audit = Audit::new("contact_method.update", format!("user:{user_id}"))
            .before(serde_json::json!({ "id": method, "address": current.address }))
            .after(serde_json::json!({ "id": method, "address": updated.address }));
        self.audit_in(&mut tx, who, audit).await?;
        tx.commit().await?;
        Ok(updated)
    }

    /// Adds a notification rule: pages of `urgency` reach one of the person's contact methods
    /// `delay_minutes` after the page, at any hour or by day only.
    ///
    /// Fails with [`Error::NotFound`] for an unknown user or contact method, [`Error::Invalid`]
    /// for a bad field, and [`Error::Conflict`] for a rule that exists already.
    pub async fn create_notification_rule(
        &self,
        who: &Principal,
        user: &Ref,
        body: api::CreateNotificationRule,
    ) -> Result<NotificationRule> {
        let user_id = self.own_user(who, user).await?;
        let urgency = Urgency::parse(body.urgency.as_deref().unwrap_or("high")).map_err(Error::Invalid)?;
        let hours = Hours::parse(body.hours.as_deref().unwrap_or("any")).map_err(Error::Invalid)?;
        let delay = body.delay_minutes.unwrap_or(0);
        if !(0..=firebreak_domain::RULE_DELAY_MINUTES_MAX).contains(&delay) {
            return Err(Error::Invalid(format!(
                "delay_minutes must be between 0 and {}",
                firebreak_domain::RULE_DELAY_MINUTES_MAX
            )));
        }
        let mut tx = self.store().begin().await?;
        let rule = tx
            .create_notification_rule(user_id, body.contact_method_id, urgency, delay, hours, self.now())
            .await?;
        let audit = Audit::new("notification_rule.create", format!("user:{user_id}"))
            .after(api::NotificationRule::from(rule.clone()));
        self.audit_in(&mut tx, who, audit).await?;
        tx.commit().await?;
        Ok(rule)
    }

    /// A user's notification rules, by urgency and delay.
    pub async fn notification_rules(&self, user: &Ref) -> Result<Vec<NotificationRule>> {
        let user_id = resolve::user_id(self.store(), user).await?;
        Ok(self.store().notification_rules(user_id).await?)
    }

    /// Fails with [`Error::NotFound`] when the user has no such rule.
    pub async fn delete_notification_rule(&self, who: &Principal, user: &Ref, rule: Id) -> Result<()> {
        let user_id = self.own_user(who, user).await?;
        let mut tx = self.store().begin().await?;
        tx.delete_notification_rule(user_id, rule).await?;
        let audit = Audit::new("notification_rule.delete", format!("user:{user_id}"))
            .before(serde_json::json!({ "id": rule }));
        self.audit_in(&mut tx, who, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The pages of incident `id`: who was notified how, and how delivery went.
    ///
    /// Fails with [`Error::NotFound`] when there is no incident `id`.
    pub async fn incident_notifications(&self, id: Id) -> Result<Vec<Notification>> {
        self.store().incident(id).await?;
        Ok(self.store().incident_notifications(id).await?)
    }

    /// Where the paging of incident `id` stands.
    ///
    /// Fails with [`Error::NotFound`] for an unknown incident, or one whose service had no
    /// escalation policy.
    pub async fn incident_escalation(&self, id: Id) -> Result<EscalationView> {
        self.store().incident(id).await?;
        let stored = self.store().escalation(id).await?.ok_or_else(|| {
            Error::NotFound(format!("incident {id} is not escalated: its service had no escalation policy"))
        })?;
        Ok(EscalationView {
            incident_id: id,
            escalation_policy_id: stored.policy_id,
            escalation: stored.escalation,
        })
    }
}

/// Where an incident's paging stands, as a responder reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PagingSummary {
    pub policy_name: String,
    pub state: engine::EscalationState,
    /// The pass and level paged last, from 1, and how many there are.
    pub pass: u32,
    pub passes: u32,
    pub level: u32,
    pub levels: u32,
    /// While paging is active: when the next step is due, and the level it pages with the people
    /// it would page now (`None` when the next step ends paging: every level was paged).
    pub next: Option<(Timestamp, Option<NextLevel>)>,
}

/// The next level an escalation will page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NextLevel {
    pub pass: u32,
    pub level: u32,
    /// The people its targets resolve to at the time it is due, by name, each once.
    pub people: Vec<String>,
}

impl App {
    /// Where incident `id`'s paging stands, or `None` when it is not paged (its service had no
    /// escalation policy).
    ///
    /// Fails with [`Error::NotFound`] for an unknown incident.
    pub async fn paging_summary(&self, id: Id) -> Result<Option<PagingSummary>> {
        self.store().incident(id).await?;
        let Some(stored) = self.store().escalation(id).await? else { return Ok(None) };
        let policy = match self.store().escalation_policy(stored.policy_id).await {
            Ok(policy) => policy,
            Err(StoreError::NotFound(_)) => return Ok(None),
            Err(err) => return Err(err.into()),
        };
        let escalation = stored.escalation;
        let (passes, levels) = (policy.policy.passes(), policy.policy.levels().len() as u32);
        let next = match (escalation.state, escalation.next_deadline) {
            (engine::EscalationState::Active, Some(at)) => {
                let step = if escalation.level < levels {
                    Some((escalation.pass, escalation.level + 1))
                } else if escalation.pass < passes {
                    Some((escalation.pass + 1, 1))
                } else {
                    None
                };
                let next = match step {
                    Some((pass, level)) => {
                        let targets = self.policy_targets(&policy.policy).await?;
                        let names = self.user_names().await?;
                        let mut people: Vec<String> = Vec::new();
                        for target in targets.get(level as usize - 1).into_iter().flatten() {
                            for user in target.on_call(at) {
                                let name =
                                    names.get(&user).cloned().unwrap_or_else(|| format!("user {user}"));
                                if !people.contains(&name) {
                                    people.push(name);
                                }
                            }
                        }
                        Some(NextLevel { pass, level, people })
                    }
                    None => None,
                };
                Some((at, next))
            }
            _ => None,
        };
        Ok(Some(PagingSummary {
            policy_name: policy.name,
            state: escalation.state,
            pass: escalation.pass,
            passes,
            level: escalation.level,
            levels,
            next,
        }))
    }
}

/// An address as pages and timelines show it: the URL of a webhook or Slack contact method is itself
/// a secret (anyone holding a Slack webhook URL can post to the channel), so only its host is shown.
pub fn shown_address(channel: &str, address: &str) -> String {
    if matches!(channel, "email" | "sms" | "voice") {
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
