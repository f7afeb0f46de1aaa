#![no_main]
//! The passport's parsers and state machines on hostile bytes (issue 12). The first byte picks:
//! 0 EF.SOD (CMS + LDS security object), 1 the LDS files (EF.COM, DG1, DG2, DG14, DG15,
//! EF.CardAccess), 2 secure-messaging unwrap on both sides (3DES and AES), 3 the emulated chip's
//! APDUs (length-prefixed), plain and after BAC, 4 the reader and verifier against a hostile chip
//! (length-prefixed responses).
use std::sync::OnceLock;

use hanko_card::{Transport, TransportError};
use hanko_documents::passport::sm::{SecureChannel, SmKeys};
use hanko_documents::passport::{bac, issue, lds, sample_holder, sod, AccessControl, PassportChip, PassportIssuer};
use hanko_documents::{Chip, TrustAnchors};
use libfuzzer_sys::fuzz_target;
use rand_core::OsRng;
use zeroize::Zeroizing;

const NOW: time::OffsetDateTime = time::macros::datetime!(2026-12-06 12:00 UTC);

fn image() -> &'static (String, Vec<u8>) {
    static IMAGE: OnceLock<(String, Vec<u8>)> = OnceLock::new();
    IMAGE.get_or_init(|| {
        let issuer = PassportIssuer::generate("JP", NOW, &mut OsRng).unwrap();
        let chip = issue(&sample_holder(1), &issuer, AccessControl::BacAndPace, NOW).unwrap();
        (serde_json::to_string(&chip).unwrap(), issuer.trust_anchor())
    })
}

fn chip() -> PassportChip {
    serde_json::from_str(&image().0).unwrap()
}

fn frames(mut data: &[u8]) -> impl Iterator<Item = &[u8]> {
    std::iter::from_fn(move || {
        let (&n, rest) = data.split_first()?;
        let n = usize::from(n).min(rest.len());
        let (frame, rest) = rest.split_at(n);
        data = rest;
        Some(frame)
    })
}

fn keys(aes: bool) -> SmKeys {
    if aes {
        SmKeys::Aes { enc: Zeroizing::new(vec![1; 16]), mac: Zeroizing::new(vec![2; 16]) }
    } else {
        SmKeys::Tdes { enc: Zeroizing::new([1; 16]), mac: Zeroizing::new([2; 16]), ssc: [0; 8] }
    }
}

struct Hostile<'a>(std::vec::IntoIter<&'a [u8]>);

impl Transport for Hostile<'_> {
    fn transmit(&mut self, _apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        Ok(self.0.next().map_or_else(|| vec![0x6F, 0x00], <[u8]>::to_vec))
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    match mode % 5 {
        0 => {
            let _ = sod::parse_and_verify_signature(rest);
        }
        1 => {
            let _ = lds::parse_com(rest);
            let _ = lds::parse_dg1(rest);
            let _ = lds::parse_dg2(rest);
            let _ = lds::parse_dg14(rest);
            let _ = lds::parse_dg15(rest);
            let _ = lds::parse_security_infos("EF.CardAccess", rest);
            if let Ok(s) = core::str::from_utf8(rest) {
                let _ = lds::MrzFields::parse(s);
            }
        }
        2 => {
            for aes in [false, true] {
                let _ = SecureChannel::new(keys(aes)).unprotect_response(rest);
                let _ = SecureChannel::new(keys(aes)).unprotect_command(rest);
            }
        }
        3 => {
            let mut c = chip();
            let mut frames = frames(rest);
            if rest.first().is_some_and(|b| b & 1 == 1) {
                let info = lds::mrz_information("TS0000001", "910401", "350331").unwrap();
                let mut t = hanko_documents::Loopback(c);
                let _ = t.transmit(&[0x00, 0xA4, 0x04, 0x0C, 0x07, 0xA0, 0, 0, 0x02, 0x47, 0x10, 0x01]);
                let _ = bac::establish(&mut t, &bac::BacKeys::from_mrz_information(&info), &mut OsRng);
                c = t.0;
            }
            for apdu in frames.by_ref().take(64) {
                let r = c.process(apdu);
                assert!(r.len() >= 2);
            }
        }
        _ => {
            let trust = TrustAnchors { cscas: vec![image().1.clone()], ..TrustAnchors::default() };
            let mut t = Hostile(frames(rest).take(256).collect::<Vec<_>>().into_iter());
            let code = sample_holder(1).access_code();
            let _ = hanko_documents::passport::check(&mut t, &code, &trust, NOW, &mut |_| {});
        }
    }
});
