//! The residence card end to end over `Loopback` (issue 12; shared/spec/40-id-documents.md §2):
//! the official test vectors through the emulator and the reader, read + verify, wrong
//! numbers without a limit, tampering, another issuer, secure-messaging errors, the under-16
//! variant, the special permanent resident certificate, serde round trips.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::OnceLock;

use hanko_card::{Transport, TransportError};
use hanko_documents::residence::{
    self, issue, read_residence_with, sample_holder, verify, CardNumber, Ef, ImmigrationIssuer, ResidenceChip,
    ResidenceError,
};
use hanko_documents::{
    AccessCode, CheckError, Chip, ChipCheck, DocumentChip, DocumentKind, Loopback, Trust, TrustAnchors,
};
use rand_core::RngCore;
use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

fn h(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_796_000_000).unwrap() // 2026-11
}

/// Bytes from a script, then zeros: the test hook for RND.ICC/K.ICC and RND.IFD/K.IFD.
struct Script(Vec<u8>, usize);

impl RngCore for Script {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0; 4];
        self.fill_bytes(&mut b);
        u32::from_be_bytes(b)
    }
    fn next_u64(&mut self) -> u64 {
        let mut b = [0; 8];
        self.fill_bytes(&mut b);
        u64::from_be_bytes(b)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for d in dest {
            *d = self.0.get(self.1).copied().unwrap_or(0);
            self.1 += 1;
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

fn issuer() -> &'static ImmigrationIssuer {
    static I: OnceLock<ImmigrationIssuer> = OnceLock::new();
    I.get_or_init(|| ImmigrationIssuer::generate(now() - Duration::days(30), &mut rand_core::OsRng).unwrap())
}

fn other_issuer() -> &'static ImmigrationIssuer {
    static I: OnceLock<ImmigrationIssuer> = OnceLock::new();
    I.get_or_init(|| ImmigrationIssuer::generate(now() - Duration::days(30), &mut rand_core::OsRng).unwrap())
}

fn trust() -> TrustAnchors {
    TrustAnchors { immigration_roots: vec![issuer().trust_anchor()], ..TrustAnchors::default() }
}

fn chip(n: u32) -> ResidenceChip {
    issue(&sample_holder(n), issuer()).unwrap()
}

fn code(s: &str) -> AccessCode {
    AccessCode::CardNumber(Zeroizing::new(s.to_owned()))
}

fn number(s: &str) -> CardNumber {
    CardNumber::parse(s).unwrap()
}

/// Records every exchange.
struct Recorder<T: Transport> {
    inner: T,
    log: Vec<(Vec<u8>, Vec<u8>)>,
}

impl<T: Transport> Transport for Recorder<T> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        let r = self.inner.transmit(apdu)?;
        self.log.push((apdu.to_vec(), r.clone()));
        Ok(r)
    }
}

/// Rewrites the response to the command that starts with `prefix`.
struct Tamper<T: Transport, F: FnMut(&mut Vec<u8>)> {
    inner: T,
    prefix: Vec<u8>,
    f: F,
}

impl<T: Transport, F: FnMut(&mut Vec<u8>)> Transport for Tamper<T, F> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        let mut r = self.inner.transmit(apdu)?;
        if apdu.starts_with(&self.prefix) {
            (self.f)(&mut r);
        }
        Ok(r)
    }
}

fn send(c: &mut ResidenceChip, apdu: &[u8]) -> Vec<u8> {
    c.process(apdu)
}

fn sw(r: &[u8]) -> u16 {
    u16::from_be_bytes([r[r.len() - 2], r[r.len() - 1]])
}

/// The official vectors byte for byte through the emulator (RND.ICC and K.ICC injected) and
/// the reader (RND.IFD and K.IFD injected): E_IFD ‖ M_IFD, E_ICC ‖ M_ICC, KSenc and the
/// encrypted card number on the wire.
#[test]
fn official_test_vectors_end_to_end() {
    let c =
        chip(0).with_rng(Box::new(Script([h("5A6E7E385162B7A3"), h("19D049490FFF52EEDBFCB930BC810ED0")].concat(), 0)));
    let mut t = Recorder { inner: Loopback(c), log: Vec::new() };
    let mut terminal = Script([h("1122334455667788"), h("404142434445464748494A4B4C4D4E4F")].concat(), 0);
    let record = read_residence_with(&mut t, &number("AA12345678BB"), &mut terminal, &mut |_| {}).unwrap();
    let find = |prefix: &[u8]| t.log.iter().find(|(c, _)| c.starts_with(prefix)).cloned().unwrap();
    let (cmd, resp) = find(&[0x00, 0x84]);
    assert_eq!(cmd, h("0084000008"));
    assert_eq!(resp, h("5A6E7E385162B7A39000"));
    let (cmd, resp) = find(&[0x00, 0x82]);
    assert_eq!(cmd, h("0082000028937745C20883A1BAD1E04193722A1592378F81A8F1DC589157AEB0F7544FA1BA1AD7FB6A3389E01700"));
    assert_eq!(resp, h("5860775B4D032CC564BA204B8EA868F694A74E7475A8FEF240588BDA1AF496CE59388FD6CD45248B9000"));
    let (cmd, resp) = find(&[0x08, 0x20]);
    assert_eq!(
        cmd,
        h("0820008613861101" /* ‖ */).into_iter().chain(h("1AA82973DB959A811F9711D728F0EEF6")).collect::<Vec<_>>()
    );
    assert_eq!(resp, h("9000"));
    // KSenc: the SM reads that followed decrypt under it.
    let ks = residence::sm::SessionKey::derive(
        &h("404142434445464748494A4B4C4D4E4F").try_into().unwrap(),
        &h("19D049490FFF52EEDBFCB930BC810ED0").try_into().unwrap(),
    );
    assert_eq!(ks.as_bytes().to_vec(), h("CE94938E19E3B97DF96EABCEDC1715CC"));
    let (_, resp) = find(&[0x08, 0xB0, 0x85]);
    let plain = ks.unwrap(&resp[..resp.len() - 2]).unwrap();
    assert_eq!(plain.len(), 7004);
    assert_eq!(&plain[4..], &record.front_image[..]);
}

#[test]
fn full_read_and_verify() {
    let mut steps = Vec::new();
    let report = residence::check(&mut Loopback(chip(0)), &code("AA12345678BB"), &trust(), now(), &mut |p| {
        steps.push(p.step.to_owned())
    })
    .unwrap();
    assert_eq!(report.kind, DocumentKind::ResidenceCard);
    assert_eq!(report.field("front_image").unwrap().trust, Trust::Signed);
    assert!(report.field("front_image").unwrap().label.contains("画像としてのみ"));
    assert!(matches!(report.field("address").unwrap().trust, Trust::Unsigned { .. }));
    assert!(matches!(report.field("permission_comprehensive").unwrap().trust, Trust::Unsigned { .. }));
    assert!(matches!(report.field("card_type").unwrap().trust, Trust::Unsigned { .. }));
    assert_eq!(report.field("card_type").unwrap().value, "在留カード");
    assert_eq!(report.field("address_written_on").unwrap().value, "2026-04-01");
    let photo = report.photo.as_ref().unwrap();
    assert_eq!(photo.trust, Trust::Signed);
    assert_eq!(&photo.bytes[..12], &[0, 0, 0, 0x0C, b'j', b'P', b' ', b' ', 0x0D, 0x0A, 0x87, 0x0A]);
    assert_eq!(photo.bytes, residence::SYNTHETIC_PHOTO_JP2);
    assert!(report.issuer.signer.contains("TEST Immigration Services Agency"));
    assert!(report.issuer.method.contains("without DigestInfo"));
    assert!(matches!(&report.chip, ChipCheck::NotProven { why } if why.contains("not that the chip is genuine")));
    assert!(steps.iter().any(|s| s == "front image") && steps.iter().any(|s| s == "verifying the signature"));
    // Through the common dispatcher and a DocumentChip too.
    let mut doc = Loopback(DocumentChip::Residence(chip(3)));
    let r = hanko_documents::check(
        DocumentKind::ResidenceCard,
        &mut doc,
        &code("ts00000003te"),
        &trust(),
        now(),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(r.kind, DocumentKind::ResidenceCard);
    // The typed record: the front image is an MMR TIFF, null padded to 7000 bytes.
    let rec = residence::read_residence(&mut Loopback(chip(0)), &number("AA12345678BB"), &mut |_| {}).unwrap();
    assert_eq!(rec.front_image.len(), 7000);
    assert_eq!(&rec.front_image[..4], b"II*\0");
    let v = verify(rec, &trust(), now()).unwrap();
    assert!(v.root().contains("Root CA"));
}

#[test]
fn wrong_number_answers_63_00_without_limit() {
    let mut c = Loopback(chip(0));
    for _ in 0..30 {
        let e = residence::check(&mut c, &code("AA12345678BC"), &trust(), now(), &mut |_| {}).unwrap_err();
        assert!(matches!(e, CheckError::WrongAccessCode { tries_left: None, .. }), "{e:?}");
    }
    // On the wire: 63 00 at MUTUAL AUTHENTICATE.
    let mut t = Recorder { inner: c, log: Vec::new() };
    let e = read_residence_with(&mut t, &number("ZZ00000000ZZ"), &mut rand_core::OsRng, &mut |_| {}).unwrap_err();
    assert!(matches!(e, ResidenceError::WrongCardNumber { step: "MUTUAL AUTHENTICATE" }));
    assert_eq!(t.log.last().unwrap().1, vec![0x63, 0x00]);
    // Still not blocked.
    residence::check(&mut t.inner, &code("AA12345678BB"), &trust(), now(), &mut |_| {}).unwrap();
    // Badly formed numbers are the caller's mistake.
    let e = residence::check(&mut t.inner, &code("AA1234"), &trust(), now(), &mut |_| {}).unwrap_err();
    assert!(matches!(e, CheckError::Residence(ResidenceError::BadCardNumber)));
    let e =
        residence::check(&mut t.inner, &AccessCode::Can(Zeroizing::new("123456".into())), &trust(), now(), &mut |_| {})
            .unwrap_err();
    assert!(matches!(e, CheckError::WrongKindOfCode(_)));
}

#[test]
fn a_wrong_number_at_verify_is_63_00_too() {
    // A terminal that authenticates with the right number but then VERIFYs another one.
    let mut c = chip(0);
    let keys = residence::sm::AuthKeys::derive(residence::sm::Suite::Gen1Tdes, &number("AA12345678BB"));
    assert_eq!(sw(&send(&mut c, &h("00A40000023F00"))), 0x9000);
    let r = send(&mut c, &h("0084000008"));
    let rnd_icc: [u8; 8] = r[..8].try_into().unwrap();
    let data = residence::sm::terminal_auth(&keys, &[1; 8], &rnd_icc, &[2; 16]);
    let r = send(&mut c, &[&h("0082000028")[..], &data, &[0]].concat());
    let ks = residence::sm::terminal_finish(&keys, &[1; 8], &rnd_icc, &[2; 16], &r[..r.len() - 2]).unwrap();
    for _ in 0..5 {
        let w = ks.wrap(b"AA12345678BC");
        assert_eq!(sw(&send(&mut c, &[&[0x08, 0x20, 0x00, 0x86, w.len() as u8][..], &w].concat())), 0x6300);
    }
    let w = ks.wrap(b"AA12345678BB");
    assert_eq!(sw(&send(&mut c, &[&[0x08, 0x20, 0x00, 0x86, w.len() as u8][..], &w].concat())), 0x9000);
}

#[test]
fn tampered_front_image_or_photo_fails_the_check_code() {
    for ef in [Ef::FrontImage, Ef::Photo] {
        let mut c = chip(0);
        c.file_mut(ef).unwrap()[200] ^= 0x01;
        let e = residence::check(&mut Loopback(c), &code("AA12345678BB"), &trust(), now(), &mut |_| {}).unwrap_err();
        assert!(matches!(e, CheckError::Residence(ResidenceError::BadCheckCode)), "{ef:?}: {e:?}");
        assert!(e.to_string().contains("front image or the photo was altered"));
    }
    // A change to the (unsigned) back side still verifies: it is reported unsigned.
    let mut c = chip(0);
    let a = c.file_mut(Ef::Address).unwrap();
    let moved = "大阪府見本市見本町1番".as_bytes();
    a[22..].fill(0);
    a[22..22 + moved.len()].copy_from_slice(moved);
    let r = residence::check(&mut Loopback(c), &code("AA12345678BB"), &trust(), now(), &mut |_| {}).unwrap();
    assert!(matches!(r.field("address").unwrap().trust, Trust::Unsigned { .. }));
    assert_eq!(r.field("address").unwrap().value, "大阪府見本市見本町1番");
    // A broken check code.
    let mut c = chip(0);
    c.file_mut(Ef::Signature).unwrap()[10] ^= 0x80;
    let e = residence::check(&mut Loopback(c), &code("AA12345678BB"), &trust(), now(), &mut |_| {}).unwrap_err();
    assert!(matches!(e, CheckError::Residence(ResidenceError::BadCheckCode)));
}

#[test]
fn another_issuer_fails_the_chain() {
    let c = issue(&sample_holder(0), other_issuer()).unwrap();
    let e = residence::check(&mut Loopback(c), &code("AA12345678BB"), &trust(), now(), &mut |_| {}).unwrap_err();
    assert!(
        matches!(
            e,
            CheckError::Residence(ResidenceError::UntrustedIssuer {
                why: "the trusted root of that name did not sign it",
                ..
            })
        ),
        "{e:?}"
    );
    let e =
        residence::check(&mut Loopback(chip(0)), &code("AA12345678BB"), &TrustAnchors::default(), now(), &mut |_| {})
            .unwrap_err();
    assert!(matches!(
        e,
        CheckError::Residence(ResidenceError::UntrustedIssuer { why: "no trusted immigration root of that name", .. })
    ));
    // Both roots trusted: the card of the other issuer verifies.
    let both = TrustAnchors {
        immigration_roots: vec![issuer().trust_anchor(), other_issuer().trust_anchor()],
        ..TrustAnchors::default()
    };
    let c = issue(&sample_holder(0), other_issuer()).unwrap();
    residence::check(&mut Loopback(c), &code("AA12345678BB"), &both, now(), &mut |_| {}).unwrap();
    // Expired.
    let later = now() + Duration::days(365 * 11);
    let e = residence::check(&mut Loopback(chip(0)), &code("AA12345678BB"), &trust(), later, &mut |_| {}).unwrap_err();
    assert!(matches!(e, CheckError::Residence(ResidenceError::CertificateNotValid { which: "signer", .. })), "{e:?}");
}

#[test]
fn secure_messaging_errors_end_the_session() {
    let mut c = chip(0);
    let keys = residence::sm::AuthKeys::derive(residence::sm::Suite::Gen1Tdes, &number("AA12345678BB"));
    // MUTUAL AUTHENTICATE with a bad MAC: 63 00 and the challenge is used up.
    let r = send(&mut c, &h("0084000008"));
    let rnd_icc: [u8; 8] = r[..8].try_into().unwrap();
    let mut data = residence::sm::terminal_auth(&keys, &[1; 8], &rnd_icc, &[2; 16]);
    data[39] ^= 1;
    assert_eq!(sw(&send(&mut c, &[&h("0082000028")[..], &data, &[0]].concat())), 0x6300);
    data[39] ^= 1;
    assert_eq!(sw(&send(&mut c, &[&h("0082000028")[..], &data, &[0]].concat())), 0x6985);
    // A session, then a VERIFY whose cryptogram was tampered with: 69 88, session gone.
    let r = send(&mut c, &h("0084000008"));
    let rnd_icc: [u8; 8] = r[..8].try_into().unwrap();
    let data = residence::sm::terminal_auth(&keys, &[1; 8], &rnd_icc, &[2; 16]);
    let r = send(&mut c, &[&h("0082000028")[..], &data, &[0]].concat());
    let ks = residence::sm::terminal_finish(&keys, &[1; 8], &rnd_icc, &[2; 16], &r[..r.len() - 2]).unwrap();
    assert!(c.session_open());
    let mut w = ks.wrap(b"AA12345678BB");
    w[2] = 0x02; // padding-content indicator
    assert_eq!(sw(&send(&mut c, &[&[0x08, 0x20, 0x00, 0x86, w.len() as u8][..], &w].concat())), 0x6988);
    assert!(!c.session_open());
    let w = ks.wrap(b"AA12345678BB");
    assert_eq!(sw(&send(&mut c, &[&[0x08, 0x20, 0x00, 0x86, w.len() as u8][..], &w].concat())), 0x6982);
    assert_eq!(sw(&send(&mut c, &h("00A4040C10D392F0004F0200000000000000000000"))), 0x9000);
    assert_eq!(
        sw(&send(&mut c, &h("08B0850000000496020000" /* ‖ Le */).into_iter().chain([0, 0]).collect::<Vec<_>>())),
        0x6982
    );
    // A malformed expected-length object also ends it.
    let r = send(&mut c, &h("0084000008"));
    let rnd_icc: [u8; 8] = r[..8].try_into().unwrap();
    let data = residence::sm::terminal_auth(&keys, &[1; 8], &rnd_icc, &[2; 16]);
    send(&mut c, &[&h("0082000028")[..], &data, &[0]].concat());
    assert!(c.session_open());
    assert_eq!(sw(&send(&mut c, &h("08B08500000004970200000000"))), 0x6988);
    assert!(!c.session_open());

    // The reader side: a response cryptogram cut short or with a wrong indicator is refused.
    for f in [
        |r: &mut Vec<u8>| {
            let n = r.len();
            r.remove(n - 3);
        },
        |r: &mut Vec<u8>| r[4] = 0x02,
    ] {
        let mut t = Tamper { inner: Loopback(chip(0)), prefix: vec![0x08, 0xB0, 0x85], f };
        let e = residence::read_residence(&mut t, &number("AA12345678BB"), &mut |_| {}).unwrap_err();
        assert!(matches!(e, ResidenceError::SecureMessaging { step: "READ BINARY DF1/EF01", .. }), "{e:?}");
    }
    // A chip whose mutual-authentication answer does not verify.
    let mut t = Tamper { inner: Loopback(chip(0)), prefix: vec![0x00, 0x82], f: |r: &mut Vec<u8>| r[35] ^= 1 };
    let e = residence::read_residence(&mut t, &number("AA12345678BB"), &mut |_| {}).unwrap_err();
    assert!(matches!(e, ResidenceError::SecureMessaging { step: "MUTUAL AUTHENTICATE", .. }), "{e:?}");
}

#[test]
fn access_rules_and_read_forms() {
    let mut c = chip(0);
    assert_eq!(c.atr(), residence::RESIDENCE_ATR.to_vec());
    assert_eq!(send(&mut c, &h("00A40000023F00")), h("9000"));
    // Free files, extended Le 00 00 = whole file, and short Le.
    assert_eq!(send(&mut c, &h("00B08B00000000")), h("C004303135309000"));
    let r = send(&mut c, &h("00B08A000003"));
    assert_eq!(r, h("C101319000"));
    // Offset read in the current EF.
    let r = send(&mut c, &h("00B0000201"));
    assert_eq!(r, h("319000"));
    // DF1 needs the card number (and SM).
    assert_eq!(sw(&send(&mut c, &h("00A4040C10D392F0004F0200000000000000000000"))), 0x9000);
    assert_eq!(sw(&send(&mut c, &h("00B08500000000"))), 0x6982);
    assert_eq!(sw(&send(&mut c, &h("00A4040C10D392F0004F0900000000000000000000"))), 0x6A82);
    assert_eq!(sw(&send(&mut c, &h("00CA000000"))), 0x6D00);
    assert_eq!(sw(&send(&mut c, &h("FFCA000000"))), 0x6E00);
    assert_eq!(sw(&send(&mut c, &h("0084000010"))), 0x6700);
    assert_eq!(sw(&send(&mut c, &h("00"))), 0x6700);
    // After authentication: 256-byte SM chunks by offset reassemble the whole file.
    let keys = residence::sm::AuthKeys::derive(residence::sm::Suite::Gen1Tdes, &number("AA12345678BB"));
    let r = send(&mut c, &h("0084000008"));
    let rnd_icc: [u8; 8] = r[..8].try_into().unwrap();
    let data = residence::sm::terminal_auth(&keys, &[1; 8], &rnd_icc, &[2; 16]);
    let r = send(&mut c, &[&h("0082000028")[..], &data, &[0]].concat());
    let ks = residence::sm::terminal_finish(&keys, &[1; 8], &rnd_icc, &[2; 16], &r[..r.len() - 2]).unwrap();
    let w = ks.wrap(b"AA12345678BB");
    assert_eq!(sw(&send(&mut c, &[&[0x08, 0x20, 0x00, 0x86, w.len() as u8][..], &w].concat())), 0x9000);
    assert_eq!(sw(&send(&mut c, &h("00B08500000000"))), 0x6982, "DF1 only under SM");
    let mut whole = Vec::new();
    loop {
        let (p1, p2) = if whole.is_empty() { (0x85, 0) } else { ((whole.len() >> 8) as u8, whole.len() as u8) };
        let r = send(&mut c, &[0x08, 0xB0, p1, p2, 0x00, 0x00, 0x04, 0x96, 0x02, 0x01, 0x00, 0x00, 0x00]);
        if sw(&r) != 0x9000 {
            break;
        }
        let chunk = ks.unwrap(&r[..r.len() - 2]).unwrap();
        whole.extend_from_slice(&chunk);
        if chunk.len() < 256 {
            break;
        }
    }
    assert_eq!(whole.len(), 7004);
    assert_eq!(&whole[..4], &[0xD0, 0x82, 0x1B, 0x58]);
    // DF2 plain after authentication.
    assert_eq!(sw(&send(&mut c, &h("00A4040C10D392F0004F0300000000000000000000"))), 0x9000);
    let r = send(&mut c, &h("00B08100000000"));
    assert_eq!(r.len(), 342 + 2);
    // Reset clears everything.
    c.reset();
    assert!(!c.session_open());
    assert_eq!(sw(&send(&mut c, &h("00A4040C10D392F0004F0300000000000000000000"))), 0x9000);
    assert_eq!(sw(&send(&mut c, &h("00B08100000000"))), 0x6982);
}

#[test]
fn under_16_has_no_photo_and_no_signature() {
    let r = residence::check(&mut Loopback(chip(2)), &code("TS00000002TE"), &trust(), now(), &mut |_| {}).unwrap();
    assert!(r.photo.is_none());
    assert!(matches!(r.field("front_image").unwrap().trust, Trust::Unsigned { .. }));
    assert!(r.issuer.method.starts_with("none"));
    let rec = residence::read_residence(&mut Loopback(chip(2)), &number("TS00000002TE"), &mut |_| {}).unwrap();
    assert!(rec.photo.is_none() && rec.signature.is_none());
    assert!(matches!(verify(rec, &trust(), now()), Err(ResidenceError::NoSignature)));
}

/// Review finding H2: a chip that answers "no such file" for the signature (DF3) but has a photo
/// is a forgery with its signature stripped — only under-16 cards lack both.
#[test]
fn a_card_with_a_photo_and_no_signature_is_refused() {
    struct NoDf3 {
        chip: Loopback<ResidenceChip>,
        in_df3: bool,
    }
    impl Transport for NoDf3 {
        fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, hanko_card::TransportError> {
            if apdu.get(1) == Some(&0xA4) {
                self.in_df3 = apdu.get(5..21) == Some(&residence::AID_DF3[..]);
            }
            if self.in_df3 && apdu.get(1) == Some(&0xB0) {
                return Ok(vec![0x6A, 0x82]);
            }
            self.chip.transmit(apdu)
        }
    }
    let mut t = NoDf3 { chip: Loopback(chip(0)), in_df3: false };
    let e = residence::check(&mut t, &code("AA12345678BB"), &trust(), now(), &mut |_| {}).unwrap_err();
    assert!(matches!(e, CheckError::Residence(ResidenceError::SignatureStripped)), "{e:?}");
}

#[test]
fn special_permanent_resident_certificate() {
    let r = residence::check(&mut Loopback(chip(1)), &code("TS00000001TE"), &trust(), now(), &mut |_| {}).unwrap();
    assert_eq!(r.field("card_type").unwrap().value, "特別永住者証明書");
    assert!(r.field("permission_comprehensive").is_none() && r.field("renewal_applied").is_none());
    assert_eq!(r.photo.unwrap().trust, Trust::Signed);
}

#[test]
fn serde_round_trips() {
    let c = DocumentChip::Residence(chip(0));
    let json = serde_json::to_string(&c).unwrap();
    assert!(!format!("{c:?}").contains("AA12345678BB"));
    let back: DocumentChip = serde_json::from_str(&json).unwrap();
    residence::check(&mut Loopback(back), &code("AA12345678BB"), &trust(), now(), &mut |_| {}).unwrap();
    let rec = residence::read_residence(&mut Loopback(chip(0)), &number("AA12345678BB"), &mut |_| {}).unwrap();
    let back: residence::ResidenceRecord = serde_json::from_str(&serde_json::to_string(&rec).unwrap()).unwrap();
    assert_eq!(back, rec);
    let r = residence::check(&mut Loopback(chip(0)), &code("AA12345678BB"), &trust(), now(), &mut |_| {}).unwrap();
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["fields"][1]["trust"], "signed");
    // The issuer through DER / PKCS#8.
    let der = issuer().to_der().unwrap();
    let again = ImmigrationIssuer::from_der(&der).unwrap();
    assert_eq!(again.trust_anchor(), issuer().trust_anchor());
    let c = issue(&sample_holder(6), &again).unwrap();
    residence::check(&mut Loopback(c), &code("TS00000006TE"), &trust(), now(), &mut |_| {}).unwrap();
    assert!(!format!("{der:?}").contains("0x"));
}

#[test]
fn openssl_parses_and_chains_the_issuer_certificates() {
    let dir = std::env::temp_dir().join(format!("hanko-residence-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let root = dir.join("root.der");
    let signer = dir.join("signer.der");
    std::fs::write(&root, issuer().trust_anchor()).unwrap();
    std::fs::write(&signer, issuer().signer_certificate()).unwrap();
    let pem = |der: &std::path::Path, out: &std::path::Path| {
        let o = std::process::Command::new("openssl")
            .args(["x509", "-inform", "DER", "-in"])
            .arg(der)
            .arg("-out")
            .arg(out)
            .output()
            .expect("openssl");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    pem(&root, &dir.join("root.pem"));
    pem(&signer, &dir.join("signer.pem"));
    let o = std::process::Command::new("openssl")
        .args(["x509", "-noout", "-subject", "-issuer", "-in"])
        .arg(dir.join("signer.pem"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("TEST Immigration Services Agency") && text.contains("JPKI-TEST"), "{text}");
    let o = std::process::Command::new("openssl")
        .arg("verify")
        .arg("-attime")
        .arg(now().unix_timestamp().to_string())
        .arg("-CAfile")
        .arg(dir.join("root.pem"))
        .arg(dir.join("signer.pem"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    std::fs::remove_dir_all(&dir).ok();
}

/// A smoke of the fuzz target's modes (fuzz/fuzz_targets/documents_residence.rs) in the test
/// suite: mutated commands into the chip (before and after authentication), random files into
/// the parsers, random cryptograms into the SM unwrap. Nothing may panic; every answer ends in
/// a status word.
#[test]
fn hostile_input_is_answered_not_panicked_on() {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let valid: Vec<Vec<u8>> = vec![
        h("00A40000023F00"),
        h("00A4040C10D392F0004F0200000000000000000000"),
        h("00A4040C10D392F0004F0300000000000000000000"),
        h("00A4040C10D392F0004F0400000000000000000000"),
        h("0084000008"),
        h("00B08B00000000"),
        h("00B0000104"),
        h("08B08500000004960200000000"),
        h("0820008613861101000102030405060708090A0B0C0D0E0F"),
        h("0082000028").into_iter().chain([0u8; 41]).collect(),
    ];
    let keys = residence::sm::AuthKeys::derive(residence::sm::Suite::Gen1Tdes, &number("AA12345678BB"));
    let mut c = chip(0);
    for i in 0..6000u32 {
        if i % 50 == 0 {
            c.reset();
            if i % 100 == 0 {
                // A genuine session, so that the secure paths are reached too.
                send(&mut c, &h("00A40000023F00"));
                let r = send(&mut c, &h("0084000008"));
                let rnd_icc: [u8; 8] = r[..8].try_into().unwrap();
                let data = residence::sm::terminal_auth(&keys, &[1; 8], &rnd_icc, &[2; 16]);
                let r = send(&mut c, &[&h("0082000028")[..], &data, &[0]].concat());
                let ks = residence::sm::terminal_finish(&keys, &[1; 8], &rnd_icc, &[2; 16], &r[..r.len() - 2]).unwrap();
                let w = ks.wrap(b"AA12345678BB");
                send(&mut c, &[&[0x08, 0x20, 0x00, 0x86, w.len() as u8][..], &w].concat());
            }
        }
        let mut a = valid[(next() % valid.len() as u64) as usize].clone();
        match next() % 4 {
            0 => {
                let at = (next() % a.len() as u64) as usize;
                a[at] = next() as u8;
            }
            1 => a.truncate((next() % (a.len() as u64 + 1)) as usize),
            2 => a.extend((0..next() % 8).map(|_| next() as u8)),
            _ => {}
        }
        let r = c.process(&a);
        assert!(r.len() >= 2, "{a:02X?}");
    }
    let ks = residence::sm::SessionKey::derive(&[1; 16], &[2; 16]);
    for _ in 0..3000 {
        let len = (next() % 400) as usize;
        let mut f: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        if let Some(first) = f.first_mut() {
            *first = [0xC0, 0xC1, 0xD0, 0xD1, 0xD2, 0xD5, 0xD7, 0xDA, 0x86][(next() % 9) as usize];
        }
        let _ = residence::files::parse_common(&f);
        let _ = residence::files::parse_card_type(&f);
        let _ = residence::files::parse_front_image(&f);
        let _ = residence::files::parse_photo(&f);
        let _ = residence::files::parse_address(&f);
        let _ = residence::files::parse_permission(&f, 0xD5);
        let _ = residence::files::parse_renewal(&f);
        let _ = residence::files::parse_signature(&f);
        let _ = ks.unwrap(&f);
        let _ = residence::sm::parse_le(&f);
    }
}

#[test]
fn debug_output_never_shows_the_address_or_the_number() {
    let rec = residence::read_residence(&mut Loopback(chip(0)), &number("AA12345678BB"), &mut |_| {}).unwrap();
    let d = format!("{rec:?} {:?} {:?}", number("AA12345678BB"), chip(0));
    assert!(!d.contains("見本") && !d.contains("AA12345678BB"), "{d}");
}

/// Review finding (signed concatenation without fixed lengths): the check code covers
/// SHA-256(front image ‖ photo), so bytes moved from the photo into the front image keep the
/// hash. The verifier must pin each part to its size (7000 / 3000 bytes) and the reader each
/// file to its size (7004 / 3004 bytes), and refuse a card that drops its photo that way.
#[test]
fn photo_bytes_moved_into_the_front_image_are_refused() {
    // At the verifier: the photo's bytes appended to the front image, the photo gone.
    let mut rec = residence::read_residence(&mut Loopback(chip(0)), &number("AA12345678BB"), &mut |_| {}).unwrap();
    let photo = rec.photo.take().unwrap();
    rec.front_image.extend_from_slice(&photo);
    let e = verify(rec, &trust(), now()).unwrap_err();
    assert!(
        matches!(e, ResidenceError::SignedPartSize { part: "DF1/EF01 front image (D0)", len: 10000, expected: 7000 }),
        "{e:?}"
    );
    assert!(e.to_string().contains("7000"), "{e}");

    // Through a hostile chip: DF1/EF01 answers the front image file followed by the photo file,
    // DF1/EF02 answers "no such file". Refused (here by the secure-messaging budget already).
    struct NoPhoto(Loopback<ResidenceChip>);
    impl Transport for NoPhoto {
        fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
            if apdu.get(1..3) == Some(&[0xB0, 0x86][..]) {
                return Ok(vec![0x6A, 0x82]);
            }
            self.0.transmit(apdu)
        }
    }
    let mut c = chip(0);
    let photo_file = c.file_mut(Ef::Photo).unwrap().clone();
    c.file_mut(Ef::FrontImage).unwrap().extend_from_slice(&photo_file);
    let r = residence::check(&mut NoPhoto(Loopback(c)), &code("AA12345678BB"), &trust(), now(), &mut |_| {});
    assert!(r.is_err(), "{r:?}");
    // A part of the photo file moved into DF1/EF01: refused by DF1/EF01's fixed size.
    let mut c = chip(0);
    let head: Vec<u8> = c.file_mut(Ef::Photo).unwrap().drain(..1000).collect();
    c.file_mut(Ef::FrontImage).unwrap().extend_from_slice(&head);
    let e = residence::check(&mut Loopback(c), &code("AA12345678BB"), &trust(), now(), &mut |_| {}).unwrap_err();
    assert!(
        matches!(
            &e,
            CheckError::Residence(ResidenceError::File {
                file: "DF1/EF01 front image",
                error: residence::files::FileError::FileSize { len: 8004, expected: 7004 }
            })
        ),
        "{e:?}"
    );
    // A signed card whose photo file is simply missing is refused too (only under-16 cards
    // have no photo, and they have no signature).
    let mut rec = residence::read_residence(&mut Loopback(chip(0)), &number("AA12345678BB"), &mut |_| {}).unwrap();
    rec.photo = None;
    assert!(matches!(verify(rec, &trust(), now()), Err(ResidenceError::PhotoMissing)));
}
