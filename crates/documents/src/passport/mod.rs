//! The passport (ICAO Doc 9303 LDS1): the emulated chip, the reader and the verifier
//! (shared/spec/40-id-documents.md §3).
//!
//! To be built (issue 12): BAC and PACE-GM, secure messaging 3DES and AES, EF.COM, DG1, DG2,
//! DG14, DG15, EF.SOD, passive and active authentication.

pub mod pace;
pub mod sm;

use serde::{Deserialize, Serialize};

/// The emulated passport chip.
#[derive(Serialize, Deserialize)]
pub struct PassportChip {}

impl crate::Chip for PassportChip {
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

/// A passport that does not read or verify.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PassportError {
    /// Not built yet.
    #[error("passport: not built yet")]
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
    Err(PassportError::NotBuilt.into())
}
