//! The OpenAPI 3.1 document of the platform, served at `/openapi.json`: one fragment per area
//! (`src/openapi/*.json`, each `{"paths", "components"}`), merged once at first use.

use std::sync::OnceLock;

use serde_json::{json, Value};

const FRAGMENTS: &[(&str, &str)] = &[
    ("tenants", include_str!("openapi/tenants.json")),
    ("verification", include_str!("openapi/verification.json")),
    ("evidence", include_str!("openapi/evidence.json")),
    ("formats", include_str!("openapi/formats.json")),
    ("identity", include_str!("openapi/identity.json")),
    ("meter", include_str!("openapi/meter.json")),
    ("monitoring", include_str!("openapi/monitoring.json")),
    ("webhooks", include_str!("openapi/webhooks.json")),
    ("consents", include_str!("openapi/consents.json")),
];

/// The merged document.
pub fn document() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| merge().to_string())
}

fn merge() -> Value {
    let (paths, mut components, broken) = hanko_store::http::merge_fragments(FRAGMENTS);
    for name in broken {
        // A build defect, caught by the tests below; at run time the fragment is left out
        // rather than taking the service down.
        tracing::error!(fragment = name, "OpenAPI fragment does not parse");
    }
    let common = json!({
        "securitySchemes": {
            "spKey": {"type": "http", "scheme": "bearer",
                "description": "An SP's API key (pk_<environment>_<hex>): acts for its tenant only."},
            "adminKey": {"type": "http", "scheme": "bearer",
                "description": "The platform's admin key: tenants and keys. `hanko platform init` writes one to DATA_DIR/admin.key."}
        },
        "responses": {
            "Problem": {"description": "An error (RFC 9457)",
                "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
        },
        "schemas": {
            "Problem": {"type": "object", "required": ["type", "title", "status", "detail"],
                "properties": {"type": {"type": "string"}, "title": {"type": "string"},
                    "status": {"type": "integer"}, "detail": {"type": "string"},
                    "code": {"type": "string", "description": "A stable code, where the SP tells refusals apart (the consent errors)"}}}
        }
    });
    hanko_store::http::extend_components(&mut components, &common);
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "hanko platform",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The platform operator (PF事業者) of the hanko sandbox: signature and login \
                verification for service providers, evidence, users, revocation monitoring. Errors are \
                application/problem+json (RFC 9457). See docs/platform.md.",
        },
        "paths": paths,
        "components": components,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_fragment_parses_every_reference_resolves_and_every_route_is_documented() {
        let sources = [
            include_str!("api.rs"),
            include_str!("tenants.rs"),
            include_str!("verify.rs"),
            include_str!("formats.rs"),
            include_str!("evidence.rs"),
            include_str!("login.rs"),
            include_str!("userapi.rs"),
            include_str!("meter.rs"),
            include_str!("monitoring.rs"),
            include_str!("webhooks.rs"),
            include_str!("consents.rs"),
        ];
        let routes = hanko_store::http::check_document(super::FRAGMENTS, super::document(), &sources)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(routes >= 7, "found only {routes} routes");
    }
}
