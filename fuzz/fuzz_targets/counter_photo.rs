#![no_main]
//! The counter's photo conversion (a hostile chip's photo → PNG for the browser): the first
//! byte picks the format (even: JPEG 2000, odd: JPEG); never a panic, bounded work.
use hanko_documents::{Photo, PhotoFormat, Trust};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, bytes)) = data.split_first() else { return };
    let format = if first % 2 == 0 { PhotoFormat::Jpeg2000 } else { PhotoFormat::Jpeg };
    let photo = Photo { format, bytes: bytes.to_vec(), trust: Trust::Signed };
    if let Ok((content_type, out)) = hanko_counter::to_png(&photo) {
        assert!(content_type == "image/png" && out.starts_with(b"\x89PNG") || content_type == "image/jpeg");
    }
});
