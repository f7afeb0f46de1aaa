//! An O(1), compact revocation index for national-size CRLs (shared/spec/20-pki.md §3:
//! 10–30 million entries, "an index that answers in O(1) at that size").

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::BuildHasher;

use time::OffsetDateTime;

use super::{CrlEntryRef, CrlError, ParsedCrl};
use crate::{CrlReason, Revocation, RevocationStatus, Serial};

/// Table load factor, as a fraction: at most 3 of 4 slots used.
const LOAD_NUM: usize = 3;
const LOAD_DEN: usize = 4;
const MIN_SLOTS: usize = 8;
/// Marks an empty slot; serial 0 (and every other serial the table cannot hold) lives in the
/// fallback map.
const EMPTY: u64 = 0;

/// Which CRL entries an index answers for, and how: "is serial S revoked — when, why".
///
/// The common case — a serial of at most 8 octets (every sandbox serial, see
/// [`Serial::random`]) revoked between 1970 and 2106 — sits in an open-addressing hash table
/// (linear probing, load ≤ 3/4) in struct-of-arrays form: the `u64` serial, then
/// the revocation time (`u32` Unix seconds) and the reason octet together. That is 13 bytes per
/// slot, about 17.3 bytes per entry: a 20-million-entry CRL indexes in ~350 MB, and a lookup
/// touches one or two cache lines. Anything else (longer serials, serial 0, later times) goes
/// to a small `HashMap`.
///
/// The table's hash is keyed with a per-index random seed, so a CRL crafted to collide cannot
/// slow it down.
///
/// **The index does not check signatures.** Build it only from a CRL whose
/// [`ParsedCrl::verify_signature`] passed with the issuing CA's key, and judge freshness
/// ([`CrlIndex::next_update`]) against your clock.
pub struct CrlIndex {
    keys: Box<[u64]>,
    /// Revocation time (`u32` little-endian Unix seconds) and reason code, per slot.
    values: Box<[[u8; 5]]>,
    /// Entries in the table.
    len: usize,
    seed: u64,
    fallback: HashMap<Serial, Revocation>,
    issuer_der: Vec<u8>,
    authority_key_id: Option<Vec<u8>>,
    complete_crl_number: u64,
    crl_number: u64,
    this_update: OffsetDateTime,
    next_update: Option<OffsetDateTime>,
}

impl core::fmt::Debug for CrlIndex {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CrlIndex")
            .field("crl_number", &self.crl_number)
            .field("complete_crl_number", &self.complete_crl_number)
            .field("len", &self.len())
            .field("this_update", &self.this_update)
            .field("next_update", &self.next_update)
            .finish_non_exhaustive()
    }
}

/// fmix64 of MurmurHash3: every input bit flips each output bit with probability ½.
fn mix(key: u64, seed: u64) -> u64 {
    let mut h = key ^ seed;
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

fn slots_for(entries: usize) -> usize {
    (entries + entries / LOAD_NUM + 1).max(MIN_SLOTS)
}

/// Where an entry goes: the table (serial, seconds) or the fallback map.
enum Place {
    Table(u64, u32),
    Fallback,
}

fn place(serial: Option<u64>, revoked_at_secs: u64) -> Place {
    match (serial, u32::try_from(revoked_at_secs)) {
        (Some(key), Ok(secs)) if key != EMPTY => Place::Table(key, secs),
        _ => Place::Fallback,
    }
}

/// Entries inserted together; see [`CrlIndex::from_crl`].
const BATCH: usize = 64;

/// A decoded entry waiting for its slot's cache line.
#[derive(Clone, Copy, Default)]
struct Pending {
    key: u64,
    secs: u32,
    reason: u8,
    home: usize,
}

/// One change a delta CRL brings: a serial and its new state (`None`: removeFromCRL).
struct Change {
    serial: Serial,
    key: Option<u64>,
    revocation: Option<Revocation>,
    secs: u64,
}

impl CrlIndex {
    /// Indexes a **complete** CRL.
    ///
    /// Does not verify the signature: call [`ParsedCrl::verify_signature`] first. Fails on a
    /// malformed entry, a serial listed twice, removeFromCRL (delta-only), a delta CRL, or a CRL
    /// without cRLNumber.
    pub fn from_crl(crl: &ParsedCrl<'_>) -> Result<CrlIndex, CrlError> {
        if let (Some(base), number) = (crl.delta_base(), crl.crl_number()) {
            return Err(CrlError::UnexpectedDelta { crl_number: number.unwrap_or(0), base });
        }
        let crl_number = crl.crl_number().ok_or(CrlError::MissingCrlNumber)?;
        // On a broken list, report what the entry iterator reports.
        let count = match crl.entry_count() {
            Ok(count) => count,
            Err(e) => return Err(crl.entries().find_map(Result::err).unwrap_or(e)),
        };
        let slots = slots_for(count);
        let mut index = CrlIndex {
            keys: vec![EMPTY; slots].into_boxed_slice(),
            values: vec![[0; 5]; slots].into_boxed_slice(),
            len: 0,
            seed: RandomState::new().hash_one(0x68_616e_6b6f_u64),
            fallback: HashMap::new(),
            issuer_der: crl.issuer_der().to_vec(),
            authority_key_id: crl.authority_key_id().map(<[u8]>::to_vec),
            complete_crl_number: crl_number,
            crl_number,
            this_update: crl.this_update(),
            next_update: crl.next_update(),
        };
        // Inserting is one cache miss per entry at national size. Entries are therefore
        // inserted in batches (see `insert_batch`).
        let mut batch = [Pending::default(); BATCH];
        let mut pending = 0;
        for entry in crl.entries() {
            let entry = entry?;
            let reason = entry.reason();
            if reason == CrlReason::REMOVE_FROM_CRL {
                return Err(CrlError::RemoveFromCrlInCompleteCrl { serial: entry.serial() });
            }
            match place(entry.serial_u64(), entry.revocation_date().to_unix_duration().as_secs()) {
                Place::Table(key, secs) => {
                    if let Some(p) = batch.get_mut(pending) {
                        *p = Pending { key, secs, reason: reason.0, home: index.home(key) };
                        pending += 1;
                    }
                    if pending == BATCH {
                        index.insert_batch(&batch)?;
                        pending = 0;
                    }
                }
                Place::Fallback => index.insert_fallback(&entry, reason)?,
            }
        }
        index.insert_batch(batch.get(..pending).unwrap_or_default())?;
        Ok(index)
    }

    /// Inserts decoded entries: first a tight loop of independent loads of their home slots,
    /// so the cache misses overlap instead of following each other, then the inserts.
    fn insert_batch(&mut self, batch: &[Pending]) -> Result<(), CrlError> {
        let mut touched = 0u64;
        for p in batch {
            touched ^= self.keys.get(p.home).copied().unwrap_or_default();
            touched ^= u64::from(self.values.get(p.home).map_or(0, |v| v[0]));
        }
        core::hint::black_box(touched);
        for p in batch {
            let slot = match self.find_from(p.home, p.key) {
                Ok(_) => return Err(CrlError::DuplicateSerial { serial: Serial::from_u64(p.key) }),
                Err(slot) => slot,
            };
            if !self.fallback.is_empty() && self.fallback.contains_key(&Serial::from_u64(p.key)) {
                return Err(CrlError::DuplicateSerial { serial: Serial::from_u64(p.key) });
            }
            self.fill(slot, p.key, p.secs, CrlReason(p.reason));
        }
        Ok(())
    }

    fn insert_fallback(&mut self, entry: &CrlEntryRef<'_>, reason: CrlReason) -> Result<(), CrlError> {
        let serial = entry.serial();
        let in_table = serial.to_u64().is_some_and(|k| k != EMPTY && self.find(k).is_ok());
        if in_table || self.fallback.contains_key(&serial) {
            return Err(CrlError::DuplicateSerial { serial });
        }
        self.fallback.insert(serial, Revocation { revoked_at: entry.revoked_at(), reason });
        Ok(())
    }

    fn home(&self, key: u64) -> usize {
        // Lemire's multiply-shift range reduction: any table size, no modulo.
        ((u128::from(mix(key, self.seed)) * self.keys.len() as u128) >> 64) as usize
    }

    /// `Ok(slot)` holding `key`, or `Err(empty slot)` where it would go.
    fn find(&self, key: u64) -> Result<usize, usize> {
        self.find_from(self.home(key), key)
    }

    fn find_from(&self, home: usize, key: u64) -> Result<usize, usize> {
        let slots = self.keys.len();
        let mut i = home;
        loop {
            match self.keys.get(i) {
                Some(&k) if k == key => return Ok(i),
                Some(&EMPTY) => return Err(i),
                Some(_) => i += 1,
                None => i = 0,
            }
            if i == slots {
                i = 0;
            }
        }
    }

    fn fill(&mut self, slot: usize, key: u64, secs: u32, reason: CrlReason) {
        if let (Some(k), Some(v)) = (self.keys.get_mut(slot), self.values.get_mut(slot)) {
            if *k == EMPTY {
                self.len += 1;
            }
            *k = key;
            let t = secs.to_le_bytes();
            *v = [t[0], t[1], t[2], t[3], reason.0];
        }
    }

    /// Removes the entry in `hole` by backward shifting (no tombstones).
    fn remove_slot(&mut self, mut hole: usize) {
        let slots = self.keys.len();
        let mut j = hole;
        loop {
            j = if j + 1 == slots { 0 } else { j + 1 };
            let key = self.keys.get(j).copied().unwrap_or(EMPTY);
            if key == EMPTY {
                break;
            }
            let home = self.home(key);
            // The entry at j may move into the hole iff the hole lies cyclically in [home, j).
            if (j + slots - hole) % slots <= (j + slots - home) % slots {
                self.keys.swap(hole, j);
                self.values.swap(hole, j);
                hole = j;
            }
        }
        if let Some(k) = self.keys.get_mut(hole) {
            *k = EMPTY;
            self.len -= 1;
        }
    }

    fn reserve(&mut self, additional: usize) {
        let needed = self.len + additional;
        if needed * LOAD_DEN <= self.keys.len() * LOAD_NUM {
            return;
        }
        let slots = slots_for(needed);
        let keys = core::mem::replace(&mut self.keys, vec![EMPTY; slots].into_boxed_slice());
        let values = core::mem::replace(&mut self.values, vec![[0; 5]; slots].into_boxed_slice());
        self.len = 0;
        for (key, value) in keys.iter().zip(values.iter()) {
            if *key != EMPTY {
                if let Err(slot) = self.find(*key) {
                    if let (Some(k), Some(v)) = (self.keys.get_mut(slot), self.values.get_mut(slot)) {
                        *k = *key;
                        *v = *value;
                        self.len += 1;
                    }
                }
            }
        }
    }

    /// Applies a delta CRL (RFC 5280 §5.2.4): its entries replace or add revocations, and
    /// removeFromCRL entries delete them. The index then carries the delta's number and times.
    ///
    /// The delta must come from the same issuer, name a BaseCRLNumber not newer than the complete
    /// CRL this index was built from, and be newer than the last CRL applied. It is checked
    /// entirely before anything changes: on error the index is untouched. Like
    /// [`CrlIndex::from_crl`], this does not verify the delta's signature.
    pub fn apply_delta(&mut self, delta: &ParsedCrl<'_>) -> Result<(), CrlError> {
        let base = delta.delta_base().ok_or(CrlError::NotADelta)?;
        let number = delta.crl_number().ok_or(CrlError::MissingCrlNumber)?;
        let same_key = match (delta.authority_key_id(), self.authority_key_id.as_deref()) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        };
        if delta.issuer_der() != self.issuer_der.as_slice() || !same_key {
            return Err(CrlError::IssuerMismatch);
        }
        if base > self.complete_crl_number {
            return Err(CrlError::DeltaBaseMismatch { base, complete: self.complete_crl_number });
        }
        if number <= self.crl_number {
            return Err(CrlError::StaleDelta { delta: number, current: self.crl_number });
        }

        let mut changes = Vec::new();
        for entry in delta.entries() {
            let entry = entry?;
            let reason = entry.reason();
            changes.push(Change {
                serial: entry.serial(),
                key: entry.serial_u64(),
                revocation: (reason != CrlReason::REMOVE_FROM_CRL)
                    .then(|| Revocation { revoked_at: entry.revoked_at(), reason }),
                secs: entry.revocation_date().to_unix_duration().as_secs(),
            });
        }
        let mut order: Vec<&Serial> = changes.iter().map(|c| &c.serial).collect();
        order.sort_unstable();
        if let Some(pair) = order.windows(2).find(|w| w[0] == w[1]) {
            return Err(CrlError::DuplicateSerial { serial: pair[0].clone() });
        }

        self.reserve(changes.iter().filter(|c| c.revocation.is_some()).count());
        for change in changes {
            self.forget(&change.serial, change.key);
            if let Some(revocation) = change.revocation {
                match place(change.key, change.secs) {
                    Place::Table(key, secs) => {
                        if let Err(slot) = self.find(key) {
                            self.fill(slot, key, secs, revocation.reason);
                        }
                    }
                    Place::Fallback => {
                        self.fallback.insert(change.serial, revocation);
                    }
                }
            }
        }
        self.crl_number = number;
        self.this_update = delta.this_update();
        self.next_update = delta.next_update();
        Ok(())
    }

    fn forget(&mut self, serial: &Serial, key: Option<u64>) {
        if let Some(key) = key.filter(|k| *k != EMPTY) {
            if let Ok(slot) = self.find(key) {
                self.remove_slot(slot);
            }
        }
        if !self.fallback.is_empty() {
            self.fallback.remove(serial);
        }
    }

    /// The revocation of `serial`, or `None` if this CRL does not list it.
    pub fn lookup(&self, serial: &Serial) -> Option<Revocation> {
        if let Some(hit) = serial.to_u64().and_then(|k| self.lookup_table(k)) {
            return Some(hit);
        }
        if self.fallback.is_empty() {
            return None;
        }
        self.fallback.get(serial).copied()
    }

    /// [`CrlIndex::lookup`] for a serial given as an integer.
    pub fn lookup_u64(&self, serial: u64) -> Option<Revocation> {
        match self.lookup_table(serial) {
            Some(hit) => Some(hit),
            None if self.fallback.is_empty() => None,
            None => self.fallback.get(&Serial::from_u64(serial)).copied(),
        }
    }

    fn lookup_table(&self, key: u64) -> Option<Revocation> {
        if key == EMPTY {
            return None;
        }
        let slot = self.find(key).ok()?;
        let [a, b, c, d, reason] = *self.values.get(slot)?;
        let secs = i64::from(u32::from_le_bytes([a, b, c, d]));
        Some(Revocation {
            revoked_at: OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH),
            reason: CrlReason(reason),
        })
    }

    /// [`RevocationStatus::Revoked`] or [`RevocationStatus::Good`] — as of this CRL.
    pub fn status(&self, serial: &Serial) -> RevocationStatus {
        self.lookup(serial).map_or(RevocationStatus::Good, RevocationStatus::Revoked)
    }

    /// How many serials are revoked.
    pub fn len(&self) -> usize {
        self.len + self.fallback.len()
    }

    /// Whether no serial is revoked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Heap and inline bytes the index holds (the table at its full size, the fallback map at
    /// its capacity).
    pub fn memory_bytes(&self) -> usize {
        let table = self.keys.len() * core::mem::size_of::<u64>() + self.values.len() * core::mem::size_of::<[u8; 5]>();
        // hashbrown: one control byte per bucket, buckets ≈ capacity × 8/7.
        let buckets = self.fallback.capacity() * 8 / 7;
        let fallback = buckets * (core::mem::size_of::<(Serial, Revocation)>() + 1)
            + self.fallback.keys().map(|s| s.as_bytes().len()).sum::<usize>();
        core::mem::size_of::<Self>()
            + table
            + fallback
            + self.issuer_der.capacity()
            + self.authority_key_id.as_ref().map_or(0, Vec::capacity)
    }

    /// The cRLNumber of the last CRL applied (the complete CRL, or the latest delta).
    pub fn crl_number(&self) -> u64 {
        self.crl_number
    }

    /// The cRLNumber of the complete CRL the index was built from.
    pub fn complete_crl_number(&self) -> u64 {
        self.complete_crl_number
    }

    /// thisUpdate of the last CRL applied.
    pub fn this_update(&self) -> OffsetDateTime {
        self.this_update
    }

    /// nextUpdate of the last CRL applied: after it, the index is stale.
    pub fn next_update(&self) -> Option<OffsetDateTime> {
        self.next_update
    }

    /// The issuer's Name, DER.
    pub fn issuer_der(&self) -> &[u8] {
        &self.issuer_der
    }
}
