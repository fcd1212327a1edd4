//! Database migrations, one file per change, applied in order at start-up on SQLite and
//! PostgreSQL alike. See `migrations/README.md`: an applied migration is never edited.

use sea_orm_migration::prelude::*;

mod m20261204_000001_foundation;
mod m20261205_000002_assessments;
mod m20261206_000003_schedule;
mod m20261207_000004_sweep_indexes;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261204_000001_foundation::Migration),
            Box::new(m20261205_000002_assessments::Migration),
            Box::new(m20261206_000003_schedule::Migration),
            Box::new(m20261207_000004_sweep_indexes::Migration),
        ]
    }
}
