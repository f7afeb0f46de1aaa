//! The 券面AP (card-face AP, `D3 92 10 00 31 00 01 01 04 02`): the card's face as images — name,
//! address, photo, security code — with the birth date, sex and expiry, signed under the sandbox
//! CV hierarchy (shared/spec/10-card.md §2, §5, §7).
//!
//! | EF | contents | opened by |
//! |---|---|---|
//! | `0001` | age record `FF 10 { DF11 birth date YYYYMMDD, DF12 chip key, DF13 signature }` | birth-date key |
//! | `0002` | card face `FF 20 82 xx xx { DF21 … DF2A }` (below) | 照合番号A or 照合番号B |
//! | `0003` | AP basic info `FF 30 { DF31 AP id, DF32 signer key ID, DF33 version, DF34 municipality code }` | free |
//! | `0004` | CV certificate of the card-face data-signing key (568 bytes, [`crate::CvCertificate`]) | free |
//! | `0005` | rendered My Number `FF 40 { DF41 PNG, DF42 chip key, DF43 signature }` | 照合番号A only |
//! | `0011` | birth-date key: era `YYMMDD`, 6 digits, 10 tries \[I: tries\] · `0012` 照合番号B, 14 digits, 10 tries · `0013` 照合番号A, 12 digits, 10 tries · `001A` chip challenge key (`80 2A 00 00`, no PIN) | |
//!
//! The card face (EF `0002`):
//!
//! ```text
//! FF 20 82 hi lo
//!   DF 21 12        nine big-endian u16 offsets (from file start) of the DF22 … DF2A tags
//!   DF 22 08        birth date YYYYMMDD (Gregorian)
//!   DF 23 01        sex, one ASCII digit (JIS X 0303)
//!   DF 24 82 01 09  the chip challenge key (key 001A): 90 03 01 00 01 91 82 01 00 <modulus 256>
//!   DF 25 <n>       name image, PNG, 1 bit per pixel
//!   DF 26 <n>       address image, PNG, 1 bit per pixel
//!   DF 27 <n>       photo, JPEG 2000 (JP2), greyscale
//!   DF 28 82 01 00  signature (below)
//!   DF 29 08        card expiry YYYYMMDD
//!   DF 2A <n>       security code image, PNG, 1 bit per pixel
//! ```
//!
//! DF28 is RSASSA-PKCS1-v1_5 with the card-face data-signing key over
//! `DigestInfo { sha256, OCTET STRING (96) }`, the 96 bytes being SHA-256(DF22‖DF23‖DF24 TLVs) ‖
//! SHA-256(DF25‖DF26 TLVs) ‖ SHA-256(DF27 TLV); DF29 and DF2A are not covered. A 96-byte value
//! under the SHA-256 OID is not a standard DigestInfo, so no hash-aware API signs or verifies it:
//! the DigestInfo is DER-encoded with the `der` crate ([`CardFace::signed_digest_info`]) and
//! padded as given — `rsa`'s `Pkcs1v15Sign::new_unprefixed()` on both sides, exactly what the
//! card's own `80 2A 00 80` does with data it is handed.
//!
//! What is not public is marked \[I\] and chosen here: the key encoding of DF24 / DF12 / DF42
//! (the CV-certificate style of the input-assist AP's EF `0007`), the content of EF `0001`
//! (DF11 is the birth date, DF12 the chip key, DF13 PKCS#1 v1.5 SHA-256 over the DF11‖DF12 TLVs)
//! and of EF `0005` (DF42 the chip key, DF43 PKCS#1 v1.5 SHA-256 over the DF41‖DF42 TLVs), both
//! signed by the card-face data-signing key, and the values of EF `0003` apart from DF34 (DF31
//! `01 03 0E 01` as in the input-assist AP, DF32 the data-signing key ID, DF33 `01`); its four
//! TLVs are what a reader of real cards expects, and one fails without DF33.
//!
//! **Images are sandbox images.** With a font ([`card_face_app_with_font`], [`crate::FaceFont`])
//! the name, address, security code and My Number are drawn as text at card-face sizes, each
//! marked "見本 SAMPLE JPKI-TEST". Without one (the placeholder, [`card_face_app`]) no font is
//! rendered: each character becomes an 8×8 "glyph" whose
//! rows are the first 8 bytes of SHA-256(`"hanko synthetic glyph\0"` ‖ UTF-8 of the character),
//! in a 10×10 cell, white background, whitespace blank ([`synthetic_text_png`]). The images are
//! deterministic in the text, look like nothing a person could read, and are valid 1-bit PNGs.
//! The photo is [`SYNTHETIC_PORTRAIT_JP2`], a drawn head made by `scripts/gen-portrait.sh`.

use core::fmt;

use der::asn1::OctetStringRef;
use der::{AnyRef, Encode};
use hanko_pki::spki::{AlgorithmIdentifier, SubjectPublicKeyInfoOwned};
use hanko_pki::time::{Date, Month};
use hanko_pki::{BirthDate, DigestAlgorithm, Era, RsaPublicKey, SignatureAlgorithm, Signer};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePublicKey};
use zeroize::Zeroizing;

use crate::chip::{ChipKey, ChipKeyError, Pin, PinFormat};
use crate::cv::{rsa2048_modulus, sha256, CardDataError, CvIssueError, CvIssuer, VerifiedCvCertificate};
use crate::emulator::{Access, Application, Fid, Object};
use crate::input_assist::{number_b, parse_len, CardFacts, Tlvs};
use crate::layout::AID_CARD_FACE;

/// EFs and keys of the 券面AP (10-card.md §7).
pub mod ef {
    use crate::emulator::Fid;
    /// Age record `FF 10 { DF11 DF12 DF13 }`, opened by the birth-date key.
    pub const AGE_RECORD: Fid = Fid(0x0001);
    /// The card face `FF 20 { DF21 … DF2A }`, opened by either 照合番号.
    pub const FACE: Fid = Fid(0x0002);
    /// AP basic info `FF 30 { DF31 DF32 DF33 DF34 }` (free).
    pub const AP_INFO: Fid = Fid(0x0003);
    /// CV certificate of the card-face data-signing key (568 bytes, free).
    pub const CV_CERTIFICATE: Fid = Fid(0x0004);
    /// The rendered My Number `FF 40 { DF41 DF42 DF43 }`, opened by 照合番号A only.
    pub const MY_NUMBER_IMAGE: Fid = Fid(0x0005);
    /// Birth-date key: era `YYMMDD` (6 digits).
    pub const BIRTH_DATE_KEY: Fid = Fid(0x0011);
    /// 照合番号B: era birth date YYMMDD ‖ card expiry year ‖ security code (14 digits).
    pub const NUMBER_B: Fid = Fid(0x0012);
    /// 照合番号A: the 12-digit My Number.
    pub const NUMBER_A: Fid = Fid(0x0013);
    /// The chip challenge key (signs with `80 2A 00 00`, no PIN).
    pub const CHIP_KEY: Fid = Fid(0x001A);
}

/// The synthetic portrait every emulated card carries as its photo (DF27): a drawn head, 90×110
/// pixels, 8-bit grey, JPEG 2000 in a JP2 container — made by `scripts/gen-portrait.sh`.
pub const SYNTHETIC_PORTRAIT_JP2: &[u8] = include_bytes!("../assets/portrait.jp2");
/// The JP2 signature box that starts every JP2 file (ISO/IEC 15444-1 Annex I).
pub const JP2_SIGNATURE: [u8; 12] = [0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50, 0x20, 0x20, 0x0D, 0x0A, 0x87, 0x0A];
/// The PNG signature.
pub const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
/// Largest card-face file accepted: what a 15-bit READ BINARY offset reaches.
pub const MAX_CARD_FACE_LEN: usize = 0x7FFF;
/// Largest age record / My Number image / AP info accepted from a card.
pub const MAX_CARD_FACE_RECORD_LEN: usize = 8 * 1024;

/// A JPEG 2000 codestream without the JP2 container starts with SOC and SIZ.
const J2K_CODESTREAM: [u8; 4] = [0xFF, 0x4F, 0xFF, 0x51];
/// Tries of 照合番号A and B \[S\], and of the birth-date key \[I\].
const CODE_TRIES: u8 = 10;
/// `90 03 01 00 01 91 82 01 00`: exponent 65537 and the modulus header (as in EF `0007` of the
/// input-assist AP).
const KEY_HEAD: [u8; 9] = [0x90, 0x03, 0x01, 0x00, 0x01, 0x91, 0x82, 0x01, 0x00];
/// Length of a key value (DF24, DF12, DF42).
const KEY_VALUE_LEN: usize = KEY_HEAD.len() + 256;
/// DF31 of EF `0003`, the AP id (4 bytes) \[I: value\].
const AP_VERSION: [u8; 4] = [0x01, 0x03, 0x0E, 0x01];
/// DF33 of EF `0003`, the version (1 byte) \[I: value\].
const AP_INFO_VERSION: u8 = 0x01;
/// Glyph columns per line of the synthetic images.
const NAME_COLUMNS: usize = 16;
const ADDRESS_COLUMNS: usize = 24;

/// Building the 券面AP was refused (caller misuse or key failure).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CardFaceBuildError {
    /// A field is out of range (its name says which).
    #[error("{0} is out of range or has the wrong format")]
    Field(&'static str),
    /// An image could not be encoded.
    #[error("card-face image: {0}")]
    Image(String),
    /// The CV issuer failed to sign.
    #[error(transparent)]
    Issue(#[from] CvIssueError),
    /// The chip failed to make its challenge key.
    #[error(transparent)]
    Key(#[from] ChipKeyError),
}

// ---- BER-TLV writing and reading (two-byte private tags, shortest definite lengths) ----

fn push_tlv(out: &mut Vec<u8>, tag: [u8; 2], value: &[u8]) -> Result<(), CardFaceBuildError> {
    out.extend_from_slice(&tag);
    match value.len() {
        n @ 0..=0x7F => out.push(n as u8),
        n @ 0x80..=0xFF => out.extend_from_slice(&[0x81, n as u8]),
        n @ 0x100..=0xFFFF => {
            out.push(0x82);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        _ => return Err(CardFaceBuildError::Field("TLV length")),
    }
    out.extend_from_slice(value);
    Ok(())
}

fn tlv(tag: [u8; 2], value: &[u8]) -> Result<Vec<u8>, CardFaceBuildError> {
    let mut out = Vec::with_capacity(value.len() + 5);
    push_tlv(&mut out, tag, value)?;
    Ok(out)
}

/// Parses exactly one TLV with `tag` filling `file`: its value.
fn outer<'a>(file: &'a [u8], tag: [u8; 2], what: &'static str) -> Result<Tlvs<'a>, CardDataError> {
    let mut c = Tlvs { buf: file, pos: 0 };
    let (_, value) = c.expect(tag, what)?;
    if c.pos != file.len() {
        return Err(CardDataError::Malformed(what));
    }
    Ok(Tlvs { buf: file, pos: file.len() - value.len() })
}

// ---- Field encodings ----

fn yyyymmdd(d: Date) -> Result<[u8; 8], CardFaceBuildError> {
    if !(1000..=9999).contains(&d.year()) {
        return Err(CardFaceBuildError::Field("date (year outside 1000-9999)"));
    }
    let s = format!("{:04}{:02}{:02}", d.year(), d.month() as u8, d.day());
    s.as_bytes().try_into().map_err(|_| CardFaceBuildError::Field("date"))
}

fn digits8(v: &[u8]) -> Option<[u8; 8]> {
    let d: [u8; 8] = v.try_into().ok()?;
    d.iter().all(u8::is_ascii_digit).then_some(d)
}

/// The date of 8 ASCII digits `YYYYMMDD`, if it is one.
fn gregorian(digits: &[u8; 8]) -> Option<Date> {
    let num = |r: core::ops::Range<usize>| digits[r].iter().fold(0u16, |a, d| a * 10 + u16::from(d.wrapping_sub(b'0')));
    let month = Month::try_from(u8::try_from(num(4..6)).ok()?).ok()?;
    Date::from_calendar_date(i32::from(num(0..4)), month, u8::try_from(num(6..8)).ok()?).ok()
}

fn birth_date(v: &[u8]) -> Option<BirthDate> {
    let d = digits8(v)?;
    Some(gregorian(&d).map_or(BirthDate::Unknown(d), BirthDate::Known))
}

/// The birth-date key of EF `0011`: the birth date as era `YYMMDD` — e.g. Showa 55-02-17 →
/// `550217`. Zeroised on drop.
pub fn birth_date_key(birth_date: Date) -> Result<Zeroizing<Vec<u8>>, CardFaceBuildError> {
    let (_, year) = Era::year_of(birth_date).map_err(|_| CardFaceBuildError::Field("birth date"))?;
    if !(1..=99).contains(&year) {
        return Err(CardFaceBuildError::Field("birth date (era year above 99)"));
    }
    let s = Zeroizing::new(format!("{year:02}{:02}{:02}", birth_date.month() as u8, birth_date.day()));
    Ok(Zeroizing::new(s.as_bytes().to_vec()))
}

/// A chip key as DF24 / DF12 / DF42 hold it: `90 03 01 00 01 91 82 01 00 <modulus 256>`.
fn key_value(spki: &SubjectPublicKeyInfoOwned) -> Result<Vec<u8>, CardFaceBuildError> {
    let modulus = rsa2048_modulus(spki)?;
    let mut v = Vec::with_capacity(KEY_VALUE_LEN);
    v.extend_from_slice(&KEY_HEAD);
    v.extend_from_slice(&modulus);
    Ok(v)
}

fn check_key_value(v: &[u8], what: &'static str) -> Result<(), CardDataError> {
    if v.len() != KEY_VALUE_LEN || v[..KEY_HEAD.len()] != KEY_HEAD || v[KEY_HEAD.len()] & 0x80 == 0 {
        return Err(CardDataError::Malformed(what));
    }
    Ok(())
}

/// The RSA public key of a checked key value.
pub(crate) fn key_from_value(v: &[u8]) -> Result<RsaPublicKey, CardDataError> {
    check_key_value(v, "chip key is not 90 03 01 00 01 91 82 01 00 <2048-bit modulus>")?;
    let n = rsa::BigUint::from_bytes_be(&v[KEY_HEAD.len()..]);
    let key =
        rsa::RsaPublicKey::new(n, rsa::BigUint::from(65_537u32)).map_err(|e| CardDataError::Key(e.to_string()))?;
    let spki = key.to_public_key_der().map_err(|e| CardDataError::Key(e.to_string()))?;
    RsaPublicKey::from_spki_der(spki.as_bytes()).map_err(|e| CardDataError::Key(e.to_string()))
}

fn is_png(v: &[u8]) -> bool {
    v.len() > PNG_SIGNATURE.len() && v.starts_with(&PNG_SIGNATURE)
}

fn is_jpeg2000(v: &[u8]) -> bool {
    (v.len() > JP2_SIGNATURE.len() && v.starts_with(&JP2_SIGNATURE))
        || (v.len() > J2K_CODESTREAM.len() && v.starts_with(&J2K_CODESTREAM))
}

// ---- Synthetic images ----

/// Side of a glyph cell in pixels (an 8×8 glyph and a 1-pixel margin).
const CELL: usize = 10;

/// A synthetic 1-bit PNG standing for `text`: one 8×8 hash glyph per character in a 10×10 cell,
/// `columns` cells per line, black on white, whitespace blank (see the module doc). Deterministic.
pub fn synthetic_text_png(text: &str, columns: usize) -> Result<Vec<u8>, CardFaceBuildError> {
    let chars: Vec<char> = text.chars().collect();
    if chars.is_empty() || columns == 0 {
        return Err(CardFaceBuildError::Field("image text"));
    }
    let cols = chars.len().min(columns);
    let rows = chars.len().div_ceil(columns);
    let (w, h) = (cols * CELL, rows * CELL);
    let stride = w.div_ceil(8);
    let mut pixels = vec![0xFFu8; stride * h];
    for (i, c) in chars.iter().enumerate() {
        if c.is_whitespace() {
            continue;
        }
        let mut utf8 = [0u8; 4];
        let mut seed = b"hanko synthetic glyph\0".to_vec();
        seed.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
        let glyph = sha256(&seed);
        let (x0, y0) = ((i % columns) * CELL + 1, (i / columns) * CELL + 1);
        for (gy, row) in glyph.iter().take(8).enumerate() {
            for gx in 0..8 {
                if row >> (7 - gx) & 1 == 1 {
                    let (x, y) = (x0 + gx, y0 + gy);
                    if let Some(byte) = pixels.get_mut(y * stride + x / 8) {
                        *byte &= !(0x80 >> (x % 8));
                    }
                }
            }
        }
    }
    let dim = |n: usize| u32::try_from(n).map_err(|_| CardFaceBuildError::Field("image size"));
    one_bit_png(dim(w)?, dim(h)?, &pixels)
}

/// Encodes packed 1-bit rows (1 = white) as a greyscale 1-bit PNG.
pub(crate) fn one_bit_png(w: u32, h: u32, pixels: &[u8]) -> Result<Vec<u8>, CardFaceBuildError> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, w, h);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::One);
    let mut writer = encoder.write_header().map_err(|e| CardFaceBuildError::Image(e.to_string()))?;
    writer.write_image_data(pixels).map_err(|e| CardFaceBuildError::Image(e.to_string()))?;
    writer.finish().map_err(|e| CardFaceBuildError::Image(e.to_string()))?;
    Ok(out)
}

// ---- Signatures ----

/// `DigestInfo ::= SEQUENCE { digestAlgorithm AlgorithmIdentifier, digest OCTET STRING }`
/// (RFC 8017 §9.2) — here with a 96-byte digest under the SHA-256 OID, as DF28 signs.
#[derive(der::Sequence)]
struct WideDigestInfo<'a> {
    algorithm: AlgorithmIdentifier<AnyRef<'a>>,
    digest: OctetStringRef<'a>,
}

/// The DER DigestInfo(sha256, `digest`) with any digest length.
fn wide_digest_info(digest: &[u8]) -> der::Result<Vec<u8>> {
    WideDigestInfo {
        algorithm: AlgorithmIdentifier { oid: DigestAlgorithm::Sha256.oid(), parameters: Some(AnyRef::NULL) },
        digest: OctetStringRef::new(digest)?,
    }
    .to_der()
}

/// What DF28 signs, from the three signed spans of the face file.
fn face_digest_info(first: &[u8], second: &[u8], photo: &[u8]) -> der::Result<Vec<u8>> {
    let mut wide = Vec::with_capacity(96);
    for part in [first, second, photo] {
        wide.extend_from_slice(&sha256(part));
    }
    wide_digest_info(&wide)
}

/// PKCS#1 v1.5 type-1 padding over `data` as given with the issuer's data-signing key.
fn sign_unprefixed(issuer: &CvIssuer, data: &[u8]) -> Result<Vec<u8>, CardFaceBuildError> {
    let issue = |e: String| CardFaceBuildError::Issue(CvIssueError::Key(e));
    let der = issuer.signer().to_pkcs8().map_err(|e| issue(e.to_string()))?;
    let key = rsa::RsaPrivateKey::from_pkcs8_der(&der).map_err(|e| issue(e.to_string()))?;
    key.sign_with_rng(&mut rand_core::OsRng, rsa::Pkcs1v15Sign::new_unprefixed(), data)
        .map_err(|e| issue(e.to_string()))
}

/// Checks a PKCS#1 v1.5 signature over `data` as given (no DigestInfo added) with `key`.
fn verify_unprefixed(
    key: &RsaPublicKey,
    data: &[u8],
    signature: &[u8],
    what: &'static str,
) -> Result<(), CardDataError> {
    let key = rsa::RsaPublicKey::from_public_key_der(key.spki_der()).map_err(|e| CardDataError::Key(e.to_string()))?;
    key.verify(rsa::Pkcs1v15Sign::new_unprefixed(), data, signature).map_err(|_| CardDataError::BadSignature(what))
}

fn sign_sha256(issuer: &CvIssuer, message: &[u8]) -> Result<Vec<u8>, CardFaceBuildError> {
    issuer
        .signer()
        .sign(SignatureAlgorithm::RsaPkcs1Sha256, message)
        .map_err(|e| CardFaceBuildError::Issue(CvIssueError::Key(e.to_string())))
}

fn verify_sha256(
    cert: &VerifiedCvCertificate,
    message: &[u8],
    signature: &[u8],
    what: &'static str,
) -> Result<(), CardDataError> {
    cert.public_key()
        .verify(SignatureAlgorithm::RsaPkcs1Sha256, message, signature)
        .map_err(|_| CardDataError::BadSignature(what))
}

// ---- The files ----

/// What the card face says, before it is written.
struct FaceInput<'a> {
    birth: [u8; 8],
    sex: u8,
    chip_key: &'a [u8],
    name_png: &'a [u8],
    address_png: &'a [u8],
    photo: &'a [u8],
    expiry: [u8; 8],
    security_code_png: &'a [u8],
}

fn face_file(f: &FaceInput<'_>, issuer: &CvIssuer) -> Result<Vec<u8>, CardFaceBuildError> {
    let first = [tlv([0xDF, 0x22], &f.birth)?, tlv([0xDF, 0x23], &[b'0' + f.sex])?, tlv([0xDF, 0x24], f.chip_key)?];
    let second = [tlv([0xDF, 0x25], f.name_png)?, tlv([0xDF, 0x26], f.address_png)?];
    let photo = tlv([0xDF, 0x27], f.photo)?;
    let di = face_digest_info(&first.concat(), &second.concat(), &photo)
        .map_err(|_| CardFaceBuildError::Field("card-face DigestInfo"))?;
    let signature = sign_unprefixed(issuer, &di)?;
    let parts: Vec<Vec<u8>> = first
        .into_iter()
        .chain(second)
        .chain([
            photo,
            tlv([0xDF, 0x28], &signature)?,
            tlv([0xDF, 0x29], &f.expiry)?,
            tlv([0xDF, 0x2A], f.security_code_png)?,
        ])
        .collect();
    let rest_len: usize = parts.iter().map(Vec::len).sum();
    let df21_len = 3 + 18;
    // FF 20 82 hi lo: the value is always longer than 255 bytes (DF24 and DF28 alone are).
    let head_len = 5;
    let mut offsets = Vec::with_capacity(18);
    let mut at = head_len + df21_len;
    for p in &parts {
        let o = u16::try_from(at).map_err(|_| CardFaceBuildError::Field("card face (larger than 64 KB)"))?;
        offsets.extend_from_slice(&o.to_be_bytes());
        at += p.len();
    }
    let mut inner = Vec::with_capacity(df21_len + rest_len);
    push_tlv(&mut inner, [0xDF, 0x21], &offsets)?;
    inner.extend(parts.concat());
    let out = tlv([0xFF, 0x20], &inner)?;
    if out.len() > MAX_CARD_FACE_LEN || out.get(2) != Some(&0x82) {
        return Err(CardFaceBuildError::Field("card face size"));
    }
    Ok(out)
}

/// A signed record `tag { a, b, sig }` where `sig` is PKCS#1 v1.5 SHA-256 over the `a`‖`b` TLVs.
fn signed_record(issuer: &CvIssuer, tags: [[u8; 2]; 4], a: &[u8], b: &[u8]) -> Result<Vec<u8>, CardFaceBuildError> {
    let mut signed = tlv(tags[1], a)?;
    push_tlv(&mut signed, tags[2], b)?;
    let signature = sign_sha256(issuer, &signed)?;
    push_tlv(&mut signed, tags[3], &signature)?;
    tlv(tags[0], &signed)
}

const AGE_TAGS: [[u8; 2]; 4] = [[0xFF, 0x10], [0xDF, 0x11], [0xDF, 0x12], [0xDF, 0x13]];
const MY_NUMBER_TAGS: [[u8; 2]; 4] = [[0xFF, 0x40], [0xDF, 0x41], [0xDF, 0x42], [0xDF, 0x43]];

/// EF `0003`: `FF 30 { DF31 04 01 03 0E 01, DF32 10 <data-signing key ID>, DF33 01 01, DF34 05
/// <municipality code> }` \[I: the values of DF31, DF32, DF33\] — the four TLVs of 10-card.md §7.
fn ap_info(issuer: &CvIssuer, municipality_code: &str) -> Result<Vec<u8>, CardFaceBuildError> {
    let mut inner = tlv([0xDF, 0x31], &AP_VERSION)?;
    push_tlv(&mut inner, [0xDF, 0x32], &issuer.signer_key_id().0)?;
    push_tlv(&mut inner, [0xDF, 0x33], &[AP_INFO_VERSION])?;
    push_tlv(&mut inner, [0xDF, 0x34], municipality_code.as_bytes())?;
    tlv([0xFF, 0x30], &inner)
}

fn four_digits(s: &str) -> bool {
    s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Builds the 券面AP for `facts`: the card face (with the synthetic images and portrait) signed
/// by `issuer` — the card-face data-signing key, e.g. [`CvIssuer::new`] with
/// [`crate::CvKeyId::SANDBOX_CARD_FACE`] under the same root as the input-assist AP — the age
/// record, the rendered My Number, the AP info with `municipality_code` (5 digits), the CV
/// certificate, a fresh chip challenge key, and the keys: 照合番号A (the My Number), 照合番号B
/// (era birth date, `card_expiry`'s year, `security_code`), the birth-date key (era `YYMMDD`).
/// Pass it to [`crate::Personalization::extra_apps`]. The images are the synthetic
/// placeholders; [`card_face_app_with_font`] draws them with a real font.
pub fn card_face_app(
    facts: &CardFacts,
    issuer: &CvIssuer,
    card_expiry: Date,
    security_code: &str,
    municipality_code: &str,
) -> Result<Application, CardFaceBuildError> {
    card_face_app_with_font(facts, issuer, card_expiry, security_code, municipality_code, None)
}

/// Rendered image sizes \[I\] (see [`crate::FaceFont`]): `(width, height, font px)`.
pub const NAME_IMAGE: (u32, u32, f32) = (512, 64, 40.0);
/// The address image: up to three lines.
pub const ADDRESS_IMAGE: (u32, u32, f32) = (640, 128, 28.0);
/// The security code image.
pub const CODE_IMAGE: (u32, u32, f32) = (192, 60, 36.0);
/// The My Number image of EF `0005`.
pub const MY_NUMBER_IMAGE: (u32, u32, f32) = (512, 64, 40.0);

/// [`card_face_app`] with the name, address, security code and My Number images drawn with
/// `font` at the sizes of [`NAME_IMAGE`], [`ADDRESS_IMAGE`], [`CODE_IMAGE`] and
/// [`MY_NUMBER_IMAGE`], each marked as a sandbox image; `None` draws the synthetic placeholders.
pub fn card_face_app_with_font(
    facts: &CardFacts,
    issuer: &CvIssuer,
    card_expiry: Date,
    security_code: &str,
    municipality_code: &str,
    font: Option<&crate::FaceFont>,
) -> Result<Application, CardFaceBuildError> {
    let image = |text: &str, columns: usize, (w, h, px): (u32, u32, f32)| match font {
        Some(f) => f.render_png(text, w, h, px),
        None => synthetic_text_png(text, columns),
    };
    if !four_digits(security_code) {
        return Err(CardFaceBuildError::Field("security code"));
    }
    if municipality_code.len() != 5 || !municipality_code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CardFaceBuildError::Field("municipality code"));
    }
    let expiry = yyyymmdd(card_expiry)?;
    let expiry_year = u16::try_from(card_expiry.year()).map_err(|_| CardFaceBuildError::Field("card expiry"))?;
    let number_a = Pin::new(facts.my_number().expose(), PinFormat::Digits(12), CODE_TRIES)
        .ok_or(CardFaceBuildError::Field("照合番号A"))?;
    let b =
        number_b(facts.birth_date(), expiry_year, security_code).map_err(|_| CardFaceBuildError::Field("照合番号B"))?;
    let number_b = Pin::new(&b, PinFormat::Digits(14), CODE_TRIES).ok_or(CardFaceBuildError::Field("照合番号B"))?;
    let birth_key = Pin::new(&birth_date_key(facts.birth_date())?, PinFormat::Digits(6), CODE_TRIES)
        .ok_or(CardFaceBuildError::Field("birth-date key"))?;

    let chip_key = ChipKey::generate()?;
    let chip = key_value(chip_key.public_key())?;
    let birth = yyyymmdd(facts.birth_date())?;
    let name_png = image(facts.name(), NAME_COLUMNS, NAME_IMAGE)?;
    let address_png = image(facts.address(), ADDRESS_COLUMNS, ADDRESS_IMAGE)?;
    let code_png = image(security_code, 4, CODE_IMAGE)?;
    let face = face_file(
        &FaceInput {
            birth,
            sex: facts.sex(),
            chip_key: &chip,
            name_png: &name_png,
            address_png: &address_png,
            photo: SYNTHETIC_PORTRAIT_JP2,
            expiry,
            security_code_png: &code_png,
        },
        issuer,
    )?;
    let age = signed_record(issuer, AGE_TAGS, &birth, &chip)?;
    let digits = facts.my_number().expose();
    let mut grouped = Zeroizing::new(String::with_capacity(14));
    for (i, d) in digits.iter().enumerate() {
        if i > 0 && i % 4 == 0 {
            grouped.push(' ');
        }
        grouped.push(char::from(*d));
    }
    let number_png = Zeroizing::new(image(&grouped, 14, MY_NUMBER_IMAGE)?);
    let my_number = signed_record(issuer, MY_NUMBER_TAGS, &number_png, &chip)?;

    let file = |content: Vec<u8>, read: Access| Object::File { content, read };
    let any = |fids: &[Fid]| Access::AnyOf(fids.to_vec());
    let objects = vec![
        (ef::AGE_RECORD, file(age, any(&[ef::BIRTH_DATE_KEY]))),
        (ef::FACE, file(face, any(&[ef::NUMBER_A, ef::NUMBER_B]))),
        (ef::AP_INFO, file(ap_info(issuer, municipality_code)?, Access::Free)),
        (ef::CV_CERTIFICATE, file(issuer.certificate().as_bytes().to_vec(), Access::Free)),
        (ef::MY_NUMBER_IMAGE, file(my_number, any(&[ef::NUMBER_A]))),
        (ef::BIRTH_DATE_KEY, Object::Pin(birth_key)),
        (ef::NUMBER_B, Object::Pin(number_b)),
        (ef::NUMBER_A, Object::Pin(number_a)),
        (ef::CHIP_KEY, Object::Key { key: Box::new(chip_key), usage: Access::Free }),
    ];
    Ok(Application { aid: AID_CARD_FACE.to_vec(), name: "card-face", objects, secure_messaging: false })
}

// ---- Parsing (host side) ----

/// The card face of EF `0002`, parsed strictly. `Debug` never shows the holder's data.
#[derive(Clone, PartialEq, Eq)]
pub struct CardFace {
    raw: Vec<u8>,
    /// Offsets of the DF22 … DF2A tags, and the end of the file.
    at: [usize; 10],
    birth_date: BirthDate,
    sex: u8,
    expiry: Date,
}

impl fmt::Debug for CardFace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CardFace([elided], {} bytes)", self.raw.len())
    }
}

/// The tags of the card face after DF21, in order.
const FACE_TAGS: [u8; 9] = [0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2A];

impl CardFace {
    /// Parses exactly one `FF 20` TLV (no trailing bytes, at most [`MAX_CARD_FACE_LEN`]): DF21
    /// with nine offsets equal to where DF22 … DF2A really are, then those ten TLVs in order; an
    /// 8-digit birth date, one sex digit, a 2048-bit chip key, PNG images, a JPEG 2000 photo, a
    /// 256-byte signature and a real expiry date.
    pub fn parse(file: &[u8]) -> Result<CardFace, CardDataError> {
        if file.len() > MAX_CARD_FACE_LEN {
            return Err(CardDataError::Malformed("card face is too large"));
        }
        let mut c = outer(file, [0xFF, 0x20], "card face is not one FF 20 TLV")?;
        let (_, offsets) = c.expect([0xDF, 0x21], "card face: DF21 (offsets) missing")?;
        if offsets.len() != 18 {
            return Err(CardDataError::Malformed("card face: DF21 is not 18 bytes"));
        }
        let mut at = [0usize; 10];
        let mut values: [&[u8]; 9] = [&[]; 9];
        for (i, t) in FACE_TAGS.iter().enumerate() {
            let (start, v) = c.expect([0xDF, *t], "card face: DF22 … DF2A missing or out of order")?;
            let said = usize::from(u16::from_be_bytes([offsets[2 * i], offsets[2 * i + 1]]));
            if said != start {
                return Err(CardDataError::Malformed("card face: DF21 offsets do not match the file"));
            }
            at[i] = start;
            values[i] = v;
        }
        if c.pos != file.len() {
            return Err(CardDataError::Malformed("card face: bytes after DF2A"));
        }
        at[9] = file.len();
        let [birth, sex, key, name, address, photo, signature, expiry, code] = values;
        let birth_date = birth_date(birth).ok_or(CardDataError::Malformed("card face: birth date is not YYYYMMDD"))?;
        let sex = match sex {
            [d] if d.is_ascii_digit() => d - b'0',
            _ => return Err(CardDataError::Malformed("card face: sex is not one digit")),
        };
        check_key_value(key, "card face: DF24 is not a 2048-bit key")?;
        if !(is_png(name) && is_png(address) && is_png(code)) {
            return Err(CardDataError::Malformed("card face: an image is not a PNG"));
        }
        if !is_jpeg2000(photo) {
            return Err(CardDataError::Malformed("card face: the photo is not JPEG 2000"));
        }
        if signature.len() != 256 {
            return Err(CardDataError::Malformed("card face: DF28 is not 256 bytes"));
        }
        let expiry = digits8(expiry)
            .and_then(|d| gregorian(&d))
            .ok_or(CardDataError::Malformed("card face: expiry is not a YYYYMMDD date"))?;
        Ok(CardFace { raw: file.to_vec(), at, birth_date, sex, expiry })
    }

    /// The value of the `i`-th TLV after DF21 (0 = DF22). In range by construction.
    fn value(&self, i: usize) -> &[u8] {
        let tlv = self.raw.get(self.at[i]..self.at[i + 1]).unwrap_or_default();
        parse_len(tlv.get(2..).unwrap_or_default())
            .map_or(&[], |(len, n)| tlv.get(2 + n..2 + n + len).unwrap_or_default())
    }

    fn span(&self, from: usize, to: usize) -> &[u8] {
        self.raw.get(self.at[from]..self.at[to]).unwrap_or_default()
    }

    /// The file as read.
    pub fn as_bytes(&self) -> &[u8] {
        &self.raw
    }
    /// DF22, 生年月日: known when the digits are a Gregorian date, else the digits as found.
    pub fn birth_date(&self) -> BirthDate {
        self.birth_date
    }
    /// DF23, 性別: the JIS X 0303 digit as a number.
    pub fn sex(&self) -> u8 {
        self.sex
    }
    /// DF24: the chip challenge key as stored (`90 03 01 00 01 91 82 01 00 <modulus>`).
    pub fn chip_key(&self) -> &[u8] {
        self.value(2)
    }
    /// DF25: the name image (PNG).
    pub fn name_png(&self) -> &[u8] {
        self.value(3)
    }
    /// DF26: the address image (PNG).
    pub fn address_png(&self) -> &[u8] {
        self.value(4)
    }
    /// DF27: the photo (JPEG 2000).
    pub fn photo_jp2(&self) -> &[u8] {
        self.value(5)
    }
    /// DF28: the signature (256 bytes).
    pub fn signature(&self) -> &[u8] {
        self.value(6)
    }
    /// DF29: the card's expiry date.
    pub fn expiry(&self) -> Date {
        self.expiry
    }
    /// DF2A: the security code image (PNG).
    pub fn security_code_png(&self) -> &[u8] {
        self.value(8)
    }

    /// What DF28 signs: DER `DigestInfo(sha256, SHA-256(DF22‖DF23‖DF24) ‖ SHA-256(DF25‖DF26) ‖
    /// SHA-256(DF27))` over the TLVs as read (115 bytes).
    pub fn signed_digest_info(&self) -> Result<Vec<u8>, CardDataError> {
        face_digest_info(self.span(0, 3), self.span(3, 5), self.span(5, 6))
            .map_err(|_| CardDataError::Malformed("card face DigestInfo"))
    }

    /// Checks DF28 with the key of a verified CV certificate (the card face's EF `0004`).
    pub fn verify(&self, certificate: &VerifiedCvCertificate) -> Result<(), CardDataError> {
        verify_unprefixed(certificate.public_key(), &self.signed_digest_info()?, self.signature(), "card face")
    }

    /// The chip challenge key of DF24 as a public key.
    pub fn chip_public_key(&self) -> Result<RsaPublicKey, CardDataError> {
        key_from_value(self.chip_key())
    }
}

/// A record `FF xx { DFx1 value, DFx2 chip key, DFx3 signature }` of EF `0001` or `0005`.
#[derive(Clone, PartialEq, Eq)]
struct SignedRecord {
    raw: Vec<u8>,
    /// The signed span (the first two inner TLVs) and the ranges of the three values.
    signed: core::ops::Range<usize>,
    value: core::ops::Range<usize>,
    key: core::ops::Range<usize>,
    signature: core::ops::Range<usize>,
}

impl SignedRecord {
    fn parse(bytes: &[u8], tags: [[u8; 2]; 4], what: &'static str) -> Result<SignedRecord, CardDataError> {
        if bytes.len() > MAX_CARD_FACE_RECORD_LEN {
            return Err(CardDataError::Malformed(what));
        }
        let mut c = outer(bytes, tags[0], what)?;
        let (first, value) = c.expect(tags[1], what)?;
        let value_at = c.pos - value.len();
        let (_, key) = c.expect(tags[2], what)?;
        let key_at = c.pos - key.len();
        let (sig_tag, signature) = c.expect(tags[3], what)?;
        let sig_at = c.pos - signature.len();
        if c.pos != bytes.len() || signature.len() != 256 {
            return Err(CardDataError::Malformed(what));
        }
        check_key_value(key, what)?;
        Ok(SignedRecord {
            raw: bytes.to_vec(),
            signed: first..sig_tag,
            value: value_at..value_at + value.len(),
            key: key_at..key_at + key.len(),
            signature: sig_at..sig_at + signature.len(),
        })
    }

    fn get(&self, r: &core::ops::Range<usize>) -> &[u8] {
        self.raw.get(r.clone()).unwrap_or_default()
    }

    fn verify(&self, cert: &VerifiedCvCertificate, what: &'static str) -> Result<(), CardDataError> {
        verify_sha256(cert, self.get(&self.signed), self.get(&self.signature), what)
    }
}

/// The age record of EF `0001`, parsed: `FF 10 { DF11 birth date, DF12 chip key, DF13 signature }`.
/// `Debug` never shows the birth date.
#[derive(Clone, PartialEq, Eq)]
pub struct AgeRecord {
    record: SignedRecord,
    birth_date: BirthDate,
}

impl fmt::Debug for AgeRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AgeRecord([elided])")
    }
}

impl AgeRecord {
    /// Parses exactly one `FF 10` TLV holding DF11 (8 digits), DF12 (a 2048-bit key), DF13 (256 bytes).
    pub fn parse(bytes: &[u8]) -> Result<AgeRecord, CardDataError> {
        let record = SignedRecord::parse(bytes, AGE_TAGS, "age record is not FF 10 { DF11 DF12 DF13 }")?;
        let birth_date = birth_date(record.get(&record.value))
            .ok_or(CardDataError::Malformed("age record: DF11 is not YYYYMMDD"))?;
        Ok(AgeRecord { record, birth_date })
    }
    /// DF11: the birth date.
    pub fn birth_date(&self) -> BirthDate {
        self.birth_date
    }
    /// DF12: the chip key as stored.
    pub fn chip_key(&self) -> &[u8] {
        self.record.get(&self.record.key)
    }
    /// The record as read.
    pub fn as_bytes(&self) -> &[u8] {
        &self.record.raw
    }
    /// Checks DF13 (PKCS#1 v1.5 SHA-256 over the DF11‖DF12 TLVs) with a verified CV certificate.
    pub fn verify(&self, certificate: &VerifiedCvCertificate) -> Result<(), CardDataError> {
        self.record.verify(certificate, "age record")
    }
}

/// The rendered My Number of EF `0005`, parsed: `FF 40 { DF41 PNG, DF42 chip key, DF43 signature }`.
/// `Debug` never shows the image.
#[derive(Clone, PartialEq, Eq)]
pub struct MyNumberImage {
    record: SignedRecord,
}

impl fmt::Debug for MyNumberImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MyNumberImage([elided])")
    }
}

impl MyNumberImage {
    /// Parses exactly one `FF 40` TLV holding DF41 (a PNG), DF42 (a 2048-bit key), DF43 (256 bytes).
    pub fn parse(bytes: &[u8]) -> Result<MyNumberImage, CardDataError> {
        let record = SignedRecord::parse(bytes, MY_NUMBER_TAGS, "My Number image is not FF 40 { DF41 DF42 DF43 }")?;
        if !is_png(record.get(&record.value)) {
            return Err(CardDataError::Malformed("My Number image: DF41 is not a PNG"));
        }
        Ok(MyNumberImage { record })
    }
    /// DF41: the image (PNG).
    pub fn png(&self) -> &[u8] {
        self.record.get(&self.record.value)
    }
    /// DF42: the chip key as stored.
    pub fn chip_key(&self) -> &[u8] {
        self.record.get(&self.record.key)
    }
    /// Checks DF43 (PKCS#1 v1.5 SHA-256 over the DF41‖DF42 TLVs) with a verified CV certificate.
    pub fn verify(&self, certificate: &VerifiedCvCertificate) -> Result<(), CardDataError> {
        self.record.verify(certificate, "My Number image")
    }
}

/// The AP basic info of EF `0003`, parsed: `FF 30 { DF31 AP id, DF32 key ID, DF33 version, DF34
/// municipality }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardFaceInfo {
    version: Vec<u8>,
    signer: crate::CvKeyId,
    info_version: u8,
    municipality_code: String,
}

impl CardFaceInfo {
    /// Parses exactly one `FF 30` TLV: DF31 (1–16 bytes), DF32 (a 16-byte key ID), DF33 (1
    /// byte), DF34 (5 digits).
    pub fn parse(bytes: &[u8]) -> Result<CardFaceInfo, CardDataError> {
        const WHAT: &str = "AP info is not FF 30 { DF31 DF32 DF33 DF34 }";
        if bytes.len() > MAX_CARD_FACE_RECORD_LEN {
            return Err(CardDataError::Malformed(WHAT));
        }
        let mut c = outer(bytes, [0xFF, 0x30], WHAT)?;
        let (_, version) = c.expect([0xDF, 0x31], WHAT)?;
        let (_, key_id) = c.expect([0xDF, 0x32], WHAT)?;
        let (_, info_version) = c.expect([0xDF, 0x33], WHAT)?;
        let &[info_version] = info_version else { return Err(CardDataError::Malformed("AP info: DF33 is not 1 byte")) };
        let (_, code) = c.expect([0xDF, 0x34], WHAT)?;
        if c.pos != bytes.len() || !(1..=16).contains(&version.len()) {
            return Err(CardDataError::Malformed(WHAT));
        }
        let signer = crate::CvKeyId(key_id.try_into().map_err(|_| CardDataError::Malformed(WHAT))?);
        if code.len() != 5 || !code.iter().all(u8::is_ascii_digit) {
            return Err(CardDataError::Malformed("AP info: DF34 is not a 5-digit municipality code"));
        }
        let municipality_code = String::from_utf8(code.to_vec()).map_err(|_| CardDataError::Malformed(WHAT))?;
        Ok(CardFaceInfo { version: version.to_vec(), signer, info_version, municipality_code })
    }
    /// DF31: the AP id \[I\].
    pub fn version(&self) -> &[u8] {
        &self.version
    }
    /// DF33: the version (1 byte) \[I\].
    pub fn info_version(&self) -> u8 {
        self.info_version
    }
    /// DF32: the data-signing key ID \[I\].
    pub fn signer_key_id(&self) -> crate::CvKeyId {
        self.signer
    }
    /// DF34: the municipality code (5 digits).
    pub fn municipality_code(&self) -> &str {
        &self.municipality_code
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use hanko_pki::time::macros::date;

    #[test]
    fn wide_digest_info_is_der_with_a_96_byte_octet_string() {
        let di = wide_digest_info(&[0xAB; 96]).unwrap();
        assert_eq!(di.len(), 115);
        assert_eq!(&di[..19], &hex::decode("3071300d06096086480165030402010500 0460".replace(' ', "")).unwrap()[..]);
        // With 32 bytes it is the standard SHA-256 DigestInfo.
        let std = hanko_pki::DigestInfo::new(DigestAlgorithm::Sha256, &[7; 32]).unwrap().to_der().unwrap();
        assert_eq!(wide_digest_info(&[7; 32]).unwrap(), std);
    }

    #[test]
    fn birth_date_key_is_era_yymmdd() {
        assert_eq!(birth_date_key(date!(1980 - 02 - 17)).unwrap().as_slice(), b"550217");
        assert_eq!(birth_date_key(date!(2019 - 05 - 01)).unwrap().as_slice(), b"010501");
        assert_eq!(birth_date_key(date!(1989 - 01 - 07)).unwrap().as_slice(), b"640107");
        assert!(birth_date_key(date!(1868 - 01 - 01)).is_err());
    }

    #[test]
    fn synthetic_images_are_deterministic_1_bit_pngs() {
        let a = synthetic_text_png("試験　花子", 16).unwrap();
        assert_eq!(a, synthetic_text_png("試験　花子", 16).unwrap());
        assert_ne!(a, synthetic_text_png("試験　太郎", 16).unwrap());
        let decoder = png::Decoder::new(a.as_slice());
        let reader = decoder.read_info().unwrap();
        let info = reader.info();
        assert_eq!((info.width, info.height), (50, 10));
        assert_eq!((info.color_type, info.bit_depth), (png::ColorType::Grayscale, png::BitDepth::One));
        let long = synthetic_text_png(&"東".repeat(hanko_pki::MAX_ADDRESS_CHARS), 24).unwrap();
        let reader = png::Decoder::new(long.as_slice()).read_info().unwrap();
        assert_eq!((reader.info().width, reader.info().height), (240, 90));
        assert!(synthetic_text_png("", 4).is_err());
    }

    #[test]
    fn the_portrait_is_a_jp2_file() {
        assert!(SYNTHETIC_PORTRAIT_JP2.starts_with(&JP2_SIGNATURE));
        assert!(SYNTHETIC_PORTRAIT_JP2.len() < 8 * 1024);
        assert!(is_jpeg2000(SYNTHETIC_PORTRAIT_JP2));
    }

    #[test]
    fn parse_len_forms_in_tlv_writer() {
        for n in [0usize, 0x7F, 0x80, 0xFF, 0x100, 0x1234] {
            let t = tlv([0xDF, 0x25], &vec![0; n]).unwrap();
            let (len, used) = parse_len(&t[2..]).unwrap();
            assert_eq!((len, t.len()), (n, 2 + used + n));
        }
    }
}
