//! Server-side staff sessions. The cookie contains a random secret. The table stores its hash,
//! the member, the CSRF token and the expiry.

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use super::entities::{session, tenant, user};
use crate::auth::token;
use crate::ids::{TenantId, UserId};

/// Maximum lifetime of a session, however active, before the member signs in again.
pub const MAX_LIFETIME: TimeDelta = TimeDelta::days(7);

/// A new session's cookie secret and CSRF token.
pub struct NewSession {
    pub secret: String,
    pub csrf_token: String,
}

/// Creates a session for a member.
///
/// # Errors
/// Fails when the insert fails.
pub async fn create(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    user: UserId,
    idle: TimeDelta,
    now: DateTime<Utc>,
) -> Result<NewSession, sea_orm::DbErr> {
    let secret = token::generate("");
    let csrf_token = token::generate("");
    session::ActiveModel {
        id: Set(uuid::Uuid::new_v4()),
        token_hash: Set(token::hash(&secret)),
        tenant_id: Set(tenant.0),
        user_id: Set(user.0),
        csrf_token: Set(csrf_token.clone()),
        created_at: Set(now),
        last_seen_at: Set(now),
        expires_at: Set(now + idle),
    }
    .insert(conn)
    .await?;
    Ok(NewSession { secret, csrf_token })
}

/// Finds a live session with its active member and tenant.
///
/// # Errors
/// Fails when the query fails.
pub async fn find(
    conn: &impl ConnectionTrait,
    secret: &str,
    now: DateTime<Utc>,
) -> Result<Option<(session::Model, user::Model, tenant::Model)>, sea_orm::DbErr> {
    let Some(session) = session::Entity::find()
        .filter(session::Column::TokenHash.eq(token::hash(secret)))
        .filter(session::Column::ExpiresAt.gt(now))
        .filter(session::Column::CreatedAt.gt(now - MAX_LIFETIME))
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    let Some(user) = user::Entity::find_by_id(session.user_id)
        .filter(user::Column::TenantId.eq(session.tenant_id))
        .filter(user::Column::Status.eq(super::users::STATUS_ACTIVE))
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    let Some(tenant) = tenant::Entity::find_by_id(session.tenant_id)
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    Ok(Some((session, user, tenant)))
}

/// Extends a session's idle expiry.
///
/// # Errors
/// Fails when the update fails.
pub async fn touch(
    conn: &impl ConnectionTrait,
    session: &session::Model,
    idle: TimeDelta,
    now: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    session::Entity::update_many()
        .col_expr(session::Column::LastSeenAt, Expr::value(now))
        .col_expr(session::Column::ExpiresAt, Expr::value(now + idle))
        .filter(session::Column::Id.eq(session.id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Ends the session with this cookie secret.
///
/// # Errors
/// Fails when the delete fails.
pub async fn delete(conn: &impl ConnectionTrait, secret: &str) -> Result<(), sea_orm::DbErr> {
    session::Entity::delete_many()
        .filter(session::Column::TokenHash.eq(token::hash(secret)))
        .exec(conn)
        .await?;
    Ok(())
}

/// Ends every session of a member, as when the account is deactivated or its password changes.
///
/// # Errors
/// Fails when the delete fails.
pub async fn delete_for_user(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    user: UserId,
) -> Result<(), sea_orm::DbErr> {
    session::Entity::delete_many()
        .filter(session::Column::TenantId.eq(tenant.0))
        .filter(session::Column::UserId.eq(user.0))
        .exec(conn)
        .await?;
    Ok(())
}
