//! Queries of the schedule sweep: which vendors, assessments and documents of one tenant fall
//! due. Each query reads only rows near a date boundary, through an index, so a sweep stays fast
//! however many vendors a tenant has.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::assessments::evidence::REVIEW_ACCEPTED;
use super::entities::{access_link, assessment, evidence, job, user, vendor, vendor_contact};
use super::users::STATUS_ACTIVE;
use super::vendors;
use crate::domain::lifecycle::Status;
use crate::domain::role::Role;
use crate::ids::TenantId;

/// Rows per `IN (...)` list, well below the bind-parameter limits of both databases.
const CHUNK: usize = 500;

/// Active vendors whose next scheduled assessment is on or before `today`.
///
/// # Errors
/// Fails when the query fails.
pub async fn vendors_due(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    today: NaiveDate,
) -> Result<Vec<(Uuid, NaiveDate)>, sea_orm::DbErr> {
    let rows: Vec<(Uuid, Option<NaiveDate>)> = vendor::Entity::find()
        .select_only()
        .column(vendor::Column::Id)
        .column(vendor::Column::NextReviewOn)
        .filter(vendor::Column::TenantId.eq(tenant.0))
        .filter(vendor::Column::NextReviewOn.lte(today))
        .filter(vendor::Column::Status.eq(vendors::STATUS_ACTIVE))
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, on)| on.map(|on| (id, on)))
        .collect())
}

/// Active vendors whose contract renews between `from` and `to`.
///
/// # Errors
/// Fails when the query fails.
pub async fn vendors_renewing(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<(Uuid, NaiveDate)>, sea_orm::DbErr> {
    let rows: Vec<(Uuid, Option<NaiveDate>)> = vendor::Entity::find()
        .select_only()
        .column(vendor::Column::Id)
        .column(vendor::Column::ContractRenewalOn)
        .filter(vendor::Column::TenantId.eq(tenant.0))
        .filter(vendor::Column::ContractRenewalOn.between(from, to))
        .filter(vendor::Column::Status.eq(vendors::STATUS_ACTIVE))
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, on)| on.map(|on| (id, on)))
        .collect())
}

/// Assessments that wait for the vendor's submission (sent or in progress) and are due on or
/// before `latest_due`.
///
/// # Errors
/// Fails when the query fails.
pub async fn awaiting_vendor(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    latest_due: NaiveDate,
) -> Result<Vec<assessment::Model>, sea_orm::DbErr> {
    assessment::Entity::find()
        .filter(assessment::Column::TenantId.eq(tenant.0))
        .filter(
            assessment::Column::Status.is_in([Status::Sent.as_str(), Status::InProgress.as_str()]),
        )
        .filter(assessment::Column::DueOn.lte(latest_due))
        .all(conn)
        .await
}

/// Returns, for each assessment, the contacts that hold a link that was not revoked: the people
/// the questionnaire was sent to and who still may answer.
///
/// # Errors
/// Fails when the query fails.
pub async fn recipients(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    assessments: &[Uuid],
) -> Result<HashMap<Uuid, Vec<Uuid>>, sea_orm::DbErr> {
    let mut found: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for chunk in assessments.chunks(CHUNK) {
        let rows: Vec<(Uuid, Uuid)> = access_link::Entity::find()
            .select_only()
            .column(access_link::Column::AssessmentId)
            .column(access_link::Column::ContactId)
            .distinct()
            .filter(access_link::Column::TenantId.eq(tenant.0))
            .filter(access_link::Column::AssessmentId.is_in(chunk.iter().copied()))
            .filter(access_link::Column::RevokedAt.is_null())
            .into_tuple()
            .all(conn)
            .await?;
        for (assessment, contact) in rows {
            let contacts = found.entry(assessment).or_default();
            if !contacts.contains(&contact) {
                contacts.push(contact);
            }
        }
    }
    for contacts in found.values_mut() {
        contacts.sort_unstable();
    }
    Ok(found)
}

/// A document of a vendor's current assessment with an expiry date.
#[derive(Clone, Debug)]
pub struct CurrentDocument {
    pub evidence: evidence::Model,
    pub vendor_id: Uuid,
}

/// Accepted documents that expire between `from` and `to` and belong to their vendor's most
/// recently completed assessment; older assessments' documents were superseded.
///
/// # Errors
/// Fails when the query fails.
pub async fn documents_expiring(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<CurrentDocument>, sea_orm::DbErr> {
    let files = evidence::Entity::find()
        .filter(evidence::Column::TenantId.eq(tenant.0))
        .filter(evidence::Column::ExpiresOn.between(from, to))
        .filter(evidence::Column::ReviewStatus.eq(REVIEW_ACCEPTED))
        .order_by_asc(evidence::Column::ExpiresOn)
        .order_by_asc(evidence::Column::Id)
        .all(conn)
        .await?;
    if files.is_empty() {
        return Ok(Vec::new());
    }
    let assessment_ids: HashSet<Uuid> = files.iter().map(|file| file.assessment_id).collect();
    let assessment_ids: Vec<Uuid> = assessment_ids.into_iter().collect();
    let mut vendor_of: HashMap<Uuid, Uuid> = HashMap::new();
    for chunk in assessment_ids.chunks(CHUNK) {
        let rows: Vec<(Uuid, Uuid)> = assessment::Entity::find()
            .select_only()
            .column(assessment::Column::Id)
            .column(assessment::Column::VendorId)
            .filter(assessment::Column::TenantId.eq(tenant.0))
            .filter(assessment::Column::Id.is_in(chunk.iter().copied()))
            .filter(assessment::Column::Status.eq(Status::Completed.as_str()))
            .into_tuple()
            .all(conn)
            .await?;
        vendor_of.extend(rows);
    }
    let vendor_ids: Vec<Uuid> = vendor_of
        .values()
        .copied()
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut latest: HashMap<Uuid, (chrono::DateTime<chrono::Utc>, Uuid)> = HashMap::new();
    let mut active: HashSet<Uuid> = HashSet::new();
    for chunk in vendor_ids.chunks(CHUNK) {
        let rows: Vec<(Uuid, Uuid, Option<chrono::DateTime<chrono::Utc>>)> =
            assessment::Entity::find()
                .select_only()
                .column(assessment::Column::Id)
                .column(assessment::Column::VendorId)
                .column(assessment::Column::CompletedAt)
                .filter(assessment::Column::TenantId.eq(tenant.0))
                .filter(assessment::Column::VendorId.is_in(chunk.iter().copied()))
                .filter(assessment::Column::Status.eq(Status::Completed.as_str()))
                .into_tuple()
                .all(conn)
                .await?;
        for (id, vendor_id, completed_at) in rows {
            let Some(completed_at) = completed_at else {
                continue;
            };
            let entry = latest.entry(vendor_id).or_insert((completed_at, id));
            if (completed_at, id) > *entry {
                *entry = (completed_at, id);
            }
        }
        let live: Vec<Uuid> = vendor::Entity::find()
            .select_only()
            .column(vendor::Column::Id)
            .filter(vendor::Column::TenantId.eq(tenant.0))
            .filter(vendor::Column::Id.is_in(chunk.iter().copied()))
            .filter(vendor::Column::Status.eq(vendors::STATUS_ACTIVE))
            .into_tuple()
            .all(conn)
            .await?;
        active.extend(live);
    }
    Ok(files
        .into_iter()
        .filter_map(|file| {
            let vendor_id = *vendor_of.get(&file.assessment_id)?;
            let current = latest
                .get(&vendor_id)
                .is_some_and(|(_, id)| *id == file.assessment_id);
            (current && active.contains(&vendor_id)).then_some(CurrentDocument {
                evidence: file,
                vendor_id,
            })
        })
        .collect())
}

/// The contacts of each vendor, by vendor.
///
/// # Errors
/// Fails when the query fails.
pub async fn vendor_contacts(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    vendors: &[Uuid],
) -> Result<HashMap<Uuid, Vec<Uuid>>, sea_orm::DbErr> {
    let mut found: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for chunk in vendors.chunks(CHUNK) {
        let rows: Vec<(Uuid, Uuid)> = vendor_contact::Entity::find()
            .select_only()
            .column(vendor_contact::Column::VendorId)
            .column(vendor_contact::Column::Id)
            .filter(vendor_contact::Column::TenantId.eq(tenant.0))
            .filter(vendor_contact::Column::VendorId.is_in(chunk.iter().copied()))
            .order_by_asc(vendor_contact::Column::Id)
            .into_tuple()
            .all(conn)
            .await?;
        for (vendor_id, contact) in rows {
            found.entry(vendor_id).or_default().push(contact);
        }
    }
    Ok(found)
}

/// Active staff members of the tenant with one of `roles`, oldest account first.
///
/// # Errors
/// Fails when the query fails.
pub async fn staff_with_roles(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    roles: &[Role],
) -> Result<Vec<user::Model>, sea_orm::DbErr> {
    user::Entity::find()
        .filter(user::Column::TenantId.eq(tenant.0))
        .filter(user::Column::Status.eq(STATUS_ACTIVE))
        .filter(user::Column::Role.is_in(roles.iter().map(|role| role.as_str())))
        .order_by_asc(user::Column::CreatedAt)
        .order_by_asc(user::Column::Id)
        .all(conn)
        .await
}

/// Returns the staff members a scheduled notice goes to: the first of `preferred` that is an
/// active staff member, else every active member with one of `roles`, else every active
/// administrator.
///
/// # Errors
/// Fails when the query fails.
pub async fn notice_recipients(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    preferred: &[Option<Uuid>],
    roles: &[Role],
) -> Result<Vec<Uuid>, sea_orm::DbErr> {
    let preferred: Vec<Uuid> = preferred.iter().flatten().copied().collect();
    if !preferred.is_empty() {
        let active: Vec<Uuid> = user::Entity::find()
            .select_only()
            .column(user::Column::Id)
            .filter(user::Column::TenantId.eq(tenant.0))
            .filter(user::Column::Status.eq(STATUS_ACTIVE))
            .filter(user::Column::Id.is_in(preferred.clone()))
            .into_tuple()
            .all(conn)
            .await?;
        if let Some(first) = preferred.iter().find(|id| active.contains(id)) {
            return Ok(vec![*first]);
        }
    }
    let staff = staff_with_roles(conn, tenant, roles).await?;
    if !staff.is_empty() {
        return Ok(staff.into_iter().map(|member| member.id).collect());
    }
    Ok(staff_with_roles(conn, tenant, &[Role::Admin])
        .await?
        .into_iter()
        .map(|member| member.id)
        .collect())
}

/// Returns which of `keys` the job table holds already, so that a sweep inserts only new jobs.
///
/// # Errors
/// Fails when the query fails.
pub async fn existing_job_keys(
    conn: &impl ConnectionTrait,
    keys: &[String],
) -> Result<HashSet<String>, sea_orm::DbErr> {
    let mut found = HashSet::new();
    for chunk in keys.chunks(CHUNK) {
        let rows: Vec<String> = job::Entity::find()
            .select_only()
            .column(job::Column::UniqueKey)
            .filter(job::Column::UniqueKey.is_in(chunk.iter().cloned()))
            .into_tuple()
            .all(conn)
            .await?;
        found.extend(rows);
    }
    Ok(found)
}
