//! The face photo for the browser. Three of the documents store JPEG 2000, which browsers do
//! not show: the counter decodes it server-side with `hayro-jpeg2000` (pure Rust, `unsafe`
//! forbidden, no C library; its SIMD feature is left off) and answers PNG. A passport's JPEG is
//! answered as it is (`image/jpeg`, with `nosniff`). The work is bounded: the encoded photo and
//! the decoded pixel count have ceilings, checked before decoding.

use hanko_documents::{Photo, PhotoFormat};

/// The largest photo accepted from a chip (bytes; a DG2 is typically 15–25 KB).
pub const MAX_PHOTO_BYTES: usize = 512 * 1024;
/// The most pixels decoded (a document photo is about 300×400).
pub const MAX_PHOTO_PIXELS: u64 = 2048 * 2048;

/// A photo that cannot be shown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PhotoError {
    /// Larger than [`MAX_PHOTO_BYTES`].
    #[error("the photo is {0} bytes (at most {MAX_PHOTO_BYTES})")]
    TooLarge(usize),
    /// More pixels than [`MAX_PHOTO_PIXELS`].
    #[error("the photo is {width}×{height} pixels (at most {MAX_PHOTO_PIXELS} pixels)")]
    TooManyPixels {
        /// Width.
        width: u32,
        /// Height.
        height: u32,
    },
    /// The decoder refused it.
    #[error("the photo does not decode: {0}")]
    Decode(String),
    /// A colour space the page does not show (CMYK, an unknown one).
    #[error("the photo's colour space ({0}) is not shown")]
    ColourSpace(String),
    /// Not what the format says.
    #[error("the photo is not a {0}")]
    NotFormat(&'static str),
}

/// The photo as something a browser shows: `(content type, bytes)`. JPEG 2000 becomes PNG.
pub fn to_png(photo: &Photo) -> Result<(&'static str, Vec<u8>), PhotoError> {
    if photo.bytes.len() > MAX_PHOTO_BYTES {
        return Err(PhotoError::TooLarge(photo.bytes.len()));
    }
    match photo.format {
        PhotoFormat::Jpeg => {
            if !photo.bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
                return Err(PhotoError::NotFormat("JPEG"));
            }
            Ok(("image/jpeg", photo.bytes.clone()))
        }
        PhotoFormat::Jpeg2000 => Ok(("image/png", jp2_to_png(&photo.bytes)?)),
    }
}

fn jp2_to_png(data: &[u8]) -> Result<Vec<u8>, PhotoError> {
    use hayro_jpeg2000::{ColorSpace, DecodeSettings, DecoderContext, Image};
    let image = Image::new(data, &DecodeSettings::default()).map_err(|e| PhotoError::Decode(format!("{e:?}")))?;
    let (width, height) = (image.width(), image.height());
    if width == 0 || height == 0 || u64::from(width) * u64::from(height) > MAX_PHOTO_PIXELS {
        return Err(PhotoError::TooManyPixels { width, height });
    }
    let alpha = image.has_alpha();
    let colour = match image.color_space() {
        ColorSpace::Gray => png::ColorType::Grayscale,
        ColorSpace::RGB => png::ColorType::Rgb,
        ColorSpace::Icc { num_channels: 1, .. } => png::ColorType::Grayscale,
        ColorSpace::Icc { num_channels: 3, .. } => png::ColorType::Rgb,
        other => return Err(PhotoError::ColourSpace(format!("{other:?}").chars().take(40).collect())),
    };
    let colour = match (colour, alpha) {
        (png::ColorType::Grayscale, true) => png::ColorType::GrayscaleAlpha,
        (png::ColorType::Rgb, true) => png::ColorType::Rgba,
        (c, _) => c,
    };
    let mut ctx = DecoderContext::default();
    let decoded = image.decode(&mut ctx).map_err(|e| PhotoError::Decode(format!("{e:?}")))?;
    let pixels = decoded.data_u8();
    let expected = width as usize * height as usize * colour.samples();
    if pixels.len() != expected {
        return Err(PhotoError::Decode(format!("{} samples for {width}×{height} {colour:?}", pixels.len())));
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(colour);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| PhotoError::Decode(e.to_string()))?;
    writer.write_image_data(&pixels).map_err(|e| PhotoError::Decode(e.to_string()))?;
    writer.finish().map_err(|e| PhotoError::Decode(e.to_string()))?;
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use hanko_documents::Trust;

    fn photo(format: PhotoFormat, bytes: Vec<u8>) -> Photo {
        Photo { format, bytes, trust: Trust::Signed }
    }

    #[test]
    fn the_synthetic_portrait_becomes_a_png() {
        let (ct, png) = to_png(&photo(PhotoFormat::Jpeg2000, hanko_card::SYNTHETIC_PORTRAIT_JP2.to_vec())).unwrap();
        assert_eq!(ct, "image/png");
        let decoder = png::Decoder::new(std::io::Cursor::new(&png));
        let reader = decoder.read_info().unwrap();
        assert_eq!((reader.info().width, reader.info().height), (90, 110));
    }

    #[test]
    fn hostile_photos_are_refused_not_panicked_on() {
        assert!(to_png(&photo(PhotoFormat::Jpeg2000, vec![0; 16])).is_err());
        assert!(matches!(
            to_png(&photo(PhotoFormat::Jpeg2000, vec![0; MAX_PHOTO_BYTES + 1])),
            Err(PhotoError::TooLarge(_))
        ));
        assert_eq!(to_png(&photo(PhotoFormat::Jpeg, b"<svg>".to_vec())), Err(PhotoError::NotFormat("JPEG")));
        let mut cut = hanko_card::SYNTHETIC_PORTRAIT_JP2.to_vec();
        for n in [1, 40, 100, 400, cut.len() / 2] {
            cut.truncate(cut.len().saturating_sub(n));
            let _ = to_png(&photo(PhotoFormat::Jpeg2000, cut.clone()));
        }
    }
}
