//! The risk register: one entry per finding and vendor question, updated rather than duplicated
//! when a later assessment finds the same gap, with the trace of the figures that produced it.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::Serialize;
use uuid::Uuid;

use super::StoreError;
use super::assessments::evidence::EvidenceFile;
use super::assessments::review::ScoreOverride;
use super::audit::{self, Actor, Change};
use super::entities::{risk, user, vendor};
use crate::domain::answers::AnswerValue;
use crate::domain::questionnaire::{Question, Questionnaire, controls};
use crate::domain::risk::{RiskStatus, Treatment};
use crate::domain::scoring::{self, Finding, RatingLevel, RiskRating, ScoreReport};
use crate::ids::{AssessmentId, RiskId, TenantId, UserId, VendorId};
use crate::store::vendors::Vendor;

/// A register entry as pages and the API show it.
#[derive(Clone, Debug, Serialize)]
pub struct Risk {
    pub id: RiskId,
    pub vendor_id: VendorId,
    pub vendor_name: String,
    pub assessment_id: Option<Uuid>,
    pub question_id: Option<String>,
    pub title: String,
    pub likelihood: i32,
    pub impact: i32,
    pub inherent_rating: i32,
    pub inherent_level: RatingLevel,
    pub residual_likelihood: i32,
    pub residual_impact: i32,
    pub residual_rating: i32,
    pub residual_level: RatingLevel,
    pub status: String,
    pub owner_user_id: Option<Uuid>,
    pub owner_name: Option<String>,
    pub treatment: Option<String>,
    pub due_on: Option<NaiveDate>,
    pub compensating_controls: Option<String>,
    pub approved_by_user_id: Option<Uuid>,
    pub approved_at: Option<DateTime<Utc>>,
    pub approval_rationale: Option<String>,
    pub exception_expires_on: Option<NaiveDate>,
    pub trace: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn view(row: risk::Model, vendor_name: String, owner_name: Option<String>) -> Risk {
    Risk {
        id: RiskId(row.id),
        vendor_id: VendorId(row.vendor_id),
        vendor_name,
        assessment_id: row.assessment_id,
        question_id: row.question_id,
        title: row.title,
        likelihood: row.likelihood,
        impact: row.impact,
        inherent_rating: row.inherent_rating,
        inherent_level: RatingLevel::of(row.inherent_rating),
        residual_likelihood: row.residual_likelihood,
        residual_impact: row.residual_impact,
        residual_rating: row.residual_rating,
        residual_level: RatingLevel::of(row.residual_rating),
        status: row.status,
        owner_user_id: row.owner_user_id,
        owner_name,
        treatment: row.treatment,
        due_on: row.due_on,
        compensating_controls: row.compensating_controls,
        approved_by_user_id: row.approved_by_user_id,
        approved_at: row.approved_at,
        approval_rationale: row.approval_rationale,
        exception_expires_on: row.exception_expires_on,
        trace: row.trace,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

/// A finding with everything its trace records.
pub struct FindingRecord<'a> {
    pub vendor: &'a Vendor,
    pub assessment: AssessmentId,
    pub questionnaire: &'a Questionnaire,
    pub question: &'a Question,
    pub answer: Option<&'a AnswerValue>,
    pub comment: Option<String>,
    pub report: &'a ScoreReport,
    pub finding: &'a Finding,
    pub evidence: Vec<EvidenceFile>,
    pub score_override: Option<ScoreOverride>,
}

/// Whether a finding made a new register entry or updated an open one.
pub enum Recorded {
    Created(RiskId),
    Updated(RiskId),
}

fn trace(
    record: &FindingRecord<'_>,
    likelihood: (u8, &str),
    impact: (u8, &str),
    rating: RiskRating,
) -> serde_json::Value {
    let result = record.report.question(&record.question.id);
    let control_scores: Vec<serde_json::Value> = record
        .question
        .controls
        .iter()
        .map(|id| {
            serde_json::json!({
                "id": id,
                "title": controls::lookup(id).map_or("", |control| control.title),
                "score_percent": record.report.control(id).and_then(|group| group.score),
            })
        })
        .collect();
    serde_json::json!({
        "assessment_id": record.assessment,
        "questionnaire": { "key": record.questionnaire.key, "version": record.questionnaire.version, "title": record.questionnaire.title },
        "question": {
            "id": record.question.id,
            "text": record.question.text,
            "critical": record.question.critical,
            "pass_score": record.question.pass_score,
            "weight": record.question.weight,
        },
        "answer": {
            "value": record.answer.map(|answer| answer.display(record.question)),
            "comment": record.comment,
        },
        "score": {
            "answer": result.and_then(|result| result.answer_score),
            "override": record.score_override.as_ref().map(|item| serde_json::json!({ "score": item.score, "rationale": item.rationale })),
            "effective": record.finding.score,
        },
        "reason": record.finding.reason.describe(),
        "controls": control_scores,
        "overall_score_percent": record.report.overall.score,
        "evidence": record.evidence.iter().map(|file| serde_json::json!({
            "id": file.id,
            "file_name": file.file_name,
            "sha256": file.sha256,
            "review_status": file.review_status,
            "expires_on": file.expires_on,
        })).collect::<Vec<_>>(),
        "evidence_state": record.finding.evidence,
        "likelihood": { "value": likelihood.0, "reason": likelihood.1 },
        "impact": { "value": impact.0, "reason": impact.1 },
        "rating": { "value": rating.value(), "level": rating.level() },
    })
}

/// Records a finding: updates the vendor's open entry for the same question, or creates one.
/// An entry whose residual rating nobody changed follows the new inherent rating.
///
/// # Errors
/// Fails on a database error.
pub async fn record_finding(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    record: FindingRecord<'_>,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Recorded, StoreError> {
    let (impact, impact_reason) = scoring::impact_for(record.vendor.tier);
    let (likelihood, likelihood_reason) =
        scoring::likelihood_for(record.finding.score, record.finding.evidence);
    let rating = RiskRating::new(likelihood, impact).map_err(StoreError::Corrupt)?;
    let trace = trace(
        &record,
        (likelihood, &likelihood_reason),
        (impact, &impact_reason),
        rating,
    );

    let existing = risk::Entity::find()
        .filter(risk::Column::TenantId.eq(tenant.0))
        .filter(risk::Column::VendorId.eq(record.vendor.id.0))
        .filter(risk::Column::QuestionId.eq(record.question.id.as_str()))
        .filter(risk::Column::Status.ne(RiskStatus::Closed.as_str()))
        .one(conn)
        .await?;
    if let Some(row) = existing {
        let before = serde_json::json!({ "likelihood": row.likelihood, "impact": row.impact, "inherent_rating": row.inherent_rating, "assessment_id": row.assessment_id });
        let residual_untouched =
            row.residual_likelihood == row.likelihood && row.residual_impact == row.impact;
        let id = RiskId(row.id);
        let mut active = row.into_active_model();
        active.assessment_id = Set(Some(record.assessment.0));
        active.likelihood = Set(i32::from(likelihood));
        active.impact = Set(i32::from(impact));
        active.inherent_rating = Set(rating.value());
        if residual_untouched {
            active.residual_likelihood = Set(i32::from(likelihood));
            active.residual_impact = Set(i32::from(impact));
            active.residual_rating = Set(rating.value());
        }
        active.trace = Set(trace);
        active.updated_at = Set(now);
        active.update(conn).await?;
        audit::record(
            conn,
            tenant,
            actor,
            Change {
                action: "risk.finding_updated",
                object_type: "risk",
                object_id: id.0,
                before: Some(before),
                after: Some(serde_json::json!({ "likelihood": likelihood, "impact": impact, "inherent_rating": rating.value(), "assessment_id": record.assessment })),
            },
            now,
        )
        .await?;
        return Ok(Recorded::Updated(id));
    }

    let id = RiskId::new();
    risk::ActiveModel {
        id: Set(id.0),
        tenant_id: Set(tenant.0),
        vendor_id: Set(record.vendor.id.0),
        assessment_id: Set(Some(record.assessment.0)),
        question_id: Set(Some(record.question.id.clone())),
        title: Set(record.question.text.clone()),
        likelihood: Set(i32::from(likelihood)),
        impact: Set(i32::from(impact)),
        inherent_rating: Set(rating.value()),
        residual_likelihood: Set(i32::from(likelihood)),
        residual_impact: Set(i32::from(impact)),
        residual_rating: Set(rating.value()),
        status: Set(RiskStatus::Open.as_str().to_owned()),
        owner_user_id: Set(None),
        treatment: Set(None),
        due_on: Set(None),
        compensating_controls: Set(None),
        approved_by_user_id: Set(None),
        approved_at: Set(None),
        approval_rationale: Set(None),
        exception_expires_on: Set(None),
        trace: Set(trace),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(conn)
    .await?;
    audit::record(
        conn,
        tenant,
        actor,
        Change {
            action: "risk.created",
            object_type: "risk",
            object_id: id.0,
            before: None,
            after: Some(serde_json::json!({ "vendor_id": record.vendor.id, "question_id": record.question.id, "likelihood": likelihood, "impact": impact })),
        },
        now,
    )
    .await?;
    Ok(Recorded::Created(id))
}

/// Filters of the register.
#[derive(Clone, Debug, Default)]
pub struct RiskFilter {
    pub vendor: Option<VendorId>,
    /// Band of the residual rating.
    pub level: Option<RatingLevel>,
    pub status: Option<RiskStatus>,
    pub owner: Option<UserId>,
    pub assessment: Option<AssessmentId>,
}

/// The position after which the next page starts: the last entry's residual rating and id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub rating: i32,
    pub id: Uuid,
}

impl Cursor {
    pub fn encode(self) -> String {
        format!("{}.{}", self.rating, self.id.simple())
    }

    pub fn decode(text: &str) -> Option<Self> {
        let (rating, id) = text.split_once('.')?;
        Some(Self {
            rating: rating.parse().ok()?,
            id: id.parse().ok()?,
        })
    }
}

/// A page of the register, most severe residual rating first, then by id; `next` continues it.
#[derive(Clone, Debug, Serialize)]
pub struct RiskPage {
    pub items: Vec<Risk>,
    pub next: Option<String>,
}

/// Lists register entries with keyset pagination, so the first page stays fast however large
/// the register grows (the indexes start with the tenant id and the rating).
///
/// # Errors
/// Fails when the query fails.
pub async fn list(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    filter: &RiskFilter,
    after: Option<Cursor>,
    limit: u64,
) -> Result<RiskPage, StoreError> {
    let mut condition = Condition::all().add(risk::Column::TenantId.eq(tenant.0));
    if let Some(vendor) = filter.vendor {
        condition = condition.add(risk::Column::VendorId.eq(vendor.0));
    }
    if let Some(level) = filter.level {
        let (low, high) = level.range();
        condition = condition.add(risk::Column::ResidualRating.between(low, high));
    }
    if let Some(status) = filter.status {
        condition = condition.add(risk::Column::Status.eq(status.as_str()));
    }
    if let Some(owner) = filter.owner {
        condition = condition.add(risk::Column::OwnerUserId.eq(owner.0));
    }
    if let Some(assessment) = filter.assessment {
        condition = condition.add(risk::Column::AssessmentId.eq(assessment.0));
    }
    if let Some(cursor) = after {
        condition = condition.add(
            Condition::any()
                .add(risk::Column::ResidualRating.lt(cursor.rating))
                .add(
                    Condition::all()
                        .add(risk::Column::ResidualRating.eq(cursor.rating))
                        .add(risk::Column::Id.gt(cursor.id)),
                ),
        );
    }
    let limit = limit.clamp(1, 1000);
    let rows = risk::Entity::find()
        .filter(condition)
        .order_by_desc(risk::Column::ResidualRating)
        .order_by_asc(risk::Column::Id)
        .limit(limit + 1)
        .all(conn)
        .await?;
    let has_more = rows.len() as u64 > limit;
    let rows: Vec<risk::Model> = rows.into_iter().take(limit as usize).collect();
    let next = has_more
        .then(|| {
            rows.last().map(|row| {
                Cursor {
                    rating: row.residual_rating,
                    id: row.id,
                }
                .encode()
            })
        })
        .flatten();
    let items = attach_names(conn, tenant, rows).await?;
    Ok(RiskPage { items, next })
}

async fn attach_names(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    rows: Vec<risk::Model>,
) -> Result<Vec<Risk>, StoreError> {
    let vendor_ids: Vec<Uuid> = rows.iter().map(|row| row.vendor_id).collect();
    let owner_ids: Vec<Uuid> = rows.iter().filter_map(|row| row.owner_user_id).collect();
    let vendors: std::collections::HashMap<Uuid, String> = vendor::Entity::find()
        .filter(vendor::Column::TenantId.eq(tenant.0))
        .filter(vendor::Column::Id.is_in(vendor_ids))
        .all(conn)
        .await?
        .into_iter()
        .map(|row| (row.id, row.name))
        .collect();
    let owners: std::collections::HashMap<Uuid, String> = if owner_ids.is_empty() {
        Default::default()
    } else {
        user::Entity::find()
            .filter(user::Column::TenantId.eq(tenant.0))
            .filter(user::Column::Id.is_in(owner_ids))
            .all(conn)
            .await?
            .into_iter()
            .map(|row| (row.id, row.name))
            .collect()
    };
    Ok(rows
        .into_iter()
        .map(|row| {
            let vendor_name = vendors.get(&row.vendor_id).cloned().unwrap_or_default();
            let owner_name = row
                .owner_user_id
                .and_then(|owner| owners.get(&owner).cloned());
            view(row, vendor_name, owner_name)
        })
        .collect())
}

/// Finds one entry of the tenant.
///
/// # Errors
/// Fails when the query fails.
pub async fn get(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    id: RiskId,
) -> Result<Option<Risk>, StoreError> {
    let Some(row) = risk::Entity::find_by_id(id.0)
        .filter(risk::Column::TenantId.eq(tenant.0))
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    Ok(attach_names(conn, tenant, vec![row]).await?.pop())
}

/// The editable fields of an entry.
#[derive(Clone, Debug, PartialEq)]
pub struct RiskUpdate {
    pub status: RiskStatus,
    pub owner: Option<UserId>,
    pub treatment: Option<Treatment>,
    pub due_on: Option<NaiveDate>,
    pub compensating_controls: Option<String>,
    pub residual: RiskRating,
    /// Required when the treatment is "accept".
    pub approval_rationale: Option<String>,
    pub exception_expires_on: Option<NaiveDate>,
}

/// Saves edits; the approver is the member who saves a changed approval rationale. Every change
/// is audited with the values before and after. Returns `None` when there is no such entry.
///
/// # Errors
/// [`StoreError::Conflict`] when the owner is not a member of the tenant.
pub async fn update(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    id: RiskId,
    change: &RiskUpdate,
    editor: UserId,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Option<Risk>, StoreError> {
    let Some(row) = risk::Entity::find_by_id(id.0)
        .filter(risk::Column::TenantId.eq(tenant.0))
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    if let Some(owner) = change.owner {
        let known = user::Entity::find_by_id(owner.0)
            .filter(user::Column::TenantId.eq(tenant.0))
            .one(conn)
            .await?;
        if known.is_none() {
            return Err(StoreError::Conflict(
                "The chosen owner is not a member of your organization.".to_owned(),
            ));
        }
    }
    let before = editable(&row);
    let approval_changed = change.approval_rationale != row.approval_rationale;
    let mut active = row.clone().into_active_model();
    active.status = Set(change.status.as_str().to_owned());
    active.owner_user_id = Set(change.owner.map(|owner| owner.0));
    active.treatment = Set(change
        .treatment
        .map(|treatment| treatment.as_str().to_owned()));
    active.due_on = Set(change.due_on);
    active.compensating_controls = Set(change.compensating_controls.clone());
    active.residual_likelihood = Set(i32::from(change.residual.likelihood));
    active.residual_impact = Set(i32::from(change.residual.impact));
    active.residual_rating = Set(change.residual.value());
    active.approval_rationale = Set(change.approval_rationale.clone());
    active.exception_expires_on = Set(change.exception_expires_on);
    if approval_changed {
        let approved = change.approval_rationale.is_some();
        active.approved_by_user_id = Set(approved.then_some(editor.0));
        active.approved_at = Set(approved.then_some(now));
    }
    active.updated_at = Set(now);
    let updated = active.update(conn).await?;
    let after = editable(&updated);
    if before != after {
        audit::record(
            conn,
            tenant,
            actor,
            Change {
                action: "risk.updated",
                object_type: "risk",
                object_id: id.0,
                before: Some(before),
                after: Some(after),
            },
            now,
        )
        .await?;
    }
    get(conn, tenant, id).await
}

fn editable(row: &risk::Model) -> serde_json::Value {
    serde_json::json!({
        "status": row.status,
        "owner_user_id": row.owner_user_id,
        "treatment": row.treatment,
        "due_on": row.due_on,
        "compensating_controls": row.compensating_controls,
        "residual_likelihood": row.residual_likelihood,
        "residual_impact": row.residual_impact,
        "approval_rationale": row.approval_rationale,
        "approved_by_user_id": row.approved_by_user_id,
        "exception_expires_on": row.exception_expires_on,
    })
}

/// Columns of the CSV export, in order.
pub const CSV_COLUMNS: &[&str] = &[
    "id",
    "vendor",
    "title",
    "question_id",
    "status",
    "likelihood",
    "impact",
    "inherent_rating",
    "inherent_level",
    "residual_rating",
    "residual_level",
    "owner",
    "treatment",
    "due_on",
    "questionnaire",
    "answer",
    "reason",
    "controls",
    "approved_at",
    "approval_rationale",
    "exception_expires_on",
    "created_at",
    "updated_at",
];

/// Returns one CSV row of an entry, in [`CSV_COLUMNS`] order.
pub fn csv_row(risk: &Risk) -> Vec<String> {
    let text = |value: &serde_json::Value| value.as_str().map(str::to_owned).unwrap_or_default();
    let questionnaire = format!(
        "{} v{}",
        text(&risk.trace["questionnaire"]["key"]),
        risk.trace["questionnaire"]["version"]
            .as_u64()
            .unwrap_or_default()
    );
    let controls: Vec<String> = risk.trace["controls"]
        .as_array()
        .map(|items| items.iter().map(|item| text(&item["id"])).collect())
        .unwrap_or_default();
    vec![
        risk.id.to_string(),
        risk.vendor_name.clone(),
        risk.title.clone(),
        risk.question_id.clone().unwrap_or_default(),
        risk.status.clone(),
        risk.likelihood.to_string(),
        risk.impact.to_string(),
        risk.inherent_rating.to_string(),
        risk.inherent_level.as_str().to_owned(),
        risk.residual_rating.to_string(),
        risk.residual_level.as_str().to_owned(),
        risk.owner_name.clone().unwrap_or_default(),
        risk.treatment.clone().unwrap_or_default(),
        risk.due_on.map(|date| date.to_string()).unwrap_or_default(),
        questionnaire,
        text(&risk.trace["answer"]["value"]),
        text(&risk.trace["reason"]),
        controls.join(" "),
        risk.approved_at
            .map(|at| at.to_rfc3339())
            .unwrap_or_default(),
        risk.approval_rationale.clone().unwrap_or_default(),
        risk.exception_expires_on
            .map(|date| date.to_string())
            .unwrap_or_default(),
        risk.created_at.to_rfc3339(),
        risk.updated_at.to_rfc3339(),
    ]
}
