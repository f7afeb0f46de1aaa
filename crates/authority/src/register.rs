//! The register: residents, cards, certificates, revocations and lifecycle events — the
//! storage trait the counter and the publication code work over, and its SQL implementation
//! (one for both SQLite and PostgreSQL, through `hanko_store`).

use async_trait::async_trait;
use hanko_card::Device;
use hanko_pki::time::{Date, OffsetDateTime};
use hanko_pki::{BasicFacts, BirthDate, CaKind, CertKind, CrlReason, Serial, Sex, SubstituteMap};
use hanko_store::sqlx::{self, any::AnyRow, Row};
use hanko_store::{Db, StoreError};

/// A resident's status in the register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersonStatus {
    /// Lives in a municipality of ours.
    Resident,
    /// Died.
    Dead,
    /// Moved abroad.
    Emigrated,
}

impl PersonStatus {
    fn as_str(self) -> &'static str {
        match self {
            PersonStatus::Resident => "resident",
            PersonStatus::Dead => "dead",
            PersonStatus::Emigrated => "emigrated",
        }
    }
    fn parse(s: &str) -> Result<PersonStatus, StoreError> {
        Ok(match s {
            "resident" => PersonStatus::Resident,
            "dead" => PersonStatus::Dead,
            "emigrated" => PersonStatus::Emigrated,
            _ => return Err(StoreError::Corrupt(format!("person status {s:?}"))),
        })
    }
}

/// A synthetic resident of the register.
#[derive(Debug, Clone)]
pub struct Person {
    /// Register id (`P` + 12 hex digits).
    pub id: String,
    /// The 4 facts as the register holds them now.
    pub facts: BasicFacts,
    /// Romanised prefecture (subject `L`).
    pub prefecture: String,
    /// Romanised municipality (subject `L`).
    pub municipality: String,
    /// An adult ward (成年被後見人): user-authentication certificate only.
    pub ward: bool,
    /// Resident, dead or emigrated.
    pub status: PersonStatus,
}

/// A card's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardStatus {
    /// Being made at the counter: certificates issued, the image not yet written.
    Issuing,
    /// In use.
    Active,
    /// Lost or suspended: its certificates are on hold (never released).
    Suspended,
    /// Returned to the municipality (or the holder died).
    Returned,
    /// Replaced by a renewed card.
    Replaced,
}

impl CardStatus {
    fn as_str(self) -> &'static str {
        match self {
            CardStatus::Issuing => "issuing",
            CardStatus::Active => "active",
            CardStatus::Suspended => "suspended",
            CardStatus::Returned => "returned",
            CardStatus::Replaced => "replaced",
        }
    }
    fn parse(s: &str) -> Result<CardStatus, StoreError> {
        Ok(match s {
            "issuing" => CardStatus::Issuing,
            "active" => CardStatus::Active,
            "suspended" => CardStatus::Suspended,
            "returned" => CardStatus::Returned,
            "replaced" => CardStatus::Replaced,
            _ => return Err(StoreError::Corrupt(format!("card status {s:?}"))),
        })
    }
}

/// A card or a phone's secure element.
#[derive(Debug, Clone)]
pub struct CardRecord {
    /// Card id (the card image's name).
    pub id: String,
    /// Holder.
    pub person_id: String,
    /// Card, Android or iPhone.
    pub device: Device,
    /// Status.
    pub status: CardStatus,
    /// Card expiry (caps certificate validity).
    pub expiry: Date,
    /// When it was issued.
    pub issued_at: OffsetDateTime,
}

/// A certificate row. `der` is `None` while the serial is only reserved (a crash between
/// reservation and signing leaves such a row: the serial is then never used again). `Debug`
/// elides the certificate (its DER holds the 4 facts).
#[derive(Clone)]
pub struct CertRecord {
    /// Serial.
    pub serial: Serial,
    /// Kind (signature, auth, smartphone …).
    pub kind: CertKind,
    /// Issuing CA.
    pub ca_kind: CaKind,
    /// Issuing CA generation.
    pub generation: String,
    /// Holder.
    pub person_id: String,
    /// Card or phone holding the key.
    pub card_id: String,
    /// Validity (absent while reserved).
    pub validity: Option<(OffsetDateTime, OffsetDateTime)>,
    /// The certificate (absent while reserved).
    pub der: Option<Vec<u8>>,
    /// Revocation, once revoked (never lifted).
    pub revocation: Option<(OffsetDateTime, CrlReason)>,
    /// The certificate this one replaced.
    pub predecessor: Option<Serial>,
    /// The certificate that replaced this one.
    pub successor: Option<Serial>,
}

impl std::fmt::Debug for CertRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertRecord")
            .field("serial", &self.serial)
            .field("kind", &self.kind)
            .field("ca_kind", &self.ca_kind)
            .field("generation", &self.generation)
            .field("person_id", &self.person_id)
            .field("card_id", &self.card_id)
            .field("validity", &self.validity)
            .field("der", &self.der.as_ref().map(|d| format!("[{} bytes elided]", d.len())))
            .field("revocation", &self.revocation)
            .field("predecessor", &self.predecessor)
            .field("successor", &self.successor)
            .finish()
    }
}

/// A revoked certificate, for a CRL.
#[derive(Debug, Clone)]
pub struct RevokedEntry {
    /// Serial.
    pub serial: Serial,
    /// When.
    pub at: OffsetDateTime,
    /// Why.
    pub reason: CrlReason,
}

/// A CA generation in the register.
#[derive(Debug, Clone)]
pub struct GenerationRecord {
    /// Signature or auth CA.
    pub ca_kind: CaKind,
    /// Generation id (the JST year it started, `-n` when several).
    pub id: String,
    /// The CA certificate.
    pub certificate: Vec<u8>,
    /// The delegated OCSP responder certificate of this generation.
    pub responder: Vec<u8>,
}

/// The register's storage.
#[async_trait]
pub trait RegisterStore: Send + Sync {
    /// Every CA generation.
    async fn generations(&self) -> Result<Vec<GenerationRecord>, StoreError>;
    /// Adds a CA generation.
    async fn add_generation(
        &self,
        g: &GenerationRecord,
        serial: &Serial,
        validity: (OffsetDateTime, OffsetDateTime),
    ) -> Result<(), StoreError>;
    /// Adds a person.
    async fn add_person(&self, p: &Person, at: OffsetDateTime) -> Result<(), StoreError>;
    /// A person.
    async fn person(&self, id: &str) -> Result<Option<Person>, StoreError>;
    /// Replaces a person's facts, status and ward flag.
    async fn update_person(&self, p: &Person, at: OffsetDateTime) -> Result<(), StoreError>;
    /// Adds a card.
    async fn add_card(&self, c: &CardRecord) -> Result<(), StoreError>;
    /// A card.
    async fn card(&self, id: &str) -> Result<Option<CardRecord>, StoreError>;
    /// A person's cards and phones.
    async fn cards_of(&self, person_id: &str) -> Result<Vec<CardRecord>, StoreError>;
    /// Sets a card's status.
    async fn set_card_status(&self, id: &str, status: CardStatus) -> Result<(), StoreError>;
    /// The cards still being issued (status `issuing`).
    async fn cards_issuing(&self) -> Result<Vec<CardRecord>, StoreError>;
    /// Reserves a serial (fails with `Conflict` when it was ever used).
    async fn reserve_serial(&self, c: &CertRecord, at: OffsetDateTime) -> Result<(), StoreError>;
    /// Stores the signed certificate of a reserved serial, and links it to its predecessor.
    async fn store_certificate(&self, c: &CertRecord) -> Result<(), StoreError>;
    /// A certificate.
    async fn certificate(&self, serial: &Serial) -> Result<Option<CertRecord>, StoreError>;
    /// The certificates (signed ones only) on a card.
    async fn certificates_on(&self, card_id: &str) -> Result<Vec<CertRecord>, StoreError>;
    /// Signed certificates, oldest first, at most `limit`.
    async fn all_certificates(&self, limit: i64) -> Result<Vec<CertRecord>, StoreError>;
    /// The certificates (signed ones only) of a person.
    async fn certificates_of(&self, person_id: &str) -> Result<Vec<CertRecord>, StoreError>;
    /// Revokes a certificate; `false` when it was revoked already (a revocation is never
    /// changed). Commits before returning, and records the change for the OCSP caches.
    async fn revoke(&self, serial: &Serial, at: OffsetDateTime, reason: CrlReason) -> Result<bool, StoreError>;
    /// The revoked certificates of a CA generation.
    async fn revoked(&self, ca_kind: CaKind, generation: &str) -> Result<Vec<RevokedEntry>, StoreError>;
    /// Register changes (revocations) after `seq`: (seq, serial).
    async fn changes_after(&self, seq: i64) -> Result<Vec<(i64, Serial)>, StoreError>;
    /// Records a lifecycle event (an audit trail; never the facts themselves).
    async fn add_event(
        &self,
        at: OffsetDateTime,
        person_id: &str,
        card_id: Option<&str>,
        kind: &str,
        detail: &str,
    ) -> Result<(), StoreError>;
    /// Increments and returns a named counter (issuance sequence numbers, CRL numbers …).
    async fn next_counter(&self, name: &str) -> Result<i64, StoreError>;
}

/// The SQL implementation of every storage trait of the authority.
#[derive(Debug, Clone)]
pub struct SqlStore {
    pub(crate) db: Db,
}

impl SqlStore {
    /// Migrates `db` and wraps it.
    pub async fn new(db: Db) -> Result<SqlStore, StoreError> {
        db.migrate("authority", crate::schema::MIGRATIONS).await?;
        Ok(SqlStore { db })
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.db
    }
}

pub(crate) fn ts(t: OffsetDateTime) -> i64 {
    t.unix_timestamp()
}

pub(crate) fn from_ts(t: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp(t).map_err(|_| StoreError::Corrupt(format!("time {t}")))
}

pub(crate) fn serial_of(s: &str) -> Result<Serial, StoreError> {
    Serial::from_hex(s).ok_or_else(|| StoreError::Corrupt(format!("serial {s:?}")))
}

fn ca_kind_of(s: &str) -> Result<CaKind, StoreError> {
    match s {
        "signature" => Ok(CaKind::Signature),
        "auth" => Ok(CaKind::Auth),
        _ => Err(StoreError::Corrupt(format!("CA kind {s:?}"))),
    }
}

pub(crate) fn cert_kind_of(s: &str) -> Result<CertKind, StoreError> {
    [CertKind::Signature, CertKind::Auth, CertKind::SmartphoneSignature, CertKind::SmartphoneAuth]
        .into_iter()
        .find(|k| k.as_str() == s)
        .ok_or_else(|| StoreError::Corrupt(format!("certificate kind {s:?}")))
}

pub(crate) fn device_of(s: &str) -> Result<Device, StoreError> {
    [Device::Card, Device::Android, Device::Iphone]
        .into_iter()
        .find(|d| d.as_str() == s)
        .ok_or_else(|| StoreError::Corrupt(format!("device {s:?}")))
}

fn date_of(s: &str) -> Result<Date, StoreError> {
    let fmt = hanko_pki::time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(s, &fmt).map_err(|_| StoreError::Corrupt(format!("date {s:?}")))
}

pub(crate) fn date_str(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), d.month() as u8, d.day())
}

fn person_row(r: &AnyRow) -> Result<Person, StoreError> {
    let corrupt = |e: hanko_pki::FactsError| StoreError::Corrupt(e.to_string());
    let name: String = r.try_get("name")?;
    let address: String = r.try_get("address")?;
    let facts = BasicFacts::with_substitutes(
        &name,
        SubstituteMap::new("name", &name, &r.try_get::<String, _>("name_map")?).map_err(corrupt)?,
        Sex::parse(&r.try_get::<String, _>("sex")?).map_err(corrupt)?,
        BirthDate::parse(&r.try_get::<String, _>("birth")?).map_err(corrupt)?,
        &address,
        SubstituteMap::new("address", &address, &r.try_get::<String, _>("address_map")?).map_err(corrupt)?,
    )
    .map_err(corrupt)?;
    Ok(Person {
        id: r.try_get("id")?,
        facts,
        prefecture: r.try_get("prefecture")?,
        municipality: r.try_get("municipality")?,
        ward: r.try_get::<i64, _>("ward")? != 0,
        status: PersonStatus::parse(&r.try_get::<String, _>("status")?)?,
    })
}

fn card_row(r: &AnyRow) -> Result<CardRecord, StoreError> {
    Ok(CardRecord {
        id: r.try_get("id")?,
        person_id: r.try_get("person_id")?,
        device: device_of(&r.try_get::<String, _>("device")?)?,
        status: CardStatus::parse(&r.try_get::<String, _>("status")?)?,
        expiry: date_of(&r.try_get::<String, _>("expiry")?)?,
        issued_at: from_ts(r.try_get("issued_at")?)?,
    })
}

fn cert_row(r: &AnyRow) -> Result<CertRecord, StoreError> {
    let opt_serial = |col: &str| -> Result<Option<Serial>, StoreError> {
        r.try_get::<Option<String>, _>(col)?.map(|s| serial_of(&s)).transpose()
    };
    let nb: Option<i64> = r.try_get("not_before")?;
    let na: Option<i64> = r.try_get("not_after")?;
    let revoked_at: Option<i64> = r.try_get("revoked_at")?;
    let reason: Option<i64> = r.try_get("reason")?;
    Ok(CertRecord {
        serial: serial_of(&r.try_get::<String, _>("serial")?)?,
        kind: cert_kind_of(&r.try_get::<String, _>("kind")?)?,
        ca_kind: ca_kind_of(&r.try_get::<String, _>("ca_kind")?)?,
        generation: r.try_get("generation")?,
        person_id: r.try_get("person_id")?,
        card_id: r.try_get("card_id")?,
        validity: match (nb, na) {
            (Some(a), Some(b)) => Some((from_ts(a)?, from_ts(b)?)),
            _ => None,
        },
        der: r.try_get("der")?,
        revocation: match (revoked_at, reason) {
            (Some(at), Some(reason)) => Some((
                from_ts(at)?,
                CrlReason(u8::try_from(reason).map_err(|_| StoreError::Corrupt(format!("reason {reason}")))?),
            )),
            _ => None,
        },
        predecessor: opt_serial("predecessor")?,
        successor: opt_serial("successor")?,
    })
}

/// Binds a person's columns as `$1` id … `$11` status, `$12` the time of the change.
fn bind_person<'q>(
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    p: &'q Person,
    at: OffsetDateTime,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    q.bind(&p.id)
        .bind(p.facts.name())
        .bind(p.facts.name_substitutes().as_str())
        .bind(p.facts.sex().as_str().to_owned())
        .bind(p.facts.birth_date().to_string())
        .bind(p.facts.address())
        .bind(p.facts.address_substitutes().as_str())
        .bind(&p.prefecture)
        .bind(&p.municipality)
        .bind(i64::from(p.ward))
        .bind(p.status.as_str())
        .bind(ts(at))
}

const CERT_COLUMNS: &str = "serial, kind, ca_kind, generation, person_id, card_id, not_before, not_after, der, \
                            revoked_at, reason, predecessor, successor";

#[async_trait]
impl RegisterStore for SqlStore {
    async fn generations(&self) -> Result<Vec<GenerationRecord>, StoreError> {
        let rows = sqlx::query("SELECT ca_kind, id, certificate, responder FROM generations ORDER BY not_before, id")
            .fetch_all(self.db.pool())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(GenerationRecord {
                    ca_kind: ca_kind_of(&r.try_get::<String, _>("ca_kind")?)?,
                    id: r.try_get("id")?,
                    certificate: r.try_get("certificate")?,
                    responder: r.try_get("responder")?,
                })
            })
            .collect()
    }

    async fn add_generation(
        &self,
        g: &GenerationRecord,
        serial: &Serial,
        validity: (OffsetDateTime, OffsetDateTime),
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO generations (ca_kind, id, serial, not_before, not_after, certificate, responder) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(g.ca_kind.as_str())
        .bind(&g.id)
        .bind(serial.to_string())
        .bind(ts(validity.0))
        .bind(ts(validity.1))
        .bind(&g.certificate)
        .bind(&g.responder)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    async fn add_person(&self, p: &Person, at: OffsetDateTime) -> Result<(), StoreError> {
        bind_person(
            sqlx::query(
                "INSERT INTO persons (id, name, name_map, sex, birth, address, address_map, prefecture, \
                 municipality, ward, status, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)",
            ),
            p,
            at,
        )
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    async fn person(&self, id: &str) -> Result<Option<Person>, StoreError> {
        sqlx::query("SELECT * FROM persons WHERE id = $1")
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?
            .as_ref()
            .map(person_row)
            .transpose()
    }

    async fn update_person(&self, p: &Person, at: OffsetDateTime) -> Result<(), StoreError> {
        bind_person(
            sqlx::query(
                "UPDATE persons SET name = $2, name_map = $3, sex = $4, birth = $5, address = $6, address_map = $7, \
                 prefecture = $8, municipality = $9, ward = $10, status = $11, updated_at = $12 WHERE id = $1",
            ),
            p,
            at,
        )
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    async fn add_card(&self, c: &CardRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO cards (id, person_id, device, status, expiry, issued_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&c.id)
        .bind(&c.person_id)
        .bind(c.device.as_str())
        .bind(c.status.as_str())
        .bind(date_str(c.expiry))
        .bind(ts(c.issued_at))
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    async fn card(&self, id: &str) -> Result<Option<CardRecord>, StoreError> {
        sqlx::query("SELECT * FROM cards WHERE id = $1")
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?
            .as_ref()
            .map(card_row)
            .transpose()
    }

    async fn cards_of(&self, person_id: &str) -> Result<Vec<CardRecord>, StoreError> {
        sqlx::query("SELECT * FROM cards WHERE person_id = $1 ORDER BY issued_at, id")
            .bind(person_id)
            .fetch_all(self.db.pool())
            .await?
            .iter()
            .map(card_row)
            .collect()
    }

    async fn set_card_status(&self, id: &str, status: CardStatus) -> Result<(), StoreError> {
        sqlx::query("UPDATE cards SET status = $2 WHERE id = $1")
            .bind(id)
            .bind(status.as_str())
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    async fn cards_issuing(&self) -> Result<Vec<CardRecord>, StoreError> {
        // A literal, so both databases use the partial index `cards_issuing`.
        sqlx::query("SELECT * FROM cards WHERE status = 'issuing' ORDER BY id")
            .fetch_all(self.db.pool())
            .await?
            .iter()
            .map(card_row)
            .collect()
    }

    async fn reserve_serial(&self, c: &CertRecord, at: OffsetDateTime) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO certificates (serial, kind, ca_kind, generation, person_id, card_id, reserved_at, predecessor) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(c.serial.to_string())
        .bind(c.kind.as_str())
        .bind(c.ca_kind.as_str())
        .bind(&c.generation)
        .bind(&c.person_id)
        .bind(&c.card_id)
        .bind(ts(at))
        .bind(c.predecessor.as_ref().map(Serial::to_string))
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    async fn store_certificate(&self, c: &CertRecord) -> Result<(), StoreError> {
        let (nb, na) = c.validity.ok_or_else(|| StoreError::Corrupt("certificate without validity".into()))?;
        let mut tx = self.db.pool().begin().await?;
        let key = c.der.as_deref().and_then(crate::phone::certificate_key_hash);
        sqlx::query(
            "UPDATE certificates SET not_before = $2, not_after = $3, der = $4, spki_sha256 = $5 WHERE serial = $1",
        )
        .bind(c.serial.to_string())
        .bind(ts(nb))
        .bind(ts(na))
        .bind(c.der.as_deref())
        .bind(key)
        .execute(&mut *tx)
        .await?;
        if let Some(pred) = &c.predecessor {
            sqlx::query("UPDATE certificates SET successor = $2 WHERE serial = $1")
                .bind(pred.to_string())
                .bind(c.serial.to_string())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn certificate(&self, serial: &Serial) -> Result<Option<CertRecord>, StoreError> {
        sqlx::query(&format!("SELECT {CERT_COLUMNS} FROM certificates WHERE serial = $1"))
            .bind(serial.to_string())
            .fetch_optional(self.db.pool())
            .await?
            .as_ref()
            .map(cert_row)
            .transpose()
    }

    async fn certificates_on(&self, card_id: &str) -> Result<Vec<CertRecord>, StoreError> {
        sqlx::query(&format!(
            "SELECT {CERT_COLUMNS} FROM certificates WHERE card_id = $1 AND der IS NOT NULL ORDER BY not_before, serial"
        ))
        .bind(card_id)
        .fetch_all(self.db.pool())
        .await?
        .iter()
        .map(cert_row)
        .collect()
    }

    async fn all_certificates(&self, limit: i64) -> Result<Vec<CertRecord>, StoreError> {
        sqlx::query(&format!(
            "SELECT {CERT_COLUMNS} FROM certificates WHERE der IS NOT NULL ORDER BY not_before, serial LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(self.db.pool())
        .await?
        .iter()
        .map(cert_row)
        .collect()
    }

    async fn certificates_of(&self, person_id: &str) -> Result<Vec<CertRecord>, StoreError> {
        sqlx::query(&format!(
            "SELECT {CERT_COLUMNS} FROM certificates WHERE person_id = $1 AND der IS NOT NULL \
             ORDER BY not_before, serial"
        ))
        .bind(person_id)
        .fetch_all(self.db.pool())
        .await?
        .iter()
        .map(cert_row)
        .collect()
    }

    async fn revoke(&self, serial: &Serial, at: OffsetDateTime, reason: CrlReason) -> Result<bool, StoreError> {
        let hex = serial.to_string();
        let mut tx = self.db.pool().begin().await?;
        let done = sqlx::query(
            "UPDATE certificates SET revoked_at = $2, reason = $3 WHERE serial = $1 AND revoked_at IS NULL \
             AND der IS NOT NULL",
        )
        .bind(&hex)
        .bind(ts(at))
        .bind(i64::from(reason.0))
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if done {
            sqlx::query("INSERT INTO changes (serial, at) VALUES ($1, $2)")
                .bind(&hex)
                .bind(ts(at))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(done)
    }

    async fn revoked(&self, ca_kind: CaKind, generation: &str) -> Result<Vec<RevokedEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT serial, revoked_at, reason FROM certificates WHERE ca_kind = $1 AND generation = $2 \
             AND revoked_at IS NOT NULL",
        )
        .bind(ca_kind.as_str())
        .bind(generation)
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let reason: i64 = r.try_get("reason")?;
                Ok(RevokedEntry {
                    serial: serial_of(&r.try_get::<String, _>("serial")?)?,
                    at: from_ts(r.try_get("revoked_at")?)?,
                    reason: CrlReason(
                        u8::try_from(reason).map_err(|_| StoreError::Corrupt(format!("reason {reason}")))?,
                    ),
                })
            })
            .collect()
    }

    async fn changes_after(&self, seq: i64) -> Result<Vec<(i64, Serial)>, StoreError> {
        let rows = sqlx::query("SELECT seq, serial FROM changes WHERE seq > $1 ORDER BY seq LIMIT 10000")
            .bind(seq)
            .fetch_all(self.db.pool())
            .await?;
        rows.iter().map(|r| Ok((r.try_get("seq")?, serial_of(&r.try_get::<String, _>("serial")?)?))).collect()
    }

    async fn add_event(
        &self,
        at: OffsetDateTime,
        person_id: &str,
        card_id: Option<&str>,
        kind: &str,
        detail: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO events (at, person_id, card_id, kind, detail) VALUES ($1, $2, $3, $4, $5)")
            .bind(ts(at))
            .bind(person_id)
            .bind(card_id)
            .bind(kind)
            .bind(detail)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    async fn next_counter(&self, name: &str) -> Result<i64, StoreError> {
        let v: i64 = sqlx::query_scalar(
            "INSERT INTO counters (name, value) VALUES ($1, 1) \
             ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value",
        )
        .bind(name)
        .fetch_one(self.db.pool())
        .await?;
        Ok(v)
    }
}
