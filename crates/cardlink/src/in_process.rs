//! A transport straight into a [`VirtualCard`] in the same process.

use hanko_card::{Transport, TransportError};

use crate::vpcd::status_of;
use crate::VirtualCard;

/// A [`Transport`] that hands each command APDU to a [`VirtualCard`] in this process: the
/// emulator path without PC/SC, for tests and for the embedded card.
///
/// Like the vpcd bridge it calls [`VirtualCard::before_reply`] after every
/// [`VirtualCard::process`] and withholds the response when that fails (the card is then
/// powered off and [`Transport::transmit`] returns an error).
#[derive(Debug)]
pub struct InProcess<C: VirtualCard> {
    card: C,
}

impl<C: VirtualCard> InProcess<C> {
    /// Inserts the card and powers it on (calls [`VirtualCard::reset`]).
    pub fn new(mut card: C) -> InProcess<C> {
        card.reset();
        InProcess { card }
    }

    /// The card.
    pub fn card(&self) -> &C {
        &self.card
    }

    /// The card, mutably (e.g. to inspect or age its state in a test).
    pub fn card_mut(&mut self) -> &mut C {
        &mut self.card
    }

    /// The card's ATR.
    pub fn atr(&self) -> Vec<u8> {
        self.card.atr()
    }

    /// A warm reset of the card.
    pub fn reset(&mut self) {
        self.card.reset();
    }

    /// Powers the card off and takes it out.
    pub fn into_inner(mut self) -> C {
        self.card.power_off();
        self.card
    }
}

impl<C: VirtualCard> Transport for InProcess<C> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        let response = self.card.process(apdu);
        if let Err(e) = self.card.before_reply() {
            self.card.power_off();
            log::error!("in-process card: state not persisted ({e}); response withheld, card powered off");
            return Err(TransportError(format!("card state could not be persisted: {e}")));
        }
        log::trace!(
            "in-process card: {} command bytes -> {} response bytes, {}",
            apdu.len(),
            response.len(),
            status_of(&response)
        );
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::io;

    #[derive(Default)]
    struct Counter {
        resets: u32,
        power_offs: u32,
        fail_persist: bool,
        persisted: u32,
    }

    impl VirtualCard for Counter {
        fn atr(&self) -> Vec<u8> {
            crate::JPKI_CONTACT_ATR.to_vec()
        }
        fn process(&mut self, _apdu: &[u8]) -> Vec<u8> {
            vec![0x63, 0xC2]
        }
        fn reset(&mut self) {
            self.resets += 1;
        }
        fn power_off(&mut self) {
            self.power_offs += 1;
        }
        fn before_reply(&mut self) -> io::Result<()> {
            if self.fail_persist {
                return Err(io::Error::other("disk full"));
            }
            self.persisted += 1;
            Ok(())
        }
    }

    #[test]
    fn persists_before_answering_and_withholds_on_failure() {
        let mut t = InProcess::new(Counter::default());
        assert_eq!(t.card().resets, 1);
        assert_eq!(t.transmit(&[0, 0x20, 0, 0x80, 1, b'1']).unwrap(), vec![0x63, 0xC2]);
        assert_eq!(t.card().persisted, 1);
        t.card_mut().fail_persist = true;
        let err = t.transmit(&[0, 0x20, 0, 0x80, 1, b'1']).unwrap_err();
        assert!(err.0.contains("disk full"), "{err}");
        assert_eq!(t.card().power_offs, 1);
        assert_eq!(t.atr(), crate::JPKI_CONTACT_ATR.to_vec());
        let card = t.into_inner();
        assert_eq!(card.power_offs, 2);
    }
}
