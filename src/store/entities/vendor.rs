use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "vendors")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub name: String,
    pub name_key: String,
    pub website: Option<String>,
    pub service: Option<String>,
    pub phi_access: String,
    pub clinical_criticality: String,
    pub system_integration: bool,
    pub medical_device: bool,
    pub offshore_access: bool,
    pub computed_tier: String,
    pub tier_override: Option<String>,
    pub tier_override_rationale: Option<String>,
    pub tier: String,
    pub tier_rank: i32,
    pub baa_status: String,
    pub contract_renewal_on: Option<Date>,
    pub owner_user_id: Option<Uuid>,
    pub status: String,
    pub archived_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// Date of the next scheduled assessment; none until a first assessment is completed.
    pub next_review_on: Option<Date>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
