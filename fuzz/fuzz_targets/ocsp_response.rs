#![no_main]
use std::sync::OnceLock;

use hanko_pki::ocsp::{verify_response, CertIdentity};
use hanko_pki::time::{Duration, OffsetDateTime};
use hanko_pki::x509_cert::Certificate;
use hanko_pki::{CaGeneration, CaKind, Naming, PolicySet, Serial, SoftwareKey};
use libfuzzer_sys::fuzz_target;

/// 2026-01-01 00:00Z.
fn now() -> OffsetDateTime {
    OffsetDateTime::UNIX_EPOCH + Duration::seconds(1_767_225_600)
}

/// One sandbox CA certificate for the whole run (key generation is slow).
fn issuer() -> &'static Certificate {
    static ISSUER: OnceLock<Certificate> = OnceLock::new();
    ISSUER.get_or_init(|| {
        let ca = CaGeneration::create(
            CaKind::Auth,
            Naming::sandbox(),
            PolicySet::sandbox(),
            SoftwareKey::generate_rsa2048().expect("key"),
            &Serial::from_u64(1),
            now() - Duration::days(365),
            now() + Duration::days(3650),
        )
        .expect("sandbox CA");
        ca.certificate().clone()
    })
}

fuzz_target!(|data: &[u8]| {
    // Hostile bytes: parse, look for the signer, check the signature — an error, never a panic.
    let issuer = issuer();
    let ids = [
        CertIdentity::new(issuer, &Serial::from_u64(1)).expect("CertID"),
        CertIdentity::new(issuer, &Serial::from_u64(2)).expect("CertID"),
    ];
    let nonce = data.first().map(|b| [*b; 16]);
    let _ = verify_response(data, issuer, &ids, nonce.as_ref().map(|n| &n[..]), now(), Duration::hours(1));
    let _ = verify_response(data, issuer, &ids[..1], None, now(), Duration::days(365));
});
