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
//! Keys (9303-11 §9.7.1, §9.7.3): `KDF(K, c) = SHA-1(K ‖ c)[0..16]` for AES-128 and
//! `SHA-256(K ‖ c)[0..24 | 0..32]` for AES-192/256 (`c` a 32-bit big-endian counter);
//! `Kπ = KDF(f(π), 3)` with `f(π) = SHA-1(MRZ information)` (all 20 bytes) for the MRZ and the
//! CAN's characters themselves (ISO 8859-1) for the CAN; `KSenc = KDF(K, 1)`,
//! `KSmac = KDF(K, 2)`. Tokens (9303-11 §4.4.3.4): `T = CMAC(KSmac, 7F49 {06 OID, 86 PK})[0..8]`,
//! the terminal's over the chip's `PK_DH,IC` and the chip's over the terminal's `PK_DH,IFD`.
//! Points travel uncompressed (`04 ‖ X ‖ Y`); every received point must be on the curve and
//! not the identity, and a received ephemeral key equal to one's own is refused (9303-11
//! §4.4.3.3.3: the chip SHALL check `PK_DH,IFD ≠ PK_DH,IC`; the terminal checks it too).
//!
//! Status words the chip answers (9303-11 §4.4.4.2, BSI TR-03110-3 B.11): `63 00` authentication
//! failed (the terminal's token is wrong — a wrong password — and the session is over), `6A 80`
//! incorrect data (malformed `7C`, a bad point, an unsupported algorithm in MSE:Set AT), `6A 88`
//! referenced data not found (a password the chip does not hold), `69 85` conditions of use not
//! satisfied (a step out of order or the wrong chaining bit).

use der::{
    asn1::{AnyRef, ObjectIdentifier, SetOfVec},
    Decode, Encode, Reader, Sequence, SliceReader, Tag, Tagged, ValueOrd,
};
use elliptic_curve::{
    point::AffineCoordinates, subtle::ConstantTimeEq, CurveArithmetic, CurveGroup, Field, FieldBytes,
    Group, PrimeField,
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

/// `id-PACE` = bsi-de protocols(2) smartcard(2) 4 (9303-11 §9.2.3).
pub const ID_PACE: ObjectIdentifier = ObjectIdentifier::new_unwrap("0.4.0.127.0.7.2.2.4");
/// `id-PACE-ECDH-GM-AES-CBC-CMAC-128`.
pub const ID_PACE_ECDH_GM_AES_CBC_CMAC_128: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("0.4.0.127.0.7.2.2.4.2.2");
/// `id-PACE-ECDH-GM-AES-CBC-CMAC-192`.
pub const ID_PACE_ECDH_GM_AES_CBC_CMAC_192: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("0.4.0.127.0.7.2.2.4.2.3");
/// `id-PACE-ECDH-GM-AES-CBC-CMAC-256`.
pub const ID_PACE_ECDH_GM_AES_CBC_CMAC_256: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("0.4.0.127.0.7.2.2.4.2.4");

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
/// Authentication failed (9303-11 §4.4.4.2): the terminal's token did not verify.
pub const SW_AUTHENTICATION_FAILED: StatusWord = StatusWord(0x6300);
/// Length of an authentication token (CMAC truncated to 8 bytes, 9303-11 §9.4.3? §4.4.3.4).
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
    /// The random source gave no valid scalar in [`MAX_SCALAR_TRIES`] tries.
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

    /// `KDF(K, c)` (9303-11 §9.7.1): `SHA-1(K ‖ c)[0..16]` for AES-128, `SHA-256(K ‖ c)` cut to
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

    /// `k·B` (uncompressed), `B` the curve's generator when `base` is `None`, else the point
    /// given (checked on the curve). `None` when `k` is not a scalar, `base` is not a point or
    /// the product is the identity.
    fn mul(self, k: &[u8], base: Option<&[u8]>) -> Option<Vec<u8>> {
        match self {
            PaceCurve::NistP256 => ec_mul::<p256::NistP256>(k, base),
            PaceCurve::BrainpoolP256r1 => ec_mul::<bp256::BrainpoolP256r1>(k, base),
        }
    }

    /// The Generic Mapping `G' = s·G + H` (9303-11 §4.4.3.3.2); `None` when the result is the
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

/// `PACEInfo` (9303-11 §9.2.1), one of EF.CardAccess's SecurityInfos:
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

/// EF.CardAccess (9303-10 §3.11.3, 9303-11 §9.2): `SecurityInfos ::= SET OF SecurityInfo`, here
/// holding the PACEInfos given (DER: the SET OF sorted, duplicates dropped).
pub fn card_access(infos: &[PaceInfo]) -> Vec<u8> {
    let mut set = SetOfVec::new();
    for i in infos {
        let der = PaceInfoDer { protocol: i.protocol, version: i.version, parameter_id: i.parameter_id };
        // `insert` refuses a duplicate; a duplicate PACEInfo says nothing new.
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

/// The password PACE runs on (9303-11 §4.4.1; the CAN or the MRZ printed on the data page).
pub enum PacePassword {
    /// The MRZ information, as for BAC: document number (9, `<`-padded) + check digit + birth
    /// date + check digit + expiry date + check digit (24 characters).
    Mrz(String),
    /// The Card Access Number (digits).
    Can(String),
}

impl PacePassword {
    /// The password reference of MSE:Set AT tag `83` (9303-11 §4.4.4.1): `01` MRZ, `02` CAN.
    pub fn reference(&self) -> u8 {
        match self {
            PacePassword::Mrz(_) => 0x01,
            PacePassword::Can(_) => 0x02,
        }
    }

    /// `Kπ = KDF(f(π), 3)` (9303-11 §9.7.3): `f(π)` = `SHA-1(MRZ information)` (20 bytes) or the
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
/// (9303-11 §4.4.3.4, §9.4.? "Public key data objects", ECDH: `86` the uncompressed point).
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
    password_ref: u8,
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
        let _ = rng;
        let suite = info.suite()?;
        Ok(ChipPace {
            protocol: info.protocol,
            parameter_id: info.parameter_id,
            suite,
            password_ref: password.reference(),
            kpi: password.key(suite.cipher),
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
    /// password reference (must be the one this chip holds: else `6A 88`), optional `84` the
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
        match pwd {
            Some([r]) if *r == self.password_ref => {}
            Some([0x01..=0x04]) => return Err(StatusWord::DATA_NOT_FOUND),
            _ => return Err(StatusWord::WRONG_DATA),
        }
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
                // 9303-11 §4.4.3.3.3: the chip SHALL check that PK_DH,IFD ≠ PK_DH,IC.
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
    /// set for steps 1–3 (`10 86`) and clear for step 4 (`00 86`) (9303-11 §4.4.4.2); otherwise
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

