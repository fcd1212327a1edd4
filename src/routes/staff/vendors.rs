//! Vendor pages: list, create, view, edit, archive, contacts.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::NaiveDate;
use minijinja::{Value, context};
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::auth::{Member, StaffForm};
use crate::domain::import::ContactInput;
use crate::domain::role::Permission;
use crate::domain::vendor::{
    BaaStatus, ClinicalCriticality, InherentProfile, PhiAccess, Tier, TierOverride, VendorInput,
    parse_name, parse_override_rationale, parse_website,
};
use crate::error::{AppError, FieldErrors};
use crate::ids::{ContactId, VendorId};
use crate::routes::QueryParams;
use crate::routes::pages::{render, urlencode};
use crate::routes::parse_path_id;
use crate::store::vendors::{self, StatusFilter, Vendor, VendorFilter, VendorSort};
use crate::store::{self, audit};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/vendors", get(list).post(create))
        .route("/vendors/new", get(new_form))
        .route("/vendors/{id}", get(show).post(update))
        .route("/vendors/{id}/edit", get(edit_form))
        .route("/vendors/{id}/archive", post(archive))
        .route("/vendors/{id}/restore", post(restore))
        .route("/vendors/{id}/contacts", post(add_contact))
        .route("/vendors/{id}/schedule", post(update_schedule))
        .route(
            "/vendors/{id}/contacts/{contact_id}/remove",
            post(remove_contact),
        )
}

/// Vendors per page in the list.
const PER_PAGE: u64 = 50;

/// Query string of the vendor list (pages) and `GET /api/v1/vendors`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct ListQuery {
    pub q: Option<String>,
    pub tier: Option<String>,
    pub baa_status: Option<String>,
    pub phi_access: Option<String>,
    pub status: Option<String>,
    pub sort: Option<String>,
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

fn blank_to_none(value: &Option<String>) -> Option<&str> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|value| !value.is_empty())
}

impl ListQuery {
    /// Parses the filters and the sort.
    ///
    /// # Errors
    /// [`AppError::Invalid`] naming each unknown value and the accepted ones.
    pub fn parse(&self) -> Result<(VendorFilter, VendorSort), AppError> {
        let mut errors = FieldErrors::default();
        let mut filter = VendorFilter {
            search: blank_to_none(&self.q).map(str::to_owned),
            ..VendorFilter::default()
        };
        if let Some(value) = blank_to_none(&self.tier) {
            filter.tier = value
                .parse()
                .map_err(|message| errors.add("tier", message))
                .ok();
        }
        if let Some(value) = blank_to_none(&self.baa_status) {
            filter.baa_status = value
                .parse()
                .map_err(|message| errors.add("baa_status", message))
                .ok();
        }
        if let Some(value) = blank_to_none(&self.phi_access) {
            filter.phi_access = value
                .parse()
                .map_err(|message| errors.add("phi_access", message))
                .ok();
        }
        if let Some(value) = blank_to_none(&self.status) {
            match StatusFilter::parse(value) {
                Some(status) => filter.status = status,
                None => errors.add(
                    "status",
                    format!("{value:?} is not a valid status; use active, archived or all"),
                ),
            }
        }
        let mut sort = VendorSort::default();
        if let Some(value) = blank_to_none(&self.sort) {
            match VendorSort::parse(value) {
                Some(parsed) => sort = parsed,
                None => errors.add(
                    "sort",
                    format!("{value:?} is not a valid sort; use name, tier, renewal or newest"),
                ),
            }
        }
        errors.into_result()?;
        Ok((filter, sort))
    }

    /// Returns the query string for the same filters with another page or sort.
    fn link(&self, page: u64, sort: Option<&str>) -> String {
        let mut query = self.clone();
        query.page = Some(page);
        if let Some(sort) = sort {
            query.sort = Some(sort.to_owned());
        }
        let pairs: Vec<String> = [
            ("q", query.q.clone()),
            ("tier", query.tier.clone()),
            ("baa_status", query.baa_status.clone()),
            ("phi_access", query.phi_access.clone()),
            ("status", query.status.clone()),
            ("sort", query.sort.clone()),
            (
                "page",
                query
                    .page
                    .filter(|page| *page > 1)
                    .map(|page| page.to_string()),
            ),
        ]
        .into_iter()
        .filter_map(|(name, value)| {
            value
                .filter(|value| !value.is_empty())
                .map(|value| format!("{name}={}", urlencode(&value)))
        })
        .collect();
        if pairs.is_empty() {
            "/vendors".to_owned()
        } else {
            format!("/vendors?{}", pairs.join("&"))
        }
    }
}

/// Choices offered by the filter and edit forms.
fn choices() -> Value {
    let pairs = |items: Vec<(&'static str, &'static str)>| -> Vec<Value> {
        items
            .into_iter()
            .map(|(value, label)| context! { value => value, label => label })
            .collect()
    };
    context! {
        tiers => pairs(Tier::ALL.iter().map(|tier| (tier.as_str(), tier.label())).collect()),
        phi_access => pairs(PhiAccess::ALL.iter().map(|value| (value.as_str(), value.label())).collect()),
        clinical_criticality => pairs(ClinicalCriticality::ALL.iter().map(|value| (value.as_str(), value.label())).collect()),
        baa_status => pairs(BaaStatus::ALL.iter().map(|value| (value.as_str(), value.label())).collect()),
    }
}

async fn list(
    State(state): State<AppState>,
    member: Member,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<Html<String>, AppError> {
    let (filter, sort) = query.parse()?;
    let page = vendors::list(
        state.db().reader(),
        member.tenant_id,
        &filter,
        sort,
        query.page.unwrap_or(1),
        PER_PAGE,
    )
    .await?;
    let page_count = page.page_count();
    let sort_links: Vec<Value> = [("name", "Name"), ("tier", "Tier"), ("renewal", "Contract renewal"), ("newest", "Newest")]
        .into_iter()
        .map(|(value, label)| context! { value => value, label => label, url => query.link(1, Some(value)), current => sort.as_str() == value })
        .collect();
    render(
        &state,
        Some(&member),
        "pages/vendors/list.html",
        context! {
            vendors => page.items,
            total => page.total,
            page => page.page,
            page_count => page_count,
            prev_url => (page.page > 1).then(|| query.link(page.page - 1, None)),
            next_url => (page.page < page_count).then(|| query.link(page.page + 1, None)),
            sort_links => sort_links,
            query => &query,
            choices => choices(),
        },
    )
}

/// The vendor form as posted. Every field is text so that a bad value is shown back, not lost.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct VendorForm {
    pub name: String,
    pub website: String,
    pub service: String,
    pub phi_access: String,
    pub clinical_criticality: String,
    pub system_integration: Option<String>,
    pub medical_device: Option<String>,
    pub offshore_access: Option<String>,
    pub baa_status: String,
    pub contract_renewal: String,
    pub tier_override: String,
    pub tier_override_rationale: String,
    pub contact_name: String,
    pub contact_email: String,
    pub contact_role: String,
    pub contact_phone: String,
}

impl VendorForm {
    fn from_vendor(vendor: &Vendor) -> Self {
        let checkbox = |value: bool| value.then(|| "on".to_owned());
        Self {
            name: vendor.name.clone(),
            website: vendor.website.clone().unwrap_or_default(),
            service: vendor.service.clone().unwrap_or_default(),
            phi_access: vendor.profile.phi_access.as_str().to_owned(),
            clinical_criticality: vendor.profile.clinical_criticality.as_str().to_owned(),
            system_integration: checkbox(vendor.profile.system_integration),
            medical_device: checkbox(vendor.profile.medical_device),
            offshore_access: checkbox(vendor.profile.offshore_access),
            baa_status: vendor.baa_status.as_str().to_owned(),
            contract_renewal: vendor
                .contract_renewal
                .map(|date| date.to_string())
                .unwrap_or_default(),
            tier_override: vendor
                .tier_override
                .as_ref()
                .map(|o| o.tier.as_str().to_owned())
                .unwrap_or_default(),
            tier_override_rationale: vendor
                .tier_override
                .as_ref()
                .map(|o| o.rationale.clone())
                .unwrap_or_default(),
            ..Self::default()
        }
    }

    fn new_vendor() -> Self {
        Self {
            phi_access: PhiAccess::None.as_str().to_owned(),
            clinical_criticality: ClinicalCriticality::None.as_str().to_owned(),
            ..Self::default()
        }
    }

    /// Parses the vendor fields, and the first contact when `with_contact` is set.
    fn parse(
        &self,
        with_contact: bool,
    ) -> Result<(VendorInput, Option<ContactInput>), FieldErrors> {
        let mut errors = FieldErrors::default();
        let name = parse_name(&self.name)
            .map_err(|message| errors.add("name", message))
            .ok();
        let website = parse_website(&self.website)
            .map_err(|message| errors.add("website", message))
            .ok()
            .flatten();
        let phi_access = self
            .phi_access
            .parse::<PhiAccess>()
            .map_err(|message| errors.add("phi_access", message))
            .ok();
        let clinical_criticality = self
            .clinical_criticality
            .parse::<ClinicalCriticality>()
            .map_err(|message| errors.add("clinical_criticality", message))
            .ok();
        let baa_status = if self.baa_status.trim().is_empty() {
            None
        } else {
            self.baa_status
                .parse::<BaaStatus>()
                .map_err(|message| errors.add("baa_status", message))
                .ok()
        };
        let contract_renewal = if self.contract_renewal.trim().is_empty() {
            None
        } else {
            crate::domain::import::parse_date(&self.contract_renewal)
                .map_err(|message| errors.add("contract_renewal", message))
                .ok()
        };
        let tier_override = if self.tier_override.trim().is_empty() {
            if !self.tier_override_rationale.trim().is_empty() {
                errors.add(
                    "tier_override",
                    "Choose the tier to use, or clear the reason: a reason without an override is not kept.",
                );
            }
            None
        } else {
            let tier = self
                .tier_override
                .parse::<Tier>()
                .map_err(|message| errors.add("tier_override", message))
                .ok();
            let rationale = parse_override_rationale(&self.tier_override_rationale)
                .map_err(|message| errors.add("tier_override_rationale", message))
                .ok();
            tier.zip(rationale)
                .map(|(tier, rationale)| TierOverride { tier, rationale })
        };
        let contact = if with_contact {
            match vendors::parse_contact(
                &self.contact_name,
                &self.contact_email,
                &self.contact_role,
                &self.contact_phone,
            ) {
                Ok(contact) => Some(contact),
                Err(problems) => {
                    for (field, message) in problems {
                        errors.add(format!("contact_{field}"), message);
                    }
                    None
                }
            }
        } else {
            None
        };
        let (Some(name), Some(phi_access), Some(clinical_criticality), true) =
            (name, phi_access, clinical_criticality, errors.is_empty())
        else {
            return Err(errors);
        };
        let profile = InherentProfile {
            phi_access,
            clinical_criticality,
            system_integration: self.system_integration.is_some(),
            medical_device: self.medical_device.is_some(),
            offshore_access: self.offshore_access.is_some(),
        };
        if tier_override
            .as_ref()
            .is_some_and(|chosen| chosen.tier == profile.tier().tier)
        {
            errors.add(
                "tier_override",
                format!(
                    "The profile already gives tier {}; choose \"No override\" instead.",
                    profile.tier().tier.label()
                ),
            );
            return Err(errors);
        }
        let input = VendorInput {
            name,
            website,
            service: Some(self.service.trim().to_owned()).filter(|service| !service.is_empty()),
            profile,
            baa_status: baa_status.unwrap_or_else(|| BaaStatus::default_for(phi_access)),
            contract_renewal,
            tier_override,
        };
        Ok((input, contact))
    }
}

fn render_form(
    state: &AppState,
    member: &Member,
    vendor: Option<&Vendor>,
    form: &VendorForm,
    errors: &FieldErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let html = render(
        state,
        Some(member),
        "pages/vendors/form.html",
        context! { vendor => vendor, form => form, errors => errors, choices => choices() },
    )?;
    Ok((status, html).into_response())
}

async fn new_form(State(state): State<AppState>, member: Member) -> Result<Response, AppError> {
    member.require(Permission::ManageVendors)?;
    render_form(
        &state,
        &member,
        None,
        &VendorForm::new_vendor(),
        &FieldErrors::default(),
        StatusCode::OK,
    )
}

async fn create(
    State(state): State<AppState>,
    StaffForm { member, form }: StaffForm<VendorForm>,
) -> Result<Response, AppError> {
    member.require(Permission::ManageVendors)?;
    let (input, contact) = match form.parse(true) {
        Ok(parsed) => parsed,
        Err(errors) => {
            return render_form(
                &state,
                &member,
                None,
                &form,
                &errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    let contacts: Vec<ContactInput> = contact.into_iter().collect();
    match vendors::create(
        state.db().writer(),
        member.tenant_id,
        &input,
        &contacts,
        &member.actor(),
        state.clock().now(),
    )
    .await
    {
        Ok(vendor) => Ok(Redirect::to(&format!("/vendors/{}", vendor.id)).into_response()),
        Err(store::StoreError::Conflict(message)) => {
            let mut errors = FieldErrors::default();
            errors.add("name", message);
            render_form(&state, &member, None, &form, &errors, StatusCode::CONFLICT)
        }
        Err(error) => Err(error.into()),
    }
}

type Related = (
    Vec<crate::store::assessments::Assessment>,
    Vec<crate::store::risks::Risk>,
    Vec<audit::AuditEntry>,
);

/// Loads a vendor's assessments, risks, and the audit trail of all three.
async fn related(state: &AppState, member: &Member, vendor: &Vendor) -> Result<Related, AppError> {
    let db = state.db().reader();
    let filter = crate::store::assessments::AssessmentFilter {
        vendor: Some(vendor.id),
        ..Default::default()
    };
    let assessments = crate::store::assessments::list(db, member.tenant_id, &filter, 200).await?;
    let risk_filter = crate::store::risks::RiskFilter {
        vendor: Some(vendor.id),
        ..Default::default()
    };
    let risks = crate::store::risks::list(db, member.tenant_id, &risk_filter, None, 200)
        .await?
        .items;
    let mut ids = vec![vendor.id.0];
    ids.extend(assessments.iter().map(|assessment| assessment.id.0));
    ids.extend(risks.iter().map(|risk| risk.id.0));
    let history = audit::list_for_objects(db, member.tenant_id, ids, 200).await?;
    Ok((assessments, risks, history))
}

async fn load(state: &AppState, member: &Member, id: &str) -> Result<Vendor, AppError> {
    let id: VendorId = parse_path_id(id)?;
    vendors::get(state.db().reader(), member.tenant_id, id)
        .await?
        .ok_or(AppError::NotFound)
}

async fn show(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<String>,
) -> Result<Html<String>, AppError> {
    let vendor = load(&state, &member, &id).await?;
    render_show(&state, &member, vendor, ShowForms::default()).await
}

/// The forms of the vendor page, filled after a rejected post.
struct ShowForms {
    contact: Value,
    contact_errors: FieldErrors,
    schedule: ScheduleForm,
    schedule_errors: FieldErrors,
}

impl Default for ShowForms {
    fn default() -> Self {
        Self {
            contact: context! {},
            contact_errors: FieldErrors::default(),
            schedule: ScheduleForm::default(),
            schedule_errors: FieldErrors::default(),
        }
    }
}

/// The vendor's schedule form: next assessment date and procurement owner.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
struct ScheduleForm {
    next_review_on: String,
    owner_user_id: String,
}

async fn render_show(
    state: &AppState,
    member: &Member,
    vendor: vendors::Vendor,
    forms: ShowForms,
) -> Result<Html<String>, AppError> {
    let ShowForms {
        contact,
        contact_errors,
        schedule: schedule_form,
        schedule_errors,
    } = forms;
    let contacts = vendors::contacts(state.db().reader(), member.tenant_id, vendor.id).await?;
    let (assessments, risks, history) = related(state, member, &vendor).await?;
    let staff = crate::store::schedule::staff_with_roles(
        state.db().reader(),
        member.tenant_id,
        &[
            crate::domain::role::Role::Admin,
            crate::domain::role::Role::Procurement,
        ],
    )
    .await?;
    let owners: Vec<minijinja::Value> = staff
        .iter()
        .map(|user| context! { value => user.id.to_string(), label => format!("{} ({})", user.name, user.email) })
        .collect();
    let owner_name = staff
        .iter()
        .find(|user| Some(user.id) == vendor.owner_user_id)
        .map(|user| user.name.clone());
    let schedule_form = if schedule_form.next_review_on.is_empty()
        && schedule_form.owner_user_id.is_empty()
        && schedule_errors.is_empty()
    {
        ScheduleForm {
            next_review_on: vendor
                .next_review_on
                .map(|date| date.to_string())
                .unwrap_or_default(),
            owner_user_id: vendor
                .owner_user_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
        }
    } else {
        schedule_form
    };
    let has_open = assessments.iter().any(|item| !item.status.is_closed());
    render(
        state,
        Some(member),
        "pages/vendors/show.html",
        context! {
            schedule_form => schedule_form,
            owners => owners,
            owner_name => owner_name,
            has_open => has_open,
            vendor => vendor,
            contacts => contacts,
            assessments => assessments,
            risks => risks,
            history => history,
            errors => contact_errors,
            schedule_errors => schedule_errors,
            contact_form => contact,
        },
    )
}

async fn update_schedule(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { member, form }: StaffForm<ScheduleForm>,
) -> Result<Response, AppError> {
    member.require(Permission::ManageVendors)?;
    let vendor = load(&state, &member, &id).await?;
    let parsed = parse_schedule(
        &state,
        member.tenant_id,
        &form.next_review_on,
        &form.owner_user_id,
    )
    .await?;
    let (next_review_on, owner) = match parsed {
        Ok(parsed) => parsed,
        Err(errors) => {
            let forms = ShowForms {
                schedule: form,
                schedule_errors: errors,
                ..ShowForms::default()
            };
            let html = render_show(&state, &member, vendor, forms).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, html).into_response());
        }
    };
    vendors::set_schedule(
        state.db().writer(),
        member.tenant_id,
        vendor.id,
        next_review_on,
        owner,
        &member.actor(),
        state.clock().now(),
    )
    .await?
    .ok_or(AppError::NotFound)?;
    Ok(Redirect::to(&format!("/vendors/{}#schedule", vendor.id)).into_response())
}

async fn edit_form(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    member.require(Permission::ManageVendors)?;
    let vendor = load(&state, &member, &id).await?;
    render_form(
        &state,
        &member,
        Some(&vendor),
        &VendorForm::from_vendor(&vendor),
        &FieldErrors::default(),
        StatusCode::OK,
    )
}

async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { member, form }: StaffForm<VendorForm>,
) -> Result<Response, AppError> {
    member.require(Permission::ManageVendors)?;
    let vendor = load(&state, &member, &id).await?;
    let (input, _) = match form.parse(false) {
        Ok(parsed) => parsed,
        Err(errors) => {
            return render_form(
                &state,
                &member,
                Some(&vendor),
                &form,
                &errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    if input.tier_override != vendor.tier_override {
        member.require(Permission::OverrideTier)?;
    }
    match vendors::update(
        state.db().writer(),
        member.tenant_id,
        vendor.id,
        &input,
        &member.actor(),
        state.clock().now(),
    )
    .await
    {
        Ok(Some(_)) => Ok(Redirect::to(&format!("/vendors/{}", vendor.id)).into_response()),
        Ok(None) => Err(AppError::NotFound),
        Err(store::StoreError::Conflict(message)) => {
            let mut errors = FieldErrors::default();
            errors.add("name", message);
            render_form(
                &state,
                &member,
                Some(&vendor),
                &form,
                &errors,
                StatusCode::CONFLICT,
            )
        }
        Err(error) => Err(error.into()),
    }
}

#[derive(Deserialize)]
struct NoFields {}

async fn set_archived(
    state: AppState,
    member: Member,
    id: String,
    archived: bool,
) -> Result<Response, AppError> {
    member.require(Permission::ManageVendors)?;
    let id: VendorId = parse_path_id(&id)?;
    vendors::set_archived(
        state.db().writer(),
        member.tenant_id,
        id,
        archived,
        &member.actor(),
        state.clock().now(),
    )
    .await?
    .ok_or(AppError::NotFound)?;
    Ok(Redirect::to(&format!("/vendors/{id}")).into_response())
}

async fn archive(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { member, .. }: StaffForm<NoFields>,
) -> Result<Response, AppError> {
    set_archived(state, member, id, true).await
}

async fn restore(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { member, .. }: StaffForm<NoFields>,
) -> Result<Response, AppError> {
    set_archived(state, member, id, false).await
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
struct ContactForm {
    name: String,
    email: String,
    role: String,
    phone: String,
}

async fn add_contact(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { member, form }: StaffForm<ContactForm>,
) -> Result<Response, AppError> {
    member.require(Permission::ManageVendors)?;
    let vendor = load(&state, &member, &id).await?;
    let mut errors = FieldErrors::default();
    let result = match vendors::parse_contact(&form.name, &form.email, &form.role, &form.phone) {
        Err(problems) => {
            for (field, message) in problems {
                errors.add(field, message);
            }
            None
        }
        Ok(contact) => {
            match vendors::add_contact(
                state.db().writer(),
                member.tenant_id,
                vendor.id,
                &contact,
                &member.actor(),
                state.clock().now(),
            )
            .await
            {
                Ok(added) => added,
                Err(store::StoreError::Conflict(message)) => {
                    errors.add("email", message);
                    None
                }
                Err(error) => return Err(error.into()),
            }
        }
    };
    if result.is_some() {
        return Ok(Redirect::to(&format!("/vendors/{}#contacts", vendor.id)).into_response());
    }
    let html = render_show(
        &state,
        &member,
        vendor,
        ShowForms {
            contact: context! { name => form.name, email => form.email, role => form.role, phone => form.phone },
            contact_errors: errors,
            ..ShowForms::default()
        },
    )
    .await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, html).into_response())
}

async fn remove_contact(
    State(state): State<AppState>,
    Path((id, contact_id)): Path<(String, String)>,
    StaffForm { member, .. }: StaffForm<NoFields>,
) -> Result<Response, AppError> {
    member.require(Permission::ManageVendors)?;
    let vendor_id: VendorId = parse_path_id(&id)?;
    let contact_id: ContactId = parse_path_id(&contact_id)?;
    let removed = vendors::remove_contact(
        state.db().writer(),
        member.tenant_id,
        vendor_id,
        contact_id,
        &member.actor(),
        state.clock().now(),
    )
    .await?;
    if !removed {
        return Err(AppError::NotFound);
    }
    Ok(Redirect::to(&format!("/vendors/{vendor_id}#contacts")).into_response())
}

/// Parses a vendor's schedule: the next assessment date (empty for none) and the procurement
/// owner (empty for none), who must be an active administrator or procurement member.
///
/// # Errors
/// Fails when the database fails; bad values come back as field errors.
pub async fn parse_schedule(
    state: &AppState,
    tenant: crate::ids::TenantId,
    next_review_on: &str,
    owner: &str,
) -> Result<Result<(Option<NaiveDate>, Option<uuid::Uuid>), FieldErrors>, AppError> {
    let mut errors = FieldErrors::default();
    let next_review_on = match next_review_on.trim() {
        "" => None,
        text => match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            Ok(date) => Some(date),
            Err(_) => {
                errors.add("next_review_on", format!("{text:?} is not a date; write it as YYYY-MM-DD, or leave it empty to stop scheduling this vendor."));
                None
            }
        },
    };
    let owner = match owner.trim() {
        "" => None,
        text => {
            let staff = crate::store::schedule::staff_with_roles(
                state.db().reader(),
                tenant,
                &[
                    crate::domain::role::Role::Admin,
                    crate::domain::role::Role::Procurement,
                ],
            )
            .await?;
            let found = text
                .parse::<uuid::Uuid>()
                .ok()
                .filter(|id| staff.iter().any(|user| user.id == *id));
            if found.is_none() {
                errors.add("owner_user_id", format!("{text:?} is not an active procurement member or administrator; choose one of them as the owner."));
            }
            found
        }
    };
    Ok(if errors.is_empty() {
        Ok((next_review_on, owner))
    } else {
        Err(errors)
    })
}
