#![no_main]
//! The residence card's parsers and state machine on hostile input (issue 12): the file/TLV
//! parsers, secure-messaging unwrap and the SM Le object, the emulator's APDUs (before and
//! after a genuine card-number authentication), and the reader over a transport that answers
//! with the fuzzer's bytes. Byte 0 picks the mode.
use std::sync::{Mutex, OnceLock};

use hanko_card::{Transport, TransportError};
use hanko_documents::residence::{self, files, sm, CardNumber, ImmigrationIssuer, ResidenceChip};
use hanko_documents::Chip;
use libfuzzer_sys::fuzz_target;
use rand_core::RngCore;

/// A deterministic generator (counter), so that runs replay.
struct Counter(u8);
impl RngCore for Counter {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }
    fn next_u64(&mut self) -> u64 {
        let mut b = [0; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }
    fn fill_bytes(&mut self, d: &mut [u8]) {
        for b in d {
            self.0 = self.0.wrapping_add(1);
            *b = self.0;
        }
    }
    fn try_fill_bytes(&mut self, d: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(d);
        Ok(())
    }
}

const NUMBER: &str = "AA12345678BB";

fn chip() -> &'static Mutex<ResidenceChip> {
    static CHIP: OnceLock<Mutex<ResidenceChip>> = OnceLock::new();
    CHIP.get_or_init(|| {
        let now = time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
        let issuer = ImmigrationIssuer::generate(now, &mut Counter(0)).expect("issuer");
        let c = residence::issue(&residence::sample_holder(0), &issuer).expect("card");
        Mutex::new(c.with_rng(Box::new(Counter(7))))
    })
}

/// Splits `data` into APDUs: a length byte, then that many bytes.
fn apdus(mut data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while let Some((&n, rest)) = data.split_first() {
        let n = usize::from(n).min(rest.len());
        out.push(&rest[..n]);
        data = &rest[n..];
    }
    out
}

/// A genuine authentication; returns the session key.
fn authenticate(c: &mut ResidenceChip) -> Option<sm::SessionKey> {
    let number = CardNumber::parse(NUMBER).ok()?;
    let keys = sm::AuthKeys::derive(sm::Suite::Gen1Tdes, &number);
    c.process(&[0x00, 0xA4, 0x00, 0x00, 0x02, 0x3F, 0x00]);
    let r = c.process(&[0x00, 0x84, 0x00, 0x00, 0x08]);
    let rnd_icc: [u8; 8] = r.get(..8)?.try_into().ok()?;
    let data = sm::terminal_auth(&keys, &[1; 8], &rnd_icc, &[2; 16]);
    let r = c.process(&[&[0x00, 0x82, 0x00, 0x00, 0x28][..], &data, &[0]].concat());
    let ks = sm::terminal_finish(&keys, &[1; 8], &rnd_icc, &[2; 16], r.get(..r.len().checked_sub(2)?)?).ok()?;
    let w = ks.wrap(number.as_bytes());
    c.process(&[&[0x08, 0x20, 0x00, 0x86, w.len() as u8][..], &w].concat());
    Some(ks)
}

/// Answers each command with the next fuzzer-given response.
struct Replay<'a>(std::vec::IntoIter<&'a [u8]>);
impl Transport for Replay<'_> {
    fn transmit(&mut self, _apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.0.next().map(<[u8]>::to_vec).ok_or_else(|| TransportError("done".into()))
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, data)) = data.split_first() else { return };
    match mode % 5 {
        0 => {
            let _ = files::parse_common(data);
            let _ = files::parse_card_type(data);
            let _ = files::parse_front_image(data);
            let _ = files::parse_photo(data);
            let _ = files::parse_address(data);
            let _ = files::parse_permission(data, 0xD5);
            let _ = files::parse_renewal(data);
            let _ = files::parse_signature(data);
            let _ = CardNumber::parse(&String::from_utf8_lossy(data));
        }
        1 => {
            let ks = sm::SessionKey::derive(&[1; 16], &[2; 16]);
            if let Ok(plain) = ks.unwrap(data) {
                // What opens re-wraps to the same object when it was minimal.
                let _ = ks.wrap(&plain);
            }
            let _ = sm::parse_le(data);
            let keys = sm::AuthKeys::derive(sm::Suite::Gen1Tdes, &CardNumber::parse(NUMBER).unwrap());
            let _ = sm::chip_respond(&keys, &[3; 8], &[4; 16], data);
            let _ = sm::terminal_finish(&keys, &[1; 8], &[3; 8], &[2; 16], data);
        }
        2 => {
            let mut c = chip().lock().unwrap_or_else(|p| p.into_inner());
            c.reset();
            for apdu in apdus(data) {
                let r = c.process(apdu);
                assert!(r.len() >= 2, "every answer ends in a status word");
            }
        }
        3 => {
            let mut c = chip().lock().unwrap_or_else(|p| p.into_inner());
            c.reset();
            let ks = authenticate(&mut c);
            for apdu in apdus(data) {
                // Half the commands go in plain, half with their data in a genuine cryptogram.
                let r = match (&ks, apdu.split_first()) {
                    (Some(ks), Some((&h, rest))) if h & 1 == 1 && rest.len() >= 4 => {
                        let w = ks.wrap(&rest[4..]);
                        let mut cmd = rest[..4].to_vec();
                        cmd[0] = 0x08;
                        cmd.push(w.len().min(255) as u8);
                        cmd.extend_from_slice(&w[..w.len().min(255)]);
                        c.process(&cmd)
                    }
                    _ => c.process(apdu),
                };
                assert!(r.len() >= 2);
            }
        }
        _ => {
            let mut t = Replay(apdus(data).into_iter());
            let number = CardNumber::parse(NUMBER).unwrap();
            let _ = residence::read_residence_with(&mut t, &number, &mut Counter(1), &mut |_| {});
        }
    }
});
