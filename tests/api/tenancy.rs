//! Every route that takes an id, called by one tenant with another tenant's ids, must return
//! 404 and change nothing. Add each new route with an id to the lists in
//! `foreign_ids_return_404_everywhere`.

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestTenant, spawn_app};

/// One tenant's objects, created through the product.
struct Fixture {
    tenant: TestTenant,
    admin: reqwest::Client,
    vendor_id: String,
    contact_id: String,
    user_id: String,
    token_id: String,
    questionnaire_key: String,
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

    let tenant_id = tenant.tenant_id.parse().unwrap();
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
    json!({ "vendor": vendor, "questionnaire": questionnaire, "users": users, "tokens": tokens, "mail": app.outbox().len() })
}

#[tokio::test]
async fn foreign_ids_return_404_everywhere() {
    let app = spawn_app().await;
    let a = fixture(&app, "Mercy General", "mercy.example.org").await;
    let b = fixture(&app, "Lakeside Clinic", "lakeside.example.org").await;
    let before = snapshot(&app, &b).await;
    let csrf = app.csrf(&a.admin, "/vendors").await;

    let page_gets = [
        format!("/vendors/{}", b.vendor_id),
        format!("/vendors/{}/edit", b.vendor_id),
        format!("/questionnaires/{}", b.questionnaire_key),
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
        ("status", "deactivated"),
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
