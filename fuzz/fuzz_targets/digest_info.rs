#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(di) = hanko_pki::DigestInfo::from_der(data) {
        // Whatever parses re-encodes and parses back to the same value.
        let der = di.to_der().expect("a parsed DigestInfo encodes");
        assert_eq!(hanko_pki::DigestInfo::from_der(&der).ok(), Some(di));
    }
});
