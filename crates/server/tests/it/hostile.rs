//! Hostile bytes, a standing test: every text field of every API route, ingest format and web UI
//! form, and every path segment and query parameter, sent NUL characters, invalid UTF-8, control
//! characters and megabyte strings. Nothing answers 5xx, every error is a problem document, and
//! SQLite and PostgreSQL answer each request alike.

use axum::body::Body;
use axum::http::{Method, Request, header};
use serde_json::{Value, json};

use crate::support::TestApp;

/// Stands for invalid UTF-8: a string leaf holding it is sent with the bytes `FF FE` in its
/// place, which no JSON string may hold.
const INVALID_UTF8: &str = "\u{e000}invalid-utf8\u{e000}";

/// The values every text field is sent, one at a time.
fn hostile_texts() -> Vec<String> {
    vec![
        "a\u{0}b".to_owned(),
        "\u{0}".to_owned(),
        "\u{1}\u{1b}[31m\u{7f}\u{85}\u{9b}".to_owned(),
        "\u{202e}\u{feff}\u{fffd}\u{10ffff}\u{ffff}".to_owned(),
        "\r\n\t".to_owned(),
        INVALID_UTF8.to_owned(),
        // Fits an API body (1 MiB) but no field; an ingest body's 512 KiB, and more than it.
        "x".repeat(1_000_000),
        "é".repeat(200_000),
    ]
}

/// The values every path segment and query parameter is sent, percent-encoded as a client would.
const HOSTILE_SEGMENTS: [&str; 8] =
    ["%00", "a%00b", "%FF", "%C0%80", "%1B%5B31m", "%E2%80%AE", "..%2F..", "-1"];

/// Where a request's text may be replaced.
enum Body_ {
    None,
    Json(Value),
    Form(Vec<(&'static str, String)>),
}

/// A request that works, whose every text is then replaced in turn. Path segments and query
/// values written `{like-this}` are replaced too (and sent without the braces as they are).
struct Sample {
    method: Method,
    path: String,
    body: Body_,
    /// Sent without the API token (ingest, whose key is in the path or body).
    anonymous: bool,
    /// Sent with this bearer token, a service's integration key, in place of the API token.
    key: Option<String>,
    /// Sent with the web UI's session cookie.
    ui: bool,
}

fn api(method: Method, path: impl Into<String>, body: Option<Value>) -> Sample {
    let body = body.map_or(Body_::None, Body_::Json);
    Sample { method, path: path.into(), body, anonymous: false, key: None, ui: false }
}

fn ingest(path: impl Into<String>, body: Value) -> Sample {
    Sample {
        method: Method::POST,
        path: path.into(),
        body: Body_::Json(body),
        anonymous: true,
        key: None,
        ui: false,
    }
}

/// A request authenticated by integration key `key` as its bearer token.
fn keyed(path: impl Into<String>, body: Value, key: &str) -> Sample {
    let body = Body_::Json(body);
    Sample {
        method: Method::POST,
        path: path.into(),
        body,
        anonymous: true,
        key: Some(key.to_owned()),
        ui: false,
    }
}

fn ui(method: Method, path: impl Into<String>, form: Vec<(&'static str, String)>) -> Sample {
    let body = if form.is_empty() { Body_::None } else { Body_::Form(form) };
    Sample { method, path: path.into(), body, anonymous: false, key: None, ui: true }
}

/// The paths of every web UI form that a session posts to, over a world made on `app`.
pub(crate) async fn ui_form_paths(app: &TestApp) -> Vec<String> {
    samples(app)
        .await
        .into_iter()
        .filter(|sample| sample.ui && sample.method == Method::POST)
        .map(|sample| sample.path.replace(['{', '}'], ""))
        .filter(|path| !path.starts_with("/act/") && !path.starts_with("/login"))
        .collect()
}

/// The world the samples act on; returns the samples, over its ids and keys.
async fn samples(app: &TestApp) -> Vec<Sample> {
    let (status, team) = app.post("/api/v1/teams", json!({"name": "payments", "description": "pays"})).await;
    assert_eq!(status, 201, "{team}");
    let (status, user) = app
        .post("/api/v1/users", json!({"name": "Ana", "email": "ana@example.com", "time_zone": "UTC"}))
        .await;
    assert_eq!(status, 201, "{user}");
    let (_, _) = app.post("/api/v1/users", json!({"name": "Bo", "email": "bo@example.com"})).await;
    let (status, service) = app
        .post(
            "/api/v1/services",
            json!({"name": "checkout", "team": "payments", "description": "takes money",
                   "documentation": "# Docs", "runbook": "restart it",
                   "links": [{"title": "dashboard", "url": "https://grafana.example/d/1"}]}),
        )
        .await;
    assert_eq!(status, 201, "{service}");
    let key = service["integration_key"].as_str().unwrap().to_owned();
    let (status, schedule) = app
        .post(
            "/api/v1/schedules",
            json!({"name": "primary", "time_zone": "UTC",
                   "layers": [{"start": "2026-03-02T00:00:00Z", "shift_length": "1d", "users": ["Ana", "Bo"]}]}),
        )
        .await;
    assert_eq!(status, 201, "{schedule}");
    let (status, incident) =
        app.post("/api/v1/incidents", json!({"title": "card payments fail", "service": "checkout"})).await;
    assert_eq!(status, 201, "{incident}");
    let incident = incident["id"].as_i64().unwrap();
    let (status, method) = app
        .post(
            "/api/v1/users/Ana/contact-methods",
            json!({"type": "webhook", "address": "https://hooks.example/a"}),
        )
        .await;
    assert_eq!(status, 201, "{method}");
    let (status, phone) = app
        .post("/api/v1/users/Ana/contact-methods", json!({"type": "sms", "address": "+15551230001"}))
        .await;
    assert_eq!(status, 201, "{phone}");
    let (status, silence) =
        app.post("/api/v1/silences", json!({"matchers": ["alertname=Noise"], "duration_minutes": 60})).await;
    assert_eq!(status, 201, "{silence}");
    let (status, heartbeat) = app
        .post(
            "/api/v1/heartbeats",
            json!({"name": "nightly", "service": "checkout", "period_seconds": 3600, "grace_seconds": 600}),
        )
        .await;
    assert_eq!(status, 201, "{heartbeat}");
    let ping_url = heartbeat["ping_url"].as_str().unwrap();
    let ping_id = ping_url[ping_url.rfind('/').unwrap() + 1..].to_owned();
    let heartbeat = heartbeat["id"].as_i64().unwrap();
    let (status, rule) = app
        .post(
            "/api/v1/outcome-rules",
            json!({"name": "captures", "service": "checkout", "rule": "at least 10 payment_captured per 1h"}),
        )
        .await;
    assert_eq!(status, 201, "{rule}");
    let csrf = app.csrf().await;
    let at = "2026-03-02T07:59:00Z";

    let policy = json!({"name": "default", "repeat": 1, "levels": [
        {"timeout_minutes": 5, "targets": [{"type": "schedule", "id": schedule["id"]}, {"type": "user", "id": "Ana"}]},
        {"timeout_minutes": 10, "targets": [{"type": "team", "id": "payments"}], "wakes_management": true}]});
    let alertmanager = json!({"version": "4", "groupKey": "{}:{alertname=\"Lag\"}", "status": "firing",
        "receiver": "firebreak", "externalURL": "http://alertmanager:9093",
        "groupLabels": {"alertname": "Lag"}, "commonLabels": {"alertname": "Lag"}, "commonAnnotations": {},
        "alerts": [{"status": "firing", "labels": {"alertname": "Lag", "severity": "critical", "instance": "db-2"},
            "annotations": {"summary": "replication lag 40s", "description": "lag", "runbook_url": "https://r.example"},
            "startsAt": "2026-03-02T07:58:00Z", "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus:9090/graph?g0.expr=lag", "fingerprint": "c0ffee"}]});
    let grafana = json!({"receiver": "firebreak", "status": "firing", "orgId": 1, "groupKey": "{}:{}",
        "externalURL": "http://grafana:3000/", "title": "[FIRING:1] Lag", "message": "lag is high",
        "groupLabels": {"alertname": "Lag"}, "commonLabels": {"alertname": "Lag"}, "commonAnnotations": {},
        "alerts": [{"status": "firing", "labels": {"alertname": "Lag", "grafana_folder": "db"},
            "annotations": {"summary": "lag"}, "startsAt": "2026-03-02T07:58:00Z",
            "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "http://grafana:3000/alerting/1/view",
            "fingerprint": "f00d", "silenceURL": "http://grafana:3000/alerting/silence/new",
            "dashboardURL": "http://grafana:3000/d/1", "panelURL": "http://grafana:3000/d/1?viewPanel=2",
            "values": {"B": 40.0}, "valueString": "[ var='B' value=40 ]"}]});
    let enqueue = json!({"routing_key": key, "event_action": "trigger", "dedup_key": "lag-db-2",
        "client": "Prometheus", "client_url": "http://prometheus:9090",
        "payload": {"summary": "replication lag 40s", "source": "db-2", "severity": "error",
            "timestamp": "2026-03-02T07:58:00Z", "component": "postgres", "group": "db", "class": "lag",
            "custom_details": {"lag": "40s", "nested": {"replica": "db-2"}}},
        "links": [{"href": "https://grafana.example/d/1", "text": "dashboard"}],
        "images": [{"src": "https://grafana.example/i.png", "href": "https://grafana.example", "alt": "lag"}]});

    vec![
        api(Method::POST, "/api/v1/teams", Some(json!({"name": "web", "description": "the site"}))),
        api(Method::GET, "/api/v1/teams?cursor={1}&limit={10}", None),
        api(Method::GET, "/api/v1/teams/{payments}", None),
        api(
            Method::PATCH,
            "/api/v1/teams/{payments}",
            Some(json!({"name": "payments", "description": "money"})),
        ),
        api(Method::GET, "/api/v1/teams/{payments}/members", None),
        api(Method::POST, "/api/v1/teams/{payments}/members", Some(json!({"user_id": user["id"]}))),
        api(Method::DELETE, "/api/v1/teams/{payments}/members/{Bo}", None),
        api(
            Method::POST,
            "/api/v1/users",
            Some(json!({"name": "Cy", "email": "cy@example.com", "time_zone": "Europe/Berlin"})),
        ),
        api(Method::GET, "/api/v1/users?cursor={1}&limit={10}", None),
        api(Method::GET, "/api/v1/users/{Ana}", None),
        api(
            Method::PATCH,
            "/api/v1/users/{Ana}",
            Some(json!({"name": "Ana", "email": "ana@example.com", "time_zone": "UTC"})),
        ),
        api(
            Method::POST,
            "/api/v1/services",
            Some(json!({"name": "ledger", "team": "payments", "description": "books", "documentation": "d",
                "runbook": "r", "links": [{"title": "t", "url": "https://x.example"}], "dependencies": ["checkout"]})),
        ),
        api(Method::GET, "/api/v1/services?team={payments}&cursor={1}&limit={10}", None),
        api(Method::GET, "/api/v1/services/{checkout}", None),
        api(
            Method::PATCH,
            "/api/v1/services/{checkout}",
            Some(
                json!({"name": "checkout", "team": "payments", "description": "takes money", "documentation": "d",
                "runbook": "r", "links": [{"title": "t", "url": "https://x.example"}], "group_by": ["alertname"]}),
            ),
        ),
        api(
            Method::POST,
            "/api/v1/incidents",
            Some(json!({"title": "slow", "service": "checkout", "severity": "SEV2", "kind": "signal"})),
        ),
        api(
            Method::GET,
            "/api/v1/incidents?status={triggered}&service={checkout}&cursor={1}&limit={10}",
            None,
        ),
        api(Method::GET, format!("/api/v1/incidents/{{{incident}}}"), None),
        api(
            Method::POST,
            format!("/api/v1/incidents/{{{incident}}}/notes"),
            Some(json!({"text": "looking"})),
        ),
        api(
            Method::POST,
            format!("/api/v1/incidents/{{{incident}}}/severity"),
            Some(json!({"severity": "SEV1"})),
        ),
        api(
            Method::POST,
            format!("/api/v1/incidents/{{{incident}}}/assign"),
            Some(json!({"role": "commander", "user": "Ana"})),
        ),
        api(Method::POST, format!("/api/v1/incidents/{{{incident}}}/escalate"), None),
        api(Method::POST, format!("/api/v1/incidents/{{{incident}}}/reassign"), Some(json!({"user": "Bo"}))),
        api(Method::POST, format!("/api/v1/incidents/{{{incident}}}/acknowledge"), None),
        api(Method::POST, format!("/api/v1/incidents/{{{incident}}}/snooze"), Some(json!({"minutes": 30}))),
        api(Method::POST, format!("/api/v1/incidents/{{{incident}}}/mitigate"), None),
        api(Method::POST, format!("/api/v1/incidents/{{{incident}}}/resolve"), None),
        api(Method::GET, format!("/api/v1/incidents/{{{incident}}}/alerts?limit={{10}}"), None),
        api(Method::GET, format!("/api/v1/incidents/{{{incident}}}/notifications"), None),
        api(Method::GET, format!("/api/v1/incidents/{{{incident}}}/escalation"), None),
        api(Method::GET, "/api/v1/services/{checkout}/alerts?limit={10}", None),
        api(
            Method::POST,
            "/api/v1/schedules",
            Some(json!({"name": "secondary", "time_zone": "Europe/Berlin",
                "layers": [{"start": "2026-03-02T00:00:00Z", "shift_length": "1w", "users": ["Ana"],
                    "restrictions": [{"type": "daily", "start_time": "09:00", "end_time": "17:00"}]}],
                "overrides": [{"user": "Bo", "start": "2026-03-03T10:00:00Z", "end": "2026-03-03T12:00:00Z"}]})),
        ),
        api(Method::GET, "/api/v1/schedules", None),
        api(Method::GET, format!("/api/v1/schedules/{{{}}}", schedule["id"]), None),
        api(
            Method::POST,
            format!("/api/v1/schedules/{{{}}}/overrides", schedule["id"]),
            Some(json!({"user": "Bo", "start": "2026-03-04T00:00:00Z", "end": "2026-03-05T00:00:00Z"})),
        ),
        api(Method::GET, format!("/api/v1/schedules/{{{}}}/oncall?at={{{at}}}", schedule["id"]), None),
        api(
            Method::GET,
            format!(
                "/api/v1/schedules/{{{}}}/shifts?from={{{at}}}&to={{2026-03-09T00:00:00Z}}",
                schedule["id"]
            ),
            None,
        ),
        api(Method::POST, format!("/api/v1/schedules/{{{}}}/feed", schedule["id"]), None),
        api(
            Method::PATCH,
            format!("/api/v1/schedules/{{{}}}", schedule["id"]),
            Some(json!({"name": "primary", "time_zone": "UTC",
                "layers": [{"start": "2026-03-02T00:00:00Z", "shift_length": "1d", "users": ["Ana", "Bo"]}],
                "overrides": [{"user": "Bo", "start": "2026-03-04T00:00:00Z", "end": "2026-03-05T00:00:00Z"}]})),
        ),
        api(Method::DELETE, format!("/api/v1/schedules/{{{}}}/overrides/{{0}}", schedule["id"]), None),
        api(Method::DELETE, format!("/api/v1/schedules/{{{}}}", schedule["id"]), None),
        api(Method::POST, "/api/v1/escalation-policies", Some(policy)),
        api(Method::GET, "/api/v1/escalation-policies", None),
        api(Method::GET, "/api/v1/escalation-policies/{1}", None),
        api(
            Method::PATCH,
            "/api/v1/escalation-policies/{1}",
            Some(
                json!({"name": "default", "repeat": 0, "levels": [{"timeout_minutes": 5, "targets": [{"type": "user", "id": 1}]}]}),
            ),
        ),
        api(Method::DELETE, "/api/v1/escalation-policies/{1}", None),
        api(Method::POST, "/api/v1/services/{checkout}/integration-key", None),
        api(Method::GET, "/api/v1/oncall?service={checkout}&at={2026-03-02T07:59:00Z}", None),
        api(Method::POST, "/api/v1/users/{Ana}/feed", None),
        api(Method::GET, "/api/v1/users/{Ana}/contact-methods", None),
        api(
            Method::POST,
            "/api/v1/users/{Bo}/contact-methods",
            Some(json!({"type": "email", "address": "bo@example.com"})),
        ),
        api(
            Method::PATCH,
            format!("/api/v1/users/{{Ana}}/contact-methods/{{{}}}", phone["id"]),
            Some(json!({"address": "+15551230009"})),
        ),
        api(
            Method::POST,
            "/api/v1/users/{Ana}/notification-rules",
            Some(
                json!({"contact_method_id": phone["id"], "urgency": "high", "delay_minutes": 2, "hours": "any"}),
            ),
        ),
        api(Method::GET, "/api/v1/users/{Ana}/notification-rules", None),
        api(Method::DELETE, "/api/v1/users/{Ana}/notification-rules/{1}", None),
        api(Method::DELETE, format!("/api/v1/users/{{Ana}}/contact-methods/{{{}}}", method["id"]), None),
        api(Method::DELETE, "/api/v1/users/{Cy}", None),
        api(Method::DELETE, "/api/v1/services/{ledger}", None),
        api(Method::DELETE, "/api/v1/teams/{web}", None),
        api(
            Method::POST,
            "/api/v1/silences",
            Some(json!({"service": "checkout", "matchers": ["alertname=Lag", "instance=~db-.*"],
                "starts_at": at, "ends_at": "2026-03-02T09:00:00Z", "comment": "maintenance"})),
        ),
        api(Method::GET, "/api/v1/silences?service={checkout}&state={active}", None),
        api(Method::GET, format!("/api/v1/silences/{{{}}}", silence["id"]), None),
        api(Method::DELETE, format!("/api/v1/silences/{{{}}}", silence["id"]), None),
        api(
            Method::POST,
            "/api/v1/outcome-rules",
            Some(json!({"name": "payouts", "service": "checkout", "severity": "SEV2",
                "rule": "payout_settled >= 95% of payout_requested within 30m over 2h"})),
        ),
        api(Method::GET, "/api/v1/outcome-rules?service={checkout}", None),
        api(Method::GET, format!("/api/v1/outcome-rules/{{{}}}", rule["id"]), None),
        api(
            Method::PATCH,
            format!("/api/v1/outcome-rules/{{{}}}", rule["id"]),
            Some(json!({"name": "captures", "rule": "no payment_captured for 26h", "severity": "SEV3"})),
        ),
        api(Method::DELETE, format!("/api/v1/outcome-rules/{{{}}}", rule["id"]), None),
        keyed(
            "/api/v1/outcome-events",
            json!([{"event": "payout_requested", "service": "checkout", "count": 2, "at": at, "key": "p-1"},
                {"event": "payout_settled", "key": "p-1"}]),
            &key,
        ),
        api(
            Method::PUT,
            "/api/v1/services/{checkout}/golden-signals/{latency}",
            Some(json!({"query": "histogram_quantile(0.99, rate(x[5m]))", "bad": "up", "step_seconds": 60,
                "open_incident": true, "severity": "SEV2"})),
        ),
        api(Method::GET, "/api/v1/services/{checkout}/golden-signals", None),
        api(
            Method::POST,
            "/api/v1/services/{checkout}/golden-signals/{latency}/samples",
            Some(json!({"samples": [{"at": at, "value": 0.1}]})),
        ),
        api(Method::GET, "/api/v1/services/{checkout}/anomalies?limit={10}", None),
        api(Method::DELETE, "/api/v1/services/{checkout}/golden-signals/{latency}/samples", None),
        api(
            Method::POST,
            "/api/v1/heartbeats",
            Some(json!({"name": "etl", "service": "checkout", "slug": "etl", "cron": "0 3 * * *",
                "time_zone": "Europe/Berlin", "grace_seconds": 3600, "failures_to_alert": 2, "severity": "SEV2"})),
        ),
        api(Method::GET, "/api/v1/heartbeats?service={checkout}", None),
        api(Method::GET, format!("/api/v1/heartbeats/{{{heartbeat}}}"), None),
        api(
            Method::PATCH,
            format!("/api/v1/heartbeats/{{{heartbeat}}}"),
            Some(
                json!({"name": "nightly backup", "slug": "nightly", "period_seconds": 7200, "grace_seconds": 900}),
            ),
        ),
        api(Method::POST, format!("/api/v1/heartbeats/{{{heartbeat}}}/pause"), None),
        api(Method::POST, format!("/api/v1/heartbeats/{{{heartbeat}}}/resume"), None),
        ingest(format!("/ping/{{{ping_id}}}/{{start}}?rid={{run-1}}"), json!("started")),
        ingest(format!("/ping/{{{ping_id}}}?rid={{run-1}}"), json!("done")),
        api(Method::DELETE, format!("/api/v1/heartbeats/{{{heartbeat}}}"), None),
        api(Method::GET, "/api/v1/severity-guides/{payments}", None),
        api(
            Method::PUT,
            "/api/v1/severity-guides/{payments}",
            Some(
                json!({"questions": [{"id": "can_pay", "text": "Can customers pay?", "answers": ["yes", "no"]}],
                "rules": [{"when": {"can_pay": ["no"]}, "severity": "SEV1", "wake": ["next_level"], "reason": "nobody pays"}]}),
            ),
        ),
        api(
            Method::POST,
            format!("/api/v1/incidents/{{{incident}}}/assess"),
            Some(json!({"answers": {"can_pay": "no"}})),
        ),
        api(Method::DELETE, "/api/v1/severity-guides/{payments}", None),
        api(Method::GET, "/api/v1/openapi.json", None),
        ingest("/v2/enqueue", enqueue),
        ingest(format!("/api/v1/ingest/alertmanager/{{{key}}}"), alertmanager),
        ingest(format!("/api/v1/ingest/grafana/{{{key}}}"), grafana),
        api(Method::GET, "/feeds/{fbf_0000}", None),
        ui(Method::GET, "/incidents?status={all}&cursor={1}", vec![]),
        api(Method::POST, format!("/api/v1/incidents/{{{incident}}}/page"), Some(json!({"user": "Ana"}))),
        api(Method::GET, "/api/v1/audit?actor={ana}&object={service}&since={2026-03-01T00:00:00Z}", None),
        api(Method::GET, "/api/v1/me", None),
        api(Method::GET, "/api/v1/tokens", None),
        api(Method::POST, "/api/v1/tokens", Some(json!({"name": "ci", "user": "Ana", "role": "viewer"}))),
        api(Method::DELETE, "/api/v1/tokens/{99}", None),
        api(Method::PUT, "/api/v1/users/{Ana}/admin", Some(json!({"admin": false}))),
        api(
            Method::PUT,
            "/api/v1/users/{Ana}/password",
            Some(json!({"password": "correct horse battery staple"})),
        ),
        ui(Method::GET, format!("/incidents/{{{incident}}}"), vec![]),
        ui(
            Method::POST,
            format!("/incidents/{{{incident}}}/assess"),
            vec![
                ("csrf", csrf.clone()),
                ("answer.customers_affected", "some".into()),
                ("answer.workaround_exists", "yes".into()),
                ("answer.security", "".into()),
            ],
        ),
        ui(
            Method::POST,
            format!("/incidents/{{{incident}}}/act"),
            vec![
                ("csrf", csrf.clone()),
                ("action", "note".into()),
                ("text", "looking".into()),
                ("severity", "SEV1".into()),
            ],
        ),
        ui(Method::GET, "/services/{1}", vec![]),
        ui(Method::GET, "/schedules/{1}", vec![]),
        ui(Method::GET, "/escalation-policies/{1}", vec![]),
        ui(Method::GET, "/oncall?at={2026-03-02T07:59:00Z}", vec![]),
        ui(Method::GET, "/act/{ack.1.2.3}", vec![]),
        ui(Method::POST, "/act/{ack.1.2.3}", vec![("confirm", "yes".into())]),
        ui(Method::GET, "/silences", vec![]),
        ui(
            Method::POST,
            "/silences",
            vec![
                ("csrf", csrf.clone()),
                ("matchers", "alertname=Lag".into()),
                ("service", "1".into()),
                ("minutes", "60".into()),
                ("comment", "maintenance".into()),
            ],
        ),
        ui(Method::POST, "/silences/{1}/expire", vec![("csrf", csrf.clone())]),
        ui(Method::GET, format!("/services/{{{}}}/heartbeats", service["id"]), vec![]),
        ui(
            Method::POST,
            format!("/services/{{{}}}/heartbeats", service["id"]),
            vec![
                ("csrf", csrf.clone()),
                ("name", "reindex".into()),
                ("period_minutes", "60".into()),
                ("cron", "".into()),
                ("time_zone", "".into()),
                ("grace_minutes", "10".into()),
                ("failures_to_alert", "1".into()),
            ],
        ),
        ui(Method::POST, format!("/heartbeats/{{{}}}/pause", heartbeat + 1), vec![("csrf", csrf.clone())]),
        ui(Method::POST, format!("/heartbeats/{{{}}}/resume", heartbeat + 1), vec![("csrf", csrf.clone())]),
        ui(Method::POST, format!("/heartbeats/{{{}}}/delete", heartbeat + 1), vec![("csrf", csrf.clone())]),
        ui(Method::GET, "/login?notice={x}", vec![]),
        ui(Method::POST, "/login", vec![("name", "ana".into()), ("password", "not the password".into())]),
        ui(Method::GET, "/incidents?status={open}&fragment={1}", vec![]),
        ui(Method::GET, format!("/incidents/{{{incident}}}?fragment={{timeline}}"), vec![]),
        ui(Method::GET, "/people", vec![]),
        ui(Method::GET, "/services/new", vec![]),
        ui(Method::GET, "/services/{1}/edit", vec![]),
        ui(Method::GET, "/schedules/new", vec![]),
        ui(Method::GET, "/schedules/{1}/edit", vec![]),
        ui(Method::GET, "/escalation-policies/new", vec![]),
        ui(Method::GET, "/escalation-policies/{1}/edit", vec![]),
        ui(Method::GET, "/teams/new", vec![]),
        ui(Method::GET, "/teams/{1}", vec![]),
        ui(Method::GET, "/users/new", vec![]),
        ui(Method::GET, "/users/{1}", vec![]),
        ui(
            Method::POST,
            "/teams",
            vec![("csrf", csrf.clone()), ("name", "ops".into()), ("description", "runs".into())],
        ),
        ui(
            Method::POST,
            "/teams/{1}",
            vec![("csrf", csrf.clone()), ("name", "payments".into()), ("description", "pays".into())],
        ),
        ui(Method::POST, "/teams/{1}/members", vec![("csrf", csrf.clone()), ("user", "2".into())]),
        ui(Method::POST, "/teams/{1}/members/{2}/remove", vec![("csrf", csrf.clone())]),
        ui(
            Method::POST,
            "/users",
            vec![
                ("csrf", csrf.clone()),
                ("name", "Dee".into()),
                ("email", "dee@example.com".into()),
                ("time_zone", "UTC".into()),
            ],
        ),
        ui(
            Method::POST,
            "/users/{1}",
            vec![
                ("csrf", csrf.clone()),
                ("name", "Ana".into()),
                ("email", "ana@example.com".into()),
                ("time_zone", "UTC".into()),
            ],
        ),
        ui(
            Method::POST,
            "/users/{1}/contact-methods",
            vec![
                ("csrf", csrf.clone()),
                ("type", "ntfy".into()),
                ("address", "https://ntfy.example/ana".into()),
                ("token", "tk_0".into()),
            ],
        ),
        ui(
            Method::POST,
            format!("/users/{{1}}/contact-methods/{{{}}}", method["id"]),
            vec![("csrf", csrf.clone()), ("address", "https://hooks.example/b".into())],
        ),
        ui(
            Method::POST,
            "/users/{1}/notification-rules",
            vec![
                ("csrf", csrf.clone()),
                ("contact_method_id", method["id"].to_string()),
                ("urgency", "high".into()),
                ("delay_minutes", "2".into()),
                ("hours", "any".into()),
            ],
        ),
        ui(Method::POST, "/users/{1}/notification-rules/{1}/remove", vec![("csrf", csrf.clone())]),
        ui(
            Method::POST,
            format!("/users/{{1}}/contact-methods/{{{}}}/remove", method["id"]),
            vec![("csrf", csrf.clone())],
        ),
        ui(
            Method::POST,
            "/services",
            vec![
                ("csrf", csrf.clone()),
                ("name", "ledger-ui".into()),
                ("team", "1".into()),
                ("description", "books".into()),
                ("escalation_policy", "".into()),
                ("dependencies", "1".into()),
                ("links", "dashboard https://grafana.example/d/1".into()),
                ("runbook", "restart it".into()),
                ("documentation", "# Docs".into()),
            ],
        ),
        ui(
            Method::POST,
            "/services/{1}/edit",
            vec![
                ("csrf", csrf.clone()),
                ("name", "checkout".into()),
                ("team", "1".into()),
                ("description", "takes money".into()),
                ("escalation_policy", "".into()),
                ("links", "dashboard https://grafana.example/d/1".into()),
                ("runbook", "restart it".into()),
                ("documentation", "# Docs".into()),
                ("group_by", "alertname".into()),
                ("group_window", "30".into()),
                ("auto_resolve", "yes".into()),
            ],
        ),
        ui(Method::POST, "/services/{1}/rotate-key", vec![("csrf", csrf.clone()), ("confirm", "yes".into())]),
        ui(
            Method::POST,
            "/schedules",
            vec![
                ("csrf", csrf.clone()),
                ("name", "secondary".into()),
                ("time_zone", "Europe/Lisbon".into()),
                ("layer.0.start", "2026-03-02T09:00".into()),
                ("layer.0.shift_length", "1w".into()),
                ("layer.0.users", "Ana, Bo".into()),
                ("layer.0.restrictions", "weekly monday 09:00-friday 17:00".into()),
            ],
        ),
        ui(
            Method::POST,
            "/schedules/{1}/edit",
            vec![
                ("csrf", csrf.clone()),
                ("name", "primary".into()),
                ("time_zone", "UTC".into()),
                ("layer.0.start", "2026-03-02T00:00".into()),
                ("layer.0.shift_length", "1d".into()),
                ("layer.0.users", "Ana, Bo".into()),
                ("layer.0.restrictions", "daily 00:00-23:00".into()),
                ("layer.1.new", "yes".into()),
                ("layer.1.start", "2026-03-02T00:00".into()),
                ("layer.1.users", "Bo".into()),
            ],
        ),
        ui(
            Method::POST,
            "/schedules/{1}/overrides",
            vec![
                ("csrf", csrf.clone()),
                ("user", "1".into()),
                ("start", "2026-03-03T10:00".into()),
                ("end", "2026-03-03T12:00".into()),
            ],
        ),
        ui(Method::POST, "/schedules/{1}/overrides/{0}/remove", vec![("csrf", csrf.clone())]),
        ui(
            Method::POST,
            "/escalation-policies",
            vec![
                ("csrf", csrf.clone()),
                ("name", "second".into()),
                ("repeat", "1".into()),
                ("level.0.timeout", "5".into()),
                ("level.0.targets", "user:1".into()),
                ("level.0.targets", format!("schedule:{}", schedule["id"])),
                ("level.0.wakes_management", "yes".into()),
            ],
        ),
        ui(
            Method::POST,
            "/escalation-policies/{1}/edit",
            vec![
                ("csrf", csrf.clone()),
                ("name", "default".into()),
                ("repeat", "1".into()),
                ("level.0.timeout", "5".into()),
                ("level.0.targets", "team:1".into()),
                ("level.0.remove", "yes".into()),
            ],
        ),
        // Last: a probe never sends the sample as it is, and these delete only when it does.
        ui(
            Method::POST,
            "/escalation-policies/{1}/delete",
            vec![("csrf", csrf.clone()), ("confirm", "yes".into())],
        ),
        ui(Method::POST, "/schedules/{1}/delete", vec![("csrf", csrf.clone()), ("confirm", "yes".into())]),
        ui(Method::POST, "/services/{1}/delete", vec![("csrf", csrf.clone()), ("confirm", "yes".into())]),
        ui(Method::POST, "/teams/{1}/delete", vec![("csrf", csrf.clone()), ("confirm", "yes".into())]),
        ui(Method::POST, "/users/{2}/delete", vec![("csrf", csrf.clone()), ("confirm", "yes".into())]),
    ]
}

/// One request as sent: what was replaced, and with what.
struct Probe {
    what: String,
    method: Method,
    uri: String,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    anonymous: bool,
    key: Option<String>,
    ui: bool,
}

/// `path` with its `{marked}` parts written plainly, and the byte ranges where they are.
fn unmark(path: &str) -> (String, Vec<std::ops::Range<usize>>) {
    let mut plain = String::new();
    let mut marks = Vec::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        plain.push_str(&rest[..open]);
        let close = open + rest[open..].find('}').expect("marks are closed");
        let start = plain.len();
        plain.push_str(&rest[open + 1..close]);
        marks.push(start..plain.len());
        rest = &rest[close + 1..];
    }
    plain.push_str(rest);
    (plain, marks)
}

/// Every string in `value`, and every object key, as a path of steps to it.
fn text_leaves(value: &Value, at: &mut Vec<Step>, found: &mut Vec<Vec<Step>>) {
    match value {
        Value::String(_) => found.push(at.clone()),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                at.push(Step::Index(i));
                text_leaves(item, at, found);
                at.pop();
            }
        }
        Value::Object(fields) => {
            for (key, item) in fields {
                at.push(Step::Key(key.clone()));
                found.push({
                    let mut key_path = at.clone();
                    key_path.push(Step::Rename);
                    key_path
                });
                text_leaves(item, at, found);
                at.pop();
            }
        }
        _ => {}
    }
}

#[derive(Clone, Debug)]
enum Step {
    Key(String),
    Index(usize),
    /// The key of the field the path so far leads to, rather than its value.
    Rename,
}

/// `value` with the text at `path` replaced by `text`.
fn replaced(value: &Value, path: &[Step], text: &str) -> Value {
    let mut value = value.clone();
    let mut here = &mut value;
    for (i, step) in path.iter().enumerate() {
        match step {
            Step::Key(key) if matches!(path.get(i + 1), Some(Step::Rename)) => {
                let fields = here.as_object_mut().unwrap();
                let item = fields.remove(key).unwrap();
                fields.insert(text.to_owned(), item);
                return value;
            }
            Step::Key(key) => here = here.get_mut(key).unwrap(),
            Step::Index(i) => here = here.get_mut(*i).unwrap(),
            Step::Rename => unreachable!("a rename follows a key"),
        }
    }
    *here = Value::String(text.to_owned());
    value
}

/// JSON bytes of `value`, with [`INVALID_UTF8`] written as invalid UTF-8.
fn json_bytes(value: &Value) -> Vec<u8> {
    let text = value.to_string();
    let marker = INVALID_UTF8.as_bytes();
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some(at) = rest.windows(marker.len()).position(|window| window == marker) {
        bytes.extend_from_slice(&rest[..at]);
        bytes.extend_from_slice(&[0xff, 0xfe]);
        rest = &rest[at + marker.len()..];
    }
    bytes.extend_from_slice(rest);
    bytes
}

fn form_bytes(fields: &[(&str, String)]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for (i, (name, value)) in fields.iter().enumerate() {
        if i > 0 {
            bytes.push(b'&');
        }
        bytes.extend_from_slice(name.as_bytes());
        bytes.push(b'=');
        if value == INVALID_UTF8 {
            bytes.extend_from_slice(b"%FF%FE");
            continue;
        }
        for byte in value.bytes() {
            match byte {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => bytes.push(byte),
                _ => bytes.extend_from_slice(format!("%{byte:02X}").as_bytes()),
            }
        }
    }
    bytes
}

/// Every hostile variant of `sample`.
fn probes(sample: &Sample) -> Vec<Probe> {
    let (uri, marks) = unmark(&sample.path);
    let probe = |what: String, uri: String, content_type, body| Probe {
        what,
        method: sample.method.clone(),
        uri,
        content_type,
        body,
        anonymous: sample.anonymous,
        key: sample.key.clone(),
        ui: sample.ui,
    };
    let (content_type, body) = match &sample.body {
        Body_::None => (None, Vec::new()),
        Body_::Json(value) => (Some("application/json"), json_bytes(value)),
        Body_::Form(fields) => (Some("application/x-www-form-urlencoded"), form_bytes(fields)),
    };
    let mut probes = Vec::new();
    for mark in &marks {
        for segment in HOSTILE_SEGMENTS.iter().map(|s| (*s).to_owned()).chain(["x".repeat(8_000)]) {
            let what = format!(
                "{} {} with {:?} for {:?}",
                sample.method,
                sample.path,
                shown(&segment),
                &uri[mark.clone()]
            );
            let uri = format!("{}{segment}{}", &uri[..mark.start], &uri[mark.end..]);
            probes.push(probe(what, uri, content_type, body.clone()));
        }
    }
    let texts = hostile_texts();
    match &sample.body {
        Body_::None => {}
        Body_::Json(value) => {
            let mut leaves = Vec::new();
            text_leaves(value, &mut Vec::new(), &mut leaves);
            for leaf in &leaves {
                for text in &texts {
                    let what =
                        format!("{} {} with {:?} at {leaf:?}", sample.method, sample.path, shown(text));
                    let body = json_bytes(&replaced(value, leaf, text));
                    probes.push(probe(what, uri.clone(), content_type, body));
                }
            }
        }
        Body_::Form(fields) => {
            for i in 0..fields.len() {
                for text in &texts {
                    let mut fields = fields.clone();
                    fields[i].1 = text.clone();
                    let what = format!(
                        "{} {} with {:?} for {}",
                        sample.method,
                        sample.path,
                        shown(text),
                        fields[i].0
                    );
                    probes.push(probe(what, uri.clone(), content_type, form_bytes(&fields)));
                }
            }
        }
    }
    probes
}

/// `text` short enough for a message.
fn shown(text: &str) -> String {
    if text.len() > 40 {
        format!("{}… ({} bytes)", text.chars().take(8).collect::<String>(), text.len())
    } else {
        text.to_owned()
    }
}

/// Sends every probe of every sample; returns each probe's description and status, in order.
async fn run(app: &TestApp) -> Vec<(String, u16)> {
    let mut answers = Vec::new();
    let mut failures = Vec::new();
    for sample in samples(app).await {
        for probe in probes(&sample) {
            let mut request = Request::builder().method(probe.method.clone()).uri(&probe.uri);
            if probe.ui {
                request =
                    request.header(header::COOKIE, format!("firebreak_session={}", app.session().await));
            } else if let Some(key) = &probe.key {
                request = request.header(header::AUTHORIZATION, format!("Bearer {key}"));
            } else if !probe.anonymous {
                request = request.header(header::AUTHORIZATION, format!("Bearer {}", app.token));
            }
            if let Some(content_type) = probe.content_type {
                request = request.header(header::CONTENT_TYPE, content_type);
            }
            let answer = app.send(request.body(Body::from(probe.body)).unwrap()).await;
            let status = answer.status.as_u16();
            if status >= 500 {
                failures.push(format!(
                    "{} answered {status}: {}",
                    probe.what,
                    String::from_utf8_lossy(&answer.body)
                ));
            } else if status >= 400
                && !probe.ui
                // PagerDuty's endpoint answers in PagerDuty's words.
                && !probe.uri.starts_with("/v2/enqueue")
                // Ping URLs answer in Healthchecks' words, as plain text.
                && !probe.uri.starts_with("/ping/")
                && answer.header("content-type") != "application/problem+json"
            {
                failures.push(format!("{} answered {status} without a problem document", probe.what));
            }
            answers.push((probe.what, status));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} probes failed:\n{}",
        failures.len(),
        answers.len(),
        failures.join("\n")
    );
    answers
}

/// Whether the concrete `path` (its query left out) is an instance of the OpenAPI `template`.
fn instance_of(path: &str, template: &str) -> bool {
    let path = path.split('?').next().unwrap_or_default();
    let (segments, templates): (Vec<&str>, Vec<&str>) =
        (path.split('/').collect(), template.split('/').collect());
    segments.len() == templates.len()
        && segments
            .iter()
            .zip(&templates)
            .all(|(segment, template)| template.starts_with('{') || segment == template)
}

#[tokio::test]
async fn every_documented_operation_is_probed() {
    let app = TestApp::new().await;
    let samples = samples(&app).await;
    let (status, doc) = app.get("/api/v1/openapi.json").await;
    assert_eq!(status, 200);
    let mut missing = Vec::new();
    for (template, operations) in doc["paths"].as_object().unwrap() {
        for method in operations.as_object().unwrap().keys() {
            let probed = samples.iter().any(|sample| {
                sample.method.as_str().eq_ignore_ascii_case(method)
                    && instance_of(&unmark(&sample.path).0, template)
            });
            if !probed {
                missing.push(format!("{} {template}", method.to_uppercase()));
            }
        }
    }
    assert!(missing.is_empty(), "operations without a sample here: {missing:?}");
    app.stop().await;
}

#[tokio::test]
async fn hostile_bytes_never_answer_5xx_and_both_backends_agree() {
    let app = TestApp::new().await;
    let on_sqlite = run(&app).await;
    app.stop().await;
    assert!(on_sqlite.len() > 2_000, "{} probes", on_sqlite.len());
    let Some(app) = TestApp::postgres("hostile_bytes").await else { return };
    let on_postgres = run(&app).await;
    app.stop().await;
    assert_eq!(on_sqlite.len(), on_postgres.len());
    for ((what, sqlite), (_, postgres)) in on_sqlite.iter().zip(&on_postgres) {
        assert_eq!(sqlite, postgres, "{what}: SQLite answered {sqlite}, PostgreSQL {postgres}");
    }
}

/// A NUL character is refused with a `400` naming where it was, except in an alert, whose text
/// keeps it as U+FFFD: the same on both backends.
async fn nul_is_refused_by_name_and_replaced_in_alerts(app: &TestApp) {
    app.post("/api/v1/teams", json!({"name": "payments"})).await;
    let (status, service) = app
        .post("/api/v1/services", json!({"name": "checkout", "team": "payments", "description": "pays"}))
        .await;
    assert_eq!(status, 201);
    let (status, problem) = app.post("/api/v1/teams", json!({"name": "web", "description": "a\u{0}b"})).await;
    assert_eq!(status, 400);
    assert_eq!(
        problem["detail"],
        "field /description contains a NUL character (\\u0000), which firebreak does not store"
    );
    let (status, problem) = app.get("/api/v1/teams/pay%00ments").await;
    assert_eq!(status, 400);
    assert_eq!(problem["detail"], "the path contains a NUL character (%00), which no name, id or key holds");
    let (status, problem) = app.get("/api/v1/incidents?status=triggered&service=check%00out").await;
    assert_eq!(status, 400);
    assert_eq!(problem["detail"], "query parameter \"service\" contains a NUL character (%00)");

    let event = json!({"routing_key": service["integration_key"], "event_action": "trigger", "dedup_key": "disk\u{0}1",
        "payload": {"summary": "disk\u{0}full", "source": "db\u{0}2", "severity": "critical",
            "custom_details": {"mount\u{0}": "/var\u{0}"}}});
    let answer =
        app.anonymous(Method::POST, "/v2/enqueue", Some("application/json"), &event.to_string()).await;
    assert_eq!(answer.status, 202, "{}", answer.text());
    let (_, incidents) = app.get("/api/v1/incidents").await;
    let incident = incidents["incidents"][0]["id"].as_i64().unwrap();
    let (_, alerts) = app.get(&format!("/api/v1/incidents/{incident}/alerts")).await;
    let alert = &alerts[0];
    assert_eq!(
        (alert["summary"].as_str(), alert["source"].as_str(), alert["dedup_key"].as_str()),
        (Some("disk\u{fffd}full"), Some("db\u{fffd}2"), Some("disk\u{fffd}1"))
    );

    let csrf = app.csrf().await;
    let note = app
        .form(
            &format!("/incidents/{incident}/act"),
            &[("csrf", &csrf), ("action", "note"), ("text", "a\u{0}b")],
        )
        .await;
    assert_eq!(note.status, 400);
    assert!(note.text().contains("form field \\\"text\\\" contains a NUL character"), "{}", note.text());
}

#[tokio::test]
async fn nul_is_refused_by_name_and_replaced_in_alerts_on_sqlite() {
    let app = TestApp::new().await;
    nul_is_refused_by_name_and_replaced_in_alerts(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn nul_is_refused_by_name_and_replaced_in_alerts_on_postgres() {
    let Some(app) = TestApp::postgres("nul_refused").await else { return };
    nul_is_refused_by_name_and_replaced_in_alerts(&app).await;
    app.stop().await;
}
