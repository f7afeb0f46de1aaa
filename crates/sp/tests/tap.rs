//! PIN-less tap use (issue 12 part 4) against a real authority on loopback: registration, PIN-less
//! visits with the validity check over the authority's OCSP and the 券面AP chip check, the
//! policy guard, and the 2015 offline whitelist gate.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, unreachable_pub, dead_code, unused_imports)]

#[path = "../../platform/tests/api/common.rs"]
mod common;

use std::path::Path;

use common::{Backend, Eco};
use hanko_authority::{Clock, Role};
use hanko_card::{CardAppError, Client, ClientError, PinStatus, Slot, Transport, TransportError};
use hanko_cardlink::CardFile;
use hanko_pki::verify::TrustStore;
use hanko_pki::{CaKind, JpkiCertificate, PolicySet, RsaPublicKey};
use hanko_sp::tap::whitelist::{ConversionKey, Gate, GateDecision, Seller, Whitelist};
use hanko_sp::tap::*;
use serde_json::json;
use zeroize::Zeroizing;

const PIN: &[u8] = b"1234";

fn pins() -> RegistrationPins<'static> {
    RegistrationPins { auth_pin: PIN, input_assist_pin: PIN }
}

fn term(s: &str) -> TerminalId {
    TerminalId::parse(s).unwrap()
}
fn svc(s: &str) -> ServiceId {
    ServiceId::parse(s).unwrap()
}

/// The auth CA generations of the authority's data directory (public CA certificates).
fn trust(authority_dir: &Path) -> TrustStore {
    let mut t = TrustStore::new(PolicySet::sandbox());
    for g in std::fs::read_dir(authority_dir.join("ca").join("auth")).unwrap() {
        t.add_anchor(&std::fs::read(g.unwrap().path().join("ca.der")).unwrap(), CaKind::Auth).unwrap();
    }
    t
}

fn cv_root(authority_dir: &Path) -> RsaPublicKey {
    RsaPublicKey::from_spki_der(&std::fs::read(authority_dir.join("cv").join("root.spki.der")).unwrap()).unwrap()
}

fn policy() -> Policy {
    let mut p = Policy::new();
    p.register_terminal(term("desk-1"), Environment::Counter);
    p.register_terminal(term("tablet-7"), Environment::LentDevice);
    p.register_terminal(term("web"), Environment::Online);
    p.register_terminal(term("stall"), Environment::Outdoors);
    p.register_service(svc("library"), AssuranceLevel::Level1);
    p.register_service(svc("account"), AssuranceLevel::Level2);
    p
}

/// The library's tap service at the test authority, with its own 利用者証明検証者 key.
async fn service(eco: &Eco) -> TapService<MemoryStore> {
    let key = eco.authority.register_verifier(Role::Auth, "test library (tap use)").await.unwrap().api_key;
    let ocsp = AuthorityOcsp::new(&eco.a.base, Zeroizing::new(key)).unwrap();
    TapService::new(policy(), trust(&eco.authority_dir), cv_root(&eco.authority_dir), ocsp, MemoryStore::new())
}

fn card(eco: &Eco, id: &str) -> CardFile {
    CardFile::open(&eco.authority_dir, id).unwrap()
}

fn auth_serial(eco: &Eco, id: &str) -> String {
    let der = Client::new(card(eco, id)).read_certificate(Slot::Auth).unwrap();
    JpkiCertificate::from_der(&der).unwrap().serial().to_string()
}

/// A card that answers the JPKI-AP from `jpki` and every other AP from `rest`: another card
/// carrying a copy of `jpki`'s auth certificate (and, as far as a reader can tell, its key).
struct Spliced<A, B> {
    jpki: A,
    rest: B,
    to_jpki: bool,
}

impl<A: Transport, B: Transport> Transport for Spliced<A, B> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        if apdu.len() > 5 && apdu[1] == 0xA4 && apdu[2] == 0x04 {
            self.to_jpki = apdu[5..].starts_with(&hanko_card::layout::AID_JPKI);
        }
        if self.to_jpki {
            self.jpki.transmit(apdu)
        } else {
            self.rest.transmit(apdu)
        }
    }
}

/// A transport that keeps every command it passes on.
struct Logged<T> {
    inner: T,
    sent: Vec<Vec<u8>>,
}

impl<T: Transport> Transport for Logged<T> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.sent.push(apdu.to_vec());
        self.inner.transmit(apdu)
    }
}

/// No VERIFY (`INS 20`) with a code reached the card.
fn no_code_sent<T>(card: &Logged<T>) -> bool {
    !card.sent.iter().any(|c| c.len() > 5 && c[1] == 0x20)
}

/// Counts the APDUs it is asked to send, and sends none.
#[derive(Default)]
struct Untouched(usize);

impl Transport for Untouched {
    fn transmit(&mut self, _: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.0 += 1;
        Err(TransportError("no card".into()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_then_a_pinless_visit_then_revocation_fails_the_visit() {
    let eco = Eco::start(Backend::Sqlite).await;
    let (_, id) = eco.person_with_card("見本　花子", "1980-02-17").await;
    // (The CV root exists once the authority issued a card.)
    let tap = service(&eco).await;
    let now = eco.clock.now();

    // Not registered yet: the visit says so (after reading only the free certificate).
    let err = tap.visit(&term("desk-1"), &svc("library"), &mut card(&eco, &id), now).await.unwrap_err();
    assert_eq!(err.code(), "not-registered", "{err}");

    let reg = tap.register(&term("desk-1"), &svc("library"), &mut card(&eco, &id), pins(), now).await.unwrap();
    assert_eq!(reg.registration.serial(), auth_serial(&eco, &id));
    assert!(matches!(reg.revocation, hanko_pki::verify::RevocationEvidence::Ocsp { .. }), "{:?}", reg.revocation);
    assert_eq!(reg.registration.birth_date_key().as_str(), "550217", "era YYMMDD only (Showa 55)");
    let shown = format!("{reg:?}");
    assert!(!shown.contains("550217") && !shown.contains("1980"), "the birth date never prints: {shown}");

    // Later visits: no PIN at all — on another managed terminal too.
    for t in ["desk-1", "tablet-7"] {
        let v = tap.visit(&term(t), &svc("library"), &mut card(&eco, &id), now).await.unwrap();
        assert_eq!(v.registration.serial(), reg.registration.serial());
        assert_eq!(v.permit.terminal(), &term(t));
        assert!(matches!(v.revocation, hanko_pki::verify::RevocationEvidence::Ocsp { .. }));
    }
    // No PIN try was spent or needed by the visits.
    assert_eq!(Client::new(card(&eco, &id)).pin_status(Slot::Auth).unwrap(), PinStatus::Tries(3));

    // Lost card: the counter revokes the auth certificate through the authority's API.
    let serial = reg.registration.serial().to_owned();
    let (status, out) = eco
        .a
        .post(
            &format!("/v1/counter/certificates/{serial}/revocation"),
            &eco.counter_key,
            json!({"reason": "keyCompromise"}),
        )
        .await;
    assert_eq!(status, 200, "{out}");
    let err = tap.visit(&term("desk-1"), &svc("library"), &mut card(&eco, &id), eco.clock.now()).await.unwrap_err();
    assert_eq!(err.code(), "revoked", "{err}");
    // And it cannot be registered again either.
    let err = tap.register(&term("desk-1"), &svc("library"), &mut card(&eco, &id), pins(), eco.clock.now()).await;
    assert_eq!(err.unwrap_err().code(), "revoked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copied_certificate_on_another_card_fails_the_chip_check() {
    let eco = Eco::start(Backend::Sqlite).await;
    let (_, a) = eco.person_with_card("見本　花子", "1980-02-17").await;
    let (_, twin) = eco.person_with_card("見本　双子", "1980-02-17").await;
    let (_, other) = eco.person_with_card("試験　次郎", "1992-07-30").await;
    let tap = service(&eco).await;
    let now = eco.clock.now();
    tap.register(&term("desk-1"), &svc("library"), &mut card(&eco, &a), pins(), now).await.unwrap();

    // Another card, with the same birth date or another: its chip fails the free challenge
    // against the chip key registered, before the stored birth-date key is sent — a card that
    // only copied the certificate never learns the birth date (and its own key loses no try).
    for impostor in [&twin, &other] {
        let rest = Logged { inner: card(&eco, impostor), sent: Vec::new() };
        let mut copy = Spliced { jpki: card(&eco, &a), rest, to_jpki: false };
        let err = tap.visit(&term("desk-1"), &svc("library"), &mut copy, now).await.unwrap_err();
        assert!(matches!(err, TapError::ChipMismatch), "{err}");
        assert!(copy.rest.sent.iter().any(|c| c[..2] == [0x80, 0x2A]), "the chip was challenged");
        assert!(no_code_sent(&copy.rest), "no birth-date key reached the impostor: {:02X?}", copy.rest.sent);
        drop(copy); // (a card image is opened by one holder at a time)
    }
    let mut fresh = card(&eco, &other);
    let mut select = vec![0x00, 0xA4, 0x04, 0x0C, 0x0A];
    select.extend_from_slice(&hanko_card::layout::AID_CARD_FACE);
    assert_eq!(fresh.transmit(&select).unwrap(), [0x90, 0x00]);
    assert_eq!(fresh.transmit(&[0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x11]).unwrap(), [0x90, 0x00]);
    assert_eq!(fresh.transmit(&[0x00, 0x20, 0x00, 0x80]).unwrap(), [0x63, 0xCA], "10 tries left on its birth-date key");
    drop(fresh);

    // A registration whose stored birth date is wrong fails the genuine card too.
    let good = tap.visit(&term("desk-1"), &svc("library"), &mut card(&eco, &a), now).await.unwrap().registration;
    let wrong = Registration::restore(
        good.service().clone(),
        good.certificate_fingerprint(),
        good.serial().to_owned(),
        Zeroizing::new("550218".to_owned()),
        good.chip_key().clone(),
        good.terminal().clone(),
        good.registered_at(),
    )
    .unwrap();
    tap.store().put(wrong).unwrap();
    let err = tap.visit(&term("desk-1"), &svc("library"), &mut card(&eco, &a), now).await.unwrap_err();
    assert_eq!(err.code(), "chip-check", "{err}");

    // Withdrawing needs the registered card itself: a copy of the certificate removes nothing.
    let mut copy = Spliced { jpki: card(&eco, &a), rest: card(&eco, &twin), to_jpki: false };
    let err = tap.unregister(&term("desk-1"), &svc("library"), &mut copy).await.unwrap_err();
    assert!(matches!(err, TapError::ChipMismatch), "{err}");
    drop(copy);
    let err = tap.unregister(&term("web"), &svc("library"), &mut card(&eco, &a)).await.unwrap_err();
    assert_eq!(err.code(), "refused-environment", "{err}");
    assert!(tap.unregister(&term("desk-1"), &svc("library"), &mut card(&eco, &a)).await.unwrap());
    assert!(!tap.unregister(&term("desk-1"), &svc("library"), &mut card(&eco, &a)).await.unwrap(), "gone");
    let err = tap.visit(&term("desk-1"), &svc("library"), &mut card(&eco, &a), now).await.unwrap_err();
    assert_eq!(err.code(), "not-registered", "{err}");
    assert!(Registration::restore(
        good.service().clone(),
        [0; 32],
        String::new(),
        Zeroizing::new("5502".to_owned()),
        good.chip_key().clone(),
        good.terminal().clone(),
        now
    )
    .is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guard_refuses_before_the_card_is_touched_and_wrong_pins_are_reported() {
    let eco = Eco::start(Backend::Sqlite).await;
    let (_, id) = eco.person_with_card("見本　花子", "1980-02-17").await;
    // (The CV root exists once the authority issued a card.)
    let tap = service(&eco).await;
    let now = eco.clock.now();
    for (t, s, code) in [
        ("desk-9", "library", "refused-unregistered-terminal"),
        ("web", "library", "refused-environment"),
        ("stall", "library", "refused-environment"),
        ("desk-1", "account", "refused-assurance-level"),
        ("desk-1", "gym", "refused-unknown-service"),
    ] {
        let mut none = Untouched::default();
        let err = tap.register(&term(t), &svc(s), &mut none, pins(), now).await.unwrap_err();
        assert_eq!(err.code(), code, "{err}");
        let err = tap.visit(&term(t), &svc(s), &mut none, now).await.unwrap_err();
        assert_eq!(err.code(), code, "{err}");
        assert_eq!(none.0, 0, "no APDU before the guard said yes");
    }
    let err = tap.visit(&term("desk-1"), &svc("account"), &mut card(&eco, &id), now).await.unwrap_err();
    assert!(err.to_string().contains("level 2"), "{err}");

    // Wrong PINs at registration: the card counts down, nothing is stored.
    let wrong_auth = RegistrationPins { auth_pin: b"0000", input_assist_pin: PIN };
    let err = tap.register(&term("desk-1"), &svc("library"), &mut card(&eco, &id), wrong_auth, now).await.unwrap_err();
    assert_eq!(err.code(), "wrong-pin", "{err}");
    let wrong_ia = RegistrationPins { auth_pin: PIN, input_assist_pin: b"0000" };
    let err = tap.register(&term("desk-1"), &svc("library"), &mut card(&eco, &id), wrong_ia, now).await.unwrap_err();
    assert_eq!(err.code(), "wrong-pin", "{err}");
    assert!(err.to_string().contains("input-assist"), "{err}");
    let err = tap.visit(&term("desk-1"), &svc("library"), &mut card(&eco, &id), now).await.unwrap_err();
    assert_eq!(err.code(), "not-registered");

    // A service key the authority does not know: the validity check cannot be made.
    let stranger = AuthorityOcsp::new(&eco.a.base, Zeroizing::new(format!("vk_test_{}", "0".repeat(40)))).unwrap();
    let tap2 =
        TapService::new(policy(), trust(&eco.authority_dir), cv_root(&eco.authority_dir), stranger, MemoryStore::new());
    let err = tap2.register(&term("desk-1"), &svc("library"), &mut card(&eco, &id), pins(), now).await.unwrap_err();
    assert_eq!(err.code(), "authority-unavailable", "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_2015_whitelist_gate_admits_listed_cards_offline_once() {
    let eco = Eco::start(Backend::Sqlite).await;
    let (_, a) = eco.person_with_card("見本　花子", "1980-02-17").await;
    let (_, b) = eco.person_with_card("試験　次郎", "1992-07-30").await;
    let (_, c) = eco.person_with_card("架空　三郎", "1975-11-11").await;
    let now = eco.clock.now();
    let dir = eco.authority_dir.clone();
    let cert = |id: &str| Client::new(CardFile::open(&dir, id).unwrap()).read_certificate(Slot::Auth).unwrap();
    let (ca, cb, cc) = (cert(&a), cert(&b), cert(&c));

    // The seller: participant records, then the list with ticket numbers and values only.
    let key = ConversionKey::generate().unwrap();
    let mut seller = Seller::new("concert-2016-02");
    seller.add(&key, "T-0001", &JpkiCertificate::from_der(&ca).unwrap()).unwrap();
    seller.add(&key, "T-0002", &JpkiCertificate::from_der(&cb).unwrap()).unwrap();
    assert!(seller.add(&key, "T-0003", &JpkiCertificate::from_der(&ca).unwrap()).is_err(), "one ticket per card");
    let list = seller.export(&key);
    let json = serde_json::to_string(&list).unwrap();
    for der in [&ca, &cb] {
        let serial = JpkiCertificate::from_der(der).unwrap().serial().to_string();
        assert_eq!(seller.serial_of(if der == &ca { "T-0001" } else { "T-0002" }), Some(serial.as_str()));
        assert!(!json.to_uppercase().contains(&serial), "no raw serial in the list");
    }

    // The network goes away: the authority stops. The gate needs nothing but the list, the key
    // and the trust anchors.
    drop(eco);
    let list: Whitelist = serde_json::from_str(&json).unwrap();
    let mut gate = Gate::new(ConversionKey::from_hex(&key.to_hex()).unwrap(), &list).unwrap();
    let trust = trust(&dir);
    assert_eq!(gate.admit(&trust, &ca, now).unwrap(), GateDecision::Admit { ticket: "T-0001".into() });
    assert_eq!(gate.admit(&trust, &cc, now).unwrap(), GateDecision::NotListed);
    assert_eq!(gate.admit(&trust, &ca, now).unwrap(), GateDecision::AlreadyEntered { ticket: "T-0001".into() });
    assert_eq!(gate.admit(&trust, &cb, now).unwrap(), GateDecision::Admit { ticket: "T-0002".into() });
    // A gate with another event's key refuses the list; garbage is not a certificate.
    assert!(Gate::new(ConversionKey::generate().unwrap(), &list).is_err());
    assert!(gate.admit(&trust, b"not a certificate", now).is_err());
    // Under another key the same card has another value: lists of two events do not link.
    let other = ConversionKey::generate().unwrap();
    let ja = JpkiCertificate::from_der(&ca).unwrap();
    assert_ne!(key.convert(&ja), other.convert(&ja));
}
