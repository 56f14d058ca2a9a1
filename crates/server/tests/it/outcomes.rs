//! Expected outcomes end to end, on both backends: a shop posts its business events with its
//! service's integration key while the manual clock moves through days, the rules are judged
//! after every step, and what the rules said and the incidents their alerts opened are written
//! down as a log, one line per change, and compared with the expected log.

use axum::body::Body;
use axum::http::{Method, Request, header};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use crate::support::{Answer, TestApp};

/// A shop: team `shop`, service `payments` and its integration key, and one rule being watched.
struct Shop {
    app: TestApp,
    key: String,
    rule_id: i64,
    /// One line per change of the rule's status, and per incident opened or resolved.
    log: String,
    status: String,
    alerting: bool,
}

impl Shop {
    /// Sets up the shop on `app` with the rule `name` saying `rule`, made at the clock's start.
    async fn new(app: TestApp, name: &str, rule: &str) -> Shop {
        let key = service(&app, "shop", "payments").await;
        let (status, made) = app
            .post("/api/v1/outcome-rules", json!({"name": name, "service": "payments", "rule": rule}))
            .await;
        assert_eq!(status, 201, "{made}");
        let mut shop = Shop {
            app,
            key,
            rule_id: made["id"].as_i64().unwrap(),
            log: String::new(),
            status: String::new(),
            alerting: false,
        };
        shop.look().await;
        shop
    }

    /// Moves the clock in `step`s up to `until`; at each, posts what `events` gives for that time
    /// (if anything), judges the rules, and logs what changed.
    async fn run(&mut self, until: &str, step: SignedDuration, events: impl Fn(Timestamp) -> Vec<Value>) {
        let until: Timestamp = until.parse().unwrap();
        while self.now() < until {
            self.app.clock.advance(step);
            let batch = events(self.now());
            if !batch.is_empty() {
                let answer =
                    post_events(&self.app, &self.key, &Value::Array(batch.clone()).to_string()).await;
                assert_eq!((answer.status.as_u16(), answer.json()), (202, json!({"accepted": batch.len()})));
            }
            self.app.app.evaluate_outcomes().await.unwrap();
            self.look().await;
        }
    }

    /// Logs a change of the rule's status, and of the incidents when its alert changed.
    async fn look(&mut self) {
        let (status, rules) = self.app.get("/api/v1/outcome-rules?service=payments").await;
        assert_eq!(status, 200, "{rules}");
        let rule = rules.as_array().unwrap().iter().find(|rule| rule["id"] == self.rule_id).unwrap().clone();
        let when = self.now().strftime("%a %H:%M");
        if rule["status"] != self.status.as_str() {
            self.status = rule["status"].as_str().unwrap().to_owned();
            let said = rule["seen"].as_str().or(rule["why"].as_str()).unwrap();
            self.log.push_str(&format!("{when}  {}: {said}\n", self.status));
        }
        let alerting = rule["alerting"].as_bool().unwrap();
        if alerting != self.alerting {
            self.alerting = alerting;
            let (_, page) = self.app.get("/api/v1/incidents?service=payments&status=all").await;
            let latest = &page["incidents"][0];
            let field = |name: &str| latest[name].as_str().unwrap().to_owned();
            self.log.push_str(&format!(
                "{when}  incident {} {} {} {}: {}\n",
                latest["id"],
                field("status"),
                field("severity"),
                field("kind"),
                field("title")
            ));
        }
    }

    /// Every incident of the service, newest first, as `id status`.
    async fn incidents(&self) -> Vec<String> {
        let (_, page) = self.app.get("/api/v1/incidents?service=payments&status=all").await;
        let incidents = page["incidents"].as_array().unwrap();
        incidents
            .iter()
            .map(|incident| format!("{} {}", incident["id"], incident["status"].as_str().unwrap()))
            .collect()
    }

    fn now(&self) -> Timestamp {
        firebreak_domain::Clock::now(&*self.app.clock)
    }
}

/// Creates team `team` and service `name` of it; returns the service's integration key.
async fn service(app: &TestApp, team: &str, name: &str) -> String {
    app.post("/api/v1/teams", json!({"name": team})).await;
    let (status, service) =
        app.post("/api/v1/services", json!({"name": name, "team": team, "description": "sells"})).await;
    assert_eq!(status, 201, "{service}");
    service["integration_key"].as_str().unwrap().to_owned()
}

/// `POST /api/v1/outcome-events` with `body`, authenticated by integration key `key`.
async fn post_events(app: &TestApp, key: &str, body: &str) -> Answer {
    let request = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/outcome-events")
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap();
    let answer = app.send(request).await;
    if answer.status.as_u16() >= 400 {
        assert_eq!(answer.header("content-type"), "application/problem+json", "{}", answer.text());
    }
    answer
}

/// The test apps to run on: SQLite, and PostgreSQL when configured.
async fn backends(test: &str) -> Vec<TestApp> {
    [Some(TestApp::new().await), TestApp::postgres(test).await].into_iter().flatten().collect()
}

/// Minutes since midnight UTC, and the weekday, of `at`.
fn clock_of(at: Timestamp) -> (i64, jiff::civil::Weekday) {
    let zoned = at.to_zoned(jiff::tz::TimeZone::UTC);
    (i64::from(zoned.hour()) * 60 + i64::from(zoned.minute()), zoned.weekday())
}

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

#[tokio::test]
async fn at_least_rule_breaches_in_active_hours_and_rests_at_night_and_weekends() {
    for app in backends("outcomes_at_least").await {
        // The clock starts on Monday 2026-03-02 at 08:00 UTC, 09:00 in Berlin. Card payments are
        // captured every 5 minutes while the shop is open, 08:00 to 20:00 Berlin time (07:00 to
        // 19:00 UTC) on weekdays, except on Wednesday from 13:00 to 15:00 UTC, when capturing
        // breaks, and on Thursday from 18:00 UTC to closing time. At night and at the weekend
        // nobody buys: the rule rests, and a breach still open at closing time is resolved.
        let mut shop = Shop::new(
            app,
            "card captures",
            "at least 10 Payment_Captured per 1h between 08:00 and 20:00 on weekdays in Europe/Berlin",
        )
        .await;
        let outages = [
            (at("2026-03-04T13:00:00Z"), at("2026-03-04T15:00:00Z")),
            (at("2026-03-05T18:00:00Z"), at("2026-03-05T19:00:00Z")),
        ];
        shop.run("2026-03-08T00:00:00Z", SignedDuration::from_mins(5), |now| {
            let (minute, day) = clock_of(now);
            let open = day.to_monday_zero_offset() < 5 && (7 * 60..19 * 60).contains(&minute);
            let broken = outages.iter().any(|(from, to)| *from <= now && now < *to);
            if open && !broken { vec![json!({"event": "payment_captured"})] } else { vec![] }
        })
        .await;
        expect_test::expect![[r#"
            Mon 08:00  quiet: too new: judged from 2026-03-02 09:00 UTC, 1h after the rule was made
            Mon 09:00  met: 12 in the hour to 10:00 Europe/Berlin
            Mon 19:05  quiet: the hour to 20:05 is not wholly within the active hours (08:00–20:00 weekdays, Europe/Berlin)
            Tue 08:00  met: 12 in the hour to 09:00 Europe/Berlin
            Tue 19:05  quiet: the hour to 20:05 is not wholly within the active hours (08:00–20:00 weekdays, Europe/Berlin)
            Wed 08:00  met: 12 in the hour to 09:00 Europe/Berlin
            Wed 13:10  breached: 9 in the hour to 14:10 Europe/Berlin
            Wed 13:10  incident 1 triggered SEV3 silent: card captures: expected at least 10 payment_captured per 1h (08:00–20:00 weekdays, Europe/Berlin); saw 9 in the hour to 14:10 Europe/Berlin
            Wed 15:45  met: 10 in the hour to 16:45 Europe/Berlin
            Wed 15:45  incident 1 resolved SEV3 silent: card captures: expected at least 10 payment_captured per 1h (08:00–20:00 weekdays, Europe/Berlin); saw 9 in the hour to 14:10 Europe/Berlin
            Wed 19:05  quiet: the hour to 20:05 is not wholly within the active hours (08:00–20:00 weekdays, Europe/Berlin)
            Thu 08:00  met: 12 in the hour to 09:00 Europe/Berlin
            Thu 18:10  breached: 9 in the hour to 19:10 Europe/Berlin
            Thu 18:10  incident 2 triggered SEV3 silent: card captures: expected at least 10 payment_captured per 1h (08:00–20:00 weekdays, Europe/Berlin); saw 9 in the hour to 19:10 Europe/Berlin
            Thu 19:05  quiet: the hour to 20:05 is not wholly within the active hours (08:00–20:00 weekdays, Europe/Berlin)
            Thu 19:05  incident 2 resolved SEV3 silent: card captures: expected at least 10 payment_captured per 1h (08:00–20:00 weekdays, Europe/Berlin); saw 9 in the hour to 19:10 Europe/Berlin
            Fri 08:00  met: 12 in the hour to 09:00 Europe/Berlin
            Fri 19:05  quiet: the hour to 20:05 is not wholly within the active hours (08:00–20:00 weekdays, Europe/Berlin)
        "#]]
        .assert_eq(&shop.log);
        assert_eq!(shop.incidents().await, ["2 resolved", "1 resolved"]);
        shop.app.stop().await;
    }
}

#[tokio::test]
async fn ratio_rule_breaches_when_keyed_settlements_stop() {
    for app in backends("outcomes_ratio").await {
        // A payout is requested every 5 minutes, each with its own key, and settled 10 minutes
        // later; on Tuesday from 12:00 to 14:00 UTC nothing settles.
        let mut shop =
            Shop::new(app, "payouts settle", "payout_settled >= 95% of payout_requested within 30m").await;
        let start = at(crate::support::START);
        let outage = (at("2026-03-03T12:00:00Z"), at("2026-03-03T14:00:00Z"));
        shop.run("2026-03-04T00:00:00Z", SignedDuration::from_mins(5), |now| {
            let number = now.duration_since(start).as_mins() / 5;
            let mut events =
                vec![json!({"event": "payout_requested", "key": format!("payout-{number}"), "at": now})];
            if number >= 2 && !(outage.0 <= now && now < outage.1) {
                let key = format!("payout-{}", number - 2);
                events.push(json!({"event": "payout_settled", "key": key, "at": now, "count": 1}));
            }
            events
        })
        .await;
        expect_test::expect![[r#"
            Mon 08:00  quiet: too new: judged from 2026-03-02 09:30 UTC, 1h30m after the rule was made
            Mon 09:30  met: 12 of 12 payout_requested followed by payout_settled within 30m (100%)
            Tue 12:20  breached: 11 of 12 payout_requested followed by payout_settled within 30m (91.66%)
            Tue 12:20  incident 1 triggered SEV3 silent: payouts settle: expected at least 95% of payout_requested followed by payout_settled within 30m; saw 11 of 12 payout_requested followed by payout_settled within 30m (91.66%)
            Tue 15:15  met: 12 of 12 payout_requested followed by payout_settled within 30m (100%)
            Tue 15:15  incident 1 resolved SEV3 silent: payouts settle: expected at least 95% of payout_requested followed by payout_settled within 30m; saw 11 of 12 payout_requested followed by payout_settled within 30m (91.66%)
        "#]]
        .assert_eq(&shop.log);
        assert_eq!(shop.incidents().await, ["1 resolved"]);
        shop.app.stop().await;
    }
}

#[tokio::test]
async fn absent_rule_breaches_after_its_duration_of_silence_and_recovers_with_the_next_event() {
    for app in backends("outcomes_absent").await {
        // The invoice run sends invoices every day at 06:00 UTC; on Thursday it does not run, and
        // someone runs it by hand at 09:00.
        let mut shop = Shop::new(app, "invoices", "no invoice_sent for 26h").await;
        shop.run("2026-03-06T12:00:00Z", SignedDuration::from_mins(15), |now| {
            let (minute, day) = clock_of(now);
            let thursday = day == jiff::civil::Weekday::Thursday;
            let run = if thursday { minute == 9 * 60 } else { minute == 6 * 60 };
            if run {
                vec![json!({"event": "invoice_sent", "service": "payments", "count": 40, "key": format!("{now}")})]
            } else {
                vec![]
            }
        })
        .await;
        expect_test::expect![[r#"
            Mon 08:00  quiet: too new: judged from 2026-03-03 10:00 UTC, 26h after the rule was made
            Tue 10:00  met: last at 2026-03-03 06:00 UTC
            Thu 08:00  breached: none since 2026-03-04 06:00 UTC
            Thu 08:00  incident 1 triggered SEV3 silent: invoices: expected invoice_sent at least once every 26h; saw none since 2026-03-04 06:00 UTC
            Thu 09:00  met: last at 2026-03-05 09:00 UTC
            Thu 09:00  incident 1 resolved SEV3 silent: invoices: expected invoice_sent at least once every 26h; saw none since 2026-03-04 06:00 UTC
        "#]]
        .assert_eq(&shop.log);
        assert_eq!(shop.incidents().await, ["1 resolved"]);
        shop.app.stop().await;
    }
}

/// Creates user `name` with `role` in team `team` and a token of theirs; returns the token.
async fn member(app: &TestApp, name: &str, team: &str, role: &str) -> String {
    let (status, user) =
        app.post("/api/v1/users", json!({"name": name, "email": format!("{name}@example.com")})).await;
    assert_eq!(status, 201, "{user}");
    let (status, added) = app
        .post(&format!("/api/v1/teams/{team}/members"), json!({"user_id": user["id"], "role": role}))
        .await;
    assert_eq!(status, 201, "{added}");
    let (status, token) =
        app.post("/api/v1/tokens", json!({"name": format!("{name}'s"), "user": name})).await;
    assert_eq!(status, 201, "{token}");
    token["token"].as_str().unwrap().to_owned()
}

/// An API call with `token` in place of the harness's administrator token.
async fn call_as(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request =
        Request::builder().method(method).uri(path).header(header::AUTHORIZATION, format!("Bearer {token}"));
    if body.is_some() {
        request = request.header(header::CONTENT_TYPE, "application/json");
    }
    let answer =
        app.send(request.body(Body::from(body.map_or_else(String::new, |b| b.to_string()))).unwrap()).await;
    (answer.status.as_u16(), answer.json())
}

#[tokio::test]
async fn events_take_the_integration_key_and_are_stored_all_or_none() {
    for app in backends("outcomes_events").await {
        let key = service(&app, "shop", "payments").await;
        let other_key = service(&app, "search", "index").await;
        let (status, rule) = app
            .post(
                "/api/v1/outcome-rules",
                json!({"name": "invoices", "service": "payments", "rule": "no invoice_sent for 26h"}),
            )
            .await;
        assert_eq!(status, 201, "{rule}");
        let path = format!("/api/v1/outcome-rules/{}", rule["id"]);
        let event = r#"{"event": "invoice_sent"}"#;

        // Only a service's integration key is taken, not an API token, and nothing else.
        for (authorization, expected) in [
            (None, "missing Authorization header"),
            (Some("Basic abc"), "malformed"),
            (Some("Bearer not-a-key"), "no service has this integration key"),
            (Some(&*format!("Bearer {}", app.token)), "no service has this integration key"),
        ] {
            let mut request = Request::builder()
                .method(Method::POST)
                .uri("/api/v1/outcome-events")
                .header(header::CONTENT_TYPE, "application/json");
            if let Some(authorization) = authorization {
                request = request.header(header::AUTHORIZATION, authorization);
            }
            let answer = app.send(request.body(Body::from(event)).unwrap()).await;
            assert_eq!(answer.status.as_u16(), 401, "{authorization:?}: {}", answer.text());
            assert_eq!(answer.header("content-type"), "application/problem+json");
            let detail = answer.json()["detail"].as_str().unwrap().to_owned();
            assert!(detail.contains(expected), "{authorization:?}: {detail}");
        }

        // A bad event refuses the whole request, naming the event and what is wrong with it.
        let now = firebreak_domain::Clock::now(&*app.clock);
        let ok = json!({"event": "invoice_sent"});
        let refused = [
            (json!([ok, {"event": "invoice sent"}]), 422, "event 1: event \"invoice sent\" is not"),
            (
                json!([ok, {"event": "invoice_sent", "count": 0}]),
                422,
                "event 1: count must be from 1 to 1000000, not 0",
            ),
            (json!({"event": "invoice_sent", "count": 1_000_001}), 422, "event 0: count must be"),
            (
                json!({"event": "invoice_sent", "at": now + SignedDuration::from_mins(6)}),
                422,
                "more than 5 minutes ahead",
            ),
            (
                json!({"event": "invoice_sent", "at": now - SignedDuration::from_hours(36 * 24)}),
                422,
                "more than 35 days ago",
            ),
            (
                json!({"event": "invoice_sent", "key": "k".repeat(201)}),
                422,
                "key must be 1 to 200 characters",
            ),
            (
                json!([ok, {"event": "invoice_sent", "service": "index"}]),
                422,
                "event 1: service \"index\" is not the service whose integration key sent it",
            ),
            (json!({"event": "invoice_sent", "service": 999}), 422, "service 999 is not"),
            (Value::Array(vec![ok.clone(); 1001]), 422, "1001 events in one request; send at most 1000"),
            (json!({"evnt": "invoice_sent"}), 400, "event 0: unknown field `evnt`"),
            (json!([ok, {"event": "invoice_sent", "count": "two"}]), 400, "event 1: invalid type"),
            (json!({"event": "invoice_sent", "at": "yesterday"}), 400, "event 0:"),
        ];
        for (body, status, expected) in refused {
            let answer = post_events(&app, &key, &body.to_string()).await;
            let detail = answer.json()["detail"].as_str().unwrap_or_default().to_owned();
            assert_eq!(answer.status.as_u16(), status, "{body}: {detail}");
            assert!(detail.contains(expected), "{body}: {detail}");
        }
        let answer = post_events(&app, &key, "[{\"event\": ").await;
        assert_eq!(answer.status.as_u16(), 400, "{}", answer.text());
        let (_, shown) = app.get(&path).await;
        assert_eq!(
            shown["counts"],
            json!([{"event": "invoice_sent", "last_hour": 0, "last_day": 0, "last_at": null}])
        );

        // One event or an array of them; the other service's key stores for the other service.
        for (body, accepted) in [
            (json!({"event": "Invoice_Sent", "service": "payments", "count": 3}), 1),
            (
                json!([{"event": "invoice_sent", "at": now - SignedDuration::from_hours(2)}, {"event": "invoice_failed", "key": "inv-7"}]),
                2,
            ),
            (json!([]), 0),
        ] {
            let answer = post_events(&app, &key, &body.to_string()).await;
            assert_eq!(
                (answer.status.as_u16(), answer.json()),
                (202, json!({"accepted": accepted})),
                "{body}"
            );
        }
        let answer =
            post_events(&app, &other_key, &json!({"event": "invoice_sent", "count": 50}).to_string()).await;
        assert_eq!(answer.status.as_u16(), 202);
        let (_, shown) = app.get(&path).await;
        assert_eq!(
            shown["counts"],
            json!([{"event": "invoice_sent", "last_hour": 3, "last_day": 4, "last_at": now.to_string()}])
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn rules_are_configuration() {
    for app in backends("outcomes_rules").await {
        service(&app, "shop", "payments").await;
        let viewer = member(&app, "vera", "shop", "viewer").await;
        let create =
            json!({"name": "captures", "service": "payments", "rule": "at least 10 payment_captured per 1h"});

        // A viewer reads rules and may not make them.
        let (status, problem) =
            call_as(&app, &viewer, Method::POST, "/api/v1/outcome-rules", Some(create.clone())).await;
        assert_eq!(status, 403, "{problem}");
        assert!(problem["detail"].as_str().unwrap().contains("you are viewer"), "{problem}");
        let (status, rules) = call_as(&app, &viewer, Method::GET, "/api/v1/outcome-rules", None).await;
        assert_eq!((status, rules), (200, json!([])));

        // Events read from Prometheus need a server that has one.
        let (status, problem) = app
            .post(
                "/api/v1/outcome-rules",
                json!({"name": "captures", "service": "payments", "rule": "at least 10 payment_captured per 1h",
                       "queries": {"payment_captured": "sum(increase(payments_captured_total[$window]))"}}),
            )
            .await;
        assert_eq!(status, 422, "{problem}");
        assert!(problem["detail"].as_str().unwrap().contains("--prometheus-url"), "{problem}");

        // A sentence that does not read says at which word, and what it expected there.
        let (status, problem) = app
            .post("/api/v1/outcome-rules", json!({"name": "captures", "service": "payments", "rule": "at least 10 payment_captured every 1h"}))
            .await;
        assert_eq!(status, 422, "{problem}");
        assert_eq!(problem["detail"], "rule: word 5: expected \"per\", found \"every\"");
        let (status, problem) = app
            .post(
                "/api/v1/outcome-rules",
                json!({"name": "captures", "service": "payments", "rule": "no invoice_sent for 40d"}),
            )
            .await;
        assert_eq!(
            (status, problem["detail"].as_str()),
            (422, Some("rule: window: must be from 1m to 35d, not 40d"))
        );
        let (status, problem) = app
            .post(
                "/api/v1/outcome-rules",
                json!({"name": "captures", "service": "nowhere", "rule": "no x for 1h"}),
            )
            .await;
        assert_eq!(status, 404, "{problem}");

        let (status, rule) = app.post("/api/v1/outcome-rules", create.clone()).await;
        assert_eq!(status, 201, "{rule}");
        assert_eq!(
            (
                rule["shape"].as_str(),
                rule["status"].as_str(),
                rule["severity"].as_str(),
                rule["alerting"].as_bool()
            ),
            (Some("at_least"), Some("quiet"), Some("SEV3"), Some(false))
        );
        assert_eq!(rule["expected"], "at least 10 payment_captured per 1h");
        let (status, problem) = app.post("/api/v1/outcome-rules", create).await;
        assert_eq!(status, 409, "{problem}");
        let path = format!("/api/v1/outcome-rules/{}", rule["id"]);
        let (status, problem) = call_as(&app, &viewer, Method::DELETE, &path, None).await;
        assert_eq!(status, 403, "{problem}");

        // A change is read like a new rule; the sentence is kept in its canonical form.
        let (status, changed) = app
            .call(
                Method::PATCH,
                &path,
                Some(json!({"rule": "NO Payment_Captured  FOR 1d2h", "severity": "SEV2"})),
            )
            .await;
        assert_eq!(status, 200, "{changed}");
        assert_eq!(
            (
                changed["rule"].as_str(),
                changed["shape"].as_str(),
                changed["severity"].as_str(),
                changed["name"].as_str()
            ),
            (Some("no payment_captured for 26h"), Some("absent"), Some("SEV2"), Some("captures"))
        );
        let (status, problem) = app.call(Method::PATCH, &path, Some(json!({"rule": "no"}))).await;
        assert_eq!(
            (status, problem["detail"].as_str()),
            (
                422,
                Some(
                    "rule: word 2: expected an event name of a-z 0-9 _ . : - (at most 100), found the end of the rule"
                )
            )
        );

        // A rule breached raises its alert; deleting the rule resolves it.
        let (status, quick) = app
            .post("/api/v1/outcome-rules", json!({"name": "heartbeat", "service": "payments", "rule": "no tick for 1m", "severity": "SEV1"}))
            .await;
        assert_eq!(status, 201, "{quick}");
        app.clock.advance(SignedDuration::from_mins(1));
        app.app.evaluate_outcomes().await.unwrap();
        let quick_path = format!("/api/v1/outcome-rules/{}", quick["id"]);
        let (_, shown) = app.get(&quick_path).await;
        assert_eq!(
            (shown["status"].as_str(), shown["alerting"].as_bool()),
            (Some("breached"), Some(true)),
            "{shown}"
        );
        let (_, page) = app.get("/api/v1/incidents?service=payments&status=all").await;
        assert_eq!(
            page["incidents"][0]["title"],
            "heartbeat: expected tick at least once every 1m; saw none in the last 1m"
        );
        assert_eq!(
            (page["incidents"][0]["severity"].as_str(), page["incidents"][0]["status"].as_str()),
            (Some("SEV1"), Some("triggered"))
        );
        let incident = &page["incidents"][0]["id"];
        let (_, alerts) = app.get(&format!("/api/v1/incidents/{incident}/alerts")).await;
        let alert = &alerts[0];
        assert_eq!(alert["dedup_key"], format!("outcome:{}", quick["id"]));
        assert_eq!(
            alert["labels"],
            json!({"alertname": "OutcomeMissed", "rule": "heartbeat", "source": "firebreak"})
        );
        assert_eq!(alert["details"], json!({"rule": "no tick for 1m"}));
        let (status, _) = app.call(Method::DELETE, &quick_path, None).await;
        assert_eq!(status, 204);
        let (_, page) = app.get("/api/v1/incidents?service=payments&status=all").await;
        assert_eq!(page["incidents"][0]["status"], "resolved", "{page}");
        let (status, _) = app.get(&quick_path).await;
        assert_eq!(status, 404);
        let (_, rules) = app.get("/api/v1/outcome-rules").await;
        let names: Vec<&str> =
            rules.as_array().unwrap().iter().map(|rule| rule["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["captures"]);
        app.stop().await;
    }
}
