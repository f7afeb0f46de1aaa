//! Monitoring (現況確認), webhooks and the latest-facts relay, end to end: life events at the
//! authority's counter, the CRLs published and fetched, the monitoring run, and signed webhooks
//! received by a real HTTP receiver (a tiny axum server) — verified with `openssl dgst -hmac`.

use std::io::Write;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hanko_pki::time::{Date, Duration, Month, OffsetDateTime, Time};
use hanko_platform::{Clock as _, Config, NewEvent, Platform};
use hanko_store::Db;
use serde_json::{json, Value};

use crate::common::{sha256_b64, Backend, Eco, Sp};
use crate::on_both;

const CONTRACT: &[u8] = "保険契約 (synthetic test contract)".as_bytes();
const NEW_ADDRESS: &str = "東京都見本区架空台五丁目６番７号";

/// One webhook request as received.
#[derive(Clone)]
struct Received {
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
    fn header(&self, name: &str) -> String {
        self.headers.get(name).unwrap().to_str().unwrap().to_owned()
    }
}

/// What the receiver shares with its handler.
#[derive(Clone, Default)]
struct Shared {
    got: Arc<Mutex<Vec<Received>>>,
    /// When set, a request is recorded in `hung` and never answered (a delivery in flight).
    hang: Arc<std::sync::atomic::AtomicBool>,
    hung: Arc<Mutex<Vec<Received>>>,
    arrived: Arc<tokio::sync::Notify>,
}

/// A webhook receiver: an axum server on loopback recording every request (answers 204).
struct Receiver {
    addr: SocketAddr,
    shared: Shared,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn record(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let r = Received { headers, body: body.to_vec() };
    if shared.hang.load(std::sync::atomic::Ordering::SeqCst) {
        shared.hung.lock().unwrap().push(r.clone());
        shared.arrived.notify_one();
        std::future::pending::<()>().await;
    }
    shared.got.lock().unwrap().push(r);
    StatusCode::NO_CONTENT
}

impl Receiver {
    async fn start_on(addr: &str) -> Receiver {
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Shared::default();
        let app = axum::Router::new().route("/hook", axum::routing::post(record)).with_state(shared.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Receiver { addr, shared, server }
    }
    async fn start() -> Receiver {
        Receiver::start_on("127.0.0.1:0").await
    }
    fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }
    fn received(&self) -> Vec<Received> {
        self.shared.got.lock().unwrap().clone()
    }
}

/// The Standard Webhooks signature computed by `openssl dgst -hmac` (not the platform's code).
fn openssl_signature(secret: &str, id: &str, timestamp: &str, body: &[u8]) -> String {
    let key = B64.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let mut child = Command::new("openssl")
        .args(["dgst", "-sha256", "-mac", "HMAC", "-macopt", &format!("hexkey:{}", hex::encode(key)), "-binary"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("openssl");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(format!("{id}.{timestamp}.").as_bytes()).unwrap();
    stdin.write_all(body).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    format!("v1,{}", B64.encode(out.stdout))
}

/// Checks a received webhook's headers and signature; returns its body.
fn verified(r: &Received, secret: &str) -> Value {
    let body = r.json();
    let id = r.header("webhook-id");
    assert_eq!(body["id"], id.as_str(), "the webhook-id is the event id");
    let ts = r.header("webhook-timestamp");
    assert_eq!(r.header("webhook-signature"), openssl_signature(secret, &id, &ts, &r.body), "signature");
    assert_eq!(r.header("content-type"), "application/json");
    body
}

/// Registers the SP service at the authority under the platform (what the authority's
/// operator does for a platform's SP) and adds the tenant.
async fn tenant(eco: &Eco, sp_id: &str, settings: Value) -> Sp {
    // (Ignored if the tenant set-up registers it already.)
    let _ = eco.authority.register_service(&eco.platform_id, sp_id, "web", &format!("service {sp_id}")).await;
    eco.tenant(sp_id, settings).await
}

/// A person with a card whose signature the SP verified: (person, card, user id).
async fn customer(eco: &Eco, sp: &Sp, name: &str, birth: &str) -> (String, String, String) {
    let (person, card) = eco.person_with_card(name, birth).await;
    let (cert, sig) = eco.sign(&card, CONTRACT);
    let (status, out) = eco
        .p
        .post(
            "/v1/verifications/signature",
            &sp.key,
            json!({"certificate": cert, "signature": sig, "digest": sha256_b64(CONTRACT)}),
        )
        .await;
    assert_eq!((status, out["result"].as_str()), (200, Some("OK")), "{out}");
    (person, card, out["user_id"].as_str().unwrap().to_owned())
}

async fn subscribe(eco: &Eco, sp: &Sp, user: &str) {
    let (status, out) = eco.p.post("/v1/monitoring/subscriptions", &sp.key, json!({"user_id": user})).await;
    assert_eq!(status, 201, "{out}");
}

/// The customer consents (items) through the platform: the document the platform prepares,
/// signed through the card's APDUs, forwarded by the SP. Returns the consent id.
async fn consent(eco: &Eco, sp: &Sp, card: &str, user: &str, items: &[&str]) -> String {
    let (status, doc) = eco.p.post("/v1/consents/document", &sp.key, json!({"items": items})).await;
    assert_eq!(status, 200, "{doc}");
    let document = B64.decode(doc["document"].as_str().unwrap()).unwrap();
    let parsed: Value = serde_json::from_slice(&document).unwrap();
    assert_eq!(parsed["verifier_id"], eco.platform_id.as_str());
    let (certificate, signature) = eco.sign(card, &document);
    let body = json!({"document": doc["document"], "signature": signature, "certificate": certificate});
    let (status, out) = eco.p.post("/v1/consents", &sp.key, body.clone()).await;
    assert_eq!(status, 201, "{out}");
    assert_eq!(out["user_id"], user, "the consent is bound to the signer's user");
    assert_eq!(out["status"], "active");
    // The same signed document again is a safe retry.
    let (status, again) = eco.p.post("/v1/consents", &sp.key, body).await;
    assert_eq!((status, &again["consent_id"]), (200, &out["consent_id"]), "{again}");
    out["consent_id"].as_str().unwrap().to_owned()
}

/// The authority's meter count of `kind` for SP `sp_id` this month (JST 2026-04 at START).
async fn metered(eco: &Eco, sp_id: &str, kind: &str) -> u64 {
    let month = {
        let jst = eco.clock.now() + Duration::hours(9);
        format!("{:04}-{:02}", jst.year(), u8::from(jst.month()))
    };
    let (status, report) = eco.a.get(&format!("/v1/admin/meter?month={month}"), &eco.operator_key).await;
    assert_eq!(status, 200, "{report}");
    report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == kind && r["sp_id"] == sp_id)
        .map(|r| r["count"].as_u64().unwrap())
        .sum()
}

/// The platform's own meter count of `kind` for SP `sp_id` this month (what it mirrors of the
/// authority's bill).
async fn platform_metered(eco: &Eco, sp_id: &str, kind: &str) -> u64 {
    let (status, report) = eco.p.get("/v1/admin/meter", &eco.admin_key).await;
    assert_eq!(status, 200, "{report}");
    report["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == kind && r["sp_id"] == sp_id)
        .map(|r| r["count"].as_u64().unwrap())
        .sum()
}

async fn run(eco: &Eco) -> Value {
    let (status, out) = eco.p.post("/v1/admin/monitoring/run", &eco.admin_key, json!({})).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["errors"], json!([]), "{out}");
    out
}

async fn deliver(eco: &Eco) -> Value {
    let (status, out) = eco.p.post("/v1/admin/webhooks/deliver", &eco.admin_key, json!({})).await;
    assert_eq!(status, 200, "{out}");
    out
}

async fn set_webhook(eco: &Eco, sp: &Sp, url: &str) -> String {
    let (status, out) =
        eco.p.send(eco.p.client.put(format!("{}/v1/webhook", eco.p.base)).json(&json!({"url": url})), &sp.key).await;
    assert_eq!(status, 200, "{out}");
    assert!(out["secret"].as_str().unwrap().starts_with("whsec_"));
    out["secret"].as_str().unwrap().to_owned()
}

/// A second platform node on the same database (its own CRL index).
async fn second_node(eco: &Eco) -> Arc<Platform> {
    let config = Config::new(&eco.platform_dir, &eco.a.base);
    let node = Arc::new(
        Platform::open(Db::connect(&eco.platform_db).await.unwrap(), config, eco.clock.clone()).await.unwrap(),
    );
    node.refresh_crls().await.unwrap();
    node
}

on_both!(a_move_is_one_signed_webhook_with_the_new_address, a_move_is_one_signed_webhook_with_the_new_address_body);
async fn a_move_is_one_signed_webhook_with_the_new_address_body(b: Backend) {
    let eco = Eco::start(b).await;
    let sp = tenant(&eco, "SPINS", json!({"facts": ["name", "address"]})).await;
    let (person, card, user) = customer(&eco, &sp, "見本　花子", "1990-05-17").await;
    subscribe(&eco, &sp, &user).await;
    consent(&eco, &sp, &card, &user, &["name", "address", "birth_date"]).await;
    let receiver = Receiver::start().await;
    let secret = set_webhook(&eco, &sp, &receiver.url()).await;

    // Nothing revoked: the certificates (the signature one and, learnt from the authority, the
    // auth one of the pair) are checked and reported, and nothing is sent.
    let out = run(&eco).await;
    assert_eq!(
        (out["users"].as_u64(), out["certificates"].as_u64(), out["events"].as_u64()),
        (Some(1), Some(2), Some(0))
    );
    assert_eq!(out["reported"], 2, "{out}");
    assert_eq!(deliver(&eco).await["delivered"], 0);
    // The authority counted the 現況確認 of one person for this SP service.
    assert_eq!(metered(&eco, "SPINS", "status-check").await, 1);
    assert_eq!(platform_metered(&eco, "SPINS", "status-check-reported").await, 2, "the platform's meter");

    // A move: the signature certificate is revoked (affiliationChanged), the auth one kept.
    eco.clock.advance(Duration::hours(1));
    eco.event(&person, json!({"kind": "facts-changed", "address": NEW_ADDRESS})).await;
    eco.publish_and_refresh().await;
    let out = run(&eco).await;
    assert_eq!((out["revoked"].as_u64(), out["events"].as_u64()), (Some(1), Some(1)), "{out}");
    assert_eq!(deliver(&eco).await["delivered"], 1);

    let got = receiver.received();
    assert_eq!(got.len(), 1);
    let event = verified(&got[0], &secret);
    assert_eq!(event["type"], "facts_changed", "{event}");
    assert_eq!(event["user_id"], user.as_str());
    assert!(event["id"].as_str().unwrap().starts_with("evt_"));
    assert_eq!(event["data"]["reason"], "affiliationChanged");
    // The new facts, only the items both consented and allowed to the tenant (not birth_date).
    assert_eq!(event["data"]["latest_facts"]["address"], NEW_ADDRESS, "{event}");
    assert_eq!(event["data"]["latest_facts"]["name"], "見本　花子");
    assert!(event["data"]["latest_facts"].get("birth_date").is_none(), "{event}");
    // The reissued certificate, by type; never a serial in sensitive-data mode.
    assert_eq!(event["data"]["successors"][0]["certificate_type"], "JPKI_CARD_DIGITAL_SIGNATURE");
    assert_eq!(event["data"]["successors"][0]["status"], "valid");
    assert!(!String::from_utf8_lossy(&got[0].body).contains("\"serial\":\""), "{event}");

    // A second run, and the same run on a second node: no new event, nothing sent again.
    assert_eq!(run(&eco).await["events"], 0);
    let node = second_node(&eco).await;
    let out = node.run_monitoring().await.unwrap();
    assert_eq!((out.events, out.revoked), (0, 1), "{out:?}");
    assert_eq!(node.deliver_webhooks().await.unwrap().delivered, 0);
    assert_eq!(deliver(&eco).await["delivered"], 0);
    assert_eq!(receiver.received().len(), 1);
    // The unique key itself: the same (user, certificate, revocation) again is refused.
    let store = eco.platform.store();
    let seen = store.seen_revocations(&sp.id, &user, &user).await.unwrap();
    assert_eq!(seen.len(), 1, "{seen:?}");
    let (u, serial, reason, revoked_at) = seen[0].clone();
    let again = NewEvent {
        id: "evt_again".into(),
        tenant_id: sp.id.clone(),
        user_id: u,
        serial,
        reason,
        revoked_at: OffsetDateTime::from_unix_timestamp(revoked_at).unwrap(),
        kind: "facts_changed".into(),
        created_at: eco.clock.now(),
        body: b"{}".to_vec(),
        facts_pending: false,
        delivery: "pending",
    };
    assert!(!store.add_event(&again).await.unwrap(), "a second event for the same revocation");

    // The SP sees the delivery.
    let (status, list) = eco.p.get("/v1/webhook/deliveries", &sp.key).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["deliveries"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list["deliveries"][0]["status"], "delivered");
    assert_eq!(list["deliveries"][0]["id"], event["id"]);
    assert_eq!(list["deliveries"][0]["attempts"], 1);
    // Delivered, the customer's facts are no longer kept in the outbox.
    let (status, d) = eco.p.get(&format!("/v1/webhook/deliveries/{}", event["id"].as_str().unwrap()), &sp.key).await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["event"]["data"]["latest_facts"], Value::Null, "{d}");
    assert_eq!(d["event"]["data"]["latest_facts_delivered"], true, "{d}");
    assert!(!d.to_string().contains(NEW_ADDRESS), "{d}");

    // The latest facts on demand.
    let (status, facts) = eco.p.post(&format!("/v1/users/{user}/latest-facts"), &sp.key, json!({})).await;
    assert_eq!(status, 200, "{facts}");
    assert_eq!(facts["facts"]["address"], NEW_ADDRESS);
    // Every latest-facts record the authority billed this SP is in the platform's meter too.
    let billed = metered(&eco, "SPINS", "latest-facts").await;
    assert!(billed >= 1);
    assert_eq!(platform_metered(&eco, "SPINS", "latest-facts").await, billed);

    // Another tenant sees none of it: the same 404 as an unknown id.
    let other = tenant(&eco, "SPOTHER", json!({"facts": ["name", "address"]})).await;
    let id = event["id"].as_str().unwrap();
    for path in [
        format!("/v1/monitoring/subscriptions/{user}"),
        format!("/v1/webhook/deliveries/{id}"),
        "/v1/webhook".to_owned(),
    ] {
        let (status, body) = eco.p.get(&path, &other.key).await;
        assert_eq!(status, 404, "{path}: {body}");
    }
    let (status, body) = eco.p.post(&format!("/v1/users/{user}/latest-facts"), &other.key, json!({})).await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = eco.p.post(&format!("/v1/webhook/deliveries/{id}/retry"), &other.key, json!({})).await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = eco.p.post("/v1/monitoring/subscriptions", &other.key, json!({"user_id": user})).await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = eco.p.delete(&format!("/v1/monitoring/subscriptions/{user}"), &other.key).await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = eco.p.get("/v1/webhook/deliveries", &other.key).await;
    assert_eq!((status, body["deliveries"].as_array().map(Vec::len)), (200, Some(0)), "{body}");
    let (status, body) = eco.p.get("/v1/monitoring/subscriptions", &other.key).await;
    assert_eq!((status, body["subscriptions"].as_array().map(Vec::len)), (200, Some(0)), "{body}");
    // The owner still has it.
    let (status, body) = eco.p.get(&format!("/v1/monitoring/subscriptions/{user}"), &sp.key).await;
    assert_eq!(status, 200, "{body}");

    // The other tenant's webhook receives nothing of this tenant's events.
    let other_receiver = Receiver::start().await;
    set_webhook(&eco, &other, &other_receiver.url()).await;

    // Another move while the card is not at hand: the reissued certificate (followed since the
    // first move) is revoked and nothing new is written yet — the event says not_yet_synced.
    let image = eco.authority_dir.join("cards").join(format!("{card}.card"));
    std::fs::rename(&image, image.with_extension("away")).unwrap();
    eco.clock.advance(Duration::hours(1));
    eco.event(&person, json!({"kind": "facts-changed", "address": "東京都見本区遠町三丁目３番３号"})).await;
    eco.publish_and_refresh().await;
    assert_eq!(run(&eco).await["events"], 1);
    assert_eq!(deliver(&eco).await["delivered"], 1);
    let event = verified(receiver.received().last().unwrap(), &secret);
    assert_eq!(event["type"], "facts_changed", "{event}");
    assert_eq!(event["data"]["latest_facts"], Value::Null, "{event}");
    assert_eq!(event["data"]["latest_facts_error"]["code"], "not_yet_synced", "{event}");
    let (status, body) = eco.p.post(&format!("/v1/users/{user}/latest-facts"), &sp.key, json!({})).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("not_yet_synced")), "{body}");
    assert!(other_receiver.received().is_empty());

    // Ten years on, the consent has expired.
    eco.clock.set(OffsetDateTime::new_utc(Date::from_calendar_date(2036, Month::April, 2).unwrap(), Time::MIDNIGHT));
    let (status, body) = eco.p.post(&format!("/v1/users/{user}/latest-facts"), &sp.key, json!({})).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("consent_expired")), "{body}");
}

on_both!(
    death_loss_return_and_delivery_while_the_receiver_is_down,
    death_loss_return_and_delivery_while_the_receiver_is_down_body
);
async fn death_loss_return_and_delivery_while_the_receiver_is_down_body(b: Backend) {
    let eco = Eco::start(b).await;
    let sp = tenant(&eco, "SPBANK", json!({"facts": ["name", "address"]})).await;
    let (dead, _, dead_user) = customer(&eco, &sp, "見本　一郎", "1950-01-02").await;
    let (loser, loser_card, loser_user) = customer(&eco, &sp, "見本　二郎", "1980-03-04").await;
    let (quitter, quitter_card, quitter_user) = customer(&eco, &sp, "見本　三郎", "1970-07-08").await;
    let (returner, returner_card, returner_user) = customer(&eco, &sp, "見本　六郎", "1988-12-24").await;
    for u in [&dead_user, &loser_user, &quitter_user, &returner_user] {
        subscribe(&eco, &sp, u).await;
    }
    let consent_id = consent(&eco, &sp, &quitter_card, &quitter_user, &["address"]).await;
    consent(&eco, &sp, &loser_card, &loser_user, &["name"]).await;

    // The receiver is down: a port with nothing listening.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let secret = set_webhook(&eco, &sp, &format!("http://{port}/hook")).await;

    eco.clock.advance(Duration::hours(1));
    eco.event(&dead, json!({"kind": "death"})).await;
    eco.event(&loser, json!({"kind": "card-lost", "card_id": loser_card})).await;
    eco.event(&returner, json!({"kind": "card-returned", "card_id": returner_card})).await;
    eco.publish_and_refresh().await;
    // Two nodes run the job at the same time: 6 revoked certificates, 3 events in all (each
    // pair is one event), whichever node stored them.
    let node = second_node(&eco).await;
    let (one, two) = tokio::join!(eco.platform.run_monitoring(), node.run_monitoring());
    let (one, two) = (one.unwrap(), two.unwrap());
    assert_eq!((one.revoked, two.revoked, one.events + two.events), (6, 6, 3), "{one:?} {two:?}");

    let out = deliver(&eco).await;
    assert_eq!((out["delivered"].as_u64(), out["failed"].as_u64()), (Some(0), Some(3)), "{out}");
    let (_, list) = eco.p.get("/v1/webhook/deliveries?status=pending", &sp.key).await;
    let pending = list["deliveries"].as_array().unwrap().clone();
    assert_eq!(pending.len(), 3, "{list}");
    for d in &pending {
        assert_eq!(d["attempts"], 1, "{d}");
        assert_eq!(d["last_error"], "could not connect", "{d}");
    }
    let mut ids: Vec<String> = pending.iter().map(|d| d["id"].as_str().unwrap().to_owned()).collect();
    ids.sort();
    // Not yet due again: nothing is attempted.
    assert_eq!(deliver(&eco).await["failed"], 0);

    // The receiver comes up on that port; after the backoff, each event arrives once.
    let receiver = Receiver::start_on(&port.to_string()).await;
    eco.clock.advance(Duration::seconds(31));
    assert_eq!(deliver(&eco).await["delivered"], 3);
    assert_eq!(deliver(&eco).await["delivered"], 0);
    let got = receiver.received();
    assert_eq!(got.len(), 3);
    let mut received_ids: Vec<String> = got.iter().map(|r| r.header("webhook-id")).collect();
    received_ids.sort();
    assert_eq!(received_ids, ids, "the same ids as the failed attempts");
    let by_user = |u: &str| got.iter().map(|r| verified(r, &secret)).find(|e| e["user_id"] == u).unwrap();
    let death = by_user(&dead_user);
    assert_eq!(death["type"], "death_or_emigration", "{death}");
    assert_eq!(death["data"]["certificates"].as_array().unwrap().len(), 2, "both certificates, one event: {death}");
    let lost = by_user(&loser_user);
    assert_eq!(lost["type"], "lost", "{lost}");
    assert_eq!(lost["data"]["reason"], "certificateHold");
    let returned = by_user(&returner_user);
    assert_eq!(returned["type"], "no_longer_used", "{returned}");
    assert_eq!(returned["data"]["reason"], "cessationOfOperation");

    // Kill -9 during delivery: the request is at the receiver, unanswered, when the delivering
    // task dies (aborted: nothing after the send runs, as with kill -9). The event stays
    // pending; after the lease another node sends it again — with the same id (at least once).
    eco.event(&quitter, json!({"kind": "facts-changed", "name": "見本　三朗"})).await;
    eco.publish_and_refresh().await;
    assert_eq!(run(&eco).await["events"], 1);
    receiver.shared.hang.store(true, std::sync::atomic::Ordering::SeqCst);
    let arrived = receiver.shared.arrived.clone();
    let notified = arrived.notified();
    let platform = eco.platform.clone();
    let in_flight = tokio::spawn(async move { platform.deliver_webhooks().await });
    notified.await;
    in_flight.abort();
    assert!(in_flight.await.unwrap_err().is_cancelled());
    receiver.shared.hang.store(false, std::sync::atomic::Ordering::SeqCst);
    let id = receiver.shared.hung.lock().unwrap()[0].header("webhook-id");
    let (_, d) = eco.p.get(&format!("/v1/webhook/deliveries/{id}"), &sp.key).await;
    assert_eq!((d["status"].as_str(), d["attempts"].as_u64()), (Some("pending"), Some(0)), "{d}");
    assert_eq!(deliver(&eco).await["delivered"], 0, "leased by the dead delivery");
    eco.clock.advance(Duration::minutes(6));
    let node = second_node(&eco).await;
    assert_eq!(node.deliver_webhooks().await.unwrap().delivered, 1);
    let last = receiver.received().last().cloned().unwrap();
    assert_eq!(last.header("webhook-id"), id);
    assert_eq!(last.body, receiver.shared.hung.lock().unwrap()[0].body, "the same event");
    // The latest facts were fetched (and billed) once, for the first attempt, not again — and
    // the platform's meter mirrors the authority's line.
    assert_eq!(metered(&eco, "SPBANK", "latest-facts").await, 1);
    let (status, meter) = eco.p.get("/v1/meter?month=2026-04", &sp.key).await;
    assert_eq!(status, 200, "{meter}");
    let mirrored: Vec<(String, u64, u64)> = meter["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["kind"] == "latest-facts")
        .map(|l| (l["kind"].as_str().unwrap().to_owned(), l["count"].as_u64().unwrap(), l["yen"].as_u64().unwrap()))
        .collect();
    assert_eq!(mirrored, [("latest-facts".to_owned(), 1, 20)], "{meter}");
    let changed = verified(&last, &secret);
    assert_eq!(changed["type"], "facts_changed", "{changed}");
    // Consented to the address only, the tenant may have name and address: the address.
    assert!(changed["data"]["latest_facts"]["address"].is_string(), "{changed}");
    assert!(changed["data"]["latest_facts"].get("name").is_none(), "{changed}");

    // Consent errors by their codes.
    let code = |body: &Value| body["code"].as_str().map(str::to_owned);
    let (status, body) = eco.p.post(&format!("/v1/users/{dead_user}/latest-facts"), &sp.key, json!({})).await;
    assert_eq!((status, code(&body).as_deref()), (409, Some("not_consented")), "{body}");
    let (status, body) = eco.p.post(&format!("/v1/users/{loser_user}/latest-facts"), &sp.key, json!({})).await;
    assert_eq!((status, code(&body).as_deref()), (409, Some("latest_certificate_on_hold")), "{body}");
    assert_eq!(body["type"], "about:blank");
    let (status, body) =
        eco.a.post(&format!("/v1/counter/consents/{consent_id}/withdrawal"), &eco.counter_key, json!({})).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = eco.p.post(&format!("/v1/users/{quitter_user}/latest-facts"), &sp.key, json!({})).await;
    assert_eq!((status, code(&body).as_deref()), (403, Some("consent_withdrawn")), "{body}");
    let (status, body) = eco.p.get(&format!("/v1/consents/{consent_id}"), &sp.key).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("withdrawn")), "{body}");

    // Bad input: a clear 4xx each.
    let (status, body) = eco.p.post("/v1/monitoring/subscriptions", &sp.key, json!({"user_id": "nobody"})).await;
    assert_eq!(status, 404, "{body}");
    let (status, body) =
        eco.p.post("/v1/monitoring/subscriptions", &sp.key, json!({"user_id": "a", "evidence_id": "b"})).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = eco.p.post("/v1/monitoring/subscriptions", &sp.key, json!({"user_id": "x".repeat(500)})).await;
    assert_eq!(status, 400, "{body}");
    for url in ["ftp://example.com/hook", "file:///etc/passwd", "http://user:pw@127.0.0.1/", "not a url"] {
        let (status, body) = eco
            .p
            .send(eco.p.client.put(format!("{}/v1/webhook", eco.p.base)).json(&json!({"url": url})), &sp.key)
            .await;
        assert_eq!(status, 400, "{url}: {body}");
    }
    let (status, body) = eco.p.get("/v1/webhook/deliveries?limit=100000", &sp.key).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) =
        eco.p.post("/v1/consents", &sp.key, json!({"document": "!!", "signature": "", "certificate": ""})).await;
    assert_eq!(status, 400, "{body}");
}

on_both!(
    a_renewal_is_one_webhook_failed_after_bounded_attempts_then_retried,
    a_renewal_is_one_webhook_failed_after_bounded_attempts_then_retried_body
);
async fn a_renewal_is_one_webhook_failed_after_bounded_attempts_then_retried_body(b: Backend) {
    // Two attempts, then the delivery is marked failed.
    let eco = Eco::start_with(b, |c| c.webhook_max_attempts = 2).await;
    let sp = tenant(&eco, "SPPHONE", json!({})).await;
    let (_, card, user) = customer(&eco, &sp, "見本　四郎", "1985-06-15").await;
    // Subscribed by the evidence of a verification.
    let (cert, sig) = eco.sign(&card, CONTRACT);
    let (_, out) = eco
        .p
        .post(
            "/v1/verifications/signature",
            &sp.key,
            json!({"certificate": cert, "signature": sig, "digest": sha256_b64(CONTRACT)}),
        )
        .await;
    let (status, body) =
        eco.p.post("/v1/monitoring/subscriptions", &sp.key, json!({"evidence_id": out["evidence_id"]})).await;
    assert_eq!((status, body["user_id"].as_str()), (201, Some(user.as_str())), "{body}");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let secret = set_webhook(&eco, &sp, &format!("http://{port}/hook")).await;

    // Three months before the 5th birthday the card is renewed: both certificates superseded.
    eco.clock.set(OffsetDateTime::new_utc(Date::from_calendar_date(2030, Month::April, 1).unwrap(), Time::MIDNIGHT));
    let (status, body) = eco.a.post(&format!("/v1/counter/cards/{card}/renewal"), &eco.counter_key, json!({})).await;
    assert_eq!(status, 200, "{body}");
    eco.publish_and_refresh().await;
    let out = run(&eco).await;
    assert_eq!((out["revoked"].as_u64(), out["events"].as_u64()), (Some(2), Some(1)), "{out}");
    // The receiver is down for both attempts: the delivery is marked failed, and stays so.
    assert_eq!(deliver(&eco).await["failed"], 1);
    eco.clock.advance(Duration::seconds(31));
    assert_eq!(deliver(&eco).await["gave_up"], 1);
    eco.clock.advance(Duration::days(1));
    assert_eq!(deliver(&eco).await["failed"], 0);
    let (_, list) = eco.p.get("/v1/webhook/deliveries?status=failed", &sp.key).await;
    assert_eq!(list["deliveries"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list["deliveries"][0]["attempts"], 2);
    let id = list["deliveries"][0]["id"].as_str().unwrap().to_owned();
    // The SP fixes its receiver and asks for the delivery again.
    let receiver = Receiver::start_on(&port.to_string()).await;
    let (status, body) = eco.p.post(&format!("/v1/webhook/deliveries/{id}/retry"), &sp.key, json!({})).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("pending")), "{body}");
    assert_eq!(deliver(&eco).await["delivered"], 1);
    let (status, body) = eco.p.post(&format!("/v1/webhook/deliveries/{id}/retry"), &sp.key, json!({})).await;
    assert_eq!(status, 409, "a delivered event is not retried: {body}");
    let got = receiver.received();
    assert_eq!(got.len(), 1);
    let event = verified(&got[0], &secret);
    assert_eq!(event["type"], "renewed", "{event}");
    let mut types: Vec<&str> = event["data"]["successors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["certificate_type"].as_str().unwrap())
        .collect();
    types.sort();
    assert_eq!(types, ["JPKI_CARD_DIGITAL_SIGNATURE", "JPKI_CARD_USER_AUTHENTICATION"], "{event}");
    assert!(event["data"]["successors"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["status"] == "valid" && s["serial"].is_null()));

    // The new certificates are monitored from now on: the next run checks 4, and adds nothing.
    let out = run(&eco).await;
    assert_eq!((out["certificates"].as_u64(), out["events"].as_u64()), (Some(4), Some(0)), "{out}");
    // Unsubscribed: no longer checked.
    let (status, _) = eco.p.delete(&format!("/v1/monitoring/subscriptions/{user}"), &sp.key).await;
    assert_eq!(status, 204);
    assert_eq!(run(&eco).await["users"], 0);
}

/// A test CA and a server certificate for 127.0.0.1, made with the openssl CLI:
/// (CA PEM path, server certificate PEM path, server key PEM path).
fn tls_files(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let sh = |args: &[&str]| {
        let out = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl");
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    sh(&[
        &["req", "-x509"][..],
        &ec,
        &["-keyout", "ca.key", "-out", "ca.pem", "-days", "30"],
        &[
            "-subj",
            "/O=JPKI-TEST/CN=test webhook CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign",
        ],
    ]
    .concat());
    sh(&[&["req"][..], &ec, &["-keyout", "hook.key", "-out", "hook.csr", "-subj", "/O=JPKI-TEST/CN=127.0.0.1"]]
        .concat());
    std::fs::write(
        dir.join("hook.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    sh(&[
        "x509",
        "-req",
        "-in",
        "hook.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "hook.pem",
        "-days",
        "30",
        "-extfile",
        "hook.ext",
    ]);
    (dir.join("ca.pem"), dir.join("hook.pem"), dir.join("hook.key"))
}

on_both!(webhooks_go_over_https_to_a_trusted_receiver_only, webhooks_go_over_https_to_a_trusted_receiver_only_body);
async fn webhooks_go_over_https_to_a_trusted_receiver_only_body(b: Backend) {
    let dir = crate::common::temp_dir("webhook-tls");
    let (ca, cert, key) = tls_files(&dir);
    // The platform trusts the receiver's CA (Config::webhook_ca) besides the system's roots.
    let eco = Eco::start_with(b, |c| c.webhook_ca = Some(ca.clone())).await;
    let sp = tenant(&eco, "SPTLS", json!({})).await;
    let (person, card, user) = customer(&eco, &sp, "見本　五郎", "1975-09-09").await;
    subscribe(&eco, &sp, &user).await;

    let shared = Shared::default();
    let app = axum::Router::new().route("/hook", axum::routing::post(record)).with_state(shared.clone());
    let tls = axum_server::tls_rustls::RustlsConfig::from_pem_file(&cert, &key).await.unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        axum_server::from_tcp_rustls(listener, tls).serve(app.into_make_service()).await.unwrap();
    });
    let secret = set_webhook(&eco, &sp, &format!("https://127.0.0.1:{}/hook", addr.port())).await;

    eco.event(&person, json!({"kind": "card-lost", "card_id": card})).await;
    eco.publish_and_refresh().await;
    assert_eq!(run(&eco).await["events"], 1);

    // A node that does not trust the receiver's CA refuses the TLS handshake: nothing is sent.
    let node = second_node(&eco).await;
    let out = node.deliver_webhooks().await.unwrap();
    assert_eq!((out.delivered, out.failed), (0, 1), "{out:?}");
    assert!(shared.got.lock().unwrap().is_empty());
    let (_, list) = eco.p.get("/v1/webhook/deliveries", &sp.key).await;
    assert_eq!(list["deliveries"][0]["last_error"], "TLS failed (is the receiver's certificate trusted?)", "{list}");

    // The node that trusts it delivers, over TLS, after the backoff.
    eco.clock.advance(Duration::seconds(31));
    assert_eq!(deliver(&eco).await["delivered"], 1);
    let got = shared.got.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    assert_eq!(verified(&got[0], &secret)["type"], "lost");
    server.abort();
}
