//! What lives inside the chip and never leaves it: RSA private keys and PIN reference data.

use core::fmt;

use hanko_pki::spki::SubjectPublicKeyInfoOwned;
use hanko_pki::{DigestAlgorithm, DigestInfo, SignatureAlgorithm, Signer, SoftwareKey};
use rsa::pkcs8::DecodePrivateKey;
use zeroize::Zeroizing;

/// An RSA-2048 key generated inside the emulated chip.
///
/// Signing uses aws-lc when the input is a canonical SHA-256/384/512 DigestInfo (what every
/// current client sends) and a constant-time generic RSA otherwise (SHA-1 DigestInfos from older
/// tools, or any other data: the card pads what it is given, 10-card.md §4).
pub struct ChipKey {
    fast: SoftwareKey,
    raw: rsa::RsaPrivateKey,
}

impl fmt::Debug for ChipKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ChipKey([inside the chip])")
    }
}

/// The chip could not make or use a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("chip key: {0}")]
pub struct ChipKeyError(pub String);

impl ChipKey {
    /// Generates a fresh RSA-2048 key pair inside the chip.
    pub fn generate() -> Result<ChipKey, ChipKeyError> {
        let fast = SoftwareKey::generate_rsa2048().map_err(|e| ChipKeyError(e.to_string()))?;
        ChipKey::from_software(fast)
    }

    fn from_software(fast: SoftwareKey) -> Result<ChipKey, ChipKeyError> {
        let der = fast.to_pkcs8().map_err(|e| ChipKeyError(e.to_string()))?;
        let raw = rsa::RsaPrivateKey::from_pkcs8_der(&der).map_err(|e| ChipKeyError(e.to_string()))?;
        Ok(ChipKey { fast, raw })
    }

    /// Restores a key from the chip's own sealed storage (a card image). Crate-private: only the
    /// card-image code, which keeps keys sealed, calls it.
    pub(crate) fn from_pkcs8(der: &[u8]) -> Result<ChipKey, ChipKeyError> {
        ChipKey::from_software(SoftwareKey::from_pkcs8(der).map_err(|e| ChipKeyError(e.to_string()))?)
    }

    /// The key as PKCS#8 for the chip's sealed storage. Crate-private, zeroised on drop.
    pub(crate) fn to_pkcs8(&self) -> Result<Zeroizing<Vec<u8>>, ChipKeyError> {
        self.fast.to_pkcs8().map_err(|e| ChipKeyError(e.to_string()))
    }

    /// The public key.
    pub fn public_key(&self) -> &SubjectPublicKeyInfoOwned {
        self.fast.public_key()
    }

    /// RSASSA-PKCS1-v1_5 type-1 padding over `data` as given, then the private operation —
    /// what `80 2A 00 80` does. `data` is at most 245 bytes.
    pub fn sign_padded(&self, data: &[u8]) -> Result<Vec<u8>, ChipKeyError> {
        if let Ok(di) = DigestInfo::from_der(data) {
            // Only when the bytes are exactly the canonical encoding is aws-lc's own DigestInfo
            // the same message.
            if di.to_der().is_ok_and(|canonical| canonical == data) {
                return self
                    .fast
                    .sign_digest(SignatureAlgorithm::for_digest(di.algorithm), &di.digest)
                    .map_err(|e| ChipKeyError(e.to_string()));
            }
        }
        // Blinded (sign_with_rng): the generic path must not leak timing either.
        self.raw
            .sign_with_rng(&mut rand_core::OsRng, rsa::Pkcs1v15Sign::new_unprefixed(), data)
            .map_err(|e| ChipKeyError(e.to_string()))
    }

    /// PKCS#1 v1.5 with SHA-256 over `message` (internal authentication, chip challenges).
    pub fn sign_sha256(&self, message: &[u8]) -> Result<Vec<u8>, ChipKeyError> {
        self.fast.sign(SignatureAlgorithm::RsaPkcs1Sha256, message).map_err(|e| ChipKeyError(e.to_string()))
    }

    /// PKCS#1 v1.5 over a DigestInfo built from a precomputed digest.
    pub fn sign_digest(&self, algorithm: DigestAlgorithm, digest: &[u8]) -> Result<Vec<u8>, ChipKeyError> {
        self.fast
            .sign_digest(SignatureAlgorithm::for_digest(algorithm), digest)
            .map_err(|e| ChipKeyError(e.to_string()))
    }
}

/// Which characters a PIN may hold and how long it is (10-card.md §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinFormat {
    /// Exactly 4 digits (auth PIN, input-assist PIN, 住基 PIN).
    FourDigits,
    /// 6–16 of `[A-Z0-9]` (signature password).
    Password,
    /// A fixed number of digits (照合番号A: 12, 照合番号B: 14).
    Digits(usize),
}

impl PinFormat {
    /// Whether `pin` has this format.
    pub fn accepts(self, pin: &[u8]) -> bool {
        match self {
            PinFormat::FourDigits => pin.len() == 4 && pin.iter().all(u8::is_ascii_digit),
            PinFormat::Password => {
                (6..=16).contains(&pin.len()) && pin.iter().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
            }
            PinFormat::Digits(n) => pin.len() == n && pin.iter().all(u8::is_ascii_digit),
        }
    }
}

/// PIN reference data and its retry counter. `Debug` never shows the value.
#[derive(Clone)]
pub struct Pin {
    value: Zeroizing<Vec<u8>>,
    pub(crate) format: PinFormat,
    pub(crate) tries_left: u8,
    pub(crate) max_tries: u8,
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pin([elided], {}/{} tries)", self.tries_left, self.max_tries)
    }
}

impl Pin {
    /// A PIN with `max_tries` tries; `None` if the value does not fit `format`.
    pub fn new(value: &[u8], format: PinFormat, max_tries: u8) -> Option<Pin> {
        format.accepts(value).then(|| Pin {
            value: Zeroizing::new(value.to_vec()),
            format,
            tries_left: max_tries,
            max_tries,
        })
    }

    pub(crate) fn restore(value: Vec<u8>, format: PinFormat, tries_left: u8, max_tries: u8) -> Pin {
        Pin { value: Zeroizing::new(value), format, tries_left: tries_left.min(max_tries), max_tries }
    }

    pub(crate) fn value(&self) -> &[u8] {
        &self.value
    }

    /// Constant-time comparison with a candidate.
    pub(crate) fn matches(&self, candidate: &[u8]) -> bool {
        let a = self.value.as_slice();
        let mut diff = u8::from(a.len() != candidate.len());
        for (i, x) in a.iter().enumerate() {
            diff |= x ^ candidate.get(i).copied().unwrap_or(0);
        }
        diff == 0
    }

    pub(crate) fn set(&mut self, value: &[u8]) {
        self.value = Zeroizing::new(value.to_vec());
    }
}
