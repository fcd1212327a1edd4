//! Browser tests in headless Chromium through chromedriver: the vendor answers and submits with
//! JavaScript off and on, an analyst reviews and completes, every page is checked with axe-core
//! and for console errors, and screenshots of the key pages go to `TEST_SCREENSHOT_DIR`.

use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app_with};
use crate::services::required;
use crate::workflow::{run_jobs, vendor_link};

/// Starts a fresh Chromium session, with JavaScript on or off.
async fn browser(javascript: bool) -> Client {
    let profile = tempfile::tempdir().unwrap().keep();
    let mut options = json!({
        "binary": "/usr/bin/chromium",
        "args": [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-quic", "--no-first-run", "--window-size=1280,1600",
            format!("--user-data-dir={}", profile.display()),
        ],
    });
    if !javascript {
        options["prefs"] = json!({ "profile.managed_default_content_settings.javascript": 2 });
    }
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("browserName".into(), json!("chrome"));
    capabilities.insert("goog:chromeOptions".into(), options);
    capabilities.insert("goog:loggingPrefs".into(), json!({ "browser": "ALL" }));
    ClientBuilder::rustls()
        .expect("TLS setup")
        .capabilities(capabilities)
        .connect(&required("TEST_WEBDRIVER_URL"))
        .await
        .expect("chromedriver answers")
}

/// Returns the browser console entries at level SEVERE since the last call.
async fn console_errors(client: &Client) -> Vec<String> {
    let session = client.session_id().await.unwrap().expect("a session");
    let url = format!(
        "{}/session/{session}/se/log",
        required("TEST_WEBDRIVER_URL")
    );
    let response: Value = reqwest::Client::new()
        .post(url)
        .json(&json!({ "type": "browser" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    response["value"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .filter(|entry| entry["level"] == "SEVERE")
                .map(|entry| entry["message"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Runs axe-core on the current page and returns the violations of impact "serious" or
/// "critical" (WCAG 2.0, 2.1 and 2.2 A and AA rules) as readable lines.
async fn accessibility_violations(client: &Client) -> Vec<String> {
    let axe = std::fs::read_to_string(required("TEST_AXE_SCRIPT")).expect("axe-core is installed");
    client.execute(&axe, vec![]).await.expect("axe-core loads");
    let script = r#"
        const done = arguments[arguments.length - 1];
        axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"] } })
            .then(result => done(result.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(" ")).slice(0, 3) }))))
            .catch(error => done([{ id: "axe-error", impact: "critical", help: String(error), nodes: [] }]));
    "#;
    let violations = client
        .execute_async(script, vec![])
        .await
        .expect("axe-core runs");
    violations
        .as_array()
        .unwrap()
        .iter()
        .filter(|violation| matches!(violation["impact"].as_str(), Some("serious" | "critical")))
        .map(|violation| {
            format!(
                "{} ({}): {} at {}",
                violation["id"], violation["impact"], violation["help"], violation["nodes"]
            )
        })
        .collect()
}

async fn screenshot(client: &Client, name: &str) {
    let Ok(dir) = std::env::var("TEST_SCREENSHOT_DIR") else {
        return;
    };
    std::fs::create_dir_all(&dir).unwrap();
    let png = client.screenshot().await.unwrap();
    std::fs::write(std::path::Path::new(&dir).join(format!("{name}.png")), png).unwrap();
}

/// Checks the current page: no console errors and, when the page runs JavaScript (which
/// axe-core needs), no serious accessibility violations. Pages without JavaScript are the same
/// pages, so the JavaScript tests cover their accessibility.
async fn check_page(client: &Client, name: &str, javascript: bool) {
    screenshot(client, name).await;
    if javascript {
        let violations = accessibility_violations(client).await;
        assert!(
            violations.is_empty(),
            "{name}: accessibility violations:\n{}",
            violations.join("\n")
        );
    }
    let errors = console_errors(client).await;
    assert!(
        errors.is_empty(),
        "{name}: console errors:\n{}",
        errors.join("\n")
    );
}

async fn app() -> TestApp {
    spawn_app_with(|config| config.run_worker = false).await
}

/// Creates a tenant and vendor, sends the lite questionnaire and returns its vendor link.
async fn sent_lite(app: &TestApp) -> (crate::helpers::TestTenant, String, String) {
    let tenant = app
        .create_tenant("Mercy General", "admin@mercy.example.org")
        .await;
    let api = app.api(&tenant.api_token);
    let vendor: Value = api
        .post("/api/v1/vendors")
        .json(&json!({ "name": "Lakeside Transcription", "phi_access": "limited", "contacts": [{ "name": "Priya Natarajan", "email": "priya@lakeside.example.com" }] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let created: Value = api
        .post("/api/v1/assessments")
        .json(&json!({ "vendor_id": vendor["id"], "questionnaire": "healthcare-vendor-security-lite", "due_date": "2099-01-31" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    run_jobs(app).await;
    (
        tenant,
        vendor_link(app),
        created["id"].as_str().unwrap().to_owned(),
    )
}

/// Chooses the best answer of every question shown, by clicking as a person would.
async fn answer_shown_questions(client: &Client, questionnaire: &Value) {
    for section in questionnaire["sections"].as_array().unwrap() {
        for question in section["questions"].as_array().unwrap() {
            let id = question["id"].as_str().unwrap();
            match question["type"].as_str().unwrap() {
                "yes_no" | "single_choice" => {
                    let options = question["options"].as_array().unwrap();
                    let best = options
                        .iter()
                        .filter(|option| !option["score"].is_null() || question["scored"] == false)
                        .max_by(|a, b| {
                            a["score"]
                                .as_f64()
                                .unwrap_or(1.0)
                                .total_cmp(&b["score"].as_f64().unwrap_or(1.0))
                        })
                        .unwrap();
                    let value = if question["scored"] == false {
                        "yes"
                    } else {
                        best["value"].as_str().unwrap()
                    };
                    if let Ok(radio) = client.find(Locator::Id(&format!("{id}-{value}"))).await {
                        radio.click().await.unwrap();
                    }
                }
                "multiple_choice" => {
                    for option in question["options"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .filter(|option| option["score"].as_f64().unwrap_or(0.0) > 0.0)
                    {
                        if let Ok(checkbox) = client
                            .find(Locator::Id(&format!(
                                "{id}-{}",
                                option["value"].as_str().unwrap()
                            )))
                            .await
                        {
                            checkbox.click().await.unwrap();
                        }
                    }
                }
                "text" | "date" | "number" => {
                    if let Ok(field) = client.find(Locator::Id(id)).await {
                        let value = match question["type"].as_str().unwrap() {
                            "date" => "06/30/2026",
                            "number" => "4",
                            _ => "We keep written records of this.",
                        };
                        field.send_keys(value).await.unwrap();
                    }
                }
                _ => {}
            }
        }
    }
}

async fn upload_required_documents(
    client: &Client,
    app: &TestApp,
    link: &str,
    questionnaire: &Value,
) {
    let document = tempfile::Builder::new()
        .prefix("Business associate agreement ")
        .suffix(".pdf")
        .tempfile()
        .unwrap();
    std::fs::write(document.path(), b"%PDF-1.4 signed agreement").unwrap();
    for section in questionnaire["sections"].as_array().unwrap() {
        for question in section["questions"].as_array().unwrap() {
            let id = question["id"].as_str().unwrap();
            if question["evidence"] != "required" {
                continue;
            }
            let Ok(input) = client.find(Locator::Id(&format!("file-{id}"))).await else {
                continue;
            };
            input
                .send_keys(&document.path().display().to_string())
                .await
                .unwrap();
            let button = client
                .find(Locator::Css(&format!("#q-{id} form.upload button")))
                .await
                .unwrap();
            button.click().await.unwrap();
            client
                .wait()
                .for_element(Locator::Id("progress"))
                .await
                .unwrap();
            client.goto(&app.url(link)).await.unwrap();
        }
    }
}

async fn submit(client: &Client) {
    let button = client
        .find(Locator::XPath(
            "//button[normalize-space()='Submit answers']",
        ))
        .await
        .unwrap();
    button.click().await.unwrap();
    client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath(
            "//*[contains(., 'Your answers were submitted')]",
        ))
        .await
        .expect("the read-only copy appears");
}

#[tokio::test]
#[ignore = "needs TEST_WEBDRIVER_URL (chromedriver) and TEST_AXE_SCRIPT; run by .ci/run"]
async fn vendor_submits_without_javascript() {
    let app = app().await;
    let (tenant, link, assessment_id) = sent_lite(&app).await;
    let questionnaire: Value = app
        .api(&tenant.api_token)
        .get("/api/v1/questionnaires/healthcare-vendor-security-lite")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let client = browser(false).await;
    client.goto(&app.url(&link)).await.unwrap();
    check_page(&client, "vendor-questionnaire-no-js", false).await;

    // The steering question reveals more questions once saved.
    answer_shown_questions(&client, &questionnaire).await;
    client
        .find(Locator::Css("button[form='answers']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    client
        .wait()
        .for_element(Locator::XPath("//*[contains(., 'Your answers are saved')]"))
        .await
        .unwrap();
    answer_shown_questions(&client, &questionnaire).await;
    client
        .find(Locator::Css("button[form='answers']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    client
        .wait()
        .for_element(Locator::XPath("//*[contains(., 'Your answers are saved')]"))
        .await
        .unwrap();
    let progress = client
        .find(Locator::Id("progress-text"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(progress.ends_with("(100%)"), "{progress}");

    upload_required_documents(&client, &app, &link, &questionnaire).await;
    check_page(&client, "vendor-questionnaire-answered", false).await;
    submit(&client).await;
    check_page(&client, "vendor-submitted", false).await;
    client.close().await.unwrap();

    let fetched: Value = app
        .api(&tenant.api_token)
        .get(&format!("/api/v1/assessments/{assessment_id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(fetched["status"], "submitted");
}

#[tokio::test]
#[ignore = "needs TEST_WEBDRIVER_URL (chromedriver) and TEST_AXE_SCRIPT; run by .ci/run"]
async fn vendor_answers_autosave_with_javascript() {
    let app = app().await;
    let (tenant, link, assessment_id) = sent_lite(&app).await;
    let questionnaire: Value = app
        .api(&tenant.api_token)
        .get("/api/v1/questionnaires/healthcare-vendor-security-lite")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let client = browser(true).await;
    client.goto(&app.url(&link)).await.unwrap();
    check_page(&client, "vendor-questionnaire-js", true).await;

    // Answers save themselves shortly after a change; a reload shows them.
    client
        .find(Locator::Id("about-phi-yes"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath(
            "//*[@id='autosave-status' and contains(., 'All changes saved')]",
        ))
        .await
        .expect("autosave reports success");
    client.goto(&app.url(&link)).await.unwrap();
    let checked = client
        .find(Locator::Id("about-phi-yes"))
        .await
        .unwrap()
        .prop("checked")
        .await
        .unwrap();
    assert_eq!(
        checked.as_deref(),
        Some("true"),
        "the autosaved answer is stored"
    );

    // Answers can reveal follow-up questions, which appear after a reload.
    for _ in 0..3 {
        client
            .execute(
                "document.getElementById('autosave-status').textContent = ''",
                vec![],
            )
            .await
            .unwrap();
        answer_shown_questions(&client, &questionnaire).await;
        client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::XPath(
                "//*[@id='autosave-status' and contains(., 'All changes saved')]",
            ))
            .await
            .expect("autosave reports success");
        client.goto(&app.url(&link)).await.unwrap();
        let progress = client
            .find(Locator::Id("progress-text"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if progress.ends_with("(100%)") {
            break;
        }
    }
    let progress = client
        .find(Locator::Id("progress-text"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        progress.ends_with("(100%)"),
        "the progress figure follows the autosaves: {progress}"
    );
    upload_required_documents(&client, &app, &link, &questionnaire).await;
    check_page(&client, "vendor-questionnaire-answered-js", true).await;
    submit(&client).await;
    check_page(&client, "vendor-submitted-js", true).await;
    client.close().await.unwrap();

    let fetched: Value = app
        .api(&tenant.api_token)
        .get(&format!("/api/v1/assessments/{assessment_id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(fetched["status"], "submitted");
}

#[tokio::test]
#[ignore = "needs TEST_WEBDRIVER_URL (chromedriver) and TEST_AXE_SCRIPT; run by .ci/run"]
async fn analyst_signs_in_reviews_and_completes() {
    let app = app().await;
    let (tenant, link, assessment_id) = sent_lite(&app).await;
    let questionnaire: Value = app
        .api(&tenant.api_token)
        .get("/api/v1/questionnaires/healthcare-vendor-security-lite")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let fields = crate::workflow::answer_everything(&questionnaire, &["access-mfa"]);
    let vendor = crate::helpers::client();
    assert_eq!(
        vendor
            .post(app.url(&link))
            .form(&fields)
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
    let form = reqwest::multipart::Form::new()
        .text("question_id", "data-baa")
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"agreement".to_vec()).file_name("baa.pdf"),
        );
    assert_eq!(
        vendor
            .post(app.url(&format!("{link}/evidence")))
            .multipart(form)
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
    assert_eq!(
        vendor
            .post(app.url(&format!("{link}/submit")))
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
    // The administrator chose a password through the login link; the analyst signs in with it.
    app.accept_link(&tenant.admin_login_url, "correct horse battery staple")
        .await;

    let client = browser(true).await;
    client.goto(&app.url("/sign-in")).await.unwrap();
    check_page(&client, "sign-in", true).await;
    sign_in(&app, &client, "admin@mercy.example.org").await;
    client
        .wait()
        .for_element(Locator::Css("nav[aria-label='Main']"))
        .await
        .unwrap();
    check_page(&client, "staff-home", true).await;

    client
        .goto(&app.url(&format!("/assessments/{assessment_id}")))
        .await
        .unwrap();
    check_page(&client, "assessment-review", true).await;
    client
        .find(Locator::XPath(
            "//button[starts-with(normalize-space(), 'Accept')]",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    client
        .wait()
        .for_element(Locator::XPath("//*[contains(., 'Accepted')]"))
        .await
        .unwrap();
    client
        .find(Locator::XPath(
            "//button[starts-with(normalize-space(), 'Complete review')]",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    client
        .wait()
        .for_element(Locator::XPath(
            "//*[@id='status' and normalize-space()='Completed']",
        ))
        .await
        .expect("the review completes");
    check_page(&client, "assessment-completed", true).await;

    client.goto(&app.url("/risks")).await.unwrap();
    check_page(&client, "risk-register", true).await;
    let register = client.source().await.unwrap();
    assert!(
        register.contains("multi-factor") || register.contains("second"),
        "the failed MFA question is in the register"
    );
    for path in [
        "/vendors",
        "/assessments",
        "/questionnaires",
        "/admin/users",
        "/admin/jobs",
        "/admin/settings",
        "/tracker",
        "/metrics/cycle-time",
    ] {
        client.goto(&app.url(path)).await.unwrap();
        check_page(&client, &format!("staff{}", path.replace('/', "-")), true).await;
    }
    client.close().await.unwrap();
}

/// Signs the tenant's administrator in through the sign-in form.
async fn sign_in(app: &TestApp, client: &Client, email: &str) {
    client.goto(&app.url("/sign-in")).await.unwrap();
    client
        .find(Locator::Id("email"))
        .await
        .unwrap()
        .send_keys(email)
        .await
        .unwrap();
    client
        .find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys("correct horse battery staple")
        .await
        .unwrap();
    client
        .find(Locator::Css("form[action='/sign-in'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    client
        .wait()
        .for_element(Locator::Css("form[action='/sign-out']"))
        .await
        .expect("the sign-in succeeds");
}

/// Reads `[data-label][data-series]` elements as (label, series) → text or `data-value`.
async fn figures(
    client: &Client,
    css: &str,
    from_attribute: bool,
) -> Vec<(String, String, String)> {
    let mut found = Vec::new();
    for element in client.find_all(Locator::Css(css)).await.unwrap() {
        let label = element
            .attr("data-label")
            .await
            .unwrap()
            .unwrap_or_default();
        let series = element
            .attr("data-series")
            .await
            .unwrap()
            .unwrap_or_default();
        let value = if from_attribute {
            element
                .attr("data-value")
                .await
                .unwrap()
                .unwrap_or_default()
        } else {
            let text = element.text().await.unwrap();
            if text.trim() == "—" {
                String::new()
            } else {
                text.trim().to_owned()
            }
        };
        found.push((label, series, value));
    }
    found.sort();
    found
}

#[tokio::test]
#[ignore = "needs TEST_WEBDRIVER_URL (chromedriver) and TEST_AXE_SCRIPT; run by .ci/run"]
async fn cycle_time_chart_and_table_agree() {
    let app = crate::metrics::app().await;
    let (tenant, _) = app
        .tenant_with_admin("Mercy Health", "admin@mercy.example.org")
        .await;
    let api = app.api(&tenant.api_token);
    crate::schedule::configure(&api, json!({ "time_zone": "America/New_York" })).await;
    let zone: chrono_tz::Tz = "America/New_York".parse().unwrap();
    for case in crate::metrics::NEW_YORK_MARCH {
        crate::metrics::build(&app, &api, zone, case, false).await;
    }
    let client = browser(true).await;
    sign_in(&app, &client, "admin@mercy.example.org").await;
    client
        .goto(&app.url("/metrics/cycle-time?from=2027-01-01&to=2027-04-30"))
        .await
        .unwrap();
    check_page(&client, "cycle-time-dashboard", true).await;

    let bars = figures(&client, "#tier-chart rect.bar", true).await;
    let cells = figures(&client, "#by-tier td[data-series]", false).await;
    assert_eq!(
        bars.len(),
        8,
        "a median and a 90th-percentile bar per tier: {bars:?}"
    );
    assert_eq!(bars, cells, "tier chart and table");
    assert!(
        bars.contains(&("Critical".into(), "median".into(), "18".into())),
        "{bars:?}"
    );

    let bars = figures(&client, "#month-chart rect.bar", true).await;
    let cells = figures(&client, "#by-month td[data-series]", false).await;
    assert_eq!(bars.len(), 4, "one bar per month: {bars:?}");
    assert_eq!(bars, cells, "month chart and table");
    assert!(
        bars.contains(&("2027-03".into(), "median".into(), "20".into())),
        "{bars:?}"
    );

    // Taller bars stand for longer times.
    let heights = client
        .execute(
            "return [...document.querySelectorAll('#month-chart rect.bar')].map(r => [r.dataset.value, r.getBBox().height]);",
            vec![],
        )
        .await
        .unwrap();
    let heights: Vec<(String, f64)> = serde_json::from_value(heights).unwrap();
    let mut by_value: Vec<(f64, f64)> = heights
        .iter()
        .filter(|(value, _)| !value.is_empty())
        .map(|(value, height)| (value.parse().unwrap(), *height))
        .collect();
    by_value.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
    assert!(
        by_value.windows(2).all(|pair| pair[0].1 <= pair[1].1),
        "{by_value:?}"
    );
    client.close().await.unwrap();
}
