//! The My Number Card at the counter: 照合番号B opens the 券面AP; the card face is verified
//! under the CV root and the chip proves its key (shared/spec/10-card.md §7, 50-scenarios.md §4).
//! The law's record keeps only the check time and the 8 digits of 照合番号B without the birth
//! date — never the My Number.

/// A My Number Card face that does not read or verify.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MyNumberError {
    /// Not built yet.
    #[error("My Number Card: not built yet")]
    NotBuilt,
}

/// Reads and verifies this document at the counter (see [`crate::check()`]).
pub fn check(
    _t: &mut dyn hanko_card::Transport,
    _code: &crate::AccessCode,
    _trust: &crate::TrustAnchors,
    _now: time::OffsetDateTime,
    _progress: &mut dyn FnMut(crate::Progress<'_>),
) -> Result<crate::Report, crate::CheckError> {
    Err(MyNumberError::NotBuilt.into())
}
