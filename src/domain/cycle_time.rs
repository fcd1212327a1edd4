//! Assessment cycle time, computed from the stored status events only.
//!
//! Every duration is a count of calendar days in the tenant's time zone. A stage that starts on
//! March 3 and ends on March 10 (local dates) lasted 7 days, whatever the clock times and even
//! when a daylight-saving change made it an hour shorter or longer. Stage lengths therefore add
//! up exactly to the total. See `docs/metrics.md` for how each figure is defined.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::lifecycle::{Status, WaitingOn};
use super::vendor::Tier;

/// One stored status change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    pub at: DateTime<Utc>,
    pub to: Status,
}

/// One stretch of time an assessment spent in one status.
#[derive(Clone, Debug, Serialize)]
pub struct Stage {
    pub status: Status,
    pub label: &'static str,
    pub waiting_on: WaitingOn,
    pub started_at: DateTime<Utc>,
    /// `None` while the assessment is still in this status.
    pub ended_at: Option<DateTime<Utc>>,
    /// Calendar days from start to end (or to today for the current stage).
    pub days: i64,
}

/// An assessment's stages with the totals procurement reports on.
#[derive(Clone, Debug, Serialize)]
pub struct Timeline {
    pub stages: Vec<Stage>,
    /// Days the assessment waited on the vendor: sent, in progress, clarification requested.
    pub vendor_days: i64,
    /// Days it waited on an analyst: submitted, in review.
    pub analyst_days: i64,
    /// Days from the first send to the last completion; `None` until completed.
    pub total_days: Option<i64>,
    pub clarification_rounds: usize,
    pub first_sent_at: Option<DateTime<Utc>>,
    /// The completion in force: the last one, unless a reopening followed it.
    pub completed_at: Option<DateTime<Utc>>,
}

/// Returns the local calendar date of an instant.
pub fn local_date(at: DateTime<Utc>, zone: Tz) -> NaiveDate {
    at.with_timezone(&zone).date_naive()
}

/// Returns the calendar days between two instants, counted on local dates.
pub fn days_between(start: DateTime<Utc>, end: DateTime<Utc>, zone: Tz) -> i64 {
    (local_date(end, zone) - local_date(start, zone)).num_days()
}

/// Builds the timeline of one assessment from its events in the order they happened. The
/// current stage runs until `now`.
pub fn timeline(events: &[Event], zone: Tz, now: DateTime<Utc>) -> Timeline {
    let mut stages = Vec::with_capacity(events.len());
    for (index, event) in events.iter().enumerate() {
        let ended_at = events.get(index + 1).map(|next| next.at);
        let days = days_between(event.at, ended_at.unwrap_or(now).max(event.at), zone);
        stages.push(Stage {
            status: event.to,
            label: event.to.label(),
            waiting_on: event.to.waiting_on(),
            started_at: event.at,
            ended_at,
            days,
        });
    }
    let first_sent_at = events
        .iter()
        .find(|event| event.to == Status::Sent)
        .map(|event| event.at);
    let completed_at = events
        .last()
        .filter(|event| event.to == Status::Completed)
        .map(|event| event.at);
    let days_waiting_on = |side: WaitingOn| -> i64 {
        stages
            .iter()
            .filter(|stage| stage.waiting_on == side)
            .map(|stage| stage.days)
            .sum()
    };
    Timeline {
        vendor_days: days_waiting_on(WaitingOn::Vendor),
        analyst_days: days_waiting_on(WaitingOn::Analyst),
        total_days: first_sent_at
            .zip(completed_at)
            .map(|(sent, completed)| days_between(sent, completed, zone)),
        clarification_rounds: events
            .iter()
            .filter(|event| event.to == Status::ClarificationRequested)
            .count(),
        first_sent_at,
        completed_at,
        stages,
    }
}

/// How long an assessment has spent in each stage so far, for listings.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StageAges {
    /// When the current stage started.
    pub stage_started_at: Option<DateTime<Utc>>,
    pub days_in_stage: i64,
    pub vendor_days: i64,
    pub analyst_days: i64,
    /// Days per status, every visit added up.
    pub days_by_stage: BTreeMap<&'static str, i64>,
    pub clarification_rounds: usize,
}

impl Timeline {
    pub fn ages(&self) -> StageAges {
        let mut days_by_stage = BTreeMap::new();
        for stage in &self.stages {
            *days_by_stage.entry(stage.status.as_str()).or_insert(0) += stage.days;
        }
        let current = self.stages.last();
        StageAges {
            stage_started_at: current.map(|stage| stage.started_at),
            days_in_stage: current.map_or(0, |stage| stage.days),
            vendor_days: self.vendor_days,
            analyst_days: self.analyst_days,
            days_by_stage,
            clarification_rounds: self.clarification_rounds,
        }
    }
}

/// The stages whose time the dashboard reports, in lifecycle order.
pub const STAGES: [Status; 5] = [
    Status::Sent,
    Status::InProgress,
    Status::Submitted,
    Status::InReview,
    Status::ClarificationRequested,
];

/// A period of whole local days, both ends included.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// Maximum days in a report's period, so that the monthly trend stays readable.
pub const MAX_PERIOD_DAYS: i64 = 3660;

impl Period {
    /// Checks the order and the length of a period.
    ///
    /// # Errors
    /// Returns a message naming the dates when `from` is after `to` or the period is longer
    /// than ten years.
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<Self, String> {
        if from > to {
            return Err(format!(
                "The period starts on {from} but ends earlier, on {to}; put the earlier date in \"from\"."
            ));
        }
        if (to - from).num_days() >= MAX_PERIOD_DAYS {
            return Err(format!(
                "The period from {from} to {to} is longer than ten years; choose a shorter one."
            ));
        }
        Ok(Self { from, to })
    }

    /// Returns the twelve months up to `today`, from the first day of the month eleven months
    /// earlier.
    pub fn last_twelve_months(today: NaiveDate) -> Self {
        let first = today.with_day(1).unwrap_or(today);
        let from = first.checked_sub_months(Months::new(11)).unwrap_or(first);
        Self { from, to: today }
    }

    pub fn contains(self, date: NaiveDate) -> bool {
        self.from <= date && date <= self.to
    }

    /// Returns the first day of each month the period touches.
    pub fn months(self) -> Vec<NaiveDate> {
        let mut months = Vec::new();
        let mut month = self.from.with_day(1).unwrap_or(self.from);
        while month <= self.to {
            months.push(month);
            match month.checked_add_months(Months::new(1)) {
                Some(next) => month = next,
                None => break,
            }
        }
        months
    }
}

/// One assessment as the report reads it.
#[derive(Clone, Debug)]
pub struct Record {
    pub tier: Tier,
    pub due_on: NaiveDate,
    /// Status events, oldest first.
    pub events: Vec<Event>,
}

/// Median and 90th percentile of a set of durations.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Summary {
    /// How many assessments the figures describe.
    pub count: usize,
    pub median_days: Option<f64>,
    pub p90_days: Option<f64>,
}

impl Summary {
    /// Summarizes durations. The median is the middle value, or the mean of the two middle
    /// values for an even count. The 90th percentile is the nearest rank: the smallest value
    /// that at least 90 percent of the durations do not exceed.
    pub fn of(mut days: Vec<i64>) -> Self {
        days.sort_unstable();
        let count = days.len();
        if count == 0 {
            return Self {
                count,
                median_days: None,
                p90_days: None,
            };
        }
        let middle = count / 2;
        let median = if count % 2 == 1 {
            days[middle] as f64
        } else {
            (days[middle - 1] + days[middle]) as f64 / 2.0
        };
        let rank = (count * 9).div_ceil(10).max(1);
        Self {
            count,
            median_days: Some(median),
            p90_days: Some(days[rank - 1] as f64),
        }
    }
}

/// Cycle, vendor and analyst time of a group of completed assessments.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Durations {
    pub cycle_time: Summary,
    pub vendor_time: Summary,
    pub analyst_time: Summary,
}

/// Counts of what happened in the period.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// First sent in the period.
    pub sent: usize,
    /// First submitted in the period.
    pub submitted: usize,
    /// Completed in the period, and not reopened since.
    pub completed: usize,
    /// Of those, completed on or before their due date.
    pub completed_on_time: usize,
    /// Cancelled in the period; cancelled assessments count nowhere else.
    pub cancelled: usize,
    /// Expired in the period without a submission.
    pub expired: usize,
}

/// Figures for one tier.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TierFigures {
    pub tier: Tier,
    pub label: &'static str,
    pub completed: usize,
    pub completed_on_time: usize,
    pub on_time_rate: Option<f64>,
    #[serde(flatten)]
    pub durations: Durations,
}

/// Figures for one month of the period.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MonthFigures {
    /// `YYYY-MM`.
    pub month: String,
    pub sent: usize,
    pub completed: usize,
    pub cycle_time: Summary,
}

/// Time spent in one stage by the assessments completed in the period that went through it;
/// an assessment that skipped the stage (never in clarification, say) does not count as 0 days.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StageFigures {
    pub status: Status,
    pub label: &'static str,
    pub waiting_on: WaitingOn,
    #[serde(flatten)]
    pub summary: Summary,
}

/// The cycle-time report of a period.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    pub period: Period,
    pub time_zone: String,
    /// Description of how durations are counted, for people reading the figures.
    pub counted_in: &'static str,
    pub counts: Counts,
    /// Share of completed assessments finished by their due date, from 0 to 1.
    pub on_time_rate: Option<f64>,
    #[serde(flatten)]
    pub durations: Durations,
    pub by_tier: Vec<TierFigures>,
    pub by_stage: Vec<StageFigures>,
    pub by_month: Vec<MonthFigures>,
}

/// Figures one completed assessment contributes to the report.
struct Completed {
    tier: Tier,
    month: NaiveDate,
    on_time: bool,
    total: i64,
    vendor: i64,
    analyst: i64,
    per_stage: BTreeMap<&'static str, i64>,
}

fn durations(items: &[&Completed]) -> Durations {
    Durations {
        cycle_time: Summary::of(items.iter().map(|item| item.total).collect()),
        vendor_time: Summary::of(items.iter().map(|item| item.vendor).collect()),
        analyst_time: Summary::of(items.iter().map(|item| item.analyst).collect()),
    }
}

fn rate(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

fn month_of(date: NaiveDate) -> NaiveDate {
    date.with_day(1).unwrap_or(date)
}

/// Computes the report of `period` from every assessment's events. Only assessments with an
/// event in the period can count; medians describe the assessments completed in the period.
pub fn report(records: &[Record], period: Period, zone: Tz) -> Report {
    let mut counts = Counts::default();
    let mut sent_by_month: BTreeMap<NaiveDate, usize> = BTreeMap::new();
    let mut completed: Vec<Completed> = Vec::new();
    for record in records {
        let Some(last) = record.events.last() else {
            continue;
        };
        let in_period = |at: DateTime<Utc>| period.contains(local_date(at, zone));
        if last.to == Status::Cancelled {
            if in_period(last.at) {
                counts.cancelled += 1;
            }
            continue;
        }
        let first = |status: Status| record.events.iter().find(|event| event.to == status);
        if let Some(sent) = first(Status::Sent).filter(|event| in_period(event.at)) {
            counts.sent += 1;
            *sent_by_month
                .entry(month_of(local_date(sent.at, zone)))
                .or_default() += 1;
        }
        if first(Status::Submitted).is_some_and(|event| in_period(event.at)) {
            counts.submitted += 1;
        }
        if last.to == Status::Expired && in_period(last.at) {
            counts.expired += 1;
        }
        if last.to != Status::Completed || !in_period(last.at) {
            continue;
        }
        let timeline = timeline(&record.events, zone, last.at);
        let Some(total) = timeline.total_days else {
            continue;
        };
        let completed_on = local_date(last.at, zone);
        let mut per_stage = BTreeMap::new();
        for stage in &timeline.stages {
            *per_stage.entry(stage.status.as_str()).or_insert(0) += stage.days;
        }
        completed.push(Completed {
            tier: record.tier,
            month: month_of(completed_on),
            on_time: completed_on <= record.due_on,
            total,
            vendor: timeline.vendor_days,
            analyst: timeline.analyst_days,
            per_stage,
        });
    }
    counts.completed = completed.len();
    counts.completed_on_time = completed.iter().filter(|item| item.on_time).count();
    let all: Vec<&Completed> = completed.iter().collect();
    let by_tier = Tier::ALL
        .iter()
        .map(|&tier| {
            let items: Vec<&Completed> = all
                .iter()
                .copied()
                .filter(|item| item.tier == tier)
                .collect();
            let on_time = items.iter().filter(|item| item.on_time).count();
            TierFigures {
                tier,
                label: tier.label(),
                completed: items.len(),
                completed_on_time: on_time,
                on_time_rate: rate(on_time, items.len()),
                durations: durations(&items),
            }
        })
        .collect();
    let by_stage = STAGES
        .iter()
        .map(|&status| StageFigures {
            status,
            label: status.label(),
            waiting_on: status.waiting_on(),
            summary: Summary::of(
                all.iter()
                    .filter_map(|item| item.per_stage.get(status.as_str()).copied())
                    .collect(),
            ),
        })
        .collect();
    let by_month = period
        .months()
        .into_iter()
        .map(|month| {
            let items: Vec<i64> = all
                .iter()
                .filter(|item| item.month == month)
                .map(|item| item.total)
                .collect();
            MonthFigures {
                month: month.format("%Y-%m").to_string(),
                sent: sent_by_month.get(&month).copied().unwrap_or(0),
                completed: items.len(),
                cycle_time: Summary::of(items),
            }
        })
        .collect();
    Report {
        period,
        time_zone: zone.name().to_owned(),
        counted_in: "calendar days in the tenant's time zone",
        on_time_rate: rate(counts.completed_on_time, counts.completed),
        counts,
        durations: durations(&all),
        by_tier,
        by_stage,
        by_month,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(zone: Tz, text: &str) -> DateTime<Utc> {
        let naive = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap();
        zone.from_local_datetime(&naive)
            .single()
            .unwrap()
            .with_timezone(&Utc)
    }

    fn events(zone: Tz, steps: &[(&str, Status)]) -> Vec<Event> {
        steps
            .iter()
            .map(|(time, to)| Event {
                at: at(zone, time),
                to: *to,
            })
            .collect()
    }

    #[test]
    fn summary_uses_middle_values_and_nearest_rank() {
        assert_eq!(
            Summary::of(vec![]),
            Summary {
                count: 0,
                median_days: None,
                p90_days: None
            }
        );
        assert_eq!(Summary::of(vec![4]).median_days, Some(4.0));
        assert_eq!(Summary::of(vec![9, 1, 4, 3]).median_days, Some(3.5));
        // Ten values: the 9th smallest; eleven values: the 10th smallest.
        let ten: Vec<i64> = (1..=10).collect();
        assert_eq!(Summary::of(ten).p90_days, Some(9.0));
        let eleven: Vec<i64> = (1..=11).collect();
        assert_eq!(Summary::of(eleven).p90_days, Some(10.0));
        assert_eq!(Summary::of(vec![5, 7]).p90_days, Some(7.0));
    }

    #[test]
    fn stage_across_spring_change_counts_calendar_days() {
        let zone: Tz = "Europe/Berlin".parse().unwrap();
        // Clocks go forward on 2027-03-28: the stage is 7 days minus one hour long.
        let history = events(
            zone,
            &[
                ("2027-03-25 10:00", Status::Sent),
                ("2027-04-01 10:00", Status::Submitted),
            ],
        );
        let line = timeline(&history, zone, at(zone, "2027-04-02 09:00"));
        assert_eq!(line.stages[0].days, 7);
        assert_eq!(line.vendor_days, 7);
        assert_eq!(line.analyst_days, 1);
    }

    #[test]
    fn period_lists_its_months_and_rejects_reversed_dates() {
        let date = |text: &str| text.parse::<NaiveDate>().unwrap();
        let period = Period::new(date("2027-01-15"), date("2027-03-02")).unwrap();
        assert_eq!(
            period.months(),
            vec![date("2027-01-01"), date("2027-02-01"), date("2027-03-01")]
        );
        let error = Period::new(date("2027-02-01"), date("2027-01-01")).unwrap_err();
        assert!(error.contains("2027-02-01"), "{error}");
        assert_eq!(
            Period::last_twelve_months(date("2027-06-20")).from,
            date("2026-07-01")
        );
    }
}
