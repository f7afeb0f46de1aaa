//! Unit tests of the CRL module: build → parse → index round trips, re-encoding through
//! `x509-cert`, deltas, and every rejection with a crafted input.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::OnceLock;

use const_oid::db::rfc5280::{
    ID_CE_CERTIFICATE_ISSUER, ID_CE_CRL_NUMBER, ID_CE_CRL_REASONS, ID_CE_DELTA_CRL_INDICATOR,
    ID_CE_ISSUING_DISTRIBUTION_POINT,
};
use const_oid::ObjectIdentifier;
use der::asn1::{Any, BitString, IntRef, Null, OctetString};
use der::{Decode, Encode};
use rand_core::OsRng;
use spki::AlgorithmIdentifierOwned;
use time::macros::datetime;
use time::OffsetDateTime;
use x509_cert::crl::{CertificateList, RevokedCert};
use x509_cert::ext::Extension;
use x509_cert::serial_number::SerialNumber;
use x509_cert::Version;

use super::types::RevokedCertRef;
use super::*;
use crate::{
    testutil, CaGeneration, CaKind, Revocation, RevocationStatus, RsaPublicKey, Serial, SignatureAlgorithm, Signer,
    SoftwareKey,
};

fn ca() -> &'static CaGeneration<SoftwareKey> {
    static CA: OnceLock<CaGeneration<SoftwareKey>> = OnceLock::new();
    CA.get_or_init(|| testutil::ca(CaKind::Signature))
}

fn other_ca() -> &'static CaGeneration<SoftwareKey> {
    static CA: OnceLock<CaGeneration<SoftwareKey>> = OnceLock::new();
    CA.get_or_init(|| testutil::ca(CaKind::Signature))
}

fn key_of(ca: &CaGeneration<SoftwareKey>) -> RsaPublicKey {
    RsaPublicKey::from_spki(ca.signer().public_key()).unwrap()
}

const T0: OffsetDateTime = datetime!(2025-12-30 09:15:00 UTC);

fn entry(serial: Serial, revoked_at: OffsetDateTime, reason: CrlReason) -> CrlEntry {
    CrlEntry { serial, revoked_at, reason }
}

/// One entry of every JPKI reason (20-pki.md §3), plus the awkward serials and times.
fn sample_entries() -> Vec<CrlEntry> {
    vec![
        entry(Serial::from_u64(0x0123_4567_89AB_CDEF), T0, CrlReason::AFFILIATION_CHANGED),
        entry(Serial::from_u64(0xFF00_0000_0000_0001), T0 - time::Duration::days(3), CrlReason::CESSATION_OF_OPERATION),
        entry(Serial::from_u64(7), T0, CrlReason::CERTIFICATE_HOLD),
        entry(Serial::random(&mut OsRng), T0, CrlReason::SUPERSEDED),
        entry(Serial::random(&mut OsRng), T0, CrlReason::KEY_COMPROMISE),
        entry(Serial::random(&mut OsRng), T0, CrlReason::UNSPECIFIED),
        // 12 octets: outside the u64 table.
        entry(Serial::from_hex("0102030405060708090A0B0C").unwrap(), T0, CrlReason::AFFILIATION_CHANGED),
        // GeneralizedTime (2050 and later) and beyond u32 seconds (2106).
        entry(Serial::from_u64(0x55), datetime!(2051-06-01 00:00:01 UTC), CrlReason::PRIVILEGE_WITHDRAWN),
        entry(Serial::from_u64(0x56), datetime!(2200-01-01 00:00:00 UTC), CrlReason::AA_COMPROMISE),
    ]
}

fn build(entries: Vec<CrlEntry>, number: u64) -> Vec<u8> {
    let (this_update, next_update) = daily_window(testutil::NOW);
    CrlBuilder::new(number, this_update, next_update).with_entries(entries).sign(ca()).unwrap()
}

/// Decodes with x509-cert, lets `f` change it, re-encodes (the signature is left as it was).
fn tamper(der: &[u8], f: impl FnOnce(&mut CertificateList)) -> Vec<u8> {
    let mut list = CertificateList::from_der(der).unwrap();
    f(&mut list);
    list.to_der().unwrap()
}

/// Like [`tamper`], then signs again with the test CA: only the tampered property is wrong.
fn tamper_signed(der: &[u8], f: impl FnOnce(&mut CertificateList)) -> Vec<u8> {
    let mut list = CertificateList::from_der(der).unwrap();
    f(&mut list);
    let tbs = list.tbs_cert_list.to_der().unwrap();
    let signature = ca().signer().sign(SignatureAlgorithm::RsaPkcs1Sha256, &tbs).unwrap();
    list.signature = BitString::from_bytes(&signature).unwrap();
    list.to_der().unwrap()
}

fn extensions(list: &mut CertificateList) -> &mut Vec<Extension> {
    list.tbs_cert_list.crl_extensions.as_mut().unwrap()
}

fn ext(oid: &str, critical: bool, value: &[u8]) -> Extension {
    Extension {
        extn_id: ObjectIdentifier::new_unwrap(oid),
        critical,
        extn_value: OctetString::new(value.to_vec()).unwrap(),
    }
}

fn revoked(list: &mut CertificateList) -> &mut Vec<RevokedCert> {
    list.tbs_cert_list.revoked_certificates.as_mut().unwrap()
}

fn entry_errors(der: &[u8]) -> CrlError {
    let crl = ParsedCrl::from_der(der).unwrap();
    let err = crl.entries().find_map(Result::err).expect("an entry error");
    assert_eq!(CrlIndex::from_crl(&crl).unwrap_err(), err, "the index reports the same error");
    err
}

// ---------------------------------------------------------------- build / parse

#[test]
fn every_field_round_trips() {
    let entries = sample_entries();
    let der = build(entries.clone(), 42);
    let crl = ParsedCrl::from_der(&der).unwrap();
    crl.verify_signature(&key_of(ca())).unwrap();

    assert_eq!(crl.issuer(), ca().name());
    assert_eq!(crl.issuer_der(), ca().name().to_der().unwrap());
    assert_eq!(crl.this_update(), testutil::NOW);
    assert_eq!(crl.next_update(), Some(testutil::NOW + time::Duration::hours(24)));
    assert!(matches!(crl.this_update_time(), x509_cert::time::Time::UtcTime(_)));
    assert_eq!(crl.crl_number(), Some(42));
    assert_eq!(crl.delta_base(), None);
    assert!(!crl.is_delta());
    assert_eq!(crl.authority_key_id(), Some(ca().key_id()));
    assert_eq!(crl.signature_algorithm(), SignatureAlgorithm::RsaPkcs1Sha256);
    assert_eq!(crl.signature().len(), 256);
    assert_eq!(crl.entry_count().unwrap(), entries.len());

    let parsed: Vec<CrlEntryRef<'_>> = crl.entries().collect::<Result<_, _>>().unwrap();
    assert_eq!(parsed.len(), entries.len());
    for (i, (got, want)) in parsed.iter().zip(&entries).enumerate() {
        assert_eq!(got.index(), i);
        assert_eq!(got.to_entry(), *want, "entry {i}");
        assert_eq!(got.serial_bytes(), want.serial.as_bytes());
        assert_eq!(got.serial_u64(), want.serial.to_u64());
        // RFC 5280 §5.3.1: unspecified is written by omitting reasonCode.
        let expected_code = (want.reason != CrlReason::UNSPECIFIED).then_some(want.reason);
        assert_eq!(got.reason_code(), expected_code, "entry {i}");
    }
    assert!(matches!(parsed[7].revocation_date(), x509_cert::time::Time::GeneralTime(_)));
    assert!(matches!(parsed[0].revocation_date(), x509_cert::time::Time::UtcTime(_)));
}

#[test]
fn x509_cert_decodes_and_reencodes_byte_for_byte() {
    for der in [build(sample_entries(), 1), build(vec![], 2)] {
        let list = CertificateList::from_der(&der).unwrap();
        assert_eq!(list.to_der().unwrap(), der);
        assert_eq!(list.tbs_cert_list.version, Version::V2);
        assert_eq!(list.tbs_cert_list.signature, list.signature_algorithm);
        assert_eq!(list.signature_algorithm.parameters, Some(Any::from(Null)));
        let ids: Vec<_> = extensions(&mut list.clone()).iter().map(|e| (e.extn_id, e.critical)).collect();
        assert_eq!(ids, [(const_oid::db::rfc5280::ID_CE_AUTHORITY_KEY_IDENTIFIER, false), (ID_CE_CRL_NUMBER, false)]);
    }
}

#[test]
fn an_empty_crl_omits_revoked_certificates() {
    let der = build(vec![], 3);
    let list = CertificateList::from_der(&der).unwrap();
    assert_eq!(list.tbs_cert_list.revoked_certificates, None);
    let crl = ParsedCrl::from_der(&der).unwrap();
    assert_eq!(crl.entries().count(), 0);
    assert_eq!(crl.revoked_der(), b"");
    let index = CrlIndex::from_crl(&crl).unwrap();
    assert!(index.is_empty());
    assert_eq!(index.lookup(&Serial::from_u64(7)), None);
}

#[test]
fn delta_crls_carry_a_critical_indicator() {
    let (this_update, next_update) = daily_window(testutil::NOW);
    let der = CrlBuilder::new(11, this_update, next_update)
        .with_delta_base(10)
        .with_entries([entry(Serial::from_u64(9), T0, CrlReason::REMOVE_FROM_CRL)])
        .sign(ca())
        .unwrap();
    let crl = ParsedCrl::from_der(&der).unwrap();
    assert_eq!((crl.crl_number(), crl.delta_base()), (Some(11), Some(10)));
    let list = CertificateList::from_der(&der).unwrap();
    let delta = list.tbs_cert_list.crl_extensions.as_ref().unwrap().last().unwrap();
    assert_eq!((delta.extn_id, delta.critical), (ID_CE_DELTA_CRL_INDICATOR, true));
    assert_eq!(list.to_der().unwrap(), der);
}

#[test]
fn daily_window_is_24_hours_to_the_second() {
    let (a, b) = daily_window(datetime!(2026-03-01 12:34:56.789 UTC));
    assert_eq!(a, datetime!(2026-03-01 12:34:56 UTC));
    assert_eq!(b - a, time::Duration::hours(24));
}

#[test]
fn builder_rejects_misuse() {
    let t = testutil::NOW;
    assert!(matches!(CrlBuilder::new(1, t, t).sign(ca()), Err(CrlError::InvalidWindow { .. })));
    for reason in [CrlReason(7), CrlReason(11), CrlReason::REMOVE_FROM_CRL] {
        let r = CrlBuilder::new(1, t, t + time::Duration::hours(1))
            .with_entries([entry(Serial::from_u64(1), t, reason)])
            .sign(ca());
        assert_eq!(r, Err(CrlError::InvalidReason { reason }));
    }
    let r = CrlBuilder::new(5, t, t + time::Duration::hours(1)).with_delta_base(5).sign(ca());
    assert_eq!(r, Err(CrlError::InvalidDeltaBase { base: 5, crl_number: 5 }));
    let b = CrlBuilder::new(5, t, t + time::Duration::hours(1));
    assert!(b.is_empty());
    assert_eq!(b.with_entries(sample_entries()).len(), 9);
}

// ---------------------------------------------------------------- signatures

#[test]
fn signature_checks() {
    let der = build(sample_entries(), 4);
    let crl = ParsedCrl::from_der(&der).unwrap();
    crl.verify_signature(&key_of(ca())).unwrap();
    assert_eq!(crl.verify_signature(&key_of(other_ca())), Err(CrlError::BadSignature), "another CA's key");

    // One flipped bit of the signature, and one of a revocation date.
    let mut bad = der.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    assert_eq!(ParsedCrl::from_der(&bad).unwrap().verify_signature(&key_of(ca())), Err(CrlError::BadSignature));
    let forged = tamper(&der, |l| revoked(l)[0].serial_number = SerialNumber::from(99u32));
    let crl = ParsedCrl::from_der(&forged).unwrap();
    assert_eq!(crl.verify_signature(&key_of(ca())), Err(CrlError::BadSignature));
}

#[test]
fn a_crl_signed_by_another_ca_fails_under_ours() {
    let (this_update, next_update) = daily_window(testutil::NOW);
    let der = CrlBuilder::new(1, this_update, next_update).with_entries(sample_entries()).sign(other_ca()).unwrap();
    let crl = ParsedCrl::from_der(&der).unwrap();
    crl.verify_signature(&key_of(other_ca())).unwrap();
    assert_eq!(crl.verify_signature(&key_of(ca())), Err(CrlError::BadSignature));
    assert_ne!(crl.authority_key_id(), Some(ca().key_id()));
}

// ---------------------------------------------------------------- index

#[test]
fn index_answers_hits_misses_reasons_and_times() {
    let entries = sample_entries();
    let der = build(entries.clone(), 7);
    let crl = ParsedCrl::from_der(&der).unwrap();
    let index = CrlIndex::from_crl(&crl).unwrap();
    assert_eq!(index.len(), entries.len());
    assert_eq!(index.crl_number(), 7);
    assert_eq!(index.complete_crl_number(), 7);
    assert_eq!(index.this_update(), crl.this_update());
    assert_eq!(index.next_update(), crl.next_update());
    assert_eq!(index.issuer_der(), crl.issuer_der());
    for e in &entries {
        let want = Revocation { revoked_at: e.revoked_at, reason: e.reason };
        assert_eq!(index.lookup(&e.serial), Some(want), "{:?}", e.serial);
        assert_eq!(index.status(&e.serial), RevocationStatus::Revoked(want));
        if let Some(v) = e.serial.to_u64() {
            assert_eq!(index.lookup_u64(v), Some(want));
        }
    }
    for miss in [Serial::from_u64(8), Serial::from_u64(0), Serial::from_hex("0102030405060708090A0B0D").unwrap()] {
        assert_eq!(index.lookup(&miss), None);
        assert_eq!(index.status(&miss), RevocationStatus::Good);
    }
    assert_eq!(index.lookup_u64(0x57), None);
    assert!(index.memory_bytes() > 0);
}

#[test]
fn index_of_many_random_serials() {
    let entries: Vec<CrlEntry> = (0..20_000u32)
        .map(|i| {
            entry(Serial::random(&mut OsRng), T0 - time::Duration::seconds(i64::from(i)), CrlReason((i % 7) as u8))
        })
        .collect();
    let der = build(entries.clone(), 1);
    let index = CrlIndex::from_crl(&ParsedCrl::from_der(&der).unwrap()).unwrap();
    assert_eq!(index.len(), entries.len());
    for e in &entries {
        assert_eq!(index.lookup(&e.serial), Some(Revocation { revoked_at: e.revoked_at, reason: e.reason }));
    }
    let misses = (0..20_000).filter(|_| index.lookup(&Serial::random(&mut OsRng)).is_some()).count();
    assert_eq!(misses, 0);
    let per_entry = index.memory_bytes() as f64 / entries.len() as f64;
    assert!(per_entry <= 24.0, "{per_entry} bytes per entry");
}

#[test]
fn index_rejects_duplicates_remove_from_crl_deltas_and_missing_numbers() {
    let dup = Serial::from_u64(0x1234);
    let der = build(
        vec![entry(dup.clone(), T0, CrlReason::SUPERSEDED), entry(dup.clone(), T0, CrlReason::KEY_COMPROMISE)],
        1,
    );
    let crl = ParsedCrl::from_der(&der).unwrap();
    assert_eq!(CrlIndex::from_crl(&crl).unwrap_err(), CrlError::DuplicateSerial { serial: dup });

    let long = Serial::from_hex("0102030405060708090A0B0C").unwrap();
    let der =
        build(vec![entry(long.clone(), T0, CrlReason::SUPERSEDED), entry(long.clone(), T0, CrlReason::SUPERSEDED)], 1);
    let crl = ParsedCrl::from_der(&der).unwrap();
    assert_eq!(CrlIndex::from_crl(&crl).unwrap_err(), CrlError::DuplicateSerial { serial: long });

    // Same serial once in the table and once (a time past 2106) in the fallback map.
    let s = Serial::from_u64(0x99);
    let far = datetime!(2200-01-01 0:00 UTC);
    let der = build(vec![entry(s.clone(), T0, CrlReason::SUPERSEDED), entry(s.clone(), far, CrlReason::SUPERSEDED)], 1);
    let crl = ParsedCrl::from_der(&der).unwrap();
    assert_eq!(CrlIndex::from_crl(&crl).unwrap_err(), CrlError::DuplicateSerial { serial: s.clone() });
    let der = build(vec![entry(s.clone(), far, CrlReason::SUPERSEDED), entry(s.clone(), T0, CrlReason::SUPERSEDED)], 1);
    let crl = ParsedCrl::from_der(&der).unwrap();
    assert_eq!(CrlIndex::from_crl(&crl).unwrap_err(), CrlError::DuplicateSerial { serial: s });

    let der = build(vec![entry(Serial::from_u64(5), T0, CrlReason::SUPERSEDED)], 1);
    let remove = tamper(&der, |l| {
        revoked(l)[0].crl_entry_extensions.as_mut().unwrap()[0].extn_value =
            OctetString::new(vec![0x0A, 0x01, 0x08]).unwrap();
    });
    let crl = ParsedCrl::from_der(&remove).unwrap();
    assert_eq!(
        CrlIndex::from_crl(&crl).unwrap_err(),
        CrlError::RemoveFromCrlInCompleteCrl { serial: Serial::from_u64(5) }
    );

    let no_number = tamper(&der, |l| extensions(l).retain(|e| e.extn_id != ID_CE_CRL_NUMBER));
    let crl = ParsedCrl::from_der(&no_number).unwrap();
    assert_eq!(crl.crl_number(), None);
    assert_eq!(CrlIndex::from_crl(&crl).unwrap_err(), CrlError::MissingCrlNumber);

    let (a, b) = daily_window(testutil::NOW);
    let delta = CrlBuilder::new(3, a, b).with_delta_base(2).sign(ca()).unwrap();
    let crl = ParsedCrl::from_der(&delta).unwrap();
    assert_eq!(CrlIndex::from_crl(&crl).unwrap_err(), CrlError::UnexpectedDelta { crl_number: 3, base: 2 });
}

fn delta(number: u64, base: u64, entries: Vec<CrlEntry>, signer: &CaGeneration<SoftwareKey>) -> Vec<u8> {
    let (a, b) = daily_window(testutil::NOW + time::Duration::hours(1));
    CrlBuilder::new(number, a, b).with_delta_base(base).with_entries(entries).sign(signer).unwrap()
}

#[test]
fn deltas_add_update_and_remove() {
    let held = Serial::from_u64(0x1001);
    let kept = Serial::from_u64(0x1002);
    let long = Serial::from_hex("AA0102030405060708090A").unwrap();
    let base = build(
        vec![
            entry(held.clone(), T0, CrlReason::CERTIFICATE_HOLD),
            entry(kept.clone(), T0, CrlReason::SUPERSEDED),
            entry(long.clone(), T0, CrlReason::SUPERSEDED),
        ],
        100,
    );
    let mut index = CrlIndex::from_crl(&ParsedCrl::from_der(&base).unwrap()).unwrap();

    let new = Serial::from_u64(0x2001);
    let t1 = T0 + time::Duration::hours(2);
    // Enough additions to force the table to grow.
    let mut changes: Vec<CrlEntry> =
        (0..50u64).map(|i| entry(Serial::from_u64(0x3000 + i), t1, CrlReason::SUPERSEDED)).collect();
    changes.extend([
        entry(held.clone(), t1, CrlReason::KEY_COMPROMISE),
        entry(new.clone(), t1, CrlReason::AFFILIATION_CHANGED),
        entry(long.clone(), t1, CrlReason::REMOVE_FROM_CRL),
    ]);
    let d = delta(101, 100, changes, ca());
    let parsed = ParsedCrl::from_der(&d).unwrap();
    index.apply_delta(&parsed).unwrap();

    assert_eq!(index.crl_number(), 101);
    assert_eq!(index.complete_crl_number(), 100);
    assert_eq!(index.this_update(), parsed.this_update());
    assert_eq!(index.lookup(&held), Some(Revocation { revoked_at: t1, reason: CrlReason::KEY_COMPROMISE }));
    assert_eq!(index.lookup(&new), Some(Revocation { revoked_at: t1, reason: CrlReason::AFFILIATION_CHANGED }));
    assert_eq!(index.lookup(&kept), Some(Revocation { revoked_at: T0, reason: CrlReason::SUPERSEDED }));
    assert_eq!(index.lookup(&long), None);
    assert_eq!(index.len(), 3 - 1 + 1 + 50);
    for i in 0..50u64 {
        assert!(index.lookup_u64(0x3000 + i).is_some());
    }

    // A later cumulative delta on the same base removes many entries (backward-shift deletion).
    let removals: Vec<CrlEntry> =
        (0..50u64).map(|i| entry(Serial::from_u64(0x3000 + i), t1, CrlReason::REMOVE_FROM_CRL)).collect();
    index.apply_delta(&ParsedCrl::from_der(&delta(102, 100, removals, ca())).unwrap()).unwrap();
    assert_eq!(index.len(), 3);
    assert_eq!(index.lookup(&kept).map(|r| r.reason), Some(CrlReason::SUPERSEDED));
    assert_eq!(index.lookup(&held).map(|r| r.reason), Some(CrlReason::KEY_COMPROMISE));
    assert_eq!(index.lookup(&new).map(|r| r.reason), Some(CrlReason::AFFILIATION_CHANGED));
}

#[test]
fn deltas_that_do_not_fit_are_refused_and_change_nothing() {
    let s = Serial::from_u64(0x1001);
    let base = build(vec![entry(s.clone(), T0, CrlReason::CERTIFICATE_HOLD)], 100);
    let mut index = CrlIndex::from_crl(&ParsedCrl::from_der(&base).unwrap()).unwrap();
    let apply = |index: &mut CrlIndex, der: &[u8]| index.apply_delta(&ParsedCrl::from_der(der).unwrap());

    assert_eq!(apply(&mut index, &base), Err(CrlError::NotADelta));
    assert_eq!(
        apply(&mut index, &delta(102, 101, vec![], ca())),
        Err(CrlError::DeltaBaseMismatch { base: 101, complete: 100 })
    );
    assert_eq!(
        apply(&mut index, &delta(100, 99, vec![], ca())),
        Err(CrlError::StaleDelta { delta: 100, current: 100 })
    );
    assert_eq!(apply(&mut index, &delta(101, 100, vec![], other_ca())), Err(CrlError::IssuerMismatch));
    let twice = vec![entry(s.clone(), T0, CrlReason::KEY_COMPROMISE), entry(s.clone(), T0, CrlReason::REMOVE_FROM_CRL)];
    assert_eq!(apply(&mut index, &delta(101, 100, twice, ca())), Err(CrlError::DuplicateSerial { serial: s.clone() }));
    let no_number = tamper(&delta(101, 100, vec![], ca()), |l| extensions(l).retain(|e| e.extn_id != ID_CE_CRL_NUMBER));
    assert_eq!(apply(&mut index, &no_number), Err(CrlError::MissingCrlNumber));
    let bad_entry = tamper(&delta(101, 100, vec![entry(s.clone(), T0, CrlReason::REMOVE_FROM_CRL)], ca()), |l| {
        revoked(l)[0].crl_entry_extensions.as_mut().unwrap().push(ext("1.2.3.4", true, &[5, 0]));
    });
    assert!(matches!(apply(&mut index, &bad_entry), Err(CrlError::UnknownCriticalExtension { entry: Some(0), .. })));

    assert_eq!(index.crl_number(), 100);
    assert_eq!(index.lookup(&s).map(|r| r.reason), Some(CrlReason::CERTIFICATE_HOLD));

    // An older base (cumulative deltas, RFC 5280 §5.2.4) is fine.
    apply(&mut index, &delta(101, 99, vec![entry(s.clone(), T0, CrlReason::REMOVE_FROM_CRL)], ca())).unwrap();
    assert_eq!(index.lookup(&s), None);
}

// ---------------------------------------------------------------- rejections

#[test]
fn rejects_oversized_truncated_malformed_and_trailing_input() {
    let der = build(sample_entries(), 1);
    assert_eq!(
        ParsedCrl::from_der_with_budget(&der, 100).unwrap_err(),
        CrlError::TooLarge { len: der.len(), max: 100 }
    );
    assert!(matches!(
        ParsedCrl::from_der(&der[..der.len() - 1]).unwrap_err(),
        CrlError::Truncated { at: "CertificateList", .. }
    ));
    for cut in [0, 1, 2, 3, 5, 10, 100] {
        assert!(ParsedCrl::from_der(&der[..cut]).is_err(), "{cut}");
    }
    assert!(matches!(ParsedCrl::from_der(&[0x02, 0x01, 0x00]).unwrap_err(), CrlError::Malformed { .. }));
    assert!(matches!(ParsedCrl::from_der(&[0x30, 0x80, 0, 0]).unwrap_err(), CrlError::Malformed { .. }));
    let mut trailing = der.clone();
    trailing.extend_from_slice(&[0, 0]);
    assert_eq!(ParsedCrl::from_der(&trailing).unwrap_err(), CrlError::TrailingData { extra: 2 });

    // The optional nextUpdate and crlExtensions may be absent.
    let minimal = tamper(&der, |l| {
        l.tbs_cert_list.crl_extensions = None;
        l.tbs_cert_list.next_update = None;
    });
    let crl = ParsedCrl::from_der(&minimal).unwrap();
    assert_eq!(crl.next_update(), None);
    assert_eq!(crl.crl_number(), None);
}

#[test]
fn rejects_wrong_versions() {
    let der = build(sample_entries(), 1);
    let v1 = tamper(&der, |l| l.tbs_cert_list.version = Version::V1);
    assert_eq!(ParsedCrl::from_der(&v1).unwrap_err(), CrlError::UnsupportedVersion { found: Some(0) });
    let v3 = tamper(&der, |l| l.tbs_cert_list.version = Version::V3);
    assert_eq!(ParsedCrl::from_der(&v3).unwrap_err(), CrlError::UnsupportedVersion { found: Some(2) });
}

#[test]
fn rejects_algorithms() {
    let der = build(sample_entries(), 1);
    let alg = |oid: ObjectIdentifier, parameters: Option<Any>| AlgorithmIdentifierOwned { oid, parameters };
    let sha1 = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.5");
    let both_sha1 = tamper(&der, |l| {
        l.signature_algorithm = alg(sha1, Some(Any::from(Null)));
        l.tbs_cert_list.signature = alg(sha1, Some(Any::from(Null)));
    });
    assert_eq!(ParsedCrl::from_der(&both_sha1).unwrap_err(), CrlError::UnsupportedSignatureAlgorithm { oid: sha1 });

    let params = tamper(&der, |l| {
        let odd = alg(crate::oid::SHA256_WITH_RSA, Some(Any::from(&ID_CE_CRL_NUMBER)));
        l.signature_algorithm = odd.clone();
        l.tbs_cert_list.signature = odd;
    });
    assert_eq!(
        ParsedCrl::from_der(&params).unwrap_err(),
        CrlError::UnsupportedSignatureAlgorithm { oid: crate::oid::SHA256_WITH_RSA }
    );

    // Absent parameters are fine (but the signature no longer matches the TBS).
    let absent = tamper(&der, |l| {
        l.signature_algorithm.parameters = None;
        l.tbs_cert_list.signature.parameters = None;
    });
    assert!(ParsedCrl::from_der(&absent).is_ok());

    let mismatch = tamper(&der, |l| l.signature_algorithm = alg(crate::oid::SHA384_WITH_RSA, Some(Any::from(Null))));
    assert_eq!(
        ParsedCrl::from_der(&mismatch).unwrap_err(),
        CrlError::AlgorithmMismatch { inner: crate::oid::SHA256_WITH_RSA, outer: crate::oid::SHA384_WITH_RSA }
    );
    let null_only_inside = tamper(&der, |l| l.signature_algorithm.parameters = None);
    assert!(matches!(ParsedCrl::from_der(&null_only_inside).unwrap_err(), CrlError::AlgorithmMismatch { .. }));

    let odd_bits = tamper(&der, |l| l.signature = BitString::new(1, l.signature.raw_bytes().to_vec()).unwrap());
    assert_eq!(ParsedCrl::from_der(&odd_bits).unwrap_err(), CrlError::SignatureBits);
}

#[test]
fn crl_extension_rules() {
    let der = build(sample_entries(), 1);
    let unknown = ObjectIdentifier::new_unwrap("1.2.392.200149.99.1");

    let critical = tamper_signed(&der, |l| extensions(l).push(ext("1.2.392.200149.99.1", true, &[5, 0])));
    assert_eq!(
        ParsedCrl::from_der(&critical).unwrap_err(),
        CrlError::UnknownCriticalExtension { oid: unknown, entry: None }
    );
    let non_critical = tamper_signed(&der, |l| extensions(l).push(ext("1.2.392.200149.99.1", false, &[5, 0])));
    let crl = ParsedCrl::from_der(&non_critical).unwrap();
    crl.verify_signature(&key_of(ca())).unwrap();
    assert_eq!(crl.crl_number(), Some(1));

    let idp = tamper(&der, |l| extensions(l).push(ext("2.5.29.28", true, &[0x30, 0x00])));
    assert_eq!(
        ParsedCrl::from_der(&idp).unwrap_err(),
        CrlError::UnsupportedExtension { oid: ID_CE_ISSUING_DISTRIBUTION_POINT, entry: None }
    );

    let twice = tamper(&der, |l| {
        let number = extensions(l)[1].clone();
        extensions(l).push(number);
    });
    assert_eq!(
        ParsedCrl::from_der(&twice).unwrap_err(),
        CrlError::DuplicateExtension { oid: ID_CE_CRL_NUMBER, entry: None }
    );

    let empty = tamper(&der, |l| extensions(l).clear());
    assert_eq!(
        ParsedCrl::from_der(&empty).unwrap_err(),
        CrlError::ExtensionCount { count: 0, max: MAX_CRL_EXTENSIONS, entry: None }
    );
    let many = tamper(&der, |l| {
        for i in 0..MAX_CRL_EXTENSIONS {
            extensions(l).push(ext(&format!("1.2.3.{i}"), false, &[5, 0]));
        }
    });
    assert!(matches!(ParsedCrl::from_der(&many).unwrap_err(), CrlError::ExtensionCount { entry: None, .. }));

    let negative_number = tamper(&der, |l| extensions(l)[1].extn_value = OctetString::new(vec![2, 1, 0xFF]).unwrap());
    assert!(matches!(
        ParsedCrl::from_der(&negative_number).unwrap_err(),
        CrlError::BadExtension { oid: ID_CE_CRL_NUMBER, entry: None, .. }
    ));
    let huge_number = tamper(&der, |l| {
        extensions(l)[1].extn_value = OctetString::new(vec![2, 9, 1, 0, 0, 0, 0, 0, 0, 0, 0]).unwrap();
    });
    assert!(matches!(ParsedCrl::from_der(&huge_number).unwrap_err(), CrlError::BadExtension { .. }));
    let bad_aki = tamper(&der, |l| extensions(l)[0].extn_value = OctetString::new(vec![4, 0]).unwrap());
    assert!(matches!(ParsedCrl::from_der(&bad_aki).unwrap_err(), CrlError::BadExtension { .. }));
}

#[test]
fn entry_extension_rules() {
    let der = build(sample_entries(), 1);
    let unknown = ObjectIdentifier::new_unwrap("1.2.392.200149.99.2");
    let with_ext = |e: Extension| tamper(&der, move |l| revoked(l)[2].crl_entry_extensions.as_mut().unwrap().push(e));

    assert_eq!(
        entry_errors(&with_ext(ext("1.2.392.200149.99.2", true, &[5, 0]))),
        CrlError::UnknownCriticalExtension { oid: unknown, entry: Some(2) }
    );
    let fine = with_ext(ext("1.2.392.200149.99.2", false, &[5, 0]));
    let crl = ParsedCrl::from_der(&fine).unwrap();
    assert_eq!(crl.entries().nth(2).unwrap().unwrap().reason(), CrlReason::CERTIFICATE_HOLD);

    assert_eq!(
        entry_errors(&with_ext(ext("2.5.29.29", true, &[0x30, 0x00]))),
        CrlError::UnsupportedExtension { oid: ID_CE_CERTIFICATE_ISSUER, entry: Some(2) }
    );
    assert_eq!(
        entry_errors(&with_ext(ext("2.5.29.21", false, &[0x0A, 0x01, 0x01]))),
        CrlError::DuplicateExtension { oid: ID_CE_CRL_REASONS, entry: Some(2) }
    );
    // invalidityDate is checked and ignored.
    let invalidity = GeneralizedTimeDer::of(T0);
    let ok = with_ext(ext("2.5.29.24", false, &invalidity));
    assert_eq!(ParsedCrl::from_der(&ok).unwrap().entries().filter(Result::is_err).count(), 0);
    assert!(matches!(
        entry_errors(&with_ext(ext("2.5.29.24", false, &[0x18, 0x00]))),
        CrlError::BadExtension { entry: Some(2), .. }
    ));

    let as_integer = tamper(&der, |l| {
        revoked(l)[0].crl_entry_extensions.as_mut().unwrap()[0].extn_value = OctetString::new(vec![2, 1, 3]).unwrap();
    });
    assert!(matches!(entry_errors(&as_integer), CrlError::BadExtension { oid: ID_CE_CRL_REASONS, entry: Some(0), .. }));
    let empty = tamper(&der, |l| revoked(l)[1].crl_entry_extensions = Some(vec![]));
    assert_eq!(entry_errors(&empty), CrlError::ExtensionCount { count: 0, max: MAX_ENTRY_EXTENSIONS, entry: Some(1) });
    let many = tamper(&der, |l| {
        revoked(l)[1].crl_entry_extensions =
            Some((0..=MAX_ENTRY_EXTENSIONS).map(|i| ext(&format!("1.2.3.{i}"), false, &[5, 0])).collect());
    });
    assert!(matches!(entry_errors(&many), CrlError::ExtensionCount { entry: Some(1), .. }));

    // An unknown but allowed reason code round-trips.
    let unknown_reason = tamper(&der, |l| {
        revoked(l)[0].crl_entry_extensions.as_mut().unwrap()[0].extn_value =
            OctetString::new(vec![0x0A, 0x01, 42]).unwrap();
    });
    let crl = ParsedCrl::from_der(&unknown_reason).unwrap();
    assert_eq!(crl.entries().next().unwrap().unwrap().reason(), CrlReason(42));
}

/// DER of a GeneralizedTime, for invalidityDate.
struct GeneralizedTimeDer;
impl GeneralizedTimeDer {
    fn of(t: OffsetDateTime) -> Vec<u8> {
        let secs = core::time::Duration::from_secs(t.unix_timestamp() as u64);
        der::asn1::GeneralizedTime::from_unix_duration(secs).unwrap().to_der().unwrap()
    }
}

#[test]
fn rejects_negative_serials_and_malformed_entries() {
    let der = build(sample_entries(), 1);
    let negative = RevokedCertRef {
        user_certificate: IntRef::new(&[0xFF, 0x01]).unwrap(),
        revocation_date: crate::x509_time(T0).unwrap(),
        crl_entry_extensions: None,
    }
    .to_der()
    .unwrap();
    let bad = tamper(&der, |l| revoked(l)[3] = RevokedCert::from_der(&negative).unwrap());
    assert_eq!(entry_errors(&bad), CrlError::NegativeSerial { index: 3 });

    // A revocation date that is not a Time.
    let not_a_time = tamper(&der, |l| {
        revoked(l).truncate(1);
    });
    let body = ParsedCrl::from_der(&not_a_time).unwrap().revoked_der().to_vec();
    let mut broken = body.clone();
    let utc = broken.iter().position(|b| *b == 0x17).unwrap();
    broken[utc] = 0x04; // OCTET STRING where the UTCTime was
    let at = not_a_time.windows(body.len()).position(|w| w == body.as_slice()).unwrap();
    let mut crafted = not_a_time.clone();
    crafted[at..at + body.len()].copy_from_slice(&broken);
    assert!(matches!(entry_errors(&crafted), CrlError::MalformedEntry { index: 0, .. }));

    // An entry longer than the list: the index reports what the iterator reports.
    let mut overlong = not_a_time.clone();
    overlong[at + 1] += 1;
    assert!(matches!(entry_errors(&overlong), CrlError::MalformedEntry { index: 0, .. }));
    assert!(ParsedCrl::from_der(&overlong).unwrap().entry_count().is_err());

    // The iterator stops after its first error.
    let crl = ParsedCrl::from_der(&crafted).unwrap();
    let mut it = crl.entries();
    assert!(it.next().unwrap().is_err());
    assert!(it.next().is_none());
}

#[test]
fn parsing_never_panics_on_any_truncation_or_bit_flip() {
    let der = build(sample_entries()[..3].to_vec(), 1);
    let exercise = |bytes: &[u8]| {
        if let Ok(crl) = ParsedCrl::from_der(bytes) {
            let _ = crl.entry_count();
            for e in crl.entries() {
                let _ = e.map(|e| (e.serial(), e.revoked_at(), e.reason()));
            }
            let _ = CrlIndex::from_crl(&crl);
        }
    };
    for cut in 0..der.len() {
        exercise(&der[..cut]);
    }
    for i in 0..der.len() {
        for bit in [0x01, 0x80] {
            let mut flipped = der.clone();
            flipped[i] ^= bit;
            exercise(&flipped);
        }
    }
}

/// A CA key whose `SubjectPublicKeyInfo` does not tell the signature length (its key bits are
/// not an RSAPublicKey), so the builder must fix the outer header after signing.
struct OpaqueKey {
    inner: SoftwareKey,
    spki: spki::SubjectPublicKeyInfoOwned,
}

impl Signer for OpaqueKey {
    fn public_key(&self) -> &spki::SubjectPublicKeyInfoOwned {
        &self.spki
    }
    fn sign(&self, algorithm: SignatureAlgorithm, message: &[u8]) -> Result<Vec<u8>, crate::SignerError> {
        self.inner.sign(algorithm, message)
    }
    fn sign_digest(&self, algorithm: SignatureAlgorithm, digest: &[u8]) -> Result<Vec<u8>, crate::SignerError> {
        self.inner.sign_digest(algorithm, digest)
    }
}

#[test]
fn a_signer_of_unknown_signature_length_still_gets_a_correct_crl() {
    let inner = SoftwareKey::generate_rsa2048().unwrap();
    let key = RsaPublicKey::from_spki(inner.public_key()).unwrap();
    let mut spki = inner.public_key().clone();
    spki.subject_public_key = BitString::from_bytes(&[1, 2, 3]).unwrap();
    let ca = CaGeneration::create(
        CaKind::Signature,
        crate::Naming::sandbox(),
        crate::PolicySet::sandbox(),
        OpaqueKey { inner, spki },
        &Serial::from_u64(1),
        datetime!(2025-01-01 0:00 UTC),
        datetime!(2030-01-01 0:00 UTC),
    )
    .unwrap();
    let (a, b) = daily_window(testutil::NOW);
    let der = CrlBuilder::new(1, a, b).with_entries(sample_entries()).sign(&ca).unwrap();
    let crl = ParsedCrl::from_der(&der).unwrap();
    crl.verify_signature(&key).unwrap();
    assert_eq!(CertificateList::from_der(&der).unwrap().to_der().unwrap(), der);
}
