use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "assessments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub vendor_id: Uuid,
    pub questionnaire_id: Uuid,
    pub questionnaire_key: String,
    pub questionnaire_version: i32,
    pub status: String,
    pub due_on: Date,
    pub requested_by_user_id: Option<Uuid>,
    pub sent_at: Option<DateTimeUtc>,
    pub submitted_at: Option<DateTimeUtc>,
    pub completed_at: Option<DateTimeUtc>,
    pub last_vendor_activity_at: Option<DateTimeUtc>,
    pub score_report: Option<Json>,
    /// Overall score in tenths of a percent (0 to 1000).
    pub overall_score: Option<i32>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// Why it started: `manual`, `cycle`, `contract_renewal` or `evidence_expired`.
    pub reason: String,
    pub reason_note: Option<String>,
    /// The assessment whose answers it carries forward.
    pub previous_assessment_id: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
