//! The sandbox console of `hanko up`: the municipal counter's buttons (a move, a lost card, a
//! renewal) on the running authority, then a sync that would otherwise take a day — the
//! authority publishes its CRLs, the platform fetches them, checks the customers it monitors
//! and delivers the webhooks.
//!
//! It signs in with the token `hanko up` prints (`/?token=…`, then an HttpOnly SameSite=Strict
//! cookie); every action is a POST from the console's own origin.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use hanko_authority::LifeEvent;
use serde::Deserialize;
use zeroize::Zeroizing;

use hanko_bank::pages::escape;

use crate::cmd_up::Eco;

const COOKIE: &str = "hanko_console";
/// New addresses for a simulated move (synthetic).
const ADDRESSES: [&str; 3] =
    ["東京都見本区架空台三丁目４番５号", "東京都見本区試験町四丁目７番９号", "東京都見本区例示ヶ丘一丁目２番３号"];

/// A fresh sign-in token.
pub(crate) fn token() -> Zeroizing<String> {
    let mut b = [0u8; 24];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut b);
    Zeroizing::new(hex::encode(b))
}

#[derive(Clone)]
struct Console {
    eco: Arc<Eco>,
    token: Zeroizing<String>,
}

/// What a day does in a few milliseconds: CRLs published and fetched, monitoring, webhooks.
pub(crate) async fn sync(eco: &Eco) -> anyhow::Result<String> {
    let published = eco.authority.publish_crls().await?;
    eco.platform.refresh_crls().await?;
    let report = eco.platform.run_monitoring().await?;
    let delivered = eco.platform.deliver_webhooks().await?;
    Ok(format!(
        "{} CRLs published; monitoring: {} new events; webhooks: {} delivered, {} failed",
        published.len(),
        report.events,
        delivered.delivered,
        delivered.failed
    ))
}

fn signed_in(c: &Console, headers: &HeaderMap) -> bool {
    hanko_bank::pages::cookie(headers, COOKIE)
        .is_some_and(|v| aws_lc_rs::constant_time::verify_slices_are_equal(v.as_bytes(), c.token.as_bytes()).is_ok())
}

fn refuse() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Html("<!doctype html><meta charset=utf-8><title>console</title><p>Open the console with the URL <code>hanko up</code> printed (it carries a token). / <code>hanko up</code> が表示した URL（トークン付き）で開いてください。"),
    )
        .into_response()
}

#[derive(Deserialize)]
struct IndexQuery {
    token: Option<String>,
    done: Option<String>,
}

async fn index(State(c): State<Console>, headers: HeaderMap, Query(q): Query<IndexQuery>) -> Response {
    if let Some(t) = &q.token {
        if aws_lc_rs::constant_time::verify_slices_are_equal(t.as_bytes(), c.token.as_bytes()).is_err() {
            return refuse();
        }
        let mut r = Redirect::to("/").into_response();
        let cookie = format!("{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict", c.token.as_str());
        if let Ok(v) = cookie.parse() {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
        return r;
    }
    if !signed_in(&c, &headers) {
        return refuse();
    }
    let mut rows = String::new();
    for r in &c.eco.residents {
        let (address, status) = match c.eco.authority.person(&r.person_id).await {
            Ok(p) => (p.facts.address().to_owned(), format!("{:?}", p.status)),
            Err(e) => (String::new(), e.to_string()),
        };
        let _ = write!(
            rows,
            "<tr><td>{name}</td><td><code>{card}</code></td><td>{address}</td><td>{status}</td><td>\
             <form method=post action=\"/residents/{pid}/move\"><button>転居 Move</button></form>\
             <form method=post action=\"/cards/{card}/lost\"><button>紛失 Lost</button></form>\
             <form method=post action=\"/cards/{card}/renew\"><button>更新 Renew</button></form></td></tr>",
            name = escape(&r.name),
            card = escape(&r.card_id),
            address = escape(&address),
            status = escape(&status),
            pid = escape(&r.person_id),
        );
    }
    let done = q.done.map(|d| format!("<p class=ok role=status id=done>{}</p>", escape(&d))).unwrap_or_default();
    let u = &c.eco.urls;
    Html(format!(
        "<!doctype html><html lang=ja><head><meta charset=utf-8><title>hanko up — 窓口コンソール / sandbox console</title>\
         <style>body{{font-family:system-ui,sans-serif;margin:1.5em;max-width:70em}}table{{border-collapse:collapse}}\
         td,th{{border-bottom:1px solid #ddd;padding:.4em;text-align:left;vertical-align:top}}form{{display:inline}}\
         .ok{{background:#e9f7ef;border:1px solid #2e9b5b;padding:.6em}}</style></head><body>\
         <h1>窓口コンソール / Sandbox console</h1>\
         <p>市区町村の窓口の操作を模擬します（見本・架空の住民のみ）。操作のあと、失効リストの発行・取得と監視・Webhook 配信を即時に行います。<br>\
         Plays the municipal counter (synthetic residents only); after each action the CRLs are published and fetched, \
         monitoring runs and webhooks are delivered at once.</p>{done}\
         <table><tr><th>氏名 Name</th><th>カード Card</th><th>住所 Address</th><th>状態 Status</th><th></th></tr>{rows}</table>\
         <form method=post action=/sync><p><button id=sync>今すぐ同期 Sync now</button></p></form>\
         <p>bank <a href=\"{bank}\">{bank}</a> · idp {idp} · platform {platform} · authority {authority}</p></body></html>",
        bank = escape(&u.bank),
        idp = escape(&u.idp),
        platform = escape(&u.platform),
        authority = escape(&u.authority),
    ))
    .into_response()
}

/// A POST must come signed in and from the console itself.
fn allowed(c: &Console, headers: &HeaderMap) -> bool {
    let origin_ok = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()).is_none_or(|o| o == c.eco.urls.console);
    origin_ok && signed_in(c, headers)
}

async fn after(c: &Console, what: String) -> Response {
    let synced = match sync(&c.eco).await {
        Ok(s) => s,
        Err(e) => format!("sync failed: {e}"),
    };
    let done = format!("{what} — {synced}");
    let mut url = String::from("/?done=");
    for b in done.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            url.push(b as char);
        } else {
            let _ = write!(url, "%{b:02X}");
        }
    }
    Redirect::to(&url).into_response()
}

async fn move_person(State(c): State<Console>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if !allowed(&c, &headers) {
        return refuse();
    }
    let current = match c.eco.authority.person(&id).await {
        Ok(p) => p.facts.address().to_owned(),
        Err(e) => return after(&c, format!("転居できません / cannot move: {e}")).await,
    };
    let to = ADDRESSES.iter().find(|a| **a != current).copied().unwrap_or(ADDRESSES[0]);
    let event = LifeEvent::FactsChanged {
        name: None,
        address: Some(to.to_owned()),
        locality: None,
        birth_date: None,
        sex: None,
    };
    let what = match c.eco.authority.record_event(&id, event).await {
        Ok(_) => format!("転居を記録しました（新住所 {to}）/ move recorded"),
        Err(e) => format!("転居できません / cannot move: {e}"),
    };
    after(&c, what).await
}

async fn lost(State(c): State<Console>, headers: HeaderMap, Path(card): Path<String>) -> Response {
    if !allowed(&c, &headers) {
        return refuse();
    }
    let Some(r) = c.eco.residents.iter().find(|r| r.card_id == card) else {
        return (StatusCode::NOT_FOUND, "no such card").into_response();
    };
    let what = match c.eco.authority.record_event(&r.person_id, LifeEvent::CardLost { card_id: card.clone() }).await {
        Ok(_) => {
            format!("カード {card} の紛失を記録しました（証明書は一時保留）/ card reported lost (certificates on hold)")
        }
        Err(e) => format!("紛失を記録できません / cannot record the loss: {e}"),
    };
    after(&c, what).await
}

async fn renew(State(c): State<Console>, headers: HeaderMap, Path(card): Path<String>) -> Response {
    if !allowed(&c, &headers) {
        return refuse();
    }
    let what = match c.eco.authority.renew_certificates(&card).await {
        Ok(_) => format!("カード {card} の電子証明書を更新しました / certificates renewed"),
        Err(e) => format!("更新できません / cannot renew: {e}"),
    };
    after(&c, what).await
}

async fn sync_now(State(c): State<Console>, headers: HeaderMap) -> Response {
    if !allowed(&c, &headers) {
        return refuse();
    }
    after(&c, "同期 / sync".into()).await
}

/// Serves the console on `listener`.
pub(crate) async fn serve(
    eco: Arc<Eco>,
    listener: tokio::net::TcpListener,
    token: Zeroizing<String>,
) -> std::io::Result<()> {
    let app = Router::new()
        .route("/", get(index))
        .route("/residents/{id}/move", post(move_person))
        .route("/cards/{card}/lost", post(lost))
        .route("/cards/{card}/renew", post(renew))
        .route("/sync", post(sync_now))
        .layer(axum::middleware::map_response(|mut r: Response| async move {
            // Never framed (cookies do not separate ports: a page of another port could frame it).
            r.headers_mut().insert(header::X_FRAME_OPTIONS, axum::http::HeaderValue::from_static("DENY"));
            r.headers_mut().insert(
                header::CONTENT_SECURITY_POLICY,
                axum::http::HeaderValue::from_static("frame-ancestors 'none'"),
            );
            r
        }))
        .with_state(Console { eco, token });
    axum::serve(listener, app).await
}
