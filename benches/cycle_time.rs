//! Benchmarks the cycle-time dashboard and the tracker for a tenant with 50,000 assessments.
//!
//! Runs on SQLite in a temporary directory, or on PostgreSQL when `BENCH_DATABASE_URL` is set
//! (in a database `bench_cycle_time_<pid>` that the benchmark creates and drops). Each case
//! times what the page handler does with the database: load the events and compute the figures.

use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use portal::domain::cycle_time::{Period, local_date, report};
use portal::domain::lifecycle::Status;
use portal::domain::schedule::REASON_CYCLE;
use portal::domain::vendor::Tier;
use portal::ids::TenantId;
use portal::store::entities::{assessment, assessment_event, questionnaire, tenant, vendor};
use portal::store::{Backend, Db, metrics};
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set, TransactionTrait};
use uuid::Uuid;

mod support;

use support::{Spread, insert_batches};

const ASSESSMENTS: usize = 50_000;
const VENDORS: usize = 10_000;
/// Days over which the assessments were sent, ending at [`now`].
const HISTORY_DAYS: u64 = 730;

/// Returns the instant every measurement counts from.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 4, 15, 0, 0).unwrap()
}

fn zone() -> Tz {
    "America/New_York".parse().unwrap()
}

fn tier_of(index: usize) -> Tier {
    match index % 20 {
        0 => Tier::Critical,
        1..=3 => Tier::High,
        4..=11 => Tier::Moderate,
        _ => Tier::Low,
    }
}

fn vendor_row(tenant_id: Uuid, id: Uuid, index: usize, now: DateTime<Utc>) -> vendor::ActiveModel {
    let tier = tier_of(index);
    vendor::ActiveModel {
        id: Set(id),
        tenant_id: Set(tenant_id),
        name: Set(format!("Vendor {index:05}")),
        name_key: Set(format!("vendor {index:05}")),
        website: Set(None),
        service: Set(None),
        phi_access: Set("limited".to_owned()),
        clinical_criticality: Set("supporting".to_owned()),
        system_integration: Set(false),
        medical_device: Set(false),
        offshore_access: Set(false),
        computed_tier: Set(tier.as_str().to_owned()),
        tier_override: Set(None),
        tier_override_rationale: Set(None),
        tier: Set(tier.as_str().to_owned()),
        tier_rank: Set(tier.rank()),
        baa_status: Set("signed".to_owned()),
        contract_renewal_on: Set(None),
        owner_user_id: Set(None),
        status: Set("active".to_owned()),
        archived_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        next_review_on: Set(None),
    }
}

/// Builds one assessment's history from `sent`: in progress a few days later, submitted, in
/// review, one clarification round for every fourth, completed. Histories that would end after
/// `now` stop at the last step before it, so recent assessments are still open; 1 in 20 is
/// cancelled a few days after sending.
fn history(spread: &mut Spread, index: usize, sent: DateTime<Utc>) -> Vec<(DateTime<Utc>, Status)> {
    let mut steps = vec![
        (sent - TimeDelta::hours(1), Status::Draft),
        (sent, Status::Sent),
    ];
    let mut at = sent;
    let mut step = |spread: &mut Spread, status: Status, most_days: u64| {
        at += TimeDelta::hours(2) + spread.days_below(most_days + 1);
        (at, status)
    };
    if index % 20 == 7 {
        steps.push(step(spread, Status::Cancelled, 5));
    } else {
        steps.push(step(spread, Status::InProgress, 4));
        steps.push(step(spread, Status::Submitted, 20));
        steps.push(step(spread, Status::InReview, 3));
        if index.is_multiple_of(4) {
            steps.push(step(spread, Status::ClarificationRequested, 3));
            steps.push(step(spread, Status::InReview, 6));
        }
        steps.push(step(spread, Status::Completed, 10));
    }
    steps.retain(|(at, _)| *at <= now());
    steps
}

/// Seeds one tenant with [`VENDORS`] vendors and [`ASSESSMENTS`] assessments sent over the last
/// [`HISTORY_DAYS`] days, with their status events. Returns the tenant.
async fn seed(db: &Db) -> anyhow::Result<TenantId> {
    let now = now();
    let mut spread = Spread(2027);
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
    let questionnaire_id = Uuid::new_v4();
    questionnaire::ActiveModel {
        id: Set(questionnaire_id),
        tenant_id: Set(tenant_id),
        key: Set("healthcare-vendor-security".to_owned()),
        version: Set(1),
        title: Set("Healthcare vendor security".to_owned()),
        source: Set(String::new()),
        created_by_user_id: Set(None),
        created_at: Set(now),
        origin: Set("shipped".to_owned()),
    }
    .insert(&txn)
    .await?;
    let vendor_ids: Vec<Uuid> = (0..VENDORS).map(|_| Uuid::new_v4()).collect();
    insert_batches(
        &txn,
        vendor_ids
            .iter()
            .enumerate()
            .map(|(index, id)| vendor_row(tenant_id, *id, index, now))
            .collect(),
    )
    .await?;

    let mut assessments = Vec::with_capacity(ASSESSMENTS);
    let mut events = Vec::with_capacity(ASSESSMENTS * 7);
    for index in 0..ASSESSMENTS {
        let id = Uuid::new_v4();
        let sent = now - TimeDelta::hours(2) - spread.days_below(HISTORY_DAYS);
        let steps = history(&mut spread, index, sent);
        let (last_at, last) = *steps.last().unwrap();
        let due_on: NaiveDate = local_date(sent, zone()) + TimeDelta::days(30);
        assessments.push(assessment::ActiveModel {
            id: Set(id),
            tenant_id: Set(tenant_id),
            vendor_id: Set(vendor_ids[index % VENDORS]),
            questionnaire_id: Set(questionnaire_id),
            questionnaire_key: Set("healthcare-vendor-security".to_owned()),
            questionnaire_version: Set(1),
            status: Set(last.as_str().to_owned()),
            due_on: Set(due_on),
            requested_by_user_id: Set(None),
            sent_at: Set(Some(sent)),
            submitted_at: Set(None),
            completed_at: Set((last == Status::Completed).then_some(last_at)),
            last_vendor_activity_at: Set(None),
            score_report: Set(None),
            overall_score: Set(None),
            created_at: Set(steps[0].0),
            updated_at: Set(last_at),
            reason: Set(REASON_CYCLE.to_owned()),
            reason_note: Set(None),
            previous_assessment_id: Set(None),
        });
        let mut from: Option<Status> = None;
        for (at, to) in steps {
            events.push(assessment_event::ActiveModel {
                id: Set(Uuid::now_v7()),
                tenant_id: Set(tenant_id),
                assessment_id: Set(id),
                from_status: Set(from.map(|status| status.as_str().to_owned())),
                to_status: Set(to.as_str().to_owned()),
                actor_kind: Set("system".to_owned()),
                actor_id: Set(None),
                actor_label: Set("Benchmark".to_owned()),
                note: Set(None),
                created_at: Set(at),
            });
            from = Some(to);
        }
    }
    eprintln!("Seeding {} status events.", events.len());
    insert_batches(&txn, assessments).await?;
    insert_batches(&txn, events).await?;
    txn.commit().await?;
    if db.backend() == Backend::Postgres {
        db.writer().execute_unprepared("ANALYZE").await?;
    }
    Ok(TenantId(tenant_id))
}

/// Loads the events of `period` and computes the dashboard's figures, as the page does.
async fn dashboard(db: &Db, tenant: TenantId, period: Period) -> usize {
    let records = metrics::records(db.reader(), tenant, period, zone())
        .await
        .expect("the events load");
    let figures = report(&records, period, zone());
    figures.counts.completed
}

fn cycle_time(criterion: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the Tokio runtime starts");
    let (db, _directory, _postgres) = runtime
        .block_on(support::open("bench_cycle_time"))
        .expect("the benchmark database opens");
    let started = Instant::now();
    let tenant = runtime.block_on(seed(&db)).expect("the seeding succeeds");
    eprintln!(
        "Seeded {ASSESSMENTS} assessments on {:?} in {:.1} s.",
        db.backend(),
        started.elapsed().as_secs_f64()
    );
    let today = local_date(now(), zone());
    let year = Period::last_twelve_months(today);
    let everything = Period::new(today - TimeDelta::days(HISTORY_DAYS as i64 + 1), today)
        .expect("a valid period");
    let completed = runtime.block_on(dashboard(&db, tenant, year));
    eprintln!("The twelve-month report counts {completed} completed assessments.");

    let mut group = criterion.benchmark_group(format!("cycle_time_50k/{:?}", db.backend()));
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10));
    group.bench_function("dashboard_12_months", |bencher| {
        bencher
            .to_async(&runtime)
            .iter(|| dashboard(&db, tenant, year));
    });
    group.bench_function("dashboard_all_2_years", |bencher| {
        bencher
            .to_async(&runtime)
            .iter(|| dashboard(&db, tenant, everything));
    });
    group.bench_function("tracker_open_rows", |bencher| {
        bencher.to_async(&runtime).iter(|| async {
            metrics::open_rows(db.reader(), tenant, zone(), today)
                .await
                .expect("the open assessments load")
                .len()
        });
    });
    group.finish();
    runtime.block_on(db.clone().close());
}

criterion_group!(benches, cycle_time);
criterion_main!(benches);
