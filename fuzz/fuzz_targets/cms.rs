#![no_main]
use hanko_pki::cms::SignedMessage;
use libfuzzer_sys::fuzz_target;

// Hostile bytes: parsing and verifying (attached, detached, every signer) must never panic.
fuzz_target!(|data: &[u8]| {
    if let Ok(message) = SignedMessage::from_der(data) {
        let _ = message.verify(None);
        let _ = message.verify(Some(b"hanko fuzz content"));
        let _ = message.verify_all(message.attached_content().map_or(Some(&b""[..]), |_| None));
        for certificate in message.certificates() {
            assert!(!certificate.is_empty());
        }
    }
});
