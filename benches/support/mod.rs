//! Helpers the benchmarks share: a database of their own (a SQLite file in a temporary directory,
//! or a PostgreSQL database created on `BENCH_DATABASE_URL` and dropped afterwards), multi-row
//! inserts for seeding, and a fixed-seed number generator.

use anyhow::Context;
use chrono::TimeDelta;
use portal::config::Secret;
use portal::store::Db;
use sea_orm::{ActiveModelTrait, ConnectionTrait, Database, EntityTrait, IntoActiveModel};
use tempfile::TempDir;

/// Rows per multi-row INSERT. The widest seeded table (vendors) has 25 columns, so a batch binds
/// at most 25,000 values: below SQLite's limit of 32,766 and PostgreSQL's of 65,535.
pub const BATCH: usize = 1_000;

/// A fixed-seed SplitMix64 generator, so that every run seeds the same dates.
pub struct Spread(pub u64);

impl Spread {
    pub fn below(&mut self, bound: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut mixed = self.0;
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (mixed ^ (mixed >> 31)) % bound
    }

    pub fn days_below(&mut self, bound: u64) -> TimeDelta {
        TimeDelta::days(i64::try_from(self.below(bound)).unwrap())
    }
}

/// A PostgreSQL database created for one benchmark run and dropped when this value is dropped,
/// also when the benchmark panics.
pub struct BenchDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl BenchDatabase {
    async fn create(base_url: &str, prefix: &str) -> anyhow::Result<Self> {
        let name = format!("{prefix}_{}", std::process::id());
        let admin = Database::connect(base_url)
            .await
            .context("Failed to connect to BENCH_DATABASE_URL")?;
        admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await?;
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .with_context(|| format!("Failed to create the database {name}"))?;
        admin.close().await?;
        let mut url = url::Url::parse(base_url).context("BENCH_DATABASE_URL is not a URL")?;
        url.set_path(&name);
        Ok(Self {
            admin_url: base_url.to_owned(),
            name,
            url: url.to_string(),
        })
    }
}

impl Drop for BenchDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // Drop may run inside the benchmark's runtime, which cannot block, so a thread with its own
        // runtime drops the database.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let admin = Database::connect(&admin_url).await?;
                admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await?;
                admin.close().await?;
                anyhow::Ok(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!(
                "Failed to drop the benchmark database {}; drop it by hand.",
                self.name
            );
        }
    }
}

/// Inserts `rows` with one multi-row INSERT per [`BATCH`] rows.
pub async fn insert_batches<A>(conn: &impl ConnectionTrait, rows: Vec<A>) -> anyhow::Result<()>
where
    A: ActiveModelTrait + Send,
    <A::Entity as EntityTrait>::Model: IntoActiveModel<A>,
{
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let batch: Vec<A> = rows.by_ref().take(BATCH).collect();
        A::Entity::insert_many(batch)
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}

/// Opens a migrated, empty database: on PostgreSQL when `BENCH_DATABASE_URL` is set (a new
/// database `PREFIX_<pid>` on that server), else a SQLite file in a temporary directory. Keep
/// the returned directory or database alive as long as the connection.
///
/// # Errors
/// Fails when the database cannot be created, reached or migrated.
pub async fn open(prefix: &str) -> anyhow::Result<(Db, Option<TempDir>, Option<BenchDatabase>)> {
    let (url, directory, postgres) = match std::env::var("BENCH_DATABASE_URL") {
        Ok(base) if !base.is_empty() => {
            let database = BenchDatabase::create(&base, prefix).await?;
            (database.url.clone(), None, Some(database))
        }
        _ => {
            let directory = tempfile::tempdir()?;
            let url = format!("sqlite://{}", directory.path().join("bench.db").display());
            (url, Some(directory), None)
        }
    };
    let db = Db::connect(&Secret::new(url)).await?;
    db.migrate().await?;
    Ok((db, directory, postgres))
}
