//! The serial services of the authority for registered verifiers (shared/spec/20-pki.md §4):
//!
//! - 対応証明書の発行番号 (corresponding serial, Art. 18(4)/(5)): given a signature certificate's
//!   serial, the serial of the same person's current user-authentication certificate on the
//!   same device, and for a card's signature certificate also the phone's current signature
//!   certificate. Only for verifiers that check both kinds (platform operators). 2 yen.
//! - 新旧シリアル番号の紐付け (old → new serial linkage): the newest certificate that succeeded
//!   an old one through reissue (a move) and renewal, so a customer record survives them.
//! - 年齢判定 (age check): "at least N years old today?" from the register's birth date,
//!   without revealing it.
//!
//! Every service answers only about certificates of this authority (404 otherwise), and only
//! of the kinds the caller is registered to check (403 otherwise).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use hanko_card::Device;
use hanko_pki::time::{Duration, OffsetDateTime};
use hanko_pki::{CertKind, CrlReason, Serial};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::AuthorityError;
use crate::meter::Billable;
use crate::register::{CardStatus, CertRecord};
use crate::verifiers::{Caller, Role};
use crate::Authority;

/// Longest successor chain followed (a card renewed every 5 years for a century, plus moves).
const MAX_CHAIN: usize = 64;

/// The state of a certificate now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CertificateStatus {
    /// Unrevoked and within its validity.
    Valid,
    /// Revoked (never lifted).
    Revoked {
        /// When.
        at: OffsetDateTime,
        /// Why.
        reason: CrlReason,
    },
    /// Past its `notAfter`.
    Expired,
}

impl CertificateStatus {
    /// The state of `c` at `now`.
    pub fn of(c: &CertRecord, now: OffsetDateTime) -> CertificateStatus {
        match (c.revocation, c.validity) {
            (Some((at, reason)), _) => CertificateStatus::Revoked { at, reason },
            (None, Some((_, not_after))) if now > not_after => CertificateStatus::Expired,
            _ => CertificateStatus::Valid,
        }
    }

    /// `valid`, `revoked` or `expired`.
    pub fn as_str(self) -> &'static str {
        match self {
            CertificateStatus::Valid => "valid",
            CertificateStatus::Revoked { .. } => "revoked",
            CertificateStatus::Expired => "expired",
        }
    }
}

/// The answer of the corresponding-serial service.
#[derive(Debug, Clone)]
pub struct Corresponding {
    /// The signature certificate asked about.
    pub serial: Serial,
    /// Its kind (card or smartphone signature).
    pub kind: CertKind,
    /// The person's current user-authentication certificate on the same device, if any.
    pub auth_serial: Option<Serial>,
    /// For a card's signature certificate: the person's current smartphone signature
    /// certificate, if any (Art. 18(4)).
    pub smartphone_signature_serial: Option<Serial>,
}

/// The answer of the linkage service.
#[derive(Debug, Clone)]
pub struct Succession {
    /// The certificate asked about.
    pub serial: Serial,
    /// Its successors, oldest first (empty when it has none); the last is the newest.
    pub chain: Vec<Serial>,
    /// The state of the newest certificate (the one asked about when it has no successor).
    pub status: CertificateStatus,
}

impl Succession {
    /// The newest successor, if any.
    pub fn newest(&self) -> Option<&Serial> {
        self.chain.last()
    }
}

/// Whether `role` may ask about certificates of `kind`.
fn may_check(role: Role, kind: CertKind) -> bool {
    if kind.carries_facts() {
        role.checks_signatures()
    } else {
        role.checks_auth()
    }
}

fn parse_serial(s: &str) -> Result<Serial, AuthorityError> {
    Serial::from_hex(s).ok_or_else(|| AuthorityError::Invalid(format!("{s:?} is not a hex serial")))
}

fn is_live(c: &CertRecord, now: OffsetDateTime) -> bool {
    c.revocation.is_none() && c.validity.is_some_and(|(nb, na)| nb <= now && now <= na)
}

fn newest_live(certs: &[CertRecord], kind: CertKind, now: OffsetDateTime) -> Option<&CertRecord> {
    certs.iter().filter(|c| c.kind == kind && is_live(c, now)).max_by_key(|c| c.validity.map(|(nb, _)| nb))
}

impl Authority {
    /// A signed certificate of this authority that `caller` may ask about.
    async fn certificate_for(&self, caller: &Caller, serial: &Serial) -> Result<CertRecord, AuthorityError> {
        let c = self
            .store
            .certificate(serial)
            .await?
            .filter(|c| c.der.is_some())
            .ok_or_else(|| AuthorityError::not_found("certificate", serial))?;
        if !may_check(caller.verifier.role, c.kind) {
            return Err(AuthorityError::Forbidden(format!(
                "{} is registered as a {} verifier and may not ask about {} certificates",
                caller.verifier.id,
                caller.verifier.role.as_str(),
                c.kind.as_str()
            )));
        }
        Ok(c)
    }

    /// 対応証明書の発行番号: the current user-authentication certificate on the same device as
    /// the valid signature certificate `serial`, and for a card's also the current smartphone
    /// signature certificate. Only for verifiers that check both kinds. Metered (2 yen).
    pub async fn corresponding_serials(
        &self,
        caller: &Caller,
        serial: &Serial,
    ) -> Result<Corresponding, AuthorityError> {
        let role = caller.verifier.role;
        if !(role.checks_signatures() && role.checks_auth()) {
            return Err(AuthorityError::Forbidden(format!(
                "the corresponding-serial service is for verifiers that are both signature and \
                 user-authentication verifiers (Art. 18(5)); {} is registered as a {} verifier only",
                caller.verifier.id,
                role.as_str()
            )));
        }
        let sig = self.certificate_for(caller, serial).await?;
        if !sig.kind.carries_facts() {
            return Err(AuthorityError::Invalid(format!(
                "{serial} is a {} certificate; give a signature certificate's serial",
                sig.kind.as_str()
            )));
        }
        let now = self.clock.now();
        match CertificateStatus::of(&sig, now) {
            CertificateStatus::Valid => {}
            CertificateStatus::Revoked { .. } => return Err(AuthorityError::Revoked(serial.clone())),
            CertificateStatus::Expired => {
                return Err(AuthorityError::Conflict(format!("certificate {serial} has expired")));
            }
        }
        let auth_kind =
            if sig.kind == CertKind::SmartphoneSignature { CertKind::SmartphoneAuth } else { CertKind::Auth };
        let on_device = self.store.certificates_on(&sig.card_id).await?;
        let auth_serial = newest_live(&on_device, auth_kind, now).map(|c| c.serial.clone());
        let mut smartphone_signature_serial = None;
        if sig.kind == CertKind::Signature {
            let phones: Vec<String> = self
                .store
                .cards_of(&sig.person_id)
                .await?
                .into_iter()
                .filter(|c| c.device != Device::Card && c.status == CardStatus::Active)
                .map(|c| c.id)
                .collect();
            let mut certs = Vec::new();
            for phone in &phones {
                certs.extend(self.store.certificates_on(phone).await?);
            }
            smartphone_signature_serial =
                newest_live(&certs, CertKind::SmartphoneSignature, now).map(|c| c.serial.clone());
        }
        self.meter(caller, Billable::CorrespondingSerial);
        Ok(Corresponding { serial: sig.serial, kind: sig.kind, auth_serial, smartphone_signature_serial })
    }

    /// 新旧シリアル番号の紐付け: follows the successor links of `serial` (reissue, renewal) to the
    /// newest certificate. The caller must check certificates of that kind.
    pub async fn successors(&self, caller: &Caller, serial: &Serial) -> Result<Succession, AuthorityError> {
        let first = self.certificate_for(caller, serial).await?;
        let mut chain = Vec::new();
        let mut current = first.clone();
        while let Some(next) = current.successor.clone() {
            if chain.len() >= MAX_CHAIN || chain.contains(&next) || next == first.serial {
                return Err(AuthorityError::Conflict(format!("the successor chain of {serial} does not end")));
            }
            let Some(record) = self.store.certificate(&next).await?.filter(|c| c.der.is_some()) else {
                break;
            };
            chain.push(next);
            current = record;
        }
        let status = CertificateStatus::of(&current, self.clock.now());
        self.meter(caller, Billable::SuccessorLookup);
        Ok(Succession { serial: first.serial, chain, status })
    }

    /// 年齢判定: whether the holder of the valid certificate `serial` is at least `age` years old
    /// on today's date in Japan, from the register's birth date (never revealed). `Conflict`
    /// when the register has no full birth date.
    ///
    /// Only the ages of [`Config::age_thresholds`](crate::Config::age_thresholds) may be asked,
    /// only by a verifier whose role checks the certificate's kind, at most
    /// [`Config::age_check_rate`](crate::Config::age_check_rate) per verifier and certificate;
    /// and it is billed as the validity check it is part of (the seed: 年齢判定機能 needs a
    /// validity check, and only its fee is charged).
    pub async fn age_at_least(&self, caller: &Caller, serial: &Serial, age: u32) -> Result<bool, AuthorityError> {
        if !self.config.age_thresholds.contains(&age) {
            let allowed: Vec<String> = self.config.age_thresholds.iter().map(u32::to_string).collect();
            return Err(AuthorityError::Invalid(format!("age must be one of {}", allowed.join(", "))));
        }
        let cert = self.certificate_for(caller, serial).await?;
        let now = self.clock.now();
        self.age_limit
            .check(&format!("{}/{}", caller.verifier.id, cert.serial), now)
            .map_err(AuthorityError::TooManyRequests)?;
        match CertificateStatus::of(&cert, now) {
            CertificateStatus::Valid => {}
            CertificateStatus::Revoked { .. } => return Err(AuthorityError::Revoked(serial.clone())),
            CertificateStatus::Expired => {
                return Err(AuthorityError::Conflict(format!("certificate {serial} has expired")));
            }
        }
        let person = self.person(&cert.person_id).await?;
        let today = (now + Duration::hours(9)).date();
        let years = person.facts.birth_date().age_on(today).ok_or_else(|| {
            AuthorityError::Conflict("the register holds no full birth date for this person; age unknown".into())
        })?;
        self.meter(caller, if cert.kind.carries_facts() { Billable::SignatureCheck } else { Billable::AuthCheck });
        Ok(i64::from(years) >= i64::from(age))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SerialIn {
    serial: String,
}

async fn post_corresponding(
    State(a): State<Arc<Authority>>,
    caller: Caller,
    Json(body): Json<SerialIn>,
) -> Result<Json<Value>, AuthorityError> {
    let serial = parse_serial(&body.serial)?;
    let c = a.corresponding_serials(&caller, &serial).await?;
    Ok(Json(json!({
        "serial": c.serial.to_string(),
        "kind": c.kind.as_str(),
        "auth_serial": c.auth_serial.as_ref().map(Serial::to_string),
        "smartphone_signature_serial": c.smartphone_signature_serial.as_ref().map(Serial::to_string),
    })))
}

async fn get_successor(
    State(a): State<Arc<Authority>>,
    caller: Caller,
    Path(serial): Path<String>,
) -> Result<Json<Value>, AuthorityError> {
    let serial = parse_serial(&serial)?;
    let s = a.successors(&caller, &serial).await?;
    let reason = match s.status {
        CertificateStatus::Revoked { reason, .. } => Some(reason.name()),
        _ => None,
    };
    Ok(Json(json!({
        "serial": s.serial.to_string(),
        "successor": s.newest().map(Serial::to_string),
        "chain": s.chain.iter().map(Serial::to_string).collect::<Vec<_>>(),
        "status": s.status.as_str(),
        "revocation_reason": reason,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AgeIn {
    serial: String,
    #[serde(deserialize_with = "crate::api::json_integer")]
    age: u32,
}

async fn post_age_check(
    State(a): State<Arc<Authority>>,
    caller: Caller,
    Json(body): Json<AgeIn>,
) -> Result<Json<Value>, AuthorityError> {
    let serial = parse_serial(&body.serial)?;
    let at_least = a.age_at_least(&caller, &serial, body.age).await?;
    Ok(Json(json!({"serial": serial.to_string(), "age": body.age, "at_least": at_least})))
}

/// `POST /v1/serials/corresponding`, `GET /v1/serials/{serial}/successor`, `POST /v1/age-check`.
pub(crate) fn routes() -> Router<Arc<Authority>> {
    Router::new()
        .route("/v1/serials/corresponding", post(post_corresponding))
        .route("/v1/serials/{serial}/successor", get(get_successor))
        .route("/v1/age-check", post(post_age_check))
}
