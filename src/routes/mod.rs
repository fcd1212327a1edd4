//! HTTP routes: staff pages, the JSON API under `/api/v1`, health check and static files.

pub mod api;
pub mod download;
pub mod import;
pub mod pages;
pub mod session;
pub mod staff;
pub mod vendor;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::app::AppState;

/// Builds every route.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/static/portal.css", get(stylesheet))
        .route("/static/vendor.js", get(vendor_script))
        .nest("/api/v1", api::router())
        .merge(pages::router(state.clone()))
        .fallback(pages::not_found_page)
        .with_state(state)
}

/// Returns 200 when the database responds, 503 otherwise.
async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    match state.db().ping().await {
        Ok(()) => (StatusCode::OK, "ok\n"),
        Err(error) => {
            tracing::error!(error = %error, "health check failed: the database did not respond");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n")
        }
    }
}

async fn vendor_script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/vendor.js"),
    )
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/portal.css"),
    )
}

/// Parses an id from the path. A malformed id gets the same 404 as an unknown one.
///
/// # Errors
/// [`crate::error::AppError::NotFound`] when the text is not an id.
pub fn parse_path_id<T: std::str::FromStr>(text: &str) -> Result<T, crate::error::AppError> {
    text.parse().map_err(|_| crate::error::AppError::NotFound)
}

/// A query string whose parse errors use the portal's error shape (JSON for the API, an HTML
/// page for staff pages) instead of axum's plain-text rejection.
pub struct QueryParams<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for QueryParams<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = crate::error::AppError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Self(value))
            .map_err(|rejection| {
                let detail = rejection.body_text();
                let detail = detail
                    .strip_prefix("Failed to deserialize query string: ")
                    .unwrap_or(&detail);
                crate::error::AppError::invalid(
                    "query",
                    format!("The query string is invalid: {detail}."),
                )
            })
    }
}
