#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(di) = hanko_pki::DigestInfo::from_der(data) {
        // Whatever parses re-encodes to the same bytes (DER is canonical).
        assert_eq!(di.to_der().ok().as_deref(), Some(data));
    }
});
