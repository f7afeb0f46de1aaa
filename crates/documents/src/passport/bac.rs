//! Basic access control (ICAO 9303-11 §4.3), both the chip's and the terminal's side.
//!
//! ```text
//! Kseed = SHA-1(MRZ information)[0..16]; Kenc/Kmac = SHA-1(Kseed ‖ 00000001/00000002)[0..16], parity
//! GET CHALLENGE               00 84 00 00 08            → RND.ICC (8)
//! MUTUAL AUTHENTICATE         00 82 00 00 28 E_IFD ‖ M_IFD 28
//!   S = RND.IFD ‖ RND.ICC ‖ K.IFD;  E_IFD = 3DES(Kenc, S);  M_IFD = MAC(Kmac, E_IFD)
//!   R = RND.ICC ‖ RND.IFD ‖ K.ICC;  E_ICC ‖ M_ICC        → 40 bytes
//! session: Kseed' = K.IFD ⊕ K.ICC → KSenc, KSmac; SSC = RND.ICC[4..8] ‖ RND.IFD[4..8]
//! ```

use hanko_card::{Command, Ins, Response, StatusWord, Transport};
use rand_core::RngCore;
use zeroize::Zeroizing;

use super::sm::SmKeys;
use crate::crypto;

/// MUTUAL AUTHENTICATE's instruction byte.
pub const INS_MUTUAL_AUTHENTICATE: Ins = Ins(0x82);

/// The document basic access keys Kenc and Kmac derived from the MRZ information.
pub struct BacKeys {
    enc: Zeroizing<[u8; 16]>,
    mac: Zeroizing<[u8; 16]>,
}

impl core::fmt::Debug for BacKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("BacKeys([elided])")
    }
}

impl BacKeys {
    /// From the MRZ information (document number ‖ check digit ‖ birth ‖ check digit ‖ expiry ‖
    /// check digit, 24 characters for a 9-character document number).
    pub fn from_mrz_information(mrz_information: &str) -> BacKeys {
        let seed = Zeroizing::new(crypto::sha1_16(mrz_information.as_bytes()));
        BacKeys {
            enc: Zeroizing::new(crypto::kdf_3des(&seed[..], 1)),
            mac: Zeroizing::new(crypto::kdf_3des(&seed[..], 2)),
        }
    }

    /// K_enc (tests).
    pub fn enc(&self) -> &[u8; 16] {
        &self.enc
    }

    /// K_mac (tests).
    pub fn mac(&self) -> &[u8; 16] {
        &self.mac
    }
}

/// BAC failed on the terminal's side.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BacError {
    /// The chip refused MUTUAL AUTHENTICATE (`63 00`, or another status): wrong MRZ.
    #[error("BAC: the chip refused mutual authentication ({0}): wrong MRZ?")]
    Refused(StatusWord),
    /// The chip does not do BAC (`6A 88` / `6D 00`: a PACE-only document).
    #[error("BAC: not supported by the chip ({0})")]
    NotSupported(StatusWord),
    /// GET CHALLENGE failed or answered other than 8 bytes.
    #[error("BAC: GET CHALLENGE failed ({0})")]
    Challenge(StatusWord),
    /// The chip's answer does not verify (MAC, length, or the nonces it returns).
    #[error("BAC: the chip's answer does not verify ({0})")]
    BadAnswer(&'static str),
    /// The reader failed.
    #[error(transparent)]
    Transport(#[from] hanko_card::TransportError),
}

fn session(k_ifd: &[u8], k_icc: &[u8], rnd_icc: &[u8; 8], rnd_ifd: &[u8; 8]) -> SmKeys {
    let mut seed = Zeroizing::new([0u8; 16]);
    for i in 0..16 {
        seed[i] = k_ifd[i] ^ k_icc[i];
    }
    let mut ssc = [0u8; 8];
    ssc[..4].copy_from_slice(&rnd_icc[4..]);
    ssc[4..].copy_from_slice(&rnd_ifd[4..]);
    SmKeys::Tdes {
        enc: Zeroizing::new(crypto::kdf_3des(&seed[..], 1)),
        mac: Zeroizing::new(crypto::kdf_3des(&seed[..], 2)),
        ssc,
    }
}

fn encrypt_and_mac(keys: &BacKeys, plain: &[u8; 32]) -> [u8; 40] {
    // 32 bytes are whole blocks: neither call can fail.
    let e = crypto::tdes_cbc_encrypt(&keys.enc, &[0; 8], plain).unwrap_or_default();
    let m = crypto::retail_mac(&keys.mac, &e, true).unwrap_or_default();
    let mut out = [0u8; 40];
    out[..32].copy_from_slice(&e);
    out[32..].copy_from_slice(&m);
    out
}

fn check_and_decrypt(keys: &BacKeys, data: &[u8]) -> Option<Zeroizing<[u8; 32]>> {
    let (e, m) = (data.get(..32)?, data.get(32..40)?);
    if data.len() != 40 {
        return None;
    }
    let expected = crypto::retail_mac(&keys.mac, e, true).ok()?;
    if expected.iter().zip(m).fold(0u8, |a, (x, y)| a | (x ^ y)) != 0 {
        return None;
    }
    let plain = Zeroizing::new(crypto::tdes_cbc_decrypt(&keys.enc, &[0; 8], e).ok()?);
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(&plain);
    Some(out)
}

/// Terminal: the MUTUAL AUTHENTICATE data `E_IFD ‖ M_IFD` for the chip's `rnd_icc`.
pub fn terminal_cryptogram(keys: &BacKeys, rnd_icc: &[u8; 8], rnd_ifd: &[u8; 8], k_ifd: &[u8; 16]) -> [u8; 40] {
    let mut s = Zeroizing::new([0u8; 32]);
    s[..8].copy_from_slice(rnd_ifd);
    s[8..16].copy_from_slice(rnd_icc);
    s[16..].copy_from_slice(k_ifd);
    encrypt_and_mac(keys, &s)
}

/// Terminal: checks the chip's `E_ICC ‖ M_ICC` and derives the session keys.
pub fn terminal_finish(
    keys: &BacKeys,
    answer: &[u8],
    rnd_icc: &[u8; 8],
    rnd_ifd: &[u8; 8],
    k_ifd: &[u8; 16],
) -> Result<SmKeys, BacError> {
    let r = check_and_decrypt(keys, answer).ok_or(BacError::BadAnswer("MAC or length"))?;
    if r[..8] != rnd_icc[..] || r[8..16] != rnd_ifd[..] {
        return Err(BacError::BadAnswer("nonces"));
    }
    Ok(session(k_ifd, &r[16..], rnd_icc, rnd_ifd))
}

/// Terminal: runs BAC through `t` (GET CHALLENGE, MUTUAL AUTHENTICATE) and returns the 3DES
/// session keys.
pub fn establish(t: &mut dyn Transport, keys: &BacKeys, rng: &mut dyn RngCore) -> Result<SmKeys, BacError> {
    let challenge = Command { cla: 0, ins: Ins::GET_CHALLENGE, p1: 0, p2: 0, data: &[], le: Some(8), extended: false };
    let r = Response::parse(&t.transmit(&challenge.encode())?).map_err(|_| BacError::BadAnswer("short response"))?;
    match r.sw {
        StatusWord::SUCCESS => {}
        sw @ (StatusWord::DATA_NOT_FOUND | StatusWord::INS_NOT_SUPPORTED | StatusWord::CONDITIONS_NOT_SATISFIED) => {
            return Err(BacError::NotSupported(sw))
        }
        sw => return Err(BacError::Challenge(sw)),
    }
    let rnd_icc: [u8; 8] = r.data.as_slice().try_into().map_err(|_| BacError::Challenge(r.sw))?;
    let mut rnd_ifd = [0u8; 8];
    let mut k_ifd = Zeroizing::new([0u8; 16]);
    rng.fill_bytes(&mut rnd_ifd);
    rng.fill_bytes(&mut k_ifd[..]);
    let data = terminal_cryptogram(keys, &rnd_icc, &rnd_ifd, &k_ifd);
    let cmd =
        Command { cla: 0, ins: INS_MUTUAL_AUTHENTICATE, p1: 0, p2: 0, data: &data, le: Some(40), extended: false };
    let r = Response::parse(&t.transmit(&cmd.encode())?).map_err(|_| BacError::BadAnswer("short response"))?;
    match r.sw {
        StatusWord::SUCCESS => terminal_finish(keys, &r.data, &rnd_icc, &rnd_ifd, &k_ifd),
        sw @ (StatusWord::DATA_NOT_FOUND | StatusWord::INS_NOT_SUPPORTED) => Err(BacError::NotSupported(sw)),
        sw => Err(BacError::Refused(sw)),
    }
}

/// Chip: answers MUTUAL AUTHENTICATE's data for the challenge `rnd_icc` it gave, with its own
/// key half `k_icc`. `Err(63 00)` when the terminal's cryptogram does not verify (wrong MRZ).
pub fn chip_answer(
    keys: &BacKeys,
    rnd_icc: &[u8; 8],
    k_icc: &[u8; 16],
    data: &[u8],
) -> Result<([u8; 40], SmKeys), StatusWord> {
    let s = check_and_decrypt(keys, data).ok_or(StatusWord(0x6300))?;
    if s[8..16] != rnd_icc[..] {
        return Err(StatusWord(0x6300));
    }
    let mut rnd_ifd = [0u8; 8];
    rnd_ifd.copy_from_slice(&s[..8]);
    let mut r = Zeroizing::new([0u8; 32]);
    r[..8].copy_from_slice(rnd_icc);
    r[8..16].copy_from_slice(&rnd_ifd);
    r[16..].copy_from_slice(k_icc);
    Ok((encrypt_and_mac(keys, &r), session(&s[16..], k_icc, rnd_icc, &rnd_ifd)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::passport::sm::SecureChannel;

    fn h<const N: usize>(s: &str) -> [u8; N] {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    /// ICAO 9303-11 Appendix D.3 end to end: the terminal's cryptogram, the chip's answer, and
    /// the session keys and SSC both sides derive.
    #[test]
    fn icao_appendix_d_mutual_authentication_and_session_keys() {
        let keys = BacKeys::from_mrz_information("L898902C<369080619406236");
        assert_eq!(hex::encode_upper(keys.enc()), "AB94FDECF2674FDFB9B391F85D7F76F2");
        assert_eq!(hex::encode_upper(keys.mac()), "7962D9ECE03D1ACD4C76089DCE131543");
        let rnd_icc: [u8; 8] = h("4608F91988702212");
        let rnd_ifd: [u8; 8] = h("781723860C06C226");
        let k_ifd: [u8; 16] = h("0B795240CB7049B01C19B33E32804F0B");
        let k_icc: [u8; 16] = h("0B4F80323EB3191CB04970CB4052790B");
        let cmd = terminal_cryptogram(&keys, &rnd_icc, &rnd_ifd, &k_ifd);
        assert_eq!(
            hex::encode_upper(cmd),
            "72C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F25F1448EEA8AD90A7"
        );
        let (answer, chip_keys) = chip_answer(&keys, &rnd_icc, &k_icc, &cmd).unwrap();
        assert_eq!(
            hex::encode_upper(answer),
            "46B9342A41396CD7386BF5803104D7CEDC122B9132139BAF2EEDC94EE178534F2F2D235D074D7449"
        );
        let terminal_keys = terminal_finish(&keys, &answer, &rnd_icc, &rnd_ifd, &k_ifd).unwrap();
        for k in [chip_keys, terminal_keys] {
            let SmKeys::Tdes { enc, mac, ssc } = &k else { panic!("3DES") };
            assert_eq!(hex::encode_upper(&enc[..]), "979EC13B1CBFE9DCD01AB0FED307EAE5");
            assert_eq!(hex::encode_upper(&mac[..]), "F1CB1F1FB5ADF208806B89DC579DC1F8");
            assert_eq!(hex::encode_upper(ssc), "887022120C06C226");
            assert_eq!(hex::encode_upper(SecureChannel::new(k).ssc()), "887022120C06C226");
        }
    }

    #[test]
    fn a_wrong_mrz_is_63_00() {
        let right = BacKeys::from_mrz_information("L898902C<369080619406236");
        let wrong = BacKeys::from_mrz_information("L898902C<369080619406244");
        let rnd_icc = [1u8; 8];
        let cmd = terminal_cryptogram(&wrong, &rnd_icc, &[2; 8], &[3; 16]);
        assert_eq!(chip_answer(&right, &rnd_icc, &[4; 16], &cmd).err(), Some(StatusWord(0x6300)));
        assert_eq!(chip_answer(&right, &rnd_icc, &[4; 16], &cmd[..39]).err(), Some(StatusWord(0x6300)));
    }
}
