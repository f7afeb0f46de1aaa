//! The OpenAPI 3.1 document of the provider, served at `/openapi.json`: one fragment per area
//! (`src/openapi/*.json`, each `{"paths", "components"}`), merged once at first use.

use std::sync::OnceLock;

use serde_json::{json, Value};

const FRAGMENTS: &[(&str, &str)] = &[
    ("oidc", include_str!("openapi/oidc.json")),
    ("sign", include_str!("openapi/sign.json")),
    ("app", include_str!("openapi/app.json")),
    ("wallet", include_str!("openapi/wallet.json")),
    ("admin", include_str!("openapi/admin.json")),
];

/// The merged document.
pub fn document() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| merge().to_string())
}

fn merge() -> Value {
    let (paths, mut components, broken) = hanko_store::http::merge_fragments(FRAGMENTS);
    for name in broken {
        tracing::error!(fragment = name, "OpenAPI fragment does not parse");
    }
    let common = json!({
        "securitySchemes": {
            "accessToken": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                "description": "An access token from the token endpoint."},
            "adminKey": {"type": "http", "scheme": "bearer",
                "description": "The provider's admin key (`hanko idp init` writes one to DATA_DIR/admin.key)."}
        },
        "responses": {
            "Problem": {"description": "An error (RFC 9457)",
                "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
        },
        "schemas": {
            "Problem": {"type": "object", "required": ["type", "title", "status", "detail"],
                "properties": {"type": {"type": "string"}, "title": {"type": "string"},
                    "status": {"type": "integer"}, "detail": {"type": "string"}}}
        }
    });
    hanko_store::http::extend_components(&mut components, &common);
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "hanko idp",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The authentication app service (デジタル認証アプリ) of the hanko sandbox: an OpenID \
                Connect provider for the My Number Card authentication and signature APIs. OIDC endpoints answer \
                RFC 6749 errors; the others application/problem+json. See docs/idp.md.",
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
            include_str!("authorize.rs"),
            include_str!("token.rs"),
            include_str!("sign.rs"),
            include_str!("app.rs"),
            include_str!("wallet.rs"),
            include_str!("admin.rs"),
        ];
        let routes = hanko_store::http::check_document(super::FRAGMENTS, super::document(), &sources)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(routes >= 15, "found only {routes} routes");
    }
}
