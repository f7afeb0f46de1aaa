//! Headers of the three outermost CRL structures, which may exceed `der` 0.7's 256 MiB length cap.
//!
//! Below [`Length::MAX`] everything is delegated to [`der::Header`] / [`der::Length`]. Above it
//! (up to 4 GiB) the length is the X.690 §8.1.3.5 long form with four length octets, `0x84`
//! followed by the big-endian length — minimal, as DER (§10.1) requires, since such a length
//! needs all four octets.

use der::{Decode, Encode, ErrorKind, Header, Length, Reader, SliceReader, Tag};

/// The long-form initial octet announcing four length octets.
const FOUR_LENGTH_OCTETS: u8 = 0x84;
/// Identifier octet + at most five length octets.
const MAX_HEADER_LEN: usize = 6;

/// Appends the header of a `tag` value of `len` octets.
pub(super) fn write_header(tag: Tag, len: usize, out: &mut Vec<u8>) -> der::Result<()> {
    if let Ok(length) = Length::try_from(len) {
        return Header::new(tag, length)?.encode(out);
    }
    let len = u32::try_from(len).map_err(|_| der::Error::from(ErrorKind::Overflow))?;
    tag.encode(out)?;
    out.push(FOUR_LENGTH_OCTETS);
    out.extend_from_slice(&len.to_be_bytes());
    Ok(())
}

/// Length in octets of the header [`write_header`] writes.
pub(super) fn header_len(len: usize) -> der::Result<usize> {
    match Length::try_from(len) {
        Ok(length) => usize::try_from(Header::new(Tag::Sequence, length)?.encoded_len()?),
        Err(_) => {
            u32::try_from(len).map_err(|_| der::Error::from(ErrorKind::Overflow))?;
            Ok(MAX_HEADER_LEN)
        }
    }
}

/// A decoded header: the tag, the value length and the header's own length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct BigHeader {
    pub(super) tag: Tag,
    pub(super) len: usize,
    pub(super) header_len: usize,
}

/// Reads the header at the start of `input`. Does not check that the value fits in `input`.
pub(super) fn read_header(input: &[u8]) -> der::Result<BigHeader> {
    let window = input.get(..MAX_HEADER_LEN).unwrap_or(input);
    let mut reader = SliceReader::new(window)?;
    let tag = Tag::decode(&mut reader)?;
    let len = match Length::decode(&mut reader) {
        Ok(length) => usize::try_from(length)?,
        // der stops at Length::MAX: only a four-octet length above it is ours to read.
        Err(e) if e.kind() == ErrorKind::Overflow && window.get(1) == Some(&FOUR_LENGTH_OCTETS) => {
            let octets: [u8; 4] = window.get(2..MAX_HEADER_LEN).and_then(|s| s.try_into().ok()).ok_or(
                der::Error::from(ErrorKind::Incomplete {
                    expected_len: Length::new(MAX_HEADER_LEN as u16),
                    actual_len: Length::try_from(window.len())?,
                }),
            )?;
            return Ok(BigHeader { tag, len: u32::from_be_bytes(octets) as usize, header_len: MAX_HEADER_LEN });
        }
        Err(e) => return Err(e),
    };
    Ok(BigHeader { tag, len, header_len: usize::try_from(reader.position())? })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn small_lengths_match_der() {
        for len in [0usize, 1, 127, 128, 255, 256, 65_535, 65_536, 0x0FFF_FFFF] {
            let mut ours = Vec::new();
            write_header(Tag::Sequence, len, &mut ours).unwrap();
            let theirs = Header::new(Tag::Sequence, len).unwrap().to_der().unwrap();
            assert_eq!(ours, theirs, "{len}");
            assert_eq!(header_len(len).unwrap(), ours.len());
            let h = read_header(&ours).unwrap();
            assert_eq!((h.tag, h.len, h.header_len), (Tag::Sequence, len, ours.len()));
        }
    }

    #[test]
    fn big_lengths_round_trip() {
        for len in [0x1000_0000usize, 0x3456_7890, u32::MAX as usize] {
            let mut out = Vec::new();
            write_header(Tag::Sequence, len, &mut out).unwrap();
            assert_eq!(out[..2], [0x30, 0x84]);
            assert_eq!(header_len(len).unwrap(), 6);
            let h = read_header(&out).unwrap();
            assert_eq!((h.len, h.header_len), (len, 6));
        }
        assert!(write_header(Tag::Sequence, u32::MAX as usize + 1, &mut Vec::new()).is_err());
    }

    #[test]
    fn rejects_bad_headers() {
        assert!(read_header(&[]).is_err());
        assert!(read_header(&[0x30]).is_err());
        assert!(read_header(&[0x30, 0x80]).is_err(), "indefinite length");
        assert!(read_header(&[0x30, 0x85, 1, 0, 0, 0]).is_err(), "five length octets");
        assert!(read_header(&[0x30, 0x84, 0x10, 0, 0]).is_err(), "truncated big length");
        assert!(read_header(&[0x30, 0x84, 0, 0, 0, 5]).is_err(), "non-minimal length");
        assert!(read_header(&[0x30, 0x81, 0x05]).is_err(), "non-minimal length");
    }
}
