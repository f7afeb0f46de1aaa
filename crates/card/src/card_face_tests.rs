//! The 券面AP and the 住基AP on a personalised card, through the in-process client and raw APDUs
//! (shared/spec/10-card.md §5, §7). Synthetic holder, synthetic My Number (an 11-digit body of
//! our choosing completed with its check digit), synthetic images.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::OnceLock;

use hanko_pki::time::macros::date;
use hanko_pki::*;

use crate::tests::{apdu, file_mut, read, verify, PIN};
use crate::*;

const NAME: &str = "試験　花子";
const ADDRESS: &str = "東京都見本区試験町一丁目１番１号";
/// Born Showa 55-02-17, card expires 2035, security code 2285 (the example of 10-card.md §5).
const NUMBER_B: &[u8] = b"55021720352285";
const BIRTH_KEY: &[u8] = b"550217";
const SECURITY_CODE: &str = "2285";
const MUNICIPALITY: &str = "99999";
const RECORD_CODE: &[u8] = b"98765432101";

fn my_number() -> MyNumber {
    MyNumber::from_body(b"99123456780").unwrap()
}

fn number_a() -> [u8; 12] {
    *my_number().expose()
}

fn facts() -> CardFacts {
    CardFacts::new(my_number(), NAME, ADDRESS, date!(1980 - 02 - 17), 2).unwrap()
}

/// The input-assist and card-face hierarchies under one sandbox root.
struct Issuers {
    input_assist: CvIssuer,
    card_face: CvIssuer,
}

fn issuers() -> Issuers {
    let root = SoftwareKey::generate_rsa2048().unwrap();
    let key = || SoftwareKey::generate_rsa2048().unwrap();
    Issuers {
        input_assist: CvIssuer::new(&root, CvKeyId::SANDBOX_ROOT, key(), CvKeyId::SANDBOX_INPUT_ASSIST).unwrap(),
        card_face: CvIssuer::new(&root, CvKeyId::SANDBOX_ROOT, key(), CvKeyId::SANDBOX_CARD_FACE).unwrap(),
    }
}

fn face_app(issuer: &CvIssuer) -> Application {
    card_face_app(&facts(), issuer, date!(2035 - 12 - 31), SECURITY_CODE, MUNICIPALITY).unwrap()
}

fn apps(i: &Issuers, face: Application) -> Vec<Application> {
    vec![
        input_assist_app(&facts(), &i.input_assist, PIN, 2035, SECURITY_CODE).unwrap(),
        face,
        juki_app(PIN, &ResidentRecordCode::parse(RECORD_CODE).unwrap()).unwrap(),
    ]
}

fn personalise(apps: Vec<Application>) -> Card {
    crate::sample::issue(Device::Card, apps).unwrap().card
}

/// One card for the tests that only read it, kept as an image (a `Card` is not `Clone`).
struct Fixture {
    image: Vec<u8>,
    seal: [u8; 32],
    root: Vec<u8>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let i = issuers();
        let card = personalise(apps(&i, face_app(&i.card_face)));
        let seal = SealKey::generate().unwrap();
        let image = card.to_image("face-fixture", &seal).unwrap();
        Fixture { image, seal: *seal.expose(), root: i.card_face.root_public_key().spki_der().to_vec() }
    })
}

/// A fresh copy of the fixture card and its root key.
fn issued() -> (Card, RsaPublicKey) {
    let f = fixture();
    let (card, _) = Card::from_image(&f.image, &SealKey::new(f.seal)).unwrap();
    (card, RsaPublicKey::from_spki_der(&f.root).unwrap())
}

const SELECT_FACE: &str = "00A4040C0A D3921000310001010402";
const SELECT_JUKI: &str = "00A4040C0A D3921000310001010401";

/// Which of EF 0001–0005 read with `90 00`.
fn readable(card: &mut Card) -> Vec<u8> {
    (1u8..=5).filter(|sfi| read(card, *sfi).sw == StatusWord::SUCCESS).collect()
}

fn decode_png(bytes: &[u8]) -> (u32, u32, png::BitDepth) {
    let mut reader = png::Decoder::new(bytes).read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    (info.width, info.height, info.bit_depth)
}

#[test]
fn card_face_ef_has_the_layout_of_10_card_md() {
    let (mut card, _) = issued();
    assert_eq!(apdu(&mut card, SELECT_FACE).sw, StatusWord::SUCCESS);
    assert_eq!(verify(&mut card, 0x12, NUMBER_B), StatusWord::SUCCESS);
    let file = read(&mut card, 2).data;
    assert_eq!(&file[..3], &[0xFF, 0x20, 0x82]);
    assert_eq!(usize::from(u16::from_be_bytes([file[3], file[4]])) + 5, file.len(), "exactly the FF 20 TLV");
    assert_eq!(&file[5..8], &[0xDF, 0x21, 0x12], "nine u16 offsets");
    // Each offset points at DF22 … DF2A in turn.
    for (i, tag) in (0x22u8..=0x2A).enumerate() {
        let at = usize::from(u16::from_be_bytes([file[8 + 2 * i], file[9 + 2 * i]]));
        assert_eq!(&file[at..at + 2], &[0xDF, tag], "DF{tag:02X}");
    }
    assert_eq!(&file[26..37], b"\xDF\x22\x0819800217");
    assert_eq!(&file[37..41], b"\xDF\x23\x012");
    assert_eq!(&file[41..46], &[0xDF, 0x24, 0x82, 0x01, 0x09]);

    let face = CardFace::parse(&file).unwrap();
    assert_eq!(face.birth_date(), BirthDate::Known(date!(1980 - 02 - 17)));
    assert_eq!(face.sex(), 2);
    assert_eq!(face.expiry(), date!(2035 - 12 - 31));
    assert_eq!(face.signature().len(), 256);
    assert_eq!(face.photo_jp2(), SYNTHETIC_PORTRAIT_JP2);
    assert_eq!(&face.photo_jp2()[..12], &[0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50, 0x20, 0x20, 0x0D, 0x0A, 0x87, 0x0A]);
    assert_eq!(face.signed_digest_info().unwrap().len(), 115);
    // The images decode as 1-bit PNGs: one 10×10 cell per character.
    assert_eq!(decode_png(face.name_png()), (50, 10, png::BitDepth::One));
    assert_eq!(decode_png(face.address_png()), (160, 10, png::BitDepth::One));
    assert_eq!(decode_png(face.security_code_png()), (40, 10, png::BitDepth::One));
    assert_eq!(face.name_png(), synthetic_text_png(NAME, 16).unwrap());
    eprintln!(
        "card face EF 0002: {} bytes (photo {}, name {}, address {}, code {})",
        file.len(),
        face.photo_jp2().len(),
        face.name_png().len(),
        face.address_png().len(),
        face.security_code_png().len()
    );

    // The free EFs: AP info and the CV certificate.
    let info = CardFaceInfo::parse(&read(&mut card, 3).data).unwrap();
    assert_eq!(info.municipality_code(), MUNICIPALITY);
    assert_eq!(info.info_version(), 0x01);
    assert_eq!(info.signer_key_id(), CvKeyId::SANDBOX_CARD_FACE);
    let cert = CvCertificate::parse(&read(&mut card, 4).data).unwrap();
    assert_eq!((cert.issuer_key_id(), cert.subject_key_id()), (CvKeyId::SANDBOX_ROOT, CvKeyId::SANDBOX_CARD_FACE));
    // How jpki-rs reads EF 0002: 7 bytes of header, then the size it parses.
    assert_eq!(apdu(&mut card, "00A4020C020002").sw, StatusWord::SUCCESS);
    assert_eq!(apdu(&mut card, "00B0000007").data, file[..7].to_vec());
}

/// Section 3: a peer client failed on EF `0003` ("1 byte short"): it reads four TLVs under
/// `FF 30` — DF31 (AP id, 4 bytes), DF32 (key id), DF33 (version, 1 byte), DF34 (municipality
/// code) — and ours had no DF33. Walked here TLV by TLV as such a reader does.
#[test]
fn card_face_ap_basic_info_has_the_four_tlvs_a_peer_reader_expects_including_df33() {
    let (mut card, _) = issued();
    assert_eq!(apdu(&mut card, SELECT_FACE).sw, StatusWord::SUCCESS);
    let ef = read(&mut card, 3).data;
    assert_eq!(&ef[..2], &[0xFF, 0x30]);
    let inner = &ef[3..3 + usize::from(ef[2])];
    assert_eq!(3 + inner.len(), ef.len(), "one FF 30 TLV, short length, nothing after it");
    let mut tlvs = Vec::new();
    let mut rest = inner;
    while !rest.is_empty() {
        let (tag, len) = ([rest[0], rest[1]], usize::from(rest[2]));
        tlvs.push((tag, rest[3..3 + len].to_vec()));
        rest = &rest[3 + len..];
    }
    let tags: Vec<[u8; 2]> = tlvs.iter().map(|(t, _)| *t).collect();
    assert_eq!(tags, [[0xDF, 0x31], [0xDF, 0x32], [0xDF, 0x33], [0xDF, 0x34]]);
    assert_eq!(tlvs[0].1.len(), 4, "DF31: the AP id, 4 bytes");
    assert_eq!(tlvs[1].1, CvKeyId::SANDBOX_CARD_FACE.0, "DF32: the key id");
    assert_eq!(tlvs[2].1, [0x01], "DF33: the version, 1 byte");
    assert_eq!(tlvs[3].1, MUNICIPALITY.as_bytes(), "DF34: the municipality code");
    // Without DF33 our own parser refuses it too.
    let mut without = vec![0xFF, 0x30, ef[2] - 4];
    without.extend(inner.iter().take(3 + 4 + 3 + 16));
    without.extend(&inner[3 + 4 + 3 + 16 + 4..]);
    assert!(CardFaceInfo::parse(&without).is_err());
}

#[test]
fn each_code_opens_exactly_the_efs_of_10_card_md() {
    let (mut card, _) = issued();
    assert_eq!(apdu(&mut card, SELECT_FACE).sw, StatusWord::SUCCESS);
    assert_eq!(readable(&mut card), [3, 4], "without a code only the AP info and CV certificate are free");

    assert_eq!(verify(&mut card, 0x13, &number_a()), StatusWord::SUCCESS);
    assert_eq!(readable(&mut card), [2, 3, 4, 5], "照合番号A: the face (front and back), the My Number");
    assert_eq!(read(&mut card, 1).sw, StatusWord::SECURITY_STATUS_NOT_SATISFIED);

    assert_eq!(apdu(&mut card, SELECT_FACE).sw, StatusWord::SUCCESS, "a DF SELECT clears the state");
    assert_eq!(readable(&mut card), [3, 4]);
    assert_eq!(verify(&mut card, 0x12, NUMBER_B), StatusWord::SUCCESS);
    assert_eq!(readable(&mut card), [2, 3, 4], "照合番号B: the front only");
    assert_eq!(read(&mut card, 5).sw, StatusWord::SECURITY_STATUS_NOT_SATISFIED, "EF 0005 with B → 69 82");

    assert_eq!(apdu(&mut card, SELECT_FACE).sw, StatusWord::SUCCESS);
    assert_eq!(verify(&mut card, 0x11, BIRTH_KEY), StatusWord::SUCCESS);
    assert_eq!(readable(&mut card), [1, 3, 4], "the birth-date key: the age record only");

    // The codes are checked against their own formats: the 14 digits of B are wrong for A.
    assert_eq!(apdu(&mut card, SELECT_FACE).sw, StatusWord::SUCCESS);
    assert_eq!(verify(&mut card, 0x13, NUMBER_B), StatusWord::tries_left(9));
    assert_eq!(verify(&mut card, 0x11, b"19800217"), StatusWord::tries_left(9), "Gregorian is not the key");

    // The chip challenge key signs without any code (`80 2A 00 00`).
    let di = DigestInfo::of(DigestAlgorithm::Sha256, b"challenge").to_der().unwrap();
    let mut sign = vec![0x80, 0x2A, 0x00, 0x00, di.len() as u8];
    sign.extend_from_slice(&di);
    sign.push(0x00);
    assert_eq!(apdu(&mut card, SELECT_FACE).sw, StatusWord::SUCCESS);
    let r = Response::parse(&card.process(&sign)).unwrap();
    assert_eq!((r.sw, r.data.len()), (StatusWord::SUCCESS, 256));

    // The same through the client.
    let mut c = Client::new(&mut card);
    c.read_card_face(AccessCode::NumberA(&number_a())).unwrap();
    c.read_card_face(AccessCode::NumberB(NUMBER_B)).unwrap();
    assert_eq!(c.read_card_face(AccessCode::Pin(PIN)).err(), Some(CardAppError::UnsupportedCode));
    assert_eq!(c.read_card_face(AccessCode::NumberB(b"")).err(), Some(CardAppError::EmptyCode));
    assert!(c.read_my_number_image(&number_a()).is_ok());
    assert!(matches!(c.read_my_number_image(NUMBER_B), Err(CardAppError::Client(ClientError::WrongPin { .. }))));
    assert_eq!(c.read_age_record(BIRTH_KEY).unwrap().birth_date(), BirthDate::Known(date!(1980 - 02 - 17)));
}

#[test]
fn the_card_face_signature_verifies_with_the_root_key() {
    let (card, root) = issued();
    let mut c = Client::new(card);
    for code in [AccessCode::NumberB(NUMBER_B), AccessCode::NumberA(&number_a())] {
        let face = c.read_card_face(code).unwrap();
        let v = c.verify_card_face(&face, &root).unwrap();
        assert_eq!(v.face(), &face);
        assert_eq!((v.issuer_key_id(), v.signer_key_id()), (CvKeyId::SANDBOX_ROOT, CvKeyId::SANDBOX_CARD_FACE));
        // DF24 names the chip's key: the chip answers a fresh challenge with it.
        c.authenticate_card_face_chip(&v).unwrap();
    }

    // The records of EF 0001 and 0005 verify under the same certificate and name the same key.
    let cert = c.read_card_face_certificate(&root).unwrap();
    let face = c.read_card_face(AccessCode::NumberB(NUMBER_B)).unwrap();
    let age = c.read_age_record(BIRTH_KEY).unwrap();
    age.verify(&cert).unwrap();
    assert_eq!(age.chip_key(), face.chip_key());
    let image = c.read_my_number_image(&number_a()).unwrap();
    image.verify(&cert).unwrap();
    assert_eq!(image.chip_key(), face.chip_key());
    assert_eq!(decode_png(image.png()), (140, 10, png::BitDepth::One), "dddd dddd dddd");
    assert_eq!(c.read_card_face_info().unwrap().municipality_code(), MUNICIPALITY);

    // Another root does not vouch for this card's CV certificate.
    let other = CvIssuer::generate().unwrap();
    assert_eq!(
        c.verify_card_face(&face, other.root_public_key()).err(),
        Some(CardAppError::Data(CardDataError::BadSignature("CV certificate")))
    );
    // A record signed under another hierarchy does not verify under this certificate.
    let foreign = face_app(&other);
    let foreign_age = match foreign.object(card_face_ef::AGE_RECORD) {
        Some(Object::File { content, .. }) => AgeRecord::parse(content).unwrap(),
        _ => unreachable!(),
    };
    assert_eq!(foreign_age.verify(&cert), Err(CardDataError::BadSignature("age record")));
}

#[test]
fn a_tampered_photo_fails_and_the_uncovered_fields_do_not() {
    let i = issuers();
    let root = i.card_face.root_public_key();
    let tamper = |edit: &dyn Fn(&mut Vec<u8>)| {
        let mut app = face_app(&i.card_face);
        edit(file_mut(&mut app, card_face_ef::FACE));
        let mut c = Client::new(personalise(vec![app]));
        let face = c.read_card_face(AccessCode::NumberB(NUMBER_B)).unwrap();
        c.verify_card_face(&face, root).map(|_| face)
    };
    let find = |file: &[u8], needle: &[u8]| file.windows(needle.len()).position(|w| w == needle).unwrap();

    tamper(&|_| {}).unwrap();
    // One byte of the photo's codestream (still a JP2 file).
    let err = tamper(&|f| {
        let at = find(f, SYNTHETIC_PORTRAIT_JP2) + SYNTHETIC_PORTRAIT_JP2.len() - 100;
        f[at] ^= 0x01;
    });
    assert_eq!(err.err(), Some(CardAppError::Data(CardDataError::BadSignature("card face"))));
    // The sex digit, and one byte of the name image.
    let err = tamper(&|f| f[40] = b'1');
    assert_eq!(err.err(), Some(CardAppError::Data(CardDataError::BadSignature("card face"))));
    let name = synthetic_text_png(NAME, 16).unwrap();
    let err = tamper(&|f| {
        let at = find(f, &name) + name.len() - 1;
        f[at] ^= 0x80;
    });
    assert_eq!(err.err(), Some(CardAppError::Data(CardDataError::BadSignature("card face"))));
    // DF29 (expiry) and DF2A (security code image) are not covered (10-card.md §7).
    let face = tamper(&|f| {
        let at = find(f, b"\xDF\x29\x0820351231") + 5;
        f[at] = b'4';
    })
    .unwrap();
    assert_eq!(face.expiry(), date!(2045 - 12 - 31));
}

#[test]
fn wrong_codes_count_down_and_block() {
    let (card, _) = issued();
    let mut c = Client::new(card);
    let wrong_b = AccessCode::NumberB(b"55021720350000");
    let wrong = |c: &mut Client<Card>| c.read_card_face(wrong_b).err();
    let left = |n| Some(CardAppError::Client(ClientError::WrongPin { tries_left: n }));
    for n in [9, 8, 7] {
        assert_eq!(wrong(&mut c), left(n), "照合番号B has 10 tries");
    }
    c.read_card_face(AccessCode::NumberB(NUMBER_B)).unwrap();
    for n in (1..=9).rev() {
        assert_eq!(wrong(&mut c), left(n), "a right code reset the counter to 10");
    }
    assert_eq!(c.read_card_face(wrong_b).err(), Some(CardAppError::Client(ClientError::PinBlocked)), "63 C0");
    assert_eq!(
        c.read_card_face(AccessCode::NumberB(NUMBER_B)).err(),
        Some(CardAppError::Client(ClientError::PinBlocked)),
        "69 84 from now on, even with the right code"
    );
    // 照合番号A, the birth-date key and the input-assist AP's own codes are separate counters.
    let a = number_a();
    c.read_card_face(AccessCode::NumberA(&a)).unwrap();
    let mut card = c.into_inner();
    assert_eq!(apdu(&mut card, SELECT_FACE).sw, StatusWord::SUCCESS);
    assert_eq!(apdu(&mut card, "00200093").sw, StatusWord::tries_left(10));
    assert_eq!(apdu(&mut card, "00200091").sw, StatusWord::tries_left(10));
    assert_eq!(apdu(&mut card, "00200092").sw, StatusWord::PIN_NO_TRIES_LEFT);
    assert_eq!(verify(&mut card, 0x13, b"991234567800"), StatusWord::tries_left(9));
    let mut c = Client::new(&mut card);
    assert_eq!(c.read_facts(AccessCode::NumberB(NUMBER_B)).unwrap().name(), NAME, "input-assist 照合番号B untouched");

    // The 住基 PIN: 3 tries.
    assert_eq!(c.read_juki_record(b"0000").err(), Some(CardAppError::Client(ClientError::WrongPin { tries_left: 2 })));
    assert_eq!(c.read_juki_record(b"0000").err(), Some(CardAppError::Client(ClientError::WrongPin { tries_left: 1 })));
    assert_eq!(c.read_juki_record(PIN).unwrap().expose(), RECORD_CODE, "a right PIN resets the counter");
    for left in [2, 1] {
        assert_eq!(
            c.read_juki_record(b"0000").err(),
            Some(CardAppError::Client(ClientError::WrongPin { tries_left: left }))
        );
    }
    assert_eq!(c.read_juki_record(b"0000").err(), Some(CardAppError::Client(ClientError::PinBlocked)));
    assert_eq!(c.read_juki_record(PIN).err(), Some(CardAppError::Client(ClientError::PinBlocked)));
    // The JPKI auth PIN has the same value but its own counter.
    assert_eq!(c.pin_status(Slot::Auth).unwrap(), PinStatus::Tries(3));
}

#[test]
fn the_juki_record_needs_the_pin() {
    let (mut card, _) = issued();
    assert_eq!(apdu(&mut card, SELECT_JUKI).sw, StatusWord::SUCCESS);
    assert_eq!(read(&mut card, 1).sw, StatusWord::SECURITY_STATUS_NOT_SATISFIED);
    assert_eq!(apdu(&mut card, "0020009C").sw, StatusWord::tries_left(3));
    assert_eq!(verify(&mut card, 0x1C, PIN), StatusWord::SUCCESS);
    assert_eq!(read(&mut card, 1).data, RECORD_CODE);
    // CHANGE KEY (`80 32 00 80`) after the VERIFY sets a new PIN; the card checks its format.
    assert_eq!(apdu(&mut card, "00A4020C02001C").sw, StatusWord::SUCCESS);
    assert_eq!(apdu(&mut card, "8032008003313233").sw, StatusWord::WRONG_DATA);
    assert_eq!(apdu(&mut card, "803200800435363738").sw, StatusWord::SUCCESS);
    let mut c = Client::new(&mut card);
    assert!(c.read_juki_record(PIN).is_err());
    assert_eq!(c.read_juki_record(b"5678").unwrap().expose(), RECORD_CODE);
    assert_eq!(c.read_juki_record(b"").err(), Some(CardAppError::EmptyCode));
}

#[test]
fn a_card_image_keeps_both_apps_working() {
    let (card, root) = issued();
    let mut c = Client::new(card);
    assert!(c.read_card_face(AccessCode::NumberA(b"000000000000")).is_err());
    assert!(c.read_juki_record(b"0000").is_err());
    let card = c.into_inner();
    let seal = SealKey::generate().unwrap();
    let image = card.to_image("card-face", &seal).unwrap();
    let text = String::from_utf8(image.clone()).unwrap();
    assert!(!text.contains(&hex::encode(NUMBER_B)) && !text.contains(&hex::encode(BIRTH_KEY)), "codes are sealed");
    let (mut back, _) = Card::from_image(&image, &seal).unwrap();
    let names: Vec<&str> = back.applications().iter().map(|a| a.name).collect();
    assert_eq!(names, ["jpki", "common", "input-assist", "card-face", "juki"]);

    // The counters survived the image.
    assert_eq!(apdu(&mut back, SELECT_FACE).sw, StatusWord::SUCCESS);
    assert_eq!(apdu(&mut back, "00200093").sw, StatusWord::tries_left(9));
    assert_eq!(apdu(&mut back, SELECT_JUKI).sw, StatusWord::SUCCESS);
    assert_eq!(apdu(&mut back, "0020009C").sw, StatusWord::tries_left(2));

    let mut c = Client::new(back);
    let face = c.read_card_face(AccessCode::NumberA(&number_a())).unwrap();
    let v = c.verify_card_face(&face, &root).unwrap();
    c.authenticate_card_face_chip(&v).unwrap();
    let cert = c.read_card_face_certificate(&root).unwrap();
    c.read_age_record(BIRTH_KEY).unwrap().verify(&cert).unwrap();
    assert_eq!(c.read_juki_record(PIN).unwrap().expose(), RECORD_CODE);
    assert_eq!(c.read_my_number(AccessCode::NumberA(&number_a())).unwrap(), my_number());
}

#[test]
fn hostile_apdus_to_the_card_face_and_juki_aps_never_panic() {
    let (mut card, _) = issued();
    let seeds: [&[u8]; 6] = [
        &[0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x02],
        &[0x00, 0x20, 0x00, 0x91, 0x06, b'5', b'5', b'0', b'2', b'1', b'7'],
        &[0x00, 0xB0, 0x82, 0x00, 0x00, 0x7F, 0xFF],
        &[0x80, 0x2A, 0x00, 0x00, 0x03, 0x01, 0x02, 0x03, 0x00],
        &[0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x01],
        &[0x80, 0x32, 0x00, 0x80, 0x04, b'1', b'2', b'3', b'4'],
    ];
    for seed in seeds {
        for i in 0..seed.len() {
            for bit in 0..8 {
                let mut m = seed.to_vec();
                m[i] ^= 1 << bit;
                assert!(card.process(&m).len() >= 2);
            }
        }
    }
}

#[test]
fn card_face_parsers_are_strict_and_never_panic() {
    let issuer = CvIssuer::generate().unwrap();
    let app = face_app(&issuer);
    let content = |fid| match app.object(fid) {
        Some(Object::File { content, .. }) => content.clone(),
        _ => unreachable!(),
    };
    let face = content(card_face_ef::FACE);
    CardFace::parse(&face).unwrap();
    for cut in 0..face.len() {
        assert!(CardFace::parse(&face[..cut]).is_err(), "cut {cut}");
    }
    for i in 0..face.len() {
        let mut m = face.clone();
        m[i] ^= 1 << (i % 8);
        let _ = CardFace::parse(&m).map(|f| (f.signed_digest_info(), f.chip_public_key()));
    }
    for i in 0..80 {
        for bit in 0..8 {
            let mut m = face.clone();
            m[i] ^= 1 << bit;
            let _ = CardFace::parse(&m);
        }
    }
    let mut trailing = face.clone();
    trailing.push(0xFF);
    assert!(CardFace::parse(&trailing).is_err(), "no bytes after the TLV (nor FF padding)");
    let mut m = face.clone();
    m[9] ^= 0x01;
    assert_eq!(
        CardFace::parse(&m).err(),
        Some(CardDataError::Malformed("card face: DF21 offsets do not match the file"))
    );
    assert!(CardFace::parse(&vec![0xFF; MAX_CARD_FACE_LEN + 1]).is_err());

    type Parses = fn(&[u8]) -> bool;
    let records: [(Fid, Parses); 3] = [
        (card_face_ef::AGE_RECORD, |b| AgeRecord::parse(b).is_ok()),
        (card_face_ef::MY_NUMBER_IMAGE, |b| MyNumberImage::parse(b).is_ok()),
        (card_face_ef::AP_INFO, |b| CardFaceInfo::parse(b).is_ok()),
    ];
    for (fid, parses) in records {
        let bytes = content(fid);
        assert!(parses(&bytes), "{fid:?}");
        for cut in 0..bytes.len() {
            assert!(!parses(&bytes[..cut]), "{fid:?} cut {cut}");
        }
        for i in 0..bytes.len() {
            for bit in 0..8 {
                let mut m = bytes.clone();
                m[i] ^= 1 << bit;
                let _ = parses(&m);
            }
        }
    }
}

/// A card that answers every SELECT and VERIFY with `90 00` and every READ BINARY from `file`.
struct Hostile {
    file: Vec<u8>,
}

impl Transport for Hostile {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        let cmd = Command::parse(apdu).map_err(|_| TransportError("bad command".into()))?;
        let mut out = Vec::new();
        if cmd.ins == Ins::READ_BINARY {
            let offset = usize::from(u16::from_be_bytes([cmd.p1 & 0x7F, cmd.p2]));
            let le = cmd.le.unwrap_or(256);
            out = self.file.get(offset..).unwrap_or_default().iter().take(le).copied().collect();
        }
        out.extend_from_slice(&[0x90, 0x00]);
        Ok(out)
    }
}

#[test]
fn hostile_card_answers_are_refused_without_panic() {
    let issuer = CvIssuer::generate().unwrap();
    let app = face_app(&issuer);
    let Some(Object::File { content: good, .. }) = app.object(card_face_ef::FACE) else { unreachable!() };
    let mut c = Client::new(Hostile { file: good.clone() });
    c.read_card_face(AccessCode::NumberB(NUMBER_B)).unwrap();
    let cases: Vec<Vec<u8>> = vec![
        vec![],
        vec![0xFF],
        vec![0xFF, 0x20, 0x82, 0xFF, 0xFF],             // claims 64 KB
        vec![0xFF, 0x20, 0x82, 0x7F, 0xF0, 0x00],       // claims 32 KB, has 1 byte
        vec![0xFF, 0x20, 0x84, 0x01, 0x00, 0x00, 0x00], // four length octets
        vec![0xFF, 0x20, 0x80],                         // indefinite
        vec![0xFF, 0x21, 0x05, 1, 2, 3, 4, 5],          // another tag
        good[..good.len() / 2].to_vec(),
    ];
    for file in cases {
        let mut c = Client::new(Hostile { file });
        assert!(c.read_card_face(AccessCode::NumberB(NUMBER_B)).is_err());
        assert!(c.read_age_record(BIRTH_KEY).is_err());
        assert!(c.read_my_number_image(&number_a()).is_err());
        assert!(c.read_card_face_info().is_err());
        assert!(c.read_card_face_certificate(issuer.root_public_key()).is_err());
        assert!(c.read_juki_record(PIN).is_err());
    }
}

#[test]
fn holder_data_never_prints() {
    let (card, root) = issued();
    let mut c = Client::new(card);
    let face = c.read_card_face(AccessCode::NumberA(&number_a())).unwrap();
    let v = c.verify_card_face(&face, &root).unwrap();
    let shown = format!(
        "{face:?} {v:?} {:?} {:?} {:?} {}",
        c.read_age_record(BIRTH_KEY).unwrap(),
        c.read_my_number_image(&number_a()).unwrap(),
        c.read_juki_record(PIN).unwrap(),
        c.read_juki_record(PIN).unwrap(),
    );
    assert!(shown.contains("[elided]"), "{shown}");
    for secret in ["19800217", "98765432101", "550217", core::str::from_utf8(&number_a()).unwrap()] {
        assert!(!shown.contains(secret), "{shown}");
    }
}

#[test]
fn openssl_recovers_the_96_byte_digest_info_from_df28() {
    let (card, root) = issued();
    let mut c = Client::new(card);
    let face = c.read_card_face(AccessCode::NumberB(NUMBER_B)).unwrap();
    let cert = c.read_card_face_certificate(&root).unwrap();
    let dir = std::env::temp_dir().join(format!("hanko-card-face-openssl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("key.der"), cert.public_key().spki_der()).unwrap();
    std::fs::write(dir.join("sig.bin"), face.signature()).unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .current_dir(&dir)
            .output()
            .expect("the `openssl` binary is required for this test (it does not skip)");
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    };
    // PKCS#1 v1.5 type 1 with the card-face data-signing key: openssl strips the padding and
    // returns exactly the DER DigestInfo the client recomputes.
    let recovered = run(&[
        "pkeyutl",
        "-verifyrecover",
        "-pubin",
        "-keyform",
        "DER",
        "-inkey",
        "key.der",
        "-in",
        "sig.bin",
        "-pkeyopt",
        "rsa_padding_mode:pkcs1",
    ]);
    assert_eq!(recovered, face.signed_digest_info().unwrap());
    std::fs::write(dir.join("di.der"), &recovered).unwrap();
    let parsed = String::from_utf8(run(&["asn1parse", "-inform", "DER", "-in", "di.der"])).unwrap();
    assert!(parsed.contains("sha256") && parsed.contains("OCTET STRING") && parsed.contains("l=  96"), "{parsed}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Where scripts/test.sh installs the font (Debian's fonts-ipafont-gothic).
const IPA_GOTHIC: &str = "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf";

/// Black pixels of a decoded 1-bit PNG inside rows `rows`.
fn black_pixels(png_bytes: &[u8], rows: core::ops::Range<u32>) -> (u32, u32, usize) {
    let mut reader = png::Decoder::new(png_bytes).read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.bit_depth, info.color_type), (png::BitDepth::One, png::ColorType::Grayscale));
    let mut n = 0;
    for y in rows {
        for x in 0..info.width {
            let byte = buf[y as usize * info.line_size + x as usize / 8];
            n += usize::from(byte & (0x80 >> (x % 8)) == 0);
        }
    }
    (info.width, info.height, n)
}

/// Section 3: the card-face images were 50×10-pixel hash blobs. With a Japanese font they are
/// drawn at the card's sizes, text in the name area, the sandbox marker on top, and the face
/// still fits its EF and verifies.
#[test]
fn card_face_images_are_drawn_with_a_japanese_font_at_card_size_and_marked_as_samples() {
    let bytes = std::fs::read(IPA_GOTHIC)
        .unwrap_or_else(|e| panic!("{IPA_GOTHIC}: {e} (scripts/test.sh installs fonts-ipafont-gothic)"));
    let font = FaceFont::from_bytes(bytes).unwrap();
    let i = issuers();
    let face = card_face_app_with_font(
        &facts(),
        &i.card_face,
        date!(2035 - 12 - 31),
        SECURITY_CODE,
        MUNICIPALITY,
        Some(&font),
    )
    .unwrap();
    let mut card = personalise(apps(&i, face));
    assert_eq!(apdu(&mut card, SELECT_FACE).sw, StatusWord::SUCCESS);
    assert_eq!(verify(&mut card, 0x12, NUMBER_B), StatusWord::SUCCESS);
    let file = read(&mut card, 2).data;
    assert!(file.len() <= MAX_CARD_FACE_LEN);
    let parsed = CardFace::parse(&file).unwrap();

    let (w, h, text) = black_pixels(parsed.name_png(), MARK_BAND..NAME_IMAGE.1);
    assert_eq!((w, h), (NAME_IMAGE.0, NAME_IMAGE.1), "the name image has the card's size");
    assert!(text > 500, "the name area has text pixels ({text})");
    let (_, _, mark) = black_pixels(parsed.name_png(), 0..MARK_BAND);
    assert!(mark > 100, "the sandbox marker is drawn ({mark})");
    let (w, h, text) = black_pixels(parsed.address_png(), MARK_BAND..ADDRESS_IMAGE.1);
    assert_eq!((w, h), (ADDRESS_IMAGE.0, ADDRESS_IMAGE.1));
    assert!(text > 500, "the address area has text pixels ({text})");
    let (w, h, text) = black_pixels(parsed.security_code_png(), MARK_BAND..CODE_IMAGE.1);
    assert_eq!((w, h), (CODE_IMAGE.0, CODE_IMAGE.1));
    assert!(text > 100, "the security code has text pixels ({text})");
    // Real glyphs, not hash blobs: another name draws other pixels, the same name the same.
    let again = font.render_png(NAME, NAME_IMAGE.0, NAME_IMAGE.1, NAME_IMAGE.2).unwrap();
    assert_eq!(again, parsed.name_png());
    assert_ne!(font.render_png("見本　一郎", NAME_IMAGE.0, NAME_IMAGE.1, NAME_IMAGE.2).unwrap(), again);
    // A font without Japanese glyphs is refused (it would draw boxes).
    assert!(FaceFont::from_bytes(b"not a font".to_vec()).is_err());

    // The signature over the images still verifies through the client, and the My Number
    // image (照合番号A) fits its EF.
    let mut c = Client::new(&mut card);
    let read = c.read_card_face(AccessCode::NumberB(NUMBER_B)).unwrap();
    let verified = c.verify_card_face(&read, i.card_face.root_public_key()).unwrap();
    assert_eq!(verified.face().name_png(), parsed.name_png());
    let number = c.read_my_number_image(&number_a()).unwrap();
    let (w, h, text) = black_pixels(number.png(), MARK_BAND..MY_NUMBER_IMAGE.1);
    assert_eq!((w, h), (MY_NUMBER_IMAGE.0, MY_NUMBER_IMAGE.1));
    assert!(text > 300);
    eprintln!(
        "rendered card face EF 0002: {} bytes (name {}, address {}, code {})",
        file.len(),
        parsed.name_png().len(),
        parsed.address_png().len(),
        parsed.security_code_png().len()
    );
}

// ---- The PIN-less tap chip check: the 券面AP's internal authentication after the birth-date key ----

const CHALLENGE: [u8; 32] = [0x5A; 32];

/// `00 88 00 9A 20 <challenge> 00` to the selected AP.
fn internal_auth_apdu(card: &mut Card, challenge: &[u8]) -> Response {
    let mut raw = vec![0x00, 0x88, 0x00, 0x9A, challenge.len() as u8];
    raw.extend_from_slice(challenge);
    raw.push(0x00);
    Response::parse(&card.process(&raw)).unwrap()
}

#[test]
fn card_face_internal_authentication_needs_the_birth_date_key_in_this_session() {
    let (mut card, _) = issued();
    assert_eq!(apdu(&mut card, SELECT_FACE).sw, StatusWord::SUCCESS);
    assert_eq!(internal_auth_apdu(&mut card, &CHALLENGE).sw, StatusWord::SECURITY_STATUS_NOT_SATISFIED, "no VERIFY");
    // 照合番号B opens the face, not the internal authentication.
    assert_eq!(verify(&mut card, 0x12, NUMBER_B), StatusWord::SUCCESS);
    assert_eq!(internal_auth_apdu(&mut card, &CHALLENGE).sw, StatusWord::SECURITY_STATUS_NOT_SATISFIED);
    // The free chip challenge `80 2A 00 00` is unchanged: no code needed.
    assert_eq!(apdu(&mut card, SELECT_FACE).sw, StatusWord::SUCCESS);
    let di = DigestInfo::of(DigestAlgorithm::Sha256, &CHALLENGE).to_der().unwrap();
    let mut raw = vec![0x80, 0x2A, 0x00, 0x00, di.len() as u8];
    raw.extend_from_slice(&di);
    raw.push(0x00);
    let free = Response::parse(&card.process(&raw)).unwrap();
    assert_eq!((free.sw, free.data.len()), (StatusWord::SUCCESS, 256));

    assert_eq!(verify(&mut card, 0x11, BIRTH_KEY), StatusWord::SUCCESS);
    let r = internal_auth_apdu(&mut card, &CHALLENGE);
    assert_eq!((r.sw, r.data.len()), (StatusWord::SUCCESS, 256));
    // The same chip key as the free challenge: PKCS#1 v1.5 SHA-256 of the challenge.
    assert_eq!(r.data, free.data, "PKCS#1 v1.5 is deterministic: the same key signed the same DigestInfo");
    // A new SELECT, a reset, or another AP's VERIFY closes it again.
    assert_eq!(apdu(&mut card, SELECT_FACE).sw, StatusWord::SUCCESS);
    assert_eq!(internal_auth_apdu(&mut card, &CHALLENGE).sw, StatusWord::SECURITY_STATUS_NOT_SATISFIED);
    assert_eq!(verify(&mut card, 0x11, BIRTH_KEY), StatusWord::SUCCESS);
    card.reset();
    assert_eq!(apdu(&mut card, SELECT_FACE).sw, StatusWord::SUCCESS);
    assert_eq!(internal_auth_apdu(&mut card, &CHALLENGE).sw, StatusWord::SECURITY_STATUS_NOT_SATISFIED);
    // Bad lengths and P1 are refused, never a panic.
    assert_eq!(verify(&mut card, 0x11, BIRTH_KEY), StatusWord::SUCCESS);
    assert_eq!(apdu(&mut card, "0088009A00").sw.sw1(), 0x67);
    assert_eq!(apdu(&mut card, "0088019A04 01020304 00").sw, StatusWord::WRONG_P1P2);
    assert_eq!(internal_auth_apdu(&mut card, &[7; 246]).sw, StatusWord::WRONG_LENGTH);
}

#[test]
fn the_chip_proof_verifies_under_the_cv_root_and_binds_the_challenge() {
    let (card, root) = issued();
    let mut c = Client::new(card);
    let proof = c.prove_card_face_chip(BIRTH_KEY, &root, &CHALLENGE).unwrap();
    assert_eq!(proof.challenge(), &CHALLENGE);
    assert_eq!(proof.birth_date(), BirthDate::Known(date!(1980 - 02 - 17)));
    assert_eq!((proof.issuer_key_id(), proof.signer_key_id()), (CvKeyId::SANDBOX_ROOT, CvKeyId::SANDBOX_CARD_FACE));
    let again = c.prove_card_face_chip(BIRTH_KEY, &root, &[0x33; 16]).unwrap();
    assert_eq!(again.chip_key_fingerprint(), proof.chip_key_fingerprint(), "one chip, one key");
    assert!(!format!("{proof:?}").contains("1980"), "Debug shows no birth date");
    assert_eq!(proof.chip_key().fingerprint(), proof.chip_key_fingerprint());

    // The key seen makes the chip prove itself later with the free challenge, no code sent; a
    // well-formed key of another chip fails, a malformed one is refused before anything is sent.
    c.challenge_card_face_chip(proof.chip_key()).unwrap();
    let mut other = proof.chip_key().value().to_vec();
    *other.last_mut().unwrap() ^= 0x02;
    let other = CardFaceChipKey::from_value(&other).unwrap();
    assert_eq!(
        c.challenge_card_face_chip(&other),
        Err(CardAppError::Data(CardDataError::BadSignature("card-face chip challenge")))
    );
    assert!(CardFaceChipKey::from_value(&proof.chip_key().value()[1..]).is_err());

    // The answer to one challenge proves nothing about another.
    let cert = c.read_card_face_certificate(&root).unwrap();
    let age = c.read_age_record(BIRTH_KEY).unwrap();
    let answer = c.card_face_internal_authenticate(&CHALLENGE).unwrap();
    VerifiedChip::verify_answer(&age, &cert, &CHALLENGE, &answer).unwrap();
    assert_eq!(
        VerifiedChip::verify_answer(&age, &cert, &[0xA5; 32], &answer),
        Err(CardDataError::BadSignature("card-face internal authentication"))
    );
    // Nor does a too-short or too-long challenge pass, before anything is sent.
    assert!(matches!(c.prove_card_face_chip(BIRTH_KEY, &root, &[1; 15]), Err(CardAppError::Data(_))));
    assert!(matches!(c.prove_card_face_chip(BIRTH_KEY, &root, &[1; 246]), Err(CardAppError::Data(_))));
    // Without the birth-date key in the session the chip refuses: 69 82.
    c.read_card_face_certificate(&root).unwrap();
    assert_eq!(
        c.card_face_internal_authenticate(&CHALLENGE).err(),
        Some(CardAppError::Client(ClientError::Status {
            what: "card-face internal authenticate",
            sw: StatusWord::SECURITY_STATUS_NOT_SATISFIED
        }))
    );
}

#[test]
fn a_wrong_birth_date_counts_down_its_tries_and_blocks() {
    let (card, root) = issued();
    let mut c = Client::new(card);
    let wrong = |c: &mut Client<Card>| c.prove_card_face_chip(b"550218", &root, &CHALLENGE).err();
    for n in [9, 8] {
        assert_eq!(wrong(&mut c), Some(CardAppError::Client(ClientError::WrongPin { tries_left: n })));
    }
    c.prove_card_face_chip(BIRTH_KEY, &root, &CHALLENGE).unwrap();
    for n in (1..=9).rev() {
        assert_eq!(wrong(&mut c), Some(CardAppError::Client(ClientError::WrongPin { tries_left: n })), "reset to 10");
    }
    assert_eq!(wrong(&mut c), Some(CardAppError::Client(ClientError::PinBlocked)));
    assert_eq!(
        c.prove_card_face_chip(BIRTH_KEY, &root, &CHALLENGE).err(),
        Some(CardAppError::Client(ClientError::PinBlocked)),
        "blocked, even with the right birth date"
    );
}

#[test]
fn a_card_of_another_cv_issuer_fails_the_chip_proof() {
    let (_, root) = issued();
    let other = issuers();
    let card = personalise(apps(&other, face_app(&other.card_face)));
    let mut c = Client::new(card);
    assert_eq!(
        c.prove_card_face_chip(BIRTH_KEY, &root, &CHALLENGE).err(),
        Some(CardAppError::Data(CardDataError::BadSignature("CV certificate")))
    );
    // Under its own root it passes: the failure is the issuer, not the card.
    c.prove_card_face_chip(BIRTH_KEY, other.card_face.root_public_key(), &CHALLENGE).unwrap();
}
