//! Integration tests: each starts the portal on port 0 with a fresh database and drives it over
//! HTTP. They run on SQLite, or on PostgreSQL when `TEST_DATABASE_URL` is set.

mod auth;
mod browser;
mod cli;
mod health;
mod helpers;
mod import;
mod instances;
mod metrics;
mod migrations;
mod questionnaires;
mod reassessment;
mod schedule;
mod services;
mod tenancy;
mod vendors;
mod workflow;
