//! Vendor risk assessment portal for healthcare organizations.

pub mod config;
pub mod domain;
pub mod error;
pub mod ids;
