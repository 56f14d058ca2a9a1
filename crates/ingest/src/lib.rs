//! Parsers of the alert formats firebreak accepts: PagerDuty Events API v2, Prometheus
//! Alertmanager webhooks (version 4) and Grafana alerting webhooks.
//!
//! Each parser is a pure function from a request body to [`firebreak_domain::AlertEvent`] values.
//! This crate does no I/O, reads no clock and knows no HTTP framework: the server reads the body
//! (and enforces its size bound), calls a parser and turns the result into a response.
//!
//! The vocabulary of the senders ("trigger", "firing", "routing key") stops here; what leaves this
//! crate is in firebreak's terms.
//!
//! # Bounds
//!
//! Every accepted event satisfies the domain's bounds. Where a sender exceeds them:
//! - PagerDuty summaries and dedup keys longer than PagerDuty allows are rejected, as PagerDuty does;
//!   an Alertmanager or Grafana summary (taken from an annotation) is shortened to fit.
//! - Label values longer than [`firebreak_domain::LABEL_CHARS_MAX`] are shortened, and labels whose
//!   name is empty or too long, or that exceed [`firebreak_domain::LABELS_MAX`], are dropped. Nothing
//!   is lost: the original names and values of shortened or dropped labels are kept in the event's
//!   `details` under `labels_truncated`. Labels named in [`LABELS_KEPT_FIRST`] are kept first,
//!   the others in name order, so the labels most rules match on survive.
//! - At most [`LINKS_MAX`] links are kept, and only `http` and `https` links no longer than
//!   [`LINK_CHARS_MAX`].

#![warn(missing_docs)]

pub mod alertmanager;
pub mod grafana;
pub mod pagerduty;

mod common;

/// Most links kept on one event; later links are dropped.
pub const LINKS_MAX: usize = 16;
/// Longest link URL or title kept; longer URLs are dropped, longer titles shortened.
pub const LINK_CHARS_MAX: usize = 2048;
/// Label names kept before any other when an alert carries more than
/// [`firebreak_domain::LABELS_MAX`] labels.
pub const LABELS_KEPT_FIRST: &[&str] =
    &["alertname", "severity", "source", "instance", "job", "service", "component", "group", "class"];
