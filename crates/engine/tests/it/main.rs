//! Integration tests of the escalation state machine: scripted timelines in simulated time
//! (`timeline`) and laws checked on generated inputs (`laws`). The randomized simulation lives in
//! `tests/sim.rs`.

mod laws;
mod timeline;

use firebreak_engine::{Level, Policy, Target};
use jiff::{SignedDuration, Timestamp};

/// Monday 2026-01-05 00:00 UTC: the `00:00` of every script.
fn t0() -> Timestamp {
    "2026-01-05T00:00:00Z".parse().expect("a valid timestamp")
}

/// Builds a policy from a compact spec: levels separated by `;`, each a timeout followed by targets
/// (`user=1`, `schedule=7`, `team=3`) and optionally `wakes`, then optionally `repeat=N`.
/// Example: `5m user=1; 10m schedule=7 team=3 wakes; repeat=2`.
fn policy(spec: &str) -> Policy {
    let mut levels = Vec::new();
    let mut repeat = 0;
    for part in spec.split(';').map(str::trim).filter(|part| !part.is_empty()) {
        if let Some(count) = part.strip_prefix("repeat=") {
            repeat = count.parse().expect("a repeat count");
            continue;
        }
        let mut words = part.split_whitespace();
        let timeout = words.next().expect("a timeout");
        let timeout_mins: i64 =
            timeout.strip_suffix('m').expect("a timeout in minutes").parse().expect("minutes");
        let mut level = Level {
            timeout: SignedDuration::from_mins(timeout_mins),
            targets: Vec::new(),
            wakes_management: false,
        };
        for word in words {
            match word.split_once('=') {
                Some(("user", id)) => level.targets.push(Target::User(id.parse().expect("an id"))),
                Some(("schedule", id)) => level.targets.push(Target::Schedule(id.parse().expect("an id"))),
                Some(("team", id)) => level.targets.push(Target::Team(id.parse().expect("an id"))),
                _ if word == "wakes" => level.wakes_management = true,
                _ => panic!("unknown word {word:?} in policy spec"),
            }
        }
        levels.push(level);
    }
    Policy::parse(levels, repeat).expect("a valid policy spec")
}
