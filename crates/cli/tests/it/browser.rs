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

use crate::support::{Api, Fresh, free_port, operator, skipped};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

struct Driver {
    process: Child,
    http: reqwest::Client,
    session: String,
    base: String,
}

impl Driver {
    async fn start(chromedriver: &Path, chromium: &Path) -> Driver {
        Driver::start_with(chromedriver, chromium, json!({})).await
    }

    /// Starts a session whose `goog:chromeOptions` have `extra` besides the usual ones, such as
    /// `mobileEmulation`.
    async fn start_with(chromedriver: &Path, chromium: &Path, extra: Value) -> Driver {
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
        let mut options = json!({
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-extensions", "--no-first-run",
                     "--window-size=1360,900"],
        });
        for (name, value) in extra.as_object().unwrap() {
            options[name] = value.clone();
        }
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": options,
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

    /// Runs `script` (a function body) in the page and returns what it returns.
    async fn execute(&self, script: &str, args: Value) -> Value {
        self.command(reqwest::Method::POST, "/execute/sync", Some(json!({"script": script, "args": args})))
            .await
    }

    /// Sets the value of the input `css` as a script would (for `datetime-local` inputs, whose
    /// typing depends on the locale).
    async fn set_value(&self, css: &str, value: &str) {
        let found = self
            .execute(
                "const e = document.querySelector(arguments[0]); if (!e) return false; e.value = arguments[1]; return true;",
                json!([css, value]),
            )
            .await;
        assert_eq!(found, true, "no element {css}");
    }

    /// Empties the input `css`.
    async fn clear(&self, css: &str) {
        let element = self.find(css).await;
        self.command(reqwest::Method::POST, &format!("/element/{element}/clear"), Some(json!({}))).await;
    }

    /// Empties the input `css` and types `text` into it.
    async fn replace(&self, css: &str, text: &str) {
        self.clear(css).await;
        self.type_into(css, text).await;
    }

    /// Chooses the option `value` of the select `select` (in a multiple select, only it).
    async fn select(&self, select: &str, value: &str) {
        self.click(&format!("{select} option[value='{value}']")).await;
    }

    /// Whether `css` is shown, and where it is: `(displayed, x, width)` in CSS pixels.
    async fn placed(&self, css: &str) -> (bool, f64, f64) {
        let element = self.find(css).await;
        let displayed =
            self.command(reqwest::Method::GET, &format!("/element/{element}/displayed"), None).await;
        let rect = self.command(reqwest::Method::GET, &format!("/element/{element}/rect"), None).await;
        (displayed == true, rect["x"].as_f64().unwrap(), rect["width"].as_f64().unwrap())
    }

    /// Waits (a bounded time) until the text of `css` contains `expected`; returns the text.
    async fn wait_for_contains(&self, css: &str, expected: &str) -> String {
        let started = Instant::now();
        loop {
            let text = self.try_text(css).await;
            if let Some(text) = text.as_deref().filter(|text| text.contains(expected)) {
                return text.to_owned();
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{css} shows {text:?}, without {expected:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Logs in at `url` as `name` with `password`.
    async fn log_in(&self, url: &str, (name, password): &(String, String)) {
        self.goto(&format!("{url}/incidents")).await;
        self.type_into("#name", name).await;
        self.type_into("#password", password).await;
        self.click("#login").await;
        self.wait_for_text("main h1", "Incidents").await;
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

    let Fresh { dir: _dir, token, database, server } = Fresh::start("ui.db", "ana").await;
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
    let (name, password) = operator(&server.url, &token, _dir.path(), &database).await;
    // A wrong password first: the page says so, and nobody is logged in.
    driver.type_into("#name", &name).await;
    driver.type_into("#password", "not the password at all").await;
    driver.click("#login").await;
    driver.wait_for_text("p.error", "that name and password do not match").await;
    // The form keeps the name typed.
    driver.type_into("#password", &password).await;
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
    assert!(timeline.contains("operator acknowledged"), "{timeline}");
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
                // Eve: user 6, after the operator logged in and Ana to Dee.
                {"timeout_minutes": 30, "targets": [{"type": "user", "id": 6}], "wakes_management": true},
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

/// ChromeDriver and Chromium, or `None` (the test is skipped) when they are not installed and the
/// browser tests are not required.
fn browsers(test: &str) -> Option<(PathBuf, PathBuf)> {
    let chromedriver = find_program("FIREBREAK_CHROMEDRIVER", &["/usr/bin/chromedriver"]);
    let chromium = find_program("FIREBREAK_CHROMIUM", &["/usr/bin/chromium", "/usr/bin/chromium-browser"]);
    match (chromedriver, chromium) {
        (Some(chromedriver), Some(chromium)) => Some((chromedriver, chromium)),
        _ => {
            assert_ne!(
                std::env::var("FIREBREAK_BROWSER_TESTS").as_deref(),
                Ok("required"),
                "chromium and chromedriver are required (apt-get install chromium chromium-driver)"
            );
            skipped(&format!("{test}: skipped: chromium or chromedriver is not installed"));
            None
        }
    }
}

fn screenshots(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots").join(name)
}

/// Schedules, escalation policies, services, teams and users created, edited and deleted with the
/// forms of the web UI (a deletion of something in use refused, saying what uses it), each step
/// checked through the API.
#[tokio::test]
async fn edit_everything_in_a_real_browser() {
    let Some((chromedriver, chromium)) = browsers("edit_everything_in_a_real_browser") else { return };
    let Fresh { dir: _dir, token, database, server } = Fresh::start("forms.db", "ana").await;
    let api = Api { http: reqwest::Client::new(), url: server.url.clone(), token: token.clone() };
    let driver = Driver::start(&chromedriver, &chromium).await;
    driver.log_in(&server.url, &operator(&server.url, &token, _dir.path(), &database).await).await;

    // People: a team and a user with the forms, another user with the API.
    driver.click("nav a[href='/people']").await;
    driver.wait_for_text("main h1", "People").await;
    driver.click("#new-team").await;
    driver.wait_for_text("main h1", "New team").await;
    driver.type_into("#team-form input[name=name]", "payments").await;
    driver.type_into("#team-form input[name=description]", "Moves the money").await;
    driver.click("#save").await;
    driver.wait_for_text("main h1", "payments").await;
    driver.goto(&format!("{}/users/new", server.url)).await;
    driver.type_into("#user-form input[name=name]", "Ana").await;
    driver.type_into("#user-form input[name=email]", "ana@example.com").await;
    driver.click("#save").await;
    driver.wait_for_text("main h1", "Ana").await;
    driver.select("#method-form select[name=type]", "email").await;
    driver.type_into("#method-form input[name=address]", "ana@example.com").await;
    driver.click("#add-method").await;
    driver.wait_for_contains("#contact-methods", "ana@example.com").await;
    assert_eq!(api.post("/api/v1/users", json!({"name": "Bo", "email": "bo@example.com"})).await.0, 201);
    driver.goto(&format!("{}/teams/1", server.url)).await;
    // User 1 is the operator logged in; Ana, made above, is 2.
    driver.select("#member-form select[name=user]", "2").await;
    driver.click("#add-member").await;
    driver.wait_for_contains("#members", "Ana").await;
    let (_, members) = api.get("/api/v1/teams/payments/members").await;
    assert_eq!(members[0]["name"], "Ana");

    // A schedule: created, given a second layer, its first layer removed; an override added and
    // removed.
    driver.goto(&format!("{}/schedules", server.url)).await;
    driver.click("#new-schedule").await;
    driver.wait_for_text("main h1", "New schedule").await;
    driver.type_into("#schedule-form input[name=name]", "primary").await;
    driver.replace("#schedule-form input[name=time_zone]", "Europe/Lisbon").await;
    driver.set_value("#schedule-form input[name='layer.0.start']", "2026-03-02T09:00").await;
    driver.type_into("#schedule-form input[name='layer.0.users']", "Ana, Bo").await;
    driver.click("#save").await;
    driver.wait_for_text("main h1", "primary").await;
    let (_, schedule) = api.get("/api/v1/schedules/1").await;
    // User 1 is the operator logged in: Ana is 2 and Bo 3.
    assert_eq!(schedule["layers"][0]["users"], json!([2, 3]), "{schedule}");
    assert_eq!(schedule["layers"][0]["start"], "2026-03-02T09:00:00Z", "{schedule}");
    driver.click("#edit").await;
    driver.wait_for_text("main h1", "Edit primary").await;
    driver.replace("#schedule-form input[name=name]", "day").await;
    driver.type_into("#schedule-form input[name='layer.1.users']", "Bo").await;
    driver.type_into("#schedule-form textarea[name='layer.1.restrictions']", "daily 09:00-17:00").await;
    driver.click("#save").await;
    driver.wait_for_text("main h1", "day").await;
    let (_, schedule) = api.get("/api/v1/schedules/1").await;
    assert_eq!(schedule["layers"].as_array().unwrap().len(), 2, "{schedule}");
    assert_eq!(schedule["layers"][1]["restrictions"][0]["type"], "daily", "{schedule}");
    driver.click("#edit").await;
    driver.wait_for_text("main h1", "Edit day").await;
    driver.click("#schedule-form input[name='layer.0.remove']").await;
    driver.click("#save").await;
    driver.wait_for_text("main h1", "day").await;
    let (_, schedule) = api.get("/api/v1/schedules/1").await;
    assert_eq!(schedule["layers"].as_array().unwrap().len(), 1, "{schedule}");
    assert_eq!(schedule["layers"][0]["users"], json!([3]), "{schedule}");
    driver.select("#override-form select[name=user]", "2").await;
    driver.set_value("#override-form input[name=start]", "2030-01-07T10:00").await;
    driver.set_value("#override-form input[name=end]", "2030-01-07T12:00").await;
    driver.click("#add-override").await;
    driver.wait_for_contains("#overrides", "Ana").await;
    let (_, schedule) = api.get("/api/v1/schedules/1").await;
    assert_eq!(schedule["overrides"][0]["start"], "2030-01-07T10:00:00Z", "{schedule}");
    driver.screenshot(&screenshots("schedule-edited.png")).await;
    driver.click("#overrides button").await;
    driver.wait_for_text("#overrides", "None.").await;
    assert_eq!(api.get("/api/v1/schedules/1").await.1["overrides"], json!([]));

    // An escalation policy: created with one level, given a second; the schedule it pages cannot
    // be deleted, and the page says why.
    driver.goto(&format!("{}/escalation-policies", server.url)).await;
    driver.click("#new-policy").await;
    driver.wait_for_text("main h1", "New escalation policy").await;
    driver.type_into("#policy-form input[name=name]", "default").await;
    driver.select("#policy-form select[name='level.0.targets']", "schedule:1").await;
    driver.click("#save").await;
    driver.wait_for_text("main h1", "default").await;
    let (_, policy) = api.get("/api/v1/escalation-policies/1").await;
    assert_eq!(policy["levels"][0]["targets"], json!([{"type": "schedule", "id": 1}]), "{policy}");
    assert_eq!(policy["levels"][0]["timeout_minutes"], 15, "{policy}");
    driver.click("#edit").await;
    driver.wait_for_text("main h1", "Edit default").await;
    driver.replace("#policy-form input[name='level.1.timeout']", "30").await;
    driver.select("#policy-form select[name='level.1.targets']", "team:1").await;
    driver.click("#policy-form input[name='level.1.wakes_management']").await;
    driver.replace("#policy-form input[name=repeat]", "2").await;
    driver.click("#save").await;
    driver.wait_for_text("main h1", "default").await;
    let (_, policy) = api.get("/api/v1/escalation-policies/1").await;
    assert_eq!(policy["repeat"], 2, "{policy}");
    assert_eq!(
        policy["levels"][1],
        json!({"timeout_minutes": 30, "targets": [{"type": "team", "id": 1}], "wakes_management": true})
    );
    driver.screenshot(&screenshots("policy-edited.png")).await;
    driver.goto(&format!("{}/schedules/1/edit", server.url)).await;
    driver.click("#delete-form input[name=confirm]").await;
    driver.click("#delete").await;
    let refused = driver.wait_for_contains("#form-error", "is a target of escalation policies default").await;
    assert!(refused.contains("day"), "{refused}");

    // A service: created with its key shown once (and the key works), edited, a new key.
    driver.goto(&format!("{}/services", server.url)).await;
    driver.click("#new-service").await;
    driver.wait_for_text("main h1", "New service").await;
    driver.type_into("#service-form input[name=name]", "checkout").await;
    driver.select("#service-form select[name=team]", "1").await;
    driver.type_into("#service-form input[name=description]", "Takes card payments").await;
    driver.select("#service-form select[name=escalation_policy]", "1").await;
    driver.type_into("#service-form textarea[name=links]", "Dashboard https://grafana.example/d/1").await;
    driver.type_into("#service-form textarea[name=runbook]", "## Failing\n1. Roll back.").await;
    driver.click("#save").await;
    let key = driver.wait_for_contains("#integration-key", "fbk_").await;
    driver.screenshot(&screenshots("service-created.png")).await;
    let (_, service) = api.get("/api/v1/services/checkout").await;
    assert_eq!(service["escalation_policy_id"], 1, "{service}");
    assert_eq!(service["links"][0]["title"], "Dashboard", "{service}");
    let send = |key: String| {
        let event = json!({"routing_key": key, "event_action": "trigger",
            "payload": {"summary": "disk full", "source": "db-1", "severity": "warning"}});
        api.http.post(format!("{}/v2/enqueue", server.url)).json(&event).send()
    };
    assert_eq!(send(key.clone()).await.unwrap().status(), 202);
    driver.click("main a[href='/services/1']").await;
    driver.wait_for_text("main h1", "checkout").await;
    driver.click("#edit").await;
    driver.wait_for_text("main h1", "Edit checkout").await;
    driver.replace("#service-form input[name=description]", "Takes every payment").await;
    driver.select("#service-form select[name=escalation_policy]", "").await;
    driver.click("#save").await;
    driver.wait_for_text("main .description", "Takes every payment").await;
    let (_, service) = api.get("/api/v1/services/checkout").await;
    assert_eq!(service["escalation_policy_id"], Value::Null, "{service}");
    driver.click("#edit").await;
    driver.wait_for_text("main h1", "Edit checkout").await;
    driver.click("form[action$='/rotate-key'] input[name=confirm]").await;
    driver.click("#rotate-key").await;
    let new_key = driver.wait_for_contains("#integration-key", "fbk_").await;
    assert_ne!(new_key, key);
    assert_eq!(send(key).await.unwrap().status(), 400, "the old key no longer works");
    assert_eq!(send(new_key).await.unwrap().status(), 202);

    // Deleted: the policy, once no service uses it and the incident the alert opened is resolved,
    // then the schedule it paged.
    driver.goto(&format!("{}/escalation-policies/1/edit", server.url)).await;
    driver.click("#delete-form input[name=confirm]").await;
    driver.click("#delete").await;
    driver.wait_for_contains("#form-error", "are paging through escalation policy default").await;
    let (_, incidents) = api.get("/api/v1/incidents").await;
    for incident in incidents["incidents"].as_array().unwrap() {
        api.post(&format!("/api/v1/incidents/{}/resolve", incident["id"]), json!({})).await;
    }
    driver.click("#delete-form input[name=confirm]").await;
    driver.click("#delete").await;
    driver.wait_for_text("main h1", "Escalation policies").await;
    assert_eq!(api.get("/api/v1/escalation-policies/1").await.0, 404);
    driver.goto(&format!("{}/schedules/1/edit", server.url)).await;
    driver.click("#delete-form input[name=confirm]").await;
    driver.click("#delete").await;
    driver.wait_for_text("main h1", "Schedules").await;
    assert_eq!(api.get("/api/v1/schedules/1").await.0, 404);

    // And the service, the team that owned it, and Bo.
    driver.goto(&format!("{}/teams/1", server.url)).await;
    driver.click("#delete-form input[name=confirm]").await;
    driver.click("#delete").await;
    driver.wait_for_contains("#form-error", "team payments is in use: services checkout").await;
    driver.goto(&format!("{}/services/1/edit", server.url)).await;
    driver.click("#delete-form input[name=confirm]").await;
    driver.click("#delete").await;
    driver.wait_for_text("main h1", "Services").await;
    assert_eq!(api.get("/api/v1/services/checkout").await.0, 404);
    driver.goto(&format!("{}/teams/1", server.url)).await;
    driver.click("#delete-form input[name=confirm]").await;
    driver.click("#delete").await;
    driver.wait_for_text("main h1", "People").await;
    assert_eq!(api.get("/api/v1/teams/payments").await.0, 404);
    driver.goto(&format!("{}/users/3", server.url)).await;
    driver.click("#delete-form input[name=confirm]").await;
    driver.click("#delete").await;
    driver.wait_for_text("main h1", "People").await;
    assert_eq!(api.get("/api/v1/users/Bo").await.0, 404);
    let people = driver.text("main").await;
    assert!(people.contains("Ana") && !people.contains("bo@example.com"), "{people}");
    driver.quit().await;
    server.stop();
}

/// On a phone 375 CSS pixels wide, the incident list and an incident's page fit the screen and
/// the acknowledge button can be pressed; and the list and the timeline show what changed without
/// a reload.
#[tokio::test]
async fn a_phone_sees_the_list_change_without_a_reload() {
    let Some((chromedriver, chromium)) = browsers("a_phone_sees_the_list_change_without_a_reload") else {
        return;
    };
    let Fresh { dir: _dir, token, database, server } = Fresh::start("phone.db", "ana").await;
    let api = Api { http: reqwest::Client::new(), url: server.url.clone(), token: token.clone() };
    api.post("/api/v1/teams", json!({"name": "payments"})).await;
    api.post(
        "/api/v1/services",
        json!({"name": "checkout-eu-west-primary", "team": "payments", "description": "Takes card payments"}),
    )
    .await;
    let (_, incident) = api
        .post("/api/v1/incidents", json!({"title": "Card payments failing for EU customers on every storefront", "service": "checkout-eu-west-primary", "severity": "SEV1"}))
        .await;
    let id = incident["id"].as_i64().unwrap();
    api.post(&format!("/api/v1/incidents/{id}/notes"), json!({"text": "Error rate 38% on /pay since 02:51, provider status page is green; https://grafana.example.com/d/checkout?orgId=1&from=now-1h&to=now"})).await;

    let phone = json!({"mobileEmulation": {"deviceMetrics": {"width": 375, "height": 812, "pixelRatio": 2}}});
    let driver = Driver::start_with(&chromedriver, &chromium, phone).await;
    driver.log_in(&server.url, &operator(&server.url, &token, _dir.path(), &database).await).await;
    // The page's width and the screen's, and what sticks out past the screen, if anything.
    let fits = "const wide = [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > 375.5)
        .map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))
        .slice(0, 8);
        return [document.documentElement.scrollWidth, window.innerWidth, wide];";
    let widths = driver.execute(fits, json!([])).await;
    assert_eq!(widths[1], 375, "a wider page widens a phone's viewport: {widths}");
    assert!(widths[0].as_f64() <= Some(375.0), "the incident list scrolls sideways: {widths}");
    driver.screenshot(&screenshots("incidents-phone.png")).await;

    // The list shows a new incident without a reload.
    driver.execute("window.__marker = 1; return null;", json!([])).await;
    api.post(
        "/api/v1/incidents",
        json!({"title": "Search latency p99 above 2s", "service": "checkout-eu-west-primary"}),
    )
    .await;
    driver.wait_for_contains("#incident-list", "Search latency p99 above 2s").await;
    assert_eq!(driver.execute("return window.__marker;", json!([])).await, 1, "the page was reloaded");

    driver.click(&format!("#incident-list a[href='/incidents/{id}']")).await;
    driver.wait_for_text("#status", "triggered").await;
    let widths = driver.execute(fits, json!([])).await;
    assert!(
        widths[0].as_f64() <= Some(375.0) && widths[1] == 375,
        "the incident page scrolls sideways: {widths}"
    );
    let (displayed, x, width) = driver.placed("#acknowledge").await;
    assert!(
        displayed && x >= 0.0 && x + width <= 375.0,
        "the acknowledge button is off screen: {x} + {width}"
    );
    driver.screenshot(&screenshots("incident-phone.png")).await;

    // The timeline shows a note added elsewhere without a reload.
    driver.execute("window.__marker = 2; return null;", json!([])).await;
    api.post(&format!("/api/v1/incidents/{id}/notes"), json!({"text": "Rolled back the last deploy."})).await;
    driver.wait_for_contains("#timeline", "Rolled back the last deploy.").await;
    assert_eq!(driver.execute("return window.__marker;", json!([])).await, 2, "the page was reloaded");

    driver.click("#acknowledge").await;
    driver.wait_for_text("#status", "acknowledged").await;
    assert_eq!(api.get(&format!("/api/v1/incidents/{id}")).await.1["status"], "acknowledged");
    for path in ["/services/1", "/schedules", "/people", "/services/new", "/escalation-policies/new"] {
        driver.goto(&format!("{}{path}", server.url)).await;
        let widths = driver.execute(fits, json!([])).await;
        assert!(widths[0].as_f64() <= Some(375.0) && widths[1] == 375, "{path} scrolls sideways: {widths}");
    }
    driver.screenshot(&screenshots("policy-form-phone.png")).await;
    driver.quit().await;
    server.stop();
}

/// Assessing an incident from its page with the severity guide sets its severity and wakes the
/// next level of its escalation at once (a real webhook receiver gets the page).
#[tokio::test]
async fn assess_in_a_real_browser() {
    let Some((chromedriver, chromium)) = browsers("assess_in_a_real_browser") else { return };
    let Fresh { dir: _dir, token, database, server } = Fresh::start("assess.db", "ana").await;
    let api = Api { http: reqwest::Client::new(), url: server.url.clone(), token: token.clone() };
    let receiver = crate::support::Receiver::start().await;
    api.post("/api/v1/teams", json!({"name": "payments"})).await;
    let mut ids = Vec::new();
    for name in ["ana", "bo"] {
        let (_, user) =
            api.post("/api/v1/users", json!({"name": name, "email": format!("{name}@example.com")})).await;
        let address = format!("{}/{name}", receiver.url);
        api.post(
            &format!("/api/v1/users/{}/contact-methods", user["id"]),
            json!({"type": "webhook", "address": address}),
        )
        .await;
        ids.push(user["id"].clone());
    }
    let levels = json!([
        {"timeout_minutes": 30, "targets": [{"type": "user", "id": ids[0]}]},
        {"timeout_minutes": 30, "targets": [{"type": "user", "id": ids[1]}]}]);
    let (_, policy) =
        api.post("/api/v1/escalation-policies", json!({"name": "default", "levels": levels})).await;
    api.post("/api/v1/services", json!({"name": "checkout", "team": "payments", "description": "pays"}))
        .await;
    api.call(
        reqwest::Method::PATCH,
        "/api/v1/services/checkout",
        Some(json!({"escalation_policy": policy["id"]})),
    )
    .await;
    let (_, incident) = api
        .post("/api/v1/incidents", json!({"title": "cards fail", "service": "checkout", "severity": "SEV3"}))
        .await;
    let id = incident["id"].as_i64().unwrap();
    let first = receiver.wait_for(1, Duration::from_secs(20)).await;
    assert_eq!(first[0].path, "/ana");

    let driver = Driver::start(&chromedriver, &chromium).await;
    driver.log_in(&server.url, &operator(&server.url, &token, _dir.path(), &database).await).await;
    driver.goto(&format!("{}/incidents/{id}", server.url)).await;
    driver.click("#assess summary").await;
    driver.select("#assess select[name='answer.customers_affected']", "all").await;
    driver.select("#assess select[name='answer.security']", "no").await;
    driver.click("#assess-submit").await;
    driver.wait_for_text(".badges .sev", "SEV1").await;
    let timeline = driver.text("#timeline").await;
    assert!(timeline.contains("Assessed with the built-in severity guide"), "{timeline}");
    let pages = receiver.wait_for(2, Duration::from_secs(20)).await;
    assert_eq!(pages[1].path, "/bo", "the next level is woken at once");
    assert_eq!(pages[1].json()["incident"]["severity"], "SEV1");
    server.stop();
}
