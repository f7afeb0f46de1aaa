//! The host client: reads and signs with any JPKI card — emulated, behind pcscd, or real —
//! through a [`Transport`].

use crate::apdu::{Command, Ins, Response, StatusWord};
use crate::emulator::Fid;
use crate::layout::{common, jpki, AID_COMMON, AID_JPKI};
use crate::transport::{Transport, TransportError};

/// Which JPKI key pair (and its certificate and PIN).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Slot {
    /// 署名用: signature key, certificate, password.
    Signature,
    /// 利用者証明用: user-authentication key, certificate, PIN.
    Auth,
}

impl Slot {
    fn cert(self) -> Fid {
        match self {
            Slot::Signature => jpki::SIGN_CERT,
            Slot::Auth => jpki::AUTH_CERT,
        }
    }
    fn ca_cert(self) -> Fid {
        match self {
            Slot::Signature => jpki::SIGN_CA_CERT,
            Slot::Auth => jpki::AUTH_CA_CERT,
        }
    }
    fn key(self) -> Fid {
        match self {
            Slot::Signature => jpki::SIGN_KEY,
            Slot::Auth => jpki::AUTH_KEY,
        }
    }
    fn pin(self) -> Fid {
        match self {
            Slot::Signature => jpki::SIGN_PIN,
            Slot::Auth => jpki::AUTH_PIN,
        }
    }
}

/// A card operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The transport failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The card answered an unexpected status word.
    #[error("{what}: card answered {sw}")]
    Status {
        /// What was being done.
        what: &'static str,
        /// The status word.
        sw: StatusWord,
    },
    /// The PIN was wrong.
    #[error("wrong PIN: {tries_left} tries left")]
    WrongPin {
        /// Tries left.
        tries_left: u8,
    },
    /// The PIN is blocked; only the municipality can reset it.
    #[error("PIN blocked")]
    PinBlocked,
    /// The card's data is malformed (e.g. a certificate EF without a DER header).
    #[error("malformed card data: {0}")]
    Malformed(&'static str),
}

/// Tries left on a PIN, read without spending one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinStatus {
    /// This many tries remain.
    Tries(u8),
    /// Blocked.
    Blocked,
}

/// Largest EF the client reads (certificate EFs are about 2 KB; READ BINARY offsets stop at 32 KB).
pub const MAX_EF_READ: usize = 32 * 1024;

/// Talks to a card over `T`.
pub struct Client<T> {
    transport: T,
}

impl<T: Transport> Client<T> {
    /// A client over `transport`.
    pub fn new(transport: T) -> Client<T> {
        Client { transport }
    }

    /// The transport back.
    pub fn into_inner(self) -> T {
        self.transport
    }

    /// Sends one command; follows `61 xx` with GET RESPONSE and retries `6C xx` with Le = xx.
    pub fn transmit(&mut self, cmd: &Command<'_>) -> Result<Response, ClientError> {
        if cmd.data.len() > 65535 {
            return Err(ClientError::Malformed("command data longer than an extended Lc allows"));
        }
        // The encoded command may carry a PIN: zeroised when dropped.
        let encoded = zeroize::Zeroizing::new(cmd.encode());
        let mut resp = Response::parse(&self.transport.transmit(&encoded)?)
            .map_err(|_| ClientError::Malformed("response shorter than a status word"))?;
        if resp.sw.sw1() == 0x6C {
            let le = match resp.sw.sw2() {
                0 => 256,
                n => usize::from(n),
            };
            let retry = Command { le: Some(le), ..*cmd };
            resp = Response::parse(&self.transport.transmit(&zeroize::Zeroizing::new(retry.encode()))?)
                .map_err(|_| ClientError::Malformed("response"))?;
        }
        let mut data = core::mem::take(&mut resp.data);
        let mut guard = 0;
        while resp.sw.sw1() == 0x61 && guard < 64 {
            guard += 1;
            let le = match resp.sw.sw2() {
                0 => 256,
                n => usize::from(n),
            };
            let get = Command {
                cla: cmd.cla & 0x03,
                ins: Ins::GET_RESPONSE,
                p1: 0,
                p2: 0,
                data: &[],
                le: Some(le),
                extended: false,
            };
            resp = Response::parse(&self.transport.transmit(&get.encode())?)
                .map_err(|_| ClientError::Malformed("response"))?;
            data.append(&mut resp.data);
        }
        resp.data = data;
        Ok(resp)
    }

    fn expect_ok(&mut self, what: &'static str, cmd: &Command<'_>) -> Result<Vec<u8>, ClientError> {
        let r = self.transmit(cmd)?;
        if r.sw.is_success() {
            Ok(r.data)
        } else {
            Err(ClientError::Status { what, sw: r.sw })
        }
    }

    /// SELECT FILE by DF name (`00 A4 04 0C`).
    pub fn select_application(&mut self, aid: &[u8]) -> Result<(), ClientError> {
        let cmd = Command { cla: 0, ins: Ins::SELECT, p1: 0x04, p2: 0x0C, data: aid, le: None, extended: false };
        self.expect_ok("select application", &cmd).map(drop)
    }

    /// SELECT FILE of an EF in the current DF (`00 A4 02 0C`).
    pub fn select_ef(&mut self, fid: Fid) -> Result<(), ClientError> {
        let id = fid.0.to_be_bytes();
        let cmd = Command { cla: 0, ins: Ins::SELECT, p1: 0x02, p2: 0x0C, data: &id, le: None, extended: false };
        self.expect_ok("select EF", &cmd).map(drop)
    }

    /// READ BINARY of `len` bytes at `offset` of the current EF (one command, short or extended Le).
    pub fn read_binary(&mut self, offset: u16, len: usize) -> Result<Vec<u8>, ClientError> {
        let [p1, p2] = offset.to_be_bytes();
        let cmd =
            Command { cla: 0, ins: Ins::READ_BINARY, p1: p1 & 0x7F, p2, data: &[], le: Some(len), extended: len > 256 };
        self.expect_ok("read binary", &cmd)
    }

    /// Reads `len` bytes of the current EF in 256-byte steps.
    fn read_len(&mut self, len: usize) -> Result<Vec<u8>, ClientError> {
        let mut out = Vec::with_capacity(len);
        while out.len() < len {
            let offset = u16::try_from(out.len()).map_err(|_| ClientError::Malformed("EF larger than 32 KB"))?;
            let chunk = self.read_binary(offset, (len - out.len()).min(256))?;
            if chunk.is_empty() {
                break;
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }

    /// Reads a DER object stored at the start of the current EF (its length from the header).
    pub fn read_der_ef(&mut self) -> Result<Vec<u8>, ClientError> {
        let head = self.read_binary(0, 4)?;
        let total = der_len(&head).ok_or(ClientError::Malformed("EF does not start with a DER header"))?;
        if total > MAX_EF_READ {
            return Err(ClientError::Malformed("DER object larger than the client reads"));
        }
        let mut out = head;
        out.truncate(total);
        let rest = self.read_len_from(out.len(), total - out.len())?;
        out.extend(rest);
        Ok(out)
    }

    fn read_len_from(&mut self, start: usize, len: usize) -> Result<Vec<u8>, ClientError> {
        let mut out = Vec::with_capacity(len);
        while out.len() < len {
            let offset =
                u16::try_from(start + out.len()).map_err(|_| ClientError::Malformed("EF larger than 32 KB"))?;
            let chunk = self.read_binary(offset, (len - out.len()).min(256))?;
            if chunk.is_empty() {
                return Err(ClientError::Malformed("EF shorter than its DER header says"));
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }

    /// Reads a certificate of the JPKI-AP without a PIN: the user-authentication certificate
    /// of a card. The signature certificate needs [`Client::read_signature_certificate`].
    pub fn read_certificate(&mut self, slot: Slot) -> Result<Vec<u8>, ClientError> {
        self.select_application(&AID_JPKI)?;
        self.select_ef(slot.cert())?;
        self.read_der_ef()
    }

    /// Reads the CA certificate that issued `slot`'s certificate.
    pub fn read_ca_certificate(&mut self, slot: Slot) -> Result<Vec<u8>, ClientError> {
        self.select_application(&AID_JPKI)?;
        self.select_ef(slot.ca_cert())?;
        self.read_der_ef()
    }

    /// The tries left on `slot`'s PIN, without spending one (case-1 VERIFY).
    pub fn pin_status(&mut self, slot: Slot) -> Result<PinStatus, ClientError> {
        self.select_application(&AID_JPKI)?;
        self.select_ef(slot.pin())?;
        let cmd = Command { cla: 0, ins: Ins::VERIFY, p1: 0, p2: 0x80, data: &[], le: None, extended: false };
        let r = self.transmit(&cmd)?;
        match (r.sw, r.sw.remaining_tries()) {
            (StatusWord::PIN_BLOCKED, _) | (_, Some(0)) => Ok(PinStatus::Blocked),
            (_, Some(n)) => Ok(PinStatus::Tries(n)),
            (sw, None) => Err(ClientError::Status { what: "PIN status", sw }),
        }
    }

    /// VERIFY `slot`'s PIN (the JPKI-AP stays selected, so the next command may use the key).
    pub fn verify_pin(&mut self, slot: Slot, pin: &[u8]) -> Result<(), ClientError> {
        self.verify_in(&AID_JPKI, slot.pin(), pin, "verify PIN")
    }

    /// Selects `aid` (clearing any earlier VERIFY), the key EF `fid`, and VERIFYs `value`:
    /// `63 Cx` is a wrong PIN with x tries left, `63 C0` / `69 84` blocked.
    pub(crate) fn verify_in(
        &mut self,
        aid: &[u8],
        fid: Fid,
        value: &[u8],
        what: &'static str,
    ) -> Result<(), ClientError> {
        self.select_application(aid)?;
        self.select_ef(fid)?;
        let cmd = Command { cla: 0, ins: Ins::VERIFY, p1: 0, p2: 0x80, data: value, le: None, extended: false };
        let r = self.transmit(&cmd)?;
        match (r.sw, r.sw.remaining_tries()) {
            (StatusWord::SUCCESS, _) => Ok(()),
            (StatusWord::PIN_BLOCKED, _) | (_, Some(0)) => Err(ClientError::PinBlocked),
            (_, Some(n)) => Err(ClientError::WrongPin { tries_left: n }),
            (sw, None) => Err(ClientError::Status { what, sw }),
        }
    }

    /// Changes `slot`'s PIN (VERIFY with the old one, then CHANGE REFERENCE DATA).
    pub fn change_pin(&mut self, slot: Slot, old: &[u8], new: &[u8]) -> Result<(), ClientError> {
        self.verify_pin(slot, old)?;
        let cmd = Command {
            cla: 0,
            ins: Ins::CHANGE_REFERENCE_DATA,
            p1: 0x01,
            p2: 0x80,
            data: new,
            le: None,
            extended: false,
        };
        self.expect_ok("change PIN", &cmd).map(drop)
    }

    /// Verifies the PIN and signs a DER DigestInfo with `slot`'s key (`80 2A 00 80`).
    pub fn sign(&mut self, slot: Slot, pin: &[u8], digest_info: &[u8]) -> Result<Vec<u8>, ClientError> {
        self.verify_pin(slot, pin)?;
        self.sign_verified(slot, digest_info)
    }

    /// Signs after the PIN was verified in this session.
    pub fn sign_verified(&mut self, slot: Slot, digest_info: &[u8]) -> Result<Vec<u8>, ClientError> {
        self.select_ef(slot.key())?;
        let cmd = Command {
            cla: 0x80,
            ins: Ins::COMPUTE_SIGNATURE,
            p1: 0x00,
            p2: 0x80,
            data: digest_info,
            le: Some(256),
            extended: false,
        };
        self.expect_ok("sign", &cmd)
    }

    /// Verifies the signature password and reads the signature certificate in one session.
    pub fn read_signature_certificate(&mut self, password: &[u8]) -> Result<Vec<u8>, ClientError> {
        self.verify_pin(Slot::Signature, password)?;
        self.select_ef(jpki::SIGN_CERT)?;
        self.read_der_ef()
    }

    /// The 共通AP record: card serial (15), municipality code (5), expiry `YYYYMMDD`.
    pub fn read_common_record(&mut self) -> Result<CommonRecord, ClientError> {
        self.select_application(&AID_COMMON)?;
        self.select_ef(common::RECORD)?;
        let raw = self.read_len(28)?;
        let text = String::from_utf8(raw).map_err(|_| ClientError::Malformed("common record is not text"))?;
        if text.len() != 28 || !text.is_char_boundary(15) || !text.is_char_boundary(20) {
            return Err(ClientError::Malformed("common record has the wrong length"));
        }
        Ok(CommonRecord {
            card_serial: text[..15].into(),
            municipality_code: text[15..20].into(),
            expiry: text[20..].into(),
        })
    }

    /// INTERNAL AUTHENTICATE with the 共通AP key (no PIN): PKCS#1 v1.5 SHA-256 over `challenge`.
    /// Returns the signature and the key (SubjectPublicKeyInfo DER) to check it with.
    pub fn internal_authenticate(&mut self, challenge: &[u8]) -> Result<(Vec<u8>, Vec<u8>), ClientError> {
        self.select_application(&AID_COMMON)?;
        self.select_ef(common::INTERNAL_AUTH_PUBLIC_KEY)?;
        let key = self.read_der_ef()?;
        let p2 = 0x80 | (common::INTERNAL_AUTH_KEY.0 as u8);
        let cmd = Command {
            cla: 0,
            ins: Ins::INTERNAL_AUTHENTICATE,
            p1: 0,
            p2,
            data: challenge,
            le: Some(256),
            extended: false,
        };
        Ok((self.expect_ok("internal authenticate", &cmd)?, key))
    }
}

/// The 共通AP record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommonRecord {
    /// Card serial, 15 characters.
    pub card_serial: String,
    /// Municipality code, 5 digits.
    pub municipality_code: String,
    /// Card expiry `YYYYMMDD`.
    pub expiry: String,
}

/// Total length of the DER TLV starting `head` (at least 2 bytes), if it is one.
fn der_len(head: &[u8]) -> Option<usize> {
    match head {
        [0x30, n, ..] if *n < 0x80 => Some(2 + usize::from(*n)),
        [0x30, 0x81, n, ..] => Some(3 + usize::from(*n)),
        [0x30, 0x82, hi, lo, ..] => Some(4 + usize::from(u16::from_be_bytes([*hi, *lo]))),
        _ => None,
    }
}
