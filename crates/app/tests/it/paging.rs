//! Deterministic simulations of the escalation driver over a real store, in simulated time.
//!
//! A manual clock moves in jumps of minutes to weeks and the driver is run until idle after each
//! move, so weeks of schedules and escalations take milliseconds. The transport records what would
//! have been sent (the real channels are tested against a real SMTP server and HTTP receivers in
//! `firebreak-notify` and end to end). Each scenario is also replayed with the driver restarted,
//! over the same database, before every move, and must page exactly the same people at exactly the
//! same times.

use std::sync::Arc;

use firebreak_api as api;
use firebreak_app::links::Links;
use firebreak_app::oncall::{policy_of_spec, schedule_of_spec};
use firebreak_app::paging::Pager;
use firebreak_app::testing::Recording;
use firebreak_domain::{
    Clock, Command, Hours, Kind, ManualClock, NewIncident, Severity, TimelineEvent, Urgency,
};
use firebreak_notify::SendError;
use firebreak_store::{NewService, NewTeam, NewUser, Store, testing};
use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan};
use serde_json::json;

/// A store with a service, users with a contact method each, and a driver over a manual clock.
struct World {
    _dir: Option<tempfile::TempDir>,
    store: Store,
    clock: Arc<ManualClock>,
    recorder: Recording,
    pager: Arc<Pager>,
    service: i64,
    users: Vec<(String, i64)>,
}

impl World {
    async fn new(start: &str, names: &[&str]) -> World {
        let dir = tempfile::tempdir().unwrap();
        let store = testing::fresh_sqlite(dir.path()).await.unwrap();
        World::over(store, Some(dir), start, names).await
    }

    /// On a fresh PostgreSQL schema, when `FIREBREAK_TEST_DATABASE_URL` is set.
    async fn postgres(test: &str, start: &str, names: &[&str]) -> Option<World> {
        let store = testing::fresh_postgres(test).await.unwrap()?;
        Some(World::over(store, None, start, names).await)
    }

    async fn over(store: Store, dir: Option<tempfile::TempDir>, start: &str, names: &[&str]) -> World {
        let clock = Arc::new(ManualClock::new(start.parse().unwrap()));
        let new_team = NewTeam { name: "payments".into(), description: String::new() };
        let team = write(&store, async |tx| tx.create_team(&new_team, clock.now()).await).await.unwrap();
        let new = NewService { name: "checkout".into(), team_id: team.id, ..Default::default() };
        let (service, _) =
            write(&store, async |tx| tx.create_service(&new, clock.now()).await).await.unwrap();
        let mut users = Vec::new();
        for name in names {
            let new = NewUser {
                name: (*name).into(),
                email: format!("{name}@example.com"),
                time_zone: "UTC".into(),
            };
            let user = write(&store, async |tx| tx.create_user(&new, clock.now()).await).await.unwrap();
            let address = format!("https://hooks.example/{name}");
            write(&store, async |tx| {
                tx.create_contact_method(user.id, "webhook", &address, Some("whsec_test"), clock.now()).await
            })
            .await
            .unwrap();
            users.push(((*name).to_owned(), user.id));
        }
        let recorder = Recording::default();
        let pager = pager(&store, &clock, &recorder);
        World { _dir: dir, store, clock, recorder, pager, service: service.id, users }
    }

    fn user(&self, name: &str) -> i64 {
        self.users.iter().find(|(n, _)| n == name).map(|(_, id)| *id).unwrap()
    }

    async fn schedule(&self, spec: serde_json::Value) -> i64 {
        let spec: api::CreateSchedule = serde_json::from_value(spec).unwrap();
        let schedule = schedule_of_spec(&spec).unwrap();
        write(&self.store, async |tx| tx.create_schedule(&spec.name, &schedule, self.clock.now()).await)
            .await
            .unwrap()
            .id
    }

    async fn policy(&self, repeat: u32, levels: serde_json::Value) -> i64 {
        let spec = json!({"name": "default", "repeat": repeat, "levels": levels});
        let policy = policy_of_spec(&serde_json::from_value(spec).unwrap()).unwrap();
        let policy = write(&self.store, async |tx| {
            tx.create_escalation_policy("default", &policy, self.clock.now()).await
        })
        .await
        .unwrap();
        write(&self.store, async |tx| tx.set_service_escalation_policy(self.service, Some(policy.id)).await)
            .await
            .unwrap();
        policy.id
    }

    async fn trigger(&self) -> i64 {
        let new = NewIncident {
            title: "payments failing".into(),
            service_id: self.service,
            severity: Severity::Sev1,
            kind: Kind::Signal,
        };
        let id = write(&self.store, async |tx| tx.create_incident(&new, "test", self.clock.now()).await)
            .await
            .unwrap()
            .id;
        self.run().await;
        id
    }

    async fn command(&self, incident: i64, command: Command) {
        write(&self.store, async |tx| tx.update_incident(incident, &command, "test", self.clock.now()).await)
            .await
            .unwrap();
        self.run().await;
    }

    async fn advance(&self, by: SignedDuration) {
        self.clock.advance(by);
        self.run().await;
    }

    async fn run(&self) {
        self.pager.run_until_idle().await.unwrap();
    }

    /// Stops the driver and starts another over the same database, as a restart does.
    fn restart(&mut self) {
        self.pager = pager(&self.store, &self.clock, &self.recorder);
    }

    /// The pages sent since the last call, as (minutes since `origin`, recipient, level); the
    /// follow-ups ("acknowledged by …") sent meanwhile are left out.
    fn take(&self, origin: Timestamp) -> Vec<(i64, String, u32)> {
        pages(self.recorder.take())
            .into_iter()
            .map(|s| (s.at.duration_since(origin).as_secs() / 60, s.recipient, s.level))
            .collect()
    }
}

/// The pages among `sent`, without the follow-ups.
fn pages(sent: Vec<firebreak_app::testing::Sent>) -> Vec<firebreak_app::testing::Sent> {
    sent.into_iter().filter(|s| !s.delivery_id.starts_with("followup/")).collect()
}

fn pager(store: &Store, clock: &Arc<ManualClock>, recorder: &Recording) -> Arc<Pager> {
    let links = Links::new(vec![1; 32], "https://firebreak.example");
    Arc::new(Pager::new(
        store.clone(),
        clock.clone(),
        Arc::new(recorder.clone()),
        links,
        "https://firebreak.example",
    ))
}

/// Runs `change` in a transaction of its own, committed when it succeeds.
async fn write<T>(
    store: &Store,
    change: impl AsyncFnOnce(&mut firebreak_store::Tx) -> Result<T, firebreak_store::StoreError>,
) -> Result<T, firebreak_store::StoreError> {
    let mut tx = store.begin().await?;
    let done = change(&mut tx).await?;
    tx.commit().await?;
    Ok(done)
}

fn minutes(n: i64) -> SignedDuration {
    SignedDuration::from_mins(n)
}

/// A three-level policy with one repeat: ack in the middle, resolve, re-trigger, and the driver
/// restarted before move number `restart_before` (none when out of range).
async fn three_levels(restart_before: usize) -> Vec<Vec<(i64, String, u32)>> {
    let mut world = World::new("2026-03-02T08:00:00Z", &["ana", "ben", "cy", "dan"]).await;
    let origin = world.clock.now();
    let schedule = world
        .schedule(json!({
            "name": "primary", "time_zone": "Europe/Berlin",
            "layers": [{"start": "2026-03-02T08:00:00Z", "shift_length": "1w",
                        "users": [world.user("ben"), world.user("dan")]}],
        }))
        .await;
    world
        .policy(
            1,
            json!([
                {"timeout_minutes": 5, "targets": [{"type": "user", "id": world.user("ana")}]},
                {"timeout_minutes": 10, "targets": [{"type": "schedule", "id": schedule}]},
                {"timeout_minutes": 15, "targets": [{"type": "user", "id": world.user("cy")}], "wakes_management": true},
            ]),
        )
        .await;
    let mut observed = Vec::new();
    let mut moves = 0;
    macro_rules! step {
        ($action:expr) => {{
            if moves == restart_before {
                world.restart();
            }
            #[allow(unused_assignments)]
            {
                moves += 1;
            }
            $action;
            observed.push(world.take(origin));
        }};
    }
    let incident = world.trigger().await;
    observed.push(world.take(origin));
    step!(world.advance(minutes(4)).await); // nothing yet
    step!(world.advance(minutes(1)).await); // level 2: the schedule's ben
    step!(world.advance(minutes(10)).await); // level 3: cy, who may wake management
    step!(world.advance(minutes(15)).await); // pass 2, level 1: ana again
    step!(world.advance(minutes(2)).await); // nothing
    step!(world.command(incident, Command::Acknowledge).await); // stops paging
    step!(world.advance(SignedDuration::from_hours(3)).await); // nothing, ever
    step!(world.command(incident, Command::Resolve).await);
    step!(world.command(incident, Command::Retrigger).await); // generation 2 starts at level 1
    step!(world.advance(minutes(5)).await); // level 2
    step!(world.command(incident, Command::Resolve).await); // stops everything
    step!(world.advance(SignedDuration::from_hours(24)).await);
    assert!(world.recorder.sent().is_empty());
    let sent_to_cy: Vec<_> = world
        .store
        .incident_notifications(incident)
        .await
        .unwrap()
        .into_iter()
        .filter(|n| n.user_name == "cy" && n.follow_up.is_none())
        .collect();
    assert_eq!(sent_to_cy.len(), 1);
    observed
}

#[tokio::test]
async fn a_three_level_policy_with_repeats_ack_resolve_and_retrigger() {
    let pages = three_levels(usize::MAX).await;
    let s = |m: i64, who: &str, level: u32| (m, who.to_owned(), level);
    let expected: Vec<Vec<(i64, String, u32)>> = vec![
        vec![s(0, "ana", 1)],
        vec![],
        vec![s(5, "ben", 2)],
        vec![s(15, "cy", 3)],
        vec![s(30, "ana", 1)],
        vec![],
        vec![],
        vec![],
        vec![],
        vec![s(212, "ana", 1)],
        vec![s(217, "ben", 2)],
        vec![],
        vec![],
    ];
    assert_eq!(pages, expected);
}

#[tokio::test]
async fn a_restart_before_any_move_changes_nothing() {
    let reference = three_levels(usize::MAX).await;
    for restart_before in 0..12 {
        assert_eq!(three_levels(restart_before).await, reference, "restart before move {restart_before}");
    }
}

#[tokio::test]
async fn pages_missed_during_downtime_are_sent_once_each_in_order() {
    let mut world = World::new("2026-03-02T08:00:00Z", &["ana", "ben", "cy"]).await;
    let origin = world.clock.now();
    world
        .policy(
            0,
            json!([
                {"timeout_minutes": 5, "targets": [{"type": "user", "id": world.user("ana")}]},
                {"timeout_minutes": 5, "targets": [{"type": "user", "id": world.user("ben")}]},
                {"timeout_minutes": 5, "targets": [{"type": "user", "id": world.user("cy")}]},
            ]),
        )
        .await;
    let incident = world.trigger().await;
    assert_eq!(world.take(origin), vec![(0, "ana".to_owned(), 1)]);
    // Down for 40 minutes; a new process comes up.
    world.clock.advance(minutes(40));
    world.restart();
    world.run().await;
    assert_eq!(world.take(origin), vec![(40, "ben".to_owned(), 2), (40, "cy".to_owned(), 3)]);
    let timeline = world.store.timeline(incident).await.unwrap();
    assert!(timeline.iter().any(|e| matches!(e.event, TimelineEvent::EscalationExhausted { generation: 1 })));
    world.advance(SignedDuration::from_hours(1)).await;
    assert!(world.take(origin).is_empty());
}

/// A policy paging ana then dan, a minute each, twice: when every server was down while the
/// second pass fell due, the restarted driver pages each level of each pass that fell due, once,
/// late and in order (the same person at the same level of two passes is two pages).
#[tokio::test]
async fn catching_up_pages_the_same_level_of_each_pass() {
    let mut world = World::new("2026-03-02T08:00:00Z", &["ana", "dan"]).await;
    let origin = world.clock.now();
    world
        .policy(
            1,
            json!([
                {"timeout_minutes": 1, "targets": [{"type": "user", "id": world.user("ana")}]},
                {"timeout_minutes": 1, "targets": [{"type": "user", "id": world.user("dan")}]},
            ]),
        )
        .await;
    let incident = world.trigger().await;
    assert_eq!(world.take(origin), vec![(0, "ana".to_owned(), 1)]);
    world.clock.advance(minutes(5));
    world.restart();
    world.run().await;
    let s = |m: i64, who: &str, level: u32| (m, who.to_owned(), level);
    assert_eq!(world.take(origin), vec![s(5, "dan", 2), s(5, "ana", 1), s(5, "dan", 2)]);
    let escalation = world.store.escalation(incident).await.unwrap().unwrap().escalation;
    assert_eq!((escalation.pass, escalation.level), (2, 2));
    let notifications = world.store.incident_notifications(incident).await.unwrap();
    assert_eq!(notifications.len(), 4, "one notification per page: {notifications:?}");
}

/// One case of [`every_level_that_fell_due_is_paged_once_late_and_in_order`]: a policy of
/// `levels` (timeout in minutes, who) repeated `repeat` times, with every server down in the
/// minutes that `down` marks.
async fn catch_up(
    mut world: World,
    names: &[&str],
    levels: &[(i64, usize)],
    repeat: u32,
    down: &[bool],
) -> Result<(), proptest::test_runner::TestCaseError> {
    let origin = world.clock.now();
    let spec: Vec<serde_json::Value> = levels
        .iter()
        .map(|(timeout, who)| {
            json!({"timeout_minutes": timeout, "targets": [{"type": "user", "id": world.user(names[*who])}]})
        })
        .collect();
    world.policy(repeat, serde_json::Value::Array(spec)).await;
    world.trigger().await;
    // Minute by minute: up (the driver runs) or down (nothing runs; a new process starts when the
    // servers come back).
    let mut sent = world.take(origin);
    let mut was_down = false;
    for down in down {
        world.clock.advance(minutes(1));
        if *down {
            was_down = true;
            continue;
        }
        if was_down {
            world.restart();
            was_down = false;
        }
        world.run().await;
        sent.extend(world.take(origin));
    }
    // The plan: level k of pass p falls due after the earlier levels' timeouts, and is paged at the
    // first minute a server is up from then on.
    let cycle: i64 = levels.iter().map(|(timeout, _)| timeout).sum();
    let last = down.len() as i64;
    let up_at = |due: i64| (due..=last).find(|minute| *minute == 0 || !down[(*minute - 1) as usize]);
    let mut expected = Vec::new();
    for pass in 0..=i64::from(repeat) {
        let mut due = pass * cycle;
        for (level, (timeout, who)) in levels.iter().enumerate() {
            if let Some(at) = up_at(due) {
                expected.push((at, names[*who].to_owned(), level as u32 + 1));
            }
            due += timeout;
        }
    }
    proptest::prop_assert_eq!(sent, expected);
    world.store.close().await;
    Ok(())
}

/// Random downtimes during the escalation of policies of random levels and repeats: every level
/// of every pass that fell due is paged exactly once, when it fell due or, if every server was down
/// then, as soon as one is up again, and in order. On both backends.
#[test]
fn every_level_that_fell_due_is_paged_once_late_and_in_order() {
    use proptest::test_runner::{Config, TestRunner};

    const TEST: &str = "every_level_that_fell_due_is_paged_once_late_and_in_order";
    const START: &str = "2026-03-02T08:00:00Z";
    let names = ["ana", "ben", "cy"];
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let case = (
        proptest::collection::vec((1..5i64, 0..names.len()), 1..4),
        0..3u32,
        proptest::collection::vec(proptest::bool::weighted(0.35), 40),
    );
    let postgres = std::env::var(testing::TEST_DATABASE_URL_VAR).is_ok();
    for (backend, cases) in [("SQLite", 48), ("PostgreSQL", if postgres { 16 } else { 0 })] {
        let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
        let result = runner.run(&case, |(levels, repeat, down)| {
            runtime.block_on(async {
                let world = match backend {
                    "SQLite" => World::new(START, &names).await,
                    _ => World::postgres(TEST, START, &names).await.expect("PostgreSQL is configured"),
                };
                catch_up(world, &names, &levels, repeat, &down).await
            })
        });
        if let Err(failure) = result {
            panic!("{backend}: {failure}");
        }
    }
}

/// The Monday 09:00 (local) hand-offs between `start` and `at`, counted on the civil calendar,
/// independently of the schedule code.
fn handoffs(zone: &TimeZone, start: Timestamp, at: Timestamp) -> i64 {
    let first = start.to_zoned(zone.clone()).date();
    let mut count = 0;
    let mut day: Date = first.checked_add(1.day()).unwrap();
    while day <= at.to_zoned(zone.clone()).date() {
        if day.weekday() == Weekday::Monday {
            let handoff = day.at(9, 0, 0, 0).to_zoned(zone.clone()).unwrap().timestamp();
            if handoff <= at {
                count += 1;
            }
        }
        day = day.checked_add(1.day()).unwrap();
    }
    count
}

#[tokio::test]
async fn weekly_rotations_across_both_dst_changes_in_two_time_zones() {
    let names = ["ana", "ben", "cy", "dan", "eve", "fay"];
    let mut world = World::new("2026-02-23T08:00:00Z", &names).await;
    let zones = [("Europe/Berlin", ["ana", "ben", "cy"]), ("America/New_York", ["dan", "eve", "fay"])];
    let mut targets = Vec::new();
    let mut starts = Vec::new();
    for (zone, users) in zones {
        let tz = TimeZone::get(zone).unwrap();
        // Monday 23 February 2026, 09:00 local.
        let start = Date::new(2026, 2, 23).unwrap().at(9, 0, 0, 0).to_zoned(tz.clone()).unwrap().timestamp();
        starts.push((tz, start));
        let ids: Vec<i64> = users.iter().map(|u| world.user(u)).collect();
        let id = world
            .schedule(json!({
                "name": zone, "time_zone": zone,
                "layers": [{"start": start.to_string(), "shift_length": "1w", "users": ids}],
            }))
            .await;
        targets.push(json!({"type": "schedule", "id": id}));
    }
    world.policy(0, json!([{"timeout_minutes": 60, "targets": targets}])).await;
    // Around every hand-off near the four DST changes of 2026 (US: 8 March, 1 November; EU: 29
    // March, 25 October), one minute before and one after, in each zone's local time.
    let mut instants = Vec::new();
    for monday in
        ["2026-03-02", "2026-03-09", "2026-03-23", "2026-03-30", "2026-10-19", "2026-10-26", "2026-11-02"]
    {
        let day: Date = monday.parse().unwrap();
        for (tz, _) in &starts {
            let handoff = day.at(9, 0, 0, 0).to_zoned(tz.clone()).unwrap().timestamp();
            instants.push(handoff - minutes(1));
            instants.push(handoff + minutes(1));
        }
    }
    instants.sort();
    for at in instants {
        world.clock.set(at);
        let incident = world.trigger().await;
        let mut paged: Vec<String> = pages(world.recorder.take()).into_iter().map(|s| s.recipient).collect();
        paged.sort();
        let mut expected: Vec<String> = zones
            .iter()
            .zip(&starts)
            .map(|((_, users), (tz, start))| users[(handoffs(tz, *start, at) % 3) as usize].to_owned())
            .collect();
        expected.sort();
        assert_eq!(paged, expected, "at {at}");
        world.command(incident, Command::Resolve).await;
        if at.as_second() % 2 == 0 {
            world.restart();
        }
    }
}

#[tokio::test]
async fn overrides_and_restrictions_decide_who_is_paged() {
    let mut world = World::new("2026-06-01T00:00:00Z", &["ana", "ben", "cy"]).await;
    // Layer 1: ana around the clock. Layer 2, above it: ben on weekdays 09:00–17:00 Berlin time.
    // cy covers Wednesday 12:00–14:00 UTC.
    let weekdays: Vec<serde_json::Value> = ["monday", "tuesday", "wednesday", "thursday", "friday"]
        .iter()
        .map(|day| json!({"type": "weekly", "start_day": day, "start_time": "09:00", "end_day": day, "end_time": "17:00"}))
        .collect();
    let schedule = world
        .schedule(json!({
            "name": "primary", "time_zone": "Europe/Berlin",
            "layers": [
                {"start": "2026-06-01T00:00:00Z", "shift_length": "1w", "users": [world.user("ana")]},
                {"start": "2026-06-01T00:00:00Z", "shift_length": "1d", "users": [world.user("ben")],
                 "restrictions": weekdays},
            ],
            "overrides": [{"user": world.user("cy"), "start": "2026-06-03T12:00:00Z", "end": "2026-06-03T14:00:00Z"}],
        }))
        .await;
    // A second schedule that only covers business hours, to see an unreachable level.
    let business = world
        .schedule(json!({
            "name": "business", "time_zone": "Europe/Berlin",
            "layers": [{"start": "2026-06-01T00:00:00Z", "shift_length": "1d", "users": [world.user("ben")],
                        "restrictions": [{"type": "daily", "start_time": "09:00", "end_time": "17:00"}]}],
        }))
        .await;
    world
        .policy(
            0,
            json!([{"timeout_minutes": 30, "targets": [{"type": "schedule", "id": schedule},
                                                        {"type": "schedule", "id": business}]}]),
        )
        .await;
    let cases = [
        ("2026-06-02T08:00:00Z", vec!["ben"]), // Tuesday 10:00 Berlin: ben, for both schedules
        ("2026-06-02T19:00:00Z", vec!["ana"]), // Tuesday 21:00: ana; business reaches nobody
        ("2026-06-03T12:30:00Z", vec!["ben", "cy"]), // Wednesday 14:30 Berlin: cy covers primary
        ("2026-06-06T08:00:00Z", vec!["ana", "ben"]), // Saturday 10:00: the weekly restriction excludes ben
    ];
    for (at, expected) in cases {
        world.clock.set(at.parse().unwrap());
        let incident = world.trigger().await;
        let mut paged: Vec<String> = pages(world.recorder.take()).into_iter().map(|s| s.recipient).collect();
        paged.sort();
        assert_eq!(paged, expected, "at {at}");
        let timeline = world.store.timeline(incident).await.unwrap();
        let unreachable = timeline.iter().any(|e| {
            matches!(&e.event, TimelineEvent::Unreachable { reason, .. } if reason == "nobody is on call for schedule business")
        });
        assert_eq!(unreachable, at == "2026-06-02T19:00:00Z", "at {at}");
        world.command(incident, Command::Resolve).await;
        world.restart();
    }
}

#[tokio::test]
async fn deliveries_retry_with_backoff_and_end_in_a_visible_failure() {
    let world = World::new("2026-03-02T08:00:00Z", &["ana", "ben"]).await;
    world
        .policy(
            0,
            json!([{"timeout_minutes": 60, "targets": [{"type": "user", "id": world.user("ana")}]},
                   {"timeout_minutes": 60, "targets": [{"type": "user", "id": world.user("ben")}]}]),
        )
        .await;
    world.recorder.script([
        Err(SendError::Transient("HTTP 503".into())),
        Err(SendError::Transient("connection refused".into())),
    ]);
    let incident = world.trigger().await;
    assert!(world.recorder.sent().is_empty(), "two failures so far");
    // Backoff is at most 2 s, then 4 s (full jitter): ten seconds later the third attempt is done.
    world.advance(SignedDuration::from_secs(3)).await;
    world.advance(SignedDuration::from_secs(7)).await;
    assert_eq!(world.recorder.sent().len(), 1);
    let notifications = world.store.incident_notifications(incident).await.unwrap();
    assert_eq!((notifications[0].status.as_str(), notifications[0].attempts), ("delivered", 3));
    let outcomes: Vec<String> = world
        .store
        .timeline(incident)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.event {
            TimelineEvent::Notified { attempt, outcome, .. } => Some(format!("{attempt}:{outcome}")),
            _ => None,
        })
        .collect();
    assert_eq!(outcomes, ["1:retrying", "2:retrying", "3:delivered"]);

    // Level 2 fails permanently: no retry, and the failure is on the page list and the timeline.
    world.recorder.script([Err(SendError::Permanent("HTTP 410".into()))]);
    world.advance(minutes(60)).await;
    let notifications = world.store.incident_notifications(incident).await.unwrap();
    let ben = &notifications[1];
    assert_eq!(
        (ben.status.as_str(), ben.attempts, ben.last_error.as_deref()),
        ("failed", 1, Some("HTTP 410"))
    );
    world.advance(minutes(10)).await;
    assert_eq!(world.store.incident_notifications(incident).await.unwrap()[1].attempts, 1);
}

#[tokio::test]
async fn a_transient_failure_that_never_ends_fails_after_the_last_attempt() {
    let world = World::new("2026-03-02T08:00:00Z", &["ana"]).await;
    world
        .policy(0, json!([{"timeout_minutes": 60, "targets": [{"type": "user", "id": world.user("ana")}]}]))
        .await;
    world
        .recorder
        .script((0..firebreak_notify::ATTEMPTS_MAX).map(|_| Err(SendError::Transient("HTTP 503".into()))));
    let incident = world.trigger().await;
    for _ in 0..20 {
        world.advance(minutes(5)).await;
    }
    let notifications = world.store.incident_notifications(incident).await.unwrap();
    assert_eq!(
        (notifications[0].status.as_str(), notifications[0].attempts),
        ("failed", firebreak_notify::ATTEMPTS_MAX)
    );
    assert!(world.recorder.sent().is_empty());
}

#[tokio::test]
async fn a_team_target_pages_every_member_once() {
    let world = World::new("2026-06-01T00:00:00Z", &["ana", "ben", "cy"]).await;
    let now = world.clock.now();
    let oncall = NewTeam { name: "db-oncall".into(), description: String::new() };
    let team = write(&world.store, async |tx| tx.create_team(&oncall, now).await).await.unwrap();
    let empty = NewTeam { name: "nobody".into(), description: String::new() };
    let empty = write(&world.store, async |tx| tx.create_team(&empty, now).await).await.unwrap();
    for name in ["ana", "ben"] {
        write(&world.store, async |tx| tx.add_team_member(team.id, world.user(name), "responder", now).await)
            .await
            .unwrap();
    }
    // Level 1: the team, and ana directly too (paged once). Level 2: a team without members.
    world
        .policy(
            0,
            json!([
                {"timeout_minutes": 10, "targets": [{"type": "team", "id": team.id}, {"type": "user", "id": world.user("ana")}]},
                {"timeout_minutes": 10, "targets": [{"type": "team", "id": empty.id}]},
            ]),
        )
        .await;
    let origin = world.clock.now();
    let incident = world.trigger().await;
    let mut paged = world.take(origin);
    paged.sort();
    assert_eq!(paged, [(0, "ana".to_owned(), 1), (0, "ben".to_owned(), 1)]);
    world.advance(minutes(10)).await;
    assert_eq!(world.take(origin), []);
    let timeline = world.store.timeline(incident).await.unwrap();
    assert!(
        timeline.iter().any(|e| matches!(&e.event,
            TimelineEvent::Unreachable { level: 2, reason } if reason == "team nobody has no members")),
        "{timeline:?}"
    );
}

/// Delivers each page through the recording, then dies, as a replica killed after the receiver
/// answered and before the outcome was recorded.
struct DiesAfterSending(Recording);

impl firebreak_app::paging::Transport for DiesAfterSending {
    fn send<'a>(
        &'a self,
        channel: firebreak_notify::Channel,
        address: &'a str,
        secret: Option<&'a str>,
        page: &'a firebreak_notify::Page,
        now: Timestamp,
    ) -> firebreak_app::paging::Sending<'a> {
        let sending = self.0.send(channel, address, secret, page, now);
        Box::pin(async move {
            let _ = sending.await;
            panic!("killed after the receiver answered");
        })
    }
}

/// The outcomes on the incident's timeline, as `attempt:outcome detail`.
async fn outcomes(world: &World, incident: i64) -> Vec<String> {
    let timeline = world.store.timeline(incident).await.unwrap();
    timeline
        .into_iter()
        .filter_map(|e| match e.event {
            TimelineEvent::Notified { attempt, outcome, detail, .. } => {
                Some(format!("{attempt}:{outcome} {detail}"))
            }
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_page_cut_short_and_then_no_longer_needed_reads_unknown_not_failed() {
    let world = World::new("2026-03-02T08:00:00Z", &["ana"]).await;
    world
        .policy(0, json!([{"timeout_minutes": 60, "targets": [{"type": "user", "id": world.user("ana")}]}]))
        .await;
    let new = NewIncident {
        title: "payments failing".into(),
        service_id: world.service,
        severity: Severity::Sev1,
        kind: Kind::Signal,
    };
    let incident = write(&world.store, async |tx| tx.create_incident(&new, "test", world.clock.now()).await)
        .await
        .unwrap()
        .id;
    let links = Links::new(vec![1; 32], "https://firebreak.example");
    let dying = Arc::new(Pager::new(
        world.store.clone(),
        world.clock.clone(),
        Arc::new(DiesAfterSending(world.recorder.clone())),
        links,
        "https://firebreak.example",
    ));
    let died = tokio::spawn(async move { dying.run_until_idle().await }).await;
    assert!(died.unwrap_err().is_panic());
    assert_eq!(world.recorder.take().len(), 1, "the receiver got the page");
    assert_eq!(world.store.incident_notifications(incident).await.unwrap()[0].status, "sending");

    // Acknowledged meanwhile; another replica takes the claim when it expires and does not page
    // again, but cannot say the page failed: it may well have arrived.
    world.command(incident, Command::Acknowledge).await;
    world.advance(minutes(2)).await;
    assert!(world.recorder.take().is_empty());
    let notification = &world.store.incident_notifications(incident).await.unwrap()[0];
    assert_eq!((notification.status.as_str(), notification.attempts), ("unknown", 2));
    assert_eq!(
        outcomes(&world, incident).await,
        [
            "2:unknown an earlier attempt was interrupted before its outcome was recorded, and not sent again: \
          the incident is acknowledged"
        ]
    );
}

#[tokio::test]
async fn a_retry_no_longer_needed_is_withdrawn_not_failed() {
    let world = World::new("2026-03-02T08:00:00Z", &["ana"]).await;
    world
        .policy(0, json!([{"timeout_minutes": 60, "targets": [{"type": "user", "id": world.user("ana")}]}]))
        .await;
    world.recorder.script([Err(SendError::Transient("HTTP 503".into()))]);
    let incident = world.trigger().await;
    world.command(incident, Command::Acknowledge).await;
    world.advance(minutes(1)).await;
    assert!(world.recorder.take().is_empty());
    let notification = &world.store.incident_notifications(incident).await.unwrap()[0];
    assert_eq!((notification.status.as_str(), notification.attempts), ("withdrawn", 2));
    assert_eq!(
        outcomes(&world, incident).await,
        ["1:retrying HTTP 503", "2:withdrawn not sent: the incident is acknowledged"]
    );
}

/// Delivers each page through the recording after two seconds of real time, as a slow receiver.
struct Slow(Recording);

impl firebreak_app::paging::Transport for Slow {
    fn send<'a>(
        &'a self,
        channel: firebreak_notify::Channel,
        address: &'a str,
        secret: Option<&'a str>,
        page: &'a firebreak_notify::Page,
        now: Timestamp,
    ) -> firebreak_app::paging::Sending<'a> {
        Box::pin(async move {
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            self.0.send(channel, address, secret, page, now).await
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_receiver_on_a_sped_up_clock_is_paged_once() {
    let world = World::new("2026-03-02T08:00:00Z", &["ana"]).await;
    world
        .policy(0, json!([{"timeout_minutes": 600, "targets": [{"type": "user", "id": world.user("ana")}]}]))
        .await;
    // Sixty times faster than the wall clock: the attempt's two real seconds are two minutes here,
    // longer than the lease in the clock's own time would be.
    let clock: Arc<dyn Clock> = Arc::new(firebreak_app::ScaledClock::new(Timestamp::now(), 60.0));
    let transport = Arc::new(Slow(world.recorder.clone()));
    let replica = || {
        let links = Links::new(vec![1; 32], "https://firebreak.example");
        Arc::new(Pager::new(
            world.store.clone(),
            clock.clone(),
            transport.clone(),
            links,
            "https://firebreak.example",
        ))
    };
    let new = NewIncident {
        title: "payments failing".into(),
        service_id: world.service,
        severity: Severity::Sev1,
        kind: Kind::Signal,
    };
    write(&world.store, async |tx| tx.create_incident(&new, "test", clock.now()).await).await.unwrap();
    let first = replica();
    let sending = tokio::spawn(async move { first.run_until_idle().await });
    // The first replica claims the page and is sending it; the second keeps looking for work.
    while world.recorder.sent().is_empty()
        && world.store.incident_notifications(1).await.unwrap().first().is_none_or(|n| n.status != "sending")
    {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let second = replica();
    let until = std::time::Instant::now() + std::time::Duration::from_secs(3);
    while std::time::Instant::now() < until {
        second.run_until_idle().await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    sending.await.unwrap().unwrap();
    assert_eq!(world.recorder.sent().len(), 1, "{:?}", world.recorder.sent());
}

/// A person's notification rules: "webhook at once, Slack after 2 minutes, email after 5" pages in
/// that order on a manual clock; an acknowledgement stops what has not been sent yet; a
/// low-urgency page by day waits for the morning in the person's time zone.
async fn notification_rules_in_order(world: &mut World) {
    let ana = world.user("ana");
    let now = world.clock.now();
    let slack = write(&world.store, async |tx| {
        tx.create_contact_method(ana, "slack", "https://hooks.slack.example/T/B/X", None, now).await
    })
    .await
    .unwrap();
    let email = write(&world.store, async |tx| {
        tx.create_contact_method(ana, "email", "ana@example.com", None, now).await
    })
    .await
    .unwrap();
    let webhook = world.store.contact_methods(ana).await.unwrap()[0].id;
    for (method, urgency, delay, hours) in [
        (email.id, Urgency::High, 5, Hours::Any),
        (webhook, Urgency::High, 0, Hours::Any),
        (slack.id, Urgency::High, 2, Hours::Any),
        (email.id, Urgency::Low, 0, Hours::Day),
    ] {
        write(&world.store, async |tx| {
            tx.create_notification_rule(ana, method, urgency, delay, hours, now).await
        })
        .await
        .unwrap();
    }
    world.policy(0, json!([{"timeout_minutes": 30, "targets": [{"type": "user", "id": ana}]}])).await;
    let origin = world.clock.now();
    let channels = |world: &World| -> Vec<(i64, String)> {
        pages(world.recorder.take())
            .into_iter()
            .map(|s| (s.at.duration_since(origin).as_secs() / 60, s.channel.as_str().to_owned()))
            .collect()
    };

    // SEV1 at 03:00: each channel at its minute, checked minute by minute, the driver restarted
    // before every move.
    let incident = world.trigger().await;
    let mut seen = channels(world);
    for _ in 0..6 {
        world.restart();
        world.advance(minutes(1)).await;
        seen.extend(channels(world));
    }
    assert_eq!(seen, [(0, "webhook".to_owned()), (2, "slack".to_owned()), (5, "email".to_owned())]);
    world.command(incident, Command::Resolve).await;

    // Acknowledged after 3 minutes: the email due at 5 is withdrawn, not sent.
    let origin2 = world.clock.now();
    let second = world.trigger().await;
    world.advance(minutes(2)).await;
    world.advance(minutes(1)).await;
    world.command(second, Command::Acknowledge).await;
    world.advance(minutes(10)).await;
    let sent: Vec<(i64, String)> = pages(world.recorder.take())
        .into_iter()
        .map(|s| (s.at.duration_since(origin2).as_secs() / 60, s.channel.as_str().to_owned()))
        .collect();
    assert_eq!(sent, [(0, "webhook".to_owned()), (2, "slack".to_owned())]);
    let statuses: Vec<(String, String)> = world
        .store
        .incident_notifications(second)
        .await
        .unwrap()
        .into_iter()
        .map(|n| (n.channel, n.status))
        .collect();
    assert!(statuses.contains(&("email".to_owned(), "withdrawn".to_owned())), "{statuses:?}");
    world.command(second, Command::Resolve).await;

    // A SEV4 at night: only the low-urgency email, at 08:00 UTC (ana's time zone).
    let low = NewIncident {
        title: "disk 80%".into(),
        service_id: world.service,
        severity: Severity::Sev4,
        kind: Kind::Signal,
    };
    write(&world.store, async |tx| tx.create_incident(&low, "test", world.clock.now()).await).await.unwrap();
    world.run().await;
    assert_eq!(pages(world.recorder.take()), []);
    let morning: Timestamp = "2026-03-02T08:00:00Z".parse().unwrap();
    world.advance(world.clock.now().duration_until(morning)).await;
    let sent = pages(world.recorder.take());
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!((sent[0].channel.as_str(), sent[0].at), ("email", morning));
}

#[tokio::test]
async fn notification_rules_page_in_the_configured_order_on_sqlite() {
    let mut world = World::new("2026-03-02T03:00:00Z", &["ana"]).await;
    notification_rules_in_order(&mut world).await;
}

#[tokio::test]
async fn notification_rules_page_in_the_configured_order_on_postgres() {
    let Some(mut world) = World::postgres("notification_rules", "2026-03-02T03:00:00Z", &["ana"]).await
    else {
        return;
    };
    notification_rules_in_order(&mut world).await;
}

/// A snoozed acknowledgement runs out: the incident is triggered again and pages from the first
/// level, once; resolving it before then cancels the snooze.
#[tokio::test]
async fn a_snooze_that_runs_out_pages_again_from_the_first_level() {
    let mut world = World::new("2026-03-02T10:00:00Z", &["ana", "ben"]).await;
    world
        .policy(
            0,
            json!([
                {"timeout_minutes": 10, "targets": [{"type": "user", "id": world.user("ana")}]},
                {"timeout_minutes": 10, "targets": [{"type": "user", "id": world.user("ben")}]},
            ]),
        )
        .await;
    let origin = world.clock.now();
    let incident = world.trigger().await;
    assert_eq!(world.take(origin), [(0, "ana".to_owned(), 1)]);
    world.advance(minutes(2)).await;
    world.command(incident, Command::Acknowledge).await;
    let until = world.clock.now() + 30.minutes();
    world.command(incident, Command::Snooze { until }).await;
    world.advance(minutes(29)).await;
    assert_eq!(world.take(origin), [], "still snoozed");
    world.restart();
    world.advance(minutes(1)).await;
    assert_eq!(
        world.take(origin),
        [(32, "ana".to_owned(), 1)],
        "the first level again, at the end of the snooze"
    );
    let incident_now = world.store.incident(incident).await.unwrap();
    assert_eq!((incident_now.status.as_str(), incident_now.snoozed_until), ("triggered", None));
    world.advance(minutes(10)).await;
    assert_eq!(world.take(origin), [(42, "ben".to_owned(), 2)], "and escalates as before");

    // Snoozed, then resolved: nothing more.
    world.command(incident, Command::Acknowledge).await;
    let until = world.clock.now() + 5.minutes();
    world.command(incident, Command::Snooze { until }).await;
    world.command(incident, Command::Resolve).await;
    world.advance(minutes(60)).await;
    assert_eq!(world.take(origin), []);
    let timeline = world.store.timeline(incident).await.unwrap();
    assert_eq!(timeline.iter().filter(|e| matches!(e.event, TimelineEvent::Snoozed { .. })).count(), 2);
}

/// Whoever a page reached hears what became of the incident, on the same contact methods, once per
/// change, except whoever made the change; an acknowledgement through the person's own link tells
/// the others, not them.
#[tokio::test]
async fn people_paged_hear_when_someone_else_acknowledges_or_resolves() {
    let world = World::new("2026-03-02T10:00:00Z", &["ana", "ben"]).await;
    world
        .policy(
            0,
            json!([
                {"timeout_minutes": 10, "targets": [{"type": "user", "id": world.user("ana")}]},
                {"timeout_minutes": 10, "targets": [{"type": "user", "id": world.user("ben")}]},
            ]),
        )
        .await;
    let incident = world.trigger().await;
    world.advance(minutes(10)).await;
    assert_eq!(world.recorder.take().len(), 2, "ana, then ben");
    // Ben acknowledges: ana hears it, ben does not.
    write(&world.store, async |tx| {
        tx.update_incident(incident, &Command::Acknowledge, "ben", world.clock.now()).await
    })
    .await
    .unwrap();
    world.run().await;
    let sent = world.recorder.take();
    let heard: Vec<(&str, &str)> = sent.iter().map(|s| (s.recipient.as_str(), s.title.as_str())).collect();
    assert_eq!(heard, [("ana", "Acknowledged by ben: payments failing")]);
    // Resolved by someone else: both hear it.
    world.command(incident, Command::Resolve).await;
    let mut heard: Vec<(String, String)> =
        world.recorder.take().into_iter().map(|s| (s.recipient, s.title)).collect();
    heard.sort();
    assert_eq!(
        heard,
        [
            ("ana".to_owned(), "Resolved by test: payments failing".to_owned()),
            ("ben".to_owned(), "Resolved by test: payments failing".to_owned()),
        ]
    );
    world.advance(minutes(30)).await;
    assert_eq!(world.recorder.take(), [], "once each");
}
