//! ISO 7816-4 command and response APDUs: cases 1–4, short and extended lengths
//! (shared/spec/10-card.md §1, §4).
//!
//! ```text
//! case 1  CLA INS P1 P2
//! case 2  CLA INS P1 P2 Le                         (short: 1 byte, 00 = 256;
//!                                                   extended: 00 Le1 Le2, 0000 = 65536)
//! case 3  CLA INS P1 P2 Lc Data                    (short Lc 1..255; extended 00 Lc1 Lc2)
//! case 4  CLA INS P1 P2 Lc Data Le                 (extended: Le is 2 bytes after the data)
//! ```

use core::fmt;

/// A status word (SW1 SW2). Unknown values round-trip and print in hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusWord(pub u16);

impl StatusWord {
    /// `90 00` — normal processing.
    pub const SUCCESS: StatusWord = StatusWord(0x9000);
    /// `63 C0` — wrong PIN, no try left (the attempt that blocked it).
    pub const PIN_NO_TRIES_LEFT: StatusWord = StatusWord(0x63C0);
    /// `67 00` — wrong length.
    pub const WRONG_LENGTH: StatusWord = StatusWord(0x6700);
    /// `68 81` — logical channel not supported.
    pub const CHANNEL_NOT_SUPPORTED: StatusWord = StatusWord(0x6881);
    /// `68 82` — secure messaging not supported.
    pub const SECURE_MESSAGING_NOT_SUPPORTED: StatusWord = StatusWord(0x6882);
    /// `69 82` — security status not satisfied.
    pub const SECURITY_STATUS_NOT_SATISFIED: StatusWord = StatusWord(0x6982);
    /// `69 84` — reference data not usable (PIN blocked).
    pub const PIN_BLOCKED: StatusWord = StatusWord(0x6984);
    /// `69 85` — conditions of use not satisfied.
    pub const CONDITIONS_NOT_SATISFIED: StatusWord = StatusWord(0x6985);
    /// `69 86` — command not allowed (no current EF).
    pub const COMMAND_NOT_ALLOWED: StatusWord = StatusWord(0x6986);
    /// `69 FC` — secure messaging refused on READ/VERIFY.
    pub const SECURE_MESSAGING_REFUSED: StatusWord = StatusWord(0x69FC);
    /// `6A 80` — incorrect data field.
    pub const WRONG_DATA: StatusWord = StatusWord(0x6A80);
    /// `6A 82` — file or application not found.
    pub const FILE_NOT_FOUND: StatusWord = StatusWord(0x6A82);
    /// `6A 86` — incorrect P1/P2.
    pub const WRONG_P1P2: StatusWord = StatusWord(0x6A86);
    /// `6A 88` — referenced data not found.
    pub const DATA_NOT_FOUND: StatusWord = StatusWord(0x6A88);
    /// `6B 00` — offset beyond the end of the EF.
    pub const WRONG_OFFSET: StatusWord = StatusWord(0x6B00);
    /// `6D 00` — instruction not supported.
    pub const INS_NOT_SUPPORTED: StatusWord = StatusWord(0x6D00);
    /// `6E 00` — class not supported.
    pub const CLA_NOT_SUPPORTED: StatusWord = StatusWord(0x6E00);
    /// `6F 00` — no precise diagnosis (internal error).
    pub const UNKNOWN_ERROR: StatusWord = StatusWord(0x6F00);

    /// `63 Cx` — wrong PIN, `x` tries left.
    pub fn tries_left(x: u8) -> StatusWord {
        StatusWord(0x63C0 | u16::from(x.min(15)))
    }

    /// SW1.
    pub fn sw1(self) -> u8 {
        (self.0 >> 8) as u8
    }

    /// SW2.
    pub fn sw2(self) -> u8 {
        self.0 as u8
    }

    /// `90 00`.
    pub fn is_success(self) -> bool {
        self == StatusWord::SUCCESS
    }

    /// Tries left when this is `63 Cx`.
    pub fn remaining_tries(self) -> Option<u8> {
        (self.0 & 0xFFF0 == 0x63C0).then_some((self.0 & 0x0F) as u8)
    }
}

impl fmt::Debug for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SW({:04X})", self.0)
    }
}

impl fmt::Display for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02X} {:02X}", self.sw1(), self.sw2())
    }
}

/// An instruction byte. Unknown values round-trip.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ins(pub u8);

impl Ins {
    /// SELECT FILE.
    pub const SELECT: Ins = Ins(0xA4);
    /// READ BINARY.
    pub const READ_BINARY: Ins = Ins(0xB0);
    /// VERIFY.
    pub const VERIFY: Ins = Ins(0x20);
    /// CHANGE REFERENCE DATA.
    pub const CHANGE_REFERENCE_DATA: Ins = Ins(0x24);
    /// COMPUTE DIGITAL SIGNATURE (JPKI, CLA 80).
    pub const COMPUTE_SIGNATURE: Ins = Ins(0x2A);
    /// CHANGE KEY (共通/住基 AP, CLA 80).
    pub const CHANGE_KEY: Ins = Ins(0x32);
    /// GET CHALLENGE.
    pub const GET_CHALLENGE: Ins = Ins(0x84);
    /// INTERNAL AUTHENTICATE.
    pub const INTERNAL_AUTHENTICATE: Ins = Ins(0x88);
    /// GET DATA.
    pub const GET_DATA: Ins = Ins(0xCA);
    /// GET RESPONSE.
    pub const GET_RESPONSE: Ins = Ins(0xC0);
    /// iPhone "last command" (CLA 80).
    pub const LAST_COMMAND: Ins = Ins(0xFC);
}

impl fmt::Debug for Ins {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ins({:02X})", self.0)
    }
}

/// A parsed command APDU, borrowing its data.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Command<'a> {
    /// Class byte.
    pub cla: u8,
    /// Instruction.
    pub ins: Ins,
    /// P1.
    pub p1: u8,
    /// P2.
    pub p2: u8,
    /// Command data (empty for cases 1 and 2).
    pub data: &'a [u8],
    /// Expected response length (`Some(256)` for short `00`, `Some(65536)` for extended `0000`).
    pub le: Option<usize>,
    /// Whether the extended length form was used.
    pub extended: bool,
}

impl fmt::Debug for Command<'_> {
    /// Never prints the data: a VERIFY carries a PIN.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Command({:02X} {:02X} {:02X} {:02X}, {} data bytes, le {:?})",
            self.cla,
            self.ins.0,
            self.p1,
            self.p2,
            self.data.len(),
            self.le
        )
    }
}

/// A command APDU could not be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApduError {
    /// Fewer than 4 bytes.
    #[error("APDU shorter than its 4-byte header")]
    TooShort,
    /// Lc / Le do not add up to the length of the APDU.
    #[error("APDU length fields do not match its length")]
    LengthMismatch,
    /// Lc is zero in a case-3/4 APDU.
    #[error("Lc of zero")]
    ZeroLc,
}

impl From<ApduError> for StatusWord {
    fn from(_: ApduError) -> StatusWord {
        StatusWord::WRONG_LENGTH
    }
}

impl<'a> Command<'a> {
    /// Parses a command APDU (ISO 7816-4 §5.1).
    pub fn parse(apdu: &'a [u8]) -> Result<Command<'a>, ApduError> {
        let [cla, ins, p1, p2, body @ ..] = apdu else { return Err(ApduError::TooShort) };
        let head = |data: &'a [u8], le: Option<usize>, extended: bool| Command {
            cla: *cla,
            ins: Ins(*ins),
            p1: *p1,
            p2: *p2,
            data,
            le,
            extended,
        };
        let short_le = |b: u8| if b == 0 { 256 } else { usize::from(b) };
        let ext_le = |hi: u8, lo: u8| match u16::from_be_bytes([hi, lo]) {
            0 => 65536,
            n => usize::from(n),
        };
        match body {
            [] => Ok(head(&[], None, false)),
            [le] => Ok(head(&[], Some(short_le(*le)), false)),
            [0, hi, lo] => Ok(head(&[], Some(ext_le(*hi, *lo)), true)),
            [0, rest @ ..] if rest.len() >= 2 => {
                // Extended Lc.
                let lc = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
                if lc == 0 {
                    return Err(ApduError::ZeroLc);
                }
                let rest = &rest[2..];
                match rest.len().checked_sub(lc) {
                    Some(0) => Ok(head(rest, None, true)),
                    Some(2) => Ok(head(&rest[..lc], Some(ext_le(rest[lc], rest[lc + 1])), true)),
                    _ => Err(ApduError::LengthMismatch),
                }
            }
            [lc, rest @ ..] => {
                let lc = usize::from(*lc);
                match rest.len().checked_sub(lc) {
                    Some(0) => Ok(head(rest, None, false)),
                    Some(1) => Ok(head(&rest[..lc], Some(short_le(rest[lc])), false)),
                    _ => Err(ApduError::LengthMismatch),
                }
            }
        }
    }

    /// Encodes a command, choosing short lengths when they fit and extended ones otherwise.
    /// Data longer than 65535 bytes cannot be encoded; [`crate::Client`] refuses it first.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![self.cla, self.ins.0, self.p1, self.p2];
        let extended = self.extended || self.data.len() > 255 || self.le.is_some_and(|le| le > 256);
        if !self.data.is_empty() {
            if extended {
                out.push(0);
                out.extend_from_slice(&(self.data.len() as u16).to_be_bytes());
            } else {
                out.push(self.data.len() as u8);
            }
            out.extend_from_slice(self.data);
        }
        if let Some(le) = self.le {
            if extended {
                if self.data.is_empty() {
                    out.push(0);
                }
                out.extend_from_slice(&((le % 65536) as u16).to_be_bytes());
            } else {
                out.push((le % 256) as u8);
            }
        }
        out
    }

    /// The logical channel named by the class byte (0–3 for the first interindustry class).
    pub fn channel(&self) -> u8 {
        self.cla & 0x03
    }

    /// Whether the class byte asks for secure messaging.
    pub fn secure_messaging(&self) -> bool {
        self.cla & 0x0C != 0
    }
}

/// A response APDU: data and status word.
#[derive(Clone, PartialEq, Eq)]
pub struct Response {
    /// Response data.
    pub data: Vec<u8>,
    /// SW1 SW2.
    pub sw: StatusWord,
}

impl fmt::Debug for Response {
    /// Never prints the data: it may be a My Number or facts.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Response({} bytes, {:?})", self.data.len(), self.sw)
    }
}

impl Response {
    /// Status only.
    pub fn status(sw: StatusWord) -> Response {
        Response { data: Vec::new(), sw }
    }

    /// Data with `90 00`.
    pub fn ok(data: Vec<u8>) -> Response {
        Response { data, sw: StatusWord::SUCCESS }
    }

    /// Splits raw response bytes into data and status word.
    pub fn parse(raw: &[u8]) -> Result<Response, ApduError> {
        let [data @ .., sw1, sw2] = raw else { return Err(ApduError::TooShort) };
        Ok(Response { data: data.to_vec(), sw: StatusWord(u16::from_be_bytes([*sw1, *sw2])) })
    }

    /// The raw bytes: data then SW1 SW2.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.data.len() + 2);
        out.extend_from_slice(&self.data);
        out.extend_from_slice(&self.sw.0.to_be_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_four_cases_short_and_extended() {
        let c = Command::parse(&[0, 0xA4, 4, 0x0C]).unwrap();
        assert_eq!((c.data, c.le), (&[][..], None));
        let c = Command::parse(&[0, 0xB0, 0, 0, 0]).unwrap();
        assert_eq!(c.le, Some(256));
        let c = Command::parse(&[0, 0xB0, 0, 0, 0, 0, 0]).unwrap();
        assert_eq!((c.le, c.extended), (Some(65536), true));
        let c = Command::parse(&[0, 0xB0, 0, 0, 0, 0x07, 0xD0]).unwrap();
        assert_eq!(c.le, Some(2000));
        let c = Command::parse(&[0, 0xA4, 2, 0x0C, 2, 0, 0x1B]).unwrap();
        assert_eq!((c.data, c.le), (&[0, 0x1B][..], None));
        let c = Command::parse(&[0x80, 0x2A, 0, 0x80, 2, 1, 2, 0]).unwrap();
        assert_eq!((c.data, c.le), (&[1, 2][..], Some(256)));
        let c = Command::parse(&[0x80, 0x2A, 0, 0x80, 0, 0, 2, 1, 2, 0, 0]).unwrap();
        assert_eq!((c.data, c.le, c.extended), (&[1, 2][..], Some(65536), true));
        let c = Command::parse(&[0x80, 0x2A, 0, 0x80, 0, 0, 2, 1, 2]).unwrap();
        assert_eq!((c.data, c.le, c.extended), (&[1, 2][..], None, true));
    }

    #[test]
    fn malformed_lengths() {
        assert_eq!(Command::parse(&[0, 0xA4, 4]), Err(ApduError::TooShort));
        assert_eq!(Command::parse(&[0, 0xA4, 4, 0x0C, 5, 1, 2]), Err(ApduError::LengthMismatch));
        assert_eq!(Command::parse(&[0, 0xA4, 4, 0x0C, 1, 1, 2, 3]), Err(ApduError::LengthMismatch));
        assert_eq!(Command::parse(&[0, 0xA4, 4, 0x0C, 0, 0, 0, 1]), Err(ApduError::ZeroLc));
        assert_eq!(Command::parse(&[0, 0xA4, 4, 0x0C, 0, 0, 3, 1, 2]), Err(ApduError::LengthMismatch));
    }

    #[test]
    fn encode_round_trips() {
        let data = vec![7u8; 300];
        for (data, le) in [
            (&[][..], None),
            (&[][..], Some(4)),
            (&[1, 2][..], None),
            (&[1, 2][..], Some(256)),
            (&data[..], Some(256)),
            (&[][..], Some(3000)),
        ] {
            let c = Command { cla: 0, ins: Ins::READ_BINARY, p1: 0, p2: 0, data, le, extended: false };
            let enc = c.encode();
            let back = Command::parse(&enc).unwrap();
            assert_eq!((back.data, back.le), (data, le));
        }
        assert_eq!(StatusWord::tries_left(2).remaining_tries(), Some(2));
        assert_eq!(Response::parse(&[1, 0x90, 0]).unwrap().encode(), vec![1, 0x90, 0]);
    }
}
