//! The IC driver's licence (IC運転免許証): the emulated chip, the reader and the verifier
//! (shared/spec/40-id-documents.md §1).
//!
//! To be built (issue 12): MF/DF1/DF2 files and TLVs, two ASCII PINs with 3 tries, the PIN-set
//! flag, JIS X 0208 text, era dates, the photo, the EF07 signature by a sandbox police key
//! selected by SKI; the unsigned change-history EFs.

use serde::{Deserialize, Serialize};

/// The emulated licence chip.
#[derive(Serialize, Deserialize)]
pub struct LicenceChip {}

impl crate::Chip for LicenceChip {
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

/// A licence that does not read or verify.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LicenceError {
    /// Not built yet.
    #[error("driver's licence: not built yet")]
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
    Err(LicenceError::NotBuilt.into())
}
