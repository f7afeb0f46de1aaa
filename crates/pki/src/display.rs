//! How error messages print values: times as RFC 3339, OID lists comma-separated — never a
//! Rust `Debug` form (issue 8 §4).

use const_oid::ObjectIdentifier;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// `2026-12-06T03:49:31Z`, not `2026-12-06 3:49:31.0 +00:00:00`.
pub(crate) fn rfc3339(t: &OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

/// `1.2.3, 1.2.4`, or `none`.
pub(crate) fn oids(list: &[ObjectIdentifier]) -> String {
    if list.is_empty() {
        return "none".to_owned();
    }
    list.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use crate::verify::{Usage, VerifyError};
    use crate::{CaKind, CertKind, DigestAlgorithm};

    /// Error texts the CLI printed with Debug names and `time`'s Display:
    /// "a Auth certificate cannot be used for Signature", `[ObjectIdentifier(…)]`, `Sha256`,
    /// `2026-12-06 3:49:31.0 +00:00:00`.
    #[test]
    fn error_texts_leak_no_debug_names_or_odd_times() {
        let at = datetime!(2026-12-06 03:49:31 UTC);
        let cases = [
            (
                VerifyError::WrongKind { usage: Usage::Signature, found: CertKind::Auth },
                "auth certificates cannot be used for signature",
            ),
            (
                VerifyError::WrongCa { kind: CertKind::Signature, expected: CaKind::Signature },
                "signature certificates must come from the signature CA",
            ),
            (
                VerifyError::Expired { at, not_after: datetime!(2026-01-01 00:00 UTC) },
                "certificate expired at 2026-01-01T00:00:00Z (checked at 2026-12-06T03:49:31Z)",
            ),
            (
                VerifyError::DigestLength { algorithm: DigestAlgorithm::Sha256, expected: 32, got: 1 },
                "digest is 1 bytes, SHA-256 needs 32",
            ),
            (
                VerifyError::Policy {
                    found: vec![const_oid::db::rfc5280::ANY_POLICY],
                    expected: const_oid::db::rfc5280::ANY_POLICY,
                },
                "certificate policy 2.5.29.32.0 is not 2.5.29.32.0",
            ),
        ];
        for (e, text) in cases {
            assert_eq!(e.to_string(), text);
        }
    }
}
