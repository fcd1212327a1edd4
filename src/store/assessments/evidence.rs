//! Evidence records: the database half of an uploaded file (the bytes are in the evidence
//! store under `storage_key`).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, Set,
};
use serde::Serialize;

use crate::domain::scoring::EvidenceState;
use crate::evidence::StoredObject;
use crate::ids::{AssessmentId, ContactId, EvidenceId, TenantId, UserId};
use crate::store::entities::evidence;

pub const REVIEW_PENDING: &str = "pending";
pub const REVIEW_ACCEPTED: &str = "accepted";
pub const REVIEW_REJECTED: &str = "rejected";

/// An uploaded file as pages and the API show it.
#[derive(Clone, Debug, Serialize)]
pub struct EvidenceFile {
    pub id: EvidenceId,
    pub question_id: Option<String>,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub effective_on: Option<NaiveDate>,
    pub expires_on: Option<NaiveDate>,
    pub review_status: String,
    pub review_note: Option<String>,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<evidence::Model> for EvidenceFile {
    fn from(row: evidence::Model) -> Self {
        Self {
            id: EvidenceId(row.id),
            question_id: row.question_id,
            file_name: row.file_name,
            content_type: row.content_type,
            size_bytes: row.size_bytes,
            sha256: row.sha256,
            effective_on: row.effective_on,
            expires_on: row.expires_on,
            review_status: row.review_status,
            review_note: row.review_note,
            reviewed_at: row.reviewed_at,
            created_at: row.created_at,
        }
    }
}

/// The metadata of an upload, stored with its object.
pub struct NewEvidence<'a> {
    pub question_id: Option<&'a str>,
    pub storage_key: &'a str,
    pub file_name: &'a str,
    pub content_type: &'a str,
    pub stored: &'a StoredObject,
    pub effective_on: Option<NaiveDate>,
    pub expires_on: Option<NaiveDate>,
    pub uploaded_by: ContactId,
}

/// Records an uploaded object.
///
/// # Errors
/// Fails when the insert fails; the caller then deletes the object.
pub async fn insert(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    assessment: AssessmentId,
    new: NewEvidence<'_>,
    now: DateTime<Utc>,
) -> Result<EvidenceFile, sea_orm::DbErr> {
    let row = evidence::ActiveModel {
        id: Set(EvidenceId::new().0),
        tenant_id: Set(tenant.0),
        assessment_id: Set(assessment.0),
        question_id: Set(new.question_id.map(str::to_owned)),
        storage_key: Set(new.storage_key.to_owned()),
        file_name: Set(new.file_name.to_owned()),
        content_type: Set(new.content_type.to_owned()),
        size_bytes: Set(i64::try_from(new.stored.size).unwrap_or(i64::MAX)),
        sha256: Set(new.stored.sha256.clone()),
        effective_on: Set(new.effective_on),
        expires_on: Set(new.expires_on),
        review_status: Set(REVIEW_PENDING.to_owned()),
        review_note: Set(None),
        reviewed_by_user_id: Set(None),
        reviewed_at: Set(None),
        uploaded_by_contact_id: Set(Some(new.uploaded_by.0)),
        created_at: Set(now),
    }
    .insert(conn)
    .await?;
    Ok(row.into())
}

/// Lists an assessment's files in upload order.
///
/// # Errors
/// Fails when the query fails.
pub async fn list(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    assessment: AssessmentId,
) -> Result<Vec<EvidenceFile>, sea_orm::DbErr> {
    let rows = evidence::Entity::find()
        .filter(evidence::Column::TenantId.eq(tenant.0))
        .filter(evidence::Column::AssessmentId.eq(assessment.0))
        .order_by_asc(evidence::Column::CreatedAt)
        .order_by_asc(evidence::Column::Id)
        .all(conn)
        .await?;
    Ok(rows.into_iter().map(EvidenceFile::from).collect())
}

/// Finds one file of an assessment.
///
/// # Errors
/// Fails when the query fails.
pub async fn find(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    assessment: AssessmentId,
    id: EvidenceId,
) -> Result<Option<evidence::Model>, sea_orm::DbErr> {
    evidence::Entity::find_by_id(id.0)
        .filter(evidence::Column::TenantId.eq(tenant.0))
        .filter(evidence::Column::AssessmentId.eq(assessment.0))
        .one(conn)
        .await
}

/// Records the analyst's decision on a file. Returns `None` when there is no such file.
///
/// # Errors
/// Fails when the update fails.
#[allow(clippy::too_many_arguments)]
pub async fn review(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    assessment: AssessmentId,
    id: EvidenceId,
    accepted: bool,
    note: Option<String>,
    reviewer: UserId,
    now: DateTime<Utc>,
) -> Result<Option<(EvidenceFile, EvidenceFile)>, sea_orm::DbErr> {
    let Some(row) = find(conn, tenant, assessment, id).await? else {
        return Ok(None);
    };
    let before = EvidenceFile::from(row.clone());
    let mut active = row.into_active_model();
    active.review_status = Set(if accepted {
        REVIEW_ACCEPTED
    } else {
        REVIEW_REJECTED
    }
    .to_owned());
    active.review_note = Set(note);
    active.reviewed_by_user_id = Set(Some(reviewer.0));
    active.reviewed_at = Set(Some(now));
    let after = EvidenceFile::from(active.update(conn).await?);
    Ok(Some((before, after)))
}

/// Deletes a file's record and returns it, so the caller can delete the object after commit.
///
/// # Errors
/// Fails when the delete fails.
pub async fn delete(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    assessment: AssessmentId,
    id: EvidenceId,
) -> Result<Option<evidence::Model>, sea_orm::DbErr> {
    let Some(row) = find(conn, tenant, assessment, id).await? else {
        return Ok(None);
    };
    evidence::Entity::delete_by_id(row.id).exec(conn).await?;
    Ok(Some(row))
}

/// Returns the questions that have at least one file not rejected.
pub fn questions_with_files(files: &[EvidenceFile]) -> HashSet<String> {
    files
        .iter()
        .filter(|file| file.review_status != REVIEW_REJECTED)
        .filter_map(|file| file.question_id.clone())
        .collect()
}

/// Summarizes each question's files for scoring: accepted (and not expired on `today`),
/// expired, pending, or rejected. Questions without files are absent.
pub fn states(files: &[EvidenceFile], today: NaiveDate) -> HashMap<String, EvidenceState> {
    let mut by_question: HashMap<String, Vec<&EvidenceFile>> = HashMap::new();
    for file in files {
        if let Some(question) = &file.question_id {
            by_question.entry(question.clone()).or_default().push(file);
        }
    }
    by_question
        .into_iter()
        .map(|(question, files)| {
            let accepted: Vec<&&EvidenceFile> = files
                .iter()
                .filter(|file| file.review_status == REVIEW_ACCEPTED)
                .collect();
            let state = if accepted
                .iter()
                .any(|file| file.expires_on.is_none_or(|expiry| expiry >= today))
            {
                EvidenceState::Accepted
            } else if !accepted.is_empty() {
                EvidenceState::Expired
            } else if files
                .iter()
                .any(|file| file.review_status == REVIEW_PENDING)
            {
                EvidenceState::Pending
            } else {
                EvidenceState::Rejected
            };
            (question, state)
        })
        .collect()
}
