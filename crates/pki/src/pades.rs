//! Signatures in PDF files (ISO 32000-1 §12.8, PAdES — ETSI EN 319 142-1): where they are,
//! what bytes each one covers, and its CMS.
//!
//! A signature dictionary (`/Type /Sig`, or `/DocTimeStamp`) carries `/ByteRange [a b c d]`
//! and `/Contents <hex>`: the signed bytes are `a..a+b` and `c..c+d` of the file, and the hole
//! between them must be exactly the `/Contents` hex string holding the DER CMS (zero-padded).
//! [`signatures`] finds each one and checks that its byte range is sane: it starts at 0, the
//! hole is the `/Contents` string and nothing else, and the range ends inside the file; bytes
//! after the end of the range are reported ([`PdfSignature::bytes_after`]: an incremental
//! update made after signing — a later signature, a form fill, or a change the signer never
//! saw). [`PdfSignature::signed_content`] is the detached content to give
//! `Verifier::verify_cms` with [`PdfSignature::cms_der`].
//!
//! **Why a scanner, not a PDF parser.** A real signature's `/Contents` is a literal hex string
//! at the file offsets the `/ByteRange` names — it cannot live in a compressed object stream —
//! so the signature dictionaries are found by their `/ByteRange` key and proven by the offsets
//! themselves: a candidate counts only if its hole is exactly a `/Contents <…>` value. This
//! reads each byte a bounded number of times ([`MAX_PDF_LEN`], [`MAX_SIGNATURES`],
//! [`MAX_CONTENTS_HEX`], a bounded window around each dictionary), where a full PDF parser
//! (xref streams, object streams, filters) would do far more work on hostile input and still
//! not give the byte offsets this check needs. What this module does not judge: whether the
//! appended bytes change what the document shows (that needs a full renderer); the caller
//! reports them.

use crate::cms;

/// Largest PDF accepted, in bytes.
pub const MAX_PDF_LEN: usize = 32 * 1024 * 1024;
/// Most signature dictionaries (and `/ByteRange` candidates) looked at in one file.
pub const MAX_SIGNATURES: usize = 16;
/// Longest `/Contents` hex string accepted, in characters (1 MiB of DER).
pub const MAX_CONTENTS_HEX: usize = 2 * 1024 * 1024;
/// How far from the `/ByteRange` key the rest of its dictionary is looked for, in bytes.
const DICT_WINDOW: usize = 16 * 1024;

/// Why a PDF, or one of its signatures, was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PadesError {
    /// The file exceeds [`MAX_PDF_LEN`].
    #[error("PDF is {len} bytes, more than the {max} accepted")]
    TooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// No `%PDF-` header in the first 1024 bytes.
    #[error("not a PDF file (no %PDF- header)")]
    NotPdf,
    /// More `/ByteRange` entries than [`MAX_SIGNATURES`].
    #[error("more than {max} signatures in one PDF")]
    TooManySignatures {
        /// The limit.
        max: usize,
    },
    /// A `/ByteRange` that is not an array of four non-negative integers.
    #[error("signature at byte {offset}: /ByteRange is not [a b c d]")]
    ByteRangeSyntax {
        /// Offset of the `/ByteRange` key.
        offset: usize,
    },
    /// A `/ByteRange` that does not start at 0, overlaps, or ends past the file.
    #[error("signature at byte {offset}: /ByteRange {range:?} {why}")]
    ByteRangeInsane {
        /// Offset of the `/ByteRange` key.
        offset: usize,
        /// The range.
        range: [u64; 4],
        /// What is wrong.
        why: &'static str,
    },
    /// The hole is not exactly the `/Contents` hex string.
    #[error("signature at byte {offset}: the hole of /ByteRange is not exactly the /Contents hex string ({why})")]
    HoleNotContents {
        /// Offset of the `/ByteRange` key.
        offset: usize,
        /// What is wrong.
        why: &'static str,
    },
    /// `/Contents` longer than [`MAX_CONTENTS_HEX`].
    #[error("signature at byte {offset}: /Contents is {len} hex digits, more than the {max} accepted")]
    ContentsTooLarge {
        /// Offset of the `/ByteRange` key.
        offset: usize,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// `/Contents` does not hold one DER value followed only by zero padding.
    #[error("signature at byte {offset}: /Contents is not DER followed by zero padding")]
    ContentsNotDer {
        /// Offset of the `/ByteRange` key.
        offset: usize,
    },
}

/// The `/SubFilter` of a signature dictionary: how its `/Contents` is encoded.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SubFilter {
    /// `adbe.pkcs7.detached`: a detached CMS over the byte range (PDF 1.x, "PKCS#7").
    AdbePkcs7Detached,
    /// `ETSI.CAdES.detached`: PAdES baseline, a detached CAdES CMS over the byte range.
    EtsiCadesDetached,
    /// `ETSI.RFC3161`: a document timestamp (an RFC 3161 token over the byte range).
    EtsiRfc3161,
    /// Anything else (`adbe.pkcs7.sha1`, `adbe.x509.rsa_sha1` …), or absent (empty name).
    Other(String),
}

impl SubFilter {
    fn from_name(name: &str) -> SubFilter {
        match name {
            "adbe.pkcs7.detached" => SubFilter::AdbePkcs7Detached,
            "ETSI.CAdES.detached" => SubFilter::EtsiCadesDetached,
            "ETSI.RFC3161" => SubFilter::EtsiRfc3161,
            other => SubFilter::Other(other.to_owned()),
        }
    }

    /// The PDF name.
    pub fn name(&self) -> &str {
        match self {
            SubFilter::AdbePkcs7Detached => "adbe.pkcs7.detached",
            SubFilter::EtsiCadesDetached => "ETSI.CAdES.detached",
            SubFilter::EtsiRfc3161 => "ETSI.RFC3161",
            SubFilter::Other(name) => name,
        }
    }

    /// A detached CMS `SignedData` over the byte range, which `Verifier::verify_cms` checks.
    pub fn is_detached_cms(&self) -> bool {
        matches!(self, SubFilter::AdbePkcs7Detached | SubFilter::EtsiCadesDetached)
    }
}

/// One signature of a PDF, its byte range checked.
#[derive(Clone, PartialEq, Eq)]
pub struct PdfSignature<'a> {
    pdf: &'a [u8],
    /// Offset of its `/ByteRange` key in the file.
    pub offset: usize,
    /// `[a, b, c, d]`: the signed bytes are `a..a+b` and `c..c+d` (`a` is 0).
    pub byte_range: [usize; 4],
    /// The `/SubFilter`.
    pub sub_filter: SubFilter,
    /// `/Type /DocTimeStamp` (rather than `/Sig` or absent).
    pub doc_timestamp: bool,
    /// The `/M` string as written (`D:20260401120000+09'00'`): the signer's claim, not proof.
    pub claimed_time: Option<String>,
    /// The DER CMS of `/Contents`, without its zero padding.
    pub cms_der: Vec<u8>,
}

impl core::fmt::Debug for PdfSignature<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PdfSignature")
            .field("offset", &self.offset)
            .field("byte_range", &self.byte_range)
            .field("sub_filter", &self.sub_filter)
            .field("doc_timestamp", &self.doc_timestamp)
            .field("claimed_time", &self.claimed_time)
            .field("cms_der", &format_args!("{} bytes", self.cms_der.len()))
            .field("bytes_after", &self.bytes_after())
            .finish()
    }
}

impl PdfSignature<'_> {
    /// The signed bytes: both ranges, concatenated (the detached content of the CMS).
    pub fn signed_content(&self) -> Vec<u8> {
        let [a, b, c, d] = self.byte_range;
        let mut out = Vec::with_capacity(b + d);
        out.extend_from_slice(&self.pdf[a..a + b]);
        out.extend_from_slice(&self.pdf[c..c + d]);
        out
    }

    /// Where the signed bytes end (`c + d`).
    pub fn signed_end(&self) -> usize {
        self.byte_range[2] + self.byte_range[3]
    }

    /// Bytes of the file after the signed range: 0 when the signature covers the whole file;
    /// more after an incremental update made once this signature was in place.
    pub fn bytes_after(&self) -> usize {
        self.pdf.len() - self.signed_end()
    }

    /// The signature covers the whole file.
    pub fn covers_whole_file(&self) -> bool {
        self.bytes_after() == 0
    }
}

/// Finds every signature dictionary of `pdf`, in file order, each checked on its own: a
/// malformed one is an `Err` in its slot, the others are still returned. The outer error is
/// for the file as a whole (too large, not a PDF, too many signatures). No signature at all
/// is an empty list.
pub fn signatures(pdf: &[u8]) -> Result<Vec<Result<PdfSignature<'_>, PadesError>>, PadesError> {
    if pdf.len() > MAX_PDF_LEN {
        return Err(PadesError::TooLarge { len: pdf.len(), max: MAX_PDF_LEN });
    }
    if find(&pdf[..pdf.len().min(1024)], b"%PDF-", 0).is_none() {
        return Err(PadesError::NotPdf);
    }
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = find(pdf, b"/ByteRange", from) {
        from = at + b"/ByteRange".len();
        if !pdf.get(from).is_none_or(|&b| is_delimiter(b) || is_space(b)) {
            continue; // a longer name such as /ByteRanges
        }
        if found.len() == MAX_SIGNATURES {
            return Err(PadesError::TooManySignatures { max: MAX_SIGNATURES });
        }
        found.push(signature_at(pdf, at));
    }
    Ok(found)
}

fn signature_at(pdf: &[u8], offset: usize) -> Result<PdfSignature<'_>, PadesError> {
    let range = byte_range(pdf, offset + b"/ByteRange".len()).ok_or(PadesError::ByteRangeSyntax { offset })?;
    let insane = |why| PadesError::ByteRangeInsane { offset, range, why };
    let [a, b, c, d] = range;
    if a != 0 {
        return Err(insane("does not start at 0"));
    }
    let len = pdf.len() as u64;
    let first_end = b; // a = 0
    if first_end == 0 || c <= first_end || c.checked_add(d).is_none_or(|end| end > len) {
        return Err(insane("is out of order or reaches past the end of the file"));
    }
    let [b, c, d] = [b, c, d].map(|v| v as usize); // all ≤ len, which is a usize
    let hole = &pdf[b..c];
    let not_contents = |why| PadesError::HoleNotContents { offset, why };
    if hole.len() < 2 || hole[0] != b'<' || hole[hole.len() - 1] != b'>' {
        return Err(not_contents("the hole is not a <hex> string"));
    }
    let hex = &hole[1..hole.len() - 1];
    if hex.len() > MAX_CONTENTS_HEX {
        return Err(PadesError::ContentsTooLarge { offset, len: hex.len(), max: MAX_CONTENTS_HEX });
    }
    if !hex.iter().all(|&h| h.is_ascii_hexdigit() || is_space(h)) {
        return Err(not_contents("the hole holds more than hex digits"));
    }
    // The key just before the hole must be /Contents (a few spaces apart at most).
    let before = trim_end_spaces(&pdf[b.saturating_sub(256)..b]);
    if !before.ends_with(b"/Contents") {
        return Err(not_contents("the string before the hole is not the value of /Contents"));
    }
    // The /ByteRange key and the hole belong to the same object.
    let between = if offset < b { &pdf[offset..b] } else { &pdf[c..offset] };
    if between.len() > DICT_WINDOW || find(between, b"endobj", 0).is_some() {
        return Err(not_contents("the /Contents string is in another object than the /ByteRange, or far from it"));
    }
    let cms_der = der_of_padded_hex(hex).ok_or(PadesError::ContentsNotDer { offset })?;

    // The rest of the dictionary: a window around the key and the hole, hole skipped.
    let lo = offset.min(b).saturating_sub(DICT_WINDOW);
    let hi = (offset.max(c) + DICT_WINDOW).min(pdf.len());
    let dict = Window { head: &pdf[lo..b.max(lo)], tail: &pdf[c.min(hi)..hi] };
    let sub_filter =
        dict.name_after(b"/SubFilter").map(|n| SubFilter::from_name(&n)).unwrap_or(SubFilter::Other(String::new()));
    let doc_timestamp = dict.name_after(b"/Type").as_deref() == Some("DocTimeStamp");
    let claimed_time = dict.literal_after(b"/M");
    Ok(PdfSignature { pdf, offset, byte_range: [0, b, c, d], sub_filter, doc_timestamp, claimed_time, cms_der })
}

/// `[a b c d]` after the key at `at`: four non-negative integers of at most 12 digits.
fn byte_range(pdf: &[u8], mut at: usize) -> Option<[u64; 4]> {
    at = skip_spaces(pdf, at);
    if pdf.get(at) != Some(&b'[') {
        return None;
    }
    at += 1;
    let mut out = [0u64; 4];
    for slot in out.iter_mut() {
        at = skip_spaces(pdf, at);
        let start = at;
        while pdf.get(at).is_some_and(u8::is_ascii_digit) && at - start < 12 {
            at += 1;
        }
        if at == start || pdf.get(at).is_some_and(u8::is_ascii_digit) {
            return None;
        }
        *slot = std::str::from_utf8(&pdf[start..at]).ok()?.parse().ok()?;
    }
    at = skip_spaces(pdf, at);
    (pdf.get(at) == Some(&b']')).then_some(out)
}

/// The DER value at the start of `hex` (decoded), provided only `0` digits follow it.
fn der_of_padded_hex(hex: &[u8]) -> Option<Vec<u8>> {
    let digits: Vec<u8> = hex.iter().copied().filter(|h| !is_space(*h)).collect();
    let mut bytes = Vec::with_capacity(digits.len().div_ceil(2));
    for pair in digits.chunks(2) {
        let hi = (pair[0] as char).to_digit(16)?;
        let lo = pair.get(1).map_or(Some(0), |&l| (l as char).to_digit(16))?;
        bytes.push((hi * 16 + lo) as u8);
    }
    let len = der_len(&bytes)?;
    if bytes[len..].iter().any(|&b| b != 0) {
        return None;
    }
    bytes.truncate(len);
    (len <= cms::MAX_MESSAGE_LEN).then_some(bytes)
}

/// Length of the DER TLV at the start of `bytes` (definite length, SEQUENCE).
fn der_len(bytes: &[u8]) -> Option<usize> {
    if bytes.first() != Some(&0x30) {
        return None;
    }
    let first = *bytes.get(1)?;
    let (header, body) = if first < 0x80 {
        (2, first as usize)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | *bytes.get(2 + i)? as usize;
        }
        (2 + n, len)
    };
    let total = header.checked_add(body)?;
    (total <= bytes.len()).then_some(total)
}

/// The dictionary around one signature, minus its `/Contents` hole.
struct Window<'a> {
    head: &'a [u8],
    tail: &'a [u8],
}

impl Window<'_> {
    /// The value of `key` in the innermost dictionary around the hole: the last occurrence
    /// before it (within the same object) or the first after it.
    fn value_start(&self, key: &[u8]) -> Option<(&[u8], usize)> {
        // Limit the head to the current object: after the last `obj` keyword.
        let head_from = rfind(self.head, b"obj").map_or(0, |i| i + 3);
        let head = &self.head[head_from..];
        let tail_to = find(self.tail, b"endobj", 0).unwrap_or(self.tail.len());
        let tail = &self.tail[..tail_to];
        for part in [head, tail] {
            let mut from = 0;
            let mut last = None;
            while let Some(i) = find(part, key, from) {
                from = i + key.len();
                let next = part.get(from).copied();
                if next.is_some_and(|n| is_space(n) || is_delimiter(n)) {
                    last = Some(from);
                }
            }
            if let Some(at) = last {
                return Some((part, at));
            }
        }
        None
    }

    fn name_after(&self, key: &[u8]) -> Option<String> {
        let (part, at) = self.value_start(key)?;
        let at = skip_spaces(part, at);
        if part.get(at) != Some(&b'/') {
            return None;
        }
        let end =
            part[at + 1..].iter().position(|&b| is_space(b) || is_delimiter(b)).map_or(part.len(), |p| at + 1 + p);
        let name = &part[at + 1..end];
        (name.len() <= 127).then(|| String::from_utf8_lossy(name).into_owned())
    }

    fn literal_after(&self, key: &[u8]) -> Option<String> {
        let (part, at) = self.value_start(key)?;
        let at = skip_spaces(part, at);
        if part.get(at) != Some(&b'(') {
            return None;
        }
        let end = part[at + 1..].iter().take(64).position(|&b| b == b')')?;
        let text = &part[at + 1..at + 1 + end];
        text.iter().all(|b| b.is_ascii_graphic() || *b == b' ').then(|| String::from_utf8_lossy(text).into_owned())
    }
}

fn is_space(b: u8) -> bool {
    matches!(b, b'\0' | b'\t' | b'\n' | b'\x0c' | b'\r' | b' ')
}

fn is_delimiter(b: u8) -> bool {
    matches!(b, b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%')
}

fn skip_spaces(bytes: &[u8], mut at: usize) -> usize {
    while bytes.get(at).is_some_and(|&b| is_space(b)) {
        at += 1;
    }
    at
}

fn trim_end_spaces(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().rposition(|&b| !is_space(b)).map_or(0, |p| p + 1);
    &bytes[..end]
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack.get(from..)?.windows(needle.len()).position(|w| w == needle).map(|p| p + from)
}

fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::cms::{sign, Encapsulation, SignedMessage};
    use crate::testutil::{ca, signature_cert};
    use crate::{CaKind, DigestAlgorithm};

    const HOLE: usize = 8192;

    /// A one-page-less PDF with one signature dictionary whose CMS (by `signer`) covers the
    /// byte range; `sub_filter` as given.
    fn signed_pdf(sub_filter: &str, cms_for: impl Fn(&[u8]) -> Vec<u8>) -> Vec<u8> {
        let head = format!(
            "%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n2 0 obj\n<< /Type /Sig /Filter /Adobe.PPKLite \
             /SubFilter /{sub_filter} /M (D:20260101090000+09'00') /ByteRange [0 {:<10} {:<10} {:<10}] /Contents ",
            0, 0, 0
        );
        let tail = " >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n";
        let b = head.len();
        let c = b + HOLE + 2;
        let d = tail.len();
        let head = head.replacen(&format!("{:<10} {:<10} {:<10}", 0, 0, 0), &format!("{b:<10} {c:<10} {d:<10}"), 1);
        assert_eq!(head.len(), b);
        let mut pdf = head.into_bytes();
        pdf.push(b'<');
        pdf.extend(std::iter::repeat_n(b'0', HOLE));
        pdf.push(b'>');
        pdf.extend_from_slice(tail.as_bytes());
        let mut content = pdf[..b].to_vec();
        content.extend_from_slice(&pdf[c..]);
        let hex = hex::encode(cms_for(&content));
        assert!(hex.len() <= HOLE);
        pdf[b + 1..b + 1 + hex.len()].copy_from_slice(hex.as_bytes());
        pdf
    }

    fn fixture() -> Vec<u8> {
        let ca = ca(CaKind::Signature);
        let (key, cert) = signature_cert(&ca);
        signed_pdf("ETSI.CAdES.detached", |content| {
            sign(&key, &cert, content, Encapsulation::Detached, DigestAlgorithm::Sha256, None, &[ca.certificate_der()])
                .unwrap()
        })
    }

    fn only(pdf: &[u8]) -> Result<PdfSignature<'_>, PadesError> {
        let mut all = signatures(pdf).unwrap();
        assert_eq!(all.len(), 1);
        all.remove(0)
    }

    #[test]
    fn finds_the_signature_and_its_cms_verifies_over_the_byte_range() {
        let pdf = fixture();
        let sig = only(&pdf).unwrap();
        assert_eq!(sig.sub_filter, SubFilter::EtsiCadesDetached);
        assert!(sig.sub_filter.is_detached_cms() && !sig.doc_timestamp);
        assert_eq!(sig.claimed_time.as_deref(), Some("D:20260101090000+09'00'"));
        assert!(sig.covers_whole_file());
        assert_eq!(sig.signed_content().len(), pdf.len() - HOLE - 2);
        let cms = SignedMessage::from_der(&sig.cms_der).unwrap();
        cms.verify(Some(&sig.signed_content())).unwrap();
    }

    #[test]
    fn bytes_appended_after_signing_are_reported_and_the_signature_still_verifies() {
        let mut pdf = fixture();
        let update = b"3 0 obj\n<< /Annot (changed after signing) >>\nendobj\n%%EOF\n";
        pdf.extend_from_slice(update);
        let sig = only(&pdf).unwrap();
        assert_eq!(sig.bytes_after(), update.len());
        assert!(!sig.covers_whole_file());
        SignedMessage::from_der(&sig.cms_der).unwrap().verify(Some(&sig.signed_content())).unwrap();
    }

    #[test]
    fn a_changed_signed_byte_breaks_the_cms() {
        let mut pdf = fixture();
        let at = find(&pdf, b"Catalog", 0).unwrap();
        pdf[at] = b'K';
        let sig = only(&pdf).unwrap();
        assert!(SignedMessage::from_der(&sig.cms_der).unwrap().verify(Some(&sig.signed_content())).is_err());
    }

    fn edit(pdf: &[u8], from: &str, to: &str) -> Vec<u8> {
        assert_eq!(from.len(), to.len(), "edits keep offsets");
        let at = find(pdf, from.as_bytes(), 0).unwrap();
        let mut out = pdf.to_vec();
        out[at..at + from.len()].copy_from_slice(to.as_bytes());
        out
    }

    fn range_text(pdf: &[u8]) -> String {
        let at = find(pdf, b"[0 ", 0).unwrap();
        let end = find(pdf, b"]", at).unwrap();
        String::from_utf8(pdf[at..=end].to_vec()).unwrap()
    }

    #[test]
    fn insane_byte_ranges_are_refused() {
        let pdf = fixture();
        let range = range_text(&pdf);
        let nums: Vec<usize> = range[1..range.len() - 1].split_whitespace().map(|n| n.parse().unwrap()).collect();
        let (b, c, d) = (nums[1], nums[2], nums[3]);
        let with = |a: usize, b: usize, c: usize, d: usize| {
            let text = format!("[{a} {b:<10} {c:<10} {d:<10}]");
            let padded = format!("{text:<width$}", width = range.len());
            only(&edit(&pdf, &range, &padded[..range.len()])).map(|_| ())
        };
        let insane = |r: Result<(), PadesError>| matches!(r, Err(PadesError::ByteRangeInsane { .. }));
        assert!(insane(with(1, b, c, d)), "not from 0");
        assert!(insane(with(0, b, c, d + 1)), "past the end");
        assert!(insane(with(0, c, b, d)), "out of order");
        let not_contents = |r: Result<(), PadesError>| matches!(r, Err(PadesError::HoleNotContents { .. }));
        assert!(not_contents(with(0, b - 1, c, d)), "hole starts early");
        assert!(not_contents(with(0, b, c + 1, d - 1)), "hole ends late");
        assert!(not_contents(with(0, b + 1, c, d)), "hole starts late");
        // The signature over a range that skips more than /Contents: a different content.
        assert!(matches!(
            only(&edit(&pdf, &range, &range.replacen("[0 ", "[0x", 1))),
            Err(PadesError::ByteRangeSyntax { .. })
        ));
    }

    #[test]
    fn a_hole_that_is_not_the_contents_value_is_refused() {
        let pdf = fixture();
        let renamed = edit(&pdf, "/Contents <", "/Content2 <");
        assert!(matches!(only(&renamed), Err(PadesError::HoleNotContents { .. })));
        let garbage = edit(&pdf, "000000>", "0000g0>");
        assert!(matches!(only(&garbage), Err(PadesError::HoleNotContents { .. })));
        let trailing = edit(&pdf, "000000>", "000010>");
        assert_eq!(only(&trailing), Err(PadesError::ContentsNotDer { offset: find(&pdf, b"/ByteRange", 0).unwrap() }));
    }

    /// `head` + `<3000…>` + `tail`, with `[0 b c d]` filled into `head`'s `RANGE`.
    fn hand_made(head: &str, tail: &str) -> Vec<u8> {
        let range_len = "[0 0000000000 0000000000 0000000000]".len();
        let b = head.len() - "RANGE".len() + range_len;
        let hole = "<3000000000>";
        let c = b + hole.len();
        let range = format!("[0 {b:010} {c:010} {:010}]", tail.len());
        format!("{}{hole}{tail}", head.replace("RANGE", &range)).into_bytes()
    }

    #[test]
    fn a_contents_in_another_object_or_far_away_is_refused() {
        let pdf =
            hand_made("%PDF-1.7\n1 0 obj\n<< /ByteRange RANGE >>\nendobj\n2 0 obj\n<< /Contents ", " >>\nendobj\n");
        assert!(matches!(only(&pdf), Err(PadesError::HoleNotContents { .. })), "{:?}", only(&pdf));
        let far = format!("%PDF-1.7\n1 0 obj\n<< /ByteRange RANGE {} /Contents ", " ".repeat(DICT_WINDOW + 1));
        let pdf = hand_made(&far, " >>\nendobj\n");
        assert!(matches!(only(&pdf), Err(PadesError::HoleNotContents { .. })));
        // The same, adjacent and in one object: accepted (the minimal DER `30 00`).
        let pdf = hand_made("%PDF-1.7\n1 0 obj\n<< /ByteRange RANGE /Contents ", " >>\nendobj\n");
        assert_eq!(only(&pdf).unwrap().cms_der, vec![0x30, 0x00]);
    }

    #[test]
    fn file_level_limits() {
        assert_eq!(signatures(b"hello").unwrap_err(), PadesError::NotPdf);
        assert!(signatures(b"%PDF-1.7\n%%EOF\n").unwrap().is_empty());
        let mut many = b"%PDF-1.7\n".to_vec();
        for _ in 0..=MAX_SIGNATURES {
            many.extend_from_slice(b"/ByteRange [0 1 2 3]\n");
        }
        assert_eq!(signatures(&many).unwrap_err(), PadesError::TooManySignatures { max: MAX_SIGNATURES });
        let big = vec![b' '; MAX_PDF_LEN + 1];
        assert!(matches!(signatures(&big), Err(PadesError::TooLarge { .. })));
        // A longer name is not the key.
        assert!(signatures(b"%PDF-1.7\n/ByteRanges [0 1 2 3]\n").unwrap().is_empty());
    }

    #[test]
    fn doc_timestamps_and_other_sub_filters_are_named() {
        let pdf = fixture();
        let ts = edit(&pdf, "/Type /Sig /Filter /Adobe.PPKLite", "/Type /DocTimeStamp              ");
        let ts = edit(&ts, "ETSI.CAdES.detached", "ETSI.RFC3161       ");
        let sig = only(&ts).unwrap();
        assert!(sig.doc_timestamp);
        assert_eq!(sig.sub_filter, SubFilter::EtsiRfc3161);
        assert!(!sig.sub_filter.is_detached_cms());
        let sha1 = edit(&pdf, "ETSI.CAdES.detached", "adbe.pkcs7.sha1    ");
        assert_eq!(only(&sha1).unwrap().sub_filter, SubFilter::Other("adbe.pkcs7.sha1".into()));
    }
}
