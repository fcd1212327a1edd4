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
    /// The action in words, such as "Vendor updated".
    pub label: String,
    /// The fields that changed, as "field: before → after".
    pub changes: Vec<String>,
    pub object_type: String,
    pub object_id: Uuid,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// Lists the newest events about any of several objects, newest first: a vendor's page shows
/// its own events together with those of its assessments and risks.
///
/// # Errors
/// Fails when the query fails.
pub async fn list_for_objects(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    ids: Vec<Uuid>,
    limit: u64,
) -> Result<Vec<AuditEntry>, sea_orm::DbErr> {
    let rows = audit_event::Entity::find()
        .filter(audit_event::Column::TenantId.eq(tenant.0))
        .filter(audit_event::Column::ObjectId.is_in(ids))
        .order_by_desc(audit_event::Column::CreatedAt)
        .order_by_desc(audit_event::Column::Id)
        .limit(limit)
        .all(conn)
        .await?;
    Ok(rows.into_iter().map(entry).collect())
}

fn entry(row: audit_event::Model) -> AuditEntry {
    AuditEntry {
        at: row.created_at,
        actor: row.actor_label,
        label: action_label(&row.action),
        changes: describe_changes(row.before.as_ref(), row.after.as_ref()),
        action: row.action,
        object_type: row.object_type,
        object_id: row.object_id,
        before: row.before,
        after: row.after,
    }
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
            label: action_label(&row.action),
            changes: describe_changes(row.before.as_ref(), row.after.as_ref()),
            action: row.action,
            object_type: row.object_type,
            object_id: row.object_id,
            before: row.before,
            after: row.after,
        })
        .collect())
}

/// Returns an action in words: "vendor.contact_added" becomes "Vendor contact added".
pub fn action_label(action: &str) -> String {
    let words = action.replace(['.', '_'], " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Lists the fields whose values differ between `before` and `after`, one level of nesting deep
/// (so a vendor's `profile.phi_access` shows), as "field: before → after".
pub fn describe_changes(
    before: Option<&serde_json::Value>,
    after: Option<&serde_json::Value>,
) -> Vec<String> {
    fn flatten(value: Option<&serde_json::Value>) -> Vec<(String, String)> {
        let Some(serde_json::Value::Object(map)) = value else {
            return Vec::new();
        };
        let mut fields = Vec::new();
        for (key, value) in map {
            match value {
                serde_json::Value::Object(inner) => {
                    for (inner_key, inner_value) in inner {
                        fields.push((format!("{key}.{inner_key}"), show(inner_value)));
                    }
                }
                other => fields.push((key.clone(), show(other))),
            }
        }
        fields
    }
    fn show(value: &serde_json::Value) -> String {
        let text = match value {
            serde_json::Value::Null => "none".to_owned(),
            serde_json::Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        if text.chars().count() > 80 {
            format!("{}…", text.chars().take(80).collect::<String>())
        } else {
            text
        }
    }
    const NOISE: &[&str] = &["updated_at", "created_at", "tier_reason"];
    let old = flatten(before);
    let new = flatten(after);
    new.iter()
        .filter(|(key, _)| !NOISE.contains(&key.as_str()))
        .filter_map(|(key, value)| {
            let previous = old
                .iter()
                .find(|(old_key, _)| old_key == key)
                .map(|(_, value)| value.as_str());
            match previous {
                Some(previous) if previous == value => None,
                Some(previous) if before.is_some() => Some(format!("{key}: {previous} → {value}")),
                _ if before.is_none() => None,
                _ => Some(format!("{key}: → {value}")),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_changes_lists_changed_fields() {
        let before = serde_json::json!({ "name": "Acme", "tier": "critical", "profile": { "phi_access": "bulk" }, "updated_at": "x" });
        let after = serde_json::json!({ "name": "Acme", "tier": "high", "profile": { "phi_access": "limited" }, "updated_at": "y" });
        assert_eq!(
            describe_changes(Some(&before), Some(&after)),
            [
                "profile.phi_access: bulk → limited",
                "tier: critical → high"
            ]
        );
        assert!(
            describe_changes(None, Some(&after)).is_empty(),
            "a creation lists no changes"
        );
    }

    #[test]
    fn action_label_reads_as_words() {
        assert_eq!(action_label("vendor.contact_added"), "Vendor contact added");
    }
}
