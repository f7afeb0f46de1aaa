//! The HTTP API: one router over the authority. Every module contributes its routes; errors
//! answer `application/problem+json`; request bodies are capped.

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use hanko_card::Slot;
use hanko_pki::time::format_description::well_known::Rfc3339;
use hanko_pki::{BasicFacts, BirthDate, Serial, Sex, SubstituteMap};
use serde::Deserialize;
use serde_json::{json, Value};
use zeroize::Zeroizing;

use crate::counter::{CardPins, LifeEvent, NewPerson};
use crate::error::AuthorityError;
use crate::register::{date_str, CardRecord, Person};
use crate::verifiers::{CounterCaller, OperatorCaller};
use crate::Authority;

/// Largest request body accepted (a consent or smartphone application with its certificate is
/// a few KiB).
pub const MAX_BODY: usize = 64 * 1024;

/// The authority's router: counter, publication (CRL, OCSP), verifier services, admin, the
/// OpenAPI document at `/openapi.json`, `/healthz` and `/metrics`.
pub fn router(authority: Arc<Authority>) -> Router {
    // Rate limiting per client address and key on the unauthenticated routes.
    let public_limit = axum::middleware::from_fn_with_state(authority.clone(), crate::limit::public_limit);
    let metrics = authority.metrics.metrics.clone();
    let router = Router::new()
        .route("/v1/counter/persons", post(add_person))
        .route("/v1/counter/persons/{id}", get(get_person))
        .route("/v1/counter/persons/{id}/cards", post(issue_card))
        .route("/v1/counter/persons/{id}/events", post(record_event))
        .route("/v1/counter/cards/{id}", get(get_card))
        .route("/v1/counter/cards/{id}/pin-reset", post(reset_pin))
        .route("/v1/counter/cards/{id}/renewal", post(renew))
        .route("/v1/counter/certificates/{serial}/revocation", post(revoke))
        .route("/v1/admin/generations", post(new_generation))
        .route("/openapi.json", get(openapi).route_layer(public_limit.clone()))
        .route("/healthz", get(health).route_layer(public_limit.clone()))
        // /metrics needs the operator key: a caller without one gets its 401 at once, no limit.
        .route("/metrics", get(crate::metrics::get_metrics))
        .merge(crate::verifiers::routes())
        .merge(crate::publish::routes())
        .merge(crate::ocsp::routes())
        .merge(crate::services::routes())
        .merge(crate::consent::routes())
        .merge(crate::meter::routes())
        .merge(crate::phone::routes().route_layer(public_limit))
        .fallback(|| async { AuthorityError::not_found("route", "for this path") })
        .layer(axum::middleware::map_response(hanko_store::http::problem_for_rejections))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(authority);
    metrics.measure(router)
}

/// `GET /healthz`: the database answers (else 503, `unavailable`), and each CA generation's
/// CRL was published in time (`overdue`: past its nextUpdate — the publication task stopped,
/// and platforms will soon refuse to answer from it).
async fn health(State(a): State<Arc<Authority>>) -> (axum::http::StatusCode, Json<Value>) {
    let crls = match tokio::time::timeout(std::time::Duration::from_secs(2), a.published_crls()).await {
        Ok(Ok(crls)) => crls,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "health check: the database does not answer");
            return (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "unavailable", "database": "unreachable"})),
            );
        }
        Err(_) => {
            tracing::warn!("health check: the database did not answer within 2 s");
            return (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "unavailable", "database": "unreachable"})),
            );
        }
    };
    let now = a.clock.now();
    let list: Vec<Value> = crls
        .iter()
        .map(|c| {
            json!({"kind": c.kind.as_str(), "generation": c.generation,
                   "next_update": c.next_update.format(&Rfc3339).ok(), "overdue": c.next_update <= now})
        })
        .collect();
    let overdue = crls.iter().any(|c| c.next_update <= now);
    (
        axum::http::StatusCode::OK,
        Json(json!({"status": if overdue { "overdue" } else { "ok" }, "database": "ok", "crls": list,
                    "crl_failures_total": a.crl_failures()})),
    )
}

/// A JSON Schema `integer` as a `u32`: any JSON number with no fractional part (`18` and `18.0`
/// alike, as JSON Schema counts them), refused when negative, fractional or too large.
pub(crate) fn json_integer<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let n = serde_json::Number::deserialize(d)?;
    let v = n.as_u64().or_else(|| {
        n.as_f64().filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= f64::from(u32::MAX)).map(|f| f as u64)
    });
    v.and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| serde::de::Error::custom(format!("{n} is not an integer from 0 to {}", u32::MAX)))
}

async fn openapi() -> ([(axum::http::HeaderName, &'static str); 1], &'static str) {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], crate::openapi::document())
}

/// The 4 facts as JSON (never logged).
#[derive(Deserialize)]
pub(crate) struct FactsIn {
    name: String,
    /// `1` male, `2` female, `3` unknown.
    sex: String,
    /// `YYYY-MM-DD`, or the register's `EYYYYMMDD`.
    birth_date: String,
    address: String,
    name_substitutes: Option<String>,
    address_substitutes: Option<String>,
}

pub(crate) fn parse_birth(s: &str) -> Result<BirthDate, AuthorityError> {
    let fmt = hanko_pki::time::macros::format_description!("[year]-[month]-[day]");
    if let Ok(d) = hanko_pki::time::Date::parse(s, &fmt) {
        return Ok(BirthDate::Known(d));
    }
    BirthDate::parse(s).map_err(|e| AuthorityError::Invalid(format!("birth_date: {e}")))
}

/// The sex code at the edge: `1` male, `2` female, `3` unknown — the certificate's codes (the
/// input-assist AP's `9` is mapped from `3` when a card is made).
pub fn parse_sex(s: &str) -> Result<Sex, AuthorityError> {
    match s {
        "1" => Ok(Sex::MALE),
        "2" => Ok(Sex::FEMALE),
        "3" => Ok(Sex::UNKNOWN),
        _ => Err(AuthorityError::Invalid("sex must be 1 (male), 2 (female) or 3 (unknown)".into())),
    }
}

fn facts_in(f: &FactsIn) -> Result<BasicFacts, AuthorityError> {
    let inv = |e: hanko_pki::FactsError| AuthorityError::Invalid(e.to_string());
    let name_map = match &f.name_substitutes {
        Some(m) => SubstituteMap::new("name", &f.name, m).map_err(inv)?,
        None => SubstituteMap::none_for(&f.name),
    };
    let address_map = match &f.address_substitutes {
        Some(m) => SubstituteMap::new("address", &f.address, m).map_err(inv)?,
        None => SubstituteMap::none_for(&f.address),
    };
    BasicFacts::with_substitutes(
        &f.name,
        name_map,
        parse_sex(&f.sex)?,
        parse_birth(&f.birth_date)?,
        &f.address,
        address_map,
    )
    .map_err(inv)
}

pub(crate) fn facts_json(f: &BasicFacts) -> Value {
    json!({
        "name": f.name(),
        "name_substitutes": f.name_substitutes().as_str(),
        "sex": f.sex().as_str(),
        "birth_date": f.birth_date().to_string(),
        "address": f.address(),
        "address_substitutes": f.address_substitutes().as_str(),
    })
}

fn person_json(p: &Person) -> Value {
    json!({
        "id": p.id,
        "facts": facts_json(&p.facts),
        "prefecture": p.prefecture,
        "municipality": p.municipality,
        "ward": p.ward,
        "status": format!("{:?}", p.status).to_lowercase(),
    })
}

fn card_json(c: &CardRecord) -> Value {
    json!({
        "id": c.id,
        "person_id": c.person_id,
        "device": c.device.as_str(),
        "status": format!("{:?}", c.status).to_lowercase(),
        "expiry": date_str(c.expiry),
    })
}

#[derive(Deserialize)]
struct PersonIn {
    #[serde(flatten)]
    facts: FactsIn,
    prefecture: String,
    municipality: String,
    #[serde(default)]
    ward: bool,
}

fn check_locality(s: &str) -> Result<(), AuthorityError> {
    if s.is_empty() || s.len() > 64 || !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b' ') {
        return Err(AuthorityError::Invalid("prefecture/municipality: romanised, e.g. Tokyo-to, Mihon-ku".into()));
    }
    Ok(())
}

async fn add_person(
    State(a): State<Arc<Authority>>,
    _: CounterCaller,
    Json(p): Json<PersonIn>,
) -> Result<Json<Value>, AuthorityError> {
    check_locality(&p.prefecture)?;
    check_locality(&p.municipality)?;
    let person = a
        .add_person(NewPerson {
            facts: facts_in(&p.facts)?,
            prefecture: p.prefecture,
            municipality: p.municipality,
            ward: p.ward,
        })
        .await?;
    Ok(Json(person_json(&person)))
}

async fn get_person(
    State(a): State<Arc<Authority>>,
    _: CounterCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, AuthorityError> {
    let person = a.person(&id).await?;
    let cards: Vec<Value> = a.store.cards_of(&id).await?.iter().map(card_json).collect();
    let mut v = person_json(&person);
    v["cards"] = Value::Array(cards);
    Ok(Json(v))
}

#[derive(Deserialize)]
struct PinsIn {
    sign_password: Option<String>,
    auth_pin: String,
}

async fn issue_card(
    State(a): State<Arc<Authority>>,
    _: CounterCaller,
    Path(id): Path<String>,
    Json(p): Json<PinsIn>,
) -> Result<Json<Value>, AuthorityError> {
    let pins = CardPins { sign_password: p.sign_password.map(Zeroizing::new), auth_pin: Zeroizing::new(p.auth_pin) };
    Ok(Json(serde_json::to_value(a.issue_card(&id, &pins).await?).unwrap_or_default()))
}

async fn get_card(
    State(a): State<Arc<Authority>>,
    _: CounterCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, AuthorityError> {
    let card = a.card(&id).await?;
    let certs: Vec<Value> = a
        .store
        .certificates_on(&id)
        .await?
        .iter()
        .map(|c| {
            json!({
                "serial": c.serial.to_string(),
                "kind": c.kind.as_str(),
                "not_after": c.validity.map(|(_, na)| na.unix_timestamp()),
                "revoked": c.revocation.map(|(at, r)| json!({"at": at.unix_timestamp(), "reason": r.name()})),
                "predecessor": c.predecessor.as_ref().map(Serial::to_string),
                "successor": c.successor.as_ref().map(Serial::to_string),
            })
        })
        .collect();
    let mut v = card_json(&card);
    v["certificates"] = Value::Array(certs);
    Ok(Json(v))
}

#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
enum EventIn {
    FactsChanged {
        name: Option<String>,
        address: Option<String>,
        prefecture: Option<String>,
        municipality: Option<String>,
        birth_date: Option<String>,
        sex: Option<String>,
    },
    Death,
    Emigration,
    CardLost {
        card_id: String,
    },
    CardReturned {
        card_id: String,
    },
}

/// The fields each event kind takes (besides `kind`).
fn event_fields(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "facts-changed" => &["name", "address", "prefecture", "municipality", "birth_date", "sex"],
        "death" | "emigration" => &[],
        "card-lost" | "card-returned" => &["card_id"],
        _ => return None,
    })
}

async fn record_event(
    State(a): State<Arc<Authority>>,
    _: CounterCaller,
    Path(id): Path<String>,
    Json(raw): Json<Value>,
) -> Result<Json<Value>, AuthorityError> {
    // A field the event kind does not take is refused, not silently ignored.
    let object = raw.as_object().ok_or_else(|| AuthorityError::Invalid("an event is a JSON object".into()))?;
    let kind = object.get("kind").and_then(Value::as_str).unwrap_or_default();
    let fields = event_fields(kind).ok_or_else(|| {
        AuthorityError::Invalid("kind must be facts-changed, death, emigration, card-lost or card-returned".into())
    })?;
    if let Some(extra) = object.keys().find(|k| *k != "kind" && !fields.contains(&k.as_str())) {
        return Err(AuthorityError::Invalid(format!("a {kind} event takes no field {extra:?}")));
    }
    let e: EventIn = serde_json::from_value(raw).map_err(|e| AuthorityError::Invalid(format!("event: {e}")))?;
    let event = match e {
        EventIn::FactsChanged { name, address, prefecture, municipality, birth_date, sex } => {
            let locality = match (prefecture, municipality) {
                (Some(p), Some(m)) => {
                    check_locality(&p)?;
                    check_locality(&m)?;
                    Some((p, m))
                }
                (None, None) => None,
                _ => return Err(AuthorityError::Invalid("give prefecture and municipality together".into())),
            };
            LifeEvent::FactsChanged {
                name,
                address,
                locality,
                birth_date: birth_date.as_deref().map(parse_birth).transpose()?,
                sex: sex.as_deref().map(parse_sex).transpose()?,
            }
        }
        EventIn::Death => LifeEvent::Death,
        EventIn::Emigration => LifeEvent::Emigration,
        EventIn::CardLost { card_id } => LifeEvent::CardLost { card_id },
        EventIn::CardReturned { card_id } => LifeEvent::CardReturned { card_id },
    };
    Ok(Json(serde_json::to_value(a.record_event(&id, event).await?).unwrap_or_default()))
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
enum SlotIn {
    Signature,
    Auth,
}

#[derive(Deserialize)]
struct PinResetIn {
    slot: SlotIn,
    new_pin: String,
}

async fn reset_pin(
    State(a): State<Arc<Authority>>,
    _: CounterCaller,
    Path(id): Path<String>,
    Json(p): Json<PinResetIn>,
) -> Result<Json<Value>, AuthorityError> {
    let pin = Zeroizing::new(p.new_pin);
    let slot = match p.slot {
        SlotIn::Signature => Slot::Signature,
        SlotIn::Auth => Slot::Auth,
    };
    a.reset_pin(&id, slot, pin.as_bytes()).await?;
    Ok(Json(json!({"card": id, "reset": true})))
}

async fn renew(
    State(a): State<Arc<Authority>>,
    _: CounterCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, AuthorityError> {
    Ok(Json(serde_json::to_value(a.renew_certificates(&id).await?).unwrap_or_default()))
}

#[derive(Deserialize)]
struct RevokeIn {
    reason: String,
}

async fn revoke(
    State(a): State<Arc<Authority>>,
    _: CounterCaller,
    Path(serial): Path<String>,
    Json(r): Json<RevokeIn>,
) -> Result<Json<Value>, AuthorityError> {
    let s =
        Serial::from_hex(&serial).ok_or_else(|| AuthorityError::Invalid(format!("{serial:?} is not a hex serial")))?;
    let reason = crate::counter::revocation_reason(&r.reason)?;
    if a.store.certificate(&s).await?.and_then(|c| c.der).is_none() {
        return Err(AuthorityError::not_found("certificate", serial));
    }
    let revoked = a.revoke(&s, reason).await?;
    Ok(Json(json!({"serial": s.to_string(), "reason": reason.name(), "newly_revoked": revoked})))
}

async fn new_generation(State(a): State<Arc<Authority>>, _: OperatorCaller) -> Result<Json<Value>, AuthorityError> {
    Ok(Json(json!({"generations": a.new_generation().await?})))
}
