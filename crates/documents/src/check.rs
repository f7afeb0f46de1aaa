//! What every document reader returns: typed fields that each say whether the issuer's
//! signature covers them, the photo, the issuer and chip checks, and the access codes the
//! counter enters (shared/spec/40-id-documents.md, 50-scenarios.md §4).

use zeroize::Zeroizing;

/// The four IC photo IDs a counter accepts (all ISO 14443 Type B).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    /// マイナンバーカード.
    MyNumberCard,
    /// IC運転免許証.
    DriverLicence,
    /// 在留カード / 特別永住者証明書.
    ResidenceCard,
    /// 旅券 (ICAO 9303).
    Passport,
}

impl DocumentKind {
    /// Every kind, in the order a counter lists them.
    pub const ALL: [DocumentKind; 4] =
        [DocumentKind::MyNumberCard, DocumentKind::DriverLicence, DocumentKind::ResidenceCard, DocumentKind::Passport];

    /// The kind's stable name (`my_number_card`, `driver_licence`, `residence_card`, `passport`).
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::MyNumberCard => "my_number_card",
            DocumentKind::DriverLicence => "driver_licence",
            DocumentKind::ResidenceCard => "residence_card",
            DocumentKind::Passport => "passport",
        }
    }

    /// The Japanese name shown at the counter.
    pub fn label_ja(self) -> &'static str {
        match self {
            DocumentKind::MyNumberCard => "マイナンバーカード",
            DocumentKind::DriverLicence => "運転免許証",
            DocumentKind::ResidenceCard => "在留カード・特別永住者証明書",
            DocumentKind::Passport => "旅券",
        }
    }
}

/// What the holder (or the card face) gives the reader to open the chip. `Debug` never shows it.
#[non_exhaustive]
pub enum AccessCode {
    /// My Number Card: 照合番号B, 14 digits (era birth date ‖ expiry year ‖ security code).
    NumberB(Zeroizing<String>),
    /// Driver's licence: PIN1 and PIN2, 4 digits each (`****` when the holder set none).
    LicencePins {
        /// 暗証番号1.
        pin1: Zeroizing<String>,
        /// 暗証番号2 (opens 本籍 and the photo).
        pin2: Zeroizing<String>,
    },
    /// Residence card: the 12-character card number printed on the face.
    CardNumber(Zeroizing<String>),
    /// Passport: the MRZ information (document number, birth date, expiry) for BAC or PACE.
    Mrz {
        /// Document number as printed (up to 9 characters).
        document_number: String,
        /// Birth date YYMMDD.
        birth: String,
        /// Expiry date YYMMDD.
        expiry: String,
    },
    /// Passport: the card access number (6 digits) for PACE.
    Can(Zeroizing<String>),
}

impl core::fmt::Debug for AccessCode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let kind = match self {
            AccessCode::NumberB(_) => "NumberB",
            AccessCode::LicencePins { .. } => "LicencePins",
            AccessCode::CardNumber(_) => "CardNumber",
            AccessCode::Mrz { .. } => "Mrz",
            AccessCode::Can(_) => "Can",
        };
        write!(f, "AccessCode::{kind}([elided])")
    }
}

/// How far the issuer's signature vouches for a field.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "trust", rename_all = "snake_case")]
pub enum Trust {
    /// Covered by the issuer's signature, which verified.
    Signed,
    /// Read from the chip but covered by no signature (a licence change entry, the residence
    /// card's back side): shown, but not cryptographically verified.
    Unsigned {
        /// Why (e.g. "written after issue at a police station; not signed").
        why: String,
    },
}

/// One field of the holder's data.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Field {
    /// Stable key (`name`, `birth_date`, `address`, `licence_number`, …).
    pub key: &'static str,
    /// Label shown at the counter, in Japanese.
    pub label: &'static str,
    /// The value as text (dates as YYYY-MM-DD).
    pub value: String,
    /// Whether the issuer's signature covers it.
    #[serde(flatten)]
    pub trust: Trust,
}

/// Photo encodings the documents carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PhotoFormat {
    /// JPEG (passports may use it).
    Jpeg,
    /// JPEG 2000 (licence, residence card, My Number Card; passports may use it).
    Jpeg2000,
}

/// The face photo from the chip.
#[derive(Clone, serde::Serialize)]
pub struct Photo {
    /// Encoding.
    pub format: PhotoFormat,
    /// The image as stored on the chip.
    #[serde(skip)]
    pub bytes: Vec<u8>,
    /// Covered by the issuer's signature?
    #[serde(flatten)]
    pub trust: Trust,
}

impl core::fmt::Debug for Photo {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Photo({:?}, {} bytes, {:?})", self.format, self.bytes.len(), self.trust)
    }
}

/// The issuer-signature check that was made.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IssuerCheck {
    /// What was verified, in words ("passive authentication: SOD signed by DSC …, chained to CSCA …").
    pub method: String,
    /// The signer (a DN, or the key identifier in hex).
    pub signer: String,
}

/// Whether the chip itself was shown genuine (not a copy of its data onto another chip).
#[derive(Debug, Clone, serde::Serialize)]
#[serde(tag = "chip", rename_all = "snake_case")]
pub enum ChipCheck {
    /// The chip proved possession of a key the issuer vouches for.
    Proven {
        /// How ("active authentication, RSA-2048 key of DG15, 8-byte challenge").
        method: String,
    },
    /// The document has no such mechanism (or this reader did not use it): a clone of the signed
    /// data onto another chip would pass.
    NotProven {
        /// Why.
        why: String,
    },
}

/// The result of reading and verifying one document at the counter.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    /// Which document.
    pub kind: DocumentKind,
    /// The holder's data, each field with its trust.
    pub fields: Vec<Field>,
    /// The face photo, when the document has one.
    pub photo: Option<Photo>,
    /// The issuer-signature check: made and passed whenever the document carries a signature. A
    /// document without one (a residence card of a holder under 16) still gives a report, with
    /// every field unsigned and the method saying so: see [`Report::verified`].
    pub issuer: IssuerCheck,
    /// The chip-authenticity check.
    pub chip: ChipCheck,
}

impl Report {
    /// Whether the issuer's signature verified anything here: some field or the photo is
    /// [`Trust::Signed`]. `false` for a document read with no signature to check (the residence
    /// card of a holder under 16): read, but **not** verified — never show it as checked.
    pub fn verified(&self) -> bool {
        self.fields.iter().any(|f| f.trust == Trust::Signed)
            || self.photo.as_ref().is_some_and(|p| p.trust == Trust::Signed)
    }

    /// The value of the field `key`, if present.
    pub fn field(&self, key: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.key == key)
    }
}

/// A police signing key a counter trusts for licences. The licence carries no certificate, only
/// the key's identifier (EF07 `B5`): the name shown for a verified licence's signer is this
/// configured `name`, never the names EF07 writes (`B3`/`B4`, not covered by the signature).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoliceKey {
    /// The name the counter shows for this key's signatures (its configuration, not the chip's).
    pub name: String,
    /// Subject key identifier (SHA-1 of the key, as EF07 `B5` names it).
    pub ski: Vec<u8>,
    /// SubjectPublicKeyInfo DER.
    pub spki: Vec<u8>,
}

/// The public keys and certificates a counter trusts, as DER. Each reader parses its own part.
#[derive(Debug, Clone, Default)]
pub struct TrustAnchors {
    /// Police signing keys for licences, each with the name it is shown by.
    pub police_keys: Vec<PoliceKey>,
    /// Immigration issuer roots for residence cards (certificate DER).
    pub immigration_roots: Vec<Vec<u8>>,
    /// Country signing CAs for passports (certificate DER), as from a master list.
    pub cscas: Vec<Vec<u8>>,
    /// The My Number Card's CV root key (SubjectPublicKeyInfo DER).
    pub mynumber_cv_root: Option<Vec<u8>>,
}

/// A step of a read, for progress bars (a passport's DG2 takes seconds on a real reader).
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a> {
    /// What is being done ("DG2 (face)", "secure messaging", "passive authentication").
    pub step: &'a str,
    /// Bytes (or steps) done so far.
    pub done: usize,
    /// Bytes (or steps) in all, when known.
    pub total: Option<usize>,
}

/// Why a check failed. Each document module has its own detailed error; this is what they share.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckError {
    /// The reader or card went away.
    #[error(transparent)]
    Transport(#[from] hanko_card::TransportError),
    /// The access code was wrong.
    #[error(
        "wrong access code{}{}",
        match .which { Some(w) => format!(": {w}"), None => String::new() },
        match .tries_left { Some(n) => format!(" ({n} tries left)"), None => String::new() }
    )]
    WrongAccessCode {
        /// Which code was refused, when the document has several: the licence's `暗証番号1` or
        /// `暗証番号2` ([`crate::licence::PinId::label_ja`]).
        which: Option<&'static str>,
        /// Tries left, when the document counts them.
        tries_left: Option<u8>,
    },
    /// The access code is blocked (the licence after 3 wrong PINs: only a police station unblocks it).
    #[error("the access code is blocked: {0}")]
    Blocked(&'static str),
    /// This access code does not open this document.
    #[error("{0}")]
    WrongKindOfCode(&'static str),
    /// The driver's licence failed to read or verify.
    #[error(transparent)]
    Licence(#[from] crate::licence::LicenceError),
    /// The residence card failed to read or verify.
    #[error(transparent)]
    Residence(#[from] crate::residence::ResidenceError),
    /// The passport failed to read or verify.
    #[error(transparent)]
    Passport(#[from] crate::passport::PassportError),
    /// The My Number Card's face failed to read or verify.
    #[error(transparent)]
    MyNumber(#[from] crate::mynumber::MyNumberError),
}

/// Reads and verifies a document of `kind` through `t` with the access code the holder gave:
/// the counter check of all four documents. Dispatches to the document's module.
pub fn check(
    kind: DocumentKind,
    t: &mut dyn hanko_card::Transport,
    code: &AccessCode,
    trust: &TrustAnchors,
    now: time::OffsetDateTime,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<Report, CheckError> {
    match kind {
        DocumentKind::MyNumberCard => crate::mynumber::check(t, code, trust, now, progress),
        DocumentKind::DriverLicence => crate::licence::check(t, code, trust, now, progress),
        DocumentKind::ResidenceCard => crate::residence::check(t, code, trust, now, progress),
        DocumentKind::Passport => crate::passport::check(t, code, trust, now, progress),
    }
}
