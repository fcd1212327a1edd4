//! Reassessment: answers carried forward from the vendor's last completed assessment, which the
//! vendor confirms or changes before submitting, and the analyst's view of what changed.

use chrono::{NaiveDate, TimeDelta};
use serde_json::{Value, json};

use crate::helpers::{TestApp, link_in_email, spawn_app_with};
use crate::workflow::{answer_everything, run_jobs, vendor_link};

const QUESTIONNAIRE: &str = "healthcare-vendor-security-lite";
const ADMIN_EMAIL: &str = "admin@mercy.example.org";
/// The password `tenant_with_admin` chooses.
const ADMIN_PASSWORD: &str = "correct horse battery staple";

async fn app() -> TestApp {
    spawn_app_with(|config| config.run_worker = false).await
}

async fn send(app: &TestApp, token: &str, vendor_id: &str) -> Value {
    let response = app
        .api(token)
        .post("/api/v1/assessments")
        .json(&json!({ "vendor_id": vendor_id, "questionnaire": QUESTIONNAIRE, "due_date": "2099-01-31" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

async fn upload(
    app: &TestApp,
    vendor: &reqwest::Client,
    link: &str,
    question_id: &str,
    name: &str,
    expires_on: NaiveDate,
) {
    let form = reqwest::multipart::Form::new()
        .text("question_id", question_id.to_owned())
        .text("expires_on", expires_on.to_string())
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"%PDF-1.4 pretend document".to_vec())
                .file_name(name.to_owned())
                .mime_str("application/pdf")
                .unwrap(),
        );
    let response = vendor
        .post(app.url(&format!("{link}/evidence")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        303,
        "{question_id}: {}",
        response.text().await.unwrap_or_default()
    );
}

/// Signs the administrator in with a new client, as after the session timed out.
async fn sign_in(app: &TestApp) -> reqwest::Client {
    let (response, client) = crate::auth::sign_in(app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(response.status(), 303);
    client
}

async fn page(app: &TestApp, client: &reqwest::Client, path: &str) -> String {
    let response = client.get(app.url(path)).send().await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.text().await.unwrap()
}

/// Returns the hidden `v.ID` fields of the vendor page, as a browser would send them.
fn version_fields(html: &str) -> Vec<(String, String)> {
    let marker = "name=\"v.";
    html.match_indices(marker)
        .map(|(start, _)| {
            let rest = &html[start + marker.len()..];
            let id = &rest[..rest.find('"').unwrap()];
            let value_start = rest.find("value=\"").unwrap() + "value=\"".len();
            let value = &rest[value_start..value_start + rest[value_start..].find('"').unwrap()];
            (format!("v.{id}"), value.to_owned())
        })
        .collect()
}

/// Returns the table row that contains `text`, with runs of whitespace made one space.
fn row_with(html: &str, text: &str) -> String {
    let at = html
        .find(text)
        .unwrap_or_else(|| panic!("{text:?} is not in {html}"));
    let start = html[..at].rfind("<tr>").unwrap();
    let end = at + html[at..].find("</tr>").unwrap();
    html[start..end]
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Returns the part of `html` from the element with `id` to the next heading of that level.
fn part_with_id<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no element {id} in the page"));
    let rest = &html[start..];
    let end = rest[1..].find("<h3").map_or(rest.len(), |end| end + 1);
    &rest[..end]
}

fn question_text<'a>(questionnaire: &'a Value, id: &str) -> &'a str {
    questionnaire["sections"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|section| section["questions"].as_array().unwrap())
        .find(|question| question["id"] == id)
        .unwrap_or_else(|| panic!("no question {id}"))["text"]
        .as_str()
        .unwrap()
}

fn set(fields: &mut Vec<(String, String)>, id: &str, value: &str) {
    fields.retain(|(name, _)| name != id);
    fields.push((id.to_owned(), value.to_owned()));
}

#[tokio::test]
async fn reassessment_confirms_answers_and_shows_changes() {
    let app = app().await;
    let (tenant, admin) = app.tenant_with_admin("Mercy General", ADMIN_EMAIL).await;
    let api = app.api(&tenant.api_token);
    let created: Value = api
        .post("/api/v1/vendors")
        .json(&json!({ "name": "Greenway Cleaning", "contacts": [{ "name": "Tom Becker", "email": "tom@greenway.example.com" }] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let vendor_id = created["id"].as_str().unwrap().to_owned();
    let questionnaire: Value = api
        .get(&format!("/api/v1/questionnaires/{QUESTIONNAIRE}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let text = |id: &str| question_text(&questionnaire, id).to_owned();
    // HTML escapes the apostrophe in this question, so pages are searched for its start only.
    let about_phi = text("about-phi")[..50].to_owned();

    // First assessment: PHI yes (which shows the BAA questions), no named security owner (which
    // hides the owner's contact details), and a BAA document that expires in 20 days.
    let first = send(&app, &tenant.api_token, &vendor_id).await;
    let first_id = first["id"].as_str().unwrap().to_owned();
    assert_eq!(first["previous_assessment_id"], Value::Null);
    assert_eq!(first["changes"], Value::Null);
    run_jobs(&app).await;
    let first_link = vendor_link(&app);
    let vendor = crate::helpers::client();
    let mut first_answers = answer_everything(&questionnaire, &[]);
    set(&mut first_answers, "about-phi", "yes");
    set(&mut first_answers, "program-owner", "no");
    first_answers.retain(|(name, _)| name != "program-contact");
    let saved = vendor
        .post(app.url(&first_link))
        .form(&first_answers)
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 303);
    let baa_expires_on = app.clock.now().date_naive() + TimeDelta::days(20);
    upload(
        &app,
        &vendor,
        &first_link,
        "data-baa",
        "signed-baa.pdf",
        baa_expires_on,
    )
    .await;
    let submitted = vendor
        .post(app.url(&format!("{first_link}/submit")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        submitted.status(),
        303,
        "{}",
        submitted.text().await.unwrap_or_default()
    );
    let first_page = format!("/assessments/{first_id}");
    let csrf = app.csrf(&admin, &first_page).await;
    let completed = admin
        .post(app.url(&format!("{first_page}/complete")))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(completed.status(), 303);

    // Forty days later the BAA document has expired, and the vendor is assessed again.
    app.clock.advance(TimeDelta::days(40));
    let second = send(&app, &tenant.api_token, &vendor_id).await;
    let second_id = second["id"].as_str().unwrap().to_owned();
    assert_eq!(second["previous_assessment_id"], first_id.as_str());
    assert_eq!(
        second["changes"],
        json!({ "confirmed": 0, "changed": 0, "new": 0, "removed": 0, "unconfirmed": 20 }),
        "all 20 answers shown are carried over"
    );
    run_jobs(&app).await;
    // Forty days on, other e-mails may go out in the same run, so find the new invitation by its
    // link instead of taking the newest e-mail.
    let (invitation, link) = app
        .outbox()
        .into_iter()
        .map(|mail| {
            let link = link_in_email(&mail, &app.url("/a/"))
                .trim_start_matches(&app.address)
                .to_owned();
            (mail, link)
        })
        .find(|(_, link)| *link != first_link)
        .expect("an invitation to the second assessment");
    let invitation = invitation.replace("=\r\n", "").replace("=\n", "");
    assert!(
        invitation.contains("answers from the last review are filled in"),
        "{invitation}"
    );

    // The vendor page shows the carried-over answers filled in, each with its box.
    let html = page(&app, &vendor, &link).await;
    assert!(
        html.contains(r#"id="access-mfa-yes" name="access-mfa" value="yes" checked"#),
        "the previous answer is filled in"
    );
    assert!(html.contains(r#"name="confirm.access-mfa" value="yes""#));
    assert!(html.contains("This answer is still correct"));
    assert!(html.contains("This answer comes from your last assessment."));
    assert!(
        html.contains("0 of 20 questions answered (0%)"),
        "carried-over answers count only once checked"
    );
    assert!(html.contains("20 answers from your last assessment still need checking."));
    assert!(
        !html.contains(r#"name="program-contact""#),
        "the owner's contact stays hidden"
    );

    // Submitting before checking them is rejected, naming each question.
    let rejected = vendor
        .post(app.url(&format!("{link}/submit")))
        .send()
        .await
        .unwrap();
    assert_eq!(rejected.status(), 422);
    let missing = rejected.text().await.unwrap();
    assert!(missing.contains(&text("access-mfa")), "{missing}");
    assert!(missing.contains(&text("sys-malware")), "{missing}");
    assert!(
        missing.contains(
            "the answer from your last assessment needs checking. Confirm that it is still correct, or change it"
        ),
        "{missing}"
    );

    // The vendor saves the page: PHI is now "no" (which hides the BAA questions), there is now
    // a named owner (box ticked as well, but the change counts), every other box is ticked
    // except the malware question's.
    let mut fields = first_answers.clone();
    set(&mut fields, "about-phi", "no");
    set(&mut fields, "program-owner", "yes");
    fields.extend(version_fields(&html));
    let unticked = ["about-phi", "data-baa", "data-return", "sys-malware"];
    for (id, _) in &first_answers {
        if !unticked.contains(&id.as_str()) {
            fields.push((format!("confirm.{id}"), "yes".to_owned()));
        }
    }
    fields.sort();
    fields.dedup();
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

    let rejected = vendor
        .post(app.url(&format!("{link}/submit")))
        .send()
        .await
        .unwrap();
    assert_eq!(rejected.status(), 422);
    let missing = rejected.text().await.unwrap();
    assert!(missing.contains(&text("sys-malware")), "{missing}");
    assert!(
        missing.contains(&text("program-contact")),
        "the owner's contact is now shown and unanswered: {missing}"
    );
    assert!(!missing.contains(&text("access-mfa")), "{missing}");
    assert!(
        !missing.contains(&text("data-baa")),
        "hidden questions need no confirmation: {missing}"
    );

    // Autosave confirms the malware answer through the JSON response of the same endpoint.
    let html = page(&app, &vendor, &link).await;
    assert!(html.contains(r#"name="confirm.sys-malware""#));
    assert!(
        !html.contains(r#"name="confirm.access-mfa""#),
        "a confirmed answer has no box"
    );
    assert!(
        !html.contains(r#"name="confirm.program-owner""#),
        "a changed answer has no box"
    );
    let malware = first_answers
        .iter()
        .find(|(id, _)| id == "sys-malware")
        .unwrap()
        .1
        .clone();
    let mut autosave = vec![
        ("sys-malware".to_owned(), malware),
        ("confirm.sys-malware".to_owned(), "yes".to_owned()),
    ];
    autosave.extend(
        version_fields(&html)
            .into_iter()
            .filter(|(name, _)| name == "v.sys-malware"),
    );
    let response = vendor
        .post(app.url(&link))
        .header("accept", "application/json")
        .form(&autosave)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let result: Value = response.json().await.unwrap();
    assert_eq!(result["confirmed"], json!(["sys-malware"]));
    assert_eq!(result["saved"], json!([]));
    assert_eq!(result["progress"]["to_confirm"], 0);
    assert_ne!(
        result["versions"]["sys-malware"],
        autosave[2].1.as_str(),
        "confirming makes a new version"
    );

    // The owner's contact details appear after the save; the vendor answers them, attaches an
    // audit report that is already out of date, and submits.
    let html = page(&app, &vendor, &link).await;
    assert!(html.contains(r#"name="program-contact""#));
    assert!(
        html.contains("18 of 19 questions answered"),
        "only the owner's contact is left"
    );
    let mut contact = vec![(
        "program-contact".to_owned(),
        "Dana Ruiz, security lead, dana@greenway.example.com".to_owned(),
    )];
    contact.extend(
        version_fields(&html)
            .into_iter()
            .filter(|(name, _)| name == "v.program-contact"),
    );
    let saved = vendor
        .post(app.url(&link))
        .form(&contact)
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 303);
    let expired_on = app.clock.now().date_naive() - TimeDelta::days(5);
    upload(
        &app,
        &vendor,
        &link,
        "program-audit",
        "old-soc2.pdf",
        expired_on,
    )
    .await;
    let submitted = vendor
        .post(app.url(&format!("{link}/submit")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        submitted.status(),
        303,
        "{}",
        submitted.text().await.unwrap_or_default()
    );

    // The stored answers: confirmed ones have a new version, hidden ones stay carried over.
    let stored = portal::store::assessments::answers::load(
        app.state.db().reader(),
        tenant.tenant_id.parse().unwrap(),
        second_id.parse().unwrap(),
    )
    .await
    .unwrap();
    assert!(!stored["access-mfa"].carried_over);
    assert_eq!(stored["access-mfa"].version, 2);
    assert!(!stored["program-owner"].carried_over);
    assert_eq!(stored["program-owner"].value, "yes");
    assert!(stored["data-baa"].carried_over);

    // The analyst sees what changed, grouped, with the expired documents of both assessments.
    let admin = sign_in(&app).await;
    let staff = page(&app, &admin, &format!("/assessments/{second_id}")).await;
    assert!(staff.contains("Changes since the last assessment"));
    assert!(staff.contains(&format!(
        r#"href="/assessments/{first_id}">previous assessment</a>"#
    )));
    assert!(
        staff
            .contains("2 changed, 1 newly answered, 2 no longer answered, 16 confirmed unchanged."),
        "{}",
        part_with_id(&staff, "changes-heading")
    );
    let changed = part_with_id(&staff, "changes-changed");
    assert!(changed.contains(&about_phi), "{changed}");
    assert!(changed.contains(&text("program-owner")), "{changed}");
    assert!(!changed.contains(&text("access-mfa")), "{changed}");
    assert!(
        row_with(changed, &text("program-owner")).ends_with("<td>No</td> <td>Yes</td>"),
        "{changed}"
    );
    assert!(
        row_with(changed, &about_phi).ends_with("<td>Yes</td> <td>No</td>"),
        "{changed}"
    );
    let new = part_with_id(&staff, "changes-new");
    assert!(new.contains(&text("program-contact")), "{new}");
    assert!(new.contains("Dana Ruiz, security lead"), "{new}");
    let removed = part_with_id(&staff, "changes-removed");
    assert!(removed.contains(&text("data-baa")), "{removed}");
    assert!(removed.contains(&text("data-return")), "{removed}");
    let confirmed = part_with_id(&staff, "changes-confirmed");
    assert!(
        confirmed.contains("Confirmed unchanged (16)"),
        "{confirmed}"
    );
    assert!(confirmed.contains(&text("access-mfa")), "{confirmed}");
    assert!(confirmed.contains(&text("sys-malware")), "{confirmed}");
    assert!(!confirmed.contains(&text("program-owner")), "{confirmed}");
    assert!(
        !staff.contains(r#"id="changes-unconfirmed""#),
        "every shown answer was confirmed or changed"
    );
    let expired = part_with_id(&staff, "changes-expired");
    assert!(expired.contains("signed-baa.pdf"), "{expired}");
    assert!(
        expired.contains(&format!(
            "Expired on {}",
            baa_expires_on.format("%b %-d, %Y")
        )),
        "{expired}"
    );
    assert!(expired.contains("old-soc2.pdf"), "{expired}");
    assert!(
        expired.contains(&format!("Expired on {}", expired_on.format("%b %-d, %Y"))),
        "{expired}"
    );

    // The API reports the same counts.
    let fetched: Value = api
        .get(&format!("/api/v1/assessments/{second_id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(fetched["status"], "submitted");
    assert_eq!(fetched["previous_assessment_id"], first_id.as_str());
    assert_eq!(
        fetched["changes"],
        json!({ "confirmed": 16, "changed": 2, "new": 1, "removed": 2, "unconfirmed": 0 })
    );
}
