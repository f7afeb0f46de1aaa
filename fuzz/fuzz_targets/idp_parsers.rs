#![no_main]
//! The idp's parsers of attacker-controlled input, without a server: the first byte picks one.
//!
//! - 0: authorization queries and form bodies (`parse_params`): never a panic; a parsed map
//!   written back as a query parses to the same map (no parameter lost, none smuggled in).
//! - 1: a client assertion as the token endpoint reads it before any key is fetched: the JWS
//!   header (only RS256 / ES256 go on) and the unverified claims (iss, sub, aud as a string or a
//!   one-element array, exp, iat, nbf, jti).
//! - 2: the app API's approval body (`Approval`, with the input-assist files).
//! - 3: the admin API's client registration (`NewClient`) and its validation (redirect URIs,
//!   JWKS, the JWE recipient key and algorithms).
//! - 4: the signature API's body (`NewSignTransaction`).
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else { return };
    match which % 5 {
        0 => {
            let Ok(raw) = std::str::from_utf8(rest) else { return };
            if let Ok(map) = hanko_idp::fuzzing::parse_params(raw) {
                let again = hanko_idp::fuzzing::parse_params(&query(&map)).expect("a written-back query parses");
                assert_eq!(again, map, "parse → write → parse changed the parameters");
            }
        }
        1 => {
            let Ok(assertion) = std::str::from_utf8(rest) else { return };
            if let Ok(header) = jsonwebtoken::decode_header(assertion) {
                let _ = matches!(header.alg, jsonwebtoken::Algorithm::RS256 | jsonwebtoken::Algorithm::ES256);
                let _ = header.kid.as_deref().map(str::len);
            }
            if let Ok(claims) = jsonwebtoken::dangerous::insecure_decode_claims::<Value>(assertion) {
                let _ = match claims.get("aud") {
                    Some(Value::String(s)) => Some(s.as_str()),
                    Some(Value::Array(a)) if a.len() == 1 => a[0].as_str(),
                    _ => None,
                };
                for name in ["exp", "iat", "nbf"] {
                    let _ = claims.get(name).and_then(Value::as_i64);
                }
                let _ = claims.get("jti").and_then(Value::as_str).map(str::len);
            }
        }
        2 => {
            let _ = serde_json::from_slice::<hanko_idp::Approval>(rest);
        }
        3 => {
            if let Ok(new) = serde_json::from_slice::<hanko_idp::NewClient>(rest) {
                let _ = new.config.validate();
                let _ = hanko_idp::valid_client_id(new.client_id.as_deref().unwrap_or_default());
            }
        }
        _ => {
            let _ = serde_json::from_slice::<hanko_idp::NewSignTransaction>(rest);
        }
    }
});

/// The map written back as an application/x-www-form-urlencoded query (RFC 3986 escapes).
fn query(map: &std::collections::HashMap<String, String>) -> String {
    fn enc(s: &str) -> String {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    }
    map.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&")
}
