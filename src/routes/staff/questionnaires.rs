//! The questionnaire library: browse shipped and uploaded questionnaires, upload new ones.

use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use minijinja::{Value, context};
use serde::Deserialize;

use crate::app::AppState;
use crate::auth::Member;
use crate::auth::extract::check_csrf;
use crate::domain::questionnaire::{Questionnaire, controls};
use crate::domain::role::Permission;
use crate::error::AppError;
use crate::routes::QueryParams;
use crate::routes::pages::render;
use crate::store::StoreError;
use crate::store::questionnaires::{self, UploadError};

/// Largest accepted questionnaire file: 1 MiB, many times the size of the full shipped one.
const UPLOAD_MAX_BYTES: usize = 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/questionnaires", get(list).post(upload))
        .route("/questionnaires/format", get(format_guide))
        .route("/questionnaires/{key}", get(show))
        .layer(DefaultBodyLimit::max(UPLOAD_MAX_BYTES + 64 * 1024))
}

/// Builds a questionnaire's summary for the list.
fn summary(questionnaire: &Questionnaire, origin: questionnaires::Origin) -> Value {
    context! {
        key => questionnaire.key,
        version => questionnaire.version,
        title => questionnaire.title,
        question_count => questionnaire.question_count(),
        section_count => questionnaire.sections.len(),
        tiers => questionnaire.tiers.iter().map(|tier| tier.label()).collect::<Vec<_>>(),
        origin => origin,
    }
}

async fn render_list(
    state: &AppState,
    member: &Member,
    problems: Vec<String>,
    message: Option<String>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let entries = questionnaires::library(state.db().reader(), member.tenant_id).await?;
    let items: Vec<Value> = entries
        .iter()
        .map(|entry| summary(&entry.questionnaire, entry.origin))
        .collect();
    let html = render(
        state,
        Some(member),
        "pages/questionnaires/list.html",
        context! { questionnaires => items, problems => problems, message => message },
    )?;
    Ok((status, html).into_response())
}

/// The file format guide, `docs/questionnaire-format.md`, for administrators writing their own.
async fn format_guide(
    State(state): State<AppState>,
    member: Member,
) -> Result<Html<String>, AppError> {
    const GUIDE: &str = include_str!("../../../docs/questionnaire-format.md");
    const SCHEMA: &str = include_str!("../../../questionnaires/questionnaire.schema.json");
    render(
        &state,
        Some(&member),
        "pages/questionnaires/format.html",
        context! { guide => GUIDE, schema => SCHEMA },
    )
}

async fn list(State(state): State<AppState>, member: Member) -> Result<Response, AppError> {
    render_list(&state, &member, Vec::new(), None, StatusCode::OK).await
}

#[derive(Deserialize)]
struct ShowQuery {
    version: Option<u32>,
}

async fn show(
    State(state): State<AppState>,
    member: Member,
    Path(key): Path<String>,
    QueryParams(query): QueryParams<ShowQuery>,
) -> Result<Html<String>, AppError> {
    let entry = questionnaires::find(state.db().reader(), member.tenant_id, &key, query.version)
        .await?
        .ok_or(AppError::NotFound)?;
    let titles: std::collections::BTreeMap<String, &str> = entry
        .questionnaire
        .questions()
        .flat_map(|question| question.controls.iter())
        .filter_map(|reference| {
            controls::lookup(reference).map(|control| (reference.clone(), control.title))
        })
        .collect();
    render(
        &state,
        Some(&member),
        "pages/questionnaires/show.html",
        context! { questionnaire => entry.questionnaire, origin => entry.origin, control_titles => titles },
    )
}

async fn upload(
    State(state): State<AppState>,
    member: Member,
    mut multipart: Multipart,
) -> Result<Response, AppError> {
    member.require(Permission::Administer)?;
    let mut csrf = String::new();
    let mut file = None;
    let mut file_name = String::from("upload.toml");
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|error| read_error(&error))?
    {
        match field.name() {
            Some("csrf_token") => csrf = field.text().await.map_err(|error| read_error(&error))?,
            Some("file") => {
                check_csrf(&member, &csrf)?;
                if let Some(name) = field.file_name() {
                    file_name = name.to_owned();
                }
                file = Some(field.bytes().await.map_err(|error| read_error(&error))?);
            }
            _ => {}
        }
    }
    check_csrf(&member, &csrf)?;
    let Some(bytes) = file.filter(|bytes| !bytes.is_empty()) else {
        return render_list(
            &state,
            &member,
            Vec::new(),
            Some("Choose a questionnaire file (.toml) to upload.".to_owned()),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    if bytes.len() > UPLOAD_MAX_BYTES {
        return Err(AppError::PayloadTooLarge(
            "The questionnaire file is larger than 1 MiB.".to_owned(),
        ));
    }
    let Ok(source) = std::str::from_utf8(&bytes) else {
        return render_list(
            &state,
            &member,
            Vec::new(),
            Some(format!(
                "{file_name} is not UTF-8 text. Save it as UTF-8 and upload it again."
            )),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    match questionnaires::upload(
        state.db().writer(),
        member.tenant_id,
        source,
        Some(member.user_id),
        &member.actor(),
        state.clock().now(),
    )
    .await
    {
        Ok(questionnaire) => Ok(Redirect::to(&format!(
            "/questionnaires/{}?version={}",
            questionnaire.key, questionnaire.version
        ))
        .into_response()),
        Err(UploadError::Invalid(problems)) => {
            let lines = problems
                .iter()
                .map(|problem| format!("{file_name}:{problem}"))
                .collect();
            render_list(
                &state,
                &member,
                lines,
                Some("The file was not added because of these problems:".to_owned()),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(UploadError::Store(StoreError::Conflict(message))) => {
            render_list(
                &state,
                &member,
                Vec::new(),
                Some(message),
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(UploadError::Store(error)) => Err(error.into()),
    }
}

fn read_error(error: &axum::extract::multipart::MultipartError) -> AppError {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::PayloadTooLarge("The questionnaire file is larger than 1 MiB.".to_owned())
    } else {
        AppError::bad_request(
            "invalid_upload",
            format!("The upload could not be read: {}.", error.body_text()),
        )
    }
}
