#![no_main]
//! Sessions of hostile APDUs against a personalised card: never a panic, always a status word.
//! One card per process (key generation is slow); each input starts from a power-on reset, so
//! persistent state (PIN counters) carries over between inputs as it would on a real card.
use std::sync::{Mutex, OnceLock};

use hanko_card::{Card, Device, Response};
use libfuzzer_sys::fuzz_target;

fn card() -> &'static Mutex<Card> {
    static CARD: OnceLock<Mutex<Card>> = OnceLock::new();
    CARD.get_or_init(|| Mutex::new(hanko_card::sample::issue(Device::Card, Vec::new()).expect("sample card").card))
}

fuzz_target!(|data: &[u8]| {
    let mut card = card().lock().unwrap_or_else(|e| e.into_inner());
    card.reset();
    // The input is a sequence of APDUs, each prefixed by a one-byte length.
    let mut rest = data;
    while let [len, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        let (apdu, next) = tail.split_at(n);
        let raw = card.process(apdu);
        assert!(Response::parse(&raw).is_ok(), "every answer carries a status word");
        rest = next;
    }
});
