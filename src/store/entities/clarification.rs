use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "clarifications")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub assessment_id: Uuid,
    pub question_id: String,
    pub round: i32,
    pub request: String,
    pub requested_by_user_id: Option<Uuid>,
    pub sent_at: Option<DateTimeUtc>,
    pub response: Option<String>,
    pub responded_by_contact_id: Option<Uuid>,
    pub responded_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
