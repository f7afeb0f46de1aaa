//! The 券面事項入力補助AP (input-assist AP, `D3 92 10 00 31 00 01 01 04 08`): the My Number and
//! the 4 basic facts as text, with the integrity record and CV certificate that vouch for them
//! (shared/spec/10-card.md §5, §6).
//!
//! | EF | contents | opened by |
//! |---|---|---|
//! | `0001` | My Number: `FF 10 0C <12 ASCII digits> FF FF` (17 bytes) | PIN or 照合番号A |
//! | `0002` | 基本4情報 `FF 20 <len> { DF21 DF22 DF23 DF24 DF25 }` | PIN or 照合番号B |
//! | `0003` | integrity record (336 bytes, [`crate::IntegrityRecord`]) | PIN or either 照合番号 |
//! | `0004` | CV certificate (568 bytes, [`crate::CvCertificate`]) | free |
//! | `0005` | AP basic info `FF 40 { DF41 DF42 DF43 }` | free |
//! | `0007` | certified chip key (536 bytes, [`crate::ChipKeyRecord`]) | PIN or either 照合番号 |
//! | `0011` | PIN, 4 digits, 3 tries · `0013` chip AP key (challenge signing, no PIN) · `0014` 照合番号A, 12 digits, 10 tries · `0015` 照合番号B, 14 digits, 10 tries | |
//!
//! The 4-facts file:
//!
//! ```text
//! FF 20 <len>
//!   DF 21 08  four big-endian u16 offsets (from file start) of the DF22, DF23, DF24, DF25 tags
//!   DF 22 <n> name, UTF-8, surname and given name separated by U+3000
//!   DF 23 <n> address, UTF-8
//!   DF 24 08  birth date YYYYMMDD (Gregorian)
//!   DF 25 01  sex, one ASCII digit: 1 male, 2 female, 9 not applicable, 0 unknown (JIS X 0303)
//! ```
//!
//! Lengths are BER definite lengths in their shortest form (`n`, `81 n`, `82 hi lo`), as the
//! readers in the field (Go `asn1`-based, jpki-rs) parse them. Everything here is written and
//! parsed with explicit code: these are BER-TLV records with private-class tags, not DER.

use core::fmt;

use hanko_pki::time::{Date, Month};
use hanko_pki::{BirthDate, Era, MAX_ADDRESS_CHARS, MAX_NAME_CHARS};
use zeroize::Zeroizing;

use crate::chip::{ChipKey, ChipKeyError, Pin, PinFormat};
use crate::cv::{sha256, CardDataError, CvIssueError, CvIssuer, CvKeyId};
use crate::emulator::{Access, Application, Object};
use crate::layout::AID_INPUT_ASSIST;

/// EFs and keys of the input-assist AP (10-card.md §6).
pub mod ef {
    use crate::emulator::Fid;
    /// My Number (17 bytes).
    pub const MY_NUMBER: Fid = Fid(0x0001);
    /// 基本4情報.
    pub const FACTS: Fid = Fid(0x0002);
    /// Integrity record (336 bytes).
    pub const INTEGRITY: Fid = Fid(0x0003);
    /// CV certificate (568 bytes).
    pub const CV_CERTIFICATE: Fid = Fid(0x0004);
    /// AP basic info.
    pub const AP_INFO: Fid = Fid(0x0005);
    /// The chip's AP key certified by the AP data-signing key (536 bytes).
    pub const CHIP_KEY_RECORD: Fid = Fid(0x0007);
    /// 券面事項入力補助用暗証番号 (4 digits, 3 tries).
    pub const PIN: Fid = Fid(0x0011);
    /// The chip's AP key (signs a challenge with `80 2A 00 00`, no PIN).
    pub const CHIP_KEY: Fid = Fid(0x0013);
    /// 照合番号A: the 12-digit My Number (10 tries).
    pub const NUMBER_A: Fid = Fid(0x0014);
    /// 照合番号B: era birth date YYMMDD ‖ card expiry year ‖ security code (14 digits, 10 tries).
    pub const NUMBER_B: Fid = Fid(0x0015);
}

/// Length of the My Number EF.
pub const MY_NUMBER_EF_LEN: usize = 17;
/// Largest 4-facts file accepted from a card (a 100-character name and a 200-character address
/// take at most about 1.2 KB).
pub const MAX_FACTS_FILE_LEN: usize = 4096;
/// Tries of the PIN.
pub(crate) const PIN_TRIES: u8 = 3;
/// Tries of 照合番号A and B \[S\].
pub(crate) const NUMBER_TRIES: u8 = 10;

/// What DF43 of EF `0005` holds: the field's meaning is not public, so hanko writes this marker
/// followed by zero bytes up to 128 \[I\].
pub const AP_INFO_DF43_MARKER: &[u8] = b"hanko sandbox: DF43 placeholder (content not public)";

/// A My Number could not be accepted. Never carries the number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MyNumberError {
    /// Not 12 characters (11 for a body).
    #[error("a My Number has 12 digits")]
    Length,
    /// A character is not an ASCII digit.
    #[error("a My Number has only the digits 0-9")]
    NotDigits,
    /// The 12th digit is not the check digit of the first 11.
    #[error("the My Number's check digit is wrong")]
    CheckDigit,
}

/// A 個人番号 (My Number): 12 ASCII digits whose last is the check digit of the first 11.
///
/// It never prints: `Debug` and `Display` show `[elided]`, and the digits are zeroised on drop.
/// Only [`MyNumber::expose`] gives them out.
#[derive(Clone, PartialEq, Eq)]
pub struct MyNumber(Zeroizing<[u8; 12]>);

impl fmt::Debug for MyNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MyNumber([elided])")
    }
}

impl fmt::Display for MyNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[elided]")
    }
}

impl MyNumber {
    /// Parses 12 ASCII digits and checks the check digit.
    pub fn parse(digits: &[u8]) -> Result<MyNumber, MyNumberError> {
        let all: [u8; 12] = digits.try_into().map_err(|_| MyNumberError::Length)?;
        let all = Zeroizing::new(all);
        if !all.iter().all(u8::is_ascii_digit) {
            return Err(MyNumberError::NotDigits);
        }
        let mut body = Zeroizing::new([0u8; 11]);
        body.copy_from_slice(&all[..11]);
        if MyNumber::check_digit(&body)? != all[11] {
            return Err(MyNumberError::CheckDigit);
        }
        Ok(MyNumber(all))
    }

    /// Completes an 11-digit body with its check digit (to make synthetic test numbers).
    pub fn from_body(body: &[u8]) -> Result<MyNumber, MyNumberError> {
        let body: [u8; 11] = body.try_into().map_err(|_| MyNumberError::Length)?;
        let body = Zeroizing::new(body);
        let check = MyNumber::check_digit(&body)?;
        let mut all = Zeroizing::new([0u8; 12]);
        all[..11].copy_from_slice(body.as_slice());
        all[11] = check;
        Ok(MyNumber(all))
    }

    /// The check digit (ASCII) of an 11-digit body, by 総務省令第八十五号 第五条:
    /// `11 − (Σ_{n=1}^{11} P_n × Q_n mod 11)`, or `0` when the remainder is 0 or 1; `P_n` is the
    /// n-th digit counted from the right of the body, `Q_n = n + 1` for 1 ≤ n ≤ 6 and `n − 5`
    /// for 7 ≤ n ≤ 11.
    pub fn check_digit(body: &[u8; 11]) -> Result<u8, MyNumberError> {
        if !body.iter().all(u8::is_ascii_digit) {
            return Err(MyNumberError::NotDigits);
        }
        let sum: u32 =
            body.iter().rev().zip(1u32..).map(|(p, n)| u32::from(p - b'0') * if n <= 6 { n + 1 } else { n - 5 }).sum();
        let r = sum % 11;
        // A remainder of 0 or 1 gives 0; 2..=10 give 9..=1.
        let digit = if r <= 1 { 0 } else { 11 - r };
        Ok(b'0' + u8::try_from(digit).unwrap_or(0))
    }

    /// The 12 ASCII digits. Named so that every use is visible in review: a My Number must not
    /// reach a log.
    pub fn expose(&self) -> &[u8; 12] {
        &self.0
    }
}

/// Building the input-assist AP was refused (caller misuse or key failure).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InputAssistBuildError {
    /// The My Number is invalid.
    #[error(transparent)]
    MyNumber(#[from] MyNumberError),
    /// A field is out of range (its name says which).
    #[error("{0} is out of range or has the wrong format")]
    Field(&'static str),
    /// The CV issuer failed to sign.
    #[error(transparent)]
    Issue(#[from] CvIssueError),
    /// The chip failed to make its AP key.
    #[error(transparent)]
    Key(#[from] ChipKeyError),
}

/// What a counter writes into the input-assist AP: the My Number and the 4 facts.
///
/// `Debug` never shows the values.
#[derive(Clone, PartialEq, Eq)]
pub struct CardFacts {
    my_number: MyNumber,
    name: String,
    address: String,
    birth_date: Date,
    sex: u8,
}

impl fmt::Debug for CardFacts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CardFacts([elided])")
    }
}

/// JIS X 0303 sex codes accepted when building: 0 unknown, 1 male, 2 female, 9 not applicable.
const SEX_CODES: [u8; 4] = [0, 1, 2, 9];

impl CardFacts {
    /// Checks and holds the facts. `sex` is the JIS X 0303 digit as a number (0, 1, 2 or 9);
    /// `birth_date` is Gregorian, on or after the first day of Meiji and before year 10000.
    pub fn new(
        my_number: MyNumber,
        name: &str,
        address: &str,
        birth_date: Date,
        sex: u8,
    ) -> Result<CardFacts, InputAssistBuildError> {
        let chars = |s: &str, max| (1..=max).contains(&s.chars().count());
        if !chars(name, MAX_NAME_CHARS) {
            return Err(InputAssistBuildError::Field("name"));
        }
        if !chars(address, MAX_ADDRESS_CHARS) {
            return Err(InputAssistBuildError::Field("address"));
        }
        if Era::of(birth_date).is_err() || birth_date.year() > 9999 {
            return Err(InputAssistBuildError::Field("birth date"));
        }
        if !SEX_CODES.contains(&sex) {
            return Err(InputAssistBuildError::Field("sex"));
        }
        Ok(CardFacts { my_number, name: name.to_owned(), address: address.to_owned(), birth_date, sex })
    }

    /// 個人番号.
    pub fn my_number(&self) -> &MyNumber {
        &self.my_number
    }
    /// 氏名.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// 住所.
    pub fn address(&self) -> &str {
        &self.address
    }
    /// 生年月日 (Gregorian).
    pub fn birth_date(&self) -> Date {
        self.birth_date
    }
    /// 性別, the JIS X 0303 digit as a number.
    pub fn sex(&self) -> u8 {
        self.sex
    }
}

// ---- BER-TLV, by hand (two-byte private/application tags, shortest definite lengths) ----

/// Appends `tag`, the shortest BER length of `value` and `value`. Lengths above 65535 never occur
/// in this AP (the callers bound their inputs) and are refused.
fn push_tlv(out: &mut Vec<u8>, tag: [u8; 2], value: &[u8]) -> Result<(), InputAssistBuildError> {
    out.extend_from_slice(&tag);
    push_len(out, value.len())?;
    out.extend_from_slice(value);
    Ok(())
}

fn push_len(out: &mut Vec<u8>, len: usize) -> Result<(), InputAssistBuildError> {
    match len {
        0..=0x7F => out.push(len as u8),
        0x80..=0xFF => out.extend_from_slice(&[0x81, len as u8]),
        0x100..=0xFFFF => {
            out.push(0x82);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => return Err(InputAssistBuildError::Field("TLV length")),
    }
    Ok(())
}

/// Parses a shortest-form BER definite length at the start of `b`: `(length, octets used)`.
/// Refuses the indefinite form, non-minimal forms and more than two length octets.
pub(crate) fn parse_len(b: &[u8]) -> Option<(usize, usize)> {
    match *b {
        [n, ..] if n < 0x80 => Some((usize::from(n), 1)),
        [0x81, n, ..] if n >= 0x80 => Some((usize::from(n), 2)),
        [0x82, hi, lo, ..] if hi != 0 => Some((usize::from(u16::from_be_bytes([hi, lo])), 3)),
        _ => None,
    }
}

/// A cursor over BER-TLVs with two-byte tags; every step is bounds-checked.
pub(crate) struct Tlvs<'a> {
    pub(crate) buf: &'a [u8],
    pub(crate) pos: usize,
}

impl<'a> Tlvs<'a> {
    /// The next TLV, which must have `tag`: `(offset of its tag, value)`.
    pub(crate) fn expect(&mut self, tag: [u8; 2], what: &'static str) -> Result<(usize, &'a [u8]), CardDataError> {
        let start = self.pos;
        let rest = self.buf.get(start..).ok_or(CardDataError::Malformed(what))?;
        if rest.get(..2) != Some(&tag[..]) {
            return Err(CardDataError::Malformed(what));
        }
        let (len, n) = parse_len(&rest[2..]).ok_or(CardDataError::Malformed(what))?;
        let value_start = 2 + n;
        let value = rest.get(value_start..value_start + len).ok_or(CardDataError::Malformed(what))?;
        self.pos = start + value_start + len;
        Ok((start, value))
    }
}

// ---- The files ----

/// The My Number EF: `FF 10 0C <12 ASCII digits> FF FF` (17 bytes). Zeroised on drop.
pub fn my_number_ef(number: &MyNumber) -> Zeroizing<Vec<u8>> {
    let mut ef = Zeroizing::new(Vec::with_capacity(MY_NUMBER_EF_LEN));
    ef.extend_from_slice(&[0xFF, 0x10, 0x0C]);
    ef.extend_from_slice(number.expose());
    ef.extend_from_slice(&[0xFF, 0xFF]);
    ef
}

/// Parses exactly the 17 bytes of the My Number EF (the check digit must hold).
pub fn parse_my_number_ef(ef: &[u8]) -> Result<MyNumber, CardDataError> {
    match ef {
        [0xFF, 0x10, 0x0C, digits @ .., 0xFF, 0xFF] if digits.len() == 12 => {
            MyNumber::parse(digits).map_err(|_| CardDataError::Malformed("My Number EF holds no valid My Number"))
        }
        _ => Err(CardDataError::Malformed("My Number EF is not FF 10 0C <12 digits> FF FF")),
    }
}

fn yyyymmdd(d: Date) -> String {
    format!("{:04}{:02}{:02}", d.year(), d.month() as u8, d.day())
}

/// The 4-facts file of EF `0002` (the `FF 20` TLV, unpadded).
pub fn four_facts_file(facts: &CardFacts) -> Result<Vec<u8>, InputAssistBuildError> {
    let birth = yyyymmdd(facts.birth_date);
    // The inner TLVs after DF21, and the offsets of their tags relative to the first one.
    let mut rest = Vec::new();
    let mut rel = [0usize; 4];
    rel[0] = rest.len();
    push_tlv(&mut rest, [0xDF, 0x22], facts.name.as_bytes())?;
    rel[1] = rest.len();
    push_tlv(&mut rest, [0xDF, 0x23], facts.address.as_bytes())?;
    rel[2] = rest.len();
    push_tlv(&mut rest, [0xDF, 0x24], birth.as_bytes())?;
    rel[3] = rest.len();
    push_tlv(&mut rest, [0xDF, 0x25], &[b'0' + facts.sex])?;
    // FF 20 <len> then DF21 (11 bytes), then the rest.
    let inner_len = 11 + rest.len();
    let mut out = vec![0xFF, 0x20];
    push_len(&mut out, inner_len)?;
    let first = out.len() + 11;
    let mut offsets = Vec::with_capacity(8);
    for r in rel {
        let off = u16::try_from(first + r).map_err(|_| InputAssistBuildError::Field("4 facts"))?;
        offsets.extend_from_slice(&off.to_be_bytes());
    }
    push_tlv(&mut out, [0xDF, 0x21], &offsets)?;
    out.extend_from_slice(&rest);
    Ok(out)
}

/// The 4 basic facts as read from a card, parsed strictly. `Debug` never shows them.
#[derive(Clone, PartialEq, Eq)]
pub struct FourFacts {
    name: String,
    address: String,
    birth_date: BirthDate,
    sex: u8,
    raw: Vec<u8>,
    signed_start: usize,
}

impl fmt::Debug for FourFacts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FourFacts([elided])")
    }
}

impl FourFacts {
    /// Parses exactly one `FF 20` TLV (no trailing bytes): the five inner TLVs in order, the
    /// DF21 offsets equal to where DF22–DF25 really are, UTF-8 texts, an 8-digit date, one digit.
    pub fn parse(file: &[u8]) -> Result<FourFacts, CardDataError> {
        if file.len() > MAX_FACTS_FILE_LEN {
            return Err(CardDataError::Malformed("4-facts file is too large"));
        }
        let mut outer = Tlvs { buf: file, pos: 0 };
        let (_, value) = outer.expect([0xFF, 0x20], "4-facts file does not start with FF 20")?;
        if outer.pos != file.len() {
            return Err(CardDataError::Malformed("bytes after the FF 20 TLV"));
        }
        let value_start = file.len() - value.len();
        let mut t = Tlvs { buf: file, pos: value_start };
        let (_, offsets) = t.expect([0xDF, 0x21], "4 facts: DF21 missing")?;
        if offsets.len() != 8 {
            return Err(CardDataError::Malformed("4 facts: DF21 is not 8 bytes"));
        }
        let (at22, name) = t.expect([0xDF, 0x22], "4 facts: DF22 (name) missing")?;
        let (at23, address) = t.expect([0xDF, 0x23], "4 facts: DF23 (address) missing")?;
        let (at24, birth) = t.expect([0xDF, 0x24], "4 facts: DF24 (birth date) missing")?;
        let (at25, sex) = t.expect([0xDF, 0x25], "4 facts: DF25 (sex) missing")?;
        if t.pos != file.len() {
            return Err(CardDataError::Malformed("4 facts: bytes after DF25"));
        }
        for (i, at) in [at22, at23, at24, at25].into_iter().enumerate() {
            let said = usize::from(u16::from_be_bytes([offsets[2 * i], offsets[2 * i + 1]]));
            if said != at {
                return Err(CardDataError::Malformed("4 facts: DF21 offsets do not match the file"));
            }
        }
        let text = |v: &[u8], what| match core::str::from_utf8(v) {
            Ok(s) if !s.is_empty() => Ok(s.to_owned()),
            _ => Err(CardDataError::Malformed(what)),
        };
        let name = text(name, "4 facts: name is empty or not UTF-8")?;
        let address = text(address, "4 facts: address is empty or not UTF-8")?;
        let birth_date = parse_birth(birth).ok_or(CardDataError::Malformed("4 facts: birth date is not YYYYMMDD"))?;
        let sex = match sex {
            [d] if d.is_ascii_digit() => d - b'0',
            _ => return Err(CardDataError::Malformed("4 facts: sex is not one digit")),
        };
        Ok(FourFacts { name, address, birth_date, sex, raw: file.to_vec(), signed_start: at22 })
    }

    /// 氏名.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// 住所.
    pub fn address(&self) -> &str {
        &self.address
    }
    /// 生年月日: known when the 8 digits are a Gregorian date; otherwise the digits as found
    /// (a partly unknown date such as `19800000`).
    pub fn birth_date(&self) -> BirthDate {
        self.birth_date
    }
    /// 性別, the JIS X 0303 digit as a number (unknown digits are kept).
    pub fn sex(&self) -> u8 {
        self.sex
    }
    /// The file as read.
    pub fn as_bytes(&self) -> &[u8] {
        &self.raw
    }
    /// What DF32 digests: from the DF22 tag to the end of the FF20 value.
    pub fn signed_part(&self) -> &[u8] {
        self.raw.get(self.signed_start..).unwrap_or_default()
    }
}

fn parse_birth(v: &[u8]) -> Option<BirthDate> {
    let digits: [u8; 8] = v.try_into().ok()?;
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(gregorian(&digits).map_or(BirthDate::Unknown(digits), BirthDate::Known))
}

/// The date of 8 ASCII digits `YYYYMMDD`, if it is one.
fn gregorian(digits: &[u8; 8]) -> Option<Date> {
    let num = |r: core::ops::Range<usize>| digits[r].iter().fold(0u16, |a, d| a * 10 + u16::from(d - b'0'));
    let month = Month::try_from(u8::try_from(num(4..6)).ok()?).ok()?;
    Date::from_calendar_date(i32::from(num(0..4)), month, u8::try_from(num(6..8)).ok()?).ok()
}

/// EF `0005`: `FF 40 81 9E { DF41 04 01 03 0E 01, DF42 10 <AP data-signing key ID>, DF43 81 80
/// <128 bytes> }` (162 bytes). DF42 names the CV certificate's subject key \[I\]; DF43 is
/// [`AP_INFO_DF43_MARKER`] padded with zeros \[I\]. 10-card.md writes DF43's length as `80`; a
/// one-octet `80` is BER's indefinite form, so the definite `81 80` is written.
pub fn ap_basic_info(key_id: CvKeyId) -> Result<Vec<u8>, InputAssistBuildError> {
    let mut df43 = AP_INFO_DF43_MARKER.to_vec();
    df43.resize(128, 0x00);
    let mut inner = Vec::with_capacity(158);
    push_tlv(&mut inner, [0xDF, 0x41], &[0x01, 0x03, 0x0E, 0x01])?;
    push_tlv(&mut inner, [0xDF, 0x42], &key_id.0)?;
    push_tlv(&mut inner, [0xDF, 0x43], &df43)?;
    let mut out = Vec::with_capacity(162);
    push_tlv(&mut out, [0xFF, 0x40], &inner)?;
    Ok(out)
}

/// 照合番号B: the birth date as era `YYMMDD`, the card's expiry year (Gregorian, 4 digits) and
/// the 4-digit security code — e.g. born Showa 55-02-17, expiring 2035, code 2285 →
/// `55021720352285`. Zeroised on drop.
pub fn number_b(
    birth_date: Date,
    card_expiry_year: u16,
    security_code: &str,
) -> Result<Zeroizing<Vec<u8>>, InputAssistBuildError> {
    let (_, era_year) = Era::year_of(birth_date).map_err(|_| InputAssistBuildError::Field("birth date"))?;
    if !(1..=99).contains(&era_year) {
        return Err(InputAssistBuildError::Field("birth date (era year above 99)"));
    }
    if !(1000..=9999).contains(&card_expiry_year) {
        return Err(InputAssistBuildError::Field("card expiry year"));
    }
    if security_code.len() != 4 || !security_code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(InputAssistBuildError::Field("security code"));
    }
    let s = Zeroizing::new(format!(
        "{era_year:02}{:02}{:02}{card_expiry_year:04}{security_code}",
        birth_date.month() as u8,
        birth_date.day()
    ));
    Ok(Zeroizing::new(s.as_bytes().to_vec()))
}

/// Builds the input-assist AP for `facts`: its files signed by `issuer`, a fresh chip AP key,
/// the PIN (4 digits, 3 tries), 照合番号A (the My Number, 10 tries) and 照合番号B (from the birth
/// date, `card_expiry_year` and `security_code`, 10 tries). Pass it to
/// [`crate::Personalization::extra_apps`].
pub fn input_assist_app(
    facts: &CardFacts,
    issuer: &CvIssuer,
    pin: &[u8],
    card_expiry_year: u16,
    security_code: &str,
) -> Result<Application, InputAssistBuildError> {
    let pin = Pin::new(pin, PinFormat::FourDigits, PIN_TRIES).ok_or(InputAssistBuildError::Field("PIN"))?;
    let number_a = Pin::new(facts.my_number.expose(), PinFormat::Digits(12), NUMBER_TRIES)
        .ok_or(InputAssistBuildError::Field("照合番号A"))?;
    let b = number_b(facts.birth_date, card_expiry_year, security_code)?;
    let number_b =
        Pin::new(&b, PinFormat::Digits(14), NUMBER_TRIES).ok_or(InputAssistBuildError::Field("照合番号B"))?;

    let my_number = my_number_ef(&facts.my_number);
    let four = four_facts_file(facts)?;
    let facts_part = FourFacts::parse(&four).map_err(|_| InputAssistBuildError::Field("4 facts"))?;
    let record = issuer.sign_integrity_record(&sha256(&my_number), &sha256(facts_part.signed_part()))?;
    let chip_key = ChipKey::generate()?;
    let chip_record = issuer.certify_chip_key(chip_key.public_key())?;

    let file = |content: Vec<u8>, read: Access| Object::File { content, read };
    let any = |fids: &[crate::emulator::Fid]| Access::AnyOf(fids.to_vec());
    let objects = vec![
        (ef::MY_NUMBER, file(my_number.to_vec(), any(&[ef::PIN, ef::NUMBER_A]))),
        (ef::FACTS, file(four, any(&[ef::PIN, ef::NUMBER_B]))),
        (ef::INTEGRITY, file(record.as_bytes().to_vec(), any(&[ef::PIN, ef::NUMBER_A, ef::NUMBER_B]))),
        (ef::CV_CERTIFICATE, file(issuer.certificate().as_bytes().to_vec(), Access::Free)),
        (ef::AP_INFO, file(ap_basic_info(issuer.signer_key_id())?, Access::Free)),
        (ef::CHIP_KEY_RECORD, file(chip_record.as_bytes().to_vec(), any(&[ef::PIN, ef::NUMBER_A, ef::NUMBER_B]))),
        (ef::PIN, Object::Pin(pin)),
        (ef::CHIP_KEY, Object::Key { key: Box::new(chip_key), usage: Access::Free }),
        (ef::NUMBER_A, Object::Pin(number_a)),
        (ef::NUMBER_B, Object::Pin(number_b)),
    ];
    Ok(Application { aid: AID_INPUT_ASSIST.to_vec(), name: "input-assist", objects, secure_messaging: true })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use hanko_pki::time::macros::date;

    /// A synthetic My Number: an 11-digit body of our choosing completed with its check digit.
    pub(crate) fn synthetic(body: &[u8; 11]) -> MyNumber {
        MyNumber::from_body(body).unwrap()
    }

    #[test]
    fn check_digit_follows_the_ordinance() {
        // Worked by hand: P1 = 1 (Q1 = 2) → 2 → 11 − 2 = 9.
        assert_eq!(MyNumber::check_digit(b"00000000001").unwrap(), b'9');
        // P11 = 1 (Q11 = 6) → 6 → 5.
        assert_eq!(MyNumber::check_digit(b"10000000000").unwrap(), b'5');
        // P7 = 1 (Q7 = 2) → 2 → 9.
        assert_eq!(MyNumber::check_digit(b"00001000000").unwrap(), b'9');
        // Remainder 0 and 1 give 0: P2 = 4 (Q2 = 3) → 12 ≡ 1.
        assert_eq!(MyNumber::check_digit(b"00000000000").unwrap(), b'0');
        assert_eq!(MyNumber::check_digit(b"00000000040").unwrap(), b'0');
        // The illustration used in public explanations of the rule.
        assert_eq!(MyNumber::check_digit(b"12345678901").unwrap(), b'8');
        assert_eq!(MyNumber::check_digit(b"0000000000a"), Err(MyNumberError::NotDigits));
    }

    #[test]
    fn my_numbers_parse_strictly_and_never_print() {
        let n = synthetic(b"99000000001");
        let digits = *n.expose();
        assert_eq!(MyNumber::parse(&digits).unwrap(), n);
        let mut bad = digits;
        bad[11] = if bad[11] == b'9' { b'0' } else { bad[11] + 1 };
        assert_eq!(MyNumber::parse(&bad), Err(MyNumberError::CheckDigit));
        assert_eq!(MyNumber::parse(&digits[..11]), Err(MyNumberError::Length));
        assert_eq!(MyNumber::parse(b"12345678901x"), Err(MyNumberError::NotDigits));
        let shown = format!("{n:?} {n} {:?}", CardFacts::new(n.clone(), "a", "b", date!(2000 - 01 - 01), 1).unwrap());
        assert_eq!(shown, "MyNumber([elided]) [elided] CardFacts([elided])");
        assert!(!shown.contains(core::str::from_utf8(&digits).unwrap()));
    }

    #[test]
    fn my_number_ef_is_17_bytes_and_round_trips() {
        let n = synthetic(b"99000000002");
        let ef = my_number_ef(&n);
        assert_eq!(ef.len(), MY_NUMBER_EF_LEN);
        assert_eq!(&ef[..3], &[0xFF, 0x10, 0x0C]);
        assert_eq!(&ef[15..], &[0xFF, 0xFF]);
        assert_eq!(parse_my_number_ef(&ef).unwrap(), n);
        for cut in 0..ef.len() {
            assert!(parse_my_number_ef(&ef[..cut]).is_err());
        }
    }

    fn facts(name: &str, address: &str) -> CardFacts {
        CardFacts::new(synthetic(b"99000000003"), name, address, date!(1980 - 02 - 17), 2).unwrap()
    }

    #[test]
    fn four_facts_file_layout_and_offsets() {
        let f = facts("試験　花子", "東京都見本区試験町一丁目１番１号");
        let file = four_facts_file(&f).unwrap();
        let name = "試験　花子".as_bytes();
        let addr = "東京都見本区試験町一丁目１番１号".as_bytes();
        let inner = 11 + (3 + name.len()) + (3 + addr.len()) + 11 + 4;
        assert!(inner < 0x80);
        assert_eq!(&file[..2], &[0xFF, 0x20]);
        assert_eq!(usize::from(file[2]), inner);
        assert_eq!(file.len(), 3 + inner);
        let o22 = 3 + 11;
        let o23 = o22 + 3 + name.len();
        let o24 = o23 + 3 + addr.len();
        let o25 = o24 + 11;
        let mut expect = vec![0xDF, 0x21, 0x08];
        for o in [o22, o23, o24, o25] {
            expect.extend_from_slice(&(o as u16).to_be_bytes());
        }
        assert_eq!(&file[3..14], &expect[..]);
        assert_eq!(&file[o24..o25], b"\xDF\x24\x0819800217");
        assert_eq!(&file[o25..], b"\xDF\x25\x012");
        let parsed = FourFacts::parse(&file).unwrap();
        assert_eq!(parsed.name(), "試験　花子");
        assert_eq!(parsed.address(), "東京都見本区試験町一丁目１番１号");
        assert_eq!(parsed.birth_date(), BirthDate::Known(date!(1980 - 02 - 17)));
        assert_eq!(parsed.sex(), 2);
        assert_eq!(parsed.signed_part(), &file[o22..]);
        assert_eq!(format!("{parsed:?}"), "FourFacts([elided])");
    }

    #[test]
    fn long_texts_use_long_form_lengths() {
        let address = "東".repeat(MAX_ADDRESS_CHARS); // 600 bytes → DF23 82 02 58
        let f = facts(&"名".repeat(50), &address); // 150 bytes → DF22 81 96
        let file = four_facts_file(&f).unwrap();
        assert_eq!(&file[..3], &[0xFF, 0x20, 0x82]);
        let parsed = FourFacts::parse(&file).unwrap();
        assert_eq!(parsed.address(), address);
        assert_eq!(&file[16..19], &[0xDF, 0x22, 0x81]);
    }

    #[test]
    fn four_facts_parser_is_strict_and_never_panics() {
        let file = four_facts_file(&facts("試験　花子", "東京都")).unwrap();
        for cut in 0..file.len() {
            assert!(FourFacts::parse(&file[..cut]).is_err(), "cut {cut}");
        }
        for i in 0..file.len() {
            for bit in 0..8 {
                let mut m = file.clone();
                m[i] ^= 1 << bit;
                let _ = FourFacts::parse(&m);
            }
        }
        let mut trailing = file.clone();
        trailing.push(0xFF);
        assert!(FourFacts::parse(&trailing).is_err());
        // A wrong offset in DF21.
        let mut m = file.clone();
        m[7] ^= 0x01;
        assert_eq!(
            FourFacts::parse(&m).err(),
            Some(CardDataError::Malformed("4 facts: DF21 offsets do not match the file"))
        );
        // Non-minimal and indefinite lengths.
        assert!(parse_len(&[0x81, 0x05]).is_none());
        assert!(parse_len(&[0x82, 0x00, 0xFF]).is_none());
        assert!(parse_len(&[0x80]).is_none());
        assert!(parse_len(&[0x83, 1, 0, 0]).is_none());
        assert_eq!(parse_len(&[0x81, 0x80]), Some((128, 2)));
    }

    #[test]
    fn unknown_birth_days_are_kept_as_digits() {
        assert_eq!(parse_birth(b"19800000"), Some(BirthDate::Unknown(*b"19800000")));
        assert_eq!(parse_birth(b"1980021"), None);
        assert_eq!(parse_birth(b"1980-217"), None);
    }

    #[test]
    fn number_b_is_era_birth_date_expiry_and_code() {
        let b = number_b(date!(1980 - 02 - 17), 2035, "2285").unwrap();
        assert_eq!(b.as_slice(), b"55021720352285", "Showa 55-02-17, 2035, 2285 (10-card.md §5)");
        assert_eq!(number_b(date!(1989 - 01 - 08), 2030, "0001").unwrap().as_slice(), b"01010820300001");
        assert_eq!(number_b(date!(2019 - 05 - 01), 2030, "1234").unwrap().as_slice(), b"01050120301234");
        assert!(number_b(date!(1980 - 02 - 17), 2035, "228").is_err());
        assert!(number_b(date!(1980 - 02 - 17), 2035, "22a5").is_err());
        assert!(number_b(date!(1980 - 02 - 17), 35, "2285").is_err());
    }

    #[test]
    fn ap_basic_info_layout() {
        let info = ap_basic_info(CvKeyId::SANDBOX_INPUT_ASSIST).unwrap();
        assert_eq!(info.len(), 162);
        assert_eq!(&info[..3], &[0xFF, 0x40, 0x81]);
        assert_eq!(info[3], 0x9E);
        assert_eq!(&info[4..11], &[0xDF, 0x41, 0x04, 0x01, 0x03, 0x0E, 0x01]);
        assert_eq!(&info[11..14], &[0xDF, 0x42, 0x10]);
        assert_eq!(&info[14..30], b"6HANKOTEST000033");
        assert_eq!(&info[30..34], &[0xDF, 0x43, 0x81, 0x80]);
    }

    #[test]
    fn card_facts_refuse_the_impossible() {
        let n = || synthetic(b"99000000004");
        let d = date!(1980 - 02 - 17);
        assert!(CardFacts::new(n(), "", "x", d, 1).is_err());
        assert!(CardFacts::new(n(), "x", &"x".repeat(MAX_ADDRESS_CHARS + 1), d, 1).is_err());
        assert!(CardFacts::new(n(), "x", "x", d, 3).is_err());
        assert!(CardFacts::new(n(), "x", "x", date!(1868 - 01 - 01), 1).is_err());
        assert!(CardFacts::new(n(), "x", "x", d, 9).is_ok());
    }
}
