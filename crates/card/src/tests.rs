//! The emulated card through the host client, in process, against the spec's status words.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use hanko_pki::verify::{RevocationCheck, Signed, TrustStore, Usage, Verifier};
use hanko_pki::*;

use crate::*;

pub(crate) use crate::sample::{Sample as Issued, NOW, PASSWORD, PIN};

/// A card issued at a counter: keys made in the chip, certified by sandbox CAs.
pub(crate) fn issued(device: Device) -> Issued {
    crate::sample::issue(device, Vec::new()).unwrap()
}

/// The response to a hex-written APDU.
pub(crate) fn apdu(card: &mut Card, hex: &str) -> Response {
    Response::parse(&card.process(&hex::decode(hex.replace(' ', "")).unwrap())).unwrap()
}

/// VERIFY `secret` against key EF `sfi` by the P2 = 80|SFI form.
pub(crate) fn verify(card: &mut Card, sfi: u8, secret: &[u8]) -> StatusWord {
    let mut raw = vec![0x00, 0x20, 0x00, 0x80 | sfi, secret.len() as u8];
    raw.extend_from_slice(secret);
    Response::parse(&card.process(&raw)).unwrap().sw
}

/// READ BINARY of the whole EF `sfi` by SFI (P1 = 80|SFI, extended Le 7FFF).
pub(crate) fn read(card: &mut Card, sfi: u8) -> Response {
    Response::parse(&card.process(&[0x00, 0xB0, 0x80 | sfi, 0x00, 0x00, 0x7F, 0xFF])).unwrap()
}

/// The content of EF `fid` of `app`, for tests that tamper with it.
pub(crate) fn file_mut(app: &mut Application, fid: Fid) -> &mut Vec<u8> {
    match app.objects.iter_mut().find(|(f, _)| *f == fid) {
        Some((_, Object::File { content, .. })) => content,
        _ => panic!("no file {fid:?}"),
    }
}

fn trust(i: &Issued) -> TrustStore {
    let mut t = TrustStore::new(PolicySet::sandbox());
    t.add_anchor(i.sign_ca.certificate_der(), CaKind::Signature).unwrap();
    t.add_anchor(i.auth_ca.certificate_der(), CaKind::Auth).unwrap();
    t
}

fn sw(card: &mut Card, apdu: &str) -> StatusWord {
    let raw = card.process(&hex::decode(apdu.replace(' ', "")).unwrap());
    Response::parse(&raw).unwrap().sw
}

#[test]
fn client_reads_the_certificates_the_authority_issued() {
    let i = issued(Device::Card);
    let mut c = Client::new(i.card);
    assert_eq!(c.read_certificate(Slot::Auth).unwrap(), i.auth_cert);
    assert_eq!(c.read_ca_certificate(Slot::Auth).unwrap(), i.auth_ca.certificate_der());
    assert_eq!(c.read_ca_certificate(Slot::Signature).unwrap(), i.sign_ca.certificate_der());
    // The signature certificate needs the password.
    assert!(matches!(
        c.read_certificate(Slot::Signature),
        Err(ClientError::Status { sw: StatusWord::SECURITY_STATUS_NOT_SATISFIED, .. })
    ));
    assert_eq!(c.read_signature_certificate(PASSWORD).unwrap(), i.sign_cert);
}

#[test]
fn signatures_verify_with_the_trust_core() {
    let i = issued(Device::Card);
    let t = trust(&i);
    let mut c = Client::new(i.card);
    let doc = b"application form";
    for alg in [DigestAlgorithm::Sha256, DigestAlgorithm::Sha384, DigestAlgorithm::Sha512] {
        let di = DigestInfo::of(alg, doc).to_der().unwrap();
        let sig = c.sign(Slot::Signature, PASSWORD, &di).unwrap();
        let v = Verifier::new(&t)
            .verify_signature(&i.sign_cert, alg, Signed::Data(doc), &sig, NOW, RevocationCheck::Skip)
            .unwrap();
        assert_eq!(v.certificate().facts().unwrap().name(), "試験　花子");
    }
    // A bare SHA-256 (the authentication app's sign API when the RP submits a hash) is padded and
    // signed as is: the trust core verifies it as the bare-digest form, and only as that.
    let hash = DigestAlgorithm::Sha256.digest(doc);
    let sig = c.sign(Slot::Signature, PASSWORD, &hash).unwrap();
    let v = Verifier::new(&t);
    let bare = v.verify_signature(
        &i.sign_cert,
        DigestAlgorithm::Sha256,
        Signed::BareDigest(&hash),
        &sig,
        NOW,
        RevocationCheck::Skip,
    );
    assert_eq!(bare.unwrap().form(), hanko_pki::verify::SignedForm::BareDigest);
    assert!(v
        .verify_signature(
            &i.sign_cert,
            DigestAlgorithm::Sha256,
            Signed::Digest(&hash),
            &sig,
            NOW,
            RevocationCheck::Skip
        )
        .is_err());
    // The auth key answers a challenge.
    let challenge = b"verifier nonce 0123456789";
    let di = DigestInfo::of(DigestAlgorithm::Sha256, challenge).to_der().unwrap();
    let sig = c.sign(Slot::Auth, PIN, &di).unwrap();
    let v = Verifier::new(&t)
        .verify_authentication(&i.auth_cert, challenge, DigestAlgorithm::Sha256, &sig, NOW, RevocationCheck::Skip)
        .unwrap();
    assert_eq!(v.certificate().kind(), CertKind::Auth);
    // A SHA-1 DigestInfo (older tools) and non-DigestInfo data are padded and signed as given.
    let sha1_di =
        hex::decode("3021300906052b0e03021a05000414").unwrap().into_iter().chain([7u8; 20]).collect::<Vec<_>>();
    let sig = c.sign(Slot::Auth, PIN, &sha1_di).unwrap();
    assert_eq!(sig.len(), 256);
    let _ = Usage::Signature;
}

#[test]
fn pins_count_down_block_and_report_without_spending() {
    let i = issued(Device::Card);
    let mut c = Client::new(i.card);
    assert_eq!(c.pin_status(Slot::Auth).unwrap(), PinStatus::Tries(3));
    assert_eq!(c.verify_pin(Slot::Auth, b"0000"), Err(ClientError::WrongPin { tries_left: 2 }));
    assert_eq!(c.pin_status(Slot::Auth).unwrap(), PinStatus::Tries(2));
    c.verify_pin(Slot::Auth, PIN).unwrap();
    assert_eq!(c.pin_status(Slot::Auth).unwrap(), PinStatus::Tries(3), "a right PIN resets the counter");
    assert_eq!(c.verify_pin(Slot::Auth, b"0000"), Err(ClientError::WrongPin { tries_left: 2 }));
    assert_eq!(c.verify_pin(Slot::Auth, b"0000"), Err(ClientError::WrongPin { tries_left: 1 }));
    assert_eq!(c.verify_pin(Slot::Auth, b"0000"), Err(ClientError::PinBlocked), "63 C0 on the blocking attempt");
    assert_eq!(c.verify_pin(Slot::Auth, PIN), Err(ClientError::PinBlocked), "69 84 after, even with the right PIN");
    assert_eq!(c.pin_status(Slot::Auth).unwrap(), PinStatus::Blocked);
    // The signature password is independent: 5 tries.
    assert_eq!(c.pin_status(Slot::Signature).unwrap(), PinStatus::Tries(5));
    let mut card = c.into_inner();
    assert_eq!(sw(&mut card, "00A4040C0AD392F000260100000001"), StatusWord::SUCCESS);
    assert_eq!(sw(&mut card, "00A4020C020018"), StatusWord::SUCCESS);
    assert_eq!(sw(&mut card, "0020008004 31323334"), StatusWord::PIN_BLOCKED);
}

#[test]
fn change_pin_enforces_the_format() {
    let i = issued(Device::Card);
    let mut c = Client::new(i.card);
    assert!(matches!(
        c.change_pin(Slot::Auth, PIN, b"12a4"),
        Err(ClientError::Status { sw: StatusWord::WRONG_DATA, .. })
    ));
    c.change_pin(Slot::Auth, PIN, b"9876").unwrap();
    assert_eq!(c.verify_pin(Slot::Auth, PIN), Err(ClientError::WrongPin { tries_left: 2 }));
    c.verify_pin(Slot::Auth, b"9876").unwrap();
    assert!(matches!(
        c.change_pin(Slot::Signature, PASSWORD, b"short"),
        Err(ClientError::Status { sw: StatusWord::WRONG_DATA, .. })
    ));
    c.change_pin(Slot::Signature, PASSWORD, b"NEWPASS99").unwrap();
    // Persistent state changed: the adapter must write the image before answering.
    assert!(c.into_inner().take_dirty());
}

#[test]
fn security_state_is_cleared_by_select_and_reset() {
    let i = issued(Device::Card);
    let mut card = i.card;
    let mut c = Client::new(&mut card);
    c.verify_pin(Slot::Auth, PIN).unwrap();
    c.select_application(&crate::layout::AID_JPKI).unwrap();
    let di = DigestInfo::of(DigestAlgorithm::Sha256, b"x").to_der().unwrap();
    assert!(matches!(
        c.sign_verified(Slot::Auth, &di),
        Err(ClientError::Status { sw: StatusWord::SECURITY_STATUS_NOT_SATISFIED, .. })
    ));
    c.verify_pin(Slot::Auth, PIN).unwrap();
    card.reset();
    let mut c = Client::new(&mut card);
    c.select_application(&crate::layout::AID_JPKI).unwrap();
    assert!(matches!(
        c.sign_verified(Slot::Auth, &di),
        Err(ClientError::Status { sw: StatusWord::SECURITY_STATUS_NOT_SATISFIED, .. })
    ));
}

#[test]
fn status_words_of_10_card_md() {
    let mut card = issued(Device::Card).card;
    assert_eq!(sw(&mut card, "00A4040C0CA000000063504B43532D3135"), StatusWord::FILE_NOT_FOUND, "unknown AID");
    assert_eq!(sw(&mut card, "00A40000"), StatusWord::WRONG_P1P2, "00 A4 00 00 after reset");
    assert_eq!(sw(&mut card, "00A4000C023F00"), StatusWord::FILE_NOT_FOUND, "no MF");
    assert_eq!(sw(&mut card, "01A4040C0AD392F000260100000001"), StatusWord::CHANNEL_NOT_SUPPORTED);
    assert_eq!(sw(&mut card, "0CA4040C0AD392F000260100000001"), StatusWord::SECURE_MESSAGING_NOT_SUPPORTED);
    assert_eq!(sw(&mut card, "00A4040C0AD392F0002601"), StatusWord::WRONG_LENGTH, "Lc says 10, 5 given");
    assert_eq!(sw(&mut card, "00A4040C05D392F00026"), StatusWord::SUCCESS, "a prefix of the AID selects");
    assert_eq!(sw(&mut card, "0CB0000004"), StatusWord::SECURE_MESSAGING_REFUSED);
    assert_eq!(sw(&mut card, "00B0000004"), StatusWord::COMMAND_NOT_ALLOWED, "no current EF");
    assert_eq!(sw(&mut card, "00A4020C02000A"), StatusWord::SUCCESS);
    assert_eq!(sw(&mut card, "00B0000004"), StatusWord::SUCCESS);
    assert_eq!(sw(&mut card, "00B0090004"), StatusWord::WRONG_OFFSET, "offset past the end");
    assert_eq!(sw(&mut card, "00A4020C020099"), StatusWord::FILE_NOT_FOUND);
    assert_eq!(sw(&mut card, "00EE0000"), StatusWord::INS_NOT_SUPPORTED);
    assert_eq!(sw(&mut card, "40A4040C0AD392F000260100000001"), StatusWord::CLA_NOT_SUPPORTED);
    assert_eq!(sw(&mut card, "00A4020C02001A"), StatusWord::SUCCESS);
    assert_eq!(
        sw(&mut card, "802A00800400112233 00"),
        StatusWord::SECURITY_STATUS_NOT_SATISFIED,
        "sign without the password"
    );
    assert_eq!(sw(&mut card, "802A07800400112233 00"), StatusWord::SECURITY_STATUS_NOT_SATISFIED);
    assert_eq!(sw(&mut card, "80FC0000"), StatusWord::WRONG_LENGTH, "a card refuses the iPhone last command");
    // Short read by SFI (P1 = 80|SFI): the auth certificate starts 30 82.
    let raw = card.process(&hex::decode("00B08A0004").unwrap());
    assert_eq!(&raw[..2], &[0x30, 0x82]);
    // Reading near the end returns fewer bytes with 90 00; an extended Le reads the whole EF.
    let raw = card.process(&hex::decode("00B007FE10").unwrap());
    assert_eq!(raw.len(), 2 + 2);
    let raw = card.process(&hex::decode("00B00000000800").unwrap());
    assert_eq!(raw.len(), 2048 + 2);
}

#[test]
fn phones_carry_only_the_jpki_ap() {
    let mut card = issued(Device::Android).card;
    assert_eq!(card.applications().len(), 1);
    // On Android the auth certificate needs the PIN first.
    let mut c = Client::new(&mut card);
    assert!(matches!(
        c.read_certificate(Slot::Auth),
        Err(ClientError::Status { sw: StatusWord::SECURITY_STATUS_NOT_SATISFIED, .. })
    ));
    let mut iphone = issued(Device::Iphone).card;
    assert_eq!(sw(&mut iphone, "80FC0000"), StatusWord::SUCCESS);
    assert_eq!(sw(&mut iphone, "00A4040C0AD392F000260100000001"), StatusWord::SUCCESS);
    let raw = iphone.process(&hex::decode("00B0860020").unwrap());
    assert_eq!(&raw[..14], b"JPKIAPIOSTOKEN");
}

#[test]
fn internal_authentication_needs_no_pin() {
    let mut card = issued(Device::Card).card;
    let mut c = Client::new(&mut card);
    let rec = c.read_common_record().unwrap();
    assert_eq!(
        (rec.card_serial.as_str(), rec.municipality_code.as_str(), rec.expiry.as_str()),
        ("HANKO0000000001", "99999", "20351231")
    );
    let (sig, key) = c.internal_authenticate(b"terminal challenge").unwrap();
    let key = RsaPublicKey::from_spki_der(&key).unwrap();
    key.verify(SignatureAlgorithm::RsaPkcs1Sha256, b"terminal challenge", &sig).unwrap();
}

#[test]
fn hostile_apdus_never_panic() {
    let mut card = issued(Device::Card).card;
    let seeds: [&[u8]; 4] = [
        &[0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01],
        &[0x00, 0xB0, 0x8A, 0x00, 0x00],
        &[0x80, 0x2A, 0x00, 0x80, 0x00, 0x00, 0x03, 1, 2, 3, 0x00, 0x00],
        &[0x00, 0x20, 0x00, 0x98, 0x04, b'1', b'2', b'3', b'4'],
    ];
    for seed in seeds {
        for cut in 0..=seed.len() {
            let _ = card.process(&seed[..cut]);
        }
        for i in 0..seed.len() {
            for bit in 0..8 {
                let mut m = seed.to_vec();
                m[i] ^= 1 << bit;
                let r = card.process(&m);
                assert!(r.len() >= 2);
            }
        }
    }
    assert_eq!(Response::parse(&card.process(&vec![0u8; MAX_COMMAND_LEN + 1])).unwrap().sw, StatusWord::WRONG_LENGTH);
}

#[test]
fn change_commands_belong_to_their_aps_and_debug_hides_contents() {
    let mut card = issued(Device::Card).card;
    // 共通AP: CHANGE REFERENCE DATA is not its command (it uses 80 32).
    assert_eq!(sw(&mut card, "00A4040C0AD3921000310001010100"), StatusWord::SUCCESS);
    assert_eq!(sw(&mut card, "00240180043132333400"), StatusWord::INS_NOT_SUPPORTED);
    // JPKI-AP: CHANGE KEY is not its command.
    assert_eq!(sw(&mut card, "00A4040C0AD392F000260100000001"), StatusWord::SUCCESS);
    assert_eq!(sw(&mut card, "8032008004 31323334"), StatusWord::INS_NOT_SUPPORTED);
    let shown = format!("{card:?}");
    assert!(shown.contains("Key([inside the chip]") && shown.contains("Pin([elided]"), "{shown}");
    assert!(!shown.contains("HANKO0000000001"), "EF contents must not show: {shown}");
}

/// Finding 2.10: the retry counter must be spent and durable before the PIN is compared. The
/// "image store" below keeps every image the card commits; a kill or tear is simulated by a
/// write that fails (the process dies) — including the write that comes after the
/// comparison. Whatever the moment, the image that survives has the try spent, so a kill
/// between the comparison and the write gives no free guess.
#[test]
fn pin_retry_counter_is_spent_before_the_comparison_and_a_kill_after_it_gives_no_free_guess() {
    let seal = SealKey::new([7; 32]);
    let tries_in = |image: &[u8]| {
        let (mut card, _) = Card::from_image(image, &seal).unwrap();
        assert_eq!(sw(&mut card, "00A4040C0AD392F000260100000001"), StatusWord::SUCCESS);
        sw(&mut card, "00200098")
    };
    let verify_auth = |pin: &[u8]| {
        let mut raw = vec![0x00, 0x20, 0x00, 0x98, pin.len() as u8];
        raw.extend_from_slice(pin);
        raw
    };
    let mut card = issued(Device::Card).card;
    assert_eq!(sw(&mut card, "00A4040C0AD392F000260100000001"), StatusWord::SUCCESS);

    // The right PIN, killed at the write after the comparison: the store holds only the image
    // written before it, and that one counts the try as spent.
    let mut store: Vec<Vec<u8>> = Vec::new();
    let r = card.process_durably(&verify_auth(PIN), |c| {
        if !store.is_empty() {
            return Err("killed after the comparison");
        }
        store.push(c.to_image("kill-test", &seal).unwrap());
        Ok(())
    });
    assert_eq!(r, Err("killed after the comparison"), "a right PIN restores the counter with a second write");
    assert_eq!(store.len(), 1);
    assert_eq!(tries_in(&store[0]), StatusWord::tries_left(2), "the reloaded card shows the try spent");

    // Reloaded from what survived, a wrong PIN: the only write happens before the comparison;
    // a kill at any moment after it leaves the try spent.
    let (mut card, _) = Card::from_image(&store[0], &seal).unwrap();
    assert_eq!(sw(&mut card, "00A4040C0AD392F000260100000001"), StatusWord::SUCCESS);
    let mut store: Vec<Vec<u8>> = Vec::new();
    let r = card
        .process_durably(&verify_auth(b"0000"), |c| {
            store.push(c.to_image("kill-test", &seal).unwrap());
            Ok::<(), ()>(())
        })
        .unwrap();
    assert_eq!(Response::parse(&r).unwrap().sw, StatusWord::tries_left(1));
    assert_eq!(store.len(), 1, "a wrong PIN writes once, before the comparison");
    assert_eq!(tries_in(&store[0]), StatusWord::tries_left(1));

    // A write that fails before the comparison: no answer at all, and no comparison — the
    // in-memory card also counts the try as spent (and writes it with the next command).
    let r = card.process_durably(&verify_auth(PIN), |_| Err("disk full"));
    assert_eq!(r, Err("disk full"));
    assert!(card.take_dirty());
    assert_eq!(sw(&mut card, "00200098"), StatusWord::tries_left(0));

    // Without failures a right PIN restores the counter durably before the answer.
    let mut card = issued(Device::Card).card;
    assert_eq!(sw(&mut card, "00A4040C0AD392F000260100000001"), StatusWord::SUCCESS);
    let mut store: Vec<Vec<u8>> = Vec::new();
    let r = card
        .process_durably(&verify_auth(PIN), |c| {
            store.push(c.to_image("kill-test", &seal).unwrap());
            Ok::<(), ()>(())
        })
        .unwrap();
    assert_eq!(Response::parse(&r).unwrap().sw, StatusWord::SUCCESS);
    assert_eq!(store.len(), 2);
    assert_eq!(tries_in(&store[0]), StatusWord::tries_left(2));
    assert_eq!(tries_in(&store[1]), StatusWord::tries_left(3));
}
