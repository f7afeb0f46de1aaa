//! What every service's HTTP API shares (feature `http`): `application/problem+json` answers
//! (RFC 9457), the rewrite of axum's own refusals into them, and the merge of per-area OpenAPI
//! fragments. The services keep their own error types and statuses; only the wire form is here.
//! [`metrics`]: each service's Prometheus metrics, the request-measuring layer and `/metrics`.
//! [`page`]: what the HTML pages share (escaping, cookies, the language, security headers).

use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

pub mod metrics;
pub mod page;

/// The RFC 9457 body of `status` with `detail` (`type` is `about:blank`, `title` the reason
/// phrase). Add members (a stable `code`) before answering with [`problem`].
pub fn problem_body(status: StatusCode, detail: &str) -> Value {
    json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or("error"),
        "status": status.as_u16(),
        "detail": detail,
    })
}

/// An `application/problem+json` answer.
pub fn problem(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
    response
}

/// axum's own refusals (a body that is not JSON, a wrong method, a too-large body) answer in
/// `text/plain` or with no body; this makes them `application/problem+json` like every other
/// error, keeping their headers. A JSON body that does not fit the operation's schema (axum: 422)
/// or a missing or wrong `Content-Type` (axum: 415) becomes a 400. Problem answers and OCSP
/// answers (RFC 6960 errors travel inside an `application/ocsp-response`) pass unchanged.
/// Use with `axum::middleware::map_response`.
pub async fn problem_for_rejections(response: Response) -> Response {
    let mut status = response.status();
    let content_type = response.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !(status.is_client_error() || status.is_server_error())
        || content_type.starts_with("application/problem+json")
        || content_type.starts_with("application/ocsp-response")
    {
        return response;
    }
    if matches!(status, StatusCode::UNPROCESSABLE_ENTITY | StatusCode::UNSUPPORTED_MEDIA_TYPE) {
        status = StatusCode::BAD_REQUEST;
    }
    let (parts, body) = response.into_parts();
    let detail =
        axum::body::to_bytes(body, 4096).await.map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
    let detail = if detail.is_empty() { status.canonical_reason().unwrap_or("error").to_owned() } else { detail };
    let mut out = problem(status, &problem_body(status, &detail));
    for (name, value) in parts.headers.iter().filter(|(n, _)| *n != CONTENT_TYPE && *n != CONTENT_LENGTH) {
        out.headers_mut().insert(name.clone(), value.clone());
    }
    out
}

/// Merges OpenAPI fragments (`(name, JSON text)`, each `{"paths", "components"}`) into their
/// paths and components; a fragment that does not parse is left out and its name returned (a
/// build defect each service's test catches; at run time the service logs it and keeps going).
pub fn merge_fragments<'a>(fragments: &[(&'a str, &str)]) -> (Map<String, Value>, Map<String, Value>, Vec<&'a str>) {
    let mut paths = Map::new();
    let mut components = Map::new();
    let mut broken = Vec::new();
    for (name, text) in fragments {
        let Ok(fragment) = serde_json::from_str::<Value>(text) else {
            broken.push(*name);
            continue;
        };
        if let Some(p) = fragment["paths"].as_object() {
            paths.extend(p.clone());
        }
        extend_components(&mut components, &fragment["components"]);
    }
    (paths, components, broken)
}

/// Adds every entry of each section of `more` (`{"schemas": {…}, "responses": {…}}`) to
/// `components`.
pub fn extend_components(components: &mut Map<String, Value>, more: &Value) {
    let Some(sections) = more.as_object() else { return };
    for (section, entries) in sections {
        if let (Some(target), Some(entries)) =
            (components.entry(section.clone()).or_insert_with(|| json!({})).as_object_mut(), entries.as_object())
        {
            target.extend(entries.clone());
        }
    }
}

/// The checks every service's OpenAPI test makes, as one function: each fragment parses, every
/// `$ref` of the merged `document` resolves, and every route registered in `sources` (the text
/// of the files that call `.route("…")`; the OpenAPI spelling of `{*rest}` is `{rest}`) is a
/// path of the document. The number of routes found, or what is wrong.
pub fn check_document(fragments: &[(&str, &str)], document: &str, sources: &[&str]) -> Result<usize, String> {
    for (name, text) in fragments {
        serde_json::from_str::<Value>(text).map_err(|e| format!("openapi/{name}.json: {e}"))?;
    }
    let doc: Value = serde_json::from_str(document).map_err(|e| format!("the merged document: {e}"))?;
    for part in document.split("\"$ref\":\"#/components/").skip(1) {
        let target = part.split('"').next().unwrap_or_default();
        let mut node = &doc["components"];
        for seg in target.split('/') {
            node = &node[seg];
        }
        if node.is_null() {
            return Err(format!("dangling $ref #/components/{target}"));
        }
    }
    let mut routes = 0;
    for source in sources {
        for part in source.split(".route(").skip(1) {
            let Some(path) = part.trim_start().strip_prefix('"').and_then(|p| p.split('"').next()) else {
                continue;
            };
            let path = path.replace("{*", "{");
            if !doc["paths"][&path].is_object() {
                return Err(format!("route {path} is not in the OpenAPI document"));
            }
            routes += 1;
        }
    }
    Ok(routes)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod check_tests {
    #[test]
    fn an_undocumented_route_or_a_dangling_reference_is_reported() {
        let fragment = r##"{"paths": {"/a": {"get": {"responses": {"200": {"$ref": "#/components/responses/X"}}}}}}"##;
        let doc =
            serde_json::json!({"paths": {"/a": {"get": {"responses": {"200": {"$ref": "#/components/responses/X"}}}}},
                                     "components": {}})
            .to_string();
        let err = super::check_document(&[("f", fragment)], &doc, &[]).unwrap_err();
        assert!(err.contains("dangling $ref"), "{err}");
        let doc = serde_json::json!({"paths": {"/a": {}}, "components": {}}).to_string();
        assert_eq!(super::check_document(&[], &doc, &[r#".route("/a", get(x))"#]), Ok(1));
        let err = super::check_document(&[], &doc, &[r#".route("/b/{*rest}", get(x))"#]).unwrap_err();
        assert!(err.contains("route /b/{rest}"), "{err}");
        assert!(super::check_document(&[("broken", "{")], &doc, &[]).unwrap_err().contains("openapi/broken.json"));
    }
}
