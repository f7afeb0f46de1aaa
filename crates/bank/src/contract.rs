//! Signing a contract PDF with the card (shared/spec/50-scenarios.md case 8): the bank makes the
//! PDF, computes the signed attributes of a detached CMS signature over it (`contentType`
//! id-data, `messageDigest` SHA-256, `signingTime`), and has the card sign their SHA-256 through
//! the authentication app (the DigestInfo form). Back at the callback the platform has verified
//! the raw signature over that hash; the bank assembles the CMS `SignedData` around the card's
//! signature and certificate (`hanko_pki::cms::assemble`), has the platform verify it with the
//! PDF as detached content (its evidence id), keeps it, and offers the PDF, the `.p7s` and an
//! evidence bundle (the platform's evidence record and its inclusion proof) — to the owner only.

use std::sync::Arc;

use axum::extract::{Form, Path, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use hanko_pki::cms::{self, CmsError, Encapsulation};
use hanko_pki::DigestAlgorithm;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::{BankError, Text};
use crate::flow::Done;
use crate::login::{require, same_origin};
use crate::pages::{self, escape, Lang, PageLang};
use crate::store::{Account, Contract};
use crate::Bank;

/// The title kept with each contract.
const TITLE: &str = "電子契約書（見本） / Electronic contract (sample)";

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(DigestAlgorithm::Sha256.digest(data))
}

fn random_id() -> String {
    let mut b = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut b);
    hex::encode(b)
}

/// The JST calendar date of a Unix time (`2026-12-06`).
fn jst_date(unix: i64) -> String {
    pages::time_text(unix).split(' ').next().unwrap_or_default().to_owned()
}

pub(crate) fn fuzzing_pdf(name: &str, number: &str) -> Vec<u8> {
    let account = Account {
        id: String::new(),
        number: number.to_owned(),
        sub: None,
        platform_user_id: String::new(),
        name: name.to_owned(),
        address: String::new(),
        birth_date: String::new(),
        sex: String::new(),
        occupation: String::new(),
        purpose: String::new(),
        opened_at: 0,
        changed_at: None,
        change_note: None,
        consent_id: None,
    };
    contract_pdf(&account, "2026-12-06")
}

/// The contract of `account` dated `date`: the same bytes for the same inputs, so the PDF the
/// customer previewed is the PDF that is signed (the form carries its SHA-256).
fn contract_pdf(account: &Account, date: &str) -> Vec<u8> {
    use pdf::Line;
    let lines = [
        Line::japanese(16.0, "電子契約書（見本）"),
        Line::japanese(10.5, "見本銀行（以下「銀行」）と下記のお客さまは、次のとおり契約します。"),
        Line::japanese(10.5, &format!("お客さま　　{}", account.name)),
        Line::japanese(10.5, &format!("口座番号　　{}", account.number)),
        Line::japanese(10.5, &format!("契約日　　　{date}")),
        Line::japanese(10.5, "第1条　お客さまは、銀行所定の普通預金規定に同意します。"),
        Line::japanese(10.5, "第2条　本契約は、公的個人認証サービスの署名用電子証明書による電子署名を"),
        Line::japanese(10.5, "　　　　もって締結します（記名押印に代わるものです）。"),
        Line::japanese(10.5, "第3条　電子契約書には印紙税は課されません。"),
        Line::gap(),
        Line::latin_bold(14.0, "Electronic contract (sample) - Mihon Bank"),
        Line::latin(10.0, &format!("Customer: as named above    Account number: {}    Date: {date}", account.number)),
        Line::latin(10.0, "Art. 1  The customer accepts the bank's rules for ordinary deposits."),
        Line::latin(10.0, "Art. 2  This contract is concluded by the customer's electronic signature with the JPKI"),
        Line::latin(10.0, "        signature certificate (in place of a name and a registered seal)."),
        Line::latin(10.0, "Art. 3  No stamp duty applies to an electronic contract."),
        Line::gap(),
        Line::latin_bold(11.0, "SAMPLE JPKI-TEST"),
        Line::latin(
            9.0,
            "A fictitious contract of hanko's demo bank, signed with a test certificate: no legal effect.",
        ),
        Line::japanese(9.0, "hanko のデモ銀行の架空の契約です。試験用の証明書で署名され、法的効力はありません。"),
    ];
    pdf::document(TITLE, date, &lines)
}

/// The customer's page's part about contracts.
pub(crate) async fn me_section(bank: &Bank, l: Lang, a: &Account) -> Result<String, BankError> {
    let mut out = format!(
        "<div class=\"card\"><h2>{}</h2><p><a class=\"button\" id=\"contract-link\" href=\"/me/contract\">{}</a></p>",
        l.pick("電子契約", "Electronic contracts"),
        l.pick("契約書に電子署名する", "Sign a contract"),
    );
    let signed = bank.store.signed_contracts_of(&a.id).await?;
    if !signed.is_empty() {
        out.push_str("<ul id=\"contracts\">");
        for (id, title, at) in signed {
            out.push_str(&format!(
                "<li><a href=\"/me/contracts/{id}\">{}</a> — {}</li>",
                escape(&title),
                escape(&pages::time_text(at))
            ));
        }
        out.push_str("</ul>");
    }
    out.push_str("</div>");
    Ok(out)
}

async fn page(State(bank): State<Arc<Bank>>, lang: PageLang, headers: HeaderMap) -> Result<Response, BankError> {
    let a = require(&bank, &headers).await?;
    let l = lang.lang;
    let date = jst_date(bank.now());
    let pdf = contract_pdf(&a, &date);
    let body = format!(
        "<div class=\"card\"><p>{intro}</p>{facts}\
         <p><a id=\"contract-preview\" href=\"/me/contract/draft.pdf\">{preview}</a> (PDF, SHA-256 <code id=\"contract-sha256\">{sha}</code>)</p>\
         <form method=\"post\" action=\"/me/contract\"><input type=\"hidden\" name=\"sha256\" value=\"{sha}\">\
         <button id=\"contract-sign\" type=\"submit\">{sign}</button></form></div>\
         <div class=\"card\"><h2>{how_h}</h2><p>{how}</p></div>",
        intro = l.pick(
            "見本銀行との電子契約書（見本）です。内容をご確認のうえ、マイナンバーカードの署名用電子証明書（6〜16桁の暗証番号）で電子署名してください。記名押印の代わりになり、印紙税はかかりません。",
            "Your electronic contract (sample) with Mihon Bank. Review it, then sign it with the My Number Card's signature certificate (6–16 character password): it replaces a name and seal, and no stamp duty applies."
        ),
        facts = pages::table(&[
            (l.pick("契約書", "Contract"), TITLE),
            (l.pick("お客さま", "Customer"), &a.name),
            (l.pick("口座番号", "Account number"), &a.number),
            (l.pick("契約日", "Date"), &date),
        ]),
        preview = l.pick("契約書（PDF）を確認する", "Review the contract (PDF)"),
        sha = sha256_hex(&pdf),
        sign = l.pick("マイナンバーカードで署名する", "Sign with the My Number Card"),
        how_h = l.pick("署名のしくみ", "How the signature works"),
        how = l.pick(
            "カードが署名するのは、契約書のハッシュ値（SHA-256）を含む署名属性のハッシュ値だけです。契約書そのものは認証アプリにも送られません。署名後、CMS 形式の署名ファイル（.p7s）と、プラットフォーム事業者の検証記録（証跡）をダウンロードできます。",
            "The card signs only the hash of the signature's attributes, which hold the contract's SHA-256; the contract itself is not sent even to the authentication app. Afterwards you can download the CMS signature (.p7s) and the platform operator's verification evidence."
        ),
    );
    Ok(pages::page(lang, "/me/contract", l.pick("契約書への電子署名", "Sign a contract"), true, &body))
}

fn download(bytes: Vec<u8>, content_type: &str, disposition: &str) -> Response {
    let mut response = bytes.into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(content_type).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    if let Ok(v) = HeaderValue::from_str(disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

async fn draft(State(bank): State<Arc<Bank>>, headers: HeaderMap) -> Result<Response, BankError> {
    let a = require(&bank, &headers).await?;
    let pdf = contract_pdf(&a, &jst_date(bank.now()));
    Ok(download(pdf, "application/pdf", "inline; filename=\"contract-draft.pdf\""))
}

#[derive(Deserialize)]
struct SignForm {
    sha256: String,
}

async fn start(
    State(bank): State<Arc<Bank>>,
    headers: HeaderMap,
    Form(form): Form<SignForm>,
) -> Result<Response, BankError> {
    same_origin(&bank, &headers)?;
    let a = require(&bank, &headers).await?;
    let now = bank.now();
    let pdf = contract_pdf(&a, &jst_date(now));
    if !form.sha256.eq_ignore_ascii_case(&sha256_hex(&pdf)) {
        return Err(BankError::refused(
            "契約書の内容が変わりました（日付が変わった等）。もう一度内容をご確認ください。",
            "The contract has changed since you reviewed it (a new day, for example). Please review it again.",
        ));
    }
    let signing_time =
        time::OffsetDateTime::from_unix_timestamp(now).map_err(|e| BankError::Internal(e.to_string()))?;
    let attributes = cms::signed_attributes(&pdf, DigestAlgorithm::Sha256, Some(signing_time))
        .map_err(|e| BankError::Internal(format!("signed attributes: {e}")))?;
    let contract = Contract {
        id: random_id(),
        account_id: a.id.clone(),
        title: TITLE.to_owned(),
        pdf,
        cms: None,
        evidence_id: None,
        created_at: now,
        signed_at: None,
    };
    bank.store.add_contract(&contract).await?;
    let data = json!({"account": a.id, "contract": contract.id, "signing_time": now});
    crate::flow::start(&bank, &headers, "contract", &[], Some(DigestAlgorithm::Sha256.digest(&attributes)), data).await
}

/// The customer of a step's flow: the one logged in now must be the one who started it.
pub(crate) async fn flow_customer(bank: &Bank, done: &Done) -> Result<Account, BankError> {
    let a = require(bank, &done.headers).await?;
    if done.flow.data["account"].as_str() != Some(a.id.as_str()) {
        return Err(BankError::Forbidden(Text::new(
            "この手続きは別のお客さまのログイン中に始められました。もう一度最初からお試しください。",
            "This request was started while another customer was logged in. Please start again.",
        )));
    }
    Ok(a)
}

/// The card that signed must be the account holder's (the platform's user id for the bank).
pub(crate) fn same_person(a: &Account, outcome: &hanko_sp::Outcome, sub: &str) -> Result<(), BankError> {
    // Both must match, and a missing value matches nothing: the platform's user id of the
    // signer (it follows the card's renewals) and the provider's pairwise subject.
    let user_matches =
        outcome.user_id.as_deref().is_some_and(|u| !a.platform_user_id.is_empty() && u == a.platform_user_id);
    let sub_matches = a.sub.as_deref().is_some_and(|s| s == sub);
    if user_matches && sub_matches {
        Ok(())
    } else {
        Err(BankError::refused(
            "このマイナンバーカードは口座名義人のものではありません。ご本人のカードで署名してください。",
            "This My Number Card is not the account holder's. Please sign with your own card.",
        ))
    }
}

/// The `contract` step: assemble, verify and keep the CMS signature.
pub(crate) async fn signed(bank: &Arc<Bank>, done: Done) -> Result<Response, BankError> {
    let a = flow_customer(bank, &done).await?;
    let id = done.flow.data["contract"].as_str().unwrap_or_default().to_owned();
    let contract = bank
        .store
        .contract(&id)
        .await?
        .filter(|c| c.account_id == a.id && c.cms.is_none())
        .ok_or_else(|| BankError::Internal(format!("contract {id} of the flow is gone or signed")))?;
    let signing_time = done.flow.data["signing_time"]
        .as_i64()
        .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok())
        .ok_or_else(|| BankError::Internal("the contract flow has no signing time".into()))?;
    let (result, outcome) = done.signed(bank).await?;
    same_person(&a, &outcome, &done.finished.sub)?;
    let p7s = cms::assemble(
        &result.certificate,
        &contract.pdf,
        Encapsulation::Detached,
        DigestAlgorithm::Sha256,
        Some(signing_time),
        &result.signature,
        &[],
    )
    .map_err(|e| match e {
        CmsError::SignerFault => BankError::refused(
            "電子署名が契約書と一致しませんでした。もう一度最初からお試しください。",
            "The electronic signature does not match the contract. Please start again.",
        ),
        e => BankError::Upstream(format!("assembling the CMS signature: {e}")),
    })?;
    let verified = bank.platform.verify_cms(&p7s, Some(&contract.pdf)).await?;
    if !verified.valid {
        return Err(crate::flow::refusal(&verified));
    }
    if !bank.store.sign_contract(&contract.id, &p7s, &verified.evidence_id, bank.now()).await? {
        return Err(BankError::Internal(format!("contract {} was signed twice", contract.id)));
    }
    tracing::info!(contract = %contract.id, evidence = %verified.evidence_id, "contract signed");
    Ok(Redirect::to(&format!("/me/contracts/{}", contract.id)).into_response())
}

fn not_found() -> BankError {
    BankError::NotFound(Text::new("その契約書はありません。", "There is no such contract."))
}

/// The customer's own signed contract `id` (another's is as unknown as a missing one).
async fn own(bank: &Bank, headers: &HeaderMap, id: &str) -> Result<(Account, Contract, Vec<u8>, String), BankError> {
    let a = require(bank, headers).await?;
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(not_found());
    }
    let c = bank.store.contract(id).await?.filter(|c| c.account_id == a.id).ok_or_else(not_found)?;
    let (Some(p7s), Some(evidence)) = (c.cms.clone(), c.evidence_id.clone()) else { return Err(not_found()) };
    Ok((a, c, p7s, evidence))
}

async fn contract_file(
    State(bank): State<Arc<Bank>>,
    lang: PageLang,
    headers: HeaderMap,
    Path(file): Path<String>,
) -> Result<Response, BankError> {
    let (id, ext) = file.split_once('.').unwrap_or((&file, ""));
    let (_, c, p7s, evidence) = own(&bank, &headers, id).await?;
    match ext {
        "pdf" => Ok(download(c.pdf, "application/pdf", &format!("attachment; filename=\"contract-{id}.pdf\""))),
        "p7s" => {
            Ok(download(p7s, "application/pkcs7-signature", &format!("attachment; filename=\"contract-{id}.p7s\"")))
        }
        "" => {
            let l = lang.lang;
            let body = format!(
                "<p class=\"ok\" role=\"status\" id=\"contract-signed\">{done}</p><div class=\"card\">{facts}\
                 <ul><li><a id=\"download-pdf\" href=\"/me/contracts/{id}.pdf\">{pdf}</a></li>\
                 <li><a id=\"download-p7s\" href=\"/me/contracts/{id}.p7s\">{p7s_t}</a></li>\
                 <li><a id=\"download-evidence\" href=\"/me/contracts/{id}/evidence.json\">{ev}</a></li></ul></div>\
                 <div class=\"card\"><h2>{check_h}</h2><pre>sha256sum contract-{id}.pdf\n\
                 openssl cms -verify -binary -inform DER -in contract-{id}.p7s -content contract-{id}.pdf -noverify -out /dev/null</pre>\
                 <p>{check}</p></div>",
                done = l.pick("契約書に電子署名しました。署名はプラットフォーム事業者が検証済みです。", "The contract is signed. The platform operator verified the signature."),
                facts = pages::table(&[
                    (l.pick("契約書", "Contract"), &c.title),
                    (l.pick("署名日時", "Signed at"), &c.signed_at.map(pages::time_text).unwrap_or_default()),
                    (l.pick("契約書の SHA-256", "The contract's SHA-256"), &sha256_hex(&c.pdf)),
                    (l.pick("証跡 ID", "Evidence id"), &evidence),
                ]),
                pdf = l.pick("契約書（PDF）", "The contract (PDF)"),
                p7s_t = l.pick("電子署名（CMS、.p7s）", "The signature (CMS, .p7s)"),
                ev = l.pick("証跡一式（JSON：検証記録、改ざん検知の証明、署名）", "The evidence bundle (JSON: verification record, tamper-evidence proof, signature)"),
                check_h = l.pick("確かめ方", "How to check"),
                check = l.pick(
                    "PDF の SHA-256 が上の値と一致し、openssl が署名を受け入れることを確認します。署名者の証明書の有効性（失効していないこと）は、証跡一式のプラットフォーム事業者の検証記録が示します。",
                    "Check that the PDF's SHA-256 is the value above and that openssl accepts the signature. The signer certificate's validity (not revoked) is in the platform operator's verification record in the evidence bundle."
                ),
            );
            Ok(pages::page(lang, "/me", l.pick("署名済みの契約書", "Signed contract"), true, &body))
        }
        _ => Err(not_found()),
    }
}

async fn evidence_bundle(
    State(bank): State<Arc<Bank>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, BankError> {
    let (_, c, p7s, evidence_id) = own(&bank, &headers, &id).await?;
    let record = bank.platform.evidence(&evidence_id).await?;
    let proof = bank.platform.evidence_proof(&evidence_id).await?;
    let sha = DigestAlgorithm::Sha256.digest(&c.pdf);
    let bundle: Value = json!({
        "format": "hanko-bank-contract-evidence/1",
        "contract_id": c.id,
        "title": c.title,
        "signed_at": c.signed_at.map(pages::time_text),
        "document": {"file": format!("contract-{id}.pdf"), "media_type": "application/pdf",
                     "sha256": hex::encode(&sha), "sha256_base64": B64.encode(&sha)},
        "signature": {"file": format!("contract-{id}.p7s"),
                      "format": "CMS SignedData (RFC 5652), detached, signed attributes contentType id-data, messageDigest SHA-256, signingTime",
                      "cms": B64.encode(&p7s)},
        "evidence_id": evidence_id,
        "evidence": record,
        "evidence_proof": proof,
        "how_to_check": [
            format!("sha256sum contract-{id}.pdf  # equals document.sha256"),
            format!("openssl cms -verify -binary -inform DER -in contract-{id}.p7s -content contract-{id}.pdf -noverify -out /dev/null  # the signature covers the PDF"),
            "evidence: the platform operator's record of verifying this CMS (result OK, the certificate's revocation status at signing, the time)".to_owned(),
            "evidence_proof: the record's inclusion in the platform's signed, RFC 3161 time-stamped evidence log (hanko docs/platform-evidence.md: openssl ts -verify on the checkpoint's token)".to_owned(),
        ],
    });
    let text = serde_json::to_vec_pretty(&bundle).map_err(|e| BankError::Internal(e.to_string()))?;
    Ok(download(text, "application/json", &format!("attachment; filename=\"contract-{id}-evidence.json\"")))
}

pub(crate) fn routes() -> Router<Arc<Bank>> {
    Router::new()
        .route("/me/contract", get(page).post(start))
        .route("/me/contract/draft.pdf", get(draft))
        .route("/me/contracts/{file}", get(contract_file))
        .route("/me/contracts/{id}/evidence.json", get(evidence_bundle))
}

/// A one-page PDF with text only: Helvetica (a standard font, WinAnsi, ASCII here) for Latin
/// lines and, for Japanese lines, the non-embedded Adobe-Japan1 font `HeiseiKakuGo-W5` with the
/// `UniJIS-UTF16-H` CMap (PDF 1.7 §9.7.5.2 predefined CMaps; readers substitute their Japanese
/// font). Deterministic: the same lines give the same bytes.
mod pdf {
    use std::fmt::Write as _;

    enum Font {
        Latin,
        LatinBold,
        Japanese,
    }

    /// One line of text.
    pub(super) struct Line {
        font: Font,
        size: f32,
        text: String,
    }

    impl Line {
        pub(super) fn latin(size: f32, text: &str) -> Line {
            Line { font: Font::Latin, size, text: text.to_owned() }
        }
        pub(super) fn latin_bold(size: f32, text: &str) -> Line {
            Line { font: Font::LatinBold, size, text: text.to_owned() }
        }
        pub(super) fn japanese(size: f32, text: &str) -> Line {
            Line { font: Font::Japanese, size, text: text.to_owned() }
        }
        pub(super) fn gap() -> Line {
            Line { font: Font::Latin, size: 8.0, text: String::new() }
        }
    }

    /// A literal string of printable ASCII (anything else becomes `?`).
    fn literal(text: &str) -> String {
        let mut out = String::from("(");
        for c in text.chars() {
            match c {
                '(' | ')' | '\\' => {
                    out.push('\\');
                    out.push(c);
                }
                ' '..='~' => out.push(c),
                _ => out.push('?'),
            }
        }
        out.push(')');
        out
    }

    /// A hex string of UTF-16BE code units (with `bom` for a text string outside a content stream).
    fn utf16_hex(text: &str, bom: bool) -> String {
        let mut out = String::from(if bom { "<FEFF" } else { "<" });
        for unit in text.encode_utf16() {
            let _ = write!(out, "{unit:04X}");
        }
        out.push('>');
        out
    }

    /// The document: A4, lines from the top, `title` in the document information.
    pub(super) fn document(title: &str, date: &str, lines: &[Line]) -> Vec<u8> {
        let mut content = String::new();
        let mut y = 790.0f32;
        for line in lines {
            y -= line.size * 1.7;
            if line.text.is_empty() {
                continue;
            }
            let (font, text) = match line.font {
                Font::Latin => ("F1", literal(&line.text)),
                Font::LatinBold => ("F2", literal(&line.text)),
                Font::Japanese => ("F3", utf16_hex(&line.text, false)),
            };
            let _ = writeln!(content, "BT /{font} {} Tf 56 {y:.1} Td {text} Tj ET", line.size);
        }
        let digits: String = date.chars().filter(char::is_ascii_digit).collect();
        let objects = [
            "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] \
             /Resources << /Font << /F1 4 0 R /F2 5 0 R /F3 6 0 R >> >> /Contents 9 0 R >>"
                .to_owned(),
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_owned(),
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>".to_owned(),
            "<< /Type /Font /Subtype /Type0 /BaseFont /HeiseiKakuGo-W5 /Encoding /UniJIS-UTF16-H /DescendantFonts [7 0 R] >>"
                .to_owned(),
            "<< /Type /Font /Subtype /CIDFontType0 /BaseFont /HeiseiKakuGo-W5 \
             /CIDSystemInfo << /Registry (Adobe) /Ordering (Japan1) /Supplement 5 >> /FontDescriptor 8 0 R /DW 1000 >>"
                .to_owned(),
            "<< /Type /FontDescriptor /FontName /HeiseiKakuGo-W5 /Flags 4 /FontBBox [-92 -250 1010 922] \
             /ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 737 /StemV 114 >>"
                .to_owned(),
            format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()),
            format!(
                "<< /Title {} /Producer (hanko-bank) /Creator (Mihon Bank, SAMPLE JPKI-TEST) /CreationDate (D:{digits}000000+09'00') >>",
                utf16_hex(title, true)
            ),
        ];
        let mut out = b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n".to_vec();
        let mut offsets = Vec::with_capacity(objects.len());
        for (i, object) in objects.iter().enumerate() {
            offsets.push(out.len());
            out.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", i + 1).as_bytes());
        }
        let xref = out.len();
        let mut tail = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
        for offset in offsets {
            let _ = writeln!(tail, "{offset:010} 00000 n ");
        }
        let _ = write!(
            tail,
            "trailer\n<< /Size {} /Root 1 0 R /Info {} 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1,
            objects.len()
        );
        out.extend_from_slice(tail.as_bytes());
        out
    }

    #[cfg(test)]
    mod tests {
        #![allow(clippy::unwrap_used)]
        use super::*;

        #[test]
        fn a_pdf_whose_cross_reference_table_points_at_its_objects() {
            let pdf = document(
                "題 (x)",
                "2026-12-06",
                &[Line::latin(10.0, "a (b) \\ é"), Line::japanese(10.0, "試験　花子")],
            );
            assert!(pdf.starts_with(b"%PDF-1.7\n"));
            assert!(pdf.ends_with(b"%%EOF\n"));
            // The header's binary comment aside, everything is ASCII: offsets are byte offsets.
            let text: String = pdf.iter().map(|&b| if b.is_ascii() { b as char } else { '~' }).collect();
            let startxref: usize = text.rsplit("startxref\n").next().unwrap().lines().next().unwrap().parse().unwrap();
            assert!(text[startxref..].starts_with("xref\n0 11\n"));
            for (n, entry) in text[startxref..].lines().skip(3).take(10).enumerate() {
                assert_eq!(entry.len(), 19, "{entry:?} (20 bytes with the newline)");
                let offset: usize = entry[..10].parse().unwrap();
                assert!(text[offset..].starts_with(&format!("{} 0 obj\n", n + 1)), "object {}", n + 1);
            }
            let length: usize = text.split("/Length ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
            let stream = text.split_once(">>\nstream\n").unwrap().1;
            assert_eq!(&stream[length..length + 10], "\nendstream");
            assert!(text.contains("(a \\(b\\) \\\\ ?) Tj"), "{text}");
            assert!(text.contains("<8A669A13300082B15B50> Tj"), "{text}");
            assert_eq!(
                pdf,
                document(
                    "題 (x)",
                    "2026-12-06",
                    &[Line::latin(10.0, "a (b) \\ é"), Line::japanese(10.0, "試験　花子")]
                )
            );
        }
    }
}
