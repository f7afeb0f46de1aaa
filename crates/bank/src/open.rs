//! Opening an account with the AML Act's JPKI signature method (case 1 of
//! shared/spec/50-scenarios.md), in three steps:
//!
//! 1. `GET /open` says what will happen; `POST /open` starts a signature (kind `open`) over the
//!    SHA-256 of a short statement (the bank, 「口座開設のための本人確認」, the time, a random id).
//!    The callback has the platform verify it and keeps what it returned — the 4 facts of the
//!    signature certificate, the platform's user id, the ID token's pairwise `sub` — in a pending
//!    application bound to the browser (`bank_applications`).
//! 2. `GET /open/form` shows those facts read-only with the items a certificate lacks
//!    (occupation, purpose of transactions); `POST /open/form` builds the application document
//!    (canonical JSON) and starts a second signature (kind `apply`) over its SHA-256.
//! 3. The callback has the platform verify it, checks the signer is the same platform user as in
//!    step 1, opens the account, subscribes the user to the platform's monitoring, writes the
//!    verification record and logs the customer in on the record's page.
//!
//! One person, one account: a second opening by the same platform user (or by a card whose
//! facts match an existing customer's) is refused with a way to log in or recover.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use hanko_store::sqlx::{self, Row};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::{BankError, Text};
use crate::flow::{Done, BROWSER_COOKIE};
use crate::login::{customer, same_origin, start_session};
use crate::pages::{self, escape, Lang, PageLang};
use crate::records::{self, canonical_json, random_id, sha256, Declared, Evidence, Facts, Method, Transaction};
use crate::store::Account;
use crate::Bank;
use hanko_sp::kyc;

/// How long an application waits for its signed form (seconds).
const APPLICATION_LIFETIME: i64 = 3600;

/// 職業: (stored value, English).
pub(crate) const OCCUPATIONS: &[(&str, &str)] = &[
    ("会社員", "Company employee"),
    ("会社役員", "Company officer"),
    ("公務員", "Public servant"),
    ("自営業", "Self-employed"),
    ("パート・アルバイト", "Part-time worker"),
    ("学生", "Student"),
    ("主婦・主夫", "Homemaker"),
    ("年金受給者", "Pensioner"),
    ("無職", "Not employed"),
    ("その他", "Other"),
];

/// 取引を行う目的: (stored value, English).
pub(crate) const PURPOSES: &[(&str, &str)] = &[
    ("生計費決済", "Living expenses"),
    ("給与・年金の受取", "Receiving salary or pension"),
    ("貯蓄", "Savings"),
    ("事業費決済", "Business payments"),
    ("投資", "Investment"),
    ("融資", "Loans"),
    ("その他", "Other"),
];

/// A pending application.
struct Application {
    id: String,
    browser: String,
    user_id: String,
    sub: String,
    facts: Facts,
    /// The first signature's verification (evidence id, time, the statement).
    verification: Value,
    /// The application document, once the customer filled in the form.
    document: Option<Vec<u8>>,
    created_at: i64,
}

async fn add_application(bank: &Bank, a: &Application) -> Result<(), BankError> {
    let facts = serde_json::to_string(&a.facts).map_err(|e| BankError::Internal(e.to_string()))?;
    sqlx::query(
        "INSERT INTO bank_applications (id, browser, user_id, sub, facts, verification, document, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&a.id)
    .bind(&a.browser)
    .bind(&a.user_id)
    .bind(&a.sub)
    .bind(facts)
    .bind(a.verification.to_string())
    .bind(&a.document)
    .bind(a.created_at)
    .execute(bank.store.db().pool())
    .await
    .map_err(hanko_store::StoreError::from)?;
    Ok(())
}

fn application(r: &sqlx::any::AnyRow) -> Result<Application, BankError> {
    let corrupt = |e: serde_json::Error| BankError::Internal(format!("application: {e}"));
    let get = |e: sqlx::Error| BankError::Store(e.into());
    let facts: String = r.try_get("facts").map_err(get)?;
    let verification: String = r.try_get("verification").map_err(get)?;
    Ok(Application {
        id: r.try_get("id").map_err(get)?,
        browser: r.try_get("browser").map_err(get)?,
        user_id: r.try_get("user_id").map_err(get)?,
        sub: r.try_get("sub").map_err(get)?,
        facts: serde_json::from_str(&facts).map_err(corrupt)?,
        verification: serde_json::from_str(&verification).map_err(corrupt)?,
        document: r.try_get("document").map_err(get)?,
        created_at: r.try_get("created_at").map_err(get)?,
    })
}

const APPLICATION_COLUMNS: &str = "id, browser, user_id, sub, facts, verification, document, created_at";

/// The live application of the browser (its newest).
async fn application_of(bank: &Bank, headers: &HeaderMap) -> Result<Option<Application>, BankError> {
    let Some(browser) = pages::cookie(headers, BROWSER_COOKIE) else { return Ok(None) };
    let row = sqlx::query(&format!(
        "SELECT {APPLICATION_COLUMNS} FROM bank_applications WHERE browser = $1 AND created_at >= $2 \
         ORDER BY created_at DESC LIMIT 1"
    ))
    .bind(&browser)
    .bind(bank.now() - APPLICATION_LIFETIME)
    .fetch_optional(bank.store.db().pool())
    .await
    .map_err(hanko_store::StoreError::from)?;
    row.as_ref().map(application).transpose()
}

async fn application_by_id(bank: &Bank, id: &str) -> Result<Option<Application>, BankError> {
    let row = sqlx::query(&format!("SELECT {APPLICATION_COLUMNS} FROM bank_applications WHERE id = $1"))
        .bind(id)
        .fetch_optional(bank.store.db().pool())
        .await
        .map_err(hanko_store::StoreError::from)?;
    row.as_ref().map(application).transpose()
}

async fn set_document(bank: &Bank, id: &str, document: &[u8]) -> Result<(), BankError> {
    sqlx::query("UPDATE bank_applications SET document = $1 WHERE id = $2")
        .bind(document)
        .bind(id)
        .execute(bank.store.db().pool())
        .await
        .map_err(hanko_store::StoreError::from)?;
    Ok(())
}

async fn drop_application(bank: &Bank, id: &str) -> Result<(), BankError> {
    sqlx::query("DELETE FROM bank_applications WHERE id = $1")
        .bind(id)
        .execute(bank.store.db().pool())
        .await
        .map_err(hanko_store::StoreError::from)?;
    Ok(())
}

/// Moves the browser's pending application to its renewed browser id (after each callback).
pub(crate) async fn rebind_browser(bank: &Bank, old: &str, new: &str) -> Result<(), BankError> {
    sqlx::query("UPDATE bank_applications SET browser = $1 WHERE browser = $2")
        .bind(new)
        .bind(old)
        .execute(bank.store.db().pool())
        .await
        .map_err(hanko_store::StoreError::from)?;
    Ok(())
}

/// Drops the applications of this browser and those older than their lifetime.
async fn purge_applications(bank: &Bank, browser: &str) -> Result<(), BankError> {
    sqlx::query("DELETE FROM bank_applications WHERE created_at < $1 OR browser = $2")
        .bind(bank.now() - APPLICATION_LIFETIME)
        .bind(browser)
        .execute(bank.store.db().pool())
        .await
        .map_err(hanko_store::StoreError::from)?;
    Ok(())
}

/// Accounts whose name, birth date and sex are those of `facts` (at most a few).
pub(crate) async fn accounts_with_facts(bank: &Bank, facts: &Facts) -> Result<Vec<String>, BankError> {
    let ids = sqlx::query_scalar(
        "SELECT id FROM bank_accounts WHERE name = $1 AND birth_date = $2 AND sex = $3 ORDER BY opened_at LIMIT 5",
    )
    .bind(&facts.name)
    .bind(facts.birth_text())
    .bind(&facts.sex)
    .fetch_all(bank.store.db().pool())
    .await
    .map_err(hanko_store::StoreError::from)?;
    Ok(ids)
}

/// A new 7-digit account number nobody has.
async fn new_number(bank: &Bank) -> Result<String, BankError> {
    for _ in 0..20 {
        let n = rand_core::RngCore::next_u32(&mut rand_core::OsRng) % 9_000_000 + 1_000_000;
        let number = n.to_string();
        let taken: Option<String> = sqlx::query_scalar("SELECT id FROM bank_accounts WHERE number = $1")
            .bind(&number)
            .fetch_optional(bank.store.db().pool())
            .await
            .map_err(hanko_store::StoreError::from)?;
        if taken.is_none() {
            return Ok(number);
        }
    }
    Err(BankError::Internal("no free account number".into()))
}

fn steps(l: Lang, current: usize) -> String {
    let names = [
        l.pick("署名用電子証明書で本人確認", "Identity check with the signature certificate"),
        l.pick("職業・取引目的の入力", "Occupation and purpose"),
        l.pick("申込内容に電子署名", "Sign the application"),
    ];
    let mut out = String::from("<ol class=\"steps\">");
    for (i, n) in names.iter().enumerate() {
        if i + 1 == current {
            out.push_str(&format!("<li><strong aria-current=\"step\">{}</strong></li>", escape(n)));
        } else {
            out.push_str(&format!("<li>{}</li>", escape(n)));
        }
    }
    out.push_str("</ol>");
    out
}

async fn open_page(State(bank): State<Arc<Bank>>, lang: PageLang, headers: HeaderMap) -> Result<Response, BankError> {
    let l = lang.lang;
    if let Some(a) = customer(&bank, &headers).await? {
        let body = format!(
            "<p class=\"ok\" id=\"already\">{} {}</p><p><a class=\"button\" href=\"/me\">{}</a></p>",
            l.pick("すでに口座をお持ちです。口座番号", "You already have an account. Account number"),
            escape(&a.number),
            l.pick("マイページへ", "To my page"),
        );
        return Ok(pages::page(lang, "/open", l.pick("口座開設", "Open an account"), true, &body));
    }
    let body = format!(
        "<div class=\"card\"><p>{intro}</p>{steps}\
         <ol><li>{s1}</li><li>{s2}</li><li>{s3}</li></ol></div>\
         <div class=\"card\"><h2>{law_h}</h2><p id=\"law\">{law}</p><p>{keep}</p></div>\
         <div class=\"card\"><p>{need}</p><form method=\"post\" action=\"/open\"><button id=\"open-start\" type=\"submit\">{start}</button></form></div>\
         {methods}",
        intro = l.pick(
            "マイナンバーカードの署名用電子証明書で本人確認をして、その場で口座を開設します。来店や書類の郵送は要りません。",
            "Open an account on the spot, with an identity check by the My Number Card's signature certificate. No branch visit, no papers by post."
        ),
        steps = steps(l, 1),
        s1 = l.pick(
            "デジタル認証アプリに移動し、署名用電子証明書の暗証番号（英数字6〜16文字）を入力して電子署名します。プラットフォーム事業者が電子証明書の有効性（失効していないか）を確認し、証明書に記録された氏名・住所・生年月日・性別を銀行に伝えます。",
            "You go to the authentication app and sign with the signature certificate (password of 6–16 letters and digits). The platform operator checks the certificate is valid (not revoked) and gives the bank the name, address, birth date and sex recorded in it."
        ),
        s2 = l.pick(
            "申込フォームに4情報が表示されます（変更できません）。証明書にない項目として、職業と取引を行う目的を選びます。",
            "The application form shows those 4 facts (they cannot be changed). You add what the certificate lacks: your occupation and the purpose of transactions."
        ),
        s3 = l.pick(
            "申込内容にもう一度電子署名すると口座が開設され、口座番号と本人確認記録が表示されます。",
            "You sign the application once more: the account opens and you see its number and the verification record."
        ),
        law_h = l.pick("根拠となる法令と方法", "Law and method"),
        law = l.pick(
            "犯罪による収益の移転防止に関する法律（犯収法）の取引時確認として、公的個人認証サービスの署名用電子証明書及び電子署名が行われた情報の送信を受ける方法（犯収法施行規則 第6条第1項第1号ワ）で本人確認を行います。",
            "The identity check the AML Act (犯収法) asks for opening an account, by the method of receiving the JPKI signature certificate and information signed with it (AML ordinance, Art. 6(1)(i)(wa))."
        ),
        keep = l.pick(
            "確認記録（確認の方法・日時・本人確認書類・4情報・職業・取引目的・検証記録ID）は7年間保存します。マイナンバーは取得・記録しません。",
            "The verification record (method, time, document, the 4 facts, occupation, purpose, evidence id) is kept for 7 years. No My Number is collected or recorded."
        ),
        need = l.pick(
            "マイナンバーカードと署名用電子証明書の暗証番号をご用意ください。15歳未満の方のカードには署名用電子証明書がないため、口座開設はできません。",
            "Have your My Number Card and its signature password ready. A card of a child under 15 has no signature certificate: such a card cannot open an account."
        ),
        start = l.pick("本人確認に進む（デジタル認証アプリ）", "Continue to the identity check (authentication app)"),
        methods = methods_card(&bank, l),
    );
    Ok(pages::page(lang, "/open", l.pick("口座開設", "Open an account"), false, &body))
}

/// The online methods a customer might ask for, as `form` values: only the JPKI signature is
/// offered here; the others are answered with what the law (the policy table) says.
const METHODS: [(&str, kyc::Method); 5] = [
    ("jpki-signature", kyc::Method::JpkiSignature),
    ("jpki-login", kyc::Method::JpkiUserAuthentication),
    ("chip-selfie", kyc::Method::ChipAndSelfie),
    ("image-upload", kyc::Method::ImageUpload),
    ("registered-mail", kyc::Method::DocumentsByRegisteredMail),
];

/// Today in Japan (the law's dates are Japanese dates).
fn today_jst(bank: &Bank) -> time::Date {
    bank.clock.now().to_offset(records::jst()).date()
}

/// What the AML Act says of each method for opening an account today (hanko_sp::kyc).
fn methods_card(bank: &Bank, l: Lang) -> String {
    let policy = kyc::Policy::standard();
    let today = today_jst(bank);
    let mut rows = String::new();
    for (value, method) in METHODS {
        let d = policy.decide(kyc::Law::AmlAct, kyc::Transaction::AccountOpening, method, today);
        let name = l.pick(method.name_ja(), method.name_en());
        let (mark, reason) = if d.accepted {
            ("✓", l.pick(&d.reason_ja, &d.reason_en).to_owned())
        } else {
            ("✗", l.pick(&d.reason_ja, &d.reason_en).to_owned())
        };
        rows.push_str(&format!(
            "<tr data-method=\"{value}\"><td>{mark}</td><td>{}</td><td>{}</td></tr>",
            escape(name),
            escape(&reason)
        ));
    }
    format!(
        "<div class=\"card\" id=\"methods\"><h2>{h}</h2><p>{p}</p><table>{rows}</table>\
         <form method=\"post\" action=\"/open\"><label for=\"method\">{ask}</label><select id=\"method\" name=\"method\">{options}</select> \
         <button class=\"secondary\" type=\"submit\">{go}</button></form></div>",
        h = l.pick("本人確認の方法（犯収法・口座開設）", "Identity-check methods (AML Act, account opening)"),
        p = l.pick(
            "法令が認める方法だけを受け付けます。当行がオンラインで提供するのは署名用電子証明書による方法です。",
            "Only methods the law accepts are taken. Online, this bank offers the signature-certificate method."
        ),
        ask = l.pick("ほかの方法を選ぶ", "Choose another method"),
        go = l.pick("この方法で進む", "Continue with this method"),
        options = METHODS
            .iter()
            .map(|(v, m)| format!("<option value=\"{v}\">{}</option>", escape(l.pick(m.name_ja(), m.name_en()))))
            .collect::<String>(),
    )
}

/// The statement the first signature is over.
fn statement(bank: &Bank, what: &str) -> String {
    canonical_json(&json!({
        "bank": "見本銀行",
        "bank_id": bank.config.client_id,
        "statement": what,
        "time": records::rfc3339(bank.clock.now()),
        "id": random_id(),
    }))
}

async fn open_start(
    State(bank): State<Arc<Bank>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, BankError> {
    same_origin(&bank, &headers)?;
    // A method the law does not accept for opening an account is refused with the law's reason;
    // one it accepts but this bank does not offer online is said as such. The body is optional
    // (a bare POST is the default method): `method=<token>`, the tokens are ASCII.
    let body = std::str::from_utf8(&body).unwrap_or_default();
    let asked = body.split('&').find_map(|p| p.strip_prefix("method=")).unwrap_or("jpki-signature");
    let method = METHODS
        .iter()
        .find(|(v, _)| *v == asked)
        .map(|(_, m)| *m)
        .ok_or_else(|| BankError::invalid("本人確認の方法が不明です。", "Unknown identity-check method."))?;
    if method != kyc::Method::JpkiSignature {
        let d = kyc::Policy::standard().decide(
            kyc::Law::AmlAct,
            kyc::Transaction::AccountOpening,
            method,
            today_jst(&bank),
        );
        return Err(if d.accepted {
            BankError::refused(
                format!("{}は法令上認められますが、当行ではオンラインで提供していません。署名用電子証明書による方法をお選びください。", method.name_ja()),
                format!("The law accepts {}, but this bank does not offer it online. Please use the signature certificate.", method.name_en()),
            )
        } else {
            BankError::refused(
                format!("この方法では口座を開設できません：{}", d.reason_ja),
                format!("This method cannot open an account: {}", d.reason_en),
            )
        });
    }
    if customer(&bank, &headers).await?.is_some() {
        return Ok(Redirect::to("/open").into_response());
    }
    let text = statement(&bank, "口座開設のための本人確認");
    let hash = sha256(text.as_bytes());
    crate::flow::start(&bank, &headers, "open", &[], Some(hash), json!({"statement": text})).await
}

/// The page for a person who has an account already.
fn already(lang: PageLang, recover: bool) -> Response {
    let l = lang.lang;
    let (title, p) = if recover {
        (
            l.pick("同じお名前の口座があります", "An account in your name exists"),
            l.pick(
                "お名前・生年月日・性別が同じお客さまの口座がすでにあります。カードを再発行した場合は、アカウント復旧で今の口座をお使いいただけます（口座はお一人さま一つです）。",
                "An account of a customer with your name, birth date and sex exists already. If you got a new card, recover that account (one account per person).",
            ),
        )
    } else {
        (
            l.pick("すでに口座をお持ちです", "You already have an account"),
            l.pick(
                "このマイナンバーカードの方の口座はすでに開設されています（口座はお一人さま一つです）。マイナンバーカードでログインしてください。",
                "An account for the holder of this My Number Card is open already (one account per person). Please log in with the card.",
            ),
        )
    };
    let body = format!(
        "<p class=\"alert\" role=\"alert\" id=\"already\">{}</p><p><a class=\"button\" id=\"to-login\" href=\"/login\">{}</a> \
         <a class=\"button\" id=\"to-recover\" href=\"/recover\">{}</a></p>",
        escape(p),
        l.pick("ログインする", "Log in"),
        l.pick("アカウントを復旧する", "Recover my account"),
    );
    let mut r = pages::page(lang, "/open", title, false, &body);
    *r.status_mut() = StatusCode::CONFLICT;
    r
}

/// Why the person may not open an account, if they may not: an account of the platform user
/// or of the `sub` (`Some(false)`), or one whose facts match (`Some(true)`).
async fn existing(bank: &Bank, user_id: &str, sub: &str, facts: &Facts) -> Result<Option<bool>, BankError> {
    if bank.store.account_by_user(user_id).await?.is_some() || bank.store.account_by_sub(sub).await?.is_some() {
        return Ok(Some(false));
    }
    if !accounts_with_facts(bank, facts).await?.is_empty() {
        return Ok(Some(true));
    }
    Ok(None)
}

/// The `open` step: the first signature verified; the application waits for the form.
pub(crate) async fn verified(bank: &Arc<Bank>, done: Done) -> Result<Response, BankError> {
    let (result, outcome) = done.signed(bank).await?;
    let user_id = outcome
        .user_id
        .clone()
        .ok_or_else(|| BankError::Upstream("the platform gave no user id for a valid signer".into()))?;
    let facts = Facts::from_outcome(&outcome)?;
    if let Some(recover) = existing(bank, &user_id, &done.finished.sub, &facts).await? {
        return Ok(already(done.lang, recover));
    }
    let statement = done.flow.data["statement"].as_str().unwrap_or_default().to_owned();
    let certificate = hanko_pki::JpkiCertificate::from_der(&result.certificate)
        .map_err(|e| BankError::Upstream(format!("the verified certificate does not parse: {e}")))?;
    purge_applications(bank, &done.flow.browser).await?;
    add_application(
        bank,
        &Application {
            id: random_id(),
            browser: done.flow.browser.clone(),
            user_id,
            sub: done.finished.sub.clone(),
            facts,
            verification: json!({
                "evidence_id": outcome.evidence_id,
                "checked_at": outcome.checked_at,
                "serial": certificate.serial().to_string(),
                "statement": statement,
            }),
            document: None,
            created_at: bank.now(),
        },
    )
    .await?;
    Ok(Redirect::to("/open/form").into_response())
}

fn no_application(lang: PageLang) -> Response {
    let l = lang.lang;
    let body = format!(
        "<p class=\"alert\" role=\"alert\" id=\"no-application\">{}</p><p><a class=\"button\" href=\"/open\">{}</a></p>",
        l.pick(
            "手続き中の申込がありません（1時間以上たったか、別のブラウザで始められました）。最初からやり直してください。",
            "There is no application in progress (it is more than an hour old, or it was started in another browser). Please start again."
        ),
        l.pick("口座開設をはじめから", "Start the opening again"),
    );
    let mut r = pages::page(lang, "/open", l.pick("申込が見つかりません", "No application"), false, &body);
    *r.status_mut() = StatusCode::NOT_FOUND;
    r
}

fn options(l: Lang, choices: &[(&str, &str)], id: &str) -> String {
    let mut out = format!(
        "<select id=\"{id}\" name=\"{id}\" required><option value=\"\">{}</option>",
        l.pick("選択してください", "Choose")
    );
    for (ja, en) in choices {
        let label = match l {
            Lang::Ja => (*ja).to_owned(),
            Lang::En => format!("{en}（{ja}）"),
        };
        out.push_str(&format!("<option value=\"{}\">{}</option>", escape(ja), escape(&label)));
    }
    out.push_str("</select>");
    out
}

fn facts_table(l: Lang, facts: &Facts) -> String {
    let birth = facts.birth_text();
    let sex = records::sex_text(l, &facts.sex);
    let rows = [
        ("f-name", l.pick("氏名", "Name"), facts.name.as_str()),
        ("f-address", l.pick("住所", "Address"), facts.address.as_str()),
        ("f-birth-date", l.pick("生年月日", "Birth date"), birth.as_str()),
        ("f-sex", l.pick("性別", "Sex"), sex.as_str()),
    ];
    let mut out = String::from("<table id=\"facts\">");
    for (id, k, v) in rows {
        out.push_str(&format!("<tr><th>{}</th><td id=\"{id}\">{}</td></tr>", escape(k), escape(v)));
    }
    out.push_str("</table>");
    out
}

async fn form_page(State(bank): State<Arc<Bank>>, lang: PageLang, headers: HeaderMap) -> Result<Response, BankError> {
    let Some(app) = application_of(&bank, &headers).await? else { return Ok(no_application(lang)) };
    let l = lang.lang;
    let token = bank.mac(&["open-form", &app.id, &app.browser]);
    let body = format!(
        "{steps}<div class=\"card\"><h2>{facts_h}</h2><p>{facts_p}</p>{facts}</div>\
         <form method=\"post\" action=\"/open/form\" class=\"card\"><h2>{decl_h}</h2>\
         <input type=\"hidden\" name=\"token\" value=\"{token}\">\
         <label for=\"occupation\">{occ}</label>{occupations}\
         <label for=\"purpose\">{pur}</label>{purposes}\
         <p>{sign_p}</p><p><button id=\"apply-start\" type=\"submit\">{sign_b}</button></p></form>",
        steps = steps(l, 2),
        facts_h = l.pick("署名用電子証明書の記録事項", "From your signature certificate"),
        facts_p = l.pick(
            "プラットフォーム事業者が有効性を確認した署名用電子証明書から読み取りました。変更はできません（住所などが変わった場合は市区町村で手続きのうえ、新しい証明書でお申し込みください）。",
            "Read from your signature certificate, verified by the platform operator. They cannot be changed here (if your address or name changed, update them at your municipality and apply with the new certificate)."
        ),
        facts = facts_table(l, &app.facts),
        decl_h = l.pick("お客さまにご申告いただく事項", "Please declare"),
        occ = l.pick("職業", "Occupation"),
        occupations = options(l, OCCUPATIONS, "occupation"),
        pur = l.pick("取引を行う目的", "Purpose of transactions"),
        purposes = options(l, PURPOSES, "purpose"),
        sign_p = l.pick(
            "申込内容（上の4情報、職業、取引目的）にもう一度、署名用電子証明書で電子署名します。",
            "You sign the application (the 4 facts above, occupation and purpose) with your signature certificate once more."
        ),
        sign_b = l.pick("電子署名して申し込む", "Sign and apply"),
    );
    Ok(pages::page(lang, "/open/form", l.pick("口座開設のお申込", "Account application"), false, &body))
}

#[derive(Deserialize)]
struct ApplyForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    occupation: String,
    #[serde(default)]
    purpose: String,
}

async fn form_submit(
    State(bank): State<Arc<Bank>>,
    lang: PageLang,
    headers: HeaderMap,
    Form(form): Form<ApplyForm>,
) -> Result<Response, BankError> {
    same_origin(&bank, &headers)?;
    let Some(app) = application_of(&bank, &headers).await? else { return Ok(no_application(lang)) };
    let expected = bank.mac(&["open-form", &app.id, &app.browser]);
    if aws_lc_rs::constant_time::verify_slices_are_equal(form.token.as_bytes(), expected.as_bytes()).is_err() {
        return Err(BankError::Forbidden(Text::new(
            "フォームの確認に失敗しました。申込フォームを開き直してください。",
            "The form could not be checked. Please open the application form again.",
        )));
    }
    if !OCCUPATIONS.iter().any(|(v, _)| *v == form.occupation) {
        return Err(BankError::invalid("職業を選んでください。", "Please choose your occupation."));
    }
    if !PURPOSES.iter().any(|(v, _)| *v == form.purpose) {
        return Err(BankError::invalid(
            "取引を行う目的を選んでください。",
            "Please choose the purpose of transactions.",
        ));
    }
    let document = canonical_json(&json!({
        "document": "口座開設申込書",
        "bank": "見本銀行",
        "bank_id": bank.config.client_id,
        "application_id": app.id,
        "applied_at": records::rfc3339(bank.clock.now()),
        "facts": app.facts.to_json(),
        "occupation": form.occupation,
        "purpose": form.purpose,
    }));
    set_document(&bank, &app.id, document.as_bytes()).await?;
    let hash = sha256(document.as_bytes());
    crate::flow::start(&bank, &headers, "apply", &[], Some(hash), json!({"application": app.id})).await
}

/// The `apply` step: the signed application verified; the account opens.
pub(crate) async fn applied(bank: &Arc<Bank>, done: Done) -> Result<Response, BankError> {
    let id = done.flow.data["application"].as_str().unwrap_or_default().to_owned();
    let app = match application_by_id(bank, &id).await? {
        Some(a) if a.browser == done.flow.browser && a.created_at >= bank.now() - APPLICATION_LIFETIME => a,
        _ => return Ok(no_application(done.lang)),
    };
    let document =
        app.document.clone().ok_or_else(|| BankError::Internal("an application signed without its document".into()))?;
    if done.flow.digest.as_deref() != Some(sha256(&document).as_slice()) {
        // The form was sent again after this signature started: the application changed.
        return Err(BankError::refused(
            "申込内容が署名の後に変更されました。最初からやり直してください。",
            "The application changed after this signature was started. Please start again.",
        ));
    }
    let (result, outcome) = done.signed(bank).await?;
    if outcome.user_id.as_deref() != Some(app.user_id.as_str()) || done.finished.sub != app.sub {
        drop_application(bank, &app.id).await?;
        return Err(BankError::refused(
            "申込書に署名したカードが、最初に本人確認したカードと異なります。同じマイナンバーカードで最初からやり直してください。",
            "The card that signed the application is not the one verified in the first step. Please start again with the same My Number Card.",
        ));
    }
    if let Some(recover) = existing(bank, &app.user_id, &app.sub, &app.facts).await? {
        drop_application(bank, &app.id).await?;
        return Ok(already(done.lang, recover));
    }
    let declared: Declared = {
        let d: Value =
            serde_json::from_slice(&document).map_err(|e| BankError::Internal(format!("application: {e}")))?;
        Declared {
            occupation: d["occupation"].as_str().unwrap_or_default().to_owned(),
            purpose: d["purpose"].as_str().unwrap_or_default().to_owned(),
        }
    };
    let now = bank.clock.now();
    let mut record = records::kyc_record(
        Transaction::AccountOpening,
        Method::JpkiSignature,
        &Evidence { outcome: &outcome, certificate: &result.certificate, document: &document },
        Some(&app.facts),
        Some(&declared),
        now,
    )?;
    // Monitoring first: an account the platform does not watch would miss a move (case 16).
    bank.platform.monitor(&app.user_id).await?;
    let account = Account {
        id: random_id(),
        number: new_number(bank).await?,
        sub: Some(app.sub.clone()),
        platform_user_id: app.user_id.clone(),
        name: app.facts.name.clone(),
        address: app.facts.address.clone(),
        birth_date: app.facts.birth_text(),
        sex: app.facts.sex.clone(),
        occupation: declared.occupation.clone(),
        purpose: declared.purpose.clone(),
        opened_at: now.unix_timestamp(),
        changed_at: None,
        change_note: None,
        consent_id: None,
    };
    bank.store.add_account(&account).await?;
    record.record["account_number"] = json!(account.number);
    record.record["application_id"] = json!(app.id);
    record.record["identity_check"] = app.verification.clone();
    record.record["application_document"] = json!(String::from_utf8_lossy(&document));
    let record_id = records::keep(bank, Some(&account.id), record).await?;
    drop_application(bank, &app.id).await?;
    tracing::info!(account = %account.id, "account opened");
    start_session(bank, &account, &format!("/records/{record_id}")).await
}

pub(crate) fn routes() -> Router<Arc<Bank>> {
    Router::new().route("/open", get(open_page).post(open_start)).route("/open/form", get(form_page).post(form_submit))
}
