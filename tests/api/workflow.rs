//! The assessment workflow end to end: send, answer through the e-mailed link, upload evidence,
//! submit, clarify, review, complete, and read the risk register.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{TestApp, link_in_email, spawn_app_with};

const EVIDENCE_LIMIT: u64 = 1024 * 1024;

async fn app() -> TestApp {
    spawn_app_with(|config| {
        config.run_worker = false;
        config.evidence_max_bytes = EVIDENCE_LIMIT;
    })
    .await
}

pub async fn run_jobs(app: &TestApp) -> portal::jobs::Sweep {
    portal::jobs::run_due(&app.state).await.expect("jobs run")
}

/// Imports two vendors and returns the id of the critical one.
async fn import_vendors(app: &TestApp, token: &str) -> String {
    let csv = "name,contact_name,contact_email,phi_access,system_integration\n\
               \"Northwind EHR, Inc.\",\"O'Brien, Siobhán\",siobhan@northwind.example.com,bulk,yes\n\
               Greenway Cleaning,Tom Becker,tom@greenway.example.com,none,no\n";
    let response = app
        .api(token)
        .post("/api/v1/vendors/import")
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let vendors: Value = app
        .api(token)
        .get("/api/v1/vendors?sort=tier")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(vendors["data"][0]["tier"], "critical");
    vendors["data"][0]["id"].as_str().unwrap().to_owned()
}

async fn send_full(app: &TestApp, token: &str, vendor_id: &str) -> Value {
    let response = app
        .api(token)
        .post("/api/v1/assessments")
        .json(&json!({ "vendor_id": vendor_id, "questionnaire": "healthcare-vendor-security", "due_date": "2099-01-31" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

/// Returns the path of the vendor link in the newest e-mail.
pub fn vendor_link(app: &TestApp) -> String {
    let mail = app.outbox();
    let newest = mail.last().expect("an e-mail was written");
    let link = link_in_email(newest, &app.url("/a/"));
    link.trim_start_matches(&app.address).to_owned()
}

/// Builds form fields that answer every question: the best option everywhere except
/// `failing`, which gets its worst option.
pub fn answer_everything(questionnaire: &Value, failing: &[&str]) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    for section in questionnaire["sections"].as_array().unwrap() {
        for question in section["questions"].as_array().unwrap() {
            let id = question["id"].as_str().unwrap().to_owned();
            let options = question["options"].as_array().unwrap();
            let score = |option: &Value| option["score"].as_f64().unwrap_or(-1.0);
            match question["type"].as_str().unwrap() {
                "yes_no" | "single_choice" => {
                    let choice = if failing.contains(&id.as_str()) && question["scored"] != false {
                        options
                            .iter()
                            .filter(|option| !option["score"].is_null())
                            .min_by(|a, b| score(a).total_cmp(&score(b)))
                    } else if question["scored"] == false {
                        // Steering questions: choose the answer that shows the most follow-ups.
                        options
                            .iter()
                            .find(|option| {
                                ["yes", "store"].contains(&option["value"].as_str().unwrap())
                            })
                            .or(options.first())
                    } else {
                        options.iter().max_by(|a, b| score(a).total_cmp(&score(b)))
                    };
                    fields.push((id, choice.unwrap()["value"].as_str().unwrap().to_owned()));
                }
                "multiple_choice" => {
                    for option in options.iter().filter(|option| score(option) > 0.0) {
                        fields.push((id.clone(), option["value"].as_str().unwrap().to_owned()));
                    }
                }
                "text" => fields.push((
                    id,
                    "We keep a written record of this; ask us for details.".to_owned(),
                )),
                "date" => fields.push((id, "2026-06-30".to_owned())),
                "number" => fields.push((id, "4".to_owned())),
                other => panic!("unexpected type {other}"),
            }
        }
    }
    fields
}

async fn upload(
    client: &reqwest::Client,
    url: &str,
    question_id: Option<&str>,
    name: &str,
    bytes: Vec<u8>,
) -> reqwest::Response {
    let mut form = reqwest::multipart::Form::new();
    if let Some(question_id) = question_id {
        form = form.text("question_id", question_id.to_owned());
    }
    form = form.text("expires_on", "2099-12-31").part(
        "file",
        reqwest::multipart::Part::bytes(bytes)
            .file_name(name.to_owned())
            .mime_str("application/pdf")
            .unwrap(),
    );
    client.post(url).multipart(form).send().await.unwrap()
}

#[tokio::test]
async fn whole_flow_from_send_to_risk_register() {
    let app = app().await;
    let (tenant, admin) = app
        .tenant_with_admin("Mercy General", "admin@mercy.example.org")
        .await;
    let api = app.api(&tenant.api_token);
    let vendor_id = import_vendors(&app, &tenant.api_token).await;

    // Send: one e-mail per contact, with a personal link.
    let created = send_full(&app, &tenant.api_token, &vendor_id).await;
    let assessment_id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["status"], "sent");
    assert!(
        app.outbox().is_empty(),
        "e-mail goes out through the job worker"
    );
    assert_eq!(run_jobs(&app).await.done, 1);
    let mail = app.outbox();
    assert_eq!(mail.len(), 1);
    assert!(mail[0].contains("Mercy General"), "{}", mail[0]);
    let link = vendor_link(&app);

    // Opening the link, as a mail scanner would, changes nothing.
    let vendor = crate::helpers::client();
    for _ in 0..2 {
        assert_eq!(
            vendor.head(app.url(&link)).send().await.unwrap().status(),
            200
        );
        let page = vendor.get(app.url(&link)).send().await.unwrap();
        assert_eq!(page.status(), 200);
        assert!(page.text().await.unwrap().contains("form=\"answers\""));
    }
    let fetched: Value = api
        .get(&format!("/api/v1/assessments/{assessment_id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(fetched["status"], "sent");

    // Answer every question through the form fields, with two deliberate gaps.
    let questionnaire: Value = api
        .get("/api/v1/questionnaires/healthcare-vendor-security")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let failing = ["access-mfa-remote", "gov-insurance"];
    let fields = answer_everything(&questionnaire, &failing);
    let saved = vendor
        .post(app.url(&link))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(
        saved.status(),
        303,
        "{}",
        saved.text().await.unwrap_or_default()
    );
    let page = vendor
        .get(app.url(&link))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("questions answered (100%)"),
        "every shown question is answered"
    );

    // Submitting before the required documents are attached lists what is missing.
    let early = vendor
        .post(app.url(&format!("{link}/submit")))
        .send()
        .await
        .unwrap();
    assert_eq!(early.status(), 422);
    let missing = early.text().await.unwrap();
    assert!(missing.contains("needs a document attached"), "{missing}");

    // Evidence: a non-ASCII name, an empty file, and one above the limit.
    let empty = upload(
        &vendor,
        &app.url(&format!("{link}/evidence")),
        Some("gov-audit"),
        "empty.pdf",
        Vec::new(),
    )
    .await;
    assert_eq!(empty.status(), 422);
    assert!(empty.text().await.unwrap().contains("is empty (0 bytes)"));
    let big = upload(
        &vendor,
        &app.url(&format!("{link}/evidence")),
        Some("gov-audit"),
        "big.pdf",
        vec![7; EVIDENCE_LIMIT as usize + 1],
    )
    .await;
    assert_eq!(big.status(), 413);
    assert!(big.text().await.unwrap().contains("limit of 1 MiB"));
    assert_eq!(
        app.evidence_keys().await.len(),
        0,
        "rejected uploads leave no object"
    );

    let required: Vec<String> = questionnaire["sections"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|section| section["questions"].as_array().unwrap().clone())
        .filter(|question| {
            question["evidence"] == "required"
                && !failing.contains(&question["id"].as_str().unwrap())
        })
        .map(|question| question["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(required.len() >= 5);
    let report_name = "Prüfbericht 2026 – SOC 2 (final).pdf";
    let report_bytes = b"%PDF-1.4 pretend report".to_vec();
    for question in &required {
        let name = if question == "gov-audit" {
            report_name
        } else {
            "evidence"
        };
        let response = upload(
            &vendor,
            &app.url(&format!("{link}/evidence")),
            Some(question),
            name,
            report_bytes.clone(),
        )
        .await;
        assert_eq!(
            response.status(),
            303,
            "{question}: {}",
            response.text().await.unwrap_or_default()
        );
    }
    assert_eq!(app.evidence_keys().await.len(), required.len());

    // Submit twice, as a double click would: one submission.
    for _ in 0..2 {
        let response = vendor
            .post(app.url(&format!("{link}/submit")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303);
    }
    let fetched: Value = api
        .get(&format!("/api/v1/assessments/{assessment_id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(fetched["status"], "submitted");
    let submissions = fetched["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| event["to"] == "submitted")
        .count();
    assert_eq!(submissions, 1);
    let read_only = vendor
        .get(app.url(&link))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(read_only.contains("Your answers were submitted"));
    assert!(
        !read_only.contains("form=\"answers\""),
        "the submitted copy is read-only"
    );
    let late = vendor
        .post(app.url(&link))
        .form(&[("gov-policy", "no")])
        .send()
        .await
        .unwrap();
    assert_eq!(late.status(), 409, "answers cannot change after submission");

    // The analyst downloads the report with its Unicode name intact.
    let files: Vec<portal::store::assessments::evidence::EvidenceFile> =
        portal::store::assessments::evidence::list(
            app.state.db().reader(),
            tenant.tenant_id.parse().unwrap(),
            assessment_id.parse().unwrap(),
        )
        .await
        .unwrap();
    let report = files
        .iter()
        .find(|file| file.file_name == report_name)
        .expect("the report is stored under its own name");
    assert_eq!(report.sha256, hex::encode(Sha256::digest(&report_bytes)));
    let download = admin
        .get(app.url(&format!(
            "/assessments/{assessment_id}/evidence/{}",
            report.id
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), 200);
    let disposition = download.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        disposition.contains(
            "filename*=UTF-8''Pr%C3%BCfbericht%202026%20%E2%80%93%20SOC%202%20%28final%29.pdf"
        ),
        "{disposition}"
    );
    assert_eq!(download.bytes().await.unwrap().to_vec(), report_bytes);
    let by_vendor = vendor
        .get(app.url(&format!("{link}/evidence/{}", report.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(by_vendor.status(), 200);

    // The analyst asks for clarification; the vendor gets an e-mail and answers.
    let page = format!("/assessments/{assessment_id}");
    let csrf = app.csrf(&admin, &page).await;
    let asked = admin
        .post(app.url(&format!("{page}/clarifications")))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("question_id", "gov-insurance"),
            (
                "request",
                "Which insurer covers you, and up to what amount?",
            ),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status(), 303);
    let sent = admin
        .post(app.url(&format!("{page}/clarifications/send")))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 303);
    run_jobs(&app).await;
    let mail = app.outbox();
    let clarification_mail = mail
        .iter()
        .find(|message| message.contains("Which insurer covers you"))
        .expect("clarification e-mail");
    let clarify_link = link_in_email(clarification_mail, &app.url("/a/"))
        .trim_start_matches(&app.address)
        .to_owned();
    let clarify_page = vendor
        .get(app.url(&clarify_link))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(clarify_page.contains("Which insurer covers you"));
    let clarification_id = clarify_page
        .split("/clarifications/")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let early = vendor
        .post(app.url(&format!("{clarify_link}/submit")))
        .send()
        .await
        .unwrap();
    assert_eq!(early.status(), 409, "every request needs a reply first");
    let replied = vendor
        .post(app.url(&format!("{clarify_link}/clarifications/{clarification_id}")))
        .form(&[(
            "response",
            "We are buying a policy this quarter and will send the certificate.",
        )])
        .send()
        .await
        .unwrap();
    assert_eq!(replied.status(), 303);
    assert_eq!(
        vendor
            .post(app.url(&format!("{clarify_link}/submit")))
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
    let fetched: Value = api
        .get(&format!("/api/v1/assessments/{assessment_id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(fetched["status"], "in_review");

    // The analyst accepts the report, overrides one score and completes the review.
    let csrf = app.csrf(&admin, &page).await;
    let accepted = admin
        .post(app.url(&format!("{page}/evidence/{}/review", report.id)))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("decision", "accept"),
            ("note", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 303);
    let overridden = admin
        .post(app.url(&format!("{page}/questions/gov-insurance/override")))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("score", "20"),
            (
                "rationale",
                "No policy yet; the vendor plans to buy one this quarter.",
            ),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(overridden.status(), 303);
    let completed = admin
        .post(app.url(&format!("{page}/complete")))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(completed.status(), 303);

    let fetched: Value = api
        .get(&format!("/api/v1/assessments/{assessment_id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(fetched["status"], "completed");
    let statuses: Vec<&str> = fetched["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["to"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        [
            "draft",
            "sent",
            "in_progress",
            "submitted",
            "in_review",
            "clarification_requested",
            "in_review",
            "completed"
        ]
    );
    assert!(
        fetched["history"]
            .as_array()
            .unwrap()
            .iter()
            .all(|event| event["at"].is_string())
    );
    let overall = fetched["scores"]["overall"]["score"].as_f64().unwrap();
    assert!(overall > 80.0 && overall < 100.0, "{overall}");

    // The register lists both gaps, each with its trace.
    let risks: Value = api
        .get("/api/v1/risks")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let entries = risks["data"].as_array().unwrap();
    let questions: Vec<&str> = entries
        .iter()
        .map(|risk| risk["question_id"].as_str().unwrap())
        .collect();
    assert!(questions.contains(&"access-mfa-remote"), "{questions:?}");
    assert!(questions.contains(&"gov-insurance"), "{questions:?}");
    let mfa = entries
        .iter()
        .find(|risk| risk["question_id"] == "access-mfa-remote")
        .unwrap();
    assert_eq!(mfa["impact"], 5, "critical vendor");
    assert_eq!(mfa["likelihood"], 5, "scored 0");
    assert_eq!(mfa["residual_level"], "critical");
    assert_eq!(mfa["trace"]["questionnaire"]["version"], 1);
    assert_eq!(mfa["trace"]["answer"]["value"], "No");
    assert!(
        mfa["trace"]["reason"]
            .as_str()
            .unwrap()
            .contains("Critical question")
    );
    assert!(!mfa["trace"]["controls"].as_array().unwrap().is_empty());
    let insurance = entries
        .iter()
        .find(|risk| risk["question_id"] == "gov-insurance")
        .unwrap();
    assert_eq!(
        insurance["trace"]["score"]["override"]["rationale"],
        "No policy yet; the vendor plans to buy one this quarter."
    );
    assert_eq!(insurance["trace"]["score"]["effective"], 0.2);

    let csv = api
        .get("/api/v1/risks")
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let body = csv.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    assert_eq!(reader.headers().unwrap().get(0), Some("id"));
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), entries.len());
    assert!(
        rows.iter()
            .any(|row| row.get(1) == Some("Northwind EHR, Inc.")),
        "commas survive quoting"
    );

    // Staff pages of the review and the register render.
    for path in [
        page.clone(),
        "/assessments".to_owned(),
        "/risks".to_owned(),
        format!("/risks/{}", mfa["id"].as_str().unwrap()),
    ] {
        assert_eq!(
            admin.get(app.url(&path)).send().await.unwrap().status(),
            200,
            "{path}"
        );
    }
}

#[tokio::test]
async fn email_encodes_names_and_escapes_html_once() {
    let app = app().await;
    let tenant = app
        .create_tenant("St. Anne's Hospital & Clinics", "admin@stanne.example.org")
        .await;
    let vendor_id = import_vendors(&app, &tenant.api_token).await;
    send_full(&app, &tenant.api_token, &vendor_id).await;
    run_jobs(&app).await;
    let raw = app.outbox().pop().unwrap();
    let message = mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .expect("a MIME message");
    let to = message.to().unwrap().first().unwrap();
    assert_eq!(to.name(), Some("O'Brien, Siobhán"));
    assert_eq!(to.address(), Some("siobhan@northwind.example.com"));
    assert!(
        message
            .subject()
            .unwrap()
            .contains("St. Anne's Hospital & Clinics")
    );
    let text = message.body_text(0).unwrap();
    assert!(text.contains("St. Anne's Hospital & Clinics"), "{text}");
    let html = message.body_html(0).unwrap();
    assert!(
        html.contains("St. Anne&#x27;s Hospital &amp; Clinics"),
        "{html}"
    );
    assert!(
        !html.contains("&amp;amp;") && !html.contains("&amp;#x27;"),
        "escaped exactly once"
    );
    assert!(text.contains(&app.url("/a/")), "the link uses the base URL");
}

#[tokio::test]
async fn saves_of_same_question_conflict_visibly() {
    let app = app().await;
    let tenant = app
        .create_tenant("Mercy General", "admin@mercy.example.org")
        .await;
    let vendor_id = import_vendors(&app, &tenant.api_token).await;
    send_full(&app, &tenant.api_token, &vendor_id).await;
    run_jobs(&app).await;
    let link = vendor_link(&app);
    let first = crate::helpers::client();
    let second = crate::helpers::client();
    let page = first
        .get(app.url(&link))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let version = |html: &str, id: &str| -> String {
        let marker = format!("name=\"v.{id}\" value=\"");
        let start = html.find(&marker).unwrap() + marker.len();
        html[start..].split('"').next().unwrap().to_owned()
    };
    let policy_version = version(&page, "gov-policy");
    let owner_version = version(&page, "gov-owner");

    // Two contacts save different questions from pages opened at the same time: both stay.
    let saved = first
        .post(app.url(&link))
        .form(&[
            ("gov-policy", "yes"),
            ("v.gov-policy", policy_version.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 303);
    let saved = second
        .post(app.url(&link))
        .form(&[
            ("gov-owner", "yes"),
            ("v.gov-owner", owner_version.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 303);

    // The second contact then changes the first one's question from the stale page: refused.
    let stale = second
        .post(app.url(&link))
        .form(&[
            ("gov-policy", "no"),
            ("v.gov-policy", policy_version.as_str()),
            ("gov-owner", "yes"),
            ("v.gov-owner", owner_version.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 422);
    let html = stale.text().await.unwrap();
    assert!(
        html.contains("Someone else saved this question after you opened the page"),
        "{html}"
    );
    assert!(
        html.contains("The answer now stored is &quot;Yes&quot;"),
        "{html}"
    );

    let page = first
        .get(app.url(&link))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("id=\"gov-policy-yes\" name=\"gov-policy\" value=\"yes\" checked"),
        "the first answer stands"
    );
    assert!(page.contains("id=\"gov-owner-yes\" name=\"gov-owner\" value=\"yes\" checked"));

    // Invalid values are reported next to the question and valid ones in the same save are kept.
    let mixed = first
        .post(app.url(&link))
        .form(&[
            ("bc-recovery-hours", "soon"),
            ("gov-risk-assessment", "partial"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(mixed.status(), 422);
    assert!(
        mixed
            .text()
            .await
            .unwrap()
            .contains("&quot;soon&quot; is not a number")
    );
    let page = first
        .get(app.url(&link))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(
        "id=\"gov-risk-assessment-partial\" name=\"gov-risk-assessment\" value=\"partial\" checked"
    ));
}

#[tokio::test]
async fn links_expire_and_can_be_revoked_and_resent() {
    let app = app().await;
    let (tenant, admin) = app
        .tenant_with_admin("Mercy General", "admin@mercy.example.org")
        .await;
    let vendor_id = import_vendors(&app, &tenant.api_token).await;
    let created = send_full(&app, &tenant.api_token, &vendor_id).await;
    let assessment_id = created["id"].as_str().unwrap();
    run_jobs(&app).await;
    let link = vendor_link(&app);
    let vendor = crate::helpers::client();
    assert_eq!(
        vendor.get(app.url(&link)).send().await.unwrap().status(),
        200
    );

    let unknown = vendor
        .get(app.url("/a/not-a-real-link"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    assert!(
        unknown
            .text()
            .await
            .unwrap()
            .contains("This link is not valid")
    );

    // Revoke the contact's links, then resend a new one.
    let contact_id = created["contacts"][0]["contact_id"].as_str().unwrap();
    let page = format!("/assessments/{assessment_id}");
    let csrf = app.csrf(&admin, &page).await;
    let revoked = admin
        .post(app.url(&format!("{page}/contacts/{contact_id}/revoke")))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 303);
    let gone = vendor.get(app.url(&link)).send().await.unwrap();
    assert_eq!(gone.status(), 410);
    assert!(
        gone.text()
            .await
            .unwrap()
            .contains("Ask your contact at Mercy General to send you a new link")
    );

    let resent = admin
        .post(app.url(&format!("{page}/contacts/{contact_id}/resend")))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resent.status(), 303);
    run_jobs(&app).await;
    let new_link = vendor_link(&app);
    assert_ne!(new_link, link);
    assert_eq!(
        vendor
            .get(app.url(&new_link))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // Links stop working 30 days after the due date (2099-01-31 here): open at the last
    // microsecond, closed at the boundary.
    let boundary = chrono::NaiveDate::from_ymd_opt(2099, 3, 3)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    app.clock.set(boundary - chrono::TimeDelta::microseconds(1));
    assert_eq!(
        vendor
            .get(app.url(&new_link))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    app.clock.set(boundary);
    assert_eq!(
        vendor
            .get(app.url(&new_link))
            .send()
            .await
            .unwrap()
            .status(),
        410
    );
}

#[tokio::test]
async fn failed_send_is_retried_and_shown_to_staff() {
    let app = spawn_app_with(|config| {
        config.run_worker = false;
        // Nothing listens on port 9 of the loopback address, so every send fails at once.
        config.smtp_url = Some(portal::config::Secret::new("smtp://127.0.0.1:9"));
    })
    .await;
    let (tenant, admin) = app
        .tenant_with_admin("Mercy General", "admin@mercy.example.org")
        .await;
    let vendor_id = import_vendors(&app, &tenant.api_token).await;
    let created = send_full(&app, &tenant.api_token, &vendor_id).await;
    let sweep = run_jobs(&app).await;
    assert_eq!(sweep.retried, 1);
    let tenant_id = tenant.tenant_id.parse().unwrap();
    let jobs = portal::store::jobs::list(app.state.db().reader(), tenant_id, None, 10)
        .await
        .unwrap();
    assert_eq!(jobs[0].status, "queued");
    assert!(
        jobs[0].last_error.as_deref().unwrap().contains("SMTP"),
        "{:?}",
        jobs[0].last_error
    );
    assert_eq!(
        run_jobs(&app).await,
        portal::jobs::Sweep::default(),
        "the retry waits for its backoff"
    );

    use sea_orm::EntityTrait;
    let live = portal::store::entities::access_link::Entity::find()
        .all(app.state.db().reader())
        .await
        .unwrap()
        .into_iter()
        .filter(|link| link.revoked_at.is_none())
        .count();
    assert_eq!(live, 0, "a link whose e-mail failed is revoked");

    let page = admin
        .get(app.url(&format!("/assessments/{}", created["id"].as_str().unwrap())))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("E-mail not sent yet"),
        "staff see the failure"
    );

    // After the last attempt the job waits for an administrator, who can retry it.
    for _ in 0..10 {
        app.clock.advance(chrono::TimeDelta::hours(5));
        run_jobs(&app).await;
        // Keep the administrator's session alive across the simulated hours.
        admin.get(app.url("/")).send().await.unwrap();
    }
    let jobs = portal::store::jobs::list(app.state.db().reader(), tenant_id, None, 10)
        .await
        .unwrap();
    assert_eq!(jobs[0].status, "failed");
    assert_eq!(jobs[0].attempts, portal::store::jobs::DEFAULT_MAX_ATTEMPTS);
    let listed = admin
        .get(app.url("/admin/jobs?status=failed"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        listed.contains("The SMTP server did not accept the message"),
        "{listed}"
    );
    let csrf = app.csrf(&admin, "/admin/jobs").await;
    let retried = admin
        .post(app.url(&format!("/admin/jobs/{}/retry", jobs[0].id)))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(retried.status(), 303);
    let jobs = portal::store::jobs::list(app.state.db().reader(), tenant_id, None, 10)
        .await
        .unwrap();
    assert_eq!(jobs[0].status, "queued");
    assert_eq!(run_jobs(&app).await.retried, 1, "it runs again at once");
}

/// Returns the first risk of a tenant after a lite assessment answered as badly as possible.
async fn tenant_with_risk(app: &TestApp) -> (crate::helpers::TestTenant, reqwest::Client, Value) {
    let (tenant, admin) = app
        .tenant_with_admin("Mercy General", "admin@mercy.example.org")
        .await;
    let api = app.api(&tenant.api_token);
    let vendor_id = import_vendors(app, &tenant.api_token).await;
    let created: Value = api
        .post("/api/v1/assessments")
        .json(&json!({ "vendor_id": vendor_id, "questionnaire": "healthcare-vendor-security-lite", "due_date": "2099-01-31" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
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
    let ids: Vec<String> = questionnaire["sections"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|section| {
            section["questions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|question| question["id"].as_str().unwrap().to_owned())
        })
        .collect();
    let failing: Vec<&str> = ids.iter().map(String::as_str).collect();
    let vendor = crate::helpers::client();
    vendor
        .post(app.url(&link))
        .form(&answer_everything(&questionnaire, &failing))
        .send()
        .await
        .unwrap();
    assert_eq!(
        vendor
            .post(app.url(&format!("{link}/submit")))
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
    let page = format!("/assessments/{}", created["id"].as_str().unwrap());
    let csrf = app.csrf(&admin, &page).await;
    admin
        .post(app.url(&format!("{page}/complete")))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    let risks: Value = api
        .get("/api/v1/risks")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (tenant, admin, risks["data"][0].clone())
}

#[tokio::test]
async fn risk_edits_need_approval_and_are_audited() {
    let app = app().await;
    let (tenant, admin, risk) = tenant_with_risk(&app).await;
    let path = format!("/risks/{}", risk["id"].as_str().unwrap());
    let csrf = app.csrf(&admin, &path).await;
    let users =
        portal::store::users::list(app.state.db().reader(), tenant.tenant_id.parse().unwrap())
            .await
            .unwrap();
    let owner = users[0].id.to_string();
    let base = [
        ("csrf_token", csrf.as_str()),
        ("status", "accepted"),
        ("owner_id", owner.as_str()),
        ("treatment", "accept"),
        ("due_on", "2099-06-30"),
        ("residual_likelihood", "2"),
        ("residual_impact", "3"),
        (
            "compensating_controls",
            "The vendor reaches only a test system.",
        ),
        ("exception_expires_on", "2099-12-31"),
    ];
    let unapproved = admin.post(app.url(&path)).form(&base).send().await.unwrap();
    assert_eq!(unapproved.status(), 422);
    assert!(
        unapproved
            .text()
            .await
            .unwrap()
            .contains("needs the approver")
    );

    let mut approved = base.to_vec();
    approved.push((
        "approval_rationale",
        "Accepted until the vendor moves to the new platform.",
    ));
    assert_eq!(
        admin
            .post(app.url(&path))
            .form(&approved)
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
    let updated: Value = app
        .api(&tenant.api_token)
        .get(&format!("/api/v1/{}", path.trim_start_matches('/')))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(updated["status"], "accepted");
    assert_eq!(updated["treatment"], "accept");
    assert_eq!(updated["residual_rating"], 6);
    assert_eq!(updated["residual_level"], "medium");
    assert_eq!(
        updated["inherent_rating"], risk["inherent_rating"],
        "the inherent rating is kept"
    );
    assert_eq!(updated["owner_user_id"], owner.as_str());
    assert!(updated["approved_at"].is_string());
    let page = admin
        .get(app.url(&path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Risk updated"));
    assert!(page.contains("status: open → accepted"), "{page}");

    let filtered: Value = app
        .api(&tenant.api_token)
        .get(&format!(
            "/api/v1/risks?status=accepted&owner_id={owner}&level=medium"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(filtered["data"].as_array().unwrap().len(), 1);
    let none: Value = app
        .api(&tenant.api_token)
        .get("/api/v1/risks?level=critical&status=accepted")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(none["data"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn register_pages_follow_keyset_cursor() {
    let app = app().await;
    let (tenant, _admin, _risk) = tenant_with_risk(&app).await;
    let api = app.api(&tenant.api_token);
    let all: Value = api
        .get("/api/v1/risks?limit=1000")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let total = all["data"].as_array().unwrap().len();
    assert!(total >= 3, "{total}");
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            Some(cursor) => format!("/api/v1/risks?limit=2&after={cursor}"),
            None => "/api/v1/risks?limit=2".to_owned(),
        };
        let page: Value = api.get(&path).send().await.unwrap().json().await.unwrap();
        seen.extend(
            page["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|risk| risk["id"].as_str().unwrap().to_owned()),
        );
        match page["next"].as_str() {
            Some(next) => after = Some(next.to_owned()),
            None => break,
        }
    }
    let expected: Vec<String> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|risk| risk["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(seen, expected, "pages neither overlap nor skip");
    let ratings: Vec<i64> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|risk| risk["residual_rating"].as_i64().unwrap())
        .collect();
    assert!(
        ratings.windows(2).all(|pair| pair[0] >= pair[1]),
        "most severe first: {ratings:?}"
    );
    assert_eq!(
        api.get("/api/v1/risks?after=garbage")
            .send()
            .await
            .unwrap()
            .status(),
        422
    );
}

#[tokio::test]
async fn background_worker_sends_without_help() {
    let app = crate::helpers::spawn_app().await;
    let tenant = app
        .create_tenant("Mercy General", "admin@mercy.example.org")
        .await;
    let vendor_id = import_vendors(&app, &tenant.api_token).await;
    send_full(&app, &tenant.api_token, &vendor_id).await;
    // The request wakes the worker, so the e-mail is written within moments; wait at most 10 s.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while app.outbox().is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(app.outbox().len(), 1, "the worker sent the invitation");
}
