//! The residence card's files and their TLVs (shared/spec/40-id-documents.md §2). Every field
//! has a fixed length and is null padded; every file is read whole.
//!
//! | file | READ BINARY P1 (SFI) | content | length | access |
//! |---|---|---|---|---|
//! | MF/EF01 | `8B` | `C0` spec version (4) | 6 | free |
//! | MF/EF02 | `8A` | `C1` card type (1: `1` residence card, `2` special permanent resident) | 3 | free |
//! | DF1/EF01 | `85` | `D0` front image (7000, MMR TIFF) | 7004 | card number + SM |
//! | DF1/EF02 | `86` | `D1` photo (3000, colour JPEG 2000) | 3004 | card number + SM |
//! | DF2/EF01 | `81` | `D2` address write date (8) ‖ `D3` municipality code (6) ‖ `D4` address (320, UTF-8) | 342 | card number |
//! | DF2/EF02 | `82` | `D5` comprehensive permission for activity outside status (120, UTF-8) | 122 | card number |
//! | DF2/EF03 | `83` | `D6` individual permission for activity outside status (120, UTF-8) | 122 | card number |
//! | DF2/EF04 | `84` | `D7` renewal application (1: `0` none, `1` applied) | 3 | card number |
//! | DF3/EF01 | `82` | `DA` check code (256) ‖ `DB` X.509 certificate (1200) | 1464 | card number |
//!
//! DF2/EF02–EF04 exist on residence cards only; DF1/EF02 and DF3/EF01 not for holders under 16.
//! The lengths of `D2`, `D3` follow from the 342-byte DF2/EF01. Those of `D5`–`D7` (files of
//! 122, 122 and 3 bytes) and the plain reads of DF2/DF3 after VERIFY are not in shared/spec:
//! they follow an independent reader written to the official spec (github.com/eringoio/
//! zairyu-card-reader, reader/residence_card_reader.py) \[S\].

use serde::{Deserialize, Serialize};

use crate::tlv;

/// Length of the `C0` spec version.
pub const SPEC_VERSION_LEN: usize = 4;
/// Length of the `D0` front image.
pub const FRONT_IMAGE_LEN: usize = 7000;
/// Length of the `D1` photo.
pub const PHOTO_LEN: usize = 3000;
/// Size of the DF1/EF01 file: the `D0` TLV, 4 bytes of tag and length and the 7000-byte value.
pub const FRONT_IMAGE_FILE_LEN: usize = 7004;
/// Size of the DF1/EF02 file: the `D1` TLV, 4 bytes of tag and length and the 3000-byte value.
pub const PHOTO_FILE_LEN: usize = 3004;
/// Length of the `D2` address write date (YYYYMMDD).
pub const WRITE_DATE_LEN: usize = 8;
/// Length of the `D3` municipality code.
pub const MUNICIPALITY_LEN: usize = 6;
/// Length of the `D4` address.
pub const ADDRESS_LEN: usize = 320;
/// Length of `D5` and `D6` \[S\].
pub const PERMISSION_LEN: usize = 120;
/// Length of the `DA` check code (RSA-2048).
pub const CHECK_CODE_LEN: usize = 256;
/// Length of the `DB` certificate field.
pub const CERTIFICATE_LEN: usize = 1200;

/// A file that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    /// The TLV structure is broken.
    #[error("TLV: {0}")]
    Tlv(#[from] tlv::TlvError),
    /// A tag is missing.
    #[error("tag {0:02X} missing")]
    Missing(u8),
    /// A field is not its fixed length.
    #[error("tag {tag:02X}: {len} bytes ({expected} expected)")]
    Length {
        /// The tag.
        tag: u8,
        /// Its length.
        len: usize,
        /// The fixed length.
        expected: usize,
    },
    /// A signed file (DF1/EF01, DF1/EF02) is not the size the spec fixes. The check code covers
    /// the two files' values concatenated, so only fixed sizes say which byte is whose.
    #[error("file is {len} bytes, the spec fixes {expected}")]
    FileSize {
        /// Its size as read.
        len: usize,
        /// The size the spec gives.
        expected: usize,
    },
    /// A text field is not UTF-8 / ASCII as it must be.
    #[error("tag {0:02X}: not valid text")]
    Text(u8),
    /// An unknown card type code.
    #[error("card type {0:#04x} unknown")]
    CardType(u8),
}

/// `C1`: which document (MF/EF02).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardType {
    /// 在留カード, code `1`.
    ResidenceCard,
    /// 特別永住者証明書, code `2`.
    SpecialPermanentResident,
}

impl CardType {
    /// The code byte as written (ASCII `1` / `2` \[I\]: the spec's "1"/"2").
    pub fn code(self) -> u8 {
        match self {
            CardType::ResidenceCard => b'1',
            CardType::SpecialPermanentResident => b'2',
        }
    }

    /// From the code byte (ASCII `1`/`2`, or binary `01`/`02` as some readers assume).
    pub fn from_code(b: u8) -> Result<CardType, FileError> {
        match b {
            b'1' | 0x01 => Ok(CardType::ResidenceCard),
            b'2' | 0x02 => Ok(CardType::SpecialPermanentResident),
            other => Err(FileError::CardType(other)),
        }
    }

    /// The Japanese name.
    pub fn label_ja(self) -> &'static str {
        match self {
            CardType::ResidenceCard => "在留カード",
            CardType::SpecialPermanentResident => "特別永住者証明書",
        }
    }
}

/// DF2/EF01: the address on the back side, written at the municipal office (not signed).
/// `Debug` elides the address (one of the four facts never logged).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    /// `D2` write date, `YYYYMMDD` as written.
    pub written_on: String,
    /// `D3` municipality code (6 digits).
    pub municipality_code: String,
    /// `D4` the address (UTF-8).
    pub address: String,
}

/// DF3/EF01: the check code and the signer's certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureFile {
    /// `DA`: RSA-2048 PKCS#1 v1.5 (no DigestInfo) over SHA-256(D0 value ‖ D1 value).
    pub check_code: Vec<u8>,
    /// `DB`: the signer's X.509 certificate (DER, the null padding removed).
    pub certificate: Vec<u8>,
}

/// Everything read from a residence card, parsed; nothing verified yet (see
/// [`super::verify`]). `Debug` shows only which parts are present and their sizes.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResidenceRecord {
    /// `C0` spec version (4 characters).
    pub spec_version: String,
    /// `C1` card type.
    pub card_type: CardType,
    /// `D0` value, all 7000 bytes (the signature covers them padding included): an MMR
    /// (CCITT G4) TIFF of the card face, null padded.
    pub front_image: Vec<u8>,
    /// `D1` value, all 3000 bytes: a colour JPEG 2000 photo, null padded. `None` for holders
    /// under 16.
    pub photo: Option<Vec<u8>>,
    /// DF2/EF01.
    pub address: Address,
    /// DF2/EF02 `D5` (residence cards only).
    pub permission_comprehensive: Option<String>,
    /// DF2/EF03 `D6` (residence cards only).
    pub permission_individual: Option<String>,
    /// DF2/EF04 `D7`: an application for renewal or change of status was made (residence
    /// cards only).
    pub renewal_applied: Option<bool>,
    /// DF3/EF01 (`None` for holders under 16).
    pub signature: Option<SignatureFile>,
}

impl core::fmt::Debug for Address {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Address")
            .field("written_on", &self.written_on)
            .field("municipality_code", &self.municipality_code)
            .field("address", &"[elided]")
            .finish()
    }
}

impl core::fmt::Debug for ResidenceRecord {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ResidenceRecord")
            .field("spec_version", &self.spec_version)
            .field("card_type", &self.card_type)
            .field("front_image_len", &self.front_image.len())
            .field("photo_len", &self.photo.as_ref().map(Vec::len))
            .field("address", &self.address)
            .field("permissions", &(self.permission_comprehensive.is_some(), self.permission_individual.is_some()))
            .field("renewal_applied", &self.renewal_applied)
            .field("signature", &self.signature.is_some())
            .finish()
    }
}

impl ResidenceRecord {
    /// The photo without its null padding (a JPEG 2000 ends with its `FF D9` marker).
    pub fn photo_trimmed(&self) -> Option<&[u8]> {
        self.photo.as_deref().map(trim_nulls)
    }
}

/// `bytes` without trailing `00`s.
pub fn trim_nulls(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    &bytes[..end]
}

/// `value` null padded to `len` (the caller checked it fits).
pub(crate) fn padded(value: &[u8], len: usize) -> Vec<u8> {
    let mut v = value.to_vec();
    v.resize(len.max(value.len()), 0);
    v
}

fn field(input: &[u8], tag: u8, len: usize) -> Result<&[u8], FileError> {
    let t = tlv::find(input, u32::from(tag))?.ok_or(FileError::Missing(tag))?;
    if t.value.len() != len {
        return Err(FileError::Length { tag, len: t.value.len(), expected: len });
    }
    Ok(t.value)
}

fn text(tag: u8, v: &[u8]) -> Result<String, FileError> {
    core::str::from_utf8(trim_nulls(v)).map(str::to_owned).map_err(|_| FileError::Text(tag))
}

fn ascii(tag: u8, v: &[u8], digits: bool) -> Result<String, FileError> {
    let v = trim_nulls(v);
    let ok = if digits { v.iter().all(u8::is_ascii_digit) } else { v.iter().all(u8::is_ascii_graphic) };
    if ok {
        Ok(v.iter().map(|&b| char::from(b)).collect())
    } else {
        Err(FileError::Text(tag))
    }
}

/// MF/EF01: `C0` spec version.
pub fn parse_common(file: &[u8]) -> Result<String, FileError> {
    ascii(0xC0, field(file, 0xC0, SPEC_VERSION_LEN)?, false)
}

/// MF/EF02: `C1` card type.
pub fn parse_card_type(file: &[u8]) -> Result<CardType, FileError> {
    CardType::from_code(field(file, 0xC1, 1)?[0])
}

/// A signed file must be exactly `expected` bytes.
fn sized(file: &[u8], expected: usize) -> Result<&[u8], FileError> {
    if file.len() != expected {
        return Err(FileError::FileSize { len: file.len(), expected });
    }
    Ok(file)
}

/// DF1/EF01: the `D0` value (7000 bytes), from a file of exactly 7004 bytes.
pub fn parse_front_image(file: &[u8]) -> Result<Vec<u8>, FileError> {
    Ok(field(sized(file, FRONT_IMAGE_FILE_LEN)?, 0xD0, FRONT_IMAGE_LEN)?.to_vec())
}

/// DF1/EF02: the `D1` value (3000 bytes), from a file of exactly 3004 bytes.
pub fn parse_photo(file: &[u8]) -> Result<Vec<u8>, FileError> {
    Ok(field(sized(file, PHOTO_FILE_LEN)?, 0xD1, PHOTO_LEN)?.to_vec())
}

/// DF2/EF01: `D2` ‖ `D3` ‖ `D4`.
pub fn parse_address(file: &[u8]) -> Result<Address, FileError> {
    Ok(Address {
        written_on: ascii(0xD2, field(file, 0xD2, WRITE_DATE_LEN)?, true)?,
        municipality_code: ascii(0xD3, field(file, 0xD3, MUNICIPALITY_LEN)?, true)?,
        address: text(0xD4, field(file, 0xD4, ADDRESS_LEN)?)?,
    })
}

/// DF2/EF02 (`D5`) or DF2/EF03 (`D6`).
pub fn parse_permission(file: &[u8], tag: u8) -> Result<String, FileError> {
    text(tag, field(file, tag, PERMISSION_LEN)?)
}

/// DF2/EF04: `D7`.
pub fn parse_renewal(file: &[u8]) -> Result<bool, FileError> {
    match field(file, 0xD7, 1)?[0] {
        b'0' | 0 => Ok(false),
        b'1' | 1 => Ok(true),
        _ => Err(FileError::Text(0xD7)),
    }
}

/// DF3/EF01: `DA` ‖ `DB`; the certificate's null padding is cut at the end of its outer DER
/// SEQUENCE.
pub fn parse_signature(file: &[u8]) -> Result<SignatureFile, FileError> {
    let check_code = field(file, 0xDA, CHECK_CODE_LEN)?.to_vec();
    let db = field(file, 0xDB, CERTIFICATE_LEN)?;
    let (cert, _padding) = tlv::parse_one(db)?;
    Ok(SignatureFile { check_code, certificate: cert.raw.to_vec() })
}

/// Encoders for the emulator and the issuer.
pub(crate) mod encode {
    use super::*;

    fn tlv(tag: u8, value: &[u8], len: usize) -> Vec<u8> {
        tlv::encode(u32::from(tag), &padded(value, len))
    }

    pub(crate) fn common(version: &[u8; SPEC_VERSION_LEN]) -> Vec<u8> {
        tlv(0xC0, version, SPEC_VERSION_LEN)
    }
    pub(crate) fn card_type(t: CardType) -> Vec<u8> {
        tlv(0xC1, &[t.code()], 1)
    }
    pub(crate) fn front_image(v: &[u8]) -> Vec<u8> {
        tlv(0xD0, v, FRONT_IMAGE_LEN)
    }
    pub(crate) fn photo(v: &[u8]) -> Vec<u8> {
        tlv(0xD1, v, PHOTO_LEN)
    }
    pub(crate) fn address(a: &Address) -> Vec<u8> {
        let mut v = tlv(0xD2, a.written_on.as_bytes(), WRITE_DATE_LEN);
        v.extend(tlv(0xD3, a.municipality_code.as_bytes(), MUNICIPALITY_LEN));
        v.extend(tlv(0xD4, a.address.as_bytes(), ADDRESS_LEN));
        v
    }
    pub(crate) fn permission(tag: u8, text: &str) -> Vec<u8> {
        tlv(tag, text.as_bytes(), PERMISSION_LEN)
    }
    pub(crate) fn renewal(applied: bool) -> Vec<u8> {
        tlv(0xD7, &[if applied { b'1' } else { b'0' }], 1)
    }
    pub(crate) fn signature(check_code: &[u8], cert: &[u8]) -> Vec<u8> {
        let mut v = tlv(0xDA, check_code, CHECK_CODE_LEN);
        v.extend(tlv(0xDB, cert, CERTIFICATE_LEN));
        v
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn fixed_lengths_match_the_spec() {
        assert_eq!(encode::common(b"0150").len(), 6);
        assert_eq!(encode::card_type(CardType::ResidenceCard).len(), 3);
        assert_eq!(encode::front_image(b"II*").len(), 7004);
        assert_eq!(encode::photo(b"jp2").len(), 3004);
        assert_eq!(encode::front_image(b"II*").len(), FRONT_IMAGE_FILE_LEN);
        assert_eq!(encode::photo(b"jp2").len(), PHOTO_FILE_LEN);
        assert!(parse_front_image(&encode::front_image(b"II*")).is_ok());
        let mut long = encode::front_image(b"II*");
        long.push(0);
        assert_eq!(parse_front_image(&long), Err(FileError::FileSize { len: 7005, expected: 7004 }));
        let a = Address { written_on: "20260401".into(), municipality_code: "131016".into(), address: "見本".into() };
        let f = encode::address(&a);
        assert_eq!(f.len(), 342);
        assert_eq!(encode::permission(0xD5, "許可").len(), 122);
        assert_eq!(encode::renewal(true).len(), 3);
        assert_eq!(parse_address(&f).unwrap(), a);
        assert_eq!(encode::signature(&[1; 256], &[0x30, 0x03, 2, 1, 5]).len(), 1464);
        let s = parse_signature(&encode::signature(&[1; 256], &[0x30, 0x03, 2, 1, 5])).unwrap();
        assert_eq!(s.certificate, vec![0x30, 0x03, 2, 1, 5]);
        assert_eq!(parse_card_type(&[0xC1, 1, 0x01]).unwrap(), CardType::ResidenceCard);
        assert!(parse_card_type(&[0xC1, 1, 0x09]).is_err());
        assert!(parse_front_image(&[0xD0, 1, 0]).is_err());
        assert!(parse_address(&[0xD2, 0x82, 0xFF]).is_err());
    }
}
