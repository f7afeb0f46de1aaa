#![no_main]
use hanko_pki::cms::SignedMessage;
use hanko_pki::pades::signatures;
use libfuzzer_sys::fuzz_target;

// Hostile PDFs: finding the signatures must never panic, and whatever it accepts must hold
// its invariants (range from 0, hole exactly a <hex> string, inside the file).
fuzz_target!(|data: &[u8]| {
    let mut pdf = b"%PDF-1.7\n".to_vec();
    pdf.extend_from_slice(data);
    let Ok(found) = signatures(&pdf) else { return };
    for sig in found.into_iter().flatten() {
        let [a, b, c, d] = sig.byte_range;
        assert_eq!(a, 0);
        assert!(b < c && c + d <= pdf.len());
        assert_eq!((pdf[b], pdf[c - 1]), (b'<', b'>'));
        assert_eq!(sig.signed_content().len(), b + d);
        assert_eq!(sig.bytes_after(), pdf.len() - c - d);
        if let Ok(message) = SignedMessage::from_der(&sig.cms_der) {
            let _ = message.verify(Some(&sig.signed_content()));
        }
    }
});
