//! Vendors and their contacts, tenant-scoped, with every change audited.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, NullOrdering};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel, Order,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait,
};
use serde::Serialize;

use super::audit::{self, Actor, Change};
use super::entities::{vendor, vendor_contact};
use super::{StoreError, is_unique_violation, like_pattern};
use crate::domain::email::EmailAddress;
use crate::domain::import::{ContactInput, ParsedFile, RowResult, VendorFields, VendorRow};
use crate::domain::vendor::{
    BaaStatus, InherentProfile, PhiAccess, Tier, TierOverride, VendorInput, name_key,
};
use crate::ids::{ContactId, TenantId, VendorId};

pub const STATUS_ACTIVE: &str = "active";
pub const STATUS_ARCHIVED: &str = "archived";

/// A vendor as pages and the API show it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Vendor {
    pub id: VendorId,
    pub name: String,
    pub website: Option<String>,
    pub service: Option<String>,
    pub profile: InherentProfile,
    pub computed_tier: Tier,
    pub tier_reason: &'static str,
    pub tier_override: Option<TierOverride>,
    /// The tier in force: the override when there is one, else the computed tier.
    pub tier: Tier,
    pub baa_status: BaaStatus,
    pub contract_renewal: Option<NaiveDate>,
    pub status: String,
    pub archived_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Date of the next scheduled assessment; none until a first assessment is completed, and
    /// while one is open.
    pub next_review_on: Option<NaiveDate>,
    /// The staff member in procurement who owns the relationship and receives escalations.
    pub owner_user_id: Option<uuid::Uuid>,
}

/// A vendor contact.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Contact {
    pub id: ContactId,
    pub name: String,
    pub email: String,
    pub role: Option<String>,
    pub phone: Option<String>,
}

impl From<vendor_contact::Model> for Contact {
    fn from(row: vendor_contact::Model) -> Self {
        Self {
            id: ContactId(row.id),
            name: row.name,
            email: row.email,
            role: row.role,
            phone: row.phone,
        }
    }
}

fn parse_stored<T: std::str::FromStr<Err = String>>(
    value: &str,
    column: &str,
) -> Result<T, StoreError> {
    value
        .parse()
        .map_err(|message| StoreError::Corrupt(format!("vendors.{column}: {message}")))
}

impl TryFrom<vendor::Model> for Vendor {
    type Error = StoreError;

    fn try_from(row: vendor::Model) -> Result<Self, Self::Error> {
        let profile = InherentProfile {
            phi_access: parse_stored(&row.phi_access, "phi_access")?,
            clinical_criticality: parse_stored(&row.clinical_criticality, "clinical_criticality")?,
            system_integration: row.system_integration,
            medical_device: row.medical_device,
            offshore_access: row.offshore_access,
        };
        let decision = profile.tier();
        let tier_override = match (&row.tier_override, &row.tier_override_rationale) {
            (Some(tier), rationale) => Some(TierOverride {
                tier: parse_stored(tier, "tier_override")?,
                rationale: rationale.clone().unwrap_or_default(),
            }),
            (None, _) => None,
        };
        Ok(Self {
            id: VendorId(row.id),
            name: row.name,
            website: row.website,
            service: row.service,
            profile,
            computed_tier: decision.tier,
            tier_reason: decision.reason,
            tier: parse_stored(&row.tier, "tier")?,
            tier_override,
            baa_status: parse_stored(&row.baa_status, "baa_status")?,
            contract_renewal: row.contract_renewal_on,
            status: row.status,
            archived_at: row.archived_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
            next_review_on: row.next_review_on,
            owner_user_id: row.owner_user_id,
        })
    }
}

/// Copies the editable fields of `input` onto a row, recomputing the tier.
fn apply_input(active: &mut vendor::ActiveModel, input: &VendorInput) {
    let computed = input.profile.tier().tier;
    let tier = input
        .tier_override
        .as_ref()
        .map_or(computed, |tier_override| tier_override.tier);
    active.name = Set(input.name.clone());
    active.name_key = Set(name_key(&input.name));
    active.website = Set(input.website.clone());
    active.service = Set(input.service.clone());
    active.phi_access = Set(input.profile.phi_access.as_str().to_owned());
    active.clinical_criticality = Set(input.profile.clinical_criticality.as_str().to_owned());
    active.system_integration = Set(input.profile.system_integration);
    active.medical_device = Set(input.profile.medical_device);
    active.offshore_access = Set(input.profile.offshore_access);
    active.computed_tier = Set(computed.as_str().to_owned());
    active.tier_override = Set(input
        .tier_override
        .as_ref()
        .map(|tier_override| tier_override.tier.as_str().to_owned()));
    active.tier_override_rationale = Set(input
        .tier_override
        .as_ref()
        .map(|tier_override| tier_override.rationale.clone()));
    active.tier = Set(tier.as_str().to_owned());
    active.tier_rank = Set(tier.rank());
    active.baa_status = Set(input.baa_status.as_str().to_owned());
    active.contract_renewal_on = Set(input.contract_renewal);
}

impl Vendor {
    /// Returns the editable fields, to change some of them and save.
    pub fn input(&self) -> VendorInput {
        VendorInput {
            name: self.name.clone(),
            website: self.website.clone(),
            service: self.service.clone(),
            profile: self.profile,
            baa_status: self.baa_status,
            contract_renewal: self.contract_renewal,
            tier_override: self.tier_override.clone(),
        }
    }

    pub fn is_archived(&self) -> bool {
        self.status == STATUS_ARCHIVED
    }
}

fn audit_value<T: Serialize>(value: &T) -> Option<serde_json::Value> {
    serde_json::to_value(value).ok()
}

fn duplicate_name(name: &str) -> StoreError {
    StoreError::Conflict(format!(
        "A vendor named {name:?} already exists (names are compared ignoring case and spaces; an archived vendor counts too). Find it in the vendor list with status \"All\", or choose a different name."
    ))
}

async fn insert_vendor(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    input: &VendorInput,
    now: DateTime<Utc>,
) -> Result<vendor::Model, StoreError> {
    let mut active = vendor::ActiveModel {
        id: Set(VendorId::new().0),
        tenant_id: Set(tenant.0),
        owner_user_id: Set(None),
        status: Set(STATUS_ACTIVE.to_owned()),
        archived_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    apply_input(&mut active, input);
    active.insert(conn).await.map_err(|error| {
        if is_unique_violation(&error) {
            duplicate_name(&input.name)
        } else {
            error.into()
        }
    })
}

async fn insert_contact(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    vendor: VendorId,
    contact: &ContactInput,
    now: DateTime<Utc>,
) -> Result<vendor_contact::Model, StoreError> {
    vendor_contact::ActiveModel {
        id: Set(ContactId::new().0),
        tenant_id: Set(tenant.0),
        vendor_id: Set(vendor.0),
        name: Set(contact.name.clone()),
        email: Set(contact.email.as_str().to_owned()),
        email_key: Set(contact.email.key()),
        role: Set(contact.role.clone()),
        phone: Set(contact.phone.clone()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(conn)
    .await
    .map_err(|error| {
        if is_unique_violation(&error) {
            StoreError::Conflict(format!(
                "This vendor already has a contact with the e-mail address {}.",
                contact.email
            ))
        } else {
            error.into()
        }
    })
}

/// Creates a vendor with its first contacts.
///
/// # Errors
/// [`StoreError::Conflict`] when the name or a contact's e-mail is taken; nothing is stored then.
pub async fn create(
    conn: &impl TransactionTrait,
    tenant: TenantId,
    input: &VendorInput,
    contacts: &[ContactInput],
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Vendor, StoreError> {
    let tx = conn.begin().await?;
    let row = insert_vendor(&tx, tenant, input, now).await?;
    let vendor = Vendor::try_from(row)?;
    let mut stored_contacts = Vec::new();
    for contact in contacts {
        stored_contacts.push(Contact::from(
            insert_contact(&tx, tenant, vendor.id, contact, now).await?,
        ));
    }
    audit::record(
        &tx,
        tenant,
        actor,
        Change {
            action: "vendor.created",
            object_type: "vendor",
            object_id: vendor.id.0,
            before: None,
            after: audit_value(
                &serde_json::json!({ "vendor": &vendor, "contacts": &stored_contacts }),
            ),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(vendor)
}

/// Finds a vendor of the tenant.
///
/// # Errors
/// Fails when the query fails.
pub async fn get(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    id: VendorId,
) -> Result<Option<Vendor>, StoreError> {
    let row = vendor::Entity::find_by_id(id.0)
        .filter(vendor::Column::TenantId.eq(tenant.0))
        .one(conn)
        .await?;
    row.map(Vendor::try_from).transpose()
}

/// Saves edited fields. Returns `None` when the tenant has no such vendor.
///
/// # Errors
/// [`StoreError::Conflict`] when the new name is taken.
pub async fn update(
    conn: &impl TransactionTrait,
    tenant: TenantId,
    id: VendorId,
    input: &VendorInput,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Option<Vendor>, StoreError> {
    let tx = conn.begin().await?;
    let Some(row) = vendor::Entity::find_by_id(id.0)
        .filter(vendor::Column::TenantId.eq(tenant.0))
        .one(&tx)
        .await?
    else {
        return Ok(None);
    };
    let before = Vendor::try_from(row.clone())?;
    if before.input() == *input {
        return Ok(Some(before));
    }
    let mut active = row.into_active_model();
    apply_input(&mut active, input);
    active.updated_at = Set(now);
    let row = active.update(&tx).await.map_err(|error| {
        if is_unique_violation(&error) {
            duplicate_name(&input.name)
        } else {
            error.into()
        }
    })?;
    let after = Vendor::try_from(row)?;
    audit::record(
        &tx,
        tenant,
        actor,
        Change {
            action: "vendor.updated",
            object_type: "vendor",
            object_id: id.0,
            before: audit_value(&before),
            after: audit_value(&after),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(Some(after))
}

/// Archives or restores a vendor. Vendors are never deleted, because assessments and risks
/// refer to them. Returns `None` when the tenant has no such vendor.
///
/// # Errors
/// Fails on a database error.
pub async fn set_archived(
    conn: &impl TransactionTrait,
    tenant: TenantId,
    id: VendorId,
    archived: bool,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Option<Vendor>, StoreError> {
    let tx = conn.begin().await?;
    let Some(row) = vendor::Entity::find_by_id(id.0)
        .filter(vendor::Column::TenantId.eq(tenant.0))
        .one(&tx)
        .await?
    else {
        return Ok(None);
    };
    let status = if archived {
        STATUS_ARCHIVED
    } else {
        STATUS_ACTIVE
    };
    if row.status == status {
        return Ok(Some(Vendor::try_from(row)?));
    }
    let before_status = row.status.clone();
    let mut active = row.into_active_model();
    active.status = Set(status.to_owned());
    active.archived_at = Set(archived.then_some(now));
    active.updated_at = Set(now);
    let vendor = Vendor::try_from(active.update(&tx).await?)?;
    audit::record(
        &tx,
        tenant,
        actor,
        Change {
            action: if archived {
                "vendor.archived"
            } else {
                "vendor.restored"
            },
            object_type: "vendor",
            object_id: id.0,
            before: Some(serde_json::json!({ "status": before_status })),
            after: Some(serde_json::json!({ "status": status })),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(Some(vendor))
}

/// Filters of a vendor listing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VendorFilter {
    /// Part of the name, any case.
    pub search: Option<String>,
    pub tier: Option<Tier>,
    pub baa_status: Option<BaaStatus>,
    pub phi_access: Option<PhiAccess>,
    pub status: StatusFilter,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StatusFilter {
    #[default]
    Active,
    Archived,
    All,
}

impl StatusFilter {
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "active" => Some(Self::Active),
            "archived" => Some(Self::Archived),
            "all" => Some(Self::All),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Archived => "archived",
            Self::All => "all",
        }
    }
}

/// Listing order. Every order ends with the name and then the id, so pages never overlap or
/// skip a vendor when values tie.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum VendorSort {
    #[default]
    Name,
    /// Most severe tier first.
    Tier,
    /// Soonest contract renewal first; vendors without a date last.
    Renewal,
    /// Most recently added first.
    Newest,
}

impl VendorSort {
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "name" => Some(Self::Name),
            "tier" => Some(Self::Tier),
            "renewal" => Some(Self::Renewal),
            "newest" => Some(Self::Newest),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Tier => "tier",
            Self::Renewal => "renewal",
            Self::Newest => "newest",
        }
    }
}

/// One page of a listing.
#[derive(Clone, Debug, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// 1-based page number.
    pub page: u64,
    pub per_page: u64,
    pub total: u64,
}

impl<T> Page<T> {
    pub fn page_count(&self) -> u64 {
        self.total.div_ceil(self.per_page).max(1)
    }
}

/// Lists the tenant's vendors.
///
/// # Errors
/// Fails when the query fails.
pub async fn list(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    filter: &VendorFilter,
    sort: VendorSort,
    page: u64,
    per_page: u64,
) -> Result<Page<Vendor>, StoreError> {
    let mut condition = Condition::all().add(vendor::Column::TenantId.eq(tenant.0));
    if let Some(search) = filter
        .search
        .as_deref()
        .map(str::trim)
        .filter(|search| !search.is_empty())
    {
        condition =
            condition.add(Expr::col(vendor::Column::NameKey).like(
                sea_orm::sea_query::LikeExpr::new(like_pattern(&name_key(search))).escape('\\'),
            ));
    }
    if let Some(tier) = filter.tier {
        condition = condition.add(vendor::Column::Tier.eq(tier.as_str()));
    }
    if let Some(baa_status) = filter.baa_status {
        condition = condition.add(vendor::Column::BaaStatus.eq(baa_status.as_str()));
    }
    if let Some(phi_access) = filter.phi_access {
        condition = condition.add(vendor::Column::PhiAccess.eq(phi_access.as_str()));
    }
    match filter.status {
        StatusFilter::Active => condition = condition.add(vendor::Column::Status.eq(STATUS_ACTIVE)),
        StatusFilter::Archived => {
            condition = condition.add(vendor::Column::Status.eq(STATUS_ARCHIVED))
        }
        StatusFilter::All => {}
    }

    let mut query = vendor::Entity::find().filter(condition);
    query = match sort {
        VendorSort::Name => query,
        VendorSort::Tier => query.order_by_asc(vendor::Column::TierRank),
        VendorSort::Renewal => query.order_by_with_nulls(
            vendor::Column::ContractRenewalOn,
            Order::Asc,
            NullOrdering::Last,
        ),
        VendorSort::Newest => query.order_by_desc(vendor::Column::CreatedAt),
    };
    query = query
        .order_by_asc(vendor::Column::NameKey)
        .order_by_asc(vendor::Column::Id);

    let per_page = per_page.clamp(1, 200);
    let total = query.clone().count(conn).await?;
    let page = page.max(1);
    let rows = query
        .offset((page - 1) * per_page)
        .limit(per_page)
        .all(conn)
        .await?;
    let items = rows
        .into_iter()
        .map(Vendor::try_from)
        .collect::<Result<_, _>>()?;
    Ok(Page {
        items,
        page,
        per_page,
        total,
    })
}

/// Lists a vendor's contacts by name.
///
/// # Errors
/// Fails when the query fails.
pub async fn contacts(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    vendor: VendorId,
) -> Result<Vec<Contact>, StoreError> {
    let rows = vendor_contact::Entity::find()
        .filter(vendor_contact::Column::TenantId.eq(tenant.0))
        .filter(vendor_contact::Column::VendorId.eq(vendor.0))
        .order_by_asc(vendor_contact::Column::Name)
        .order_by_asc(vendor_contact::Column::Id)
        .all(conn)
        .await?;
    Ok(rows.into_iter().map(Contact::from).collect())
}

/// Adds a contact to a vendor of the tenant. Returns `None` when there is no such vendor.
///
/// # Errors
/// [`StoreError::Conflict`] when the vendor already has a contact with this e-mail address.
pub async fn add_contact(
    conn: &impl TransactionTrait,
    tenant: TenantId,
    vendor: VendorId,
    contact: &ContactInput,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Option<Contact>, StoreError> {
    let tx = conn.begin().await?;
    let Some(existing) = get(&tx, tenant, vendor).await? else {
        return Ok(None);
    };
    if existing.is_archived() {
        return Err(StoreError::Conflict(format!(
            "{} is archived; restore it before changing its contacts.",
            existing.name
        )));
    }
    let stored = Contact::from(insert_contact(&tx, tenant, vendor, contact, now).await?);
    audit::record(
        &tx,
        tenant,
        actor,
        Change {
            action: "vendor.contact_added",
            object_type: "vendor",
            object_id: vendor.0,
            before: None,
            after: audit_value(&stored),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(Some(stored))
}

/// Removes a contact. Returns false when the tenant's vendor has no such contact.
///
/// # Errors
/// Fails on a database error.
pub async fn remove_contact(
    conn: &impl TransactionTrait,
    tenant: TenantId,
    vendor: VendorId,
    contact: ContactId,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let tx = conn.begin().await?;
    let Some(row) = vendor_contact::Entity::find_by_id(contact.0)
        .filter(vendor_contact::Column::TenantId.eq(tenant.0))
        .filter(vendor_contact::Column::VendorId.eq(vendor.0))
        .one(&tx)
        .await?
    else {
        return Ok(false);
    };
    let remaining = contacts(&tx, tenant, vendor).await?.len();
    if remaining <= 1 {
        return Err(StoreError::Conflict(
            "A vendor needs at least one contact to receive questionnaires. Add the new contact first, then remove this one.".to_owned(),
        ));
    }
    let removed = Contact::from(row.clone());
    vendor_contact::Entity::delete_by_id(row.id)
        .exec(&tx)
        .await?;
    audit::record(
        &tx,
        tenant,
        actor,
        Change {
            action: "vendor.contact_removed",
            object_type: "vendor",
            object_id: vendor.0,
            before: audit_value(&removed),
            after: None,
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// The outcome of one row of an import.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RowStatus {
    Created,
    Updated,
    /// The vendor and contact already hold exactly these values.
    Unchanged,
    /// The same as an earlier row of the file.
    Duplicate,
    Rejected,
}

#[derive(Clone, Debug, Serialize)]
pub struct RowReport {
    pub line: u64,
    pub status: RowStatus,
    pub vendor: Option<String>,
    pub vendor_id: Option<VendorId>,
    pub message: String,
}

/// The per-row result of an import.
#[derive(Clone, Debug, Serialize)]
pub struct ImportReport {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub duplicate: usize,
    pub rejected: usize,
    pub ignored_columns: Vec<String>,
    pub rows: Vec<RowReport>,
}

impl ImportReport {
    /// Returns whether the file stored or confirmed at least one vendor.
    pub fn imported_anything(&self) -> bool {
        self.created + self.updated + self.unchanged > 0
    }
}

/// Applies the rows of a parsed CSV file in one transaction: a database failure stores none of
/// them. Rows are matched to vendors by name (any case and spacing) and to contacts by e-mail,
/// so importing the same file again reports every row unchanged.
///
/// # Errors
/// Fails on a database error, after rolling back.
pub async fn import(
    conn: &impl TransactionTrait,
    tenant: TenantId,
    file: ParsedFile,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<ImportReport, StoreError> {
    let tx = conn.begin().await?;
    let mut report = ImportReport {
        created: 0,
        updated: 0,
        unchanged: 0,
        duplicate: 0,
        rejected: 0,
        ignored_columns: file.ignored_columns,
        rows: Vec::new(),
    };
    // Vendors created by earlier rows of this file, by name key.
    let mut created_here: HashMap<String, VendorId> = HashMap::new();
    for row in file.rows {
        let (status, vendor_id, message) = match row.result {
            RowResult::Duplicate { of_line } => (
                RowStatus::Duplicate,
                None,
                format!("Same as line {of_line}; skipped."),
            ),
            RowResult::Rejected { reason } => (RowStatus::Rejected, None, reason),
            RowResult::Valid(vendor_row) => {
                let outcome =
                    import_row(&tx, tenant, &vendor_row, &mut created_here, actor, now).await?;
                (outcome.0, Some(outcome.1), outcome.2)
            }
        };
        match status {
            RowStatus::Created => report.created += 1,
            RowStatus::Updated => report.updated += 1,
            RowStatus::Unchanged => report.unchanged += 1,
            RowStatus::Duplicate => report.duplicate += 1,
            RowStatus::Rejected => report.rejected += 1,
        }
        report.rows.push(RowReport {
            line: row.line,
            status,
            vendor: row.vendor,
            vendor_id,
            message,
        });
    }
    tx.commit().await?;
    Ok(report)
}

fn input_from_fields(name: &str, fields: &VendorFields, base: Option<&VendorInput>) -> VendorInput {
    let default_profile = InherentProfile::default();
    let base_profile = base.map_or(default_profile, |input| input.profile);
    let profile = InherentProfile {
        phi_access: fields.phi_access.unwrap_or(base_profile.phi_access),
        clinical_criticality: fields
            .clinical_criticality
            .unwrap_or(base_profile.clinical_criticality),
        system_integration: fields
            .system_integration
            .unwrap_or(base_profile.system_integration),
        medical_device: fields.medical_device.unwrap_or(base_profile.medical_device),
        offshore_access: fields
            .offshore_access
            .unwrap_or(base_profile.offshore_access),
    };
    VendorInput {
        name: base.map_or_else(|| name.to_owned(), |input| input.name.clone()),
        website: fields
            .website
            .clone()
            .or_else(|| base.and_then(|input| input.website.clone())),
        service: fields
            .service
            .clone()
            .or_else(|| base.and_then(|input| input.service.clone())),
        profile,
        baa_status: fields
            .baa_status
            .or(base.map(|input| input.baa_status))
            .unwrap_or_else(|| BaaStatus::default_for(profile.phi_access)),
        contract_renewal: fields
            .contract_renewal
            .or(base.and_then(|input| input.contract_renewal)),
        tier_override: base.and_then(|input| input.tier_override.clone()),
    }
}

async fn import_row(
    tx: &sea_orm::DatabaseTransaction,
    tenant: TenantId,
    row: &VendorRow,
    created_here: &mut HashMap<String, VendorId>,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<(RowStatus, VendorId, String), StoreError> {
    let existing = vendor::Entity::find()
        .filter(vendor::Column::TenantId.eq(tenant.0))
        .filter(vendor::Column::NameKey.eq(row.name_key.as_str()))
        .one(tx)
        .await?;
    let Some(existing) = existing else {
        let input = input_from_fields(&row.name, &row.fields, None);
        let vendor = Vendor::try_from(insert_vendor(tx, tenant, &input, now).await?)?;
        let contact =
            Contact::from(insert_contact(tx, tenant, vendor.id, &row.contact, now).await?);
        audit::record(
            tx,
            tenant,
            actor,
            Change {
                action: "vendor.imported",
                object_type: "vendor",
                object_id: vendor.id.0,
                before: None,
                after: audit_value(
                    &serde_json::json!({ "vendor": &vendor, "contacts": [&contact] }),
                ),
            },
            now,
        )
        .await?;
        created_here.insert(row.name_key.clone(), vendor.id);
        return Ok((
            RowStatus::Created,
            vendor.id,
            "Vendor created with its contact.".to_owned(),
        ));
    };

    let before = Vendor::try_from(existing.clone())?;
    if before.is_archived() {
        return Ok((
            RowStatus::Rejected,
            before.id,
            format!(
                "Vendor {:?} is archived; restore it before importing changes to it.",
                before.name
            ),
        ));
    }
    let mut changes: Vec<String> = Vec::new();
    let input = input_from_fields(&row.name, &row.fields, Some(&before.input()));
    if input != before.input() {
        let mut active = existing.into_active_model();
        apply_input(&mut active, &input);
        active.updated_at = Set(now);
        let after = Vendor::try_from(active.update(tx).await?)?;
        audit::record(
            tx,
            tenant,
            actor,
            Change {
                action: "vendor.updated",
                object_type: "vendor",
                object_id: before.id.0,
                before: audit_value(&before),
                after: audit_value(&after),
            },
            now,
        )
        .await?;
        let changed = super::audit::describe_changes(
            audit_value(&before).as_ref(),
            audit_value(&after).as_ref(),
        );
        changes.push(format!("vendor details updated ({})", changed.join("; ")));
    }
    changes.extend(import_contact(tx, tenant, before.id, &row.contact, actor, now).await?);

    let added_by_this_file = created_here.contains_key(&row.name_key);
    let status = if changes.is_empty() {
        RowStatus::Unchanged
    } else if added_by_this_file {
        // A later row of the file that added a contact to a vendor an earlier row created.
        RowStatus::Created
    } else {
        RowStatus::Updated
    };
    let message = if changes.is_empty() {
        "Already up to date.".to_owned()
    } else {
        let mut text = changes.join("; ");
        text.push('.');
        capitalize(&text)
    };
    Ok((status, before.id, message))
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Adds the row's contact, or updates the name, role and phone of a contact with the same
/// e-mail. Returns what changed.
async fn import_contact(
    tx: &sea_orm::DatabaseTransaction,
    tenant: TenantId,
    vendor: VendorId,
    contact: &ContactInput,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Vec<String>, StoreError> {
    let existing = vendor_contact::Entity::find()
        .filter(vendor_contact::Column::TenantId.eq(tenant.0))
        .filter(vendor_contact::Column::VendorId.eq(vendor.0))
        .filter(vendor_contact::Column::EmailKey.eq(contact.email.key()))
        .one(tx)
        .await?;
    let Some(existing) = existing else {
        let stored = Contact::from(insert_contact(tx, tenant, vendor, contact, now).await?);
        audit::record(
            tx,
            tenant,
            actor,
            Change {
                action: "vendor.contact_added",
                object_type: "vendor",
                object_id: vendor.0,
                before: None,
                after: audit_value(&stored),
            },
            now,
        )
        .await?;
        return Ok(vec![format!("contact {} added", contact.name)]);
    };
    let role = contact.role.clone().or_else(|| existing.role.clone());
    let phone = contact.phone.clone().or_else(|| existing.phone.clone());
    if existing.name == contact.name && existing.role == role && existing.phone == phone {
        return Ok(Vec::new());
    }
    let before = Contact::from(existing.clone());
    let mut active = existing.into_active_model();
    active.name = Set(contact.name.clone());
    active.role = Set(role);
    active.phone = Set(phone);
    active.updated_at = Set(now);
    let after = Contact::from(active.update(tx).await?);
    audit::record(
        tx,
        tenant,
        actor,
        Change {
            action: "vendor.contact_updated",
            object_type: "vendor",
            object_id: vendor.0,
            before: audit_value(&before),
            after: audit_value(&after),
        },
        now,
    )
    .await?;
    Ok(vec![format!("contact {} updated", contact.name)])
}

/// Parses a contact from form or JSON fields.
///
/// # Errors
/// Returns the problems by field name (`name`, `email`).
pub fn parse_contact(
    name: &str,
    email: &str,
    role: &str,
    phone: &str,
) -> Result<ContactInput, Vec<(&'static str, String)>> {
    let mut problems = Vec::new();
    let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() {
        problems.push(("name", "Enter the contact's name.".to_owned()));
    }
    let email = match EmailAddress::parse(email) {
        Ok(email) => Some(email),
        Err(message) => {
            problems.push(("email", message));
            None
        }
    };
    match email {
        Some(email) if problems.is_empty() => Ok(ContactInput {
            name,
            email,
            role: Some(role.trim().to_owned()).filter(|role| !role.is_empty()),
            phone: Some(phone.trim().to_owned()).filter(|phone| !phone.is_empty()),
        }),
        _ => Err(problems),
    }
}

/// Counts the tenant's vendors by effective tier, for the dashboard.
///
/// # Errors
/// Fails when the query fails.
pub async fn count_by_tier(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
) -> Result<Vec<(Tier, i64)>, StoreError> {
    let rows: Vec<(String, i64)> = vendor::Entity::find()
        .select_only()
        .column(vendor::Column::Tier)
        .column_as(vendor::Column::Id.count(), "count")
        .filter(vendor::Column::TenantId.eq(tenant.0))
        .filter(vendor::Column::Status.eq(STATUS_ACTIVE))
        .group_by(vendor::Column::Tier)
        .into_tuple()
        .all(conn)
        .await?;
    let mut counts: Vec<(Tier, i64)> = Tier::ALL.iter().map(|tier| (*tier, 0)).collect();
    for (tier, count) in rows {
        if let Some(entry) = counts.iter_mut().find(|(known, _)| known.as_str() == tier) {
            entry.1 = count;
        }
    }
    Ok(counts)
}

/// Sets (or clears) the date of a vendor's next scheduled assessment.
///
/// # Errors
/// Fails when the update fails.
pub async fn set_next_review(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    vendor: VendorId,
    on: Option<NaiveDate>,
) -> Result<(), sea_orm::DbErr> {
    vendor::Entity::update_many()
        .col_expr(vendor::Column::NextReviewOn, Expr::value(on))
        .filter(vendor::Column::TenantId.eq(tenant.0))
        .filter(vendor::Column::Id.eq(vendor.0))
        .exec(conn)
        .await?;
    Ok(())
}

/// Sets the schedule of a vendor by hand: the date of its next assessment and its procurement
/// owner. Returns `None` when the tenant has no such vendor.
///
/// # Errors
/// Fails when the update fails.
pub async fn set_schedule(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    vendor: VendorId,
    next_review_on: Option<NaiveDate>,
    owner: Option<uuid::Uuid>,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Option<()>, StoreError> {
    let Some(before) = vendor::Entity::find_by_id(vendor.0)
        .filter(vendor::Column::TenantId.eq(tenant.0))
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    vendor::Entity::update_many()
        .col_expr(vendor::Column::NextReviewOn, Expr::value(next_review_on))
        .col_expr(vendor::Column::OwnerUserId, Expr::value(owner))
        .col_expr(vendor::Column::UpdatedAt, Expr::value(now))
        .filter(vendor::Column::TenantId.eq(tenant.0))
        .filter(vendor::Column::Id.eq(vendor.0))
        .exec(conn)
        .await?;
    audit::record(
        conn,
        tenant,
        actor,
        Change {
            action: "vendor.schedule_updated",
            object_type: "vendor",
            object_id: vendor.0,
            before: Some(serde_json::json!({ "next_review_on": before.next_review_on, "owner_user_id": before.owner_user_id })),
            after: Some(serde_json::json!({ "next_review_on": next_review_on, "owner_user_id": owner })),
        },
        now,
    )
    .await?;
    Ok(Some(()))
}
