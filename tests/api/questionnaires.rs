use serde_json::Value;

use crate::helpers::spawn_app;

#[tokio::test]
async fn api_lists_shipped_questionnaires() {
    let app = spawn_app().await;
    let tenant = app
        .create_tenant("Mercy General", "admin@mercy.example.org")
        .await;
    let body: Value = app
        .api(&tenant.api_token)
        .get("/api/v1/questionnaires")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let keys: Vec<&str> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "healthcare-vendor-security",
            "healthcare-vendor-security-lite"
        ]
    );
    assert!(body["data"][0]["question_count"].as_u64().unwrap() >= 70);
    assert_eq!(body["data"][0]["origin"], "shipped");
}

#[tokio::test]
async fn api_returns_questions_with_ids_and_controls() {
    let app = spawn_app().await;
    let tenant = app
        .create_tenant("Mercy General", "admin@mercy.example.org")
        .await;
    let response = app
        .api(&tenant.api_token)
        .get("/api/v1/questionnaires/healthcare-vendor-security")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["version"], 1);
    let questions: Vec<&Value> = body["sections"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|section| section["questions"].as_array().unwrap())
        .collect();
    assert!(questions.len() >= 70);
    for question in &questions {
        assert!(question["id"].is_string());
        assert!(question["controls"].is_array());
        assert!(question["type"].is_string());
    }
    assert!(questions.iter().any(|question| {
        question["controls"]
            .as_array()
            .unwrap()
            .iter()
            .any(|control| control.as_str().unwrap().starts_with("164."))
    }));

    let missing = app
        .api(&tenant.api_token)
        .get("/api/v1/questionnaires/no-such-key")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

const CUSTOM: &str = r#"key = "mercy-cleaning"
version = 1
title = "Cleaning contractor check"

[[sections]]
id = "basics"
title = "Basics"

[[sections.questions]]
id = "badges"
text = "Do your cleaners wear our ID badges at all times?"
type = "yes_no"
controls = ["7.2"]
"#;

async fn upload(
    app: &crate::helpers::TestApp,
    client: &reqwest::Client,
    csrf: &str,
    source: &str,
) -> reqwest::Response {
    let form = reqwest::multipart::Form::new()
        .text("csrf_token", csrf.to_owned())
        .part(
            "file",
            reqwest::multipart::Part::bytes(source.as_bytes().to_vec()).file_name("custom.toml"),
        );
    client
        .post(app.url("/questionnaires"))
        .multipart(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn admin_uploads_questionnaire_after_check() {
    let app = spawn_app().await;
    let (tenant, admin) = app
        .tenant_with_admin("Mercy General", "admin@mercy.example.org")
        .await;
    let csrf = app.csrf(&admin, "/questionnaires").await;

    let broken = CUSTOM
        .replace("\"7.2\"", "\"A.7.2\"")
        .replace("type = \"yes_no\"", "type = \"yes_no\"\nweight = 0");
    let rejected = upload(&app, &admin, &csrf, &broken).await;
    assert_eq!(rejected.status(), 422);
    let html = rejected.text().await.unwrap();
    assert!(
        html.contains("custom.toml:13: question &quot;badges&quot;: weight 0"),
        "{html}"
    );
    assert!(html.contains("custom.toml:14: write control"), "{html}");

    let accepted = upload(&app, &admin, &csrf, CUSTOM).await;
    assert_eq!(accepted.status(), 303);
    let body: Value = app
        .api(&tenant.api_token)
        .get("/api/v1/questionnaires/mercy-cleaning")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["origin"], "tenant");
    assert_eq!(body["sections"][0]["questions"][0]["id"], "badges");

    let again = upload(&app, &admin, &csrf, CUSTOM).await;
    assert_eq!(
        again.status(),
        409,
        "the same key and version cannot be uploaded twice"
    );
    let shipped = upload(
        &app,
        &admin,
        &csrf,
        &CUSTOM.replace("mercy-cleaning", "healthcare-vendor-security"),
    )
    .await;
    assert_eq!(
        shipped.status(),
        409,
        "a shipped version cannot be replaced"
    );
}
