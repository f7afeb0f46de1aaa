//! PIN-less tap use (かざし利用) at managed terminals, assurance level 1 (shared/spec/50-scenarios.md
//! §3; seed 000: legal since the 2023 amendment of the My Number Act).
//!
//! The legal frame, which [`policy`] enforces: only 対面等の環境 — face to face, in a managed and
//! monitored facility, or on a managed device lent to the holder; never online or outdoors — and
//! only for services whose risk assessment gives 保証レベル１.
//!
//! | step (seed 000) | first visit: registration ①–④ | later visits ②④⑤ |
//! |---|---|---|
//! | ① 暗証番号の入力・電子利用者証明 | the auth PIN, and the card's user-authentication signature over a fresh server challenge | — (no PIN) |
//! | ② 電子証明書の通知 | the auth certificate | the auth certificate, read freely |
//! | ③ 電子利用者証明等の検証 | the signature checked with the certificate | — |
//! | ④ 電子証明書の有効性を確認 | OCSP at the authority ([`AuthorityOcsp`]) | OCSP at the authority |
//! | ⑤ マイナンバーカードの真正性を確認 | (done too, to learn the chip's key) | the free chip challenge with the registered chip key ([`hanko_card::Client::challenge_card_face_chip`]), then the 券面AP's internal authentication opened by the birth-date PIN ([`hanko_card::Client::prove_card_face_chip`]) |
//!
//! The birth date for ⑤ comes, at registration, from the 券面事項入力補助AP with its PIN (the
//! official tap software's 「4PINをインプットに4情報を応答するIF」), checked against that AP's integrity
//! record under the CV root. **Only the birth-date key is kept** (era `YYMMDD`, 6 digits: what
//! the chip check needs) — never the name, address, sex or My Number; it never prints
//! ([`Registration`]'s `Debug`) and is never logged. With it the registration keeps the SHA-256
//! of the auth certificate (the match key), the certificate's serial, and the chip key the
//! 券面AP's age record names (public): a later visit first has the chip sign a fresh challenge
//! with the free `80 2A 00 00` and checks it with that key, so a different card carrying a copy
//! of the certificate fails (`chip-mismatch`) before the birth-date key is sent to it.
//!
//! The 2015 offline variant (a gate without network, a whitelist of pseudonymous conversion
//! values of serials) is [`whitelist`].

pub mod policy;
mod validity;
pub mod whitelist;

use std::collections::HashMap;
use std::sync::Mutex;

use hanko_card::{birth_date_key, AccessCode, CardAppError, CardFaceChipKey, Client, IntegrityScope, Slot, Transport};
use hanko_pki::verify::{RevocationEvidence, TrustStore, VerifyError};
use hanko_pki::{DigestAlgorithm, DigestInfo, RsaPublicKey};
use time::OffsetDateTime;
use zeroize::Zeroizing;

pub use policy::{AssuranceLevel, BadId, Environment, Policy, Refusal, ServiceId, TapPermit, TerminalId};
pub use validity::{AuthorityOcsp, OCSP_MAX_AGE};

/// Why a registration or a visit did not pass.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TapError {
    /// The policy guard refused (terminal, environment, service, assurance level).
    #[error("tap use refused: {0}")]
    Refused(#[from] Refusal),
    /// A card step failed: a wrong or blocked PIN, a transport failure, data that does not verify.
    #[error("{step}: {error}")]
    Card {
        /// Which step (`auth PIN and signature`, `input-assist PIN and 4 facts`, `auth certificate`).
        step: &'static str,
        /// What the card or its data said.
        error: CardAppError,
    },
    /// The chip check (⑤) failed: the birth-date PIN was refused (not the registered card, or a
    /// blocked key), the 券面AP is not under the CV root, or its answer does not verify.
    #[error("chip check (券面AP internal authentication): {0}")]
    ChipCheck(CardAppError),
    /// The chip is not the one registered with this certificate (a copied certificate on another
    /// card): it could not sign with the registered chip key, or its age record names another.
    #[error("chip check: the card is not the card registered with this certificate")]
    ChipMismatch,
    /// The input-assist AP holds a birth date that is not a full date: no birth-date key exists.
    #[error("the card's birth date is not a full date: tap use is not possible with this card")]
    UnknownBirthDate,
    /// No registration for this certificate at this service: register first (with the PIN).
    #[error("this card is not registered for {service}: register first (with the PIN)")]
    NotRegistered {
        /// The service.
        service: ServiceId,
    },
    /// The certificate failed the validity check (revoked, expired, unknown issuer, …) or the
    /// user-authentication signature does not verify.
    #[error("validity check: {0}")]
    Certificate(#[from] VerifyError),
    /// The authority could not be asked.
    #[error("validity check: authority unavailable: {0}")]
    AuthorityUnavailable(String),
    /// The OCSP request could not be built.
    #[error("validity check: {0}")]
    Validity(String),
    /// The store failed.
    #[error("registration store: {0}")]
    Store(String),
    /// Set up with something unusable.
    #[error("{0}")]
    Config(String),
}

impl TapError {
    /// A stable code (`refused-…` with the refusal's code, `wrong-pin`, `pin-blocked`, `card`,
    /// `chip-check`, `chip-mismatch`, `unknown-birth-date`, `not-registered`, `revoked`,
    /// `certificate`, `authority-unavailable`, `store`, `config`).
    pub fn code(&self) -> &'static str {
        use hanko_card::ClientError;
        match self {
            TapError::Refused(Refusal::UnregisteredTerminal { .. }) => "refused-unregistered-terminal",
            TapError::Refused(Refusal::Environment { .. }) => "refused-environment",
            TapError::Refused(Refusal::UnknownService { .. }) => "refused-unknown-service",
            TapError::Refused(Refusal::AssuranceLevel { .. }) => "refused-assurance-level",
            TapError::Card { error: CardAppError::Client(ClientError::WrongPin { .. }), .. } => "wrong-pin",
            TapError::Card { error: CardAppError::Client(ClientError::PinBlocked), .. } => "pin-blocked",
            TapError::Card { .. } => "card",
            TapError::ChipCheck(_) => "chip-check",
            TapError::ChipMismatch => "chip-mismatch",
            TapError::UnknownBirthDate => "unknown-birth-date",
            TapError::NotRegistered { .. } => "not-registered",
            TapError::Certificate(VerifyError::Revoked { .. }) => "revoked",
            TapError::Certificate(_) => "certificate",
            TapError::AuthorityUnavailable(_) | TapError::Validity(_) => "authority-unavailable",
            TapError::Store(_) => "store",
            TapError::Config(_) => "config",
        }
    }
}

/// SHA-256.
fn sha256(data: &[u8]) -> [u8; 32] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

fn fresh_challenge() -> Result<[u8; 32], TapError> {
    let mut c = [0u8; 32];
    aws_lc_rs::rand::fill(&mut c).map_err(|_| TapError::Config("no randomness for a challenge".into()))?;
    Ok(c)
}

/// The free chip challenge with a registered chip key failed: a signature that does not verify is
/// another chip (`chip-mismatch`); a card or transport error is `chip-check`.
fn chip_challenge_failure(e: CardAppError) -> TapError {
    match e {
        CardAppError::Data(_) => TapError::ChipMismatch,
        other => TapError::ChipCheck(other),
    }
}

/// One card registered for one service. `Debug` never shows the birth-date key.
#[derive(Clone, PartialEq, Eq)]
pub struct Registration {
    service: ServiceId,
    certificate: [u8; 32],
    serial: String,
    birth_date_key: Zeroizing<String>,
    chip_key: CardFaceChipKey,
    terminal: TerminalId,
    registered_at: OffsetDateTime,
}

impl core::fmt::Debug for Registration {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Registration")
            .field("service", &self.service)
            .field("serial", &self.serial)
            .field("terminal", &self.terminal)
            .field("registered_at", &self.registered_at)
            .finish_non_exhaustive()
    }
}

impl Registration {
    /// A registration as a store keeps it (stores rebuild it from their rows). `birth_date_key`
    /// must be 6 ASCII digits (era `YYMMDD`).
    #[allow(clippy::too_many_arguments)]
    pub fn restore(
        service: ServiceId,
        certificate: [u8; 32],
        serial: String,
        birth_date_key: Zeroizing<String>,
        chip_key: CardFaceChipKey,
        terminal: TerminalId,
        registered_at: OffsetDateTime,
    ) -> Result<Registration, TapError> {
        if birth_date_key.len() != 6 || !birth_date_key.bytes().all(|b| b.is_ascii_digit()) {
            return Err(TapError::Store("a stored birth-date key is not 6 digits".into()));
        }
        Ok(Registration { service, certificate, serial, birth_date_key, chip_key, terminal, registered_at })
    }
    /// The service.
    pub fn service(&self) -> &ServiceId {
        &self.service
    }
    /// SHA-256 of the auth certificate (DER): the match key.
    pub fn certificate_fingerprint(&self) -> [u8; 32] {
        self.certificate
    }
    /// The auth certificate's serial (hex).
    pub fn serial(&self) -> &str {
        &self.serial
    }
    /// The birth-date key (era `YYMMDD`) for the chip check — personal data: store it as such,
    /// never log it.
    pub fn birth_date_key(&self) -> &Zeroizing<String> {
        &self.birth_date_key
    }
    /// The 券面AP chip key (DF12 of the age record) verified at registration: a visit makes the
    /// chip prove it holds it before the birth-date key is sent.
    pub fn chip_key(&self) -> &CardFaceChipKey {
        &self.chip_key
    }
    /// The terminal it was made at.
    pub fn terminal(&self) -> &TerminalId {
        &self.terminal
    }
    /// When.
    pub fn registered_at(&self) -> OffsetDateTime {
        self.registered_at
    }
}

/// Where registrations live: a small trait, so a service can keep them in its own database.
pub trait TapStore: Send + Sync {
    /// Stores (or replaces) a registration.
    fn put(&self, registration: Registration) -> Result<(), TapError>;
    /// The registration of the certificate with SHA-256 `certificate` for `service`.
    fn get(&self, service: &ServiceId, certificate: &[u8; 32]) -> Result<Option<Registration>, TapError>;
    /// Removes one (the holder withdrew); `true` when there was one.
    fn remove(&self, service: &ServiceId, certificate: &[u8; 32]) -> Result<bool, TapError>;
}

/// Registrations by (service, certificate fingerprint).
type Rows = HashMap<(ServiceId, [u8; 32]), Registration>;

/// Registrations in memory.
#[derive(Debug, Default)]
pub struct MemoryStore {
    rows: Mutex<Rows>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }
    fn rows(&self) -> Result<std::sync::MutexGuard<'_, Rows>, TapError> {
        self.rows.lock().map_err(|_| TapError::Store("lock poisoned".into()))
    }
}

impl TapStore for MemoryStore {
    fn put(&self, r: Registration) -> Result<(), TapError> {
        self.rows()?.insert((r.service.clone(), r.certificate), r);
        Ok(())
    }
    fn get(&self, service: &ServiceId, certificate: &[u8; 32]) -> Result<Option<Registration>, TapError> {
        Ok(self.rows()?.get(&(service.clone(), *certificate)).cloned())
    }
    fn remove(&self, service: &ServiceId, certificate: &[u8; 32]) -> Result<bool, TapError> {
        Ok(self.rows()?.remove(&(service.clone(), *certificate)).is_some())
    }
}

/// The PINs a registration needs. `Debug` never shows them.
#[derive(Clone, Copy)]
pub struct RegistrationPins<'a> {
    /// 利用者証明用暗証番号 (4 digits): the user-authentication signature.
    pub auth_pin: &'a [u8],
    /// 券面事項入力補助用暗証番号 (4 digits): the birth date from the input-assist AP.
    pub input_assist_pin: &'a [u8],
}

impl core::fmt::Debug for RegistrationPins<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("RegistrationPins([elided])")
    }
}

/// A registration that passed.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Registered {
    /// What was stored.
    pub registration: Registration,
    /// How revocation was checked.
    pub revocation: RevocationEvidence,
}

/// A PIN-less visit that passed: the card is the one registered, its certificate valid now, its
/// chip genuine.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Visit {
    /// The registration matched.
    pub registration: Registration,
    /// The guard's permit it ran under.
    pub permit: TapPermit,
    /// How revocation was checked.
    pub revocation: RevocationEvidence,
    /// When.
    pub at: OffsetDateTime,
}

/// A service provider's tap use: the guard, the trust anchors (the authority's auth CA
/// generations and the CV root of the card's APs), the validity check and the store.
pub struct TapService<S> {
    policy: Policy,
    trust: TrustStore,
    cv_root: RsaPublicKey,
    validity: AuthorityOcsp,
    store: S,
}

impl<S> core::fmt::Debug for TapService<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TapService")
            .field("policy", &self.policy)
            .field("validity", &self.validity)
            .finish_non_exhaustive()
    }
}

impl<S: TapStore> TapService<S> {
    /// Sets one up.
    pub fn new(policy: Policy, trust: TrustStore, cv_root: RsaPublicKey, validity: AuthorityOcsp, store: S) -> Self {
        TapService { policy, trust, cv_root, validity, store }
    }
    /// The guard.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }
    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Registration (①–④, and ⑤ to learn the chip): the guard, then on the card the auth
    /// certificate, the auth PIN and a user-authentication signature over a fresh challenge, the
    /// birth date from the input-assist AP (its PIN; checked under the CV root), the chip check
    /// with it; then the validity check of certificate and signature at the authority; then the
    /// registration is stored.
    pub async fn register(
        &self,
        terminal: &TerminalId,
        service: &ServiceId,
        card: &mut (dyn Transport + Send),
        pins: RegistrationPins<'_>,
        at: OffsetDateTime,
    ) -> Result<Registered, TapError> {
        let permit = self.policy.check(terminal, service)?;
        let challenge = fresh_challenge()?;
        let (certificate, signature, key, chip) = {
            let mut c = Client::new(&mut *card);
            let cert = c
                .read_certificate(Slot::Auth)
                .map_err(|e| TapError::Card { step: "auth certificate", error: e.into() })?;
            let di = DigestInfo::of(DigestAlgorithm::Sha256, &challenge)
                .to_der()
                .map_err(|e| TapError::Config(e.to_string()))?;
            let sig = c
                .sign(Slot::Auth, pins.auth_pin, &di)
                .map_err(|e| TapError::Card { step: "auth PIN and signature", error: e.into() })?;
            let step = "input-assist PIN and 4 facts";
            c.read_facts(AccessCode::Pin(pins.input_assist_pin)).map_err(|error| TapError::Card { step, error })?;
            let verified = c
                .verify_integrity(&self.cv_root, IntegrityScope::FourFacts)
                .map_err(|error| TapError::Card { step, error })?;
            let birth =
                verified.facts().map(|f| f.birth_date()).and_then(|b| b.date()).ok_or(TapError::UnknownBirthDate)?;
            drop(verified);
            let key = birth_date_key(birth).map_err(|_| TapError::UnknownBirthDate)?;
            let key = Zeroizing::new(String::from_utf8(key.to_vec()).map_err(|_| TapError::UnknownBirthDate)?);
            let chip = c
                .prove_card_face_chip(key.as_bytes(), &self.cv_root, &fresh_challenge()?)
                .map_err(TapError::ChipCheck)?;
            // The 券面AP's signed age record must say what the input-assist AP said.
            if chip.birth_date() != hanko_pki::BirthDate::Known(birth) {
                return Err(TapError::ChipMismatch);
            }
            (cert, sig, key, chip)
        };
        let verified =
            self.validity.check_authentication(&self.trust, &certificate, &challenge, &signature, at).await?;
        let registration = Registration {
            service: permit.service().clone(),
            certificate: sha256(&certificate),
            serial: verified.certificate().serial().to_string(),
            birth_date_key: key,
            chip_key: chip.chip_key().clone(),
            terminal: permit.terminal().clone(),
            registered_at: at,
        };
        self.store.put(registration.clone())?;
        Ok(Registered { registration, revocation: verified.certificate().revocation().clone() })
    }

    /// A later visit, no PIN (②④⑤): the guard; the auth certificate read freely and matched to a
    /// registration; its validity at the authority; the chip check — the 券面AP's internal
    /// authentication opened by the stored birth-date key, answered by the registered chip.
    pub async fn visit(
        &self,
        terminal: &TerminalId,
        service: &ServiceId,
        card: &mut (dyn Transport + Send),
        at: OffsetDateTime,
    ) -> Result<Visit, TapError> {
        let permit = self.policy.check(terminal, service)?;
        let certificate = Client::new(&mut *card)
            .read_certificate(Slot::Auth)
            .map_err(|e| TapError::Card { step: "auth certificate", error: e.into() })?;
        let registration = self
            .store
            .get(permit.service(), &sha256(&certificate))?
            .ok_or_else(|| TapError::NotRegistered { service: permit.service().clone() })?;
        let verified = self.validity.check_certificate(&self.trust, &certificate, at).await?;
        // The chip proves it is the registered one with the free challenge, and the stored
        // birth-date key follows at once (no network wait between them): another chip carrying a
        // copy of the certificate never learns it.
        Client::new(&mut *card).challenge_card_face_chip(&registration.chip_key).map_err(chip_challenge_failure)?;
        let chip = Client::new(&mut *card)
            .prove_card_face_chip(registration.birth_date_key.as_bytes(), &self.cv_root, &fresh_challenge()?)
            .map_err(TapError::ChipCheck)?;
        if chip.chip_key() != &registration.chip_key {
            return Err(TapError::ChipMismatch);
        }
        Ok(Visit { registration, permit, revocation: verified.revocation().clone(), at })
    }

    /// The holder withdraws, with the card at a managed terminal: the guard; the auth certificate
    /// matched to a registration; the chip proves it is the registered one (the free challenge
    /// with the registered chip key, no PIN); then the registration is removed. A copy of the
    /// public certificate alone removes nothing. `false` when the card was not registered.
    pub async fn unregister(
        &self,
        terminal: &TerminalId,
        service: &ServiceId,
        card: &mut (dyn Transport + Send),
    ) -> Result<bool, TapError> {
        let permit = self.policy.check(terminal, service)?;
        let mut client = Client::new(&mut *card);
        let certificate = client
            .read_certificate(Slot::Auth)
            .map_err(|e| TapError::Card { step: "auth certificate", error: e.into() })?;
        let fingerprint = sha256(&certificate);
        let Some(registration) = self.store.get(permit.service(), &fingerprint)? else {
            return Ok(false);
        };
        client.challenge_card_face_chip(&registration.chip_key).map_err(chip_challenge_failure)?;
        self.store.remove(permit.service(), &fingerprint)
    }
}
