//! Assessment pages for staff: sending, tracking, resending or revoking links, and the analyst's
//! review (evidence decisions, score overrides, clarification requests, completion).

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{NaiveDate, TimeDelta};
use minijinja::{Value, context};
use sea_orm::TransactionTrait;
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::auth::{Member, StaffForm};
use crate::domain::answers::{self, AnswerValue};
use crate::domain::lifecycle::{Action, Status};
use crate::domain::questionnaire::Score;
use crate::domain::reassessment::{ChangeKind, QuestionChange};
use crate::domain::role::Permission;
use crate::domain::scoring::{self, FindingPolicy};
use crate::error::{AppError, FieldErrors};
use crate::ids::{AssessmentId, ContactId, EvidenceId, VendorId};
use crate::routes::QueryParams;
use crate::routes::download::evidence_response;
use crate::routes::pages::render;
use crate::routes::parse_path_id;
use crate::store::StoreError;
use crate::store::assessments::{self, AssessmentFilter, evidence, review};
use crate::store::audit::{self, Change};
use crate::store::questionnaires;
use crate::store::risks::{self, RiskFilter};
use crate::store::vendors::{self, Vendor};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/assessments", get(list).post(create))
        .route("/assessments/new", get(new_form))
        .route("/assessments/{id}", get(show))
        .route(
            "/assessments/{id}/contacts/{contact_id}/resend",
            post(resend),
        )
        .route(
            "/assessments/{id}/contacts/{contact_id}/revoke",
            post(revoke),
        )
        .route("/assessments/{id}/start-review", post(start_review))
        .route("/assessments/{id}/send-draft", post(send_draft))
        .route("/assessments/{id}/evidence/{evidence_id}", get(download))
        .route(
            "/assessments/{id}/evidence/{evidence_id}/review",
            post(review_evidence),
        )
        .route(
            "/assessments/{id}/questions/{question_id}/override",
            post(override_score),
        )
        .route("/assessments/{id}/clarifications", post(add_clarification))
        .route(
            "/assessments/{id}/clarifications/send",
            post(send_clarifications),
        )
        .route("/assessments/{id}/complete", post(complete))
        .route("/assessments/{id}/reopen", post(reopen))
        .route("/assessments/{id}/cancel", post(cancel))
}

#[derive(Deserialize, Default)]
struct ListQuery {
    status: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    member: Member,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<Response, AppError> {
    let mut filter = AssessmentFilter::default();
    match query.status.as_deref().filter(|value| !value.is_empty()) {
        None | Some("open") => filter.open_only = true,
        Some("all") => {}
        Some(value) => {
            filter.statuses = vec![
                value
                    .parse::<Status>()
                    .map_err(|message| AppError::invalid("status", message))?,
            ]
        }
    }
    let items = assessments::list(state.db().reader(), member.tenant_id, &filter, 500).await?;
    let statuses: Vec<Value> = Status::ALL
        .iter()
        .map(|status| context! { value => status.as_str(), label => status.label() })
        .collect();
    Ok(render(
        &state,
        Some(&member),
        "pages/assessments/list.html",
        context! { assessments => items, statuses => statuses, current => query.status.unwrap_or_else(|| "open".to_owned()) },
    )?
    .into_response())
}

/// The send form as posted.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct SendForm {
    vendor_id: String,
    questionnaire: String,
    due_on: String,
    contact_ids: Vec<String>,
    /// Why the assessment is sent now, kept with it; optional.
    reason_note: String,
}

#[derive(Deserialize, Default)]
struct NewQuery {
    vendor: Option<String>,
}

async fn render_send_form(
    state: &AppState,
    member: &Member,
    vendor: Option<&Vendor>,
    form: &SendForm,
    errors: &FieldErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let library = questionnaires::library(state.db().reader(), member.tenant_id).await?;
    // Suggested questionnaires for the vendor's tier first, then the rest, newest version only.
    let mut seen = std::collections::HashSet::new();
    let mut choices: Vec<Value> = library
        .iter()
        .filter(|entry| seen.insert(entry.questionnaire.key.clone()))
        .map(|entry| {
            let suggested = vendor.is_some_and(|vendor| entry.questionnaire.tiers.contains(&vendor.tier));
            context! {
                value => entry.questionnaire.key,
                label => format!("{} (version {}, {} questions){}", entry.questionnaire.title, entry.questionnaire.version, entry.questionnaire.question_count(), if suggested { " — suggested for this tier" } else { "" }),
                suggested => suggested,
            }
        })
        .collect();
    choices.sort_by_key(|choice| {
        !choice
            .get_attr("suggested")
            .map(|value| value.is_true())
            .unwrap_or(false)
    });
    let contacts = match vendor {
        Some(vendor) => vendors::contacts(state.db().reader(), member.tenant_id, vendor.id).await?,
        None => Vec::new(),
    };
    let vendor_choices = if vendor.is_none() {
        let page = vendors::list(
            state.db().reader(),
            member.tenant_id,
            &Default::default(),
            Default::default(),
            1,
            200,
        )
        .await?;
        page.items
            .into_iter()
            .map(|vendor| context! { value => vendor.id, label => vendor.name })
            .collect()
    } else {
        Vec::new()
    };
    let html = render(
        state,
        Some(member),
        "pages/assessments/new.html",
        context! { vendor => vendor, vendor_choices => vendor_choices, questionnaires => choices, contacts => contacts, form => form, errors => errors },
    )?;
    Ok((status, html).into_response())
}

async fn new_form(
    State(state): State<AppState>,
    member: Member,
    QueryParams(query): QueryParams<NewQuery>,
) -> Result<Response, AppError> {
    member.require(Permission::SendAssessments)?;
    let vendor = match query.vendor.as_deref().filter(|value| !value.is_empty()) {
        Some(id) => Some(
            vendors::get(state.db().reader(), member.tenant_id, parse_path_id(id)?)
                .await?
                .ok_or(AppError::NotFound)?,
        ),
        None => None,
    };
    let contacts = match &vendor {
        Some(vendor) => vendors::contacts(state.db().reader(), member.tenant_id, vendor.id).await?,
        None => Vec::new(),
    };
    let form = SendForm {
        vendor_id: vendor
            .as_ref()
            .map(|vendor| vendor.id.to_string())
            .unwrap_or_default(),
        due_on: (state.clock().now() + TimeDelta::days(30))
            .date_naive()
            .to_string(),
        contact_ids: contacts
            .iter()
            .map(|contact| contact.id.to_string())
            .collect(),
        ..SendForm::default()
    };
    render_send_form(
        &state,
        &member,
        vendor.as_ref(),
        &form,
        &FieldErrors::default(),
        StatusCode::OK,
    )
    .await
}

/// A parsed request to send a questionnaire, from the page or the API.
pub struct SendRequest {
    /// Why it is sent: `manual` for a person's request.
    pub reason: &'static str,
    pub reason_note: Option<String>,
    pub vendor: VendorId,
    pub questionnaire: String,
    pub version: Option<u32>,
    pub due_on: NaiveDate,
    /// Empty means every contact of the vendor.
    pub contacts: Vec<ContactId>,
}

/// Sends a questionnaire: checks the request against the tenant's data, pins the questionnaire
/// version, creates the assessment and queues the e-mails.
///
/// # Errors
/// [`AppError::Invalid`] naming each bad field, or [`AppError::NotFound`] for a foreign vendor.
pub async fn send(
    state: &AppState,
    tenant: crate::ids::TenantId,
    requested_by: Option<crate::ids::UserId>,
    actor: &crate::store::audit::Actor,
    request: SendRequest,
) -> Result<AssessmentId, AppError> {
    let mut errors = FieldErrors::default();
    let vendor = vendors::get(state.db().reader(), tenant, request.vendor)
        .await?
        .ok_or_else(|| AppError::invalid("vendor_id", "No vendor with this id exists."))?;
    if vendor.is_archived() {
        errors.add(
            "vendor_id",
            format!(
                "{} is archived; restore the vendor before sending it a questionnaire.",
                vendor.name
            ),
        );
    }
    let entry = questionnaires::find(
        state.db().reader(),
        tenant,
        &request.questionnaire,
        request.version,
    )
    .await?;
    if entry.is_none() {
        errors.add(
            "questionnaire",
            format!(
                "{:?} is not in your questionnaire library.",
                request.questionnaire
            ),
        );
    }
    if request
        .reason_note
        .as_ref()
        .is_some_and(|note| note.chars().count() > 1000)
    {
        errors.add("reason_note", "Keep the reason under 1,000 characters.");
    }
    let today = crate::store::settings::load(state.db().reader(), tenant)
        .await?
        .today(state.clock().now());
    if request.due_on < today {
        errors.add(
            "due_on",
            format!(
                "The due date {} is in the past; choose today or a later date.",
                request.due_on
            ),
        );
    }
    let contacts = if request.contacts.is_empty() {
        vendors::contacts(state.db().reader(), tenant, vendor.id)
            .await?
            .into_iter()
            .map(|contact| contact.id)
            .collect()
    } else {
        request.contacts.clone()
    };
    if contacts.is_empty() {
        errors.add(
            "contact_ids",
            format!(
                "{} has no contacts; add one on the vendor's page first.",
                vendor.name
            ),
        );
    }
    errors.into_result()?;
    let entry = entry.expect("checked above");
    let now = state.clock().now();
    let tx = state.db().writer().begin().await?;
    let id = assessments::start(
        &tx,
        tenant,
        assessments::Start {
            vendor: &vendor,
            entry: &entry,
            due_on: request.due_on,
            contacts: &contacts,
            requested_by,
            reason: request.reason,
            reason_note: request.reason_note.as_deref(),
            send: true,
        },
        actor,
        now,
    )
    .await
    .map_err(|error| match error {
        StoreError::Conflict(message) => AppError::invalid("contact_ids", message),
        other => other.into(),
    })?;
    tx.commit().await?;
    state.wake_worker();
    tracing::info!(assessment_id = %id, vendor_id = %vendor.id, contacts = contacts.len(), "assessment sent");
    Ok(id)
}

async fn create(
    State(state): State<AppState>,
    StaffForm { member, form }: StaffForm<SendForm>,
) -> Result<Response, AppError> {
    member.require(Permission::SendAssessments)?;
    let mut errors = FieldErrors::default();
    let vendor_id: Option<VendorId> = form
        .vendor_id
        .parse()
        .map_err(|_| errors.add("vendor_id", "Choose a vendor."))
        .ok();
    let due_on = crate::domain::import::parse_date(&form.due_on)
        .map_err(|message| errors.add("due_on", message))
        .ok();
    let contacts: Vec<ContactId> = form
        .contact_ids
        .iter()
        .filter_map(|id| id.parse().ok())
        .collect();
    if contacts.is_empty() && !form.vendor_id.is_empty() {
        errors.add("contact_ids", "Choose at least one contact.");
    }
    let vendor = match vendor_id {
        Some(id) => vendors::get(state.db().reader(), member.tenant_id, id).await?,
        None => None,
    };
    if let (Some(vendor_id), Some(due_on), true) = (vendor_id, due_on, errors.is_empty()) {
        let request = SendRequest {
            reason: crate::domain::schedule::REASON_MANUAL,
            reason_note: Some(form.reason_note.trim().to_owned()).filter(|note| !note.is_empty()),
            vendor: vendor_id,
            questionnaire: form.questionnaire.clone(),
            version: None,
            due_on,
            contacts,
        };
        match send(
            &state,
            member.tenant_id,
            Some(member.user_id),
            &member.actor(),
            request,
        )
        .await
        {
            Ok(id) => return Ok(Redirect::to(&format!("/assessments/{id}")).into_response()),
            Err(AppError::Invalid(found)) => errors = found,
            Err(other) => return Err(other),
        }
    }
    render_send_form(
        &state,
        &member,
        vendor.as_ref(),
        &form,
        &errors,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

async fn load(
    state: &AppState,
    member: &Member,
    id: &str,
) -> Result<crate::store::entities::assessment::Model, AppError> {
    let id: AssessmentId = parse_path_id(id)?;
    assessments::find_row(state.db().reader(), member.tenant_id, id)
        .await?
        .ok_or(AppError::NotFound)
}

#[derive(Serialize)]
struct ReviewQuestion {
    id: String,
    text: String,
    required: bool,
    scored: bool,
    critical: bool,
    answer: Option<String>,
    comment: Option<String>,
    answer_score: Option<Score>,
    override_score: Option<Score>,
    override_rationale: Option<String>,
    controls: Vec<String>,
    evidence_rule: crate::domain::questionnaire::EvidenceRule,
    evidence_needed: bool,
    files: Vec<evidence::EvidenceFile>,
    clarifications: Vec<review::Clarification>,
    finding: Option<String>,
}

async fn show(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let row = load(&state, &member, &id).await?;
    let tenant = member.tenant_id;
    let assessment_id = AssessmentId(row.id);
    let db = state.db().reader();
    let assessment = assessments::get(db, tenant, assessment_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let questionnaire = state
        .questionnaire(tenant, assessment.questionnaire_id)
        .await?;
    let stored = assessments::answers::load(db, tenant, assessment_id).await?;
    let values = review::parse_answers(&questionnaire, &stored);
    let overrides = review::overrides(db, tenant, assessment_id).await?;
    let files = evidence::list(db, tenant, assessment_id).await?;
    let clarifications = review::clarifications(db, tenant, assessment_id).await?;
    let history = assessments::history(db, tenant, assessment_id).await?;
    let access =
        assessments::contact_access(db, tenant, assessment_id, state.clock().now()).await?;
    let audit_trail =
        audit::list_for_object(db, tenant, "assessment", assessment_id.0, 200).await?;
    let risks = risks::list(
        db,
        tenant,
        &RiskFilter {
            assessment: Some(assessment_id),
            ..RiskFilter::default()
        },
        None,
        200,
    )
    .await?;

    // A preview of the scores as they stand, so the analyst sees what completing would record.
    let override_scores: HashMap<String, Score> = overrides
        .iter()
        .map(|(question, item)| (question.clone(), item.score))
        .collect();
    let report = scoring::compute(&questionnaire, &values, &override_scores);
    let settings = crate::store::settings::load(db, tenant).await?;
    let states = evidence::states(&files, settings.today(state.clock().now()));
    let schedule = crate::jobs::schedule::assessment_schedule(
        db,
        tenant,
        &row,
        &settings,
        state.clock().now(),
    )
    .await
    .map_err(AppError::Internal)?;
    let timeline = crate::store::metrics::timelines(
        db,
        tenant,
        &[assessment_id.0],
        settings.time_zone,
        state.clock().now(),
    )
    .await?
    .remove(&assessment_id.0);
    let notices = crate::store::metrics::notices(db, tenant, assessment_id).await?;
    let findings: HashMap<String, String> = scoring::findings(
        &questionnaire,
        &report,
        &values,
        &states,
        FindingPolicy::default(),
    )
    .into_iter()
    .map(|finding| (finding.question_id.clone(), finding.reason.describe()))
    .collect();
    let visible = answers::visible_questions(&questionnaire, &values);
    let sections: Vec<Value> = questionnaire
        .sections
        .iter()
        .map(|section| {
            let questions: Vec<ReviewQuestion> = section
                .questions
                .iter()
                .filter(|question| visible.contains(&question.id))
                .map(|question| {
                    let answer = values.get(&question.id);
                    ReviewQuestion {
                        id: question.id.clone(),
                        text: question.text.clone(),
                        required: question.required,
                        scored: question.scored,
                        critical: question.critical,
                        answer: answer.map(|value| value.display(question)),
                        comment: stored.get(&question.id).and_then(|row| row.comment.clone()),
                        answer_score: answer.and_then(|value: &AnswerValue| value.score(question)),
                        override_score: overrides.get(&question.id).map(|item| item.score),
                        override_rationale: overrides.get(&question.id).map(|item| item.rationale.clone()),
                        controls: question.controls.clone(),
                        evidence_rule: question.evidence,
                        evidence_needed: answers::evidence_required(question, answer),
                        files: files.iter().filter(|file| file.question_id.as_deref() == Some(question.id.as_str())).cloned().collect(),
                        clarifications: clarifications.iter().filter(|item| item.question_id == question.id).cloned().collect(),
                        finding: findings.get(&question.id).cloned(),
                    }
                })
                .collect();
            let score = report.sections.iter().find(|group| group.id == section.id).and_then(|group| group.score);
            context! { id => section.id, title => section.title, questions => questions, score => score }
        })
        .collect();
    let pending_clarifications = clarifications
        .iter()
        .filter(|item| item.sent_at.is_none())
        .count();
    let since_previous = assessments::reassessment::since_previous(
        db,
        tenant,
        &row,
        &questionnaire,
        state.clock().now(),
    )
    .await?
    .as_ref()
    .map(since_previous_view);
    let html = render(
        &state,
        Some(&member),
        "pages/assessments/show.html",
        context! {
            assessment => assessment,
            questionnaire_title => questionnaire.title,
            schedule => schedule,
            time_zone => settings.time_zone.name(),
            sections => sections,
            report => report,
            history => history,
            timeline => timeline,
            notices => notices,
            access => access,
            general_files => files.iter().filter(|file| file.question_id.is_none()).collect::<Vec<_>>(),
            audit_trail => audit_trail,
            risks => risks.items,
            findings_preview => findings.len(),
            pending_clarifications => pending_clarifications,
            since_previous => since_previous,
            can_send => member.can(Permission::SendAssessments),
            can_review => member.can(Permission::Review),
        },
    )?;
    Ok(html.into_response())
}

/// Prepares the "Changes since the last assessment" section, with the questions grouped by
/// kind of change.
fn since_previous_view(since: &assessments::reassessment::SincePrevious) -> Value {
    let groups: Vec<Value> = ChangeKind::ALL
        .iter()
        .filter_map(|kind| {
            let changes: Vec<&QuestionChange> = since
                .answers
                .changes
                .iter()
                .filter(|change| change.kind == *kind)
                .collect();
            (!changes.is_empty())
                .then(|| context! { kind => kind, label => kind.label(), changes => changes })
        })
        .collect();
    context! {
        previous => since.previous,
        counts => since.answers.counts,
        groups => groups,
        today => since.today,
        previous_expired => since.previous_expired,
        current_expired => since.current_expired,
    }
}

#[derive(Deserialize)]
struct NoFields {}

/// Approves a draft that the schedule prepared: the due date moves to the tenant's usual
/// answering time from today, and the questionnaire goes to every contact of the vendor.
async fn send_draft(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { member, .. }: StaffForm<NoFields>,
) -> Result<Response, AppError> {
    member.require(Permission::SendAssessments)?;
    let row = load(&state, &member, &id).await?;
    let now = state.clock().now();
    let tx = state.db().writer().begin().await?;
    let row = assessments::approve_draft(&tx, member.tenant_id, &row, &member.actor(), now).await?;
    tx.commit().await?;
    state.wake_worker();
    Ok(back_to(&row, ""))
}

fn back_to(row: &crate::store::entities::assessment::Model, anchor: &str) -> Response {
    Redirect::to(&format!("/assessments/{}{anchor}", row.id)).into_response()
}

async fn resend(
    State(state): State<AppState>,
    Path((id, contact_id)): Path<(String, String)>,
    StaffForm { member, .. }: StaffForm<NoFields>,
) -> Result<Response, AppError> {
    member.require(Permission::SendAssessments)?;
    let row = load(&state, &member, &id).await?;
    let contact: ContactId = parse_path_id(&contact_id)?;
    vendors::contacts(
        state.db().reader(),
        member.tenant_id,
        crate::ids::VendorId(row.vendor_id),
    )
    .await?
    .into_iter()
    .find(|known| known.id == contact)
    .ok_or(AppError::NotFound)?;
    let status = assessments::status_of(&row)?;
    if status.is_closed() {
        return Err(AppError::Conflict(format!(
            "The assessment is {}; there is nothing to resend.",
            status.label().to_lowercase()
        )));
    }
    let now = state.clock().now();
    let tx = state.db().writer().begin().await?;
    assessments::queue_vendor_email(
        &tx,
        member.tenant_id,
        AssessmentId(row.id),
        contact,
        "link_resent",
        &format!("resend-{}", now.timestamp_micros()),
        now,
    )
    .await?;
    audit::record(
        &tx,
        member.tenant_id,
        &member.actor(),
        Change {
            action: "assessment.link_resent",
            object_type: "assessment",
            object_id: row.id,
            before: None,
            after: Some(serde_json::json!({ "contact_id": contact })),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    state.wake_worker();
    Ok(back_to(&row, "#contacts"))
}

async fn revoke(
    State(state): State<AppState>,
    Path((id, contact_id)): Path<(String, String)>,
    StaffForm { member, .. }: StaffForm<NoFields>,
) -> Result<Response, AppError> {
    member.require(Permission::SendAssessments)?;
    let row = load(&state, &member, &id).await?;
    let contact: ContactId = parse_path_id(&contact_id)?;
    let now = state.clock().now();
    let tx = state.db().writer().begin().await?;
    let revoked = assessments::revoke_contact_links(
        &tx,
        member.tenant_id,
        AssessmentId(row.id),
        contact,
        now,
    )
    .await?;
    if revoked == 0 {
        return Err(AppError::NotFound);
    }
    audit::record(
        &tx,
        member.tenant_id,
        &member.actor(),
        Change {
            action: "assessment.links_revoked",
            object_type: "assessment",
            object_id: row.id,
            before: None,
            after: Some(serde_json::json!({ "contact_id": contact, "links": revoked })),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(back_to(&row, "#contacts"))
}

async fn simple_transition(
    state: &AppState,
    member: &Member,
    id: &str,
    action: Action,
    permission: Permission,
    note: Option<&str>,
) -> Result<Response, AppError> {
    member.require(permission)?;
    let row = load(state, member, id).await?;
    let now = state.clock().now();
    let tx = state.db().writer().begin().await?;
    let to = assessments::transition(
        &tx,
        member.tenant_id,
        &row,
        action,
        &member.actor(),
        note,
        now,
    )
    .await?;
    audit::record(
        &tx,
        member.tenant_id,
        &member.actor(),
        Change {
            action: "assessment.status_changed",
            object_type: "assessment",
            object_id: row.id,
            before: Some(serde_json::json!({ "status": row.status })),
            after: Some(serde_json::json!({ "status": to })),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(back_to(&row, ""))
}

async fn start_review(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { member, .. }: StaffForm<NoFields>,
) -> Result<Response, AppError> {
    simple_transition(
        &state,
        &member,
        &id,
        Action::StartReview,
        Permission::Review,
        None,
    )
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct NoteForm {
    note: String,
}

async fn reopen(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { member, form }: StaffForm<NoteForm>,
) -> Result<Response, AppError> {
    let note = form.note.trim();
    if note.is_empty() {
        return Err(AppError::invalid(
            "note",
            "Say why the review is reopened; the reason is kept in the history.",
        ));
    }
    simple_transition(
        &state,
        &member,
        &id,
        Action::Reopen,
        Permission::Review,
        Some(note),
    )
    .await
}

async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { member, form }: StaffForm<NoteForm>,
) -> Result<Response, AppError> {
    let note = Some(form.note.trim()).filter(|note| !note.is_empty());
    simple_transition(
        &state,
        &member,
        &id,
        Action::Cancel,
        Permission::SendAssessments,
        note,
    )
    .await
}

/// Starts the review when the assessment was only submitted, so that review actions work
/// without a separate click.
async fn ensure_in_review(
    tx: &impl sea_orm::ConnectionTrait,
    member: &Member,
    row: &crate::store::entities::assessment::Model,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Status, AppError> {
    let status = assessments::status_of(row)?;
    if status == Status::Submitted {
        return Ok(assessments::transition(
            tx,
            member.tenant_id,
            row,
            Action::StartReview,
            &member.actor(),
            None,
            now,
        )
        .await?);
    }
    Ok(status)
}

async fn download(
    State(state): State<AppState>,
    member: Member,
    Path((id, evidence_id)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let row = load(&state, &member, &id).await?;
    let evidence_id: EvidenceId = parse_path_id(&evidence_id)?;
    let file = evidence::find(
        state.db().reader(),
        member.tenant_id,
        AssessmentId(row.id),
        evidence_id,
    )
    .await?
    .ok_or(AppError::NotFound)?;
    evidence_response(&state, &file).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct EvidenceReviewForm {
    decision: String,
    note: String,
}

async fn review_evidence(
    State(state): State<AppState>,
    Path((id, evidence_id)): Path<(String, String)>,
    StaffForm { member, form }: StaffForm<EvidenceReviewForm>,
) -> Result<Response, AppError> {
    member.require(Permission::Review)?;
    let row = load(&state, &member, &id).await?;
    let evidence_id: EvidenceId = parse_path_id(&evidence_id)?;
    evidence::find(
        state.db().reader(),
        member.tenant_id,
        AssessmentId(row.id),
        evidence_id,
    )
    .await?
    .ok_or(AppError::NotFound)?;
    let accepted = match form.decision.as_str() {
        "accept" => true,
        "reject" => false,
        other => {
            return Err(AppError::invalid(
                "decision",
                format!("{other:?} is not a decision; use accept or reject."),
            ));
        }
    };
    let note = Some(form.note.trim().to_owned()).filter(|note| !note.is_empty());
    if !accepted && note.is_none() {
        return Err(AppError::invalid(
            "note",
            "Say why the document is rejected, so the vendor and the register show the reason.",
        ));
    }
    let now = state.clock().now();
    let tx = state.db().writer().begin().await?;
    let status = ensure_in_review(&tx, &member, &row, now).await?;
    if status != Status::InReview && status != Status::ClarificationRequested {
        return Err(AppError::Conflict(format!(
            "Documents can be reviewed once the vendor has submitted; the assessment is {}.",
            status.label().to_lowercase()
        )));
    }
    let (before, after) = evidence::review(
        &tx,
        member.tenant_id,
        AssessmentId(row.id),
        evidence_id,
        accepted,
        note,
        member.user_id,
        now,
    )
    .await?
    .ok_or(AppError::NotFound)?;
    audit::record(
        &tx,
        member.tenant_id,
        &member.actor(),
        Change {
            action: "evidence.reviewed",
            object_type: "assessment",
            object_id: row.id,
            before: serde_json::to_value(&before).ok(),
            after: serde_json::to_value(&after).ok(),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(back_to(
        &row,
        &format!("#q-{}", after.question_id.unwrap_or_default()),
    ))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct OverrideForm {
    /// Percent, 0 to 100; empty removes the override.
    score: String,
    rationale: String,
}

async fn override_score(
    State(state): State<AppState>,
    Path((id, question_id)): Path<(String, String)>,
    StaffForm { member, form }: StaffForm<OverrideForm>,
) -> Result<Response, AppError> {
    member.require(Permission::Review)?;
    let row = load(&state, &member, &id).await?;
    let questionnaire = state
        .questionnaire(
            member.tenant_id,
            crate::ids::QuestionnaireId(row.questionnaire_id),
        )
        .await?;
    let question = questionnaire
        .question(&question_id)
        .ok_or(AppError::NotFound)?;
    if !question.scored {
        return Err(AppError::invalid(
            "score",
            "This question is not scored, so its score cannot be overridden.",
        ));
    }
    let score = match form.score.trim() {
        "" => None,
        text => {
            let percent: f64 = text.parse().map_err(|_| {
                AppError::invalid(
                    "score",
                    format!("{text:?} is not a number; enter a score from 0 to 100."),
                )
            })?;
            if !(0.0..=100.0).contains(&percent) {
                return Err(AppError::invalid(
                    "score",
                    format!("{percent} is outside 0 to 100."),
                ));
            }
            let rationale = form.rationale.trim();
            if rationale.chars().count() < 10 {
                return Err(AppError::invalid(
                    "rationale",
                    "Explain in a sentence why the score differs from the answer's; the reason is kept with the score.",
                ));
            }
            Some((
                Score::from_thousandths((percent * 10.0).round() as u16),
                rationale.to_owned(),
            ))
        }
    };
    let now = state.clock().now();
    let tx = state.db().writer().begin().await?;
    let status = ensure_in_review(&tx, &member, &row, now).await?;
    if status != Status::InReview && status != Status::ClarificationRequested {
        return Err(AppError::Conflict(format!(
            "Scores can be changed during the review; the assessment is {}.",
            status.label().to_lowercase()
        )));
    }
    review::set_override(
        &tx,
        member.tenant_id,
        AssessmentId(row.id),
        &question.id,
        score,
        member.user_id,
        &member.actor(),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(back_to(&row, &format!("#q-{}", question.id)))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ClarificationForm {
    question_id: String,
    request: String,
}

async fn add_clarification(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { member, form }: StaffForm<ClarificationForm>,
) -> Result<Response, AppError> {
    member.require(Permission::Review)?;
    let row = load(&state, &member, &id).await?;
    let questionnaire = state
        .questionnaire(
            member.tenant_id,
            crate::ids::QuestionnaireId(row.questionnaire_id),
        )
        .await?;
    if questionnaire.question(&form.question_id).is_none() {
        return Err(AppError::invalid(
            "question_id",
            format!(
                "{:?} is not a question of this questionnaire.",
                form.question_id
            ),
        ));
    }
    let request = form.request.trim();
    if request.is_empty() {
        return Err(AppError::invalid(
            "request",
            "Write what you need the vendor to clarify.",
        ));
    }
    let now = state.clock().now();
    let tx = state.db().writer().begin().await?;
    let status = ensure_in_review(&tx, &member, &row, now).await?;
    if status != Status::InReview {
        return Err(AppError::Conflict(format!(
            "Clarification can be requested during the review; the assessment is {}.",
            status.label().to_lowercase()
        )));
    }
    review::add_clarification(
        &tx,
        member.tenant_id,
        AssessmentId(row.id),
        &form.question_id,
        request,
        member.user_id,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(back_to(&row, &format!("#q-{}", form.question_id)))
}

async fn send_clarifications(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { member, .. }: StaffForm<NoFields>,
) -> Result<Response, AppError> {
    member.require(Permission::Review)?;
    let row = load(&state, &member, &id).await?;
    let tenant = member.tenant_id;
    let assessment_id = AssessmentId(row.id);
    let now = state.clock().now();
    let tx = state.db().writer().begin().await?;
    let pending = review::clarifications(&tx, tenant, assessment_id)
        .await?
        .into_iter()
        .filter(|item| item.sent_at.is_none())
        .count();
    if pending == 0 {
        return Err(AppError::Conflict(
            "Add at least one request before sending.".to_owned(),
        ));
    }
    assessments::transition(
        &tx,
        tenant,
        &row,
        Action::RequestClarification,
        &member.actor(),
        Some(&format!("{pending} request(s)")),
        now,
    )
    .await?;
    let round = review::mark_clarifications_sent(&tx, tenant, assessment_id, now).await?;
    for contact in assessments::contact_access(&tx, tenant, assessment_id, now).await? {
        assessments::queue_vendor_email(
            &tx,
            tenant,
            assessment_id,
            contact.contact_id,
            "clarification_request",
            &format!("clarify-{}", now.timestamp_micros()),
            now,
        )
        .await?;
    }
    audit::record(
        &tx,
        tenant,
        &member.actor(),
        Change {
            action: "clarification.sent",
            object_type: "assessment",
            object_id: row.id,
            before: None,
            after: Some(serde_json::json!({ "requests": round })),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    state.wake_worker();
    Ok(back_to(&row, ""))
}

async fn complete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { member, .. }: StaffForm<NoFields>,
) -> Result<Response, AppError> {
    member.require(Permission::Review)?;
    let row = load(&state, &member, &id).await?;
    let questionnaire = state
        .questionnaire(
            member.tenant_id,
            crate::ids::QuestionnaireId(row.questionnaire_id),
        )
        .await?;
    let vendor = vendors::get(
        state.db().reader(),
        member.tenant_id,
        VendorId(row.vendor_id),
    )
    .await?
    .ok_or(AppError::NotFound)?;
    let now = state.clock().now();
    let tx = state.db().writer().begin().await?;
    ensure_in_review(&tx, &member, &row, now).await?;
    let row = assessments::find_row(&tx, member.tenant_id, AssessmentId(row.id))
        .await?
        .ok_or(AppError::NotFound)?;
    let completion = review::complete(
        &tx,
        member.tenant_id,
        &row,
        &questionnaire,
        &vendor,
        &member.actor(),
        now,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(assessment_id = %row.id, findings = completion.findings, risks_created = completion.risks_created, risks_updated = completion.risks_updated, "review completed");
    Ok(back_to(&row, ""))
}
