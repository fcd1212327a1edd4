//! Tenants: one per customer organization.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, PaginatorTrait, Set};

use super::entities::tenant;
use crate::ids::TenantId;

/// Creates a tenant.
///
/// # Errors
/// Fails when the insert fails.
pub async fn create(
    conn: &impl ConnectionTrait,
    name: &str,
    now: DateTime<Utc>,
) -> Result<tenant::Model, sea_orm::DbErr> {
    tenant::ActiveModel {
        id: Set(TenantId::new().0),
        name: Set(name.to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(conn)
    .await
}

/// Finds a tenant by id.
///
/// # Errors
/// Fails when the query fails.
pub async fn get(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
) -> Result<Option<tenant::Model>, sea_orm::DbErr> {
    tenant::Entity::find_by_id(tenant.0).one(conn).await
}

/// Lists every tenant, oldest first, for operators.
///
/// # Errors
/// Fails when the query fails.
pub async fn list(conn: &impl ConnectionTrait) -> Result<Vec<tenant::Model>, sea_orm::DbErr> {
    use sea_orm::QueryOrder;
    tenant::Entity::find()
        .order_by_asc(tenant::Column::CreatedAt)
        .all(conn)
        .await
}

/// Finds a tenant whose name matches, ignoring case and surrounding spaces.
///
/// # Errors
/// Fails when the query fails.
pub async fn find_by_name(
    conn: &impl ConnectionTrait,
    name: &str,
) -> Result<Option<tenant::Model>, sea_orm::DbErr> {
    let wanted = name.trim().to_lowercase();
    Ok(list(conn)
        .await?
        .into_iter()
        .find(|tenant| tenant.name.trim().to_lowercase() == wanted))
}

/// Counts tenants, to tell an empty installation from a used one.
///
/// # Errors
/// Fails when the query fails.
pub async fn count(conn: &impl ConnectionTrait) -> Result<u64, sea_orm::DbErr> {
    tenant::Entity::find().count(conn).await
}

/// Checks a tenant (organization) name and returns it trimmed.
///
/// # Errors
/// Returns a message for an empty or too long name.
pub fn parse_name(input: &str) -> Result<String, String> {
    let name = input.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() {
        return Err("Enter the organization's name.".to_owned());
    }
    if name.chars().count() > 200 {
        return Err("The organization name is longer than 200 characters.".to_owned());
    }
    Ok(name)
}

/// Creates a tenant and its first administrator (without a password yet), in the caller's
/// transaction.
///
/// # Errors
/// Fails when an insert fails.
pub async fn create_with_admin(
    conn: &impl ConnectionTrait,
    name: &str,
    admin_email: &crate::domain::email::EmailAddress,
    admin_name: &str,
    now: DateTime<Utc>,
) -> Result<(tenant::Model, super::entities::user::Model), sea_orm::DbErr> {
    let tenant = create(conn, name, now).await?;
    let user = super::users::create_invited(
        conn,
        TenantId(tenant.id),
        admin_email,
        admin_name,
        crate::domain::role::Role::Admin,
        now,
    )
    .await?;
    Ok((tenant, user))
}
