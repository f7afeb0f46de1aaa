//! Transparent `61 xx` / `6C xx` handling (ISO 7816-4 §5.3.4, the T=0 conventions that many
//! cards also use over T=1).
//!
//! ```text
//! 6C xx  wrong Le: send the same command again with Le = xx (00 = 256)
//! 61 xx  xx more bytes wait: GET RESPONSE  CLA C0 00 00 xx, repeated while 61 xx comes back
//! ```

use hanko_card::{Command, Ins};

/// The most GET RESPONSE rounds one command may need (a 64 KiB answer in 256-byte pieces).
pub(crate) const MAX_GET_RESPONSE_ROUNDS: usize = 257;
/// The most response data collected for one command (an extended Le of 65 536).
pub(crate) const MAX_RESPONSE_DATA: usize = 65_536;

/// Why a chained exchange stopped.
#[derive(Debug)]
pub(crate) enum ChainError<E> {
    /// The link below failed.
    Link(E),
    /// The card answered fewer than two bytes.
    NoStatusWord,
    /// The card kept answering `61 xx` past [`MAX_GET_RESPONSE_ROUNDS`] or [`MAX_RESPONSE_DATA`].
    TooLong,
}

fn split(raw: &[u8]) -> Option<(&[u8], u8, u8)> {
    match raw {
        [data @ .., sw1, sw2] => Some((data, *sw1, *sw2)),
        _ => None,
    }
}

fn le_of(xx: u8) -> usize {
    if xx == 0 {
        256
    } else {
        usize::from(xx)
    }
}

/// The class byte for GET RESPONSE after a command with `cla`: the same logical channel for
/// the first interindustry class, `00` otherwise (proprietary classes such as JPKI's `80`).
fn get_response_cla(cla: u8) -> u8 {
    if cla & 0xE0 == 0 {
        cla & 0x03
    } else {
        0x00
    }
}

/// Sends `apdu` through `link` and resolves `6C xx` and `61 xx` answers; returns the
/// complete response (all data ‖ final SW1 SW2).
pub(crate) fn exchange<E>(
    mut link: impl FnMut(&[u8]) -> Result<Vec<u8>, E>,
    apdu: &[u8],
) -> Result<Vec<u8>, ChainError<E>> {
    let mut call = |a: &[u8]| -> Result<Vec<u8>, ChainError<E>> {
        let r = link(a).map_err(ChainError::Link)?;
        if r.len() < 2 {
            return Err(ChainError::NoStatusWord);
        }
        Ok(r)
    };
    // One resend with the Le the card asked for.
    let resend_with_le = |a: &[u8], xx: u8| -> Option<Vec<u8>> {
        let cmd = Command::parse(a).ok()?;
        Some(Command { le: Some(le_of(xx)), ..cmd }.encode())
    };

    let mut response = call(apdu)?;
    if let Some((data, 0x6C, xx)) = split(&response) {
        if data.is_empty() {
            if let Some(again) = resend_with_le(apdu, xx) {
                response = call(&again)?;
            }
        }
    }

    let cla = get_response_cla(apdu.first().copied().unwrap_or(0));
    let mut collected = Vec::new();
    let mut rounds = 0;
    loop {
        let Some((data, sw1, sw2)) = split(&response) else { return Err(ChainError::NoStatusWord) };
        collected.extend_from_slice(data);
        if collected.len() > MAX_RESPONSE_DATA {
            return Err(ChainError::TooLong);
        }
        if sw1 != 0x61 {
            collected.extend_from_slice(&[sw1, sw2]);
            return Ok(collected);
        }
        rounds += 1;
        if rounds > MAX_GET_RESPONSE_ROUNDS {
            return Err(ChainError::TooLong);
        }
        let get_response = [cla, Ins::GET_RESPONSE.0, 0, 0, sw2];
        response = call(&get_response)?;
        if let Some(([], 0x6C, xx)) = split(&response) {
            response = call(&[cla, Ins::GET_RESPONSE.0, 0, 0, xx])?;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::convert::Infallible;

    /// A fake card: `00 CA 01 00 08` wants Le 8; `00 CA 02 00 00` answers 600 bytes by
    /// GET RESPONSE; anything else echoes its length with 90 00.
    fn fake(sent: &mut Vec<Vec<u8>>) -> impl FnMut(&[u8]) -> Result<Vec<u8>, Infallible> + '_ {
        let object: Vec<u8> = (0..600u32).map(|i| i as u8).collect();
        let mut pos = 0usize;
        move |a: &[u8]| {
            sent.push(a.to_vec());
            Ok(match a {
                [0, 0xCA, 1, 0, 8] => [&[7u8; 8][..], &[0x90, 0]].concat(),
                [0, 0xCA, 1, 0, ..] => vec![0x6C, 8],
                [0, 0xCA, 2, 0, 0] => {
                    pos = 0;
                    vec![0x61, 0]
                }
                [0, 0xC0, 0, 0, le] => {
                    let le = le_of(*le);
                    let left = object.len() - pos;
                    if le > left {
                        vec![0x6C, left as u8]
                    } else {
                        let mut r = object[pos..pos + le].to_vec();
                        pos += le;
                        let left = object.len() - pos;
                        match left {
                            0 => r.extend_from_slice(&[0x90, 0]),
                            n if n >= 256 => r.extend_from_slice(&[0x61, 0]),
                            n => r.extend_from_slice(&[0x61, n as u8]),
                        }
                        r
                    }
                }
                [0x80, 0x2A, ..] => vec![0x61, 2],
                _ => vec![a.len() as u8, 0x90, 0],
            })
        }
    }

    #[test]
    fn wrong_le_is_resent_with_the_cards_le() {
        let mut sent = Vec::new();
        let r = exchange(fake(&mut sent), &[0, 0xCA, 1, 0, 0]).unwrap();
        assert_eq!(r, [&[7u8; 8][..], &[0x90, 0]].concat());
        assert_eq!(sent, vec![vec![0, 0xCA, 1, 0, 0], vec![0, 0xCA, 1, 0, 8]]);
    }

    #[test]
    fn get_response_collects_every_piece() {
        let mut sent = Vec::new();
        let r = exchange(fake(&mut sent), &[0, 0xCA, 2, 0, 0]).unwrap();
        let object: Vec<u8> = (0..600u32).map(|i| i as u8).collect();
        assert_eq!(&r[..600], &object[..]);
        assert_eq!(&r[600..], &[0x90, 0]);
        assert_eq!(sent.len(), 4, "command + 256 + 256 + 88");
        assert_eq!(sent[3], vec![0, 0xC0, 0, 0, 88]);
    }

    #[test]
    fn get_response_uses_class_00_after_a_proprietary_class() {
        let mut sent = Vec::new();
        let _ = exchange(fake(&mut sent), &[0x80, 0x2A, 0, 0x80, 1, 5, 0]).unwrap();
        assert_eq!(sent[1], vec![0, 0xC0, 0, 0, 2]);
        assert_eq!(get_response_cla(0x01), 0x01);
    }

    #[test]
    fn plain_answers_pass_through() {
        let mut sent = Vec::new();
        assert_eq!(exchange(fake(&mut sent), &[0, 0xA4, 4, 0x0C]).unwrap(), vec![4, 0x90, 0]);
        assert_eq!(sent.len(), 1);
    }

    #[test]
    fn endless_61_is_bounded_and_short_answers_are_errors() {
        let mut n = 0;
        let r = exchange(
            |_: &[u8]| -> Result<Vec<u8>, Infallible> {
                n += 1;
                Ok(vec![0x61, 0])
            },
            &[0, 0xB0, 0, 0, 0],
        );
        assert!(matches!(r, Err(ChainError::TooLong)));
        assert_eq!(n, MAX_GET_RESPONSE_ROUNDS + 1);
        let r = exchange(|_: &[u8]| -> Result<Vec<u8>, Infallible> { Ok(vec![0x90]) }, &[0, 0xB0, 0, 0, 0]);
        assert!(matches!(r, Err(ChainError::NoStatusWord)));
        let r = exchange(|_: &[u8]| -> Result<Vec<u8>, Infallible> { Ok(vec![0x55; 300]) }, &[0, 0xB0, 0, 0, 0]);
        assert_eq!(r.unwrap().len(), 300);
    }
}
