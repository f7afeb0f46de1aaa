//! 最新の利用者情報提供 — the latest 4 facts with the resident's consent (shared/spec/20-pki.md §4).
//!
//! A resident consents per verifier, SP and service by signing a consent document with the
//! card's signature key (a PKCS#1 v1.5 signature over the SHA-256 DigestInfo of the document
//! bytes, what `80 2A` produces — see [`SignedDocument`]):
//!
//! ```json
//! {"type": "hanko-consent-v1", "verifier_id": "TPF00000001", "sp_id": "SP1", "service_id": "web",
//!  "items": ["name", "address", "birth_date", "sex"], "issued_at": "2026-04-01T09:00:00+09:00"}
//! ```
//!
//! The consent is bound to the **person**, not the certificate that signed it, so it survives
//! reissue (a move) and renewal; it is valid 10 years. With an active consent the verifier may
//! ask at any time for the consented items, taken from the person's newest valid signature
//! certificate (20 yen per record returned, nothing when there is none — e.g. moved and not yet
//! reissued). The facts never leave without an active consent, and are never logged.
//!
//! Withdrawal is signed by the same person (`{"type": "hanko-consent-withdrawal-v1",
//! "consent_id": …}`, any registered verifier may relay it) or done at the counter; verifiers
//! learn of withdrawals by polling `GET /v1/consents/withdrawals?after=SEQ` (not pushed).
//! Withdrawal sequence numbers are taken in the withdrawing transaction, so they become visible
//! in order and a poller never skips one.

use std::sync::Arc;

use async_trait::async_trait;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use hanko_pki::time::{Duration, OffsetDateTime};
use hanko_pki::{BasicFacts, JpkiCertificate, Serial};
use hanko_store::sqlx::{self, any::AnyRow, Row};
use hanko_store::StoreError;
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::error::AuthorityError;
use crate::meter::Billable;
use crate::register::{from_ts, serial_of, ts, PersonStatus, SqlStore};
use crate::signed::{SignedDocument, SignedWith};
use crate::verifiers::{Caller, CounterCaller, Role};
use crate::Authority;

/// The `type` of a consent document.
pub const CONSENT_TYPE: &str = "hanko-consent-v1";
/// The `type` of a withdrawal document.
pub const WITHDRAWAL_TYPE: &str = "hanko-consent-withdrawal-v1";
/// How far a consent's `issued_at` may be from the authority's clock.
const MAX_SKEW: Duration = Duration::days(1);
/// A consent is valid this many years after it was given \[S\].
const VALID_YEARS: i32 = 10;
/// Most withdrawals in one poll answer.
const MAX_POLL: i64 = 1000;

/// One of the 4 basic facts a consent may cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FactItem {
    /// 氏名 (with its substitute-character map).
    Name,
    /// 住所 (with its substitute-character map).
    Address,
    /// 生年月日.
    BirthDate,
    /// 性別.
    Sex,
}

impl FactItem {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            FactItem::Name => "name",
            FactItem::Address => "address",
            FactItem::BirthDate => "birth_date",
            FactItem::Sex => "sex",
        }
    }

    fn parse(s: &str) -> Result<FactItem, StoreError> {
        [FactItem::Name, FactItem::Address, FactItem::BirthDate, FactItem::Sex]
            .into_iter()
            .find(|i| i.as_str() == s)
            .ok_or_else(|| StoreError::Corrupt(format!("consent item {s:?}")))
    }
}

/// A stored consent. The document and signature are kept as evidence.
#[derive(Clone)]
pub struct ConsentRecord {
    /// Consent id (`C` + 24 hex digits).
    pub id: String,
    /// Registration sequence number.
    pub seq: i64,
    /// The person who consented.
    pub person_id: String,
    /// The verifier (platform operator) it was given to.
    pub verifier_id: String,
    /// SP事業者ID.
    pub sp_id: String,
    /// サービスID.
    pub service_id: String,
    /// The facts it covers (sorted, distinct, not empty).
    pub items: Vec<FactItem>,
    /// The signed document.
    pub document: Vec<u8>,
    /// Its signature.
    pub signature: Vec<u8>,
    /// The signature certificate that signed it.
    pub certificate_serial: Serial,
    /// When it was given.
    pub given_at: OffsetDateTime,
    /// When it lapses.
    pub expires_at: OffsetDateTime,
    /// When it was withdrawn, and the withdrawal's sequence number.
    pub withdrawal: Option<(OffsetDateTime, i64)>,
}

impl std::fmt::Debug for ConsentRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsentRecord")
            .field("id", &self.id)
            .field("verifier_id", &self.verifier_id)
            .field("sp_id", &self.sp_id)
            .field("service_id", &self.service_id)
            .field("items", &self.items)
            .field("given_at", &self.given_at)
            .field("expires_at", &self.expires_at)
            .field("withdrawal", &self.withdrawal)
            .finish_non_exhaustive()
    }
}

/// A consent's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ConsentStatus {
    /// The facts may be provided.
    Active,
    /// Withdrawn by the person (or at the counter).
    Withdrawn,
    /// Past its 10 years.
    Expired,
}

impl ConsentRecord {
    /// The state at `now`.
    pub fn status(&self, now: OffsetDateTime) -> ConsentStatus {
        if self.withdrawal.is_some() {
            ConsentStatus::Withdrawn
        } else if now >= self.expires_at {
            ConsentStatus::Expired
        } else {
            ConsentStatus::Active
        }
    }

    /// Whether `caller` acts for exactly this consent's verifier, SP and service.
    fn is_for(&self, caller: &Caller) -> bool {
        self.verifier_id == caller.verifier.id && self.sp_id == caller.sp_id && self.service_id == caller.service_id
    }

    /// Whether `caller` may see this consent: its service, or the platform acting for itself
    /// (no `X-Hanko-SP`), which sees all its SPs' consents.
    fn visible_to(&self, caller: &Caller) -> bool {
        self.is_for(caller)
            || (self.verifier_id == caller.verifier.id
                && caller.verifier.role == Role::Platform
                && caller.sp_id == caller.verifier.id
                && caller.service_id == "-")
    }
}

/// Storage of consents.
#[async_trait]
pub trait ConsentStore: Send + Sync {
    /// Adds a consent.
    async fn add_consent(&self, c: &ConsentRecord) -> Result<(), StoreError>;
    /// A consent.
    async fn consent(&self, id: &str) -> Result<Option<ConsentRecord>, StoreError>;
    /// The consents a person gave a verifier's service (any state), oldest first.
    async fn consents_of(
        &self,
        person_id: &str,
        verifier_id: &str,
        sp_id: &str,
        service_id: &str,
    ) -> Result<Vec<ConsentRecord>, StoreError>;
    /// Withdraws a consent at `at` with the next withdrawal sequence number (taken in the same
    /// transaction); `None` when it was withdrawn already (or does not exist).
    async fn withdraw_consent(&self, id: &str, at: OffsetDateTime) -> Result<Option<i64>, StoreError>;
    /// A verifier's withdrawn consents with a sequence number above `after`, in order (of one SP
    /// service when given), at most `limit`.
    async fn withdrawals_after(
        &self,
        verifier_id: &str,
        service: Option<(&str, &str)>,
        after: i64,
        limit: i64,
    ) -> Result<Vec<ConsentRecord>, StoreError>;
}

const COLUMNS: &str = "id, seq, person_id, verifier_id, sp_id, service_id, items, document, signature, \
                       certificate_serial, given_at, expires_at, withdrawn_at, withdrawal_seq";

fn consent_row(r: &AnyRow) -> Result<ConsentRecord, StoreError> {
    let items: String = r.try_get("items")?;
    let withdrawn_at: Option<i64> = r.try_get("withdrawn_at")?;
    let withdrawal_seq: Option<i64> = r.try_get("withdrawal_seq")?;
    Ok(ConsentRecord {
        id: r.try_get("id")?,
        seq: r.try_get("seq")?,
        person_id: r.try_get("person_id")?,
        verifier_id: r.try_get("verifier_id")?,
        sp_id: r.try_get("sp_id")?,
        service_id: r.try_get("service_id")?,
        items: items.split(',').map(FactItem::parse).collect::<Result<_, _>>()?,
        document: r.try_get("document")?,
        signature: r.try_get("signature")?,
        certificate_serial: serial_of(&r.try_get::<String, _>("certificate_serial")?)?,
        given_at: from_ts(r.try_get("given_at")?)?,
        expires_at: from_ts(r.try_get("expires_at")?)?,
        withdrawal: match (withdrawn_at, withdrawal_seq) {
            (Some(at), Some(seq)) => Some((from_ts(at)?, seq)),
            _ => None,
        },
    })
}

#[async_trait]
impl ConsentStore for SqlStore {
    async fn add_consent(&self, c: &ConsentRecord) -> Result<(), StoreError> {
        let items: Vec<&str> = c.items.iter().map(|i| i.as_str()).collect();
        sqlx::query(
            "INSERT INTO consents (id, seq, person_id, verifier_id, sp_id, service_id, items, document, signature, \
             certificate_serial, given_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(&c.id)
        .bind(c.seq)
        .bind(&c.person_id)
        .bind(&c.verifier_id)
        .bind(&c.sp_id)
        .bind(&c.service_id)
        .bind(items.join(","))
        .bind(&c.document)
        .bind(&c.signature)
        .bind(c.certificate_serial.to_string())
        .bind(ts(c.given_at))
        .bind(ts(c.expires_at))
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    async fn consent(&self, id: &str) -> Result<Option<ConsentRecord>, StoreError> {
        sqlx::query(&format!("SELECT {COLUMNS} FROM consents WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?
            .as_ref()
            .map(consent_row)
            .transpose()
    }

    async fn consents_of(
        &self,
        person_id: &str,
        verifier_id: &str,
        sp_id: &str,
        service_id: &str,
    ) -> Result<Vec<ConsentRecord>, StoreError> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM consents WHERE person_id = $1 AND verifier_id = $2 AND sp_id = $3 \
             AND service_id = $4 ORDER BY seq"
        ))
        .bind(person_id)
        .bind(verifier_id)
        .bind(sp_id)
        .bind(service_id)
        .fetch_all(self.db.pool())
        .await?
        .iter()
        .map(consent_row)
        .collect()
    }

    async fn withdraw_consent(&self, id: &str, at: OffsetDateTime) -> Result<Option<i64>, StoreError> {
        let mut tx = self.db.pool().begin().await?;
        // The counter row stays locked until the commit: withdrawals commit in sequence order.
        let seq: i64 = sqlx::query_scalar(
            "INSERT INTO counters (name, value) VALUES ('consent-withdrawal', 1) \
             ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value",
        )
        .fetch_one(&mut *tx)
        .await?;
        let done = sqlx::query(
            "UPDATE consents SET withdrawn_at = $2, withdrawal_seq = $3 WHERE id = $1 AND withdrawn_at IS NULL",
        )
        .bind(id)
        .bind(ts(at))
        .bind(seq)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if done {
            tx.commit().await?;
            Ok(Some(seq))
        } else {
            tx.rollback().await?;
            Ok(None)
        }
    }

    async fn withdrawals_after(
        &self,
        verifier_id: &str,
        service: Option<(&str, &str)>,
        after: i64,
        limit: i64,
    ) -> Result<Vec<ConsentRecord>, StoreError> {
        let rows = match service {
            Some((sp, svc)) => {
                sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM consents WHERE verifier_id = $1 AND withdrawal_seq > $2 AND sp_id = $3 \
                     AND service_id = $4 ORDER BY withdrawal_seq LIMIT $5"
                ))
                .bind(verifier_id)
                .bind(after)
                .bind(sp)
                .bind(svc)
                .bind(limit)
                .fetch_all(self.db.pool())
                .await?
            }
            None => {
                sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM consents WHERE verifier_id = $1 AND withdrawal_seq > $2 \
                     ORDER BY withdrawal_seq LIMIT $3"
                ))
                .bind(verifier_id)
                .bind(after)
                .bind(limit)
                .fetch_all(self.db.pool())
                .await?
            }
        };
        rows.iter().map(consent_row).collect()
    }
}

/// A consent document as signed.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsentDocument {
    #[serde(rename = "type")]
    kind: String,
    verifier_id: String,
    sp_id: String,
    service_id: String,
    items: Vec<FactItem>,
    #[serde(with = "time::serde::rfc3339")]
    issued_at: OffsetDateTime,
}

/// A withdrawal document as signed.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WithdrawalDocument {
    #[serde(rename = "type")]
    kind: String,
    consent_id: String,
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[allow(dead_code)]
    issued_at: Option<OffsetDateTime>,
}

/// What `POST /v1/consents` did.
#[derive(Debug, Clone)]
pub struct Registered {
    /// The consent.
    pub consent: ConsentRecord,
    /// `false` when the same document was registered before (an idempotent retry).
    pub created: bool,
}

/// The consented items of a person's facts: the others are never read out of the certificate.
/// `Debug` shows which items are present, never their values.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ConsentedFacts {
    /// 氏名 and its substitute-character map.
    pub name: Option<(String, String)>,
    /// 住所 and its substitute-character map.
    pub address: Option<(String, String)>,
    /// 生年月日 as `EYYYYMMDD`.
    pub birth_date: Option<String>,
    /// 性別 code (`1`, `2`, `3`).
    pub sex: Option<String>,
}

impl ConsentedFacts {
    /// Takes `items` out of `facts`.
    pub fn select(facts: &BasicFacts, items: &[FactItem]) -> ConsentedFacts {
        let mut out = ConsentedFacts::default();
        for item in items {
            match item {
                FactItem::Name => {
                    out.name = Some((facts.name().to_owned(), facts.name_substitutes().as_str().to_owned()))
                }
                FactItem::Address => {
                    out.address = Some((facts.address().to_owned(), facts.address_substitutes().as_str().to_owned()))
                }
                FactItem::BirthDate => out.birth_date = Some(facts.birth_date().to_string()),
                FactItem::Sex => out.sex = Some(facts.sex().as_str().to_owned()),
            }
        }
        out
    }

    /// The JSON object of the present items.
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        if let Some((name, map)) = &self.name {
            out.insert("name".into(), json!(name));
            out.insert("name_substitutes".into(), json!(map));
        }
        if let Some((address, map)) = &self.address {
            out.insert("address".into(), json!(address));
            out.insert("address_substitutes".into(), json!(map));
        }
        if let Some(b) = &self.birth_date {
            out.insert("birth_date".into(), json!(b));
        }
        if let Some(s) = &self.sex {
            out.insert("sex".into(), json!(s));
        }
        Value::Object(out)
    }
}

impl std::fmt::Debug for ConsentedFacts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let present = |b: bool| if b { "[elided]" } else { "-" };
        f.debug_struct("ConsentedFacts")
            .field("name", &present(self.name.is_some()))
            .field("address", &present(self.address.is_some()))
            .field("birth_date", &present(self.birth_date.is_some()))
            .field("sex", &present(self.sex.is_some()))
            .finish()
    }
}

/// What a latest-facts call answers.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum LatestFacts {
    /// The consented items of the person's newest valid signature certificate.
    Obtained {
        /// That certificate's serial.
        serial: Serial,
        /// The items consented to.
        items: Vec<FactItem>,
        /// Their values (only those items).
        facts: ConsentedFacts,
    },
    /// Nothing to return; not charged.
    NotObtainable {
        /// Why: `deceased`, `emigrated` or `no-valid-signature-certificate`.
        reason: &'static str,
    },
}

impl LatestFacts {
    /// The JSON answer.
    pub fn to_json(&self) -> Value {
        match self {
            LatestFacts::Obtained { serial, items, facts } => {
                json!({"obtainable": true, "serial": serial.to_string(), "items": items, "facts": facts.to_json()})
            }
            LatestFacts::NotObtainable { reason } => json!({"obtainable": false, "reason": reason}),
        }
    }
}

fn random_id() -> String {
    let mut b = [0u8; 12];
    OsRng.fill_bytes(&mut b);
    format!("C{}", hex::encode_upper(b))
}

fn plus_years(at: OffsetDateTime, years: i32) -> OffsetDateTime {
    let d = at.date();
    let day = d.day().min(28);
    let date = time::Date::from_calendar_date(d.year() + years, d.month(), d.day())
        .or_else(|_| time::Date::from_calendar_date(d.year() + years, d.month(), day))
        .unwrap_or(d);
    at.replace_date(date)
}

/// Consents and the latest 4 facts are for signature verifiers and platforms only (the 4 facts
/// come from signature certificates): a user-authentication verifier is refused.
fn consent_role(caller: &Caller) -> Result<(), AuthorityError> {
    if !caller.verifier.role.checks_signatures() {
        return Err(AuthorityError::Forbidden(format!(
            "consents and the latest 4 facts are for signature verifiers and platforms; {} is a {} verifier",
            caller.verifier.id,
            caller.verifier.role.as_str()
        )));
    }
    Ok(())
}

impl Authority {
    /// Registers a consent signed by the resident and relayed by `caller`: the signature
    /// certificate is verified (ours, valid, unrevoked), the document must name the caller's
    /// verifier, SP and service, be fresh (±1 day) and cover a non-empty set of the 4 facts. The
    /// same document again answers the same consent; a different one while an active consent
    /// exists is a conflict (withdraw first).
    pub async fn register_consent(
        &self,
        caller: &Caller,
        signed: &SignedDocument,
    ) -> Result<Registered, AuthorityError> {
        consent_role(caller)?;
        let (document, _verified, cert) = self.verify_signed(signed, SignedWith::Signature).await?;
        let doc: ConsentDocument =
            serde_json::from_slice(&document).map_err(|e| AuthorityError::Invalid(format!("consent document: {e}")))?;
        if doc.kind != CONSENT_TYPE {
            return Err(AuthorityError::Invalid(format!("consent document type must be {CONSENT_TYPE:?}")));
        }
        if (doc.verifier_id.as_str(), doc.sp_id.as_str(), doc.service_id.as_str())
            != (caller.verifier.id.as_str(), caller.sp_id.as_str(), caller.service_id.as_str())
        {
            return Err(AuthorityError::Forbidden(format!(
                "the consent is for {}/{}/{}, not for the caller ({}/{}/{})",
                doc.verifier_id, doc.sp_id, doc.service_id, caller.verifier.id, caller.sp_id, caller.service_id
            )));
        }
        let mut items = doc.items.clone();
        items.sort();
        items.dedup();
        if items.is_empty() || items.len() != doc.items.len() {
            return Err(AuthorityError::Invalid("items: a non-empty list of distinct facts".into()));
        }
        let now = self.clock.now();
        if (doc.issued_at - now).abs() > MAX_SKEW {
            return Err(AuthorityError::Invalid("issued_at is more than a day off the authority's clock".into()));
        }
        let existing =
            self.store.consents_of(&cert.person_id, &caller.verifier.id, &caller.sp_id, &caller.service_id).await?;
        if let Some(same) = existing.iter().find(|c| c.document == document) {
            return Ok(Registered { consent: same.clone(), created: false });
        }
        if let Some(active) = existing.iter().find(|c| c.status(now) == ConsentStatus::Active) {
            return Err(AuthorityError::Conflict(format!(
                "an active consent {} exists for this service; withdraw it first",
                active.id
            )));
        }
        let given_at = doc.issued_at.min(now);
        let consent = ConsentRecord {
            id: random_id(),
            seq: self.store.next_counter("consent").await?,
            person_id: cert.person_id.clone(),
            verifier_id: caller.verifier.id.clone(),
            sp_id: caller.sp_id.clone(),
            service_id: caller.service_id.clone(),
            items,
            document,
            signature: base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &signed.signature)
                .map_err(|_| AuthorityError::Invalid("signature is not base64".into()))?,
            certificate_serial: cert.serial.clone(),
            given_at,
            expires_at: plus_years(given_at, VALID_YEARS),
            withdrawal: None,
        };
        self.store.add_consent(&consent).await?;
        Ok(Registered { consent, created: true })
    }

    /// A consent `caller` may see, or `NotFound` (also for other verifiers' consents).
    pub async fn consent_for(&self, caller: &Caller, id: &str) -> Result<ConsentRecord, AuthorityError> {
        consent_role(caller)?;
        self.store
            .consent(id)
            .await?
            .filter(|c| c.visible_to(caller))
            .ok_or_else(|| AuthorityError::not_found("consent", id))
    }

    /// Withdraws a consent on the resident's signed request (relayed by any registered
    /// verifier): signed by a valid signature certificate of the same person. Idempotent.
    pub async fn withdraw_consent_signed(
        &self,
        id: &str,
        signed: &SignedDocument,
    ) -> Result<ConsentRecord, AuthorityError> {
        let (document, _verified, cert) = self.verify_signed(signed, SignedWith::Signature).await?;
        let doc: WithdrawalDocument = serde_json::from_slice(&document)
            .map_err(|e| AuthorityError::Invalid(format!("withdrawal document: {e}")))?;
        if doc.kind != WITHDRAWAL_TYPE {
            return Err(AuthorityError::Invalid(format!("withdrawal document type must be {WITHDRAWAL_TYPE:?}")));
        }
        if doc.consent_id != id {
            return Err(AuthorityError::Invalid(format!("the document withdraws {}, not {id}", doc.consent_id)));
        }
        let consent = self.store.consent(id).await?.ok_or_else(|| AuthorityError::not_found("consent", id))?;
        if consent.person_id != cert.person_id {
            return Err(AuthorityError::Forbidden("only the person who consented may withdraw".into()));
        }
        self.withdraw(consent).await
    }

    /// Withdraws a consent at the counter. Idempotent.
    pub async fn withdraw_consent_at_counter(&self, id: &str) -> Result<ConsentRecord, AuthorityError> {
        let consent = self.store.consent(id).await?.ok_or_else(|| AuthorityError::not_found("consent", id))?;
        self.withdraw(consent).await
    }

    async fn withdraw(&self, consent: ConsentRecord) -> Result<ConsentRecord, AuthorityError> {
        if consent.withdrawal.is_some() {
            return Ok(consent);
        }
        let at = self.clock.now();
        self.store.withdraw_consent(&consent.id, at).await?;
        // Re-read: a concurrent withdrawal may have won.
        self.store.consent(&consent.id).await?.ok_or_else(|| AuthorityError::not_found("consent", &consent.id))
    }

    /// The consents withdrawn after `after` that `caller` may see, in withdrawal order.
    pub async fn withdrawals_after(&self, caller: &Caller, after: i64) -> Result<Vec<ConsentRecord>, AuthorityError> {
        consent_role(caller)?;
        let own =
            caller.verifier.role == Role::Platform && caller.sp_id == caller.verifier.id && caller.service_id == "-";
        let service = (!own).then_some((caller.sp_id.as_str(), caller.service_id.as_str()));
        Ok(self.store.withdrawals_after(&caller.verifier.id, service, after, MAX_POLL).await?)
    }

    /// The latest facts under consent `id` for `caller` (exactly the consent's verifier, SP and
    /// service): the consented items of the person's newest valid signature certificate. Metered.
    pub async fn latest_facts(&self, caller: &Caller, id: &str) -> Result<LatestFacts, AuthorityError> {
        consent_role(caller)?;
        let consent = self
            .store
            .consent(id)
            .await?
            .filter(|c| c.is_for(caller))
            .ok_or_else(|| AuthorityError::not_found("consent", id))?;
        let now = self.clock.now();
        match consent.status(now) {
            ConsentStatus::Active => {}
            ConsentStatus::Withdrawn => return Err(AuthorityError::Forbidden(format!("consent {id} was withdrawn"))),
            ConsentStatus::Expired => return Err(AuthorityError::Forbidden(format!("consent {id} has expired"))),
        }
        let person = self.person(&consent.person_id).await?;
        let newest = self
            .store
            .certificates_of(&person.id)
            .await?
            .into_iter()
            .filter(|c| {
                c.kind.carries_facts()
                    && c.revocation.is_none()
                    && c.validity.is_some_and(|(nb, na)| nb <= now && now <= na)
            })
            .max_by_key(|c| c.validity.map(|(nb, _)| nb));
        let answer = match (person.status, newest.and_then(|c| c.der)) {
            (PersonStatus::Dead, _) => LatestFacts::NotObtainable { reason: "deceased" },
            (PersonStatus::Emigrated, _) => LatestFacts::NotObtainable { reason: "emigrated" },
            (PersonStatus::Resident, None) => LatestFacts::NotObtainable { reason: "no-valid-signature-certificate" },
            (PersonStatus::Resident, Some(der)) => {
                let cert = JpkiCertificate::from_der(&der).map_err(|e| AuthorityError::Pki(e.to_string()))?;
                let facts =
                    cert.facts().ok_or_else(|| AuthorityError::Pki("a signature certificate without facts".into()))?;
                LatestFacts::Obtained {
                    serial: cert.serial().clone(),
                    items: consent.items.clone(),
                    facts: ConsentedFacts::select(facts, &consent.items),
                }
            }
        };
        let records = u32::from(matches!(answer, LatestFacts::Obtained { .. }));
        self.meter(caller, Billable::LatestFacts { records });
        Ok(answer)
    }
}

fn rfc3339(t: OffsetDateTime) -> Value {
    t.format(&time::format_description::well_known::Rfc3339).map(Value::String).unwrap_or(Value::Null)
}

fn consent_json(c: &ConsentRecord, now: OffsetDateTime) -> Value {
    json!({
        "consent_id": c.id,
        "status": c.status(now),
        "verifier_id": c.verifier_id,
        "sp_id": c.sp_id,
        "service_id": c.service_id,
        "items": c.items,
        "certificate_serial": c.certificate_serial.to_string(),
        "given_at": rfc3339(c.given_at),
        "expires_at": rfc3339(c.expires_at),
        "withdrawn_at": c.withdrawal.map(|(at, _)| rfc3339(at)),
        "withdrawal_seq": c.withdrawal.map(|(_, seq)| seq),
    })
}

async fn post_consent(
    State(a): State<Arc<Authority>>,
    caller: Caller,
    Json(signed): Json<SignedDocument>,
) -> Result<Json<Value>, AuthorityError> {
    let r = a.register_consent(&caller, &signed).await?;
    let mut v = consent_json(&r.consent, a.clock.now());
    v["created"] = json!(r.created);
    Ok(Json(v))
}

async fn get_consent(
    State(a): State<Arc<Authority>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, AuthorityError> {
    Ok(Json(consent_json(&a.consent_for(&caller, &id).await?, a.clock.now())))
}

async fn post_withdrawal(
    State(a): State<Arc<Authority>>,
    caller: Caller,
    Path(id): Path<String>,
    Json(signed): Json<SignedDocument>,
) -> Result<Json<Value>, AuthorityError> {
    consent_role(&caller)?;
    let c = a.withdraw_consent_signed(&id, &signed).await?;
    Ok(Json(json!({"consent_id": c.id, "status": c.status(a.clock.now()),
                   "withdrawal_seq": c.withdrawal.map(|(_, s)| s)})))
}

async fn post_counter_withdrawal(
    State(a): State<Arc<Authority>>,
    _: CounterCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, AuthorityError> {
    let c = a.withdraw_consent_at_counter(&id).await?;
    Ok(Json(json!({"consent_id": c.id, "status": c.status(a.clock.now()),
                   "withdrawal_seq": c.withdrawal.map(|(_, s)| s)})))
}

#[derive(Deserialize)]
struct AfterQuery {
    #[serde(default)]
    after: i64,
}

async fn get_withdrawals(
    State(a): State<Arc<Authority>>,
    caller: Caller,
    Query(q): Query<AfterQuery>,
) -> Result<Json<Value>, AuthorityError> {
    let list = a.withdrawals_after(&caller, q.after).await?;
    let next = list.last().and_then(|c| c.withdrawal.map(|(_, s)| s)).unwrap_or(q.after);
    let items: Vec<Value> = list
        .iter()
        .map(|c| {
            json!({
                "consent_id": c.id,
                "sp_id": c.sp_id,
                "service_id": c.service_id,
                "withdrawn_at": c.withdrawal.map(|(at, _)| rfc3339(at)),
                "withdrawal_seq": c.withdrawal.map(|(_, s)| s),
            })
        })
        .collect();
    Ok(Json(json!({"withdrawals": items, "next_after": next})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LatestFactsIn {
    consent_id: String,
}

async fn post_latest_facts(
    State(a): State<Arc<Authority>>,
    caller: Caller,
    Json(body): Json<LatestFactsIn>,
) -> Result<Json<Value>, AuthorityError> {
    Ok(Json(a.latest_facts(&caller, &body.consent_id).await?.to_json()))
}

/// Routes of this module.
pub(crate) fn routes() -> Router<Arc<Authority>> {
    Router::new()
        .route("/v1/consents", post(post_consent))
        .route("/v1/consents/withdrawals", get(get_withdrawals))
        .route("/v1/consents/{id}", get(get_consent))
        .route("/v1/consents/{id}/withdrawal", post(post_withdrawal))
        .route("/v1/counter/consents/{id}/withdrawal", post(post_counter_withdrawal))
        .route("/v1/latest-facts", post(post_latest_facts))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use hanko_pki::time::macros::datetime;

    use super::*;

    #[test]
    fn ten_years_later_on_the_same_day_or_the_28th() {
        assert_eq!(plus_years(datetime!(2026-04-01 00:00 UTC), 10), datetime!(2036-04-01 00:00 UTC));
        assert_eq!(plus_years(datetime!(2028-02-29 12:00 UTC), 10), datetime!(2038-02-28 12:00 UTC));
    }

    #[test]
    fn consent_documents_are_strict() {
        let ok = br#"{"type":"hanko-consent-v1","verifier_id":"V","sp_id":"S","service_id":"-","items":["name","sex"],"issued_at":"2026-04-01T09:00:00+09:00"}"#;
        let doc: ConsentDocument = serde_json::from_slice(ok).unwrap();
        assert_eq!(doc.items, vec![FactItem::Name, FactItem::Sex]);
        let extra = br#"{"type":"hanko-consent-v1","verifier_id":"V","sp_id":"S","service_id":"-","items":["name"],"issued_at":"2026-04-01T09:00:00+09:00","x":1}"#;
        assert!(serde_json::from_slice::<ConsentDocument>(extra).is_err());
        let bad_item = br#"{"type":"hanko-consent-v1","verifier_id":"V","sp_id":"S","service_id":"-","items":["my_number"],"issued_at":"2026-04-01T09:00:00+09:00"}"#;
        assert!(serde_json::from_slice::<ConsentDocument>(bad_item).is_err());
    }
}
