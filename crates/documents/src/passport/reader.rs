//! The terminal (inspection system) side (ICAO 9303-11 §4, 9303-10 §3): choose PACE (from
//! EF.CardAccess) or BAC, or read in plain when the chip has no access control; read EF.COM, the
//! data groups and EF.SOD over secure messaging with `B0` (offsets up to 32767) and `B1` beyond;
//! and run active authentication's INTERNAL AUTHENTICATE.

use hanko_card::{Command, Ins, Response, StatusWord, Transport};
use rand_core::RngCore;

use super::bac::{self, BacError, BacKeys};
use super::emulator::{Fid, LDS1_AID};
use super::lds;
use super::sm::SecureChannel;
use super::PassportError;
use crate::Progress;

/// Bytes per READ BINARY: 0xDF keeps a protected response within 256 bytes (what most readers
/// and chips use).
pub const CHUNK: usize = 0xDF;
/// Largest file the reader accepts (a budget on what a hostile chip makes it read).
pub const MAX_FILE_LEN: usize = lds::MAX_DG_LEN;

/// How the reader got in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AccessUsed {
    /// BAC, 3DES secure messaging.
    Bac,
    /// PACE, secure messaging as PACE agreed.
    Pace,
    /// None: the chip reads in plain (an early passport).
    None,
}

/// The files read from a passport, as stored on the chip.
#[derive(Clone, Default)]
pub struct PassportFiles {
    /// EF.CardAccess, when present.
    pub card_access: Option<Vec<u8>>,
    /// EF.COM.
    pub com: Vec<u8>,
    /// DG1, DG2, DG14, DG15 … (number, bytes) as listed in EF.COM and read.
    pub groups: Vec<(u8, Vec<u8>)>,
    /// EF.SOD.
    pub sod: Vec<u8>,
}

impl core::fmt::Debug for PassportFiles {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let groups: Vec<u8> = self.groups.iter().map(|(n, _)| *n).collect();
        write!(f, "PassportFiles(DGs {groups:?}, [elided])")
    }
}

impl PassportFiles {
    /// The bytes of data group `n`, if read.
    pub fn group(&self, n: u8) -> Option<&[u8]> {
        self.groups.iter().find(|(g, _)| *g == n).map(|(_, b)| b.as_slice())
    }
}

/// An open connection to a passport's LDS1 application.
pub struct PassportReader<'t> {
    t: &'t mut dyn Transport,
    sm: Option<SecureChannel>,
    access: AccessUsed,
    card_access: Option<Vec<u8>>,
}

impl core::fmt::Debug for PassportReader<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "PassportReader({:?})", self.access)
    }
}

/// The password the reader opens the chip with.
#[derive(Clone, Copy)]
pub enum Password<'a> {
    /// MRZ information (document number, birth, expiry with check digits).
    Mrz(&'a str),
    /// Card access number (PACE only).
    Can(&'a str),
}

fn cmd<'a>(ins: Ins, p1: u8, p2: u8, data: &'a [u8], le: Option<usize>) -> Command<'a> {
    Command { cla: 0, ins, p1, p2, data, le, extended: le.is_some_and(|l| l > 256) }
}

impl<'t> PassportReader<'t> {
    /// Opens the chip: reads EF.CardAccess; PACE (`pace.rs`, over its first PACEInfo we run) when it
    /// announces PACE; else selects LDS1 and tries a plain SELECT of EF.COM (no access control)
    /// and then BAC (MRZ only).
    pub fn open(
        t: &'t mut dyn Transport,
        password: Password<'_>,
        rng: &mut dyn RngCore,
    ) -> Result<PassportReader<'t>, PassportError> {
        use super::pace::{establish, parse_card_access, PaceError, PacePassword};
        let mut r = PassportReader { t, sm: None, access: AccessUsed::None, card_access: None };
        // EF.CardAccess sits in the MF: select it before the application.
        if r.select_ef(Fid::CARD_ACCESS).is_ok() {
            let bytes = r.read_current("EF.CardAccess", &mut |_| {})?;
            r.card_access = Some(bytes);
        }
        let pace_offered = match &r.card_access {
            Some(b) => lds::parse_security_infos("EF.CardAccess", b)?.iter().any(lds::SecurityInfo::is_pace),
            None => false,
        };
        if let (true, Some(ca)) = (pace_offered, &r.card_access) {
            let infos = parse_card_access(ca).map_err(|e| PassportError::Pace(e.to_string()))?;
            // The first PACEInfo this reader runs (a chip may list variants before the one it shares).
            let info = infos
                .iter()
                .find(|i| i.suite().is_ok())
                .ok_or_else(|| PassportError::Pace("EF.CardAccess offers no PACE variant this reader runs".into()))?;
            let pw = match password {
                Password::Mrz(m) => PacePassword::Mrz(m.to_owned()),
                Password::Can(c) => PacePassword::Can(c.to_owned()),
            };
            let keys = establish(&mut *r.t, &pw, info, rng).map_err(|e| match e {
                PaceError::WrongPassword => PassportError::WrongAccessCode,
                other => PassportError::Pace(other.to_string()),
            })?;
            r.sm = Some(SecureChannel::new(keys));
            r.access = AccessUsed::Pace;
            r.select_application()?;
            return Ok(r);
        }
        r.select_application()?;
        if r.select_ef(Fid::COM).is_ok() {
            return Ok(r);
        }
        let Password::Mrz(info) = password else {
            return Err(if pace_offered { PassportError::PaceUnavailable } else { PassportError::CanNeedsPace });
        };
        match bac::establish(&mut *r.t, &BacKeys::from_mrz_information(info), rng) {
            Ok(keys) => {
                r.sm = Some(SecureChannel::new(keys));
                r.access = AccessUsed::Bac;
                Ok(r)
            }
            Err(BacError::Refused(_)) => Err(PassportError::WrongAccessCode),
            Err(BacError::NotSupported(sw)) if pace_offered => Err(PassportError::PaceOnly(sw)),
            Err(e) => Err(PassportError::Bac(e)),
        }
    }

    /// How the reader got in.
    pub fn access(&self) -> AccessUsed {
        self.access
    }

    /// EF.CardAccess as read while opening.
    pub fn card_access(&self) -> Option<&[u8]> {
        self.card_access.as_deref()
    }

    /// Sends one command, through secure messaging when a session is open.
    pub fn send(&mut self, c: &Command<'_>) -> Result<Response, PassportError> {
        match self.sm.as_mut() {
            None => {
                let raw = self.t.transmit(&c.encode())?;
                Response::parse(&raw).map_err(|_| PassportError::Status { what: "response", sw: StatusWord(0) })
            }
            Some(sm) => {
                let wire = sm.protect(c)?;
                let raw = self.t.transmit(&wire)?;
                Ok(sm.unprotect_response(&raw)?)
            }
        }
    }

    fn select_application(&mut self) -> Result<(), PassportError> {
        let r = self.send(&cmd(Ins::SELECT, 0x04, 0x0C, &LDS1_AID, None))?;
        if !r.sw.is_success() {
            return Err(PassportError::Status { what: "SELECT LDS1", sw: r.sw });
        }
        Ok(())
    }

    /// SELECT of an EF by FID (`00 A4 02 0C`).
    pub fn select_ef(&mut self, fid: Fid) -> Result<(), PassportError> {
        let f = fid.0.to_be_bytes();
        let r = self.send(&cmd(Ins::SELECT, 0x02, 0x0C, &f, None))?;
        if !r.sw.is_success() {
            return Err(PassportError::Status { what: "SELECT EF", sw: r.sw });
        }
        Ok(())
    }

    fn read_at(&mut self, offset: usize, len: usize) -> Result<Vec<u8>, PassportError> {
        let r = if offset <= 0x7FFF {
            self.send(&cmd(Ins::READ_BINARY, (offset >> 8) as u8, offset as u8, &[], Some(len)))?
        } else {
            let o = (offset as u32).to_be_bytes();
            let skip = o.iter().take_while(|&&b| b == 0).count().min(3);
            let data = crate::tlv::encode(0x54, &o[skip..]);
            let r = self.send(&cmd(Ins(0xB1), 0, 0, &data, Some(len + 4)))?;
            if r.sw.is_success() {
                let (t, _) = crate::tlv::parse_one(&r.data)
                    .map_err(|_| PassportError::Status { what: "READ BINARY B1 (DO53)", sw: r.sw })?;
                Response { data: t.value.to_vec(), sw: r.sw }
            } else {
                r
            }
        };
        if !r.sw.is_success() || r.data.is_empty() {
            return Err(PassportError::Status { what: "READ BINARY", sw: r.sw });
        }
        Ok(r.data)
    }

    /// Reads the whole currently selected EF: its TLV header first, then chunks, reporting
    /// progress under `step`.
    pub fn read_current(
        &mut self,
        step: &str,
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<Vec<u8>, PassportError> {
        let mut out = self.read_at(0, 8.min(CHUNK))?;
        let total = tlv_total_len(&out).ok_or(PassportError::Lds(lds::LdsError::Invalid {
            file: "EF",
            why: "does not start with a BER-TLV header",
        }))?;
        if total > MAX_FILE_LEN {
            return Err(PassportError::FileTooLarge { len: total, max: MAX_FILE_LEN });
        }
        out.truncate(total);
        progress(Progress { step, done: out.len(), total: Some(total) });
        while out.len() < total {
            let n = CHUNK.min(total - out.len());
            let chunk = self.read_at(out.len(), n)?;
            out.extend_from_slice(&chunk[..chunk.len().min(total - out.len())]);
            progress(Progress { step, done: out.len(), total: Some(total) });
        }
        Ok(out)
    }

    /// Selects and reads a whole EF.
    pub fn read_file(
        &mut self,
        fid: Fid,
        step: &str,
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<Vec<u8>, PassportError> {
        self.select_ef(fid)?;
        self.read_current(step, progress)
    }

    /// Reads EF.COM, every data group it lists that this reader knows (DG1, DG2, DG14, DG15;
    /// others are skipped) and EF.SOD. Passive authentication then requires every one of those
    /// the SOD lists to have been read (EF.COM is not signed).
    pub fn read_all(&mut self, progress: &mut dyn FnMut(Progress<'_>)) -> Result<PassportFiles, PassportError> {
        let com = self.read_file(Fid::COM, "EF.COM", progress)?;
        let tags = lds::parse_com(&com)?;
        let mut groups = Vec::new();
        for (tag, n, step) in [
            (lds::TAG_DG1, 1u8, "DG1 (MRZ)"),
            (lds::TAG_DG2, 2, "DG2 (face)"),
            (lds::TAG_DG14, 14, "DG14 (security infos)"),
            (lds::TAG_DG15, 15, "DG15 (AA public key)"),
        ] {
            if tags.contains(&(tag as u8)) {
                groups.push((n, self.read_file(Fid::dg(n), step, progress)?));
            }
        }
        let sod = self.read_file(Fid::SOD, "EF.SOD", progress)?;
        Ok(PassportFiles { card_access: self.card_access.clone(), com, groups, sod })
    }

    /// INTERNAL AUTHENTICATE with `challenge` (active authentication): the chip's signature.
    pub fn internal_authenticate(&mut self, challenge: &[u8; 8]) -> Result<Vec<u8>, PassportError> {
        let r = self.send(&cmd(Ins::INTERNAL_AUTHENTICATE, 0, 0, challenge, Some(256)))?;
        if !r.sw.is_success() {
            return Err(PassportError::Status { what: "INTERNAL AUTHENTICATE", sw: r.sw });
        }
        Ok(r.data)
    }
}

/// The length of the TLV at the start of `head` (tag, length and value), if its header is there.
fn tlv_total_len(head: &[u8]) -> Option<usize> {
    let mut i = 1;
    if head.first()? & 0x1F == 0x1F {
        while head.get(i)? & 0x80 != 0 {
            i += 1;
        }
        i += 1;
    }
    let form = *head.get(i)?;
    i += 1;
    let len = match form {
        0..=0x7F => usize::from(form),
        0x81..=0x83 => {
            let n = usize::from(form & 0x7F);
            let b = head.get(i..i + n)?;
            i += n;
            b.iter().fold(0usize, |a, &x| (a << 8) | usize::from(x))
        }
        _ => return None,
    };
    i.checked_add(len)
}
