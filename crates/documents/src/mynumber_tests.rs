//! The counter check of a sample My Number Card (hanko_card::sample, synthetic holder) over an
//! in-process transport.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::OnceLock;

use hanko_card::{
    card_face_app, input_assist_app, Card, CardFacts, CvIssuer, CvKeyId, Device, MyNumber, SealKey, Transport,
    TransportError,
};
use hanko_pki::time::macros::{date, datetime};
use hanko_pki::SoftwareKey;

use super::*;

const NAME: &str = "見本　花子";
const ADDRESS: &str = "東京都見本区試験町一丁目１番１号";
/// Born Showa 55-02-17, card expires 2035, security code 2285 (10-card.md §5's example).
const NUMBER_B: &str = "55021720352285";
const SECURITY_CODE: &str = "2285";
const NOW: time::OffsetDateTime = datetime!(2026-06-01 10:00 +09:00);

struct Fixture {
    image: Vec<u8>,
    seal: [u8; 32],
    root: Vec<u8>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let root = SoftwareKey::generate_rsa2048().unwrap();
        let key = || SoftwareKey::generate_rsa2048().unwrap();
        let input_assist = CvIssuer::new(&root, CvKeyId::SANDBOX_ROOT, key(), CvKeyId::SANDBOX_INPUT_ASSIST).unwrap();
        let card_face = CvIssuer::new(&root, CvKeyId::SANDBOX_ROOT, key(), CvKeyId::SANDBOX_CARD_FACE).unwrap();
        let facts =
            CardFacts::new(MyNumber::from_body(b"99123456780").unwrap(), NAME, ADDRESS, date!(1980 - 02 - 17), 2)
                .unwrap();
        let apps = vec![
            input_assist_app(&facts, &input_assist, b"1234", 2035, SECURITY_CODE).unwrap(),
            card_face_app(&facts, &card_face, date!(2035 - 12 - 31), SECURITY_CODE, "99999").unwrap(),
        ];
        let card = hanko_card::sample::issue(Device::Card, apps).unwrap().card;
        let seal = SealKey::generate().unwrap();
        let image = card.to_image("counter-fixture", &seal).unwrap();
        Fixture { image, seal: *seal.expose(), root: card_face.root_public_key().spki_der().to_vec() }
    })
}

fn card() -> Card {
    let f = fixture();
    Card::from_image(&f.image, &SealKey::new(f.seal)).unwrap().0
}

fn trust() -> TrustAnchors {
    TrustAnchors { mynumber_cv_root: Some(fixture().root.clone()), ..TrustAnchors::default() }
}

fn run(card: &mut Card, code: &str, trust: &TrustAnchors) -> Result<Report, CheckError> {
    crate::check(DocumentKind::MyNumberCard, card, &number_b(code), trust, NOW, &mut |_| {})
}

#[test]
fn reads_and_verifies_the_face_and_proves_the_chip() {
    let mut steps = Vec::new();
    let report = crate::check(
        DocumentKind::MyNumberCard,
        &mut card(),
        &number_b(NUMBER_B),
        &trust(),
        NOW,
        &mut |p: Progress<'_>| steps.push((p.step.to_owned(), p.done)),
    )
    .unwrap();
    assert_eq!(report.kind, DocumentKind::MyNumberCard);
    let value = |k: &str| report.field(k).unwrap().value.clone();
    let trust_of = |k: &str| report.field(k).unwrap().trust.clone();
    assert_eq!(value("name"), NAME);
    assert_eq!(value("address"), ADDRESS);
    assert_eq!(value("birth_date"), "1980-02-17");
    assert_eq!(value("sex"), "女");
    assert_eq!(value("expiry"), "2035-12-31");
    for k in ["birth_date", "sex"] {
        assert_eq!(trust_of(k), Trust::Signed, "{k}");
    }
    // The input-assist AP's text is issuer-signed but not bound to the card face's chip.
    for k in ["name", "address"] {
        assert!(matches!(trust_of(k), Trust::Unsigned { .. }), "{k}");
    }
    for k in ["expiry", "security_code_image"] {
        assert!(matches!(trust_of(k), Trust::Unsigned { .. }), "{k}");
    }
    let photo = report.photo.as_ref().unwrap();
    assert_eq!((photo.format, &photo.trust), (PhotoFormat::Jpeg2000, &Trust::Signed));
    assert!(photo.bytes.starts_with(&hanko_card::JP2_SIGNATURE));
    assert!(matches!(report.chip, ChipCheck::Proven { .. }));
    // Nothing that looks like the My Number anywhere in the report.
    let json = format!("{report:?}");
    assert!(!json.contains("99123456780"), "{json}");
    assert_eq!(steps.first().map(|s| s.1), Some(0));
    assert_eq!(steps.last().map(|s| s.1), Some(STEPS));
}

#[test]
fn an_expired_card_is_flagged() {
    let later = datetime!(2036-01-01 10:00 +09:00);
    let r = crate::check(DocumentKind::MyNumberCard, &mut card(), &number_b(NUMBER_B), &trust(), later, &mut |_| {})
        .unwrap();
    assert_eq!(r.field("expiry").unwrap().value, "2035-12-31 (expired)");
}

#[test]
fn a_wrong_number_b_counts_down() {
    let mut c = card();
    match run(&mut c, "55021720359999", &trust()) {
        Err(CheckError::WrongAccessCode { tries_left: Some(9), .. }) => {}
        other => panic!("{other:?}"),
    }
    // The right code still works after one wrong try.
    run(&mut c, NUMBER_B, &trust()).unwrap();
}

#[test]
fn blocks_after_ten_wrong_tries() {
    let mut c = card();
    for left in (1..10).rev() {
        assert!(matches!(
            run(&mut c, "00000000000000", &trust()),
            Err(CheckError::WrongAccessCode { tries_left: Some(n), .. }) if n == left
        ));
    }
    assert!(matches!(run(&mut c, "00000000000000", &trust()), Err(CheckError::Blocked(_))));
    assert!(matches!(run(&mut c, NUMBER_B, &trust()), Err(CheckError::Blocked(_))));
}

#[test]
fn another_cv_root_fails_the_chain() {
    let other = CvIssuer::generate().unwrap().root_public_key().spki_der().to_vec();
    let trust = TrustAnchors { mynumber_cv_root: Some(other), ..TrustAnchors::default() };
    match run(&mut card(), NUMBER_B, &trust) {
        Err(CheckError::MyNumber(MyNumberError::Card(CardAppError::Data(_)))) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn needs_a_cv_root() {
    assert!(matches!(
        run(&mut card(), NUMBER_B, &TrustAnchors::default()),
        Err(CheckError::MyNumber(MyNumberError::NoCvRoot))
    ));
    let bad = TrustAnchors { mynumber_cv_root: Some(vec![0x30, 0x00]), ..TrustAnchors::default() };
    assert!(matches!(run(&mut card(), NUMBER_B, &bad), Err(CheckError::MyNumber(MyNumberError::BadCvRoot(_)))));
}

/// Counts the APDUs sent and answers none.
struct Silent(usize);

impl Transport for Silent {
    fn transmit(&mut self, _apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.0 += 1;
        Err(TransportError("no card".into()))
    }
}

#[test]
fn a_malformed_code_sends_nothing() {
    for code in ["5502172035228", "550217203522850", "5502172035228x", ""] {
        let mut t = Silent(0);
        let r = crate::check(DocumentKind::MyNumberCard, &mut t, &number_b(code), &trust(), NOW, &mut |_| {});
        assert!(matches!(r, Err(CheckError::MyNumber(MyNumberError::BadNumberB))), "{code:?}");
        assert_eq!(t.0, 0);
    }
    let pins = AccessCode::LicencePins { pin1: Zeroizing::new("1234".into()), pin2: Zeroizing::new("5678".into()) };
    let mut t = Silent(0);
    assert!(matches!(
        crate::check(DocumentKind::MyNumberCard, &mut t, &pins, &trust(), NOW, &mut |_| {}),
        Err(CheckError::WrongKindOfCode(_))
    ));
    assert_eq!(t.0, 0);
}

#[test]
fn a_vanished_card_is_a_transport_error() {
    assert!(matches!(
        crate::check(DocumentKind::MyNumberCard, &mut Silent(0), &number_b(NUMBER_B), &trust(), NOW, &mut |_| {}),
        Err(CheckError::Transport(_))
    ));
}

#[test]
fn the_record_keeps_expiry_year_and_security_code_only() {
    assert_eq!(record_digits(&number_b(NUMBER_B)).unwrap(), "20352285");
    assert!(record_digits(&number_b("1234")).is_err());
    assert!(record_digits(&AccessCode::CardNumber(Zeroizing::new("AA12345678BB".into()))).is_err());
}

#[test]
fn read_keeps_the_face_images() {
    let r = read(&mut card(), &number_b(NUMBER_B), &trust(), NOW, &mut |_| {}).unwrap();
    assert!(r.face.face().name_png().starts_with(&hanko_card::PNG_SIGNATURE));
    assert!(r.face.face().address_png().starts_with(&hanko_card::PNG_SIGNATURE));
    assert!(!format!("{:?}", r.face).contains("1980"));
}

/// Review finding H1: the input-assist AP answered from another card (a relay): its facts must
/// match the card face's birth date and sex, or the check fails.
#[test]
fn input_assist_facts_of_another_person_are_refused() {
    let root = SoftwareKey::generate_rsa2048().unwrap();
    let key = || SoftwareKey::generate_rsa2048().unwrap();
    let input_assist = CvIssuer::new(&root, CvKeyId::SANDBOX_ROOT, key(), CvKeyId::SANDBOX_INPUT_ASSIST).unwrap();
    let card_face = CvIssuer::new(&root, CvKeyId::SANDBOX_ROOT, key(), CvKeyId::SANDBOX_CARD_FACE).unwrap();
    let face_facts =
        CardFacts::new(MyNumber::from_body(b"99123456780").unwrap(), NAME, ADDRESS, date!(1980 - 02 - 17), 2).unwrap();
    // Same birth date (so the same 照合番号B opens both APs), another sex and name.
    let other = CardFacts::new(
        MyNumber::from_body(b"99876543210").unwrap(),
        "被害者　二郎",
        "東京都見本区別町二丁目２番２号",
        date!(1980 - 02 - 17),
        1,
    )
    .unwrap();
    let apps = vec![
        input_assist_app(&other, &input_assist, b"1234", 2035, SECURITY_CODE).unwrap(),
        card_face_app(&face_facts, &card_face, date!(2035 - 12 - 31), SECURITY_CODE, "99999").unwrap(),
    ];
    let mut card = hanko_card::sample::issue(Device::Card, apps).unwrap().card;
    let trust =
        TrustAnchors { mynumber_cv_root: Some(card_face.root_public_key().spki_der().to_vec()), ..Default::default() };
    let e = run(&mut card, NUMBER_B, &trust).unwrap_err();
    assert!(matches!(e, CheckError::MyNumber(crate::mynumber::MyNumberError::FactsDoNotMatchFace)), "{e:?}");
}
