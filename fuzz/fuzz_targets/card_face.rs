#![no_main]
use hanko_card::{AgeRecord, CardFace, CardFaceInfo, MyNumberImage};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The 券面AP's records from a hostile card: parse strictly, never panic.
    if let Ok(face) = CardFace::parse(data) {
        let _ = (face.signed_digest_info(), face.chip_public_key(), face.photo_jp2().len(), face.signature().len());
        assert_eq!(face.as_bytes(), data);
    }
    let _ = AgeRecord::parse(data).map(|r| r.chip_key().len());
    let _ = MyNumberImage::parse(data).map(|r| r.png().len());
    let _ = CardFaceInfo::parse(data);
});
