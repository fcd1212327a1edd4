//! Every route that takes an id, called by one tenant with another tenant's ids, must return
//! 404 and change nothing. Add each new route with an id to the lists in
//! `foreign_ids_return_404_everywhere`.

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestTenant, client, spawn_app_with};
use crate::workflow::{answer_everything, run_jobs, vendor_link};

/// One tenant's objects, created through the product.
struct Fixture {
    tenant: TestTenant,
    admin: reqwest::Client,
    vendor_id: String,
    contact_id: String,
    user_id: String,
    token_id: String,
    questionnaire_key: String,
    assessment_id: String,
    link: String,
    evidence_id: String,
    risk_id: String,
}

async fn fixture(app: &TestApp, name: &str, domain: &str) -> Fixture {
    let (tenant, admin) = app
        .tenant_with_admin(name, &format!("admin@{domain}"))
        .await;
    let vendor: Value = app
        .api(&tenant.api_token)
        .post("/api/v1/vendors")
        .json(&json!({ "name": format!("{name} supplier"), "contacts": [{ "name": "Ann", "email": format!("ann@{domain}") }] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let csrf = app.csrf(&admin, "/admin/users").await;
    admin
        .post(app.url("/admin/users"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("name", "Invitee"),
            ("email", &format!("invitee@{domain}")),
            ("role", "viewer"),
        ])
        .send()
        .await
        .unwrap();
    admin
        .post(app.url("/admin/api-tokens"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("name", "Integration"),
            ("role", "viewer"),
        ])
        .send()
        .await
        .unwrap();
    let key = format!("{}-only", domain.split('.').next().unwrap());
    let source = format!(
        "key = \"{key}\"\nversion = 1\ntitle = \"Private\"\n[[sections]]\nid = \"s\"\ntitle = \"S\"\n[[sections.questions]]\nid = \"q\"\ntext = \"Q?\"\ntype = \"yes_no\"\n"
    );
    let form = reqwest::multipart::Form::new()
        .text("csrf_token", csrf.clone())
        .part(
            "file",
            reqwest::multipart::Part::bytes(source.into_bytes()).file_name("private.toml"),
        );
    assert_eq!(
        admin
            .post(app.url("/questionnaires"))
            .multipart(form)
            .send()
            .await
            .unwrap()
            .status(),
        303
    );

    // A completed assessment with a general document and at least one risk.
    let api = app.api(&tenant.api_token);
    let created: Value = api
        .post("/api/v1/assessments")
        .json(&json!({ "vendor_id": vendor["id"], "questionnaire": "healthcare-vendor-security-lite", "due_date": "2099-01-31" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let assessment_id = created["id"].as_str().unwrap().to_owned();
    run_jobs(app).await;
    let link = vendor_link(app);
    let questionnaire: Value = api
        .get("/api/v1/questionnaires/healthcare-vendor-security-lite")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let every_id: Vec<String> = questionnaire["sections"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|section| {
            section["questions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|question| question["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    let failing: Vec<&str> = every_id
        .iter()
        .map(String::as_str)
        .filter(|id| *id != "about-phi")
        .collect();
    let vendor_client = client();
    let saved = vendor_client
        .post(app.url(&link))
        .form(&answer_everything(&questionnaire, &failing))
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 303);
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"policy".to_vec()).file_name("policy.pdf"),
    );
    assert_eq!(
        vendor_client
            .post(app.url(&format!("{link}/evidence")))
            .multipart(form)
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
    assert_eq!(
        vendor_client
            .post(app.url(&format!("{link}/submit")))
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
    let page = format!("/assessments/{assessment_id}");
    let csrf = app.csrf(&admin, &page).await;
    assert_eq!(
        admin
            .post(app.url(&format!("{page}/complete")))
            .form(&[("csrf_token", csrf.as_str())])
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
    let risks: Value = api
        .get("/api/v1/risks")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let risk_id = risks["data"][0]["id"]
        .as_str()
        .expect("the failing answers produced risks")
        .to_owned();

    let tenant_id = tenant.tenant_id.parse().unwrap();
    let files = portal::store::assessments::evidence::list(
        app.state.db().reader(),
        tenant_id,
        assessment_id.parse().unwrap(),
    )
    .await
    .unwrap();
    let evidence_id = files[0].id.to_string();

    let users = portal::store::users::list(app.state.db().reader(), tenant_id)
        .await
        .unwrap();
    let invitee = users.iter().find(|user| user.name == "Invitee").unwrap();
    let tokens = portal::store::api_tokens::list(app.state.db().reader(), tenant_id)
        .await
        .unwrap();
    let token = tokens
        .iter()
        .find(|token| token.name == "Integration")
        .unwrap();
    Fixture {
        vendor_id: vendor["id"].as_str().unwrap().to_owned(),
        contact_id: vendor["contacts"][0]["id"].as_str().unwrap().to_owned(),
        user_id: invitee.id.to_string(),
        token_id: token.id.to_string(),
        questionnaire_key: key,
        assessment_id,
        link,
        evidence_id,
        risk_id,
        tenant,
        admin,
    }
}

/// Returns B's objects as B's own API and pages show them, to compare before and after.
async fn snapshot(app: &TestApp, fixture: &Fixture) -> Value {
    let api = app.api(&fixture.tenant.api_token);
    let vendor: Value = api
        .get(&format!("/api/v1/vendors/{}", fixture.vendor_id))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let questionnaire = api
        .get(&format!(
            "/api/v1/questionnaires/{}",
            fixture.questionnaire_key
        ))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16();
    let tenant_id = fixture.tenant.tenant_id.parse().unwrap();
    let users: Vec<Value> = portal::store::users::list(app.state.db().reader(), tenant_id)
        .await
        .unwrap()
        .into_iter()
        .map(|user| json!({ "id": user.id, "role": user.role, "status": user.status }))
        .collect();
    let tokens: Vec<Value> = portal::store::api_tokens::list(app.state.db().reader(), tenant_id)
        .await
        .unwrap()
        .into_iter()
        .map(|token| json!({ "id": token.id, "revoked": token.revoked_at.is_some() }))
        .collect();
    let assessment: Value = api
        .get(&format!("/api/v1/assessments/{}", fixture.assessment_id))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let risk: Value = api
        .get(&format!("/api/v1/risks/{}", fixture.risk_id))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    json!({
        "vendor": vendor,
        "questionnaire": questionnaire,
        "users": users,
        "tokens": tokens,
        "mail": app.outbox().len(),
        "assessment": assessment,
        "risk": risk,
    })
}

#[tokio::test]
async fn foreign_ids_return_404_everywhere() {
    let app = spawn_app_with(|config| config.run_worker = false).await;
    let a = fixture(&app, "Mercy General", "mercy.example.org").await;
    let b = fixture(&app, "Lakeside Clinic", "lakeside.example.org").await;
    let before = snapshot(&app, &b).await;
    let csrf = app.csrf(&a.admin, "/vendors").await;

    let page_gets = [
        format!("/vendors/{}", b.vendor_id),
        format!("/vendors/{}/edit", b.vendor_id),
        format!("/questionnaires/{}", b.questionnaire_key),
        format!("/assessments/new?vendor={}", b.vendor_id),
        format!("/assessments/{}", b.assessment_id),
        format!(
            "/assessments/{}/evidence/{}",
            b.assessment_id, b.evidence_id
        ),
        format!(
            "/assessments/{}/evidence/{}",
            a.assessment_id, b.evidence_id
        ),
        format!("/risks/{}", b.risk_id),
        format!("{}/evidence/{}", a.link, b.evidence_id),
    ];
    for path in &page_gets {
        let response = a.admin.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 404, "GET {path}");
        let html = response.text().await.unwrap();
        assert!(!html.contains("Lakeside"), "GET {path} leaks B's name");
    }

    let vendor_form: Vec<(&str, &str)> = vec![
        ("csrf_token", &csrf),
        ("name", "Taken over"),
        ("phi_access", "bulk"),
        ("clinical_criticality", "none"),
        ("email", "x@x.example.com"),
        ("role", "admin"),
        ("status", "closed"),
        ("decision", "accept"),
        ("note", "taking over"),
        ("score", "100"),
        ("rationale", "taking over this question"),
        ("question_id", "access-mfa"),
        ("request", "taking over"),
        ("residual_likelihood", "1"),
        ("residual_impact", "1"),
    ];
    let page_posts = [
        format!("/vendors/{}", b.vendor_id),
        format!("/vendors/{}/archive", b.vendor_id),
        format!("/vendors/{}/restore", b.vendor_id),
        format!("/vendors/{}/contacts", b.vendor_id),
        format!("/vendors/{}/contacts/{}/remove", b.vendor_id, b.contact_id),
        format!("/vendors/{}/contacts/{}/remove", a.vendor_id, b.contact_id),
        format!("/admin/users/{}", b.user_id),
        format!("/admin/users/{}/link", b.user_id),
        format!("/admin/api-tokens/{}/revoke", b.token_id),
        format!(
            "/assessments/{}/contacts/{}/resend",
            b.assessment_id, b.contact_id
        ),
        format!(
            "/assessments/{}/contacts/{}/revoke",
            b.assessment_id, b.contact_id
        ),
        format!(
            "/assessments/{}/contacts/{}/resend",
            a.assessment_id, b.contact_id
        ),
        format!("/assessments/{}/start-review", b.assessment_id),
        format!(
            "/assessments/{}/evidence/{}/review",
            b.assessment_id, b.evidence_id
        ),
        format!(
            "/assessments/{}/evidence/{}/review",
            a.assessment_id, b.evidence_id
        ),
        format!(
            "/assessments/{}/questions/access-mfa/override",
            b.assessment_id
        ),
        format!("/assessments/{}/clarifications", b.assessment_id),
        format!("/assessments/{}/clarifications/send", b.assessment_id),
        format!("/assessments/{}/complete", b.assessment_id),
        format!("/assessments/{}/reopen", b.assessment_id),
        format!("/assessments/{}/cancel", b.assessment_id),
        format!("/risks/{}", b.risk_id),
    ];
    for path in &page_posts {
        let response = a
            .admin
            .post(app.url(path))
            .form(&vendor_form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "POST {path}");
    }

    let api = app.api(&a.tenant.api_token);
    for path in [
        format!("/api/v1/vendors/{}", b.vendor_id),
        format!("/api/v1/questionnaires/{}", b.questionnaire_key),
    ] {
        let response = api.get(&path).send().await.unwrap();
        assert_eq!(response.status(), 404, "API GET {path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "not_found");
    }
    let listed: Value = api
        .get("/api/v1/vendors?status=all&per_page=200")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["total"], 1);
    assert_eq!(listed["data"][0]["id"], a.vendor_id.as_str());
    let library: Value = api
        .get("/api/v1/questionnaires")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!library.to_string().contains(&b.questionnaire_key));

    // Malformed ids look the same as foreign ones.
    assert_eq!(
        a.admin
            .get(app.url("/vendors/not-a-uuid"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        api.get("/api/v1/vendors/not-a-uuid")
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    assert_eq!(snapshot(&app, &b).await, before, "B's data did not change");
    let own = a
        .admin
        .get(app.url(&format!("/vendors/{}", a.vendor_id)))
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 200, "A still reaches its own vendor");
}
