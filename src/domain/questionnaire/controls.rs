//! Control references a question may cite: ISO/IEC 27001:2022 Annex A controls and HIPAA
//! citations (the Security Rule, 45 CFR 164 subpart C, plus 164.410 and 164.504(e), which bind
//! business associates). The lists are data files beside this module.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::Serialize;

const ISO_ANNEX_A: &str = include_str!("iso27001_2022_annex_a.tsv");
const HIPAA: &str = include_str!("hipaa_citations.tsv");

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Framework {
    /// ISO/IEC 27001:2022 Annex A.
    Iso27001,
    /// HIPAA (45 CFR Part 164).
    Hipaa,
}

/// A known control: which framework and its title.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Control {
    pub framework: Framework,
    pub title: &'static str,
}

static CONTROLS: LazyLock<HashMap<&'static str, Control>> = LazyLock::new(|| {
    let mut controls = HashMap::new();
    for (text, framework) in [
        (ISO_ANNEX_A, Framework::Iso27001),
        (HIPAA, Framework::Hipaa),
    ] {
        // The first line of each file contains the column names.
        for line in text.lines().skip(1).filter(|line| !line.trim().is_empty()) {
            let mut columns = line.split('\t');
            let id = columns.next().unwrap_or_default().trim();
            let title = columns.next().unwrap_or_default().trim();
            controls.insert(id, Control { framework, title });
        }
    }
    controls
});

/// Looks up a control reference exactly as written in a questionnaire.
pub fn lookup(reference: &str) -> Option<Control> {
    CONTROLS.get(reference).copied()
}

/// Explains why `reference` is not a known control and, where it can tell, how to write it.
pub fn explain_unknown(reference: &str) -> String {
    let trimmed = reference.trim();
    if trimmed != reference {
        return format!("control reference {reference:?} has spaces around it; write {trimmed:?}");
    }
    if let Some(rest) = reference.strip_prefix("A.") {
        if lookup(rest).is_some() {
            return format!("write control {reference:?} as {rest:?}, without the \"A.\" prefix");
        }
        if rest.matches('.').count() >= 2 {
            return format!(
                "control {reference:?} uses ISO/IEC 27001:2013 numbering; use the 2022 Annex A id (5.1 to 8.34)"
            );
        }
    }
    for prefix in ["45 CFR §", "45 CFR ", "§ ", "§"] {
        if let Some(rest) = reference.strip_prefix(prefix) {
            let rest = rest.trim();
            if lookup(rest).is_some() {
                return format!("write control {reference:?} as {rest:?}, without the prefix");
            }
            return format!(
                "write control {reference:?} without the prefix; then: {}",
                explain_unknown(rest)
            );
        }
    }
    if reference.starts_with("164.") {
        let standard = format!("{reference}(i)");
        if lookup(&standard).is_some() {
            return format!(
                "{reference:?} is not a citation the portal knows; the standard is cited as {standard:?}"
            );
        }
        let children: Vec<&str> = CONTROLS
            .keys()
            .copied()
            .filter(|known| known.starts_with(reference) && known.len() > reference.len())
            .collect();
        if !children.is_empty() {
            let mut children = children;
            children.sort_unstable();
            return format!(
                "{reference:?} is not a citation the portal knows; cite one of its paragraphs instead: {}",
                children.join(", ")
            );
        }
        return format!(
            "{reference:?} is not a HIPAA Security Rule citation the portal knows; check the paragraph letters and numbers (for example 164.312(a)(2)(iv))"
        );
    }
    format!(
        "unknown control reference {reference:?}; use an ISO/IEC 27001:2022 Annex A id such as \"5.19\" or a HIPAA citation such as \"164.308(a)(1)(ii)(A)\""
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_finds_both_frameworks() {
        assert_eq!(lookup("5.19").unwrap().framework, Framework::Iso27001);
        assert_eq!(lookup("8.34").unwrap().framework, Framework::Iso27001);
        assert_eq!(
            lookup("164.308(a)(1)(ii)(A)").unwrap().title,
            "Risk analysis"
        );
        assert_eq!(lookup("164.410").unwrap().framework, Framework::Hipaa);
        assert!(lookup("5.38").is_none());
        assert!(lookup("id").is_none(), "the header line is not a control");
    }

    #[test]
    fn explain_unknown_gives_hints() {
        assert!(explain_unknown("A.5.19").contains("without the \"A.\" prefix"));
        assert!(explain_unknown("A.12.6.1").contains("2013"));
        assert!(explain_unknown("45 CFR 164.312(b)").contains("without the prefix"));
        assert!(explain_unknown("164.312(z)").contains("HIPAA"));
        assert!(explain_unknown("SOC2-CC6.1").contains("unknown control reference"));
        assert!(explain_unknown("164.308(a)(1)").contains("\"164.308(a)(1)(i)\""));
        assert!(explain_unknown("164.314(a)").contains("164.314(a)(1)"));
        assert!(explain_unknown("§164.308(a)(1)").contains("without the prefix"));
    }
}
