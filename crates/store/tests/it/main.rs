//! The storage conformance suite: every behaviour runs against SQLite and, when
//! `FIREBREAK_TEST_DATABASE_URL` is set, against PostgreSQL, each time on a fresh database.

mod feeds;
mod golden;
mod heartbeats;
mod ingest;
mod ingest_order;
mod journal;
mod oncall;
mod outcomes;
mod paging;

use std::future::Future;

use firebreak_domain::{AssignRole, Command, Kind, Link, NewIncident, Severity, Status, TimelineEvent};
use firebreak_store::{
    IncidentFilter, NewService, NewTeam, NewUser, ServicePatch, Store, StoreError, Tx, testing,
};
use jiff::Timestamp;

/// Runs `behaviour` on a fresh SQLite store and, if configured, a fresh PostgreSQL store.
pub(crate) async fn on_both<F, Fut>(test: &str, behaviour: F)
where
    F: Fn(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    let sqlite = testing::fresh_sqlite(dir.path()).await.unwrap();
    behaviour(sqlite.clone()).await;
    sqlite.close().await;
    if let Some(postgres) = testing::fresh_postgres(test).await.unwrap() {
        behaviour(postgres.clone()).await;
        postgres.close().await;
    }
}

/// Runs `change` in a transaction of its own, committed when it succeeds.
pub(crate) async fn write<T>(
    store: &Store,
    change: impl AsyncFnOnce(&mut Tx) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let mut tx = store.begin().await?;
    let done = change(&mut tx).await?;
    tx.commit().await?;
    Ok(done)
}

/// A schedule in `zone` with no layers and no overrides.
pub(crate) fn empty_schedule(zone: &str) -> firebreak_domain::Schedule {
    firebreak_domain::Schedule::new(jiff::tz::TimeZone::get(zone).unwrap(), vec![], vec![]).unwrap()
}

/// A policy of one level that pages user `user` and waits five minutes.
pub(crate) fn one_level_policy(user: i64) -> firebreak_engine::Policy {
    let level = firebreak_engine::Level {
        timeout: jiff::SignedDuration::from_mins(5),
        targets: vec![firebreak_engine::Target::User(user)],
        wakes_management: false,
    };
    firebreak_engine::Policy::parse(vec![level], 0).unwrap()
}

pub(crate) fn at(second: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + second).unwrap()
}

pub(crate) async fn team_and_service(store: &Store) -> (i64, i64) {
    let team = write(store, async |tx| {
        tx.create_team(&NewTeam { name: "payments".into(), description: String::new() }, at(0)).await
    })
    .await
    .unwrap();
    let (service, _) = write(store, async |tx| {
        tx.create_service(
            &NewService {
                name: "checkout".into(),
                team_id: team.id,
                description: "takes money".into(),
                ..Default::default()
            },
            at(0),
        )
        .await
    })
    .await
    .unwrap();
    (team.id, service.id)
}

fn declare(service_id: i64, title: &str, severity: Severity) -> NewIncident {
    NewIncident { title: title.into(), service_id, severity, kind: Kind::Unknown }
}

#[tokio::test]
async fn migrations_are_idempotent() {
    on_both("migrations_are_idempotent", |store| async move {
        assert_eq!(store.migrate().await.unwrap(), Vec::<&str>::new());
        store.ping().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn catalog_round_trip() {
    on_both("catalog_round_trip", |store| async move {
        let (team_id, checkout) = team_and_service(&store).await;
        let (db, key) = write(&store, async |tx| {
            tx.create_service(
                &NewService {
                    name: "ledger-db".into(),
                    team_id,
                    description: "the ledger".into(),
                    documentation: "# Ledger\nPostgreSQL 16".into(),
                    runbook: "1. check disk".into(),
                    links: vec![Link { title: "dashboard".into(), url: "https://grafana/d/1".into() }],
                    dependencies: vec![],
                },
                at(1),
            )
            .await
        })
        .await
        .unwrap();
        assert!(key.starts_with("fbk_"));
        assert_eq!(store.service_id_by_integration_key(&key).await.unwrap(), Some(db.id));
        assert_eq!(store.service_id_by_integration_key("fbk_wrong").await.unwrap(), None);
        assert_eq!(db.links[0].url, "https://grafana/d/1");

        let updated = write(&store, async |tx| {
            tx.update_service(
                checkout,
                &ServicePatch { dependencies: Some(vec![db.id]), ..Default::default() },
            )
            .await
        })
        .await
        .unwrap();
        assert_eq!(updated.dependencies, vec![db.id]);
        assert_eq!(updated.description, "takes money");
        let names: Vec<String> = store.services().await.unwrap().into_iter().map(|s| s.name).collect();
        assert_eq!(names, ["checkout", "ledger-db"]);

        let err = write(&store, async |tx| {
            tx.create_service(&NewService { name: "checkout".into(), team_id, ..Default::default() }, at(2))
                .await
        })
        .await
        .unwrap_err();
        assert!(
            matches!(&err, StoreError::Conflict(m) if m == "a service named \"checkout\" already exists"),
            "{err}"
        );
        let err = write(&store, async |tx| {
            tx.create_service(
                &NewService { name: "orphan".into(), team_id: 999, ..Default::default() },
                at(2),
            )
            .await
        })
        .await
        .unwrap_err();
        assert!(matches!(&err, StoreError::NotFound(m) if m == "there is no team 999"), "{err}");
        let err = write(&store, async |tx| {
            tx.update_service(
                checkout,
                &ServicePatch { dependencies: Some(vec![checkout]), ..Default::default() },
            )
            .await
        })
        .await
        .unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{err}");
        assert_eq!(
            store.service(checkout).await.unwrap().dependencies,
            vec![db.id],
            "a failed update changes nothing"
        );

        let user = write(&store, async |tx| {
            tx.create_user(
                &NewUser {
                    name: "Ana".into(),
                    email: "ana@example.com".into(),
                    time_zone: "Europe/Lisbon".into(),
                },
                at(3),
            )
            .await
        })
        .await
        .unwrap();
        assert_eq!(store.user(user.id).await.unwrap().time_zone, "Europe/Lisbon");
        assert_eq!(store.user_id_by_name("Ana").await.unwrap(), Some(user.id));
        assert_eq!(store.team_id_by_name("payments").await.unwrap(), Some(team_id));
    })
    .await;
}

#[tokio::test]
async fn incident_lifecycle() {
    on_both("incident_lifecycle", |store| async move {
        let (_, service_id) = team_and_service(&store).await;
        let incident = write(&store, async |tx| {
            tx.create_incident(&declare(service_id, "card payments fail", Severity::Sev1), "ana", at(10))
                .await
        })
        .await
        .unwrap();
        assert_eq!(incident.status, Status::Triggered);
        assert_eq!(incident.created_at, at(10));

        let (incident, entry) = write(&store, async |tx| {
            tx.update_incident(incident.id, &Command::Acknowledge, "ana", at(20)).await
        })
        .await
        .unwrap();
        assert_eq!(incident.acknowledged_at, Some(at(20)));
        assert_eq!(
            entry.event,
            TimelineEvent::StatusChanged { from: Status::Triggered, to: Status::Acknowledged }
        );

        let err = write(&store, async |tx| {
            tx.update_incident(incident.id, &Command::Acknowledge, "ana", at(21)).await
        })
        .await
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot acknowledge an incident that is acknowledged; it is already acknowledged"
        );

        write(&store, async |tx| {
            tx.update_incident(incident.id, &Command::AddNote("rolled back 1.4.2".into()), "bo", at(30)).await
        })
        .await
        .unwrap();
        write(&store, async |tx| {
            tx.update_incident(incident.id, &Command::SetSeverity(Severity::Sev2), "bo", at(31)).await
        })
        .await
        .unwrap();
        let user = write(&store, async |tx| {
            tx.create_user(
                &NewUser { name: "Bo".into(), email: "bo@example.com".into(), time_zone: "UTC".into() },
                at(0),
            )
            .await
        })
        .await
        .unwrap();
        let assign = Command::Assign { role: AssignRole::Commander, user_id: Some(user.id) };
        write(&store, async |tx| tx.update_incident(incident.id, &assign, "bo", at(32)).await).await.unwrap();
        let missing = Command::Assign { role: AssignRole::Assignee, user_id: Some(999) };
        let err = write(&store, async |tx| tx.update_incident(incident.id, &missing, "bo", at(32)).await)
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "there is no user 999");
        write(&store, async |tx| tx.update_incident(incident.id, &Command::Mitigate, "bo", at(40)).await)
            .await
            .unwrap();
        let (incident, _) =
            write(&store, async |tx| tx.update_incident(incident.id, &Command::Resolve, "bo", at(50)).await)
                .await
                .unwrap();

        let stored = store.incident(incident.id).await.unwrap();
        assert_eq!(stored, incident);
        assert_eq!(stored.severity, Severity::Sev2);
        assert_eq!(stored.commander_id, Some(user.id));
        assert_eq!(stored.resolved_at, Some(at(50)));

        let timeline: Vec<String> = store
            .timeline(incident.id)
            .await
            .unwrap()
            .iter()
            .map(|entry| {
                format!("{} {} {:?}", entry.at.as_second() - at(0).as_second(), entry.actor, entry.event)
            })
            .collect();
        assert_eq!(
            timeline,
            [
                "10 ana Declared { title: \"card payments fail\", severity: Sev1 }",
                "20 ana StatusChanged { from: Triggered, to: Acknowledged }",
                "30 bo Note { text: \"rolled back 1.4.2\" }",
                "31 bo SeverityChanged { from: Sev1, to: Sev2 }",
                &format!("32 bo Assigned {{ role: Commander, user_id: Some({}) }}", user.id),
                "40 bo StatusChanged { from: Acknowledged, to: Mitigated }",
                "50 bo StatusChanged { from: Mitigated, to: Resolved }",
            ]
        );
        let err = write(&store, async |tx| tx.update_incident(12345, &Command::Resolve, "bo", at(60)).await)
            .await
            .unwrap_err();
        assert!(matches!(&err, StoreError::NotFound(m) if m == "there is no incident 12345"), "{err}");
        let err = write(&store, async |tx| {
            tx.create_incident(&declare(999, "x", Severity::Sev1), "bo", at(60)).await
        })
        .await
        .unwrap_err();
        assert!(matches!(&err, StoreError::NotFound(m) if m == "there is no service 999"), "{err}");
    })
    .await;
}

#[tokio::test]
async fn incident_filters_and_pages() {
    on_both("incident_filters_and_pages", |store| async move {
        let (team_id, checkout) = team_and_service(&store).await;
        let (search, _) = write(&store, async |tx| {
            tx.create_service(
                &NewService {
                    name: "search".into(),
                    team_id,
                    description: "finds".into(),
                    ..Default::default()
                },
                at(0),
            )
            .await
        })
        .await
        .unwrap();
        for i in 0..7 {
            let (service, severity) =
                if i % 2 == 0 { (checkout, Severity::Sev1) } else { (search.id, Severity::Sev3) };
            let incident = write(&store, async |tx| {
                tx.create_incident(&declare(service, &format!("incident {i}"), severity), "ana", at(i)).await
            })
            .await
            .unwrap();
            if i < 2 {
                write(&store, async |tx| {
                    tx.update_incident(incident.id, &Command::Resolve, "ana", at(100)).await
                })
                .await
                .unwrap();
            }
        }
        let titles = |filter: IncidentFilter| {
            let store = store.clone();
            async move {
                let incidents = store.list_incidents(&filter).await.unwrap();
                incidents
                    .iter()
                    .map(|i| i.title.trim_start_matches("incident ").to_owned())
                    .collect::<Vec<_>>()
                    .join(",")
            }
        };
        assert_eq!(titles(IncidentFilter::default()).await, "6,5,4,3,2,1,0");
        assert_eq!(
            titles(IncidentFilter { statuses: vec![Status::Resolved], ..Default::default() }).await,
            "1,0"
        );
        assert_eq!(
            titles(IncidentFilter {
                statuses: vec![Status::Triggered],
                service_id: Some(search.id),
                ..Default::default()
            })
            .await,
            "5,3"
        );
        assert_eq!(
            titles(IncidentFilter { severities: vec![Severity::Sev1], ..Default::default() }).await,
            "6,4,2,0"
        );
        assert_eq!(
            titles(IncidentFilter {
                team_id: Some(team_id),
                kinds: vec![Kind::Unknown],
                ..Default::default()
            })
            .await,
            "6,5,4,3,2,1,0"
        );
        assert_eq!(titles(IncidentFilter { team_id: Some(team_id + 1), ..Default::default() }).await, "");
        assert_eq!(
            titles(IncidentFilter { since: Some(at(2)), until: Some(at(5)), ..Default::default() }).await,
            "4,3,2"
        );
        let first = store.list_incidents(&IncidentFilter { limit: 3, ..Default::default() }).await.unwrap();
        let next =
            IncidentFilter { limit: 3, before_id: Some(first.last().unwrap().id), ..Default::default() };
        assert_eq!(titles(next).await, "3,2,1");

        let counts = store.incident_counts().await.unwrap();
        assert_eq!(
            counts,
            [
                (Status::Triggered, 5),
                (Status::Acknowledged, 0),
                (Status::Mitigated, 0),
                (Status::Resolved, 2)
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn tokens_are_stored_hashed() {
    on_both("tokens_are_stored_hashed", |store| async move {
        let token = write(&store, async |tx| tx.create_token("ci", at(0)).await).await.unwrap();
        let records = store.token_records().await.unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!((records[0].name.as_str(), records[0].role.as_str()), ("ci", "admin"));
        assert_eq!(records[0].hash, firebreak_store::secret::hash(&token));
        assert!(!records[0].hash.contains(&token[4..]));
    })
    .await;
}

#[tokio::test]
async fn concurrent_updates_apply_once() {
    on_both("concurrent_updates_apply_once", |store| async move {
        let (_, service_id) = team_and_service(&store).await;
        let incident = write(&store, async |tx| {
            tx.create_incident(&declare(service_id, "race", Severity::Sev2), "ana", at(0)).await
        })
        .await
        .unwrap();
        let attempts: Vec<_> = (0..8)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    write(&store, async |tx| {
                        tx.update_incident(incident.id, &Command::Acknowledge, &format!("r{i}"), at(1)).await
                    })
                    .await
                })
            })
            .collect();
        let mut won = 0;
        for attempt in attempts {
            match attempt.await.unwrap() {
                Ok(_) => won += 1,
                Err(StoreError::Refused(_)) => {}
                Err(err) => panic!("unexpected error: {err}"),
            }
        }
        assert_eq!(won, 1, "exactly one acknowledgement wins");
        assert_eq!(store.timeline(incident.id).await.unwrap().len(), 2);
    })
    .await;
}

#[tokio::test]
async fn bad_urls_are_explained() {
    let err = Store::connect("mysql://root@localhost/x").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "unsupported database URL \"mysql://root@localhost/x\"; expected sqlite:PATH or postgres://USER@HOST/DATABASE"
    );
}
