//! The one-time setup link that creates the first tenant of an empty installation.

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use super::entities::setup_token;
use crate::auth::token;

/// How long a setup link stays valid.
pub const LIFETIME: TimeDelta = TimeDelta::hours(24);

/// Creates a setup link secret, cancelling earlier unused ones, and returns the secret.
///
/// # Errors
/// Fails when the database fails.
pub async fn create(
    conn: &impl ConnectionTrait,
    now: DateTime<Utc>,
) -> Result<String, sea_orm::DbErr> {
    setup_token::Entity::update_many()
        .col_expr(setup_token::Column::UsedAt, Expr::value(Some(now)))
        .filter(setup_token::Column::UsedAt.is_null())
        .exec(conn)
        .await?;
    let secret = token::generate("");
    setup_token::ActiveModel {
        id: Set(uuid::Uuid::new_v4()),
        token_hash: Set(token::hash(&secret)),
        created_at: Set(now),
        expires_at: Set(now + LIFETIME),
        used_at: Set(None),
    }
    .insert(conn)
    .await?;
    Ok(secret)
}

/// Finds an unused, unexpired setup link without using it up.
///
/// # Errors
/// Fails when the query fails.
pub async fn find(
    conn: &impl ConnectionTrait,
    secret: &str,
    now: DateTime<Utc>,
) -> Result<Option<setup_token::Model>, sea_orm::DbErr> {
    setup_token::Entity::find()
        .filter(setup_token::Column::TokenHash.eq(token::hash(secret)))
        .filter(setup_token::Column::UsedAt.is_null())
        .filter(setup_token::Column::ExpiresAt.gt(now))
        .one(conn)
        .await
}

/// Marks a setup link used. Returns false when another request used it first.
///
/// # Errors
/// Fails when the update fails.
pub async fn use_up(
    conn: &impl ConnectionTrait,
    link: &setup_token::Model,
    now: DateTime<Utc>,
) -> Result<bool, sea_orm::DbErr> {
    let result = setup_token::Entity::update_many()
        .col_expr(setup_token::Column::UsedAt, Expr::value(Some(now)))
        .filter(setup_token::Column::Id.eq(link.id))
        .filter(setup_token::Column::UsedAt.is_null())
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}
