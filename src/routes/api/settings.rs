//! `/api/v1/settings/schedule`: the tenant's schedule settings.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::Value;

use super::ApiJson;
use crate::app::AppState;
use crate::auth::ApiClient;
use crate::domain::role::Permission;
use crate::domain::schedule::ScheduleSettings;
use crate::error::{AppError, FieldErrors};
use crate::routes::staff::settings;

pub fn router() -> Router<AppState> {
    Router::new().route("/settings/schedule", get(show).put(update))
}

#[derive(Serialize)]
struct Body {
    data: ScheduleSettings,
}

async fn show(State(state): State<AppState>, client: ApiClient) -> Result<Json<Body>, AppError> {
    let data = crate::store::settings::load(state.db().reader(), client.tenant_id).await?;
    Ok(Json(Body { data }))
}

/// Parses a settings body, naming every field that is missing, unknown or of the wrong type
/// rather than only the first one serde meets.
fn parse(body: Value) -> Result<ScheduleSettings, AppError> {
    let Value::Object(fields) = body else {
        return Err(AppError::invalid(
            "body",
            "Send the settings as a JSON object, as GET /api/v1/settings/schedule returns them.",
        ));
    };
    let defaults = serde_json::to_value(ScheduleSettings::default())
        .map_err(|error| AppError::Internal(error.into()))?;
    let Value::Object(known) = defaults else {
        return Err(AppError::Internal(anyhow::anyhow!(
            "the default settings are not a JSON object"
        )));
    };
    let mut errors = FieldErrors::default();
    for name in known.keys().filter(|name| !fields.contains_key(*name)) {
        errors.add(name.clone(), "This setting is missing; send every setting.");
    }
    for (name, value) in &fields {
        if !known.contains_key(name) {
            let names: Vec<&str> = known.keys().map(String::as_str).collect();
            errors.add(
                name.clone(),
                format!(
                    "{name:?} is not a schedule setting; use {}.",
                    names.join(", ")
                ),
            );
            continue;
        }
        // Try the value on its own among valid defaults, so that the message concerns it alone.
        let mut alone = known.clone();
        alone.insert(name.clone(), value.clone());
        if let Err(error) = serde_json::from_value::<ScheduleSettings>(Value::Object(alone)) {
            errors.add(name.clone(), format!("{value} is not valid here: {error}."));
        }
    }
    errors.into_result()?;
    serde_json::from_value(Value::Object(fields))
        .map_err(|error| AppError::invalid("body", error.to_string()))
}

async fn update(
    State(state): State<AppState>,
    client: ApiClient,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Body>, AppError> {
    client.require(Permission::Administer)?;
    let new = parse(body)?;
    let data = settings::save(&state, client.tenant_id, &client.actor(), new).await?;
    Ok(Json(Body { data }))
}
