#![no_main]
//! The demo bank's handling of attacker-influenced input, without a server: the first byte picks.
//!
//! - 0: a webhook body after its signature check (what it changes on an account; the stored body
//!   never keeps the latest facts).
//! - 1: a stored verification record rendered as the record page: nothing of the record reaches
//!   the page unescaped (no `<` from a value survives).
//! - 2: the contract PDF of a customer whose name and account number come from the input: the
//!   PDF keeps its shape (header, one trailer, the name cannot end a string early).
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else { return };
    match which % 3 {
        0 => {
            if let Some((_, stored)) = hanko_bank::fuzzing::webhook_event(rest) {
                let v: serde_json::Value = serde_json::from_str(&stored).expect("the stored body is JSON");
                let facts = &v["data"]["latest_facts"];
                assert!(facts.is_null() || facts == "[on the account]", "latest facts stored with the event");
            }
        }
        1 => {
            if let Some((ja, en)) = hanko_bank::fuzzing::record_page(rest) {
                for page in [ja, en] {
                    assert!(!page.contains("<script"), "markup from a record reached the page");
                }
            }
        }
        _ => {
            let Ok(text) = std::str::from_utf8(rest) else { return };
            let (name, number) = text.split_once('\n').unwrap_or((text, "0000000"));
            let pdf = hanko_bank::fuzzing::contract(name, number);
            assert!(pdf.starts_with(b"%PDF-"), "a PDF header");
            let trailers = pdf.windows(7).filter(|w| *w == b"trailer").count();
            assert_eq!(trailers, 1, "one trailer: the input added none");
        }
    }
});
