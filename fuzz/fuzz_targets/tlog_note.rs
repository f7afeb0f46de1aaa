#![no_main]
use hanko_pki::tlog::{Checkpoint, NoteVerifier, SignedNote};
use libfuzzer_sys::fuzz_target;

// Hostile bytes as a signed checkpoint note: parsing, re-encoding, checkpoint parsing and
// signature checking must never panic; whatever parses re-encodes to a note that parses the same.
fuzz_target!(|data: &[u8]| {
    let verifier = NoteVerifier::new("hanko.invalid/fuzz", [7; 32]).unwrap();
    if let Ok(note) = SignedNote::parse(data) {
        let again = SignedNote::parse(note.to_text().as_bytes()).unwrap();
        assert_eq!(again, note);
        let _ = note.verify(&verifier);
        if let Ok(checkpoint) = Checkpoint::parse_text(note.text()) {
            assert_eq!(Checkpoint::parse_text(&checkpoint.to_text().unwrap()).unwrap(), checkpoint);
        }
    }
    let _ = Checkpoint::open(data, &verifier, "hanko.invalid/fuzz");
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = NoteVerifier::parse(text);
        let _ = Checkpoint::parse_text(text);
    }
});
