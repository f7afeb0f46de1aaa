//! The pcscd/vpcd harness the `pcsc_*` tests share: pcscd with the vpcd driver (brought up by
//! scripts/pcsc-up.sh unless our reader is listed already; the tests fail, never skip, without
//! it), our reader (`HANKO_VPCD_PORT`, default 35963; `HANKO_VPCD_READER`, default
//! "Virtual PCD 00 00"), and a document served through `hanko_cardlink::VpcdBridge` on a
//! background thread.

#![allow(dead_code, unreachable_pub)]

use std::process::Command as Process;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use hanko_cardlink::{list_readers, VpcdBridge, VpcdError};
use hanko_documents::{Chip, DocumentChip};

/// How long pcscd may take to show a card come or go.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// The vpcd port.
pub fn port() -> u16 {
    std::env::var("HANKO_VPCD_PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(35963)
}

/// The PC/SC name of the vpcd reader.
pub fn reader_name() -> String {
    std::env::var("HANKO_VPCD_READER").unwrap_or_else(|_| "Virtual PCD 00 00".to_owned())
}

/// Runs `scripts/<name>` and gives its standard output, trimmed.
pub fn run_script(name: &str) -> String {
    let script = format!("{}/../../scripts/{name}", env!("CARGO_MANIFEST_DIR"));
    let out = Process::new("bash").arg(&script).output().unwrap_or_else(|e| panic!("running {script}: {e}"));
    assert!(
        out.status.success(),
        "{script} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Brings up pcscd + vpcd once per test binary, unless our reader is listed already (a pcscd of
/// the caller's, e.g. with only the `HANKO_VPCD_READER` reader).
pub fn pcscd() {
    static UP: OnceLock<()> = OnceLock::new();
    UP.get_or_init(|| {
        if !list_readers().is_ok_and(|rs| rs.iter().any(|r| r.name == reader_name())) {
            run_script("pcsc-up.sh");
        }
    });
}

/// vpcd serves one card per port: the tests of a binary take turns.
pub fn lock() -> MutexGuard<'static, ()> {
    static L: Mutex<()> = Mutex::new(());
    L.lock().unwrap_or_else(|p| p.into_inner())
}

/// Whether pcscd shows a card in our reader, and its ATR.
fn card_in_reader() -> Option<Vec<u8>> {
    let name = reader_name();
    list_readers().expect("list PC/SC readers").into_iter().find(|r| r.name == name && r.card_present).map(|r| r.atr)
}

/// Waits until pcscd shows no card in our reader; `false` after [`PATIENCE`].
fn card_gone() -> bool {
    let start = Instant::now();
    while card_in_reader().is_some() {
        if start.elapsed() > PATIENCE {
            return false;
        }
        thread::sleep(Duration::from_millis(50));
    }
    true
}

/// A document served through vpcd on a background thread until [`Served::stop`] (which gives
/// the chip back) or drop.
pub struct Served {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<(DocumentChip, Result<(), VpcdError>)>>,
}

impl Served {
    /// Serves `chip` (pcscd must be up: [`pcscd`]) and waits until pcscd shows it with its ATR.
    pub fn start(mut chip: DocumentChip) -> Served {
        let atr = chip.atr();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let bridge = VpcdBridge::loopback(port());
        let thread = thread::spawn(move || {
            let r = bridge.serve(&mut chip, &flag);
            (chip, r)
        });
        let start = Instant::now();
        loop {
            if card_in_reader().is_some_and(|a| a == atr) {
                return Served { stop, thread: Some(thread) };
            }
            if thread.is_finished() {
                let (_, r) = thread.join().expect("bridge thread panicked");
                panic!("the vpcd bridge stopped: {r:?}");
            }
            assert!(start.elapsed() < PATIENCE, "pcscd never showed the document in {:?}", reader_name());
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops serving and gives the chip back (with what the session changed in it), once pcscd
    /// shows the reader empty.
    pub fn stop(mut self) -> DocumentChip {
        self.stop.store(true, Ordering::SeqCst);
        let (chip, r) = self.thread.take().expect("served").join().expect("bridge thread panicked");
        r.expect("the vpcd bridge failed");
        assert!(card_gone(), "the document never left {:?}", reader_name());
        chip
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
            // No assertion here: a drop while a test panics must not panic again.
            card_gone();
        }
    }
}
