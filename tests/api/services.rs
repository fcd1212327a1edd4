//! Tests against the real S3-compatible server and SMTP server that `.ci/run` starts. They are
//! ignored by a plain `cargo test`; run them with `cargo test --test api -- --include-ignored`
//! and the variables below set (see `.ci/run`).

use std::process::Command;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{TestApp, client, spawn_app_with};
use crate::workflow::{run_jobs, vendor_link};

pub fn required(variable: &str) -> String {
    std::env::var(variable).unwrap_or_else(|_| {
        panic!("{variable} is not set; .ci/run sets it after starting the server")
    })
}

/// Sends a lite questionnaire to a new vendor and returns the vendor link's path.
async fn vendor_link_for(
    app: &TestApp,
    contact_name: &str,
    contact_email: &str,
) -> (crate::helpers::TestTenant, String) {
    let tenant = app
        .create_tenant("Mercy General", "admin@mercy.example.org")
        .await;
    let api = app.api(&tenant.api_token);
    let vendor: Value = api
        .post("/api/v1/vendors")
        .json(&json!({ "name": "Imaging Partner", "contacts": [{ "name": contact_name, "email": contact_email }] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let created = api
        .post("/api/v1/assessments")
        .json(&json!({ "vendor_id": vendor["id"], "questionnaire": "healthcare-vendor-security-lite", "due_date": "2099-01-31" }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    run_jobs(app).await;
    (tenant, vendor_link(app))
}

/// Reads an object with boto3, an S3 client independent of the portal's, and returns its SHA-256.
fn sha256_with_boto3(bucket: &str, key: &str) -> String {
    let script = r#"
import boto3, hashlib, os, sys
client = boto3.client("s3", endpoint_url=os.environ["TEST_S3_ENDPOINT"], region_name="us-east-1")
body = client.get_object(Bucket=sys.argv[1], Key=sys.argv[2])["Body"].read()
print(hashlib.sha256(body).hexdigest())
"#;
    let output = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(bucket)
        .arg(key)
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "boto3 failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

fn bucket_of(app: &TestApp) -> String {
    match app.state.config().evidence_location() {
        portal::config::EvidenceLocation::S3 { bucket, .. } => bucket,
        other => panic!("the evidence store is not S3: {other:?}"),
    }
}

#[tokio::test]
#[ignore = "needs TEST_S3_ENDPOINT and AWS credentials; run by .ci/run"]
async fn s3_multipart_upload_matches_independent_client() {
    required("TEST_S3_ENDPOINT");
    let app = spawn_app_with(|config| {
        config.run_worker = false;
        config.evidence_max_bytes = 64 * 1024 * 1024;
    })
    .await;
    let bucket = bucket_of(&app);
    let (tenant, link) = vendor_link_for(&app, "Ann", "ann@imaging.example.com").await;
    let vendor = client();
    // 20 MiB and a bit: two full 8 MiB parts and a short last one.
    let bytes: Vec<u8> = (0..(20 * 1024 * 1024 + 12345))
        .map(|index: u32| (index.wrapping_mul(2654435761) >> 24) as u8)
        .collect();
    let small = b"a small policy document".to_vec();
    for (name, content) in [
        ("large scan.pdf", bytes.clone()),
        ("policy.pdf", small.clone()),
    ] {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(content).file_name(name),
        );
        let response = vendor
            .post(app.url(&format!("{link}/evidence")))
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303, "{name}");
    }
    let tenant_id = tenant.tenant_id.parse().unwrap();
    let row = portal::store::assessments::list(
        app.state.db().reader(),
        tenant_id,
        &Default::default(),
        1,
    )
    .await
    .unwrap();
    let files =
        portal::store::assessments::evidence::list(app.state.db().reader(), tenant_id, row[0].id)
            .await
            .unwrap();
    assert_eq!(files.len(), 2);
    for file in &files {
        let expected = if file.file_name == "large scan.pdf" {
            &bytes
        } else {
            &small
        };
        assert_eq!(
            file.sha256,
            hex::encode(Sha256::digest(expected)),
            "{}",
            file.file_name
        );
        let model = portal::store::assessments::evidence::find(
            app.state.db().reader(),
            tenant_id,
            row[0].id,
            file.id,
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(
            sha256_with_boto3(&bucket, &format!("evidence/{}", model.storage_key)),
            file.sha256,
            "independent read of {}",
            file.file_name
        );
        let downloaded = vendor
            .get(app.url(&format!("{link}/evidence/{}", file.id)))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(downloaded.len(), expected.len());
    }

    // Removing a file deletes its object.
    let large = files
        .iter()
        .find(|file| file.file_name == "large scan.pdf")
        .unwrap();
    assert_eq!(
        vendor
            .post(app.url(&format!("{link}/evidence/{}/delete", large.id)))
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
    assert_eq!(app.evidence_keys().await.len(), 1);
}

#[tokio::test]
#[ignore = "needs TEST_S3_ENDPOINT and AWS credentials; run by .ci/run"]
async fn s3_server_side_encryption_setting_is_accepted() {
    required("TEST_S3_ENDPOINT");
    let app = spawn_app_with(|config| {
        config.run_worker = false;
        config.s3_encryption = Some("AES256".to_owned());
    })
    .await;
    let (_, link) = vendor_link_for(&app, "Ann", "ann@imaging.example.com").await;
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"encrypted at rest".to_vec()).file_name("policy.pdf"),
    );
    let response = client()
        .post(app.url(&format!("{link}/evidence")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        303,
        "{}",
        response.text().await.unwrap_or_default()
    );
}

#[tokio::test]
#[ignore = "needs TEST_S3_ENDPOINT and AWS credentials; run by .ci/run"]
async fn unreachable_or_refusing_store_stores_nothing() {
    required("TEST_S3_ENDPOINT");
    // A server that answers HTTP but is no S3 server: another portal.
    let not_s3 = spawn_app_with(|config| config.evidence = None).await;
    let cases = [
        // Nothing listens on port 9 of the loopback address.
        ("unreachable", "http://127.0.0.1:9".to_owned()),
        ("refusing", not_s3.address.clone()),
    ];
    for (label, endpoint) in cases {
        let app = spawn_app_with(|config| {
            config.run_worker = false;
            config.s3_endpoint = Some(endpoint.parse().unwrap());
            config.evidence = Some(portal::config::EvidenceLocation::S3 {
                bucket: "portal-test-unreachable".to_owned(),
                prefix: "evidence".to_owned(),
            });
        })
        .await;
        let (tenant, link) = vendor_link_for(&app, "Ann", "ann@imaging.example.com").await;
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(b"report".to_vec()).file_name("report.pdf"),
        );
        let response = client()
            .post(app.url(&format!("{link}/evidence")))
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 503, "{label}");
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("document store is not available"),
            "{label}"
        );
        let tenant_id = tenant.tenant_id.parse().unwrap();
        let assessments = portal::store::assessments::list(
            app.state.db().reader(),
            tenant_id,
            &Default::default(),
            1,
        )
        .await
        .unwrap();
        let files = portal::store::assessments::evidence::list(
            app.state.db().reader(),
            tenant_id,
            assessments[0].id,
        )
        .await
        .unwrap();
        assert!(files.is_empty(), "{label}: no record without its object");
    }
}

/// Starts the portal sending through `smtp_url`, sends a lite questionnaire to a contact with a
/// hard-to-encode name, and runs the e-mail job. Returns the app and the contact's address.
async fn send_through(
    smtp_url: &str,
    ca_file: Option<&str>,
) -> (TestApp, String, portal::jobs::Sweep) {
    let app = spawn_app_with(|config| {
        config.run_worker = false;
        config.smtp_url = Some(portal::config::Secret::new(smtp_url));
        config.smtp_ca_file = ca_file.map(Into::into);
    })
    .await;
    let address = format!(
        "renee.{}@imaging.example.com",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let tenant = app
        .create_tenant("St. Anne's Hospital & Clinics", "admin@stanne.example.org")
        .await;
    let api = app.api(&tenant.api_token);
    let vendor: Value = api
        .post("/api/v1/vendors")
        .json(&json!({ "name": "Imaging Partner", "contacts": [{ "name": "Renée O'Brien, Jr.", "email": address }] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let created = api
        .post("/api/v1/assessments")
        .json(&json!({ "vendor_id": vendor["id"], "questionnaire": "healthcare-vendor-security-lite", "due_date": "2099-01-31" }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let sweep = run_jobs(&app).await;
    (app, address, sweep)
}

/// Fetches the raw message sent to `address` from a maildev server's REST API.
async fn from_maildev(api: &str, address: &str) -> String {
    let list: Value = reqwest::get(format!("{api}/api/email"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let message = list
        .as_array()
        .unwrap()
        .iter()
        .find(|message| {
            message["envelope"]["to"]
                .as_array()
                .is_some_and(|to| to.iter().any(|rcpt| rcpt["address"] == address))
        })
        .unwrap_or_else(|| panic!("no message to {address} at {api}"));
    reqwest::get(format!(
        "{api}/api/email/{}/source",
        message["id"].as_str().unwrap()
    ))
    .await
    .unwrap()
    .text()
    .await
    .unwrap()
}

/// Checks a received invitation with mail-parser, which shares no code with lettre.
async fn check_invitation(app: &TestApp, raw: &str, address: &str) {
    let message = mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .expect("a MIME message");
    let to = message.to().unwrap().first().unwrap();
    assert_eq!(to.name(), Some("Renée O'Brien, Jr."));
    assert_eq!(to.address(), Some(address));
    assert!(
        message
            .subject()
            .unwrap()
            .contains("St. Anne's Hospital & Clinics")
    );
    assert!(
        message.message_id().unwrap().starts_with("job-"),
        "{:?}",
        message.message_id()
    );
    let text = message.body_text(0).expect("a plain-text part");
    let html = message.body_html(0).expect("an HTML part");
    assert!(text.contains("St. Anne's Hospital & Clinics"));
    assert!(html.contains("St. Anne&#x27;s Hospital &amp; Clinics"));
    let start = text
        .find(&app.url("/a/"))
        .expect("the link is in the text part");
    let link: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    assert_eq!(
        client().get(&link).send().await.unwrap().status(),
        200,
        "the link is intact"
    );
}

#[tokio::test]
#[ignore = "needs TEST_SMTP_URL and TEST_SMTP_API (maildev); run by .ci/run"]
async fn smtp_delivers_both_parts_to_maildev() {
    let (app, address, sweep) = send_through(&required("TEST_SMTP_URL"), None).await;
    assert_eq!(sweep.done, 1);
    let raw = from_maildev(&required("TEST_SMTP_API"), &address).await;
    check_invitation(&app, &raw, &address).await;
}

#[tokio::test]
#[ignore = "needs TEST_SMTPS_URL, TEST_SMTPS_API and TEST_SMTP_CA_FILE; run by .ci/run"]
async fn smtps_with_login_and_private_ca() {
    let ca = required("TEST_SMTP_CA_FILE");
    let (app, address, sweep) = send_through(&required("TEST_SMTPS_URL"), Some(&ca)).await;
    assert_eq!(sweep.done, 1, "sent over TLS with the login");
    let raw = from_maildev(&required("TEST_SMTPS_API"), &address).await;
    check_invitation(&app, &raw, &address).await;

    // A wrong password is a failed attempt that is retried later, not a lost message.
    let mut wrong = url::Url::parse(&required("TEST_SMTPS_URL")).unwrap();
    wrong.set_password(Some("not-the-password")).unwrap();
    let wrong = wrong.to_string();
    let (_, _, sweep) = send_through(&wrong, Some(&ca)).await;
    assert_eq!(sweep.retried, 1);
}

#[tokio::test]
#[ignore = "needs TEST_STARTTLS_URL, TEST_STARTTLS_MAILDIR and TEST_SMTP_CA_FILE; run by .ci/run"]
async fn starttls_with_login_and_private_ca() {
    let ca = required("TEST_SMTP_CA_FILE");
    let (app, address, sweep) = send_through(&required("TEST_STARTTLS_URL"), Some(&ca)).await;
    assert_eq!(sweep.done, 1);
    let maildir = std::path::PathBuf::from(required("TEST_STARTTLS_MAILDIR")).join("new");
    let raw = std::fs::read_dir(&maildir)
        .unwrap()
        .map(|entry| std::fs::read_to_string(entry.unwrap().path()).unwrap())
        .find(|message| message.contains(&address))
        .expect("the message is in the Maildir");
    check_invitation(&app, &raw, &address).await;

    // Without the CA the server's certificate is not trusted, so nothing is sent.
    let (_, _, sweep) = send_through(&required("TEST_STARTTLS_URL"), None).await;
    assert_eq!(sweep.retried, 1);
}
