//! Card-number authentication and secure messaging of the residence card
//! (shared/spec/40-id-documents.md §2, 在留カード等仕様書 Ver 1.5):
//!
//! ```text
//! Kenc = Kmac = SHA-1(card number, 12 ASCII)[0..16]           2-key TDES, retail MAC
//! GET CHALLENGE        00 84 00 00 08                         → RND.ICC (8)
//! E_IFD = TDES-CBC[Kenc, IV 0](RND.IFD ‖ RND.ICC ‖ K.IFD)    M_IFD = MAC[Kmac](E_IFD)
//! MUTUAL AUTHENTICATE  00 82 00 00 28 ‖ E_IFD ‖ M_IFD ‖ 00   → E_ICC ‖ M_ICC
//! E_ICC = TDES-CBC[Kenc, IV 0](RND.ICC ‖ RND.IFD ‖ K.ICC)    M_ICC = MAC[Kmac](E_ICC)
//! KSenc = SHA-1((K.IFD ⊕ K.ICC) ‖ 00 00 00 01)[0..16]
//! VERIFY               08 20 00 86 13 86 11 01 ‖ TDES-CBC[KSenc, IV 0](card number ‖ 80 00 00 00)
//! SM data object       86 L 01 ‖ TDES-CBC[KSenc, IV 0](data ‖ ISO 9797-1 padding 2)
//! ```
//!
//! Secure messaging here is confidentiality only: neither commands nor responses carry a MAC
//! (the MAC is used only inside MUTUAL AUTHENTICATE).

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::CardNumber;
use crate::crypto::{self, Tdes2Key};
use crate::tlv;

/// Length of RND.ICC and RND.IFD.
pub const RND_LEN: usize = 8;
/// Length of K.IFD and K.ICC.
pub const K_LEN: usize = 16;
/// Length of the MUTUAL AUTHENTICATE data, both ways (E ‖ M).
pub const AUTH_LEN: usize = 40;
/// Tag of the SM cryptogram data object (padding-content indicator `01` then ciphertext).
pub const TAG_CRYPTOGRAM: u32 = 0x86;
/// Tag of the SM expected-length data object in a READ BINARY (`96 02 XX XX`).
pub const TAG_LE: u32 = 0x96;
/// Largest SM data object accepted (the biggest file, 7004 bytes, padded, with header).
pub const MAX_CRYPTOGRAM: usize = 0x2000;

/// The crypto suite of a card generation: pluggable so that the second generation fits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Suite {
    /// First generation (card types 1 and 2): 2-key TDES-CBC, retail MAC (ISO/IEC 9797-1
    /// algorithm 3, padding 2), SHA-1 key derivation; the check code RSA-2048 PKCS#1 v1.5
    /// without DigestInfo over SHA-256.
    Gen1Tdes,
    // Second generation (types 05/06, from 2026: AES-128, AES-CMAC, ECDSA P-384 [S]) is not
    // built: its APDU details are not in shared/spec.
}

/// Secure messaging or mutual authentication that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SmError {
    /// MUTUAL AUTHENTICATE data is not 40 bytes.
    #[error("mutual authentication data of {0} bytes (40 expected)")]
    AuthLength(usize),
    /// The MAC over the cryptogram of MUTUAL AUTHENTICATE does not verify.
    #[error("mutual authentication MAC does not verify")]
    BadMac,
    /// The decrypted challenge is not the one sent.
    #[error("mutual authentication: the challenge does not match")]
    ChallengeMismatch,
    /// Not one `86` data object filling the field.
    #[error("secure messaging: not a single 86 data object")]
    NotCryptogram,
    /// The padding-content indicator is not `01`.
    #[error("secure messaging: padding-content indicator {0:#04x} (01 expected)")]
    BadIndicator(u8),
    /// The ciphertext is empty, not whole 8-byte blocks, or too long.
    #[error("secure messaging: ciphertext of {0} bytes")]
    BadCiphertextLength(usize),
    /// The plaintext's ISO 9797-1 padding is malformed (wrong key or tampered ciphertext).
    #[error("secure messaging: bad padding after decryption (wrong session key or tampered cryptogram)")]
    BadPadding,
    /// The expected-length object of an SM READ BINARY is not `96 02 XX XX`.
    #[error("secure messaging: expected-length object is not 96 02 XX XX")]
    BadLe,
}

/// Kenc = Kmac = SHA-1(card number)[0..16]. `Debug` never shows the key.
pub struct AuthKeys {
    key: Zeroizing<Tdes2Key>,
}

impl AuthKeys {
    /// Derives the authentication keys from the card number.
    pub fn derive(suite: Suite, number: &CardNumber) -> AuthKeys {
        match suite {
            Suite::Gen1Tdes => AuthKeys { key: Zeroizing::new(crypto::sha1_16(number.as_bytes())) },
        }
    }

    /// Kenc (equal to Kmac in the first generation). For tests against the official vectors.
    pub fn kenc(&self) -> &Tdes2Key {
        &self.key
    }

    fn seal(&self, plain: &[u8; 32]) -> [u8; AUTH_LEN] {
        // 32 bytes are whole blocks; the MAC pads itself: neither can fail.
        let e = crypto::tdes_cbc_encrypt(&self.key, &[0; 8], plain).unwrap_or_default();
        let m = crypto::retail_mac(&self.key, &e, true).unwrap_or_default();
        let mut out = [0u8; AUTH_LEN];
        out[..32].copy_from_slice(&e);
        out[32..].copy_from_slice(&m);
        out
    }

    fn open(&self, data: &[u8]) -> Result<Zeroizing<[u8; 32]>, SmError> {
        if data.len() != AUTH_LEN {
            return Err(SmError::AuthLength(data.len()));
        }
        let (e, m) = data.split_at(32);
        let mac = crypto::retail_mac(&self.key, e, true).map_err(|_| SmError::BadMac)?;
        if !ct_eq(&mac, m) {
            return Err(SmError::BadMac);
        }
        let plain = Zeroizing::new(crypto::tdes_cbc_decrypt(&self.key, &[0; 8], e).map_err(|_| SmError::BadMac)?);
        let mut out = Zeroizing::new([0u8; 32]);
        out.copy_from_slice(&plain);
        Ok(out)
    }
}

impl core::fmt::Debug for AuthKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("AuthKeys([elided])")
    }
}

/// The session key KSenc. `Debug` never shows it.
#[derive(Clone)]
pub struct SessionKey(Zeroizing<Tdes2Key>);

impl SessionKey {
    /// `KSenc = SHA-1((K.IFD ⊕ K.ICC) ‖ 00 00 00 01)[0..16]` (no parity adjustment: DES ignores
    /// the parity bits).
    pub fn derive(k_ifd: &[u8; K_LEN], k_icc: &[u8; K_LEN]) -> SessionKey {
        let mut seed = Zeroizing::new([0u8; K_LEN + 4]);
        for i in 0..K_LEN {
            seed[i] = k_ifd[i] ^ k_icc[i];
        }
        seed[K_LEN..].copy_from_slice(&[0, 0, 0, 1]);
        SessionKey(Zeroizing::new(crypto::sha1_16(&seed[..])))
    }

    /// The key bytes (for tests against the official vectors).
    pub fn as_bytes(&self) -> &Tdes2Key {
        &self.0
    }

    /// `86 L 01 ‖ TDES-CBC[KSenc, IV 0](data ‖ padding)`.
    pub fn wrap(&self, data: &[u8]) -> Vec<u8> {
        let padded = Zeroizing::new(crypto::pad(data, 8));
        let mut v = Vec::with_capacity(padded.len() + 1);
        v.push(0x01);
        // Padded: whole blocks, cannot fail.
        v.extend_from_slice(&crypto::tdes_cbc_encrypt(&self.0, &[0; 8], &padded).unwrap_or_default());
        tlv::encode(TAG_CRYPTOGRAM, &v)
    }

    /// Opens one `86` data object that fills `field`: checks the indicator, the block length,
    /// decrypts and removes the padding.
    pub fn unwrap(&self, field: &[u8]) -> Result<Zeroizing<Vec<u8>>, SmError> {
        let (t, rest) = tlv::parse_one(field).map_err(|_| SmError::NotCryptogram)?;
        if t.tag != TAG_CRYPTOGRAM || !rest.is_empty() {
            return Err(SmError::NotCryptogram);
        }
        let (&ind, ct) = t.value.split_first().ok_or(SmError::NotCryptogram)?;
        if ind != 0x01 {
            return Err(SmError::BadIndicator(ind));
        }
        if ct.is_empty() || !ct.len().is_multiple_of(8) || ct.len() > MAX_CRYPTOGRAM {
            return Err(SmError::BadCiphertextLength(ct.len()));
        }
        let plain = Zeroizing::new(
            crypto::tdes_cbc_decrypt(&self.0, &[0; 8], ct).map_err(|_| SmError::BadCiphertextLength(ct.len()))?,
        );
        let data = crypto::unpad(&plain).ok_or(SmError::BadPadding)?;
        Ok(Zeroizing::new(data.to_vec()))
    }
}

impl core::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SessionKey([elided])")
    }
}

/// The terminal's MUTUAL AUTHENTICATE data: `E_IFD ‖ M_IFD`.
pub fn terminal_auth(
    keys: &AuthKeys,
    rnd_ifd: &[u8; RND_LEN],
    rnd_icc: &[u8; RND_LEN],
    k_ifd: &[u8; K_LEN],
) -> [u8; AUTH_LEN] {
    let mut s = Zeroizing::new([0u8; 32]);
    s[..8].copy_from_slice(rnd_ifd);
    s[8..16].copy_from_slice(rnd_icc);
    s[16..].copy_from_slice(k_ifd);
    keys.seal(&s)
}

/// The terminal checks the chip's `E_ICC ‖ M_ICC` (MAC, then RND.ICC ‖ RND.IFD echoed) and
/// derives KSenc.
pub fn terminal_finish(
    keys: &AuthKeys,
    rnd_ifd: &[u8; RND_LEN],
    rnd_icc: &[u8; RND_LEN],
    k_ifd: &[u8; K_LEN],
    response: &[u8],
) -> Result<SessionKey, SmError> {
    let r = keys.open(response)?;
    if !ct_eq(&r[..8], rnd_icc) || !ct_eq(&r[8..16], rnd_ifd) {
        return Err(SmError::ChallengeMismatch);
    }
    let mut k_icc = Zeroizing::new([0u8; K_LEN]);
    k_icc.copy_from_slice(&r[16..]);
    Ok(SessionKey::derive(k_ifd, &k_icc))
}

/// The chip checks `E_IFD ‖ M_IFD` against its challenge and answers `E_ICC ‖ M_ICC` with
/// its own key half `k_icc`, deriving KSenc.
pub fn chip_respond(
    keys: &AuthKeys,
    rnd_icc: &[u8; RND_LEN],
    k_icc: &[u8; K_LEN],
    data: &[u8],
) -> Result<([u8; AUTH_LEN], SessionKey), SmError> {
    let s = keys.open(data)?;
    if !ct_eq(&s[8..16], rnd_icc) {
        return Err(SmError::ChallengeMismatch);
    }
    let mut rnd_ifd = [0u8; RND_LEN];
    rnd_ifd.copy_from_slice(&s[..8]);
    let mut k_ifd = Zeroizing::new([0u8; K_LEN]);
    k_ifd.copy_from_slice(&s[16..]);
    let mut r = Zeroizing::new([0u8; 32]);
    r[..8].copy_from_slice(rnd_icc);
    r[8..16].copy_from_slice(&rnd_ifd);
    r[16..].copy_from_slice(k_icc);
    Ok((keys.seal(&r), SessionKey::derive(&k_ifd, k_icc)))
}

/// Parses the SM READ BINARY field `96 02 XX XX` into the expected length (`00 00` = all).
pub fn parse_le(field: &[u8]) -> Result<Option<usize>, SmError> {
    match field {
        [0x96, 0x02, hi, lo] => Ok(match u16::from_be_bytes([*hi, *lo]) {
            0 => None,
            n => Some(usize::from(n)),
        }),
        _ => Err(SmError::BadLe),
    }
}

/// Constant-time equality of two byte strings (lengths are public).
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn h<const N: usize>(s: &str) -> [u8; N] {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    /// shared/spec/40-id-documents.md §2: the official vectors, both halves and KSenc.
    #[test]
    fn official_vectors_both_sides() {
        let number = CardNumber::parse("AA12345678BB").unwrap();
        let keys = AuthKeys::derive(Suite::Gen1Tdes, &number);
        assert_eq!(keys.kenc(), &h::<16>("6522B4E171195BB218223A976C040111"));
        let rnd_icc = h::<8>("5A6E7E385162B7A3");
        let rnd_ifd = h::<8>("1122334455667788");
        let k_ifd = h::<16>("404142434445464748494A4B4C4D4E4F");
        let k_icc = h::<16>("19D049490FFF52EEDBFCB930BC810ED0");
        let cmd = terminal_auth(&keys, &rnd_ifd, &rnd_icc, &k_ifd);
        assert_eq!(
            cmd.to_vec(),
            hex::decode("937745C20883A1BAD1E04193722A1592378F81A8F1DC589157AEB0F7544FA1BA1AD7FB6A3389E017").unwrap()
        );
        let (resp, chip_ks) = chip_respond(&keys, &rnd_icc, &k_icc, &cmd).unwrap();
        assert_eq!(
            resp.to_vec(),
            hex::decode("5860775B4D032CC564BA204B8EA868F694A74E7475A8FEF240588BDA1AF496CE59388FD6CD45248B").unwrap()
        );
        let ks = terminal_finish(&keys, &rnd_ifd, &rnd_icc, &k_ifd, &resp).unwrap();
        assert_eq!(ks.as_bytes(), &h::<16>("CE94938E19E3B97DF96EABCEDC1715CC"));
        assert_eq!(chip_ks.as_bytes(), ks.as_bytes());
        let w = ks.wrap(number.as_bytes());
        assert_eq!(w, hex::decode("8611011AA82973DB959A811F9711D728F0EEF6").unwrap());
        assert_eq!(&ks.unwrap(&w).unwrap()[..], number.as_bytes());
    }

    #[test]
    fn tampering_is_refused() {
        let keys = AuthKeys::derive(Suite::Gen1Tdes, &CardNumber::parse("AA12345678BB").unwrap());
        let mut cmd = terminal_auth(&keys, &[1; 8], &[2; 8], &[3; 16]);
        assert!(chip_respond(&keys, &[9; 8], &[4; 16], &cmd).is_err());
        cmd[0] ^= 1;
        assert_eq!(chip_respond(&keys, &[2; 8], &[4; 16], &cmd).err(), Some(SmError::BadMac));
        let ks = SessionKey::derive(&[1; 16], &[2; 16]);
        let mut w = ks.wrap(b"hello");
        assert_eq!(ks.unwrap(&w[..w.len() - 1]).err(), Some(SmError::NotCryptogram));
        w[3] ^= 0x40;
        assert!(ks.unwrap(&w).is_err());
        assert_eq!(parse_le(&[0x96, 2, 0, 0]), Ok(None));
        assert_eq!(parse_le(&[0x96, 2, 1, 0]), Ok(Some(256)));
        assert_eq!(parse_le(&[0x97, 2, 1, 0]), Err(SmError::BadLe));
    }
}
