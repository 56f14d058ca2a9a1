//! The severity guide: a few questions a responder answers about an incident (customers affected?
//! data at risk? money lost?), and rules that turn the answers into a severity and into who must be
//! woken. A built-in guide ships with firebreak ([`SeverityGuide::built_in`]); a team may replace
//! it with its own, which is checked whole before it is accepted ([`SeverityGuide::new`]).

use std::collections::{BTreeMap, BTreeSet};

use crate::Severity;

/// Most questions in a guide: it is meant to be answered in a few clicks.
pub const GUIDE_QUESTIONS_MAX: usize = 12;
/// Most answers one question offers.
pub const GUIDE_ANSWERS_MAX: usize = 8;
/// Most rules in a guide.
pub const GUIDE_RULES_MAX: usize = 50;
/// Longest question or reason text.
pub const GUIDE_TEXT_CHARS_MAX: usize = 300;
/// Longest question id or answer.
pub const GUIDE_ID_CHARS_MAX: usize = 50;

/// Who an assessment says must be woken now, besides whoever the escalation has paged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Wake {
    /// The next level of the escalation policy, now rather than at its timeout.
    NextLevel,
    /// The incident commander: the team's owners when nobody is assigned the role.
    IncidentCommander,
    /// Management: the policy's levels reachable only from a high severity.
    Management,
}

impl Wake {
    pub fn as_str(self) -> &'static str {
        match self {
            Wake::NextLevel => "next_level",
            Wake::IncidentCommander => "incident_commander",
            Wake::Management => "management",
        }
    }

    pub fn parse(text: &str) -> Option<Wake> {
        Some(match text {
            "next_level" => Wake::NextLevel,
            "incident_commander" => Wake::IncidentCommander,
            "management" => Wake::Management,
            _ => return None,
        })
    }
}

/// One question and the answers it offers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Question {
    pub id: String,
    pub text: String,
    pub answers: Vec<String>,
}

/// A rule: when every question it names has one of the answers it lists, the incident is at least
/// `severity` and `wake` must be woken, for `reason`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    pub when: BTreeMap<String, Vec<String>>,
    pub severity: Severity,
    pub wake: Vec<Wake>,
    pub reason: String,
}

/// A checked guide: every rule names known questions and answers, and can match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeverityGuide {
    questions: Vec<Question>,
    rules: Vec<Rule>,
}

/// What a guide makes of a set of answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assessment {
    /// The most severe of the matching rules' severities; SEV4 when none matches.
    pub severity: Severity,
    /// Everyone the matching rules say to wake, each once.
    pub wake: Vec<Wake>,
    /// The matching rules' reasons, most severe first; one line when none matches.
    pub reasons: Vec<String>,
}

impl SeverityGuide {
    /// Checks a guide whole. The error names the question or rule (by its position, from 1) that
    /// is wrong and why: an unknown question or answer, a rule that can never match, or a
    /// severity no answers can reach.
    pub fn new(questions: Vec<Question>, rules: Vec<Rule>) -> Result<SeverityGuide, String> {
        if questions.is_empty() || questions.len() > GUIDE_QUESTIONS_MAX {
            return Err(format!("a guide has 1 to {GUIDE_QUESTIONS_MAX} questions"));
        }
        if rules.is_empty() || rules.len() > GUIDE_RULES_MAX {
            return Err(format!("a guide has 1 to {GUIDE_RULES_MAX} rules"));
        }
        let mut ids = BTreeSet::new();
        for (n, question) in questions.iter().enumerate() {
            let n = n + 1;
            check_id(&question.id).map_err(|why| format!("question {n}: id {why}"))?;
            if !ids.insert(question.id.as_str()) {
                return Err(format!("question {n}: the id {:?} is used twice", question.id));
            }
            check_text(&question.text)
                .map_err(|why| format!("question {n} ({}): text {why}", question.id))?;
            if question.answers.len() < 2 || question.answers.len() > GUIDE_ANSWERS_MAX {
                return Err(format!(
                    "question {n} ({}): offer 2 to {GUIDE_ANSWERS_MAX} answers",
                    question.id
                ));
            }
            let mut answers = BTreeSet::new();
            for answer in &question.answers {
                check_id(answer).map_err(|why| format!("question {n} ({}): answer {why}", question.id))?;
                if !answers.insert(answer.as_str()) {
                    return Err(format!(
                        "question {n} ({}): the answer {answer:?} is offered twice",
                        question.id
                    ));
                }
            }
        }
        for (n, rule) in rules.iter().enumerate() {
            let n = n + 1;
            if rule.when.is_empty() {
                return Err(format!("rule {n}: name at least one question in when"));
            }
            for (id, answers) in &rule.when {
                let Some(question) = questions.iter().find(|q| &q.id == id) else {
                    return Err(format!("rule {n}: there is no question {id:?}"));
                };
                if answers.is_empty() {
                    return Err(format!(
                        "rule {n}: question {id:?} lists no answer, so the rule can never match"
                    ));
                }
                if let Some(unknown) = answers.iter().find(|a| !question.answers.contains(a)) {
                    return Err(format!(
                        "rule {n}: question {id:?} has no answer {unknown:?}; it offers {}",
                        question.answers.join(", ")
                    ));
                }
            }
            check_text(&rule.reason).map_err(|why| format!("rule {n}: reason {why}"))?;
        }
        let guide = SeverityGuide { questions, rules };
        // A rule is unreachable when every answer that matches it also matches a more severe one.
        for (n, rule) in guide.rules.iter().enumerate() {
            let reached = guide
                .answer_sets_of(rule)
                .into_iter()
                .any(|answers| guide.assess(&answers).severity == rule.severity);
            if !reached {
                return Err(format!(
                    "rule {}: {} is unreachable: whenever it matches, a rule of a higher severity matches too",
                    n + 1,
                    rule.severity
                ));
            }
        }
        Ok(guide)
    }

    /// The guide firebreak ships with.
    pub fn built_in() -> SeverityGuide {
        let yes_no = || vec!["yes".to_owned(), "no".to_owned()];
        let question = |id: &str, text: &str, answers: Vec<String>| Question {
            id: id.to_owned(),
            text: text.to_owned(),
            answers,
        };
        let rule = |when: &[(&str, &[&str])], severity, wake: &[Wake], reason: &str| Rule {
            when: when
                .iter()
                .map(|(id, answers)| ((*id).to_owned(), answers.iter().map(|a| (*a).to_owned()).collect()))
                .collect(),
            severity,
            wake: wake.to_vec(),
            reason: reason.to_owned(),
        };
        let questions = vec![
            question(
                "customers_affected",
                "Are customers affected, and roughly how many?",
                ["none", "some", "many", "all"].map(str::to_owned).to_vec(),
            ),
            question("data_at_risk", "Is customer data at risk of loss or exposure?", yes_no()),
            question("money_lost", "Are we or our customers losing money while it lasts?", yes_no()),
            question("workaround_exists", "Can the people affected work around it?", yes_no()),
            question("security", "Is it a security issue?", yes_no()),
        ];
        use Severity::{Sev1, Sev2, Sev3};
        use Wake::{IncidentCommander, Management, NextLevel};
        let rules = vec![
            rule(
                &[("customers_affected", &["all"])],
                Sev1,
                &[NextLevel, IncidentCommander, Management],
                "every customer is affected",
            ),
            rule(&[("security", &["yes"])], Sev1, &[IncidentCommander, Management], "it is a security issue"),
            rule(&[("data_at_risk", &["yes"])], Sev1, &[IncidentCommander], "customer data is at risk"),
            rule(
                &[("customers_affected", &["many"])],
                Sev2,
                &[IncidentCommander, NextLevel],
                "many customers are affected",
            ),
            rule(&[("money_lost", &["yes"])], Sev2, &[NextLevel], "money is being lost"),
            rule(
                &[("customers_affected", &["some"]), ("workaround_exists", &["no"])],
                Sev2,
                &[NextLevel],
                "some customers are affected and cannot work around it",
            ),
            rule(
                &[("customers_affected", &["some"]), ("workaround_exists", &["yes"])],
                Sev3,
                &[],
                "some customers are affected and can work around it",
            ),
        ];
        SeverityGuide::new(questions, rules).expect("the built-in guide is valid")
    }

    pub fn questions(&self) -> &[Question] {
        &self.questions
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Checks answers against the questions: every key a question, every value one of its answers.
    /// Questions left unanswered match no rule that names them.
    pub fn check_answers(&self, answers: &BTreeMap<String, String>) -> Result<(), String> {
        for (id, answer) in answers {
            let Some(question) = self.questions.iter().find(|q| &q.id == id) else {
                return Err(format!("there is no question {id:?}"));
            };
            if !question.answers.contains(answer) {
                return Err(format!(
                    "{id} has no answer {answer:?}; it offers {}",
                    question.answers.join(", ")
                ));
            }
        }
        Ok(())
    }

    /// What the answers make of the incident: the most severe matching rule's severity (SEV4 when
    /// none matches), everyone any matching rule wakes, and the reasons.
    pub fn assess(&self, answers: &BTreeMap<String, String>) -> Assessment {
        let mut matching: Vec<&Rule> = self
            .rules
            .iter()
            .filter(|rule| {
                rule.when.iter().all(|(id, allowed)| answers.get(id).is_some_and(|a| allowed.contains(a)))
            })
            .collect();
        matching.sort_by_key(|rule| rule.severity);
        let Some(worst) = matching.first() else {
            return Assessment {
                severity: Severity::Sev4,
                wake: Vec::new(),
                reasons: vec!["no rule of the guide matches: minor".to_owned()],
            };
        };
        let wake: BTreeSet<Wake> = matching.iter().flat_map(|rule| rule.wake.iter().copied()).collect();
        Assessment {
            severity: worst.severity,
            wake: wake.into_iter().collect(),
            reasons: matching.iter().map(|rule| format!("{}: {}", rule.severity, rule.reason)).collect(),
        }
    }

    /// Every full set of answers that matches `rule` (its own answers, every choice elsewhere),
    /// bounded: questions and answers are few.
    fn answer_sets_of(&self, rule: &Rule) -> Vec<BTreeMap<String, String>> {
        let mut sets = vec![BTreeMap::new()];
        for question in &self.questions {
            let choices: Vec<&String> = match rule.when.get(&question.id) {
                Some(allowed) => allowed.iter().collect(),
                None => question.answers.iter().collect(),
            };
            sets = sets
                .into_iter()
                .flat_map(|set| {
                    choices.iter().map(move |choice| {
                        let mut set = set.clone();
                        set.insert(question.id.clone(), (*choice).clone());
                        set
                    })
                })
                .collect();
            if sets.len() > 100_000 {
                // Too many to walk: say reachable rather than refuse a guide for its size.
                return vec![
                    rule.when.iter().map(|(id, allowed)| (id.clone(), allowed[0].clone())).collect(),
                ];
            }
        }
        sets
    }
}

fn check_id(id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= GUIDE_ID_CHARS_MAX
        && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(format!("{id:?} must be 1 to {GUIDE_ID_CHARS_MAX} lowercase letters, digits and _"))
    }
}

fn check_text(text: &str) -> Result<(), String> {
    if text.trim().is_empty() || text.chars().count() > GUIDE_TEXT_CHARS_MAX {
        return Err(format!("must be 1 to {GUIDE_TEXT_CHARS_MAX} characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answers(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(q, a)| ((*q).to_owned(), (*a).to_owned())).collect()
    }

    const HARMLESS: [(&str, &str); 4] =
        [("data_at_risk", "no"), ("money_lost", "no"), ("workaround_exists", "yes"), ("security", "no")];

    #[test]
    fn the_built_in_guide_gives_sev1_for_everyone_and_sev4_for_no_one() {
        let guide = SeverityGuide::built_in();
        let mut all = answers(&HARMLESS);
        all.insert("customers_affected".into(), "all".into());
        let assessed = guide.assess(&all);
        assert_eq!(assessed.severity, Severity::Sev1);
        assert_eq!(assessed.wake, [Wake::NextLevel, Wake::IncidentCommander, Wake::Management]);
        assert_eq!(assessed.reasons, ["SEV1: every customer is affected"]);
        let mut none = answers(&HARMLESS);
        none.insert("customers_affected".into(), "none".into());
        assert_eq!(guide.assess(&none).severity, Severity::Sev4);
        assert!(guide.assess(&none).wake.is_empty());
    }

    #[test]
    fn the_most_severe_rule_wins_and_every_wake_is_kept() {
        let guide = SeverityGuide::built_in();
        let a = guide.assess(&answers(&[
            ("customers_affected", "some"),
            ("workaround_exists", "yes"),
            ("money_lost", "yes"),
        ]));
        assert_eq!(a.severity, Severity::Sev2);
        assert_eq!(a.wake, [Wake::NextLevel]);
        assert_eq!(
            a.reasons,
            ["SEV2: money is being lost", "SEV3: some customers are affected and can work around it"]
        );
    }

    fn one_question() -> Vec<Question> {
        vec![Question {
            id: "users".into(),
            text: "Users affected?".into(),
            answers: vec!["none".into(), "all".into()],
        }]
    }

    fn rule(when: &[(&str, &[&str])], severity: Severity) -> Rule {
        Rule {
            when: when
                .iter()
                .map(|(q, a)| ((*q).to_owned(), a.iter().map(|s| (*s).to_owned()).collect()))
                .collect(),
            severity,
            wake: vec![],
            reason: "because".into(),
        }
    }

    #[test]
    fn a_bad_guide_is_refused_naming_the_rule() {
        let err = SeverityGuide::new(one_question(), vec![rule(&[("customers", &["all"])], Severity::Sev1)])
            .unwrap_err();
        assert_eq!(err, "rule 1: there is no question \"customers\"");
        let err = SeverityGuide::new(one_question(), vec![rule(&[("users", &["many"])], Severity::Sev1)])
            .unwrap_err();
        assert_eq!(err, "rule 1: question \"users\" has no answer \"many\"; it offers none, all");
        let err =
            SeverityGuide::new(one_question(), vec![rule(&[("users", &[])], Severity::Sev1)]).unwrap_err();
        assert!(err.contains("can never match"), "{err}");
        let shadowed = vec![
            rule(&[("users", &["all", "none"])], Severity::Sev1),
            rule(&[("users", &["all"])], Severity::Sev3),
        ];
        let err = SeverityGuide::new(one_question(), shadowed).unwrap_err();
        assert_eq!(
            err,
            "rule 2: SEV3 is unreachable: whenever it matches, a rule of a higher severity matches too"
        );
    }

    #[test]
    fn answers_are_checked_against_the_questions() {
        let guide = SeverityGuide::built_in();
        assert!(guide.check_answers(&answers(&[("security", "yes")])).is_ok());
        assert_eq!(
            guide.check_answers(&answers(&[("security", "maybe")])).unwrap_err(),
            "security has no answer \"maybe\"; it offers yes, no"
        );
        assert!(guide.check_answers(&answers(&[("weather", "fine")])).is_err());
    }
}
