//! Runs the `dmrtd` crate's PACE terminal against our emulated PACE chip (in memory), then checks
//! that dmrtd's first secure-messaging command verifies under the session keys our chip derived
//! (its MAC under KSmac, its encrypted SELECT under KSenc): the same keys on both sides.
//! Exit status 0 when every case passes.

use chrono::NaiveDate;
use dmrtd::com::{TransceiveError, Transceiver};
use dmrtd::lds::efcard_access::EfCardAccess;
use dmrtd::passport::Passport;
use dmrtd::proto::{can_key::CanKey, dba_key::DBAKey};
use hanko_card::Command;
use hanko_documents::passport::pace::{card_access, ChipPace, PaceInfo, PacePassword};
use hanko_documents::passport::sm::SmKeys;
use hanko_documents::{crypto, tlv};
use rand_core::OsRng;
use std::cell::RefCell;
use std::rc::Rc;

/// The chip's state, shared with `main` (dmrtd owns the transceiver).
#[derive(Clone)]
struct Chip(Rc<RefCell<ChipState>>);

struct ChipState {
    pace: ChipPace,
    keys: Option<SmKeys>,
    last_sw: Vec<u8>,
    sm_check: Option<Result<String, String>>,
}

impl ChipState {
    fn check_sm(&self, apdu: &[u8]) -> Result<String, String> {
        let Some(SmKeys::Aes { enc, mac }) = &self.keys else { return Err("no AES keys".into()) };
        let cmd = Command::parse(apdu).map_err(|e| e.to_string())?;
        let mut ssc = [0u8; 16];
        ssc[15] = 1; // the first command after PACE (SSC starts at zero, 9303-11 §9.8.6.3)
        let (mut do87, mut do97, mut do8e) = (None, None, None);
        for t in tlv::iter(cmd.data) {
            let t = t.map_err(|e| e.to_string())?;
            match t.tag {
                0x87 => do87 = Some(t),
                0x97 => do97 = Some(t),
                0x8E => do8e = Some(t),
                _ => {}
            }
        }
        let do8e = do8e.ok_or("no 8E")?;
        let mut input = ssc.to_vec();
        input.extend_from_slice(&crypto::pad(&[cmd.cla, cmd.ins.0, cmd.p1, cmd.p2], 16));
        for d in [do87, do97].into_iter().flatten() {
            input.extend_from_slice(d.raw);
        }
        let want = crypto::aes_cmac(mac, &crypto::pad(&input, 16)).map_err(|e| e.to_string())?;
        if do8e.value != &want[..8] {
            return Err("dmrtd's MAC does not verify under our KSmac".into());
        }
        let mut out =
            format!("MAC verifies under KSmac ({:02X} {:02X} {:02X} {:02X})", cmd.cla, cmd.ins.0, cmd.p1, cmd.p2);
        if let Some(d) = do87 {
            let mut iv = ssc;
            crypto::aes_block(enc, &mut iv, true).map_err(|e| e.to_string())?;
            let plain = crypto::aes_cbc_decrypt(enc, &iv, &d.value[1..]).map_err(|e| e.to_string())?;
            let data = crypto::unpad(&plain).ok_or("bad padding under our KSenc")?;
            out += &format!("; 87 decrypts under KSenc to {}", hex(data));
        }
        Ok(out)
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

impl Transceiver for Chip {
    fn transceive(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransceiveError> {
        let mut guard = self.0.borrow_mut();
        let this = &mut *guard;
        let cmd = Command::parse(apdu).map_err(|e| TransceiveError::new(e.to_string()))?;
        if let Some((resp, keys)) = this.pace.handle(&cmd, &mut OsRng) {
            if keys.is_some() {
                this.keys = keys;
            }
            let raw = resp.encode();
            this.last_sw = raw[raw.len() - 2..].to_vec();
            return Ok(raw);
        }
        if cmd.secure_messaging() && this.sm_check.is_none() {
            this.sm_check = Some(this.check_sm(apdu));
            return Ok(vec![0x69, 0x88]); // no SM in this harness: end the read
        }
        Ok(vec![0x6D, 0x00])
    }
}

fn case(
    name: &str,
    chip_pwd: PacePassword,
    run: impl FnOnce(&mut Passport<Chip>, &EfCardAccess) -> Result<(), String>,
    expect_ok: bool,
) -> bool {
    let info = PaceInfo::sandbox();
    let ef = EfCardAccess::from_bytes(card_access(&[info])).expect("dmrtd parses our EF.CardAccess");
    let pace = ChipPace::new(&chip_pwd, &info, &mut OsRng).expect("sandbox PACE");
    let chip = Chip(Rc::new(RefCell::new(ChipState { pace, keys: None, last_sw: Vec::new(), sm_check: None })));
    let mut p = Passport::new(chip.clone());
    let r = run(&mut p, &ef);
    let ok = match (expect_ok, r) {
        (true, Ok(())) => {
            // One SM command from dmrtd, checked against our chip's keys.
            let _ = p.read_ef_com();
            let check = chip.0.borrow_mut().sm_check.take();
            match check {
                Some(Ok(s)) => {
                    println!("ok   {name}: dmrtd's PACE accepted our chip's token, ours accepted dmrtd's; {s}");
                    true
                }
                other => {
                    println!("FAIL {name}: {other:?}");
                    false
                }
            }
        }
        (false, Err(e)) => {
            let chip = chip.0.borrow();
            let ok = chip.last_sw == [0x63, 0x00] && chip.keys.is_none();
            println!(
                "{} {name}: dmrtd refused ({e}); our chip answered {}",
                if ok { "ok  " } else { "FAIL" },
                hex(&chip.last_sw)
            );
            ok
        }
        (_, r) => {
            println!("FAIL {name}: {r:?}");
            false
        }
    };
    ok
}

fn main() {
    let mrz_key = || DBAKey::new("L898902C", date(1969, 8, 6), date(1994, 6, 23), true).expect("MRZ key");
    let results = [
        case(
            "MRZ L898902C<369080619406236",
            PacePassword::Mrz("L898902C<369080619406236".into()),
            |p, ef| p.start_session_pace(mrz_key(), ef).map_err(|e| e.to_string()),
            true,
        ),
        case(
            "CAN 123456",
            PacePassword::Can("123456".into()),
            |p, ef| p.start_session_pace(CanKey::new("123456").expect("CAN"), ef).map_err(|e| e.to_string()),
            true,
        ),
        case(
            "wrong CAN",
            PacePassword::Can("123456".into()),
            |p, ef| p.start_session_pace(CanKey::new("654321").expect("CAN"), ef).map_err(|e| e.to_string()),
            false,
        ),
    ];
    let passed = results.iter().filter(|r| **r).count();
    println!("{passed} passed, {} failed", results.len() - passed);
    std::process::exit(if passed == results.len() { 0 } else { 1 });
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("date")
}
