//! The reader and the verifier of the residence card (shared/spec/40-id-documents.md §2): read
//! the free files, authenticate with the card number, read DF1–DF3 under secure messaging,
//! then verify the signer certificate's chain to a trusted immigration root, its validity, and
//! the check code over the front image and the photo.

use der::{Decode, Encode};
use hanko_card::{StatusWord, Transport};
use hanko_pki::x509_cert::Certificate;
use hanko_pki::{RsaPublicKey, SignatureAlgorithm};
use rand_core::RngCore;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::files::{self, ResidenceRecord};
use super::sm::{self, AuthKeys, SessionKey, Suite};
use super::{CardNumber, ResidenceError, AID_DF1, AID_DF2, AID_DF3};
use crate::check::{
    AccessCode, CheckError, ChipCheck, DocumentKind, Field, IssuerCheck, Photo, PhotoFormat, Progress, Report, Trust,
    TrustAnchors,
};

/// Most immigration roots a counter's trust list may hold that are tried (a budget).
pub const MAX_ROOTS: usize = 64;

const OID_SHA256_RSA: der::asn1::ObjectIdentifier = der::asn1::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");

fn exchange(t: &mut dyn Transport, step: &'static str, apdu: &[u8]) -> Result<(Vec<u8>, StatusWord), ResidenceError> {
    let mut raw = t.transmit(apdu)?;
    if raw.len() < 2 {
        return Err(ResidenceError::ShortResponse { step });
    }
    let sw = StatusWord(u16::from_be_bytes([raw[raw.len() - 2], raw[raw.len() - 1]]));
    raw.truncate(raw.len() - 2);
    Ok((raw, sw))
}

fn expect_ok(step: &'static str, sw: StatusWord) -> Result<(), ResidenceError> {
    if sw.is_success() {
        Ok(())
    } else {
        Err(ResidenceError::Status { step, sw })
    }
}

fn select(t: &mut dyn Transport, step: &'static str, aid: Option<&[u8; 16]>) -> Result<(), ResidenceError> {
    let apdu = match aid {
        None => vec![0x00, 0xA4, 0x00, 0x00, 0x02, 0x3F, 0x00],
        Some(aid) => [&[0x00, 0xA4, 0x04, 0x0C, 0x10][..], &aid[..]].concat(),
    };
    let (_, sw) = exchange(t, step, &apdu)?;
    expect_ok(step, sw)
}

/// Reads a whole EF by SFI: plain `00 B0 P1 00 00 00 00` or secure
/// `08 B0 P1 00 00 00 04 96 02 00 00 00 00`. `Ok(None)` when the card has no such file (`6A 82`).
fn read(
    t: &mut dyn Transport,
    step: &'static str,
    p1: u8,
    ks: Option<&SessionKey>,
) -> Result<Option<Vec<u8>>, ResidenceError> {
    let apdu = match ks {
        None => vec![0x00, 0xB0, p1, 0x00, 0x00, 0x00, 0x00],
        Some(_) => vec![0x08, 0xB0, p1, 0x00, 0x00, 0x00, 0x04, 0x96, 0x02, 0x00, 0x00, 0x00, 0x00],
    };
    let (data, sw) = exchange(t, step, &apdu)?;
    if sw == StatusWord::FILE_NOT_FOUND {
        return Ok(None);
    }
    expect_ok(step, sw)?;
    match ks {
        None => Ok(Some(data)),
        Some(ks) => {
            let plain = ks.unwrap(&data).map_err(|error| ResidenceError::SecureMessaging { step, error })?;
            Ok(Some(plain.to_vec()))
        }
    }
}

fn parsed<T>(file: &'static str, r: Result<T, files::FileError>) -> Result<T, ResidenceError> {
    r.map_err(|error| ResidenceError::File { file, error })
}

fn need(step: &'static str, v: Option<Vec<u8>>) -> Result<Vec<u8>, ResidenceError> {
    v.ok_or(ResidenceError::Status { step, sw: StatusWord::FILE_NOT_FOUND })
}

/// Card-number authentication: GET CHALLENGE, MUTUAL AUTHENTICATE, VERIFY under SM. The
/// terminal's RND.IFD (8 bytes) then K.IFD (16 bytes) come from `rng`.
fn authenticate(
    t: &mut dyn Transport,
    number: &CardNumber,
    rng: &mut dyn RngCore,
) -> Result<SessionKey, ResidenceError> {
    let (rnd, sw) = exchange(t, "GET CHALLENGE", &[0x00, 0x84, 0x00, 0x00, 0x08])?;
    expect_ok("GET CHALLENGE", sw)?;
    let rnd_icc: [u8; sm::RND_LEN] =
        rnd.try_into().map_err(|_| ResidenceError::ShortResponse { step: "GET CHALLENGE" })?;
    let mut rnd_ifd = [0u8; sm::RND_LEN];
    rng.fill_bytes(&mut rnd_ifd);
    let mut k_ifd = zeroize::Zeroizing::new([0u8; sm::K_LEN]);
    rng.fill_bytes(&mut k_ifd[..]);
    let keys = AuthKeys::derive(Suite::Gen1Tdes, number);
    let data = sm::terminal_auth(&keys, &rnd_ifd, &rnd_icc, &k_ifd);
    let apdu = [&[0x00, 0x82, 0x00, 0x00, 0x28][..], &data[..], &[0x00]].concat();
    let (resp, sw) = exchange(t, "MUTUAL AUTHENTICATE", &apdu)?;
    if sw == StatusWord(0x6300) {
        return Err(ResidenceError::WrongCardNumber { step: "MUTUAL AUTHENTICATE" });
    }
    expect_ok("MUTUAL AUTHENTICATE", sw)?;
    let ks = sm::terminal_finish(&keys, &rnd_ifd, &rnd_icc, &k_ifd, &resp)
        .map_err(|error| ResidenceError::SecureMessaging { step: "MUTUAL AUTHENTICATE", error })?;
    let cryptogram = ks.wrap(number.as_bytes());
    let mut apdu = vec![0x08, 0x20, 0x00, 0x86, cryptogram.len() as u8];
    apdu.extend_from_slice(&cryptogram);
    let (_, sw) = exchange(t, "VERIFY", &apdu)?;
    if sw == StatusWord(0x6300) {
        return Err(ResidenceError::WrongCardNumber { step: "VERIFY" });
    }
    expect_ok("VERIFY", sw)?;
    Ok(ks)
}

/// Reads a residence card or special permanent resident certificate with its card number
/// (the terminal's randomness from the operating system). See [`read_residence_with`].
pub fn read_residence(
    t: &mut dyn Transport,
    card_number: &CardNumber,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<ResidenceRecord, ResidenceError> {
    read_residence_with(t, card_number, &mut rand_core::OsRng, progress)
}

/// Reads every file: MF (free, plain), the card-number authentication, then DF1 (front image,
/// photo), DF2 (back side) and DF3 (signature) under secure messaging. `rng` gives RND.IFD
/// and K.IFD. Nothing is verified here: see [`verify`]. A wrong number answers
/// [`ResidenceError::WrongCardNumber`] (the card counts nothing; try again freely).
pub fn read_residence_with(
    t: &mut dyn Transport,
    card_number: &CardNumber,
    rng: &mut dyn RngCore,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<ResidenceRecord, ResidenceError> {
    const TOTAL: usize = 6 + 3 + 7004 + 3004 + 342 + 122 + 122 + 3 + 1464;
    let mut done = 0usize;
    let mut step = |name: &'static str, n: usize, progress: &mut dyn FnMut(Progress<'_>)| {
        done += n;
        progress(Progress { step: name, done, total: Some(TOTAL) });
    };
    select(t, "SELECT MF", None)?;
    let common = need("READ BINARY MF/EF01", read(t, "READ BINARY MF/EF01", 0x8B, None)?)?;
    let spec_version = parsed("MF/EF01 common data", files::parse_common(&common))?;
    let kind = need("READ BINARY MF/EF02", read(t, "READ BINARY MF/EF02", 0x8A, None)?)?;
    let card_type = parsed("MF/EF02 card type", files::parse_card_type(&kind))?;
    step("card type", 9, progress);

    let ks = authenticate(t, card_number, rng)?;
    step("card-number authentication", 0, progress);

    select(t, "SELECT DF1", Some(&AID_DF1))?;
    let front = need("READ BINARY DF1/EF01", read(t, "READ BINARY DF1/EF01", 0x85, Some(&ks))?)?;
    let front_image = parsed("DF1/EF01 front image", files::parse_front_image(&front))?;
    step("front image", front.len(), progress);
    let photo = match read(t, "READ BINARY DF1/EF02", 0x86, Some(&ks))? {
        Some(f) => {
            step("photo", f.len(), progress);
            Some(parsed("DF1/EF02 photo", files::parse_photo(&f))?)
        }
        None => None,
    };

    select(t, "SELECT DF2", Some(&AID_DF2))?;
    let addr = need("READ BINARY DF2/EF01", read(t, "READ BINARY DF2/EF01", 0x81, Some(&ks))?)?;
    let address = parsed("DF2/EF01 address", files::parse_address(&addr))?;
    let permission_comprehensive = read(t, "READ BINARY DF2/EF02", 0x82, Some(&ks))?
        .map(|f| parsed("DF2/EF02 permission", files::parse_permission(&f, 0xD5)))
        .transpose()?;
    let permission_individual = read(t, "READ BINARY DF2/EF03", 0x83, Some(&ks))?
        .map(|f| parsed("DF2/EF03 permission", files::parse_permission(&f, 0xD6)))
        .transpose()?;
    let renewal_applied = read(t, "READ BINARY DF2/EF04", 0x84, Some(&ks))?
        .map(|f| parsed("DF2/EF04 renewal", files::parse_renewal(&f)))
        .transpose()?;
    step("back side", 342 + 122 + 122 + 3, progress);

    select(t, "SELECT DF3", Some(&AID_DF3))?;
    let signature = read(t, "READ BINARY DF3/EF01", 0x82, Some(&ks))?
        .map(|f| parsed("DF3/EF01 signature", files::parse_signature(&f)))
        .transpose()?;
    step("signature", 1464, progress);

    Ok(ResidenceRecord {
        spec_version,
        card_type,
        front_image,
        photo,
        address,
        permission_comprehensive,
        permission_individual,
        renewal_applied,
        signature,
    })
}

/// A record whose check code verified under a signer certificate chained to a trusted
/// immigration root, valid at the time of the check. Only [`verify`] makes one.
#[derive(Debug, Clone)]
pub struct VerifiedResidence {
    record: ResidenceRecord,
    signer: String,
    root: String,
}

impl VerifiedResidence {
    /// The record (its DF1 files are the signed part).
    pub fn record(&self) -> &ResidenceRecord {
        &self.record
    }
    /// The signer certificate's subject DN.
    pub fn signer(&self) -> &str {
        &self.signer
    }
    /// The trusted root's subject DN.
    pub fn root(&self) -> &str {
        &self.root
    }
}

fn tbs_of(der: &[u8]) -> Option<&[u8]> {
    let (outer, _) = crate::tlv::parse_one(der).ok()?;
    let (tbs, _) = crate::tlv::parse_one(outer.value).ok()?;
    Some(tbs.raw)
}

fn validity(c: &Certificate) -> (OffsetDateTime, OffsetDateTime) {
    let v = &c.tbs_certificate.validity;
    (hanko_pki::from_x509_time(&v.not_before), hanko_pki::from_x509_time(&v.not_after))
}

fn valid_at(which: &'static str, c: &Certificate, at: OffsetDateTime) -> Result<(), ResidenceError> {
    let (not_before, not_after) = validity(c);
    if at < not_before || at > not_after {
        return Err(ResidenceError::CertificateNotValid { which, at, not_before, not_after });
    }
    Ok(())
}

/// Verifies a record: the signer certificate (DF3 `DB`) must be signed (sha256WithRSA) by one
/// of `trust.immigration_roots` of the same name, both valid at `now`, and the check code
/// (DF3 `DA`) must be RSA PKCS#1 v1.5 without DigestInfo over SHA-256(D0 value ‖ D1 value)
/// under the signer's key. The front image must be 7000 bytes and the photo present and 3000
/// bytes ([`ResidenceError::SignedPartSize`], [`ResidenceError::PhotoMissing`]): the hash covers
/// the two concatenated, and only fixed lengths say which byte is whose.
pub fn verify(
    record: ResidenceRecord,
    trust: &TrustAnchors,
    now: OffsetDateTime,
) -> Result<VerifiedResidence, ResidenceError> {
    let sig = record.signature.as_ref().ok_or(ResidenceError::NoSignature)?;
    // The check code covers the two values concatenated: only fixed lengths pin the split.
    let size = |part: &'static str, value: &[u8], expected: usize| {
        if value.len() == expected {
            Ok(())
        } else {
            Err(ResidenceError::SignedPartSize { part, len: value.len(), expected })
        }
    };
    size("DF1/EF01 front image (D0)", &record.front_image, files::FRONT_IMAGE_LEN)?;
    let photo = record.photo.as_deref().ok_or(ResidenceError::PhotoMissing)?;
    size("DF1/EF02 photo (D1)", photo, files::PHOTO_LEN)?;
    let cert = Certificate::from_der(&sig.certificate).map_err(|e| ResidenceError::Certificate(e.to_string()))?;
    let tbs = tbs_of(&sig.certificate).ok_or_else(|| ResidenceError::Certificate("no TBSCertificate".into()))?;
    let issuer = cert.tbs_certificate.issuer.to_string();
    if cert.signature_algorithm.oid != OID_SHA256_RSA {
        return Err(ResidenceError::UntrustedIssuer { issuer, why: "not signed with sha256WithRSAEncryption" });
    }
    let mut named = false;
    let mut root_found = None;
    for der in trust.immigration_roots.iter().take(MAX_ROOTS) {
        let Ok(root) = Certificate::from_der(der) else { continue };
        if root.tbs_certificate.subject != cert.tbs_certificate.issuer {
            continue;
        }
        named = true;
        let Ok(key) = RsaPublicKey::from_spki(&root.tbs_certificate.subject_public_key_info) else { continue };
        let Some(bits) = cert.signature.as_bytes() else { continue };
        if key.verify(SignatureAlgorithm::RsaPkcs1Sha256, tbs, bits).is_ok() {
            root_found = Some(root);
            break;
        }
    }
    let Some(root) = root_found else {
        let why = if named {
            "the trusted root of that name did not sign it"
        } else {
            "no trusted immigration root of that name"
        };
        return Err(ResidenceError::UntrustedIssuer { issuer, why });
    };
    valid_at("root", &root, now)?;
    valid_at("signer", &cert, now)?;
    let spki = cert
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| ResidenceError::Certificate(e.to_string()))?;
    let key = RsaPublicKey::from_spki_der(&spki).map_err(|e| ResidenceError::Certificate(e.to_string()))?;
    let digest = Sha256::new().chain_update(&record.front_image).chain_update(photo).finalize();
    key.verify_unprefixed(&digest, &sig.check_code).map_err(|_| ResidenceError::BadCheckCode)?;
    Ok(VerifiedResidence {
        signer: cert.tbs_certificate.subject.to_string(),
        root: root.tbs_certificate.subject.to_string(),
        record,
    })
}

const BACK_SIDE: &str =
    "DF2 (the back side, written by the municipal office or immigration after issue) is not covered by the check code";

fn unsigned(why: &str) -> Trust {
    Trust::Unsigned { why: why.to_owned() }
}

fn fields(r: &ResidenceRecord, signed: bool) -> Vec<Field> {
    let face = if signed {
        Trust::Signed
    } else {
        unsigned("no signature on this card (holders under 16 have none): the image is not verified")
    };
    let mut out = vec![
        Field {
            key: "card_type",
            label: "カード種別",
            value: r.card_type.label_ja().to_owned(),
            trust: unsigned("MF/EF02 is free to read and not covered by the check code; the signed front image shows the card's kind"),
        },
        Field {
            key: "front_image",
            label: "券面（表）画像 — 氏名・生年月日・性別・国籍・地域・住居地・在留資格・在留期間・就労制限の有無・カード番号は画像としてのみ記録（テキストではない）",
            value: format!(
                "TIFF (CCITT G4 / MMR), {} bytes: the name, birth date, sex, nationality/region, address at issue, status of residence, period of stay, work restriction and card number are in this image, not text; compare it with the card face",
                files::trim_nulls(&r.front_image).len()
            ),
            trust: face,
        },
        Field { key: "spec_version", label: "仕様バージョン", value: r.spec_version.clone(), trust: unsigned("MF/EF01 is free to read and not signed") },
        Field { key: "address", label: "住居地（裏面）", value: r.address.address.clone(), trust: unsigned(BACK_SIDE) },
        Field { key: "address_written_on", label: "住居地記載日（裏面）", value: date(&r.address.written_on), trust: unsigned(BACK_SIDE) },
        Field {
            key: "municipality_code",
            label: "市町村コード（裏面）",
            value: r.address.municipality_code.clone(),
            trust: unsigned(BACK_SIDE),
        },
    ];
    if let Some(p) = &r.permission_comprehensive {
        out.push(Field {
            key: "permission_comprehensive",
            label: "資格外活動許可欄（包括）",
            value: p.clone(),
            trust: unsigned(BACK_SIDE),
        });
    }
    if let Some(p) = &r.permission_individual {
        out.push(Field {
            key: "permission_individual",
            label: "資格外活動許可欄（個別）",
            value: p.clone(),
            trust: unsigned(BACK_SIDE),
        });
    }
    if let Some(applied) = r.renewal_applied {
        out.push(Field {
            key: "renewal_applied",
            label: "在留期間更新等許可申請欄",
            value: if applied { "申請中" } else { "なし" }.to_owned(),
            trust: unsigned(BACK_SIDE),
        });
    }
    out
}

/// `YYYYMMDD` as `YYYY-MM-DD` (left as written when it is not 8 digits).
fn date(s: &str) -> String {
    if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
        format!("{}-{}-{}", &s[..4], &s[4..6], &s[6..])
    } else {
        s.to_owned()
    }
}

const CHIP_NOT_PROVEN: &str = "card-number authentication proves only that the reader knew the number printed on the card, not that the chip is genuine: the residence card has no chip-authentication key, so the signed files copied onto another chip would pass";

fn report(r: &ResidenceRecord, signed: Option<&VerifiedResidence>) -> Report {
    let photo = r.photo_trimmed().map(|bytes| Photo {
        format: PhotoFormat::Jpeg2000,
        bytes: bytes.to_vec(),
        trust: if signed.is_some() { Trust::Signed } else { unsigned("no signature on this card") },
    });
    let issuer = match signed {
        Some(v) => IssuerCheck {
            method: format!(
                "check code (DF3 DA): RSA-2048 PKCS#1 v1.5 without DigestInfo over SHA-256(DF1/EF01 front image ‖ DF1/EF02 photo), signer certificate (DF3 DB) chained to the trusted immigration root {}",
                v.root()
            ),
            signer: v.signer().to_owned(),
        },
        None => IssuerCheck {
            method: "none: this card has no signature (DF3/EF01; holders under 16 have none) — nothing on it is verified".into(),
            signer: "—".into(),
        },
    };
    Report {
        kind: DocumentKind::ResidenceCard,
        fields: fields(r, signed.is_some()),
        photo,
        issuer,
        chip: ChipCheck::NotProven { why: CHIP_NOT_PROVEN.into() },
    }
}

fn lift(e: ResidenceError) -> CheckError {
    match e {
        ResidenceError::WrongCardNumber { .. } => CheckError::WrongAccessCode { which: None, tries_left: None },
        ResidenceError::Transport(t) => CheckError::Transport(t),
        other => CheckError::Residence(other),
    }
}

/// Reads and verifies this document at the counter (see [`crate::check()`]): the access code
/// is the card number. A card without a signature (holder under 16) gives a report whose
/// every field is marked unsigned and whose issuer check says so.
pub fn check(
    t: &mut dyn Transport,
    code: &AccessCode,
    trust: &TrustAnchors,
    now: OffsetDateTime,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<Report, CheckError> {
    let AccessCode::CardNumber(number) = code else {
        return Err(CheckError::WrongKindOfCode(
            "a residence card opens with the 12-character card number on its face",
        ));
    };
    let number = CardNumber::parse(number).map_err(lift)?;
    let record = read_residence(t, &number, progress).map_err(lift)?;
    if record.signature.is_none() {
        // Only a holder under 16 has no signature, and such a card has no photo either (spec
        // §2): a card with a photo and no signature is a forgery with its signature stripped.
        if record.photo.is_some() {
            return Err(lift(ResidenceError::SignatureStripped));
        }
        return Ok(report(&record, None));
    }
    progress(Progress { step: "verifying the signature", done: 0, total: None });
    let verified = verify(record, trust, now).map_err(lift)?;
    Ok(report(verified.record(), Some(&verified)))
}
