use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "risks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub vendor_id: Uuid,
    pub assessment_id: Option<Uuid>,
    pub question_id: Option<String>,
    pub title: String,
    pub likelihood: i32,
    pub impact: i32,
    pub inherent_rating: i32,
    pub residual_likelihood: i32,
    pub residual_impact: i32,
    pub residual_rating: i32,
    pub status: String,
    pub owner_user_id: Option<Uuid>,
    pub treatment: Option<String>,
    pub due_on: Option<Date>,
    pub compensating_controls: Option<String>,
    pub approved_by_user_id: Option<Uuid>,
    pub approved_at: Option<DateTimeUtc>,
    pub approval_rationale: Option<String>,
    pub exception_expires_on: Option<Date>,
    pub trace: Json,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
