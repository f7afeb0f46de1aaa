//! The OpenAPI 3.1 document of the authority, served at `/openapi.json`: one fragment per area
//! (`src/openapi/*.json`, each `{"paths", "components"}`), merged once at first use.

use std::sync::OnceLock;

use serde_json::{json, Map, Value};

const FRAGMENTS: [(&str, &str); 4] = [
    ("counter", include_str!("openapi/counter.json")),
    ("publication", include_str!("openapi/publication.json")),
    ("services", include_str!("openapi/services.json")),
    ("phone", include_str!("openapi/phone.json")),
];

/// The merged document.
pub fn document() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| merge().to_string())
}

fn merge() -> Value {
    let (mut paths, mut components, broken) = hanko_store::http::merge_fragments(&FRAGMENTS[..]);
    for name in broken {
        // A build defect, caught by the tests below; at run time the fragment is left out
        // rather than taking the service down.
        tracing::error!(fragment = name, "OpenAPI fragment does not parse");
    }
    for (path, item) in paths.iter_mut() {
        for op in item.as_object_mut().into_iter().flat_map(|i| i.values_mut()).filter_map(Value::as_object_mut) {
            add_router_statuses(op, path.contains('{'));
        }
    }
    let section = |components: &mut Map<String, Value>, name: &str| -> Map<String, Value> {
        components.remove(name).and_then(|v| v.as_object().cloned()).unwrap_or_default()
    };
    let mut security = section(&mut components, "securitySchemes");
    security.insert(
        "verifierKey".into(),
        json!({"type": "http", "scheme": "bearer",
            "description": "API key of a registered verifier (hk_<environment>_<hex>). A platform operator adds X-Hanko-SP: <SP id>/<service id>."}),
    );
    security.insert(
        "counterKey".into(),
        json!({"type": "http", "scheme": "bearer", "description": "API key of counter staff (/v1/counter/*)."}),
    );
    security.insert(
        "operatorKey".into(),
        json!({"type": "http", "scheme": "bearer",
            "description": "API key of an operator: CA and key administration (/v1/admin/*). `hanko authority init` writes one to DATA_DIR/operator.key."}),
    );
    let mut responses = section(&mut components, "responses");
    responses.insert(
        "Problem".into(),
        json!({"description": "An error (RFC 9457)",
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}),
    );
    components.insert("securitySchemes".into(), Value::Object(security));
    components.insert("responses".into(), Value::Object(responses));
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "hanko authority",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The JPKI authority (the J-LIS role) of the hanko sandbox: counter, certificate \
                lifecycle, CRL and OCSP, serial services, consented latest 4 facts, smartphone certificates, \
                metering. Errors are application/problem+json (RFC 9457). See docs/authority.md.",
        },
        "paths": paths,
        "components": components,
    })
}

/// The statuses the router itself answers before a handler runs, on every operation they can
/// reach (each an `application/problem+json` body, see `hanko_store::http::problem_for_rejections`): 400 for
/// a path parameter that does not percent-decode and for a body that is not the operation's JSON
/// (axum's 415 and 422 are mapped to 400), 413 for a body over `api::MAX_BODY`, 401 and 403 for
/// a missing, unknown or unfit API key.
fn add_router_statuses(op: &mut Map<String, Value>, has_path_param: bool) {
    let problem = || json!({"$ref": "#/components/responses/Problem"});
    let has_body = op.contains_key("requestBody");
    let keyed = op
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|s| s.iter().any(|r| r.as_object().is_some_and(|r| !r.is_empty())));
    let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else { return };
    if responses.keys().all(|k| k == "200") && responses.values().any(|r| r.to_string().contains("ocsp-response")) {
        // OCSP answers every error as an OCSP status in a 200 (RFC 6960 §2.3).
        return;
    }
    let mut add = |code: &str| {
        responses.entry(code.to_owned()).or_insert_with(problem);
    };
    if has_path_param || has_body {
        add("400");
    }
    if has_body {
        add("413");
    }
    if keyed {
        add("401");
        add("403");
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_fragment_parses_and_every_reference_resolves() {
        let sources = [
            include_str!("api.rs"),
            include_str!("verifiers.rs"),
            include_str!("publish.rs"),
            include_str!("ocsp.rs"),
            include_str!("services.rs"),
            include_str!("consent.rs"),
            include_str!("meter.rs"),
            include_str!("phone.rs"),
        ];
        let routes = hanko_store::http::check_document(&super::FRAGMENTS, super::document(), &sources)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(routes >= 30, "found only {routes} routes");
    }
}
