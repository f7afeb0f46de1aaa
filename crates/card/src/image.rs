//! A card image: the chip's persistent memory as bytes, so a card survives restarts.
//!
//! Private keys, PIN reference data and the contents of every EF that needs a PIN (the My
//! Number, the 4 facts, …) are sealed with AES-256-GCM under a 32-byte sealing key that the
//! adapter keeps elsewhere (like a secure element's hardware key), bound to the card,
//! application and FID. The whole image — retry counters and access rules included — carries an
//! HMAC-SHA-256 under a key derived from the same sealing key, so an edited image (a reset
//! counter, a relaxed access rule) does not load. An image alone reveals no key, PIN or personal
//! data; the sealing key alone holds no card.

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::chip::{ChipKey, Pin, PinFormat};
use crate::emulator::{Access, Application, Card, Device, Fid, Object};

/// Format version written into every image.
pub const IMAGE_VERSION: u32 = 1;
/// Largest image accepted, in bytes.
pub const MAX_IMAGE_LEN: usize = 4 * 1024 * 1024;

/// The key that seals private keys and PINs inside card images. `Debug` never shows it.
pub struct SealKey(Zeroizing<[u8; 32]>);

impl core::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SealKey([elided])")
    }
}

impl SealKey {
    /// From 32 secret bytes.
    pub fn new(bytes: [u8; 32]) -> SealKey {
        SealKey(Zeroizing::new(bytes))
    }

    /// A fresh random key.
    pub fn generate() -> Result<SealKey, ImageError> {
        let mut k = [0u8; 32];
        aws_lc_rs::rand::fill(&mut k).map_err(|_| ImageError::Crypto)?;
        Ok(SealKey::new(k))
    }

    /// The secret bytes, for the adapter to store (0600).
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }

    fn aead(&self) -> Result<LessSafeKey, ImageError> {
        Ok(LessSafeKey::new(UnboundKey::new(&AES_256_GCM, self.0.as_slice()).map_err(|_| ImageError::Crypto)?))
    }

    fn seal(&self, aad: &str, plain: &[u8]) -> Result<String, ImageError> {
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).map_err(|_| ImageError::Crypto)?;
        let mut buf = Zeroizing::new(plain.to_vec());
        let tag = self
            .aead()?
            .seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad.as_bytes()), &mut buf)
            .map_err(|_| ImageError::Crypto)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        out.extend_from_slice(tag.as_ref());
        Ok(hex::encode(out))
    }

    /// HMAC-SHA-256 of `data` under a key derived from the sealing key.
    fn mac(&self, data: &[u8]) -> String {
        let derived = aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA256,
            &[b"hanko card image mac v1".as_slice(), self.0.as_slice()].concat(),
        );
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, derived.as_ref());
        hex::encode(aws_lc_rs::hmac::sign(&key, data).as_ref())
    }

    fn open(&self, aad: &str, sealed: &str) -> Result<Zeroizing<Vec<u8>>, ImageError> {
        let raw = hex::decode(sealed).map_err(|_| ImageError::Malformed("sealed value is not hex"))?;
        if raw.len() < NONCE_LEN + 16 {
            return Err(ImageError::Malformed("sealed value too short"));
        }
        let (nonce, rest) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| ImageError::Crypto)?;
        let mut buf = Zeroizing::new(rest.to_vec());
        let plain =
            self.aead()?.open_in_place(nonce, Aad::from(aad.as_bytes()), &mut buf).map_err(|_| ImageError::Unseal)?;
        Ok(Zeroizing::new(plain.to_vec()))
    }
}

/// A card image could not be written or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ImageError {
    /// Not a card image, or a damaged one.
    #[error("card image malformed: {0}")]
    Malformed(&'static str),
    /// Written by another format version.
    #[error("card image version {0} is not supported (this hanko reads version {IMAGE_VERSION})")]
    Version(u32),
    /// Sealed data does not open with this sealing key (another key, or tampering).
    #[error("card image does not open with this sealing key")]
    Unseal,
    /// The crypto library failed.
    #[error("card image crypto failed")]
    Crypto,
    /// A key did not load.
    #[error("card image key: {0}")]
    Key(String),
}

#[derive(Serialize, Deserialize)]
struct ImageV1 {
    version: u32,
    id: String,
    device: String,
    apps: Vec<AppV1>,
    /// HMAC-SHA-256 (hex) of this image serialised with `mac` empty.
    #[serde(default)]
    mac: String,
}

#[derive(Serialize, Deserialize)]
struct AppV1 {
    aid: String,
    name: String,
    secure_messaging: bool,
    objects: Vec<ObjV1>,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ObjV1 {
    File {
        fid: u16,
        /// Hex content of a freely readable EF.
        #[serde(default)]
        content: String,
        /// Sealed content of an EF that needs a PIN.
        #[serde(default)]
        sealed: Option<String>,
        read: Vec<u16>,
        free: bool,
    },
    Key {
        fid: u16,
        sealed: String,
        usage: Vec<u16>,
        free: bool,
    },
    Pin {
        fid: u16,
        sealed: String,
        format: String,
        tries_left: u8,
        max_tries: u8,
    },
}

fn access_out(a: &Access) -> (Vec<u16>, bool) {
    match a {
        Access::Free => (Vec::new(), true),
        Access::AnyOf(v) => (v.iter().map(|f| f.0).collect(), false),
        Access::Never => (Vec::new(), false),
    }
}

fn access_in(v: &[u16], free: bool) -> Access {
    match (free, v.is_empty()) {
        (true, _) => Access::Free,
        (false, true) => Access::Never,
        (false, false) => Access::AnyOf(v.iter().map(|f| Fid(*f)).collect()),
    }
}

fn format_out(f: PinFormat) -> String {
    match f {
        PinFormat::FourDigits => "4digits".into(),
        PinFormat::Password => "password".into(),
        PinFormat::Digits(n) => format!("digits{n}"),
    }
}

fn format_in(s: &str) -> Result<PinFormat, ImageError> {
    match s {
        "4digits" => Ok(PinFormat::FourDigits),
        "password" => Ok(PinFormat::Password),
        other => other
            .strip_prefix("digits")
            .and_then(|n| n.parse().ok())
            .filter(|n| (1..=16).contains(n))
            .map(PinFormat::Digits)
            .ok_or(ImageError::Malformed("unknown PIN format")),
    }
}

fn device_in(s: &str) -> Result<Device, ImageError> {
    [Device::Card, Device::Android, Device::Iphone]
        .into_iter()
        .find(|d| d.as_str() == s)
        .ok_or(ImageError::Malformed("unknown device"))
}

fn aad(id: &str, aid: &str, fid: u16) -> String {
    format!("hanko card image v1|{id}|{aid}|{fid:04X}")
}

impl Card {
    /// Writes the card's persistent state; `id` names the card (it binds the sealed values).
    pub fn to_image(&self, id: &str, seal: &SealKey) -> Result<Vec<u8>, ImageError> {
        let mut apps = Vec::with_capacity(self.apps.len());
        for app in &self.apps {
            let aid = hex::encode_upper(&app.aid);
            let mut objects = Vec::with_capacity(app.objects.len());
            for (fid, obj) in &app.objects {
                objects.push(match obj {
                    Object::File { content, read } => {
                        let (read_list, free) = access_out(read);
                        if free {
                            ObjV1::File {
                                fid: fid.0,
                                content: hex::encode(content),
                                sealed: None,
                                read: read_list,
                                free,
                            }
                        } else {
                            let sealed = Some(seal.seal(&aad(id, &aid, fid.0), content)?);
                            ObjV1::File { fid: fid.0, content: String::new(), sealed, read: read_list, free }
                        }
                    }
                    Object::Key { key, usage } => {
                        let (usage, free) = access_out(usage);
                        let der = key.to_pkcs8().map_err(|e| ImageError::Key(e.0))?;
                        ObjV1::Key { fid: fid.0, sealed: seal.seal(&aad(id, &aid, fid.0), &der)?, usage, free }
                    }
                    Object::Pin(pin) => ObjV1::Pin {
                        fid: fid.0,
                        sealed: seal.seal(&aad(id, &aid, fid.0), pin.value())?,
                        format: format_out(pin.format),
                        tries_left: pin.tries_left,
                        max_tries: pin.max_tries,
                    },
                });
            }
            apps.push(AppV1 { aid, name: app.name.to_owned(), secure_messaging: app.secure_messaging, objects });
        }
        let mut image = ImageV1 {
            version: IMAGE_VERSION,
            id: id.to_owned(),
            device: self.device.as_str().to_owned(),
            apps,
            mac: String::new(),
        };
        let unsigned = serde_json::to_vec_pretty(&image).map_err(|_| ImageError::Malformed("cannot encode"))?;
        image.mac = seal.mac(&unsigned);
        serde_json::to_vec_pretty(&image).map_err(|_| ImageError::Malformed("cannot encode"))
    }

    /// Reads a card image (in power-on state). Returns the card and its id.
    pub fn from_image(bytes: &[u8], seal: &SealKey) -> Result<(Card, String), ImageError> {
        if bytes.len() > MAX_IMAGE_LEN {
            return Err(ImageError::Malformed("image too large"));
        }
        let mut image: ImageV1 =
            serde_json::from_slice(bytes).map_err(|_| ImageError::Malformed("not a card image"))?;
        if image.version != IMAGE_VERSION {
            return Err(ImageError::Version(image.version));
        }
        let mac = core::mem::take(&mut image.mac);
        let unsigned = serde_json::to_vec_pretty(&image).map_err(|_| ImageError::Malformed("cannot encode"))?;
        let expected = seal.mac(&unsigned);
        if mac.len() != expected.len()
            || aws_lc_rs::constant_time::verify_slices_are_equal(mac.as_bytes(), expected.as_bytes()).is_err()
        {
            return Err(ImageError::Unseal);
        }
        let mut apps = Vec::with_capacity(image.apps.len());
        for app in image.apps {
            let aid_bytes = hex::decode(&app.aid).map_err(|_| ImageError::Malformed("AID is not hex"))?;
            if !(5..=16).contains(&aid_bytes.len()) {
                return Err(ImageError::Malformed("AID length"));
            }
            let mut objects = Vec::with_capacity(app.objects.len());
            for obj in app.objects {
                objects.push(match obj {
                    ObjV1::File { fid, content, sealed, read, free } => {
                        let content = match sealed {
                            Some(sealed) => seal.open(&aad(&image.id, &app.aid, fid), &sealed)?.to_vec(),
                            None => hex::decode(content).map_err(|_| ImageError::Malformed("file is not hex"))?,
                        };
                        (Fid(fid), Object::File { content, read: access_in(&read, free) })
                    }
                    ObjV1::Key { fid, sealed, usage, free } => {
                        let der = seal.open(&aad(&image.id, &app.aid, fid), &sealed)?;
                        let key = ChipKey::from_pkcs8(&der).map_err(|e| ImageError::Key(e.0))?;
                        (Fid(fid), Object::Key { key: Box::new(key), usage: access_in(&usage, free) })
                    }
                    ObjV1::Pin { fid, sealed, format, tries_left, max_tries } => {
                        let value = seal.open(&aad(&image.id, &app.aid, fid), &sealed)?;
                        (
                            Fid(fid),
                            Object::Pin(Pin::restore(value.to_vec(), format_in(&format)?, tries_left, max_tries)),
                        )
                    }
                });
            }
            let name = match app.name.as_str() {
                "jpki" => "jpki",
                "common" => "common",
                "input-assist" => "input-assist",
                "card-face" => "card-face",
                "juki" => "juki",
                _ => "other",
            };
            apps.push(Application { aid: aid_bytes, name, objects, secure_messaging: app.secure_messaging });
        }
        Ok((Card::new(device_in(&image.device)?, apps), image.id))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{Client, ClientError, PinStatus, Slot};

    #[test]
    fn an_image_round_trips_and_keeps_counters() {
        let i = crate::tests::issued(Device::Card);
        let mut c = Client::new(i.card);
        assert_eq!(c.verify_pin(Slot::Auth, b"0000"), Err(ClientError::WrongPin { tries_left: 2 }));
        let card = c.into_inner();
        let seal = SealKey::generate().unwrap();
        let image = card.to_image("card-1", &seal).unwrap();
        let text = String::from_utf8(image.clone()).unwrap();
        assert!(!text.contains("31323334"), "the PIN is sealed, not stored");
        let (back, id) = Card::from_image(&image, &seal).unwrap();
        assert_eq!(id, "card-1");
        let mut c = Client::new(back);
        assert_eq!(c.pin_status(Slot::Auth).unwrap(), PinStatus::Tries(2), "the counter survived");
        assert_eq!(c.read_certificate(Slot::Auth).unwrap(), i.auth_cert);
        // The restored keys still sign.
        let di = hanko_pki::DigestInfo::of(hanko_pki::DigestAlgorithm::Sha256, b"x").to_der().unwrap();
        assert_eq!(c.sign(Slot::Signature, crate::tests::PASSWORD, &di).unwrap().len(), 256);
    }

    #[test]
    fn wrong_key_tampering_and_garbage_are_refused() {
        let card = crate::tests::issued(Device::Iphone).card;
        let seal = SealKey::generate().unwrap();
        let image = card.to_image("p", &seal).unwrap();
        assert_eq!(Card::from_image(&image, &SealKey::generate().unwrap()).err(), Some(ImageError::Unseal));
        // Moving a sealed key to another card id breaks the binding.
        let moved = String::from_utf8(image.clone()).unwrap().replacen("\"id\": \"p\"", "\"id\": \"q\"", 1);
        assert_eq!(Card::from_image(moved.as_bytes(), &seal).err(), Some(ImageError::Unseal));
        assert!(matches!(Card::from_image(b"{}", &seal), Err(ImageError::Malformed(_))));
        assert!(matches!(Card::from_image(&image[..image.len() / 2], &seal), Err(ImageError::Malformed(_))));
        // An edited counter (a blocked PIN given its tries back) does not load.
        let edited = String::from_utf8(image.clone()).unwrap().replacen("\"tries_left\": 3", "\"tries_left\": 15", 1);
        assert_ne!(edited.as_bytes(), &image[..]);
        assert_eq!(Card::from_image(edited.as_bytes(), &seal).err(), Some(ImageError::Unseal));
        let v2 = String::from_utf8(image).unwrap().replacen("\"version\": 1", "\"version\": 2", 1);
        assert_eq!(Card::from_image(v2.as_bytes(), &seal).err(), Some(ImageError::Version(2)));
    }
}
