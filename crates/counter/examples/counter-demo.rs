//! The counter check page over emulated documents, for the Chromium walk and for trying the page
//! by hand without a data directory (`hanko check serve` serves a data directory's images):
//!
//! ```text
//! cargo run -p hanko-counter --example counter-demo -- [--port 8480] [--ready-file F] [--dir D]
//! ```
//!
//! Sources: a personalised sample My Number Card with its 券面AP (synthetic holder 試験　花子,
//! 照合番号B `55021720352285`) under a fresh sandbox CV root that the counter trusts, and a
//! sample licence (PINs 1234/5678), residence card (AA12345678BB) and passport (BAC + PACE) from
//! fresh sandbox issuers the counter trusts. Prints the staff URL and,
//! with `--ready-file`, writes `{url, sign_in, number_b, sources}` there once it listens.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use hanko_card::{Transport, TransportError};
use hanko_counter::{CounterConfig, SourceInfo, Sources};
#[path = "../tests/support/samples.rs"]
mod samples;

use hanko_documents::{DocumentKind, TrustAnchors};
use samples::{my_number_card, sample_document};

/// The sample card's 照合番号B: born Showa 55-02-17, the card expires 2035, security code 2285.
const NUMBER_B: &str = "55021720352285";

type SharedTransport = Arc<Mutex<Box<dyn Transport + Send>>>;

struct Shared(SharedTransport);

impl Transport for Shared {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).transmit(apdu)
    }
}

struct Demo(Vec<(SourceInfo, SharedTransport)>);

impl Sources for Demo {
    fn list(&self) -> Vec<SourceInfo> {
        self.0.iter().map(|(i, _)| i.clone()).collect()
    }
    fn open(&self, id: &str) -> Result<Box<dyn Transport + Send>, String> {
        let (_, t) = self.0.iter().find(|(i, _)| i.id == id).ok_or_else(|| format!("no source {id}"))?;
        Ok(Box::new(Shared(t.clone())))
    }
}

fn source(
    id: &str,
    label: &str,
    kind: DocumentKind,
    t: impl Transport + Send + 'static,
) -> (SourceInfo, SharedTransport) {
    (SourceInfo { id: id.into(), label: label.into(), kind: Some(kind) }, Arc::new(Mutex::new(Box::new(t))))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut port = 0u16;
    let mut ready_file = None;
    let mut dir = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--port" => port = args.next().unwrap_or_default().parse()?,
            "--ready-file" => ready_file = args.next(),
            "--dir" => dir = args.next(),
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    let (card, cv_root) = my_number_card();
    let mut trust = TrustAnchors::default();
    let mut sample = |kind| {
        let (chip, t) = sample_document(kind);
        trust.police_keys.extend(t.police_keys);
        trust.immigration_roots.extend(t.immigration_roots);
        trust.cscas.extend(t.cscas);
        chip
    };
    let (licence, residence, passport) =
        (sample(DocumentKind::DriverLicence), sample(DocumentKind::ResidenceCard), sample(DocumentKind::Passport));
    let sources = Demo(vec![
        source("emulated-mynumber", "エミュレート: 試験　花子 (マイナンバーカード)", DocumentKind::MyNumberCard, card),
        source("emulated-licence", "エミュレート: 運転免許証 (見本　花子)", DocumentKind::DriverLicence, licence),
        source("emulated-residence", "エミュレート: 在留カード (AA12345678BB)", DocumentKind::ResidenceCard, residence),
        source("emulated-passport", "エミュレート: 旅券 (MIHON HANAKO)", DocumentKind::Passport, passport),
    ]);
    let list = sources.list();
    trust.mynumber_cv_root = Some(cv_root);
    let dir = dir
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join(format!("hanko-counter-demo-{}", std::process::id())));
    let config = CounterConfig::new(trust, Arc::new(sources), &dir);
    let token = config.staff_token.clone();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let url = format!("http://{}", listener.local_addr()?);
    if let Some(f) = ready_file {
        let ready = serde_json::json!({
            "url": url, "sign_in": format!("{url}/?token={}", token.as_str()),
            "number_b": NUMBER_B, "sources": list
        });
        std::fs::write(&f, serde_json::to_vec_pretty(&ready)?)?;
    }
    hanko_counter::serve(config, listener).await
}
