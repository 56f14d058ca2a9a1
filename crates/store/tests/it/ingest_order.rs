//! A batch of alert events is applied as if its events were applied one at a time, in the order
//! they were accepted: whatever way a stream of events is cut into batches, the alerts and
//! incidents come out the same. On both backends.

use std::collections::{BTreeMap, HashMap};

use firebreak_domain::{
    AlertAction, AlertEvent, AlertSettings, GroupBy, GroupingRule, Id, Kind, Matcher, Severity, TimelineEvent,
};
use firebreak_store::{IncidentFilter, IngestItem, NewService, NewSilence, NewTeam, Store};
use jiff::Timestamp;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

use crate::{at, write};

/// One event of a generated stream.
#[derive(Clone, Debug)]
struct Step {
    /// Which of the case's two services.
    service: usize,
    action: AlertAction,
    key: u8,
    /// The value of the `group` label.
    group: u8,
    severity: Severity,
    /// Carries `muted=yes`, which a silence matches.
    muted: bool,
    /// Which of two descriptions a trigger carries.
    wording: u8,
}

#[derive(Clone, Debug)]
struct Case {
    /// Per service: grouping by the `group` label (else one open incident per service), and
    /// whether incidents resolve when all their alerts have.
    settings: [(bool, bool); 2],
    steps: Vec<Step>,
    /// After which steps a batch ends (the last step always ends one).
    cuts: Vec<bool>,
}

fn step() -> impl Strategy<Value = Step> {
    let action = prop_oneof![
        3 => Just(AlertAction::Trigger),
        1 => Just(AlertAction::Acknowledge),
        2 => Just(AlertAction::Resolve),
    ];
    let severity =
        prop_oneof![Just(Severity::Sev1), Just(Severity::Sev2), Just(Severity::Sev3), Just(Severity::Sev4)];
    (0..2usize, action, 0..4u8, 0..2u8, severity, proptest::bool::weighted(0.15), 0..2u8).prop_map(
        |(service, action, key, group, severity, muted, wording)| Step {
            service,
            action,
            key,
            group,
            severity,
            muted,
            wording,
        },
    )
}

fn case() -> impl Strategy<Value = Case> {
    let settings =
        [(any::<bool>(), proptest::bool::weighted(0.8)), (any::<bool>(), proptest::bool::weighted(0.8))];
    (settings, proptest::collection::vec(step(), 1..40)).prop_flat_map(|(settings, steps)| {
        let len = steps.len();
        (Just(settings), Just(steps), proptest::collection::vec(proptest::bool::weighted(0.3), len))
            .prop_map(|(settings, steps, cuts)| Case { settings, steps, cuts })
    })
}

fn event(step: &Step) -> AlertEvent {
    let key = format!("k{}", step.key);
    let mut labels = BTreeMap::from([("group".to_owned(), format!("g{}", step.group))]);
    if step.muted {
        labels.insert("muted".to_owned(), "yes".to_owned());
    }
    let trigger = step.action == AlertAction::Trigger;
    AlertEvent {
        action: step.action,
        summary: if trigger { format!("{key} failing ({})", step.wording) } else { String::new() },
        dedup_key: Some(key),
        source: "db-1".to_owned(),
        severity: step.severity,
        kind: Kind::Signal,
        occurred_at: None,
        labels: if trigger { labels } else { BTreeMap::new() },
        details: format!("{{\"wording\":{}}}", step.wording),
        links: Vec::new(),
    }
}

/// Two services set up as `case` says, named after `side`.
async fn services(store: &Store, team: Id, case: &Case, side: &str) -> [Id; 2] {
    let mut ids = [0; 2];
    for (index, (by_group, auto_resolve)) in case.settings.iter().enumerate() {
        let name = format!("{side}-{index}");
        let (service, _) = write(store, async |tx| {
            let (service, key) =
                tx.create_service(&NewService { name, team_id: team, ..Default::default() }, at(0)).await?;
            let settings = AlertSettings {
                grouping: GroupingRule {
                    by: if *by_group { vec![GroupBy::Label("group".to_owned())] } else { Vec::new() },
                    window: None,
                },
                auto_resolve: *auto_resolve,
            };
            tx.set_alert_settings(service.id, &settings).await?;
            Ok((service, key))
        })
        .await
        .unwrap();
        ids[index] = service.id;
    }
    ids
}

/// What `services` hold, with incidents named by their order of creation among them.
async fn outcome(store: &Store, services: [Id; 2]) -> Vec<String> {
    let mut incidents = Vec::new();
    for (index, service) in services.iter().enumerate() {
        let filter = IncidentFilter { service_id: Some(*service), ..Default::default() };
        for incident in store.list_incidents(&filter).await.unwrap() {
            incidents.push((incident.id, index, incident));
        }
    }
    incidents.sort_by_key(|(id, ..)| *id);
    let ordinal: HashMap<Id, usize> = incidents.iter().enumerate().map(|(n, (id, ..))| (*id, n)).collect();
    let mut out = Vec::new();
    for (n, (id, service, incident)) in incidents.iter().enumerate() {
        let timeline: Vec<String> = store
            .timeline(*id)
            .await
            .unwrap()
            .into_iter()
            .map(|entry| match entry.event {
                // The alert's id differs between the two sides.
                TimelineEvent::Alert { action, dedup_key, summary, .. } => {
                    format!("alert {} {dedup_key} {summary:?}", action.as_str())
                }
                other => format!("{other:?}"),
            })
            .collect();
        out.push(format!(
            "incident {n} of service {service}: {:?} {} {} timeline {timeline:?}",
            incident.title, incident.severity, incident.status
        ));
    }
    for (index, service) in services.iter().enumerate() {
        let mut alerts = store.service_alerts(*service, 1000).await.unwrap();
        alerts.sort_by(|a, b| a.dedup_key.cmp(&b.dedup_key));
        for alert in alerts {
            out.push(format!(
                "alert {} of service {index}: {} x{} {:?} {} {:?} {} silenced {} incident {:?} resolved {}",
                alert.dedup_key,
                alert.status.as_str(),
                alert.event_count,
                alert.summary,
                alert.severity,
                alert.labels,
                alert.details,
                alert.silence_id.is_some(),
                alert.incident_id.map(|id| ordinal[&id]),
                alert.resolved_at.is_some(),
            ));
        }
    }
    out
}

async fn check(store: &Store, team: Id, number: usize, case: &Case) -> Result<(), TestCaseError> {
    let now = at(10 + number as i64);
    let one_by_one = services(store, team, case, &format!("case{number}-one")).await;
    let batched = services(store, team, case, &format!("case{number}-batched")).await;
    for step in &case.steps {
        let item = IngestItem { service_id: one_by_one[step.service], event: event(step) };
        store.ingest(&[item], now).await.unwrap();
    }
    let mut batch = Vec::new();
    for (step, cut) in case.steps.iter().zip(&case.cuts) {
        batch.push(IngestItem { service_id: batched[step.service], event: event(step) });
        if *cut {
            store.ingest(&std::mem::take(&mut batch), now).await.unwrap();
        }
    }
    if !batch.is_empty() {
        store.ingest(&batch, now).await.unwrap();
    }
    let expected = outcome(store, one_by_one).await;
    let got = outcome(store, batched).await;
    prop_assert_eq!(got, expected);
    Ok(())
}

async fn store_with_a_silence(store: &Store) -> Id {
    let team = write(store, async |tx| {
        tx.create_team(&NewTeam { name: "payments".into(), description: String::new() }, at(0)).await
    })
    .await
    .unwrap();
    let silence = NewSilence {
        service_id: None,
        matchers: vec![Matcher::parse("muted=yes").unwrap()],
        starts_at: at(0),
        ends_at: Timestamp::from_second(4_000_000_000).unwrap(),
        comment: "maintenance".into(),
    };
    write(store, async |tx| tx.create_silence(&silence, "ana", at(0)).await).await.unwrap();
    team.id
}

/// Runs generated cases against `store` (a runtime of its own drives the store's futures).
fn run_cases(store: Store, runtime: &tokio::runtime::Runtime, cases: u32) {
    let team = runtime.block_on(store_with_a_silence(&store));
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    let number = std::cell::Cell::new(0);
    let result = runner.run(&case(), |case| {
        number.set(number.get() + 1);
        runtime.block_on(check(&store, team, number.get(), &case))
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

#[test]
fn batches_apply_events_as_if_one_at_a_time() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sqlite = runtime.block_on(firebreak_store::testing::fresh_sqlite(dir.path())).unwrap();
    run_cases(sqlite, &runtime, 96);
    let postgres = runtime
        .block_on(firebreak_store::testing::fresh_postgres("batches_apply_events_as_if_one_at_a_time"));
    if let Some(postgres) = postgres.unwrap() {
        run_cases(postgres, &runtime, 48);
    }
}
