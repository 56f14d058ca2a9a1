//! The severity guide: questions about an incident, and rules that turn the answers into a
//! severity and into who must be woken.

use std::collections::BTreeMap;

use firebreak_domain as domain;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::Severity;

/// A severity guide: the guide in force for a team (its own, or the built-in one).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeverityGuide {
    #[schema(min_items = 1, max_items = 12)]
    pub questions: Vec<GuideQuestion>,
    /// The most severe matching rule sets the severity (SEV4 when none matches); every matching
    /// rule's `wake` is woken.
    #[schema(min_items = 1, max_items = 50)]
    pub rules: Vec<GuideRule>,
    /// `built-in` or the team's name (only in answers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// A question and the answers it offers.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GuideQuestion {
    /// Lowercase letters, digits and `_`, such as `customers_affected`.
    pub id: String,
    pub text: String,
    /// 2 to 8, such as `yes`, `no`.
    pub answers: Vec<String>,
}

/// A rule: when every question in `when` has one of the listed answers.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GuideRule {
    /// Question id to the answers that match, such as `{"customers_affected": ["all"]}`.
    pub when: BTreeMap<String, Vec<String>>,
    pub severity: Severity,
    /// Who to wake now: `next_level`, `incident_commander`, `management`.
    #[serde(default)]
    pub wake: Vec<String>,
    pub reason: String,
}

/// Answers to a guide's questions, by question id.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Assess {
    pub answers: BTreeMap<String, String>,
}

/// What the guide made of the answers.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Assessment {
    pub severity: Severity,
    /// Who was woken: `next_level`, `incident_commander`, `management`.
    pub wake: Vec<String>,
    pub reasons: Vec<String>,
}

impl SeverityGuide {
    /// The wire form of a checked guide.
    pub fn from_domain(guide: &domain::SeverityGuide, source: &str) -> SeverityGuide {
        SeverityGuide {
            questions: guide
                .questions()
                .iter()
                .map(|q| GuideQuestion { id: q.id.clone(), text: q.text.clone(), answers: q.answers.clone() })
                .collect(),
            rules: guide
                .rules()
                .iter()
                .map(|r| GuideRule {
                    when: r.when.clone(),
                    severity: r.severity.into(),
                    wake: r.wake.iter().map(|w| w.as_str().to_owned()).collect(),
                    reason: r.reason.clone(),
                })
                .collect(),
            source: Some(source.to_owned()),
        }
    }

    /// The guide, checked whole; the error names what is wrong.
    pub fn to_domain(&self) -> Result<domain::SeverityGuide, String> {
        let questions = self
            .questions
            .iter()
            .map(|q| domain::Question { id: q.id.clone(), text: q.text.clone(), answers: q.answers.clone() })
            .collect();
        let mut rules = Vec::with_capacity(self.rules.len());
        for (n, rule) in self.rules.iter().enumerate() {
            let wake = rule
                .wake
                .iter()
                .map(|w| {
                    domain::Wake::parse(w).ok_or_else(|| {
                        format!(
                            "rule {}: wake {w:?} is none of next_level, incident_commander, management",
                            n + 1
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            rules.push(domain::GuideRule {
                when: rule.when.clone(),
                severity: rule.severity.into(),
                wake,
                reason: rule.reason.clone(),
            });
        }
        domain::SeverityGuide::new(questions, rules)
    }
}

impl From<domain::Assessment> for Assessment {
    fn from(assessment: domain::Assessment) -> Assessment {
        Assessment {
            severity: assessment.severity.into(),
            wake: assessment.wake.iter().map(|w| w.as_str().to_owned()).collect(),
            reasons: assessment.reasons,
        }
    }
}
