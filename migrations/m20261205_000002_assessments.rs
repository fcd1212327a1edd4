//! Assessments and everything they produce: status history, vendor access links, answers,
//! evidence, clarifications, score overrides, the risk register, and the job table that sends
//! e-mail. Shipped questionnaires that a tenant sends are copied into `questionnaires` with
//! `origin = 'shipped'`, so an assessment keeps its exact questions across releases.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261205_000002_assessments"
    }
}

#[derive(DeriveIden)]
enum Questionnaires {
    Table,
    Origin,
}

#[derive(DeriveIden)]
enum Assessments {
    Table,
    Id,
    TenantId,
    VendorId,
    QuestionnaireId,
    QuestionnaireKey,
    QuestionnaireVersion,
    Status,
    DueOn,
    RequestedByUserId,
    SentAt,
    SubmittedAt,
    CompletedAt,
    LastVendorActivityAt,
    ScoreReport,
    OverallScore,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum AssessmentEvents {
    Table,
    Id,
    TenantId,
    AssessmentId,
    FromStatus,
    ToStatus,
    ActorKind,
    ActorId,
    ActorLabel,
    Note,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AccessLinks {
    Table,
    Id,
    TenantId,
    AssessmentId,
    ContactId,
    TokenHash,
    ExpiresAt,
    RevokedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Answers {
    Table,
    Id,
    TenantId,
    AssessmentId,
    QuestionId,
    Value,
    Comment,
    Version,
    CarriedOver,
    UpdatedByContactId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Evidence {
    Table,
    Id,
    TenantId,
    AssessmentId,
    QuestionId,
    StorageKey,
    FileName,
    ContentType,
    SizeBytes,
    Sha256,
    EffectiveOn,
    ExpiresOn,
    ReviewStatus,
    ReviewNote,
    ReviewedByUserId,
    ReviewedAt,
    UploadedByContactId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Clarifications {
    Table,
    Id,
    TenantId,
    AssessmentId,
    QuestionId,
    Round,
    Request,
    RequestedByUserId,
    SentAt,
    Response,
    RespondedByContactId,
    RespondedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ScoreOverrides {
    Table,
    Id,
    TenantId,
    AssessmentId,
    QuestionId,
    Score,
    Rationale,
    UserId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Risks {
    Table,
    Id,
    TenantId,
    VendorId,
    AssessmentId,
    QuestionId,
    Title,
    Likelihood,
    Impact,
    InherentRating,
    ResidualLikelihood,
    ResidualImpact,
    ResidualRating,
    Status,
    OwnerUserId,
    Treatment,
    DueOn,
    CompensatingControls,
    ApprovedByUserId,
    ApprovedAt,
    ApprovalRationale,
    ExceptionExpiresOn,
    Trace,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Jobs {
    Table,
    Id,
    TenantId,
    Kind,
    UniqueKey,
    Payload,
    Status,
    Attempts,
    MaxAttempts,
    RunAt,
    LockedUntil,
    LastError,
    CreatedAt,
    UpdatedAt,
    FinishedAt,
}

async fn index(
    manager: &SchemaManager<'_>,
    name: &str,
    table: impl IntoIden + 'static,
    columns: Vec<Alias>,
    unique: bool,
) -> Result<(), DbErr> {
    let mut statement = Index::create();
    statement.name(name).table(table);
    for column in columns {
        statement.col(column);
    }
    if unique {
        statement.unique();
    }
    manager.create_index(statement.to_owned()).await
}

fn columns(names: &[&str]) -> Vec<Alias> {
    names.iter().map(|name| Alias::new(*name)).collect()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Questionnaires::Table)
                    .add_column(string(Questionnaires::Origin).default("tenant"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Assessments::Table)
                    .col(uuid(Assessments::Id).primary_key())
                    .col(uuid(Assessments::TenantId))
                    .col(uuid(Assessments::VendorId))
                    .col(uuid(Assessments::QuestionnaireId))
                    .col(string(Assessments::QuestionnaireKey))
                    .col(integer(Assessments::QuestionnaireVersion))
                    .col(string(Assessments::Status))
                    .col(date(Assessments::DueOn))
                    .col(uuid_null(Assessments::RequestedByUserId))
                    .col(timestamp_with_time_zone_null(Assessments::SentAt))
                    .col(timestamp_with_time_zone_null(Assessments::SubmittedAt))
                    .col(timestamp_with_time_zone_null(Assessments::CompletedAt))
                    .col(timestamp_with_time_zone_null(
                        Assessments::LastVendorActivityAt,
                    ))
                    .col(json_null(Assessments::ScoreReport))
                    .col(integer_null(Assessments::OverallScore))
                    .col(timestamp_with_time_zone(Assessments::CreatedAt))
                    .col(timestamp_with_time_zone(Assessments::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Assessments::Table, Assessments::VendorId)
                            .to(Alias::new("vendors"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Assessments::Table, Assessments::QuestionnaireId)
                            .to(Alias::new("questionnaires"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "assessments_tenant_status",
            Assessments::Table,
            columns(&["tenant_id", "status", "due_on"]),
            false,
        )
        .await?;
        index(
            manager,
            "assessments_tenant_vendor",
            Assessments::Table,
            columns(&["tenant_id", "vendor_id", "created_at"]),
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(AssessmentEvents::Table)
                    .col(uuid(AssessmentEvents::Id).primary_key())
                    .col(uuid(AssessmentEvents::TenantId))
                    .col(uuid(AssessmentEvents::AssessmentId))
                    .col(string_null(AssessmentEvents::FromStatus))
                    .col(string(AssessmentEvents::ToStatus))
                    .col(string(AssessmentEvents::ActorKind))
                    .col(uuid_null(AssessmentEvents::ActorId))
                    .col(string(AssessmentEvents::ActorLabel))
                    .col(text_null(AssessmentEvents::Note))
                    .col(timestamp_with_time_zone(AssessmentEvents::CreatedAt))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "assessment_events_assessment",
            AssessmentEvents::Table,
            columns(&["tenant_id", "assessment_id", "created_at"]),
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(AccessLinks::Table)
                    .col(uuid(AccessLinks::Id).primary_key())
                    .col(uuid(AccessLinks::TenantId))
                    .col(uuid(AccessLinks::AssessmentId))
                    .col(uuid(AccessLinks::ContactId))
                    .col(string(AccessLinks::TokenHash).unique_key())
                    .col(timestamp_with_time_zone(AccessLinks::ExpiresAt))
                    .col(timestamp_with_time_zone_null(AccessLinks::RevokedAt))
                    .col(timestamp_with_time_zone(AccessLinks::CreatedAt))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "access_links_assessment",
            AccessLinks::Table,
            columns(&["tenant_id", "assessment_id", "contact_id"]),
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Answers::Table)
                    .col(uuid(Answers::Id).primary_key())
                    .col(uuid(Answers::TenantId))
                    .col(uuid(Answers::AssessmentId))
                    .col(string(Answers::QuestionId))
                    .col(text(Answers::Value))
                    .col(text_null(Answers::Comment))
                    .col(integer(Answers::Version))
                    .col(boolean(Answers::CarriedOver).default(false))
                    .col(uuid_null(Answers::UpdatedByContactId))
                    .col(timestamp_with_time_zone(Answers::CreatedAt))
                    .col(timestamp_with_time_zone(Answers::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "answers_assessment_question",
            Answers::Table,
            columns(&["tenant_id", "assessment_id", "question_id"]),
            true,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Evidence::Table)
                    .col(uuid(Evidence::Id).primary_key())
                    .col(uuid(Evidence::TenantId))
                    .col(uuid(Evidence::AssessmentId))
                    .col(string_null(Evidence::QuestionId))
                    .col(string(Evidence::StorageKey).unique_key())
                    .col(string(Evidence::FileName))
                    .col(string(Evidence::ContentType))
                    .col(big_integer(Evidence::SizeBytes))
                    .col(string(Evidence::Sha256))
                    .col(date_null(Evidence::EffectiveOn))
                    .col(date_null(Evidence::ExpiresOn))
                    .col(string(Evidence::ReviewStatus))
                    .col(text_null(Evidence::ReviewNote))
                    .col(uuid_null(Evidence::ReviewedByUserId))
                    .col(timestamp_with_time_zone_null(Evidence::ReviewedAt))
                    .col(uuid_null(Evidence::UploadedByContactId))
                    .col(timestamp_with_time_zone(Evidence::CreatedAt))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "evidence_assessment",
            Evidence::Table,
            columns(&["tenant_id", "assessment_id", "question_id"]),
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Clarifications::Table)
                    .col(uuid(Clarifications::Id).primary_key())
                    .col(uuid(Clarifications::TenantId))
                    .col(uuid(Clarifications::AssessmentId))
                    .col(string(Clarifications::QuestionId))
                    .col(integer(Clarifications::Round))
                    .col(text(Clarifications::Request))
                    .col(uuid_null(Clarifications::RequestedByUserId))
                    .col(timestamp_with_time_zone_null(Clarifications::SentAt))
                    .col(text_null(Clarifications::Response))
                    .col(uuid_null(Clarifications::RespondedByContactId))
                    .col(timestamp_with_time_zone_null(Clarifications::RespondedAt))
                    .col(timestamp_with_time_zone(Clarifications::CreatedAt))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "clarifications_assessment",
            Clarifications::Table,
            columns(&["tenant_id", "assessment_id", "question_id"]),
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(ScoreOverrides::Table)
                    .col(uuid(ScoreOverrides::Id).primary_key())
                    .col(uuid(ScoreOverrides::TenantId))
                    .col(uuid(ScoreOverrides::AssessmentId))
                    .col(string(ScoreOverrides::QuestionId))
                    .col(integer(ScoreOverrides::Score))
                    .col(text(ScoreOverrides::Rationale))
                    .col(uuid(ScoreOverrides::UserId))
                    .col(timestamp_with_time_zone(ScoreOverrides::CreatedAt))
                    .col(timestamp_with_time_zone(ScoreOverrides::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "score_overrides_question",
            ScoreOverrides::Table,
            columns(&["tenant_id", "assessment_id", "question_id"]),
            true,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Risks::Table)
                    .col(uuid(Risks::Id).primary_key())
                    .col(uuid(Risks::TenantId))
                    .col(uuid(Risks::VendorId))
                    .col(uuid_null(Risks::AssessmentId))
                    .col(string_null(Risks::QuestionId))
                    .col(text(Risks::Title))
                    .col(integer(Risks::Likelihood))
                    .col(integer(Risks::Impact))
                    .col(integer(Risks::InherentRating))
                    .col(integer(Risks::ResidualLikelihood))
                    .col(integer(Risks::ResidualImpact))
                    .col(integer(Risks::ResidualRating))
                    .col(string(Risks::Status))
                    .col(uuid_null(Risks::OwnerUserId))
                    .col(string_null(Risks::Treatment))
                    .col(date_null(Risks::DueOn))
                    .col(text_null(Risks::CompensatingControls))
                    .col(uuid_null(Risks::ApprovedByUserId))
                    .col(timestamp_with_time_zone_null(Risks::ApprovedAt))
                    .col(text_null(Risks::ApprovalRationale))
                    .col(date_null(Risks::ExceptionExpiresOn))
                    .col(json(Risks::Trace))
                    .col(timestamp_with_time_zone(Risks::CreatedAt))
                    .col(timestamp_with_time_zone(Risks::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "risks_tenant_rating",
            Risks::Table,
            columns(&["tenant_id", "residual_rating", "id"]),
            false,
        )
        .await?;
        index(
            manager,
            "risks_tenant_status_rating",
            Risks::Table,
            columns(&["tenant_id", "status", "residual_rating", "id"]),
            false,
        )
        .await?;
        index(
            manager,
            "risks_tenant_vendor",
            Risks::Table,
            columns(&["tenant_id", "vendor_id", "question_id"]),
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Jobs::Table)
                    .col(uuid(Jobs::Id).primary_key())
                    .col(uuid_null(Jobs::TenantId))
                    .col(string(Jobs::Kind))
                    .col(string(Jobs::UniqueKey).unique_key())
                    .col(json(Jobs::Payload))
                    .col(string(Jobs::Status))
                    .col(integer(Jobs::Attempts))
                    .col(integer(Jobs::MaxAttempts))
                    .col(timestamp_with_time_zone(Jobs::RunAt))
                    .col(timestamp_with_time_zone_null(Jobs::LockedUntil))
                    .col(text_null(Jobs::LastError))
                    .col(timestamp_with_time_zone(Jobs::CreatedAt))
                    .col(timestamp_with_time_zone(Jobs::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Jobs::FinishedAt))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "jobs_due",
            Jobs::Table,
            columns(&["status", "run_at"]),
            false,
        )
        .await?;
        index(
            manager,
            "jobs_tenant",
            Jobs::Table,
            columns(&["tenant_id", "status", "created_at"]),
            false,
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Jobs::Table.into_iden(),
            Risks::Table.into_iden(),
            ScoreOverrides::Table.into_iden(),
            Clarifications::Table.into_iden(),
            Evidence::Table.into_iden(),
            Answers::Table.into_iden(),
            AccessLinks::Table.into_iden(),
            AssessmentEvents::Table.into_iden(),
            Assessments::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Questionnaires::Table)
                    .drop_column(Questionnaires::Origin)
                    .to_owned(),
            )
            .await
    }
}
