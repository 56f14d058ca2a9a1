//! Laws of the state machine, checked on generated policies, histories and records, including
//! records no valid history produces.

use firebreak_engine::{
    Action, Escalation, EscalationState, Input, LEVELS_MAX, Level, Policy, REPEAT_COUNT_MAX, Target,
    next_deadline, start, step,
};
use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;

use crate::t0;

fn any_policy() -> impl Strategy<Value = Policy> {
    let level = (1i64..=60, 1usize..=3, any::<bool>()).prop_map(|(timeout_mins, target_count, team)| Level {
        timeout: SignedDuration::from_mins(timeout_mins),
        targets: (1..=target_count as i64)
            .map(|id| if team { Target::Team(id) } else { Target::User(id) })
            .collect(),
        wakes_management: false,
    });
    (prop::collection::vec(level, 1..=4), 0u32..=3, any::<prop::sample::Index>()).prop_map(
        |(mut levels, repeat, waking)| {
            let index = waking.index(levels.len());
            levels[index].wakes_management = true;
            Policy::parse(levels, repeat).expect("generated policies are valid")
        },
    )
}

fn any_input() -> impl Strategy<Value = Input> {
    prop_oneof![
        4 => Just(Input::Tick),
        1 => Just(Input::Acknowledged),
        1 => Just(Input::Resolved),
        1 => Just(Input::Retriggered),
    ]
}

/// A history: inputs, each after a pause of up to three hours.
fn any_history() -> impl Strategy<Value = Vec<(Input, i64)>> {
    prop::collection::vec((any_input(), 0i64..3 * 3600), 0..30)
}

/// Any timestamp jiff can represent, with the extremes made likely.
fn any_timestamp() -> impl Strategy<Value = Timestamp> {
    let min = Timestamp::MIN.as_second() + 1;
    let max = Timestamp::MAX.as_second() - 1;
    prop_oneof![
        1 => Just(Timestamp::MIN),
        1 => Just(Timestamp::MAX),
        8 => (min..=max).prop_map(|second| Timestamp::from_second(second).expect("in range")),
    ]
}

/// Any record, consistent or not.
fn any_record() -> impl Strategy<Value = Escalation> {
    let state = prop::sample::select(EscalationState::ALL);
    let small = prop_oneof![0u32..=(LEVELS_MAX as u32 + 2), Just(u32::MAX)];
    (any::<i64>(), small.clone(), small.clone(), small, state, prop::option::of(any_timestamp())).prop_map(
        |(incident_id, generation, pass, level, state, next_deadline)| Escalation {
            incident_id,
            generation,
            pass,
            level,
            state,
            next_deadline,
        },
    )
}

/// Replays `history` from a start at [`t0`], returning the final escalation, its time and every
/// action emitted.
fn replay(policy: &Policy, history: &[(Input, i64)]) -> (Escalation, Timestamp, Vec<Action>) {
    let mut now = t0();
    let (mut escalation, mut actions) = start(1, policy, now);
    for (input, pause_secs) in history {
        now += SignedDuration::from_secs(*pause_secs);
        let (next, more) = step(&escalation, policy, *input, now);
        escalation = next;
        actions.extend(more);
    }
    (escalation, now, actions)
}

proptest! {
    /// A tick before the next deadline (the driver looking early, or a clock that moved back)
    /// changes nothing and pages no one.
    #[test]
    fn a_tick_before_the_deadline_changes_nothing(
        policy in any_policy(), history in any_history(), early_secs in 1i64..86_400,
    ) {
        let (escalation, now, _) = replay(&policy, &history);
        if let Some(deadline) = next_deadline(&escalation) {
            let at = (deadline - SignedDuration::from_secs(early_secs)).max(now);
            prop_assume!(at < deadline);
            let (next, actions) = step(&escalation, &policy, Input::Tick, at);
            prop_assert_eq!(next, escalation);
            prop_assert_eq!(actions, vec![]);
        }
    }

    #[test]
    fn any_record_any_input_terminates_and_stays_bounded(
        record in any_record(), policy in any_policy(), input in any_input(), now in any_timestamp(),
    ) {
        let (next, actions) = step(&record, &policy, input, now);
        let pages_max = policy.levels().iter().map(|level| level.targets.len()).sum::<usize>()
            * (REPEAT_COUNT_MAX as usize + 2);
        prop_assert!(actions.len() <= pages_max + 1);
        if record.check().is_ok() {
            prop_assert_eq!(next.check(), Ok(()));
        }
    }

    #[test]
    fn valid_histories_keep_records_consistent(policy in any_policy(), history in any_history()) {
        let (escalation, now, actions) = replay(&policy, &history);
        prop_assert_eq!(escalation.check(), Ok(()));
        let (escalation, _) = step(&escalation, &policy, Input::Tick, now);
        prop_assert_eq!(escalation.check(), Ok(()));
        if let Some(deadline) = next_deadline(&escalation) {
            prop_assert!(deadline > now, "deadline {} is not after {}", deadline, now);
        }
        for action in &actions {
            if let Action::Page(page) = action {
                prop_assert!(page.pass <= policy.passes());
            }
        }
    }

    #[test]
    fn a_second_tick_at_the_same_instant_changes_nothing(policy in any_policy(), history in any_history(), extra_secs in 0i64..86_400) {
        let (escalation, now, _) = replay(&policy, &history);
        let now = now + SignedDuration::from_secs(extra_secs);
        let (once, _) = step(&escalation, &policy, Input::Tick, now);
        let (twice, actions) = step(&once, &policy, Input::Tick, now);
        prop_assert_eq!(twice, once);
        prop_assert_eq!(actions, vec![]);
    }

    #[test]
    fn how_often_the_driver_ticks_does_not_change_the_outcome(
        policy in any_policy(), history in any_history(), first_secs in 0i64..86_400, second_secs in 0i64..86_400,
    ) {
        let (escalation, now, _) = replay(&policy, &history);
        let early = now + SignedDuration::from_secs(first_secs);
        let late = early + SignedDuration::from_secs(second_secs);
        let (in_one, actions_in_one) = step(&escalation, &policy, Input::Tick, late);
        let (halfway, mut actions_in_two) = step(&escalation, &policy, Input::Tick, early);
        let (in_two, rest) = step(&halfway, &policy, Input::Tick, late);
        actions_in_two.extend(rest);
        prop_assert_eq!(in_two, in_one);
        prop_assert_eq!(actions_in_two, actions_in_one);
    }

    #[test]
    fn acknowledged_or_resolved_escalations_page_no_one(
        policy in any_policy(), history in any_history(), stop in prop_oneof![Just(Input::Acknowledged), Just(Input::Resolved)],
        later in prop::collection::vec((prop_oneof![Just(Input::Tick), Just(Input::Acknowledged)], 0i64..86_400), 0..10),
    ) {
        let (escalation, mut now, _) = replay(&policy, &history);
        let (mut escalation, actions) = step(&escalation, &policy, stop, now);
        prop_assert_eq!(actions, vec![]);
        for (input, pause_secs) in later {
            now += SignedDuration::from_secs(pause_secs);
            let (next, actions) = step(&escalation, &policy, input, now);
            prop_assert_eq!(actions, vec![]);
            prop_assert_eq!(next_deadline(&next), None);
            escalation = next;
        }
    }
}
