//! Review h7: a hostile sender's extreme `webhook-timestamp` is refused, never a panic.

#[test]
fn an_extreme_webhook_timestamp_is_refused_not_a_panic() {
    for t in ["-9223372036854775808", "9223372036854775807"] {
        let r = std::panic::catch_unwind(|| {
            hanko_sp::verify_webhook("whsec_AAAAAAAA", "evt", t, "v1,AAAA", b"{}", 1_780_000_000, 300)
        });
        assert!(matches!(r, Ok(Err(_))), "timestamp {t}: {}", if r.is_err() { "panicked" } else { "accepted" });
    }
}
