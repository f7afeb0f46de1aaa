//! Smartphone certificates (shared/spec/20-pki.md §4, 10-card.md §8, 00-system.md flow 7): a
//! resident applies online with the card's signature; the phone's secure element generated the
//! two key pairs; the authority certifies them with the smartphone profile. A new enrolment
//! supersedes the old phone's certificates; the call centre suspends a lost phone; the phone
//! revokes itself with its own user-authentication key. Death and card loss reach the phones
//! through [`Authority::record_event`] (a phone is a row of `cards` with device `android` /
//! `iphone`).
//!
//! | endpoint | authenticated by | effect |
//! |---|---|---|
//! | `POST /v1/smartphone/challenges` | — | a one-time challenge for one card's enrolment |
//! | `POST /v1/smartphone/applications` | the card's signature key ([`SignedDocument`]) over a challenged application, and the new keys (proof of possession) | new phone, 2 certificates; the old phone's superseded |
//! | `POST /v1/counter/phones/{id}/suspension` | a counter key ([`CounterCaller`]) | both certificates certificateHold, phone `suspended` |
//! | `POST /v1/smartphone/{id}/revocation` | that phone's user-authentication key | both certificates cessationOfOperation, phone `returned` |
//!
//! The client half ([`PhoneSecureElement`], [`sign_document`], [`revocation_document`]) is what
//! the phone (and later the CLI) runs: keys are generated inside the emulated secure element and
//! only their public halves leave it.
//!
//! **Domain separation.** The card signs SHA-256 of whatever it is given, and the signature API
//! lets any relying party have a hash signed; so a card signature over a document alone does not
//! show that the holder meant to enrol a phone. An application therefore names a one-time
//! challenge the authority issued for that card's enrolment ([`CHALLENGE_LIFETIME`], single use,
//! refused for any other card), has its own document type ([`APPLICATION_TYPE`]; consents have
//! theirs, naming the SP and the service), and carries the new keys' own signatures over the
//! challenge and the keys ([`POSSESSION_TYPE`]): no one can have another's public key certified,
//! and a key that any certificate already carries is refused.

use std::sync::Arc;

use async_trait::async_trait;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::routing::post;
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hanko_card::layout::jpki;
use hanko_card::{
    BlankChip, Card, ChipKeyError, Client, ClientError, Device, Personalization, PersonalizeError, Slot, Transport,
};
use hanko_pki::der::asn1::UintRef;
use hanko_pki::der::{Decode, Encode};
use hanko_pki::spki::SubjectPublicKeyInfoOwned;
use hanko_pki::time::format_description::well_known::Rfc3339;
use hanko_pki::time::{Duration, OffsetDateTime};
use hanko_pki::{
    CaKind, CertKind, CrlReason, DigestAlgorithm, DigestInfo, JpkiCertificate, RsaPublicKey, Serial, SignatureAlgorithm,
};
use hanko_store::sqlx::{self, Row};
use hanko_store::StoreError;
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};

use crate::error::AuthorityError;
use crate::register::{date_str, serial_of, ts, CardRecord, CardStatus, CertRecord, PersonStatus, SqlStore};
use crate::signed::{SignedDocument, SignedWith};
use crate::verifiers::CounterCaller;
use crate::Authority;

/// The `type` of a smartphone application document (v2: bound to a challenge, with proofs of
/// possession; v1 documents are refused).
pub const APPLICATION_TYPE: &str = "hanko-smartphone-application-v2";

/// The first line of what each new phone key signs as proof of possession:
/// `POSSESSION_TYPE \n challenge \n device \n sign_public_key \n auth_public_key` (the base64
/// strings as in the application), PKCS#1 v1.5 with SHA-256.
pub const POSSESSION_TYPE: &str = "hanko-smartphone-key-possession-v1";

/// How long an enrolment challenge may be used after it was issued (once).
pub const CHALLENGE_LIFETIME: Duration = Duration::minutes(5);

/// The `type` of a smartphone revocation document.
pub const REVOCATION_TYPE: &str = "hanko-smartphone-revocation-v1";

/// How far the time stated in a document (`applied_at`, `at`) may be from the authority's clock,
/// either way. A replayed application is refused anyway (its keys are already certified); a
/// replayed revocation finds its certificate revoked.
pub const DOCUMENT_WINDOW: Duration = Duration::days(1);

/// The application the card signs:
/// `{"type":"hanko-smartphone-application-v2","challenge":<from POST /v1/smartphone/challenges>,
/// "device":"android"|"iphone","sign_public_key":<base64 SPKI DER>,"auth_public_key":<base64 SPKI
/// DER>,"sign_key_proof":<base64>,"auth_key_proof":<base64>,"applied_at":RFC 3339}`. The proofs
/// are each new key's signature over [`possession_message`]. Unknown and duplicate fields are
/// refused.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ApplicationDocument {
    #[serde(rename = "type")]
    kind: String,
    challenge: String,
    device: String,
    sign_public_key: String,
    auth_public_key: String,
    sign_key_proof: String,
    auth_key_proof: String,
    #[serde(with = "time::serde::rfc3339")]
    applied_at: OffsetDateTime,
}

/// What each new key signs to prove the phone holds it (see [`POSSESSION_TYPE`]).
fn possession_message(challenge: &str, device: &str, sign_public_key: &str, auth_public_key: &str) -> Vec<u8> {
    format!("{POSSESSION_TYPE}\n{challenge}\n{device}\n{sign_public_key}\n{auth_public_key}").into_bytes()
}

/// A one-time enrolment challenge (`POST /v1/smartphone/challenges`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PhoneChallenge {
    /// 32 random bytes, base64url without padding; goes into the application.
    pub challenge: String,
    /// The card whose signature key must sign the application.
    pub card_id: String,
    /// After this the challenge is refused (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// The body of `POST /v1/smartphone/challenges`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChallengeRequest {
    card_id: String,
}

/// Storage of smartphone enrolment: one-time challenges and certified keys by hash.
#[async_trait]
pub trait PhoneStore: Send + Sync {
    /// Stores a challenge for `card_id` (and drops the expired ones).
    async fn add_phone_challenge(&self, c: &PhoneChallenge, now: OffsetDateTime) -> Result<(), StoreError>;
    /// Uses up `challenge` if it was issued for `card_id` and has not expired: true once, false
    /// for an unknown, used, expired or foreign one.
    async fn take_phone_challenge(
        &self,
        challenge: &str,
        card_id: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// A certificate (any kind, any person) whose SubjectPublicKeyInfo hashes to `spki_sha256`.
    async fn certificate_with_key(&self, spki_sha256: &str) -> Result<Option<Serial>, StoreError>;
    /// Computes the key hash of certificates stored before it was kept; returns how many.
    async fn backfill_key_hashes(&self) -> Result<usize, StoreError>;
}

/// SHA-256 (hex) of a SubjectPublicKeyInfo's DER.
fn key_hash(spki_der: &[u8]) -> String {
    hex::encode(DigestAlgorithm::Sha256.digest(spki_der))
}

/// How many unused enrolment challenges a card can have at once; asking for another drops the
/// oldest.
pub const MAX_LIVE_CHALLENGES: i64 = 3;

/// The key hash of a certificate (DER), as the register keeps it.
pub(crate) fn certificate_key_hash(der: &[u8]) -> Option<String> {
    JpkiCertificate::from_der(der).ok().map(|c| key_hash(c.public_key_der()))
}

#[async_trait]
impl PhoneStore for SqlStore {
    async fn add_phone_challenge(&self, c: &PhoneChallenge, now: OffsetDateTime) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM phone_challenges WHERE expires_at <= $1")
            .bind(ts(now))
            .execute(self.db.pool())
            .await?;
        sqlx::query("INSERT INTO phone_challenges (challenge, card_id, expires_at) VALUES ($1, $2, $3)")
            .bind(&c.challenge)
            .bind(&c.card_id)
            .bind(ts(c.expires_at))
            .execute(self.db.pool())
            .await?;
        // At most MAX_LIVE_CHALLENGES per card (the newest): the table stays bounded by the
        // number of active cards however often the unauthenticated route is called.
        sqlx::query(
            "DELETE FROM phone_challenges WHERE card_id = $1 AND challenge NOT IN \
             (SELECT challenge FROM phone_challenges WHERE card_id = $1 ORDER BY expires_at DESC LIMIT $2)",
        )
        .bind(&c.card_id)
        .bind(MAX_LIVE_CHALLENGES)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    async fn take_phone_challenge(
        &self,
        challenge: &str,
        card_id: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        // One statement: of two applications racing with one challenge, one wins.
        let done =
            sqlx::query("DELETE FROM phone_challenges WHERE challenge = $1 AND card_id = $2 AND expires_at > $3")
                .bind(challenge)
                .bind(card_id)
                .bind(ts(now))
                .execute(self.db.pool())
                .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn certificate_with_key(&self, spki_sha256: &str) -> Result<Option<Serial>, StoreError> {
        let row = sqlx::query("SELECT serial FROM certificates WHERE spki_sha256 = $1 LIMIT 1")
            .bind(spki_sha256)
            .fetch_optional(self.db.pool())
            .await?;
        row.map(|r| serial_of(&r.try_get::<String, _>("serial")?)).transpose()
    }

    async fn backfill_key_hashes(&self) -> Result<usize, StoreError> {
        let mut done = 0;
        loop {
            let rows = sqlx::query(
                "SELECT serial, der FROM certificates WHERE der IS NOT NULL AND spki_sha256 IS NULL LIMIT 500",
            )
            .fetch_all(self.db.pool())
            .await?;
            if rows.is_empty() {
                return Ok(done);
            }
            for r in &rows {
                let serial: String = r.try_get("serial")?;
                let der: Vec<u8> = r.try_get("der")?;
                // An unparsable row gets an impossible hash, so it is not read again.
                let hash = certificate_key_hash(&der).unwrap_or_else(|| "-".into());
                sqlx::query("UPDATE certificates SET spki_sha256 = $2 WHERE serial = $1")
                    .bind(&serial)
                    .bind(hash)
                    .execute(self.db.pool())
                    .await?;
                done += 1;
            }
        }
    }
}

/// The revocation the phone signs with its user-authentication key:
/// `{"type":"hanko-smartphone-revocation-v1","phone_id":…,"at":RFC 3339}`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RevocationDocument {
    #[serde(rename = "type")]
    kind: String,
    phone_id: String,
    #[serde(with = "time::serde::rfc3339")]
    at: OffsetDateTime,
}

/// The authority's answer to an application: what the phone writes into its secure element
/// ([`PhoneSecureElement::personalize`]), and what the enrolment revoked. `Debug` elides the
/// certificates (they carry the 4 facts).
#[derive(Clone, Serialize, Deserialize)]
pub struct PhoneEnrolment {
    /// The phone's id in the register (`phone` + 10 digits; the image name).
    pub phone_id: String,
    /// `android` or `iphone`.
    pub device: String,
    /// The expiry of the card the application was signed with (`YYYY-MM-DD`); caps the
    /// certificates' validity.
    pub expiry: String,
    /// Serial of the smartphone signature certificate (hex).
    pub signature_serial: String,
    /// Serial of the smartphone user-authentication certificate (hex).
    pub auth_serial: String,
    /// The smartphone signature certificate, DER, base64.
    pub signature_certificate: String,
    /// The smartphone user-authentication certificate, DER, base64.
    pub auth_certificate: String,
    /// The signature CA generation that issued it, DER, base64.
    pub signature_ca: String,
    /// The user-authentication CA generation that issued it, DER, base64.
    pub auth_ca: String,
    /// The earlier phone's certificates this enrolment revoked (superseded).
    pub revoked: Vec<RevokedCertificate>,
}

impl std::fmt::Debug for PhoneEnrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let elided = "[elided]";
        f.debug_struct("PhoneEnrolment")
            .field("phone_id", &self.phone_id)
            .field("device", &self.device)
            .field("expiry", &self.expiry)
            .field("signature_serial", &self.signature_serial)
            .field("auth_serial", &self.auth_serial)
            .field("signature_certificate", &elided)
            .field("auth_certificate", &elided)
            .field("signature_ca", &elided)
            .field("auth_ca", &elided)
            .field("revoked", &self.revoked)
            .finish()
    }
}

/// A certificate an operation revoked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokedCertificate {
    /// Serial (hex).
    pub serial: String,
    /// CRL reason name (`superseded`, `certificateHold`, `cessationOfOperation` …).
    pub reason: String,
}

/// What a suspension or a revocation did to a phone.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PhoneChange {
    /// The phone.
    pub phone_id: String,
    /// Its status now (`suspended`, `returned`).
    pub status: String,
    /// The certificates revoked now (empty when they were already).
    pub revoked: Vec<RevokedCertificate>,
}

fn phone_device(s: &str) -> Option<Device> {
    match s {
        "android" => Some(Device::Android),
        "iphone" => Some(Device::Iphone),
        _ => None,
    }
}

fn status_str(s: CardStatus) -> String {
    format!("{s:?}").to_lowercase()
}

fn check_time(field: &str, stated: OffsetDateTime, now: OffsetDateTime) -> Result<(), AuthorityError> {
    if (stated - now).abs() > DOCUMENT_WINDOW {
        let rfc3339 = |t: OffsetDateTime| t.format(&Rfc3339).unwrap_or_else(|_| t.to_string());
        return Err(AuthorityError::Invalid(format!(
            "{field} {} is more than a day from the authority's clock ({})",
            rfc3339(stated),
            rfc3339(now)
        )));
    }
    Ok(())
}

/// A phone key from the application: DER SubjectPublicKeyInfo (strict: it re-encodes to the
/// same bytes), rsaEncryption, a 2048-bit modulus and e = 65537 (20-pki.md §2). Returns the key
/// and its DER.
fn phone_key(field: &str, b64: &str) -> Result<(SubjectPublicKeyInfoOwned, Vec<u8>), AuthorityError> {
    let invalid = |what: &str| AuthorityError::Invalid(format!("{field}: {what}"));
    let der = B64.decode(b64.as_bytes()).map_err(|_| invalid("not base64"))?;
    let spki = SubjectPublicKeyInfoOwned::from_der(&der).map_err(|_| invalid("not a DER SubjectPublicKeyInfo"))?;
    if spki.to_der().ok().as_deref() != Some(der.as_slice()) {
        return Err(invalid("not a DER SubjectPublicKeyInfo"));
    }
    if spki.algorithm.oid != hanko_pki::oid::RSA_ENCRYPTION {
        return Err(invalid("not an RSA key"));
    }
    let raw = spki.subject_public_key.as_bytes().ok_or_else(|| invalid("not an RSA key"))?;
    let ints = Vec::<UintRef<'_>>::from_der(raw).map_err(|_| invalid("not an RSAPublicKey"))?;
    let [modulus, exponent] = ints.as_slice() else {
        return Err(invalid("not an RSAPublicKey"));
    };
    let n = modulus.as_bytes();
    if n.len() != 256 || n[0] & 0x80 == 0 || exponent.as_bytes() != [0x01, 0x00, 0x01] {
        return Err(invalid("not an RSA-2048 key with e = 65537"));
    }
    RsaPublicKey::from_spki_der(&der).map_err(|e| invalid(&e.to_string()))?;
    Ok((spki, der))
}

/// Checks a proof of possession: `proof` (base64) is the signature of the key `spki_der` over
/// `message`.
fn check_proof(field: &str, proof: &str, spki_der: &[u8], message: &[u8]) -> Result<(), AuthorityError> {
    let invalid = |what: &str| AuthorityError::Invalid(format!("{field}: {what}"));
    let signature = B64.decode(proof.as_bytes()).map_err(|_| invalid("not base64"))?;
    let key = RsaPublicKey::from_spki_der(spki_der).map_err(|e| invalid(&e.to_string()))?;
    key.verify(SignatureAlgorithm::RsaPkcs1Sha256, message, &signature)
        .map_err(|_| invalid("the new key's signature over the application does not verify (no proof of possession)"))
}

impl Authority {
    /// Issues a one-time enrolment challenge for `card_id` (`POST /v1/smartphone/challenges`):
    /// the card must be an active card (not a phone); the challenge is good for
    /// [`CHALLENGE_LIFETIME`], once, in an application signed by that card.
    pub async fn phone_challenge(&self, card_id: &str) -> Result<PhoneChallenge, AuthorityError> {
        let card = self.card(card_id).await?;
        if card.device != Device::Card || card.status != CardStatus::Active {
            return Err(AuthorityError::Conflict(format!("card {} is not an active card", card.id)));
        }
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        let now = self.clock.now();
        let challenge = PhoneChallenge {
            challenge: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes),
            card_id: card.id,
            expires_at: now + CHALLENGE_LIFETIME,
        };
        self.store.add_phone_challenge(&challenge, now).await?;
        Ok(challenge)
    }

    /// A phone (a `cards` row of device `android` or `iphone`), or `NotFound`.
    pub async fn phone(&self, id: &str) -> Result<CardRecord, AuthorityError> {
        match self.store.card(id).await? {
            Some(c) if c.device != Device::Card => Ok(c),
            _ => Err(AuthorityError::not_found("phone", id)),
        }
    }

    /// Revokes every live certificate on `card_id` for `reason`, into `out`.
    async fn revoke_all_on(
        &self,
        card_id: &str,
        reason: CrlReason,
        out: &mut Vec<RevokedCertificate>,
    ) -> Result<(), AuthorityError> {
        for c in self.live_certificates(card_id).await? {
            if self.revoke(&c.serial, reason).await? {
                out.push(RevokedCertificate { serial: c.serial.to_string(), reason: reason.name().to_owned() });
            }
        }
        Ok(())
    }

    /// Enrols a phone from an application signed with the card's signature key
    /// (`POST /v1/smartphone/applications`).
    ///
    /// The signer must hold a **card** signature certificate (not a phone's: a phone cannot
    /// beget phones) of this authority, unrevoked, on an active card, of a resident who may sign
    /// today; the document of type [`APPLICATION_TYPE`]; `applied_at` within
    /// [`DOCUMENT_WINDOW`]; both keys RSA-2048 with e = 65537, distinct, each proving possession
    /// ([`POSSESSION_TYPE`]), and carried by no certificate yet (of anyone); the challenge issued
    /// for this card by [`Authority::phone_challenge`], unexpired and unused (it is used up
    /// here). The phone gets a `cards` row expiring with the card, and a
    /// [`CertKind::SmartphoneSignature`] and a [`CertKind::SmartphoneAuth`] certificate.
    ///
    /// **The earlier phone's certificates are revoked as `superseded`** and linked to the new
    /// ones (predecessor / successor, per kind), and that phone becomes `replaced`. The
    /// alternative, cessationOfOperation, tells a verifier "the holder stopped using it"; but the
    /// same person continues with the same kind of credential on a new device, which is what
    /// renewal means to a verifier (20-pki.md §5.3: superseded → follow the serial linkage,
    /// §4 新旧シリアル番号の紐付け). So a bank that keyed a customer to the old phone's
    /// user-authentication serial can follow the link instead of losing the customer. Only
    /// certificates superseded now are linked: a phone already suspended or revoked keeps its
    /// reason. The new certificates are issued before the old ones are revoked, so a failure in
    /// between leaves the old phone usable rather than the resident with none.
    pub async fn enrol_smartphone(&self, signed: &SignedDocument) -> Result<PhoneEnrolment, AuthorityError> {
        let (document, _, signer) = self.verify_signed(signed, SignedWith::Signature).await?;
        if signer.kind != CertKind::Signature {
            return Err(AuthorityError::Forbidden(format!(
                "a smartphone application is signed with a card's signature certificate, not a {} certificate",
                signer.kind.as_str()
            )));
        }
        let card = self.card(&signer.card_id).await?;
        if card.device != Device::Card || card.status != CardStatus::Active {
            return Err(AuthorityError::Conflict(format!("card {} is not an active card", card.id)));
        }
        let person = self.person(&signer.person_id).await?;
        if person.status != PersonStatus::Resident {
            return Err(AuthorityError::Conflict(format!("person {} is not a resident", person.id)));
        }
        if !self.may_sign(&person) {
            return Err(AuthorityError::Forbidden("the holder may not hold a signature certificate".into()));
        }
        let app: ApplicationDocument = serde_json::from_slice(&document)
            .map_err(|e| AuthorityError::Invalid(format!("not a smartphone application: {e}")))?;
        if app.kind != APPLICATION_TYPE {
            return Err(AuthorityError::Invalid(format!("document type {:?} is not {APPLICATION_TYPE}", app.kind)));
        }
        let device = phone_device(&app.device)
            .ok_or_else(|| AuthorityError::Invalid(format!("device {:?}: android or iphone", app.device)))?;
        let now = self.clock.now();
        check_time("applied_at", app.applied_at, now)?;
        let (sign_key, sign_der) = phone_key("sign_public_key", &app.sign_public_key)?;
        let (auth_key, auth_der) = phone_key("auth_public_key", &app.auth_public_key)?;
        if sign_der == auth_der {
            return Err(AuthorityError::Invalid("the signature and authentication keys must differ".into()));
        }
        let message = possession_message(&app.challenge, &app.device, &app.sign_public_key, &app.auth_public_key);
        check_proof("sign_key_proof", &app.sign_key_proof, &sign_der, &message)?;
        check_proof("auth_key_proof", &app.auth_key_proof, &auth_der, &message)?;
        for der in [&sign_der, &auth_der] {
            if self.store.certificate_with_key(&key_hash(der)).await?.is_some() {
                return Err(AuthorityError::Conflict(
                    "a key of this application is already certified (a replayed application, or another's key?)".into(),
                ));
            }
        }
        if !self.store.take_phone_challenge(&app.challenge, &card.id, now).await? {
            return Err(AuthorityError::Forbidden(format!(
                "the challenge is unknown, used, expired or not issued for card {}: \
                 ask POST /v1/smartphone/challenges for a new one",
                card.id
            )));
        }

        // The phones this one supersedes, and per kind the newest live certificate to link.
        let old_phones: Vec<CardRecord> = self
            .store
            .cards_of(&person.id)
            .await?
            .into_iter()
            .filter(|c| c.device != Device::Card && c.status == CardStatus::Active)
            .collect();
        let mut old_live = Vec::new();
        for phone in &old_phones {
            old_live.extend(self.live_certificates(&phone.id).await?);
        }
        let newest = |kind: CertKind| {
            old_live
                .iter()
                .filter(|c| c.kind == kind)
                .max_by_key(|c| c.validity.map(|(nb, _)| nb))
                .map(|c| c.serial.clone())
        };

        let phone_id = loop {
            let id = format!("phone{:010}", OsRng.next_u64() % 10_000_000_000);
            let record = CardRecord {
                id: id.clone(),
                person_id: person.id.clone(),
                device,
                status: CardStatus::Active,
                expiry: card.expiry,
                issued_at: now,
            };
            match self.store.add_card(&record).await {
                Ok(()) => break id,
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        };
        let sign = self
            .issue_certificate(
                CertKind::SmartphoneSignature,
                &person,
                &phone_id,
                sign_key,
                card.expiry,
                newest(CertKind::SmartphoneSignature),
            )
            .await?;
        let auth = self
            .issue_certificate(
                CertKind::SmartphoneAuth,
                &person,
                &phone_id,
                auth_key,
                card.expiry,
                newest(CertKind::SmartphoneAuth),
            )
            .await?;
        let mut revoked = Vec::new();
        for old in &old_phones {
            self.revoke_all_on(&old.id, CrlReason::SUPERSEDED, &mut revoked).await?;
            self.store.set_card_status(&old.id, CardStatus::Replaced).await?;
        }
        let (signature_ca, auth_ca) = {
            let cas = self.cas()?;
            let der = |kind: CaKind, generation: &str| {
                cas.get(kind, generation).map(|g| B64.encode(g.ca.certificate_der())).ok_or(AuthorityError::NoCa(kind))
            };
            (der(CaKind::Signature, &sign.generation)?, der(CaKind::Auth, &auth.generation)?)
        };
        let detail = format!("{}; {} superseded", device.as_str(), revoked.len());
        self.store.add_event(now, &person.id, Some(&phone_id), "smartphone-enrolled", &detail).await?;
        let cert_b64 = |c: &CertRecord| B64.encode(c.der.as_deref().unwrap_or_default());
        Ok(PhoneEnrolment {
            phone_id,
            device: device.as_str().to_owned(),
            expiry: date_str(card.expiry),
            signature_serial: sign.serial.to_string(),
            auth_serial: auth.serial.to_string(),
            signature_certificate: cert_b64(&sign),
            auth_certificate: cert_b64(&auth),
            signature_ca,
            auth_ca,
            revoked,
        })
    }

    /// Suspends a phone on a call to the call centre (`POST /v1/counter/phones/{id}/suspension`):
    /// both certificates certificateHold — never released in JPKI (20-pki.md §3) — and the phone
    /// `suspended`. Repeating it changes nothing; a replaced or returned phone is a conflict.
    pub async fn suspend_phone(&self, phone_id: &str) -> Result<PhoneChange, AuthorityError> {
        let phone = self.phone(phone_id).await?;
        if !matches!(phone.status, CardStatus::Active | CardStatus::Suspended) {
            return Err(AuthorityError::Conflict(format!("phone {phone_id} is {}", status_str(phone.status))));
        }
        let mut revoked = Vec::new();
        self.revoke_all_on(phone_id, CrlReason::CERTIFICATE_HOLD, &mut revoked).await?;
        self.store.set_card_status(phone_id, CardStatus::Suspended).await?;
        let detail = format!("{} held", revoked.len());
        self.store.add_event(self.clock.now(), &phone.person_id, Some(phone_id), "phone-suspended", &detail).await?;
        Ok(PhoneChange { phone_id: phone_id.to_owned(), status: status_str(CardStatus::Suspended), revoked })
    }

    /// Revokes a phone at its holder's request from the phone itself
    /// (`POST /v1/smartphone/{id}/revocation`): a revocation document signed with **that phone's**
    /// user-authentication key (a card's key or another phone's is refused), naming the phone,
    /// `at` within [`DOCUMENT_WINDOW`]. Both certificates cessationOfOperation ("no longer
    /// needed"), the phone `returned`.
    pub async fn revoke_phone(&self, phone_id: &str, signed: &SignedDocument) -> Result<PhoneChange, AuthorityError> {
        let (document, _, signer) = self.verify_signed(signed, SignedWith::Auth).await?;
        if signer.kind != CertKind::SmartphoneAuth || signer.card_id != phone_id {
            return Err(AuthorityError::Forbidden(
                "a phone's revocation is signed with that phone's user-authentication key".into(),
            ));
        }
        let doc: RevocationDocument = serde_json::from_slice(&document)
            .map_err(|e| AuthorityError::Invalid(format!("not a smartphone revocation: {e}")))?;
        if doc.kind != REVOCATION_TYPE {
            return Err(AuthorityError::Invalid(format!("document type {:?} is not {REVOCATION_TYPE}", doc.kind)));
        }
        if doc.phone_id != phone_id {
            return Err(AuthorityError::Invalid(format!("the document names phone {:?}", doc.phone_id)));
        }
        check_time("at", doc.at, self.clock.now())?;
        let phone = self.phone(phone_id).await?;
        if phone.status != CardStatus::Active {
            return Err(AuthorityError::Conflict(format!("phone {phone_id} is {}", status_str(phone.status))));
        }
        let mut revoked = Vec::new();
        self.revoke_all_on(phone_id, CrlReason::CESSATION_OF_OPERATION, &mut revoked).await?;
        self.store.set_card_status(phone_id, CardStatus::Returned).await?;
        let detail = format!("{} revoked", revoked.len());
        self.store.add_event(self.clock.now(), &phone.person_id, Some(phone_id), "phone-revoked", &detail).await?;
        Ok(PhoneChange { phone_id: phone_id.to_owned(), status: status_str(CardStatus::Returned), revoked })
    }
}

/// A request body as a [`SignedDocument`] (a malformed one answers problem+json, not axum's
/// plain-text rejection).
fn signed_body(body: &Bytes) -> Result<SignedDocument, AuthorityError> {
    serde_json::from_slice(body).map_err(|e| AuthorityError::Invalid(format!("not a signed document: {e}")))
}

async fn post_challenge(State(a): State<Arc<Authority>>, body: Bytes) -> Result<Json<PhoneChallenge>, AuthorityError> {
    let req: ChallengeRequest =
        serde_json::from_slice(&body).map_err(|e| AuthorityError::Invalid(format!("not a challenge request: {e}")))?;
    Ok(Json(a.phone_challenge(&req.card_id).await?))
}

async fn post_application(
    State(a): State<Arc<Authority>>,
    body: Bytes,
) -> Result<Json<PhoneEnrolment>, AuthorityError> {
    Ok(Json(a.enrol_smartphone(&signed_body(&body)?).await?))
}

async fn post_suspension(
    State(a): State<Arc<Authority>>,
    _: CounterCaller,
    Path(id): Path<String>,
) -> Result<Json<PhoneChange>, AuthorityError> {
    Ok(Json(a.suspend_phone(&id).await?))
}

async fn post_revocation(
    State(a): State<Arc<Authority>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<PhoneChange>, AuthorityError> {
    Ok(Json(a.revoke_phone(&id, &signed_body(&body)?).await?))
}

/// `POST /v1/smartphone/challenges`, `POST /v1/smartphone/applications`,
/// `POST /v1/smartphone/{id}/revocation`, `POST /v1/counter/phones/{id}/suspension`. Body size
/// is capped by the router.
pub(crate) fn routes() -> Router<Arc<Authority>> {
    Router::new()
        .route("/v1/smartphone/challenges", post(post_challenge))
        .route("/v1/smartphone/applications", post(post_application))
        .route("/v1/smartphone/{id}/revocation", post(post_revocation))
        .route("/v1/counter/phones/{id}/suspension", post(post_suspension))
}

// ---------------------------------------------------------------------------------------------
// The phone's side.

/// The phone side failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PhoneClientError {
    /// A secure element is for a phone (caller misuse).
    #[error("a {} is not a phone", .0.as_str())]
    NotAPhone(Device),
    /// The answer is for another device than this secure element (caller misuse).
    #[error("the answer is for a {answer} phone; this secure element is a {ours} one")]
    DeviceMismatch {
        /// The device the answer names.
        answer: String,
        /// This secure element's device.
        ours: &'static str,
    },
    /// The authority's answer is not usable.
    #[error("the authority's answer: {0}")]
    Answer(String),
    /// The secure element could not make a key.
    #[error(transparent)]
    Key(#[from] ChipKeyError),
    /// The secure element refused its personalisation (a PIN format, a certificate not for its
    /// keys).
    #[error(transparent)]
    Personalize(#[from] PersonalizeError),
    /// The card or phone refused a command (wrong PIN …).
    #[error(transparent)]
    Card(#[from] ClientError),
    /// Encoding a document failed.
    #[error("encoding: {0}")]
    Encode(String),
}

/// A phone's secure element before enrolment: the JPKI applet has generated its signature and
/// user-authentication key pairs; only their public halves ever leave it.
#[derive(Debug)]
pub struct PhoneSecureElement {
    device: Device,
    chip: BlankChip,
}

/// Phones have no 共通AP, so [`Personalization::municipality_code`] is not written anywhere; it
/// only has to have its format.
const NO_MUNICIPALITY: &str = "00000";

fn answer_der(field: &str, b64: &str) -> Result<(Vec<u8>, JpkiCertificate), PhoneClientError> {
    let der = B64.decode(b64.as_bytes()).map_err(|_| PhoneClientError::Answer(format!("{field} is not base64")))?;
    let cert = JpkiCertificate::from_der(&der)
        .map_err(|e| PhoneClientError::Answer(format!("{field} is not a JPKI certificate: {e}")))?;
    Ok((der, cert))
}

impl PhoneSecureElement {
    /// Generates the key pairs in a new Android or iPhone secure element; refuses
    /// [`Device::Card`].
    pub fn generate(device: Device) -> Result<PhoneSecureElement, PhoneClientError> {
        if device == Device::Card {
            return Err(PhoneClientError::NotAPhone(device));
        }
        Ok(PhoneSecureElement { device, chip: BlankChip::generate(device)? })
    }

    /// Android or iPhone.
    pub fn device(&self) -> Device {
        self.device
    }

    /// The application document (JSON bytes) for the card to sign: the `challenge` the
    /// authority issued for that card (`POST /v1/smartphone/challenges`), stating `applied_at`;
    /// the secure element signs it with both new keys (proof of possession).
    pub fn application_document(
        &self,
        challenge: &str,
        applied_at: OffsetDateTime,
    ) -> Result<Vec<u8>, PhoneClientError> {
        let spki = |k: &SubjectPublicKeyInfoOwned| -> Result<String, PhoneClientError> {
            Ok(B64.encode(k.to_der().map_err(|e| PhoneClientError::Encode(e.to_string()))?))
        };
        let device = self.device.as_str().to_owned();
        let sign_public_key = spki(self.chip.sign_public_key())?;
        let auth_public_key = spki(self.chip.auth_public_key())?;
        let (sign_proof, auth_proof) =
            self.chip.prove_possession(&possession_message(challenge, &device, &sign_public_key, &auth_public_key))?;
        let doc = ApplicationDocument {
            kind: APPLICATION_TYPE.to_owned(),
            challenge: challenge.to_owned(),
            device,
            sign_public_key,
            auth_public_key,
            sign_key_proof: B64.encode(sign_proof),
            auth_key_proof: B64.encode(auth_proof),
            applied_at,
        };
        serde_json::to_vec(&doc).map_err(|e| PhoneClientError::Encode(e.to_string()))
    }

    /// Writes the authority's answer into the secure element with the holder's chosen
    /// signature password (6–16 `[A-Z0-9]`) and PIN (4 digits); returns the personalised phone
    /// (only the JPKI-AP, 10-card.md §8). Checks the answer first: the device, the phone id, a
    /// smartphone signature and a user-authentication certificate each issued by the CA
    /// certificate given with it, and (in the personalisation) that they certify this element's
    /// keys. Save it with `hanko_cardlink::CardFile::create(dir, &answer.phone_id, card)`.
    pub fn personalize(
        self,
        answer: &PhoneEnrolment,
        sign_password: &[u8],
        auth_pin: &[u8],
    ) -> Result<Card, PhoneClientError> {
        if phone_device(&answer.device) != Some(self.device) {
            return Err(PhoneClientError::DeviceMismatch { answer: answer.device.clone(), ours: self.device.as_str() });
        }
        let id = &answer.phone_id;
        if id.len() != 15 || !id.starts_with("phone") || !id[5..].bytes().all(|b| b.is_ascii_digit()) {
            return Err(PhoneClientError::Answer(format!("phone id {id:?} is not phone + 10 digits")));
        }
        let (sign, sign_cert) = answer_der("signature_certificate", &answer.signature_certificate)?;
        let (auth, auth_cert) = answer_der("auth_certificate", &answer.auth_certificate)?;
        let (sign_ca, sign_ca_cert) = answer_der("signature_ca", &answer.signature_ca)?;
        let (auth_ca, auth_ca_cert) = answer_der("auth_ca", &answer.auth_ca)?;
        if sign_cert.kind() != CertKind::SmartphoneSignature {
            return Err(PhoneClientError::Answer("signature_certificate is not a smartphone signature one".into()));
        }
        if !matches!(auth_cert.kind(), CertKind::Auth | CertKind::SmartphoneAuth) {
            return Err(PhoneClientError::Answer("auth_certificate is not a user-authentication one".into()));
        }
        for (what, cert, ca) in [("signature", &sign_cert, &sign_ca_cert), ("auth", &auth_cert, &auth_ca_cert)] {
            if ca.kind() != CertKind::Ca
                || cert.authority_key_id().is_none()
                || cert.authority_key_id() != ca.subject_key_id()
            {
                return Err(PhoneClientError::Answer(format!("the {what} certificate is not from the CA given")));
            }
        }
        let expiry: String = answer.expiry.chars().filter(|c| *c != '-').collect();
        if expiry.len() != 8 || !expiry.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PhoneClientError::Answer(format!("expiry {:?} is not YYYY-MM-DD", answer.expiry)));
        }
        Ok(self.chip.personalize(Personalization {
            sign_cert: Some(&sign),
            sign_ca_cert: &sign_ca,
            auth_cert: &auth,
            auth_ca_cert: &auth_ca,
            sign_password,
            auth_pin,
            card_serial: &id.to_ascii_uppercase(),
            municipality_code: NO_MUNICIPALITY,
            card_expiry: &expiry,
            extra_apps: Vec::new(),
        })?)
    }
}

/// The revocation document (JSON bytes) a phone signs with its user-authentication key.
pub fn revocation_document(phone_id: &str, at: OffsetDateTime) -> Result<Vec<u8>, PhoneClientError> {
    let doc = RevocationDocument { kind: REVOCATION_TYPE.to_owned(), phone_id: phone_id.to_owned(), at };
    serde_json::to_vec(&doc).map_err(|e| PhoneClientError::Encode(e.to_string()))
}

/// Signs `document` on a card or phone through its APDUs: VERIFY `pin` of `slot`, read the
/// slot's certificate (on Android the user-authentication certificate needs the PIN too), and
/// `80 2A` over the SHA-256 DigestInfo of the document. The private key stays in the chip.
pub fn sign_document<T: Transport>(
    client: &mut Client<T>,
    slot: Slot,
    pin: &[u8],
    document: &[u8],
) -> Result<SignedDocument, PhoneClientError> {
    let certificate = match slot {
        Slot::Signature => client.read_signature_certificate(pin)?,
        Slot::Auth => {
            client.verify_pin(Slot::Auth, pin)?;
            client.select_ef(jpki::AUTH_CERT)?;
            client.read_der_ef()?
        }
    };
    let digest_info = DigestInfo::of(DigestAlgorithm::Sha256, document)
        .to_der()
        .map_err(|e| PhoneClientError::Encode(e.to_string()))?;
    let signature = client.sign(slot, pin, &digest_info)?;
    Ok(SignedDocument::new(document, &signature, &certificate))
}
