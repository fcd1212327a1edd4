//! The analyst's side of an assessment: score overrides, clarification requests, and completing
//! the review, which computes the scores and writes findings into the risk register.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde::Serialize;
use uuid::Uuid;

use super::{answers, evidence, transition};
use crate::domain::answers::AnswerValue;
use crate::domain::lifecycle::Action;
use crate::domain::questionnaire::{Questionnaire, Score};
use crate::domain::scoring::{self, FindingPolicy, ScoreReport};
use crate::ids::{AssessmentId, ClarificationId, ContactId, TenantId, UserId};
use crate::store::StoreError;
use crate::store::audit::{self, Actor, Change};
use crate::store::entities::{assessment, clarification, score_override};
use crate::store::risks;
use crate::store::vendors::Vendor;

/// An analyst's score for one question, with the reason.
#[derive(Clone, Debug, Serialize)]
pub struct ScoreOverride {
    pub question_id: String,
    pub score: Score,
    pub rationale: String,
    pub user_id: Uuid,
    pub updated_at: DateTime<Utc>,
}

/// Loads an assessment's overrides by question id.
///
/// # Errors
/// Fails when the query fails.
pub async fn overrides(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    assessment: AssessmentId,
) -> Result<HashMap<String, ScoreOverride>, sea_orm::DbErr> {
    let rows = score_override::Entity::find()
        .filter(score_override::Column::TenantId.eq(tenant.0))
        .filter(score_override::Column::AssessmentId.eq(assessment.0))
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let view = ScoreOverride {
                question_id: row.question_id.clone(),
                score: Score::from_thousandths(u16::try_from(row.score).unwrap_or(0)),
                rationale: row.rationale,
                user_id: row.user_id,
                updated_at: row.updated_at,
            };
            (row.question_id, view)
        })
        .collect())
}

/// Sets (or with `None`, removes) the analyst's score for a question.
///
/// # Errors
/// Fails on a database error.
#[allow(clippy::too_many_arguments)]
pub async fn set_override(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    assessment: AssessmentId,
    question_id: &str,
    score: Option<(Score, String)>,
    user: UserId,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    let existing = score_override::Entity::find()
        .filter(score_override::Column::TenantId.eq(tenant.0))
        .filter(score_override::Column::AssessmentId.eq(assessment.0))
        .filter(score_override::Column::QuestionId.eq(question_id))
        .one(conn)
        .await?;
    let before = existing.as_ref().map(|row| serde_json::json!({ "score": f64::from(row.score) / 1000.0, "rationale": row.rationale }));
    match (existing, &score) {
        (Some(row), None) => {
            score_override::Entity::delete_by_id(row.id)
                .exec(conn)
                .await?;
        }
        (Some(row), Some((score, rationale))) => {
            let mut active: score_override::ActiveModel = row.into();
            active.score = Set(i32::from(score.thousandths()));
            active.rationale = Set(rationale.clone());
            active.user_id = Set(user.0);
            active.updated_at = Set(now);
            active.update(conn).await?;
        }
        (None, Some((score, rationale))) => {
            score_override::ActiveModel {
                id: Set(Uuid::new_v4()),
                tenant_id: Set(tenant.0),
                assessment_id: Set(assessment.0),
                question_id: Set(question_id.to_owned()),
                score: Set(i32::from(score.thousandths())),
                rationale: Set(rationale.clone()),
                user_id: Set(user.0),
                created_at: Set(now),
                updated_at: Set(now),
            }
            .insert(conn)
            .await?;
        }
        (None, None) => return Ok(()),
    }
    audit::record(
        conn,
        tenant,
        actor,
        Change {
            action: "assessment.score_overridden",
            object_type: "assessment",
            object_id: assessment.0,
            before: before.map(|value| serde_json::json!({ "question_id": question_id, "override": value })),
            after: Some(serde_json::json!({
                "question_id": question_id,
                "override": score.as_ref().map(|(score, rationale)| serde_json::json!({ "score": score, "rationale": rationale })),
            })),
        },
        now,
    )
    .await
}

/// A clarification request and the vendor's response.
#[derive(Clone, Debug, Serialize)]
pub struct Clarification {
    pub id: ClarificationId,
    pub question_id: String,
    pub round: i32,
    pub request: String,
    pub requested_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub response: Option<String>,
    pub responded_at: Option<DateTime<Utc>>,
}

impl From<clarification::Model> for Clarification {
    fn from(row: clarification::Model) -> Self {
        Self {
            id: ClarificationId(row.id),
            question_id: row.question_id,
            round: row.round,
            request: row.request,
            requested_at: row.created_at,
            sent_at: row.sent_at,
            response: row.response,
            responded_at: row.responded_at,
        }
    }
}

/// Lists an assessment's clarification requests, oldest first.
///
/// # Errors
/// Fails when the query fails.
pub async fn clarifications(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    assessment: AssessmentId,
) -> Result<Vec<Clarification>, sea_orm::DbErr> {
    let rows = clarification::Entity::find()
        .filter(clarification::Column::TenantId.eq(tenant.0))
        .filter(clarification::Column::AssessmentId.eq(assessment.0))
        .order_by_asc(clarification::Column::CreatedAt)
        .order_by_asc(clarification::Column::Id)
        .all(conn)
        .await?;
    Ok(rows.into_iter().map(Clarification::from).collect())
}

/// Adds a request to the next round; it reaches the vendor when the round is sent.
///
/// # Errors
/// Fails when the insert fails.
pub async fn add_clarification(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    assessment: AssessmentId,
    question_id: &str,
    request: &str,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<ClarificationId, sea_orm::DbErr> {
    let existing = clarifications(conn, tenant, assessment).await?;
    let round = existing
        .iter()
        .filter(|item| item.sent_at.is_some())
        .map(|item| item.round)
        .max()
        .unwrap_or(0)
        + 1;
    let id = ClarificationId::new();
    clarification::ActiveModel {
        id: Set(id.0),
        tenant_id: Set(tenant.0),
        assessment_id: Set(assessment.0),
        question_id: Set(question_id.to_owned()),
        round: Set(round),
        request: Set(request.to_owned()),
        requested_by_user_id: Set(Some(user.0)),
        sent_at: Set(None),
        response: Set(None),
        responded_by_contact_id: Set(None),
        responded_at: Set(None),
        created_at: Set(now),
    }
    .insert(conn)
    .await?;
    Ok(id)
}

/// Marks every unsent request sent. Returns how many there were.
///
/// # Errors
/// Fails when the update fails.
pub async fn mark_clarifications_sent(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    assessment: AssessmentId,
    now: DateTime<Utc>,
) -> Result<u64, sea_orm::DbErr> {
    let result = clarification::Entity::update_many()
        .col_expr(clarification::Column::SentAt, Expr::value(Some(now)))
        .filter(clarification::Column::TenantId.eq(tenant.0))
        .filter(clarification::Column::AssessmentId.eq(assessment.0))
        .filter(clarification::Column::SentAt.is_null())
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}

/// Stores the vendor's response to a sent request. Returns false when there is no such request.
///
/// # Errors
/// Fails when the update fails.
pub async fn respond(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    assessment: AssessmentId,
    id: ClarificationId,
    response: &str,
    contact: ContactId,
    now: DateTime<Utc>,
) -> Result<bool, sea_orm::DbErr> {
    let result = clarification::Entity::update_many()
        .col_expr(
            clarification::Column::Response,
            Expr::value(Some(response.to_owned())),
        )
        .col_expr(
            clarification::Column::RespondedByContactId,
            Expr::value(Some(contact.0)),
        )
        .col_expr(clarification::Column::RespondedAt, Expr::value(Some(now)))
        .filter(clarification::Column::Id.eq(id.0))
        .filter(clarification::Column::TenantId.eq(tenant.0))
        .filter(clarification::Column::AssessmentId.eq(assessment.0))
        .filter(clarification::Column::SentAt.is_not_null())
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Parses stored answers into values, skipping cleared ones and any that no longer fit.
pub fn parse_answers(
    questionnaire: &Questionnaire,
    stored: &HashMap<String, crate::store::entities::answer::Model>,
) -> HashMap<String, AnswerValue> {
    stored
        .iter()
        .filter(|(_, row)| !row.value.is_empty())
        .filter_map(|(id, row)| {
            let question = questionnaire.question(id)?;
            AnswerValue::from_stored(question, &row.value).map(|value| (id.clone(), value))
        })
        .collect()
}

/// The result of completing a review.
#[derive(Clone, Debug, Serialize)]
pub struct Completion {
    pub report: ScoreReport,
    pub findings: usize,
    pub risks_created: usize,
    pub risks_updated: usize,
}

/// Completes the review: computes the scores from the answers, overrides, weights and evidence,
/// records every finding in the risk register, stores the score report on the assessment and
/// moves it to completed, all in the caller's transaction.
///
/// # Errors
/// [`StoreError::Conflict`] when the assessment is not in review.
pub async fn complete(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    row: &assessment::Model,
    questionnaire: &Questionnaire,
    vendor: &Vendor,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Completion, StoreError> {
    let id = AssessmentId(row.id);
    let stored = answers::load(conn, tenant, id).await?;
    let values = parse_answers(questionnaire, &stored);
    let overrides = overrides(conn, tenant, id).await?;
    let override_scores: HashMap<String, Score> = overrides
        .iter()
        .map(|(question, item)| (question.clone(), item.score))
        .collect();
    let files = evidence::list(conn, tenant, id).await?;
    let settings = crate::store::settings::load(conn, tenant).await?;
    let states = evidence::states(&files, settings.today(now));
    let report = scoring::compute(questionnaire, &values, &override_scores);
    let found = scoring::findings(
        questionnaire,
        &report,
        &values,
        &states,
        FindingPolicy::default(),
    );

    let mut created = 0;
    let mut updated = 0;
    for finding in &found {
        let Some(question) = questionnaire.question(&finding.question_id) else {
            continue;
        };
        let record = risks::FindingRecord {
            vendor,
            assessment: id,
            questionnaire,
            question,
            answer: values.get(&question.id),
            comment: stored.get(&question.id).and_then(|row| row.comment.clone()),
            report: &report,
            finding,
            evidence: files
                .iter()
                .filter(|file| file.question_id.as_deref() == Some(question.id.as_str()))
                .cloned()
                .collect(),
            score_override: overrides.get(&question.id).cloned(),
        };
        match risks::record_finding(conn, tenant, record, actor, now).await? {
            risks::Recorded::Created(_) => created += 1,
            risks::Recorded::Updated(_) => updated += 1,
        }
    }

    let overall = report
        .overall
        .score
        .map(|percent| i32::from(percent.tenths()));
    assessment::Entity::update_many()
        .col_expr(
            assessment::Column::ScoreReport,
            Expr::value(serde_json::to_value(&report).ok()),
        )
        .col_expr(assessment::Column::OverallScore, Expr::value(overall))
        .filter(assessment::Column::Id.eq(row.id))
        .filter(assessment::Column::TenantId.eq(tenant.0))
        .exec(conn)
        .await?;
    transition(conn, tenant, row, Action::Complete, actor, None, now).await?;
    let next_review = settings.next_review(settings.today(now), vendor.tier);
    crate::store::vendors::set_next_review(conn, tenant, vendor.id, Some(next_review)).await?;
    audit::record(
        conn,
        tenant,
        actor,
        Change {
            action: "assessment.completed",
            object_type: "assessment",
            object_id: row.id,
            before: None,
            after: Some(serde_json::json!({
                "overall_score": report.overall.score,
                "findings": found.len(),
                "risks_created": created,
                "risks_updated": updated,
                "next_review_on": next_review,
            })),
        },
        now,
    )
    .await?;
    Ok(Completion {
        report,
        findings: found.len(),
        risks_created: created,
        risks_updated: updated,
    })
}
