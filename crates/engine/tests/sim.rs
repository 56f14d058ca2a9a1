//! Randomized simulation of many escalations in simulated time.
//!
//! A seeded generator produces incidents under random policies, acknowledgements, resolutions and
//! re-triggers (duplicated and out of place as often as legal), clock advances including jumps of
//! days and small steps back, crashes before a commit, and a driver that sometimes lags. After every
//! step the simulation checks the escalation against its own model of what must happen:
//!
//! - no page for an acknowledged, resolved or exhausted escalation, nor in answer to anything but a
//!   tick, a start or a re-trigger of a resolved incident;
//! - within a generation, positions advance one at a time in policy order without skips, each
//!   level pages exactly its targets, and each page is due exactly when the plan says;
//! - an active escalation has exactly one next deadline, after `now` once a tick processed it and
//!   equal to the plan's; any other has none;
//! - every page key is unique over the whole run, crashes included (exactly once);
//! - the pass never exceeds the repeat cap, and exhaustion comes only after every level of every pass.
//!
//! The seed is printed on failure; `SIM_SEED=<seed> cargo test -p firebreak-engine --test sim`
//! replays it. Without it, a fixed list of seeds runs.

use std::collections::HashSet;
use std::panic;

use firebreak_engine::{
    Action, Escalation, EscalationState, Input, Level, Policy, REPEAT_COUNT_MAX, Target, next_deadline,
    start, step,
};
use jiff::{SignedDuration, Timestamp};

/// How many seeds run when `SIM_SEED` is not set.
const SEED_COUNT: u64 = 200;
/// Random events per seed.
const EVENTS_PER_SEED: usize = 300;
/// Most incidents one seed opens.
const INCIDENTS_MAX: usize = 6;

#[test]
fn simulation() {
    let seeds: Vec<u64> = match std::env::var("SIM_SEED") {
        Ok(seed) => vec![seed.trim().parse().expect("SIM_SEED is an unsigned integer")],
        Err(_) => (1..=SEED_COUNT).collect(),
    };
    for seed in seeds {
        if let Err(panic) = panic::catch_unwind(|| Sim::new(seed).run()) {
            eprintln!("simulation failed with seed {seed}; replay with SIM_SEED={seed}");
            panic::resume_unwind(panic);
        }
    }
}

/// A xorshift64* generator: small, seeded, and the same on every platform.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        // Zero is a fixed point of xorshift; mixing the seed avoids it and spreads small seeds.
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `low..=high`.
    fn between(&mut self, low: i64, high: i64) -> i64 {
        let span = u64::try_from(high - low).expect("low <= high") + 1;
        low + i64::try_from(self.next() % span).expect("span fits")
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// What the simulation expects of one incident's escalation, kept independently of the engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expected {
    Paging,
    Acknowledged,
    Resolved,
    Exhausted,
}

struct Incident {
    policy: Policy,
    /// The committed escalation, as loaded from its record.
    escalation: Escalation,
    expected: Expected,
    generation: u32,
    /// The last (pass, level) paged in this generation, and when it was due.
    last: Option<((u32, u32), Timestamp)>,
    /// Distinct positions paged in this generation.
    positions_paged: usize,
}

struct Sim {
    seed: u64,
    rng: Rng,
    now: Timestamp,
    incidents: Vec<Incident>,
    keys: HashSet<String>,
}

impl Sim {
    fn new(seed: u64) -> Sim {
        let now: Timestamp = "2026-01-05T00:00:00Z".parse().expect("a valid timestamp");
        Sim { seed, rng: Rng::new(seed), now, incidents: Vec::new(), keys: HashSet::new() }
    }

    fn run(mut self) {
        for _ in 0..EVENTS_PER_SEED {
            let roll = self.rng.next() % 100;
            match roll {
                0..=29 => self.advance_clock(),
                30..=44 => self.open_incident(),
                45..=59 => self.input_to_any(Input::Acknowledged),
                60..=69 => self.input_to_any(Input::Resolved),
                70..=79 => self.input_to_any(Input::Retriggered),
                80..=91 => self.input_to_any(Input::Tick),
                _ => self.crash_before_commit(),
            }
        }
        // Long after everything: every escalation still paging runs out, having paged every level.
        self.now += SignedDuration::from_hours(24 * 30);
        for index in 0..self.incidents.len() {
            self.apply(index, Input::Tick);
            let incident = &self.incidents[index];
            assert_ne!(
                incident.escalation.state,
                EscalationState::Active,
                "seed {}: still active",
                self.seed
            );
        }
    }

    fn advance_clock(&mut self) {
        let by = match self.rng.next() % 100 {
            0..=39 => SignedDuration::from_secs(self.rng.between(1, 600)),
            40..=64 => {
                // Exactly to the earliest deadline, where ties between a deadline and `now` live.
                let earliest =
                    self.incidents.iter().filter_map(|incident| next_deadline(&incident.escalation)).min();
                earliest.map_or(SignedDuration::ZERO, |deadline| {
                    deadline.duration_since(self.now).max(SignedDuration::ZERO)
                })
            }
            65..=79 => SignedDuration::from_secs(self.rng.between(3600, 3 * 86_400)),
            80..=84 => SignedDuration::from_secs(-self.rng.between(1, 300)),
            _ => SignedDuration::ZERO,
        };
        self.now += by;
        // The driver wakes up, but may lag behind for some incidents; they catch up later.
        for index in 0..self.incidents.len() {
            if self.rng.chance(80) {
                self.apply(index, Input::Tick);
            }
        }
    }

    fn open_incident(&mut self) {
        if self.incidents.len() >= INCIDENTS_MAX {
            return;
        }
        let policy = self.random_policy();
        let incident_id = i64::try_from(self.incidents.len()).expect("few incidents") + 1;
        let (escalation, actions) = start(incident_id, &policy, self.now);
        self.incidents.push(Incident {
            policy,
            escalation: escalation.clone(),
            expected: Expected::Paging,
            generation: 1,
            last: None,
            positions_paged: 0,
        });
        let index = self.incidents.len() - 1;
        self.commit(index, Input::Tick, escalation, actions);
    }

    fn input_to_any(&mut self, input: Input) {
        if self.incidents.is_empty() {
            return;
        }
        let index = self.pick();
        self.apply(index, input);
    }

    /// Computes a tick and throws the result away, as a driver that dies before its commit does; the
    /// keys it would have sent must still be unsent, and are sent (once) by a later tick.
    fn crash_before_commit(&mut self) {
        if self.incidents.is_empty() {
            return;
        }
        let index = self.pick();
        let incident = &self.incidents[index];
        let (_, actions) = step(&incident.escalation, &incident.policy, Input::Tick, self.now);
        for action in actions {
            if let Action::Page(page) = action {
                assert!(
                    !self.keys.contains(&page.key()),
                    "seed {}: uncommitted page {} was already sent",
                    self.seed,
                    page.key()
                );
            }
        }
    }

    fn pick(&mut self) -> usize {
        usize::try_from(self.rng.next() % self.incidents.len() as u64).expect("few incidents")
    }

    fn random_policy(&mut self) -> Policy {
        let level_count = self.rng.between(1, 5);
        let waking = self.rng.between(0, level_count + 2);
        let levels = (0..level_count)
            .map(|index| {
                let mut targets = Vec::new();
                for id in 1..=self.rng.between(1, 3) {
                    targets.push(match self.rng.next() % 3 {
                        0 => Target::User(id),
                        1 => Target::Schedule(id),
                        _ => Target::Team(id),
                    });
                }
                Level {
                    timeout: SignedDuration::from_secs(self.rng.between(60, 3600)),
                    targets,
                    wakes_management: index == waking,
                }
            })
            .collect();
        let repeat = if self.rng.chance(10) { REPEAT_COUNT_MAX } else { self.rng.between(0, 3) as u32 };
        Policy::parse(levels, repeat).expect("random policies are valid")
    }

    /// Steps incident `index` with `input` at `now`, checks the result and commits it.
    fn apply(&mut self, index: usize, input: Input) {
        let incident = &self.incidents[index];
        let result = step(&incident.escalation, &incident.policy, input, self.now);
        assert_eq!(
            result,
            step(&incident.escalation, &incident.policy, input, self.now),
            "seed {}: step is deterministic",
            self.seed
        );
        let (escalation, actions) = result;
        self.commit(index, input, escalation, actions);
    }

    fn commit(&mut self, index: usize, input: Input, escalation: Escalation, actions: Vec<Action>) {
        let seed = self.seed;
        let now = self.now;
        let incident = &mut self.incidents[index];
        let before = incident.expected;
        let restarts =
            input == Input::Retriggered && matches!(before, Expected::Resolved | Expected::Acknowledged);

        // The model's own idea of the state, from the rules, not from the engine.
        match input {
            Input::Acknowledged if matches!(before, Expected::Paging | Expected::Exhausted) => {
                incident.expected = Expected::Acknowledged;
            }
            Input::Resolved => incident.expected = Expected::Resolved,
            Input::Retriggered if restarts => {
                incident.expected = Expected::Paging;
                incident.generation += 1;
                incident.last = None;
                incident.positions_paged = 0;
            }
            _ => {}
        }
        // Only a tick of a paging escalation, a start (nothing paged yet) or a restart may page.
        let may_page = (before == Expected::Paging && input == Input::Tick) || incident.last.is_none();
        assert!(
            actions.is_empty() || may_page,
            "seed {seed}: {input:?} on an escalation that is {before:?} emitted {actions:?}"
        );

        let levels = u32::try_from(incident.policy.levels().len()).expect("few levels");
        let mut level_pages: Vec<((u32, u32), Vec<Target>)> = Vec::new();
        for action in &actions {
            match action {
                Action::Page(page) => {
                    assert!(self.keys.insert(page.key()), "seed {seed}: page {} was sent twice", page.key());
                    assert_eq!(
                        page.generation,
                        incident.generation,
                        "seed {seed}: generation of {}",
                        page.key()
                    );
                    assert!(
                        page.pass <= incident.policy.passes(),
                        "seed {seed}: {} beyond the repeat cap",
                        page.key()
                    );
                    assert!(page.due <= now, "seed {seed}: {} is due in the future", page.key());
                    let position = (page.pass, page.level);
                    let level = incident.policy.level(page.level).expect("a level of the policy");
                    assert_eq!(page.wakes_management, level.wakes_management, "seed {seed}: {}", page.key());
                    match level_pages.last_mut() {
                        Some((last, targets)) if *last == position => {
                            targets.push(page.target);
                            assert_eq!(incident.last.map(|(_, due)| due), Some(page.due), "seed {seed}");
                        }
                        _ => {
                            let (expected_position, expected_due) = match incident.last {
                                None => ((1, 1), now),
                                Some(((pass, level), due)) => {
                                    let position =
                                        if level < levels { (pass, level + 1) } else { (pass + 1, 1) };
                                    let timeout = incident.policy.level(level).expect("a level").timeout;
                                    (position, due + timeout)
                                }
                            };
                            assert_eq!(
                                position,
                                expected_position,
                                "seed {seed}: {} skips or repeats",
                                page.key()
                            );
                            assert_eq!(page.due, expected_due, "seed {seed}: {} is due off plan", page.key());
                            incident.last = Some((position, page.due));
                            incident.positions_paged += 1;
                            level_pages.push((position, vec![page.target]));
                        }
                    }
                }
                Action::Exhausted { incident_id, generation, due } => {
                    assert_eq!((*incident_id, *generation), (escalation.incident_id, incident.generation));
                    let ((pass, level), last_due) = incident.last.expect("exhausted after paging");
                    assert_eq!(
                        (pass, level),
                        (incident.policy.passes(), levels),
                        "seed {seed}: exhausted early"
                    );
                    assert_eq!(
                        incident.positions_paged,
                        incident.policy.levels().len() * incident.policy.passes() as usize,
                        "seed {seed}: exhausted with levels unpaged"
                    );
                    let timeout = incident.policy.level(level).expect("a level").timeout;
                    assert_eq!(*due, last_due + timeout, "seed {seed}: exhausted off plan");
                    assert!(*due <= now, "seed {seed}: exhausted in the future");
                    incident.expected = Expected::Exhausted;
                }
            }
        }
        for ((_, level), targets) in &level_pages {
            let level = incident.policy.level(*level).expect("a level");
            assert_eq!(targets, &level.targets, "seed {seed}: a level pages exactly its targets");
        }

        // The engine agrees with the model, and its record is consistent and on plan.
        let state = match incident.expected {
            Expected::Paging => EscalationState::Active,
            Expected::Acknowledged => EscalationState::Acknowledged,
            Expected::Resolved => EscalationState::Resolved,
            Expected::Exhausted => EscalationState::Exhausted,
        };
        assert_eq!(escalation.state, state, "seed {seed}: {input:?} after {before:?}");
        assert_eq!(escalation.check(), Ok(()), "seed {seed}");
        assert!(escalation.pass <= incident.policy.passes(), "seed {seed}: pass beyond the repeat cap");
        assert_eq!(escalation.generation, incident.generation, "seed {seed}");
        match next_deadline(&escalation) {
            Some(deadline) => {
                let ((_, level), due) = incident.last.expect("paging after a page");
                let timeout = incident.policy.level(level).expect("a level").timeout;
                assert_eq!(deadline, due + timeout, "seed {seed}: next deadline off plan");
                if input == Input::Tick || !actions.is_empty() {
                    assert!(
                        deadline > now,
                        "seed {seed}: deadline {deadline} not after processed time {now}"
                    );
                }
            }
            None => assert_ne!(
                escalation.state,
                EscalationState::Active,
                "seed {seed}: active without a deadline"
            ),
        }
        incident.escalation = reload(&escalation);
    }
}

/// Saves an escalation to plain fields and loads it back, as the store does.
fn reload(escalation: &Escalation) -> Escalation {
    let fields = (
        escalation.incident_id,
        i64::from(escalation.generation),
        i64::from(escalation.pass),
        i64::from(escalation.level),
        escalation.state.as_str().to_owned(),
        escalation.next_deadline.map(|deadline| deadline.to_string()),
    );
    let loaded = Escalation {
        incident_id: fields.0,
        generation: u32::try_from(fields.1).expect("a generation"),
        pass: u32::try_from(fields.2).expect("a pass"),
        level: u32::try_from(fields.3).expect("a level"),
        state: EscalationState::parse(&fields.4).expect("a state"),
        next_deadline: fields.5.map(|deadline| deadline.parse().expect("a timestamp")),
    };
    assert_eq!(&loaded, escalation, "an escalation survives a save and a load");
    loaded
}
