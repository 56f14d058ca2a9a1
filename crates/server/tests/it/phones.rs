//! Answers from phones: a reply to an SMS page and a key pressed during a call, as Twilio posts
//! them back with `X-Twilio-Signature`. Replies act as the person paged, only on incidents that
//! paged them; unsigned or wrongly signed requests change nothing.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, header};
use serde_json::{Value, json};

use crate::support::{Answer, TWILIO_AUTH_TOKEN, TestApp, percent_encode};

const PUBLIC_URL: &str = "https://firebreak.example";

/// Posts `params` to `path` as Twilio does, signed with `token`.
async fn twilio(app: &TestApp, path: &str, params: &[(&str, &str)], token: &str) -> Answer {
    let owned: Vec<(String, String)> =
        params.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    let signature = firebreak_notify::twilio_signature(token, &format!("{PUBLIC_URL}{path}"), &owned);
    let body: Vec<String> = params.iter().map(|(k, v)| format!("{k}={}", percent_encode(v))).collect();
    let request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("X-Twilio-Signature", signature)
        .body(Body::from(body.join("&")))
        .unwrap();
    app.send(request).await
}

async fn paged(app: &TestApp, incident: i64, channels: usize) -> Vec<Value> {
    for _ in 0..500 {
        let (_, notifications) = app.get(&format!("/api/v1/incidents/{incident}/notifications")).await;
        let list = notifications.as_array().unwrap().clone();
        if list.iter().filter(|n| n["status"] == "delivered").count() >= channels {
            return list;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("incident {incident} was not paged");
}

async fn replies(app: &TestApp) {
    app.post("/api/v1/teams", json!({"name": "payments"})).await;
    app.post("/api/v1/users", json!({"name": "Ana", "email": "ana@example.com"})).await;
    app.post("/api/v1/users", json!({"name": "Bo", "email": "bo@example.com"})).await;
    for kind in ["sms", "voice"] {
        let (status, method) = app
            .post("/api/v1/users/Ana/contact-methods", json!({"type": kind, "address": "+15551230001"}))
            .await;
        assert_eq!(status, 201, "{method}");
    }
    app.post("/api/v1/users/Bo/contact-methods", json!({"type": "sms", "address": "+15551230002"})).await;
    let (_, policy) = app
        .post(
            "/api/v1/escalation-policies",
            json!({"name": "p", "levels": [
                {"timeout_minutes": 5, "targets": [{"type": "user", "id": 1}]},
                {"timeout_minutes": 5, "targets": [{"type": "user", "id": 2}]}]}),
        )
        .await;
    app.post("/api/v1/services", json!({"name": "checkout", "team": "payments", "description": "pays"}))
        .await;
    app.call(Method::PATCH, "/api/v1/services/checkout", Some(json!({"escalation_policy": policy["id"]})))
        .await;

    let (_, first) =
        app.post("/api/v1/incidents", json!({"title": "card payments failing", "service": "checkout"})).await;
    let first = first["id"].as_i64().unwrap();
    paged(app, first, 2).await;

    // Unsigned, wrongly signed, or signed for another URL: refused, nothing changes.
    let ack = format!("ack {first}");
    let params = [("From", "+15551230001"), ("Body", ack.as_str()), ("MessageSid", "SM123")];
    assert_eq!(twilio(app, "/twilio/sms", &params, "another-token").await.status, 403);
    let unsigned = app
        .anonymous(
            Method::POST,
            "/twilio/sms",
            Some("application/x-www-form-urlencoded"),
            "From=%2B15551230001&Body=ack",
        )
        .await;
    assert_eq!(unsigned.status, 403);
    let (_, incident) = app.get(&format!("/api/v1/incidents/{first}")).await;
    assert_eq!(incident["status"], "triggered");

    // Bo was not paged for it: his "ack" does nothing.
    let bo = [("From", "+15551230002"), ("Body", ack.as_str())];
    let answer = twilio(app, "/twilio/sms", &bo, TWILIO_AUTH_TOKEN).await;
    assert!(
        answer.text().contains(&format!("Incident #{first} did not page this number.")),
        "{}",
        answer.text()
    );

    // Ana's reply acknowledges, as Ana.
    let answer = twilio(app, "/twilio/sms", &params, TWILIO_AUTH_TOKEN).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("content-type"), "text/xml; charset=utf-8");
    assert!(answer.text().contains("<Message>"), "{}", answer.text());
    assert!(answer.text().contains(&format!("Incident #{first} acknowledged")), "{}", answer.text());
    let (_, incident) = app.get(&format!("/api/v1/incidents/{first}")).await;
    assert_eq!(incident["status"], "acknowledged");
    let ack_entry = incident["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["summary"].as_str().unwrap_or("").contains("acknowledged"))
        .cloned();
    assert_eq!(ack_entry.unwrap()["actor"], "Ana");
    // Again: refused, saying why.
    let answer = twilio(app, "/twilio/sms", &params, TWILIO_AUTH_TOKEN).await;
    assert!(answer.text().contains("not changed"), "{}", answer.text());
    // Gibberish gets the instructions.
    let answer =
        twilio(app, "/twilio/sms", &[("From", "+15551230001"), ("Body", "thanks!")], TWILIO_AUTH_TOKEN).await;
    assert!(answer.text().contains("Reply &quot;ack N&quot;"), "{}", answer.text());

    // A second incident, and the key 2 pressed during Ana's call: the next level (Bo) is paged now.
    let (_, second) =
        app.post("/api/v1/incidents", json!({"title": "ledger slow", "service": "checkout"})).await;
    let second = second["id"].as_i64().unwrap();
    let notifications = paged(app, second, 2).await;
    let call = notifications.iter().find(|n| n["channel"] == "voice").unwrap()["id"].as_i64().unwrap();
    let path = format!("/twilio/voice/{call}");
    let answer = twilio(app, &path, &[("Digits", "2"), ("CallSid", "CA123")], TWILIO_AUTH_TOKEN).await;
    assert_eq!(answer.status, 200);
    assert!(answer.text().contains("<Say>"), "{}", answer.text());
    assert!(answer.text().contains(&format!("Incident #{second} escalated")), "{}", answer.text());
    let notifications = paged(app, second, 3).await;
    assert!(notifications.iter().any(|n| n["user_name"] == "Bo" && n["level"] == 2), "{notifications:?}");
    // And 1 acknowledges; a reply without a number finds nothing triggered left.
    let answer = twilio(app, &path, &[("Digits", "1")], TWILIO_AUTH_TOKEN).await;
    assert!(answer.text().contains(&format!("Incident #{second} acknowledged")), "{}", answer.text());
    let answer =
        twilio(app, "/twilio/sms", &[("From", "+15551230001"), ("Body", "ack")], TWILIO_AUTH_TOKEN).await;
    assert!(answer.text().contains("No triggered incident paged this number"), "{}", answer.text());
}

#[tokio::test]
async fn sms_replies_and_phone_keys_act_as_the_person_paged_on_sqlite() {
    let app = TestApp::new().await;
    replies(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn sms_replies_and_phone_keys_act_as_the_person_paged_on_postgres() {
    let Some(app) = TestApp::postgres("phones").await else { return };
    replies(&app).await;
    app.stop().await;
}

/// From the incident page: reassigning pages the new assignee at once; snoozing an acknowledged
/// incident triggers it again when the snooze runs out.
async fn reassign_and_snooze(app: &TestApp) {
    app.post("/api/v1/teams", json!({"name": "payments"})).await;
    for (name, hook) in [("Ana", "https://hooks.example/ana"), ("Bo", "https://hooks.example/bo")] {
        app.post("/api/v1/users", json!({"name": name, "email": format!("{name}@example.com")})).await;
        app.post(
            &format!("/api/v1/users/{name}/contact-methods"),
            json!({"type": "webhook", "address": hook}),
        )
        .await;
    }
    let (_, policy) = app
        .post(
            "/api/v1/escalation-policies",
            json!({"name": "p", "levels": [{"timeout_minutes": 30, "targets": [{"type": "user", "id": 1}]}]}),
        )
        .await;
    app.post("/api/v1/services", json!({"name": "checkout", "team": "payments", "description": "pays"}))
        .await;
    app.call(Method::PATCH, "/api/v1/services/checkout", Some(json!({"escalation_policy": policy["id"]})))
        .await;
    let (_, incident) = app.post("/api/v1/incidents", json!({"title": "slow", "service": "checkout"})).await;
    let id = incident["id"].as_i64().unwrap();
    paged(app, id, 1).await;

    let csrf = app.csrf().await;
    let act = format!("/incidents/{id}/act");
    let answer = app.form(&act, &[("csrf", &csrf), ("action", "reassign"), ("user", "2")]).await;
    assert_eq!(answer.status, 303, "{}", answer.text());
    let notifications = paged(app, id, 2).await;
    assert!(
        notifications.iter().any(|n| n["user_name"] == "Bo" && n["level"] == 0 && n["status"] == "delivered"),
        "{notifications:?}"
    );
    let (_, detail) = app.get(&format!("/api/v1/incidents/{id}")).await;
    assert_eq!(detail["assignee_id"], 2);

    // Snoozing needs an acknowledgement first; then the page offers it.
    let answer = app.form(&act, &[("csrf", &csrf), ("action", "snooze"), ("minutes", "15")]).await;
    assert_eq!(answer.status, 409, "{}", answer.text());
    app.form(&act, &[("csrf", &csrf), ("action", "acknowledge")]).await;
    assert!(app.page(&format!("/incidents/{id}")).await.text().contains(r#"id="snooze""#));
    let answer = app.form(&act, &[("csrf", &csrf), ("action", "snooze"), ("minutes", "15")]).await;
    assert_eq!(answer.status, 303, "{}", answer.text());
    let (_, detail) = app.get(&format!("/api/v1/incidents/{id}")).await;
    assert!(detail["snoozed_until"].is_string(), "{detail}");
    app.clock.advance(jiff::SignedDuration::from_mins(15));
    for _ in 0..500 {
        let (_, detail) = app.get(&format!("/api/v1/incidents/{id}")).await;
        if detail["status"] == "triggered" {
            let (_, api) = app.post(&format!("/api/v1/incidents/{id}/snooze"), json!({"minutes": 5})).await;
            assert_eq!(api["status"], 409, "only an acknowledged incident snoozes: {api}");
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the snooze did not run out");
}

#[tokio::test]
async fn reassign_pages_and_a_snooze_runs_out_on_sqlite() {
    let app = TestApp::new().await;
    reassign_and_snooze(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn reassign_pages_and_a_snooze_runs_out_on_postgres() {
    let Some(app) = TestApp::postgres("reassign").await else { return };
    reassign_and_snooze(&app).await;
    app.stop().await;
}
