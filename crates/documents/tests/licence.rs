//! The driver's licence in process over `Loopback`: issue, read, verify; the PINs and their
//! countdown, both VERIFY forms, the `****` default; tampering, another police key; access
//! rules; the persisted retry counter (shared/spec/40-id-documents.md §1).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use hanko_card::{Response, StatusWord, Transport};
use hanko_documents::licence::{
    self, issue, read_licence, sample_holder, LicenceChip, LicenceError, LicencePins, PinId, PoliceIssuer,
    SANDBOX_SIGNER_NAME,
};
use hanko_documents::{
    check, AccessCode, CheckError, ChipCheck, DocumentChip, DocumentKind, Loopback, Trust, TrustAnchors,
};
use time::{Date, Month, OffsetDateTime};
use zeroize::Zeroizing;

fn police() -> PoliceIssuer {
    PoliceIssuer::generate(SANDBOX_SIGNER_NAME).unwrap()
}

fn chip(n: u32, issuer: &PoliceIssuer) -> LicenceChip {
    let issued = Date::from_calendar_date(2024, Month::June, 1).unwrap();
    issue(&sample_holder(n), issuer, issued, &mut rand_core::OsRng).unwrap()
}

fn trust(issuer: &PoliceIssuer) -> TrustAnchors {
    TrustAnchors { police_keys: vec![issuer.trust_anchor().unwrap()], ..TrustAnchors::default() }
}

fn pins(p1: &str, p2: &str) -> AccessCode {
    AccessCode::LicencePins { pin1: Zeroizing::new(p1.to_owned()), pin2: Zeroizing::new(p2.to_owned()) }
}

fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_780_000_000).unwrap() // 2026-05-28
}

fn run(c: &mut LicenceChip, code: &AccessCode, t: &TrustAnchors) -> Result<hanko_documents::Report, CheckError> {
    let mut steps = Vec::new();
    let r =
        over(c, |lb| check(DocumentKind::DriverLicence, lb, code, t, now(), &mut |p| steps.push(p.step.to_owned())));
    if r.is_ok() {
        assert!(steps.iter().any(|s| s == "DF2/EF01") && steps.iter().any(|s| s.starts_with("signature")), "{steps:?}");
    }
    r
}

/// Runs `f` over a `Loopback` of the chip and keeps the chip's state afterwards.
fn over<T>(c: &mut LicenceChip, f: impl FnOnce(&mut dyn Transport) -> T) -> T {
    let mut lb = Loopback(c.clone());
    let out = f(&mut lb);
    *c = lb.0;
    out
}

fn apdu(c: &mut LicenceChip, hex_apdu: &str) -> Response {
    let raw = hex::decode(hex_apdu.replace(' ', "")).unwrap();
    Response::parse(&hanko_documents::Chip::process(c, &raw)).unwrap()
}

fn sw(c: &mut LicenceChip, hex_apdu: &str) -> StatusWord {
    apdu(c, hex_apdu).sw
}

const MF: &str = "00 A4 00 00";
const DF1: &str = "00 A4 04 0C 10 A0 00 00 02 31 01 00 00 00 00 00 00 00 00 00 00";
const DF2: &str = "00 A4 04 0C 10 A0 00 00 02 31 02 00 00 00 00 00 00 00 00 00 00";
const DF3: &str = "00 A4 04 0C 10 A0 00 00 02 48 03 00 00 00 00 00 00 00 00 00 00";
const PIN1: &str = "00 20 00 81 04 31 32 33 34";
const PIN2: &str = "00 20 00 82 04 35 36 37 38";

fn ef(n: u16) -> String {
    format!("00 A4 02 0C 02 {:02X} {:02X}", n >> 8, n & 0xFF)
}

#[test]
fn full_read_and_verify() {
    let police = police();
    let mut c = chip(0, &police);
    assert_eq!(hanko_documents::Chip::atr(&c)[..4], [0x3B, 0x88, 0x80, 0x01]);
    let report = run(&mut c, &pins("1234", "5678"), &trust(&police)).unwrap();
    assert_eq!(report.kind, DocumentKind::DriverLicence);
    let v = |k: &str| report.field(k).unwrap_or_else(|| panic!("no {k}: {report:?}"));
    assert_eq!(v("name").value, "見本　花子");
    assert_eq!(v("kana").value, "ミホン　ハナコ");
    assert_eq!(v("birth_date").value, "1990-05-15");
    assert_eq!(v("address").value, "東京都千代田区見本町一丁目〓番地", "the 外字 reference shows as 〓");
    assert_eq!(v("honseki").value, "見本県見本市見本町一番地");
    assert_eq!(v("issue_date").value, "2024-06-01");
    assert_eq!(v("expiry").value, "2029-06-15");
    assert_eq!(v("validity").value, "valid");
    assert_eq!(v("colour").value, "優良");
    assert_eq!(v("condition_1").value, "眼鏡等");
    assert_eq!(v("commission").value, "見本県公安委員会");
    assert_eq!(v("licence_number").value, "990012345670");
    assert_eq!(v("class_ordinary").value, "2012-04-02");
    assert!(report.field("class_large").is_none(), "a class not held (000000) is not listed");
    for f in report.fields.iter().filter(|f| !f.key.contains("change") && !f.key.starts_with("ef07_")) {
        if f.key == "validity" {
            assert!(matches!(&f.trust, Trust::Unsigned { .. }), "computed with the counter's clock: {f:?}");
        } else {
            assert_eq!(f.trust, Trust::Signed, "{f:?}");
        }
    }
    // The change entries: read, shown, not signed.
    let change = v("change");
    assert!(change.value.contains("東京都港区見本二丁目三番四号"), "{change:?}");
    assert!(matches!(&change.trust, Trust::Unsigned { why } if why.contains("not covered")));
    let photo = report.photo.as_ref().unwrap();
    assert_eq!(photo.bytes, hanko_card::SYNTHETIC_PORTRAIT_JP2);
    assert_eq!(photo.trust, Trust::Signed);
    assert!(report.issuer.signer.contains("JPKI-TEST") && report.issuer.signer.contains("TEST"));
    assert!(report.issuer.method.contains(&hex::encode_upper(police.ski())));
    assert!(matches!(&report.chip, ChipCheck::NotProven { why } if why.contains("no chip authentication")));

    // The typed reader and verifier directly.
    hanko_documents::Chip::reset(&mut c);
    let lp = LicencePins { pin1: Zeroizing::new("1234".into()), pin2: Zeroizing::new("5678".into()) };
    let data = over(&mut c, |lb| read_licence(lb, &lp, &mut |_| {})).unwrap();
    assert!(data.pins_set);
    assert_eq!(data.entries.classes.iter().filter(|d| d.date().is_some()).count(), 3);
    assert_eq!(data.gaiji.len(), 1);
    assert_eq!(data.signature.signature.len(), 256);
    assert_eq!(data.signed.entries.len(), 880);
    let verified = licence::verify(&data, &trust(&police)).unwrap();
    assert_eq!(verified.key_name, SANDBOX_SIGNER_NAME);
    // Debug never shows PINs or data.
    assert!(!format!("{lp:?}{c:?}").contains("1234"));
}

#[test]
fn pin_countdown_to_blocked_and_both_verify_forms() {
    let police = police();
    let t = trust(&police);
    let mut c = chip(0, &police);
    // Wrong PIN1: 2, 1, then blocked.
    assert!(matches!(
        run(&mut c, &pins("0000", "5678"), &t),
        Err(CheckError::WrongAccessCode { tries_left: Some(2), .. })
    ));
    assert!(matches!(
        run(&mut c, &pins("0000", "5678"), &t),
        Err(CheckError::WrongAccessCode { tries_left: Some(1), .. })
    ));
    assert!(matches!(run(&mut c, &pins("0000", "5678"), &t), Err(CheckError::Blocked(m)) if m.contains("PIN1")));
    assert_eq!(c.tries_left(), [0, 3]);
    // Blocked: the right PIN does not open it, and no try is spent asking.
    assert!(matches!(run(&mut c, &pins("1234", "5678"), &t), Err(CheckError::Blocked(_))));
    assert_eq!(sw(&mut c, PIN1), StatusWord::PIN_BLOCKED);
    assert_eq!(sw(&mut c, "00 20 00 81"), StatusWord(0x63C0));
    let lp = LicencePins { pin1: Zeroizing::new("1234".into()), pin2: Zeroizing::new("5678".into()) };
    assert!(matches!(
        over(&mut c, |lb| read_licence(lb, &lp, &mut |_| {})),
        Err(LicenceError::Blocked { which: PinId::Pin1 })
    ));

    // The typed error names the PIN and the tries.
    let mut c = chip(0, &police);
    let lp = LicencePins { pin1: Zeroizing::new("1234".into()), pin2: Zeroizing::new("9999".into()) };
    let e = over(&mut c, |lb| read_licence(lb, &lp, &mut |_| {})).unwrap_err();
    assert!(matches!(e, LicenceError::WrongPin { which: PinId::Pin2, tries_left: 2 }), "{e}");
    assert!(e.to_string().contains("PIN2") && e.to_string().contains("2 tries left"));

    // Both VERIFY forms share one counter: P2 81/82, and IEF 0001/0002 selected then P2 80.
    let mut c = chip(0, &police);
    assert_eq!(sw(&mut c, MF), StatusWord::SUCCESS);
    assert_eq!(sw(&mut c, "00 20 00 80 04 31 32 33 34"), StatusWord::COMMAND_NOT_ALLOWED, "P2 80 needs the IEF");
    assert_eq!(sw(&mut c, &ef(1)), StatusWord::SUCCESS);
    assert_eq!(sw(&mut c, "00 20 00 80"), StatusWord(0x63C3), "case 1: tries left, none spent");
    assert_eq!(sw(&mut c, "00 20 00 80 04 39 39 39 39"), StatusWord(0x63C2));
    assert_eq!(sw(&mut c, "00 20 00 81"), StatusWord(0x63C2), "the same counter by P2 81");
    assert_eq!(sw(&mut c, "00 20 00 80 04 31 32 33 34"), StatusWord::SUCCESS);
    assert_eq!(sw(&mut c, "00 20 00 81"), StatusWord(0x63C3), "a match restores the tries");
    assert_eq!(sw(&mut c, &ef(2)), StatusWord::SUCCESS);
    assert_eq!(sw(&mut c, "00 20 00 80 04 35 36 37 38"), StatusWord::SUCCESS);
    assert_eq!(sw(&mut c, "00 20 00 80 03 35 36 37"), StatusWord::WRONG_LENGTH);
    assert_eq!(c.tries_left(), [3, 3]);
    // Both PINs verified under the MF: DF1 and DF2 open (the PINs stay verified across DF selects).
    assert_eq!(sw(&mut c, DF2), StatusWord::SUCCESS);
    assert_eq!(sw(&mut c, &ef(1)), StatusWord::SUCCESS);
    assert_eq!(sw(&mut c, "00 B0 00 00 04").0, 0x9000);
    // Reset clears them.
    hanko_documents::Chip::reset(&mut c);
    assert_eq!(sw(&mut c, DF2), StatusWord::SUCCESS);
    assert_eq!(sw(&mut c, &ef(1)), StatusWord::SUCCESS);
    assert_eq!(sw(&mut c, "00 B0 00 00 04"), StatusWord::SECURITY_STATUS_NOT_SATISFIED);
}

#[test]
fn default_pin_when_the_flag_says_unset() {
    let police = police();
    let mut c = chip(1, &police);
    assert_eq!(sw(&mut c, MF), StatusWord::SUCCESS);
    assert_eq!(sw(&mut c, &ef(0x000A)), StatusWord::SUCCESS);
    let flag = apdu(&mut c, "00 B0 00 00 03");
    assert_eq!(flag.data[2], 0x00, "flag: no PIN set");
    // The holder set none: `****` opens both; the counter's input is ignored.
    let report = run(&mut c, &pins("0000", "1111"), &trust(&police)).unwrap();
    assert_eq!(report.field("name").unwrap().value, "見本　太郎");
    assert!(report.field("change").is_none());
    assert_eq!(c.tries_left(), [3, 3]);
    assert_eq!(sw(&mut c, "00 20 00 81 04 2A 2A 2A 2A"), StatusWord::SUCCESS);
    assert_eq!(sw(&mut c, "00 20 00 82 04 2A 2A 2A 2A"), StatusWord::SUCCESS);
}

#[test]
fn tampered_files_fail_naming_the_file() {
    let police = police();
    let t = trust(&police);
    for (file, offset) in [("DF1/EF01", 8), ("DF1/EF01", 870), ("DF1/EF02", 3), ("DF2/EF01", 100)] {
        let mut c = chip(0, &police);
        assert!(c.tamper(file, offset));
        match run(&mut c, &pins("1234", "5678"), &t) {
            Err(CheckError::Licence(LicenceError::Tampered { files })) => assert_eq!(files, vec![file]),
            other => panic!("{file}@{offset}: {other:?}"),
        }
    }
    // A changed signature value: the files match their record, the signature does not.
    let mut c = chip(0, &police);
    assert!(c.tamper("DF1/EF07", 10));
    let e = run(&mut c, &pins("1234", "5678"), &t).unwrap_err();
    assert!(matches!(e, CheckError::Licence(LicenceError::BadSignature { .. })), "{e}");
    // Broken structure is a parse error naming the file.
    let mut c = chip(0, &police);
    assert!(c.replace_file("DF1/EF01", vec![0x12, 0x40, 0x30]));
    let e = run(&mut c, &pins("1234", "5678"), &t).unwrap_err();
    assert!(e.to_string().contains("DF1/EF01"), "{e}");
    // An unknown crypto function id is refused by name.
    let mut c = chip(0, &police);
    let mut common = hanko_documents::licence::files::CommonData::parse(&{
        let _ = sw(&mut c, MF);
        let _ = sw(&mut c, &ef(0x2F01));
        apdu(&mut c, "00 B0 00 00 00").data
    })
    .unwrap();
    common.crypto = hanko_documents::licence::CryptoFunction(0x7F);
    assert!(c.replace_file("MF/EF01", common.encode()));
    let e = run(&mut c, &pins("1234", "5678"), &t).unwrap_err();
    assert!(matches!(e, CheckError::Licence(LicenceError::UnknownCryptoFunction(0x7F))), "{e}");
}

#[test]
fn another_police_key_fails() {
    let police = police();
    let other = PoliceIssuer::generate("JPKI-TEST 別の公安委員会 TEST").unwrap();
    assert!(PoliceIssuer::generate("公安委員会").is_err(), "sandbox names carry JPKI-TEST / TEST");
    let t = trust(&police);
    let mut c = chip(0, &other);
    let e = run(&mut c, &pins("1234", "5678"), &t).unwrap_err();
    assert!(
        matches!(&e, CheckError::Licence(LicenceError::UnknownSigningKey { ski }) if *ski == hex::encode_upper(other.ski())),
        "{e}"
    );
    // Signed by the other key but naming the trusted key's SKI: the signature fails.
    hanko_documents::Chip::reset(&mut c);
    let lp = LicencePins { pin1: Zeroizing::new("1234".into()), pin2: Zeroizing::new("5678".into()) };
    let mut record = over(&mut c, |lb| read_licence(lb, &lp, &mut |_| {})).unwrap().signature;
    record.ski = police.ski();
    assert!(c.replace_file("DF1/EF07", record.encode()));
    hanko_documents::Chip::reset(&mut c);
    let e = run(&mut c, &pins("1234", "5678"), &t).unwrap_err();
    assert!(matches!(e, CheckError::Licence(LicenceError::BadSignature { .. })), "{e}");
    // The key round-trips through PKCS#8.
    let again = PoliceIssuer::from_pkcs8(&police.to_pkcs8().unwrap(), SANDBOX_SIGNER_NAME).unwrap();
    assert_eq!(again.trust_anchor().unwrap(), police.trust_anchor().unwrap());
    assert!(!format!("{police:?}").contains("PRIVATE"));
}

#[test]
fn every_access_rule_refuses_without_the_pin() {
    let police = police();
    let mut c = chip(0, &police);
    let read = |c: &mut LicenceChip| sw(c, "00 B0 00 00 01");
    // Free: MF/EF01, MF/EF02. Never readable: the IEFs.
    for (fid, want) in
        [(0x2F01, StatusWord::SUCCESS), (0x000A, StatusWord::SUCCESS), (0x0001, StatusWord::COMMAND_NOT_ALLOWED)]
    {
        assert_eq!(sw(&mut c, MF), StatusWord::SUCCESS);
        assert_eq!(sw(&mut c, &ef(fid)), StatusWord::SUCCESS);
        assert_eq!(read(&mut c), want, "MF/{fid:04X}");
    }
    // No PIN: every DF1 file and the photo refuse.
    let denied = StatusWord::SECURITY_STATUS_NOT_SATISFIED;
    assert_eq!(sw(&mut c, DF1), StatusWord::SUCCESS);
    for n in 1..=7 {
        assert_eq!(sw(&mut c, &ef(n)), StatusWord::SUCCESS);
        assert_eq!(read(&mut c), denied, "DF1/EF0{n} without PIN1");
    }
    assert_eq!(sw(&mut c, DF2), StatusWord::SUCCESS);
    assert_eq!(sw(&mut c, &ef(1)), StatusWord::SUCCESS);
    assert_eq!(read(&mut c), denied, "photo without PINs");
    // PIN1 only: EF01, 03, 04, 05, 07 open; 本籍 (EF02), its changes (EF06) and the photo need PIN2 too.
    assert_eq!(sw(&mut c, PIN1), StatusWord::SUCCESS);
    assert_eq!(sw(&mut c, DF1), StatusWord::SUCCESS);
    for (n, ok) in [(1, true), (2, false), (3, true), (4, true), (5, true), (6, false), (7, true)] {
        assert_eq!(sw(&mut c, &ef(n)), StatusWord::SUCCESS);
        assert_eq!(read(&mut c), if ok { StatusWord::SUCCESS } else { denied }, "DF1/EF0{n} with PIN1 only");
    }
    assert_eq!(sw(&mut c, DF2), StatusWord::SUCCESS);
    assert_eq!(sw(&mut c, &ef(1)), StatusWord::SUCCESS);
    assert_eq!(read(&mut c), denied);
    // PIN2 only (after a reset): still refused.
    hanko_documents::Chip::reset(&mut c);
    assert_eq!(sw(&mut c, PIN2), StatusWord::SUCCESS);
    assert_eq!(sw(&mut c, DF1), StatusWord::SUCCESS);
    assert_eq!(sw(&mut c, &ef(2)), StatusWord::SUCCESS);
    assert_eq!(read(&mut c), denied, "本籍 with PIN2 only");
    // Both: everything; a wrong VERIFY of PIN1 withdraws it.
    assert_eq!(sw(&mut c, PIN1), StatusWord::SUCCESS);
    assert_eq!(read(&mut c), StatusWord::SUCCESS);
    assert_eq!(sw(&mut c, "00 20 00 81 04 30 30 30 30"), StatusWord(0x63C2));
    assert_eq!(read(&mut c), denied);
    // Unknown files, DFs, instructions.
    assert_eq!(sw(&mut c, &ef(8)), StatusWord::FILE_NOT_FOUND);
    assert_eq!(sw(&mut c, DF3), StatusWord::SUCCESS);
    assert_eq!(sw(&mut c, &ef(1)), StatusWord::FILE_NOT_FOUND);
    assert_eq!(
        sw(&mut c, "00 A4 04 0C 10 A0 00 00 02 31 09 00 00 00 00 00 00 00 00 00 00"),
        StatusWord::FILE_NOT_FOUND
    );
    assert_eq!(sw(&mut c, "00 84 00 00 08"), StatusWord::INS_NOT_SUPPORTED);
    assert_eq!(sw(&mut c, "80 B0 00 00 01"), StatusWord::CLA_NOT_SUPPORTED);
    assert_eq!(sw(&mut c, "00 B0"), StatusWord::WRONG_LENGTH);
}

#[test]
fn reads_short_extended_and_past_the_end() {
    let police = police();
    let mut c = chip(0, &police);
    for cmd in [MF, PIN1, PIN2, DF1, &ef(1)] {
        assert_eq!(sw(&mut c, cmd), StatusWord::SUCCESS, "{cmd}");
    }
    let whole = apdu(&mut c, "00 B0 00 00 00 00 00");
    assert_eq!((whole.data.len(), whole.sw), (880, StatusWord::SUCCESS), "extended Le 0000: the whole file");
    assert_eq!(apdu(&mut c, "00 B0 00 00 00").data.len(), 256);
    let tail = apdu(&mut c, "00 B0 03 00 00");
    assert_eq!(tail.data, whole.data[768..]);
    assert_eq!(sw(&mut c, "00 B0 03 70 00"), StatusWord::WRONG_OFFSET, "offset 880: past the end");
    assert_eq!(sw(&mut c, "00 B0 7F FF 01"), StatusWord::WRONG_OFFSET);
    assert_eq!(sw(&mut c, "00 B0 81 00 01"), StatusWord::WRONG_P1P2);
    // AccessCode of another document.
    let e = run(&mut c, &AccessCode::CardNumber(Zeroizing::new("AA12345678BB".into())), &trust(&police)).unwrap_err();
    assert!(matches!(e, CheckError::WrongKindOfCode(_)));
}

#[test]
fn a_spent_try_is_persisted() {
    let police = police();
    let mut c = chip(0, &police);
    assert!(!hanko_documents::Chip::take_dirty(&mut c));
    assert_eq!(sw(&mut c, PIN1), StatusWord::SUCCESS);
    assert!(!hanko_documents::Chip::take_dirty(&mut c), "a first-try match changes nothing stored");
    assert_eq!(sw(&mut c, "00 20 00 81"), StatusWord(0x63C3));
    assert!(!hanko_documents::Chip::take_dirty(&mut c), "case 1 spends nothing");
    assert_eq!(sw(&mut c, "00 20 00 81 04 30 30 30 30"), StatusWord(0x63C2));
    assert!(hanko_documents::Chip::take_dirty(&mut c), "the spent try must be written before the answer leaves");
    // The image keeps the spent try; the volatile state does not survive.
    let image = serde_json::to_vec(&DocumentChip::Licence(c)).unwrap();
    let DocumentChip::Licence(mut back) = serde_json::from_slice::<DocumentChip>(&image).unwrap() else { panic!() };
    assert_eq!(back.tries_left(), [2, 3]);
    assert_eq!(sw(&mut back, "00 20 00 81"), StatusWord(0x63C2));
    assert_eq!(sw(&mut back, DF1), StatusWord::SUCCESS);
    assert_eq!(sw(&mut back, &ef(1)), StatusWord::SUCCESS);
    assert_eq!(sw(&mut back, "00 B0 00 00 01"), StatusWord::SECURITY_STATUS_NOT_SATISFIED);
    // A match after a spent try restores the counter, which is a change to persist.
    assert_eq!(sw(&mut back, PIN1), StatusWord::SUCCESS);
    assert!(hanko_documents::Chip::take_dirty(&mut back));
    assert_eq!(back.tries_left(), [3, 3]);
}

/// Review finding (signed concatenation without fixed lengths): EF07 signs DF1/EF01 ‖ DF1/EF02
/// ‖ DF2/EF01, so bytes moved from one file into the one before keep the message. The reader
/// and the verifier pin DF1/EF01 to 880 bytes and DF1/EF02 to 82 (the spec's sizes), which
/// fixes where each file starts.
#[test]
fn bytes_moved_between_signed_files_are_refused() {
    let police = police();
    let mut c = chip(0, &police);
    let lp = LicencePins { pin1: Zeroizing::new("1234".into()), pin2: Zeroizing::new("5678".into()) };
    let data = over(&mut c, |lb| read_licence(lb, &lp, &mut |_| {})).unwrap();
    assert_eq!((data.signed.entries.len(), data.signed.honseki.len()), (880, 82), "the emulator's sizes");
    // At the verifier: the head of the photo file moved to the end of DF1/EF02.
    let mut shifted = data.clone();
    let head: Vec<u8> = shifted.signed.photo.drain(..4).collect();
    shifted.signed.honseki.extend(head);
    let e = licence::verify(&shifted, &trust(&police)).unwrap_err();
    assert!(matches!(e, LicenceError::SignedFileSize { file: "DF1/EF02", len: 86, expected: 82 }), "{e:?}");
    assert!(e.to_string().contains("82"), "{e}");

    // Through a hostile chip: DF1/EF02 answers 本籍 followed by the whole photo file, and the
    // photo file keeps only a minimal JPEG 2000 stub.
    let ef02 = data.signed.honseki.clone();
    let photo = data.signed.photo.clone();
    assert!(c.replace_file("DF1/EF02", [ef02, photo].concat()));
    assert!(c.replace_file("DF2/EF01", vec![0x5F, 0x40, 0x02, 0xFF, 0x4F, 0xFF]));
    let e = run(&mut c, &pins("1234", "5678"), &trust(&police)).unwrap_err();
    assert!(
        matches!(&e, CheckError::Licence(LicenceError::SignedFileSize { file: "DF1/EF02", expected: 82, .. })),
        "{e:?}"
    );
}

/// Review finding (trust marks): EF07's B3/B4 names are not covered by the B1 signature, so the
/// signer shown is the trusted police key that verified it (chosen by SKI, by its configured
/// name); B3/B4, when shown, are unsigned fields; the validity computed with the counter's clock
/// is not marked signed.
#[test]
fn the_signer_shown_is_the_trusted_key_not_ef07s_unsigned_names() {
    let police = police();
    let mut c = chip(0, &police);
    let lp = LicencePins { pin1: Zeroizing::new("1234".into()), pin2: Zeroizing::new("5678".into()) };
    let data = over(&mut c, |lb| read_licence(lb, &lp, &mut |_| {})).unwrap();
    // Rewrite B3/B4: the B1 signature does not cover them, so it still verifies.
    let mut rec = data.signature.clone();
    rec.issuer = "偽の警察庁".into();
    rec.subject = "偽の公安委員会".into();
    assert!(c.replace_file("DF1/EF07", rec.encode()));
    let report = run(&mut c, &pins("1234", "5678"), &trust(&police)).unwrap();
    assert!(!report.issuer.signer.contains('偽') && !report.issuer.method.contains('偽'), "{:?}", report.issuer);
    assert!(report.issuer.signer.contains(SANDBOX_SIGNER_NAME), "{:?}", report.issuer);
    assert!(report.issuer.signer.contains(&hex::encode_upper(police.ski())), "{:?}", report.issuer);
    for f in report.fields.iter().filter(|f| f.value.contains('偽')) {
        assert!(matches!(&f.trust, Trust::Unsigned { why } if why.contains("B1")), "{f:?}");
    }
    let validity = report.field("validity").unwrap();
    assert!(matches!(&validity.trust, Trust::Unsigned { why } if why.contains("clock")), "{validity:?}");
    // Computed from signed data alone: stays signed.
    assert_eq!(report.field("gaiji").unwrap().trust, Trust::Signed);
}

/// Review finding: a wrong licence PIN names which PIN (暗証番号1 / 暗証番号2) and the tries
/// left, as data and in the message.
#[test]
fn a_wrong_pin_names_which_pin_and_the_tries_left() {
    let police = police();
    let t = trust(&police);
    let mut c = chip(0, &police);
    let e = run(&mut c, &pins("1234", "0000"), &t).unwrap_err();
    assert!(e.to_string().contains("暗証番号2") && e.to_string().contains("2 tries left"), "{e}");
    assert!(matches!(e, CheckError::WrongAccessCode { which: Some("暗証番号2"), tries_left: Some(2) }), "{e:?}");
    let e = run(&mut c, &pins("0000", "5678"), &t).unwrap_err();
    assert!(matches!(e, CheckError::WrongAccessCode { which: Some("暗証番号1"), tries_left: Some(2) }), "{e:?}");
    assert!(e.to_string().contains("暗証番号1") && e.to_string().contains("2 tries left"), "{e}");
    let lp = LicencePins { pin1: Zeroizing::new("1234".into()), pin2: Zeroizing::new("0000".into()) };
    let e = over(&mut c, |lb| read_licence(lb, &lp, &mut |_| {})).unwrap_err();
    assert!(matches!(e, LicenceError::WrongPin { which: PinId::Pin2, tries_left: 1 }), "{e:?}");
    assert!(e.to_string().contains("暗証番号2") && e.to_string().contains("1 tries left"), "{e}");
}
