//! The workers stop when the application does, and nothing of theirs is left running.

use firebreak_app::Principal;
use firebreak_app::testing;
use serde_json::json;

use crate::support::{Fixture, STOP_TIMEOUT, body};

fn alive_tasks() -> usize {
    tokio::runtime::Handle::current().metrics().num_alive_tasks()
}

/// Waits until at most `count` tasks are alive, for at most two seconds, and says how many are.
/// The database driver runs short tasks of its own (handing a connection back to its pool waits
/// for the connection's thread), so the count settles rather than drops at once; a worker that was
/// not joined never lets it settle.
async fn alive_tasks_settle_to(count: usize) -> usize {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while alive_tasks() > count && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    alive_tasks()
}

/// With every worker busy (an incident paged, alerts journaled and applied), a shutdown stops them
/// all on their own and joins them: the runtime has no more tasks than before the application
/// started.
#[tokio::test]
async fn shutdown_joins_every_worker() {
    let dir = tempfile::tempdir().unwrap();
    // The database's own pools may keep a task; only what the application starts is counted.
    let store = testing::fresh_sqlite(dir.path()).await.unwrap();
    store.ping().await.unwrap();
    // What the store keeps running: its pools' maintenance tasks, once the connections it handed
    // out are back.
    let before = alive_tasks_settle_to(2).await;
    let fixture = Fixture::over(store).await;
    assert!(alive_tasks() > before, "the workers run");
    let app = &fixture.app;
    app.create_team(&firebreak_app::Principal::system(), body(json!({"name": "payments"}))).await.unwrap();
    let user = app
        .create_user(
            &firebreak_app::Principal::system(),
            body(json!({"name": "ana", "email": "ana@example.com"})),
        )
        .await
        .unwrap();
    let ana = firebreak_api::Ref::Id(user.id);
    app.create_contact_method(
        &firebreak_app::Principal::system(),
        &ana,
        body(json!({"type": "webhook", "address": "https://hooks.example/ana"})),
    )
    .await
    .unwrap();
    let levels = json!([{"timeout_minutes": 5, "targets": [{"type": "user", "id": user.id}]}]);
    let policy = app
        .create_policy(
            &firebreak_app::Principal::system(),
            body(json!({"name": "default", "levels": levels})),
        )
        .await
        .unwrap();
    let (service, _) = app
        .create_service(
            &firebreak_app::Principal::system(),
            body(json!({"name": "checkout", "team": "payments", "description": "pays"})),
        )
        .await
        .unwrap();
    let checkout = firebreak_api::Ref::Id(service.service.id);
    app.update_service(
        &firebreak_app::Principal::system(),
        &checkout,
        body(json!({"escalation_policy": policy.id})),
    )
    .await
    .unwrap();
    app.declare_incident(&Principal::admin("ana"), body(json!({"title": "down", "service": "checkout"})))
        .await
        .unwrap();
    let event = firebreak_ingest::pagerduty::parse(
        json!({"routing_key": "x", "event_action": "trigger", "dedup_key": "disk",
            "payload": {"summary": "disk full", "source": "db-1", "severity": "error"}})
        .to_string()
        .as_bytes(),
    )
    .unwrap()
    .event;
    app.submit_alerts(service.service.id, vec![event]).await.unwrap();
    // The page of the declared incident is delivered by the driver's own task.
    for _ in 0..200 {
        if !fixture.pages.sent().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(!fixture.pages.sent().is_empty(), "the driver paged");

    let cut_short = fixture.app.shutdown(STOP_TIMEOUT).await;
    assert!(cut_short.is_empty(), "workers that did not stop on their own: {cut_short:?}");
    assert_eq!(alive_tasks_settle_to(before).await, before, "a task of the application is still running");
    fixture.app.close().await;
}
