//! Questionnaires: the model, the file format and its checker, the control lists, and the
//! library of questionnaires shipped in `questionnaires/`.

pub mod controls;
pub mod model;
pub mod parse;

pub use model::{
    AnswerType, ChoiceOption, Condition, EvidenceRule, Question, Questionnaire, Score, Section,
    Weight,
};
pub use parse::{Problem, parse};

use std::sync::LazyLock;

/// Shipped questionnaire files, `(file name, contents)`, embedded by `build.rs`.
const SHIPPED_FILES: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/questionnaires.rs"));

static SHIPPED: LazyLock<Vec<Questionnaire>> = LazyLock::new(|| {
    SHIPPED_FILES
        .iter()
        .map(|(name, source)| {
            parse(source).unwrap_or_else(|problems| {
                // A test parses every shipped file, so this only fires on a build that skipped it.
                panic!("shipped questionnaire {name} is invalid: {problems:?}")
            })
        })
        .collect()
});

/// Returns the source text of a shipped questionnaire.
pub fn shipped_source(key: &str, version: u32) -> Option<&'static str> {
    SHIPPED_FILES
        .iter()
        .zip(shipped())
        .find(|(_, questionnaire)| questionnaire.key == key && questionnaire.version == version)
        .map(|((_, source), _)| *source)
}

/// Returns the questionnaires shipped with the portal, in file-name order.
pub fn shipped() -> &'static [Questionnaire] {
    &SHIPPED
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_questionnaires_pass_the_checker() {
        for (name, source) in SHIPPED_FILES {
            if let Err(problems) = parse(source) {
                panic!("{name}: {problems:#?}");
            }
        }
    }

    #[test]
    fn shipped_library_has_full_and_lite_versions() {
        let full = shipped()
            .iter()
            .find(|questionnaire| questionnaire.key == "healthcare-vendor-security")
            .expect("full questionnaire is shipped");
        assert!(
            full.question_count() >= 70,
            "full has {} questions",
            full.question_count()
        );
        let lite = shipped()
            .iter()
            .find(|questionnaire| questionnaire.key == "healthcare-vendor-security-lite")
            .expect("lite questionnaire is shipped");
        assert!(
            (15..=25).contains(&lite.question_count()),
            "lite has {} questions",
            lite.question_count()
        );
    }
}
