//! The durable job table. A job is stored in the same transaction as the change that causes it,
//! under a unique key, so that it is neither lost nor queued twice; workers on any instance
//! claim due jobs one at a time, and a claim that is not finished within its lease is taken
//! again.

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QuerySelect, Set, Statement,
};
use serde::Serialize;
use uuid::Uuid;

use super::entities::job;
use crate::ids::TenantId;

pub const STATUS_QUEUED: &str = "queued";
pub const STATUS_RUNNING: &str = "running";
pub const STATUS_DONE: &str = "done";
pub const STATUS_FAILED: &str = "failed";

/// Attempts before a job is marked failed and shown to staff.
pub const DEFAULT_MAX_ATTEMPTS: i32 = 6;

/// A job to store.
pub struct NewJob<'a> {
    pub tenant: Option<TenantId>,
    pub kind: &'a str,
    /// Identifies the work, such as `assessment:ID:invite:CONTACT`; a second job with the same
    /// key is not stored.
    pub unique_key: String,
    pub payload: serde_json::Value,
    pub run_at: DateTime<Utc>,
}

/// Stores a job. Returns false when a job with the same unique key exists already. The insert
/// uses `ON CONFLICT DO NOTHING`, because on PostgreSQL a failed insert would abort the caller's
/// transaction.
///
/// # Errors
/// Fails on a database error.
pub async fn enqueue(
    conn: &impl ConnectionTrait,
    job: NewJob<'_>,
    now: DateTime<Utc>,
) -> Result<bool, sea_orm::DbErr> {
    let result = job::Entity::insert(new_model(job, now))
        .on_conflict(
            OnConflict::column(job::Column::UniqueKey)
                .do_nothing()
                .to_owned(),
        )
        .exec(conn)
        .await;
    match result {
        Ok(_) => Ok(true),
        Err(sea_orm::DbErr::RecordNotInserted) => Ok(false),
        Err(error) => Err(error),
    }
}

fn new_model(job: NewJob<'_>, now: DateTime<Utc>) -> job::ActiveModel {
    job::ActiveModel {
        id: Set(Uuid::new_v4()),
        tenant_id: Set(job.tenant.map(|tenant| tenant.0)),
        kind: Set(job.kind.to_owned()),
        unique_key: Set(job.unique_key),
        payload: Set(job.payload),
        status: Set(STATUS_QUEUED.to_owned()),
        attempts: Set(0),
        max_attempts: Set(DEFAULT_MAX_ATTEMPTS),
        run_at: Set(job.run_at),
        locked_until: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        finished_at: Set(None),
    }
}

/// Jobs per multi-row insert of [`enqueue_many`]: 14 columns each, well below every
/// database's limit on bound values.
const ENQUEUE_BATCH: usize = 500;

/// Stores many jobs with multi-row inserts, skipping those whose unique key exists already, and
/// returns how many were stored. Each batch is one statement, so a sweep that queues thousands
/// of jobs does not pay a round trip per job.
///
/// # Errors
/// Fails on a database error.
pub async fn enqueue_many(
    conn: &impl ConnectionTrait,
    jobs: Vec<NewJob<'_>>,
    now: DateTime<Utc>,
) -> Result<u64, sea_orm::DbErr> {
    let mut stored = 0;
    let mut jobs = jobs.into_iter().peekable();
    while jobs.peek().is_some() {
        let models: Vec<job::ActiveModel> = jobs
            .by_ref()
            .take(ENQUEUE_BATCH)
            .map(|job| new_model(job, now))
            .collect();
        stored += job::Entity::insert_many(models)
            .on_conflict(
                OnConflict::column(job::Column::UniqueKey)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(conn)
            .await?;
    }
    Ok(stored)
}

/// Claims the next due job: a queued job whose time has come, or a running one whose lease ran
/// out; the claim holds for `lease`. On PostgreSQL, `FOR UPDATE SKIP LOCKED` keeps two workers from claiming the same row;
/// on SQLite the single writer connection does.
///
/// # Errors
/// Fails when the database fails.
pub async fn claim_next(
    conn: &impl ConnectionTrait,
    now: DateTime<Utc>,
    lease: TimeDelta,
) -> Result<Option<job::Model>, sea_orm::DbErr> {
    let backend = conn.get_database_backend();
    let lock = if backend == DbBackend::Postgres {
        "FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    let (p1, p2, p3, p4, p5, p6) = match backend {
        DbBackend::Postgres => ("$1", "$2", "$3", "$4", "$5", "$6"),
        _ => ("?", "?", "?", "?", "?", "?"),
    };
    let sql = format!(
        "UPDATE jobs SET status = {p1}, locked_until = {p2}, attempts = attempts + 1, updated_at = {p3} \
         WHERE id = (SELECT id FROM jobs \
                     WHERE (status = '{STATUS_QUEUED}' AND run_at <= {p4}) \
                        OR (status = '{STATUS_RUNNING}' AND locked_until < {p5}) \
                     ORDER BY run_at, id LIMIT 1 {lock}) \
           AND (status = '{STATUS_QUEUED}' OR locked_until < {p6}) \
         RETURNING *"
    );
    let statement = Statement::from_sql_and_values(
        backend,
        sql,
        [
            STATUS_RUNNING.into(),
            (now + lease).into(),
            now.into(),
            now.into(),
            now.into(),
            now.into(),
        ],
    );
    let row = conn.query_one(statement).await?;
    row.map(|row| job::Model::from_query_result(&row, ""))
        .transpose()
}

/// Marks a claimed job done.
///
/// # Errors
/// Fails when the update fails.
pub async fn mark_done(
    conn: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    job::Entity::update_many()
        .col_expr(job::Column::Status, Expr::value(STATUS_DONE))
        .col_expr(
            job::Column::LockedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(job::Column::FinishedAt, Expr::value(Some(now)))
        .col_expr(job::Column::UpdatedAt, Expr::value(now))
        .filter(job::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Returns the wait before attempt `attempts + 1`: 1, 4, 16, 64 minutes, at most 4 hours.
pub fn backoff(attempts: i32) -> TimeDelta {
    let exponent = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(0)
        .min(6);
    TimeDelta::minutes(4_i64.pow(exponent).min(240))
}

/// Records a failed attempt: the job runs again after [`backoff`], or is marked failed after its
/// last attempt. Returns whether it will run again.
///
/// # Errors
/// Fails when the update fails.
pub async fn mark_failed(
    conn: &impl ConnectionTrait,
    job: &job::Model,
    error: &str,
    now: DateTime<Utc>,
) -> Result<bool, sea_orm::DbErr> {
    let retry = job.attempts < job.max_attempts;
    let status = if retry { STATUS_QUEUED } else { STATUS_FAILED };
    job::Entity::update_many()
        .col_expr(job::Column::Status, Expr::value(status))
        .col_expr(
            job::Column::LockedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(
            job::Column::LastError,
            Expr::value(Some(error.chars().take(2000).collect::<String>())),
        )
        .col_expr(job::Column::RunAt, Expr::value(now + backoff(job.attempts)))
        .col_expr(
            job::Column::FinishedAt,
            Expr::value(if retry { None } else { Some(now) }),
        )
        .col_expr(job::Column::UpdatedAt, Expr::value(now))
        .filter(job::Column::Id.eq(job.id))
        .exec(conn)
        .await?;
    Ok(retry)
}

/// Puts a failed job back in the queue to run now.
///
/// # Errors
/// Fails when the update fails. Returns false when the tenant has no such failed job.
pub async fn retry(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, sea_orm::DbErr> {
    let result = job::Entity::update_many()
        .col_expr(job::Column::Status, Expr::value(STATUS_QUEUED))
        .col_expr(job::Column::RunAt, Expr::value(now))
        .col_expr(
            job::Column::MaxAttempts,
            Expr::col(job::Column::Attempts).add(DEFAULT_MAX_ATTEMPTS),
        )
        .col_expr(
            job::Column::FinishedAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(job::Column::UpdatedAt, Expr::value(now))
        .filter(job::Column::Id.eq(id))
        .filter(job::Column::TenantId.eq(tenant.0))
        .filter(job::Column::Status.eq(STATUS_FAILED))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// A job as the operator page shows it.
#[derive(Clone, Debug, Serialize)]
pub struct JobView {
    pub id: Uuid,
    pub kind: String,
    pub unique_key: String,
    pub status: String,
    pub attempts: i32,
    pub run_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// Lists the tenant's newest jobs, optionally of one status.
///
/// # Errors
/// Fails when the query fails.
pub async fn list(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    status: Option<&str>,
    limit: u64,
) -> Result<Vec<JobView>, sea_orm::DbErr> {
    let mut query = job::Entity::find().filter(job::Column::TenantId.eq(tenant.0));
    if let Some(status) = status {
        query = query.filter(job::Column::Status.eq(status));
    }
    let rows = query
        .order_by_desc(job::Column::CreatedAt)
        .order_by_desc(job::Column::Id)
        .limit(limit)
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| JobView {
            id: row.id,
            kind: row.kind,
            unique_key: row.unique_key,
            status: row.status,
            attempts: row.attempts,
            run_at: row.run_at,
            last_error: row.last_error,
            created_at: row.created_at,
            finished_at: row.finished_at,
        })
        .collect())
}

/// Lists jobs whose unique key starts with `prefix`, for an assessment's schedule.
///
/// # Errors
/// Fails when the query fails.
pub async fn list_by_key_prefix(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    prefix: &str,
) -> Result<Vec<job::Model>, sea_orm::DbErr> {
    job::Entity::find()
        .filter(job::Column::TenantId.eq(tenant.0))
        .filter(job::Column::UniqueKey.starts_with(prefix))
        .order_by_asc(job::Column::CreatedAt)
        .order_by_asc(job::Column::Id)
        .all(conn)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_caps() {
        let minutes: Vec<i64> = (1..=8)
            .map(|attempts| backoff(attempts).num_minutes())
            .collect();
        assert_eq!(minutes, [1, 4, 16, 64, 240, 240, 240, 240]);
    }
}
