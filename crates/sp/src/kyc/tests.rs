//! The table checked against an expected matrix written out separately, and the record's rules.
#![allow(clippy::unwrap_used, clippy::panic)]

use super::*;
use time::macros::{date, datetime};
use time::OffsetDateTime;

const BEFORE: Date = date!(2027 - 03 - 31);
const AFTER: Date = date!(2027 - 04 - 01);

/// The expected matrix, written from the seeds independently of `table.rs`: one letter per
/// method in `Method::ALL` order (JPKI sig, phone sig, JPKI auth, phone auth, card chip online,
/// chip+selfie, image upload, accredited e-sig, mail, in-person chip, in-person photo ID,
/// in-person non-photo): `A` accepted, `N` not accepted, `X` abolished, `L` not an identity
/// check, `.` not in the table. `(law, transaction, before 2027-04-01, from 2027-04-01)`.
const EXPECTED: &[(Law, Transaction, &str, &str)] = &[
    (Law::MyNumberAct, Transaction::MyNumberCollection, "AALLANNNNAAN", "AALLANNNNAAN"),
    (Law::AmlAct, Transaction::AccountOpening, "AALLNAAAAAAN", "AALLNAXAXAXN"),
    (Law::AmlAct, Transaction::ContractSigning, "AALLNAAAAAAN", "AALLNAXAXAXN"),
    (Law::AmlAct, Transaction::Login, "AAAA.....A..", "AAAA.....A.."),
    (Law::MobilePhoneAct, Transaction::MobileContract, "AALLNNNAAAAA", "AALLNNNAXAXA"),
    (Law::SecondHandGoodsAct, Transaction::SecondHandPurchase, "AALL.....AA.", "AALL.....AA."),
    (Law::OnlineDatingAct, Transaction::DatingSignUp, "AALL........", "AALL........"),
];

fn letter(d: &Decision) -> char {
    match d.verdict {
        Verdict::Accepted => 'A',
        Verdict::NotAccepted => 'N',
        Verdict::Abolished { .. } => 'X',
        Verdict::NotAnIdentityCheck => 'L',
        Verdict::NotInTable => '.',
        Verdict::NotGoverned => 'G',
    }
}

#[test]
fn the_table_matches_the_expected_matrix_on_both_sides_of_the_switch() {
    let policy = Policy::standard();
    for law in Law::ALL {
        for tx in Transaction::ALL {
            let expected = EXPECTED.iter().find(|(l, t, _, _)| *l == law && *t == tx);
            for (on, pick) in [(BEFORE, 0), (AFTER, 1)] {
                let got: String = Method::ALL.iter().map(|m| letter(&policy.decide(law, tx, *m, on))).collect();
                let want = match expected {
                    Some((_, _, before, after)) => if pick == 0 { *before } else { *after }.to_string(),
                    None => "G".repeat(Method::ALL.len()),
                };
                assert_eq!(got, want, "{law:?} / {tx:?} on {on}");
            }
        }
    }
    assert_eq!(policy.rules().len(), EXPECTED.len());
}

#[test]
fn accepted_is_exactly_the_accepted_verdict() {
    let policy = Policy::standard();
    for rule in policy.rules() {
        for m in Method::ALL {
            for on in [BEFORE, AFTER] {
                let d = policy.decide(rule.law, rule.transaction, m, on);
                assert_eq!(d.accepted, d.verdict == Verdict::Accepted);
                assert_eq!(d.required_items.is_empty(), !d.accepted, "{d:?}");
                assert!(!d.reason_en.is_empty() && !d.reason_ja.is_empty());
                assert!(d.reason_en.to_lowercase().contains(&rule.law.name_en().to_lowercase()), "{}", d.reason_en);
                assert!(d.reason_en.starts_with(char::is_uppercase), "{}", d.reason_en);
                assert!(d.reason_ja.contains(rule.law.name_ja()), "{}", d.reason_ja);
                if d.verdict != Verdict::NotInTable {
                    assert!(!d.basis.is_empty(), "{d:?}");
                }
            }
        }
    }
}

#[test]
fn aml_account_opening_accepts_the_jpki_signature_but_not_the_jpki_login() {
    let policy = Policy::standard();
    let d = policy.decide(Law::AmlAct, Transaction::AccountOpening, Method::JpkiSignature, date!(2026 - 01 - 15));
    assert!(d.accepted);
    assert!(d.basis.contains("(6)②") && d.basis.contains("ワ"), "{}", d.basis);
    assert_eq!(
        d.required_items,
        vec![
            RecordItem::Method,
            RecordItem::CheckedAt,
            RecordItem::CheckedBy,
            RecordItem::DocumentType,
            RecordItem::DocumentNumber,
            RecordItem::Name,
            RecordItem::Address,
            RecordItem::BirthDate,
            RecordItem::Occupation,
            RecordItem::PurposeOfTransaction,
            RecordItem::EvidenceId,
        ]
    );
    assert_eq!(d.retention, Retention::AfterContractEnds { years: 7 });

    for m in [Method::JpkiUserAuthentication, Method::SmartphoneJpkiUserAuthentication] {
        let d = policy.decide(Law::AmlAct, Transaction::AccountOpening, m, date!(2026 - 01 - 15));
        assert!(!d.accepted);
        assert_eq!(d.verdict, Verdict::NotAnIdentityCheck);
        assert!(d.reason_ja.contains("基本4情報の記載なし"), "{}", d.reason_ja);
        // ... but it is how an ongoing customer logs in.
        let login = policy.decide(Law::AmlAct, Transaction::Login, m, date!(2026 - 01 - 15));
        assert!(login.accepted);
        assert_eq!(
            login.required_items,
            vec![RecordItem::Method, RecordItem::CheckedAt, RecordItem::EvidenceId, RecordItem::PriorRecord]
        );
    }
}

#[test]
fn image_upload_and_mailing_stop_on_2027_04_01_but_chips_and_jpki_go_on() {
    let policy = Policy::standard();
    for m in [Method::ImageUpload, Method::DocumentsByRegisteredMail, Method::FaceToFacePhotoId] {
        let before = policy.decide(Law::AmlAct, Transaction::AccountOpening, m, BEFORE);
        let after = policy.decide(Law::AmlAct, Transaction::AccountOpening, m, AFTER);
        let later = policy.decide(Law::AmlAct, Transaction::AccountOpening, m, date!(2030 - 01 - 01));
        assert!(before.accepted, "{m:?}");
        assert!(!after.accepted && !later.accepted, "{m:?}");
        assert_eq!(after.verdict, Verdict::Abolished { since: SWITCH_2027 });
        assert!(after.reason_en.contains("2027-04-01") && after.reason_ja.contains("2027-04-01"));
    }
    assert_eq!(
        policy.accepted_methods(Law::AmlAct, Transaction::AccountOpening, AFTER),
        vec![
            Method::JpkiSignature,
            Method::SmartphoneJpkiSignature,
            Method::ChipAndSelfie,
            Method::AccreditedESignature,
            Method::FaceToFaceChipRead,
        ]
    );
    // The mobile-phone Act too asks for the chip in person from that day; the My Number Act and
    // the second-hand goods Act are not named by the plan.
    assert!(
        !policy.decide(Law::MobilePhoneAct, Transaction::MobileContract, Method::FaceToFacePhotoId, AFTER).accepted
    );
    assert!(
        policy.decide(Law::MyNumberAct, Transaction::MyNumberCollection, Method::FaceToFacePhotoId, AFTER).accepted
    );
    assert!(
        policy
            .decide(Law::SecondHandGoodsAct, Transaction::SecondHandPurchase, Method::FaceToFacePhotoId, AFTER)
            .accepted
    );
}

#[test]
fn the_switch_is_counted_in_japan_time() {
    let policy = Policy::standard();
    let at = |t: OffsetDateTime| {
        VerificationRecord::builder(Law::AmlAct, Transaction::AccountOpening, Method::ImageUpload, t)
            .with_checked_by("staff-7")
            .with_document(DocumentType::DriversLicence, "123456789012")
            .with_name("デジタル 花子")
            .with_address("東京都千代田区紀尾井町1-3")
            .with_birth_date(date!(1990 - 01 - 01))
            .with_occupation("会社員")
            .with_purpose_of_transaction("生計費決済")
            .with_evidence_id("ev-images-1")
            .build(&policy)
    };
    // 23:59:59 on 31 March in Tokyo is 14:59:59 UTC: still accepted.
    assert!(at(datetime!(2027-03-31 14:59:59 UTC)).is_ok());
    // 00:00 on 1 April in Tokyo is still 31 March in UTC: refused.
    let err = at(datetime!(2027-03-31 15:00:00 UTC)).unwrap_err();
    match err {
        RecordError::MethodRefused(d) => assert_eq!(d.verdict, Verdict::Abolished { since: SWITCH_2027 }),
        other => panic!("{other:?}"),
    }
}

#[test]
fn each_law_differs_where_the_seed_says_so() {
    let policy = Policy::standard();
    let on = date!(2026 - 06 - 01);
    let ok = |l, t, m| policy.decide(l, t, m, on).accepted;
    // A health-insurance card alone, in person: the mobile-phone Act only (seed 001 (1)④).
    assert!(ok(Law::MobilePhoneAct, Transaction::MobileContract, Method::FaceToFaceNonPhotoDocument));
    assert!(!ok(Law::AmlAct, Transaction::AccountOpening, Method::FaceToFaceNonPhotoDocument));
    assert!(!ok(Law::MyNumberAct, Transaction::MyNumberCollection, Method::FaceToFaceNonPhotoDocument));
    // Chip + selfie: AML only (seed 001 (6)⑤).
    assert!(ok(Law::AmlAct, Transaction::AccountOpening, Method::ChipAndSelfie));
    assert!(!ok(Law::MobilePhoneAct, Transaction::MobileContract, Method::ChipAndSelfie));
    assert!(!ok(Law::MyNumberAct, Transaction::MyNumberCollection, Method::ChipAndSelfie));
    // The card's chip read online: the My Number Act only (seed 001 (6)①).
    assert!(ok(Law::MyNumberAct, Transaction::MyNumberCollection, Method::MyNumberCardChipRead));
    assert!(!ok(Law::AmlAct, Transaction::AccountOpening, Method::MyNumberCardChipRead));
    // An accredited e-signature: AML and mobile, not My Number (seed 001 (6)⑧).
    assert!(ok(Law::AmlAct, Transaction::AccountOpening, Method::AccreditedESignature));
    assert!(ok(Law::MobilePhoneAct, Transaction::MobileContract, Method::AccreditedESignature));
    assert!(!ok(Law::MyNumberAct, Transaction::MyNumberCollection, Method::AccreditedESignature));
    // JPKI signature everywhere a new person is checked.
    for rule in policy.rules() {
        assert!(ok(rule.law, rule.transaction, Method::JpkiSignature), "{:?}", rule.transaction);
    }
    // A dating service has no source for anything but JPKI.
    assert_eq!(
        policy.accepted_methods(Law::OnlineDatingAct, Transaction::DatingSignUp, on),
        vec![Method::JpkiSignature, Method::SmartphoneJpkiSignature]
    );
}

#[test]
fn a_law_that_does_not_govern_the_transaction_decides_nothing() {
    let policy = Policy::standard();
    let d = policy.decide(Law::OnlineDatingAct, Transaction::AccountOpening, Method::JpkiSignature, AFTER);
    assert!(!d.accepted);
    assert_eq!(d.verdict, Verdict::NotGoverned);
    assert_eq!(policy.laws_for(Transaction::AccountOpening), vec![Law::AmlAct]);
    assert_eq!(policy.laws_for(Transaction::MyNumberCollection), vec![Law::MyNumberAct]);
    assert_eq!(policy.laws_for(Transaction::MobileContract), vec![Law::MobilePhoneAct]);
}

#[test]
fn with_rule_replaces_a_row() {
    const CELLS: &[Cell] =
        &[Cell { method: Method::ImageUpload, acceptance: Acceptance::Accepted, basis: "our lawyers" }];
    let policy = Policy::standard().with_rule(Rule {
        law: Law::OnlineDatingAct,
        transaction: Transaction::DatingSignUp,
        basis: "施行規則 第5条",
        items: &[RecordItem::Method, RecordItem::CheckedAt, RecordItem::AgeCheck],
        retention: Retention::NotMandated,
        cells: CELLS,
    });
    assert_eq!(policy.rules().len(), Policy::standard().rules().len());
    assert!(policy.decide(Law::OnlineDatingAct, Transaction::DatingSignUp, Method::ImageUpload, AFTER).accepted);
    assert!(!policy.decide(Law::OnlineDatingAct, Transaction::DatingSignUp, Method::JpkiSignature, AFTER).accepted);
}

#[test]
fn every_method_names_its_documents_and_both_languages() {
    for m in Method::ALL {
        assert!(!m.document_types().is_empty());
        assert!(!m.name_en().is_empty() && !m.name_ja().is_empty());
    }
    assert!(Method::FaceToFaceChipRead.is_face_to_face() && !Method::JpkiSignature.is_face_to_face());
    assert!(!Method::FaceToFacePhotoId.leaves_electronic_evidence());
    assert!(Method::ChipAndSelfie.leaves_electronic_evidence());
}

// ----- records -----

const CHECKED: OffsetDateTime = datetime!(2026-05-01 10:00:00 +09:00);

fn aml_jpki() -> RecordBuilder {
    VerificationRecord::builder(Law::AmlAct, Transaction::AccountOpening, Method::JpkiSignature, CHECKED)
        .with_checked_by("hanko demo bank (automatic)")
        .with_document(DocumentType::JpkiSignatureCertificate, "0A1B2C")
        .with_name("デジタル 花子")
        .with_address("東京都千代田区紀尾井町1-3")
        .with_birth_date(date!(1990 - 01 - 01))
        .with_sex("2")
        .with_occupation("会社員")
        .with_purpose_of_transaction("生計費決済")
        .with_evidence_id("ev_123")
}

fn my_number() -> MyNumber {
    MyNumber::parse("123456789018").unwrap()
}

#[test]
fn an_aml_record_is_built_kept_seven_years_after_the_contract_and_round_trips() {
    let policy = Policy::standard();
    let record = aml_jpki().build(&policy).unwrap();
    assert_eq!(record.retain_until(), RetainUntil::YearsAfterContractEnds { years: 7 });
    assert_eq!(record.required_items().len(), 11);
    assert!(record.basis().contains("(6)②"));
    let closed = record.clone().contract_ended(date!(2030 - 06 - 30)).unwrap();
    assert_eq!(closed.retain_until(), RetainUntil::Date { until: date!(2037 - 06 - 30) });
    assert_eq!(closed.clone().contract_ended(date!(2031 - 01 - 01)), Err(RecordError::ContractEnd));
    assert_eq!(record.clone().contract_ended(date!(2026 - 04 - 30)), Err(RecordError::ContractEnd));

    let json = serde_json::to_value(&record).unwrap();
    assert_eq!(json["law"], "aml_act");
    assert_eq!(json["transaction"], "account_opening");
    assert_eq!(json["method"], "jpki_signature");
    assert_eq!(json["checked_at"], "2026-05-01T10:00:00+09:00");
    assert_eq!(json["birth_date"], "1990-01-01");
    assert_eq!(json["document_type"], "jpki_signature_certificate");
    assert_eq!(json["retain_until"], serde_json::json!({"kind": "years_after_contract_ends", "years": 7}));
    assert!(json.get("my_number").is_none());
    let back: VerificationRecord = serde_json::from_value(json).unwrap();
    assert_eq!(back, record);
    let closed_back: VerificationRecord = serde_json::from_str(&serde_json::to_string(&closed).unwrap()).unwrap();
    assert_eq!(closed_back, closed);

    // Debug names the items, never the facts.
    let debug = format!("{record:?}");
    assert!(debug.contains("Occupation") && debug.contains("AmlAct"), "{debug}");
    for secret in ["花子", "紀尾井町", "1990", "会社員"] {
        assert!(!debug.contains(secret), "{debug}");
    }
}

#[test]
fn a_record_missing_what_the_law_asks_is_refused() {
    let policy = Policy::standard();
    // Occupation and purpose are what the certificate lacks: the customer must add them.
    let err = VerificationRecord::builder(Law::AmlAct, Transaction::AccountOpening, Method::JpkiSignature, CHECKED)
        .with_checked_by("system")
        .with_document(DocumentType::JpkiSignatureCertificate, "0A1B2C")
        .with_name("デジタル 花子")
        .with_address("東京都千代田区紀尾井町1-3")
        .with_birth_date(date!(1990 - 01 - 01))
        .with_evidence_id("ev_1")
        .with_occupation("   ")
        .build(&policy)
        .unwrap_err();
    assert_eq!(err, RecordError::MissingItems(vec![RecordItem::Occupation, RecordItem::PurposeOfTransaction]));
    assert!(err.to_string().contains("occupation, purpose of the transaction"), "{err}");

    // An electronic method needs its evidence; a card face looked at in person has none.
    let err = aml_jpki().with_evidence_id("").build(&policy).unwrap_err();
    assert_eq!(err, RecordError::MissingItems(vec![RecordItem::EvidenceId]));
    let in_person = VerificationRecord::builder(
        Law::MobilePhoneAct,
        Transaction::MobileContract,
        Method::FaceToFacePhotoId,
        CHECKED,
    )
    .with_checked_by("shop 12, staff 3")
    .with_document(DocumentType::DriversLicence, "123456789012")
    .with_name("デジタル 花子")
    .with_address("東京都千代田区紀尾井町1-3")
    .with_birth_date(date!(1990 - 01 - 01))
    .build(&policy)
    .unwrap();
    assert!(!in_person.required_items().contains(&RecordItem::EvidenceId));
    assert_eq!(in_person.retain_until(), RetainUntil::YearsAfterContractEnds { years: 3 });

    // An ongoing customer's login points at the earlier record.
    let login = |prior: Option<&str>| {
        let b = VerificationRecord::builder(Law::AmlAct, Transaction::Login, Method::JpkiUserAuthentication, CHECKED)
            .with_evidence_id("ev_login");
        match prior {
            Some(p) => b.with_prior_record(p),
            None => b,
        }
        .build(&policy)
    };
    assert_eq!(login(None), Err(RecordError::MissingItems(vec![RecordItem::PriorRecord])));
    let ok = login(Some("rec_42")).unwrap();
    assert_eq!(ok.retain_until(), RetainUntil::Date { until: date!(2033 - 05 - 01) });
}

#[test]
fn a_refused_method_makes_no_record() {
    let policy = Policy::standard();
    let err =
        VerificationRecord::builder(Law::AmlAct, Transaction::AccountOpening, Method::JpkiUserAuthentication, CHECKED)
            .with_evidence_id("ev")
            .build(&policy)
            .unwrap_err();
    match &err {
        RecordError::MethodRefused(d) => assert_eq!(d.verdict, Verdict::NotAnIdentityCheck),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "JPKI user authentication (login) proves only that the holder is the same person, without name, address or \
         birth date: it is not an identity check for account opening under the AML Act."
    );
}

#[test]
fn a_my_number_is_recorded_only_under_the_my_number_act() {
    let policy = Policy::standard();
    // Never in an AML record, whatever else it holds.
    let err = aml_jpki().with_my_number(my_number(), MyNumberPurpose::Tax).build(&policy).unwrap_err();
    assert_eq!(err, RecordError::MyNumberNotAllowed);
    // Nor as the number of a My Number Card shown in person.
    let err =
        VerificationRecord::builder(Law::AmlAct, Transaction::AccountOpening, Method::FaceToFaceChipRead, CHECKED)
            .with_checked_by("counter 2")
            .with_document(DocumentType::MyNumberCard, "1234 5678 9018")
            .with_name("デジタル 花子")
            .with_address("東京都千代田区紀尾井町1-3")
            .with_birth_date(date!(1990 - 01 - 01))
            .with_occupation("会社員")
            .with_purpose_of_transaction("生計費決済")
            .with_evidence_id("ev_chip")
            .build(&policy)
            .unwrap_err();
    assert_eq!(err, RecordError::MyNumberAsDocumentNumber);

    // Collected under the My Number Act with its purpose (seed 000 利活用事例4: JPKI + input-assist AP).
    let collect = || {
        VerificationRecord::builder(Law::MyNumberAct, Transaction::MyNumberCollection, Method::JpkiSignature, CHECKED)
            .with_checked_by("securities onboarding")
            .with_document(DocumentType::JpkiSignatureCertificate, "0A1B2C")
            .with_name("デジタル 花子")
            .with_birth_date(date!(1990 - 01 - 01))
            .with_evidence_id("ev_mn")
    };
    assert_eq!(
        collect().build(&policy),
        Err(RecordError::MissingItems(vec![RecordItem::MyNumber, RecordItem::MyNumberPurpose]))
    );
    let record = collect().with_my_number(my_number(), MyNumberPurpose::Tax).build(&policy).unwrap();
    assert_eq!(record.my_number().map(MyNumber::expose), Some("123456789018"));
    assert_eq!(record.retain_until(), RetainUntil::NotMandated);
    assert!(!format!("{record:?}").contains("123456789018"));
    let json = serde_json::to_value(&record).unwrap();
    assert_eq!(json["my_number"], "123456789018");
    assert_eq!(json["my_number_purpose"], "tax");
    let back: VerificationRecord = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(back, record);

    // A stored record edited to carry a My Number under another law does not read back.
    let mut aml = serde_json::to_value(aml_jpki().build(&policy).unwrap()).unwrap();
    aml["my_number"] = "123456789018".into();
    aml["my_number_purpose"] = "tax".into();
    assert!(serde_json::from_value::<VerificationRecord>(aml).is_err());
    // Nor does a wrong check digit, nor a number without its purpose.
    let mut bad = json.clone();
    bad["my_number"] = "123456789010".into();
    assert!(serde_json::from_value::<VerificationRecord>(bad).is_err());
    let mut no_purpose = json;
    no_purpose.as_object_mut().unwrap().remove("my_number_purpose");
    assert!(serde_json::from_value::<VerificationRecord>(no_purpose).is_err());
}

#[test]
fn a_stored_record_missing_a_required_item_does_not_read_back() {
    let record = aml_jpki().build(&Policy::standard()).unwrap();
    let mut json = serde_json::to_value(&record).unwrap();
    json.as_object_mut().unwrap().remove("occupation");
    let err = serde_json::from_value::<VerificationRecord>(json).unwrap_err();
    assert!(err.to_string().contains("occupation"), "{err}");
}

#[test]
fn the_document_must_go_with_the_method() {
    let err = aml_jpki().with_document(DocumentType::DriversLicence, "123456789012").build(&Policy::standard());
    assert_eq!(
        err,
        Err(RecordError::DocumentDoesNotFitMethod {
            method: Method::JpkiSignature,
            document: DocumentType::DriversLicence
        })
    );
}

#[test]
fn a_dating_record_keeps_the_age_check_of_18() {
    let policy = Policy::standard();
    let at = datetime!(2026-04-01 12:00:00 +09:00);
    let dating = || {
        VerificationRecord::builder(Law::OnlineDatingAct, Transaction::DatingSignUp, Method::JpkiSignature, at)
            .with_evidence_id("ev_age")
    };
    // Derived from the certificate's birth date: 18 on the birthday, not the day before.
    let adult = dating().with_birth_date(date!(2008 - 04 - 01)).build(&policy).unwrap();
    assert_eq!(adult.age_check(), Some(AgeCheck { at_least: 18, holds: true }));
    let minor = dating().with_birth_date(date!(2008 - 04 - 02)).build(&policy).unwrap();
    assert_eq!(minor.age_check(), Some(AgeCheck { at_least: 18, holds: false }));
    // The answer alone is enough (no birth date kept).
    let bare = dating().with_age_check(AgeCheck { at_least: 18, holds: true }).build(&policy).unwrap();
    assert_eq!(bare.birth_date(), None);
    assert_eq!(bare.retain_until(), RetainUntil::NotMandated);
    // Nothing: missing; a lower age than the law's, or an answer that contradicts the birth date: refused.
    assert_eq!(dating().build(&policy), Err(RecordError::MissingItems(vec![RecordItem::AgeCheck])));
    assert_eq!(
        dating().with_age_check(AgeCheck { at_least: 16, holds: true }).build(&policy),
        Err(RecordError::AgeBelowLaw { law_minimum: 18, given: 16 })
    );
    assert_eq!(
        dating()
            .with_birth_date(date!(2010 - 01 - 01))
            .with_age_check(AgeCheck { at_least: 18, holds: true })
            .build(&policy),
        Err(RecordError::AgeInconsistent)
    );
}

#[test]
fn a_second_hand_record_holds_occupation_and_age_for_three_years() {
    let policy = Policy::standard();
    let at = datetime!(2026-05-01 18:30:00 +09:00);
    let purchase = || {
        VerificationRecord::builder(
            Law::SecondHandGoodsAct,
            Transaction::SecondHandPurchase,
            Method::FaceToFaceChipRead,
            at,
        )
        .with_checked_by("store 4, staff 9")
        .with_document_type(DocumentType::MyNumberCard)
        .with_name("デジタル 花子")
        .with_address("東京都千代田区紀尾井町1-3")
        .with_evidence_id("ev_chip")
    };
    assert_eq!(
        purchase().with_birth_date(date!(1990 - 05 - 02)).build(&policy),
        Err(RecordError::MissingItems(vec![RecordItem::Occupation]))
    );
    let record = purchase().with_birth_date(date!(1990 - 05 - 02)).with_occupation("会社員").build(&policy).unwrap();
    assert_eq!(record.age(), Some(35));
    assert_eq!(record.retain_until(), RetainUntil::Date { until: date!(2029 - 05 - 01) });
    assert_eq!(
        purchase().with_birth_date(date!(1990 - 05 - 02)).with_age(36).with_occupation("会社員").build(&policy),
        Err(RecordError::AgeInconsistent)
    );
    assert_eq!(
        purchase().with_occupation("会社員").build(&policy),
        Err(RecordError::MissingItems(vec![RecordItem::Age]))
    );
}

#[test]
fn a_one_off_contract_gets_its_retention_day_at_once() {
    let policy = Policy::standard();
    let record = aml_jpki().with_contract_ended(date!(2026 - 05 - 01)).build(&policy).unwrap();
    assert_eq!(record.retain_until(), RetainUntil::Date { until: date!(2033 - 05 - 01) });
    assert_eq!(aml_jpki().with_contract_ended(date!(2026 - 04 - 30)).build(&policy), Err(RecordError::ContractEnd));
    // A record kept from the transaction has no contract end to set.
    let login = VerificationRecord::builder(Law::AmlAct, Transaction::Login, Method::JpkiUserAuthentication, CHECKED)
        .with_evidence_id("ev")
        .with_prior_record("rec")
        .build(&policy)
        .unwrap();
    assert_eq!(login.contract_ended(date!(2027 - 01 - 01)), Err(RecordError::ContractEnd));
}

#[test]
fn decisions_serialise_for_pages_and_logs() {
    let d = Policy::standard().decide(Law::AmlAct, Transaction::AccountOpening, Method::ImageUpload, AFTER);
    let json = serde_json::to_value(&d).unwrap();
    assert_eq!(json["accepted"], false);
    assert_eq!(json["verdict"], serde_json::json!({"code": "abolished", "since": "2027-04-01"}));
    assert_eq!(json["on"], "2027-04-01");
    assert_eq!(json["retention"], serde_json::json!({"kind": "after_contract_ends", "years": 7}));
}

#[test]
fn the_readme_shows_the_table_of_the_code() {
    let readme = include_str!("../../README.md");
    let policy = Policy::standard();
    assert!(readme.contains(&policy.markdown_matrix()), "README matrix out of date:\n{}", policy.markdown_matrix());
    assert!(readme.contains(&policy.markdown_items()), "README items out of date:\n{}", policy.markdown_items());
}
