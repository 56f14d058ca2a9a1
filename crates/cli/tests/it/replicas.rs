//! Two `firebreak serve` processes on one PostgreSQL database share the escalations: one is killed
//! with SIGKILL in the middle, and every page of every incident still arrives exactly once.
//!
//! Both run a clock sped up 60 times from the same origin (`FIREBREAK_TIME_SCALE`), so escalation
//! levels one minute apart come a second apart.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

use crate::support::{Api, Receiver, Server, create_token, note};

const INCIDENTS: usize = 8;
/// Three levels, two passes.
const PAGES_PER_INCIDENT: usize = 6;

#[tokio::test]
async fn two_replicas_page_exactly_once_and_a_dead_ones_timers_are_taken_over() {
    let Some(database) = firebreak_store::testing::fresh_postgres_url("two_replicas").await.unwrap() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let token = create_token(dir.path(), &database, "ops");
    let receiver = Receiver::start().await;
    let origin = jiff::Timestamp::now().to_string();
    let envs = [("FIREBREAK_TIME_SCALE", "60"), ("FIREBREAK_TIME_ORIGIN", origin.as_str())];
    let first = Server::start_env(dir.path(), &database, &[], &envs).await;
    let second = Server::start_env(dir.path(), &database, &[], &envs).await;
    let api =
        |server: &Server| Api { http: reqwest::Client::new(), url: server.url.clone(), token: token.clone() };
    let (a, b) = (api(&first), api(&second));

    let (_, team) = a.post("/api/v1/teams", json!({"name": "payments"})).await;
    let mut levels = Vec::new();
    for name in ["ana", "ben", "cy"] {
        let (_, user) =
            a.post("/api/v1/users", json!({"name": name, "email": format!("{name}@example.com")})).await;
        let (status, _) = a
            .post(
                &format!("/api/v1/users/{}/contact-methods", user["id"]),
                json!({"type": "webhook", "address": format!("{}/{name}", receiver.url)}),
            )
            .await;
        assert_eq!(status, 201);
        levels.push(json!({"timeout_minutes": 1, "targets": [{"type": "user", "id": user["id"]}]}));
    }
    let (status, policy) = a
        .post("/api/v1/escalation-policies", json!({"name": "default", "repeat": 1, "levels": levels}))
        .await;
    assert_eq!(status, 201, "{policy}");
    let mut incidents = Vec::new();
    for n in 0..INCIDENTS {
        let (_, service) = a
            .post(
                "/api/v1/services",
                json!({"name": format!("svc-{n}"), "team": team["id"], "description": "x"}),
            )
            .await;
        let patch = json!({"escalation_policy": policy["id"]});
        let (status, _) =
            a.call(Method::PATCH, &format!("/api/v1/services/{}", service["id"]), Some(patch)).await;
        assert_eq!(status, 200);
        // Half the incidents are declared on each replica.
        let replica = if n % 2 == 0 { &a } else { &b };
        let (status, incident) = replica
            .post("/api/v1/incidents", json!({"title": format!("incident {n}"), "service": service["id"]}))
            .await;
        assert_eq!(status, 201, "{incident}");
        incidents.push(incident["id"].as_i64().unwrap());
    }

    // Two and a half minutes of escalation time in, the first replica dies.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let killed = Instant::now();
    first.kill9();

    let expected = INCIDENTS * PAGES_PER_INCIDENT;
    receiver.wait_for(expected, Duration::from_secs(60)).await;
    // Pages keep coming only if something is wrong; give a duplicate time to show up.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let received = receiver.received.lock().unwrap().clone();
    let mut by_page: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for request in &received {
        let delivery = request.header("x-firebreak-delivery").unwrap().to_owned();
        let (page, _) = delivery.rsplit_once('/').unwrap();
        by_page.entry(page.to_owned()).or_default().push(delivery);
    }
    // Every page was decided once: one notification per page, whichever replica decided it.
    for (page, deliveries) in &by_page {
        let mut distinct = deliveries.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), 1, "{page} was made into {} notifications", distinct.len());
    }
    let repeated = received.len() - by_page.len();
    // A delivery cut short by the kill is attempted again by the survivor under the same delivery id,
    // which receivers use to drop the repeat; nothing else may arrive twice.
    assert!(repeated <= 1, "{repeated} deliveries arrived twice");
    let mut per_incident: HashMap<i64, usize> = HashMap::new();
    for page in by_page.keys() {
        let incident: i64 = page.split('/').next().unwrap().trim_start_matches("incident-").parse().unwrap();
        *per_incident.entry(incident).or_default() += 1;
    }
    for incident in &incidents {
        assert_eq!(
            per_incident.get(incident),
            Some(&PAGES_PER_INCIDENT),
            "incident {incident}: every level of both passes"
        );
        let (_, escalation) = b.get(&format!("/api/v1/incidents/{incident}/escalation")).await;
        assert_eq!(escalation["state"], "exhausted", "{escalation}");
    }
    let after_kill = received.iter().filter(|r| r.at > killed).count();
    let last = received.iter().map(|r| r.at).max().unwrap();
    note(&format!(
        "two replicas: {} pages for {INCIDENTS} incidents, {after_kill} sent by the survivor after the kill, \
         the last {:.1}s after it; {repeated} repeated delivery",
        by_page.len(),
        last.duration_since(killed).as_secs_f64(),
    ));
    assert_eq!(by_page.len(), expected);
    drop(received);
    second.stop();
}
