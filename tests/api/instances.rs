//! Two `portal serve` processes on one PostgreSQL database and one S3 bucket, with no memory in
//! common, behave as one portal: a session made on one works on the other, and a file uploaded
//! through one downloads from the other.

use serde_json::{Value, json};

use crate::helpers::{ServeProcess, TestDatabase, client, csrf_from, link_in_email};
use crate::services::required;

fn create_bucket(name: &str) {
    let script = r#"
import boto3, os, sys
boto3.client("s3", endpoint_url=os.environ["TEST_S3_ENDPOINT"], region_name="us-east-1").create_bucket(Bucket=sys.argv[1])
"#;
    let status = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(name)
        .status()
        .unwrap();
    assert!(status.success(), "the bucket is created");
}

/// Waits up to 15 s for an e-mail in either instance's outbox and returns it.
async fn wait_for_mail(dirs: &[&std::path::Path], containing: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        for dir in dirs {
            let outbox = dir.join("data/outbox");
            if let Ok(entries) = std::fs::read_dir(&outbox) {
                for entry in entries.flatten() {
                    let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
                    if text.contains(containing) {
                        return text;
                    }
                }
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no e-mail containing {containing:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
#[ignore = "needs TEST_DATABASE_URL (PostgreSQL) and TEST_S3_ENDPOINT; run by .ci/run"]
async fn two_instances_share_sessions_and_evidence() {
    let database = TestDatabase::create(&required("TEST_DATABASE_URL")).await;
    let bucket = format!(
        "portal-test-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..16]
    );
    create_bucket(&bucket);
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let env = |base: &str| {
        vec![
            ("DATABASE_URL", database.url.clone()),
            ("PORTAL_EVIDENCE", format!("s3://{bucket}/evidence")),
            ("PORTAL_S3_ENDPOINT", required("TEST_S3_ENDPOINT")),
            ("PORTAL_BASE_URL", base.to_owned()),
        ]
    };
    // Both use the address of the load balancer in links; the test sends no traffic there and
    // talks to each instance directly instead.
    let base = "https://portal.mercy.example.org";
    let a = ServeProcess::start(dir_a.path(), &env(base));
    let b = ServeProcess::start(dir_b.path(), &env(base));

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_portal"))
        .args([
            "tenant",
            "create",
            "--name",
            "Mercy General",
            "--admin-email",
            "admin@mercy.example.org",
            "--json",
        ])
        .current_dir(dir_a.path())
        .env("DATABASE_URL", &database.url)
        .env("PORTAL_BASE_URL", base)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let created: Value = serde_json::from_slice(&output.stdout).unwrap();
    let login = a.url(
        created["admin_login_url"]
            .as_str()
            .unwrap()
            .trim_start_matches(base),
    );

    // Sign in on A, then use the same cookie on B.
    let staff = client();
    staff.get(&login).send().await.unwrap();
    let signed_in = staff
        .post(&login)
        .form(&[
            ("name", "Avery Admin"),
            ("password", "correct horse battery staple"),
            ("password_confirmation", "correct horse battery staple"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 303);
    let home = staff.get(b.url("/")).send().await.unwrap();
    assert_eq!(home.status(), 200, "the session made on A works on B");
    assert!(home.text().await.unwrap().contains("Mercy General"));

    // A form rendered by B is accepted by A: the CSRF token lives with the session.
    let page = staff
        .get(b.url("/vendors/new"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_from(&page).unwrap();
    let vendor = staff
        .post(a.url("/vendors"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("name", "Northwind EHR"),
            ("phi_access", "bulk"),
            ("clinical_criticality", "direct_patient_care"),
            ("contact_name", "Dana Whitfield"),
            ("contact_email", "dana@northwind.example.com"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(vendor.status(), 303);
    let vendor_id = vendor.headers()["location"]
        .to_str()
        .unwrap()
        .trim_start_matches("/vendors/")
        .to_owned();

    // Send through B's API; whichever worker claims the job sends the e-mail exactly once.
    let token = created["api_token"].as_str().unwrap();
    let sent = reqwest::Client::new()
        .post(b.url("/api/v1/assessments"))
        .bearer_auth(token)
        .json(&json!({ "vendor_id": vendor_id, "questionnaire": "healthcare-vendor-security-lite", "due_date": "2099-01-31" }))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 201);
    let mail = wait_for_mail(&[dir_a.path(), dir_b.path()], "dana@northwind.example.com").await;
    let link = link_in_email(&mail, &format!("{base}/a/"));
    let path = link.trim_start_matches(base).to_owned();

    // Upload through B, download through A.
    let bytes = b"%PDF-1.4 report uploaded through instance B".to_vec();
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes.clone()).file_name("report.pdf"),
    );
    let uploaded = client()
        .post(b.url(&format!("{path}/evidence")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), 303);
    let vendor_page = client()
        .get(a.url(&path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let evidence_path = vendor_page
        .split("/evidence/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the file is listed on A");
    let downloaded = client()
        .get(a.url(&format!("{path}/evidence/{evidence_path}")))
        .send()
        .await
        .unwrap();
    assert_eq!(downloaded.status(), 200);
    assert_eq!(downloaded.bytes().await.unwrap().to_vec(), bytes);

    let outboxes: usize = [dir_a.path(), dir_b.path()]
        .iter()
        .map(|dir| {
            std::fs::read_dir(dir.join("data/outbox"))
                .map(|entries| entries.count())
                .unwrap_or(0)
        })
        .sum();
    assert_eq!(outboxes, 1, "one e-mail in all");
    let (_, status_a) = a.stop();
    let (_, status_b) = b.stop();
    assert!(status_a.success() && status_b.success());
}
