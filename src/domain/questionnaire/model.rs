//! A validated questionnaire. Only [`super::parse`] builds one, so every value here has passed
//! the checks in `docs/questionnaire-format.md`.

use std::fmt;

use serde::{Deserialize, Serialize, Serializer};

use crate::domain::vendor::Tier;

/// A score in [0, 1], kept in thousandths so that sums and comparisons are exact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(try_from = "f64")]
pub struct Score(u16);

impl Score {
    pub const ZERO: Score = Score(0);
    pub const ONE: Score = Score(1000);

    /// Creates a score from thousandths; values above 1000 are clamped to 1.
    pub fn from_thousandths(thousandths: u16) -> Self {
        Self(thousandths.min(1000))
    }

    pub fn thousandths(self) -> u16 {
        self.0
    }

    pub fn as_f64(self) -> f64 {
        f64::from(self.0) / 1000.0
    }
}

impl TryFrom<f64> for Score {
    type Error = String;

    /// Accepts numbers in [0, 1] with at most three decimal places.
    fn try_from(value: f64) -> Result<Self, Self::Error> {
        if !(0.0..=1.0).contains(&value) {
            return Err(format!("score {value} is outside [0, 1]"));
        }
        let scaled = value * 1000.0;
        if (scaled - scaled.round()).abs() > 1e-6 {
            return Err(format!("score {value} has more than three decimal places"));
        }
        Ok(Self(scaled.round() as u16))
    }
}

impl Serialize for Score {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.as_f64())
    }
}

impl fmt::Display for Score {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.as_f64())
    }
}

/// A question's weight, greater than 0 and at most 10, kept in hundredths.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(try_from = "f64")]
pub struct Weight(u16);

impl Weight {
    pub const ONE: Weight = Weight(100);

    pub fn hundredths(self) -> u16 {
        self.0
    }

    pub fn as_f64(self) -> f64 {
        f64::from(self.0) / 100.0
    }
}

impl TryFrom<f64> for Weight {
    type Error = String;

    /// Accepts numbers in (0, 10] with at most two decimal places.
    fn try_from(value: f64) -> Result<Self, Self::Error> {
        if !(value > 0.0 && value <= 10.0) {
            return Err(format!(
                "weight {value} must be greater than 0 and at most 10"
            ));
        }
        let scaled = value * 100.0;
        if (scaled - scaled.round()).abs() > 1e-6 {
            return Err(format!("weight {value} has more than two decimal places"));
        }
        Ok(Self(scaled.round() as u16))
    }
}

impl Serialize for Weight {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.as_f64())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerType {
    YesNo,
    SingleChoice,
    MultipleChoice,
    Text,
    Date,
    Number,
}

impl AnswerType {
    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "yes_no" => Self::YesNo,
            "single_choice" => Self::SingleChoice,
            "multiple_choice" => Self::MultipleChoice,
            "text" => Self::Text,
            "date" => Self::Date,
            "number" => Self::Number,
            _ => return None,
        })
    }

    /// Whether answers of this type have a score.
    pub fn is_scored(self) -> bool {
        matches!(
            self,
            Self::YesNo | Self::SingleChoice | Self::MultipleChoice
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceRule {
    None,
    Optional,
    /// Required unless the answer is no, not applicable or an option scored 0.
    Required,
}

/// One answer a choice or yes/no question offers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChoiceOption {
    pub value: String,
    pub label: String,
    /// `None` for an option that leaves the question out of the score ("not applicable"), and
    /// for every option of an unscored question.
    pub score: Option<Score>,
}

/// A condition under which a question is shown.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Condition {
    pub question: String,
    /// The question is shown when the named question's answer is one of these values.
    pub is: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NumberRange {
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub unit: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Question {
    pub id: String,
    pub text: String,
    pub help: Option<String>,
    #[serde(rename = "type")]
    pub answer_type: AnswerType,
    pub required: bool,
    /// False for text, date and number questions and for questions marked `scored = false`.
    pub scored: bool,
    /// Options of yes/no and choice questions, in display order; empty for other types.
    pub options: Vec<ChoiceOption>,
    /// Present on scored types only.
    pub weight: Option<Weight>,
    pub critical: bool,
    /// Present on critical questions only: the lowest passing score.
    pub pass_score: Option<Score>,
    pub controls: Vec<String>,
    pub evidence: EvidenceRule,
    pub evidence_hint: Option<String>,
    pub show_if: Option<Condition>,
    pub number: Option<NumberRange>,
}

impl Question {
    pub fn option(&self, value: &str) -> Option<&ChoiceOption> {
        self.options.iter().find(|option| option.value == value)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Section {
    pub id: String,
    pub title: String,
    pub intro: Option<String>,
    pub questions: Vec<Question>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Questionnaire {
    pub key: String,
    pub version: u32,
    pub title: String,
    pub description: Option<String>,
    pub tiers: Vec<Tier>,
    pub sections: Vec<Section>,
}

impl Questionnaire {
    pub fn questions(&self) -> impl Iterator<Item = &Question> {
        self.sections
            .iter()
            .flat_map(|section| section.questions.iter())
    }

    pub fn question(&self, id: &str) -> Option<&Question> {
        self.questions().find(|question| question.id == id)
    }

    pub fn question_count(&self) -> usize {
        self.sections
            .iter()
            .map(|section| section.questions.len())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_accepts_three_decimals() {
        assert_eq!(Score::try_from(0.125).unwrap().thousandths(), 125);
        assert_eq!(Score::try_from(1.0).unwrap(), Score::ONE);
        assert_eq!(Score::try_from(0.7).unwrap().thousandths(), 700);
    }

    #[test]
    fn score_rejects_out_of_range_and_precision() {
        assert!(Score::try_from(1.01).is_err());
        assert!(Score::try_from(-0.1).is_err());
        assert!(Score::try_from(0.1234).is_err());
    }

    #[test]
    fn weight_rejects_zero_and_above_ten() {
        assert!(Weight::try_from(0.0).is_err());
        assert!(Weight::try_from(10.5).is_err());
        assert_eq!(Weight::try_from(2.5).unwrap().hundredths(), 250);
    }
}
