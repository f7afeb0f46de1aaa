#![no_main]
use hanko_pki::crl::{CrlIndex, ParsedCrl};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Whatever parses can be walked and indexed without panicking, and the index agrees with
    // the entries it was built from.
    if let Ok(crl) = ParsedCrl::from_der(data) {
        let _ = crl.entry_count();
        let entries: Vec<_> = crl.entries().collect();
        if let Ok(index) = CrlIndex::from_crl(&crl) {
            assert_eq!(index.len(), entries.len());
            for entry in entries.iter().flatten() {
                let revocation = index.lookup(&entry.serial()).expect("an indexed serial is found");
                assert_eq!(revocation.reason, entry.reason());
            }
            let _ = index.memory_bytes();
        }
    }
});
