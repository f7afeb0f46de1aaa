//! Metering: fees per verifier, SP, service and kind; status checks once per person per year.

use hanko_pki::time::macros::datetime;
use serde_json::{json, Value};

use crate::common::{Backend, TestAuthority};
use crate::consent::{call, consent, platform};
use crate::on_both;

fn row(report: &Value, verifier: &str, sp: &str, kind: &str) -> Option<(u64, u64)> {
    report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["verifier_id"] == verifier && r["sp_id"] == sp && r["kind"] == kind)
        .map(|r| (r["count"].as_u64().unwrap(), r["yen"].as_u64().unwrap()))
}

fn total(report: &Value, verifier: &str) -> Option<(u64, u64)> {
    report["totals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["verifier_id"] == verifier)
        .map(|r| (r["count"].as_u64().unwrap(), r["yen"].as_u64().unwrap()))
}

async fn the_meter_report_matches_the_calls(backend: Backend) {
    let t = TestAuthority::start(backend).await;
    let person = t.person("試験　花子", "1985-04-01").await;
    let card = t.card(&person).await;
    let card_id = card["card_id"].as_str().unwrap();
    let pf = platform(&t, &["SP1/web"]).await;
    let id = consent(&t, card_id, &pf, "SP1/web", &["address"]).await;
    for _ in 0..2 {
        let (status, body) =
            call(&t, "/v1/latest-facts", &pf.1, Some("SP1/web"), Some(json!({"consent_id": id}))).await;
        assert_eq!(status, 200, "{body}");
    }
    for _ in 0..3 {
        let (status, body) =
            call(&t, "/v1/serials/corresponding", &pf.1, None, Some(json!({"serial": card["signature_serial"]}))).await;
        assert_eq!(status, 200, "{body}");
    }
    // A refused call is not billed.
    let (status, _) =
        call(&t, "/v1/serials/corresponding", &pf.1, None, Some(json!({"serial": card["auth_serial"]}))).await;
    assert_eq!(status, 400);

    let (status, report) = t.operator_get("/v1/admin/meter?month=2026-04").await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["month"], "2026-04");
    assert_eq!(row(&report, &pf.0, "SP1", "latest-facts"), Some((2, 40)));
    assert_eq!(row(&report, &pf.0, &pf.0, "corresponding-serial"), Some((3, 6)));
    assert_eq!(total(&report, &pf.0), Some((5, 46)));
    assert_eq!(report["total_yen"], 46);
    // Other months are empty; the month is checked; only the counter reads the meter.
    let (_, may) = t.operator_get("/v1/admin/meter?month=2026-05").await;
    assert_eq!(may["rows"], json!([]));
    assert_eq!(t.operator_get("/v1/admin/meter?month=2026-4").await.0, 400);
    assert_eq!(call(&t, "/v1/admin/meter?month=2026-04", &pf.1, None, None).await.0, 403);
    // The library call gives the same.
    let lib = t.authority.meter_report("2026-04").await.unwrap();
    assert_eq!(lib.total_yen, 46);
}
on_both!(meter_report, the_meter_report_matches_the_calls);

async fn a_status_check_counts_once_per_person_per_year(backend: Backend) {
    let t = TestAuthority::start(backend).await;
    let a = t.card(&t.person("試験　花子", "1985-04-01").await).await;
    let b = t.card(&t.person("見本　次郎", "1990-01-01").await).await;
    let (sv_id, sv) = t.verifier("signature", "signature verifier").await;
    let pf = platform(&t, &[]).await;
    let report = |key: String, serials: Vec<Value>| {
        let t = &t;
        async move {
            let (status, body) = call(t, "/v1/status-checks", &key, None, Some(json!({"serials": serials}))).await;
            assert_eq!(status, 200, "{body}");
            body
        }
    };
    let (sa, sb) = (a["signature_serial"].clone(), b["signature_serial"].clone());
    let counted = |month: &'static str, verifier: String| {
        let t = &t;
        async move {
            let (_, report) = t.operator_get(&format!("/v1/admin/meter?month={month}")).await;
            row(&report, &verifier, &verifier, "status-check").map_or(0, |(count, _)| count)
        }
    };
    let body =
        report(sv.clone(), vec![sa.clone(), sb.clone(), sa.clone(), json!("0102"), a["auth_serial"].clone()]).await;
    // status_checks_answer_an_acknowledgement_only: nothing about persons, unknown serials or
    // earlier counts (a linkage oracle otherwise) — only what the caller sent.
    assert_eq!(body, json!({"acknowledged": true, "year": 2026, "serials": 4}));
    // Distinct serials: 4; the unknown one and the auth certificate (not checked by a signature
    // verifier) are ignored: 2 persons counted.
    assert_eq!(counted("2026-04", sv_id.clone()).await, 2);
    let body = report(sv.clone(), vec![sa.clone(), sb.clone()]).await;
    assert_eq!(body, json!({"acknowledged": true, "year": 2026, "serials": 2}));
    assert_eq!(counted("2026-04", sv_id.clone()).await, 2);
    // Another verifier counts for itself; two certificates of one person count once.
    report(pf.1.clone(), vec![sa.clone(), a["auth_serial"].clone()]).await;
    assert_eq!(counted("2026-04", pf.0.clone()).await, 1);
    // Later in the same JST year: nothing new. The next JST year: again.
    t.clock.set(datetime!(2026-12-31 14:59:59 UTC));
    report(sv.clone(), vec![sa.clone(), sb.clone()]).await;
    assert_eq!(counted("2026-12", sv_id.clone()).await, 0);
    t.clock.set(datetime!(2026-12-31 15:00 UTC));
    let body = report(sv.clone(), vec![sa.clone(), sb.clone()]).await;
    assert_eq!(body["year"], 2027);
    let (_, april) = t.operator_get("/v1/admin/meter?month=2026-04").await;
    assert_eq!(row(&april, &sv_id, &sv_id, "status-check"), Some((2, 0)));
    let (_, january) = t.operator_get("/v1/admin/meter?month=2027-01").await;
    assert_eq!(row(&january, &sv_id, &sv_id, "status-check"), Some((2, 0)));

    // Budget: 10,000 serials pass (beyond the default body limit), 10,001 do not.
    let many: Vec<Value> = (1..=10_000u64).map(|i| json!(format!("{:016X}", i))).collect();
    let body = report(sv.clone(), many.clone()).await;
    assert_eq!(body, json!({"acknowledged": true, "year": 2027, "serials": 10_000}));
    let mut too_many = many;
    too_many.push(json!("FFFF"));
    let (status, _) = call(&t, "/v1/status-checks", &sv, None, Some(json!({"serials": too_many}))).await;
    assert_eq!(status, 400);
    let (status, _) = call(&t, "/v1/status-checks", &sv, None, Some(json!({"serials": ["zz"]}))).await;
    assert_eq!(status, 400);
}
on_both!(status_checks, a_status_check_counts_once_per_person_per_year);
