use super::*;

const VALID: &str = r#"
key = "sample-check"
version = 2
title = "Sample check"
tiers = ["low", "moderate"]

[[sections]]
id = "access"
title = "Access"

[[sections.questions]]
id = "mfa"
text = "Do you use multi-factor authentication?"
help = "Stops stolen passwords from opening records."
type = "yes_no"
weight = 3
critical = true
pass_score = 0.5
controls = ["8.5", "164.312(d)"]
evidence = "optional"
evidence_hint = "Policy screenshot"

[[sections.questions]]
id = "mfa-scope"
text = "Which accounts?"
type = "multiple_choice"
show_if = { question = "mfa", is = ["yes", "partial"] }
options = [
  { value = "admins", label = "Administrators", score = 0.5 },
  { value = "remote", label = "Remote users", score = 0.5 },
  { value = "na", label = "We have no remote users", not_applicable = true },
]

[[sections.questions]]
id = "restore-hours"
text = "How many hours does a full restore take?"
type = "number"
min = 0
unit = "hours"
"#;

/// Replaces `from` in the valid sample (which must occur) and returns the problems.
fn problems_after(from: &str, to: &str) -> Vec<Problem> {
    assert!(VALID.contains(from), "sample does not contain {from:?}");
    let source = VALID.replacen(from, to, 1);
    parse(&source).expect_err("expected problems")
}

fn assert_problem(problems: &[Problem], line: usize, needle: &str) {
    assert!(
        problems
            .iter()
            .any(|problem| problem.line == line && problem.message.contains(needle)),
        "no problem on line {line} containing {needle:?} in {problems:#?}"
    );
}

#[test]
fn valid_file_parses() {
    let questionnaire = parse(VALID).unwrap();
    assert_eq!(questionnaire.key, "sample-check");
    assert_eq!(questionnaire.version, 2);
    assert_eq!(questionnaire.tiers, vec![Tier::Low, Tier::Moderate]);
    assert_eq!(questionnaire.question_count(), 3);
    let mfa = questionnaire.question("mfa").unwrap();
    assert_eq!(mfa.options.len(), 3, "yes, partial, no");
    assert_eq!(mfa.pass_score, Some(Score::from_thousandths(500)));
    assert_eq!(mfa.weight.unwrap().hundredths(), 300);
    let scope = questionnaire.question("mfa-scope").unwrap();
    assert_eq!(scope.option("na").unwrap().score, None);
    assert!(
        questionnaire
            .question("restore-hours")
            .unwrap()
            .weight
            .is_none()
    );
}

#[test]
fn syntax_error_has_line() {
    let problems = problems_after("title = \"Access\"", "title = \"Access");
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].line, 9);
}

#[test]
fn unknown_field_is_reported() {
    let problems = problems_after("weight = 3", "wieght = 3");
    assert_problem(&problems, 16, "unknown field");
}

#[test]
fn duplicate_question_id_names_first_line() {
    let problems = problems_after("id = \"restore-hours\"", "id = \"mfa\"");
    assert_problem(
        &problems,
        35,
        "duplicate question id \"mfa\" (first used on line 12)",
    );
}

#[test]
fn unknown_control_is_reported_with_hint() {
    let problems = problems_after("\"8.5\", \"164.312(d)\"", "\"A.8.5\", \"164.312(z)\"");
    assert_problem(&problems, 19, "without the \"A.\" prefix");
    assert_problem(&problems, 19, "164.312(z)");
}

#[test]
fn score_outside_range_is_reported() {
    let problems = problems_after(
        "label = \"Remote users\", score = 0.5",
        "label = \"Remote users\", score = 1.5",
    );
    assert_problem(&problems, 30, "outside [0, 1]");
}

#[test]
fn weight_outside_range_is_reported() {
    let problems = problems_after("weight = 3", "weight = 0");
    assert_problem(&problems, 16, "greater than 0");
}

#[test]
fn condition_on_unknown_question_is_reported() {
    let problems = problems_after("question = \"mfa\"", "question = \"mfaa\"");
    assert_problem(&problems, 27, "unknown question \"mfaa\"");
}

#[test]
fn condition_on_value_not_offered_is_reported() {
    let problems = problems_after("is = [\"yes\", \"partial\"]", "is = [\"yes\", \"maybe\"]");
    assert_problem(&problems, 27, "does not offer \"maybe\"");
}

#[test]
fn condition_cycle_is_reported() {
    let problems = problems_after(
        "critical = true\n",
        "critical = true\nshow_if = { question = \"mfa-scope\", is = [\"admins\"] }\n",
    );
    assert!(
        problems
            .iter()
            .any(|problem| problem.message.contains("cycle")
                && problem.message.contains("mfa → mfa-scope → mfa")),
        "{problems:#?}"
    );
}

#[test]
fn self_condition_is_reported_once() {
    let problems = problems_after("question = \"mfa\"", "question = \"mfa-scope\"");
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(problems[0].message.contains("cannot depend on itself"));
}

#[test]
fn condition_on_unscored_question_is_reported() {
    let problems = problems_after("question = \"mfa\"", "question = \"restore-hours\"");
    assert_problem(&problems, 27, "conditions need a yes_no or choice question");
}

#[test]
fn fields_for_other_types_are_reported() {
    let problems = problems_after(
        "unit = \"hours\"",
        "unit = \"hours\"\nweight = 2\noptions = [{ value = \"a\", label = \"A\", score = 1 }]",
    );
    assert_problem(&problems, 40, "weight (unscored question) does not apply");
    assert_problem(&problems, 41, "options do not apply");
}

#[test]
fn choice_option_without_score_is_reported() {
    let problems = problems_after(
        "label = \"Administrators\", score = 0.5",
        "label = \"Administrators\"",
    );
    assert_problem(&problems, 29, "needs a score");
}

#[test]
fn duplicate_option_value_is_reported() {
    let problems = problems_after("value = \"remote\"", "value = \"admins\"");
    assert_problem(&problems, 30, "appears twice");
}

#[test]
fn invalid_ids_and_key_are_reported() {
    let problems = problems_after("id = \"mfa-scope\"", "id = \"MFA Scope\"");
    assert_problem(&problems, 24, "question id \"MFA Scope\" is invalid");
    let problems = problems_after("key = \"sample-check\"", "key = \"Sample Check\"");
    assert_problem(&problems, 2, "key \"Sample Check\" is invalid");
}

#[test]
fn pass_score_without_critical_is_reported() {
    let problems = problems_after("critical = true\n", "");
    assert_problem(
        &problems,
        17,
        "pass_score only applies to critical questions",
    );
}

#[test]
fn every_problem_is_reported_not_only_the_first() {
    let source = VALID
        .replacen("weight = 3", "weight = 11", 1)
        .replacen("\"8.5\"", "\"9.9\"", 1)
        .replacen("question = \"mfa\"", "question = \"nope\"", 1);
    let problems = parse(&source).unwrap_err();
    assert_eq!(problems.len(), 3, "{problems:#?}");
}

#[test]
fn empty_section_is_reported() {
    let source =
        "key = \"abc\"\nversion = 1\ntitle = \"T\"\n[[sections]]\nid = \"s\"\ntitle = \"S\"\n";
    let problems = parse(source).unwrap_err();
    assert_problem(&problems, 5, "section \"s\" has no questions");
}

#[test]
fn unscored_choice_question_needs_no_scores() {
    let source = VALID
        .replacen(
            "id = \"mfa-scope\"",
            "id = \"mfa-scope\"\nscored = false",
            1,
        )
        .replace(", score = 0.5 }", " }");
    let questionnaire = parse(&source).unwrap();
    let scope = questionnaire.question("mfa-scope").unwrap();
    assert!(!scope.scored);
    assert!(scope.weight.is_none());
    assert!(scope.options.iter().all(|option| option.score.is_none()));
}

#[test]
fn unscored_question_rejects_weight_and_scores() {
    let problems = problems_after("weight = 3", "scored = false\nweight = 3");
    assert!(
        problems
            .iter()
            .any(|problem| problem.message.contains("weight (unscored question)")),
        "{problems:#?}"
    );
}
