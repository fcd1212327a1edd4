//! `/api/v1/assessments`: send (create), get with status history and scores, list.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::NaiveDate;
use sea_orm::TransactionTrait;
use serde::{Deserialize, Serialize};

use super::ApiJson;
use crate::app::AppState;
use crate::auth::ApiClient;
use crate::domain::cycle_time::{self, StageAges, Timeline};
use crate::domain::lifecycle::{Action, Status};
use crate::domain::reassessment::ChangeCounts;
use crate::domain::role::Permission;
use crate::domain::scoring::ScoreReport;
use crate::error::{AppError, FieldErrors};
use crate::ids::{AssessmentId, ContactId, VendorId};
use crate::routes::QueryParams;
use crate::routes::parse_path_id;
use crate::routes::staff::assessments::{SendRequest, send};
use crate::store::assessments::{self, Assessment, AssessmentFilter, ContactAccess, StatusEvent};
use crate::store::metrics::{self, Notices};
use crate::store::settings;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/assessments", get(list).post(create))
        .route("/assessments/{id}", get(show))
        .route("/assessments/{id}/send", post(approve))
        .route("/assessments/{id}/cancel", post(cancel))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateRequest {
    vendor_id: String,
    /// Questionnaire key from the library.
    questionnaire: String,
    /// A specific version; the newest by default.
    questionnaire_version: Option<u32>,
    /// `YYYY-MM-DD`.
    due_date: String,
    /// Contacts to send to; every contact of the vendor by default.
    #[serde(default)]
    contact_ids: Vec<String>,
    /// Why the assessment is sent now, kept with it.
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Serialize)]
struct AssessmentResponse {
    #[serde(flatten)]
    assessment: Assessment,
    history: Vec<StatusEvent>,
    contacts: Vec<ContactAccess>,
    /// Documents the vendor uploaded, with their review state and expiry dates.
    evidence: Vec<assessments::evidence::EvidenceFile>,
    scores: Option<ScoreReport>,
    /// Answer counts compared with the previous assessment, or `null` without one.
    changes: Option<ChangeCounts>,
    /// Each stage with its start, end and calendar days, from the status events.
    timeline: Timeline,
    /// Reminder and escalation e-mails sent.
    notices: Notices,
}

async fn respond(
    state: &AppState,
    client: &ApiClient,
    id: AssessmentId,
) -> Result<AssessmentResponse, AppError> {
    let db = state.db().reader();
    let assessment = assessments::get(db, client.tenant_id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let row = assessments::find_row(db, client.tenant_id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let questionnaire = state
        .questionnaire(client.tenant_id, assessment.questionnaire_id)
        .await?;
    let changes = assessments::reassessment::since_previous(
        db,
        client.tenant_id,
        &row,
        &questionnaire,
        state.clock().now(),
    )
    .await?
    .map(|since| since.answers.counts);
    let scores = row
        .score_report
        .and_then(|value| serde_json::from_value(value).ok());
    let zone = settings::load(db, client.tenant_id).await?.time_zone;
    let timeline = metrics::timelines(db, client.tenant_id, &[id.0], zone, state.clock().now())
        .await?
        .remove(&id.0)
        .unwrap_or_else(|| cycle_time::timeline(&[], zone, state.clock().now()));
    Ok(AssessmentResponse {
        timeline,
        notices: metrics::notices(db, client.tenant_id, id).await?,
        history: assessments::history(db, client.tenant_id, id).await?,
        contacts: assessments::contact_access(db, client.tenant_id, id, state.clock().now())
            .await?,
        evidence: assessments::evidence::list(db, client.tenant_id, id).await?,
        assessment,
        scores,
        changes,
    })
}

async fn create(
    State(state): State<AppState>,
    client: ApiClient,
    ApiJson(request): ApiJson<CreateRequest>,
) -> Result<Response, AppError> {
    client.require(Permission::SendAssessments)?;
    let mut errors = FieldErrors::default();
    let vendor: Option<VendorId> = request
        .vendor_id
        .parse()
        .map_err(|_| {
            errors.add(
                "vendor_id",
                format!("{:?} is not a vendor id.", request.vendor_id),
            )
        })
        .ok();
    let due_on = NaiveDate::parse_from_str(request.due_date.trim(), "%Y-%m-%d")
        .map_err(|_| {
            errors.add(
                "due_date",
                format!(
                    "{:?} is not a date; write it as YYYY-MM-DD.",
                    request.due_date
                ),
            )
        })
        .ok();
    let mut contacts = Vec::new();
    for (index, id) in request.contact_ids.iter().enumerate() {
        match id.parse::<ContactId>() {
            Ok(contact) => contacts.push(contact),
            Err(_) => errors.add(
                format!("contact_ids[{index}]"),
                format!("{id:?} is not a contact id."),
            ),
        }
    }
    errors.into_result()?;
    let vendor = vendor.expect("checked above");
    let send_request = SendRequest {
        reason: crate::domain::schedule::REASON_MANUAL,
        reason_note: request
            .reason
            .map(|note| note.trim().to_owned())
            .filter(|note| !note.is_empty()),
        vendor,
        questionnaire: request.questionnaire,
        version: request.questionnaire_version,
        due_on: due_on.expect("checked above"),
        contacts,
    };
    let id = send(
        &state,
        client.tenant_id,
        None,
        &client.actor(),
        send_request,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(respond(&state, &client, id).await?),
    )
        .into_response())
}

async fn show(
    State(state): State<AppState>,
    client: ApiClient,
    Path(id): Path<String>,
) -> Result<Json<AssessmentResponse>, AppError> {
    let id: AssessmentId = parse_path_id(&id)?;
    Ok(Json(respond(&state, &client, id).await?))
}

#[derive(Deserialize, Default)]
struct ListQuery {
    vendor_id: Option<String>,
    status: Option<String>,
}

#[derive(Serialize)]
struct ListItem {
    #[serde(flatten)]
    assessment: Assessment,
    /// Days in the current stage and in each stage so far, from the status events.
    stage_ages: StageAges,
}

#[derive(Serialize)]
struct ListResponse {
    data: Vec<ListItem>,
}

async fn list(
    State(state): State<AppState>,
    client: ApiClient,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<Json<ListResponse>, AppError> {
    let mut filter = AssessmentFilter::default();
    let mut errors = FieldErrors::default();
    if let Some(value) = query.vendor_id.as_deref().filter(|value| !value.is_empty()) {
        filter.vendor = value
            .parse()
            .map_err(|_| errors.add("vendor_id", format!("{value:?} is not a vendor id.")))
            .ok();
    }
    if let Some(value) = query.status.as_deref().filter(|value| !value.is_empty()) {
        match value {
            "open" => filter.open_only = true,
            other => {
                filter.statuses = other
                    .split(',')
                    .filter_map(|status| {
                        status
                            .parse::<Status>()
                            .map_err(|message| errors.add("status", message))
                            .ok()
                    })
                    .collect()
            }
        }
    }
    errors.into_result()?;
    let db = state.db().reader();
    let items = assessments::list(db, client.tenant_id, &filter, 1000).await?;
    let zone = settings::load(db, client.tenant_id).await?.time_zone;
    let now = state.clock().now();
    let ids: Vec<uuid::Uuid> = items.iter().map(|item| item.id.0).collect();
    let mut timelines = metrics::timelines(db, client.tenant_id, &ids, zone, now).await?;
    let data = items
        .into_iter()
        .map(|assessment| {
            let stage_ages = timelines
                .remove(&assessment.id.0)
                .unwrap_or_else(|| cycle_time::timeline(&[], zone, now))
                .ages();
            ListItem {
                assessment,
                stage_ages,
            }
        })
        .collect();
    Ok(Json(ListResponse { data }))
}

/// Sends a draft that waits for approval.
async fn approve(
    State(state): State<AppState>,
    client: ApiClient,
    Path(id): Path<String>,
) -> Result<Json<AssessmentResponse>, AppError> {
    client.require(Permission::SendAssessments)?;
    let id: AssessmentId = parse_path_id(&id)?;
    let row = assessments::find_row(state.db().reader(), client.tenant_id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let tx = state.db().writer().begin().await?;
    assessments::approve_draft(
        &tx,
        client.tenant_id,
        &row,
        &client.actor(),
        state.clock().now(),
    )
    .await?;
    tx.commit().await?;
    state.wake_worker();
    Ok(Json(respond(&state, &client, id).await?))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CancelRequest {
    /// Why it is cancelled, kept in the status history.
    #[serde(default)]
    reason: Option<String>,
}

/// Cancels an assessment that is not closed yet.
async fn cancel(
    State(state): State<AppState>,
    client: ApiClient,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<CancelRequest>,
) -> Result<Json<AssessmentResponse>, AppError> {
    client.require(Permission::SendAssessments)?;
    let id: AssessmentId = parse_path_id(&id)?;
    let row = assessments::find_row(state.db().reader(), client.tenant_id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let note = request
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|note| !note.is_empty());
    let now = state.clock().now();
    let tx = state.db().writer().begin().await?;
    let to = assessments::transition(
        &tx,
        client.tenant_id,
        &row,
        Action::Cancel,
        &client.actor(),
        note,
        now,
    )
    .await?;
    crate::store::audit::record(
        &tx,
        client.tenant_id,
        &client.actor(),
        crate::store::audit::Change {
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
    Ok(Json(respond(&state, &client, id).await?))
}
