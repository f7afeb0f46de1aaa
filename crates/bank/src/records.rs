//! Identity-check records (確認記録, shared/spec/40-id-documents.md §4 and 50-scenarios.md §6):
//! what the law asks the bank to keep for a transaction checked with the JPKI signature method,
//! built by one function, [`kyc_record`], from what the platform operator verified and what the
//! customer declared; and the record page, `GET /records/{id}`, shown only to the record's own
//! logged-in customer.
//!
//! The record never holds a My Number: [`Facts`] has no place for one, and the bank is no
//! business authorised under the My Number Act.

use std::fmt;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use hanko_pki::{BirthDate, JpkiCertificate};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::{Date, OffsetDateTime, UtcOffset};

use crate::error::{BankError, Text};
use crate::pages::{self, escape, Lang, PageLang};
use crate::Bank;
use hanko_sp::kyc;

/// Japan Standard Time (UTC+9), the bank's calendar.
pub(crate) fn jst() -> UtcOffset {
    UtcOffset::from_hms(9, 0, 0).unwrap_or(UtcOffset::UTC)
}

/// RFC 3339 in JST (`2026-12-06T22:15:03+09:00`).
pub(crate) fn rfc3339(t: OffsetDateTime) -> String {
    t.to_offset(jst()).format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// A random id (hex, 18 bytes).
pub(crate) fn random_id() -> String {
    let mut b = [0u8; 18];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut b);
    hex::encode(b)
}

/// SHA-256.
pub(crate) fn sha256(data: &[u8]) -> Vec<u8> {
    hanko_pki::DigestAlgorithm::Sha256.digest(data)
}

/// JSON with the keys of every object sorted and no spaces: the bytes a customer signs, the
/// same whichever map order serde_json was built with.
pub(crate) fn canonical_json(value: &Value) -> String {
    fn write(out: &mut String, v: &Value) {
        match v {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                out.push('{');
                for (i, k) in keys.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String(k.clone()).to_string());
                    out.push(':');
                    write(out, &map[k]);
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(out, item);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    write(&mut out, value);
    out
}

/// The 4 facts (基本4情報) of a signature certificate, as the platform operator returned them
/// after verifying it: `birth_date` in the certificate's `EYYYYMMDD` form (era digit `0` when
/// only partly known), `sex` the register's code (`1` male, `2` female, `3` unknown). Personal
/// data: `Debug` shows nothing.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Facts {
    /// 氏名.
    pub name: String,
    /// 住所.
    pub address: String,
    /// 生年月日 (`EYYYYMMDD`).
    pub birth_date: String,
    /// 性別 (code).
    pub sex: String,
}

impl fmt::Debug for Facts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Facts([elided])")
    }
}

impl Facts {
    /// The facts of a verification; the platform gives them for a valid signature certificate
    /// (the bank's tenant asks for all four).
    pub(crate) fn from_outcome(outcome: &hanko_sp::Outcome) -> Result<Facts, BankError> {
        let facts = outcome
            .facts
            .as_ref()
            .ok_or_else(|| BankError::Upstream("the platform gave no facts for a signature certificate".into()))?;
        let item = |k: &str| {
            facts[k]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| BankError::Upstream(format!("the platform's facts have no {k}")))
        };
        Ok(Facts { name: item("name")?, address: item("address")?, birth_date: item("birth_date")?, sex: item("sex")? })
    }

    /// The birth date, when the certificate has all of it.
    pub(crate) fn birth(&self) -> Option<Date> {
        match BirthDate::parse(&self.birth_date) {
            Ok(BirthDate::Known(d)) => Some(d),
            _ => None,
        }
    }

    /// The birth date as the bank's ledger keeps it: `YYYY-MM-DD`, or the certificate's form
    /// when only partly known.
    pub(crate) fn birth_text(&self) -> String {
        match self.birth() {
            Some(d) => format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day()),
            None => self.birth_date.clone(),
        }
    }

    /// The facts as JSON (the record, the application document).
    pub(crate) fn to_json(&self) -> Value {
        json!({"name": self.name, "address": self.address, "birth_date": self.birth_text(), "sex": self.sex})
    }
}

/// 性別 for a person.
pub(crate) fn sex_text(l: Lang, code: &str) -> String {
    match code {
        "1" => l.pick("男性", "male").to_owned(),
        "2" => l.pick("女性", "female").to_owned(),
        "3" | "9" => l.pick("不明", "unknown").to_owned(),
        other => other.to_owned(),
    }
}

/// The transactions the bank checks identity for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transaction {
    /// 預貯金契約の締結 (opening an account): a specified transaction of the AML Act
    /// (犯収法 第4条 取引時確認).
    AccountOpening,
    /// Recovering an account after a renewed or new card: the bank confirms the customer is
    /// the one it verified at the opening (取引時確認済みの顧客であることの確認).
    Recovery,
    /// An age check: only whether the person has reached `minimum` (years) today.
    AgeCheck {
        /// The threshold.
        minimum: u8,
        /// The answer.
        reached: bool,
    },
}

impl Transaction {
    /// The record's kind (`bank_records.kind`).
    pub(crate) fn kind(self) -> &'static str {
        match self {
            Transaction::AccountOpening => "account-opening",
            Transaction::Recovery => "recovery",
            Transaction::AgeCheck { .. } => "age-check",
        }
    }
}

/// An identity-check method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    /// The JPKI signature certificate and an electronic signature over the transaction's
    /// information (犯収法施行規則 第6条第1項第1号ワ in the seeds' lettering).
    JpkiSignature,
    /// The JPKI user-authentication certificate (a login: it carries no facts). No page offers
    /// it for a transaction here; the policy refuses it (tested).
    #[cfg_attr(not(test), allow(dead_code))]
    JpkiAuthentication,
}

/// The AML Act's JPKI electronic-signature method, as the seeds cite it (the ordinance's
/// letters have since been renumbered: the content is what counts).
pub(crate) const AML_JPKI_SIGNATURE: &str = "犯収法施行規則 第6条第1項第1号ワ";

/// What the platform operator verified: its answer (valid), the signer's certificate, and the
/// document the customer signed.
pub(crate) struct Evidence<'a> {
    /// The platform's answer.
    pub outcome: &'a hanko_sp::Outcome,
    /// The signer's certificate (DER), as the platform verified it.
    pub certificate: &'a [u8],
    /// What the customer signed (its SHA-256 goes into the record).
    pub document: &'a [u8],
}

/// What the customer declared: the AML Act's items a certificate lacks.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Declared {
    /// 職業.
    pub occupation: String,
    /// 取引を行う目的.
    pub purpose: String,
}

/// A record ready to keep.
#[derive(Debug, Clone)]
pub(crate) struct KycRecord {
    /// `account-opening`, `recovery`, `age-check`.
    pub kind: &'static str,
    /// Until when it is kept.
    pub retain_until: OffsetDateTime,
    /// The record (JSON).
    pub record: Value,
}

/// `at` plus `years` calendar years (29 February → 1 March).
fn plus_years(at: OffsetDateTime, years: i32) -> OffsetDateTime {
    let at = at.to_offset(jst());
    let year = at.year() + years;
    at.replace_year(year).unwrap_or_else(|_| {
        (at.replace_day(28).and_then(|t| t.replace_year(year)).unwrap_or(at) + time::Duration::days(1)).to_offset(jst())
    })
}

/// The record the law asks for `transaction`, checked with `method` at `at`: which law and
/// method, who checked and when, the document (the signature certificate: its type, issuer and
/// serial), the facts, the declared occupation and purpose (AML), the platform's evidence id,
/// and how long it is kept (7 years for the AML Act). A method the law does not accept for the
/// transaction is refused; an age check keeps only the threshold and the answer, never the
/// birth date.
pub(crate) fn kyc_record(
    transaction: Transaction,
    method: Method,
    evidence: &Evidence<'_>,
    facts: Option<&Facts>,
    declared: Option<&Declared>,
    at: OffsetDateTime,
) -> Result<KycRecord, BankError> {
    if method != Method::JpkiSignature {
        return Err(BankError::refused(
            "この手続きの本人確認には、署名用電子証明書による電子署名が必要です（利用者証明用電子証明書では氏名・住所・生年月日を確認できません）。",
            "This step needs an electronic signature with the signature certificate (the user-authentication certificate carries no name, address or birth date).",
        ));
    }
    let outcome = evidence.outcome;
    if !outcome.valid {
        return Err(BankError::Internal(format!("a record of a verification that failed ({})", outcome.result)));
    }
    let certificate = JpkiCertificate::from_der(evidence.certificate)
        .map_err(|e| BankError::Upstream(format!("the verified certificate does not parse: {e}")))?;
    let document = json!({
        "name": "署名用電子証明書（公的個人認証サービス）",
        "certificate_type": outcome.certificate_type.clone().unwrap_or_else(|| "JPKI_CARD_DIGITAL_SIGNATURE".into()),
        "issuer": certificate.issuer_string(),
        "serial": certificate.serial().to_string(),
        "not_after": rfc3339(certificate.not_after()),
    });
    let method_json = json!({
        "code": "jpki-signature",
        "citation": AML_JPKI_SIGNATURE,
        "description": "公的個人認証サービスの署名用電子証明書及び当該電子証明書により確認される電子署名が行われた特定取引等に関する情報の送信を受ける方法",
    });
    let mut record = json!({
        "kind": transaction.kind(),
        "checked_by": "見本銀行（MIHON）— 署名の検証・失効確認はプラットフォーム事業者",
        "checked_at": outcome.checked_at,
        "recorded_at": rfc3339(at),
        "method": method_json,
        "revocation_check": outcome.check_method,
        "document": document,
        "signed_document_sha256": hex::encode(sha256(evidence.document)),
        "evidence_id": outcome.evidence_id,
    });
    let (law, transaction_text, years) = match transaction {
        Transaction::AccountOpening => {
            let facts = facts.ok_or_else(|| BankError::Internal("an opening record without facts".into()))?;
            let declared = declared
                .filter(|d| !d.occupation.is_empty() && !d.purpose.is_empty())
                .ok_or_else(|| BankError::Internal("an opening record without occupation and purpose".into()))?;
            record["facts"] = facts.to_json();
            record["occupation"] = json!(declared.occupation);
            record["purpose"] = json!(declared.purpose);
            // The law's table (hanko_sp::kyc) decides and checks the record: the method must be
            // accepted for opening an account today (in Japan), and every item the AML Act asks
            // for must be there — a record it refuses is never kept.
            let policy = kyc::Policy::standard();
            let mut legal = kyc::VerificationRecord::builder(
                kyc::Law::AmlAct,
                kyc::Transaction::AccountOpening,
                kyc::Method::JpkiSignature,
                at,
            )
            .with_checked_by("見本銀行（MIHON）")
            .with_document(kyc::DocumentType::JpkiSignatureCertificate, certificate.serial().to_string())
            .with_name(&facts.name)
            .with_address(&facts.address)
            .with_sex(sex_text(Lang::Ja, &facts.sex))
            .with_occupation(&declared.occupation)
            .with_purpose_of_transaction(&declared.purpose)
            .with_evidence_id(&outcome.evidence_id);
            if let Some(birth) = facts.birth() {
                legal = legal.with_birth_date(birth);
            }
            let legal = legal.build(&policy).map_err(|e| match e {
                kyc::RecordError::MethodRefused(d) => BankError::refused(
                    format!("法令が認めない方法です：{}", d.reason_ja),
                    format!("The law refuses this method: {}", d.reason_en),
                ),
                e => BankError::Internal(format!("the verification record is incomplete: {e}")),
            })?;
            record["legal_record"] =
                serde_json::to_value(&legal).map_err(|e| BankError::Internal(format!("the legal record: {e}")))?;
            ("犯罪による収益の移転防止に関する法律（犯収法）第4条・第6条", "預貯金契約の締結（口座開設）", 7)
        }
        Transaction::Recovery => {
            let facts = facts.ok_or_else(|| BankError::Internal("a recovery record without facts".into()))?;
            record["facts"] = facts.to_json();
            (
                "犯罪による収益の移転防止に関する法律（犯収法）第4条・第6条",
                "取引時確認済みの顧客であることの確認（アカウント復旧）",
                7,
            )
        }
        Transaction::AgeCheck { minimum, reached } => {
            // Only the predicate: the birth date is not kept.
            record["minimum_age"] = json!(minimum);
            record["reached"] = json!(reached);
            ("（法令上の確認記録ではない：銀行の年齢確認）", "年齢確認", 1)
        }
    };
    record["law"] = json!(law);
    record["transaction"] = json!(transaction_text);
    let retain_until = plus_years(at, years);
    record["retain_until"] = json!(rfc3339(retain_until));
    Ok(KycRecord { kind: transaction.kind(), retain_until, record })
}

/// Keeps `record` for the account (or none); its id.
pub(crate) async fn keep(bank: &Bank, account_id: Option<&str>, mut record: KycRecord) -> Result<String, BankError> {
    let id = random_id();
    record.record["record_id"] = json!(id);
    bank.store
        .add_record(&id, account_id, record.kind, bank.now(), record.retain_until.unix_timestamp(), &record.record)
        .await?;
    Ok(id)
}

/// The title of a record's kind.
pub(crate) fn kind_text(l: Lang, kind: &str) -> &str {
    match kind {
        "account-opening" => l.pick("口座開設の本人確認記録", "Account opening: verification record"),
        "recovery" => l.pick("アカウント復旧の本人確認記録", "Account recovery: verification record"),
        "age-check" => l.pick("年齢確認の記録", "Age check record"),
        other => other,
    }
}

fn text(v: &Value, pointer: &str) -> String {
    match v.pointer(pointer) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// A record as an HTML table (every row has an `id`: `r-<item>`).
pub(crate) fn record_html(l: Lang, record: &Value) -> String {
    let mut rows: Vec<(&str, &str, String)> = vec![
        ("account-number", l.pick("口座番号", "Account number"), text(record, "/account_number")),
        ("law", l.pick("根拠法令", "Law"), text(record, "/law")),
        ("transaction", l.pick("取引", "Transaction"), text(record, "/transaction")),
        (
            "method",
            l.pick("本人確認の方法", "Method"),
            format!("{}（{}）", text(record, "/method/description"), text(record, "/method/citation")),
        ),
        ("checked-by", l.pick("確認した者", "Checked by"), text(record, "/checked_by")),
        ("checked-at", l.pick("確認日時", "Checked at"), text(record, "/checked_at")),
        (
            "document",
            l.pick("本人確認書類", "Identity document"),
            format!("{}（{}）", text(record, "/document/name"), text(record, "/document/certificate_type")),
        ),
        (
            "serial",
            l.pick("証明書の発行者・シリアル番号", "Certificate issuer and serial"),
            match text(record, "/document/serial") {
                serial if serial.is_empty() => String::new(),
                serial => format!("{} / {serial}", text(record, "/document/issuer")),
            },
        ),
        ("name", l.pick("氏名", "Name"), text(record, "/facts/name")),
        ("address", l.pick("住居", "Address"), text(record, "/facts/address")),
        ("birth-date", l.pick("生年月日", "Birth date"), text(record, "/facts/birth_date")),
        ("sex", l.pick("性別", "Sex"), sex_text(l, &text(record, "/facts/sex"))),
        ("occupation", l.pick("職業", "Occupation"), text(record, "/occupation")),
        ("purpose", l.pick("取引を行う目的", "Purpose of transactions"), text(record, "/purpose")),
        ("minimum-age", l.pick("確認した年齢", "Age threshold"), text(record, "/minimum_age")),
        ("reached", l.pick("結果", "Result"), text(record, "/reached")),
        ("revocation-check", l.pick("失効確認", "Revocation check"), text(record, "/revocation_check")),
        (
            "evidence-id",
            l.pick("検証記録ID（プラットフォーム）", "Evidence id (platform)"),
            text(record, "/evidence_id"),
        ),
        (
            "document-hash",
            l.pick("署名した文書の SHA-256", "SHA-256 of the signed document"),
            text(record, "/signed_document_sha256"),
        ),
        ("retain-until", l.pick("保存期限", "Kept until"), text(record, "/retain_until")),
    ];
    rows.retain(|(_, _, v)| !v.is_empty() && v != "（）");
    let mut out = String::from("<table id=\"record\">");
    for (id, label, value) in rows {
        out.push_str(&format!("<tr id=\"r-{id}\"><th>{}</th><td>{}</td></tr>", escape(label), escape(&value)));
    }
    out.push_str("</table>");
    out
}

async fn show(
    State(bank): State<Arc<Bank>>,
    lang: PageLang,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, BankError> {
    let customer = crate::login::require(&bank, &headers).await?;
    let not_found = || BankError::NotFound(Text::new("この記録はありません。", "There is no such record."));
    if id.len() > 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(not_found());
    }
    let (account_id, kind, record) = bank.store.record(&id).await?.ok_or_else(not_found)?;
    if account_id.as_deref() != Some(customer.id.as_str()) {
        return Err(not_found());
    }
    let l = lang.lang;
    let mut body = String::new();
    if kind == "account-opening" {
        body.push_str(&format!(
            "<p class=\"ok\" role=\"status\" id=\"opened\">{} <strong id=\"account-number\">{}</strong></p>",
            l.pick("口座を開設しました。口座番号", "Your account is open. Account number"),
            escape(&customer.number)
        ));
    }
    body.push_str(&format!(
        "<div class=\"card\"><p>{}</p>{}</div><p><a class=\"button\" href=\"/me\">{}</a></p>",
        l.pick(
            "犯罪収益移転防止法が求める確認記録です。見本銀行はこの記録を保存期限まで保存します。マイナンバー（個人番号）は記録しません。",
            "The verification record the AML Act asks for. Mihon Bank keeps it until the date shown. No My Number is recorded."
        ),
        record_html(l, &record),
        l.pick("マイページへ", "To my page"),
    ));
    Ok(pages::page(lang, "/me", kind_text(l, &kind), true, &body))
}

pub(crate) fn routes() -> Router<Arc<Bank>> {
    Router::new().route("/records/{id}", get(show))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let v = json!({"b": 1, "a": {"d": [true, {"z": null, "y": "é"}], "c": "x\"y"}});
        assert_eq!(canonical_json(&v), r#"{"a":{"c":"x\"y","d":[true,{"y":"é","z":null}]},"b":1}"#);
    }

    #[test]
    fn seven_years_on_the_calendar() {
        let at = time::macros::datetime!(2026-12-06 13:00 UTC);
        assert_eq!(rfc3339(plus_years(at, 7)), "2033-12-06T22:00:00+09:00");
        let leap = time::macros::datetime!(2028-02-29 03:00 +09:00);
        assert_eq!(rfc3339(plus_years(leap, 7)), "2035-03-01T03:00:00+09:00");
    }

    #[test]
    fn facts_keep_a_partial_birth_date_as_the_certificate_has_it() {
        let f = Facts { name: "n".into(), address: "a".into(), birth_date: "319850401".into(), sex: "2".into() };
        assert_eq!(f.birth_text(), "1985-04-01");
        assert_eq!(format!("{f:?}"), "Facts([elided])");
        let partial = Facts { birth_date: "019850000".into(), ..f };
        assert_eq!(partial.birth(), None);
        assert_eq!(partial.birth_text(), "019850000");
    }

    fn outcome() -> hanko_sp::Outcome {
        serde_json::from_value(json!({
            "evidence_id": "ev1", "result": "OK", "valid": true, "certificate_type": "JPKI_CARD_DIGITAL_SIGNATURE",
            "user_id": "u1", "check_method": "crl", "checked_at": "2026-12-06T13:00:00Z",
            "facts": {"name": "試験　花子", "address": "東京都", "birth_date": "319850401", "sex": "2"}
        }))
        .unwrap()
    }

    #[test]
    fn an_authentication_certificate_is_not_an_aml_method() {
        let o = outcome();
        let e = Evidence { outcome: &o, certificate: b"", document: b"doc" };
        let err = kyc_record(
            Transaction::AccountOpening,
            Method::JpkiAuthentication,
            &e,
            None,
            None,
            OffsetDateTime::UNIX_EPOCH,
        )
        .unwrap_err();
        assert!(matches!(err, BankError::Refused(_)), "{err}");
    }
}
