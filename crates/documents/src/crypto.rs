//! The symmetric cryptography of the residence card and of ICAO 9303 secure messaging
//! (shared/spec/40-id-documents.md §2–§3): 2-key TDES-CBC, the retail MAC (ISO/IEC 9797-1 MAC
//! algorithm 3), ISO/IEC 9797-1 padding method 2, DES parity, the SHA-1 key derivation, and
//! AES-CBC / AES-CMAC for AES secure messaging.
//!
//! Inputs are whole blocks where a mode needs them; a length that is not a multiple of the block
//! size is caller misuse and answers a [`CryptoError`], never a panic.

use aes::cipher::{BlockDecrypt, BlockEncrypt, KeyInit};
use cmac::Mac;
use des::{Des, TdesEde2};
use sha1::{Digest, Sha1};

/// A length the mode cannot take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{what}: {len} bytes is not a whole number of blocks")]
pub struct CryptoError {
    /// Which operation.
    pub what: &'static str,
    /// The length given.
    pub len: usize,
}

/// A 2-key triple-DES key (K1 ‖ K2, 16 bytes).
pub type Tdes2Key = [u8; 16];

/// ISO/IEC 9797-1 padding method 2: `80` then `00` up to a multiple of `block`.
pub fn pad(data: &[u8], block: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + block);
    out.extend_from_slice(data);
    out.push(0x80);
    while !out.len().is_multiple_of(block) {
        out.push(0);
    }
    out
}

/// Removes ISO/IEC 9797-1 padding method 2; `None` when the padding is malformed.
pub fn unpad(data: &[u8]) -> Option<&[u8]> {
    let end = data.iter().rposition(|&b| b != 0)?;
    (data[end] == 0x80).then(|| &data[..end])
}

/// Sets the DES parity bit (the low bit) of every byte: odd parity.
pub fn set_des_parity(key: &mut [u8]) {
    for b in key {
        let high = *b & 0xFE;
        *b = high | u8::from(high.count_ones() % 2 == 0);
    }
}

/// `SHA-1(seed ‖ counter)[0..16]` with DES parity — ICAO 9303-11 §9.7.1 key derivation for
/// 3DES (counter 1 = Kenc, 2 = Kmac).
pub fn kdf_3des(seed: &[u8], counter: u32) -> Tdes2Key {
    let mut h = Sha1::new();
    h.update(seed);
    h.update(counter.to_be_bytes());
    let d = h.finalize();
    let mut k = [0u8; 16];
    k.copy_from_slice(&d[..16]);
    set_des_parity(&mut k);
    k
}

/// `SHA-1(data)[0..16]`.
pub fn sha1_16(data: &[u8]) -> [u8; 16] {
    let d = Sha1::digest(data);
    let mut k = [0u8; 16];
    k.copy_from_slice(&d[..16]);
    k
}

fn tdes(key: &Tdes2Key) -> TdesEde2 {
    TdesEde2::new(key.into())
}

fn blocks(what: &'static str, data: &[u8], size: usize) -> Result<(), CryptoError> {
    if data.len().is_multiple_of(size) {
        Ok(())
    } else {
        Err(CryptoError { what, len: data.len() })
    }
}

/// 2-key TDES-CBC encryption of whole 8-byte blocks (no padding added).
pub fn tdes_cbc_encrypt(key: &Tdes2Key, iv: &[u8; 8], data: &[u8]) -> Result<Vec<u8>, CryptoError> {
    blocks("TDES-CBC encrypt", data, 8)?;
    let c = tdes(key);
    let mut prev = *iv;
    let mut out = Vec::with_capacity(data.len());
    for chunk in data.chunks_exact(8) {
        let mut b = [0u8; 8];
        for i in 0..8 {
            b[i] = chunk[i] ^ prev[i];
        }
        c.encrypt_block((&mut b).into());
        out.extend_from_slice(&b);
        prev = b;
    }
    Ok(out)
}

/// 2-key TDES-CBC decryption of whole 8-byte blocks (padding left in place).
pub fn tdes_cbc_decrypt(key: &Tdes2Key, iv: &[u8; 8], data: &[u8]) -> Result<Vec<u8>, CryptoError> {
    blocks("TDES-CBC decrypt", data, 8)?;
    let c = tdes(key);
    let mut prev = *iv;
    let mut out = Vec::with_capacity(data.len());
    for chunk in data.chunks_exact(8) {
        let mut b = [0u8; 8];
        b.copy_from_slice(chunk);
        c.decrypt_block((&mut b).into());
        for i in 0..8 {
            b[i] ^= prev[i];
        }
        out.extend_from_slice(&b);
        prev.copy_from_slice(chunk);
    }
    Ok(out)
}

/// Retail MAC, ISO/IEC 9797-1 MAC algorithm 3 with DES: single-DES CBC under K1 over all blocks,
/// then DES⁻¹ under K2 and DES under K1 on the last. `data` is padded here (method 2) when `pad_it`.
pub fn retail_mac(key: &Tdes2Key, data: &[u8], pad_it: bool) -> Result<[u8; 8], CryptoError> {
    let padded;
    let data = if pad_it {
        padded = pad(data, 8);
        &padded[..]
    } else {
        data
    };
    blocks("retail MAC", data, 8)?;
    let k1 = Des::new((&key[..8]).into());
    let k2 = Des::new((&key[8..]).into());
    let mut h = [0u8; 8];
    for chunk in data.chunks_exact(8) {
        for i in 0..8 {
            h[i] ^= chunk[i];
        }
        k1.encrypt_block((&mut h).into());
    }
    k2.decrypt_block((&mut h).into());
    k1.encrypt_block((&mut h).into());
    Ok(h)
}

/// AES-CBC encryption (128/192/256-bit key) of whole 16-byte blocks.
pub fn aes_cbc_encrypt(key: &[u8], iv: &[u8; 16], data: &[u8]) -> Result<Vec<u8>, CryptoError> {
    blocks("AES-CBC encrypt", data, 16)?;
    let mut prev = *iv;
    let mut out = Vec::with_capacity(data.len());
    for chunk in data.chunks_exact(16) {
        let mut b = [0u8; 16];
        for i in 0..16 {
            b[i] = chunk[i] ^ prev[i];
        }
        aes_block(key, &mut b, true)?;
        out.extend_from_slice(&b);
        prev = b;
    }
    Ok(out)
}

/// AES-CBC decryption of whole 16-byte blocks.
pub fn aes_cbc_decrypt(key: &[u8], iv: &[u8; 16], data: &[u8]) -> Result<Vec<u8>, CryptoError> {
    blocks("AES-CBC decrypt", data, 16)?;
    let mut prev = *iv;
    let mut out = Vec::with_capacity(data.len());
    for chunk in data.chunks_exact(16) {
        let mut b = [0u8; 16];
        b.copy_from_slice(chunk);
        aes_block(key, &mut b, false)?;
        for i in 0..16 {
            b[i] ^= prev[i];
        }
        out.extend_from_slice(&b);
        prev.copy_from_slice(chunk);
    }
    Ok(out)
}

/// One AES block in place (ECB), e.g. the SM IV `E(KSenc, SSC)`.
pub fn aes_block(key: &[u8], block: &mut [u8; 16], encrypt: bool) -> Result<(), CryptoError> {
    macro_rules! run {
        ($t:ty) => {{
            let c = <$t>::new(key.into());
            if encrypt {
                c.encrypt_block(block.into())
            } else {
                c.decrypt_block(block.into())
            }
        }};
    }
    match key.len() {
        16 => run!(aes::Aes128),
        24 => run!(aes::Aes192),
        32 => run!(aes::Aes256),
        len => return Err(CryptoError { what: "AES key", len }),
    }
    Ok(())
}

/// AES-CMAC (NIST SP 800-38B), full 16 bytes; ICAO SM truncates it to 8.
pub fn aes_cmac(key: &[u8], data: &[u8]) -> Result<[u8; 16], CryptoError> {
    macro_rules! run {
        ($t:ty) => {{
            let mut m = <cmac::Cmac<$t> as KeyInit>::new(key.into());
            m.update(data);
            m.finalize().into_bytes().into()
        }};
    }
    Ok(match key.len() {
        16 => run!(aes::Aes128),
        24 => run!(aes::Aes192),
        32 => run!(aes::Aes256),
        len => return Err(CryptoError { what: "AES-CMAC key", len }),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    /// ICAO Doc 9303-11 Appendix D.2: BAC key derivation from `L898902C<369080619406236`.
    #[test]
    fn icao_bac_key_derivation_vectors() {
        let kseed = sha1_16(b"L898902C<369080619406236");
        assert_eq!(kseed.to_vec(), h("239AB9CB282DAF66231DC5A4DF6BFBAE"));
        assert_eq!(kdf_3des(&kseed, 1).to_vec(), h("AB94FDECF2674FDFB9B391F85D7F76F2"));
        assert_eq!(kdf_3des(&kseed, 2).to_vec(), h("7962D9ECE03D1ACD4C76089DCE131543"));
    }

    /// ICAO Doc 9303-11 Appendix D.3: the first mutual-authentication step.
    #[test]
    fn icao_bac_mutual_authentication_vectors() {
        let kenc: Tdes2Key = h("AB94FDECF2674FDFB9B391F85D7F76F2").try_into().unwrap();
        let kmac: Tdes2Key = h("7962D9ECE03D1ACD4C76089DCE131543").try_into().unwrap();
        let s = h("781723860C06C2264608F919887022120B795240CB7049B01C19B33E32804F0B");
        let eifd = tdes_cbc_encrypt(&kenc, &[0; 8], &s).unwrap();
        assert_eq!(eifd, h("72C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F2"));
        assert_eq!(retail_mac(&kmac, &eifd, true).unwrap().to_vec(), h("5F1448EEA8AD90A7"));
        assert_eq!(tdes_cbc_decrypt(&kenc, &[0; 8], &eifd).unwrap(), s);
    }

    /// shared/spec/40-id-documents.md §2: the residence card's official vectors (key derivation
    /// and the terminal's half of mutual authentication).
    #[test]
    fn residence_card_official_vectors() {
        let k = sha1_16(b"AA12345678BB");
        assert_eq!(k.to_vec(), h("6522B4E171195BB218223A976C040111"));
        let s = h("1122334455667788" /* RND.IFD */
            .to_owned()
            .as_str())
        .into_iter()
        .chain(h("5A6E7E385162B7A3"))
        .chain(h("404142434445464748494A4B4C4D4E4F"))
        .collect::<Vec<_>>();
        let e = tdes_cbc_encrypt(&k, &[0; 8], &s).unwrap();
        assert_eq!(e, h("937745C20883A1BAD1E04193722A1592378F81A8F1DC589157AEB0F7544FA1BA"));
        assert_eq!(retail_mac(&k, &e, true).unwrap().to_vec(), h("1AD7FB6A3389E017"));
    }

    #[test]
    fn padding_round_trips_and_rejects_garbage() {
        assert_eq!(pad(b"", 8), h("8000000000000000"));
        assert_eq!(pad(&[1; 8], 8).len(), 16);
        assert_eq!(unpad(&h("0102800000")), Some(&[1u8, 2][..]));
        assert_eq!(unpad(&h("01020000")), None);
        assert_eq!(unpad(&[]), None);
    }

    #[test]
    fn partial_blocks_are_errors_not_panics() {
        assert!(tdes_cbc_encrypt(&[0; 16], &[0; 8], &[0; 7]).is_err());
        assert!(aes_cbc_decrypt(&[0; 16], &[0; 16], &[0; 17]).is_err());
        assert!(aes_cmac(&[0; 15], b"").is_err());
        assert!(retail_mac(&[0; 16], &[0; 9], false).is_err());
    }

    /// NIST SP 800-38B D.1 example 2 (AES-128, 16-byte message).
    #[test]
    fn aes_cmac_nist_vector() {
        let k = h("2b7e151628aed2a6abf7158809cf4f3c");
        let m = h("6bc1bee22e409f96e93d7e117393172a");
        assert_eq!(aes_cmac(&k, &m).unwrap().to_vec(), h("070a16b46b4d4144f79bdd9dd04a287c"));
    }
}
