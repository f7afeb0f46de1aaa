#![no_main]
use hanko_pki::tsp::{TimeStampRequest, TimeStampResponse, TimeStampToken};
use hanko_pki::DigestAlgorithm;
use libfuzzer_sys::fuzz_target;

// Hostile bytes as an RFC 3161 request, response or token: parsing and verifying must never
// panic (the "CA" is the input itself, so every verification path is reached).
fuzz_target!(|data: &[u8]| {
    let _ = TimeStampRequest::from_der(data);
    if let Ok(response) = TimeStampResponse::from_der(data) {
        if let Ok(token) = response.token_der() {
            let _ = TimeStampToken::from_der(&token);
        }
    }
    if let Ok(token) = TimeStampToken::from_der(data) {
        let imprint = token.tst_info().message_imprint.hashed_message.as_bytes().to_vec();
        let _ = token.gen_time();
        let _ = token.verify(DigestAlgorithm::Sha256, &imprint, Some(1), data);
        let _ = token.verify(DigestAlgorithm::Sha512, &imprint, None, data);
    }
});
