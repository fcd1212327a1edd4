use super::*;

fn date(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).unwrap()
}

fn settings(zone: Tz) -> ScheduleSettings {
    ScheduleSettings {
        time_zone: zone,
        ..ScheduleSettings::default()
    }
}

#[test]
fn send_time_follows_local_clock_across_dst() {
    let cases = [
        // New York: EST is UTC-5, EDT is UTC-4; in 2027 DST starts March 14 and ends November 7.
        (
            Tz::America__New_York,
            date(2027, 3, 13),
            "2027-03-13T14:00:00Z",
        ),
        (
            Tz::America__New_York,
            date(2027, 3, 14),
            "2027-03-14T13:00:00Z",
        ),
        (
            Tz::America__New_York,
            date(2027, 11, 6),
            "2027-11-06T13:00:00Z",
        ),
        (
            Tz::America__New_York,
            date(2027, 11, 7),
            "2027-11-07T14:00:00Z",
        ),
        // Berlin: CET is UTC+1, CEST is UTC+2; in 2027 DST starts March 28 and ends October 31.
        (
            Tz::Europe__Berlin,
            date(2027, 3, 27),
            "2027-03-27T08:00:00Z",
        ),
        (
            Tz::Europe__Berlin,
            date(2027, 3, 28),
            "2027-03-28T07:00:00Z",
        ),
        (
            Tz::Europe__Berlin,
            date(2027, 10, 30),
            "2027-10-30T07:00:00Z",
        ),
        (
            Tz::Europe__Berlin,
            date(2027, 10, 31),
            "2027-10-31T08:00:00Z",
        ),
    ];
    for (zone, day, expected) in cases {
        assert_eq!(
            settings(zone)
                .send_time(day)
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            expected,
            "{zone} {day}"
        );
    }
}

#[test]
fn skipped_and_repeated_local_hours_have_one_instant() {
    // 02:00 does not exist in New York on 2027-03-14 and happens twice on 2027-11-07.
    let skipped = local_instant(Tz::America__New_York, date(2027, 3, 14), 2);
    assert_eq!(
        skipped.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "2027-03-14T07:00:00Z",
        "03:00 EDT, the first time after the gap"
    );
    let repeated = local_instant(Tz::America__New_York, date(2027, 11, 7), 1);
    assert_eq!(
        repeated.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "2027-11-07T05:00:00Z",
        "the first 01:00, still EDT"
    );
}

#[test]
fn slots_are_one_per_day_over_a_dst_change() {
    // Due on Sunday 2027-03-21 in New York: the 7-day reminder falls on the DST change day.
    let slots = settings(Tz::America__New_York).slots(date(2027, 3, 21));
    let keys: Vec<String> = slots.iter().map(Slot::key).collect();
    assert_eq!(
        keys,
        [
            "before-7",
            "before-3",
            "before-1",
            "overdue-1",
            "overdue-2",
            "overdue-3",
            "escalation",
            "expiry"
        ]
    );
    let dates: Vec<NaiveDate> = slots.iter().map(|slot| slot.date).collect();
    assert_eq!(
        dates,
        [
            date(2027, 3, 14),
            date(2027, 3, 18),
            date(2027, 3, 20),
            date(2027, 3, 28),
            date(2027, 4, 4),
            date(2027, 4, 11),
            date(2027, 4, 18),
            date(2027, 4, 21)
        ]
    );
    assert_eq!(
        slots[0]
            .at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "2027-03-14T13:00:00Z",
        "9:00 EDT on the change day"
    );
    assert_eq!(
        slots[7]
            .at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "2027-04-21T04:00:00Z",
        "midnight EDT after day 30"
    );
    assert!(slots.windows(2).all(|pair| pair[0].at < pair[1].at));
}

#[test]
fn stale_reminders_are_skipped_but_escalation_is_not() {
    let slots = ScheduleSettings::default().slots(date(2027, 5, 10));
    let before = &slots[0];
    assert!(!before.is_stale(before.at + TimeDelta::hours(23)));
    assert!(before.is_stale(before.at + TimeDelta::hours(24)));
    let escalation = slots
        .iter()
        .find(|slot| slot.kind == SlotKind::Escalation)
        .unwrap();
    assert!(!escalation.is_stale(escalation.at + TimeDelta::days(30)));
}

#[test]
fn next_review_adds_calendar_months_by_tier() {
    let settings = ScheduleSettings::default();
    assert_eq!(
        settings.next_review(date(2027, 1, 31), Tier::Critical),
        date(2028, 1, 31)
    );
    assert_eq!(
        settings.next_review(date(2027, 1, 31), Tier::Moderate),
        date(2029, 1, 31)
    );
    assert_eq!(
        settings.next_review(date(2028, 2, 29), Tier::Low),
        date(2031, 2, 28)
    );
    assert_eq!(add_months(date(2027, 1, 31), 1), date(2027, 2, 28));
}

#[test]
fn validate_rejects_incoherent_settings() {
    assert!(ScheduleSettings::default().validate().is_ok());
    let too_short = ScheduleSettings {
        expire_after_days: 28,
        ..ScheduleSettings::default()
    };
    let problems = too_short.validate().unwrap_err();
    assert!(
        problems
            .iter()
            .any(|(field, message)| *field == "expire_after_days" && message.contains("day 28"))
    );
    let bad_hour = ScheduleSettings {
        send_hour: 24,
        cadence_months: [0, 12, 24, 36],
        ..ScheduleSettings::default()
    };
    assert_eq!(bad_hour.validate().unwrap_err().len(), 2);
}
