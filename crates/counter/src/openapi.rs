//! The OpenAPI 3.1 document of the counter, served at `/openapi.json` (`src/openapi/counter.json`).

use std::sync::OnceLock;

use serde_json::{json, Value};

const FRAGMENTS: [(&str, &str); 1] = [("counter", include_str!("openapi/counter.json"))];

/// The merged document.
pub(crate) fn document() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| merge().to_string())
}

fn merge() -> Value {
    let (paths, mut components, broken) = hanko_store::http::merge_fragments(&FRAGMENTS[..]);
    for name in broken {
        tracing::error!(fragment = name, "OpenAPI fragment does not parse");
    }
    hanko_store::http::extend_components(
        &mut components,
        &json!({
            "securitySchemes": {
                "staffToken": {"type": "http", "scheme": "bearer",
                    "description": "The staff token hanko check serve prints once (its URL /?token=…)."},
                "staffCookie": {"type": "apiKey", "in": "cookie", "name": "hanko_counter_staff",
                    "description": "The browser's sign-in (HttpOnly, SameSite=Strict). POSTs with it must carry the page's Origin."}
            },
            "responses": {"Problem": {"description": "An error (RFC 9457) with a stable `code` and `detail_ja`",
                "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}}
        }),
    );
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "hanko counter check",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The counter check app of the hanko sandbox (hanko check serve): read and verify an IC \
                identity document (My Number Card, driver's licence, residence card, passport) and keep the record \
                the law asks for. Errors are application/problem+json (RFC 9457). See docs/check.md.",
        },
        "security": [{"staffToken": []}, {"staffCookie": []}],
        "paths": paths,
        "components": components,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_route_is_documented_and_every_reference_resolves() {
        let sources =
            [include_str!("lib.rs"), include_str!("pages.rs"), include_str!("checks.rs"), include_str!("records.rs")];
        let routes = hanko_store::http::check_document(&super::FRAGMENTS, super::document(), &sources)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(routes, 13, "the routes found");
    }
}
