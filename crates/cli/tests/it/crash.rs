//! Crash safety of ingest: `firebreak serve` is killed with SIGKILL at random points while
//! PagerDuty events stream in from concurrent senders, round after round on one SQLite database.
//! After a final restart, every event that was answered `202` is stored exactly once, nothing is
//! stored that was not sent, each service's alerts share one open incident, and replaying answered
//! events counts repeats instead of creating alerts, durably too.
//!
//! Kill points come from a seeded generator; the seed is printed with the test's output (shown on
//! failure) and read from `CRASH_SEED` to replay a run. Events in flight at the kill may or may
//! not be stored: their senders never heard back.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::support::{Server, create_token};

/// Rounds of start, send, kill.
const ROUNDS: usize = 20;
/// Concurrent senders per round, each with its own service and keep-alive connection.
const SENDERS: usize = 4;
/// Events a sender sends per round at most. A service's alert list shows at most 500 alerts, so
/// this keeps every stored alert of a sender's service visible.
const EVENTS_PER_SENDER_MAX: usize = 450;
/// The kill comes this long after sending starts, chosen at random in this range.
const KILL_DELAY_MS_MIN: u64 = 20;
const KILL_DELAY_MS_MAX: u64 = 300;
/// Answered events of a sender resent after the final restart, at most.
const REPLAYS_PER_SENDER_MAX: usize = 5;
/// Longest wait for one HTTP answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// xorshift64*: small, seeded, good enough to pick kill points.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        // The state must not be zero.
        Rng((seed ^ 0x9e37_79b9_7f4a_7c15).max(1))
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `low..=high`.
    fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low + 1)
    }
}

/// One sender's events in one round, to its own service.
struct Stream {
    name: String,
    service_id: i64,
    routing_key: String,
    /// Every dedup key sent, answered or not.
    sent: BTreeSet<String>,
    /// The dedup keys answered `202`.
    answered: BTreeSet<String>,
    /// Alerts found after the final restart.
    stored: usize,
}

/// What a sender saw.
#[derive(Default)]
struct Sending {
    sent: Vec<String>,
    answered: Vec<String>,
    /// An answer other than `202`: none is expected.
    unexpected: Option<String>,
}

fn seed() -> u64 {
    match std::env::var("CRASH_SEED") {
        Ok(text) => text.parse().expect("CRASH_SEED is an unsigned integer"),
        Err(_) => SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64,
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(REQUEST_TIMEOUT).build().unwrap()
}

fn trigger(routing_key: &str, dedup_key: &str) -> Value {
    json!({"routing_key": routing_key, "event_action": "trigger", "dedup_key": dedup_key,
        "payload": {"summary": format!("disk full on {dedup_key}"), "source": "db-1", "severity": "warning"}})
}

/// Calls the API and returns the answer, which must be a success.
async fn api(http: &reqwest::Client, token: &str, url: String, body: Option<Value>) -> Value {
    let request = match body {
        Some(body) => http.post(&url).json(&body),
        None => http.get(&url),
    };
    let response = request.bearer_auth(token).send().await.unwrap();
    let status = response.status();
    let value: Value = response.json().await.unwrap();
    assert!(status.is_success(), "{url}: {status} {value}");
    value
}

/// Sends triggers with distinct dedup keys until the budget is spent or the server is gone.
async fn send(http: reqwest::Client, url: String, routing_key: String, name: String) -> Sending {
    let mut sending = Sending::default();
    for number in 0..EVENTS_PER_SENDER_MAX {
        let dedup_key = format!("{name}-event{number:03}");
        sending.sent.push(dedup_key.clone());
        let response = match http
            .post(format!("{url}/v2/enqueue"))
            .json(&trigger(&routing_key, &dedup_key))
            .send()
            .await
        {
            Ok(response) => response,
            // Killed: the connection broke or nobody listens any more.
            Err(_) => break,
        };
        let status = response.status().as_u16();
        if status != 202 {
            sending.unexpected = Some(format!("{dedup_key}: HTTP {status}"));
            break;
        }
        // The server writes its answer only after the commit, so the status alone says the event
        // is durable, even if the body is cut off by the kill.
        sending.answered.push(dedup_key);
    }
    sending
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answered_events_survive_kill_9_exactly_once() {
    let seed = seed();
    // Captured by the test harness and shown when the test fails.
    println!("crash test seed {seed}; replay with CRASH_SEED={seed}");
    let mut rng = Rng::new(seed);

    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite:{}", dir.path().join("crash.db").display());
    let token = create_token(dir.path(), &database, "ana");
    let http = client();

    let mut streams: Vec<Stream> = Vec::new();
    for round in 0..ROUNDS {
        let server = Server::start(dir.path(), &database).await;
        let url = server.url.clone();
        if round == 0 {
            api(&http, &token, format!("{url}/api/v1/teams"), Some(json!({"name": "db"}))).await;
        }
        let mut senders = Vec::new();
        for sender in 0..SENDERS {
            let name = format!("round{round:02}-sender{sender}");
            let service = api(
                &http,
                &token,
                format!("{url}/api/v1/services"),
                Some(json!({"name": name, "team": "db", "description": "takes a crash"})),
            )
            .await;
            let routing_key = service["integration_key"].as_str().unwrap().to_owned();
            streams.push(Stream {
                name: name.clone(),
                service_id: service["id"].as_i64().unwrap(),
                routing_key: routing_key.clone(),
                sent: BTreeSet::new(),
                answered: BTreeSet::new(),
                stored: 0,
            });
            // A client per sender, so that each keeps its own connection alive.
            senders.push(tokio::spawn(send(client(), url.clone(), routing_key, name)));
        }
        let kill_delay = Duration::from_millis(rng.between(KILL_DELAY_MS_MIN, KILL_DELAY_MS_MAX));
        tokio::time::sleep(kill_delay).await;
        server.kill9();

        let round_streams = streams.len() - SENDERS..;
        let (mut sent, mut answered) = (0, 0);
        for (stream, sender) in streams[round_streams].iter_mut().zip(senders) {
            let sending = sender.await.unwrap();
            assert_eq!(sending.unexpected, None, "seed {seed}, {}", stream.name);
            sent += sending.sent.len();
            answered += sending.answered.len();
            stream.sent = sending.sent.into_iter().collect();
            stream.answered = sending.answered.into_iter().collect();
        }
        println!("round {round:2}: killed after {kill_delay:?}: {sent} events sent, {answered} answered 202");
    }
    let answered_total: usize = streams.iter().map(|stream| stream.answered.len()).sum();
    assert!(answered_total > 0, "seed {seed}: no event was answered before any kill");

    // Every answered event is stored exactly once; only sent events are stored; each service has
    // one open incident holding all of its alerts.
    let server = Server::start(dir.path(), &database).await;
    let url = server.url.clone();
    for stream in &mut streams {
        let context = format!("seed {seed}, {}", stream.name);
        let alerts =
            api(&http, &token, format!("{url}/api/v1/services/{}/alerts", stream.service_id), None).await;
        let alerts = alerts.as_array().unwrap();
        stream.stored = alerts.len();
        let mut stored: BTreeMap<&str, usize> = BTreeMap::new();
        let mut incident_ids = BTreeSet::new();
        for alert in alerts {
            assert_eq!(alert["event_count"], 1, "{context}: {alert}");
            assert_eq!(alert["status"], "triggered", "{context}: {alert}");
            incident_ids.insert(alert["incident_id"].as_i64().expect("a triggered alert has an incident"));
            *stored.entry(alert["dedup_key"].as_str().unwrap()).or_default() += 1;
        }
        let duplicated: Vec<_> = stored.iter().filter(|(_, count)| **count > 1).collect();
        assert!(duplicated.is_empty(), "{context}: stored more than once: {duplicated:?}");
        let stored: BTreeSet<String> = stored.into_keys().map(str::to_owned).collect();
        let lost: Vec<_> = stream.answered.difference(&stored).collect();
        assert!(lost.is_empty(), "{context}: answered 202 but not stored: {lost:?}");
        let unknown: Vec<_> = stored.difference(&stream.sent).collect();
        assert!(unknown.is_empty(), "{context}: stored but never sent: {unknown:?}");

        let page = api(
            &http,
            &token,
            format!("{url}/api/v1/incidents?status=open&service={}", stream.service_id),
            None,
        )
        .await;
        let open: BTreeSet<i64> = page["incidents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|incident| incident["id"].as_i64().unwrap())
            .collect();
        assert_eq!(open, incident_ids, "{context}: open incidents, and the incidents of its alerts");
        assert!(open.len() <= 1, "{context}: alerts split over incidents {open:?}");
    }

    // Replays of answered events count repeats and create no alerts, and what they changed
    // survives another kill.
    let mut replayed: BTreeSet<&str> = BTreeSet::new();
    for stream in &streams {
        let keys = stream.answered.iter().filter(|_| rng.between(0, 3) == 0).take(REPLAYS_PER_SENDER_MAX);
        for dedup_key in keys {
            let response = http
                .post(format!("{url}/v2/enqueue"))
                .json(&trigger(&stream.routing_key, dedup_key))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), 202, "seed {seed}: replay of {dedup_key}");
            replayed.insert(dedup_key);
        }
    }
    assert!(!replayed.is_empty(), "seed {seed}: nothing was replayed");
    server.kill9();
    let server = Server::start(dir.path(), &database).await;
    let url = server.url.clone();
    for stream in &streams {
        let context = format!("seed {seed}, {}", stream.name);
        let alerts =
            api(&http, &token, format!("{url}/api/v1/services/{}/alerts", stream.service_id), None).await;
        let alerts = alerts.as_array().unwrap();
        assert_eq!(alerts.len(), stream.stored, "{context}: replays created alerts");
        for alert in alerts {
            let expected = if replayed.contains(alert["dedup_key"].as_str().unwrap()) { 2 } else { 1 };
            assert_eq!(alert["event_count"], expected, "{context}: {alert}");
        }
    }
    let in_flight: usize = streams.iter().map(|stream| stream.sent.len() - stream.answered.len()).sum();
    let stored_in_flight: usize = streams.iter().map(|stream| stream.stored - stream.answered.len()).sum();
    println!(
        "{answered_total} answered events stored once each; {stored_in_flight} of {in_flight} in flight at a kill \
         stored; {} replayed",
        replayed.len()
    );
    server.stop();
}

/// A journal record whose events never reached the database (the server died between the sync
/// and the apply) is applied when the server starts, before the first read is answered, and only
/// once however often the server restarts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journaled_events_are_applied_at_start_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("journal.db");
    let database = format!("sqlite:{}", file.display());
    let token = create_token(dir.path(), &database, "ana");
    let http = client();
    let server = Server::start(dir.path(), &database).await;
    let url = server.url.clone();
    api(&http, &token, format!("{url}/api/v1/teams"), Some(json!({"name": "db"}))).await;
    let service = api(
        &http,
        &token,
        format!("{url}/api/v1/services"),
        Some(json!({"name": "postgres", "team": "db", "description": "the database"})),
    )
    .await;
    let service_id = service["id"].as_i64().unwrap();
    let routing_key = service["integration_key"].as_str().unwrap().to_owned();
    for number in 0..100 {
        let response = http
            .post(format!("{url}/v2/enqueue"))
            .json(&trigger(&routing_key, &format!("before-stop-{number}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 202);
    }
    // A clean stop applies everything accepted before it exits.
    server.stop();

    // Write a record as the journal thread would, and leave it unapplied.
    let store = firebreak_store::Store::connect(&database).await.unwrap();
    let applied = store.journal_applied().await.unwrap();
    store.close().await;
    let journal_dir = std::path::PathBuf::from(format!("{}.ingest", file.display()));
    let (mut journal, pending) = firebreak_store::journal::Journal::open(&journal_dir, applied).unwrap();
    assert!(pending.is_empty(), "a clean stop leaves nothing to apply");
    let event = firebreak_domain::AlertEvent {
        action: firebreak_domain::AlertAction::Trigger,
        dedup_key: Some("replayed".to_owned()),
        summary: "disk full on db-1".to_owned(),
        source: "db-1".to_owned(),
        severity: firebreak_domain::Severity::Sev2,
        kind: firebreak_domain::Kind::Signal,
        occurred_at: None,
        labels: BTreeMap::new(),
        details: String::new(),
        links: Vec::new(),
    };
    let mut payload = Vec::new();
    firebreak_store::journal::encode_events(service_id, &[event], &mut payload);
    journal.append(jiff::Timestamp::now(), &payload).unwrap();
    drop(journal);

    for _ in 0..2 {
        let server = Server::start(dir.path(), &database).await;
        let url = server.url.clone();
        let alerts = api(&http, &token, format!("{url}/api/v1/services/{service_id}/alerts"), None).await;
        let alerts = alerts.as_array().unwrap();
        assert_eq!(alerts.len(), 101, "{alerts:?}");
        let replayed: Vec<&Value> = alerts.iter().filter(|alert| alert["dedup_key"] == "replayed").collect();
        assert_eq!(replayed.len(), 1, "{alerts:?}");
        assert_eq!(replayed[0]["event_count"], 1);
        assert!(replayed[0]["incident_id"].is_i64(), "the alert joined an incident: {}", replayed[0]);
        server.kill9();
    }
}
