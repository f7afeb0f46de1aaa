//! The other signature formats: CMS (detached, attached), a signed PDF (every signature, an
//! update after signing), the authentication app's sign result (a JWE to the platform's key,
//! made by jwcrypto — a real JOSE library — and by hanko's own encrypter), and garbage or
//! oversized input for each (a clear 4xx, never a 500).

use std::path::Path;
use std::process::Command;
use std::sync::Mutex;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hanko_card::{Client, Slot};
use hanko_cardlink::CardFile;
use hanko_pki::cms::{self, Encapsulation};
use hanko_pki::der::Decode;
use hanko_pki::jwe::{self, ContentAlgorithm, JweDecryptionKey, JweEncryptionKey, KeyAlgorithm};
use hanko_pki::spki::SubjectPublicKeyInfoOwned;
use hanko_pki::x509_cert::Certificate;
use hanko_pki::{DigestAlgorithm, DigestInfo, SignatureAlgorithm, Signer, SignerError};
use rand_core::OsRng;
use serde_json::{json, Map, Value};

use crate::common::{sha256_b64, Backend, Eco};
use crate::on_both;

const CONTRACT: &[u8] = "保険契約申込書 (synthetic test contract)".as_bytes();

/// The card's signature key as a [`Signer`]: every signature goes through the card's APDUs.
struct CardSigner {
    client: Mutex<Client<CardFile>>,
    spki: SubjectPublicKeyInfoOwned,
    certificate: Vec<u8>,
}

impl CardSigner {
    fn new(eco: &Eco, card: &str) -> CardSigner {
        let mut client = eco.card(card);
        let certificate = client.read_signature_certificate(b"HANKO2026").unwrap();
        let spki = Certificate::from_der(&certificate).unwrap().tbs_certificate.subject_public_key_info;
        CardSigner { client: Mutex::new(client), spki, certificate }
    }
}

impl Signer for CardSigner {
    fn public_key(&self) -> &SubjectPublicKeyInfoOwned {
        &self.spki
    }
    fn sign(&self, algorithm: SignatureAlgorithm, message: &[u8]) -> Result<Vec<u8>, SignerError> {
        self.sign_digest(algorithm, &algorithm.digest().digest(message))
    }
    fn sign_digest(&self, algorithm: SignatureAlgorithm, digest: &[u8]) -> Result<Vec<u8>, SignerError> {
        let info = DigestInfo::new(algorithm.digest(), digest).unwrap().to_der().unwrap();
        Ok(self.client.lock().unwrap().sign(Slot::Signature, b"HANKO2026", &info).unwrap())
    }
}

/// A detached CMS of `content` signed by `card` (for other modules' tests).
pub fn cms_detached_by_card(eco: &Eco, card: &str, content: &[u8]) -> Vec<u8> {
    cms_by_card(&CardSigner::new(eco, card), content, Encapsulation::Detached)
}

fn cms_by_card(signer: &CardSigner, content: &[u8], mode: Encapsulation) -> Vec<u8> {
    cms::sign(signer, &signer.certificate, content, mode, DigestAlgorithm::Sha256, None, &[]).unwrap()
}

on_both!(cms_detached_and_attached, cms_detached_and_attached_body);
async fn cms_detached_and_attached_body(b: Backend) {
    let eco = Eco::start(b).await;
    let sp = eco.tenant("SPINS", json!({"facts": ["name"]})).await;
    let (_, card) = eco.person_with_card("見本　花子", "1990-05-17").await;
    let signer = CardSigner::new(&eco, &card);

    let detached = cms_by_card(&signer, CONTRACT, Encapsulation::Detached);
    let body = json!({"cms": B64.encode(&detached), "data": B64.encode(CONTRACT)});
    let (status, out) = eco.p.post("/v1/verifications/cms", &sp.key, body).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["result"], "OK", "{out}");
    assert_eq!(out["certificate_type"], "JPKI_CARD_DIGITAL_SIGNATURE");
    assert_eq!(out["facts"]["name"], "見本　花子");
    let user = out["user_id"].as_str().unwrap().to_owned();
    let (status, ev) = eco.p.get(&format!("/v1/evidence/{}", out["evidence_id"].as_str().unwrap()), &sp.key).await;
    assert_eq!(status, 200, "{ev}");
    assert_eq!(ev["kind"], "cms");
    assert_eq!(ev["record"]["inputs"]["encapsulation"], "detached");
    assert_eq!(ev["record"]["inputs"]["digest"], sha256_b64(CONTRACT));
    // The CMS is kept for the auditor; a sensitive-data SP does not get it back (it carries the
    // signer's certificate).
    assert!(ev["record"]["inputs"].get("cms").is_none(), "{ev}");
    let kept = eco.platform.export_evidence(out["evidence_id"].as_str().unwrap()).await.unwrap();
    assert_eq!(kept["record"]["inputs"]["cms"], B64.encode(&detached));

    let attached = cms_by_card(&signer, CONTRACT, Encapsulation::Attached);
    let (status, out) = eco.p.post("/v1/verifications/cms", &sp.key, json!({"cms": B64.encode(&attached)})).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["result"], "OK", "{out}");
    assert_eq!(out["user_id"], user.as_str(), "the same person, the same user id");

    // The detached CMS over other bytes: a mismatch, kept as evidence.
    let body = json!({"cms": B64.encode(&detached), "data": B64.encode(b"another contract")});
    let (status, out) = eco.p.post("/v1/verifications/cms", &sp.key, body).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["result"], "SIGNATURE_MISMATCH", "{out}");
    assert_eq!(out["reason"]["code"], "cms_invalid");
    assert!(out.get("user_id").is_none());

    // Garbage and misuse: 400 problems; an oversized body: 413.
    for body in [
        json!({"cms": "%%%"}),
        json!({"cms": B64.encode(b"not DER at all")}),
        json!({"cms": B64.encode(&detached)}),
        json!({"cms": B64.encode(&attached), "data": B64.encode(CONTRACT)}),
        json!({"cms": B64.encode(&attached), "extra": true}),
        json!({}),
    ] {
        let (status, out) = eco.p.post("/v1/verifications/cms", &sp.key, body.clone()).await;
        assert_eq!(status, 400, "{body} → {out}");
        assert_eq!(out["status"], 400, "{out}");
    }
}

on_both!(cms_and_pdf_for_an_ocsp_tenant_ask_about_the_signer, cms_and_pdf_for_an_ocsp_tenant_body);
async fn cms_and_pdf_for_an_ocsp_tenant_body(b: Backend) {
    let eco = Eco::start(b).await;
    let sp = eco.tenant("SPOCSP", json!({"check_method": "ocsp", "sensitive": false})).await;
    let (_, card) = eco.person_with_card("見本　花子", "1990-05-17").await;
    let signer = CardSigner::new(&eco, &card);
    // The CMS also carries the CA certificate: OCSP must ask about the signer's, whatever the order.
    let generation = std::fs::read_dir(eco.authority_dir.join("ca/signature")).unwrap().next().unwrap().unwrap();
    let ca = std::fs::read(generation.path().join("ca.der")).unwrap();
    let der = cms::sign(
        &signer,
        &signer.certificate,
        CONTRACT,
        Encapsulation::Detached,
        DigestAlgorithm::Sha256,
        None,
        &[ca.as_slice()],
    )
    .unwrap();
    let message = cms::SignedMessage::from_der(&der).unwrap();
    assert_eq!(message.certificates().count(), 2);
    assert_eq!(message.certificates().next(), Some(ca.as_slice()), "DER SET OF order puts the CA first");
    let body = json!({"cms": B64.encode(&der), "data": B64.encode(CONTRACT)});
    let (status, out) = eco.p.post("/v1/verifications/cms", &sp.key, body).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!((out["result"].as_str(), out["check_method"].as_str()), (Some("OK"), Some("ocsp")), "{out}");
    let (_, ev) = eco.p.get(&format!("/v1/evidence/{}", out["evidence_id"].as_str().unwrap()), &sp.key).await;
    assert!(ev["record"]["ocsp_response"].is_string(), "the OCSP response is kept: {ev}");

    let pdf = pdf_signed_by(&signer, BLANK_PDF.as_bytes());
    let (status, out) = eco.p.post("/v1/verifications/pdf", &sp.key, json!({"pdf": B64.encode(&pdf)})).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["signatures"][0]["outcome"]["result"], "OK", "{out}");
    assert_eq!(out["signatures"][0]["outcome"]["check_method"], "ocsp", "{out}");
}

/// A one-page PDF (as scripts/pades-fixture.py `blank` writes it) with a signature dictionary
/// appended as an incremental update, its CMS made by the card over the byte range.
fn pdf_signed_by(signer: &CardSigner, base: &[u8]) -> Vec<u8> {
    const HOLE: usize = 16384;
    let placeholder = format!("[0 {:<10} {:<10} {:<10}]", 0, 0, 0);
    let head = format!(
        "{}\n9 0 obj\n<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached \
         /M (D:20260401090000+09'00') /ByteRange {placeholder} /Contents ",
        String::from_utf8_lossy(base).trim_end()
    );
    let tail = " >>\nendobj\n%%EOF\n";
    let (b, c) = (head.len(), head.len() + HOLE + 2);
    let range = format!("[0 {b:<10} {c:<10} {:<10}]", tail.len());
    let mut pdf = head.replacen(&placeholder, &range, 1).into_bytes();
    pdf.push(b'<');
    pdf.extend(std::iter::repeat_n(b'0', HOLE));
    pdf.push(b'>');
    pdf.extend_from_slice(tail.as_bytes());
    let mut signed = pdf[..b].to_vec();
    signed.extend_from_slice(&pdf[c..]);
    let hex = hex::encode(cms_by_card(signer, &signed, Encapsulation::Detached));
    pdf[b + 1..b + 1 + hex.len()].copy_from_slice(hex.as_bytes());
    pdf
}

const BLANK_PDF: &str = "%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages \
    /Kids [] /Count 0 >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n";

on_both!(pdf_every_signature_and_an_update_after_signing, pdf_every_signature_and_an_update_after_signing_body);
async fn pdf_every_signature_and_an_update_after_signing_body(b: Backend) {
    let eco = Eco::start(b).await;
    let sp = eco.tenant("SPLEASE", json!({})).await;
    let (_, card_a) = eco.person_with_card("見本　花子", "1990-05-17").await;
    let (_, card_b) = eco.person_with_card("見本　太郎", "1985-04-01").await;
    let one = pdf_signed_by(&CardSigner::new(&eco, &card_a), BLANK_PDF.as_bytes());
    let two = pdf_signed_by(&CardSigner::new(&eco, &card_b), &one);

    let (status, out) = eco.p.post("/v1/verifications/pdf", &sp.key, json!({"pdf": B64.encode(&two)})).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["signatures"].as_array().unwrap().len(), 2, "{out}");
    assert_eq!(out["all_valid"], true, "{out}");
    assert_eq!(out["modified_after_last_signature"], false);
    let (first, second) = (&out["signatures"][0], &out["signatures"][1]);
    assert_eq!(first["outcome"]["result"], "OK", "{out}");
    assert_eq!(second["outcome"]["result"], "OK", "{out}");
    assert_ne!(first["outcome"]["user_id"], second["outcome"]["user_id"], "two people");
    assert_eq!(first["sub_filter"], "ETSI.CAdES.detached");
    assert_eq!(first["covers_whole_file"], false, "the second signature came after it");
    assert_eq!(first["bytes_after"], two.len() - one.len());
    assert_eq!(second["covers_whole_file"], true);
    assert_eq!(second["outcome"]["claimed_signing_time"], "D:20260401090000+09'00'");
    let (_, ev) =
        eco.p.get(&format!("/v1/evidence/{}", second["outcome"]["evidence_id"].as_str().unwrap()), &sp.key).await;
    assert_eq!(ev["kind"], "pdf");
    assert_eq!(ev["record"]["inputs"]["document_sha256"], sha256_b64(&two));

    // Bytes appended after the last signature: reported, the signatures themselves still valid.
    let mut updated = two.clone();
    updated.extend_from_slice(b"10 0 obj\n<< /Title (changed after signing) >>\nendobj\n%%EOF\n");
    let (status, out) = eco.p.post("/v1/verifications/pdf", &sp.key, json!({"pdf": B64.encode(&updated)})).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["modified_after_last_signature"], true, "{out}");
    assert!(out["signatures"][1]["note"].as_str().unwrap().contains("added"), "{out}");

    // A changed byte inside the signed range: both signatures break.
    let mut tampered = two.clone();
    let at = tampered.windows(7).position(|w| w == b"Catalog").unwrap();
    tampered[at] = b'K';
    let (_, out) = eco.p.post("/v1/verifications/pdf", &sp.key, json!({"pdf": B64.encode(&tampered)})).await;
    assert_eq!(out["all_valid"], false, "{out}");
    assert_eq!(out["signatures"][0]["outcome"]["result"], "SIGNATURE_MISMATCH", "{out}");
    assert_eq!(out["signatures"][1]["outcome"]["result"], "SIGNATURE_MISMATCH", "{out}");

    // A ByteRange that does not start at 0: that signature's result, not a 500.
    let text = String::from_utf8_lossy(&one).into_owned();
    let bad = text.replacen("/ByteRange [0 ", "/ByteRange [1 ", 1);
    let (status, out) = eco.p.post("/v1/verifications/pdf", &sp.key, json!({"pdf": B64.encode(bad)})).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["signatures"][0]["outcome"]["result"], "SIGNATURE_MISMATCH", "{out}");
    assert!(out["signatures"][0]["note"].as_str().unwrap().contains("ByteRange"), "{out}");

    // Not a PDF, no signature, not base64, unknown field: 400.
    for body in [
        json!({"pdf": B64.encode(b"hello")}),
        json!({"pdf": B64.encode(BLANK_PDF)}),
        json!({"pdf": "***"}),
        json!({"pdf": B64.encode(&one), "x": 1}),
    ] {
        let (status, out) = eco.p.post("/v1/verifications/pdf", &sp.key, body.clone()).await;
        assert_eq!(status, 400, "{out}");
        assert!(out["detail"].is_string(), "{out}");
    }
}

on_both!(documents_have_their_own_body_limit, documents_have_their_own_body_limit_body);
async fn documents_have_their_own_body_limit_body(b: Backend) {
    const MIB: usize = 1024 * 1024;
    let eco = Eco::start_with(b, |c| c.max_document_body = 3 * MIB).await;
    let sp = eco.tenant("SPLEASE", json!({})).await;
    let (_, card) = eco.person_with_card("見本　花子", "1990-05-17").await;
    // A 1.5 MiB contract (over the 1 MiB limit of the other routes, under the document limit).
    let padding = format!(
        "3 0 obj\n<< /Length {n} >>\nstream\n{}\nendstream\nendobj\n",
        "x".repeat(3 * MIB / 2),
        n = 3 * MIB / 2
    );
    let base = BLANK_PDF.replacen("trailer", &format!("{padding}trailer"), 1);
    let signer = CardSigner::new(&eco, &card);
    let pdf = pdf_signed_by(&signer, base.as_bytes());
    let (status, out) = eco.p.post("/v1/verifications/pdf", &sp.key, json!({"pdf": B64.encode(&pdf)})).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["all_valid"], true, "{out}");
    let attached = cms_by_card(&signer, &pdf, Encapsulation::Attached);
    let (status, out) = eco.p.post("/v1/verifications/cms", &sp.key, json!({"cms": B64.encode(&attached)})).await;
    assert_eq!((status, out["result"].as_str()), (200, Some("OK")), "{out}");
    // One byte over the document limit: 413 problems. (Exactly one byte over, so that the server
    // has read the whole request when it refuses it: no connection reset races the answer.)
    for (path, field) in [("/v1/verifications/pdf", "pdf"), ("/v1/verifications/cms", "cms")] {
        let (status, out) = eco.p.post(path, &sp.key, one_byte_over(3 * MIB, json!({ field: "" }), field)).await;
        assert_eq!(status, 413, "{path}: {out}");
        assert_eq!(out["status"], 413, "{out}");
    }
    // The other routes keep the general limit.
    let body = one_byte_over(MIB, json!({"sign_certificate_jwe": "", "digest": "AA=="}), "sign_certificate_jwe");
    let (status, _) = eco.p.post("/v1/verifications/sign-result", &sp.key, body).await;
    assert_eq!(status, 413);
    // Far over the limit: 413, or a reset before the client finished sending (then the server
    // still answers).
    let big = json!({"pdf": "A".repeat(8 * MIB)});
    if let Some((status, out)) = eco.p.post_too_large("/v1/verifications/pdf", &sp.key, big).await {
        assert_eq!(status, 413, "{out}");
    }
}

/// `body` with `field` filled so that its JSON is `limit + 1` bytes.
fn one_byte_over(limit: usize, mut body: Value, field: &str) -> Value {
    let len = body.to_string().len();
    body[field] = json!("A".repeat(limit + 1 - len));
    assert_eq!(body.to_string().len(), limit + 1);
    body
}

/// The interop virtualenv's python (jwcrypto), as the pki interop tests use it.
fn python() -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/py-interop-venv.sh");
    let out = Command::new(script).output().unwrap();
    assert!(out.status.success(), "py-interop-venv.sh: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// jwcrypto encrypts `payload` to `jwk` with `alg`/`enc` (and the JWK's kid).
fn jwcrypto_encrypt(jwk: &Value, alg: &str, enc: &str, payload: &Value) -> String {
    let script = r#"
import json, sys
from jwcrypto import jwk, jwe
key = jwk.JWK.from_json(sys.argv[1])
token = jwe.JWE(sys.argv[4].encode(), json.dumps({"alg": sys.argv[2], "enc": sys.argv[3], "kid": key.kid}))
token.add_recipient(key)
sys.stdout.write(token.serialize(compact=True))
"#;
    let out =
        Command::new(python()).args(["-c", script, &jwk.to_string(), alg, enc, &payload.to_string()]).output().unwrap();
    assert!(out.status.success(), "jwcrypto: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

on_both!(sign_result_jwe_to_the_platform_key, sign_result_jwe_to_the_platform_key_body);
async fn sign_result_jwe_to_the_platform_key_body(b: Backend) {
    let eco = Eco::start(b).await;
    let sp = eco.tenant("SPBROKER", json!({})).await;
    let (_, card) = eco.person_with_card("見本　花子", "1990-05-17").await;
    let (cert, sig) = eco.sign(&card, CONTRACT);
    let digest = sha256_b64(CONTRACT);

    // The key the authentication app service encrypts to: public, no API key needed.
    let (status, jwks) = eco.p.get("/v1/jwks", "").await;
    assert_eq!(status, 200, "{jwks}");
    let jwk = jwks["keys"][0].clone();
    assert_eq!(
        (jwk["kty"].as_str(), jwk["use"].as_str(), jwk["alg"].as_str()),
        (Some("RSA"), Some("enc"), Some("RSA-OAEP-256"))
    );
    assert!(jwk.get("d").is_none(), "never the private part: {jwk}");
    let key_file = eco.platform_dir.join(hanko_platform::JWE_KEY_FILE);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777, 0o600);
    }

    // The payload also carries the 4 facts (as a sign result may): never stored.
    let payload = json!({"signature": sig, "certificate": cert, "name": "見本　花子"});
    let token = jwcrypto_encrypt(&jwk, "RSA-OAEP-256", "A256GCM", &payload);
    let req = json!({"sign_certificate_jwe": token, "digest": digest});
    let (status, out) = eco.p.post("/v1/verifications/sign-result", &sp.key, req).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["result"], "OK", "{out}");
    assert_eq!(out["certificate_type"], "JPKI_CARD_DIGITAL_SIGNATURE");
    let (_, ev) = eco.p.get(&format!("/v1/evidence/{}", out["evidence_id"].as_str().unwrap()), &sp.key).await;
    assert_eq!(ev["kind"], "jwe");
    assert_eq!(ev["record"]["inputs"]["jwe"]["alg"], "RSA-OAEP-256");
    assert_eq!(ev["record"]["inputs"]["signature"], sig.as_str());
    assert!(!ev.to_string().contains("見本　花子"), "the payload's facts are not kept: {ev}");

    // Over another digest: a mismatch.
    let token = jwcrypto_encrypt(&jwk, "RSA-OAEP-256", "A256GCM", &payload);
    let req = json!({"sign_certificate_jwe": token, "digest": sha256_b64(b"other")});
    let (status, out) = eco.p.post("/v1/verifications/sign-result", &sp.key, req).await;
    assert_eq!((status, out["result"].as_str()), (200, Some("SIGNATURE_MISMATCH")), "{out}");

    // hanko's own encrypter (what the identity provider will use), from the published JWK.
    let public = JweEncryptionKey::from_jwk(&jwk.to_string()).unwrap();
    let ours = jwe::encrypt(
        payload.to_string().as_bytes(),
        &public,
        KeyAlgorithm::RsaOaep256,
        ContentAlgorithm::A256Gcm,
        &Map::new(),
        &mut OsRng,
    )
    .unwrap();
    let (status, out) = eco
        .p
        .post("/v1/verifications/sign-result", &sp.key, json!({"sign_certificate_jwe": ours, "digest": digest}))
        .await;
    assert_eq!((status, out["result"].as_str()), (200, Some("OK")), "{out}");

    // A JWE for another recipient, a refused algorithm, garbage, a bad payload: clear 400s.
    let other = JweDecryptionKey::generate_rsa2048().unwrap();
    let other_jwk = other.public_key().jwk(KeyAlgorithm::RsaOaep256);
    let for_other = jwcrypto_encrypt(&other_jwk, "RSA-OAEP-256", "A256GCM", &payload);
    let (status, out) = eco
        .p
        .post("/v1/verifications/sign-result", &sp.key, json!({"sign_certificate_jwe": for_other, "digest": digest}))
        .await;
    assert_eq!(status, 400, "{out}");
    assert!(out["detail"].as_str().unwrap().contains("not addressed to this platform's key"), "{out}");
    let sha1 = jwcrypto_encrypt(&jwk, "RSA-OAEP", "A128CBC-HS256", &payload);
    let not_json = jwcrypto_encrypt(&jwk, "RSA-OAEP-256", "A256GCM", &json!("just a string"));
    for (jwe, what) in [
        (sha1.as_str(), "not accepted"),
        ("a.b.c", "compact serialization"),
        (not_json.as_str(), "payload"),
        (&"A".repeat(100_000), "more than"),
    ] {
        let req = json!({"sign_certificate_jwe": jwe, "digest": digest});
        let (status, out) = eco.p.post("/v1/verifications/sign-result", &sp.key, req).await;
        assert_eq!(status, 400, "{what}: {out}");
        assert!(out["detail"].as_str().unwrap().contains(what), "{what}: {out}");
    }
    let (status, _) = eco
        .p
        .post("/v1/verifications/sign-result", &sp.key, json!({"sign_certificate_jwe": ours, "digest": "AAAA"}))
        .await;
    assert_eq!(status, 400);
}

on_both!(sign_result_algorithms_are_configurable, sign_result_algorithms_are_configurable_body);
async fn sign_result_algorithms_are_configurable_body(b: Backend) {
    let eco = Eco::start_with(b, |c| {
        c.jwe_policy = hanko_pki::jwe::JwePolicy::from_names(&["RSA-OAEP"], &["A128CBC-HS256"]).unwrap();
    })
    .await;
    let sp = eco.tenant("SPBROKER", json!({})).await;
    let (_, card) = eco.person_with_card("見本　花子", "1990-05-17").await;
    let (cert, sig) = eco.sign(&card, CONTRACT);
    let (_, jwks) = eco.p.get("/v1/jwks", "").await;
    let jwk = jwks["keys"][0].clone();
    assert_eq!(jwk["alg"], "RSA-OAEP", "{jwks}");
    let payload = json!({"signature": sig, "certificate": cert});
    let ok = jwcrypto_encrypt(&jwk, "RSA-OAEP", "A128CBC-HS256", &payload);
    let req = json!({"sign_certificate_jwe": ok, "digest": sha256_b64(CONTRACT)});
    let (status, out) = eco.p.post("/v1/verifications/sign-result", &sp.key, req).await;
    assert_eq!((status, out["result"].as_str()), (200, Some("OK")), "{out}");
    let default = jwcrypto_encrypt(&jwk, "RSA-OAEP-256", "A256GCM", &payload);
    let req = json!({"sign_certificate_jwe": default, "digest": sha256_b64(CONTRACT)});
    let (status, out) = eco.p.post("/v1/verifications/sign-result", &sp.key, req).await;
    assert_eq!(status, 400, "{out}");
}

/// A sign result whose card signed the **bare** SHA-256 (the RP submitted a hash, not a
/// DigestInfo) verifies, and says so (`signed_form: hash`), next to the standard form; a tampered
/// one is a mismatch. `check_method: ocsp` overrides a CRL tenant's method: a card lost after the
/// last CRL passes the CRL but OCSP (billed as a signature check) refuses it.
async fn sign_result_over_a_bare_hash_body(b: Backend) {
    let eco = Eco::start(b).await;
    let sp = eco.tenant("SPBROKER", json!({})).await;
    let (person, card) = eco.person_with_card("見本　花子", "1990-05-17").await;
    let (_, standard) = eco.sign(&card, CONTRACT);
    let mut client = eco.card(&card);
    let certificate = B64.encode(client.read_signature_certificate(b"HANKO2026").unwrap());
    let hash = DigestAlgorithm::Sha256.digest(CONTRACT);
    let bare = client.sign(Slot::Signature, b"HANKO2026", &hash).unwrap();
    let other = client.sign(Slot::Signature, b"HANKO2026", &DigestAlgorithm::Sha256.digest(b"other")).unwrap();
    drop(client);
    let (_, jwks) = eco.p.get("/v1/jwks", "").await;
    let public = JweEncryptionKey::from_jwk(&jwks["keys"][0].to_string()).unwrap();
    let seal = |signature: &str| {
        let payload = json!({"signature": signature, "certificate": certificate});
        let (alg, enc) = (KeyAlgorithm::RsaOaep256, ContentAlgorithm::A256Gcm);
        jwe::encrypt(payload.to_string().as_bytes(), &public, alg, enc, &Map::new(), &mut OsRng).unwrap()
    };
    let verify = |signature: String, extra: Value| {
        let mut req = json!({"sign_certificate_jwe": seal(&signature), "digest": B64.encode(&hash)});
        for (k, v) in extra.as_object().unwrap() {
            req[k] = v.clone();
        }
        let eco = &eco;
        let key = sp.key.clone();
        async move {
            let (status, out) = eco.p.post("/v1/verifications/sign-result", &key, req).await;
            if status != 200 {
                return (status, out, Value::Null);
            }
            let (_, ev) = eco.p.get(&format!("/v1/evidence/{}", out["evidence_id"].as_str().unwrap()), &key).await;
            (status, out, ev)
        }
    };

    let (status, out, ev) = verify(B64.encode(&bare), json!({})).await;
    assert_eq!((status, out["result"].as_str(), out["signed_form"].as_str()), (200, Some("OK"), Some("hash")), "{out}");
    assert_eq!(out["certificate_type"], "JPKI_CARD_DIGITAL_SIGNATURE", "{out}");
    assert_eq!(ev["record"]["inputs"]["signed_form"], "hash", "{ev}");
    let (status, out, ev) = verify(standard.clone(), json!({})).await;
    let form = out["signed_form"].as_str();
    assert_eq!((status, out["result"].as_str(), form), (200, Some("OK"), Some("digest_info")), "{out}");
    assert_eq!(ev["record"]["inputs"]["signed_form"], "digest_info", "{ev}");
    // Tampered, or a bare signature over another hash: a mismatch, and no form.
    let mut tampered = bare.clone();
    tampered[100] ^= 0x40;
    let (status, out, ev) = verify(B64.encode(&tampered), json!({})).await;
    assert_eq!((status, out["result"].as_str()), (200, Some("SIGNATURE_MISMATCH")), "{out}");
    assert!(out.get("signed_form").is_none(), "{out}");
    assert_eq!(ev["record"]["inputs"]["signed_form"], Value::Null, "{ev}");
    let (status, out, _) = verify(B64.encode(&other), json!({})).await;
    assert_eq!((status, out["result"].as_str()), (200, Some("SIGNATURE_MISMATCH")), "{out}");

    // The card is lost after the last CRL: the tenant's CRL still says good, OCSP asked for says
    // held, and the OCSP check is billed.
    eco.clock.advance(hanko_pki::time::Duration::minutes(5));
    eco.event(&person, json!({"kind": "card-lost", "card_id": card})).await;
    let (_, out, ev) = verify(B64.encode(&bare), json!({"check_method": "crl"})).await;
    assert_eq!((out["result"].as_str(), out["check_method"].as_str()), (Some("OK"), Some("crl")), "{out}");
    assert_eq!(ev["record"]["inputs"]["check_method"], "crl", "{ev}");
    let (_, out, ev) = verify(B64.encode(&bare), json!({"check_method": "ocsp"})).await;
    assert_eq!((out["result"].as_str(), out["check_method"].as_str()), (Some("CERTIFICATE_REVOKED"), Some("ocsp")));
    assert_eq!(out["reason"]["revocation"]["meaning"], "lost", "{out}");
    assert_eq!(ev["record"]["inputs"]["check_method"], "ocsp", "{ev}");
    assert_eq!(ev["record"]["inputs"]["check_method_requested"], "ocsp", "{ev}");
    let (_, meter) = eco.p.get("/v1/meter?month=2026-04", &sp.key).await;
    let line = meter["lines"].as_array().unwrap().iter().find(|l| l["kind"] == "signature-check").cloned();
    assert_eq!(line.map(|l| l["count"].clone()), Some(json!(1)), "{meter}");
    let (status, out, _) = verify(B64.encode(&bare), json!({"check_method": "OCSP"})).await;
    assert_eq!((status, &out["status"]), (400, &json!(400)), "{out}");
    assert!(out["detail"].as_str().unwrap().contains("check_method"), "{out}");
}
on_both!(sign_result_over_a_bare_hash, sign_result_over_a_bare_hash_body);
