//! The IC driver's licence (IC運転免許証): the emulated chip, the reader and the verifier
//! (shared/spec/40-id-documents.md §1, after the National Police Agency's 「運転免許証及び運転免許証
//! 作成システム等仕様書」 v008–v010).
//!
//! | part | module |
//! |---|---|
//! | files, TLVs, JIS X 0208 text, era dates | [`files`] |
//! | the chip (MF/DF1/DF2, two PINs, 3 tries) | [`emulator`] |
//! | the reader | [`reader`] |
//! | the EF07 signature and its check | [`verify`](mod@verify) |
//! | the sandbox police key and issuing | [`issuer`] |
//!
//! What the signature vouches for: DF1/EF01 (every entry except 本籍), DF1/EF02 (本籍) and
//! DF2/EF01 (the photo). The changes written after issue at a police station (DF1/EF04, EF06)
//! are **not** signed and are reported as [`crate::Trust::Unsigned`]. The licence has no chip
//! authentication in the spec: a copy of the signed files onto another chip passes, so
//! [`crate::ChipCheck::NotProven`] is reported. The signer shown is the trusted police key that
//! verified EF07's `B1` (chosen by SKI, by its configured [`crate::PoliceKey::name`]); EF07's
//! own names (`B3`/`B4`) are not signed and are shown as unsigned fields. DF1/EF01 and DF1/EF02
//! must be exactly 880 and 82 bytes, so that no byte moves between the signed files.
//!
//! Marks in the docs: \[V\] primary spec or working reader code, \[S\] secondary, \[I\] inference.

pub mod emulator;
pub mod files;
pub mod issuer;
pub mod reader;
pub mod verify;

pub use emulator::LicenceChip;
pub use files::{ChangeEntry, CommonData, CryptoFunction, Entries, EraDate, FileError, JisPiece, JisText};
pub use issuer::{issue, sample_holder, LicenceHolder, PoliceIssuer, SANDBOX_SIGNER_NAME};
pub use reader::{read_licence, LicenceData, LicencePins};
pub use verify::{SignatureRecord, Verified};

use crate::{
    AccessCode, CheckError, ChipCheck, DocumentKind, Field, IssuerCheck, Photo, PhotoFormat, Progress, Report, Trust,
    TrustAnchors,
};

/// Which of the two PINs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinId {
    /// 暗証番号1 (opens DF1/EF01).
    Pin1,
    /// 暗証番号2 (with PIN1, opens 本籍 and the photo).
    Pin2,
}

impl PinId {
    /// The PIN's name on the licence: `暗証番号1`, `暗証番号2`.
    pub fn label_ja(self) -> &'static str {
        match self {
            PinId::Pin1 => "暗証番号1",
            PinId::Pin2 => "暗証番号2",
        }
    }
}

impl core::fmt::Display for PinId {
    /// `暗証番号1 (PIN1)`, `暗証番号2 (PIN2)`.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            PinId::Pin1 => "暗証番号1 (PIN1)",
            PinId::Pin2 => "暗証番号2 (PIN2)",
        })
    }
}

/// A licence that does not read or verify.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LicenceError {
    /// The reader or card went away.
    #[error(transparent)]
    Transport(#[from] hanko_card::TransportError),
    /// A PIN was wrong: which one, and the tries it has left.
    #[error("driver's licence: wrong {which} ({tries_left} tries left)")]
    WrongPin {
        /// Which.
        which: PinId,
        /// Tries left.
        tries_left: u8,
    },
    /// A PIN is blocked after 3 wrong tries: only a police station unblocks it.
    #[error("driver's licence: {which} is blocked (3 wrong tries; only a police station unblocks it")]
    Blocked {
        /// Which.
        which: PinId,
    },
    /// A PIN given is not 4 digits.
    #[error("driver's licence: {which} must be 4 digits")]
    PinFormat {
        /// Which.
        which: PinId,
    },
    /// The chip refused to read a file (`69 82`).
    #[error("driver's licence: {file} refused (PIN not verified)")]
    AccessDenied {
        /// Which file.
        file: &'static str,
    },
    /// The chip answered a step with an unexpected status.
    #[error("driver's licence: {step} answered {sw}")]
    Card {
        /// The step.
        step: &'static str,
        /// The status word.
        sw: hanko_card::StatusWord,
    },
    /// A file is longer than the reader's budget.
    #[error("driver's licence: {file} longer than {} bytes", files::MAX_FILE_LEN)]
    FileTooLarge {
        /// Which file.
        file: &'static str,
    },
    /// A signed file (DF1/EF01, DF1/EF02) is not the size the spec fixes: the signature covers
    /// the files concatenated, so a file of another size could carry bytes of its neighbour
    /// (a hostile chip moving the photo into 本籍) under the same signature.
    #[error("driver's licence: {file} is {len} bytes, the spec fixes {expected}: refused (the signature covers the files concatenated, so a file of another size could carry its neighbour's bytes)")]
    SignedFileSize {
        /// Which file.
        file: &'static str,
        /// Its size as read.
        len: usize,
        /// The size the spec gives.
        expected: usize,
    },
    /// A file does not parse.
    #[error("driver's licence: {0}")]
    File(#[from] FileError),
    /// MF/EF01's crypto function id names an algorithm this verifier does not know.
    #[error("driver's licence: unknown crypto function id {0:#04x} in MF/EF01 tag 46")]
    UnknownCryptoFunction(u8),
    /// No trusted police key has EF07's subject key identifier.
    #[error("driver's licence: no trusted police signing key has key identifier {ski}")]
    UnknownSigningKey {
        /// The SKI from EF07, hex.
        ski: String,
    },
    /// A trusted police key does not parse.
    #[error("driver's licence: trusted police key unusable: {0}")]
    BadTrustAnchor(String),
    /// The signature fails and these signed files differ from what was signed.
    #[error("driver's licence: signature does not verify: {} changed after signing", .files.join(", "))]
    Tampered {
        /// The files (`DF1/EF01`, `DF1/EF02`, `DF2/EF01`).
        files: Vec<&'static str>,
    },
    /// The signature fails though the files match EF07's record of them (the signature value
    /// or the record itself was changed, or another key signed).
    #[error("driver's licence: EF07 signature does not verify under the police key {ski}")]
    BadSignature {
        /// The key identifier, hex.
        ski: String,
    },
    /// Issuing failed (sandbox side).
    #[error("driver's licence: issuing: {0}")]
    Issue(String),
}

/// Verifies a licence read by [`read_licence`]: the EF07 signature over DF1/EF01 ‖ DF1/EF02 ‖
/// DF2/EF01 with the police key that `trust` holds under EF07's SKI, by the algorithm the
/// crypto function id names.
pub fn verify(data: &LicenceData, trust: &TrustAnchors) -> Result<Verified, LicenceError> {
    let s = &data.signed;
    verify::verify_signature(
        data.common.crypto,
        &data.signature,
        [&s.entries, &s.honseki, &s.photo],
        &trust.police_keys,
    )
}

fn signed(key: &'static str, label: &'static str, value: String) -> Field {
    Field { key, label, value, trust: Trust::Signed }
}

fn day(d: time::Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), d.month() as u8, d.day())
}

/// The report of a verified licence: EF01, EF02 and the photo as signed; the changes, EF07's
/// `B3`/`B4` names and the validity (computed with the counter's clock) as not. The signer shown
/// is the trusted police key that verified the signature, by its configured name.
pub fn report(data: &LicenceData, verified: &Verified, now: time::OffsetDateTime) -> Report {
    let e = &data.entries;
    let mut fields = vec![signed("name", "氏名", e.name.to_string())];
    if let Some(k) = &e.kana {
        fields.push(signed("kana", "呼び名", k.to_string()));
    }
    if let Some(a) = &e.alias {
        fields.push(signed("alias", "通称名", a.to_string()));
    }
    if let Some(u) = &e.unified_name {
        fields.push(signed("unified_name", "統一氏名", u.to_string()));
    }
    fields.push(signed("birth_date", "生年月日", day(e.birth)));
    fields.push(signed("address", "住所", e.address.to_string()));
    fields.push(signed("honseki", "本籍", data.honseki.to_string()));
    fields.push(signed("issue_date", "交付年月日", day(e.issued)));
    fields.push(signed("expiry", "有効期間の末日", day(e.expiry)));
    let validity = if now.date() > e.expiry { format!("expired since {}", day(e.expiry)) } else { "valid".to_owned() };
    fields.push(Field {
        key: "validity",
        label: "有効性",
        value: validity,
        trust: Trust::Unsigned {
            why: format!(
                "computed by this counter from the signed expiry and its own clock ({}), which no signature covers",
                day(now.date())
            ),
        },
    });
    fields.push(signed("colour", "免許証の色区分", e.colour.to_string()));
    const COND: [(&str, &str); 4] = [
        ("condition_1", "免許の条件1"),
        ("condition_2", "免許の条件2"),
        ("condition_3", "免許の条件3"),
        ("condition_4", "免許の条件4"),
    ];
    for ((key, label), c) in COND.iter().zip(&e.conditions) {
        if let Some(c) = c {
            fields.push(signed(key, label, c.to_string()));
        }
    }
    fields.push(signed("licence_number", "免許証の番号", e.number.clone()));
    fields.push(signed("reference_number", "照会番号", e.reference.clone()));
    fields.push(signed("commission", "公安委員会", e.commission.to_string()));
    for ((_, key, label), d) in files::CLASSES.iter().zip(e.classes) {
        if let Some(d) = d.date() {
            fields.push(signed(key, label, day(d)));
        }
    }
    if [&e.name, &e.address, &data.honseki].iter().any(|t| t.has_gaiji()) {
        fields.push(signed(
            "gaiji",
            "外字",
            format!("{} marks a character outside JIS X 0208 (外字)", files::GAIJI_MARK),
        ));
    }
    let ef07 = "as DF1/EF07 writes it: B3/B4 are not covered by the B1 signature (the signer is the trusted police key named under the issuer check)";
    for (key, label, value) in [
        ("ef07_issuer_name", "署名者の発行者名（EF07）", &data.signature.issuer),
        ("ef07_subject_name", "署名者名（EF07）", &data.signature.subject),
    ] {
        fields.push(Field { key, label, value: value.clone(), trust: Trust::Unsigned { why: ef07.to_owned() } });
    }
    let why = "written after issue at a police station (DF1/EF04, EF06); not covered by the EF07 signature";
    for (list, key, label) in
        [(&data.changes, "change", "記載事項変更"), (&data.honseki_changes, "honseki_change", "本籍の変更")]
    {
        for c in list.iter() {
            fields.push(Field {
                key,
                label,
                value: format!("{} {}: {}", day(c.date), c.commission, c.content),
                trust: Trust::Unsigned { why: why.to_owned() },
            });
        }
    }
    Report {
        kind: DocumentKind::DriverLicence,
        fields,
        photo: Some(Photo { format: PhotoFormat::Jpeg2000, bytes: data.photo.clone(), trust: Trust::Signed }),
        issuer: IssuerCheck {
            method: format!("EF07 signature, {}; police key selected by SKI {}", verified.algorithm, verified.ski_hex),
            signer: format!("{} (trusted police key, SKI {})", verified.key_name, verified.ski_hex),
        },
        chip: ChipCheck::NotProven {
            why: "the driver's licence has no chip authentication in its spec: a copy of the signed files onto another chip would pass".to_owned(),
        },
    }
}

/// Reads and verifies this document at the counter (see [`crate::check()`]): the two PINs
/// ([`AccessCode::LicencePins`]), all files, the EF07 signature by the trusted police key.
pub fn check(
    t: &mut dyn hanko_card::Transport,
    code: &AccessCode,
    trust: &TrustAnchors,
    now: time::OffsetDateTime,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<Report, CheckError> {
    let AccessCode::LicencePins { pin1, pin2 } = code else {
        return Err(CheckError::WrongKindOfCode("a driver's licence opens with its two 4-digit PINs"));
    };
    let pins = LicencePins { pin1: pin1.clone(), pin2: pin2.clone() };
    let data = read_licence(t, &pins, progress).map_err(to_check_error)?;
    progress(Progress { step: "signature (EF07)", done: 0, total: Some(1) });
    let verified = verify(&data, trust)?;
    progress(Progress { step: "signature (EF07)", done: 1, total: Some(1) });
    Ok(report(&data, &verified, now))
}

fn to_check_error(e: LicenceError) -> CheckError {
    match e {
        LicenceError::WrongPin { which, tries_left } => {
            CheckError::WrongAccessCode { which: Some(which.label_ja()), tries_left: Some(tries_left) }
        }
        LicenceError::Blocked { which: PinId::Pin1 } => {
            CheckError::Blocked("driver's licence 暗証番号1 (PIN1): 3 wrong tries; only a police station unblocks it")
        }
        LicenceError::Blocked { which: PinId::Pin2 } => {
            CheckError::Blocked("driver's licence 暗証番号2 (PIN2): 3 wrong tries; only a police station unblocks it")
        }
        LicenceError::Transport(t) => CheckError::Transport(t),
        other => CheckError::Licence(other),
    }
}
