//! A personalised sample card with fresh sandbox CAs — for tests, fuzzing and benchmarks
//! (feature `test-support`). Synthetic holder only.

use hanko_pki::time::macros::{date, datetime};
use hanko_pki::time::OffsetDateTime;
use hanko_pki::*;
use rand_core::OsRng;

use crate::{Application, BlankChip, Card, Device, Personalization};

/// "Now" for sample cards.
pub const NOW: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);
/// The sample signature password.
pub const PASSWORD: &[u8] = b"HANKO2026";
/// The sample PIN.
pub const PIN: &[u8] = b"1234";

/// A card issued at a sandbox counter, with the CAs that certified it.
pub struct Sample {
    /// The card.
    pub card: Card,
    /// Its signature certificate.
    pub sign_cert: Vec<u8>,
    /// Its user-authentication certificate.
    pub auth_cert: Vec<u8>,
    /// The signature CA.
    pub sign_ca: CaGeneration<SoftwareKey>,
    /// The user-authentication CA.
    pub auth_ca: CaGeneration<SoftwareKey>,
}

/// Making the sample failed.
pub type SampleError = Box<dyn std::error::Error + Send + Sync>;

fn ca(kind: CaKind) -> Result<CaGeneration<SoftwareKey>, SampleError> {
    Ok(CaGeneration::create(
        kind,
        Naming::sandbox(),
        PolicySet::sandbox(),
        SoftwareKey::generate_rsa2048()?,
        &Serial::random(&mut OsRng),
        datetime!(2025-01-01 00:00 UTC),
        end_of_day_jst(date!(2034 - 12 - 31)),
    )?)
}

/// Issues a card for a synthetic holder: keys made in the chip, certified by new sandbox CAs.
pub fn issue(device: Device, extra_apps: Vec<Application>) -> Result<Sample, SampleError> {
    let (sign_ca, auth_ca) = (ca(CaKind::Signature)?, ca(CaKind::Auth)?);
    let blank = BlankChip::generate(device)?;
    let facts = BasicFacts::new(
        "試験　花子",
        Sex::FEMALE,
        BirthDate::Known(date!(1985 - 04 - 01)),
        "東京都見本区試験町一丁目１番１号",
    )?;
    let not_after = end_entity_not_after(NOW, facts.birth_date(), date!(2030 - 12 - 31));
    let sign_cert = sign_ca.issue(
        &Profile::end_entity(CertKind::Signature),
        &Serial::random(&mut OsRng),
        signature_subject("Tokyo-to", "Mihon-ku", &issuance_id(NOW, 1, "HANKOTEST"))?,
        blank.sign_public_key().clone(),
        Some(&facts),
        NOW,
        not_after,
    )?;
    let auth_cert = auth_ca.issue(
        &Profile::end_entity(CertKind::Auth),
        &Serial::random(&mut OsRng),
        auth_subject(&opaque_auth_id(&mut OsRng))?,
        blank.auth_public_key().clone(),
        None,
        NOW,
        not_after,
    )?;
    let card = blank.personalize(Personalization {
        sign_cert: Some(&sign_cert),
        sign_ca_cert: sign_ca.certificate_der(),
        auth_cert: &auth_cert,
        auth_ca_cert: auth_ca.certificate_der(),
        sign_password: PASSWORD,
        auth_pin: PIN,
        card_serial: "HANKO0000000001",
        municipality_code: "99999",
        card_expiry: "20351231",
        extra_apps,
    })?;
    Ok(Sample { card, sign_cert, auth_cert, sign_ca, auth_ca })
}
