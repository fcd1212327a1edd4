//! Vendor risk assessment portal for healthcare organizations.

pub mod app;
pub mod auth;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod evidence;
pub mod ids;
pub mod jobs;
pub mod mail;
#[path = "../migrations/mod.rs"]
pub mod migrations;
pub mod routes;
pub mod store;
pub mod templates;

pub use app::{AppState, Application, build_app};
pub mod cli;
pub mod demo;
pub mod telemetry;

/// Installs rustls's ring crypto provider for the whole process. When several dependencies enable
/// different providers, rustls cannot pick one by itself and panics at the first TLS use.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
