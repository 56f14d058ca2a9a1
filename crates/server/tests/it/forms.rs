//! The web UI's forms, in-process: teams, users, contact methods, services, schedules, overrides
//! and escalation policies created, edited and deleted with form posts, each answered with a
//! redirect; a refused change shows the form again with what was typed and the application's
//! message, with a 4xx status; a form without the session's token changes nothing. And the live
//! parts: the incident list and timeline answered alone, `304` while unchanged, and the script.

use axum::body::Body;
use axum::http::{Method, Request, header};
use serde_json::json;

use crate::support::{Answer, TestApp};

/// Checks that `answer` is the redirect to `to`.
#[track_caller]
fn redirected(answer: &Answer, to: &str) {
    assert_eq!((answer.status.as_u16(), answer.header("location")), (303, to), "{}", answer.text());
}

/// Checks that `answer` is a form shown again with `status` and `message`, with `typed` in it.
#[track_caller]
fn refused(answer: &Answer, status: u16, message: &str, typed: &str) {
    let html = answer.text();
    assert_eq!(answer.status.as_u16(), status, "{html}");
    assert!(html.contains(r#"id="form-error""#) && html.contains(message), "no {message:?} in {html}");
    assert!(html.contains(typed), "what was typed, {typed:?}, is not in {html}");
    assert!(html.contains("<nav>"), "a whole page: {html}");
}

async fn edit_everything(app: &TestApp) {
    let csrf = app.csrf().await;
    let csrf = csrf.as_str();

    // People: a team, two users, a member, contact methods.
    let forged = app.form("/teams", &[("csrf", "nope"), ("name", "payments")]).await;
    assert_eq!(forged.status, 403);
    assert_eq!(app.get("/api/v1/teams").await.1.as_array().map(Vec::len), Some(0), "nothing was created");
    let team =
        app.form("/teams", &[("csrf", csrf), ("name", "payments"), ("description", "takes money")]).await;
    redirected(&team, "/teams/1");
    let again = app.form("/teams", &[("csrf", csrf), ("name", "payments"), ("description", "twice")]).await;
    refused(&again, 409, "payments", "twice");
    for (name, email) in [("Ana", "ana@example.com"), ("Bo", "bo@example.com")] {
        let user = app
            .form("/users", &[("csrf", csrf), ("name", name), ("email", email), ("time_zone", "UTC")])
            .await;
        assert_eq!(user.status, 303, "{}", user.text());
    }
    let bad = app
        .form("/users", &[("csrf", csrf), ("name", "Cy"), ("email", "cy"), ("time_zone", "Mars/Base")])
        .await;
    refused(&bad, 422, "unknown time zone", "Mars/Base");
    let edited = app
        .form(
            "/users/3",
            &[("csrf", csrf), ("name", "Bo"), ("email", "bo@example.org"), ("time_zone", "Europe/Lisbon")],
        )
        .await;
    redirected(&edited, "/users/3");
    assert_eq!(app.get("/api/v1/users/Bo").await.1["time_zone"], "Europe/Lisbon");
    redirected(&app.form("/teams/1/members", &[("csrf", csrf), ("user", "2")]).await, "/teams/1");
    redirected(&app.form("/teams/1/members", &[("csrf", csrf), ("user", "3")]).await, "/teams/1");
    redirected(&app.form("/teams/1/members/3/remove", &[("csrf", csrf)]).await, "/teams/1");
    let members = app.get("/api/v1/teams/payments/members").await.1;
    assert_eq!(
        members.as_array().unwrap().iter().map(|m| m["name"].as_str()).collect::<Vec<_>>(),
        [Some("Ana")]
    );
    redirected(
        &app.form("/teams/1", &[("csrf", csrf), ("name", "payments"), ("description", "moves money")]).await,
        "/teams/1",
    );
    let method = app
        .form(
            "/users/2/contact-methods",
            &[("csrf", csrf), ("type", "email"), ("address", "ana@example.com")],
        )
        .await;
    redirected(&method, "/users/2#contact-methods");
    let hook = app
        .form(
            "/users/2/contact-methods",
            &[("csrf", csrf), ("type", "webhook"), ("address", "https://hooks.example/a")],
        )
        .await;
    assert_eq!(hook.status, 200, "the secret is shown once: {}", hook.text());
    assert!(hook.text().contains(r#"id="webhook-secret""#), "{}", hook.text());
    let wrong = app
        .form("/users/2/contact-methods", &[("csrf", csrf), ("type", "pigeon"), ("address", "roof")])
        .await;
    refused(&wrong, 422, "pigeon", "roof");
    redirected(
        &app.form("/users/2/contact-methods/1/remove", &[("csrf", csrf)]).await,
        "/users/2#contact-methods",
    );
    let methods = app.get("/api/v1/users/Ana/contact-methods").await.1;
    assert_eq!(methods.as_array().unwrap().len(), 1);
    let hook_id = methods[0]["id"].to_string();
    // A notification rule on it: added, refused with a bad delay, shown, removed.
    let rule = [
        ("csrf", csrf),
        ("contact_method_id", hook_id.as_str()),
        ("urgency", "low"),
        ("delay_minutes", "5"),
        ("hours", "day"),
    ];
    redirected(&app.form("/users/2/notification-rules", &rule).await, "/users/2#notification-rules");
    let rules = app.get("/api/v1/users/Ana/notification-rules").await.1;
    assert_eq!(
        (rules[0]["urgency"].as_str(), rules[0]["delay_minutes"].as_i64(), rules[0]["hours"].as_str()),
        (Some("low"), Some(5), Some("day"))
    );
    let bad = [
        ("csrf", csrf),
        ("contact_method_id", hook_id.as_str()),
        ("urgency", "high"),
        ("delay_minutes", "soon"),
        ("hours", "any"),
    ];
    assert_eq!(app.form("/users/2/notification-rules", &bad).await.status, 422);
    let page = app.page("/users/2").await.text();
    assert!(page.contains(r#"id="notification-rules""#) && page.contains("5 min"), "{page}");
    let path = format!("/users/2/notification-rules/{}/remove", rules[0]["id"]);
    redirected(&app.form(&path, &[("csrf", csrf)]).await, "/users/2#notification-rules");
    assert_eq!(app.get("/api/v1/users/Ana/notification-rules").await.1, serde_json::json!([]));
    let people = app.page("/people").await.text();
    assert!(
        people.contains("payments") && people.contains("moves money") && people.contains("bo@example.org"),
        "{people}"
    );

    // A service: created with its key shown once, refused without a name, edited, a new key.
    let empty = app
        .form("/services", &[("csrf", csrf), ("name", ""), ("team", "1"), ("description", "kept as typed")])
        .await;
    refused(&empty, 422, "name", "kept as typed");
    let created = app
        .form(
            "/services",
            &[
                ("csrf", csrf),
                ("name", "ledger"),
                ("team", "1"),
                ("description", "books"),
                ("escalation_policy", ""),
            ],
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.text());
    let created = app
        .form(
            "/services",
            &[
                ("csrf", csrf),
                ("name", "checkout"),
                ("team", "1"),
                ("description", "takes card payments"),
                ("dependencies", "1"),
                ("links", "Dashboard https://grafana.example/d/1\nhttps://status.example"),
                ("runbook", "# Restart it"),
            ],
        )
        .await;
    let html = created.text();
    assert_eq!(created.status, 200, "{html}");
    assert!(html.contains(r#"<code id="integration-key">fbk_"#), "{html}");
    assert!(html.contains("https://firebreak.example/api/v1/ingest/alertmanager/fbk_"), "{html}");
    let (_, service) = app.get("/api/v1/services/checkout").await;
    assert_eq!(service["dependencies"], json!([1]));
    assert_eq!(
        service["links"],
        json!([{"title": "Dashboard", "url": "https://grafana.example/d/1"},
               {"title": "https://status.example", "url": "https://status.example"}])
    );
    let edit = app.page("/services/2/edit").await.text();
    assert!(edit.contains(r#"<option value="1" selected>ledger</option>"#), "{edit}");
    let saved = app
        .form(
            "/services/2/edit",
            &[
                ("csrf", csrf),
                ("name", "checkout"),
                ("team", "1"),
                ("description", "takes every payment"),
                ("links", ""),
                ("runbook", "# Restart it"),
                ("group_by", "alertname, region"),
                ("group_window", "30"),
                ("auto_resolve", "yes"),
            ],
        )
        .await;
    redirected(&saved, "/services/2");
    let (_, service) = app.get("/api/v1/services/checkout").await;
    assert_eq!(service["description"], "takes every payment");
    assert_eq!(service["dependencies"], json!([]), "none chosen: none");
    assert_eq!(
        service["alert_settings"],
        json!({"group_by": ["alertname", "region"], "group_window_minutes": 30, "auto_resolve": true})
    );
    let taken = app
        .form(
            "/services/2/edit",
            &[("csrf", csrf), ("name", "ledger"), ("team", "1"), ("description", "mine")],
        )
        .await;
    refused(&taken, 409, "ledger", "mine");
    let unconfirmed = app.form("/services/2/rotate-key", &[("csrf", csrf)]).await;
    refused(&unconfirmed, 400, "tick the box", "takes every payment");
    let rotated = app.form("/services/2/rotate-key", &[("csrf", csrf), ("confirm", "yes")]).await;
    assert_eq!(rotated.status, 200);
    assert!(rotated.text().contains("New key of checkout"), "{}", rotated.text());

    // A schedule: two layers, one removed later; an override added and removed.
    let schedule = [
        ("csrf", csrf),
        ("name", "primary"),
        ("time_zone", "Europe/Lisbon"),
        ("layer.0.start", "2026-03-02T09:00"),
        ("layer.0.shift_length", "1w"),
        ("layer.0.users", "Ana, Bo"),
        ("layer.0.restrictions", ""),
        ("layer.1.new", "yes"),
        ("layer.1.start", "2026-03-02T09:00"),
        ("layer.1.shift_length", "1d"),
        ("layer.1.users", "Bo"),
        ("layer.1.restrictions", "weekly monday 09:00-friday 17:00"),
    ];
    let unknown = app
        .form(
            "/schedules",
            &[
                schedule.as_slice(),
                &[
                    ("layer.2.new", "yes"),
                    ("layer.2.start", "2026-03-02T09:00"),
                    ("layer.2.shift_length", "1d"),
                    ("layer.2.users", "Zed"),
                ],
            ]
            .concat(),
        )
        .await;
    refused(&unknown, 404, "Zed", "Zed");
    redirected(&app.form("/schedules", &schedule).await, "/schedules/1");
    let (_, stored) = app.get("/api/v1/schedules/1").await;
    assert_eq!(stored["time_zone"], "Europe/Lisbon");
    assert_eq!(stored["layers"][0]["start"], "2026-03-02T09:00:00Z", "09:00 in Lisbon's winter");
    assert_eq!(stored["layers"][1]["restrictions"][0]["end_day"], "friday");
    let edit = app.page("/schedules/1/edit").await.text();
    assert!(
        edit.contains(r#"value="Ana, Bo""#) && edit.contains("weekly monday 09:00-friday 17:00"),
        "{edit}"
    );
    let mut edited = schedule.to_vec();
    edited.retain(|(name, _)| *name != "layer.1.new");
    edited.push(("layer.1.remove", "yes"));
    edited[1] = ("name", "day");
    redirected(&app.form("/schedules/1/edit", &edited).await, "/schedules/1");
    let (_, stored) = app.get("/api/v1/schedules/1").await;
    assert_eq!((stored["name"].as_str(), stored["layers"].as_array().map(Vec::len)), (Some("day"), Some(1)));
    let bad_shift = app
        .form(
            "/schedules/1/edit",
            &[
                ("csrf", csrf),
                ("name", "day"),
                ("time_zone", "UTC"),
                ("layer.0.start", "2026-03-02T09:00"),
                ("layer.0.shift_length", "fortnight"),
                ("layer.0.users", "Ana"),
            ],
        )
        .await;
    refused(&bad_shift, 422, "fortnight", "fortnight");
    let cover = [("csrf", csrf), ("user", "3"), ("start", "2026-03-03T10:00"), ("end", "2026-03-03T12:00")];
    redirected(&app.form("/schedules/1/overrides", &cover).await, "/schedules/1#overrides");
    let backwards = app
        .form(
            "/schedules/1/overrides",
            &[("csrf", csrf), ("user", "3"), ("start", "2026-03-03T12:00"), ("end", "2026-03-03T10:00")],
        )
        .await;
    assert_eq!(backwards.status, 422, "{}", backwards.text());
    assert!(backwards.text().contains(r#"value="2026-03-03T12:00""#), "{}", backwards.text());
    let (_, stored) = app.get("/api/v1/schedules/1").await;
    assert_eq!(stored["overrides"][0]["start"], "2026-03-03T10:00:00Z");
    let page = app.page("/schedules/1").await.text();
    assert!(page.contains(r#"action="/schedules/1/overrides/0/remove""#), "{page}");
    redirected(
        &app.form("/schedules/1/overrides/0/remove", &[("csrf", csrf)]).await,
        "/schedules/1#overrides",
    );
    assert_eq!(app.get("/api/v1/schedules/1").await.1["overrides"], json!([]));

    // A policy: two levels, edited, and deleting what is in use says what uses it.
    let policy = [
        ("csrf", csrf),
        ("name", "default"),
        ("repeat", "1"),
        ("level.0.timeout", "5"),
        ("level.0.targets", "schedule:1"),
        ("level.0.targets", "user:1"),
        ("level.1.new", "yes"),
        ("level.1.timeout", "10"),
        ("level.1.targets", "team:1"),
        ("level.1.wakes_management", "yes"),
    ];
    let zero = app
        .form(
            "/escalation-policies",
            &[&policy[..3], &[("level.0.timeout", "0"), ("level.0.targets", "user:1")]].concat(),
        )
        .await;
    refused(&zero, 422, "timeout_minutes", "default");
    redirected(&app.form("/escalation-policies", &policy).await, "/escalation-policies/1");
    let (_, stored) = app.get("/api/v1/escalation-policies/1").await;
    assert_eq!(
        stored["levels"][0]["targets"],
        json!([{"type": "schedule", "id": 1}, {"type": "user", "id": 1}])
    );
    assert_eq!(stored["levels"][1]["wakes_management"], true);
    let edit = app.page("/escalation-policies/1/edit").await.text();
    assert!(edit.contains(r#"<option value="schedule:1" selected>schedule day</option>"#), "{edit}");
    let in_use = app.form("/schedules/1/delete", &[("csrf", csrf), ("confirm", "yes")]).await;
    refused(&in_use, 409, "schedule day is a target of escalation policies default (1)", "Ana");
    let mut edited = policy.to_vec();
    edited.retain(|(name, _)| *name != "level.1.new");
    edited.push(("level.0.remove", "yes"));
    redirected(&app.form("/escalation-policies/1/edit", &edited).await, "/escalation-policies/1");
    let (_, stored) = app.get("/api/v1/escalation-policies/1").await;
    assert_eq!(
        stored["levels"],
        json!([{"timeout_minutes": 10, "targets": [{"type": "team", "id": 1}], "wakes_management": true}])
    );
    let unconfirmed = app.form("/schedules/1/delete", &[("csrf", csrf)]).await;
    refused(&unconfirmed, 400, "tick the box", "Ana");
    redirected(&app.form("/schedules/1/delete", &[("csrf", csrf), ("confirm", "yes")]).await, "/schedules");
    assert_eq!(app.get("/api/v1/schedules/1").await.0, 404);
    app.call(Method::PATCH, "/api/v1/services/checkout", Some(json!({"escalation_policy": 1}))).await;
    let in_use = app.form("/escalation-policies/1/delete", &[("csrf", csrf), ("confirm", "yes")]).await;
    refused(&in_use, 409, "is used by services checkout", "default");
    app.call(Method::PATCH, "/api/v1/services/checkout", Some(json!({"escalation_policy": null}))).await;
    redirected(
        &app.form("/escalation-policies/1/delete", &[("csrf", csrf), ("confirm", "yes")]).await,
        "/escalation-policies",
    );
    assert_eq!(app.get("/api/v1/escalation-policies/1").await.0, 404);

    // A contact method's address changed; deleting a service, a team and a user says what uses
    // them until nothing does.
    let changed = app
        .form("/users/2/contact-methods/2", &[("csrf", csrf), ("address", "https://hooks.example/b")])
        .await;
    redirected(&changed, "/users/2#contact-methods");
    assert_eq!(app.get("/api/v1/users/Ana/contact-methods").await.1[0]["address"], "https://hooks.example/b");
    let bad = app.form("/users/2/contact-methods/2", &[("csrf", csrf), ("address", "nowhere")]).await;
    refused(&bad, 422, "invalid URL", r#"value="nowhere""#);
    app.call(Method::PATCH, "/api/v1/services/checkout", Some(json!({"dependencies": ["ledger"]}))).await;
    let in_use = app.form("/services/1/delete", &[("csrf", csrf), ("confirm", "yes")]).await;
    refused(&in_use, 409, "service ledger is in use: services checkout depend on it", "books");
    let in_use = app.form("/teams/1/delete", &[("csrf", csrf), ("confirm", "yes")]).await;
    refused(&in_use, 409, "team payments is in use: services", "moves money");
    redirected(&app.form("/services/2/delete", &[("csrf", csrf), ("confirm", "yes")]).await, "/services");
    redirected(&app.form("/services/1/delete", &[("csrf", csrf), ("confirm", "yes")]).await, "/services");
    assert_eq!(app.get("/api/v1/services/checkout").await.0, 404);
    let unconfirmed = app.form("/teams/1/delete", &[("csrf", csrf)]).await;
    refused(&unconfirmed, 400, "tick the box", "moves money");
    redirected(&app.form("/teams/1/delete", &[("csrf", csrf), ("confirm", "yes")]).await, "/people");
    assert_eq!(app.get("/api/v1/teams/payments").await.0, 404);
    redirected(&app.form("/users/3/delete", &[("csrf", csrf), ("confirm", "yes")]).await, "/people");
    assert_eq!(app.get("/api/v1/users/Bo").await.0, 404);
    let people = app.page("/people").await.text();
    assert!(!people.contains("bo@example.org") && people.contains("ana@example.com"), "{people}");
}

#[tokio::test]
async fn everything_is_created_edited_and_deleted_with_forms() {
    let app = TestApp::new().await;
    edit_everything(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn everything_is_created_edited_and_deleted_with_forms_on_postgres() {
    let Some(app) = TestApp::postgres("ui_forms").await else { return };
    edit_everything(&app).await;
    app.stop().await;
}

/// A live part asked for with the version it shows.
async fn fragment(app: &TestApp, path: &str, version: Option<&str>) -> Answer {
    let mut request = Request::builder()
        .uri(path)
        .header(header::COOKIE, format!("firebreak_session={}", app.session().await));
    if let Some(version) = version {
        request = request.header(header::IF_NONE_MATCH, version);
    }
    app.send(request.body(Body::empty()).unwrap()).await
}

#[tokio::test]
async fn the_live_parts_answer_alone_and_304_while_unchanged() {
    let app = TestApp::new().await;
    app.post("/api/v1/teams", json!({"name": "payments"})).await;
    app.post("/api/v1/services", json!({"name": "checkout", "team": "payments", "description": "pays"}))
        .await;
    let (_, incident) = app.post("/api/v1/incidents", json!({"title": "first", "service": "checkout"})).await;

    let page = app.page("/incidents").await;
    let html = page.text();
    assert!(page.header("content-security-policy").contains("script-src 'self';"), "{:?}", page.headers);
    assert!(
        html.contains(
            r#"<div class="live" id="incident-list" data-live="/incidents?status=open&amp;fragment=1""#
        ),
        "{html}"
    );
    assert!(html.contains(r#"<script src="/static/live.js?v="#), "{html}");

    let list = fragment(&app, "/incidents?status=open&fragment=1", None).await;
    assert_eq!(list.status, 200);
    assert!(
        list.text().starts_with("<table class=\"incidents cards\">") && list.text().contains("first"),
        "{}",
        list.text()
    );
    assert!(!list.text().contains("<nav>"), "only the list");
    let version = list.header("etag").to_owned();
    assert!(
        html.contains(&format!(r#"data-version="{}""#, version.replace('"', "&quot;"))),
        "the page shows the same version"
    );
    assert_eq!(fragment(&app, "/incidents?status=open&fragment=1", Some(&version)).await.status, 304);
    app.post("/api/v1/incidents", json!({"title": "second", "service": "checkout"})).await;
    let changed = fragment(&app, "/incidents?status=open&fragment=1", Some(&version)).await;
    assert_eq!(changed.status, 200);
    assert!(changed.text().contains("second"));
    assert_ne!(changed.header("etag"), version);

    let id = incident["id"].as_i64().unwrap();
    let timeline = fragment(&app, &format!("/incidents/{id}?fragment=timeline"), None).await;
    assert!(timeline.text().starts_with(r#"<table class="timeline" id="timeline">"#), "{}", timeline.text());
    let version = timeline.header("etag").to_owned();
    assert_eq!(
        fragment(&app, &format!("/incidents/{id}?fragment=timeline"), Some(&version)).await.status,
        304
    );
    app.post(&format!("/api/v1/incidents/{id}/notes"), json!({"text": "looking"})).await;
    let changed = fragment(&app, &format!("/incidents/{id}?fragment=timeline"), Some(&version)).await;
    assert_eq!(changed.status, 200);
    assert!(changed.text().contains("looking"));
    assert_eq!(fragment(&app, "/incidents/999?fragment=timeline", None).await.status, 404);

    let script = app.anonymous(Method::GET, "/static/live.js", None, "").await;
    assert_eq!(script.status, 200);
    assert_eq!(script.header("content-type"), "text/javascript; charset=utf-8");
    assert_eq!(script.header("cache-control"), "public, max-age=31536000, immutable");
    assert!(script.text().contains("If-None-Match"));
    app.stop().await;
}

/// Silences from the web UI: made with the form (a bad matcher is refused with what was typed),
/// listed, ended with a button, and a form without the session's token changes nothing.
#[tokio::test]
async fn silences_are_made_and_ended_with_forms() {
    let app = TestApp::new().await;
    let csrf = app.csrf().await;
    let csrf = csrf.as_str();
    app.post("/api/v1/teams", json!({"name": "payments"})).await;
    app.post("/api/v1/services", json!({"name": "checkout", "team": "payments", "description": "pays"}))
        .await;

    let typo = app
        .form(
            "/silences",
            &[
                ("csrf", csrf),
                ("matchers", "alertname~=DiskFull"),
                ("service", ""),
                ("minutes", "60"),
                ("comment", "disk swap"),
            ],
        )
        .await;
    refused(&typo, 422, "did you mean", "disk swap");
    let forged = app
        .form("/silences", &[("csrf", "nope"), ("matchers", "alertname=DiskFull"), ("minutes", "60")])
        .await;
    assert_eq!(forged.status, 403);
    let made = app
        .form(
            "/silences",
            &[
                ("csrf", csrf),
                ("matchers", "alertname=DiskFull\ninstance=~db-.*\n"),
                ("service", "1"),
                ("minutes", "120"),
                ("comment", "disk swap"),
            ],
        )
        .await;
    redirected(&made, "/silences");
    let (_, silences) = app.get("/api/v1/silences").await;
    assert_eq!(
        silences[0]["matchers"],
        json!(["alertname=\"DiskFull\"", "instance=~\"db-.*\""]),
        "{silences}"
    );
    assert_eq!(silences[0]["service_id"], 1);
    let page = app.page("/silences").await.text();
    assert!(
        page.contains("instance=~db-.*") && page.contains("checkout") && page.contains("disk swap"),
        "{page}"
    );
    let id = silences[0]["id"].as_i64().unwrap();
    redirected(&app.form(&format!("/silences/{id}/expire"), &[("csrf", csrf)]).await, "/silences");
    assert_eq!(app.get("/api/v1/silences").await.1, json!([]));
    assert!(app.page("/silences").await.text().contains(r#"id="silences""#));
    app.stop().await;
}
