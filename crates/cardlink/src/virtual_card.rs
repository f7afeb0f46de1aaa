//! What an emulated card offers to the adapters in this crate.

use std::io;

/// The contact ATR of a My Number Card, `3B E0 00 FF 81 31 FE 45 14`
/// (shared/spec/10-card.md §1). OpenSC picks its JPKI driver by this exact ATR.
///
/// ```text
/// 3B  TS  direct convention
/// E0  T0  TB1 TC1 TD1 follow, no historical bytes
/// 00  TB1
/// FF  TC1 extra guard time 255
/// 81  TD1 TD2 follows, T=1
/// 31  TD2 TA3 TB3 follow, T=1
/// FE  TA3 IFSC 254
/// 45  TB3 BWI 4, CWI 5
/// 14  TCK
/// ```
pub const JPKI_CONTACT_ATR: [u8; 9] = [0x3B, 0xE0, 0x00, 0xFF, 0x81, 0x31, 0xFE, 0x45, 0x14];

/// A card that lives in software: the emulated chip (or a test double) as the adapters see it.
///
/// The adapters call [`reset`](VirtualCard::reset) on power-on and on a warm reset,
/// [`power_off`](VirtualCard::power_off) when the reader powers the card down or the card
/// leaves the reader (the bridge's connection ends), and for each command APDU
/// [`process`](VirtualCard::process) followed by [`before_reply`](VirtualCard::before_reply).
pub trait VirtualCard {
    /// The answer to reset, e.g. [`JPKI_CONTACT_ATR`].
    fn atr(&self) -> Vec<u8>;

    /// Processes one command APDU and returns the response APDU (data ‖ SW1 SW2).
    fn process(&mut self, apdu: &[u8]) -> Vec<u8>;

    /// Power-on or warm reset: clears volatile state (selected DF, PIN-verified flags).
    fn reset(&mut self);

    /// Power-off or removal from the reader: clears volatile state.
    fn power_off(&mut self);

    /// Called after [`process`](VirtualCard::process) and before its response leaves the
    /// card. Persist here whatever must survive a crash, above all a PIN retry counter that a
    /// wrong VERIFY just decremented (shared/spec/10-card.md §9).
    ///
    /// When this fails the response is never delivered: the adapter powers the card off and
    /// reports the error instead. The default does nothing.
    fn before_reply(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<C: VirtualCard + ?Sized> VirtualCard for &mut C {
    fn atr(&self) -> Vec<u8> {
        (**self).atr()
    }
    fn process(&mut self, apdu: &[u8]) -> Vec<u8> {
        (**self).process(apdu)
    }
    fn reset(&mut self) {
        (**self).reset()
    }
    fn power_off(&mut self) {
        (**self).power_off()
    }
    fn before_reply(&mut self) -> io::Result<()> {
        (**self).before_reply()
    }
}

impl<C: VirtualCard + ?Sized> VirtualCard for Box<C> {
    fn atr(&self) -> Vec<u8> {
        (**self).atr()
    }
    fn process(&mut self, apdu: &[u8]) -> Vec<u8> {
        (**self).process(apdu)
    }
    fn reset(&mut self) {
        (**self).reset()
    }
    fn power_off(&mut self) {
        (**self).power_off()
    }
    fn before_reply(&mut self) -> io::Result<()> {
        (**self).before_reply()
    }
}

/// The other IC documents (licence, residence card, passport) served like a card. Persistence
/// (a licence PIN counter) is the image adapter's job: see [`hanko_documents::Chip::take_dirty`].
impl VirtualCard for hanko_documents::DocumentChip {
    fn atr(&self) -> Vec<u8> {
        hanko_documents::Chip::atr(self)
    }
    fn process(&mut self, apdu: &[u8]) -> Vec<u8> {
        hanko_documents::Chip::process(self, apdu)
    }
    fn reset(&mut self) {
        hanko_documents::Chip::reset(self)
    }
    fn power_off(&mut self) {
        hanko_documents::Chip::reset(self)
    }
}
