//! Card images on disk: `cards/<id>.card` under the data directory, sealed with
//! `card-seal.key` (32 random bytes, mode 0600, kept apart from the images). A card whose
//! persistent state changed (a retry counter, a PIN) is written — temp file, fsync, rename,
//! directory fsync — before the response to the command leaves. A card is used by one process at
//! a time (an exclusive lock on `cards/<id>.lock`), so parallel processes cannot each spend the
//! same try.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use hanko_card::{Card, ImageError, SealKey, Transport, TransportError};
use hanko_store::{create_new, write_atomic};

/// A card image could not be opened, created or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CardFileError {
    /// The id has characters other than letters, digits and `-`.
    #[error("{0:?} is not a card id (letters, digits and '-')")]
    BadId(String),
    /// No image with that id.
    #[error("no card {id} in {dir}")]
    NotFound {
        /// The card id.
        id: String,
        /// Where we looked.
        dir: PathBuf,
    },
    /// An image with that id exists already.
    #[error("card {0} already exists")]
    Exists(String),
    /// Another process holds the card.
    #[error("card {0} is in use by another process (e.g. `hanko card serve`)")]
    InUse(String),
    /// The image does not load (edited, another seal key, another card).
    #[error("card image {path}: {reason}")]
    Image {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The file system failed.
    #[error("{what} {path}: {source}")]
    Io {
        /// What we were doing.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
}

type Result<T> = std::result::Result<T, CardFileError>;

pub(crate) fn io_err<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> CardFileError + 'a {
    move |source| CardFileError::Io { what, path: path.to_owned(), source }
}

/// Where a data directory keeps its cards.
pub fn cards_dir(data: &Path) -> PathBuf {
    data.join("cards")
}

/// The sealing key of a data directory's card images, created on first use (atomically: two
/// processes creating it at once end up with the same key).
pub fn seal_key(data: &Path) -> Result<SealKey> {
    let path = data.join("card-seal.key");
    if !path.exists() {
        let key =
            SealKey::generate().map_err(|e| CardFileError::Image { path: path.clone(), reason: e.to_string() })?;
        if create_new(&path, key.expose(), 0o600).map_err(io_err("creating", &path))? {
            return Ok(key);
        }
    }
    let bytes = zeroize::Zeroizing::new(fs::read(&path).map_err(io_err("reading", &path))?);
    let arr: [u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| CardFileError::Image { path: path.clone(), reason: "not a 32-byte sealing key".into() })?;
    Ok(SealKey::new(arr))
}

/// Takes the card's exclusive lock, or says who holds it.
fn lock(data: &Path, id: &str) -> Result<fs::File> {
    lock_in(&cards_dir(data), id)
}

/// Takes the exclusive lock `<dir>/<id>.lock` of a card or document image, or says who holds it.
pub(crate) fn lock_in(dir: &Path, id: &str) -> Result<fs::File> {
    let path = dir.join(format!("{id}.lock"));
    fs::create_dir_all(dir).map_err(io_err("creating", &path))?;
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io_err("opening", &path))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(fs::TryLockError::WouldBlock) => Err(CardFileError::InUse(id.to_owned())),
        Err(fs::TryLockError::Error(e)) => Err(io_err("locking", &path)(e)),
    }
}

/// A card being made: its id is locked until [`NewCard::create`] writes the image.
#[derive(Debug)]
pub struct NewCard {
    lock: fs::File,
    path: PathBuf,
    id: String,
    data: PathBuf,
}

impl NewCard {
    /// Writes the image (durably) and opens it.
    pub fn create(self, card: Card) -> Result<CardFile> {
        let f = CardFile {
            _lock: self.lock,
            path: self.path,
            id: self.id,
            seal: seal_key(&self.data)?,
            card,
            failed: None,
        };
        f.persist()?;
        Ok(f)
    }
}

/// A card image file, opened for use: every state change is persisted before the reply, and a
/// VERIFY's spent try before the PIN is even compared ([`Card::process_durably`]).
pub struct CardFile {
    _lock: fs::File,
    path: PathBuf,
    id: String,
    seal: SealKey,
    card: Card,
    /// A write inside the last command failed: its response must not leave.
    failed: Option<std::io::Error>,
}

impl CardFile {
    /// Opens `cards/<id>.card`.
    pub fn open(data: &Path, id: &str) -> Result<CardFile> {
        check_id(id)?;
        let path = cards_dir(data).join(format!("{id}.card"));
        if !path.exists() {
            return Err(CardFileError::NotFound { id: id.to_owned(), dir: cards_dir(data) });
        }
        // Read the image only under the lock: what we load is what the last holder wrote.
        let lock = lock(data, id)?;
        let bytes = fs::read(&path).map_err(io_err("reading", &path))?;
        let seal = seal_key(data)?;
        let (card, stored) = Card::from_image(&bytes, &seal)
            .map_err(|e: ImageError| CardFileError::Image { path: path.clone(), reason: e.to_string() })?;
        if stored != id {
            return Err(CardFileError::Image { path, reason: format!("holds card {stored}, not {id}") });
        }
        Ok(CardFile { _lock: lock, path, id: id.to_owned(), seal, card, failed: None })
    }

    /// Writes a new card image.
    pub fn create(data: &Path, id: &str, card: Card) -> Result<CardFile> {
        CardFile::reserve(data, id)?.create(card)
    }

    /// Takes the lock of a card that does not exist yet, for the time it is being made: another
    /// process sees it in use ([`CardFileError::InUse`]), and a crash releases it.
    pub fn reserve(data: &Path, id: &str) -> Result<NewCard> {
        check_id(id)?;
        let path = cards_dir(data).join(format!("{id}.card"));
        let lock = lock(data, id)?;
        if path.exists() {
            return Err(CardFileError::Exists(id.to_owned()));
        }
        Ok(NewCard { lock, path, id: id.to_owned(), data: data.to_owned() })
    }

    /// Writes the image durably.
    pub fn persist(&self) -> Result<()> {
        write_image(&self.card, &self.id, &self.seal, &self.path)
    }

    /// Processes one APDU, writing the image wherever the chip would write its EEPROM.
    fn process_durably(&mut self, apdu: &[u8]) -> std::io::Result<Vec<u8>> {
        let (id, seal, path) = (&self.id, &self.seal, &self.path);
        self.card
            .process_durably(apdu, |card| write_image(card, id, seal, path))
            .map_err(|e| std::io::Error::other(e.to_string()))
    }

    /// Writes the image if the card changed. On failure the card stays marked changed (the next
    /// command tries again) and no response may leave.
    fn persist_if_dirty(&mut self) -> std::io::Result<()> {
        if self.card.take_dirty() {
            if let Err(e) = self.persist() {
                self.card.mark_dirty();
                return Err(std::io::Error::other(e.to_string()));
            }
        }
        Ok(())
    }

    /// The card.
    pub fn card(&self) -> &Card {
        &self.card
    }

    /// The card, to change it at the counter; call [`CardFile::persist`] before acknowledging.
    pub fn card_mut(&mut self) -> &mut Card {
        &mut self.card
    }

    /// The card id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Processes one APDU; persists first when the card's state changed (a VERIFY's try
    /// before the comparison).
    pub fn process(&mut self, apdu: &[u8]) -> std::io::Result<Vec<u8>> {
        self.process_durably(apdu)
    }
}

impl Transport for CardFile {
    fn transmit(&mut self, apdu: &[u8]) -> std::result::Result<Vec<u8>, TransportError> {
        // A response that could not be made durable is never returned.
        self.process(apdu).map_err(|e| TransportError(e.to_string()))
    }
}

fn write_image(card: &Card, id: &str, seal: &SealKey, path: &Path) -> Result<()> {
    let image =
        card.to_image(id, seal).map_err(|e| CardFileError::Image { path: path.to_owned(), reason: e.to_string() })?;
    write_atomic(path, &image, 0o600).map_err(io_err("writing", path))
}

pub(crate) fn check_id(id: &str) -> Result<()> {
    if id.is_empty() || id.len() > 64 || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(CardFileError::BadId(id.to_owned()));
    }
    Ok(())
}

/// Ids of the cards in a data directory.
pub fn list(data: &Path) -> Result<Vec<String>> {
    list_in(&cards_dir(data), ".card")
}

/// Ids of the images `<dir>/<id><suffix>`, sorted.
pub(crate) fn list_in(dir: &Path, suffix: &str) -> Result<Vec<String>> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let mut ids: Vec<String> = fs::read_dir(dir)
        .map_err(io_err("listing", dir))?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_suffix(suffix)).map(str::to_owned))
        .collect();
    ids.sort();
    Ok(ids)
}

/// A card image served to PC/SC: the response to a command that changed the card leaves only
/// after the image is on disk.
impl crate::VirtualCard for CardFile {
    fn atr(&self) -> Vec<u8> {
        hanko_card::ATR.to_vec()
    }
    fn process(&mut self, apdu: &[u8]) -> Vec<u8> {
        match self.process_durably(apdu) {
            Ok(response) => response,
            Err(e) => {
                // Withheld by `before_reply`, which reports the error.
                self.failed = Some(e);
                Vec::new()
            }
        }
    }
    fn reset(&mut self) {
        self.card.reset();
    }
    fn power_off(&mut self) {
        self.card.reset();
    }
    fn before_reply(&mut self) -> std::io::Result<()> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        self.persist_if_dirty()
    }
}
