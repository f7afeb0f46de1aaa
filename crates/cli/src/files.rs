//! Files the commands read and write: DER/PEM certificates, keys (mode 0600), the authority's
//! published CA certificates.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use hanko_pki::CaKind;

/// Writes `bytes` to `path` atomically with `mode` (see [`hanko_store::write_atomic`]).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    hanko_store::write_atomic(path, bytes, mode).with_context(|| format!("writing {}", path.display()))
}

pub(crate) fn pem(label: &str, der: &[u8]) -> Result<String> {
    hanko_pki::der::pem::encode_string(label, hanko_pki::der::pem::LineEnding::LF, der)
        .map_err(|e| anyhow::anyhow!("PEM encoding: {e}"))
}

/// Reads DER or PEM (any label) from a file.
pub(crate) fn read_der(path: &Path) -> Result<Vec<u8>> {
    let bytes = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    if bytes.starts_with(b"-----BEGIN") {
        let (_, der) =
            hanko_pki::der::pem::decode_vec(&bytes).map_err(|e| anyhow::anyhow!("{}: bad PEM: {e}", path.display()))?;
        return Ok(der);
    }
    Ok(bytes)
}

/// The CA certificates an authority data directory publishes (`ca/<kind>/<generation>/ca.der`):
/// the trust anchors of its sandbox.
pub(crate) fn anchors(data_dir: &Path) -> Result<Vec<(CaKind, Vec<u8>)>> {
    let mut out = Vec::new();
    for kind in [CaKind::Signature, CaKind::Auth] {
        let dir = data_dir.join("ca").join(kind.as_str());
        let Ok(entries) = fs::read_dir(&dir) else { continue };
        let mut generations: Vec<_> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        generations.sort();
        for g in generations {
            let path = g.join("ca.der");
            if path.exists() {
                out.push((kind, read_der(&path)?));
            }
        }
    }
    if out.is_empty() {
        anyhow::bail!(
            "no sandbox authority in {} (run `hanko authority init --data-dir {}` first)",
            data_dir.display(),
            data_dir.display()
        );
    }
    Ok(out)
}
