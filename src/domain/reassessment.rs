//! Reassessments: how a vendor's answers changed since its previous assessment.
//!
//! A reassessment starts with the previous answers carried over, and the vendor confirms or
//! changes each one. The comparison here tells the analyst the outcome per question.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use super::answers::{AnswerValue, visible_questions};
use super::questionnaire::{Question, Questionnaire};

/// The relation of one question's answer to the previous assessment's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// The vendor confirmed the carried-over answer, or saved the same value again.
    Confirmed,
    /// The vendor saved a different value.
    Changed,
    /// Answered now but not in the previous assessment.
    New,
    /// Answered in the previous assessment but not now, because the vendor cleared it, another
    /// answer hides the question, or the current questionnaire version no longer has it.
    Removed,
    /// Still carried over, neither confirmed nor changed by the vendor.
    Unconfirmed,
}

impl ChangeKind {
    /// Every kind, in the order pages list them.
    pub const ALL: [ChangeKind; 5] = [
        ChangeKind::Changed,
        ChangeKind::New,
        ChangeKind::Removed,
        ChangeKind::Unconfirmed,
        ChangeKind::Confirmed,
    ];

    pub fn label(self) -> &'static str {
        match self {
            ChangeKind::Confirmed => "Confirmed unchanged",
            ChangeKind::Changed => "Changed",
            ChangeKind::New => "Newly answered",
            ChangeKind::Removed => "No longer answered",
            ChangeKind::Unconfirmed => "Not confirmed yet",
        }
    }
}

/// One question's answers in the previous and the current assessment.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QuestionChange {
    pub question_id: String,
    pub section_title: String,
    pub question_text: String,
    /// The previous answer as the vendor saw it, or `None` when it was not answered.
    pub previous: Option<String>,
    /// The current answer as the vendor sees it, or `None` when it is not answered.
    pub current: Option<String>,
    /// Whether the current questionnaire version contains the question.
    pub in_current_version: bool,
    pub kind: ChangeKind,
}

/// The number of questions of each kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ChangeCounts {
    pub confirmed: usize,
    pub changed: usize,
    pub new: usize,
    pub removed: usize,
    pub unconfirmed: usize,
}

impl ChangeCounts {
    fn add(&mut self, kind: ChangeKind) {
        match kind {
            ChangeKind::Confirmed => self.confirmed += 1,
            ChangeKind::Changed => self.changed += 1,
            ChangeKind::New => self.new += 1,
            ChangeKind::Removed => self.removed += 1,
            ChangeKind::Unconfirmed => self.unconfirmed += 1,
        }
    }
}

/// The answers of one assessment, parsed against its own questionnaire version.
pub struct AnswerSet<'a> {
    pub questionnaire: &'a Questionnaire,
    pub values: &'a HashMap<String, AnswerValue>,
    /// Questions whose answer is still carried over from the assessment before.
    pub carried_over: &'a HashSet<String>,
}

/// The outcome of [`compare`]: the questions in questionnaire order, with their counts.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct AnswerComparison {
    pub changes: Vec<QuestionChange>,
    pub counts: ChangeCounts,
}

/// Compares the current assessment's answers with the previous assessment's, question by
/// question. Only questions shown to the vendor count, so an answer to a question that its
/// condition hides is treated as no answer. Questions answered in neither assessment are left
/// out. The current questionnaire's questions come first in its order, then those only the
/// previous version asked.
///
/// Answers compare by their stored form, so the comment does not count as a change.
pub fn compare(previous: &AnswerSet<'_>, current: &AnswerSet<'_>) -> AnswerComparison {
    let previous_visible = visible_questions(previous.questionnaire, previous.values);
    let current_visible = visible_questions(current.questionnaire, current.values);
    let shown_answer = |set: &AnswerSet<'_>, visible: &HashSet<String>, question: &Question| {
        set.values
            .get(&question.id)
            .filter(|_| visible.contains(&question.id))
            .cloned()
    };

    let mut comparison = AnswerComparison::default();
    let mut push = |change: QuestionChange| {
        comparison.counts.add(change.kind);
        comparison.changes.push(change);
    };
    for section in &current.questionnaire.sections {
        for question in &section.questions {
            let previous_question = previous.questionnaire.question(&question.id);
            let before = previous_question.and_then(|previous_question| {
                shown_answer(previous, &previous_visible, previous_question)
                    .map(|value| (value.to_stored(), value.display(previous_question)))
            });
            let now = shown_answer(current, &current_visible, question)
                .map(|value| (value.to_stored(), value.display(question)));
            let kind = match (&before, &now) {
                (None, None) => continue,
                (_, Some(_)) if current.carried_over.contains(&question.id) => {
                    ChangeKind::Unconfirmed
                }
                (Some(_), None) => ChangeKind::Removed,
                (None, Some(_)) => ChangeKind::New,
                (Some((before, _)), Some((now, _))) if before == now => ChangeKind::Confirmed,
                (Some(_), Some(_)) => ChangeKind::Changed,
            };
            push(QuestionChange {
                question_id: question.id.clone(),
                section_title: section.title.clone(),
                question_text: question.text.clone(),
                previous: before.map(|(_, display)| display),
                current: now.map(|(_, display)| display),
                in_current_version: true,
                kind,
            });
        }
    }
    for section in &previous.questionnaire.sections {
        for question in &section.questions {
            if current.questionnaire.question(&question.id).is_some() {
                continue;
            }
            let Some(before) = shown_answer(previous, &previous_visible, question) else {
                continue;
            };
            push(QuestionChange {
                question_id: question.id.clone(),
                section_title: section.title.clone(),
                question_text: question.text.clone(),
                previous: Some(before.display(question)),
                current: None,
                in_current_version: false,
                kind: ChangeKind::Removed,
            });
        }
    }
    comparison
}

#[cfg(test)]
mod tests;
