//! Scheduling: per-tenant schedule settings, each vendor's next review date, the reason an
//! assessment was started and the one it follows, and document expiry lookups.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261206_000003_schedule"
    }
}

#[derive(DeriveIden)]
enum TenantSettings {
    Table,
    TenantId,
    TimeZone,
    SendHour,
    ReminderDays,
    OverdueIntervalDays,
    OverdueMax,
    ExpireAfterDays,
    DueInDays,
    CadenceCritical,
    CadenceHigh,
    CadenceModerate,
    CadenceLow,
    QuestionnaireCritical,
    QuestionnaireHigh,
    QuestionnaireModerate,
    QuestionnaireLow,
    ApprovalRequired,
    RenewalLeadDays,
    EvidenceWarningDays,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Vendors {
    Table,
    TenantId,
    NextReviewOn,
}

#[derive(DeriveIden)]
enum Assessments {
    Table,
    Reason,
    ReasonNote,
    PreviousAssessmentId,
}

#[derive(DeriveIden)]
enum Evidence {
    Table,
    TenantId,
    ExpiresOn,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(TenantSettings::Table)
                    .col(uuid(TenantSettings::TenantId).primary_key())
                    .col(string(TenantSettings::TimeZone))
                    .col(integer(TenantSettings::SendHour))
                    .col(string(TenantSettings::ReminderDays))
                    .col(integer(TenantSettings::OverdueIntervalDays))
                    .col(integer(TenantSettings::OverdueMax))
                    .col(integer(TenantSettings::ExpireAfterDays))
                    .col(integer(TenantSettings::DueInDays))
                    .col(integer(TenantSettings::CadenceCritical))
                    .col(integer(TenantSettings::CadenceHigh))
                    .col(integer(TenantSettings::CadenceModerate))
                    .col(integer(TenantSettings::CadenceLow))
                    .col(string(TenantSettings::QuestionnaireCritical))
                    .col(string(TenantSettings::QuestionnaireHigh))
                    .col(string(TenantSettings::QuestionnaireModerate))
                    .col(string(TenantSettings::QuestionnaireLow))
                    .col(boolean(TenantSettings::ApprovalRequired))
                    .col(integer(TenantSettings::RenewalLeadDays))
                    .col(integer(TenantSettings::EvidenceWarningDays))
                    .col(timestamp_with_time_zone(TenantSettings::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(TenantSettings::Table, TenantSettings::TenantId)
                            .to(Alias::new("tenants"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Vendors::Table)
                    .add_column(date_null(Vendors::NextReviewOn))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("vendors_tenant_next_review")
                    .table(Vendors::Table)
                    .col(Vendors::TenantId)
                    .col(Vendors::NextReviewOn)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Assessments::Table)
                    .add_column(string(Assessments::Reason).default("manual"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Assessments::Table)
                    .add_column(text_null(Assessments::ReasonNote))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Assessments::Table)
                    .add_column(uuid_null(Assessments::PreviousAssessmentId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("evidence_tenant_expires")
                    .table(Evidence::Table)
                    .col(Evidence::TenantId)
                    .col(Evidence::ExpiresOn)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("evidence_tenant_expires")
                    .table(Evidence::Table)
                    .to_owned(),
            )
            .await?;
        for column in [
            Assessments::PreviousAssessmentId,
            Assessments::ReasonNote,
            Assessments::Reason,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Assessments::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_index(
                Index::drop()
                    .name("vendors_tenant_next_review")
                    .table(Vendors::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Vendors::Table)
                    .drop_column(Vendors::NextReviewOn)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(TenantSettings::Table).to_owned())
            .await
    }
}
