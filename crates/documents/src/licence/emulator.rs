//! The emulated licence chip (shared/spec/40-id-documents.md §1): MF, DF1, DF2 (and an empty
//! DF3), the files of [`super::files`], the two PINs.
//!
//! | command | APDU | answer |
//! |---|---|---|
//! | SELECT MF | `00 A4 00 00` (or data `3F 00`) | `90 00` |
//! | SELECT DF | `00 A4 04 0C 10 <AID>` | `90 00` / `6A 82` |
//! | SELECT EF | `00 A4 02 0C 02 <FID>` in the current DF | `90 00` / `6A 82` |
//! | READ BINARY | `00 B0 <offset> <Le>`, short or extended Le | data / `69 82` without the PIN / `6B 00` past the end |
//! | VERIFY | `00 20 00 81`/`82` + 4 ASCII digits, or IEF `0001`/`0002` selected then P2 `80` | `90 00` / `63 Cx` / `69 84` blocked |
//! | VERIFY, case 1 | `00 20 00 81` (no data) | `63 Cx`: tries left, none spent |
//!
//! The PINs live in the MF (IEF01, IEF02) and stay verified when DF1 or DF2 is selected:
//! public readers of real licences verify under the MF and then select the DFs \[S\], so
//! clearing them on a DF select (as the My Number Card's APs do) would lock every such reader
//! out. Power-on, reset and removal clear them, as does a wrong VERIFY of that PIN.
//!
//! A VERIFY with data spends the try first; the persisted counter changes
//! ([`crate::Chip::take_dirty`] turns true) in the same step as the comparison and the adapter
//! persists the image before the answer leaves, so a tear never gives a free guess; a match
//! restores the count (dirty again only when the stored count changed).

use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

use hanko_card::{Command, Ins, Response, StatusWord};

use super::files::{DF1_AID, DF2_AID, DF3_AID, FID_01, FID_02, FID_COMMON, FID_PIN_FLAG};

/// The licence's ATR \[I\]: the spec gives none. A PC/SC reader builds a contactless Type B
/// card's ATR from its ATQB (PC/SC part 3 §3.1.3.2.3.1): `3B 88 80 01`, then the 7 bytes of
/// application data + protocol info of the ATQB and the MBLI byte, then TCK. The ATQB bytes are
/// chosen: application data `00 00 00 00`, protocol info `77 81 81` (ISO 14443-4, FWI 8), MBLI
/// `00` \[I\]; TCK `7E` = XOR of T0 … the last historical byte.
pub const ATR: [u8; 13] = [0x3B, 0x88, 0x80, 0x01, 0x00, 0x00, 0x00, 0x00, 0x77, 0x81, 0x81, 0x00, 0x7E];

/// Tries of each PIN \[V\].
pub const PIN_TRIES: u8 = 3;
/// Largest command the chip accepts.
pub const MAX_COMMAND_LEN: usize = 4 + 3 + 255 + 3;

/// One PIN: 4 ASCII digits and its retry counter. Zeroised on drop; `Debug` elides it.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct Pin {
    pub(crate) value: [u8; 4],
    pub(crate) tries_left: u8,
}

impl Drop for Pin {
    fn drop(&mut self) {
        self.value.zeroize();
    }
}

impl Pin {
    fn matches(&self, given: &[u8]) -> bool {
        // Constant time over the 4 bytes.
        given.len() == 4 && given.iter().zip(self.value).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }
}

/// The files as stored (each exactly as READ BINARY returns it).
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct Files {
    pub(crate) common: Vec<u8>,
    pub(crate) pin_flag: Vec<u8>,
    /// DF1/EF01 … EF07.
    pub(crate) df1: Vec<Vec<u8>>,
    /// DF2/EF01.
    pub(crate) photo: Vec<u8>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
enum Df {
    #[default]
    Mf,
    Df1,
    Df2,
    Df3,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ef {
    Common,
    PinFlag,
    Pin(usize),
    Df1(usize),
    Photo,
}

#[derive(Clone, Copy, Debug, Default)]
struct Volatile {
    df: Df,
    ef: Option<Ef>,
    verified: [bool; 2],
}

/// The emulated licence chip. Serde is its persisted image (files, PINs, retry counters);
/// the selection and verified PINs are volatile. `Debug` never shows data or PINs.
#[derive(Clone, Serialize, Deserialize)]
pub struct LicenceChip {
    pub(crate) files: Files,
    pub(crate) pins: [Pin; 2],
    #[serde(skip)]
    state: Volatile,
    #[serde(skip)]
    dirty: bool,
}

impl core::fmt::Debug for LicenceChip {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "LicenceChip(tries {}/{}, [elided])", self.pins[0].tries_left, self.pins[1].tries_left)
    }
}

impl LicenceChip {
    pub(crate) fn new(files: Files, pins: [[u8; 4]; 2]) -> LicenceChip {
        let [p1, p2] = pins;
        LicenceChip {
            files,
            pins: [Pin { value: p1, tries_left: PIN_TRIES }, Pin { value: p2, tries_left: PIN_TRIES }],
            state: Volatile::default(),
            dirty: false,
        }
    }

    /// Tries left of PIN1 and PIN2.
    pub fn tries_left(&self) -> [u8; 2] {
        [self.pins[0].tries_left, self.pins[1].tries_left]
    }

    /// Test support: flips one byte of a file (`"DF1/EF01"`, `"DF1/EF02"`, `"DF2/EF01"`,
    /// `"DF1/EF07"` …) at `offset`, as a forger editing the data would. `false` when no such
    /// file or offset.
    pub fn tamper(&mut self, file: &str, offset: usize) -> bool {
        let f = match file {
            "DF2/EF01" => &mut self.files.photo,
            "MF/EF01" => &mut self.files.common,
            _ => match file.strip_prefix("DF1/EF0").and_then(|n| n.parse::<usize>().ok()) {
                Some(n @ 1..=7) => &mut self.files.df1[n - 1],
                _ => return false,
            },
        };
        match f.get_mut(offset) {
            Some(b) => {
                *b ^= 0x01;
                true
            }
            None => false,
        }
    }

    /// Test support: replaces a whole file (same names as [`LicenceChip::tamper`]).
    pub fn replace_file(&mut self, file: &str, bytes: Vec<u8>) -> bool {
        let f = match file {
            "DF2/EF01" => &mut self.files.photo,
            "MF/EF01" => &mut self.files.common,
            "MF/EF02" => &mut self.files.pin_flag,
            _ => match file.strip_prefix("DF1/EF0").and_then(|n| n.parse::<usize>().ok()) {
                Some(n @ 1..=7) => &mut self.files.df1[n - 1],
                _ => return false,
            },
        };
        *f = bytes;
        true
    }

    fn respond(&mut self, apdu: &[u8]) -> Response {
        if apdu.len() > MAX_COMMAND_LEN {
            return Response::status(StatusWord::WRONG_LENGTH);
        }
        let cmd = match Command::parse(apdu) {
            Ok(c) => c,
            Err(e) => return Response::status(e.into()),
        };
        if cmd.cla != 0x00 {
            return Response::status(StatusWord::CLA_NOT_SUPPORTED);
        }
        match cmd.ins {
            Ins::SELECT => self.select(&cmd),
            Ins::READ_BINARY => self.read_binary(&cmd),
            Ins::VERIFY => self.verify(&cmd),
            _ => Response::status(StatusWord::INS_NOT_SUPPORTED),
        }
    }

    fn select(&mut self, cmd: &Command<'_>) -> Response {
        match (cmd.p1, cmd.p2) {
            (0x00, 0x00 | 0x0C) if cmd.data.is_empty() || cmd.data == [0x3F, 0x00] => {
                self.state.df = Df::Mf;
                self.state.ef = None;
                Response::status(StatusWord::SUCCESS)
            }
            (0x04, 0x0C) => {
                let df = if cmd.data == DF1_AID {
                    Df::Df1
                } else if cmd.data == DF2_AID {
                    Df::Df2
                } else if cmd.data == DF3_AID {
                    Df::Df3
                } else {
                    return Response::status(StatusWord::FILE_NOT_FOUND);
                };
                self.state.df = df;
                self.state.ef = None;
                Response::status(StatusWord::SUCCESS)
            }
            (0x02, 0x0C) => {
                let [hi, lo] = cmd.data else { return Response::status(StatusWord::WRONG_LENGTH) };
                let fid = u16::from_be_bytes([*hi, *lo]);
                let ef = match (self.state.df, fid) {
                    (Df::Mf, FID_COMMON) => Ef::Common,
                    (Df::Mf, FID_PIN_FLAG) => Ef::PinFlag,
                    (Df::Mf, FID_01) => Ef::Pin(0),
                    (Df::Mf, FID_02) => Ef::Pin(1),
                    (Df::Df1, 0x0001..=0x0007) => Ef::Df1(usize::from(fid) - 1),
                    (Df::Df2, FID_01) => Ef::Photo,
                    _ => return Response::status(StatusWord::FILE_NOT_FOUND),
                };
                self.state.ef = Some(ef);
                Response::status(StatusWord::SUCCESS)
            }
            _ => Response::status(StatusWord::WRONG_P1P2),
        }
    }

    /// PINs each file needs: `[PIN1, PIN2]`.
    fn needs(ef: Ef) -> [bool; 2] {
        match ef {
            Ef::Common | Ef::PinFlag => [false, false],
            // 本籍, its changes, the photo: PIN1 + PIN2 [V for EF02 and the photo, I for EF06].
            Ef::Df1(1) | Ef::Df1(5) | Ef::Photo => [true, true],
            Ef::Df1(_) => [true, false],
            Ef::Pin(_) => [true, true],
        }
    }

    fn read_binary(&mut self, cmd: &Command<'_>) -> Response {
        if cmd.p1 & 0x80 != 0 {
            // Short-EF-identifier reads are not in the licence spec.
            return Response::status(StatusWord::WRONG_P1P2);
        }
        if !cmd.data.is_empty() {
            return Response::status(StatusWord::WRONG_LENGTH);
        }
        let Some(ef) = self.state.ef else { return Response::status(StatusWord::COMMAND_NOT_ALLOWED) };
        let file = match ef {
            Ef::Common => &self.files.common,
            Ef::PinFlag => &self.files.pin_flag,
            Ef::Pin(_) => return Response::status(StatusWord::COMMAND_NOT_ALLOWED),
            Ef::Df1(n) => match self.files.df1.get(n) {
                Some(f) => f,
                None => return Response::status(StatusWord::FILE_NOT_FOUND),
            },
            Ef::Photo => &self.files.photo,
        };
        let need = Self::needs(ef);
        if (need[0] && !self.state.verified[0]) || (need[1] && !self.state.verified[1]) {
            return Response::status(StatusWord::SECURITY_STATUS_NOT_SATISFIED);
        }
        let offset = usize::from(u16::from_be_bytes([cmd.p1, cmd.p2]));
        if offset >= file.len() {
            return Response::status(StatusWord::WRONG_OFFSET);
        }
        let le = cmd.le.unwrap_or(256);
        let end = file.len().min(offset + le);
        Response::ok(file[offset..end].to_vec())
    }

    fn verify(&mut self, cmd: &Command<'_>) -> Response {
        if cmd.p1 != 0x00 {
            return Response::status(StatusWord::WRONG_P1P2);
        }
        let which = match cmd.p2 {
            0x81 => 0,
            0x82 => 1,
            0x80 => match (self.state.df, self.state.ef) {
                (Df::Mf, Some(Ef::Pin(n))) => n,
                _ => return Response::status(StatusWord::COMMAND_NOT_ALLOWED),
            },
            _ => return Response::status(StatusWord::WRONG_P1P2),
        };
        let pin = &mut self.pins[which];
        if cmd.data.is_empty() {
            // Case 1: the tries left, none spent (63 C0 when blocked).
            return Response::status(StatusWord::tries_left(pin.tries_left));
        }
        if pin.tries_left == 0 {
            return Response::status(StatusWord::PIN_BLOCKED);
        }
        if cmd.data.len() != 4 {
            return Response::status(StatusWord::WRONG_LENGTH);
        }
        // Spend the try, then compare; give it back only on a match.
        let (before, was_dirty) = (pin.tries_left, self.dirty);
        pin.tries_left -= 1;
        self.dirty = true;
        self.state.verified[which] = false;
        if pin.matches(cmd.data) {
            pin.tries_left = PIN_TRIES;
            self.dirty = was_dirty || before != PIN_TRIES;
            self.state.verified[which] = true;
            Response::status(StatusWord::SUCCESS)
        } else {
            Response::status(StatusWord::tries_left(pin.tries_left))
        }
    }
}

impl crate::Chip for LicenceChip {
    fn atr(&self) -> Vec<u8> {
        ATR.to_vec()
    }

    fn process(&mut self, apdu: &[u8]) -> Vec<u8> {
        self.respond(apdu).encode()
    }

    fn reset(&mut self) {
        self.state = Volatile::default();
    }

    fn take_dirty(&mut self) -> bool {
        core::mem::take(&mut self.dirty)
    }
}
