//! The host-side reader (shared/spec/40-id-documents.md §1): MF common data and PIN-set flag,
//! both PINs (the tries are asked first, so a blocked PIN costs nothing), DF1's seven files,
//! DF2's photo, all parsed into a [`LicenceData`].

use zeroize::Zeroizing;

use hanko_card::{Command, Ins, Response, StatusWord, Transport};

use super::files::{
    parse_changes, parse_gaiji, parse_honseki, parse_photo, parse_pin_flag, ChangeEntry, CommonData, Entries, JisText,
    DF1_AID, DF2_AID, FID_01, FID_COMMON, FID_PIN_FLAG, MAX_FILE_LEN,
};
use super::issuer::DEFAULT_PIN;
use super::verify::{check_signed_size, SignatureRecord};
use super::{LicenceError, PinId};
use crate::Progress;

/// The two PINs the holder gives. `Debug` elides them.
pub struct LicencePins {
    /// 暗証番号1.
    pub pin1: Zeroizing<String>,
    /// 暗証番号2.
    pub pin2: Zeroizing<String>,
}

impl core::fmt::Debug for LicencePins {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("LicencePins([elided])")
    }
}

/// The signed files exactly as read (what the signature covers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedFiles {
    /// DF1/EF01.
    pub entries: Vec<u8>,
    /// DF1/EF02.
    pub honseki: Vec<u8>,
    /// DF2/EF01.
    pub photo: Vec<u8>,
}

/// Everything read from a licence, parsed. Nothing here is verified yet: see [`super::verify()`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenceData {
    /// MF/EF01.
    pub common: CommonData,
    /// Whether the holder set PINs (MF/EF02); `false` → both were `****`.
    pub pins_set: bool,
    /// DF1/EF01: name, kana, birth date, address, dates, colour, conditions, number, commission, classes.
    pub entries: Entries,
    /// DF1/EF02: 本籍.
    pub honseki: JisText,
    /// DF1/EF03: 外字 glyphs (tag, bitmap).
    pub gaiji: Vec<(u16, Vec<u8>)>,
    /// DF1/EF04: changes after issue (unsigned).
    pub changes: Vec<ChangeEntry>,
    /// DF1/EF05: 外字 of the changes.
    pub change_gaiji: Vec<(u16, Vec<u8>)>,
    /// DF1/EF06: changes of 本籍 (unsigned).
    pub honseki_changes: Vec<ChangeEntry>,
    /// DF2/EF01: the photo, JPEG 2000.
    pub photo: Vec<u8>,
    /// DF1/EF07.
    pub signature: SignatureRecord,
    /// The signed files as read.
    pub signed: SignedFiles,
}

fn transmit(t: &mut dyn Transport, cmd: Command<'_>) -> Result<Response, LicenceError> {
    let raw = t.transmit(&cmd.encode())?;
    Response::parse(&raw).map_err(|_| LicenceError::Card { step: "response", sw: StatusWord(0) })
}

fn expect_ok(t: &mut dyn Transport, cmd: Command<'_>, step: &'static str) -> Result<(), LicenceError> {
    let r = transmit(t, cmd)?;
    if r.sw == StatusWord::SUCCESS {
        Ok(())
    } else {
        Err(LicenceError::Card { step, sw: r.sw })
    }
}

fn select_mf(t: &mut dyn Transport) -> Result<(), LicenceError> {
    let cmd = Command { cla: 0, ins: Ins::SELECT, p1: 0, p2: 0, data: &[], le: None, extended: false };
    expect_ok(t, cmd, "SELECT MF")
}

fn select_df(t: &mut dyn Transport, aid: &[u8; 16], step: &'static str) -> Result<(), LicenceError> {
    let cmd = Command { cla: 0, ins: Ins::SELECT, p1: 4, p2: 0x0C, data: aid, le: None, extended: false };
    expect_ok(t, cmd, step)
}

fn select_ef(t: &mut dyn Transport, fid: u16, step: &'static str) -> Result<(), LicenceError> {
    let fid = fid.to_be_bytes();
    let cmd = Command { cla: 0, ins: Ins::SELECT, p1: 2, p2: 0x0C, data: &fid, le: None, extended: false };
    expect_ok(t, cmd, step)
}

/// Reads the selected EF whole in 256-byte READ BINARYs, up to [`MAX_FILE_LEN`].
fn read_file(
    t: &mut dyn Transport,
    file: &'static str,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<Vec<u8>, LicenceError> {
    let mut out = Vec::new();
    loop {
        let offset = out.len();
        if offset >= MAX_FILE_LEN {
            return Err(LicenceError::FileTooLarge { file });
        }
        let [p1, p2] = u16::try_from(offset).map_err(|_| LicenceError::FileTooLarge { file })?.to_be_bytes();
        let cmd = Command { cla: 0, ins: Ins::READ_BINARY, p1, p2, data: &[], le: Some(256), extended: false };
        let r = transmit(t, cmd)?;
        match r.sw {
            StatusWord::SUCCESS if r.data.len() > 256 => return Err(LicenceError::Card { step: file, sw: r.sw }),
            StatusWord::SUCCESS => {
                let last = r.data.len() < 256;
                out.extend_from_slice(&r.data);
                progress(Progress { step: file, done: out.len(), total: None });
                if last {
                    return Ok(out);
                }
            }
            StatusWord::WRONG_OFFSET if offset > 0 => return Ok(out),
            StatusWord::SECURITY_STATUS_NOT_SATISFIED => return Err(LicenceError::AccessDenied { file }),
            sw => return Err(LicenceError::Card { step: file, sw }),
        }
    }
}

fn verify_pin(t: &mut dyn Transport, which: PinId, pin: &[u8]) -> Result<(), LicenceError> {
    let p2 = match which {
        PinId::Pin1 => 0x81,
        PinId::Pin2 => 0x82,
    };
    // Case 1 first: the tries left, none spent.
    let probe = Command { cla: 0, ins: Ins::VERIFY, p1: 0, p2, data: &[], le: None, extended: false };
    let r = transmit(t, probe)?;
    match r.sw.remaining_tries() {
        Some(0) => return Err(LicenceError::Blocked { which }),
        Some(_) => {}
        None if r.sw == StatusWord::PIN_BLOCKED => return Err(LicenceError::Blocked { which }),
        None => return Err(LicenceError::Card { step: "VERIFY (tries)", sw: r.sw }),
    }
    if pin.len() != 4 || !pin.iter().all(|b| b.is_ascii_digit() || *b == b'*') {
        return Err(LicenceError::PinFormat { which });
    }
    let cmd = Command { cla: 0, ins: Ins::VERIFY, p1: 0, p2, data: pin, le: None, extended: false };
    let r = transmit(t, cmd)?;
    match (r.sw, r.sw.remaining_tries()) {
        (StatusWord::SUCCESS, _) => Ok(()),
        (StatusWord::PIN_BLOCKED, _) | (_, Some(0)) => Err(LicenceError::Blocked { which }),
        (_, Some(n)) => Err(LicenceError::WrongPin { which, tries_left: n }),
        (sw, None) => Err(LicenceError::Card { step: "VERIFY", sw }),
    }
}

/// Reads a licence through `t`: common data, PIN-set flag, VERIFY of both PINs (`****` for
/// both when the flag says the holder set none, whatever `pins` says), DF1's files and DF2's
/// photo, parsed. DF1/EF01 and DF1/EF02 must be the sizes the spec fixes (880 and 82 bytes,
/// [`super::verify::SIGNED_SIZES`]), else [`LicenceError::SignedFileSize`]. Verify the result
/// with [`super::verify()`].
pub fn read_licence(
    t: &mut dyn Transport,
    pins: &LicencePins,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<LicenceData, LicenceError> {
    select_mf(t)?;
    select_ef(t, FID_COMMON, "SELECT MF/EF01")?;
    let common = CommonData::parse(&read_file(t, "MF/EF01", progress)?)?;
    select_ef(t, FID_PIN_FLAG, "SELECT MF/EF02")?;
    let pins_set = parse_pin_flag(&read_file(t, "MF/EF02", progress)?)?;

    progress(Progress { step: "PIN", done: 0, total: Some(2) });
    let (p1, p2): (&[u8], &[u8]) =
        if pins_set { (pins.pin1.as_bytes(), pins.pin2.as_bytes()) } else { (&DEFAULT_PIN, &DEFAULT_PIN) };
    verify_pin(t, PinId::Pin1, p1)?;
    verify_pin(t, PinId::Pin2, p2)?;
    progress(Progress { step: "PIN", done: 2, total: Some(2) });

    select_df(t, &DF1_AID, "SELECT DF1")?;
    const NAMES: [&str; 7] = ["DF1/EF01", "DF1/EF02", "DF1/EF03", "DF1/EF04", "DF1/EF05", "DF1/EF06", "DF1/EF07"];
    let mut df1: Vec<Vec<u8>> = Vec::with_capacity(7);
    for (i, name) in NAMES.iter().enumerate() {
        select_ef(t, FID_01 + i as u16, name)?;
        let file = read_file(t, name, progress)?;
        check_signed_size(name, &file)?;
        df1.push(file);
    }
    select_df(t, &DF2_AID, "SELECT DF2")?;
    select_ef(t, FID_01, "SELECT DF2/EF01")?;
    let photo_file = read_file(t, "DF2/EF01", progress)?;

    let [ef01, ef02, ef03, ef04, ef05, ef06, ef07]: [Vec<u8>; 7] =
        df1.try_into().map_err(|_| LicenceError::Card { step: "DF1", sw: StatusWord(0) })?;
    Ok(LicenceData {
        common,
        pins_set,
        entries: Entries::parse(&ef01)?,
        honseki: parse_honseki(&ef02)?,
        gaiji: parse_gaiji("DF1/EF03", &ef03)?,
        changes: parse_changes("DF1/EF04", &ef04)?,
        change_gaiji: parse_gaiji("DF1/EF05", &ef05)?,
        honseki_changes: parse_changes("DF1/EF06", &ef06)?,
        photo: parse_photo(&photo_file)?,
        signature: SignatureRecord::parse(&ef07)?,
        signed: SignedFiles { entries: ef01, honseki: ef02, photo: photo_file },
    })
}
