//! The JSON API under `/api/v1`, authenticated by tenant-scoped bearer tokens. Every error is
//! `{"error": {"code": ..., "message": ...}}`; see `docs/api.md`.

mod assessments;
mod metrics;
mod questionnaires;
mod risks;
mod settings;
mod vendors;

use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::app::AppState;
use crate::error::AppError;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(vendors::router())
        .merge(questionnaires::router())
        .merge(assessments::router())
        .merge(risks::router())
        .merge(settings::router())
        .merge(metrics::router())
}

/// A JSON request body whose errors use the API's error shape.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_error(&rejection)),
        }
    }
}

fn json_error(rejection: &JsonRejection) -> AppError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => AppError::bad_request(
            "unsupported_media_type",
            "Send the body as JSON with Content-Type: application/json.",
        ),
        JsonRejection::JsonDataError(error) => AppError::invalid("body", error.body_text()),
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            AppError::PayloadTooLarge("The request body is too large.".to_owned())
        }
        other => AppError::bad_request("invalid_json", other.body_text()),
    }
}
