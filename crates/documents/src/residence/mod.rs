//! The residence card (在留カード) and special permanent resident certificate (特別永住者証明書): the emulated chip, the reader and the verifier
//! (shared/spec/40-id-documents.md §2).
//!
//! To be built (issue 12): card-number mutual authentication and secure messaging (2-key TDES,
//! retail MAC, SHA-1 key derivation) with the official test vectors, the files with extended-Le
//! reads, the unsigned DF2, the DF3 signature (raw PKCS#1 without DigestInfo).

use serde::{Deserialize, Serialize};

/// The emulated residence card chip.
#[derive(Serialize, Deserialize)]
pub struct ResidenceChip {}

impl crate::Chip for ResidenceChip {
    fn atr(&self) -> Vec<u8> {
        Vec::new()
    }
    fn process(&mut self, _apdu: &[u8]) -> Vec<u8> {
        vec![0x6D, 0x00]
    }
    fn reset(&mut self) {}
    fn take_dirty(&mut self) -> bool {
        false
    }
}

/// A residence card that does not read or verify.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResidenceError {
    /// Not built yet.
    #[error("residence card: not built yet")]
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
    Err(ResidenceError::NotBuilt.into())
}
