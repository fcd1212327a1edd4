use super::*;
use crate::domain::questionnaire::parse;

const SAMPLE: &str = r#"
key = "scoring-sample"
version = 3
title = "Scoring sample"

[[sections]]
id = "a"
title = "A"

[[sections.questions]]
id = "q1"
text = "One"
type = "yes_no"
weight = 2
controls = ["5.19", "164.308(b)(1)"]
allow_not_applicable = true

[[sections.questions]]
id = "q2"
text = "Two"
type = "yes_no"
weight = 1
critical = true
controls = ["5.19"]

[[sections]]
id = "b"
title = "B"

[[sections.questions]]
id = "q3"
text = "Three"
type = "single_choice"
weight = 3
options = [
  { value = "good", label = "Good", score = 1 },
  { value = "some", label = "Some", score = 0.333 },
  { value = "bad", label = "Bad", score = 0 },
]

[[sections.questions]]
id = "q4"
text = "Notes"
type = "text"
required = false

[[sections.questions]]
id = "q5"
text = "Backups tested?"
type = "yes_no"
evidence = "required"
controls = ["8.13"]
"#;

fn sample() -> Questionnaire {
    parse(SAMPLE).unwrap()
}

fn answers(pairs: &[(&str, &str)]) -> HashMap<String, AnswerValue> {
    let questionnaire = sample();
    pairs
        .iter()
        .map(|(id, value)| {
            let question = questionnaire.question(id).unwrap();
            (
                (*id).to_owned(),
                AnswerValue::parse(question, &[(*value).to_owned()])
                    .unwrap()
                    .unwrap(),
            )
        })
        .collect()
}

#[test]
fn percent_rounds_once_half_up() {
    let cases = [
        ((1, 3), 333),  // 33.33…% → 33.3
        ((2, 3), 667),  // 66.66…% → 66.7
        ((1, 2000), 1), // 0.05% → 0.1 (half up)
        ((1, 2001), 0), // just under 0.05% → 0.0
        ((7, 8), 875),  // exactly 87.5%
        ((0, 5), 0),
        ((5, 5), 1000),
    ];
    for ((numerator, denominator), tenths) in cases {
        assert_eq!(
            Percent::from_ratio(numerator, denominator)
                .unwrap()
                .tenths(),
            tenths,
            "{numerator}/{denominator}"
        );
    }
    assert_eq!(Percent::from_ratio(0, 0), None);
    assert_eq!(Percent::from_tenths(875).to_string(), "87.5");
}

#[test]
fn weighted_scores_by_section_control_and_overall() {
    let questionnaire = sample();
    let given = answers(&[
        ("q1", "yes"),
        ("q2", "partial"),
        ("q3", "some"),
        ("q5", "yes"),
    ]);
    let report = compute(&questionnaire, &given, &HashMap::new());
    // Section A: (2×1000 + 1×500) / (3×1000) = 83.33…%.
    assert_eq!(report.sections[0].score.unwrap().tenths(), 833);
    // Section B: q3 (3×333) and q5 (1×1000): 1999 / 4000 = 49.975% → 50.0.
    assert_eq!(report.sections[1].score.unwrap().tenths(), 500);
    // Overall: (2000 + 500 + 999 + 1000) / 7000 = 64.2857…% → 64.3.
    assert_eq!(report.overall.score.unwrap().tenths(), 643);
    assert_eq!(report.overall.counted, 4);
    // Control 5.19 covers q1 and q2: 2500 / 3000.
    assert_eq!(report.control("5.19").unwrap().score.unwrap().tenths(), 833);
    assert_eq!(
        report
            .control("164.308(b)(1)")
            .unwrap()
            .score
            .unwrap()
            .tenths(),
        1000
    );
    let order: Vec<&str> = report
        .controls
        .iter()
        .map(|group| group.id.as_str())
        .collect();
    assert_eq!(order, ["5.19", "8.13", "164.308(b)(1)"]);
}

#[test]
fn not_applicable_leaves_numerator_and_denominator() {
    let questionnaire = sample();
    let with_na = compute(
        &questionnaire,
        &answers(&[("q1", "not_applicable"), ("q2", "yes")]),
        &HashMap::new(),
    );
    let without = compute(&questionnaire, &answers(&[("q2", "yes")]), &HashMap::new());
    assert_eq!(with_na.overall.numerator, without.overall.numerator);
    assert_eq!(with_na.overall.denominator, without.overall.denominator);
    assert_eq!(with_na.overall.score.unwrap().tenths(), 1000);
    assert_eq!(with_na.question("q1").unwrap().effective, None);
}

#[test]
fn nothing_counted_gives_no_score() {
    let report = compute(&sample(), &HashMap::new(), &HashMap::new());
    assert_eq!(report.overall.score, None);
    assert_eq!(report.overall.counted, 0);
}

#[test]
fn override_replaces_answer_score_and_keeps_both() {
    let questionnaire = sample();
    let overrides: HashMap<String, Score> =
        [("q3".to_owned(), Score::from_thousandths(1000))].into();
    let report = compute(&questionnaire, &answers(&[("q3", "bad")]), &overrides);
    let q3 = report.question("q3").unwrap();
    assert_eq!(q3.answer_score, Some(Score::ZERO));
    assert_eq!(q3.override_score, Some(Score::ONE));
    assert_eq!(q3.effective, Some(Score::ONE));
    assert_eq!(report.overall.score.unwrap().tenths(), 1000);
}

#[test]
fn findings_at_their_edges() {
    let questionnaire = sample();
    let policy = FindingPolicy::default();
    type Case<'a> = (
        &'a [(&'a str, &'a str)],
        &'a [(&'a str, &'a str)],
        &'a [&'a str],
    );
    let cases: [Case; 5] = [
        // A critical question scoring 0.5 fails its default passing score of 1.
        (&[("q2", "partial")], &[], &["q2"]),
        // A non-critical partial (0.5) is exactly at the threshold: no finding.
        (&[("q1", "partial")], &[], &[]),
        // 0.333 is below the threshold.
        (&[("q3", "some")], &[], &["q3"]),
        // A passing answer whose required evidence was rejected.
        (&[("q5", "yes")], &[("q5", "rejected")], &["q5"]),
        // Accepted evidence: no finding.
        (&[("q5", "yes"), ("q2", "yes")], &[("q5", "accepted")], &[]),
    ];
    for (given, evidence, expected) in cases {
        let given = answers(given);
        let evidence: HashMap<String, EvidenceState> = evidence
            .iter()
            .map(|(id, state)| {
                (
                    (*id).to_owned(),
                    if *state == "rejected" {
                        EvidenceState::Rejected
                    } else {
                        EvidenceState::Accepted
                    },
                )
            })
            .collect();
        let report = compute(&questionnaire, &given, &HashMap::new());
        let found: Vec<String> = findings(&questionnaire, &report, &given, &evidence, policy)
            .into_iter()
            .map(|finding| finding.question_id)
            .collect();
        assert_eq!(found, expected, "{given:?} {evidence:?}");
    }
}

#[test]
fn critical_question_always_yields_finding_even_with_low_threshold() {
    let questionnaire = sample();
    let given = answers(&[("q2", "partial")]);
    let report = compute(&questionnaire, &given, &HashMap::new());
    let policy = FindingPolicy {
        threshold: Score::ZERO,
    };
    let found = findings(&questionnaire, &report, &given, &HashMap::new(), policy);
    assert_eq!(found.len(), 1);
    assert!(matches!(
        found[0].reason,
        FindingReason::CriticalBelowPass { .. }
    ));
}

#[test]
fn likelihood_bands_and_evidence_adjustment() {
    let cases = [
        (1000, None, 1),
        (900, None, 1),
        (899, None, 2),
        (700, None, 2),
        (699, None, 3),
        (500, None, 3),
        (499, None, 4),
        (250, None, 4),
        (249, None, 5),
        (0, None, 5),
    ];
    for (thousandths, evidence, expected) in cases {
        assert_eq!(
            likelihood_for(Score::from_thousandths(thousandths), evidence).0,
            expected,
            "{thousandths}"
        );
    }
    assert_eq!(
        likelihood_for(Score::from_thousandths(950), Some(EvidenceState::Rejected)).0,
        2
    );
    assert_eq!(
        likelihood_for(Score::ZERO, Some(EvidenceState::Missing)).0,
        5,
        "capped at 5"
    );
    assert_eq!(
        likelihood_for(Score::from_thousandths(950), Some(EvidenceState::Accepted)).0,
        1
    );
}

#[test]
fn rating_levels_at_band_edges() {
    let cases = [
        ((1, 4), RatingLevel::Low),
        ((5, 1), RatingLevel::Medium),
        ((3, 3), RatingLevel::Medium),
        ((2, 5), RatingLevel::High),
        ((3, 5), RatingLevel::Critical),
        ((5, 5), RatingLevel::Critical),
    ];
    for ((likelihood, impact), level) in cases {
        assert_eq!(
            RiskRating::new(likelihood, impact).unwrap().level(),
            level,
            "{likelihood}×{impact}"
        );
    }
    assert!(RiskRating::new(0, 3).is_err());
    assert!(RiskRating::new(3, 6).is_err());
    assert_eq!(impact_for(Tier::Critical).0, 5);
    assert_eq!(impact_for(Tier::Low).0, 2);
}

#[test]
fn report_round_trips_through_json() {
    let questionnaire = sample();
    let report = compute(
        &questionnaire,
        &answers(&[("q1", "yes"), ("q2", "partial"), ("q3", "some")]),
        &HashMap::new(),
    );
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["overall"]["score"], serde_json::json!(58.3));
    let back: ScoreReport = serde_json::from_value(json).unwrap();
    assert_eq!(back, report);
}
