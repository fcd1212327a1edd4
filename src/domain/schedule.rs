//! Schedule policy: a tenant's settings for reassessment cadence, reminders and expiry, and the
//! instants at which each reminder falls, computed in the tenant's time zone.
//!
//! Reminders go out at `send_hour` local time. A local time that a daylight-saving change skips
//! is moved to the first instant after the gap, and a repeated local time takes its first
//! occurrence, so each reminder has exactly one instant and no change skips or repeats one.

use chrono::{
    DateTime, Datelike, LocalResult, Months, NaiveDate, NaiveTime, TimeDelta, TimeZone, Utc,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::vendor::Tier;

/// Why an assessment started.
pub const REASON_MANUAL: &str = "manual";
pub const REASON_CYCLE: &str = "cycle";
pub const REASON_RENEWAL: &str = "contract_renewal";
pub const REASON_EVIDENCE: &str = "evidence_expired";

/// Returns the label of a stored reason.
pub fn reason_label(reason: &str) -> &'static str {
    match reason {
        REASON_CYCLE => "Scheduled reassessment",
        REASON_RENEWAL => "Contract renewal",
        REASON_EVIDENCE => "Expired evidence",
        _ => "Started by staff",
    }
}

/// A tenant's schedule settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleSettings {
    /// IANA time zone name, such as `America/Chicago`.
    pub time_zone: Tz,
    /// Local hour (0 to 23) at which reminders and notices are sent.
    pub send_hour: u32,
    /// Days before the due date on which reminders are sent, such as 7, 3 and 1.
    pub reminder_days: Vec<u32>,
    /// Days between overdue reminders.
    pub overdue_interval_days: u32,
    /// Most overdue reminders; the escalation follows one interval after the last.
    pub overdue_max: u32,
    /// Days after the due date at which an unsubmitted assessment expires with its links.
    pub expire_after_days: u32,
    /// Days from sending to the due date of a scheduled assessment.
    pub due_in_days: u32,
    /// Months between assessments, by tier: critical, high, moderate, low.
    pub cadence_months: [u32; 4],
    /// Questionnaire key sent to each tier: critical, high, moderate, low.
    pub questionnaires: [String; 4],
    /// Whether scheduled assessments wait for procurement's approval before they are sent.
    pub approval_required: bool,
    /// Days before a contract renewal at which an off-cycle assessment starts.
    pub renewal_lead_days: u32,
    /// Days before a document's expiry at which the vendor and analysts are told.
    pub evidence_warning_days: u32,
}

impl Default for ScheduleSettings {
    fn default() -> Self {
        let full = "healthcare-vendor-security".to_owned();
        Self {
            time_zone: Tz::UTC,
            send_hour: 9,
            reminder_days: vec![7, 3, 1],
            overdue_interval_days: 7,
            overdue_max: 3,
            expire_after_days: 30,
            due_in_days: 30,
            cadence_months: [12, 12, 24, 36],
            questionnaires: [
                full.clone(),
                full.clone(),
                full,
                "healthcare-vendor-security-lite".to_owned(),
            ],
            approval_required: false,
            renewal_lead_days: 90,
            evidence_warning_days: 30,
        }
    }
}

impl ScheduleSettings {
    /// Checks that the settings make a coherent schedule.
    ///
    /// # Errors
    /// Returns each problem by field name.
    pub fn validate(&self) -> Result<(), Vec<(&'static str, String)>> {
        let mut problems = Vec::new();
        if self.send_hour > 23 {
            problems.push((
                "send_hour",
                format!("{} is not an hour; use 0 to 23.", self.send_hour),
            ));
        }
        let outside: Vec<String> = self
            .reminder_days
            .iter()
            .filter(|days| !(1..=90).contains(*days))
            .map(u32::to_string)
            .collect();
        if !outside.is_empty() {
            problems.push((
                "reminder_days",
                format!(
                    "Each reminder must fall 1 to 90 days before the due date, and {} does not.",
                    outside.join(", ")
                ),
            ));
        }
        let mut sorted = self.reminder_days.clone();
        sorted.sort_unstable();
        if let Some(pair) = sorted.windows(2).find(|pair| pair[0] == pair[1]) {
            problems.push((
                "reminder_days",
                format!("{} days is listed twice; give each reminder once.", pair[0]),
            ));
        }
        if !(1..=30).contains(&self.overdue_interval_days) {
            problems.push((
                "overdue_interval_days",
                format!(
                    "{} days is outside the range; use 1 to 30 days between overdue reminders.",
                    self.overdue_interval_days
                ),
            ));
        }
        if self.overdue_max > 10 {
            problems.push((
                "overdue_max",
                format!(
                    "{} is more than 10; send at most 10 overdue reminders.",
                    self.overdue_max
                ),
            ));
        }
        let escalation = self.overdue_interval_days * (self.overdue_max + 1);
        if self.expire_after_days <= escalation {
            problems.push((
                "expire_after_days",
                format!(
                    "The assessment must expire after the escalation on day {escalation} after the due date; use more than {escalation} days or fewer overdue reminders."
                ),
            ));
        }
        if !(1..=365).contains(&self.due_in_days) {
            problems.push((
                "due_in_days",
                format!(
                    "{} days is outside the range; give vendors 1 to 365 days to answer.",
                    self.due_in_days
                ),
            ));
        }
        let outside: Vec<String> = Tier::ALL
            .iter()
            .filter(|tier| !(1..=60).contains(&self.cadence(**tier)))
            .map(|tier| format!("{} {} months", tier.as_str(), self.cadence(*tier)))
            .collect();
        if !outside.is_empty() {
            problems.push((
                "cadence_months",
                format!(
                    "Reassess every 1 to 60 months; {} is outside that range.",
                    outside.join(", ")
                ),
            ));
        }
        if self.renewal_lead_days > 365 {
            problems.push((
                "renewal_lead_days",
                format!(
                    "{} days is more than 365; start at most 365 days before a renewal.",
                    self.renewal_lead_days
                ),
            ));
        }
        if !(1..=180).contains(&self.evidence_warning_days) {
            problems.push((
                "evidence_warning_days",
                format!(
                    "{} days is outside the range; warn 1 to 180 days before a document expires.",
                    self.evidence_warning_days
                ),
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    pub fn cadence(&self, tier: Tier) -> u32 {
        self.cadence_months[(tier.rank() - 1) as usize]
    }

    pub fn questionnaire(&self, tier: Tier) -> &str {
        &self.questionnaires[(tier.rank() - 1) as usize]
    }

    /// Returns today's date in the tenant's time zone.
    pub fn today(&self, now: DateTime<Utc>) -> NaiveDate {
        now.with_timezone(&self.time_zone).date_naive()
    }

    /// Returns the instant of `send_hour` o'clock local time on `date`.
    pub fn send_time(&self, date: NaiveDate) -> DateTime<Utc> {
        local_instant(self.time_zone, date, self.send_hour)
    }

    /// Returns the instant at which an assessment due on `due_on` expires, with its links: the
    /// start of the local day after `expire_after_days` days past the due date.
    pub fn expiry(&self, due_on: NaiveDate) -> DateTime<Utc> {
        local_instant(
            self.time_zone,
            due_on + TimeDelta::days(i64::from(self.expire_after_days) + 1),
            0,
        )
    }

    /// Returns the date of the next scheduled assessment after one completed on `completed_on`.
    pub fn next_review(&self, completed_on: NaiveDate, tier: Tier) -> NaiveDate {
        add_months(completed_on, self.cadence(tier))
    }

    /// Lists every reminder, overdue reminder, escalation and expiry of an assessment due on
    /// `due_on`, in time order.
    pub fn slots(&self, due_on: NaiveDate) -> Vec<Slot> {
        let mut slots = Vec::new();
        let mut days: Vec<u32> = self.reminder_days.clone();
        days.sort_unstable_by(|a, b| b.cmp(a));
        days.dedup();
        for days in days {
            let date = due_on - TimeDelta::days(i64::from(days));
            slots.push(Slot::new(
                SlotKind::BeforeDue(days),
                date,
                self.send_time(date),
            ));
        }
        for number in 1..=self.overdue_max {
            let date = due_on + TimeDelta::days(i64::from(number * self.overdue_interval_days));
            slots.push(Slot::new(
                SlotKind::Overdue(number),
                date,
                self.send_time(date),
            ));
        }
        let escalation = due_on
            + TimeDelta::days(i64::from(
                (self.overdue_max + 1) * self.overdue_interval_days,
            ));
        slots.push(Slot::new(
            SlotKind::Escalation,
            escalation,
            self.send_time(escalation),
        ));
        let expiry = self.expiry(due_on);
        slots.push(Slot::new(
            SlotKind::Expiry,
            expiry.with_timezone(&self.time_zone).date_naive(),
            expiry,
        ));
        slots
    }
}

/// What a slot of an assessment's schedule does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "number")]
pub enum SlotKind {
    /// A reminder this many days before the due date.
    BeforeDue(u32),
    /// The n-th reminder after the due date.
    Overdue(u32),
    /// The e-mail to the procurement owner after the last overdue reminder.
    Escalation,
    /// The assessment and its links expire.
    Expiry,
}

/// One planned step of an assessment's schedule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Slot {
    pub kind: SlotKind,
    /// The local date in the tenant's time zone.
    pub date: NaiveDate,
    pub at: DateTime<Utc>,
}

impl Slot {
    fn new(kind: SlotKind, date: NaiveDate, at: DateTime<Utc>) -> Self {
        Self { kind, date, at }
    }

    /// Returns the slot's part of a job's unique key, such as `before-7` or `overdue-2`.
    pub fn key(&self) -> String {
        match self.kind {
            SlotKind::BeforeDue(days) => format!("before-{days}"),
            SlotKind::Overdue(number) => format!("overdue-{number}"),
            SlotKind::Escalation => "escalation".to_owned(),
            SlotKind::Expiry => "expiry".to_owned(),
        }
    }

    /// Returns whether a reminder falls before the assessment was sent, so that the vendor gets
    /// the invitation instead. Escalation and expiry never count as before sending.
    pub fn before_sending(&self, sent_at: Option<DateTime<Utc>>) -> bool {
        matches!(self.kind, SlotKind::BeforeDue(_) | SlotKind::Overdue(_))
            && sent_at.is_some_and(|sent| self.at < sent)
    }

    /// Returns whether a reminder slot is too old to send when the portal was down at its time:
    /// a day after its instant, the next reminder is closer than this one was. Escalation and
    /// expiry always happen, however late.
    pub fn is_stale(&self, now: DateTime<Utc>) -> bool {
        matches!(self.kind, SlotKind::BeforeDue(_) | SlotKind::Overdue(_))
            && now >= self.at + TimeDelta::hours(24)
    }

    pub fn label(&self) -> String {
        match self.kind {
            SlotKind::BeforeDue(1) => "Reminder 1 day before the due date".to_owned(),
            SlotKind::BeforeDue(days) => format!("Reminder {days} days before the due date"),
            SlotKind::Overdue(number) => format!("Overdue reminder {number}"),
            SlotKind::Escalation => "Escalation to procurement".to_owned(),
            SlotKind::Expiry => "Assessment and links expire".to_owned(),
        }
    }
}

/// Returns the instant of `hour` o'clock local time on `date` in `zone`. A skipped local time
/// (spring forward) becomes the first instant after the gap; a repeated one (fall back) its
/// first occurrence.
pub fn local_instant(zone: Tz, date: NaiveDate, hour: u32) -> DateTime<Utc> {
    let time = NaiveTime::from_hms_opt(hour.min(23), 0, 0).unwrap_or(NaiveTime::MIN);
    let local = date.and_time(time);
    match zone.from_local_datetime(&local) {
        LocalResult::Single(instant) | LocalResult::Ambiguous(instant, _) => {
            instant.with_timezone(&Utc)
        }
        LocalResult::None => {
            // Inside a gap: find the first local minute that exists after it.
            (1..=180)
                .find_map(|minutes| {
                    zone.from_local_datetime(&(local + TimeDelta::minutes(minutes)))
                        .earliest()
                })
                .map_or_else(
                    || Utc.from_utc_datetime(&local),
                    |instant| instant.with_timezone(&Utc),
                )
        }
    }
}

/// Adds calendar months, keeping the day or the month's last day (January 31 plus one month is
/// February 28 or 29).
pub fn add_months(date: NaiveDate, months: u32) -> NaiveDate {
    date.checked_add_months(Months::new(months)).unwrap_or(date)
}

/// Returns the year and month of a date, for reports.
pub fn year_month(date: NaiveDate) -> (i32, u32) {
    (date.year(), date.month())
}

#[cfg(test)]
mod tests;
