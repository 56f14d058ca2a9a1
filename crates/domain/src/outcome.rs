//! Expected outcomes: rules that raise an alert when something that should happen does not, the
//! failures no error log shows. Business systems post events (`payment_captured`,
//! `payout_requested` with a key, ...) and a rule says what ought to be seen:
//!
//! - [`OutcomeRule::AtLeast`]: `at least 10 payment_captured per 1h between 08:00 and 20:00 on weekdays in Europe/Berlin`
//! - [`OutcomeRule::Ratio`]: `payout_settled >= 95% of payout_requested within 30m over 1h`
//! - [`OutcomeRule::Absent`]: `no invoice_sent for 26h`
//!
//! [`OutcomeRule::evaluate`] judges a rule at one instant from the events of its
//! [`OutcomeRule::lookback`]; the caller evaluates about once a minute and sends a breach down the
//! alert path. Active hours read local wall-clock time as schedules do: a time inside a DST gap
//! moves forward by the gap's length and a time inside a fold takes its earlier instant (jiff's
//! compatible disambiguation), and windows are compared as instants, so a 1h window is one real
//! hour on the days the clocks change too.

use std::fmt;

use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use crate::{time_text, weekday_name};

/// Longest event name: room for namespaces such as `billing.payment_captured`, short enough to index.
pub const EVENT_NAME_CHARS_MAX: usize = 100;
/// Longest rule sentence: a rule is one line, and this bounds the work of parsing outside text.
pub const OUTCOME_RULE_CHARS_MAX: usize = 1000;
/// Shortest duration in a rule: rules are evaluated about once a minute, so less would judge fragments.
pub const OUTCOME_DURATION_MIN: SignedDuration = SignedDuration::from_mins(1);
/// Longest window, `within` and `over` of at-least and ratio rules: bounds the events one evaluation reads.
pub const OUTCOME_DURATION_MAX: SignedDuration = SignedDuration::from_hours(7 * 24);
/// Longest duration of an absent rule: a monthly job with days of slack; judging it needs one event.
pub const ABSENT_DURATION_MAX: SignedDuration = SignedDuration::from_hours(35 * 24);
/// Highest minimum count of an at-least rule: more per window is a metric's job, not an outcome's.
pub const AT_LEAST_COUNT_MAX: u32 = 1_000_000;
/// The span over which a ratio rule judges requests when its sentence leaves out `over`.
pub const RATIO_WINDOW_DEFAULT: SignedDuration = SignedDuration::from_hours(1);

/// What ought to be seen of some events, in one of three shapes. Build one with [`OutcomeRule::parse`]
/// or by hand and check it with [`OutcomeRule::validate`]; the methods never panic on an unchecked rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutcomeRule {
    /// At least `count_min` of `event` in the `window` ending now, judged only while that whole
    /// window lies inside `active` hours (always, when `None`).
    AtLeast { event: String, count_min: u32, window: SignedDuration, active: Option<ActiveHours> },
    /// At least `percent_hundredths` (1 to 10 000, hundredths of a percent) of the `follows` events
    /// are followed by `event` within `within`, judged over the `follows` events of the `window` (the
    /// sentence's `over`) that ended `within` ago, which have all had their full time. A keyed one is
    /// followed by `event`s of its key at or after it and at most `within` later, each settling one
    /// (an event's `count` counts as that many); unkeyed ones by as many unkeyed `event`s in the
    /// `window` ending now, the judged window moved on by `within`.
    Ratio {
        event: String,
        follows: String,
        percent_hundredths: u32,
        within: SignedDuration,
        window: SignedDuration,
    },
    /// At least one `event` in the `window` (the sentence's `for`) ending now.
    Absent { event: String, window: SignedDuration },
}

/// When an at-least rule is judged: local times on some days of the week, in an IANA time zone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActiveHours {
    /// From (included) and to (included) in local time, starting on an active day; a `to` at or
    /// before `from` ends on the next day. `None` means whole days, and consecutive active days join.
    pub between: Option<(Time, Time)>,
    /// The days on which a stretch of active hours starts.
    pub days: DaysOfWeek,
    /// The IANA time zone in which times and days are read.
    pub time_zone: TimeZone,
}

/// A set of days of the week, kept as one bit per day from Monday.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DaysOfWeek(u8);

/// One event a business system posted, as evaluation needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutcomeEvent {
    /// The event's name, such as `payment_captured`.
    pub event: String,
    /// When it happened, as its sender said.
    pub at: Timestamp,
    /// How many identical events this one stands for, at least 1.
    pub count: u32,
    /// What ties a ratio rule's events together, such as a payout id.
    pub key: Option<String>,
}

/// What a rule makes of its events at one instant. `expected` and `seen` are short sentences for an
/// alert's summary. `Quiet` means not judged now: outside active hours, too soon after the rule was
/// made, or nothing to judge. The caller resolves any open breach of the rule on `Quiet` as on
/// `Met`, so an alert does not stay open through hours in which the rule expects nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Met { seen: String },
    Breached { expected: String, seen: String },
    Quiet { why: String },
}

/// Why a rule or its sentence was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutcomeRuleError {
    /// A field is malformed or out of range.
    Field { field: &'static str, problem: String },
    /// The sentence departs from the grammar at word `word` (counted from 1; `,`, `%` and `>=` are
    /// words of their own), where `expected` was expected and `found` found (`None` at the end).
    Sentence { word: usize, expected: String, found: Option<String> },
}

impl OutcomeRule {
    /// Reads a rule sentence, in any case, with words separated by any whitespace:
    ///
    /// ```text
    /// at-least = "at least" COUNT EVENT "per" DURATION ["between" TIME "and" TIME] ["on" DAYS] ["in" ZONE]
    /// ratio    = EVENT ">=" PERCENT "%" "of" EVENT "within" DURATION ["over" DURATION]   (default over 1h)
    /// absent   = "no" EVENT "for" DURATION
    /// DURATION = numbers with units d, h, m, s, largest first: 30s, 1h30m, 26h, 2d
    /// DAYS     = "weekdays" | "weekends" | "every day" | DAY {"," DAY}       (mon or monday, ...)
    /// TIME     = HH:MM or HH:MM:SS;  ZONE = an IANA name (default UTC);  PERCENT = 95, 99.9, 99.95
    /// ```
    ///
    /// Event names are lowercased. An at-least rule with any of `between`, `on` or `in` has active
    /// hours, whole days when `between` is left out. Fails naming the word where the grammar was
    /// left or the field that is out of range; what [`fmt::Display`] prints reads back as the same rule.
    pub fn parse(text: &str) -> Result<OutcomeRule, OutcomeRuleError> {
        let length = text.chars().count();
        if length > OUTCOME_RULE_CHARS_MAX {
            return Err(field("rule", format!("is {length} characters, more than {OUTCOME_RULE_CHARS_MAX}")));
        }
        let mut words = Words::new(text);
        // "at" and "no" followed by ">=" are events of a ratio rule.
        let ratio = words.is(1, ">=");
        let rule = if !ratio && words.eat("at") {
            words.at_least()?
        } else if !ratio && words.eat("no") {
            words.absent()?
        } else {
            words.ratio()?
        };
        if words.next < words.words.len() {
            return Err(words.expected("the end of the rule"));
        }
        rule.validate()?;
        Ok(rule)
    }

    /// Checks every field against its limits, failing with the first bad field.
    pub fn validate(&self) -> Result<(), OutcomeRuleError> {
        match self {
            OutcomeRule::AtLeast { event, count_min, window, active } => {
                check_event("event", event)?;
                if !(1..=AT_LEAST_COUNT_MAX).contains(count_min) {
                    return Err(field(
                        "count_min",
                        format!("must be from 1 to {AT_LEAST_COUNT_MAX}, not {count_min}"),
                    ));
                }
                check_duration("window", *window, OUTCOME_DURATION_MAX)?;
                active.as_ref().map_or(Ok(()), ActiveHours::validate)
            }
            OutcomeRule::Ratio { event, follows, percent_hundredths, within, window } => {
                check_event("event", event)?;
                check_event("follows", follows)?;
                if event == follows {
                    return Err(field("follows", format!("is {event} itself; name the event it follows")));
                }
                if !(1..=10_000).contains(percent_hundredths) {
                    let percent = percent_text(u128::from(*percent_hundredths));
                    return Err(field(
                        "percent_hundredths",
                        format!("must be above 0% and at most 100%, not {percent}%"),
                    ));
                }
                check_duration("within", *within, OUTCOME_DURATION_MAX)?;
                check_duration("window", *window, OUTCOME_DURATION_MAX)
            }
            OutcomeRule::Absent { event, window } => {
                check_event("event", event)?;
                check_duration("window", *window, ABSENT_DURATION_MAX)
            }
        }
    }

    /// The names of the events the rule reads.
    pub fn events(&self) -> Vec<&str> {
        match self {
            OutcomeRule::AtLeast { event, .. } | OutcomeRule::Absent { event, .. } => vec![event],
            OutcomeRule::Ratio { event, follows, .. } => vec![follows, event],
        }
    }

    /// The times of the events evaluation at `now` needs: after the first (excluded) and up to the
    /// second (included). For a ratio rule it spans `within` and `window`. An absent rule needs only
    /// one event of it, and an earlier event passed as well lets its sentence say since when.
    pub fn lookback(&self, now: Timestamp) -> (Timestamp, Timestamp) {
        let span = match self {
            OutcomeRule::AtLeast { window, .. } | OutcomeRule::Absent { window, .. } => *window,
            OutcomeRule::Ratio { within, window, .. } => within.saturating_add(*window),
        };
        (minus(now, span), now)
    }

    /// Judges the rule at `now`, for a rule made at `created_at`, from `events` of its
    /// [`OutcomeRule::lookback`]; events of other names or times are ignored. A rule is judged only
    /// once its whole lookback lies after `created_at`, so a new rule does not breach on the silence
    /// from before it existed.
    pub fn evaluate(&self, created_at: Timestamp, events: &[OutcomeEvent], now: Timestamp) -> Verdict {
        let (from, _) = self.lookback(now);
        if created_at > from {
            let judged_from = created_at.saturating_add(now.duration_since(from)).expect(ADDS);
            let why = format!(
                "too new: judged from {}, {} after the rule was made",
                utc_text(judged_from),
                duration_text(now.duration_since(from))
            );
            return Verdict::Quiet { why };
        }
        let named = |name: &str, after: Timestamp, until: Timestamp| -> Vec<&OutcomeEvent> {
            events.iter().filter(|seen| seen.event == name && after < seen.at && seen.at <= until).collect()
        };
        let expected = self.expected();
        match self {
            OutcomeRule::AtLeast { event, count_min, window, active } => {
                let time_zone = active.as_ref().map_or(TimeZone::UTC, |active| active.time_zone.clone());
                let span = if *window == SignedDuration::from_hours(1) {
                    "the hour".to_owned()
                } else {
                    format!("the {}", duration_text(*window))
                };
                let to = time_text(now.to_zoned(time_zone.clone()).time());
                if let Some(active) = active.as_ref().filter(|active| !active.covers(from, now)) {
                    return Verdict::Quiet {
                        why: format!(
                            "{span} to {to} is not wholly within the active hours ({})",
                            active.summary()
                        ),
                    };
                }
                let count: u64 = named(event, from, now).iter().map(|seen| u64::from(seen.count)).sum();
                let seen = format!("{count} in {span} to {to} {}", zone_name(&time_zone));
                if count < u64::from(*count_min) {
                    Verdict::Breached { expected, seen }
                } else {
                    Verdict::Met { seen }
                }
            }
            OutcomeRule::Ratio { event, follows, percent_hundredths, within, window } => {
                let until = minus(now, *within);
                let requests = named(follows, from, until);
                let requested: u64 = requests.iter().map(|seen| u64::from(seen.count)).sum();
                if requested == 0 {
                    return Verdict::Quiet {
                        why: format!("no {follows} from {} to {} to judge", utc_text(from), utc_text(until)),
                    };
                }
                let settled = settled(&requests, &named(event, from, now), *within, minus(now, *window));
                // Wide enough for any count of any number of events.
                let (settled, requested) = (u128::from(settled), u128::from(requested));
                let percent = percent_text(settled * 10_000 / requested);
                let seen = format!(
                    "{settled} of {requested} {follows} followed by {event} within {} ({percent}%)",
                    duration_text(*within)
                );
                if settled * 10_000 < u128::from(*percent_hundredths) * requested {
                    Verdict::Breached { expected, seen }
                } else {
                    Verdict::Met { seen }
                }
            }
            OutcomeRule::Absent { event, window } => {
                match events
                    .iter()
                    .filter(|seen| seen.event == *event && seen.at <= now)
                    .map(|seen| seen.at)
                    .max()
                {
                    Some(at) if at > from => Verdict::Met { seen: format!("last at {}", utc_text(at)) },
                    Some(at) => Verdict::Breached { expected, seen: format!("none since {}", utc_text(at)) },
                    None => Verdict::Breached {
                        expected,
                        seen: format!("none in the last {}", duration_text(*window)),
                    },
                }
            }
        }
    }

    /// What the rule expects, as a breach's summary says it: `at least 10 payment_captured per 1h
    /// (08:00–20:00 weekdays, Europe/Berlin)`.
    pub fn expected(&self) -> String {
        match self {
            OutcomeRule::AtLeast { event, count_min, window, active } => {
                let hours =
                    active.as_ref().map(|active| format!(" ({})", active.summary())).unwrap_or_default();
                format!("at least {count_min} {event} per {}{hours}", duration_text(*window))
            }
            OutcomeRule::Ratio { event, follows, percent_hundredths, within, .. } => format!(
                "at least {}% of {follows} followed by {event} within {}",
                percent_text(u128::from(*percent_hundredths)),
                duration_text(*within)
            ),
            OutcomeRule::Absent { event, window } => {
                format!("{event} at least once every {}", duration_text(*window))
            }
        }
    }
}

impl fmt::Display for OutcomeRule {
    /// The rule's sentence, as [`OutcomeRule::parse`] reads it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OutcomeRule::AtLeast { event, count_min, window, active } => {
                write!(f, "at least {count_min} {event} per {}", duration_text(*window))?;
                active.as_ref().map_or(Ok(()), |active| write!(f, " {active}"))
            }
            OutcomeRule::Ratio { event, follows, percent_hundredths, within, window } => write!(
                f,
                "{event} >= {}% of {follows} within {} over {}",
                percent_text(u128::from(*percent_hundredths)),
                duration_text(*within),
                duration_text(*window)
            ),
            OutcomeRule::Absent { event, window } => write!(f, "no {event} for {}", duration_text(*window)),
        }
    }
}

impl ActiveHours {
    /// Checks that `between` is two different whole-second times, some day is named, and the
    /// zone has an IANA name (so the rule's sentence can name it).
    pub fn validate(&self) -> Result<(), OutcomeRuleError> {
        if let Some((from, to)) = self.between {
            if from == to {
                return Err(field(
                    "between",
                    format!("starts and ends at {}; leave out between for whole days", time_text(from)),
                ));
            }
            if from.subsec_nanosecond() != 0 || to.subsec_nanosecond() != 0 {
                return Err(field("between", "times are whole seconds"));
            }
        }
        if self.days.is_empty() {
            return Err(field("days", "names no day"));
        }
        if self.time_zone.iana_name().is_none() {
            return Err(field("time_zone", "is not an IANA time zone such as Europe/Berlin"));
        }
        Ok(())
    }

    /// Whether the window after `start` up to `now` lies inside one stretch of active hours.
    fn covers(&self, start: Timestamp, now: Timestamp) -> bool {
        let date = start.to_zoned(self.time_zone.clone()).date();
        // A stretch that contains `start` begins on its local date or, crossing midnight, the day before.
        for day in [date.yesterday(), Ok(date)].into_iter().flatten() {
            let Some((begin, mut end)) = self.stretch(day) else { continue };
            if !(begin <= start && start < end) {
                continue;
            }
            let mut last = day;
            // Whole days join their active neighbours; this ends by the window's length in days.
            while self.between.is_none() && now > end {
                let Some(next) = last.tomorrow().ok() else { break };
                let Some((_, next_end)) = self.stretch(next) else { break };
                (last, end) = (next, next_end);
            }
            return now <= end;
        }
        false
    }

    /// The active stretch starting on local date `day`, as instants, if the day is active.
    fn stretch(&self, day: Date) -> Option<(Timestamp, Timestamp)> {
        if !self.days.contains(day.weekday()) {
            return None;
        }
        let (from, to) = self.between.unwrap_or((Time::midnight(), Time::midnight()));
        let end_day = if from < to { day } else { day.tomorrow().ok()? };
        let local = |date: Date, time: Time| {
            date.to_datetime(time).to_zoned(self.time_zone.clone()).ok().map(|zoned| zoned.timestamp())
        };
        let (begin, end) = (local(day, from)?, local(end_day, to)?);
        (begin < end).then_some((begin, end))
    }

    /// Short form for sentences about a verdict: `08:00–20:00 weekdays, Europe/Berlin`.
    fn summary(&self) -> String {
        let between = self
            .between
            .map(|(from, to)| format!("{}–{} ", time_text(from), time_text(to)))
            .unwrap_or_default();
        format!("{between}{}, {}", self.days, zone_name(&self.time_zone))
    }
}

impl fmt::Display for ActiveHours {
    /// The active hours as a rule sentence ends: `between 08:00 and 20:00 on weekdays in Europe/Berlin`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some((from, to)) = self.between {
            write!(f, "between {} and {} ", time_text(from), time_text(to))?;
        }
        write!(f, "on {} in {}", self.days, zone_name(&self.time_zone))
    }
}

impl DaysOfWeek {
    /// Monday to Friday.
    pub const WEEKDAYS: DaysOfWeek = DaysOfWeek(0b001_1111);
    /// Saturday and Sunday.
    pub const WEEKENDS: DaysOfWeek = DaysOfWeek(0b110_0000);
    /// All seven days.
    pub const EVERY_DAY: DaysOfWeek = DaysOfWeek(0b111_1111);

    /// The set of `days`; empty when there are none.
    pub fn of(days: impl IntoIterator<Item = Weekday>) -> DaysOfWeek {
        DaysOfWeek(days.into_iter().fold(0, |bits, day| bits | 1 << day.to_monday_zero_offset()))
    }

    /// Whether `day` is in the set.
    pub fn contains(self, day: Weekday) -> bool {
        self.0 & 1 << day.to_monday_zero_offset() != 0
    }

    /// Whether no day is in the set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Display for DaysOfWeek {
    /// `weekdays`, `weekends`, `every day`, or the days' first three letters such as `mon,tue,fri`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            DaysOfWeek::EVERY_DAY => f.write_str("every day"),
            DaysOfWeek::WEEKDAYS => f.write_str("weekdays"),
            DaysOfWeek::WEEKENDS => f.write_str("weekends"),
            days => {
                let names: Vec<&str> = all_weekdays()
                    .filter(|day| days.contains(*day))
                    .map(|day| &weekday_name(day)[..3])
                    .collect();
                f.write_str(&names.join(","))
            }
        }
    }
}

impl fmt::Display for Verdict {
    /// `met: <seen>`, `breached: expected <expected>; seen <seen>` or `quiet: <why>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Met { seen } => write!(f, "met: {seen}"),
            Verdict::Breached { expected, seen } => write!(f, "breached: expected {expected}; seen {seen}"),
            Verdict::Quiet { why } => write!(f, "quiet: {why}"),
        }
    }
}

impl fmt::Display for OutcomeRuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OutcomeRuleError::Field { field, problem } => write!(f, "{field}: {problem}"),
            OutcomeRuleError::Sentence { word, expected, found: Some(found) } => {
                write!(f, "word {word}: expected {expected}, found {found:?}")
            }
            OutcomeRuleError::Sentence { word, expected, found: None } => {
                write!(f, "word {word}: expected {expected}, found the end of the rule")
            }
        }
    }
}

impl std::error::Error for OutcomeRuleError {}

const ADDS: &str = "a signed duration always adds to a timestamp";
const EVENT_EXPECTED: &str = "an event name of a-z 0-9 _ . : - (at most 100)";
const DURATION_EXPECTED: &str = "a duration such as 30m, 1h30m or 2d";
const TIME_EXPECTED: &str = "a time such as 08:00";

/// A rule sentence cut into words: runs of other characters between whitespace, with `,`, `%` and
/// `>=` (or `≥`) words of their own.
struct Words {
    words: Vec<String>,
    next: usize,
}

impl Words {
    fn new(text: &str) -> Words {
        let (mut words, mut word) = (Vec::new(), String::new());
        let mut chars = text.chars().peekable();
        while let Some(character) = chars.next() {
            let punctuation = match character {
                ',' | '%' => Some(character.to_string()),
                '≥' => Some(">=".to_owned()),
                '>' if chars.next_if_eq(&'=').is_some() => Some(">=".to_owned()),
                _ => None,
            };
            if character.is_whitespace() || punctuation.is_some() {
                words.extend((!word.is_empty()).then(|| std::mem::take(&mut word)));
                words.extend(punctuation);
            } else {
                word.push(character);
            }
        }
        words.extend((!word.is_empty()).then_some(word));
        Words { words, next: 0 }
    }

    /// Whether the word `ahead` places after the next one is `keyword`, in any case.
    fn is(&self, ahead: usize, keyword: &str) -> bool {
        self.words.get(self.next + ahead).is_some_and(|word| word.eq_ignore_ascii_case(keyword))
    }

    /// Takes the next word if it is `keyword`.
    fn eat(&mut self, keyword: &str) -> bool {
        let found = self.is(0, keyword);
        self.next += usize::from(found);
        found
    }

    fn expect(&mut self, keyword: &str) -> Result<(), OutcomeRuleError> {
        if self.eat(keyword) { Ok(()) } else { Err(self.expected(&format!("{keyword:?}"))) }
    }

    /// Takes the next word as `read` reads it, or fails saying `expected` was expected there.
    fn read<T>(
        &mut self,
        expected: &str,
        read: impl FnOnce(&str) -> Option<T>,
    ) -> Result<T, OutcomeRuleError> {
        let value =
            self.words.get(self.next).and_then(|word| read(word)).ok_or_else(|| self.expected(expected))?;
        self.next += 1;
        Ok(value)
    }

    /// The rest of a ratio rule, from its first word.
    fn ratio(&mut self) -> Result<OutcomeRule, OutcomeRuleError> {
        let event = self.read("\"at least\", \"no\" or an event name", read_event)?;
        self.expect(">=")?;
        let percent_hundredths =
            self.read("a percentage above 0 and at most 100, such as 95 or 99.9", read_percent)?;
        self.expect("%")?;
        self.expect("of")?;
        let follows = self.read(EVENT_EXPECTED, read_event)?;
        self.expect("within")?;
        let within = self.read(DURATION_EXPECTED, read_duration)?;
        let window = if self.eat("over") {
            self.read(DURATION_EXPECTED, read_duration)?
        } else {
            RATIO_WINDOW_DEFAULT
        };
        Ok(OutcomeRule::Ratio { event, follows, percent_hundredths, within, window })
    }

    /// The rest of an at-least rule, after `at`.
    fn at_least(&mut self) -> Result<OutcomeRule, OutcomeRuleError> {
        self.expect("least")?;
        let count_min = self.read("a count from 1 to 1000000", |word| {
            read_number(word).filter(|count| (1..=AT_LEAST_COUNT_MAX).contains(count))
        })?;
        let event = self.read(EVENT_EXPECTED, read_event)?;
        self.expect("per")?;
        let window = self.read(DURATION_EXPECTED, read_duration)?;
        let mut between = None;
        if self.eat("between") {
            let from = self.read(TIME_EXPECTED, read_time)?;
            self.expect("and")?;
            between = Some((from, self.read(TIME_EXPECTED, read_time)?));
        }
        let days = if self.eat("on") { Some(self.days()?) } else { None };
        let zone_expected = "an IANA time zone such as Europe/Berlin";
        let time_zone = if self.eat("in") {
            Some(self.read(zone_expected, |word| TimeZone::get(word).ok())?)
        } else {
            None
        };
        let active = (between.is_some() || days.is_some() || time_zone.is_some()).then(|| ActiveHours {
            between,
            days: days.unwrap_or(DaysOfWeek::EVERY_DAY),
            time_zone: time_zone.unwrap_or(TimeZone::UTC),
        });
        Ok(OutcomeRule::AtLeast { event, count_min, window, active })
    }

    /// The rest of an absent rule, after `no`.
    fn absent(&mut self) -> Result<OutcomeRule, OutcomeRuleError> {
        let event = self.read(EVENT_EXPECTED, read_event)?;
        self.expect("for")?;
        Ok(OutcomeRule::Absent { event, window: self.read(DURATION_EXPECTED, read_duration)? })
    }

    fn days(&mut self) -> Result<DaysOfWeek, OutcomeRuleError> {
        if self.eat("every") {
            return self.expect("day").map(|()| DaysOfWeek::EVERY_DAY);
        }
        for (name, days) in [("weekdays", DaysOfWeek::WEEKDAYS), ("weekends", DaysOfWeek::WEEKENDS)] {
            if self.eat(name) {
                return Ok(days);
            }
        }
        let mut days = Vec::new();
        loop {
            days.push(self.read("weekdays, weekends, every day or days such as mon,tue,fri", read_weekday)?);
            if !self.eat(",") {
                return Ok(DaysOfWeek::of(days));
            }
        }
    }

    fn expected(&self, expected: &str) -> OutcomeRuleError {
        OutcomeRuleError::Sentence {
            word: self.next + 1,
            expected: expected.to_owned(),
            found: self.words.get(self.next).cloned(),
        }
    }
}

/// How many of `requests` were followed by one of `follows` within `within`. A keyed request is
/// settled by follows of its key at or after it and at most `within` later, each follow settling
/// one request, earliest first. Unkeyed requests are settled by the unkeyed follows after
/// `unkeyed_from` (the requests' window moved on by `within`), at most as many as were requested.
fn settled(
    requests: &[&OutcomeEvent],
    follows: &[&OutcomeEvent],
    within: SignedDuration,
    unkeyed_from: Timestamp,
) -> u64 {
    let keyed = |events: &[&OutcomeEvent]| -> Vec<(String, Timestamp, u64)> {
        let mut keyed: Vec<_> = events
            .iter()
            .filter_map(|seen| Some((seen.key.clone()?, seen.at, u64::from(seen.count))))
            .collect();
        keyed.sort();
        keyed
    };
    let mut left = keyed(follows);
    let mut settled = 0;
    for (key, at, mut wanted) in keyed(requests) {
        let deadline = at.saturating_add(within).expect(ADDS);
        let mut index = left.partition_point(|(left_key, left_at, _)| (left_key, *left_at) < (&key, at));
        while wanted > 0
            && left.get(index).is_some_and(|(left_key, left_at, _)| *left_key == key && *left_at <= deadline)
        {
            let taken = wanted.min(left[index].2);
            (left[index].2, wanted, settled, index) =
                (left[index].2 - taken, wanted - taken, settled + taken, index + 1);
        }
    }
    let unkeyed = |events: &[&OutcomeEvent], from: Timestamp| -> u64 {
        events
            .iter()
            .filter(|seen| seen.key.is_none() && seen.at > from)
            .map(|seen| u64::from(seen.count))
            .sum()
    };
    settled + unkeyed(requests, Timestamp::MIN).min(unkeyed(follows, unkeyed_from))
}

/// Reads the name of an event as a business system posts it, lowercased as rule sentences read it,
/// so that `Payment_Captured` is the event a rule on `payment_captured` counts. Fails saying what
/// a name may hold.
pub fn parse_event_name(text: &str) -> Result<String, String> {
    read_event(text).ok_or_else(|| {
        format!("event {text:?} is not 1 to {EVENT_NAME_CHARS_MAX} of a-z 0-9 _ . : - (letters in any case)")
    })
}

fn field(field: &'static str, problem: impl Into<String>) -> OutcomeRuleError {
    OutcomeRuleError::Field { field, problem: problem.into() }
}

fn check_event(name: &'static str, event: &str) -> Result<(), OutcomeRuleError> {
    if read_event(event).as_deref() == Some(event) {
        Ok(())
    } else {
        Err(field(name, format!("{event:?} is not 1 to {EVENT_NAME_CHARS_MAX} of a-z 0-9 _ . : -")))
    }
}

fn check_duration(
    name: &'static str,
    duration: SignedDuration,
    max: SignedDuration,
) -> Result<(), OutcomeRuleError> {
    if duration.subsec_nanos() != 0 {
        return Err(field(name, "must be whole seconds"));
    }
    if !(OUTCOME_DURATION_MIN..=max).contains(&duration) {
        let (min, max, duration) =
            (duration_text(OUTCOME_DURATION_MIN), duration_text(max), duration_text(duration));
        return Err(field(name, format!("must be from {min} to {max}, not {duration}")));
    }
    Ok(())
}

/// An event name, lowercased, if it is one.
fn read_event(word: &str) -> Option<String> {
    let event = word.to_ascii_lowercase();
    let allowed =
        |letter: char| letter.is_ascii_lowercase() || letter.is_ascii_digit() || "_.:-".contains(letter);
    (!event.is_empty() && event.len() <= EVENT_NAME_CHARS_MAX && event.chars().all(allowed)).then_some(event)
}

/// Decimal digits only: no sign, no spaces.
fn read_number(word: &str) -> Option<u32> {
    word.bytes().all(|byte| byte.is_ascii_digit()).then(|| word.parse().ok()).flatten()
}

/// `95`, `99.9` or `99.95` as hundredths of a percent, above 0 and at most 100.
fn read_percent(word: &str) -> Option<u32> {
    let (whole, fraction) = word.split_once('.').unwrap_or((word, ""));
    let hundredths = match fraction.len() {
        0 if !word.ends_with('.') => 0,
        1 => read_number(fraction)? * 10,
        2 => read_number(fraction)?,
        _ => return None,
    };
    let percent = read_number(whole).filter(|_| whole.len() <= 3)?;
    Some(percent * 100 + hundredths).filter(|total| (1..=10_000).contains(total))
}

/// A duration such as `90s`, `1h30m` or `2d`: numbers with units, largest unit first, each once.
fn read_duration(word: &str) -> Option<SignedDuration> {
    let (mut rest, mut secs, mut last_unit) = (word, 0i64, i64::MAX);
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let number: i64 = rest[..digits].parse().ok()?;
        let unit = match rest[digits..].chars().next()?.to_ascii_lowercase() {
            'd' => 86_400,
            'h' => 3_600,
            'm' => 60,
            's' => 1,
            _ => return None,
        };
        if unit >= last_unit {
            return None;
        }
        (secs, last_unit, rest) = (secs.checked_add(number.checked_mul(unit)?)?, unit, &rest[digits + 1..]);
    }
    (!word.is_empty()).then_some(SignedDuration::from_secs(secs))
}

/// `HH:MM` or `HH:MM:SS`.
fn read_time(word: &str) -> Option<Time> {
    let bytes = word.as_bytes();
    let shaped = matches!(bytes.len(), 5 | 8)
        && bytes
            .iter()
            .enumerate()
            .all(|(index, byte)| if index % 3 == 2 { *byte == b':' } else { byte.is_ascii_digit() });
    shaped.then(|| word.parse().ok()).flatten()
}

/// A weekday by its English name or first three letters, in any case.
fn read_weekday(word: &str) -> Option<Weekday> {
    all_weekdays().find(|day| {
        let name = weekday_name(*day);
        name.eq_ignore_ascii_case(word) || name[..3].eq_ignore_ascii_case(word)
    })
}

fn all_weekdays() -> impl Iterator<Item = Weekday> {
    std::iter::successors(Some(Weekday::Monday), |day| (*day != Weekday::Sunday).then(|| day.next()))
}

/// Whole days as `2d`; otherwise hours, minutes and seconds such as `26h` or `1h30m`.
fn duration_text(duration: SignedDuration) -> String {
    let secs = duration.as_secs();
    if secs != 0 && secs % 86_400 == 0 {
        return format!("{}d", secs / 86_400);
    }
    let parts = [(secs / 3600, "h"), (secs % 3600 / 60, "m"), (secs % 60, "s")];
    let text: String = parts
        .iter()
        .filter(|(number, _)| *number != 0)
        .map(|(number, unit)| format!("{number}{unit}"))
        .collect();
    if text.is_empty() { "0s".to_owned() } else { text }
}

/// Hundredths of a percent as `95`, `99.5` or `99.95`.
fn percent_text(hundredths: u128) -> String {
    match hundredths % 100 {
        0 => format!("{}", hundredths / 100),
        fraction if fraction % 10 == 0 => format!("{}.{}", hundredths / 100, fraction / 10),
        fraction => format!("{}.{fraction:02}", hundredths / 100),
    }
}

fn utc_text(at: Timestamp) -> String {
    at.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

/// The zone's IANA name; `Etc/Unknown`, which no rule accepts, for a zone without one.
fn zone_name(time_zone: &TimeZone) -> &str {
    time_zone.iana_name().unwrap_or("Etc/Unknown")
}

fn minus(at: Timestamp, duration: SignedDuration) -> Timestamp {
    at.saturating_sub(duration).expect(ADDS)
}

#[cfg(test)]
mod tests {
    use expect_test::expect;
    use jiff::civil::DateTime;
    use proptest::prelude::*;

    use super::*;

    /// An instant: `...Z` in UTC, anything else a local time in Europe/Berlin.
    fn at(text: &str) -> Timestamp {
        if text.ends_with('Z') {
            return text.parse().unwrap();
        }
        let local: DateTime = text.parse().unwrap();
        local.to_zoned(TimeZone::get("Europe/Berlin").unwrap()).unwrap().timestamp()
    }

    /// An event at `time` from `name [*count] [key]`.
    fn event(time: &str, spec: &str) -> OutcomeEvent {
        let mut parts = spec.split_whitespace();
        let name = parts.next().unwrap().to_owned();
        let mut event = OutcomeEvent { event: name, at: at(time), count: 1, key: None };
        for part in parts {
            match part.strip_prefix('*') {
                Some(count) => event.count = count.parse().unwrap(),
                None => event.key = Some(part.to_owned()),
            }
        }
        event
    }

    /// The verdicts of `rule`, made at `created`, at each of the whitespace-separated `nows`.
    fn verdicts(rule: &str, created: &str, events: &[OutcomeEvent], nows: &str) -> String {
        let rule = OutcomeRule::parse(rule).unwrap();
        let verdict = |now: &str| rule.evaluate(at(created), events, at(now));
        nows.split_whitespace().map(|now| format!("{now:<20} {}\n", verdict(now))).collect()
    }

    const CAPTURED: &str =
        "at least 10 payment_captured per 1h between 08:00 and 20:00 on weekdays in Europe/Berlin";

    #[test]
    fn at_least_counts_the_window_ending_now() {
        // 2026-03-04 is a Wednesday. 13:00 is the window's open edge; refunds are another event.
        let mut events = vec![
            event("2026-03-04T13:00", "payment_captured *5"),
            event("2026-03-04T13:10", "payment_captured"),
            event("2026-03-04T13:20", "payment_captured"),
            event("2026-03-04T13:30", "payment_refunded *20"),
            event("2026-03-04T13:40", "payment_captured"),
        ];
        expect![[r#"
            2026-03-04T14:00     breached: expected at least 10 payment_captured per 1h (08:00–20:00 weekdays, Europe/Berlin); seen 3 in the hour to 14:00 Europe/Berlin
        "#]]
        .assert_eq(&verdicts(CAPTURED, "2026-03-01T00:00", &events, "2026-03-04T14:00"));
        events.push(event("2026-03-04T14:00", "payment_captured *7"));
        expect![[r#"
            2026-03-04T14:00     met: 10 in the hour to 14:00 Europe/Berlin
            2026-03-04T14:10:30  breached: expected at least 10 payment_captured per 1h (08:00–20:00 weekdays, Europe/Berlin); seen 9 in the hour to 14:10:30 Europe/Berlin
        "#]]
        .assert_eq(&verdicts(CAPTURED, "2026-03-01T00:00", &events, "2026-03-04T14:00 2026-03-04T14:10:30"));
    }

    #[test]
    fn at_least_judges_only_windows_wholly_inside_active_hours_of_a_rule_old_enough() {
        let nows = "2026-03-04T07:30 2026-03-04T08:30 2026-03-04T09:00 2026-03-04T20:00 2026-03-04T20:30";
        expect![[r#"
            2026-03-04T07:30     quiet: the hour to 07:30 is not wholly within the active hours (08:00–20:00 weekdays, Europe/Berlin)
            2026-03-04T08:30     quiet: the hour to 08:30 is not wholly within the active hours (08:00–20:00 weekdays, Europe/Berlin)
            2026-03-04T09:00     breached: expected at least 10 payment_captured per 1h (08:00–20:00 weekdays, Europe/Berlin); seen 0 in the hour to 09:00 Europe/Berlin
            2026-03-04T20:00     breached: expected at least 10 payment_captured per 1h (08:00–20:00 weekdays, Europe/Berlin); seen 0 in the hour to 20:00 Europe/Berlin
            2026-03-04T20:30     quiet: the hour to 20:30 is not wholly within the active hours (08:00–20:00 weekdays, Europe/Berlin)
        "#]]
        .assert_eq(&verdicts(CAPTURED, "2026-03-01T00:00", &[], nows));
        // A Saturday, and a rule made less than a window ago.
        let nows = "2026-03-07T14:00 2026-03-04T14:00 2026-03-04T14:30";
        expect![[r#"
            2026-03-07T14:00     quiet: the hour to 14:00 is not wholly within the active hours (08:00–20:00 weekdays, Europe/Berlin)
            2026-03-04T14:00     quiet: too new: judged from 2026-03-04 13:30 UTC, 1h after the rule was made
            2026-03-04T14:30     breached: expected at least 10 payment_captured per 1h (08:00–20:00 weekdays, Europe/Berlin); seen 0 in the hour to 14:30 Europe/Berlin
        "#]]
        .assert_eq(&verdicts(CAPTURED, "2026-03-04T13:30", &[], nows));
    }

    #[test]
    fn active_hours_may_cross_midnight_or_be_whole_days() {
        // Friday night into Saturday morning belongs to Friday.
        let nights = "at least 1 order_placed per 1h between 22:00 and 06:00 on fri in Europe/Berlin";
        let events = [event("2026-03-07T05:30", "order_placed")];
        let nows = "2026-03-05T23:30 2026-03-06T22:30 2026-03-06T23:00 2026-03-07T06:00 2026-03-07T06:30";
        expect![[r#"
            2026-03-05T23:30     quiet: the hour to 23:30 is not wholly within the active hours (22:00–06:00 fri, Europe/Berlin)
            2026-03-06T22:30     quiet: the hour to 22:30 is not wholly within the active hours (22:00–06:00 fri, Europe/Berlin)
            2026-03-06T23:00     breached: expected at least 1 order_placed per 1h (22:00–06:00 fri, Europe/Berlin); seen 0 in the hour to 23:00 Europe/Berlin
            2026-03-07T06:00     met: 1 in the hour to 06:00 Europe/Berlin
            2026-03-07T06:30     quiet: the hour to 06:30 is not wholly within the active hours (22:00–06:00 fri, Europe/Berlin)
        "#]]
        .assert_eq(&verdicts(nights, "2026-03-01T00:00", &events, nows));
        // Whole weekdays join: the two days to the midnight before Saturday fit, a second more does not.
        let days = "at least 1 report_sent per 2d on weekdays in Europe/Berlin";
        let nows = "2026-03-02T12:00 2026-03-04T12:00 2026-03-07T00:00 2026-03-07T00:00:01";
        expect![[r#"
            2026-03-02T12:00     quiet: the 2d to 12:00 is not wholly within the active hours (weekdays, Europe/Berlin)
            2026-03-04T12:00     breached: expected at least 1 report_sent per 2d (weekdays, Europe/Berlin); seen 0 in the 2d to 12:00 Europe/Berlin
            2026-03-07T00:00     breached: expected at least 1 report_sent per 2d (weekdays, Europe/Berlin); seen 0 in the 2d to 00:00 Europe/Berlin
            2026-03-07T00:00:01  quiet: the 2d to 00:00:01 is not wholly within the active hours (weekdays, Europe/Berlin)
        "#]]
        .assert_eq(&verdicts(days, "2026-02-01T00:00", &[], nows));
    }

    #[test]
    fn at_least_windows_are_real_hours_across_dst_changes() {
        // 2026-03-29: 02:00 CET jumps to 03:00 CEST, so 01:00–04:00 is two real hours, and a 3h
        // window never fits.
        let rule = "at least 1 batch_done per 1h between 01:00 and 04:00 on sun in Europe/Berlin";
        let events = [event("2026-03-29T00:30:00Z", "batch_done")];
        let nows = "2026-03-29T00:30:00Z 2026-03-29T01:00:00Z 2026-03-29T02:00:00Z 2026-03-29T02:30:00Z";
        expect![[r#"
            2026-03-29T00:30:00Z quiet: the hour to 01:30 is not wholly within the active hours (01:00–04:00 sun, Europe/Berlin)
            2026-03-29T01:00:00Z met: 1 in the hour to 03:00 Europe/Berlin
            2026-03-29T02:00:00Z breached: expected at least 1 batch_done per 1h (01:00–04:00 sun, Europe/Berlin); seen 0 in the hour to 04:00 Europe/Berlin
            2026-03-29T02:30:00Z quiet: the hour to 04:30 is not wholly within the active hours (01:00–04:00 sun, Europe/Berlin)
        "#]]
        .assert_eq(&verdicts(rule, "2026-03-01T00:00", &events, nows));
        let three_hours = rule.replace("per 1h", "per 3h");
        expect![[r#"
            2026-03-29T02:00:00Z quiet: the 3h to 04:00 is not wholly within the active hours (01:00–04:00 sun, Europe/Berlin)
        "#]]
        .assert_eq(&verdicts(&three_hours, "2026-03-01T00:00", &events, "2026-03-29T02:00:00Z"));
        // 2026-10-25: 03:00 CEST falls back to 02:00 CET, so 01:00–04:00 is four real hours, and
        // the hour to the second 02:00 is judged like any other.
        let events = [event("2026-10-25T00:30:00Z", "batch_done")];
        let nows = "2026-10-24T23:30:00Z 2026-10-25T00:00:00Z 2026-10-25T01:00:00Z 2026-10-25T03:00:00Z \
                    2026-10-25T03:30:00Z";
        expect![[r#"
            2026-10-24T23:30:00Z quiet: the hour to 01:30 is not wholly within the active hours (01:00–04:00 sun, Europe/Berlin)
            2026-10-25T00:00:00Z breached: expected at least 1 batch_done per 1h (01:00–04:00 sun, Europe/Berlin); seen 0 in the hour to 02:00 Europe/Berlin
            2026-10-25T01:00:00Z met: 1 in the hour to 02:00 Europe/Berlin
            2026-10-25T03:00:00Z breached: expected at least 1 batch_done per 1h (01:00–04:00 sun, Europe/Berlin); seen 0 in the hour to 04:00 Europe/Berlin
            2026-10-25T03:30:00Z quiet: the hour to 04:30 is not wholly within the active hours (01:00–04:00 sun, Europe/Berlin)
        "#]]
        .assert_eq(&verdicts(rule, "2026-03-01T00:00", &events, nows));
    }

    const PAYOUTS: &str = "payout_settled >= 95% of payout_requested within 30m over 1h";
    const NOW: &str = "2026-03-04T14:00:00Z";

    /// Events at UTC times of 2026-03-04, from `(time, spec)` as [`event`] reads them.
    fn payouts(specs: &[(&str, &str)]) -> Vec<OutcomeEvent> {
        specs.iter().map(|(time, spec)| event(&format!("2026-03-04T{time}Z"), spec)).collect()
    }

    #[test]
    fn ratio_matches_keys_within_the_time_allowed() {
        // At 14:00 the requests after 12:30 up to 13:30 are judged: early is too early and pending
        // too recent; late settled a second late, before settled before it was requested, and two
        // of the three in batch settled.
        let events = payouts(&[
            ("12:20:00", "payout_requested early"),
            ("12:35:00", "payout_settled early"),
            ("12:40:00", "payout_requested a"),
            ("12:50:00", "payout_settled a"),
            ("13:00:00", "payout_requested late"),
            ("13:30:01", "payout_settled late"),
            ("13:05:00", "payout_settled before"),
            ("13:10:00", "payout_requested before"),
            ("13:20:00", "payout_requested batch *3"),
            ("13:25:00", "payout_settled batch *2"),
            ("13:30:00", "payout_requested edge"),
            ("14:00:00", "payout_settled edge"),
            ("13:40:00", "payout_requested pending"),
        ]);
        expect![[r#"
            2026-03-04T14:00:00Z breached: expected at least 95% of payout_requested followed by payout_settled within 30m; seen 4 of 7 payout_requested followed by payout_settled within 30m (57.14%)
        "#]]
        .assert_eq(&verdicts(PAYOUTS, "2026-03-01T00:00", &events, NOW));
    }

    #[test]
    fn ratio_without_keys_compares_counts() {
        // 20 requests up to 13:30; settlements count after 13:00, so the one at 12:59 does not.
        let mut events: Vec<OutcomeEvent> = (0..20)
            .flat_map(|minute| payouts(&[(&format!("12:{:02}:00", 31 + minute), "payout_requested")]))
            .collect();
        events.extend(payouts(&[("12:59:00", "payout_settled"), ("13:30:00", "payout_settled *18")]));
        let table = |events: &[OutcomeEvent]| verdicts(PAYOUTS, "2026-03-01T00:00", events, NOW);
        expect![[r#"
            2026-03-04T14:00:00Z breached: expected at least 95% of payout_requested followed by payout_settled within 30m; seen 18 of 20 payout_requested followed by payout_settled within 30m (90%)
        "#]]
        .assert_eq(&table(&events));
        // Exactly 95% is met; more settlements than requests count as all settled.
        events.extend(payouts(&[("13:59:59", "payout_settled"), ("10:00:00", "payout_requested *1000")]));
        expect![[r#"
            2026-03-04T14:00:00Z met: 19 of 20 payout_requested followed by payout_settled within 30m (95%)
        "#]]
        .assert_eq(&table(&events));
        events.extend(payouts(&[("13:45:00", "payout_settled *5")]));
        expect![[r#"
            2026-03-04T14:00:00Z met: 20 of 20 payout_requested followed by payout_settled within 30m (100%)
        "#]]
        .assert_eq(&table(&events));
        let strict = "payout_settled >= 99.5% of payout_requested within 30m";
        let batch = |settled| payouts(&[("13:00:00", "payout_requested *200"), ("13:10:00", settled)]);
        expect![[r#"
            2026-03-04T14:00:00Z met: 199 of 200 payout_requested followed by payout_settled within 30m (99.5%)
            2026-03-04T14:00:00Z breached: expected at least 99.5% of payout_requested followed by payout_settled within 30m; seen 198 of 200 payout_requested followed by payout_settled within 30m (99%)
        "#]]
        .assert_eq(
            &[batch("payout_settled *199"), batch("payout_settled *198")]
                .map(|events| verdicts(strict, "2026-03-01T00:00", &events, NOW))
                .concat(),
        );
    }

    #[test]
    fn ratio_is_quiet_without_requests_or_before_its_first_full_lookback() {
        let events = payouts(&[("13:45:00", "payout_requested a"), ("13:50:00", "payout_settled b")]);
        expect![[r#"
            2026-03-04T14:00:00Z quiet: no payout_requested from 2026-03-04 12:30 UTC to 2026-03-04 13:30 UTC to judge
            2026-03-04T14:00:00Z quiet: too new: judged from 2026-03-04 14:01 UTC, 1h30m after the rule was made
        "#]]
        .assert_eq(
            &["2026-03-01T00:00", "2026-03-04T12:31:00Z"].map(|created| verdicts(PAYOUTS, created, &events, NOW)).concat(),
        );
    }

    #[test]
    fn absent_breaches_once_a_whole_duration_passed_without_the_event() {
        let rule = "no invoice_sent for 26h";
        let events =
            [event("2026-12-07T09:12:00Z", "invoice_sent"), event("2026-12-07T10:00:00Z", "invoice_failed")];
        let nows = "2026-12-08T11:11:59Z 2026-12-08T11:12:00Z 2026-12-08T11:12:01Z";
        expect![[r#"
            2026-12-08T11:11:59Z met: last at 2026-12-07 09:12 UTC
            2026-12-08T11:12:00Z breached: expected invoice_sent at least once every 26h; seen none since 2026-12-07 09:12 UTC
            2026-12-08T11:12:01Z breached: expected invoice_sent at least once every 26h; seen none since 2026-12-07 09:12 UTC
        "#]]
        .assert_eq(&verdicts(rule, "2026-12-01T00:00:00Z", &events, nows));
        // Given no earlier event, and not before the rule is 26h old.
        expect![[r#"
            2026-12-08T11:11:59Z quiet: too new: judged from 2026-12-08 11:12 UTC, 26h after the rule was made
            2026-12-08T11:12:00Z breached: expected invoice_sent at least once every 26h; seen none in the last 26h
            2026-12-08T11:12:01Z breached: expected invoice_sent at least once every 26h; seen none in the last 26h
        "#]]
        .assert_eq(&verdicts(rule, "2026-12-07T09:12:00Z", &[], nows));
    }

    #[test]
    fn posted_event_names_read_as_rule_sentences_read_them() {
        assert_eq!(parse_event_name("Payment_Captured"), Ok("payment_captured".to_owned()));
        assert_eq!(parse_event_name("billing.invoice:sent-1"), Ok("billing.invoice:sent-1".to_owned()));
        for bad in ["", "invoice sent", "invoice!", &"x".repeat(EVENT_NAME_CHARS_MAX + 1)] {
            assert!(parse_event_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn events_and_lookback() {
        let (rule, now) = (OutcomeRule::parse(PAYOUTS).unwrap(), at(NOW));
        assert_eq!(rule.events(), ["payout_requested", "payout_settled"]);
        assert_eq!(rule.lookback(now), (at("2026-03-04T12:30:00Z"), now));
        assert_eq!(OutcomeRule::parse(CAPTURED).unwrap().lookback(now), (at("2026-03-04T13:00:00Z"), now));
    }

    #[test]
    fn sentences_read_loosely_and_print_canonically() {
        let sentences = [
            "AT LEAST 10 Payment_Captured PER 1h BETWEEN 08:00 AND 20:00 ON Weekdays IN europe/berlin",
            "  payout_settled≥99.5 % of payout_requested\twithin 90m",
            "payout.settled>=100%of payout.requested within 1h over 2d",
            "no invoice_sent for 1d2h",
            "at least 1 job:done per 2d on Mon, tue ,FRIDAY",
            "at least 1 x per 10m in UTC",
            "at least 3 x per 1h30s between 22:00 and 06:00:30 on sat,sun",
        ];
        let printed: String =
            sentences.iter().map(|text| format!("{}\n", OutcomeRule::parse(text).unwrap())).collect();
        expect![[r#"
            at least 10 payment_captured per 1h between 08:00 and 20:00 on weekdays in Europe/Berlin
            payout_settled >= 99.5% of payout_requested within 1h30m over 1h
            payout.settled >= 100% of payout.requested within 1h over 2d
            no invoice_sent for 26h
            at least 1 job:done per 2d on mon,tue,fri in UTC
            at least 1 x per 10m on every day in UTC
            at least 3 x per 1h30s between 22:00 and 06:00:30 on weekends in UTC
        "#]]
        .assert_eq(&printed);
    }

    #[test]
    fn bad_rules_say_where_and_what() {
        let long = format!("no {} for 1h", "x".repeat(1000));
        let sentences = [
            "",
            "at most 10 x per 1h",
            "at least 0 x per 1h",
            "at least 10 payment_captured every 1h",
            "at least 10 x per hour",
            "at least 10 x per 10d",
            "at least 10 x per 30s",
            "at least 10 x per 1h between 8 and 20",
            "at least 10 x per 1h between 08:00 and 08:00",
            "at least 10 x per 1h on mon, funday",
            "at least 10 x per 1h in Mars/Olympus",
            "at least 10 x per 1h in UTC please",
            "payout_settled >= 0% of payout_requested within 30m",
            "payout_settled >= 95 of payout_requested within 30m",
            "payout_settled > 95% of payout_requested within 30m",
            "payout_settled >= 95% of payout_settled within 30m",
            "no Invoice! for 26h",
            "no invoice_sent for 36d",
            "no invoice_sent",
            &long,
        ];
        let mut errors: Vec<String> =
            sentences.iter().map(|text| OutcomeRule::parse(text).unwrap_err().to_string()).collect();
        // Rules built by hand are checked the same way.
        let hours = |time_zone, days| Some(ActiveHours { between: None, days, time_zone });
        let at_least = |event: &str, count_min, active| OutcomeRule::AtLeast {
            event: event.to_owned(),
            count_min,
            window: SignedDuration::from_hours(1),
            active,
        };
        let rules = [
            at_least("x", 1, hours(TimeZone::fixed(jiff::tz::offset(2)), DaysOfWeek::WEEKDAYS)),
            at_least("x", 1, hours(TimeZone::UTC, DaysOfWeek::of([]))),
            at_least("x", AT_LEAST_COUNT_MAX + 1, None),
            at_least(&"x".repeat(EVENT_NAME_CHARS_MAX + 1), 1, None),
            OutcomeRule::Absent { event: "x".to_owned(), window: SignedDuration::from_millis(60_500) },
        ];
        errors.extend(rules.iter().map(|rule| rule.validate().unwrap_err().to_string()));
        expect![[r#"
            word 1: expected "at least", "no" or an event name, found the end of the rule
            word 2: expected "least", found "most"
            word 3: expected a count from 1 to 1000000, found "0"
            word 5: expected "per", found "every"
            word 6: expected a duration such as 30m, 1h30m or 2d, found "hour"
            window: must be from 1m to 7d, not 10d
            window: must be from 1m to 7d, not 30s
            word 8: expected a time such as 08:00, found "8"
            between: starts and ends at 08:00; leave out between for whole days
            word 10: expected weekdays, weekends, every day or days such as mon,tue,fri, found "funday"
            word 8: expected an IANA time zone such as Europe/Berlin, found "Mars/Olympus"
            word 9: expected the end of the rule, found "please"
            word 3: expected a percentage above 0 and at most 100, such as 95 or 99.9, found "0"
            word 4: expected "%", found "of"
            word 2: expected ">=", found ">"
            follows: is payout_settled itself; name the event it follows
            word 2: expected an event name of a-z 0-9 _ . : - (at most 100), found "Invoice!"
            window: must be from 1m to 35d, not 36d
            word 3: expected "for", found the end of the rule
            rule: is 1010 characters, more than 1000
            time_zone: is not an IANA time zone such as Europe/Berlin
            days: names no day
            count_min: must be from 1 to 1000000, not 1000001
            event: "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" is not 1 to 100 of a-z 0-9 _ . : -
            window: must be whole seconds"#]].assert_eq(&errors.join("\n"));
    }

    fn duration(max: SignedDuration) -> impl Strategy<Value = SignedDuration> {
        (OUTCOME_DURATION_MIN.as_secs()..=max.as_secs()).prop_map(SignedDuration::from_secs)
    }

    fn time_of_day() -> impl Strategy<Value = Time> {
        (0i8..24, 0i8..60, prop_oneof![3 => Just(0i8), 1 => 0i8..60])
            .prop_map(|(hour, minute, second)| Time::constant(hour, minute, second, 0))
    }

    fn any_rule() -> impl Strategy<Value = OutcomeRule> {
        let event = || "[a-z0-9_.:-]{1,12}";
        let zones = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"];
        let between =
            (time_of_day(), time_of_day()).prop_filter("from and to differ", |(from, to)| from != to);
        let active = (prop::option::of(between), 1u8..128, prop::sample::select(zones.to_vec())).prop_map(
            |(between, bits, zone)| ActiveHours {
                between,
                days: DaysOfWeek(bits),
                time_zone: TimeZone::get(zone).unwrap(),
            },
        );
        prop_oneof![
            (event(), 1..=AT_LEAST_COUNT_MAX, duration(OUTCOME_DURATION_MAX), prop::option::of(active))
                .prop_map(|(event, count_min, window, active)| OutcomeRule::AtLeast {
                    event,
                    count_min,
                    window,
                    active
                }),
            (event(), event(), 1u32..=10_000, duration(OUTCOME_DURATION_MAX), duration(OUTCOME_DURATION_MAX))
                .prop_filter("two events", |(event, follows, ..)| event != follows)
                .prop_map(|(event, follows, percent_hundredths, within, window)| {
                    OutcomeRule::Ratio { event, follows, percent_hundredths, within, window }
                }),
            (event(), duration(ABSENT_DURATION_MAX))
                .prop_map(|(event, window)| OutcomeRule::Absent { event, window }),
        ]
    }

    /// Sentences of rule words in any order, mostly wrong.
    fn any_sentence() -> impl Strategy<Value = String> {
        let words = "at least no 10 0 x y per for 1h 30m 1h30m 2d between 08:00 20:00 and on every day mon , \
                     weekdays in UTC Europe/Berlin >= ≥ 95 99.95 % of within over";
        prop::collection::vec(prop::sample::select(words.split(' ').collect::<Vec<_>>()), 0..14)
            .prop_map(|words| words.join(" "))
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn a_printed_rule_reads_back_as_itself(rule in any_rule(), offsets in prop::collection::vec(0i64..200_000, 0..20)) {
            prop_assert_eq!(rule.validate(), Ok(()));
            prop_assert_eq!(OutcomeRule::parse(&rule.to_string()), Ok(rule.clone()), "{}", rule);
            // Any events give a verdict, not a panic.
            let (now, names) = (at("2026-03-29T02:00:00Z"), rule.events());
            let events: Vec<OutcomeEvent> = offsets
                .iter()
                .map(|offset| OutcomeEvent {
                    event: names[*offset as usize % names.len()].to_owned(),
                    at: now - SignedDuration::from_secs(*offset),
                    count: (offset % 3) as u32 + 1,
                    key: (offset % 5 != 0).then(|| format!("k{}", offset % 7)),
                })
                .collect();
            rule.evaluate(now - SignedDuration::from_hours(24 * 40), &events, now);
        }

        #[test]
        fn any_sentence_is_read_or_refused(sentence in any_sentence()) {
            if let Ok(rule) = OutcomeRule::parse(&sentence) {
                prop_assert_eq!(OutcomeRule::parse(&rule.to_string()), Ok(rule));
            }
        }
    }
}
