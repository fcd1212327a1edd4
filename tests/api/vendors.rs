use serde_json::{Value, json};

use crate::helpers::spawn_app;

fn vendor_json(name: &str, email: &str) -> Value {
    json!({ "name": name, "contacts": [{ "name": "Contact Person", "email": email }] })
}

#[tokio::test]
async fn api_creates_and_gets_vendor_with_tier() {
    let app = spawn_app().await;
    let tenant = app
        .create_tenant("Mercy General", "admin@mercy.example.org")
        .await;
    let api = app.api(&tenant.api_token);
    let response = api
        .post("/api/v1/vendors")
        .json(&json!({
            "name": "ClearView Imaging",
            "website": "clearview.example.com",
            "phi_access": "bulk",
            "system_integration": true,
            "contract_renewal": "2027-06-30",
            "contacts": [{ "name": "Zoë Ng", "email": "zoe@clearview.example.com", "role": "CISO" }]
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["tier"], "critical");
    assert_eq!(created["computed_tier"], "critical");
    assert_eq!(
        created["baa_status"], "pending",
        "a vendor with PHI access needs a BAA"
    );
    assert_eq!(created["website"], "https://clearview.example.com");
    assert_eq!(created["contacts"][0]["name"], "Zoë Ng");

    let id = created["id"].as_str().unwrap();
    let fetched: Value = api
        .get(&format!("/api/v1/vendors/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(fetched["name"], "ClearView Imaging");
    assert_eq!(fetched["contract_renewal"], "2027-06-30");
    assert_eq!(fetched["profile"]["phi_access"], "bulk");
}

#[tokio::test]
async fn api_rejects_invalid_vendor_naming_each_field() {
    let app = spawn_app().await;
    let tenant = app
        .create_tenant("Mercy General", "admin@mercy.example.org")
        .await;
    let response = app
        .api(&tenant.api_token)
        .post("/api/v1/vendors")
        .json(&json!({
            "name": " ",
            "phi_access": "lots",
            "contract_renewal": "next year",
            "tier_override": { "tier": "high", "rationale": "" },
            "contacts": [{ "name": "Ann", "email": "ann-at-example" }]
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid");
    let fields: Vec<&str> = body["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|field| field["field"].as_str().unwrap())
        .collect();
    for expected in [
        "name",
        "phi_access",
        "contract_renewal",
        "tier_override.rationale",
        "contacts[0].email",
    ] {
        assert!(
            fields.contains(&expected),
            "{expected} missing from {fields:?}"
        );
    }
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("\"lots\" is not a valid PHI access level"),
        "{message}"
    );
}

#[tokio::test]
async fn api_rejects_unknown_fields_and_bad_json() {
    let app = spawn_app().await;
    let tenant = app
        .create_tenant("Mercy General", "admin@mercy.example.org")
        .await;
    let api = app.api(&tenant.api_token);
    let unknown = api
        .post("/api/v1/vendors")
        .json(&json!({"name": "A", "contacts": [], "colour": "red"}))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 422);
    let body: Value = unknown.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("colour")
    );

    let malformed = api
        .post("/api/v1/vendors")
        .header("content-type", "application/json")
        .body("{\"name\":")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    let body: Value = malformed.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_json");
}

#[tokio::test]
async fn duplicate_vendor_name_is_a_conflict() {
    let app = spawn_app().await;
    let tenant = app
        .create_tenant("Mercy General", "admin@mercy.example.org")
        .await;
    let api = app.api(&tenant.api_token);
    let first = api
        .post("/api/v1/vendors")
        .json(&vendor_json("Acme Labs", "a@acme.example.com"))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 201);
    let second = api
        .post("/api/v1/vendors")
        .json(&vendor_json("  ACME   labs ", "b@acme.example.com"))
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), 409);
    let body: Value = second.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already exists")
    );
}

#[tokio::test]
async fn vendor_list_filters_sorts_and_pages_stably() {
    let app = spawn_app().await;
    let tenant = app
        .create_tenant("Mercy General", "admin@mercy.example.org")
        .await;
    let api = app.api(&tenant.api_token);
    let profiles = [
        ("Delta Billing", "bulk", false),
        ("Alpha Cleaning", "none", false),
        ("Charlie EHR", "bulk", true),
        ("Bravo Transcription", "limited", false),
        ("Echo Catering", "none", false),
    ];
    for (name, phi, integrated) in profiles {
        let mut body = vendor_json(
            name,
            &format!(
                "x@{}.example.com",
                name.split(' ').next().unwrap().to_lowercase()
            ),
        );
        body["phi_access"] = json!(phi);
        body["system_integration"] = json!(integrated);
        assert_eq!(
            api.post("/api/v1/vendors")
                .json(&body)
                .send()
                .await
                .unwrap()
                .status(),
            201
        );
    }
    let names = |body: &Value| -> Vec<String> {
        body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["name"].as_str().unwrap().to_owned())
            .collect()
    };

    let by_name: Value = api
        .get("/api/v1/vendors")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        names(&by_name),
        [
            "Alpha Cleaning",
            "Bravo Transcription",
            "Charlie EHR",
            "Delta Billing",
            "Echo Catering"
        ]
    );

    let by_tier: Value = api
        .get("/api/v1/vendors?sort=tier")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        names(&by_tier),
        [
            "Charlie EHR",
            "Delta Billing",
            "Bravo Transcription",
            "Alpha Cleaning",
            "Echo Catering"
        ]
    );

    let mut paged = Vec::new();
    for page in 1..=3 {
        let body: Value = api
            .get(&format!("/api/v1/vendors?sort=tier&per_page=2&page={page}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(body["total"], 5);
        paged.extend(names(&body));
    }
    assert_eq!(paged, names(&by_tier), "pages neither overlap nor skip");

    let low: Value = api
        .get("/api/v1/vendors?tier=low")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(names(&low), ["Alpha Cleaning", "Echo Catering"]);
    let search: Value = api
        .get("/api/v1/vendors?q=EHR")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(names(&search), ["Charlie EHR"]);
    let wildcard: Value = api
        .get("/api/v1/vendors?q=%25")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(wildcard["total"], 0, "a percent sign is searched literally");

    let bad = api
        .get("/api/v1/vendors?sort=size&tier=urgent")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    let body: Value = bad.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("\"size\" is not a valid sort"),
        "{message}"
    );
    assert!(
        message.contains("\"urgent\" is not a valid tier"),
        "{message}"
    );
}

#[tokio::test]
async fn vendor_form_creates_edits_overrides_and_archives() {
    let app = spawn_app().await;
    let (tenant, admin) = app
        .tenant_with_admin("Mercy General", "admin@mercy.example.org")
        .await;
    let csrf = app.csrf(&admin, "/vendors/new").await;

    let invalid = admin
        .post(app.url("/vendors"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("name", ""),
            ("phi_access", "none"),
            ("clinical_criticality", "none"),
            ("contact_name", "Ann"),
            ("contact_email", "ann"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(invalid.status(), 422);
    let html = invalid.text().await.unwrap();
    assert!(html.contains("Enter the vendor&#x27;s name."), "{html}");
    assert!(html.contains("aria-invalid=\"true\""));

    let created = admin
        .post(app.url("/vendors"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("name", "O'Malley & Sons Billing"),
            ("phi_access", "limited"),
            ("clinical_criticality", "none"),
            ("offshore_access", "on"),
            ("contact_name", "Siobhán O'Malley"),
            ("contact_email", "siobhan@omalley.example.com"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 303);
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    let page = admin
        .get(app.url(&location))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("O&#x27;Malley &amp; Sons Billing"));
    assert!(page.contains("Limited PHI access with system integration or offshore access."));
    assert!(page.contains("Vendor created"));

    let edit = [
        ("csrf_token", csrf.as_str()),
        ("name", "O'Malley & Sons Billing"),
        ("phi_access", "limited"),
        ("clinical_criticality", "none"),
        ("offshore_access", "on"),
        ("baa_status", "signed"),
        ("tier_override", "critical"),
        ("tier_override_rationale", ""),
    ];
    let missing_reason = admin
        .post(app.url(&location))
        .form(&edit)
        .send()
        .await
        .unwrap();
    assert_eq!(missing_reason.status(), 422);
    assert!(
        missing_reason
            .text()
            .await
            .unwrap()
            .contains("Explain in a sentence")
    );

    let mut with_reason = edit.to_vec();
    with_reason[7] = (
        "tier_override_rationale",
        "They process every lab result we send out.",
    );
    assert_eq!(
        admin
            .post(app.url(&location))
            .form(&with_reason)
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
    let id = location.trim_start_matches("/vendors/");
    let vendor: Value = app
        .api(&tenant.api_token)
        .get(&format!("/api/v1/vendors/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(vendor["tier"], "critical");
    assert_eq!(vendor["computed_tier"], "high");
    assert_eq!(
        vendor["tier_override"]["rationale"],
        "They process every lab result we send out."
    );
    assert_eq!(vendor["baa_status"], "signed");

    let archived = admin
        .post(app.url(&format!("{location}/archive")))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(archived.status(), 303);
    let active: Value = app
        .api(&tenant.api_token)
        .get("/api/v1/vendors")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        active["total"], 0,
        "archived vendors leave the default list"
    );
    let all: Value = app
        .api(&tenant.api_token)
        .get("/api/v1/vendors?status=all")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        all["data"][0]["status"], "archived",
        "archived vendors are kept"
    );

    let history = admin
        .get(app.url(&location))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(history.contains("Vendor updated"));
    assert!(
        history.contains("tier_override.tier: none → critical")
            || history.contains("tier: high → critical"),
        "{history}"
    );
    assert!(history.contains("Vendor archived"));
}

#[tokio::test]
async fn contacts_are_added_and_removed() {
    let app = spawn_app().await;
    let (tenant, admin) = app
        .tenant_with_admin("Mercy General", "admin@mercy.example.org")
        .await;
    let created: Value = app
        .api(&tenant.api_token)
        .post("/api/v1/vendors")
        .json(&vendor_json("Acme Labs", "a@acme.example.com"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();
    let path = format!("/vendors/{id}");
    let csrf = app.csrf(&admin, &path).await;

    let duplicate = admin
        .post(app.url(&format!("{path}/contacts")))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("name", "Again"),
            ("email", "A@acme.example.com"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(duplicate.status(), 422);
    assert!(
        duplicate
            .text()
            .await
            .unwrap()
            .contains("already has a contact")
    );

    let added = admin
        .post(app.url(&format!("{path}/contacts")))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("name", "Bo Diaz"),
            ("email", "bo@acme.example.com"),
            ("role", "IT lead"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 303);
    let vendor: Value = app
        .api(&tenant.api_token)
        .get(&format!("/api/v1/vendors/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let contacts = vendor["contacts"].as_array().unwrap();
    assert_eq!(contacts.len(), 2);
    let bo = contacts
        .iter()
        .find(|contact| contact["name"] == "Bo Diaz")
        .unwrap();

    let removed = admin
        .post(app.url(&format!(
            "{path}/contacts/{}/remove",
            bo["id"].as_str().unwrap()
        )))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), 303);
    let vendor: Value = app
        .api(&tenant.api_token)
        .get(&format!("/api/v1/vendors/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(vendor["contacts"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn staff_pages_render() {
    let app = spawn_app().await;
    let (tenant, admin) = app
        .tenant_with_admin("Mercy General", "admin@mercy.example.org")
        .await;
    let created: Value = app
        .api(&tenant.api_token)
        .post("/api/v1/vendors")
        .json(&vendor_json("Acme Labs", "a@acme.example.com"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();
    for path in [
        "/".to_owned(),
        "/vendors".to_owned(),
        "/vendors?sort=renewal&status=all&page=2".to_owned(),
        "/vendors/new".to_owned(),
        format!("/vendors/{id}"),
        format!("/vendors/{id}/edit"),
        "/vendors/import".to_owned(),
        "/questionnaires".to_owned(),
        "/questionnaires/healthcare-vendor-security".to_owned(),
        "/questionnaires/healthcare-vendor-security-lite".to_owned(),
        "/admin/users".to_owned(),
        "/admin/api-tokens".to_owned(),
    ] {
        let response = admin.get(app.url(&path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let html = response.text().await.unwrap();
        assert!(html.contains("<main id=\"main\">"), "{path}");
        assert!(
            html.contains("aria-current=\"page\"") || path == "/",
            "{path} marks its menu entry"
        );
    }
}

#[tokio::test]
async fn concurrent_writes_all_succeed() {
    let app = spawn_app().await;
    let tenant = app
        .create_tenant("Mercy General", "admin@mercy.example.org")
        .await;
    let api = std::sync::Arc::new(app.api(&tenant.api_token));
    let mut tasks = Vec::new();
    for index in 0..40 {
        let api = api.clone();
        tasks.push(tokio::spawn(async move {
            let body = vendor_json(
                &format!("Vendor {index:02}"),
                &format!("v{index}@vendor.example.com"),
            );
            let created = api
                .post("/api/v1/vendors")
                .json(&body)
                .send()
                .await
                .unwrap()
                .status();
            let listed = api
                .get("/api/v1/vendors?per_page=5")
                .send()
                .await
                .unwrap()
                .status();
            (created, listed)
        }));
    }
    for task in tasks {
        let (created, listed) = task.await.unwrap();
        assert_eq!(created, 201);
        assert_eq!(listed, 200);
    }
    let body: Value = api
        .get("/api/v1/vendors")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["total"], 40);
}

#[tokio::test]
async fn last_contact_stays_and_archived_vendor_is_frozen() {
    let app = spawn_app().await;
    let (tenant, admin) = app
        .tenant_with_admin("Mercy General", "admin@mercy.example.org")
        .await;
    let created: Value = app
        .api(&tenant.api_token)
        .post("/api/v1/vendors")
        .json(&vendor_json("Acme Labs", "a@acme.example.com"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();
    let contact = created["contacts"][0]["id"].as_str().unwrap();
    let path = format!("/vendors/{id}");
    let csrf = app.csrf(&admin, &path).await;
    let removed = admin
        .post(app.url(&format!("{path}/contacts/{contact}/remove")))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), 409);
    assert!(
        removed
            .text()
            .await
            .unwrap()
            .contains("needs at least one contact")
    );

    admin
        .post(app.url(&format!("{path}/archive")))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    let added = admin
        .post(app.url(&format!("{path}/contacts")))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("name", "Bo"),
            ("email", "bo@acme.example.com"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 422);
    assert!(
        added
            .text()
            .await
            .unwrap()
            .contains("is archived; restore it")
    );
    let again = app
        .api(&tenant.api_token)
        .post("/api/v1/vendors")
        .json(&vendor_json("ACME labs", "c@acme.example.com"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 409);
    let body: Value = again.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("an archived vendor counts too")
    );
}

#[tokio::test]
async fn api_query_errors_use_json_shape() {
    let app = spawn_app().await;
    let tenant = app
        .create_tenant("Mercy General", "admin@mercy.example.org")
        .await;
    let api = app.api(&tenant.api_token);
    for path in [
        "/api/v1/vendors?per_page=abc",
        "/api/v1/vendors?per_page=500",
        "/api/v1/vendors?page=0",
        "/api/v1/questionnaires/healthcare-vendor-security?version=x",
    ] {
        let response = api.get(path).send().await.unwrap();
        assert_eq!(response.status(), 422, "{path}");
        let body: Value = response
            .json()
            .await
            .unwrap_or_else(|_| panic!("{path} answers JSON"));
        assert_eq!(body["error"]["code"], "invalid", "{path}");
    }
}
