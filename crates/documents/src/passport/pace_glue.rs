//! PACE from `pace.rs` behind the chip's and the reader's PACE seams.

use hanko_card::{StatusWord, Transport};
use rand_core::RngCore;

use super::emulator::{ChipPaceEngine, PacePasswordRef};
use super::pace::{self, ChipPace, PaceError, PacePassword};
use super::reader::PaceFailure;
use super::sm::SmKeys;

impl ChipPaceEngine for ChipPace {
    fn mse_set_at(&mut self, data: &[u8]) -> Result<(), StatusWord> {
        ChipPace::mse_set_at(self, data)
    }
    fn general_authenticate(
        &mut self,
        data: &[u8],
        rng: &mut dyn RngCore,
    ) -> Result<(Vec<u8>, Option<SmKeys>), StatusWord> {
        ChipPace::general_authenticate(self, data, rng)
    }
}

fn password(p: PacePasswordRef<'_>) -> PacePassword {
    match p {
        PacePasswordRef::Mrz(m) => PacePassword::Mrz(m.to_owned()),
        PacePasswordRef::Can(c) => PacePassword::Can(c.to_owned()),
    }
}

/// The chip's engine: `ChipPace` over the first PACEInfo of the chip's EF.CardAccess.
pub(super) fn chip(
    p: PacePasswordRef<'_>,
    card_access: &[u8],
    rng: &mut dyn RngCore,
) -> Result<Box<dyn ChipPaceEngine>, StatusWord> {
    let infos = pace::parse_card_access(card_access).map_err(|_| StatusWord::DATA_NOT_FOUND)?;
    let info = infos.first().ok_or(StatusWord::DATA_NOT_FOUND)?;
    Ok(Box::new(ChipPace::new(&password(p), info, rng).map_err(|_| StatusWord::DATA_NOT_FOUND)?))
}

/// The terminal's side: `pace::establish` with the first PACEInfo of EF.CardAccess.
pub(super) fn terminal(
    t: &mut dyn Transport,
    p: PacePasswordRef<'_>,
    card_access: &[u8],
    rng: &mut dyn RngCore,
) -> Result<SmKeys, PaceFailure> {
    let infos = pace::parse_card_access(card_access).map_err(|e| PaceFailure::Other(e.to_string()))?;
    let info = infos.first().ok_or_else(|| PaceFailure::Other("EF.CardAccess has no PACEInfo".into()))?;
    pace::establish(t, &password(p), info, rng).map_err(|e| match e {
        PaceError::WrongPassword => PaceFailure::WrongPassword,
        other => PaceFailure::Other(other.to_string()),
    })
}
