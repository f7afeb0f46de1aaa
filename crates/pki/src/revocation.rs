//! Revocation reasons, what they mean for a business, and revocation status
//! (shared/spec/20-pki.md §3).

use time::OffsetDateTime;

/// `CRLReason` (RFC 5280 §5.3.1). Unknown codes round-trip.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CrlReason(pub u8);

impl CrlReason {
    /// unspecified (0) — destroyed before handover.
    pub const UNSPECIFIED: CrlReason = CrlReason(0);
    /// keyCompromise (1).
    pub const KEY_COMPROMISE: CrlReason = CrlReason(1);
    /// cACompromise (2).
    pub const CA_COMPROMISE: CrlReason = CrlReason(2);
    /// affiliationChanged (3) — 異動: name, address, birth date or sex changed; death; emigration.
    pub const AFFILIATION_CHANGED: CrlReason = CrlReason(3);
    /// superseded (4) — renewed.
    pub const SUPERSEDED: CrlReason = CrlReason(4);
    /// cessationOfOperation (5) — no longer needed, card returned, My Number changed.
    pub const CESSATION_OF_OPERATION: CrlReason = CrlReason(5);
    /// certificateHold (6) — lost or stolen, suspension; never released in JPKI.
    pub const CERTIFICATE_HOLD: CrlReason = CrlReason(6);
    /// removeFromCRL (8) — only in delta CRLs; JPKI never releases a hold.
    pub const REMOVE_FROM_CRL: CrlReason = CrlReason(8);
    /// privilegeWithdrawn (9).
    pub const PRIVILEGE_WITHDRAWN: CrlReason = CrlReason(9);
    /// aACompromise (10).
    pub const AA_COMPROMISE: CrlReason = CrlReason(10);

    /// The RFC 5280 name, e.g. `affiliationChanged`.
    pub fn name(self) -> &'static str {
        match self.0 {
            0 => "unspecified",
            1 => "keyCompromise",
            2 => "cACompromise",
            3 => "affiliationChanged",
            4 => "superseded",
            5 => "cessationOfOperation",
            6 => "certificateHold",
            8 => "removeFromCRL",
            9 => "privilegeWithdrawn",
            10 => "aACompromise",
            _ => "unknown",
        }
    }

    /// Parses an RFC 5280 name (as [`CrlReason::name`] prints it).
    pub fn from_name(s: &str) -> Option<CrlReason> {
        (0..=10).map(CrlReason).find(|r| r.0 != 7 && r.name().eq_ignore_ascii_case(s))
    }

    /// What the revocation means for a business holding this certificate.
    pub fn meaning(self) -> RevocationMeaning {
        match self {
            CrlReason::AFFILIATION_CHANGED => RevocationMeaning::FactsChanged,
            CrlReason::SUPERSEDED => RevocationMeaning::Renewed,
            CrlReason::CERTIFICATE_HOLD => RevocationMeaning::Lost,
            CrlReason::CESSATION_OF_OPERATION => RevocationMeaning::NoLongerUsed,
            CrlReason::KEY_COMPROMISE | CrlReason::CA_COMPROMISE | CrlReason::AA_COMPROMISE => {
                RevocationMeaning::KeyCompromised
            }
            _ => RevocationMeaning::Other,
        }
    }
}

impl core::fmt::Debug for CrlReason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}({})", self.name(), self.0)
    }
}

impl core::fmt::Display for CrlReason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// The business meaning of a revocation reason (20-pki.md §3, §5.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RevocationMeaning {
    /// 異動あり: the person's facts changed (move, marriage, correction) — or death/emigration.
    /// With consent, fetch the latest 4 facts.
    FactsChanged,
    /// Renewed: follow the old → new serial linkage.
    Renewed,
    /// Lost or suspended (certificateHold, never released).
    Lost,
    /// No longer used: card returned, My Number changed.
    NoLongerUsed,
    /// The key was compromised.
    KeyCompromised,
    /// Any other reason.
    Other,
}

impl RevocationMeaning {
    /// A short stable name for JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            RevocationMeaning::FactsChanged => "facts-changed",
            RevocationMeaning::Renewed => "renewed",
            RevocationMeaning::Lost => "lost",
            RevocationMeaning::NoLongerUsed => "no-longer-used",
            RevocationMeaning::KeyCompromised => "key-compromised",
            RevocationMeaning::Other => "other",
        }
    }
}

/// One revocation: when and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Revocation {
    /// revocationDate.
    pub revoked_at: OffsetDateTime,
    /// The reason (unspecified when the entry has no reasonCode).
    pub reason: CrlReason,
}

/// The revocation status of one certificate, from a CRL or an OCSP response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevocationStatus {
    /// Not revoked.
    Good,
    /// Revoked.
    Revoked(Revocation),
    /// The source does not know the certificate (OCSP `unknown`).
    Unknown,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn names_round_trip() {
        for code in [0u8, 1, 2, 3, 4, 5, 6, 8, 9, 10] {
            let r = CrlReason(code);
            assert_eq!(CrlReason::from_name(r.name()), Some(r));
        }
        assert_eq!(CrlReason::from_name("bogus"), None);
        assert_eq!(format!("{:?}", CrlReason(42)), "unknown(42)");
    }

    #[test]
    fn meanings() {
        assert_eq!(CrlReason::AFFILIATION_CHANGED.meaning(), RevocationMeaning::FactsChanged);
        assert_eq!(CrlReason::SUPERSEDED.meaning(), RevocationMeaning::Renewed);
        assert_eq!(CrlReason::CERTIFICATE_HOLD.meaning(), RevocationMeaning::Lost);
    }
}
