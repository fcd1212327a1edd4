//! Vendor answers: parsing form values against a question, storing them as text, deciding which
//! questions are shown, and what still blocks submission.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::questionnaire::{AnswerType, EvidenceRule, Question, Questionnaire, Score};

/// Longest accepted text answer or comment, in characters.
pub const MAX_TEXT_CHARS: usize = 10_000;

/// A parsed answer.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum AnswerValue {
    /// The chosen option of a yes/no or single-choice question.
    Choice(String),
    /// The chosen options of a multiple-choice question, in the questionnaire's order.
    Choices(Vec<String>),
    Text(String),
    Date(NaiveDate),
    Number(f64),
}

impl AnswerValue {
    /// Parses the values a form sent for `question` (several for a multiple-choice question).
    /// Returns `None` when the values are empty, which clears the answer.
    ///
    /// # Errors
    /// Returns a message naming the value and what is accepted.
    pub fn parse(question: &Question, values: &[String]) -> Result<Option<Self>, String> {
        let values: Vec<&str> = values
            .iter()
            .map(|value| value.trim())
            .filter(|value| !value.is_empty())
            .collect();
        if values.is_empty() {
            return Ok(None);
        }
        let offered = || {
            question
                .options
                .iter()
                .map(|option| option.label.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match question.answer_type {
            AnswerType::YesNo | AnswerType::SingleChoice => {
                if values.len() > 1 {
                    return Err("Choose only one answer.".to_owned());
                }
                let value = values[0];
                if question.option(value).is_none() {
                    return Err(format!(
                        "{value:?} is not one of the answers offered: {}.",
                        offered()
                    ));
                }
                Ok(Some(Self::Choice(value.to_owned())))
            }
            AnswerType::MultipleChoice => {
                let chosen: HashSet<&str> = values.iter().copied().collect();
                if let Some(unknown) = values.iter().find(|value| question.option(value).is_none())
                {
                    return Err(format!(
                        "{unknown:?} is not one of the answers offered: {}.",
                        offered()
                    ));
                }
                let ordered = question
                    .options
                    .iter()
                    .filter(|option| chosen.contains(option.value.as_str()))
                    .map(|option| option.value.clone())
                    .collect();
                Ok(Some(Self::Choices(ordered)))
            }
            AnswerType::Text => {
                let text = values.join("\n");
                if text.chars().count() > MAX_TEXT_CHARS {
                    return Err(format!(
                        "The answer is longer than {MAX_TEXT_CHARS} characters; shorten it or attach a document."
                    ));
                }
                Ok(Some(Self::Text(text)))
            }
            AnswerType::Date => NaiveDate::parse_from_str(values[0], "%Y-%m-%d")
                .or_else(|_| NaiveDate::parse_from_str(values[0], "%m/%d/%Y"))
                .map(|date| Some(Self::Date(date)))
                .map_err(|_| {
                    format!(
                        "{:?} is not a date; write it as YYYY-MM-DD, for example 2026-03-31.",
                        values[0]
                    )
                }),
            AnswerType::Number => {
                let text = values[0].replace(',', "");
                let number: f64 = text
                    .parse()
                    .ok()
                    .filter(|number: &f64| number.is_finite())
                    .ok_or_else(|| {
                        format!(
                            "{:?} is not a number; write digits only, such as 24.",
                            values[0]
                        )
                    })?;
                let range = question.number.as_ref();
                if let Some(min) = range
                    .and_then(|range| range.min)
                    .filter(|min| number < *min)
                {
                    return Err(format!(
                        "{number} is below the lowest accepted value, {min}."
                    ));
                }
                if let Some(max) = range
                    .and_then(|range| range.max)
                    .filter(|max| number > *max)
                {
                    return Err(format!(
                        "{number} is above the highest accepted value, {max}."
                    ));
                }
                Ok(Some(Self::Number(number)))
            }
        }
    }

    /// Returns the stored text form: option values joined by newlines for multiple choice,
    /// ISO dates, plain numbers.
    pub fn to_stored(&self) -> String {
        match self {
            Self::Choice(value) | Self::Text(value) => value.clone(),
            Self::Choices(values) => values.join("\n"),
            Self::Date(date) => date.to_string(),
            Self::Number(number) => number.to_string(),
        }
    }

    /// Reads a stored answer back. Returns `None` when it no longer fits the question.
    pub fn from_stored(question: &Question, stored: &str) -> Option<Self> {
        let values: Vec<String> = match question.answer_type {
            AnswerType::MultipleChoice => stored.lines().map(str::to_owned).collect(),
            AnswerType::Text => vec![stored.to_owned()],
            _ => vec![stored.to_owned()],
        };
        Self::parse(question, &values).ok().flatten()
    }

    /// Returns the chosen option values, for conditions and scoring.
    pub fn chosen(&self) -> Vec<&str> {
        match self {
            Self::Choice(value) => vec![value.as_str()],
            Self::Choices(values) => values.iter().map(String::as_str).collect(),
            _ => Vec::new(),
        }
    }

    /// Returns the answer as the vendor sees it: option labels, or the text.
    pub fn display(&self, question: &Question) -> String {
        match self {
            Self::Choice(_) | Self::Choices(_) => self
                .chosen()
                .iter()
                .map(|value| {
                    question
                        .option(value)
                        .map_or(*value, |option| option.label.as_str())
                })
                .collect::<Vec<_>>()
                .join("; "),
            Self::Text(text) => text.clone(),
            Self::Date(date) => date.to_string(),
            Self::Number(number) => match question
                .number
                .as_ref()
                .and_then(|range| range.unit.as_deref())
            {
                Some(unit) => format!("{number} {unit}"),
                None => number.to_string(),
            },
        }
    }

    /// Returns the score of this answer, or `None` when it leaves the question out of the score
    /// (not applicable, or an unscored question). Multiple choice sums the chosen options' scores,
    /// capped at 1.
    pub fn score(&self, question: &Question) -> Option<Score> {
        if !question.scored {
            return None;
        }
        let scores: Vec<Option<Score>> = self
            .chosen()
            .iter()
            .map(|value| question.option(value).and_then(|option| option.score))
            .collect();
        match self {
            Self::Choice(_) => scores.first().copied().flatten(),
            Self::Choices(_) => {
                let counted: Vec<Score> = scores.into_iter().flatten().collect();
                if counted.is_empty() {
                    return None;
                }
                let sum: u32 = counted
                    .iter()
                    .map(|score| u32::from(score.thousandths()))
                    .sum();
                Some(Score::from_thousandths(sum.min(1000) as u16))
            }
            _ => None,
        }
    }

    /// Returns whether this answer says the vendor has the control, so required evidence applies:
    /// not "no", not "not applicable", and not an option scored 0.
    pub fn is_affirmative(&self, question: &Question) -> bool {
        match self {
            Self::Choice(_) | Self::Choices(_) => self.chosen().iter().any(|value| {
                let Some(option) = question.option(value) else {
                    return false;
                };
                if option.value == "no" || option.value == "not_applicable" {
                    return false;
                }
                // On a scored question, an option without a score is "not applicable".
                !question.scored || option.score.is_some_and(|score| score > Score::ZERO)
            }),
            Self::Text(_) | Self::Date(_) | Self::Number(_) => true,
        }
    }
}

/// A short fingerprint of an answer and its comment, sent with the form so that a save can tell
/// an answer the vendor changed from one that another contact changed meanwhile.
pub fn fingerprint(value: Option<&str>, comment: Option<&str>) -> String {
    let mut hasher = Sha256::new();
    hasher.update(value.unwrap_or_default().trim().as_bytes());
    hasher.update([0]);
    hasher.update(comment.unwrap_or_default().trim().as_bytes());
    hex::encode(&hasher.finalize()[..8])
}

/// Returns the ids of the questions shown for these answers. A question with `show_if` is shown
/// when the question it names is shown and its answer includes one of the listed values.
pub fn visible_questions(
    questionnaire: &Questionnaire,
    answers: &HashMap<String, AnswerValue>,
) -> HashSet<String> {
    let mut visible = HashSet::new();
    // Conditions may name later questions, so repeat until nothing changes; the checker rules
    // out cycles, so this ends after at most one pass per question.
    loop {
        let before = visible.len();
        for question in questionnaire.questions() {
            if visible.contains(&question.id) {
                continue;
            }
            let shown = match &question.show_if {
                None => true,
                Some(condition) => {
                    visible.contains(&condition.question)
                        && answers.get(&condition.question).is_some_and(|answer| {
                            answer
                                .chosen()
                                .iter()
                                .any(|value| condition.is.iter().any(|listed| listed == value))
                        })
                }
            };
            if shown {
                visible.insert(question.id.clone());
            }
        }
        if visible.len() == before {
            return visible;
        }
    }
}

/// Something that keeps an assessment from being submitted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Missing {
    pub question_id: String,
    pub section_title: String,
    pub question_text: String,
    pub what: MissingKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MissingKind {
    Answer,
    Evidence,
    /// The answer is carried over from the previous assessment and the vendor has neither
    /// confirmed nor changed it.
    Confirmation,
}

/// Answer counts for the progress figure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Progress {
    pub answered: usize,
    pub shown: usize,
    pub percent: usize,
    /// Shown questions whose carried-over answer still waits for the vendor's confirmation.
    pub to_confirm: usize,
}

/// Counts the shown questions and those answered. A carried-over answer in `carried_over`
/// counts as answered only once the vendor confirms or changes it, so the figure shows the work
/// left in this assessment rather than what the previous one filled in.
pub fn progress(
    questionnaire: &Questionnaire,
    answers: &HashMap<String, AnswerValue>,
    carried_over: &HashSet<String>,
) -> Progress {
    let visible = visible_questions(questionnaire, answers);
    let answered: Vec<&String> = visible
        .iter()
        .filter(|id| answers.contains_key(*id))
        .collect();
    let to_confirm = answered
        .iter()
        .filter(|id| carried_over.contains(**id))
        .count();
    let answered = answered.len() - to_confirm;
    let shown = visible.len();
    Progress {
        answered,
        shown,
        percent: (answered * 100).checked_div(shown).unwrap_or(100),
        to_confirm,
    }
}

/// Returns whether a file must be attached for this question and answer.
pub fn evidence_required(question: &Question, answer: Option<&AnswerValue>) -> bool {
    question.evidence == EvidenceRule::Required
        && answer.is_some_and(|answer| answer.is_affirmative(question))
}

/// Lists what keeps the assessment from being submitted: required questions shown but not
/// answered, shown answers still carried over (listed in `carried_over`) that the vendor has
/// not confirmed or changed, and required evidence not attached. `evidence_for` tells which
/// questions have a usable (not rejected) file.
pub fn missing_for_submission(
    questionnaire: &Questionnaire,
    answers: &HashMap<String, AnswerValue>,
    carried_over: &HashSet<String>,
    evidence_for: &HashSet<String>,
) -> Vec<Missing> {
    let visible = visible_questions(questionnaire, answers);
    let mut missing = Vec::new();
    for section in &questionnaire.sections {
        for question in &section.questions {
            if !visible.contains(&question.id) {
                continue;
            }
            let answer = answers.get(&question.id);
            let item = |what| Missing {
                question_id: question.id.clone(),
                section_title: section.title.clone(),
                question_text: question.text.clone(),
                what,
            };
            if question.required && answer.is_none() {
                missing.push(item(MissingKind::Answer));
                continue;
            }
            if answer.is_some() && carried_over.contains(&question.id) {
                missing.push(item(MissingKind::Confirmation));
            }
            // Evidence is not carried over, so a confirmed answer may still need a new file.
            if evidence_required(question, answer) && !evidence_for.contains(&question.id) {
                missing.push(item(MissingKind::Evidence));
            }
        }
    }
    missing
}

#[cfg(test)]
mod tests;
