//! Reads the status events that procurement's tracker, the per-assessment timeline and the
//! cycle-time dashboard are computed from.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait,
};
use uuid::Uuid;

use super::StoreError;
use super::entities::{assessment, assessment_event, job, user, vendor};
use super::jobs::STATUS_DONE;
use crate::domain::cycle_time::{Event, Period, Record, Timeline, local_date, timeline};
use crate::domain::lifecycle::Status;
use crate::domain::tracker;
use crate::domain::vendor::Tier;
use crate::ids::{AssessmentId, TenantId};

/// How many ids one `IN (...)` list holds, well below every database's parameter limit.
const CHUNK: usize = 500;

fn event_of(to: &str, at: DateTime<Utc>) -> Result<Event, StoreError> {
    let to: Status = to.parse().map_err(|message| {
        StoreError::Corrupt(format!("assessment_events.to_status: {message}"))
    })?;
    Ok(Event { at, to })
}

/// Parses a vendor's stored tier; a missing vendor is as corrupt as an unknown tier.
fn tier_of(stored: Option<&str>) -> Result<Tier, StoreError> {
    stored
        .unwrap_or_default()
        .parse()
        .map_err(|message| StoreError::Corrupt(format!("vendors.tier: {message}")))
}

/// Loads the status events of the given assessments, oldest first per assessment.
///
/// # Errors
/// Fails when a query fails or a stored status no longer parses.
pub async fn events_of(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<Event>>, StoreError> {
    let mut events: HashMap<Uuid, Vec<Event>> = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        let rows: Vec<(Uuid, String, DateTime<Utc>)> = assessment_event::Entity::find()
            .select_only()
            .column(assessment_event::Column::AssessmentId)
            .column(assessment_event::Column::ToStatus)
            .column(assessment_event::Column::CreatedAt)
            .filter(assessment_event::Column::TenantId.eq(tenant.0))
            .filter(assessment_event::Column::AssessmentId.is_in(chunk.iter().copied()))
            .order_by_asc(assessment_event::Column::AssessmentId)
            .order_by_asc(assessment_event::Column::CreatedAt)
            .order_by_asc(assessment_event::Column::Id)
            .into_tuple()
            .all(conn)
            .await?;
        for (id, to, at) in rows {
            events.entry(id).or_default().push(event_of(&to, at)?);
        }
    }
    Ok(events)
}

/// Builds the timelines of the given assessments, with the current stages running to `now`.
///
/// # Errors
/// Fails when a query fails or a stored status no longer parses.
pub async fn timelines(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    ids: &[Uuid],
    zone: Tz,
    now: DateTime<Utc>,
) -> Result<HashMap<Uuid, Timeline>, StoreError> {
    Ok(events_of(conn, tenant, ids)
        .await?
        .into_iter()
        .map(|(id, events)| (id, timeline(&events, zone, now)))
        .collect())
}

/// Returns the instant a local date starts in `zone`.
fn start_of(date: NaiveDate, zone: Tz) -> DateTime<Utc> {
    crate::domain::schedule::local_instant(zone, date, 0)
}

/// Loads every assessment with at least one status event in `period`, with its whole event
/// history, its vendor's tier and its due date. Assessments without an event in the period are
/// left out, so they cannot move the figures.
///
/// # Errors
/// Fails when a query fails or a stored value no longer parses.
pub async fn records(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    period: Period,
    zone: Tz,
) -> Result<Vec<Record>, StoreError> {
    let start = start_of(period.from, zone);
    let end = start_of(period.to.succ_opt().unwrap_or(period.to), zone);
    let touched = assessment_event::Entity::find()
        .select_only()
        .column(assessment_event::Column::AssessmentId)
        .filter(assessment_event::Column::TenantId.eq(tenant.0))
        .filter(assessment_event::Column::CreatedAt.gte(start))
        .filter(assessment_event::Column::CreatedAt.lt(end))
        .distinct()
        .into_query()
        .to_owned();
    let rows: Vec<(Uuid, String, DateTime<Utc>)> = assessment_event::Entity::find()
        .select_only()
        .column(assessment_event::Column::AssessmentId)
        .column(assessment_event::Column::ToStatus)
        .column(assessment_event::Column::CreatedAt)
        .filter(assessment_event::Column::TenantId.eq(tenant.0))
        .filter(assessment_event::Column::AssessmentId.in_subquery(touched.clone()))
        .order_by_asc(assessment_event::Column::AssessmentId)
        .order_by_asc(assessment_event::Column::CreatedAt)
        .order_by_asc(assessment_event::Column::Id)
        .into_tuple()
        .all(conn)
        .await?;
    let assessments: Vec<(Uuid, Uuid, NaiveDate)> = assessment::Entity::find()
        .select_only()
        .column(assessment::Column::Id)
        .column(assessment::Column::VendorId)
        .column(assessment::Column::DueOn)
        .filter(
            Condition::all()
                .add(assessment::Column::TenantId.eq(tenant.0))
                .add(assessment::Column::Id.in_subquery(touched)),
        )
        .into_tuple()
        .all(conn)
        .await?;
    let tiers: HashMap<Uuid, String> = vendor::Entity::find()
        .select_only()
        .column(vendor::Column::Id)
        .column(vendor::Column::Tier)
        .filter(vendor::Column::TenantId.eq(tenant.0))
        .into_tuple::<(Uuid, String)>()
        .all(conn)
        .await?
        .into_iter()
        .collect();
    let mut by_id: HashMap<Uuid, Record> = HashMap::with_capacity(assessments.len());
    for (id, vendor_id, due_on) in assessments {
        let tier = tier_of(tiers.get(&vendor_id).map(String::as_str))?;
        by_id.insert(
            id,
            Record {
                tier,
                due_on,
                events: Vec::new(),
            },
        );
    }
    for (id, to, at) in rows {
        if let Some(record) = by_id.get_mut(&id) {
            record.events.push(event_of(&to, at)?);
        }
    }
    Ok(by_id.into_values().collect())
}

/// Reminder e-mails the vendor contacts of an assessment were sent, and escalation e-mails
/// its procurement owners were sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Notices {
    pub reminders: u64,
    pub overdue_reminders: u64,
    pub escalations: u64,
}

/// Counts the reminder and escalation e-mails sent for one assessment.
///
/// # Errors
/// Fails when the query fails.
pub async fn notices(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    id: AssessmentId,
) -> Result<Notices, StoreError> {
    let keys: Vec<String> = job::Entity::find()
        .select_only()
        .column(job::Column::UniqueKey)
        .filter(job::Column::TenantId.eq(tenant.0))
        .filter(job::Column::Status.eq(STATUS_DONE))
        .filter(job::Column::UniqueKey.starts_with(format!("assessment:{}:", id.0)))
        .into_tuple()
        .all(conn)
        .await?;
    let mut notices = Notices::default();
    for key in keys {
        let slot = key.split(':').nth(2).unwrap_or_default();
        if slot.starts_with("before-") {
            notices.reminders += 1;
        } else if slot.starts_with("overdue-") {
            notices.overdue_reminders += 1;
        } else if slot == "escalation" {
            notices.escalations += 1;
        }
    }
    Ok(notices)
}

/// Loads every open assessment of the tenant as a tracker row. Stage ages count calendar days
/// in `zone` up to `today`.
///
/// # Errors
/// Fails when a query fails or a stored value no longer parses.
pub async fn open_rows(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    zone: Tz,
    today: NaiveDate,
) -> Result<Vec<tracker::Row>, StoreError> {
    let open: Vec<assessment::Model> = assessment::Entity::find()
        .filter(assessment::Column::TenantId.eq(tenant.0))
        .filter(
            assessment::Column::Status.is_not_in(
                Status::ALL
                    .iter()
                    .filter(|status| status.is_closed())
                    .map(|status| status.as_str()),
            ),
        )
        .all(conn)
        .await?;
    let ids: Vec<Uuid> = open.iter().map(|row| row.id).collect();
    let events = events_of(conn, tenant, &ids).await?;
    let vendors: HashMap<Uuid, vendor::Model> = vendor::Entity::find()
        .filter(vendor::Column::TenantId.eq(tenant.0))
        .filter(
            vendor::Column::Id.is_in(
                open.iter()
                    .map(|row| row.vendor_id)
                    .collect::<std::collections::HashSet<_>>(),
            ),
        )
        .all(conn)
        .await?
        .into_iter()
        .map(|row| (row.id, row))
        .collect();
    let owners: HashMap<Uuid, String> = user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .column(user::Column::Name)
        .filter(user::Column::TenantId.eq(tenant.0))
        .into_tuple::<(Uuid, String)>()
        .all(conn)
        .await?
        .into_iter()
        .collect();
    let mut rows = Vec::with_capacity(open.len());
    for row in open {
        let status = super::assessments::status_of(&row)?;
        let vendor = vendors.get(&row.vendor_id);
        let tier = tier_of(vendor.map(|vendor| vendor.tier.as_str()))?;
        // The stage starts at the last event; an assessment without events (which the
        // workflow never writes) counts from its creation.
        let stage_started_at = events
            .get(&row.id)
            .and_then(|events| events.last())
            .map_or(row.created_at, |event| event.at);
        let owner_id = vendor.and_then(|vendor| vendor.owner_user_id);
        rows.push(tracker::Row {
            id: row.id,
            vendor_id: row.vendor_id,
            vendor_name: vendor.map(|vendor| vendor.name.clone()).unwrap_or_default(),
            tier,
            questionnaire_id: row.questionnaire_id,
            questionnaire_key: row.questionnaire_key,
            questionnaire_version: row.questionnaire_version,
            status,
            waiting_on: status.waiting_on(),
            stage_started_at,
            days_in_stage: (today - local_date(stage_started_at, zone))
                .num_days()
                .max(0),
            due_on: row.due_on,
            days_overdue: (today - row.due_on).num_days().max(0),
            last_vendor_activity_at: row.last_vendor_activity_at,
            owner_name: owner_id.and_then(|id| owners.get(&id).cloned()),
            owner_id,
        });
    }
    Ok(rows)
}
