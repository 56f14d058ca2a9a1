//! On-call schedules: who is on call at an instant, and the final schedule between two instants.
//!
//! A [`Schedule`] stacks rotation [`Layer`]s, where a higher layer wins wherever it has someone on
//! call, and puts [`Override`]s on top of them all. Everything here is a pure function of the
//! schedule and the instants passed in: it reads no clock, does no I/O and knows no storage format.
//!
//! Time zone rules, decided once here:
//! - `Hours(n)` shifts last exactly `n` elapsed hours, whatever the wall clock does.
//! - `Days(n)` and `Weeks(n)` shifts hand off at the local wall-clock time of the layer's `start` in the
//!   schedule's time zone, so a weekly shift that spans a DST change lasts 167 h or 169 h.
//! - The first hand-off is exactly the layer's `start`. A later hand-off whose local time does not exist
//!   (a spring-forward gap) or exists twice (a fall-back fold) resolves with jiff's compatible
//!   disambiguation: a time in a gap moves forward by the length of the gap (02:30 becomes 03:30),
//!   and a time in a fold takes the earlier of its two instants.
//! - Restriction windows compare the local wall-clock time of an instant. A window edge inside a gap
//!   therefore takes effect at the transition, and a window covering a repeated hour covers both
//!   occurrences of it.
//! - Before a layer's `start` nobody in it is on call: the rotation does not extend backwards.

use std::collections::BTreeSet;
use std::fmt;

use jiff::civil::{DateTime, Time, Weekday};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Timestamp};

use crate::Id;

/// Most layers in one schedule.
pub const SCHEDULE_LAYERS_MAX: usize = 20;
/// Most overrides in one schedule; past overrides are expected to be pruned by whoever stores them.
pub const SCHEDULE_OVERRIDES_MAX: usize = 1000;
/// Most users in one layer's rotation.
pub const LAYER_USERS_MAX: usize = 100;
/// Most restriction windows in one layer (a week of business hours takes five).
pub const LAYER_RESTRICTIONS_MAX: usize = 50;
/// Longest range, in days of 24 hours, that [`Schedule::shifts`] computes in one call.
pub const SHIFTS_RANGE_DAYS_MAX: i64 = 400;

/// Who is on call when: rotation layers with overrides on top, in one IANA time zone.
///
/// The fields are public so callers can build and inspect schedules freely; [`Schedule::new`] is the
/// validating constructor. A schedule that skipped validation never makes the methods here panic:
/// a layer without users or with a zero shift length simply has nobody on call, an empty restriction
/// window contains no instant, and an override that does not end after it starts covers nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// The IANA time zone in which day and week hand-offs and restriction windows are read.
    pub time_zone: TimeZone,
    /// Index 0 is the lowest layer; a higher layer overrides the lower ones wherever it has someone
    /// on call.
    pub layers: Vec<Layer>,
    /// Overrides beat every layer. Where two overlap, the one that started later wins; of two that
    /// started at the same instant, the one later in this list wins.
    pub overrides: Vec<Override>,
}

/// One rotation: users take turns in shifts of equal length, starting at a hand-off anchor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layer {
    /// The hand-off anchor: the first shift starts here and nobody is on call before it.
    pub start: Timestamp,
    /// The length of each shift.
    pub shift: ShiftLength,
    /// Rotation order: shift `k` (counting from 0 at `start`) belongs to `users[k % users.len()]`.
    /// A user may appear more than once.
    pub users: Vec<Id>,
    /// Empty means the rotation is always on call; otherwise the user whose shift it is is on call
    /// only inside one of these windows, read in the schedule's time zone. Follow-the-sun is several
    /// layers, each restricted to its own daily window.
    pub restrictions: Vec<Restriction>,
}

/// How long one shift of a layer lasts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ShiftLength {
    /// Exactly this many elapsed hours.
    Hours(u32),
    /// This many days, handing off at the same local wall-clock time.
    Days(u32),
    /// This many weeks, handing off at the same local wall-clock time and weekday.
    Weeks(u32),
}

/// Whether a [`Restriction`] repeats every day or every week.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RestrictionKind {
    /// From `start_time` to `end_time` every day; ends at or before the start cross midnight.
    Daily,
    /// From `start_day` at `start_time` to `end_day` at `end_time` every week; ends at or before the
    /// start (such as Fri 17:00 to Mon 09:00) wrap around the end of the week.
    Weekly,
}

/// A window of local wall-clock time, repeating daily or weekly, during which a layer is on call.
///
/// The window includes its start and excludes its end. Daily windows have no days; weekly windows
/// have both. [`Restriction::daily`] and [`Restriction::weekly`] build well-formed windows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Restriction {
    /// Whether the window repeats every day or every week.
    pub kind: RestrictionKind,
    /// The weekday the window starts on; `None` for daily windows.
    pub start_day: Option<Weekday>,
    /// The local time the window starts at.
    pub start_time: Time,
    /// The weekday the window ends on; `None` for daily windows.
    pub end_day: Option<Weekday>,
    /// The local time the window ends at (excluded).
    pub end_time: Time,
}

/// Someone covering for whoever the layers put on call, from `start` (included) to `end` (excluded).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Override {
    /// Who is on call instead.
    pub user: Id,
    /// When the cover starts (included).
    pub start: Timestamp,
    /// When the cover ends (excluded).
    pub end: Timestamp,
}

/// One stretch of time during which one user is on call, from `start` (included) to `end` (excluded).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Shift {
    /// Who is on call.
    pub user: Id,
    /// When the shift starts (included).
    pub start: Timestamp,
    /// When the shift ends (excluded).
    pub end: Timestamp,
}

impl Schedule {
    /// Builds a schedule after checking its bounds.
    ///
    /// Fails, naming the offending layer, restriction or override, when the time zone has no IANA
    /// name (a fixed offset or a POSIX rule), when there are more than [`SCHEDULE_LAYERS_MAX`] layers
    /// or [`SCHEDULE_OVERRIDES_MAX`] overrides, when a layer has no users or more than
    /// [`LAYER_USERS_MAX`], a shift length outside 1 hour to 52 weeks, more than
    /// [`LAYER_RESTRICTIONS_MAX`] restrictions, or a restriction window that is empty or whose days do
    /// not match its kind, and when an override does not end after it starts.
    pub fn new(
        time_zone: TimeZone,
        layers: Vec<Layer>,
        overrides: Vec<Override>,
    ) -> Result<Schedule, String> {
        if time_zone.iana_name().is_none() {
            return Err("schedule time zone must be an IANA time zone such as Europe/Berlin".to_owned());
        }
        if layers.len() > SCHEDULE_LAYERS_MAX {
            return Err(format!(
                "schedule has {} layers; at most {SCHEDULE_LAYERS_MAX} are allowed",
                layers.len()
            ));
        }
        if overrides.len() > SCHEDULE_OVERRIDES_MAX {
            return Err(format!(
                "schedule has {} overrides; at most {SCHEDULE_OVERRIDES_MAX} are allowed",
                overrides.len()
            ));
        }
        for (layer_index, layer) in layers.iter().enumerate() {
            layer.validate().map_err(|err| format!("layer {layer_index} {err}"))?;
        }
        for (override_index, cover) in overrides.iter().enumerate() {
            if cover.end <= cover.start {
                return Err(format!(
                    "override {override_index} for user {} ends at {}, which is not after its start at {}",
                    cover.user, cover.end, cover.start
                ));
            }
        }
        Ok(Schedule { time_zone, layers, overrides })
    }

    /// Who is on call at `at`: the latest-started override covering it, else the user of the highest
    /// layer that has someone on call, else `None`.
    pub fn on_call(&self, at: Timestamp) -> Option<Id> {
        let mut winner: Option<&Override> = None;
        for cover in &self.overrides {
            // `>=` lets the later of two overrides with the same start win, as documented on `overrides`.
            if cover.start <= at && at < cover.end && winner.is_none_or(|best| cover.start >= best.start) {
                winner = Some(cover);
            }
        }
        match winner {
            Some(cover) => Some(cover.user),
            None => self.layers_on_call(at),
        }
    }

    /// The final schedule from `from` (included) to `to` (excluded): shifts sorted by start, never
    /// overlapping, clipped to the range, and merged where the same user continues, with gaps where
    /// nobody is on call. Agrees with [`Schedule::on_call`] at every instant of the range.
    ///
    /// The work is proportional to the number of hand-offs, restriction window edges, time zone
    /// transitions and overrides in the range, not to its length. Fails when `to` is before `from` or
    /// the range is longer than [`SHIFTS_RANGE_DAYS_MAX`] days; an empty range gives no shifts.
    pub fn shifts(&self, from: Timestamp, to: Timestamp) -> Result<Vec<Shift>, String> {
        check_range(from, to)?;
        let mut overrides: Vec<&Override> =
            self.overrides.iter().filter(|cover| cover.start < to && cover.end > from).collect();
        // A stable sort keeps list order among overrides that start together, so the last active one
        // is always the winner `on_call` would pick.
        overrides.sort_by_key(|cover| cover.start);
        let mut boundaries = vec![from];
        for layer in &self.layers {
            layer.push_handoffs(&self.time_zone, from, to, &mut boundaries);
        }
        push_window_edges(
            &self.time_zone,
            self.layers.iter().flat_map(|layer| &layer.restrictions),
            from,
            to,
            &mut boundaries,
        );
        for cover in &overrides {
            push_inside(cover.start, from, to, &mut boundaries);
            push_inside(cover.end, from, to, &mut boundaries);
        }
        // Boundaries are visited in order, so overrides join the active list as they start and
        // leave it as they end, instead of being searched afresh for every stretch.
        let mut pending = overrides.into_iter().peekable();
        let mut active: Vec<&Override> = Vec::new();
        Ok(walk(boundaries, to, |at| {
            while let Some(cover) = pending.next_if(|cover| cover.start <= at) {
                active.push(cover);
            }
            active.retain(|cover| at < cover.end);
            match active.last() {
                Some(cover) => Some(cover.user),
                None => self.layers_on_call(at),
            }
        }))
    }

    /// The shifts of one layer on its own, ignoring the other layers and the overrides, from `from`
    /// (included) to `to` (excluded), in the same shape as [`Schedule::shifts`]: what a layer would put
    /// on call if it were alone, as a UI shows it under the final schedule.
    ///
    /// Fails when the schedule has no layer `layer_index`, when `to` is before `from` or when the range
    /// is longer than [`SHIFTS_RANGE_DAYS_MAX`] days.
    pub fn layer_shifts(
        &self,
        layer_index: usize,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Shift>, String> {
        let layer = self.layers.get(layer_index).ok_or_else(|| {
            format!("schedule has no layer {layer_index}; it has {} layers", self.layers.len())
        })?;
        check_range(from, to)?;
        let mut boundaries = vec![from];
        layer.push_handoffs(&self.time_zone, from, to, &mut boundaries);
        push_window_edges(&self.time_zone, &layer.restrictions, from, to, &mut boundaries);
        Ok(walk(boundaries, to, |at| layer.on_call(&self.time_zone, at)))
    }

    /// Who the layers put on call at `at`, ignoring overrides: the highest layer with someone on call.
    fn layers_on_call(&self, at: Timestamp) -> Option<Id> {
        self.layers.iter().rev().find_map(|layer| layer.on_call(&self.time_zone, at))
    }
}

impl Layer {
    /// Who this layer alone puts on call at `at`, reading hand-offs and restriction windows in
    /// `time_zone`: nobody before `start`, nobody outside its restriction windows, otherwise the user
    /// whose turn it is. Never panics; a layer without users or with a zero shift length has nobody.
    pub fn on_call(&self, time_zone: &TimeZone, at: Timestamp) -> Option<Id> {
        let index = self.shift_index(time_zone, at)?;
        if !self.restrictions.is_empty() {
            let local = time_zone.to_datetime(at);
            if !self.restrictions.iter().any(|restriction| restriction.contains(local)) {
                return None;
            }
        }
        let users_len = i64::try_from(self.users.len()).ok().filter(|len| *len > 0)?;
        let slot = usize::try_from(index.rem_euclid(users_len)).ok()?;
        self.users.get(slot).copied()
    }

    /// Checks the bounds that [`Schedule::new`] documents, for this layer.
    fn validate(&self) -> Result<(), String> {
        if self.users.is_empty() {
            return Err("has no users".to_owned());
        }
        if self.users.len() > LAYER_USERS_MAX {
            return Err(format!("has {} users; at most {LAYER_USERS_MAX} are allowed", self.users.len()));
        }
        self.shift.validate()?;
        if self.restrictions.len() > LAYER_RESTRICTIONS_MAX {
            return Err(format!(
                "has {} restrictions; at most {LAYER_RESTRICTIONS_MAX} are allowed",
                self.restrictions.len()
            ));
        }
        for (restriction_index, restriction) in self.restrictions.iter().enumerate() {
            restriction.validate().map_err(|err| format!("restriction {restriction_index} {err}"))?;
        }
        Ok(())
    }

    /// The number of whole shifts between `start` and `at`, or `None` before `start` or when the shift
    /// length is zero.
    fn shift_index(&self, time_zone: &TimeZone, at: Timestamp) -> Option<i64> {
        if at < self.start {
            return None;
        }
        let nominal_secs = self.shift.nominal_secs();
        if nominal_secs <= 0 {
            return None;
        }
        let mut index = at.duration_since(self.start).as_secs() / nominal_secs;
        if let ShiftLength::Hours(_) = self.shift {
            return Some(index);
        }
        // Local hand-offs drift from the nominal length only by UTC offset changes, so the estimate is
        // off by a step or two at most. Hand-off 0 is `start` itself, which bounds the first loop.
        while index > 0 && self.handoff(time_zone, index).is_none_or(|handoff| handoff > at) {
            index -= 1;
        }
        while self.handoff(time_zone, index.saturating_add(1)).is_some_and(|handoff| handoff <= at) {
            index = index.saturating_add(1);
        }
        Some(index)
    }

    /// The instant of hand-off `index` (0 is `start`), or `None` where it falls outside the range of
    /// timestamps.
    fn handoff(&self, time_zone: &TimeZone, index: i64) -> Option<Timestamp> {
        if index == 0 {
            return Some(self.start);
        }
        match self.shift {
            ShiftLength::Hours(hours) => {
                let secs = index.checked_mul(i64::from(hours).checked_mul(3600)?)?;
                self.start.checked_add(SignedDuration::from_secs(secs)).ok()
            }
            ShiftLength::Days(_) | ShiftLength::Weeks(_) => {
                // Civil time has no DST, so adding whole days of 24 hours keeps the wall-clock time.
                let days = index.checked_mul(self.shift.nominal_secs() / 86_400)?;
                let secs = days.checked_mul(86_400)?;
                let local =
                    time_zone.to_datetime(self.start).checked_add(SignedDuration::from_secs(secs)).ok()?;
                time_zone.to_ambiguous_timestamp(local).compatible().ok()
            }
        }
    }

    /// Pushes every hand-off of this layer inside `(from, to)`, including `start`.
    fn push_handoffs(&self, time_zone: &TimeZone, from: Timestamp, to: Timestamp, out: &mut Vec<Timestamp>) {
        if self.users.is_empty() || self.start >= to {
            return;
        }
        push_inside(self.start, from, to, out);
        let Some(mut index) = self.shift_index(time_zone, from.max(self.start)) else {
            return;
        };
        loop {
            index = match index.checked_add(1) {
                Some(next) => next,
                None => return,
            };
            match self.handoff(time_zone, index) {
                Some(handoff) if handoff < to => push_inside(handoff, from, to, out),
                _ => return,
            }
        }
    }
}

impl ShiftLength {
    /// The longest shift, in hours: 52 weeks.
    pub const HOURS_MAX: u32 = 52 * 7 * 24;

    /// Parses a shift length such as `12h`, `1d` or `2w` (hours, days, weeks), as [`fmt::Display`]
    /// prints it.
    ///
    /// Fails when the text is not a decimal number followed by `h`, `d` or `w`, or when the length
    /// is shorter than 1 hour or longer than 52 weeks.
    pub fn parse(text: &str) -> Result<ShiftLength, String> {
        let invalid = || {
            format!(
                "invalid shift length {text:?}: expected a number followed by h, d or w, such as 12h, 1d or 1w"
            )
        };
        let unit = text.chars().last().ok_or_else(invalid)?;
        let digits = &text[..text.len() - unit.len_utf8()];
        if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(invalid());
        }
        let count: u32 =
            digits.parse().map_err(|_| format!("shift length {text} is longer than 52 weeks"))?;
        let shift = match unit {
            'h' => ShiftLength::Hours(count),
            'd' => ShiftLength::Days(count),
            'w' => ShiftLength::Weeks(count),
            _ => return Err(invalid()),
        };
        shift.validate()?;
        Ok(shift)
    }

    /// Checks that the length is at least 1 hour and at most 52 weeks.
    fn validate(self) -> Result<(), String> {
        let hours = self.nominal_secs() / 3600;
        if hours < 1 {
            return Err(format!("shift length {self} is shorter than 1 hour"));
        }
        if hours > i64::from(ShiftLength::HOURS_MAX) {
            return Err(format!("shift length {self} is longer than 52 weeks"));
        }
        Ok(())
    }

    /// The length in seconds, counting days as 24 hours.
    fn nominal_secs(self) -> i64 {
        match self {
            ShiftLength::Hours(hours) => i64::from(hours) * 3600,
            ShiftLength::Days(days) => i64::from(days) * 86_400,
            ShiftLength::Weeks(weeks) => i64::from(weeks) * 7 * 86_400,
        }
    }
}

impl fmt::Display for ShiftLength {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShiftLength::Hours(hours) => write!(f, "{hours}h"),
            ShiftLength::Days(days) => write!(f, "{days}d"),
            ShiftLength::Weeks(weeks) => write!(f, "{weeks}w"),
        }
    }
}

impl Restriction {
    /// A window from `start_time` to `end_time` every day; an end at or before the start crosses
    /// midnight (22:00 to 06:00).
    pub fn daily(start_time: Time, end_time: Time) -> Restriction {
        Restriction { kind: RestrictionKind::Daily, start_day: None, start_time, end_day: None, end_time }
    }

    /// A window from `start_day` at `start_time` to `end_day` at `end_time` every week; an end at or
    /// before the start wraps around the end of the week (Fri 17:00 to Mon 09:00).
    pub fn weekly(start_day: Weekday, start_time: Time, end_day: Weekday, end_time: Time) -> Restriction {
        Restriction {
            kind: RestrictionKind::Weekly,
            start_day: Some(start_day),
            start_time,
            end_day: Some(end_day),
            end_time,
        }
    }

    /// Reads a window as the API and storage write it: `kind` is `daily` or `weekly`, times are
    /// `HH:MM`, and a weekly window's days are `monday` … `sunday` (or their first three letters,
    /// in any case). A daily window ignores days.
    ///
    /// Fails naming the first part that cannot be read.
    pub fn parse(
        kind: &str,
        start_day: Option<&str>,
        start_time: &str,
        end_day: Option<&str>,
        end_time: &str,
    ) -> Result<Restriction, String> {
        let time = |text: &str| -> Result<Time, String> {
            text.parse().map_err(|_| format!("invalid time {text:?}; expected HH:MM"))
        };
        let (start_time, end_time) = (time(start_time)?, time(end_time)?);
        match kind {
            "daily" => Ok(Restriction::daily(start_time, end_time)),
            "weekly" => Ok(Restriction::weekly(
                parse_weekday(start_day.unwrap_or_default())?,
                start_time,
                parse_weekday(end_day.unwrap_or_default())?,
                end_time,
            )),
            other => Err(format!("unknown restriction type {other:?}; expected daily or weekly")),
        }
    }

    /// The window's kind as [`Restriction::parse`] reads it: `daily` or `weekly`.
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            RestrictionKind::Daily => "daily",
            RestrictionKind::Weekly => "weekly",
        }
    }

    /// Whether the local wall-clock time `local` is inside the window. An empty window, or a weekly
    /// window missing a day, contains nothing.
    pub fn contains(&self, local: DateTime) -> bool {
        let Some([start, end]) = self.edges() else {
            return false;
        };
        let now = match self.kind {
            RestrictionKind::Daily => (0, local.time()),
            RestrictionKind::Weekly => (local.weekday().to_monday_zero_offset(), local.time()),
        };
        let start = (start.0.unwrap_or(0), start.1);
        let end = (end.0.unwrap_or(0), end.1);
        if start < end {
            start <= now && now < end
        } else if start > end {
            now >= start || now < end
        } else {
            false
        }
    }

    /// Checks that the days match the kind and that the window is not empty.
    fn validate(&self) -> Result<(), String> {
        match self.kind {
            RestrictionKind::Daily if self.start_day.is_some() || self.end_day.is_some() => {
                return Err("is daily but names a day".to_owned());
            }
            RestrictionKind::Weekly if self.start_day.is_none() || self.end_day.is_none() => {
                return Err("is weekly but lacks a start day or an end day".to_owned());
            }
            _ => {}
        }
        if self.start_day == self.end_day && self.start_time == self.end_time {
            return Err(format!("is empty: it starts and ends at {}", self.start_time));
        }
        Ok(())
    }

    /// The start and end of the window as (weekday offset from Monday, time); the weekday is `None`
    /// for daily windows. `None` for a weekly window missing a day.
    fn edges(&self) -> Option<[(Option<i8>, Time); 2]> {
        match self.kind {
            RestrictionKind::Daily => Some([(None, self.start_time), (None, self.end_time)]),
            RestrictionKind::Weekly => Some([
                (Some(self.start_day?.to_monday_zero_offset()), self.start_time),
                (Some(self.end_day?.to_monday_zero_offset()), self.end_time),
            ]),
        }
    }
}

/// Checks the range of [`Schedule::shifts`] and [`Schedule::layer_shifts`].
fn check_range(from: Timestamp, to: Timestamp) -> Result<(), String> {
    if to < from {
        return Err(format!("shift range ends at {to}, before it starts at {from}"));
    }
    if to.duration_since(from) > SignedDuration::from_hours(24 * SHIFTS_RANGE_DAYS_MAX) {
        return Err(format!(
            "shift range from {from} to {to} is longer than {SHIFTS_RANGE_DAYS_MAX} days; ask for a shorter range"
        ));
    }
    Ok(())
}

/// Pushes `at` when it lies strictly inside `(from, to)`; `from` is always a boundary already.
fn push_inside(at: Timestamp, from: Timestamp, to: Timestamp, out: &mut Vec<Timestamp>) {
    if from < at && at < to {
        out.push(at);
    }
}

/// Pushes every instant inside `(from, to)` at which the local wall-clock time crosses an edge of one
/// of `restrictions`, plus every time zone transition there, since a wall-clock jump can enter or leave
/// a window without crossing an edge.
fn push_window_edges<'a>(
    time_zone: &TimeZone,
    restrictions: impl IntoIterator<Item = &'a Restriction>,
    from: Timestamp,
    to: Timestamp,
    out: &mut Vec<Timestamp>,
) {
    let edges: BTreeSet<(Option<i8>, Time)> =
        restrictions.into_iter().filter_map(Restriction::edges).flatten().collect();
    if edges.is_empty() {
        return;
    }
    for transition in time_zone.following(from) {
        if transition.timestamp() >= to {
            break;
        }
        push_inside(transition.timestamp(), from, to, out);
    }
    // One day of margin on each side covers any UTC offset.
    let first = time_zone.to_datetime(from).date();
    let first = first.yesterday().unwrap_or(first);
    let last = time_zone.to_datetime(to).date();
    let last = last.tomorrow().unwrap_or(last);
    let mut day = first;
    loop {
        let weekday = day.weekday().to_monday_zero_offset();
        for (edge_day, edge_time) in &edges {
            if edge_day.is_some_and(|edge_day| edge_day != weekday) {
                continue;
            }
            let local = day.to_datetime(*edge_time);
            // An edge inside a gap is crossed at the transition, which is pushed above; an edge inside
            // a fold is crossed twice.
            let offsets = match time_zone.to_ambiguous_timestamp(local).offset() {
                AmbiguousOffset::Unambiguous { offset } => [Some(offset), None],
                AmbiguousOffset::Gap { .. } => [None, None],
                AmbiguousOffset::Fold { before, after } => [Some(before), Some(after)],
            };
            for offset in offsets.into_iter().flatten() {
                if let Ok(at) = offset.to_timestamp(local) {
                    push_inside(at, from, to, out);
                }
            }
        }
        if day >= last {
            break;
        }
        day = match day.tomorrow() {
            Ok(next) => next,
            Err(_) => break,
        };
    }
}

/// Turns boundaries (a superset of the instants at which `on_call` can change, all in `[from, to)` and
/// including `from`) into merged shifts ending at `to`, calling `on_call` once per stretch, in order.
fn walk(
    mut boundaries: Vec<Timestamp>,
    to: Timestamp,
    mut on_call: impl FnMut(Timestamp) -> Option<Id>,
) -> Vec<Shift> {
    boundaries.sort_unstable();
    boundaries.dedup();
    let mut shifts: Vec<Shift> = Vec::new();
    for (position, &start) in boundaries.iter().enumerate() {
        let end = boundaries.get(position + 1).copied().unwrap_or(to);
        if start >= end {
            continue;
        }
        let Some(user) = on_call(start) else {
            continue;
        };
        match shifts.last_mut() {
            Some(last) if last.user == user && last.end == start => last.end = end,
            _ => shifts.push(Shift { user, start, end }),
        }
    }
    shifts
}

/// The lowercase English name of `day`, as [`Restriction::parse`] reads it.
pub fn weekday_name(day: Weekday) -> &'static str {
    WEEKDAYS.iter().find(|(_, known)| *known == day).map_or("monday", |(name, _)| name)
}

/// A local time as `HH:MM`, or `HH:MM:SS` when it has seconds, as [`Restriction::parse`] reads it.
pub fn time_text(time: Time) -> String {
    if time.second() == 0 && time.subsec_nanosecond() == 0 {
        format!("{:02}:{:02}", time.hour(), time.minute())
    } else {
        format!("{:02}:{:02}:{:02}", time.hour(), time.minute(), time.second())
    }
}

const WEEKDAYS: [(&str, Weekday); 7] = [
    ("monday", Weekday::Monday),
    ("tuesday", Weekday::Tuesday),
    ("wednesday", Weekday::Wednesday),
    ("thursday", Weekday::Thursday),
    ("friday", Weekday::Friday),
    ("saturday", Weekday::Saturday),
    ("sunday", Weekday::Sunday),
];

/// A weekday by its English name or its first three letters, in any case.
fn parse_weekday(name: &str) -> Result<Weekday, String> {
    WEEKDAYS
        .iter()
        .find(|(day, _)| day.eq_ignore_ascii_case(name) || day[..3].eq_ignore_ascii_case(name))
        .map(|(_, day)| *day)
        .ok_or_else(|| format!("invalid day {name:?}; expected monday … sunday"))
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};
    use jiff::civil::Weekday::{Friday, Monday, Saturday, Sunday, Thursday, Wednesday};
    use proptest::prelude::*;

    use super::*;

    fn zone(name: &str) -> TimeZone {
        TimeZone::get(name).unwrap()
    }

    /// A local wall-clock time such as `2026-03-23 09:00` in `time_zone`, resolved compatibly.
    fn local(time_zone: &TimeZone, text: &str) -> Timestamp {
        let datetime: DateTime = text.parse().unwrap();
        time_zone.to_ambiguous_timestamp(datetime).compatible().unwrap()
    }

    fn time(text: &str) -> Time {
        text.parse().unwrap()
    }

    fn layer(start: Timestamp, shift: &str, users: &[Id], restrictions: Vec<Restriction>) -> Layer {
        Layer { start, shift: ShiftLength::parse(shift).unwrap(), users: users.to_vec(), restrictions }
    }

    fn cover(time_zone: &TimeZone, user: Id, start: &str, end: &str) -> Override {
        Override { user, start: local(time_zone, start), end: local(time_zone, end) }
    }

    fn show(time_zone: &TimeZone, at: Timestamp) -> String {
        at.to_zoned(time_zone.clone()).strftime("%Y-%m-%d %H:%M %Z").to_string()
    }

    fn length(from: Timestamp, to: Timestamp) -> String {
        let minutes = to.duration_since(from).as_secs() / 60;
        match minutes % 60 {
            0 => format!("{}h", minutes / 60),
            rest => format!("{}h{rest:02}m", minutes / 60),
        }
    }

    /// Prints shifts and the gaps between them, one line each, checking every line against
    /// `on_call` at its first and last instant.
    fn render(
        time_zone: &TimeZone,
        from: Timestamp,
        to: Timestamp,
        shifts: &[Shift],
        on_call: impl Fn(Timestamp) -> Option<Id>,
    ) -> String {
        let mut out = String::new();
        let mut line = |start: Timestamp, end: Timestamp, user: Option<Id>| {
            assert_eq!(on_call(start), user, "on call at {start}");
            assert_eq!(on_call(end - SignedDuration::from_nanos(1)), user, "on call just before {end}");
            let who = user.map_or("nobody".to_owned(), |user| format!("user {user}"));
            let range = format!("{} → {}", show(time_zone, start), show(time_zone, end));
            out.push_str(&format!("{range}  {who} ({})\n", length(start, end)));
        };
        let mut cursor = from;
        for shift in shifts {
            if shift.start > cursor {
                line(cursor, shift.start, None);
            }
            line(shift.start, shift.end, Some(shift.user));
            cursor = shift.end;
        }
        if cursor < to {
            line(cursor, to, None);
        }
        out
    }

    /// Prints the final schedule between two local wall-clock times.
    fn check(schedule: &Schedule, from: &str, to: &str, expected: Expect) {
        let time_zone = &schedule.time_zone;
        let (from, to) = (local(time_zone, from), local(time_zone, to));
        let shifts = schedule.shifts(from, to).unwrap();
        expected.assert_eq(&render(time_zone, from, to, &shifts, |at| schedule.on_call(at)));
    }

    /// Prints one layer on its own between two local wall-clock times.
    fn check_layer(schedule: &Schedule, layer_index: usize, from: &str, to: &str, expected: Expect) {
        let time_zone = &schedule.time_zone;
        let (from, to) = (local(time_zone, from), local(time_zone, to));
        let shifts = schedule.layer_shifts(layer_index, from, to).unwrap();
        let layer = &schedule.layers[layer_index];
        expected.assert_eq(&render(time_zone, from, to, &shifts, |at| layer.on_call(time_zone, at)));
    }

    fn schedule(time_zone: &TimeZone, layers: Vec<Layer>, overrides: Vec<Override>) -> Schedule {
        Schedule::new(time_zone.clone(), layers, overrides).unwrap()
    }

    fn weekly_rotation(time_zone: &str, start: &str) -> Schedule {
        let time_zone = zone(time_zone);
        let start = local(&time_zone, start);
        schedule(&time_zone, vec![layer(start, "1w", &[1, 2, 3], vec![])], vec![])
    }

    #[test]
    fn weekly_rotation_across_dst_in_berlin() {
        let schedule = weekly_rotation("Europe/Berlin", "2026-03-16 09:00");
        check(
            &schedule,
            "2026-03-16 00:00",
            "2026-04-06 09:00",
            expect![[r#"
                2026-03-16 00:00 CET → 2026-03-16 09:00 CET  nobody (9h)
                2026-03-16 09:00 CET → 2026-03-23 09:00 CET  user 1 (168h)
                2026-03-23 09:00 CET → 2026-03-30 09:00 CEST  user 2 (167h)
                2026-03-30 09:00 CEST → 2026-04-06 09:00 CEST  user 3 (168h)
            "#]],
        );
        check(
            &schedule,
            "2026-10-19 09:00",
            "2026-11-02 09:00",
            expect![[r#"
                2026-10-19 09:00 CEST → 2026-10-26 09:00 CET  user 2 (169h)
                2026-10-26 09:00 CET → 2026-11-02 09:00 CET  user 3 (168h)
            "#]],
        );
    }

    #[test]
    fn weekly_rotation_across_dst_in_new_york() {
        let schedule = weekly_rotation("America/New_York", "2026-03-02 09:00");
        check(
            &schedule,
            "2026-03-02 09:00",
            "2026-03-16 09:00",
            expect![[r#"
                2026-03-02 09:00 EST → 2026-03-09 09:00 EDT  user 1 (167h)
                2026-03-09 09:00 EDT → 2026-03-16 09:00 EDT  user 2 (168h)
            "#]],
        );
        check(
            &schedule,
            "2026-10-26 09:00",
            "2026-11-09 09:00",
            expect![[r#"
                2026-10-26 09:00 EDT → 2026-11-02 09:00 EST  user 2 (169h)
                2026-11-02 09:00 EST → 2026-11-09 09:00 EST  user 3 (168h)
            "#]],
        );
    }

    #[test]
    fn twelve_hour_rotation_counts_exact_hours_across_dst() {
        let time_zone = zone("Europe/Berlin");
        let start = local(&time_zone, "2026-03-28 09:00");
        let schedule = schedule(&time_zone, vec![layer(start, "12h", &[1, 2], vec![])], vec![]);
        check(
            &schedule,
            "2026-03-28 09:00",
            "2026-03-30 12:00",
            expect![[r#"
                2026-03-28 09:00 CET → 2026-03-28 21:00 CET  user 1 (12h)
                2026-03-28 21:00 CET → 2026-03-29 10:00 CEST  user 2 (12h)
                2026-03-29 10:00 CEST → 2026-03-29 22:00 CEST  user 1 (12h)
                2026-03-29 22:00 CEST → 2026-03-30 10:00 CEST  user 2 (12h)
                2026-03-30 10:00 CEST → 2026-03-30 12:00 CEST  user 1 (2h)
            "#]],
        );
    }

    #[test]
    fn daily_handoff_inside_a_gap_or_fold_resolves_compatibly() {
        // 02:30 does not exist on 2026-03-29 in Berlin (moves to 03:30) and exists twice on
        // 2026-10-25 (takes the first, summer-time one).
        let time_zone = zone("Europe/Berlin");
        let schedule = schedule(
            &time_zone,
            vec![layer(local(&time_zone, "2026-03-27 02:30"), "1d", &[1, 2], vec![])],
            vec![],
        );
        check(
            &schedule,
            "2026-03-27 00:00",
            "2026-03-31 00:00",
            expect![[r#"
                2026-03-27 00:00 CET → 2026-03-27 02:30 CET  nobody (2h30m)
                2026-03-27 02:30 CET → 2026-03-28 02:30 CET  user 1 (24h)
                2026-03-28 02:30 CET → 2026-03-29 03:30 CEST  user 2 (24h)
                2026-03-29 03:30 CEST → 2026-03-30 02:30 CEST  user 1 (23h)
                2026-03-30 02:30 CEST → 2026-03-31 00:00 CEST  user 2 (21h30m)
            "#]],
        );
        check(
            &schedule,
            "2026-10-24 00:00",
            "2026-10-27 00:00",
            expect![[r#"
                2026-10-24 00:00 CEST → 2026-10-24 02:30 CEST  user 1 (2h30m)
                2026-10-24 02:30 CEST → 2026-10-25 02:30 CEST  user 2 (24h)
                2026-10-25 02:30 CEST → 2026-10-26 02:30 CET  user 1 (25h)
                2026-10-26 02:30 CET → 2026-10-27 00:00 CET  user 2 (21h30m)
            "#]],
        );
    }

    #[test]
    fn business_hours_layer_falls_through_to_a_round_the_clock_layer() {
        let time_zone = zone("Europe/Berlin");
        let anchor = local(&time_zone, "2026-03-23 09:00");
        let business_hours = [Monday, jiff::civil::Weekday::Tuesday, Wednesday, Thursday, Friday]
            .into_iter()
            .map(|day| Restriction::weekly(day, time("09:00"), day, time("17:00")))
            .collect();
        let schedule = schedule(
            &time_zone,
            vec![layer(anchor, "1w", &[1, 2], vec![]), layer(anchor, "1d", &[3, 4], business_hours)],
            vec![],
        );
        check(
            &schedule,
            "2026-03-26 00:00",
            "2026-03-31 00:00",
            expect![[r#"
                2026-03-26 00:00 CET → 2026-03-26 09:00 CET  user 1 (9h)
                2026-03-26 09:00 CET → 2026-03-26 17:00 CET  user 4 (8h)
                2026-03-26 17:00 CET → 2026-03-27 09:00 CET  user 1 (16h)
                2026-03-27 09:00 CET → 2026-03-27 17:00 CET  user 3 (8h)
                2026-03-27 17:00 CET → 2026-03-30 09:00 CEST  user 1 (63h)
                2026-03-30 09:00 CEST → 2026-03-30 17:00 CEST  user 4 (8h)
                2026-03-30 17:00 CEST → 2026-03-31 00:00 CEST  user 2 (7h)
            "#]],
        );
        check_layer(
            &schedule,
            1,
            "2026-03-27 00:00",
            "2026-03-31 00:00",
            expect![[r#"
                2026-03-27 00:00 CET → 2026-03-27 09:00 CET  nobody (9h)
                2026-03-27 09:00 CET → 2026-03-27 17:00 CET  user 3 (8h)
                2026-03-27 17:00 CET → 2026-03-30 09:00 CEST  nobody (63h)
                2026-03-30 09:00 CEST → 2026-03-30 17:00 CEST  user 4 (8h)
                2026-03-30 17:00 CEST → 2026-03-31 00:00 CEST  nobody (7h)
            "#]],
        );
    }

    #[test]
    fn follow_the_sun_with_two_restricted_layers() {
        let time_zone = zone("America/New_York");
        let anchor = local(&time_zone, "2026-03-06 08:00");
        let schedule = schedule(
            &time_zone,
            vec![
                layer(anchor, "1d", &[1, 2], vec![Restriction::daily(time("20:00"), time("08:00"))]),
                layer(anchor, "1d", &[3, 4], vec![Restriction::daily(time("08:00"), time("20:00"))]),
            ],
            vec![],
        );
        check(
            &schedule,
            "2026-03-06 00:00",
            "2026-03-09 12:00",
            expect![[r#"
                2026-03-06 00:00 EST → 2026-03-06 08:00 EST  nobody (8h)
                2026-03-06 08:00 EST → 2026-03-06 20:00 EST  user 3 (12h)
                2026-03-06 20:00 EST → 2026-03-07 08:00 EST  user 1 (12h)
                2026-03-07 08:00 EST → 2026-03-07 20:00 EST  user 4 (12h)
                2026-03-07 20:00 EST → 2026-03-08 08:00 EDT  user 2 (11h)
                2026-03-08 08:00 EDT → 2026-03-08 20:00 EDT  user 3 (12h)
                2026-03-08 20:00 EDT → 2026-03-09 08:00 EDT  user 1 (12h)
                2026-03-09 08:00 EDT → 2026-03-09 12:00 EDT  user 4 (4h)
            "#]],
        );
    }

    #[test]
    fn daily_window_crossing_midnight() {
        let time_zone = zone("Europe/Berlin");
        let schedule = schedule(
            &time_zone,
            vec![layer(
                local(&time_zone, "2026-10-23 12:00"),
                "2d",
                &[1, 2],
                vec![Restriction::daily(time("22:00"), time("06:00"))],
            )],
            vec![],
        );
        check(
            &schedule,
            "2026-10-23 00:00",
            "2026-10-27 00:00",
            expect![[r#"
                2026-10-23 00:00 CEST → 2026-10-23 22:00 CEST  nobody (22h)
                2026-10-23 22:00 CEST → 2026-10-24 06:00 CEST  user 1 (8h)
                2026-10-24 06:00 CEST → 2026-10-24 22:00 CEST  nobody (16h)
                2026-10-24 22:00 CEST → 2026-10-25 06:00 CET  user 1 (9h)
                2026-10-25 06:00 CET → 2026-10-25 22:00 CET  nobody (16h)
                2026-10-25 22:00 CET → 2026-10-26 06:00 CET  user 2 (8h)
                2026-10-26 06:00 CET → 2026-10-26 22:00 CET  nobody (16h)
                2026-10-26 22:00 CET → 2026-10-27 00:00 CET  user 2 (2h)
            "#]],
        );
    }

    #[test]
    fn weekly_window_wrapping_the_week() {
        let time_zone = zone("America/New_York");
        let weekend = Restriction::weekly(Friday, time("17:00"), Monday, time("09:00"));
        let schedule = schedule(
            &time_zone,
            vec![layer(local(&time_zone, "2026-01-02 17:00"), "1w", &[1, 2, 3], vec![weekend])],
            vec![],
        );
        check(
            &schedule,
            "2026-02-25 00:00",
            "2026-03-18 00:00",
            expect![[r#"
                2026-02-25 00:00 EST → 2026-02-27 17:00 EST  nobody (65h)
                2026-02-27 17:00 EST → 2026-03-02 09:00 EST  user 3 (64h)
                2026-03-02 09:00 EST → 2026-03-06 17:00 EST  nobody (104h)
                2026-03-06 17:00 EST → 2026-03-09 09:00 EDT  user 1 (63h)
                2026-03-09 09:00 EDT → 2026-03-13 17:00 EDT  nobody (104h)
                2026-03-13 17:00 EDT → 2026-03-16 09:00 EDT  user 2 (64h)
                2026-03-16 09:00 EDT → 2026-03-18 00:00 EDT  nobody (39h)
            "#]],
        );
    }

    #[test]
    fn overrides_beat_layers_and_the_later_start_wins() {
        let time_zone = zone("Europe/Berlin");
        let overrides = vec![
            // Spans the hand-off from user 1 to user 2 on Monday 09:00.
            cover(&time_zone, 7, "2026-06-05 18:00", "2026-06-09 12:00"),
            // Two overlapping overrides: 9 starts later, so 9 wins until it ends and 8 resumes.
            cover(&time_zone, 8, "2026-06-10 08:00", "2026-06-12 08:00"),
            cover(&time_zone, 9, "2026-06-11 00:00", "2026-06-11 12:00"),
            // Same start: the later one in the list wins.
            cover(&time_zone, 5, "2026-06-13 00:00", "2026-06-13 06:00"),
            cover(&time_zone, 6, "2026-06-13 00:00", "2026-06-13 06:00"),
            // The user already on call: merges into the surrounding shift.
            cover(&time_zone, 2, "2026-06-14 10:00", "2026-06-14 12:00"),
        ];
        let schedule = schedule(
            &time_zone,
            vec![layer(local(&time_zone, "2026-06-01 09:00"), "1w", &[1, 2], vec![])],
            overrides,
        );
        check(
            &schedule,
            "2026-06-01 09:00",
            "2026-06-15 09:00",
            expect![[r#"
                2026-06-01 09:00 CEST → 2026-06-05 18:00 CEST  user 1 (105h)
                2026-06-05 18:00 CEST → 2026-06-09 12:00 CEST  user 7 (90h)
                2026-06-09 12:00 CEST → 2026-06-10 08:00 CEST  user 2 (20h)
                2026-06-10 08:00 CEST → 2026-06-11 00:00 CEST  user 8 (16h)
                2026-06-11 00:00 CEST → 2026-06-11 12:00 CEST  user 9 (12h)
                2026-06-11 12:00 CEST → 2026-06-12 08:00 CEST  user 8 (20h)
                2026-06-12 08:00 CEST → 2026-06-13 00:00 CEST  user 2 (16h)
                2026-06-13 00:00 CEST → 2026-06-13 06:00 CEST  user 6 (6h)
                2026-06-13 06:00 CEST → 2026-06-15 09:00 CEST  user 2 (51h)
            "#]],
        );
    }

    #[test]
    fn nobody_before_the_layer_starts() {
        let time_zone = TimeZone::UTC;
        let schedule = schedule(
            &time_zone,
            vec![layer(local(&time_zone, "2026-01-01 12:00"), "8h", &[1, 2, 3], vec![])],
            vec![cover(&time_zone, 4, "2025-12-31 22:00", "2026-01-01 02:00")],
        );
        check(
            &schedule,
            "2025-12-31 20:00",
            "2026-01-02 12:00",
            expect![[r#"
                2025-12-31 20:00 UTC → 2025-12-31 22:00 UTC  nobody (2h)
                2025-12-31 22:00 UTC → 2026-01-01 02:00 UTC  user 4 (4h)
                2026-01-01 02:00 UTC → 2026-01-01 12:00 UTC  nobody (10h)
                2026-01-01 12:00 UTC → 2026-01-01 20:00 UTC  user 1 (8h)
                2026-01-01 20:00 UTC → 2026-01-02 04:00 UTC  user 2 (8h)
                2026-01-02 04:00 UTC → 2026-01-02 12:00 UTC  user 3 (8h)
            "#]],
        );
    }

    #[test]
    fn shift_ranges_are_bounded() {
        let time_zone = TimeZone::UTC;
        let start = local(&time_zone, "2026-01-01 00:00");
        let schedule = schedule(&time_zone, vec![layer(start, "1h", &[1, 2], vec![])], vec![]);
        let day = SignedDuration::from_hours(24);
        let mut out = String::new();
        for (from, to) in [
            (start, start),
            (start, start + day * 400),
            (start, start + day * 400 + SignedDuration::from_nanos(1)),
            (start + day, start),
        ] {
            let result = schedule.shifts(from, to).map(|shifts| format!("{} shifts", shifts.len()));
            out.push_str(&format!("{result:?}\n"));
        }
        out.push_str(&format!("{:?}\n", schedule.layer_shifts(1, start, start)));
        expect![[r#"
            Ok("0 shifts")
            Ok("9600 shifts")
            Err("shift range from 2026-01-01T00:00:00Z to 2027-02-05T00:00:00.000000001Z is longer than 400 days; ask for a shorter range")
            Err("shift range ends at 2026-01-01T00:00:00Z, before it starts at 2026-01-02T00:00:00Z")
            Err("schedule has no layer 1; it has 1 layers")
        "#]]
        .assert_eq(&out);
    }

    #[test]
    fn the_largest_schedule_over_the_longest_range_stays_consistent() {
        // Every bound at its maximum: walking boundaries keeps this to a fraction of a second.
        let time_zone = zone("Europe/Berlin");
        let start = local(&time_zone, "2026-01-01 00:00");
        let minutes = |count: i64| start + SignedDuration::from_mins(count);
        let at = |hour: i64, minute: i64| Time::new((hour % 24) as i8, (minute % 60) as i8, 0, 0).unwrap();
        let layers = (0..SCHEDULE_LAYERS_MAX as i64)
            .map(|layer| Layer {
                start: minutes(layer * 7),
                shift: ShiftLength::Hours(1),
                users: (1..=LAYER_USERS_MAX as i64).collect(),
                restrictions: (0..LAYER_RESTRICTIONS_MAX as i64)
                    .map(|window| {
                        Restriction::daily(
                            at(window + layer, window * 7 + layer),
                            at(window * 5 + 3, window * 11 + layer * 3 + 1),
                        )
                    })
                    .collect(),
            })
            .collect();
        let overrides = (0..SCHEDULE_OVERRIDES_MAX as i64)
            .map(|index| Override {
                user: 500 + index,
                start: minutes(index * 577),
                end: minutes(index * 577 + 3000),
            })
            .collect();
        let schedule = schedule(&time_zone, layers, overrides);
        let to = start + SignedDuration::from_hours(24 * SHIFTS_RANGE_DAYS_MAX);
        let shifts = schedule.shifts(start, to).unwrap();
        assert_well_formed(&shifts, start, to);
        for shift in shifts.iter().step_by(10) {
            assert_eq!(schedule.on_call(shift.start), Some(shift.user));
        }
    }

    #[test]
    fn shift_length_parses_and_prints() {
        let mut out = String::new();
        for text in [
            "12h",
            "1d",
            "1w",
            "52w",
            "8736h",
            "364d",
            "0h",
            "53w",
            "8737h",
            "365d",
            "",
            "h",
            "12",
            "12m",
            "12H",
            "+1h",
            "1.5h",
            " 1h",
            "99999999999h",
            "1é",
        ] {
            let result = ShiftLength::parse(text).map(|shift| shift.to_string());
            out.push_str(&format!("{text:?} {result:?}\n"));
        }
        expect![[r#"
            "12h" Ok("12h")
            "1d" Ok("1d")
            "1w" Ok("1w")
            "52w" Ok("52w")
            "8736h" Ok("8736h")
            "364d" Ok("364d")
            "0h" Err("shift length 0h is shorter than 1 hour")
            "53w" Err("shift length 53w is longer than 52 weeks")
            "8737h" Err("shift length 8737h is longer than 52 weeks")
            "365d" Err("shift length 365d is longer than 52 weeks")
            "" Err("invalid shift length \"\": expected a number followed by h, d or w, such as 12h, 1d or 1w")
            "h" Err("invalid shift length \"h\": expected a number followed by h, d or w, such as 12h, 1d or 1w")
            "12" Err("invalid shift length \"12\": expected a number followed by h, d or w, such as 12h, 1d or 1w")
            "12m" Err("invalid shift length \"12m\": expected a number followed by h, d or w, such as 12h, 1d or 1w")
            "12H" Err("invalid shift length \"12H\": expected a number followed by h, d or w, such as 12h, 1d or 1w")
            "+1h" Err("invalid shift length \"+1h\": expected a number followed by h, d or w, such as 12h, 1d or 1w")
            "1.5h" Err("invalid shift length \"1.5h\": expected a number followed by h, d or w, such as 12h, 1d or 1w")
            " 1h" Err("invalid shift length \" 1h\": expected a number followed by h, d or w, such as 12h, 1d or 1w")
            "99999999999h" Err("shift length 99999999999h is longer than 52 weeks")
            "1é" Err("invalid shift length \"1é\": expected a number followed by h, d or w, such as 12h, 1d or 1w")
        "#]]
        .assert_eq(&out);
    }

    #[test]
    fn new_checks_bounds() {
        let berlin = zone("Europe/Berlin");
        let start = local(&berlin, "2026-01-05 09:00");
        let valid = || layer(start, "1w", &[1], vec![]);
        let with = |change: &dyn Fn(&mut Layer)| {
            let mut layer = valid();
            change(&mut layer);
            vec![layer]
        };
        let cases: Vec<(&str, TimeZone, Vec<Layer>, Vec<Override>)> = vec![
            ("valid", berlin.clone(), vec![valid()], vec![]),
            ("no layers", berlin.clone(), vec![], vec![]),
            ("fixed offset zone", TimeZone::fixed(jiff::tz::offset(2)), vec![valid()], vec![]),
            ("too many layers", berlin.clone(), vec![valid(); 21], vec![]),
            ("no users", berlin.clone(), with(&|layer| layer.users.clear()), vec![]),
            ("too many users", berlin.clone(), with(&|layer| layer.users = vec![1; 101]), vec![]),
            ("zero hours", berlin.clone(), with(&|layer| layer.shift = ShiftLength::Hours(0)), vec![]),
            ("53 weeks", berlin.clone(), with(&|layer| layer.shift = ShiftLength::Weeks(53)), vec![]),
            (
                "empty daily window",
                berlin.clone(),
                with(&|layer| layer.restrictions = vec![Restriction::daily(time("09:00"), time("09:00"))]),
                vec![],
            ),
            (
                "empty weekly window",
                berlin.clone(),
                with(&|layer| {
                    layer.restrictions = vec![
                        Restriction::daily(time("09:00"), time("17:00")),
                        Restriction::weekly(Saturday, time("10:00"), Saturday, time("10:00")),
                    ]
                }),
                vec![],
            ),
            (
                "weekly window, wraps",
                berlin.clone(),
                with(&|layer| {
                    layer.restrictions =
                        vec![Restriction::weekly(Sunday, time("10:00"), Sunday, time("09:00"))]
                }),
                vec![],
            ),
            (
                "daily window with day",
                berlin.clone(),
                with(&|layer| {
                    let mut restriction = Restriction::daily(time("09:00"), time("17:00"));
                    restriction.start_day = Some(Monday);
                    layer.restrictions = vec![restriction];
                }),
                vec![],
            ),
            (
                "weekly window no day",
                berlin.clone(),
                with(&|layer| {
                    let mut restriction = Restriction::weekly(Monday, time("09:00"), Friday, time("17:00"));
                    restriction.end_day = None;
                    layer.restrictions = vec![restriction];
                }),
                vec![],
            ),
            (
                "too many windows",
                berlin.clone(),
                with(&|layer| {
                    layer.restrictions = vec![Restriction::daily(time("09:00"), time("17:00")); 51]
                }),
                vec![],
            ),
            (
                "inverted override",
                berlin.clone(),
                vec![valid()],
                vec![Override { user: 3, start, end: start }],
            ),
            (
                "too many overrides",
                berlin.clone(),
                vec![valid()],
                vec![Override { user: 3, start, end: start + SignedDuration::from_hours(1) }; 1001],
            ),
        ];
        let mut out = String::new();
        for (name, time_zone, layers, overrides) in cases {
            let result = Schedule::new(time_zone, layers, overrides).map(|_| "ok");
            out.push_str(&format!("{name:<22} {result:?}\n"));
        }
        expect![[r#"
            valid                  Ok("ok")
            no layers              Ok("ok")
            fixed offset zone      Err("schedule time zone must be an IANA time zone such as Europe/Berlin")
            too many layers        Err("schedule has 21 layers; at most 20 are allowed")
            no users               Err("layer 0 has no users")
            too many users         Err("layer 0 has 101 users; at most 100 are allowed")
            zero hours             Err("layer 0 shift length 0h is shorter than 1 hour")
            53 weeks               Err("layer 0 shift length 53w is longer than 52 weeks")
            empty daily window     Err("layer 0 restriction 0 is empty: it starts and ends at 09:00:00")
            empty weekly window    Err("layer 0 restriction 1 is empty: it starts and ends at 10:00:00")
            weekly window, wraps   Ok("ok")
            daily window with day  Err("layer 0 restriction 0 is daily but names a day")
            weekly window no day   Err("layer 0 restriction 0 is weekly but lacks a start day or an end day")
            too many windows       Err("layer 0 has 51 restrictions; at most 50 are allowed")
            inverted override      Err("override 0 for user 3 ends at 2026-01-05T08:00:00Z, which is not after its start at 2026-01-05T08:00:00Z")
            too many overrides     Err("schedule has 1001 overrides; at most 1000 are allowed")
        "#]]
        .assert_eq(&out);
    }

    const ZONES: &[&str] =
        &["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "Pacific/Apia"];

    /// An instant within 20 days of a DST change in one of `ZONES`, sometimes on a whole quarter hour
    /// so that boundaries from different sources coincide.
    fn instant() -> impl Strategy<Value = Timestamp> {
        let changes = [
            "2026-03-08T07:00Z", // America/New_York spring
            "2026-03-29T01:00Z", // Europe/Berlin spring
            "2026-04-04T15:00Z", // Australia/Lord_Howe autumn
            "2026-10-03T15:30Z", // Australia/Lord_Howe spring
            "2026-10-25T01:00Z", // Europe/Berlin autumn
            "2026-11-01T06:00Z", // America/New_York autumn
        ]
        .map(|text| text.parse::<Timestamp>().unwrap());
        let offset = prop_oneof![
            (-1_920i64..1_920).prop_map(|quarters| SignedDuration::from_mins(quarters * 15)),
            (-1_728_000i64..1_728_000).prop_map(SignedDuration::from_secs),
        ];
        (prop::sample::select(changes.to_vec()), offset).prop_map(|(change, offset)| change + offset)
    }

    fn shift_length() -> impl Strategy<Value = ShiftLength> {
        prop_oneof![
            (1u32..=48).prop_map(ShiftLength::Hours),
            (1u32..=10).prop_map(ShiftLength::Days),
            (1u32..=3).prop_map(ShiftLength::Weeks),
        ]
    }

    /// A local time, often one that falls into a DST gap or fold somewhere.
    fn time_of_day() -> impl Strategy<Value = Time> {
        let quarter = (0i8..24, prop::sample::select(vec![0i8, 15, 30, 45]));
        let tricky = prop::sample::select(vec![(1, 30), (2, 0), (2, 15), (2, 30), (3, 0)]);
        prop_oneof![quarter, tricky].prop_map(|(hour, minute)| Time::new(hour, minute, 0, 0).unwrap())
    }

    fn weekday() -> impl Strategy<Value = Weekday> {
        (0i8..7).prop_map(|offset| Weekday::from_monday_zero_offset(offset).unwrap())
    }

    fn restriction() -> impl Strategy<Value = Restriction> {
        prop_oneof![
            (time_of_day(), time_of_day()).prop_map(|(start, end)| Restriction::daily(start, end)),
            (weekday(), time_of_day(), weekday(), time_of_day()).prop_map(
                |(start_day, start, end_day, end)| Restriction::weekly(start_day, start, end_day, end)
            ),
        ]
    }

    fn any_layer(restrictions_max: usize) -> impl Strategy<Value = Layer> {
        (
            instant(),
            shift_length(),
            prop::collection::vec(1i64..6, 1..4),
            prop::collection::vec(restriction(), 0..=restrictions_max),
        )
            .prop_map(|(start, shift, users, restrictions)| Layer {
                start,
                shift,
                users,
                restrictions,
            })
    }

    fn any_override() -> impl Strategy<Value = Override> {
        (10i64..13, instant(), 1i64..864_000).prop_map(|(user, start, secs)| Override {
            user,
            start,
            end: start + SignedDuration::from_secs(secs),
        })
    }

    fn any_schedule() -> impl Strategy<Value = Schedule> {
        (
            prop::sample::select(ZONES),
            prop::collection::vec(any_layer(3), 0..4),
            prop::collection::vec(any_override(), 0..4),
        )
            .prop_filter_map("invalid schedule", |(name, layers, overrides)| {
                Schedule::new(zone(name), layers, overrides).ok()
            })
    }

    /// A range of up to 10 days starting at a random instant.
    fn range() -> impl Strategy<Value = (Timestamp, Timestamp)> {
        (instant(), 0i64..864_000).prop_map(|(from, secs)| (from, from + SignedDuration::from_secs(secs)))
    }

    /// Checks the shape every result of `shifts` must have.
    fn assert_well_formed(shifts: &[Shift], from: Timestamp, to: Timestamp) {
        for shift in shifts {
            assert!(
                from <= shift.start && shift.start < shift.end && shift.end <= to,
                "{shift:?} in [{from}, {to})"
            );
        }
        for pair in shifts.windows(2) {
            assert!(pair[0].end <= pair[1].start, "sorted and not overlapping: {pair:?}");
            assert!(pair[0].end < pair[1].start || pair[0].user != pair[1].user, "not merged: {pair:?}");
        }
    }

    /// The user of the shift containing `at`, or `None` in a gap.
    fn containing(shifts: &[Shift], at: Timestamp) -> Option<Id> {
        let position = shifts.partition_point(|shift| shift.end <= at);
        shifts.get(position).filter(|shift| shift.start <= at).map(|shift| shift.user)
    }

    /// Instants worth probing: every quarter hour since `from` (where all generated window edges and
    /// DST changes fall), random ones, and both sides of every boundary.
    fn probes(shifts: &[Shift], from: Timestamp, to: Timestamp, random: &[u32]) -> Vec<Timestamp> {
        let nano = SignedDuration::from_nanos(1);
        let quarter = SignedDuration::from_mins(15);
        let first_quarter =
            from.round(jiff::TimestampRound::new().smallest(jiff::Unit::Minute).increment(15)).unwrap();
        let span = to.duration_since(from).as_secs_f64();
        let mut probes: Vec<Timestamp> = random
            .iter()
            .map(|fraction| {
                from + SignedDuration::from_secs_f64(span * f64::from(*fraction) / f64::from(u32::MAX))
            })
            .collect();
        probes.extend(
            std::iter::successors(Some(first_quarter - quarter), |at| Some(*at + quarter))
                .take_while(|at| *at < to),
        );
        for shift in shifts {
            probes.extend([shift.start - nano, shift.start, shift.end - nano, shift.end]);
        }
        probes.retain(|at| from <= *at && *at < to);
        probes
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn shifts_agree_with_on_call(
            schedule in any_schedule(),
            (from, to) in range(),
            random in prop::collection::vec(any::<u32>(), 64),
        ) {
            let shifts = schedule.shifts(from, to).unwrap();
            assert_well_formed(&shifts, from, to);
            for at in probes(&shifts, from, to, &random) {
                prop_assert_eq!(schedule.on_call(at), containing(&shifts, at), "at {}", at);
            }
            for (layer_index, layer) in schedule.layers.iter().enumerate() {
                let shifts = schedule.layer_shifts(layer_index, from, to).unwrap();
                assert_well_formed(&shifts, from, to);
                for at in probes(&shifts, from, to, &random) {
                    prop_assert_eq!(layer.on_call(&schedule.time_zone, at), containing(&shifts, at), "at {}", at);
                }
            }
        }

        #[test]
        fn an_unrestricted_layer_always_has_exactly_one_user_on_call(
            name in prop::sample::select(ZONES),
            layer in any_layer(0),
            (from, to) in range(),
            random in prop::collection::vec(any::<u32>(), 64),
        ) {
            let start = layer.start;
            let schedule = Schedule::new(zone(name), vec![layer], vec![]).unwrap();
            let from = from.max(start);
            let to = to.max(from);
            let shifts = schedule.shifts(from, to).unwrap();
            for at in probes(&shifts, from, to, &random) {
                prop_assert!(schedule.on_call(at).is_some(), "nobody on call at {}", at);
            }
            let covered: Vec<(Timestamp, Timestamp)> = shifts.iter().map(|shift| (shift.start, shift.end)).collect();
            if from < to {
                prop_assert_eq!(covered.first().map(|range| range.0), Some(from));
                prop_assert_eq!(covered.last().map(|range| range.1), Some(to));
                prop_assert!(covered.windows(2).all(|pair| pair[0].1 == pair[1].0), "gap in {:?}", covered);
            } else {
                prop_assert!(shifts.is_empty());
            }
        }

        #[test]
        fn day_and_week_hand_offs_keep_the_local_time(
            name in prop::sample::select(ZONES),
            start in instant(),
            days in 1u32..=10,
            weeks in any::<bool>(),
            (from, to) in range(),
        ) {
            let time_zone = zone(name);
            let shift = if weeks { ShiftLength::Weeks(days.min(3)) } else { ShiftLength::Days(days) };
            let layer = Layer { start, shift, users: vec![1, 2, 3], restrictions: vec![] };
            let schedule = Schedule::new(time_zone.clone(), vec![layer], vec![]).unwrap();
            let anchor = time_zone.to_datetime(start);
            for shift in schedule.shifts(from, to).unwrap().iter().skip(1) {
                // Each hand-off is the anchor's wall-clock time on its day, resolved compatibly.
                let date = time_zone.to_datetime(shift.start).date();
                let candidates = [date.yesterday().unwrap(), date, date.tomorrow().unwrap()]
                    .map(|date| time_zone.to_ambiguous_timestamp(date.to_datetime(anchor.time())).compatible().unwrap());
                prop_assert!(candidates.contains(&shift.start), "hand-off at {} for anchor {}", shift.start, start);
            }
        }

        #[test]
        fn unvalidated_schedules_do_not_panic(
            name in prop::sample::select(ZONES),
            hours in prop::sample::select(vec![0u32, 1, 7, u32::MAX]),
            users in prop::collection::vec(any::<i64>(), 0..3),
            start_time in time_of_day(),
            start_day in prop::option::of(weekday()),
            end_day in prop::option::of(weekday()),
            daily in any::<bool>(),
            start in instant(),
            override_secs in -100_000i64..100_000,
            (from, to) in range(),
            at in instant(),
        ) {
            let kind = if daily { RestrictionKind::Daily } else { RestrictionKind::Weekly };
            let restriction = Restriction { kind, start_day, start_time, end_day, end_time: start_time };
            let schedule = Schedule {
                time_zone: zone(name),
                layers: vec![
                    Layer { start, shift: ShiftLength::Hours(hours), users: users.clone(), restrictions: vec![] },
                    Layer { start, shift: ShiftLength::Weeks(hours), users, restrictions: vec![restriction] },
                ],
                overrides: vec![Override { user: 9, start, end: start + SignedDuration::from_secs(override_secs) }],
            };
            let _ = schedule.on_call(at);
            let _ = schedule.on_call(Timestamp::MIN);
            let _ = schedule.on_call(Timestamp::MAX);
            let shifts = schedule.shifts(from, to).unwrap();
            assert_well_formed(&shifts, from, to);
            let _ = schedule.shifts(Timestamp::MAX - SignedDuration::from_hours(100), Timestamp::MAX);
            let _ = schedule.shifts(Timestamp::MIN, Timestamp::MIN + SignedDuration::from_hours(100));
        }
    }
}
