#![no_main]
//! PACE (crates/documents/src/passport/pace.rs): EF.CardAccess parsing, and the chip's side of
//! MSE:Set AT and GENERAL AUTHENTICATE on arbitrary data. First byte: 0 EF.CardAccess (and its
//! re-encoding), 1 arbitrary MSE:Set AT then GENERAL AUTHENTICATE steps, 2 a valid MSE:Set AT and
//! valid steps up to the one the fuzzer takes over, 3 whole command APDUs through `handle`.
use hanko_card::Command;
use hanko_documents::passport::pace::{
    card_access, parse_card_access, ChipPace, PaceCurve, PaceInfo, PacePassword, ID_PACE_ECDH_GM_AES_CBC_CMAC_128,
};
use libfuzzer_sys::fuzz_target;
use rand_core::RngCore;

/// Deterministic bytes: the fuzzer, not the random source, drives the run.
struct Counter(u8);

impl RngCore for Counter {
    fn next_u32(&mut self) -> u32 {
        rand_core::impls::next_u32_via_fill(self)
    }
    fn next_u64(&mut self) -> u64 {
        rand_core::impls::next_u64_via_fill(self)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for b in dest {
            self.0 = self.0.wrapping_mul(5).wrapping_add(17);
            *b = self.0 | 1;
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

fn mse() -> Vec<u8> {
    let oid = ID_PACE_ECDH_GM_AES_CBC_CMAC_128.as_bytes();
    let mut v = vec![0x80, oid.len() as u8];
    v.extend_from_slice(oid);
    v.extend_from_slice(&[0x83, 0x01, 0x02]);
    v
}

fn point_7c(tag: u8, k: u8) -> Vec<u8> {
    let p = PaceCurve::NistP256.public_key(&[k; 32]).unwrap_or_default();
    let mut v = vec![0x7C, (p.len() + 2) as u8, tag, p.len() as u8];
    v.extend_from_slice(&p);
    v
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let mut rng = Counter(mode);
    let chunks: Vec<&[u8]> = rest.split(|&b| b == 0xA5).take(8).collect();
    let new_chip = |rng: &mut Counter| {
        ChipPace::new(&PacePassword::Can("123456".into()), &PaceInfo::sandbox(), rng).expect("sandbox PACE runs")
    };
    match mode % 4 {
        0 => {
            if let Ok(infos) = parse_card_access(rest) {
                let mut again = parse_card_access(&card_access(&infos)).expect("our EF.CardAccess parses");
                let mut infos = infos;
                infos.sort_by_key(|i| (i.protocol.as_bytes().to_vec(), i.version, i.parameter_id));
                infos.dedup();
                again.sort_by_key(|i| (i.protocol.as_bytes().to_vec(), i.version, i.parameter_id));
                assert_eq!(infos, again);
            }
        }
        1 => {
            let mut chip = new_chip(&mut rng);
            let _ = chip.mse_set_at(chunks[0]);
            for c in &chunks[1..] {
                let _ = chip.general_authenticate(c, &mut rng);
            }
        }
        2 => {
            let mut chip = new_chip(&mut rng);
            let _ = chip.mse_set_at(&mse());
            let valid = [vec![0x7C, 0x00], point_7c(0x81, 3), point_7c(0x83, 4)];
            let depth = chunks.len().min(3);
            for v in &valid[..depth.saturating_sub(1)] {
                let _ = chip.general_authenticate(v, &mut rng);
            }
            for c in &chunks {
                let _ = chip.general_authenticate(c, &mut rng);
            }
        }
        _ => {
            let mut chip = new_chip(&mut rng);
            for c in &chunks {
                if let Ok(cmd) = Command::parse(c) {
                    let _ = chip.handle(&cmd, &mut rng);
                }
            }
        }
    }
});
