//! Publication: the daily CRL and the OCSP responder, through real clients (openssl ocsp,
//! openssl crl, reqwest) and hanko's own verifier (CrlSet, verify_response).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use base64::Engine;
use hanko_pki::ocsp::{build_request, error_response, verify_response, CertIdHash, CertIdentity, OcspResponseStatus};
use hanko_pki::time::{Duration as Span, OffsetDateTime};
use hanko_pki::verify::CrlSet;
use hanko_pki::x509_cert::Certificate;
use hanko_pki::{CaKind, CrlReason, RevocationStatus, Serial};
use serde_json::{json, Value};

use crate::common::{Backend, TestAuthority};
use crate::on_both;

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap()).collect();
    format!("-----BEGIN {label}-----\n{}\n-----END {label}-----\n", lines.join("\n"))
}

/// The PEM files of the current generation of `kind`: (CA, OCSP responder), and the CA.
fn write_pems(t: &TestAuthority, kind: CaKind) -> (PathBuf, PathBuf, Certificate) {
    let cas = t.authority.cas().unwrap();
    let g = cas.current(kind, now(t)).unwrap();
    let ca = t.dir.join(format!("{}-ca.pem", kind.as_str()));
    let responder = t.dir.join(format!("{}-ocsp.pem", kind.as_str()));
    std::fs::write(&ca, pem("CERTIFICATE", g.ca.certificate_der())).unwrap();
    std::fs::write(&responder, pem("CERTIFICATE", &g.responder_der)).unwrap();
    (ca, responder, g.ca.certificate().clone())
}

fn now(t: &TestAuthority) -> OffsetDateTime {
    t.authority.clock().now()
}

/// Runs `openssl ocsp` against the authority, requiring that openssl verified the answer: exit
/// status 0 and "Response verify OK" (openssl prints `: good` / `: revoked` even after
/// "Response Verify Failure"). Returns stdout + stderr.
fn openssl_ocsp(
    t: &TestAuthority,
    ca: &Path,
    responder: &Path,
    serial: &str,
    key: Option<&str>,
    extra: &[&str],
) -> String {
    let (ok, out) = openssl_ocsp_unchecked(t, ca, responder, serial, key, extra);
    assert!(ok && out.contains("Response verify OK"), "openssl did not verify the answer: {out}");
    out
}

/// Runs `openssl ocsp` against the authority; returns (exit status 0, stdout + stderr) — for
/// answers that are expected not to verify (error statuses).
fn openssl_ocsp_unchecked(
    t: &TestAuthority,
    ca: &Path,
    responder: &Path,
    serial: &str,
    key: Option<&str>,
    extra: &[&str],
) -> (bool, String) {
    let mut cmd = Command::new("openssl");
    cmd.args(["ocsp", "-issuer"]).arg(ca).args([
        "-serial",
        &format!("0x{serial}"),
        "-url",
        &format!("{}/ocsp", t.base),
    ]);
    cmd.arg("-VAfile").arg(responder).arg("-CAfile").arg(ca);
    // The test clock is not the machine's: accept any thisUpdate/nextUpdate.
    cmd.args(["-validity_period", "1000000000"]);
    if let Some(k) = key {
        cmd.args(["-header", &format!("Authorization=Bearer {k}")]);
    }
    cmd.args(extra);
    let out = cmd.output().unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// Registers a person and issues a card; returns (person, signature serial, auth serial).
async fn card(t: &TestAuthority) -> (String, String, String) {
    let person = t.person("試験　花子", "1985-04-01").await;
    let card = t.card(&person).await;
    let serial = |k: &str| card[k].as_str().unwrap().to_owned();
    (person, serial("signature_serial"), serial("auth_serial"))
}

async fn revoke(t: &TestAuthority, serial: &str, reason: &str) {
    let (status, body) =
        t.counter_post(&format!("/v1/counter/certificates/{serial}/revocation"), json!({"reason": reason})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["newly_revoked"], true);
}

async fn ocsp_with_openssl_sees_a_revocation_at_once_without_lag(backend: Backend) {
    let t = TestAuthority::start_with(backend, |c| c.ocsp_lag = Duration::ZERO).await;
    let (_, key) = t.verifier("platform", "試験PF").await;
    let (_, sig, _) = card(&t).await;
    let (ca, responder, _) = write_pems(&t, CaKind::Signature);

    // Nonce-less: answered (and then served) from the pre-signed cache.
    for _ in 0..2 {
        let out = openssl_ocsp(&t, &ca, &responder, &sig, Some(&key), &["-no_nonce"]);
        assert!(out.contains("Response verify OK"), "{out}");
        assert!(out.contains(&format!("0x{sig}: good")), "{out}");
    }
    assert!(t.authority.ocsp_cached() >= 1);

    revoke(&t, &sig, "keyCompromise").await;
    let out = openssl_ocsp(&t, &ca, &responder, &sig, Some(&key), &["-no_nonce"]);
    assert!(out.contains(&format!("0x{sig}: revoked")), "ocsp_lag = 0 must show it at once: {out}");
    assert!(out.contains("Reason: keyCompromise"), "{out}");

    // With a nonce (openssl's default): signed afresh, nonce echoed and checked by openssl.
    let out = openssl_ocsp(&t, &ca, &responder, &sig, Some(&key), &[]);
    assert!(out.contains("Response verify OK") && out.contains("revoked"), "{out}");
    assert!(!out.contains("WARNING"), "the nonce must be echoed: {out}");

    // A life event (a move) revokes the signature certificate as affiliationChanged, at once;
    // the auth certificate stays good.
    let (person, sig, auth) = card(&t).await;
    let (auth_ca, auth_responder, _) = write_pems(&t, CaKind::Auth);
    let out = openssl_ocsp(&t, &ca, &responder, &sig, Some(&key), &["-no_nonce"]);
    assert!(out.contains(&format!("0x{sig}: good")), "{out}");
    let (status, body) =
        t.event(&person, json!({"kind": "facts-changed", "address": "東京都見本区新町二丁目２番２号"})).await;
    assert_eq!(status, 200, "{body}");
    let out = openssl_ocsp(&t, &ca, &responder, &sig, Some(&key), &["-no_nonce"]);
    assert!(out.contains(&format!("0x{sig}: revoked")) && out.contains("Reason: affiliationChanged"), "{out}");
    let out = openssl_ocsp(&t, &auth_ca, &auth_responder, &auth, Some(&key), &["-no_nonce"]);
    assert!(out.contains("Response verify OK") && out.contains(&format!("0x{auth}: good")), "{out}");

    // A serial never issued is unknown.
    let out = openssl_ocsp(&t, &ca, &responder, "1234567", Some(&key), &["-no_nonce"]);
    assert!(out.contains("0x1234567: unknown"), "{out}");
}
on_both!(ocsp_revocation_without_lag, ocsp_with_openssl_sees_a_revocation_at_once_without_lag);

async fn ocsp_with_the_default_lag_shows_a_revocation_after_the_feed_is_read(backend: Backend) {
    let t = TestAuthority::start(backend).await;
    let (_, key) = t.verifier("signature", "試験署名検証者").await;
    let (_, sig, _) = card(&t).await;
    let (ca, responder, _) = write_pems(&t, CaKind::Signature);
    // The feed is followed (its start clears the cache), so what is cached from now on stays.
    t.authority.refresh_ocsp().await.unwrap();
    let out = openssl_ocsp(&t, &ca, &responder, &sig, Some(&key), &["-no_nonce"]);
    assert!(out.contains(&format!("0x{sig}: good")), "{out}");

    revoke(&t, &sig, "certificateHold").await;
    // Within the 15-minute lag the pre-signed answer may still be served.
    let out = openssl_ocsp(&t, &ca, &responder, &sig, Some(&key), &["-no_nonce"]);
    assert!(out.contains(&format!("0x{sig}: good")), "the cached answer within the lag: {out}");
    // A nonce bypasses the cache: the register says revoked.
    let out = openssl_ocsp(&t, &ca, &responder, &sig, Some(&key), &[]);
    assert!(out.contains(&format!("0x{sig}: revoked")) && out.contains("Reason: certificateHold"), "{out}");

    assert!(t.authority.refresh_ocsp().await.unwrap() >= 1);
    let out = openssl_ocsp(&t, &ca, &responder, &sig, Some(&key), &["-no_nonce"]);
    assert!(out.contains(&format!("0x{sig}: revoked")), "after the feed was read: {out}");
    assert!(out.contains("Reason: certificateHold"), "{out}");
}
on_both!(ocsp_revocation_with_lag, ocsp_with_the_default_lag_shows_a_revocation_after_the_feed_is_read);

fn percent_encode(b64: &str) -> String {
    b64.replace('+', "%2B").replace('/', "%2F").replace('=', "%3D")
}

async fn post_ocsp(t: &TestAuthority, body: Vec<u8>, key: Option<&str>) -> (u16, String, Vec<u8>) {
    let mut req = t.http.post(format!("{}/ocsp", t.base)).header("content-type", "application/ocsp-request").body(body);
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let ct = resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, ct, resp.bytes().await.unwrap().to_vec())
}

async fn ocsp_get_form_errors_and_access(backend: Backend) {
    let t = TestAuthority::start(backend).await;
    let (_, key) = t.verifier("platform", "試験PF").await;
    let (_, auth_only_key) = t.verifier("auth", "試験利用者証明検証者").await;
    let (_, sig, _) = card(&t).await;
    let (ca, responder, issuer) = write_pems(&t, CaKind::Signature);
    let serial = Serial::from_hex(&sig).unwrap();
    let id = CertIdentity::new(&issuer, &serial).unwrap();
    let malformed = error_response(OcspResponseStatus::MalformedRequest).unwrap();
    let unauthorized = error_response(OcspResponseStatus::Unauthorized).unwrap();

    // GET (RFC 6960 A.1): base64, URL-encoded, with a nonce; verified by hanko's client.
    let nonce = [7u8; 16];
    let der = build_request(std::slice::from_ref(&id), Some(&nonce)).unwrap();
    let url = format!("{}/ocsp/{}", t.base, percent_encode(&base64::engine::general_purpose::STANDARD.encode(&der)));
    let resp = t.http.get(&url).bearer_auth(&key).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["content-type"], "application/ocsp-response");
    let body = resp.bytes().await.unwrap();
    let statuses =
        verify_response(&body, &issuer, std::slice::from_ref(&id), Some(&nonce), now(&t), Span::hours(1)).unwrap();
    assert_eq!(statuses[0].status, RevocationStatus::Good);
    assert_eq!(statuses[0].next_update, Some(statuses[0].this_update + hanko_pki::ocsp::UPDATE_INTERVAL));
    // A wrong nonce is caught by the client: the responder echoed the one sent.
    assert!(
        verify_response(&body, &issuer, std::slice::from_ref(&id), Some(&[8; 16]), now(&t), Span::hours(1)).is_err()
    );

    // Unpadded URL-safe base64 works too; garbage is malformedRequest.
    let bare = build_request(std::slice::from_ref(&id), None).unwrap();
    let url = format!("{}/ocsp/{}", t.base, base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bare));
    let body = t.http.get(&url).bearer_auth(&key).send().await.unwrap().bytes().await.unwrap();
    assert!(verify_response(&body, &issuer, std::slice::from_ref(&id), None, now(&t), Span::hours(1)).is_ok());
    let body = t.http.get(format!("{}/ocsp/%21%21not-base64", t.base)).bearer_auth(&key).send().await.unwrap();
    assert_eq!(body.bytes().await.unwrap().to_vec(), malformed);

    // POST: malformed DER, an oversized body, more CertIDs than the budget.
    let (status, ct, body) = post_ocsp(&t, b"\x30\x03junk".to_vec(), Some(&key)).await;
    assert_eq!((status, ct.as_str(), body.clone()), (200, "application/ocsp-response", malformed.clone()));
    assert_eq!(post_ocsp(&t, vec![0x30; 100_000], Some(&key)).await.2, malformed);
    let reqfile = t.dir.join("many.der");
    let mut cmd = Command::new("openssl");
    cmd.args(["ocsp", "-issuer"]).arg(&ca).args(["-no_nonce", "-reqout"]).arg(&reqfile);
    for s in 1..=33 {
        cmd.args(["-serial", &s.to_string()]);
    }
    assert!(cmd.output().unwrap().status.success());
    assert_eq!(post_ocsp(&t, std::fs::read(&reqfile).unwrap(), Some(&key)).await.2, malformed);
    // No key, a bad key, a key of the other environment: unauthorized (openssl shows it).
    assert_eq!(post_ocsp(&t, bare.clone(), None).await.2, unauthorized);
    assert_eq!(post_ocsp(&t, bare.clone(), Some("hk_test_0000")).await.2, unauthorized);
    assert_eq!(post_ocsp(&t, bare.clone(), Some(&format!("hk_production_{}", "0".repeat(64)))).await.2, unauthorized);
    let (_, out) = openssl_ocsp_unchecked(&t, &ca, &responder, &sig, None, &["-no_nonce"]);
    assert!(out.contains("unauthorized") && !out.contains("Response verify OK"), "{out}");
    // The counter's key is not a verifier's.
    assert_eq!(post_ocsp(&t, bare.clone(), Some(&t.counter_key)).await.2, unauthorized);
    // A user-authentication verifier may not check signature certificates.
    assert_eq!(post_ocsp(&t, bare.clone(), Some(&auth_only_key)).await.2, unauthorized);
    // An issuer that is none of our generations.
    let stranger = hanko_pki::CaGeneration::create(
        CaKind::Signature,
        hanko_pki::Naming::sandbox(),
        hanko_pki::PolicySet::sandbox(),
        hanko_pki::SoftwareKey::generate_rsa2048().unwrap(),
        &Serial::from_u64(1),
        now(&t),
        now(&t) + Span::days(10),
    )
    .unwrap();
    let foreign = build_request(&[CertIdentity::new(stranger.certificate(), &serial).unwrap()], None).unwrap();
    assert_eq!(post_ocsp(&t, foreign, Some(&key)).await.2, unauthorized);
}
on_both!(ocsp_get_errors_and_access, ocsp_get_form_errors_and_access);

/// Strips a DER TLV's header: its content.
fn der_content(tlv: &[u8]) -> &[u8] {
    let start = if tlv[1] < 0x80 { 2 } else { 2 + usize::from(tlv[1] & 0x7f) };
    &tlv[start..]
}

/// A DER TLV.
fn der_tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = content.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let len = n.to_be_bytes();
        let len: Vec<u8> = len.iter().copied().skip_while(|b| *b == 0).collect();
        out.push(0x80 | len.len() as u8);
        out.extend(len);
    }
    out.extend_from_slice(content);
    out
}

/// Finding 2.3: answers for unknown serials are not cached, a large non-canonical request is
/// not retained, and the cache holds to its byte bound.
async fn ocsp_cache_memory_exhaustion(backend: Backend) {
    const BUDGET: usize = 16 * 1024;
    let t = TestAuthority::start_with(backend, |c| {
        c.ocsp_lag = Duration::ZERO;
        c.ocsp_cache_bytes = BUDGET;
    })
    .await;
    let (_, key) = t.verifier("platform", "試験PF").await;
    let (_, sig, auth) = card(&t).await;
    let (_, _, issuer) = write_pems(&t, CaKind::Signature);
    let (_, _, auth_issuer) = write_pems(&t, CaKind::Auth);
    // Following the feed starts with clearing the cache: let that happen first.
    t.authority.refresh_ocsp().await.unwrap();
    let ask = |id: CertIdentity, der: Vec<u8>, issuer: Certificate| {
        let t = &t;
        let key = key.clone();
        async move {
            let (_, _, body) = post_ocsp(t, der, Some(&key)).await;
            verify_response(&body, &issuer, &[id], None, now(t), Span::hours(1)).unwrap()[0].status
        }
    };

    // Serials never issued: answered unknown, nothing cached, nothing remembered.
    for n in 0..40u64 {
        let id = CertIdentity::new(&issuer, &Serial::from_u64(0x7100_0000 + n)).unwrap();
        let der = build_request(std::slice::from_ref(&id), None).unwrap();
        assert_eq!(ask(id, der, issuer.clone()).await, RevocationStatus::Unknown);
    }
    assert_eq!(t.authority.ocsp_cached(), 0);
    assert_eq!(t.authority.ocsp_cache_bytes(), 0);

    // A 12 KB request for a good certificate (an unknown non-critical request extension): its
    // answer is cached, the request itself is not kept.
    let serial = Serial::from_hex(&sig).unwrap();
    let id = CertIdentity::new(&issuer, &serial).unwrap();
    let canonical = build_request(std::slice::from_ref(&id), None).unwrap();
    let tbs = der_content(&canonical);
    let mut ext = der_tlv(0x06, &[0x2A, 0x03, 0x04]);
    ext.extend(der_tlv(0x04, &vec![0x5A; 12_000]));
    let mut tbs_content = der_content(tbs).to_vec();
    tbs_content.extend(der_tlv(0xA2, &der_tlv(0x30, &der_tlv(0x30, &ext))));
    let huge = der_tlv(0x30, &der_tlv(0x30, &tbs_content));
    assert!(huge.len() > 12_000);
    for _ in 0..3 {
        assert_eq!(ask(id.clone(), huge.clone(), issuer.clone()).await, RevocationStatus::Good);
    }
    let after_huge = t.authority.ocsp_cache_bytes();
    assert!(after_huge > 0 && after_huge < 4096, "{after_huge} bytes: the request was retained");
    // The canonical request is remembered (small), and answered from the same cached answer.
    assert_eq!(ask(id.clone(), canonical.clone(), issuer.clone()).await, RevocationStatus::Good);
    let after_canonical = t.authority.ocsp_cache_bytes();
    assert!(after_canonical > after_huge && after_canonical < after_huge + 1024, "{after_huge} → {after_canonical}");
    assert_eq!(ask(id, canonical, issuer.clone()).await, RevocationStatus::Good);
    assert_eq!(t.authority.ocsp_cache_bytes(), after_canonical);

    // Many answers (2 certificates × 4 CertID hashes × a few cards): the bound holds.
    let mut cards = vec![(sig, auth)];
    for _ in 0..2 {
        let (_, s, a) = card(&t).await;
        cards.push((s, a));
    }
    let mut asked = 0;
    for (s, a) in &cards {
        for (hex, ca) in [(s, &issuer), (a, &auth_issuer)] {
            for h in [CertIdHash::Sha1, CertIdHash::Sha256, CertIdHash::Sha384, CertIdHash::Sha512] {
                let id = CertIdentity::with_hash(h, ca, &Serial::from_hex(hex).unwrap()).unwrap();
                let der = build_request(std::slice::from_ref(&id), None).unwrap();
                assert_eq!(ask(id, der, ca.clone()).await, RevocationStatus::Good);
                asked += 1;
                let held = t.authority.ocsp_cache_bytes();
                assert!(held <= BUDGET, "{held} bytes cached over a bound of {BUDGET}");
            }
        }
    }
    assert_eq!(asked, 24);
    assert!(t.authority.ocsp_cached() >= 1);
}
on_both!(ocsp_cache_memory_exhaustion_is_bounded, ocsp_cache_memory_exhaustion);

/// Finding 2.5: the delegated responder certificate lives days, not 10 years; it is replaced
/// before it expires, and answers signed by the old one still verify.
async fn ocsp_responder_certificate_is_short_lived_and_rotated(backend: Backend) {
    let t = TestAuthority::start(backend).await;
    let (_, key) = t.verifier("platform", "試験PF").await;
    let (_, sig, _) = card(&t).await;
    let (ca, current, _) = write_pems(&t, CaKind::Signature);
    let first = t.dir.join("first-ocsp.pem");
    std::fs::copy(&current, &first).unwrap();
    let validity = |t: &TestAuthority| {
        let cas = t.authority.cas().unwrap();
        let g = cas.current(CaKind::Signature, now(t)).unwrap();
        (g.responder_der.clone(), g.responder_validity)
    };
    let (first_der, (nb, na)) = validity(&t);
    assert_eq!(na - nb, Span::days(7));
    // openssl reads the same: notAfter 7 days after notBefore, and the CA chains it.
    let text = openssl(&["x509", "-noout", "-dates", "-in", first.to_str().unwrap()]);
    assert!(
        text.contains("notBefore=Apr  1 00:00:00 2026 GMT") && text.contains("notAfter=Apr  8 00:00:00 2026 GMT"),
        "{text}"
    );

    // An answer now, saved, verified by openssl with the first responder.
    let out = openssl_ocsp(
        &t,
        &ca,
        &first,
        &sig,
        Some(&key),
        &["-no_nonce", "-respout", t.dir.join("old.der").to_str().unwrap()],
    );
    assert!(out.contains(&format!("0x{sig}: good")), "{out}");

    // Six days on: the next answer comes from a new responder certificate, valid 7 days from now.
    t.clock.advance(Span::days(6));
    let (_, out) = openssl_ocsp_unchecked(&t, &ca, &first, &sig, Some(&key), &["-no_nonce"]);
    assert!(out.contains("0x"), "{out}");
    let (second_der, (nb2, na2)) = validity(&t);
    assert_ne!(second_der, first_der, "the responder was not rotated");
    assert_eq!((nb2, na2), (now(&t), now(&t) + Span::days(7)));
    let (_, second_pem, _) = write_pems(&t, CaKind::Signature);
    let out = openssl_ocsp(&t, &ca, &second_pem, &sig, Some(&key), &["-no_nonce"]);
    assert!(out.contains(&format!("0x{sig}: good")), "{out}");
    // The published current responder is the new one; the old one stays on disk beside it.
    let dir =
        t.dir.join("ca/signature").join(&t.authority.cas().unwrap().current(CaKind::Signature, now(&t)).unwrap().id);
    assert_eq!(std::fs::read(dir.join("ocsp.der")).unwrap(), second_der);
    let kept: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "der") && p.file_name().unwrap().to_str().unwrap().starts_with("ocsp")
        })
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    assert!(kept.contains(&first_der), "the first responder certificate stays published");

    // The answer signed before the rotation still verifies with the first responder, and the
    // first responder certificate still chains to the CA at the time it signed.
    let old = Command::new("openssl")
        .args(["ocsp", "-respin", t.dir.join("old.der").to_str().unwrap(), "-issuer", ca.to_str().unwrap()])
        .args(["-VAfile", first.to_str().unwrap(), "-CAfile", ca.to_str().unwrap(), "-serial", &format!("0x{sig}")])
        .args(["-validity_period", "1000000000"])
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&old.stdout), String::from_utf8_lossy(&old.stderr));
    assert!(old.status.success() && text.contains("Response verify OK"), "{text}");
    let at = (nb + Span::hours(1)).unix_timestamp().to_string();
    openssl(&["verify", "-attime", &at, "-CAfile", ca.to_str().unwrap(), first.to_str().unwrap()]);
    let at = (now(&t) + Span::hours(1)).unix_timestamp().to_string();
    openssl(&["verify", "-attime", &at, "-CAfile", ca.to_str().unwrap(), second_pem.to_str().unwrap()]);

    // A restart loads the newest responder (no new one: it is not due).
    let reopened = hanko_authority::Authority::open(
        hanko_store::Db::connect(&t.db_url).await.unwrap(),
        t.authority.config().clone(),
        t.clock.clone(),
    )
    .await
    .unwrap();
    let cas = reopened.cas().unwrap();
    assert_eq!(cas.current(CaKind::Signature, now(&t)).unwrap().responder_der, second_der);
}
on_both!(ocsp_responder_rotation, ocsp_responder_certificate_is_short_lived_and_rotated);

fn openssl(args: &[&str]) -> String {
    let out = Command::new("openssl").args(args).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "openssl {args:?}: {text}");
    text
}

async fn crl_get(t: &TestAuthority, path: &str, key: &str, headers: &[(&str, String)]) -> reqwest::Response {
    let mut req = t.http.get(format!("{}{path}", t.base)).bearer_auth(key);
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    req.send().await.unwrap()
}

fn openssl_crl_text(t: &TestAuthority, der: &[u8]) -> String {
    let path = t.dir.join("downloaded.crl");
    std::fs::write(&path, der).unwrap();
    let out =
        Command::new("openssl").args(["crl", "-inform", "DER", "-text", "-noout", "-in"]).arg(&path).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

async fn the_crl_lists_revocations_and_answers_conditional_requests(backend: Backend) {
    let t = TestAuthority::start(backend).await;
    let (_, key) = t.verifier("signature", "試験署名検証者").await;
    let (_, auth_key) = t.verifier("auth", "試験利用者証明検証者").await;
    let (_, sig, _) = card(&t).await;
    revoke(&t, &sig, "affiliationChanged").await;

    let (status, body) = t.operator_post("/v1/admin/crl", json!({})).await;
    assert_eq!(status, 200, "{body}");
    let published = body["crls"].as_array().unwrap();
    assert_eq!(published.len(), 2, "{body}");
    let gen = t.authority.cas().unwrap().current(CaKind::Signature, now(&t)).unwrap().id.clone();

    // The list shows what this verifier may fetch.
    let list: Value = crl_get(&t, "/v1/crl", &key, &[]).await.json().await.unwrap();
    let crls = list["crls"].as_array().unwrap();
    assert_eq!(crls.len(), 1, "{list}");
    let entry = &crls[0];
    assert_eq!(entry["kind"], "signature");
    assert_eq!(entry["generation"], gen.as_str());
    assert_eq!(entry["entries"], 1);
    let url = entry["url"].as_str().unwrap().to_owned();
    assert_eq!(url, format!("/v1/crl/signature/{gen}"));
    let number = entry["crl_number"].as_u64().unwrap();

    let resp = crl_get(&t, &url, &key, &[]).await;
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["content-type"], "application/pkix-crl");
    let etag = resp.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(etag, format!("\"signature-{gen}-{number}\""));
    let last_modified = resp.headers()["last-modified"].to_str().unwrap().to_owned();
    assert_eq!(last_modified, "Wed, 01 Apr 2026 00:00:00 GMT");
    assert_eq!(resp.headers()["cache-control"], "private, max-age=86400");
    let der = resp.bytes().await.unwrap().to_vec();

    // openssl reads it …
    let text = openssl_crl_text(&t, &der);
    assert!(text.contains(&format!("Serial Number: {sig}")), "{text}");
    assert!(text.contains("Affiliation Changed"), "{text}");
    let crl_number = text.lines().skip_while(|l| !l.contains("X509v3 CRL Number")).nth(1).unwrap().trim();
    assert_eq!(crl_number, number.to_string(), "{text}");
    // … and so does hanko's verifier.
    let trust = t.authority.cas().unwrap().trust_store().unwrap();
    let mut set = CrlSet::new();
    let issuer_key = set.add(&trust, &der).unwrap();
    let revocation = set.get(&issuer_key).unwrap().lookup(&Serial::from_hex(&sig).unwrap()).unwrap();
    assert_eq!(revocation.reason, CrlReason::AFFILIATION_CHANGED);
    assert_eq!(revocation.revoked_at, now(&t));

    // Conditional requests.
    let resp = crl_get(&t, &url, &key, &[("if-none-match", etag.clone())]).await;
    assert_eq!(resp.status().as_u16(), 304);
    assert_eq!(resp.headers()["etag"].to_str().unwrap(), etag);
    let resp = crl_get(&t, &url, &key, &[("if-modified-since", last_modified.clone())]).await;
    assert_eq!(resp.status().as_u16(), 304);
    let resp = crl_get(&t, &url, &key, &[("if-modified-since", "Tue, 31 Mar 2026 23:59:59 GMT".into())]).await;
    assert_eq!(resp.status().as_u16(), 200);
    let resp = crl_get(&t, &url, &key, &[("if-none-match", "\"signature-0-0\"".into())]).await;
    assert_eq!(resp.status().as_u16(), 200);

    // Access: none without a key (401), not the signature CRL for an auth verifier (403).
    let resp = t.http.get(format!("{}{url}", t.base)).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    assert_eq!(crl_get(&t, "/v1/crl", "", &[]).await.status().as_u16(), 401);
    assert_eq!(crl_get(&t, &url, &auth_key, &[]).await.status().as_u16(), 403);
    assert_eq!(crl_get(&t, "/v1/crl/signature/1999", &key, &[]).await.status().as_u16(), 404);
    assert_eq!(crl_get(&t, "/v1/crl/other/1999", &key, &[]).await.status().as_u16(), 404);

    // The register is read in pages by (revocation time, serial): a second revocation in the
    // same second, read one entry per page.
    let (_, sig2, _) = card(&t).await;
    revoke(&t, &sig2, "superseded").await;
    let store = t.authority.store();
    let (mut seen, mut cursor) = (Vec::new(), None);
    loop {
        let (page, next) = store.crl_page(CaKind::Signature, &gen, now(&t), cursor.as_ref(), 1).await.unwrap();
        assert!(page.len() <= 1);
        seen.extend(page.into_iter().map(|e| (e.serial.to_string(), e.reason)));
        match next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    seen.sort();
    let mut expected = vec![(sig.clone(), CrlReason::AFFILIATION_CHANGED), (sig2, CrlReason::SUPERSEDED)];
    expected.sort();
    assert_eq!(seen, expected);

    // Once the certificate has expired (its holder's 5th birthday), the next CRL drops it.
    t.clock.set(hanko_pki::time::macros::datetime!(2032-01-01 00:00 UTC));
    let (status, body) = t.operator_post("/v1/admin/crl", json!({})).await;
    assert_eq!(status, 200, "{body}");
    let again = body["crls"].as_array().unwrap().iter().find(|c| c["kind"] == "signature").unwrap().clone();
    assert_eq!(again["entries"], 0, "{again}");
    assert!(again["crl_number"].as_u64().unwrap() > number);
}
on_both!(crl_download, the_crl_lists_revocations_and_answers_conditional_requests);

async fn crl_numbers(t: &TestAuthority, key: &str) -> Vec<u64> {
    let list: Value = crl_get(t, "/v1/crl", key, &[]).await.json().await.unwrap();
    list["crls"].as_array().unwrap().iter().map(|c| c["crl_number"].as_u64().unwrap()).collect()
}

async fn the_daily_task_republishes_when_the_clock_passes_a_day(backend: Backend) {
    let t = TestAuthority::start(backend).await;
    let (_, key) = t.verifier("platform", "試験PF").await;
    // At start the task publishes the missing CRLs.
    let mut first = Vec::new();
    for _ in 0..100 {
        first = crl_numbers(&t, &key).await;
        if first.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(first.len(), 2, "the task publishes at start");
    // Nothing more within the day.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(crl_numbers(&t, &key).await, first);

    t.clock.advance(Span::hours(25));
    let mut later = first.clone();
    for _ in 0..100 {
        later = crl_numbers(&t, &key).await;
        if later.iter().zip(&first).all(|(l, f)| l > f) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(later.iter().zip(&first).all(|(l, f)| l > f), "{first:?} → {later:?}");
    let list: Value = crl_get(&t, "/v1/crl", &key, &[]).await.json().await.unwrap();
    assert_eq!(list["crls"][0]["this_update"], "2026-04-02T01:00:00Z", "{list}");
}
on_both!(crl_daily_task, the_daily_task_republishes_when_the_clock_passes_a_day);
