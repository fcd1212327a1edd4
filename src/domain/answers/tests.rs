use super::*;
use crate::domain::questionnaire::parse;

const SAMPLE: &str = r#"
key = "sample"
version = 1
title = "Sample"

[[sections]]
id = "s"
title = "Section"

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
evidence = "required"
allow_not_applicable = true

[[sections.questions]]
id = "methods"
text = "Which methods?"
type = "multiple_choice"
required = false
options = [
  { value = "disk", label = "Disk", score = 0.6 },
  { value = "db", label = "Database", score = 0.6 },
  { value = "none", label = "None", score = 0 },
]

[[sections.questions]]
id = "hours"
text = "Restore hours?"
type = "number"
min = 0
max = 720
"#;

fn sample() -> Questionnaire {
    parse(SAMPLE).unwrap()
}

fn values(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| (*item).to_owned()).collect()
}

#[test]
fn parse_checks_values_against_question() {
    let questionnaire = sample();
    let encrypt = questionnaire.question("encrypt").unwrap();
    assert_eq!(
        AnswerValue::parse(encrypt, &values(&["yes"])).unwrap(),
        Some(AnswerValue::Choice("yes".into()))
    );
    assert_eq!(AnswerValue::parse(encrypt, &values(&[" "])).unwrap(), None);
    let message = AnswerValue::parse(encrypt, &values(&["maybe"])).unwrap_err();
    assert!(
        message.contains(
            "\"maybe\" is not one of the answers offered: Yes, Partly, No, Not applicable"
        ),
        "{message}"
    );

    let hours = questionnaire.question("hours").unwrap();
    assert_eq!(
        AnswerValue::parse(hours, &values(&["1,000"])).unwrap_err(),
        "1000 is above the highest accepted value, 720."
    );
    assert!(
        AnswerValue::parse(hours, &values(&["soon"]))
            .unwrap_err()
            .contains("not a number")
    );
    assert_eq!(
        AnswerValue::parse(hours, &values(&["24"])).unwrap(),
        Some(AnswerValue::Number(24.0))
    );
}

#[test]
fn multiple_choice_keeps_questionnaire_order_and_caps_score() {
    let questionnaire = sample();
    let methods = questionnaire.question("methods").unwrap();
    let answer = AnswerValue::parse(methods, &values(&["db", "disk"]))
        .unwrap()
        .unwrap();
    assert_eq!(
        answer,
        AnswerValue::Choices(vec!["disk".into(), "db".into()])
    );
    assert_eq!(
        answer.score(methods),
        Some(Score::ONE),
        "0.6 + 0.6 is capped at 1"
    );
    assert_eq!(
        AnswerValue::from_stored(methods, &answer.to_stored()),
        Some(answer)
    );
}

#[test]
fn not_applicable_has_no_score() {
    let questionnaire = sample();
    let encrypt = questionnaire.question("encrypt").unwrap();
    let answer = AnswerValue::Choice("not_applicable".into());
    assert_eq!(answer.score(encrypt), None);
    assert!(!answer.is_affirmative(encrypt));
    assert_eq!(
        AnswerValue::Choice("partial".into()).score(encrypt),
        Some(Score::from_thousandths(500))
    );
}

#[test]
fn conditional_question_is_shown_only_when_condition_holds() {
    let questionnaire = sample();
    let mut answers = HashMap::new();
    assert!(!visible_questions(&questionnaire, &answers).contains("encrypt"));
    answers.insert("phi".to_owned(), AnswerValue::Choice("yes".into()));
    assert!(visible_questions(&questionnaire, &answers).contains("encrypt"));
    answers.insert("phi".to_owned(), AnswerValue::Choice("no".into()));
    assert!(!visible_questions(&questionnaire, &answers).contains("encrypt"));
}

#[test]
fn missing_lists_answers_then_evidence() {
    let questionnaire = sample();
    let mut answers = HashMap::new();
    answers.insert("phi".to_owned(), AnswerValue::Choice("yes".into()));
    let missing =
        missing_for_submission(&questionnaire, &answers, &HashSet::new(), &HashSet::new());
    let ids: Vec<(&str, MissingKind)> = missing
        .iter()
        .map(|item| (item.question_id.as_str(), item.what))
        .collect();
    assert_eq!(
        ids,
        [
            ("encrypt", MissingKind::Answer),
            ("hours", MissingKind::Answer)
        ],
        "optional methods is not listed"
    );

    answers.insert("encrypt".to_owned(), AnswerValue::Choice("yes".into()));
    answers.insert("hours".to_owned(), AnswerValue::Number(4.0));
    let missing =
        missing_for_submission(&questionnaire, &answers, &HashSet::new(), &HashSet::new());
    assert_eq!(missing.len(), 1);
    assert_eq!(missing[0].what, MissingKind::Evidence);

    let with_file: HashSet<String> = ["encrypt".to_owned()].into();
    assert!(
        missing_for_submission(&questionnaire, &answers, &HashSet::new(), &with_file).is_empty()
    );

    answers.insert("encrypt".to_owned(), AnswerValue::Choice("no".into()));
    assert!(
        missing_for_submission(&questionnaire, &answers, &HashSet::new(), &HashSet::new())
            .is_empty(),
        "no evidence is needed for a no"
    );
}

#[test]
fn progress_counts_shown_questions() {
    let questionnaire = sample();
    let mut answers = HashMap::new();
    answers.insert("phi".to_owned(), AnswerValue::Choice("no".into()));
    let progress = progress(&questionnaire, &answers, &HashSet::new());
    assert_eq!(
        (progress.answered, progress.shown, progress.percent),
        (1, 3, 33)
    );
    assert_eq!(progress.to_confirm, 0);
}

#[test]
fn progress_leaves_out_unconfirmed_carried_over_answers() {
    let questionnaire = sample();
    let mut answers = HashMap::new();
    answers.insert("phi".to_owned(), AnswerValue::Choice("yes".into()));
    answers.insert("encrypt".to_owned(), AnswerValue::Choice("yes".into()));
    // `methods` is carried over but unanswered, so it has nothing to confirm.
    let carried_over: HashSet<String> = ["encrypt".to_owned(), "methods".to_owned()].into();
    let progress = progress(&questionnaire, &answers, &carried_over);
    assert_eq!(
        (progress.answered, progress.shown, progress.percent),
        (1, 4, 25)
    );
    assert_eq!(progress.to_confirm, 1);
}

#[test]
fn missing_lists_unconfirmed_carried_over_answers() {
    let questionnaire = sample();
    let mut answers = HashMap::new();
    answers.insert("phi".to_owned(), AnswerValue::Choice("yes".into()));
    answers.insert("encrypt".to_owned(), AnswerValue::Choice("yes".into()));
    answers.insert("hours".to_owned(), AnswerValue::Number(4.0));
    let carried_over: HashSet<String> = ["phi".to_owned(), "encrypt".to_owned()].into();
    let missing = missing_for_submission(&questionnaire, &answers, &carried_over, &HashSet::new());
    let ids: Vec<(&str, MissingKind)> = missing
        .iter()
        .map(|item| (item.question_id.as_str(), item.what))
        .collect();
    assert_eq!(
        ids,
        [
            ("phi", MissingKind::Confirmation),
            ("encrypt", MissingKind::Confirmation),
            ("encrypt", MissingKind::Evidence),
        ],
        "a carried-over yes still needs a new file"
    );

    answers.insert("phi".to_owned(), AnswerValue::Choice("no".into()));
    let missing = missing_for_submission(&questionnaire, &answers, &carried_over, &HashSet::new());
    assert_eq!(
        missing.iter().map(|item| item.what).collect::<Vec<_>>(),
        [MissingKind::Confirmation],
        "the carried-over answer of a hidden question needs no confirmation"
    );
}

#[test]
fn fingerprint_ignores_surrounding_spaces() {
    assert_eq!(
        fingerprint(Some("yes "), None),
        fingerprint(Some("yes"), Some(""))
    );
    assert_ne!(
        fingerprint(Some("yes"), None),
        fingerprint(Some("no"), None)
    );
    assert_ne!(
        fingerprint(Some("yes"), Some("a")),
        fingerprint(Some("yes"), None)
    );
}
