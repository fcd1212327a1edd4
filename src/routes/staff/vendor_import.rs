//! Importing vendors from a CSV file through the browser.

use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use minijinja::context;

use crate::app::AppState;
use crate::auth::Member;
use crate::auth::extract::check_csrf;
use crate::domain::role::Permission;
use crate::error::AppError;
use crate::routes::import::{IMPORT_MAX_BYTES, import_csv, too_large};
use crate::routes::pages::render;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/vendors/import", get(page).post(upload))
        .layer(DefaultBodyLimit::max(IMPORT_MAX_BYTES + 64 * 1024))
}

async fn page(State(state): State<AppState>, member: Member) -> Result<Response, AppError> {
    member.require(Permission::ManageVendors)?;
    Ok(render(
        &state,
        Some(&member),
        "pages/vendors/import.html",
        context! { report => None::<()>, error => None::<String> },
    )?
    .into_response())
}

async fn upload(
    State(state): State<AppState>,
    member: Member,
    mut multipart: Multipart,
) -> Result<Response, AppError> {
    member.require(Permission::ManageVendors)?;
    let mut csrf = None;
    let mut file: Option<Vec<u8>> = None;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|error| multipart_error(&error))?
    {
        match field.name() {
            Some("csrf_token") => {
                csrf = Some(
                    field
                        .text()
                        .await
                        .map_err(|error| multipart_error(&error))?,
                )
            }
            Some("file") => {
                // The CSRF token comes first in the form; check it before reading the file.
                check_csrf(&member, csrf.as_deref().unwrap_or_default())?;
                file = Some(
                    field
                        .bytes()
                        .await
                        .map_err(|error| multipart_error(&error))?
                        .to_vec(),
                );
            }
            _ => {}
        }
    }
    check_csrf(&member, csrf.as_deref().unwrap_or_default())?;
    let render_page = |report: Option<&crate::store::vendors::ImportReport>,
                       error: Option<String>,
                       status: StatusCode|
     -> Result<Response, AppError> {
        let html = render(
            &state,
            Some(&member),
            "pages/vendors/import.html",
            context! { report => report, error => error },
        )?;
        Ok((status, html).into_response())
    };
    let Some(bytes) = file.filter(|bytes| !bytes.is_empty()) else {
        return render_page(
            None,
            Some("Choose a CSV file to import.".to_owned()),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    };
    match import_csv(&state, member.tenant_id, &member.actor(), &bytes).await? {
        Err(message) => render_page(None, Some(message), StatusCode::UNPROCESSABLE_ENTITY),
        Ok(report) => {
            let status = if report.imported_anything() {
                StatusCode::OK
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            render_page(Some(&report), None, status)
        }
    }
}

fn multipart_error(error: &axum::extract::multipart::MultipartError) -> AppError {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large()
    } else {
        AppError::bad_request(
            "invalid_upload",
            format!("The upload could not be read: {}.", error.body_text()),
        )
    }
}
