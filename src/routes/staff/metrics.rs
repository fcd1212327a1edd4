//! The cycle-time dashboard: counts, medians and 90th percentiles for a period, overall, per
//! tier, per stage and per month, as tables and as SVG charts drawn on the server.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::NaiveDate;
use minijinja::context;
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::auth::Member;
use crate::domain::cycle_time::{self, Period, Report, local_date};
use crate::error::{AppError, FieldErrors};
use crate::ids::TenantId;
use crate::routes::QueryParams;
use crate::routes::pages::render;
use crate::store::{metrics, settings};

pub fn router() -> Router<AppState> {
    Router::new().route("/metrics/cycle-time", get(dashboard))
}

/// The period of a report as the query string gives it; both dates are optional.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct PeriodQuery {
    pub from: Option<String>,
    pub to: Option<String>,
}

impl PeriodQuery {
    /// Parses the period; a missing end is today and a missing start is the first day of the
    /// month eleven months before the end.
    ///
    /// # Errors
    /// [`AppError::Invalid`] naming each bad date.
    pub fn parse(&self, today: NaiveDate) -> Result<Period, AppError> {
        let mut errors = FieldErrors::default();
        let mut date = |field: &'static str, value: &Option<String>| {
            let text = value
                .as_deref()
                .map(str::trim)
                .filter(|text| !text.is_empty())?;
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map_err(|_| {
                    errors.add(
                        field,
                        format!(
                            "{text:?} is not a date; write it as YYYY-MM-DD, such as 2027-01-31."
                        ),
                    )
                })
                .ok()
        };
        let from = date("from", &self.from);
        let to = date("to", &self.to);
        errors.into_result()?;
        let to = to.unwrap_or(today);
        let from = from.unwrap_or(Period::last_twelve_months(to).from);
        Period::new(from, to).map_err(|message| AppError::invalid("from", message))
    }
}

/// Computes the report of a tenant for the period in `query`.
///
/// # Errors
/// [`AppError::Invalid`] for a bad period; fails when a query fails.
pub async fn report(
    state: &AppState,
    tenant: TenantId,
    query: &PeriodQuery,
) -> Result<Report, AppError> {
    let zone = settings::load(state.db().reader(), tenant).await?.time_zone;
    let period = query.parse(local_date(state.clock().now(), zone))?;
    let records = metrics::records(state.db().reader(), tenant, period, zone).await?;
    Ok(cycle_time::report(&records, period, zone))
}

/// A bar chart as the SVG template draws it.
#[derive(Clone, Debug, Serialize)]
struct Chart {
    title: String,
    description: String,
    width: u32,
    height: u32,
    /// Left edge of the plotting area, after the axis labels.
    left: u32,
    baseline: u32,
    bars: Vec<Bar>,
    ticks: Vec<Tick>,
}

#[derive(Clone, Debug, Serialize)]
struct Bar {
    label: String,
    /// The figure as the table shows it; empty when there is none.
    value: String,
    x: u32,
    y: u32,
    width: u32,
    height: u32,
    /// Horizontal position of the label under the bar.
    label_x: u32,
    series: &'static str,
}

#[derive(Clone, Debug, Serialize)]
struct Tick {
    y: u32,
    text: String,
}

/// Formats days as the tables do: whole numbers plain, halves with one decimal.
pub fn days_text(days: Option<f64>) -> String {
    match days {
        None => String::new(),
        Some(days) if days.fract() == 0.0 => format!("{days:.0}"),
        Some(days) => format!("{days:.1}"),
    }
}

/// One label on the chart's axis with a figure per series (`median`, `p90`).
type BarGroup = (String, Vec<(&'static str, Option<f64>)>);

/// Draws groups of bars (one per series) over shared labels, scaled to the largest figure.
fn bar_chart(title: &str, description: &str, groups: &[BarGroup]) -> Chart {
    const HEIGHT: u32 = 220;
    const TOP: u32 = 22;
    const BASELINE: u32 = 180;
    const LEFT: u32 = 44;
    const BAR: u32 = 18;
    const GAP: u32 = 14;
    let max = groups
        .iter()
        .flat_map(|(_, values)| values.iter().filter_map(|(_, value)| *value))
        .fold(0.0_f64, f64::max);
    // Gridlines every 1, 2, 5, 10, 20, 50… days, at most five above the baseline.
    let step = (0..7)
        .flat_map(|power| [1.0, 2.0, 5.0].map(|base| base * 10_f64.powi(power)))
        .find(|step| (max / step).ceil() <= 5.0)
        .unwrap_or(1_000_000.0);
    let steps = (max / step).ceil().max(1.0);
    let scale_top = steps * step;
    let plot = f64::from(BASELINE - TOP);
    let mut bars = Vec::new();
    let mut x = LEFT + GAP;
    for (label, values) in groups {
        let group_start = x;
        for (series, value) in values {
            let height = value.map_or(0, |value| (value / scale_top * plot).round() as u32);
            bars.push(Bar {
                label: label.clone(),
                value: days_text(*value),
                x,
                y: BASELINE - height,
                width: BAR,
                height,
                label_x: 0,
                series,
            });
            x += BAR + 2;
        }
        let center = group_start + (x - 2 - group_start) / 2;
        for bar in bars.iter_mut().rev().take(values.len()) {
            bar.label_x = center;
        }
        x += GAP;
    }
    let ticks = (0..=steps as u32)
        .map(|index| {
            let share = f64::from(index) / steps;
            Tick {
                y: BASELINE - (plot * share).round() as u32,
                text: days_text(Some(step * f64::from(index))),
            }
        })
        .collect();
    Chart {
        title: title.to_owned(),
        description: description.to_owned(),
        width: x.max(320),
        height: HEIGHT,
        left: LEFT,
        baseline: BASELINE,
        bars,
        ticks,
    }
}

async fn dashboard(
    State(state): State<AppState>,
    member: Member,
    QueryParams(query): QueryParams<PeriodQuery>,
) -> Result<Response, AppError> {
    let report = report(&state, member.tenant_id, &query).await?;
    let months: Vec<BarGroup> = report
        .by_month
        .iter()
        .map(|month| {
            (
                month.month.clone(),
                vec![("median", month.cycle_time.median_days)],
            )
        })
        .collect();
    let tiers: Vec<BarGroup> = report
        .by_tier
        .iter()
        .map(|tier| {
            (
                tier.label.to_owned(),
                vec![
                    ("median", tier.durations.cycle_time.median_days),
                    ("p90", tier.durations.cycle_time.p90_days),
                ],
            )
        })
        .collect();
    let html = render(
        &state,
        Some(&member),
        "pages/metrics/cycle_time.html",
        context! {
            report => report,
            from => report.period.from.to_string(),
            to => report.period.to.to_string(),
            month_chart => bar_chart(
                "Median cycle time by month of completion",
                "Median calendar days from sending to completion of the assessments completed in each month.",
                &months,
            ),
            tier_chart => bar_chart(
                "Cycle time by tier",
                "Median and 90th percentile of calendar days from sending to completion, per vendor tier.",
                &tiers,
            ),
        },
    )?;
    Ok(html.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_largest_figure_and_keep_their_text() {
        let chart = bar_chart(
            "t",
            "d",
            &[
                ("A".to_owned(), vec![("median", Some(10.0))]),
                ("B".to_owned(), vec![("median", Some(2.5))]),
                ("C".to_owned(), vec![("median", None)]),
            ],
        );
        let heights: Vec<u32> = chart.bars.iter().map(|bar| bar.height).collect();
        assert_eq!(heights, vec![158, 40, 0]);
        let values: Vec<&str> = chart.bars.iter().map(|bar| bar.value.as_str()).collect();
        assert_eq!(values, vec!["10", "2.5", ""]);
        let ticks: Vec<&str> = chart.ticks.iter().map(|tick| tick.text.as_str()).collect();
        assert_eq!(ticks, vec!["0", "2", "4", "6", "8", "10"]);
        let wide = bar_chart("t", "d", &[("A".to_owned(), vec![("median", Some(22.0))])]);
        let ticks: Vec<&str> = wide.ticks.iter().map(|tick| tick.text.as_str()).collect();
        assert_eq!(ticks, vec!["0", "5", "10", "15", "20", "25"]);
    }
}
