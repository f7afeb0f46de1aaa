//! The My Number Card at the counter: 照合番号B opens the 券面AP; the card face is verified
//! under the CV root and the chip proves its key (shared/spec/10-card.md §7, 50-scenarios.md §4).
//! The law's record keeps only the check time and the 8 digits of 照合番号B without the birth
//! date — never the My Number.
//!
//! The card face (券面AP EF `0002`, 10-card.md §7):
//!
//! | tag | contents | signed by DF28 |
//! |---|---|---|
//! | DF22 | birth date YYYYMMDD | yes |
//! | DF23 | sex (JIS X 0303 digit) | yes |
//! | DF24 | card challenge public key | yes |
//! | DF25 | name image (PNG) | yes |
//! | DF26 | address image (PNG) | yes |
//! | DF27 | photo (JPEG 2000 greyscale) | yes |
//! | DF28 | signature (256 bytes) | — |
//! | DF29 | card expiry YYYYMMDD | **no** |
//! | DF2A | security code image (PNG) | **no** |
//!
//! "Card-face signature: PKCS#1 v1.5 over `DigestInfo(sha256, 96 bytes)`, the 96 bytes being
//! SHA-256(DF22‖DF23‖DF24 TLVs) ‖ SHA-256(DF25‖DF26) ‖ SHA-256(DF27); DF29/DF2A are not covered."
//!
//! The name and address are images on the face; their text is read from the input-assist AP
//! (10-card.md §6), which 照合番号B also opens, and checked against that AP's integrity record
//! under the same CV root. The My Number itself is never read (照合番号B does not open it).

use hanko_card::{CardAppError, Client, ClientError, StatusWord, VerifiedCardFace};
use hanko_pki::{BirthDate, RsaPublicKey};
use zeroize::Zeroizing;

use crate::check::{
    AccessCode, CheckError, ChipCheck, DocumentKind, Field, IssuerCheck, Photo, PhotoFormat, Progress, Report, Trust,
    TrustAnchors,
};

/// Digits in 照合番号B: era birth date YYMMDD (6) ‖ card expiry year (4) ‖ security code (4).
pub const NUMBER_B_LEN: usize = 14;

/// A My Number Card face that does not read or verify.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MyNumberError {
    /// The counter has no My Number Card CV root configured ([`TrustAnchors::mynumber_cv_root`]).
    #[error("My Number Card: no CV root key is configured (TrustAnchors::mynumber_cv_root)")]
    NoCvRoot,
    /// The configured CV root is not an RSA SubjectPublicKeyInfo.
    #[error("My Number Card: the configured CV root key does not load: {0}")]
    BadCvRoot(String),
    /// 照合番号B is not 14 digits (nothing was sent to the card).
    #[error("My Number Card: 照合番号B must be 14 digits (era birth date YYMMDD, expiry year, security code)")]
    BadNumberB,
    /// The card refused, or its data is malformed or does not verify (the card face signature,
    /// the CV certificate, the chip's challenge signature, the input-assist integrity record).
    #[error("My Number Card: {0}")]
    Card(CardAppError),
    /// The input-assist AP's facts (birth date, sex) differ from the card face's: the two APs did
    /// not answer from one card.
    #[error("My Number Card: the input-assist AP's birth date or sex differs from the card face's (two cards?)")]
    FactsDoNotMatchFace,
}

/// 照合番号B, checked to be 14 ASCII digits. `Debug` never shows it.
struct NumberB<'a>(&'a str);

impl<'a> NumberB<'a> {
    fn parse(code: &'a AccessCode) -> Result<NumberB<'a>, CheckError> {
        match code {
            AccessCode::NumberB(v) if v.len() == NUMBER_B_LEN && v.bytes().all(|b| b.is_ascii_digit()) => {
                Ok(NumberB(v.as_str()))
            }
            AccessCode::NumberB(_) => Err(MyNumberError::BadNumberB.into()),
            _ => Err(CheckError::WrongKindOfCode("the My Number Card opens with 照合番号B (14 digits) at the counter")),
        }
    }
}

/// What the law's record (確認記録) keeps of a My Number Card check besides its time: the last 8
/// digits of 照合番号B — the card's expiry year ‖ its security code — without the birth date
/// (50-scenarios.md §4). Never the My Number, which 照合番号B does not contain.
pub fn record_digits(code: &AccessCode) -> Result<String, CheckError> {
    let b = NumberB::parse(code)?;
    Ok(b.0.get(6..).unwrap_or_default().to_owned())
}

/// The card face as read and verified at the counter, with the images [`Report`] does not carry.
/// `Debug` shows no holder data.
pub struct CounterRead {
    /// The counter's report.
    pub report: Report,
    /// The verified card face (the name and address images DF25/DF26, the unsigned security code
    /// image DF2A).
    pub face: VerifiedCardFace,
}

impl core::fmt::Debug for CounterRead {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CounterRead").field("report", &self.report).finish_non_exhaustive()
    }
}

/// Reads and verifies this document at the counter (see [`crate::check()`]).
pub fn check(
    t: &mut dyn hanko_card::Transport,
    code: &AccessCode,
    trust: &TrustAnchors,
    now: time::OffsetDateTime,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<Report, CheckError> {
    read(t, code, trust, now, progress).map(|r| r.report)
}

/// A card error as the counter sees it: a wrong or blocked 照合番号B, the transport, or the card.
fn card_error(e: CardAppError) -> CheckError {
    match e {
        CardAppError::Client(ClientError::WrongPin { tries_left }) => {
            CheckError::WrongAccessCode { which: None, tries_left: Some(tries_left) }
        }
        CardAppError::Client(ClientError::PinBlocked) => {
            CheckError::Blocked("照合番号B is blocked (10 wrong tries): only the municipality can reset it")
        }
        CardAppError::Client(ClientError::Transport(t)) => CheckError::Transport(t),
        other => MyNumberError::Card(other).into(),
    }
}

const STEPS: usize = 5;

/// [`check`], keeping the verified card face: VERIFY 照合番号B in the 券面AP, read the face
/// (EF `0002`), check the 券面AP CV certificate (EF `0004`) with the CV root and DF28 with it,
/// have the chip sign a fresh challenge with the DF24 key (`80 2A 00 00`), then read the name
/// and address text from the input-assist AP with the same code and check its integrity record.
pub fn read(
    t: &mut dyn hanko_card::Transport,
    code: &AccessCode,
    trust: &TrustAnchors,
    now: time::OffsetDateTime,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<CounterRead, CheckError> {
    let number_b = NumberB::parse(code)?;
    let root_der = trust.mynumber_cv_root.as_deref().ok_or(MyNumberError::NoCvRoot)?;
    let root = RsaPublicKey::from_spki_der(root_der).map_err(|e| MyNumberError::BadCvRoot(e.to_string()))?;
    let mut step = |name: &str, done: usize| progress(Progress { step: name, done, total: Some(STEPS) });
    let mut c = Client::new(t);

    step("照合番号B, card face (券面AP)", 0);
    let face = c.read_card_face(hanko_card::AccessCode::NumberB(number_b.0.as_bytes())).map_err(card_error)?;
    step("card face signature (CV certificate → CV root)", 1);
    let verified = c.verify_card_face(&face, &root).map_err(card_error)?;
    step("chip challenge (券面AP key DF24)", 2);
    c.authenticate_card_face_chip(&verified).map_err(card_error)?;
    step("name and address (input-assist AP)", 3);
    let text = read_text(&mut c, number_b.0.as_bytes(), &root)?;
    step("done", STEPS);

    let face = verified.face();
    let signed = || Trust::Signed;
    let mut fields = Vec::new();
    if let Some((name, address, birth, sex)) = text {
        // Text of the input-assist AP, its integrity record verified under the same CV root. That
        // record is not bound to this card face's chip (a relay could answer the two APs from two
        // cards): its birth date and sex must equal the face's, and the name and address are shown
        // as not bound — the signed images DF25/DF26 on the card face are what binds them.
        if birth != face.birth_date() || sex != face.sex() {
            return Err(MyNumberError::FactsDoNotMatchFace.into());
        }
        let why = || Trust::Unsigned {
            why: "signed by the input-assist AP's integrity record (same CV root) but not bound to this card \
                  face's chip; its birth date and sex match the face — compare with the name and address images \
                  of the card face"
                .into(),
        };
        fields.push(Field { key: "name", label: "氏名", value: name, trust: why() });
        fields.push(Field { key: "address", label: "住所", value: address, trust: why() });
    }
    fields.push(Field {
        key: "birth_date",
        label: "生年月日",
        value: birth_date_text(face.birth_date()),
        trust: signed(),
    });
    fields.push(Field { key: "sex", label: "性別", value: sex_text(face.sex()).to_owned(), trust: signed() });
    let expiry = face.expiry();
    let expired = now.date() > expiry;
    fields.push(Field {
        key: "expiry",
        label: "有効期限",
        value: if expired { format!("{expiry} (expired)") } else { expiry.to_string() },
        trust: Trust::Unsigned { why: "DF29 (card expiry) is not covered by the card-face signature DF28".into() },
    });
    fields.push(Field {
        key: "security_code_image",
        label: "セキュリティコード",
        value: format!("PNG image, {} bytes", face.security_code_png().len()),
        trust: Trust::Unsigned {
            why: "DF2A (security code image) is not covered by the card-face signature DF28".into(),
        },
    });
    let report = Report {
        kind: DocumentKind::MyNumberCard,
        fields,
        photo: Some(Photo { format: PhotoFormat::Jpeg2000, bytes: face.photo_jp2().to_vec(), trust: signed() }),
        issuer: IssuerCheck {
            method: "券面AP: DF28 (RSA-2048 PKCS#1 v1.5 over SHA-256 of DF22–DF24, DF25–DF26, DF27) under the \
                     券面AP CV certificate (EF 0004), verified with the CV root; the name and address text: \
                     the input-assist AP's integrity record under the same root"
                .into(),
            signer: format!(
                "CV key {} under root {}",
                key_id_text(&verified.signer_key_id().0),
                key_id_text(&verified.issuer_key_id().0)
            ),
        },
        chip: ChipCheck::Proven {
            method: "券面AP chip key (DF24, RSA-2048, vouched for by DF28) signed a fresh 32-byte challenge \
                     (80 2A 00 00)"
                .into(),
        },
    };
    Ok(CounterRead { report, face: verified })
}

/// The name and address as text from the input-assist AP opened with 照合番号B, after its
/// integrity record verified; `None` when the card has no input-assist AP (`6A 82` on SELECT).
fn read_text<T: hanko_card::Transport>(
    c: &mut Client<T>,
    number_b: &[u8],
    root: &RsaPublicKey,
) -> Result<Option<(String, String, BirthDate, u8)>, CheckError> {
    match c.read_facts(hanko_card::AccessCode::NumberB(number_b)) {
        Ok(_) => {}
        Err(CardAppError::Client(ClientError::Status { sw: StatusWord::FILE_NOT_FOUND, .. })) => return Ok(None),
        Err(e) => return Err(card_error(e)),
    }
    let verified = c.verify_facts_integrity(root).map_err(card_error)?;
    let facts = verified.facts().ok_or(MyNumberError::Card(CardAppError::Data(
        hanko_card::CardDataError::Malformed("the integrity check did not read the 4 facts"),
    )))?;
    Ok(Some((facts.name().to_owned(), facts.address().to_owned(), facts.birth_date(), facts.sex())))
}

/// YYYY-MM-DD, or the digits as found when the date is partial or unknown.
fn birth_date_text(b: BirthDate) -> String {
    match b {
        BirthDate::Known(d) => d.to_string(),
        BirthDate::Unknown(digits) => {
            let s = String::from_utf8_lossy(&digits).into_owned();
            format!("{}-{}-{} (partial)", s.get(..4).unwrap_or(""), s.get(4..6).unwrap_or(""), s.get(6..).unwrap_or(""))
        }
    }
}

/// JIS X 0303: 0 unknown, 1 male, 2 female, 9 not applicable.
fn sex_text(code: u8) -> &'static str {
    match code {
        1 => "男",
        2 => "女",
        9 => "適用不能",
        _ => "不明",
    }
}

/// A CV key id as text when printable, else hex.
fn key_id_text(id: &[u8]) -> String {
    if id.iter().all(|b| b.is_ascii_graphic()) {
        String::from_utf8_lossy(id).into_owned()
    } else {
        hex::encode_upper(id)
    }
}

/// 照合番号B as an [`AccessCode`].
pub fn number_b(code: &str) -> AccessCode {
    AccessCode::NumberB(Zeroizing::new(code.to_owned()))
}

#[cfg(test)]
#[path = "mynumber_tests.rs"]
mod tests;
