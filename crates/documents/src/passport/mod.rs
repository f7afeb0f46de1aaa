//! The passport (ICAO Doc 9303 LDS1): the emulated chip, the reader and the verifier
//! (shared/spec/40-id-documents.md §3).
//!
//! | 9303 | module |
//! |---|---|
//! | part 11 §4.3 BAC | [`bac`] |
//! | part 11 §4.4 PACE | [`pace`] (h-pace) |
//! | part 11 §9.8 secure messaging | [`sm`] |
//! | part 10 §4 LDS: EF.COM, DG1, DG2, DG14, DG15 | [`lds`] |
//! | part 10 §4.6.2 EF.SOD | [`sod`] |
//! | part 12 CSCA / DSC | [`issuer`] |
//! | the chip | [`emulator`] |
//! | the inspection system | [`reader`] |
//! | part 11 §5 passive, §6 active authentication | [`verify`] |
//!
//! What the signature covers: every DG1 field (the MRZ) and the DG2 face. A Japanese passport
//! issued since 2020-02-04 carries **no address**: it proves name and birth date, not residence.

pub mod bac;
pub mod emulator;
pub mod issuer;
pub mod lds;
pub mod pace;
pub mod reader;
pub mod sm;
pub mod sod;
pub mod verify;

use hanko_card::StatusWord;
use rand_core::OsRng;

pub use emulator::{issue, sample_holder, AccessControl, Fid, Holder, PassportChip};
pub use issuer::PassportIssuer;
pub use reader::{AccessUsed, PassportFiles, PassportReader, Password};

use crate::{AccessCode, ChipCheck, DocumentKind, Field, IssuerCheck, Photo, PhotoFormat, Report, Trust};

/// A passport that does not open, read or verify.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PassportError {
    /// BAC or PACE refused the access code.
    #[error("passport: wrong MRZ or CAN")]
    WrongAccessCode,
    /// The chip is PACE-only (BAC answered this) and no PACE engine is available.
    #[error("passport: the chip is PACE-only (BAC answered {0}) and PACE is not available here")]
    PaceOnly(StatusWord),
    /// The chip offers PACE but this build has no PACE engine.
    #[error("passport: PACE is not available in this build")]
    PaceUnavailable,
    /// A CAN was given for a chip without PACE.
    #[error("passport: a CAN opens only PACE chips; give the MRZ")]
    CanNeedsPace,
    /// PACE failed.
    #[error("passport: PACE failed: {0}")]
    Pace(String),
    /// BAC failed.
    #[error(transparent)]
    Bac(#[from] bac::BacError),
    /// Secure messaging failed (and the session ended).
    #[error(transparent)]
    Sm(#[from] sm::SmError),
    /// The chip answered a command with an error.
    #[error("passport: {what} answered {sw}")]
    Status {
        /// Which command.
        what: &'static str,
        /// The status word.
        sw: StatusWord,
    },
    /// A file is bigger than the reader's budget.
    #[error("passport: a file of {len} bytes exceeds the {max}-byte budget")]
    FileTooLarge {
        /// Its declared length.
        len: usize,
        /// The budget.
        max: usize,
    },
    /// An LDS file does not parse.
    #[error(transparent)]
    Lds(#[from] lds::LdsError),
    /// EF.SOD's CMS does not parse or its signature does not verify.
    #[error("passport: EF.SOD: {0}")]
    Sod(hanko_pki::cms::CmsError),
    /// EF.SOD's content is not an LDS security object, or has no signed attributes.
    #[error("passport: EF.SOD content type {0} is not ldsSecurityObject")]
    SodContentType(der::asn1::ObjectIdentifier),
    /// The LDS security object's hash algorithm is not supported.
    #[error("passport: DG hash algorithm {0} not supported")]
    UnsupportedHash(der::asn1::ObjectIdentifier),
    /// The DSC's signature algorithm is not supported.
    #[error("passport: DSC signature algorithm {0} not supported")]
    UnsupportedDscAlgorithm(der::asn1::ObjectIdentifier),
    /// No trusted CSCA issued the DSC.
    #[error("passport: the DSC (issuer {dsc_issuer}) does not chain to a trusted CSCA")]
    ChainBroken {
        /// The DSC's issuer name.
        dsc_issuer: String,
    },
    /// The DSC or CSCA was not valid when the SOD was signed.
    #[error("passport: the {what} was not valid at the signing time {at} (valid {not_before} … {not_after})")]
    NotValidAtSigning {
        /// "DSC" or "CSCA".
        what: &'static str,
        /// The signing time.
        at: time::OffsetDateTime,
        /// notBefore.
        not_before: time::OffsetDateTime,
        /// notAfter.
        not_after: time::OffsetDateTime,
    },
    /// The CSCA's, DSC's and DG1's countries differ.
    #[error("passport: issuing country mismatch (CSCA {csca}, DSC {dsc}, DG1 {issuing_state})")]
    CountryMismatch {
        /// CSCA country (alpha-2).
        csca: String,
        /// DSC country (alpha-2).
        dsc: String,
        /// DG1 issuing state (alpha-3).
        issuing_state: String,
    },
    /// A data group's hash differs from the one the SOD signs.
    #[error("passport: DG{dg} does not match its hash in EF.SOD (tampered)")]
    HashMismatch {
        /// The data group.
        dg: u8,
    },
    /// EF.SOD lists a data group this reader checks (DG1, DG2, DG14, DG15) that was not read: EF.COM
    /// (unsigned) left it out, or the chip refused it.
    #[error("passport: EF.SOD lists DG{dg} but it was not read (EF.COM left it out?)")]
    NotRead {
        /// The data group.
        dg: u8,
    },
    /// A data group read is not listed in the SOD (or DG1 is missing).
    #[error("passport: DG{dg} is not covered by EF.SOD")]
    NotInSod {
        /// The data group.
        dg: u8,
    },
    /// DG1's MRZ differs from the MRZ typed at the counter.
    #[error("passport: DG1's {field} differs from the MRZ typed")]
    Dg1Mismatch {
        /// The differing field.
        field: &'static str,
    },
    /// The chip supports PACE (DG14, signed) but EF.CardAccess hid it or the reader did not use it.
    #[error("passport: PACE downgrade: {0}")]
    PaceDowngrade(&'static str),
    /// Active authentication's signature does not verify: the chip is not the original.
    #[error("passport: active authentication failed (the chip did not prove the DG15 key)")]
    AaFailed,
    /// Active authentication in a form this verifier does not support.
    #[error("passport: active authentication: {0}")]
    AaUnsupported(&'static str),
    /// The typed access code is malformed.
    #[error("passport: malformed MRZ access code ({0})")]
    BadAccessCode(&'static str),
    /// A holder's data cannot be issued.
    #[error("passport: cannot issue: {0}")]
    BadHolder(&'static str),
    /// The issuer's keys or certificates failed.
    #[error("passport issuer: {0}")]
    Issuer(String),
    /// DER encoding or decoding failed.
    #[error("passport: DER: {0}")]
    Der(#[from] der::Error),
    /// The reader failed.
    #[error(transparent)]
    Transport(#[from] hanko_card::TransportError),
}

fn date(yymmdd: &str, future: bool, now: time::OffsetDateTime) -> String {
    let (yy, rest) = yymmdd.split_at(2.min(yymmdd.len()));
    let yy: i32 = yy.parse().unwrap_or(0);
    let this = now.year() % 100;
    // Birth dates are in the past; expiry dates within the next 10 years or past.
    let century = if future {
        if yy <= this + 20 {
            2000
        } else {
            1900
        }
    } else if yy <= this {
        2000
    } else {
        1900
    };
    let (mm, dd) = rest.split_at(2.min(rest.len()));
    format!("{:04}-{mm}-{dd}", century + yy)
}

/// Reads and verifies this document at the counter (see [`crate::check()`]): BAC or PACE with
/// the MRZ (or PACE with the CAN), EF.COM, DG1, DG2, DG14, DG15, EF.SOD; passive authentication
/// against `trust.cscas`; DG1 against the MRZ typed; active authentication when DG15 is there.
pub fn check(
    t: &mut dyn hanko_card::Transport,
    code: &AccessCode,
    trust: &crate::TrustAnchors,
    now: time::OffsetDateTime,
    progress: &mut dyn FnMut(crate::Progress<'_>),
) -> Result<Report, crate::CheckError> {
    let info;
    let can;
    let password = match code {
        AccessCode::Mrz { document_number, birth, expiry } => {
            info = lds::mrz_information(document_number, birth, expiry).ok_or(PassportError::BadAccessCode("MRZ"))?;
            Password::Mrz(&info)
        }
        AccessCode::Can(c) => {
            can = c.clone();
            Password::Can(&can)
        }
        _ => return Err(crate::CheckError::WrongKindOfCode("a passport opens with its MRZ or CAN")),
    };
    progress(crate::Progress { step: "access control", done: 0, total: None });
    let mut reader = match PassportReader::open(t, password, &mut OsRng) {
        Ok(r) => r,
        Err(PassportError::WrongAccessCode) => {
            return Err(crate::CheckError::WrongAccessCode { which: None, tries_left: None })
        }
        Err(e) => return Err(e.into()),
    };
    let access = reader.access();
    let files = reader.read_all(progress)?;
    progress(crate::Progress { step: "passive authentication", done: 0, total: None });
    let pa = verify::passive_authentication(&files, &trust.cscas, now)?;
    verify::check_pace_downgrade(&files, access)?;
    if let AccessCode::Mrz { document_number, birth, expiry } = code {
        verify::compare_mrz(&pa.mrz, document_number, birth, expiry)?;
    }
    let chip = match files.group(15) {
        Some(dg15) => {
            progress(crate::Progress { step: "active authentication", done: 0, total: None });
            let mut challenge = [0u8; 8];
            rand_core::RngCore::fill_bytes(&mut OsRng, &mut challenge);
            let signature = reader.internal_authenticate(&challenge)?;
            let method = verify::verify_active_authentication(dg15, files.group(14), &challenge, &signature)?;
            ChipCheck::Proven { method: method.into() }
        }
        None => ChipCheck::NotProven { why: "no DG15: the passport does not support active authentication".into() },
    };
    let m = &pa.mrz;
    let f = |key, label, value: String| Field { key, label, value, trust: Trust::Signed };
    let mut fields = vec![
        f("surname", "姓", m.surname.clone()),
        f("given_names", "名", m.given_names.clone()),
        f("document_number", "旅券番号", m.document_number.clone()),
        f("issuing_state", "発行国", m.issuing_state.clone()),
        f("nationality", "国籍", m.nationality.clone()),
        f("birth_date", "生年月日", date(&m.birth, false, now)),
        f("sex", "性別", m.sex.to_string()),
        f("expiry_date", "有効期間満了日", date(&m.expiry, true, now)),
    ];
    fields.push(Field {
        key: "address_note",
        label: "住所",
        value: "記載なし".into(),
        trust: Trust::Unsigned {
            why: "a Japanese passport (since 2020-02-04) carries no address: it proves name and birth date, not residence"
                .into(),
        },
    });
    let photo = match files.group(2).map(lds::parse_dg2) {
        Some(Ok(face)) => Some(Photo {
            format: match face.image_type {
                lds::FaceImageType::Jpeg => PhotoFormat::Jpeg,
                lds::FaceImageType::Jpeg2000 => PhotoFormat::Jpeg2000,
            },
            bytes: face.image,
            trust: Trust::Signed,
        }),
        Some(Err(e)) => return Err(PassportError::Lds(e).into()),
        None => None,
    };
    let groups: Vec<String> = pa.groups.iter().map(|g| format!("DG{g}")).collect();
    let access = match access {
        AccessUsed::Bac => "BAC (3DES secure messaging)",
        AccessUsed::Pace => "PACE (secure messaging)",
        AccessUsed::None => "no access control (plain reads)",
        #[allow(unreachable_patterns)]
        _ => "other",
    };
    Ok(Report {
        kind: DocumentKind::Passport,
        fields,
        photo,
        issuer: IssuerCheck {
            method: format!(
                "passive authentication: EF.SOD (CMS, {}) signed by the DSC, chained to CSCA {}; DSC and CSCA valid at {} ({}); \
                 issuing state {} = CSCA country; DG1 = MRZ typed; read via {access}",
                groups.join(", "),
                pa.csca_subject,
                pa.checked_at.date(),
                if pa.signing_time_in_sod { "SOD signing time" } else { "no signing time in the SOD: checked now" },
                pa.mrz.issuing_state,
            ),
            signer: pa.dsc_subject,
        },
        chip,
    })
}
