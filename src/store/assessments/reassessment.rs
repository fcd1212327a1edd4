//! What changed between a reassessment and the vendor's previous assessment: the answers, and
//! the evidence that has expired since.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::ConnectionTrait;
use serde::Serialize;

use super::evidence::{self, EvidenceFile};
use super::{Assessment, answers, get, review};
use crate::domain::questionnaire::Questionnaire;
use crate::domain::reassessment::{self, AnswerComparison, AnswerSet};
use crate::ids::{AssessmentId, TenantId};
use crate::store::StoreError;
use crate::store::entities::assessment;

/// The comparison of an assessment with the one it was carried forward from.
#[derive(Clone, Debug, Serialize)]
pub struct SincePrevious {
    pub previous: Assessment,
    pub answers: AnswerComparison,
    /// The tenant's date the expiry checks used.
    pub today: NaiveDate,
    /// Files of the previous assessment whose expiry date is before `today`.
    pub previous_expired: Vec<ExpiredFile>,
    /// Files of this assessment whose expiry date is before `today`.
    pub current_expired: Vec<ExpiredFile>,
}

/// An expired evidence file with the text of the question it was attached to.
#[derive(Clone, Debug, Serialize)]
pub struct ExpiredFile {
    #[serde(flatten)]
    pub file: EvidenceFile,
    /// `None` for a general document, or a question its questionnaire version no longer has.
    pub question_text: Option<String>,
}

/// Compares an assessment with the previous assessment it was carried forward from. Returns
/// `None` when it has no previous assessment, or when that assessment or its questionnaire is
/// no longer stored.
///
/// `questionnaire` is the assessment's own pinned version. The previous assessment's version is
/// loaded here. An evidence file counts as expired when its expiry date is before the tenant's
/// today at `now`, the rule scoring uses.
///
/// # Errors
/// Fails on a database error, or when a stored questionnaire or status no longer parses.
pub async fn since_previous(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    current: &assessment::Model,
    questionnaire: &Questionnaire,
    now: DateTime<Utc>,
) -> Result<Option<SincePrevious>, StoreError> {
    let Some(previous_id) = current.previous_assessment_id.map(AssessmentId) else {
        return Ok(None);
    };
    let Some(previous) = get(conn, tenant, previous_id).await? else {
        return Ok(None);
    };
    let Some(previous_questionnaire) =
        crate::store::questionnaires::load(conn, tenant, previous.questionnaire_id).await?
    else {
        return Ok(None);
    };
    let current_id = AssessmentId(current.id);

    let previous_stored = answers::load(conn, tenant, previous_id).await?;
    let current_stored = answers::load(conn, tenant, current_id).await?;
    let previous_values = review::parse_answers(&previous_questionnaire, &previous_stored);
    let current_values = review::parse_answers(questionnaire, &current_stored);
    let comparison = reassessment::compare(
        &AnswerSet {
            questionnaire: &previous_questionnaire,
            values: &previous_values,
            carried_over: &answers::carried_over(&previous_stored),
        },
        &AnswerSet {
            questionnaire,
            values: &current_values,
            carried_over: &answers::carried_over(&current_stored),
        },
    );

    let today = crate::store::settings::load(conn, tenant).await?.today(now);
    let expired = |files: Vec<EvidenceFile>, questionnaire: &Questionnaire| -> Vec<ExpiredFile> {
        files
            .into_iter()
            .filter(|file| file.expires_on.is_some_and(|expiry| expiry < today))
            .map(|file| ExpiredFile {
                question_text: file
                    .question_id
                    .as_deref()
                    .and_then(|id| questionnaire.question(id))
                    .map(|question| question.text.clone()),
                file,
            })
            .collect()
    };
    let previous_expired = expired(
        evidence::list(conn, tenant, previous_id).await?,
        &previous_questionnaire,
    );
    let current_expired = expired(
        evidence::list(conn, tenant, current_id).await?,
        questionnaire,
    );
    Ok(Some(SincePrevious {
        previous,
        answers: comparison,
        today,
        previous_expired,
        current_expired,
    }))
}
