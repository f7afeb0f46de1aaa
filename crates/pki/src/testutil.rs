//! Test fixtures shared by the unit tests of this crate.
#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

use rand_core::OsRng;
use time::macros::{date, datetime};
use time::OffsetDateTime;

use crate::*;

/// 2026-01-01 00:00Z — "now" in the unit tests.
pub const NOW: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);

/// A fresh sandbox CA generation of `kind`, valid 2025-01-01 .. 2034-12-31 14:59:59Z.
pub fn ca(kind: CaKind) -> CaGeneration<SoftwareKey> {
    CaGeneration::create(
        kind,
        Naming::sandbox(),
        PolicySet::sandbox(),
        SoftwareKey::generate_rsa2048().unwrap(),
        &Serial::random(&mut OsRng),
        datetime!(2025-01-01 00:00 UTC),
        end_of_day_jst(date!(2034 - 12 - 31)),
    )
    .unwrap()
}

/// Synthetic facts (never a real person).
pub fn facts() -> BasicFacts {
    BasicFacts::new(
        "試験　花子",
        Sex::FEMALE,
        BirthDate::Known(date!(1990 - 04 - 01)),
        "東京都千代田区霞が関一丁目１番１号",
    )
    .unwrap()
}

/// A holder key and a signature certificate for it from `ca` (a signature CA).
pub fn signature_cert(ca: &CaGeneration<SoftwareKey>) -> (SoftwareKey, Vec<u8>) {
    let key = SoftwareKey::generate_rsa2048().unwrap();
    let f = facts();
    let serial = Serial::random(&mut OsRng);
    let der = ca
        .issue(
            &Profile::end_entity(CertKind::Signature),
            &serial,
            signature_subject("Tokyo-to", "Chiyoda-ku", &issuance_id(NOW, 1, "HANKOTEST")).unwrap(),
            key.public_key().clone(),
            Some(&f),
            NOW,
            end_entity_not_after(NOW, f.birth_date(), date!(2030 - 12 - 31)),
        )
        .unwrap();
    (key, der)
}

/// A holder key and a user-authentication certificate for it from `ca` (an auth CA).
pub fn auth_cert(ca: &CaGeneration<SoftwareKey>) -> (SoftwareKey, Vec<u8>) {
    let key = SoftwareKey::generate_rsa2048().unwrap();
    let der = ca
        .issue(
            &Profile::end_entity(CertKind::Auth),
            &Serial::random(&mut OsRng),
            auth_subject(&opaque_auth_id(&mut OsRng)).unwrap(),
            key.public_key().clone(),
            None,
            NOW,
            end_of_day_jst(date!(2030 - 12 - 31)),
        )
        .unwrap();
    (key, der)
}

/// Another signature certificate from `ca` (fresh serial) for an existing holder `key`.
pub fn signature_cert_for(ca: &CaGeneration<SoftwareKey>, key: &SoftwareKey) -> Vec<u8> {
    let f = facts();
    ca.issue(
        &Profile::end_entity(CertKind::Signature),
        &Serial::random(&mut OsRng),
        signature_subject("Tokyo-to", "Chiyoda-ku", &issuance_id(NOW, 2, "HANKOTEST")).unwrap(),
        key.public_key().clone(),
        Some(&f),
        NOW,
        end_entity_not_after(NOW, f.birth_date(), date!(2030 - 12 - 31)),
    )
    .unwrap()
}
