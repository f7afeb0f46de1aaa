//! The vpcd bridge: puts a [`VirtualCard`] into `pcscd` through the vpcd reader driver
//! (Debian `vsmartcard-vpcd`; shared/spec/10-card.md §10).
//!
//! vpcd listens on TCP (port 35963 for the reader "Virtual PCD 00 00", 35964 for
//! "Virtual PCD 00 01") and the card side connects to it. Every message in either direction is
//!
//! ```text
//! length (2 bytes, big-endian) ‖ payload (length bytes)
//! ```
//!
//! A 1-byte payload from vpcd is a control code — `00` power off, `01` power on, `02` reset
//! (no answer to these three), `04` "send your ATR" (answered with the ATR). Any longer payload
//! is a command APDU, answered with the response APDU (data ‖ SW1 SW2). vpcd asks for the ATR
//! every time pcscd polls for the card, so that request is frequent.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

use crate::VirtualCard;

/// vpcd's first port, the reader "Virtual PCD 00 00"; the next port is "Virtual PCD 00 01".
pub const VPCD_PORT: u16 = 35963;

/// `127.0.0.1:35963`, the reader "Virtual PCD 00 00" of a local pcscd.
pub const DEFAULT_VPCD_ADDR: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, VPCD_PORT));

/// The largest payload a vpcd frame can carry (its length prefix is 16 bits) and the default
/// limit of [`VpcdBridge::with_max_message`].
pub const MAX_VPCD_MESSAGE: usize = 0xFFFF;

const CTRL_POWER_OFF: u8 = 0x00;
const CTRL_POWER_ON: u8 = 0x01;
const CTRL_RESET: u8 = 0x02;
const CTRL_ATR: u8 = 0x04;

/// How long one blocking read waits before the bridge looks at its stop flag again.
const POLL: Duration = Duration::from_millis(100);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Which vpcd addresses a bridge may connect to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum PeerPolicy {
    /// Only loopback addresses (`127.0.0.0/8`, `::1`): the card never leaves the machine.
    #[default]
    LoopbackOnly,
    /// Any address, e.g. a pcscd on another host of a test network. Everything the card says,
    /// PINs included, then crosses that network in clear.
    AnyAddress,
}

/// The vpcd bridge failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VpcdError {
    /// The address is not a loopback address and the policy is [`PeerPolicy::LoopbackOnly`].
    #[error("vpcd address {addr} is not a loopback address (policy LoopbackOnly)")]
    NotLoopback {
        /// The address asked for.
        addr: SocketAddr,
    },
    /// vpcd announced a message longer than the bridge's limit; the connection was closed.
    #[error("vpcd announced a {len}-byte message, more than the limit of {max}")]
    MessageTooLong {
        /// The announced length.
        len: usize,
        /// The bridge's limit.
        max: usize,
    },
    /// The connection to vpcd failed.
    #[error("vpcd connection: {0}")]
    Io(#[from] io::Error),
    /// [`VirtualCard::before_reply`] failed: the response was withheld, the card powered off
    /// and the bridge stopped.
    #[error("card state could not be persisted, response withheld: {0}")]
    Persist(#[source] io::Error),
}

/// How one connection to vpcd ended without an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SessionEnd {
    /// vpcd closed the connection (pcscd stopped, or vpcd ejected the card).
    Closed,
    /// The stop flag was raised.
    Stopped,
}

enum Fill {
    Done,
    Eof,
    Stopped,
}

/// Connects a [`VirtualCard`] to vpcd and serves it until told to stop.
///
/// ```no_run
/// # use std::sync::atomic::AtomicBool;
/// # fn run(card: &mut impl hanko_cardlink::VirtualCard) -> Result<(), hanko_cardlink::VpcdError> {
/// let stop = AtomicBool::new(false);
/// hanko_cardlink::VpcdBridge::loopback(hanko_cardlink::VPCD_PORT).serve(card, &stop)
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct VpcdBridge {
    addr: SocketAddr,
    max_message: usize,
    backoff_min: Duration,
    backoff_max: Duration,
}

impl VpcdBridge {
    /// A bridge to vpcd at `addr`; fails with [`VpcdError::NotLoopback`] when the policy
    /// forbids the address.
    pub fn new(addr: SocketAddr, policy: PeerPolicy) -> Result<VpcdBridge, VpcdError> {
        if policy == PeerPolicy::LoopbackOnly && !addr.ip().is_loopback() {
            return Err(VpcdError::NotLoopback { addr });
        }
        Ok(VpcdBridge {
            addr,
            max_message: MAX_VPCD_MESSAGE,
            backoff_min: Duration::from_millis(50),
            backoff_max: Duration::from_secs(2),
        })
    }

    /// A bridge to vpcd on `127.0.0.1:port` ([`VPCD_PORT`] is "Virtual PCD 00 00",
    /// `VPCD_PORT + 1` is "Virtual PCD 00 01").
    pub fn loopback(port: u16) -> VpcdBridge {
        VpcdBridge {
            addr: SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port)),
            max_message: MAX_VPCD_MESSAGE,
            backoff_min: Duration::from_millis(50),
            backoff_max: Duration::from_secs(2),
        }
    }

    /// Limits the messages accepted from vpcd to `max` bytes (clamped to 5..=65535; the
    /// default is [`MAX_VPCD_MESSAGE`]). A longer announced message closes the connection with
    /// [`VpcdError::MessageTooLong`] and the bridge reconnects.
    pub fn with_max_message(mut self, max: usize) -> VpcdBridge {
        self.max_message = max.clamp(5, MAX_VPCD_MESSAGE);
        self
    }

    /// Waits `min`, doubling up to `max`, between attempts to reach vpcd (defaults 50 ms and
    /// 2 s). `max` below `min` is raised to `min`.
    pub fn with_backoff(mut self, min: Duration, max: Duration) -> VpcdBridge {
        self.backoff_min = min.max(Duration::from_millis(1));
        self.backoff_max = max.max(self.backoff_min);
        self
    }

    /// The vpcd address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves `card` to vpcd until `stop` is raised, then returns `Ok(())`.
    ///
    /// When vpcd is not reachable yet, or closes the connection (pcscd restarts), or breaks the
    /// protocol, the bridge powers the card off (the card left the reader) and reconnects with
    /// backoff. It returns an error only when [`VirtualCard::before_reply`] fails
    /// ([`VpcdError::Persist`]): that response is never sent.
    pub fn serve<C: VirtualCard + ?Sized>(&self, card: &mut C, stop: &AtomicBool) -> Result<(), VpcdError> {
        let mut delay = self.backoff_min;
        while !stop.load(Ordering::Relaxed) {
            let stream = match TcpStream::connect_timeout(&self.addr, CONNECT_TIMEOUT) {
                Ok(stream) => stream,
                Err(e) => {
                    log::debug!("vpcd {}: not reachable ({e}); retrying in {delay:?}", self.addr);
                    sleep_unless_stopped(delay, stop);
                    delay = (delay * 2).min(self.backoff_max);
                    continue;
                }
            };
            log::info!("vpcd {}: connected", self.addr);
            let started = Instant::now();
            let result = self.serve_connection(stream, card, stop);
            card.power_off();
            match result {
                Ok(SessionEnd::Stopped) => break,
                Ok(SessionEnd::Closed) => log::info!("vpcd {}: connection closed; reconnecting", self.addr),
                Err(e @ VpcdError::Persist(_)) => {
                    log::error!("vpcd {}: {e}; card powered off, bridge stopped", self.addr);
                    return Err(e);
                }
                Err(e) => log::warn!("vpcd {}: {e}; reconnecting", self.addr),
            }
            if started.elapsed() > self.backoff_max {
                delay = self.backoff_min;
            }
            sleep_unless_stopped(delay, stop);
            delay = (delay * 2).min(self.backoff_max);
        }
        log::info!("vpcd {}: stopped", self.addr);
        Ok(())
    }

    fn serve_connection<C: VirtualCard + ?Sized>(
        &self,
        stream: TcpStream,
        card: &mut C,
        stop: &AtomicBool,
    ) -> Result<SessionEnd, VpcdError> {
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(POLL))?;
        stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
        let mut stream = QuickAck(stream);
        self.session(&mut stream, card, stop)
    }

    /// Runs the vpcd protocol over one connection.
    fn session<S: Read + Write, C: VirtualCard + ?Sized>(
        &self,
        stream: &mut S,
        card: &mut C,
        stop: &AtomicBool,
    ) -> Result<SessionEnd, VpcdError> {
        let mut message = Zeroizing::new(Vec::new());
        loop {
            let mut len = [0u8; 2];
            match fill(stream, &mut len, stop, true)? {
                Fill::Done => {}
                Fill::Eof => return Ok(SessionEnd::Closed),
                Fill::Stopped => return Ok(SessionEnd::Stopped),
            }
            let len = usize::from(u16::from_be_bytes(len));
            if len > self.max_message {
                return Err(VpcdError::MessageTooLong { len, max: self.max_message });
            }
            message.clear();
            message.resize(len, 0);
            match fill(stream, &mut message, stop, false)? {
                Fill::Done | Fill::Eof => {}
                Fill::Stopped => return Ok(SessionEnd::Stopped),
            }
            match message.as_slice() {
                [] => log::debug!("vpcd {}: empty message ignored", self.addr),
                [CTRL_POWER_OFF] => {
                    log::debug!("vpcd {}: power off", self.addr);
                    card.power_off();
                }
                [CTRL_POWER_ON] => {
                    log::debug!("vpcd {}: power on", self.addr);
                    card.reset();
                }
                [CTRL_RESET] => {
                    log::debug!("vpcd {}: reset", self.addr);
                    card.reset();
                }
                [CTRL_ATR] => {
                    log::trace!("vpcd {}: ATR requested", self.addr);
                    write_frame(stream, &card.atr())?;
                }
                [code] => log::warn!("vpcd {}: unknown control code {code:02X} ignored", self.addr),
                apdu => {
                    let mut response = Zeroizing::new(card.process(apdu));
                    if let Err(e) = card.before_reply() {
                        card.power_off();
                        return Err(VpcdError::Persist(e));
                    }
                    if response.len() < 2 || response.len() > MAX_VPCD_MESSAGE {
                        log::warn!(
                            "vpcd {}: the card answered {} bytes, which is no response APDU; sending 6F 00",
                            self.addr,
                            response.len()
                        );
                        *response = vec![0x6F, 0x00];
                    }
                    log::debug!(
                        "vpcd {}: {} command bytes -> {} response bytes, {}",
                        self.addr,
                        apdu.len(),
                        response.len(),
                        status_of(&response)
                    );
                    write_frame(stream, &response)?;
                }
            }
        }
    }
}

/// Serves `card` to vpcd at `addr` (loopback only) until `stop` is raised:
/// `VpcdBridge::new(addr, PeerPolicy::LoopbackOnly)?.serve(card, stop)`.
pub fn serve_vpcd<C: VirtualCard + ?Sized>(card: &mut C, addr: SocketAddr, stop: &AtomicBool) -> Result<(), VpcdError> {
    VpcdBridge::new(addr, PeerPolicy::LoopbackOnly)?.serve(card, stop)
}

/// The status word of a raw response for logs ("SW 90 00"), never its data.
pub(crate) fn status_of(response: &[u8]) -> String {
    match response {
        [.., sw1, sw2] => format!("SW {sw1:02X} {sw2:02X}"),
        _ => "no SW".to_owned(),
    }
}

/// Reads exactly `buf.len()` bytes, looking at `stop` whenever a read times out. `Eof` only
/// when the stream ends before the first byte and `at_boundary`; an end inside a message is an
/// error.
fn fill<S: Read>(stream: &mut S, buf: &mut [u8], stop: &AtomicBool, at_boundary: bool) -> Result<Fill, VpcdError> {
    let mut filled = 0;
    while filled < buf.len() {
        if stop.load(Ordering::Relaxed) {
            return Ok(Fill::Stopped);
        }
        match stream.read(&mut buf[filled..]) {
            Ok(0) if filled == 0 && at_boundary => return Ok(Fill::Eof),
            Ok(0) => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "vpcd closed inside a message").into()),
            Ok(n) => filled += n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
                ) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Fill::Done)
}

fn write_frame<S: Write>(stream: &mut S, payload: &[u8]) -> Result<(), VpcdError> {
    let len = u16::try_from(payload.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "payload does not fit a vpcd frame"))?;
    let mut frame = Zeroizing::new(Vec::with_capacity(payload.len() + 2));
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(payload);
    stream.write_all(&frame)?;
    stream.flush()?;
    Ok(())
}

fn sleep_unless_stopped(total: Duration, stop: &AtomicBool) {
    let until = Instant::now() + total;
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        if now >= until {
            return;
        }
        std::thread::sleep((until - now).min(Duration::from_millis(20)));
    }
}

/// A TCP stream that acknowledges every segment at once. vpcd writes a frame's length and its
/// payload separately without TCP_NODELAY, so Nagle holds the payload until our ACK arrives —
/// which Linux delays by up to 40 ms. Quick ACKs take that out of every APDU's round trip.
struct QuickAck(TcpStream);

impl QuickAck {
    fn ack_now(&self) {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        let _ = socket2::SockRef::from(&self.0).set_tcp_quickack(true);
    }
}

impl Read for QuickAck {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.ack_now();
        let n = self.0.read(buf)?;
        self.ack_now();
        Ok(n)
    }
}

impl Write for QuickAck {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use std::net::TcpListener;

    #[derive(Default)]
    struct Card {
        resets: u32,
        power_offs: u32,
        commands: u32,
        fail_persist: bool,
        answer: Option<Vec<u8>>,
    }

    impl VirtualCard for Card {
        fn atr(&self) -> Vec<u8> {
            crate::JPKI_CONTACT_ATR.to_vec()
        }
        fn process(&mut self, apdu: &[u8]) -> Vec<u8> {
            self.commands += 1;
            self.answer.clone().unwrap_or_else(|| vec![apdu.len() as u8, 0x90, 0x00])
        }
        fn reset(&mut self) {
            self.resets += 1;
        }
        fn power_off(&mut self) {
            self.power_offs += 1;
        }
        fn before_reply(&mut self) -> io::Result<()> {
            if self.fail_persist {
                Err(io::Error::other("disk full"))
            } else {
                Ok(())
            }
        }
    }

    /// The vpcd side of a connection, as the test drives it.
    struct Vpcd(TcpStream);

    impl Vpcd {
        fn accept(listener: &TcpListener) -> Vpcd {
            let (s, _) = listener.accept().unwrap();
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            Vpcd(s)
        }
        fn send(&mut self, payload: &[u8]) {
            write_frame(&mut self.0, payload).unwrap();
        }
        fn recv(&mut self) -> Vec<u8> {
            let mut len = [0u8; 2];
            self.0.read_exact(&mut len).unwrap();
            let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
            self.0.read_exact(&mut buf).unwrap();
            buf
        }
        fn expect_closed(&mut self) {
            let mut b = [0u8; 1];
            assert_eq!(self.0.read(&mut b).unwrap(), 0, "the bridge should have closed the connection");
        }
    }

    fn fast(port: u16) -> VpcdBridge {
        VpcdBridge::loopback(port).with_backoff(Duration::from_millis(5), Duration::from_millis(50))
    }

    #[test]
    fn speaks_the_protocol_and_reconnects_after_vpcd_closes() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = AtomicBool::new(false);
        let mut card = Card::default();
        std::thread::scope(|s| {
            let bridge = s.spawn(|| fast(port).serve(&mut card, &stop));
            let mut v = Vpcd::accept(&listener);
            v.send(&[CTRL_ATR]);
            assert_eq!(v.recv(), crate::JPKI_CONTACT_ATR.to_vec());
            v.send(&[CTRL_POWER_ON]);
            v.send(&[0x00, 0xA4, 0x04, 0x0C, 0x02, 0xD3, 0x92]);
            assert_eq!(v.recv(), vec![7, 0x90, 0x00]);
            v.send(&[CTRL_RESET]);
            v.send(&[0x03]); // unknown control code: ignored, no answer
            v.send(&[CTRL_POWER_OFF]);
            v.send(&[CTRL_ATR]);
            assert_eq!(v.recv(), crate::JPKI_CONTACT_ATR.to_vec());
            drop(v); // pcscd went away
            let mut v = Vpcd::accept(&listener);
            v.send(&[CTRL_POWER_ON]);
            v.send(&[0x00, 0xB0, 0x00, 0x00, 0x00]);
            assert_eq!(v.recv(), vec![5, 0x90, 0x00]);
            stop.store(true, Ordering::Relaxed);
            v.expect_closed();
            bridge.join().unwrap().unwrap();
        });
        assert_eq!(card.commands, 2);
        assert_eq!(card.resets, 3, "power on, reset, power on");
        assert_eq!(card.power_offs, 3, "power off, connection lost, stop");
    }

    #[test]
    fn an_oversized_message_closes_the_connection_and_the_bridge_reconnects() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = AtomicBool::new(false);
        let mut card = Card::default();
        std::thread::scope(|s| {
            let bridge = s.spawn(|| fast(port).with_max_message(300).serve(&mut card, &stop));
            let mut v = Vpcd::accept(&listener);
            v.0.write_all(&301u16.to_be_bytes()).unwrap();
            v.expect_closed();
            let mut v = Vpcd::accept(&listener);
            // 65535 bytes announced, the most a frame can say: still refused under the limit.
            v.0.write_all(&[0xFF, 0xFF]).unwrap();
            v.expect_closed();
            let mut v = Vpcd::accept(&listener);
            v.send(&[0u8; 300]);
            assert_eq!(v.recv(), vec![44, 0x90, 0x00]);
            stop.store(true, Ordering::Relaxed);
            bridge.join().unwrap().unwrap();
        });
        assert_eq!(card.commands, 1);
    }

    #[test]
    fn a_failed_persist_withholds_the_response_and_stops() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = AtomicBool::new(false);
        let mut card = Card { fail_persist: true, answer: Some(vec![0x63, 0xC2]), ..Card::default() };
        std::thread::scope(|s| {
            let bridge = s.spawn(|| fast(port).serve(&mut card, &stop));
            let mut v = Vpcd::accept(&listener);
            v.send(&[CTRL_POWER_ON]);
            v.send(&[0x00, 0x20, 0x00, 0x80, 0x04, b'9', b'9', b'9', b'9']);
            v.expect_closed();
            let err = bridge.join().unwrap().unwrap_err();
            assert!(matches!(err, VpcdError::Persist(_)), "{err}");
        });
        assert_eq!(card.commands, 1);
        assert!(card.power_offs >= 1);
    }

    #[test]
    fn waits_for_vpcd_to_come_up() {
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let stop = AtomicBool::new(false);
        let mut card = Card::default();
        std::thread::scope(|s| {
            let bridge = s.spawn(|| fast(port).serve(&mut card, &stop));
            std::thread::sleep(Duration::from_millis(150));
            let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
            let mut v = Vpcd::accept(&listener);
            v.send(&[CTRL_ATR]);
            assert_eq!(v.recv(), crate::JPKI_CONTACT_ATR.to_vec());
            stop.store(true, Ordering::Relaxed);
            bridge.join().unwrap().unwrap();
        });
    }

    #[test]
    fn a_card_that_answers_no_status_word_gets_6f00() {
        let mut card = Card { answer: Some(vec![0x90]), ..Card::default() };
        let stop = AtomicBool::new(false);
        let mut input = Vec::new();
        input.extend_from_slice(&[0, 4, 0, 0xB0, 0, 0]);
        let mut stream = Duplex { input: io::Cursor::new(input), output: Vec::new(), trickle: false, tick: 0 };
        let end = VpcdBridge::loopback(1).session(&mut stream, &mut card, &stop).unwrap();
        assert_eq!(end, SessionEnd::Closed);
        assert_eq!(stream.output, vec![0, 2, 0x6F, 0x00]);
    }

    /// An in-memory stream whose reads give one byte at a time between timeouts.
    struct Duplex {
        input: io::Cursor<Vec<u8>>,
        output: Vec<u8>,
        trickle: bool,
        tick: u32,
    }

    impl Read for Duplex {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if !self.trickle {
                return self.input.read(buf);
            }
            self.tick += 1;
            if self.tick.is_multiple_of(2) {
                return Err(io::Error::new(io::ErrorKind::WouldBlock, "timeout"));
            }
            let n = buf.len().min(1);
            self.input.read(&mut buf[..n])
        }
    }

    impl Write for Duplex {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.output.write(buf)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn timeouts_inside_a_frame_lose_no_bytes() {
        let mut card = Card::default();
        let stop = AtomicBool::new(false);
        let mut input = Vec::new();
        for payload in [&[CTRL_ATR][..], &[0, 0xA4, 4, 0x0C, 2, 0x3F, 0], &[CTRL_POWER_OFF]] {
            input.extend_from_slice(&(payload.len() as u16).to_be_bytes());
            input.extend_from_slice(payload);
        }
        input.extend_from_slice(&[0]); // the stream ends inside a length prefix
        let mut stream = Duplex { input: io::Cursor::new(input), output: Vec::new(), trickle: true, tick: 0 };
        let err = VpcdBridge::loopback(1).session(&mut stream, &mut card, &stop).unwrap_err();
        assert!(matches!(&err, VpcdError::Io(e) if e.kind() == io::ErrorKind::UnexpectedEof), "{err}");
        let mut expected = vec![0, 9];
        expected.extend_from_slice(&crate::JPKI_CONTACT_ATR);
        expected.extend_from_slice(&[0, 3, 7, 0x90, 0]);
        assert_eq!(stream.output, expected);
        assert_eq!(card.power_offs, 1);
    }

    #[test]
    fn only_loopback_unless_asked() {
        let remote: SocketAddr = "192.0.2.1:35963".parse().unwrap();
        assert!(matches!(VpcdBridge::new(remote, PeerPolicy::LoopbackOnly), Err(VpcdError::NotLoopback { .. })));
        assert!(VpcdBridge::new(remote, PeerPolicy::AnyAddress).is_ok());
        let v6: SocketAddr = "[::1]:35963".parse().unwrap();
        assert_eq!(VpcdBridge::new(v6, PeerPolicy::default()).unwrap().addr(), v6);
        let stop = AtomicBool::new(true);
        assert!(matches!(serve_vpcd(&mut Card::default(), remote, &stop), Err(VpcdError::NotLoopback { .. })));
        assert_eq!(DEFAULT_VPCD_ADDR, "127.0.0.1:35963".parse().unwrap());
    }
}
