#![no_main]
use hanko_pki::ocsp::{build_request, ParsedRequest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = ParsedRequest::from_der(data) {
        // Whatever parses is within budget, re-encodes (unsigned, RFC 8954 nonce) and parses back
        // to the same CertIDs and nonce.
        let der = build_request(request.ids(), request.nonce()).expect("a parsed request re-encodes");
        let back = ParsedRequest::from_der(&der).expect("our own request parses");
        assert_eq!(back.ids(), request.ids());
        assert_eq!(back.nonce(), request.nonce());
    }
});
