//! `hanko bench card` — the emulated chip: APDUs per second in process (no RSA), signatures per
//! second next to `openssl speed rsa2048`'s sign rate, and the round trip through pcscd + vpcd.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Result;
use hanko_card::{Client, Device, Slot};
use hanko_pki::{DigestAlgorithm, DigestInfo};

use crate::bench_verify::openssl_rsa2048;

/// Options of `hanko bench card`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Seconds to measure each part.
    #[arg(long, default_value_t = 3)]
    seconds: u64,
    /// Also measure the round trip through pcscd + vpcd (needs pcscd with the vpcd driver,
    /// see scripts/pcsc-up.sh, and a hanko built with `--features pcsc`); uses reader
    /// "Virtual PCD 00 01".
    #[arg(long)]
    pcsc: bool,
}

fn rate(budget: Duration, mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < budget {
        f()?;
        n += 1;
    }
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

pub(crate) fn run(args: &Args) -> Result<ExitCode> {
    if args.pcsc && !cfg!(feature = "pcsc") {
        return Err(crate::no_pcsc("bench card --pcsc"));
    }
    let budget = Duration::from_secs(args.seconds);
    let sample = hanko_card::sample::issue(Device::Card, Vec::new()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut card = sample.card;

    // APDUs without RSA: SELECT the JPKI-AP, SELECT the auth certificate, READ 256 bytes.
    let select_ap = hex::decode("00A4040C0AD392F000260100000001")?;
    let select_ef = hex::decode("00A4020C02000A")?;
    let read = hex::decode("00B0000000")?;
    let apdus = 3.0
        * rate(budget, || {
            std::hint::black_box(card.process(&select_ap));
            std::hint::black_box(card.process(&select_ef));
            std::hint::black_box(card.process(&read));
            Ok(())
        })?;

    // Signatures: VERIFY once, then 80 2A over a SHA-256 DigestInfo.
    let di = DigestInfo::of(DigestAlgorithm::Sha256, b"benchmark document").to_der()?;
    let mut client = Client::new(&mut card);
    client.verify_pin(Slot::Signature, hanko_card::sample::PASSWORD)?;
    let signs = rate(budget, || {
        client.sign_verified(Slot::Signature, &di)?;
        Ok(())
    })?;
    let (openssl_sign, _) = openssl_rsa2048(args.seconds)?;

    println!("hanko bench card (1 core, in process)");
    println!("  APDUs/s without RSA (SELECT, SELECT, READ 256)  {apdus:>10.0}");
    println!("  signatures/s (80 2A, SHA-256 DigestInfo)        {signs:>10.0}");
    println!("  openssl speed rsa2048 sign/s                     {openssl_sign:>10.0}");
    println!(
        "  ratio                                            {:>9.1} %   (goal ≥ 90 %)",
        100.0 * signs / openssl_sign
    );

    #[cfg(feature = "pcsc")]
    if args.pcsc {
        round_trip::measure(card, budget)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The round trip through pcscd + vpcd (needs libpcsclite: the `pcsc` feature).
#[cfg(feature = "pcsc")]
mod round_trip {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};

    use anyhow::{Context, Result};

    /// Serves `card` on the second vpcd reader and times SELECTs through pcscd for `budget`.
    pub(super) fn measure(card: hanko_card::Card, budget: Duration) -> Result<()> {
        let stop = AtomicBool::new(false);
        let mut served = hanko_cardlink::InProcess::new(BenchCard(card));
        std::thread::scope(|s| -> Result<()> {
            let card = served.card_mut();
            let handle =
                s.spawn(|| hanko_cardlink::VpcdBridge::loopback(hanko_cardlink::VPCD_PORT + 1).serve(card, &stop));
            let mut reader = None;
            let start = Instant::now();
            while reader.is_none() && start.elapsed() < Duration::from_secs(20) {
                reader = hanko_cardlink::PcscTransport::connect(Some("Virtual PCD 00 01")).ok();
                std::thread::sleep(Duration::from_millis(100));
            }
            let mut reader = reader.context("the card did not appear in pcscd (run scripts/pcsc-up.sh)")?;
            let select = hex::decode("00A4040C0AD392F000260100000001")?;
            let mut samples = Vec::new();
            let until = Instant::now() + budget;
            while Instant::now() < until {
                let t = Instant::now();
                hanko_card::Transport::transmit(&mut reader, &select)?;
                samples.push(t.elapsed());
            }
            samples.sort();
            let median = samples[samples.len() / 2];
            let p99 = samples[samples.len() * 99 / 100];
            println!("  round trip through pcscd + vpcd: median {median:?}, p99 {p99:?} ({} APDUs)", samples.len());
            stop.store(true, Ordering::SeqCst);
            drop(reader);
            let _ = handle.join();
            Ok(())
        })?;
        Ok(())
    }

    /// The emulated card as pcscd sees it.
    struct BenchCard(hanko_card::Card);

    impl hanko_cardlink::VirtualCard for BenchCard {
        fn atr(&self) -> Vec<u8> {
            hanko_card::ATR.to_vec()
        }
        fn process(&mut self, apdu: &[u8]) -> Vec<u8> {
            self.0.process(apdu)
        }
        fn reset(&mut self) {
            self.0.reset();
        }
        fn power_off(&mut self) {
            self.0.reset();
        }
    }
}
