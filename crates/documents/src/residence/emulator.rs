//! The emulated residence card chip (shared/spec/40-id-documents.md §2):
//!
//! | command | APDU | answer |
//! |---|---|---|
//! | SELECT MF | `00 A4 00 00 02 3F 00` (P2 `0C` too) | `90 00` |
//! | SELECT DF | `00 A4 04 0C 10 <AID>` (P2 `00` too) | `90 00`, `6A 82` unknown AID |
//! | READ BINARY | `00 B0 P1 P2 00 XX XX` (P1 `80`\|SFI, or a 15-bit offset in the current EF; `00 00` = to the end; short Le too) | data `90 00` |
//! | READ BINARY (SM) | `08 B0 P1 P2 00 00 04 96 02 XX XX 00 00` | `86 L 01 ‖ ciphertext` `90 00` |
//! | GET CHALLENGE | `00 84 00 00 08` | RND.ICC `90 00` |
//! | MUTUAL AUTHENTICATE | `00 82 00 00 28 ‖ E_IFD ‖ M_IFD ‖ 00` | `E_ICC ‖ M_ICC` `90 00`; `63 00` wrong number |
//! | VERIFY (SM) | `08 20 00 86 13 86 11 01 ‖ cryptogram` | `90 00`; `63 00` wrong number (no retry limit) |
//!
//! Access: MF files are free; DF1 needs the card number verified **and** SM; DF2 and DF3 need
//! the card number verified and may be read plain or under SM (independent readers read them
//! plain \[S\]).
//!
//! Errors: no challenge → `69 85`; DF1 without the card number verified or without SM, DF2/DF3
//! without the card number → `69 82`; a secure-messaging object that does not open (not one
//! `86` object, indicator not `01`, ciphertext not whole blocks, bad padding after decryption,
//! a malformed `96` object) → `69 88` **and the session is cleared** (KSenc dropped, the card
//! number no longer verified: the reader starts again at GET CHALLENGE); a MUTUAL
//! AUTHENTICATE whose MAC or challenge does not verify → `63 00` and the challenge is used up.
//! A new GET CHALLENGE also ends any session \[I\]. No state survives a reset; there is no
//! retry counter, so nothing is ever persisted.

use rand_core::RngCore;
use serde::{Deserialize, Serialize};

use hanko_card::{Command, Ins, Response, StatusWord};

use super::files::{encode, Address, CardType};
use super::sm::{self, AuthKeys, SessionKey, Suite};
use super::{CardNumber, AID_DF1, AID_DF2, AID_DF3};

/// The ATR this emulator gives \[I\]: the spec names none. A PC/SC reader builds a contactless
/// Type B card's ATR from its ATQB (PC/SC part 3 §3.1.3.2.3.2):
///
/// ```text
/// 3B           TS
/// 88           T0: TD1 follows, 8 historical bytes
/// 80 01        TD1, TD2: T=0 then T=1, nothing more
/// 00 00 00 00  ATQB application data
/// 00 81 71     ATQB protocol info: 106 kbit/s, 256-byte frames, ISO 14443-4; FWI 7, FO 1
/// 00           MBLI 0 (high nibble) | 0
/// F9           TCK
/// ```
pub const RESIDENCE_ATR: [u8; 13] = [0x3B, 0x88, 0x80, 0x01, 0, 0, 0, 0, 0x00, 0x81, 0x71, 0x00, 0xF9];

/// `63 00`: authentication failed (wrong card number); no counter.
const AUTH_FAILED: StatusWord = StatusWord(0x6300);
/// `69 88`: secure-messaging data objects incorrect.
const SM_INCORRECT: StatusWord = StatusWord(0x6988);
const MUTUAL_AUTHENTICATE: Ins = Ins(0x82);

/// Which DF is selected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Df {
    #[default]
    Mf,
    Df1,
    Df2,
    Df3,
}

/// One EF of the card, for [`ResidenceChip::file_mut`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Ef {
    /// MF/EF01 (`C0`).
    Common,
    /// MF/EF02 (`C1`).
    CardType,
    /// DF1/EF01 (`D0`).
    FrontImage,
    /// DF1/EF02 (`D1`).
    Photo,
    /// DF2/EF01 (`D2`–`D4`).
    Address,
    /// DF2/EF02 (`D5`).
    PermissionComprehensive,
    /// DF2/EF03 (`D6`).
    PermissionIndividual,
    /// DF2/EF04 (`D7`).
    Renewal,
    /// DF3/EF01 (`DA`, `DB`).
    Signature,
}

#[derive(Default)]
struct Volatile {
    df: Df,
    current: Option<Ef>,
    challenge: Option<[u8; sm::RND_LEN]>,
    session: Option<SessionKey>,
    verified: bool,
}

impl Volatile {
    fn end_session(&mut self) {
        self.challenge = None;
        self.session = None;
        self.verified = false;
    }
}

/// The emulated residence card or special permanent resident certificate. Its image
/// (`Serialize`) holds the files and the card number; the session is volatile.
#[derive(Serialize, Deserialize)]
pub struct ResidenceChip {
    suite: Suite,
    card_number: CardNumber,
    files: Box<Files>,
    #[serde(skip)]
    st: Volatile,
    #[serde(skip)]
    rng: Option<Box<dyn RngCore + Send + Sync>>,
}

/// The EFs as stored (TLV included).
#[derive(Serialize, Deserialize)]
struct Files {
    common: Vec<u8>,
    card_type: Vec<u8>,
    front_image: Vec<u8>,
    photo: Option<Vec<u8>>,
    address: Vec<u8>,
    permission_comprehensive: Option<Vec<u8>>,
    permission_individual: Option<Vec<u8>>,
    renewal: Option<Vec<u8>>,
    signature: Option<Vec<u8>>,
}

/// The encoded files of a new card, from the issuer.
pub(crate) struct NewCard<'a> {
    pub(crate) card_number: CardNumber,
    pub(crate) card_type: CardType,
    pub(crate) front_image: &'a [u8],
    pub(crate) photo: Option<&'a [u8]>,
    pub(crate) address: &'a Address,
    pub(crate) permissions: Option<(&'a str, &'a str)>,
    pub(crate) renewal_applied: Option<bool>,
    pub(crate) signature: Option<(&'a [u8], &'a [u8])>,
}

impl ResidenceChip {
    pub(crate) fn new(c: NewCard<'_>) -> ResidenceChip {
        ResidenceChip {
            suite: Suite::Gen1Tdes,
            card_number: c.card_number,
            files: Box::new(Files {
                common: encode::common(b"0150"),
                card_type: encode::card_type(c.card_type),
                front_image: encode::front_image(c.front_image),
                photo: c.photo.map(encode::photo),
                address: encode::address(c.address),
                permission_comprehensive: c.permissions.map(|(p, _)| encode::permission(0xD5, p)),
                permission_individual: c.permissions.map(|(_, p)| encode::permission(0xD6, p)),
                renewal: c.renewal_applied.map(encode::renewal),
                signature: c.signature.map(|(code, cert)| encode::signature(code, cert)),
            }),
            st: Volatile::default(),
            rng: None,
        }
    }

    /// Test hook: the chip draws RND.ICC (8 bytes, at GET CHALLENGE) and then K.ICC (16 bytes,
    /// at MUTUAL AUTHENTICATE) from `rng` instead of the operating system's generator — how
    /// the official test vectors are replayed. Not part of the image.
    pub fn with_rng(mut self, rng: Box<dyn RngCore + Send + Sync>) -> ResidenceChip {
        self.rng = Some(rng);
        self
    }

    /// Test hook: the raw bytes of one EF (TLV included), to model an altered card. `None`
    /// when the card has no such file.
    pub fn file_mut(&mut self, ef: Ef) -> Option<&mut Vec<u8>> {
        match ef {
            Ef::Common => Some(&mut self.files.common),
            Ef::CardType => Some(&mut self.files.card_type),
            Ef::FrontImage => Some(&mut self.files.front_image),
            Ef::Photo => self.files.photo.as_mut(),
            Ef::Address => Some(&mut self.files.address),
            Ef::PermissionComprehensive => self.files.permission_comprehensive.as_mut(),
            Ef::PermissionIndividual => self.files.permission_individual.as_mut(),
            Ef::Renewal => self.files.renewal.as_mut(),
            Ef::Signature => self.files.signature.as_mut(),
        }
    }

    /// Whether a secure-messaging session is open (after MUTUAL AUTHENTICATE, until an SM
    /// error, a new GET CHALLENGE or a reset).
    pub fn session_open(&self) -> bool {
        self.st.session.is_some()
    }

    fn fill(&mut self, buf: &mut [u8]) {
        match &mut self.rng {
            Some(r) => r.fill_bytes(buf),
            None => rand_core::OsRng.fill_bytes(buf),
        }
    }

    fn file(&self, ef: Ef) -> Option<&[u8]> {
        match ef {
            Ef::Common => Some(&self.files.common),
            Ef::CardType => Some(&self.files.card_type),
            Ef::FrontImage => Some(&self.files.front_image),
            Ef::Photo => self.files.photo.as_deref(),
            Ef::Address => Some(&self.files.address),
            Ef::PermissionComprehensive => self.files.permission_comprehensive.as_deref(),
            Ef::PermissionIndividual => self.files.permission_individual.as_deref(),
            Ef::Renewal => self.files.renewal.as_deref(),
            Ef::Signature => self.files.signature.as_deref(),
        }
    }

    /// The EF of `sfi` in `df` (READ BINARY P1 = `80 | SFI`).
    fn by_sfi(df: Df, sfi: u8) -> Option<Ef> {
        Some(match (df, sfi) {
            (Df::Mf, 0x0B) => Ef::Common,
            (Df::Mf, 0x0A) => Ef::CardType,
            (Df::Df1, 0x05) => Ef::FrontImage,
            (Df::Df1, 0x06) => Ef::Photo,
            (Df::Df2, 0x01) => Ef::Address,
            (Df::Df2, 0x02) => Ef::PermissionComprehensive,
            (Df::Df2, 0x03) => Ef::PermissionIndividual,
            (Df::Df2, 0x04) => Ef::Renewal,
            (Df::Df3, 0x02) => Ef::Signature,
            _ => return None,
        })
    }

    fn answer(&mut self, apdu: &[u8]) -> Response {
        let cmd = match Command::parse(apdu) {
            Ok(c) => c,
            Err(e) => return Response::status(e.into()),
        };
        match (cmd.cla, cmd.ins) {
            (0x00, Ins::SELECT) => self.select(&cmd),
            (0x00, Ins::GET_CHALLENGE) => self.get_challenge(&cmd),
            (0x00, MUTUAL_AUTHENTICATE) => self.mutual_authenticate(&cmd),
            (0x08, Ins::VERIFY) => self.verify(&cmd),
            (0x00, Ins::VERIFY) => Response::status(StatusWord::SECURITY_STATUS_NOT_SATISFIED),
            (0x00 | 0x08, Ins::READ_BINARY) => self.read_binary(&cmd),
            (0x00 | 0x08, _) => Response::status(StatusWord::INS_NOT_SUPPORTED),
            _ => Response::status(StatusWord::CLA_NOT_SUPPORTED),
        }
    }

    fn select(&mut self, cmd: &Command<'_>) -> Response {
        if !matches!(cmd.p2, 0x00 | 0x0C) {
            return Response::status(StatusWord::WRONG_P1P2);
        }
        let df = match (cmd.p1, cmd.data) {
            (0x00, [0x3F, 0x00]) => Df::Mf,
            (0x04, aid) if aid == AID_DF1 => Df::Df1,
            (0x04, aid) if aid == AID_DF2 => Df::Df2,
            (0x04, aid) if aid == AID_DF3 => Df::Df3,
            (0x00 | 0x04, _) => return Response::status(StatusWord::FILE_NOT_FOUND),
            _ => return Response::status(StatusWord::WRONG_P1P2),
        };
        self.st.df = df;
        self.st.current = None;
        Response::status(StatusWord::SUCCESS)
    }

    fn get_challenge(&mut self, cmd: &Command<'_>) -> Response {
        if (cmd.p1, cmd.p2) != (0, 0) {
            return Response::status(StatusWord::WRONG_P1P2);
        }
        if !cmd.data.is_empty() || cmd.le != Some(sm::RND_LEN) {
            return Response::status(StatusWord::WRONG_LENGTH);
        }
        self.st.end_session();
        let mut rnd = [0u8; sm::RND_LEN];
        self.fill(&mut rnd);
        self.st.challenge = Some(rnd);
        Response::ok(rnd.to_vec())
    }

    fn mutual_authenticate(&mut self, cmd: &Command<'_>) -> Response {
        if (cmd.p1, cmd.p2) != (0, 0) {
            return Response::status(StatusWord::WRONG_P1P2);
        }
        let Some(rnd_icc) = self.st.challenge.take() else {
            return Response::status(StatusWord::CONDITIONS_NOT_SATISFIED);
        };
        if cmd.data.len() != sm::AUTH_LEN {
            return Response::status(StatusWord::WRONG_LENGTH);
        }
        let mut k_icc = zeroize::Zeroizing::new([0u8; sm::K_LEN]);
        self.fill(&mut k_icc[..]);
        let keys = AuthKeys::derive(self.suite, &self.card_number);
        match sm::chip_respond(&keys, &rnd_icc, &k_icc, cmd.data) {
            Ok((answer, ks)) => {
                self.st.session = Some(ks);
                self.st.verified = false;
                Response::ok(answer.to_vec())
            }
            Err(_) => Response::status(AUTH_FAILED),
        }
    }

    fn verify(&mut self, cmd: &Command<'_>) -> Response {
        if (cmd.p1, cmd.p2) != (0x00, 0x86) {
            return Response::status(StatusWord::WRONG_P1P2);
        }
        let Some(ks) = &self.st.session else {
            return Response::status(StatusWord::SECURITY_STATUS_NOT_SATISFIED);
        };
        match ks.unwrap(cmd.data) {
            Ok(number) => {
                if sm::ct_eq(&number, self.card_number.as_bytes()) {
                    self.st.verified = true;
                    Response::status(StatusWord::SUCCESS)
                } else {
                    self.st.verified = false;
                    Response::status(AUTH_FAILED)
                }
            }
            Err(_) => {
                self.st.end_session();
                Response::status(SM_INCORRECT)
            }
        }
    }

    fn read_binary(&mut self, cmd: &Command<'_>) -> Response {
        let secure = cmd.cla == 0x08;
        let le = if secure {
            if self.st.session.is_none() {
                return Response::status(StatusWord::SECURITY_STATUS_NOT_SATISFIED);
            }
            match sm::parse_le(cmd.data) {
                Ok(le) => le,
                Err(_) => {
                    self.st.end_session();
                    return Response::status(SM_INCORRECT);
                }
            }
        } else {
            match (cmd.data.is_empty(), cmd.le) {
                (true, Some(65536)) => None,
                (true, Some(n)) => Some(n),
                _ => return Response::status(StatusWord::WRONG_LENGTH),
            }
        };
        let (ef, offset) = if cmd.p1 & 0x80 != 0 {
            if cmd.p1 & 0x60 != 0 {
                return Response::status(StatusWord::WRONG_P1P2);
            }
            match Self::by_sfi(self.st.df, cmd.p1 & 0x1F) {
                Some(ef) => (ef, usize::from(cmd.p2)),
                None => return Response::status(StatusWord::FILE_NOT_FOUND),
            }
        } else {
            match self.st.current {
                Some(ef) => (ef, usize::from(u16::from_be_bytes([cmd.p1, cmd.p2]))),
                None => return Response::status(StatusWord::COMMAND_NOT_ALLOWED),
            }
        };
        let allowed = match self.st.df {
            Df::Mf => true,
            Df::Df1 => self.st.verified && secure,
            Df::Df2 | Df::Df3 => self.st.verified,
        };
        if !allowed {
            return Response::status(StatusWord::SECURITY_STATUS_NOT_SATISFIED);
        }
        let Some(file) = self.file(ef) else { return Response::status(StatusWord::FILE_NOT_FOUND) };
        if offset >= file.len() {
            return Response::status(StatusWord::WRONG_OFFSET);
        }
        let rest = &file[offset..];
        let chunk = &rest[..le.unwrap_or(rest.len()).min(rest.len())];
        let data = match (&self.st.session, secure) {
            (Some(ks), true) => ks.wrap(chunk),
            _ => chunk.to_vec(),
        };
        self.st.current = Some(ef);
        Response::ok(data)
    }
}

impl core::fmt::Debug for ResidenceChip {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ResidenceChip")
            .field("suite", &self.suite)
            .field("card_type", &self.files.card_type)
            .field("photo", &self.files.photo.is_some())
            .field("signature", &self.files.signature.is_some())
            .finish_non_exhaustive()
    }
}

impl crate::Chip for ResidenceChip {
    fn atr(&self) -> Vec<u8> {
        RESIDENCE_ATR.to_vec()
    }
    fn process(&mut self, apdu: &[u8]) -> Vec<u8> {
        self.answer(apdu).encode()
    }
    fn reset(&mut self) {
        self.st = Volatile::default();
    }
    fn take_dirty(&mut self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atr_check_byte_is_the_xor_of_t0_to_the_last_historical_byte() {
        let tck = RESIDENCE_ATR[1..RESIDENCE_ATR.len() - 1].iter().fold(0u8, |a, b| a ^ b);
        assert_eq!(tck, RESIDENCE_ATR[RESIDENCE_ATR.len() - 1]);
    }
}
