//! The authority's CA generations: certificates in the register, keys in files under the data
//! directory (`ca/<signature|auth>/<generation>/key.p8` and `ocsp.p8`, mode 0600). The key is a
//! [`Signer`](hanko_pki::Signer), so a PKCS#11 HSM can take the file's place.
//!
//! **Short-lived OCSP responders.** A delegated responder certificate carries ocsp-nocheck, so
//! a stolen responder key could not be revoked: it lives only `Config::responder_validity`
//! (default 7 days). When less than half of it is left (or it lives longer than configured, as
//! the 10-year ones of earlier versions did), [`CaSet::rotate_responders`] issues a new one with
//! the CA key — at start-up, from the OCSP background task and before answering. Each responder
//! keeps its files (`ocsp-<serial>.p8`, `.der`, `.pem`; never overwritten); `ocsp.der` /
//! `ocsp.pem` are the current one. The old certificates stay on disk and chain to the same CA, so
//! answers signed before a rotation still verify.

use std::fs;
use std::path::{Path, PathBuf};

use hanko_pki::ocsp::{issue_responder_certificate, Responder};
use hanko_pki::time::{Date, Duration, OffsetDateTime};
use hanko_pki::{end_of_day_jst, CaGeneration, CaKind, Naming, PolicySet, Serial, Signer, SoftwareKey};
use hanko_store::{create_new, write_atomic};
use zeroize::Zeroizing;

use crate::error::AuthorityError;
use crate::register::{GenerationRecord, RegisterStore};

/// A CA generation with its keys loaded.
pub struct Generation {
    /// Generation id.
    pub id: String,
    /// The CA.
    pub ca: CaGeneration<SoftwareKey>,
    /// Its delegated OCSP responder (id-kp-OCSPSigning, ocsp-nocheck).
    pub responder: Responder<SoftwareKey>,
    /// The responder certificate.
    pub responder_der: Vec<u8>,
    /// The responder certificate's validity.
    pub responder_validity: (OffsetDateTime, OffsetDateTime),
}

/// The validity of a certificate (DER).
fn validity_of(der: &[u8]) -> Result<(OffsetDateTime, OffsetDateTime), AuthorityError> {
    use hanko_pki::der::Decode;
    let c = hanko_pki::x509_cert::Certificate::from_der(der).map_err(|e| AuthorityError::Pki(e.to_string()))?;
    let v = &c.tbs_certificate.validity;
    Ok((hanko_pki::from_x509_time(&v.not_before), hanko_pki::from_x509_time(&v.not_after)))
}

/// Whether a responder of `validity` must be replaced at `now`: less than half of `lifetime`
/// left, or it lives longer than `lifetime` from now (issued under a longer setting).
fn responder_due(validity: (OffsetDateTime, OffsetDateTime), now: OffsetDateTime, lifetime: Duration) -> bool {
    validity.1 - now < lifetime / 2 || validity.1 - now > lifetime + Duration::minutes(1)
}

/// The newest rotated responder in `dir` (`ocsp-<serial>.der` with its `.p8`), if any.
fn newest_rotated(dir: &Path) -> Result<Option<(Vec<u8>, PathBuf)>, AuthorityError> {
    let Ok(entries) = fs::read_dir(dir) else { return Ok(None) };
    let mut best: Option<(OffsetDateTime, Vec<u8>, PathBuf)> = None;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(stem) = name.strip_prefix("ocsp-").and_then(|n| n.strip_suffix(".der")) else { continue };
        let key = dir.join(format!("ocsp-{stem}.p8"));
        if !key.exists() {
            continue;
        }
        let der = fs::read(e.path()).map_err(|err| AuthorityError::io("reading", &e.path(), err))?;
        let nb = validity_of(&der)?.0;
        if best.as_ref().is_none_or(|(b, _, _)| nb > *b) {
            best = Some((nb, der, key));
        }
    }
    Ok(best.map(|(_, der, key)| (der, key)))
}

impl std::fmt::Debug for Generation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Generation").field("kind", &self.ca.kind()).field("id", &self.id).finish_non_exhaustive()
    }
}

/// Every generation of both CAs.
#[derive(Debug, Default)]
pub struct CaSet {
    generations: Vec<Generation>,
}

fn key_dir(data: &Path, kind: CaKind, id: &str) -> PathBuf {
    data.join("ca").join(kind.as_str()).join(id)
}

fn read_key(path: &Path) -> Result<SoftwareKey, AuthorityError> {
    let bytes = Zeroizing::new(fs::read(path).map_err(|e| AuthorityError::io("reading", path, e))?);
    Ok(SoftwareKey::from_pkcs8(&bytes)?)
}

/// Writes the CA and OCSP responder certificates beside the keys, DER and PEM (`ca.der`,
/// `ca.pem`, `ocsp.der`, `ocsp.pem`): what openssl's `-issuer` / `-VAfile` and verifiers load.
fn publish_certificates(dir: &Path, ca: &[u8], responder: &[u8]) -> Result<(), AuthorityError> {
    for (name, der) in [("ca", ca), ("ocsp", responder)] {
        write_certificate(dir, name, der)?;
    }
    Ok(())
}

/// Writes `<name>.der` and `<name>.pem`.
fn write_certificate(dir: &Path, name: &str, der: &[u8]) -> Result<(), AuthorityError> {
    let pem = hanko_pki::der::pem::encode_string("CERTIFICATE", hanko_pki::der::pem::LineEnding::LF, der)
        .map_err(|e| AuthorityError::Pki(e.to_string()))?;
    for (ext, bytes) in [("der", der), ("pem", pem.as_bytes())] {
        let path = dir.join(format!("{name}.{ext}"));
        write_atomic(&path, bytes, 0o644).map_err(|e| AuthorityError::io("writing", &path, e))?;
    }
    Ok(())
}

fn naming() -> (Naming, PolicySet) {
    (Naming::sandbox(), PolicySet::sandbox())
}

impl CaSet {
    /// Loads every generation in the register with its keys.
    pub async fn load(store: &dyn RegisterStore, data: &Path) -> Result<CaSet, AuthorityError> {
        let mut generations = Vec::new();
        for g in store.generations().await? {
            let dir = key_dir(data, g.ca_kind, &g.id);
            let (naming, policies) = naming();
            let ca = CaGeneration::open(g.ca_kind, naming, policies, &g.certificate, read_key(&dir.join("key.p8"))?)?;
            let (responder_der, responder_key) = match newest_rotated(&dir)? {
                Some((der, key)) => (der, read_key(&key)?),
                None => (g.responder, read_key(&dir.join("ocsp.p8"))?),
            };
            let responder = Responder::delegated(ca.certificate(), &responder_der, responder_key)?;
            if !dir.join("ocsp.pem").exists() {
                publish_certificates(&dir, &g.certificate, &responder_der)?;
            }
            let responder_validity = validity_of(&responder_der)?;
            generations.push(Generation { id: g.id, ca, responder, responder_der, responder_validity });
        }
        Ok(CaSet { generations })
    }

    /// Whether any generation valid at `now` needs a new responder certificate.
    pub fn responders_due(&self, now: OffsetDateTime, lifetime: Duration) -> bool {
        self.generations.iter().any(|g| {
            let (nb, na) = g.ca.validity();
            nb <= now && now < na && responder_due(g.responder_validity, now, lifetime)
        })
    }

    /// Issues, with the CA key, a new delegated responder certificate valid `lifetime` (capped by
    /// the CA) for every generation valid at `now` whose responder is due; writes its key and
    /// certificate to new files and makes it the current one. Returns how many were rotated.
    pub fn rotate_responders(
        &mut self,
        data: &Path,
        now: OffsetDateTime,
        lifetime: Duration,
    ) -> Result<usize, AuthorityError> {
        let mut rotated = 0;
        for g in &mut self.generations {
            let (nb, na) = g.ca.validity();
            if !(nb <= now && now < na && responder_due(g.responder_validity, now, lifetime)) {
                continue;
            }
            let dir = key_dir(data, g.ca.kind(), &g.id);
            // The outgoing certificate stays published beside the new one (its answers verify).
            let old_serial = {
                use hanko_pki::der::Decode;
                let c = hanko_pki::x509_cert::Certificate::from_der(&g.responder_der)
                    .map_err(|e| AuthorityError::Pki(e.to_string()))?;
                Serial::from_bytes(c.tbs_certificate.serial_number.as_bytes())
            };
            write_certificate(&dir, &format!("ocsp-{old_serial}"), &g.responder_der)?;
            let key = SoftwareKey::generate_rsa2048()?;
            let serial = Serial::random(&mut rand_core::OsRng);
            let der =
                issue_responder_certificate(&g.ca, key.public_key().clone(), &serial, now, (now + lifetime).min(na))?;
            let key_path = dir.join(format!("ocsp-{serial}.p8"));
            if key_path.exists() {
                return Err(AuthorityError::Invalid(format!("{} exists; not overwriting a key", key_path.display())));
            }
            write_atomic(&key_path, &key.to_pkcs8()?, 0o600)
                .map_err(|e| AuthorityError::io("writing", &key_path, e))?;
            write_certificate(&dir, &format!("ocsp-{serial}"), &der)?;
            publish_certificates(&dir, g.ca.certificate_der(), &der)?;
            g.responder = Responder::delegated(g.ca.certificate(), &der, key)?;
            g.responder_validity = validity_of(&der)?;
            g.responder_der = der;
            tracing::info!(ca = g.ca.kind().as_str(), generation = %g.id, %serial, "rotated the OCSP responder certificate");
            rotated += 1;
        }
        Ok(rotated)
    }

    /// Creates a new generation of `kind` at `now`, valid 10 years (to 23:59:59 JST of the day
    /// before, like the J-LIS CAs), with its delegated OCSP responder certificate (valid
    /// `responder_lifetime`).
    pub async fn create_generation(
        &mut self,
        store: &dyn RegisterStore,
        data: &Path,
        kind: CaKind,
        now: OffsetDateTime,
        responder_lifetime: Duration,
    ) -> Result<&Generation, AuthorityError> {
        let key = SoftwareKey::generate_rsa2048()?;
        let serial = Serial::random(&mut rand_core::OsRng);
        let jst_day = (now + Duration::hours(9)).date();
        let end_day = Date::from_calendar_date(jst_day.year() + 10, jst_day.month(), jst_day.day().min(28))
            .map_err(|_| AuthorityError::Invalid("date out of range".into()))?
            .previous_day()
            .ok_or_else(|| AuthorityError::Invalid("date out of range".into()))?;
        let not_after = end_of_day_jst(end_day);
        let (naming, policies) = naming();
        let ca = CaGeneration::create(kind, naming, policies, key, &serial, now, not_after)?;
        let base = jst_day.year().to_string();
        let id = (0..)
            .map(|n| if n == 0 { base.clone() } else { format!("{base}-{n}") })
            // An id whose directory exists holds keys of some other register: never reuse it.
            .find(|c| {
                !self.generations.iter().any(|g| g.ca.kind() == kind && g.id == *c) && !key_dir(data, kind, c).exists()
            })
            .unwrap_or(base);
        let responder_key = SoftwareKey::generate_rsa2048()?;
        let responder_der = issue_responder_certificate(
            &ca,
            responder_key.public_key().clone(),
            &Serial::random(&mut rand_core::OsRng),
            now,
            (now + responder_lifetime).min(not_after),
        )?;
        let dir = key_dir(data, kind, &id);
        // A private key file is never overwritten: create_new refuses an existing one.
        for (name, key) in [("key.p8", ca.signer()), ("ocsp.p8", &responder_key)] {
            let path = dir.join(name);
            if !create_new(&path, &key.to_pkcs8()?, 0o600).map_err(|e| AuthorityError::io("writing", &path, e))? {
                return Err(AuthorityError::Conflict(format!(
                    "refusing to overwrite the private key {}",
                    path.display()
                )));
            }
        }
        publish_certificates(&dir, ca.certificate_der(), &responder_der)?;
        let record = GenerationRecord {
            ca_kind: kind,
            id: id.clone(),
            certificate: ca.certificate_der().to_vec(),
            responder: responder_der.clone(),
        };
        store.add_generation(&record, &serial, (now, not_after)).await?;
        let responder = Responder::delegated(ca.certificate(), &responder_der, responder_key)?;
        let responder_validity = validity_of(&responder_der)?;
        self.generations.push(Generation { id, ca, responder, responder_der, responder_validity });
        self.generations.last().ok_or_else(|| AuthorityError::Invalid("no generation".into()))
    }

    /// The newest generation of `kind` valid at `at`.
    pub fn current(&self, kind: CaKind, at: OffsetDateTime) -> Result<&Generation, AuthorityError> {
        self.generations
            .iter()
            .filter(|g| g.ca.kind() == kind)
            .filter(|g| {
                let (nb, na) = g.ca.validity();
                nb <= at && at <= na
            })
            .max_by_key(|g| g.ca.validity().0)
            .ok_or(AuthorityError::NoCa(kind))
    }

    /// A generation by kind and id.
    pub fn get(&self, kind: CaKind, id: &str) -> Option<&Generation> {
        self.generations.iter().find(|g| g.ca.kind() == kind && g.id == id)
    }

    /// Every generation.
    pub fn all(&self) -> &[Generation] {
        &self.generations
    }

    /// The trust store of this authority (every generation of both CAs).
    pub fn trust_store(&self) -> Result<hanko_pki::verify::TrustStore, AuthorityError> {
        let mut trust = hanko_pki::verify::TrustStore::new(PolicySet::sandbox());
        for g in &self.generations {
            trust.add_anchor(g.ca.certificate_der(), g.ca.kind())?;
        }
        Ok(trust)
    }
}
