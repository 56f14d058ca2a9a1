//! Scripted escalations in simulated time, printed as timelines.
//!
//! [`check`] plays a script against a model of the driver: before each scripted line it processes
//! every deadline that came due, on time, unless the driver is down; it saves the escalation to a
//! plain record after every committed step and loads it back before the next one, as the store
//! would, so every script also proves that nothing is lost or repeated across a restart.

use std::collections::HashSet;

use expect_test::{Expect, expect};
use firebreak_engine::{Action, Escalation, EscalationState, Input, Policy, next_deadline, start, step};
use jiff::{SignedDuration, Timestamp};

use crate::{policy, t0};

/// An escalation as the store keeps it: one column per field, the deadline as RFC 3339 text.
#[derive(Clone, Debug)]
struct Record {
    incident_id: i64,
    generation: i64,
    pass: i64,
    level: i64,
    state: String,
    next_deadline: Option<String>,
}

fn to_record(escalation: &Escalation) -> Record {
    escalation.check().expect("a consistent escalation before saving");
    Record {
        incident_id: escalation.incident_id,
        generation: escalation.generation.into(),
        pass: escalation.pass.into(),
        level: escalation.level.into(),
        state: escalation.state.as_str().to_owned(),
        next_deadline: escalation.next_deadline.map(|deadline| deadline.to_string()),
    }
}

fn from_record(record: &Record) -> Escalation {
    let escalation = Escalation {
        incident_id: record.incident_id,
        generation: record.generation.try_into().expect("a generation"),
        pass: record.pass.try_into().expect("a pass"),
        level: record.level.try_into().expect("a level"),
        state: EscalationState::parse(&record.state).expect("a state"),
        next_deadline: record.next_deadline.as_ref().map(|deadline| deadline.parse().expect("a timestamp")),
    };
    escalation.check().expect("a consistent escalation after loading");
    escalation
}

/// The driver as the script sees it.
struct Driver<'a> {
    policies: &'a [Policy],
    /// Index into `policies` of the policy in force.
    policy: usize,
    record: Option<Record>,
    /// Whether deadlines are processed. Inputs are applied either way: they arrive with the change to
    /// the incident, while deadlines need the driver's timer.
    up: bool,
    keys: HashSet<String>,
    /// Keys of the pages computed by the step that crashed.
    uncommitted: HashSet<String>,
    out: String,
}

/// Plays `script` under `policies[0]` (later ones come into force with `edit`) and compares the
/// timeline with `expected`.
///
/// Each script line is `HH:MM event`, counted from [`t0`], with these events: `trigger` (start),
/// `ack`, `resolve`, `retrigger` (inputs), `down` (the driver stops processing deadlines), `up` (it
/// restarts and catches up), `crash` (it processes the deadlines due now, then dies before
/// committing), `edit` (the next policy comes into force) and `end` (deadlines up to here, then stop).
fn check(policies: &[Policy], script: &str, expected: Expect) {
    let mut driver = Driver {
        policies,
        policy: 0,
        record: None,
        up: true,
        keys: HashSet::new(),
        uncommitted: HashSet::new(),
        out: String::new(),
    };
    for line in script.lines().map(str::trim).filter(|line| !line.is_empty()) {
        let (time, event) = line.split_once(' ').expect("a line `HH:MM event`");
        let now = parse_time(time);
        if driver.up {
            // A crash happens in the tick at `now`, so only the deadlines before it were committed.
            let inclusive = event.trim() != "crash";
            driver.catch_up_to(now, inclusive);
        }
        driver.run(event.trim(), now);
    }
    expected.assert_eq(&driver.out);
}

impl Driver<'_> {
    fn policy(&self) -> &Policy {
        &self.policies[self.policy]
    }

    fn load(&self) -> Escalation {
        from_record(self.record.as_ref().expect("a triggered incident"))
    }

    /// Processes every deadline at or before `now` (before it, unless `inclusive`) on time, one tick
    /// per deadline.
    fn catch_up_to(&mut self, now: Timestamp, inclusive: bool) {
        while let Some(record) = &self.record {
            let Some(deadline) = next_deadline(&from_record(record)) else { break };
            if deadline > now || (deadline == now && !inclusive) {
                break;
            }
            let (escalation, actions) = step(&self.load(), self.policy(), Input::Tick, deadline);
            self.commit(deadline, escalation, actions);
        }
    }

    fn run(&mut self, event: &str, now: Timestamp) {
        let input = match event {
            "trigger" => {
                assert!(self.record.is_none(), "trigger starts an escalation; use retrigger afterwards");
                self.line(now, "triggered");
                let (escalation, actions) = start(12, self.policy(), now);
                self.commit(now, escalation, actions);
                return;
            }
            "ack" => Input::Acknowledged,
            "resolve" => Input::Resolved,
            "retrigger" => Input::Retriggered,
            "down" => {
                self.up = false;
                self.line(now, "down");
                return;
            }
            "up" => {
                self.up = true;
                self.line(now, "up");
                let (escalation, actions) = step(&self.load(), self.policy(), Input::Tick, now);
                self.commit(now, escalation, actions);
                return;
            }
            "crash" => {
                let (_, actions) = step(&self.load(), self.policy(), Input::Tick, now);
                self.uncommitted = actions
                    .iter()
                    .filter_map(
                        |action| if let Action::Page(page) = action { Some(page.key()) } else { None },
                    )
                    .collect();
                self.up = false;
                self.line(now, &format!("crash      before committing {} pages", self.uncommitted.len()));
                return;
            }
            "edit" => {
                self.policy += 1;
                self.line(now, "policy edited");
                return;
            }
            "end" => return,
            _ => panic!("unknown script event {event:?}"),
        };
        let before = self.load();
        let (escalation, actions) = step(&before, self.policy(), input, now);
        let name = match input {
            Input::Acknowledged => "acknowledged",
            Input::Resolved => "resolved",
            Input::Retriggered => "retriggered",
            Input::Tick => "tick",
        };
        if escalation == before && actions.is_empty() {
            self.line(now, &format!("{name:<12} (no change)"));
        } else {
            self.line(now, name);
        }
        self.commit(now, escalation, actions);
    }

    /// Saves the escalation and prints the actions, as the driver's transaction would.
    fn commit(&mut self, now: Timestamp, escalation: Escalation, actions: Vec<Action>) {
        if let Some(deadline) = next_deadline(&escalation) {
            assert!(deadline > now, "the next deadline {deadline} is not after the step at {now}");
        }
        for action in &actions {
            if let Action::Page(page) = action {
                assert!(self.keys.insert(page.key()), "page {} was sent twice", page.key());
            }
            let due = match action {
                Action::Page(page) => page.due,
                Action::Exhausted { due, .. } => *due,
            };
            let late = now.duration_since(due);
            let late = if late.is_zero() { String::new() } else { format!(" late={late:#}") };
            let again = match action {
                Action::Page(page) if self.uncommitted.remove(&page.key()) => {
                    " (same key as before the crash)"
                }
                _ => "",
            };
            self.line(now, &format!("{}{late}{again}", describe(action)));
        }
        self.record = Some(to_record(&escalation));
    }

    fn line(&mut self, at: Timestamp, text: &str) {
        let offset_mins = at.duration_since(t0()).as_mins();
        self.out.push_str(&format!("{:02}:{:02}  {text}\n", offset_mins / 60, offset_mins % 60));
    }
}

fn describe(action: &Action) -> String {
    match action {
        Action::Page(page) => {
            let wakes = if page.wakes_management { " wakes-management" } else { "" };
            let generation =
                if page.generation == 1 { String::new() } else { format!("gen={} ", page.generation) };
            format!("page       {generation}pass={} level={} {}{wakes}", page.pass, page.level, page.target)
        }
        Action::Exhausted { generation, .. } => format!("exhausted  gen={generation}"),
    }
}

fn parse_time(time: &str) -> Timestamp {
    let (hours, mins) = time.split_once(':').expect("a time `HH:MM`");
    let mins = hours.parse::<i64>().expect("hours") * 60 + mins.parse::<i64>().expect("minutes");
    t0() + SignedDuration::from_mins(mins)
}

fn three_levels() -> Policy {
    policy("5m user=1; 5m schedule=7; 10m team=3 user=4 wakes; repeat=2")
}

#[test]
fn runs_to_exhaustion_through_every_pass() {
    check(
        &[three_levels()],
        "
        00:00 trigger
        02:00 end
        ",
        expect![[r#"
            00:00  triggered
            00:00  page       pass=1 level=1 user=1
            00:05  page       pass=1 level=2 schedule=7
            00:10  page       pass=1 level=3 team=3 wakes-management
            00:10  page       pass=1 level=3 user=4 wakes-management
            00:20  page       pass=2 level=1 user=1
            00:25  page       pass=2 level=2 schedule=7
            00:30  page       pass=2 level=3 team=3 wakes-management
            00:30  page       pass=2 level=3 user=4 wakes-management
            00:40  page       pass=3 level=1 user=1
            00:45  page       pass=3 level=2 schedule=7
            00:50  page       pass=3 level=3 team=3 wakes-management
            00:50  page       pass=3 level=3 user=4 wakes-management
            01:00  exhausted  gen=1
        "#]],
    );
}

#[test]
fn acknowledging_stops_paging() {
    check(
        &[three_levels()],
        "
        00:00 trigger
        00:07 ack
        00:08 ack
        01:00 resolve
        02:00 end
        ",
        expect![[r#"
            00:00  triggered
            00:00  page       pass=1 level=1 user=1
            00:05  page       pass=1 level=2 schedule=7
            00:07  acknowledged
            00:08  acknowledged (no change)
            01:00  resolved
        "#]],
    );
}

#[test]
fn resolving_stops_everything_and_retriggering_restarts_at_level_one() {
    check(
        &[three_levels()],
        "
        00:00 trigger
        00:06 resolve
        00:06 resolve
        00:30 retrigger
        00:31 retrigger
        00:33 ack
        00:40 resolve
        01:00 retrigger
        01:12 end
        ",
        expect![[r#"
            00:00  triggered
            00:00  page       pass=1 level=1 user=1
            00:05  page       pass=1 level=2 schedule=7
            00:06  resolved
            00:06  resolved     (no change)
            00:30  retriggered
            00:30  page       gen=2 pass=1 level=1 user=1
            00:31  retriggered  (no change)
            00:33  acknowledged
            00:40  resolved
            01:00  retriggered
            01:00  page       gen=3 pass=1 level=1 user=1
            01:05  page       gen=3 pass=1 level=2 schedule=7
            01:10  page       gen=3 pass=1 level=3 team=3 wakes-management
            01:10  page       gen=3 pass=1 level=3 user=4 wakes-management
        "#]],
    );
}

#[test]
fn a_deadline_and_an_input_at_the_same_instant_page_first() {
    // Deadlines at or before `now` are due; the driver processes them before the input it receives
    // at that instant, which mirrors what happens when its timer wins the race.
    check(
        &[policy("5m user=1; 5m user=2")],
        "
        00:00 trigger
        00:05 ack
        ",
        expect![[r#"
            00:00  triggered
            00:00  page       pass=1 level=1 user=1
            00:05  page       pass=1 level=2 user=2
            00:05  acknowledged
        "#]],
    );
}

#[test]
fn exhausted_escalations_wait_for_people() {
    check(
        &[policy("5m user=1")],
        "
        00:00 trigger
        00:05 retrigger
        00:30 ack
        00:31 resolve
        00:40 retrigger
        00:50 end
        ",
        expect![[r#"
            00:00  triggered
            00:00  page       pass=1 level=1 user=1
            00:05  exhausted  gen=1
            00:05  retriggered  (no change)
            00:30  acknowledged
            00:31  resolved
            00:40  retriggered
            00:40  page       gen=2 pass=1 level=1 user=1
            00:45  exhausted  gen=2
        "#]],
    );
}

#[test]
fn restarts_in_the_middle_lose_and_repeat_nothing() {
    // Down between two deadlines: nothing was missed. Down across one: it is paged late on restart.
    // A crash after computing a step but before committing it: the next start recomputes the same
    // pages with the same keys (the checker would fail on a key sent twice).
    check(
        &[three_levels()],
        "
        00:00 trigger
        00:02 down
        00:04 up
        00:04 down
        00:06 up
        00:10 crash
        00:11 up
        00:12 down
        00:14 ack
        00:30 up
        00:40 resolve
        00:41 down
        00:45 retrigger
        00:46 up
        00:47 end
        ",
        expect![[r#"
            00:00  triggered
            00:00  page       pass=1 level=1 user=1
            00:02  down
            00:04  up
            00:04  down
            00:06  up
            00:06  page       pass=1 level=2 schedule=7 late=1m
            00:10  crash      before committing 2 pages
            00:11  up
            00:11  page       pass=1 level=3 team=3 wakes-management late=1m (same key as before the crash)
            00:11  page       pass=1 level=3 user=4 wakes-management late=1m (same key as before the crash)
            00:12  down
            00:14  acknowledged
            00:30  up
            00:40  resolved
            00:41  down
            00:45  retriggered
            00:45  page       gen=2 pass=1 level=1 user=1
            00:46  up
        "#]],
    );
}

#[test]
fn after_a_long_downtime_each_missed_level_is_paged_once_in_order() {
    check(
        &[three_levels()],
        "
        00:00 trigger
        00:01 down
        00:32 up
        00:33 down
        10:00 up
        ",
        expect![[r#"
            00:00  triggered
            00:00  page       pass=1 level=1 user=1
            00:01  down
            00:32  up
            00:32  page       pass=1 level=2 schedule=7 late=27m
            00:32  page       pass=1 level=3 team=3 wakes-management late=22m
            00:32  page       pass=1 level=3 user=4 wakes-management late=22m
            00:32  page       pass=2 level=1 user=1 late=12m
            00:32  page       pass=2 level=2 schedule=7 late=7m
            00:32  page       pass=2 level=3 team=3 wakes-management late=2m
            00:32  page       pass=2 level=3 user=4 wakes-management late=2m
            00:33  down
            10:00  up
            10:00  page       pass=3 level=1 user=1 late=9h 20m
            10:00  page       pass=3 level=2 schedule=7 late=9h 15m
            10:00  page       pass=3 level=3 team=3 wakes-management late=9h 10m
            10:00  page       pass=3 level=3 user=4 wakes-management late=9h 10m
            10:00  exhausted  gen=1 late=9h
        "#]],
    );
}

#[test]
fn an_acknowledgement_drops_the_late_page_it_overtook() {
    check(
        &[three_levels()],
        "
        00:00 trigger
        00:04 down
        00:06 ack
        00:07 up
        ",
        expect![[r#"
            00:00  triggered
            00:00  page       pass=1 level=1 user=1
            00:04  down
            00:06  acknowledged
            00:07  up
        "#]],
    );
}

#[test]
fn a_policy_edit_applies_from_the_next_deadline() {
    check(
        &[
            three_levels(),
            policy("10m user=9; repeat=1"),
            policy("5m user=1; 5m user=2; 5m user=3; repeat=1"),
        ],
        "
        00:00 trigger
        00:07 edit
        00:12 edit
        01:30 end
        ",
        expect![[r#"
            00:00  triggered
            00:00  page       pass=1 level=1 user=1
            00:05  page       pass=1 level=2 schedule=7
            00:07  policy edited
            00:10  page       pass=2 level=1 user=9
            00:12  policy edited
            00:20  page       pass=2 level=2 user=2
            00:25  page       pass=2 level=3 user=3
            00:30  exhausted  gen=1
        "#]],
    );
}
