//! Signing a contract PDF with the card (case 8): the CMS signature the bank assembles around
//! the card's signature is accepted by openssl with the PDF, the evidence bundle names the
//! platform's evidence, and only the owner downloads.

use std::process::Command;

use hanko_pki::DigestAlgorithm;
use serde_json::Value;

use crate::common::*;

/// `openssl cms -verify` of a detached `.p7s` over `content` (the signer not chained: -noverify).
fn openssl_accepts(dir: &std::path::Path, p7s: &[u8], content: &[u8]) -> bool {
    std::fs::write(dir.join("x.p7s"), p7s).unwrap();
    std::fs::write(dir.join("x.pdf"), content).unwrap();
    let out = Command::new("openssl")
        .args(["cms", "-verify", "-binary", "-inform", "DER", "-in", "x.p7s", "-content", "x.pdf", "-noverify", "-out"])
        .arg(dir.join("out.bin"))
        .current_dir(dir)
        .output()
        .expect("openssl");
    let accepted = out.status.success();
    if accepted {
        assert_eq!(std::fs::read(dir.join("out.bin")).unwrap(), content);
    }
    accepted
}

/// 試験　花子 opens an account, reviews the contract (the preview is the PDF that gets signed),
/// signs it with the card, and downloads the PDF, the `.p7s` and the evidence bundle; openssl
/// accepts the signature over the PDF and refuses it over a changed PDF; the bundle names the
/// evidence id the page shows, with the platform's record (OK) and its inclusion proof.
/// 見本　太郎, another customer, gets 404 for each of her files; a logged-out browser is sent to
/// log in. A contract changed since it was reviewed is refused; a cancelled signature signs
/// nothing.
async fn sign_a_contract(backend: Backend) {
    let up = Up::start(backend);
    let browser = Browser::new();
    let card = up.card_of("試験");
    let number = open_account(&up, &browser, &card).await;

    let page = browser.get(&format!("{}/me/contract", up.bank)).await;
    assert_eq!(page.status, 200, "{page:?}");
    assert!(page.body.contains("電子契約書") && page.body.contains(&number), "{}", page.body);
    let sha = element(&page.body, "contract-sha256").unwrap();
    let (status, kind, draft) = browser.bytes(&format!("{}/me/contract/draft.pdf", up.bank)).await;
    assert_eq!((status, kind.as_str()), (200, "application/pdf"));
    assert!(draft.starts_with(b"%PDF-") && draft.ends_with(b"%%EOF\n"));
    assert_eq!(hex::encode(DigestAlgorithm::Sha256.digest(&draft)), sha);

    // A contract other than the one reviewed is refused.
    let stale = browser.post(&format!("{}/me/contract", up.bank), &[("sha256", &"0".repeat(64))]).await;
    assert_eq!(stale.status, 422, "{stale:?}");
    assert!(stale.body.contains("契約書の内容が変わりました"), "{}", stale.body);

    // Cancelled at the app: nothing signed.
    let start = browser.post(&format!("{}/me/contract", up.bank), &[("sha256", &sha)]).await;
    assert_eq!(start.status, 303, "{start:?}");
    let cancelled = browser.through_app(&up, start, None).await;
    assert!(cancelled.body.contains("キャンセルしました"), "{}", cancelled.body);
    let me = browser.get(&format!("{}/me", up.bank)).await;
    assert!(!me.body.contains("id=\"contracts\""), "{}", me.body);

    let start = browser.post(&format!("{}/me/contract", up.bank), &[("sha256", &sha)]).await;
    assert_eq!(start.status, 303, "{start:?}");
    let signed = browser.through_app(&up, start, Some(&card)).await;
    assert_eq!(signed.status, 200, "{signed:?}");
    assert!(element(&signed.body, "contract-signed").is_some(), "{}", signed.body);
    let id = signed.url.rsplit('/').next().unwrap().to_owned();
    assert!(id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()), "{}", signed.url);

    let base = format!("{}/me/contracts/{id}", up.bank);
    let (status, kind, pdf) = browser.bytes(&format!("{base}.pdf")).await;
    assert_eq!((status, kind.as_str()), (200, "application/pdf"));
    assert_eq!(pdf, draft, "the signed PDF is the one reviewed");
    let (status, kind, p7s) = browser.bytes(&format!("{base}.p7s")).await;
    assert_eq!((status, kind.as_str()), (200, "application/pkcs7-signature"));

    let dir = up.dir.with_extension("contract");
    std::fs::create_dir_all(&dir).unwrap();
    assert!(openssl_accepts(&dir, &p7s, &pdf), "openssl refused the contract's signature");
    let mut changed = pdf.clone();
    let at = changed.windows(6).position(|w| w == b"Art. 1").unwrap();
    changed[at + 5] = b'9';
    assert!(!openssl_accepts(&dir, &p7s, &changed), "openssl accepted a changed PDF");

    let (status, kind, bundle) = browser.bytes(&format!("{base}/evidence.json")).await;
    assert_eq!((status, kind.as_str()), (200, "application/json"));
    let bundle: Value = serde_json::from_slice(&bundle).unwrap();
    let evidence_id = bundle["evidence_id"].as_str().unwrap();
    assert!(evidence_id.starts_with("ev-"), "{bundle}");
    assert!(signed.body.contains(evidence_id), "the page shows the evidence id");
    assert_eq!(bundle["evidence"]["id"], evidence_id, "{bundle}");
    assert_eq!(bundle["evidence"]["result"], "OK", "{bundle}");
    assert!(bundle["evidence_proof"]["checkpoint"].is_object(), "{bundle}");
    assert_eq!(bundle["document"]["sha256"], sha);
    assert_eq!(
        bundle["signature"]["cms"].as_str().unwrap(),
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &p7s)
    );
    assert!(bundle["how_to_check"].to_string().contains("openssl cms -verify"));
    let me = browser.get(&format!("{}/me", up.bank)).await;
    assert!(element(&me.body, "contracts").unwrap().contains(&format!("/me/contracts/{id}")), "{}", me.body);

    // Another customer cannot download any of it; a logged-out browser must log in.
    let other = Browser::new();
    open_account(&up, &other, &up.card_of("見本　太郎")).await;
    for url in [base.clone(), format!("{base}.pdf"), format!("{base}.p7s"), format!("{base}/evidence.json")] {
        let (status, _, body) = other.bytes(&url).await;
        assert_eq!(status, 404, "{url}: {}", String::from_utf8_lossy(&body));
        let (status, _, _) = Browser::new().bytes(&url).await;
        assert_eq!(status, 303, "{url} without a login");
    }
}
on_both!(sign_a_contract, sign_a_contract);
