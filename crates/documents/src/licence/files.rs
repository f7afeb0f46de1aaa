//! The licence's files and their TLVs (shared/spec/40-id-documents.md §1): the licence's own
//! TLV rules, JIS X 0208 text, era dates, and each file as a typed value that encodes (the
//! emulator) and parses (the reader).
//!
//! | file | FID | content | access |
//! |---|---|---|---|
//! | MF/EF01 | `2F01` | common data: tag `45` spec version + issue + expiry, tag `46` manufacturer + crypto function | free |
//! | MF/EF02 | `000A` | PIN-set flag (`01` set, `00` not set → `****`) | free |
//! | MF/IEF01, IEF02 | `0001`, `0002` | PIN1, PIN2 (4 ASCII digits, 3 tries) | VERIFY only |
//! | DF1/EF01 | `0001` | entries except 本籍, tags `11`–`33` (880 B) | PIN1 |
//! | DF1/EF02 | `0002` | 本籍, tag `41` (82 B) | PIN1 + PIN2 |
//! | DF1/EF03 | `0003` | 外字 (264 B) | PIN1 |
//! | DF1/EF04 | `0004` | changes after issue (640 B) | PIN1 |
//! | DF1/EF05 | `0005` | 外字 of the changes (663 B) | PIN1 |
//! | DF1/EF06 | `0006` | changes of 本籍 (256 B) | PIN1 + PIN2 |
//! | DF1/EF07 | `0007` | electronic signature (578 B) | PIN1 |
//! | DF2/EF01 | `0001` | photo, tag `5F40`, JPEG 2000 (2000 B) | PIN1 + PIN2 |
//!
//! File sizes are those public readers of real licences use \[S\]; the access of EF03–EF07 is
//! \[I\] (the spec gives it for EF01, EF02 and the photo only). Every file is fixed-length: the
//! TLVs, the end tag `FF`, then `FF` padding \[I\].

use encoding_rs::EUC_JP;
use time::{Date, Month};

use hanko_pki::Era;

/// DF1 (the licence data) AID \[V\].
pub const DF1_AID: [u8; 16] = [0xA0, 0, 0, 0x02, 0x31, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
/// DF2 (the photo) AID \[V\].
pub const DF2_AID: [u8; 16] = [0xA0, 0, 0, 0x02, 0x31, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
/// DF3 AID \[V\] (no file of DF3 is in the spec; the emulator selects it and holds nothing).
pub const DF3_AID: [u8; 16] = [0xA0, 0, 0, 0x02, 0x48, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

/// MF/EF01, the common data.
pub const FID_COMMON: u16 = 0x2F01;
/// MF/EF02, the PIN-set flag.
pub const FID_PIN_FLAG: u16 = 0x000A;
/// MF/IEF01 (PIN1) and DF1/EF01, DF2/EF01.
pub const FID_01: u16 = 0x0001;
/// MF/IEF02 (PIN2) and DF1/EF02.
pub const FID_02: u16 = 0x0002;

/// Fixed sizes of DF1/EF01…EF07 \[S\].
pub const DF1_SIZES: [usize; 7] = [880, 82, 264, 640, 663, 256, 578];
/// Size of DF2/EF01 (the photo) \[S\]; larger when the photo needs it.
pub const PHOTO_SIZE: usize = 2000;
/// Largest file the reader accepts (a budget on what a hostile chip can make it read).
pub const MAX_FILE_LEN: usize = 16 * 1024;
/// Most TLVs parsed from one file.
pub const MAX_TLVS: usize = 128;

/// The end tag: the data of a file stops here \[V\].
pub const END_TAG: u16 = 0xFF;

/// A licence file that does not parse. Names the file (`"DF1/EF01"`) and the place.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    /// The TLV structure ended inside a tag, length or value.
    #[error("{file}: TLV truncated at byte {at}")]
    Truncated {
        /// Which file.
        file: &'static str,
        /// Offset.
        at: usize,
    },
    /// A length form the licence does not use (`80`, `83`…).
    #[error("{file}: length form {form:#04x} refused at byte {at}")]
    BadLength {
        /// Which file.
        file: &'static str,
        /// The first length byte.
        form: u8,
        /// Offset.
        at: usize,
    },
    /// More TLVs than [`MAX_TLVS`].
    #[error("{file}: more than {MAX_TLVS} TLVs")]
    TooMany {
        /// Which file.
        file: &'static str,
    },
    /// A tag appears twice.
    #[error("{file}: tag {tag:#04x} twice")]
    Duplicate {
        /// Which file.
        file: &'static str,
        /// The tag.
        tag: u16,
    },
    /// A required tag is missing.
    #[error("{file}: tag {tag:#04x} missing")]
    Missing {
        /// Which file.
        file: &'static str,
        /// The tag.
        tag: u16,
    },
    /// A value has the wrong form (length, characters, date).
    #[error("{file}: tag {tag:#04x}: {why}")]
    BadValue {
        /// Which file.
        file: &'static str,
        /// The tag.
        tag: u16,
        /// What is wrong.
        why: &'static str,
    },
}

/// One licence TLV: a 1-byte tag (2 bytes for `5F xx`), a length of 1 byte (`00`–`7F`) or
/// `81 ll` / `82 hh ll` \[V\].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// The tag (`0x12`, `0x5F40`).
    pub tag: u16,
    /// The value.
    pub value: &'a [u8],
}

/// Parses the TLVs of a file up to the end tag `FF` (or the end of the input). Bounded:
/// at most [`MAX_TLVS`], never reads past `input`.
pub fn parse_tlvs<'a>(file: &'static str, input: &'a [u8]) -> Result<Vec<Tlv<'a>>, FileError> {
    let mut out = Vec::new();
    let mut i = 0usize;
    while i < input.len() {
        let first = input[i];
        if u16::from(first) == END_TAG {
            break;
        }
        if out.len() == MAX_TLVS {
            return Err(FileError::TooMany { file });
        }
        let tag_start = i;
        let tag = if first == 0x5F {
            let second = *input.get(i + 1).ok_or(FileError::Truncated { file, at: i + 1 })?;
            i += 2;
            0x5F00 | u16::from(second)
        } else {
            i += 1;
            u16::from(first)
        };
        let form = *input.get(i).ok_or(FileError::Truncated { file, at: i })?;
        i += 1;
        let len = match form {
            0x00..=0x7F => usize::from(form),
            0x81 => {
                let b = *input.get(i).ok_or(FileError::Truncated { file, at: i })?;
                i += 1;
                usize::from(b)
            }
            0x82 => {
                let b = input.get(i..i + 2).ok_or(FileError::Truncated { file, at: i })?;
                i += 2;
                usize::from(u16::from_be_bytes([b[0], b[1]]))
            }
            _ => return Err(FileError::BadLength { file, form, at: i - 1 }),
        };
        let value = input.get(i..i + len).ok_or(FileError::Truncated { file, at: tag_start })?;
        i += len;
        out.push(Tlv { tag, value });
    }
    Ok(out)
}

/// Encodes one licence TLV (the emulator's side).
pub fn encode_tlv(tag: u16, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 5);
    if tag > 0xFF {
        out.extend_from_slice(&tag.to_be_bytes());
    } else {
        out.push(tag as u8);
    }
    let n = value.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let n = u16::try_from(n).unwrap_or(u16::MAX);
        out.push(0x82);
        out.extend_from_slice(&n.to_be_bytes());
    }
    out.extend_from_slice(value);
    out
}

/// The TLVs, the end tag and `FF` padding to `size` (or past it when they need more).
pub fn pad_file(mut body: Vec<u8>, size: usize) -> Vec<u8> {
    body.push(0xFF);
    if body.len() < size {
        body.resize(size, 0xFF);
    }
    body
}

/// The tags of a file, each at most once, by tag.
struct Tags<'a> {
    file: &'static str,
    tlvs: Vec<Tlv<'a>>,
}

impl<'a> Tags<'a> {
    fn parse(file: &'static str, input: &'a [u8]) -> Result<Tags<'a>, FileError> {
        let tlvs = parse_tlvs(file, input)?;
        for (n, t) in tlvs.iter().enumerate() {
            if tlvs[..n].iter().any(|u| u.tag == t.tag) {
                return Err(FileError::Duplicate { file, tag: t.tag });
            }
        }
        Ok(Tags { file, tlvs })
    }

    fn get(&self, tag: u16) -> Option<&'a [u8]> {
        self.tlvs.iter().find(|t| t.tag == tag).map(|t| t.value)
    }

    fn need(&self, tag: u16) -> Result<&'a [u8], FileError> {
        self.get(tag).ok_or(FileError::Missing { file: self.file, tag })
    }

    fn bad(&self, tag: u16, why: &'static str) -> FileError {
        FileError::BadValue { file: self.file, tag, why }
    }

    fn text(&self, tag: u16) -> Result<JisText, FileError> {
        JisText::decode(self.need(tag)?).map_err(|why| self.bad(tag, why))
    }

    fn opt_text(&self, tag: u16) -> Result<Option<JisText>, FileError> {
        match self.get(tag) {
            None | Some([]) => Ok(None),
            Some(v) => JisText::decode(v).map(Some).map_err(|why| self.bad(tag, why)),
        }
    }

    fn ascii(&self, tag: u16) -> Result<String, FileError> {
        let v = self.need(tag)?;
        if !v.iter().all(|b| b.is_ascii_graphic()) {
            return Err(self.bad(tag, "not printable ASCII"));
        }
        Ok(String::from_utf8_lossy(v).into_owned())
    }

    fn date(&self, tag: u16) -> Result<EraDate, FileError> {
        EraDate::parse(self.need(tag)?).map_err(|why| self.bad(tag, why))
    }
}

// --- JIS X 0208 text ----------------------------------------------------------------------

/// A piece of licence text: JIS X 0208 characters, or a 外字 reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JisPiece {
    /// Characters of JIS X 0208, as Unicode.
    Text(String),
    /// A 外字 (a character outside JIS X 0208) reference `0xFFF1`–`0xFFF7`: its number 1–7.
    /// The glyph is a bitmap in DF1/EF03 (EF05 for changes); it has no Unicode form.
    Gaiji(u8),
}

/// Licence text: JIS X 0208 as stored on the chip (two bytes `21`–`7E` per character, no
/// escape sequences \[S\]) with 外字 references.
///
/// Decoding goes through **EUC-JP** (the `encoding_rs` crate): a raw JIS X 0208 code with the
/// high bit of both bytes set *is* its EUC-JP form, so the conversion is stateless and a 外字
/// reference can be cut out between two characters with no escape state to carry, as the
/// ISO-2022-JP form (`ESC $ B` … `ESC ( B`) would need. Characters outside JIS X 0208 (half-width
/// kana, JIS X 0212) cannot be written: the encoder refuses them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JisText(pub Vec<JisPiece>);

/// What a 外字 is shown as: 〓 (U+3013, GETA MARK), as Japanese systems mark a missing glyph.
pub const GAIJI_MARK: char = '\u{3013}';

impl JisText {
    /// Text of JIS X 0208 characters only.
    pub fn plain(s: &str) -> JisText {
        JisText(vec![JisPiece::Text(s.to_owned())])
    }

    /// Decodes the stored bytes. Errors say why (odd length, a byte outside JIS X 0208).
    pub fn decode(bytes: &[u8]) -> Result<JisText, &'static str> {
        if !bytes.len().is_multiple_of(2) {
            return Err("JIS X 0208 text of odd length");
        }
        let mut pieces = Vec::new();
        let mut euc = Vec::new();
        let flush = |euc: &mut Vec<u8>, pieces: &mut Vec<JisPiece>| -> Result<(), &'static str> {
            if euc.is_empty() {
                return Ok(());
            }
            let s =
                EUC_JP.decode_without_bom_handling_and_without_replacement(euc).ok_or("not a JIS X 0208 character")?;
            pieces.push(JisPiece::Text(s.into_owned()));
            euc.clear();
            Ok(())
        };
        for pair in bytes.chunks_exact(2) {
            match (pair[0], pair[1]) {
                (0xFF, n @ 0xF1..=0xF7) => {
                    flush(&mut euc, &mut pieces)?;
                    pieces.push(JisPiece::Gaiji(n - 0xF0));
                }
                (a @ 0x21..=0x7E, b @ 0x21..=0x7E) => {
                    euc.push(a | 0x80);
                    euc.push(b | 0x80);
                }
                _ => return Err("a byte outside JIS X 0208"),
            }
        }
        flush(&mut euc, &mut pieces)?;
        Ok(JisText(pieces))
    }

    /// Encodes for the chip. Refuses characters outside JIS X 0208.
    pub fn encode(&self) -> Result<Vec<u8>, &'static str> {
        let mut out = Vec::new();
        for p in &self.0 {
            match p {
                JisPiece::Gaiji(n @ 1..=7) => out.extend_from_slice(&[0xFF, 0xF0 + n]),
                JisPiece::Gaiji(_) => return Err("外字 reference outside 1–7"),
                JisPiece::Text(s) => {
                    let (bytes, _, errors) = EUC_JP.encode(s);
                    if errors || bytes.len() % 2 != 0 || !bytes.iter().all(|b| (0xA1..=0xFE).contains(b)) {
                        return Err("a character outside JIS X 0208");
                    }
                    out.extend(bytes.iter().map(|b| b & 0x7F));
                }
            }
        }
        Ok(out)
    }

    /// Whether a 外字 is in the text.
    pub fn has_gaiji(&self) -> bool {
        self.0.iter().any(|p| matches!(p, JisPiece::Gaiji(_)))
    }
}

impl core::fmt::Display for JisText {
    /// The text with each 外字 shown as [`GAIJI_MARK`].
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for p in &self.0 {
            match p {
                JisPiece::Text(s) => f.write_str(s)?,
                JisPiece::Gaiji(_) => write!(f, "{GAIJI_MARK}")?,
            }
        }
        Ok(())
    }
}

// --- era dates ----------------------------------------------------------------------------

/// A licence date: 7 ASCII characters, era digit (1 明治 … 5 令和) + YYMMDD \[V\]; `000000`
/// after the era digit means "not held" (a licence class the holder does not have).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EraDate {
    /// A date.
    Date(Date),
    /// `000000`: the class is not held.
    NotHeld,
}

impl EraDate {
    /// Parses the 7 characters; the era digit must match the date (no 平成 date before 1989-01-08).
    pub fn parse(b: &[u8]) -> Result<EraDate, &'static str> {
        if b.len() != 7 || !b.iter().all(u8::is_ascii_digit) {
            return Err("an era date is 7 ASCII digits");
        }
        if &b[1..] == b"000000" {
            return Ok(EraDate::NotHeld);
        }
        let era = Era::from_code(b[0] - b'0').ok_or("era digit not 1–5")?;
        let two = |i: usize| i32::from(b[i] - b'0') * 10 + i32::from(b[i + 1] - b'0');
        let year = era.first_day().year() + two(1) - 1;
        let month = Month::try_from(two(3) as u8).map_err(|_| "month out of range")?;
        let date = Date::from_calendar_date(year, month, two(5) as u8).map_err(|_| "no such date")?;
        match Era::of(date) {
            Ok(e) if e == era && two(1) >= 1 => Ok(EraDate::Date(date)),
            _ => Err("date outside its era"),
        }
    }

    /// The 7 characters (the emulator's side).
    pub fn encode(self) -> [u8; 7] {
        let mut out = *b"0000000";
        if let EraDate::Date(d) = self {
            if let Ok((era, y)) = Era::year_of(d) {
                let s = format!("{}{:02}{:02}{:02}", era.code(), y % 100, d.month() as u8, d.day());
                out.copy_from_slice(s.as_bytes());
            }
        }
        out
    }

    /// The date, if held.
    pub fn date(self) -> Option<Date> {
        match self {
            EraDate::Date(d) => Some(d),
            EraDate::NotHeld => None,
        }
    }
}

fn bcd_date(b: &[u8]) -> Option<Date> {
    let digits: Option<Vec<u8>> = b.iter().flat_map(|x| [x >> 4, x & 0x0F]).map(|d| (d < 10).then_some(d)).collect();
    let d = digits?;
    let n = |r: core::ops::Range<usize>| d[r].iter().fold(0i32, |a, x| a * 10 + i32::from(*x));
    let month = Month::try_from(u8::try_from(n(4..6)).ok()?).ok()?;
    Date::from_calendar_date(n(0..4), month, u8::try_from(n(6..8)).ok()?).ok()
}

fn encode_bcd_date(d: Date) -> [u8; 4] {
    let s = format!("{:04}{:02}{:02}", d.year(), d.month() as u8, d.day());
    let b = s.as_bytes();
    let mut out = [0u8; 4];
    for (i, o) in out.iter_mut().enumerate() {
        *o = ((b[2 * i] - b'0') << 4) | (b[2 * i + 1] - b'0');
    }
    out
}

// --- MF/EF01 common data and MF/EF02 PIN-set flag -----------------------------------------

/// The crypto function id of tag `46` (second byte): which signature EF07 holds \[V field\].
/// The values are \[I\]: the public spec gives the field, not the codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CryptoFunction(pub u8);

impl CryptoFunction {
    /// RSA-2048, PKCS#1 v1.5, SHA-256 over DF1/EF01 ‖ DF1/EF02 ‖ DF2/EF01 \[S algorithm, I code\].
    pub const RSA2048_SHA256: CryptoFunction = CryptoFunction(0x01);
}

/// MF/EF01: the common data, readable without a PIN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommonData {
    /// Spec version (3 ASCII characters, e.g. `008`).
    pub spec_version: String,
    /// Issue date of the card (4 BCD bytes YYYYMMDD).
    pub issued: Date,
    /// Expiry of the card (4 BCD bytes).
    pub expires: Date,
    /// Manufacturer id.
    pub manufacturer: u8,
    /// Crypto function id.
    pub crypto: CryptoFunction,
}

const F_COMMON: &str = "MF/EF01";

impl CommonData {
    /// Parses MF/EF01.
    pub fn parse(bytes: &[u8]) -> Result<CommonData, FileError> {
        let tags = Tags::parse(F_COMMON, bytes)?;
        let v = tags.need(0x45)?;
        if v.len() != 11 || !v[..3].iter().all(u8::is_ascii_graphic) {
            return Err(tags.bad(0x45, "not 3 ASCII + 4 BCD + 4 BCD"));
        }
        let issued = bcd_date(&v[3..7]).ok_or(tags.bad(0x45, "issue date not BCD YYYYMMDD"))?;
        let expires = bcd_date(&v[7..11]).ok_or(tags.bad(0x45, "expiry not BCD YYYYMMDD"))?;
        let m = tags.need(0x46)?;
        let [manufacturer, crypto] = m else { return Err(tags.bad(0x46, "not 2 bytes")) };
        Ok(CommonData {
            spec_version: String::from_utf8_lossy(&v[..3]).into_owned(),
            issued,
            expires,
            manufacturer: *manufacturer,
            crypto: CryptoFunction(*crypto),
        })
    }

    /// Encodes MF/EF01.
    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(11);
        let mut ver = self.spec_version.as_bytes().to_vec();
        ver.resize(3, b'0');
        v.extend_from_slice(&ver[..3]);
        v.extend_from_slice(&encode_bcd_date(self.issued));
        v.extend_from_slice(&encode_bcd_date(self.expires));
        let mut out = encode_tlv(0x45, &v);
        out.extend(encode_tlv(0x46, &[self.manufacturer, self.crypto.0]));
        out
    }
}

/// Tag of the PIN-set flag in MF/EF02 \[I\] (the spec names the value's bit b1, not the tag;
/// the reader takes the first TLV whatever its tag).
pub const TAG_PIN_FLAG: u16 = 0xC1;

/// Parses MF/EF02: `true` when the holder set PINs, `false` when both are `****` \[V\].
pub fn parse_pin_flag(bytes: &[u8]) -> Result<bool, FileError> {
    let tlvs = parse_tlvs("MF/EF02", bytes)?;
    let t = tlvs.first().ok_or(FileError::Missing { file: "MF/EF02", tag: TAG_PIN_FLAG })?;
    let b = t.value.first().ok_or(FileError::BadValue { file: "MF/EF02", tag: t.tag, why: "empty" })?;
    Ok(b & 0x01 == 0x01)
}

/// Encodes MF/EF02.
pub fn encode_pin_flag(set: bool) -> Vec<u8> {
    encode_tlv(TAG_PIN_FLAG, &[u8::from(set)])
}

// --- DF1/EF01 the entries -----------------------------------------------------------------

/// The licence classes with a date each, tags `22`–`33` in order \[V\] (names as the NPA spec
/// labels them \[S\]).
pub const CLASSES: [(u16, &str, &str); 18] = [
    (0x22, "class_ni_sho_gen", "免許の年月日(二・小・原)"),
    (0x23, "class_other", "免許の年月日(他)"),
    (0x24, "class_second", "免許の年月日(二種)"),
    (0x25, "class_large", "免許の年月日(大型)"),
    (0x26, "class_ordinary", "免許の年月日(普通)"),
    (0x27, "class_large_special", "免許の年月日(大特)"),
    (0x28, "class_large_motorcycle", "免許の年月日(大自二)"),
    (0x29, "class_ordinary_motorcycle", "免許の年月日(普自二)"),
    (0x2A, "class_small_special", "免許の年月日(小特)"),
    (0x2B, "class_moped", "免許の年月日(原付)"),
    (0x2C, "class_towing", "免許の年月日(け引)"),
    (0x2D, "class_large_second", "免許の年月日(大二)"),
    (0x2E, "class_ordinary_second", "免許の年月日(普二)"),
    (0x2F, "class_large_special_second", "免許の年月日(大特二)"),
    (0x30, "class_towing_second", "免許の年月日(け引二)"),
    (0x31, "class_medium", "免許の年月日(中型)"),
    (0x32, "class_medium_second", "免許の年月日(中二)"),
    (0x33, "class_semi_medium", "免許の年月日(準中型)"),
];

/// DF1/EF01: the licence entries except 本籍 \[V tags\].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entries {
    /// `11` JIS X 0208 edition (ASCII, e.g. `1997`) \[I form\].
    pub jis_edition: String,
    /// `12` 氏名.
    pub name: JisText,
    /// `13` 呼び名 (reading, kana).
    pub kana: Option<JisText>,
    /// `14` 通称名.
    pub alias: Option<JisText>,
    /// `15` 統一氏名 (kana).
    pub unified_name: Option<JisText>,
    /// `16` 生年月日.
    pub birth: Date,
    /// `17` 住所.
    pub address: JisText,
    /// `18` 交付年月日.
    pub issued: Date,
    /// `19` 照会番号 (reference number, ASCII).
    pub reference: String,
    /// `1A` 免許証の色区分 (優良 / 一般 / 違反 / 初回).
    pub colour: JisText,
    /// `1B` 有効期間の末日.
    pub expiry: Date,
    /// `1C`–`1F` 免許の条件 1–4 (empty when none).
    pub conditions: [Option<JisText>; 4],
    /// `20` 公安委員会名.
    pub commission: JisText,
    /// `21` 免許証の番号 (12 ASCII digits).
    pub number: String,
    /// `22`–`33` the date of each class ([`CLASSES`] order); `NotHeld` when not held.
    pub classes: [EraDate; 18],
}

const F_ENTRIES: &str = "DF1/EF01";

fn held(t: &Tags<'_>, tag: u16) -> Result<Date, FileError> {
    t.date(tag)?.date().ok_or(t.bad(tag, "date required"))
}

impl Entries {
    /// Parses DF1/EF01.
    pub fn parse(bytes: &[u8]) -> Result<Entries, FileError> {
        let t = Tags::parse(F_ENTRIES, bytes)?;
        let mut classes = [EraDate::NotHeld; 18];
        for (c, (tag, _, _)) in classes.iter_mut().zip(CLASSES) {
            if t.get(tag).is_some() {
                *c = t.date(tag)?;
            }
        }
        let number = t.ascii(0x21)?;
        if number.len() != 12 || !number.bytes().all(|b| b.is_ascii_digit()) {
            return Err(t.bad(0x21, "licence number is not 12 digits"));
        }
        Ok(Entries {
            jis_edition: t.ascii(0x11)?,
            name: t.text(0x12)?,
            kana: t.opt_text(0x13)?,
            alias: t.opt_text(0x14)?,
            unified_name: t.opt_text(0x15)?,
            birth: held(&t, 0x16)?,
            address: t.text(0x17)?,
            issued: held(&t, 0x18)?,
            reference: t.ascii(0x19)?,
            colour: t.text(0x1A)?,
            expiry: held(&t, 0x1B)?,
            conditions: [t.opt_text(0x1C)?, t.opt_text(0x1D)?, t.opt_text(0x1E)?, t.opt_text(0x1F)?],
            commission: t.text(0x20)?,
            number,
            classes,
        })
    }

    /// Encodes DF1/EF01 (fixed 880 bytes).
    pub fn encode(&self) -> Result<Vec<u8>, &'static str> {
        let opt = |t: &Option<JisText>| t.as_ref().map(JisText::encode).transpose().map(Option::unwrap_or_default);
        let mut b = Vec::new();
        b.extend(encode_tlv(0x11, self.jis_edition.as_bytes()));
        b.extend(encode_tlv(0x12, &self.name.encode()?));
        b.extend(encode_tlv(0x13, &opt(&self.kana)?));
        b.extend(encode_tlv(0x14, &opt(&self.alias)?));
        b.extend(encode_tlv(0x15, &opt(&self.unified_name)?));
        b.extend(encode_tlv(0x16, &EraDate::Date(self.birth).encode()));
        b.extend(encode_tlv(0x17, &self.address.encode()?));
        b.extend(encode_tlv(0x18, &EraDate::Date(self.issued).encode()));
        b.extend(encode_tlv(0x19, self.reference.as_bytes()));
        b.extend(encode_tlv(0x1A, &self.colour.encode()?));
        b.extend(encode_tlv(0x1B, &EraDate::Date(self.expiry).encode()));
        for (i, c) in self.conditions.iter().enumerate() {
            b.extend(encode_tlv(0x1C + i as u16, &opt(c)?));
        }
        b.extend(encode_tlv(0x20, &self.commission.encode()?));
        b.extend(encode_tlv(0x21, self.number.as_bytes()));
        for (d, (tag, _, _)) in self.classes.iter().zip(CLASSES) {
            b.extend(encode_tlv(tag, &d.encode()));
        }
        Ok(pad_file(b, DF1_SIZES[0]))
    }
}

// --- DF1/EF02 本籍, EF03/EF05 外字, EF04/EF06 changes, DF2/EF01 photo ----------------------

/// Parses DF1/EF02: 本籍, tag `41` \[V\].
pub fn parse_honseki(bytes: &[u8]) -> Result<JisText, FileError> {
    Tags::parse("DF1/EF02", bytes)?.text(0x41)
}

/// Encodes DF1/EF02 (82 bytes).
pub fn encode_honseki(t: &JisText) -> Result<Vec<u8>, &'static str> {
    Ok(pad_file(encode_tlv(0x41, &t.encode()?), DF1_SIZES[1]))
}

/// 外字 glyphs of DF1/EF03 (EF05): tags `48`, `49` \[S\], each a bitmap kept as stored. Which
/// reference `FFF1`–`FFF7` selects which glyph is not in the public spec \[I\]: the reader keeps
/// the bitmaps and shows each reference as [`GAIJI_MARK`].
pub fn parse_gaiji(file: &'static str, bytes: &[u8]) -> Result<Vec<(u16, Vec<u8>)>, FileError> {
    Ok(parse_tlvs(file, bytes)?
        .into_iter()
        .filter(|t| !t.value.is_empty())
        .map(|t| (t.tag, t.value.to_vec()))
        .collect())
}

/// Encodes a 外字 file: the glyphs under `48`, `49`, … padded to `size`.
pub fn encode_gaiji(glyphs: &[Vec<u8>], size: usize) -> Vec<u8> {
    let mut b = Vec::new();
    for (i, g) in glyphs.iter().enumerate() {
        b.extend(encode_tlv(0x48 + i as u16, g));
    }
    pad_file(b, size)
}

/// One entry changed after issue (記載事項変更, written at a police station, not signed).
/// The layout is \[I\]: in EF04/EF06 after tag `50` (追記の有無, \[S\]) each entry is a
/// constructed tag `51` holding `52` the date (era date), `53` the commission (JIS), `54` the
/// new content (JIS, e.g. 新住所 …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeEntry {
    /// When.
    pub date: Date,
    /// Which commission wrote it.
    pub commission: JisText,
    /// What it says.
    pub content: JisText,
}

/// Most change entries read from one file.
pub const MAX_CHANGES: usize = 16;

/// Parses EF04 / EF06: the change entries.
pub fn parse_changes(file: &'static str, bytes: &[u8]) -> Result<Vec<ChangeEntry>, FileError> {
    let mut out = Vec::new();
    for t in parse_tlvs(file, bytes)? {
        match t.tag {
            0x50 => {}
            0x51 => {
                if out.len() == MAX_CHANGES {
                    return Err(FileError::TooMany { file });
                }
                let inner = Tags::parse(file, t.value)?;
                out.push(ChangeEntry {
                    date: held(&inner, 0x52)?,
                    commission: inner.text(0x53)?,
                    content: inner.text(0x54)?,
                });
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Encodes EF04 / EF06.
pub fn encode_changes(entries: &[ChangeEntry], size: usize) -> Result<Vec<u8>, &'static str> {
    let mut b = encode_tlv(0x50, &[u8::from(!entries.is_empty())]);
    for e in entries {
        let mut inner = encode_tlv(0x52, &EraDate::Date(e.date).encode());
        inner.extend(encode_tlv(0x53, &e.commission.encode()?));
        inner.extend(encode_tlv(0x54, &e.content.encode()?));
        b.extend(encode_tlv(0x51, &inner));
    }
    Ok(pad_file(b, size))
}

/// Parses DF2/EF01: the photo under `5F40` \[V\] (JPEG 2000, checked by its signature box or
/// codestream marker).
pub fn parse_photo(bytes: &[u8]) -> Result<Vec<u8>, FileError> {
    let t = Tags::parse("DF2/EF01", bytes)?;
    let p = t.need(0x5F40)?;
    let jp2_box = p.len() > 12 && p[4..8] == *b"jP  ";
    let j2k = p.starts_with(&[0xFF, 0x4F]);
    if !(jp2_box || j2k) {
        return Err(t.bad(0x5F40, "not JPEG 2000"));
    }
    Ok(p.to_vec())
}

/// Encodes DF2/EF01.
pub fn encode_photo(jp2: &[u8]) -> Vec<u8> {
    pad_file(encode_tlv(0x5F40, jp2), PHOTO_SIZE)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn jis_round_trip_with_gaiji() {
        let t = JisText(vec![JisPiece::Text("見本".into()), JisPiece::Gaiji(3), JisPiece::Text("花子　ア１".into())]);
        let b = t.encode().unwrap();
        assert_eq!(&b[..4], &[0x38, 0x2B, 0x4B, 0x5C]); // 見 = 0x382B, 本 = 0x4B5C
        assert_eq!(&b[4..6], &[0xFF, 0xF3]);
        assert_eq!(JisText::decode(&b).unwrap(), t);
        assert_eq!(t.to_string(), "見本〓花子　ア１");
        assert!(JisText::plain("ｱ").encode().is_err(), "half-width kana is not JIS X 0208");
        assert!(JisText::plain("A").encode().is_err());
        assert!(JisText::decode(&[0x38]).is_err());
        assert!(JisText::decode(&[0x80, 0x21]).is_err());
    }

    #[test]
    fn era_dates() {
        let d = Date::from_calendar_date(1989, Month::January, 8).unwrap();
        assert_eq!(&EraDate::Date(d).encode(), b"4010108");
        assert_eq!(EraDate::parse(b"4010108").unwrap(), EraDate::Date(d));
        assert_eq!(EraDate::parse(b"3640107").unwrap().date().unwrap().year(), 1989);
        assert!(EraDate::parse(b"4010107").is_err(), "平成 began on the 8th");
        assert_eq!(EraDate::parse(b"0000000").unwrap(), EraDate::NotHeld);
        assert_eq!(EraDate::parse(b"5000000").unwrap(), EraDate::NotHeld);
        assert!(EraDate::parse(b"6010101").is_err());
        assert!(EraDate::parse(b"501013").is_err());
    }

    #[test]
    fn tlvs_follow_the_licence_rules() {
        // 1F is a one-byte tag here (condition 4), not BER's "more tag bytes".
        let t = parse_tlvs("x", &[0x1F, 0x01, 0xAA, 0x5F, 0x40, 0x82, 0x00, 0x01, 0xBB, 0xFF, 0x00]).unwrap();
        assert_eq!(t, vec![Tlv { tag: 0x1F, value: &[0xAA] }, Tlv { tag: 0x5F40, value: &[0xBB] }]);
        assert!(matches!(parse_tlvs("x", &[0x12, 0x05, 1]), Err(FileError::Truncated { .. })));
        assert!(matches!(parse_tlvs("x", &[0x12, 0x83, 0, 0, 1]), Err(FileError::BadLength { .. })));
        assert!(matches!(parse_tlvs("x", &[0x5F]), Err(FileError::Truncated { .. })));
    }
}
