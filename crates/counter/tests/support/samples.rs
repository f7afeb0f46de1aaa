//! Sample documents for the counter's tests and its `counter-demo` example (included by path by
//! both): synthetic holders, fresh sandbox issuers, and what a counter trusts for them.
#![allow(clippy::unwrap_used, dead_code)]

use hanko_documents::{DocumentChip, DocumentKind, Loopback, TrustAnchors};
use time::macros::date;

/// The sample My Number Card with its 券面AP, and the CV root's key (the counter's trust anchor).
pub(crate) fn my_number_card() -> (hanko_card::Card, Vec<u8>) {
    // The card-face and input-assist hierarchies under one sandbox CV root (the reader reads the
    // name and address text from the input-assist AP, verified under the same root).
    let root = hanko_pki::SoftwareKey::generate_rsa2048().unwrap();
    let key = || hanko_pki::SoftwareKey::generate_rsa2048().unwrap();
    let (root_id, face_id, assist_id) = (
        hanko_card::CvKeyId::SANDBOX_ROOT,
        hanko_card::CvKeyId::SANDBOX_CARD_FACE,
        hanko_card::CvKeyId::SANDBOX_INPUT_ASSIST,
    );
    let issuer = hanko_card::CvIssuer::new(&root, root_id, key(), face_id).unwrap();
    let assist = hanko_card::CvIssuer::new(&root, root_id, key(), assist_id).unwrap();
    let facts = hanko_card::CardFacts::new(
        hanko_card::MyNumber::from_body(b"99123456780").unwrap(),
        "試験　花子",
        "東京都見本区試験町一丁目１番１号",
        date!(1980 - 02 - 17),
        2,
    )
    .unwrap();
    let face = hanko_card::card_face_app(&facts, &issuer, date!(2035 - 12 - 31), "2285", "99999").unwrap();
    let assist = hanko_card::input_assist_app(&facts, &assist, b"1234", 2035, "2285").unwrap();
    let card = hanko_card::sample::issue(hanko_card::Device::Card, vec![assist, face]).unwrap().card;
    (card, issuer.root_public_key().spki_der().to_vec())
}

/// A sample licence, residence card and passport from fresh sandbox issuers, with what a counter
/// trusts for them.
pub(crate) fn sample_document(kind: DocumentKind) -> (Loopback<DocumentChip>, TrustAnchors) {
    use hanko_documents::{licence, passport, residence};
    let now = time::OffsetDateTime::now_utc();
    let mut rng = rand_core::OsRng;
    let mut trust = TrustAnchors::default();
    let chip = match kind {
        DocumentKind::DriverLicence => {
            let issuer = licence::PoliceIssuer::generate(licence::SANDBOX_SIGNER_NAME).unwrap();
            trust.police_keys.push(issuer.trust_anchor().unwrap());
            DocumentChip::Licence(licence::issue(&licence::sample_holder(0), &issuer, now.date(), &mut rng).unwrap())
        }
        DocumentKind::ResidenceCard => {
            let issuer = residence::ImmigrationIssuer::generate(now, &mut rng).unwrap();
            trust.immigration_roots.push(issuer.trust_anchor());
            DocumentChip::Residence(residence::issue(&residence::sample_holder(0), &issuer).unwrap())
        }
        DocumentKind::Passport => {
            let issuer = passport::PassportIssuer::generate("JP", now, &mut rng).unwrap();
            trust.cscas.push(issuer.trust_anchor());
            let holder = passport::sample_holder(0);
            DocumentChip::Passport(passport::issue(&holder, &issuer, passport::AccessControl::BacAndPace, now).unwrap())
        }
        DocumentKind::MyNumberCard => unreachable!("the My Number Card is a hanko_card::Card"),
    };
    (Loopback(chip), trust)
}

/// The card number of [`under_16_residence_card`] (sample holder 2, printed on its face).
pub(crate) const UNDER_16_CARD_NUMBER: &str = "TS00000002TE";

/// A residence card of a holder under 16 (sample holder 2): no photo and no signature, so every
/// field is unsigned. Trusts a fresh immigration root all the same (the card has nothing it signed).
pub(crate) fn under_16_residence_card() -> (Loopback<DocumentChip>, TrustAnchors) {
    use hanko_documents::residence;
    let now = time::OffsetDateTime::now_utc();
    let issuer = residence::ImmigrationIssuer::generate(now, &mut rand_core::OsRng).unwrap();
    let holder = residence::sample_holder(2);
    assert!(holder.photo.is_none(), "sample holder 2 is under 16");
    let trust = TrustAnchors { immigration_roots: vec![issuer.trust_anchor()], ..TrustAnchors::default() };
    (Loopback(DocumentChip::Residence(residence::issue(&holder, &issuer).unwrap())), trust)
}
