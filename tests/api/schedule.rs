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
async fn configure(api: &ApiClient, changes: Value) {
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
async fn vendor(
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
async fn a_simulated_year_sends_each_email_once_at_local_morning() {
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
