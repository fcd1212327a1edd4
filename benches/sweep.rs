//! Benchmarks one schedule sweep (`portal::jobs::schedule::plan`) over a tenant with 100,000
//! vendors.
//!
//! Runs on SQLite in a temporary directory, or on PostgreSQL when `BENCH_DATABASE_URL` is set.
//! On PostgreSQL the benchmark creates its own database `bench_sweep_<pid>` on that server and
//! drops it at the end, so a shared database such as the tests' is left alone.
//!
//! Two cases:
//! - `nothing_new`: every due job is in the job table already, so the sweep finds the due work
//!   and queues nothing. Every sweep but the first after new work falls due is like this.
//! - `queue_due_work`: before each timed sweep, the jobs that the previous sweep queued are
//!   deleted (untimed), so each timed sweep queues all due work again, as the first sweep of the
//!   day does. Older, finished jobs stay in the table.

use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, TimeDelta, TimeZone, Utc};
use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use portal::domain::lifecycle::Status;
use portal::domain::role::Role;
use portal::domain::schedule::{REASON_CYCLE, ScheduleSettings, add_months};
use portal::domain::vendor::Tier;
use portal::jobs::schedule::{JOB_START_ASSESSMENT, Planned, plan};
use portal::store::entities::{
    access_link, assessment, evidence, job, questionnaire, tenant, user, vendor, vendor_contact,
};
use portal::store::{Backend, Db};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, TransactionTrait,
};
use tempfile::TempDir;
use uuid::Uuid;

mod support;

use support::{BenchDatabase, Spread, insert_batches};

const VENDORS: usize = 100_000;
/// Vendors added recently, with no completed assessment and so no next review date.
const NEW_VENDORS: usize = 10_000;
/// Vendors whose next scheduled assessment fell due in the last week and has not started yet.
const DUE_VENDORS: usize = 300;
/// Vendors with a scheduled assessment sent to them and not submitted yet.
const OPEN_ASSESSMENTS: usize = 2_000;

/// Returns the instant of every sweep: 12:00 UTC, after the default send hour (09:00 in UTC), so
/// that the reminders of the day are due.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 4, 12, 0, 0).unwrap()
}

/// The seeded database and what keeps it alive.
struct Fixture {
    db: Db,
    _directory: Option<TempDir>,
    _postgres: Option<BenchDatabase>,
}

impl Fixture {
    async fn create() -> anyhow::Result<Self> {
        let (db, directory, postgres) = support::open("bench_sweep").await?;
        let started = Instant::now();
        seed(&db).await?;
        if db.backend() == Backend::Postgres {
            // Autovacuum would analyze the new rows later, possibly in the middle of a measurement.
            // Analyzing now gives every sample the plans of a settled database.
            db.writer().execute_unprepared("ANALYZE").await?;
        }
        eprintln!(
            "Seeded {VENDORS} vendors on {:?} in {:.1} s.",
            db.backend(),
            started.elapsed().as_secs_f64()
        );
        Ok(Self {
            db,
            _directory: directory,
            _postgres: postgres,
        })
    }

    /// Deletes the jobs that sweeps at [`now`] queued, leaving the seeded finished jobs.
    async fn delete_queued(&self) -> anyhow::Result<()> {
        job::Entity::delete_many()
            .filter(job::Column::CreatedAt.gte(now()))
            .exec(self.db.writer())
            .await?;
        Ok(())
    }
}

fn at_hour(date: NaiveDate, hour: u32) -> DateTime<Utc> {
    Utc.from_utc_datetime(&date.and_hms_opt(hour, 0, 0).unwrap())
}

fn tier_of(index: usize) -> Tier {
    match index % 20 {
        0 => Tier::Critical,
        1..=3 => Tier::High,
        4..=11 => Tier::Moderate,
        _ => Tier::Low,
    }
}

fn staff(tenant_id: Uuid, number: usize, role: Role, now: DateTime<Utc>) -> user::ActiveModel {
    let email = format!("{}{number}@hospital.example", role.as_str());
    user::ActiveModel {
        id: Set(Uuid::new_v4()),
        tenant_id: Set(tenant_id),
        email_key: Set(email.clone()),
        email: Set(email),
        name: Set(format!("{} {number}", role.as_str())),
        role: Set(role.as_str().to_owned()),
        status: Set("active".to_owned()),
        password_hash: Set(None),
        failed_sign_ins: Set(0),
        locked_until: Set(None),
        last_sign_in_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
}

/// The rows of every table the sweep reads, built in memory and then inserted in batches.
#[derive(Default)]
struct Rows {
    vendors: Vec<vendor::ActiveModel>,
    contacts: Vec<vendor_contact::ActiveModel>,
    assessments: Vec<assessment::ActiveModel>,
    evidence: Vec<evidence::ActiveModel>,
    links: Vec<access_link::ActiveModel>,
    jobs: Vec<job::ActiveModel>,
}

/// Seeds one tenant with [`VENDORS`] vendors, spread over the tiers 5 % critical, 15 % high,
/// 40 % moderate and 40 % low:
///
/// - [`NEW_VENDORS`] have no assessment yet.
/// - [`DUE_VENDORS`] had their next review fall due in the last 7 days.
/// - [`OPEN_ASSESSMENTS`] have a scheduled assessment waiting on the vendor, due from 30 days
///   ago to 30 days ahead, so that some reminders, overdue reminders and escalations fall due.
/// - The rest completed their last assessment within their tier's cycle and are not due.
///
/// Every vendor with a completed assessment has one accepted document: about 1 in 180 expires
/// within 30 days, about 1 in 900 expired within the last 90 days, 3 in 10 never expire and the
/// rest expire within 3 years. 6 in 10 vendors have a contract renewal date from 30 days ago to
/// 3 years ahead, and 1 in 50 of the vendors that are not due and have no open assessment is
/// archived. Critical and high vendors have 2 contacts, the others 1. The job table contains one
/// finished start job for each completed assessment, as earlier sweeps would have left.
async fn seed(db: &Db) -> anyhow::Result<()> {
    let now = now();
    let settings = ScheduleSettings::default();
    let today = settings.today(now);
    let mut spread = Spread(2026);
    let txn = db.writer().begin().await?;

    let tenant_id = Uuid::new_v4();
    tenant::ActiveModel {
        id: Set(tenant_id),
        name: Set("Benchmark Health".to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let mut users = vec![staff(tenant_id, 1, Role::Admin, now)];
    users.extend((1..=3).map(|number| staff(tenant_id, number, Role::Analyst, now)));
    users.extend((1..=2).map(|number| staff(tenant_id, number, Role::Procurement, now)));
    let owner = *users.last().unwrap().id.as_ref();
    insert_batches(&txn, users).await?;
    let questionnaire_id = Uuid::new_v4();
    questionnaire::ActiveModel {
        id: Set(questionnaire_id),
        tenant_id: Set(tenant_id),
        key: Set(settings.questionnaires[0].clone()),
        version: Set(1),
        title: Set("Healthcare vendor security".to_owned()),
        source: Set(String::new()),
        created_by_user_id: Set(None),
        created_at: Set(now),
        origin: Set("shipped".to_owned()),
    }
    .insert(&txn)
    .await?;

    let mut rows = Rows::default();
    for index in 0..VENDORS {
        let vendor_id = Uuid::new_v4();
        let tier = tier_of(index);
        let cadence = settings.cadence(tier);
        let renewal =
            (spread.below(10) < 6).then(|| today - TimeDelta::days(30) + spread.days_below(1126));
        let (next_review, open) = if index < NEW_VENDORS {
            (None, None)
        } else if index < NEW_VENDORS + DUE_VENDORS {
            (Some(today - spread.days_below(7)), None)
        } else if index < NEW_VENDORS + DUE_VENDORS + OPEN_ASSESSMENTS {
            // A started cycle keeps the next review date until the assessment is completed.
            let due_on = today - TimeDelta::days(30) + TimeDelta::days((index % 61) as i64);
            let sent_on = due_on - TimeDelta::days(i64::from(settings.due_in_days));
            (Some(sent_on), Some(due_on))
        } else {
            // Thirty days per month undercounts the cycle, so the next review is after today.
            let age = TimeDelta::days(1) + spread.days_below(u64::from(cadence) * 30 - 2);
            (Some(add_months(today - age, cadence)), None)
        };
        let archived = open.is_none() && index >= NEW_VENDORS + DUE_VENDORS && index % 50 == 49;
        rows.vendors.push(vendor::ActiveModel {
            id: Set(vendor_id),
            tenant_id: Set(tenant_id),
            name: Set(format!("Vendor {index:06}")),
            name_key: Set(format!("vendor {index:06}")),
            website: Set(None),
            service: Set(None),
            phi_access: Set(if tier == Tier::Low { "none" } else { "limited" }.to_owned()),
            clinical_criticality: Set("supporting".to_owned()),
            system_integration: Set(tier == Tier::Critical),
            medical_device: Set(false),
            offshore_access: Set(false),
            computed_tier: Set(tier.as_str().to_owned()),
            tier_override: Set(None),
            tier_override_rationale: Set(None),
            tier: Set(tier.as_str().to_owned()),
            tier_rank: Set(tier.rank()),
            baa_status: Set("signed".to_owned()),
            contract_renewal_on: Set(renewal),
            owner_user_id: Set(Some(owner)),
            status: Set(if archived { "archived" } else { "active" }.to_owned()),
            archived_at: Set(archived.then_some(now)),
            created_at: Set(now - TimeDelta::days(1500)),
            updated_at: Set(now),
            next_review_on: Set(next_review),
        });
        let contact_count = if matches!(tier, Tier::Critical | Tier::High) {
            2
        } else {
            1
        };
        let mut contacts = Vec::new();
        for number in 1..=contact_count {
            let contact_id = Uuid::new_v4();
            let email = format!("contact{number}@vendor{index}.example");
            contacts.push(contact_id);
            rows.contacts.push(vendor_contact::ActiveModel {
                id: Set(contact_id),
                tenant_id: Set(tenant_id),
                vendor_id: Set(vendor_id),
                name: Set(format!("Contact {number}")),
                email_key: Set(email.clone()),
                email: Set(email),
                role: Set(None),
                phone: Set(None),
                created_at: Set(now - TimeDelta::days(1500)),
                updated_at: Set(now - TimeDelta::days(1500)),
            });
        }
        let Some(next_review) = next_review else {
            continue;
        };

        let completed_on = match open {
            Some(_) => next_review - TimeDelta::days(365),
            None => next_review - TimeDelta::days(i64::from(cadence) * 30),
        };
        let completed_id = Uuid::new_v4();
        rows.assessments.push(completed_assessment(
            tenant_id,
            vendor_id,
            questionnaire_id,
            completed_id,
            completed_on,
        ));
        let document = index - NEW_VENDORS;
        let expires_on = if document.is_multiple_of(180) {
            Some(today + spread.days_below(31))
        } else if document % 900 == 1 {
            Some(today - TimeDelta::days(1) - spread.days_below(90))
        } else if document % 10 < 3 {
            None
        } else {
            Some(today + TimeDelta::days(31) + spread.days_below(1065))
        };
        rows.evidence.push(evidence::ActiveModel {
            id: Set(Uuid::new_v4()),
            tenant_id: Set(tenant_id),
            assessment_id: Set(completed_id),
            question_id: Set(Some("soc2-report".to_owned())),
            storage_key: Set(format!("{tenant_id}/{completed_id}/soc2.pdf")),
            file_name: Set("soc2.pdf".to_owned()),
            content_type: Set("application/pdf".to_owned()),
            size_bytes: Set(250_000),
            sha256: Set("0".repeat(64)),
            effective_on: Set(Some(completed_on - TimeDelta::days(30))),
            expires_on: Set(expires_on),
            review_status: Set("accepted".to_owned()),
            review_note: Set(None),
            reviewed_by_user_id: Set(None),
            reviewed_at: Set(Some(at_hour(completed_on, 14))),
            uploaded_by_contact_id: Set(Some(contacts[0])),
            created_at: Set(at_hour(completed_on - TimeDelta::days(10), 10)),
        });
        let started_on = completed_on - TimeDelta::days(40);
        rows.jobs.push(job::ActiveModel {
            id: Set(Uuid::new_v4()),
            tenant_id: Set(Some(tenant_id)),
            kind: Set(JOB_START_ASSESSMENT.to_owned()),
            unique_key: Set(format!("vendor:{vendor_id}:cycle:{started_on}")),
            payload: Set(serde_json::json!({ "vendor_id": vendor_id, "reason": REASON_CYCLE })),
            status: Set("done".to_owned()),
            attempts: Set(1),
            max_attempts: Set(6),
            run_at: Set(at_hour(started_on, 9)),
            locked_until: Set(None),
            last_error: Set(None),
            created_at: Set(at_hour(started_on, 9)),
            updated_at: Set(at_hour(started_on, 9)),
            finished_at: Set(Some(at_hour(started_on, 9))),
        });

        if let Some(due_on) = open {
            let open_id = Uuid::new_v4();
            let status = if index % 2 == 0 {
                Status::Sent
            } else {
                Status::InProgress
            };
            let mut row =
                completed_assessment(tenant_id, vendor_id, questionnaire_id, open_id, next_review);
            row.status = Set(status.as_str().to_owned());
            row.due_on = Set(due_on);
            row.sent_at = Set(Some(at_hour(next_review, 9)));
            row.submitted_at = Set(None);
            row.completed_at = Set(None);
            row.overall_score = Set(None);
            row.previous_assessment_id = Set(Some(completed_id));
            rows.assessments.push(row);
            for contact_id in &contacts {
                rows.links.push(access_link::ActiveModel {
                    id: Set(Uuid::new_v4()),
                    tenant_id: Set(tenant_id),
                    assessment_id: Set(open_id),
                    contact_id: Set(*contact_id),
                    token_hash: Set(Uuid::new_v4().simple().to_string()),
                    expires_at: Set(at_hour(due_on + TimeDelta::days(31), 0)),
                    revoked_at: Set(None),
                    created_at: Set(at_hour(next_review, 9)),
                });
            }
        }
    }

    insert_batches(&txn, rows.vendors).await?;
    insert_batches(&txn, rows.contacts).await?;
    insert_batches(&txn, rows.assessments).await?;
    insert_batches(&txn, rows.evidence).await?;
    insert_batches(&txn, rows.links).await?;
    insert_batches(&txn, rows.jobs).await?;
    txn.commit().await?;
    Ok(())
}

/// Builds a completed assessment, sent 40 days and due 10 days before `completed_on`.
fn completed_assessment(
    tenant_id: Uuid,
    vendor_id: Uuid,
    questionnaire_id: Uuid,
    id: Uuid,
    completed_on: NaiveDate,
) -> assessment::ActiveModel {
    assessment::ActiveModel {
        id: Set(id),
        tenant_id: Set(tenant_id),
        vendor_id: Set(vendor_id),
        questionnaire_id: Set(questionnaire_id),
        questionnaire_key: Set("healthcare-vendor-security".to_owned()),
        questionnaire_version: Set(1),
        status: Set(Status::Completed.as_str().to_owned()),
        due_on: Set(completed_on - TimeDelta::days(10)),
        requested_by_user_id: Set(None),
        sent_at: Set(Some(at_hour(completed_on - TimeDelta::days(40), 9))),
        submitted_at: Set(Some(at_hour(completed_on - TimeDelta::days(12), 16))),
        completed_at: Set(Some(at_hour(completed_on, 15))),
        last_vendor_activity_at: Set(Some(at_hour(completed_on - TimeDelta::days(12), 16))),
        score_report: Set(None),
        overall_score: Set(Some(820)),
        created_at: Set(at_hour(completed_on - TimeDelta::days(40), 9)),
        updated_at: Set(at_hour(completed_on, 15)),
        reason: Set(REASON_CYCLE.to_owned()),
        reason_note: Set(None),
        previous_assessment_id: Set(None),
    }
}

fn sweep(criterion: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the Tokio runtime starts");
    let fixture = runtime
        .block_on(Fixture::create())
        .expect("the benchmark database is created and seeded");
    let fixture = &fixture;
    let db = &fixture.db;

    let first: Planned = runtime
        .block_on(plan(db, now()))
        .expect("the first sweep succeeds");
    eprintln!(
        "The first sweep found {} due jobs and queued {}.",
        first.due, first.queued
    );
    assert!(first.queued > 0, "the seeded tenant has due work");

    let mut group = criterion.benchmark_group(format!("sweep_100k_vendors/{:?}", db.backend()));
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10));

    group.bench_function("nothing_new", |bencher| {
        bencher.to_async(&runtime).iter(|| async {
            let planned = plan(db, now()).await.expect("the sweep succeeds");
            assert_eq!(planned.queued, 0, "every due job was queued before");
        });
    });

    group.bench_function("queue_due_work", |bencher| {
        bencher
            .to_async(&runtime)
            .iter_custom(|iterations| async move {
                let mut measured = Duration::ZERO;
                for _ in 0..iterations {
                    fixture
                        .delete_queued()
                        .await
                        .expect("the queued jobs are deleted");
                    let started = Instant::now();
                    let planned = plan(db, now()).await.expect("the sweep succeeds");
                    measured += started.elapsed();
                    assert_eq!(
                        planned.queued, first.queued,
                        "the sweep queues all due work"
                    );
                }
                measured
            });
    });

    group.finish();
    runtime.block_on(db.clone().close());
}

criterion_group!(benches, sweep);
criterion_main!(benches);
