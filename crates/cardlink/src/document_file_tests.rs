//! Document images: sealed, bound to their id and kind, locked, and written before the reply
//! whenever the chip says its persistent state changed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use super::*;
use crate::VirtualCard;

/// A chip with one PIN of 3 tries (spent before the comparison, like a licence's) and a secret.
#[derive(Serialize, Deserialize)]
struct PinChip {
    pin: String,
    tries: u8,
    secret: String,
    #[serde(skip)]
    dirty: bool,
}

impl Chip for PinChip {
    fn atr(&self) -> Vec<u8> {
        vec![0x3B, 0x88, 0x80, 0x01]
    }
    fn process(&mut self, apdu: &[u8]) -> Vec<u8> {
        match apdu {
            [0x00, 0x20, 0x00, 0x81, 0x04, pin @ ..] if pin.len() == 4 => {
                if self.tries == 0 {
                    return vec![0x69, 0x84];
                }
                self.tries -= 1;
                self.dirty = true;
                if pin == self.pin.as_bytes() {
                    self.tries = 3;
                    vec![0x90, 0x00]
                } else {
                    vec![0x63, 0xC0 | self.tries]
                }
            }
            _ => vec![0x6D, 0x00],
        }
    }
    fn reset(&mut self) {}
    fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }
}

impl ImageChip for PinChip {
    fn image_kind(&self) -> String {
        "test_pin_chip".into()
    }
}

fn chip() -> PinChip {
    PinChip { pin: "1357".into(), tries: 3, secret: "見本花子のひみつ".into(), dirty: false }
}

struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn tempdir(name: &str) -> Dir {
    let p = std::env::temp_dir().join(format!("hanko-docfile-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&p);
    fs::create_dir_all(&p).unwrap();
    Dir(p)
}

const WRONG: [u8; 9] = [0x00, 0x20, 0x00, 0x81, 0x04, b'0', b'0', b'0', b'0'];
const RIGHT: [u8; 9] = [0x00, 0x20, 0x00, 0x81, 0x04, b'1', b'3', b'5', b'7'];

/// The chip as it is on disk now (read without the lock).
fn on_disk(data: &Path, id: &str) -> PinChip {
    let bytes = fs::read(documents_dir(data).join(format!("{id}{SUFFIX}"))).unwrap();
    from_image::<PinChip>(&bytes, &seal_key(data).unwrap()).unwrap().0
}

#[test]
fn creates_opens_and_seals() {
    let d = tempdir("seal");
    drop(ChipFile::create(&d.0, "dl-1", chip()).unwrap());
    let image = fs::read_to_string(documents_dir(&d.0).join("dl-1.document")).unwrap();
    assert!(!image.contains("1357") && !image.contains("ひみつ") && !image.contains(&hex::encode("1357")));
    assert!(image.contains("\"kind\": \"test_pin_chip\""));
    let f = ChipFile::<PinChip>::open(&d.0, "dl-1").unwrap();
    assert_eq!(f.chip().secret, "見本花子のひみつ");
    assert_eq!(f.id(), "dl-1");
    assert!(!format!("{f:?}").contains("ひみつ"));
    let listed = list_documents(&d.0).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].id.as_str(), listed[0].kind.as_deref()), ("dl-1", Ok("test_pin_chip")));
}

#[test]
fn a_wrong_pin_try_is_on_disk_before_the_reply() {
    let d = tempdir("try");
    let mut f = ChipFile::create(&d.0, "dl-2", chip()).unwrap();
    assert_eq!(f.transmit(&WRONG).unwrap(), [0x63, 0xC2]);
    assert_eq!(on_disk(&d.0, "dl-2").tries, 2);
    // Through the vpcd adapter's interface too.
    assert_eq!(VirtualCard::process(&mut f, &WRONG), [0x63, 0xC1]);
    f.before_reply().unwrap();
    assert_eq!(on_disk(&d.0, "dl-2").tries, 1);
    assert_eq!(f.transmit(&RIGHT).unwrap(), [0x90, 0x00]);
    assert_eq!(on_disk(&d.0, "dl-2").tries, 3);
    drop(f);
    assert_eq!(ChipFile::<PinChip>::open(&d.0, "dl-2").unwrap().chip().tries, 3);
}

#[test]
fn no_reply_leaves_when_the_write_fails() {
    let d = tempdir("fail");
    let mut f = ChipFile::create(&d.0, "dl-3", chip()).unwrap();
    let dir = documents_dir(&d.0);
    let moved = d.0.join("moved");
    fs::rename(&dir, &moved).unwrap();
    fs::write(&dir, b"not a directory").unwrap();
    assert!(f.transmit(&WRONG).is_err());
    // Nothing else goes through until the write succeeds …
    assert!(f.transmit(&[0x00, 0xB0, 0x00, 0x00, 0x00]).is_err());
    assert!(VirtualCard::process(&mut f, &RIGHT).is_empty());
    assert!(f.before_reply().is_err());
    // … and then the pending write comes first.
    fs::remove_file(&dir).unwrap();
    fs::rename(&moved, &dir).unwrap();
    assert_eq!(f.transmit(&WRONG).unwrap(), [0x63, 0xC1]);
    assert_eq!(on_disk(&d.0, "dl-3").tries, 1);
}

#[test]
fn one_process_at_a_time() {
    let d = tempdir("lock");
    let f = ChipFile::create(&d.0, "dl-4", chip()).unwrap();
    assert!(matches!(ChipFile::<PinChip>::open(&d.0, "dl-4"), Err(CardFileError::InUse(_))));
    assert!(matches!(ChipFile::create(&d.0, "dl-4", chip()), Err(CardFileError::InUse(_))));
    drop(f);
    assert!(matches!(ChipFile::create(&d.0, "dl-4", chip()), Err(CardFileError::Exists(_))));
    assert!(matches!(ChipFile::<PinChip>::open(&d.0, "nope"), Err(CardFileError::NotFound { .. })));
    assert!(matches!(ChipFile::<PinChip>::open(&d.0, "../x"), Err(CardFileError::BadId(_))));
}

#[test]
fn an_edited_moved_or_foreign_image_does_not_load() {
    let d = tempdir("tamper");
    drop(ChipFile::create(&d.0, "dl-5", chip()).unwrap());
    let dir = documents_dir(&d.0);
    let original = fs::read_to_string(dir.join("dl-5.document")).unwrap();
    let refused = |text: &str, id: &str| {
        fs::write(dir.join(format!("{id}.document")), text).unwrap();
        matches!(ChipFile::<PinChip>::open(&d.0, id), Err(CardFileError::Image { .. }))
    };
    // Relabelled.
    assert!(refused(&original.replace("test_pin_chip", "passport"), "dl-5"));
    // A flipped bit in the box.
    let env: Envelope = serde_json::from_str(&original).unwrap();
    let mut raw = hex::decode(&env.sealed).unwrap();
    raw[20] ^= 1;
    let edited = original.replace(&env.sealed, &hex::encode(raw));
    assert!(refused(&edited, "dl-5"));
    // Copied under another id.
    assert!(refused(&original.replace("\"dl-5\"", "\"dl-6\""), "dl-6"));
    assert!(refused(&original, "dl-6"));
    // Another data directory's sealing key.
    fs::write(d.0.join("card-seal.key"), [7u8; 32]).unwrap();
    assert!(refused(&original, "dl-5"));
    // Not an image at all, or another version.
    assert!(refused("{}", "dl-7"));
    assert!(refused(&original.replace("\"version\": 1", "\"version\": 2"), "dl-5"));
}
