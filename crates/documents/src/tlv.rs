//! BER-TLV as the IC documents use it (ISO/IEC 7816-4 §5.2, ICAO 9303-10 §4): tags of one or
//! more bytes (low five bits `1F` = more follow), lengths short or `81`/`82`/`83` long form.
//! Parsing is bounded: at most [`MAX_TAG_LEN`] tag bytes, lengths up to 16 MiB, and the caller's
//! input is never read past its end.

/// Longest tag accepted (ICAO uses at most 2 bytes, e.g. `5F 1F`, `7F 61`).
pub const MAX_TAG_LEN: usize = 3;

/// A BER-TLV that does not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TlvError {
    /// The input ended inside a tag, a length or a value.
    #[error("TLV truncated at byte {at}")]
    Truncated {
        /// Offset in the input.
        at: usize,
    },
    /// A tag longer than [`MAX_TAG_LEN`] bytes.
    #[error("TLV tag too long at byte {at}")]
    TagTooLong {
        /// Offset in the input.
        at: usize,
    },
    /// A length form this parser refuses (indefinite `80`, or above `83`).
    #[error("TLV length form {form:#04x} refused at byte {at}")]
    BadLength {
        /// The first length byte.
        form: u8,
        /// Offset in the input.
        at: usize,
    },
}

/// One parsed TLV, borrowing the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// The tag bytes (1–3), as a big-endian number: `0x61`, `0x5F1F`, `0x7F61`.
    pub tag: u32,
    /// The value.
    pub value: &'a [u8],
    /// The whole TLV, tag and length included.
    pub raw: &'a [u8],
}

/// Parses the TLV at the start of `input`; returns it and the rest.
pub fn parse_one(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), TlvError> {
    let first = *input.first().ok_or(TlvError::Truncated { at: 0 })?;
    let mut tag = u32::from(first);
    let mut i = 1;
    if first & 0x1F == 0x1F {
        loop {
            let b = *input.get(i).ok_or(TlvError::Truncated { at: i })?;
            tag = (tag << 8) | u32::from(b);
            i += 1;
            if b & 0x80 == 0 {
                break;
            }
            if i >= MAX_TAG_LEN {
                return Err(TlvError::TagTooLong { at: 0 });
            }
        }
    }
    let form = *input.get(i).ok_or(TlvError::Truncated { at: i })?;
    i += 1;
    let len = match form {
        0x00..=0x7F => usize::from(form),
        0x81..=0x83 => {
            let n = usize::from(form & 0x7F);
            let bytes = input.get(i..i + n).ok_or(TlvError::Truncated { at: i })?;
            i += n;
            bytes.iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
        }
        _ => return Err(TlvError::BadLength { form, at: i - 1 }),
    };
    let end = i.checked_add(len).filter(|&e| e <= input.len()).ok_or(TlvError::Truncated { at: i })?;
    Ok((Tlv { tag, value: &input[i..end], raw: &input[..end] }, &input[end..]))
}

/// Iterates over the TLVs that fill `input` (a constructed value). Stops at the first error.
pub fn iter(input: &[u8]) -> impl Iterator<Item = Result<Tlv<'_>, TlvError>> {
    let mut rest = Some(input);
    core::iter::from_fn(move || {
        let r = rest.take()?;
        if r.is_empty() {
            return None;
        }
        match parse_one(r) {
            Ok((t, next)) => {
                rest = Some(next);
                Some(Ok(t))
            }
            Err(e) => Some(Err(e)),
        }
    })
}

/// The first TLV with `tag` directly inside `input`.
pub fn find(input: &[u8], tag: u32) -> Result<Option<Tlv<'_>>, TlvError> {
    for t in iter(input) {
        let t = t?;
        if t.tag == tag {
            return Ok(Some(t));
        }
    }
    Ok(None)
}

/// Encodes a TLV (tag of 1–3 bytes as given by its big-endian number; DER-minimal length).
pub fn encode(tag: u32, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 6);
    let tb = tag.to_be_bytes();
    let skip = tb.iter().take_while(|&&b| b == 0).count().min(3);
    out.extend_from_slice(&tb[skip..]);
    let n = value.len();
    match n {
        0..=0x7F => out.push(n as u8),
        0x80..=0xFF => out.extend_from_slice(&[0x81, n as u8]),
        0x100..=0xFFFF => out.extend_from_slice(&[0x82, (n >> 8) as u8, n as u8]),
        _ => out.extend_from_slice(&[0x83, (n >> 16) as u8, (n >> 8) as u8, n as u8]),
    }
    out.extend_from_slice(value);
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn round_trips_short_and_long_forms_and_multibyte_tags() {
        for (tag, len) in [(0x61, 0), (0x5F1F, 0x80), (0x7F61, 0x1234), (0x77, 0x12345)] {
            let v = vec![7u8; len];
            let enc = encode(tag, &v);
            let (t, rest) = parse_one(&enc).unwrap();
            assert_eq!((t.tag, t.value.len(), rest.len(), t.raw.len()), (tag, len, 0, enc.len()));
        }
    }

    #[test]
    fn hostile_inputs_are_errors() {
        assert_eq!(parse_one(&[]), Err(TlvError::Truncated { at: 0 }));
        assert!(matches!(parse_one(&[0x61, 0x05, 1, 2]), Err(TlvError::Truncated { .. })));
        assert!(matches!(parse_one(&[0x61, 0x80]), Err(TlvError::BadLength { .. })));
        assert!(matches!(parse_one(&[0x61, 0x84, 0, 0, 0, 1]), Err(TlvError::BadLength { .. })));
        assert!(matches!(parse_one(&[0x5F, 0x81, 0x81, 0x01, 0x00]), Err(TlvError::TagTooLong { .. })));
        assert!(matches!(parse_one(&[0x61, 0x83, 0xFF, 0xFF, 0xFF]), Err(TlvError::Truncated { .. })));
        assert_eq!(iter(&[0x01, 0x00, 0x02]).filter(Result::is_err).count(), 1);
    }
}
