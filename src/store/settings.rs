//! Per-tenant schedule settings; a tenant without a row uses the defaults.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, EntityTrait, Set};

use super::StoreError;
use super::entities::tenant_setting;
use crate::domain::schedule::ScheduleSettings;
use crate::ids::TenantId;

fn from_row(row: tenant_setting::Model) -> Result<ScheduleSettings, StoreError> {
    let time_zone = row.time_zone.parse().map_err(|_| {
        StoreError::Corrupt(format!(
            "tenant_settings.time_zone {:?} is not an IANA time zone",
            row.time_zone
        ))
    })?;
    let number = |value: i32| u32::try_from(value).unwrap_or(0);
    let reminder_days = row
        .reminder_days
        .split(',')
        .filter(|part| !part.trim().is_empty())
        .map(|part| part.trim().parse::<u32>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| {
            StoreError::Corrupt(format!(
                "tenant_settings.reminder_days {:?}",
                row.reminder_days
            ))
        })?;
    Ok(ScheduleSettings {
        time_zone,
        send_hour: number(row.send_hour),
        reminder_days,
        overdue_interval_days: number(row.overdue_interval_days),
        overdue_max: number(row.overdue_max),
        expire_after_days: number(row.expire_after_days),
        due_in_days: number(row.due_in_days),
        cadence_months: [
            number(row.cadence_critical),
            number(row.cadence_high),
            number(row.cadence_moderate),
            number(row.cadence_low),
        ],
        questionnaires: [
            row.questionnaire_critical,
            row.questionnaire_high,
            row.questionnaire_moderate,
            row.questionnaire_low,
        ],
        approval_required: row.approval_required,
        renewal_lead_days: number(row.renewal_lead_days),
        evidence_warning_days: number(row.evidence_warning_days),
    })
}

/// Loads a tenant's settings, or the defaults.
///
/// # Errors
/// Fails when the query fails or a stored value no longer parses.
pub async fn load(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
) -> Result<ScheduleSettings, StoreError> {
    match tenant_setting::Entity::find_by_id(tenant.0)
        .one(conn)
        .await?
    {
        Some(row) => from_row(row),
        None => Ok(ScheduleSettings::default()),
    }
}

/// Stores a tenant's settings, replacing earlier ones.
///
/// # Errors
/// Fails when the write fails.
pub async fn save(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    settings: &ScheduleSettings,
    now: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    let number = |value: u32| i32::try_from(value).unwrap_or(i32::MAX);
    let reminder_days: Vec<String> = settings.reminder_days.iter().map(u32::to_string).collect();
    let [
        cadence_critical,
        cadence_high,
        cadence_moderate,
        cadence_low,
    ] = settings.cadence_months;
    let [
        questionnaire_critical,
        questionnaire_high,
        questionnaire_moderate,
        questionnaire_low,
    ] = settings.questionnaires.clone();
    let model = tenant_setting::ActiveModel {
        tenant_id: Set(tenant.0),
        time_zone: Set(settings.time_zone.name().to_owned()),
        send_hour: Set(number(settings.send_hour)),
        reminder_days: Set(reminder_days.join(",")),
        overdue_interval_days: Set(number(settings.overdue_interval_days)),
        overdue_max: Set(number(settings.overdue_max)),
        expire_after_days: Set(number(settings.expire_after_days)),
        due_in_days: Set(number(settings.due_in_days)),
        cadence_critical: Set(number(cadence_critical)),
        cadence_high: Set(number(cadence_high)),
        cadence_moderate: Set(number(cadence_moderate)),
        cadence_low: Set(number(cadence_low)),
        questionnaire_critical: Set(questionnaire_critical),
        questionnaire_high: Set(questionnaire_high),
        questionnaire_moderate: Set(questionnaire_moderate),
        questionnaire_low: Set(questionnaire_low),
        approval_required: Set(settings.approval_required),
        renewal_lead_days: Set(number(settings.renewal_lead_days)),
        evidence_warning_days: Set(number(settings.evidence_warning_days)),
        updated_at: Set(now),
    };
    let columns = [
        tenant_setting::Column::TimeZone,
        tenant_setting::Column::SendHour,
        tenant_setting::Column::ReminderDays,
        tenant_setting::Column::OverdueIntervalDays,
        tenant_setting::Column::OverdueMax,
        tenant_setting::Column::ExpireAfterDays,
        tenant_setting::Column::DueInDays,
        tenant_setting::Column::CadenceCritical,
        tenant_setting::Column::CadenceHigh,
        tenant_setting::Column::CadenceModerate,
        tenant_setting::Column::CadenceLow,
        tenant_setting::Column::QuestionnaireCritical,
        tenant_setting::Column::QuestionnaireHigh,
        tenant_setting::Column::QuestionnaireModerate,
        tenant_setting::Column::QuestionnaireLow,
        tenant_setting::Column::ApprovalRequired,
        tenant_setting::Column::RenewalLeadDays,
        tenant_setting::Column::EvidenceWarningDays,
        tenant_setting::Column::UpdatedAt,
    ];
    tenant_setting::Entity::insert(model)
        .on_conflict(
            OnConflict::column(tenant_setting::Column::TenantId)
                .update_columns(columns)
                .to_owned(),
        )
        .exec(conn)
        .await?;
    Ok(())
}
