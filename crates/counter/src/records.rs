//! The record a check leaves (the law's 確認記録, shared/spec/40-id-documents.md §4): made the
//! moment a check passes, kept [`RETENTION_SECS`] (7 years), in the counter's own table on
//! SQLite or PostgreSQL.
//!
//! | policy | what is kept |
//! |---|---|
//! | [`RecordPolicy::Minimal`] (default) | the check time and which document; for the My Number Card also the 8 digits of 照合番号B without the birth date (expiry year ‖ security code, 50-scenarios.md §4) |
//! | [`RecordPolicy::Aml`] (opt-in) | the above, plus the AML record items read from the chip: name, birth date, address, the document's number, the issuer and chip checks |
//!
//! Never kept under any policy: the access code (PINs, card number, MRZ, CAN, the birth-date
//! part of 照合番号B), the photo, and **the My Number** (no field whose key names it is copied,
//! and a My Number Card's number is not a "document number" here).

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use hanko_documents::{AccessCode, ChipCheck, DocumentKind, Report};
use hanko_store::sqlx::{self, Row};
use hanko_store::{Db, StoreError};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::auth::Staff;
use crate::{Counter, CounterError};

/// How long a record is kept: 7 years (365.25-day years).
pub const RETENTION_SECS: i64 = 7 * 31_557_600;

/// The fields [`RecordPolicy::Aml`] copies from a report, by key: the AML law's record items
/// (氏名, 住居, 生年月日, the document's 記号番号 and validity). Anything else — the photo, the
/// licence conditions, the residence status, the My Number — is not copied.
pub const AML_FIELDS: [&str; 12] = [
    "name",
    "name_kana",
    "name_roman",
    "birth_date",
    "address",
    "licence_number",
    "card_number",
    "document_number",
    "expiry_date",
    "valid_until",
    "nationality",
    "issuing_state",
];

/// What a check's record keeps. A policy, not a flag: the default is the minimum the law asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RecordPolicy {
    /// The check time and the document; for the My Number Card the 8 digits of 照合番号B
    /// without the birth date. No personal data.
    #[default]
    Minimal,
    /// For businesses the AML law obliges to record more: [`AML_FIELDS`] and the checks made,
    /// still never the My Number.
    Aml,
}

impl RecordPolicy {
    /// `minimal` or `aml`.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordPolicy::Minimal => "minimal",
            RecordPolicy::Aml => "aml",
        }
    }

    /// Parses `minimal` or `aml`.
    pub fn parse(s: &str) -> Option<RecordPolicy> {
        match s {
            "minimal" => Some(RecordPolicy::Minimal),
            "aml" => Some(RecordPolicy::Aml),
            _ => None,
        }
    }
}

/// One kept record.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Record {
    /// Random id.
    pub id: String,
    /// When the check passed (Unix seconds).
    pub checked_at: i64,
    /// Which document.
    pub document: DocumentKind,
    /// The My Number Card: the 8 digits of 照合番号B without the birth date.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number_b_tail: Option<String>,
    /// The policy it was made under (`minimal`, `aml`).
    pub policy: String,
    /// Whether the issuer's signature verified anything on the document ([`Report::verified`]):
    /// `false` for a document that carries none (read, not verified).
    pub verified: bool,
    /// Under [`RecordPolicy::Aml`]: the record items.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
    /// When it may be deleted.
    pub retain_until: i64,
}

/// The 8 digits of 照合番号B that the record keeps ([`hanko_documents::mynumber::record_digits`]).
pub(crate) fn number_b_tail(code: &AccessCode) -> Option<String> {
    hanko_documents::mynumber::record_digits(code).ok()
}

/// Whether a field key may name the My Number (never recorded).
fn is_my_number(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.contains("my_number") || k.contains("mynumber") || k.contains("individual_number")
}

impl Record {
    /// The record of a passed check of `report`, opened with `code`, at `at`.
    pub fn of(id: String, report: &Report, code: &AccessCode, policy: RecordPolicy, at: i64) -> Record {
        Record::with_tail(id, report, number_b_tail(code), policy, at)
    }

    /// [`Record::of`] with the 8 digits already taken from the code (the code is gone by then).
    pub(crate) fn with_tail(
        id: String,
        report: &Report,
        tail: Option<String>,
        policy: RecordPolicy,
        at: i64,
    ) -> Record {
        // Under the AML policy the record keeps the birth date: with it, the 8 digits would
        // rebuild the whole 照合番号B (era birth date ‖ expiry year ‖ security code), an access
        // code. So the 8 digits are kept only by the minimal policy.
        let number_b_tail = match policy {
            RecordPolicy::Minimal if report.kind == DocumentKind::MyNumberCard => tail,
            _ => None,
        };
        let details = match policy {
            RecordPolicy::Minimal => None,
            RecordPolicy::Aml => {
                let mut fields = Map::new();
                for f in &report.fields {
                    if AML_FIELDS.contains(&f.key)
                        && !is_my_number(f.key)
                        && !(report.kind == DocumentKind::MyNumberCard && f.key.ends_with("_number"))
                    {
                        fields.insert(
                            f.key.to_owned(),
                            json!({"value": f.value, "signed": matches!(f.trust, hanko_documents::Trust::Signed)}),
                        );
                    }
                }
                let chip = match &report.chip {
                    ChipCheck::Proven { method } => json!({"proven": true, "method": method}),
                    ChipCheck::NotProven { why } => json!({"proven": false, "why": why}),
                };
                Some(json!({
                    "method": if report.verified() {
                        "IC chip read and verified at the counter"
                    } else {
                        "IC chip read at the counter; nothing signed by the issuer: NOT verified"
                    },
                    "verified": report.verified(),
                    "fields": fields,
                    "issuer": {"method": report.issuer.method, "signer": report.issuer.signer},
                    "chip": chip,
                }))
            }
        };
        Record {
            id,
            checked_at: at,
            document: report.kind,
            number_b_tail,
            policy: policy.as_str().to_owned(),
            verified: report.verified(),
            details,
            retain_until: at + RETENTION_SECS,
        }
    }
}

fn kind_of(s: &str) -> Result<DocumentKind, StoreError> {
    DocumentKind::ALL
        .into_iter()
        .find(|k| k.as_str() == s)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown document kind {s:?}")))
}

/// The records table.
#[derive(Debug, Clone)]
pub(crate) struct Store {
    db: Db,
}

impl Store {
    /// Opens the store, applying the counter's migrations.
    pub(crate) async fn new(db: Db) -> Result<Store, StoreError> {
        db.migrate("counter", crate::schema::MIGRATIONS).await?;
        Ok(Store { db })
    }

    pub(crate) fn db(&self) -> &Db {
        &self.db
    }

    /// Keeps `r` (committed before the page is told).
    pub(crate) async fn add(&self, r: &Record) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO counter_records (id, checked_at, document, number_b_tail, policy, verification, details, \
             retain_until) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&r.id)
        .bind(r.checked_at)
        .bind(r.document.as_str())
        .bind(r.number_b_tail.as_deref())
        .bind(&r.policy)
        .bind(if r.verified { "signature" } else { "none" })
        .bind(r.details.as_ref().map(Value::to_string))
        .bind(r.retain_until)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// The newest `limit` records.
    pub(crate) async fn list(&self, limit: i64) -> Result<Vec<Record>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, checked_at, document, number_b_tail, policy, verification, details, retain_until \
             FROM counter_records \
             ORDER BY checked_at DESC, id LIMIT $1",
        )
        .bind(limit.clamp(1, MAX_LIST))
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let details: Option<String> = row.try_get("details")?;
                Ok(Record {
                    id: row.try_get("id")?,
                    checked_at: row.try_get("checked_at")?,
                    document: kind_of(&row.try_get::<String, _>("document")?)?,
                    number_b_tail: row.try_get("number_b_tail")?,
                    policy: row.try_get("policy")?,
                    verified: match row.try_get::<String, _>("verification")?.as_str() {
                        "signature" => true,
                        "none" => false,
                        other => return Err(StoreError::Corrupt(format!("verification {other:?}"))),
                    },
                    details: details
                        .map(|d| serde_json::from_str(&d))
                        .transpose()
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    retain_until: row.try_get("retain_until")?,
                })
            })
            .collect()
    }

    /// Deletes the records past their retention; how many.
    pub(crate) async fn purge(&self, now: i64) -> Result<u64, StoreError> {
        Ok(sqlx::query("DELETE FROM counter_records WHERE retain_until < $1")
            .bind(now)
            .execute(self.db.pool())
            .await?
            .rows_affected())
    }
}

/// The most records one request lists.
pub(crate) const MAX_LIST: i64 = 500;

#[derive(Deserialize)]
struct ListQuery {
    limit: Option<i64>,
}

/// `GET /api/records`: the newest records (staff).
async fn list(
    State(counter): State<Arc<Counter>>,
    _: Staff,
    Query(q): Query<ListQuery>,
) -> Result<Response, CounterError> {
    let records = counter.records.list(q.limit.unwrap_or(100)).await?;
    Ok(Json(json!({"records": records})).into_response())
}

pub(crate) fn routes() -> Router<Arc<Counter>> {
    Router::new().route("/api/records", get(list))
}

#[cfg(test)]
mod tests {
    use super::*;
    use zeroize::Zeroizing;

    #[test]
    fn the_record_keeps_only_the_last_eight_digits_of_number_b() {
        let code = AccessCode::NumberB(Zeroizing::new("85040120301234".into()));
        assert_eq!(number_b_tail(&code).as_deref(), Some("20301234"));
        assert_eq!(number_b_tail(&AccessCode::NumberB(Zeroizing::new("8504".into()))), None);
        assert_eq!(number_b_tail(&AccessCode::CardNumber(Zeroizing::new("AB12345678CD".into()))), None);
    }

    #[test]
    fn no_my_number_key_passes() {
        assert!(is_my_number("my_number"));
        assert!(is_my_number("MyNumber"));
        assert!(!is_my_number("licence_number"));
        assert!(!AML_FIELDS.iter().any(|k| is_my_number(k)));
    }
}
