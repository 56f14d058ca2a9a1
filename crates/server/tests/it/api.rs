//! Bad input gets a problem document naming the problem, never a 500; the OpenAPI document and
//! the metrics are served.

use axum::http::Method;
use serde_json::{Value, json};

use crate::support::TestApp;

/// A request with bad input, and the problem it must get.
struct Case {
    method: Method,
    path: &'static str,
    with_token: bool,
    content_type: Option<&'static str>,
    body: String,
    status: u16,
    /// Part of the problem's `detail`.
    detail: &'static str,
}

#[tokio::test]
async fn bad_input_gets_a_problem_not_a_500() {
    let app = TestApp::new().await;
    let json = Some("application/json");
    let huge = json!({"name": "x".repeat(firebreak_server::BODY_BYTES_MAX)}).to_string();
    let case = |method, path, with_token, content_type, body: String, status, detail| Case {
        method,
        path,
        with_token,
        content_type,
        body,
        status,
        detail,
    };
    let cases = [
        case(
            Method::POST,
            "/api/v1/incidents",
            false,
            json,
            "{}".into(),
            401,
            "missing Authorization header",
        ),
        case(
            Method::POST,
            "/api/v1/incidents",
            true,
            json,
            "{\"title\":".into(),
            400,
            "Failed to parse the request body as JSON",
        ),
        case(
            Method::POST,
            "/api/v1/incidents",
            true,
            json,
            json!({"title": "x", "service": "ghost"}).to_string(),
            404,
            "there is no service \"ghost\"",
        ),
        case(
            Method::POST,
            "/api/v1/incidents",
            true,
            None,
            "{}".into(),
            415,
            "Content-Type: application/json",
        ),
        case(Method::POST, "/api/v1/teams", true, json, huge, 413, "larger than the limit"),
        case(
            Method::POST,
            "/api/v1/incidents/999/resolve",
            true,
            None,
            String::new(),
            404,
            "there is no incident 999",
        ),
        case(Method::GET, "/api/v1/incidents/abc", true, None, String::new(), 400, "abc"),
        case(
            Method::GET,
            "/api/v1/incidents?status=bogus",
            true,
            None,
            String::new(),
            400,
            "unknown status \"bogus\"",
        ),
        case(
            Method::GET,
            "/api/v1/incidents?since=yesterday",
            true,
            None,
            String::new(),
            400,
            "invalid since",
        ),
        case(
            Method::POST,
            "/api/v1/teams",
            true,
            json,
            json!({"name": "  "}).to_string(),
            422,
            "name must not be empty",
        ),
        case(
            Method::GET,
            "/api/v1/nothing",
            true,
            None,
            String::new(),
            404,
            "there is nothing at /api/v1/nothing",
        ),
    ];
    for Case { method, path, with_token, content_type, body, status, detail } in cases {
        let mut request = axum::http::Request::builder().method(method.clone()).uri(path);
        if with_token {
            request = request.header("authorization", format!("Bearer {}", app.token));
        }
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let answer = app.send(request.body(axum::body::Body::from(body)).unwrap()).await;
        assert_eq!(answer.status.as_u16(), status, "{method} {path}");
        assert_eq!(answer.header("content-type"), "application/problem+json", "{method} {path}");
        let problem = answer.json();
        assert_eq!(problem["status"], status);
        assert!(problem["detail"].as_str().unwrap().contains(detail), "{problem}");
    }
    let mut wrong_token = axum::http::Request::builder().method(Method::POST).uri("/api/v1/incidents");
    wrong_token = wrong_token.header("authorization", "Bearer fbt_wrong");
    let answer = app.send(wrong_token.body(axum::body::Body::empty()).unwrap()).await;
    assert_eq!(answer.status, 401);
    assert_eq!(answer.json()["detail"], "the API token is not valid");

    let openapi: Value = app.anonymous(Method::GET, "/api/v1/openapi.json", None, "").await.json();
    assert_eq!(openapi["openapi"], "3.1.0");
    for path in [
        "/api/v1/teams",
        "/api/v1/services",
        "/api/v1/incidents",
        "/api/v1/incidents/{id}/acknowledge",
        "/api/v1/incidents/{id}/notes",
    ] {
        assert!(openapi["paths"][path].is_object(), "{path} is documented");
    }
    let metrics = app.anonymous(Method::GET, "/metrics", None, "").await.text();
    assert!(
        metrics.contains(
            "firebreak_http_requests_total{method=\"POST\",route=\"/api/v1/incidents\",status=\"401\"} 2"
        ),
        "{metrics}"
    );
    assert!(metrics.contains("firebreak_incidents{status=\"triggered\"} 0"));
    app.stop().await;
}

/// A `PATCH` that fails half-way (a policy set, then a name already in use) changes nothing, on
/// both backends.
#[tokio::test]
async fn a_patch_that_fails_half_way_changes_nothing() {
    for app in [Some(TestApp::new().await), TestApp::postgres("api_patch_all_or_nothing").await]
        .into_iter()
        .flatten()
    {
        app.post("/api/v1/teams", json!({"name": "payments"})).await;
        for name in ["checkout", "ledger"] {
            app.post("/api/v1/services", json!({"name": name, "team": "payments", "description": "pays"}))
                .await;
        }
        let (_, user) = app.post("/api/v1/users", json!({"name": "ana", "email": "ana@example.com"})).await;
        let levels = json!([{"timeout_minutes": 5, "targets": [{"type": "user", "id": user["id"]}]}]);
        let (_, policy) =
            app.post("/api/v1/escalation-policies", json!({"name": "default", "levels": levels})).await;
        let (_, before) = app.get("/api/v1/services/checkout").await;
        let patch = json!({"escalation_policy": policy["id"], "auto_resolve": false, "name": "ledger"});
        let (status, problem) = app.call(Method::PATCH, "/api/v1/services/checkout", Some(patch)).await;
        assert_eq!(
            (status, problem["detail"].as_str()),
            (409, Some("a service named \"ledger\" already exists"))
        );
        assert_eq!(app.get("/api/v1/services/checkout").await.1, before, "nothing changed");
        app.stop().await;
    }
}
