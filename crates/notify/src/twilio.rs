//! Pages by phone through a Twilio-compatible REST API: text messages (the `Messages` resource) and voice
//! calls (the `Calls` resource, with the call's TwiML sent inline), the TwiML that answers a person's
//! reply, and the signatures Twilio puts on the requests it sends back.
//!
//! Replies reach the application, not this crate: an SMS page asks the person to answer `ack {id}` or
//! `esc {id}`, and a call sends the digit pressed to the page's [`Page::voice_url`]. The application
//! checks those requests with [`verify_twilio_signature`] and answers with [`sms_reply_twiml`] or
//! [`voice_reply_twiml`].

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use reqwest::header::CONTENT_TYPE;
use serde_json::Value;
use sha1::Sha1;
use url::Url;

use crate::http::{self, answer_text, exchange, is_transient};
use crate::{Delivered, Page, SendError, one_line, severity_rank};

type HmacSha1 = Hmac<Sha1>;

/// Where Twilio's REST API lives; [`TwilioConfig::api_base`] defaults to it.
pub const TWILIO_API_BASE: &str = "https://api.twilio.com";

/// The longest text message Twilio accepts, in characters; longer bodies are refused with error 21617.
pub const SMS_BODY_CHARS_MAX: usize = 1600;

/// The longest inline TwiML Twilio accepts for a call, in characters (error 32018 above it).
pub const TWIML_CHARS_MAX: usize = 4000;

/// How much of an incident title goes into a text message, in characters.
///
/// With the headline, link and reply instructions this keeps a typical page near 300 characters: two
/// segments of plain text, cheap and delivered in one piece on every phone.
const SMS_TITLE_CHARS_MAX: usize = 120;

/// How much of an incident title a call reads out, in characters; it is read twice, and the escaped
/// TwiML has to stay under [`TWIML_CHARS_MAX`].
const VOICE_TITLE_CHARS_MAX: usize = 150;

/// How long a call waits for a key after the prompt, in seconds.
const GATHER_TIMEOUT_SECONDS: u32 = 10;

/// The longest message [`sms_reply_twiml`] and [`voice_reply_twiml`] put into their answer, in characters.
const REPLY_CHARS_MAX: usize = 1000;

/// The longest account SID accepted: Twilio's are 34 characters; compatible services use UUIDs.
const ACCOUNT_SID_CHARS_MAX: usize = 64;

/// How many characters of a SID or status from Twilio's answer go into the delivery log.
const SID_CHARS_MAX: usize = 64;

/// The Twilio account that sends text messages and places calls.
///
/// Checked when the [`crate::Notifier`] is built. Its `Debug` output shows the auth token as
/// `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct TwilioConfig {
    /// The account SID, `AC` followed by 32 hex digits; the user name of HTTP Basic authentication.
    pub account_sid: String,
    /// The account's auth token: the password of HTTP Basic authentication and the key of the signatures
    /// on Twilio's requests to the application.
    pub auth_token: String,
    /// The number messages and calls come from, in E.164 form (`+14155550100`); it must belong to the
    /// account.
    pub from_number: String,
    /// Where the REST API lives: [`TWILIO_API_BASE`], or a compatible service. Plain `http` is accepted
    /// only for loopback addresses, since every request carries the auth token.
    pub api_base: Url,
}

impl TwilioConfig {
    /// A configuration for Twilio's own API at [`TWILIO_API_BASE`].
    pub fn new(
        account_sid: impl Into<String>,
        auth_token: impl Into<String>,
        from_number: impl Into<String>,
    ) -> TwilioConfig {
        TwilioConfig {
            account_sid: account_sid.into(),
            auth_token: auth_token.into(),
            from_number: from_number.into(),
            api_base: Url::parse(TWILIO_API_BASE).expect("the Twilio API base is a valid URL"),
        }
    }

    /// Checks every field; the error names the field and never contains the auth token.
    pub fn validate(&self) -> Result<(), String> {
        let sid = &self.account_sid;
        if sid.is_empty() || sid.len() > ACCOUNT_SID_CHARS_MAX {
            return Err(format!("Twilio account SID must be 1 to {ACCOUNT_SID_CHARS_MAX} characters"));
        }
        if !sid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            return Err("Twilio account SID may hold only letters, digits, '-' and '_'".into());
        }
        if self.auth_token.is_empty() {
            return Err("Twilio auth token is empty".into());
        }
        if self.auth_token.chars().any(char::is_control) {
            return Err("Twilio auth token holds control characters".into());
        }
        validate_phone_number(&self.from_number).map_err(|error| format!("Twilio sender number: {error}"))?;
        let base = &self.api_base;
        if !matches!(base.scheme(), "http" | "https") || base.host_str().is_none_or(str::is_empty) {
            return Err("Twilio API base must be an http:// or https:// URL with a host".into());
        }
        if !base.username().is_empty() || base.password().is_some() {
            return Err("Twilio API base must not hold credentials".into());
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err("Twilio API base must not have a query or fragment".into());
        }
        if base.scheme() == "http" && !is_loopback(base) {
            return Err("refusing to send the Twilio auth token unencrypted: use an https:// API base".into());
        }
        Ok(())
    }
}

impl fmt::Debug for TwilioConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TwilioConfig")
            .field("account_sid", &self.account_sid)
            .field("auth_token", &"<redacted>")
            .field("from_number", &self.from_number)
            .field("api_base", &self.api_base.as_str())
            .finish()
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(address)) => address.is_loopback(),
        Some(url::Host::Ipv6(address)) => address.is_loopback(),
        None => false,
    }
}

/// A checked [`TwilioConfig`] with its two endpoints.
pub(crate) struct Twilio {
    config: TwilioConfig,
    messages_url: Url,
    calls_url: Url,
}

impl Twilio {
    pub(crate) fn new(config: TwilioConfig) -> Result<Twilio, String> {
        config.validate()?;
        let endpoint = |resource: &str| {
            let base = config.api_base.as_str().trim_end_matches('/');
            Url::parse(&format!("{base}/2010-04-01/Accounts/{}/{resource}.json", config.account_sid))
                .map_err(|error| format!("building the Twilio {resource} URL: {error}"))
        };
        let messages_url = endpoint("Messages")?;
        let calls_url = endpoint("Calls")?;
        Ok(Twilio { config, messages_url, calls_url })
    }

    /// Sends the page as a text message to `to`, an E.164 number.
    pub(crate) async fn send_sms(
        &self,
        client: &reqwest::Client,
        to: &str,
        page: &Page,
    ) -> Result<Delivered, SendError> {
        let body = sms_body(page);
        if body.chars().count() > SMS_BODY_CHARS_MAX {
            return Err(SendError::Permanent(format!(
                "the text message would be longer than Twilio's {SMS_BODY_CHARS_MAX} characters: the \
                 incident URL is too long"
            )));
        }
        let form = form(&[("To", to), ("From", &self.config.from_number), ("Body", &body)]);
        self.post(client, &self.messages_url, form, "message").await
    }

    /// Places a call to `to`, an E.164 number, that reads the page and asks for a key.
    pub(crate) async fn send_call(
        &self,
        client: &reqwest::Client,
        to: &str,
        page: &Page,
    ) -> Result<Delivered, SendError> {
        http::parse_url(&page.voice_url).map_err(|error| {
            SendError::Permanent(format!("the page has no usable voice URL for the key pressed: {error}"))
        })?;
        let twiml = call_twiml(page);
        if twiml.chars().count() > TWIML_CHARS_MAX {
            return Err(SendError::Permanent(format!(
                "the call's TwiML would be longer than Twilio's {TWIML_CHARS_MAX} characters: the voice URL \
                 is too long"
            )));
        }
        let form = form(&[("To", to), ("From", &self.config.from_number), ("Twiml", &twiml)]);
        self.post(client, &self.calls_url, form, "call").await
    }

    async fn post(
        &self,
        client: &reqwest::Client,
        url: &Url,
        form: String,
        what: &str,
    ) -> Result<Delivered, SendError> {
        let request = client
            .post(url.clone())
            .basic_auth(&self.config.account_sid, Some(&self.config.auth_token))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form);
        let (status, answer) = exchange(request, "Twilio").await?;
        classify(status, &answer, what).map_err(|error| redact(error, &self.config.auth_token))
    }
}

impl fmt::Debug for Twilio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Twilio").field("config", &self.config).finish_non_exhaustive()
    }
}

/// Twilio answers 201 with the new resource, or an error object `{code, message, more_info, status}`.
fn classify(status: StatusCode, answer: &[u8], what: &str) -> Result<Delivered, SendError> {
    let json: Option<Value> = serde_json::from_slice(answer).ok();
    let field = |name: &str| {
        json.as_ref()
            .and_then(|json| json.get(name))
            .and_then(Value::as_str)
            .map(|text| one_line(text, SID_CHARS_MAX))
    };
    if status.is_success() {
        let detail = match (field("sid"), field("status")) {
            (Some(sid), Some(state)) => format!("Twilio {sid} {state}"),
            (Some(sid), None) => format!("Twilio {sid}"),
            _ => format!("Twilio accepted the {what} (HTTP {})", status.as_u16()),
        };
        return Ok(Delivered { detail });
    }
    let code = json.as_ref().and_then(|json| json.get("code")).and_then(Value::as_u64);
    let message = json
        .as_ref()
        .and_then(|json| json.get("message"))
        .and_then(Value::as_str)
        .map(|text| one_line(text.trim(), http::ANSWER_CHARS_MAX));
    let reason = match (code, message) {
        (Some(code), Some(message)) => format!("{code} {message}"),
        (Some(code), None) => code.to_string(),
        (None, Some(message)) => message,
        (None, None) => answer_text(answer),
    };
    let http_status = status.as_u16();
    Err(if is_transient(status) {
        SendError::Transient(format!("Twilio could not take the {what} now: {reason} (HTTP {http_status})"))
    } else {
        SendError::Permanent(format!("Twilio refused the {what}: {reason} (HTTP {http_status})"))
    })
}

/// Replaces the auth token in a message from Twilio, in case an answer ever echoes it.
fn redact(error: SendError, auth_token: &str) -> SendError {
    if auth_token.is_empty() || !error.message().contains(auth_token) {
        return error;
    }
    let message = error.message().replace(auth_token, "<redacted>");
    match error {
        SendError::Transient(_) => SendError::Transient(message),
        SendError::Permanent(_) => SendError::Permanent(message),
    }
}

fn form(pairs: &[(&str, &str)]) -> String {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        form.append_pair(name, value);
    }
    form.finish()
}

/// Checks an E.164 phone number: `+`, then 8 to 15 digits of which the first is not 0. The error does not
/// repeat the number.
pub(crate) fn validate_phone_number(number: &str) -> Result<(), String> {
    let Some(digits) = number.strip_prefix('+') else {
        return Err("phone number must be in E.164 form: + then the country code and number".into());
    };
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("phone number may hold only digits after the +, without spaces or dashes".into());
    }
    if !(8..=15).contains(&digits.len()) {
        return Err("phone number must have 8 to 15 digits after the +".into());
    }
    if digits.starts_with('0') {
        return Err("phone number must start with a country code, which never starts with 0".into());
    }
    Ok(())
}

/// The text message: the headline, the incident link and how to answer.
pub(crate) fn sms_body(page: &Page) -> String {
    format!(
        "[{}] {}: {}\n{}\nReply \"ack {id}\" to acknowledge, \"esc {id}\" to escalate.",
        sms_line(&page.severity, 16),
        sms_line(&page.service, 40),
        sms_line(&page.title, SMS_TITLE_CHARS_MAX),
        one_line(&page.incident_url, usize::MAX),
        id = page.incident_id,
    )
}

/// [`one_line`] that shortens with `...`: `…` is outside the GSM 7-bit alphabet, and one such character
/// makes the whole message UCS-2, more than doubling the number of segments.
fn sms_line(text: &str, chars_max: usize) -> String {
    one_line(text, chars_max).replace('…', "...")
}

/// What a call says and where the key pressed goes.
///
/// The person can press a key while the summary is read; without a key the summary and prompt are read
/// once more, then the call says goodbye and hangs up.
pub(crate) fn call_twiml(page: &Page) -> String {
    let mut summary = format!(
        "This is Firebreak. {} incident {} on {}: {}.",
        spoken_severity(&page.severity),
        page.incident_id,
        one_line(&page.service, 100),
        one_line(&page.title, VOICE_TITLE_CHARS_MAX),
    );
    if page.level > 1 {
        summary.push_str(&format!(" Escalation level {}.", page.level));
    }
    let summary = xml_escape(&summary);
    let gather = format!(
        "<Gather numDigits=\"1\" action=\"{}\" method=\"POST\" timeout=\"{GATHER_TIMEOUT_SECONDS}\">",
        xml_escape(&page.voice_url)
    );
    let prompt = "<Say>Press 1 to acknowledge, press 2 to escalate.</Say>";
    format!(
        "<Response>\
         {gather}<Say>{summary}</Say>{prompt}</Gather>\
         {gather}<Say>Again: {summary}</Say>{prompt}</Gather>\
         <Say>No key was pressed. Goodbye.</Say>\
         <Hangup/>\
         </Response>"
    )
}

/// `SEV1` as "Severity 1", which text-to-speech reads well; other values as they are.
fn spoken_severity(severity: &str) -> String {
    match severity_rank(severity) {
        Some(rank) => format!("Severity {rank}"),
        None => one_line(severity, 16),
    }
}

/// The TwiML that answers the key pressed during a call (the `Gather` action at [`Page::voice_url`]):
/// the call says `message` and hangs up.
///
/// The message is flattened to one line, shortened to 1,000 characters and XML-escaped.
pub fn voice_reply_twiml(message: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Say>{}</Say></Response>",
        xml_escape(&one_line(message, REPLY_CHARS_MAX))
    )
}

/// The TwiML that answers an inbound text message with the text `message`.
///
/// The message is flattened to one line, shortened to 1,000 characters and XML-escaped.
pub fn sms_reply_twiml(message: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Message>{}</Message></Response>",
        xml_escape(&one_line(message, REPLY_CHARS_MAX))
    )
}

/// Escapes the five XML special characters, for text and for attribute values in either quote, and
/// replaces characters XML 1.0 does not allow (most control characters) with spaces.
pub(crate) fn xml_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            '\t' | '\n' | '\r' => escaped.push(c),
            c if c < ' ' || c == '\u{FFFE}' || c == '\u{FFFF}' => escaped.push(' '),
            c => escaped.push(c),
        }
    }
    escaped
}

/// The `X-Twilio-Signature` Twilio sends with a request to `url` carrying the POST parameters `params`.
///
/// Twilio's scheme: the full URL as Twilio requested it (scheme, host, path and query, exactly as
/// configured), followed by each parameter's name immediately followed by its value, in order of name;
/// HMAC-SHA1 of that string keyed with the auth token, in base64. Parameters that repeat a name are
/// ordered by value, and exact duplicates count once, as Twilio's own validators do. For a request without
/// a form body (a GET), pass no parameters.
pub fn twilio_signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    BASE64.encode(twilio_mac(auth_token, url, params).finalize().into_bytes())
}

/// Whether `signature_header` (the `X-Twilio-Signature` header) is Twilio's signature of a request to
/// `url` with the POST parameters `params`, by [`twilio_signature`]; the comparison is constant time.
///
/// `url` must be the URL Twilio requested, as Twilio saw it: behind a proxy that terminates TLS, the
/// public `https://` URL, not the one the proxy forwarded to.
pub fn verify_twilio_signature(
    auth_token: &str,
    url: &str,
    params: &[(String, String)],
    signature_header: &str,
) -> bool {
    let Ok(signature) = BASE64.decode(signature_header.trim()) else {
        return false;
    };
    twilio_mac(auth_token, url, params).verify_slice(&signature).is_ok()
}

fn twilio_mac(auth_token: &str, url: &str, params: &[(String, String)]) -> HmacSha1 {
    let mut sorted: Vec<(&str, &str)> =
        params.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect();
    sorted.sort_unstable();
    sorted.dedup();
    let mut mac = HmacSha1::new_from_slice(auth_token.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect()
    }

    #[test]
    fn phone_numbers() {
        for valid in ["+14155550100", "+442071838750", "+4930123456", "+12345678", "+123456789012345"] {
            assert_eq!(validate_phone_number(valid), Ok(()), "{valid}");
        }
        for invalid in [
            "",
            "+",
            "14155550100",
            "+1234567",
            "+1234567890123456",
            "+04155550100",
            "+1 415 555 0100",
            "+1-415",
        ] {
            assert!(validate_phone_number(invalid).is_err(), "{invalid:?}");
        }
    }

    #[test]
    fn xml_escaping() {
        assert_eq!(xml_escape(r#"a<b>&"c"'d'"#), "a&lt;b&gt;&amp;&quot;c&quot;&apos;d&apos;");
        assert_eq!(xml_escape("x\u{0}y\u{1b}z\u{FFFF}"), "x y z ");
        assert_eq!(xml_escape("üñí 🚨"), "üñí 🚨");
    }

    #[test]
    fn replies_are_escaped_and_bounded() {
        assert_eq!(
            voice_reply_twiml("Acknowledged <incident 42> & done."),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Say>Acknowledged &lt;incident 42&gt; \
             &amp; done.</Say></Response>"
        );
        assert_eq!(
            sms_reply_twiml("Escalated \"42\"\nto level 2"),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Message>Escalated &quot;42&quot; to level \
             2</Message></Response>"
        );
        assert!(sms_reply_twiml(&"x".repeat(5000)).len() < 1200);
    }

    #[test]
    fn config_checks() {
        let good = TwilioConfig::new("AC0123456789abcdef0123456789abcdef", "hunter2", "+14155550100");
        assert_eq!(good.validate(), Ok(()));
        assert_eq!(good.api_base.as_str(), "https://api.twilio.com/");
        let check = |change: &dyn Fn(&mut TwilioConfig)| {
            let mut config = good.clone();
            change(&mut config);
            let error = config.validate().unwrap_err();
            assert!(!error.contains("hunter2"), "{error}");
            error
        };
        assert!(check(&|c| c.account_sid.clear()).contains("SID"));
        assert!(check(&|c| c.account_sid = "AC/../x".into()).contains("SID"));
        assert!(check(&|c| c.auth_token.clear()).contains("auth token"));
        assert!(check(&|c| c.from_number = "4155550100".into()).starts_with("Twilio sender number"));
        assert!(
            check(&|c| c.api_base = Url::parse("http://api.example.com").unwrap()).contains("unencrypted")
        );
        assert!(check(&|c| c.api_base = Url::parse("ftp://api.example.com").unwrap()).contains("http"));
        assert!(
            check(&|c| c.api_base = Url::parse("https://u:p@api.example.com").unwrap())
                .contains("credentials")
        );
        let mut local = good.clone();
        local.api_base = Url::parse("http://127.0.0.1:8080/twilio/").unwrap();
        let twilio = Twilio::new(local).expect("loopback over http is fine");
        assert_eq!(
            twilio.messages_url.as_str(),
            "http://127.0.0.1:8080/twilio/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages.json"
        );
        let debug = format!("{twilio:?}");
        assert!(!debug.contains("hunter2") && debug.contains("<redacted>"), "{debug}");
    }

    #[test]
    fn answers_classify() {
        let check = |status: u16, answer: &str| {
            let status = StatusCode::from_u16(status).unwrap();
            match classify(status, answer.as_bytes(), "message") {
                Ok(delivered) => format!("delivered: {}", delivered.detail),
                Err(SendError::Transient(message)) => format!("transient: {message}"),
                Err(SendError::Permanent(message)) => format!("permanent: {message}"),
            }
        };
        assert_eq!(check(201, r#"{"sid":"SM123","status":"queued"}"#), "delivered: Twilio SM123 queued");
        assert_eq!(check(201, "not json"), "delivered: Twilio accepted the message (HTTP 201)");
        assert_eq!(
            check(400, r#"{"code":21211,"message":"Invalid 'To' Phone Number","status":400}"#),
            "permanent: Twilio refused the message: 21211 Invalid 'To' Phone Number (HTTP 400)"
        );
        assert_eq!(
            check(429, r#"{"code":20429,"message":"Too Many Requests","status":429}"#),
            "transient: Twilio could not take the message now: 20429 Too Many Requests (HTTP 429)"
        );
        assert_eq!(
            check(502, "<html>bad gateway</html>"),
            "transient: Twilio could not take the message now: <html>bad gateway</html> (HTTP 502)"
        );
        let error = redact(SendError::Permanent("token s3cret echoed".into()), "s3cret");
        assert_eq!(error, SendError::Permanent("token <redacted> echoed".into()));
    }

    /// Twilio's documented example: auth token `12345`, this URL and these parameters.
    #[test]
    fn signature_matches_twilios_example() {
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        let documented = params(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+14158675310"),
            ("Digits", "1234"),
            ("From", "+14158675310"),
            ("To", "+18005551212"),
        ]);
        assert_eq!(twilio_signature("12345", url, &documented), "GvWf1cFY/Q7PnoempGyD5oXAezc=");
        // The order the parameters arrive in does not matter.
        let mut shuffled = documented.clone();
        shuffled.reverse();
        assert!(verify_twilio_signature("12345", url, &shuffled, " GvWf1cFY/Q7PnoempGyD5oXAezc=\n"));
        // The same example with the caller +14158675309, as in Twilio's helper libraries' tests.
        let sdk = params(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+14158675309"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("To", "+18005551212"),
        ]);
        assert_eq!(twilio_signature("12345", url, &sdk), "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
        // Repeated names, ordered by value with exact duplicates once, as in twilio-python's tests.
        let repeated = params(&[
            ("Sid", "CA123"),
            ("SidAccount", "AC123"),
            ("Digits", "5678"),
            ("Digits", "1234"),
            ("Digits", "1234"),
        ]);
        assert_eq!(twilio_signature("12345", url, &repeated), "IK+Dwps556ElfBT0I3Rgjkr1wJU=");
    }

    #[test]
    fn signature_rejects_anything_altered() {
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        let signature = "GvWf1cFY/Q7PnoempGyD5oXAezc=";
        let documented = params(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+14158675310"),
            ("Digits", "1234"),
            ("From", "+14158675310"),
            ("To", "+18005551212"),
        ]);
        assert!(verify_twilio_signature("12345", url, &documented, signature));
        let mut tampered = documented.clone();
        tampered[2].1 = "1235".into();
        assert!(!verify_twilio_signature("12345", url, &tampered, signature));
        let mut extra = documented.clone();
        extra.push(("Body".into(), String::new()));
        assert!(!verify_twilio_signature("12345", url, &extra, signature));
        assert!(!verify_twilio_signature("12345", &url.replace("https", "http"), &documented, signature));
        assert!(!verify_twilio_signature("12345", &format!("{url}&baz=3"), &documented, signature));
        assert!(!verify_twilio_signature("12346", url, &documented, signature));
        for header in
            ["", "GvWf1cFY/Q7PnoempGyD5oXAezc", "HvWf1cFY/Q7PnoempGyD5oXAezc=", "not base64!", "AAAA"]
        {
            assert!(!verify_twilio_signature("12345", url, &documented, header), "{header:?}");
        }
    }
}
