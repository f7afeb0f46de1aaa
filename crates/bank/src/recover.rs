//! Recovering an account (case 7 of shared/spec/50-scenarios.md): after the card's certificates
//! were renewed, or after a new card, the customer signs with the signature certificate (kind
//! `recover`); the platform verifies it. The platform's user id finds the account when it
//! followed the serial linkage (a renewal); else the verified name, birth date and sex must
//! match exactly one account (a new card after a loss has a new user id). The account is then
//! bound to the new login `sub` and user id, its facts are updated from the certificate, a
//! recovery record is written and the customer is logged in.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use hanko_store::sqlx;
use serde_json::json;

use crate::error::BankError;
use crate::flow::Done;
use crate::login::{customer, same_origin, start_session};
use crate::pages::{self, escape, PageLang};
use crate::records::{self, canonical_json, random_id, sha256, Evidence, Facts, Method, Transaction};
use crate::Bank;

async fn recover_page(
    State(bank): State<Arc<Bank>>,
    lang: PageLang,
    headers: HeaderMap,
) -> Result<Response, BankError> {
    let l = lang.lang;
    let logged_in = customer(&bank, &headers).await?.is_some();
    let body = format!(
        "<div class=\"card\"><p>{p1}</p><p>{p2}</p><p>{p3}</p>\
         <form method=\"post\" action=\"/recover\"><button id=\"recover-start\" type=\"submit\">{b}</button></form></div>",
        p1 = l.pick(
            "マイナンバーカードの電子証明書を更新した方、カードを再発行した方は、署名用電子証明書で本人確認をして、今の口座をそのままお使いいただけます。",
            "If your card's certificates were renewed, or you got a new card, confirm your identity with the signature certificate and keep using your account."
        ),
        p2 = l.pick(
            "プラットフォーム事業者が証明書の有効性を確認します。更新の場合は新旧の証明書のつながり（シリアル番号の紐付け）で、再発行の場合は証明書の氏名・生年月日・性別で口座を探します。",
            "The platform operator checks the certificate. After a renewal the bank finds your account through the link between the old and new certificates; after a new card, by the name, birth date and sex in the certificate."
        ),
        p3 = l.pick(
            "復旧すると、新しいカードでログインできるようになります。本人確認記録（アカウント復旧）を作成します。",
            "Afterwards you log in with the new card. A verification record (account recovery) is written."
        ),
        b = l.pick("署名用電子証明書で本人確認する", "Confirm with the signature certificate"),
    );
    Ok(pages::page(lang, "/recover", l.pick("アカウント復旧", "Recover your account"), logged_in, &body))
}

async fn recover_start(State(bank): State<Arc<Bank>>, headers: HeaderMap) -> Result<Response, BankError> {
    same_origin(&bank, &headers)?;
    let text = canonical_json(&json!({
        "bank": "見本銀行",
        "bank_id": bank.config.client_id,
        "statement": "アカウント復旧のための本人確認",
        "time": records::rfc3339(bank.clock.now()),
        "id": random_id(),
    }));
    let hash = sha256(text.as_bytes());
    crate::flow::start(&bank, &headers, "recover", &[], Some(hash), json!({"statement": text})).await
}

fn not_found(lang: PageLang, several: bool) -> Response {
    let l = lang.lang;
    let p = if several {
        l.pick(
            "このカードでは口座を自動で復旧できません。お手数ですが見本銀行の窓口にお問い合わせください。",
            "This card cannot recover an account online. Please contact Mihon Bank.",
        )
    } else {
        l.pick(
            "このマイナンバーカードの方の口座は見つかりませんでした。口座をお持ちでない方は口座開設へお進みください。",
            "No account was found for the holder of this My Number Card. If you have none, open one.",
        )
    };
    let body = format!(
        "<p class=\"alert\" role=\"alert\" id=\"not-recovered\">{}</p><p><a class=\"button\" href=\"/open\">{}</a></p>",
        escape(p),
        l.pick("口座を開設する", "Open an account"),
    );
    let mut r = pages::page(lang, "/recover", l.pick("口座が見つかりません", "No account found"), false, &body);
    *r.status_mut() = StatusCode::NOT_FOUND;
    r
}

/// The `recover` step.
pub(crate) async fn recovered(bank: &Arc<Bank>, done: Done) -> Result<Response, BankError> {
    let (result, outcome) = done.signed(bank).await?;
    let user_id = outcome
        .user_id
        .clone()
        .ok_or_else(|| BankError::Upstream("the platform gave no user id for a valid signer".into()))?;
    let facts = Facts::from_outcome(&outcome)?;
    let (account, matched_by) = match bank.store.account_by_user(&user_id).await? {
        Some(a) => (a, "platform-user-id"),
        None => {
            let ids = crate::open::accounts_with_facts(bank, &facts).await?;
            match ids.as_slice() {
                [id] => match bank.store.account(id).await? {
                    // The same name, birth date and sex could be another person's: facts alone
                    // recover an account only when its holder's card can no longer be used (the
                    // platform's 現況確認 of the account's user finds no valid certificate: lost,
                    // returned, revoked). Otherwise the holder still has their card.
                    Some(a) => {
                        let live = bank.platform.liveness(&a.platform_user_id).await?;
                        if live["any_valid"] != false {
                            tracing::warn!(account = %a.id, "recovery by facts refused: the holder's card is valid");
                            return Ok(not_found(done.lang, true));
                        }
                        (a, "facts")
                    }
                    None => return Ok(not_found(done.lang, false)),
                },
                [] => return Ok(not_found(done.lang, false)),
                _ => return Ok(not_found(done.lang, true)),
            }
        }
    };
    if account.platform_user_id != user_id {
        bank.platform.monitor(&user_id).await?;
    }
    bank.store.bind_account(&account.id, Some(&done.finished.sub), &user_id).await?;
    // Every other session of the account ends: whoever held it before logs in again.
    bank.store.end_sessions_of(&account.id).await?;
    // The certificate's facts are the current ones (a new card may come with a new address).
    sqlx::query("UPDATE bank_accounts SET name = $1, address = $2, birth_date = $3, sex = $4 WHERE id = $5")
        .bind(&facts.name)
        .bind(&facts.address)
        .bind(facts.birth_text())
        .bind(&facts.sex)
        .bind(&account.id)
        .execute(bank.store.db().pool())
        .await
        .map_err(hanko_store::StoreError::from)?;
    let statement = done.flow.data["statement"].as_str().unwrap_or_default().to_owned();
    let mut record = records::kyc_record(
        Transaction::Recovery,
        Method::JpkiSignature,
        &Evidence { outcome: &outcome, certificate: &result.certificate, document: statement.as_bytes() },
        Some(&facts),
        None,
        bank.clock.now(),
    )?;
    record.record["account_number"] = json!(account.number);
    record.record["matched_by"] = json!(matched_by);
    record.record["previous_platform_user_id"] = json!(account.platform_user_id);
    record.record["statement"] = json!(statement);
    records::keep(bank, Some(&account.id), record).await?;
    tracing::info!(account = %account.id, matched_by, "account recovered");
    start_session(bank, &account, "/me").await
}

pub(crate) fn routes() -> Router<Arc<Bank>> {
    Router::new().route("/recover", get(recover_page).post(recover_start))
}
