//! The check: `POST /api/checks` starts one (document, source, access code), it runs
//! [`hanko_documents::check`] on a blocking thread, `GET /api/checks/{id}` reports its
//! progress and then its result, `GET /api/checks/{id}/photo` the photo as PNG (or JPEG).
//!
//! Bounds on the work one request can cause: a 4 KiB body; at most [`MAX_RUNNING`] checks at
//! once and one per source; a check ends after [`MAX_APDUS`] APDUs or the configured timeout
//! (the transport refuses to send more); at most [`MAX_KEPT`] results are held, each for
//! [`RESULT_TTL`] (they carry personal data: the page shows them once and they go); the photo
//! has size and pixel ceilings ([`crate::photo`]).
//!
//! The access code lives in the request body, then in zeroised strings until the check ends.
//! It is never logged, stored, answered or put in a URL; a body that does not parse is
//! refused without repeating any of it.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hanko_card::{Transport, TransportError};
use hanko_documents::{AccessCode, CheckError, DocumentKind, Report};
use serde::Deserialize;
use serde_json::{json, Value};
use zeroize::Zeroizing;

use crate::auth::Staff;
use crate::records::Record;
use crate::{Counter, CounterError};

/// The largest request body (a check request is under 300 bytes).
pub(crate) const MAX_BODY: usize = 4096;
/// Checks running at once (each holds a blocking thread).
pub const MAX_RUNNING: usize = 8;
/// Results held for the page.
pub const MAX_KEPT: usize = 64;
/// How long a finished check's result is held.
pub const RESULT_TTL: Duration = Duration::from_secs(300);
/// The most APDUs one check may send (a passport read with PACE and a 25 KB DG2 needs ~150).
pub const MAX_APDUS: u32 = 20_000;

#[derive(Debug)]
enum JobState {
    Running { step: String, done: usize, total: Option<usize> },
    Done(Box<Outcome>),
    Failed(Failure),
}

#[derive(Debug)]
struct Outcome {
    report: Value,
    /// [`Report::verified`]: the issuer's signature verified some field (else read, not verified).
    verified: bool,
    photo: Option<(&'static str, Vec<u8>)>,
    photo_error: Option<String>,
    record: Record,
    elapsed_ms: u128,
}

/// Why a check did not pass, for the page.
#[derive(Debug, Clone)]
struct Failure {
    code: &'static str,
    ja: String,
    en: String,
    tries_left: Option<u8>,
}

impl Failure {
    fn new(code: &'static str, ja: impl Into<String>, en: impl Into<String>) -> Failure {
        Failure { code, ja: ja.into(), en: en.into(), tries_left: None }
    }

    fn of(e: &CheckError) -> Failure {
        match e {
            CheckError::WrongAccessCode { which, tries_left } => {
                let left = tries_left.map(|n| format!("（残り {n} 回）")).unwrap_or_default();
                let left_en = tries_left.map(|n| format!(" ({n} tries left)")).unwrap_or_default();
                let (ja, en) = match which {
                    Some(w) => (format!("{w}が違います{left}。"), format!("{w} is wrong{left_en}.")),
                    None => (
                        format!("暗証番号・照合番号などの入力が違います{left}。"),
                        format!("The access code is wrong{left_en}."),
                    ),
                };
                Failure { tries_left: *tries_left, ..Failure::new("wrong_access_code", ja, en) }
            }
            CheckError::Blocked(what) => Failure::new(
                "blocked",
                format!("ロックされています。発行元での解除が必要です（{what}）。"),
                format!("The access code is blocked: {what}"),
            ),
            CheckError::WrongKindOfCode(what) => Failure::new(
                "wrong_kind_of_code",
                format!("この書類にはこの種類の番号は使えません（{what}）。"),
                (*what).to_owned(),
            ),
            CheckError::Transport(t) => Failure::new(
                "transport",
                format!("書類との通信が途切れました。置き直してもう一度どうぞ（{t}）。"),
                format!("The document stopped answering; place it again and retry ({t})."),
            ),
            other => Failure::new(
                "not_verified",
                format!("読み取り・検証できませんでした: {other}"),
                format!("The document did not read or verify: {other}"),
            ),
        }
    }

    fn json(&self) -> Value {
        json!({"code": self.code, "message": self.en, "message_ja": self.ja, "tries_left": self.tries_left})
    }
}

#[derive(Debug)]
struct Job {
    document: DocumentKind,
    source: String,
    finished: Option<Instant>,
    state: JobState,
}

#[derive(Debug, Default)]
struct Inner {
    jobs: HashMap<String, Job>,
    busy: HashSet<String>,
}

/// The checks in flight and the results held.
#[derive(Debug, Default)]
pub(crate) struct Checks {
    inner: Mutex<Inner>,
}

impl Checks {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set(&self, id: &str, state: JobState) {
        let mut inner = self.lock();
        if let Some(job) = inner.jobs.get_mut(id) {
            if job.finished.is_some() {
                // Ended already (timed out): a late progress report or result changes nothing.
                return;
            }
            if !matches!(state, JobState::Running { .. }) {
                job.finished = Some(Instant::now());
            }
            job.state = state;
        }
    }

    fn release(&self, source: &str) {
        self.lock().busy.remove(source);
    }
}

/// The access code fields of a check request (each optional; the document says which it needs).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CodeFields {
    number_b: Option<Zeroizing<String>>,
    pin1: Option<Zeroizing<String>>,
    pin2: Option<Zeroizing<String>>,
    card_number: Option<Zeroizing<String>>,
    document_number: Option<Zeroizing<String>>,
    birth: Option<Zeroizing<String>>,
    expiry: Option<Zeroizing<String>>,
    can: Option<Zeroizing<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StartRequest {
    document: String,
    source: String,
    #[serde(default)]
    code: CodeFields,
}

const fn invalid(ja: &'static str, en: &'static str) -> CounterError {
    CounterError::Invalid { ja, en }
}

fn digits(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|c| c.is_ascii_digit())
}

/// The access code the document needs, from the request's fields: formats checked, values
/// never repeated in the error.
fn access_code(kind: DocumentKind, f: CodeFields) -> Result<AccessCode, CounterError> {
    let need = |v: Option<Zeroizing<String>>, ja: &'static str, en: &'static str| v.ok_or(invalid(ja, en));
    match kind {
        DocumentKind::MyNumberCard => {
            let b = need(f.number_b, "照合番号B（14桁）を入力してください。", "Enter check number B (14 digits).")?;
            let b = Zeroizing::new(b.trim().to_owned());
            if !digits(&b, 14) {
                return Err(invalid(
                    "照合番号Bは数字14桁です（生年月日6桁・有効期限の西暦年4桁・セキュリティコード4桁）。",
                    "Check number B is 14 digits (birth date YYMMDD, expiry year, security code).",
                ));
            }
            Ok(AccessCode::NumberB(b))
        }
        DocumentKind::DriverLicence => {
            let p1 = need(f.pin1, "暗証番号1を入力してください。", "Enter PIN 1.")?;
            let p2 = need(f.pin2, "暗証番号2を入力してください。", "Enter PIN 2.")?;
            let ok = |p: &str| digits(p, 4) || p == "****";
            if !ok(&p1) || !ok(&p2) {
                return Err(invalid(
                    "暗証番号は数字4桁です（設定していない場合は ****）。",
                    "Each PIN is 4 digits (**** when the holder set none).",
                ));
            }
            Ok(AccessCode::LicencePins { pin1: p1, pin2: p2 })
        }
        DocumentKind::ResidenceCard => {
            let n = need(f.card_number, "在留カード等番号を入力してください。", "Enter the card number.")?;
            let n = Zeroizing::new(n.trim().to_ascii_uppercase());
            if n.len() != 12 || !n.bytes().all(|c| c.is_ascii_alphanumeric()) {
                return Err(invalid("在留カード等番号は英数字12桁です。", "The card number is 12 letters and digits."));
            }
            Ok(AccessCode::CardNumber(n))
        }
        DocumentKind::Passport => {
            if let Some(can) = f.can.filter(|c| !c.trim().is_empty()) {
                if !digits(can.trim(), 6) {
                    return Err(invalid("CAN は数字6桁です。", "The CAN is 6 digits."));
                }
                return Ok(AccessCode::Can(Zeroizing::new(can.trim().to_owned())));
            }
            let number = need(f.document_number, "旅券番号を入力してください。", "Enter the document number.")?;
            let birth = need(f.birth, "生年月日（YYMMDD）を入力してください。", "Enter the birth date (YYMMDD).")?;
            let expiry = need(f.expiry, "有効期限（YYMMDD）を入力してください。", "Enter the expiry date (YYMMDD).")?;
            let number = number.trim().to_ascii_uppercase();
            if number.is_empty()
                || number.len() > 9
                || !number.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'<')
                || !digits(birth.trim(), 6)
                || !digits(expiry.trim(), 6)
            {
                return Err(invalid(
                    "旅券番号は英数字9桁まで、生年月日と有効期限は YYMMDD の6桁です。",
                    "The document number is up to 9 letters and digits; the dates are YYMMDD.",
                ));
            }
            Ok(AccessCode::Mrz {
                document_number: number,
                birth: birth.trim().to_owned(),
                expiry: expiry.trim().to_owned(),
            })
        }
    }
}

fn parse_kind(s: &str) -> Result<DocumentKind, CounterError> {
    DocumentKind::ALL
        .into_iter()
        .find(|k| k.as_str() == s)
        .ok_or(invalid("書類の種類が不明です。", "Unknown document kind."))
}

/// A transport that ends the check when it has sent [`MAX_APDUS`] or passed its deadline.
struct Budget<T> {
    inner: T,
    sent: u32,
    deadline: Instant,
}

impl<T: Transport> Transport for Budget<T> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        if self.sent >= MAX_APDUS {
            return Err(TransportError(format!("the check used its {MAX_APDUS} commands")));
        }
        if Instant::now() >= self.deadline {
            return Err(TransportError("the check took too long".into()));
        }
        self.sent += 1;
        self.inner.transmit(apdu)
    }
}

fn new_id() -> String {
    let mut b = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut b);
    hex::encode(b)
}

/// `POST /api/checks`: starts a check; answers 202 with its id.
async fn start(State(counter): State<Arc<Counter>>, _: Staff, body: Bytes) -> Result<Response, CounterError> {
    // Parsed by hand: a serde error would quote the offending value (an access code).
    let request: StartRequest = serde_json::from_slice(&body).map_err(|_| {
        invalid(
            "確認の依頼の形式が違います（document, source, code）。",
            "The body is not a check request ({document, source, code}).",
        )
    })?;
    let kind = parse_kind(&request.document)?;
    let code = access_code(kind, request.code)?;
    let source = request.source;
    let sources = counter.config.sources.clone();
    let listed = tokio::task::spawn_blocking(move || sources.list())
        .await
        .map_err(|e| CounterError::Internal(format!("listing the sources: {e}")))?;
    if !listed.iter().any(|s| s.id == source) {
        return Err(CounterError::NotFound("source"));
    }
    let id = new_id();
    {
        let mut inner = counter.checks.lock();
        inner.jobs.retain(|_, j| j.finished.is_none_or(|at| at.elapsed() < RESULT_TTL));
        let running = inner.jobs.values().filter(|j| j.finished.is_none()).count();
        if running >= MAX_RUNNING {
            return Err(CounterError::Overloaded);
        }
        if inner.busy.contains(&source) {
            return Err(CounterError::Busy);
        }
        while inner.jobs.len() >= MAX_KEPT {
            let oldest = inner.jobs.iter().filter_map(|(k, j)| j.finished.map(|at| (at, k.clone()))).min();
            match oldest {
                Some((_, k)) => inner.jobs.remove(&k),
                None => return Err(CounterError::Overloaded),
            };
        }
        inner.busy.insert(source.clone());
        inner.jobs.insert(
            id.clone(),
            Job {
                document: kind,
                source: source.clone(),
                finished: None,
                state: JobState::Running { step: "start".into(), done: 0, total: None },
            },
        );
    }
    counter.metrics.started(kind);
    tokio::spawn(run(counter.clone(), id.clone(), kind, source, code));
    Ok((StatusCode::ACCEPTED, Json(json!({"id": id, "state": "running", "poll": format!("/api/checks/{id}")})))
        .into_response())
}

/// What the blocking part returns.
type Read = Result<(Report, Option<(&'static str, Vec<u8>)>, Option<String>), Failure>;

/// Runs one check to its end and keeps its record.
async fn run(counter: Arc<Counter>, id: String, kind: DocumentKind, source: String, code: AccessCode) {
    let started = Instant::now();
    let timeout = counter.config.check_timeout;
    let tail = crate::records::number_b_tail(&code);
    let c = counter.clone();
    let (job, src) = (id.clone(), source.clone());
    let handle = tokio::task::spawn_blocking(move || {
        let result = read(&c, &job, kind, &src, &code, started + timeout);
        drop(code);
        c.checks.release(&src);
        result
    });
    let result = match tokio::time::timeout(timeout + Duration::from_secs(10), handle).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "counter: the check thread failed");
            Err(Failure::new("internal", "内部エラーが発生しました。", "Internal error."))
        }
        Err(_) => Err(Failure::new("timed_out", "時間内に読み取れませんでした。", "The check timed out.")),
    };
    let state = match result {
        Ok((report, photo, photo_error)) => {
            let at = counter.now().unix_timestamp();
            let record = Record::with_tail(new_id(), &report, tail, counter.config.record_policy, at);
            match counter.records.add(&record).await {
                Ok(()) => {
                    let verified = report.verified();
                    counter.metrics.finished(kind, if verified { "passed" } else { "read_unverified" });
                    let report = serde_json::to_value(&report).unwrap_or(Value::Null);
                    JobState::Done(Box::new(Outcome {
                        report,
                        verified,
                        photo,
                        photo_error,
                        record,
                        elapsed_ms: started.elapsed().as_millis(),
                    }))
                }
                Err(e) => {
                    tracing::error!(error = %e, "counter: the record could not be kept");
                    counter.metrics.finished(kind, "error");
                    JobState::Failed(Failure::new(
                        "record_not_kept",
                        "確認記録を保存できなかったため、結果を表示しません。",
                        "The record could not be kept, so the result is not shown.",
                    ))
                }
            }
        }
        Err(f) => {
            counter.metrics.finished(kind, if f.code == "not_verified" { "refused" } else { "failed" });
            tracing::info!(document = kind.as_str(), outcome = f.code, "counter: check did not pass");
            JobState::Failed(f)
        }
    };
    counter.checks.set(&id, state);
}

/// The blocking part: open the source, run the checker with progress, make the photo.
fn read(counter: &Counter, id: &str, kind: DocumentKind, source: &str, code: &AccessCode, deadline: Instant) -> Read {
    let transport = counter.config.sources.open(source).map_err(|e| {
        Failure::new(
            "source_unavailable",
            format!("読み取り元を開けません: {e}"),
            format!("The source cannot be opened: {e}"),
        )
    })?;
    let mut t = Budget { inner: transport, sent: 0, deadline };
    let mut progress = |p: hanko_documents::Progress<'_>| {
        counter
            .checks
            .set(id, JobState::Running { step: p.step.chars().take(80).collect(), done: p.done, total: p.total });
    };
    let now = counter.now();
    let report = (counter.config.checker)(kind, &mut t, code, &counter.config.trust, now, &mut progress)
        .map_err(|e| Failure::of(&e))?;
    if report.kind != kind {
        return Err(Failure::new(
            "not_verified",
            "別の種類の書類の結果が返りました。",
            "The reader answered for another kind of document.",
        ));
    }
    let (photo, photo_error) = match &report.photo {
        None => (None, None),
        Some(p) => match crate::photo::to_png(p) {
            Ok(x) => (Some(x), None),
            Err(e) => (None, Some(e.to_string())),
        },
    };
    Ok((report, photo, photo_error))
}

/// `GET /api/checks/{id}`: the progress, then the result.
async fn status(
    State(counter): State<Arc<Counter>>,
    _: Staff,
    Path(id): Path<String>,
) -> Result<Response, CounterError> {
    let inner = counter.checks.lock();
    let job = inner.jobs.get(&id).ok_or(CounterError::NotFound("check"))?;
    if job.finished.is_some_and(|at| at.elapsed() >= RESULT_TTL) {
        return Err(CounterError::NotFound("check"));
    }
    let mut body = json!({"id": id, "document": job.document, "source": job.source});
    match &job.state {
        JobState::Running { step, done, total } => {
            body["state"] = "running".into();
            body["progress"] = json!({"step": step, "done": done, "total": total});
        }
        JobState::Done(o) => {
            body["state"] = "done".into();
            body["report"] = o.report.clone();
            body["verified"] = o.verified.into();
            body["photo"] = if o.photo.is_some() { format!("/api/checks/{id}/photo").into() } else { Value::Null };
            body["photo_error"] = o.photo_error.clone().into();
            body["record"] = serde_json::to_value(&o.record).unwrap_or(Value::Null);
            body["elapsed_ms"] = (o.elapsed_ms as u64).into();
        }
        JobState::Failed(f) => {
            body["state"] = "failed".into();
            body["error"] = f.json();
        }
    }
    Ok(Json(body).into_response())
}

/// `GET /api/checks/{id}/photo`: the photo of a passed check.
async fn photo(
    State(counter): State<Arc<Counter>>,
    _: Staff,
    Path(id): Path<String>,
) -> Result<Response, CounterError> {
    let inner = counter.checks.lock();
    let Some(Job { state: JobState::Done(o), finished: Some(at), .. }) = inner.jobs.get(&id) else {
        return Err(CounterError::NotFound("photo"));
    };
    let Some((content_type, bytes)) = o.photo.as_ref().filter(|_| at.elapsed() < RESULT_TTL) else {
        return Err(CounterError::NotFound("photo"));
    };
    Ok(([(header::CONTENT_TYPE, *content_type)], bytes.clone()).into_response())
}

pub(crate) fn routes() -> Router<Arc<Counter>> {
    Router::new()
        .route("/api/checks", post(start))
        .route("/api/checks/{id}", get(status))
        .route("/api/checks/{id}/photo", get(photo))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn fields(json: &str) -> CodeFields {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn access_codes_are_checked_per_document_without_repeating_them() {
        let e = access_code(DocumentKind::MyNumberCard, fields(r#"{"number_b": "12345"}"#)).unwrap_err();
        assert!(!e.to_string().contains("12345"));
        assert!(matches!(
            access_code(DocumentKind::MyNumberCard, fields(r#"{"number_b": "85040120301234"}"#)),
            Ok(AccessCode::NumberB(_))
        ));
        assert!(access_code(DocumentKind::DriverLicence, fields(r#"{"pin1": "1234", "pin2": "****"}"#)).is_ok());
        assert!(access_code(DocumentKind::DriverLicence, fields(r#"{"pin1": "12345", "pin2": "1234"}"#)).is_err());
        assert!(access_code(DocumentKind::ResidenceCard, fields(r#"{"card_number": "ab12345678cd"}"#)).is_ok());
        assert!(access_code(DocumentKind::Passport, fields(r#"{"can": "123456"}"#)).is_ok());
        assert!(access_code(
            DocumentKind::Passport,
            fields(r#"{"document_number": "TK1234567", "birth": "850401", "expiry": "310401"}"#)
        )
        .is_ok());
        assert!(access_code(DocumentKind::Passport, fields(r#"{"document_number": "TK1234567"}"#)).is_err());
    }

    #[test]
    fn a_body_that_does_not_parse_is_not_quoted() {
        let e =
            serde_json::from_slice::<StartRequest>(br#"{"document":"passport","source":"x","code":{"can":123456}}"#);
        assert!(e.is_err());
    }
}
