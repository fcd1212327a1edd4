//! Assessments: creating and sending them, their status history, and the vendor access links.
//! Answers, evidence and the analyst's review live in the submodules.

pub mod answers;
pub mod evidence;
pub mod reassessment;
pub mod review;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde::Serialize;
use uuid::Uuid;

use super::StoreError;
use super::audit::{self, Actor, Change};
use super::entities::{access_link, assessment, assessment_event, tenant, vendor, vendor_contact};
use super::jobs::{self, NewJob};
use crate::auth::token;
use crate::domain::lifecycle::{Action, Status, WaitingOn};
use crate::domain::scoring::Percent;
use crate::ids::{AssessmentId, ContactId, QuestionnaireId, TenantId, UserId, VendorId};

/// Job kind that e-mails a vendor contact a personal link.
pub const JOB_VENDOR_EMAIL: &str = "vendor_email";
/// Job kind that e-mails a staff member about an assessment.
pub const JOB_STAFF_EMAIL: &str = "staff_email";

/// An assessment as pages and the API show it.
#[derive(Clone, Debug, Serialize)]
pub struct Assessment {
    pub id: AssessmentId,
    pub vendor_id: VendorId,
    pub vendor_name: String,
    pub questionnaire_id: QuestionnaireId,
    pub questionnaire_key: String,
    pub questionnaire_version: i32,
    pub status: Status,
    pub status_label: &'static str,
    pub waiting_on: WaitingOn,
    pub due_on: NaiveDate,
    pub requested_by_user_id: Option<Uuid>,
    pub sent_at: Option<DateTime<Utc>>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub last_vendor_activity_at: Option<DateTime<Utc>>,
    pub overall_score: Option<Percent>,
    /// The completed assessment whose answers were carried forward into this one.
    pub previous_assessment_id: Option<AssessmentId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Why it started: `manual`, `cycle`, `contract_renewal` or `evidence_expired`.
    pub reason: String,
    pub reason_label: &'static str,
    pub reason_note: Option<String>,
}

impl Assessment {
    fn from_row(row: assessment::Model, vendor_name: String) -> Result<Self, StoreError> {
        let status: Status = row
            .status
            .parse()
            .map_err(|message| StoreError::Corrupt(format!("assessments.status: {message}")))?;
        Ok(Self {
            id: AssessmentId(row.id),
            vendor_id: VendorId(row.vendor_id),
            vendor_name,
            questionnaire_id: QuestionnaireId(row.questionnaire_id),
            questionnaire_key: row.questionnaire_key,
            questionnaire_version: row.questionnaire_version,
            status,
            status_label: status.label(),
            waiting_on: status.waiting_on(),
            due_on: row.due_on,
            requested_by_user_id: row.requested_by_user_id,
            sent_at: row.sent_at,
            submitted_at: row.submitted_at,
            completed_at: row.completed_at,
            last_vendor_activity_at: row.last_vendor_activity_at,
            overall_score: row
                .overall_score
                .and_then(|tenths| u16::try_from(tenths).ok())
                .map(Percent::from_tenths),
            previous_assessment_id: row.previous_assessment_id.map(AssessmentId),
            created_at: row.created_at,
            updated_at: row.updated_at,
            reason_label: crate::domain::schedule::reason_label(&row.reason),
            reason: row.reason,
            reason_note: row.reason_note,
        })
    }
}

/// Parses a stored status.
///
/// # Errors
/// [`StoreError::Corrupt`] for an unknown status.
pub fn status_of(row: &assessment::Model) -> Result<Status, StoreError> {
    row.status
        .parse()
        .map_err(|message| StoreError::Corrupt(format!("assessments.status: {message}")))
}

/// One entry of an assessment's status history.
#[derive(Clone, Debug, Serialize)]
pub struct StatusEvent {
    pub from: Option<String>,
    pub to: String,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub note: Option<String>,
}

/// The request to create an assessment.
pub struct NewAssessment<'a> {
    pub vendor: VendorId,
    pub questionnaire: QuestionnaireId,
    pub questionnaire_key: &'a str,
    pub questionnaire_version: u32,
    /// Contacts to send to; every contact of the vendor when empty.
    pub contacts: &'a [ContactId],
    pub due_on: NaiveDate,
    pub requested_by: Option<UserId>,
    /// Why it starts: `manual`, `cycle`, `contract_renewal` or `evidence_expired`.
    pub reason: &'a str,
    pub reason_note: Option<&'a str>,
    /// The earlier assessment whose answers are carried forward.
    pub previous: Option<AssessmentId>,
    /// Send at once (draft → sent), or keep as a draft that waits for approval.
    pub send: bool,
}

/// Creates an assessment and, when `new.send` is set, sends it: the status moves from draft to
/// sent, and one e-mail job per contact is queued in the caller's transaction.
///
/// # Errors
/// [`StoreError::Conflict`] when a contact does not belong to the vendor or the vendor has none.
pub async fn create(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    new: NewAssessment<'_>,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<AssessmentId, StoreError> {
    let id = AssessmentId::new();
    let row = assessment::ActiveModel {
        id: Set(id.0),
        tenant_id: Set(tenant.0),
        vendor_id: Set(new.vendor.0),
        questionnaire_id: Set(new.questionnaire.0),
        questionnaire_key: Set(new.questionnaire_key.to_owned()),
        questionnaire_version: Set(i32::try_from(new.questionnaire_version).unwrap_or(i32::MAX)),
        status: Set(Status::Draft.as_str().to_owned()),
        due_on: Set(new.due_on),
        requested_by_user_id: Set(new.requested_by.map(|user| user.0)),
        sent_at: Set(None),
        submitted_at: Set(None),
        completed_at: Set(None),
        last_vendor_activity_at: Set(None),
        score_report: Set(None),
        overall_score: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        reason: Set(new.reason.to_owned()),
        reason_note: Set(new.reason_note.map(str::to_owned)),
        previous_assessment_id: Set(new.previous.map(|previous| previous.0)),
    }
    .insert(conn)
    .await?;
    record_event(
        conn,
        tenant,
        id,
        None,
        Status::Draft,
        actor,
        new.reason_note,
        now,
    )
    .await?;
    audit::record(
        conn,
        tenant,
        actor,
        Change {
            action: "assessment.created",
            object_type: "assessment",
            object_id: id.0,
            before: None,
            after: Some(serde_json::json!({
                "vendor_id": new.vendor,
                "questionnaire": { "key": new.questionnaire_key, "version": new.questionnaire_version },
                "due_on": new.due_on,
                "reason": new.reason,
                "reason_note": new.reason_note,
            })),
        },
        now,
    )
    .await?;
    if new.send {
        send_draft(conn, tenant, &row, new.contacts, actor, now).await?;
    }
    Ok(id)
}

/// Sends a draft: moves it to sent and queues one e-mail per contact (every contact of the
/// vendor when `contacts` is empty).
///
/// # Errors
/// [`StoreError::Conflict`] when the assessment is not a draft, a contact does not belong to the
/// vendor, or the vendor has no contact.
pub async fn send_draft(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    row: &assessment::Model,
    contacts: &[ContactId],
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut query = vendor_contact::Entity::find()
        .filter(vendor_contact::Column::TenantId.eq(tenant.0))
        .filter(vendor_contact::Column::VendorId.eq(row.vendor_id));
    if !contacts.is_empty() {
        query = query
            .filter(vendor_contact::Column::Id.is_in(contacts.iter().map(|contact| contact.0)));
    }
    let found = query.all(conn).await?;
    if found.is_empty() || (!contacts.is_empty() && found.len() != contacts.len()) {
        return Err(StoreError::Conflict(
            "Choose at least one contact of this vendor to send the questionnaire to.".to_owned(),
        ));
    }
    transition(conn, tenant, row, Action::Send, actor, None, now).await?;
    let id = AssessmentId(row.id);
    for contact in &found {
        queue_vendor_email(
            conn,
            tenant,
            id,
            ContactId(contact.id),
            "assessment_invitation",
            "invite",
            now,
        )
        .await?;
    }
    audit::record(
        conn,
        tenant,
        actor,
        Change {
            action: "assessment.sent",
            object_type: "assessment",
            object_id: id.0,
            before: None,
            after: Some(serde_json::json!({ "contacts": found.iter().map(|contact| contact.id).collect::<Vec<_>>() })),
        },
        now,
    )
    .await?;
    Ok(())
}

/// Approves a draft that waits for procurement: the due date moves to the tenant's usual time
/// to answer from today when that is later, and the questionnaire goes to every contact.
///
/// # Errors
/// [`StoreError::Conflict`] when the assessment is not a draft or the vendor has no contact.
pub async fn approve_draft(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    row: &assessment::Model,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<assessment::Model, StoreError> {
    if status_of(row)? != Status::Draft {
        return Err(StoreError::Conflict(
            "Only a draft waits for approval; this assessment was sent or closed already."
                .to_owned(),
        ));
    }
    let settings = crate::store::settings::load(conn, tenant).await?;
    let due_on = settings.today(now) + chrono::TimeDelta::days(i64::from(settings.due_in_days));
    let row = set_due_date(conn, tenant, row, due_on.max(row.due_on), now).await?;
    send_draft(conn, tenant, &row, &[], actor, now).await?;
    Ok(row)
}

/// Moves the due date of an assessment that has not been sent yet, and returns the updated row.
///
/// # Errors
/// [`StoreError::Conflict`] when the assessment was sent meanwhile.
pub async fn set_due_date(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    row: &assessment::Model,
    due_on: NaiveDate,
    now: DateTime<Utc>,
) -> Result<assessment::Model, StoreError> {
    let result = assessment::Entity::update_many()
        .col_expr(assessment::Column::DueOn, Expr::value(due_on))
        .col_expr(assessment::Column::UpdatedAt, Expr::value(now))
        .filter(assessment::Column::Id.eq(row.id))
        .filter(assessment::Column::TenantId.eq(tenant.0))
        .filter(assessment::Column::Status.eq(Status::Draft.as_str()))
        .exec(conn)
        .await?;
    if result.rows_affected != 1 {
        return Err(StoreError::Conflict(
            "The assessment was sent or cancelled meanwhile. Reload the page.".to_owned(),
        ));
    }
    Ok(assessment::Model {
        due_on,
        updated_at: now,
        ..row.clone()
    })
}

/// Returns whether the vendor has an assessment that is neither completed, cancelled nor
/// expired, so that no second one starts beside it.
///
/// # Errors
/// Fails when the query fails.
pub async fn has_open(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    vendor: VendorId,
) -> Result<bool, sea_orm::DbErr> {
    let open = assessment::Entity::find()
        .filter(assessment::Column::TenantId.eq(tenant.0))
        .filter(assessment::Column::VendorId.eq(vendor.0))
        .filter(assessment::Column::Status.is_not_in([
            Status::Completed.as_str(),
            Status::Cancelled.as_str(),
            Status::Expired.as_str(),
        ]))
        .one(conn)
        .await?;
    Ok(open.is_some())
}

/// Returns the vendor's most recently completed assessment.
///
/// # Errors
/// Fails when the query fails.
pub async fn last_completed(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    vendor: VendorId,
) -> Result<Option<assessment::Model>, sea_orm::DbErr> {
    assessment::Entity::find()
        .filter(assessment::Column::TenantId.eq(tenant.0))
        .filter(assessment::Column::VendorId.eq(vendor.0))
        .filter(assessment::Column::Status.eq(Status::Completed.as_str()))
        .order_by_desc(assessment::Column::CompletedAt)
        .one(conn)
        .await
}

/// Queues an e-mail with a personal link to one contact. `purpose` makes the job's unique key;
/// a resend passes a purpose with the time so that each resend is its own job.
///
/// # Errors
/// Fails when the insert fails.
pub async fn queue_vendor_email(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    assessment: AssessmentId,
    contact: ContactId,
    template: &str,
    purpose: &str,
    now: DateTime<Utc>,
) -> Result<bool, sea_orm::DbErr> {
    jobs::enqueue(
        conn,
        NewJob {
            tenant: Some(tenant),
            kind: JOB_VENDOR_EMAIL,
            unique_key: format!("assessment:{assessment}:{purpose}:{contact}"),
            payload: serde_json::json!({ "assessment_id": assessment, "contact_id": contact, "template": template }),
            run_at: now,
        },
        now,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn record_event(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    assessment: AssessmentId,
    from: Option<Status>,
    to: Status,
    actor: &Actor,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    let (kind, actor_id, label) = actor.parts();
    // Version 7 ids grow with time, so events written in the same microsecond (such as draft
    // and sent) still list in the order they happened.
    assessment_event::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant.0),
        assessment_id: Set(assessment.0),
        from_status: Set(from.map(|status| status.as_str().to_owned())),
        to_status: Set(to.as_str().to_owned()),
        actor_kind: Set(kind.to_owned()),
        actor_id: Set(actor_id),
        actor_label: Set(label),
        note: Set(note.map(str::to_owned)),
        created_at: Set(now),
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// Moves an assessment to its next status, records the move with time and actor, and returns
/// the new status. The update only applies if nobody moved the assessment meanwhile.
///
/// # Errors
/// [`StoreError::Conflict`] when the action does not fit the current status or the status
/// changed meanwhile.
pub async fn transition(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    row: &assessment::Model,
    action: Action,
    actor: &Actor,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Status, StoreError> {
    let from = status_of(row)?;
    let to = from.apply(action).map_err(StoreError::Conflict)?;
    let mut update = assessment::Entity::update_many()
        .col_expr(assessment::Column::Status, Expr::value(to.as_str()))
        .col_expr(assessment::Column::UpdatedAt, Expr::value(now));
    match action {
        Action::Send => {
            update = update.col_expr(assessment::Column::SentAt, Expr::value(Some(now)))
        }
        Action::Submit => {
            update = update.col_expr(assessment::Column::SubmittedAt, Expr::value(Some(now)))
        }
        Action::Complete => {
            update = update.col_expr(assessment::Column::CompletedAt, Expr::value(Some(now)))
        }
        Action::Reopen => {
            update = update.col_expr(
                assessment::Column::CompletedAt,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
        }
        _ => {}
    }
    let result = update
        .filter(assessment::Column::Id.eq(row.id))
        .filter(assessment::Column::TenantId.eq(tenant.0))
        .filter(assessment::Column::Status.eq(from.as_str()))
        .exec(conn)
        .await?;
    if result.rows_affected != 1 {
        return Err(StoreError::Conflict(
            "The assessment changed while you were working on it. Reload the page and try again."
                .to_owned(),
        ));
    }
    record_event(
        conn,
        tenant,
        AssessmentId(row.id),
        Some(from),
        to,
        actor,
        note,
        now,
    )
    .await?;
    Ok(to)
}

/// Finds an assessment row of the tenant.
///
/// # Errors
/// Fails when the query fails.
pub async fn find_row(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    id: AssessmentId,
) -> Result<Option<assessment::Model>, sea_orm::DbErr> {
    assessment::Entity::find_by_id(id.0)
        .filter(assessment::Column::TenantId.eq(tenant.0))
        .one(conn)
        .await
}

/// Finds an assessment of the tenant with its vendor's name.
///
/// # Errors
/// Fails when the query fails.
pub async fn get(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    id: AssessmentId,
) -> Result<Option<Assessment>, StoreError> {
    let Some(row) = find_row(conn, tenant, id).await? else {
        return Ok(None);
    };
    let vendor_name = vendor::Entity::find_by_id(row.vendor_id)
        .filter(vendor::Column::TenantId.eq(tenant.0))
        .one(conn)
        .await?
        .map(|vendor| vendor.name)
        .unwrap_or_default();
    Assessment::from_row(row, vendor_name).map(Some)
}

/// Filters of an assessment listing.
#[derive(Clone, Debug, Default)]
pub struct AssessmentFilter {
    pub vendor: Option<VendorId>,
    pub statuses: Vec<Status>,
    /// Only assessments that are not completed, cancelled or expired.
    pub open_only: bool,
}

/// Lists the tenant's assessments, newest first, at most `limit`.
///
/// # Errors
/// Fails when the query fails.
pub async fn list(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    filter: &AssessmentFilter,
    limit: u64,
) -> Result<Vec<Assessment>, StoreError> {
    let mut condition = Condition::all().add(assessment::Column::TenantId.eq(tenant.0));
    if let Some(vendor) = filter.vendor {
        condition = condition.add(assessment::Column::VendorId.eq(vendor.0));
    }
    if !filter.statuses.is_empty() {
        condition = condition.add(
            assessment::Column::Status.is_in(filter.statuses.iter().map(|status| status.as_str())),
        );
    }
    if filter.open_only {
        condition = condition.add(assessment::Column::Status.is_not_in([
            Status::Completed.as_str(),
            Status::Cancelled.as_str(),
            Status::Expired.as_str(),
        ]));
    }
    let rows = assessment::Entity::find()
        .filter(condition)
        .order_by_desc(assessment::Column::CreatedAt)
        .order_by_desc(assessment::Column::Id)
        .limit(limit)
        .all(conn)
        .await?;
    let vendor_ids: Vec<Uuid> = rows.iter().map(|row| row.vendor_id).collect();
    let names: std::collections::HashMap<Uuid, String> = vendor::Entity::find()
        .filter(vendor::Column::TenantId.eq(tenant.0))
        .filter(vendor::Column::Id.is_in(vendor_ids))
        .all(conn)
        .await?
        .into_iter()
        .map(|vendor| (vendor.id, vendor.name))
        .collect();
    rows.into_iter()
        .map(|row| {
            let name = names.get(&row.vendor_id).cloned().unwrap_or_default();
            Assessment::from_row(row, name)
        })
        .collect()
}

/// Lists an assessment's status history, oldest first.
///
/// # Errors
/// Fails when the query fails.
pub async fn history(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    id: AssessmentId,
) -> Result<Vec<StatusEvent>, sea_orm::DbErr> {
    let rows = assessment_event::Entity::find()
        .filter(assessment_event::Column::TenantId.eq(tenant.0))
        .filter(assessment_event::Column::AssessmentId.eq(id.0))
        .order_by_asc(assessment_event::Column::CreatedAt)
        .order_by_asc(assessment_event::Column::Id)
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| StatusEvent {
            from: row.from_status,
            to: row.to_status,
            at: row.created_at,
            actor: row.actor_label,
            note: row.note,
        })
        .collect())
}

/// Creates a new access link for a contact, valid until `expires_at`, and returns its secret,
/// which only the e-mail carries; the table stores its hash.
///
/// # Errors
/// Fails when the insert fails.
pub async fn create_link(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    assessment: &assessment::Model,
    contact: ContactId,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(Uuid, String), sea_orm::DbErr> {
    let secret = token::generate("");
    let id = Uuid::new_v4();
    access_link::ActiveModel {
        id: Set(id),
        tenant_id: Set(tenant.0),
        assessment_id: Set(assessment.id),
        contact_id: Set(contact.0),
        token_hash: Set(token::hash(&secret)),
        expires_at: Set(expires_at),
        revoked_at: Set(None),
        created_at: Set(now),
    }
    .insert(conn)
    .await?;
    Ok((id, secret))
}

/// Revokes one link, as when its e-mail could not be sent.
///
/// # Errors
/// Fails when the update fails.
pub async fn revoke_link(
    conn: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    access_link::Entity::update_many()
        .col_expr(access_link::Column::RevokedAt, Expr::value(Some(now)))
        .filter(access_link::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Revokes every link of one contact for an assessment. Returns how many were live.
///
/// # Errors
/// Fails when the update fails.
pub async fn revoke_contact_links(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    assessment: AssessmentId,
    contact: ContactId,
    now: DateTime<Utc>,
) -> Result<u64, sea_orm::DbErr> {
    let result = access_link::Entity::update_many()
        .col_expr(access_link::Column::RevokedAt, Expr::value(Some(now)))
        .filter(access_link::Column::TenantId.eq(tenant.0))
        .filter(access_link::Column::AssessmentId.eq(assessment.0))
        .filter(access_link::Column::ContactId.eq(contact.0))
        .filter(access_link::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}

/// A contact's access to an assessment, for the staff page.
#[derive(Clone, Debug, Serialize)]
pub struct ContactAccess {
    pub contact_id: ContactId,
    pub name: String,
    pub email: String,
    pub links_sent: usize,
    pub live_links: usize,
    pub last_sent_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    /// State of the newest e-mail to this contact: queued, running, done or failed.
    pub email_status: Option<String>,
    /// Why the newest e-mail failed, while it is retried or after its last attempt.
    pub email_error: Option<String>,
    /// When a queued retry of the newest e-mail runs.
    pub email_next_attempt_at: Option<DateTime<Utc>>,
}

/// Lists the contacts an assessment was sent to, with their links.
///
/// # Errors
/// Fails when the query fails.
pub async fn contact_access(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    assessment: AssessmentId,
    now: DateTime<Utc>,
) -> Result<Vec<ContactAccess>, sea_orm::DbErr> {
    let links = access_link::Entity::find()
        .filter(access_link::Column::TenantId.eq(tenant.0))
        .filter(access_link::Column::AssessmentId.eq(assessment.0))
        .order_by_asc(access_link::Column::CreatedAt)
        .all(conn)
        .await?;
    let email_jobs: Vec<crate::store::entities::job::Model> =
        jobs::list_by_key_prefix(conn, tenant, &format!("assessment:{assessment}:"))
            .await?
            .into_iter()
            .filter(|job| job.kind == JOB_VENDOR_EMAIL)
            .collect();
    let contact_of = |job: &crate::store::entities::job::Model| -> Option<Uuid> {
        job.payload["contact_id"]
            .as_str()
            .and_then(|id| id.parse().ok())
    };
    let sent_to: Vec<Uuid> = email_jobs.iter().filter_map(contact_of).collect();
    let contacts = vendor_contact::Entity::find()
        .filter(vendor_contact::Column::TenantId.eq(tenant.0))
        .filter(vendor_contact::Column::Id.is_in(sent_to))
        .order_by_asc(vendor_contact::Column::Name)
        .all(conn)
        .await?;
    Ok(contacts
        .into_iter()
        .map(|contact| {
            let own: Vec<&access_link::Model> = links
                .iter()
                .filter(|link| link.contact_id == contact.id)
                .collect();
            let live: Vec<&&access_link::Model> = own
                .iter()
                .filter(|link| link.revoked_at.is_none() && link.expires_at > now)
                .collect();
            let newest_job = email_jobs
                .iter()
                .rev()
                .find(|job| contact_of(job) == Some(contact.id));
            let pending = newest_job.filter(|job| job.status != jobs::STATUS_DONE);
            ContactAccess {
                email_status: newest_job.map(|job| job.status.clone()),
                email_error: pending.and_then(|job| job.last_error.clone()),
                email_next_attempt_at: pending
                    .filter(|job| job.status == jobs::STATUS_QUEUED && job.attempts > 0)
                    .map(|job| job.run_at),
                contact_id: ContactId(contact.id),
                name: contact.name,
                email: contact.email,
                links_sent: own.len(),
                live_links: live.len(),
                last_sent_at: own.last().map(|link| link.created_at),
                expires_at: live.last().map(|link| link.expires_at),
            }
        })
        .collect())
}

/// Everything a vendor page needs about the link it was opened with.
#[derive(Clone, Debug)]
pub struct LinkAccess {
    pub link: access_link::Model,
    pub assessment: assessment::Model,
    pub contact: vendor_contact::Model,
    pub vendor_name: String,
    pub tenant_name: String,
}

impl LinkAccess {
    pub fn tenant(&self) -> TenantId {
        TenantId(self.assessment.tenant_id)
    }

    pub fn assessment_id(&self) -> AssessmentId {
        AssessmentId(self.assessment.id)
    }

    pub fn actor(&self) -> Actor {
        Actor::Contact {
            id: ContactId(self.contact.id),
            name: self.contact.name.clone(),
        }
    }
}

/// The result of looking a link up.
pub enum LinkLookup {
    Valid(Box<LinkAccess>),
    /// The link exists but expired or was revoked; the page names the organization to ask.
    Expired(Box<LinkAccess>),
    Unknown,
}

/// Looks a link up by its secret. Reading changes nothing, so that mail scanners opening the
/// link do not use it up.
///
/// # Errors
/// Fails when the query fails.
pub async fn find_link(
    conn: &impl ConnectionTrait,
    secret: &str,
    now: DateTime<Utc>,
) -> Result<LinkLookup, sea_orm::DbErr> {
    let Some(link) = access_link::Entity::find()
        .filter(access_link::Column::TokenHash.eq(token::hash(secret)))
        .one(conn)
        .await?
    else {
        return Ok(LinkLookup::Unknown);
    };
    let tenant_id = link.tenant_id;
    let Some(assessment) = assessment::Entity::find_by_id(link.assessment_id)
        .filter(assessment::Column::TenantId.eq(tenant_id))
        .one(conn)
        .await?
    else {
        return Ok(LinkLookup::Unknown);
    };
    let Some(contact) = vendor_contact::Entity::find_by_id(link.contact_id)
        .filter(vendor_contact::Column::TenantId.eq(tenant_id))
        .one(conn)
        .await?
    else {
        return Ok(LinkLookup::Unknown);
    };
    let vendor_name = vendor::Entity::find_by_id(assessment.vendor_id)
        .one(conn)
        .await?
        .map(|vendor| vendor.name)
        .unwrap_or_default();
    let tenant_name = tenant::Entity::find_by_id(tenant_id)
        .one(conn)
        .await?
        .map(|tenant| tenant.name)
        .unwrap_or_default();
    let expired = link.revoked_at.is_some() || link.expires_at <= now;
    let access = Box::new(LinkAccess {
        link,
        assessment,
        contact,
        vendor_name,
        tenant_name,
    });
    Ok(if expired {
        LinkLookup::Expired(access)
    } else {
        LinkLookup::Valid(access)
    })
}

/// Records that the vendor did something (saved, uploaded, submitted), for "last vendor
/// activity".
///
/// # Errors
/// Fails when the update fails.
pub async fn touch_vendor_activity(
    conn: &impl ConnectionTrait,
    id: AssessmentId,
    now: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    assessment::Entity::update_many()
        .col_expr(
            assessment::Column::LastVendorActivityAt,
            Expr::value(Some(now)),
        )
        .filter(assessment::Column::Id.eq(id.0))
        .exec(conn)
        .await?;
    Ok(())
}

/// How to start an assessment.
pub struct Start<'a> {
    pub vendor: &'a crate::store::vendors::Vendor,
    pub entry: &'a crate::store::questionnaires::LibraryEntry,
    pub due_on: NaiveDate,
    /// Contacts to send to; every contact of the vendor when empty.
    pub contacts: &'a [ContactId],
    pub requested_by: Option<UserId>,
    pub reason: &'a str,
    pub reason_note: Option<&'a str>,
    /// Send at once, or keep as a draft that waits for procurement's approval.
    pub send: bool,
}

/// Starts an assessment in the caller's transaction: pins the questionnaire version, creates the
/// assessment (sent or draft), carries forward the answers of the vendor's last completed
/// assessment of the same questionnaire, and clears the vendor's next review date until this one
/// completes.
///
/// # Errors
/// [`StoreError::Conflict`] when the vendor has no usable contact.
pub async fn start(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    start: Start<'_>,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<AssessmentId, StoreError> {
    let (questionnaire_id, questionnaire) =
        crate::store::questionnaires::pin(conn, tenant, start.entry, now).await?;
    let previous = last_completed(conn, tenant, start.vendor.id)
        .await?
        .filter(|previous| previous.questionnaire_key == questionnaire.key);
    let id = create(
        conn,
        tenant,
        NewAssessment {
            vendor: start.vendor.id,
            questionnaire: questionnaire_id,
            questionnaire_key: &questionnaire.key,
            questionnaire_version: questionnaire.version,
            contacts: start.contacts,
            due_on: start.due_on,
            requested_by: start.requested_by,
            reason: start.reason,
            reason_note: start.reason_note,
            previous: previous.as_ref().map(|previous| AssessmentId(previous.id)),
            send: start.send,
        },
        actor,
        now,
    )
    .await?;
    if let Some(previous) = &previous {
        answers::carry_forward(
            conn,
            tenant,
            AssessmentId(previous.id),
            id,
            &questionnaire,
            now,
        )
        .await?;
    }
    crate::store::vendors::set_next_review(conn, tenant, start.vendor.id, None).await?;
    Ok(id)
}
