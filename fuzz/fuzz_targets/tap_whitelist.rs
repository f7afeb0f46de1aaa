#![no_main]
use hanko_pki::verify::TrustStore;
use hanko_pki::PolicySet;
use hanko_sp::tap::whitelist::{ConversionKey, Gate, Whitelist};
use libfuzzer_sys::fuzz_target;

// The 2015 offline gate's inputs from outside: the whitelist (JSON, from the ticket seller) and
// the certificate a tapped card gives. Parse strictly, never panic.
fuzz_target!(|data: &[u8]| {
    let key = || ConversionKey::from_hex(&"07".repeat(32)).expect("a fixed key");
    let (list, cert) = match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &data[..0]),
    };
    let Ok(mut list) = serde_json::from_slice::<Whitelist>(list) else { return };
    // Under the gate's key check value, the entries themselves are what is checked.
    list.key_check = key().check_value();
    if let Ok(mut gate) = Gate::new(key(), &list) {
        let trust = TrustStore::new(PolicySet::sandbox());
        let at = hanko_pki::time::OffsetDateTime::UNIX_EPOCH;
        let _ = gate.admit(&trust, cert, at);
    }
});
