//! Reading a questionnaire file and checking it, with the line of every problem.
//!
//! The TOML is first read into `Raw*` structs whose fields keep their byte spans, then every rule
//! of `docs/questionnaire-format.md` is checked, collecting all problems instead of stopping at
//! the first, and only a file without problems becomes a [`Questionnaire`].

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::controls;
use super::model::{
    AnswerType, ChoiceOption, Condition, EvidenceRule, NumberRange, Question, Questionnaire, Score,
    Section, Weight,
};
use crate::domain::vendor::Tier;

/// One problem in a questionnaire file, at a 1-based line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.line, self.message)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuestionnaire {
    key: Spanned<String>,
    version: Spanned<i64>,
    title: Spanned<String>,
    description: Option<String>,
    #[serde(default)]
    tiers: Vec<Spanned<String>>,
    #[serde(default)]
    sections: Vec<RawSection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSection {
    id: Spanned<String>,
    title: Spanned<String>,
    intro: Option<String>,
    #[serde(default)]
    questions: Vec<RawQuestion>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuestion {
    id: Spanned<String>,
    text: Spanned<String>,
    help: Option<String>,
    #[serde(rename = "type")]
    answer_type: Spanned<String>,
    required: Option<bool>,
    scored: Option<Spanned<bool>>,
    weight: Option<Spanned<f64>>,
    critical: Option<Spanned<bool>>,
    pass_score: Option<Spanned<f64>>,
    #[serde(default)]
    controls: Vec<Spanned<String>>,
    evidence: Option<Spanned<String>>,
    evidence_hint: Option<Spanned<String>>,
    show_if: Option<Spanned<RawCondition>>,
    allow_partial: Option<Spanned<bool>>,
    allow_not_applicable: Option<Spanned<bool>>,
    scores: Option<Spanned<RawScores>>,
    options: Option<Spanned<Vec<Spanned<RawOption>>>>,
    min: Option<Spanned<f64>>,
    max: Option<Spanned<f64>>,
    unit: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCondition {
    question: String,
    is: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScores {
    yes: Option<f64>,
    partial: Option<f64>,
    no: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOption {
    value: Spanned<String>,
    label: String,
    score: Option<Spanned<f64>>,
    not_applicable: Option<bool>,
}

/// Byte offsets of line starts, to turn spans into line numbers.
struct LineIndex(Vec<usize>);

impl LineIndex {
    fn new(source: &str) -> Self {
        let starts = std::iter::once(0)
            .chain(source.match_indices('\n').map(|(offset, _)| offset + 1))
            .collect();
        Self(starts)
    }

    fn line(&self, offset: usize) -> usize {
        match self.0.binary_search(&offset) {
            Ok(index) => index + 1,
            Err(index) => index,
        }
    }
}

struct Checker {
    lines: LineIndex,
    problems: Vec<Problem>,
}

impl Checker {
    fn report(&mut self, span: Range<usize>, message: impl Into<String>) {
        let line = self.lines.line(span.start);
        self.problems.push(Problem {
            line,
            message: message.into(),
        });
    }

    fn line(&self, span: &Range<usize>) -> usize {
        self.lines.line(span.start)
    }

    fn score(&mut self, value: &Spanned<f64>, what: &str) -> Option<Score> {
        match Score::try_from(*value.get_ref()) {
            Ok(score) => Some(score),
            Err(message) => {
                self.report(value.span(), format!("{what}: {message}"));
                None
            }
        }
    }

    fn not_empty(&mut self, value: &Spanned<String>, what: &str) -> String {
        let text = value.get_ref().trim();
        if text.is_empty() {
            self.report(value.span(), format!("{what} is empty"));
        }
        text.to_owned()
    }
}

fn is_valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    first_ok
        && id.len() <= 64
        && chars
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'))
}

fn is_valid_key(key: &str) -> bool {
    (3..=64).contains(&key.len())
        && key.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

const ID_RULE: &str = "use lowercase letters, digits, '-', '_' or '.', starting with a letter or digit, at most 64 characters";

/// Parses and checks a questionnaire file.
///
/// # Errors
/// Returns every problem found, each with its line, in file order.
pub fn parse(source: &str) -> Result<Questionnaire, Vec<Problem>> {
    let lines = LineIndex::new(source);
    let raw: RawQuestionnaire = match toml::from_str(source) {
        Ok(raw) => raw,
        Err(error) => {
            let line = error.span().map_or(1, |span| lines.line(span.start));
            return Err(vec![Problem {
                line,
                message: error.message().trim().to_owned(),
            }]);
        }
    };
    let mut checker = Checker {
        lines,
        problems: Vec::new(),
    };
    let questionnaire = check(&mut checker, raw);
    if checker.problems.is_empty() {
        Ok(questionnaire)
    } else {
        checker.problems.sort_by_key(|problem| problem.line);
        Err(checker.problems)
    }
}

fn check(checker: &mut Checker, raw: RawQuestionnaire) -> Questionnaire {
    let key = raw.key.get_ref().clone();
    if !is_valid_key(&key) {
        checker.report(
            raw.key.span(),
            format!("key {key:?} is invalid; use 3 to 64 lowercase letters, digits and hyphens"),
        );
    }
    let version = match u32::try_from(*raw.version.get_ref()) {
        Ok(version) if version >= 1 => version,
        _ => {
            checker.report(
                raw.version.span(),
                format!(
                    "version {} must be a whole number of at least 1",
                    raw.version.get_ref()
                ),
            );
            1
        }
    };
    let title = checker.not_empty(&raw.title, "title");

    let mut tiers = Vec::new();
    for tier in &raw.tiers {
        match tier.get_ref().parse::<Tier>() {
            Ok(parsed) if tiers.contains(&parsed) => {
                checker.report(
                    tier.span(),
                    format!("tier {:?} is listed twice", tier.get_ref()),
                );
            }
            Ok(parsed) => tiers.push(parsed),
            Err(message) => checker.report(tier.span(), message),
        }
    }

    if raw.sections.is_empty() {
        checker.report(
            raw.key.span(),
            "the questionnaire has no sections; add at least one [[sections]] table",
        );
    }

    let mut section_ids: HashMap<String, usize> = HashMap::new();
    let mut question_ids: HashMap<String, usize> = HashMap::new();
    let mut condition_spans: Vec<(String, Range<usize>)> = Vec::new();
    let mut sections = Vec::new();
    for raw_section in raw.sections {
        let id = raw_section.id.get_ref().clone();
        if !is_valid_id(&id) {
            checker.report(
                raw_section.id.span(),
                format!("section id {id:?} is invalid; {ID_RULE}"),
            );
        }
        let line = checker.line(&raw_section.id.span());
        if let Some(first) = section_ids.get(&id) {
            checker.report(
                raw_section.id.span(),
                format!("duplicate section id {id:?} (first used on line {first})"),
            );
        } else {
            section_ids.insert(id.clone(), line);
        }
        let section_title = checker.not_empty(&raw_section.title, "section title");
        if raw_section.questions.is_empty() {
            checker.report(
                raw_section.id.span(),
                format!(
                    "section {id:?} has no questions; add at least one [[sections.questions]] table"
                ),
            );
        }
        let mut questions = Vec::new();
        for raw_question in raw_section.questions {
            let question_line = checker.line(&raw_question.id.span());
            let question_id = raw_question.id.get_ref().clone();
            if let Some(first) = question_ids.get(&question_id) {
                checker.report(
                    raw_question.id.span(),
                    format!("duplicate question id {question_id:?} (first used on line {first})"),
                );
            } else {
                question_ids.insert(question_id.clone(), question_line);
            }
            if let Some(condition) = &raw_question.show_if {
                condition_spans.push((question_id, condition.span()));
            }
            if let Some(question) = check_question(checker, raw_question) {
                questions.push(question);
            }
        }
        sections.push(Section {
            id,
            title: section_title,
            intro: raw_section.intro.map(|intro| intro.trim().to_owned()),
            questions,
        });
    }

    let questionnaire = Questionnaire {
        key,
        version,
        title,
        description: raw.description.map(|text| text.trim().to_owned()),
        tiers,
        sections,
    };
    check_conditions(checker, &questionnaire, &condition_spans);
    questionnaire
}

fn check_question(checker: &mut Checker, raw: RawQuestion) -> Option<Question> {
    let id = raw.id.get_ref().clone();
    if !is_valid_id(&id) {
        checker.report(
            raw.id.span(),
            format!("question id {id:?} is invalid; {ID_RULE}"),
        );
    }
    let text = checker.not_empty(&raw.text, &format!("text of question {id:?}"));
    let Some(answer_type) = AnswerType::parse(raw.answer_type.get_ref()) else {
        checker.report(
            raw.answer_type.span(),
            format!(
                "question {id:?} has unknown type {:?}; use yes_no, single_choice, multiple_choice, text, date or number",
                raw.answer_type.get_ref()
            ),
        );
        return None;
    };
    let type_name = raw.answer_type.get_ref().clone();
    let not_for_type = |checker: &mut Checker, span: Option<Range<usize>>, field: &str| {
        if let Some(span) = span {
            checker.report(
                span,
                format!("{field} does not apply to question {id:?} of type {type_name}"),
            );
        }
    };

    // Fields that only some types take.
    if answer_type != AnswerType::YesNo {
        not_for_type(
            checker,
            raw.allow_partial.as_ref().map(Spanned::span),
            "allow_partial",
        );
        not_for_type(
            checker,
            raw.allow_not_applicable.as_ref().map(Spanned::span),
            "allow_not_applicable",
        );
        not_for_type(checker, raw.scores.as_ref().map(Spanned::span), "scores");
    }
    if !matches!(
        answer_type,
        AnswerType::SingleChoice | AnswerType::MultipleChoice
    ) && let Some(options) = &raw.options
    {
        let hint = if answer_type == AnswerType::YesNo {
            "; yes_no questions have fixed answers, so use single_choice for your own options"
        } else {
            ""
        };
        checker.report(
            options.span(),
            format!("options do not apply to question {id:?} of type {type_name}{hint}"),
        );
    }
    if answer_type != AnswerType::Number {
        not_for_type(checker, raw.min.as_ref().map(Spanned::span), "min");
        not_for_type(checker, raw.max.as_ref().map(Spanned::span), "max");
        not_for_type(checker, raw.unit.as_ref().map(Spanned::span), "unit");
    }
    if !answer_type.is_scored() {
        not_for_type(checker, raw.scored.as_ref().map(Spanned::span), "scored");
    }
    let scored =
        answer_type.is_scored() && raw.scored.as_ref().is_none_or(|value| *value.get_ref());
    if !scored {
        not_for_type(
            checker,
            raw.weight.as_ref().map(Spanned::span),
            "weight (unscored question)",
        );
        not_for_type(
            checker,
            raw.critical.as_ref().map(Spanned::span),
            "critical (unscored question)",
        );
        not_for_type(
            checker,
            raw.pass_score.as_ref().map(Spanned::span),
            "pass_score (unscored question)",
        );
    }

    let options = match answer_type {
        AnswerType::YesNo => yes_no_options(checker, &id, scored, &raw),
        AnswerType::SingleChoice | AnswerType::MultipleChoice => {
            choice_options(checker, &id, answer_type, scored, &raw)
        }
        AnswerType::Text | AnswerType::Date | AnswerType::Number => Vec::new(),
    };

    let weight = if scored {
        match &raw.weight {
            None => Some(Weight::ONE),
            Some(value) => match Weight::try_from(*value.get_ref()) {
                Ok(weight) => Some(weight),
                Err(message) => {
                    checker.report(value.span(), format!("question {id:?}: {message}"));
                    Some(Weight::ONE)
                }
            },
        }
    } else {
        None
    };
    let critical = scored && raw.critical.as_ref().is_some_and(|value| *value.get_ref());
    let pass_score = match (&raw.pass_score, critical) {
        (Some(value), true) => checker.score(value, &format!("pass_score of question {id:?}")),
        (Some(value), false) if scored => {
            checker.report(
                value.span(),
                format!("pass_score only applies to critical questions; set critical = true on {id:?} or remove it"),
            );
            None
        }
        (None, true) => Some(Score::ONE),
        _ => None,
    };

    let mut controls = Vec::new();
    for reference in &raw.controls {
        let text = reference.get_ref();
        if controls::lookup(text).is_none() {
            checker.report(reference.span(), controls::explain_unknown(text));
        } else if controls.contains(text) {
            checker.report(
                reference.span(),
                format!("control {text:?} is listed twice"),
            );
        } else {
            controls.push(text.clone());
        }
    }

    let evidence = match raw.evidence.as_ref().map(|value| value.get_ref().as_str()) {
        None | Some("none") => EvidenceRule::None,
        Some("optional") => EvidenceRule::Optional,
        Some("required") => EvidenceRule::Required,
        Some(other) => {
            let span = raw.evidence.as_ref().map(Spanned::span).unwrap_or_default();
            checker.report(
                span,
                format!(
                    "evidence {other:?} is invalid; use \"none\", \"optional\" or \"required\""
                ),
            );
            EvidenceRule::None
        }
    };
    if let (EvidenceRule::None, Some(hint)) = (evidence, &raw.evidence_hint) {
        checker.report(
            hint.span(),
            format!("evidence_hint has no effect on question {id:?} because evidence is \"none\""),
        );
    }

    let number = if answer_type == AnswerType::Number {
        let min = raw.min.as_ref().map(|value| *value.get_ref());
        let max = raw.max.as_ref().map(|value| *value.get_ref());
        if let (Some(low), Some(high), Some(span)) = (min, max, raw.min.as_ref().map(Spanned::span))
            && low > high
        {
            checker.report(
                span,
                format!("min {low} of question {id:?} is greater than max {high}"),
            );
        }
        Some(NumberRange {
            min,
            max,
            unit: raw
                .unit
                .as_ref()
                .map(|unit| unit.get_ref().trim().to_owned()),
        })
    } else {
        None
    };

    Some(Question {
        id,
        text,
        help: raw.help.map(|help| help.trim().to_owned()),
        answer_type,
        required: raw.required.unwrap_or(true),
        scored,
        options,
        weight,
        critical,
        pass_score,
        controls,
        evidence,
        evidence_hint: raw
            .evidence_hint
            .map(|hint| hint.into_inner().trim().to_owned()),
        show_if: raw.show_if.map(|condition| {
            let condition = condition.into_inner();
            Condition {
                question: condition.question,
                is: condition.is,
            }
        }),
        number,
    })
}

fn yes_no_options(
    checker: &mut Checker,
    id: &str,
    scored: bool,
    raw: &RawQuestion,
) -> Vec<ChoiceOption> {
    let mut yes = Score::ONE;
    let mut partial = Score::from_thousandths(500);
    let mut no = Score::ZERO;
    if let (false, Some(scores)) = (scored, &raw.scores) {
        checker.report(
            scores.span(),
            format!("scores do not apply to question {id:?} because scored = false"),
        );
    }
    if let Some(scores) = raw.scores.as_ref().filter(|_| scored) {
        let span = scores.span();
        let values = scores.get_ref();
        for (value, target, name) in [
            (values.yes, &mut yes, "yes"),
            (values.partial, &mut partial, "partial"),
            (values.no, &mut no, "no"),
        ] {
            if let Some(value) = value {
                match Score::try_from(value) {
                    Ok(score) => *target = score,
                    Err(message) => {
                        checker.report(span.clone(), format!("scores.{name}: {message}"))
                    }
                }
            }
        }
    }
    let allow_partial = raw
        .allow_partial
        .as_ref()
        .is_none_or(|value| *value.get_ref());
    let allow_not_applicable = raw
        .allow_not_applicable
        .as_ref()
        .is_some_and(|value| *value.get_ref());
    if let (false, Some(scores)) = (allow_partial, &raw.scores)
        && scores.get_ref().partial.is_some()
    {
        checker.report(
            scores.span(),
            "scores.partial has no effect because allow_partial = false",
        );
    }

    let option = |value: &str, label: &str, score: Option<Score>| ChoiceOption {
        value: value.to_owned(),
        label: label.to_owned(),
        score: score.filter(|_| scored),
    };
    let mut options = vec![option("yes", "Yes", Some(yes))];
    if allow_partial {
        options.push(option("partial", "Partly", Some(partial)));
    }
    options.push(option("no", "No", Some(no)));
    if allow_not_applicable {
        options.push(option("not_applicable", "Not applicable", None));
    }
    options
}

fn choice_options(
    checker: &mut Checker,
    id: &str,
    answer_type: AnswerType,
    scored: bool,
    raw: &RawQuestion,
) -> Vec<ChoiceOption> {
    let Some(raw_options) = &raw.options else {
        checker.report(
            raw.answer_type.span(),
            format!("question {id:?} needs options"),
        );
        return Vec::new();
    };
    let mut seen: HashSet<String> = HashSet::new();
    let mut options = Vec::new();
    for raw_option in raw_options.get_ref() {
        let option = raw_option.get_ref();
        let value = option.value.get_ref();
        if !is_valid_id(value) {
            checker.report(
                option.value.span(),
                format!("option value {value:?} is invalid; {ID_RULE}"),
            );
        }
        if !seen.insert(value.clone()) {
            checker.report(
                option.value.span(),
                format!("option value {value:?} appears twice in question {id:?}"),
            );
        }
        if option.label.trim().is_empty() {
            checker.report(
                raw_option.span(),
                format!("option {value:?} of question {id:?} has an empty label"),
            );
        }
        let not_applicable = option.not_applicable.unwrap_or(false);
        let score = match (&option.score, not_applicable) {
            (Some(score), _) if !scored => {
                checker.report(
                    score.span(),
                    format!("option {value:?} cannot have a score because question {id:?} has scored = false"),
                );
                None
            }
            (None, _) if !scored => None,
            (Some(score), false) => {
                checker.score(score, &format!("option {value:?} of question {id:?}"))
            }
            (None, true) => None,
            (Some(score), true) => {
                checker.report(
                    score.span(),
                    format!("option {value:?} is not_applicable, so it cannot have a score"),
                );
                None
            }
            (None, false) => {
                checker.report(
                    raw_option.span(),
                    format!("option {value:?} of question {id:?} needs a score in [0, 1], or not_applicable = true"),
                );
                None
            }
        };
        options.push(ChoiceOption {
            value: value.clone(),
            label: option.label.trim().to_owned(),
            score,
        });
    }
    let span = raw_options.span();
    if answer_type == AnswerType::SingleChoice && options.len() < 2 {
        checker.report(
            span.clone(),
            format!("single_choice question {id:?} needs at least two options"),
        );
    }
    if scored && !options.is_empty() && options.iter().all(|option| option.score.is_none()) {
        checker.report(
            span,
            format!("every option of question {id:?} is not_applicable, so it can never be scored"),
        );
    }
    options
}

fn check_conditions(
    checker: &mut Checker,
    questionnaire: &Questionnaire,
    spans: &[(String, Range<usize>)],
) {
    let span_of = |id: &str| {
        spans
            .iter()
            .find(|(question, _)| question == id)
            .map(|(_, span)| span.clone())
            .unwrap_or_default()
    };
    for question in questionnaire.questions() {
        let Some(condition) = &question.show_if else {
            continue;
        };
        let span = span_of(&question.id);
        if condition.question == question.id {
            checker.report(
                span,
                format!("question {:?} cannot depend on itself", question.id),
            );
            continue;
        }
        let Some(target) = questionnaire.question(&condition.question) else {
            checker.report(
                span,
                format!(
                    "show_if of question {:?} names unknown question {:?}",
                    question.id, condition.question
                ),
            );
            continue;
        };
        if !matches!(
            target.answer_type,
            AnswerType::YesNo | AnswerType::SingleChoice | AnswerType::MultipleChoice
        ) {
            checker.report(
                span,
                format!(
                    "show_if of question {:?} names {:?}, a {:?} question; conditions need a yes_no or choice question",
                    question.id, target.id, target.answer_type
                ),
            );
            continue;
        }
        if condition.is.is_empty() {
            checker.report(
                span.clone(),
                format!("show_if of question {:?} lists no values", question.id),
            );
        }
        for value in &condition.is {
            if target.option(value).is_none() {
                let offered: Vec<&str> = target
                    .options
                    .iter()
                    .map(|option| option.value.as_str())
                    .collect();
                checker.report(
                    span.clone(),
                    format!(
                        "show_if of question {:?}: {:?} does not offer {value:?}; it offers {}",
                        question.id,
                        target.id,
                        offered.join(", ")
                    ),
                );
            }
        }
    }
    report_cycles(checker, questionnaire, &span_of);
}

fn report_cycles(
    checker: &mut Checker,
    questionnaire: &Questionnaire,
    span_of: &dyn Fn(&str) -> Range<usize>,
) {
    let next: HashMap<&str, &str> = questionnaire
        .questions()
        .filter_map(|question| {
            let condition = question.show_if.as_ref()?;
            Some((question.id.as_str(), condition.question.as_str()))
        })
        // A question naming itself is reported by `check_conditions`.
        .filter(|(question, target)| question != target)
        .collect();
    let mut reported: HashSet<&str> = HashSet::new();
    for question in questionnaire.questions() {
        let start = question.id.as_str();
        if reported.contains(start) {
            continue;
        }
        let mut path = vec![start];
        let mut current = start;
        while let Some(&following) = next.get(current) {
            if following == start {
                path.push(following);
                reported.extend(path.iter().copied());
                checker.report(
                    span_of(start),
                    format!("conditions form a cycle: {}", path.join(" → ")),
                );
                break;
            }
            if path.contains(&following) {
                break;
            }
            path.push(following);
            current = following;
        }
    }
}

#[cfg(test)]
mod tests;
