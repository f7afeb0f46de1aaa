//! `hanko check serve`: the counter check web page of hanko-counter over this machine's sources —
//! the emulated cards and documents of the data directory and, with feature `pcsc`, the PC/SC
//! readers.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use hanko_documents::DocumentKind;

use crate::Failure;

/// A place a document can be read from, as the counter page lists it.
#[derive(Debug, Clone)]
#[allow(dead_code, reason = "read by hanko-counter's page (its `SourceInfo`)")]
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
#[allow(dead_code, reason = "hanko-counter calls `open`")]
pub(crate) struct DataDirSources {
    data: PathBuf,
}

#[allow(dead_code, reason = "hanko-counter calls `open`")]
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
#[allow(dead_code, reason = "hanko-counter calls `DataDirSources::open`")]
fn open_reader(_name: &str) -> Result<Box<dyn hanko_card::Transport + Send>, String> {
    Err(crate::no_pcsc("a reader").to_string())
}

/// Serves the counter page on `listen` until stopped.
pub(crate) fn serve(data: &Path, listen: &str) -> Result<ExitCode> {
    let sources = DataDirSources::new(data);
    let _ = (sources.list(), listen);
    Err(Failure::bad_input("not-built", "the counter web page (hanko-counter) is not in this build yet").into())
}
