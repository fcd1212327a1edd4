//! The audit trail: who did what to which object, when, with the values before and after.
//! Rows are only ever inserted.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde::Serialize;
use uuid::Uuid;

use super::entities::audit_event;
use crate::ids::{ApiTokenId, ContactId, TenantId, UserId};

/// The author of a change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// A signed-in staff member.
    User { id: UserId, name: String },
    /// A caller of the JSON API.
    ApiToken { id: ApiTokenId, name: String },
    /// A vendor contact, through an e-mailed link.
    Contact { id: ContactId, name: String },
    /// The portal itself, such as a command-line action or a scheduled job.
    System { what: String },
}

impl Actor {
    /// Returns the stored form: kind, id and label.
    pub fn parts(&self) -> (&'static str, Option<Uuid>, String) {
        match self {
            Actor::Contact { id, name } => ("contact", Some(id.0), format!("{name} (vendor)")),
            Actor::User { id, name } => ("user", Some(id.0), name.clone()),
            Actor::ApiToken { id, name } => {
                ("api_token", Some(id.0), format!("API token \"{name}\""))
            }
            Actor::System { what } => ("system", None, what.clone()),
        }
    }
}

/// One change to record.
pub struct Change<'a> {
    pub action: &'a str,
    pub object_type: &'a str,
    pub object_id: Uuid,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// Appends one event.
///
/// # Errors
/// Fails when the database rejects the insert; call it inside the transaction of the change so
/// that both are stored or neither.
pub async fn record(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    actor: &Actor,
    change: Change<'_>,
    now: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    let (kind, actor_id, label) = actor.parts();
    audit_event::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant.0),
        actor_kind: Set(kind.to_owned()),
        actor_id: Set(actor_id),
        actor_label: Set(label),
        action: Set(change.action.to_owned()),
        object_type: Set(change.object_type.to_owned()),
        object_id: Set(change.object_id),
        before: Set(change.before),
        after: Set(change.after),
        created_at: Set(now),
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// An event as shown on a page or returned by the API.
#[derive(Clone, Debug, Serialize)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub object_type: String,
    pub object_id: Uuid,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// Lists the newest events about one object, newest first.
///
/// # Errors
/// Fails when the query fails.
pub async fn list_for_object(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    object_type: &str,
    object_id: Uuid,
    limit: u64,
) -> Result<Vec<AuditEntry>, sea_orm::DbErr> {
    let rows = audit_event::Entity::find()
        .filter(audit_event::Column::TenantId.eq(tenant.0))
        .filter(audit_event::Column::ObjectType.eq(object_type))
        .filter(audit_event::Column::ObjectId.eq(object_id))
        .order_by_desc(audit_event::Column::CreatedAt)
        .order_by_desc(audit_event::Column::Id)
        .limit(limit)
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| AuditEntry {
            at: row.created_at,
            actor: row.actor_label,
            action: row.action,
            object_type: row.object_type,
            object_id: row.object_id,
            before: row.before,
            after: row.after,
        })
        .collect())
}
