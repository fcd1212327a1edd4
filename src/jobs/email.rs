//! E-mail jobs. A vendor e-mail creates a fresh personal link when it is sent, so that the link's
//! secret exists only in the message; the job payload holds ids, never secrets.

use anyhow::Context;
use lettre::message::Mailbox;
use minijinja::context;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::app::AppState;
use crate::domain::lifecycle::Status;
use crate::ids::{AssessmentId, ContactId, TenantId};
use crate::store::assessments::{self, review};
use crate::store::entities::{assessment, evidence, job, tenant, user, vendor, vendor_contact};

fn payload_id(job: &job::Model, field: &str) -> anyhow::Result<Uuid> {
    job.payload[field]
        .as_str()
        .and_then(|value| value.parse().ok())
        .with_context(|| format!("job {} has no valid {field}", job.id))
}

fn mailbox(name: &str, address: &str) -> anyhow::Result<Mailbox> {
    let address = address
        .parse()
        .with_context(|| "a stored e-mail address does not parse")?;
    Ok(Mailbox::new(Some(name.to_owned()), address))
}

/// Templates of e-mails that only make sense while the vendor has not submitted.
fn is_reminder(template: &str) -> bool {
    matches!(
        template,
        "assessment_reminder" | "assessment_overdue" | "assessment_escalation"
    )
}

fn waits_for_submission(status: Status) -> bool {
    matches!(status, Status::Sent | Status::InProgress)
}

struct Loaded {
    tenant: TenantId,
    assessment: assessment::Model,
    tenant_name: String,
    vendor_name: String,
    questionnaire_title: String,
}

async fn load(state: &AppState, job: &job::Model) -> anyhow::Result<Loaded> {
    let tenant = TenantId(job.tenant_id.context("an assessment job has no tenant")?);
    let id = AssessmentId(payload_id(job, "assessment_id")?);
    let db = state.db().reader();
    let assessment = assessments::find_row(db, tenant, id)
        .await?
        .context("the assessment no longer exists")?;
    let tenant_name = tenant::Entity::find_by_id(tenant.0)
        .one(db)
        .await?
        .map(|row| row.name)
        .unwrap_or_default();
    let vendor_name = vendor::Entity::find_by_id(assessment.vendor_id)
        .filter(vendor::Column::TenantId.eq(tenant.0))
        .one(db)
        .await?
        .map(|row| row.name)
        .unwrap_or_default();
    let questionnaire = state
        .questionnaire(
            tenant,
            crate::ids::QuestionnaireId(assessment.questionnaire_id),
        )
        .await
        .map_err(|error| anyhow::anyhow!("failed to load the questionnaire: {error}"))?;
    Ok(Loaded {
        tenant,
        assessment,
        tenant_name,
        vendor_name,
        questionnaire_title: questionnaire.title.clone(),
    })
}

/// Sends a vendor contact an e-mail with a new personal link.
pub async fn send_vendor_email(state: &AppState, job: &job::Model) -> anyhow::Result<()> {
    let loaded = load(state, job).await?;
    let status: Status = loaded
        .assessment
        .status
        .parse()
        .map_err(anyhow::Error::msg)?;
    if status.is_closed() {
        tracing::info!(job_id = %job.id, status = status.as_str(), "assessment is closed; e-mail not sent");
        return Ok(());
    }
    let template = job.payload["template"]
        .as_str()
        .unwrap_or("assessment_invitation");
    if is_reminder(template) && !waits_for_submission(status) {
        tracing::info!(job_id = %job.id, status = status.as_str(), template, "the vendor submitted meanwhile; reminder not sent");
        return Ok(());
    }
    let contact_id = ContactId(payload_id(job, "contact_id")?);
    let contact = vendor_contact::Entity::find_by_id(contact_id.0)
        .filter(vendor_contact::Column::TenantId.eq(loaded.tenant.0))
        .one(state.db().reader())
        .await?
        .context("the contact no longer exists")?;

    let clarifications: Vec<String> = if template == "clarification_request" {
        review::clarifications(
            state.db().reader(),
            loaded.tenant,
            AssessmentId(loaded.assessment.id),
        )
        .await?
        .into_iter()
        .filter(|item| item.response.is_none() && item.sent_at.is_some())
        .map(|item| item.request)
        .collect()
    } else {
        Vec::new()
    };

    let now = state.clock().now();
    let settings = crate::store::settings::load(state.db().reader(), loaded.tenant).await?;
    let expires_at = settings.expiry(loaded.assessment.due_on);
    let (link_id, secret) = assessments::create_link(
        state.db().writer(),
        loaded.tenant,
        &loaded.assessment,
        contact_id,
        expires_at,
        now,
    )
    .await?;
    let link = state.config().link(&format!("/a/{secret}"));
    let content = state
        .templates()
        .render_email(
            template,
            context! {
                tenant_name => loaded.tenant_name,
                vendor_name => loaded.vendor_name,
                contact_name => contact.name,
                questionnaire_title => loaded.questionnaire_title,
                due_on => loaded.assessment.due_on,
                link => link,
                link_expires_on => (expires_at.with_timezone(&settings.time_zone) - chrono::TimeDelta::seconds(1)).date_naive(),
                days_left => (loaded.assessment.due_on - settings.today(now)).num_days(),
                days_overdue => (settings.today(now) - loaded.assessment.due_on).num_days(),
                clarifications => clarifications,
                carried_over => loaded.assessment.previous_assessment_id.is_some(),
            },
        )
        .with_context(|| format!("Failed to render the {template} e-mail"))?;
    let to = mailbox(&contact.name, &contact.email)?;
    // The same Message-ID on every attempt lets a message sent twice after a crash be told apart.
    let message_id = Some(format!("<job-{}@vendor-risk-portal>", job.id));
    if let Err(error) = state
        .mailer()
        .send_with_id(
            &state.config().mail_from,
            to,
            content,
            message_id,
            Some(now),
        )
        .await
    {
        // The link's secret was never delivered, so it must not stay usable.
        assessments::revoke_link(state.db().writer(), link_id, now).await?;
        return Err(error);
    }
    tracing::info!(job_id = %job.id, assessment_id = %loaded.assessment.id, contact_id = %contact_id, template, "vendor e-mail sent");
    Ok(())
}

/// Sends a staff member an e-mail about an assessment.
pub async fn send_staff_email(state: &AppState, job: &job::Model) -> anyhow::Result<()> {
    let loaded = load(state, job).await?;
    let user_id = payload_id(job, "user_id")?;
    let Some(member) = user::Entity::find_by_id(user_id)
        .filter(user::Column::TenantId.eq(loaded.tenant.0))
        .one(state.db().reader())
        .await?
    else {
        tracing::info!(job_id = %job.id, "the staff member no longer exists; e-mail not sent");
        return Ok(());
    };
    let template = job.payload["template"]
        .as_str()
        .unwrap_or("assessment_submitted");
    let status: Status = loaded
        .assessment
        .status
        .parse()
        .map_err(anyhow::Error::msg)?;
    if is_reminder(template) && !waits_for_submission(status) {
        tracing::info!(job_id = %job.id, status = status.as_str(), template, "the vendor submitted meanwhile; escalation not sent");
        return Ok(());
    }
    if template == "assessment_approval_needed" && status != Status::Draft {
        tracing::info!(job_id = %job.id, status = status.as_str(), "the assessment was sent or cancelled meanwhile; approval request not sent");
        return Ok(());
    }
    let document = match job.payload["evidence_id"]
        .as_str()
        .and_then(|id| id.parse().ok())
    {
        Some(id) => {
            evidence::Entity::find_by_id::<Uuid>(id)
                .filter(evidence::Column::TenantId.eq(loaded.tenant.0))
                .one(state.db().reader())
                .await?
        }
        None => None,
    };
    let settings = crate::store::settings::load(state.db().reader(), loaded.tenant).await?;
    let today = settings.today(state.clock().now());
    let content = state
        .templates()
        .render_email(
            template,
            context! {
                tenant_name => loaded.tenant_name,
                vendor_name => loaded.vendor_name,
                name => member.name,
                questionnaire_title => loaded.questionnaire_title,
                due_on => loaded.assessment.due_on,
                days_overdue => (today - loaded.assessment.due_on).num_days(),
                status_label => status.label(),
                reason_label => crate::domain::schedule::reason_label(&loaded.assessment.reason),
                reason_note => loaded.assessment.reason_note,
                file_name => document.as_ref().map(|file| file.file_name.clone()),
                expires_on => document.as_ref().and_then(|file| file.expires_on),
                link => state.config().link(&format!("/assessments/{}", loaded.assessment.id)),
            },
        )
        .with_context(|| format!("Failed to render the {template} e-mail"))?;
    let message_id = Some(format!("<job-{}@vendor-risk-portal>", job.id));
    state
        .mailer()
        .send_with_id(
            &state.config().mail_from,
            mailbox(&member.name, &member.email)?,
            content,
            message_id,
            Some(state.clock().now()),
        )
        .await?;
    tracing::info!(job_id = %job.id, assessment_id = %loaded.assessment.id, user_id = %user_id, template, "staff e-mail sent");
    Ok(())
}

/// Tells a vendor contact that a document of their last assessment expires soon and asks for a
/// new one. The e-mail carries no link: the reassessment that follows the expiry brings one.
pub async fn send_vendor_notice(state: &AppState, job: &job::Model) -> anyhow::Result<()> {
    let tenant = TenantId(job.tenant_id.context("a notice job has no tenant")?);
    let db = state.db().reader();
    let Some(document) = evidence::Entity::find_by_id(payload_id(job, "evidence_id")?)
        .filter(evidence::Column::TenantId.eq(tenant.0))
        .one(db)
        .await?
    else {
        tracing::info!(job_id = %job.id, "the document no longer exists; notice not sent");
        return Ok(());
    };
    let Some(contact) = vendor_contact::Entity::find_by_id(payload_id(job, "contact_id")?)
        .filter(vendor_contact::Column::TenantId.eq(tenant.0))
        .one(db)
        .await?
    else {
        tracing::info!(job_id = %job.id, "the contact no longer exists; notice not sent");
        return Ok(());
    };
    let vendor_name = vendor::Entity::find_by_id(contact.vendor_id)
        .filter(vendor::Column::TenantId.eq(tenant.0))
        .one(db)
        .await?
        .map(|row| row.name)
        .unwrap_or_default();
    let tenant_name = tenant::Entity::find_by_id(tenant.0)
        .one(db)
        .await?
        .map(|row| row.name)
        .unwrap_or_default();
    let template = job.payload["template"]
        .as_str()
        .unwrap_or("evidence_expiring");
    let content = state
        .templates()
        .render_email(
            template,
            context! {
                tenant_name => tenant_name,
                vendor_name => vendor_name,
                contact_name => contact.name,
                file_name => document.file_name,
                expires_on => document.expires_on,
            },
        )
        .with_context(|| format!("Failed to render the {template} e-mail"))?;
    let message_id = Some(format!("<job-{}@vendor-risk-portal>", job.id));
    state
        .mailer()
        .send_with_id(
            &state.config().mail_from,
            mailbox(&contact.name, &contact.email)?,
            content,
            message_id,
            Some(state.clock().now()),
        )
        .await?;
    tracing::info!(job_id = %job.id, contact_id = %contact.id, template, "vendor notice sent");
    Ok(())
}
