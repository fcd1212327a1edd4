//! Procurement's tracker of open assessments: filters, sort orders and stable pages over rows
//! whose stage ages come from the status events.

use std::cmp::Ordering;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::lifecycle::{Status, WaitingOn};
use super::vendor::Tier;

/// One open assessment as the tracker lists it.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub id: Uuid,
    pub vendor_id: Uuid,
    pub vendor_name: String,
    pub tier: Tier,
    pub questionnaire_id: Uuid,
    pub questionnaire_key: String,
    pub questionnaire_version: i32,
    pub status: Status,
    pub waiting_on: WaitingOn,
    /// When the assessment entered its current status, from the last status event.
    pub stage_started_at: DateTime<Utc>,
    /// Calendar days in the current status, in the tenant's time zone.
    pub days_in_stage: i64,
    pub due_on: NaiveDate,
    /// Days past the due date, 0 when not overdue.
    pub days_overdue: i64,
    pub last_vendor_activity_at: Option<DateTime<Utc>>,
    /// The vendor's procurement owner.
    pub owner_id: Option<Uuid>,
    pub owner_name: Option<String>,
}

impl Row {
    pub fn is_overdue(&self) -> bool {
        self.days_overdue > 0
    }
}

/// Conditions a row must meet to be listed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Filter {
    pub status: Option<Status>,
    pub tier: Option<Tier>,
    pub waiting_on: Option<WaitingOn>,
    pub overdue: Option<bool>,
    /// `Some(None)` keeps rows whose vendor has no owner.
    pub owner: Option<Option<Uuid>>,
}

impl Filter {
    pub fn keeps(&self, row: &Row) -> bool {
        self.status.is_none_or(|status| row.status == status)
            && self.tier.is_none_or(|tier| row.tier == tier)
            && self.waiting_on.is_none_or(|side| row.waiting_on == side)
            && self
                .overdue
                .is_none_or(|overdue| row.is_overdue() == overdue)
            && self.owner.is_none_or(|owner| row.owner_id == owner)
    }
}

/// A column the tracker sorts by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SortKey {
    Vendor,
    Tier,
    Status,
    WaitingOn,
    DaysInStage,
    #[default]
    Due,
    LastActivity,
}

impl SortKey {
    pub const ALL: [(SortKey, &'static str); 7] = [
        (SortKey::Vendor, "vendor"),
        (SortKey::Tier, "tier"),
        (SortKey::Status, "status"),
        (SortKey::WaitingOn, "waiting_on"),
        (SortKey::DaysInStage, "days_in_stage"),
        (SortKey::Due, "due"),
        (SortKey::LastActivity, "last_activity"),
    ];

    /// Parses a sort parameter: a column name, with a leading `-` for descending order.
    ///
    /// # Errors
    /// Returns a message naming the value and the accepted names.
    pub fn parse(value: &str) -> Result<Sort, String> {
        let (descending, name) = match value.strip_prefix('-') {
            Some(name) => (true, name),
            None => (false, value),
        };
        Self::ALL
            .iter()
            .find(|(_, text)| *text == name)
            .map(|(key, _)| Sort {
                key: *key,
                descending,
            })
            .ok_or_else(|| {
                format!(
                    "{value:?} is not a column to sort by; use one of {}, with a leading \"-\" for descending order.",
                    Self::ALL.map(|(_, text)| text).join(", ")
                )
            })
    }

    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(key, _)| *key == self)
            .map_or("due", |(_, text)| text)
    }

    /// Returns a text that orders rows as this column does, so that it can also travel in a
    /// page position.
    fn value(self, row: &Row) -> String {
        match self {
            SortKey::Vendor => row.vendor_name.to_lowercase(),
            SortKey::Tier => row.tier.rank().to_string(),
            SortKey::Status => Status::ALL
                .iter()
                .position(|status| *status == row.status)
                .unwrap_or_default()
                .to_string(),
            SortKey::WaitingOn => format!("{:?}", row.waiting_on).to_lowercase(),
            SortKey::DaysInStage => format!("{:010}", row.days_in_stage.max(0)),
            SortKey::Due => row.due_on.to_string(),
            SortKey::LastActivity => row
                .last_vendor_activity_at
                .map(|at| at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
                .unwrap_or_default(),
        }
    }
}

/// A sort order: a column and a direction; ties are broken by assessment id.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sort {
    pub key: SortKey,
    pub descending: bool,
}

impl Sort {
    /// Returns the sort parameter that selects this order.
    pub fn param(self) -> String {
        format!(
            "{}{}",
            if self.descending { "-" } else { "" },
            self.key.name()
        )
    }

    fn compare(self, a: (&str, Uuid), b: (&str, Uuid)) -> Ordering {
        let by_value = a.0.cmp(b.0);
        let by_value = if self.descending {
            by_value.reverse()
        } else {
            by_value
        };
        by_value.then(a.1.cmp(&b.1))
    }
}

/// Position of the next page: the sort order, sort value and id of the last row shown. Rows that arrive
/// or leave between pages neither repeat nor push others off the next page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    /// The sort parameter of the page the position came from; it means nothing in another order.
    pub sort: String,
    pub id: Uuid,
    pub value: String,
}

impl Cursor {
    pub fn encode(&self) -> String {
        format!("{}.{}.{}", self.sort, self.id.simple(), self.value)
    }

    pub fn decode(text: &str) -> Option<Self> {
        let (sort, rest) = text.split_once('.')?;
        let (id, value) = rest.split_once('.')?;
        Some(Self {
            sort: sort.to_owned(),
            id: id.parse().ok()?,
            value: value.to_owned(),
        })
    }
}

/// One page of the tracker.
#[derive(Clone, Debug)]
pub struct Page {
    pub rows: Vec<Row>,
    /// Rows that match the filter, on every page.
    pub total: usize,
    pub next: Option<Cursor>,
}

/// Filters and sorts `rows` and returns the page after `after`, at most `limit` rows.
pub fn page(
    mut rows: Vec<Row>,
    filter: &Filter,
    sort: Sort,
    after: Option<&Cursor>,
    limit: usize,
) -> Page {
    rows.retain(|row| filter.keeps(row));
    let total = rows.len();
    let mut keyed: Vec<(String, Row)> = rows
        .into_iter()
        .map(|row| (sort.key.value(&row), row))
        .collect();
    keyed.sort_by(|a, b| sort.compare((&a.0, a.1.id), (&b.0, b.1.id)));
    if let Some(cursor) = after {
        keyed.retain(|(value, row)| {
            sort.compare((value, row.id), (&cursor.value, cursor.id)) == Ordering::Greater
        });
    }
    let limit = limit.max(1);
    let has_more = keyed.len() > limit;
    keyed.truncate(limit);
    let next = has_more
        .then(|| keyed.last())
        .flatten()
        .map(|(value, row)| Cursor {
            sort: sort.param(),
            id: row.id,
            value: value.clone(),
        });
    Page {
        rows: keyed.into_iter().map(|(_, row)| row).collect(),
        total,
        next,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(n: u128, vendor: &str, days: i64, due: &str) -> Row {
        Row {
            id: Uuid::from_u128(n),
            vendor_id: Uuid::from_u128(1000 + n),
            vendor_name: vendor.to_owned(),
            tier: Tier::High,
            questionnaire_id: Uuid::nil(),
            questionnaire_key: "full".to_owned(),
            questionnaire_version: 1,
            status: Status::Sent,
            waiting_on: WaitingOn::Vendor,
            stage_started_at: DateTime::UNIX_EPOCH,
            days_in_stage: days,
            due_on: due.parse().unwrap(),
            days_overdue: 0,
            last_vendor_activity_at: None,
            owner_id: None,
            owner_name: None,
        }
    }

    #[test]
    fn pages_cover_every_row_once_with_ties() {
        let rows: Vec<Row> = (1..=7)
            .map(|n| row(n, "Same name", (n % 2) as i64, "2027-01-01"))
            .collect();
        let sort = SortKey::parse("-days_in_stage").unwrap();
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = page(rows.clone(), &Filter::default(), sort, after.as_ref(), 3);
            assert_eq!(page.total, 7);
            seen.extend(page.rows.iter().map(|row| row.id.as_u128()));
            match page.next {
                Some(next) => after = Some(Cursor::decode(&next.encode()).unwrap()),
                None => break,
            }
        }
        assert_eq!(seen, vec![1, 3, 5, 7, 2, 4, 6]);
    }

    #[test]
    fn page_after_row_leaves_keeps_position() {
        let rows: Vec<Row> = (1..=4)
            .map(|n| row(n, &format!("Vendor {n}"), 0, "2027-01-01"))
            .collect();
        let sort = SortKey::parse("vendor").unwrap();
        let first = page(rows.clone(), &Filter::default(), sort, None, 2);
        let remaining: Vec<Row> = rows
            .into_iter()
            .filter(|row| row.id.as_u128() != 1)
            .collect();
        let second = page(remaining, &Filter::default(), sort, first.next.as_ref(), 2);
        let ids: Vec<u128> = second.rows.iter().map(|row| row.id.as_u128()).collect();
        assert_eq!(ids, vec![3, 4]);
    }

    #[test]
    fn unknown_sort_names_the_value_and_the_choices() {
        let error = SortKey::parse("color").unwrap_err();
        assert!(
            error.contains("\"color\"") && error.contains("days_in_stage"),
            "{error}"
        );
    }
}
