//! Reading a vendor CSV file into checked rows.
//!
//! Real exports are messy. This reader accepts UTF-8 with or without a byte order mark, and
//! comma, semicolon or tab separators (whichever the header row uses most). It also accepts
//! quoted fields with line breaks, header names in any case and order, and blank lines. A file that cannot be read at
//! all fails as a whole with a message; otherwise each row is either valid or rejected with a
//! reason, and the store decides whether a valid row creates, updates or changes nothing.
//! The accepted columns are documented in `docs/vendor-import.md`.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::Serialize;

use super::email::EmailAddress;
use super::vendor::{
    BaaStatus, ClinicalCriticality, PhiAccess, name_key, parse_name, parse_website,
};

/// Most data rows one file may hold.
pub const MAX_ROWS: usize = 20_000;

/// A column of the import file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Column {
    Name,
    ContactName,
    ContactEmail,
    ContactRole,
    ContactPhone,
    Website,
    Service,
    PhiAccess,
    ClinicalCriticality,
    SystemIntegration,
    MedicalDevice,
    OffshoreAccess,
    BaaStatus,
    ContractRenewal,
}

impl Column {
    /// Matches a normalized header name (lowercase, `_` for spaces and hyphens).
    fn from_header(header: &str) -> Option<Self> {
        Some(match header {
            "name" | "vendor" | "vendor_name" => Self::Name,
            "contact_name" => Self::ContactName,
            "contact_email" | "contact_e_mail" => Self::ContactEmail,
            "contact_role" => Self::ContactRole,
            "contact_phone" => Self::ContactPhone,
            "website" => Self::Website,
            "service" => Self::Service,
            "phi_access" => Self::PhiAccess,
            "clinical_criticality" => Self::ClinicalCriticality,
            "system_integration" => Self::SystemIntegration,
            "medical_device" => Self::MedicalDevice,
            "offshore_access" => Self::OffshoreAccess,
            "baa_status" => Self::BaaStatus,
            "contract_renewal" | "contract_renewal_date" => Self::ContractRenewal,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::ContactName => "contact_name",
            Self::ContactEmail => "contact_email",
            Self::ContactRole => "contact_role",
            Self::ContactPhone => "contact_phone",
            Self::Website => "website",
            Self::Service => "service",
            Self::PhiAccess => "phi_access",
            Self::ClinicalCriticality => "clinical_criticality",
            Self::SystemIntegration => "system_integration",
            Self::MedicalDevice => "medical_device",
            Self::OffshoreAccess => "offshore_access",
            Self::BaaStatus => "baa_status",
            Self::ContractRenewal => "contract_renewal",
        }
    }
}

const REQUIRED: [Column; 3] = [Column::Name, Column::ContactName, Column::ContactEmail];

/// A contact as given in one row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ContactInput {
    pub name: String,
    pub email: EmailAddress,
    pub role: Option<String>,
    pub phone: Option<String>,
}

/// Vendor fields as given in one row. `None` means the cell was empty or the column absent, so
/// the stored value stays as it is, or takes its default for a new vendor.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct VendorFields {
    pub website: Option<String>,
    pub service: Option<String>,
    pub phi_access: Option<PhiAccess>,
    pub clinical_criticality: Option<ClinicalCriticality>,
    pub system_integration: Option<bool>,
    pub medical_device: Option<bool>,
    pub offshore_access: Option<bool>,
    pub baa_status: Option<BaaStatus>,
    pub contract_renewal: Option<NaiveDate>,
}

/// One valid row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VendorRow {
    pub name: String,
    pub name_key: String,
    pub fields: VendorFields,
    pub contact: ContactInput,
}

/// The outcome of reading one data row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RowResult {
    Valid(VendorRow),
    /// Identical to an earlier row of the same file.
    Duplicate {
        of_line: u64,
    },
    Rejected {
        reason: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedRow {
    /// 1-based line of the file where the row starts.
    pub line: u64,
    /// The vendor name as written, when the row has one.
    pub vendor: Option<String>,
    pub result: RowResult,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedFile {
    pub rows: Vec<ParsedRow>,
    /// Header names the portal does not use, reported so a misspelled column is noticed.
    pub ignored_columns: Vec<String>,
}

/// Reads a vendor CSV file.
///
/// # Errors
/// Returns a message naming the problem and the fix when the file as a whole cannot be read.
/// That is the case for text that is not UTF-8, a spreadsheet instead of CSV, a missing header or
/// required column, a column given twice, an unclosed quote, no data rows, or more than
/// [`MAX_ROWS`] rows.
pub fn parse_vendor_csv(bytes: &[u8]) -> Result<ParsedFile, String> {
    let text = decode(bytes)?;
    if text.trim().is_empty() {
        return Err("The file is empty. Upload a CSV file with a header row and one row per vendor contact.".to_owned());
    }
    if text.matches('"').count() % 2 == 1 {
        let line = unclosed_quote_line(text);
        return Err(format!(
            "The file has a quote (\") on line {line} that is never closed, so the rows after it cannot be told apart. Close the quote or remove it, then upload again."
        ));
    }
    let is_multipart = text.starts_with("--")
        && text.lines().take(3).any(|line| {
            line.to_ascii_lowercase()
                .starts_with("content-disposition: form-data")
        });
    if is_multipart {
        return Err("This is a multipart form upload, not a CSV file. Send the CSV file itself as the request body, for example with curl --data-binary @FILE -H 'Content-Type: text/csv'.".to_owned());
    }
    let delimiter = sniff_delimiter(text);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());

    let headers = reader
        .headers()
        .map_err(|error| format!("The header row cannot be read: {error}."))?
        .clone();
    let (columns, ignored_columns) = map_columns(&headers)?;

    let mut rows = Vec::new();
    let mut lines = LineCounter::default();
    let mut seen: HashMap<(String, String), (u64, VendorRow)> = HashMap::new();
    let mut vendor_first_row: HashMap<String, (u64, VendorFields)> = HashMap::new();
    for record in reader.records() {
        let record = record.map_err(|error| format!("The file cannot be read as CSV: {error}."))?;
        let line = record
            .position()
            .map_or(0, |position| lines.line_of_record(text, position.byte()));
        if record.iter().all(|field| field.trim().is_empty()) {
            continue;
        }
        if rows.len() == MAX_ROWS {
            return Err(format!(
                "The file has more than {MAX_ROWS} rows. Split it into smaller files and import them one after another."
            ));
        }
        let vendor = columns
            .get(&Column::Name)
            .and_then(|index| record.get(*index))
            .map(|name| name.trim().to_owned())
            .filter(|name| !name.is_empty());
        let result = if record.len() > headers.len() {
            RowResult::Rejected {
                reason: format!(
                    "The row has {} values but the header has {} columns; a value probably contains the separator {:?} without quotes around it.",
                    record.len(),
                    headers.len(),
                    delimiter as char
                ),
            }
        } else {
            match parse_row(&columns, &record) {
                Err(reason) => RowResult::Rejected { reason },
                Ok(row) => deduplicate(row, line, &mut seen, &mut vendor_first_row),
            }
        };
        rows.push(ParsedRow {
            line,
            vendor,
            result,
        });
    }
    if rows.is_empty() {
        let mut message = "The file has a header row but no vendor rows.".to_owned();
        if !text.trim_end().contains('\n') && text.len() > 200 {
            message.push_str(" The whole file is one line; if you sent it with curl, use --data-binary @FILE, because -d removes line breaks.");
        }
        return Err(message);
    }
    Ok(ParsedFile {
        rows,
        ignored_columns,
    })
}

fn decode(bytes: &[u8]) -> Result<&str, String> {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err("The file is saved as UTF-16. Save it as \"CSV UTF-8 (Comma delimited)\" and upload it again.".to_owned());
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return Err("This is a spreadsheet file (such as .xlsx), not CSV. Save it as \"CSV UTF-8 (Comma delimited)\" and upload that file.".to_owned());
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|error| {
        let line = bytes[..error.valid_up_to()].iter().filter(|byte| **byte == b'\n').count() + 1;
        format!(
            "The file is not UTF-8 text: line {line} has a character in another encoding. Save the file as \"CSV UTF-8 (Comma delimited)\" and upload it again."
        )
    })
}

/// Counts lines up to each record's start. The csv crate reports the offset where it began
/// reading a record, which lies before any blank lines it skipped, and its own line counter skips
/// blank lines, so lines are counted here. Records come in order, so each call only counts the
/// bytes since the previous one.
#[derive(Default)]
struct LineCounter {
    offset: usize,
    newlines: u64,
}

impl LineCounter {
    /// Returns the 1-based line where the record reported at `offset` starts.
    fn line_of_record(&mut self, text: &str, offset: u64) -> u64 {
        let bytes = text.as_bytes();
        let mut start = usize::try_from(offset)
            .unwrap_or(bytes.len())
            .min(bytes.len());
        while matches!(bytes.get(start), Some(b'\n' | b'\r')) {
            start += 1;
        }
        if start >= self.offset {
            self.newlines += bytes[self.offset..start]
                .iter()
                .filter(|byte| **byte == b'\n')
                .count() as u64;
            self.offset = start;
        }
        self.newlines + 1
    }
}

/// Returns the line on which the last, unclosed quote opens.
fn unclosed_quote_line(text: &str) -> usize {
    let mut line = 1;
    let mut open_line = 1;
    let mut inside = false;
    for character in text.chars() {
        match character {
            '"' => {
                inside = !inside;
                if inside {
                    open_line = line;
                }
            }
            '\n' => line += 1,
            _ => {}
        }
    }
    open_line
}

/// Picks the separator that the header row uses most: comma, semicolon or tab.
fn sniff_delimiter(text: &str) -> u8 {
    let header = text
        .lines()
        .find(|line| !line.trim().is_empty())
        .unwrap_or_default();
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0)];
    let mut inside_quotes = false;
    for byte in header.bytes() {
        if byte == b'"' {
            inside_quotes = !inside_quotes;
        } else if !inside_quotes {
            for (delimiter, count) in &mut counts {
                if byte == *delimiter {
                    *count += 1;
                }
            }
        }
    }
    // Ties go to the comma, the first entry.
    counts
        .iter()
        .fold((b',', 0), |best, &(delimiter, count)| {
            if count > best.1 {
                (delimiter, count)
            } else {
                best
            }
        })
        .0
}

fn normalize_header(header: &str) -> String {
    header
        .trim()
        .trim_start_matches('\u{feff}')
        .to_lowercase()
        .replace([' ', '-', '.'], "_")
}

fn map_columns(
    headers: &csv::StringRecord,
) -> Result<(HashMap<Column, usize>, Vec<String>), String> {
    let mut columns: HashMap<Column, usize> = HashMap::new();
    let mut ignored = Vec::new();
    for (index, header) in headers.iter().enumerate() {
        let normalized = normalize_header(header);
        match Column::from_header(&normalized) {
            Some(column) => {
                if let Some(first) = columns.insert(column, index) {
                    return Err(format!(
                        "The column {} appears twice (columns {} and {}). Remove one of them.",
                        column.name(),
                        first + 1,
                        index + 1
                    ));
                }
            }
            None if normalized.is_empty() => {}
            None => ignored.push(header.trim().to_owned()),
        }
    }
    let missing: Vec<&str> = REQUIRED
        .iter()
        .filter(|column| !columns.contains_key(column))
        .map(|column| column.name())
        .collect();
    if !missing.is_empty() {
        let found: Vec<&str> = headers.iter().map(str::trim).collect();
        return Err(format!(
            "The header row has no {} column. It must name at least name, contact_name and contact_email (any case, any order); the first row of this file is: {}.",
            missing.join(", "),
            found.join(", ")
        ));
    }
    Ok((columns, ignored))
}

fn parse_row(
    columns: &HashMap<Column, usize>,
    record: &csv::StringRecord,
) -> Result<VendorRow, String> {
    let cell = |column: Column| -> Option<String> {
        let value = record.get(*columns.get(&column)?)?.trim();
        (!value.is_empty()).then(|| value.to_owned())
    };
    let mut problems: Vec<String> = Vec::new();

    let name = match cell(Column::Name) {
        None => {
            problems.push("name is empty".to_owned());
            String::new()
        }
        Some(value) => parse_name(&value).unwrap_or_else(|message| {
            problems.push(message);
            String::new()
        }),
    };
    let contact_name = cell(Column::ContactName)
        .map(|name| name.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| {
            problems.push("contact_name is empty".to_owned());
            String::new()
        });
    let email = match cell(Column::ContactEmail) {
        None => {
            problems.push("contact_email is empty".to_owned());
            None
        }
        Some(value) => match EmailAddress::parse(&value) {
            Ok(email) => Some(email),
            Err(message) => {
                problems.push(format!("contact_email: {message}"));
                None
            }
        },
    };

    let mut choice = |column: Column, parse: &dyn Fn(&str) -> Result<(), String>| {
        if let Some(value) = cell(column)
            && let Err(message) = parse(&value)
        {
            problems.push(format!("{}: {message}", column.name()));
        }
    };
    choice(Column::PhiAccess, &|value| {
        value.parse::<PhiAccess>().map(drop)
    });
    choice(Column::ClinicalCriticality, &|value| {
        value.parse::<ClinicalCriticality>().map(drop)
    });
    choice(Column::BaaStatus, &|value| {
        value.parse::<BaaStatus>().map(drop)
    });
    choice(Column::SystemIntegration, &|value| {
        parse_flag(value).map(drop)
    });
    choice(Column::MedicalDevice, &|value| parse_flag(value).map(drop));
    choice(Column::OffshoreAccess, &|value| parse_flag(value).map(drop));
    choice(Column::ContractRenewal, &|value| {
        parse_date(value).map(drop)
    });
    choice(Column::Website, &|value| parse_website(value).map(drop));

    let Some(email) = email else {
        return Err(sentence(&problems));
    };
    if !problems.is_empty() {
        return Err(sentence(&problems));
    }
    let fields = VendorFields {
        website: cell(Column::Website).and_then(|value| parse_website(&value).ok().flatten()),
        service: cell(Column::Service),
        phi_access: cell(Column::PhiAccess).and_then(|value| value.parse().ok()),
        clinical_criticality: cell(Column::ClinicalCriticality)
            .and_then(|value| value.parse().ok()),
        system_integration: cell(Column::SystemIntegration)
            .and_then(|value| parse_flag(&value).ok()),
        medical_device: cell(Column::MedicalDevice).and_then(|value| parse_flag(&value).ok()),
        offshore_access: cell(Column::OffshoreAccess).and_then(|value| parse_flag(&value).ok()),
        baa_status: cell(Column::BaaStatus).and_then(|value| value.parse().ok()),
        contract_renewal: cell(Column::ContractRenewal).and_then(|value| parse_date(&value).ok()),
    };
    Ok(VendorRow {
        name_key: name_key(&name),
        name,
        fields,
        contact: ContactInput {
            name: contact_name,
            email,
            role: cell(Column::ContactRole),
            phone: cell(Column::ContactPhone),
        },
    })
}

fn sentence(problems: &[String]) -> String {
    let mut text = problems.join("; ");
    if !text.ends_with('.') {
        text.push('.');
    }
    text
}

/// Parses a yes/no cell: yes, no, true, false, y, n, 1, 0 in any case.
pub fn parse_flag(value: &str) -> Result<bool, String> {
    match value.trim().to_lowercase().as_str() {
        "yes" | "y" | "true" | "1" => Ok(true),
        "no" | "n" | "false" | "0" => Ok(false),
        _ => Err(format!("{value:?} is not yes or no")),
    }
}

/// Parses a date written as YYYY-MM-DD or, as US spreadsheets export it, M/D/YYYY.
pub fn parse_date(value: &str) -> Result<NaiveDate, String> {
    let value = value.trim();
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(value, "%m/%d/%Y"))
        .map_err(|_| format!("{value:?} is not a date; write it as YYYY-MM-DD (or M/D/YYYY)"))
}

/// Marks exact repeats of an earlier row, and rejects rows that contradict an earlier row about
/// the same vendor or contact, so that importing a file twice gives the same result.
fn deduplicate(
    row: VendorRow,
    line: u64,
    seen: &mut HashMap<(String, String), (u64, VendorRow)>,
    vendor_first_row: &mut HashMap<String, (u64, VendorFields)>,
) -> RowResult {
    let key = (row.name_key.clone(), row.contact.email.key());
    if let Some((first_line, first)) = seen.get(&key) {
        if *first == row {
            return RowResult::Duplicate {
                of_line: *first_line,
            };
        }
        return RowResult::Rejected {
            reason: format!(
                "Line {first_line} has the same vendor and contact e-mail with different details; keep one of the two rows."
            ),
        };
    }
    if let Some((first_line, fields)) = vendor_first_row.get(&row.name_key) {
        if let Some(field) = conflicting_field(fields, &row.fields) {
            return RowResult::Rejected {
                reason: format!(
                    "Line {first_line} gives this vendor a different {field}; use the same value on every row of a vendor."
                ),
            };
        }
        // Later rows may fill fields that the first row left empty.
        let merged = merge(fields, &row.fields);
        let first_line = *first_line;
        vendor_first_row.insert(row.name_key.clone(), (first_line, merged));
    } else {
        vendor_first_row.insert(row.name_key.clone(), (line, row.fields.clone()));
    }
    seen.insert(key, (line, row.clone()));
    RowResult::Valid(row)
}

fn conflicting_field(first: &VendorFields, later: &VendorFields) -> Option<&'static str> {
    fn differs<T: PartialEq>(a: &Option<T>, b: &Option<T>) -> bool {
        matches!((a, b), (Some(a), Some(b)) if a != b)
    }
    let checks = [
        (differs(&first.website, &later.website), "website"),
        (differs(&first.service, &later.service), "service"),
        (differs(&first.phi_access, &later.phi_access), "phi_access"),
        (
            differs(&first.clinical_criticality, &later.clinical_criticality),
            "clinical_criticality",
        ),
        (
            differs(&first.system_integration, &later.system_integration),
            "system_integration",
        ),
        (
            differs(&first.medical_device, &later.medical_device),
            "medical_device",
        ),
        (
            differs(&first.offshore_access, &later.offshore_access),
            "offshore_access",
        ),
        (differs(&first.baa_status, &later.baa_status), "baa_status"),
        (
            differs(&first.contract_renewal, &later.contract_renewal),
            "contract_renewal",
        ),
    ];
    checks
        .iter()
        .find(|(conflict, _)| *conflict)
        .map(|(_, field)| *field)
}

/// Returns `first` with its empty fields taken from `later`.
pub fn merge(first: &VendorFields, later: &VendorFields) -> VendorFields {
    VendorFields {
        website: first.website.clone().or_else(|| later.website.clone()),
        service: first.service.clone().or_else(|| later.service.clone()),
        phi_access: first.phi_access.or(later.phi_access),
        clinical_criticality: first.clinical_criticality.or(later.clinical_criticality),
        system_integration: first.system_integration.or(later.system_integration),
        medical_device: first.medical_device.or(later.medical_device),
        offshore_access: first.offshore_access.or(later.offshore_access),
        baa_status: first.baa_status.or(later.baa_status),
        contract_renewal: first.contract_renewal.or(later.contract_renewal),
    }
}

#[cfg(test)]
mod tests;
