//! Expected outcomes: rules over a service's business events that raise an alert when something
//! that should happen does not (payments stop being captured, payouts stop settling, no invoice
//! goes out), the failures no error log shows.
//!
//! A business system posts its events with its service's integration key; a request's events
//! are validated together and recorded in one transaction, or refused together, so that a sender
//! retrying a refused request never counts an event twice. The evaluator judges every rule each
//! [`EVALUATE_TICK`], and at once after events arrive, by `domain::OutcomeRule::evaluate`; a
//! breached rule gets an alert event (dedup key `outcome:{id}`, kind `silent`, labels
//! `alertname=OutcomeMissed`, `rule={name}`) through the ingest pipeline, so silences, grouping
//! and paging apply to it as to any alert. When the rule is met again, or not judged now (outside
//! its active hours, say), or deleted, the alert is resolved. Events older than any rule can need
//! ([`EVENTS_KEPT`]) are deleted now and then.
//!
//! A rule may instead read an event from a Prometheus-compatible API, by a PromQL expression that
//! gives the event's count over a window written `$window`: each judgement asks it by an instant
//! query and judges the answer as one event standing for that count (see [`instant_of`]). A rule
//! whose query fails is not judged that round, and its alert stays as it is.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use firebreak_api::{self as api, Ref};
use firebreak_domain::{
    ABSENT_DURATION_MAX, Action, AlertAction, AlertEvent, Clock, Id, Kind, OutcomeEvent, OutcomeRule,
    Severity, Verdict, parse_event_name,
};
use firebreak_store::{NewOutcomeEvent, NewOutcomeRule, Store, StoredOutcomeRule};
use jiff::{SignedDuration, Timestamp};
use tokio::sync::{Mutex, Notify};

use crate::access::Audit;
use crate::alerts::{Ingestor, Refusal};
use crate::prometheus::Prometheus;
use crate::resolve;
use crate::workers::Stop;
use crate::{App, Error, Principal, Result};

/// How often the evaluator judges every rule without being woken.
pub const EVALUATE_TICK: Duration = Duration::from_secs(1);
/// Most events one request may post: a batch job's hour of events, small enough to validate and
/// write in one short transaction (and well within the server's body limit).
pub const EVENTS_PER_REQUEST_MAX: usize = 1_000;
/// Highest count of one event: the rules' own highest minimum count; more is a metric's job.
pub const EVENT_COUNT_MAX: i64 = firebreak_domain::AT_LEAST_COUNT_MAX as i64;
/// Longest key of an event: room for an id with a prefix, such as a UUID or a payout reference.
pub const EVENT_KEY_CHARS_MAX: usize = 200;
/// How far ahead of this server's clock an event may say it happened: room for the sender's clock
/// being a little fast, not for events in the future.
pub const EVENT_AHEAD_MAX: SignedDuration = SignedDuration::from_mins(5);
/// How long ago an event may say it happened: the longest any rule looks back (an absent rule's
/// longest duration); an older one could change no verdict.
pub const EVENT_AGE_MAX: SignedDuration = ABSENT_DURATION_MAX;
/// How long events are kept: as long as one may be posted after it happened ([`EVENT_AGE_MAX`],
/// 35 days), and a day more, so an absent rule can still say since when it saw none.
pub const EVENTS_KEPT: SignedDuration = SignedDuration::from_hours(36 * 24);
/// How often old events are deleted, by the application's clock.
const PRUNE_EVERY: SignedDuration = SignedDuration::from_hours(1);
/// Events deleted by one statement, so that pruning never holds SQLite's writer for long.
const PRUNE_BATCH_MAX: i64 = 10_000;
/// Statements of one pruning; what is left waits for the next, so a backlog never stalls a round.
const PRUNE_BATCHES_MAX: usize = 100;
/// Most events one judgement of a ratio rule reads (at-least and absent rules read a sum and a
/// time); past it the judgement reads the oldest ones only, and says so in the log.
const RATIO_EVENTS_READ_MAX: i64 = 200_000;
/// Most events of one rule read from Prometheus: all a rule reads.
pub const QUERIES_MAX: usize = 2;
/// Longest PromQL expression of a rule's event.
pub const QUERY_CHARS_MAX: usize = 2_000;
/// What a rule's query writes for the window it counts over; it becomes seconds, such as `3600s`.
pub const WINDOW_PLACEHOLDER: &str = "$window";
/// The `alertname` label of outcome alerts, for silences.
pub const OUTCOME_ALERT_NAME: &str = "OutcomeMissed";

/// A rule as the API shows it: with its verdict now and, for one rule, what arrived lately.
#[derive(Clone, Debug)]
pub struct RuleView {
    pub rule: StoredOutcomeRule,
    pub verdict: Verdict,
    pub counts: Option<Vec<EventCount>>,
}

/// What a service saw of one event lately.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventCount {
    pub event: String,
    pub last_hour: u64,
    pub last_day: u64,
    pub last_at: Option<Timestamp>,
}

impl From<RuleView> for api::OutcomeRule {
    fn from(view: RuleView) -> api::OutcomeRule {
        let rule = view.rule;
        let shape = match rule.rule {
            OutcomeRule::AtLeast { .. } => "at_least",
            OutcomeRule::Ratio { .. } => "ratio",
            OutcomeRule::Absent { .. } => "absent",
        };
        let (status, seen, why) = match view.verdict {
            Verdict::Met { seen } => ("met", Some(seen), None),
            Verdict::Breached { seen, .. } => ("breached", Some(seen), None),
            Verdict::Quiet { why } => ("quiet", None, Some(why)),
        };
        api::OutcomeRule {
            id: rule.id,
            name: rule.name,
            service_id: rule.service_id,
            expected: Some(rule.rule.expected()),
            rule: rule.rule.to_string(),
            shape: shape.to_owned(),
            severity: rule.severity.into(),
            status: status.to_owned(),
            seen,
            why,
            queries: rule.queries,
            alerting: rule.alert_open,
            created_at: rule.created_at,
            created_by: rule.created_by,
            counts: view.counts.map(|counts| {
                counts
                    .into_iter()
                    .map(|count| api::OutcomeEventCount {
                        event: count.event,
                        last_hour: count.last_hour,
                        last_day: count.last_day,
                        last_at: count.last_at,
                    })
                    .collect()
            }),
        }
    }
}

/// The evaluator: judges every rule and raises or resolves its alert.
pub(crate) struct Outcomes {
    store: Store,
    clock: Arc<dyn Clock>,
    ingestor: Arc<Ingestor>,
    /// Where events read by query come from, if firebreak was given one.
    prometheus: Option<Prometheus>,
    wake: Notify,
    /// One round at a time.
    round: Mutex<Rounds>,
}

/// What one round leaves for the next.
#[derive(Default)]
struct Rounds {
    /// When old events were last deleted.
    pruned_at: Option<Timestamp>,
    /// The rules whose queries failed in the last round, so that a failure is logged once.
    failing: HashSet<Id>,
}

/// Why a rule could not be judged now: a query of its events failed, as said.
#[derive(Clone, Debug, PartialEq, Eq)]
struct QueryFailed(String);

impl Outcomes {
    pub(crate) fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        ingestor: Arc<Ingestor>,
        prometheus: Option<Prometheus>,
    ) -> Outcomes {
        Outcomes { store, clock, ingestor, prometheus, wake: Notify::new(), round: Mutex::default() }
    }

    /// Judges every rule each [`EVALUATE_TICK`], and when events arrived, until `stop` is raised.
    pub(crate) async fn evaluate(self: Arc<Self>, mut stop: Stop) {
        let mut ticker = tokio::time::interval(EVALUATE_TICK);
        loop {
            tokio::select! {
                () = stop.requested() => return,
                _ = ticker.tick() => {}
                () = self.wake.notified() => {}
            }
            if let Err(err) = self.round().await {
                tracing::warn!(error = %err, "outcomes_unevaluated");
            }
        }
    }

    /// One judgement of every rule: raises the alert of each breached rule that has none open,
    /// and resolves the alert of each that has one and is met, quiet or gone; leaves it as it is
    /// when a query of the rule's events failed. Then deletes old events, if it is time to.
    pub(crate) async fn round(&self) -> Result<()> {
        let mut rounds = self.round.lock().await;
        let now = self.clock.now();
        for (rule, gone) in self.store.outcome_rules_to_watch().await? {
            let breach = if gone {
                None
            } else {
                match self.verdict(&rule, now).await? {
                    Ok(Verdict::Breached { expected, seen }) => {
                        Some(format!("{}: expected {expected}; saw {seen}", rule.name))
                    }
                    Ok(Verdict::Met { .. } | Verdict::Quiet { .. }) => None,
                    Err(QueryFailed(why)) => {
                        if rounds.failing.insert(rule.id) {
                            tracing::warn!(outcome_rule_id = rule.id, error = %why, "outcome_query_failed");
                        }
                        continue;
                    }
                }
            };
            if rounds.failing.remove(&rule.id) {
                tracing::info!(outcome_rule_id = rule.id, "outcome_query_recovered");
            }
            // The alert to send, and whether it leaves the alert open.
            let change = match (breach, rule.alert_open) {
                (Some(summary), false) => Some((AlertAction::Trigger, summary, true)),
                (None, true) => Some((AlertAction::Resolve, String::new(), false)),
                _ => None,
            };
            if let Some((action, summary, open)) = change
                && self.send(&rule, action, summary).await
            {
                self.store.set_outcome_alert(rule.id, !open, open).await?;
            }
        }
        if rounds.pruned_at.is_none_or(|at| now.duration_since(at) >= PRUNE_EVERY) {
            self.prune(now).await?;
            rounds.pruned_at = Some(now);
        }
        Ok(())
    }

    /// What `rule` makes of its service's events at `now`, those it reads by query included; or
    /// why a query failed.
    async fn verdict(
        &self,
        rule: &StoredOutcomeRule,
        now: Timestamp,
    ) -> Result<std::result::Result<Verdict, QueryFailed>> {
        let (from, to) = rule.rule.lookback(now);
        if rule.created_at > from {
            // Too new to judge, as the domain says; Prometheus need not be asked.
            return Ok(Ok(rule.rule.evaluate(rule.created_at, &[], now)));
        }
        let queried = match self.queried(rule, now).await {
            Ok(queried) => queried,
            Err(failed) => return Ok(Err(failed)),
        };
        let posted = |name: &str| !rule.queries.contains_key(name);
        let mut events = match &rule.rule {
            OutcomeRule::AtLeast { event, .. } | OutcomeRule::Absent { event, .. } if !posted(event) => {
                Vec::new()
            }
            // An at-least rule judges only how many there were: a sum, not every event.
            OutcomeRule::AtLeast { event, .. } => {
                let count = self.store.outcome_event_count(rule.service_id, event, from, to).await?;
                standing_for(event, count, to)
            }
            // An absent rule judges only the last one, however long ago.
            OutcomeRule::Absent { event, .. } => {
                let last = self.store.last_outcome_event_at(rule.service_id, event, to).await?;
                last.map(|at| OutcomeEvent { event: event.clone(), at, count: 1, key: None })
                    .into_iter()
                    .collect()
            }
            OutcomeRule::Ratio { .. } => {
                let names: Vec<&str> = rule.rule.events().into_iter().filter(|name| posted(name)).collect();
                let events = self
                    .store
                    .outcome_events(rule.service_id, &names, from, to, RATIO_EVENTS_READ_MAX)
                    .await?;
                if events.len() as i64 >= RATIO_EVENTS_READ_MAX {
                    tracing::warn!(
                        outcome_rule_id = rule.id,
                        events = events.len(),
                        "outcome_events_truncated"
                    );
                }
                events
            }
        };
        events.extend(queried);
        Ok(Ok(rule.rule.evaluate(rule.created_at, &events, now)))
    }

    /// The events `rule` reads by query at `now`, each count as events at the time it is for.
    async fn queried(
        &self,
        rule: &StoredOutcomeRule,
        now: Timestamp,
    ) -> std::result::Result<Vec<OutcomeEvent>, QueryFailed> {
        let mut events = Vec::new();
        for (event, query) in &rule.queries {
            let Some(prometheus) = &self.prometheus else {
                return Err(QueryFailed("firebreak was started without --prometheus-url".to_owned()));
            };
            let (window, at) = instant_of(&rule.rule, event, now);
            let value = prometheus
                .instant(&promql(query, window), at)
                .await
                .map_err(|err| QueryFailed(format!("{err:#}")))?;
            events.extend(standing_for(event, count_of(value), at));
        }
        Ok(events)
    }

    /// Sends `action` for the rule's alert through the ingest pipeline and waits until it is
    /// stored; says whether it was.
    async fn send(&self, rule: &StoredOutcomeRule, action: AlertAction, summary: String) -> bool {
        let event = AlertEvent {
            action,
            dedup_key: Some(dedup_key(rule.id)),
            summary,
            source: "firebreak".to_owned(),
            severity: rule.severity,
            kind: Kind::Silent,
            occurred_at: Some(self.clock.now()),
            labels: BTreeMap::from([
                ("alertname".to_owned(), OUTCOME_ALERT_NAME.to_owned()),
                ("rule".to_owned(), rule.name.clone()),
                ("source".to_owned(), "firebreak".to_owned()),
            ]),
            details: serde_json::json!({"rule": rule.rule.to_string()}).to_string(),
            links: Vec::new(),
        };
        match self.ingestor.submit(rule.service_id, vec![event]).await {
            Ok(()) => {
                self.ingestor.settle().await;
                true
            }
            Err(Refusal::Busy) => {
                tracing::warn!(outcome_rule_id = rule.id, "outcome_alert_refused");
                false
            }
            Err(Refusal::Failed(err)) => {
                tracing::warn!(outcome_rule_id = rule.id, error = %err, "outcome_alert_failed");
                false
            }
        }
    }

    /// Deletes events older than [`EVENTS_KEPT`], a bounded number of batches at a time.
    async fn prune(&self, now: Timestamp) -> Result<()> {
        let before = now.saturating_sub(EVENTS_KEPT).expect("a signed duration always subtracts");
        for _ in 0..PRUNE_BATCHES_MAX {
            let deleted = self.store.prune_outcome_events(before, PRUNE_BATCH_MAX).await?;
            if deleted < PRUNE_BATCH_MAX as u64 {
                break;
            }
        }
        Ok(())
    }
}

/// The window a rule's query of `event` counts over, and the time it is asked at (which is the
/// time of the event its count stands for), when the rule is judged at `now`:
///
/// - at-least and absent: the rule's window (`per`, `for`), at `now`;
/// - ratio: the `follows` event over the rule's window (`over`) that ended `within` ago, at that
///   end; the following event over the window ending `now`, at `now`, as the domain matches
///   unkeyed events.
fn instant_of(rule: &OutcomeRule, event: &str, now: Timestamp) -> (SignedDuration, Timestamp) {
    match rule {
        OutcomeRule::AtLeast { window, .. } | OutcomeRule::Absent { window, .. } => (*window, now),
        OutcomeRule::Ratio { follows, within, window, .. } if follows == event => {
            (*window, now.saturating_sub(*within).expect("a signed duration always subtracts"))
        }
        OutcomeRule::Ratio { window, .. } => (*window, now),
    }
}

/// A rule's query with its `$window` written as `window` in seconds, such as `3600s`.
fn promql(query: &str, window: SignedDuration) -> String {
    query.replace(WINDOW_PLACEHOLDER, &format!("{}s", window.as_secs()))
}

/// A query's value as a count: rounded to the nearest whole number; 0 when negative or not a number.
fn count_of(value: f64) -> u64 {
    // A cast saturates: NaN and negatives become 0, more than u64 holds becomes its largest.
    value.round() as u64
}

/// A rule's queries as given, checked against its sentence: each names one of its events (in any
/// case) and is 1 to [`QUERY_CHARS_MAX`] characters. With `needs_prometheus`, queries are refused
/// when firebreak has no Prometheus-compatible API to ask.
fn queries_of(
    rule: &OutcomeRule,
    queries: BTreeMap<String, String>,
    needs_prometheus: bool,
) -> Result<BTreeMap<String, String>> {
    let invalid = |problem: String| Error::Invalid(format!("queries: {problem}"));
    if queries.is_empty() {
        return Ok(queries);
    }
    if needs_prometheus {
        return Err(invalid(
            "firebreak was started without --prometheus-url, so it has no Prometheus-compatible API to \
             query; leave queries out and post the events"
                .to_owned(),
        ));
    }
    let events = rule.events();
    let mut checked = BTreeMap::new();
    for (event, query) in queries {
        let Some(name) = parse_event_name(&event).ok().filter(|name| events.contains(&name.as_str())) else {
            return Err(invalid(format!(
                "{event:?} is not an event of the rule, which reads {}",
                events.join(" and ")
            )));
        };
        let query = query.trim();
        let length = query.chars().count();
        if length == 0 || length > QUERY_CHARS_MAX {
            return Err(invalid(format!(
                "the query of {name} must be 1 to {QUERY_CHARS_MAX} characters, not {length}"
            )));
        }
        if checked.insert(name.clone(), query.to_owned()).is_some() {
            return Err(invalid(format!("{name} is given twice")));
        }
    }
    if checked.len() > QUERIES_MAX {
        return Err(invalid(format!("{} queries; give at most {QUERIES_MAX}", checked.len())));
    }
    Ok(checked)
}

/// `count` events named `event`, as events at `at` whose counts add up to it.
fn standing_for(event: &str, count: u64, at: Timestamp) -> Vec<OutcomeEvent> {
    let mut left = count;
    let mut events = Vec::new();
    while left > 0 {
        let part = u32::try_from(left).unwrap_or(u32::MAX);
        events.push(OutcomeEvent { event: event.to_owned(), at, count: part, key: None });
        left -= u64::from(part);
    }
    events
}

/// The dedup key of a rule's alert.
pub fn dedup_key(id: Id) -> String {
    format!("outcome:{id}")
}

/// A rule's sentence, read; a mistake is named with the word where it is.
fn rule_of(sentence: &str) -> Result<OutcomeRule> {
    OutcomeRule::parse(sentence).map_err(|err| Error::Invalid(format!("rule: {err}")))
}

impl App {
    fn outcomes_worker(&self) -> &Outcomes {
        &self.inner.outcomes
    }

    /// The rule as shown: its verdict now and, when `counts`, what arrived of its events lately.
    async fn outcome_view(&self, rule: StoredOutcomeRule, counts: bool) -> Result<RuleView> {
        let now = self.now();
        let verdict = self.outcomes_worker().verdict(&rule, now).await?.unwrap_or_else(|QueryFailed(why)| {
            Verdict::Quiet { why: format!("the Prometheus query failed: {why}") }
        });
        let counts = if counts {
            let (hour_ago, day_ago) =
                (now - SignedDuration::from_hours(1), now - SignedDuration::from_hours(24));
            let mut counts = Vec::new();
            for event in rule.rule.events() {
                let store = self.store();
                counts.push(EventCount {
                    event: event.to_owned(),
                    last_hour: store.outcome_event_count(rule.service_id, event, hour_ago, now).await?,
                    last_day: store.outcome_event_count(rule.service_id, event, day_ago, now).await?,
                    last_at: store.last_outcome_event_at(rule.service_id, event, now).await?,
                });
            }
            Some(counts)
        } else {
            None
        };
        Ok(RuleView { rule, verdict, counts })
    }

    /// Creates an expected-outcome rule on behalf of `who`, who configures the service's team.
    ///
    /// Fails with [`Error::Invalid`] for a bad name or sentence (naming the word where it goes
    /// wrong), [`Error::NotFound`] for an unknown service and [`Error::Conflict`] for a name the
    /// service has already.
    pub async fn create_outcome_rule(
        &self,
        who: &Principal,
        body: api::CreateOutcomeRule,
    ) -> Result<RuleView> {
        let service_id = resolve::service_id(self.store(), &body.service).await?;
        self.authorize(who, Action::Configure, self.service_scope(service_id).await?).await?;
        let sentence = rule_of(&body.rule)?;
        let no_prometheus = self.outcomes_worker().prometheus.is_none();
        let rule = NewOutcomeRule {
            service_id,
            name: resolve::name(&body.name)?,
            queries: queries_of(&sentence, body.queries, no_prometheus)?,
            rule: sentence,
            severity: body.severity.map_or(Severity::Sev3, Into::into),
        };
        let mut tx = self.store().begin().await?;
        let rule = tx.create_outcome_rule(&rule, who.name(), self.now()).await?;
        let audit = Audit::new("outcome_rule.create", format!("outcome_rule:{}", rule.id)).after(
            serde_json::json!({"name": rule.name, "rule": rule.rule.to_string(), "service_id": rule.service_id, "queries": rule.queries}),
        );
        self.audit_in(&mut tx, who, audit).await?;
        tx.commit().await?;
        self.outcomes_worker().wake.notify_one();
        self.outcome_view(rule, false).await
    }

    /// Changes rule `id` on behalf of `who`, who configures its service's team; what is left out
    /// stays (queries left out stay, and must still name events of the rule). An alert it raised
    /// stays raised until the rule, as it is now, is met or quiet.
    ///
    /// Fails as [`App::create_outcome_rule`] does, and with [`Error::NotFound`] for an unknown rule.
    pub async fn update_outcome_rule(
        &self,
        who: &Principal,
        id: Id,
        body: api::UpdateOutcomeRule,
    ) -> Result<RuleView> {
        let before = self.store().outcome_rule(id).await?;
        self.authorize(who, Action::Configure, self.service_scope(before.service_id).await?).await?;
        let sentence = body.rule.as_deref().map_or(Ok(before.rule.clone()), rule_of)?;
        let queries = match body.queries {
            Some(queries) => queries_of(&sentence, queries, self.outcomes_worker().prometheus.is_none())?,
            None => queries_of(&sentence, before.queries.clone(), false)?,
        };
        let changed = NewOutcomeRule {
            service_id: before.service_id,
            name: body.name.as_deref().map_or(Ok(before.name.clone()), resolve::name)?,
            rule: sentence,
            severity: body.severity.map_or(before.severity, Into::into),
            queries,
        };
        let mut tx = self.store().begin().await?;
        let after = tx.update_outcome_rule(id, &changed).await?;
        let audit = Audit::new("outcome_rule.update", format!("outcome_rule:{id}"))
            .before(serde_json::json!({"name": before.name, "rule": before.rule.to_string(), "queries": before.queries}))
            .after(serde_json::json!({"name": after.name, "rule": after.rule.to_string(), "queries": after.queries}));
        self.audit_in(&mut tx, who, audit).await?;
        tx.commit().await?;
        self.outcomes_worker().wake.notify_one();
        self.outcome_view(after, false).await
    }

    /// Deletes rule `id` on behalf of `who`, who configures its service's team; its alert, if
    /// raised, is resolved. The service's events stay for its other rules.
    pub async fn delete_outcome_rule(&self, who: &Principal, id: Id) -> Result<()> {
        let rule = self.store().outcome_rule(id).await?;
        self.authorize(who, Action::Configure, self.service_scope(rule.service_id).await?).await?;
        let mut tx = self.store().begin().await?;
        tx.delete_outcome_rule(id, self.now()).await?;
        let audit = Audit::new("outcome_rule.delete", format!("outcome_rule:{id}")).before(
            serde_json::json!({"name": rule.name, "rule": rule.rule.to_string(), "service_id": rule.service_id}),
        );
        self.audit_in(&mut tx, who, audit).await?;
        tx.commit().await?;
        self.outcomes_worker().round().await
    }

    /// The rules of one service (id or name), or of every service, with their verdicts now.
    pub async fn outcome_rules(&self, service: Option<&Ref>) -> Result<Vec<RuleView>> {
        let service_id = match service {
            Some(service) => Some(resolve::service_id(self.store(), service).await?),
            None => None,
        };
        let mut views = Vec::new();
        for rule in self.store().outcome_rules(service_id).await? {
            views.push(self.outcome_view(rule, false).await?);
        }
        Ok(views)
    }

    /// Rule `id` with its verdict now and what arrived of its events lately. Fails with
    /// [`Error::NotFound`] for an unknown rule.
    pub async fn outcome_rule(&self, id: Id) -> Result<RuleView> {
        let rule = self.store().outcome_rule(id).await?;
        self.outcome_view(rule, true).await
    }

    /// Judges every rule now, raising and resolving alerts (the evaluator does this every second;
    /// tests on a manual clock call it after moving the clock).
    pub async fn evaluate_outcomes(&self) -> Result<()> {
        self.outcomes_worker().round().await
    }

    /// Records business events of service `service_id` (whose integration key the sender gave),
    /// all or none, and returns how many. An event left without `at` happened now, without
    /// `count` stands for one.
    ///
    /// Fails with [`Error::Invalid`], naming the event (counted from 0) and its field, for more
    /// than [`EVENTS_PER_REQUEST_MAX`] events, a bad name, a count outside 1 to
    /// [`EVENT_COUNT_MAX`], a time more than [`EVENT_AHEAD_MAX`] ahead or [`EVENT_AGE_MAX`] ago,
    /// a key longer than [`EVENT_KEY_CHARS_MAX`], or a `service` that is not `service_id`.
    pub async fn record_outcome_events(
        &self,
        service_id: Id,
        events: Vec<api::OutcomeEvent>,
    ) -> Result<usize> {
        if events.len() > EVENTS_PER_REQUEST_MAX {
            return Err(Error::Invalid(format!(
                "{} events in one request; send at most {EVENTS_PER_REQUEST_MAX}",
                events.len()
            )));
        }
        let now = self.now();
        let (earliest, latest) = (now - EVENT_AGE_MAX, now + EVENT_AHEAD_MAX);
        // Whether each service named is the key's, asked once per name.
        let mut services: HashMap<Ref, bool> = HashMap::new();
        let mut checked = Vec::with_capacity(events.len());
        for (index, posted) in events.into_iter().enumerate() {
            let invalid = |problem: String| Error::Invalid(format!("event {index}: {problem}"));
            if let Some(service) = posted.service {
                let same = match services.get(&service) {
                    Some(same) => *same,
                    None => {
                        let same = match resolve::service_id(self.store(), &service).await {
                            Ok(id) => id == service_id,
                            Err(Error::NotFound(_)) => false,
                            Err(err) => return Err(err),
                        };
                        services.insert(service.clone(), same);
                        same
                    }
                };
                if !same {
                    return Err(invalid(format!(
                        "service {service} is not the service whose integration key sent it"
                    )));
                }
            }
            let event = parse_event_name(&posted.event).map_err(invalid)?;
            let count = posted.count.unwrap_or(1);
            if !(1..=EVENT_COUNT_MAX).contains(&count) {
                return Err(invalid(format!("count must be from 1 to {EVENT_COUNT_MAX}, not {count}")));
            }
            let at = posted.at.unwrap_or(now);
            if at > latest {
                return Err(invalid(format!(
                    "at {at} is more than {} minutes ahead of this server's clock ({now})",
                    EVENT_AHEAD_MAX.as_mins()
                )));
            }
            if at < earliest {
                return Err(invalid(format!(
                    "at {at} is more than {} days ago; no rule looks back that far",
                    EVENT_AGE_MAX.as_hours() / 24
                )));
            }
            if let Some(key) = &posted.key
                && (key.is_empty() || key.chars().count() > EVENT_KEY_CHARS_MAX)
            {
                return Err(invalid(format!("key must be 1 to {EVENT_KEY_CHARS_MAX} characters")));
            }
            checked.push(NewOutcomeEvent {
                service_id,
                event: OutcomeEvent {
                    event,
                    at,
                    count: u32::try_from(count).expect("a count was checked to be at most a million"),
                    key: posted.key,
                },
            });
        }
        self.store().record_outcome_events(&checked, now).await?;
        if !checked.is_empty() {
            self.outcomes_worker().wake.notify_one();
        }
        Ok(checked.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sum_stands_as_events_whose_counts_add_up_to_it() {
        let at = Timestamp::UNIX_EPOCH;
        let total = |count: u64| standing_for("x", count, at).iter().map(|e| u64::from(e.count)).sum::<u64>();
        assert!(standing_for("x", 0, at).is_empty());
        for count in [1, 10, u64::from(u32::MAX), u64::from(u32::MAX) * 2 + 7] {
            assert_eq!(total(count), count);
        }
    }

    #[test]
    fn queries_ask_the_windows_and_times_the_rule_judges() {
        let now: Timestamp = "2026-03-04T14:00:00Z".parse().unwrap();
        let asked = |sentence: &str, event: &str| {
            let (window, at) = instant_of(&OutcomeRule::parse(sentence).unwrap(), event, now);
            (promql("sum(increase(x_total[$window])) / $window", window), at.to_string())
        };
        let captured = "sum(increase(x_total[3600s])) / 3600s";
        assert_eq!(
            asked("at least 10 payment_captured per 1h", "payment_captured"),
            (captured.into(), now.to_string())
        );
        assert_eq!(
            asked("no invoice_sent for 26h", "invoice_sent"),
            ("sum(increase(x_total[93600s])) / 93600s".into(), now.to_string())
        );
        let payouts = "payout_settled >= 95% of payout_requested within 30m over 2h";
        let two_hours = "sum(increase(x_total[7200s])) / 7200s";
        assert_eq!(asked(payouts, "payout_requested"), (two_hours.into(), "2026-03-04T13:30:00Z".into()));
        assert_eq!(asked(payouts, "payout_settled"), (two_hours.into(), now.to_string()));

        assert_eq!([-3.0, f64::NAN, 0.0, 0.49, 0.5, 4.6, 1e30].map(count_of), [0, 0, 0, 0, 1, 5, u64::MAX]);

        // Counts at the times asked judge as the domain judges unkeyed events there.
        let rule = OutcomeRule::parse(payouts).unwrap();
        let created = now - SignedDuration::from_hours(24);
        let judged = |requested: u64, settled: u64| {
            let mut events = Vec::new();
            for (event, count) in [("payout_requested", requested), ("payout_settled", settled)] {
                events.extend(standing_for(event, count, instant_of(&rule, event, now).1));
            }
            rule.evaluate(created, &events, now)
        };
        assert!(matches!(judged(100, 95), Verdict::Met { .. }), "{:?}", judged(100, 95));
        assert!(matches!(judged(100, 94), Verdict::Breached { .. }), "{:?}", judged(100, 94));
        assert!(matches!(judged(0, 94), Verdict::Quiet { .. }));
        let absent = OutcomeRule::parse("no invoice_sent for 26h").unwrap();
        let judged = |count| {
            absent.evaluate(
                created - SignedDuration::from_hours(48),
                &standing_for("invoice_sent", count, now),
                now,
            )
        };
        assert!(matches!(judged(1), Verdict::Met { .. }));
        assert!(matches!(judged(0), Verdict::Breached { .. }));
    }

    #[test]
    fn queries_name_events_of_the_rule() {
        let rule = OutcomeRule::parse("payout_settled >= 95% of payout_requested within 30m").unwrap();
        let given = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs.iter().map(|(event, query)| ((*event).to_owned(), (*query).to_owned())).collect()
        };
        let error = |pairs: &[(&str, &str)], needs_prometheus| match queries_of(
            &rule,
            given(pairs),
            needs_prometheus,
        ) {
            Err(Error::Invalid(problem)) => problem,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            queries_of(&rule, given(&[("Payout_Settled", " sum(increase(s[$window])) ")]), false).unwrap(),
            given(&[("payout_settled", "sum(increase(s[$window]))")])
        );
        assert!(queries_of(&rule, BTreeMap::new(), true).unwrap().is_empty());
        assert_eq!(
            error(&[("payout_sent", "x")], false),
            "queries: \"payout_sent\" is not an event of the rule, which reads payout_requested and payout_settled"
        );
        assert!(error(&[("payout_settled", "x")], true).contains("--prometheus-url"));
        assert!(error(&[("payout_settled", " ")], false).contains("1 to 2000 characters"));
        assert!(error(&[("payout_settled", &"x".repeat(QUERY_CHARS_MAX + 1))], false).contains("not 2001"));
        assert!(error(&[("payout_settled", "x"), ("PAYOUT_SETTLED", "y")], false).contains("given twice"));
    }

    #[test]
    fn events_are_kept_longer_than_any_rule_reads_them() {
        assert!(EVENTS_KEPT > EVENT_AGE_MAX + PRUNE_EVERY);
        assert!(EVENT_AGE_MAX >= firebreak_domain::OUTCOME_DURATION_MAX * 2, "a ratio rule's lookback");
    }
}
