//! Tenants, staff accounts, sessions, API tokens, vendors, contacts, questionnaires and the
//! audit trail.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261204_000001_foundation"
    }
}

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
    Name,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    TenantId,
    Email,
    EmailKey,
    Name,
    Role,
    Status,
    PasswordHash,
    FailedSignIns,
    LockedUntil,
    LastSignInAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum UserTokens {
    Table,
    Id,
    TenantId,
    UserId,
    Purpose,
    TokenHash,
    ExpiresAt,
    UsedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    TokenHash,
    TenantId,
    UserId,
    CsrfToken,
    CreatedAt,
    LastSeenAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum ApiTokens {
    Table,
    Id,
    TenantId,
    Name,
    TokenHash,
    Role,
    CreatedByUserId,
    CreatedAt,
    LastUsedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum SetupTokens {
    Table,
    Id,
    TokenHash,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum Vendors {
    Table,
    Id,
    TenantId,
    Name,
    NameKey,
    Website,
    Service,
    PhiAccess,
    ClinicalCriticality,
    SystemIntegration,
    MedicalDevice,
    OffshoreAccess,
    ComputedTier,
    TierOverride,
    TierOverrideRationale,
    Tier,
    TierRank,
    BaaStatus,
    ContractRenewalOn,
    OwnerUserId,
    Status,
    ArchivedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum VendorContacts {
    Table,
    Id,
    TenantId,
    VendorId,
    Name,
    Email,
    EmailKey,
    Role,
    Phone,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Questionnaires {
    Table,
    Id,
    TenantId,
    Key,
    Version,
    Title,
    Source,
    CreatedByUserId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Id,
    TenantId,
    ActorKind,
    ActorId,
    ActorLabel,
    Action,
    ObjectType,
    ObjectId,
    Before,
    After,
    CreatedAt,
}

fn foreign_key(
    from_table: impl IntoIden + 'static,
    from_column: impl IntoIden + 'static,
    to_table: impl IntoIden + 'static,
    to_column: impl IntoIden + 'static,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(from_table, from_column)
        .to(to_table, to_column)
        .on_delete(ForeignKeyAction::Restrict)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Tenants::Table)
                    .col(uuid(Tenants::Id).primary_key())
                    .col(string(Tenants::Name))
                    .col(timestamp_with_time_zone(Tenants::CreatedAt))
                    .col(timestamp_with_time_zone(Tenants::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(uuid(Users::Id).primary_key())
                    .col(uuid(Users::TenantId))
                    .col(string(Users::Email))
                    .col(string(Users::EmailKey))
                    .col(string(Users::Name))
                    .col(string(Users::Role))
                    .col(string(Users::Status))
                    .col(text_null(Users::PasswordHash))
                    .col(integer(Users::FailedSignIns).default(0))
                    .col(timestamp_with_time_zone_null(Users::LockedUntil))
                    .col(timestamp_with_time_zone_null(Users::LastSignInAt))
                    .col(timestamp_with_time_zone(Users::CreatedAt))
                    .col(timestamp_with_time_zone(Users::UpdatedAt))
                    .foreign_key(&mut foreign_key(
                        Users::Table,
                        Users::TenantId,
                        Tenants::Table,
                        Tenants::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("users_tenant_email_key")
                    .table(Users::Table)
                    .col(Users::TenantId)
                    .col(Users::EmailKey)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // Sign-in looks a person up by e-mail before the tenant is known.
        manager
            .create_index(
                Index::create()
                    .name("users_email_key")
                    .table(Users::Table)
                    .col(Users::EmailKey)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(UserTokens::Table)
                    .col(uuid(UserTokens::Id).primary_key())
                    .col(uuid(UserTokens::TenantId))
                    .col(uuid(UserTokens::UserId))
                    .col(string(UserTokens::Purpose))
                    .col(string(UserTokens::TokenHash).unique_key())
                    .col(timestamp_with_time_zone(UserTokens::ExpiresAt))
                    .col(timestamp_with_time_zone_null(UserTokens::UsedAt))
                    .col(timestamp_with_time_zone(UserTokens::CreatedAt))
                    .foreign_key(&mut foreign_key(
                        UserTokens::Table,
                        UserTokens::UserId,
                        Users::Table,
                        Users::Id,
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Sessions::Table)
                    .col(uuid(Sessions::Id).primary_key())
                    .col(string(Sessions::TokenHash).unique_key())
                    .col(uuid(Sessions::TenantId))
                    .col(uuid(Sessions::UserId))
                    .col(string(Sessions::CsrfToken))
                    .col(timestamp_with_time_zone(Sessions::CreatedAt))
                    .col(timestamp_with_time_zone(Sessions::LastSeenAt))
                    .col(timestamp_with_time_zone(Sessions::ExpiresAt))
                    .foreign_key(&mut foreign_key(
                        Sessions::Table,
                        Sessions::UserId,
                        Users::Table,
                        Users::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("sessions_user")
                    .table(Sessions::Table)
                    .col(Sessions::UserId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ApiTokens::Table)
                    .col(uuid(ApiTokens::Id).primary_key())
                    .col(uuid(ApiTokens::TenantId))
                    .col(string(ApiTokens::Name))
                    .col(string(ApiTokens::TokenHash).unique_key())
                    .col(string(ApiTokens::Role))
                    .col(uuid_null(ApiTokens::CreatedByUserId))
                    .col(timestamp_with_time_zone(ApiTokens::CreatedAt))
                    .col(timestamp_with_time_zone_null(ApiTokens::LastUsedAt))
                    .col(timestamp_with_time_zone_null(ApiTokens::RevokedAt))
                    .foreign_key(&mut foreign_key(
                        ApiTokens::Table,
                        ApiTokens::TenantId,
                        Tenants::Table,
                        Tenants::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("api_tokens_tenant")
                    .table(ApiTokens::Table)
                    .col(ApiTokens::TenantId)
                    .col(ApiTokens::CreatedAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SetupTokens::Table)
                    .col(uuid(SetupTokens::Id).primary_key())
                    .col(string(SetupTokens::TokenHash).unique_key())
                    .col(timestamp_with_time_zone(SetupTokens::CreatedAt))
                    .col(timestamp_with_time_zone(SetupTokens::ExpiresAt))
                    .col(timestamp_with_time_zone_null(SetupTokens::UsedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Vendors::Table)
                    .col(uuid(Vendors::Id).primary_key())
                    .col(uuid(Vendors::TenantId))
                    .col(string(Vendors::Name))
                    .col(string(Vendors::NameKey))
                    .col(string_null(Vendors::Website))
                    .col(text_null(Vendors::Service))
                    .col(string(Vendors::PhiAccess))
                    .col(string(Vendors::ClinicalCriticality))
                    .col(boolean(Vendors::SystemIntegration))
                    .col(boolean(Vendors::MedicalDevice))
                    .col(boolean(Vendors::OffshoreAccess))
                    .col(string(Vendors::ComputedTier))
                    .col(string_null(Vendors::TierOverride))
                    .col(text_null(Vendors::TierOverrideRationale))
                    .col(string(Vendors::Tier))
                    .col(integer(Vendors::TierRank))
                    .col(string(Vendors::BaaStatus))
                    .col(date_null(Vendors::ContractRenewalOn))
                    .col(uuid_null(Vendors::OwnerUserId))
                    .col(string(Vendors::Status))
                    .col(timestamp_with_time_zone_null(Vendors::ArchivedAt))
                    .col(timestamp_with_time_zone(Vendors::CreatedAt))
                    .col(timestamp_with_time_zone(Vendors::UpdatedAt))
                    .foreign_key(&mut foreign_key(
                        Vendors::Table,
                        Vendors::TenantId,
                        Tenants::Table,
                        Tenants::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("vendors_tenant_name_key")
                    .table(Vendors::Table)
                    .col(Vendors::TenantId)
                    .col(Vendors::NameKey)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("vendors_tenant_tier")
                    .table(Vendors::Table)
                    .col(Vendors::TenantId)
                    .col(Vendors::TierRank)
                    .col(Vendors::NameKey)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("vendors_tenant_renewal")
                    .table(Vendors::Table)
                    .col(Vendors::TenantId)
                    .col(Vendors::ContractRenewalOn)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(VendorContacts::Table)
                    .col(uuid(VendorContacts::Id).primary_key())
                    .col(uuid(VendorContacts::TenantId))
                    .col(uuid(VendorContacts::VendorId))
                    .col(string(VendorContacts::Name))
                    .col(string(VendorContacts::Email))
                    .col(string(VendorContacts::EmailKey))
                    .col(string_null(VendorContacts::Role))
                    .col(string_null(VendorContacts::Phone))
                    .col(timestamp_with_time_zone(VendorContacts::CreatedAt))
                    .col(timestamp_with_time_zone(VendorContacts::UpdatedAt))
                    .foreign_key(&mut foreign_key(
                        VendorContacts::Table,
                        VendorContacts::VendorId,
                        Vendors::Table,
                        Vendors::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("vendor_contacts_vendor_email")
                    .table(VendorContacts::Table)
                    .col(VendorContacts::TenantId)
                    .col(VendorContacts::VendorId)
                    .col(VendorContacts::EmailKey)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Questionnaires::Table)
                    .col(uuid(Questionnaires::Id).primary_key())
                    .col(uuid(Questionnaires::TenantId))
                    .col(string(Questionnaires::Key))
                    .col(integer(Questionnaires::Version))
                    .col(string(Questionnaires::Title))
                    .col(text(Questionnaires::Source))
                    .col(uuid_null(Questionnaires::CreatedByUserId))
                    .col(timestamp_with_time_zone(Questionnaires::CreatedAt))
                    .foreign_key(&mut foreign_key(
                        Questionnaires::Table,
                        Questionnaires::TenantId,
                        Tenants::Table,
                        Tenants::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("questionnaires_tenant_key_version")
                    .table(Questionnaires::Table)
                    .col(Questionnaires::TenantId)
                    .col(Questionnaires::Key)
                    .col(Questionnaires::Version)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AuditEvents::Table)
                    .col(uuid(AuditEvents::Id).primary_key())
                    .col(uuid(AuditEvents::TenantId))
                    .col(string(AuditEvents::ActorKind))
                    .col(uuid_null(AuditEvents::ActorId))
                    .col(string(AuditEvents::ActorLabel))
                    .col(string(AuditEvents::Action))
                    .col(string(AuditEvents::ObjectType))
                    .col(uuid(AuditEvents::ObjectId))
                    .col(json_null(AuditEvents::Before))
                    .col(json_null(AuditEvents::After))
                    .col(timestamp_with_time_zone(AuditEvents::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("audit_events_tenant_object")
                    .table(AuditEvents::Table)
                    .col(AuditEvents::TenantId)
                    .col(AuditEvents::ObjectType)
                    .col(AuditEvents::ObjectId)
                    .col(AuditEvents::CreatedAt)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AuditEvents::Table.into_iden(),
            Questionnaires::Table.into_iden(),
            VendorContacts::Table.into_iden(),
            Vendors::Table.into_iden(),
            SetupTokens::Table.into_iden(),
            ApiTokens::Table.into_iden(),
            Sessions::Table.into_iden(),
            UserTokens::Table.into_iden(),
            Users::Table.into_iden(),
            Tenants::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
