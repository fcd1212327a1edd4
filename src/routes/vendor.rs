//! The vendor pages behind an e-mailed link (`/a/{token}`): the questionnaire form, saving
//! answers, evidence uploads and downloads, submission, and clarification replies.
//!
//! Opening a link (GET or HEAD) never changes anything, so mail scanners that fetch links do not
//! use them up. Every page is a plain HTML form that works without JavaScript.

use std::collections::{HashMap, HashSet};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use minijinja::{Value, context};
use sea_orm::TransactionTrait;
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::domain::answers::{self, AnswerValue, MAX_TEXT_CHARS};
use crate::domain::lifecycle::{Action, Status};
use crate::domain::questionnaire::{AnswerType, EvidenceRule, Question, Questionnaire};
use crate::error::AppError;
use crate::evidence::PutError;
use crate::ids::{ClarificationId, EvidenceId, QuestionnaireId};
use crate::routes::QueryParams;
use crate::routes::download::{clean_file_name, evidence_response};
use crate::routes::pages::render;
use crate::routes::parse_path_id;
use crate::store::StoreError;
use crate::store::assessments::answers::{AnswerChange, ChangeOutcome};
use crate::store::assessments::evidence::{self as evidence_store, EvidenceFile, NewEvidence};
use crate::store::assessments::review::{self, Clarification};
use crate::store::assessments::{self, JOB_STAFF_EMAIL, LinkAccess, LinkLookup};
use crate::store::audit::{self, Change};
use crate::store::entities::answer;
use crate::store::jobs::{self, NewJob};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/a/{token}", get(page).post(save))
        .route("/a/{token}/submit", post(submit))
        .route("/a/{token}/clarifications/{id}", post(respond))
        .route(
            "/a/{token}/evidence",
            post(upload).layer(DefaultBodyLimit::disable()),
        )
        .route("/a/{token}/evidence/{id}", get(download))
        .route("/a/{token}/evidence/{id}/delete", post(delete_file))
}

/// Resolves a link, or returns the page that explains why it does not work.
async fn resolve(state: &AppState, token: &str) -> Result<Result<LinkAccess, Response>, AppError> {
    let lookup = assessments::find_link(state.db().reader(), token, state.clock().now()).await?;
    match lookup {
        LinkLookup::Valid(access) => {
            tracing::Span::current().record("tenant_id", tracing::field::display(access.tenant()));
            Ok(Ok(*access))
        }
        LinkLookup::Expired(access) => {
            let html = render(
                state,
                None,
                "pages/vendor/unavailable.html",
                context! {
                    title => "This link has expired",
                    message => format!(
                        "This link to {}'s questionnaire for {} no longer works. Ask your contact at {} to send you a new link; your saved answers are kept.",
                        access.tenant_name, access.vendor_name, access.tenant_name
                    ),
                },
            )?;
            Ok(Err((StatusCode::GONE, html).into_response()))
        }
        LinkLookup::Unknown => {
            let html = render(
                state,
                None,
                "pages/vendor/unavailable.html",
                context! {
                    title => "This link is not valid",
                    message => "Check that you copied the whole address from the e-mail. If it still does not work, ask the organization that sent it for a new link.",
                },
            )?;
            Ok(Err((StatusCode::NOT_FOUND, html).into_response()))
        }
    }
}

macro_rules! resolve_or_return {
    ($state:expr, $token:expr) => {
        match resolve($state, $token).await? {
            Ok(access) => access,
            Err(response) => return Ok(response),
        }
    };
}

/// The actions open to the vendor in the current status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Mode {
    /// Answer and change any question.
    Answer,
    /// Reply to clarification requests and change the answers they concern.
    Clarify,
    /// Read the submitted answers.
    ReadOnly,
}

fn mode_of(status: Status) -> Mode {
    match status {
        Status::Sent | Status::InProgress => Mode::Answer,
        Status::ClarificationRequested => Mode::Clarify,
        _ => Mode::ReadOnly,
    }
}

/// Values a save sent back that must be shown again: invalid values and conflicts.
#[derive(Default)]
struct Feedback {
    /// The vendor's values for questions that were not saved, to show them again.
    posted: HashMap<String, Vec<String>>,
    posted_comments: HashMap<String, String>,
    errors: HashMap<String, String>,
    conflicts: HashMap<String, String>,
    /// Carried-over answers whose confirmation box the vendor ticked, to tick it again.
    confirmations: HashSet<String>,
    notice: Option<String>,
}

#[derive(Serialize)]
struct OptionView {
    value: String,
    label: String,
    checked: bool,
}

#[derive(Serialize)]
struct QuestionView {
    id: String,
    text: String,
    help: Option<String>,
    kind: AnswerType,
    required: bool,
    options: Vec<OptionView>,
    value: String,
    comment: String,
    version_field: String,
    display: Option<String>,
    carried_over: bool,
    /// Whether the "still correct" box of a carried-over answer is ticked.
    confirm_checked: bool,
    editable: bool,
    evidence: EvidenceRule,
    evidence_hint: Option<String>,
    evidence_needed: bool,
    files: Vec<EvidenceFile>,
    clarifications: Vec<Clarification>,
    error: Option<String>,
    conflict: Option<String>,
    unit: Option<String>,
    min: Option<f64>,
    max: Option<f64>,
}

#[derive(Serialize)]
struct SectionView {
    id: String,
    title: String,
    intro: Option<String>,
    questions: Vec<QuestionView>,
    hidden: usize,
}

struct PageData {
    questionnaire: std::sync::Arc<Questionnaire>,
    stored: HashMap<String, answer::Model>,
    values: HashMap<String, AnswerValue>,
    /// Questions whose answer is still carried over from the previous assessment.
    carried_over: HashSet<String>,
    files: Vec<EvidenceFile>,
    clarifications: Vec<Clarification>,
}

async fn load_page_data(state: &AppState, access: &LinkAccess) -> Result<PageData, AppError> {
    let tenant = access.tenant();
    let id = access.assessment_id();
    let questionnaire = state
        .questionnaire(tenant, QuestionnaireId(access.assessment.questionnaire_id))
        .await?;
    let db = state.db().reader();
    let stored = assessments::answers::load(db, tenant, id).await?;
    let values = review::parse_answers(&questionnaire, &stored);
    let carried_over = assessments::answers::carried_over(&stored);
    let files = evidence_store::list(db, tenant, id).await?;
    let clarifications = review::clarifications(db, tenant, id).await?;
    Ok(PageData {
        questionnaire,
        stored,
        values,
        carried_over,
        files,
        clarifications,
    })
}

/// Questions the vendor may change in clarification mode: those with a request in the newest
/// sent round.
fn clarified_questions(clarifications: &[Clarification]) -> HashSet<String> {
    let round = clarifications
        .iter()
        .filter(|item| item.sent_at.is_some())
        .map(|item| item.round)
        .max();
    clarifications
        .iter()
        .filter(|item| item.sent_at.is_some() && Some(item.round) == round)
        .map(|item| item.question_id.clone())
        .collect()
}

fn version_field(stored: Option<&answer::Model>) -> String {
    let version = stored.map_or(0, |row| row.version);
    let value = stored
        .map(|row| row.value.as_str())
        .filter(|value| !value.is_empty());
    let comment = stored.and_then(|row| row.comment.as_deref());
    format!("{version}:{}", answers::fingerprint(value, comment))
}

fn build_sections(data: &PageData, mode: Mode, feedback: &Feedback) -> Vec<SectionView> {
    let visible = answers::visible_questions(&data.questionnaire, &data.values);
    let clarified = clarified_questions(&data.clarifications);
    data.questionnaire
        .sections
        .iter()
        .map(|section| {
            let questions: Vec<QuestionView> = section
                .questions
                .iter()
                .filter(|question| visible.contains(&question.id))
                .map(|question| question_view(data, question, mode, &clarified, feedback))
                .collect();
            SectionView {
                id: section.id.clone(),
                title: section.title.clone(),
                intro: section.intro.clone(),
                hidden: section.questions.len() - questions.len(),
                questions,
            }
        })
        .collect()
}

fn question_view(
    data: &PageData,
    question: &Question,
    mode: Mode,
    clarified: &HashSet<String>,
    feedback: &Feedback,
) -> QuestionView {
    let stored = data.stored.get(&question.id);
    let answer = data.values.get(&question.id);
    let posted = feedback.posted.get(&question.id);
    let chosen: Vec<String> = match posted {
        Some(values) => values.clone(),
        None => answer
            .map(|answer| answer.chosen().into_iter().map(str::to_owned).collect())
            .unwrap_or_default(),
    };
    let value = match posted {
        Some(values) => values.join("\n"),
        None => match answer {
            Some(AnswerValue::Text(text)) => text.clone(),
            Some(AnswerValue::Date(date)) => date.to_string(),
            Some(AnswerValue::Number(number)) => number.to_string(),
            _ => String::new(),
        },
    };
    let comment = feedback
        .posted_comments
        .get(&question.id)
        .cloned()
        .unwrap_or_else(|| {
            stored
                .and_then(|row| row.comment.clone())
                .unwrap_or_default()
        });
    let editable = match mode {
        Mode::Answer => true,
        Mode::Clarify => clarified.contains(&question.id),
        Mode::ReadOnly => false,
    };
    QuestionView {
        id: question.id.clone(),
        text: question.text.clone(),
        help: question.help.clone(),
        kind: question.answer_type,
        required: question.required,
        options: question
            .options
            .iter()
            .map(|option| OptionView {
                value: option.value.clone(),
                label: option.label.clone(),
                checked: chosen.contains(&option.value),
            })
            .collect(),
        value,
        comment,
        version_field: version_field(stored),
        display: answer.map(|answer| answer.display(question)),
        carried_over: data.carried_over.contains(&question.id),
        confirm_checked: feedback.confirmations.contains(&question.id),
        editable,
        evidence: question.evidence,
        evidence_hint: question.evidence_hint.clone(),
        evidence_needed: answers::evidence_required(question, answer),
        files: data
            .files
            .iter()
            .filter(|file| file.question_id.as_deref() == Some(question.id.as_str()))
            .cloned()
            .collect(),
        clarifications: data
            .clarifications
            .iter()
            .filter(|item| item.question_id == question.id && item.sent_at.is_some())
            .cloned()
            .collect(),
        error: feedback.errors.get(&question.id).cloned(),
        conflict: feedback.conflicts.get(&question.id).cloned(),
        unit: question
            .number
            .as_ref()
            .and_then(|range| range.unit.clone()),
        min: question.number.as_ref().and_then(|range| range.min),
        max: question.number.as_ref().and_then(|range| range.max),
    }
}

fn render_page(
    state: &AppState,
    token: &str,
    access: &LinkAccess,
    data: &PageData,
    feedback: &Feedback,
    status: StatusCode,
) -> Result<Response, AppError> {
    let assessment_status: Status = assessments::status_of(&access.assessment)?;
    let mode = mode_of(assessment_status);
    let sections = build_sections(data, mode, feedback);
    let progress = answers::progress(&data.questionnaire, &data.values, &data.carried_over);
    let has_errors = !feedback.errors.is_empty() || !feedback.conflicts.is_empty();
    let open_clarifications = data
        .clarifications
        .iter()
        .filter(|item| item.sent_at.is_some() && item.response.is_none())
        .count();
    let html = render(
        state,
        None,
        "pages/vendor/questionnaire.html",
        context! {
            link => format!("/a/{token}"),
            tenant_name => access.tenant_name,
            vendor_name => access.vendor_name,
            contact_name => access.contact.name,
            questionnaire => context! { title => data.questionnaire.title, description => data.questionnaire.description },
            due_on => access.assessment.due_on,
            status => assessment_status.as_str(),
            status_label => assessment_status.label(),
            mode => mode,
            sections => sections,
            progress => progress,
            general_files => data.files.iter().filter(|file| file.question_id.is_none()).collect::<Vec<_>>(),
            errors => feedback.errors.len(),
            conflicts => feedback.conflicts.len(),
            has_errors => has_errors,
            notice => feedback.notice,
            open_clarifications => open_clarifications,
            max_upload_mib => state.config().evidence_max_bytes / (1024 * 1024),
            missing => Value::from(()),
        },
    )?;
    Ok((status, [(header::CACHE_CONTROL, "no-store")], html).into_response())
}

#[derive(Deserialize)]
struct PageQuery {
    saved: Option<String>,
}

async fn page(
    State(state): State<AppState>,
    Path(token): Path<String>,
    QueryParams(query): QueryParams<PageQuery>,
) -> Result<Response, AppError> {
    let access = resolve_or_return!(&state, &token);
    let data = load_page_data(&state, &access).await?;
    let feedback = Feedback {
        notice: query.saved.map(|_| {
            "Your answers are saved. You can close this page and come back with the same link."
                .to_owned()
        }),
        ..Feedback::default()
    };
    render_page(&state, &token, &access, &data, &feedback, StatusCode::OK)
}

/// The form as posted: question fields by id, `comment.ID`, `v.ID` (version and fingerprint)
/// and `confirm.ID` (the "still correct" box of a carried-over answer).
struct PostedForm {
    values: HashMap<String, Vec<String>>,
    comments: HashMap<String, String>,
    versions: HashMap<String, (i32, String)>,
    /// Questions whose confirmation box is ticked.
    confirmations: HashSet<String>,
}

/// Returns whether a posted checkbox value means ticked. A browser sends the box's `value`
/// only when it is ticked, but scripts may also send an explicit "false", "no", "off" or "0".
fn is_ticked(value: &str) -> bool {
    !matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "" | "0" | "false" | "no" | "off"
    )
}

fn parse_form(body: &[u8]) -> Result<PostedForm, AppError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).map_err(|_| {
        AppError::bad_request(
            "invalid_form",
            "The form could not be read. Reload the page and try again.",
        )
    })?;
    let mut form = PostedForm {
        values: HashMap::new(),
        comments: HashMap::new(),
        versions: HashMap::new(),
        confirmations: HashSet::new(),
    };
    for (name, value) in pairs {
        if let Some(id) = name.strip_prefix("comment.") {
            form.comments.insert(id.to_owned(), value);
        } else if let Some(id) = name.strip_prefix("confirm.") {
            if is_ticked(&value) {
                form.confirmations.insert(id.to_owned());
            } else {
                form.confirmations.remove(id);
            }
        } else if let Some(id) = name.strip_prefix("v.") {
            let parsed = value.split_once(':').and_then(|(version, fingerprint)| {
                Some((version.parse().ok()?, fingerprint.to_owned()))
            });
            if let Some(parsed) = parsed {
                form.versions.insert(id.to_owned(), parsed);
            }
        } else {
            form.values.entry(name).or_default().push(value);
        }
    }
    Ok(form)
}

/// JSON response to a save, for scripts and autosave.
#[derive(Serialize)]
struct SaveResult {
    saved: Vec<String>,
    /// Carried-over answers this save confirmed unchanged.
    confirmed: Vec<String>,
    errors: HashMap<String, String>,
    conflicts: HashMap<String, String>,
    versions: HashMap<String, String>,
    progress: answers::Progress,
}

async fn save(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let access = resolve_or_return!(&state, &token);
    let status = assessments::status_of(&access.assessment)?;
    let mode = mode_of(status);
    if mode == Mode::ReadOnly {
        return Err(AppError::Conflict(format!(
            "This questionnaire is {} and can no longer be changed.",
            status.label().to_lowercase()
        )));
    }
    let form = parse_form(&body)?;
    let data = load_page_data(&state, &access).await?;
    let clarified = clarified_questions(&data.clarifications);
    let mut feedback = Feedback::default();
    let mut changes: Vec<(AnswerChange, Option<String>)> = Vec::new();
    // Carried-over answers to mark as confirmed, because their box is ticked and their value
    // is unchanged.
    let mut confirmations: Vec<String> = Vec::new();

    for question in data.questionnaire.questions() {
        let id = &question.id;
        let on_form = form.values.contains_key(id)
            || form.comments.contains_key(id)
            || form.versions.contains_key(id);
        let confirm = form.confirmations.contains(id) && data.carried_over.contains(id);
        if !(on_form || confirm) || (mode == Mode::Clarify && !clarified.contains(id)) {
            continue;
        }
        if !on_form {
            // A script may send only the box, which confirms the answer without touching it.
            confirmations.push(id.clone());
            continue;
        }
        let posted = form.values.get(id).cloned().unwrap_or_default();
        let comment = form
            .comments
            .get(id)
            .map(|text| text.trim().to_owned())
            .filter(|text| !text.is_empty());
        let parsed = AnswerValue::parse(question, &posted);
        let comment_too_long = comment
            .as_ref()
            .is_some_and(|text| text.chars().count() > MAX_TEXT_CHARS);
        let value = match (parsed, comment_too_long) {
            (Err(message), _) => Err(message),
            (Ok(_), true) => Err(format!(
                "The comment is longer than {MAX_TEXT_CHARS} characters; shorten it or attach a document."
            )),
            (Ok(value), false) => Ok(value),
        };
        let value = match value {
            Ok(value) => value,
            Err(message) => {
                feedback.errors.insert(id.clone(), message);
                feedback.posted.insert(id.clone(), posted);
                if let Some(comment) = comment {
                    feedback.posted_comments.insert(id.clone(), comment);
                }
                if confirm {
                    feedback.confirmations.insert(id.clone());
                }
                continue;
            }
        };
        let stored_value = value
            .as_ref()
            .map(AnswerValue::to_stored)
            .unwrap_or_default();
        let current = data.stored.get(id);
        let base_version = match form.versions.get(id) {
            Some((version, fingerprint)) => {
                let untouched = *fingerprint
                    == answers::fingerprint(
                        Some(stored_value.as_str()).filter(|value| !value.is_empty()),
                        comment.as_deref(),
                    );
                if untouched {
                    if confirm {
                        confirmations.push(id.clone());
                    }
                    continue;
                }
                Some(*version)
            }
            None => {
                let same = current
                    .is_some_and(|row| row.value == stored_value && row.comment == comment)
                    || (current.is_none() && stored_value.is_empty() && comment.is_none());
                if same {
                    if confirm {
                        confirmations.push(id.clone());
                    }
                    continue;
                }
                None
            }
        };
        let display = value.as_ref().map(|value| value.display(question));
        changes.push((
            AnswerChange {
                question_id: id.clone(),
                value: stored_value,
                comment,
                base_version,
            },
            display,
        ));
    }

    let now = state.clock().now();
    let tenant = access.tenant();
    let assessment_id = access.assessment_id();
    let contact = crate::ids::ContactId(access.contact.id);
    let mut saved = Vec::new();
    let mut confirmed = Vec::new();
    let mut versions = HashMap::new();
    if !changes.is_empty() || !confirmations.is_empty() {
        let tx = state.db().writer().begin().await?;
        let mut before = serde_json::Map::new();
        let mut after = serde_json::Map::new();
        for (change, display) in &changes {
            match assessments::answers::apply(&tx, tenant, assessment_id, contact, change, now)
                .await?
            {
                ChangeOutcome::Saved { .. } => {
                    before.insert(
                        change.question_id.clone(),
                        serde_json::json!(
                            data.stored.get(&change.question_id).map(|row| &row.value)
                        ),
                    );
                    after.insert(
                        change.question_id.clone(),
                        serde_json::json!({ "value": change.value, "comment": change.comment }),
                    );
                    saved.push(change.question_id.clone());
                }
                ChangeOutcome::Conflict { current } => {
                    let theirs = current
                        .as_ref()
                        .and_then(|row| {
                            data.questionnaire
                                .question(&row.question_id)
                                .and_then(|question| AnswerValue::from_stored(question, &row.value))
                                .map(|value| (value, row))
                        })
                        .map(|(value, row)| {
                            value.display(
                                data.questionnaire
                                    .question(&row.question_id)
                                    .expect("question exists"),
                            )
                        });
                    feedback.conflicts.insert(
                        change.question_id.clone(),
                        format!(
                            "Someone else saved this question after you opened the page, so your answer ({}) was not saved. The answer now stored is {}. Check it, change it if needed, and save again.",
                            display.clone().unwrap_or_else(|| "no answer".to_owned()),
                            theirs.map_or_else(|| "empty".to_owned(), |value| format!("\"{value}\""))
                        ),
                    );
                }
            }
        }
        for id in &confirmations {
            // False when another save came first and the answer is no longer carried over,
            // which leaves nothing to confirm.
            if assessments::answers::confirm(&tx, tenant, assessment_id, id, contact, now).await? {
                confirmed.push(id.clone());
            }
        }
        if !saved.is_empty() || !confirmed.is_empty() {
            if status == Status::Sent {
                assessments::transition(
                    &tx,
                    tenant,
                    &access.assessment,
                    Action::StartAnswering,
                    &access.actor(),
                    None,
                    now,
                )
                .await?;
            }
            assessments::touch_vendor_activity(&tx, assessment_id, now).await?;
        }
        if !saved.is_empty() {
            audit::record(
                &tx,
                tenant,
                &access.actor(),
                Change {
                    action: "answers.saved",
                    object_type: "assessment",
                    object_id: assessment_id.0,
                    before: Some(serde_json::Value::Object(before)),
                    after: Some(serde_json::Value::Object(after)),
                },
                now,
            )
            .await?;
        }
        if !confirmed.is_empty() {
            // Per question, so that the audit trail lists "ID.carried_over: true → false".
            let flag = |carried_over: bool| -> serde_json::Value {
                confirmed
                    .iter()
                    .map(|id| {
                        (
                            id.clone(),
                            serde_json::json!({ "carried_over": carried_over }),
                        )
                    })
                    .collect::<serde_json::Map<_, _>>()
                    .into()
            };
            audit::record(
                &tx,
                tenant,
                &access.actor(),
                Change {
                    action: "answers.confirmed",
                    object_type: "assessment",
                    object_id: assessment_id.0,
                    before: Some(flag(true)),
                    after: Some(flag(false)),
                },
                now,
            )
            .await?;
        }
        tx.commit().await?;
    }

    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.contains("application/json"));
    let data = load_page_data(&state, &access).await?;
    if wants_json {
        for question in data.questionnaire.questions() {
            versions.insert(
                question.id.clone(),
                version_field(data.stored.get(&question.id)),
            );
        }
        let status = if feedback.errors.is_empty() && feedback.conflicts.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        let result = SaveResult {
            saved,
            confirmed,
            errors: feedback.errors,
            conflicts: feedback.conflicts,
            versions,
            progress: answers::progress(&data.questionnaire, &data.values, &data.carried_over),
        };
        return Ok((status, axum::Json(result)).into_response());
    }
    if feedback.errors.is_empty() && feedback.conflicts.is_empty() {
        return Ok(Redirect::to(&format!("/a/{token}?saved=1")).into_response());
    }
    // Reload the link so the page shows the status after the save.
    let access = resolve_or_return!(&state, &token);
    render_page(
        &state,
        &token,
        &access,
        &data,
        &feedback,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
}

async fn submit(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let access = resolve_or_return!(&state, &token);
    let status = assessments::status_of(&access.assessment)?;
    let tenant = access.tenant();
    let assessment_id = access.assessment_id();
    let back = Redirect::to(&format!("/a/{token}")).into_response();
    let action = match status {
        // A second click, a retried request or a reload: the submission already happened.
        Status::Submitted | Status::InReview | Status::Completed => return Ok(back),
        Status::Sent | Status::InProgress => Action::Submit,
        Status::ClarificationRequested => Action::AnswerClarifications,
        Status::Draft | Status::Cancelled | Status::Expired => {
            return Err(AppError::Conflict(format!(
                "This questionnaire is {} and cannot be submitted.",
                status.label().to_lowercase()
            )));
        }
    };
    let data = load_page_data(&state, &access).await?;
    if action == Action::Submit {
        let with_files = evidence_store::questions_with_files(&data.files);
        let missing = answers::missing_for_submission(
            &data.questionnaire,
            &data.values,
            &data.carried_over,
            &with_files,
        );
        if !missing.is_empty() {
            let html = render(
                &state,
                None,
                "pages/vendor/missing.html",
                context! { link => format!("/a/{token}"), tenant_name => access.tenant_name, missing => missing },
            )?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, html).into_response());
        }
    } else {
        let unanswered: Vec<&Clarification> = data
            .clarifications
            .iter()
            .filter(|item| item.sent_at.is_some() && item.response.is_none())
            .collect();
        if !unanswered.is_empty() {
            return Err(AppError::Conflict(format!(
                "Reply to every request first: {} of {} still need a reply.",
                unanswered.len(),
                data.clarifications
                    .iter()
                    .filter(|item| item.sent_at.is_some())
                    .count()
            )));
        }
    }

    let now = state.clock().now();
    let tx = state.db().writer().begin().await?;
    match assessments::transition(
        &tx,
        tenant,
        &access.assessment,
        action,
        &access.actor(),
        None,
        now,
    )
    .await
    {
        Ok(_) => {}
        // Another request submitted first, and that submission is kept.
        Err(StoreError::Conflict(_)) => return Ok(back),
        Err(error) => return Err(error.into()),
    }
    assessments::touch_vendor_activity(&tx, assessment_id, now).await?;
    if let Some(requester) = access.assessment.requested_by_user_id {
        jobs::enqueue(
            &tx,
            NewJob {
                tenant: Some(tenant),
                kind: JOB_STAFF_EMAIL,
                unique_key: format!("assessment:{assessment_id}:submitted:{}", now.timestamp_micros()),
                payload: serde_json::json!({ "assessment_id": assessment_id, "user_id": requester, "template": "assessment_submitted" }),
                run_at: now,
            },
            now,
        )
        .await?;
    }
    tx.commit().await?;
    state.wake_worker();
    tracing::info!(assessment_id = %assessment_id, "assessment submitted by the vendor");
    Ok(back)
}

#[derive(Deserialize)]
struct ResponseForm {
    #[serde(default)]
    response: String,
}

async fn respond(
    State(state): State<AppState>,
    Path((token, id)): Path<(String, String)>,
    axum::Form(form): axum::Form<ResponseForm>,
) -> Result<Response, AppError> {
    let access = resolve_or_return!(&state, &token);
    if assessments::status_of(&access.assessment)? != Status::ClarificationRequested {
        return Err(AppError::Conflict(
            "There is no open request to reply to.".to_owned(),
        ));
    }
    let id: ClarificationId = parse_path_id(&id)?;
    let response = form.response.trim();
    if response.is_empty() {
        return Err(AppError::invalid(
            "response",
            "Write a reply before sending it.",
        ));
    }
    if response.chars().count() > MAX_TEXT_CHARS {
        return Err(AppError::invalid(
            "response",
            format!(
                "The reply is longer than {MAX_TEXT_CHARS} characters; shorten it or attach a document."
            ),
        ));
    }
    let now = state.clock().now();
    let tx = state.db().writer().begin().await?;
    let contact = crate::ids::ContactId(access.contact.id);
    if !review::respond(
        &tx,
        access.tenant(),
        access.assessment_id(),
        id,
        response,
        contact,
        now,
    )
    .await?
    {
        return Err(AppError::NotFound);
    }
    assessments::touch_vendor_activity(&tx, access.assessment_id(), now).await?;
    audit::record(
        &tx,
        access.tenant(),
        &access.actor(),
        Change {
            action: "clarification.answered",
            object_type: "assessment",
            object_id: access.assessment.id,
            before: None,
            after: Some(serde_json::json!({ "clarification_id": id, "response": response })),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/a/{token}#clarifications")).into_response())
}

/// Fields of an upload besides the file.
#[derive(Default)]
struct UploadFields {
    question_id: Option<String>,
    effective_on: Option<String>,
    expires_on: Option<String>,
}

fn upload_error(error: &axum::extract::multipart::MultipartError) -> AppError {
    AppError::bad_request(
        "invalid_upload",
        format!(
            "The upload could not be read: {}. Try again.",
            error.body_text()
        ),
    )
}

fn too_large(limit: u64) -> AppError {
    AppError::PayloadTooLarge(format!(
        "The file is larger than the limit of {} MiB. Upload a smaller file, for example by splitting a large report into parts or compressing it.",
        limit / (1024 * 1024)
    ))
}

async fn upload(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> Result<Response, AppError> {
    let access = resolve_or_return!(&state, &token);
    let status = assessments::status_of(&access.assessment)?;
    if mode_of(status) == Mode::ReadOnly {
        return Err(AppError::Conflict(format!(
            "This questionnaire is {} and takes no more files.",
            status.label().to_lowercase()
        )));
    }
    let limit = state.config().evidence_max_bytes;
    // Refuse a body that announces itself as too large before reading it, so the client gets
    // the 413 instead of a broken connection. The allowance covers the other form fields.
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if announced.is_some_and(|length| length > limit + 64 * 1024) {
        return Err(too_large(limit));
    }

    let tenant = access.tenant();
    let assessment_id = access.assessment_id();
    let mut fields = UploadFields::default();
    let mut stored: Option<(String, String, String, crate::evidence::StoredObject)> = None;
    let result: Result<(), AppError> = async {
        while let Some(field) = multipart.next_field().await.map_err(|error| upload_error(&error))? {
            match field.name() {
                Some("question_id") => fields.question_id = Some(field.text().await.map_err(|error| upload_error(&error))?),
                Some("effective_on") => fields.effective_on = Some(field.text().await.map_err(|error| upload_error(&error))?),
                Some("expires_on") => fields.expires_on = Some(field.text().await.map_err(|error| upload_error(&error))?),
                Some("file") if stored.is_none() => {
                    let file_name = clean_file_name(field.file_name().unwrap_or_default());
                    let content_type = field.content_type().map_or("application/octet-stream", |value| value).to_owned();
                    // Short keys: some S3-compatible servers turn bucket and key into one file name.
                    let key = format!("{}/{}", tenant.0.simple(), uuid::Uuid::new_v4().simple());
                    let object = state.evidence().put(&key, field, limit).await.map_err(|error| match error {
                        PutError::TooLarge { limit } => too_large(limit),
                        PutError::Interrupted(message) => AppError::bad_request("upload_interrupted", format!("The upload broke off ({message}). Try again.")),
                        PutError::Store(cause) => {
                            tracing::error!(error = format!("{cause:#}"), assessment_id = %assessment_id, "evidence store failed");
                            AppError::Unavailable(
                                "The file could not be stored because the document store is not available. Nothing was saved; try again in a few minutes.".to_owned(),
                            )
                        }
                    })?;
                    stored = Some((key, file_name, content_type, object));
                }
                _ => {}
            }
        }
        Ok(())
    }
    .await;
    // From here on, any failure must delete the stored object so no file is kept without a record.
    let cleanup = |key: String| {
        let state = state.clone();
        async move {
            if let Err(error) = state.evidence().delete(&key).await {
                tracing::error!(error = format!("{error:#}"), storage_key = %key, "failed to delete an evidence object after a failed upload");
            }
        }
    };
    if let Err(error) = result {
        if let Some((key, ..)) = stored {
            cleanup(key).await;
        }
        return Err(error);
    }
    let Some((key, file_name, content_type, object)) = stored else {
        return Err(AppError::invalid("file", "Choose a file to upload."));
    };
    match check_upload(&access, &state, &fields, &file_name, &object).await {
        Ok((question_id, effective_on, expires_on)) => {
            let now = state.clock().now();
            let saved: Result<EvidenceFile, AppError> = async {
                let tx = state.db().writer().begin().await?;
                let file = evidence_store::insert(
                    &tx,
                    tenant,
                    assessment_id,
                    NewEvidence {
                        question_id: question_id.as_deref(),
                        storage_key: &key,
                        file_name: &file_name,
                        content_type: &content_type,
                        stored: &object,
                        effective_on,
                        expires_on,
                        uploaded_by: crate::ids::ContactId(access.contact.id),
                    },
                    now,
                )
                .await?;
                assessments::touch_vendor_activity(&tx, assessment_id, now).await?;
                audit::record(
                    &tx,
                    tenant,
                    &access.actor(),
                    Change {
                        action: "evidence.uploaded",
                        object_type: "assessment",
                        object_id: assessment_id.0,
                        before: None,
                        after: Some(serde_json::json!({ "evidence_id": file.id, "question_id": question_id, "file_name": file_name, "size_bytes": object.size, "sha256": object.sha256 })),
                    },
                    now,
                )
                .await?;
                tx.commit().await?;
                Ok(file)
            }
            .await;
            match saved {
                Ok(file) => {
                    tracing::info!(assessment_id = %assessment_id, evidence_id = %file.id, size_bytes = object.size, "evidence uploaded");
                    let anchor = question_id
                        .map_or_else(|| "attachments".to_owned(), |id| format!("q-{id}"));
                    Ok(Redirect::to(&format!("/a/{token}#{anchor}")).into_response())
                }
                Err(error) => {
                    cleanup(key).await;
                    Err(error)
                }
            }
        }
        Err(error) => {
            cleanup(key).await;
            Err(error)
        }
    }
}

type CheckedUpload = (
    Option<String>,
    Option<chrono::NaiveDate>,
    Option<chrono::NaiveDate>,
);

async fn check_upload(
    access: &LinkAccess,
    state: &AppState,
    fields: &UploadFields,
    file_name: &str,
    object: &crate::evidence::StoredObject,
) -> Result<CheckedUpload, AppError> {
    if object.size == 0 {
        return Err(AppError::invalid(
            "file",
            format!(
                "The file \"{file_name}\" is empty (0 bytes). Choose the document itself and upload it again."
            ),
        ));
    }
    let questionnaire = state
        .questionnaire(
            access.tenant(),
            QuestionnaireId(access.assessment.questionnaire_id),
        )
        .await?;
    let question_id = fields
        .question_id
        .as_deref()
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .map(str::to_owned);
    if let Some(id) = &question_id {
        match questionnaire.question(id) {
            None => {
                return Err(AppError::invalid(
                    "question_id",
                    format!("{id:?} is not a question of this questionnaire."),
                ));
            }
            Some(question) if question.evidence == EvidenceRule::None => {
                return Err(AppError::invalid(
                    "question_id",
                    format!(
                        "Question {id:?} takes no files; attach it as a general document instead."
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    let date =
        |value: &Option<String>, field: &str| -> Result<Option<chrono::NaiveDate>, AppError> {
            match value
                .as_deref()
                .map(str::trim)
                .filter(|value| !value.is_empty())
            {
                None => Ok(None),
                Some(text) => crate::domain::import::parse_date(text)
                    .map(Some)
                    .map_err(|message| AppError::invalid(field, message)),
            }
        };
    let effective_on = date(&fields.effective_on, "effective_on")?;
    let expires_on = date(&fields.expires_on, "expires_on")?;
    if let (Some(start), Some(end)) = (effective_on, expires_on)
        && end < start
    {
        return Err(AppError::invalid(
            "expires_on",
            format!("The expiry date {end} is before the effective date {start}."),
        ));
    }
    Ok((question_id, effective_on, expires_on))
}

async fn download(
    State(state): State<AppState>,
    Path((token, id)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let access = resolve_or_return!(&state, &token);
    let id: EvidenceId = parse_path_id(&id)?;
    let file = evidence_store::find(
        state.db().reader(),
        access.tenant(),
        access.assessment_id(),
        id,
    )
    .await?
    .ok_or(AppError::NotFound)?;
    evidence_response(&state, &file).await
}

async fn delete_file(
    State(state): State<AppState>,
    Path((token, id)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let access = resolve_or_return!(&state, &token);
    let status = assessments::status_of(&access.assessment)?;
    if mode_of(status) == Mode::ReadOnly {
        return Err(AppError::Conflict(
            "Files of a submitted questionnaire cannot be removed.".to_owned(),
        ));
    }
    let id: EvidenceId = parse_path_id(&id)?;
    let now = state.clock().now();
    let tx = state.db().writer().begin().await?;
    let Some(file) =
        evidence_store::delete(&tx, access.tenant(), access.assessment_id(), id).await?
    else {
        return Err(AppError::NotFound);
    };
    audit::record(
        &tx,
        access.tenant(),
        &access.actor(),
        Change {
            action: "evidence.removed",
            object_type: "assessment",
            object_id: access.assessment.id,
            before: Some(serde_json::json!({ "evidence_id": file.id, "file_name": file.file_name, "sha256": file.sha256 })),
            after: None,
        },
        now,
    )
    .await?;
    tx.commit().await?;
    // The object goes only after its record, so a failure here leaves an orphan object, never a
    // record without its file.
    if let Err(error) = state.evidence().delete(&file.storage_key).await {
        tracing::error!(error = format!("{error:#}"), evidence_id = %file.id, "failed to delete an evidence object; it is orphaned");
    }
    Ok(Redirect::to(&format!(
        "/a/{token}#q-{}",
        file.question_id.unwrap_or_default()
    ))
    .into_response())
}
