//! Document images on disk, like card images: `documents/<id>.document` under the data directory,
//! sealed with the data directory's `card-seal.key`, used by one process at a time (an exclusive
//! lock on `documents/<id>.lock`), and written — temp file, fsync, rename, directory fsync —
//! **before** the response to a command that changed the chip leaves (a licence PIN try is never
//! lost: [`hanko_documents::Chip::take_dirty`]).
//!
//! The image is a small JSON envelope around one AES-256-GCM box:
//!
//! ```text
//! {"format": "hanko-document-image", "version": 1, "id": "<id>", "kind": "<kind>",
//!  "sealed": hex(nonce 12 ‖ ciphertext ‖ tag 16)}
//! ```
//!
//! The plaintext is the chip's serde form (JSON; private keys and PINs included), the key is
//! SHA-256("hanko document image key v1" ‖ sealing key) — apart from the card images' keys —
//! and the additional data binds the format, version, id and kind: an image renamed, moved to
//! another data directory, relabelled or edited does not load. An image alone reveals nothing
//! of the holder; the kind and id are in clear so that a listing needs no key.

use std::fs;
use std::path::{Path, PathBuf};

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use hanko_card::{SealKey, Transport, TransportError};
use hanko_documents::{Chip, DocumentChip};
use hanko_store::write_atomic;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::image_file::{check_id, io_err, list_in, lock_in, seal_key};
use crate::CardFileError;

type Result<T> = std::result::Result<T, CardFileError>;

/// The envelope's `format`.
pub const DOCUMENT_IMAGE_FORMAT: &str = "hanko-document-image";
/// The envelope's `version`.
pub const DOCUMENT_IMAGE_VERSION: u32 = 1;
/// Largest document image read, in bytes (a passport with a large DG2 stays far below).
pub const MAX_DOCUMENT_IMAGE_LEN: u64 = 8 * 1024 * 1024;
const SUFFIX: &str = ".document";

/// Where a data directory keeps its emulated documents.
pub fn documents_dir(data: &Path) -> PathBuf {
    data.join("documents")
}

/// A chip that can live in an image file: [`DocumentChip`], or a test double.
pub trait ImageChip: Chip + Serialize + DeserializeOwned {
    /// The kind written in clear into the envelope (`driver_licence`, `passport`, …).
    fn image_kind(&self) -> String;
}

impl ImageChip for DocumentChip {
    fn image_kind(&self) -> String {
        self.kind().as_str().to_owned()
    }
}

#[derive(Serialize, Deserialize)]
struct Envelope {
    format: String,
    version: u32,
    id: String,
    kind: String,
    sealed: String,
}

fn aad(id: &str, kind: &str) -> String {
    format!("{DOCUMENT_IMAGE_FORMAT}\0{DOCUMENT_IMAGE_VERSION}\0{id}\0{kind}")
}

fn aead(seal: &SealKey) -> std::result::Result<LessSafeKey, &'static str> {
    let key = Zeroizing::new(
        aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA256,
            &[b"hanko document image key v1".as_slice(), seal.expose().as_slice()].concat(),
        )
        .as_ref()
        .to_vec(),
    );
    Ok(LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &key).map_err(|_| "AES-256-GCM key")?))
}

/// Seals `chip` into an image for `id`.
pub(crate) fn to_image<C: ImageChip>(chip: &C, id: &str, seal: &SealKey) -> std::result::Result<Vec<u8>, String> {
    let kind = chip.image_kind();
    let mut buf = Zeroizing::new(serde_json::to_vec(chip).map_err(|e| format!("serialising the chip: {e}"))?);
    let mut nonce = [0u8; NONCE_LEN];
    aws_lc_rs::rand::fill(&mut nonce).map_err(|_| "no randomness for a nonce".to_owned())?;
    let tag = aead(seal)?
        .seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad(id, &kind).as_bytes()), &mut buf)
        .map_err(|_| "sealing failed".to_owned())?;
    let mut sealed = nonce.to_vec();
    sealed.extend_from_slice(&buf);
    sealed.extend_from_slice(tag.as_ref());
    let env = Envelope {
        format: DOCUMENT_IMAGE_FORMAT.into(),
        version: DOCUMENT_IMAGE_VERSION,
        id: id.into(),
        kind,
        sealed: hex::encode(sealed),
    };
    serde_json::to_vec_pretty(&env).map_err(|e| e.to_string())
}

fn envelope(bytes: &[u8]) -> std::result::Result<Envelope, String> {
    let env: Envelope = serde_json::from_slice(bytes).map_err(|_| "not a document image".to_owned())?;
    if env.format != DOCUMENT_IMAGE_FORMAT {
        return Err("not a document image".into());
    }
    if env.version != DOCUMENT_IMAGE_VERSION {
        return Err(format!(
            "document image version {} is not supported (this hanko reads version {DOCUMENT_IMAGE_VERSION})",
            env.version
        ));
    }
    Ok(env)
}

/// Opens an image: the chip and the id it was sealed for.
pub(crate) fn from_image<C: ImageChip>(bytes: &[u8], seal: &SealKey) -> std::result::Result<(C, String), String> {
    let env = envelope(bytes)?;
    let raw = hex::decode(&env.sealed).map_err(|_| "sealed value is not hex".to_owned())?;
    if raw.len() < NONCE_LEN + 16 {
        return Err("sealed value too short".into());
    }
    let (nonce, rest) = raw.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| "nonce".to_owned())?;
    let mut buf = Zeroizing::new(rest.to_vec());
    let plain = aead(seal)?
        .open_in_place(nonce, Aad::from(aad(&env.id, &env.kind).as_bytes()), &mut buf)
        .map_err(|_| "does not open with this sealing key (another key, or tampering)".to_owned())?;
    let chip: C = serde_json::from_slice(plain).map_err(|e| format!("the sealed chip does not load: {e}"))?;
    if chip.image_kind() != env.kind {
        return Err("the sealed chip is not of the kind the image says".into());
    }
    Ok((chip, env.id))
}

fn read_bounded(path: &Path) -> Result<Vec<u8>> {
    let len = fs::metadata(path).map_err(io_err("reading", path))?.len();
    if len > MAX_DOCUMENT_IMAGE_LEN {
        return Err(CardFileError::Image {
            path: path.to_owned(),
            reason: format!("larger than {MAX_DOCUMENT_IMAGE_LEN} bytes"),
        });
    }
    fs::read(path).map_err(io_err("reading", path))
}

/// An emulated document of the data directory, opened for use (locked): every change of the
/// chip's persistent state is on disk before the response that follows it leaves.
pub struct ChipFile<C: ImageChip> {
    _lock: fs::File,
    path: PathBuf,
    id: String,
    seal: SealKey,
    chip: C,
    /// A write failed: the chip changed in memory but not on disk. The next command writes
    /// first; until then no response leaves.
    unsaved: bool,
    /// A write inside the last command failed: its response must not leave.
    failed: Option<std::io::Error>,
}

/// A document image ([`DocumentChip`]) opened for use.
pub type DocumentFile = ChipFile<DocumentChip>;

impl<C: ImageChip> core::fmt::Debug for ChipFile<C> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "ChipFile({}, {}, [elided])", self.id, self.chip.image_kind())
    }
}

impl<C: ImageChip> ChipFile<C> {
    /// Opens `documents/<id>.document`.
    pub fn open(data: &Path, id: &str) -> Result<ChipFile<C>> {
        check_id(id)?;
        let dir = documents_dir(data);
        let path = dir.join(format!("{id}{SUFFIX}"));
        if !path.exists() {
            return Err(CardFileError::NotFound { id: id.to_owned(), dir });
        }
        // Read only under the lock: what we load is what the last holder wrote.
        let lock = lock_in(&dir, id)?;
        let bytes = read_bounded(&path)?;
        let seal = seal_key(data)?;
        let (chip, stored) =
            from_image::<C>(&bytes, &seal).map_err(|reason| CardFileError::Image { path: path.clone(), reason })?;
        if stored != id {
            return Err(CardFileError::Image { path, reason: format!("holds document {stored}, not {id}") });
        }
        Ok(ChipFile { _lock: lock, path, id: id.to_owned(), seal, chip, unsaved: false, failed: None })
    }

    /// Writes a new document image (durably) and opens it; refuses an id in use.
    pub fn create(data: &Path, id: &str, chip: C) -> Result<ChipFile<C>> {
        check_id(id)?;
        let dir = documents_dir(data);
        let path = dir.join(format!("{id}{SUFFIX}"));
        let lock = lock_in(&dir, id)?;
        if path.exists() {
            return Err(CardFileError::Exists(id.to_owned()));
        }
        let f = ChipFile {
            _lock: lock,
            path,
            id: id.to_owned(),
            seal: seal_key(data)?,
            chip,
            unsaved: false,
            failed: None,
        };
        f.persist()?;
        Ok(f)
    }

    /// Writes the image durably.
    pub fn persist(&self) -> Result<()> {
        let image = to_image(&self.chip, &self.id, &self.seal)
            .map_err(|reason| CardFileError::Image { path: self.path.clone(), reason })?;
        write_atomic(&self.path, &image, 0o600).map_err(io_err("writing", &self.path))
    }

    /// The chip.
    pub fn chip(&self) -> &C {
        &self.chip
    }

    /// The document id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Processes one APDU; when the chip's persistent state changed, writes the image before
    /// returning the response. On a failed write no response is returned (and none leaves
    /// until a later write succeeds).
    pub fn process(&mut self, apdu: &[u8]) -> std::io::Result<Vec<u8>> {
        self.save_if(false)?;
        let response = self.chip.process(apdu);
        let dirty = self.chip.take_dirty();
        self.save_if(dirty)?;
        Ok(response)
    }

    fn save_if(&mut self, dirty: bool) -> std::io::Result<()> {
        if dirty || self.unsaved {
            self.unsaved = true;
            self.persist().map_err(|e| std::io::Error::other(e.to_string()))?;
            self.unsaved = false;
        }
        Ok(())
    }
}

impl<C: ImageChip> Transport for ChipFile<C> {
    fn transmit(&mut self, apdu: &[u8]) -> std::result::Result<Vec<u8>, TransportError> {
        // A response that could not be made durable is never returned.
        self.process(apdu).map_err(|e| TransportError(e.to_string()))
    }
}

/// A document image served to PC/SC: the response to a command that changed the chip leaves
/// only after the image is on disk.
impl<C: ImageChip> crate::VirtualCard for ChipFile<C> {
    fn atr(&self) -> Vec<u8> {
        self.chip.atr()
    }
    fn process(&mut self, apdu: &[u8]) -> Vec<u8> {
        match ChipFile::process(self, apdu) {
            Ok(response) => response,
            Err(e) => {
                // Withheld by `before_reply`, which reports the error.
                self.failed = Some(e);
                Vec::new()
            }
        }
    }
    fn reset(&mut self) {
        self.chip.reset();
    }
    fn power_off(&mut self) {
        self.chip.reset();
    }
    fn before_reply(&mut self) -> std::io::Result<()> {
        match self.failed.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// One emulated document of a data directory, as listed without opening it.
#[derive(Debug, Clone)]
pub struct DocumentEntry {
    /// Its id.
    pub id: String,
    /// Its kind as the envelope says (`driver_licence`, …), or why the envelope does not read.
    pub kind: std::result::Result<String, String>,
}

/// The emulated documents of a data directory, sorted by id (kinds from the envelopes, no key
/// needed, no lock taken).
pub fn list_documents(data: &Path) -> Result<Vec<DocumentEntry>> {
    let dir = documents_dir(data);
    Ok(list_in(&dir, SUFFIX)?
        .into_iter()
        .map(|id| {
            let path = dir.join(format!("{id}{SUFFIX}"));
            let kind = read_bounded(&path).map_err(|e| e.to_string()).and_then(|b| envelope(&b)).map(|e| e.kind);
            DocumentEntry { id, kind }
        })
        .collect())
}

#[cfg(test)]
#[path = "document_file_tests.rs"]
mod tests;
