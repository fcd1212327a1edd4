use super::*;
use crate::domain::questionnaire::parse;

const VERSION_1: &str = r#"
key = "sample"
version = 1
title = "Sample"

[[sections]]
id = "s"
title = "Data"

[[sections.questions]]
id = "phi"
text = "Do you store PHI?"
type = "yes_no"
scored = false
allow_partial = false

[[sections.questions]]
id = "encrypt"
text = "Do you encrypt it?"
type = "yes_no"
show_if = { question = "phi", is = ["yes"] }

[[sections.questions]]
id = "hours"
text = "Restore hours?"
type = "number"
unit = "hours"

[[sections.questions]]
id = "fax"
text = "Do you send PHI by fax?"
type = "yes_no"
required = false
"#;

/// Version 2 drops `fax` and adds `backups`.
const VERSION_2: &str = r#"
key = "sample"
version = 2
title = "Sample"

[[sections]]
id = "s"
title = "Data"

[[sections.questions]]
id = "phi"
text = "Do you store PHI?"
type = "yes_no"
scored = false
allow_partial = false

[[sections.questions]]
id = "encrypt"
text = "Do you encrypt it?"
type = "yes_no"
show_if = { question = "phi", is = ["yes"] }

[[sections.questions]]
id = "hours"
text = "Restore hours?"
type = "number"
unit = "hours"

[[sections.questions]]
id = "backups"
text = "Do you test backups?"
type = "yes_no"
required = false
"#;

fn choice(value: &str) -> AnswerValue {
    AnswerValue::Choice(value.to_owned())
}

fn answers(items: &[(&str, AnswerValue)]) -> HashMap<String, AnswerValue> {
    items
        .iter()
        .map(|(id, value)| ((*id).to_owned(), value.clone()))
        .collect()
}

fn ids(items: &[&str]) -> HashSet<String> {
    items.iter().map(|id| (*id).to_owned()).collect()
}

fn kinds(comparison: &AnswerComparison) -> Vec<(&str, ChangeKind)> {
    comparison
        .changes
        .iter()
        .map(|change| (change.question_id.as_str(), change.kind))
        .collect()
}

#[test]
fn compare_sorts_each_question_into_its_kind() {
    let questionnaire = parse(VERSION_1).unwrap();
    let previous_values = answers(&[
        ("phi", choice("yes")),
        ("encrypt", choice("yes")),
        ("hours", AnswerValue::Number(24.0)),
    ]);
    let current_values = answers(&[
        ("phi", choice("yes")),
        ("encrypt", choice("no")),
        ("fax", choice("no")),
    ]);
    let comparison = compare(
        &AnswerSet {
            questionnaire: &questionnaire,
            values: &previous_values,
            carried_over: &HashSet::new(),
        },
        &AnswerSet {
            questionnaire: &questionnaire,
            values: &current_values,
            carried_over: &HashSet::new(),
        },
    );

    assert_eq!(
        kinds(&comparison),
        [
            ("phi", ChangeKind::Confirmed),
            ("encrypt", ChangeKind::Changed),
            ("hours", ChangeKind::Removed),
            ("fax", ChangeKind::New),
        ]
    );
    let hours = &comparison.changes[2];
    assert_eq!(hours.previous.as_deref(), Some("24 hours"));
    assert_eq!(hours.current, None);
    assert!(hours.in_current_version);
    let encrypt = &comparison.changes[1];
    assert_eq!(encrypt.previous.as_deref(), Some("Yes"));
    assert_eq!(encrypt.current.as_deref(), Some("No"));
    assert_eq!(encrypt.section_title, "Data");
    assert_eq!(
        comparison.counts,
        ChangeCounts {
            confirmed: 1,
            changed: 1,
            new: 1,
            removed: 1,
            unconfirmed: 0,
        }
    );
}

#[test]
fn compare_keeps_carried_over_answers_apart() {
    let questionnaire = parse(VERSION_1).unwrap();
    let values = answers(&[("phi", choice("yes")), ("encrypt", choice("yes"))]);
    let comparison = compare(
        &AnswerSet {
            questionnaire: &questionnaire,
            values: &values,
            carried_over: &HashSet::new(),
        },
        &AnswerSet {
            questionnaire: &questionnaire,
            values: &values,
            carried_over: &ids(&["encrypt"]),
        },
    );

    assert_eq!(
        kinds(&comparison),
        [
            ("phi", ChangeKind::Confirmed),
            ("encrypt", ChangeKind::Unconfirmed),
        ]
    );
    assert_eq!(comparison.counts.unconfirmed, 1);
    assert_eq!(comparison.counts.confirmed, 1);
}

#[test]
fn compare_treats_hidden_answers_as_unanswered() {
    let questionnaire = parse(VERSION_1).unwrap();
    let previous_values = answers(&[("phi", choice("yes")), ("encrypt", choice("yes"))]);
    // The carried-over `encrypt` answer stays stored, but `phi` = no now hides the question.
    let current_values = answers(&[("phi", choice("no")), ("encrypt", choice("yes"))]);
    let comparison = compare(
        &AnswerSet {
            questionnaire: &questionnaire,
            values: &previous_values,
            carried_over: &HashSet::new(),
        },
        &AnswerSet {
            questionnaire: &questionnaire,
            values: &current_values,
            carried_over: &ids(&["encrypt"]),
        },
    );

    assert_eq!(
        kinds(&comparison),
        [
            ("phi", ChangeKind::Changed),
            ("encrypt", ChangeKind::Removed),
        ]
    );
    assert_eq!(comparison.changes[1].current, None);
}

#[test]
fn compare_lists_questions_the_new_version_dropped() {
    let previous_questionnaire = parse(VERSION_1).unwrap();
    let current_questionnaire = parse(VERSION_2).unwrap();
    let previous_values = answers(&[("phi", choice("no")), ("fax", choice("yes"))]);
    let current_values = answers(&[("phi", choice("no")), ("backups", choice("yes"))]);
    let comparison = compare(
        &AnswerSet {
            questionnaire: &previous_questionnaire,
            values: &previous_values,
            carried_over: &HashSet::new(),
        },
        &AnswerSet {
            questionnaire: &current_questionnaire,
            values: &current_values,
            carried_over: &ids(&["phi"]),
        },
    );

    assert_eq!(
        kinds(&comparison),
        [
            ("phi", ChangeKind::Unconfirmed),
            ("backups", ChangeKind::New),
            ("fax", ChangeKind::Removed),
        ]
    );
    let fax = &comparison.changes[2];
    assert!(!fax.in_current_version);
    assert_eq!(fax.question_text, "Do you send PHI by fax?");
    assert_eq!(fax.previous.as_deref(), Some("Yes"));
}

#[test]
fn compare_of_unanswered_assessments_is_empty() {
    let questionnaire = parse(VERSION_1).unwrap();
    let empty = HashMap::new();
    let set = AnswerSet {
        questionnaire: &questionnaire,
        values: &empty,
        carried_over: &HashSet::new(),
    };
    assert_eq!(compare(&set, &set), AnswerComparison::default());
}
