//! The schedule. A sweep finds, for each tenant, what has fallen due (reassessments, reminders,
//! escalations, expiries and notices about expiring documents) and queues each as a job under a
//! unique key; the worker then does the work. The cron trigger and `portal jobs run-due` only run
//! sweeps, so a sweep that runs twice, on two instances at once or again after a crash queues
//! nothing twice.

use anyhow::Context;
use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect, TransactionTrait};
use serde::Serialize;
use uuid::Uuid;

use crate::app::AppState;
use crate::domain::lifecycle::{Action, Status};
use crate::domain::role::Role;
use crate::domain::schedule::{
    REASON_CYCLE, REASON_EVIDENCE, REASON_RENEWAL, ScheduleSettings, SlotKind,
};
use crate::ids::{AssessmentId, TenantId, VendorId};
use crate::store::assessments::{self, JOB_STAFF_EMAIL, JOB_VENDOR_EMAIL};
use crate::store::audit::Actor;
use crate::store::entities::{access_link, job, vendor};
use crate::store::jobs::{self, NewJob};
use crate::store::{self, Db, questionnaires, schedule, settings, vendors};

/// Job kind that starts a scheduled or off-cycle assessment of a vendor.
pub const JOB_START_ASSESSMENT: &str = "start_assessment";
/// Job kind that expires an assessment the vendor did not submit in time.
pub const JOB_EXPIRE_ASSESSMENT: &str = "expire_assessment";
/// Job kind that e-mails a vendor contact about a document, without a link.
pub const JOB_VENDOR_NOTICE: &str = "vendor_notice";

/// Days after an assessment expired unanswered at which the vendor's next one starts.
pub const RETRY_AFTER_EXPIRY_DAYS: i64 = 30;

/// How far back a sweep looks for documents that expired, so that a portal that was stopped for
/// a while still starts their reassessments.
const EXPIRED_LOOKBACK_DAYS: i64 = 90;

/// The actor recorded for the schedule's changes.
pub fn actor() -> Actor {
    Actor::System {
        what: "Schedule".to_owned(),
    }
}

/// Counts of one sweep.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Planned {
    pub tenants: usize,
    /// Jobs the sweep found due, queued now or earlier.
    pub due: usize,
    /// Jobs this sweep queued.
    pub queued: usize,
}

/// Runs one sweep over every tenant at `now`.
///
/// # Errors
/// Fails when the database fails. A tenant whose settings no longer parse is logged and
/// skipped, so that it does not stop the others.
pub async fn plan(db: &Db, now: DateTime<Utc>) -> anyhow::Result<Planned> {
    let mut planned = Planned::default();
    for tenant in store::tenants::list(db.reader()).await? {
        let tenant = TenantId(tenant.id);
        let settings = match settings::load(db.reader(), tenant).await {
            Ok(settings) => settings,
            Err(error) => {
                tracing::error!(tenant_id = %tenant, error = %error, "schedule settings do not load; tenant skipped");
                continue;
            }
        };
        let due = plan_tenant(db, tenant, &settings, now)
            .await
            .with_context(|| format!("Failed to plan the schedule of tenant {tenant}"))?;
        planned.tenants += 1;
        planned.due += due.len();
        let keys: Vec<String> = due.iter().map(|job| job.unique_key.clone()).collect();
        let existing = schedule::existing_job_keys(db.reader(), &keys).await?;
        let new: Vec<NewJob<'static>> = due
            .into_iter()
            .filter(|job| !existing.contains(&job.unique_key))
            .collect();
        if new.is_empty() {
            continue;
        }
        // One transaction per tenant: on SQLite a commit per batch would dominate the sweep.
        let txn = db.writer().begin().await?;
        let stored = jobs::enqueue_many(&txn, new, now).await?;
        planned.queued += usize::try_from(stored).unwrap_or(usize::MAX);
        txn.commit().await?;
    }
    Ok(planned)
}

fn start_job(
    tenant: TenantId,
    vendor: Uuid,
    reason: &str,
    key: String,
    note: Option<String>,
    run_at: DateTime<Utc>,
) -> NewJob<'static> {
    NewJob {
        tenant: Some(tenant),
        kind: JOB_START_ASSESSMENT,
        unique_key: format!("vendor:{vendor}:{key}"),
        payload: serde_json::json!({ "vendor_id": vendor, "reason": reason, "reason_note": note }),
        run_at,
    }
}

fn staff_job(
    tenant: TenantId,
    key: String,
    assessment: Uuid,
    user: Uuid,
    template: &str,
    extra: serde_json::Value,
    run_at: DateTime<Utc>,
) -> NewJob<'static> {
    let mut payload =
        serde_json::json!({ "assessment_id": assessment, "user_id": user, "template": template });
    if let (Some(payload), serde_json::Value::Object(extra)) = (payload.as_object_mut(), extra) {
        payload.extend(extra);
    }
    NewJob {
        tenant: Some(tenant),
        kind: JOB_STAFF_EMAIL,
        unique_key: key,
        payload,
        run_at,
    }
}

/// Lists the jobs that are due for one tenant at `now`, whether or not they were queued before.
async fn plan_tenant(
    db: &Db,
    tenant: TenantId,
    settings: &ScheduleSettings,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<NewJob<'static>>> {
    let conn = db.reader();
    let today = settings.today(now);
    let days = |count: u32| TimeDelta::days(i64::from(count));
    let mut due = Vec::new();

    // Scheduled reassessments.
    for (vendor, on) in schedule::vendors_due(conn, tenant, today).await? {
        let at = settings.send_time(on);
        if at <= now {
            due.push(start_job(
                tenant,
                vendor,
                REASON_CYCLE,
                format!("cycle:{on}"),
                None,
                at,
            ));
        }
    }

    // Contract renewals.
    let lead = days(settings.renewal_lead_days);
    for (vendor, renewal) in schedule::vendors_renewing(conn, tenant, today, today + lead).await? {
        let at = settings.send_time(renewal - lead);
        if at <= now {
            due.push(start_job(
                tenant,
                vendor,
                REASON_RENEWAL,
                format!("renewal:{renewal}"),
                Some(format!("The contract renews on {renewal}.")),
                at,
            ));
        }
    }

    // Key documents that expired: an off-cycle reassessment asks for new ones.
    let expired = schedule::documents_expiring(
        conn,
        tenant,
        today - TimeDelta::days(EXPIRED_LOOKBACK_DAYS),
        today - TimeDelta::days(1),
    )
    .await?;
    for document in expired {
        let Some(expires_on) = document.evidence.expires_on else {
            continue;
        };
        let at = settings.send_time(expires_on + TimeDelta::days(1));
        if at <= now {
            let note = format!("{} expired on {expires_on}.", document.evidence.file_name);
            due.push(start_job(
                tenant,
                document.vendor_id,
                REASON_EVIDENCE,
                format!("evidence-expired:{}", document.evidence.id),
                Some(note),
                at,
            ));
        }
    }

    // Documents that expire soon: the vendor is asked for a new one and the analysts are told.
    let expiring = schedule::documents_expiring(
        conn,
        tenant,
        today,
        today + days(settings.evidence_warning_days),
    )
    .await?;
    if !expiring.is_empty() {
        let vendor_ids: Vec<Uuid> = expiring.iter().map(|document| document.vendor_id).collect();
        let contacts = schedule::vendor_contacts(conn, tenant, &vendor_ids).await?;
        let analysts = schedule::notice_recipients(conn, tenant, &[], &[Role::Analyst]).await?;
        for document in &expiring {
            let Some(expires_on) = document.evidence.expires_on else {
                continue;
            };
            let at = settings.send_time(expires_on - days(settings.evidence_warning_days));
            if at > now {
                continue;
            }
            let evidence = document.evidence.id;
            for contact in contacts.get(&document.vendor_id).into_iter().flatten() {
                due.push(NewJob {
                    tenant: Some(tenant),
                    kind: JOB_VENDOR_NOTICE,
                    unique_key: format!("evidence:{evidence}:expiring:{expires_on}:{contact}"),
                    payload: serde_json::json!({ "evidence_id": evidence, "contact_id": contact, "template": "evidence_expiring" }),
                    run_at: at,
                });
            }
            for user in &analysts {
                due.push(staff_job(
                    tenant,
                    format!("evidence:{evidence}:expiring-staff:{expires_on}:{user}"),
                    document.evidence.assessment_id,
                    *user,
                    "evidence_expiring_staff",
                    serde_json::json!({ "evidence_id": evidence }),
                    at,
                ));
            }
        }
    }

    // Reminders, overdue reminders, escalations and expiries of assessments waiting on vendors.
    let earliest_reminder = settings.reminder_days.iter().copied().max().unwrap_or(0);
    let open = schedule::awaiting_vendor(conn, tenant, today + days(earliest_reminder)).await?;
    let mut reminders = Vec::new();
    let mut escalations = Vec::new();
    for assessment in &open {
        for slot in settings.slots(assessment.due_on) {
            if slot.at > now || slot.is_stale(now) || slot.before_sending(assessment.sent_at) {
                continue;
            }
            match slot.kind {
                SlotKind::BeforeDue(_) | SlotKind::Overdue(_) => reminders.push((assessment, slot)),
                SlotKind::Escalation => escalations.push((assessment, slot)),
                SlotKind::Expiry => due.push(NewJob {
                    tenant: Some(tenant),
                    kind: JOB_EXPIRE_ASSESSMENT,
                    unique_key: format!(
                        "assessment:{}:expiry:{}",
                        assessment.id, assessment.due_on
                    ),
                    payload: serde_json::json!({ "assessment_id": assessment.id }),
                    run_at: slot.at,
                }),
            }
        }
    }
    if !reminders.is_empty() {
        let ids: Vec<Uuid> = reminders
            .iter()
            .map(|(assessment, _)| assessment.id)
            .collect();
        let recipients = schedule::recipients(conn, tenant, &ids).await?;
        for (assessment, slot) in reminders {
            let template = if matches!(slot.kind, SlotKind::Overdue(_)) {
                "assessment_overdue"
            } else {
                "assessment_reminder"
            };
            for contact in recipients.get(&assessment.id).into_iter().flatten() {
                due.push(NewJob {
                    tenant: Some(tenant),
                    kind: JOB_VENDOR_EMAIL,
                    unique_key: format!("assessment:{}:{}:{}:{contact}", assessment.id, slot.key(), assessment.due_on),
                    payload: serde_json::json!({ "assessment_id": assessment.id, "contact_id": contact, "template": template }),
                    run_at: slot.at,
                });
            }
        }
    }
    for (assessment, slot) in escalations {
        let owner: Option<Option<Uuid>> = vendor::Entity::find_by_id(assessment.vendor_id)
            .select_only()
            .column(vendor::Column::OwnerUserId)
            .filter(vendor::Column::TenantId.eq(tenant.0))
            .into_tuple()
            .one(conn)
            .await?;
        let recipients = schedule::notice_recipients(
            conn,
            tenant,
            &[owner.flatten(), assessment.requested_by_user_id],
            &[Role::Procurement],
        )
        .await?;
        for user in recipients {
            due.push(staff_job(
                tenant,
                format!(
                    "assessment:{}:escalation:{}:{user}",
                    assessment.id, assessment.due_on
                ),
                assessment.id,
                user,
                "assessment_escalation",
                serde_json::json!({}),
                slot.at,
            ));
        }
    }
    Ok(due)
}

fn payload_uuid(job: &job::Model, field: &str) -> anyhow::Result<Uuid> {
    job.payload[field]
        .as_str()
        .and_then(|value| value.parse().ok())
        .with_context(|| format!("job {} has no valid {field}", job.id))
}

/// Starts an assessment of a vendor: on its cycle, before a contract renewal, after a key
/// document expired. Does nothing when the vendor is archived or already has an open
/// assessment. Sends at once, or keeps a draft for procurement's approval when the tenant asks
/// for it.
///
/// # Errors
/// Fails when the vendor has no contact or the tier's questionnaire is not in the library; the
/// message names the fix, and the job can be retried from the jobs page.
pub async fn start_assessment(state: &AppState, job: &job::Model) -> anyhow::Result<()> {
    let tenant = TenantId(job.tenant_id.context("a start job has no tenant")?);
    let vendor_id = VendorId(payload_uuid(job, "vendor_id")?);
    let reason = job.payload["reason"]
        .as_str()
        .unwrap_or(REASON_CYCLE)
        .to_owned();
    let note = job.payload["reason_note"].as_str().map(str::to_owned);
    let now = state.clock().now();
    let txn = state.db().writer().begin().await?;
    let Some(vendor) = vendors::get(&txn, tenant, vendor_id).await? else {
        tracing::info!(job_id = %job.id, "the vendor no longer exists; no assessment started");
        return Ok(());
    };
    if vendor.is_archived() {
        tracing::info!(job_id = %job.id, vendor_id = %vendor_id, "the vendor is archived; no assessment started");
        return Ok(());
    }
    if assessments::has_open(&txn, tenant, vendor_id).await? {
        tracing::info!(job_id = %job.id, vendor_id = %vendor_id, reason, "the vendor has an open assessment already; no second one started");
        return Ok(());
    }
    let settings = settings::load(&txn, tenant).await?;
    if reason == REASON_RENEWAL
        && let Some(last) = assessments::last_completed(&txn, tenant, vendor_id).await?
        && last
            .completed_at
            .is_some_and(|at| now - at < TimeDelta::days(i64::from(settings.renewal_lead_days)))
    {
        tracing::info!(job_id = %job.id, vendor_id = %vendor_id, "an assessment completed within the renewal lead time covers the renewal");
        return Ok(());
    }
    let key = settings.questionnaire(vendor.tier);
    let entry = questionnaires::find(&txn, tenant, key, None).await?.with_context(|| {
        format!(
            "The questionnaire {key:?} set for {} vendors is not in the library; choose another on the schedule settings page, then retry this job.",
            vendor.tier.label()
        )
    })?;
    if vendors::contacts(&txn, tenant, vendor_id).await?.is_empty() {
        anyhow::bail!(
            "{} has no contact to send the assessment to; add a contact on the vendor page, then retry this job.",
            vendor.name
        );
    }
    let due_on = settings.today(now) + TimeDelta::days(i64::from(settings.due_in_days));
    let send = !settings.approval_required;
    let id = assessments::start(
        &txn,
        tenant,
        assessments::Start {
            vendor: &vendor,
            entry: &entry,
            due_on,
            contacts: &[],
            requested_by: None,
            reason: &reason,
            reason_note: note.as_deref(),
            send,
        },
        &actor(),
        now,
    )
    .await
    .map_err(|error| anyhow::anyhow!("{error}"))?;
    if !send {
        let procurement =
            schedule::notice_recipients(&txn, tenant, &[], &[Role::Procurement]).await?;
        for user in procurement {
            jobs::enqueue(
                &txn,
                staff_job(
                    tenant,
                    format!("assessment:{id}:approval:{user}"),
                    id.0,
                    user,
                    "assessment_approval_needed",
                    serde_json::json!({}),
                    now,
                ),
                now,
            )
            .await?;
        }
    }
    txn.commit().await?;
    state.wake_worker();
    tracing::info!(job_id = %job.id, vendor_id = %vendor_id, assessment_id = %id, reason, sent = send, "assessment started by the schedule");
    Ok(())
}

/// Expires an assessment that the vendor did not submit in time, revokes its links and schedules
/// the vendor's next assessment [`RETRY_AFTER_EXPIRY_DAYS`] later.
///
/// # Errors
/// Fails when the database fails.
pub async fn expire_assessment(state: &AppState, job: &job::Model) -> anyhow::Result<()> {
    let tenant = TenantId(job.tenant_id.context("an expiry job has no tenant")?);
    let id = AssessmentId(payload_uuid(job, "assessment_id")?);
    let now = state.clock().now();
    let txn = state.db().writer().begin().await?;
    let Some(row) = assessments::find_row(&txn, tenant, id).await? else {
        return Ok(());
    };
    let status = assessments::status_of(&row)?;
    if !matches!(status, Status::Sent | Status::InProgress) {
        tracing::info!(job_id = %job.id, assessment_id = %id, status = status.as_str(), "the assessment is no longer waiting on the vendor; not expired");
        return Ok(());
    }
    let settings = settings::load(&txn, tenant).await?;
    let note = format!(
        "Not submitted within {} days after the due date {}.",
        settings.expire_after_days, row.due_on
    );
    assessments::transition(
        &txn,
        tenant,
        &row,
        Action::Expire,
        &actor(),
        Some(&note),
        now,
    )
    .await
    .map_err(|error| anyhow::anyhow!("{error}"))?;
    access_link::Entity::update_many()
        .col_expr(
            access_link::Column::RevokedAt,
            sea_orm::sea_query::Expr::value(Some(now)),
        )
        .filter(access_link::Column::TenantId.eq(tenant.0))
        .filter(access_link::Column::AssessmentId.eq(id.0))
        .filter(access_link::Column::RevokedAt.is_null())
        .exec(&txn)
        .await?;
    let vendor_id = VendorId(row.vendor_id);
    if !assessments::has_open(&txn, tenant, vendor_id).await? {
        let next = settings.today(now) + TimeDelta::days(RETRY_AFTER_EXPIRY_DAYS);
        vendors::set_next_review(&txn, tenant, vendor_id, Some(next)).await?;
    }
    txn.commit().await?;
    tracing::info!(job_id = %job.id, assessment_id = %id, "assessment expired");
    Ok(())
}

/// Checks a cron expression of the schedule sweep.
///
/// # Errors
/// Names the expression and its expected form.
pub fn check_cron(expression: &str) -> anyhow::Result<()> {
    tokio_cron_scheduler::Job::new_async(expression, |_, _| Box::pin(async {}))
        .map(|_| ())
        .map_err(|error| anyhow::anyhow!("PORTAL_SCHEDULE {expression:?} is not a cron expression ({error}); write six fields starting with seconds, such as \"0 */15 * * * *\", or \"off\""))
}

/// Starts the cron trigger of the schedule sweep. Each tick only queues jobs and wakes the
/// worker. Returns the running scheduler, to shut down with the server.
///
/// # Errors
/// Fails when the expression does not parse or the scheduler does not start.
pub async fn start_cron(
    state: AppState,
    expression: &str,
) -> anyhow::Result<tokio_cron_scheduler::JobScheduler> {
    let scheduler = tokio_cron_scheduler::JobScheduler::new()
        .await
        .context("Failed to create the schedule")?;
    let job = tokio_cron_scheduler::Job::new_async(expression, move |_, _| {
        let state = state.clone();
        Box::pin(async move { sweep_and_wake(&state).await })
    })
    .map_err(|error| anyhow::anyhow!("PORTAL_SCHEDULE {expression:?}: {error}"))?;
    scheduler
        .add(job)
        .await
        .context("Failed to add the schedule sweep")?;
    scheduler
        .start()
        .await
        .context("Failed to start the schedule")?;
    Ok(scheduler)
}

/// Runs one sweep, logs it and wakes the worker when it queued anything.
pub async fn sweep_and_wake(state: &AppState) {
    let started = std::time::Instant::now();
    match plan(state.db(), state.clock().now()).await {
        Ok(planned) => {
            tracing::info!(
                tenants = planned.tenants,
                due = planned.due,
                queued = planned.queued,
                duration_ms = started.elapsed().as_millis() as u64,
                "schedule sweep finished"
            );
            if planned.queued > 0 {
                state.wake_worker();
            }
        }
        Err(error) => tracing::error!(
            error = format!("{error:#}"),
            "schedule sweep failed; the next one tries again"
        ),
    }
}

/// One step of an assessment's schedule as its page shows it.
#[derive(Clone, Debug, Serialize)]
pub struct ScheduleEntry {
    pub label: String,
    /// The local date in the tenant's time zone.
    pub date: chrono::NaiveDate,
    pub at: DateTime<Utc>,
    /// `planned`, `queued`, `sent`, `failed`, `missed` or `not_needed`.
    pub state: &'static str,
    /// E-mails sent or queued for this step.
    pub messages: usize,
    pub error: Option<String>,
}

/// Lists an assessment's reminders, overdue reminders, escalation and expiry with what happened
/// to each, from the job table.
///
/// # Errors
/// Fails when the query fails.
pub async fn assessment_schedule(
    conn: &impl sea_orm::ConnectionTrait,
    tenant: TenantId,
    row: &crate::store::entities::assessment::Model,
    settings: &ScheduleSettings,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<ScheduleEntry>> {
    let status = assessments::status_of(row)?;
    let waiting = matches!(status, Status::Sent | Status::InProgress);
    let planned = status == Status::Draft;
    let queued = jobs::list_by_key_prefix(conn, tenant, &format!("assessment:{}:", row.id)).await?;
    Ok(settings
        .slots(row.due_on)
        .into_iter()
        .map(|slot| {
            let prefix = format!("assessment:{}:{}:{}", row.id, slot.key(), row.due_on);
            let own: Vec<&job::Model> = queued
                .iter()
                .filter(|job| job.unique_key.starts_with(&prefix))
                .collect();
            let failed = own.iter().find(|job| job.status == jobs::STATUS_FAILED);
            let state = if failed.is_some() {
                "failed"
            } else if !own.is_empty() && own.iter().all(|job| job.status == jobs::STATUS_DONE) {
                "sent"
            } else if !own.is_empty() {
                "queued"
            } else if !(waiting || planned) || slot.before_sending(row.sent_at) {
                "not_needed"
            } else if slot.at > now {
                "planned"
            } else if slot.is_stale(now) {
                "missed"
            } else {
                "queued"
            };
            ScheduleEntry {
                label: slot.label(),
                date: slot.date,
                at: slot.at,
                state,
                messages: own.len(),
                error: failed.and_then(|job| job.last_error.clone()),
            }
        })
        .collect())
}
