//! Staff accounts and their one-time links (invitations and password resets).

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder, Set,
};

use super::entities::{user, user_token};
use crate::auth::token;
use crate::domain::email::EmailAddress;
use crate::domain::role::Role;
use crate::ids::{TenantId, UserId};

/// Failed sign-ins in a row after which an account is locked for [`LOCKOUT`].
pub const MAX_FAILED_SIGN_INS: i32 = 10;
pub const LOCKOUT: TimeDelta = TimeDelta::minutes(15);

/// How long an invitation or password link stays valid.
pub const LINK_LIFETIME: TimeDelta = TimeDelta::days(7);

pub const STATUS_INVITED: &str = "invited";
pub const STATUS_ACTIVE: &str = "active";
pub const STATUS_DEACTIVATED: &str = "deactivated";

/// Creates an account that has no password yet.
///
/// # Errors
/// Fails on a database error, including a unique violation when the tenant already has an
/// account with this e-mail address (see [`super::is_unique_violation`]).
pub async fn create_invited(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    email: &EmailAddress,
    name: &str,
    role: Role,
    now: DateTime<Utc>,
) -> Result<user::Model, sea_orm::DbErr> {
    user::ActiveModel {
        id: Set(UserId::new().0),
        tenant_id: Set(tenant.0),
        email: Set(email.as_str().to_owned()),
        email_key: Set(email.key()),
        name: Set(name.to_owned()),
        role: Set(role.as_str().to_owned()),
        status: Set(STATUS_INVITED.to_owned()),
        password_hash: Set(None),
        failed_sign_ins: Set(0),
        locked_until: Set(None),
        last_sign_in_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(conn)
    .await
}

/// Finds an account of the tenant.
///
/// # Errors
/// Fails when the query fails.
pub async fn get(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    id: UserId,
) -> Result<Option<user::Model>, sea_orm::DbErr> {
    user::Entity::find_by_id(id.0)
        .filter(user::Column::TenantId.eq(tenant.0))
        .one(conn)
        .await
}

/// Lists the tenant's accounts by name.
///
/// # Errors
/// Fails when the query fails.
pub async fn list(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
) -> Result<Vec<user::Model>, sea_orm::DbErr> {
    user::Entity::find()
        .filter(user::Column::TenantId.eq(tenant.0))
        .order_by_asc(user::Column::Name)
        .order_by_asc(user::Column::Id)
        .all(conn)
        .await
}

/// Finds active accounts with this e-mail address in every tenant. Sign-in is the one place
/// that looks across tenants, because the tenant is not known until the password matches.
///
/// # Errors
/// Fails when the query fails.
pub async fn find_active_by_email(
    conn: &impl ConnectionTrait,
    email: &str,
) -> Result<Vec<user::Model>, sea_orm::DbErr> {
    user::Entity::find()
        .filter(user::Column::EmailKey.eq(email.trim().to_lowercase()))
        .filter(user::Column::Status.eq(STATUS_ACTIVE))
        .order_by_asc(user::Column::CreatedAt)
        .all(conn)
        .await
}

/// Counts the tenant's active administrators, so the last one cannot be removed.
///
/// # Errors
/// Fails when the query fails.
pub async fn count_active_admins(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
) -> Result<u64, sea_orm::DbErr> {
    user::Entity::find()
        .filter(user::Column::TenantId.eq(tenant.0))
        .filter(user::Column::Role.eq(Role::Admin.as_str()))
        .filter(user::Column::Status.eq(STATUS_ACTIVE))
        .count(conn)
        .await
}

/// Stores the member's name and a new password hash, and activates the account.
///
/// # Errors
/// Fails when the update fails.
pub async fn set_password(
    conn: &impl ConnectionTrait,
    user: user::Model,
    name: &str,
    password_hash: String,
    now: DateTime<Utc>,
) -> Result<user::Model, sea_orm::DbErr> {
    let mut active = user.into_active_model();
    active.name = Set(name.to_owned());
    active.password_hash = Set(Some(password_hash));
    active.status = Set(STATUS_ACTIVE.to_owned());
    active.failed_sign_ins = Set(0);
    active.locked_until = Set(None);
    active.updated_at = Set(now);
    active.update(conn).await
}

/// Counts a failed sign-in and locks the account after [`MAX_FAILED_SIGN_INS`] in a row.
///
/// # Errors
/// Fails when the update fails.
pub async fn record_failed_sign_in(
    conn: &impl ConnectionTrait,
    user: &user::Model,
    now: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    let failures = user.failed_sign_ins + 1;
    let locked_until = (failures >= MAX_FAILED_SIGN_INS).then(|| now + LOCKOUT);
    if let Some(until) = locked_until {
        tracing::warn!(user_id = %user.id, tenant_id = %user.tenant_id, locked_until = %until, "account locked after repeated failed sign-ins");
    }
    user::Entity::update_many()
        .col_expr(
            user::Column::FailedSignIns,
            Expr::value(if locked_until.is_some() { 0 } else { failures }),
        )
        .col_expr(user::Column::LockedUntil, Expr::value(locked_until))
        .filter(user::Column::Id.eq(user.id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Records a successful sign-in and clears the failure count.
///
/// # Errors
/// Fails when the update fails.
pub async fn record_sign_in(
    conn: &impl ConnectionTrait,
    user: &user::Model,
    now: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    user::Entity::update_many()
        .col_expr(user::Column::FailedSignIns, Expr::value(0))
        .col_expr(
            user::Column::LockedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(user::Column::LastSignInAt, Expr::value(Some(now)))
        .filter(user::Column::Id.eq(user.id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Changes an account's status or role.
///
/// # Errors
/// Fails when the update fails.
pub async fn update(
    conn: &impl ConnectionTrait,
    user: user::Model,
    role: Role,
    status: &str,
    now: DateTime<Utc>,
) -> Result<user::Model, sea_orm::DbErr> {
    let mut active = user.into_active_model();
    active.role = Set(role.as_str().to_owned());
    active.status = Set(status.to_owned());
    active.updated_at = Set(now);
    active.update(conn).await
}

/// The purpose of a one-time link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkPurpose {
    /// Set the first password of an invited account.
    Invitation,
    /// Replace the password of an existing account.
    PasswordReset,
}

impl LinkPurpose {
    fn as_str(self) -> &'static str {
        match self {
            LinkPurpose::Invitation => "invitation",
            LinkPurpose::PasswordReset => "password_reset",
        }
    }
}

/// Creates a one-time link secret for the account, replacing earlier unused ones of the same
/// purpose. Returns the secret, which is shown once and stored only as a hash.
///
/// # Errors
/// Fails when the database fails.
pub async fn create_link(
    conn: &impl ConnectionTrait,
    user: &user::Model,
    purpose: LinkPurpose,
    now: DateTime<Utc>,
) -> Result<String, sea_orm::DbErr> {
    user_token::Entity::update_many()
        .col_expr(user_token::Column::UsedAt, Expr::value(Some(now)))
        .filter(user_token::Column::UserId.eq(user.id))
        .filter(user_token::Column::Purpose.eq(purpose.as_str()))
        .filter(user_token::Column::UsedAt.is_null())
        .exec(conn)
        .await?;
    let secret = token::generate("");
    user_token::ActiveModel {
        id: Set(uuid::Uuid::new_v4()),
        tenant_id: Set(user.tenant_id),
        user_id: Set(user.id),
        purpose: Set(purpose.as_str().to_owned()),
        token_hash: Set(token::hash(&secret)),
        expires_at: Set(now + LINK_LIFETIME),
        used_at: Set(None),
        created_at: Set(now),
    }
    .insert(conn)
    .await?;
    Ok(secret)
}

/// Finds the account behind an unused, unexpired link without using the link up, so that
/// opening it (or a mail scanner fetching it) changes nothing.
///
/// # Errors
/// Fails when the query fails.
pub async fn find_by_link(
    conn: &impl ConnectionTrait,
    secret: &str,
    now: DateTime<Utc>,
) -> Result<Option<(user_token::Model, user::Model)>, sea_orm::DbErr> {
    let Some(link) = user_token::Entity::find()
        .filter(user_token::Column::TokenHash.eq(token::hash(secret)))
        .filter(user_token::Column::UsedAt.is_null())
        .filter(user_token::Column::ExpiresAt.gt(now))
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    let user = user::Entity::find_by_id(link.user_id)
        .filter(user::Column::TenantId.eq(link.tenant_id))
        .filter(user::Column::Status.ne(STATUS_DEACTIVATED))
        .one(conn)
        .await?;
    Ok(user.map(|user| (link, user)))
}

/// Marks a link used. Returns false when another request used it first.
///
/// # Errors
/// Fails when the update fails.
pub async fn use_link(
    conn: &impl ConnectionTrait,
    link: &user_token::Model,
    now: DateTime<Utc>,
) -> Result<bool, sea_orm::DbErr> {
    let result = user_token::Entity::update_many()
        .col_expr(user_token::Column::UsedAt, Expr::value(Some(now)))
        .filter(user_token::Column::Id.eq(link.id))
        .filter(user_token::Column::UsedAt.is_null())
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}
