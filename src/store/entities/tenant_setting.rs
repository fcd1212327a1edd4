use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tenant_settings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    pub time_zone: String,
    pub send_hour: i32,
    /// Comma-separated days before the due date, such as `7,3,1`.
    pub reminder_days: String,
    pub overdue_interval_days: i32,
    pub overdue_max: i32,
    pub expire_after_days: i32,
    pub due_in_days: i32,
    pub cadence_critical: i32,
    pub cadence_high: i32,
    pub cadence_moderate: i32,
    pub cadence_low: i32,
    pub questionnaire_critical: String,
    pub questionnaire_high: String,
    pub questionnaire_moderate: String,
    pub questionnaire_low: String,
    pub approval_required: bool,
    pub renewal_lead_days: i32,
    pub evidence_warning_days: i32,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
