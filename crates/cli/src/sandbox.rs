//! The sandbox authority on disk: CA generations (certificate + PKCS#8 key, 0600), the register
//! of issued and revoked certificates, and the files it publishes.
//!
//! Layout under the data directory:
//!
//! ```text
//! authority.json                 register: generations, issued, revoked, CRL numbers
//! ca/<signature|auth>/<gen>/ca.der, ca.pem, key.p8 (0600)
//! ocsp/responder.der, responder.pem, responder.p8 (0600)
//! issued/<serial>.der, .pem      every certificate issued
//! crl/<signature|auth>-<gen>.crl DER CRLs
//! ```
//!
//! Every write goes to a temporary file that is synced and renamed, so a crash never leaves a
//! half-written register or key.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use hanko_pki::time::{Date, OffsetDateTime};
use hanko_pki::{CaGeneration, CaKind, CrlReason, Naming, PolicySet, Serial, SoftwareKey};
use serde::{Deserialize, Serialize};

/// One CA generation in the register.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct GenerationRecord {
    pub(crate) kind: String,
    pub(crate) id: String,
    pub(crate) serial: String,
    pub(crate) not_before: i64,
    pub(crate) not_after: i64,
}

/// One issued certificate.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct IssuedRecord {
    pub(crate) serial: String,
    pub(crate) kind: String,
    pub(crate) ca: String,
    pub(crate) generation: String,
    pub(crate) subject: String,
    pub(crate) not_after: i64,
    pub(crate) revoked: Option<RevokedRecord>,
}

/// A revocation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RevokedRecord {
    pub(crate) at: i64,
    pub(crate) reason: u8,
}

/// The register of the sandbox authority.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Register {
    pub(crate) generations: Vec<GenerationRecord>,
    pub(crate) issued: Vec<IssuedRecord>,
    pub(crate) crl_numbers: std::collections::BTreeMap<String, u64>,
}

/// The authority's data directory.
pub(crate) struct Sandbox {
    pub(crate) dir: PathBuf,
    pub(crate) register: Register,
}

pub(crate) fn ts(t: OffsetDateTime) -> i64 {
    t.unix_timestamp()
}

pub(crate) fn from_ts(t: i64) -> Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(t).context("timestamp out of range")
}

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

pub(crate) fn kind_str(kind: CaKind) -> &'static str {
    kind.as_str()
}

/// Sandbox authority generations use the clearly-test names and test policies.
pub(crate) fn naming() -> (Naming, PolicySet) {
    (Naming::sandbox(), PolicySet::sandbox())
}

impl Sandbox {
    /// Opens the data directory (which must have been initialised).
    pub(crate) fn open(dir: &Path) -> Result<Sandbox> {
        let path = dir.join("authority.json");
        let text = fs::read_to_string(&path).with_context(|| {
            format!(
                "no sandbox authority in {} (run `hanko ca init --data-dir {}` first)",
                dir.display(),
                dir.display()
            )
        })?;
        let register = serde_json::from_str(&text).with_context(|| format!("{} is corrupt", path.display()))?;
        Ok(Sandbox { dir: dir.to_owned(), register })
    }

    /// Opens or creates an empty directory.
    pub(crate) fn open_or_empty(dir: &Path) -> Result<Sandbox> {
        if dir.join("authority.json").exists() {
            Sandbox::open(dir)
        } else {
            Ok(Sandbox { dir: dir.to_owned(), register: Register::default() })
        }
    }

    /// Persists the register atomically.
    pub(crate) fn save(&self) -> Result<()> {
        let text = serde_json::to_string_pretty(&self.register)?;
        write_atomic(&self.dir.join("authority.json"), text.as_bytes(), 0o644)
    }

    fn generation_dir(&self, kind: CaKind, id: &str) -> PathBuf {
        self.dir.join("ca").join(kind_str(kind)).join(id)
    }

    /// Creates a new CA generation of `kind` starting at `now`, valid 10 years (to the day
    /// before, 14:59:59Z, like the J-LIS CAs).
    pub(crate) fn create_generation(&mut self, kind: CaKind, now: OffsetDateTime) -> Result<GenerationRecord> {
        let key = SoftwareKey::generate_rsa2048()?;
        let serial = Serial::random(&mut rand_core::OsRng);
        let jst_day = (now + hanko_pki::time::Duration::hours(9)).date();
        let end_day = Date::from_calendar_date(jst_day.year() + 10, jst_day.month(), jst_day.day())
            .or_else(|_| Date::from_calendar_date(jst_day.year() + 10, jst_day.month(), jst_day.day() - 1))?
            .previous_day()
            .context("date underflow")?;
        let not_after = hanko_pki::end_of_day_jst(end_day);
        let (naming, policies) = naming();
        let ca = CaGeneration::create(kind, naming, policies, key, &serial, now, not_after)?;
        let id = format!("{}", jst_day.year());
        let id = (0..)
            .map(|n| if n == 0 { id.clone() } else { format!("{id}-{n}") })
            .find(|c| !self.register.generations.iter().any(|g| g.kind == kind_str(kind) && g.id == *c))
            .context("no generation id")?;
        let dir = self.generation_dir(kind, &id);
        write_atomic(&dir.join("key.p8"), &ca.signer().to_pkcs8()?, 0o600)?;
        write_atomic(&dir.join("ca.der"), ca.certificate_der(), 0o644)?;
        write_atomic(&dir.join("ca.pem"), pem("CERTIFICATE", ca.certificate_der())?.as_bytes(), 0o644)?;
        let rec = GenerationRecord {
            kind: kind_str(kind).into(),
            id,
            serial: serial.to_string(),
            not_before: ts(now),
            not_after: ts(not_after),
        };
        self.register.generations.push(rec.clone());
        self.save()?;
        Ok(rec)
    }

    /// The newest generation of `kind` valid at `at`.
    pub(crate) fn current(&self, kind: CaKind, at: OffsetDateTime) -> Result<&GenerationRecord> {
        self.register
            .generations
            .iter()
            .filter(|g| g.kind == kind_str(kind) && g.not_before <= ts(at) && ts(at) <= g.not_after)
            .max_by_key(|g| g.not_before)
            .with_context(|| format!("no {} CA generation valid at {at}", kind_str(kind)))
    }

    /// Loads a generation with its key.
    pub(crate) fn load(&self, kind: CaKind, id: &str) -> Result<CaGeneration<SoftwareKey>> {
        let dir = self.generation_dir(kind, id);
        let key = zeroize::Zeroizing::new(
            fs::read(dir.join("key.p8")).with_context(|| format!("reading key of {}", dir.display()))?,
        );
        let key = SoftwareKey::from_pkcs8(&key)?;
        let cert = fs::read(dir.join("ca.der"))?;
        let (naming, policies) = naming();
        Ok(CaGeneration::open(kind, naming, policies, &cert, key)?)
    }

    /// Every generation's certificate (the trust anchors of this sandbox).
    pub(crate) fn anchors(&self) -> Result<Vec<(CaKind, Vec<u8>)>> {
        self.register
            .generations
            .iter()
            .map(|g| {
                let kind = parse_ca_kind(&g.kind)?;
                Ok((kind, fs::read(self.generation_dir(kind, &g.id).join("ca.der"))?))
            })
            .collect()
    }

    /// Records an issued certificate and writes it under `issued/`.
    pub(crate) fn record_issued(&mut self, rec: IssuedRecord, der: &[u8]) -> Result<PathBuf> {
        let path = self.dir.join("issued").join(format!("{}.der", rec.serial));
        write_atomic(&path, der, 0o644)?;
        write_atomic(&path.with_extension("pem"), pem("CERTIFICATE", der)?.as_bytes(), 0o644)?;
        self.register.issued.push(rec);
        self.save()?;
        Ok(path)
    }

    /// A serial not yet used by this authority.
    pub(crate) fn fresh_serial(&self) -> Serial {
        loop {
            let s = Serial::random(&mut rand_core::OsRng);
            let hex = s.to_string();
            if !self.register.issued.iter().any(|i| i.serial == hex)
                && !self.register.generations.iter().any(|g| g.serial == hex)
            {
                return s;
            }
        }
    }

    /// Marks `serial` revoked (never un-revokes: JPKI never releases a hold).
    pub(crate) fn revoke(&mut self, serial: &Serial, reason: CrlReason, at: OffsetDateTime) -> Result<&IssuedRecord> {
        let hex = serial.to_string();
        let idx = self
            .register
            .issued
            .iter()
            .position(|i| i.serial == hex)
            .with_context(|| format!("no certificate {hex} was issued here"))?;
        if let Some(r) = &self.register.issued[idx].revoked {
            bail!("certificate {hex} is already revoked ({})", CrlReason(r.reason));
        }
        self.register.issued[idx].revoked = Some(RevokedRecord { at: ts(at), reason: reason.0 });
        self.save()?;
        Ok(&self.register.issued[idx])
    }

    /// Next CRL number of a generation (persisted before the CRL is written).
    pub(crate) fn next_crl_number(&mut self, kind: CaKind, id: &str) -> Result<u64> {
        let key = format!("{}/{}", kind_str(kind), id);
        let n = self.register.crl_numbers.get(&key).copied().unwrap_or(0) + 1;
        self.register.crl_numbers.insert(key, n);
        self.save()?;
        Ok(n)
    }
}

pub(crate) fn parse_ca_kind(s: &str) -> Result<CaKind> {
    match s {
        "signature" | "sign" => Ok(CaKind::Signature),
        "auth" | "authentication" => Ok(CaKind::Auth),
        other => bail!("unknown CA kind {other:?} (signature or auth)"),
    }
}
