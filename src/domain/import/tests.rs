use super::*;

fn valid_rows(file: &ParsedFile) -> Vec<&VendorRow> {
    file.rows
        .iter()
        .filter_map(|row| match &row.result {
            RowResult::Valid(vendor) => Some(vendor),
            _ => None,
        })
        .collect()
}

fn rejection(file: &ParsedFile, line: u64) -> String {
    let row = file
        .rows
        .iter()
        .find(|row| row.line == line)
        .unwrap_or_else(|| panic!("no row on line {line}: {file:#?}"));
    match &row.result {
        RowResult::Rejected { reason } => reason.clone(),
        other => panic!("line {line} is not rejected: {other:?}"),
    }
}

#[test]
fn comma_file_with_bom_parses() {
    let file = parse_vendor_csv(
        b"\xEF\xBB\xBFname,contact_name,contact_email\nAcme,Ann Lee,ann@acme.example.com\n",
    )
    .unwrap();
    let rows = valid_rows(&file);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].name, "Acme");
    assert_eq!(rows[0].contact.email.as_str(), "ann@acme.example.com");
}

#[test]
fn semicolon_file_with_any_header_case_and_order_parses() {
    let csv =
        "Contact Email;NAME;Contact-Name;PHI Access\nann@acme.example.com;Acme;Ann Lee;Bulk\n";
    let file = parse_vendor_csv(csv.as_bytes()).unwrap();
    let rows = valid_rows(&file);
    assert_eq!(rows[0].name, "Acme");
    assert_eq!(rows[0].contact.name, "Ann Lee");
    assert_eq!(rows[0].fields.phi_access, Some(PhiAccess::Bulk));
}

#[test]
fn quoted_field_with_newline_keeps_line_numbers() {
    let csv = "name,contact_name,contact_email,service\n\"Acme, Inc.\",Ann,ann@acme.example.com,\"Imaging\nand archiving\"\nBeta,Bo,not-an-email,\n";
    let file = parse_vendor_csv(csv.as_bytes()).unwrap();
    assert_eq!(valid_rows(&file)[0].name, "Acme, Inc.");
    assert_eq!(
        valid_rows(&file)[0].fields.service.as_deref(),
        Some("Imaging\nand archiving")
    );
    let reason = rejection(&file, 4);
    assert!(reason.contains("not-an-email"), "{reason}");
}

#[test]
fn blank_lines_are_skipped() {
    let csv = "name,contact_name,contact_email\n\nAcme,Ann,ann@acme.example.com\n,,\n\nBeta,Bo,bo@beta.example.com\n";
    let file = parse_vendor_csv(csv.as_bytes()).unwrap();
    assert_eq!(file.rows.len(), 2);
    assert_eq!(file.rows[1].line, 6);
}

#[test]
fn duplicate_row_is_marked() {
    let csv = "name,contact_name,contact_email\nAcme,Ann,ann@acme.example.com\nACME ,Ann,ANN@acme.example.com\n";
    let file = parse_vendor_csv(csv.as_bytes()).unwrap();
    assert_eq!(file.rows[1].result, RowResult::Rejected {
        reason: "Line 2 has the same vendor and contact e-mail with different details; keep one of the two rows.".into()
    });
    let csv = "name,contact_name,contact_email\nAcme,Ann,ann@acme.example.com\nAcme,Ann,ann@acme.example.com\n";
    let file = parse_vendor_csv(csv.as_bytes()).unwrap();
    assert_eq!(file.rows[1].result, RowResult::Duplicate { of_line: 2 });
}

#[test]
fn conflicting_vendor_fields_are_rejected() {
    let csv = "name,contact_name,contact_email,phi_access\nAcme,Ann,ann@acme.example.com,bulk\nAcme,Bo,bo@acme.example.com,none\nAcme,Cy,cy@acme.example.com,\n";
    let file = parse_vendor_csv(csv.as_bytes()).unwrap();
    assert!(rejection(&file, 3).contains("phi_access"));
    assert!(
        matches!(file.rows[2].result, RowResult::Valid(_)),
        "an empty cell does not conflict"
    );
}

#[test]
fn invalid_values_name_column_and_value() {
    let csv = "name,contact_name,contact_email,medical_device,contract_renewal,clinical_criticality\nAcme,Ann,ann@acme.example.com,maybe,31/12/2026,urgent\n";
    let file = parse_vendor_csv(csv.as_bytes()).unwrap();
    let reason = rejection(&file, 2);
    assert!(
        reason.contains("medical_device: \"maybe\" is not yes or no"),
        "{reason}"
    );
    assert!(
        reason.contains("contract_renewal: \"31/12/2026\" is not a date"),
        "{reason}"
    );
    assert!(
        reason.contains("clinical_criticality: \"urgent\""),
        "{reason}"
    );
}

#[test]
fn missing_required_cells_are_listed() {
    let csv = "name,contact_name,contact_email\n,,someone@example.org\n";
    let file = parse_vendor_csv(csv.as_bytes()).unwrap();
    let reason = rejection(&file, 2);
    assert!(reason.contains("name is empty"), "{reason}");
    assert!(reason.contains("contact_name is empty"), "{reason}");
}

#[test]
fn extra_values_are_rejected() {
    let csv = "name,contact_name,contact_email\nAcme, Inc.,Ann,ann@acme.example.com\n";
    let file = parse_vendor_csv(csv.as_bytes()).unwrap();
    assert!(rejection(&file, 2).contains("without quotes"));
}

#[test]
fn us_dates_and_flags_parse() {
    let csv = "name,contact_name,contact_email,contract_renewal,offshore_access\nAcme,Ann,ann@acme.example.com,3/1/2027,Y\n";
    let file = parse_vendor_csv(csv.as_bytes()).unwrap();
    let fields = &valid_rows(&file)[0].fields;
    assert_eq!(fields.contract_renewal, NaiveDate::from_ymd_opt(2027, 3, 1));
    assert_eq!(fields.offshore_access, Some(true));
}

#[test]
fn unknown_columns_are_reported() {
    let csv = "name,contact_name,contact_email,notes\nAcme,Ann,ann@acme.example.com,x\n";
    let file = parse_vendor_csv(csv.as_bytes()).unwrap();
    assert_eq!(file.ignored_columns, vec!["notes".to_string()]);
}

#[test]
fn unreadable_files_are_rejected_with_a_reason() {
    let cases: [(&[u8], &str); 8] = [
        (b"", "empty"),
        (b"\n\n", "empty"),
        (b"name,contact_name,contact_email\n", "no vendor rows"),
        (b"vendor,email\nAcme,ann@acme.example.com\n", "no contact_name, contact_email column"),
        (b"name,contact_name,contact_email,Name\n", "appears twice"),
        (b"name,contact_name,contact_email\nAcme,\"Ann,ann@acme.example.com\nBeta,Bo,bo@beta.example.com\n", "line 2"),
        (b"name,contact_name,contact_email\nCaf\xe9,Ann,ann@acme.example.com\n", "not UTF-8"),
        (b"PK\x03\x04rest", "spreadsheet"),
    ];
    for (bytes, needle) in cases {
        let message = parse_vendor_csv(bytes).expect_err("file should be rejected");
        assert!(message.contains(needle), "{needle:?} not in {message:?}");
    }
}

#[test]
fn utf16_file_is_rejected() {
    let message = parse_vendor_csv(b"\xFF\xFEn\0a\0").unwrap_err();
    assert!(message.contains("UTF-16"));
}

#[test]
fn non_ascii_names_are_kept() {
    let csv = "name,contact_name,contact_email\nSöderberg Médical,José Núñez,jose@soderberg.example.com\n";
    let file = parse_vendor_csv(csv.as_bytes()).unwrap();
    let row = valid_rows(&file)[0];
    assert_eq!(row.name, "Söderberg Médical");
    assert_eq!(row.contact.name, "José Núñez");
}

#[test]
fn crlf_file_with_blank_lines_keeps_line_numbers() {
    let csv =
        "name,contact_name,contact_email\r\n\r\nAcme,Ann,ann@acme.example.com\r\nBeta,Bo,bad\r\n";
    let file = parse_vendor_csv(csv.as_bytes()).unwrap();
    assert_eq!(file.rows[0].line, 3);
    assert!(rejection(&file, 4).contains("bad"));
}

#[test]
fn website_is_checked_and_gets_scheme() {
    let csv = "name,contact_name,contact_email,website\nAcme,Ann,ann@acme.example.com,acme.example.com\nBeta,Bo,bo@beta.example.com,http//broken\n";
    let file = parse_vendor_csv(csv.as_bytes()).unwrap();
    assert_eq!(
        valid_rows(&file)[0].fields.website.as_deref(),
        Some("https://acme.example.com")
    );
    assert!(rejection(&file, 3).contains("website"));
}

#[test]
fn large_file_line_numbers_are_right() {
    let mut csv = String::from("name,contact_name,contact_email\n");
    for index in 0..5000 {
        csv.push_str(&format!(
            "Vendor {index},Contact,c{index}@v{index}.example.com\n\n"
        ));
    }
    let file = parse_vendor_csv(csv.as_bytes()).unwrap();
    assert_eq!(file.rows.len(), 5000);
    assert_eq!(file.rows[4999].line, 2 + 2 * 4999);
}

#[test]
fn multipart_body_gets_a_hint() {
    let body = "--------------------------abc\r\nContent-Disposition: form-data; name=\"file\"; filename=\"v.csv\"\r\n\r\nname,contact_name,contact_email\r\n";
    let message = parse_vendor_csv(body.as_bytes()).unwrap_err();
    assert!(message.contains("multipart form upload"), "{message}");
}
