//! `portal serve --demo`: a demo organization with sample vendors, so that a first look at the
//! portal does not start from an empty screen.

use anyhow::Context;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};

use crate::app::AppState;
use crate::auth::{password, token};
use crate::domain::email::EmailAddress;
use crate::domain::import::ContactInput;
use crate::domain::schedule::REASON_MANUAL;
use crate::domain::vendor::{
    BaaStatus, ClinicalCriticality, InherentProfile, PhiAccess, VendorInput,
};
use crate::ids::{TenantId, UserId};
use crate::routes::staff::assessments::{SendRequest, send};
use crate::store::audit::Actor;
use crate::store::entities::{tenant, user};
use crate::store::{tenants, users, vendors};

pub const DEMO_TENANT: &str = "Riverside Community Hospital (demo)";
pub const DEMO_ADMIN_EMAIL: &str = "admin@riverside-demo.example.org";

struct SampleVendor {
    name: &'static str,
    service: &'static str,
    phi_access: PhiAccess,
    clinical_criticality: ClinicalCriticality,
    system_integration: bool,
    medical_device: bool,
    offshore_access: bool,
    baa_status: BaaStatus,
    contact: (&'static str, &'static str),
}

const SAMPLES: &[SampleVendor] = &[
    SampleVendor {
        name: "Northwind EHR Hosting",
        service: "Hosts the electronic health record system",
        phi_access: PhiAccess::Bulk,
        clinical_criticality: ClinicalCriticality::DirectPatientCare,
        system_integration: true,
        medical_device: false,
        offshore_access: false,
        baa_status: BaaStatus::Signed,
        contact: ("Dana Whitfield", "dana.whitfield@northwind-ehr.example.com"),
    },
    SampleVendor {
        name: "ClearView Imaging Cloud",
        service: "Cloud archive for radiology images",
        phi_access: PhiAccess::Bulk,
        clinical_criticality: ClinicalCriticality::Supporting,
        system_integration: true,
        medical_device: false,
        offshore_access: true,
        baa_status: BaaStatus::Signed,
        contact: ("Ravi Menon", "ravi.menon@clearview-imaging.example.com"),
    },
    SampleVendor {
        name: "Summit Billing Partners",
        service: "Claims and patient billing",
        phi_access: PhiAccess::Bulk,
        clinical_criticality: ClinicalCriticality::None,
        system_integration: false,
        medical_device: false,
        offshore_access: true,
        baa_status: BaaStatus::Pending,
        contact: ("Maria O'Neill", "maria.oneill@summit-billing.example.com"),
    },
    SampleVendor {
        name: "Infusia Pumps",
        service: "Networked infusion pumps and their maintenance",
        phi_access: PhiAccess::Limited,
        clinical_criticality: ClinicalCriticality::DirectPatientCare,
        system_integration: true,
        medical_device: true,
        offshore_access: false,
        baa_status: BaaStatus::Signed,
        contact: ("Jörg Åkesson", "jorg.akesson@infusia.example.com"),
    },
    SampleVendor {
        name: "Lakeside Transcription",
        service: "Dictation transcription for physicians",
        phi_access: PhiAccess::Limited,
        clinical_criticality: ClinicalCriticality::Supporting,
        system_integration: false,
        medical_device: false,
        offshore_access: true,
        baa_status: BaaStatus::Expired,
        contact: (
            "Priya Natarajan",
            "priya@lakeside-transcription.example.com",
        ),
    },
    SampleVendor {
        name: "Greenway Facilities & Cleaning",
        service: "Cleaning services for clinics",
        phi_access: PhiAccess::None,
        clinical_criticality: ClinicalCriticality::None,
        system_integration: false,
        medical_device: false,
        offshore_access: false,
        baa_status: BaaStatus::NotRequired,
        contact: ("Tom Becker", "tom.becker@greenway-facilities.example.com"),
    },
];

/// The questionnaire the demo assessments use.
const DEMO_QUESTIONNAIRE: &str = "healthcare-vendor-security-lite";
/// Due dates of the demo assessments, in days from the start; one per sample vendor from the
/// first.
const DEMO_DUE_IN_DAYS: [i64; 3] = [30, 14, 45];

/// Creates the demo organization on first use, then (on every start) gives its administrator a
/// new random password and prints how to sign in.
///
/// # Errors
/// Fails when the database fails.
pub async fn seed(state: &AppState) -> anyhow::Result<()> {
    let db = state.db().writer();
    let now = state.clock().now();
    let existing = tenant::Entity::find()
        .filter(tenant::Column::Name.eq(DEMO_TENANT))
        .one(db)
        .await?;
    let admin = match existing {
        Some(demo) => user::Entity::find()
            .filter(user::Column::TenantId.eq(demo.id))
            .filter(user::Column::EmailKey.eq(DEMO_ADMIN_EMAIL))
            .one(db)
            .await?
            .context("the demo organization has lost its administrator; delete the data directory and start again")?,
        None => create(state).await?,
    };
    let demo_password = token::generate("")[..20].to_owned();
    let hash = {
        let demo_password = demo_password.clone();
        tokio::task::spawn_blocking(move || password::hash(&demo_password)).await??
    };
    let name = admin.name.clone();
    users::set_password(db, admin, &name, hash, now).await?;
    println!();
    println!("Demo organization: {DEMO_TENANT}");
    println!("Sign in at {} with", state.config().link("/sign-in"));
    println!("  e-mail:   {DEMO_ADMIN_EMAIL}");
    println!("  password: {demo_password}");
    println!("(A new password is set each time the portal starts with --demo.)");
    println!();
    Ok(())
}

async fn create(state: &AppState) -> anyhow::Result<user::Model> {
    let now = state.clock().now();
    let email = EmailAddress::parse(DEMO_ADMIN_EMAIL).map_err(anyhow::Error::msg)?;
    let tx = state.db().writer().begin().await?;
    let (tenant, admin) =
        tenants::create_with_admin(&tx, DEMO_TENANT, &email, "Alex Morgan", now).await?;
    tx.commit().await?;
    let tenant_id = TenantId(tenant.id);
    let actor = Actor::User {
        id: UserId(admin.id),
        name: admin.name.clone(),
    };
    let mut created = Vec::new();
    for sample in SAMPLES {
        let profile = InherentProfile {
            phi_access: sample.phi_access,
            clinical_criticality: sample.clinical_criticality,
            system_integration: sample.system_integration,
            medical_device: sample.medical_device,
            offshore_access: sample.offshore_access,
        };
        let input = VendorInput {
            name: sample.name.to_owned(),
            website: None,
            service: Some(sample.service.to_owned()),
            profile,
            baa_status: sample.baa_status,
            contract_renewal: Some((now + chrono::TimeDelta::days(90)).date_naive()),
            tier_override: None,
        };
        let contact = ContactInput {
            name: sample.contact.0.to_owned(),
            email: EmailAddress::parse(sample.contact.1).map_err(anyhow::Error::msg)?,
            role: Some("Security contact".to_owned()),
            phone: None,
        };
        let vendor = vendors::create(
            state.db().writer(),
            tenant_id,
            &input,
            &[contact],
            &actor,
            now,
        )
        .await?;
        created.push(vendor.id);
    }
    // Sample assessments give the tracker, the timelines and the dashboard something to show.
    // Their e-mails go to the outbox (or to SMTP) like any others.
    for (vendor, due_in_days) in created.iter().zip(DEMO_DUE_IN_DAYS) {
        let request = SendRequest {
            reason: REASON_MANUAL,
            reason_note: Some("Demo assessment".to_owned()),
            vendor: *vendor,
            questionnaire: DEMO_QUESTIONNAIRE.to_owned(),
            version: None,
            due_on: (now + chrono::TimeDelta::days(due_in_days)).date_naive(),
            contacts: Vec::new(),
        };
        send(state, tenant_id, Some(UserId(admin.id)), &actor, request)
            .await
            .map_err(|error| anyhow::anyhow!("Failed to send a demo assessment: {error:?}"))?;
    }
    tracing::info!(tenant_id = %tenant_id, vendors = SAMPLES.len(), "demo organization created");
    Ok(admin)
}
