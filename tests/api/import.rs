use serde_json::Value;

use crate::helpers::{TestApp, spawn_app};

async fn import(app: &TestApp, token: &str, body: impl Into<reqwest::Body>) -> (u16, Value) {
    let response = app
        .api(token)
        .post("/api/v1/vendors/import")
        .header("content-type", "text/csv")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

fn statuses(report: &Value) -> Vec<(u64, String)> {
    report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["line"].as_u64().unwrap(),
                row["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

const MESSY: &str = "\u{feff}Vendor Name;CONTACT_EMAIL;Contact Name;phi_access;Contract Renewal;notes\r\n\
\r\n\
\"Acme; Imaging\";ann@acme.example.com;\"Ann\nLee\";bulk;2027-01-31;x\r\n\
Acme; Imaging;bo@acme.example.com;Bo;;;\r\n\
\"Acme; Imaging\";bo@acme.example.com;Bo;bulk;;\r\n\
Beta Billing;not-an-email;Cy;none;;\r\n\
Gamma Labs;gina@gamma.example.com;Gina;lots;;\r\n\
Delta Dental;dee@delta.example.com;Dee;none;3/15/2027;\r\n\
Delta Dental;dee@delta.example.com;Dee;none;3/15/2027;\r\n\
\r\n";

#[tokio::test]
async fn messy_file_reports_each_row() {
    let app = spawn_app().await;
    let tenant = app
        .create_tenant("Mercy General", "admin@mercy.example.org")
        .await;
    let (status, report) = import(&app, &tenant.api_token, MESSY).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        statuses(&report),
        [
            (3, "created".to_owned()),
            (5, "rejected".to_owned()),
            (6, "created".to_owned()),
            (7, "rejected".to_owned()),
            (8, "rejected".to_owned()),
            (9, "created".to_owned()),
            (10, "duplicate".to_owned()),
        ],
        "{report:#}"
    );
    let rows = report["rows"].as_array().unwrap();
    assert!(
        rows[1]["message"]
            .as_str()
            .unwrap()
            .contains("values but the header has"),
        "unquoted separator"
    );
    assert!(
        rows[3]["message"]
            .as_str()
            .unwrap()
            .contains("not-an-email")
    );
    assert!(
        rows[4]["message"]
            .as_str()
            .unwrap()
            .contains("phi_access: \"lots\"")
    );
    assert_eq!(rows[6]["message"], "Same as line 9; skipped.");
    assert_eq!(report["ignored_columns"], serde_json::json!(["notes"]));

    let vendors: Value = app
        .api(&tenant.api_token)
        .get("/api/v1/vendors")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(vendors["total"], 2);
    let acme = &vendors["data"][0];
    assert_eq!(acme["name"], "Acme; Imaging");
    assert_eq!(acme["contract_renewal"], "2027-01-31");
    let acme: Value = app
        .api(&tenant.api_token)
        .get(&format!("/api/v1/vendors/{}", acme["id"].as_str().unwrap()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = acme["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|contact| contact["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Ann Lee", "Bo"], "line breaks in names are folded");
}

#[tokio::test]
async fn reimporting_same_file_changes_nothing() {
    let app = spawn_app().await;
    let tenant = app
        .create_tenant("Mercy General", "admin@mercy.example.org")
        .await;
    let (_, first) = import(&app, &tenant.api_token, MESSY).await;
    let audit_before = audit_count(&app).await;
    let (status, second) = import(&app, &tenant.api_token, MESSY).await;
    assert_eq!(status, 200);
    assert_eq!(second["created"], 0);
    assert_eq!(second["updated"], 0);
    assert_eq!(second["unchanged"], first["created"]);
    assert_eq!(
        audit_count(&app).await,
        audit_before,
        "no change was recorded"
    );
}

async fn audit_count(app: &TestApp) -> u64 {
    use sea_orm::{EntityTrait, PaginatorTrait};
    portal::store::entities::audit_event::Entity::find()
        .count(app.state.db().reader())
        .await
        .unwrap()
}

#[tokio::test]
async fn later_import_updates_existing_vendor() {
    let app = spawn_app().await;
    let tenant = app
        .create_tenant("Mercy General", "admin@mercy.example.org")
        .await;
    import(
        &app,
        &tenant.api_token,
        "name,contact_name,contact_email\nAcme,Ann,ann@acme.example.com\n",
    )
    .await;
    let (status, report) = import(
        &app,
        &tenant.api_token,
        "name,contact_name,contact_email,contact_role,phi_access\nACME,Ann,ann@acme.example.com,CISO,limited\nacme,Bo,bo@acme.example.com,,\n",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        statuses(&report),
        [(2, "updated".to_owned()), (3, "updated".to_owned())]
    );
    let vendors: Value = app
        .api(&tenant.api_token)
        .get("/api/v1/vendors")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(vendors["total"], 1);
    assert_eq!(vendors["data"][0]["profile"]["phi_access"], "limited");
    assert_eq!(
        vendors["data"][0]["tier"], "moderate",
        "the tier follows the new profile"
    );
}

#[tokio::test]
async fn unreadable_file_is_rejected_and_stores_nothing() {
    let app = spawn_app().await;
    let tenant = app
        .create_tenant("Mercy General", "admin@mercy.example.org")
        .await;
    let cases: [(&[u8], &str); 5] = [
        (b"", "empty"),
        (
            b"name,email\nAcme,ann@acme.example.com\n",
            "no contact_name, contact_email column",
        ),
        (b"name,contact_name,contact_email\n", "no vendor rows"),
        (
            b"name,contact_name,contact_email\nCaf\xe9,Ann,ann@acme.example.com\n",
            "not UTF-8",
        ),
        (
            b"name,contact_name,contact_email\n\"Acme,Ann,ann@acme.example.com\n",
            "never closed",
        ),
    ];
    for (bytes, needle) in cases {
        let (status, body) = import(&app, &tenant.api_token, bytes.to_vec()).await;
        assert_eq!(status, 400, "{needle}: {body}");
        assert_eq!(body["error"]["code"], "invalid_csv");
        assert!(
            body["error"]["message"].as_str().unwrap().contains(needle),
            "{needle}: {body}"
        );
    }
    let vendors: Value = app
        .api(&tenant.api_token)
        .get("/api/v1/vendors")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(vendors["total"], 0);
}

#[tokio::test]
async fn only_bad_rows_is_not_success() {
    let app = spawn_app().await;
    let tenant = app
        .create_tenant("Mercy General", "admin@mercy.example.org")
        .await;
    let (status, body) = import(
        &app,
        &tenant.api_token,
        "name,contact_name,contact_email\nAcme,Ann,bad\n,Bo,bo@x.example.com\n",
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["code"], "nothing_imported");
    assert_eq!(body["report"]["rejected"], 2);
}

#[tokio::test]
async fn oversized_file_gets_413() {
    let app = spawn_app().await;
    let tenant = app
        .create_tenant("Mercy General", "admin@mercy.example.org")
        .await;
    let mut big = String::from("name,contact_name,contact_email\n");
    while big.len() <= 10 * 1024 * 1024 {
        big.push_str("Acme Incorporated International,Ann Example,ann@acme.example.com\n");
    }
    let (status, body) = import(&app, &tenant.api_token, big).await;
    assert_eq!(status, 413);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("10 MiB")
    );
}

#[tokio::test]
async fn import_page_uploads_file_and_shows_report() {
    let app = spawn_app().await;
    let (_, admin) = app
        .tenant_with_admin("Mercy General", "admin@mercy.example.org")
        .await;
    let csrf = app.csrf(&admin, "/vendors/import").await;
    let form = reqwest::multipart::Form::new()
        .text("csrf_token", csrf.clone())
        .part(
            "file",
            reqwest::multipart::Part::bytes(MESSY.as_bytes().to_vec())
                .file_name("vendors.csv")
                .mime_str("text/csv")
                .unwrap(),
        );
    let response = admin
        .post(app.url("/vendors/import"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains("Created: 3"), "{html}");
    assert!(html.contains("Rejected: 3"), "{html}");
    assert!(html.contains("not-an-email"));

    let forged = reqwest::multipart::Form::new()
        .text("csrf_token", "forged")
        .part(
            "file",
            reqwest::multipart::Part::bytes(
                b"name,contact_name,contact_email\nZed,Z,z@zed.example.com\n".to_vec(),
            )
            .file_name("v.csv"),
        );
    assert_eq!(
        admin
            .post(app.url("/vendors/import"))
            .multipart(forged)
            .send()
            .await
            .unwrap()
            .status(),
        403
    );

    let broken = reqwest::multipart::Form::new()
        .text("csrf_token", csrf)
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"PK\x03\x04binary".to_vec()).file_name("vendors.xlsx"),
        );
    let response = admin
        .post(app.url("/vendors/import"))
        .multipart(broken)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    assert!(response.text().await.unwrap().contains("spreadsheet file"));
}
