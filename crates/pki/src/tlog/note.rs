//! Signed notes (C2SP `signed-note`) and log checkpoints (C2SP `tlog-checkpoint`).
//!
//! ```text
//! <text, ending in a newline>              -- for a checkpoint:   <origin>\n
//! \n                                       --                     <tree size, decimal>\n
//! — <key name> <base64(key hash ‖ sig)>\n  --                     <root hash, base64>\n
//! …                                        --                     [<extension line>\n]…
//! ```
//!
//! The key hash is the first four bytes (big-endian) of `SHA-256(name ‖ 0x0A ‖ 0x01 ‖ pubkey)`
//! for an Ed25519 key (signature type `0x01`); the signature is Ed25519 over the text. A
//! verifier key is written `<name>+<hex key hash>+<base64(0x01 ‖ pubkey)>`, as
//! golang.org/x/mod/sumdb/note and every tlog witness read it.

use core::fmt;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair as _, UnparsedPublicKey, ED25519};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use zeroize::Zeroizing;

use super::Hash;
use crate::SignerError;

/// Largest note [`SignedNote::parse`] reads.
pub const MAX_NOTE_LEN: usize = 64 * 1024;
/// Most signature lines a note may carry (as golang.org/x/mod/sumdb/note).
pub const MAX_NOTE_SIGNATURES: usize = 100;

/// The signature type byte of Ed25519 keys.
const ALG_ED25519: u8 = 0x01;
/// The line prefix of a signature: an em dash and a space.
const SIG_PREFIX: &str = "\u{2014} ";

/// A note or checkpoint was malformed, or its signature did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoteError {
    /// The note exceeds [`MAX_NOTE_LEN`].
    #[error("note of {len} bytes exceeds the {max}-byte budget")]
    TooLarge {
        /// Its length.
        len: usize,
        /// The budget.
        max: usize,
    },
    /// Not the signed-note syntax (the reason says where).
    #[error("malformed note: {0}")]
    Malformed(&'static str),
    /// Not the checkpoint syntax.
    #[error("malformed checkpoint: {0}")]
    MalformedCheckpoint(&'static str),
    /// A key name or verifier key string is not acceptable.
    #[error("bad key: {0}")]
    BadKey(&'static str),
    /// No signature of the expected key is on the note.
    #[error("the note carries no signature by {name}+{key_hash:08x}")]
    NoSignature {
        /// The key name.
        name: String,
        /// Its key hash.
        key_hash: u32,
    },
    /// The signature by the expected key does not verify.
    #[error("the signature by {name} does not verify")]
    BadSignature {
        /// The key name.
        name: String,
    },
    /// The checkpoint's origin is not the expected one.
    #[error("checkpoint origin {found:?} is not {expected:?}")]
    WrongOrigin {
        /// The expected origin.
        expected: String,
        /// The checkpoint's.
        found: String,
    },
    /// The signer failed.
    #[error(transparent)]
    Signer(#[from] SignerError),
}

/// The key hash of an Ed25519 key named `name` (C2SP signed-note, "Signatures").
pub fn key_hash(name: &str, public_key: &[u8; 32]) -> u32 {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    ctx.update(name.as_bytes());
    ctx.update(b"\n");
    ctx.update(&[ALG_ED25519]);
    ctx.update(public_key);
    let d = ctx.finish();
    let b = d.as_ref();
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// A key name: non-empty, no `+`, no whitespace, no control characters.
fn check_key_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty() {
        return Err(NoteError::BadKey("empty key name"));
    }
    if name.chars().any(|c| c == '+' || c.is_whitespace() || c.is_control()) {
        return Err(NoteError::BadKey("key name contains '+', a space or a control character"));
    }
    Ok(())
}

/// An Ed25519 key that signs notes (a log's checkpoint key).
///
/// Implementations keep the private key inside (a file, an HSM): the trait has no way out.
pub trait NoteSigner {
    /// The key name (a checkpoint key is usually named after the log's origin).
    fn name(&self) -> &str;
    /// The Ed25519 public key.
    fn public_key(&self) -> [u8; 32];
    /// Signs `message` with Ed25519.
    fn sign(&self, message: &[u8]) -> Result<[u8; 64], SignerError>;

    /// The key hash that identifies the key in signature lines.
    fn key_hash(&self) -> u32 {
        key_hash(self.name(), &self.public_key())
    }

    /// The verifier key string `<name>+<hash>+<base64>` a relying party configures.
    fn verifier_key(&self) -> String {
        let mut key = vec![ALG_ED25519];
        key.extend_from_slice(&self.public_key());
        format!("{}+{:08x}+{}", self.name(), self.key_hash(), B64.encode(key))
    }
}

impl<S: NoteSigner + ?Sized> NoteSigner for &S {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn public_key(&self) -> [u8; 32] {
        (**self).public_key()
    }
    fn sign(&self, message: &[u8]) -> Result<[u8; 64], SignerError> {
        (**self).sign(message)
    }
}

/// An Ed25519 note key held in memory (aws-lc), saved as PKCS#8.
///
/// `Debug` prints the name and key hash only; the PKCS#8 export is zeroised on drop.
pub struct Ed25519NoteKey {
    name: String,
    pair: Ed25519KeyPair,
}

impl Ed25519NoteKey {
    /// A fresh key named `name`.
    pub fn generate(name: &str) -> Result<Ed25519NoteKey, NoteError> {
        check_key_name(name)?;
        let pair = Ed25519KeyPair::generate().map_err(|e| SignerError::Failed(e.to_string()))?;
        Ok(Ed25519NoteKey { name: name.to_owned(), pair })
    }

    /// Loads a key from PKCS#8 DER (v1 or v2).
    pub fn from_pkcs8(name: &str, der: &[u8]) -> Result<Ed25519NoteKey, NoteError> {
        check_key_name(name)?;
        let pair =
            Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(|e| SignerError::KeyRejected(e.to_string()))?;
        Ok(Ed25519NoteKey { name: name.to_owned(), pair })
    }

    /// A key from its 32-byte Ed25519 seed (the golang.org/x/mod/sumdb/note private key form
    /// `PRIVATE+KEY+<name>+<hash>+base64(0x01 ‖ seed)` carries the seed).
    pub fn from_seed(name: &str, seed: &[u8]) -> Result<Ed25519NoteKey, NoteError> {
        check_key_name(name)?;
        let pair = Ed25519KeyPair::from_seed_unchecked(seed).map_err(|e| SignerError::KeyRejected(e.to_string()))?;
        Ok(Ed25519NoteKey { name: name.to_owned(), pair })
    }

    /// The key as PKCS#8 v1 DER, zeroised when dropped. Only the key store should call this.
    pub fn to_pkcs8(&self) -> Result<Zeroizing<Vec<u8>>, SignerError> {
        let der = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&self.pair)
            .map_err(|e| SignerError::Failed(e.to_string()))?;
        Ok(Zeroizing::new(der.as_ref().to_vec()))
    }
}

impl fmt::Debug for Ed25519NoteKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ed25519NoteKey({}+{:08x}, [elided])", self.name, self.key_hash())
    }
}

impl NoteSigner for Ed25519NoteKey {
    fn name(&self) -> &str {
        &self.name
    }
    fn public_key(&self) -> [u8; 32] {
        let mut pk = [0u8; 32];
        pk.copy_from_slice(self.pair.public_key().as_ref());
        pk
    }
    fn sign(&self, message: &[u8]) -> Result<[u8; 64], SignerError> {
        let sig = self.pair.try_sign(message).map_err(|e| SignerError::Failed(e.to_string()))?;
        let mut out = [0u8; 64];
        out.copy_from_slice(sig.as_ref());
        Ok(out)
    }
}

/// A verifier key: a name, a key hash and an Ed25519 public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    key_hash: u32,
    public_key: [u8; 32],
}

impl NoteVerifier {
    /// Parses `<name>+<8 hex digits>+<base64(0x01 ‖ pubkey)>`; the hash must match the key.
    pub fn parse(vkey: &str) -> Result<NoteVerifier, NoteError> {
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(hash), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(NoteError::BadKey("not <name>+<hash>+<key>"));
        };
        check_key_name(name)?;
        if hash.len() != 8 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(NoteError::BadKey("key hash is not 8 hex digits"));
        }
        let hash = u32::from_str_radix(hash, 16).map_err(|_| NoteError::BadKey("key hash is not 8 hex digits"))?;
        let key = B64.decode(key).map_err(|_| NoteError::BadKey("key is not base64"))?;
        let public_key: [u8; 32] = match key.as_slice() {
            [ALG_ED25519, rest @ ..] => {
                rest.try_into().map_err(|_| NoteError::BadKey("Ed25519 key is not 32 bytes"))?
            }
            _ => return Err(NoteError::BadKey("unknown key type")),
        };
        let verifier = NoteVerifier::new(name, public_key)?;
        if verifier.key_hash != hash {
            return Err(NoteError::BadKey("key hash does not match the key"));
        }
        Ok(verifier)
    }

    /// A verifier for `public_key` named `name`.
    pub fn new(name: &str, public_key: [u8; 32]) -> Result<NoteVerifier, NoteError> {
        check_key_name(name)?;
        Ok(NoteVerifier { name: name.to_owned(), key_hash: key_hash(name, &public_key), public_key })
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key hash.
    pub fn key_hash(&self) -> u32 {
        self.key_hash
    }

    /// The Ed25519 public key.
    pub fn public_key(&self) -> &[u8; 32] {
        &self.public_key
    }

    /// The string form [`NoteVerifier::parse`] reads.
    pub fn to_vkey(&self) -> String {
        let mut key = vec![ALG_ED25519];
        key.extend_from_slice(&self.public_key);
        format!("{}+{:08x}+{}", self.name, self.key_hash, B64.encode(key))
    }
}

/// One signature line of a note, not yet verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    /// The key name.
    pub name: String,
    /// The key hash (first four bytes of the decoded signature).
    pub key_hash: u32,
    /// The signature proper (after the key hash).
    pub signature: Vec<u8>,
}

/// A note: text and signature lines, parsed but not verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedNote {
    text: String,
    signatures: Vec<NoteSignature>,
}

fn check_text(text: &str) -> Result<(), NoteError> {
    if text.is_empty() || !text.ends_with('\n') {
        return Err(NoteError::Malformed("the text must be non-empty and end with a newline"));
    }
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(NoteError::Malformed("the text contains a control character"));
    }
    Ok(())
}

impl SignedNote {
    /// Signs `text` (which must end with a newline) with every signer, in order.
    pub fn sign(text: &str, signers: &[&dyn NoteSigner]) -> Result<SignedNote, NoteError> {
        check_text(text)?;
        if text.len() > MAX_NOTE_LEN {
            return Err(NoteError::TooLarge { len: text.len(), max: MAX_NOTE_LEN });
        }
        let mut signatures = Vec::with_capacity(signers.len());
        for signer in signers {
            check_key_name(signer.name())?;
            signatures.push(NoteSignature {
                name: signer.name().to_owned(),
                key_hash: signer.key_hash(),
                signature: signer.sign(text.as_bytes())?.to_vec(),
            });
        }
        Ok(SignedNote { text: text.to_owned(), signatures })
    }

    /// Parses a signed note (text, a blank line, one or more signature lines), within
    /// [`MAX_NOTE_LEN`] and [`MAX_NOTE_SIGNATURES`].
    pub fn parse(bytes: &[u8]) -> Result<SignedNote, NoteError> {
        if bytes.len() > MAX_NOTE_LEN {
            return Err(NoteError::TooLarge { len: bytes.len(), max: MAX_NOTE_LEN });
        }
        let all = core::str::from_utf8(bytes).map_err(|_| NoteError::Malformed("not UTF-8"))?;
        // The signature block starts after the last blank line.
        let split = all.rfind("\n\n").ok_or(NoteError::Malformed("no signature block"))?;
        let (text, block) = (&all[..=split], &all[split + 2..]);
        check_text(text)?;
        if block.is_empty() || !block.ends_with('\n') {
            return Err(NoteError::Malformed("the signature block must end with a newline"));
        }
        let mut signatures = Vec::new();
        for line in block[..block.len() - 1].split('\n') {
            if signatures.len() == MAX_NOTE_SIGNATURES {
                return Err(NoteError::Malformed("too many signatures"));
            }
            let rest = line.strip_prefix(SIG_PREFIX).ok_or(NoteError::Malformed("a signature line lacks '— '"))?;
            let (name, sig) =
                rest.split_once(' ').ok_or(NoteError::Malformed("a signature line lacks its key name"))?;
            check_key_name(name).map_err(|_| NoteError::Malformed("bad key name in a signature line"))?;
            let sig = B64.decode(sig).map_err(|_| NoteError::Malformed("signature is not base64"))?;
            if sig.len() < 5 {
                return Err(NoteError::Malformed("signature too short"));
            }
            signatures.push(NoteSignature {
                name: name.to_owned(),
                key_hash: u32::from_be_bytes([sig[0], sig[1], sig[2], sig[3]]),
                signature: sig[4..].to_vec(),
            });
        }
        Ok(SignedNote { text: text.to_owned(), signatures })
    }

    /// The signed text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The signature lines, unverified.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Checks the signature of `verifier`'s key (others are ignored, as the spec requires).
    pub fn verify(&self, verifier: &NoteVerifier) -> Result<(), NoteError> {
        let mut found = false;
        for s in self.signatures.iter().filter(|s| s.name == verifier.name && s.key_hash == verifier.key_hash) {
            found = true;
            UnparsedPublicKey::new(&ED25519, verifier.public_key)
                .verify(self.text.as_bytes(), &s.signature)
                .map_err(|_| NoteError::BadSignature { name: verifier.name.clone() })?;
        }
        if !found {
            return Err(NoteError::NoSignature { name: verifier.name.clone(), key_hash: verifier.key_hash });
        }
        Ok(())
    }

    /// The note in its wire form.
    pub fn to_text(&self) -> String {
        let mut out = self.text.clone();
        out.push('\n');
        for s in &self.signatures {
            let mut sig = s.key_hash.to_be_bytes().to_vec();
            sig.extend_from_slice(&s.signature);
            out.push_str(SIG_PREFIX);
            out.push_str(&s.name);
            out.push(' ');
            out.push_str(&B64.encode(sig));
            out.push('\n');
        }
        out
    }
}

/// A log checkpoint (C2SP `tlog-checkpoint`): the log's origin, its size and root hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's unique name, e.g. `hanko.invalid/platform/evidence`.
    pub origin: String,
    /// The tree size.
    pub size: u64,
    /// The root hash of the first `size` leaves.
    pub root: Hash,
    /// Extension lines (each non-empty, without its newline).
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// The note text (`origin\nsize\nbase64(root)\n` + extension lines).
    pub fn to_text(&self) -> Result<String, NoteError> {
        if self.origin.is_empty() || self.origin.contains('\n') {
            return Err(NoteError::MalformedCheckpoint("the origin must be one non-empty line"));
        }
        if self.extensions.iter().any(|e| e.is_empty() || e.contains('\n')) {
            return Err(NoteError::MalformedCheckpoint("extension lines must be non-empty lines"));
        }
        let mut text = format!("{}\n{}\n{}\n", self.origin, self.size, B64.encode(self.root));
        for e in &self.extensions {
            text.push_str(e);
            text.push('\n');
        }
        check_text(&text)?;
        Ok(text)
    }

    /// Parses a checkpoint note text.
    pub fn parse_text(text: &str) -> Result<Checkpoint, NoteError> {
        check_text(text)?;
        let mut lines = text[..text.len() - 1].split('\n');
        let origin = lines.next().filter(|o| !o.is_empty()).ok_or(NoteError::MalformedCheckpoint("empty origin"))?;
        let size = lines.next().ok_or(NoteError::MalformedCheckpoint("no tree size"))?;
        if size.is_empty() || !size.bytes().all(|b| b.is_ascii_digit()) || (size.len() > 1 && size.starts_with('0')) {
            return Err(NoteError::MalformedCheckpoint("the tree size is not a decimal without leading zeros"));
        }
        let size: u64 = size.parse().map_err(|_| NoteError::MalformedCheckpoint("the tree size overflows"))?;
        let root = lines.next().ok_or(NoteError::MalformedCheckpoint("no root hash"))?;
        let root = B64.decode(root).map_err(|_| NoteError::MalformedCheckpoint("the root hash is not base64"))?;
        let root: Hash =
            root.as_slice().try_into().map_err(|_| NoteError::MalformedCheckpoint("the root hash is not 32 bytes"))?;
        let mut extensions = Vec::new();
        for line in lines {
            if line.is_empty() {
                return Err(NoteError::MalformedCheckpoint("empty extension line"));
            }
            extensions.push(line.to_owned());
        }
        Ok(Checkpoint { origin: origin.to_owned(), size, root, extensions })
    }

    /// Signs the checkpoint into a note.
    pub fn sign(&self, signer: &dyn NoteSigner) -> Result<SignedNote, NoteError> {
        SignedNote::sign(&self.to_text()?, &[signer])
    }

    /// Parses a signed checkpoint note, checks `verifier`'s signature and that the origin is
    /// `origin`.
    pub fn open(note: &[u8], verifier: &NoteVerifier, origin: &str) -> Result<Checkpoint, NoteError> {
        let note = SignedNote::parse(note)?;
        note.verify(verifier)?;
        let checkpoint = Checkpoint::parse_text(note.text())?;
        if checkpoint.origin != origin {
            return Err(NoteError::WrongOrigin { expected: origin.to_owned(), found: checkpoint.origin });
        }
        Ok(checkpoint)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// golang.org/x/mod/sumdb/note `TestSign` / `TestOpen`: the PeterNeumann key.
    const PETER_SKEY: &str = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
    const TEXT: &str =
        "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
    const PETER_SIG: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
    const ENOCH_SIG: &str = "\u{2014} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

    fn peter() -> Ed25519NoteKey {
        let encoded = PETER_SKEY.splitn(5, '+').nth(4).unwrap();
        let raw = B64.decode(encoded).unwrap();
        assert_eq!(raw[0], ALG_ED25519);
        Ed25519NoteKey::from_seed("PeterNeumann", &raw[1..]).unwrap()
    }

    #[test]
    fn reproduces_the_sumdb_note_vectors() {
        let key = peter();
        assert_eq!(key.key_hash(), 0xc74f20a3);
        assert_eq!(key.verifier_key(), PETER_VKEY);
        let note = SignedNote::sign(TEXT, &[&key]).unwrap();
        assert_eq!(note.to_text(), format!("{TEXT}\n{PETER_SIG}"));

        let peter_v = NoteVerifier::parse(PETER_VKEY).unwrap();
        let enoch_v = NoteVerifier::parse(ENOCH_VKEY).unwrap();
        assert_eq!(peter_v.to_vkey(), PETER_VKEY);
        let both = SignedNote::parse(format!("{TEXT}\n{PETER_SIG}{ENOCH_SIG}").as_bytes()).unwrap();
        assert_eq!(both.text(), TEXT);
        assert_eq!(both.signatures().len(), 2);
        both.verify(&peter_v).unwrap();
        both.verify(&enoch_v).unwrap();

        let only_peter = SignedNote::parse(format!("{TEXT}\n{PETER_SIG}").as_bytes()).unwrap();
        assert!(matches!(only_peter.verify(&enoch_v), Err(NoteError::NoSignature { .. })));

        // A corrupted signature (TestOpen's "ABCD" insertion keeps valid base64).
        let bad = format!("{TEXT}\n{}ABCD{}", &PETER_SIG[..60], &PETER_SIG[60..]);
        let bad = SignedNote::parse(bad.as_bytes()).unwrap();
        assert!(matches!(bad.verify(&peter_v), Err(NoteError::BadSignature { .. })));
    }

    #[test]
    fn verifier_keys_reject_manglings() {
        assert!(NoteVerifier::parse(PETER_VKEY).is_ok());
        let b = PETER_VKEY.as_bytes();
        for i in 0..=b.len() {
            for j in i + 1..=b.len() {
                if i != 0 || j != b.len() {
                    let s = String::from_utf8_lossy(&b[i..j]);
                    assert!(NoteVerifier::parse(&s).is_err(), "{s}");
                }
            }
        }
        for i in 0..b.len() {
            let mut m = b.to_vec();
            m[i] = m[i].wrapping_add(1);
            let s = String::from_utf8_lossy(&m);
            // Base64 has several encodings of the same final bits; a mangled padding bit still
            // decodes to the same key, and then the key hash still matches.
            if let Ok(v) = NoteVerifier::parse(&s) {
                assert_eq!(v, NoteVerifier::parse(PETER_VKEY).unwrap(), "{s}");
            }
        }
        // The sumdb wrong-length and unknown-algorithm keys.
        assert!(
            NoteVerifier::parse("PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==").is_err()
        );
        assert!(NoteVerifier::parse("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW").is_err());
    }

    #[test]
    fn rejects_malformed_notes() {
        let bad = [
            TEXT.to_owned(),
            format!("{TEXT}\n"),
            format!("{TEXT}\n{}", &PETER_SIG[..PETER_SIG.len() - 1]),
            format!("\x01{TEXT}\n{PETER_SIG}"),
            format!("{TEXT}\n\u{2014} Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"),
            format!("{TEXT}\n{PETER_SIG}Unexpected line.\n"),
            format!("{TEXT}\n{}", PETER_SIG.repeat(MAX_NOTE_SIGNATURES + 1)),
        ];
        for note in bad {
            assert!(SignedNote::parse(note.as_bytes()).is_err(), "{note:?}");
        }
        assert!(SignedNote::parse(&[0xff, b'\n', b'\n']).is_err());
        let huge = vec![b'a'; MAX_NOTE_LEN + 1];
        assert_eq!(SignedNote::parse(&huge), Err(NoteError::TooLarge { len: MAX_NOTE_LEN + 1, max: MAX_NOTE_LEN }));
    }

    #[test]
    fn checkpoints_round_trip_and_verify() {
        let key = Ed25519NoteKey::generate("hanko.invalid/evidence").unwrap();
        let cp = Checkpoint {
            origin: "hanko.invalid/evidence".into(),
            size: 8,
            root: [7; 32],
            extensions: vec!["time 2026-01-01T00:00:00Z".into()],
        };
        let text = cp.to_text().unwrap();
        assert_eq!(
            text,
            "hanko.invalid/evidence\n8\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\ntime 2026-01-01T00:00:00Z\n"
        );
        let note = cp.sign(&key).unwrap().to_text();
        let verifier = NoteVerifier::parse(&key.verifier_key()).unwrap();
        assert_eq!(Checkpoint::open(note.as_bytes(), &verifier, "hanko.invalid/evidence").unwrap(), cp);
        assert!(matches!(Checkpoint::open(note.as_bytes(), &verifier, "other"), Err(NoteError::WrongOrigin { .. })));
        // Any changed byte of the body breaks the signature or the syntax.
        for i in 0..text.len() {
            let mut b = note.clone().into_bytes();
            b[i] ^= 0x01;
            assert!(Checkpoint::open(&b, &verifier, "hanko.invalid/evidence").is_err(), "byte {i}");
        }
        // A key reloaded from PKCS#8 signs for the same verifier.
        let again = Ed25519NoteKey::from_pkcs8("hanko.invalid/evidence", &key.to_pkcs8().unwrap()).unwrap();
        assert_eq!(again.verifier_key(), key.verifier_key());
        assert!(format!("{again:?}").contains("[elided]"));

        for bad in ["\n1\nAA==\n", "o\n01\n", "o\n-1\n", "o\n1\nAA==\n", "o\n1\n", "o\n99999999999999999999\n"] {
            assert!(Checkpoint::parse_text(bad).is_err(), "{bad:?}");
        }
        let ok = format!("o\n0\n{}\n", B64.encode([0u8; 32]));
        assert_eq!(Checkpoint::parse_text(&ok).unwrap().size, 0);
        assert!(Checkpoint::parse_text(&format!("o\n0\n{}\n\n", B64.encode([0u8; 32]))).is_err());
        assert!(Ed25519NoteKey::generate("bad+name").is_err());
    }
}
