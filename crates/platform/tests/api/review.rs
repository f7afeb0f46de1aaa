//! Regression tests of the security review of the platform (each failed on the code as reviewed).

use serde_json::{json, Value};

use crate::common::{sha256_b64, Backend, Eco};
use crate::on_both;

const DOC: &[u8] = b"JPKI-TEST review contract";

// Finding: GET /v1/evidence/{id} hands a sensitive-data tenant the whole certificate (all 4
// facts, whatever its `facts` setting) and the revocation data.
on_both!(sensitive_tenant_evidence_carries_no_certificate, sensitive_tenant_evidence_body);
async fn sensitive_tenant_evidence_body(b: Backend) {
    let eco = Eco::start(b).await;
    let sp = eco.tenant("SPNOFACTS", json!({})).await; // sensitive by default, no facts
    let (_, card) = eco.person_with_card("見本　太郎", "1980-01-02").await;
    let (cert, sig) = eco.sign(&card, DOC);
    let (status, out) = eco
        .p
        .post(
            "/v1/verifications/signature",
            &sp.key,
            json!({"certificate": cert, "signature": sig, "digest": sha256_b64(DOC)}),
        )
        .await;
    assert_eq!(status, 200, "{out}");
    assert!(out.get("certificate").is_none() && out.get("facts").is_none_or(Value::is_null), "{out}");
    let (status, ev) = eco.p.get(&format!("/v1/evidence/{}", out["evidence_id"].as_str().unwrap()), &sp.key).await;
    assert_eq!(status, 200, "{ev}");
    assert!(
        ev["record"]["certificate"].is_null(),
        "sensitive tenant got its customer's certificate: {}",
        ev["record"]["certificate"]
    );
    assert!(
        ev["record"]["revocation"].is_null(),
        "sensitive tenant got revocation data: {}",
        ev["record"]["revocation"]
    );
    assert!(ev["record"].get("certificate_sha256").is_none(), "{ev}");
    // A detached CMS carries the signer's certificate: not handed back either (the re-review).
    let der = crate::formats::cms_detached_by_card(&eco, &card, DOC);
    let (status, out) = eco
        .p
        .post(
            "/v1/verifications/cms",
            &sp.key,
            json!({"cms": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &der),
                   "data": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, DOC)}),
        )
        .await;
    assert_eq!((status, out["result"].as_str()), (200, Some("OK")), "{out}");
    let (_, ev) = eco.p.get(&format!("/v1/evidence/{}", out["evidence_id"].as_str().unwrap()), &sp.key).await;
    assert!(ev["record"]["inputs"].get("cms").is_none() && ev["record"]["inputs"]["cms_sha256"].is_string(), "{ev}");
}

// Probe: NUL bytes and other junk in ids on every SP route: never a 500.
on_both!(nul_in_ids_is_never_a_500, nul_in_ids_body);
async fn nul_in_ids_body(b: Backend) {
    let eco = Eco::start(b).await;
    let sp = eco.tenant("SPNUL", json!({})).await;
    let mut bad = Vec::new();
    for id in ["%00", "a%00b", "%C0%80", "%FF"] {
        for path in [
            format!("/v1/evidence/{id}"),
            format!("/v1/evidence/{id}/proof"),
            format!("/v1/users/{id}"),
            format!("/v1/users/{id}/status-history"),
            format!("/v1/consents/{id}"),
            format!("/v1/webhook/deliveries/{id}"),
            format!("/v1/monitoring/subscriptions/{id}"),
            format!("/v1/users?after={id}"),
            format!("/v1/monitoring/subscriptions?after={id}"),
            format!("/v1/webhook/deliveries?status={id}"),
            format!("/v1/meter?month={id}"),
        ] {
            let (s, body) = eco.p.get(&path, &sp.key).await;
            if s >= 500 {
                bad.push(format!("GET {path} -> {s} {body}"));
            }
        }
        for path in [
            format!("/v1/users/{id}/liveness"),
            format!("/v1/users/{id}/latest-facts"),
            format!("/v1/webhook/deliveries/{id}/retry"),
        ] {
            let (s, body) = eco.p.post(&path, &sp.key, json!({})).await;
            if s >= 500 {
                bad.push(format!("POST {path} -> {s} {body}"));
            }
        }
        let (s, body) = eco.p.get(&format!("/v1/admin/tenants/{id}"), &eco.admin_key).await;
        if s >= 500 {
            bad.push(format!("GET /v1/admin/tenants/{id} -> {s} {body}"));
        }
        let (s, body) = eco.p.post(&format!("/v1/admin/tenants/{id}/keys"), &eco.admin_key, json!({})).await;
        if s >= 500 {
            bad.push(format!("POST /v1/admin/tenants/{id}/keys -> {s} {body}"));
        }
    }
    for (path, body) in [
        ("/v1/monitoring/subscriptions", json!({"evidence_id": "ev-\u{0}"})),
        ("/v1/monitoring/subscriptions", json!({"user_id": "u\u{0}"})),
        ("/v1/webhook", json!({"url": "http://127.0.0.1:9/\u{0}"})),
        (
            "/v1/verifications/authentication",
            json!({"challenge_id": "ch_\u{0}234567890123456789012345678901", "certificate": "AA==", "signature": "AA=="}),
        ),
    ] {
        let req = eco
            .p
            .client
            .request(
                if path == "/v1/webhook" { reqwest::Method::PUT } else { reqwest::Method::POST },
                format!("{}{path}", eco.p.base),
            )
            .json(&body);
        let (s, out) = eco.p.send(req, &sp.key).await;
        if s >= 500 {
            bad.push(format!("{path} {body} -> {s} {out}"));
        }
    }
    let (s, out) = eco
        .p
        .post("/v1/admin/tenants", &eco.admin_key, json!({"sp_id": "SPX", "service_id": "web", "name": "n\u{0}"}))
        .await;
    if s >= 500 {
        bad.push(format!("admin tenants name NUL -> {s} {out}"));
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

// Finding: `verify_evidence_log` trusted an emptied row by its stored leaf hash alone. It now
// refuses an emptied row that still holds bytes or that was emptied before it was made. (Once a
// record is emptied — the 7-year purge or its SP's deletion — its other columns are no longer
// covered by the log: documented in docs/platform-evidence.md.)
on_both!(an_emptied_record_that_holds_bytes_or_predates_itself_is_a_problem, emptied_body);
async fn emptied_body(b: Backend) {
    use hanko_store::sqlx;
    let eco = Eco::start(b).await;
    let sp = eco.tenant("SPPURGE", json!({})).await;
    let (_, card) = eco.person_with_card("見本　三郎", "1970-03-04").await;
    let (cert, sig) = eco.sign(&card, DOC);
    let mut ids = Vec::new();
    for _ in 0..2 {
        let (status, out) = eco
            .p
            .post(
                "/v1/verifications/signature",
                &sp.key,
                json!({"certificate": cert, "signature": sig, "digest": sha256_b64(DOC)}),
            )
            .await;
        assert_eq!(status, 200, "{out}");
        ids.push(out["evidence_id"].as_str().unwrap().to_owned());
    }
    eco.platform.checkpoint().await.unwrap();
    assert!(eco.platform.verify_evidence_log().await.unwrap().problems.is_empty());
    let db = hanko_store::Db::connect(&eco.platform_db).await.unwrap();
    // Marked emptied, bytes kept (and so possibly altered): a problem.
    sqlx::query("UPDATE evidence SET purged_at = created_at WHERE id = $1")
        .bind(&ids[0])
        .execute(db.pool())
        .await
        .unwrap();
    let report = eco.platform.verify_evidence_log().await.unwrap();
    assert!(report.problems.iter().any(|p| p.contains("holds bytes")), "{report:?}");
    // Emptied "before it was made": a problem.
    sqlx::query("UPDATE evidence SET record = $1, purged_at = created_at - 1 WHERE id = $2")
        .bind(Vec::<u8>::new())
        .bind(&ids[1])
        .execute(db.pool())
        .await
        .unwrap();
    let report = eco.platform.verify_evidence_log().await.unwrap();
    assert!(report.problems.iter().any(|p| p.contains("before it was made")), "{report:?}");
}

// Finding: in production the SSRF guard checked only literal addresses: a name that resolves to
// a non-public address (here the machine's own host name, which resolves to loopback or the
// machine's private address — or does not resolve at all) was accepted, and delivery connected
// to whatever the name resolved to at send time.
on_both!(production_webhook_name_resolving_to_a_private_address_is_refused, webhook_name_private_body);
async fn webhook_name_private_body(b: Backend) {
    let eco = Eco::start_with(b, |c| c.environment = hanko_platform::Environment::Production).await;
    let sp = eco.tenant("SPSSRF", json!({})).await;
    let put = |url: &str| eco.p.client.put(format!("{}/v1/webhook", eco.p.base)).json(&json!({"url": url}));
    let (status, out) = eco.p.send(put("http://127.0.0.1:5432/hook"), &sp.key).await;
    assert_eq!(status, 400, "literal loopback refused: {out}");
    let host = String::from_utf8(std::process::Command::new("hostname").output().unwrap().stdout).unwrap();
    let host = host.trim();
    let resolved: Vec<std::net::SocketAddr> =
        std::net::ToSocketAddrs::to_socket_addrs(&(host, 80)).map(|a| a.collect()).unwrap_or_default();
    let (status, out) = eco.p.send(put(&format!("http://{host}:5432/hook")), &sp.key).await;
    assert_eq!(status, 400, "{host} resolves to {resolved:?}: must be refused in production: {out}");
}

// Finding: the signature route stores whatever `signature` bytes it is sent in the append-only
// evidence log (kept 7 years, never deletable): a tenant appends ~0.7 MiB per request with a
// 0.7 MiB "signature" (the authentication route refuses > 1024 bytes; this one does not).
on_both!(evidence_records_are_bounded, evidence_records_are_bounded_body);
async fn evidence_records_are_bounded_body(b: Backend) {
    use base64::Engine;
    let eco = Eco::start(b).await;
    let sp = eco.tenant("SPBLOAT", json!({})).await;
    let (_, card) = eco.person_with_card("見本　四郎", "1975-04-05").await;
    let (cert, _) = eco.sign(&card, DOC);
    let junk = base64::engine::general_purpose::STANDARD.encode(vec![0x5au8; 700 * 1024]);
    let (status, out) = eco
        .p
        .post(
            "/v1/verifications/signature",
            &sp.key,
            json!({"certificate": cert, "signature": junk, "digest": sha256_b64(DOC)}),
        )
        .await;
    if status == 400 {
        return; // refused: nothing logged
    }
    assert_eq!(status, 200, "{out}");
    let (_, ev) = eco.p.get(&format!("/v1/evidence/{}", out["evidence_id"].as_str().unwrap()), &sp.key).await;
    let size = ev.to_string().len();
    assert!(size < 64 * 1024, "result {} logged a {size}-byte evidence record for one request", out["result"]);
}

// Probe (passes): every route given another tenant's id answers exactly what an unknown id gets.
on_both!(another_tenants_ids_look_unknown_everywhere, other_ids_body);
async fn other_ids_body(b: Backend) {
    let eco = Eco::start(b).await;
    let a = eco.tenant("SPA", json!({"facts": ["name"]})).await;
    let bb = eco.tenant("SPB", json!({"facts": ["name"]})).await;
    let (_, card) = eco.person_with_card("見本　五郎", "1966-06-06").await;
    let (cert, sig) = eco.sign(&card, DOC);
    let (_, out) = eco
        .p
        .post(
            "/v1/verifications/signature",
            &a.key,
            json!({"certificate": cert, "signature": sig, "digest": sha256_b64(DOC)}),
        )
        .await;
    let ev = out["evidence_id"].as_str().unwrap().to_owned();
    let user = out["user_id"].as_str().unwrap().to_owned();
    let (s, _) = eco.p.post("/v1/monitoring/subscriptions", &a.key, json!({"user_id": user})).await;
    assert!(s == 201 || s == 200);
    let (_, ch) = eco.p.post("/v1/auth/challenges", &a.key, json!({})).await;
    let ch = ch["challenge_id"].as_str().unwrap().to_owned();
    let unknown_ev = "ev-00000000-0000-0000-0000-000000000000".to_owned();
    let unknown_user = "00000000-0000-0000-0000-000000000000".to_owned();
    let unknown_ch = format!("ch_{}", "0".repeat(32));
    let mut diffs = Vec::new();
    let norm = |v: &Value, id: &str, unknown: &str| v.to_string().replace(id, "ID").replace(unknown, "ID");
    for (method, tmpl, real, unknown, body) in [
        ("GET", "/v1/evidence/{}", &ev, &unknown_ev, json!(null)),
        ("GET", "/v1/evidence/{}/proof", &ev, &unknown_ev, json!(null)),
        ("GET", "/v1/users/{}", &user, &unknown_user, json!(null)),
        ("DELETE", "/v1/users/{}", &user, &unknown_user, json!(null)),
        ("GET", "/v1/users/{}/status-history", &user, &unknown_user, json!(null)),
        ("POST", "/v1/users/{}/liveness", &user, &unknown_user, json!({})),
        ("POST", "/v1/users/{}/latest-facts", &user, &unknown_user, json!({})),
        ("GET", "/v1/monitoring/subscriptions/{}", &user, &unknown_user, json!(null)),
        ("DELETE", "/v1/monitoring/subscriptions/{}", &user, &unknown_user, json!(null)),
        ("POST", "/v1/monitoring/subscriptions", &user, &unknown_user, json!({"user_id": "@ID@"})),
        ("POST", "/v1/monitoring/subscriptions", &ev, &unknown_ev, json!({"evidence_id": "@ID@"})),
        (
            "POST",
            "/v1/verifications/authentication",
            &ch,
            &unknown_ch,
            json!({"challenge_id": "@ID@", "certificate": cert, "signature": sig}),
        ),
    ] {
        let mut answers = Vec::new();
        for id in [real, unknown] {
            let path = tmpl.replace("{}", id);
            let body: Value = serde_json::from_str(&body.to_string().replace("@ID@", id)).unwrap();
            let req = eco.p.client.request(method.parse().unwrap(), format!("{}{path}", eco.p.base));
            let req = if body.is_null() { req } else { req.json(&body) };
            answers.push(eco.p.send(req, &bb.key).await);
        }
        let (ra, ua) = (&answers[0], &answers[1]);
        if ra.0 != ua.0 || norm(&ra.1, real, unknown) != norm(&ua.1, real, unknown) || ra.0 < 400 {
            diffs.push(format!("{method} {tmpl}: other's {} {} / unknown {} {}", ra.0, ra.1, ua.0, ua.1));
        }
    }
    // Tenant A's objects are untouched.
    let (s, _) = eco.p.get(&format!("/v1/users/{user}"), &a.key).await;
    assert_eq!(s, 200);
    let (s, _) = eco.p.get(&format!("/v1/monitoring/subscriptions/{user}"), &a.key).await;
    assert_eq!(s, 200);
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}

// Finding: a tenant may be added as `<the platform's own authority id>/-`, which the authority
// cannot tell from the platform acting for itself (no X-Hanko-SP): the reserved service id `-`
// and the platform's own id must be refused as a tenant's SP.
on_both!(a_tenant_cannot_take_the_platforms_own_identity, own_identity_body);
async fn own_identity_body(b: Backend) {
    let eco = Eco::start(b).await;
    let (status, out) = eco
        .p
        .post(
            "/v1/admin/tenants",
            &eco.admin_key,
            json!({"sp_id": eco.platform_id, "service_id": "-", "name": "impostor"}),
        )
        .await;
    assert_eq!(status, 400, "tenant {}/- accepted: {status} {out}", eco.platform_id);
}

// Finding: IPv6 forms that embed or reach non-public IPv4 pass the production SSRF guard.
on_both!(production_webhook_refuses_embedded_private_ipv4, webhook_ipv6_body);
async fn webhook_ipv6_body(b: Backend) {
    let eco = Eco::start_with(b, |c| c.environment = hanko_platform::Environment::Production).await;
    let sp = eco.tenant("SPSSRF6", json!({})).await;
    let mut accepted = Vec::new();
    for url in [
        "http://[64:ff9b::a9fe:a9fe]/",   // NAT64 of 169.254.169.254
        "http://[::7f00:1]/",             // IPv4-compatible 127.0.0.1
        "http://[2002:7f00:1::1]/",       // 6to4 of 127.0.0.1
        "http://[2002:a9fe:a9fe::1]/",    // 6to4 of 169.254.169.254
        "http://[fec0::1]/",              // site-local
        "http://[64:ff9b:1::a9fe:a9fe]/", // local-use NAT64 (the re-review)
        "http://[::ffff:0:7f00:1]/",      // SIIT IPv4-translated 127.0.0.1
        "http://198.18.0.1/",             // benchmarking
        "http://192.0.0.8/",              // protocol assignments
    ] {
        let req = eco.p.client.put(format!("{}/v1/webhook", eco.p.base)).json(&json!({"url": url}));
        let (status, _) = eco.p.send(req, &sp.key).await;
        if status != 400 {
            accepted.push(format!("{url} -> {status}"));
        }
    }
    assert!(accepted.is_empty(), "accepted in production: {accepted:?}");
}
