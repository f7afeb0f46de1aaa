//! An emulated document chip as the adapters see it (served by `hanko-cardlink` through vpcd,
//! kept on disk as a sealed image).

use serde::{Deserialize, Serialize};

use crate::check::DocumentKind;
use crate::{licence, passport, residence};

/// One emulated IC document: a state machine over command APDUs, like `hanko_card::Card`.
pub trait Chip {
    /// The answer to reset this chip gives (shared/spec/40-id-documents.md).
    fn atr(&self) -> Vec<u8>;
    /// Processes one command APDU and returns the response APDU (data ‖ SW1 SW2).
    fn process(&mut self, apdu: &[u8]) -> Vec<u8>;
    /// Power-on, reset or removal from the field: clears every volatile state (selected file,
    /// verified PINs, secure-messaging session).
    fn reset(&mut self);
    /// Whether persistent state (a PIN retry counter) changed since the last call: the adapter
    /// writes the image **before** the response leaves when it did.
    fn take_dirty(&mut self) -> bool;
}

/// Any of the emulated documents, for adapters and images that hold "a document".
#[derive(Serialize, Deserialize)]
#[non_exhaustive]
pub enum DocumentChip {
    /// An IC driver's licence.
    Licence(licence::LicenceChip),
    /// A residence card or special permanent resident certificate.
    Residence(residence::ResidenceChip),
    /// An ICAO 9303 passport.
    Passport(passport::PassportChip),
}

impl DocumentChip {
    /// Which document this is.
    pub fn kind(&self) -> DocumentKind {
        match self {
            DocumentChip::Licence(_) => DocumentKind::DriverLicence,
            DocumentChip::Residence(_) => DocumentKind::ResidenceCard,
            DocumentChip::Passport(_) => DocumentKind::Passport,
        }
    }

    fn inner(&mut self) -> &mut dyn Chip {
        match self {
            DocumentChip::Licence(c) => c,
            DocumentChip::Residence(c) => c,
            DocumentChip::Passport(c) => c,
        }
    }
}

impl core::fmt::Debug for DocumentChip {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "DocumentChip({:?}, [elided])", self.kind())
    }
}

impl Chip for DocumentChip {
    fn atr(&self) -> Vec<u8> {
        match self {
            DocumentChip::Licence(c) => c.atr(),
            DocumentChip::Residence(c) => c.atr(),
            DocumentChip::Passport(c) => c.atr(),
        }
    }
    fn process(&mut self, apdu: &[u8]) -> Vec<u8> {
        self.inner().process(apdu)
    }
    fn reset(&mut self) {
        self.inner().reset()
    }
    fn take_dirty(&mut self) -> bool {
        self.inner().take_dirty()
    }
}

/// A [`hanko_card::Transport`] straight into an emulated chip, in process (tests, benchmarks,
/// the counter app's "serve an emulated document" without pcscd).
#[derive(Debug)]
pub struct Loopback<C: Chip>(pub C);

impl<C: Chip> hanko_card::Transport for Loopback<C> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, hanko_card::TransportError> {
        Ok(self.0.process(apdu))
    }
}
