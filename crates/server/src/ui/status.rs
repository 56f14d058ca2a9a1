//! The status page: whether this installation can page people. Each channel says whether it is
//! configured and how many contact methods count on it; a channel that contact methods count on and
//! that cannot send is a warning at the top, with the setting that fixes it. The same warnings are
//! logged at start.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use firebreak_app::paging::ChannelStatus;
use maud::{Markup, html};

use super::format::table_head;
use super::page::{Page, Session};
use crate::state::Shared;

pub(super) fn routes() -> Router<Shared> {
    Router::new().route("/status", get(status_page))
}

async fn status_page(State(server): State<Shared>, session: Session) -> Page {
    let channels = server.channels().await.map_err(|err| session.error(err.into()))?;
    let ready = server.ready().await.is_ok();
    Ok(session.page("Status", status_body(&channels, ready, server.public_url(), server.twilio_configured())))
}

fn status_body(channels: &[ChannelStatus], ready: bool, public_url: &str, replies: bool) -> Markup {
    let warnings: Vec<String> = channels.iter().filter_map(ChannelStatus::warning).collect();
    html! {
        h1 { "Status" }
        @if warnings.is_empty() {
            p.ok { "Every channel that contact methods use can send." }
        } @else {
            @for warning in &warnings {
                p.warning role="alert" { "Warning: " (warning) }
            }
        }
        p { "Database and ingest: " strong { @if ready { "ready" } @else { "not ready" } } }
        h2 { "Paging channels" }
        div.scroll {
            table {
                (table_head(&["Channel", "Configured", "Contact methods"]))
                tbody {
                    @for status in channels {
                        tr {
                            td { (status.channel.as_str()) }
                            td { @if status.configured { "yes" } @else { "no" } }
                            td { (status.contact_methods) }
                        }
                    }
                }
            }
        }
        h2 { "Replies from phones" }
        @if replies {
            p { "SMS replies (\"ack 42\") are taken at " code { (public_url) "/twilio/sms" }
                "; set it as the Twilio number's messaging webhook (HTTP POST)." }
        } @else {
            p { "Off: no Twilio account is configured." }
        }
    }
}

#[cfg(test)]
mod tests {
    use firebreak_notify::Channel;

    use super::*;

    #[test]
    fn a_channel_in_use_that_cannot_send_is_a_warning() {
        let channels = [
            ChannelStatus { channel: Channel::Email, configured: false, contact_methods: 2 },
            ChannelStatus { channel: Channel::Sms, configured: false, contact_methods: 0 },
            ChannelStatus { channel: Channel::Webhook, configured: true, contact_methods: 5 },
        ];
        let page = status_body(&channels, true, "https://fb.example", false).into_string();
        assert!(
            page.contains("Warning: 2 email contact method(s) get no pages: email is not configured"),
            "{page}"
        );
        assert!(!page.contains("sms contact method"), "{page}");
        let fine = status_body(&channels[1..], true, "https://fb.example", true).into_string();
        assert!(fine.contains("Every channel that contact methods use can send."), "{fine}");
        assert!(fine.contains("https://fb.example/twilio/sms"), "{fine}");
    }
}
