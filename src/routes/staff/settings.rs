//! Schedule settings: the tenant's time zone, reassessment cadence by tier, reminders,
//! escalation and expiry. The page and `GET`/`PUT /api/v1/settings/schedule` share the checks.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use minijinja::context;
use sea_orm::TransactionTrait;
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::auth::{Member, StaffForm};
use crate::domain::role::Permission;
use crate::domain::schedule::ScheduleSettings;
use crate::domain::vendor::Tier;
use crate::error::{AppError, FieldErrors};
use crate::ids::TenantId;
use crate::routes::pages::render;
use crate::store::audit::{self, Actor, Change};
use crate::store::{questionnaires, settings};

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/settings", get(settings_page).post(save_settings))
}

/// The settings form; every field is text, so that a bad value comes back as typed.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct SettingsForm {
    time_zone: String,
    send_hour: String,
    reminder_days: String,
    overdue_interval_days: String,
    overdue_max: String,
    expire_after_days: String,
    due_in_days: String,
    cadence_critical: String,
    cadence_high: String,
    cadence_moderate: String,
    cadence_low: String,
    questionnaire_critical: String,
    questionnaire_high: String,
    questionnaire_moderate: String,
    questionnaire_low: String,
    approval_required: Option<String>,
    renewal_lead_days: String,
    evidence_warning_days: String,
}

impl SettingsForm {
    fn from_settings(settings: &ScheduleSettings) -> Self {
        let [critical, high, moderate, low] =
            settings.cadence_months.map(|months| months.to_string());
        let [
            questionnaire_critical,
            questionnaire_high,
            questionnaire_moderate,
            questionnaire_low,
        ] = settings.questionnaires.clone();
        Self {
            time_zone: settings.time_zone.name().to_owned(),
            send_hour: settings.send_hour.to_string(),
            reminder_days: settings
                .reminder_days
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            overdue_interval_days: settings.overdue_interval_days.to_string(),
            overdue_max: settings.overdue_max.to_string(),
            expire_after_days: settings.expire_after_days.to_string(),
            due_in_days: settings.due_in_days.to_string(),
            cadence_critical: critical,
            cadence_high: high,
            cadence_moderate: moderate,
            cadence_low: low,
            questionnaire_critical,
            questionnaire_high,
            questionnaire_moderate,
            questionnaire_low,
            approval_required: settings.approval_required.then(|| "on".to_owned()),
            renewal_lead_days: settings.renewal_lead_days.to_string(),
            evidence_warning_days: settings.evidence_warning_days.to_string(),
        }
    }

    /// Parses the form, naming each bad field.
    fn parse(&self) -> Result<ScheduleSettings, FieldErrors> {
        let mut errors = FieldErrors::default();
        let mut number = |field: &str, label: &str, value: &str| -> u32 {
            match value.trim().parse::<u32>() {
                Ok(number) => number,
                Err(_) => {
                    errors.add(field, format!("{label}: {value:?} is not a whole number; enter digits only, such as 7."));
                    0
                }
            }
        };
        let send_hour = number("send_hour", "Send hour", &self.send_hour);
        let overdue_interval_days = number(
            "overdue_interval_days",
            "Days between overdue reminders",
            &self.overdue_interval_days,
        );
        let overdue_max = number("overdue_max", "Overdue reminders", &self.overdue_max);
        let expire_after_days = number(
            "expire_after_days",
            "Days until expiry",
            &self.expire_after_days,
        );
        let due_in_days = number("due_in_days", "Days to answer", &self.due_in_days);
        let cadence_months = [
            number(
                "cadence_critical",
                "Critical cadence",
                &self.cadence_critical,
            ),
            number("cadence_high", "High cadence", &self.cadence_high),
            number(
                "cadence_moderate",
                "Moderate cadence",
                &self.cadence_moderate,
            ),
            number("cadence_low", "Low cadence", &self.cadence_low),
        ];
        let renewal_lead_days = number(
            "renewal_lead_days",
            "Days before a renewal",
            &self.renewal_lead_days,
        );
        let evidence_warning_days = number(
            "evidence_warning_days",
            "Days before a document expires",
            &self.evidence_warning_days,
        );
        let mut reminder_days = Vec::new();
        for part in self
            .reminder_days
            .split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
        {
            match part.parse::<u32>() {
                Ok(days) => reminder_days.push(days),
                Err(_) => errors.add("reminder_days", format!("{part:?} is not a number of days; list whole numbers separated by commas, such as 7, 3, 1.")),
            }
        }
        let time_zone = match self.time_zone.trim().parse::<chrono_tz::Tz>() {
            Ok(zone) => zone,
            Err(_) => {
                errors.add("time_zone", format!("{:?} is not an IANA time zone; choose one from the list, such as America/New_York.", self.time_zone));
                chrono_tz::Tz::UTC
            }
        };
        let parsed = ScheduleSettings {
            time_zone,
            send_hour,
            reminder_days,
            overdue_interval_days,
            overdue_max,
            expire_after_days,
            due_in_days,
            cadence_months,
            questionnaires: [
                self.questionnaire_critical.trim().to_owned(),
                self.questionnaire_high.trim().to_owned(),
                self.questionnaire_moderate.trim().to_owned(),
                self.questionnaire_low.trim().to_owned(),
            ],
            approval_required: self.approval_required.is_some(),
            renewal_lead_days,
            evidence_warning_days,
        };
        if errors.is_empty()
            && let Err(problems) = parsed.validate()
        {
            for (field, message) in problems {
                errors.add(field, message);
            }
        }
        if errors.is_empty() {
            Ok(parsed)
        } else {
            Err(errors)
        }
    }
}

/// Checks settings against the tenant's library and stores them with an audit record.
///
/// # Errors
/// [`AppError::Invalid`] naming each bad field.
pub async fn save(
    state: &AppState,
    tenant: TenantId,
    actor: &Actor,
    new: ScheduleSettings,
) -> Result<ScheduleSettings, AppError> {
    let mut errors = FieldErrors::default();
    if let Err(problems) = new.validate() {
        for (field, message) in problems {
            errors.add(field, message);
        }
    }
    let library = questionnaires::library(state.db().reader(), tenant).await?;
    for (tier, key) in Tier::ALL.iter().zip(&new.questionnaires) {
        if !library.iter().any(|entry| &entry.questionnaire.key == key) {
            errors.add(
                format!("questionnaire_{}", tier.as_str()),
                format!("{key:?} is not in your questionnaire library; choose one of the listed questionnaires for {} vendors.", tier.label()),
            );
        }
    }
    errors.into_result()?;
    let now = state.clock().now();
    let tx = state.db().writer().begin().await?;
    let before = settings::load(&tx, tenant).await?;
    settings::save(&tx, tenant, &new, now).await?;
    audit::record(
        &tx,
        tenant,
        actor,
        Change {
            action: "settings.schedule_updated",
            object_type: "tenant",
            object_id: tenant.0,
            before: serde_json::to_value(&before).ok(),
            after: serde_json::to_value(&new).ok(),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(new)
}

async fn render_settings(
    state: &AppState,
    member: &Member,
    form: &SettingsForm,
    errors: &FieldErrors,
    notice: Option<&str>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let library = questionnaires::library(state.db().reader(), member.tenant_id).await?;
    let mut keys: Vec<minijinja::Value> = Vec::new();
    for entry in &library {
        if !keys.iter().any(|known| {
            known
                .get_attr("value")
                .ok()
                .and_then(|value| value.as_str().map(str::to_owned))
                .as_deref()
                == Some(entry.questionnaire.key.as_str())
        }) {
            keys.push(context! { value => entry.questionnaire.key, label => format!("{} ({})", entry.questionnaire.title, entry.questionnaire.key) });
        }
    }
    let zones: Vec<minijinja::Value> = chrono_tz::TZ_VARIANTS
        .iter()
        .map(|zone| context! { value => zone.name(), label => zone.name().replace('_', " ") })
        .collect();
    let hours: Vec<minijinja::Value> = (0..24_u32)
        .map(|hour| {
            let label = match hour {
                0 => "12:00 midnight".to_owned(),
                12 => "12:00 noon".to_owned(),
                1..=11 => format!("{hour}:00 AM"),
                _ => format!("{}:00 PM", hour - 12),
            };
            context! { value => hour.to_string(), label => label }
        })
        .collect();
    let tiers: Vec<minijinja::Value> = Tier::ALL
        .iter()
        .map(|tier| context! { value => tier.as_str(), label => tier.label() })
        .collect();
    let html = render(
        state,
        Some(member),
        "pages/admin/settings.html",
        context! { form => form, errors => errors, notice => notice, zones => zones, hours => hours, questionnaires => keys, tiers => tiers },
    )?;
    Ok((status, html).into_response())
}

async fn settings_page(
    State(state): State<AppState>,
    member: Member,
) -> Result<Response, AppError> {
    member.require(Permission::Administer)?;
    let current = settings::load(state.db().reader(), member.tenant_id).await?;
    render_settings(
        &state,
        &member,
        &SettingsForm::from_settings(&current),
        &FieldErrors::default(),
        None,
        StatusCode::OK,
    )
    .await
}

async fn save_settings(
    State(state): State<AppState>,
    StaffForm { member, form }: StaffForm<SettingsForm>,
) -> Result<Response, AppError> {
    member.require(Permission::Administer)?;
    let parsed = match form.parse() {
        Ok(parsed) => parsed,
        Err(errors) => {
            return render_settings(
                &state,
                &member,
                &form,
                &errors,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    match save(&state, member.tenant_id, &member.actor(), parsed).await {
        Ok(saved) => {
            render_settings(
                &state,
                &member,
                &SettingsForm::from_settings(&saved),
                &FieldErrors::default(),
                Some("Schedule settings saved. They apply from the next sweep, within 15 minutes."),
                StatusCode::OK,
            )
            .await
        }
        Err(AppError::Invalid(errors)) => {
            render_settings(
                &state,
                &member,
                &form,
                &errors,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(other) => Err(other),
    }
}
