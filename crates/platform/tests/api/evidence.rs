//! The evidence log: proofs an SP fetches for its own records, bundles an auditor checks offline
//! (and openssl accepts the time-stamp tokens of), a full verification that reports any changed
//! byte, reordered or removed record, and a retention purge that keeps the log verifiable.

use std::process::Command;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hanko_pki::tlog::{self, Hash};
use hanko_platform::{check_bundle, NewEvidence, Platform};
use hanko_store::sqlx::{self, Row};
use hanko_store::Db;
use serde_json::{json, Value};

use crate::common::{sha256_b64, Backend, Eco};
use crate::on_both;

const CONTRACT: &[u8] = "保険契約申込書 (synthetic test document)".as_bytes();

/// Appends `n` synthetic records for `tenant` directly (as the verification endpoints do), dated
/// by the platform's clock.
async fn append(platform: &Platform, tenant: &str, n: usize) -> Vec<String> {
    let at = platform.now();
    let mut ids = Vec::new();
    for i in 0..n {
        let id = platform
            .append_evidence(NewEvidence {
                tenant_id: tenant.to_owned(),
                kind: "signature",
                result: "SIGNATURE_MISMATCH".to_owned(),
                user_id: None,
                record: json!({"version": 1, "inputs": {"digest": sha256_b64(&i.to_be_bytes())}, "n": i}),
                at,
            })
            .await
            .unwrap();
        ids.push(id);
    }
    ids
}

fn hashes(v: &Value) -> Vec<Hash> {
    v.as_array().unwrap().iter().map(|h| B64.decode(h.as_str().unwrap()).unwrap().try_into().unwrap()).collect()
}

fn root_of(cp: &Value) -> Hash {
    B64.decode(cp["root"].as_str().unwrap()).unwrap().try_into().unwrap()
}

async fn problems(eco: &Eco) -> Vec<String> {
    eco.platform.verify_evidence_log().await.unwrap().problems
}

on_both!(evidence_proofs_bundles_and_openssl, evidence_proofs_bundles_and_openssl_body);
async fn evidence_proofs_bundles_and_openssl_body(b: Backend) {
    let eco = Eco::start(b).await;
    let sp = eco.tenant("SPINSURE", json!({})).await;
    let other = eco.tenant("SPOTHER", json!({"sensitive": false})).await;
    let (_person, card) = eco.person_with_card("見本　次郎", "1985-02-03").await;
    let (cert, sig) = eco.sign(&card, CONTRACT);
    let (status, out) = eco
        .p
        .post(
            "/v1/verifications/signature",
            &sp.key,
            json!({"certificate": cert, "signature": sig, "digest": sha256_b64(CONTRACT)}),
        )
        .await;
    assert_eq!(status, 200, "{out}");
    let evidence_id = out["evidence_id"].as_str().unwrap().to_owned();
    append(&eco.platform, &other.id, 6).await;

    // The SP fetches the proof of its record: a checkpoint is made on demand.
    let (status, proof) = eco.p.get(&format!("/v1/evidence/{evidence_id}/proof"), &sp.key).await;
    assert_eq!(status, 200, "{proof}");
    assert!(proof.get("leaf").is_none(), "sensitive-data mode: no leaf bytes (they carry the certificate)");
    let cp = &proof["checkpoint"];
    assert_eq!(cp["size"], 7);
    let leaf_hash: Hash = B64.decode(proof["leaf_hash"].as_str().unwrap()).unwrap().try_into().unwrap();
    let seq = proof["seq"].as_u64().unwrap();
    tlog::verify_inclusion(seq, 7, &leaf_hash, &hashes(&proof["inclusion_proof"]), &root_of(cp)).unwrap();
    // Another tenant's key cannot see it; an unknown id is the same 404.
    let (status, _) = eco.p.get(&format!("/v1/evidence/{evidence_id}/proof"), &other.key).await;
    assert_eq!(status, 404);
    let (status, _) = eco.p.get("/v1/evidence/ev-unknown/proof", &sp.key).await;
    assert_eq!(status, 404);
    let (status, _) = eco.p.get(&format!("/v1/evidence/{evidence_id}/proof"), "").await;
    assert_eq!(status, 401);

    // The log grows; the next proof is consistent with the later checkpoint.
    let later = append(&eco.platform, &other.id, 10).await;
    eco.platform.checkpoint().await.unwrap();
    let (status, proof) = eco.p.get(&format!("/v1/evidence/{evidence_id}/proof"), &sp.key).await;
    assert_eq!(status, 200, "{proof}");
    assert_eq!(proof["checkpoint"]["size"], 7);
    assert_eq!(proof["latest_checkpoint"]["size"], 17);
    tlog::verify_consistency(
        7,
        17,
        &root_of(&proof["checkpoint"]),
        &root_of(&proof["latest_checkpoint"]),
        &hashes(&proof["consistency_proof"]),
    )
    .unwrap();
    // A tenant outside sensitive-data mode gets the leaf bytes of its own records.
    let (status, theirs) = eco.p.get(&format!("/v1/evidence/{}/proof", later[3]), &other.key).await;
    assert_eq!(status, 200, "{theirs}");
    let leaf = B64.decode(theirs["leaf"].as_str().unwrap()).unwrap();
    assert_eq!(B64.encode(tlog::leaf_hash(&leaf)), theirs["leaf_hash"].as_str().unwrap());

    // The bundle: checked offline, and its time-stamp token by openssl.
    let bundle = eco.platform.export_evidence(&evidence_id).await.unwrap();
    assert_eq!(bundle["record"]["certificate"], cert.as_str(), "the bundle carries the certificate");
    assert!(bundle["record"]["revocation"]["crl_number"].is_u64(), "and the revocation data used");
    let report = check_bundle(&bundle, None, None).unwrap();
    assert_eq!((report.checkpoint_size, report.latest_size), (7, 17));
    let vkey = eco.platform.evidence_keys().verifier_key();
    check_bundle(&bundle, Some(&vkey), Some(eco.platform.evidence_keys().tsa_ca_certificate())).unwrap();
    let mut forged = bundle.clone();
    forged["record"]["result"] = json!("OK-ish");
    assert!(check_bundle(&forged, None, None).is_err());
    let mut forged = bundle.clone();
    let mut leaf = B64.decode(bundle["leaf"].as_str().unwrap()).unwrap();
    let n = leaf.len() / 2;
    leaf[n] ^= 1;
    forged["leaf"] = json!(B64.encode(&leaf));
    assert!(check_bundle(&forged, None, None).is_err());
    let stranger = hanko_pki::tlog::Ed25519NoteKey::generate("someone").unwrap();
    assert!(check_bundle(&bundle, Some(&hanko_pki::tlog::NoteSigner::verifier_key(&stranger)), None).is_err());

    let dir = crate::common::temp_dir("bundle");
    std::fs::write(dir.join("checkpoint.note"), bundle["checkpoint"]["note"].as_str().unwrap()).unwrap();
    std::fs::write(
        dir.join("token.der"),
        B64.decode(bundle["checkpoint"]["timestamp_token"].as_str().unwrap()).unwrap(),
    )
    .unwrap();
    let pem = |der: &[u8]| hanko_pki::der::pem::encode_string("CERTIFICATE", hanko_pki::der::pem::LineEnding::LF, der);
    std::fs::write(dir.join("tsa.pem"), pem(eco.platform.evidence_keys().tsa_certificate()).unwrap()).unwrap();
    std::fs::write(dir.join("tsa-ca.pem"), pem(eco.platform.evidence_keys().tsa_ca_certificate()).unwrap()).unwrap();
    std::fs::write(dir.join("other.note"), "hanko.invalid/other\n1\n").unwrap();
    let openssl = |data: &str| {
        Command::new("openssl")
            .args(["ts", "-verify", "-token_in", "-in", "token.der", "-data", data])
            .args(["-CAfile", "tsa-ca.pem", "-untrusted", "tsa.pem"])
            .current_dir(&dir)
            .output()
            .expect("the `openssl` binary is required for this test (it does not skip)")
    };
    let out = openssl("checkpoint.note");
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("Verification: OK"),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let out = openssl("other.note");
    assert!(!out.status.success(), "openssl accepted the token for another note");

    let report = eco.platform.verify_evidence_log().await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!((report.size, report.records, report.checkpoints), (17, 17, 2));
    assert!(report.nodes >= 8, "{report:?}");
}

/// Reads, changes and writes back one value of the platform's database.
struct Raw {
    db: Db,
}

impl Raw {
    async fn bytes(&self, sql: &str, key: i64) -> Vec<u8> {
        sqlx::query(sql).bind(key).fetch_one(self.db.pool()).await.unwrap().try_get(0).unwrap()
    }
    async fn exec(&self, sql: &str) {
        sqlx::query(sql).execute(self.db.pool()).await.unwrap();
    }
    async fn set_bytes(&self, sql: &str, value: Vec<u8>, key: i64) {
        sqlx::query(sql).bind(value).bind(key).execute(self.db.pool()).await.unwrap();
    }
}

on_both!(evidence_log_detects_any_change, evidence_log_detects_any_change_body);
async fn evidence_log_detects_any_change_body(b: Backend) {
    let eco = Eco::start(b).await;
    let sp = eco.tenant("SPAUDIT", json!({})).await;
    let ids = append(&eco.platform, &sp.id, 12).await;
    eco.platform.checkpoint().await.unwrap();
    append(&eco.platform, &sp.id, 5).await;
    eco.platform.checkpoint().await.unwrap();
    assert!(problems(&eco).await.is_empty());
    let raw = Raw { db: Db::connect(&eco.platform_db).await.unwrap() };

    // Every byte of one record's logged bytes.
    let record = raw.bytes("SELECT record FROM evidence WHERE seq = $1", 5).await;
    // (PostgreSQL runs are slower: every third byte there, all of them on SQLite.)
    let step = if b == Backend::Sqlite { 1 } else { 3 };
    for i in (0..record.len()).step_by(step) {
        let mut bad = record.clone();
        bad[i] ^= 0x01;
        raw.set_bytes("UPDATE evidence SET record = $1 WHERE seq = $2", bad, 5).await;
        assert!(!problems(&eco).await.is_empty(), "byte {i} of record 5 changed, not detected");
    }
    raw.set_bytes("UPDATE evidence SET record = $1 WHERE seq = $2", record, 5).await;
    assert!(problems(&eco).await.is_empty());

    // Every byte of a leaf hash, of an interior node, of a checkpoint's note, root and token.
    let cases: [(&str, &str, i64); 5] = [
        ("SELECT leaf_hash FROM evidence WHERE seq = $1", "UPDATE evidence SET leaf_hash = $1 WHERE seq = $2", 3),
        (
            "SELECT hash FROM evidence_nodes WHERE level = 2 AND idx = $1",
            "UPDATE evidence_nodes SET hash = $1 WHERE level = 2 AND idx = $2",
            1,
        ),
        (
            "SELECT root FROM evidence_checkpoints WHERE size = $1",
            "UPDATE evidence_checkpoints SET root = $1 WHERE size = $2",
            12,
        ),
        (
            "SELECT timestamp_token FROM evidence_checkpoints WHERE size = $1",
            "UPDATE evidence_checkpoints SET timestamp_token = $1 WHERE size = $2",
            17,
        ),
        ("SELECT leaf_hash FROM evidence WHERE seq = $1", "UPDATE evidence SET leaf_hash = $1 WHERE seq = $2", 16),
    ];
    for (read, write, key) in cases {
        let good = raw.bytes(read, key).await;
        let step = if good.len() > 64 { 17 } else { 1 };
        for i in (0..good.len()).step_by(step) {
            let mut bad = good.clone();
            bad[i] ^= 0x80;
            raw.set_bytes(write, bad, key).await;
            assert!(!problems(&eco).await.is_empty(), "{write} (key {key}) byte {i} changed, not detected");
        }
        raw.set_bytes(write, good, key).await;
    }
    let note: String = sqlx::query_scalar("SELECT note FROM evidence_checkpoints WHERE size = 12")
        .fetch_one(raw.db.pool())
        .await
        .unwrap();
    for i in 0..note.len() {
        let mut bad = note.clone().into_bytes();
        bad[i] ^= 0x01;
        let Ok(bad) = String::from_utf8(bad) else { continue };
        sqlx::query("UPDATE evidence_checkpoints SET note = $1 WHERE size = 12")
            .bind(bad)
            .execute(raw.db.pool())
            .await
            .unwrap();
        assert!(!problems(&eco).await.is_empty(), "byte {i} of the checkpoint note changed, not detected");
    }
    sqlx::query("UPDATE evidence_checkpoints SET note = $1 WHERE size = 12")
        .bind(&note)
        .execute(raw.db.pool())
        .await
        .unwrap();
    assert!(problems(&eco).await.is_empty());

    // The columns beside the record.
    for (change, undo) in [
        (
            "UPDATE evidence SET result = 'OK' WHERE seq = 7",
            "UPDATE evidence SET result = 'SIGNATURE_MISMATCH' WHERE seq = 7",
        ),
        (
            "UPDATE evidence SET created_at = created_at + 1 WHERE seq = 7",
            "UPDATE evidence SET created_at = created_at - 1 WHERE seq = 7",
        ),
        ("UPDATE evidence SET user_id = 'u-someone' WHERE seq = 7", "UPDATE evidence SET user_id = NULL WHERE seq = 7"),
    ] {
        raw.exec(change).await;
        assert!(!problems(&eco).await.is_empty(), "{change} not detected");
        raw.exec(undo).await;
    }
    let tenant_sql = format!("UPDATE evidence SET tenant_id = '{}' WHERE seq = 7", sp.id);
    raw.exec("UPDATE evidence SET tenant_id = 'TN-other' WHERE seq = 7").await;
    assert!(!problems(&eco).await.is_empty(), "a record moved to another tenant, not detected");
    raw.exec(&tenant_sql).await;
    assert!(problems(&eco).await.is_empty());

    // Reordered: two records swap places.
    raw.exec("UPDATE evidence SET seq = -1 WHERE seq = 2").await;
    raw.exec("UPDATE evidence SET seq = 2 WHERE seq = 8").await;
    raw.exec("UPDATE evidence SET seq = 8 WHERE seq = -1").await;
    let found = problems(&eco).await;
    assert!(found.iter().any(|p| p.contains("record 2")), "{found:?}");
    raw.exec("UPDATE evidence SET seq = -1 WHERE seq = 2").await;
    raw.exec("UPDATE evidence SET seq = 2 WHERE seq = 8").await;
    raw.exec("UPDATE evidence SET seq = 8 WHERE seq = -1").await;
    assert!(problems(&eco).await.is_empty());

    // Removed: one in the middle, then the last one.
    raw.exec("DELETE FROM evidence WHERE seq = 4").await;
    let found = problems(&eco).await;
    assert!(found.iter().any(|p| p.contains("records 4..4 are missing")), "{found:?}");
    raw.exec("DELETE FROM evidence WHERE seq = 16").await;
    let found = problems(&eco).await;
    assert!(found.iter().any(|p| p.contains("the head says 17")), "{found:?}");
    drop(ids);
}

on_both!(evidence_purge_keeps_the_log_verifiable, evidence_purge_keeps_the_log_verifiable_body);
async fn evidence_purge_keeps_the_log_verifiable_body(b: Backend) {
    let eco = Eco::start(b).await;
    let sp = eco.tenant("SPOLD", json!({"sensitive": false})).await;
    let ids = append(&eco.platform, &sp.id, 9).await;
    eco.platform.checkpoint().await.unwrap();

    // Not before the retention period is over.
    let soon = crate::common::START + hanko_pki::time::Duration::days(1);
    assert!(eco.platform.purge_evidence(soon).await.is_err());
    eco.clock.advance(hanko_pki::time::Duration::days(366 * 7 + 2));
    let late = append(&eco.platform, &sp.id, 3).await;
    let cutoff = crate::common::START + hanko_pki::time::Duration::days(1);
    assert_eq!(eco.platform.purge_evidence(cutoff).await.unwrap(), 9);
    assert_eq!(eco.platform.purge_evidence(cutoff).await.unwrap(), 0, "purging twice purges nothing");

    let (status, ev) = eco.p.get(&format!("/v1/evidence/{}", ids[0]), &sp.key).await;
    assert_eq!(status, 200, "{ev}");
    assert!(ev["record"].is_null() && ev["purged_at"].is_string(), "{ev}");
    let report = eco.platform.verify_evidence_log().await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!((report.records, report.purged), (12, 9));
    assert_eq!(report.emptied_early, 0);
    // A record emptied before its time (as an SP's deletion does) is counted apart.
    let (status, out) = eco.p.delete(&format!("/v1/evidence/{}", late[1]), &sp.key).await;
    assert_eq!(status, 200, "{out}");
    let report = eco.platform.verify_evidence_log().await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!((report.purged, report.emptied_early), (10, 1));
    // A purged record still has its proof (without its bytes); a kept one has its bundle.
    let (status, proof) = eco.p.get(&format!("/v1/evidence/{}/proof", ids[2]), &sp.key).await;
    assert_eq!(status, 200, "{proof}");
    assert!(proof.get("leaf").is_none());
    assert!(eco.platform.export_evidence(&ids[2]).await.is_err());
    check_bundle(&eco.platform.export_evidence(&late[2]).await.unwrap(), None, None).unwrap();
}

on_both!(two_nodes_append_one_sequence, two_nodes_append_one_sequence_body);
async fn two_nodes_append_one_sequence_body(b: Backend) {
    let eco = Eco::start(b).await;
    let sp = eco.tenant("SPBUSY", json!({})).await;
    // A second platform node on the same database and keys.
    let config = eco.platform.config().clone();
    let clock: Arc<dyn hanko_platform::Clock> = eco.clock.clone();
    let second = Arc::new(Platform::open(Db::connect(&eco.platform_db).await.unwrap(), config, clock).await.unwrap());
    let mut tasks = Vec::new();
    for node in [eco.platform.clone(), second.clone()] {
        for _ in 0..4 {
            let (node, tenant) = (node.clone(), sp.id.clone());
            tasks.push(tokio::spawn(async move {
                append(&node, &tenant, 10).await;
                node.checkpoint().await.unwrap();
            }));
        }
    }
    for t in tasks {
        t.await.unwrap();
    }
    let report = second.verify_evidence_log().await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!((report.size, report.records), (80, 80));
    assert_eq!(eco.platform.checkpoint().await.unwrap().unwrap().size, 80);
}
