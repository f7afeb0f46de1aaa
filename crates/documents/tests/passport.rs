//! The passport end to end over [`Loopback`]: issue → read (BAC, PACE through a test shim, or
//! plain) → passive and active authentication, and each way it must fail (issue 12).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use hanko_card::{StatusWord, Transport, TransportError};
use hanko_documents::passport::{
    self, issue, lds, sample_holder, AccessControl, AccessUsed, Fid, PassportChip, PassportError, PassportIssuer,
    PassportReader, Password,
};
use hanko_documents::{AccessCode, CheckError, Chip, ChipCheck, DocumentKind, Loopback, Trust, TrustAnchors};
use rand_core::{OsRng, RngCore};
use time::macros::datetime;
use time::OffsetDateTime;
use zeroize::Zeroizing;

const NOW: OffsetDateTime = datetime!(2026-12-06 12:00 UTC);

fn issuer() -> PassportIssuer {
    PassportIssuer::generate("JP", NOW - time::Duration::days(30), &mut OsRng).unwrap()
}

fn trust(i: &PassportIssuer) -> TrustAnchors {
    TrustAnchors { cscas: vec![i.trust_anchor()], ..TrustAnchors::default() }
}

fn chip(i: &PassportIssuer, access: AccessControl) -> PassportChip {
    issue(&sample_holder(1), i, access, NOW - time::Duration::days(1)).unwrap()
}

fn check(chip: PassportChip, code: &AccessCode, trust: &TrustAnchors) -> Result<hanko_documents::Report, CheckError> {
    passport::check(&mut Loopback(chip), code, trust, NOW, &mut |_| {})
}

fn passport_err(e: CheckError) -> PassportError {
    match e {
        CheckError::Passport(p) => p,
        other => panic!("expected a passport error, got {other:?}"),
    }
}

#[test]
fn full_read_with_passive_and_active_authentication_via_bac() {
    let i = issuer();
    let holder = sample_holder(1);
    let mut steps = Vec::new();
    let report = passport::check(
        &mut Loopback(chip(&i, AccessControl::Bac)),
        &holder.access_code(),
        &trust(&i),
        NOW,
        &mut |p| steps.push((p.step.to_owned(), p.done, p.total)),
    )
    .unwrap();
    assert_eq!(report.kind, DocumentKind::Passport);
    assert_eq!(report.field("surname").unwrap().value, "MIHON");
    assert_eq!(report.field("given_names").unwrap().value, "TARO");
    assert_eq!(report.field("document_number").unwrap().value, "TS0000001");
    assert_eq!(report.field("birth_date").unwrap().value, "1991-04-01");
    assert_eq!(report.field("expiry_date").unwrap().value, "2035-03-31");
    assert_eq!(report.field("issuing_state").unwrap().value, "JPN");
    for key in ["surname", "given_names", "document_number", "birth_date", "sex", "expiry_date", "nationality"] {
        assert_eq!(report.field(key).unwrap().trust, Trust::Signed, "{key}");
    }
    assert!(matches!(report.field("address_note").unwrap().trust, Trust::Unsigned { .. }));
    let photo = report.photo.as_ref().unwrap();
    assert_eq!((photo.bytes.as_slice(), &photo.trust), (hanko_card::SYNTHETIC_PORTRAIT_JP2, &Trust::Signed));
    assert!(matches!(&report.chip, ChipCheck::Proven { method } if method.contains("ECDSA")));
    assert!(report.issuer.signer.contains("DS TEST"), "{}", report.issuer.signer);
    assert!(report.issuer.method.contains("CSCA TEST") && report.issuer.method.contains("BAC"));
    // DG2 arrives in several chunks, each reported.
    let dg2: Vec<_> = steps.iter().filter(|s| s.0.starts_with("DG2")).collect();
    assert!(dg2.len() >= 5, "{dg2:?}");
    assert_eq!(dg2.last().unwrap().1, dg2.last().unwrap().2.unwrap());
}

#[test]
fn a_big_dg2_reads_beyond_offset_32767_with_b1() {
    struct Count<T>(T, usize);
    impl<T: Transport> Transport for Count<T> {
        fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
            self.1 += usize::from(apdu.get(1) == Some(&0xB1));
            self.0.transmit(apdu)
        }
    }
    let i = issuer();
    let mut holder = sample_holder(2);
    holder.face.image.resize(40_000, 0);
    let chip = issue(&holder, &i, AccessControl::Bac, NOW).unwrap();
    let mut t = Count(Loopback(chip), 0);
    let report = passport::check(&mut t, &holder.access_code(), &trust(&i), NOW, &mut |_| {}).unwrap();
    assert_eq!(report.photo.unwrap().bytes.len(), 40_000);
    assert!(t.1 > 10, "B1 used {} times", t.1);
}

#[test]
fn pace_only_answers_6a88_to_bac() {
    let i = issuer();
    let mut c = chip(&i, AccessControl::PaceOnly);
    assert_eq!(c.process(&[0x00, 0xA4, 0x04, 0x0C, 0x07, 0xA0, 0, 0, 0x02, 0x47, 0x10, 0x01]), [0x90, 0x00]);
    assert_eq!(c.process(&[0x00, 0x84, 0x00, 0x00, 0x08]), [0x6A, 0x88]);
    let mut ma = vec![0x00, 0x82, 0x00, 0x00, 0x28];
    ma.extend([0u8; 40]);
    ma.push(0x28);
    assert_eq!(c.process(&ma), [0x6A, 0x88]);
    // EF.CardAccess announces PACE and reads in plain; the rest does not.
    assert_eq!(c.process(&[0x00, 0xA4, 0x02, 0x0C, 0x02, 0x01, 0x1C]), [0x90, 0x00]);
    assert_eq!(c.process(&[0x00, 0xA4, 0x02, 0x0C, 0x02, 0x01, 0x1E]), [0x69, 0x82]);
    // The counter check goes through PACE when it is built in; without a PACE engine the reader
    // tries BAC (allowed for BAC+PACE chips) and reports the chip's 6A 88 as "PACE-only".
    match check(c, &sample_holder(1).access_code(), &trust(&i)) {
        Ok(report) => assert!(report.issuer.method.contains("PACE"), "{}", report.issuer.method),
        Err(e) => assert!(matches!(passport_err(e), PassportError::PaceOnly(StatusWord(0x6A88)))),
    }
}

#[test]
fn a_flipped_mac_ends_the_secure_messaging_session() {
    use hanko_documents::passport::bac::{establish, BacKeys};
    use hanko_documents::passport::sm::{SecureChannel, SmError};
    let i = issuer();
    let info = lds::mrz_information("TS0000001", "910401", "350331").unwrap();
    let mut t = Loopback(chip(&i, AccessControl::Bac));
    let select = [0x00, 0xA4, 0x04, 0x0C, 0x07, 0xA0, 0, 0, 0x02, 0x47, 0x10, 0x01];
    assert_eq!(t.transmit(&select).unwrap(), [0x90, 0x00]);
    let mut sm = SecureChannel::new(establish(&mut t, &BacKeys::from_mrz_information(&info), &mut OsRng).unwrap());
    let select = hanko_card::Command::parse(&select).unwrap();
    let wire = sm.protect(&select).unwrap();
    assert_eq!(sm.unprotect_response(&t.transmit(&wire).unwrap()).unwrap().sw, StatusWord::SUCCESS);
    let mut wire = sm.protect(&select).unwrap();
    let n = wire.len();
    wire[n - 2] ^= 0x80; // the last MAC byte (before Le)
    let answer = t.transmit(&wire).unwrap();
    assert_eq!(answer, [0x69, 0x88]);
    assert_eq!(sm.unprotect_response(&answer), Err(SmError::Plain(StatusWord(0x6988))));
    assert!(sm.is_closed());
    // The chip forgot the keys: a command protected under them is refused, and EFs do not
    // read in plain.
    let mut fresh = SecureChannel::new(
        establish(&mut Loopback(chip(&i, AccessControl::Bac)), &BacKeys::from_mrz_information(&info), &mut OsRng)
            .unwrap(),
    );
    let wire = fresh.protect(&select).unwrap();
    assert_ne!(t.transmit(&wire).unwrap(), [0x90, 0x00]);
    assert_eq!(t.transmit(&[0x00, 0xA4, 0x02, 0x0C, 0x02, 0x01, 0x1E]).unwrap(), [0x69, 0x82]);
}

#[test]
fn a_tampered_data_group_fails_naming_it() {
    let i = issuer();
    let mut c = chip(&i, AccessControl::Bac);
    let mut dg2 = c.file(Fid::dg(2)).unwrap().to_vec();
    let n = dg2.len();
    dg2[n - 10] ^= 0xFF;
    c.replace_file(Fid::dg(2), dg2);
    let e = passport_err(check(c, &sample_holder(1).access_code(), &trust(&i)).unwrap_err());
    assert!(matches!(e, PassportError::HashMismatch { dg: 2 }), "{e:?}");
    assert!(e.to_string().contains("DG2"));
}

/// Review finding H3: EF.COM is not signed; leaving DG15 (or DG2) out of it must not drop active
/// authentication (or the photo) while the SOD lists the group.
#[test]
fn leaving_a_data_group_out_of_ef_com_fails_when_the_sod_lists_it() {
    let i = issuer();
    for (dropped, kept) in [(15u8, [0x61u8, 0x75, 0x6E]), (2, [0x61, 0x6E, 0x6F])] {
        let mut c = chip(&i, AccessControl::Bac);
        c.replace_file(Fid::COM, hanko_documents::passport::lds::encode_com(&kept));
        let e = passport_err(check(c, &sample_holder(1).access_code(), &trust(&i)).unwrap_err());
        assert!(matches!(e, PassportError::NotRead { dg } if dg == dropped), "{e:?}");
    }
}

#[test]
fn a_dsc_under_another_csca_fails_the_chain() {
    let (i, other) = (issuer(), issuer());
    let e =
        passport_err(check(chip(&i, AccessControl::Bac), &sample_holder(1).access_code(), &trust(&other)).unwrap_err());
    assert!(matches!(e, PassportError::ChainBroken { .. }), "{e:?}");
}

#[test]
fn a_dsc_expired_at_signing_time_fails() {
    let i = PassportIssuer::generate_with_validity(
        "JP",
        (datetime!(2020-01-01 0:00 UTC), datetime!(2035-01-01 0:00 UTC)),
        (datetime!(2020-01-01 0:00 UTC), datetime!(2021-01-01 0:00 UTC)),
        &mut OsRng,
    )
    .unwrap();
    let c = issue(&sample_holder(1), &i, AccessControl::Bac, datetime!(2026-01-01 0:00 UTC)).unwrap();
    let e = passport_err(check(c, &sample_holder(1).access_code(), &trust(&i)).unwrap_err());
    assert!(matches!(e, PassportError::NotValidAtSigning { what: "DSC", .. }), "{e:?}");
}

#[test]
fn a_wrong_mrz_is_a_wrong_access_code() {
    let i = issuer();
    let code = AccessCode::Mrz { document_number: "TS0000001".into(), birth: "910402".into(), expiry: "350331".into() };
    let e = check(chip(&i, AccessControl::Bac), &code, &trust(&i)).unwrap_err();
    assert!(matches!(e, CheckError::WrongAccessCode { tries_left: None, .. }), "{e:?}");
}

#[test]
fn dg1_must_match_the_mrz_typed() {
    // A chip without access control reads whatever MRZ is typed: DG1 is compared with it.
    let i = issuer();
    let code = sample_holder(2).access_code();
    let e = passport_err(check(chip(&i, AccessControl::None), &code, &trust(&i)).unwrap_err());
    assert!(matches!(e, PassportError::Dg1Mismatch { field: "document number" }), "{e:?}");
    // And with the right one it reads in plain and verifies.
    let r = check(chip(&i, AccessControl::None), &sample_holder(1).access_code(), &trust(&i)).unwrap();
    assert!(r.issuer.method.contains("no access control"));
}

#[test]
fn the_issuer_round_trips_through_der() {
    let i = issuer();
    let back = PassportIssuer::from_der(&i.to_der().unwrap()).unwrap();
    assert_eq!(back.trust_anchor(), i.trust_anchor());
    let c = issue(&sample_holder(3), &back, AccessControl::Bac, NOW).unwrap();
    check(c, &sample_holder(3).access_code(), &trust(&i)).unwrap();
}

/// PACE-GM with the built-in engine (`pace.rs`): a PACE-only chip read with its CAN and with
/// the MRZ, a BAC-and-PACE chip read by PACE, the data groups over AES secure messaging, passive
/// and active authentication; a wrong CAN is a wrong access code.
#[test]
fn pace_gm_with_the_built_in_engine() {
    let i = issuer();
    let holder = sample_holder(1);
    let can = AccessCode::Can(Zeroizing::new(holder.can.clone().unwrap()));
    for (access, code) in [
        (AccessControl::PaceOnly, &can),
        (AccessControl::PaceOnly, &holder.access_code()),
        (AccessControl::BacAndPace, &holder.access_code()),
    ] {
        let report = check(chip(&i, access), code, &trust(&i)).unwrap();
        assert!(report.issuer.method.contains("PACE"), "{}", report.issuer.method);
        assert!(matches!(report.chip, ChipCheck::Proven { .. }), "{:?}", report.chip);
    }
    // The reader's own API: PACE, then every data group and AA's INTERNAL AUTHENTICATE over AES SM.
    let mut t = Loopback(chip(&i, AccessControl::PaceOnly));
    let mut r = PassportReader::open(&mut t, Password::Can(holder.can.as_deref().unwrap()), &mut OsRng).unwrap();
    assert_eq!(r.access(), AccessUsed::Pace);
    let files = r.read_all(&mut |_| {}).unwrap();
    let pa = passport::verify::passive_authentication(&files, &[i.trust_anchor()], NOW).unwrap();
    assert_eq!(pa.groups, [1, 2, 14, 15]);
    let mut challenge = [0u8; 8];
    OsRng.fill_bytes(&mut challenge);
    let sig = r.internal_authenticate(&challenge).unwrap();
    passport::verify::verify_active_authentication(files.group(15).unwrap(), files.group(14), &challenge, &sig)
        .unwrap();

    let wrong = AccessCode::Can(Zeroizing::new("000000".into()));
    let e = check(chip(&i, AccessControl::PaceOnly), &wrong, &trust(&i)).unwrap_err();
    assert!(matches!(e, CheckError::WrongAccessCode { tries_left: None, .. }), "{e:?}");
}

/// A chip (or a relay) that hides EF.CardAccess pushes the reader down to BAC: DG14, signed, still
/// lists the chip's PACE, so the check refuses the read.
#[test]
fn hiding_ef_card_access_to_force_bac_is_a_pace_downgrade() {
    struct HideCardAccess<T>(T);
    impl<T: Transport> Transport for HideCardAccess<T> {
        fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
            if apdu.starts_with(&[0x00, 0xA4, 0x02, 0x0C, 0x02, 0x01, 0x1C]) {
                return Ok(vec![0x6A, 0x82]);
            }
            self.0.transmit(apdu)
        }
    }
    let i = issuer();
    let holder = sample_holder(1);
    let mut t = HideCardAccess(Loopback(chip(&i, AccessControl::BacAndPace)));
    let e = passport::check(&mut t, &holder.access_code(), &trust(&i), NOW, &mut |_| {}).unwrap_err();
    assert!(matches!(passport_err(e), PassportError::PaceDowngrade(_)));
    // EF.CardAccess announcing other PACE than DG14 lists is caught the same way.
    let mut other = chip(&i, AccessControl::BacAndPace);
    let info = lds::SecurityInfo::pace(lds::ID_PACE_ECDH_GM_AES_128, 13).unwrap();
    other.replace_file(Fid::CARD_ACCESS, lds::encode_security_infos(&[info]).unwrap());
    let e = check(other, &holder.access_code(), &trust(&i)).unwrap_err();
    assert!(matches!(passport_err(e), PassportError::PaceDowngrade(_)));
    // A variant the reader does not run, listed before the one it does (EF.CardAccess is a DER
    // SET: DH-GM sorts first): the reader takes the one it runs.
    let mut both = chip(&i, AccessControl::BacAndPace);
    let dh = lds::SecurityInfo::pace(der::asn1::ObjectIdentifier::new_unwrap("0.4.0.127.0.7.2.2.4.1.2"), 0).unwrap();
    let ecdh = lds::SecurityInfo::pace(lds::ID_PACE_ECDH_GM_AES_128, 12).unwrap();
    both.replace_file(Fid::CARD_ACCESS, lds::encode_security_infos(&[ecdh, dh]).unwrap());
    let report = check(both, &holder.access_code(), &trust(&i)).unwrap();
    assert!(report.issuer.method.contains("PACE"), "{}", report.issuer.method);
    // A BAC-only chip (no PACE in DG14) is read by BAC as before.
    let report = check(chip(&i, AccessControl::Bac), &holder.access_code(), &trust(&i)).unwrap();
    assert!(report.issuer.method.contains("BAC"), "{}", report.issuer.method);
}
