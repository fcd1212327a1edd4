//! Bearer tokens for the JSON API, each scoped to one tenant and stored as a hash.

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};

use super::entities::api_token;
use crate::auth::token;
use crate::domain::role::Role;
use crate::ids::{ApiTokenId, TenantId, UserId};

/// Prefix of every API token, so that a leaked one is recognizable in code or logs scanners.
pub const PREFIX: &str = "vrp_";

/// `last_used_at` is written at most this often per token, to spare a write per request.
const LAST_USED_RESOLUTION: TimeDelta = TimeDelta::minutes(1);

/// Creates a token and returns it with the secret, which is shown once.
///
/// # Errors
/// Fails when the insert fails.
pub async fn create(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    name: &str,
    role: Role,
    created_by: Option<UserId>,
    now: DateTime<Utc>,
) -> Result<(api_token::Model, String), sea_orm::DbErr> {
    let secret = token::generate(PREFIX);
    let model = api_token::ActiveModel {
        id: Set(ApiTokenId::new().0),
        tenant_id: Set(tenant.0),
        name: Set(name.to_owned()),
        token_hash: Set(token::hash(&secret)),
        role: Set(role.as_str().to_owned()),
        created_by_user_id: Set(created_by.map(|user| user.0)),
        created_at: Set(now),
        last_used_at: Set(None),
        revoked_at: Set(None),
    }
    .insert(conn)
    .await?;
    Ok((model, secret))
}

/// Finds the live token with this secret.
///
/// # Errors
/// Fails when the query fails.
pub async fn find(
    conn: &impl ConnectionTrait,
    secret: &str,
) -> Result<Option<api_token::Model>, sea_orm::DbErr> {
    api_token::Entity::find()
        .filter(api_token::Column::TokenHash.eq(token::hash(secret)))
        .filter(api_token::Column::RevokedAt.is_null())
        .one(conn)
        .await
}

/// Records that a token was used, at most once a minute.
///
/// # Errors
/// Fails when the update fails.
pub async fn mark_used(
    conn: &impl ConnectionTrait,
    token: &api_token::Model,
    now: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    if token
        .last_used_at
        .is_some_and(|last| now - last < LAST_USED_RESOLUTION)
    {
        return Ok(());
    }
    api_token::Entity::update_many()
        .col_expr(api_token::Column::LastUsedAt, Expr::value(Some(now)))
        .filter(api_token::Column::Id.eq(token.id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Lists the tenant's tokens, newest first.
///
/// # Errors
/// Fails when the query fails.
pub async fn list(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
) -> Result<Vec<api_token::Model>, sea_orm::DbErr> {
    api_token::Entity::find()
        .filter(api_token::Column::TenantId.eq(tenant.0))
        .order_by_desc(api_token::Column::CreatedAt)
        .order_by_desc(api_token::Column::Id)
        .all(conn)
        .await
}

/// Revokes a token of the tenant. Returns false when the tenant has no such live token.
///
/// # Errors
/// Fails when the update fails.
pub async fn revoke(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    id: ApiTokenId,
    now: DateTime<Utc>,
) -> Result<bool, sea_orm::DbErr> {
    let result = api_token::Entity::update_many()
        .col_expr(api_token::Column::RevokedAt, Expr::value(Some(now)))
        .filter(api_token::Column::TenantId.eq(tenant.0))
        .filter(api_token::Column::Id.eq(id.0))
        .filter(api_token::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}
