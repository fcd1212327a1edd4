//! Extractors that resolve the caller: [`Member`] for staff pages (session cookie),
//! [`ApiClient`] for the JSON API (bearer token) and [`StaffForm`] for state-changing forms
//! (session plus CSRF token). Each records the tenant id in the request's span.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use axum_extra::extract::CookieJar;
use chrono::TimeDelta;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::token;
use crate::app::AppState;
use crate::domain::role::{Permission, Role};
use crate::error::AppError;
use crate::ids::{ApiTokenId, TenantId, UserId};
use crate::store::audit::Actor;
use crate::store::{api_tokens, sessions};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "portal_session";

/// How often a session's idle expiry is pushed forward, to spare a write per request.
const TOUCH_INTERVAL: TimeDelta = TimeDelta::minutes(1);

/// A signed-in staff member.
#[derive(Clone, Debug, Serialize)]
pub struct Member {
    pub user_id: UserId,
    pub tenant_id: TenantId,
    pub tenant_name: String,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub csrf_token: String,
}

impl Member {
    /// Checks that the member's role allows `permission`.
    ///
    /// # Errors
    /// [`AppError::Forbidden`] naming the role.
    pub fn require(&self, permission: Permission) -> Result<(), AppError> {
        if self.role.allows(permission) {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "Your role ({}) does not allow this. Ask an administrator of {} if you need it.",
                self.role.label(),
                self.tenant_name
            )))
        }
    }

    pub fn actor(&self) -> Actor {
        Actor::User {
            id: self.user_id,
            name: self.name.clone(),
        }
    }

    pub fn can(&self, permission: Permission) -> bool {
        self.role.allows(permission)
    }
}

fn record_tenant(tenant: TenantId) {
    tracing::Span::current().record("tenant_id", tracing::field::display(tenant));
}

impl FromRequestParts<AppState> for Member {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(member) = parts.extensions.get::<Member>() {
            return Ok(member.clone());
        }
        let jar = CookieJar::from_headers(&parts.headers);
        let secret = jar
            .get(SESSION_COOKIE)
            .ok_or(AppError::Unauthenticated)?
            .value()
            .to_owned();
        let now = state.clock().now();
        let Some((session, user, tenant)) =
            sessions::find(state.db().reader(), &secret, now).await?
        else {
            return Err(AppError::Unauthenticated);
        };
        if now - session.last_seen_at > TOUCH_INTERVAL {
            let idle = TimeDelta::minutes(state.config().session_idle_minutes);
            sessions::touch(state.db().writer(), &session, idle, now).await?;
        }
        let role = user
            .role
            .parse::<Role>()
            .map_err(|message| AppError::Internal(anyhow::anyhow!("users.role: {message}")))?;
        let member = Member {
            user_id: UserId(user.id),
            tenant_id: TenantId(tenant.id),
            tenant_name: tenant.name,
            name: user.name,
            email: user.email,
            role,
            csrf_token: session.csrf_token,
        };
        record_tenant(member.tenant_id);
        parts.extensions.insert(member.clone());
        Ok(member)
    }
}

impl axum::extract::OptionalFromRequestParts<AppState> for Member {
    type Rejection = AppError;

    /// Returns `None` for a visitor without a valid session; other failures stay errors.
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, Self::Rejection> {
        match <Member as FromRequestParts<AppState>>::from_request_parts(parts, state).await {
            Ok(member) => Ok(Some(member)),
            Err(AppError::Unauthenticated) => Ok(None),
            Err(error) => Err(error),
        }
    }
}

/// A caller of the JSON API, authenticated by `Authorization: Bearer TOKEN`.
#[derive(Clone, Debug)]
pub struct ApiClient {
    pub token_id: ApiTokenId,
    pub tenant_id: TenantId,
    pub name: String,
    pub role: Role,
}

impl ApiClient {
    /// Checks that the token's role allows `permission`.
    ///
    /// # Errors
    /// [`AppError::Forbidden`] naming the role.
    pub fn require(&self, permission: Permission) -> Result<(), AppError> {
        if self.role.allows(permission) {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "This API token has the {} role, which does not allow this request.",
                self.role.as_str()
            )))
        }
    }

    pub fn actor(&self) -> Actor {
        Actor::ApiToken {
            id: self.token_id,
            name: self.name.clone(),
        }
    }
}

impl FromRequestParts<AppState> for ApiClient {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .ok_or(AppError::BadToken)?;
        let secret = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .map(str::trim)
            .ok_or(AppError::BadToken)?;
        let Some(api_token) = api_tokens::find(state.db().reader(), secret).await? else {
            return Err(AppError::BadToken);
        };
        api_tokens::mark_used(state.db().writer(), &api_token, state.clock().now()).await?;
        let role = api_token
            .role
            .parse::<Role>()
            .map_err(|message| AppError::Internal(anyhow::anyhow!("api_tokens.role: {message}")))?;
        let client = ApiClient {
            token_id: ApiTokenId(api_token.id),
            tenant_id: TenantId(api_token.tenant_id),
            name: api_token.name,
            role,
        };
        record_tenant(client.tenant_id);
        Ok(client)
    }
}

/// A URL-encoded form posted by a signed-in member, accepted only with the session's CSRF token
/// in the `csrf_token` field.
pub struct StaffForm<T> {
    pub member: Member,
    pub form: T,
}

impl<T: DeserializeOwned> FromRequest<AppState> for StaffForm<T> {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let member = Member::from_request_parts(&mut parts, state).await?;
        let is_form = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"));
        if !is_form {
            return Err(AppError::bad_request(
                "unsupported_form",
                "This address takes a form (application/x-www-form-urlencoded).",
            ));
        }
        let bytes = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|rejection| AppError::bad_request("invalid_form", rejection.body_text()))?;
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).map_err(|_| {
            AppError::bad_request(
                "invalid_form",
                "The form could not be read. Reload the page and try again.",
            )
        })?;
        let sent = pairs
            .iter()
            .find(|(name, _)| name == "csrf_token")
            .map(|(_, value)| value.as_str())
            .unwrap_or_default();
        if !token::constant_time_eq(sent, &member.csrf_token) {
            return Err(AppError::CsrfRejected);
        }
        let form = serde_urlencoded::from_bytes(&bytes).map_err(|error| {
            AppError::bad_request(
                "invalid_form",
                format!("The form could not be read: {error}."),
            )
        })?;
        Ok(Self { member, form })
    }
}

/// Checks the CSRF token of a multipart form, whose fields the handler reads itself.
///
/// # Errors
/// [`AppError::CsrfRejected`] when the token does not match the session's.
pub fn check_csrf(member: &Member, sent: &str) -> Result<(), AppError> {
    if token::constant_time_eq(sent, &member.csrf_token) {
        Ok(())
    } else {
        Err(AppError::CsrfRejected)
    }
}
