//! Certificate serial numbers (発行番号 / シリアル番号).

use core::fmt;

use rand_core::CryptoRngCore;
use x509_cert::serial_number::SerialNumber;

/// A certificate serial: the magnitude of the DER INTEGER, big-endian, without leading zeros.
///
/// Displayed as upper-case hex (`067C6A21`), the form `openssl` and CRL tools print.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Serial(Vec<u8>);

impl Serial {
    /// A fresh unguessable serial: 63 random bits from `rng` (positive, 8 octets at most, never
    /// zero). 8 octets keep every sandbox serial in the fast path of [`crate::crl::CrlIndex`].
    pub fn random(rng: &mut impl CryptoRngCore) -> Serial {
        loop {
            let v = rng.next_u64() >> 1;
            if v >= 1 << 56 {
                return Serial::from_u64(v);
            }
        }
    }

    /// A serial from an integer.
    pub fn from_u64(v: u64) -> Serial {
        Serial::from_bytes(&v.to_be_bytes())
    }

    /// A serial from big-endian magnitude bytes (leading zeros dropped).
    pub fn from_bytes(bytes: &[u8]) -> Serial {
        let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
        Serial(bytes[start..].to_vec())
    }

    /// Parses hex (case-insensitive, `:` separators allowed).
    pub fn from_hex(s: &str) -> Option<Serial> {
        let clean: String = s.chars().filter(|c| *c != ':').collect();
        if clean.is_empty() || clean.len() > 42 || !clean.chars().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        let padded = if clean.len() % 2 == 1 { format!("0{clean}") } else { clean };
        let bytes: Option<Vec<u8>> =
            (0..padded.len()).step_by(2).map(|i| u8::from_str_radix(&padded[i..i + 2], 16).ok()).collect();
        bytes.map(|b| Serial::from_bytes(&b))
    }

    /// The serial of a parsed certificate or CRL entry.
    pub fn of(serial: &SerialNumber) -> Serial {
        Serial::from_bytes(serial.as_bytes())
    }

    /// Magnitude bytes (empty for zero).
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The value, when it fits in 64 bits.
    pub fn to_u64(&self) -> Option<u64> {
        if self.0.len() > 8 {
            return None;
        }
        Some(self.0.iter().fold(0u64, |a, b| (a << 8) | u64::from(*b)))
    }

    /// As an X.509 `CertificateSerialNumber`.
    pub fn to_serial_number(&self) -> der::Result<SerialNumber> {
        let bytes: &[u8] = if self.0.is_empty() { &[0] } else { &self.0 };
        SerialNumber::new(bytes)
    }
}

impl fmt::Display for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("00");
        }
        self.0.iter().try_for_each(|b| write!(f, "{b:02X}"))
    }
}

impl fmt::Debug for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Serial({self})")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn hex_round_trip() {
        let s = Serial::from_hex("067c6a21").unwrap();
        assert_eq!(s.to_string(), "067C6A21");
        assert_eq!(s.to_u64(), Some(0x067c6a21));
        assert_eq!(Serial::from_hex("00:01"), Some(Serial::from_u64(1)));
        assert_eq!(Serial::from_hex("xyz"), None);
        assert_eq!(Serial::from_hex(""), None);
    }

    #[test]
    fn serial_number_round_trip_with_high_bit() {
        let s = Serial::from_u64(0xFF00_0000_0000_0001);
        let sn = s.to_serial_number().unwrap();
        assert_eq!(Serial::of(&sn), s);
        assert_eq!(Serial::from_bytes(&[0; 21]).to_string(), "00");
    }
}
