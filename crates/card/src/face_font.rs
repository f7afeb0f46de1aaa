//! Card-face images drawn with a real font (10-card.md §7: DF25 name, DF26 address, DF2A
//! security code, and the My Number image of EF `0005`), so that a card face read from the
//! chip looks like a card face. The pure core reads no files: the caller passes the font's
//! bytes (e.g. Debian's `fonts-ipafont-gothic`, located by the authority at run time).
//!
//! Every image is 1 bit per pixel, black on white, and carries the sandbox marker
//! [`SANDBOX_MARK`] in a band along its top edge. The real images' pixel sizes are not public;
//! the sizes here \[I\] follow the printed fields of the card at about 200 dpi (a 4–5 mm name,
//! 3–4 mm address lines), and keep EF `0002` and EF `0005` well inside their sizes.

use ab_glyph::{point, Font, FontVec, PxScale, ScaleFont};

use crate::card_face::CardFaceBuildError;

/// The marker every rendered image carries: these are sandbox images, never a real card face.
pub const SANDBOX_MARK: &str = "見本 SAMPLE JPKI-TEST";

/// Height of the band that holds [`SANDBOX_MARK`], in pixels.
pub const MARK_BAND: u32 = 16;

/// A TrueType/OpenType font (collection index 0) for the card-face images.
pub struct FaceFont(FontVec);

impl core::fmt::Debug for FaceFont {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("FaceFont")
    }
}

impl FaceFont {
    /// Parses font bytes (a `.ttf`, `.otf`, or the first face of a `.ttc`).
    pub fn from_bytes(bytes: Vec<u8>) -> Result<FaceFont, CardFaceBuildError> {
        let font =
            FontVec::try_from_vec_and_index(bytes, 0).map_err(|e| CardFaceBuildError::Image(format!("font: {e}")))?;
        // A font without Japanese glyphs draws only boxes: refuse it.
        if font.glyph_id('見').0 == 0 || font.glyph_id('本').0 == 0 {
            return Err(CardFaceBuildError::Image("font: no Japanese glyphs".into()));
        }
        Ok(FaceFont(font))
    }

    /// Draws `text` at `px` pixels into a 1-bit PNG of `width`×`height` with the sandbox
    /// band on top; lines wrap at the right edge, and a text too long for the image is drawn
    /// smaller until it fits.
    pub fn render_png(&self, text: &str, width: u32, height: u32, px: f32) -> Result<Vec<u8>, CardFaceBuildError> {
        if text.trim().is_empty() || width < 64 || height <= MARK_BAND + 8 {
            return Err(CardFaceBuildError::Field("image text"));
        }
        let mut canvas = Canvas::new(width, height);
        // The marker, right-aligned in the top band.
        let mark_px = (MARK_BAND - 3) as f32;
        let mark_w = self.line_width(SANDBOX_MARK, mark_px);
        self.draw_line(&mut canvas, SANDBOX_MARK, (width as f32 - mark_w - 4.0).max(0.0), 1.0, mark_px);
        // The text below it.
        let mut size = px;
        let lines = loop {
            let lines = self.wrap(text, size, width as f32 - 8.0);
            let line_h = size * 1.15;
            if lines.len() as f32 * line_h <= (height - MARK_BAND - 2) as f32 || size <= 10.0 {
                break lines;
            }
            size *= 0.9;
        };
        let mut y = (MARK_BAND + 2) as f32;
        for line in lines {
            self.draw_line(&mut canvas, &line, 4.0, y, size);
            y += size * 1.15;
        }
        canvas.png()
    }

    fn advance(&self, c: char, px: f32) -> f32 {
        let scaled = self.0.as_scaled(PxScale::from(px));
        scaled.h_advance(scaled.glyph_id(c))
    }

    fn line_width(&self, text: &str, px: f32) -> f32 {
        text.chars().map(|c| self.advance(c, px)).sum()
    }

    /// Splits `text` into lines no wider than `max` (by character, as Japanese text wraps).
    fn wrap(&self, text: &str, px: f32, max: f32) -> Vec<String> {
        let mut lines = vec![String::new()];
        let mut x = 0.0;
        for c in text.chars() {
            let a = self.advance(c, px);
            if x + a > max && !lines.last().is_some_and(String::is_empty) {
                lines.push(String::new());
                x = 0.0;
            }
            if let Some(l) = lines.last_mut() {
                l.push(c);
            }
            x += a;
        }
        lines
    }

    /// Draws one line whose top is at `top`.
    fn draw_line(&self, canvas: &mut Canvas, text: &str, left: f32, top: f32, px: f32) {
        let scaled = self.0.as_scaled(PxScale::from(px));
        let baseline = top + scaled.ascent();
        let mut x = left;
        for c in text.chars() {
            let id = scaled.glyph_id(c);
            let glyph = id.with_scale_and_position(PxScale::from(px), point(x, baseline));
            if let Some(outline) = self.0.outline_glyph(glyph) {
                let b = outline.px_bounds();
                outline.draw(|gx, gy, coverage| {
                    if coverage >= 0.5 {
                        canvas.set(b.min.x as i64 + i64::from(gx), b.min.y as i64 + i64::from(gy));
                    }
                });
            }
            x += scaled.h_advance(id);
        }
    }
}

/// A white 1-bit canvas.
struct Canvas {
    width: u32,
    height: u32,
    stride: usize,
    pixels: Vec<u8>,
}

impl Canvas {
    fn new(width: u32, height: u32) -> Canvas {
        let stride = (width as usize).div_ceil(8);
        Canvas { width, height, stride, pixels: vec![0xFF; stride * height as usize] }
    }

    fn set(&mut self, x: i64, y: i64) {
        if (0..i64::from(self.width)).contains(&x) && (0..i64::from(self.height)).contains(&y) {
            let (x, y) = (x as usize, y as usize);
            if let Some(byte) = self.pixels.get_mut(y * self.stride + x / 8) {
                *byte &= !(0x80 >> (x % 8));
            }
        }
    }

    fn png(&self) -> Result<Vec<u8>, CardFaceBuildError> {
        crate::card_face::one_bit_png(self.width, self.height, &self.pixels)
    }
}
