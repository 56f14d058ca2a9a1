//! Text messages and calls through an HTTP server on loopback that implements the two Twilio REST
//! resources pages use, `Messages` and `Calls`, as Twilio documents them: HTTP Basic authentication with
//! the account SID and auth token, a form-encoded body, E.164 numbers, the sender the account owns, a body
//! of at most 1,600 characters, exactly one of `Twiml` and `Url` for a call, and TwiML that parses. Every
//! request it would refuse is refused with Twilio's status and error object, so a delivery that succeeds
//! here sent a request Twilio accepts. Also: the signatures on Twilio's requests to the application.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use firebreak_notify::{
    Channel, Channels, Notifier, Page, SMS_BODY_CHARS_MAX, TWIML_CHARS_MAX, TwilioConfig, sms_reply_twiml,
    twilio_signature, verify_twilio_signature, voice_reply_twiml,
};
use serde_json::{Value, json};

use crate::{describe, now, page};

const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
const AUTH_TOKEN: &str = "f00dfeedf00dfeedf00dfeedf00dfeed";
const FROM: &str = "+14155550100";
const TO: &str = "+14155550123";
/// Twilio's magic test number that its API refuses as invalid (error 21211).
const INVALID_TO: &str = "+15005550001";

/// One request the fake accepted or refused, and its answer.
#[derive(Debug, Clone)]
struct Request {
    resource: String,
    params: Vec<(String, String)>,
    status: u16,
    answer: Value,
}

#[derive(Default)]
struct Fake {
    /// An answer to give instead of processing, for outages and rate limits.
    forced_status: Option<u16>,
    requests: Vec<Request>,
}

#[derive(Clone)]
struct Shared {
    fake: Arc<Mutex<Fake>>,
}

struct FakeTwilio {
    base: String,
    fake: Arc<Mutex<Fake>>,
}

impl FakeTwilio {
    async fn start() -> FakeTwilio {
        let fake = Arc::new(Mutex::new(Fake::default()));
        let router = Router::new()
            .route("/2010-04-01/Accounts/{sid}/{resource}", post(handle))
            .fallback(not_found)
            .with_state(Shared { fake: Arc::clone(&fake) });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("local address");
        tokio::spawn(async move { axum::serve(listener, router).await.expect("serve") });
        FakeTwilio { base: format!("http://{address}"), fake }
    }

    fn config(&self) -> TwilioConfig {
        let mut config = TwilioConfig::new(ACCOUNT_SID, AUTH_TOKEN, FROM);
        config.api_base = self.base.parse().expect("base URL");
        config
    }

    fn notifier(&self) -> Notifier {
        Notifier::new(Channels { smtp: None, twilio: Some(self.config()) }).expect("notifier")
    }

    fn force(&self, status: Option<u16>) {
        self.fake.lock().unwrap().forced_status = status;
    }

    fn requests(&self) -> Vec<Request> {
        self.fake.lock().unwrap().requests.clone()
    }

    fn only_request(&self) -> Request {
        let requests = self.requests();
        assert_eq!(requests.len(), 1, "{requests:#?}");
        requests.into_iter().next().unwrap()
    }
}

fn twilio_error(status: u16, code: u32, message: &str) -> (u16, Value) {
    let answer = json!({
        "code": code,
        "message": message,
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
        "status": status,
    });
    (status, answer)
}

async fn not_found(uri: Uri) -> impl IntoResponse {
    let (status, answer) =
        twilio_error(404, 20404, &format!("The requested resource {} was not found", uri.path()));
    (StatusCode::from_u16(status).unwrap(), answer.to_string())
}

async fn handle(
    State(shared): State<Shared>,
    Path((sid, resource)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let params: Vec<(String, String)> = url::form_urlencoded::parse(&body)
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect();
    let mut fake = shared.fake.lock().unwrap();
    let (status, answer) = match fake.forced_status {
        Some(429) => twilio_error(429, 20429, "Too Many Requests"),
        Some(status) => twilio_error(status, 20500, "Internal Server Error"),
        None => process(&sid, &resource, &headers, &params, fake.requests.len() + 1),
    };
    fake.requests.push(Request { resource, params, status, answer: answer.clone() });
    (StatusCode::from_u16(status).unwrap(), [("content-type", "application/json")], answer.to_string())
}

/// What Twilio answers; requests are checked in the order Twilio checks them.
fn process(
    sid: &str,
    resource: &str,
    headers: &HeaderMap,
    params: &[(String, String)],
    n: usize,
) -> (u16, Value) {
    let expected = format!("Basic {}", BASE64.encode(format!("{ACCOUNT_SID}:{AUTH_TOKEN}")));
    let authorization = headers.get("authorization").and_then(|value| value.to_str().ok());
    if authorization != Some(expected.as_str()) || sid != ACCOUNT_SID {
        return twilio_error(401, 20003, "Authenticate");
    }
    let (prefix, allowed): (&str, &[&str]) = match resource {
        "Messages.json" => ("SM", &["To", "From", "Body"]),
        "Calls.json" => ("CA", &["To", "From", "Twiml", "Url"]),
        _ => return twilio_error(404, 20404, &format!("The requested resource {resource} was not found")),
    };
    let content_type = headers.get("content-type").and_then(|value| value.to_str().ok()).unwrap_or("");
    if content_type.split(';').next() != Some("application/x-www-form-urlencoded") {
        // Twilio reads parameters only from a form body; anything else arrives without a `To`.
        return twilio_error(400, 21604, "A 'To' phone number is required.");
    }
    for (name, _) in params {
        if !allowed.contains(&name.as_str()) {
            return twilio_error(400, 20001, &format!("Unexpected parameter {name}"));
        }
        if params.iter().filter(|(other, _)| other == name).count() > 1 {
            return twilio_error(400, 20001, &format!("Parameter {name} given more than once"));
        }
    }
    let param = |name: &str| params.iter().find(|(other, _)| other == name).map(|(_, value)| value.as_str());
    let Some(to) = param("To").filter(|to| !to.is_empty()) else {
        return twilio_error(400, 21604, "A 'To' phone number is required.");
    };
    if !is_e164(to) || to == INVALID_TO {
        return twilio_error(400, 21211, "Invalid 'To' Phone Number");
    }
    let Some(from) = param("From").filter(|from| !from.is_empty()) else {
        return twilio_error(400, 21603, "A 'From' phone number is required.");
    };
    if !is_e164(from) {
        return twilio_error(400, 21212, "Invalid 'From' Phone Number");
    }
    if from != FROM {
        return twilio_error(
            400,
            21606,
            "The 'From' phone number provided is not a valid message-capable Twilio phone number for this destination.",
        );
    }
    let mut resource_json = json!({
        "account_sid": ACCOUNT_SID,
        "api_version": "2010-04-01",
        "date_created": null,
        "direction": "outbound-api",
        "from": from,
        "to": to,
        "status": "queued",
    });
    if prefix == "SM" {
        let Some(body) = param("Body").filter(|body| !body.is_empty()) else {
            return twilio_error(400, 21602, "Message body is required.");
        };
        if body.chars().count() > SMS_BODY_CHARS_MAX {
            return twilio_error(
                400,
                21617,
                "The concatenated message body exceeds the 1600 character limit.",
            );
        }
        resource_json["body"] = json!(body);
        resource_json["num_segments"] = json!(segments(body).to_string());
        resource_json["error_code"] = Value::Null;
        resource_json["error_message"] = Value::Null;
    } else {
        let (twiml, url) = (param("Twiml"), param("Url"));
        let Some(twiml) = (match (twiml, url) {
            (Some(twiml), None) => Some(twiml),
            (None, Some(_)) => None,
            _ => return twilio_error(400, 21205, "Exactly one of Url and Twiml is required."),
        }) else {
            return twilio_error(400, 21205, "This fake accepts inline Twiml only.");
        };
        if twiml.chars().count() > TWIML_CHARS_MAX {
            return twilio_error(400, 32018, "Twiml size exceeded maximum allowed value of 4000 characters");
        }
        if let Err(error) = check_twiml(twiml) {
            return twilio_error(400, 12100, &format!("Document parse failure: {error}"));
        }
    }
    let sid = format!("{prefix}{n:032x}");
    resource_json["uri"] =
        json!(format!("/2010-04-01/Accounts/{ACCOUNT_SID}/{}/{sid}.json", &resource[..resource.len() - 5]));
    resource_json["sid"] = json!(sid);
    (201, resource_json)
}

fn is_e164(number: &str) -> bool {
    number.strip_prefix('+').is_some_and(|digits| {
        (8..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0')
    })
}

/// Segments of a message: 160 or 153 characters of the GSM alphabet (approximated as ASCII), otherwise 70
/// or 67 UCS-2 characters.
fn segments(body: &str) -> usize {
    let chars = body.chars().count();
    let (single, multi) = if body.is_ascii() { (160, 153) } else { (70, 67) };
    if chars <= single { 1 } else { chars.div_ceil(multi) }
}

/// The TwiML verbs a call's document may use and what each may hold, and what a page's call needs
/// beyond Twilio's rules: at least one `<Gather>` of one digit that posts it to an absolute URL.
fn check_twiml(twiml: &str) -> Result<(), String> {
    let document = roxmltree::Document::parse(twiml).map_err(|error| error.to_string())?;
    let root = document.root_element();
    if root.tag_name().name() != "Response" {
        return Err(format!("the root element is <{}>, not <Response>", root.tag_name().name()));
    }
    let mut gathers = 0;
    for verb in root.children().filter(roxmltree::Node::is_element) {
        match verb.tag_name().name() {
            "Say" => check_say(verb)?,
            "Hangup" | "Pause" => {}
            "Gather" => {
                for attribute in verb.attributes() {
                    if !["numDigits", "action", "method", "timeout"].contains(&attribute.name()) {
                        return Err(format!("unexpected <Gather> attribute {}", attribute.name()));
                    }
                }
                if verb.attribute("method").is_some_and(|method| !["GET", "POST"].contains(&method)) {
                    return Err("<Gather> method must be GET or POST".into());
                }
                if verb.attribute("numDigits") != Some("1") || verb.attribute("method") != Some("POST") {
                    return Err("a page's <Gather> takes one digit and posts it".into());
                }
                let action = verb.attribute("action").unwrap_or("");
                if !url::Url::parse(action).is_ok_and(|url| matches!(url.scheme(), "http" | "https")) {
                    return Err("a page's <Gather> needs an absolute http(s) action".into());
                }
                gathers += 1;
                for nested in verb.children().filter(roxmltree::Node::is_element) {
                    match nested.tag_name().name() {
                        "Say" => check_say(nested)?,
                        "Pause" | "Play" => {}
                        other => return Err(format!("<{other}> cannot be nested in <Gather>")),
                    }
                }
            }
            other => return Err(format!("unexpected verb <{other}>")),
        }
    }
    if gathers == 0 {
        return Err("a page's call must gather a key".into());
    }
    Ok(())
}

fn check_say(say: roxmltree::Node<'_, '_>) -> Result<(), String> {
    if say.children().any(|child| child.is_element()) {
        return Err("this fake expects plain text in <Say>".into());
    }
    if say.text().unwrap_or("").trim().is_empty() {
        return Err("<Say> is empty".into());
    }
    Ok(())
}

fn param<'a>(request: &'a Request, name: &str) -> &'a str {
    request.params.iter().find(|(other, _)| other == name).map_or("<missing>", |(_, value)| value.as_str())
}

/// A TwiML verb: its name, its attributes and the text of each `<Say>` it is or holds.
type Verb = (String, Vec<(String, String)>, Vec<String>);

/// A call's TwiML verbs, in document order.
fn verbs(twiml: &str) -> Vec<Verb> {
    let document = roxmltree::Document::parse(twiml).expect("TwiML parses");
    let root = document.root_element();
    assert_eq!(root.tag_name().name(), "Response");
    root.children()
        .filter(roxmltree::Node::is_element)
        .map(|verb| {
            let attributes = verb.attributes().map(|a| (a.name().to_owned(), a.value().to_owned())).collect();
            let said = if verb.tag_name().name() == "Say" {
                vec![verb.text().unwrap_or("").to_owned()]
            } else {
                verb.children()
                    .filter(|child| child.tag_name().name() == "Say")
                    .map(|say| say.text().unwrap_or("").to_owned())
                    .collect()
            };
            (verb.tag_name().name().to_owned(), attributes, said)
        })
        .collect()
}

#[tokio::test]
async fn sms_is_delivered() {
    let twilio = FakeTwilio::start().await;
    let result = twilio.notifier().send(Channel::Sms, TO, None, &page(), now()).await;
    assert_eq!(describe(&result), "delivered: Twilio SM00000000000000000000000000000001 queued");

    let request = twilio.only_request();
    assert_eq!(request.resource, "Messages.json");
    assert_eq!(request.status, 201, "{}", request.answer);
    assert_eq!(param(&request, "To"), TO);
    assert_eq!(param(&request, "From"), FROM);
    let body = param(&request, "Body");
    assert_eq!(
        body,
        "[SEV1] checkout: Payment errors above 5%\n\
         https://firebreak.example.com/incidents/42\n\
         Reply \"ack 42\" to acknowledge, \"esc 42\" to escalate."
    );
    assert_eq!(request.answer["num_segments"], "1");
}

#[tokio::test]
async fn sms_stays_short_with_a_long_title() {
    let twilio = FakeTwilio::start().await;
    let mut page = page();
    page.title = "Replication lag on the orders database ".repeat(30);
    page.service = "a-service-with-a-rather-long-name-that-goes-on-and-on".into();
    page.incident_id = 123_456;
    let result = twilio.notifier().send(Channel::Sms, TO, None, &page, now()).await;
    assert!(describe(&result).starts_with("delivered: Twilio SM"), "{}", describe(&result));

    let request = twilio.only_request();
    let body = param(&request, "Body");
    assert!(body.chars().count() <= 320, "{} characters: {body}", body.chars().count());
    assert!(body.is_ascii(), "shortening keeps the message in the GSM alphabet: {body}");
    assert!(body.contains("...\n"), "{body}");
    assert!(body.ends_with("Reply \"ack 123456\" to acknowledge, \"esc 123456\" to escalate."), "{body}");
    assert_eq!(request.answer["num_segments"], "2");
}

#[tokio::test]
async fn voice_call_is_delivered() {
    let twilio = FakeTwilio::start().await;
    let mut page = page();
    page.level = 2;
    let result = twilio.notifier().send(Channel::Voice, TO, None, &page, now()).await;
    assert_eq!(describe(&result), "delivered: Twilio CA00000000000000000000000000000001 queued");

    let request = twilio.only_request();
    assert_eq!(request.resource, "Calls.json");
    assert_eq!(param(&request, "To"), TO);
    assert_eq!(param(&request, "From"), FROM);
    assert_eq!(param(&request, "Url"), "<missing>");
    let summary = "This is Firebreak. Severity 1 incident 42 on checkout: Payment errors above 5%. \
                   Escalation level 2.";
    let prompt = "Press 1 to acknowledge, press 2 to escalate.";
    let gather = vec![
        ("numDigits".to_owned(), "1".to_owned()),
        ("action".to_owned(), page.voice_url.clone()),
        ("method".to_owned(), "POST".to_owned()),
        ("timeout".to_owned(), "10".to_owned()),
    ];
    let expected = vec![
        ("Gather".to_owned(), gather.clone(), vec![summary.to_owned(), prompt.to_owned()]),
        ("Gather".to_owned(), gather, vec![format!("Again: {summary}"), prompt.to_owned()]),
        ("Say".to_owned(), vec![], vec!["No key was pressed. Goodbye.".to_owned()]),
        ("Hangup".to_owned(), vec![], vec![]),
    ];
    assert_eq!(verbs(param(&request, "Twiml")), expected);
}

#[tokio::test]
async fn voice_twiml_escapes_what_it_reads() {
    let twilio = FakeTwilio::start().await;
    let mut page = page();
    page.title = r#"Disk <full> & "quota" 'exceeded' </Say><Hangup/>"#.into();
    page.service = "db&<cache>".into();
    page.voice_url = "https://firebreak.example.com/twilio/voice?d=1&sig=a\"b'c<d>".into();
    let result = twilio.notifier().send(Channel::Voice, TO, None, &page, now()).await;
    assert!(describe(&result).starts_with("delivered: Twilio CA"), "{}", describe(&result));

    let request = twilio.only_request();
    let verbs = verbs(param(&request, "Twiml"));
    assert_eq!(verbs.len(), 4, "{verbs:#?}");
    let (name, attributes, said) = &verbs[0];
    assert_eq!(name, "Gather");
    assert!(attributes.contains(&("action".to_owned(), page.voice_url.clone())), "{attributes:?}");
    assert_eq!(
        said[0],
        r#"This is Firebreak. Severity 1 incident 42 on db&<cache>: Disk <full> & "quota" 'exceeded' </Say><Hangup/>."#
    );
}

#[tokio::test]
async fn voice_twiml_stays_under_twilios_limit() {
    let twilio = FakeTwilio::start().await;
    let mut page = page();
    page.title = "&\"<>'".repeat(1000);
    let result = twilio.notifier().send(Channel::Voice, TO, None, &page, now()).await;
    assert!(describe(&result).starts_with("delivered: Twilio CA"), "{}", describe(&result));
    let request = twilio.only_request();
    assert!(param(&request, "Twiml").chars().count() <= TWIML_CHARS_MAX);
}

#[tokio::test]
async fn voice_needs_a_voice_url() {
    let twilio = FakeTwilio::start().await;
    for voice_url in ["", "not a url", "ftp://firebreak.example.com/voice"] {
        let mut page: Page = page();
        page.voice_url = voice_url.into();
        let result = twilio.notifier().send(Channel::Voice, TO, None, &page, now()).await;
        let description = describe(&result);
        assert!(
            description.starts_with("permanent: the page has no usable voice URL for the key pressed: "),
            "{description}"
        );
    }
    assert!(twilio.requests().is_empty());
}

#[tokio::test]
async fn wrong_auth_token_is_permanent_with_twilios_code() {
    let twilio = FakeTwilio::start().await;
    let mut config = twilio.config();
    config.auth_token = "0000wrongtoken0000".into();
    let notifier = Notifier::new(Channels { smtp: None, twilio: Some(config) }).expect("notifier");
    for (channel, what) in [(Channel::Sms, "message"), (Channel::Voice, "call")] {
        let result = notifier.send(channel, TO, None, &page(), now()).await;
        let description = describe(&result);
        assert_eq!(
            description,
            format!("permanent: Twilio refused the {what}: 20003 Authenticate (HTTP 401)")
        );
        assert!(!description.contains("wrongtoken") && !description.contains(AUTH_TOKEN));
    }
}

#[tokio::test]
async fn invalid_number_is_permanent_with_twilios_code() {
    let twilio = FakeTwilio::start().await;
    let result = twilio.notifier().send(Channel::Sms, INVALID_TO, None, &page(), now()).await;
    assert_eq!(
        describe(&result),
        "permanent: Twilio refused the message: 21211 Invalid 'To' Phone Number (HTTP 400)"
    );
    // Numbers that are not E.164 never reach Twilio.
    let result = twilio.notifier().send(Channel::Sms, "4155550123", None, &page(), now()).await;
    assert!(describe(&result).starts_with("permanent: phone number must be in E.164 form"), "{result:?}");
    assert_eq!(twilio.requests().len(), 1);
}

#[tokio::test]
async fn rate_limits_and_outages_are_transient() {
    let twilio = FakeTwilio::start().await;
    let cases = [
        (
            429,
            Channel::Sms,
            "transient: Twilio could not take the message now: 20429 Too Many Requests (HTTP 429)",
        ),
        (
            500,
            Channel::Sms,
            "transient: Twilio could not take the message now: 20500 Internal Server Error (HTTP 500)",
        ),
        (
            503,
            Channel::Voice,
            "transient: Twilio could not take the call now: 20500 Internal Server Error (HTTP 503)",
        ),
    ];
    for (status, channel, expected) in cases {
        twilio.force(Some(status));
        let result = twilio.notifier().send(channel, TO, None, &page(), now()).await;
        assert_eq!(describe(&result), expected);
    }
    twilio.force(None);
    let result = twilio.notifier().send(Channel::Sms, TO, None, &page(), now()).await;
    assert!(describe(&result).starts_with("delivered: "), "{result:?}");
}

#[tokio::test]
async fn unreachable_twilio_is_transient() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("local address");
    drop(listener);
    let mut config = TwilioConfig::new(ACCOUNT_SID, AUTH_TOKEN, FROM);
    config.api_base = format!("http://{address}").parse().expect("URL");
    let notifier = Notifier::new(Channels { smtp: None, twilio: Some(config) }).expect("notifier");
    let result = notifier.send(Channel::Sms, TO, None, &page(), now()).await;
    let description = describe(&result);
    assert!(description.starts_with("transient: Twilio request failed: "), "{description}");
    assert!(!description.contains(AUTH_TOKEN), "{description}");
}

#[tokio::test]
async fn sms_and_voice_without_twilio_are_permanent() {
    let notifier = Notifier::new(Channels::default()).expect("notifier");
    let result = notifier.send(Channel::Sms, TO, None, &page(), now()).await;
    assert_eq!(describe(&result), "permanent: SMS is not configured: no Twilio account is set");
    let result = notifier.send(Channel::Voice, TO, None, &page(), now()).await;
    assert_eq!(describe(&result), "permanent: voice calls are not configured: no Twilio account is set");
}

#[tokio::test]
async fn invalid_twilio_configuration_stops_startup() {
    let mut config = TwilioConfig::new(ACCOUNT_SID, AUTH_TOKEN, "555-0100");
    let error = Notifier::new(Channels { smtp: None, twilio: Some(config.clone()) }).unwrap_err();
    assert!(error.starts_with("Twilio sender number: "), "{error}");
    config.from_number = FROM.into();
    config.api_base = "http://twilio.example.com".parse().expect("URL");
    let error = Notifier::new(Channels { smtp: None, twilio: Some(config) }).unwrap_err();
    assert!(error.contains("unencrypted") && !error.contains(AUTH_TOKEN), "{error}");
}

/// The fake refuses what Twilio refuses, so the tests above cannot pass with a request Twilio would not
/// take.
#[tokio::test]
async fn fake_twilio_refuses_what_twilio_refuses() {
    let twilio = FakeTwilio::start().await;
    let client = reqwest::Client::new();
    let messages = format!("{}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json", twilio.base);
    let calls = format!("{}/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json", twilio.base);
    let form = |pairs: &[(&str, &str)]| {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in pairs {
            form.append_pair(name, value);
        }
        form.finish()
    };
    let long_body = "x".repeat(SMS_BODY_CHARS_MAX + 1);
    let gather = r#"<Response><Gather numDigits="1" action="https://x/v" method="POST"><Say>hi</Say></Gather></Response>"#;
    let cases: Vec<(&str, Option<&str>, &str, String, u64)> = vec![
        (
            &messages,
            Some(AUTH_TOKEN),
            "application/json",
            json!({"To": TO, "From": FROM, "Body": "b"}).to_string(),
            21604,
        ),
        (
            &messages,
            Some("wrong"),
            "application/x-www-form-urlencoded",
            form(&[("To", TO), ("From", FROM), ("Body", "b")]),
            20003,
        ),
        (
            &messages,
            None,
            "application/x-www-form-urlencoded",
            form(&[("To", TO), ("From", FROM), ("Body", "b")]),
            20003,
        ),
        (
            &messages,
            Some(AUTH_TOKEN),
            "application/x-www-form-urlencoded",
            form(&[("To", "4155550123"), ("From", FROM), ("Body", "b")]),
            21211,
        ),
        (
            &messages,
            Some(AUTH_TOKEN),
            "application/x-www-form-urlencoded",
            form(&[("From", FROM), ("Body", "b")]),
            21604,
        ),
        (
            &messages,
            Some(AUTH_TOKEN),
            "application/x-www-form-urlencoded",
            form(&[("To", TO), ("From", "+14155550199"), ("Body", "b")]),
            21606,
        ),
        (
            &messages,
            Some(AUTH_TOKEN),
            "application/x-www-form-urlencoded",
            form(&[("To", TO), ("From", FROM)]),
            21602,
        ),
        (
            &messages,
            Some(AUTH_TOKEN),
            "application/x-www-form-urlencoded",
            form(&[("To", TO), ("From", FROM), ("Body", &long_body)]),
            21617,
        ),
        (
            &messages,
            Some(AUTH_TOKEN),
            "application/x-www-form-urlencoded",
            form(&[("to", TO), ("From", FROM), ("Body", "b")]),
            20001,
        ),
        (
            &calls,
            Some(AUTH_TOKEN),
            "application/x-www-form-urlencoded",
            form(&[("To", TO), ("From", FROM)]),
            21205,
        ),
        (
            &calls,
            Some(AUTH_TOKEN),
            "application/x-www-form-urlencoded",
            form(&[("To", TO), ("From", FROM), ("Twiml", gather), ("Url", "https://x/")]),
            21205,
        ),
        (
            &calls,
            Some(AUTH_TOKEN),
            "application/x-www-form-urlencoded",
            form(&[("To", TO), ("From", FROM), ("Twiml", "<Response><Say>a & b</Say></Response>")]),
            12100,
        ),
        (
            &calls,
            Some(AUTH_TOKEN),
            "application/x-www-form-urlencoded",
            form(&[("To", TO), ("From", FROM), ("Twiml", "<Reply><Say>hi</Say></Reply>")]),
            12100,
        ),
        (
            &calls,
            Some(AUTH_TOKEN),
            "application/x-www-form-urlencoded",
            form(&[("To", TO), ("From", FROM), ("Twiml", "<Response><Dial>+1</Dial></Response>")]),
            12100,
        ),
        (
            &calls,
            Some(AUTH_TOKEN),
            "application/x-www-form-urlencoded",
            form(&[("To", TO), ("From", FROM), ("Twiml", "<Response><Say>hi</Say></Response>")]),
            12100,
        ),
        (
            &calls,
            Some(AUTH_TOKEN),
            "application/x-www-form-urlencoded",
            form(&[("To", TO), ("From", FROM), ("Twiml", &gather.replace("https://x/v", "/v"))]),
            12100,
        ),
    ];
    for (n, (url, token, content_type, body, code)) in cases.into_iter().enumerate() {
        let mut request = client.post(url).header("content-type", content_type).body(body);
        if let Some(token) = token {
            request = request.basic_auth(ACCOUNT_SID, Some(token));
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let answer: Value = serde_json::from_slice(&response.bytes().await.expect("body")).expect("JSON");
        assert_eq!(answer["code"], code, "case {n}: HTTP {status} {answer}");
        assert_eq!(answer["status"], status, "case {n}: {answer}");
        assert!(status == 400 || status == 401, "case {n}: {status}");
    }
    for path in [format!("2010-04-01/Accounts/{ACCOUNT_SID}/Messages"), "2010-04-01/Messages.json".into()] {
        let response = client
            .post(format!("{}/{path}", twilio.base))
            .basic_auth(ACCOUNT_SID, Some(AUTH_TOKEN))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status().as_u16(), 404, "{path}");
    }
    // Nothing above was accepted; the same call with only the TwiML is.
    assert!(twilio.requests().iter().all(|request| request.status != 201));
    let response = client
        .post(&calls)
        .basic_auth(ACCOUNT_SID, Some(AUTH_TOKEN))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("To", TO), ("From", FROM), ("Twiml", gather)]))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 201);
}

/// An inbound text message as the application receives it: a form body signed over the webhook URL.
#[test]
fn inbound_webhook_signature_is_verified() {
    let url = "https://firebreak.example.com/twilio/sms";
    let body =
        "ToCountry=US&Body=ack+42&From=%2B14155550123&To=%2B14155550100&MessageSid=SM0001&AccountSid=AC01";
    let params: Vec<(String, String)> =
        url::form_urlencoded::parse(body.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    let signature = twilio_signature(AUTH_TOKEN, url, &params);
    assert!(verify_twilio_signature(AUTH_TOKEN, url, &params, &signature));

    let mut tampered = params.clone();
    tampered[1].1 = "esc 42".into();
    assert!(!verify_twilio_signature(AUTH_TOKEN, url, &tampered, &signature));
    assert!(!verify_twilio_signature(
        AUTH_TOKEN,
        "https://firebreak.example.com/twilio/sms?x=1",
        &params,
        &signature
    ));
    assert!(!verify_twilio_signature("another-token", url, &params, &signature));
    assert!(!verify_twilio_signature(AUTH_TOKEN, url, &params, ""));
}

/// Twilio's documented example: auth token `12345`, this URL and these POST parameters.
#[test]
fn twilio_documented_signature_example() {
    let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
    let params: Vec<(String, String)> = [
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+14158675310"),
        ("Digits", "1234"),
        ("From", "+14158675310"),
        ("To", "+18005551212"),
    ]
    .map(|(name, value)| (name.to_owned(), value.to_owned()))
    .to_vec();
    assert_eq!(twilio_signature("12345", url, &params), "GvWf1cFY/Q7PnoempGyD5oXAezc=");
    assert!(verify_twilio_signature("12345", url, &params, "GvWf1cFY/Q7PnoempGyD5oXAezc="));
    let mut tampered = params.clone();
    tampered[2].1 = "9999".into();
    assert!(!verify_twilio_signature("12345", url, &tampered, "GvWf1cFY/Q7PnoempGyD5oXAezc="));
    assert!(!verify_twilio_signature(
        "12345",
        "https://mycompany.com/myapp.php?foo=1&bar=3",
        &params,
        "GvWf1cFY/Q7PnoempGyD5oXAezc="
    ));
}

#[test]
fn reply_twiml_parses_and_round_trips() {
    let message = r#"Incident 42 acknowledged by Alice <alice@example.com> & "Bob's" team"#;
    for (twiml, verb) in [(voice_reply_twiml(message), "Say"), (sms_reply_twiml(message), "Message")] {
        let document = roxmltree::Document::parse(&twiml).expect("TwiML parses");
        let root = document.root_element();
        assert_eq!(root.tag_name().name(), "Response");
        let children: Vec<_> = root.children().filter(roxmltree::Node::is_element).collect();
        assert_eq!(children.len(), 1, "{twiml}");
        assert_eq!(children[0].tag_name().name(), verb);
        assert_eq!(children[0].text(), Some(message));
    }
}
