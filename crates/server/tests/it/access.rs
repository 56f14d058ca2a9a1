//! Access end to end: tokens that belong to people and act as them, roles by team enforced on the
//! API, refusals that name the role missing, and an audit log that names who did each thing. Logins
//! slowed after failures, sessions that end at logout and when idle, and forms refused without
//! their token. On both backends.

use axum::body::Body;
use axum::http::{Method, Request, header};
use jiff::SignedDuration;
use serde_json::{Value, json};

use crate::support::{Answer, OPERATOR, OPERATOR_PASSWORD, TestApp, percent_encode};

/// An API call with `token`.
async fn call(app: &TestApp, token: &str, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut request =
        Request::builder().method(method).uri(path).header(header::AUTHORIZATION, format!("Bearer {token}"));
    let body = match body {
        Some(body) => {
            request = request.header(header::CONTENT_TYPE, "application/json");
            Body::from(body.to_string())
        }
        None => Body::empty(),
    };
    let answer = app.send(request.body(body).unwrap()).await;
    if answer.status.as_u16() >= 400 {
        assert_eq!(answer.header("content-type"), "application/problem+json", "{path}");
    }
    (answer.status.as_u16(), if answer.body.is_empty() { Value::Null } else { answer.json() })
}

/// Creates user `name` with `role` in team `team` and a token of theirs (made by the admin, for
/// them); returns the token.
async fn member(app: &TestApp, name: &str, team: &str, role: &str) -> String {
    let (status, user) =
        app.post("/api/v1/users", json!({"name": name, "email": format!("{name}@example.com")})).await;
    assert_eq!(status, 201, "{user}");
    let (status, added) = app
        .post(&format!("/api/v1/teams/{team}/members"), json!({"user_id": user["id"], "role": role}))
        .await;
    assert_eq!((status, added["role"].as_str()), (201, Some(role)), "{added}");
    let (status, token) =
        app.post("/api/v1/tokens", json!({"name": format!("{name}'s"), "user": name})).await;
    assert_eq!(status, 201, "{token}");
    assert_eq!(token["role"], role, "a token takes its owner's highest role by default: {token}");
    token["token"].as_str().unwrap().to_owned()
}

async fn roles(app: &TestApp) {
    for team in ["payments", "search"] {
        app.post("/api/v1/teams", json!({"name": team})).await;
    }
    let (_, checkout) = app
        .post("/api/v1/services", json!({"name": "checkout", "team": "payments", "description": "pays"}))
        .await;
    let (_, index) = app
        .post("/api/v1/services", json!({"name": "index", "team": "search", "description": "finds"}))
        .await;
    let viewer = member(app, "vera", "payments", "viewer").await;
    let responder = member(app, "rui", "payments", "responder").await;
    let stakeholder = member(app, "stella", "payments", "stakeholder").await;
    let owner = member(app, "olga", "payments", "owner").await;
    let (_, incident) = app.post("/api/v1/incidents", json!({"title": "down", "service": "checkout"})).await;
    let id = incident["id"].as_i64().unwrap();

    // A viewer reads, and may not acknowledge: 403, naming the role missing.
    let (status, _) = call(app, &viewer, Method::GET, &format!("/api/v1/incidents/{id}"), None).await;
    assert_eq!(status, 200);
    let (status, problem) =
        call(app, &viewer, Method::POST, &format!("/api/v1/incidents/{id}/acknowledge"), None).await;
    assert_eq!(status, 403, "{problem}");
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("responder role in team payments") && detail.contains("you are viewer"),
        "{detail}"
    );

    // A stakeholder reads incidents, not configuration, and acts on nothing.
    let (status, _) = call(app, &stakeholder, Method::GET, "/api/v1/incidents", None).await;
    assert_eq!(status, 200);
    let (status, problem) = call(app, &stakeholder, Method::GET, "/api/v1/schedules", None).await;
    assert_eq!(status, 403, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("viewer role"), "{problem}");
    let (status, _) = call(
        app,
        &stakeholder,
        Method::POST,
        &format!("/api/v1/incidents/{id}/notes"),
        Some(json!({"text": "hi"})),
    )
    .await;
    assert_eq!(status, 403);

    // A responder of payments acts on its incidents, and may not edit search's service, nor
    // payments' (that takes an owner).
    let (status, acked) =
        call(app, &responder, Method::POST, &format!("/api/v1/incidents/{id}/acknowledge"), None).await;
    assert_eq!(status, 200, "{acked}");
    assert_eq!(
        acked["timeline"].as_array().unwrap().last().unwrap()["actor"],
        "rui",
        "a person's token acts as them"
    );
    let edit = Some(json!({"description": "changed"}));
    let (status, problem) =
        call(app, &responder, Method::PATCH, "/api/v1/services/index", edit.clone()).await;
    assert_eq!(status, 403, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("owner role in team search"), "{problem}");
    let (status, _) = call(app, &responder, Method::PATCH, "/api/v1/services/checkout", edit.clone()).await;
    assert_eq!(status, 403);
    // Its owner may; and a token never does more than its owner.
    let (status, _) = call(app, &owner, Method::PATCH, "/api/v1/services/checkout", edit.clone()).await;
    assert_eq!(status, 200);
    let (status, problem) =
        call(app, &responder, Method::POST, "/api/v1/tokens", Some(json!({"name": "more", "role": "owner"})))
            .await;
    assert_eq!(status, 403, "{problem}");
    let (status, problem) =
        call(app, &responder, Method::POST, "/api/v1/teams", Some(json!({"name": "mine"}))).await;
    assert!(status == 403 && problem["detail"].as_str().unwrap().contains("admin role"), "{problem}");

    // An admin may do all.
    let (status, _) = app.call(Method::PATCH, "/api/v1/services/index", edit).await;
    assert_eq!(status, 200);
    let (status, _) = app.post(&format!("/api/v1/incidents/{id}/resolve"), json!({})).await;
    assert_eq!(status, 200);

    // Paging by hand: a responder of the team may; a viewer may not.
    let (_, incident) = app.post("/api/v1/incidents", json!({"title": "again", "service": "checkout"})).await;
    let second = incident["id"].as_i64().unwrap();
    let page = Some(json!({"user": "olga"}));
    let (status, _) =
        call(app, &viewer, Method::POST, &format!("/api/v1/incidents/{second}/page"), page.clone()).await;
    assert_eq!(status, 403);
    let (status, paged) =
        call(app, &responder, Method::POST, &format!("/api/v1/incidents/{second}/page"), page).await;
    assert_eq!(status, 200, "{paged}");
    // Management is woken by hand only from the severities the policy says.
    let levels = json!([
        {"timeout_minutes": 5, "targets": [{"type": "user", "id": 2}]},
        {"timeout_minutes": 5, "targets": [{"type": "user", "id": 4}], "wakes_management": true}]);
    let (status, policy) = app
        .post(
            "/api/v1/escalation-policies",
            json!({"name": "payments", "levels": levels, "management_from": "SEV1", "team": "payments"}),
        )
        .await;
    assert_eq!(
        (status, policy["management_from"].as_str(), policy["team_id"].as_i64()),
        (201, Some("SEV1"), Some(1)),
        "{policy}"
    );
    app.call(Method::PATCH, "/api/v1/services/checkout", Some(json!({"escalation_policy": policy["id"]})))
        .await;
    let management = Some(json!({"policy_level": 2}));
    let path = format!("/api/v1/incidents/{second}/page");
    let (status, problem) = call(app, &responder, Method::POST, &path, management.clone()).await;
    assert_eq!(status, 403, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("SEV1 or worse; this one is SEV3"), "{problem}");
    call(
        app,
        &responder,
        Method::POST,
        &format!("/api/v1/incidents/{second}/severity"),
        Some(json!({"severity": "SEV1"})),
    )
    .await;
    let (status, paged) = call(app, &responder, Method::POST, &path, management).await;
    assert_eq!(status, 200, "{paged}");
    // The team's owner edits the team's policy; a responder may not.
    let policy_path = format!("/api/v1/escalation-policies/{}", policy["id"]);
    assert_eq!(call(app, &responder, Method::PATCH, &policy_path, Some(json!({"repeat": 1}))).await.0, 403);
    assert_eq!(call(app, &owner, Method::PATCH, &policy_path, Some(json!({"repeat": 1}))).await.0, 200);

    // The audit log: every one of these, with the right actor; only for administrators.
    let (status, _) = call(app, &owner, Method::GET, "/api/v1/audit", None).await;
    assert_eq!(status, 403);
    let (status, log) = app.get(&format!("/api/v1/audit?object=incident:{id}")).await;
    assert_eq!(status, 200, "{log}");
    let done: Vec<(&str, &str)> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| (entry["actor"].as_str().unwrap(), entry["action"].as_str().unwrap()))
        .collect();
    assert_eq!(
        done,
        [("ana", "incident.resolve"), ("rui", "incident.acknowledge"), ("ana", "incident.declare")]
    );
    let (_, log) = app.get(&format!("/api/v1/audit?object=service:{}&actor=olga", checkout["id"])).await;
    let update = &log[0];
    assert_eq!((update["actor"].as_str(), update["action"].as_str()), (Some("olga"), Some("service.update")));
    assert_eq!(
        (update["before"]["description"].as_str(), update["after"]["description"].as_str()),
        (Some("pays"), Some("changed"))
    );
    let (_, log) = app.get(&format!("/api/v1/audit?object=service:{}", index["id"])).await;
    assert_eq!(log[0]["actor"], "ana");
    let (_, log) = app.get("/api/v1/audit?actor=rui").await;
    let actions: Vec<&str> = log.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["incident.page", "incident.set_severity", "incident.page", "incident.acknowledge"]);
    let (status, problem) = app.get("/api/v1/audit?since=yesterday").await;
    assert_eq!(status, 400, "{problem}");

    // Tokens: listed without their secrets, revoked by their owner, then refused.
    let (status, mine) = call(app, &viewer, Method::GET, "/api/v1/tokens", None).await;
    assert_eq!(status, 200);
    assert_eq!(mine.as_array().unwrap().len(), 1);
    assert!(!mine.to_string().contains(&viewer), "a list never shows a secret");
    assert!(mine[0]["last_used_at"].is_string(), "the last use is recorded: {mine}");
    let token_id = mine[0]["id"].as_i64().unwrap();
    let (status, _) =
        call(app, &stakeholder, Method::DELETE, &format!("/api/v1/tokens/{token_id}"), None).await;
    assert_eq!(status, 403, "someone else's token");
    let (status, _) = call(app, &viewer, Method::DELETE, &format!("/api/v1/tokens/{token_id}"), None).await;
    assert_eq!(status, 204);
    let (status, _) = call(app, &viewer, Method::GET, "/api/v1/incidents", None).await;
    assert_eq!(status, 401);

    // A token that expired stops working.
    let expires = (firebreak_domain::Clock::now(&*app.clock) + SignedDuration::from_mins(10)).to_string();
    let (_, short) = call(
        app,
        &responder,
        Method::POST,
        "/api/v1/tokens",
        Some(json!({"name": "short", "expires_at": expires})),
    )
    .await;
    let short = short["token"].as_str().unwrap().to_owned();
    assert_eq!(call(app, &short, Method::GET, "/api/v1/me", None).await.0, 200);
    app.clock.advance(SignedDuration::from_mins(11));
    assert_eq!(call(app, &short, Method::GET, "/api/v1/me", None).await.0, 401);
}

#[tokio::test]
async fn roles_are_enforced_and_audited_on_sqlite() {
    let app = TestApp::new().await;
    roles(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn roles_are_enforced_and_audited_on_postgres() {
    let Some(app) = TestApp::postgres("roles").await else { return };
    roles(&app).await;
    app.stop().await;
}

/// The login form with its double-submit token: the cookie and the form's field.
async fn login_form(app: &TestApp) -> (String, String) {
    let page = app.anonymous(Method::GET, "/login", None, "").await;
    let cookie = page.header("set-cookie").split(';').next().unwrap().to_owned();
    let html = page.text();
    let at = html.find(r#"name="csrf" value=""#).unwrap() + r#"name="csrf" value=""#.len();
    let csrf = html[at..].split('"').next().unwrap().to_owned();
    (cookie, csrf)
}

async fn log_in(app: &TestApp, name: &str, password: &str) -> Answer {
    let (cookie, csrf) = login_form(app).await;
    let body = format!("csrf={csrf}&name={}&password={}", percent_encode(name), percent_encode(password));
    let request = Request::builder()
        .method(Method::POST)
        .uri("/login")
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap();
    app.send(request).await
}

fn session_cookie(answer: &Answer) -> String {
    let cookie = answer.header("set-cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Secure"),
        "{cookie}"
    );
    cookie.split(';').next().unwrap().to_owned()
}

async fn page_with(app: &TestApp, cookie: &str, path: &str) -> Answer {
    app.send(Request::builder().uri(path).header(header::COOKIE, cookie).body(Body::empty()).unwrap()).await
}

#[tokio::test]
async fn logins_are_slowed_and_sessions_end() {
    let app = TestApp::new().await;
    app.session().await;

    // A login form posted without its double-submit token is refused.
    let request = Request::builder()
        .method(Method::POST)
        .uri("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("name={OPERATOR}&password={}", percent_encode(OPERATOR_PASSWORD))))
        .unwrap();
    assert_eq!(app.send(request).await.status, 403);

    // A password logs in; the cookie is HttpOnly, SameSite=Lax and Secure (the server is HTTPS).
    let answer = log_in(&app, OPERATOR, OPERATOR_PASSWORD).await;
    assert_eq!((answer.status.as_u16(), answer.header("location")), (303, "/incidents"));
    let cookie = session_cookie(&answer);
    assert_eq!(page_with(&app, &cookie, "/incidents").await.status, 200);

    // Logging out ends the session everywhere: the same cookie, replayed, opens nothing.
    let csrf = firebreak_app::access::form_token(cookie.split_once('=').unwrap().1);
    let request = Request::builder()
        .method(Method::POST)
        .uri("/logout")
        .header(header::COOKIE, &cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("csrf={csrf}")))
        .unwrap();
    assert_eq!(app.send(request).await.status, 303);
    let stolen = page_with(&app, &cookie, "/incidents").await;
    assert_eq!((stolen.status.as_u16(), stolen.header("location")), (303, "/login?expired=1"));

    // A session idle for longer than its limit ends.
    let cookie = session_cookie(&log_in(&app, OPERATOR, OPERATOR_PASSWORD).await);
    app.clock.advance(SignedDuration::from_hours(11));
    assert_eq!(page_with(&app, &cookie, "/incidents").await.status, 200);
    app.clock.advance(SignedDuration::from_hours(11));
    assert_eq!(page_with(&app, &cookie, "/incidents").await.status, 200, "use keeps it going");
    app.clock.advance(SignedDuration::from_hours(13));
    assert_eq!(page_with(&app, &cookie, "/incidents").await.header("location"), "/login?expired=1");

    // Brute force is slowed: after five failures, even the right password waits, and says how long.
    for _ in 0..5 {
        assert_eq!(log_in(&app, OPERATOR, "wrong password, again").await.status, 401);
    }
    let slowed = log_in(&app, OPERATOR, OPERATOR_PASSWORD).await;
    assert_eq!(slowed.status, 429, "{}", slowed.text());
    assert!(slowed.header("retry-after").parse::<u64>().unwrap() >= 1);
    app.clock.advance(SignedDuration::from_secs(2));
    assert_eq!(log_in(&app, OPERATOR, OPERATOR_PASSWORD).await.status, 303);
    // Every failure after that doubles the wait.
    for _ in 0..5 {
        log_in(&app, OPERATOR, "wrong password, again").await;
    }
    let waits: u64 = log_in(&app, OPERATOR, OPERATOR_PASSWORD).await.header("retry-after").parse().unwrap();
    assert!(waits >= 1, "{waits}");
    // Unknown names fail the same way, and take the address's allowance too.
    assert_eq!(log_in(&app, "nobody", "whatever it is").await.status, 401);

    // A password too common, or too short, is refused with a reason.
    let (status, problem) = app
        .call(Method::PUT, "/api/v1/users/operator/password", Some(json!({"password": "password1234"})))
        .await;
    assert!(status == 422 && problem["detail"].as_str().unwrap().contains("common"), "{problem}");
    let (status, problem) =
        app.call(Method::PUT, "/api/v1/users/operator/password", Some(json!({"password": "short"}))).await;
    assert!(status == 422 && problem["detail"].as_str().unwrap().contains("12 characters"), "{problem}");
    app.stop().await;
}

#[tokio::test]
async fn a_first_administrator_needs_the_setup_code() {
    let dir = tempfile::tempdir().unwrap();
    let app = crate::support::bare_sqlite(dir.path()).await;
    assert!(app.needs_first_admin().await.unwrap());
    let url = app.setup_url();
    let code = url.split("setup=").nth(1).unwrap().to_owned();
    let body =
        firebreak_api::CreateUser { name: "root".into(), email: "root@example.com".into(), time_zone: None };
    let wrong = app.create_first_admin("not the code", body.clone(), OPERATOR_PASSWORD, "").await;
    assert!(matches!(wrong, Err(firebreak_app::Error::Unauthorized(_))), "{wrong:?}");
    let session = app.create_first_admin(&code, body.clone(), OPERATOR_PASSWORD, "").await.unwrap();
    assert_eq!(session.user.name, "root");
    assert!(!app.needs_first_admin().await.unwrap());
    let again = app.create_first_admin(&code, body, OPERATOR_PASSWORD, "").await;
    assert!(matches!(again, Err(firebreak_app::Error::Conflict(_))), "{again:?}");
    app.shutdown(std::time::Duration::from_secs(5)).await;
    app.close().await;
}

#[tokio::test]
async fn every_form_is_refused_without_its_token() {
    let app = TestApp::new().await;
    let mut posts = crate::hostile::ui_form_paths(&app).await;
    assert!(posts.len() >= 25, "{posts:?}");
    app.post("/api/v1/tokens", json!({"name": "mine"})).await;
    for path in [
        "/account/password",
        "/account/tokens",
        "/account/tokens/1/revoke",
        "/logout",
        "/login",
        "/login/setup",
    ] {
        posts.push(path.to_owned());
    }
    for path in posts {
        for csrf in [None, Some("0123456789abcdef0123456789abcdef")] {
            let body = match csrf {
                Some(csrf) => format!("csrf={csrf}&name=x&confirm=yes&text=x&action=note"),
                None => "name=x&confirm=yes&text=x&action=note".to_owned(),
            };
            let request = Request::builder()
                .method(Method::POST)
                .uri(path.as_str())
                .header(header::COOKIE, format!("firebreak_session={}", app.session().await))
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body))
                .unwrap();
            let answer = app.send(request).await;
            // A form whose fields are read into a struct says the token is missing (422); every
            // other refuses as forged (403).
            let refused = answer.status == 403 || (csrf.is_none() && answer.status == 422);
            assert!(refused, "{path} without its form token: {} {}", answer.status, answer.text());
        }
    }
    assert_eq!(app.page("/incidents").await.status, 200, "the forged logout did not log out");
    assert_eq!(app.get("/api/v1/tokens").await.1.as_array().map(Vec::len), Some(2), "nor revoke a token");
    let (_, log) = app.get("/api/v1/audit?limit=500").await;
    let changes: Vec<&str> = log.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert!(
        !changes.iter().any(|action| action.ends_with(".delete") || action == &"incident.note"),
        "{changes:?}"
    );
    app.stop().await;
}
