//! The questionnaire library of a tenant: the questionnaires shipped with the portal plus those
//! the tenant's administrators uploaded.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde::Serialize;

use super::audit::{self, Actor, Change};
use super::entities::questionnaire;
use super::{StoreError, is_unique_violation};
use crate::domain::questionnaire::{self as model, Problem, Questionnaire};
use crate::ids::{QuestionnaireId, TenantId, UserId};

/// The source of a questionnaire in the library.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// Shipped with the portal in `questionnaires/`.
    Shipped,
    /// Uploaded by one of the tenant's administrators.
    Tenant,
}

const ORIGIN_TENANT: &str = "tenant";
const ORIGIN_SHIPPED: &str = "shipped";

#[derive(Clone, Debug, Serialize)]
pub struct LibraryEntry {
    pub questionnaire: Questionnaire,
    pub origin: Origin,
}

/// Lists every version of every questionnaire the tenant can send, by key and then newest
/// version first.
///
/// # Errors
/// Fails when the query fails or a stored file no longer passes the checker.
pub async fn library(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
) -> Result<Vec<LibraryEntry>, StoreError> {
    let mut entries: Vec<LibraryEntry> = model::shipped()
        .iter()
        .map(|questionnaire| LibraryEntry {
            questionnaire: questionnaire.clone(),
            origin: Origin::Shipped,
        })
        .collect();
    let rows = questionnaire::Entity::find()
        .filter(questionnaire::Column::TenantId.eq(tenant.0))
        .order_by_asc(questionnaire::Column::Key)
        .all(conn)
        .await?;
    for row in rows {
        // Copies of shipped questionnaires made when they were sent are listed from the binary,
        // unless a later release no longer ships that version.
        let still_shipped = model::shipped().iter().any(|shipped| {
            shipped.key == row.key && i64::from(shipped.version) == i64::from(row.version)
        });
        if row.origin == ORIGIN_SHIPPED && still_shipped {
            continue;
        }
        entries.push(LibraryEntry {
            questionnaire: parse_stored(&row)?,
            origin: if row.origin == ORIGIN_SHIPPED {
                Origin::Shipped
            } else {
                Origin::Tenant
            },
        });
    }
    entries.sort_by(|a, b| {
        a.questionnaire
            .key
            .cmp(&b.questionnaire.key)
            .then(b.questionnaire.version.cmp(&a.questionnaire.version))
    });
    Ok(entries)
}

fn parse_stored(row: &questionnaire::Model) -> Result<Questionnaire, StoreError> {
    model::parse(&row.source).map_err(|problems| {
        StoreError::Corrupt(format!(
            "questionnaire {} version {} no longer passes the checker: {problems:?}",
            row.key, row.version
        ))
    })
}

/// Finds one questionnaire: the given version, or the newest when `version` is `None`.
///
/// # Errors
/// Fails when the query fails.
pub async fn find(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    key: &str,
    version: Option<u32>,
) -> Result<Option<LibraryEntry>, StoreError> {
    let entries = library(conn, tenant).await?;
    Ok(entries.into_iter().find(|entry| {
        entry.questionnaire.key == key
            && version.is_none_or(|version| entry.questionnaire.version == version)
    }))
}

/// The reason an upload was not stored.
#[derive(Debug)]
pub enum UploadError {
    /// The file does not pass the checker.
    Invalid(Vec<Problem>),
    Store(StoreError),
}

impl From<StoreError> for UploadError {
    fn from(error: StoreError) -> Self {
        Self::Store(error)
    }
}

impl From<sea_orm::DbErr> for UploadError {
    fn from(error: sea_orm::DbErr) -> Self {
        Self::Store(error.into())
    }
}

/// Checks and stores an uploaded questionnaire file.
///
/// # Errors
/// [`UploadError::Invalid`] with every problem, or a conflict when the key and version exist.
pub async fn upload(
    conn: &impl sea_orm::TransactionTrait,
    tenant: TenantId,
    source: &str,
    uploaded_by: Option<UserId>,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Questionnaire, UploadError> {
    let parsed = model::parse(source).map_err(UploadError::Invalid)?;
    if model::shipped()
        .iter()
        .any(|shipped| shipped.key == parsed.key)
    {
        return Err(StoreError::Conflict(format!(
            "The key {:?} belongs to a questionnaire that ships with the portal, so an upload cannot use it. Give your questionnaire its own key, such as {:?}.",
            parsed.key,
            format!("{}-custom", parsed.key)
        ))
        .into());
    }
    let tx = conn.begin().await?;
    let id = QuestionnaireId::new();
    questionnaire::ActiveModel {
        id: Set(id.0),
        tenant_id: Set(tenant.0),
        key: Set(parsed.key.clone()),
        version: Set(i32::try_from(parsed.version).unwrap_or(i32::MAX)),
        title: Set(parsed.title.clone()),
        source: Set(source.to_owned()),
        created_by_user_id: Set(uploaded_by.map(|user| user.0)),
        created_at: Set(now),
        origin: Set(ORIGIN_TENANT.to_owned()),
    }
    .insert(&tx)
    .await
    .map_err(|error| {
        if is_unique_violation(&error) {
            UploadError::Store(StoreError::Conflict(format!(
                "Version {} of {:?} is already in your library. Raise the version number in the file to add a new one.",
                parsed.version, parsed.key
            )))
        } else {
            error.into()
        }
    })?;
    audit::record(
        &tx,
        tenant,
        actor,
        Change {
            action: "questionnaire.uploaded",
            object_type: "questionnaire",
            object_id: id.0,
            before: None,
            after: Some(serde_json::json!({ "key": parsed.key, "version": parsed.version, "title": parsed.title })),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(parsed)
}

/// Returns the stored copy of a library questionnaire for an assessment to refer to, copying a
/// shipped questionnaire into the tenant's table on first use, so the assessment keeps its exact
/// questions even after a release changes the shipped file.
///
/// # Errors
/// Fails on a database error, or when the stored copy no longer parses.
pub async fn pin(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    entry: &LibraryEntry,
    now: DateTime<Utc>,
) -> Result<(QuestionnaireId, Questionnaire), StoreError> {
    let key = &entry.questionnaire.key;
    let version = i32::try_from(entry.questionnaire.version).unwrap_or(i32::MAX);
    let existing = questionnaire::Entity::find()
        .filter(questionnaire::Column::TenantId.eq(tenant.0))
        .filter(questionnaire::Column::Key.eq(key.as_str()))
        .filter(questionnaire::Column::Version.eq(version))
        .one(conn)
        .await?;
    if let Some(row) = existing {
        return Ok((QuestionnaireId(row.id), parse_stored(&row)?));
    }
    let source = model::shipped_source(key, entry.questionnaire.version).ok_or_else(|| {
        StoreError::Corrupt(format!(
            "questionnaire {key} version {version} is neither stored nor shipped"
        ))
    })?;
    let id = QuestionnaireId::new();
    questionnaire::ActiveModel {
        id: Set(id.0),
        tenant_id: Set(tenant.0),
        key: Set(key.clone()),
        version: Set(version),
        title: Set(entry.questionnaire.title.clone()),
        source: Set(source.to_owned()),
        created_by_user_id: Set(None),
        created_at: Set(now),
        origin: Set(ORIGIN_SHIPPED.to_owned()),
    }
    .insert(conn)
    .await?;
    Ok((id, entry.questionnaire.clone()))
}

/// Loads a stored questionnaire by id, for an assessment.
///
/// # Errors
/// Fails on a database error, or when the stored copy no longer parses.
pub async fn load(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    id: QuestionnaireId,
) -> Result<Option<Questionnaire>, StoreError> {
    let row = questionnaire::Entity::find_by_id(id.0)
        .filter(questionnaire::Column::TenantId.eq(tenant.0))
        .one(conn)
        .await?;
    row.as_ref().map(parse_stored).transpose()
}
