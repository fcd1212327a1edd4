//! A vendor's inherent-risk profile and the tier that follows from it.
//!
//! The rule is documented for staff in `docs/tiering.md`; keep the two in step.

use serde::Serialize;

use super::string_enum;

string_enum! {
    /// How much protected health information (PHI) the vendor can see or hold.
    pub enum PhiAccess ("PHI access level") {
        None => "none",
        /// Occasional records, such as a support engineer viewing a patient's screen.
        Limited => "limited",
        /// Stores, processes or can export many patients' records.
        Bulk => "bulk",
    }
}

string_enum! {
    /// How directly patient care depends on the vendor.
    pub enum ClinicalCriticality ("clinical criticality") {
        None => "none",
        /// Care slows down without it (scheduling, transcription, billing that blocks admissions).
        Supporting => "supporting",
        /// Care stops or patients are at risk without it (EHR, imaging, infusion pumps).
        DirectPatientCare => "direct_patient_care",
    }
}

string_enum! {
    /// Assessment tier, from most to least scrutiny.
    pub enum Tier ("tier") {
        Critical => "critical",
        High => "high",
        Moderate => "moderate",
        Low => "low",
    }
}

string_enum! {
    /// State of the business associate agreement (BAA) with the vendor.
    pub enum BaaStatus ("BAA status") {
        /// The vendor never creates, receives, keeps or sends PHI for us.
        NotRequired => "not_required",
        /// Needed but not signed yet.
        Pending => "pending",
        Signed => "signed",
        /// Was signed and has lapsed.
        Expired => "expired",
    }
}

impl Tier {
    /// Sort position: 1 for critical through 4 for low, so ascending order is most severe first.
    pub fn rank(self) -> i32 {
        match self {
            Tier::Critical => 1,
            Tier::High => 2,
            Tier::Moderate => 3,
            Tier::Low => 4,
        }
    }

    pub fn from_rank(rank: i32) -> Option<Self> {
        Self::ALL.iter().copied().find(|tier| tier.rank() == rank)
    }

    pub fn label(self) -> &'static str {
        match self {
            Tier::Critical => "Critical",
            Tier::High => "High",
            Tier::Moderate => "Moderate",
            Tier::Low => "Low",
        }
    }
}

impl PhiAccess {
    pub fn label(self) -> &'static str {
        match self {
            PhiAccess::None => "None",
            PhiAccess::Limited => "Limited",
            PhiAccess::Bulk => "Bulk",
        }
    }
}

impl ClinicalCriticality {
    pub fn label(self) -> &'static str {
        match self {
            ClinicalCriticality::None => "None",
            ClinicalCriticality::Supporting => "Supporting",
            ClinicalCriticality::DirectPatientCare => "Direct patient care",
        }
    }
}

impl BaaStatus {
    pub fn label(self) -> &'static str {
        match self {
            BaaStatus::NotRequired => "Not required",
            BaaStatus::Pending => "Pending",
            BaaStatus::Signed => "Signed",
            BaaStatus::Expired => "Expired",
        }
    }

    /// The status a new vendor starts with: a BAA is needed whenever the vendor sees PHI.
    pub fn default_for(phi_access: PhiAccess) -> Self {
        match phi_access {
            PhiAccess::None => BaaStatus::NotRequired,
            PhiAccess::Limited | PhiAccess::Bulk => BaaStatus::Pending,
        }
    }
}

/// The facts about a vendor from which its tier follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct InherentProfile {
    pub phi_access: PhiAccess,
    pub clinical_criticality: ClinicalCriticality,
    /// Connects to our network or exchanges data with our systems automatically.
    pub system_integration: bool,
    /// Supplies a medical device (FDA-regulated hardware or software).
    pub medical_device: bool,
    /// Staff or subcontractors outside the United States can reach our data.
    pub offshore_access: bool,
}

impl Default for InherentProfile {
    fn default() -> Self {
        Self {
            phi_access: PhiAccess::None,
            clinical_criticality: ClinicalCriticality::None,
            system_integration: false,
            medical_device: false,
            offshore_access: false,
        }
    }
}

/// A tier together with the rule that produced it, so staff can see why.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct TierDecision {
    pub tier: Tier,
    pub reason: &'static str,
}

impl InherentProfile {
    /// Applies the tiering rule: the first matching line wins.
    pub fn tier(&self) -> TierDecision {
        use ClinicalCriticality as C;
        use PhiAccess as P;

        let decide = |tier, reason| TierDecision { tier, reason };
        let p = self;

        if p.clinical_criticality == C::DirectPatientCare {
            return decide(
                Tier::Critical,
                "Patient care depends directly on this vendor.",
            );
        }
        if p.phi_access == P::Bulk && p.system_integration {
            return decide(
                Tier::Critical,
                "Bulk PHI access combined with integration into our systems.",
            );
        }
        if p.medical_device && p.system_integration {
            return decide(
                Tier::Critical,
                "A medical device connected to our network or systems.",
            );
        }
        if p.phi_access == P::Bulk {
            return decide(Tier::High, "Bulk PHI access.");
        }
        if p.medical_device {
            return decide(Tier::High, "Supplies a medical device.");
        }
        if p.phi_access == P::Limited && (p.system_integration || p.offshore_access) {
            return decide(
                Tier::High,
                "Limited PHI access with system integration or offshore access.",
            );
        }
        if p.clinical_criticality == C::Supporting && p.system_integration {
            return decide(
                Tier::High,
                "Supports clinical work and is integrated with our systems.",
            );
        }
        if p.phi_access == P::Limited {
            return decide(Tier::Moderate, "Limited PHI access.");
        }
        if p.system_integration {
            return decide(Tier::Moderate, "Integrated with our network or systems.");
        }
        if p.clinical_criticality == C::Supporting {
            return decide(Tier::Moderate, "Supports clinical work.");
        }
        if p.offshore_access {
            return decide(Tier::Moderate, "Offshore access to our data.");
        }
        decide(
            Tier::Low,
            "No PHI access, integration, clinical dependency or offshore access.",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(
        phi_access: PhiAccess,
        clinical_criticality: ClinicalCriticality,
        system_integration: bool,
        medical_device: bool,
        offshore_access: bool,
    ) -> InherentProfile {
        InherentProfile {
            phi_access,
            clinical_criticality,
            system_integration,
            medical_device,
            offshore_access,
        }
    }

    #[test]
    fn tier_rule_table() {
        use ClinicalCriticality as C;
        use PhiAccess as P;
        let cases = [
            (profile(P::None, C::None, false, false, false), Tier::Low),
            (
                profile(P::None, C::DirectPatientCare, false, false, false),
                Tier::Critical,
            ),
            (
                profile(P::Bulk, C::None, true, false, false),
                Tier::Critical,
            ),
            (profile(P::None, C::None, true, true, false), Tier::Critical),
            (profile(P::Bulk, C::None, false, false, false), Tier::High),
            (profile(P::None, C::None, false, true, false), Tier::High),
            (profile(P::Limited, C::None, true, false, false), Tier::High),
            (profile(P::Limited, C::None, false, false, true), Tier::High),
            (
                profile(P::None, C::Supporting, true, false, false),
                Tier::High,
            ),
            (
                profile(P::Limited, C::None, false, false, false),
                Tier::Moderate,
            ),
            (
                profile(P::None, C::None, true, false, false),
                Tier::Moderate,
            ),
            (
                profile(P::None, C::Supporting, false, false, false),
                Tier::Moderate,
            ),
            (
                profile(P::None, C::None, false, false, true),
                Tier::Moderate,
            ),
        ];
        for (profile, expected) in cases {
            assert_eq!(profile.tier().tier, expected, "{profile:?}");
        }
    }

    #[test]
    fn tier_rank_round_trips() {
        for tier in Tier::ALL {
            assert_eq!(Tier::from_rank(tier.rank()), Some(*tier));
        }
    }

    #[test]
    fn criticality_parses_label_forms() {
        assert_eq!(
            "Direct patient care"
                .parse::<ClinicalCriticality>()
                .unwrap(),
            ClinicalCriticality::DirectPatientCare
        );
        assert!("urgent".parse::<ClinicalCriticality>().is_err());
    }
}

/// Returns the form of a vendor name used for uniqueness within a tenant: trimmed, lowercase,
/// with runs of white space folded to one space, so "Acme  Health" and "acme health" match.
pub fn name_key(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Longest accepted vendor name, in characters.
pub const MAX_NAME_CHARS: usize = 200;

/// Checks a vendor name and returns it trimmed with white space folded.
///
/// # Errors
/// Returns a message for an empty or too long name.
pub fn parse_name(input: &str) -> Result<String, String> {
    let name = input.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() {
        return Err("Enter the vendor's name.".to_owned());
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(format!(
            "The vendor name is longer than {MAX_NAME_CHARS} characters."
        ));
    }
    Ok(name)
}

#[cfg(test)]
mod name_tests {
    use super::*;

    #[test]
    fn name_key_folds_case_and_spaces() {
        assert_eq!(name_key("  Acme   Health\tSystems "), "acme health systems");
    }

    #[test]
    fn parse_name_rejects_blank_and_long() {
        assert!(parse_name("   ").is_err());
        assert!(parse_name(&"x".repeat(201)).is_err());
        assert_eq!(parse_name(" Acme  Labs ").unwrap(), "Acme Labs");
    }
}

/// A tier set by staff in place of the computed one, with the reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TierOverride {
    pub tier: Tier,
    pub rationale: String,
}

/// A vendor's editable fields after parsing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VendorInput {
    pub name: String,
    pub website: Option<String>,
    pub service: Option<String>,
    pub profile: InherentProfile,
    pub baa_status: BaaStatus,
    pub contract_renewal: Option<chrono::NaiveDate>,
    pub tier_override: Option<TierOverride>,
}

/// Checks a website address. A bare domain gets `https://` in front.
///
/// # Errors
/// Returns a message naming the value.
pub fn parse_website(input: &str) -> Result<Option<String>, String> {
    let value = input.trim();
    if value.is_empty() {
        return Ok(None);
    }
    let candidate = if value.contains("://") {
        value.to_owned()
    } else {
        format!("https://{value}")
    };
    match url::Url::parse(&candidate) {
        Ok(url)
            if matches!(url.scheme(), "http" | "https")
                && url.host_str().is_some_and(|host| host.contains('.')) =>
        {
            Ok(Some(candidate))
        }
        _ => Err(format!(
            "{value:?} is not a website address; write it as example.com or https://example.com."
        )),
    }
}

/// Checks the rationale for a tier override.
///
/// # Errors
/// Returns a message when the rationale is missing or too short to explain anything.
pub fn parse_override_rationale(input: &str) -> Result<String, String> {
    let rationale = input.trim();
    if rationale.chars().count() < 10 {
        return Err("Explain in a sentence (at least 10 characters) why this vendor needs a different tier; the reason is kept with the vendor.".to_owned());
    }
    Ok(rationale.to_owned())
}

#[cfg(test)]
mod input_tests {
    use super::*;

    #[test]
    fn website_gets_scheme() {
        assert_eq!(
            parse_website("acme.example.com").unwrap().as_deref(),
            Some("https://acme.example.com")
        );
        assert_eq!(parse_website(" ").unwrap(), None);
        assert!(parse_website("not a site").is_err());
        assert!(parse_website("ftp://acme.example.com").is_err());
    }

    #[test]
    fn override_needs_a_reason() {
        assert!(parse_override_rationale("because").is_err());
        assert!(parse_override_rationale("Handles our entire radiology archive.").is_ok());
    }
}
