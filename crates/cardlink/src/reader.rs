//! A [`Transport`] over a PC/SC reader: a real card in a USB reader, or a virtual card that
//! the vpcd bridge put into `pcscd`.

use std::ffi::CString;
use std::time::Duration;

use hanko_card::{Transport, TransportError};
use pcsc::{Card, Context, Disposition, Protocols, ReaderState, Scope, ShareMode, State};
use zeroize::Zeroizing;

use crate::chaining::{self, ChainError, MAX_RESPONSE_DATA};
use crate::vpcd::status_of;

/// A PC/SC operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PcscError {
    /// The PC/SC layer refused (`pcscd` not running, reader gone, card removed, …).
    #[error("PC/SC {operation}: {source}")]
    Pcsc {
        /// What was being done ("establish context", "connect", "transmit", …).
        operation: &'static str,
        /// The PC/SC error.
        #[source]
        source: pcsc::Error,
    },
    /// No reader (matching the name, when one was given) holds a card.
    #[error("no card present in {}", match .wanted { Some(w) => format!("a reader whose name contains {w:?}"), None => "any reader".to_owned() })]
    NoCard {
        /// The reader-name substring asked for.
        wanted: Option<String>,
        /// The readers that were seen.
        readers: Vec<String>,
    },
    /// The card answered fewer than two bytes (no status word).
    #[error("the card answered without a status word")]
    NoStatusWord,
    /// The card kept answering `61 xx` beyond the response budget.
    #[error("the card's chained response exceeds {max} bytes")]
    ResponseTooLong {
        /// The budget.
        max: usize,
    },
}

impl PcscError {
    fn pcsc(operation: &'static str) -> impl FnOnce(pcsc::Error) -> PcscError {
        move |source| PcscError::Pcsc { operation, source }
    }
}

impl From<PcscError> for TransportError {
    fn from(e: PcscError) -> TransportError {
        TransportError(e.to_string())
    }
}

/// A reader as [`list_readers`] sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReaderInfo {
    /// The reader's PC/SC name, e.g. "Virtual PCD 00 00".
    pub name: String,
    /// Whether a card is in the reader (and not mute).
    pub card_present: bool,
    /// The card's ATR; empty when no card is present.
    pub atr: Vec<u8>,
}

/// The PC/SC readers, whether each holds a card, and the card's ATR. No readers is an empty
/// list; an error means the PC/SC service itself is unreachable.
pub fn list_readers() -> Result<Vec<ReaderInfo>, PcscError> {
    let ctx = Context::establish(Scope::User).map_err(PcscError::pcsc("establish context"))?;
    readers_of(&ctx)
}

fn readers_of(ctx: &Context) -> Result<Vec<ReaderInfo>, PcscError> {
    let names = match ctx.list_readers_owned() {
        Ok(names) => names,
        Err(pcsc::Error::NoReadersAvailable) => return Ok(Vec::new()),
        Err(e) => return Err(PcscError::pcsc("list readers")(e)),
    };
    let mut states: Vec<ReaderState> = names.into_iter().map(|n| ReaderState::new(n, State::UNAWARE)).collect();
    match ctx.get_status_change(Duration::ZERO, &mut states) {
        Ok(()) | Err(pcsc::Error::Timeout) => {}
        Err(e) => return Err(PcscError::pcsc("get status")(e)),
    }
    Ok(states
        .iter()
        .map(|s| {
            let event = s.event_state();
            let card_present = event.contains(State::PRESENT) && !event.contains(State::MUTE);
            ReaderInfo {
                name: s.name().to_string_lossy().into_owned(),
                card_present,
                atr: if card_present { s.atr().to_vec() } else { Vec::new() },
            }
        })
        .collect())
}

/// A card in a PC/SC reader, connected in shared mode with T=0 or T=1.
///
/// [`Transport::transmit`] resolves `6C xx` (sends the command again with Le = xx) and `61 xx`
/// (collects the rest with GET RESPONSE) so callers always see the whole response. Dropping the
/// transport disconnects and resets the card, which clears its PIN-verified state.
pub struct PcscTransport {
    card: Card,
    reader: String,
    atr: Vec<u8>,
    buf: Zeroizing<Vec<u8>>,
}

impl core::fmt::Debug for PcscTransport {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PcscTransport").field("reader", &self.reader).field("atr", &HexAtr(&self.atr)).finish()
    }
}

struct HexAtr<'a>(&'a [u8]);

impl core::fmt::Debug for HexAtr<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

impl PcscTransport {
    /// Connects to the card in the first reader that holds one, or — when `reader` is given —
    /// in the first reader whose name contains `reader` and holds a card.
    pub fn connect(reader: Option<&str>) -> Result<PcscTransport, PcscError> {
        let ctx = Context::establish(Scope::User).map_err(PcscError::pcsc("establish context"))?;
        let readers = readers_of(&ctx)?;
        let chosen = readers.iter().find(|r| r.card_present && reader.is_none_or(|want| r.name.contains(want)));
        let Some(chosen) = chosen else {
            return Err(PcscError::NoCard {
                wanted: reader.map(str::to_owned),
                readers: readers.into_iter().map(|r| r.name).collect(),
            });
        };
        let name = CString::new(chosen.name.as_str())
            .map_err(|_| PcscError::NoCard { wanted: reader.map(str::to_owned), readers: vec![chosen.name.clone()] })?;
        let card = ctx.connect(&name, ShareMode::Shared, Protocols::ANY).map_err(PcscError::pcsc("connect"))?;
        let mut transport = PcscTransport {
            card,
            reader: chosen.name.clone(),
            atr: Vec::new(),
            buf: Zeroizing::new(vec![0; pcsc::MAX_BUFFER_SIZE_EXTENDED]),
        };
        transport.refresh_atr()?;
        log::info!("pcsc: connected to {:?}, ATR {:?}", transport.reader, HexAtr(&transport.atr));
        Ok(transport)
    }

    fn refresh_atr(&mut self) -> Result<(), PcscError> {
        let status = self.card.status2_owned().map_err(PcscError::pcsc("card status"))?;
        self.atr = status.atr().to_vec();
        Ok(())
    }

    /// The reader's PC/SC name.
    pub fn reader_name(&self) -> &str {
        &self.reader
    }

    /// The card's ATR (as of the last connect or reset).
    pub fn atr(&self) -> &[u8] {
        &self.atr
    }

    /// A warm reset of the card (`SCardReconnect` with `SCARD_RESET_CARD`): clears the card's
    /// selected application and PIN-verified state.
    pub fn reset(&mut self) -> Result<(), PcscError> {
        self.card
            .reconnect(ShareMode::Shared, Protocols::ANY, Disposition::ResetCard)
            .map_err(PcscError::pcsc("reset"))?;
        self.refresh_atr()
    }

    /// Disconnects, resetting the card (as dropping does), and reports a failure.
    pub fn disconnect(self) -> Result<(), PcscError> {
        self.card.disconnect(Disposition::ResetCard).map_err(|(_, e)| PcscError::pcsc("disconnect")(e))
    }

    /// Sends one command APDU as it is and returns the raw response, without resolving
    /// `61 xx` / `6C xx`.
    pub fn transmit_raw(&mut self, apdu: &[u8]) -> Result<Vec<u8>, PcscError> {
        let response = self.card.transmit(apdu, &mut self.buf).map_err(PcscError::pcsc("transmit"))?.to_vec();
        log::trace!(
            "pcsc: {} command bytes -> {} response bytes, {}",
            apdu.len(),
            response.len(),
            status_of(&response)
        );
        Ok(response)
    }

    /// Sends one command APDU and returns the complete response, resolving `6C xx` and
    /// `61 xx`.
    pub fn exchange(&mut self, apdu: &[u8]) -> Result<Vec<u8>, PcscError> {
        let response = chaining::exchange(|a| self.transmit_raw(a), apdu).map_err(|e| match e {
            ChainError::Link(e) => e,
            ChainError::NoStatusWord => PcscError::NoStatusWord,
            ChainError::TooLong => PcscError::ResponseTooLong { max: MAX_RESPONSE_DATA },
        })?;
        log::debug!(
            "pcsc: {} command bytes -> {} response bytes, {}",
            apdu.len(),
            response.len(),
            status_of(&response)
        );
        Ok(response)
    }
}

impl Transport for PcscTransport {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        Ok(self.exchange(apdu)?)
    }
}
