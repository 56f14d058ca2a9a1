//! Drives the web UI in a real headless Chromium through ChromeDriver (the W3C WebDriver protocol,
//! spoken directly over HTTP): log in, open the incident list, open an incident, acknowledge it and
//! see the timeline change; then the on-call page, a schedule and an escalation policy. Saves
//! screenshots such as `target/screenshots/incident.png` and `target/screenshots/oncall.png`.
//!
//! Needs Debian's `chromium` and `chromium-driver`. Without them the test says it was skipped,
//! unless `FIREBREAK_BROWSER_TESTS=required` (as in CI), where their absence fails it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{Fresh, free_port, skipped};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

struct Driver {
    process: Child,
    http: reqwest::Client,
    session: String,
    base: String,
}

impl Driver {
    async fn start(chromedriver: &Path, chromium: &Path) -> Driver {
        let port = free_port();
        let process = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        loop {
            let ready = match http.get(format!("{base}/status")).send().await {
                Ok(response) => {
                    response.json::<Value>().await.map(|v| v["value"]["ready"] == true).unwrap_or(false)
                }
                Err(_) => false,
            };
            if ready {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--disable-background-networking", "--disable-extensions", "--no-first-run",
                         "--window-size=1360,900"],
            },
        }}});
        let response: Value = http
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = response["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {response}"))
            .to_owned();
        Driver { process, http, session, base }
    }

    async fn command(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut request = self.http.request(method, url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response: Value = request.send().await.unwrap().json().await.unwrap();
        if response["value"]["error"].is_string() {
            panic!("webdriver {path}: {}", response["value"]);
        }
        response["value"].clone()
    }

    async fn goto(&self, url: &str) {
        self.command(reqwest::Method::POST, "/url", Some(json!({"url": url}))).await;
    }

    async fn find(&self, css: &str) -> String {
        let value = self
            .command(reqwest::Method::POST, "/element", Some(json!({"using": "css selector", "value": css})))
            .await;
        value[ELEMENT].as_str().unwrap_or_else(|| panic!("no element {css}: {value}")).to_owned()
    }

    async fn click(&self, css: &str) {
        let element = self.find(css).await;
        self.command(reqwest::Method::POST, &format!("/element/{element}/click"), Some(json!({}))).await;
    }

    async fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{element}/value"),
            Some(json!({"text": text})),
        )
        .await;
    }

    async fn text(&self, css: &str) -> String {
        let element = self.find(css).await;
        self.command(reqwest::Method::GET, &format!("/element/{element}/text"), None)
            .await
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The text of `css`, or `None` while there is no such element (a page is loading, say).
    async fn try_text(&self, css: &str) -> Option<String> {
        let url = format!("{}/session/{}/element", self.base, self.session);
        let found: Value = self
            .http
            .post(url)
            .json(&json!({"using": "css selector", "value": css}))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        let element = found["value"][ELEMENT].as_str()?;
        let url = format!("{}/session/{}/element/{element}/text", self.base, self.session);
        let text: Value = self.http.get(url).send().await.ok()?.json().await.ok()?;
        text["value"].as_str().map(str::to_owned)
    }

    /// Waits (a bounded time) until `css` shows `expected`: a form post navigates, and the
    /// WebDriver click may return before the next page has loaded.
    async fn wait_for_text(&self, css: &str, expected: &str) {
        let started = Instant::now();
        loop {
            let text = self.try_text(css).await;
            if text.as_deref() == Some(expected) {
                return;
            }
            assert!(started.elapsed() < Duration::from_secs(10), "{css} shows {text:?}, not {expected:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn title(&self) -> String {
        self.command(reqwest::Method::GET, "/title", None).await.as_str().unwrap().to_owned()
    }

    async fn screenshot(&self, path: &Path) {
        let value = self.command(reqwest::Method::GET, "/screenshot", None).await;
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, base64_decode(value.as_str().unwrap())).unwrap();
    }

    async fn quit(mut self) {
        let url = format!("{}/session/{}", self.base, self.session);
        let _ = self.http.delete(url).send().await;
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    };
    let bytes: Vec<u8> = text.bytes().filter(|c| !c.is_ascii_whitespace() && *c != b'=').collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= u32::from(value(*c)) << (18 - 6 * i);
        }
        out.extend_from_slice(&n.to_be_bytes()[1..chunk.len()]);
    }
    out
}

fn find_program(env: &str, candidates: &[&str]) -> Option<PathBuf> {
    if let Ok(path) = std::env::var(env) {
        return Some(PathBuf::from(path));
    }
    candidates.iter().map(PathBuf::from).find(|path| path.exists())
}

#[tokio::test]
async fn acknowledge_in_a_real_browser() {
    let chromedriver = find_program("FIREBREAK_CHROMEDRIVER", &["/usr/bin/chromedriver"]);
    let chromium = find_program("FIREBREAK_CHROMIUM", &["/usr/bin/chromium", "/usr/bin/chromium-browser"]);
    let (Some(chromedriver), Some(chromium)) = (chromedriver, chromium) else {
        assert_ne!(
            std::env::var("FIREBREAK_BROWSER_TESTS").as_deref(),
            Ok("required"),
            "chromium and chromedriver are required (apt-get install chromium chromium-driver)"
        );
        skipped("acknowledge_in_a_real_browser: skipped: chromium or chromedriver is not installed");
        return;
    };

    let Fresh { dir: _dir, token, server } = Fresh::start("ui.db", "ana").await;
    let http = reqwest::Client::new();
    let post = |path: &str, body: Value| {
        http.post(format!("{}{path}", server.url)).bearer_auth(&token).json(&body).send()
    };
    post("/api/v1/teams", json!({"name": "payments"})).await.unwrap();
    post("/api/v1/services", json!({"name": "ledger-db", "team": "payments", "description": "PostgreSQL cluster holding the ledger"}))
        .await
        .unwrap();
    post("/api/v1/services", json!({
        "name": "checkout", "team": "payments",
        "description": "Takes card payments for every storefront",
        "dependencies": ["ledger-db"],
        "runbook": "## Card payments failing\n1. Check the **payment provider** status page.\n2. Roll back the last deploy: `deploy rollback checkout`.\n",
        "links": [{"title": "Dashboard", "url": "https://grafana.example.com/d/checkout"}],
    }))
    .await
    .unwrap();
    post(
        "/api/v1/incidents",
        json!({"title": "Search latency p99 above 2s", "service": "ledger-db", "severity": "SEV3"}),
    )
    .await
    .unwrap();
    let response = post("/api/v1/incidents", json!({"title": "Card payments failing for EU customers", "service": "checkout", "severity": "SEV1", "kind": "signal"})).await.unwrap();
    let incident: Value = response.json().await.unwrap();
    let id = incident["id"].as_i64().unwrap();
    post(
        &format!("/api/v1/incidents/{id}/notes"),
        json!({"text": "Error rate 38% on /pay since 02:51, provider status page is green."}),
    )
    .await
    .unwrap();

    // Golden signals: checkout's latency shifts in the last minute, its database's errors stay flat.
    let put = |path: String, body: Value| {
        http.put(format!("{}{path}", server.url)).bearer_auth(&token).json(&body).send()
    };
    put(
        "/api/v1/services/checkout/golden-signals/latency".into(),
        json!({"step_seconds": 15, "open_incident": true}),
    )
    .await
    .unwrap();
    put("/api/v1/services/ledger-db/golden-signals/errors".into(), json!({"step_seconds": 15}))
        .await
        .unwrap();
    let now = jiff::Timestamp::now().as_second();
    let points = 480;
    let series = |f: &dyn Fn(i64) -> f64| -> Value {
        let samples: Vec<Value> = (0..points)
            .map(|i| json!({"at": jiff::Timestamp::from_second(now - (points - 1 - i) * 15).unwrap().to_string(), "value": f(i)}))
            .collect();
        json!({"samples": samples})
    };
    let wave = |i: i64| ((i * 37 % 17) as f64 / 17.0 - 0.5) * 0.02;
    post(
        "/api/v1/services/checkout/golden-signals/latency/samples",
        series(&|i| if i < points - 4 { 0.21 + wave(i) } else { 0.95 }),
    )
    .await
    .unwrap();
    post("/api/v1/services/ledger-db/golden-signals/errors/samples", series(&|i| 2.0 + 10.0 * wave(i)))
        .await
        .unwrap();
    let anomalies: Value = http
        .get(format!("{}/api/v1/services/checkout/anomalies", server.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let signal_incident = anomalies.as_array().unwrap().last().unwrap()["incident_id"]
        .as_i64()
        .expect("the shift opened an incident");

    let driver = Driver::start(&chromedriver, &chromium).await;
    driver.goto(&format!("{}/incidents", server.url)).await;
    assert_eq!(driver.title().await, "Log in · firebreak", "not logged in yet");
    driver.type_into("#token", &token).await;
    driver.click("#login").await;
    driver.wait_for_text("main h1", "Incidents").await;
    assert_eq!(driver.title().await, "Incidents · firebreak");
    let list = driver.text("table.incidents").await;
    assert!(list.contains("Card payments failing for EU customers"), "{list}");
    assert!(list.contains("Search latency p99 above 2s"), "{list}");

    driver.click(&format!("a[href='/incidents/{id}']")).await;
    driver.wait_for_text("#status", "triggered").await;
    driver.click("#acknowledge").await;
    driver.wait_for_text("#status", "acknowledged").await;
    let timeline = driver.text("#timeline").await;
    assert!(timeline.contains("ana acknowledged"), "{timeline}");
    assert!(timeline.contains("ana declared SEV1: Card payments failing for EU customers"), "{timeline}");

    let screenshot = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots/incident.png");
    driver.screenshot(&screenshot).await;
    driver.click("a[href='/services/2']").await;
    let page = driver.text("main").await;
    assert!(page.contains("Check the payment provider status page."), "runbook rendered: {page}");
    driver.screenshot(&screenshot.with_file_name("service.png")).await;

    driver.goto(&format!("{}/incidents/{signal_incident}", server.url)).await;
    let moved = driver.text("#what-moved").await.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(moved.contains("checkout latency moved"), "{moved}");
    assert!(moved.contains("ledger-db errors"), "{moved}");
    driver.find("#what-moved figure.moved svg .anomaly").await;
    driver.screenshot(&screenshot.with_file_name("what-moved.png")).await;

    // On call: a weekly rotation with business hours on top and an override, paged first by the
    // checkout service's escalation policy.
    for name in ["Ana", "Bo", "Cy", "Dee", "Eve"] {
        let email = format!("{}@example.com", name.to_lowercase());
        let response =
            post("/api/v1/users", json!({"name": name, "email": email, "time_zone": "Europe/Berlin"}))
                .await
                .unwrap();
        assert_eq!(response.status(), 201);
    }
    let berlin = jiff::tz::TimeZone::get("Europe/Berlin").unwrap();
    let today = jiff::Timestamp::now().to_zoned(berlin.clone()).date();
    let monday = today.checked_sub(jiff::Span::new().days(today.weekday().to_monday_zero_offset())).unwrap();
    let local = |date: jiff::civil::Date, hour: i8| {
        date.at(hour, 0, 0, 0).to_zoned(berlin.clone()).unwrap().timestamp()
    };
    let business_hours: Vec<Value> = ["monday", "tuesday", "wednesday", "thursday", "friday"]
        .iter()
        .map(|day| json!({"type": "weekly", "start_day": day, "start_time": "09:00", "end_day": day, "end_time": "17:00"}))
        .collect();
    let tomorrow = today.tomorrow().unwrap();
    let response = post("/api/v1/schedules", json!({
        "name": "payments-primary", "time_zone": "Europe/Berlin",
        "layers": [
            {"start": local(monday, 9).to_string(), "shift_length": "1w", "users": ["Ana", "Bo", "Cy"]},
            {"start": local(monday, 9).to_string(), "shift_length": "1w", "users": ["Dee"], "restrictions": business_hours},
        ],
        "overrides": [{"user": "Bo", "start": local(tomorrow, 12).to_string(), "end": local(tomorrow, 20).to_string()}],
    }))
    .await
    .unwrap();
    assert_eq!(response.status(), 201);
    let schedule: Value = response.json().await.unwrap();
    let schedule_id = schedule["id"].as_i64().unwrap();
    let response = post(
        "/api/v1/escalation-policies",
        json!({
            "name": "payments-escalation", "repeat": 2,
            "levels": [
                {"timeout_minutes": 15, "targets": [{"type": "schedule", "id": schedule_id}]},
                {"timeout_minutes": 30, "targets": [{"type": "user", "id": 5}], "wakes_management": true},
            ],
        }),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 201);
    let policy: Value = response.json().await.unwrap();
    let policy_id = policy["id"].as_i64().unwrap();
    let response = http
        .patch(format!("{}/api/v1/services/checkout", server.url))
        .bearer_auth(&token)
        .json(&json!({"escalation_policy": policy_id}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let on_call: Value = http
        .get(format!("{}/api/v1/oncall?service=checkout", server.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let first = on_call["levels"][0]["users"][0]["name"].as_str().expect("someone is on call").to_owned();

    driver.click("nav a[href='/oncall']").await;
    driver.wait_for_text("main h1", "On call now").await;
    let checkout = driver.text("#service-2").await;
    assert!(checkout.contains("payments-escalation"), "{checkout}");
    assert!(checkout.contains(&format!("payments-primary → {first}")), "{checkout}");
    assert!(checkout.contains("Eve") && checkout.contains("wakes management"), "{checkout}");
    let ledger = driver.text("#service-1").await;
    assert!(ledger.contains("No escalation policy"), "{ledger}");
    driver.screenshot(&screenshot.with_file_name("oncall.png")).await;

    driver.click(&format!("a[href='/schedules/{schedule_id}']")).await;
    driver.wait_for_text("main h1", "payments-primary").await;
    let now = driver.text("#on-call").await;
    assert!(now.starts_with(&first), "{now}");
    let days = driver.text("#days").await;
    assert!(days.contains(&first) && days.contains("Dee") && days.contains("override"), "{days}");
    let overrides = driver.text("#overrides").await;
    assert!(overrides.contains("Bo"), "{overrides}");
    driver.screenshot(&screenshot.with_file_name("schedule.png")).await;

    driver.goto(&format!("{}/escalation-policies/{policy_id}", server.url)).await;
    driver.wait_for_text("main h1", "payments-escalation").await;
    let levels = driver.text("#levels").await;
    assert!(levels.contains(&format!("payments-primary → {first}")), "{levels}");
    assert!(levels.contains("Eve") && levels.contains("wakes management"), "{levels}");
    assert_eq!(driver.text("#used-by").await, "checkout");
    driver.screenshot(&screenshot.with_file_name("policy.png")).await;

    driver.goto(&format!("{}/services/checkout", server.url)).await;
    let service_on_call = driver.text("#on-call").await;
    assert!(service_on_call.contains(&format!("payments-primary → {first}")), "{service_on_call}");

    // Pages: with no mail server configured, paging by email fails, and the incident page says so.
    let response = post(
        &format!("/api/v1/users/{first}/contact-methods"),
        json!({"type": "email", "address": format!("{}@example.com", first.to_lowercase())}),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 201);
    let response = post(
        "/api/v1/incidents",
        json!({"title": "Checkout answers 502", "service": "checkout", "severity": "SEV2"}),
    )
    .await
    .unwrap();
    let paged: Value = response.json().await.unwrap();
    let paged = paged["id"].as_i64().unwrap();
    let started = Instant::now();
    loop {
        let notifications: Value = http
            .get(format!("{}/api/v1/incidents/{paged}/notifications", server.url))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if notifications.as_array().is_some_and(|n| n.iter().any(|n| n["status"] == "failed")) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "no failed page: {notifications}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    driver.goto(&format!("{}/incidents/{paged}", server.url)).await;
    let pages = driver.text("#pages").await;
    assert!(
        pages.contains(&format!("{first} email {}@example.com 1 failed", first.to_lowercase())),
        "{pages}"
    );
    driver.screenshot(&screenshot.with_file_name("pages.png")).await;

    driver.goto(&format!("{}/schedules/999", server.url)).await;
    assert_eq!(driver.text("main h1").await, "Not Found");
    driver.goto(&format!("{}/escalation-policies/nope", server.url)).await;
    assert_eq!(driver.text("main h1").await, "Not Found");
    driver.goto(&format!("{}/incidents/nope", server.url)).await;
    assert_eq!(driver.text("main h1").await, "Not Found");
    driver.quit().await;

    // The API sees what the browser did.
    let detail: Value = http
        .get(format!("{}/api/v1/incidents/{id}", server.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(detail["status"], "acknowledged");
    server.stop();
}
