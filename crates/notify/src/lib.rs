//! Delivery of pages to people: one page, one contact method, one attempt.
//!
//! A contact method is an email address (sent over SMTP), a webhook URL (a signed JSON POST), a
//! Slack-compatible incoming-webhook URL, a phone number that gets a text message or a call (through a
//! Twilio-compatible API), or an ntfy topic URL for mobile push notifications. [`Notifier::send`] makes
//! one delivery attempt and says whether it worked, may work if retried ([`SendError::Transient`]) or will
//! not work until someone changes the contact method or the configuration ([`SendError::Permanent`]).
//!
//! People answer text messages with `ack {id}` or `esc {id}` and calls with a key; those answers arrive
//! at the application as Twilio's webhooks, which it checks with [`verify_twilio_signature`] and answers
//! with [`sms_reply_twiml`] or [`voice_reply_twiml`].
//!
//! This crate deliberately does not decide when to retry, how often, or whom to page next: the escalation
//! driver owns that, using [`backoff`] and [`ATTEMPTS_MAX`] from here so that the retry policy documented
//! in `docs/webhooks.md` lives next to the code that sends. It never reads the system clock either; the
//! caller passes `now`, which becomes the signature timestamp and the email's `Date`.

mod email;
mod http;
mod ntfy;
mod signing;
mod twilio;

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use jiff::SignedDuration;

pub use email::{SmtpConfig, SmtpSecurity};
pub use ntfy::NTFY_MESSAGE_BYTES_MAX;
pub use signing::{new_webhook_secret, sign, verify};
pub use twilio::{
    SMS_BODY_CHARS_MAX, TWILIO_API_BASE, TWIML_CHARS_MAX, TwilioConfig, sms_reply_twiml, twilio_signature,
    verify_twilio_signature, voice_reply_twiml,
};

/// How many delivery attempts one page gets on one contact method, the first included.
///
/// With [`backoff`] the retries of one page span at most about four minutes, which is shorter than
/// any sensible acknowledgement timeout: a page that cannot be delivered by then is better served by
/// escalating than by trying harder.
pub const ATTEMPTS_MAX: u32 = 8;

/// The longest contact-method address accepted, in bytes.
pub const ADDRESS_BYTES_MAX: usize = 2048;

/// How long one HTTP request (webhook, Slack, Twilio or ntfy) may take, from connecting to the end of the
/// response.
///
/// A receiver that needs longer should acknowledge first and work afterwards; waiting on it would hold
/// up the next page.
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// How much of an HTTP response (webhook, Slack, Twilio or ntfy) is read; the rest is dropped unread.
pub const RESPONSE_BYTES_MAX: usize = 64 * 1024;

/// How long opening the TCP connection to the SMTP server may take.
pub const SMTP_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a whole SMTP conversation for one email may take, connecting included.
///
/// lettre bounds only the connection attempt, so this is what stops a server that accepts the connection
/// and then stalls.
pub const SMTP_SEND_TIMEOUT: Duration = Duration::from_secs(30);

/// The smallest ceiling of [`backoff`], for the first retry.
pub const BACKOFF_BASE: SignedDuration = SignedDuration::from_secs(2);

/// The largest ceiling of [`backoff`], however many attempts failed before.
pub const BACKOFF_MAX: SignedDuration = SignedDuration::from_secs(5 * 60);

/// What a page says, most important first.
///
/// The `Debug` output leaves out the acknowledge and resolve links, because they work without logging
/// in and would otherwise end up in logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Page {
    /// Unique per notification (one page to one contact method); receivers use it to drop duplicates
    /// when a retry follows an attempt whose answer was lost.
    pub delivery_id: String,
    /// The incident's number.
    pub incident_id: i64,
    /// The incident's title.
    pub title: String,
    /// The name of the affected service.
    pub service: String,
    /// `SEV1` (worst) to `SEV4`.
    pub severity: String,
    /// What opened the incident: `signal`, `exception`, ...
    pub kind: String,
    /// The incident's status when the page was sent: `triggered`, ...
    pub status: String,
    /// The escalation level that pages, starting at 1.
    pub level: u32,
    /// Whether this level is the one that wakes management, so receivers can route it differently.
    pub wakes_management: bool,
    /// The paged person's name.
    pub recipient: String,
    /// The incident's page in the web UI.
    pub incident_url: String,
    /// A signed link that acknowledges the incident without logging in.
    pub acknowledge_url: String,
    /// A signed link that resolves the incident without logging in.
    pub resolve_url: String,
    /// Where Twilio posts the digit pressed during a voice call (the `Gather` action); only
    /// [`Channel::Voice`] uses it, and a call fails without it.
    pub voice_url: String,
}

/// A kind of contact method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    /// An email address, delivered over SMTP.
    Email,
    /// An http(s) URL that receives a signed JSON POST.
    Webhook,
    /// A Slack-compatible incoming-webhook URL.
    Slack,
    /// A phone number in E.164 form (`+14155550100`) that gets a text message through Twilio.
    Sms,
    /// A phone number in E.164 form that gets a call through Twilio, reading the page and asking for a key.
    Voice,
    /// An ntfy topic URL (`https://ntfy.sh/mytopic`) that gets a push notification; the contact method's
    /// secret, if set, is the access token.
    Ntfy,
}

/// A delivery the receiver accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// The receiver's answer, for the delivery log: `250 2.0.0 OK queued as 4Xq1`, `HTTP 200`,
    /// `Twilio SM… queued`, `ntfy message hwQ2YpKdmg`.
    pub detail: String,
}

/// Why a delivery attempt failed.
///
/// Messages say what failed and, where the receiver said why, its answer; they never contain the
/// webhook secret, SMTP password, Twilio auth token, ntfy access token or a contact method's URL, since
/// Slack URLs and ntfy topics are themselves secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The attempt may succeed later: a timeout, a refused connection, SMTP 4xx, HTTP 408, 429 or 5xx.
    #[error("{0}")]
    Transient(String),
    /// Retrying will not help until someone fixes the contact method or the configuration: SMTP 5xx, an
    /// HTTP 4xx other than 408 and 429, an invalid address, email without an SMTP server, SMS or calls
    /// without a Twilio account.
    #[error("{0}")]
    Permanent(String),
}

/// The delivery services a [`Notifier`] can use; a channel whose service is missing fails permanently.
///
/// Webhook, Slack and ntfy deliveries need no configuration. `Channels::default()` has neither SMTP nor
/// Twilio.
#[derive(Debug, Clone, Default)]
pub struct Channels {
    /// The SMTP server for [`Channel::Email`].
    pub smtp: Option<SmtpConfig>,
    /// The Twilio account for [`Channel::Sms`] and [`Channel::Voice`].
    pub twilio: Option<TwilioConfig>,
}

/// Sends pages; one per process, shared by all deliveries.
pub struct Notifier {
    http: reqwest::Client,
    smtp: Option<email::Smtp>,
    twilio: Option<twilio::Twilio>,
}

impl fmt::Debug for Page {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Page")
            .field("delivery_id", &self.delivery_id)
            .field("incident_id", &self.incident_id)
            .field("title", &self.title)
            .field("service", &self.service)
            .field("severity", &self.severity)
            .field("kind", &self.kind)
            .field("status", &self.status)
            .field("level", &self.level)
            .field("wakes_management", &self.wakes_management)
            .field("recipient", &self.recipient)
            .field("incident_url", &self.incident_url)
            .field("acknowledge_url", &"<redacted>")
            .field("resolve_url", &"<redacted>")
            .field("voice_url", &self.voice_url)
            .finish()
    }
}

impl Channel {
    /// Every channel, in the order the API lists them.
    pub const ALL: [Channel; 6] =
        [Channel::Email, Channel::Webhook, Channel::Slack, Channel::Sms, Channel::Voice, Channel::Ntfy];

    /// The name used in the API and the database: `email`, `webhook`, `slack`, `sms`, `voice` or `ntfy`.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Webhook => "webhook",
            Channel::Slack => "slack",
            Channel::Sms => "sms",
            Channel::Voice => "voice",
            Channel::Ntfy => "ntfy",
        }
    }

    /// Reads a name written by [`Channel::as_str`].
    ///
    /// Returns an error naming the accepted values for anything else, including other capitalizations.
    pub fn parse(name: &str) -> Result<Channel, String> {
        Channel::ALL.into_iter().find(|channel| channel.as_str() == name).ok_or_else(|| {
            format!(
                "unknown contact method type {name:?}: expected \"email\", \"webhook\", \"slack\", \"sms\", \
                 \"voice\" or \"ntfy\""
            )
        })
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Channel {
    type Err = String;

    fn from_str(name: &str) -> Result<Channel, String> {
        Channel::parse(name)
    }
}

impl SendError {
    /// Whether the caller should try again later.
    pub fn is_transient(&self) -> bool {
        matches!(self, SendError::Transient(_))
    }

    /// The message, without saying whether it is transient.
    pub fn message(&self) -> &str {
        match self {
            SendError::Transient(message) | SendError::Permanent(message) => message,
        }
    }
}

impl Notifier {
    /// Builds the HTTP client and, for the services in `channels`, the SMTP transport and the Twilio
    /// endpoints.
    ///
    /// No connection is opened here, so an unreachable SMTP server or Twilio API does not stop startup; it
    /// shows up as transient errors on the first page. Fails if TLS cannot be set up (for example, the
    /// extra CA certificate is rejected by the TLS library) or the Twilio configuration is invalid
    /// ([`TwilioConfig::validate`]).
    pub fn new(channels: Channels) -> Result<Notifier, String> {
        let http = http::client()?;
        let smtp = channels.smtp.map(email::Smtp::new).transpose()?;
        let twilio = channels.twilio.map(twilio::Twilio::new).transpose()?;
        Ok(Notifier { http, smtp, twilio })
    }

    /// Whether pages over `channel` can be sent: email needs an SMTP server, SMS and voice a Twilio
    /// account; the others need nothing.
    pub fn configured(&self, channel: Channel) -> bool {
        match channel {
            Channel::Email => self.smtp.is_some(),
            Channel::Sms | Channel::Voice => self.twilio.is_some(),
            Channel::Webhook | Channel::Slack | Channel::Ntfy => true,
        }
    }

    /// Makes one attempt to deliver `page` to the contact method `address` of type `channel`.
    ///
    /// `secret` is the webhook's signing secret, required for [`Channel::Webhook`], or the ntfy access
    /// token, optional for [`Channel::Ntfy`]; other channels ignore it. `now` is the time the attempt is
    /// made; it becomes the signature timestamp and the email's `Date`. Never panics on bad input: an
    /// invalid address is a [`SendError::Permanent`].
    pub async fn send(
        &self,
        channel: Channel,
        address: &str,
        secret: Option<&str>,
        page: &Page,
        now: jiff::Timestamp,
    ) -> Result<Delivered, SendError> {
        if let Err(error) = validate_address(channel, address) {
            return Err(SendError::Permanent(error));
        }
        match channel {
            Channel::Email => match &self.smtp {
                Some(smtp) => smtp.send(address, page, now).await,
                None => Err(SendError::Permanent("email is not configured: no SMTP server is set".into())),
            },
            Channel::Webhook => {
                let Some(secret) = secret.filter(|secret| !secret.is_empty()) else {
                    return Err(SendError::Permanent("webhook contact method has no signing secret".into()));
                };
                http::send_webhook(&self.http, address, secret, page, now).await
            }
            Channel::Slack => http::send_slack(&self.http, address, page).await,
            Channel::Sms => match &self.twilio {
                Some(twilio) => twilio.send_sms(&self.http, address, page).await,
                None => Err(SendError::Permanent("SMS is not configured: no Twilio account is set".into())),
            },
            Channel::Voice => match &self.twilio {
                Some(twilio) => twilio.send_call(&self.http, address, page).await,
                None => Err(SendError::Permanent(
                    "voice calls are not configured: no Twilio account is set".into(),
                )),
            },
            Channel::Ntfy => {
                let token = secret.filter(|secret| !secret.is_empty());
                ntfy::send(&self.http, address, token, page).await
            }
        }
    }
}

impl fmt::Debug for Notifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notifier")
            .field("smtp", &self.smtp)
            .field("twilio", &self.twilio)
            .finish_non_exhaustive()
    }
}

/// Checks that `address` can be used as a contact method of type `channel`.
///
/// Email addresses must be a bare `user@domain` (no display name) of at most 254 bytes; webhook and Slack
/// addresses must be absolute `http` or `https` URLs with a host; SMS and voice addresses are E.164 phone
/// numbers (`+`, then 8 to 15 digits, the first not 0); ntfy addresses are `http` or `https` URLs whose
/// path is one topic name of 1 to 64 letters, digits, `-` or `_`. Every address is at most
/// [`ADDRESS_BYTES_MAX`] bytes without surrounding whitespace. The error says what is wrong without repeating
/// the address, because Slack URLs and ntfy topics are secrets.
pub fn validate_address(channel: Channel, address: &str) -> Result<(), String> {
    if address.is_empty() {
        return Err("address is empty".into());
    }
    if address.len() > ADDRESS_BYTES_MAX {
        return Err(format!("address is longer than {ADDRESS_BYTES_MAX} bytes"));
    }
    if address.trim() != address {
        return Err("address has leading or trailing whitespace".into());
    }
    match channel {
        Channel::Email => email::validate_address(address),
        Channel::Webhook | Channel::Slack => http::parse_url(address).map(drop),
        Channel::Sms | Channel::Voice => twilio::validate_phone_number(address),
        Channel::Ntfy => ntfy::parse_topic_url(address).map(drop),
    }
}

/// How long to wait before attempt `attempt + 1`, after `attempt` attempts failed (the first failure is
/// `attempt = 1`; 0 is treated as 1).
///
/// Exponential backoff with full jitter: a uniformly random duration between zero and a ceiling that
/// starts at [`BACKOFF_BASE`], doubles with each attempt, and stops at [`BACKOFF_MAX`]. The jitter keeps
/// many pages that failed together (one receiver down) from retrying together. `random` is any random
/// number, passed in so that tests and simulations are reproducible; the result has millisecond precision.
pub fn backoff(attempt: u32, random: u64) -> SignedDuration {
    let ceiling_millis = u64::try_from(backoff_ceiling(attempt).as_millis()).unwrap_or(0);
    let millis = random % (ceiling_millis + 1);
    SignedDuration::from_millis(i64::try_from(millis).unwrap_or(i64::MAX))
}

/// The largest value [`backoff`] can return for `attempt`.
pub fn backoff_ceiling(attempt: u32) -> SignedDuration {
    // Eight doublings already pass BACKOFF_MAX; capping the exponent keeps the shift from overflowing.
    let doublings = attempt.saturating_sub(1).min(16);
    let ceiling = (BACKOFF_BASE.as_millis() << doublings).min(BACKOFF_MAX.as_millis());
    SignedDuration::from_millis(i64::try_from(ceiling).unwrap_or(i64::MAX))
}

/// Replaces control characters (line breaks included) with spaces and shortens `text` to at most
/// `chars_max` characters, so text from alerts cannot break a header or a one-line field.
fn one_line(text: &str, chars_max: usize) -> String {
    let mut line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(chars_max.saturating_add(1))
        .collect();
    if line.chars().count() > chars_max {
        line = line.chars().take(chars_max.saturating_sub(1)).collect();
        line.push('…');
    }
    line
}

/// The rank of a severity `SEV1` to `SEV4` (any case): 1 to 4; `None` for anything else.
fn severity_rank(severity: &str) -> Option<u8> {
    let (prefix, rank) = (severity.get(..3)?, severity.get(3..)?);
    if !prefix.eq_ignore_ascii_case("sev") {
        return None;
    }
    match rank {
        "1" => Some(1),
        "2" => Some(2),
        "3" => Some(3),
        "4" => Some(4),
        _ => None,
    }
}

/// The longest title put into an email subject or a Slack message, in characters.
const TITLE_CHARS_MAX: usize = 200;

/// The subject line shared by email and the Slack notification text.
fn headline(page: &Page) -> String {
    format!(
        "[{}] {}: {} (level {})",
        one_line(&page.severity, 16),
        one_line(&page.service, 100),
        one_line(&page.title, TITLE_CHARS_MAX),
        page.level
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_names_round_trip() {
        for channel in Channel::ALL {
            assert_eq!(Channel::parse(channel.as_str()), Ok(channel));
            assert_eq!(channel.to_string().parse::<Channel>(), Ok(channel));
        }
        for name in ["", "Email", "SMS", "phone", "slack ", "ntfy.sh"] {
            assert!(Channel::parse(name).is_err(), "{name:?}");
        }
    }

    #[test]
    fn backoff_stays_within_its_ceiling() {
        for attempt in 0..40 {
            let ceiling = backoff_ceiling(attempt);
            assert!(ceiling >= BACKOFF_BASE && ceiling <= BACKOFF_MAX, "attempt {attempt}: {ceiling:?}");
            for random in [0, 1, 999, 123_456_789, u64::MAX / 3, u64::MAX - 1, u64::MAX] {
                let delay = backoff(attempt, random);
                assert!(delay >= SignedDuration::ZERO && delay <= ceiling, "attempt {attempt}: {delay:?}");
            }
        }
    }

    #[test]
    fn backoff_ceiling_doubles_then_caps() {
        let ceilings: Vec<i64> = (0..=ATTEMPTS_MAX + 2).map(|n| backoff_ceiling(n).as_secs()).collect();
        assert_eq!(ceilings, [2, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        assert_eq!(backoff_ceiling(u32::MAX), BACKOFF_MAX);
        // The largest random value below the ceiling reaches it; zero gives an immediate retry.
        assert_eq!(backoff(3, 8000), SignedDuration::from_secs(8));
        assert_eq!(backoff(3, 8001), SignedDuration::ZERO);
        // The jitter spreads retries: many random inputs give many different delays.
        let mut delays: Vec<SignedDuration> =
            (0..100u64).map(|n| backoff(5, n.wrapping_mul(0x9E37_79B9_7F4A_7C15))).collect();
        delays.sort();
        delays.dedup();
        assert!(delays.len() > 90, "{}", delays.len());
    }

    #[test]
    fn addresses_are_validated_per_channel() {
        let long_url = format!("https://example.com/{}", "a".repeat(ADDRESS_BYTES_MAX));
        let long_email = format!("{}@example.com", "a".repeat(250));
        let cases: &[(Channel, &str, bool)] = &[
            (Channel::Email, "alice@example.com", true),
            (Channel::Email, "alice.o'hara+pager@mail.example.co.uk", true),
            (Channel::Email, "", false),
            (Channel::Email, "alice", false),
            (Channel::Email, "alice@", false),
            (Channel::Email, "@example.com", false),
            (Channel::Email, "alice@@example.com", false),
            (Channel::Email, "Alice <alice@example.com>", false),
            (Channel::Email, " alice@example.com", false),
            (Channel::Email, "alice@example.com\r\nBcc: eve@example.com", false),
            (Channel::Email, &long_email, false),
            (Channel::Webhook, "https://hooks.example.com/firebreak", true),
            (Channel::Webhook, "http://10.0.0.7:8080/page?team=db", true),
            (Channel::Webhook, "http://[::1]:9000/", true),
            (Channel::Webhook, "ftp://example.com/", false),
            (Channel::Webhook, "https://", false),
            (Channel::Webhook, "example.com/hook", false),
            (Channel::Webhook, "mailto:alice@example.com", false),
            (Channel::Webhook, "https://example.com/\n", false),
            (Channel::Webhook, &long_url, false),
            (Channel::Slack, "https://hooks.slack.com/services/T000/B000/XXXX", true),
            (Channel::Slack, "alice@example.com", false),
            (Channel::Sms, "+14155550100", true),
            (Channel::Sms, "+442071838750", true),
            (Channel::Sms, "+12345678", true),
            (Channel::Sms, "+123456789012345", true),
            (Channel::Sms, "14155550100", false),
            (Channel::Sms, "+1234567", false),
            (Channel::Sms, "+1234567890123456", false),
            (Channel::Sms, "+04155550100", false),
            (Channel::Sms, "+1 415 555 0100", false),
            (Channel::Sms, "+1-415-555-0100", false),
            (Channel::Sms, "+1415555010O", false),
            (Channel::Sms, " +14155550100", false),
            (Channel::Sms, "alice@example.com", false),
            (Channel::Voice, "+14155550100", true),
            (Channel::Voice, "tel:+14155550100", false),
            (Channel::Voice, "", false),
            (Channel::Ntfy, "https://ntfy.sh/mytopic", true),
            (Channel::Ntfy, "http://10.0.0.5:8080/firebreak-ops_1", true),
            (Channel::Ntfy, &format!("https://ntfy.sh/{}", "a".repeat(64)), true),
            (Channel::Ntfy, &format!("https://ntfy.sh/{}", "a".repeat(65)), false),
            (Channel::Ntfy, "https://ntfy.sh/", false),
            (Channel::Ntfy, "https://ntfy.sh/team/pager", false),
            (Channel::Ntfy, "https://ntfy.sh/my.topic", false),
            (Channel::Ntfy, "https://ntfy.sh/mytopic?auth=abc", false),
            (Channel::Ntfy, "https://tk:secret@ntfy.sh/mytopic", false),
            (Channel::Ntfy, "ntfy.sh/mytopic", false),
            (Channel::Ntfy, "+14155550100", false),
        ];
        for &(channel, address, valid) in cases {
            let result = validate_address(channel, address);
            assert_eq!(result.is_ok(), valid, "{channel} {address:?}: {result:?}");
        }
    }

    #[test]
    fn url_errors_do_not_repeat_the_url() {
        let error = validate_address(Channel::Slack, "ftp://hooks.example.com/services/SECRET").unwrap_err();
        assert!(!error.contains("SECRET"), "{error}");
    }

    #[test]
    fn page_debug_leaves_out_signed_links() {
        let page = Page {
            delivery_id: "d1".into(),
            incident_id: 1,
            title: "t".into(),
            service: "s".into(),
            severity: "SEV2".into(),
            kind: "signal".into(),
            status: "triggered".into(),
            level: 1,
            wakes_management: false,
            recipient: "alice".into(),
            incident_url: "https://fb.example.com/incidents/1".into(),
            acknowledge_url: "https://fb.example.com/a?token=ACKTOKEN".into(),
            resolve_url: "https://fb.example.com/r?token=RESTOKEN".into(),
            voice_url: "https://fb.example.com/twilio/voice/d1".into(),
        };
        let debug = format!("{page:?}");
        assert!(!debug.contains("ACKTOKEN") && !debug.contains("RESTOKEN"), "{debug}");
        assert!(debug.contains("incidents/1"), "{debug}");
    }

    #[test]
    fn one_line_flattens_and_shortens() {
        assert_eq!(one_line("a\r\nb\tc", 10), "a  b c");
        assert_eq!(one_line("abcdef", 6), "abcdef");
        assert_eq!(one_line("abcdefg", 6), "abcde…");
        assert_eq!(one_line("", 6), "");
    }

    #[test]
    fn severity_ranks() {
        let ranks = ["SEV1", "sev2", "Sev3", "SEV4", "SEV5", "SEV", "SEV12", "P1", "", "ſev1", "SEVé"]
            .map(severity_rank);
        assert_eq!(ranks, [Some(1), Some(2), Some(3), Some(4), None, None, None, None, None, None, None]);
    }
}
