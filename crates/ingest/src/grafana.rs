//! Grafana alerting webhooks (unified alerting, Grafana 8 and later): Alertmanager's webhook shape
//! with extra fields, parsed by the same code as [`crate::alertmanager`].
//!
//! What Grafana adds: per alert, `dashboardURL`, `panelURL`, `silenceURL` and `imageURL` become links
//! next to `generatorURL` (the alert rule), and `values` and `valueString` (what the rule saw) go
//! into `details`. The webhook's `version` (Grafana says `"1"`) is not checked. The events' source
//! falls back to `grafana` when neither labels nor `externalURL` name one.
//!
//! Legacy Grafana alerting (before 8) sent a different shape; it is refused with a message saying so.

pub use crate::alertmanager::Batch;

use crate::alertmanager::{Sender, parse_webhook};

/// Parses a Grafana webhook body.
///
/// Returns an error naming the problem when the body as a whole is unusable: not JSON, not an
/// object, `alerts` missing or not an array, or more than [`crate::alertmanager::ALERTS_MAX`] alerts.
/// Problems with single alerts go to [`Batch::rejected`]. Never panics.
pub fn parse(body: &[u8]) -> Result<Batch, String> {
    parse_webhook(body, Sender::Grafana)
}
