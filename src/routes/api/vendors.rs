//! `/api/v1/vendors`: create, list, get and CSV import.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::ApiJson;
use crate::app::AppState;
use crate::auth::ApiClient;
use crate::domain::role::Permission;
use crate::domain::vendor::{
    BaaStatus, ClinicalCriticality, InherentProfile, PhiAccess, Tier, TierOverride, VendorInput,
    parse_name, parse_override_rationale, parse_website,
};
use crate::error::{AppError, FieldErrors};
use crate::ids::VendorId;
use crate::routes::QueryParams;
use crate::routes::import::{IMPORT_MAX_BYTES, import_csv, too_large};
use crate::routes::parse_path_id;
use crate::routes::staff::ListQuery;
use crate::store::vendors::{self, Contact, Vendor};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/vendors", get(list).post(create))
        .route("/vendors/{id}", get(show))
        .route(
            "/vendors/{id}/schedule",
            axum::routing::put(update_schedule),
        )
        .route(
            "/vendors/import",
            post(import).layer(DefaultBodyLimit::max(IMPORT_MAX_BYTES)),
        )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContactRequest {
    name: String,
    email: String,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    phone: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TierOverrideRequest {
    tier: String,
    rationale: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VendorRequest {
    name: String,
    #[serde(default)]
    contacts: Vec<ContactRequest>,
    website: Option<String>,
    service: Option<String>,
    phi_access: Option<String>,
    clinical_criticality: Option<String>,
    system_integration: Option<bool>,
    medical_device: Option<bool>,
    offshore_access: Option<bool>,
    baa_status: Option<String>,
    /// `YYYY-MM-DD`.
    contract_renewal: Option<String>,
    tier_override: Option<TierOverrideRequest>,
}

fn parse_optional<T: std::str::FromStr<Err = String>>(
    errors: &mut FieldErrors,
    field: &str,
    value: &Option<String>,
) -> Option<T> {
    let value = value.as_deref()?.trim();
    if value.is_empty() {
        return None;
    }
    value
        .parse()
        .map_err(|message| errors.add(field, message))
        .ok()
}

impl VendorRequest {
    fn parse(&self) -> Result<(VendorInput, Vec<crate::domain::import::ContactInput>), AppError> {
        let mut errors = FieldErrors::default();
        let name = parse_name(&self.name)
            .map_err(|message| errors.add("name", message))
            .ok();
        let website = parse_website(self.website.as_deref().unwrap_or_default())
            .map_err(|message| errors.add("website", message))
            .ok()
            .flatten();
        let phi_access: PhiAccess =
            parse_optional(&mut errors, "phi_access", &self.phi_access).unwrap_or(PhiAccess::None);
        let clinical_criticality: ClinicalCriticality = parse_optional(
            &mut errors,
            "clinical_criticality",
            &self.clinical_criticality,
        )
        .unwrap_or(ClinicalCriticality::None);
        let baa_status: Option<BaaStatus> =
            parse_optional(&mut errors, "baa_status", &self.baa_status);
        let contract_renewal = match self
            .contract_renewal
            .as_deref()
            .map(str::trim)
            .filter(|value| !value.is_empty())
        {
            None => None,
            Some(value) => chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d")
                .map_err(|_| {
                    errors.add(
                        "contract_renewal",
                        format!("{value:?} is not a date; write it as YYYY-MM-DD"),
                    )
                })
                .ok(),
        };
        let tier_override = self.tier_override.as_ref().and_then(|request| {
            let tier = request
                .tier
                .parse::<Tier>()
                .map_err(|message| errors.add("tier_override.tier", message))
                .ok()?;
            let rationale = parse_override_rationale(&request.rationale)
                .map_err(|message| errors.add("tier_override.rationale", message))
                .ok()?;
            Some(TierOverride { tier, rationale })
        });
        if self.contacts.is_empty() {
            errors.add(
                "contacts",
                "Add at least one contact with a name and an e-mail address.",
            );
        }
        let mut contacts = Vec::new();
        for (index, contact) in self.contacts.iter().enumerate() {
            match vendors::parse_contact(
                &contact.name,
                &contact.email,
                contact.role.as_deref().unwrap_or_default(),
                contact.phone.as_deref().unwrap_or_default(),
            ) {
                Ok(parsed) => {
                    if contacts
                        .iter()
                        .any(|other: &crate::domain::import::ContactInput| {
                            other.email.key() == parsed.email.key()
                        })
                    {
                        errors.add(
                            format!("contacts[{index}].email"),
                            format!("{} is listed twice.", parsed.email),
                        );
                    }
                    contacts.push(parsed);
                }
                Err(problems) => {
                    for (field, message) in problems {
                        errors.add(format!("contacts[{index}].{field}"), message);
                    }
                }
            }
        }
        errors.into_result()?;
        let profile = InherentProfile {
            phi_access,
            clinical_criticality,
            system_integration: self.system_integration.unwrap_or(false),
            medical_device: self.medical_device.unwrap_or(false),
            offshore_access: self.offshore_access.unwrap_or(false),
        };
        let input = VendorInput {
            name: name.unwrap_or_default(),
            website,
            service: self
                .service
                .as_deref()
                .map(str::trim)
                .filter(|value| !value.is_empty())
                .map(str::to_owned),
            profile,
            baa_status: baa_status.unwrap_or_else(|| BaaStatus::default_for(phi_access)),
            contract_renewal,
            tier_override,
        };
        Ok((input, contacts))
    }
}

#[derive(Serialize)]
struct VendorResponse {
    #[serde(flatten)]
    vendor: Vendor,
    contacts: Vec<Contact>,
}

async fn create(
    State(state): State<AppState>,
    client: ApiClient,
    ApiJson(request): ApiJson<VendorRequest>,
) -> Result<Response, AppError> {
    client.require(Permission::ManageVendors)?;
    let (input, contacts) = request.parse()?;
    if input.tier_override.is_some() {
        client.require(Permission::OverrideTier)?;
    }
    let vendor = vendors::create(
        state.db().writer(),
        client.tenant_id,
        &input,
        &contacts,
        &client.actor(),
        state.clock().now(),
    )
    .await?;
    let contacts = vendors::contacts(state.db().writer(), client.tenant_id, vendor.id).await?;
    Ok((
        StatusCode::CREATED,
        Json(VendorResponse { vendor, contacts }),
    )
        .into_response())
}

async fn show(
    State(state): State<AppState>,
    client: ApiClient,
    Path(id): Path<String>,
) -> Result<Json<VendorResponse>, AppError> {
    let id: VendorId = parse_path_id(&id)?;
    let vendor = vendors::get(state.db().reader(), client.tenant_id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let contacts = vendors::contacts(state.db().reader(), client.tenant_id, id).await?;
    Ok(Json(VendorResponse { vendor, contacts }))
}

#[derive(Serialize)]
struct ListResponse {
    data: Vec<Vendor>,
    page: u64,
    per_page: u64,
    total: u64,
}

async fn list(
    State(state): State<AppState>,
    client: ApiClient,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<Json<ListResponse>, AppError> {
    let (filter, sort) = query.parse()?;
    if let Some(per_page) = query
        .per_page
        .filter(|per_page| !(1..=200).contains(per_page))
    {
        return Err(AppError::invalid(
            "per_page",
            format!("per_page {per_page} is outside 1 to 200."),
        ));
    }
    if query.page == Some(0) {
        return Err(AppError::invalid("page", "Pages are numbered from 1."));
    }
    let page = vendors::list(
        state.db().reader(),
        client.tenant_id,
        &filter,
        sort,
        query.page.unwrap_or(1),
        query.per_page.unwrap_or(50),
    )
    .await?;
    Ok(Json(ListResponse {
        data: page.items,
        page: page.page,
        per_page: page.per_page,
        total: page.total,
    }))
}

async fn import(
    State(state): State<AppState>,
    client: ApiClient,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    client.require(Permission::ManageVendors)?;
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large()
        } else {
            AppError::bad_request("invalid_body", rejection.body_text())
        }
    })?;
    match import_csv(&state, client.tenant_id, &client.actor(), &body).await? {
        Err(message) => Err(AppError::bad_request("invalid_csv", message)),
        Ok(report) if report.imported_anything() => Ok(Json(report).into_response()),
        Ok(report) => {
            let body = serde_json::json!({
                "error": {
                    "code": "nothing_imported",
                    "message": "No row of the file could be imported; see the reason given for each row.",
                },
                "report": report,
            });
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response())
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScheduleRequest {
    /// `YYYY-MM-DD`, or null to stop scheduling the vendor.
    next_review_on: Option<String>,
    /// A procurement member or administrator, or null for none.
    owner_user_id: Option<String>,
}

/// Sets a vendor's next assessment date and procurement owner.
async fn update_schedule(
    State(state): State<AppState>,
    client: ApiClient,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<ScheduleRequest>,
) -> Result<Json<VendorResponse>, AppError> {
    client.require(Permission::ManageVendors)?;
    let id: VendorId = parse_path_id(&id)?;
    vendors::get(state.db().reader(), client.tenant_id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let (next_review_on, owner) = crate::routes::staff::vendors::parse_schedule(
        &state,
        client.tenant_id,
        request.next_review_on.as_deref().unwrap_or(""),
        request.owner_user_id.as_deref().unwrap_or(""),
    )
    .await?
    .map_err(AppError::Invalid)?;
    vendors::set_schedule(
        state.db().writer(),
        client.tenant_id,
        id,
        next_review_on,
        owner,
        &client.actor(),
        state.clock().now(),
    )
    .await?
    .ok_or(AppError::NotFound)?;
    show(State(state), client, Path(id.to_string())).await
}
