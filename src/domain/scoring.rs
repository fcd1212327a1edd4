//! Scores and findings, as `docs/scoring.md` explains them to staff.
//!
//! All arithmetic is on integers: question scores in thousandths and weights in hundredths. The
//! only rounding is the last step that turns a weighted mean into a percentage with one decimal,
//! so a score never lands on the wrong side of a threshold through float drift.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize, Serializer};

use super::answers::{AnswerValue, evidence_required, visible_questions};
use super::questionnaire::{Question, Questionnaire, Score, Weight};
use super::vendor::Tier;

/// A percentage with one decimal, kept in tenths (0 to 1000). It is written to JSON as a number
/// such as 87.5 and read back from one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(from = "f64")]
pub struct Percent(u16);

impl From<f64> for Percent {
    fn from(value: f64) -> Self {
        Self::from_tenths((value * 10.0).round().clamp(0.0, 1000.0) as u16)
    }
}

impl Percent {
    /// Rounds `numerator / denominator` (a fraction in [0, 1]) to tenths of a percent, halves up.
    /// Returns `None` when nothing was counted.
    pub fn from_ratio(numerator: u64, denominator: u64) -> Option<Self> {
        if denominator == 0 {
            return None;
        }
        let tenths = (2 * numerator * 1000 + denominator) / (2 * denominator);
        Some(Self(tenths.min(1000) as u16))
    }

    pub fn tenths(self) -> u16 {
        self.0
    }

    pub fn from_tenths(tenths: u16) -> Self {
        Self(tenths.min(1000))
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.0 / 10, self.0 % 10)
    }
}

impl Serialize for Percent {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(f64::from(self.0) / 10.0)
    }
}

/// The scoring result of one question.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuestionResult {
    pub question_id: String,
    pub section_id: String,
    /// The score of the vendor's answer; `None` when not applicable or unanswered.
    pub answer_score: Option<Score>,
    /// The analyst's score, which replaces the answer's.
    pub override_score: Option<Score>,
    pub weight: Weight,
    /// The score that counts: the override, else the answer's. `None` leaves the question out.
    pub effective: Option<Score>,
}

/// The weighted mean of a group of questions (a section, a control, or all).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupScore {
    pub id: String,
    pub title: String,
    pub score: Option<Percent>,
    /// Number of questions counted.
    pub counted: usize,
    /// Sum of weight (hundredths) × score (thousandths), and of weight × 1000: the exact figures
    /// behind `score`.
    pub numerator: u64,
    pub denominator: u64,
}

impl GroupScore {
    fn new(id: &str, title: &str) -> Self {
        Self {
            id: id.to_owned(),
            title: title.to_owned(),
            score: None,
            counted: 0,
            numerator: 0,
            denominator: 0,
        }
    }

    fn add(&mut self, weight: Weight, score: Score) {
        self.counted += 1;
        self.numerator += u64::from(weight.hundredths()) * u64::from(score.thousandths());
        self.denominator += u64::from(weight.hundredths()) * 1000;
        self.score = Percent::from_ratio(self.numerator, self.denominator);
    }
}

/// Every figure of an assessment's score, traceable to the answers, overrides and weights.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScoreReport {
    pub questionnaire_key: String,
    pub questionnaire_version: u32,
    pub overall: GroupScore,
    pub sections: Vec<GroupScore>,
    pub controls: Vec<GroupScore>,
    pub questions: Vec<QuestionResult>,
}

impl ScoreReport {
    pub fn question(&self, id: &str) -> Option<&QuestionResult> {
        self.questions
            .iter()
            .find(|result| result.question_id == id)
    }

    pub fn control(&self, id: &str) -> Option<&GroupScore> {
        self.controls.iter().find(|group| group.id == id)
    }
}

/// Computes the scores. Hidden, unscored and unanswered questions and not-applicable answers
/// leave both numerator and denominator, unless the analyst set an override.
pub fn compute(
    questionnaire: &Questionnaire,
    answers: &HashMap<String, AnswerValue>,
    overrides: &HashMap<String, Score>,
) -> ScoreReport {
    let visible = visible_questions(questionnaire, answers);
    let mut overall = GroupScore::new("overall", "Overall");
    let mut sections = Vec::new();
    let mut controls: Vec<GroupScore> = Vec::new();
    let mut questions = Vec::new();
    for section in &questionnaire.sections {
        let mut group = GroupScore::new(&section.id, &section.title);
        for question in &section.questions {
            let Some(weight) = question
                .weight
                .filter(|_| question.scored && visible.contains(&question.id))
            else {
                continue;
            };
            let answer_score = answers
                .get(&question.id)
                .and_then(|answer| answer.score(question));
            let override_score = overrides.get(&question.id).copied();
            let effective = override_score.or(answer_score);
            if let Some(score) = effective {
                group.add(weight, score);
                overall.add(weight, score);
                for control in &question.controls {
                    let position = match controls.iter().position(|group| &group.id == control) {
                        Some(position) => position,
                        None => {
                            let title = super::questionnaire::controls::lookup(control)
                                .map_or("", |known| known.title);
                            controls.push(GroupScore::new(control, title));
                            controls.len() - 1
                        }
                    };
                    controls[position].add(weight, score);
                }
            }
            questions.push(QuestionResult {
                question_id: question.id.clone(),
                section_id: section.id.clone(),
                answer_score,
                override_score,
                weight,
                effective,
            });
        }
        sections.push(group);
    }
    controls.sort_by_key(|group| control_order(&group.id));
    ScoreReport {
        questionnaire_key: questionnaire.key.clone(),
        questionnaire_version: questionnaire.version,
        overall,
        sections,
        controls,
        questions,
    }
}

/// Sorts ISO ids numerically (5.2 before 5.10) and HIPAA citations after them.
fn control_order(id: &str) -> (u8, Vec<u32>, String) {
    let numbers: Vec<u32> = id.split('.').map_while(|part| part.parse().ok()).collect();
    let kind = u8::from(id.starts_with("164."));
    (kind, numbers, id.to_owned())
}

/// The review state of a question's evidence, for findings and likelihood.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceState {
    /// At least one file was accepted.
    Accepted,
    /// Files are attached but not reviewed.
    Pending,
    /// Every attached file was rejected.
    Rejected,
    /// The newest accepted file is past its expiry date.
    Expired,
    /// No file is attached.
    Missing,
}

impl EvidenceState {
    fn counts_against(self) -> bool {
        matches!(self, Self::Rejected | Self::Expired | Self::Missing)
    }
}

/// The reason a question became a finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum FindingReason {
    /// A critical question scored below its passing score.
    CriticalBelowPass { pass_score: Score },
    /// The score is below the tenant's finding threshold.
    BelowThreshold { threshold: Score },
    /// The answer passes, but its required evidence is missing, rejected or expired.
    EvidenceNotAccepted { evidence: EvidenceState },
}

impl FindingReason {
    pub fn describe(&self) -> String {
        match self {
            Self::CriticalBelowPass { pass_score } => {
                format!("Critical question scored below its passing score of {pass_score}.")
            }
            Self::BelowThreshold { threshold } => {
                format!("Score is below the finding threshold of {threshold}.")
            }
            Self::EvidenceNotAccepted { evidence } => match evidence {
                EvidenceState::Rejected => "The required evidence was rejected.".to_owned(),
                EvidenceState::Expired => "The required evidence has expired.".to_owned(),
                _ => "The required evidence is missing.".to_owned(),
            },
        }
    }
}

/// A question whose answer is a risk to record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub question_id: String,
    pub score: Score,
    pub reason: FindingReason,
    pub evidence: Option<EvidenceState>,
}

/// Tenant settings for findings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FindingPolicy {
    /// A non-critical question scoring below this is a finding.
    pub threshold: Score,
}

impl Default for FindingPolicy {
    fn default() -> Self {
        Self {
            threshold: Score::from_thousandths(500),
        }
    }
}

/// Lists the findings of a scored assessment. A critical question below its passing score is
/// always a finding, whatever the threshold.
pub fn findings(
    questionnaire: &Questionnaire,
    report: &ScoreReport,
    answers: &HashMap<String, AnswerValue>,
    evidence: &HashMap<String, EvidenceState>,
    policy: FindingPolicy,
) -> Vec<Finding> {
    let mut found = Vec::new();
    for result in &report.questions {
        let (Some(score), Some(question)) = (
            result.effective,
            questionnaire.question(&result.question_id),
        ) else {
            continue;
        };
        let evidence_state = evidence_state_for(question, answers.get(&question.id), evidence);
        let reason = match question.pass_score.filter(|_| question.critical) {
            Some(pass_score) if score < pass_score => {
                Some(FindingReason::CriticalBelowPass { pass_score })
            }
            _ if score < policy.threshold => Some(FindingReason::BelowThreshold {
                threshold: policy.threshold,
            }),
            _ => evidence_state
                .filter(|state| state.counts_against())
                .map(|state| FindingReason::EvidenceNotAccepted { evidence: state }),
        };
        if let Some(reason) = reason {
            found.push(Finding {
                question_id: question.id.clone(),
                score,
                reason,
                evidence: evidence_state,
            });
        }
    }
    found
}

/// Returns the evidence state when the answer requires evidence, else `None`.
pub fn evidence_state_for(
    question: &Question,
    answer: Option<&AnswerValue>,
    evidence: &HashMap<String, EvidenceState>,
) -> Option<EvidenceState> {
    evidence_required(question, answer).then(|| {
        evidence
            .get(&question.id)
            .copied()
            .unwrap_or(EvidenceState::Missing)
    })
}

/// A rating on the 5 × 5 grid: likelihood and impact each from 1 to 5.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskRating {
    pub likelihood: u8,
    pub impact: u8,
}

/// Rating bands: 1–4 low, 5–9 medium, 10–14 high, 15–25 critical.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RatingLevel {
    Low,
    Medium,
    High,
    Critical,
}

impl RatingLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Some(match value.trim().to_lowercase().as_str() {
            "low" => Self::Low,
            "medium" => Self::Medium,
            "high" => Self::High,
            "critical" => Self::Critical,
            _ => return None,
        })
    }

    /// Returns the range of rating values in this band.
    pub fn range(self) -> (i32, i32) {
        match self {
            Self::Low => (1, 4),
            Self::Medium => (5, 9),
            Self::High => (10, 14),
            Self::Critical => (15, 25),
        }
    }

    pub fn of(value: i32) -> Self {
        match value {
            ..=4 => Self::Low,
            5..=9 => Self::Medium,
            10..=14 => Self::High,
            _ => Self::Critical,
        }
    }
}

impl RiskRating {
    /// Creates a rating, checking both figures are within 1 to 5.
    ///
    /// # Errors
    /// Returns a message naming the figure out of range.
    pub fn new(likelihood: u8, impact: u8) -> Result<Self, String> {
        for (name, value) in [("likelihood", likelihood), ("impact", impact)] {
            if !(1..=5).contains(&value) {
                return Err(format!("{name} {value} is outside 1 to 5"));
            }
        }
        Ok(Self { likelihood, impact })
    }

    pub fn value(self) -> i32 {
        i32::from(self.likelihood) * i32::from(self.impact)
    }

    pub fn level(self) -> RatingLevel {
        RatingLevel::of(self.value())
    }
}

/// Returns the impact of a finding at a vendor of this tier, with the reason.
pub fn impact_for(tier: Tier) -> (u8, String) {
    let impact = match tier {
        Tier::Critical => 5,
        Tier::High => 4,
        Tier::Moderate => 3,
        Tier::Low => 2,
    };
    (
        impact,
        format!(
            "Impact {impact} because the vendor is {} tier.",
            tier.as_str()
        ),
    )
}

/// Returns the likelihood of a finding from its score and evidence, with the reason.
pub fn likelihood_for(score: Score, evidence: Option<EvidenceState>) -> (u8, String) {
    let base: u8 = match score.thousandths() {
        900.. => 1,
        700..900 => 2,
        500..700 => 3,
        250..500 => 4,
        _ => 5,
    };
    let mut reason = format!("Likelihood {base} from a score of {score}");
    let mut likelihood = base;
    if evidence.is_some_and(EvidenceState::counts_against) && likelihood < 5 {
        likelihood += 1;
        reason.push_str(", plus 1 because the required evidence is missing, rejected or expired");
    }
    reason.push('.');
    (likelihood, reason)
}

#[cfg(test)]
mod tests;
