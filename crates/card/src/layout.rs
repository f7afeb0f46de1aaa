//! The applications of a My Number Card and their files, laid out as 10-card.md §2–§8 says.
//!
//! Personalisation happens in two steps, like at a real counter: [`BlankChip::generate`] makes
//! the key pairs inside the chip and tells their public keys; the authority certifies them; then
//! [`BlankChip::personalize`] writes certificates, card data and PINs and returns the [`Card`].

use hanko_pki::spki::SubjectPublicKeyInfoOwned;

use crate::chip::{ChipKey, ChipKeyError, Pin, PinFormat};
use crate::emulator::{Access, Application, Card, Device, Object};

/// 公的個人認証AP.
pub const AID_JPKI: [u8; 10] = [0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01];
/// 券面事項入力補助AP.
pub const AID_INPUT_ASSIST: [u8; 10] = [0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x08];
/// 券面AP.
pub const AID_CARD_FACE: [u8; 10] = [0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x02];
/// 住基AP.
pub const AID_JUKI: [u8; 10] = [0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x01];
/// 共通AP.
pub const AID_COMMON: [u8; 10] = [0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x01, 0x00];

/// JPKI-AP EFs.
pub mod jpki {
    use crate::emulator::Fid;
    /// Signature certificate.
    pub const SIGN_CERT: Fid = Fid(0x0001);
    /// Signature CA certificate.
    pub const SIGN_CA_CERT: Fid = Fid(0x0002);
    /// Token info (CK_TOKEN_INFO, 160 bytes).
    pub const TOKEN_INFO: Fid = Fid(0x0006);
    /// Certificate availability (3 bytes).
    pub const AVAILABILITY: Fid = Fid(0x0008);
    /// User-authentication certificate.
    pub const AUTH_CERT: Fid = Fid(0x000A);
    /// User-authentication CA certificate.
    pub const AUTH_CA_CERT: Fid = Fid(0x000B);
    /// User-authentication key.
    pub const AUTH_KEY: Fid = Fid(0x0017);
    /// User-authentication PIN (4 digits, 3 tries).
    pub const AUTH_PIN: Fid = Fid(0x0018);
    /// Signature key.
    pub const SIGN_KEY: Fid = Fid(0x001A);
    /// Signature password (6–16 `[A-Z0-9]`, 5 tries).
    pub const SIGN_PIN: Fid = Fid(0x001B);
}

/// 共通AP EFs.
pub mod common {
    use crate::emulator::Fid;
    /// Card serial (15) + municipality code (5) + expiry YYYYMMDD.
    pub const RECORD: Fid = Fid(0x0001);
    /// The internal-authentication public key as DER SubjectPublicKeyInfo \[I: where a real
    /// card publishes it is not documented\].
    pub const INTERNAL_AUTH_PUBLIC_KEY: Fid = Fid(0x0002);
    /// Internal-authentication key (no PIN).
    pub const INTERNAL_AUTH_KEY: Fid = Fid(0x0019);
    /// PIN.
    pub const PIN: Fid = Fid(0x001C);
}

/// Size certificate EFs are padded to with `FF`.
pub const CERT_EF_SIZE: usize = 2048;

fn padded(mut content: Vec<u8>, size: usize) -> Vec<u8> {
    if content.len() < size {
        content.resize(size, 0xFF);
    }
    content
}

/// PKCS#11 `CK_TOKEN_INFO`, 160 bytes, big-endian ULONGs (10-card.md §3).
pub fn token_info(device: Device, serial: &str) -> Vec<u8> {
    let text = |s: &str, n: usize| {
        let mut v = s.as_bytes().to_vec();
        v.resize(n, b' ');
        v.truncate(n);
        v
    };
    let mut out = Vec::with_capacity(160);
    out.extend(text(device.token_label(), 32));
    out.extend(text("JPKI-TEST hanko", 32));
    out.extend(text("HANKO-EMU", 16));
    out.extend(text(serial, 16));
    // flags, max/cur sessions, max/cur rw sessions, max/min PIN len, memory ×4
    for v in [0x40Du32, 0, 0, 0, 0, 16, 6, 0, 0, 0, 0] {
        out.extend_from_slice(&v.to_be_bytes());
    }
    out.extend_from_slice(&[0x03, 0x00, 0x01, 0x00]);
    out.extend(text("", 16));
    out
}

/// Key pairs generated inside a chip, waiting for their certificates.
#[derive(Debug)]
pub struct BlankChip {
    device: Device,
    sign_key: ChipKey,
    auth_key: ChipKey,
    internal_auth_key: ChipKey,
}

/// What a counter writes onto a card.
pub struct Personalization<'a> {
    /// Signature certificate (absent for minors and adult wards).
    pub sign_cert: Option<&'a [u8]>,
    /// Signature CA certificate.
    pub sign_ca_cert: &'a [u8],
    /// User-authentication certificate.
    pub auth_cert: &'a [u8],
    /// User-authentication CA certificate.
    pub auth_ca_cert: &'a [u8],
    /// Signature password (6–16 `[A-Z0-9]`).
    pub sign_password: &'a [u8],
    /// User-authentication PIN (4 digits); also the 住基/共通/input-assist PIN \[I\].
    pub auth_pin: &'a [u8],
    /// The card serial (15 characters) for token info and the 共通AP record.
    pub card_serial: &'a str,
    /// Municipality code (5 digits).
    pub municipality_code: &'a str,
    /// Card expiry `YYYYMMDD`.
    pub card_expiry: &'a str,
    /// The other applications' content (input-assist, card face…), built by the caller.
    pub extra_apps: Vec<Application>,
}

/// Personalisation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PersonalizeError {
    /// A PIN does not have its format.
    #[error("{0} does not have the required format")]
    PinFormat(&'static str),
    /// A field has the wrong length.
    #[error("{0} has the wrong length")]
    Field(&'static str),
    /// A certificate does not match the chip's key.
    #[error("{0} certificate is not for this chip's key")]
    KeyMismatch(&'static str),
    /// Key generation failed.
    #[error(transparent)]
    Key(#[from] ChipKeyError),
}

impl BlankChip {
    /// Generates the chip's key pairs (signature, user authentication, internal authentication).
    pub fn generate(device: Device) -> Result<BlankChip, ChipKeyError> {
        Ok(BlankChip {
            device,
            sign_key: ChipKey::generate()?,
            auth_key: ChipKey::generate()?,
            internal_auth_key: ChipKey::generate()?,
        })
    }

    /// The signature key's public half, for the CA.
    pub fn sign_public_key(&self) -> &SubjectPublicKeyInfoOwned {
        self.sign_key.public_key()
    }

    /// The user-authentication key's public half, for the CA.
    pub fn auth_public_key(&self) -> &SubjectPublicKeyInfoOwned {
        self.auth_key.public_key()
    }

    /// Proof of possession: PKCS#1 v1.5 signatures with SHA-256 over `message` by the signature
    /// key and by the user-authentication key (the secure element signs its own application, so
    /// that no one can have another's public key certified). Returns (signature key's, auth
    /// key's).
    pub fn prove_possession(&self, message: &[u8]) -> Result<(Vec<u8>, Vec<u8>), ChipKeyError> {
        Ok((self.sign_key.sign_sha256(message)?, self.auth_key.sign_sha256(message)?))
    }

    /// Writes the certificates, PINs and card data; returns the card in power-on state.
    pub fn personalize(self, p: Personalization<'_>) -> Result<Card, PersonalizeError> {
        use hanko_pki::der::Encode;
        let spki_of = |cert: &[u8], what| -> Result<Vec<u8>, PersonalizeError> {
            let c = hanko_pki::JpkiCertificate::from_der(cert).map_err(|_| PersonalizeError::KeyMismatch(what))?;
            Ok(c.public_key_der().to_vec())
        };
        let ours = |k: &ChipKey| k.public_key().to_der().unwrap_or_default();
        if let Some(sign) = p.sign_cert {
            if spki_of(sign, "signature")? != ours(&self.sign_key) {
                return Err(PersonalizeError::KeyMismatch("signature"));
            }
        }
        if spki_of(p.auth_cert, "user-authentication")? != ours(&self.auth_key) {
            return Err(PersonalizeError::KeyMismatch("user-authentication"));
        }
        let sign_pin = Pin::new(p.sign_password, PinFormat::Password, 5)
            .ok_or(PersonalizeError::PinFormat("signature password"))?;
        let auth_pin = Pin::new(p.auth_pin, PinFormat::FourDigits, 3).ok_or(PersonalizeError::PinFormat("PIN"))?;
        if p.card_serial.len() != 15 {
            return Err(PersonalizeError::Field("card serial"));
        }
        if p.municipality_code.len() != 5 || p.card_expiry.len() != 8 {
            return Err(PersonalizeError::Field("municipality code or card expiry"));
        }

        let free = || Access::Free;
        let auth_read = if self.device == Device::Android { Access::AnyOf(vec![jpki::AUTH_PIN]) } else { free() };
        let file = |content: Vec<u8>, read: Access| Object::File { content, read };
        let mut jpki_objects = vec![
            (jpki::SIGN_CA_CERT, file(padded(p.sign_ca_cert.to_vec(), CERT_EF_SIZE), free())),
            (jpki::TOKEN_INFO, file(token_info(self.device, p.card_serial), free())),
            (
                jpki::AVAILABILITY,
                file(if p.sign_cert.is_some() { vec![0x8F, 0x8F, 0x00] } else { vec![0x00, 0x8F, 0x00] }, free()),
            ),
            (jpki::AUTH_CERT, file(padded(p.auth_cert.to_vec(), CERT_EF_SIZE), auth_read)),
            (jpki::AUTH_CA_CERT, file(padded(p.auth_ca_cert.to_vec(), CERT_EF_SIZE), free())),
            (jpki::AUTH_KEY, Object::Key { key: Box::new(self.auth_key), usage: Access::AnyOf(vec![jpki::AUTH_PIN]) }),
            (jpki::AUTH_PIN, Object::Pin(auth_pin.clone())),
        ];
        if let Some(sign) = p.sign_cert {
            jpki_objects.push((
                jpki::SIGN_CERT,
                file(padded(sign.to_vec(), CERT_EF_SIZE), Access::AnyOf(vec![jpki::SIGN_PIN])),
            ));
            jpki_objects.push((
                jpki::SIGN_KEY,
                Object::Key { key: Box::new(self.sign_key), usage: Access::AnyOf(vec![jpki::SIGN_PIN]) },
            ));
            jpki_objects.push((jpki::SIGN_PIN, Object::Pin(sign_pin)));
        }
        jpki_objects.sort_by_key(|(f, _)| *f);
        let mut apps =
            vec![Application { aid: AID_JPKI.to_vec(), name: "jpki", objects: jpki_objects, secure_messaging: false }];
        if self.device == Device::Card {
            let internal_auth_public = ours(&self.internal_auth_key);
            let mut record = p.card_serial.as_bytes().to_vec();
            record.extend_from_slice(p.municipality_code.as_bytes());
            record.extend_from_slice(p.card_expiry.as_bytes());
            apps.push(Application {
                aid: AID_COMMON.to_vec(),
                name: "common",
                objects: vec![
                    (common::RECORD, file(record, free())),
                    (common::INTERNAL_AUTH_PUBLIC_KEY, file(internal_auth_public, free())),
                    (common::INTERNAL_AUTH_KEY, Object::Key { key: Box::new(self.internal_auth_key), usage: free() }),
                    (common::PIN, Object::Pin(auth_pin.clone())),
                ],
                secure_messaging: false,
            });
            apps.extend(p.extra_apps);
        }
        Ok(Card::new(self.device, apps))
    }
}
