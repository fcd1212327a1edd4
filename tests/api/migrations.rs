//! Upgrading a database that holds data at an earlier schema version keeps the data.

use sea_orm::{ConnectionTrait, Statement};
use sea_orm_migration::MigratorTrait;

use crate::helpers::TestDatabase;
use portal::config::Secret;
use portal::store::Db;

/// Returns a connection to an empty database (SQLite in `dir`, or a new PostgreSQL database when
/// `TEST_DATABASE_URL` is set) and keeps the PostgreSQL database alive while it lives.
async fn empty_database(dir: &std::path::Path) -> (Db, Option<TestDatabase>) {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => {
            let database = TestDatabase::create(&url).await;
            (
                Db::connect(&Secret::new(database.url.clone()))
                    .await
                    .unwrap(),
                Some(database),
            )
        }
        _ => {
            let url = format!("sqlite://{}?mode=rwc", dir.join("upgrade.db").display());
            (Db::connect(&Secret::new(url)).await.unwrap(), None)
        }
    }
}

#[tokio::test]
async fn upgrade_from_first_schema_keeps_data() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _database) = empty_database(dir.path()).await;
    portal::migrations::Migrator::up(db.writer(), Some(1))
        .await
        .expect("the first migration applies");

    // Rows written as the first release wrote them, before later migrations existed.
    let tenant = uuid::Uuid::new_v4();
    let vendor = uuid::Uuid::new_v4();
    let questionnaire = uuid::Uuid::new_v4();
    let now = portal::clock::Clock::System.now();
    let source = include_str!("../../questionnaires/healthcare-vendor-security-lite.toml")
        .replace("healthcare-vendor-security-lite", "mercy-own");
    let backend = db.writer().get_database_backend();
    let statements: Vec<(&str, Vec<sea_orm::Value>)> = vec![
        (
            "INSERT INTO tenants (id, name, created_at, updated_at) VALUES ($1, $2, $3, $4)",
            vec![
                tenant.into(),
                "Mercy General".into(),
                now.into(),
                now.into(),
            ],
        ),
        (
            "INSERT INTO vendors (id, tenant_id, name, name_key, phi_access, clinical_criticality, system_integration, medical_device, offshore_access, computed_tier, tier, tier_rank, baa_status, status, created_at, updated_at) \
             VALUES ($1, $2, 'Acme Imaging', 'acme imaging', 'bulk', 'none', true, false, false, 'critical', 'critical', 1, 'signed', 'active', $3, $4)",
            vec![vendor.into(), tenant.into(), now.into(), now.into()],
        ),
        (
            "INSERT INTO questionnaires (id, tenant_id, key, version, title, source, created_at) VALUES ($1, $2, 'mercy-own', 1, 'Own', $3, $4)",
            vec![
                questionnaire.into(),
                tenant.into(),
                source.into(),
                now.into(),
            ],
        ),
    ];
    for (sql, values) in statements {
        let sql = if backend == sea_orm::DbBackend::Sqlite {
            strip_placeholder_numbers(&sql.replace('$', "?"))
        } else {
            sql.to_owned()
        };
        db.writer()
            .execute(Statement::from_sql_and_values(backend, sql, values))
            .await
            .expect("insert at the old schema");
    }

    db.migrate().await.expect("later migrations apply on top");

    let tenant_id = portal::ids::TenantId(tenant);
    let stored = portal::store::vendors::get(db.reader(), tenant_id, portal::ids::VendorId(vendor))
        .await
        .unwrap()
        .expect("the vendor survives");
    assert_eq!(stored.name, "Acme Imaging");
    assert_eq!(stored.tier.as_str(), "critical");
    assert_eq!(
        stored.created_at,
        now.duration_trunc_micros(),
        "timestamps read back equal"
    );
    let library = portal::store::questionnaires::library(db.reader(), tenant_id)
        .await
        .unwrap();
    let own = library
        .iter()
        .find(|entry| entry.questionnaire.key == "mercy-own")
        .expect("the uploaded questionnaire survives");
    assert_eq!(
        own.origin,
        portal::store::questionnaires::Origin::Tenant,
        "old rows get the default origin"
    );
    db.close().await;
}

/// Turns `$1`, `$2`… into `?` for SQLite.
fn strip_placeholder_numbers(sql: &str) -> String {
    let mut out = String::new();
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' {
            out.push('?');
            while chars.peek().is_some_and(char::is_ascii_digit) {
                chars.next();
            }
        } else {
            out.push(c);
        }
    }
    out
}

trait TruncateMicros {
    fn duration_trunc_micros(self) -> Self;
}

impl TruncateMicros for chrono::DateTime<chrono::Utc> {
    fn duration_trunc_micros(self) -> Self {
        use chrono::DurationRound;
        self.duration_trunc(chrono::TimeDelta::microseconds(1))
            .unwrap()
    }
}
