//! The PC/SC path end to end (shared/spec/10-card.md §10): a small test card goes into pcscd
//! through the vpcd bridge; OpenSC's `opensc-tool` and our [`PcscTransport`] talk to it.
//!
//! These tests need pcscd with the vpcd driver; they bring it up with `scripts/pcsc-up.sh`
//! and fail (never skip) when it cannot be had. Tests on the same vpcd port are serialized;
//! pcscd is left running for the other test binaries.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Command as Process;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use hanko_card::{Command, Ins, Response, StatusWord, Transport};
use hanko_cardlink::{
    list_readers, serve_vpcd, InProcess, PcscTransport, ReaderInfo, VirtualCard, VpcdBridge, VpcdError,
    DEFAULT_VPCD_ADDR, JPKI_CONTACT_ATR, VPCD_PORT,
};

const JPKI_AID: [u8; 10] = [0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01];
const READER_0: &str = "Virtual PCD 00 00";
const READER_1: &str = "Virtual PCD 00 01";
/// vpcd's first port: [`VPCD_PORT`], or `HANKO_VPCD_PORT` to test against a pcscd whose vpcd
/// reader.conf names another CHANNELID.
fn port0() -> u16 {
    std::env::var("HANKO_VPCD_PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(VPCD_PORT)
}

/// A bound for waiting on pcscd's card polling (it looks every 400 ms); never an assertion.
const PATIENCE: Duration = Duration::from_secs(20);

fn file() -> Vec<u8> {
    (0..300u32).map(|i| (i * 7) as u8).collect()
}

fn big_object() -> Vec<u8> {
    (0..600u32).map(|i| (i ^ 0x5A) as u8).collect()
}

// --- the test card ------------------------------------------------------------------------

#[derive(Default)]
struct Stats {
    resets: AtomicU32,
    power_offs: AtomicU32,
    commands: AtomicU32,
    persisted: AtomicU32,
    atr_requests: AtomicU32,
}

/// Answers SELECT of the JPKI AID (90 00) and of anything else (6A 82); READ BINARY of a
/// 300-byte file once selected; GET DATA 01 only with Le = 8 (else 6C 08); GET DATA 02 with a
/// 600-byte object delivered by GET RESPONSE (61 xx).
struct TestCard {
    selected: bool,
    pending: Vec<u8>,
    stats: Arc<Stats>,
}

impl TestCard {
    fn new() -> (TestCard, Arc<Stats>) {
        let stats = Arc::new(Stats::default());
        (TestCard { selected: false, pending: Vec::new(), stats: stats.clone() }, stats)
    }

    fn answer(&mut self, apdu: &[u8]) -> Response {
        let Ok(cmd) = Command::parse(apdu) else { return Response::status(StatusWord::WRONG_LENGTH) };
        match (cmd.cla, cmd.ins, cmd.p1, cmd.p2) {
            (0x00, Ins::SELECT, 0x04, 0x0C) => {
                if cmd.data == JPKI_AID {
                    self.selected = true;
                    Response::status(StatusWord::SUCCESS)
                } else {
                    Response::status(StatusWord::FILE_NOT_FOUND)
                }
            }
            (0x00, Ins::READ_BINARY, p1, p2) if p1 & 0x80 == 0 => {
                if !self.selected {
                    return Response::status(StatusWord::COMMAND_NOT_ALLOWED);
                }
                let file = file();
                let offset = usize::from(u16::from_be_bytes([p1, p2]));
                if offset > file.len() {
                    return Response::status(StatusWord::WRONG_OFFSET);
                }
                let end = file.len().min(offset + cmd.le.unwrap_or(256));
                Response::ok(file[offset..end].to_vec())
            }
            (0x00, Ins::GET_DATA, 0x01, 0x00) => match cmd.le {
                Some(8) => Response::ok(b"JPKITEST".to_vec()),
                _ => Response::status(StatusWord(0x6C08)),
            },
            (0x00, Ins::GET_DATA, 0x02, 0x00) => {
                self.pending = big_object();
                Response::status(StatusWord(0x6100))
            }
            (0x00, Ins::GET_RESPONSE, 0x00, 0x00) => {
                if self.pending.is_empty() {
                    return Response::status(StatusWord::CONDITIONS_NOT_SATISFIED);
                }
                let n = self.pending.len().min(cmd.le.unwrap_or(256));
                let data: Vec<u8> = self.pending.drain(..n).collect();
                let sw = match self.pending.len() {
                    0 => StatusWord::SUCCESS,
                    left if left >= 256 => StatusWord(0x6100),
                    left => StatusWord(0x6100 | left as u16),
                };
                Response { data, sw }
            }
            _ => Response::status(StatusWord::INS_NOT_SUPPORTED),
        }
    }
}

impl VirtualCard for TestCard {
    fn atr(&self) -> Vec<u8> {
        self.stats.atr_requests.fetch_add(1, Ordering::SeqCst);
        JPKI_CONTACT_ATR.to_vec()
    }
    fn process(&mut self, apdu: &[u8]) -> Vec<u8> {
        self.stats.commands.fetch_add(1, Ordering::SeqCst);
        self.answer(apdu).encode()
    }
    fn reset(&mut self) {
        self.selected = false;
        self.pending.clear();
        self.stats.resets.fetch_add(1, Ordering::SeqCst);
    }
    fn power_off(&mut self) {
        self.selected = false;
        self.pending.clear();
        self.stats.power_offs.fetch_add(1, Ordering::SeqCst);
    }
    fn before_reply(&mut self) -> io::Result<()> {
        self.stats.persisted.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

// --- harness ------------------------------------------------------------------------------

/// Brings up pcscd + vpcd once per test binary; a failure fails the test.
fn pcscd() {
    static UP: OnceLock<Result<(), String>> = OnceLock::new();
    let up = UP.get_or_init(|| {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/pcsc-up.sh");
        let out = Process::new("bash").arg(script).output().map_err(|e| format!("running {script}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{script} failed ({}):\n{}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    });
    if let Err(e) = up {
        panic!("pcscd with vpcd is needed for these tests: {e}");
    }
}

/// One lock per vpcd reader: vpcd serves one card connection per port at a time.
fn reader_lock(port: u16) -> MutexGuard<'static, ()> {
    static LOCKS: [Mutex<()>; 2] = [Mutex::new(()), Mutex::new(())];
    let lock = &LOCKS[usize::from(port != port0())];
    lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A test card served on a background thread; stopped (and waited for) on drop.
struct Served {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Result<(), VpcdError>>>,
    stats: Arc<Stats>,
}

impl Served {
    fn start(bridge: VpcdBridge) -> Served {
        let (mut card, stats) = TestCard::new();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = thread::spawn(move || bridge.serve(&mut card, &flag));
        Served { stop, thread: Some(thread), stats }
    }

    fn stop(&mut self) -> Result<(), VpcdError> {
        self.stop.store(true, Ordering::SeqCst);
        match self.thread.take() {
            Some(t) => t.join().expect("bridge thread panicked"),
            None => Ok(()),
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

fn reader(name: &str) -> Option<ReaderInfo> {
    list_readers().expect("list PC/SC readers").into_iter().find(|r| r.name.contains(name))
}

/// Waits until pcscd sees no card in the reader.
fn wait_for_no_card(name: &str) {
    let start = Instant::now();
    loop {
        let r = reader(name);
        if r.as_ref().is_some_and(|r| !r.card_present) {
            return;
        }
        assert!(start.elapsed() < PATIENCE, "the card never left {name:?}: {r:?}");
        thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until pcscd sees a card in the reader and vpcd is talking to *our* bridge (it asked
/// our card for its ATR since `atr_requests_before`), not to a card some other process serves.
fn wait_for_our_card(name: &str, stats: &Stats, atr_requests_before: u32) -> ReaderInfo {
    let start = Instant::now();
    loop {
        let r = reader(name);
        let ours = stats.atr_requests.load(Ordering::SeqCst) > atr_requests_before;
        if let Some(r) = r.as_ref().filter(|r| r.card_present && ours) {
            return r.clone();
        }
        assert!(
            start.elapsed() < PATIENCE,
            "pcscd never showed our card in {name:?} (ours asked: {ours}): {r:?}; is another process serving this vpcd port?"
        );
        thread::sleep(Duration::from_millis(50));
    }
}

fn opensc_tool(args: &[&str]) -> String {
    let out = Process::new("opensc-tool").args(args).output().expect("run opensc-tool");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "opensc-tool {args:?} failed ({}):\n{text}", out.status);
    text
}

fn sw(raw: &[u8]) -> StatusWord {
    Response::parse(raw).unwrap().sw
}

fn select_jpki() -> Vec<u8> {
    Command { cla: 0, ins: Ins::SELECT, p1: 4, p2: 0x0C, data: &JPKI_AID, le: None, extended: false }.encode()
}

// --- the tests ----------------------------------------------------------------------------

/// (a) and (b): OpenSC lists the card with our ATR and exchanges a SELECT through pcscd.
#[test]
fn opensc_tool_sees_the_card_and_selects_the_jpki_ap() {
    pcscd();
    let _reader = reader_lock(port0());
    let mut served = Served::start(VpcdBridge::loopback(port0()));
    let info = wait_for_our_card(READER_0, &served.stats, 0);
    assert_eq!(info.atr, JPKI_CONTACT_ATR.to_vec());

    let listing = opensc_tool(&["-l"]);
    let line = listing.lines().find(|l| l.contains(READER_0)).unwrap_or_else(|| panic!("{listing}"));
    assert!(line.contains("Yes"), "card not shown present: {listing}");

    let atr = opensc_tool(&["-r", READER_0, "-a"]);
    assert!(atr.to_lowercase().contains("3b:e0:00:ff:81:31:fe:45:14"), "{atr}");

    let out = opensc_tool(&["-r", READER_0, "-s", "00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01"]);
    assert!(out.contains("SW1=0x90, SW2=0x00"), "{out}");
    let out = opensc_tool(&["-r", READER_0, "-s", "00 A4 04 0C 07 A0 00 00 00 63 50 4B"]);
    assert!(out.contains("SW1=0x6A, SW2=0x82"), "{out}");

    assert!(served.stats.persisted.load(Ordering::SeqCst) >= 2, "before_reply runs for every command");
    served.stop().unwrap();
    wait_for_no_card(READER_0);
}

/// (c): our PcscTransport reads through pcscd and resolves 6C xx and 61 xx on its own.
#[test]
fn pcsc_transport_exchanges_apdus_and_resolves_61xx_and_6cxx() {
    pcscd();
    let _reader = reader_lock(port0());
    let addr: SocketAddr = ([127, 0, 0, 1], port0()).into();
    assert!(port0() != VPCD_PORT || addr == DEFAULT_VPCD_ADDR);
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let (mut card, stats) = TestCard::new();
    let bridge = thread::spawn(move || serve_vpcd(&mut card, addr, &flag));
    wait_for_our_card(READER_0, &stats, 0);

    let mut t = PcscTransport::connect(Some(READER_0)).unwrap();
    assert_eq!(t.reader_name(), READER_0);
    assert_eq!(t.atr(), &JPKI_CONTACT_ATR[..]);
    assert!(format!("{t:?}").contains("3B E0 00 FF 81 31 FE 45 14"));
    {
        let transport: &mut dyn Transport = &mut t;
        assert_eq!(transport.transmit(&select_jpki()).unwrap(), vec![0x90, 0x00]);
        let r = Response::parse(&transport.transmit(&[0x00, 0xB0, 0x00, 0x00, 0x00]).unwrap()).unwrap();
        assert_eq!((r.data.as_slice(), r.sw), (&file()[..256], StatusWord::SUCCESS));
        let r = Response::parse(&transport.transmit(&[0x00, 0xB0, 0x01, 0x00, 0x00]).unwrap()).unwrap();
        assert_eq!((r.data.as_slice(), r.sw), (&file()[256..], StatusWord::SUCCESS));
        assert_eq!(sw(&transport.transmit(&[0x00, 0xB0, 0x01, 0x40, 0x00]).unwrap()), StatusWord::WRONG_OFFSET);

        // 6C 08: sent again with Le = 8.
        let r = Response::parse(&transport.transmit(&[0x00, 0xCA, 0x01, 0x00, 0x00]).unwrap()).unwrap();
        assert_eq!((r.data.as_slice(), r.sw), (&b"JPKITEST"[..], StatusWord::SUCCESS));
        // 61 00, 61 00, 61 58: three GET RESPONSEs.
        let r = Response::parse(&transport.transmit(&[0x00, 0xCA, 0x02, 0x00, 0x00]).unwrap()).unwrap();
        assert_eq!((r.data, r.sw), (big_object(), StatusWord::SUCCESS));
    }
    // Without the resolution the card's own answers show.
    assert_eq!(t.transmit_raw(&[0x00, 0xCA, 0x01, 0x00, 0x00]).unwrap(), vec![0x6C, 0x08]);
    assert_eq!(t.transmit_raw(&[0x00, 0xCA, 0x02, 0x00, 0x00]).unwrap(), vec![0x61, 0x00]);

    let seen = list_readers().unwrap();
    let ours = seen.iter().find(|r| r.name == READER_0).unwrap();
    assert!(ours.card_present);
    assert_eq!(ours.atr, JPKI_CONTACT_ATR.to_vec());
    // Without a name the first reader with a card is taken: ours (reader 1 has none now or a
    // card of its own test).
    drop(PcscTransport::connect(None).unwrap());
    assert!(matches!(
        PcscTransport::connect(Some("no such reader")),
        Err(hanko_cardlink::PcscError::NoCard { wanted: Some(_), .. })
    ));

    t.disconnect().unwrap();
    stop.store(true, Ordering::SeqCst);
    bridge.join().unwrap().unwrap();
    wait_for_no_card(READER_0);
    assert!(stats.commands.load(Ordering::SeqCst) >= 10);
}

/// A TCP relay between the bridge and vpcd that the test can cut and hold, to play "pcscd went
/// away and came back".
struct Relay {
    port: u16,
    stop: Arc<AtomicBool>,
    held: Arc<AtomicBool>,
    live: Arc<Mutex<Vec<TcpStream>>>,
    thread: Option<JoinHandle<()>>,
}

impl Relay {
    fn start(listener: TcpListener, upstream: SocketAddr) -> Relay {
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let held = Arc::new(AtomicBool::new(false));
        let live: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let (flag, hold, conns) = (stop.clone(), held.clone(), live.clone());
        let thread = thread::spawn(move || {
            while !flag.load(Ordering::SeqCst) {
                if hold.load(Ordering::SeqCst) {
                    thread::sleep(Duration::from_millis(10));
                    continue;
                }
                match listener.accept() {
                    Ok((down, _)) => {
                        down.set_nonblocking(false).unwrap();
                        let up = TcpStream::connect(upstream).unwrap();
                        conns.lock().unwrap().extend([down.try_clone().unwrap(), up.try_clone().unwrap()]);
                        for (mut from, mut to) in [(down.try_clone().unwrap(), up.try_clone().unwrap()), (up, down)] {
                            thread::spawn(move || {
                                let _ = io::copy(&mut from, &mut to);
                                let _ = to.shutdown(std::net::Shutdown::Both);
                            });
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => thread::sleep(Duration::from_millis(10)),
                    Err(e) => panic!("relay accept: {e}"),
                }
            }
        });
        Relay { port, stop, held, live, thread: Some(thread) }
    }

    /// Cuts every relayed connection and holds new ones (they wait in the listen queue, and
    /// vpcd does not see them) until [`Relay::release`].
    fn cut_and_hold(&self) {
        self.held.store(true, Ordering::SeqCst);
        self.cut();
    }

    fn release(&self) {
        self.held.store(false, Ordering::SeqCst);
    }

    /// Cuts every relayed connection.
    fn cut(&self) {
        for s in self.live.lock().unwrap().drain(..) {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.cut();
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// (d): the bridge waits for vpcd to come up, survives a card reset from the PC/SC side, and
/// reconnects when its connection to vpcd breaks. Uses the second reader through a relay.
#[test]
fn bridge_survives_a_card_reset_and_a_reconnect() {
    pcscd();
    let _reader = reader_lock(port0() + 1);
    let upstream: SocketAddr = ([127, 0, 0, 1], port0() + 1).into();

    // The bridge starts before anything listens on its port ("pcscd not up yet").
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut served =
        Served::start(VpcdBridge::loopback(port).with_backoff(Duration::from_millis(20), Duration::from_millis(200)));
    thread::sleep(Duration::from_millis(300));
    assert!(
        !reader(READER_1).unwrap().card_present,
        "pcscd shows a card in {READER_1:?} before our bridge is connected: another process serves that vpcd port, or vpcd is wedged (see docs/pcsc.md)"
    );
    let relay = Relay::start(TcpListener::bind(("127.0.0.1", port)).unwrap(), upstream);
    assert_eq!(relay.port, port);
    wait_for_our_card(READER_1, &served.stats, 0);

    let mut t = PcscTransport::connect(Some(READER_1)).unwrap();
    assert_eq!(t.transmit(&select_jpki()).unwrap(), vec![0x90, 0x00]);
    assert_eq!(sw(&t.transmit(&[0x00, 0xB0, 0x00, 0x00, 0x04]).unwrap()), StatusWord::SUCCESS);

    // A warm reset from the PC/SC side reaches the card and clears its selection.
    let resets = served.stats.resets.load(Ordering::SeqCst);
    t.reset().unwrap();
    assert_eq!(t.atr(), &JPKI_CONTACT_ATR[..]);
    assert!(served.stats.resets.load(Ordering::SeqCst) > resets);
    assert_eq!(sw(&t.transmit(&[0x00, 0xB0, 0x00, 0x00, 0x04]).unwrap()), StatusWord::COMMAND_NOT_ALLOWED);
    assert_eq!(t.transmit(&select_jpki()).unwrap(), vec![0x90, 0x00]);

    // The connection to vpcd breaks: the card leaves the reader and is powered off.
    //
    // The relay holds the bridge's reconnection until the old PC/SC handle is gone: vpcd 3.3
    // accepts card connections from whichever pcscd thread asks first, and a reset from a
    // client thread (dropping a handle resets the card) racing the polling thread while a
    // connection is pending can leave one of them blocked in accept(), the reader frozen.
    let power_offs = served.stats.power_offs.load(Ordering::SeqCst);
    relay.cut_and_hold();
    wait_for_no_card(READER_1);
    assert!(served.stats.power_offs.load(Ordering::SeqCst) > power_offs);
    assert!(t.transmit(&select_jpki()).is_err(), "the old PC/SC handle sees the card gone");
    drop(t);
    let atr_requests = served.stats.atr_requests.load(Ordering::SeqCst);

    // The bridge reconnects by itself and the card is back.
    relay.release();
    wait_for_our_card(READER_1, &served.stats, atr_requests);
    let mut t = PcscTransport::connect(Some(READER_1)).unwrap();
    assert_eq!(t.transmit(&select_jpki()).unwrap(), vec![0x90, 0x00]);
    let r = Response::parse(&t.transmit(&[0x00, 0xB0, 0x00, 0x00, 0x00]).unwrap()).unwrap();
    assert_eq!(r.data, file()[..256].to_vec());
    drop(t);

    served.stop().unwrap();
    drop(relay);
    wait_for_no_card(READER_1);
}

/// The in-process transport answers as the card does, with before_reply on every command.
#[test]
fn in_process_transport_talks_to_the_same_card() {
    let (card, stats) = TestCard::new();
    let mut t = InProcess::new(card);
    assert_eq!(t.transmit(&select_jpki()).unwrap(), vec![0x90, 0x00]);
    let r = Response::parse(&t.transmit(&[0x00, 0xB0, 0x00, 0x00, 0x00]).unwrap()).unwrap();
    assert_eq!(r.data, file()[..256].to_vec());
    assert_eq!(stats.persisted.load(Ordering::SeqCst), 2);
    assert_eq!(stats.resets.load(Ordering::SeqCst), 1);
}
