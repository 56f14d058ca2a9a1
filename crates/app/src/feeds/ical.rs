//! iCalendar (RFC 5545) feeds of on-call shifts, for people to subscribe to in their calendar.
//!
//! This is a rendering of shifts that `domain::Schedule::shifts` already decided: the feeds'
//! format, so it lives with them and not in the domain. Its rules are easy to get subtly wrong (TEXT
//! escaping, CRLF line endings, folding at 75 octets without splitting a UTF-8 character), so it is
//! pure text with tests of its own. It only writes calendars; it never reads them.
//!
//! Events carry a UID made of the schedule, the user and the start of the shift, so that a
//! calendar application refreshing the feed updates an event in place (a shift that grows or
//! shrinks keeps its UID) instead of duplicating it. The same shift gets the same event in a
//! schedule's feed and in its user's feed. Instants are written in UTC and at whole seconds;
//! calendar applications show them in their own time zone.

use jiff::Timestamp;
use jiff::tz::TimeZone;

use firebreak_domain::{Id, Shift};

/// The PRODID of every calendar: who produced it, in the form RFC 5545 suggests.
pub(super) const PRODID: &str = "-//firebreak//on-call//EN";
/// Whole days before today (in UTC) that a feed still shows, so the recent past stays visible.
pub(super) const FEED_PAST_DAYS: i64 = 7;
/// Whole days after today (in UTC) that a feed shows.
pub(super) const FEED_FUTURE_DAYS: i64 = 90;
/// How often calendar applications are asked to fetch a feed again.
pub(super) const FEED_REFRESH_MINUTES: i64 = 60;
/// Longest line of a calendar in octets, without its CRLF (RFC 5545 section 3.1).
const LINE_OCTETS_MAX: usize = 75;
const SECONDS_PER_DAY: i64 = 24 * 60 * 60;

/// One VEVENT.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Event {
    /// Stays the same across fetches for the same shift.
    pub(super) uid: String,
    pub(super) summary: String,
    pub(super) description: String,
    /// Included; written at whole seconds.
    pub(super) start: Timestamp,
    /// Excluded; written at whole seconds.
    pub(super) end: Timestamp,
}

impl Event {
    /// The event of `shift`, which belongs to schedule `schedule_id` named `schedule_name`, whose
    /// hand-offs are read in `time_zone`. The description repeats the times in that zone because
    /// hand-offs are agreed in it, whatever zone the reader's calendar is in.
    pub(super) fn on_call(
        schedule_id: Id,
        schedule_name: &str,
        time_zone: &TimeZone,
        user_name: &str,
        shift: &Shift,
    ) -> Event {
        let zone_name = time_zone.iana_name().unwrap_or("UTC");
        Event {
            uid: format!("{schedule_id}-{}-{}@firebreak", shift.user, shift.start.as_second()),
            summary: format!("On call: {user_name} ({schedule_name})"),
            description: format!(
                "{user_name} is on call for schedule {schedule_name} from {} to {} ({zone_name}).",
                local(shift.start, time_zone),
                local(shift.end, time_zone),
            ),
            start: shift.start,
            end: shift.end,
        }
    }
}

/// The instants a feed generated at `now` covers, from (included) and to (excluded): from
/// midnight UTC [`FEED_PAST_DAYS`] days before today to the end of the [`FEED_FUTURE_DAYS`]th day
/// after today.
///
/// The window moves a whole day at a time, not with every request: the shifts cut at its edges
/// then keep their start, and so their UID, for a day instead of a few minutes, and two fetches
/// on the same day give the same events. Never panics; near the ends of the representable range
/// the window is clamped.
pub(super) fn feed_window(now: Timestamp) -> (Timestamp, Timestamp) {
    let today = now.as_second().div_euclid(SECONDS_PER_DAY) * SECONDS_PER_DAY;
    let from = today.saturating_sub(FEED_PAST_DAYS * SECONDS_PER_DAY);
    let to = today.saturating_add((FEED_FUTURE_DAYS + 1) * SECONDS_PER_DAY);
    (at_second(from), at_second(to))
}

/// A complete VCALENDAR named `name` holding `events`, generated at `now`, with CRLF line endings
/// and folded lines, ready to serve as `text/calendar`.
pub(super) fn calendar(name: &str, events: &[Event], now: Timestamp) -> String {
    let mut out = String::with_capacity(256 + events.len() * 400);
    line(&mut out, "BEGIN:VCALENDAR");
    line(&mut out, &format!("PRODID:{PRODID}"));
    line(&mut out, "VERSION:2.0");
    line(&mut out, "CALSCALE:GREGORIAN");
    line(&mut out, "METHOD:PUBLISH");
    line(&mut out, &format!("X-WR-CALNAME:{}", escape(name)));
    // RFC 7986's property and the older one that some applications still read instead.
    line(&mut out, &format!("REFRESH-INTERVAL;VALUE=DURATION:PT{FEED_REFRESH_MINUTES}M"));
    line(&mut out, &format!("X-PUBLISHED-TTL:PT{FEED_REFRESH_MINUTES}M"));
    let stamp = utc(now);
    for event in events {
        line(&mut out, "BEGIN:VEVENT");
        line(&mut out, &format!("UID:{}", escape(&event.uid)));
        line(&mut out, &format!("DTSTAMP:{stamp}"));
        line(&mut out, &format!("DTSTART:{}", utc(event.start)));
        line(&mut out, &format!("DTEND:{}", utc(event.end)));
        line(&mut out, &format!("SUMMARY:{}", escape(&event.summary)));
        line(&mut out, &format!("DESCRIPTION:{}", escape(&event.description)));
        // Being on call is not being busy: a week-long shift must not block the whole week.
        line(&mut out, "TRANSP:TRANSPARENT");
        line(&mut out, "END:VEVENT");
    }
    line(&mut out, "END:VCALENDAR");
    out
}

/// `text` as an RFC 5545 TEXT value: backslashes, semicolons and commas escaped, every kind of line
/// break written as `\n`, and other control characters (which TEXT does not allow) dropped.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {
                chars.next_if_eq(&'\n');
                out.push_str("\\n");
            }
            '\t' => out.push('\t'),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends `content` to `out` as one content line: folded so that no physical line exceeds
/// [`LINE_OCTETS_MAX`] octets, each continuation starting with a space, and cut only between
/// characters so every physical line is valid UTF-8 on its own.
fn line(out: &mut String, content: &str) {
    let mut rest = content;
    // The space that starts a continuation line counts towards its length.
    let mut octets_max = LINE_OCTETS_MAX;
    while rest.len() > octets_max {
        let mut cut = octets_max;
        // A character is at most 4 octets, so this stops well before 0.
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        out.push_str(&rest[..cut]);
        out.push_str("\r\n ");
        rest = &rest[cut..];
        octets_max = LINE_OCTETS_MAX - 1;
    }
    out.push_str(rest);
    out.push_str("\r\n");
}

/// `at` as a UTC DATE-TIME such as `20260323T080000Z`, at whole seconds.
fn utc(at: Timestamp) -> String {
    let time = TimeZone::UTC.to_datetime(at);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        time.year(),
        time.month(),
        time.day(),
        time.hour(),
        time.minute(),
        time.second()
    )
}

/// `at` as a person reads it in `time_zone`, such as `Mon 2026-03-23 09:00 CET`.
fn local(at: Timestamp, time_zone: &TimeZone) -> String {
    jiff::fmt::strtime::format("%a %Y-%m-%d %H:%M %Z", &at.to_zoned(time_zone.clone()))
        .unwrap_or_else(|_| at.to_string())
}

fn at_second(second: i64) -> Timestamp {
    let second = second.clamp(Timestamp::MIN.as_second(), Timestamp::MAX.as_second());
    Timestamp::from_second(second).expect("a second clamped to the range of timestamps is one")
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;

    fn instant(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    /// Renders `events` in a calendar named `name` and shows it with its line endings visible.
    fn check(name: &str, events: &[Event], expected: Expect) {
        let text = calendar(name, events, instant("2026-03-20T10:11:12.5Z"));
        for physical in text.split_terminator("\r\n") {
            assert!(physical.len() <= LINE_OCTETS_MAX, "{physical:?} is {} octets", physical.len());
            assert!(!physical.contains(['\r', '\n']), "{physical:?} has a bare line break");
        }
        assert!(text.ends_with("\r\n"));
        expected.assert_eq(&text.replace("\r\n", "⏎\n"));
    }

    /// Unfolds a calendar the way a parser does: a CRLF followed by a space disappears.
    fn unfold(text: &str) -> String {
        text.replace("\r\n ", "")
    }

    fn berlin() -> TimeZone {
        TimeZone::get("Europe/Berlin").unwrap()
    }

    #[test]
    fn shift_across_dst_change() {
        let shift =
            Shift { user: 2, start: instant("2026-03-23T08:00:00Z"), end: instant("2026-03-30T07:00:00Z") };
        let event = Event::on_call(7, "Primary", &berlin(), "Ana", &shift);
        check(
            "On call: Primary",
            &[event],
            expect![[r#"
                BEGIN:VCALENDAR⏎
                PRODID:-//firebreak//on-call//EN⏎
                VERSION:2.0⏎
                CALSCALE:GREGORIAN⏎
                METHOD:PUBLISH⏎
                X-WR-CALNAME:On call: Primary⏎
                REFRESH-INTERVAL;VALUE=DURATION:PT60M⏎
                X-PUBLISHED-TTL:PT60M⏎
                BEGIN:VEVENT⏎
                UID:7-2-1774252800@firebreak⏎
                DTSTAMP:20260320T101112Z⏎
                DTSTART:20260323T080000Z⏎
                DTEND:20260330T070000Z⏎
                SUMMARY:On call: Ana (Primary)⏎
                DESCRIPTION:Ana is on call for schedule Primary from Mon 2026-03-23 09:00 C⏎
                 ET to Mon 2026-03-30 09:00 CEST (Europe/Berlin).⏎
                TRANSP:TRANSPARENT⏎
                END:VEVENT⏎
                END:VCALENDAR⏎
            "#]],
        );
    }

    #[test]
    fn empty_calendar() {
        check(
            "",
            &[],
            expect![[r#"
                BEGIN:VCALENDAR⏎
                PRODID:-//firebreak//on-call//EN⏎
                VERSION:2.0⏎
                CALSCALE:GREGORIAN⏎
                METHOD:PUBLISH⏎
                X-WR-CALNAME:⏎
                REFRESH-INTERVAL;VALUE=DURATION:PT60M⏎
                X-PUBLISHED-TTL:PT60M⏎
                END:VCALENDAR⏎
            "#]],
        );
    }

    #[test]
    fn escapes_text() {
        let cases = [
            ("plain", "plain"),
            ("a;b,c", "a\\;b\\,c"),
            ("back\\slash", "back\\\\slash"),
            ("one\ntwo\r\nthree\rfour", "one\\ntwo\\nthree\\nfour"),
            ("tab\there", "tab\there"),
            ("bell\u{7}del\u{7f}nul\0", "belldelnul"),
            ("\\n is not a newline", "\\\\n is not a newline"),
            ("Zoë 🚒", "Zoë 🚒"),
        ];
        for (text, expected) in cases {
            assert_eq!(escape(text), expected, "{text:?}");
        }
    }

    #[test]
    fn escapes_names_in_events() {
        let shift =
            Shift { user: 1, start: instant("2026-01-01T00:00:00Z"), end: instant("2026-01-02T00:00:00Z") };
        let event = Event::on_call(3, "db; primary, EU", &TimeZone::UTC, "O'Brien, Pat", &shift);
        let text = unfold(&calendar("a,b;c\\d\ne", &[event], instant("2026-01-01T00:00:00Z")));
        assert!(text.contains("\r\nX-WR-CALNAME:a\\,b\\;c\\\\d\\ne\r\n"), "{text}");
        assert!(text.contains("\r\nSUMMARY:On call: O'Brien\\, Pat (db\\; primary\\, EU)\r\n"), "{text}");
        assert!(
            text.contains("from Thu 2026-01-01 00:00 UTC to Fri 2026-01-02 00:00 UTC (UTC).\r\n"),
            "{text}"
        );
    }

    #[test]
    fn folds_long_multibyte_lines_between_characters() {
        // Two-, three- and four-octet characters, so a cut at octet 75 or 74 lands inside one of
        // them for some of these names.
        for name in ["Łukasz Żółć-Świętochowski".repeat(6), "東京の当番表".repeat(20), "🚒🔥".repeat(40)]
        {
            let shift = Shift {
                user: 9,
                start: instant("2026-06-01T00:00:00Z"),
                end: instant("2026-06-02T00:00:00Z"),
            };
            let event = Event::on_call(1, &name, &TimeZone::UTC, &name, &shift);
            let text = calendar(&name, &[event], instant("2026-06-01T00:00:00Z"));
            let physical: Vec<&str> = text.split_terminator("\r\n").collect();
            for line in &physical {
                assert!(line.len() <= LINE_OCTETS_MAX, "{line:?} is {} octets", line.len());
            }
            assert!(physical.iter().any(|line| line.len() < LINE_OCTETS_MAX - 3 && line.starts_with(' ')));
            let unfolded = unfold(&text);
            assert!(unfolded.contains(&format!("\r\nX-WR-CALNAME:{name}\r\n")));
            assert!(unfolded.contains(&format!("\r\nSUMMARY:On call: {name} ({name})\r\n")));
        }
    }

    #[test]
    fn folds_at_exactly_75_octets() {
        let mut out = String::new();
        line(&mut out, &"a".repeat(75));
        assert_eq!(out, format!("{}\r\n", "a".repeat(75)));
        out.clear();
        line(&mut out, &"a".repeat(76));
        assert_eq!(out, format!("{}\r\n a\r\n", "a".repeat(75)));
        out.clear();
        line(&mut out, &"a".repeat(75 + 74 + 1));
        assert_eq!(out, format!("{}\r\n {}\r\n a\r\n", "a".repeat(75), "a".repeat(74)));
        out.clear();
        // "é" is two octets: octet 75 would split the 38th one, so the first line ends at 74.
        line(&mut out, &format!("x{}", "é".repeat(40)));
        assert_eq!(out, format!("x{}\r\n {}\r\n", "é".repeat(37), "é".repeat(3)));
    }

    #[test]
    fn uid_is_stable_and_ignores_the_end() {
        let shift =
            Shift { user: 4, start: instant("2026-03-23T08:00:00Z"), end: instant("2026-03-30T07:00:00Z") };
        let shorter = Shift { end: instant("2026-03-25T00:00:00Z"), ..shift };
        let uid = |shift: &Shift| Event::on_call(5, "Primary", &berlin(), "Ana", shift).uid;
        assert_eq!(uid(&shift), "5-4-1774252800@firebreak");
        assert_eq!(uid(&shift), uid(&shorter));
    }

    #[test]
    fn writes_whole_seconds_in_utc() {
        assert_eq!(utc(instant("2026-10-25T00:59:59.999Z")), "20261025T005959Z");
        assert_eq!(utc(instant("2026-10-25T03:00:00+02:00")), "20261025T010000Z");
        assert_eq!(utc(instant("0999-01-02T03:04:05Z")), "09990102T030405Z");
    }

    #[test]
    fn window_moves_by_whole_days() {
        let window = |now: &str| {
            let (from, to) = feed_window(instant(now));
            format!("{from} {to}")
        };
        assert_eq!(window("2026-11-23T23:12:20Z"), "2026-11-16T00:00:00Z 2027-02-22T00:00:00Z");
        assert_eq!(window("2026-11-23T00:00:00Z"), window("2026-11-23T23:59:59.999Z"));
        assert_eq!(window("1969-12-31T12:00:00Z"), "1969-12-24T00:00:00Z 1970-04-01T00:00:00Z");
        let (from, to) = feed_window(Timestamp::MAX);
        assert!(from < to && to == Timestamp::from_second(Timestamp::MAX.as_second()).unwrap());
        let (from, _) = feed_window(Timestamp::MIN);
        assert_eq!(from, Timestamp::from_second(Timestamp::MIN.as_second()).unwrap());
    }
}
