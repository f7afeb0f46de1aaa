//! The age check (case 13 of shared/spec/50-scenarios.md): the customer signs with the signature
//! certificate (kind `age`), the platform verifies it and gives the birth date; the bank decides
//! only whether the person has reached the threshold today in Japan (16, 18 or 20; 18 by
//! default), says only that, and keeps a minimal record without the birth date.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;
use serde_json::json;
use time::Date;

use crate::error::BankError;
use crate::flow::Done;
use crate::login::{customer, same_origin};
use crate::pages::{self, escape, PageLang};
use crate::records::{self, canonical_json, random_id, sha256, Evidence, Facts, Method, Transaction};
use crate::Bank;

/// The thresholds a page may ask for.
pub(crate) const THRESHOLDS: [u8; 3] = [16, 18, 20];
/// The default threshold.
pub(crate) const DEFAULT_THRESHOLD: u8 = 18;

/// The age in whole years on `today` of a person born on `birth`; `None` before the birth.
///
/// Counted as Japanese law does (年齢計算ニ関スル法律, 民法 第143条): a year of age is reached at
/// the end of the day before the anniversary of the birth, so on the anniversary itself the
/// person has it. Someone born on 29 February reaches a year at the end of 28 February of a
/// common year, so has it on 1 March.
pub(crate) fn age_on(birth: Date, today: Date) -> Option<u32> {
    if today < birth {
        return None;
    }
    let years = today.year() - birth.year();
    let before_anniversary = (u8::from(today.month()), today.day()) < (u8::from(birth.month()), birth.day());
    u32::try_from(years - i32::from(before_anniversary)).ok()
}

#[derive(Deserialize)]
struct MinQuery {
    min: Option<String>,
}

fn threshold(min: Option<&str>) -> Result<u8, BankError> {
    match min {
        None | Some("") => Ok(DEFAULT_THRESHOLD),
        Some(m) => m.parse::<u8>().ok().filter(|m| THRESHOLDS.contains(m)).ok_or_else(|| {
            BankError::invalid(
                "確認できる年齢は 16・18・20 歳のいずれかです。",
                "The age that can be checked is 16, 18 or 20.",
            )
        }),
    }
}

async fn age_page(
    State(bank): State<Arc<Bank>>,
    lang: PageLang,
    headers: HeaderMap,
    Query(q): Query<MinQuery>,
) -> Result<Response, BankError> {
    let min = threshold(q.min.as_deref())?;
    let l = lang.lang;
    let logged_in = customer(&bank, &headers).await?.is_some();
    let others: Vec<String> = THRESHOLDS
        .iter()
        .map(|t| {
            if *t == min {
                format!("<strong>{t}</strong>")
            } else {
                format!("<a href=\"/age?min={t}\" id=\"min-{t}\">{t}</a>")
            }
        })
        .collect();
    let body = format!(
        "<div class=\"card\"><p id=\"age-question\">{q}</p><p>{how}</p><p>{kept}</p>\
         <form method=\"post\" action=\"/age\"><input type=\"hidden\" name=\"min\" value=\"{min}\">\
         <button id=\"age-start\" type=\"submit\">{b}</button></form><p>{other}: {others}</p></div>\
         <div class=\"card\"><p id=\"child-note\">{child}</p></div>",
        q = escape(&match l {
            pages::Lang::Ja => format!("{min}歳以上であることを確認します。"),
            pages::Lang::En => format!("We check that you are {min} or older."),
        }),
        how = l.pick(
            "デジタル認証アプリで署名用電子証明書（暗証番号 英数字6〜16文字）を使って電子署名すると、プラットフォーム事業者が有効性を確認し、証明書の生年月日から今日（日本時間）の年齢を判定します。",
            "You sign with the signature certificate (password of 6–16 letters and digits) in the authentication app; the platform operator checks it, and the bank decides your age today (Japan time) from the birth date in the certificate."
        ),
        kept = l.pick(
            "お知らせするのは「その年齢以上かどうか」だけです。生年月日・氏名・住所は保存しません（確認した日時と結果だけを記録します）。",
            "Only whether you reached the age is shown. Your birth date, name and address are not kept (only the time and the answer are recorded)."
        ),
        b = l.pick("マイナンバーカードで年齢を確認する", "Check my age with the My Number Card"),
        other = l.pick("ほかの年齢", "Other ages"),
        others = others.join(" · "),
        child = l.pick(
            "15歳未満の方のマイナンバーカードには署名用電子証明書がありません（利用者証明用電子証明書だけです）。その場合は認証アプリで署名できず、ここでの年齢確認はできません。",
            "A My Number Card of a child under 15 has no signature certificate (only the user-authentication one): the authentication app cannot sign with it, so this age check cannot be used."
        ),
    );
    Ok(pages::page(lang, "/age", l.pick("年齢確認", "Age check"), logged_in, &body))
}

#[derive(Deserialize)]
struct AgeForm {
    min: Option<String>,
}

async fn age_start(
    State(bank): State<Arc<Bank>>,
    headers: HeaderMap,
    Form(f): Form<AgeForm>,
) -> Result<Response, BankError> {
    same_origin(&bank, &headers)?;
    let min = threshold(f.min.as_deref())?;
    let text = canonical_json(&json!({
        "bank": "見本銀行",
        "bank_id": bank.config.client_id,
        "statement": format!("年齢確認（{min}歳以上）"),
        "time": records::rfc3339(bank.clock.now()),
        "id": random_id(),
    }));
    let hash = sha256(text.as_bytes());
    crate::flow::start(&bank, &headers, "age", &[], Some(hash), json!({"min": min, "statement": text})).await
}

/// The `age` step.
pub(crate) async fn checked(bank: &Arc<Bank>, done: Done) -> Result<Response, BankError> {
    let min = done.flow.data["min"].as_u64().and_then(|m| u8::try_from(m).ok()).filter(|m| THRESHOLDS.contains(m));
    let min = min.ok_or_else(|| BankError::Internal("an age flow without its threshold".into()))?;
    let (result, outcome) = done.signed(bank).await?;
    let facts = Facts::from_outcome(&outcome)?;
    let birth = facts.birth().ok_or_else(|| {
        BankError::refused(
            "電子証明書の生年月日の一部が不明のため、年齢を確認できません。",
            "The birth date in your certificate is only partly known, so your age cannot be checked.",
        )
    })?;
    drop(facts);
    let now = bank.clock.now();
    let today = now.to_offset(records::jst()).date();
    let age = age_on(birth, today)
        .ok_or_else(|| BankError::refused("生年月日が今日より後です。", "The birth date is after today."))?;
    let reached = age >= u32::from(min);
    let statement = done.flow.data["statement"].as_str().unwrap_or_default().to_owned();
    let mut record = records::kyc_record(
        Transaction::AgeCheck { minimum: min, reached },
        Method::JpkiSignature,
        &Evidence { outcome: &outcome, certificate: &result.certificate, document: statement.as_bytes() },
        None,
        None,
        now,
    )?;
    // Not even the certificate's serial: it would lead back to the person.
    if let Some(d) = record.record.get_mut("document").and_then(|d| d.as_object_mut()) {
        d.remove("serial");
        d.remove("not_after");
    }
    let logged_in = crate::login::customer(bank, &done.headers).await?;
    // The record goes with the logged-in customer's account only when it was their card.
    let holder = logged_in
        .as_ref()
        .filter(|a| crate::contract::same_person(a, &outcome, &done.finished.sub).is_ok())
        .map(|a| a.id.as_str());
    records::keep(bank, holder, record).await?;
    let l = done.lang.lang;
    let (class, result_id, text) = match (reached, l) {
        (true, pages::Lang::Ja) => ("ok", "yes", format!("{min}歳以上であることを確認しました")),
        (true, pages::Lang::En) => ("ok", "yes", format!("Confirmed: you are {min} or older")),
        (false, pages::Lang::Ja) => ("alert", "no", format!("{min}歳未満のため、ご利用いただけません")),
        (false, pages::Lang::En) => {
            ("alert", "no", format!("You are under {min}: this service is not available to you"))
        }
    };
    let body = format!(
        "<p class=\"{class}\" role=\"status\" id=\"age-result\" data-result=\"{result_id}\">{}</p><p>{}</p>\
         <p><a class=\"button\" href=\"/\">{}</a></p>",
        escape(&text),
        l.pick(
            "生年月日は保存していません。記録したのは確認の日時と結果だけです。",
            "Your birth date was not kept: only the time and the answer were recorded."
        ),
        l.pick("トップへ戻る", "Back to the top"),
    );
    Ok(pages::page(done.lang, "/age", l.pick("年齢確認の結果", "Age check result"), logged_in.is_some(), &body))
}

pub(crate) fn routes() -> Router<Arc<Bank>> {
    Router::new().route("/age", get(age_page).post(age_start))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use time::macros::date;

    #[test]
    fn age_counts_whole_years_reached_on_the_anniversary() {
        let birth = date!(2008 - 06 - 15);
        assert_eq!(age_on(birth, date!(2026 - 06 - 14)), Some(17));
        assert_eq!(age_on(birth, date!(2026 - 06 - 15)), Some(18));
        assert_eq!(age_on(birth, date!(2026 - 12 - 31)), Some(18));
        assert_eq!(age_on(birth, date!(2008 - 06 - 15)), Some(0));
        assert_eq!(age_on(birth, date!(2008 - 06 - 14)), None);
    }

    #[test]
    fn a_leap_day_birth_reaches_its_year_on_the_first_of_march() {
        let birth = date!(2008 - 02 - 29);
        assert_eq!(age_on(birth, date!(2026 - 02 - 28)), Some(17));
        assert_eq!(age_on(birth, date!(2026 - 03 - 01)), Some(18));
        assert_eq!(age_on(birth, date!(2028 - 02 - 29)), Some(20));
    }

    #[test]
    fn across_the_year_end() {
        let birth = date!(1985 - 12 - 31);
        assert_eq!(age_on(birth, date!(2026 - 01 - 01)), Some(40));
        assert_eq!(age_on(birth, date!(2026 - 12 - 31)), Some(41));
    }

    #[test]
    fn thresholds_are_16_18_20() {
        assert_eq!(threshold(None).unwrap(), 18);
        assert_eq!(threshold(Some("16")).unwrap(), 16);
        assert_eq!(threshold(Some("20")).unwrap(), 20);
        assert!(threshold(Some("17")).is_err());
        assert!(threshold(Some("x")).is_err());
    }
}
