//! `hanko check serve`: the counter check web page of hanko-counter over this machine's sources —
//! the emulated cards and documents of the data directory and, with feature `pcsc`, the PC/SC
//! readers.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use std::sync::Arc;

use anyhow::{Context, Result};
use hanko_documents::DocumentKind;

use crate::Failure;

/// A place a document can be read from, as the counter page lists it.
#[derive(Debug, Clone)]
pub(crate) struct Source {
    /// `card:<id>`, `document:<id>` or `reader:<name>`.
    pub(crate) id: String,
    /// Shown on the page.
    pub(crate) label: String,
    /// The document it holds, when known without reading it.
    pub(crate) kind: Option<DocumentKind>,
}

/// The data directory's emulated cards and documents, and the PC/SC readers: hanko-counter's
/// `Sources` (`list`, `open`).
pub(crate) struct DataDirSources {
    data: PathBuf,
}

impl DataDirSources {
    pub(crate) fn new(data: &Path) -> DataDirSources {
        DataDirSources { data: data.to_owned() }
    }

    /// Every source, readers first.
    pub(crate) fn list(&self) -> Vec<Source> {
        let mut out = readers();
        for id in hanko_cardlink::list_card_images(&self.data).unwrap_or_default() {
            out.push(Source {
                label: format!("emulated My Number Card {id}"),
                id: format!("card:{id}"),
                kind: Some(DocumentKind::MyNumberCard),
            });
        }
        for d in hanko_cardlink::list_documents(&self.data).unwrap_or_default() {
            let kind = d.kind.ok().and_then(|k| DocumentKind::ALL.into_iter().find(|x| x.as_str() == k));
            out.push(Source {
                label: format!("emulated {} {}", kind.map_or("document", |k| k.label_ja()), d.id),
                id: format!("document:{}", d.id),
                kind,
            });
        }
        out
    }

    /// Opens one source for one check (an emulated one is locked for that time).
    pub(crate) fn open(&self, id: &str) -> Result<Box<dyn hanko_card::Transport + Send>, String> {
        match id.split_once(':') {
            Some(("card" | "document", emulated)) => {
                crate::cmd_check::open_emulated(&self.data, emulated).map_err(|e| format!("{e:#}"))
            }
            Some(("reader", name)) => open_reader(name),
            _ => Err(format!("no source {id:?}")),
        }
    }
}

#[cfg(feature = "pcsc")]
fn readers() -> Vec<Source> {
    hanko_cardlink::list_readers()
        .unwrap_or_default()
        .into_iter()
        .map(|r| Source { id: format!("reader:{}", r.name), label: format!("reader {}", r.name), kind: None })
        .collect()
}

#[cfg(not(feature = "pcsc"))]
fn readers() -> Vec<Source> {
    Vec::new()
}

#[cfg(feature = "pcsc")]
fn open_reader(name: &str) -> Result<Box<dyn hanko_card::Transport + Send>, String> {
    hanko_cardlink::PcscTransport::connect(Some(name))
        .map(|t| Box::new(t) as Box<dyn hanko_card::Transport + Send>)
        .map_err(|e| e.to_string())
}

#[cfg(not(feature = "pcsc"))]
fn open_reader(_name: &str) -> Result<Box<dyn hanko_card::Transport + Send>, String> {
    Err(crate::no_pcsc("a reader").to_string())
}

impl hanko_counter::Sources for DataDirSources {
    fn list(&self) -> Vec<hanko_counter::SourceInfo> {
        DataDirSources::list(self)
            .into_iter()
            .map(|s| hanko_counter::SourceInfo { id: s.id, label: s.label, kind: s.kind })
            .collect()
    }
    fn open(&self, id: &str) -> Result<Box<dyn hanko_card::Transport + Send>, String> {
        DataDirSources::open(self, id)
    }
}

/// Serves the counter page on `listen` until stopped.
pub(crate) fn serve(
    data: &Path,
    listen: &str,
    record: &str,
    database: Option<String>,
    ops: &crate::ops::ServeOps,
) -> Result<ExitCode> {
    let record_policy = hanko_counter::RecordPolicy::parse(record)
        .ok_or_else(|| Failure::bad_input("bad-input", format!("--record is minimal or aml, not {record:?}")))?;
    let addr: std::net::SocketAddr =
        listen.parse().map_err(|_| Failure::bad_input("bad-input", format!("--listen {listen:?} is not IP:port")))?;
    if !addr.ip().is_loopback() {
        return Err(Failure::bad_input(
            "bad-input",
            format!(
                "refusing to serve plain HTTP on {listen}, which is not a loopback address: the staff token and \
                 access codes would travel in clear. Listen on loopback behind a TLS-terminating proxy"
            ),
        )
        .into());
    }
    crate::ops::init_logs(ops.log_format);
    let trust = crate::cmd_document::trust_anchors(data)?;
    let mut config = hanko_counter::CounterConfig::new(trust, Arc::new(DataDirSources::new(data)), data);
    config.record_policy = record_policy;
    config.database_url = database;
    config.metrics_public = ops.public_metrics;
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("listening on {addr}"))?;
        hanko_counter::serve(config, listener).await
    })?;
    Ok(ExitCode::SUCCESS)
}
