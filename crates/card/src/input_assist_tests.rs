//! The 券面事項入力補助AP on a personalised card, through the in-process client and raw APDUs
//! (shared/spec/10-card.md §5, §6). All My Numbers here are synthetic: an 11-digit body of
//! our choosing completed with its check digit.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use hanko_pki::time::macros::date;
use hanko_pki::*;

use crate::tests::{apdu, file_mut, read, verify, PIN};
use crate::*;

const NAME: &str = "試験　花子";
const ADDRESS: &str = "東京都見本区試験町一丁目１番１号";
/// Born Showa 55-02-17, card expires 2035, security code 2285 (the example of 10-card.md §5).
const NUMBER_B: &[u8] = b"55021720352285";
const SECURITY_CODE: &str = "2285";
const EXPIRY_YEAR: u16 = 2035;

fn my_number() -> MyNumber {
    MyNumber::from_body(b"99123456780").unwrap()
}

fn facts(name: &str) -> CardFacts {
    CardFacts::new(my_number(), name, ADDRESS, date!(1980 - 02 - 17), 2).unwrap()
}

fn personalise(app: Application) -> Card {
    crate::sample::issue(Device::Card, vec![app]).unwrap().card
}

fn app(facts: &CardFacts, issuer: &CvIssuer) -> Application {
    input_assist_app(facts, issuer, PIN, EXPIRY_YEAR, SECURITY_CODE).unwrap()
}

/// A card whose input-assist AP holds `facts`, and the CV hierarchy that signed it.
fn issued() -> (Card, CvIssuer) {
    let issuer = CvIssuer::generate().unwrap();
    (personalise(app(&facts(NAME), &issuer)), issuer)
}

const SELECT_AP: &str = "00A4040C0A D3921000310001010408";

/// Which of EF 0001, 0002, 0003, 0004, 0005, 0007 read with `90 00`.
fn readable(card: &mut Card) -> Vec<u8> {
    [1u8, 2, 3, 4, 5, 7].into_iter().filter(|sfi| read(card, *sfi).sw == StatusWord::SUCCESS).collect()
}

#[test]
fn input_assist_efs_have_the_exact_sizes() {
    let (mut card, _) = issued();
    assert_eq!(apdu(&mut card, SELECT_AP).sw, StatusWord::SUCCESS);
    assert_eq!(verify(&mut card, 0x11, PIN), StatusWord::SUCCESS);
    let sizes: Vec<usize> = [1u8, 3, 4, 5, 7].into_iter().map(|sfi| read(&mut card, sfi).data.len()).collect();
    assert_eq!(sizes, [17, 336, 568, 162, 536]);
    assert_eq!(read(&mut card, 1).data.len(), MY_NUMBER_EF_LEN);
    assert_eq!(read(&mut card, 3).data.len(), INTEGRITY_RECORD_LEN);
    assert_eq!(read(&mut card, 4).data.len(), CV_CERTIFICATE_LEN);
    // The 4-facts file is exactly its FF 20 TLV.
    let four = read(&mut card, 2).data;
    assert_eq!(&four[..2], &[0xFF, 0x20]);
    assert_eq!(four, four_facts_file(&facts(NAME)).unwrap());
    // How jpki-rs and myna read EF 0002: 7 bytes of header first.
    assert_eq!(apdu(&mut card, "00A4020C020002").sw, StatusWord::SUCCESS);
    assert_eq!(apdu(&mut card, "00B0000007").data.len(), 7);
}

#[test]
fn wrong_pin_counts_down_from_3_and_blocks() {
    let (card, _) = issued();
    let mut c = Client::new(card);
    let wrong = AccessCode::Pin(b"0000");
    assert_eq!(c.read_facts(wrong).err(), Some(CardAppError::Client(ClientError::WrongPin { tries_left: 2 })));
    assert_eq!(c.read_facts(wrong).err(), Some(CardAppError::Client(ClientError::WrongPin { tries_left: 1 })));
    // A right PIN resets the counter.
    c.read_facts(AccessCode::Pin(PIN)).unwrap();
    assert_eq!(c.read_facts(wrong).err(), Some(CardAppError::Client(ClientError::WrongPin { tries_left: 2 })));
    assert_eq!(c.read_facts(wrong).err(), Some(CardAppError::Client(ClientError::WrongPin { tries_left: 1 })));
    assert_eq!(c.read_facts(wrong).err(), Some(CardAppError::Client(ClientError::PinBlocked)), "63 C0");
    assert_eq!(c.read_facts(AccessCode::Pin(PIN)).err(), Some(CardAppError::Client(ClientError::PinBlocked)));
    // The codes are independent of the PIN and of each other: 10 tries each.
    let mut card = c.into_inner();
    assert_eq!(apdu(&mut card, SELECT_AP).sw, StatusWord::SUCCESS);
    assert_eq!(apdu(&mut card, "00200091").sw, StatusWord::PIN_NO_TRIES_LEFT, "a status query of a blocked PIN: 63 C0");
    assert_eq!(apdu(&mut card, "00200094").sw, StatusWord::tries_left(10));
    assert_eq!(apdu(&mut card, "00200095").sw, StatusWord::tries_left(10));
    assert_eq!(verify(&mut card, 0x15, b"55021720350000"), StatusWord::tries_left(9));
    assert_eq!(Client::new(&mut card).read_facts(AccessCode::Pin(b"")).err(), Some(CardAppError::EmptyCode));
}

#[test]
fn each_code_opens_exactly_the_efs_of_10_card_md() {
    let (mut card, _) = issued();
    let number_a = *my_number().expose();
    assert_eq!(apdu(&mut card, SELECT_AP).sw, StatusWord::SUCCESS);
    assert_eq!(readable(&mut card), [4, 5], "without a code only the CV certificate and AP info are free");

    assert_eq!(verify(&mut card, 0x14, &number_a), StatusWord::SUCCESS);
    assert_eq!(readable(&mut card), [1, 3, 4, 5, 7], "照合番号A: My Number, not the 4 facts");
    assert_eq!(read(&mut card, 2).sw, StatusWord::SECURITY_STATUS_NOT_SATISFIED);

    assert_eq!(apdu(&mut card, SELECT_AP).sw, StatusWord::SUCCESS, "a DF SELECT clears the state");
    assert_eq!(readable(&mut card), [4, 5]);
    assert_eq!(verify(&mut card, 0x15, NUMBER_B), StatusWord::SUCCESS);
    assert_eq!(readable(&mut card), [2, 3, 4, 5, 7], "照合番号B: the 4 facts, not the My Number");
    assert_eq!(read(&mut card, 1).sw, StatusWord::SECURITY_STATUS_NOT_SATISFIED, "EF 0001 with B → 69 82");

    assert_eq!(apdu(&mut card, SELECT_AP).sw, StatusWord::SUCCESS);
    assert_eq!(verify(&mut card, 0x11, PIN), StatusWord::SUCCESS);
    assert_eq!(readable(&mut card), [1, 2, 3, 4, 5, 7], "the PIN opens everything");

    // The same through the client.
    let mut c = Client::new(&mut card);
    assert!(matches!(
        c.read_my_number(AccessCode::NumberB(NUMBER_B)),
        Err(CardAppError::Client(ClientError::Status { sw: StatusWord::SECURITY_STATUS_NOT_SATISFIED, .. }))
    ));
    assert!(matches!(
        c.read_facts(AccessCode::NumberA(&number_a)),
        Err(CardAppError::Client(ClientError::Status { sw: StatusWord::SECURITY_STATUS_NOT_SATISFIED, .. }))
    ));
    assert_eq!(c.read_my_number(AccessCode::NumberA(&number_a)).unwrap(), my_number());
    assert_eq!(c.read_my_number(AccessCode::Pin(PIN)).unwrap(), my_number());
    let f = c.read_facts(AccessCode::NumberB(NUMBER_B)).unwrap();
    assert_eq!(
        (f.name(), f.address(), f.birth_date(), f.sex()),
        (NAME, ADDRESS, BirthDate::Known(date!(1980 - 02 - 17)), 2)
    );
    // The 4-digit PIN is checked against its own format on the card too: a 14-digit value is wrong.
    assert!(c.read_facts(AccessCode::Pin(NUMBER_B)).is_err());
}

#[test]
fn integrity_record_verifies_with_the_root_key() {
    let (card, issuer) = issued();
    let root = issuer.root_public_key();
    let mut c = Client::new(card);
    let f = c.read_facts(AccessCode::Pin(PIN)).unwrap();
    let v = c.verify_facts_integrity(root).unwrap();
    assert_eq!(v.facts(), Some(&f));
    assert!(v.my_number().is_none(), "the My Number is read only when asked for");
    assert_eq!((v.issuer_key_id(), v.signer_key_id()), (CvKeyId::SANDBOX_ROOT, CvKeyId::SANDBOX_INPUT_ASSIST));
    let both = c.verify_integrity(root, IntegrityScope::Both).unwrap();
    assert_eq!(both.my_number(), Some(&my_number()));
    assert_eq!(both.facts().unwrap().name(), NAME);

    // 照合番号B verifies the 4 facts; 照合番号A the My Number; neither opens the other's data.
    c.read_facts(AccessCode::NumberB(NUMBER_B)).unwrap();
    c.verify_facts_integrity(root).unwrap();
    assert!(matches!(
        c.verify_integrity(root, IntegrityScope::MyNumber),
        Err(CardAppError::Client(ClientError::Status { sw: StatusWord::SECURITY_STATUS_NOT_SATISFIED, .. }))
    ));
    let number_a = *my_number().expose();
    c.read_my_number(AccessCode::NumberA(&number_a)).unwrap();
    let v = c.verify_integrity(root, IntegrityScope::MyNumber).unwrap();
    assert_eq!(v.my_number(), Some(&my_number()));
    assert!(c.verify_facts_integrity(root).is_err());

    // Another root does not vouch for this card's CV certificate.
    let other = CvIssuer::generate().unwrap();
    c.read_facts(AccessCode::Pin(PIN)).unwrap();
    assert_eq!(
        c.verify_facts_integrity(other.root_public_key()).err(),
        Some(CardAppError::Data(CardDataError::BadSignature("CV certificate")))
    );
}

#[test]
fn an_integrity_record_made_for_other_facts_fails() {
    let issuer = CvIssuer::generate().unwrap();
    let mut ours = app(&facts(NAME), &issuer);
    let mut theirs = app(&facts("試験　太郎"), &issuer);
    let other_record = file_mut(&mut theirs, input_assist_ef::INTEGRITY).clone();
    *file_mut(&mut ours, input_assist_ef::INTEGRITY) = other_record;
    let mut c = Client::new(personalise(ours));
    c.read_facts(AccessCode::Pin(PIN)).unwrap();
    let root = issuer.root_public_key();
    assert_eq!(
        c.verify_facts_integrity(root).err(),
        Some(CardAppError::Data(CardDataError::DigestMismatch("4 facts")))
    );
    // The record is genuine and the My Number is the same, so DF31 still matches.
    c.verify_integrity(root, IntegrityScope::MyNumber).unwrap();

    // One changed byte of the name in EF 0002 (still a well-formed file) is caught too.
    let mut tampered = app(&facts(NAME), &issuer);
    let four = file_mut(&mut tampered, input_assist_ef::FACTS);
    let at = four.windows(NAME.len()).position(|w| w == NAME.as_bytes()).unwrap();
    four[at + 2] ^= 0x01; // 試 (E8 A9 A6) → 詧 (E8 A9 A7)
    let mut c = Client::new(personalise(tampered));
    assert_ne!(c.read_facts(AccessCode::Pin(PIN)).unwrap().name(), NAME);
    assert_eq!(
        c.verify_facts_integrity(root).err(),
        Some(CardAppError::Data(CardDataError::DigestMismatch("4 facts")))
    );
}

#[test]
fn my_numbers_and_facts_never_print() {
    let (card, issuer) = issued();
    let mut c = Client::new(card);
    let digits = String::from_utf8(my_number().expose().to_vec()).unwrap();
    let n = c.read_my_number(AccessCode::Pin(PIN)).unwrap();
    let v = c.verify_integrity(issuer.root_public_key(), IntegrityScope::Both).unwrap();
    let shown = format!(
        "{n:?} {n} {v:?} {:?} {:?} {:?}",
        facts(NAME),
        AccessCode::NumberA(digits.as_bytes()),
        c.read_facts(AccessCode::Pin(PIN)).unwrap()
    );
    assert!(shown.contains("MyNumber([elided])"));
    assert!(shown.contains(" [elided] "));
    assert!(!shown.contains(&digits), "{shown}");
    assert!(!shown.contains(NAME) && !shown.contains("19800217") && !shown.contains("1234"));
}

#[test]
fn the_chip_proves_itself_with_its_certified_key() {
    let (card, issuer) = issued();
    let mut c = Client::new(card);
    c.read_facts(AccessCode::NumberB(NUMBER_B)).unwrap();
    c.authenticate_input_assist_chip(issuer.root_public_key()).unwrap();
    let other = CvIssuer::generate().unwrap();
    assert!(c.authenticate_input_assist_chip(other.root_public_key()).is_err());
}

#[test]
fn a_card_image_keeps_the_input_assist_ap_working() {
    let (card, issuer) = issued();
    let mut c = Client::new(card);
    assert_eq!(
        c.read_facts(AccessCode::NumberB(b"55021720350000")).err(),
        Some(CardAppError::Client(ClientError::WrongPin { tries_left: 9 }))
    );
    let card = c.into_inner();
    let seal = SealKey::generate().unwrap();
    let image = card.to_image("card-ia", &seal).unwrap();
    let text = String::from_utf8(image.clone()).unwrap();
    assert!(!text.contains(&hex::encode(NUMBER_B)), "照合番号B is sealed");
    let (back, _) = Card::from_image(&image, &seal).unwrap();
    let app = back.applications().iter().find(|a| a.aid == crate::layout::AID_INPUT_ASSIST).unwrap();
    assert_eq!((app.name, app.secure_messaging), ("input-assist", true));

    let mut c = Client::new(back);
    // The counter survived the image.
    let mut card = c.into_inner();
    assert_eq!(apdu(&mut card, SELECT_AP).sw, StatusWord::SUCCESS);
    assert_eq!(apdu(&mut card, "00200095").sw, StatusWord::tries_left(9));
    c = Client::new(card);
    let root = issuer.root_public_key();
    assert_eq!(c.read_facts(AccessCode::NumberB(NUMBER_B)).unwrap().name(), NAME);
    c.verify_facts_integrity(root).unwrap();
    let number_a = *my_number().expose();
    assert_eq!(c.read_my_number(AccessCode::NumberA(&number_a)).unwrap(), my_number());
    c.verify_integrity(root, IntegrityScope::MyNumber).unwrap();
    c.authenticate_input_assist_chip(root).unwrap();
}

#[test]
fn hostile_apdus_to_the_input_assist_ap_never_panic() {
    let (mut card, _) = issued();
    let seeds: [&[u8]; 3] = [
        &[0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x08],
        &[
            0x00, 0x20, 0x00, 0x95, 0x0E, b'5', b'5', b'0', b'2', b'1', b'7', b'2', b'0', b'3', b'5', b'2', b'2', b'8',
            b'5',
        ],
        &[0x00, 0xB0, 0x82, 0x00, 0x00],
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
fn access_codes_derived_from_card_data_cannot_be_changed() {
    let (mut card, _) = issued();
    assert_eq!(apdu(&mut card, SELECT_AP).sw, StatusWord::SUCCESS);
    assert_eq!(verify(&mut card, 0x15, NUMBER_B), StatusWord::SUCCESS);
    // CHANGE REFERENCE DATA on 照合番号B (P2 = 80|15) is refused; the user PIN (0011) changes.
    assert_eq!(apdu(&mut card, "00240195 0E 3131313131313131313131313131").sw, StatusWord::CONDITIONS_NOT_SATISFIED);
    assert_eq!(verify(&mut card, 0x11, crate::tests::PIN), StatusWord::SUCCESS);
    assert_eq!(apdu(&mut card, "00240191 04 39383736").sw, StatusWord::SUCCESS);
    assert_eq!(verify(&mut card, 0x11, b"9876"), StatusWord::SUCCESS);
}

/// Section 4: after a facts change the input-assist AP answered the old 4 facts. The counter
/// rewrites them and the integrity record; the My Number, the PIN and 照合番号B stay.
#[test]
fn after_a_facts_change_the_input_assist_ap_answers_the_new_facts_and_its_integrity_record_verifies() {
    let (mut card, issuer) = issued();
    let moved = "東京都見本区新町二丁目２番２号";
    card.counter_rewrite_facts(NAME, moved, date!(1980 - 02 - 17), 2, &issuer).unwrap();
    assert!(card.take_dirty(), "the caller must persist the card before acknowledging");
    let root = issuer.root_public_key();
    let mut c = Client::new(&mut card);
    let f = c.read_facts(AccessCode::Pin(PIN)).unwrap();
    assert_eq!((f.name(), f.address()), (NAME, moved));
    let v = c.verify_integrity(root, IntegrityScope::Both).unwrap();
    assert_eq!(v.facts().unwrap().address(), moved);
    assert_eq!(v.my_number(), Some(&my_number()), "the My Number is kept");
    c.read_facts(AccessCode::NumberB(NUMBER_B)).unwrap();

    // Another CV hierarchy's record would not verify on this card: refused, nothing changed.
    let other = CvIssuer::generate().unwrap();
    assert_eq!(
        card.counter_rewrite_facts(NAME, "東京都", date!(1980 - 02 - 17), 2, &other),
        Err(CounterError::CvIssuerMismatch)
    );
    assert_eq!(
        card.counter_rewrite_facts("", "東京都", date!(1980 - 02 - 17), 2, &issuer),
        Err(CounterError::Facts(InputAssistBuildError::Field("name")))
    );
    assert_eq!(Client::new(&mut card).read_facts(AccessCode::Pin(PIN)).unwrap().address(), moved);
    // A card without the AP.
    let mut plain = crate::sample::issue(Device::Card, Vec::new()).unwrap().card;
    assert_eq!(
        plain.counter_rewrite_facts(NAME, moved, date!(1980 - 02 - 17), 2, &issuer),
        Err(CounterError::NoInputAssist)
    );
}
