//! The residence card (在留カード) and special permanent resident certificate (特別永住者証明書):
//! the emulated chip, the reader and the verifier (shared/spec/40-id-documents.md §2, after
//! 出入国在留管理庁「在留カード等仕様書」Ver 1.5).
//!
//! | chapter | module |
//! |---|---|
//! | card-number authentication, secure messaging, the crypto suites | [`sm`] |
//! | the files and their TLVs (fixed lengths, null padded) | [`files`] |
//! | the emulated chip | [`ResidenceChip`] (module `emulator`) |
//! | the sandbox immigration issuer and the holders | [`ImmigrationIssuer`], [`issue`], [`sample_holder`] |
//! | the reader and the verifier | [`read_residence`], [`verify`], [`check`] |
//!
//! What the issuer's signature covers: the check code (DF3 tag `DA`) is RSA-2048 over
//! SHA-256(value of DF1/EF01 ‖ value of DF1/EF02) — the **front image** and the **photo**. The
//! holder's name, birth date, sex, nationality, address at issue, status of residence, period
//! of stay and work restriction are printed on the front image: the chip carries them only as
//! that (MMR TIFF) image, never as text, so a reader can show them signed but cannot extract
//! them as verified text. DF2 (the back side: address changes, permissions, renewal
//! application) is written after issue and **not signed**. Holders under 16 have no photo and
//! no signature (their report has every field unsigned: [`crate::Report::verified`] is false).
//! The two signed files must be exactly 7004 and 3004 bytes (values of 7000 and 3000), and a
//! signed card must have its photo: the hash covers the values concatenated, and only fixed
//! lengths keep a hostile chip from moving the photo's bytes into the front image. The card-number authentication proves the reader knew the number printed on
//! the card; the card has no chip-authentication key, so chip genuineness is never proven.
//!
//! Crypto suites: only the first generation (2-key TDES, retail MAC, SHA-1 key derivation,
//! RSA-2048 raw PKCS#1) is built; the second generation (card types `05`/`06`, AES-128 +
//! AES-CMAC, ECDSA P-384 \[S\]) has its place in [`sm::Suite`] but is left out.

mod emulator;
pub mod files;
mod issuer;
mod reader;
pub mod sm;

use core::fmt;

use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

pub use emulator::{Ef, ResidenceChip, RESIDENCE_ATR};
pub use files::{Address, CardType, ResidenceRecord, SignatureFile};
pub use issuer::{
    issue, sample_holder, ImmigrationIssuer, ImmigrationIssuerDer, ResidenceHolder, ROOT_CN, SIGNER_CN,
    SYNTHETIC_FRONT_TIFF, SYNTHETIC_PHOTO_JP2,
};
pub use reader::{check, read_residence, read_residence_with, verify, VerifiedResidence, MAX_ROOTS};

/// DF1 (front image, photo): `D3 92 F0 00 4F 02 00…00` (16 bytes).
pub const AID_DF1: [u8; 16] = [0xD3, 0x92, 0xF0, 0x00, 0x4F, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
/// DF2 (back side: address, permissions, renewal): `D3 92 F0 00 4F 03 00…00`.
pub const AID_DF2: [u8; 16] = [0xD3, 0x92, 0xF0, 0x00, 0x4F, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
/// DF3 (signature): `D3 92 F0 00 4F 04 00…00`.
pub const AID_DF3: [u8; 16] = [0xD3, 0x92, 0xF0, 0x00, 0x4F, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

/// The 12-character residence card number printed on the face (e.g. `AA12345678BB`: two
/// letters, eight digits, two letters), the access code of the chip. Zeroised on drop;
/// `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct CardNumber(String);

impl CardNumber {
    /// Parses a card number: exactly 12 characters, `[A-Z]{2}[0-9]{8}[A-Z]{2}` (lower-case
    /// letters are folded to upper case).
    pub fn parse(s: &str) -> Result<CardNumber, ResidenceError> {
        let up = s.trim().to_ascii_uppercase();
        let b = up.as_bytes();
        let ok = b.len() == 12
            && b[..2].iter().all(u8::is_ascii_uppercase)
            && b[2..10].iter().all(u8::is_ascii_digit)
            && b[10..].iter().all(u8::is_ascii_uppercase);
        if ok {
            Ok(CardNumber(up))
        } else {
            let mut up = up;
            up.zeroize();
            Err(ResidenceError::BadCardNumber)
        }
    }

    /// The 12 ASCII bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl Drop for CardNumber {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for CardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CardNumber([elided])")
    }
}

impl Serialize for CardNumber {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for CardNumber {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<CardNumber, D::Error> {
        let s = zeroize::Zeroizing::new(String::deserialize(d)?);
        CardNumber::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A residence card that does not read or verify, or a sandbox issuer that cannot issue.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResidenceError {
    /// The card number given is not 12 characters `[A-Z]{2}[0-9]{8}[A-Z]{2}` (caller misuse).
    #[error("a residence card number is 12 characters: two letters, eight digits, two letters")]
    BadCardNumber,
    /// The reader or card went away.
    #[error(transparent)]
    Transport(#[from] hanko_card::TransportError),
    /// The chip refused the card number (`63 00` at MUTUAL AUTHENTICATE or VERIFY; there is no
    /// retry limit).
    #[error("the chip refused the card number ({step}: 63 00)")]
    WrongCardNumber {
        /// The step that refused it.
        step: &'static str,
    },
    /// The chip answered a status the reader did not expect.
    #[error("{step}: the chip answered {sw}")]
    Status {
        /// The command.
        step: &'static str,
        /// Its status word.
        sw: hanko_card::StatusWord,
    },
    /// The chip's answer was shorter than a status word.
    #[error("{step}: response shorter than a status word")]
    ShortResponse {
        /// The command.
        step: &'static str,
    },
    /// The chip's half of mutual authentication or a secure-messaging object did not verify
    /// or decrypt; the reader ends the session.
    #[error("{step}: {error}")]
    SecureMessaging {
        /// The command.
        step: &'static str,
        /// What was wrong.
        error: sm::SmError,
    },
    /// A file did not parse (TLV, tag, fixed length, encoding).
    #[error("{file}: {error}")]
    File {
        /// Which file (`DF1/EF01 front image`).
        file: &'static str,
        /// What was wrong.
        error: files::FileError,
    },
    /// The card has no signature file (holders under 16): nothing on it is signed.
    #[error("no signature (DF3/EF01): holders under 16 have none, so nothing on this card is signed")]
    NoSignature,
    /// A card with a photo answered no signature: only holders under 16 have none, and they have no
    /// photo either — the signature was removed.
    #[error("no signature (DF3/EF01) on a card with a photo: only under-16 cards (no photo) have none; not genuine")]
    SignatureStripped,
    /// A signed card without its photo (DF1/EF02): only under-16 cards have no photo, and they
    /// have no signature either. The check code covers front image ‖ photo, so a card that
    /// drops its photo may have moved its bytes into the front image.
    #[error("signed card without a photo (DF1/EF02): only under-16 cards (no signature) have none; refused")]
    PhotoMissing,
    /// A part the check code covers is not its fixed length (front image 7000 bytes, photo
    /// 3000): bytes could have moved from one part into the other under the same hash.
    #[error("{part} is {len} bytes, the spec fixes {expected}: refused (the check code covers front image ‖ photo, so only fixed lengths say which byte is whose)")]
    SignedPartSize {
        /// Which part (`DF1/EF01 front image (D0)`, `DF1/EF02 photo (D1)`).
        part: &'static str,
        /// Its length.
        len: usize,
        /// The fixed length.
        expected: usize,
    },
    /// The signer's certificate (DF3 tag `DB`) does not parse.
    #[error("signer certificate (DF3 DB) does not parse: {0}")]
    Certificate(String),
    /// The signer's certificate is not signed by any trusted immigration root.
    #[error("signer certificate issued by {issuer:?} does not chain to a trusted immigration root ({why})")]
    UntrustedIssuer {
        /// The certificate's issuer DN.
        issuer: String,
        /// Why (no root of that name, or its signature does not verify).
        why: &'static str,
    },
    /// A certificate of the chain is not valid at the time of the check.
    #[error("{which} certificate is not valid at {at} (valid {not_before} to {not_after})")]
    CertificateNotValid {
        /// `signer` or `root`.
        which: &'static str,
        /// The time of the check.
        at: time::OffsetDateTime,
        /// notBefore.
        not_before: time::OffsetDateTime,
        /// notAfter.
        not_after: time::OffsetDateTime,
    },
    /// The check code (DF3 tag `DA`) does not verify over SHA-256(front image ‖ photo): the
    /// front image (DF1/EF01) or the photo (DF1/EF02) was altered, or the check code was. The
    /// signature covers both together, so which of the two changed cannot be told.
    #[error("check code (DF3 DA) does not verify over SHA-256(DF1/EF01 front image ‖ DF1/EF02 photo): the front image or the photo was altered")]
    BadCheckCode,
    /// The sandbox issuer could not generate, encode or sign.
    #[error("issuer: {0}")]
    Issue(String),
    /// Holder data does not fit its fixed-length field.
    #[error("{what}: {len} bytes does not fit the {max}-byte field")]
    TooLong {
        /// Which field.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The field's fixed length.
        max: usize,
    },
}
