//! The emulated passport chip (ICAO 9303-10 §3–4, 9303-11 §4, §6, §9.8): the LDS1 application,
//! its EFs by FID and short EF identifier, READ BINARY with `B0` (15-bit offsets) and `B1`
//! (offset in DO54, up to 24 bits), BAC and PACE (`pace.rs`'s [`super::pace::ChipPace`]), 3DES or
//! AES secure messaging, and active authentication.
//!
//! | variant | BAC | PACE | plain reads |
//! |---|---|---|---|
//! | [`AccessControl::Bac`] | yes | — | EF.CardAccess only |
//! | [`AccessControl::BacAndPace`] | yes | yes | EF.CardAccess only |
//! | [`AccessControl::PaceOnly`] | `6A 88` | yes | EF.CardAccess only |
//! | [`AccessControl::None`] | `6D 00` | — | everything (early passports) |
//!
//! Active authentication: ECDSA P-256 with ecdsa-plain-SHA256 (BSI TR-03111), announced by DG14's
//! ActiveAuthenticationInfo; the key (PKCS#8) never leaves the chip.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use hanko_card::{Command, Ins, Response, StatusWord};
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::bac::{self, BacKeys, INS_MUTUAL_AUTHENTICATE};
use super::sm::{PlainCommand, SecureChannel, SW_SM_DATA_OBJECTS, SW_SM_MISSING};

/// The LDS1 eMRTD application, `A0 00 00 02 47 10 01`.
pub const LDS1_AID: [u8; 7] = [0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01];

/// A file identifier (9303-10 §3.11 and §4.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Fid(pub u16);

impl Fid {
    /// EF.CardAccess (in the MF).
    pub const CARD_ACCESS: Fid = Fid(0x011C);
    /// EF.COM.
    pub const COM: Fid = Fid(0x011E);
    /// EF.SOD.
    pub const SOD: Fid = Fid(0x011D);
    /// DG1 … DG16 are `0101` … `0110`.
    pub const fn dg(n: u8) -> Fid {
        Fid(0x0100 | n as u16)
    }
    /// The short EF identifier (FID's low 5 bits: DG1 = 01, EF.COM = 1E, EF.SOD = 1D …).
    pub fn sfi(self) -> u8 {
        (self.0 & 0x1F) as u8
    }
}

/// Which access control the chip enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum AccessControl {
    /// BAC only (passports 2006–2014 or so).
    Bac,
    /// BAC and PACE (EF.CardAccess announces PACE).
    BacAndPace,
    /// PACE only: BAC's GET CHALLENGE and MUTUAL AUTHENTICATE answer `6A 88`.
    PaceOnly,
    /// No access control: every file reads in plain (early passports); the SM-overhead yardstick.
    None,
}

impl AccessControl {
    /// Whether the chip offers PACE.
    pub fn pace(self) -> bool {
        matches!(self, AccessControl::BacAndPace | AccessControl::PaceOnly)
    }
}

mod secret {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use zeroize::Zeroizing;

    pub(super) fn serialize<S: Serializer>(v: &Zeroizing<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        v.as_slice().serialize(s)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Zeroizing<Vec<u8>>, D::Error> {
        Ok(Zeroizing::new(Vec::<u8>::deserialize(d)?))
    }
}

#[derive(Default)]
struct Volatile {
    app_selected: bool,
    current: Option<Fid>,
    challenge: Option<[u8; 8]>,
    sm: Option<SecureChannel>,
    pace: Option<Box<super::pace::ChipPace>>,
}

/// The emulated passport chip. `Serialize + Deserialize` is its persisted image: the files, the
/// access key material and the active-authentication key (PKCS#8), never printed.
#[derive(Serialize, Deserialize)]
pub struct PassportChip {
    access: AccessControl,
    /// MRZ information (BAC and PACE password).
    #[serde(with = "secret")]
    mrz_information: Zeroizing<Vec<u8>>,
    /// Card access number (PACE), empty when none.
    #[serde(with = "secret")]
    can: Zeroizing<Vec<u8>>,
    files: Vec<(Fid, Vec<u8>)>,
    /// Active-authentication private key, PKCS#8 (ECDSA P-256).
    #[serde(with = "secret")]
    aa_key: Zeroizing<Vec<u8>>,
    #[serde(skip)]
    state: Box<Volatile>,
}

impl core::fmt::Debug for PassportChip {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "PassportChip({:?}, {} files, [elided])", self.access, self.files.len())
    }
}

impl PassportChip {
    /// A chip over `files` (FID → content, EF.SOD already signed over them).
    pub fn new(
        access: AccessControl,
        mrz_information: &str,
        can: Option<&str>,
        files: Vec<(Fid, Vec<u8>)>,
        aa_key_pkcs8: Zeroizing<Vec<u8>>,
    ) -> PassportChip {
        PassportChip {
            access,
            mrz_information: Zeroizing::new(mrz_information.as_bytes().to_vec()),
            can: Zeroizing::new(can.unwrap_or("").as_bytes().to_vec()),
            files,
            aa_key: aa_key_pkcs8,
            state: Box::default(),
        }
    }

    /// The access control this chip enforces.
    pub fn access_control(&self) -> AccessControl {
        self.access
    }

    /// The content of a file.
    pub fn file(&self, fid: Fid) -> Option<&[u8]> {
        self.files.iter().find(|(f, _)| *f == fid).map(|(_, b)| b.as_slice())
    }

    /// Replaces (or adds) a file **without re-signing EF.SOD**: for tests of verification (a
    /// tampered data group must fail passive authentication).
    pub fn replace_file(&mut self, fid: Fid, content: Vec<u8>) {
        match self.files.iter_mut().find(|(f, _)| *f == fid) {
            Some((_, b)) => *b = content,
            None => self.files.push((fid, content)),
        }
    }

    fn readable_in_plain(&self, fid: Fid) -> bool {
        self.access == AccessControl::None || fid == Fid::CARD_ACCESS
    }

    fn plain(&mut self, apdu: &[u8]) -> Response {
        let Ok(cmd) = Command::parse(apdu) else { return Response::status(StatusWord::WRONG_LENGTH) };
        if cmd.cla & 0x0C != 0 {
            // SM asked for with no session.
            return Response::status(SW_SM_MISSING);
        }
        let plain = PlainCommand {
            cla: cmd.cla,
            ins: cmd.ins,
            p1: cmd.p1,
            p2: cmd.p2,
            data: Zeroizing::new(cmd.data.to_vec()),
            le: cmd.le,
        };
        self.dispatch(&plain, false)
    }

    fn dispatch(&mut self, c: &PlainCommand, protected: bool) -> Response {
        if c.cla & 0xEF != 0 {
            // Chaining (CLA 10) only for GENERAL AUTHENTICATE.
            if !(c.cla == 0x10 && c.ins == Ins(0x86)) {
                return Response::status(StatusWord::CLA_NOT_SUPPORTED);
            }
        }
        match (c.ins, c.p1, c.p2) {
            (Ins::SELECT, _, _) => self.select(c, protected),
            (Ins::READ_BINARY, _, _) | (Ins(0xB1), _, _) => self.read_binary(c, protected),
            (Ins::GET_CHALLENGE, 0, 0) if !protected => self.get_challenge(c),
            (INS_MUTUAL_AUTHENTICATE, 0, 0) if !protected => self.mutual_authenticate(c),
            (Ins(0x22), 0xC1, 0xA4) if !protected => self.mse_set_at(c),
            (Ins(0x86), 0, 0) if !protected => self.general_authenticate(c),
            (Ins::INTERNAL_AUTHENTICATE, 0, 0) => self.internal_authenticate(c, protected),
            _ => Response::status(StatusWord::INS_NOT_SUPPORTED),
        }
    }

    fn select(&mut self, c: &PlainCommand, protected: bool) -> Response {
        match c.p1 {
            0x04 => {
                if c.data.as_slice() == LDS1_AID {
                    self.state.app_selected = true;
                    self.state.current = None;
                    Response::status(StatusWord::SUCCESS)
                } else {
                    Response::status(StatusWord::FILE_NOT_FOUND)
                }
            }
            0x00 | 0x02 => {
                let [hi, lo] = c.data.as_slice() else { return Response::status(StatusWord::WRONG_LENGTH) };
                let fid = Fid(u16::from_be_bytes([*hi, *lo]));
                if self.file(fid).is_none() || (fid != Fid::CARD_ACCESS && !self.state.app_selected) {
                    return Response::status(StatusWord::FILE_NOT_FOUND);
                }
                if !protected && !self.readable_in_plain(fid) {
                    return Response::status(StatusWord::SECURITY_STATUS_NOT_SATISFIED);
                }
                self.state.current = Some(fid);
                Response::status(StatusWord::SUCCESS)
            }
            _ => Response::status(StatusWord::WRONG_P1P2),
        }
    }

    fn read_binary(&mut self, c: &PlainCommand, protected: bool) -> Response {
        let (fid, offset) = if c.ins == Ins::READ_BINARY {
            if c.p1 & 0x80 != 0 {
                // Short EF identifier in P1, 8-bit offset in P2.
                let sfi = c.p1 & 0x1F;
                let Some(fid) = self.files.iter().map(|(f, _)| *f).find(|f| f.sfi() == sfi) else {
                    return Response::status(StatusWord::FILE_NOT_FOUND);
                };
                if fid != Fid::CARD_ACCESS && !self.state.app_selected {
                    return Response::status(StatusWord::FILE_NOT_FOUND);
                }
                self.state.current = Some(fid);
                (fid, usize::from(c.p2))
            } else {
                let Some(fid) = self.state.current else { return Response::status(StatusWord::COMMAND_NOT_ALLOWED) };
                (fid, usize::from(u16::from_be_bytes([c.p1, c.p2])))
            }
        } else {
            // B1: offset in DO54 (1–3 bytes); P1-P2 = 0000 (current EF).
            if (c.p1, c.p2) != (0, 0) {
                return Response::status(StatusWord::WRONG_P1P2);
            }
            let Some(fid) = self.state.current else { return Response::status(StatusWord::COMMAND_NOT_ALLOWED) };
            let offset = match crate::tlv::parse_one(&c.data) {
                Ok((t, [])) if t.tag == 0x54 && (1..=3).contains(&t.value.len()) => {
                    t.value.iter().fold(0usize, |a, &b| (a << 8) | usize::from(b))
                }
                _ => return Response::status(StatusWord::WRONG_DATA),
            };
            (fid, offset)
        };
        if !protected && !self.readable_in_plain(fid) {
            return Response::status(StatusWord::SECURITY_STATUS_NOT_SATISFIED);
        }
        let Some(content) = self.file(fid) else { return Response::status(StatusWord::FILE_NOT_FOUND) };
        if offset >= content.len() {
            return Response::status(StatusWord::WRONG_OFFSET);
        }
        // Under SM a short-Le answer must fit 256 bytes once protected: at most 0xDF data bytes
        // (a reader then asks for the rest; 9303 readers expect fewer bytes than Le).
        let mut le = c.le.unwrap_or(256);
        if protected && le <= 256 {
            le = le.min(0xDF);
        }
        let end = content.len().min(offset + le);
        let chunk = content[offset..end].to_vec();
        if c.ins == Ins::READ_BINARY {
            Response::ok(chunk)
        } else {
            Response::ok(crate::tlv::encode(0x53, &chunk))
        }
    }

    fn get_challenge(&mut self, c: &PlainCommand) -> Response {
        match self.access {
            AccessControl::PaceOnly => return Response::status(StatusWord::DATA_NOT_FOUND),
            AccessControl::None => return Response::status(StatusWord::INS_NOT_SUPPORTED),
            _ => {}
        }
        if c.le != Some(8) {
            return Response::status(StatusWord::WRONG_LENGTH);
        }
        let mut rnd = [0u8; 8];
        OsRng.fill_bytes(&mut rnd);
        self.state.challenge = Some(rnd);
        Response::ok(rnd.to_vec())
    }

    fn mutual_authenticate(&mut self, c: &PlainCommand) -> Response {
        match self.access {
            AccessControl::PaceOnly => return Response::status(StatusWord::DATA_NOT_FOUND),
            AccessControl::None => return Response::status(StatusWord::INS_NOT_SUPPORTED),
            _ => {}
        }
        let Some(rnd_icc) = self.state.challenge.take() else {
            return Response::status(StatusWord::CONDITIONS_NOT_SATISFIED);
        };
        let info = String::from_utf8_lossy(&self.mrz_information);
        let keys = BacKeys::from_mrz_information(&info);
        let mut k_icc = Zeroizing::new([0u8; 16]);
        OsRng.fill_bytes(&mut k_icc[..]);
        match bac::chip_answer(&keys, &rnd_icc, &k_icc, &c.data) {
            Ok((answer, session)) => {
                self.state.sm = Some(SecureChannel::new(session));
                Response::ok(answer.to_vec())
            }
            Err(sw) => Response::status(sw),
        }
    }

    fn mse_set_at(&mut self, c: &PlainCommand) -> Response {
        use super::pace::{parse_card_access, ChipPace, PacePassword};
        if !self.access.pace() {
            return Response::status(StatusWord::DATA_NOT_FOUND);
        }
        // Password reference 83: 01 = MRZ, 02 = CAN (9303-11 §4.4.4.1).
        let reference = crate::tlv::iter(&c.data).filter_map(Result::ok).find(|t| t.tag == 0x83).map(|t| t.value);
        let password = match reference {
            Some([0x01]) => PacePassword::Mrz(String::from_utf8_lossy(&self.mrz_information).into_owned()),
            Some([0x02]) if !self.can.is_empty() => PacePassword::Can(String::from_utf8_lossy(&self.can).into_owned()),
            _ => return Response::status(StatusWord::DATA_NOT_FOUND),
        };
        // The engine runs over the first PACEInfo of the chip's own EF.CardAccess that it supports
        // (MSE:Set AT must then name that protocol).
        let infos = parse_card_access(self.file(Fid::CARD_ACCESS).unwrap_or_default()).unwrap_or_default();
        let Some(mut engine) = infos.iter().find_map(|info| ChipPace::new(&password, info, &mut OsRng).ok()) else {
            return Response::status(StatusWord::DATA_NOT_FOUND);
        };
        match engine.mse_set_at(&c.data) {
            Ok(()) => {
                self.state.pace = Some(Box::new(engine));
                Response::status(StatusWord::SUCCESS)
            }
            Err(sw) => Response::status(sw),
        }
    }

    fn general_authenticate(&mut self, c: &PlainCommand) -> Response {
        let Some(engine) = self.state.pace.as_mut() else {
            return Response::status(StatusWord::CONDITIONS_NOT_SATISFIED);
        };
        match engine.general_authenticate(&c.data, &mut OsRng) {
            Ok((data, keys)) => {
                if let Some(keys) = keys {
                    self.state.pace = None;
                    self.state.sm = Some(SecureChannel::new(keys));
                }
                Response::ok(data)
            }
            Err(sw) => {
                self.state.pace = None;
                Response::status(sw)
            }
        }
    }

    fn internal_authenticate(&mut self, c: &PlainCommand, protected: bool) -> Response {
        if !protected && self.access != AccessControl::None {
            return Response::status(StatusWord::SECURITY_STATUS_NOT_SATISFIED);
        }
        if c.data.len() != 8 {
            return Response::status(StatusWord::WRONG_DATA);
        }
        let Ok(pair) = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &self.aa_key) else {
            return Response::status(StatusWord::UNKNOWN_ERROR);
        };
        match pair.sign(&SystemRandom::new(), &c.data) {
            Ok(sig) => Response::ok(sig.as_ref().to_vec()),
            Err(_) => Response::status(StatusWord::UNKNOWN_ERROR),
        }
    }
}

impl crate::Chip for PassportChip {
    /// A plausible ISO 14443 Type B answer as PC/SC builds it from the ATQB \[I\]:
    /// `3B 88 80 01` + 7 application-data / protocol-info bytes + TCK.
    fn atr(&self) -> Vec<u8> {
        let mut atr = vec![0x3B, 0x88, 0x80, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x71, 0x71, 0x81];
        let tck = atr[1..].iter().fold(0u8, |a, b| a ^ b);
        atr.push(tck);
        atr
    }

    fn process(&mut self, apdu: &[u8]) -> Vec<u8> {
        if self.state.sm.is_none() {
            return self.plain(apdu).encode();
        }
        if apdu.len() >= 4 && apdu[0] & 0x0C != 0x0C {
            // A plain command during an SM session ends the session (9303-11 §9.8.6).
            self.state.sm = None;
            return Response::status(SW_SM_MISSING).encode();
        }
        let unwrapped = self.state.sm.as_mut().map(|sm| sm.unprotect_command(apdu));
        let cmd = match unwrapped {
            Some(Ok(cmd)) => cmd,
            _ => {
                self.state.sm = None;
                self.state.current = None;
                return Response::status(SW_SM_DATA_OBJECTS).encode();
            }
        };
        let resp = self.dispatch(&cmd, true);
        match self.state.sm.as_mut().map(|sm| sm.protect_response(&resp.data, resp.sw)) {
            Some(Ok(bytes)) => bytes,
            _ => {
                self.state.sm = None;
                Response::status(SW_SM_DATA_OBJECTS).encode()
            }
        }
    }

    fn reset(&mut self) {
        *self.state = Volatile::default();
    }

    fn take_dirty(&mut self) -> bool {
        false
    }
}

// --- issuing a chip -------------------------------------------------------------------------------

/// A passport holder (synthetic people only) and the document's printed data.
#[derive(Clone)]
pub struct Holder {
    /// Surname as in the MRZ (`MIHON`).
    pub surname: String,
    /// Given names as in the MRZ (`HANAKO`).
    pub given_names: String,
    /// Document number (9 characters: 2 letters + 7 digits on Japanese passports).
    pub document_number: String,
    /// Birth date YYMMDD.
    pub birth: String,
    /// `M`, `F` or `<`.
    pub sex: char,
    /// Expiry date YYMMDD.
    pub expiry: String,
    /// The face image for DG2.
    pub face: super::lds::Face,
    /// Card access number for PACE (6 digits), if the document has one.
    pub can: Option<String>,
}

impl core::fmt::Debug for Holder {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Holder({} {}, [elided])", self.surname, self.given_names)
    }
}

impl Holder {
    /// The TD3 MRZ fields this holder's passport prints (issuing state and nationality JPN).
    pub fn mrz_fields(&self) -> super::lds::MrzFields {
        super::lds::MrzFields {
            document_code: "P".into(),
            issuing_state: "JPN".into(),
            surname: self.surname.clone(),
            given_names: self.given_names.clone(),
            document_number: self.document_number.clone(),
            nationality: "JPN".into(),
            birth: self.birth.clone(),
            sex: self.sex,
            expiry: self.expiry.clone(),
            personal_number: String::new(),
        }
    }

    /// The access code a clerk types from this passport's MRZ.
    pub fn access_code(&self) -> crate::AccessCode {
        crate::AccessCode::Mrz {
            document_number: self.document_number.clone(),
            birth: self.birth.clone(),
            expiry: self.expiry.clone(),
        }
    }
}

/// Synthetic holder `n`: 見本 (MIHON) with a sample given name, document number `TS000000n`,
/// the synthetic JPEG 2000 portrait, CAN `12345n`.
pub fn sample_holder(n: u32) -> Holder {
    const GIVEN: [&str; 4] = ["HANAKO", "TARO", "JIRO", "SAKURA"];
    let i = n as usize % GIVEN.len();
    Holder {
        surname: "MIHON".into(),
        given_names: GIVEN[i].into(),
        document_number: format!("TS{:07}", n % 10_000_000),
        birth: format!("9{}0401", n % 10),
        sex: if i.is_multiple_of(3) { 'F' } else { 'M' },
        expiry: "350331".into(),
        face: super::lds::Face {
            image_type: super::lds::FaceImageType::Jpeg2000,
            width: 90,
            height: 110,
            image: hanko_card::SYNTHETIC_PORTRAIT_JP2.to_vec(),
        },
        can: Some(format!("{:06}", 123450 + n % 10)),
    }
}

/// Issues an emulated passport for `holder`: EF.COM, DG1, DG2, DG14 (ActiveAuthenticationInfo,
/// and PACEInfo when PACE is offered), DG15 (a fresh ECDSA P-256 AA key), EF.SOD signed by the
/// DSC of `issuer` at `signing_time`, and EF.CardAccess when PACE is offered.
pub fn issue(
    holder: &Holder,
    issuer: &super::PassportIssuer,
    access: AccessControl,
    signing_time: time::OffsetDateTime,
) -> Result<PassportChip, super::PassportError> {
    use super::lds;
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::signature::KeyPair;

    let mrz = holder.mrz_fields().to_mrz().ok_or(super::PassportError::BadHolder("MRZ fields"))?;
    let info = lds::mrz_information(&holder.document_number, &holder.birth, &holder.expiry)
        .ok_or(super::PassportError::BadHolder("MRZ information"))?;
    let aa = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
        .map_err(|e| super::PassportError::Issuer(e.to_string()))?;
    let aa_pkcs8 =
        Zeroizing::new(aa.to_pkcs8v1().map_err(|e| super::PassportError::Issuer(e.to_string()))?.as_ref().to_vec());
    let spki = AsDer::<aws_lc_rs::encoding::PublicKeyX509Der>::as_der(aa.public_key())
        .map_err(|e| super::PassportError::Issuer(e.to_string()))?;
    let mut infos = vec![lds::SecurityInfo::active_authentication(lds::ECDSA_PLAIN_SHA256)?];
    if access.pace() {
        infos.push(lds::SecurityInfo::pace(lds::ID_PACE_ECDH_GM_AES_128, 12)?);
    }
    let dg1 = lds::encode_dg1(&mrz);
    let dg2 = lds::encode_dg2(&holder.face);
    let dg14 = lds::encode_dg14(&infos)?;
    let dg15 = lds::encode_dg15(spki.as_ref());
    let sod = super::sod::build(&[(1, &dg1), (2, &dg2), (14, &dg14), (15, &dg15)], issuer, signing_time)?;
    let mut files = vec![
        (Fid::COM, lds::encode_com(&[0x61, 0x75, 0x6E, 0x6F])),
        (Fid::dg(1), dg1),
        (Fid::dg(2), dg2),
        (Fid::dg(14), dg14),
        (Fid::dg(15), dg15),
        (Fid::SOD, sod),
    ];
    if access.pace() {
        let pace_info = [lds::SecurityInfo::pace(lds::ID_PACE_ECDH_GM_AES_128, 12)?];
        files.push((Fid::CARD_ACCESS, lds::encode_security_infos(&pace_info)?));
    }
    Ok(PassportChip::new(access, &info, holder.can.as_deref(), files, aa_pkcs8))
}
