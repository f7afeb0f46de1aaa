//! What the municipality counter does to a card after issuance (shared/spec/00-system.md §2:
//! the counter "issues the card, resets PINs, records moves"; 20-pki.md §3: a move revokes the
//! signature certificate, renewal replaces both).
//!
//! In the real system the counter terminal holds privileged secure-messaging keys and talks to
//! the chip over a channel no holder's reader can open; here the counter is the owner of the
//! [`Card`] value and these methods are its commands:
//!
//! | situation | operations |
//! |---|---|
//! | move (転居): new signature certificate | [`Card::counter_regenerate_key`]`(Signature)`, certify, [`Card::counter_install_certificate`] |
//! | renewal: both certificates | the same for [`Slot::Signature`] and [`Slot::Auth`] |
//! | move / marriage (facts changed): the input-assist AP's text | [`Card::counter_rewrite_facts`] (the 券面AP keeps its issue-time face) |
//! | forgotten / blocked PIN | [`Card::counter_set_pin`] |
//! | a minor turns 15 | regenerate (creates the signature key), install, set the signature password |
//!
//! Every operation validates everything before it changes anything, marks the card dirty
//! ([`Card::take_dirty`]: the caller persists the card image before it acknowledges) and leaves
//! the card in power-on state (no PIN verified, nothing selected). None exposes a private key:
//! key pairs are generated inside the chip and only their public halves come out.

use hanko_pki::der::Encode;
use hanko_pki::spki::SubjectPublicKeyInfoOwned;
use hanko_pki::{CertKind, JpkiCertificate};

use crate::chip::{ChipKey, ChipKeyError, Pin, PinFormat};
use crate::client::Slot;
use crate::emulator::{Access, Application, Card, Device, Fid, Object};
use crate::layout::{common, jpki, AID_COMMON, AID_INPUT_ASSIST, AID_JPKI, AID_JUKI, CERT_EF_SIZE};

/// A counter operation was refused; the card is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CounterError {
    /// The card has no JPKI-AP.
    #[error("the card has no JPKI application")]
    NoApplication,
    /// The card holds no key for the slot (a minor's card before
    /// [`Card::counter_regenerate_key`]).
    #[error("the card holds no {} key", slot_name(.slot))]
    NoKey {
        /// The slot.
        slot: Slot,
    },
    /// A certificate does not parse as a JPKI certificate.
    #[error("the {what} is not a JPKI certificate")]
    Certificate {
        /// Which certificate.
        what: &'static str,
    },
    /// A certificate of another kind than the EF holds (an auth certificate for the signature
    /// slot, an end-entity certificate as the CA certificate).
    #[error("the {what} is a {} certificate", .found.as_str())]
    WrongKind {
        /// Which certificate.
        what: &'static str,
        /// What it is.
        found: CertKind,
    },
    /// The certificate's SubjectPublicKeyInfo is not the chip's current key for the slot.
    #[error("the certificate is not for the chip's current {} key", slot_name(.slot))]
    KeyMismatch {
        /// The slot.
        slot: Slot,
    },
    /// The certificate was not issued by the CA certificate given with it (issuer name or key
    /// identifier differ; CA generations share one DN, 20-pki.md §1).
    #[error("the {} certificate was not issued by the CA certificate given", slot_name(.slot))]
    WrongIssuer {
        /// The slot.
        slot: Slot,
    },
    /// A certificate does not fit its EF.
    #[error("the {what} is {len} bytes; its EF holds {max}")]
    TooLarge {
        /// Which certificate.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The EF size.
        max: usize,
    },
    /// The new PIN does not have the slot's format (10-card.md §5).
    #[error("the new {} PIN does not have the required format", slot_name(.slot))]
    PinFormat {
        /// The slot.
        slot: Slot,
    },
    /// The chip could not make a key.
    #[error(transparent)]
    Key(#[from] ChipKeyError),
    /// The card has no 券面事項入力補助AP (a phone, or a card issued without it).
    #[error("the card has no input-assist application")]
    NoInputAssist,
    /// The input-assist AP's My Number EF does not parse (a damaged image).
    #[error("the input-assist application's data: {0}")]
    CardData(#[from] crate::cv::CardDataError),
    /// The new facts do not fit the input-assist AP.
    #[error(transparent)]
    Facts(#[from] crate::input_assist::InputAssistBuildError),
    /// The CV issuer given is not the one whose certificate the card holds (EF `0004`): a
    /// record it signed would not verify on this card.
    #[error("the CV issuer is not the one that personalised this card's input-assist application")]
    CvIssuerMismatch,
}

fn slot_name(slot: &Slot) -> &'static str {
    match slot {
        Slot::Signature => "signature",
        Slot::Auth => "user-authentication",
    }
}

/// The JPKI-AP objects of one slot and their rules (10-card.md §3, §5), as
/// [`crate::BlankChip::personalize`] lays them out.
struct SlotProfile {
    key: Fid,
    pin: Fid,
    cert: Fid,
    ca_cert: Fid,
    pin_format: PinFormat,
    pin_tries: u8,
    /// The certificate kinds the slot's EF holds.
    kinds: &'static [CertKind],
    /// What the certificate is called in errors.
    what: &'static str,
    /// Devices on which reading the certificate needs the slot's PIN.
    cert_read_needs_pin: &'static [Device],
}

const SIGNATURE: SlotProfile = SlotProfile {
    key: jpki::SIGN_KEY,
    pin: jpki::SIGN_PIN,
    cert: jpki::SIGN_CERT,
    ca_cert: jpki::SIGN_CA_CERT,
    pin_format: PinFormat::Password,
    pin_tries: 5,
    kinds: &[CertKind::Signature, CertKind::SmartphoneSignature],
    what: "signature certificate",
    cert_read_needs_pin: &[Device::Card, Device::Android, Device::Iphone],
};

const AUTH: SlotProfile = SlotProfile {
    key: jpki::AUTH_KEY,
    pin: jpki::AUTH_PIN,
    cert: jpki::AUTH_CERT,
    ca_cert: jpki::AUTH_CA_CERT,
    pin_format: PinFormat::FourDigits,
    pin_tries: 3,
    kinds: &[CertKind::Auth, CertKind::SmartphoneAuth],
    what: "user-authentication certificate",
    cert_read_needs_pin: &[Device::Android],
};

/// On a physical card the auth PIN is also the PIN of these APs (personalisation writes the same
/// value, [`crate::Personalization::auth_pin`] \[I\]); a counter reset keeps them equal.
const SHARED_AUTH_PINS: [(&[u8], Fid); 3] =
    [(&AID_COMMON, common::PIN), (&AID_INPUT_ASSIST, crate::input_assist::ef::PIN), (&AID_JUKI, crate::juki::ef::PIN)];

impl SlotProfile {
    fn of(slot: Slot) -> &'static SlotProfile {
        match slot {
            Slot::Signature => &SIGNATURE,
            Slot::Auth => &AUTH,
        }
    }

    fn cert_read(&self, device: Device) -> Access {
        if self.cert_read_needs_pin.contains(&device) {
            Access::AnyOf(vec![self.pin])
        } else {
            Access::Free
        }
    }
}

/// Puts `object` at `fid`, replacing what is there or inserting it in FID order.
fn put(app: &mut Application, fid: Fid, object: Object) {
    match app.object_mut(fid) {
        Some(o) => *o = object,
        None => {
            let at = app.objects.partition_point(|(f, _)| *f < fid);
            app.objects.insert(at, (fid, object));
        }
    }
}

/// A certificate EF padded with `FF` to [`CERT_EF_SIZE`], as personalisation writes it.
fn cert_file(der: &[u8], read: Access) -> Object {
    let mut content = der.to_vec();
    content.resize(CERT_EF_SIZE, 0xFF);
    Object::File { content, read }
}

/// EF `0008` from what the certificate EFs hold: `8F 8F 00` both present, `00 8F 00` no
/// signature certificate (10-card.md §3 \[S\]); the second byte is `00` while the
/// user-authentication certificate EF is empty (between regeneration and installation) \[I\].
fn refresh_availability(app: &mut Application) {
    let flag = |app: &Application, fid| match app.object(fid) {
        Some(Object::File { content, .. }) if content.first() == Some(&0x30) => 0x8F,
        _ => 0x00,
    };
    let content = vec![flag(app, jpki::SIGN_CERT), flag(app, jpki::AUTH_CERT), 0x00];
    put(app, jpki::AVAILABILITY, Object::File { content, read: Access::Free });
}

fn parse(der: &[u8], what: &'static str) -> Result<JpkiCertificate, CounterError> {
    if der.len() > CERT_EF_SIZE {
        return Err(CounterError::TooLarge { what, len: der.len(), max: CERT_EF_SIZE });
    }
    JpkiCertificate::from_der(der).map_err(|_| CounterError::Certificate { what })
}

impl Card {
    fn jpki_app_mut(&mut self) -> Result<&mut Application, CounterError> {
        self.apps.iter_mut().find(|a| a.aid == AID_JPKI).ok_or(CounterError::NoApplication)
    }

    /// Ends the counter's operation: power-on state, and the image must be written.
    fn counter_done(&mut self) {
        self.reset();
        self.mark_dirty();
    }

    /// Generates a fresh key pair inside the chip for `slot` (signature key EF `001A`,
    /// user-authentication key EF `0017`), replacing the old one, and empties the slot's
    /// certificate EF (all `FF`: the old certificate no longer matches; EF `0008` follows).
    /// Returns the new public key for the CA; the private key never leaves the chip.
    ///
    /// On a card without signature objects (issued to a minor) this creates the key, usable
    /// only after a VERIFY of the slot's PIN, and an empty certificate EF. That PIN does not
    /// exist yet: until [`Card::counter_set_pin`] sets it, VERIFY answers `6A 82` and the key
    /// answers `69 82`, so the card is not usable for signing before the counter sets it.
    pub fn counter_regenerate_key(&mut self, slot: Slot) -> Result<SubjectPublicKeyInfoOwned, CounterError> {
        let profile = SlotProfile::of(slot);
        let device = self.device;
        let app = self.jpki_app_mut()?;
        let key = ChipKey::generate()?;
        let public = key.public_key().clone();
        put(app, profile.key, Object::Key { key: Box::new(key), usage: Access::AnyOf(vec![profile.pin]) });
        put(app, profile.cert, cert_file(&[], profile.cert_read(device)));
        refresh_availability(app);
        self.counter_done();
        Ok(public)
    }

    /// Writes `cert_der` and its CA certificate `ca_cert_der` into the slot's EFs, padded with
    /// `FF` to [`CERT_EF_SIZE`] with the access rules of personalisation (the signature
    /// certificate needs the signature password; the user-authentication certificate is free on
    /// a card and needs the PIN on an Android phone; CA certificates are free), and updates EF
    /// `0008` (`8F 8F 00` once a signature certificate is present).
    ///
    /// Refuses a certificate whose SubjectPublicKeyInfo is not the chip's current key for the
    /// slot ([`CounterError::KeyMismatch`]), one of the other slot's kind, and one that
    /// `ca_cert_der` did not issue.
    pub fn counter_install_certificate(
        &mut self,
        slot: Slot,
        cert_der: &[u8],
        ca_cert_der: &[u8],
    ) -> Result<(), CounterError> {
        let profile = SlotProfile::of(slot);
        let cert = parse(cert_der, profile.what)?;
        let ca = parse(ca_cert_der, "CA certificate")?;
        if !profile.kinds.contains(&cert.kind()) {
            return Err(CounterError::WrongKind { what: profile.what, found: cert.kind() });
        }
        if ca.kind() != CertKind::Ca {
            return Err(CounterError::WrongKind { what: "CA certificate", found: ca.kind() });
        }
        let other_key_id = matches!(
            (cert.authority_key_id(), ca.subject_key_id()), (Some(aki), Some(ski)) if aki != ski
        );
        if cert.issuer_der() != ca.subject_der() || other_key_id {
            return Err(CounterError::WrongIssuer { slot });
        }
        let device = self.device;
        let app = self.jpki_app_mut()?;
        let Some(Object::Key { key, .. }) = app.object(profile.key) else {
            return Err(CounterError::NoKey { slot });
        };
        let ours = key.public_key().to_der().map_err(|e| ChipKeyError(e.to_string()))?;
        if cert.public_key_der() != ours.as_slice() {
            return Err(CounterError::KeyMismatch { slot });
        }
        put(app, profile.cert, cert_file(cert_der, profile.cert_read(device)));
        put(app, profile.ca_cert, cert_file(ca_cert_der, Access::Free));
        refresh_availability(app);
        self.counter_done();
        Ok(())
    }

    /// Rewrites the 券面事項入力補助AP's 4 facts (EF `0002`) and its integrity record (EF
    /// `0003`, DF32 over the new facts, signed by `issuer`) after a change in the resident
    /// register (a move, a marriage), as the municipality does: the My Number EF, the PINs,
    /// 照合番号A/B and the 券面AP (the issue-time face) stay as they are.
    ///
    /// `sex` is the JIS X 0303 digit the AP stores (1, 2, 9; 0 unknown). Refuses an `issuer`
    /// whose CV certificate is not the card's EF `0004` ([`CounterError::CvIssuerMismatch`]);
    /// checks everything before it changes anything.
    pub fn counter_rewrite_facts(
        &mut self,
        name: &str,
        address: &str,
        birth_date: hanko_pki::time::Date,
        sex: u8,
        issuer: &crate::CvIssuer,
    ) -> Result<(), CounterError> {
        use crate::input_assist::{ef, four_facts_file, parse_my_number_ef, CardFacts, FourFacts};
        let app = self.apps.iter_mut().find(|a| a.aid == AID_INPUT_ASSIST).ok_or(CounterError::NoInputAssist)?;
        let content = |app: &Application, fid| match app.object(fid) {
            Some(Object::File { content, .. }) => Ok(content.clone()),
            _ => Err(CounterError::NoInputAssist),
        };
        let my_number_ef = zeroize::Zeroizing::new(content(app, ef::MY_NUMBER)?);
        if content(app, ef::CV_CERTIFICATE)? != issuer.certificate().as_bytes() {
            return Err(CounterError::CvIssuerMismatch);
        }
        let facts = CardFacts::new(parse_my_number_ef(&my_number_ef)?, name, address, birth_date, sex)?;
        let four = four_facts_file(&facts)?;
        let part = FourFacts::parse(&four).map_err(|_| crate::input_assist::InputAssistBuildError::Field("4 facts"))?;
        let sha256 = crate::cv::sha256;
        let record = issuer
            .sign_integrity_record(&sha256(&my_number_ef), &sha256(part.signed_part()))
            .map_err(crate::input_assist::InputAssistBuildError::from)?;
        for (fid, new) in [(ef::FACTS, four), (ef::INTEGRITY, record.as_bytes().to_vec())] {
            if let Some(Object::File { content, .. }) = app.object_mut(fid) {
                *content = new;
            }
        }
        self.counter_done();
        Ok(())
    }

    /// Sets the slot's PIN to `new_pin` with a full retry counter — the counter's PIN reset,
    /// which also unblocks a blocked PIN (10-card.md §4: no user APDU can). The signature
    /// password is 6–16 of `[A-Z0-9]` with 5 tries, the user-authentication PIN 4 digits with 3
    /// tries; another format is refused ([`CounterError::PinFormat`]). Creates the PIN when the
    /// card has none (a minor's card getting its signature key).
    ///
    /// On a physical card the user-authentication PIN is also the 共通AP, input-assist AP and
    /// 住基AP PIN (as personalisation writes it): those present are reset to the same value.
    pub fn counter_set_pin(&mut self, slot: Slot, new_pin: &[u8]) -> Result<(), CounterError> {
        let profile = SlotProfile::of(slot);
        let pin = Pin::new(new_pin, profile.pin_format, profile.pin_tries).ok_or(CounterError::PinFormat { slot })?;
        let device = self.device;
        put(self.jpki_app_mut()?, profile.pin, Object::Pin(pin));
        if slot == Slot::Auth && device == Device::Card {
            for (aid, fid) in SHARED_AUTH_PINS {
                let shared = self.apps.iter_mut().find(|a| a.aid == aid).and_then(|a| a.object_mut(fid));
                if let Some(Object::Pin(p)) = shared {
                    if p.format == PinFormat::FourDigits {
                        p.set(new_pin);
                        p.tries_left = p.max_tries;
                    }
                }
            }
        }
        self.counter_done();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use hanko_pki::time::macros::date;
    use hanko_pki::verify::{RevocationCheck, Signed, TrustStore, Verifier};
    use hanko_pki::*;
    use rand_core::OsRng;

    use super::*;
    use crate::tests::{apdu, issued, read, verify, Issued, NOW, PASSWORD, PIN};
    use crate::{
        input_assist_app, juki_app, BlankChip, CardFacts, Client, CvIssuer, MyNumber, Personalization,
        ResidentRecordCode, Response, SealKey, StatusWord,
    };

    const SELECT_JPKI: &str = "00A4040C0A D392F000260100000001";
    const DOC: &[u8] = b"moving-in notification";

    /// A certificate of `kind` for `key` from `ca`, as the authority issues at the counter.
    fn certify(ca: &CaGeneration<SoftwareKey>, kind: CertKind, key: SubjectPublicKeyInfoOwned) -> Vec<u8> {
        let facts = BasicFacts::new(
            "試験　花子",
            Sex::FEMALE,
            BirthDate::Known(date!(1985 - 04 - 01)),
            "東京都見本区転居町二丁目２番２号",
        )
        .unwrap();
        let not_after = end_entity_not_after(NOW, facts.birth_date(), date!(2030 - 12 - 31));
        let (subject, facts) = match kind {
            CertKind::Signature => {
                (signature_subject("Tokyo-to", "Mihon-ku", &issuance_id(NOW, 2, "HANKOTEST")).unwrap(), Some(&facts))
            }
            _ => (auth_subject(&opaque_auth_id(&mut OsRng)).unwrap(), None),
        };
        ca.issue(&Profile::end_entity(kind), &Serial::random(&mut OsRng), subject, key, facts, NOW, not_after).unwrap()
    }

    fn trust(i: &Issued) -> TrustStore {
        let mut t = TrustStore::new(PolicySet::sandbox());
        t.add_anchor(i.sign_ca.certificate_der(), CaKind::Signature).unwrap();
        t.add_anchor(i.auth_ca.certificate_der(), CaKind::Auth).unwrap();
        t
    }

    /// SELECT the JPKI-AP, VERIFY the slot's PIN, `80 2A 00 (80|key)` over a SHA-256
    /// DigestInfo of `doc`: the signature, or the status word that refused it.
    fn sign_by_apdus(card: &mut Card, slot: Slot, secret: &[u8], doc: &[u8]) -> Result<Vec<u8>, StatusWord> {
        let profile = SlotProfile::of(slot);
        assert_eq!(apdu(card, SELECT_JPKI).sw, StatusWord::SUCCESS);
        let sw = verify(card, profile.pin.0 as u8, secret);
        if sw != StatusWord::SUCCESS {
            return Err(sw);
        }
        let di = DigestInfo::of(DigestAlgorithm::Sha256, doc).to_der().unwrap();
        let mut raw = vec![0x80, 0x2A, 0x00, 0x80 | profile.key.0 as u8, di.len() as u8];
        raw.extend_from_slice(&di);
        raw.push(0x00);
        let r = Response::parse(&card.process(&raw)).unwrap();
        if r.sw == StatusWord::SUCCESS {
            Ok(r.data)
        } else {
            Err(r.sw)
        }
    }

    /// Whether `sig` over `doc` verifies under the key of `cert`.
    fn signed_by(cert: &[u8], doc: &[u8], sig: &[u8]) -> bool {
        let cert = JpkiCertificate::from_der(cert).unwrap();
        let key = RsaPublicKey::from_spki_der(cert.public_key_der()).unwrap();
        key.verify(SignatureAlgorithm::RsaPkcs1Sha256, doc, sig).is_ok()
    }

    fn availability(card: &mut Card) -> Vec<u8> {
        assert_eq!(apdu(card, SELECT_JPKI).sw, StatusWord::SUCCESS);
        read(card, 0x08).data
    }

    fn file(card: &Card, fid: Fid) -> &[u8] {
        let app = card.applications().iter().find(|a| a.aid == AID_JPKI).unwrap();
        match app.object(fid) {
            Some(Object::File { content, .. }) => content,
            other => panic!("{fid:?} is {other:?}"),
        }
    }

    /// A card personalised for a minor: no signature key, certificate or password.
    fn minor(i: &Issued) -> Card {
        let blank = BlankChip::generate(Device::Card).unwrap();
        let auth_cert = certify(&i.auth_ca, CertKind::Auth, blank.auth_public_key().clone());
        blank
            .personalize(Personalization {
                sign_cert: None,
                sign_ca_cert: i.sign_ca.certificate_der(),
                auth_cert: &auth_cert,
                auth_ca_cert: i.auth_ca.certificate_der(),
                sign_password: PASSWORD,
                auth_pin: PIN,
                card_serial: "HANKO0000000015",
                municipality_code: "99999",
                card_expiry: "20351231",
                extra_apps: Vec::new(),
            })
            .unwrap()
    }

    #[test]
    fn after_a_move_the_card_signs_under_the_new_certificate_only() {
        let i = issued(Device::Card);
        let t = trust(&i);
        let mut card = i.card;
        let old = sign_by_apdus(&mut card, Slot::Signature, PASSWORD, DOC).unwrap();
        assert!(signed_by(&i.sign_cert, DOC, &old));

        let public = card.counter_regenerate_key(Slot::Signature).unwrap();
        assert!(card.take_dirty(), "the caller must persist the card before acknowledging");
        assert!(file(&card, jpki::SIGN_CERT).iter().all(|b| *b == 0xFF), "the old certificate is cleared");
        assert_eq!(file(&card, jpki::SIGN_CERT).len(), CERT_EF_SIZE);
        assert_eq!(availability(&mut card), [0x00, 0x8F, 0x00]);

        let new_cert = certify(&i.sign_ca, CertKind::Signature, public);
        card.counter_install_certificate(Slot::Signature, &new_cert, i.sign_ca.certificate_der()).unwrap();
        assert!(card.take_dirty());
        assert_eq!(availability(&mut card), [0x8F, 0x8F, 0x00]);

        let sig = sign_by_apdus(&mut card, Slot::Signature, PASSWORD, DOC).unwrap();
        assert!(signed_by(&new_cert, DOC, &sig), "the new certificate's key made it");
        assert!(!signed_by(&i.sign_cert, DOC, &sig), "the old certificate's key did not");
        Verifier::new(&t)
            .verify_signature(&new_cert, DigestAlgorithm::Sha256, Signed::Data(DOC), &sig, NOW, RevocationCheck::Skip)
            .unwrap();
        // The certificate EF reads back padded, still behind the password; the auth slot is
        // untouched.
        let mut c = Client::new(&mut card);
        assert_eq!(c.read_signature_certificate(PASSWORD).unwrap(), new_cert);
        assert_eq!(c.read_certificate(Slot::Auth).unwrap(), i.auth_cert);
        card.reset();
        assert_eq!(apdu(&mut card, SELECT_JPKI).sw, StatusWord::SUCCESS);
        assert_eq!(read(&mut card, 0x01).sw, StatusWord::SECURITY_STATUS_NOT_SATISFIED);
    }

    #[test]
    fn renewal_replaces_both_keys_and_certificates() {
        let i = issued(Device::Card);
        let t = trust(&i);
        let mut card = i.card;
        let sign_key = card.counter_regenerate_key(Slot::Signature).unwrap();
        let auth_key = card.counter_regenerate_key(Slot::Auth).unwrap();
        assert_ne!(sign_key, auth_key);
        assert_eq!(availability(&mut card), [0x00, 0x00, 0x00], "no certificate until installed");
        let sign_cert = certify(&i.sign_ca, CertKind::Signature, sign_key);
        let auth_cert = certify(&i.auth_ca, CertKind::Auth, auth_key);
        card.counter_install_certificate(Slot::Auth, &auth_cert, i.auth_ca.certificate_der()).unwrap();
        assert_eq!(availability(&mut card), [0x00, 0x8F, 0x00]);
        card.counter_install_certificate(Slot::Signature, &sign_cert, i.sign_ca.certificate_der()).unwrap();
        assert_eq!(availability(&mut card), [0x8F, 0x8F, 0x00]);

        let sig = sign_by_apdus(&mut card, Slot::Auth, PIN, DOC).unwrap();
        assert!(signed_by(&auth_cert, DOC, &sig) && !signed_by(&i.auth_cert, DOC, &sig));
        Verifier::new(&t)
            .verify_authentication(&auth_cert, DOC, DigestAlgorithm::Sha256, &sig, NOW, RevocationCheck::Skip)
            .unwrap();
        let sig = sign_by_apdus(&mut card, Slot::Signature, PASSWORD, DOC).unwrap();
        assert!(signed_by(&sign_cert, DOC, &sig) && !signed_by(&i.sign_cert, DOC, &sig));
        let mut c = Client::new(&mut card);
        assert_eq!(c.read_certificate(Slot::Auth).unwrap(), auth_cert, "free on a card");
        assert_eq!(c.read_ca_certificate(Slot::Auth).unwrap(), i.auth_ca.certificate_der());
    }

    #[test]
    fn a_certificate_for_another_key_is_refused() {
        let i = issued(Device::Card);
        let mut card = i.card;
        let public = card.counter_regenerate_key(Slot::Signature).unwrap();
        assert!(card.take_dirty());
        let sign_ca = i.sign_ca.certificate_der();
        // The old certificate (the old key), and one for a key that never was in this chip.
        assert_eq!(
            card.counter_install_certificate(Slot::Signature, &i.sign_cert, sign_ca),
            Err(CounterError::KeyMismatch { slot: Slot::Signature })
        );
        let stranger = certify(&i.sign_ca, CertKind::Signature, ChipKey::generate().unwrap().public_key().clone());
        assert_eq!(
            card.counter_install_certificate(Slot::Signature, &stranger, sign_ca),
            Err(CounterError::KeyMismatch { slot: Slot::Signature })
        );
        // The right key in the wrong kind of certificate, from the wrong CA, or not DER at all.
        let as_auth = certify(&i.auth_ca, CertKind::Auth, public.clone());
        assert_eq!(
            card.counter_install_certificate(Slot::Signature, &as_auth, i.auth_ca.certificate_der()),
            Err(CounterError::WrongKind { what: "signature certificate", found: CertKind::Auth })
        );
        let right = certify(&i.sign_ca, CertKind::Signature, public);
        assert_eq!(
            card.counter_install_certificate(Slot::Signature, &right, i.auth_ca.certificate_der()),
            Err(CounterError::WrongIssuer { slot: Slot::Signature })
        );
        assert_eq!(
            card.counter_install_certificate(Slot::Signature, &right, &right),
            Err(CounterError::WrongKind { what: "CA certificate", found: CertKind::Signature })
        );
        assert_eq!(
            card.counter_install_certificate(Slot::Signature, b"\x30\x03\x02\x01\x00", sign_ca),
            Err(CounterError::Certificate { what: "signature certificate" })
        );
        let huge = vec![0x30; CERT_EF_SIZE + 1];
        assert!(matches!(
            card.counter_install_certificate(Slot::Signature, &huge, sign_ca),
            Err(CounterError::TooLarge { len, max: CERT_EF_SIZE, .. }) if len == CERT_EF_SIZE + 1
        ));
        // Nothing was written.
        assert!(!card.take_dirty());
        assert!(file(&card, jpki::SIGN_CERT).iter().all(|b| *b == 0xFF));
        assert_eq!(availability(&mut card), [0x00, 0x8F, 0x00]);
        card.counter_install_certificate(Slot::Signature, &right, sign_ca).unwrap();
        assert_eq!(
            sign_by_apdus(&mut card, Slot::Signature, PASSWORD, DOC).map(|s| signed_by(&right, DOC, &s)),
            Ok(true)
        );
    }

    #[test]
    fn the_counter_unblocks_a_blocked_pin_on_every_ap_that_shares_it() {
        let facts = CardFacts::new(
            MyNumber::from_body(b"99123456780").unwrap(),
            "試験　花子",
            "東京都見本区試験町一丁目１番１号",
            date!(1980 - 02 - 17),
            2,
        )
        .unwrap();
        let issuer = CvIssuer::generate().unwrap();
        let extra = vec![
            input_assist_app(&facts, &issuer, PIN, 2035, "2285").unwrap(),
            juki_app(PIN, &ResidentRecordCode::parse(b"12345678901").unwrap()).unwrap(),
        ];
        let mut card = crate::sample::issue(Device::Card, extra).unwrap().card;
        let mut c = Client::new(&mut card);
        for _ in 0..3 {
            let _ = c.verify_pin(Slot::Auth, b"0000");
        }
        assert_eq!(c.verify_pin(Slot::Auth, PIN), Err(crate::ClientError::PinBlocked));
        assert!(card.take_dirty(), "the wrong PINs counted down");
        assert_eq!(
            card.counter_set_pin(Slot::Auth, b"12345"),
            Err(CounterError::PinFormat { slot: Slot::Auth }),
            "5 digits"
        );
        assert_eq!(card.counter_set_pin(Slot::Auth, b"12a4"), Err(CounterError::PinFormat { slot: Slot::Auth }));
        assert!(!card.take_dirty());

        card.counter_set_pin(Slot::Auth, b"5678").unwrap();
        assert!(card.take_dirty());
        assert_eq!(apdu(&mut card, SELECT_JPKI).sw, StatusWord::SUCCESS);
        assert_eq!(apdu(&mut card, "00200098").sw, StatusWord::tries_left(3), "the retry counter is full again");
        assert_eq!(verify(&mut card, 0x18, PIN), StatusWord::tries_left(2), "the old PIN no longer opens it");
        assert_eq!(verify(&mut card, 0x18, b"5678"), StatusWord::SUCCESS);
        assert!(sign_by_apdus(&mut card, Slot::Auth, b"5678", DOC).is_ok());
        // 共通AP, input-assist AP and 住基AP take the same new PIN.
        for (select, sfi) in [
            ("00A4040C0A D3921000310001010100", 0x1C),
            ("00A4040C0A D3921000310001010408", 0x11),
            ("00A4040C0A D3921000310001010401", 0x1C),
        ] {
            assert_eq!(apdu(&mut card, select).sw, StatusWord::SUCCESS);
            assert_eq!(verify(&mut card, sfi, PIN), StatusWord::tries_left(2), "{select}");
            assert_eq!(verify(&mut card, sfi, b"5678"), StatusWord::SUCCESS, "{select}");
        }
        // The signature password is its own: untouched by an auth PIN reset, reset on its own.
        assert!(sign_by_apdus(&mut card, Slot::Signature, PASSWORD, DOC).is_ok());
        for _ in 0..5 {
            let _ = verify(&mut card, 0x1B, b"WRONG1");
        }
        assert_eq!(verify(&mut card, 0x1B, PASSWORD), StatusWord::PIN_BLOCKED);
        assert_eq!(
            card.counter_set_pin(Slot::Signature, b"short"),
            Err(CounterError::PinFormat { slot: Slot::Signature })
        );
        assert_eq!(
            card.counter_set_pin(Slot::Signature, b"lower123"),
            Err(CounterError::PinFormat { slot: Slot::Signature })
        );
        card.counter_set_pin(Slot::Signature, b"MOVED2027").unwrap();
        assert_eq!(sign_by_apdus(&mut card, Slot::Signature, PASSWORD, DOC), Err(StatusWord::tries_left(4)));
        assert!(sign_by_apdus(&mut card, Slot::Signature, b"MOVED2027", DOC).is_ok());
    }

    #[test]
    fn a_minor_turning_15_gets_a_signature_key_certificate_and_password() {
        let i = issued(Device::Card);
        let t = trust(&i);
        let mut card = minor(&i);
        assert_eq!(availability(&mut card), [0x00, 0x8F, 0x00]);
        assert_eq!(apdu(&mut card, "00A4020C02001A").sw, StatusWord::FILE_NOT_FOUND, "no signature key");
        // Nothing to certify yet.
        let early = certify(&i.sign_ca, CertKind::Signature, ChipKey::generate().unwrap().public_key().clone());
        assert_eq!(
            card.counter_install_certificate(Slot::Signature, &early, i.sign_ca.certificate_der()),
            Err(CounterError::NoKey { slot: Slot::Signature })
        );

        let public = card.counter_regenerate_key(Slot::Signature).unwrap();
        assert!(card.take_dirty());
        // Key made, password not set: the key cannot be used.
        assert_eq!(sign_by_apdus(&mut card, Slot::Signature, PASSWORD, DOC), Err(StatusWord::FILE_NOT_FOUND));
        assert_eq!(apdu(&mut card, "802A009A0400112233 00").sw, StatusWord::SECURITY_STATUS_NOT_SATISFIED);

        let cert = certify(&i.sign_ca, CertKind::Signature, public);
        card.counter_install_certificate(Slot::Signature, &cert, i.sign_ca.certificate_der()).unwrap();
        card.counter_set_pin(Slot::Signature, b"TURNED15").unwrap();
        assert!(card.take_dirty());
        assert_eq!(availability(&mut card), [0x8F, 0x8F, 0x00]);
        assert_eq!(apdu(&mut card, "0020009B").sw, StatusWord::tries_left(5), "5 tries");

        let mut c = Client::new(&mut card);
        assert_eq!(c.read_signature_certificate(b"TURNED15").unwrap(), cert);
        let di = DigestInfo::of(DigestAlgorithm::Sha256, DOC).to_der().unwrap();
        let sig = c.sign(Slot::Signature, b"TURNED15", &di).unwrap();
        let v = Verifier::new(&t)
            .verify_signature(&cert, DigestAlgorithm::Sha256, Signed::Data(DOC), &sig, NOW, RevocationCheck::Skip)
            .unwrap();
        assert_eq!(v.certificate().kind(), CertKind::Signature);
        // The auth slot and its PIN are what they were.
        assert!(sign_by_apdus(&mut card, Slot::Auth, PIN, DOC).is_ok());
    }

    #[test]
    fn the_card_image_keeps_the_new_key_and_pin() {
        let i = issued(Device::Card);
        let mut card = i.card;
        let public = card.counter_regenerate_key(Slot::Signature).unwrap();
        let cert = certify(&i.sign_ca, CertKind::Signature, public);
        card.counter_install_certificate(Slot::Signature, &cert, i.sign_ca.certificate_der()).unwrap();
        card.counter_set_pin(Slot::Signature, b"NEWPASS99").unwrap();
        card.counter_set_pin(Slot::Auth, b"2468").unwrap();
        assert!(card.take_dirty());

        let seal = SealKey::new([7; 32]);
        let image = card.to_image("counter-card", &seal).unwrap();
        let (mut back, id) = Card::from_image(&image, &seal).unwrap();
        assert_eq!(id, "counter-card");
        assert_eq!(file(&back, jpki::SIGN_CERT), file(&card, jpki::SIGN_CERT));
        assert_eq!(sign_by_apdus(&mut back, Slot::Signature, PASSWORD, DOC), Err(StatusWord::tries_left(4)));
        let sig = sign_by_apdus(&mut back, Slot::Signature, b"NEWPASS99", DOC).unwrap();
        assert!(signed_by(&cert, DOC, &sig) && !signed_by(&i.sign_cert, DOC, &sig));
        assert!(sign_by_apdus(&mut back, Slot::Auth, b"2468", DOC).is_ok());
        assert_eq!(availability(&mut back), [0x8F, 0x8F, 0x00]);
    }

    #[test]
    fn a_phone_keeps_its_auth_certificate_behind_the_pin() {
        let i = issued(Device::Android);
        let mut card = i.card;
        let public = card.counter_regenerate_key(Slot::Auth).unwrap();
        let cert = certify(&i.auth_ca, CertKind::Auth, public);
        card.counter_install_certificate(Slot::Auth, &cert, i.auth_ca.certificate_der()).unwrap();
        card.counter_set_pin(Slot::Auth, b"1357").unwrap();
        assert_eq!(card.applications().len(), 1, "a phone has only the JPKI-AP");
        assert_eq!(apdu(&mut card, SELECT_JPKI).sw, StatusWord::SUCCESS);
        assert_eq!(read(&mut card, 0x0A).sw, StatusWord::SECURITY_STATUS_NOT_SATISFIED);
        assert_eq!(verify(&mut card, 0x18, b"1357"), StatusWord::SUCCESS);
        assert_eq!(read(&mut card, 0x0A).data, file(&card, jpki::AUTH_CERT));
        assert_eq!(&file(&card, jpki::AUTH_CERT)[..cert.len()], cert.as_slice());
    }

    #[test]
    fn counter_operations_need_a_jpki_application_and_show_no_key() {
        let mut card = Card::new(Device::Card, Vec::new());
        assert_eq!(card.counter_regenerate_key(Slot::Auth), Err(CounterError::NoApplication));
        assert_eq!(card.counter_set_pin(Slot::Auth, b"1234"), Err(CounterError::NoApplication));
        assert!(!card.take_dirty());
        let mut card = issued(Device::Card).card;
        card.counter_regenerate_key(Slot::Auth).unwrap();
        card.counter_set_pin(Slot::Auth, b"9753").unwrap();
        let shown = format!("{card:?}");
        assert!(shown.contains("Key([inside the chip]") && !shown.contains("9753"), "{shown}");
    }
}
