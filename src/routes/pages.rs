//! Shared pieces of the HTML pages: the router of staff pages, rendering with the signed-in
//! member's context, and the layer that turns error responses into pages.

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use serde::Serialize;

use crate::app::AppState;
use crate::auth::Member;
use crate::domain::role::Permission;
use crate::error::{AppError, ErrorDetails};

/// Builds the router of staff pages, whose errors are rendered as HTML pages.
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .merge(super::session::router())
        .merge(super::staff::router())
        .merge(super::vendor::router())
        .layer(middleware::from_fn_with_state(state, render_error_pages))
}

/// Returns the 404 response for paths that match no route: JSON under `/api/`, else the HTML page.
pub async fn not_found_page(State(state): State<AppState>, uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/api/") {
        return AppError::NotFound.into_response();
    }
    error_page(
        &state,
        StatusCode::NOT_FOUND,
        &AppError::NotFound.public_message(),
        &Default::default(),
        None,
    )
    .unwrap_or_else(|| AppError::NotFound.into_response())
}

fn error_page(
    state: &AppState,
    status: StatusCode,
    message: &str,
    fields: &crate::error::FieldErrors,
    retry: Option<&str>,
) -> Option<Response> {
    let title = match status {
        StatusCode::NOT_FOUND => "Page not found",
        StatusCode::FORBIDDEN => "Not allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "File too large",
        StatusCode::INTERNAL_SERVER_ERROR => "Something went wrong",
        _ => "This request could not be completed",
    };
    let context = context! { viewer => None::<()>, title => title, message => message, fields => fields, status => status.as_u16(), retry => retry };
    match state.templates().render("pages/error.html", context) {
        Ok(html) => {
            Some((status, [(header::CACHE_CONTROL, "no-store")], Html(html)).into_response())
        }
        Err(error) => {
            tracing::error!(error = %error, "failed to render the error page");
            None
        }
    }
}

/// Facts about the signed-in member that every page shows.
#[derive(Serialize)]
struct Viewer<'a> {
    name: &'a str,
    tenant_name: &'a str,
    role: &'a str,
    role_label: &'a str,
    csrf_token: &'a str,
    can_manage_vendors: bool,
    is_admin: bool,
}

/// Renders a page template with `viewer` (the member, or none) merged into `context`.
///
/// # Errors
/// [`AppError::Internal`] when the template fails.
pub fn render(
    state: &AppState,
    member: Option<&Member>,
    template: &str,
    context: Value,
) -> Result<Html<String>, AppError> {
    let viewer = member.map(|member| Viewer {
        name: &member.name,
        tenant_name: &member.tenant_name,
        role: member.role.as_str(),
        role_label: member.role.label(),
        csrf_token: &member.csrf_token,
        can_manage_vendors: member.can(Permission::ManageVendors),
        is_admin: member.can(Permission::Administer),
    });
    let full = context! { viewer => viewer, ..context };
    state
        .templates()
        .render(template, full)
        .map(Html)
        .map_err(|error| {
            AppError::Internal(
                anyhow::Error::new(error).context(format!("Failed to render {template}")),
            )
        })
}

/// Replaces the JSON body of an error response with an HTML page; sends a signed-out visitor
/// to the sign-in page and back afterwards.
async fn render_error_pages(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().map(str::to_owned);
    let response = next.run(request).await;
    let Some(details) = response.extensions().get::<ErrorDetails>().cloned() else {
        return response;
    };
    let status = response.status();
    if details.code == "unauthenticated" {
        let target = if method == Method::GET {
            let next_path = match query {
                Some(query) => format!("{path}?{query}"),
                None => path,
            };
            format!("/sign-in?next={}", urlencode(&next_path))
        } else {
            "/sign-in".to_owned()
        };
        return Redirect::to(&target).into_response();
    }
    // A page opened with bad query values can be opened again without them.
    let retry = (method == Method::GET && query.is_some() && !details.fields.0.is_empty())
        .then_some(path.as_str());
    error_page(&state, status, &details.message, &details.fields, retry).unwrap_or(response)
}

/// Percent-encodes a value for a query string.
pub fn urlencode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// Returns `next` when it is a path on this site, else the home page, so that a crafted
/// sign-in link cannot send a member to another site.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/') && !path.starts_with("//") && !path.starts_with("/\\") =>
        {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_next_keeps_local_paths_only() {
        assert_eq!(safe_next(Some("/vendors?page=2")), "/vendors?page=2");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(None), "/");
    }
}
