//! PACE — Password Authenticated Connection Establishment (ICAO Doc 9303-11 §4.4), the Generic
//! Mapping over ECDH with AES (shared/spec/40-id-documents.md §3): EF.CardAccess's `PACEInfo`,
//! the chip's side ([`ChipPace`]) and the terminal's side ([`establish`]).
//!
//! Supported: `id-PACE-ECDH-GM-AES-CBC-CMAC-128/-192/-256` (`0.4.0.127.0.7.2.2.4.2.2/3/4`) on the
//! standardized domain parameters 12 (NIST P-256) and 13 (brainpoolP256r1) (9303-11 §9.5.1); the
//! curve is a value ([`PaceCurve`]), so the Appendix G worked example (brainpoolP256r1) runs
//! byte for byte beside the sandbox's P-256.
//!
//! | step | terminal → chip | chip → terminal |
//! |---|---|---|
//! | set | MSE:Set AT `00 22 C1 A4`: `80` protocol OID, `83` password (`01` MRZ, `02` CAN), optional `84` parameterId | `90 00` |
//! | 1 | `10 86 00 00` `7C 00` | `7C {80 z}`, `z = E(Kπ, s)` (AES-CBC, IV 0) |
//! | 2 | `10 86 00 00` `7C {81 PK_map,IFD}` | `7C {82 PK_map,IC}`; both: `H = SK_map·PK_map`, `G' = s·G + H` |
//! | 3 | `10 86 00 00` `7C {83 PK_DH,IFD}` (on `G'`) | `7C {84 PK_DH,IC}`; both: `K = x(SK_DH·PK_DH)` |
//! | 4 | `00 86 00 00` `7C {85 T_IFD}` | `7C {86 T_IC}`, or `63 00` when `T_IFD` is wrong |
//!
//! Keys (9303-11 §9.7 "Key derivation mechanism"; Appendix G checks every value): `KDF(K, c) = SHA-1(K ‖ c)[0..16]` for AES-128 and
//! `SHA-256(K ‖ c)[0..24 | 0..32]` for AES-192/256 (`c` a 32-bit big-endian counter);
//! `Kπ = KDF(f(π), 3)` with `f(π) = SHA-1(MRZ information)` (all 20 bytes) for the MRZ and the
//! CAN's characters themselves (ISO 8859-1) for the CAN; `KSenc = KDF(K, 1)`,
//! `KSmac = KDF(K, 2)`. Tokens (9303-11 §4.4, "Authentication token"): `T = CMAC(KSmac, 7F49 {06 OID, 86 PK})[0..8]`,
//! the terminal's over the chip's `PK_DH,IC` and the chip's over the terminal's `PK_DH,IFD`.
//! Points travel uncompressed (`04 ‖ X ‖ Y`); every received point must be on the curve and
//! not the identity, and a received ephemeral key equal to one's own is refused (9303-11 §4.4
//! key agreement step: the chip SHALL check `PK_DH,IFD ≠ PK_DH,IC`; the terminal checks it too).
//!
//! Status words the chip answers (9303-11 §4.4 GENERAL AUTHENTICATE status bytes, as BSI
//! TR-03110-3 B.11): `63 00` authentication
//! failed (the terminal's token is wrong — a wrong password — and the session is over), `6A 80`
//! incorrect data (malformed `7C`, a bad point, an unsupported algorithm in MSE:Set AT), `6A 88`
//! referenced data not found (a password the chip does not hold), `69 85` conditions of use not
//! satisfied (a step out of order or the wrong chaining bit).

use der::{
    asn1::{AnyRef, ObjectIdentifier, SetOfVec},
    Decode, Encode, Reader, Sequence, SliceReader, Tag, Tagged, ValueOrd,
};
use elliptic_curve::{
    point::AffineCoordinates, subtle::ConstantTimeEq, CurveArithmetic, CurveGroup, Field, FieldBytes, Group, PrimeField,
};
use hanko_card::{
    apdu::{Command, Ins, Response, StatusWord},
    Transport, TransportError,
};
use rand_core::RngCore;
use sha1::{Digest, Sha1};
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

use super::sm::SmKeys;
use crate::{crypto, tlv};

/// `id-PACE` = bsi-de protocols(2) smartcard(2) 4 (9303-11 §9.2, PACEInfo).
pub const ID_PACE: ObjectIdentifier = ObjectIdentifier::new_unwrap("0.4.0.127.0.7.2.2.4");
/// `id-PACE-ECDH-GM-AES-CBC-CMAC-128`.
pub const ID_PACE_ECDH_GM_AES_CBC_CMAC_128: ObjectIdentifier = ObjectIdentifier::new_unwrap("0.4.0.127.0.7.2.2.4.2.2");
/// `id-PACE-ECDH-GM-AES-CBC-CMAC-192`.
pub const ID_PACE_ECDH_GM_AES_CBC_CMAC_192: ObjectIdentifier = ObjectIdentifier::new_unwrap("0.4.0.127.0.7.2.2.4.2.3");
/// `id-PACE-ECDH-GM-AES-CBC-CMAC-256`.
pub const ID_PACE_ECDH_GM_AES_CBC_CMAC_256: ObjectIdentifier = ObjectIdentifier::new_unwrap("0.4.0.127.0.7.2.2.4.2.4");

/// Standardized domain parameters 12: NIST P-256 (secp256r1) (9303-11 §9.5.1, table).
pub const PARAM_NIST_P256: u32 = 12;
/// Standardized domain parameters 13: brainpoolP256r1.
pub const PARAM_BRAINPOOL_P256R1: u32 = 13;

/// Largest EF.CardAccess accepted (real files are a few hundred bytes).
pub const MAX_CARD_ACCESS_LEN: usize = 4096;
/// Most SecurityInfos accepted in one EF.CardAccess.
pub const MAX_SECURITY_INFOS: usize = 32;

/// MANAGE SECURITY ENVIRONMENT.
pub const INS_MSE: Ins = Ins(0x22);
/// GENERAL AUTHENTICATE.
pub const INS_GENERAL_AUTHENTICATE: Ins = Ins(0x86);
/// MSE P1-P2 for PACE: `C1 A4` (Set Authentication Template for mutual authentication).
pub const MSE_SET_AT_PACE: [u8; 2] = [0xC1, 0xA4];
/// The CLA bit of ISO 7816-4 command chaining (`10`: more commands follow).
pub const CLA_CHAINING: u8 = 0x10;
/// Authentication failed (9303-11 §4.4, GENERAL AUTHENTICATE): the terminal's token did not verify.
pub const SW_AUTHENTICATION_FAILED: StatusWord = StatusWord(0x6300);
/// Length of an authentication token (AES-CMAC truncated to 8 bytes, 9303-11 §4.4, "Authentication
/// token").
pub const TOKEN_LEN: usize = 8;

/// Scalars drawn before giving up (rejection sampling; each try fails with probability < 2⁻¹).
const MAX_SCALAR_TRIES: usize = 64;

/// A PACE run that failed (terminal side) or an EF.CardAccess that does not parse.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PaceError {
    /// EF.CardAccess is not DER `SecurityInfos` (9303-11 §9.2).
    #[error("EF.CardAccess: {0}")]
    CardAccess(der::Error),
    /// EF.CardAccess is longer than [`MAX_CARD_ACCESS_LEN`].
    #[error("EF.CardAccess of {len} bytes is over the {max}-byte budget")]
    CardAccessTooLong {
        /// Its length.
        len: usize,
        /// The budget.
        max: usize,
    },
    /// EF.CardAccess has more than [`MAX_SECURITY_INFOS`] SecurityInfos.
    #[error("EF.CardAccess has more than {max} SecurityInfos")]
    TooManySecurityInfos {
        /// The budget.
        max: usize,
    },
    /// A PACEInfo this implementation does not run (another mapping, DH, 3DES, another curve).
    #[error("PACE {protocol} with parameterId {parameter_id:?} is not supported")]
    Unsupported {
        /// The protocol OID.
        protocol: ObjectIdentifier,
        /// The standardized domain parameters named, if any.
        parameter_id: Option<u32>,
    },
    /// The chip refused a step (step 0 = MSE:Set AT, 1–4 = GENERAL AUTHENTICATE).
    #[error("PACE step {step}: the chip answered {sw}")]
    Refused {
        /// The step.
        step: u8,
        /// Its status word.
        sw: StatusWord,
    },
    /// The chip answered the mutual authentication with `63 00`: the password is wrong.
    #[error("PACE: wrong password (the chip refused the terminal's token)")]
    WrongPassword,
    /// The chip's answer to a step is not the `7C` object the step requires.
    #[error("PACE step {step}: malformed answer")]
    Malformed {
        /// The step.
        step: u8,
    },
    /// The chip sent a point that is off the curve, the identity, or equal to the terminal's own.
    #[error("PACE step {step}: the chip's public key is refused")]
    BadPoint {
        /// The step.
        step: u8,
    },
    /// The chip's authentication token did not verify: this is not the chip the password opens.
    #[error("PACE: the chip's authentication token does not verify")]
    ChipToken,
    /// The random source gave no valid scalar in 64 tries.
    #[error("PACE: the random source gave no usable scalar")]
    Random,
    /// The transport failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
}

/// The symmetric cipher of a PACE protocol (the last arc of its OID).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PaceCipher {
    /// AES-128 (SHA-1 key derivation).
    Aes128,
    /// AES-192 (SHA-256 key derivation).
    Aes192,
    /// AES-256 (SHA-256 key derivation).
    Aes256,
}

impl PaceCipher {
    /// The key length in bytes.
    pub fn key_len(self) -> usize {
        match self {
            PaceCipher::Aes128 => 16,
            PaceCipher::Aes192 => 24,
            PaceCipher::Aes256 => 32,
        }
    }

    /// `KDF(K, c)` (9303-11 §9.7, "Key derivation function"): `SHA-1(K ‖ c)[0..16]` for AES-128, `SHA-256(K ‖ c)` cut to
    /// the key length for AES-192/256.
    pub fn kdf(self, secret: &[u8], counter: u32) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(match self {
            PaceCipher::Aes128 => {
                let mut h = Sha1::new();
                h.update(secret);
                h.update(counter.to_be_bytes());
                h.finalize().to_vec()
            }
            PaceCipher::Aes192 | PaceCipher::Aes256 => {
                let mut h = Sha256::new();
                h.update(secret);
                h.update(counter.to_be_bytes());
                h.finalize().to_vec()
            }
        });
        out.truncate(self.key_len());
        out
    }
}

/// The elliptic curve of standardized domain parameters (9303-11 §9.5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PaceCurve {
    /// 12: NIST P-256.
    NistP256,
    /// 13: brainpoolP256r1.
    BrainpoolP256r1,
}

impl PaceCurve {
    /// From a standardized parameterId.
    pub fn from_parameter_id(id: u32) -> Option<PaceCurve> {
        match id {
            PARAM_NIST_P256 => Some(PaceCurve::NistP256),
            PARAM_BRAINPOOL_P256R1 => Some(PaceCurve::BrainpoolP256r1),
            _ => None,
        }
    }

    /// The standardized parameterId.
    pub fn parameter_id(self) -> u32 {
        match self {
            PaceCurve::NistP256 => PARAM_NIST_P256,
            PaceCurve::BrainpoolP256r1 => PARAM_BRAINPOOL_P256R1,
        }
    }

    /// Bytes of a field element (and of a scalar).
    pub fn field_len(self) -> usize {
        32
    }

    /// Bytes of an uncompressed point `04 ‖ X ‖ Y`.
    pub fn point_len(self) -> usize {
        1 + 2 * self.field_len()
    }

    /// `k·G` (uncompressed) for a private scalar `k` (big-endian, non-zero, below the order);
    /// `None` otherwise.
    pub fn public_key(self, k: &[u8]) -> Option<Vec<u8>> {
        self.mul(k, None)
    }

    /// `k·B` (uncompressed), `B` the curve's generator when `base` is `None`, else the point
    /// given (checked on the curve). `None` when `k` is not a scalar, `base` is not a point or
    /// the product is the identity.
    fn mul(self, k: &[u8], base: Option<&[u8]>) -> Option<Vec<u8>> {
        match self {
            PaceCurve::NistP256 => ec_mul::<p256::NistP256>(k, base),
            PaceCurve::BrainpoolP256r1 => ec_mul::<bp256::BrainpoolP256r1>(k, base),
        }
    }

    /// The Generic Mapping `G' = s·G + H` (9303-11 §4.4, "Generic Mapping", ECDH); `None` when the result is the
    /// identity or `H` is not a point.
    fn map(self, s: &[u8], h: &[u8]) -> Option<Vec<u8>> {
        match self {
            PaceCurve::NistP256 => ec_map::<p256::NistP256>(s, h),
            PaceCurve::BrainpoolP256r1 => ec_map::<bp256::BrainpoolP256r1>(s, h),
        }
    }

    /// Whether `p` is an uncompressed point on the curve (never the identity, which has no
    /// uncompressed form).
    pub fn is_valid_point(self, p: &[u8]) -> bool {
        match self {
            PaceCurve::NistP256 => ec_point::<p256::NistP256>(p).is_some(),
            PaceCurve::BrainpoolP256r1 => ec_point::<bp256::BrainpoolP256r1>(p).is_some(),
        }
    }

    /// A uniformly random non-zero scalar (rejection sampling over `field_len` random bytes).
    fn random_scalar(self, rng: &mut dyn RngCore) -> Option<Zeroizing<Vec<u8>>> {
        let mut k = Zeroizing::new(vec![0u8; self.field_len()]);
        for _ in 0..MAX_SCALAR_TRIES {
            rng.fill_bytes(&mut k);
            let ok = match self {
                PaceCurve::NistP256 => ec_scalar::<p256::NistP256>(&k).is_some(),
                PaceCurve::BrainpoolP256r1 => ec_scalar::<bp256::BrainpoolP256r1>(&k).is_some(),
            };
            if ok {
                return Some(k);
            }
        }
        None
    }
}

/// A non-zero scalar from big-endian bytes (shorter inputs are left-padded: the nonce `s`).
fn ec_scalar<C: CurveArithmetic>(bytes: &[u8]) -> Option<C::Scalar> {
    let mut repr = FieldBytes::<C>::default();
    let n = repr.len();
    if bytes.len() > n {
        return None;
    }
    repr[n - bytes.len()..].copy_from_slice(bytes);
    let k: Option<C::Scalar> = C::Scalar::from_repr(repr).into();
    let k = k?;
    (!bool::from(k.is_zero())).then_some(k)
}

/// An uncompressed point `04 ‖ X ‖ Y` on the curve.
fn ec_point<C: CurveArithmetic>(p: &[u8]) -> Option<C::AffinePoint> {
    let n = FieldBytes::<C>::default().len();
    if p.len() != 1 + 2 * n || p[0] != 0x04 {
        return None;
    }
    let x = FieldBytes::<C>::try_from(&p[1..1 + n]).ok()?;
    let y = FieldBytes::<C>::try_from(&p[1 + n..]).ok()?;
    C::AffinePoint::from_coordinates(&x, &y).into()
}

fn ec_encode<C: CurveArithmetic>(p: C::ProjectivePoint) -> Option<Vec<u8>> {
    if bool::from(p.is_identity()) {
        return None;
    }
    let a = p.to_affine();
    let mut out = vec![0x04];
    out.extend_from_slice(&a.x());
    out.extend_from_slice(&a.y());
    Some(out)
}

fn ec_mul<C: CurveArithmetic>(k: &[u8], base: Option<&[u8]>) -> Option<Vec<u8>> {
    let k = ec_scalar::<C>(k)?;
    let b: C::ProjectivePoint = match base {
        None => C::ProjectivePoint::generator(),
        Some(b) => ec_point::<C>(b)?.into(),
    };
    ec_encode::<C>(b * k)
}

fn ec_map<C: CurveArithmetic>(s: &[u8], h: &[u8]) -> Option<Vec<u8>> {
    let s = ec_scalar::<C>(s)?;
    let h: C::ProjectivePoint = ec_point::<C>(h)?.into();
    ec_encode::<C>(C::ProjectivePoint::generator() * s + h)
}

/// What a [`PaceInfo`] asks for, when this implementation runs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaceSuite {
    /// The cipher (and key derivation).
    pub cipher: PaceCipher,
    /// The curve.
    pub curve: PaceCurve,
}

/// `PACEInfo` (9303-11 §9.2), one of EF.CardAccess's SecurityInfos:
///
/// ```text
/// PACEInfo ::= SEQUENCE {
///   protocol    OBJECT IDENTIFIER(id-PACE-DH-GM-3DES-CBC-CBC | … | id-PACE-ECDH-GM-AES-CBC-CMAC-128 | …),
///   version     INTEGER, -- MUST be 2
///   parameterId INTEGER OPTIONAL }
/// ```
///
/// Unknown protocols and parameters round-trip; [`PaceInfo::suite`] says whether they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PaceInfo {
    /// The protocol OID (under [`ID_PACE`]).
    pub protocol: ObjectIdentifier,
    /// The version (2).
    pub version: u32,
    /// Standardized domain parameters (9303-11 §9.5.1); absent when proprietary ones are in a
    /// `PACEDomainParameterInfo`.
    pub parameter_id: Option<u32>,
}

impl PaceInfo {
    /// The sandbox passport's PACE: `id-PACE-ECDH-GM-AES-CBC-CMAC-128`, version 2, parameterId 12
    /// (NIST P-256).
    pub fn sandbox() -> PaceInfo {
        PaceInfo { protocol: ID_PACE_ECDH_GM_AES_CBC_CMAC_128, version: 2, parameter_id: Some(PARAM_NIST_P256) }
    }

    /// The cipher and curve, when this implementation runs this PACEInfo (ECDH, Generic Mapping,
    /// AES, parameterId 12 or 13, version 2).
    pub fn suite(&self) -> Result<PaceSuite, PaceError> {
        let unsupported = || PaceError::Unsupported { protocol: self.protocol, parameter_id: self.parameter_id };
        let cipher = match self.protocol {
            p if p == ID_PACE_ECDH_GM_AES_CBC_CMAC_128 => PaceCipher::Aes128,
            p if p == ID_PACE_ECDH_GM_AES_CBC_CMAC_192 => PaceCipher::Aes192,
            p if p == ID_PACE_ECDH_GM_AES_CBC_CMAC_256 => PaceCipher::Aes256,
            _ => return Err(unsupported()),
        };
        if self.version != 2 {
            return Err(unsupported());
        }
        let curve = self.parameter_id.and_then(PaceCurve::from_parameter_id).ok_or_else(unsupported)?;
        Ok(PaceSuite { cipher, curve })
    }
}

/// `SecurityInfo ::= SEQUENCE { protocol OBJECT IDENTIFIER, requiredData ANY DEFINED BY protocol,
/// optionalData ANY DEFINED BY protocol OPTIONAL }` (9303-11 §9.2).
#[derive(Sequence)]
struct SecurityInfo<'a> {
    protocol: ObjectIdentifier,
    required_data: AnyRef<'a>,
    #[asn1(optional = "true")]
    optional_data: Option<AnyRef<'a>>,
}

/// [`PaceInfo`] as DER.
#[derive(Sequence, ValueOrd)]
struct PaceInfoDer {
    protocol: ObjectIdentifier,
    version: u32,
    #[asn1(optional = "true")]
    parameter_id: Option<u32>,
}

/// EF.CardAccess (9303-10 EF.CardAccess, 9303-11 §9.2): `SecurityInfos ::= SET OF SecurityInfo`, here
/// holding the PACEInfos given (DER: the SET OF sorted, duplicates dropped).
pub fn card_access(infos: &[PaceInfo]) -> Vec<u8> {
    let mut set = SetOfVec::new();
    for (n, i) in infos.iter().enumerate() {
        if infos[..n].contains(i) {
            continue; // a duplicate PACEInfo says nothing new
        }
        let der = PaceInfoDer { protocol: i.protocol, version: i.version, parameter_id: i.parameter_id };
        // `insert` keeps the SET OF sorted; it fails only on an encoding error.
        let _ = set.insert(der);
    }
    set.to_der().unwrap_or_default()
}

/// The PACEInfos of an EF.CardAccess, in file order; other SecurityInfos (ChipAuthenticationInfo,
/// PACEDomainParameterInfo, …) are skipped. DER is checked for each element; the SET's order is
/// not (some issuers' files are not sorted). Bounded by [`MAX_CARD_ACCESS_LEN`] and
/// [`MAX_SECURITY_INFOS`].
pub fn parse_card_access(bytes: &[u8]) -> Result<Vec<PaceInfo>, PaceError> {
    if bytes.len() > MAX_CARD_ACCESS_LEN {
        return Err(PaceError::CardAccessTooLong { len: bytes.len(), max: MAX_CARD_ACCESS_LEN });
    }
    let set = AnyRef::from_der(bytes).map_err(PaceError::CardAccess)?;
    if set.tag() != Tag::Set {
        return Err(PaceError::CardAccess(set.tag().unexpected_error(Some(Tag::Set))));
    }
    let mut reader = SliceReader::new(set.value()).map_err(PaceError::CardAccess)?;
    let mut out = Vec::new();
    let mut count = 0;
    while !reader.is_finished() {
        count += 1;
        if count > MAX_SECURITY_INFOS {
            return Err(PaceError::TooManySecurityInfos { max: MAX_SECURITY_INFOS });
        }
        let info = SecurityInfo::decode(&mut reader).map_err(PaceError::CardAccess)?;
        if !is_pace_info_oid(&info.protocol) {
            continue;
        }
        let version = info.required_data.decode_as::<u32>().map_err(PaceError::CardAccess)?;
        let parameter_id = match info.optional_data {
            Some(p) => Some(p.decode_as::<u32>().map_err(PaceError::CardAccess)?),
            None => None,
        };
        out.push(PaceInfo { protocol: info.protocol, version, parameter_id });
    }
    Ok(out)
}

/// PACEInfo protocols are `id-PACE.<mapping+key agreement>.<cipher>` (two arcs under `id-PACE`);
/// PACEDomainParameterInfo's are one arc under it.
fn is_pace_info_oid(oid: &ObjectIdentifier) -> bool {
    oid.as_bytes().starts_with(ID_PACE.as_bytes()) && oid.arcs().count() == ID_PACE.arcs().count() + 2
}

/// The password PACE runs on (9303-11 §4.4; the CAN or the MRZ printed on the data page).
pub enum PacePassword {
    /// The MRZ information, as for BAC: document number (9, `<`-padded) + check digit + birth
    /// date + check digit + expiry date + check digit (24 characters).
    Mrz(String),
    /// The Card Access Number (digits).
    Can(String),
}

impl PacePassword {
    /// The password reference of MSE:Set AT tag `83` (9303-11 §4.4, MSE:Set AT): `01` MRZ, `02` CAN.
    pub fn reference(&self) -> u8 {
        match self {
            PacePassword::Mrz(_) => 0x01,
            PacePassword::Can(_) => 0x02,
        }
    }

    /// `Kπ = KDF(f(π), 3)` (9303-11 §9.7, key derivation for PACE passwords): `f(π)` = `SHA-1(MRZ information)` (20 bytes) or the
    /// CAN's characters.
    pub fn key(&self, cipher: PaceCipher) -> Zeroizing<Vec<u8>> {
        match self {
            PacePassword::Mrz(m) => {
                let seed = Zeroizing::new(Sha1::digest(m.as_bytes()).to_vec());
                cipher.kdf(&seed, 3)
            }
            PacePassword::Can(c) => cipher.kdf(c.as_bytes(), 3),
        }
    }
}

impl core::fmt::Debug for PacePassword {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            PacePassword::Mrz(_) => "PacePassword::Mrz([elided])",
            PacePassword::Can(_) => "PacePassword::Can([elided])",
        })
    }
}

impl Drop for PacePassword {
    fn drop(&mut self) {
        match self {
            PacePassword::Mrz(s) | PacePassword::Can(s) => s.zeroize(),
        }
    }
}

/// `7F49 {06 OID, 86 PK}`: the public key data object the tokens are computed over
/// (9303-11 §4.4 "Authentication token" and §9 "Public key data objects"; ECDH: `86` the
/// uncompressed point).
fn public_key_object(protocol: &ObjectIdentifier, pk: &[u8]) -> Vec<u8> {
    let mut inner = tlv::encode(0x06, protocol.as_bytes());
    inner.extend_from_slice(&tlv::encode(0x86, pk));
    tlv::encode(0x7F49, &inner)
}

/// `T = CMAC(KSmac, 7F49 {06 OID, 86 PK})[0..8]`.
fn token(mac: &[u8], protocol: &ObjectIdentifier, pk: &[u8]) -> Option<[u8; TOKEN_LEN]> {
    let full = crypto::aes_cmac(mac, &public_key_object(protocol, pk)).ok()?;
    let mut t = [0u8; TOKEN_LEN];
    t.copy_from_slice(&full[..TOKEN_LEN]);
    Some(t)
}

/// `(KSenc, KSmac)` from the shared point's x-coordinate.
fn session_keys(cipher: PaceCipher, curve: PaceCurve, shared: &[u8]) -> (Zeroizing<Vec<u8>>, Zeroizing<Vec<u8>>) {
    let x = &shared[1..1 + curve.field_len()];
    (cipher.kdf(x, 1), cipher.kdf(x, 2))
}

/// The one object of tag `tag` inside a `7C` dynamic authentication data object that is the
/// whole of `data`; `Some(None)` for an empty `7C` when `tag` is `None`.
fn dynamic_auth_data(data: &[u8], tag: Option<u32>) -> Option<&[u8]> {
    let (outer, rest) = tlv::parse_one(data).ok()?;
    if outer.tag != 0x7C || !rest.is_empty() {
        return None;
    }
    match tag {
        None => outer.value.is_empty().then_some(outer.value),
        Some(tag) => {
            let (inner, rest) = tlv::parse_one(outer.value).ok()?;
            (inner.tag == tag && rest.is_empty()).then_some(inner.value)
        }
    }
}

/// Like [`dynamic_auth_data`] for the terminal reading the chip's answer: the object of `tag`
/// among the `7C`'s contents (other objects, e.g. EAC's `87`/`88` CARs after step 4, ignored).
fn find_in_7c(data: &[u8], tag: u32) -> Option<&[u8]> {
    let (outer, rest) = tlv::parse_one(data).ok()?;
    if outer.tag != 0x7C || !rest.is_empty() {
        return None;
    }
    tlv::find(outer.value, tag).ok()?.map(|t| t.value)
}

fn wrap_7c(tag: u32, value: &[u8]) -> Vec<u8> {
    tlv::encode(0x7C, &tlv::encode(tag, value))
}

/// Where the chip's PACE session stands.
enum ChipStep {
    /// No MSE:Set AT yet (or the last one failed).
    Idle,
    /// MSE:Set AT accepted: GENERAL AUTHENTICATE step 1 next.
    Set,
    /// Nonce sent: step 2 (mapping) next.
    Nonce { s: Zeroizing<Vec<u8>> },
    /// Mapped: step 3 (key agreement on `G'`) next.
    Mapped { g_hat: Vec<u8> },
    /// Agreed: step 4 (tokens) next.
    Agreed { enc: Zeroizing<Vec<u8>>, mac: Zeroizing<Vec<u8>>, pk_ifd: Vec<u8>, pk_ic: Vec<u8> },
    /// Established (the keys went to the caller) or failed: a new MSE:Set AT starts over.
    Over,
}

/// The chip's side of PACE: MSE:Set AT then the four GENERAL AUTHENTICATE steps. Volatile (not
/// persisted): a reset or a new MSE:Set AT starts over.
pub struct ChipPace {
    protocol: ObjectIdentifier,
    parameter_id: Option<u32>,
    suite: PaceSuite,
    /// The passwords the chip holds: (MSE reference, `Kπ`).
    passwords: Vec<(u8, Zeroizing<Vec<u8>>)>,
    /// `Kπ` of the password MSE:Set AT chose.
    kpi: Zeroizing<Vec<u8>>,
    step: ChipStep,
}

impl core::fmt::Debug for ChipPace {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ChipPace").field("suite", &self.suite).field("kpi", &"[elided]").finish_non_exhaustive()
    }
}

impl ChipPace {
    /// A chip holding `password` and answering the PACE of `info`. `rng` is not drawn from
    /// today (the nonce and keys are drawn per run in [`ChipPace::general_authenticate`]).
    pub fn new(password: &PacePassword, info: &PaceInfo, rng: &mut dyn RngCore) -> Result<ChipPace, PaceError> {
        ChipPace::with_passwords(core::slice::from_ref(password), info, rng)
    }

    /// A chip holding several passwords (a passport answering both its MRZ and its CAN); the
    /// terminal picks one with MSE:Set AT tag `83`. When two share a reference the first counts.
    pub fn with_passwords(
        passwords: &[PacePassword],
        info: &PaceInfo,
        rng: &mut dyn RngCore,
    ) -> Result<ChipPace, PaceError> {
        let _ = rng;
        let suite = info.suite()?;
        Ok(ChipPace {
            protocol: info.protocol,
            parameter_id: info.parameter_id,
            suite,
            passwords: passwords.iter().map(|p| (p.reference(), p.key(suite.cipher))).collect(),
            kpi: Zeroizing::new(Vec::new()),
            step: ChipStep::Idle,
        })
    }

    /// Whether a PACE run is under way (MSE:Set AT accepted, keys not yet handed out).
    pub fn in_progress(&self) -> bool {
        !matches!(self.step, ChipStep::Idle | ChipStep::Over)
    }

    /// Forgets any run (card reset, or SELECT of another application).
    pub fn reset(&mut self) {
        self.step = ChipStep::Idle;
    }

    /// MSE:Set AT (`00 22 C1 A4`) data: `80` the protocol OID (must be this chip's), `83` the
    /// password reference (must be one this chip holds: else `6A 88`), optional `84` the
    /// parameterId (must match), optional `7F4C` CHAT (ignored: no terminal authentication here).
    pub fn mse_set_at(&mut self, data: &[u8]) -> Result<(), StatusWord> {
        self.step = ChipStep::Idle;
        let (mut oid, mut pwd, mut param, mut chat) = (None, None, None, None);
        for t in tlv::iter(data) {
            let t = t.map_err(|_| StatusWord::WRONG_DATA)?;
            let slot = match t.tag {
                0x80 => &mut oid,
                0x83 => &mut pwd,
                0x84 => &mut param,
                0x7F4C => &mut chat,
                _ => return Err(StatusWord::WRONG_DATA),
            };
            if slot.replace(t.value).is_some() {
                return Err(StatusWord::WRONG_DATA);
            }
        }
        let _ = chat;
        if oid != Some(self.protocol.as_bytes()) {
            return Err(StatusWord::WRONG_DATA);
        }
        if let Some(p) = param {
            let want = self.parameter_id.unwrap_or(self.suite.curve.parameter_id());
            if p.len() != 1 || u32::from(p[0]) != want {
                return Err(StatusWord::WRONG_DATA);
            }
        }
        let kpi = match pwd {
            Some([r @ 0x01..=0x04]) => {
                &self.passwords.iter().find(|(held, _)| held == r).ok_or(StatusWord::DATA_NOT_FOUND)?.1
            }
            _ => return Err(StatusWord::WRONG_DATA),
        };
        self.kpi = kpi.clone();
        self.step = ChipStep::Set;
        Ok(())
    }

    /// GENERAL AUTHENTICATE (`10 86 00 00` for steps 1–3, `00 86 00 00` for step 4) data field
    /// `7C …` → the response's `7C …`; step 4 also yields the session keys (SSC zero). Any error
    /// ends the run (`63 00` on a wrong token, `6A 80` on bad data, `69 85` out of order); a new
    /// MSE:Set AT starts over. This entry does not see the CLA: use
    /// [`ChipPace::general_authenticate_apdu`] or [`ChipPace::handle`] to have chaining checked.
    pub fn general_authenticate(
        &mut self,
        data: &[u8],
        rng: &mut dyn RngCore,
    ) -> Result<(Vec<u8>, Option<SmKeys>), StatusWord> {
        let step = core::mem::replace(&mut self.step, ChipStep::Over);
        let curve = self.suite.curve;
        match step {
            ChipStep::Idle | ChipStep::Over => Err(StatusWord::CONDITIONS_NOT_SATISFIED),
            ChipStep::Set => {
                dynamic_auth_data(data, None).ok_or(StatusWord::WRONG_DATA)?;
                let mut s = Zeroizing::new(vec![0u8; 16]);
                rng.fill_bytes(&mut s);
                let z = crypto::aes_cbc_encrypt(&self.kpi, &[0; 16], &s).map_err(|_| StatusWord::UNKNOWN_ERROR)?;
                self.step = ChipStep::Nonce { s };
                Ok((wrap_7c(0x80, &z), None))
            }
            ChipStep::Nonce { s } => {
                let pk_ifd = dynamic_auth_data(data, Some(0x81)).ok_or(StatusWord::WRONG_DATA)?;
                if !curve.is_valid_point(pk_ifd) {
                    return Err(StatusWord::WRONG_DATA);
                }
                let sk = curve.random_scalar(rng).ok_or(StatusWord::UNKNOWN_ERROR)?;
                let pk_ic = curve.mul(&sk, None).ok_or(StatusWord::UNKNOWN_ERROR)?;
                if pk_ic == pk_ifd {
                    return Err(StatusWord::WRONG_DATA);
                }
                let h = curve.mul(&sk, Some(pk_ifd)).ok_or(StatusWord::WRONG_DATA)?;
                let g_hat = curve.map(&s, &h).ok_or(StatusWord::WRONG_DATA)?;
                self.step = ChipStep::Mapped { g_hat };
                Ok((wrap_7c(0x82, &pk_ic), None))
            }
            ChipStep::Mapped { g_hat } => {
                let pk_ifd = dynamic_auth_data(data, Some(0x83)).ok_or(StatusWord::WRONG_DATA)?;
                if !curve.is_valid_point(pk_ifd) {
                    return Err(StatusWord::WRONG_DATA);
                }
                let sk = curve.random_scalar(rng).ok_or(StatusWord::UNKNOWN_ERROR)?;
                let pk_ic = curve.mul(&sk, Some(&g_hat)).ok_or(StatusWord::UNKNOWN_ERROR)?;
                // 9303-11 §4.4 (key agreement): the chip SHALL check that PK_DH,IFD ≠ PK_DH,IC.
                if pk_ic == pk_ifd {
                    return Err(StatusWord::WRONG_DATA);
                }
                let shared = Zeroizing::new(curve.mul(&sk, Some(pk_ifd)).ok_or(StatusWord::WRONG_DATA)?);
                let (enc, mac) = session_keys(self.suite.cipher, curve, &shared);
                let response = wrap_7c(0x84, &pk_ic);
                self.step = ChipStep::Agreed { enc, mac, pk_ifd: pk_ifd.to_vec(), pk_ic };
                Ok((response, None))
            }
            ChipStep::Agreed { enc, mac, pk_ifd, pk_ic } => {
                let t_ifd = dynamic_auth_data(data, Some(0x85)).ok_or(StatusWord::WRONG_DATA)?;
                let want = token(&mac, &self.protocol, &pk_ic).ok_or(StatusWord::UNKNOWN_ERROR)?;
                if t_ifd.len() != TOKEN_LEN || !bool::from(t_ifd.ct_eq(&want[..])) {
                    return Err(SW_AUTHENTICATION_FAILED);
                }
                let t_ic = token(&mac, &self.protocol, &pk_ifd).ok_or(StatusWord::UNKNOWN_ERROR)?;
                Ok((wrap_7c(0x86, &t_ic), Some(SmKeys::Aes { enc, mac })))
            }
        }
    }

    /// Which GENERAL AUTHENTICATE step comes next (1–4), `None` outside a run.
    pub fn next_step(&self) -> Option<u8> {
        match self.step {
            ChipStep::Set => Some(1),
            ChipStep::Nonce { .. } => Some(2),
            ChipStep::Mapped { .. } => Some(3),
            ChipStep::Agreed { .. } => Some(4),
            ChipStep::Idle | ChipStep::Over => None,
        }
    }

    /// GENERAL AUTHENTICATE as a whole command: P1-P2 must be `00 00`, and the CLA's chaining bit
    /// set for steps 1–3 (`10 86`) and clear for step 4 (`00 86`) (9303-11 §4.4, GENERAL AUTHENTICATE); otherwise
    /// `69 85` (or `6A 86`) and the run is over.
    pub fn general_authenticate_apdu(
        &mut self,
        cmd: &Command<'_>,
        rng: &mut dyn RngCore,
    ) -> Result<(Vec<u8>, Option<SmKeys>), StatusWord> {
        if (cmd.p1, cmd.p2) != (0, 0) {
            self.step = ChipStep::Over;
            return Err(StatusWord::WRONG_P1P2);
        }
        let chained = cmd.cla & CLA_CHAINING != 0;
        match self.next_step() {
            Some(4) if !chained => {}
            Some(1..=3) if chained => {}
            _ => {
                self.step = ChipStep::Over;
                return Err(StatusWord::CONDITIONS_NOT_SATISFIED);
            }
        }
        self.general_authenticate(cmd.data, rng)
    }

    /// Answers the command when it is PACE's (MSE:Set AT `22 C1 A4`, GENERAL AUTHENTICATE `86`,
    /// without secure messaging), `None` otherwise. The keys come with step 4's `90 00`.
    pub fn handle(&mut self, cmd: &Command<'_>, rng: &mut dyn RngCore) -> Option<(Response, Option<SmKeys>)> {
        if cmd.secure_messaging() {
            return None;
        }
        if cmd.ins == INS_MSE && [cmd.p1, cmd.p2] == MSE_SET_AT_PACE {
            return Some(match self.mse_set_at(cmd.data) {
                Ok(()) => (Response::status(StatusWord::SUCCESS), None),
                Err(sw) => (Response::status(sw), None),
            });
        }
        if cmd.ins == INS_GENERAL_AUTHENTICATE {
            return Some(match self.general_authenticate_apdu(cmd, rng) {
                Ok((data, keys)) => (Response::ok(data), keys),
                Err(sw) => (Response::status(sw), None),
            });
        }
        None
    }
}

/// One command to the chip, its answer split.
fn exchange(t: &mut dyn Transport, cmd: &Command<'_>, step: u8) -> Result<Response, PaceError> {
    let raw = t.transmit(&cmd.encode())?;
    Response::parse(&raw).map_err(|_| PaceError::Malformed { step })
}

fn general_authenticate_cmd(data: &[u8], last: bool) -> Command<'_> {
    Command {
        cla: if last { 0x00 } else { CLA_CHAINING },
        ins: INS_GENERAL_AUTHENTICATE,
        p1: 0,
        p2: 0,
        data,
        le: Some(256),
        extended: false,
    }
}

/// A GENERAL AUTHENTICATE step whose answer must be `90 00` with `7C {tag …}`.
fn ga_step(t: &mut dyn Transport, step: u8, data: &[u8], tag: u32) -> Result<Vec<u8>, PaceError> {
    let r = exchange(t, &general_authenticate_cmd(data, step == 4), step)?;
    if step == 4 && r.sw == SW_AUTHENTICATION_FAILED {
        return Err(PaceError::WrongPassword);
    }
    if !r.sw.is_success() {
        return Err(PaceError::Refused { step, sw: r.sw });
    }
    find_in_7c(&r.data, tag).map(<[u8]>::to_vec).ok_or(PaceError::Malformed { step })
}

/// The terminal's side of PACE (9303-11 §4.4): MSE:Set AT and the four GENERAL AUTHENTICATE, in
/// plain, over `t`; verifies the chip's token and returns the AES session keys (SSC zero).
/// A `63 00` to the terminal's token is [`PaceError::WrongPassword`].
pub fn establish(
    t: &mut dyn Transport,
    password: &PacePassword,
    info: &PaceInfo,
    rng: &mut dyn RngCore,
) -> Result<SmKeys, PaceError> {
    let PaceSuite { cipher, curve } = info.suite()?;
    let kpi = password.key(cipher);

    // MSE:Set AT: 80 protocol, 83 password reference.
    let mut set_at = tlv::encode(0x80, info.protocol.as_bytes());
    set_at.extend_from_slice(&tlv::encode(0x83, &[password.reference()]));
    let mse = Command { cla: 0, ins: INS_MSE, p1: 0xC1, p2: 0xA4, data: &set_at, le: None, extended: false };
    let r = exchange(t, &mse, 0)?;
    if !r.sw.is_success() {
        return Err(PaceError::Refused { step: 0, sw: r.sw });
    }

    // 1: the encrypted nonce.
    let z = ga_step(t, 1, &[0x7C, 0x00], 0x80)?;
    if z.len() != 16 {
        return Err(PaceError::Malformed { step: 1 });
    }
    let s = Zeroizing::new(crypto::aes_cbc_decrypt(&kpi, &[0; 16], &z).map_err(|_| PaceError::Malformed { step: 1 })?);

    // 2: mapping.
    let sk_map = curve.random_scalar(rng).ok_or(PaceError::Random)?;
    let pk_map = curve.mul(&sk_map, None).ok_or(PaceError::Random)?;
    let pk_map_ic = ga_step(t, 2, &wrap_7c(0x81, &pk_map), 0x82)?;
    if !curve.is_valid_point(&pk_map_ic) || pk_map_ic == pk_map {
        return Err(PaceError::BadPoint { step: 2 });
    }
    let h = curve.mul(&sk_map, Some(&pk_map_ic)).ok_or(PaceError::BadPoint { step: 2 })?;
    let g_hat = curve.map(&s, &h).ok_or(PaceError::BadPoint { step: 2 })?;

    // 3: key agreement on G'.
    let sk_dh = curve.random_scalar(rng).ok_or(PaceError::Random)?;
    let pk_dh = curve.mul(&sk_dh, Some(&g_hat)).ok_or(PaceError::Random)?;
    let pk_dh_ic = ga_step(t, 3, &wrap_7c(0x83, &pk_dh), 0x84)?;
    if !curve.is_valid_point(&pk_dh_ic) || pk_dh_ic == pk_dh {
        return Err(PaceError::BadPoint { step: 3 });
    }
    let shared = Zeroizing::new(curve.mul(&sk_dh, Some(&pk_dh_ic)).ok_or(PaceError::BadPoint { step: 3 })?);
    let (enc, mac) = session_keys(cipher, curve, &shared);

    // 4: mutual authentication.
    let t_ifd = token(&mac, &info.protocol, &pk_dh_ic).ok_or(PaceError::Random)?;
    let t_ic = ga_step(t, 4, &wrap_7c(0x85, &t_ifd), 0x86)?;
    let want = token(&mac, &info.protocol, &pk_dh).ok_or(PaceError::Random)?;
    if t_ic.len() != TOKEN_LEN || !bool::from(t_ic.ct_eq(&want[..])) {
        return Err(PaceError::ChipToken);
    }
    Ok(SmKeys::Aes { enc, mac })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use rand_core::OsRng;
    use std::collections::VecDeque;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s.replace([' ', '\n'], "")).unwrap()
    }

    /// Hands out the bytes given, in order (the worked example's nonce and private keys).
    struct Scripted(VecDeque<u8>);

    impl Scripted {
        fn new(parts: &[&str]) -> Scripted {
            Scripted(parts.iter().flat_map(|p| h(p)).collect())
        }
    }

    impl RngCore for Scripted {
        fn next_u32(&mut self) -> u32 {
            rand_core::impls::next_u32_via_fill(self)
        }
        fn next_u64(&mut self) -> u64 {
            rand_core::impls::next_u64_via_fill(self)
        }
        fn fill_bytes(&mut self, dest: &mut [u8]) {
            for b in dest {
                *b = self.0.pop_front().expect("script exhausted");
            }
        }
        fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
            self.fill_bytes(dest);
            Ok(())
        }
    }

    type Hook = Box<dyn FnMut(&[u8], Vec<u8>) -> Vec<u8>>;

    /// An in-memory Transport to a [`ChipPace`], recording the exchange; `hook` may rewrite the
    /// chip's raw answers (a misbehaving chip).
    struct Link<R: RngCore> {
        chip: ChipPace,
        rng: R,
        keys: Option<SmKeys>,
        log: Vec<(Vec<u8>, Vec<u8>)>,
        hook: Option<Hook>,
    }

    impl<R: RngCore> Link<R> {
        fn new(chip: ChipPace, rng: R) -> Link<R> {
            Link { chip, rng, keys: None, log: Vec::new(), hook: None }
        }
    }

    impl<R: RngCore> Transport for Link<R> {
        fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
            let cmd = Command::parse(apdu).map_err(|e| TransportError(e.to_string()))?;
            let (resp, keys) = self
                .chip
                .handle(&cmd, &mut self.rng)
                .unwrap_or((Response::status(StatusWord::INS_NOT_SUPPORTED), None));
            if keys.is_some() {
                self.keys = keys;
            }
            let mut raw = resp.encode();
            if let Some(hook) = self.hook.as_mut() {
                raw = hook(apdu, raw);
            }
            self.log.push((apdu.to_vec(), raw.clone()));
            Ok(raw)
        }
    }

    fn aes(k: &SmKeys) -> (Vec<u8>, Vec<u8>) {
        match k {
            SmKeys::Aes { enc, mac } => (enc.to_vec(), mac.to_vec()),
            SmKeys::Tdes { .. } => panic!("PACE-AES gave TDES keys"),
        }
    }

    fn mrz() -> PacePassword {
        PacePassword::Mrz("T22000129364081251010318".into())
    }

    fn appendix_g_info() -> PaceInfo {
        PaceInfo { protocol: ID_PACE_ECDH_GM_AES_CBC_CMAC_128, version: 2, parameter_id: Some(PARAM_BRAINPOOL_P256R1) }
    }

    // ICAO Doc 9303-11 Appendix G.1: PACE ECDH Generic Mapping, brainpoolP256r1, AES-128.
    const G_CARD_ACCESS: &str = "31143012060A04007F0007020204020202010202010D";
    const G_NONCE: &str = "3F00C4D39D153F2B2A214A078D899B22";
    const G_Z: &str = "95A3A016522EE98D01E76CB6B98B42C3";
    const G_SK_MAP_IFD: &str = "7F4EF07B9EA82FD78AD689B38D0BC78CF21F249D953BC46F4C6E19259C010F99";
    const G_SK_MAP_IC: &str = "498FF49756F2DC1587840041839A85982BE7761D14715FB091EFA7BCE9058560";
    const G_SK_DH_IFD: &str = "A73FB703AC1436A18E0CFA5ABB3F7BEC7A070E7A6788486BEE230C4A22762595";
    const G_SK_DH_IC: &str = "107CF58696EF6155053340FD633392BA81909DF7B9706F226F32086C7AFF974A";
    const G_PK_MAP_IFD: &str = "04 7ACF3EFC982EC45565A4B155129EFBC74650DCBFA6362D896FC70262E0C2CC5E
        544552DCB6725218799115B55C9BAA6D9F6BC3A9618E70C25AF71777A9C4922D";
    const G_PK_MAP_IC: &str = "04 824FBA91C9CBE26BEF53A0EBE7342A3BF178CEA9F45DE0B70AA601651FBA3F57
        30D8C879AAA9C9F73991E61B58F4D52EB87A0A0C709A49DC63719363CCD13C54";
    const G_H: &str = "04 60332EF2450B5D247EF6D3868397D398852ED6E8CAF6FFEEF6BF85CA57057FD5
        0840CA7415BAF3E43BD414D35AA4608B93A2CAF3A4E3EA4E82C9C13D03EB7181";
    const G_G_HAT: &str = "04 8CED63C91426D4F0EB1435E7CB1D74A46723A0AF21C89634F65A9AE87A9265E2
        8C879506743F8611AC33645C5B985C80B5F09A0B83407C1B6A4D857AE76FE522";
    const G_PK_DH_IFD: &str = "04 2DB7A64C0355044EC9DF190514C625CBA2CEA48754887122F3A5EF0D5EDD301C
        3556F3B3B186DF10B857B58F6A7EB80F20BA5DC7BE1D43D9BF850149FBB36462";
    const G_PK_DH_IC: &str = "04 9E880F842905B8B3181F7AF7CAA9F0EFB743847F44A306D2D28C1D9EC65DF6DB
        7764B22277A2EDDC3C265A9F018F9CB852E111B768B326904B59A0193776F094";
    const G_K: &str = "28768D20701247DAE81804C9E780EDE582A9996DB4A315020B2733197DB84925";
    const G_KS_ENC: &str = "F5F0E35C0D7161EE6724EE513A0D9A7F";
    const G_KS_MAC: &str = "FE251C7858B356B24514B3BD5F4297D1";
    const G_T_IFD: &str = "C2B0BD78D94BA866";
    const G_T_IC: &str = "3ABB9674BCE93C08";

    /// Appendix G.1, value by value: password key, nonce, mapping, key agreement, keys, tokens.
    #[test]
    fn icao_appendix_g_values() {
        let curve = PaceCurve::BrainpoolP256r1;
        assert_eq!(Sha1::digest(b"T22000129364081251010318").to_vec(), h("7E2D2A41C74EA0B38CD36F863939BFA8E9032AAD"));
        let kpi = mrz().key(PaceCipher::Aes128);
        assert_eq!(kpi.to_vec(), h("89DED1B26624EC1E634C1989302849DD"));
        assert_eq!(crypto::aes_cbc_encrypt(&kpi, &[0; 16], &h(G_NONCE)).unwrap(), h(G_Z));
        assert_eq!(curve.mul(&h(G_SK_MAP_IFD), None).unwrap(), h(G_PK_MAP_IFD));
        assert_eq!(curve.mul(&h(G_SK_MAP_IC), None).unwrap(), h(G_PK_MAP_IC));
        let hh = curve.mul(&h(G_SK_MAP_IFD), Some(&h(G_PK_MAP_IC))).unwrap();
        assert_eq!(hh, h(G_H));
        assert_eq!(curve.mul(&h(G_SK_MAP_IC), Some(&h(G_PK_MAP_IFD))).unwrap(), h(G_H));
        let g_hat = curve.map(&h(G_NONCE), &hh).unwrap();
        assert_eq!(g_hat, h(G_G_HAT));
        assert_eq!(curve.mul(&h(G_SK_DH_IFD), Some(&g_hat)).unwrap(), h(G_PK_DH_IFD));
        assert_eq!(curve.mul(&h(G_SK_DH_IC), Some(&g_hat)).unwrap(), h(G_PK_DH_IC));
        let k = curve.mul(&h(G_SK_DH_IFD), Some(&h(G_PK_DH_IC))).unwrap();
        assert_eq!(k[1..33].to_vec(), h(G_K));
        let (enc, mac) = session_keys(PaceCipher::Aes128, curve, &k);
        assert_eq!((enc.to_vec(), mac.to_vec()), (h(G_KS_ENC), h(G_KS_MAC)));
        let oid = ID_PACE_ECDH_GM_AES_CBC_CMAC_128;
        assert_eq!(
            public_key_object(&oid, &h(G_PK_DH_IC)),
            [h("7F494F060A04007F00070202040202864104"), h(G_PK_DH_IC)[1..].to_vec()].concat()
        );
        assert_eq!(token(&mac, &oid, &h(G_PK_DH_IC)).unwrap().to_vec(), h(G_T_IFD));
        assert_eq!(token(&mac, &oid, &h(G_PK_DH_IFD)).unwrap().to_vec(), h(G_T_IC));
        assert_eq!(parse_card_access(&h(G_CARD_ACCESS)).unwrap(), vec![appendix_g_info()]);
        assert_eq!(card_access(&[appendix_g_info()]), h(G_CARD_ACCESS));
    }

    /// Appendix G.1 as a run: our terminal against our chip, each fed the example's nonce and
    /// private keys, sends and receives the example's APDUs byte for byte.
    #[test]
    fn icao_appendix_g_transcript() {
        let info = parse_card_access(&h(G_CARD_ACCESS)).unwrap()[0];
        let chip = ChipPace::new(&mrz(), &info, &mut OsRng).unwrap();
        let mut link = Link::new(chip, Scripted::new(&[G_NONCE, G_SK_MAP_IC, G_SK_DH_IC]));
        let mut rng = Scripted::new(&[G_SK_MAP_IFD, G_SK_DH_IFD]);
        let keys = establish(&mut link, &mrz(), &info, &mut rng).unwrap();
        let expected = [
            ("0022C1A40F800A04007F00070202040202830101", "9000"),
            ("10860000027C0000", "7C12801095A3A016522EE98D01E76CB6B98B42C39000"),
            (
                "10860000457C43814104 7ACF3EFC982EC45565A4B155129EFBC74650DCBFA6362D896FC70262E0C2CC5E
                 544552DCB6725218799115B55C9BAA6D9F6BC3A9618E70C25AF71777A9C4922D 00",
                "7C43824104 824FBA91C9CBE26BEF53A0EBE7342A3BF178CEA9F45DE0B70AA601651FBA3F57
                 30D8C879AAA9C9F73991E61B58F4D52EB87A0A0C709A49DC63719363CCD13C54 9000",
            ),
            (
                "10860000457C43834104 2DB7A64C0355044EC9DF190514C625CBA2CEA48754887122F3A5EF0D5EDD301C
                 3556F3B3B186DF10B857B58F6A7EB80F20BA5DC7BE1D43D9BF850149FBB36462 00",
                "7C43844104 9E880F842905B8B3181F7AF7CAA9F0EFB743847F44A306D2D28C1D9EC65DF6DB
                 7764B22277A2EDDC3C265A9F018F9CB852E111B768B326904B59A0193776F094 9000",
            ),
            ("008600000C7C0A8508C2B0BD78D94BA86600", "7C0A86083ABB9674BCE93C089000"),
        ];
        assert_eq!(link.log.len(), expected.len());
        for ((cmd, resp), (want_cmd, want_resp)) in link.log.iter().zip(expected) {
            assert_eq!(hex::encode_upper(cmd), hex::encode_upper(h(want_cmd)));
            assert_eq!(hex::encode_upper(resp), hex::encode_upper(h(want_resp)));
        }
        assert_eq!(aes(&keys), (h(G_KS_ENC), h(G_KS_MAC)));
        assert_eq!(aes(link.keys.as_ref().unwrap()), (h(G_KS_ENC), h(G_KS_MAC)));
    }

    fn run(
        chip_pwd: &PacePassword,
        term_pwd: &PacePassword,
        info: &PaceInfo,
    ) -> (Result<SmKeys, PaceError>, Link<OsRng>) {
        let chip = ChipPace::new(chip_pwd, info, &mut OsRng).unwrap();
        let mut link = Link::new(chip, OsRng);
        (establish(&mut link, term_pwd, info, &mut OsRng), link)
    }

    #[test]
    fn full_runs_mrz_and_can_on_p256_give_equal_keys() {
        let info = PaceInfo::sandbox();
        for pwd in [|| PacePassword::Mrz("L898902C<369080619406236".into()), || PacePassword::Can("123456".into())] {
            let (keys, link) = run(&pwd(), &pwd(), &info);
            let (enc, mac) = aes(&keys.unwrap());
            assert_eq!((enc.len(), mac.len()), (16, 16));
            assert_eq!(aes(link.keys.as_ref().unwrap()), (enc, mac));
            assert!(!link.chip.in_progress());
        }
        // The other ciphers and curve run too.
        for (protocol, param, len) in [
            (ID_PACE_ECDH_GM_AES_CBC_CMAC_192, PARAM_NIST_P256, 24),
            (ID_PACE_ECDH_GM_AES_CBC_CMAC_256, PARAM_BRAINPOOL_P256R1, 32),
        ] {
            let info = PaceInfo { protocol, version: 2, parameter_id: Some(param) };
            let (keys, link) = run(&PacePassword::Can("654321".into()), &PacePassword::Can("654321".into()), &info);
            let keys = aes(&keys.unwrap());
            assert_eq!(keys.0.len(), len);
            assert_eq!(aes(link.keys.as_ref().unwrap()), keys);
        }
    }

    #[test]
    fn wrong_password_fails_on_both_sides_with_63_00() {
        let info = PaceInfo::sandbox();
        let (r, mut link) = run(&PacePassword::Can("123456".into()), &PacePassword::Can("123457".into()), &info);
        assert!(matches!(r, Err(PaceError::WrongPassword)), "{r:?}");
        assert_eq!(link.log.last().unwrap().1, vec![0x63, 0x00]);
        assert!(link.keys.is_none());
        // The session is over: another step 4 is out of order.
        assert_eq!(
            link.chip.general_authenticate(&h("7C0A85080000000000000000"), &mut OsRng).unwrap_err(),
            StatusWord::CONDITIONS_NOT_SATISFIED
        );
        let (r, _) = run(
            &PacePassword::Mrz("L898902C<369080619406236".into()),
            &PacePassword::Mrz("L898902C<369080619406235".into()),
            &info,
        );
        assert!(matches!(r, Err(PaceError::WrongPassword)));
    }

    #[test]
    fn mse_set_at_checks_protocol_password_and_parameters() {
        let info = PaceInfo::sandbox();
        let mut chip = ChipPace::new(&PacePassword::Can("123456".into()), &info, &mut OsRng).unwrap();
        let oid = tlv::encode(0x80, ID_PACE_ECDH_GM_AES_CBC_CMAC_128.as_bytes());
        let other = tlv::encode(0x80, ID_PACE_ECDH_GM_AES_CBC_CMAC_256.as_bytes());
        let ok = [oid.clone(), h("830102")].concat();
        assert_eq!(
            chip.general_authenticate(&h("7C00"), &mut OsRng).unwrap_err(),
            StatusWord::CONDITIONS_NOT_SATISFIED
        );
        assert_eq!(chip.mse_set_at(&[oid.clone(), h("830101")].concat()), Err(StatusWord::DATA_NOT_FOUND));
        assert_eq!(chip.mse_set_at(&[other, h("830102")].concat()), Err(StatusWord::WRONG_DATA));
        assert_eq!(chip.mse_set_at(&[ok.clone(), h("84010D")].concat()), Err(StatusWord::WRONG_DATA));
        assert_eq!(chip.mse_set_at(&[ok.clone(), h("830102")].concat()), Err(StatusWord::WRONG_DATA));
        assert_eq!(chip.mse_set_at(&[ok.clone(), h("9900")].concat()), Err(StatusWord::WRONG_DATA));
        assert_eq!(chip.mse_set_at(&oid), Err(StatusWord::WRONG_DATA));
        assert_eq!(chip.mse_set_at(&h("80")), Err(StatusWord::WRONG_DATA));
        assert_eq!(chip.mse_set_at(&[ok.clone(), h("84010C")].concat()), Ok(()));
        assert_eq!(chip.next_step(), Some(1));
        assert_eq!(chip.mse_set_at(&ok), Ok(()));
    }

    #[test]
    fn a_chip_with_mrz_and_can_answers_either() {
        let info = PaceInfo::sandbox();
        let mrz = || PacePassword::Mrz("L898902C<369080619406236".into());
        let can = || PacePassword::Can("123456".into());
        for pwd in [mrz(), can()] {
            let chip = ChipPace::with_passwords(&[mrz(), can()], &info, &mut OsRng).unwrap();
            let mut link = Link::new(chip, OsRng);
            let keys = establish(&mut link, &pwd, &info, &mut OsRng).unwrap();
            assert_eq!(aes(&keys), aes(link.keys.as_ref().unwrap()));
        }
        let chip = ChipPace::with_passwords(&[mrz()], &info, &mut OsRng).unwrap();
        let mut link = Link::new(chip, OsRng);
        match establish(&mut link, &can(), &info, &mut OsRng) {
            Err(PaceError::Refused { step: 0, sw }) => assert_eq!(sw, StatusWord::DATA_NOT_FOUND),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn chaining_is_checked() {
        let info = PaceInfo::sandbox();
        let mut chip = ChipPace::new(&PacePassword::Can("123456".into()), &info, &mut OsRng).unwrap();
        let mse = h("002 2C1A40F800A04007F00070202040202830102".replace(' ', "").as_str());
        let (r, _) = chip.handle(&Command::parse(&mse).unwrap(), &mut OsRng).unwrap();
        assert_eq!(r.sw, StatusWord::SUCCESS);
        // Step 1 sent as the last of a chain: refused, run over.
        let (r, _) = chip.handle(&Command::parse(&h("00860000027C0000")).unwrap(), &mut OsRng).unwrap();
        assert_eq!(r.sw, StatusWord::CONDITIONS_NOT_SATISFIED);
        assert!(!chip.in_progress());
        // P1-P2 must be 00 00.
        chip.handle(&Command::parse(&mse).unwrap(), &mut OsRng).unwrap();
        let (r, _) = chip.handle(&Command::parse(&h("10860100027C0000")).unwrap(), &mut OsRng).unwrap();
        assert_eq!(r.sw, StatusWord::WRONG_P1P2);
        // Not PACE's: left to the caller.
        assert!(chip.handle(&Command::parse(&h("00B0000000")).unwrap(), &mut OsRng).is_none());
        assert!(chip.handle(&Command::parse(&h("0C860000027C0000")).unwrap(), &mut OsRng).is_none());
    }

    /// Drives a chip through MSE and step 1 and returns it with the terminal's view (nonce).
    fn chip_after_nonce(info: &PaceInfo, chip_rng: &mut dyn RngCore) -> (ChipPace, Vec<u8>) {
        let pwd = PacePassword::Can("123456".into());
        let mut chip = ChipPace::new(&pwd, info, &mut OsRng).unwrap();
        chip.mse_set_at(&[tlv::encode(0x80, info.protocol.as_bytes()), h("830102")].concat()).unwrap();
        let (z, _) = chip.general_authenticate(&h("7C00"), chip_rng).unwrap();
        let z = find_in_7c(&z, 0x80).unwrap();
        let s = crypto::aes_cbc_decrypt(&pwd.key(PaceCipher::Aes128), &[0; 16], z).unwrap();
        (chip, s)
    }

    #[test]
    fn chip_refuses_bad_points() {
        let info = PaceInfo::sandbox();
        let curve = PaceCurve::NistP256;
        let good = curve.mul(&[7; 32], None).unwrap();
        let mut off = good.clone();
        off[64] ^= 1;
        let mut compressed = vec![0x02];
        compressed.extend_from_slice(&good[1..33]);
        let mut zero = vec![0x04];
        zero.extend_from_slice(&[0; 64]);
        for bad in [off, vec![0x00], zero, compressed, good[..64].to_vec(), [good.clone(), vec![0]].concat()] {
            // As the mapping key (step 2) …
            let (mut chip, _) = chip_after_nonce(&info, &mut OsRng);
            assert_eq!(
                chip.general_authenticate(&wrap_7c(0x81, &bad), &mut OsRng).unwrap_err(),
                StatusWord::WRONG_DATA
            );
            assert!(!chip.in_progress());
            // … and as the key-agreement key (step 3).
            let (mut chip, _) = chip_after_nonce(&info, &mut OsRng);
            chip.general_authenticate(&wrap_7c(0x81, &good), &mut OsRng).unwrap();
            assert_eq!(
                chip.general_authenticate(&wrap_7c(0x83, &bad), &mut OsRng).unwrap_err(),
                StatusWord::WRONG_DATA
            );
        }
    }

    /// 9303-11 §4.4 (key agreement): the chip refuses a terminal key equal to its own ephemeral key.
    #[test]
    fn chip_refuses_its_own_key_back() {
        let info = PaceInfo::sandbox();
        let curve = PaceCurve::NistP256;
        let sk_map_ic = [0x11u8; 32];
        let sk_dh_ic = [0x22u8; 32];
        let mut rng = Scripted(VecDeque::new());
        rng.0.extend([0x33u8; 16]); // s
        let (mut chip, s) = chip_after_nonce(&info, &mut rng);
        // Mapping: the terminal's key is fine, the chip draws sk_map_ic.
        let sk_map_ifd = [0x44u8; 32];
        let mut rng = Scripted(sk_map_ic.into_iter().collect());
        let r = chip.general_authenticate(&wrap_7c(0x81, &curve.mul(&sk_map_ifd, None).unwrap()), &mut rng).unwrap();
        let pk_map_ic = find_in_7c(&r.0, 0x82).unwrap().to_vec();
        let g_hat = curve.map(&s, &curve.mul(&sk_map_ifd, Some(&pk_map_ic)).unwrap()).unwrap();
        // Key agreement: the terminal sends exactly the key the chip is about to make.
        let echo = curve.mul(&sk_dh_ic, Some(&g_hat)).unwrap();
        let mut rng = Scripted(sk_dh_ic.into_iter().collect());
        assert_eq!(chip.general_authenticate(&wrap_7c(0x83, &echo), &mut rng).unwrap_err(), StatusWord::WRONG_DATA);
        // The same at the mapping step.
        let (mut chip, _) = chip_after_nonce(&info, &mut OsRng);
        let mut rng = Scripted(sk_map_ic.into_iter().collect());
        let echo = curve.mul(&sk_map_ic, None).unwrap();
        assert_eq!(chip.general_authenticate(&wrap_7c(0x81, &echo), &mut rng).unwrap_err(), StatusWord::WRONG_DATA);
    }

    /// The terminal refuses a chip that sends a bad point or echoes the terminal's own key.
    #[test]
    fn terminal_refuses_bad_chip_points() {
        let info = PaceInfo::sandbox();
        let pwd = || PacePassword::Can("123456".into());
        type Rewrite = fn(&[u8], Vec<u8>) -> Vec<u8>;
        let flip_step2: Rewrite = |cmd, mut raw| {
            if cmd.get(4..7) == Some(&[0x45, 0x7C, 0x43][..]) && cmd[7] == 0x81 {
                raw[60] ^= 1;
            }
            raw
        };
        let echo_step3: Rewrite = |cmd, raw| {
            if cmd.get(4..8) == Some(&[0x45, 0x7C, 0x43, 0x83][..]) {
                let mut r = cmd[5..5 + 0x45].to_vec();
                r[2] = 0x84;
                r.extend_from_slice(&[0x90, 0x00]);
                return r;
            }
            raw
        };
        let identity_step3: Rewrite = |cmd, raw| {
            if cmd.get(4..8) == Some(&[0x45, 0x7C, 0x43, 0x83][..]) {
                return h("7C0384010090 00".replace(' ', "").as_str());
            }
            raw
        };
        for (hook, want) in [(flip_step2, 2), (echo_step3, 3), (identity_step3, 3)] {
            let chip = ChipPace::new(&pwd(), &info, &mut OsRng).unwrap();
            let mut link = Link::new(chip, OsRng);
            link.hook = Some(Box::new(hook));
            match establish(&mut link, &pwd(), &info, &mut OsRng) {
                Err(PaceError::BadPoint { step }) => assert_eq!(step, want),
                other => panic!("{other:?}"),
            }
        }
        // A chip token that does not verify.
        let chip = ChipPace::new(&pwd(), &info, &mut OsRng).unwrap();
        let mut link = Link::new(chip, OsRng);
        link.hook = Some(Box::new(|cmd: &[u8], mut raw: Vec<u8>| {
            if cmd[0] == 0x00 && cmd[1] == 0x86 {
                raw[5] ^= 1;
            }
            raw
        }));
        assert!(matches!(establish(&mut link, &pwd(), &info, &mut OsRng), Err(PaceError::ChipToken)));
    }

    /// Tiny deterministic generator for the hostile-input sweep.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn bytes(&mut self, max: usize) -> Vec<u8> {
            let n = (self.next() as usize) % (max + 1);
            (0..n).map(|_| self.next() as u8).collect()
        }
    }

    #[test]
    fn malformed_7c_objects_are_refused_without_panics() {
        let info = PaceInfo::sandbox();
        let good = PaceCurve::NistP256.mul(&[9; 32], None).unwrap();
        let fixed: Vec<Vec<u8>> = vec![
            vec![],
            h("7C"),
            h("7C01"),
            h("7C0000"),
            h("7D00"),
            h("7C0381"),
            h("7C028100"),
            h("7C03810100"),
            h("7C80"),
            h("7C84FFFFFFFF"),
            h("7C837FFFFF"),
            [h("7C4381"), good.clone()].concat(),
            [h("7C45824104"), good[1..].to_vec(), h("8100")].concat(),
            [h("7C458141"), good.clone(), h("8100")].concat(),
            h("7C0A8509000000000000000000"),
            h("7C098507000000000000000000"),
            h("7C0285007C00"),
            vec![0x7C; 300],
        ];
        let mut rnd = XorShift(0x9303_0011);
        for step in 1..=4u8 {
            let mut inputs = fixed.clone();
            inputs.extend((0..500).map(|_| {
                let mut b = rnd.bytes(80);
                if let Some(first) = b.first_mut() {
                    *first = 0x7C;
                }
                b
            }));
            for input in inputs {
                let (mut chip, _) = chip_after_nonce(&info, &mut OsRng);
                if step >= 3 {
                    chip.general_authenticate(&wrap_7c(0x81, &good), &mut OsRng).unwrap();
                }
                if step == 4 {
                    chip.general_authenticate(&wrap_7c(0x83, &good), &mut OsRng).unwrap();
                }
                if step == 1 {
                    chip.mse_set_at(&[tlv::encode(0x80, info.protocol.as_bytes()), h("830102")].concat()).unwrap();
                }
                let r = chip.general_authenticate(&input, &mut OsRng);
                assert!(r.is_err(), "step {step}: {} accepted", hex::encode(&input));
                assert!(!chip.in_progress());
            }
        }
    }

    #[test]
    fn card_access_round_trips_and_skips_other_infos() {
        let infos = [
            PaceInfo::sandbox(),
            appendix_g_info(),
            PaceInfo {
                protocol: ObjectIdentifier::new_unwrap("0.4.0.127.0.7.2.2.4.6.2"),
                version: 2,
                parameter_id: None,
            },
        ];
        let der = card_access(&infos);
        let mut back = parse_card_access(&der).unwrap();
        back.sort_by_key(|i| i.protocol.as_bytes().to_vec());
        let mut want = infos.to_vec();
        want.sort_by_key(|i| i.protocol.as_bytes().to_vec());
        assert_eq!(back, want);
        assert!(back.iter().any(|i| i.suite().is_err()));
        assert_eq!(parse_card_access(&card_access(&[PaceInfo::sandbox(), PaceInfo::sandbox()])).unwrap().len(), 1);
        // A ChipAuthenticationInfo (id-CA-ECDH-AES-CBC-CMAC-128, version 1, keyId 1) and a
        // PACEDomainParameterInfo-like entry are skipped.
        let ca = h("300F060A04007F00070202030202020101");
        let dp = h("3010060904007F000702020402 3003020101".replace(' ', "").as_str());
        let pace = h("3012060A04007F0007020204020202010202010C");
        let set = [vec![0x31, (ca.len() + dp.len() + pace.len()) as u8], ca, dp, pace].concat();
        assert_eq!(parse_card_access(&set).unwrap(), vec![PaceInfo::sandbox()]);
        // Hostile files.
        assert!(matches!(parse_card_access(&[]), Err(PaceError::CardAccess(_))));
        assert!(matches!(parse_card_access(&h("3000")), Err(PaceError::CardAccess(_))));
        assert_eq!(parse_card_access(&h("3100")).unwrap(), vec![]);
        assert!(matches!(
            parse_card_access(&h("31143012060A04007F0007020204020202010202010D00")),
            Err(PaceError::CardAccess(_))
        ));
        assert!(matches!(
            parse_card_access(&h("31133012060A04007F0007020204020202010202010D")),
            Err(PaceError::CardAccess(_))
        ));
        assert!(matches!(
            parse_card_access(&vec![0x31; MAX_CARD_ACCESS_LEN + 1]),
            Err(PaceError::CardAccessTooLong { .. })
        ));
        let many: Vec<u8> = (0..40).flat_map(|_| h("300806032A0304020102")).collect();
        let many = [vec![0x31, 0x82, (many.len() >> 8) as u8, many.len() as u8], many].concat();
        assert!(matches!(parse_card_access(&many), Err(PaceError::TooManySecurityInfos { .. })));
        let mut rnd = XorShift(42);
        for _ in 0..2000 {
            let _ = parse_card_access(&rnd.bytes(64));
        }
    }

    /// Not an assertion (ARCHITECTURE.md §3.14): prints the time of one whole PACE run in memory
    /// per curve, next to one SHA-1 of 1 MiB as a yardstick measured in the same run.
    /// `cargo test -p hanko-documents --lib pace::tests::measure -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn measure() {
        let t = std::time::Instant::now();
        let mib = vec![0u8; 1 << 20];
        for _ in 0..10 {
            std::hint::black_box(Sha1::digest(&mib));
        }
        let yard = t.elapsed() / 10;
        for param in [PARAM_NIST_P256, PARAM_BRAINPOOL_P256R1] {
            let info = PaceInfo { parameter_id: Some(param), ..PaceInfo::sandbox() };
            let pwd = || PacePassword::Can("123456".into());
            let n = 20;
            let t = std::time::Instant::now();
            for _ in 0..n {
                run(&pwd(), &pwd(), &info).0.unwrap();
            }
            let per = t.elapsed() / n;
            println!(
                "PACE parameterId {param}: {per:?} per run (chip + terminal), SHA-1 of 1 MiB {yard:?} (ratio {:.1})",
                per.as_secs_f64() / yard.as_secs_f64()
            );
        }
    }

    #[test]
    fn unsupported_infos_and_secrets_do_not_print() {
        for info in [
            PaceInfo { parameter_id: Some(15), ..PaceInfo::sandbox() },
            PaceInfo { parameter_id: None, ..PaceInfo::sandbox() },
            PaceInfo { version: 1, ..PaceInfo::sandbox() },
            PaceInfo { protocol: ObjectIdentifier::new_unwrap("0.4.0.127.0.7.2.2.4.1.2"), ..PaceInfo::sandbox() },
        ] {
            assert!(matches!(info.suite(), Err(PaceError::Unsupported { .. })));
            assert!(ChipPace::new(&PacePassword::Can("1".into()), &info, &mut OsRng).is_err());
        }
        let p = PacePassword::Can("123456".into());
        assert!(!format!("{p:?}").contains("123456"));
        let chip = ChipPace::new(&p, &PaceInfo::sandbox(), &mut OsRng).unwrap();
        assert!(format!("{chip:?}").contains("elided"));
    }
}
