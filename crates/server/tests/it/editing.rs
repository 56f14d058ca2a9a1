//! Editing and deleting what can be created: schedules, their overrides, escalation policies, and
//! a service's integration key. Deleting something in use says what uses it. On both backends.

use axum::http::Method;
use serde_json::json;

use crate::support::TestApp;

async fn edit_and_delete(app: &TestApp) {
    app.post("/api/v1/teams", json!({"name": "payments"})).await;
    for (name, email) in [("Ana", "ana@example.com"), ("Bo", "bo@example.com")] {
        app.post("/api/v1/users", json!({"name": name, "email": email})).await;
    }
    let (_, service) = app
        .post("/api/v1/services", json!({"name": "checkout", "team": "payments", "description": "pays"}))
        .await;
    let layer = |users: serde_json::Value| json!([{"start": "2026-03-02T00:00:00Z", "shift_length": "1d", "users": users}]);
    let (status, schedule) = app
        .post(
            "/api/v1/schedules",
            json!({"name": "primary", "time_zone": "UTC", "layers": layer(json!(["Ana"])),
                   "overrides": [{"user": "Bo", "start": "2026-03-03T00:00:00Z", "end": "2026-03-04T00:00:00Z"}]}),
        )
        .await;
    assert_eq!(status, 201, "{schedule}");
    app.post(
        "/api/v1/schedules",
        json!({"name": "secondary", "time_zone": "UTC", "layers": layer(json!(["Bo"]))}),
    )
    .await;

    // A schedule: renamed, its layers and time zone replaced; a name in use is refused.
    let (status, edited) = app
        .call(
            Method::PATCH,
            "/api/v1/schedules/1",
            Some(json!({"name": "day", "time_zone": "Europe/Lisbon", "layers": layer(json!(["Ana", "Bo"]))})),
        )
        .await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!((edited["name"].as_str(), edited["time_zone"].as_str()), (Some("day"), Some("Europe/Lisbon")));
    assert_eq!(edited["layers"][0]["users"], json!([1, 2]));
    assert_eq!(edited["overrides"].as_array().unwrap().len(), 1, "what is not given stays");
    let (status, problem) =
        app.call(Method::PATCH, "/api/v1/schedules/1", Some(json!({"name": "secondary"}))).await;
    assert_eq!(status, 409, "{problem}");

    // Its override removed, by position.
    let (status, problem) = app.call(Method::DELETE, "/api/v1/schedules/1/overrides/3", None).await;
    assert_eq!(status, 404, "{problem}");
    let (status, edited) = app.call(Method::DELETE, "/api/v1/schedules/1/overrides/0", None).await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(edited["overrides"], json!([]));

    // A policy that targets it: the schedule cannot go while the policy names it.
    let (status, policy) = app
        .post(
            "/api/v1/escalation-policies",
            json!({"name": "default", "levels": [{"timeout_minutes": 5, "targets": [{"type": "schedule", "id": 1}]}]}),
        )
        .await;
    assert_eq!(status, 201, "{policy}");
    let (status, problem) = app.call(Method::DELETE, "/api/v1/schedules/1", None).await;
    assert_eq!(status, 409);
    assert_eq!(
        problem["detail"],
        "schedule day is a target of escalation policies default (1): take it out of them first"
    );

    // The policy edited: another schedule, and repeats; a target that does not exist is refused.
    let (status, edited) = app
        .call(
            Method::PATCH,
            "/api/v1/escalation-policies/1",
            Some(json!({"repeat": 2, "levels": [{"timeout_minutes": 10, "targets": [{"type": "schedule", "id": 2}]}]})),
        )
        .await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!((edited["name"].as_str(), edited["repeat"].as_u64()), (Some("default"), Some(2)));
    assert_eq!(edited["levels"][0]["targets"], json!([{"type": "schedule", "id": 2}]));
    let (status, _) = app
        .call(
            Method::PATCH,
            "/api/v1/escalation-policies/1",
            Some(json!({"levels": [{"timeout_minutes": 10, "targets": [{"type": "user", "id": 99}]}]})),
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = app.call(Method::DELETE, "/api/v1/schedules/1", None).await;
    assert_eq!(status, 204);
    assert_eq!(app.get("/api/v1/schedules/1").await.0, 404);

    // A policy in use by a service cannot go; once the service has none, it can.
    let path = format!("/api/v1/services/{}", service["id"]);
    app.call(Method::PATCH, &path, Some(json!({"escalation_policy": 1}))).await;
    let (status, problem) = app.call(Method::DELETE, "/api/v1/escalation-policies/1", None).await;
    assert_eq!(status, 409);
    assert_eq!(
        problem["detail"],
        "escalation policy default is used by services checkout (1): give them another policy (or none) first"
    );
    app.call(Method::PATCH, &path, Some(json!({"escalation_policy": null}))).await;
    assert_eq!(app.call(Method::DELETE, "/api/v1/escalation-policies/1", None).await.0, 204);
    assert_eq!(app.get("/api/v1/escalation-policies/1").await.0, 404);

    // A policy an incident is paging through stays until the incident is resolved.
    app.post(
        "/api/v1/users/Ana/contact-methods",
        json!({"type": "webhook", "address": "https://hooks.example/a"}),
    )
    .await;
    let (_, policy) = app
        .post(
            "/api/v1/escalation-policies",
            json!({"name": "paging", "levels": [{"timeout_minutes": 5, "targets": [{"type": "user", "id": 1}]}]}),
        )
        .await;
    app.call(Method::PATCH, &path, Some(json!({"escalation_policy": policy["id"]}))).await;
    let (_, incident) = app.post("/api/v1/incidents", json!({"title": "slow", "service": "checkout"})).await;
    let incident = incident["id"].as_i64().unwrap();
    for _ in 0..500 {
        let (status, escalation) = app.get(&format!("/api/v1/incidents/{incident}/escalation")).await;
        if status == 200 && escalation["state"] == "active" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    app.call(Method::PATCH, &path, Some(json!({"escalation_policy": null}))).await;
    let policy = format!("/api/v1/escalation-policies/{}", policy["id"]);
    let (status, problem) = app.call(Method::DELETE, &policy, None).await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(
        problem["detail"],
        format!("incidents {incident} are paging through escalation policy paging: resolve them first")
    );
    app.post(&format!("/api/v1/incidents/{incident}/resolve"), json!({})).await;
    assert_eq!(app.call(Method::DELETE, &policy, None).await.0, 204);

    // A new integration key: the old one no longer sends alerts, the new one does.
    let old_key = service["integration_key"].as_str().unwrap();
    let send = |key: String| {
        let event = json!({"routing_key": key, "event_action": "trigger",
            "payload": {"summary": "disk full", "source": "db-1", "severity": "warning"}});
        async move {
            app.anonymous(Method::POST, "/v2/enqueue", Some("application/json"), &event.to_string()).await
        }
    };
    assert_eq!(send(old_key.to_owned()).await.status, 202);
    let (status, rotated) = app.post(&format!("{path}/integration-key"), json!({})).await;
    assert_eq!(status, 201, "{rotated}");
    let new_key = rotated["integration_key"].as_str().unwrap().to_owned();
    assert!(new_key.starts_with("fbk_") && new_key != old_key);
    assert_eq!(send(old_key.to_owned()).await.status, 400, "the old key no longer works");
    assert_eq!(send(new_key).await.status, 202);
}

#[tokio::test]
async fn schedules_policies_and_keys_are_edited_and_deleted_on_sqlite() {
    let app = TestApp::new().await;
    edit_and_delete(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn schedules_policies_and_keys_are_edited_and_deleted_on_postgres() {
    let Some(app) = TestApp::postgres("editing").await else { return };
    edit_and_delete(&app).await;
    app.stop().await;
}

/// Teams, users and services: deleting one in use is refused naming what uses it; once nothing
/// does, it goes from every list and lookup, its name can be used again, and the incidents that
/// named it keep doing so.
async fn delete_catalog(app: &TestApp) {
    app.post("/api/v1/teams", json!({"name": "payments"})).await;
    app.post("/api/v1/teams", json!({"name": "spare"})).await;
    app.post("/api/v1/users", json!({"name": "Ana", "email": "ana@example.com"})).await;
    let (_, bo) = app.post("/api/v1/users", json!({"name": "Bo", "email": "bo@example.com"})).await;
    app.post("/api/v1/teams/payments/members", json!({"user_id": bo["id"]})).await;
    let (_, ledger) = app
        .post("/api/v1/services", json!({"name": "ledger", "team": "payments", "description": "books"}))
        .await;
    app.post(
        "/api/v1/services",
        json!({"name": "checkout", "team": "payments", "description": "pays", "dependencies": ["ledger"]}),
    )
    .await;
    app.post(
        "/api/v1/schedules",
        json!({"name": "primary", "time_zone": "UTC",
               "layers": [{"start": "2026-03-02T00:00:00Z", "shift_length": "1d", "users": ["Ana"]}]}),
    )
    .await;
    app.post(
        "/api/v1/escalation-policies",
        json!({"name": "db", "levels": [{"timeout_minutes": 5, "targets": [{"type": "team", "id": 2}, {"type": "user", "id": 2}]}]}),
    )
    .await;
    let (_, incident) =
        app.post("/api/v1/incidents", json!({"title": "ledger slow", "service": "ledger"})).await;
    let incident = incident["id"].as_i64().unwrap();
    app.post(&format!("/api/v1/incidents/{incident}/assign"), json!({"role": "assignee", "user": "Bo"}))
        .await;

    // In use: each refusal names what uses it.
    let refused = |path: &'static str, detail: &'static str| async move {
        let (status, problem) = app.call(Method::DELETE, path, None).await;
        assert_eq!(status, 409, "{path}: {problem}");
        assert_eq!(problem["detail"], detail, "{path}");
    };
    refused(
        "/api/v1/teams/payments",
        "team payments is in use: services checkout, ledger belong to it; move or delete them first",
    )
    .await;
    refused(
        "/api/v1/teams/spare",
        "team spare is in use: escalation policies db (1) page it; move or delete them first",
    )
    .await;
    refused(
        "/api/v1/users/Ana",
        "user Ana is in use: on-call schedules primary (1) include them; take them out first, so that no page falls through",
    )
    .await;
    refused(
        "/api/v1/users/Bo",
        "user Bo is in use: escalation policies db (1) page them; take them out first, so that no page falls through",
    )
    .await;
    refused(
        "/api/v1/services/ledger",
        "service ledger is in use: services checkout depend on it; incidents #1 are not resolved; resolve or change them first",
    )
    .await;
    assert_eq!(app.call(Method::DELETE, "/api/v1/services/nothing", None).await.0, 404);

    // Once nothing uses them, they go.
    app.call(Method::DELETE, "/api/v1/escalation-policies/1", None).await;
    assert_eq!(app.call(Method::DELETE, "/api/v1/teams/spare", None).await.0, 204);
    assert_eq!(app.call(Method::DELETE, "/api/v1/users/Bo", None).await.0, 204);
    assert_eq!(app.get("/api/v1/users/Bo").await.0, 404);
    assert_eq!(app.get("/api/v1/users/2").await.0, 404);
    let (_, members) = app.get("/api/v1/teams/payments/members").await;
    assert_eq!(members, json!([]), "memberships go with the user");
    let (_, users) = app.get("/api/v1/users").await;
    assert_eq!(users.as_array().unwrap().len(), 1);
    // The name and email are free again; the incident still names the deleted person.
    let (status, _) = app.post("/api/v1/users", json!({"name": "Bo", "email": "bo@example.com"})).await;
    assert_eq!(status, 201);
    let (_, detail) = app.get(&format!("/api/v1/incidents/{incident}")).await;
    assert_eq!(detail["assignee_id"], bo["id"], "{detail}");

    app.post(&format!("/api/v1/incidents/{incident}/resolve"), json!({})).await;
    app.call(Method::PATCH, "/api/v1/services/checkout", Some(json!({"dependencies": []}))).await;
    assert_eq!(app.call(Method::DELETE, "/api/v1/services/ledger", None).await.0, 204);
    assert_eq!(app.get("/api/v1/services/ledger").await.0, 404);
    assert_eq!(app.get(&format!("/api/v1/services/{}", ledger["id"])).await.0, 404);
    let (_, services) = app.get("/api/v1/services").await;
    let names: Vec<&str> = services.as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["checkout"]);
    // Its key no longer sends alerts; its incident is still there, with its service id.
    let event = json!({"routing_key": ledger["integration_key"], "event_action": "trigger",
        "payload": {"summary": "disk full", "source": "db-1", "severity": "warning"}});
    let answer =
        app.anonymous(Method::POST, "/v2/enqueue", Some("application/json"), &event.to_string()).await;
    assert_eq!(answer.status, 400);
    let (status, detail) = app.get(&format!("/api/v1/incidents/{incident}")).await;
    assert_eq!((status, &detail["service_id"]), (200, &ledger["id"]));
    let (status, _) = app
        .post(
            "/api/v1/services",
            json!({"name": "ledger", "team": "payments", "description": "books, again"}),
        )
        .await;
    assert_eq!(status, 201, "the name is free again");

    // The team goes once its services do.
    app.call(Method::DELETE, "/api/v1/services/ledger", None).await;
    app.call(Method::DELETE, "/api/v1/services/checkout", None).await;
    assert_eq!(app.call(Method::DELETE, "/api/v1/teams/payments", None).await.0, 204);
    let (_, teams) = app.get("/api/v1/teams").await;
    assert_eq!(teams, json!([]));
}

#[tokio::test]
async fn teams_users_and_services_are_deleted_on_sqlite() {
    let app = TestApp::new().await;
    delete_catalog(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn teams_users_and_services_are_deleted_on_postgres() {
    let Some(app) = TestApp::postgres("deleting").await else { return };
    delete_catalog(&app).await;
    app.stop().await;
}
