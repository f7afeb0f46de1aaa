//! ICAO 9303-11 §9.8 secure messaging (3DES after BAC, AES after PACE), both sides.
//!
//! ```text
//! protected command  CLA|0C INS P1 P2 Lc' [DO87|DO85] [DO97] DO8E Le'(00)
//!   DO87 = 87 L 01 ‖ E(KSenc, pad(data))     (even INS; DO85 = 85 L E(..) for odd INS, e.g. B1)
//!   DO97 = 97 L Le                           (Le as sent: 1 byte, or 2 for extended)
//!   DO8E = 8E 08 MAC(KSmac, pad(SSC ‖ pad(CLA|0C INS P1 P2) ‖ DO87 ‖ DO97))
//! protected response [DO87] DO99 DO8E SW1 SW2
//!   DO99 = 99 02 SW1 SW2;  DO8E = 8E 08 MAC(KSmac, pad(SSC ‖ DO87 ‖ DO99))
//! SSC is incremented before each command and before each response.
//! 3DES: 2-key TDES-CBC, IV = 0; MAC = ISO/IEC 9797-1 MAC algorithm 3 (retail MAC).
//! AES:  AES-CBC with IV = E(KSenc, SSC); MAC = AES-CMAC truncated to 8 bytes; SSC 16 bytes.
//! ```
//!
//! A MAC error ends the session on both sides: the chip answers `69 88` in plain and forgets the
//! keys; the terminal's [`SecureChannel`] refuses further use ([`SmError::Closed`]).

use hanko_card::{Command, Ins, Response, StatusWord};
use zeroize::Zeroizing;

use crate::crypto;
use crate::tlv;

/// Session keys and the send sequence counter's start, as BAC or PACE establish them.
pub enum SmKeys {
    /// 2-key 3DES (BAC, or PACE with 3DES): K_enc, K_mac; SSC 8 bytes.
    Tdes {
        /// KS_enc.
        enc: Zeroizing<[u8; 16]>,
        /// KS_mac.
        mac: Zeroizing<[u8; 16]>,
        /// Initial SSC (BAC: RND.ICC[4..8] ‖ RND.IFD[4..8]; PACE: zero).
        ssc: [u8; 8],
    },
    /// AES-128/192/256 (PACE): K_enc, K_mac; SSC 16 bytes, starting at zero.
    Aes {
        /// KS_enc.
        enc: Zeroizing<Vec<u8>>,
        /// KS_mac.
        mac: Zeroizing<Vec<u8>>,
    },
}

impl core::fmt::Debug for SmKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            SmKeys::Tdes { .. } => "SmKeys::Tdes([elided])",
            SmKeys::Aes { .. } => "SmKeys::Aes([elided])",
        })
    }
}

/// `69 88` — incorrect secure messaging data objects (ICAO 9303-11 §9.8.6).
pub const SW_SM_DATA_OBJECTS: StatusWord = StatusWord(0x6988);
/// `69 87` — expected secure messaging data objects missing.
pub const SW_SM_MISSING: StatusWord = StatusWord(0x6987);

/// Largest protected command or response accepted (extended length plus the SM objects).
pub const MAX_PROTECTED_LEN: usize = 65536 + 64;

/// Secure messaging failed. Any of these ends the session.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SmError {
    /// The MAC (DO8E) did not verify.
    #[error("secure messaging: MAC does not verify")]
    BadMac,
    /// A required data object is missing, repeated, unknown or malformed.
    #[error("secure messaging: malformed data objects ({0})")]
    Malformed(&'static str),
    /// The cryptogram did not decrypt to properly padded data.
    #[error("secure messaging: bad padding in the cryptogram")]
    BadPadding,
    /// The chip answered in plain with this status word (e.g. `69 88` after a MAC error).
    #[error("secure messaging: the chip answered in plain {0}")]
    Plain(StatusWord),
    /// The session was ended by an earlier error.
    #[error("secure messaging session closed by an earlier error")]
    Closed,
    /// Too long to protect or unprotect.
    #[error("secure messaging: {len} bytes is too long")]
    TooLong {
        /// The length.
        len: usize,
    },
}

/// A command as the chip sees it once secure messaging is removed.
#[derive(Clone, PartialEq, Eq)]
pub struct PlainCommand {
    /// Class byte with the SM bits cleared.
    pub cla: u8,
    /// Instruction.
    pub ins: Ins,
    /// P1.
    pub p1: u8,
    /// P2.
    pub p2: u8,
    /// The decrypted data.
    pub data: Zeroizing<Vec<u8>>,
    /// Le from DO97 (`Some(256)` for `00`, `Some(65536)` for `0000`).
    pub le: Option<usize>,
}

impl core::fmt::Debug for PlainCommand {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "PlainCommand({:02X} {:02X} {:02X} {:02X}, {} data bytes, le {:?})",
            self.cla,
            self.ins.0,
            self.p1,
            self.p2,
            self.data.len(),
            self.le
        )
    }
}

enum Cipher {
    Tdes { enc: Zeroizing<[u8; 16]>, mac: Zeroizing<[u8; 16]> },
    Aes { enc: Zeroizing<Vec<u8>>, mac: Zeroizing<Vec<u8>> },
}

/// One secure-messaging session: the keys and the SSC. Used by the terminal
/// ([`SecureChannel::protect`], [`SecureChannel::unprotect_response`]) and by the emulated chip
/// ([`SecureChannel::unprotect_command`], [`SecureChannel::protect_response`]).
pub struct SecureChannel {
    cipher: Cipher,
    /// The SSC as a big-endian counter (8 bytes used for 3DES, 16 for AES).
    ssc: u128,
    closed: bool,
}

impl core::fmt::Debug for SecureChannel {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let kind = match self.cipher {
            Cipher::Tdes { .. } => "3DES",
            Cipher::Aes { .. } => "AES",
        };
        write!(f, "SecureChannel({kind}, [elided])")
    }
}

fn internal(_: crypto::CryptoError) -> SmError {
    SmError::Malformed("cipher")
}

impl SecureChannel {
    /// A session from BAC's or PACE's keys.
    pub fn new(keys: SmKeys) -> SecureChannel {
        match keys {
            SmKeys::Tdes { enc, mac, ssc } => SecureChannel {
                cipher: Cipher::Tdes { enc, mac },
                ssc: u128::from(u64::from_be_bytes(ssc)),
                closed: false,
            },
            SmKeys::Aes { enc, mac } => SecureChannel { cipher: Cipher::Aes { enc, mac }, ssc: 0, closed: false },
        }
    }

    /// Whether an error ended the session.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// The current SSC (8 bytes for 3DES, 16 for AES), for tests against ICAO's worked example.
    pub fn ssc(&self) -> Vec<u8> {
        match self.cipher {
            Cipher::Tdes { .. } => (self.ssc as u64).to_be_bytes().to_vec(),
            Cipher::Aes { .. } => self.ssc.to_be_bytes().to_vec(),
        }
    }

    fn block(&self) -> usize {
        match self.cipher {
            Cipher::Tdes { .. } => 8,
            Cipher::Aes { .. } => 16,
        }
    }

    fn increment(&mut self) {
        self.ssc = match self.cipher {
            Cipher::Tdes { .. } => u128::from((self.ssc as u64).wrapping_add(1)),
            Cipher::Aes { .. } => self.ssc.wrapping_add(1),
        };
    }

    fn mac(&self, data: &[u8]) -> Result<[u8; 8], SmError> {
        let mut input = self.ssc();
        input.extend_from_slice(data);
        match &self.cipher {
            Cipher::Tdes { mac, .. } => crypto::retail_mac(mac, &input, true).map_err(internal),
            Cipher::Aes { mac, .. } => {
                let full = crypto::aes_cmac(mac, &crypto::pad(&input, 16)).map_err(internal)?;
                let mut out = [0u8; 8];
                out.copy_from_slice(&full[..8]);
                Ok(out)
            }
        }
    }

    fn encrypt(&self, data: &[u8]) -> Result<Vec<u8>, SmError> {
        match &self.cipher {
            Cipher::Tdes { enc, .. } => crypto::tdes_cbc_encrypt(enc, &[0; 8], &crypto::pad(data, 8)).map_err(internal),
            Cipher::Aes { enc, .. } => {
                let iv = self.aes_iv(enc)?;
                crypto::aes_cbc_encrypt(enc, &iv, &crypto::pad(data, 16)).map_err(internal)
            }
        }
    }

    fn decrypt(&self, data: &[u8]) -> Result<Zeroizing<Vec<u8>>, SmError> {
        if data.is_empty() || !data.len().is_multiple_of(self.block()) {
            return Err(SmError::Malformed("cryptogram length"));
        }
        let plain = Zeroizing::new(match &self.cipher {
            Cipher::Tdes { enc, .. } => crypto::tdes_cbc_decrypt(enc, &[0; 8], data).map_err(internal)?,
            Cipher::Aes { enc, .. } => {
                let iv = self.aes_iv(enc)?;
                crypto::aes_cbc_decrypt(enc, &iv, data).map_err(internal)?
            }
        });
        let unpadded = crypto::unpad(&plain).ok_or(SmError::BadPadding)?;
        Ok(Zeroizing::new(unpadded.to_vec()))
    }

    fn aes_iv(&self, enc: &[u8]) -> Result<[u8; 16], SmError> {
        let mut iv = self.ssc.to_be_bytes();
        crypto::aes_block(enc, &mut iv, true).map_err(internal)?;
        Ok(iv)
    }

    fn fail<T>(&mut self, e: SmError) -> Result<T, SmError> {
        self.closed = true;
        Err(e)
    }

    fn check_open(&self) -> Result<(), SmError> {
        if self.closed {
            Err(SmError::Closed)
        } else {
            Ok(())
        }
    }

    // --- terminal side ------------------------------------------------------------------------

    /// Terminal: protects `cmd` (CLA, INS, P1, P2, data, Le) into the APDU to send. Increments
    /// the SSC.
    pub fn protect(&mut self, cmd: &Command<'_>) -> Result<Vec<u8>, SmError> {
        self.check_open()?;
        if cmd.data.len() > 65535 - 64 {
            return Err(SmError::TooLong { len: cmd.data.len() });
        }
        self.increment();
        let cla = cmd.cla | 0x0C;
        let header = crypto::pad(&[cla, cmd.ins.0, cmd.p1, cmd.p2], self.block());
        let mut body = Vec::new();
        if !cmd.data.is_empty() {
            let cryptogram = self.encrypt(cmd.data)?;
            if cmd.ins.0 & 1 == 1 {
                body.extend(tlv::encode(0x85, &cryptogram));
            } else {
                let mut v = vec![0x01];
                v.extend_from_slice(&cryptogram);
                body.extend(tlv::encode(0x87, &v));
            }
        }
        let extended = cmd.extended || cmd.le.is_some_and(|le| le > 256);
        if let Some(le) = cmd.le {
            let le_bytes = if extended { ((le % 65536) as u16).to_be_bytes().to_vec() } else { vec![(le % 256) as u8] };
            body.extend(tlv::encode(0x97, &le_bytes));
        }
        let mut mac_input = header;
        mac_input.extend_from_slice(&body);
        let mac = self.mac(&mac_input)?;
        body.extend(tlv::encode(0x8E, &mac));
        let protected = Command {
            cla,
            ins: cmd.ins,
            p1: cmd.p1,
            p2: cmd.p2,
            data: &body,
            le: Some(if extended { 65536 } else { 256 }),
            extended,
        };
        Ok(protected.encode())
    }

    /// Terminal: checks and decrypts the chip's protected response. Increments the SSC. Any
    /// failure closes the session.
    pub fn unprotect_response(&mut self, raw: &[u8]) -> Result<Response, SmError> {
        self.check_open()?;
        if raw.len() > MAX_PROTECTED_LEN {
            return self.fail(SmError::TooLong { len: raw.len() });
        }
        let Ok(resp) = Response::parse(raw) else { return self.fail(SmError::Malformed("response too short")) };
        self.increment();
        if resp.data.is_empty() {
            // The chip dropped SM: 69 88 after a MAC error, or an error it cannot protect.
            return self.fail(SmError::Plain(resp.sw));
        }
        let mut do87 = None;
        let mut do99 = None;
        let mut do8e = None;
        let mut covered = 0usize;
        let mut rest = &resp.data[..];
        while !rest.is_empty() {
            let Ok((t, next)) = tlv::parse_one(rest) else { return self.fail(SmError::Malformed("TLV")) };
            if do8e.is_some() {
                return self.fail(SmError::Malformed("data object after DO8E"));
            }
            let slot = match t.tag {
                0x87 | 0x85 => &mut do87,
                0x99 => &mut do99,
                0x8E => &mut do8e,
                _ => return self.fail(SmError::Malformed("unexpected data object")),
            };
            if slot.is_some() {
                return self.fail(SmError::Malformed("data object order"));
            }
            *slot = Some(t);
            if t.tag != 0x8E {
                covered += t.raw.len();
            }
            rest = next;
        }
        let Some(mac) = do8e else { return self.fail(SmError::Malformed("DO8E missing")) };
        let Some(sw) = do99 else { return self.fail(SmError::Malformed("DO99 missing")) };
        let expected = self.mac(&resp.data[..covered])?;
        if !ct_eq(&expected, mac.value) {
            return self.fail(SmError::BadMac);
        }
        let [sw1, sw2] = sw.value else { return self.fail(SmError::Malformed("DO99 length")) };
        let sw = StatusWord(u16::from_be_bytes([*sw1, *sw2]));
        let data = match do87 {
            None => Vec::new(),
            Some(t) => match (t.tag, t.value.split_first()) {
                (0x85, _) => match self.decrypt(t.value) {
                    Ok(d) => d.to_vec(),
                    Err(e) => return self.fail(e),
                },
                (_, Some((0x01, c))) => match self.decrypt(c) {
                    Ok(d) => d.to_vec(),
                    Err(e) => return self.fail(e),
                },
                _ => return self.fail(SmError::Malformed("DO87 padding indicator")),
            },
        };
        Ok(Response { data, sw })
    }

    // --- chip side ----------------------------------------------------------------------------

    /// Chip: checks and decrypts a protected command. Increments the SSC. Any failure closes the
    /// session (the chip then answers `69 88` in plain and forgets the keys).
    pub fn unprotect_command(&mut self, apdu: &[u8]) -> Result<PlainCommand, SmError> {
        self.check_open()?;
        let Ok(cmd) = Command::parse(apdu) else { return self.fail(SmError::Malformed("APDU")) };
        self.increment();
        if cmd.cla & 0x0C != 0x0C {
            return self.fail(SmError::Malformed("CLA without SM bits"));
        }
        let mut dodata = None;
        let mut do97 = None;
        let mut do8e = None;
        let mut covered = 0usize;
        let mut rest = cmd.data;
        while !rest.is_empty() {
            let Ok((t, next)) = tlv::parse_one(rest) else { return self.fail(SmError::Malformed("TLV")) };
            if do8e.is_some() {
                return self.fail(SmError::Malformed("data object after DO8E"));
            }
            let slot = match t.tag {
                0x87 | 0x85 => &mut dodata,
                0x97 => &mut do97,
                0x8E => &mut do8e,
                _ => return self.fail(SmError::Malformed("unexpected data object")),
            };
            if slot.is_some() {
                return self.fail(SmError::Malformed("data object order"));
            }
            *slot = Some(t);
            if t.tag != 0x8E {
                covered += t.raw.len();
            }
            rest = next;
        }
        let Some(mac) = do8e else { return self.fail(SmError::Malformed("DO8E missing")) };
        let mut mac_input = crypto::pad(&[cmd.cla, cmd.ins.0, cmd.p1, cmd.p2], self.block());
        mac_input.extend_from_slice(&cmd.data[..covered]);
        let expected = self.mac(&mac_input)?;
        if !ct_eq(&expected, mac.value) {
            return self.fail(SmError::BadMac);
        }
        let data = match dodata {
            None => Zeroizing::new(Vec::new()),
            Some(t) => {
                let cryptogram = match (t.tag, t.value.split_first()) {
                    (0x87, Some((0x01, c))) => c,
                    (0x85, _) => t.value,
                    _ => return self.fail(SmError::Malformed("DO87 padding indicator")),
                };
                match self.decrypt(cryptogram) {
                    Ok(d) => d,
                    Err(e) => return self.fail(e),
                }
            }
        };
        let le = match do97.map(|t| t.value) {
            None => None,
            Some([0]) => Some(256),
            Some([n]) => Some(usize::from(*n)),
            Some([0, 0]) => Some(65536),
            Some([hi, lo]) => Some(usize::from(u16::from_be_bytes([*hi, *lo]))),
            Some(_) => return self.fail(SmError::Malformed("DO97 length")),
        };
        Ok(PlainCommand { cla: cmd.cla & !0x0C, ins: cmd.ins, p1: cmd.p1, p2: cmd.p2, data, le })
    }

    /// Chip: protects a response (data and status word) into the bytes to send. Increments the
    /// SSC.
    pub fn protect_response(&mut self, data: &[u8], sw: StatusWord) -> Result<Vec<u8>, SmError> {
        self.check_open()?;
        self.increment();
        let mut body = Vec::with_capacity(data.len() + 32);
        if !data.is_empty() {
            let mut v = vec![0x01];
            v.extend(self.encrypt(data)?);
            body.extend(tlv::encode(0x87, &v));
        }
        body.extend(tlv::encode(0x99, &sw.0.to_be_bytes()));
        let mac = self.mac(&body)?;
        body.extend(tlv::encode(0x8E, &mac));
        body.extend_from_slice(&sw.0.to_be_bytes());
        Ok(body)
    }
}

fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).unwrap()
    }

    fn k16(s: &str) -> Zeroizing<[u8; 16]> {
        Zeroizing::new(h(s).try_into().unwrap())
    }

    /// ICAO 9303-11 Appendix D.4: the session keys and SSC after BAC.
    fn appendix_d() -> SmKeys {
        SmKeys::Tdes {
            enc: k16("979EC13B1CBFE9DCD01AB0FED307EAE5"),
            mac: k16("F1CB1F1FB5ADF208806B89DC579DC1F8"),
            ssc: h("887022120C06C226").try_into().unwrap(),
        }
    }

    /// ICAO 9303-11 Appendix D.4, byte for byte: SELECT EF.COM, READ BINARY of its first 4
    /// bytes and of the remaining 18, each protected by the terminal and unprotected by the chip,
    /// and the chip's protected responses.
    #[test]
    fn icao_appendix_d_secure_messaging_both_sides() {
        let mut terminal = SecureChannel::new(appendix_d());
        let mut chip = SecureChannel::new(appendix_d());
        let cases: [(&str, &str, &str, &str, &str); 3] = [
            (
                "00A4020C02011E",
                "0CA4020C158709016375432908C044F68E08BF8B92D635FF24F800",
                "",
                "990290008E08FA855A5D4C50A8ED9000",
                "9000",
            ),
            (
                "00B0000004",
                "0CB000000D9701048E08ED6705417E96BA5500",
                "60145F01",
                "8709019FF0EC34F9922651990290008E08AD55CC17140B2DED9000",
                "9000",
            ),
            (
                "00B0000412",
                "0CB000040D9701128E082EA28A70F3C7B53500",
                "04303130365F36063034303030305C026175",
                "871901FB9235F4E4037F2327DCC8964F1F9B8C30F42C8E2FFF224A990290008E08C8B2787EAEA07D749000",
                "9000",
            ),
        ];
        for (plain, protected, data, protected_resp, sw) in cases {
            let plain = h(plain);
            let cmd = Command::parse(&plain).unwrap();
            let wire = terminal.protect(&cmd).unwrap();
            assert_eq!(hex::encode_upper(&wire), protected);
            let seen = chip.unprotect_command(&wire).unwrap();
            assert_eq!((seen.cla, seen.ins, seen.p1, seen.p2), (cmd.cla, cmd.ins, cmd.p1, cmd.p2));
            assert_eq!((&seen.data[..], seen.le), (cmd.data, cmd.le));
            let sw = StatusWord(u16::from_str_radix(sw, 16).unwrap());
            let resp = chip.protect_response(&h(data), sw).unwrap();
            assert_eq!(hex::encode_upper(&resp), protected_resp);
            let back = terminal.unprotect_response(&resp).unwrap();
            assert_eq!((back.data, back.sw), (h(data), sw));
        }
        assert_eq!(hex::encode_upper(terminal.ssc()), "887022120C06C22C");
    }

    fn aes_pair() -> (SecureChannel, SecureChannel) {
        let keys = || SmKeys::Aes { enc: Zeroizing::new(vec![0x11; 16]), mac: Zeroizing::new(vec![0x22; 16]) };
        (SecureChannel::new(keys()), SecureChannel::new(keys()))
    }

    #[test]
    fn aes_round_trip_with_data_odd_ins_and_extended_le() {
        let (mut t, mut c) = aes_pair();
        for (apdu, data) in [
            (h("00A4020C02011E"), h("")),
            (h("00B10000045402010000"), h("")),
            (h("0022C1A40F800A04007F00070202040202830101"), h("")),
        ] {
            let cmd = Command::parse(&apdu).unwrap();
            let wire = t.protect(&cmd).unwrap();
            let seen = c.unprotect_command(&wire).unwrap();
            assert_eq!((&seen.data[..], seen.le, seen.ins), (cmd.data, cmd.le, cmd.ins));
            let payload = if data.is_empty() { vec![7u8; 300] } else { data };
            let resp = c.protect_response(&payload, StatusWord::SUCCESS).unwrap();
            assert_eq!(t.unprotect_response(&resp).unwrap().data, payload);
        }
        assert_eq!(t.ssc(), c.ssc());
        assert_eq!(t.ssc()[15], 6);
    }

    #[test]
    fn a_flipped_mac_bit_closes_the_session() {
        let (mut t, mut c) = aes_pair();
        let mut wire = t.protect(&Command::parse(&h("00B0000004")).unwrap()).unwrap();
        let n = wire.len();
        wire[n - 2] ^= 1;
        assert_eq!(c.unprotect_command(&wire), Err(SmError::BadMac));
        assert!(c.is_closed());
        assert_eq!(c.protect_response(&[], StatusWord::SUCCESS), Err(SmError::Closed));
        assert_eq!(t.unprotect_response(&[0x69, 0x88]), Err(SmError::Plain(SW_SM_DATA_OBJECTS)));
        assert!(t.is_closed());
    }

    #[test]
    fn hostile_responses_are_errors() {
        for raw in [&[][..], &[0x90], &[0x87, 0x02, 0x01, 0x90, 0x00], &[0x99, 0x02, 0x90, 0x00, 0x90, 0x00]] {
            let (mut t, _) = aes_pair();
            assert!(t.unprotect_response(raw).is_err());
        }
    }
}
