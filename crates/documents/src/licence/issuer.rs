//! The sandbox police signing key and the licence "printer": a synthetic holder in, an
//! emulated chip out (shared/spec/40-id-documents.md §1). Test names only: every issuer and
//! signer name carries `JPKI-TEST` and `TEST`; holders are synthetic (見本 花子).

use rand_core::RngCore;
use time::{Date, Month};
use zeroize::Zeroizing;

use hanko_pki::{key_identifier, SignatureAlgorithm, Signer, SoftwareKey};

use super::emulator::{Files, LicenceChip};
use super::files::{
    encode_changes, encode_gaiji, encode_honseki, encode_photo, encode_pin_flag, ChangeEntry, CommonData,
    CryptoFunction, Entries, EraDate, JisPiece, JisText, DF1_SIZES,
};
use super::verify::{file_digests, signed_message, SignatureRecord};
use super::LicenceError;

/// The sandbox signer's subject name (the key that signs EF07).
pub const SANDBOX_SIGNER_NAME: &str = "JPKI-TEST 公安委員会 TEST";
/// The sandbox issuer name EF07 names for that key.
pub const SANDBOX_ISSUER_NAME: &str = "JPKI-TEST 警察庁 TEST CA";
/// The PIN of a holder who set none: `****` \[V\].
pub const DEFAULT_PIN: [u8; 4] = *b"****";

/// A sandbox police signing key (RSA-2048). `Debug` shows only the names.
pub struct PoliceIssuer {
    key: SoftwareKey,
    subject: String,
    issuer: String,
}

impl core::fmt::Debug for PoliceIssuer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "PoliceIssuer({:?}, SKI {}, [key elided])", self.subject, hex::encode_upper(self.ski()))
    }
}

fn test_name(name: &str) -> Result<(), LicenceError> {
    if name.contains("JPKI-TEST") && name.contains("TEST") && name.len() <= super::verify::MAX_NAME_LEN {
        Ok(())
    } else {
        Err(LicenceError::Issue(format!("sandbox names must carry JPKI-TEST and TEST: {name:?}")))
    }
}

impl PoliceIssuer {
    /// A fresh sandbox key, subject `subject` (e.g. [`SANDBOX_SIGNER_NAME`]; must carry
    /// `JPKI-TEST` and `TEST`).
    pub fn generate(subject: &str) -> Result<PoliceIssuer, LicenceError> {
        test_name(subject)?;
        let key = SoftwareKey::generate_rsa2048().map_err(|e| LicenceError::Issue(e.to_string()))?;
        Ok(PoliceIssuer { key, subject: subject.to_owned(), issuer: SANDBOX_ISSUER_NAME.to_owned() })
    }

    /// The private key as PKCS#8 DER (zeroised on drop). Keep it sealed.
    pub fn to_pkcs8(&self) -> Result<Zeroizing<Vec<u8>>, LicenceError> {
        self.key.to_pkcs8().map_err(|e| LicenceError::Issue(e.to_string()))
    }

    /// Loads a key saved by [`PoliceIssuer::to_pkcs8`].
    pub fn from_pkcs8(der: &[u8], subject: &str) -> Result<PoliceIssuer, LicenceError> {
        test_name(subject)?;
        let key = SoftwareKey::from_pkcs8(der).map_err(|e| LicenceError::Issue(e.to_string()))?;
        Ok(PoliceIssuer { key, subject: subject.to_owned(), issuer: SANDBOX_ISSUER_NAME.to_owned() })
    }

    /// The subject key identifier (SHA-1 of the public key bits, as X.509's method 1).
    pub fn ski(&self) -> Vec<u8> {
        key_identifier(self.key.public_key())
    }

    /// The signer's name.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// What a counter trusts: the key by its SKI and SubjectPublicKeyInfo DER, named by this
    /// issuer's signer name, for [`crate::TrustAnchors::police_keys`].
    pub fn trust_anchor(&self) -> Result<crate::PoliceKey, LicenceError> {
        let spki = der::Encode::to_der(self.key.public_key()).map_err(|e| LicenceError::Issue(e.to_string()))?;
        Ok(crate::PoliceKey { name: self.subject.clone(), ski: self.ski(), spki })
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, LicenceError> {
        self.key.sign(SignatureAlgorithm::RsaPkcs1Sha256, message).map_err(|e| LicenceError::Issue(e.to_string()))
    }
}

/// A licence holder to issue a chip for. `Debug` elides the PINs.
#[derive(Clone)]
pub struct LicenceHolder {
    /// DF1/EF01.
    pub entries: Entries,
    /// 本籍 (DF1/EF02).
    pub honseki: JisText,
    /// 外字 glyphs (DF1/EF03), bitmaps.
    pub gaiji: Vec<Vec<u8>>,
    /// Changes written after issue (DF1/EF04): unsigned.
    pub changes: Vec<ChangeEntry>,
    /// Changes of 本籍 (DF1/EF06): unsigned.
    pub honseki_changes: Vec<ChangeEntry>,
    /// The photo, JPEG 2000.
    pub photo: Vec<u8>,
    /// PIN1 and PIN2 (4 ASCII digits each), or `None` when the holder set none (`****`).
    pub pins: Option<(Zeroizing<String>, Zeroizing<String>)>,
}

impl core::fmt::Debug for LicenceHolder {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "LicenceHolder({}, pins {})", self.entries.name, if self.pins.is_some() { "set" } else { "****" })
    }
}

fn date(y: i32, m: u8, d: u8) -> Date {
    Month::try_from(m).ok().and_then(|m| Date::from_calendar_date(y, m, d).ok()).unwrap_or(Date::MIN)
}

/// A synthetic holder: `n` = 0 見本 花子 with PINs `1234` / `5678`, a 外字 in the address and
/// one change entry; `n` = 1 見本 太郎 with no PINs set (`****`); further `n` vary the number.
pub fn sample_holder(n: u32) -> LicenceHolder {
    let (name, kana, pins) = match n % 2 {
        0 => (
            "見本　花子",
            "ミホン　ハナコ",
            Some((Zeroizing::new("1234".to_owned()), Zeroizing::new("5678".to_owned()))),
        ),
        _ => ("見本　太郎", "ミホン　タロウ", None),
    };
    let mut classes = [EraDate::NotHeld; 18];
    classes[4] = EraDate::Date(date(2012, 4, 2)); // 普通
    classes[7] = EraDate::Date(date(2014, 6, 10)); // 普自二
    classes[15] = EraDate::Date(date(2012, 4, 2)); // 中型 (8t限定)
    let gaiji_glyph: Vec<u8> = (0..128u32).map(|i| if i % 4 == 0 { 0x3C } else { (i * 37) as u8 }).collect();
    LicenceHolder {
        entries: Entries {
            jis_edition: "1997".to_owned(),
            name: JisText::plain(name),
            kana: Some(JisText::plain(kana)),
            alias: None,
            unified_name: None,
            birth: date(1990, 5, 15),
            address: JisText(vec![
                JisPiece::Text("東京都千代田区見本町一丁目".to_owned()),
                JisPiece::Gaiji(1),
                JisPiece::Text("番地".to_owned()),
            ]),
            issued: date(2024, 6, 1),
            reference: "12345".to_owned(),
            colour: JisText::plain("優良"),
            expiry: date(2029, 6, 15),
            conditions: [
                Some(JisText::plain("眼鏡等")),
                Some(JisText::plain("中型車は中型車（８ｔ）に限る")),
                None,
                None,
            ],
            commission: JisText::plain("見本県公安委員会"),
            number: format!("99{:010}", 12_345_670 + u64::from(n)),
            classes,
        },
        honseki: JisText::plain("見本県見本市見本町一番地"),
        gaiji: vec![gaiji_glyph],
        changes: if n.is_multiple_of(2) {
            vec![ChangeEntry {
                date: date(2025, 9, 1),
                commission: JisText::plain("見本県公安委員会"),
                content: JisText::plain("住所　東京都港区見本二丁目三番四号"),
            }]
        } else {
            Vec::new()
        },
        honseki_changes: Vec::new(),
        photo: hanko_card::SYNTHETIC_PORTRAIT_JP2.to_vec(),
        pins,
    }
}

fn pin_bytes(p: &str) -> Result<[u8; 4], LicenceError> {
    let bytes = p.as_bytes();
    match bytes {
        [a, b, c, d] if bytes.iter().all(u8::is_ascii_digit) => Ok([*a, *b, *c, *d]),
        _ => Err(LicenceError::Issue("a licence PIN is 4 ASCII digits".to_owned())),
    }
}

/// Issues a licence chip for `holder`, signed by `issuer` (EF07), card dates `card_issued` →
/// the licence's expiry; the EF07 serial comes from `rng`.
pub fn issue(
    holder: &LicenceHolder,
    issuer: &PoliceIssuer,
    card_issued: Date,
    rng: &mut dyn RngCore,
) -> Result<LicenceChip, LicenceError> {
    let bad = |why: &'static str| LicenceError::Issue(why.to_owned());
    let common = CommonData {
        spec_version: "010".to_owned(),
        issued: card_issued,
        expires: holder.entries.expiry,
        manufacturer: 0x00,
        crypto: CryptoFunction::RSA2048_SHA256,
    };
    let entries = holder.entries.encode().map_err(bad)?;
    let honseki = encode_honseki(&holder.honseki).map_err(bad)?;
    // The signed files of fixed size must be exactly that size (readers refuse any other).
    if entries.len() != DF1_SIZES[0] {
        return Err(bad("the entries do not fit DF1/EF01's 880 bytes"));
    }
    if honseki.len() != DF1_SIZES[1] {
        return Err(bad("本籍 does not fit DF1/EF02's 82 bytes"));
    }
    let photo = encode_photo(&holder.photo);
    let files = [entries.as_slice(), honseki.as_slice(), photo.as_slice()];
    let mut serial = vec![0u8; 8];
    rng.fill_bytes(&mut serial);
    serial[0] &= 0x7F;
    let record = SignatureRecord {
        signature: issuer.sign(&signed_message(files))?,
        serial,
        issuer: issuer.issuer.clone(),
        subject: issuer.subject.clone(),
        ski: issuer.ski(),
        digests: Some(file_digests(files)),
    };
    let pins = match &holder.pins {
        Some((p1, p2)) => [pin_bytes(p1)?, pin_bytes(p2)?],
        None => [DEFAULT_PIN, DEFAULT_PIN],
    };
    let files = Files {
        common: common.encode(),
        pin_flag: encode_pin_flag(holder.pins.is_some()),
        df1: vec![
            entries,
            honseki,
            encode_gaiji(&holder.gaiji, DF1_SIZES[2]),
            encode_changes(&holder.changes, DF1_SIZES[3]).map_err(bad)?,
            encode_gaiji(&[], DF1_SIZES[4]),
            encode_changes(&holder.honseki_changes, DF1_SIZES[5]).map_err(bad)?,
            record.encode(),
        ],
        photo,
    };
    Ok(LicenceChip::new(files, pins))
}
