//! Revocation data and the meter: OCSP per verification (the response kept as evidence, read by
//! `openssl ocsp`), CRLs kept across a restart, a stale CRL, a new CA generation, and the meter
//! mirrored from the authority's billable events per SP.

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hanko_platform::{Clock, Config, Platform};
use hanko_store::Db;
use serde_json::{json, Value};

use crate::common::{sha256_b64, temp_dir, Backend, Eco, Sp};
use crate::on_both;

const CONTRACT: &[u8] = "保険契約申込書 (synthetic test document)".as_bytes();

/// Checks that `sp_id/web` is registered at the authority as a service of the test platform
/// (what an OCSP check with `X-Hanko-SP` needs): adding the tenant registered it, so the
/// platform's own (idempotent) registration answers "registered already".
async fn register_at_authority(eco: &Eco, sp_id: &str) {
    let (status, out) = eco
        .a
        .post(
            "/v1/platform/services",
            &eco.platform_key,
            json!({"sp_id": sp_id, "service_id": "web", "name": format!("test SP {sp_id}")}),
        )
        .await;
    assert_eq!((status, &out["created"]), (200, &json!(false)), "{out}");
}

async fn verify(eco: &Eco, sp: &Sp, cert: &str, sig: &str) -> (u16, Value) {
    eco.p
        .post(
            "/v1/verifications/signature",
            &sp.key,
            json!({"certificate": cert, "signature": sig, "digest": sha256_b64(CONTRACT)}),
        )
        .await
}

/// `openssl ocsp -respin` on `der`, verified against the signature CA certificates the platform
/// trusts: its text (stdout and stderr, where openssl says "Response verify OK").
fn openssl_ocsp_text(eco: &Eco, der: &[u8]) -> String {
    let dir = temp_dir("ocsp-respin");
    let path = dir.join("response.der");
    std::fs::write(&path, der).unwrap();
    let mut pem = String::new();
    for e in std::fs::read_dir(eco.platform_dir.join(hanko_platform::ANCHORS_DIR)).unwrap() {
        let p = e.unwrap().path();
        if p.file_name().unwrap().to_str().unwrap().starts_with("signature-") {
            let out = std::process::Command::new("openssl")
                .args(["x509", "-inform", "DER", "-in"])
                .arg(&p)
                .output()
                .expect("openssl");
            pem.push_str(&String::from_utf8(out.stdout).unwrap());
        }
    }
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, pem).unwrap();
    let out = std::process::Command::new("openssl")
        .args(["ocsp", "-respin"])
        .arg(&path)
        .args(["-resp_text", "-CAfile"])
        .arg(&ca)
        // The test's clock, not today's: the delegated responder certificate is short-lived.
        .args(["-attime", &eco.clock.now().unix_timestamp().to_string()])
        .output()
        .expect("openssl");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "openssl ocsp: {text}");
    assert!(text.contains("Response verify OK"), "{text}");
    text
}

async fn evidence(eco: &Eco, sp: &Sp, id: &Value) -> Value {
    let (status, ev) = eco.p.get(&format!("/v1/evidence/{}", id.as_str().unwrap()), &sp.key).await;
    assert_eq!(status, 200, "{ev}");
    ev
}

on_both!(ocsp_tenant_gets_ok_then_revoked_with_the_response_kept_as_evidence, ocsp_ok_then_revoked_body);
async fn ocsp_ok_then_revoked_body(b: Backend) {
    let eco = Eco::start(b).await;
    // Sensitive-data mode off: this SP reads the kept OCSP response from its evidence.
    let sp = eco.tenant("SPINS", json!({"check_method": "ocsp", "sensitive": false})).await;
    register_at_authority(&eco, "SPINS").await;
    let (person, card) = eco.person_with_card("見本　花子", "1990-05-17").await;
    let (cert, sig) = eco.sign(&card, CONTRACT);

    let (status, out) = verify(&eco, &sp, &cert, &sig).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["result"], "OK", "{out}");
    assert_eq!(out["check_method"], "ocsp");
    let ev = evidence(&eco, &sp, &out["evidence_id"]).await;
    assert_eq!(ev["record"]["revocation"]["method"], "ocsp", "{ev}");
    let response = B64.decode(ev["record"]["ocsp_response"].as_str().expect("the OCSP response is kept")).unwrap();
    let text = openssl_ocsp_text(&eco, &response);
    assert!(text.contains("Cert Status: good"), "{text}");
    assert!(text.contains("Response Status: successful"), "{text}");

    // A move revokes the signature certificate. No CRL is published: OCSP says so at once.
    eco.clock.advance(hanko_pki::time::Duration::minutes(5));
    eco.event(&person, json!({"kind": "facts-changed", "address": "東京都見本区架空台五丁目６番７号"})).await;
    let (status, out) = verify(&eco, &sp, &cert, &sig).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["result"], "CERTIFICATE_REVOKED", "{out}");
    assert_eq!(out["reason"]["revocation"]["meaning"], "facts-changed", "{out}");
    let ev = evidence(&eco, &sp, &out["evidence_id"]).await;
    let response = B64.decode(ev["record"]["ocsp_response"].as_str().expect("kept for a revocation too")).unwrap();
    let text = openssl_ocsp_text(&eco, &response);
    assert!(text.contains("Cert Status: revoked"), "{text}");

    // The platform's meter mirrors what the authority billed this SP: two signature checks.
    let (status, meter) = eco.p.get("/v1/meter?month=2026-04", &sp.key).await;
    assert_eq!(status, 200, "{meter}");
    let line = |m: &Value, kind: &str| {
        m["lines"].as_array().unwrap().iter().find(|l| l["kind"] == kind).cloned().unwrap_or(Value::Null)
    };
    assert_eq!(line(&meter, "signature-check")["count"], 2, "{meter}");
    assert_eq!(line(&meter, "signature-check")["yen"], 40, "{meter}");
    assert_eq!(line(&meter, "verification.signature.OK")["count"], 1, "{meter}");
    assert_eq!(line(&meter, "verification.signature.CERTIFICATE_REVOKED")["count"], 1, "{meter}");
    eco.authority.flush_meter().await.unwrap();
    let (status, billed) = eco.a.get("/v1/admin/meter?month=2026-04", &eco.operator_key).await;
    assert_eq!(status, 200, "{billed}");
    let at_authority = billed["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["sp_id"] == "SPINS" && r["kind"] == "signature-check")
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(at_authority["count"], line(&meter, "signature-check")["count"], "{billed}");
    assert_eq!(at_authority["yen"], line(&meter, "signature-check")["yen"], "{billed}");
}

on_both!(an_ocsp_check_the_authority_refuses_is_a_clear_503, ocsp_refused_body);
async fn ocsp_refused_body(b: Backend) {
    let eco = Eco::start(b).await;
    // Adding a tenant registers it at the authority; a tenant the authority does not know (one
    // stored before registration existed, or whose registration was withdrawn there) is made
    // here through the store.
    let tenant = hanko_platform::Tenant {
        id: "TNUNREGISTERED".into(),
        sp_id: "SPNEW".into(),
        service_id: "web".into(),
        name: "unregistered".into(),
        check_method: hanko_platform::CheckMethod::Ocsp,
        facts: vec![],
        sensitive: true,
        created_at: eco.clock.now(),
    };
    eco.platform.store().add_tenant(&tenant).await.unwrap();
    let key = eco.platform.add_tenant_key(&tenant.id).await.unwrap().api_key;
    let sp = Sp { id: tenant.id.clone(), key };
    let (_, card) = eco.person_with_card("見本　太郎", "1985-04-01").await;
    let (cert, sig) = eco.sign(&card, CONTRACT);
    // Garbage is a clear result, and no OCSP request is sent (nor billed) for it.
    let (status, out) = verify(&eco, &sp, &B64.encode(b"not a certificate"), &sig).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["result"], "UNSUPPORTED_CERTIFICATE", "{out}");
    let (_, meter) = eco.p.get("/v1/meter?month=2026-04", &sp.key).await;
    assert!(!meter["lines"].as_array().unwrap().iter().any(|l| l["kind"] == "signature-check"), "{meter}");

    // The authority disables the platform's key: OCSP answers `unauthorized`.
    let (status, out) =
        eco.a.post(&format!("/v1/admin/verifiers/{}/disable", eco.platform_id), &eco.operator_key, json!({})).await;
    assert_eq!(status, 200, "{out}");
    let (status, out) = verify(&eco, &sp, &cert, &sig).await;
    assert_eq!(status, 503, "{out}");
    let detail = out["detail"].as_str().unwrap();
    assert!(detail.contains("unauthorized") && detail.contains("SPNEW/web"), "{detail}");
    let (_, meter) = eco.p.get("/v1/meter?month=2026-04", &sp.key).await;
    assert!(!meter["lines"].as_array().unwrap().iter().any(|l| l["kind"] == "signature-check"), "not billed: {meter}");
}

async fn reopen(eco: &Eco) -> Platform {
    Platform::open(
        Db::connect(&eco.platform_db).await.unwrap(),
        Config::new(&eco.platform_dir, &eco.a.base),
        eco.clock.clone(),
    )
    .await
    .unwrap()
}

on_both!(crls_are_kept_across_a_restart_and_not_fetched_again, crls_kept_body);
async fn crls_kept_body(b: Backend) {
    let eco = Eco::start(b).await;
    let before = eco.platform.crl_status();
    assert_eq!(before.len(), 2, "{before:?}");
    let dir = eco.platform_dir.join(hanko_platform::CRL_DIR);
    assert!(dir.join("state.json").exists());
    let kept =
        std::fs::read_dir(&dir).unwrap().filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "crl"));
    assert_eq!(kept.count(), 2);

    // A restarted node holds the same CRLs before it asks the authority anything …
    let again = reopen(&eco).await;
    let after = again.crl_status();
    assert_eq!(after.len(), 2);
    for (x, y) in before.iter().zip(&after) {
        assert_eq!((x.crl_number, &x.kind, &x.generation), (y.crl_number, &y.kind, &y.generation));
    }
    // … and its first refresh costs two 304s, no download.
    let r = again.refresh_crls().await.unwrap();
    assert_eq!((r.updated, r.unchanged, r.refused), (0, 2, 0), "{r:?}");

    // A kept CRL that was tampered with is refused at open and fetched again.
    let file = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "crl"))
        .unwrap();
    let mut der = std::fs::read(&file).unwrap();
    let n = der.len();
    der[n - 10] ^= 1;
    std::fs::write(&file, &der).unwrap();
    let third = reopen(&eco).await;
    assert_eq!(third.crl_status().len(), 1, "the tampered CRL is not used");
    let r = third.refresh_crls().await.unwrap();
    assert_eq!((r.updated, r.unchanged), (1, 1), "{r:?}");
    assert_eq!(third.crl_status().len(), 2);
}

on_both!(a_stale_crl_answers_503_and_healthz_says_so, stale_body);
async fn stale_body(b: Backend) {
    let eco = Eco::start(b).await;
    let sp = eco.tenant("SPBANK", json!({})).await;
    let (_, card) = eco.person_with_card("見本　花子", "1990-05-17").await;
    let (cert, sig) = eco.sign(&card, CONTRACT);
    let (status, health) = eco.p.get("/healthz", "").await;
    assert_eq!(status, 200);
    assert_eq!(health["status"], "ok", "{health}");
    assert_eq!(health["crls_held"], 2);
    assert!(health["crl_age_seconds"].is_i64(), "{health}");

    // Past nextUpdate (24 h) without a refresh: no answer rather than a wrong one.
    eco.clock.advance(hanko_pki::time::Duration::hours(25));
    let (status, out) = verify(&eco, &sp, &cert, &sig).await;
    assert_eq!(status, 503, "{out}");
    assert!(out["detail"].as_str().unwrap().contains("stale"), "{out}");
    let (_, health) = eco.p.get("/healthz", "").await;
    assert_eq!(health["status"], "stale", "{health}");
    assert!(health["crls"].as_array().unwrap().iter().all(|c| c["stale"] == true), "{health}");
    assert!(health["crl_age_seconds"].as_i64().unwrap() >= 25 * 3600, "{health}");

    assert_eq!(eco.platform.next_crl_refresh(), hanko_platform::CRL_RETRY, "past nextUpdate: retried soon");

    eco.publish_and_refresh().await;
    let (status, out) = verify(&eco, &sp, &cert, &sig).await;
    assert_eq!((status, out["result"].as_str()), (200, Some("OK")), "{out}");
}

on_both!(the_crls_are_fetched_again_just_after_their_next_update, schedule_body);
async fn schedule_body(b: Backend) {
    let eco = Eco::start(b).await;
    let refresh = eco.platform.config().crl_refresh;
    assert_eq!(eco.platform.next_crl_refresh(), refresh, "long before nextUpdate: the configured interval");
    let next_update = eco.platform.crl_status().iter().filter_map(|c| c.next_update).min().unwrap();
    eco.clock.set(next_update - hanko_pki::time::Duration::seconds(100));
    assert_eq!(
        eco.platform.next_crl_refresh(),
        std::time::Duration::from_secs(100) + hanko_platform::AFTER_NEXT_UPDATE,
        "just after nextUpdate, when the authority has published the next CRL"
    );
    // A node whose CRLs are gone (a new anchor without a CRL yet) asks again soon.
    let fresh = {
        std::fs::remove_dir_all(eco.platform_dir.join(hanko_platform::CRL_DIR)).unwrap();
        reopen(&eco).await
    };
    assert!(fresh.crl_status().is_empty());
    assert_eq!(fresh.next_crl_refresh(), hanko_platform::MISSING_RETRY);
}

on_both!(
    a_new_ca_generation_is_refused_until_its_anchor_is_added_and_the_others_are_not_reindexed,
    new_generation_body
);
async fn new_generation_body(b: Backend) {
    let eco = Eco::start(b).await;
    let old_anchors: Vec<Vec<u8>> = eco.platform.trust().anchors().iter().map(|a| a.key_id().to_vec()).collect();
    let (status, out) = eco.a.post("/v1/admin/generations", &eco.operator_key, json!({})).await;
    assert_eq!(status, 200, "{out}");
    let generations: Vec<String> =
        out["generations"].as_array().unwrap().iter().map(|g| g.as_str().unwrap().to_owned()).collect();
    // The authority publishes the new generations' CRLs from its schedule (every second).
    for _ in 0..600 {
        let (_, list) = eco.a.get("/v1/crl", &eco.platform_key).await;
        if list["crls"].as_array().unwrap().len() == 4 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let held_before = eco.platform.crl_set();
    let r = eco.platform.refresh_crls().await.unwrap();
    assert_eq!((r.updated, r.unchanged, r.refused), (0, 2, 2), "{r:?}");
    assert_eq!(eco.platform.crl_status().len(), 2);

    // The operator adds the new CA certificates as anchors; the next refresh takes their CRLs.
    let anchors = eco.platform_dir.join(hanko_platform::ANCHORS_DIR);
    for (kind, g) in ["signature", "auth"].iter().zip(&generations) {
        let src = eco.authority_dir.join("ca").join(kind).join(g).join("ca.der");
        std::fs::copy(src, anchors.join(format!("{kind}-{g}.der"))).unwrap();
    }
    let r = eco.platform.refresh_crls().await.unwrap();
    assert_eq!((r.updated, r.unchanged, r.refused), (2, 2, 0), "{r:?}");
    assert_eq!(eco.platform.crl_status().len(), 4);
    let held_after = eco.platform.crl_set();
    for id in &old_anchors {
        let (x, y) = (held_before.get_shared(id).unwrap(), held_after.get_shared(id).unwrap());
        assert!(Arc::ptr_eq(x, y), "an unchanged generation's index is shared, not rebuilt");
    }

    // A card of the new generation verifies.
    let sp = eco.tenant("SPBANK", json!({})).await;
    let (_, card) = eco.person_with_card("見本　次郎", "1979-11-03").await;
    let (cert, sig) = eco.sign(&card, CONTRACT);
    let (status, out) = verify(&eco, &sp, &cert, &sig).await;
    assert_eq!((status, out["result"].as_str()), (200, Some("OK")), "{out}");
}

on_both!(the_meter_is_per_sp_and_each_sp_sees_only_its_own, meter_body);
async fn meter_body(b: Backend) {
    let eco = Eco::start(b).await;
    let a = eco.tenant("SPA", json!({})).await;
    let other = eco.tenant("SPB", json!({})).await;
    let (_, card) = eco.person_with_card("見本　花子", "1990-05-17").await;
    let (cert, sig) = eco.sign(&card, CONTRACT);
    for _ in 0..3 {
        let (status, out) = verify(&eco, &a, &cert, &sig).await;
        assert_eq!((status, out["result"].as_str()), (200, Some("OK")), "{out}");
    }
    let (_, out) = verify(&eco, &other, &cert, &B64.encode([0u8; 256])).await;
    assert_eq!(out["result"], "SIGNATURE_MISMATCH", "{out}");
    // What other areas report through Platform::meter.
    eco.platform.meter(a.id.as_str(), "latest-facts", 2);
    eco.platform.meter(&a.id, "latest-facts", 0);
    eco.platform.meter(&a.id, "no spaces allowed", 1);

    let (status, mine) = eco.p.get("/v1/meter?month=2026-04", &a.key).await;
    assert_eq!(status, 200, "{mine}");
    let lines = mine["lines"].as_array().unwrap();
    assert!(lines.iter().all(|l| l["tenant_id"] == a.id.as_str() && l["sp_id"] == "SPA"), "{mine}");
    let get = |kind: &str| lines.iter().find(|l| l["kind"] == kind).map(|l| (l["count"].clone(), l["yen"].clone()));
    assert_eq!(get("verification.signature.OK"), Some((json!(3), json!(0))), "{mine}");
    assert_eq!(get("latest-facts"), Some((json!(2), json!(40))));
    assert_eq!(get("latest-facts-not-obtainable"), Some((json!(1), json!(0))));
    // The user-id binding asked the authority for the corresponding serials (2 yen each): the
    // platform's line is the authority's bill for SPA/web.
    let (count, yen) = get("corresponding-serial").expect("corresponding serials were asked for");
    eco.authority.flush_meter().await.unwrap();
    let (_, billed) = eco.a.get("/v1/admin/meter?month=2026-04", &eco.operator_key).await;
    let bill = |sp: &str, kind: &str| {
        billed["rows"].as_array().unwrap().iter().find(|r| r["sp_id"] == sp && r["kind"] == kind).cloned()
    };
    let at_authority = bill("SPA", "corresponding-serial").unwrap();
    assert_eq!((count.clone(), yen.clone()), (at_authority["count"].clone(), at_authority["yen"].clone()), "{billed}");
    assert_eq!(lines.len(), 4, "{mine}");
    assert_eq!(mine["total_yen"], json!(40 + yen.as_u64().unwrap()));

    let (_, theirs) = eco.p.get("/v1/meter?month=2026-04", &other.key).await;
    assert!(theirs["lines"].as_array().unwrap().iter().all(|l| l["tenant_id"] == other.id.as_str()), "{theirs}");
    assert!(theirs["lines"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["kind"] == "verification.signature.SIGNATURE_MISMATCH"));

    // The admin sees every tenant and the platform's own CRL downloads, as the authority does.
    let (status, all) = eco.p.get("/v1/admin/meter?month=2026-04", &eco.admin_key).await;
    assert_eq!(status, 200, "{all}");
    let downloads = all["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["tenant_id"] == "-" && l["kind"] == "crl-download")
        .cloned()
        .unwrap();
    eco.authority.flush_meter().await.unwrap();
    let (_, billed) = eco.a.get("/v1/admin/meter?month=2026-04", &eco.operator_key).await;
    let at_authority = billed["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["verifier_id"] == eco.platform_id.as_str() && r["service_id"] == "-" && r["kind"] == "crl-download")
        .cloned()
        .unwrap();
    assert_eq!(downloads["count"], at_authority["count"], "{all} {billed}");
    assert_eq!(all["totals"].as_array().unwrap().len(), 3, "{all}");

    // Keys of the wrong role, bad months, another month.
    assert_eq!(eco.p.get("/v1/admin/meter", &a.key).await.0, 403);
    assert_eq!(eco.p.get("/v1/meter", &eco.admin_key).await.0, 403);
    assert_eq!(eco.p.get("/v1/meter", "").await.0, 401);
    let (status, out) = eco.p.get("/v1/meter?month=2026-13", &a.key).await;
    assert_eq!(status, 400, "{out}");
    assert_eq!(eco.p.get("/v1/meter?month=x&other=1", &a.key).await.0, 400);
    let (status, empty) = eco.p.get("/v1/meter?month=2026-05", &a.key).await;
    assert_eq!(status, 200);
    assert_eq!(empty["lines"].as_array().unwrap().len(), 0);
    let (status, now) = eco.p.get("/v1/meter", &a.key).await;
    assert_eq!((status, now["month"].as_str()), (200, Some("2026-04")), "{now}");
}
