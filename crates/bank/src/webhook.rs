//! The platform's webhook receiver (`POST /hooks/platform`, docs/platform.md "Webhooks"): the
//! Standard Webhooks signature checked over the raw body with the secret the bank stored when it
//! set the webhook (5 minutes' tolerance), each event kept once by its `webhook-id` (deliveries
//! are at least once: a redelivery is answered 2xx and changes nothing), and the change it
//! reports marked on the customer's account — with the new address when the event carries the
//! latest facts the customer consented to. The facts are never logged, and the stored event
//! keeps none (they are on the account).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::error::BankError;
use crate::pages::Lang;
use crate::Bank;

/// How far a delivery's timestamp may be from the bank's clock.
const TOLERANCE_SECS: i64 = 300;

fn answer(status: StatusCode, text: &str) -> Response {
    (status, Json(json!({"status": text}))).into_response()
}

/// What an event means for the account, in both languages (`ja / en`), and the new address.
fn change(kind: &str, data: &Value) -> Option<(String, Option<String>)> {
    let address = data["latest_facts"]["address"].as_str().filter(|a| !a.is_empty()).map(str::to_owned);
    let note = match kind {
        "facts_changed" => match (&address, data["latest_facts_error"]["code"].as_str()) {
            (Some(_), _) => "住所・氏名等の変更（異動）がありました。最新の住所を受け取り、登録を更新しました。 / \
                             The customer's facts changed (a move or similar); the registered address was updated from the latest facts."
                .to_owned(),
            (None, Some(code)) => format!(
                "住所・氏名等の変更（異動）がありました。最新の情報は未取得です（{code}）。 / \
                 The customer's facts changed (a move or similar); the latest facts could not be had ({code})."
            ),
            (None, None) => "住所・氏名等の変更（異動）がありました。最新の情報の提供には同意がありません。 / \
                             The customer's facts changed (a move or similar); no consent to receive the latest facts."
                .to_owned(),
        },
        "death_or_emigration" => "死亡または国外転出の届出がありました。 / Death or emigration was reported.".to_owned(),
        "affiliation_changed" => "署名用電子証明書が異動により失効しました。 / The signature certificate was revoked because the facts changed.".to_owned(),
        "renewed" => "電子証明書が更新されました（新しい証明書に引き継がれています）。 / The certificates were renewed (the new ones are followed).".to_owned(),
        "lost" => "カードの紛失・一時停止の届出がありました。 / The card was reported lost or suspended.".to_owned(),
        "no_longer_used" => "カードが返納され、使われなくなりました。 / The card was returned and is no longer used.".to_owned(),
        "key_compromised" => "鍵の危殆化により電子証明書が失効しました。 / A certificate was revoked: key compromised.".to_owned(),
        "revoked" => "電子証明書が失効しました。 / A certificate was revoked.".to_owned(),
        _ => return None,
    };
    Some((note, address))
}

pub(crate) fn fuzzing_change(kind: &str, data: &Value) -> Option<(String, Option<String>)> {
    change(kind, data)
}

pub(crate) fn fuzzing_stored_body(event: &Value) -> String {
    stored_body(event)
}

/// A change note (`ja / en`) in the page's language.
pub(crate) fn note_text(l: Lang, note: &str) -> &str {
    match note.split_once(" / ") {
        Some((ja, en)) => l.pick(ja, en),
        None => note,
    }
}

/// The event as stored: the latest facts left out (they are on the account).
fn stored_body(event: &Value) -> String {
    let mut event = event.clone();
    if let Some(facts) = event.get_mut("data").and_then(|d| d.get_mut("latest_facts")) {
        if !facts.is_null() {
            *facts = json!("[on the account]");
        }
    }
    event.to_string()
}

async fn receive(State(bank): State<Arc<Bank>>, headers: HeaderMap, body: Bytes) -> Result<Response, BankError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let (id, timestamp, signature) = (header("webhook-id"), header("webhook-timestamp"), header("webhook-signature"));
    let Some(secret) = bank.store.setting("webhook_secret").await? else {
        return Ok(answer(StatusCode::SERVICE_UNAVAILABLE, "no webhook secret set"));
    };
    if id.is_empty() || id.len() > 128 {
        return Ok(answer(StatusCode::UNAUTHORIZED, "webhook-id missing"));
    }
    if let Err(e) = hanko_sp::verify_webhook(&secret, id, timestamp, signature, &body, bank.now(), TOLERANCE_SECS) {
        tracing::warn!(webhook = ?id, error = %e, "webhook refused");
        return Ok(answer(StatusCode::UNAUTHORIZED, "signature refused"));
    }
    let Ok(event) = serde_json::from_slice::<Value>(&body) else {
        return Ok(answer(StatusCode::BAD_REQUEST, "not JSON"));
    };
    let kind = event["type"].as_str().unwrap_or_default();
    let user = event["user_id"].as_str().unwrap_or_default();
    bank.metrics.webhook(kind);
    let change = change(kind, &event["data"]);
    let applied = bank
        .store
        .add_event_with_change(
            id,
            kind,
            user,
            bank.now(),
            &stored_body(&event),
            change.as_ref().map(|(note, address)| (note.as_str(), address.as_deref())),
        )
        .await?;
    match applied {
        None => {
            tracing::info!(webhook = %id, "webhook redelivered: already stored");
            Ok(answer(StatusCode::OK, "duplicate"))
        }
        Some(accounts) => {
            tracing::info!(webhook = %id, kind = %kind, accounts, "webhook stored");
            Ok(answer(StatusCode::OK, "stored"))
        }
    }
}

pub(crate) fn routes() -> Router<Arc<Bank>> {
    Router::new().route("/hooks/platform", post(receive))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_move_with_consent_updates_the_address_and_the_stored_event_keeps_no_facts() {
        let event = json!({"id": "evt_1", "type": "facts_changed", "user_id": "u1",
                           "data": {"latest_facts": {"name": "試験　花子", "address": "東京都見本区架空台三丁目４番５号"}}});
        let (note, address) = change("facts_changed", &event["data"]).unwrap();
        assert_eq!(address.as_deref(), Some("東京都見本区架空台三丁目４番５号"));
        assert!(note.contains("異動") && note.contains("address was updated"), "{note}");
        let stored = stored_body(&event);
        assert!(!stored.contains("架空台") && !stored.contains("花子"), "{stored}");
        let (note, address) =
            change("facts_changed", &json!({"latest_facts_error": {"code": "not_yet_synced"}})).unwrap();
        assert_eq!(address, None);
        assert!(note.contains("not_yet_synced"), "{note}");
        assert!(change("renewed", &json!({})).unwrap().0.contains("renewed"));
        assert!(change("something_new", &json!({})).is_none());
        let (note, _) = change("lost", &json!({})).unwrap();
        assert!(note_text(Lang::Ja, &note).contains("紛失") && !note_text(Lang::Ja, &note).contains("lost"));
        assert!(note_text(Lang::En, &note).contains("lost") && !note_text(Lang::En, &note).contains("紛失"));
        assert_eq!(note_text(Lang::En, "probe"), "probe");
    }
}
