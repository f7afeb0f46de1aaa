//! The municipality counter and the certificate lifecycle (shared/spec/20-pki.md §3,
//! 00-system.md flow 5): residents, card issuance (keys generated in the chip, certified, written
//! back), PIN resets, and the events that revoke and reissue certificates.

use hanko_card::{
    card_face_app_with_font, input_assist_app, juki_app, BlankChip, CardFacts, CvIssuer, CvKeyId, Device, MyNumber,
    Personalization, PinFormat, ResidentRecordCode, Slot,
};
use hanko_cardlink::{CardFile, CardFileError};
use hanko_pki::spki::SubjectPublicKeyInfoOwned;
use hanko_pki::time::{Date, Duration, OffsetDateTime};
use hanko_pki::Signer;
use hanko_pki::{
    auth_subject, end_entity_not_after, issuance_id, opaque_auth_id, signature_subject, BasicFacts, BirthDate, CaKind,
    CertKind, CrlReason, Profile, Serial, Sex, SoftwareKey, SubstituteMap,
};
use hanko_store::{write_atomic, StoreError};
use rand_core::{OsRng, RngCore};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::error::AuthorityError;
use crate::register::{CardRecord, CardStatus, CertRecord, Person, PersonStatus};
use crate::{Authority, EmigrationPolicy};

/// The reasons a JPKI revocation can have (shared/spec/20-pki.md §3), as the OpenAPI lists them:
/// the only ones the counter API and the CLI accept.
pub const REVOCATION_REASONS: [CrlReason; 6] = [
    CrlReason::UNSPECIFIED,
    CrlReason::KEY_COMPROMISE,
    CrlReason::AFFILIATION_CHANGED,
    CrlReason::SUPERSEDED,
    CrlReason::CESSATION_OF_OPERATION,
    CrlReason::CERTIFICATE_HOLD,
];

fn not_a_revocation_reason(name: &str) -> AuthorityError {
    let names: Vec<&str> = REVOCATION_REASONS.iter().map(|r| r.name()).collect();
    AuthorityError::Invalid(format!("unknown reason {name:?}: a JPKI revocation is one of {}", names.join(", ")))
}

/// Parses a revocation reason by its RFC 5280 name, accepting only [`REVOCATION_REASONS`].
pub fn revocation_reason(name: &str) -> Result<CrlReason, AuthorityError> {
    REVOCATION_REASONS.iter().copied().find(|r| r.name().eq_ignore_ascii_case(name)).ok_or_else(|| {
        let shown: String = name.chars().take(40).collect();
        not_a_revocation_reason(&shown)
    })
}

/// The first date the register (and the certificate's era-coded birth date) can hold: the first
/// day of Meiji.
const FIRST_BIRTH_DATE: hanko_pki::time::Date = hanko_pki::time::macros::date!(1868 - 10 - 23);

/// Refuses a known birth date in the future (JST, at `now`) or before the first day of Meiji:
/// checked by [`Authority::add_person`] and a facts-changed event, so the API and the CLI alike.
fn check_birth_date(birth: BirthDate, now: OffsetDateTime) -> Result<BirthDate, AuthorityError> {
    if let Some(d) = birth.date() {
        if d > jst_today(now) {
            return Err(AuthorityError::Invalid("birth_date is in the future".into()));
        }
        if d < FIRST_BIRTH_DATE {
            return Err(AuthorityError::Invalid(
                "birth_date is before 1868-10-23, the first the register holds".into(),
            ));
        }
    }
    Ok(birth)
}

/// A new resident for the register (synthetic people only).
#[derive(Debug, Clone)]
pub struct NewPerson {
    /// The 4 facts.
    pub facts: BasicFacts,
    /// Romanised prefecture for the subject `L` (e.g. `Tokyo-to`).
    pub prefecture: String,
    /// Romanised municipality for the subject `L` (e.g. `Mihon-ku`).
    pub municipality: String,
    /// An adult ward: user-authentication certificate only.
    pub ward: bool,
}

/// The secrets a resident chooses at the counter. `Debug` shows nothing.
pub struct CardPins {
    /// Signature password (6–16 of `A-Z0-9`); absent for minors and wards.
    pub sign_password: Option<Zeroizing<String>>,
    /// 4-digit PIN of the user-authentication key (and the other APs).
    pub auth_pin: Zeroizing<String>,
}

impl std::fmt::Debug for CardPins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CardPins([elided])")
    }
}

/// A card handed over at the counter.
#[derive(Debug, Clone, Serialize)]
pub struct IssuedCard {
    /// Card id (the card image `cards/<id>.card`).
    pub card_id: String,
    /// Signature certificate serial (none for minors and wards).
    pub signature_serial: Option<String>,
    /// User-authentication certificate serial.
    pub auth_serial: String,
    /// Card expiry.
    pub expiry: String,
    /// The security code printed on the card face (part of 照合番号B; not a PIN).
    pub security_code: String,
}

/// An event recorded at the counter that changes certificates. `Debug` names the event and which
/// facts change, never their values.
#[derive(Clone)]
#[non_exhaustive]
pub enum LifeEvent {
    /// 異動: a move, or a change or correction of name, sex or birth date. Only the given facts
    /// change. Signature certificates are revoked (affiliationChanged) and a new one is written
    /// onto each of the person's cards; the auth certificate is kept.
    FactsChanged {
        /// New name.
        name: Option<String>,
        /// New address (from the prefecture).
        address: Option<String>,
        /// New romanised prefecture / municipality for the subject.
        locality: Option<(String, String)>,
        /// Corrected birth date.
        birth_date: Option<BirthDate>,
        /// Changed sex.
        sex: Option<Sex>,
    },
    /// Death: every certificate revoked (affiliationChanged), cards and phones included.
    Death,
    /// Emigration: per [`EmigrationPolicy`].
    Emigration,
    /// Loss, theft or a suspension request: the card's certificates and the phones' go on hold
    /// (certificateHold, never released).
    CardLost {
        /// The card.
        card_id: String,
    },
    /// The card is returned (no longer needed): cessationOfOperation.
    CardReturned {
        /// The card.
        card_id: String,
    },
}

impl std::fmt::Debug for LifeEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = |given: bool| if given { "[elided]" } else { "-" };
        match self {
            LifeEvent::FactsChanged { name, address, locality, birth_date, sex } => f
                .debug_struct("FactsChanged")
                .field("name", &shown(name.is_some()))
                .field("address", &shown(address.is_some()))
                .field("locality", &shown(locality.is_some()))
                .field("birth_date", &shown(birth_date.is_some()))
                .field("sex", &shown(sex.is_some()))
                .finish(),
            LifeEvent::Death => f.write_str("Death"),
            LifeEvent::Emigration => f.write_str("Emigration"),
            LifeEvent::CardLost { card_id } => f.debug_struct("CardLost").field("card_id", card_id).finish(),
            LifeEvent::CardReturned { card_id } => f.debug_struct("CardReturned").field("card_id", card_id).finish(),
        }
    }
}

impl LifeEvent {
    fn kind(&self) -> &'static str {
        match self {
            LifeEvent::FactsChanged { .. } => "facts-changed",
            LifeEvent::Death => "death",
            LifeEvent::Emigration => "emigration",
            LifeEvent::CardLost { .. } => "card-lost",
            LifeEvent::CardReturned { .. } => "card-returned",
        }
    }
}

/// What an event did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Outcome {
    /// Certificates revoked: serial and reason name.
    pub revoked: Vec<(String, String)>,
    /// Certificates issued: serial and kind.
    pub issued: Vec<(String, String)>,
    /// What is left for the counter to do (e.g. a card that was not at hand).
    pub pending: Vec<String>,
}

/// The certificate's sex code (1 male, 2 female, 3 unknown) as the input-assist AP's JIS X 0303
/// digit (1, 2, 9 not applicable): one set at the edge, mapped here.
fn input_assist_sex(sex: Sex) -> u8 {
    match sex {
        Sex::MALE => 1,
        Sex::FEMALE => 2,
        _ => 9,
    }
}

fn random_digits(n: usize) -> String {
    (0..n).map(|_| char::from(b'0' + (OsRng.next_u32() % 10) as u8)).collect()
}

fn random_id(prefix: &str) -> String {
    let mut b = [0u8; 6];
    OsRng.fill_bytes(&mut b);
    format!("{prefix}{}", hex::encode_upper(b))
}

/// Ten years after issue, on the same day (an adult card; the card-expiry rule is \[I\]).
pub fn card_expiry_after(at: OffsetDateTime) -> Date {
    let d = jst_today(at);
    Date::from_calendar_date(d.year() + 10, d.month(), d.day().min(28)).unwrap_or(d)
}

fn jst_today(at: OffsetDateTime) -> Date {
    (at + Duration::hours(9)).date()
}

fn in_card<T>(r: Result<T, CardFileError>) -> Result<Option<T>, AuthorityError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(CardFileError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

impl Authority {
    /// Adds a resident.
    pub async fn add_person(&self, new: NewPerson) -> Result<Person, AuthorityError> {
        let at = self.clock.now();
        check_birth_date(new.facts.birth_date(), at)?;
        let person = Person {
            id: random_id("P"),
            facts: new.facts,
            prefecture: new.prefecture,
            municipality: new.municipality,
            ward: new.ward,
            status: PersonStatus::Resident,
        };
        self.store.add_person(&person, at).await?;
        self.store.add_event(at, &person.id, None, "registered", "").await?;
        Ok(person)
    }

    /// A resident, or `NotFound`.
    pub async fn person(&self, id: &str) -> Result<Person, AuthorityError> {
        self.store.person(id).await?.ok_or_else(|| AuthorityError::not_found("person", id))
    }

    /// A card, or `NotFound`.
    pub async fn card(&self, id: &str) -> Result<CardRecord, AuthorityError> {
        self.store.card(id).await?.ok_or_else(|| AuthorityError::not_found("card", id))
    }

    /// Whether `person` may hold a signature certificate today: not under 15, not an adult ward.
    pub fn may_sign(&self, person: &Person) -> bool {
        let today = jst_today(self.clock.now());
        !person.ward && person.facts.birth_date().age_on(today).is_none_or(|age| age >= 15)
    }

    /// Issues a certificate of `kind` for `public_key` to `person` on `card_id`. The serial is
    /// reserved (committed) before signing, so a crash at any point never reuses it.
    pub(crate) async fn issue_certificate(
        &self,
        kind: CertKind,
        person: &Person,
        card_id: &str,
        public_key: SubjectPublicKeyInfoOwned,
        card_expiry: Date,
        predecessor: Option<Serial>,
    ) -> Result<CertRecord, AuthorityError> {
        let now = self.clock.now();
        let ca_kind = if kind.carries_facts() { CaKind::Signature } else { CaKind::Auth };
        let generation = self.cas()?.current(ca_kind, now)?.id.clone();
        let mut record = loop {
            let record = CertRecord {
                serial: Serial::random(&mut OsRng),
                kind,
                ca_kind,
                generation: generation.clone(),
                person_id: person.id.clone(),
                card_id: card_id.to_owned(),
                validity: None,
                der: None,
                revocation: None,
                predecessor: predecessor.clone(),
                successor: None,
            };
            match self.store.reserve_serial(&record, now).await {
                Ok(()) => break record,
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        };
        let subject = if kind.carries_facts() {
            let seq = self.store.next_counter("issuance-sequence").await?;
            let seq = u32::try_from(seq.rem_euclid(100_000)).unwrap_or(0);
            signature_subject(&person.prefecture, &person.municipality, &issuance_id(now, seq, "HANKOTEST"))?
        } else {
            auth_subject(&opaque_auth_id(&mut OsRng))?
        };
        let facts = kind.carries_facts().then_some(&person.facts);
        let not_after = end_entity_not_after(now, person.facts.birth_date(), card_expiry);
        let der = {
            let cas = self.cas()?;
            let g = cas.get(ca_kind, &generation).ok_or(AuthorityError::NoCa(ca_kind))?;
            let not_after = not_after.min(g.ca.validity().1);
            record.validity = Some((now, not_after));
            g.ca.issue(&Profile::end_entity(kind), &record.serial, subject, public_key, facts, now, not_after)?
        };
        record.der = Some(der);
        self.store.store_certificate(&record).await?;
        self.metrics.issued(kind);
        Ok(record)
    }

    /// Revokes `serial` for `reason`; `false` when it was revoked already. The revocation is
    /// committed before this returns, and appears in the next CRL and (within the configured lag)
    /// in OCSP.
    ///
    /// Only the reasons a JPKI revocation can have ([`REVOCATION_REASONS`]) are accepted: any
    /// other (removeFromCRL, privilegeWithdrawn, …) could not be listed in a complete CRL.
    pub async fn revoke(&self, serial: &Serial, reason: CrlReason) -> Result<bool, AuthorityError> {
        if !REVOCATION_REASONS.contains(&reason) {
            return Err(not_a_revocation_reason(reason.name()));
        }
        let done = self.store.revoke(serial, self.clock.now(), reason).await?;
        if done {
            self.ocsp.register_changed(serial);
            self.metrics.revoked(reason);
        }
        Ok(done)
    }

    /// The CV signers of the input-assist and card-face data (keys under `cv/`, made on first
    /// use, mode 0600).
    fn cv_issuers(&self) -> Result<(CvIssuer, CvIssuer), AuthorityError> {
        let dir = self.config.data_dir.join("cv");
        let load = |name: &str| -> Result<SoftwareKey, AuthorityError> {
            let path = dir.join(name);
            if !path.exists() {
                // create_new: a key another process wrote first is read, never overwritten.
                let key = SoftwareKey::generate_rsa2048()?;
                if hanko_store::create_new(&path, &key.to_pkcs8()?, 0o600)
                    .map_err(|e| AuthorityError::io("writing", &path, e))?
                {
                    return Ok(key);
                }
            }
            let bytes = Zeroizing::new(std::fs::read(&path).map_err(|e| AuthorityError::io("reading", &path, e))?);
            Ok(SoftwareKey::from_pkcs8(&bytes)?)
        };
        let root = load("root.p8")?;
        let root_spki = hanko_pki::der::Encode::to_der(root.public_key())?;
        let path = dir.join("root.spki.der");
        write_atomic(&path, &root_spki, 0o644).map_err(|e| AuthorityError::io("writing", &path, e))?;
        Ok((
            CvIssuer::new(&root, CvKeyId::SANDBOX_ROOT, load("input-assist.p8")?, CvKeyId::SANDBOX_INPUT_ASSIST)?,
            CvIssuer::new(&root, CvKeyId::SANDBOX_ROOT, load("card-face.p8")?, CvKeyId::SANDBOX_CARD_FACE)?,
        ))
    }

    /// Issues a My Number Card to `person_id` at the counter: the chip generates its keys, the
    /// CAs certify them, and the card image is written under `cards/`. Minors (under 15) and
    /// adult wards get the user-authentication certificate only.
    pub async fn issue_card(&self, person_id: &str, pins: &CardPins) -> Result<IssuedCard, AuthorityError> {
        let person = self.person(person_id).await?;
        if person.status != PersonStatus::Resident {
            return Err(AuthorityError::Conflict(format!("person {person_id} is not a resident")));
        }
        let at = self.clock.now();
        let expiry = card_expiry_after(at);
        let with_signature = self.may_sign(&person);
        let password = match (&pins.sign_password, with_signature) {
            (Some(p), true) => Some(p),
            (None, true) => return Err(AuthorityError::Invalid("a signature password is needed".into())),
            (_, false) => None,
        };
        // Checked before anything is written: a refused PIN leaves no card behind.
        if !PinFormat::FourDigits.accepts(pins.auth_pin.as_bytes()) {
            return Err(AuthorityError::Invalid("the PIN is 4 digits".into()));
        }
        if password.is_some_and(|p| !PinFormat::Password.accepts(p.as_bytes())) {
            return Err(AuthorityError::Invalid("the signature password is 6 to 16 of A-Z and 0-9".into()));
        }
        let card_id = format!("hanko{:010}", OsRng.next_u64() % 10_000_000_000);
        // Held until the image is written: a crash releases it, and recovery then voids the card.
        let new_card = CardFile::reserve(&self.config.data_dir, &card_id)?;
        let blank = BlankChip::generate(Device::Card)?;
        self.store
            .add_card(&CardRecord {
                id: card_id.clone(),
                person_id: person.id.clone(),
                device: Device::Card,
                status: CardStatus::Issuing,
                expiry,
                issued_at: at,
            })
            .await?;
        let sign = match with_signature {
            true => Some(
                self.issue_certificate(
                    CertKind::Signature,
                    &person,
                    &card_id,
                    blank.sign_public_key().clone(),
                    expiry,
                    None,
                )
                .await?,
            ),
            false => None,
        };
        let auth = self
            .issue_certificate(CertKind::Auth, &person, &card_id, blank.auth_public_key().clone(), expiry, None)
            .await?;
        let (sign_ca, auth_ca) = self.current_ca_certificates(at)?;
        let security_code = random_digits(4);
        let facts =
            CardFacts::new(
                synthetic_my_number()?,
                person.facts.name(),
                person.facts.address(),
                person.facts.birth_date().date().ok_or_else(|| {
                    AuthorityError::Invalid("the card-face emulation needs a known birth date".into())
                })?,
                input_assist_sex(person.facts.sex()),
            )?;
        let (input_assist, card_face) = self.cv_issuers()?;
        let pin = pins.auth_pin.as_bytes();
        let year = u16::try_from(expiry.year()).map_err(|_| AuthorityError::Invalid("expiry year".into()))?;
        let extra_apps = vec![
            input_assist_app(&facts, &input_assist, pin, year, &security_code)?,
            card_face_app_with_font(
                &facts,
                &card_face,
                expiry,
                &security_code,
                &self.config.municipality_code,
                face_font(),
            )?,
            juki_app(
                pin,
                &ResidentRecordCode::parse(random_digits(11).as_bytes())
                    .ok_or_else(|| AuthorityError::Invalid("resident record code".into()))?,
            )?,
        ];
        let expiry_text = format!("{:04}{:02}{:02}", expiry.year(), expiry.month() as u8, expiry.day());
        let card = blank.personalize(Personalization {
            sign_cert: sign.as_ref().and_then(|s| s.der.as_deref()),
            sign_ca_cert: &sign_ca,
            auth_cert: auth.der.as_deref().unwrap_or_default(),
            auth_ca_cert: &auth_ca,
            sign_password: password.map(|p| p.as_bytes()).unwrap_or(b"UNUSED0"),
            auth_pin: pin,
            card_serial: &card_id.to_ascii_uppercase(),
            municipality_code: &self.config.municipality_code,
            card_expiry: &expiry_text,
            extra_apps,
        })?;
        new_card.create(card)?;
        self.store.set_card_status(&card_id, CardStatus::Active).await?;
        self.store.add_event(at, &person.id, Some(&card_id), "card-issued", "").await?;
        Ok(IssuedCard {
            card_id,
            signature_serial: sign.map(|s| s.serial.to_string()),
            auth_serial: auth.serial.to_string(),
            expiry: crate::register::date_str(expiry),
            security_code,
        })
    }

    fn current_ca_certificates(&self, at: OffsetDateTime) -> Result<(Vec<u8>, Vec<u8>), AuthorityError> {
        let cas = self.cas()?;
        Ok((
            cas.current(CaKind::Signature, at)?.ca.certificate_der().to_vec(),
            cas.current(CaKind::Auth, at)?.ca.certificate_der().to_vec(),
        ))
    }

    /// Issues one certificate for a public key made outside any card — a software key or an HSM
    /// key, for interoperability tests. The holder is registered as a resident with `holder`'s
    /// facts; an auth certificate may go to an anonymous entry (facts unknown). No card holds
    /// the key (card id `-`); the certificate ends at the 5th birthday or `card_expiry`.
    pub async fn issue_for_key(
        &self,
        kind: CertKind,
        holder: Option<NewPerson>,
        public_key: SubjectPublicKeyInfoOwned,
        card_expiry: Option<Date>,
    ) -> Result<CertRecord, AuthorityError> {
        let holder = match holder {
            Some(h) => h,
            None if !kind.carries_facts() => NewPerson {
                facts: BasicFacts::new("匿名", Sex::UNKNOWN, BirthDate::Unknown(*b"00000000"), "不明")?,
                prefecture: "Tokyo-to".into(),
                municipality: "Mihon-ku".into(),
                ward: false,
            },
            None => return Err(AuthorityError::Invalid("a signature certificate needs the holder's 4 facts".into())),
        };
        let person = self.add_person(holder).await?;
        let expiry = card_expiry.unwrap_or_else(|| card_expiry_after(self.clock.now()));
        self.issue_certificate(kind, &person, "-", public_key, expiry, None).await
    }

    /// Finishes issuances a crash interrupted. Only cards still `issuing` are looked at (a
    /// partial index keeps that cheap at any register size): one whose image was written is
    /// made active; one without an image was never handed over, so its certificates are revoked
    /// as "destroyed before handover" (reason unspecified, shared/spec/20-pki.md §3) and the card
    /// is voided. A card another process is still making (its lock is held) is left alone. Runs
    /// when the authority opens; returns the cards voided.
    pub async fn recover_interrupted_issuance(&self) -> Result<Vec<String>, AuthorityError> {
        let mut voided = Vec::new();
        for card in self.store.cards_issuing().await? {
            match CardFile::reserve(&self.config.data_dir, &card.id) {
                // Free lock and no image: nobody is making this card, and nobody ever will.
                Ok(_lock) => {}
                Err(CardFileError::Exists(_)) => {
                    self.store.set_card_status(&card.id, CardStatus::Active).await?;
                    continue;
                }
                Err(CardFileError::InUse(_)) => continue,
                Err(e) => return Err(e.into()),
            }
            for c in self.store.certificates_on(&card.id).await? {
                if c.revocation.is_none() && c.der.is_some() {
                    self.revoke(&c.serial, CrlReason::UNSPECIFIED).await?;
                }
            }
            self.store.set_card_status(&card.id, CardStatus::Returned).await?;
            self.store
                .add_event(
                    self.clock.now(),
                    &card.person_id,
                    Some(&card.id),
                    "issuance-voided",
                    "crash before handover",
                )
                .await?;
            voided.push(card.id);
        }
        Ok(voided)
    }

    /// Resets (unblocks) a card's PIN at the counter.
    pub async fn reset_pin(&self, card_id: &str, slot: Slot, new_pin: &[u8]) -> Result<(), AuthorityError> {
        let card = self.card(card_id).await?;
        if card.status != CardStatus::Active {
            return Err(AuthorityError::Conflict(format!("card {card_id} is not active")));
        }
        let mut file = CardFile::open(&self.config.data_dir, card_id)?;
        file.card_mut().counter_set_pin(slot, new_pin)?;
        file.persist()?;
        let what = match slot {
            Slot::Signature => "signature password",
            Slot::Auth => "PIN",
        };
        self.store.add_event(self.clock.now(), &card.person_id, Some(card_id), "pin-reset", what).await?;
        Ok(())
    }

    /// Certificates on `card_id` that are signed, unrevoked and unexpired now.
    pub(crate) async fn live_certificates(&self, card_id: &str) -> Result<Vec<CertRecord>, AuthorityError> {
        let now = self.clock.now();
        Ok(self
            .store
            .certificates_on(card_id)
            .await?
            .into_iter()
            .filter(|c| c.revocation.is_none() && c.validity.is_some_and(|(_, na)| na >= now))
            .collect())
    }

    async fn revoke_into(&self, out: &mut Outcome, c: &CertRecord, reason: CrlReason) -> Result<(), AuthorityError> {
        if self.revoke(&c.serial, reason).await? {
            out.revoked.push((c.serial.to_string(), reason.name().to_owned()));
        }
        Ok(())
    }

    /// Writes a new certificate of `slot` onto the card in `file` (the chip generates the key),
    /// succeeding `old`.
    async fn reissue_on(
        &self,
        file: &mut CardFile,
        person: &Person,
        card: &CardRecord,
        slot: Slot,
        old: Option<&CertRecord>,
        out: &mut Outcome,
    ) -> Result<(), AuthorityError> {
        let phone = card.device != Device::Card;
        let kind = match (slot, phone) {
            (Slot::Signature, false) => CertKind::Signature,
            (Slot::Signature, true) => CertKind::SmartphoneSignature,
            (Slot::Auth, false) => CertKind::Auth,
            (Slot::Auth, true) => CertKind::SmartphoneAuth,
        };
        let public_key = file.card_mut().counter_regenerate_key(slot)?;
        let record = self
            .issue_certificate(kind, person, &card.id, public_key, card.expiry, old.map(|o| o.serial.clone()))
            .await?;
        let (sign_ca, auth_ca) = self.current_ca_certificates(self.clock.now())?;
        let ca = if slot == Slot::Signature { sign_ca } else { auth_ca };
        file.card_mut().counter_install_certificate(slot, record.der.as_deref().unwrap_or_default(), &ca)?;
        file.persist()?;
        out.issued.push((record.serial.to_string(), kind.as_str().to_owned()));
        Ok(())
    }

    /// Records a life event and applies its certificate consequences (shared/spec/20-pki.md §3).
    pub async fn record_event(&self, person_id: &str, event: LifeEvent) -> Result<Outcome, AuthorityError> {
        let mut person = self.person(person_id).await?;
        if person.status == PersonStatus::Dead {
            return Err(AuthorityError::Conflict(format!("person {person_id} is deceased")));
        }
        let at = self.clock.now();
        let mut out = Outcome::default();
        let cards = self.store.cards_of(person_id).await?;
        let active: Vec<&CardRecord> = cards.iter().filter(|c| c.status == CardStatus::Active).collect();
        match &event {
            LifeEvent::FactsChanged { name, address, locality, birth_date, sex } => {
                if let Some(b) = birth_date {
                    check_birth_date(*b, self.clock.now())?;
                }
                // An event that changes nothing would still revoke and reissue every signature
                // certificate: refused.
                let f = &person.facts;
                let unchanged = name.as_deref().is_none_or(|n| n == f.name())
                    && address.as_deref().is_none_or(|a| a == f.address())
                    && sex.is_none_or(|s| s == f.sex())
                    && birth_date.is_none_or(|b| b == f.birth_date())
                    && locality.as_ref().is_none_or(|(p, m)| *p == person.prefecture && *m == person.municipality);
                if unchanged {
                    return Err(AuthorityError::Invalid(
                        "a facts-changed event must change at least one fact (name, address, prefecture and \
                         municipality, birth date, sex)"
                            .into(),
                    ));
                }
                // A fact that does not change keeps its substitute-character map; a new text has
                // none (the counter API takes plain text).
                let (name, name_map) = match name {
                    Some(n) => (n.as_str(), SubstituteMap::none_for(n)),
                    None => (f.name(), f.name_substitutes().clone()),
                };
                let (address, address_map) = match address {
                    Some(a) => (a.as_str(), SubstituteMap::none_for(a)),
                    None => (f.address(), f.address_substitutes().clone()),
                };
                person.facts = BasicFacts::with_substitutes(
                    name,
                    name_map,
                    sex.unwrap_or(f.sex()),
                    birth_date.unwrap_or(f.birth_date()),
                    address,
                    address_map,
                )?;
                if let Some((pref, muni)) = locality {
                    person.prefecture.clone_from(pref);
                    person.municipality.clone_from(muni);
                }
                // Take every card at hand first, so a card in use elsewhere changes nothing.
                let mut files = Vec::new();
                for card in active.iter().filter(|c| c.device == Device::Card) {
                    files.push((*card, in_card(CardFile::open(&self.config.data_dir, &card.id))?));
                }
                self.store.update_person(&person, at).await?;
                for card in &active {
                    for c in self.live_certificates(&card.id).await? {
                        if c.kind.carries_facts() {
                            self.revoke_into(&mut out, &c, CrlReason::AFFILIATION_CHANGED).await?;
                        }
                    }
                    if card.device != Device::Card {
                        out.pending.push(format!("phone {}: apply online for a new signature certificate", card.id));
                    }
                }
                let old_signature = |card_id: &str| {
                    let card_id = card_id.to_owned();
                    async move {
                        Ok::<_, AuthorityError>(
                            self.store
                                .certificates_on(&card_id)
                                .await?
                                .into_iter()
                                .rfind(|c| c.kind == CertKind::Signature && c.successor.is_none()),
                        )
                    }
                };
                // Only a card that held a signature certificate gets a new one (a minor's card
                // stays auth-only; an adult ward's signature certificate is not replaced).
                for (card, mut file) in files {
                    // The input-assist AP's text and integrity record follow the register (the
                    // 券面AP keeps its issue-time face).
                    if let (Some(f), Some(birth)) = (file.as_mut(), person.facts.birth_date().date()) {
                        let sex = match person.facts.sex().0 {
                            b'3' => 9, // certificate 3 (unknown) is the AP's 9 (not applicable)
                            s => s.wrapping_sub(b'0'),
                        };
                        let (input_assist, _) = self.cv_issuers()?;
                        let (name, address) = (person.facts.name(), person.facts.address());
                        f.card_mut().counter_rewrite_facts(name, address, birth, sex, &input_assist)?;
                        f.persist()?;
                    }
                    let Some(old) = old_signature(&card.id).await?.filter(|_| self.may_sign(&person)) else {
                        continue;
                    };
                    match file {
                        Some(mut file) => {
                            self.reissue_on(&mut file, &person, card, Slot::Signature, Some(&old), &mut out).await?
                        }
                        None => out.pending.push(format!("card {}: write the new signature certificate", card.id)),
                    }
                }
            }
            LifeEvent::Death => {
                person.status = PersonStatus::Dead;
                self.store.update_person(&person, at).await?;
                for card in &active {
                    for c in self.live_certificates(&card.id).await? {
                        self.revoke_into(&mut out, &c, CrlReason::AFFILIATION_CHANGED).await?;
                    }
                    self.store.set_card_status(&card.id, CardStatus::Returned).await?;
                }
            }
            LifeEvent::Emigration => {
                person.status = PersonStatus::Emigrated;
                self.store.update_person(&person, at).await?;
                for card in &active {
                    for c in self.live_certificates(&card.id).await? {
                        match (c.kind.carries_facts(), self.config.emigration) {
                            (true, _) => self.revoke_into(&mut out, &c, CrlReason::AFFILIATION_CHANGED).await?,
                            (false, EmigrationPolicy::RevokeBoth) => {
                                self.revoke_into(&mut out, &c, CrlReason::CESSATION_OF_OPERATION).await?
                            }
                            (false, EmigrationPolicy::KeepAuth) => {}
                        }
                    }
                }
            }
            LifeEvent::CardLost { card_id } | LifeEvent::CardReturned { card_id } => {
                let card = cards
                    .iter()
                    .find(|c| c.id == *card_id)
                    .ok_or_else(|| AuthorityError::not_found("card of this person", card_id))?;
                let lost = matches!(event, LifeEvent::CardLost { .. });
                let (reason, status) = if lost {
                    (CrlReason::CERTIFICATE_HOLD, CardStatus::Suspended)
                } else {
                    (CrlReason::CESSATION_OF_OPERATION, CardStatus::Returned)
                };
                // Losing the card also suspends the phones' certificates (they were issued on
                // the card's strength).
                let affected: Vec<&CardRecord> = if lost && card.device == Device::Card {
                    active.iter().copied().filter(|c| c.id == card.id || c.device != Device::Card).collect()
                } else {
                    vec![card]
                };
                for c in affected {
                    for cert in self.live_certificates(&c.id).await? {
                        self.revoke_into(&mut out, &cert, reason).await?;
                    }
                    self.store.set_card_status(&c.id, status).await?;
                }
            }
        }
        let detail = format!("{} revoked, {} issued", out.revoked.len(), out.issued.len());
        self.store.add_event(at, person_id, None, event.kind(), &detail).await?;
        Ok(out)
    }

    /// Renews the certificates on a card (at the 5th birthday, from 3 months before expiry):
    /// new keys in the chip, new certificates, the old ones revoked as superseded and linked to
    /// their successors.
    pub async fn renew_certificates(&self, card_id: &str) -> Result<Outcome, AuthorityError> {
        let card = self.card(card_id).await?;
        if card.status != CardStatus::Active || card.device != Device::Card {
            return Err(AuthorityError::Conflict(format!("card {card_id} is not an active card")));
        }
        let person = self.person(&card.person_id).await?;
        if person.status != PersonStatus::Resident {
            return Err(AuthorityError::Conflict(format!("person {} is not a resident", person.id)));
        }
        let now = self.clock.now();
        let all = self.store.certificates_on(card_id).await?;
        let newest = |kind: CertKind| all.iter().rfind(|c| c.kind == kind && c.successor.is_none());
        let auth = newest(CertKind::Auth).ok_or_else(|| AuthorityError::Conflict("no auth certificate".into()))?;
        let expires = auth.validity.map(|(_, na)| na).unwrap_or(now);
        if expires - now > Duration::days(92) {
            return Err(AuthorityError::Conflict(format!("renewal opens 3 months before expiry ({expires}); not yet")));
        }
        let mut file = CardFile::open(&self.config.data_dir, card_id)?;
        let mut out = Outcome::default();
        let signature = newest(CertKind::Signature).filter(|_| self.may_sign(&person));
        for (slot, old) in [(Slot::Auth, Some(auth)), (Slot::Signature, signature)] {
            let Some(old) = old else { continue };
            self.reissue_on(&mut file, &person, &card, slot, Some(old), &mut out).await?;
            if old.revocation.is_none() && old.validity.is_some_and(|(_, na)| na >= now) {
                self.revoke_into(&mut out, old, CrlReason::SUPERSEDED).await?;
            }
        }
        self.store
            .add_event(now, &person.id, Some(card_id), "renewed", &format!("{} issued", out.issued.len()))
            .await?;
        Ok(out)
    }
}

/// A synthetic My Number: 11 random digits and the check digit of the ordinance.
fn synthetic_my_number() -> Result<MyNumber, AuthorityError> {
    let mut body = [0u8; 11];
    for d in &mut body {
        *d = b'0' + (OsRng.next_u32() % 10) as u8;
    }
    Ok(MyNumber::from_body(&body)?)
}

/// Fonts tried for the card-face images, in order (Debian's fonts-ipafont-gothic, then
/// fonts-noto-cjk); `$HANKO_FACE_FONT` names another.
const FACE_FONTS: [&str; 3] = [
    "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf",
    "/usr/share/fonts/truetype/fonts-japanese-gothic.ttf",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
];

/// The Japanese font of the card-face images, loaded once. Without one the images are the
/// placeholders, and a one-line notice says so.
fn face_font() -> Option<&'static hanko_card::FaceFont> {
    static FONT: std::sync::OnceLock<Option<hanko_card::FaceFont>> = std::sync::OnceLock::new();
    FONT.get_or_init(|| {
        let named = std::env::var_os("HANKO_FACE_FONT").map(std::path::PathBuf::from);
        let found = named
            .into_iter()
            .chain(FACE_FONTS.iter().map(std::path::PathBuf::from))
            .find_map(|p| std::fs::read(&p).ok().and_then(|b| hanko_card::FaceFont::from_bytes(b).ok()));
        if found.is_none() {
            eprintln!("hanko: notice: no Japanese font (apt-get install fonts-ipafont-gothic): card-face images are placeholders");
        }
        found
    })
    .as_ref()
}
