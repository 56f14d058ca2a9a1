//! Calendar feeds over HTTP, read back by a standard iCalendar parser.
//!
//! The feeds are fetched without an API token, as a calendar application would, and parsed by
//! Python's `icalendar` (`ical_check.py`); the events it finds must be the shifts the API lists
//! over the same window. Needs Debian's `python3-icalendar`. Without it the test says it was
//! skipped, unless `FIREBREAK_ICAL_TESTS=required` (as in CI), where its absence fails it.
//!
//! The server reads the real clock, so the schedules are built around today. A weekly rotation
//! should span a change of UTC offset; Europe/Berlin has none in the window for much of the year,
//! and then the test uses the first zone that has one, or says that none does.

use std::path::Path;
use std::process::Command;

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Span, Timestamp};
use serde_json::{Value, json};

use crate::support::{Api, Fresh, note, skipped};

const PYTHON: &str = "/usr/bin/python3";
const CHECK_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/ical_check.py");
/// The window a feed covers, as documented: from midnight UTC seven days ago to the end of the
/// 90th day after today.
const FEED_PAST_DAYS: i64 = 7;
const FEED_FUTURE_DAYS: i64 = 90;
/// Zones tried first, in order, for a rotation across a change of UTC offset.
const ZONES: &[&str] = &[
    "Europe/Berlin",
    "America/New_York",
    "America/Santiago",
    "Australia/Sydney",
    "Pacific/Auckland",
    "Africa/Cairo",
    "Africa/Casablanca",
];
const PRIMARY: &str = "Primary; EU, 24/7";
const SECONDARY: &str = "Secondary";
/// Long and made of multi-byte characters, so its SUMMARY and DESCRIPTION lines are folded.
const BO: &str = "Bożydar Łukasiewicz-Żółć-Świętochowski";

#[tokio::test]
async fn calendar_feeds_match_the_api() {
    if !icalendar_available() {
        return;
    }
    let Fresh { dir, token, server, .. } = Fresh::start("ical.db", "ana").await;
    let http = reqwest::Client::new();
    let api = Api { http: http.clone(), url: server.url.clone(), token };
    let mut user_ids = std::collections::HashMap::new();
    for (name, email) in [("Ana", "ana@example.com"), (BO, "bo@example.com"), ("Cy", "cy@example.com")] {
        let (status, user) = api
            .post("/api/v1/users", json!({"name": name, "email": email, "time_zone": "Europe/Berlin"}))
            .await;
        assert_eq!(status, 201, "{user}");
        user_ids.insert(name, user["id"].as_i64().unwrap());
    }

    let (from, to) = feed_window(Timestamp::now());
    let (zone, offset_change) = zone_with_offset_change(from, to);
    let tz = TimeZone::get(&zone).unwrap();
    // Monday 09:00 local time, two weeks before the window, so the rotation is running when it
    // opens.
    let anchor = (from - SignedDuration::from_hours(14 * 24)).to_zoned(tz.clone());
    let monday = anchor.date() - Span::new().days(i64::from(anchor.weekday().to_monday_zero_offset()));
    let start = monday.at(9, 0, 0, 0).to_zoned(tz.clone()).unwrap().timestamp().to_string();
    let (status, primary) = api
        .post(
            "/api/v1/schedules",
            json!({"name": PRIMARY, "time_zone": zone,
                   "layers": [{"start": start, "shift_length": "1w", "users": ["Ana", BO]}]}),
        )
        .await;
    assert_eq!(status, 201, "{primary}");
    let primary = primary["id"].as_i64().unwrap();
    let cover_start = from + SignedDuration::from_hours(10 * 24 + 12);
    let (status, body) = api
        .post(
            &format!("/api/v1/schedules/{primary}/overrides"),
            json!({"user": "Cy", "start": cover_start.to_string(),
                   "end": (cover_start + SignedDuration::from_hours(24)).to_string()}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, secondary) = api
        .post(
            "/api/v1/schedules",
            json!({"name": SECONDARY, "time_zone": zone,
                   "layers": [{"start": start, "shift_length": "1d", "users": ["Cy", "Ana"]}]}),
        )
        .await;
    assert_eq!(status, 201, "{secondary}");
    let secondary = secondary["id"].as_i64().unwrap();

    // Creating a feed URL needs an API token; asking for one of a missing schedule is a 404.
    let response = http.post(format!("{}/api/v1/schedules/{primary}/feed", server.url)).send().await.unwrap();
    assert_eq!(response.status(), 401);
    let (status, problem) = api.post("/api/v1/schedules/999/feed", json!({})).await;
    assert_eq!((status, problem["detail"].as_str().unwrap()), (404, "there is no schedule 999"));
    let (status, problem) = api.post("/api/v1/users/Nobody/feed", json!({})).await;
    assert_eq!((status, problem["detail"].as_str().unwrap()), (404, "there is no user \"Nobody\""));

    let (status, body) = api.post(&format!("/api/v1/schedules/{primary}/feed"), json!({})).await;
    assert_eq!(status, 201, "{body}");
    let schedule_url = body["url"].as_str().unwrap().to_owned();
    assert!(
        schedule_url.starts_with(&format!("{}/feeds/fbc_", server.url)) && schedule_url.ends_with(".ics"),
        "{schedule_url}"
    );

    // The schedule's feed holds exactly the API's shifts over the window, across the offset change.
    let (window, calendar) = fetch_and_parse(&http, &schedule_url, dir.path()).await;
    assert_eq!(calendar["calendar"]["prodid"], "-//firebreak//on-call//EN");
    assert_eq!(calendar["calendar"]["version"], "2.0");
    assert_eq!(calendar["calendar"]["calscale"], "GREGORIAN");
    assert_eq!(calendar["calendar"]["method"], "PUBLISH");
    assert_eq!(calendar["calendar"]["x-wr-calname"], format!("On call: {PRIMARY}"));
    let expected = api_events(&api, primary, PRIMARY, window, None).await;
    assert!(expected.len() > 10, "{expected:#?}");
    assert_eq!(feed_events(&calendar), expected, "schedules in {zone}");
    assert!(
        expected.iter().any(|event| event.contains(&format!("On call: Cy ({PRIMARY})"))),
        "the override is in the feed"
    );
    match offset_change {
        Some(change) => {
            let spanning = calendar["events"].as_array().unwrap().iter().any(|event| {
                let instant = |key: &str| event[key].as_str().unwrap().parse::<Timestamp>().unwrap();
                instant("dtstart") < change && change < instant("dtend")
            });
            assert!(spanning, "a shift spans the offset change of {zone} at {change}");
        }
        None => note(&format!(
            "calendar_feeds_match_the_api: no time zone changes its UTC offset between {from} and {to}; \
             the rotation spans no such change"
        )),
    }

    // A new URL replaces the old one, which then answers like a URL that never existed.
    let (status, body) = api.post(&format!("/api/v1/schedules/{primary}/feed"), json!({})).await;
    assert_eq!(status, 201, "{body}");
    let rotated_url = body["url"].as_str().unwrap().to_owned();
    assert_ne!(rotated_url, schedule_url);
    let never_issued = format!("{}/feeds/fbc_{}.ics", server.url, "0".repeat(64));
    let without_suffix = rotated_url.trim_end_matches(".ics").to_owned();
    let unknown = not_found(&http, &never_issued).await;
    for url in [&schedule_url, &without_suffix, &format!("{}/feeds/.ics", server.url)] {
        assert_eq!(not_found(&http, url).await, unknown, "{url}");
    }
    let (_, calendar) = fetch_and_parse(&http, &rotated_url, dir.path()).await;
    assert_eq!(calendar["events"].as_array().unwrap().len(), expected.len());

    // A user's feed holds that user's shifts on every schedule, and nobody else's.
    let ana = user_ids["Ana"];
    let (status, body) = api.post("/api/v1/users/Ana/feed", json!({})).await;
    assert_eq!(status, 201, "{body}");
    let user_url = body["url"].as_str().unwrap().to_owned();
    let (window, calendar) = fetch_and_parse(&http, &user_url, dir.path()).await;
    assert_eq!(calendar["calendar"]["x-wr-calname"], "On call: Ana");
    let mut expected = api_events(&api, primary, PRIMARY, window, Some(ana)).await;
    expected.extend(api_events(&api, secondary, SECONDARY, window, Some(ana)).await);
    expected.sort();
    let mut actual = feed_events(&calendar);
    actual.sort();
    assert_eq!(actual, expected);
    assert!(actual.iter().any(|event| event.contains(&format!("({PRIMARY})"))));
    assert!(actual.iter().any(|event| event.contains(&format!("({SECONDARY})"))));
    assert!(actual.iter().all(|event| event.contains("On call: Ana (")), "{actual:#?}");
    let (status, body) = api.post(&format!("/api/v1/users/{}/feed", user_ids[BO]), json!({})).await;
    assert_eq!(status, 201, "{body}");
    let (_, calendar) = fetch_and_parse(&http, body["url"].as_str().unwrap(), dir.path()).await;
    let bo_events = feed_events(&calendar);
    assert!(
        !bo_events.is_empty() && bo_events.iter().all(|event| event.contains(&format!("On call: {BO} (")))
    );

    // The routes are documented; metrics (and the request log, which uses the same route name)
    // show the route of a feed, never its secret.
    let openapi: Value =
        http.get(format!("{}/api/v1/openapi.json", server.url)).send().await.unwrap().json().await.unwrap();
    for path in ["/api/v1/schedules/{id}/feed", "/api/v1/users/{user}/feed"] {
        assert!(openapi["paths"][path]["post"].is_object(), "{path} is documented");
    }
    let metrics = http.get(format!("{}/metrics", server.url)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("route=\"/feeds/{token}\",status=\"200\""), "{metrics}");
    assert!(!metrics.contains("fbc_"), "{metrics}");
    server.stop();
}

/// Whether Python's `icalendar` can be imported; says why not, or fails when it is required.
fn icalendar_available() -> bool {
    let available = Command::new(PYTHON)
        .args(["-c", "import icalendar"])
        .output()
        .is_ok_and(|output| output.status.success());
    if !available {
        assert_ne!(
            std::env::var("FIREBREAK_ICAL_TESTS").as_deref(),
            Ok("required"),
            "Python's icalendar is required (apt-get install python3-icalendar)"
        );
        skipped("calendar_feeds_match_the_api: skipped: python3-icalendar is not installed");
    }
    available
}

fn feed_window(now: Timestamp) -> (Timestamp, Timestamp) {
    const DAY: i64 = 24 * 60 * 60;
    let today = now.as_second().div_euclid(DAY) * DAY;
    (
        Timestamp::from_second(today - FEED_PAST_DAYS * DAY).unwrap(),
        Timestamp::from_second(today + (FEED_FUTURE_DAYS + 1) * DAY).unwrap(),
    )
}

/// The first of [`ZONES`], or else of every zone in the time zone database, whose UTC offset
/// changes between eight days after `from` and eight days before `to` (so whole weekly shifts
/// surround the change), with the instant it changes; Europe/Berlin and `None` when none does,
/// which happens for a few weeks around May.
fn zone_with_offset_change(from: Timestamp, to: Timestamp) -> (String, Option<Timestamp>) {
    let margin = SignedDuration::from_hours(8 * 24);
    let mut database: Vec<String> = jiff::tz::db().available().map(|name| name.as_str().to_owned()).collect();
    database.sort();
    for name in ZONES.iter().map(|name| (*name).to_owned()).chain(database) {
        let Ok(tz) = TimeZone::get(&name) else { continue };
        for transition in tz.following(from + margin) {
            let at = transition.timestamp();
            if at >= to - margin {
                break;
            }
            if tz.to_offset(at - SignedDuration::from_secs(1)) != transition.offset() {
                return (name, Some(at));
            }
        }
    }
    ("Europe/Berlin".to_owned(), None)
}

/// Fetches a feed without credentials, checks its framing, and parses it with `ical_check.py`.
/// Returns the window the feed was generated for, fetching again if the day changed meanwhile.
async fn fetch_and_parse(http: &reqwest::Client, url: &str, dir: &Path) -> ((Timestamp, Timestamp), Value) {
    let (window, body) = loop {
        let before = feed_window(Timestamp::now());
        let response = http.get(url).send().await.unwrap();
        assert_eq!(response.status(), 200, "{url}");
        let headers = response.headers().clone();
        assert_eq!(headers["content-type"], "text/calendar; charset=utf-8");
        assert_eq!(headers["cache-control"], "private, max-age=300");
        let body = response.bytes().await.unwrap();
        if feed_window(Timestamp::now()) == before {
            break (before, body);
        }
    };
    let text = std::str::from_utf8(&body).unwrap();
    assert!(text.ends_with("\r\n"));
    for line in text.split_terminator("\r\n") {
        assert!(line.len() <= 75, "{line:?} is {} octets", line.len());
        assert!(!line.contains(['\r', '\n']), "{line:?} has a bare line break");
    }
    assert!(text.contains("\r\n "), "long lines are folded");
    let path = dir.join("feed.ics");
    std::fs::write(&path, &body).unwrap();
    let output = Command::new(PYTHON).arg(CHECK_SCRIPT).arg(&path).output().unwrap();
    assert!(output.status.success(), "ical_check.py failed: {}", String::from_utf8_lossy(&output.stderr));
    (window, serde_json::from_slice(&output.stdout).unwrap())
}

/// What a feed URL that opens nothing answers: a 404 problem document. Returned for comparing.
async fn not_found(http: &reqwest::Client, url: &str) -> (u16, String, Value) {
    let response = http.get(url).send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 404, "{url}: {body}");
    (status, content_type, body)
}

/// The events a feed should hold for schedule `id` (named `name`) over `window`, built from the
/// API's shifts, optionally only those of `user`: one line each, as [`feed_events`] prints them.
async fn api_events(
    api: &Api,
    id: i64,
    name: &str,
    (from, to): (Timestamp, Timestamp),
    user: Option<i64>,
) -> Vec<String> {
    let (status, shifts) = api.get(&format!("/api/v1/schedules/{id}/shifts?from={from}&to={to}")).await;
    assert_eq!(status, 200, "{shifts}");
    shifts
        .as_array()
        .unwrap()
        .iter()
        .filter(|shift| user.is_none_or(|user| shift["user_id"] == user))
        .map(|shift| {
            let start: Timestamp = shift["start"].as_str().unwrap().parse().unwrap();
            let end: Timestamp = shift["end"].as_str().unwrap().parse().unwrap();
            format!(
                "{id}-{}-{}@firebreak On call: {} ({name}) {start}..{end}",
                shift["user_id"],
                start.as_second(),
                shift["user_name"].as_str().unwrap()
            )
        })
        .collect()
}

/// The events `ical_check.py` found, one line each.
fn feed_events(calendar: &Value) -> Vec<String> {
    calendar["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| {
            let field = |key: &str| event[key].as_str().unwrap().to_owned();
            format!("{} {} {}..{}", field("uid"), field("summary"), field("dtstart"), field("dtend"))
        })
        .collect()
}
