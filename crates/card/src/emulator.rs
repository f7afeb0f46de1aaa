//! The emulated chip: applications (DFs) holding EFs, keys and PINs, and the command
//! processor (shared/spec/10-card.md §1–§9).
//!
//! `Card::process(&[u8]) -> Vec<u8>` is the whole interface. Security state (which PINs were
//! verified) is per selected application and is cleared on every DF SELECT and on reset.
//! Whenever a command changes persistent state (a retry counter, a PIN), [`Card::take_dirty`]
//! says so, so that an adapter can write the card image **before** the response leaves.
//!
//! VERIFY works as a real chip does: it decrements the retry counter and makes that durable
//! **before** it compares the PIN, and restores the counter only after a match
//! ([`Card::process_durably`] hands the card to the adapter's write at that moment). No crash,
//! kill or tear at any moment can give a free guess: until the comparison has happened the
//! stored counter already counts the try as spent.

use crate::apdu::{Command, Ins, Response, StatusWord};
use crate::chip::{ChipKey, Pin, PinFormat};

/// An EF / key / PIN identifier inside an application (`0001`–`001E`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fid(pub u16);

impl core::fmt::Debug for Fid {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Fid({:04X})", self.0)
    }
}

/// Who may use an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// Anyone.
    Free,
    /// After a successful VERIFY of any of these PINs / access codes in the same session.
    AnyOf(Vec<Fid>),
    /// Nobody through a command (e.g. a key's raw material).
    Never,
}

/// What an object of an application is. `Debug` never shows file contents, keys or PINs.
pub enum Object {
    /// A transparent EF: its content (already padded) and who may read it.
    File {
        /// Bytes, padded with `FF`.
        content: Vec<u8>,
        /// Read access.
        read: Access,
    },
    /// A private key and who may use it for signing / internal authentication.
    Key {
        /// The key (never readable).
        key: Box<ChipKey>,
        /// Use access.
        usage: Access,
    },
    /// PIN / access-code reference data.
    Pin(Pin),
}

/// An application (DF) of the chip.
pub struct Application {
    /// Its DF name.
    pub aid: Vec<u8>,
    /// A short name for humans (`jpki`, `input-assist`, …).
    pub name: &'static str,
    /// Its objects, by FID.
    pub objects: Vec<(Fid, Object)>,
    /// Whether secure messaging is accepted (only the input-assist AP) \[V\].
    pub secure_messaging: bool,
}

impl core::fmt::Debug for Object {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Object::File { content, read } => write!(f, "File({} bytes, read {read:?})", content.len()),
            Object::Key { usage, .. } => write!(f, "Key([inside the chip], use {usage:?})"),
            Object::Pin(pin) => write!(f, "{pin:?}"),
        }
    }
}

impl core::fmt::Debug for Application {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Application").field("name", &self.name).field("objects", &self.objects).finish_non_exhaustive()
    }
}

impl core::fmt::Debug for Card {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Card").field("device", &self.device).field("apps", &self.apps).finish_non_exhaustive()
    }
}

impl Application {
    fn find(&self, fid: Fid) -> Option<usize> {
        self.objects.iter().position(|(f, _)| *f == fid)
    }

    /// The object with `fid`.
    pub fn object(&self, fid: Fid) -> Option<&Object> {
        self.objects.iter().find(|(f, _)| *f == fid).map(|(_, o)| o)
    }

    pub(crate) fn object_mut(&mut self, fid: Fid) -> Option<&mut Object> {
        self.objects.iter_mut().find(|(f, _)| *f == fid).map(|(_, o)| o)
    }
}

/// Which device the JPKI-AP lives on (10-card.md §3, §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Device {
    /// A My Number Card.
    Card,
    /// An Android phone's secure element.
    Android,
    /// An iPhone.
    Iphone,
}

impl Device {
    /// The token label in EF `0006`.
    pub fn token_label(self) -> &'static str {
        match self {
            Device::Card => "JPKIAPICCTOKEN2",
            Device::Android => "JPKIAPGPSETOKEN",
            Device::Iphone => "JPKIAPIOSTOKEN",
        }
    }

    /// A short stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Device::Card => "card",
            Device::Android => "android",
            Device::Iphone => "iphone",
        }
    }
}

/// The contact ATR every JPKI card sends; OpenSC picks its JPKI driver by it \[V\].
pub const ATR: [u8; 9] = [0x3B, 0xE0, 0x00, 0xFF, 0x81, 0x31, 0xFE, 0x45, 0x14];

/// The emulated chip. `Debug` shows its structure only, never EF contents (a My Number, the
/// 4 facts), keys or PINs.
pub struct Card {
    pub(crate) device: Device,
    pub(crate) apps: Vec<Application>,
    selected: Option<usize>,
    current: Option<Fid>,
    verified: Vec<Fid>,
    dirty: bool,
}

/// The adapter's durable write, called by VERIFY between spending a try and comparing the
/// PIN; `false` when the write failed.
type Commit<'a> = &'a mut dyn FnMut(&Card) -> bool;

/// Largest command a card accepts (extended Lc of a sign plus headers).
pub const MAX_COMMAND_LEN: usize = 4 + 3 + 65535 + 3;

impl Card {
    /// A card with these applications, in power-on state.
    pub fn new(device: Device, apps: Vec<Application>) -> Card {
        Card { device, apps, selected: None, current: None, verified: Vec::new(), dirty: false }
    }

    /// Which device this is.
    pub fn device(&self) -> Device {
        self.device
    }

    /// The applications.
    pub fn applications(&self) -> &[Application] {
        &self.apps
    }

    /// Power-on / warm reset: nothing selected, no PIN verified.
    pub fn reset(&mut self) {
        self.selected = None;
        self.current = None;
        self.verified.clear();
    }

    /// Marks persistent state as changed again (an adapter whose write failed).
    pub fn mark_dirty(&mut self) {
        self.dirty = true;
    }

    /// True once since the last call if persistent state (retry counters, PINs) changed: the
    /// adapter must persist the card before sending the response.
    pub fn take_dirty(&mut self) -> bool {
        core::mem::take(&mut self.dirty)
    }

    /// Processes one command APDU and returns the response APDU. Persistent changes are only
    /// flagged ([`Card::take_dirty`]); a card that lives in a file uses
    /// [`Card::process_durably`].
    pub fn process(&mut self, apdu: &[u8]) -> Vec<u8> {
        self.respond(apdu, None).encode()
    }

    /// Processes one command APDU, making every persistent change durable through `commit`
    /// (which writes the card it is given, e.g. as a sealed image) at the moment the chip
    /// would write its EEPROM: a VERIFY's spent try **before** the PIN is compared, everything
    /// else (a restored counter, a changed PIN) before the response is returned.
    ///
    /// When `commit` fails the command is abandoned and no response exists: the error is
    /// returned, the card stays marked changed (the next command writes again), and the
    /// in-memory counter still counts the try as spent.
    pub fn process_durably<E>(
        &mut self,
        apdu: &[u8],
        mut commit: impl FnMut(&Card) -> Result<(), E>,
    ) -> Result<Vec<u8>, E> {
        let mut failure = None;
        let response = self.respond(
            apdu,
            Some(&mut |card: &Card| match commit(card) {
                Ok(()) => true,
                Err(e) => {
                    failure = Some(e);
                    false
                }
            }),
        );
        if let Some(e) = failure {
            self.dirty = true;
            return Err(e);
        }
        if self.dirty {
            commit(self)?;
            self.dirty = false;
        }
        Ok(response.encode())
    }

    fn respond(&mut self, apdu: &[u8], commit: Option<Commit<'_>>) -> Response {
        if apdu.len() > MAX_COMMAND_LEN {
            return Response::status(StatusWord::WRONG_LENGTH);
        }
        let cmd = match Command::parse(apdu) {
            Ok(c) => c,
            Err(e) => return Response::status(e.into()),
        };
        if cmd.cla & 0x80 == 0 && cmd.cla & 0x40 != 0 || cmd.cla == 0xFF {
            return Response::status(StatusWord::CLA_NOT_SUPPORTED);
        }
        if cmd.channel() != 0 {
            return Response::status(StatusWord::CHANNEL_NOT_SUPPORTED);
        }
        if cmd.secure_messaging() && !self.selected_app().is_some_and(|a| a.secure_messaging) {
            return Response::status(if cmd.ins == Ins::SELECT {
                StatusWord::SECURE_MESSAGING_NOT_SUPPORTED
            } else {
                StatusWord::SECURE_MESSAGING_REFUSED
            });
        }
        let proprietary = cmd.cla & 0x80 != 0;
        match (proprietary, cmd.ins) {
            (false, Ins::SELECT) => self.select(&cmd),
            (false, Ins::READ_BINARY) => self.read_binary(&cmd),
            (false, Ins::VERIFY) => self.verify(&cmd, commit),
            (false, Ins::CHANGE_REFERENCE_DATA) => self.change_pin(&cmd),
            (true, Ins::CHANGE_KEY) => self.change_pin(&cmd),
            (true, Ins::COMPUTE_SIGNATURE) => self.sign(&cmd),
            (false, Ins::GET_CHALLENGE) => self.get_challenge(&cmd),
            (false, Ins::INTERNAL_AUTHENTICATE) => self.internal_authenticate(&cmd),
            (true, Ins::LAST_COMMAND) if self.device == Device::Iphone => Response::status(StatusWord::SUCCESS),
            (true, Ins::LAST_COMMAND) => Response::status(StatusWord::WRONG_LENGTH),
            (false, Ins::GET_DATA) => Response::status(StatusWord::DATA_NOT_FOUND),
            _ => Response::status(StatusWord::INS_NOT_SUPPORTED),
        }
    }

    fn selected_app(&self) -> Option<&Application> {
        self.selected.and_then(|i| self.apps.get(i))
    }

    fn select(&mut self, cmd: &Command<'_>) -> Response {
        match (cmd.p1, cmd.p2 & 0xF3) {
            (0x04, 0x0C | 0x00) => {
                // By DF name; a legal prefix (≥ 5 bytes, the RID) also selects \[V\].
                if cmd.data.len() < 5 || cmd.data.len() > 16 {
                    return Response::status(StatusWord::FILE_NOT_FOUND);
                }
                let Some(i) = self.apps.iter().position(|a| a.aid.starts_with(cmd.data)) else {
                    return Response::status(StatusWord::FILE_NOT_FOUND);
                };
                self.selected = Some(i);
                self.current = None;
                self.verified.clear();
                Response::status(StatusWord::SUCCESS)
            }
            (0x02, 0x0C | 0x00) => {
                let [hi, lo] = cmd.data else { return Response::status(StatusWord::WRONG_LENGTH) };
                let fid = Fid(u16::from_be_bytes([*hi, *lo]));
                match self.selected_app().and_then(|a| a.find(fid)) {
                    Some(_) => {
                        self.current = Some(fid);
                        Response::status(StatusWord::SUCCESS)
                    }
                    None => Response::status(StatusWord::FILE_NOT_FOUND),
                }
            }
            (0x00, _) if cmd.data.is_empty() => Response::status(StatusWord::WRONG_P1P2),
            (0x00 | 0x01 | 0x08 | 0x09, _) => Response::status(StatusWord::FILE_NOT_FOUND),
            _ => Response::status(StatusWord::WRONG_P1P2),
        }
    }

    /// The object a command names: P-byte `80|SFI`, or the current EF (`80` or `00`).
    fn target(&self, p: u8) -> Result<Fid, StatusWord> {
        if p & 0x80 != 0 && p != 0x80 {
            let sfi = p & 0x1F;
            if sfi == 0 {
                return Err(StatusWord::WRONG_P1P2);
            }
            return Ok(Fid(u16::from(sfi)));
        }
        self.current.ok_or(StatusWord::COMMAND_NOT_ALLOWED)
    }

    fn allowed(&self, access: &Access) -> bool {
        match access {
            Access::Free => true,
            Access::AnyOf(pins) => pins.iter().any(|p| self.verified.contains(p)),
            Access::Never => false,
        }
    }

    fn read_binary(&mut self, cmd: &Command<'_>) -> Response {
        let Some(le) = cmd.le else { return Response::status(StatusWord::WRONG_LENGTH) };
        if !cmd.data.is_empty() {
            return Response::status(StatusWord::WRONG_LENGTH);
        }
        let (fid, offset) = if cmd.p1 & 0x80 != 0 {
            match self.target(cmd.p1) {
                Ok(f) => (f, usize::from(cmd.p2)),
                Err(sw) => return Response::status(sw),
            }
        } else {
            match self.current {
                Some(f) => (f, usize::from(u16::from_be_bytes([cmd.p1 & 0x7F, cmd.p2]))),
                None => return Response::status(StatusWord::COMMAND_NOT_ALLOWED),
            }
        };
        let Some(app) = self.selected_app() else { return Response::status(StatusWord::FILE_NOT_FOUND) };
        match app.object(fid) {
            Some(Object::File { content, read }) => {
                if !self.allowed(read) {
                    return Response::status(StatusWord::SECURITY_STATUS_NOT_SATISFIED);
                }
                if offset > content.len() {
                    return Response::status(StatusWord::WRONG_OFFSET);
                }
                let end = offset.saturating_add(le).min(content.len());
                let data = content[offset..end].to_vec();
                if cmd.p1 & 0x80 != 0 {
                    self.current = Some(fid);
                }
                Response::ok(data)
            }
            Some(_) => Response::status(StatusWord::COMMAND_NOT_ALLOWED),
            None => Response::status(StatusWord::FILE_NOT_FOUND),
        }
    }

    fn verify(&mut self, cmd: &Command<'_>, commit: Option<Commit<'_>>) -> Response {
        if cmd.p1 != 0 {
            return Response::status(StatusWord::WRONG_P1P2);
        }
        let fid = match self.target(cmd.p2) {
            Ok(f) => f,
            Err(sw) => return Response::status(sw),
        };
        let Some(i) = self.selected else { return Response::status(StatusWord::FILE_NOT_FOUND) };
        let Some(Object::Pin(pin)) = self.apps[i].object_mut(fid) else {
            return Response::status(StatusWord::FILE_NOT_FOUND);
        };
        if cmd.data.is_empty() {
            // Case 1: report the tries left without spending one — `63 C0` when blocked, which
            // OpenSC's JPKI driver reads as "locked" (a `69 84` here makes it refuse the token).
            return Response::status(StatusWord::tries_left(pin.tries_left));
        }
        if pin.tries_left == 0 {
            return Response::status(StatusWord::PIN_BLOCKED);
        }
        if cmd.data.len() > 16 {
            return Response::status(StatusWord::WRONG_LENGTH);
        }
        // As a chip does: spend the try and make that durable first, compare afterwards, and
        // give the try back only on a match. A kill or tear anywhere after this point finds
        // the try spent in the stored image.
        let (before, was_dirty, durable) = (pin.tries_left, self.dirty, commit.is_some());
        pin.tries_left -= 1;
        self.dirty = true;
        self.verified.retain(|f| *f != fid);
        if let Some(commit) = commit {
            if !commit(self) {
                // Not durable: no comparison, no answer (the adapter withholds the response).
                return Response::status(StatusWord::UNKNOWN_ERROR);
            }
            self.dirty = false;
        }
        let Some(Object::Pin(pin)) = self.apps[i].object_mut(fid) else {
            return Response::status(StatusWord::FILE_NOT_FOUND);
        };
        if pin.matches(cmd.data) {
            pin.tries_left = pin.max_tries;
            // Without a durable write in between, only a net change needs writing.
            self.dirty = durable || was_dirty || before != pin.max_tries;
            self.verified.push(fid);
            Response::status(StatusWord::SUCCESS)
        } else {
            Response::status(StatusWord::tries_left(pin.tries_left))
        }
    }

    fn change_pin(&mut self, cmd: &Command<'_>) -> Response {
        // CHANGE REFERENCE DATA (00 24) in the JPKI and input-assist APs; CHANGE KEY (80 32) in
        // the 共通 and 住基 APs (10-card.md §4).
        let proprietary = cmd.cla & 0x80 != 0;
        let here = self.selected_app().map(|a| a.name).unwrap_or_default();
        let offered =
            if proprietary { ["common", "juki"].contains(&here) } else { ["jpki", "input-assist"].contains(&here) };
        if !offered {
            return Response::status(StatusWord::INS_NOT_SUPPORTED);
        }
        if (!proprietary && cmd.p1 != 0x01) || (proprietary && cmd.p1 != 0x00) {
            return Response::status(StatusWord::WRONG_P1P2);
        }
        let fid = match self.target(cmd.p2) {
            Ok(f) => f,
            Err(sw) => return Response::status(sw),
        };
        if !self.verified.contains(&fid) {
            return Response::status(StatusWord::SECURITY_STATUS_NOT_SATISFIED);
        }
        let Some(i) = self.selected else { return Response::status(StatusWord::FILE_NOT_FOUND) };
        let Some(Object::Pin(pin)) = self.apps[i].object_mut(fid) else {
            return Response::status(StatusWord::FILE_NOT_FOUND);
        };
        // Only user PINs change; access codes derived from card data (照合番号A/B, the
        // birth-date key) do not.
        if matches!(pin.format, PinFormat::Digits(_)) {
            return Response::status(StatusWord::CONDITIONS_NOT_SATISFIED);
        }
        if !pin.format.accepts(cmd.data) {
            return Response::status(StatusWord::WRONG_DATA);
        }
        pin.set(cmd.data);
        self.dirty = true;
        Response::status(StatusWord::SUCCESS)
    }

    fn key_for(&self, fid: Fid) -> Result<&ChipKey, StatusWord> {
        let app = self.selected_app().ok_or(StatusWord::FILE_NOT_FOUND)?;
        match app.object(fid) {
            Some(Object::Key { key, usage }) => {
                if self.allowed(usage) {
                    Ok(key)
                } else {
                    Err(StatusWord::SECURITY_STATUS_NOT_SATISFIED)
                }
            }
            Some(_) => Err(StatusWord::COMMAND_NOT_ALLOWED),
            None => Err(StatusWord::FILE_NOT_FOUND),
        }
    }

    fn sign(&mut self, cmd: &Command<'_>) -> Response {
        // P1 00: PKCS#1 v1.5 over the data as given; 02: a 32-byte hash wrapped into a SHA-256
        // DigestInfo; 03: SHA-256 of the data, wrapped, signed (10-card.md §4).
        let fid = if cmd.p2 == 0x00 {
            // The chip-challenge form `80 2A 00 00` of the 券面/input-assist APs uses their AP key.
            match self
                .selected_app()
                .and_then(|a| a.objects.iter().find(|(_, o)| matches!(o, Object::Key { usage: Access::Free, .. })))
            {
                Some((f, _)) => *f,
                None => return Response::status(StatusWord::WRONG_P1P2),
            }
        } else {
            match self.target(cmd.p2) {
                Ok(f) => f,
                Err(sw) => return Response::status(sw),
            }
        };
        let key = match self.key_for(fid) {
            Ok(k) => k,
            Err(sw) => return Response::status(sw),
        };
        let signed = match cmd.p1 {
            0x00 if cmd.data.is_empty() || cmd.data.len() > 245 => return Response::status(StatusWord::WRONG_LENGTH),
            0x00 => key.sign_padded(cmd.data),
            0x02 if cmd.data.len() != 32 => return Response::status(StatusWord::WRONG_LENGTH),
            0x02 => key.sign_digest(hanko_pki::DigestAlgorithm::Sha256, cmd.data),
            0x03 => key.sign_sha256(cmd.data),
            _ => return Response::status(StatusWord::WRONG_P1P2),
        };
        match signed {
            Ok(sig) => Response::ok(sig),
            Err(_) => Response::status(StatusWord::UNKNOWN_ERROR),
        }
    }

    fn get_challenge(&mut self, cmd: &Command<'_>) -> Response {
        let n = match cmd.le {
            Some(n) if (1..=256).contains(&n) && cmd.data.is_empty() => n,
            _ => return Response::status(StatusWord::WRONG_LENGTH),
        };
        let mut out = vec![0u8; n];
        match aws_lc_rs::rand::fill(&mut out) {
            Ok(()) => Response::ok(out),
            Err(_) => Response::status(StatusWord::UNKNOWN_ERROR),
        }
    }

    fn internal_authenticate(&mut self, cmd: &Command<'_>) -> Response {
        if cmd.p1 != 0 || cmd.data.is_empty() || cmd.data.len() > 245 {
            return Response::status(if cmd.p1 != 0 { StatusWord::WRONG_P1P2 } else { StatusWord::WRONG_LENGTH });
        }
        let fid = match self.target(cmd.p2) {
            Ok(f) => f,
            Err(sw) => return Response::status(sw),
        };
        // The 券面AP answers INTERNAL AUTHENTICATE only after its birth-date key (EF `0011`) was
        // verified in this session: the official tap software's 「生年月日PINをインプットに内部認証
        // 結果を応答するIF」 (10-card.md §4, seed 000). Its free `80 2A 00 00` chip challenge is
        // a separate command and stays free.
        if self.selected_app().is_some_and(|a| a.aid == crate::layout::AID_CARD_FACE)
            && !self.verified.contains(&crate::card_face::ef::BIRTH_DATE_KEY)
        {
            return Response::status(StatusWord::SECURITY_STATUS_NOT_SATISFIED);
        }
        match self.key_for(fid).map(|k| k.sign_sha256(cmd.data)) {
            Ok(Ok(sig)) => Response::ok(sig),
            Ok(Err(_)) => Response::status(StatusWord::UNKNOWN_ERROR),
            Err(sw) => Response::status(sw),
        }
    }
}

/// The in-process transport: the card itself.
impl crate::transport::Transport for Card {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, crate::transport::TransportError> {
        Ok(self.process(apdu))
    }
}
