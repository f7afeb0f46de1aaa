//! The electronic signature of DF1/EF07 and its check (shared/spec/40-id-documents.md §1).
//!
//! EF07 holds the signature value, the signer's serial, issuer name, subject name and subject
//! key identifier \[V fields\] — no certificate: the verifier selects the police signing key by
//! the SKI among the keys it trusts ([`crate::TrustAnchors::police_keys`]). The algorithm is
//! RSA-2048 PKCS#1 v1.5 with SHA-256 over DF1/EF01 ‖ DF1/EF02 ‖ DF2/EF01, the value under tag
//! `B1` \[S\]; it is chosen by the crypto function id of MF/EF01 tag `46`
//! ([`CryptoFunction`]) and any other id is refused by name.
//!
//! | tag | content | mark |
//! |---|---|---|
//! | `B1` | signature value (256 bytes) | \[S\] |
//! | `B2` | serial (of the signer's record) | \[I\] tag |
//! | `B3` | issuer name, UTF-8 (not covered by `B1`) | \[I\] tag and encoding |
//! | `B4` | subject name, UTF-8 (not covered by `B1`) | \[I\] tag and encoding |
//! | `B5` | subject key identifier (SHA-1 of the key, 20 bytes) | \[I\] tag |
//! | `B6` | SHA-256 of each signed file (3 × 32 bytes) | \[I\], not in the NPA spec |
//!
//! The signature covers the three files, not EF07: `B2`–`B6` are as the chip writes them. The
//! signer a report shows is therefore the trusted key that verified `B1` ([`Verified::key_name`],
//! configured in [`crate::PoliceKey`]), and `B3`/`B4` are shown only as unsigned fields.
//!
//! `B6` is a diagnostic only this emulator writes: the signature alone cannot say *which*
//! file was changed, so when it fails and `B6` is there the verifier names the file whose hash
//! differs. `B6` is not signed and never turns a failed signature into a pass; on a card without
//! it the error names all three files.

use sha2::{Digest, Sha256};

use hanko_pki::{RsaPublicKey, SignatureAlgorithm};

use super::files::{encode_tlv, pad_file, parse_tlvs, CryptoFunction, FileError, DF1_SIZES};
use super::LicenceError;

/// The files the signature covers, in order \[S\].
pub const SIGNED_FILES: [&str; 3] = ["DF1/EF01", "DF1/EF02", "DF2/EF01"];
/// Most bytes accepted in a name of EF07.
pub const MAX_NAME_LEN: usize = 256;

/// DF1/EF07, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureRecord {
    /// `B1`: the signature value.
    pub signature: Vec<u8>,
    /// `B2`: serial.
    pub serial: Vec<u8>,
    /// `B3`: issuer name, as the chip writes it (not covered by the `B1` signature).
    pub issuer: String,
    /// `B4`: subject name, as the chip writes it (not covered by the `B1` signature).
    pub subject: String,
    /// `B5`: subject key identifier.
    pub ski: Vec<u8>,
    /// `B6` (this emulator only): SHA-256 of each signed file.
    pub digests: Option<[[u8; 32]; 3]>,
}

const FILE: &str = "DF1/EF07";

impl SignatureRecord {
    /// Parses DF1/EF07.
    pub fn parse(bytes: &[u8]) -> Result<SignatureRecord, FileError> {
        let tlvs = parse_tlvs(FILE, bytes)?;
        let get = |tag: u16| tlvs.iter().find(|t| t.tag == tag).map(|t| t.value);
        let need = |tag: u16| get(tag).ok_or(FileError::Missing { file: FILE, tag });
        let bad = |tag: u16, why: &'static str| FileError::BadValue { file: FILE, tag, why };
        let name = |tag: u16| -> Result<String, FileError> {
            let v = need(tag)?;
            if v.len() > MAX_NAME_LEN {
                return Err(bad(tag, "name too long"));
            }
            String::from_utf8(v.to_vec()).map_err(|_| bad(tag, "name is not UTF-8"))
        };
        let signature = need(0xB1)?;
        if signature.is_empty() || signature.len() > 512 {
            return Err(bad(0xB1, "signature length out of range"));
        }
        let ski = need(0xB5)?;
        if ski.is_empty() || ski.len() > 64 {
            return Err(bad(0xB5, "key identifier length out of range"));
        }
        let digests = match get(0xB6) {
            None => None,
            Some(v) if v.len() == 96 => {
                let mut d = [[0u8; 32]; 3];
                for (o, c) in d.iter_mut().zip(v.chunks_exact(32)) {
                    o.copy_from_slice(c);
                }
                Some(d)
            }
            Some(_) => return Err(bad(0xB6, "not 3 SHA-256 hashes")),
        };
        let serial = need(0xB2)?;
        if serial.len() > 32 {
            return Err(bad(0xB2, "serial too long"));
        }
        Ok(SignatureRecord {
            signature: signature.to_vec(),
            serial: serial.to_vec(),
            issuer: name(0xB3)?,
            subject: name(0xB4)?,
            ski: ski.to_vec(),
            digests,
        })
    }

    /// Encodes DF1/EF07 (578 bytes).
    pub fn encode(&self) -> Vec<u8> {
        let mut b = encode_tlv(0xB1, &self.signature);
        b.extend(encode_tlv(0xB2, &self.serial));
        b.extend(encode_tlv(0xB3, self.issuer.as_bytes()));
        b.extend(encode_tlv(0xB4, self.subject.as_bytes()));
        b.extend(encode_tlv(0xB5, &self.ski));
        if let Some(d) = &self.digests {
            b.extend(encode_tlv(0xB6, &d.concat()));
        }
        pad_file(b, DF1_SIZES[6])
    }
}

/// The sizes the spec gives DF1/EF01 (880 bytes) and DF1/EF02 (82 bytes) \[V\]: fixed, they pin
/// where each file of the signed concatenation starts, so no byte can move from one file into
/// another under the same signature. DF2/EF01 (the photo, "~2000 bytes") is the rest.
pub const SIGNED_SIZES: [(&str, usize); 2] = [("DF1/EF01", DF1_SIZES[0]), ("DF1/EF02", DF1_SIZES[1])];

/// Refuses a signed file that is not its fixed size ([`SIGNED_SIZES`]): EF07 signs the three files
/// concatenated, and only fixed sizes make that concatenation say which byte is whose.
pub fn check_signed_size(file: &'static str, bytes: &[u8]) -> Result<(), LicenceError> {
    match SIGNED_SIZES.iter().find(|(name, _)| *name == file) {
        Some(&(_, expected)) if bytes.len() != expected => {
            Err(LicenceError::SignedFileSize { file, len: bytes.len(), expected })
        }
        _ => Ok(()),
    }
}

/// The message the signature covers: DF1/EF01 ‖ DF1/EF02 ‖ DF2/EF01, each file whole as read.
/// The caller has checked the sizes ([`check_signed_size`]).
pub fn signed_message(files: [&[u8]; 3]) -> Vec<u8> {
    files.concat()
}

/// SHA-256 of each signed file (for `B6`).
pub fn file_digests(files: [&[u8]; 3]) -> [[u8; 32]; 3] {
    files.map(|f| Sha256::digest(f).into())
}

/// What a verified signature says about its signer: only what was verified — the trusted key
/// that verified it. EF07's `B3`/`B4` names are not here: the `B1` signature does not cover them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The configured name of the trusted police key that verified the signature
    /// ([`crate::PoliceKey::name`]).
    pub key_name: String,
    /// The key identifier (hex) that selected the key.
    pub ski_hex: String,
    /// The algorithm, in words.
    pub algorithm: &'static str,
}

/// Verifies EF07 over the three files with the police key `trust` holds under its SKI. A
/// DF1/EF01 or DF1/EF02 not of its fixed size is refused first ([`check_signed_size`]).
pub fn verify_signature(
    crypto: CryptoFunction,
    record: &SignatureRecord,
    files: [&[u8]; 3],
    police_keys: &[crate::PoliceKey],
) -> Result<Verified, LicenceError> {
    let (algorithm, words) = match crypto {
        CryptoFunction::RSA2048_SHA256 => {
            (SignatureAlgorithm::RsaPkcs1Sha256, "RSA-2048 PKCS#1 v1.5 SHA-256 over DF1/EF01 ‖ DF1/EF02 ‖ DF2/EF01")
        }
        CryptoFunction(other) => return Err(LicenceError::UnknownCryptoFunction(other)),
    };
    for (name, bytes) in SIGNED_FILES.iter().zip(files) {
        check_signed_size(name, bytes)?;
    }
    let ski_hex = hex::encode_upper(&record.ski);
    let trusted = police_keys
        .iter()
        .find(|k| k.ski == record.ski)
        .ok_or_else(|| LicenceError::UnknownSigningKey { ski: ski_hex.clone() })?;
    let key = RsaPublicKey::from_spki_der(&trusted.spki).map_err(|e| LicenceError::BadTrustAnchor(e.to_string()))?;
    if key.verify(algorithm, &signed_message(files), &record.signature).is_ok() {
        return Ok(Verified { key_name: trusted.name.clone(), ski_hex, algorithm: words });
    }
    // Which file? Only the diagnostic hashes can say.
    let changed: Vec<&'static str> = match &record.digests {
        Some(d) => {
            let now = file_digests(files);
            SIGNED_FILES.iter().zip(now.iter().zip(d)).filter(|(_, (a, b))| a != b).map(|(n, _)| *n).collect()
        }
        None => SIGNED_FILES.to_vec(),
    };
    if changed.is_empty() {
        Err(LicenceError::BadSignature { ski: ski_hex })
    } else {
        Err(LicenceError::Tampered { files: changed })
    }
}
