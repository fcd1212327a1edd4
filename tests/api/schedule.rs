//! The schedule: reassessments by cadence and contract renewal, reminders, overdue reminders,
//! escalation, expiry and approval, driven hour by hour through a simulated year with the
//! injectable clock, in a US and a European time zone across both daylight-saving changes. The
//! expected e-mails below were worked out by hand from the settings, not by the portal's code.

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::{Value, json};

use crate::helpers::{ApiClient, TestApp, spawn_app_with};

async fn app() -> TestApp {
    spawn_app_with(|config| config.run_worker = false).await
}

/// One sweep and one worker run, as the cron trigger and the worker do.
async fn tick(app: &TestApp) {
    portal::jobs::schedule::plan(app.state.db(), app.clock.now())
        .await
        .expect("the sweep runs");
    portal::jobs::run_due(&app.state).await.expect("jobs run");
}

/// Sets the tenant's schedule settings through the API, changing `changes` from the defaults.
pub(crate) async fn configure(api: &ApiClient, changes: Value) {
    let mut settings: Value = api
        .get("/api/v1/settings/schedule")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let settings = settings["data"].as_object_mut().unwrap();
    for (key, value) in changes.as_object().unwrap() {
        settings.insert(key.clone(), value.clone());
    }
    let response = api
        .put("/api/v1/settings/schedule")
        .json(&settings)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

/// Creates a vendor of the given tier with one contact and returns its id.
pub(crate) async fn vendor(
    api: &ApiClient,
    name: &str,
    tier: &str,
    contact: &str,
    renewal: Option<&str>,
) -> String {
    let response = api
        .post("/api/v1/vendors")
        .json(&json!({
            "name": name,
            "contacts": [{ "name": "Pat Contact", "email": contact }],
            "phi_access": "none",
            "contract_renewal": renewal,
            "tier_override": { "tier": tier, "rationale": "Set for the schedule test." },
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["tier"], tier);
    body["id"].as_str().unwrap().to_owned()
}

async fn schedule_vendor(api: &ApiClient, vendor: &str, next_review_on: &str) {
    let response = api
        .put(&format!("/api/v1/vendors/{vendor}/schedule"))
        .json(&json!({ "next_review_on": next_review_on, "owner_user_id": null }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

async fn open_assessment(api: &ApiClient, vendor: &str) -> Value {
    let list: Value = api
        .get(&format!(
            "/api/v1/assessments?vendor_id={vendor}&status=open"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let data = list["data"].as_array().unwrap();
    assert_eq!(data.len(), 1, "one open assessment of {vendor}: {list}");
    data[0].clone()
}

async fn next_review(api: &ApiClient, vendor: &str) -> Value {
    let body: Value = api
        .get(&format!("/api/v1/vendors/{vendor}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["next_review_on"].clone()
}

/// An e-mail as the test compares it: recipient, kind (from the subject) and local send time.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Sent {
    to: String,
    kind: &'static str,
    local: String,
}

fn kind_of(subject: &str) -> &'static str {
    if subject.starts_with("Reminder:") {
        "reminder"
    } else if subject.starts_with("Overdue:") {
        "overdue"
    } else if subject.starts_with("Escalation:") {
        "escalation"
    } else if subject.starts_with("Approve the") {
        "approval"
    } else if subject.contains(" asks ") {
        "invitation"
    } else {
        panic!("unexpected e-mail {subject:?}")
    }
}

/// Reads every e-mail in the outbox, with its `Date` header shown in the zone of its recipient.
fn sent(app: &TestApp, zone_of: impl Fn(&str) -> Tz) -> Vec<Sent> {
    let mut all: Vec<Sent> = app
        .outbox()
        .iter()
        .map(|eml| {
            let message = mail_parser::MessageParser::default()
                .parse(eml.as_bytes())
                .expect("the e-mail parses");
            let to = message
                .to()
                .and_then(|to| to.first())
                .and_then(|address| address.address())
                .unwrap()
                .to_owned();
            let date = message.date().expect("the e-mail has a Date header");
            let at = DateTime::from_timestamp(date.to_timestamp(), 0).unwrap();
            let local = at
                .with_timezone(&zone_of(&to))
                .format("%Y-%m-%d %H:%M")
                .to_string();
            Sent {
                kind: kind_of(message.subject().unwrap()),
                to,
                local,
            }
        })
        .collect();
    all.sort();
    all
}

fn expect(to: &str, kind: &'static str, dates: &[&str], time: &str) -> Vec<Sent> {
    dates
        .iter()
        .map(|date| Sent {
            to: to.to_owned(),
            kind,
            local: format!("{date} {time}"),
        })
        .collect()
}

#[tokio::test]
async fn simulated_year_sends_each_email_once() {
    let app = app().await;
    app.clock
        .set(Utc.with_ymd_and_hms(2026, 12, 31, 12, 0, 0).unwrap());

    // New York: defaults (reminders 7, 3 and 1 days before, overdue weekly three times,
    // escalation a week later, expiry 30 days after the due date), sent at 9:00 local time.
    let (ny, _) = app
        .tenant_with_admin("Mercy Hospital New York", "ny-admin@mercy.example")
        .await;
    let ny = app.api(&ny.api_token);
    configure(&ny, json!({ "time_zone": "America/New_York" })).await;
    let northwind = vendor(
        &ny,
        "Northwind EHR",
        "critical",
        "pat@northwind.example",
        None,
    )
    .await;
    let contoso = vendor(
        &ny,
        "Contoso Imaging",
        "high",
        "lee@contoso.example",
        Some("2027-09-30"),
    )
    .await;
    let fabrikam = vendor(
        &ny,
        "Fabrikam Labs",
        "moderate",
        "kim@fabrikam.example",
        None,
    )
    .await;
    let tailspin = vendor(&ny, "Tailspin Billing", "low", "ana@tailspin.example", None).await;
    schedule_vendor(&ny, &northwind, "2027-01-15").await;
    schedule_vendor(&ny, &tailspin, "2027-11-20").await;

    // Berlin: procurement approves each scheduled assessment; sent at 8:00 local time.
    let (berlin, _) = app
        .tenant_with_admin("Spree Klinikum Berlin", "berlin-admin@spree.example")
        .await;
    let berlin = app.api(&berlin.api_token);
    configure(
        &berlin,
        json!({ "time_zone": "Europe/Berlin", "send_hour": 8, "approval_required": true }),
    )
    .await;
    let alster = vendor(
        &berlin,
        "Alster Labor",
        "critical",
        "jonas@alster.example",
        None,
    )
    .await;
    let havel = vendor(&berlin, "Havel Imaging", "high", "mia@havel.example", None).await;
    let _spree = vendor(
        &berlin,
        "Spree Catering",
        "moderate",
        "tom@spree-catering.example",
        None,
    )
    .await;
    let _wannsee = vendor(
        &berlin,
        "Wannsee Shredding",
        "low",
        "eva@wannsee.example",
        None,
    )
    .await;
    schedule_vendor(&berlin, &alster, "2027-03-20").await;
    schedule_vendor(&berlin, &havel, "2027-10-20").await;

    let start = Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap();
    let end = Utc.with_ymd_and_hms(2028, 1, 1, 0, 0, 0).unwrap();
    let mut now = start;
    while now < end {
        app.clock.set(now);
        let label = now.format("%Y-%m-%dT%H:%MZ").to_string();
        match label.as_str() {
            // Procurement in Berlin approves the first draft two days later, mid-morning.
            "2027-03-22T09:00Z" => approve(&berlin, &alster).await,
            // ... and the second on the day it was prepared, in the afternoon.
            "2027-10-20T12:00Z" => approve(&berlin, &havel).await,
            // Contoso's renewal assessment is cancelled two days after its due date.
            "2027-08-03T15:00Z" => {
                let assessment = open_assessment(&ny, &contoso).await;
                let response = ny
                    .post(&format!(
                        "/api/v1/assessments/{}/cancel",
                        assessment["id"].as_str().unwrap()
                    ))
                    .json(&json!({ "reason": "Renewal decided without the assessment." }))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
            }
            _ => {}
        }
        tick(&app).await;
        now += chrono::TimeDelta::hours(1);
    }

    let ny_zone: Tz = "America/New_York".parse().unwrap();
    let berlin_zone: Tz = "Europe/Berlin".parse().unwrap();
    let actual = sent(&app, |to| {
        if to.ends_with("mercy.example")
            || to.ends_with("northwind.example")
            || to.ends_with("contoso.example")
            || to.ends_with("tailspin.example")
        {
            ny_zone
        } else {
            berlin_zone
        }
    });

    let mut expected = Vec::new();
    // Northwind never answers: four cycles of invitation, three reminders, three overdue
    // reminders and an escalation; each expiry schedules the next cycle 30 days later. The
    // escalation of March 14 falls on the day the US clocks spring forward, the reminder of
    // November 7 on the day they fall back.
    let pat = "pat@northwind.example";
    expected.extend(expect(
        pat,
        "invitation",
        &["2027-01-15", "2027-04-16", "2027-07-16", "2027-10-15"],
        "09:00",
    ));
    expected.extend(expect(
        pat,
        "reminder",
        &[
            "2027-02-07",
            "2027-02-11",
            "2027-02-13",
            "2027-05-09",
            "2027-05-13",
            "2027-05-15",
            "2027-08-08",
            "2027-08-12",
            "2027-08-14",
            "2027-11-07",
            "2027-11-11",
            "2027-11-13",
        ],
        "09:00",
    ));
    expected.extend(expect(
        pat,
        "overdue",
        &[
            "2027-02-21",
            "2027-02-28",
            "2027-03-07",
            "2027-05-23",
            "2027-05-30",
            "2027-06-06",
            "2027-08-22",
            "2027-08-29",
            "2027-09-05",
            "2027-11-21",
            "2027-11-28",
            "2027-12-05",
        ],
        "09:00",
    ));
    expected.extend(expect(
        "ny-admin@mercy.example",
        "escalation",
        &["2027-03-14", "2027-06-13", "2027-09-12", "2027-12-12"],
        "09:00",
    ));
    // Contoso: the contract renews on September 30, so the assessment starts 90 days before;
    // it is cancelled after its due date, which stops the overdue reminders.
    let lee = "lee@contoso.example";
    expected.extend(expect(lee, "invitation", &["2027-07-02"], "09:00"));
    expected.extend(expect(
        lee,
        "reminder",
        &["2027-07-25", "2027-07-29", "2027-07-31"],
        "09:00",
    ));
    // Tailspin: due on December 20; the second overdue reminder would fall in 2028.
    let ana = "ana@tailspin.example";
    expected.extend(expect(ana, "invitation", &["2027-11-20"], "09:00"));
    expected.extend(expect(
        ana,
        "reminder",
        &["2027-12-13", "2027-12-17", "2027-12-19"],
        "09:00",
    ));
    expected.extend(expect(ana, "overdue", &["2027-12-27"], "09:00"));
    // Alster: prepared on March 20 and approved on March 22 at 10:00, which moves the due date
    // to April 21; reminders after the European change of March 28 still go out at 8:00.
    // It expires on May 22; the next draft, prepared on June 21, is never approved.
    let jonas = "jonas@alster.example";
    let berlin_admin = "berlin-admin@spree.example";
    expected.extend(expect(
        berlin_admin,
        "approval",
        &["2027-03-20", "2027-06-21", "2027-10-20"],
        "08:00",
    ));
    expected.extend(expect(jonas, "invitation", &["2027-03-22"], "10:00"));
    expected.extend(expect(
        jonas,
        "reminder",
        &["2027-04-14", "2027-04-18", "2027-04-20"],
        "08:00",
    ));
    expected.extend(expect(
        jonas,
        "overdue",
        &["2027-04-28", "2027-05-05", "2027-05-12"],
        "08:00",
    ));
    expected.extend(expect(
        berlin_admin,
        "escalation",
        &["2027-05-19", "2027-12-17"],
        "08:00",
    ));
    // Havel: prepared and approved on October 20 (approved at 14:00), due November 19, after
    // the clocks fell back on October 31.
    let mia = "mia@havel.example";
    expected.extend(expect(mia, "invitation", &["2027-10-20"], "14:00"));
    expected.extend(expect(
        mia,
        "reminder",
        &["2027-11-12", "2027-11-16", "2027-11-18"],
        "08:00",
    ));
    expected.extend(expect(
        mia,
        "overdue",
        &["2027-11-26", "2027-12-03", "2027-12-10"],
        "08:00",
    ));
    expected.sort();

    let missing: Vec<&Sent> = expected
        .iter()
        .filter(|mail| !actual.contains(mail))
        .collect();
    let extra: Vec<&Sent> = actual
        .iter()
        .filter(|mail| !expected.contains(mail))
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing: {missing:#?}\nunexpected: {extra:#?}"
    );
    assert_eq!(actual.len(), expected.len(), "no e-mail was sent twice");

    // Where each vendor stands at the end of the year.
    assert_eq!(next_review(&ny, &northwind).await, "2028-01-14");
    assert_eq!(next_review(&ny, &contoso).await, Value::Null);
    assert_eq!(next_review(&ny, &fabrikam).await, Value::Null);
    assert_eq!(next_review(&berlin, &havel).await, "2028-01-19");
    assert_eq!(open_assessment(&berlin, &alster).await["status"], "draft");
    assert_eq!(open_assessment(&ny, &tailspin).await["status"], "sent");
    let expired: Value = ny
        .get(&format!(
            "/api/v1/assessments?vendor_id={northwind}&status=expired"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(expired["data"].as_array().unwrap().len(), 4);
    assert_eq!(expired["data"][0]["reason"], "cycle");
}

async fn approve(api: &ApiClient, vendor: &str) {
    let assessment = open_assessment(api, vendor).await;
    assert_eq!(assessment["status"], "draft");
    let response = api
        .post(&format!(
            "/api/v1/assessments/{}/send",
            assessment["id"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

/// Creates a tenant on UTC with a critical vendor and returns the API client, the signed-in
/// administrator and the vendor's id.
async fn tenant_with_vendor(
    app: &TestApp,
    contacts: &[&str],
) -> (ApiClient, reqwest::Client, String) {
    let (tenant, admin) = app
        .tenant_with_admin("Mercy General", "admin@mercy.example.org")
        .await;
    let api = app.api(&tenant.api_token);
    let contacts: Vec<Value> = contacts
        .iter()
        .map(|email| json!({ "name": "Pat Contact", "email": email }))
        .collect();
    let response = api
        .post("/api/v1/vendors")
        .json(&json!({
            "name": "Northwind EHR",
            "contacts": contacts,
            "phi_access": "bulk",
            "system_integration": true,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["tier"], "critical");
    (api, admin, body["id"].as_str().unwrap().to_owned())
}

/// Ticks every hour from the clock's time until `until`.
async fn run_until(app: &TestApp, until: DateTime<Utc>) {
    while app.clock.now() < until {
        app.clock.advance(chrono::TimeDelta::hours(1));
        tick(app).await;
    }
}

fn subjects_since(app: &TestApp, seen: usize) -> Vec<(String, String, String)> {
    app.outbox()[seen..]
        .iter()
        .map(|eml| {
            let message = mail_parser::MessageParser::default()
                .parse(eml.as_bytes())
                .unwrap();
            let to = message
                .to()
                .and_then(|to| to.first())
                .and_then(|address| address.address())
                .unwrap()
                .to_owned();
            let at = DateTime::from_timestamp(message.date().unwrap().to_timestamp(), 0).unwrap();
            (
                to,
                message.subject().unwrap().to_owned(),
                at.format("%Y-%m-%d %H:%M").to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn expiring_document_flagged_then_reassessed() {
    let app = app().await;
    app.clock
        .set(Utc.with_ymd_and_hms(2027, 1, 4, 12, 0, 0).unwrap());
    let (api, admin, vendor_id) = tenant_with_vendor(&app, &["pat@northwind.example"]).await;
    // Answers carry forward between assessments of the same questionnaire; this tenant sends
    // the short one to critical vendors too.
    let lite = "healthcare-vendor-security-lite";
    configure(&api, json!({ "questionnaires": [lite, lite, lite, lite] })).await;

    // A first assessment, answered, with a SOC 2 report that expires on March 15 attached.
    let created: Value = api
        .post("/api/v1/assessments")
        .json(&json!({ "vendor_id": vendor_id, "questionnaire": "healthcare-vendor-security-lite", "due_date": "2027-02-01", "reason": "First review of a new supplier." }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(created["reason"], "manual");
    assert_eq!(created["reason_note"], "First review of a new supplier.");
    let first = created["id"].as_str().unwrap().to_owned();
    crate::workflow::run_jobs(&app).await;
    let link = crate::workflow::vendor_link(&app);
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
    let saved = vendor
        .post(app.url(&link))
        .form(&crate::workflow::answer_everything(
            &questionnaire,
            &failing,
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 303);
    let form = reqwest::multipart::Form::new()
        .text("expires_on", "2027-03-15")
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"%PDF-1.4 pretend SOC 2 report".to_vec())
                .file_name("SOC 2 Type II 2026.pdf")
                .mime_str("application/pdf")
                .unwrap(),
        );
    let uploaded = vendor
        .post(app.url(&format!("{link}/evidence")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), 303, "{}", uploaded.text().await.unwrap());
    assert_eq!(
        vendor
            .post(app.url(&format!("{link}/submit")))
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
    let fetched: Value = api
        .get(&format!("/api/v1/assessments/{first}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let report_id = fetched["evidence"][0]["id"]
        .as_str()
        .expect("the report is listed")
        .to_owned();
    let page = format!("/assessments/{first}");
    let csrf = app.csrf(&admin, &page).await;
    let accepted = admin
        .post(app.url(&format!("{page}/evidence/{report_id}/review")))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("decision", "accept"),
            ("note", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 303);
    let completed = admin
        .post(app.url(&format!("{page}/complete")))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(completed.status(), 303);
    crate::workflow::run_jobs(&app).await;
    // Completing schedules the next assessment by the critical tier's 12 months.
    assert_eq!(next_review(&api, &vendor_id).await, "2028-01-04");
    let seen = app.outbox().len();

    // Thirty days before the expiry, at 9:00 UTC: one notice to the vendor, one to the analysts.
    run_until(&app, Utc.with_ymd_and_hms(2027, 3, 15, 23, 0, 0).unwrap()).await;
    let mut notices = subjects_since(&app, seen);
    notices.sort();
    assert_eq!(
        notices,
        vec![
            ("admin@mercy.example.org".to_owned(), "SOC 2 Type II 2026.pdf from Northwind EHR expires Mar 15, 2027".to_owned(), "2027-02-13 09:00".to_owned()),
            ("pat@northwind.example".to_owned(), "Mercy General needs a renewed copy of SOC 2 Type II 2026.pdf, which expires Mar 15, 2027".to_owned(), "2027-02-13 09:00".to_owned()),
        ],
        "{notices:#?}"
    );

    // The day after the expiry, an off-cycle reassessment starts with the reason recorded and
    // the earlier answers carried over.
    run_until(&app, Utc.with_ymd_and_hms(2027, 3, 17, 0, 0, 0).unwrap()).await;
    let mail = subjects_since(&app, seen + 2);
    assert_eq!(mail.len(), 1, "{mail:#?}");
    assert_eq!(mail[0].0, "pat@northwind.example");
    assert_eq!(mail[0].2, "2027-03-16 09:00");
    let invitation = app.outbox().last().unwrap().clone();
    assert!(
        invitation.contains("answers from the last review are filled in"),
        "{invitation}"
    );
    let second = open_assessment(&api, &vendor_id).await;
    assert_eq!(second["reason"], "evidence_expired");
    assert_eq!(
        second["reason_note"],
        "SOC 2 Type II 2026.pdf expired on 2027-03-15."
    );
    assert_eq!(second["previous_assessment_id"], first.as_str());
    assert_eq!(second["due_on"], "2027-04-15");
    assert_eq!(
        next_review(&api, &vendor_id).await,
        Value::Null,
        "the open assessment replaces the scheduled date"
    );

    // Its page lists the coming reminders, escalation and expiry. Two months passed, so the
    // administrator signs in again.
    let (signed_in, admin) = crate::auth::sign_in(
        &app,
        "admin@mercy.example.org",
        "correct horse battery staple",
    )
    .await;
    assert_eq!(signed_in.status(), 303);
    let page = admin
        .get(app.url(&format!("/assessments/{}", second["id"].as_str().unwrap())))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for step in [
        "Reminder 7 days before the due date",
        "Overdue reminder 3",
        "Escalation to procurement",
        "Assessment and links expire",
    ] {
        assert!(page.contains(step), "{step} is on the page");
    }
    assert!(page.contains("Expired evidence"), "the reason is shown");
}

#[tokio::test]
async fn sweep_fired_twice_sends_once() {
    let app = app().await;
    app.clock
        .set(Utc.with_ymd_and_hms(2027, 5, 3, 10, 0, 0).unwrap());
    let (api, _admin, vendor_id) =
        tenant_with_vendor(&app, &["pat@northwind.example", "sam@northwind.example"]).await;
    schedule_vendor(&api, &vendor_id, "2027-05-03").await;

    // Two sweeps at once, as two instances' cron triggers or a repeated tick would fire them,
    // then two workers at once.
    for _ in 0..2 {
        let (first, second) = tokio::join!(
            portal::jobs::schedule::plan(app.state.db(), app.clock.now()),
            portal::jobs::schedule::plan(app.state.db(), app.clock.now()),
        );
        first.unwrap();
        second.unwrap();
        let (first, second) = tokio::join!(
            portal::jobs::run_due(&app.state),
            portal::jobs::run_due(&app.state)
        );
        first.unwrap();
        second.unwrap();
    }
    let invitations = subjects_since(&app, 0);
    assert_eq!(invitations.len(), 2, "{invitations:#?}");
    let assessment = open_assessment(&api, &vendor_id).await;
    assert_eq!(assessment["reason"], "cycle");
    assert_eq!(assessment["due_on"], "2027-06-02");

    // Seven days before the due date, the same again: one reminder per contact.
    app.clock
        .set(Utc.with_ymd_and_hms(2027, 5, 26, 9, 30, 0).unwrap());
    for _ in 0..3 {
        let (first, second) = tokio::join!(
            portal::jobs::schedule::plan(app.state.db(), app.clock.now()),
            portal::jobs::schedule::plan(app.state.db(), app.clock.now()),
        );
        first.unwrap();
        second.unwrap();
        let (first, second) = tokio::join!(
            portal::jobs::run_due(&app.state),
            portal::jobs::run_due(&app.state)
        );
        first.unwrap();
        second.unwrap();
    }
    let mut reminders: Vec<String> = subjects_since(&app, 2)
        .into_iter()
        .map(|(to, subject, _)| format!("{to}: {subject}"))
        .collect();
    reminders.sort();
    assert_eq!(
        reminders,
        [
            "pat@northwind.example: Reminder: the Mercy General security questionnaire for Northwind EHR is due Jun 2, 2027",
            "sam@northwind.example: Reminder: the Mercy General security questionnaire for Northwind EHR is due Jun 2, 2027",
        ]
    );
}

/// The database URL of an app started on PostgreSQL, for `portal serve` processes to share.
fn postgres_url(app: &TestApp) -> String {
    crate::services::required("TEST_DATABASE_URL");
    let url = app.state.config().database_url().expose().to_owned();
    assert!(url.starts_with("postgres"), "the test runs on PostgreSQL");
    url
}

fn eml_files(dir: &std::path::Path) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|entry| {
                    entry
                        .path()
                        .extension()
                        .is_some_and(|extension| extension == "eml")
                })
                .map(|entry| std::fs::read_to_string(entry.path()).unwrap())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// Recipient and subject of each message, sorted.
fn recipients_and_subjects(messages: &[String]) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = messages
        .iter()
        .map(|eml| {
            let message = mail_parser::MessageParser::default()
                .parse(eml.as_bytes())
                .unwrap();
            let to = message
                .to()
                .and_then(|to| to.first())
                .and_then(|address| address.address())
                .unwrap()
                .to_owned();
            (to, kind_of(message.subject().unwrap()).to_owned())
        })
        .collect();
    found.sort();
    found
}

#[tokio::test]
#[ignore = "needs TEST_DATABASE_URL (PostgreSQL); run by .ci/run"]
async fn two_processes_send_each_email_once() {
    let app = app().await;
    let database_url = postgres_url(&app);
    let (tenant, _) = app
        .tenant_with_admin("Mercy General", "admin@mercy.example.org")
        .await;
    let api = app.api(&tenant.api_token);
    // Reminders at midnight UTC, so that the reminder seven days before a due date a week from
    // today is due as soon as the invitation is out, whatever the time of day.
    configure(&api, json!({ "time_zone": "UTC", "send_hour": 0 })).await;
    let due = (Utc::now().date_naive() + chrono::TimeDelta::days(7)).to_string();
    let vendors = 15;
    for number in 0..vendors {
        let response = api
            .post("/api/v1/vendors")
            .json(&json!({
                "name": format!("Vendor {number}"),
                "contacts": [
                    { "name": "First Contact", "email": format!("first{number}@vendor.example") },
                    { "name": "Second Contact", "email": format!("second{number}@vendor.example") },
                ],
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        let vendor: Value = response.json().await.unwrap();
        let sent = api
            .post("/api/v1/assessments")
            .json(&json!({ "vendor_id": vendor["id"], "questionnaire": "healthcare-vendor-security-lite", "due_date": due }))
            .send()
            .await
            .unwrap();
        assert_eq!(sent.status(), 201, "{}", sent.text().await.unwrap());
    }
    assert!(app.outbox().is_empty(), "the test app does not send");
    // The reminder falls at midnight today, and a reminder whose time came before the assessment
    // was sent is skipped. The assessments therefore count as sent yesterday.
    {
        use portal::store::entities::assessment;
        use sea_orm::sea_query::Expr;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        let tenant_id: uuid::Uuid = tenant.tenant_id.parse().unwrap();
        let updated = assessment::Entity::update_many()
            .col_expr(
                assessment::Column::SentAt,
                Expr::value(Utc::now() - chrono::TimeDelta::days(1)),
            )
            .filter(assessment::Column::TenantId.eq(tenant_id))
            .exec(app.state.db().writer())
            .await
            .unwrap();
        assert_eq!(updated.rows_affected, vendors as u64);
    }

    // Two processes with their own memory, one database and one outbox directory, each sweeping
    // every second and running a worker.
    let shared = tempfile::tempdir().unwrap();
    let env = vec![
        ("DATABASE_URL", database_url.clone()),
        ("PORTAL_SCHEDULE", "* * * * * *".to_owned()),
    ];
    let first = crate::helpers::ServeProcess::start(shared.path(), &env);
    let second = crate::helpers::ServeProcess::start(shared.path(), &env);
    let outbox = shared.path().join("data/outbox");
    let expected = vendors * 2 * 2;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    while eml_files(&outbox).len() < expected && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // A few more sweeps on both sides must add nothing.
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    let (first_log, _) = first.stop();
    let (second_log, _) = second.stop();
    let messages = eml_files(&outbox);
    let found = recipients_and_subjects(&messages);
    let mut wanted = Vec::new();
    for number in 0..vendors {
        for who in ["first", "second"] {
            for kind in ["invitation", "reminder"] {
                wanted.push((format!("{who}{number}@vendor.example"), kind.to_owned()));
            }
        }
    }
    wanted.sort();
    assert_eq!(
        found, wanted,
        "each contact gets one invitation and one reminder"
    );
    let done = |log: &[String]| {
        log.iter()
            .filter(|line| line.contains("\"job done\""))
            .count()
    };
    eprintln!(
        "jobs done by the first process: {}, by the second: {}",
        done(&first_log),
        done(&second_log)
    );
}

#[tokio::test]
#[ignore = "needs TEST_DATABASE_URL (PostgreSQL) and python3 with aiosmtpd; run by .ci/run"]
async fn killed_sender_leaves_email_to_another() {
    let app = app().await;
    let database_url = postgres_url(&app);
    let (tenant, _) = app
        .tenant_with_admin("Mercy General", "admin@mercy.example.org")
        .await;
    let api = app.api(&tenant.api_token);
    let vendor: Value = api
        .post("/api/v1/vendors")
        .json(&json!({ "name": "Northwind EHR", "contacts": [{ "name": "Pat Contact", "email": "pat@northwind.example" }] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sent = api
        .post("/api/v1/assessments")
        .json(&json!({ "vendor_id": vendor["id"], "questionnaire": "healthcare-vendor-security-lite", "due_date": "2099-01-31" }))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 201);

    // An SMTP server that takes 8 seconds to accept each recipient.
    let work = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let delivered = work.path().join("delivered");
    let log = work.path().join("smtp.log");
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/support/slow_smtp_server.py"
    );
    let mut smtp = std::process::Command::new("python3")
        .args([
            script,
            &port.to_string(),
            delivered.to_str().unwrap(),
            log.to_str().unwrap(),
            "8",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs the slow SMTP server");
    {
        use std::io::BufRead;
        let mut line = String::new();
        std::io::BufReader::new(smtp.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(
            line.starts_with("listening"),
            "the SMTP server started: {line}"
        );
    }
    let env = vec![
        ("DATABASE_URL", database_url.clone()),
        ("PORTAL_SMTP_URL", format!("smtp://127.0.0.1:{port}")),
        ("PORTAL_JOB_LEASE_SECONDS", "5".to_owned()),
        ("PORTAL_SCHEDULE", "off".to_owned()),
    ];

    // The first process claims the invitation and is killed while the server is answering.
    let first_dir = tempfile::tempdir().unwrap();
    let first = crate::helpers::ServeProcess::start(first_dir.path(), &env);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("rcpt")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the first process starts sending"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    first.kill();
    let tenant_id: portal::ids::TenantId = tenant.tenant_id.parse().unwrap();
    let jobs = portal::store::jobs::list(app.state.db().reader(), tenant_id, None, 10)
        .await
        .unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(
        (jobs[0].status.as_str(), jobs[0].attempts),
        ("running", 1),
        "the killed process held the job"
    );

    // A second process takes the job over when the lease runs out, and sends it.
    let second_dir = tempfile::tempdir().unwrap();
    let second = crate::helpers::ServeProcess::start(second_dir.path(), &env);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while eml_files(&delivered).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the second process sends the invitation"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let (_, status) = second.stop();
    assert!(status.success());
    let _ = smtp.kill();
    let _ = smtp.wait();

    let messages = eml_files(&delivered);
    assert_eq!(messages.len(), 1, "the invitation arrives once");
    let jobs = portal::store::jobs::list(app.state.db().reader(), tenant_id, None, 10)
        .await
        .unwrap();
    assert_eq!((jobs[0].status.as_str(), jobs[0].attempts), ("done", 2));
    assert!(
        messages[0].contains(&format!("<job-{}@vendor-risk-portal>", jobs[0].id)),
        "the Message-ID names the job"
    );
    let rcpt_lines = std::fs::read_to_string(&log).unwrap().lines().count();
    assert_eq!(
        rcpt_lines, 2,
        "the killed conversation and the completed one"
    );
}

#[tokio::test]
async fn settings_form_names_each_bad_field() {
    let app = app().await;
    let (tenant, admin) = app
        .tenant_with_admin("Mercy General", "admin@mercy.example.org")
        .await;
    let page = admin
        .get(app.url("/admin/settings"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("America&#x2f;New_York"),
        "the time zones are listed"
    );
    let csrf = crate::helpers::csrf_from(&page).unwrap();
    let mut fields: Vec<(&str, &str)> = vec![
        ("csrf_token", csrf.as_str()),
        ("time_zone", "America/Springfield"),
        ("send_hour", "9"),
        ("reminder_days", "7, three, 1"),
        ("overdue_interval_days", "7"),
        ("overdue_max", "3"),
        ("expire_after_days", "20"),
        ("due_in_days", "30"),
        ("cadence_critical", "12"),
        ("cadence_high", "12"),
        ("cadence_moderate", "24"),
        ("cadence_low", "36"),
        ("questionnaire_critical", "healthcare-vendor-security"),
        ("questionnaire_high", "healthcare-vendor-security"),
        ("questionnaire_moderate", "no-such-questionnaire"),
        ("questionnaire_low", "healthcare-vendor-security-lite"),
        ("renewal_lead_days", "90"),
        ("evidence_warning_days", "30"),
    ];
    let rejected = admin
        .post(app.url("/admin/settings"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(rejected.status(), 422);
    let html = rejected.text().await.unwrap();
    assert!(
        html.contains("America&#x2f;Springfield&quot; is not an IANA time zone"),
        "{html}"
    );
    assert!(
        html.contains("&quot;three&quot; is not a number of days"),
        "{html}"
    );

    // With the parse errors fixed, the rules across fields and the library are checked.
    fields[1].1 = "America/Chicago";
    fields[3].1 = "7, 3, 1";
    let rejected = admin
        .post(app.url("/admin/settings"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(rejected.status(), 422);
    let html = rejected.text().await.unwrap();
    assert!(
        html.contains("must expire after the escalation on day 28"),
        "{html}"
    );
    fields[6].1 = "31";
    let rejected = admin
        .post(app.url("/admin/settings"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(rejected.status(), 422);
    let html = rejected.text().await.unwrap();
    assert!(
        html.contains("&quot;no-such-questionnaire&quot; is not in your questionnaire library"),
        "{html}"
    );

    fields[14].1 = "healthcare-vendor-security-lite";
    fields.push(("approval_required", "on"));
    let saved = admin
        .post(app.url("/admin/settings"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 200);
    assert!(
        saved
            .text()
            .await
            .unwrap()
            .contains("Schedule settings saved")
    );
    let stored: Value = app
        .api(&tenant.api_token)
        .get("/api/v1/settings/schedule")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stored["data"]["time_zone"], "America/Chicago");
    assert_eq!(stored["data"]["approval_required"], true);
    assert_eq!(
        stored["data"]["questionnaires"][2],
        "healthcare-vendor-security-lite"
    );

    // The API names bad fields the same way.
    let mut body = stored["data"].clone();
    body["send_hour"] = 24.into();
    let rejected = app
        .api(&tenant.api_token)
        .put("/api/v1/settings/schedule")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(rejected.status(), 422);
    let error: Value = rejected.json().await.unwrap();
    assert!(error.to_string().contains("24 is not an hour"), "{error}");

    // Wrong types, unknown and missing fields and ranges are each named with their value.
    let mut body = stored["data"].clone();
    body["time_zone"] = "Mars/Olympus".into();
    body["send_hour"] = "9".into();
    body["colour"] = "blue".into();
    body.as_object_mut().unwrap().remove("due_in_days");
    let rejected = app
        .api(&tenant.api_token)
        .put("/api/v1/settings/schedule")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(rejected.status(), 422);
    let error: Value = rejected.json().await.unwrap();
    let message = |field: &str| -> String {
        error["error"]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|item| item["field"] == field)
            .map(|item| item["message"].as_str().unwrap().to_owned())
            .unwrap_or_else(|| panic!("no error for {field}: {error}"))
    };
    assert!(message("time_zone").contains("Mars/Olympus"));
    assert!(message("send_hour").contains("\"9\""));
    assert!(message("colour").contains("is not a schedule setting"));
    assert!(message("due_in_days").contains("missing"));

    let mut body = stored["data"].clone();
    body["cadence_months"] = json!([0, 61, 24, 36]);
    body["reminder_days"] = json!([3, 91, 3]);
    let rejected = app
        .api(&tenant.api_token)
        .put("/api/v1/settings/schedule")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(rejected.status(), 422);
    let text = rejected.text().await.unwrap();
    assert!(text.contains("critical 0 months, high 61 months"), "{text}");
    assert!(text.contains("and 91 does not"), "{text}");
    assert!(text.contains("3 days is listed twice"), "{text}");
}

#[tokio::test]
async fn vendor_schedule_form_checks_date_and_owner() {
    let app = app().await;
    let (api, admin, vendor_id) = tenant_with_vendor(&app, &["pat@northwind.example"]).await;
    let page = format!("/vendors/{vendor_id}");
    let html = admin
        .get(app.url(&page))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Not scheduled"));
    let csrf = crate::helpers::csrf_from(&html).unwrap();
    let rejected = admin
        .post(app.url(&format!("{page}/schedule")))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("next_review_on", "03/15/2027"),
            ("owner_user_id", "not-a-user"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(rejected.status(), 422);
    let html = rejected.text().await.unwrap();
    assert!(
        html.contains("2027&quot; is not a date; write it as YYYY-MM-DD"),
        "{html}"
    );
    assert!(
        html.contains("is not an active procurement member or administrator"),
        "{html}"
    );

    // The administrator appears in the owner list; choosing them and a date saves both.
    let owner = html
        .split("<option value=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap())
        .find(|value| value.len() == 36)
        .expect("an owner to choose")
        .to_owned();
    let saved = admin
        .post(app.url(&format!("{page}/schedule")))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("next_review_on", "2027-03-15"),
            ("owner_user_id", owner.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 303);
    let vendor: Value = api
        .get(&format!("/api/v1/vendors/{vendor_id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(vendor["next_review_on"], "2027-03-15");
    assert_eq!(vendor["owner_user_id"], owner.as_str());
    let html = admin
        .get(app.url(&page))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Mar 15, 2027"));
    assert!(html.contains("Avery Admin"), "the owner is named");
}
