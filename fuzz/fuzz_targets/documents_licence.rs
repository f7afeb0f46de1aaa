#![no_main]
//! The driver's licence from a hostile chip or terminal: the file/TLV parsers, the EF07
//! signature record, the reader over a chip that answers with fuzz data, and the emulator's
//! APDU processing. Parse strictly, never panic, stay within the budgets.
use std::sync::OnceLock;

use hanko_card::{Transport, TransportError};
use hanko_documents::licence::files::{
    parse_changes, parse_gaiji, parse_honseki, parse_photo, parse_pin_flag, parse_tlvs, CommonData, Entries, EraDate,
    JisText,
};
use hanko_documents::licence::{issue, read_licence, sample_holder, LicenceChip, LicencePins, PoliceIssuer, SignatureRecord};
use hanko_documents::Chip;
use libfuzzer_sys::fuzz_target;

fn chip() -> &'static LicenceChip {
    static CHIP: OnceLock<LicenceChip> = OnceLock::new();
    CHIP.get_or_init(|| {
        let police = PoliceIssuer::generate("JPKI-TEST 公安委員会 TEST").expect("key");
        let issued = time::Date::from_calendar_date(2024, time::Month::June, 1).expect("date");
        issue(&sample_holder(0), &police, issued, &mut rand_core::OsRng).expect("issue")
    })
}

/// A chip that answers each command with the next length-prefixed chunk of the input.
struct Hostile<'a>(&'a [u8], usize);

impl Transport for Hostile<'_> {
    fn transmit(&mut self, _apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.1 += 1;
        if self.1 > 10_000 {
            panic!("the reader sent more than 10 000 commands: no budget");
        }
        let [hi, lo, rest @ ..] = self.0 else { return Err(TransportError("end".into())) };
        let n = usize::from(u16::from_be_bytes([*hi, *lo])).min(rest.len());
        let (now, later) = rest.split_at(n);
        self.0 = later;
        Ok(now.to_vec())
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, body)) = data.split_first() else { return };
    match mode % 3 {
        0 => {
            let _ = parse_tlvs("x", body);
            let _ = CommonData::parse(body).map(|c| c.encode());
            let _ = Entries::parse(body).map(|e| e.encode());
            let _ = parse_honseki(body);
            let _ = parse_gaiji("x", body);
            let _ = parse_changes("x", body);
            let _ = parse_photo(body);
            let _ = parse_pin_flag(body);
            if let Ok(r) = SignatureRecord::parse(body) {
                assert_eq!(SignatureRecord::parse(&r.encode()).ok(), Some(r));
            }
            if let Ok(t) = JisText::decode(body) {
                // Several JIS codes can decode to one character; the text survives a round trip.
                if let Ok(again) = t.encode() {
                    assert_eq!(JisText::decode(&again).ok(), Some(t.clone()));
                }
                let _ = t.to_string();
            }
            let _ = EraDate::parse(body).map(EraDate::encode);
        }
        1 => {
            let pins = LicencePins { pin1: "1234".to_owned().into(), pin2: "5678".to_owned().into() };
            let _ = read_licence(&mut Hostile(body, 0), &pins, &mut |_| {});
        }
        _ => {
            // APDUs, each prefixed by one length byte, into a fresh copy of the chip.
            let mut c = chip().clone();
            let mut rest = body;
            while let [n, tail @ ..] = rest {
                let n = usize::from(*n).min(tail.len());
                let (apdu, later) = tail.split_at(n);
                let r = c.process(apdu);
                assert!(r.len() >= 2 && r.len() <= 2 + 65536);
                if apdu.first() == Some(&0xFF) {
                    c.reset();
                }
                let _ = c.take_dirty();
                rest = later;
            }
            assert!(c.tries_left().iter().all(|t| *t <= 3));
        }
    }
});
