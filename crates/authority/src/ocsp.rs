//! The OCSP responder (RFC 6960, shared/spec/20-pki.md §3 "Publication": per-certificate
//! answers, status updated every 15 minutes, only for registered verifiers).
//!
//! `POST /ocsp` (body `application/ocsp-request`, at most
//! [`MAX_REQUEST_LEN`](hanko_pki::ocsp::MAX_REQUEST_LEN) bytes) and `GET /ocsp/{base64}`
//! (RFC 6960 A.1) answer `application/ocsp-response`, signed by the delegated responder of the
//! CA generation that issued the certificate. Every answer is HTTP 200; failures are OCSP
//! error statuses: `unauthorized` without a valid verifier key (or with a key of the other
//! environment, or for a CA the verifier is not registered for, or for an issuer that is none of
//! our generations), `malformedRequest` for bad DER/base64 or more CertIDs than
//! [`MAX_REQUEST_IDS`](hanko_pki::ocsp::MAX_REQUEST_IDS), `internalError` when the register
//! cannot be read.
//!
//! **Pre-signed answers.** A request for one certificate without a nonce is answered from a
//! cache of signed response bytes keyed by serial (and issuer and CertID form): a hit is a hash
//! lookup and a `Bytes` clone, with no register query and no signature. A *canonical* request
//! (exactly the DER `build_request` makes for its one CertID, at most
//! [`MAX_REMEMBERED_REQUEST`] bytes) is remembered by the SHA-256 of that encoding, so a repeated
//! one is not even decoded again; any other request (extensions, a signature, padding, other
//! encodings) is decoded every time and never retained. An answer is served for [`CACHE_FRESH`]
//! after its thisUpdate (its nextUpdate is thisUpdate + [`UPDATE_INTERVAL`], so a client always
//! gets at least 5 minutes of validity); a miss reads the register, signs and caches — except
//! an `unknown` answer, which is never cached (random serials cannot fill the cache). The cache
//! is bounded by bytes (`Config::ocsp_cache_bytes`, default [`DEFAULT_CACHE_BYTES`]: an eighth
//! for remembered requests, the rest for answers); when full, the stale answers and then
//! arbitrary ones are dropped down to three quarters. A request with a nonce is signed afresh
//! and the nonce echoed (RFC 8954).
//!
//! **Freshness guarantee.** An answer reflects the register as of at most
//! `config.ocsp_lag` + 1 s ago, on every node sharing the database: [`task`] follows the
//! register's change feed (`changes` table) every `ocsp_lag` (at least 1 s) and evicts the changed
//! serials. With `ocsp_lag` = 0 a revocation also evicts synchronously in the process that made
//! it, so the very next request there sees it. A change-feed row that commits out of sequence
//! order (PostgreSQL) is still picked up: the feed cursor waits at a gap for [`GAP_GRACE`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration as StdDuration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::Engine;
use hanko_pki::ocsp::{
    build_request, error_response, CertIdHash, CertIdentity, OcspResponseStatus, ParsedRequest, MAX_REQUEST_LEN,
    UPDATE_INTERVAL,
};
use hanko_pki::time::{Duration, OffsetDateTime};
use hanko_pki::{CaKind, RevocationStatus, Serial};

use crate::error::AuthorityError;
use crate::meter::Billable;
use crate::verifiers::Caller;
use crate::{Authority, Config};

/// The default bound of the OCSP cache in bytes (`Config::ocsp_cache_bytes`): about 40,000
/// pre-signed answers of ~1.5 KB with the responder certificate.
pub const DEFAULT_CACHE_BYTES: usize = 64 << 20;
/// The largest request remembered for the no-decode path; a canonical one-CertID request is
/// at most about 200 bytes (SHA-512 issuer hashes, a 20-octet serial).
pub const MAX_REMEMBERED_REQUEST: usize = 256;
/// What one cached answer costs beyond its bytes (map slot, serial, headers), for the bound.
const ANSWER_OVERHEAD: usize = 128;
/// What one remembered request costs (its 32-byte key, what it names, the map slot).
const REQUEST_COST: usize = 160;
/// How long a pre-signed answer is served after its thisUpdate.
pub const CACHE_FRESH: Duration = Duration::minutes(10);
/// How long the change-feed cursor waits at a gap in the sequence (a transaction that took its
/// number but has not committed yet) before giving up on it (a rolled-back one).
pub const GAP_GRACE: StdDuration = StdDuration::from_secs(10);
/// The change feed is read from this many entries before its tip at start, so changes committing
/// out of order around the start are not missed.
const START_MARGIN: i64 = 1000;

/// One of our CA generations as OCSP requests name it: the issuer hashes for every CertID hash
/// algorithm, computed once.
#[derive(Debug)]
struct Issuer {
    kind: CaKind,
    id: String,
    hashes: Vec<(CertIdHash, Vec<u8>, Vec<u8>)>,
}

impl Issuer {
    fn matches(&self, id: &CertIdentity) -> bool {
        self.hashes.iter().any(|(h, name, key)| {
            *h == id.hash_algorithm() && name == id.issuer_name_hash() && key == id.issuer_key_hash()
        })
    }
}

/// One pre-signed answer for a serial.
#[derive(Debug, Clone)]
struct Cached {
    /// Index into the issuer table.
    issuer: usize,
    hash: CertIdHash,
    /// Whether the request's CertID had NULL hash parameters (the answer echoes the form).
    null_parameters: bool,
    this_update: OffsetDateTime,
    body: Bytes,
    /// The certStatus answered (`good` or `revoked`: an `unknown` answer is never cached).
    status: &'static str,
}

/// What a canonical cacheable request (one CertID, no nonce) names, remembered by the SHA-256
/// of its DER: a repeated request finds its pre-signed answer without being decoded again. The issuer is kept
/// by identity, not by its index in the issuer table, so an entry never goes stale.
#[derive(Debug)]
struct Asked {
    kind: CaKind,
    generation: String,
    serial: Serial,
    hash: CertIdHash,
    null_parameters: bool,
}

#[derive(Debug, Default)]
struct Feed {
    /// Every change up to here is applied; `None` until the first poll.
    cursor: Option<i64>,
    /// Where the cursor has been stuck at a gap since.
    gap_since: Option<(i64, Instant)>,
}

/// Pre-signed answers by serial, and their cost in bytes.
#[derive(Debug, Default)]
struct Answers {
    map: HashMap<Serial, Vec<Cached>>,
    bytes: usize,
}

fn answer_cost(serial: &Serial, c: &Cached) -> usize {
    c.body.len() + serial.as_bytes().len() + ANSWER_OVERHEAD
}

/// Remembered canonical requests by the SHA-256 of their DER, and their cost in bytes.
#[derive(Debug, Default)]
struct Requests {
    map: HashMap<[u8; 32], Asked>,
    bytes: usize,
}

fn request_key(der: &[u8]) -> Option<[u8; 32]> {
    if der.len() > MAX_REMEMBERED_REQUEST {
        return None;
    }
    hanko_pki::DigestAlgorithm::Sha256.digest(der).try_into().ok()
}

/// The responder's state: pre-signed answers, the issuer table and the change-feed cursor.
#[derive(Debug)]
pub(crate) struct OcspCache {
    answers: RwLock<Answers>,
    /// Decoded canonical requests (at most an eighth of the byte budget, cleared when full).
    requests: RwLock<Requests>,
    /// Bumped by every eviction: a miss that started before one does not cache its answer.
    epoch: AtomicU64,
    issuers: RwLock<Arc<Vec<Issuer>>>,
    /// Bytes for answers; requests get an eighth of the configured budget on top.
    answer_budget: usize,
    request_budget: usize,
    immediate: bool,
    poll: StdDuration,
    feed: tokio::sync::Mutex<Feed>,
}

impl OcspCache {
    pub(crate) fn new(config: &Config) -> OcspCache {
        OcspCache {
            answers: RwLock::new(Answers::default()),
            requests: RwLock::new(Requests::default()),
            epoch: AtomicU64::new(0),
            issuers: RwLock::new(Arc::new(Vec::new())),
            answer_budget: config.ocsp_cache_bytes - config.ocsp_cache_bytes / 8,
            request_budget: config.ocsp_cache_bytes / 8,
            immediate: config.ocsp_lag.is_zero(),
            poll: config.ocsp_lag.max(StdDuration::from_secs(1)),
            feed: tokio::sync::Mutex::new(Feed::default()),
        }
    }

    /// The register changed `serial` (called after the change committed): with `ocsp_lag` = 0
    /// its answers are dropped at once; otherwise the change feed does it within the lag.
    pub(crate) fn register_changed(&self, serial: &Serial) {
        if self.immediate {
            self.evict(std::iter::once(serial));
        }
    }

    fn evict<'a>(&self, serials: impl Iterator<Item = &'a Serial>) -> usize {
        let mut answers = self.answers.write().unwrap_or_else(|p| p.into_inner());
        self.epoch.fetch_add(1, Ordering::SeqCst);
        let mut n = 0;
        for s in serials {
            if let Some(v) = answers.map.remove(s) {
                answers.bytes -= v.iter().map(|c| answer_cost(s, c)).sum::<usize>();
                n += 1;
            }
        }
        n
    }

    fn clear(&self) {
        let mut answers = self.answers.write().unwrap_or_else(|p| p.into_inner());
        self.epoch.fetch_add(1, Ordering::SeqCst);
        *answers = Answers::default();
    }

    fn lookup(
        &self,
        issuer: usize,
        serial: &Serial,
        hash: CertIdHash,
        null_parameters: bool,
        now: OffsetDateTime,
    ) -> Option<(Bytes, &'static str)> {
        let answers = self.answers.read().unwrap_or_else(|p| p.into_inner());
        answers.map.get(serial)?.iter().find_map(|c| {
            let fresh = c.this_update <= now && now < c.this_update + CACHE_FRESH;
            (fresh && c.issuer == issuer && c.hash == hash && c.null_parameters == null_parameters)
                .then(|| (c.body.clone(), c.status))
        })
    }

    /// Remembers what `der` names if it is the canonical encoding of a one-CertID request
    /// without a nonce (and small): anything else is decoded every time and never retained.
    fn remember_request(&self, der: &[u8], id: &CertIdentity, asked: Asked) {
        let Some(key) = request_key(der) else { return };
        if build_request(std::slice::from_ref(id), None).ok().as_deref() != Some(der) {
            return;
        }
        let mut requests = self.requests.write().unwrap_or_else(|p| p.into_inner());
        if requests.map.contains_key(&key) {
            return;
        }
        if requests.bytes + REQUEST_COST > self.request_budget {
            *requests = Requests::default();
        }
        if REQUEST_COST <= self.request_budget {
            requests.map.insert(key, asked);
            requests.bytes += REQUEST_COST;
        }
    }

    fn insert(&self, serial: Serial, entry: Cached, epoch: u64, now: OffsetDateTime) {
        let cost = answer_cost(&serial, &entry);
        if cost > self.answer_budget {
            return;
        }
        let mut guard = self.answers.write().unwrap_or_else(|p| p.into_inner());
        if self.epoch.load(Ordering::SeqCst) != epoch {
            return; // the register changed meanwhile: the answer may be stale already
        }
        let answers = &mut *guard;
        // The entry this one replaces.
        if let Some(v) = answers.map.get_mut(&serial) {
            v.retain(|c| {
                let same =
                    c.issuer == entry.issuer && c.hash == entry.hash && c.null_parameters == entry.null_parameters;
                if same {
                    answers.bytes -= answer_cost(&serial, c);
                }
                !same
            });
        }
        if answers.bytes + cost > self.answer_budget {
            // Stale answers first, then arbitrary ones, down to three quarters of the budget.
            let target = self.answer_budget / 4 * 3;
            let bytes = &mut answers.bytes;
            answers.map.retain(|s, v| {
                v.retain(|c| {
                    let keep = now < c.this_update + CACHE_FRESH;
                    if !keep {
                        *bytes -= answer_cost(s, c);
                    }
                    keep
                });
                !v.is_empty()
            });
            answers.map.retain(|s, v| {
                if *bytes + cost <= target {
                    return true;
                }
                *bytes -= v.iter().map(|c| answer_cost(s, c)).sum::<usize>();
                false
            });
        }
        answers.bytes += cost;
        answers.map.entry(serial).or_default().push(entry);
    }

    /// How many serials have answers cached.
    fn len(&self) -> usize {
        self.answers.read().unwrap_or_else(|p| p.into_inner()).map.len()
    }

    /// What the cache holds, in bytes as it counts them against its bound.
    fn bytes(&self) -> usize {
        self.answers.read().unwrap_or_else(|p| p.into_inner()).bytes
            + self.requests.read().unwrap_or_else(|p| p.into_inner()).bytes
    }
}

/// What one verifier asked, after authentication and parsing.
enum Outcome {
    /// A signed answer: its body, the certStatus of its first certificate, whether it was
    /// pre-signed (cached).
    Answer(Bytes, &'static str, bool),
    Error(OcspResponseStatus),
}

/// The RFC 6960 certStatus name.
fn cert_status(status: &RevocationStatus) -> &'static str {
    match status {
        RevocationStatus::Good => "good",
        RevocationStatus::Revoked(_) => "revoked",
        _ => "unknown",
    }
}

/// The RFC 6960 OCSPResponseStatus name.
fn response_status(status: OcspResponseStatus) -> &'static str {
    match status {
        OcspResponseStatus::Successful => "successful",
        OcspResponseStatus::MalformedRequest => "malformedRequest",
        OcspResponseStatus::InternalError => "internalError",
        OcspResponseStatus::TryLater => "tryLater",
        OcspResponseStatus::SigRequired => "sigRequired",
        OcspResponseStatus::Unauthorized => "unauthorized",
    }
}

fn ocsp_response(body: Bytes) -> Response {
    let mut r = (StatusCode::OK, Body::from(body)).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/ocsp-response"));
    r
}

impl Outcome {
    fn into_response(self) -> Response {
        match self {
            Outcome::Answer(b, _, _) => ocsp_response(b),
            Outcome::Error(s) => ocsp_response(Bytes::from(error_response(s).unwrap_or_default())),
        }
    }
}

fn billable(kind: CaKind) -> Billable {
    match kind {
        CaKind::Signature => Billable::SignatureCheck,
        CaKind::Auth => Billable::AuthCheck,
    }
}

fn may_check(caller: &Caller, kind: CaKind) -> bool {
    match kind {
        CaKind::Signature => caller.verifier.role.checks_signatures(),
        CaKind::Auth => caller.verifier.role.checks_auth(),
    }
}

fn asked(issuer: &Issuer, id: &CertIdentity, null_parameters: bool) -> Asked {
    Asked {
        kind: issuer.kind,
        generation: issuer.id.clone(),
        serial: id.serial().clone(),
        hash: id.hash_algorithm(),
        null_parameters,
    }
}

fn internal(e: impl std::fmt::Display) -> OcspResponseStatus {
    tracing::error!(error = %e, "OCSP request failed");
    OcspResponseStatus::InternalError
}

impl Authority {
    /// The issuer table, rebuilt (and the cache cleared) when the CA generations changed.
    fn ocsp_issuers(&self) -> Result<Arc<Vec<Issuer>>, AuthorityError> {
        let cas = self.cas()?;
        let current = self.ocsp.issuers.read().unwrap_or_else(|p| p.into_inner()).clone();
        let same = current.len() == cas.all().len()
            && current.iter().zip(cas.all()).all(|(i, g)| i.kind == g.ca.kind() && i.id == g.id);
        if same {
            return Ok(current);
        }
        let mut table = Vec::with_capacity(cas.all().len());
        for g in cas.all() {
            let mut hashes = Vec::new();
            for h in [CertIdHash::Sha1, CertIdHash::Sha256, CertIdHash::Sha384, CertIdHash::Sha512] {
                let id = CertIdentity::with_hash(h, g.ca.certificate(), &Serial::from_u64(1))?;
                hashes.push((h, id.issuer_name_hash().to_vec(), id.issuer_key_hash().to_vec()));
            }
            table.push(Issuer { kind: g.ca.kind(), id: g.id.clone(), hashes });
        }
        let table = Arc::new(table);
        *self.ocsp.issuers.write().unwrap_or_else(|p| p.into_inner()) = table.clone();
        self.ocsp.clear();
        Ok(table)
    }

    /// A request seen before (one CertID, no nonce) whose pre-signed answer is cached: answered
    /// without decoding it. `None`: take the full path.
    fn answer_known(&self, caller: &Caller, der: &[u8]) -> Option<Outcome> {
        let key = request_key(der)?;
        let issuers = self.ocsp_issuers().ok()?;
        let (issuer, body) = {
            let requests = self.ocsp.requests.read().unwrap_or_else(|p| p.into_inner());
            let asked = requests.map.get(&key)?;
            let i = issuers.iter().position(|g| g.kind == asked.kind && g.id == asked.generation)?;
            if !may_check(caller, asked.kind) {
                return Some(Outcome::Error(OcspResponseStatus::Unauthorized));
            }
            (i, self.ocsp.lookup(i, &asked.serial, asked.hash, asked.null_parameters, self.clock.now())?)
        };
        self.meter(caller, billable(issuers[issuer].kind));
        Some(Outcome::Answer(body.0, body.1, true))
    }

    /// Answers one DER `OCSPRequest` for `caller`.
    async fn answer_ocsp(&self, caller: &Caller, der: &[u8]) -> Outcome {
        if let Some(known) = self.answer_known(caller, der) {
            return known;
        }
        let request = match ParsedRequest::from_der(der) {
            Ok(r) => r,
            Err(e) => return Outcome::Error(OcspResponseStatus::from(&e)),
        };
        let issuers = match self.ocsp_issuers() {
            Ok(t) => t,
            Err(e) => return Outcome::Error(internal(e)),
        };
        // Which of our generations each CertID names; any other issuer is not ours to answer.
        let mut which = Vec::with_capacity(request.ids().len());
        for id in request.ids() {
            match issuers.iter().position(|i| i.matches(id)) {
                Some(i) if may_check(caller, issuers[i].kind) => which.push(i),
                _ => return Outcome::Error(OcspResponseStatus::Unauthorized),
            }
        }
        let signer = which[0];
        // A failed rotation does not stop answers: the current responder keeps signing until it
        // expires (clients then refuse its answers), and the failure is logged for the operator.
        if let Err(e) = self.rotate_responders() {
            tracing::error!(error = %e, "rotating the OCSP responder certificate failed; answering with the current one");
        }
        let now = self.clock.now();
        let single = request.nonce().is_none() && request.ids().len() == 1;
        let mut cache_form = None;
        if single {
            let id = &request.ids()[0];
            let null_parameters = match id.to_cert_id() {
                Ok(c) => c.hash_algorithm.parameters.is_some(),
                Err(e) => return Outcome::Error(internal(e)),
            };
            if let Some((body, status)) =
                self.ocsp.lookup(signer, id.serial(), id.hash_algorithm(), null_parameters, now)
            {
                // A cached answer is never `unknown`: this request may be remembered.
                self.ocsp.remember_request(der, id, asked(&issuers[signer], id, null_parameters));
                self.meter(caller, billable(issuers[signer].kind));
                return Outcome::Answer(body, status, true);
            }
            cache_form = Some(null_parameters);
        }
        let epoch = self.ocsp.epoch.load(Ordering::SeqCst);
        let mut entries = Vec::with_capacity(request.ids().len());
        for (id, &i) in request.ids().iter().zip(&which) {
            let status = if i != signer {
                // One response has one signer: a certificate of another generation in the same
                // request is answered `unknown` by this one (send it separately).
                RevocationStatus::Unknown
            } else {
                match self.store.certificate_state(id.serial()).await {
                    Err(e) => return Outcome::Error(internal(e)),
                    Ok(Some(s)) if s.issued && s.ca_kind == issuers[i].kind && s.generation == issuers[i].id => {
                        match s.revocation {
                            Some(r) => RevocationStatus::Revoked(r),
                            None => RevocationStatus::Good,
                        }
                    }
                    // Never issued, only reserved, or issued by another generation.
                    Ok(_) => RevocationStatus::Unknown,
                }
            };
            entries.push((id.clone(), status));
        }
        let signed = {
            let cas = match self.cas() {
                Ok(c) => c,
                Err(e) => return Outcome::Error(internal(e)),
            };
            let Some(g) = cas.get(issuers[signer].kind, &issuers[signer].id) else {
                return Outcome::Error(internal("CA generation vanished"));
            };
            g.responder.respond(&entries, now, now, Some(now + UPDATE_INTERVAL), request.nonce())
        };
        let body = match signed {
            Ok(b) => Bytes::from(b),
            Err(e) => return Outcome::Error(internal(e)),
        };
        for _ in which.iter().filter(|&&i| i == signer) {
            self.meter(caller, billable(issuers[signer].kind));
        }
        // Never an `unknown` answer: random serials must not fill the cache.
        if let (Some(null_parameters), Some((id, status))) = (cache_form, entries.first()) {
            if matches!(status, RevocationStatus::Unknown) {
                return Outcome::Answer(body, "unknown", false);
            }
            self.ocsp.remember_request(der, id, asked(&issuers[signer], id, null_parameters));
            let cached = Cached {
                issuer: signer,
                hash: id.hash_algorithm(),
                null_parameters,
                this_update: now,
                body: body.clone(),
                status: cert_status(status),
            };
            self.ocsp.insert(id.serial().clone(), cached, epoch, now);
        }
        let first = entries.first().map(|(_, s)| cert_status(s)).unwrap_or("unknown");
        Outcome::Answer(body, first, false)
    }

    /// Reads the register's change feed now and drops the cached OCSP answers of every changed
    /// certificate; returns how many serials were dropped. The background task calls this every
    /// `ocsp_lag`; tests and operators may call it to catch up at once.
    pub async fn refresh_ocsp(&self) -> Result<usize, AuthorityError> {
        let mut feed = self.ocsp.feed.lock().await;
        let Some(mut cursor) = feed.cursor else {
            let tip = self.store.last_change().await?;
            feed.cursor = Some((tip - START_MARGIN).max(0));
            // Nothing cached before the feed was followed can be trusted.
            self.ocsp.clear();
            return Ok(0);
        };
        let mut evicted = 0;
        loop {
            let rows = self.store.changes_after(cursor).await?;
            let Some(&(last, _)) = rows.last() else { break };
            evicted += self.ocsp.evict(rows.iter().map(|(_, s)| s));
            for &(seq, _) in &rows {
                if seq == cursor + 1 {
                    cursor = seq;
                    feed.gap_since = None;
                    continue;
                }
                // A gap before `seq`: wait for it to fill, or give up on it after GAP_GRACE.
                match feed.gap_since {
                    Some((at, since)) if at == cursor && since.elapsed() >= GAP_GRACE => {
                        cursor = seq;
                        feed.gap_since = None;
                    }
                    Some((at, _)) if at == cursor => break,
                    _ => {
                        feed.gap_since = Some((cursor, Instant::now()));
                        break;
                    }
                }
            }
            if cursor != last {
                break; // stuck at a gap: read again at the next poll
            }
        }
        feed.cursor = Some(cursor);
        Ok(evicted)
    }

    /// How many certificates have pre-signed OCSP answers cached (for monitoring and benches).
    pub fn ocsp_cached(&self) -> usize {
        self.ocsp.len()
    }

    /// The bytes the OCSP cache holds (answers and remembered requests) as counted against
    /// `Config::ocsp_cache_bytes`.
    pub fn ocsp_cache_bytes(&self) -> usize {
        self.ocsp.bytes()
    }
}

fn caller_or_status(caller: Result<Caller, AuthorityError>) -> Result<Caller, Outcome> {
    caller.map_err(|e| {
        if e.status().is_server_error() {
            Outcome::Error(internal(e))
        } else {
            Outcome::Error(OcspResponseStatus::Unauthorized)
        }
    })
}

impl Authority {
    /// The HTTP answer of `outcome`, counted in the metrics.
    fn ocsp_answer(&self, outcome: Outcome) -> Response {
        match &outcome {
            Outcome::Answer(_, status, cached) => self.metrics.ocsp_response(status, *cached),
            Outcome::Error(e) => self.metrics.ocsp_response(response_status(*e), false),
        }
        outcome.into_response()
    }
}

async fn post_ocsp(State(a): State<Arc<Authority>>, caller: Result<Caller, AuthorityError>, body: Body) -> Response {
    let caller = match caller_or_status(caller) {
        Ok(c) => c,
        Err(o) => return a.ocsp_answer(o),
    };
    // One byte over the budget is enough to know the request is too large.
    let der = match axum::body::to_bytes(body, MAX_REQUEST_LEN + 1).await {
        Ok(b) if b.len() <= MAX_REQUEST_LEN => b,
        _ => return a.ocsp_answer(Outcome::Error(OcspResponseStatus::MalformedRequest)),
    };
    let outcome = a.answer_ocsp(&caller, &der).await;
    a.ocsp_answer(outcome)
}

/// RFC 6960 A.1: the base64 of the DER request, URL-encoded (axum percent-decodes the path).
/// Standard base64 with or without padding, and the URL-safe alphabet, are accepted.
fn decode_get(encoded: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    if encoded.is_empty() || encoded.len() > MAX_REQUEST_LEN.div_ceil(3) * 4 {
        return None;
    }
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD].iter().find_map(|e| e.decode(encoded).ok())
}

async fn get_ocsp(
    State(a): State<Arc<Authority>>,
    caller: Result<Caller, AuthorityError>,
    encoded: Result<Path<String>, PathRejection>,
) -> Response {
    let caller = match caller_or_status(caller) {
        Ok(c) => c,
        Err(o) => return a.ocsp_answer(o),
    };
    let Some(der) = encoded.ok().and_then(|Path(s)| decode_get(&s)) else {
        return a.ocsp_answer(Outcome::Error(OcspResponseStatus::MalformedRequest));
    };
    let outcome = a.answer_ocsp(&caller, &der).await;
    a.ocsp_answer(outcome)
}

/// `POST /ocsp`, `GET /ocsp/{base64}`.
pub(crate) fn routes() -> Router<Arc<Authority>> {
    Router::new().route("/ocsp", post(post_ocsp)).route("/ocsp/{*request}", get(get_ocsp))
}

/// Follows the register's change feed every `ocsp_lag` (at least every second) and drops the
/// changed certificates' cached answers (runs until the process ends).
pub(crate) async fn task(authority: Arc<Authority>) {
    loop {
        if let Err(e) = authority.refresh_ocsp().await {
            tracing::error!(error = %e, "reading the register's change feed failed");
        }
        if let Err(e) = authority.rotate_responders() {
            tracing::error!(error = %e, "rotating the OCSP responder certificates failed");
        }
        tokio::time::sleep(authority.ocsp.poll).await;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn get_requests_decode_both_alphabets_with_or_without_padding() {
        let der = [0x30u8, 0x03, 0xfb, 0xff, 0x01];
        for e in [
            base64::engine::general_purpose::STANDARD.encode(der),
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(der),
        ] {
            assert_eq!(decode_get(&e).unwrap(), der);
        }
        assert!(decode_get("").is_none());
        assert!(decode_get("!!!").is_none());
        assert!(decode_get(&"A".repeat(MAX_REQUEST_LEN * 2)).is_none());
    }
}
