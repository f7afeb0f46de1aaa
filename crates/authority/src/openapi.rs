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
    let mut paths = Map::new();
    let mut schemas = Map::new();
    for (name, text) in FRAGMENTS {
        // A fragment that does not parse is a build defect, caught by the tests below; at run
        // time it is left out rather than taking the service down.
        let Ok(fragment) = serde_json::from_str::<Value>(text) else {
            tracing::error!(fragment = name, "OpenAPI fragment does not parse");
            continue;
        };
        if let Some(p) = fragment["paths"].as_object() {
            paths.extend(p.clone());
        }
        if let Some(s) = fragment["components"]["schemas"].as_object() {
            schemas.extend(s.clone());
        }
    }
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
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "verifierKey": {"type": "http", "scheme": "bearer",
                    "description": "API key of a registered verifier (hk_<environment>_<hex>). A platform operator adds X-Hanko-SP: <SP id>/<service id>."},
                "counterKey": {"type": "http", "scheme": "bearer", "description": "API key of counter staff."},
            },
            "responses": {
                "Problem": {"description": "An error (RFC 9457)",
                    "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}},
            },
        },
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_fragment_parses_and_every_reference_resolves() {
        for (name, text) in FRAGMENTS {
            serde_json::from_str::<Value>(text).unwrap_or_else(|e| panic!("openapi/{name}.json: {e}"));
        }
        let doc: Value = serde_json::from_str(document()).unwrap();
        let text = document();
        for part in text.split("\"$ref\":\"#/components/").skip(1) {
            let target = &part[..part.find('"').unwrap()];
            let mut node = &doc["components"];
            for seg in target.split('/') {
                node = &node[seg];
            }
            assert!(!node.is_null(), "dangling $ref #/components/{target}");
        }
        for path in ["/v1/counter/persons", "/v1/admin/verifiers", "/openapi.json"] {
            assert!(doc["paths"][path].is_object(), "{path} is not documented");
        }
    }
}
