//! Vendor answers, one row per question, each with a version. A save names the version the
//! vendor's page was built from. If another contact saved the same question meanwhile, the save
//! is refused as a conflict instead of overwriting silently.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::ids::{AssessmentId, ContactId, TenantId};
use crate::store::entities::answer;

/// Loads an assessment's stored answers by question id, including cleared ones (empty value).
///
/// # Errors
/// Fails when the query fails.
pub async fn load(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    assessment: AssessmentId,
) -> Result<HashMap<String, answer::Model>, sea_orm::DbErr> {
    let rows = answer::Entity::find()
        .filter(answer::Column::TenantId.eq(tenant.0))
        .filter(answer::Column::AssessmentId.eq(assessment.0))
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.question_id.clone(), row))
        .collect())
}

/// Loads the stored answers of several assessments, by assessment and question id.
///
/// # Errors
/// Fails when a query fails.
pub async fn load_many(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    assessments: &[Uuid],
) -> Result<HashMap<Uuid, HashMap<String, answer::Model>>, sea_orm::DbErr> {
    let mut by_assessment: HashMap<Uuid, HashMap<String, answer::Model>> = HashMap::new();
    for chunk in assessments.chunks(500) {
        let rows = answer::Entity::find()
            .filter(answer::Column::TenantId.eq(tenant.0))
            .filter(answer::Column::AssessmentId.is_in(chunk.iter().copied()))
            .all(conn)
            .await?;
        for row in rows {
            by_assessment
                .entry(row.assessment_id)
                .or_default()
                .insert(row.question_id.clone(), row);
        }
    }
    Ok(by_assessment)
}

/// Returns the questions whose stored answer is still carried over from the previous
/// assessment: not empty, and neither confirmed nor changed by the vendor.
pub fn carried_over(stored: &HashMap<String, answer::Model>) -> HashSet<String> {
    stored
        .values()
        .filter(|row| row.carried_over && !row.value.is_empty())
        .map(|row| row.question_id.clone())
        .collect()
}

/// One question's new answer.
#[derive(Clone, Debug)]
pub struct AnswerChange {
    pub question_id: String,
    /// The stored form of the answer; empty clears it.
    pub value: String,
    pub comment: Option<String>,
    /// The version the vendor's page showed (0 for no answer yet); `None` skips the check.
    pub base_version: Option<i32>,
}

/// What became of one change.
#[derive(Clone, Debug, PartialEq)]
pub enum ChangeOutcome {
    Saved {
        version: i32,
    },
    /// Someone else saved this question after the vendor's page was built.
    Conflict {
        current: Option<answer::Model>,
    },
}

/// Applies one change.
///
/// # Errors
/// Fails on a database error.
pub async fn apply(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    assessment: AssessmentId,
    contact: ContactId,
    change: &AnswerChange,
    now: DateTime<Utc>,
) -> Result<ChangeOutcome, sea_orm::DbErr> {
    let existing = answer::Entity::find()
        .filter(answer::Column::TenantId.eq(tenant.0))
        .filter(answer::Column::AssessmentId.eq(assessment.0))
        .filter(answer::Column::QuestionId.eq(change.question_id.as_str()))
        .one(conn)
        .await?;
    let current_version = existing.as_ref().map_or(0, |row| row.version);
    if change
        .base_version
        .is_some_and(|base| base != current_version)
    {
        return Ok(ChangeOutcome::Conflict { current: existing });
    }
    match existing {
        Some(row) => {
            let result = answer::Entity::update_many()
                .col_expr(answer::Column::Value, Expr::value(change.value.clone()))
                .col_expr(answer::Column::Comment, Expr::value(change.comment.clone()))
                .col_expr(answer::Column::Version, Expr::value(row.version + 1))
                .col_expr(answer::Column::CarriedOver, Expr::value(false))
                .col_expr(
                    answer::Column::UpdatedByContactId,
                    Expr::value(Some(contact.0)),
                )
                .col_expr(answer::Column::UpdatedAt, Expr::value(now))
                .filter(answer::Column::Id.eq(row.id))
                .filter(answer::Column::Version.eq(row.version))
                .exec(conn)
                .await?;
            if result.rows_affected == 1 {
                Ok(ChangeOutcome::Saved {
                    version: row.version + 1,
                })
            } else {
                Ok(ChangeOutcome::Conflict { current: None })
            }
        }
        None => {
            let model = answer::ActiveModel {
                id: Set(Uuid::new_v4()),
                tenant_id: Set(tenant.0),
                assessment_id: Set(assessment.0),
                question_id: Set(change.question_id.clone()),
                value: Set(change.value.clone()),
                comment: Set(change.comment.clone()),
                version: Set(1),
                carried_over: Set(false),
                updated_by_contact_id: Set(Some(contact.0)),
                created_at: Set(now),
                updated_at: Set(now),
            };
            // ON CONFLICT DO NOTHING: a concurrent first save must not abort the transaction.
            let result = answer::Entity::insert(model)
                .on_conflict(
                    OnConflict::columns([
                        answer::Column::TenantId,
                        answer::Column::AssessmentId,
                        answer::Column::QuestionId,
                    ])
                    .do_nothing()
                    .to_owned(),
                )
                .exec(conn)
                .await;
            match result {
                Ok(_) => Ok(ChangeOutcome::Saved { version: 1 }),
                Err(sea_orm::DbErr::RecordNotInserted) => {
                    Ok(ChangeOutcome::Conflict { current: None })
                }
                Err(error) => Err(error),
            }
        }
    }
}

/// Copies the answers of an earlier assessment into a new one, marked as carried over, so the
/// vendor confirms or changes them instead of starting again. Answers to questions the new
/// questionnaire no longer has, or that no longer fit them, are left out. Returns how many were
/// copied.
///
/// # Errors
/// Fails on a database error.
pub async fn carry_forward(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    from: AssessmentId,
    to: AssessmentId,
    questionnaire: &crate::domain::questionnaire::Questionnaire,
    now: DateTime<Utc>,
) -> Result<usize, sea_orm::DbErr> {
    let previous = load(conn, tenant, from).await?;
    let mut copied = 0;
    for row in previous.into_values() {
        let fits = questionnaire
            .question(&row.question_id)
            .is_some_and(|question| {
                !row.value.is_empty()
                    && crate::domain::answers::AnswerValue::from_stored(question, &row.value)
                        .is_some()
            });
        if !fits {
            continue;
        }
        answer::ActiveModel {
            id: Set(Uuid::new_v4()),
            tenant_id: Set(tenant.0),
            assessment_id: Set(to.0),
            question_id: Set(row.question_id),
            value: Set(row.value),
            comment: Set(row.comment),
            version: Set(1),
            carried_over: Set(true),
            updated_by_contact_id: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(conn)
        .await?;
        copied += 1;
    }
    Ok(copied)
}

/// Marks a carried-over answer as confirmed by the vendor, without changing it. Returns false
/// when the answer is not carried over (any more) or another save came first.
///
/// # Errors
/// Fails on a database error.
pub async fn confirm(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    assessment: AssessmentId,
    question_id: &str,
    contact: ContactId,
    now: DateTime<Utc>,
) -> Result<bool, sea_orm::DbErr> {
    let result = answer::Entity::update_many()
        .col_expr(answer::Column::CarriedOver, Expr::value(false))
        .col_expr(
            answer::Column::Version,
            Expr::col(answer::Column::Version).add(1),
        )
        .col_expr(
            answer::Column::UpdatedByContactId,
            Expr::value(Some(contact.0)),
        )
        .col_expr(answer::Column::UpdatedAt, Expr::value(now))
        .filter(answer::Column::TenantId.eq(tenant.0))
        .filter(answer::Column::AssessmentId.eq(assessment.0))
        .filter(answer::Column::QuestionId.eq(question_id))
        .filter(answer::Column::CarriedOver.eq(true))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}
