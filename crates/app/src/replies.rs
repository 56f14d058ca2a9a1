//! Answers from phones: a reply to an SMS page ("ack 42", "esc 42") and a key pressed during a
//! voice call (1 acknowledges, 2 escalates), as Twilio posts them back.
//!
//! The server checks that Twilio sent the request (`X-Twilio-Signature`, with [`App::twilio_signed`])
//! before asking anything here. A reply acts as the person whose contact method it came from, and
//! only on an incident that paged them: a phone number is not a login, so it reaches no further
//! than the pages it received.

use firebreak_domain::{Command, Id, Status};
use firebreak_notify::Channel;

use crate::{App, Error, Principal};

/// What an SMS reply says: the action, and the incident when it names one.
pub type SmsReply = (ReplyAction, Option<Id>);

/// What a reply asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyAction {
    Acknowledge,
    Escalate,
}

/// A reply that was understood, or why not: what to answer the person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplyOutcome {
    /// One sentence for the SMS answer or the voice prompt.
    pub message: String,
}

/// How many recent incidents a reply without a number looks through for a triggered one.
const RECENT_PAGES: u32 = 20;

/// Reads an SMS reply: `ack 42`, `a 42`, `esc 42`, `e 42`, or the word alone (the most recent
/// triggered incident that paged this number). Case and surrounding punctuation do not matter.
pub fn parse_sms(body: &str) -> Option<SmsReply> {
    let mut words = body.split(|c: char| c.is_whitespace() || c == '#').filter(|w| !w.is_empty());
    let verb = words.next()?.trim_matches(|c: char| !c.is_alphanumeric()).to_ascii_lowercase();
    let action = match verb.as_str() {
        "ack" | "a" | "acknowledge" | "1" => ReplyAction::Acknowledge,
        "esc" | "e" | "escalate" | "2" => ReplyAction::Escalate,
        _ => return None,
    };
    let incident = match words.next() {
        Some(word) => Some(word.trim_matches(|c: char| !c.is_ascii_digit()).parse().ok()?),
        None => None,
    };
    if words.next().is_some() {
        return None;
    }
    Some((action, incident))
}

impl App {
    /// Whether Twilio signed a request to `url` with `params` (`X-Twilio-Signature`). Always false
    /// when no Twilio account is configured.
    pub fn twilio_signed(&self, url: &str, params: &[(String, String)], signature: &str) -> bool {
        match &self.inner.twilio_auth_token {
            Some(token) => firebreak_notify::verify_twilio_signature(token, url, params, signature),
            None => false,
        }
    }

    /// Whether inbound Twilio requests can be checked, so answered.
    pub fn twilio_configured(&self) -> bool {
        self.inner.twilio_auth_token.is_some()
    }

    /// The answer to an SMS reply `body` from the phone number `from`.
    pub async fn sms_reply(&self, from: &str, body: &str) -> crate::Result<ReplyOutcome> {
        let say = |message: String| Ok(ReplyOutcome { message });
        let users = self.store().users_with_contact(Channel::Sms.as_str(), from.trim()).await?;
        if users.is_empty() {
            return say("This number gets no pages from firebreak.".to_owned());
        }
        let Some((action, incident)) = parse_sms(body) else {
            return say("Reply \"ack N\" to acknowledge incident N, or \"esc N\" to escalate it.".to_owned());
        };
        let paged = self.store().incidents_paged_to(&users, Channel::Sms.as_str(), RECENT_PAGES).await?;
        let target = match incident {
            Some(id) => paged.iter().find(|(incident, _)| *incident == id).copied(),
            None => {
                let mut found = None;
                for &(id, user) in &paged {
                    if self.store().incident(id).await?.status == Status::Triggered {
                        found = Some((id, user));
                        break;
                    }
                }
                found
            }
        };
        let Some((incident, user)) = target else {
            return say(match incident {
                Some(id) => format!("Incident #{id} did not page this number."),
                None => {
                    "No triggered incident paged this number: reply \"ack N\" with its number.".to_owned()
                }
            });
        };
        self.act_by_phone(incident, user, action).await
    }

    /// The answer to key `digit` pressed during the call of notification `notification`.
    pub async fn voice_reply(&self, notification: Id, digit: &str) -> crate::Result<ReplyOutcome> {
        let Some((incident, user)) = self.store().notification_target(notification).await? else {
            return Ok(ReplyOutcome { message: "This call is not a page from firebreak.".to_owned() });
        };
        let action = match digit.trim() {
            "1" => ReplyAction::Acknowledge,
            "2" => ReplyAction::Escalate,
            _ => {
                return Ok(ReplyOutcome { message: "That key does nothing. Goodbye.".to_owned() });
            }
        };
        self.act_by_phone(incident, user, action).await
    }

    async fn act_by_phone(&self, incident: Id, user: Id, action: ReplyAction) -> crate::Result<ReplyOutcome> {
        let person = Principal::paged(Some(&self.store().user(user).await?));
        let done = match action {
            ReplyAction::Acknowledge => self.act(&person, incident, Command::Acknowledge).await.map(drop),
            ReplyAction::Escalate => self.escalate_now(&person, incident).await.map(drop),
        };
        let message = match (action, done) {
            (ReplyAction::Acknowledge, Ok(())) => format!("Incident #{incident} acknowledged. Paging stops."),
            (ReplyAction::Escalate, Ok(())) => {
                format!("Incident #{incident} escalated: the next level is paged now.")
            }
            (_, Err(Error::Refused(reason))) => format!("Incident #{incident} not changed: {reason}."),
            (_, Err(Error::Conflict(reason))) => format!("Incident #{incident} not changed: {reason}."),
            (_, Err(err)) => return Err(err),
        };
        Ok(ReplyOutcome { message })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sms_replies_are_read_leniently() {
        let cases: &[(&str, Option<SmsReply>)] = &[
            ("ack 42", Some((ReplyAction::Acknowledge, Some(42)))),
            ("ACK #42", Some((ReplyAction::Acknowledge, Some(42)))),
            ("  a 7 ", Some((ReplyAction::Acknowledge, Some(7)))),
            ("Ack.", Some((ReplyAction::Acknowledge, None))),
            ("esc 42", Some((ReplyAction::Escalate, Some(42)))),
            ("escalate 3", Some((ReplyAction::Escalate, Some(3)))),
            ("2", Some((ReplyAction::Escalate, None))),
            ("", None),
            ("thanks", None),
            ("ack forty", None),
            ("ack 42 now", None),
        ];
        for (body, expected) in cases {
            assert_eq!(parse_sms(body), *expected, "{body:?}");
        }
    }
}
