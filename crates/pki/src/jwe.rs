//! JSON Web Encryption (RFC 7516, compact serialization) with the algorithms of RFC 7518.
//!
//! The authentication app service returns a sign result as a JWE addressed to a key the relying
//! party registered — in practice its platform operator's (shared/spec/30-auth-app-api.md §6, §8).
//! The platform decrypts it with [`JweDecryptionKey::decrypt`]; the identity provider encrypts
//! to the platform's published JWK with [`encrypt`].
//!
//! A thin layer over aws-lc (the trust core's only crypto library): RSA-OAEP with SHA-1
//! (`RSA-OAEP`) or SHA-256 (`RSA-OAEP-256`) wraps the content key; AES-GCM (`A128GCM`,
//! `A192GCM`, `A256GCM`) or AES-CBC + HMAC-SHA2 (`A128CBC-HS256`, `A192CBC-HS384`,
//! `A256CBC-HS512`) encrypts the content. `RSA1_5`, `dir`, key wrapping and `zip` are refused.
//!
//! Hostile input is bounded before any work: the token length ([`JwePolicy::max_token_len`]),
//! the protected header ([`MAX_HEADER_LEN`]), the `alg`/`enc` allow-list of the caller's
//! [`JwePolicy`] (checked before the RSA private-key operation), no `crit` extension, no
//! compression.

use aws_lc_rs::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::cipher::{
    DecryptionContext, EncryptionContext, PaddedBlockDecryptingKey, PaddedBlockEncryptingKey, UnboundCipherKey,
};
use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::iv::FixedLength;
use aws_lc_rs::rsa::{
    KeySize, OaepAlgorithm, OaepPrivateDecryptingKey, OaepPublicEncryptingKey, PrivateDecryptingKey,
    PublicEncryptingKey, OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256,
};
use aws_lc_rs::{constant_time, digest, hmac};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use der::asn1::{BitString, UintRef};
use der::{Decode, Encode, Reader, SliceReader};
use rand_core::CryptoRngCore;
use serde_json::{Map, Value};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef};
use zeroize::Zeroizing;

use crate::{oid, MIN_RSA_BITS};

/// Default longest compact token [`JwePolicy::default`] accepts (64 KiB: a sign result carries
/// a signature, a certificate and at most the 4 facts).
pub const DEFAULT_MAX_TOKEN_LEN: usize = 64 * 1024;
/// Largest decoded protected header, in bytes.
pub const MAX_HEADER_LEN: usize = 4096;
/// Largest RSA key accepted for either side, in bits.
pub const MAX_RSA_BITS: usize = 8192;

/// Key management algorithm (`alg`, RFC 7518 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyAlgorithm {
    /// `RSA-OAEP`: RSAES-OAEP with SHA-1 and MGF1-SHA-1.
    RsaOaep,
    /// `RSA-OAEP-256`: RSAES-OAEP with SHA-256 and MGF1-SHA-256 (the default).
    RsaOaep256,
}

impl KeyAlgorithm {
    /// Every supported value.
    pub const ALL: [KeyAlgorithm; 2] = [KeyAlgorithm::RsaOaep, KeyAlgorithm::RsaOaep256];

    /// The `alg` header value.
    pub fn name(self) -> &'static str {
        match self {
            KeyAlgorithm::RsaOaep => "RSA-OAEP",
            KeyAlgorithm::RsaOaep256 => "RSA-OAEP-256",
        }
    }

    /// From an `alg` header value.
    pub fn from_name(name: &str) -> Option<KeyAlgorithm> {
        KeyAlgorithm::ALL.into_iter().find(|a| a.name() == name)
    }

    fn oaep(self) -> &'static OaepAlgorithm {
        match self {
            KeyAlgorithm::RsaOaep => &OAEP_SHA1_MGF1SHA1,
            KeyAlgorithm::RsaOaep256 => &OAEP_SHA256_MGF1SHA256,
        }
    }
}

/// Content encryption algorithm (`enc`, RFC 7518 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContentAlgorithm {
    /// `A128CBC-HS256`.
    A128CbcHs256,
    /// `A192CBC-HS384`.
    A192CbcHs384,
    /// `A256CBC-HS512`.
    A256CbcHs512,
    /// `A128GCM`.
    A128Gcm,
    /// `A192GCM`.
    A192Gcm,
    /// `A256GCM` (the default).
    A256Gcm,
}

impl ContentAlgorithm {
    /// Every supported value.
    pub const ALL: [ContentAlgorithm; 6] = [
        ContentAlgorithm::A128CbcHs256,
        ContentAlgorithm::A192CbcHs384,
        ContentAlgorithm::A256CbcHs512,
        ContentAlgorithm::A128Gcm,
        ContentAlgorithm::A192Gcm,
        ContentAlgorithm::A256Gcm,
    ];

    /// The `enc` header value.
    pub fn name(self) -> &'static str {
        match self {
            ContentAlgorithm::A128CbcHs256 => "A128CBC-HS256",
            ContentAlgorithm::A192CbcHs384 => "A192CBC-HS384",
            ContentAlgorithm::A256CbcHs512 => "A256CBC-HS512",
            ContentAlgorithm::A128Gcm => "A128GCM",
            ContentAlgorithm::A192Gcm => "A192GCM",
            ContentAlgorithm::A256Gcm => "A256GCM",
        }
    }

    /// From an `enc` header value.
    pub fn from_name(name: &str) -> Option<ContentAlgorithm> {
        ContentAlgorithm::ALL.into_iter().find(|a| a.name() == name)
    }

    /// Length of the content encryption key, in bytes.
    pub fn key_len(self) -> usize {
        match self {
            ContentAlgorithm::A128CbcHs256 => 32,
            ContentAlgorithm::A192CbcHs384 => 48,
            ContentAlgorithm::A256CbcHs512 => 64,
            ContentAlgorithm::A128Gcm => 16,
            ContentAlgorithm::A192Gcm => 24,
            ContentAlgorithm::A256Gcm => 32,
        }
    }

    fn iv_len(self) -> usize {
        if self.is_gcm() {
            12
        } else {
            16
        }
    }

    fn tag_len(self) -> usize {
        match self {
            ContentAlgorithm::A128CbcHs256 => 16,
            ContentAlgorithm::A192CbcHs384 => 24,
            ContentAlgorithm::A256CbcHs512 => 32,
            _ => 16,
        }
    }

    fn is_gcm(self) -> bool {
        matches!(self, ContentAlgorithm::A128Gcm | ContentAlgorithm::A192Gcm | ContentAlgorithm::A256Gcm)
    }
}

/// What a caller accepts: the `alg` and `enc` allow-lists and the longest token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwePolicy {
    /// Accepted `alg` values.
    pub key_algorithms: Vec<KeyAlgorithm>,
    /// Accepted `enc` values.
    pub content_algorithms: Vec<ContentAlgorithm>,
    /// Longest compact serialization accepted, in bytes.
    pub max_token_len: usize,
}

impl Default for JwePolicy {
    /// `RSA-OAEP-256` + `A256GCM`, tokens up to [`DEFAULT_MAX_TOKEN_LEN`].
    fn default() -> Self {
        JwePolicy {
            key_algorithms: vec![KeyAlgorithm::RsaOaep256],
            content_algorithms: vec![ContentAlgorithm::A256Gcm],
            max_token_len: DEFAULT_MAX_TOKEN_LEN,
        }
    }
}

impl JwePolicy {
    /// A policy from `alg` and `enc` names (as in a configuration file); an unknown name is an
    /// error naming it.
    pub fn from_names<A: AsRef<str>, E: AsRef<str>>(algs: &[A], encs: &[E]) -> Result<JwePolicy, JweError> {
        let key_algorithms = algs
            .iter()
            .map(|a| KeyAlgorithm::from_name(a.as_ref()).ok_or_else(|| JweError::UnsupportedAlg(a.as_ref().to_owned())))
            .collect::<Result<Vec<_>, _>>()?;
        let content_algorithms = encs
            .iter()
            .map(|e| {
                ContentAlgorithm::from_name(e.as_ref()).ok_or_else(|| JweError::UnsupportedEnc(e.as_ref().to_owned()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if key_algorithms.is_empty() || content_algorithms.is_empty() {
            return Err(JweError::EmptyPolicy);
        }
        Ok(JwePolicy { key_algorithms, content_algorithms, max_token_len: DEFAULT_MAX_TOKEN_LEN })
    }
}

/// Why a JWE was refused or could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JweError {
    /// Longer than the policy's `max_token_len`.
    #[error("JWE is {len} bytes, more than the {max} accepted")]
    TooLong {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Not five base64url parts, bad base64url, or a header that is not a JSON object.
    #[error("not a JWE in compact serialization: {0}")]
    Malformed(String),
    /// The protected header exceeds [`MAX_HEADER_LEN`].
    #[error("JWE protected header is {len} bytes, more than the {max} accepted")]
    HeaderTooLarge {
        /// Its decoded length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// An `alg` hanko does not implement (`RSA1_5`, `dir`, key wrapping …).
    #[error("JWE key algorithm {0:?} is not supported")]
    UnsupportedAlg(String),
    /// An `enc` hanko does not implement.
    #[error("JWE content encryption {0:?} is not supported")]
    UnsupportedEnc(String),
    /// A known `alg` the caller's policy does not accept.
    #[error("JWE key algorithm {0} is not accepted here")]
    AlgNotAllowed(&'static str),
    /// A known `enc` the caller's policy does not accept.
    #[error("JWE content encryption {0} is not accepted here")]
    EncNotAllowed(&'static str),
    /// A policy with an empty allow-list.
    #[error("a JWE policy needs at least one alg and one enc")]
    EmptyPolicy,
    /// `zip` is set: compressed plaintext is refused (decompression bombs).
    #[error("compressed JWE (zip {0:?}) is refused")]
    Compressed(String),
    /// `crit` names extensions this implementation cannot honour.
    #[error("JWE header has critical extensions {0:?}, none is understood")]
    Critical(String),
    /// The header's `kid` names another key.
    #[error("JWE is addressed to key {found:?}, not to this key ({expected})")]
    OtherKeyId {
        /// The header's `kid`.
        found: String,
        /// This key's id.
        expected: String,
    },
    /// The encrypted key does not decrypt with this private key: the JWE is for another
    /// recipient (or its key part was altered).
    #[error("JWE content key does not decrypt with this key: it is addressed to another recipient or was altered")]
    NotForThisKey,
    /// The authentication tag does not verify: ciphertext, IV, tag or header were altered.
    #[error("JWE authentication failed: the ciphertext, IV, tag or header was altered")]
    Tampered,
    /// A key was unusable (wrong type, too small or too large, malformed).
    #[error("JWE key rejected: {0}")]
    Key(String),
    /// The crypto library failed.
    #[error("JWE encryption failed: {0}")]
    Crypto(String),
}

/// A decrypted JWE: its protected header and plaintext (zeroised on drop — it may carry the
/// 4 facts or a My Number).
pub struct Decrypted {
    /// The `alg` used.
    pub key_algorithm: KeyAlgorithm,
    /// The `enc` used.
    pub content_algorithm: ContentAlgorithm,
    /// The whole protected header.
    pub header: Map<String, Value>,
    /// The plaintext.
    pub plaintext: Zeroizing<Vec<u8>>,
}

impl core::fmt::Debug for Decrypted {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Decrypted")
            .field("alg", &self.key_algorithm.name())
            .field("enc", &self.content_algorithm.name())
            .field("plaintext", &format_args!("[{} bytes elided]", self.plaintext.len()))
            .finish()
    }
}

/// An RSA public key a JWE is encrypted to (the recipient's JWK or SPKI).
#[derive(Clone)]
pub struct JweEncryptionKey {
    key: PublicEncryptingKey,
    n: Vec<u8>,
    e: Vec<u8>,
    kid: String,
}

impl core::fmt::Debug for JweEncryptionKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "JweEncryptionKey(RSA-{}, kid {})", self.key.key_size_bits(), self.kid)
    }
}

impl JweEncryptionKey {
    /// From DER `SubjectPublicKeyInfo` (rsaEncryption); `kid` is the RFC 7638 thumbprint.
    pub fn from_spki_der(der: &[u8]) -> Result<JweEncryptionKey, JweError> {
        let (n, e) = rsa_components(der)?;
        let key = PublicEncryptingKey::from_der(der).map_err(|e| JweError::Key(e.to_string()))?;
        check_bits(key.key_size_bits())?;
        let kid = thumbprint(&n, &e);
        Ok(JweEncryptionKey { key, n, e, kid })
    }

    /// From a JWK (`kty` `RSA`, `n`, `e`); keeps its `kid` if it has one, else the RFC 7638
    /// thumbprint.
    pub fn from_jwk(jwk: &str) -> Result<JweEncryptionKey, JweError> {
        if jwk.len() > 16 * 1024 {
            return Err(JweError::Key("JWK longer than 16 KiB".into()));
        }
        let value: Map<String, Value> = serde_json::from_str(jwk).map_err(|e| JweError::Key(format!("JWK: {e}")))?;
        let field = |name: &str| value.get(name).and_then(Value::as_str);
        if field("kty") != Some("RSA") {
            return Err(JweError::Key("JWK kty is not RSA".into()));
        }
        if let Some(u) = field("use") {
            if u != "enc" {
                return Err(JweError::Key(format!("JWK use is {u:?}, not enc")));
            }
        }
        let decode = |name: &str| -> Result<Vec<u8>, JweError> {
            let s = field(name).ok_or_else(|| JweError::Key(format!("JWK has no {name}")))?;
            let bytes = URL_SAFE_NO_PAD.decode(s).map_err(|e| JweError::Key(format!("JWK {name}: {e}")))?;
            Ok(strip_zeros(&bytes).to_vec())
        };
        let (n, e) = (decode("n")?, decode("e")?);
        let rsa = RsaPublicKeyAsn1 { n: &n, e: &e }.to_der()?;
        let spki = SubjectPublicKeyInfoOwned {
            algorithm: AlgorithmIdentifierOwned { oid: oid::RSA_ENCRYPTION, parameters: Some(der::Any::null()) },
            subject_public_key: BitString::from_bytes(&rsa).map_err(|e| JweError::Key(e.to_string()))?,
        }
        .to_der()
        .map_err(|e| JweError::Key(e.to_string()))?;
        let mut key = JweEncryptionKey::from_spki_der(&spki)?;
        if let Some(kid) = field("kid") {
            key.kid = kid.to_owned();
        }
        Ok(key)
    }

    /// The key id put in the header of what [`encrypt`] makes.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public JWK (`kty`, `n`, `e`, `use` `enc`, `alg`, `kid`) as a JSON object.
    pub fn jwk(&self, alg: KeyAlgorithm) -> Value {
        serde_json::json!({
            "kty": "RSA",
            "use": "enc",
            "alg": alg.name(),
            "kid": self.kid,
            "n": URL_SAFE_NO_PAD.encode(&self.n),
            "e": URL_SAFE_NO_PAD.encode(&self.e),
        })
    }
}

/// The RSA private key a platform decrypts JWEs with.
pub struct JweDecryptionKey {
    raw: PrivateDecryptingKey,
    key: OaepPrivateDecryptingKey,
    public: JweEncryptionKey,
}

impl core::fmt::Debug for JweDecryptionKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "JweDecryptionKey(RSA-{}, kid {}, [elided])", self.key.key_size_bits(), self.public.kid)
    }
}

impl JweDecryptionKey {
    /// Generates a fresh RSA-2048 key with aws-lc's own DRBG.
    pub fn generate_rsa2048() -> Result<JweDecryptionKey, JweError> {
        let key = PrivateDecryptingKey::generate(KeySize::Rsa2048).map_err(|e| JweError::Crypto(e.to_string()))?;
        JweDecryptionKey::from_key(key)
    }

    /// Loads an RSA key from PKCS#8 DER.
    pub fn from_pkcs8(der: &[u8]) -> Result<JweDecryptionKey, JweError> {
        let key = PrivateDecryptingKey::from_pkcs8(der).map_err(|e| JweError::Key(e.to_string()))?;
        JweDecryptionKey::from_key(key)
    }

    fn from_key(key: PrivateDecryptingKey) -> Result<JweDecryptionKey, JweError> {
        check_bits(key.key_size_bits())?;
        let spki = AsDer::<PublicKeyX509Der>::as_der(&key.public_key()).map_err(|e| JweError::Crypto(e.to_string()))?;
        let public = JweEncryptionKey::from_spki_der(spki.as_ref())?;
        let raw = key.clone();
        let key = OaepPrivateDecryptingKey::new(key).map_err(|e| JweError::Key(e.to_string()))?;
        Ok(JweDecryptionKey { raw, key, public })
    }

    /// The key as PKCS#8 DER, zeroised when dropped. Only the key store should call this.
    pub fn to_pkcs8(&self) -> Result<Zeroizing<Vec<u8>>, JweError> {
        let der = AsDer::<Pkcs8V1Der>::as_der(&self.raw).map_err(|e| JweError::Crypto(e.to_string()))?;
        Ok(Zeroizing::new(der.as_ref().to_vec()))
    }

    /// The public half, to publish (as [`JweEncryptionKey::jwk`]) or to encrypt to.
    pub fn public_key(&self) -> &JweEncryptionKey {
        &self.public
    }

    /// Decrypts a compact JWE addressed to this key, under `policy`.
    ///
    /// The order of checks: length, shape, header (size, JSON, `zip`, `crit`, `alg`/`enc`
    /// against `policy`, `kid`), then the RSA operation, then the authentication tag.
    pub fn decrypt(&self, token: &str, policy: &JwePolicy) -> Result<Decrypted, JweError> {
        let parts = split(token, policy.max_token_len)?;
        let (header, alg, enc) = parse_header(parts[0], policy)?;
        if let Some(kid) = header.get("kid") {
            let kid = kid.as_str().ok_or_else(|| JweError::Malformed("kid is not a string".into()))?;
            if kid != self.public.kid {
                return Err(JweError::OtherKeyId { found: truncate(kid), expected: self.public.kid.clone() });
            }
        }
        let encrypted_key = b64(parts[1], "encrypted key")?;
        let iv = b64(parts[2], "IV")?;
        let ciphertext = b64(parts[3], "ciphertext")?;
        let tag = b64(parts[4], "tag")?;
        if encrypted_key.len() != self.key.key_size_bytes() {
            return Err(JweError::NotForThisKey);
        }
        if iv.len() != enc.iv_len() {
            return Err(JweError::Malformed(format!(
                "{} needs a {}-byte IV, got {}",
                enc.name(),
                enc.iv_len(),
                iv.len()
            )));
        }
        if tag.len() != enc.tag_len() {
            return Err(JweError::Malformed(format!(
                "{} needs a {}-byte tag, got {}",
                enc.name(),
                enc.tag_len(),
                tag.len()
            )));
        }
        let mut cek = Zeroizing::new(vec![0u8; self.key.min_output_size()]);
        let cek_len =
            self.key.decrypt(alg.oaep(), &encrypted_key, &mut cek, None).map_err(|_| JweError::NotForThisKey)?.len();
        if cek_len != enc.key_len() {
            // A key of the wrong length for `enc`: same answer as a failed unwrap (RFC 7516 §11.5).
            return Err(JweError::NotForThisKey);
        }
        let plaintext = open(enc, &cek[..cek_len], &iv, parts[0].as_bytes(), ciphertext, &tag)?;
        Ok(Decrypted { key_algorithm: alg, content_algorithm: enc, header, plaintext })
    }
}

/// Encrypts `plaintext` to `recipient` as a compact JWE with `alg` and `enc`; `extra_header`
/// members (such as `cty` or `typ`) join `alg`, `enc` and `kid` in the protected header. The
/// content key and IV come from `rng`; the OAEP seed from aws-lc's DRBG.
pub fn encrypt(
    plaintext: &[u8],
    recipient: &JweEncryptionKey,
    alg: KeyAlgorithm,
    enc: ContentAlgorithm,
    extra_header: &Map<String, Value>,
    rng: &mut impl CryptoRngCore,
) -> Result<String, JweError> {
    let mut header = extra_header.clone();
    header.insert("alg".into(), alg.name().into());
    header.insert("enc".into(), enc.name().into());
    header.insert("kid".into(), recipient.kid.clone().into());
    if header.contains_key("zip") || header.contains_key("crit") {
        return Err(JweError::Crypto("zip and crit are not produced".into()));
    }
    let header_json = serde_json::to_vec(&header).map_err(|e| JweError::Crypto(e.to_string()))?;
    if header_json.len() > MAX_HEADER_LEN {
        return Err(JweError::HeaderTooLarge { len: header_json.len(), max: MAX_HEADER_LEN });
    }
    let header_b64 = URL_SAFE_NO_PAD.encode(&header_json);

    let mut cek = Zeroizing::new(vec![0u8; enc.key_len()]);
    rng.fill_bytes(&mut cek);
    let mut iv = vec![0u8; enc.iv_len()];
    rng.fill_bytes(&mut iv);

    let oaep = OaepPublicEncryptingKey::new(recipient.key.clone()).map_err(|e| JweError::Key(e.to_string()))?;
    let mut encrypted_key = vec![0u8; oaep.ciphertext_size()];
    let encrypted_key =
        oaep.encrypt(alg.oaep(), &cek, &mut encrypted_key, None).map_err(|e| JweError::Crypto(e.to_string()))?.to_vec();

    let (ciphertext, tag) = seal(enc, &cek, &iv, header_b64.as_bytes(), plaintext)?;
    Ok(format!(
        "{header_b64}.{}.{}.{}.{}",
        URL_SAFE_NO_PAD.encode(encrypted_key),
        URL_SAFE_NO_PAD.encode(iv),
        URL_SAFE_NO_PAD.encode(ciphertext),
        URL_SAFE_NO_PAD.encode(tag)
    ))
}

/// The `alg` and `enc` of a compact JWE, without decrypting it (for error messages and logs).
pub fn peek_header(token: &str, max_token_len: usize) -> Result<Map<String, Value>, JweError> {
    let parts = split(token, max_token_len)?;
    decode_header(parts[0])
}

fn split(token: &str, max: usize) -> Result<[&str; 5], JweError> {
    if token.len() > max {
        return Err(JweError::TooLong { len: token.len(), max });
    }
    let mut parts = token.split('.');
    let mut out = [""; 5];
    for slot in out.iter_mut() {
        *slot = parts
            .next()
            .ok_or_else(|| JweError::Malformed(format!("{} parts, a compact JWE has 5", token.split('.').count())))?;
    }
    if parts.next().is_some() {
        return Err(JweError::Malformed(format!("{} parts, a compact JWE has 5", token.split('.').count())));
    }
    Ok(out)
}

fn b64(part: &str, what: &str) -> Result<Vec<u8>, JweError> {
    URL_SAFE_NO_PAD.decode(part).map_err(|e| JweError::Malformed(format!("{what}: {e}")))
}

fn decode_header(part: &str) -> Result<Map<String, Value>, JweError> {
    // base64url grows 3 bytes to 4 characters: bound before decoding.
    if part.len() > MAX_HEADER_LEN / 3 * 4 + 4 {
        return Err(JweError::HeaderTooLarge { len: part.len() / 4 * 3, max: MAX_HEADER_LEN });
    }
    let bytes = b64(part, "protected header")?;
    if bytes.len() > MAX_HEADER_LEN {
        return Err(JweError::HeaderTooLarge { len: bytes.len(), max: MAX_HEADER_LEN });
    }
    serde_json::from_slice::<Map<String, Value>>(&bytes)
        .map_err(|e| JweError::Malformed(format!("protected header is not a JSON object: {e}")))
}

fn parse_header(
    part: &str,
    policy: &JwePolicy,
) -> Result<(Map<String, Value>, KeyAlgorithm, ContentAlgorithm), JweError> {
    let header = decode_header(part)?;
    let string = |name: &str| -> Result<&str, JweError> {
        header
            .get(name)
            .ok_or_else(|| JweError::Malformed(format!("protected header has no {name}")))?
            .as_str()
            .ok_or_else(|| JweError::Malformed(format!("{name} is not a string")))
    };
    if let Some(zip) = header.get("zip") {
        return Err(JweError::Compressed(truncate(&zip.to_string())));
    }
    if let Some(crit) = header.get("crit") {
        return Err(JweError::Critical(truncate(&crit.to_string())));
    }
    let alg_name = string("alg")?;
    let alg = KeyAlgorithm::from_name(alg_name).ok_or_else(|| JweError::UnsupportedAlg(truncate(alg_name)))?;
    let enc_name = string("enc")?;
    let enc = ContentAlgorithm::from_name(enc_name).ok_or_else(|| JweError::UnsupportedEnc(truncate(enc_name)))?;
    if !policy.key_algorithms.contains(&alg) {
        return Err(JweError::AlgNotAllowed(alg.name()));
    }
    if !policy.content_algorithms.contains(&enc) {
        return Err(JweError::EncNotAllowed(enc.name()));
    }
    Ok((header, alg, enc))
}

/// Error messages quote attacker-chosen header values: at most 64 characters of them.
fn truncate(s: &str) -> String {
    s.chars().take(64).collect()
}

fn open(
    enc: ContentAlgorithm,
    cek: &[u8],
    iv: &[u8],
    aad: &[u8],
    mut ciphertext: Vec<u8>,
    tag: &[u8],
) -> Result<Zeroizing<Vec<u8>>, JweError> {
    if enc.is_gcm() {
        let key = gcm_key(enc, cek)?;
        let nonce = Nonce::try_assume_unique_for_key(iv).map_err(|_| JweError::Malformed("bad IV".into()))?;
        ciphertext.extend_from_slice(tag);
        let len = key.open_in_place(nonce, Aad::from(aad), &mut ciphertext).map_err(|_| JweError::Tampered)?.len();
        ciphertext.truncate(len);
        return Ok(Zeroizing::new(ciphertext));
    }
    let (mac_key, enc_key) = cek.split_at(cek.len() / 2);
    let expected = cbc_hmac_tag(enc, mac_key, aad, iv, &ciphertext);
    constant_time::verify_slices_are_equal(&expected, tag).map_err(|_| JweError::Tampered)?;
    let key = UnboundCipherKey::new(aes_cipher(enc), enc_key).map_err(|e| JweError::Crypto(e.to_string()))?;
    let key = PaddedBlockDecryptingKey::cbc_pkcs7(key).map_err(|e| JweError::Crypto(e.to_string()))?;
    let iv: FixedLength<16> = iv.try_into().map_err(|_| JweError::Malformed("bad IV".into()))?;
    // Authenticated above: a padding failure here means the sender encrypted garbage.
    let len = key
        .decrypt(&mut ciphertext, DecryptionContext::Iv128(iv))
        .map_err(|_| JweError::Malformed("bad CBC padding under a valid tag".into()))?
        .len();
    ciphertext.truncate(len);
    Ok(Zeroizing::new(ciphertext))
}

fn seal(
    enc: ContentAlgorithm,
    cek: &[u8],
    iv: &[u8],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<(Vec<u8>, Vec<u8>), JweError> {
    let mut buf = plaintext.to_vec();
    if enc.is_gcm() {
        let key = gcm_key(enc, cek)?;
        let nonce = Nonce::try_assume_unique_for_key(iv).map_err(|e| JweError::Crypto(e.to_string()))?;
        let tag = key
            .seal_in_place_separate_tag(nonce, Aad::from(aad), &mut buf)
            .map_err(|e| JweError::Crypto(e.to_string()))?;
        return Ok((buf, tag.as_ref().to_vec()));
    }
    let (mac_key, enc_key) = cek.split_at(cek.len() / 2);
    let key = UnboundCipherKey::new(aes_cipher(enc), enc_key).map_err(|e| JweError::Crypto(e.to_string()))?;
    let key = PaddedBlockEncryptingKey::cbc_pkcs7(key).map_err(|e| JweError::Crypto(e.to_string()))?;
    let iv16: FixedLength<16> =
        iv.try_into().map_err(|e: aws_lc_rs::error::Unspecified| JweError::Crypto(e.to_string()))?;
    key.less_safe_encrypt(&mut buf, EncryptionContext::Iv128(iv16)).map_err(|e| JweError::Crypto(e.to_string()))?;
    let tag = cbc_hmac_tag(enc, mac_key, aad, iv, &buf);
    Ok((buf, tag))
}

fn gcm_key(enc: ContentAlgorithm, cek: &[u8]) -> Result<LessSafeKey, JweError> {
    let algorithm = match enc {
        ContentAlgorithm::A128Gcm => &aead::AES_128_GCM,
        ContentAlgorithm::A192Gcm => &aead::AES_192_GCM,
        _ => &aead::AES_256_GCM,
    };
    Ok(LessSafeKey::new(UnboundKey::new(algorithm, cek).map_err(|e| JweError::Crypto(e.to_string()))?))
}

fn aes_cipher(enc: ContentAlgorithm) -> &'static aws_lc_rs::cipher::Algorithm {
    match enc {
        ContentAlgorithm::A128CbcHs256 => &aws_lc_rs::cipher::AES_128,
        ContentAlgorithm::A192CbcHs384 => &aws_lc_rs::cipher::AES_192,
        _ => &aws_lc_rs::cipher::AES_256,
    }
}

/// RFC 7518 §5.2.2.1: HMAC over AAD || IV || ciphertext || AAD length in bits (64-bit BE),
/// truncated to half.
fn cbc_hmac_tag(enc: ContentAlgorithm, mac_key: &[u8], aad: &[u8], iv: &[u8], ciphertext: &[u8]) -> Vec<u8> {
    let algorithm = match enc {
        ContentAlgorithm::A128CbcHs256 => hmac::HMAC_SHA256,
        ContentAlgorithm::A192CbcHs384 => hmac::HMAC_SHA384,
        _ => hmac::HMAC_SHA512,
    };
    let key = hmac::Key::new(algorithm, mac_key);
    let mut ctx = hmac::Context::with_key(&key);
    ctx.update(aad);
    ctx.update(iv);
    ctx.update(ciphertext);
    ctx.update(&((aad.len() as u64) * 8).to_be_bytes());
    let full = ctx.sign();
    full.as_ref()[..enc.tag_len()].to_vec()
}

fn check_bits(bits: usize) -> Result<(), JweError> {
    if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
        return Err(JweError::Key(format!("RSA-{bits}: {MIN_RSA_BITS} to {MAX_RSA_BITS} bits accepted")));
    }
    Ok(())
}

fn strip_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

/// `n` and `e` (unsigned big-endian, no leading zeros) of a DER rsaEncryption SPKI.
fn rsa_components(spki_der: &[u8]) -> Result<(Vec<u8>, Vec<u8>), JweError> {
    let spki = SubjectPublicKeyInfoRef::from_der(spki_der).map_err(|e| JweError::Key(e.to_string()))?;
    if spki.algorithm.oid != oid::RSA_ENCRYPTION {
        return Err(JweError::Key(format!("public key algorithm {} is not rsaEncryption", spki.algorithm.oid)));
    }
    let bits = spki.subject_public_key.as_bytes().ok_or_else(|| JweError::Key("unaligned key bit string".into()))?;
    let mut reader = SliceReader::new(bits).map_err(|e| JweError::Key(e.to_string()))?;
    let (n, e) = reader
        .sequence(|r| Ok((UintRef::decode(r)?.as_bytes().to_vec(), UintRef::decode(r)?.as_bytes().to_vec())))
        .map_err(|e| JweError::Key(e.to_string()))?;
    Ok((strip_zeros(&n).to_vec(), strip_zeros(&e).to_vec()))
}

struct RsaPublicKeyAsn1<'a> {
    n: &'a [u8],
    e: &'a [u8],
}

impl RsaPublicKeyAsn1<'_> {
    fn to_der(&self) -> Result<Vec<u8>, JweError> {
        let n = UintRef::new(self.n).map_err(|e| JweError::Key(e.to_string()))?;
        let e = UintRef::new(self.e).map_err(|e| JweError::Key(e.to_string()))?;
        let body_len = (n.encoded_len().map_err(|e| JweError::Key(e.to_string()))?
            + e.encoded_len().map_err(|e| JweError::Key(e.to_string()))?)
        .map_err(|e| JweError::Key(e.to_string()))?;
        let mut out = Vec::new();
        der::Header::new(der::Tag::Sequence, body_len)
            .and_then(|h| h.encode_to_vec(&mut out))
            .and_then(|_| n.encode_to_vec(&mut out))
            .and_then(|_| e.encode_to_vec(&mut out))
            .map_err(|e| JweError::Key(e.to_string()))?;
        Ok(out)
    }
}

/// RFC 7638 JWK thumbprint (SHA-256, base64url) of an RSA key.
fn thumbprint(n: &[u8], e: &[u8]) -> String {
    let canonical =
        format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, URL_SAFE_NO_PAD.encode(e), URL_SAFE_NO_PAD.encode(n));
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, canonical.as_bytes()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use rand_core::OsRng;

    use super::*;

    fn key() -> &'static JweDecryptionKey {
        static KEY: std::sync::OnceLock<JweDecryptionKey> = std::sync::OnceLock::new();
        KEY.get_or_init(|| JweDecryptionKey::generate_rsa2048().unwrap())
    }

    fn everything() -> JwePolicy {
        JwePolicy {
            key_algorithms: KeyAlgorithm::ALL.to_vec(),
            content_algorithms: ContentAlgorithm::ALL.to_vec(),
            max_token_len: DEFAULT_MAX_TOKEN_LEN,
        }
    }

    fn seal_to(key: &JweDecryptionKey, alg: KeyAlgorithm, enc: ContentAlgorithm, plaintext: &[u8]) -> String {
        encrypt(plaintext, key.public_key(), alg, enc, &Map::new(), &mut OsRng).unwrap()
    }

    #[test]
    fn every_alg_and_enc_round_trips() {
        for alg in KeyAlgorithm::ALL {
            for enc in ContentAlgorithm::ALL {
                for plaintext in [&b""[..], b"x", b"sixteen bytes!!!", &[7u8; 1000]] {
                    let token = seal_to(key(), alg, enc, plaintext);
                    let out = key().decrypt(&token, &everything()).unwrap();
                    assert_eq!(&out.plaintext[..], plaintext, "{} {}", alg.name(), enc.name());
                    assert_eq!((out.key_algorithm, out.content_algorithm), (alg, enc));
                    assert_eq!(out.header["kid"], key().public_key().kid());
                }
            }
        }
    }

    #[test]
    fn default_policy_is_rsa_oaep_256_with_a256gcm_only() {
        let policy = JwePolicy::default();
        let ok = seal_to(key(), KeyAlgorithm::RsaOaep256, ContentAlgorithm::A256Gcm, b"ok");
        assert!(key().decrypt(&ok, &policy).is_ok());
        let sha1 = seal_to(key(), KeyAlgorithm::RsaOaep, ContentAlgorithm::A256Gcm, b"ok");
        assert_eq!(key().decrypt(&sha1, &policy).unwrap_err(), JweError::AlgNotAllowed("RSA-OAEP"));
        let cbc = seal_to(key(), KeyAlgorithm::RsaOaep256, ContentAlgorithm::A128CbcHs256, b"ok");
        assert_eq!(key().decrypt(&cbc, &policy).unwrap_err(), JweError::EncNotAllowed("A128CBC-HS256"));
    }

    #[test]
    fn policy_from_names_rejects_unknown_names() {
        let p = JwePolicy::from_names(&["RSA-OAEP"], &["A128GCM", "A256CBC-HS512"]).unwrap();
        assert_eq!(p.key_algorithms, vec![KeyAlgorithm::RsaOaep]);
        assert_eq!(
            JwePolicy::from_names(&["RSA1_5"], &["A128GCM"]).unwrap_err(),
            JweError::UnsupportedAlg("RSA1_5".into())
        );
        assert_eq!(
            JwePolicy::from_names(&["RSA-OAEP"], &["A1GCM"]).unwrap_err(),
            JweError::UnsupportedEnc("A1GCM".into())
        );
        assert_eq!(JwePolicy::from_names::<&str, &str>(&[], &["A128GCM"]).unwrap_err(), JweError::EmptyPolicy);
    }

    #[test]
    fn any_altered_part_is_refused() {
        for enc in [ContentAlgorithm::A256Gcm, ContentAlgorithm::A128CbcHs256] {
            let token = seal_to(key(), KeyAlgorithm::RsaOaep256, enc, b"the sign result");
            let parts: Vec<&str> = token.split('.').collect();
            for (i, expected) in [
                (1, JweError::NotForThisKey),
                (2, JweError::Tampered),
                (3, JweError::Tampered),
                (4, JweError::Tampered),
            ] {
                let mut bytes = URL_SAFE_NO_PAD.decode(parts[i]).unwrap();
                bytes[0] ^= 1;
                let mut altered = parts.clone();
                let encoded = URL_SAFE_NO_PAD.encode(&bytes);
                altered[i] = &encoded;
                assert_eq!(
                    key().decrypt(&altered.join("."), &everything()).unwrap_err(),
                    expected,
                    "part {i} {}",
                    enc.name()
                );
            }
            // The header is the AAD: an added member breaks the tag.
            let mut header: Map<String, Value> =
                serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
            header.insert("typ".into(), "JWE".into());
            let header = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap());
            let altered = [header.as_str(), parts[1], parts[2], parts[3], parts[4]].join(".");
            assert_eq!(key().decrypt(&altered, &everything()).unwrap_err(), JweError::Tampered);
        }
    }

    #[test]
    fn a_jwe_for_another_key_is_refused_clearly() {
        let other = JweDecryptionKey::generate_rsa2048().unwrap();
        let token = seal_to(&other, KeyAlgorithm::RsaOaep256, ContentAlgorithm::A256Gcm, b"not for you");
        match key().decrypt(&token, &JwePolicy::default()).unwrap_err() {
            JweError::OtherKeyId { found, expected } => {
                assert_eq!(found, other.public_key().kid());
                assert_eq!(expected, key().public_key().kid());
            }
            e => panic!("{e:?}"),
        }
        // Without a kid, the RSA step fails.
        let parts: Vec<&str> = token.split('.').collect();
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RSA-OAEP-256","enc":"A256GCM"}"#);
        let no_kid = [header.as_str(), parts[1], parts[2], parts[3], parts[4]].join(".");
        assert_eq!(key().decrypt(&no_kid, &JwePolicy::default()).unwrap_err(), JweError::NotForThisKey);
    }

    fn with_header(header: &str) -> String {
        let token = seal_to(key(), KeyAlgorithm::RsaOaep256, ContentAlgorithm::A256Gcm, b"x");
        let rest = token.split_once('.').unwrap().1;
        format!("{}.{rest}", URL_SAFE_NO_PAD.encode(header))
    }

    #[test]
    fn hostile_headers_are_refused_before_any_rsa_work() {
        let p = everything();
        let cases: [(&str, JweError); 7] = [
            (r#"{"alg":"RSA-OAEP-256","enc":"A256GCM","zip":"DEF"}"#, JweError::Compressed("\"DEF\"".into())),
            (
                r#"{"alg":"RSA-OAEP-256","enc":"A256GCM","crit":["exp"],"exp":1}"#,
                JweError::Critical("[\"exp\"]".into()),
            ),
            (r#"{"alg":"RSA1_5","enc":"A256GCM"}"#, JweError::UnsupportedAlg("RSA1_5".into())),
            (r#"{"alg":"dir","enc":"A256GCM"}"#, JweError::UnsupportedAlg("dir".into())),
            (r#"{"alg":"RSA-OAEP-256","enc":"A256GCM2"}"#, JweError::UnsupportedEnc("A256GCM2".into())),
            (r#"{"enc":"A256GCM"}"#, JweError::Malformed("protected header has no alg".into())),
            (r#"{"alg":"RSA-OAEP-256","enc":"A256GCM","kid":7}"#, JweError::Malformed("kid is not a string".into())),
        ];
        for (header, expected) in cases {
            assert_eq!(key().decrypt(&with_header(header), &p).unwrap_err(), expected, "{header}");
        }
        assert!(matches!(key().decrypt(&with_header("[1]"), &p), Err(JweError::Malformed(_))));
        let huge = format!(r#"{{"alg":"RSA-OAEP-256","enc":"A256GCM","x":"{}"}}"#, "a".repeat(MAX_HEADER_LEN));
        assert!(matches!(key().decrypt(&with_header(&huge), &p), Err(JweError::HeaderTooLarge { .. })));
    }

    #[test]
    fn malformed_and_oversized_tokens_are_refused() {
        let p = JwePolicy { max_token_len: 2000, ..everything() };
        for bad in ["", "a.b.c.d", "a.b.c.d.e.f", "!!!.a.a.a.a", "e30.a.a.a.a"] {
            assert!(matches!(key().decrypt(bad, &p), Err(JweError::Malformed(_))), "{bad}");
        }
        let long = "a".repeat(2001);
        assert_eq!(key().decrypt(&long, &p).unwrap_err(), JweError::TooLong { len: 2001, max: 2000 });
        // Padding is not base64url.
        let token = seal_to(key(), KeyAlgorithm::RsaOaep256, ContentAlgorithm::A256Gcm, b"x");
        assert!(matches!(key().decrypt(&format!("{token}="), &p), Err(JweError::Malformed(_))));
    }

    #[test]
    fn wrong_iv_or_tag_length_is_malformed() {
        let token = seal_to(key(), KeyAlgorithm::RsaOaep256, ContentAlgorithm::A256Gcm, b"x");
        let parts: Vec<&str> = token.split('.').collect();
        let short = URL_SAFE_NO_PAD.encode([0u8; 8]);
        for i in [2, 4] {
            let mut altered = parts.clone();
            altered[i] = &short;
            assert!(matches!(key().decrypt(&altered.join("."), &everything()), Err(JweError::Malformed(_))));
        }
    }

    #[test]
    fn pkcs8_and_jwk_round_trip_keep_the_key() {
        let k = JweDecryptionKey::from_pkcs8(&key().to_pkcs8().unwrap()).unwrap();
        assert_eq!(k.public_key().kid(), key().public_key().kid());
        let jwk = key().public_key().jwk(KeyAlgorithm::RsaOaep256).to_string();
        let public = JweEncryptionKey::from_jwk(&jwk).unwrap();
        assert_eq!(public.kid(), key().public_key().kid());
        let token =
            encrypt(b"via jwk", &public, KeyAlgorithm::RsaOaep256, ContentAlgorithm::A256Gcm, &Map::new(), &mut OsRng)
                .unwrap();
        assert_eq!(&k.decrypt(&token, &JwePolicy::default()).unwrap().plaintext[..], b"via jwk");
        assert!(format!("{k:?}").contains("elided"));
    }

    #[test]
    fn rfc7638_thumbprint_example() {
        // RFC 7638 §3.1.
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        let jwk = format!(r#"{{"kty":"RSA","n":"{n}","e":"AQAB","alg":"RS256","kid":"2011-04-29"}}"#);
        let key = JweEncryptionKey::from_jwk(&jwk).unwrap();
        assert_eq!(key.kid(), "2011-04-29");
        assert_eq!(thumbprint(&key.n, &key.e), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    }
}
