//! What every capability checks the same way: references to teams, users and services (by id or
//! by name), and the fields people type (names, free text, emails, time zones, instants, links).
//!
//! One place, so that the same mistake gets the same answer whichever route it came through.

use firebreak_api::{self as api, Ref};
use firebreak_domain::{self as domain, Id};
use firebreak_store::{Store, StoreError};
use jiff::Timestamp;

use crate::{Error, Result};

/// Longest service or team description accepted.
pub const DESCRIPTION_CHARS_MAX: usize = 2_000;
/// Longest documentation or runbook accepted.
pub const MARKDOWN_CHARS_MAX: usize = 200_000;
/// Most links, dependencies, matchers and label names a request may list.
pub const LIST_ITEMS_MAX: usize = 100;
/// Longest title of a link.
const LINK_TITLE_CHARS_MAX: usize = 200;
/// Longest URL of a link.
const LINK_URL_BYTES_MAX: usize = 2048;

/// The id of the team `team` names.
pub(crate) async fn team_id(store: &Store, team: &Ref) -> Result<Id> {
    let found = match team {
        Ref::Id(id) => store.team(*id).await.map(|t| Some(t.id)).or_else(not_found_is_none)?,
        Ref::Name(name) => store.team_id_by_name(name).await?,
    };
    found.ok_or_else(|| Error::NotFound(format!("there is no team {team}")))
}

/// The id of the user `user` names.
pub(crate) async fn user_id(store: &Store, user: &Ref) -> Result<Id> {
    let found = match user {
        Ref::Id(id) => store.user(*id).await.map(|u| Some(u.id)).or_else(not_found_is_none)?,
        Ref::Name(name) => store.user_id_by_name(name).await?,
    };
    found.ok_or_else(|| Error::NotFound(format!("there is no user {user}")))
}

/// The id of the service `service` names.
pub(crate) async fn service_id(store: &Store, service: &Ref) -> Result<Id> {
    let found = match service {
        Ref::Id(id) => store.service(*id).await.map(|s| Some(s.id)).or_else(not_found_is_none)?,
        Ref::Name(name) => store.service_id_by_name(name).await?,
    };
    found.ok_or_else(|| Error::NotFound(format!("there is no service {service}")))
}

/// The ids of the services a service depends on, each once, in the order given.
pub(crate) async fn dependency_ids(store: &Store, services: &[Ref]) -> Result<Vec<Id>> {
    if services.len() > LIST_ITEMS_MAX {
        return Err(Error::Invalid(format!("a service can have at most {LIST_ITEMS_MAX} dependencies")));
    }
    let mut ids = Vec::with_capacity(services.len());
    for service in services {
        let id = service_id(store, service).await?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

fn not_found_is_none(err: StoreError) -> std::result::Result<Option<Id>, StoreError> {
    match err {
        StoreError::NotFound(_) => Ok(None),
        other => Err(other),
    }
}

/// A name of a team, user, service, schedule or policy.
pub(crate) fn name(name: &str) -> Result<String> {
    domain::validate_name(name).map(str::to_owned).map_err(Error::Invalid)
}

/// Free text of at most `chars_max` characters, trimmed.
pub(crate) fn text(field: &str, value: &str, chars_max: usize) -> Result<String> {
    if value.chars().count() > chars_max {
        return Err(Error::Invalid(format!("{field} is longer than {chars_max} characters")));
    }
    Ok(value.trim().to_owned())
}

/// An email address: something, `@`, and a domain with a dot, without spaces or control characters.
pub(crate) fn email(email: &str) -> Result<String> {
    let email = email.trim();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if !valid {
        return Err(Error::Invalid(format!("invalid email address {email:?}")));
    }
    Ok(email.to_owned())
}

/// An IANA time zone.
pub(crate) fn time_zone(name: &str) -> Result<jiff::tz::TimeZone> {
    jiff::tz::TimeZone::get(name).map_err(|_| {
        Error::Invalid(format!(
            "unknown time zone {name:?}; expected an IANA name such as Europe/Lisbon or UTC"
        ))
    })
}

/// An instant given as a query parameter named `field`.
pub(crate) fn instant(field: &str, text: &str) -> Result<Timestamp> {
    text.parse().map_err(|err| {
        Error::BadRequest(format!(
            "invalid {field} {text:?}: {err}; expected RFC 3339 such as 2026-01-31T12:00:00Z"
        ))
    })
}

/// `text` if given, else `default`, as an instant named `field`.
pub(crate) fn instant_or(field: &str, text: Option<&str>, default: Timestamp) -> Result<Timestamp> {
    text.map(|text| instant(field, text)).transpose().map(|at| at.unwrap_or(default))
}

/// The links of a service: http or https URLs with short titles.
pub(crate) fn links(links: Vec<api::Link>) -> Result<Vec<domain::Link>> {
    if links.len() > LIST_ITEMS_MAX {
        return Err(Error::Invalid(format!("a service can have at most {LIST_ITEMS_MAX} links")));
    }
    links
        .into_iter()
        .map(|link| {
            let scheme_ok = link.url.starts_with("https://") || link.url.starts_with("http://");
            if !scheme_ok || link.url.len() > LINK_URL_BYTES_MAX {
                return Err(Error::Invalid(format!(
                    "invalid link URL {:?}; expected http:// or https://",
                    link.url
                )));
            }
            let title = text("link title", &link.title, LINK_TITLE_CHARS_MAX)?;
            Ok(domain::Link { title, url: link.url })
        })
        .collect()
}

/// The items of a comma-separated list, trimmed, empty ones left out.
pub(crate) fn split(list: &str) -> impl Iterator<Item = &str> {
    list.split(',').map(str::trim).filter(|item| !item.is_empty())
}
