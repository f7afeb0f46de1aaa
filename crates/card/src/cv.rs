//! The card-verifiable (CV) key hierarchy of the 券面事項入力補助AP and the records it signs
//! (shared/spec/10-card.md §6) — a **sandbox** hierarchy with test-style key IDs.
//!
//! ```text
//! EF 0004  CV certificate, 568 bytes
//!   7F 21 82 02 33
//!     5F 4E 82 01 29  <issuer key ID 16> <subject key ID 16> 90 03 01 00 01 91 82 01 00 <modulus 256>
//!     5F 37 82 01 00  <RSA-2048 signature over the 5F4E value, by the issuer (root) key>
//!
//! EF 0003  integrity record, 336 bytes
//!   FF 30 82 01 4B
//!     DF 31 20        <SHA-256 of the 17-byte My Number EF>
//!     DF 32 20        <SHA-256 of the 4-facts file from DF22 to the end of the FF20 value>
//!     DF 33 82 01 00  <RSA-2048 signature over the DF31‖DF32 TLVs, by the CV certificate's key>
//!
//! EF 0007  the chip's AP key, certified, 536 bytes
//!   FF 50 82 02 13
//!     DF 51 82 01 09  90 03 01 00 01 91 82 01 00 <modulus 256>
//!     DF 52 82 01 00  <RSA-2048 signature over the DF51 TLV, by the CV certificate's key>
//! ```
//!
//! These are BER-TLV objects of ISO/IEC 7816-4 §5.2 (application- and private-class two-byte
//! tags, ISO/IEC 7816-8 style CV certificates), not DER of an ASN.1 module, so no `der` type fits:
//! they are written and read here with explicit, fixed-layout code. Every signature is RSASSA-PKCS1-v1_5
//! with SHA-256 \[I: the hash and padding of the CV certificate and of DF52 are not in the public
//! sources; the integrity record's are\]. The public exponent is always 65537 (`90 03 01 00 01`).
//!
//! Production CV issuer key IDs start with `5` ("5000033" for this AP) and J-LIS's test hierarchy
//! uses `6…`. Ours are [`CvKeyId::SANDBOX_ROOT`] (`6HANKOTEST000001`) and
//! [`CvKeyId::SANDBOX_INPUT_ASSIST`] (`6HANKOTEST000033`): test-style, and plainly not J-LIS's.
//! [`CvIssuer::new`] refuses any ID that starts with `5`.

use core::fmt;

use hanko_pki::der::Encode;
use hanko_pki::spki::SubjectPublicKeyInfoOwned;
use hanko_pki::{RsaPublicKey, SignatureAlgorithm, Signer, SoftwareKey};
use rsa::pkcs8::{DecodePublicKey, EncodePublicKey};
use rsa::traits::PublicKeyParts;

/// Length of a CV key ID.
pub(crate) const KEY_ID_LEN: usize = 16;
/// Length of an RSA-2048 modulus and signature.
pub(crate) const RSA_LEN: usize = 256;
/// Length of the CV certificate EF (`0004`).
pub const CV_CERTIFICATE_LEN: usize = 568;
/// Length of the integrity record EF (`0003`).
pub const INTEGRITY_RECORD_LEN: usize = 336;
/// Length of the certified chip-key EF (`0007`).
pub const CHIP_KEY_RECORD_LEN: usize = 536;

/// `90 03 01 00 01 91 82 01 00`: the exponent TLV (65537, the only exponent used) and the
/// modulus TLV header.
const KEY_HEAD: [u8; 9] = [0x90, 0x03, 0x01, 0x00, 0x01, 0x91, 0x82, 0x01, 0x00];

// CV certificate layout (fixed for RSA-2048).
const CERT_HEAD: [u8; 5] = [0x7F, 0x21, 0x82, 0x02, 0x33];
const CERT_BODY_HEAD: [u8; 5] = [0x5F, 0x4E, 0x82, 0x01, 0x29];
const CERT_SIG_HEAD: [u8; 5] = [0x5F, 0x37, 0x82, 0x01, 0x00];
const CERT_BODY: core::ops::Range<usize> = 10..307;
const CERT_ISSUER: core::ops::Range<usize> = 10..26;
const CERT_SUBJECT: core::ops::Range<usize> = 26..42;
const CERT_KEY_HEAD: core::ops::Range<usize> = 42..51;
const CERT_MODULUS: core::ops::Range<usize> = 51..307;
const CERT_SIG_TAG: core::ops::Range<usize> = 307..312;
const CERT_SIG: core::ops::Range<usize> = 312..568;

// Integrity record layout.
const REC_HEAD: [u8; 5] = [0xFF, 0x30, 0x82, 0x01, 0x4B];
const REC_D1_HEAD: [u8; 3] = [0xDF, 0x31, 0x20];
const REC_D2_HEAD: [u8; 3] = [0xDF, 0x32, 0x20];
const REC_SIG_HEAD: [u8; 5] = [0xDF, 0x33, 0x82, 0x01, 0x00];
const REC_SIGNED: core::ops::Range<usize> = 5..75;
const REC_D1: core::ops::Range<usize> = 8..40;
const REC_D2: core::ops::Range<usize> = 43..75;
const REC_SIG: core::ops::Range<usize> = 80..336;

// Certified chip key layout.
const CHIP_HEAD: [u8; 5] = [0xFF, 0x50, 0x82, 0x02, 0x13];
const CHIP_KEY_TAG: [u8; 5] = [0xDF, 0x51, 0x82, 0x01, 0x09];
const CHIP_SIG_HEAD: [u8; 5] = [0xDF, 0x52, 0x82, 0x01, 0x00];
const CHIP_SIGNED: core::ops::Range<usize> = 5..275;
const CHIP_MODULUS: core::ops::Range<usize> = 19..275;
const CHIP_SIG: core::ops::Range<usize> = 280..536;

/// A 16-byte CV key ID (issuer or subject of a CV certificate).
///
/// `Debug` shows it as text when it is printable ASCII (as test and production IDs are), in hex
/// otherwise. Unknown IDs round-trip.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CvKeyId(pub [u8; KEY_ID_LEN]);

impl CvKeyId {
    /// Our sandbox root (issuer) key ID: ASCII `6HANKOTEST000001`. The leading `6` follows the
    /// J-LIS test convention; `HANKOTEST` makes it ours.
    pub const SANDBOX_ROOT: CvKeyId = CvKeyId(*b"6HANKOTEST000001");
    /// Our sandbox input-assist AP data-signing key ID: ASCII `6HANKOTEST000033` (the `33` echoes
    /// production's "5000033" for this AP, without being it).
    pub const SANDBOX_INPUT_ASSIST: CvKeyId = CvKeyId(*b"6HANKOTEST000033");
    /// Our sandbox 券面AP data-signing key ID: ASCII `6HANKOTEST000023` (the `23` echoes
    /// production's "5000023" for that AP, without being it).
    pub const SANDBOX_CARD_FACE: CvKeyId = CvKeyId(*b"6HANKOTEST000023");

    /// Whether this ID has the shape of a production (J-LIS) ID: it starts with `5`.
    pub fn is_production_style(&self) -> bool {
        self.0[0] == b'5'
    }

    fn from_slice(bytes: &[u8]) -> CvKeyId {
        let mut id = [0u8; KEY_ID_LEN];
        // Callers pass the fixed 16-byte ranges of a length-checked record.
        if bytes.len() == KEY_ID_LEN {
            id.copy_from_slice(bytes);
        }
        CvKeyId(id)
    }
}

impl fmt::Debug for CvKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match core::str::from_utf8(&self.0) {
            Ok(s) if self.0.iter().all(|b| b.is_ascii_graphic()) => write!(f, "CvKeyId({s:?})"),
            _ => write!(f, "CvKeyId({})", hex::encode_upper(self.0)),
        }
    }
}

/// Card data of the input-assist AP or the 券面AP is malformed or does not verify (hostile or
/// damaged input).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CardDataError {
    /// The bytes do not have the layout of 10-card.md §6 / §7.
    #[error("malformed card data: {0}")]
    Malformed(&'static str),
    /// A signature does not verify.
    #[error("{0}: signature does not verify")]
    BadSignature(&'static str),
    /// A digest in the integrity record does not match the data read.
    #[error("the integrity record's digest of the {0} does not match the data read")]
    DigestMismatch(&'static str),
    /// A public key in the data is unusable.
    #[error("public key in the CV data is unusable: {0}")]
    Key(String),
}

/// The CV hierarchy could not be set up or could not sign (caller misuse or key failure).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CvIssueError {
    /// A key ID has the shape of a production ID (starts with `5`); hanko issues test-style IDs only.
    #[error("CV key ID {0:?} has the shape of a production ID; use a test-style ID")]
    ProductionKeyId(CvKeyId),
    /// A key is not RSA-2048 with exponent 65537, or signing failed.
    #[error("CV key: {0}")]
    Key(String),
}

/// The 256-byte modulus of an RSA-2048 key with exponent 65537, from its SubjectPublicKeyInfo.
pub(crate) fn rsa2048_modulus(spki: &SubjectPublicKeyInfoOwned) -> Result<[u8; RSA_LEN], CvIssueError> {
    let der = spki.to_der().map_err(|e| CvIssueError::Key(e.to_string()))?;
    let key = rsa::RsaPublicKey::from_public_key_der(&der).map_err(|e| CvIssueError::Key(e.to_string()))?;
    if key.e() != &rsa::BigUint::from(65_537u32) {
        return Err(CvIssueError::Key("public exponent is not 65537".into()));
    }
    let n = key.n().to_bytes_be();
    <[u8; RSA_LEN]>::try_from(n.as_slice()).map_err(|_| CvIssueError::Key("not an RSA-2048 key".into()))
}

/// An RSA public key (exponent 65537) from a 256-byte modulus, ready to verify.
fn public_key_from_modulus(modulus: &[u8]) -> Result<RsaPublicKey, CardDataError> {
    let key = rsa::RsaPublicKey::new(rsa::BigUint::from_bytes_be(modulus), rsa::BigUint::from(65_537u32))
        .map_err(|e| CardDataError::Key(e.to_string()))?;
    let spki = key.to_public_key_der().map_err(|e| CardDataError::Key(e.to_string()))?;
    RsaPublicKey::from_spki_der(spki.as_bytes()).map_err(|e| CardDataError::Key(e.to_string()))
}

fn sha256_verify(
    key: &RsaPublicKey,
    message: &[u8],
    signature: &[u8],
    what: &'static str,
) -> Result<(), CardDataError> {
    key.verify(SignatureAlgorithm::RsaPkcs1Sha256, message, signature).map_err(|_| CardDataError::BadSignature(what))
}

fn sha256_sign(key: &SoftwareKey, message: &[u8]) -> Result<Vec<u8>, CvIssueError> {
    let sig = key.sign(SignatureAlgorithm::RsaPkcs1Sha256, message).map_err(|e| CvIssueError::Key(e.to_string()))?;
    if sig.len() != RSA_LEN {
        return Err(CvIssueError::Key("signature is not 256 bytes".into()));
    }
    Ok(sig)
}

/// The CV certificate of EF `0004` (568 bytes), parsed. Only RSA-2048 with exponent 65537 exists
/// in this layout; anything else is refused.
#[derive(Clone, PartialEq, Eq)]
pub struct CvCertificate {
    bytes: Vec<u8>,
}

impl fmt::Debug for CvCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CvCertificate")
            .field("issuer", &self.issuer_key_id())
            .field("subject", &self.subject_key_id())
            .finish_non_exhaustive()
    }
}

impl CvCertificate {
    /// Parses exactly the 568 bytes of a CV certificate; every header byte must be as §6 says.
    pub fn parse(bytes: &[u8]) -> Result<CvCertificate, CardDataError> {
        if bytes.len() != CV_CERTIFICATE_LEN {
            return Err(CardDataError::Malformed("CV certificate is not 568 bytes"));
        }
        if bytes[..5] != CERT_HEAD {
            return Err(CardDataError::Malformed("CV certificate does not start 7F 21 82 02 33"));
        }
        if bytes[5..10] != CERT_BODY_HEAD {
            return Err(CardDataError::Malformed("CV certificate body is not 5F 4E 82 01 29"));
        }
        if bytes[CERT_KEY_HEAD] != KEY_HEAD {
            return Err(CardDataError::Malformed("CV certificate key is not 90 03 01 00 01 91 82 01 00"));
        }
        if bytes[CERT_SIG_TAG] != CERT_SIG_HEAD {
            return Err(CardDataError::Malformed("CV certificate signature is not 5F 37 82 01 00"));
        }
        if bytes[CERT_MODULUS.start] & 0x80 == 0 {
            return Err(CardDataError::Malformed("CV certificate modulus is not 2048 bits"));
        }
        Ok(CvCertificate { bytes: bytes.to_vec() })
    }

    /// Builds and signs a CV certificate for `subject_modulus` with the issuer's key.
    fn issue(
        issuer_key: &SoftwareKey,
        issuer: CvKeyId,
        subject: CvKeyId,
        subject_modulus: &[u8; RSA_LEN],
    ) -> Result<CvCertificate, CvIssueError> {
        let mut body = Vec::with_capacity(CERT_BODY.len());
        body.extend_from_slice(&issuer.0);
        body.extend_from_slice(&subject.0);
        body.extend_from_slice(&KEY_HEAD);
        body.extend_from_slice(subject_modulus);
        let signature = sha256_sign(issuer_key, &body)?;
        let mut bytes = Vec::with_capacity(CV_CERTIFICATE_LEN);
        bytes.extend_from_slice(&CERT_HEAD);
        bytes.extend_from_slice(&CERT_BODY_HEAD);
        bytes.extend_from_slice(&body);
        bytes.extend_from_slice(&CERT_SIG_HEAD);
        bytes.extend_from_slice(&signature);
        CvCertificate::parse(&bytes).map_err(|e| CvIssueError::Key(e.to_string()))
    }

    /// The 568 bytes, as stored in EF `0004`.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Who signed it (the root's key ID).
    pub fn issuer_key_id(&self) -> CvKeyId {
        CvKeyId::from_slice(&self.bytes[CERT_ISSUER])
    }

    /// Whose key it certifies (the AP data-signing key ID).
    pub fn subject_key_id(&self) -> CvKeyId {
        CvKeyId::from_slice(&self.bytes[CERT_SUBJECT])
    }

    /// The certified key's modulus (256 bytes, big-endian); the exponent is 65537.
    pub fn modulus(&self) -> &[u8] {
        &self.bytes[CERT_MODULUS]
    }

    /// The signed part: the value of `5F 4E` (297 bytes).
    pub fn signed_part(&self) -> &[u8] {
        &self.bytes[CERT_BODY]
    }

    /// The value of `5F 37` (256 bytes).
    pub fn signature(&self) -> &[u8] {
        &self.bytes[CERT_SIG]
    }

    /// Checks the signature with the root's public key and returns the certified key.
    pub fn verify(&self, root: &RsaPublicKey) -> Result<VerifiedCvCertificate, CardDataError> {
        sha256_verify(root, self.signed_part(), self.signature(), "CV certificate")?;
        Ok(VerifiedCvCertificate {
            issuer: self.issuer_key_id(),
            subject: self.subject_key_id(),
            key: public_key_from_modulus(self.modulus())?,
        })
    }
}

/// A CV certificate whose signature verified with a root key; only [`CvCertificate::verify`]
/// makes one.
#[derive(Debug)]
pub struct VerifiedCvCertificate {
    issuer: CvKeyId,
    subject: CvKeyId,
    key: RsaPublicKey,
}

impl VerifiedCvCertificate {
    /// The issuer (root) key ID written in the certificate.
    pub fn issuer_key_id(&self) -> CvKeyId {
        self.issuer
    }

    /// The certified key's ID.
    pub fn subject_key_id(&self) -> CvKeyId {
        self.subject
    }

    /// The certified key.
    pub fn public_key(&self) -> &RsaPublicKey {
        &self.key
    }
}

/// The integrity record of EF `0003` (336 bytes), parsed.
#[derive(Clone, PartialEq, Eq)]
pub struct IntegrityRecord {
    bytes: Vec<u8>,
}

impl fmt::Debug for IntegrityRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IntegrityRecord(336 bytes)")
    }
}

impl IntegrityRecord {
    /// Parses exactly the 336 bytes of an integrity record.
    pub fn parse(bytes: &[u8]) -> Result<IntegrityRecord, CardDataError> {
        if bytes.len() != INTEGRITY_RECORD_LEN {
            return Err(CardDataError::Malformed("integrity record is not 336 bytes"));
        }
        if bytes[..5] != REC_HEAD {
            return Err(CardDataError::Malformed("integrity record does not start FF 30 82 01 4B"));
        }
        if bytes[5..8] != REC_D1_HEAD || bytes[40..43] != REC_D2_HEAD {
            return Err(CardDataError::Malformed("integrity record digests are not DF31 20, DF32 20"));
        }
        if bytes[75..80] != REC_SIG_HEAD {
            return Err(CardDataError::Malformed("integrity record signature is not DF 33 82 01 00"));
        }
        Ok(IntegrityRecord { bytes: bytes.to_vec() })
    }

    /// The 336 bytes, as stored in EF `0003`.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// DF31: SHA-256 of the 17-byte My Number EF.
    pub fn my_number_digest(&self) -> &[u8] {
        &self.bytes[REC_D1]
    }

    /// DF32: SHA-256 of the 4-facts file from DF22 to the end of the FF20 value.
    pub fn facts_digest(&self) -> &[u8] {
        &self.bytes[REC_D2]
    }

    /// The signed part: the DF31 and DF32 TLVs (70 bytes).
    pub fn signed_part(&self) -> &[u8] {
        &self.bytes[REC_SIGNED]
    }

    /// DF33 (256 bytes).
    pub fn signature(&self) -> &[u8] {
        &self.bytes[REC_SIG]
    }

    /// Checks DF33 with the key of a verified CV certificate.
    pub fn verify(&self, certificate: &VerifiedCvCertificate) -> Result<VerifiedIntegrityRecord, CardDataError> {
        sha256_verify(certificate.public_key(), self.signed_part(), self.signature(), "integrity record")?;
        let mut my_number = [0u8; 32];
        my_number.copy_from_slice(self.my_number_digest());
        let mut facts = [0u8; 32];
        facts.copy_from_slice(self.facts_digest());
        Ok(VerifiedIntegrityRecord { my_number, facts })
    }
}

/// The digests of an integrity record whose signature verified; only [`IntegrityRecord::verify`]
/// makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedIntegrityRecord {
    my_number: [u8; 32],
    facts: [u8; 32],
}

impl VerifiedIntegrityRecord {
    /// Checks DF31 against the 17-byte My Number EF as read.
    pub fn check_my_number_ef(&self, ef: &[u8]) -> Result<(), CardDataError> {
        if sha256(ef) == self.my_number {
            Ok(())
        } else {
            Err(CardDataError::DigestMismatch("My Number EF"))
        }
    }

    /// Checks DF32 against the signed part of the 4-facts file (DF22 to the end of the FF20 value).
    pub fn check_facts(&self, signed_part: &[u8]) -> Result<(), CardDataError> {
        if sha256(signed_part) == self.facts {
            Ok(())
        } else {
            Err(CardDataError::DigestMismatch("4 facts"))
        }
    }
}

/// The chip's own AP key (key EF `0013`) certified by the AP data-signing key, as stored in EF
/// `0007` (536 bytes). It proves a genuine chip: the chip signs a verifier's challenge with it
/// (`80 2A 00 00`) without a PIN.
#[derive(Clone, PartialEq, Eq)]
pub struct ChipKeyRecord {
    bytes: Vec<u8>,
}

impl fmt::Debug for ChipKeyRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ChipKeyRecord(536 bytes)")
    }
}

impl ChipKeyRecord {
    /// Parses exactly the 536 bytes of EF `0007`.
    pub fn parse(bytes: &[u8]) -> Result<ChipKeyRecord, CardDataError> {
        if bytes.len() != CHIP_KEY_RECORD_LEN {
            return Err(CardDataError::Malformed("chip key record is not 536 bytes"));
        }
        if bytes[..5] != CHIP_HEAD || bytes[5..10] != CHIP_KEY_TAG || bytes[10..19] != KEY_HEAD {
            return Err(CardDataError::Malformed("chip key record is not FF 50 82 02 13 { DF 51 82 01 09 … }"));
        }
        if bytes[275..280] != CHIP_SIG_HEAD {
            return Err(CardDataError::Malformed("chip key record signature is not DF 52 82 01 00"));
        }
        if bytes[CHIP_MODULUS.start] & 0x80 == 0 {
            return Err(CardDataError::Malformed("chip key modulus is not 2048 bits"));
        }
        Ok(ChipKeyRecord { bytes: bytes.to_vec() })
    }

    /// The 536 bytes, as stored in EF `0007`.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The chip key's modulus (256 bytes); the exponent is 65537.
    pub fn modulus(&self) -> &[u8] {
        &self.bytes[CHIP_MODULUS]
    }

    /// Checks DF52 with the key of a verified CV certificate and returns the chip's key.
    pub fn verify(&self, certificate: &VerifiedCvCertificate) -> Result<RsaPublicKey, CardDataError> {
        sha256_verify(certificate.public_key(), &self.bytes[CHIP_SIGNED], &self.bytes[CHIP_SIG], "chip key record")?;
        public_key_from_modulus(self.modulus())
    }
}

/// SHA-256.
pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// The sandbox CV hierarchy: a root key that certifies the input-assist AP's data-signing key
/// (EF `0004`), and that data-signing key, which signs each card's integrity record (EF `0003`)
/// and certified chip key (EF `0007`). Both keys stay inside; `Debug` shows only the IDs.
pub struct CvIssuer {
    root_id: CvKeyId,
    root_public: RsaPublicKey,
    signer: SoftwareKey,
    certificate: CvCertificate,
}

impl fmt::Debug for CvIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CvIssuer")
            .field("root", &self.root_id)
            .field("signer", &self.certificate.subject_key_id())
            .finish_non_exhaustive()
    }
}

impl CvIssuer {
    /// A fresh sandbox hierarchy: two new RSA-2048 keys with IDs [`CvKeyId::SANDBOX_ROOT`] and
    /// [`CvKeyId::SANDBOX_INPUT_ASSIST`].
    pub fn generate() -> Result<CvIssuer, CvIssueError> {
        let key = || SoftwareKey::generate_rsa2048().map_err(|e| CvIssueError::Key(e.to_string()));
        CvIssuer::new(&key()?, CvKeyId::SANDBOX_ROOT, key()?, CvKeyId::SANDBOX_INPUT_ASSIST)
    }

    /// A hierarchy from existing keys (e.g. loaded from the sandbox CA's key store). The root key
    /// is used once, to sign the CV certificate, and not kept. Refuses production-style IDs and
    /// keys other than RSA-2048 with exponent 65537.
    pub fn new(
        root: &SoftwareKey,
        root_id: CvKeyId,
        signer: SoftwareKey,
        signer_id: CvKeyId,
    ) -> Result<CvIssuer, CvIssueError> {
        for id in [root_id, signer_id] {
            if id.is_production_style() {
                return Err(CvIssueError::ProductionKeyId(id));
            }
        }
        rsa2048_modulus(root.public_key())?;
        let signer_modulus = rsa2048_modulus(signer.public_key())?;
        let root_public = RsaPublicKey::from_spki(root.public_key()).map_err(|e| CvIssueError::Key(e.to_string()))?;
        let certificate = CvCertificate::issue(root, root_id, signer_id, &signer_modulus)?;
        Ok(CvIssuer { root_id, root_public, signer, certificate })
    }

    /// The root key ID.
    pub fn root_key_id(&self) -> CvKeyId {
        self.root_id
    }

    /// The AP data-signing key ID (the CV certificate's subject).
    pub fn signer_key_id(&self) -> CvKeyId {
        self.certificate.subject_key_id()
    }

    /// The root public key: the trust anchor a verifier configures.
    pub fn root_public_key(&self) -> &RsaPublicKey {
        &self.root_public
    }

    /// The CV certificate of the AP data-signing key (EF `0004`).
    pub fn certificate(&self) -> &CvCertificate {
        &self.certificate
    }

    /// The AP data-signing key, for the records of other APs signed under this hierarchy
    /// (card_face.rs). Crate-private: the key never leaves the issuer's code.
    pub(crate) fn signer(&self) -> &SoftwareKey {
        &self.signer
    }

    /// Signs an integrity record over two SHA-256 digests: of the My Number EF (DF31) and of the
    /// 4-facts file's signed part (DF32).
    pub fn sign_integrity_record(
        &self,
        my_number_digest: &[u8; 32],
        facts_digest: &[u8; 32],
    ) -> Result<IntegrityRecord, CvIssueError> {
        let mut signed = Vec::with_capacity(REC_SIGNED.len());
        signed.extend_from_slice(&REC_D1_HEAD);
        signed.extend_from_slice(my_number_digest);
        signed.extend_from_slice(&REC_D2_HEAD);
        signed.extend_from_slice(facts_digest);
        let signature = sha256_sign(&self.signer, &signed)?;
        let mut bytes = Vec::with_capacity(INTEGRITY_RECORD_LEN);
        bytes.extend_from_slice(&REC_HEAD);
        bytes.extend_from_slice(&signed);
        bytes.extend_from_slice(&REC_SIG_HEAD);
        bytes.extend_from_slice(&signature);
        IntegrityRecord::parse(&bytes).map_err(|e| CvIssueError::Key(e.to_string()))
    }

    /// Certifies a chip's AP key (EF `0007`).
    pub fn certify_chip_key(&self, chip_key: &SubjectPublicKeyInfoOwned) -> Result<ChipKeyRecord, CvIssueError> {
        let modulus = rsa2048_modulus(chip_key)?;
        let mut signed = Vec::with_capacity(CHIP_SIGNED.len());
        signed.extend_from_slice(&CHIP_KEY_TAG);
        signed.extend_from_slice(&KEY_HEAD);
        signed.extend_from_slice(&modulus);
        let signature = sha256_sign(&self.signer, &signed)?;
        let mut bytes = Vec::with_capacity(CHIP_KEY_RECORD_LEN);
        bytes.extend_from_slice(&CHIP_HEAD);
        bytes.extend_from_slice(&signed);
        bytes.extend_from_slice(&CHIP_SIG_HEAD);
        bytes.extend_from_slice(&signature);
        ChipKeyRecord::parse(&bytes).map_err(|e| CvIssueError::Key(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn layouts_have_the_sizes_of_10_card_md() {
        assert_eq!(CERT_HEAD.len() + CERT_BODY_HEAD.len() + CERT_BODY.len() + CERT_SIG_HEAD.len() + RSA_LEN, 568);
        assert_eq!(CERT_BODY.len(), 0x129);
        assert_eq!(CV_CERTIFICATE_LEN - CERT_HEAD.len(), 0x233);
        assert_eq!(INTEGRITY_RECORD_LEN - REC_HEAD.len(), 0x14B);
        assert_eq!(REC_SIGNED.len(), 70);
        assert_eq!(CHIP_KEY_RECORD_LEN - CHIP_HEAD.len(), 0x213);
        assert_eq!(CHIP_SIGNED.len() - CHIP_KEY_TAG.len(), 0x109);
    }

    #[test]
    fn issued_certificate_and_record_verify_and_have_exact_sizes() {
        let issuer = CvIssuer::generate().unwrap();
        let cert = issuer.certificate();
        assert_eq!(cert.as_bytes().len(), 568);
        assert_eq!(&cert.as_bytes()[..5], &[0x7F, 0x21, 0x82, 0x02, 0x33]);
        assert_eq!(cert.issuer_key_id(), CvKeyId::SANDBOX_ROOT);
        assert_eq!(cert.subject_key_id(), CvKeyId::SANDBOX_INPUT_ASSIST);
        assert_eq!(&cert.as_bytes()[..26][10..], b"6HANKOTEST000001");
        let parsed = CvCertificate::parse(cert.as_bytes()).unwrap();
        let verified = parsed.verify(issuer.root_public_key()).unwrap();
        assert_eq!(verified.subject_key_id(), CvKeyId::SANDBOX_INPUT_ASSIST);

        let record = issuer.sign_integrity_record(&sha256(b"a"), &sha256(b"b")).unwrap();
        assert_eq!(record.as_bytes().len(), 336);
        let v = IntegrityRecord::parse(record.as_bytes()).unwrap().verify(&verified).unwrap();
        v.check_my_number_ef(b"a").unwrap();
        v.check_facts(b"b").unwrap();
        assert_eq!(v.check_facts(b"c"), Err(CardDataError::DigestMismatch("4 facts")));

        // Another root does not verify the certificate.
        let other = CvIssuer::generate().unwrap();
        assert_eq!(cert.verify(other.root_public_key()).err(), Some(CardDataError::BadSignature("CV certificate")));
        // A record signed by another hierarchy does not verify under this certificate.
        let foreign = other.sign_integrity_record(&sha256(b"a"), &sha256(b"b")).unwrap();
        assert_eq!(foreign.verify(&verified).err(), Some(CardDataError::BadSignature("integrity record")));
    }

    #[test]
    fn every_flipped_bit_is_refused() {
        let issuer = CvIssuer::generate().unwrap();
        let root = issuer.root_public_key();
        let cert = issuer.certificate().as_bytes().to_vec();
        for i in (0..cert.len()).step_by(7) {
            let mut m = cert.clone();
            m[i] ^= 0x01;
            assert!(CvCertificate::parse(&m).and_then(|c| c.verify(root)).is_err(), "byte {i}");
        }
        let verified = issuer.certificate().verify(root).unwrap();
        let rec = issuer.sign_integrity_record(&[1; 32], &[2; 32]).unwrap().as_bytes().to_vec();
        for i in 0..rec.len() {
            let mut m = rec.clone();
            m[i] ^= 0x80;
            assert!(IntegrityRecord::parse(&m).and_then(|r| r.verify(&verified)).is_err(), "byte {i}");
        }
    }

    #[test]
    fn strict_lengths_never_panic() {
        let issuer = CvIssuer::generate().unwrap();
        let cert = issuer.certificate().as_bytes();
        for cut in 0..cert.len() {
            assert!(CvCertificate::parse(&cert[..cut]).is_err());
        }
        let mut long = cert.to_vec();
        long.push(0xFF);
        assert!(CvCertificate::parse(&long).is_err(), "no trailing bytes");
        for n in [0, 1, 335, 337, 1000] {
            assert!(IntegrityRecord::parse(&vec![0xFF; n]).is_err());
            assert!(ChipKeyRecord::parse(&vec![0xFF; n]).is_err());
        }
    }

    #[test]
    fn production_ids_are_refused() {
        let key = SoftwareKey::generate_rsa2048().unwrap();
        let prod = CvKeyId(*b"5000033\0\0\0\0\0\0\0\0\0");
        let signer = SoftwareKey::generate_rsa2048().unwrap();
        assert_eq!(
            CvIssuer::new(&key, CvKeyId::SANDBOX_ROOT, signer, prod).err(),
            Some(CvIssueError::ProductionKeyId(prod))
        );
        assert_eq!(format!("{:?}", CvKeyId::SANDBOX_ROOT), "CvKeyId(\"6HANKOTEST000001\")");
        assert!(format!("{prod:?}").starts_with("CvKeyId(35303030"));
    }

    #[test]
    fn chip_key_record_round_trips() {
        let issuer = CvIssuer::generate().unwrap();
        let chip = SoftwareKey::generate_rsa2048().unwrap();
        let rec = issuer.certify_chip_key(chip.public_key()).unwrap();
        assert_eq!(rec.as_bytes().len(), 536);
        let verified = issuer.certificate().verify(issuer.root_public_key()).unwrap();
        let key = ChipKeyRecord::parse(rec.as_bytes()).unwrap().verify(&verified).unwrap();
        let sig = chip.sign(SignatureAlgorithm::RsaPkcs1Sha256, b"challenge").unwrap();
        key.verify(SignatureAlgorithm::RsaPkcs1Sha256, b"challenge", &sig).unwrap();
    }
}
