//! Procurement tracking: the cycle-time report, the per-assessment timeline and the tracker,
//! checked against event histories built here and figures worked out by hand.
//!
//! Each case sends a real assessment through the API, then replaces its status events with a
//! constructed history. The `status` column keeps whatever the API left (`sent`), so the
//! figures can only come out right if they are read from the events.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use portal::store::entities::{assessment, assessment_event};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{ApiClient, TestApp, spawn_app_with};
use crate::schedule::{configure, vendor};

pub(crate) async fn app() -> TestApp {
    let app = spawn_app_with(|config| config.run_worker = false).await;
    app.clock
        .set(Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap());
    app
}

/// One constructed assessment: its vendor's tier, due date and status history in local time.
pub(crate) struct Case {
    name: &'static str,
    tier: &'static str,
    due: &'static str,
    steps: &'static [(&'static str, &'static str)],
}

/// Sends an assessment to a new vendor and gives it `case`'s history and due date. When
/// `sync_status` is set the `status` column follows the last event, as the workflow leaves it.
pub(crate) async fn build(
    app: &TestApp,
    api: &ApiClient,
    zone: Tz,
    case: &Case,
    sync_status: bool,
) -> Uuid {
    let vendor_id = vendor(
        api,
        case.name,
        case.tier,
        &format!(
            "{}@vendor.example.com",
            case.name.to_lowercase().replace(' ', "-")
        ),
        None,
    )
    .await;
    let response = api
        .post("/api/v1/assessments")
        .json(&json!({ "vendor_id": vendor_id, "questionnaire": "healthcare-vendor-security-lite", "due_date": "2099-01-31" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    let body: Value = response.json().await.unwrap();
    let id: Uuid = body["id"].as_str().unwrap().parse().unwrap();
    let db = app.state.db().writer();
    let row = assessment::Entity::find_by_id(id)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assessment_event::Entity::delete_many()
        .filter(assessment_event::Column::AssessmentId.eq(id))
        .exec(db)
        .await
        .unwrap();
    let mut from: Option<&str> = Some("draft");
    for (index, (time, to)) in case.steps.iter().enumerate() {
        assessment_event::ActiveModel {
            // Ids that grow with the step keep same-instant events in order.
            id: Set(Uuid::from_u128((id.as_u128() & !0xffff) | index as u128)),
            tenant_id: Set(row.tenant_id),
            assessment_id: Set(id),
            from_status: Set(from.map(str::to_owned)),
            to_status: Set((*to).to_owned()),
            actor_kind: Set("system".to_owned()),
            actor_id: Set(None),
            actor_label: Set("Test history".to_owned()),
            note: Set(None),
            created_at: Set(local(zone, time)),
        }
        .insert(db)
        .await
        .unwrap();
        from = Some(to);
    }
    let mut update: assessment::ActiveModel = row.into();
    update.due_on = Set(case.due.parse::<NaiveDate>().unwrap());
    if sync_status {
        update.status = Set(case.steps.last().unwrap().1.to_owned());
    }
    update.update(db).await.unwrap();
    id
}

fn local(zone: Tz, text: &str) -> DateTime<Utc> {
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap();
    zone.from_local_datetime(&naive)
        .earliest()
        .unwrap()
        .with_timezone(&Utc)
}

async fn report(api: &ApiClient, from: &str, to: &str) -> Value {
    let response = api
        .get(&format!("/api/v1/metrics/cycle-time?from={from}&to={to}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let body: Value = response.json().await.unwrap();
    body["data"].clone()
}

fn summary(count: u64, median: Option<f64>, p90: Option<f64>) -> Value {
    json!({ "count": count, "median_days": median, "p90_days": p90 })
}

/// March 2027 in New York, with the spring daylight-saving change on March 14. Days are counted
/// on local dates; the comments give each stage's days.
pub(crate) const NEW_YORK_MARCH: &[Case] = &[
    // Clarification round; the last stage spans the clock change and ends late in the evening,
    // already March 16 in UTC. Vendor 1+3+3 = 7, analyst 3+1+3 = 7, total 14, on time.
    Case {
        name: "Alder Imaging",
        tier: "critical",
        due: "2027-03-20",
        steps: &[
            ("2027-02-26 10:00", "draft"),
            ("2027-03-01 09:00", "sent"),
            ("2027-03-02 11:00", "in_progress"),
            ("2027-03-05 17:00", "submitted"),
            ("2027-03-08 09:00", "in_review"),
            ("2027-03-09 09:00", "clarification_requested"),
            ("2027-03-12 09:00", "in_review"),
            ("2027-03-15 21:30", "completed"),
        ],
    },
    // Completed, reopened and completed again: the 8 days it stood completed count toward the
    // total but neither side. Vendor 7, analyst 0+2+5 = 7, total 22, late.
    Case {
        name: "Birch Billing",
        tier: "critical",
        due: "2027-03-15",
        steps: &[
            ("2027-03-03 08:00", "sent"),
            ("2027-03-10 08:00", "submitted"),
            ("2027-03-10 15:00", "in_review"),
            ("2027-03-12 12:00", "completed"),
            ("2027-03-20 12:00", "in_review"),
            ("2027-03-25 12:00", "completed"),
        ],
    },
    // Sent and submitted in February, completed on March 2: counts as completed only.
    // Vendor 1+9 = 10, analyst 1+9 = 10, total 20, late by a day.
    Case {
        name: "Cedar Devices",
        tier: "high",
        due: "2027-03-01",
        steps: &[
            ("2027-02-10 09:00", "sent"),
            ("2027-02-11 09:00", "in_progress"),
            ("2027-02-20 09:00", "submitted"),
            ("2027-02-21 09:00", "in_review"),
            ("2027-03-02 09:00", "completed"),
        ],
    },
    // Cancelled: counted as cancelled and nowhere else, not even as sent.
    Case {
        name: "Dogwood Labs",
        tier: "high",
        due: "2027-03-30",
        steps: &[
            ("2027-03-04 09:00", "sent"),
            ("2027-03-06 09:00", "cancelled"),
        ],
    },
    // Sent and expired in March.
    Case {
        name: "Elm Staffing",
        tier: "moderate",
        due: "2027-03-24",
        steps: &[
            ("2027-03-05 09:00", "sent"),
            ("2027-03-31 09:00", "expired"),
        ],
    },
    // Still open: sent and submitted in March.
    Case {
        name: "Fir Transcription",
        tier: "low",
        due: "2027-04-20",
        steps: &[
            ("2027-03-20 09:00", "sent"),
            ("2027-03-21 09:00", "in_progress"),
            ("2027-03-28 09:00", "submitted"),
        ],
    },
    // Sent in March, completed in April.
    Case {
        name: "Gum Courier",
        tier: "low",
        due: "2027-04-25",
        steps: &[
            ("2027-03-25 09:00", "sent"),
            ("2027-04-02 09:00", "submitted"),
            ("2027-04-03 09:00", "in_review"),
            ("2027-04-05 09:00", "completed"),
        ],
    },
    // Every event in January: no event in March, so it must not move March's figures.
    Case {
        name: "Hazel Dental",
        tier: "moderate",
        due: "2027-01-31",
        steps: &[
            ("2027-01-05 09:00", "sent"),
            ("2027-01-10 09:00", "submitted"),
            ("2027-01-11 09:00", "in_review"),
            ("2027-01-20 09:00", "completed"),
        ],
    },
];

#[tokio::test]
async fn cycle_time_figures_match_hand_computed_values() {
    let app = app().await;
    let tenant = app
        .create_tenant("Mercy Health", "admin@mercy.example.org")
        .await;
    let api = app.api(&tenant.api_token);
    configure(&api, json!({ "time_zone": "America/New_York" })).await;
    let zone: Tz = "America/New_York".parse().unwrap();
    for case in NEW_YORK_MARCH {
        build(&app, &api, zone, case, false).await;
    }

    let march = report(&api, "2027-03-01", "2027-03-31").await;
    assert_eq!(march["time_zone"], "America/New_York");
    assert_eq!(
        march["counts"],
        json!({ "sent": 5, "submitted": 3, "completed": 3, "completed_on_time": 1, "cancelled": 1, "expired": 1 })
    );
    assert_eq!(march["on_time_rate"], json!(1.0 / 3.0));
    // Totals 14, 20, 22; vendor and analyst time 7, 7, 10.
    assert_eq!(march["cycle_time"], summary(3, Some(20.0), Some(22.0)));
    assert_eq!(march["vendor_time"], summary(3, Some(7.0), Some(10.0)));
    assert_eq!(march["analyst_time"], summary(3, Some(7.0), Some(10.0)));

    let tiers = march["by_tier"].as_array().unwrap();
    let tier = |name: &str| tiers.iter().find(|tier| tier["tier"] == name).unwrap();
    assert_eq!(tier("critical")["completed"], 2);
    assert_eq!(tier("critical")["on_time_rate"], 0.5);
    assert_eq!(
        tier("critical")["cycle_time"],
        summary(2, Some(18.0), Some(22.0))
    );
    assert_eq!(
        tier("critical")["vendor_time"],
        summary(2, Some(7.0), Some(7.0))
    );
    assert_eq!(
        tier("high")["cycle_time"],
        summary(1, Some(20.0), Some(20.0))
    );
    assert_eq!(tier("high")["on_time_rate"], 0.0);
    assert_eq!(tier("moderate")["cycle_time"], summary(0, None, None));
    assert_eq!(tier("low")["on_time_rate"], Value::Null);

    // Days per stage over the three completed ones, every visit added up.
    let stages = march["by_stage"].as_array().unwrap();
    let stage = |name: &str| {
        let found = stages.iter().find(|stage| stage["status"] == name).unwrap();
        (found["median_days"].clone(), found["p90_days"].clone())
    };
    assert_eq!(stage("sent"), (json!(1.0), json!(7.0))); // 1, 7, 1
    // Birch never was in progress and only Alder had a clarification round.
    assert_eq!(stage("in_progress"), (json!(6.0), json!(9.0))); // 3, 9
    assert_eq!(stage("submitted"), (json!(1.0), json!(3.0))); // 3, 0 (same day), 1
    assert_eq!(stage("in_review"), (json!(7.0), json!(9.0))); // 1+3, 2+5, 9
    assert_eq!(stage("clarification_requested"), (json!(3.0), json!(3.0))); // 3
    assert_eq!(
        march["by_month"],
        json!([{ "month": "2027-03", "sent": 5, "completed": 3, "cycle_time": summary(3, Some(20.0), Some(22.0)) }])
    );

    // A period spanning February to April: Cedar counts as sent in February, Gum as completed
    // in April (sent March 25, completed April 5: 11 days).
    let spring = report(&api, "2027-02-01", "2027-04-30").await;
    assert_eq!(spring["counts"]["sent"], 6);
    assert_eq!(spring["counts"]["completed"], 4);
    let months: Vec<(Value, Value)> = spring["by_month"]
        .as_array()
        .unwrap()
        .iter()
        .map(|month| (month["month"].clone(), month["completed"].clone()))
        .collect();
    assert_eq!(
        months,
        vec![
            (json!("2027-02"), json!(0)),
            (json!("2027-03"), json!(3)),
            (json!("2027-04"), json!(1))
        ]
    );
    assert_eq!(
        spring["by_month"][2]["cycle_time"],
        summary(1, Some(11.0), Some(11.0))
    );

    // A period in which nothing happened.
    let empty = report(&api, "2026-06-01", "2026-06-30").await;
    assert_eq!(
        empty["counts"],
        json!({ "sent": 0, "submitted": 0, "completed": 0, "completed_on_time": 0, "cancelled": 0, "expired": 0 })
    );
    assert_eq!(empty["cycle_time"], summary(0, None, None));
    assert_eq!(empty["on_time_rate"], Value::Null);
    assert_eq!(empty["by_month"][0]["cycle_time"], summary(0, None, None));
}

#[tokio::test]
async fn autumn_change_in_berlin_counts_local_calendar_days() {
    let app = app().await;
    let tenant = app
        .create_tenant("Charité Partner", "admin@berlin.example.org")
        .await;
    let api = app.api(&tenant.api_token);
    configure(&api, json!({ "time_zone": "Europe/Berlin" })).await;
    let zone: Tz = "Europe/Berlin".parse().unwrap();
    // Clocks go back on 2027-10-31. Sent late on October 30 (still October 30 in UTC too),
    // submitted half an hour after midnight local time (October 30 in UTC): 1 day, not 0.
    // Completed on November 1 just after midnight: total 2 days (1 in UTC).
    let id = build(
        &app,
        &api,
        zone,
        &Case {
            name: "Linden Lab",
            tier: "moderate",
            due: "2027-11-01",
            steps: &[
                ("2027-10-30 23:30", "sent"),
                ("2027-10-31 00:30", "submitted"),
                ("2027-10-31 02:30", "in_review"),
                ("2027-11-01 00:10", "completed"),
            ],
        },
        false,
    )
    .await;
    let october = report(&api, "2027-10-01", "2027-11-30").await;
    assert_eq!(october["cycle_time"], summary(1, Some(2.0), Some(2.0)));
    assert_eq!(october["vendor_time"], summary(1, Some(1.0), Some(1.0)));
    assert_eq!(october["analyst_time"], summary(1, Some(1.0), Some(1.0)));
    assert_eq!(october["counts"]["completed_on_time"], 1);

    let body: Value = api
        .get(&format!("/api/v1/assessments/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let days: Vec<Value> = body["timeline"]["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|stage| json!([stage["status"], stage["days"], stage["waiting_on"]]))
        .collect();
    assert_eq!(
        days,
        vec![
            json!(["sent", 1, "vendor"]),
            json!(["submitted", 0, "analyst"]),
            json!(["in_review", 1, "analyst"]),
            json!(["completed", 0, "nobody"]),
        ]
    );
    assert_eq!(body["timeline"]["total_days"], 2);
}

#[tokio::test]
async fn cycle_time_rejects_bad_periods_with_the_value() {
    let app = app().await;
    let tenant = app
        .create_tenant("Mercy Health", "admin@mercy.example.org")
        .await;
    let api = app.api(&tenant.api_token);
    for (query, field, needle) in [
        (
            "from=2027-13-01&to=2027-12-31",
            "from",
            "\"2027-13-01\" is not a date",
        ),
        (
            "from=2027-01-01&to=31/12/2027",
            "to",
            "\"31/12/2027\" is not a date",
        ),
        (
            "from=2027-06-01&to=2027-01-01",
            "from",
            "starts on 2027-06-01",
        ),
        (
            "from=2000-01-01&to=2027-01-01",
            "from",
            "longer than ten years",
        ),
    ] {
        let response = api
            .get(&format!("/api/v1/metrics/cycle-time?{query}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 422, "{query}");
        let body: Value = response.json().await.unwrap();
        let error = &body["error"]["fields"][0];
        assert_eq!(error["field"], field, "{query}: {body}");
        assert!(
            error["message"].as_str().unwrap().contains(needle),
            "{query}: {body}"
        );
    }
    // Without dates: the twelve months up to today.
    let body = report(&api, "", "").await;
    assert_eq!(
        body["period"],
        json!({ "from": "2026-01-01", "to": "2026-12-01" })
    );
    assert_eq!(body["by_month"].as_array().unwrap().len(), 12);
}

/// Open assessments on 2027-03-10 in New York.
const OPEN: &[Case] = &[
    // Waits on the vendor since March 1, due March 8: overdue by 2 days.
    Case {
        name: "Ash Records",
        tier: "critical",
        due: "2027-03-08",
        steps: &[("2027-03-01 09:00", "sent")],
    },
    // Waits on an analyst since March 7.
    Case {
        name: "Beech Pharmacy",
        tier: "high",
        due: "2027-03-20",
        steps: &[
            ("2027-02-20 09:00", "sent"),
            ("2027-03-07 16:00", "submitted"),
        ],
    },
    // Back with the vendor for clarification since March 9.
    Case {
        name: "Cherry Lab",
        tier: "low",
        due: "2027-03-31",
        steps: &[
            ("2027-02-01 09:00", "sent"),
            ("2027-02-15 09:00", "submitted"),
            ("2027-02-16 09:00", "in_review"),
            ("2027-03-09 22:00", "clarification_requested"),
        ],
    },
    // Completed: not in the tracker.
    Case {
        name: "Date Health",
        tier: "low",
        due: "2027-03-31",
        steps: &[
            ("2027-02-01 09:00", "sent"),
            ("2027-02-15 09:00", "submitted"),
            ("2027-02-16 09:00", "in_review"),
            ("2027-02-20 09:00", "completed"),
        ],
    },
];

fn csv_rows(text: &str) -> Vec<std::collections::HashMap<String, String>> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|record| {
            headers
                .iter()
                .zip(record.unwrap().iter())
                .map(|(name, value)| (name.to_owned(), value.to_owned()))
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn tracker_shows_waiting_side_stage_age_and_overdue() {
    let app = app().await;
    // 03:30 UTC on March 11 is still March 10 in New York.
    app.clock
        .set(Utc.with_ymd_and_hms(2027, 3, 11, 3, 30, 0).unwrap());
    let (tenant, client) = app
        .tenant_with_admin("Mercy Health", "admin@mercy.example.org")
        .await;
    let api = app.api(&tenant.api_token);
    configure(&api, json!({ "time_zone": "America/New_York" })).await;
    let zone: Tz = "America/New_York".parse().unwrap();
    for case in OPEN {
        build(&app, &api, zone, case, true).await;
    }

    let csv = client
        .get(app.url("/tracker.csv?sort=-days_in_stage"))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    let rows = csv_rows(&csv.text().await.unwrap());
    let summary: Vec<[&str; 5]> = rows
        .iter()
        .map(|row| {
            [
                row["vendor"].as_str(),
                row["waiting_on"].as_str(),
                row["days_in_stage"].as_str(),
                row["overdue"].as_str(),
                row["days_overdue"].as_str(),
            ]
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ["Ash Records", "vendor", "9", "yes", "2"],
            ["Beech Pharmacy", "analyst", "3", "no", "0"],
            ["Cherry Lab", "vendor", "1", "no", "0"],
        ]
    );
    assert_eq!(rows[0]["answered"], "0");
    assert_ne!(rows[0]["shown"], "0");

    for (query, expected) in [
        ("waiting_on=analyst", vec!["Beech Pharmacy"]),
        ("overdue=yes", vec!["Ash Records"]),
        ("tier=low", vec!["Cherry Lab"]),
        ("status=clarification_requested", vec!["Cherry Lab"]),
        (
            "owner_id=none&sort=-vendor",
            vec!["Cherry Lab", "Beech Pharmacy", "Ash Records"],
        ),
    ] {
        let text = client
            .get(app.url(&format!("/tracker.csv?{query}")))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let vendors: Vec<String> = csv_rows(&text)
            .into_iter()
            .map(|row| row["vendor"].clone())
            .collect();
        assert_eq!(vendors, expected, "{query}");
    }

    // Pages of two by due date: the second page contains the rest, and nothing repeats.
    let first = client
        .get(app.url("/tracker?sort=due&limit=2"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(first.contains("3 open assessments"), "{first}");
    assert!(first.contains("Ash Records"));
    assert!(first.contains("Beech Pharmacy"));
    assert!(!first.contains("Cherry Lab"));
    assert!(!first.contains("Date Health"));
    let next = first
        .split("href=\"")
        .filter_map(|part| part.split('"').next())
        .map(|href| href.replace("&#x2f;", "/"))
        .find(|href| href.starts_with("/tracker?") && href.contains("after="))
        .expect("a next-page link")
        .replace("&amp;", "&");
    let second = client
        .get(app.url(&next))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        second.contains("Cherry Lab") && !second.contains("Ash Records"),
        "{second}"
    );
    let other_order = client
        .get(app.url(&next.replace("sort=due", "sort=-vendor")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        other_order.status(),
        422,
        "a position from another sort order"
    );

    let bad = client
        .get(app.url("/tracker?overdue=maybe&sort=color"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    let page = bad.text().await.unwrap();
    assert!(
        page.contains("&quot;maybe&quot; is not a choice for overdue")
            || page.contains("\"maybe\" is not a choice for overdue"),
        "{page}"
    );
    assert!(page.contains("color"), "{page}");

    // The API lists the same stage ages.
    let list: Value = api
        .get("/api/v1/assessments?status=open")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ash = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["vendor_name"] == "Ash Records")
        .unwrap();
    assert_eq!(ash["waiting_on"], "vendor");
    assert_eq!(ash["stage_ages"]["days_in_stage"], 9);
    assert_eq!(ash["stage_ages"]["vendor_days"], 9);

    // The dashboard page renders for the same tenant.
    let dashboard = client
        .get(app.url("/metrics/cycle-time?from=2027-02-01&to=2027-03-10"))
        .send()
        .await
        .unwrap();
    assert_eq!(dashboard.status(), 200);
    let html = dashboard.text().await.unwrap();
    assert!(
        html.contains("<svg") && html.contains("Median cycle time by month"),
        "{html}"
    );
}

#[tokio::test]
async fn demo_sends_sample_assessments_once() {
    use sea_orm::PaginatorTrait;
    let app = app().await;
    portal::demo::seed(&app.state)
        .await
        .expect("the demo seeds");
    portal::demo::seed(&app.state)
        .await
        .expect("the demo starts again");
    let sent = assessment::Entity::find()
        .count(app.state.db().reader())
        .await
        .unwrap();
    assert_eq!(sent, 3, "three sample assessments, not repeated on restart");
}
