//! Schedules, escalation policies and who is on call, over the HTTP API.

use axum::http::Method;
use serde_json::{Value, json};

use crate::support::TestApp;

#[tokio::test]
async fn schedules_policies_and_on_call() {
    let api = TestApp::new().await;
    for (name, email) in [("Ana", "ana@example.com"), ("Bo", "bo@example.com"), ("Cy", "cy@example.com")] {
        let (status, _) = api
            .call(
                Method::POST,
                "/api/v1/users",
                Some(json!({"name": name, "email": email, "time_zone": "Europe/Berlin"})),
            )
            .await;
        assert_eq!(status, 201);
    }
    // A weekly rotation handing off Monday 09:00 Berlin time, across the March DST change.
    let (status, schedule) = api.call(
        Method::POST,
        "/api/v1/schedules",
        Some(json!({"name": "primary", "time_zone": "Europe/Berlin",
                    "layers": [{"start": "2026-03-23T08:00:00Z", "shift_length": "1w", "users": ["Ana", "Bo"]}]})),
    )
    .await;
    assert_eq!(status, 201, "{schedule}");
    let id = schedule["id"].as_i64().unwrap();
    assert_eq!(schedule["layers"][0]["users"], json!([1, 2]), "users are stored by id");

    let on_call = |at: &str| {
        let path = format!("/api/v1/schedules/{id}/oncall?at={at}");
        let api = &api;
        async move { api.get(&path).await }
    };
    assert_eq!(on_call("2026-03-30T06:59:59Z").await.1["user"]["name"], "Ana");
    assert_eq!(on_call("2026-03-30T07:00:00Z").await.1["user"]["name"], "Bo", "09:00 CEST is 07:00 UTC");
    assert_eq!(
        on_call("2026-03-01T00:00:00Z").await.1["user"],
        Value::Null,
        "nobody before the first hand-off"
    );

    let (status, _) = api
        .call(
            Method::POST,
            &format!("/api/v1/schedules/{id}/overrides"),
            Some(json!({"user": "Cy", "start": "2026-04-01T00:00:00Z", "end": "2026-04-02T00:00:00Z"})),
        )
        .await;
    assert_eq!(status, 201);
    let (status, shifts) = api
        .call(
            Method::GET,
            &format!("/api/v1/schedules/{id}/shifts?from=2026-03-23T08:00:00Z&to=2026-04-06T07:00:00Z"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{shifts}");
    let shifts: Vec<String> = shifts
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "{} {}..{}",
                s["user_name"].as_str().unwrap(),
                s["start"].as_str().unwrap(),
                s["end"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        shifts,
        [
            "Ana 2026-03-23T08:00:00Z..2026-03-30T07:00:00Z",
            "Bo 2026-03-30T07:00:00Z..2026-04-01T00:00:00Z",
            "Cy 2026-04-01T00:00:00Z..2026-04-02T00:00:00Z",
            "Bo 2026-04-02T00:00:00Z..2026-04-06T07:00:00Z",
        ]
    );

    let (status, policy) = api
        .call(
            Method::POST,
            "/api/v1/escalation-policies",
            Some(json!({"name": "checkout", "repeat": 2, "levels": [
            {"timeout_minutes": 5, "targets": [{"type": "schedule", "id": id}]},
            {"timeout_minutes": 10, "targets": [{"type": "user", "id": 3}], "wakes_management": true}]})),
        )
        .await;
    assert_eq!(status, 201, "{policy}");
    let (status, problem) = api.call(
        Method::POST,
        "/api/v1/escalation-policies",
        Some(json!({"name": "broken", "levels": [{"timeout_minutes": 5, "targets": [{"type": "schedule", "id": 99}]}]})),
    )
    .await;
    assert_eq!((status, problem["detail"].as_str().unwrap()), (404, "there is no schedule 99"));

    api.call(Method::POST, "/api/v1/teams", Some(json!({"name": "payments"}))).await;
    api.call(
        Method::POST,
        "/api/v1/services",
        Some(json!({"name": "checkout", "team": "payments", "description": "pays"})),
    )
    .await;
    let (status, service) = api
        .call(Method::PATCH, "/api/v1/services/checkout", Some(json!({"escalation_policy": policy["id"]})))
        .await;
    assert_eq!((status, &service["escalation_policy_id"]), (200, &policy["id"]));
    let (_, now) =
        api.call(Method::GET, "/api/v1/oncall?service=checkout&at=2026-04-01T12:00:00Z", None).await;
    let levels: Vec<String> = now["levels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            format!(
                "{}:{}",
                l["level"],
                l["users"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|u| u["name"].as_str().unwrap())
                    .collect::<Vec<_>>()
                    .join("+")
            )
        })
        .collect();
    assert_eq!(levels, ["1:Cy", "2:Cy"], "the override covers level 1; level 2 pages Cy directly");

    // A level that targets a team pages its members.
    for user in [1, 2] {
        let (status, member) =
            api.call(Method::POST, "/api/v1/teams/payments/members", Some(json!({"user_id": user}))).await;
        assert_eq!(status, 201, "{member}");
    }
    let (status, problem) =
        api.call(Method::POST, "/api/v1/teams/payments/members", Some(json!({"user_id": 99}))).await;
    assert_eq!((status, problem["detail"].as_str().unwrap()), (404, "there is no user 99"));
    let (_, members) = api.get("/api/v1/teams/payments/members").await;
    assert_eq!(members.as_array().unwrap().len(), 2, "{members}");
    let (_, team) = api.get("/api/v1/teams/payments").await;
    let (status, team_policy) = api
        .call(
            Method::POST,
            "/api/v1/escalation-policies",
            Some(json!({"name": "team", "levels": [
                {"timeout_minutes": 5, "targets": [{"type": "team", "id": team["id"]}]}]})),
        )
        .await;
    assert_eq!(status, 201, "{team_policy}");
    api.call(
        Method::PATCH,
        "/api/v1/services/checkout",
        Some(json!({"escalation_policy": team_policy["id"]})),
    )
    .await;
    let (_, now) = api.get("/api/v1/oncall?service=checkout").await;
    let names: Vec<&str> =
        now["levels"][0]["users"].as_array().unwrap().iter().map(|u| u["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Ana", "Bo"], "{now}");
    let (status, _) = api.call(Method::DELETE, "/api/v1/teams/payments/members/Bo", None).await;
    assert_eq!(status, 204);
    let (_, now) = api.get("/api/v1/oncall?service=checkout").await;
    assert_eq!(now["levels"][0]["users"].as_array().unwrap().len(), 1, "{now}");
    let (status, problem) = api.call(
        Method::POST,
        "/api/v1/escalation-policies",
        Some(json!({"name": "x", "levels": [{"timeout_minutes": 5, "targets": [{"type": "group", "id": 1}]}]})),
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("expected user, schedule or team"), "{problem}");
    let (status, service) =
        api.call(Method::PATCH, "/api/v1/services/checkout", Some(json!({"escalation_policy": null}))).await;
    assert_eq!((status, &service["escalation_policy_id"]), (200, &Value::Null));
    api.stop().await;
}
