//! How the pages write times, ages, durations, schedule rules and links to services.

use firebreak_domain::{self as domain, Id};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use maud::{Markup, Render, html};

use super::page::Catalog;

/// `at` in UTC, to the second.
pub(super) fn format_time(at: Timestamp) -> String {
    at.strftime("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// `at` as the wall-clock time in `time_zone`, formatted with `format` (strftime).
pub(super) fn local_time(at: Timestamp, time_zone: &TimeZone, format: &str) -> String {
    jiff::fmt::strtime::format(format, &at.to_zoned(time_zone.clone())).unwrap_or_else(|_| format_time(at))
}

/// How long ago `then` was, roughly.
pub(super) fn age(now: Timestamp, then: Timestamp) -> String {
    let secs = now.as_second().saturating_sub(then.as_second()).max(0);
    match secs {
        0..60 => format!("{secs}s ago"),
        60..3600 => format!("{}m ago", secs / 60),
        3600..86400 => format!("{}h {}m ago", secs / 3600, secs % 3600 / 60),
        _ => format!("{}d ago", secs / 86400),
    }
}

/// How long until `then`, roughly.
pub(super) fn time_until(now: Timestamp, then: Timestamp) -> String {
    let secs = then.as_second().saturating_sub(now.as_second()).max(0);
    match secs {
        0..60 => "in under a minute".to_owned(),
        60..3600 => format!("in {}m", secs / 60),
        3600..86400 => format!("in {}h {}m", secs / 3600, secs % 3600 / 60),
        _ => format!("in {}d {}h", secs / 86400, secs % 86400 / 3600),
    }
}

pub(super) fn minutes_text(minutes: i64) -> String {
    match (minutes / 60, minutes % 60) {
        (0, minutes) => format!("{minutes} min"),
        (hours, 0) => format!("{hours} h"),
        (hours, minutes) => format!("{hours} h {minutes} min"),
    }
}

pub(super) fn shift_text(shift: domain::ShiftLength) -> String {
    let (count, unit) = match shift {
        domain::ShiftLength::Hours(n) => (n, "hour"),
        domain::ShiftLength::Days(n) => (n, "day"),
        domain::ShiftLength::Weeks(n) => (n, "week"),
    };
    if count == 1 { format!("1 {unit}") } else { format!("{count} {unit}s") }
}

pub(super) fn restriction_text(restriction: &domain::Restriction) -> String {
    let time = |time: jiff::civil::Time| format!("{:02}:{:02}", time.hour(), time.minute());
    let day = |day: Option<jiff::civil::Weekday>| {
        use jiff::civil::Weekday::*;
        match day {
            Some(Monday) => "Mon ",
            Some(Tuesday) => "Tue ",
            Some(Wednesday) => "Wed ",
            Some(Thursday) => "Thu ",
            Some(Friday) => "Fri ",
            Some(Saturday) => "Sat ",
            Some(Sunday) => "Sun ",
            None => "",
        }
    };
    match restriction.kind {
        domain::RestrictionKind::Daily => {
            format!("daily {}–{}", time(restriction.start_time), time(restriction.end_time))
        }
        // A window within one day reads best without repeating the day.
        domain::RestrictionKind::Weekly
            if restriction.start_day == restriction.end_day
                && restriction.start_time < restriction.end_time =>
        {
            format!(
                "{}{}–{}",
                day(restriction.start_day),
                time(restriction.start_time),
                time(restriction.end_time)
            )
        }
        domain::RestrictionKind::Weekly => format!(
            "{}{}–{}{}",
            day(restriction.start_day),
            time(restriction.start_time),
            day(restriction.end_day),
            time(restriction.end_time)
        ),
    }
}

/// `items` one after the other, with `separator` between each two.
pub(super) fn join<T: Render>(items: impl IntoIterator<Item = T>, separator: impl Render) -> Markup {
    let separator = separator.render();
    html! {
        @for (index, item) in items.into_iter().enumerate() {
            @if index > 0 { (separator) }
            (item)
        }
    }
}

/// The head of a table: one header cell per name.
pub(super) fn table_head(names: &[&str]) -> Markup {
    html! {
        thead {
            tr {
                @for name in names {
                    th { (name) }
                }
            }
        }
    }
}

/// A person's name in bold, as the on-call pages show people.
pub(super) fn person(name: &str) -> Markup {
    html! { b { (name) } }
}

/// What stands where a list is empty, or nobody would be paged.
pub(super) fn muted(text: &str) -> Markup {
    html! { span.muted { (text) } }
}

/// A link to the page of service `id`, named as the catalog names it.
pub(super) fn service_link(catalog: &Catalog, id: Id) -> Markup {
    html! { a href={ "/services/" (id) } { (catalog.service_name(id)) } }
}

/// Links to `ids`, separated by commas, or a dash when there are none.
pub(super) fn service_links(catalog: &Catalog, ids: &[Id]) -> Markup {
    if ids.is_empty() {
        return html! { "—" };
    }
    join(ids.iter().map(|id| service_link(catalog, *id)), ", ")
}

/// Links to `services`, sorted by name.
pub(super) fn sorted_service_links(catalog: &Catalog, mut services: Vec<Id>) -> Markup {
    services.sort_by_key(|id| catalog.service_name(*id));
    service_links(catalog, &services)
}
