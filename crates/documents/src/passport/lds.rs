//! The logical data structure (ICAO 9303-10 §4, 9303-3 §4.9 and 9303-4 §4.2): the MRZ of a TD3
//! passport with its check digits, and the elementary files EF.COM, DG1 (MRZ), DG2 (face),
//! DG14 (security infos) and DG15 (active-authentication public key) — built for the emulator
//! and parsed by the reader. Parsing is bounded by the TLV parser and never panics.
//!
//! ```text
//! EF.COM  60 { 5F01 "0107"  5F36 "040000"  5C <tags of the DGs present> }
//! DG1     61 { 5F1F <88-character TD3 MRZ> }
//! DG2     75 { 7F61 { 02 <count>  7F60 { A1 <BHT>  5F2E <ISO/IEC 19794-5 facial record> } } }
//! DG14    6E <SecurityInfos, DER SET OF SecurityInfo>
//! DG15    6F <SubjectPublicKeyInfo>
//! ```

use der::asn1::{Any, ObjectIdentifier, SetOfVec};
use der::{Decode, Encode, Sequence};
use zeroize::Zeroizing;

use crate::tlv;

/// Tag of EF.COM.
pub const TAG_COM: u32 = 0x60;
/// Tag of DG1 (MRZ).
pub const TAG_DG1: u32 = 0x61;
/// Tag of DG2 (encoded face).
pub const TAG_DG2: u32 = 0x75;
/// Tag of DG14 (security options).
pub const TAG_DG14: u32 = 0x6E;
/// Tag of DG15 (active authentication public key info).
pub const TAG_DG15: u32 = 0x6F;
/// Tag of EF.SOD.
pub const TAG_SOD: u32 = 0x77;

/// id-AA, `2.23.136.1.1.5` (ICAO 9303-11 §9.2.7 ActiveAuthenticationInfo).
pub const ID_AA: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.23.136.1.1.5");
/// ecdsa-plain-SHA256, `0.4.0.127.0.7.1.1.4.1.3` (BSI TR-03111).
pub const ECDSA_PLAIN_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("0.4.0.127.0.7.1.1.4.1.3");
/// id-PACE-ECDH-GM-AES-CBC-CMAC-128, `0.4.0.127.0.7.2.2.4.2.2`.
pub const ID_PACE_ECDH_GM_AES_128: ObjectIdentifier = ObjectIdentifier::new_unwrap("0.4.0.127.0.7.2.2.4.2.2");
/// The id-PACE arc, `0.4.0.127.0.7.2.2.4`: every PACEInfo protocol starts with it.
pub const ID_PACE_ARC: &[u8] = &[0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x04];

/// Largest DG2 this reader accepts (a real one is 15–30 KB; a generous budget).
pub const MAX_DG_LEN: usize = 256 * 1024;

/// An elementary file of the LDS does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LdsError {
    /// The outer tag is not the expected one.
    #[error("{file}: tag {found:#x} where {expected:#x} was expected")]
    WrongTag {
        /// Which file.
        file: &'static str,
        /// The tag expected.
        expected: u32,
        /// The tag found.
        found: u32,
    },
    /// A TLV inside does not parse.
    #[error("{file}: {error}")]
    Tlv {
        /// Which file.
        file: &'static str,
        /// The TLV error.
        error: tlv::TlvError,
    },
    /// A required element is missing.
    #[error("{file}: {what} missing")]
    Missing {
        /// Which file.
        file: &'static str,
        /// What is missing.
        what: &'static str,
    },
    /// The content is not what 9303 allows.
    #[error("{file}: {why}")]
    Invalid {
        /// Which file.
        file: &'static str,
        /// Why.
        why: &'static str,
    },
    /// An MRZ check digit does not match.
    #[error("MRZ: check digit of {field} is wrong")]
    CheckDigit {
        /// Which field.
        field: &'static str,
    },
}

fn outer<'a>(file: &'static str, bytes: &'a [u8], tag: u32) -> Result<&'a [u8], LdsError> {
    let (t, _) = tlv::parse_one(bytes).map_err(|error| LdsError::Tlv { file, error })?;
    if t.tag != tag {
        return Err(LdsError::WrongTag { file, expected: tag, found: t.tag });
    }
    Ok(t.value)
}

fn inner<'a>(file: &'static str, bytes: &'a [u8], tag: u32, what: &'static str) -> Result<&'a [u8], LdsError> {
    tlv::find(bytes, tag)
        .map_err(|error| LdsError::Tlv { file, error })?
        .map(|t| t.value)
        .ok_or(LdsError::Missing { file, what })
}

// --- MRZ (9303-3 §4.9, 9303-4 §4.2) -------------------------------------------------------------

/// The value of an MRZ character for check digits: `0`–`9` → 0–9, `A`–`Z` → 10–35, `<` → 0.
fn char_value(c: u8) -> Option<u32> {
    match c {
        b'0'..=b'9' => Some(u32::from(c - b'0')),
        b'A'..=b'Z' => Some(u32::from(c - b'A') + 10),
        b'<' => Some(0),
        _ => None,
    }
}

/// The 9303-3 §4.9 check digit (weights 7, 3, 1) of `field`; `None` if it has a character the
/// MRZ does not allow.
pub fn check_digit(field: &str) -> Option<char> {
    let mut sum = 0u32;
    for (i, c) in field.bytes().enumerate() {
        sum += char_value(c)? * [7, 3, 1][i % 3];
    }
    char::from_digit(sum % 10, 10)
}

fn mrz_field(s: &str, len: usize) -> Option<String> {
    let s = s.to_ascii_uppercase();
    if s.len() > len || s.bytes().any(|c| char_value(c).is_none()) {
        return None;
    }
    Some(format!("{s:<<len$}"))
}

/// The MRZ information BAC and PACE derive their keys from (9303-11 §9.7.2): document number
/// (padded to 9 with `<`) ‖ check digit ‖ birth YYMMDD ‖ check digit ‖ expiry YYMMDD ‖ check
/// digit. `None` when a part is malformed. (Document numbers longer than 9 characters use the
/// optional data; not supported.)
pub fn mrz_information(document_number: &str, birth: &str, expiry: &str) -> Option<Zeroizing<String>> {
    let number = mrz_field(document_number.trim(), 9)?;
    let six = |d: &str| (d.len() == 6 && d.bytes().all(|c| c.is_ascii_digit())).then(|| d.to_owned());
    let (birth, expiry) = (six(birth)?, six(expiry)?);
    Some(Zeroizing::new(format!(
        "{number}{}{birth}{}{expiry}{}",
        check_digit(&number)?,
        check_digit(&birth)?,
        check_digit(&expiry)?
    )))
}

/// The fields of a TD3 (passport) MRZ (9303-4 §4.2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MrzFields {
    /// Document code, `P` (and a second character or `<`).
    pub document_code: String,
    /// Issuing state, 3 letters (`JPN`).
    pub issuing_state: String,
    /// Primary identifier (surname), with `<` turned into spaces.
    pub surname: String,
    /// Secondary identifier (given names), with `<` turned into spaces.
    pub given_names: String,
    /// Document number, without filler.
    pub document_number: String,
    /// Nationality, 3 letters.
    pub nationality: String,
    /// Date of birth YYMMDD.
    pub birth: String,
    /// Sex: `M`, `F` or `<`.
    pub sex: char,
    /// Date of expiry YYMMDD.
    pub expiry: String,
    /// Personal number / optional data, without filler.
    pub personal_number: String,
}

impl MrzFields {
    /// The two 44-character lines, check digits computed. `None` when a field does not fit or
    /// has characters the MRZ cannot carry.
    pub fn to_mrz(&self) -> Option<String> {
        let code = mrz_field(&self.document_code, 2)?;
        let state = mrz_field(&self.issuing_state, 3)?;
        let name = format!("{}<<{}", self.surname.trim().replace(' ', "<"), self.given_names.trim().replace(' ', "<"));
        let name = mrz_field(&name, 39)?;
        let number = mrz_field(&self.document_number, 9)?;
        let nat = mrz_field(&self.nationality, 3)?;
        let birth = mrz_field(&self.birth, 6)?;
        let expiry = mrz_field(&self.expiry, 6)?;
        let personal = mrz_field(&self.personal_number, 14)?;
        let sex = mrz_field(&self.sex.to_string(), 1)?;
        let (cn, cb, ce) = (check_digit(&number)?, check_digit(&birth)?, check_digit(&expiry)?);
        // An all-filler personal number may have `<` as its check digit; 0 is also valid.
        let cp = check_digit(&personal)?;
        let composite = format!("{number}{cn}{birth}{cb}{expiry}{ce}{personal}{cp}");
        let cc = check_digit(&composite)?;
        Some(format!("{code}{state}{name}{number}{cn}{nat}{birth}{cb}{sex}{expiry}{ce}{personal}{cp}{cc}"))
    }

    /// Parses an 88-character TD3 MRZ (the two lines concatenated), checking every check digit.
    pub fn parse(mrz: &str) -> Result<MrzFields, LdsError> {
        let file = "MRZ";
        let b = mrz.as_bytes();
        if b.len() != 88 || b.iter().any(|&c| char_value(c).is_none()) {
            return Err(LdsError::Invalid { file, why: "not 88 MRZ characters (TD3)" });
        }
        // Only ASCII from here: slicing is on character boundaries.
        let s = |a: usize, z: usize| &mrz[a..z];
        let clean = |x: &str| x.trim_end_matches('<').replace('<', " ").trim().to_owned();
        let check = |field: &'static str, value: &str, digit: &str| {
            if check_digit(value).map(|c| c.to_string()).as_deref() == Some(digit)
                || (field == "personal number" && digit == "<" && value.bytes().all(|c| c == b'<'))
            {
                Ok(())
            } else {
                Err(LdsError::CheckDigit { field })
            }
        };
        if !s(0, 1).starts_with('P') {
            return Err(LdsError::Invalid { file, why: "document code is not P (not a passport)" });
        }
        let name = s(5, 44);
        let (surname, given) = name.split_once("<<").unwrap_or((name, ""));
        check("document number", s(44, 53), s(53, 54))?;
        check("birth date", s(57, 63), s(63, 64))?;
        check("expiry date", s(65, 71), s(71, 72))?;
        check("personal number", s(72, 86), s(86, 87))?;
        let composite = format!("{}{}{}{}", s(44, 54), s(57, 64), s(65, 72), s(72, 87));
        check("composite", &composite, s(87, 88))?;
        Ok(MrzFields {
            document_code: clean(s(0, 2)),
            issuing_state: clean(s(2, 5)),
            surname: clean(surname),
            given_names: clean(given),
            document_number: clean(s(44, 53)),
            nationality: clean(s(54, 57)),
            birth: s(57, 63).to_owned(),
            sex: char::from(b[64]),
            expiry: s(65, 71).to_owned(),
            personal_number: clean(s(72, 86)),
        })
    }
}

// --- EF.COM and DG1 -----------------------------------------------------------------------------

/// EF.COM for LDS 1.7, Unicode 4.0.0, listing `tags` (e.g. `[0x61, 0x75, 0x6E, 0x6F]`).
pub fn encode_com(tags: &[u8]) -> Vec<u8> {
    let mut v = tlv::encode(0x5F01, b"0107");
    v.extend(tlv::encode(0x5F36, b"040000"));
    v.extend(tlv::encode(0x5C, tags));
    tlv::encode(TAG_COM, &v)
}

/// The data-group tags EF.COM lists.
pub fn parse_com(bytes: &[u8]) -> Result<Vec<u8>, LdsError> {
    let v = outer("EF.COM", bytes, TAG_COM)?;
    Ok(inner("EF.COM", v, 0x5C, "tag list 5C")?.to_vec())
}

/// DG1 around an 88-character MRZ.
pub fn encode_dg1(mrz: &str) -> Vec<u8> {
    tlv::encode(TAG_DG1, &tlv::encode(0x5F1F, mrz.as_bytes()))
}

/// The MRZ fields of DG1, check digits verified.
pub fn parse_dg1(bytes: &[u8]) -> Result<MrzFields, LdsError> {
    let v = outer("DG1", bytes, TAG_DG1)?;
    let mrz = inner("DG1", v, 0x5F1F, "MRZ 5F1F")?;
    let mrz = core::str::from_utf8(mrz).map_err(|_| LdsError::Invalid { file: "DG1", why: "MRZ is not ASCII" })?;
    MrzFields::parse(mrz)
}

// --- DG2 (9303-10 §4.7.2, ISO/IEC 19794-5:2005) -------------------------------------------------

/// The image encoding of a face in DG2 (ISO/IEC 19794-5 image data type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaceImageType {
    /// `00` — JPEG.
    Jpeg,
    /// `01` — JPEG 2000.
    Jpeg2000,
}

/// A face image from DG2.
#[derive(Clone, PartialEq, Eq)]
pub struct Face {
    /// Encoding.
    pub image_type: FaceImageType,
    /// Width in pixels.
    pub width: u16,
    /// Height in pixels.
    pub height: u16,
    /// The image bytes.
    pub image: Vec<u8>,
}

impl core::fmt::Debug for Face {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Face({:?}, {}x{}, {} bytes)", self.image_type, self.width, self.height, self.image.len())
    }
}

const FAC_HEADER: usize = 14;
const FACE_INFO: usize = 20;
const IMAGE_INFO: usize = 12;

/// DG2 with one face: biometric information group template `7F61`, one `7F60` with its
/// biometric header template (ICAO header 1.1, type face, format owner ISO/IEC JTC 1 SC 37,
/// format type 0008) and the ISO/IEC 19794-5 record in `5F2E`.
pub fn encode_dg2(face: &Face) -> Vec<u8> {
    let block = (FACE_INFO + IMAGE_INFO + face.image.len()) as u32;
    let record_len = FAC_HEADER as u32 + block;
    let mut r = Vec::with_capacity(record_len as usize);
    r.extend_from_slice(b"FAC\x00");
    r.extend_from_slice(b"010\x00");
    r.extend_from_slice(&record_len.to_be_bytes());
    r.extend_from_slice(&1u16.to_be_bytes());
    // Facial information: block length, 0 feature points, gender unspecified, eye/hair colour
    // unspecified, feature mask 0, expression neutral (1), pose angles 0, uncertainty 0.
    r.extend_from_slice(&block.to_be_bytes());
    r.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    // Image information: full frontal (1), data type, width, height, colour space
    // (1 = sRGB, 3 = greyscale-ish "other"), source unknown, device 0, quality 0.
    let data_type = match face.image_type {
        FaceImageType::Jpeg => 0,
        FaceImageType::Jpeg2000 => 1,
    };
    r.extend_from_slice(&[1, data_type]);
    r.extend_from_slice(&face.width.to_be_bytes());
    r.extend_from_slice(&face.height.to_be_bytes());
    r.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    r.extend_from_slice(&face.image);
    let mut bht = tlv::encode(0x80, &[1, 1]);
    bht.extend(tlv::encode(0x81, &[0x02]));
    bht.extend(tlv::encode(0x87, &[1, 1]));
    bht.extend(tlv::encode(0x88, &[0, 8]));
    let mut bit = tlv::encode(0xA1, &bht);
    bit.extend(tlv::encode(0x5F2E, &r));
    let mut group = tlv::encode(0x02, &[1]);
    group.extend(tlv::encode(0x7F60, &bit));
    tlv::encode(TAG_DG2, &tlv::encode(0x7F61, &group))
}

/// The first face of DG2.
pub fn parse_dg2(bytes: &[u8]) -> Result<Face, LdsError> {
    let file = "DG2";
    if bytes.len() > MAX_DG_LEN {
        return Err(LdsError::Invalid { file, why: "larger than the DG budget" });
    }
    let v = outer(file, bytes, TAG_DG2)?;
    let group = inner(file, v, 0x7F61, "biometric information group 7F61")?;
    let bit = inner(file, group, 0x7F60, "biometric information template 7F60")?;
    let bdb = match inner(file, bit, 0x5F2E, "biometric data block") {
        Ok(b) => b,
        Err(_) => inner(file, bit, 0x7F2E, "biometric data block 5F2E/7F2E")?,
    };
    let bad = |why| LdsError::Invalid { file, why };
    if bdb.get(..4) != Some(b"FAC\0") {
        return Err(bad("not an ISO/IEC 19794-5 record (FAC)"));
    }
    let be16 = |at: usize| bdb.get(at..at + 2).map(|x| u16::from_be_bytes([x[0], x[1]]));
    let be32 = |at: usize| bdb.get(at..at + 4).map(|x| u32::from_be_bytes([x[0], x[1], x[2], x[3]]));
    if be16(12).ok_or(bad("truncated header"))? == 0 {
        return Err(bad("no facial image"));
    }
    let block = be32(FAC_HEADER).ok_or(bad("truncated facial information"))? as usize;
    let points = usize::from(be16(FAC_HEADER + 4).ok_or(bad("truncated facial information"))?);
    let info = FAC_HEADER + FACE_INFO + 8 * points;
    let data_type = *bdb.get(info + 1).ok_or(bad("truncated image information"))?;
    let width = be16(info + 2).ok_or(bad("truncated image information"))?;
    let height = be16(info + 4).ok_or(bad("truncated image information"))?;
    let start = info + IMAGE_INFO;
    let end = FAC_HEADER.checked_add(block).filter(|&e| e <= bdb.len() && e >= start).ok_or(bad("block length"))?;
    let image_type = match data_type {
        0 => FaceImageType::Jpeg,
        1 => FaceImageType::Jpeg2000,
        _ => return Err(bad("image data type is neither JPEG nor JPEG 2000")),
    };
    Ok(Face { image_type, width, height, image: bdb[start..end].to_vec() })
}

// --- DG14 (9303-11 §9.2) and DG15 (§6.1) ------------------------------------------------------

/// `SecurityInfo ::= SEQUENCE { protocol OBJECT IDENTIFIER, requiredData ANY DEFINED BY
/// protocol, optionalData ANY DEFINED BY protocol OPTIONAL }` (9303-11 §9.2).
#[derive(Debug, Clone, PartialEq, Eq, Sequence)]
pub struct SecurityInfo {
    /// The protocol.
    pub protocol: ObjectIdentifier,
    /// Its required data (a version INTEGER for AA and PACE).
    pub required_data: Any,
    /// Its optional data (AA: the signature algorithm; PACE: the parameter id).
    pub optional_data: Option<Any>,
}

impl SecurityInfo {
    /// `ActiveAuthenticationInfo { id-AA, version 1, signatureAlgorithm }` (9303-11 §9.2.7).
    pub fn active_authentication(signature_algorithm: ObjectIdentifier) -> der::Result<SecurityInfo> {
        Ok(SecurityInfo {
            protocol: ID_AA,
            required_data: Any::encode_from(&1u8)?,
            optional_data: Some(Any::encode_from(&signature_algorithm)?),
        })
    }

    /// `PACEInfo { protocol, version 2, parameterId }` (9303-11 §9.2.1).
    pub fn pace(protocol: ObjectIdentifier, parameter_id: u8) -> der::Result<SecurityInfo> {
        Ok(SecurityInfo {
            protocol,
            required_data: Any::encode_from(&2u8)?,
            optional_data: Some(Any::encode_from(&parameter_id)?),
        })
    }

    /// Whether this is a PACEInfo (protocol under id-PACE).
    pub fn is_pace(&self) -> bool {
        self.protocol.as_bytes().starts_with(ID_PACE_ARC) && self.protocol.as_bytes().len() > ID_PACE_ARC.len() + 1
    }
}

/// Most SecurityInfos a file may carry (the `der` crate sorts SET OF while decoding).
pub const MAX_SECURITY_INFOS: usize = 32;

/// `SecurityInfos ::= SET OF SecurityInfo` as DER.
pub fn encode_security_infos(infos: &[SecurityInfo]) -> der::Result<Vec<u8>> {
    let any = infos.iter().map(Any::encode_from).collect::<der::Result<Vec<Any>>>()?;
    SetOfVec::try_from(any)?.to_der()
}

/// Parses `SecurityInfos` (EF.CardAccess, or DG14's content), at most [`MAX_SECURITY_INFOS`].
pub fn parse_security_infos(file: &'static str, der_bytes: &[u8]) -> Result<Vec<SecurityInfo>, LdsError> {
    let (set, _) = tlv::parse_one(der_bytes).map_err(|error| LdsError::Tlv { file, error })?;
    if set.tag != 0x31 {
        return Err(LdsError::WrongTag { file, expected: 0x31, found: set.tag });
    }
    let mut out = Vec::new();
    for t in tlv::iter(set.value) {
        let t = t.map_err(|error| LdsError::Tlv { file, error })?;
        if out.len() == MAX_SECURITY_INFOS {
            return Err(LdsError::Invalid { file, why: "too many SecurityInfos" });
        }
        out.push(SecurityInfo::from_der(t.raw).map_err(|_| LdsError::Invalid { file, why: "bad SecurityInfo" })?);
    }
    Ok(out)
}

/// DG14 around `SecurityInfos`.
pub fn encode_dg14(infos: &[SecurityInfo]) -> der::Result<Vec<u8>> {
    Ok(tlv::encode(TAG_DG14, &encode_security_infos(infos)?))
}

/// The SecurityInfos of DG14.
pub fn parse_dg14(bytes: &[u8]) -> Result<Vec<SecurityInfo>, LdsError> {
    parse_security_infos("DG14", outer("DG14", bytes, TAG_DG14)?)
}

/// DG15 around a `SubjectPublicKeyInfo`.
pub fn encode_dg15(spki_der: &[u8]) -> Vec<u8> {
    tlv::encode(TAG_DG15, spki_der)
}

/// The `SubjectPublicKeyInfo` DER in DG15 (checked to parse).
pub fn parse_dg15(bytes: &[u8]) -> Result<Vec<u8>, LdsError> {
    let v = outer("DG15", bytes, TAG_DG15)?;
    spki::SubjectPublicKeyInfoRef::from_der(v)
        .map_err(|_| LdsError::Invalid { file: "DG15", why: "not a SubjectPublicKeyInfo" })?;
    Ok(v.to_vec())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// ICAO 9303-4 Appendix A specimen (Utopia, Anna Maria Eriksson).
    const SPECIMEN: &str = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<L898902C36UTO7408122F1204159ZE184226B<<<<<10";

    #[test]
    fn icao_specimen_mrz_parses_and_rebuilds() {
        let f = MrzFields::parse(SPECIMEN).unwrap();
        assert_eq!((f.surname.as_str(), f.given_names.as_str()), ("ERIKSSON", "ANNA MARIA"));
        assert_eq!(
            (f.document_number.as_str(), f.birth.as_str(), f.expiry.as_str()),
            ("L898902C3", "740812", "120415")
        );
        assert_eq!(f.to_mrz().unwrap(), SPECIMEN);
        let mut broken = SPECIMEN.to_owned().into_bytes();
        broken[60] = b'9';
        assert!(matches!(
            MrzFields::parse(core::str::from_utf8(&broken).unwrap()),
            Err(LdsError::CheckDigit { field: "birth date" })
        ));
        assert_eq!(&*mrz_information("L898902C", "690806", "940623").unwrap(), "L898902C<369080619406236");
    }

    #[test]
    fn dg2_round_trips() {
        let face = Face { image_type: FaceImageType::Jpeg2000, width: 90, height: 110, image: vec![1, 2, 3] };
        assert_eq!(parse_dg2(&encode_dg2(&face)).unwrap(), face);
        for n in 0..encode_dg2(&face).len() {
            let _ = parse_dg2(&encode_dg2(&face)[..n]);
        }
    }

    #[test]
    fn security_infos_round_trip() {
        let infos = vec![
            SecurityInfo::active_authentication(ECDSA_PLAIN_SHA256).unwrap(),
            SecurityInfo::pace(ID_PACE_ECDH_GM_AES_128, 12).unwrap(),
        ];
        let dg14 = encode_dg14(&infos).unwrap();
        let back = parse_dg14(&dg14).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back.iter().filter(|i| i.is_pace()).count(), 1);
    }
}
