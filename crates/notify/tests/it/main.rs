//! Delivery against real receivers on loopback: an aiosmtpd SMTP server in each of its modes, an HTTP
//! server standing in for webhook and Slack receivers, and HTTP servers that implement the parts of
//! Twilio's REST API and ntfy's publish API that pages use, refusing every request those services would
//! refuse. Nothing here mocks a protocol.

mod http;
mod ntfy;
mod smtp;
mod twilio;

use firebreak_notify::{Delivered, Page, SendError};

/// The time every test sends at; tests never read the clock.
fn now() -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_750_000_000).expect("a valid timestamp")
}

fn page() -> Page {
    Page {
        delivery_id: "0197a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b".into(),
        incident_id: 42,
        title: "Payment errors above 5%".into(),
        service: "checkout".into(),
        severity: "SEV1".into(),
        kind: "signal".into(),
        status: "triggered".into(),
        level: 1,
        wakes_management: false,
        recipient: "Alice Example".into(),
        incident_url: "https://firebreak.example.com/incidents/42".into(),
        acknowledge_url: "https://firebreak.example.com/p/42/ack?d=0197a1b2&sig=abc123".into(),
        resolve_url: "https://firebreak.example.com/p/42/resolve?d=0197a1b2&sig=def456".into(),
        voice_url: "https://firebreak.example.com/twilio/voice?d=0197a1b2&sig=ghi789".into(),
    }
}

/// One line per outcome, so expectations read like the delivery log.
fn describe(result: &Result<Delivered, SendError>) -> String {
    match result {
        Ok(delivered) => format!("delivered: {}", delivered.detail),
        Err(SendError::Transient(message)) => format!("transient: {message}"),
        Err(SendError::Permanent(message)) => format!("permanent: {message}"),
    }
}
