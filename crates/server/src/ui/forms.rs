//! What the forms of the web UI share: the fields of a posted form, the check of its form token,
//! the pieces every form is written with, and how a form shows what went wrong.
//!
//! A form posts URL-encoded fields and is answered with a redirect to the page it changed. When
//! the application refuses the change, the same form is shown again with what the person typed
//! and the application's message, answered with the error's 4xx status. The fields are read as
//! pairs, in order, so a form may repeat a name (a multiple select, one fieldset per layer).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use firebreak_api::Ref;
use firebreak_domain::Id;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use maud::{Markup, html};

use super::page::{Session, csrf_matches};
use crate::error::ApiError;

/// The format of a `datetime-local` input's value.
const LOCAL_TIME_FORMAT: &str = "%Y-%m-%dT%H:%M";

/// The fields of a posted form, as pairs in the order they were sent.
#[derive(Debug, Default)]
pub(super) struct Fields(pub(super) Vec<(String, String)>);

impl Fields {
    /// The first value of `name`, or an empty text when the form has none.
    pub(super) fn get(&self, name: &str) -> &str {
        self.0.iter().find(|(field, _)| field == name).map_or("", |(_, value)| value.as_str())
    }

    /// Every value of `name`, in order.
    pub(super) fn all(&self, name: &str) -> Vec<&str> {
        self.0.iter().filter(|(field, _)| field == name).map(|(_, value)| value.as_str()).collect()
    }

    /// Whether the form has `name` at all (a checkbox is sent only when it is ticked).
    pub(super) fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(field, _)| field == name)
    }

    /// Whether the form carries the session's form token; otherwise the error that says so.
    pub(super) fn check(&self, session: &Session) -> Result<(), ApiError> {
        if csrf_matches(session, self.get("csrf")) {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "the form has expired; reload the page and try again",
            ))
        }
    }
}

/// The redirect that answers a form whose change was made: to the page that shows it.
pub(super) fn done(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// Answers a form that changes something already stored: checks the form's token, loads what the
/// form is about (`load`; an error page when it cannot), makes `change`, and redirects to where
/// `change` says; when the application refuses, answers `again` (the page with the form and what
/// went wrong).
pub(super) async fn change_loaded<T>(
    session: &Session,
    fields: &Fields,
    load: impl Future<Output = Result<T, ApiError>>,
    change: impl AsyncFnOnce(&T) -> Result<String, ApiError>,
    again: impl AsyncFnOnce(&T, ApiError) -> Result<Response, Response>,
) -> Result<Response, Response> {
    fields.check(session).map_err(|err| session.error(err))?;
    let loaded = load.await.map_err(|err| session.error(err))?;
    match change(&loaded).await {
        Ok(to) => Ok(done(&to)),
        Err(err) => again(&loaded, err).await,
    }
}

/// The hidden field with the session's form token, which every form carries.
pub(super) fn csrf_field(session: &Session) -> Markup {
    html! { input type="hidden" name="csrf" value=(session.csrf); }
}

/// What went wrong with the form last sent, where the form shows it; nothing when nothing did.
pub(super) fn problem(error: Option<&ApiError>) -> Markup {
    html! {
        @if let Some(error) = error {
            p.error.form-error #form-error role="alert" { (error.detail) }
        }
    }
}

/// The status a form page is answered with: the error's, or `200`.
pub(super) fn status_of(error: Option<&ApiError>) -> StatusCode {
    error.map_or(StatusCode::OK, |error| error.status)
}

/// A labelled one-line text input.
pub(super) fn text_input(label: &str, name: &str, value: &str, hint: &str) -> Markup {
    html! {
        label.field {
            span { (label) }
            input type="text" name=(name) value=(value);
            @if !hint.is_empty() { small.hint { (hint) } }
        }
    }
}

/// A labelled text area.
pub(super) fn text_area(label: &str, name: &str, value: &str, rows: u32, hint: &str) -> Markup {
    html! {
        label.field {
            span { (label) }
            textarea name=(name) rows=(rows) { (value) }
            @if !hint.is_empty() { small.hint { (hint) } }
        }
    }
}

/// A labelled select of `options` (`(value, label)`), with those in `selected` selected.
pub(super) fn select(
    label: &str,
    name: &str,
    options: &[(String, String)],
    selected: &[&str],
    multiple: bool,
    hint: &str,
) -> Markup {
    let size = if multiple { options.len().clamp(2, 8) } else { 1 };
    html! {
        label.field {
            span { (label) }
            select name=(name) multiple[multiple] size=[multiple.then_some(size)] {
                @for (value, text) in options {
                    option value=(value) selected[selected.contains(&value.as_str())] { (text) }
                }
            }
            @if !hint.is_empty() { small.hint { (hint) } }
        }
    }
}

/// A labelled checkbox.
pub(super) fn checkbox(label: &str, name: &str, checked: bool) -> Markup {
    html! {
        label.check {
            input type="checkbox" name=(name) value="yes" checked[checked];
            " " (label)
        }
    }
}

/// A form that deletes something once the person ticks the box that confirms it.
pub(super) fn delete_form(session: &Session, action: &str, what: &str) -> Markup {
    html! {
        form.danger #delete-form method="post" action=(action) {
            (csrf_field(session))
            label.check {
                input type="checkbox" name="confirm" value="yes" required;
                " Yes, delete " (what)
            }
            button.danger #delete { "Delete" }
        }
    }
}

/// Whether a delete form was confirmed; otherwise the error that says how.
pub(super) fn confirmed(fields: &Fields) -> Result<(), ApiError> {
    if fields.get("confirm") == "yes" {
        Ok(())
    } else {
        Err(ApiError::bad_request("tick the box to confirm the deletion"))
    }
}

/// `at` as a `datetime-local` value in `time_zone`.
pub(super) fn local_input(at: Timestamp, time_zone: &TimeZone) -> String {
    jiff::fmt::strtime::format(LOCAL_TIME_FORMAT, &at.to_zoned(time_zone.clone())).unwrap_or_default()
}

/// The instant a `datetime-local` value (or an RFC 3339 instant) stands for in `time_zone`.
pub(super) fn parse_local(what: &str, text: &str, time_zone: &TimeZone) -> Result<Timestamp, ApiError> {
    let text = text.trim();
    if let Ok(at) = text.parse::<Timestamp>() {
        return Ok(at);
    }
    text.parse::<jiff::civil::DateTime>()
        .ok()
        .and_then(|local| local.to_zoned(time_zone.clone()).ok())
        .map(|zoned| zoned.timestamp())
        .ok_or_else(|| ApiError::invalid(format!("{what} must be a date and time such as 2026-03-02T09:00")))
}

/// A whole number typed into `what`.
pub(super) fn parse_number<T: std::str::FromStr>(what: &str, text: &str) -> Result<T, ApiError> {
    text.trim().parse().map_err(|_| ApiError::invalid(format!("{what} must be a whole number")))
}

/// The id in a select's value.
pub(super) fn parse_id(what: &str, text: &str) -> Result<Id, ApiError> {
    text.trim().parse().map_err(|_| ApiError::invalid(format!("choose {what}")))
}

/// People, services or teams typed as a comma-separated list of names (or ids).
pub(super) fn refs(text: &str) -> Vec<Ref> {
    text.split(',').map(str::trim).filter(|name| !name.is_empty()).map(Ref::parse).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Fields {
        Fields(pairs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect())
    }

    #[test]
    fn fields_are_read_by_name_in_order() {
        let form = fields(&[("a", " x "), ("b", "1"), ("b", "2"), ("c", "")]);
        assert_eq!(form.get("a"), " x ");
        assert_eq!(form.get("missing"), "");
        assert_eq!(form.all("b"), ["1", "2"]);
        assert!(form.has("c") && !form.has("d"));
    }

    #[test]
    fn local_times_are_read_in_the_time_zone_given() {
        let lisbon = TimeZone::get("Europe/Lisbon").unwrap();
        let at = parse_local("start", "2026-07-01T09:00", &lisbon).unwrap();
        assert_eq!(at.to_string(), "2026-07-01T08:00:00Z");
        assert_eq!(local_input(at, &lisbon), "2026-07-01T09:00");
        let exact = parse_local("start", "2026-07-01T09:00:00Z", &lisbon).unwrap();
        assert_eq!(exact.to_string(), "2026-07-01T09:00:00Z");
        let err = parse_local("start", "tomorrow", &lisbon).unwrap_err();
        assert_eq!(
            (err.status, err.detail.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "start must be a date and time such as 2026-03-02T09:00")
        );
    }

    #[test]
    fn lists_of_names_are_split_on_commas() {
        assert_eq!(refs(" Ana, Bo ,,3"), [Ref::Name("Ana".into()), Ref::Name("Bo".into()), Ref::Id(3)]);
        assert!(refs("  ").is_empty());
    }
}
