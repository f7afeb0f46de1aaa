//! Card images on disk: `cards/<id>.card` under the data directory, sealed with
//! `card-seal.key` (32 random bytes, mode 0600, kept apart from the images). A card whose
//! persistent state changed (a retry counter, a PIN) is written — temp file, fsync, rename,
//! directory fsync — before the response to the command leaves. A card is used by one process at
//! a time (an exclusive lock on `cards/<id>.lock`), so parallel processes cannot each spend the
//! same try.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use hanko_card::{Card, SealKey, Transport, TransportError};

use crate::sandbox::write_atomic;

/// Where a data directory keeps its cards.
pub(crate) fn cards_dir(data: &Path) -> PathBuf {
    data.join("cards")
}

/// The sealing key of a data directory's card images, created on first use (atomically: two
/// processes creating it at once end up with the same key).
pub(crate) fn seal_key(data: &Path) -> Result<SealKey> {
    let path = data.join("card-seal.key");
    if !path.exists() {
        fs::create_dir_all(data)?;
        let key = SealKey::generate()?;
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        match opts.open(&path) {
            Ok(mut f) => {
                std::io::Write::write_all(&mut f, key.expose())?;
                f.sync_all()?;
                return Ok(key);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
        }
    }
    let bytes = zeroize::Zeroizing::new(fs::read(&path).with_context(|| format!("reading {}", path.display()))?);
    let arr: [u8; 32] =
        bytes.as_slice().try_into().map_err(|_| anyhow::anyhow!("{} is not a 32-byte sealing key", path.display()))?;
    Ok(SealKey::new(arr))
}

/// Takes the card's exclusive lock, or says who holds it.
fn lock(data: &Path, id: &str) -> Result<fs::File> {
    let path = cards_dir(data).join(format!("{id}.lock"));
    fs::create_dir_all(cards_dir(data))?;
    let file = fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(fs::TryLockError::WouldBlock) => {
            bail!("card {id} is in use by another hanko process (e.g. `hanko card serve`)")
        }
        Err(fs::TryLockError::Error(e)) => Err(e).with_context(|| format!("locking {}", path.display())),
    }
}

/// A card image file, opened for use: every state change is persisted before the reply.
pub(crate) struct CardFile {
    _lock: fs::File,
    path: PathBuf,
    id: String,
    seal: SealKey,
    card: Card,
}

impl CardFile {
    /// Opens `cards/<id>.card`.
    pub(crate) fn open(data: &Path, id: &str) -> Result<CardFile> {
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            bail!("{id:?} is not a card id (letters, digits and '-')");
        }
        let path = cards_dir(data).join(format!("{id}.card"));
        if !path.exists() {
            bail!("no card {id} in {} (see `hanko card list`)", cards_dir(data).display());
        }
        // Read the image only under the lock: what we load is what the last holder wrote.
        let lock = lock(data, id)?;
        let bytes = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let seal = seal_key(data)?;
        let (card, stored) =
            Card::from_image(&bytes, &seal).with_context(|| format!("card image {}", path.display()))?;
        if stored != id {
            bail!("{} holds card {stored}, not {id}", path.display());
        }
        Ok(CardFile { _lock: lock, path, id: id.to_owned(), seal, card })
    }

    /// Writes a new card image.
    pub(crate) fn create(data: &Path, id: &str, card: Card) -> Result<CardFile> {
        let path = cards_dir(data).join(format!("{id}.card"));
        if path.exists() {
            bail!("card {id} already exists");
        }
        let f = CardFile { _lock: lock(data, id)?, path, id: id.to_owned(), seal: seal_key(data)?, card };
        f.persist()?;
        Ok(f)
    }

    /// Writes the image durably.
    pub(crate) fn persist(&self) -> Result<()> {
        let image = self.card.to_image(&self.id, &self.seal)?;
        write_atomic(&self.path, &image, 0o600)
    }

    /// Writes the image if the card changed. On failure the card stays marked changed (the next
    /// command tries again) and no response may leave.
    fn persist_if_dirty(&mut self) -> std::io::Result<()> {
        if self.card.take_dirty() {
            if let Err(e) = self.persist() {
                self.card.mark_dirty();
                return Err(std::io::Error::other(format!("{e:#}")));
            }
        }
        Ok(())
    }

    /// The card.
    pub(crate) fn card(&self) -> &Card {
        &self.card
    }

    /// Processes one APDU; persists first when the card's state changed.
    pub(crate) fn process(&mut self, apdu: &[u8]) -> std::io::Result<Vec<u8>> {
        let response = self.card.process(apdu);
        self.persist_if_dirty()?;
        Ok(response)
    }
}

impl Transport for CardFile {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        // A response that could not be made durable is never returned.
        self.process(apdu).map_err(|e| TransportError(e.to_string()))
    }
}

/// Ids of the cards in a data directory.
pub(crate) fn list(data: &Path) -> Result<Vec<String>> {
    let dir = cards_dir(data);
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let mut ids: Vec<String> = fs::read_dir(&dir)?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_suffix(".card")).map(str::to_owned))
        .collect();
    ids.sort();
    Ok(ids)
}

/// A card image served to PC/SC: the response to a command that changed the card leaves only
/// after the image is on disk.
impl hanko_cardlink::VirtualCard for CardFile {
    fn atr(&self) -> Vec<u8> {
        hanko_card::ATR.to_vec()
    }
    fn process(&mut self, apdu: &[u8]) -> Vec<u8> {
        self.card.process(apdu)
    }
    fn reset(&mut self) {
        self.card.reset();
    }
    fn power_off(&mut self) {
        self.card.reset();
    }
    fn before_reply(&mut self) -> std::io::Result<()> {
        self.persist_if_dirty()
    }
}
