//! The 2015 offline variant (seed 004; shared/spec/60-demonstrations.md §6, 50-scenarios.md §3):
//! ticketless entry at a gate **without network**. The ticket seller (チケット販売事業者) keeps
//! 参加者管理 — ticket number, serials, シリアル番号変換値 — and exports a whitelist (入場者リスト) of
//! **ticket number + 変換値 only** to the venue; raw serials never reach the venue. The venue's
//! gate terminal reads the card, computes the conversion value of its serial with the service's
//! key (「特定機関用秘密鍵」, handed to the venue before the event, L845) and matches it against the
//! list, offline.
//!
//! | seed 004 | here |
//! |---|---|
//! | 参加者管理: チケット番号, 利用者証明用シリアル番号, シリアル番号変換値 (L789–795) | [`Seller`] |
//! | ホワイトリスト（入場者リスト）出力: チケット番号 + 変換値 (L816–822) | [`Seller::export`] → [`Whitelist`] |
//! | 特定機関用秘密鍵の受渡し (L845) | [`ConversionKey`], shared by seller and gate |
//! | 変換値を照合 at the terminal (step 10) | [`Gate::admit`] |
//!
//! What the seed does not define is chosen here and marked \[I\]:
//! - \[I\] the conversion function: **HMAC-SHA-256** under the 32-byte [`ConversionKey`] of
//!   `"hanko tap 2015 serial\0"` ‖ SHA-256(issuer DN, DER) ‖ the serial's bytes — a keyed one-way
//!   function (60-demonstrations.md suggests `HMAC(per-event key, serial)`); the issuer's name is
//!   in it so two CA generations' equal serials never collide. Without the key a value says
//!   nothing about the serial, and values under two events' keys cannot be linked.
//! - \[I\] the serial is the **user-authentication certificate's** (the seed's terminal gets the
//!   「利用者証明用シリアル番号」 after 「PINを入力しない認証」). The 2015 card released it after an
//!   external authentication with a J-LIS-signed blob (demo-only `pinless2015` option, not
//!   emulated here); today's card gives the certificate itself without a PIN, which the gate
//!   reads and checks **offline** against the trust anchors (chain and validity period; no
//!   revocation — there is no network at the gate, so revocation is the seller's check at sale).
//! - \[I\] the list carries a key check value (HMAC of a fixed label, 8 bytes) so a gate with the
//!   wrong key refuses the list instead of refusing everyone; a second entry with one ticket is
//!   refused (double entry).

use std::collections::{BTreeMap, BTreeSet};

use aws_lc_rs::hmac;
use hanko_pki::verify::{RevocationCheck, TrustStore, Usage, Verifier};
use hanko_pki::JpkiCertificate;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use zeroize::Zeroizing;

/// Format version of an exported [`Whitelist`].
pub const WHITELIST_VERSION: u32 = 1;
/// Largest whitelist accepted at a gate (entries).
pub const MAX_WHITELIST_ENTRIES: usize = 1_000_000;
/// Longest ticket number.
pub const MAX_TICKET_LEN: usize = 32;

const SERIAL_LABEL: &[u8] = b"hanko tap 2015 serial\0";
const KEY_CHECK_LABEL: &[u8] = b"hanko tap 2015 key check\0";

/// Why the offline variant refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WhitelistError {
    /// The key is not 32 bytes (64 hex digits).
    #[error("a conversion key is 32 bytes (64 hex digits)")]
    BadKey,
    /// A ticket number is empty, too long or not `[A-Za-z0-9-]`.
    #[error("ticket number must be 1-32 characters of A-Z a-z 0-9 -")]
    BadTicket,
    /// The same ticket or the same card twice in one list.
    #[error("ticket {0} or its card is already on the list")]
    Duplicate(String),
    /// The list does not parse, has another version, or is too large.
    #[error("whitelist: {0}")]
    Malformed(String),
    /// The list was made under another key than the gate's.
    #[error("the whitelist was made under another key than the gate's (key check {list} ≠ {gate})")]
    WrongKey {
        /// The list's key check value.
        list: String,
        /// The gate's.
        gate: String,
    },
    /// The card's certificate is not a valid user-authentication certificate of a trusted CA.
    #[error("certificate: {0}")]
    Certificate(#[from] hanko_pki::verify::VerifyError),
}

/// The service's conversion key (the 「特定機関用秘密鍵」 stand-in \[I\]): 32 secret bytes shared by
/// the ticket seller and the venue's gates. `Debug` never shows it.
pub struct ConversionKey(Zeroizing<[u8; 32]>);

impl core::fmt::Debug for ConversionKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "ConversionKey([elided], check {})", self.check_value())
    }
}

impl ConversionKey {
    /// A fresh random key.
    pub fn generate() -> Result<ConversionKey, WhitelistError> {
        let mut k = Zeroizing::new([0u8; 32]);
        aws_lc_rs::rand::fill(k.as_mut()).map_err(|_| WhitelistError::BadKey)?;
        Ok(ConversionKey(k))
    }
    /// From 64 hex digits.
    pub fn from_hex(s: &str) -> Result<ConversionKey, WhitelistError> {
        let bytes = Zeroizing::new(hex::decode(s.trim()).map_err(|_| WhitelistError::BadKey)?);
        let k: [u8; 32] = bytes.as_slice().try_into().map_err(|_| WhitelistError::BadKey)?;
        Ok(ConversionKey(Zeroizing::new(k)))
    }
    /// The 64 hex digits, to store (mode 0600).
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.0.as_slice()))
    }
    fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let key = hmac::Key::new(hmac::HMAC_SHA256, self.0.as_slice());
        let mut ctx = hmac::Context::with_key(&key);
        for p in parts {
            ctx.update(p);
        }
        let tag = ctx.sign();
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        out
    }
    /// The key check value: the first 8 bytes of HMAC(key, label), hex \[I\].
    pub fn check_value(&self) -> String {
        hex::encode(&self.mac(&[KEY_CHECK_LABEL])[..8])
    }
    /// The シリアル番号変換値 of a certificate's serial under this key \[I\]: HMAC-SHA-256 of
    /// the label, SHA-256 of the issuer DN and the serial's bytes.
    pub fn convert(&self, certificate: &JpkiCertificate) -> ConversionValue {
        let issuer = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, certificate.issuer_der());
        ConversionValue(self.mac(&[SERIAL_LABEL, issuer.as_ref(), certificate.serial().as_bytes()]))
    }
}

/// A シリアル番号変換値: 32 bytes, written as 64 hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConversionValue([u8; 32]);

impl ConversionValue {
    /// The 64 hex digits.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
    /// From 64 hex digits.
    pub fn from_hex(s: &str) -> Option<ConversionValue> {
        hex::decode(s).ok()?.try_into().ok().map(ConversionValue)
    }
}

fn check_ticket(t: &str) -> Result<(), WhitelistError> {
    if t.is_empty() || t.len() > MAX_TICKET_LEN || !t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(WhitelistError::BadTicket);
    }
    Ok(())
}

/// The ticket seller's participant records (参加者管理): ticket number → the card's
/// user-authentication certificate (its serial stays here; only conversion values leave).
#[derive(Debug, Default)]
pub struct Seller {
    event: String,
    participants: BTreeMap<String, ConversionValue>,
    serials: BTreeMap<String, String>,
}

impl Seller {
    /// The records of one event.
    pub fn new(event: &str) -> Seller {
        Seller { event: event.to_owned(), ..Seller::default() }
    }
    /// Records a sale: `ticket` for the card whose (already validity-checked) user-authentication
    /// certificate is `certificate`. One ticket per card per list.
    pub fn add(
        &mut self,
        key: &ConversionKey,
        ticket: &str,
        certificate: &JpkiCertificate,
    ) -> Result<(), WhitelistError> {
        check_ticket(ticket)?;
        let value = key.convert(certificate);
        if self.participants.contains_key(ticket) || self.participants.values().any(|v| *v == value) {
            return Err(WhitelistError::Duplicate(ticket.to_owned()));
        }
        self.participants.insert(ticket.to_owned(), value);
        self.serials.insert(ticket.to_owned(), certificate.serial().to_string());
        Ok(())
    }
    /// The serial sold `ticket` (the seller's record, never exported).
    pub fn serial_of(&self, ticket: &str) -> Option<&str> {
        self.serials.get(ticket).map(String::as_str)
    }
    /// ホワイトリスト（入場者リスト）出力: ticket numbers and conversion values only.
    pub fn export(&self, key: &ConversionKey) -> Whitelist {
        Whitelist {
            version: WHITELIST_VERSION,
            event: self.event.clone(),
            key_check: key.check_value(),
            entries: self
                .participants
                .iter()
                .map(|(t, v)| WhitelistEntry { ticket: t.clone(), value: v.to_hex() })
                .collect(),
        }
    }
}

/// One line of the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhitelistEntry {
    /// チケット番号.
    pub ticket: String,
    /// シリアル番号変換値, 64 hex digits.
    pub value: String,
}

/// The exported list (JSON): event, key check value, entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Whitelist {
    /// [`WHITELIST_VERSION`].
    pub version: u32,
    /// The event.
    pub event: String,
    /// The key check value of the key the values were made with.
    pub key_check: String,
    /// The entries.
    pub entries: Vec<WhitelistEntry>,
}

/// What the gate decided.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum GateDecision {
    /// On the list: let in, print the seat receipt for this ticket.
    Admit {
        /// The ticket.
        ticket: String,
    },
    /// Not on the list.
    NotListed,
    /// On the list, but this ticket already entered.
    AlreadyEntered {
        /// The ticket.
        ticket: String,
    },
}

/// The venue's gate terminal: the list, the key, the tickets already in. No network.
#[derive(Debug)]
pub struct Gate {
    key: ConversionKey,
    event: String,
    list: BTreeMap<ConversionValue, String>,
    entered: BTreeSet<String>,
}

impl Gate {
    /// Loads `list` (parsed strictly: version, size, tickets, 64-hex values, no duplicates) for a
    /// gate holding `key`; refuses a list made under another key.
    pub fn new(key: ConversionKey, list: &Whitelist) -> Result<Gate, WhitelistError> {
        if list.version != WHITELIST_VERSION {
            return Err(WhitelistError::Malformed(format!("version {} (expected {WHITELIST_VERSION})", list.version)));
        }
        if list.entries.len() > MAX_WHITELIST_ENTRIES {
            return Err(WhitelistError::Malformed("too many entries".into()));
        }
        if list.key_check != key.check_value() {
            return Err(WhitelistError::WrongKey { list: list.key_check.clone(), gate: key.check_value() });
        }
        let mut map = BTreeMap::new();
        let mut tickets = BTreeSet::new();
        for e in &list.entries {
            check_ticket(&e.ticket)?;
            let v = ConversionValue::from_hex(&e.value)
                .ok_or_else(|| WhitelistError::Malformed(format!("ticket {}: value is not 64 hex digits", e.ticket)))?;
            // Each value and each ticket once (a set, not a scan: a million entries load in linear time).
            if map.insert(v, e.ticket.clone()).is_some() || !tickets.insert(e.ticket.as_str()) {
                return Err(WhitelistError::Duplicate(e.ticket.clone()));
            }
        }
        Ok(Gate { key, event: list.event.clone(), list: map, entered: BTreeSet::new() })
    }

    /// The event.
    pub fn event(&self) -> &str {
        &self.event
    }

    /// Tickets already in (to persist between runs).
    pub fn entered(&self) -> impl Iterator<Item = &str> {
        self.entered.iter().map(String::as_str)
    }

    /// Marks tickets as already in (restored state).
    pub fn restore_entered<'a>(&mut self, tickets: impl IntoIterator<Item = &'a str>) {
        self.entered.extend(tickets.into_iter().map(str::to_owned));
    }

    /// The gate check, offline: the card's user-authentication certificate must be a valid one
    /// of a trusted CA at `at` (chain, profile, validity period; revocation not checked \[I\]),
    /// then its conversion value is looked up; a listed ticket enters once.
    pub fn admit(
        &mut self,
        trust: &TrustStore,
        certificate: &[u8],
        at: OffsetDateTime,
    ) -> Result<GateDecision, WhitelistError> {
        let verified =
            Verifier::new(trust).verify_certificate(certificate, Usage::Authentication, at, RevocationCheck::Skip)?;
        let value = self.key.convert(verified.certificate());
        Ok(match self.list.get(&value) {
            None => GateDecision::NotListed,
            Some(ticket) if self.entered.contains(ticket) => GateDecision::AlreadyEntered { ticket: ticket.clone() },
            Some(ticket) => {
                self.entered.insert(ticket.clone());
                GateDecision::Admit { ticket: ticket.clone() }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn keys_round_trip_and_never_print() {
        let k = ConversionKey::generate().unwrap();
        let again = ConversionKey::from_hex(&k.to_hex()).unwrap();
        assert_eq!(k.check_value(), again.check_value());
        assert!(!format!("{k:?}").contains(k.to_hex().as_str()));
        assert!(ConversionKey::from_hex("00").is_err());
        assert!(ConversionKey::from_hex(&"zz".repeat(32)).is_err());
        assert_ne!(k.check_value(), ConversionKey::generate().unwrap().check_value());
    }

    #[test]
    fn malformed_lists_are_refused() {
        let k = ConversionKey::generate().unwrap();
        let good = Whitelist { version: 1, event: "e".into(), key_check: k.check_value(), entries: vec![] };
        let k2 = || ConversionKey::from_hex(&k.to_hex()).unwrap();
        assert!(Gate::new(k2(), &good).is_ok());
        let mut bad = good.clone();
        bad.version = 2;
        assert!(matches!(Gate::new(k2(), &bad), Err(WhitelistError::Malformed(_))));
        let mut bad = good.clone();
        bad.entries.push(WhitelistEntry { ticket: "T-1".into(), value: "00".into() });
        assert!(matches!(Gate::new(k2(), &bad), Err(WhitelistError::Malformed(_))));
        let mut bad = good.clone();
        bad.entries.push(WhitelistEntry { ticket: "T 1".into(), value: "00".repeat(32) });
        assert_eq!(Gate::new(k2(), &bad).err(), Some(WhitelistError::BadTicket));
        let mut bad = good.clone();
        bad.entries.push(WhitelistEntry { ticket: "T-1".into(), value: "00".repeat(32) });
        bad.entries.push(WhitelistEntry { ticket: "T-2".into(), value: "00".repeat(32) });
        assert!(matches!(Gate::new(k2(), &bad), Err(WhitelistError::Duplicate(_))));
        let mut bad = good.clone();
        bad.entries.push(WhitelistEntry { ticket: "T-1".into(), value: "00".repeat(32) });
        bad.entries.push(WhitelistEntry { ticket: "T-1".into(), value: "11".repeat(32) });
        assert!(matches!(Gate::new(k2(), &bad), Err(WhitelistError::Duplicate(_))));
        assert!(matches!(Gate::new(ConversionKey::generate().unwrap(), &good), Err(WhitelistError::WrongKey { .. })));
        assert!(serde_json::from_str::<Whitelist>(
            r#"{"version":1,"event":"e","key_check":"x","entries":[],"serials":[]}"#
        )
        .is_err());
    }
}
