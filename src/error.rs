//! The one error type at the HTTP edge.
//!
//! Handlers return [`AppError`]. Its response is the JSON error shape of the API,
//! `{"error": {"code": ..., "message": ...}}`. Staff and vendor pages pass responses through
//! a layer in `routes::pages` that turns the same error into an HTML page.
//! Internal causes are logged and never shown.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// One invalid input field and what to do about it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// Errors of several fields, collected so that a form shows all of them at once.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct FieldErrors(pub Vec<FieldError>);

impl FieldErrors {
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Returns the message for `field`, if it has one.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|error| error.field == field)
            .map(|error| error.message.as_str())
    }

    /// Returns `Ok(())` when no field has an error.
    ///
    /// # Errors
    /// Returns [`AppError::Invalid`] with every collected error.
    pub fn into_result(self) -> Result<(), AppError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(AppError::Invalid(self))
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The object does not exist or belongs to another tenant. Both look the same to the caller.
    #[error("The page or object was not found.")]
    NotFound,
    /// No valid session.
    #[error("Sign in to continue.")]
    Unauthenticated,
    /// No valid API token.
    #[error(
        "The API token is missing, unknown or revoked. Send the header \"Authorization: Bearer TOKEN\" with a token from the API tokens page."
    )]
    BadToken,
    /// The caller's role does not allow the action within its own tenant.
    #[error("{0}")]
    Forbidden(String),
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    #[error("{}", describe_fields(.0))]
    Invalid(FieldErrors),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    /// A service the request needs (such as the evidence store) is down; nothing was changed.
    #[error("{0}")]
    Unavailable(String),
    /// A state-changing form arrived without the CSRF token of the caller's session.
    #[error(
        "This form has expired or did not come from this site. Go back, reload the page and submit it again."
    )]
    CsrfRejected,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

fn describe_fields(errors: &FieldErrors) -> String {
    let parts: Vec<String> = errors
        .0
        .iter()
        .map(|error| format!("{}: {}", error.field, error.message))
        .collect();
    parts.join("; ")
}

impl From<sea_orm::DbErr> for AppError {
    fn from(error: sea_orm::DbErr) -> Self {
        Self::Internal(anyhow::Error::new(error))
    }
}

impl From<sea_orm::TransactionError<AppError>> for AppError {
    fn from(error: sea_orm::TransactionError<AppError>) -> Self {
        match error {
            sea_orm::TransactionError::Connection(error) => error.into(),
            sea_orm::TransactionError::Transaction(error) => error,
        }
    }
}

impl AppError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            message: message.into(),
        }
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        let mut errors = FieldErrors::default();
        errors.add(field, message);
        Self::Invalid(errors)
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Unauthenticated | Self::BadToken => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) | Self::CsrfRejected => StatusCode::FORBIDDEN,
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::Unauthenticated | Self::BadToken => "unauthenticated",
            Self::Forbidden(_) => "forbidden",
            Self::CsrfRejected => "csrf_rejected",
            Self::BadRequest { code, .. } => code,
            Self::Invalid(_) => "invalid",
            Self::Conflict(_) => "conflict",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::Unavailable(_) => "unavailable",
            Self::Internal(_) => "internal",
        }
    }

    /// Returns the message shown to the caller. Internal causes stay in the log.
    pub fn public_message(&self) -> String {
        match self {
            Self::Internal(_) => {
                "Something went wrong on our side and nothing was changed. Try again in a minute; if it keeps happening, tell your administrator.".to_owned()
            }
            other => other.to_string(),
        }
    }
}

/// Details for rendering an error as an HTML page, attached to every error response.
#[derive(Clone, Debug)]
pub struct ErrorDetails {
    pub code: &'static str,
    pub message: String,
    pub fields: FieldErrors,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorPayload<'a>,
}

#[derive(Serialize)]
struct ErrorPayload<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "FieldErrors::is_empty")]
    fields: &'a FieldErrors,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let Self::Internal(cause) = &self {
            tracing::error!(error = format!("{cause:#}"), "request failed");
        }
        let status = self.status();
        let code = self.code();
        let message = self.public_message();
        let fields = match &self {
            Self::Invalid(fields) => fields.clone(),
            _ => FieldErrors::default(),
        };
        let body = ErrorBody {
            error: ErrorPayload {
                code,
                message: &message,
                fields: &fields,
            },
        };
        let mut response = (status, Json(body)).into_response();
        response.extensions_mut().insert(ErrorDetails {
            code,
            message,
            fields,
        });
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_error_hides_cause() {
        let error = AppError::Internal(anyhow::anyhow!("password=hunter2 connection refused"));
        assert!(!error.public_message().contains("hunter2"));
        assert_eq!(error.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn invalid_lists_every_field() {
        let mut errors = FieldErrors::default();
        errors.add("name", "Enter a name.");
        errors.add("email", "Enter an e-mail address.");
        let message = AppError::Invalid(errors).to_string();
        assert!(message.contains("name: Enter a name."));
        assert!(message.contains("email: Enter an e-mail address."));
    }
}
