//! Building and signing CRLs (RFC 5280 §5, shared/spec/20-pki.md §3).

use const_oid::db::rfc5280::{ID_CE_AUTHORITY_KEY_IDENTIFIER, ID_CE_CRL_NUMBER, ID_CE_DELTA_CRL_INDICATOR};
use der::asn1::{Any, BitStringRef, ContextSpecificRef, Null, OctetString, Uint, UintRef};
use der::{Decode, Encode, Tag, TagMode, TagNumber};
use spki::AlgorithmIdentifierOwned;
use time::OffsetDateTime;
use x509_cert::ext::pkix::crl::{BaseCrlNumber, CrlNumber};
use x509_cert::ext::pkix::AuthorityKeyIdentifier;
use x509_cert::ext::Extension;
use x509_cert::Version;

use super::envelope::{header_len, write_header};
use super::types::{ReasonCode, ReasonExtensions, RevokedCertOut, RsaPublicKeyRef};
use super::{CrlEntry, CrlError};
use crate::{oid, x509_time, CaGeneration, CrlReason, Serial, SignatureAlgorithm, Signer};

/// The validity window of a daily CRL (20-pki.md §3: "full list, regenerated daily"):
/// `thisUpdate` = `now` to the whole second, `nextUpdate` = 24 hours later.
pub fn daily_window(now: OffsetDateTime) -> (OffsetDateTime, OffsetDateTime) {
    let this_update = now.replace_nanosecond(0).unwrap_or(now);
    (this_update, this_update + time::Duration::hours(24))
}

/// One entry as the builder keeps it: 24 bytes, no heap, whatever the serial length.
#[derive(Clone, Copy)]
struct Packed {
    /// The serial when it fits in 64 bits; otherwise an index into `long_serials`.
    key: u64,
    long: bool,
    reason: CrlReason,
    revoked_at: i64,
}

/// A consuming builder of complete and delta CRLs, signed sha256WithRSAEncryption by a CA.
///
/// What it writes (RFC 5280 §5.1, §5.2):
///
/// ```text
/// TBSCertList  ::=  SEQUENCE  {
///      version                 v2,
///      signature               sha256WithRSAEncryption (NULL parameters),
///      issuer                  the CA's Name,
///      thisUpdate              Time,          -- UTCTime before 2050
///      nextUpdate              Time,
///      revokedCertificates     SEQUENCE OF { serial, revocationDate, { reasonCode } }
///                                              -- absent when there is no entry
///      crlExtensions      [0]  EXPLICIT {
///           authorityKeyIdentifier { keyIdentifier = the CA's subjectKeyIdentifier },
///           cRLNumber,
///           deltaCRLIndicator (critical)       -- delta CRLs only
///      } }
/// ```
///
/// Entries keep the order given. Serials must be unique: [`crate::crl::CrlIndex`] rejects a CRL
/// that lists one twice. The builder holds 24 bytes per entry, so 20 million entries cost about
/// 480 MB plus the ~850 MB CRL itself.
pub struct CrlBuilder {
    crl_number: u64,
    this_update: OffsetDateTime,
    next_update: OffsetDateTime,
    delta_base: Option<u64>,
    entries: Vec<Packed>,
    long_serials: Vec<Serial>,
}

impl core::fmt::Debug for CrlBuilder {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CrlBuilder")
            .field("crl_number", &self.crl_number)
            .field("this_update", &self.this_update)
            .field("next_update", &self.next_update)
            .field("delta_base", &self.delta_base)
            .field("entries", &self.entries.len())
            .finish()
    }
}

impl CrlBuilder {
    /// A CRL numbered `crl_number` (the cRLNumber, increasing with each CRL the CA issues),
    /// valid from `this_update` to `next_update` (see [`daily_window`]).
    ///
    /// [`CrlBuilder::sign`] rejects `next_update <= this_update`.
    pub fn new(crl_number: u64, this_update: OffsetDateTime, next_update: OffsetDateTime) -> CrlBuilder {
        CrlBuilder {
            crl_number,
            this_update,
            next_update,
            delta_base: None,
            entries: Vec::new(),
            long_serials: Vec::new(),
        }
    }

    /// Adds entries, after any already added.
    pub fn with_entries(mut self, entries: impl IntoIterator<Item = CrlEntry>) -> CrlBuilder {
        let entries = entries.into_iter();
        self.entries.reserve(entries.size_hint().0);
        for e in entries {
            let (key, long) = match e.serial.to_u64() {
                Some(v) => (v, false),
                None => {
                    self.long_serials.push(e.serial);
                    ((self.long_serials.len() - 1) as u64, true)
                }
            };
            self.entries.push(Packed { key, long, reason: e.reason, revoked_at: e.revoked_at.unix_timestamp() });
        }
        self
    }

    /// Makes this a delta CRL on the complete CRL numbered `base_crl_number`: adds the critical
    /// deltaCRLIndicator (RFC 5280 §5.2.4) and allows removeFromCRL entries.
    pub fn with_delta_base(mut self, base_crl_number: u64) -> CrlBuilder {
        self.delta_base = Some(base_crl_number);
        self
    }

    /// How many entries the CRL will list.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the CRL will list no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Encodes the CRL, signs it with `ca`'s key and returns the DER.
    ///
    /// Fails on builder misuse ([`CrlError::InvalidWindow`], [`CrlError::InvalidReason`],
    /// [`CrlError::InvalidDeltaBase`]), a CRL above 4 GiB, or a key failure.
    pub fn sign<S: Signer>(self, ca: &CaGeneration<S>) -> Result<Vec<u8>, CrlError> {
        if self.next_update <= self.this_update {
            return Err(CrlError::InvalidWindow { this_update: self.this_update, next_update: self.next_update });
        }
        if let Some(base) = self.delta_base {
            if base >= self.crl_number {
                return Err(CrlError::InvalidDeltaBase { base, crl_number: self.crl_number });
            }
        }
        let allowed =
            |r: CrlReason| r.0 <= 10 && r.0 != 7 && (r != CrlReason::REMOVE_FROM_CRL || self.delta_base.is_some());
        if let Some(bad) = self.entries.iter().find(|e| !allowed(e.reason)) {
            return Err(CrlError::InvalidReason { reason: bad.reason });
        }

        let enc = CrlError::Encode;
        let algorithm = AlgorithmIdentifierOwned { oid: oid::SHA256_WITH_RSA, parameters: Some(Any::from(Null)) };
        let algorithm_der = algorithm.to_der().map_err(enc)?;

        // Everything of the TBSCertList before revokedCertificates …
        let mut head = Vec::with_capacity(512);
        Version::V2.encode(&mut head).map_err(enc)?;
        head.extend_from_slice(&algorithm_der);
        ca.name().encode(&mut head).map_err(enc)?;
        x509_time(self.this_update).map_err(enc)?.encode(&mut head).map_err(enc)?;
        x509_time(self.next_update).map_err(enc)?.encode(&mut head).map_err(enc)?;
        // … and after it.
        let extensions = self.extensions(ca.key_id()).map_err(enc)?;
        let mut tail = Vec::with_capacity(128);
        ContextSpecificRef { tag_number: TagNumber::N0, tag_mode: TagMode::Explicit, value: &extensions }
            .encode(&mut tail)
            .map_err(enc)?;

        // The entries go straight into the output, after a gap wide enough for the three
        // headers and `head`; the gap's unused start is dropped at the end (one in-place move,
        // no second copy of the list).
        let predicted = signature_len(ca);
        let gap = 3 * MAX_HEADER + head.len();
        let room =
            self.entries.len().saturating_mul(ENTRY_LEN_HINT) + tail.len() + algorithm_der.len() + predicted + 16;
        let mut out = Vec::with_capacity(gap + room);
        out.resize(gap, 0);
        for e in &self.entries {
            let short;
            let magnitude: &[u8] = if e.long {
                self.long_serials.get(e.key as usize).map(Serial::as_bytes).unwrap_or_default()
            } else {
                short = e.key.to_be_bytes();
                &short
            };
            let time =
                OffsetDateTime::from_unix_timestamp(e.revoked_at).map_err(|_| enc(der::ErrorKind::DateTime.into()))?;
            RevokedCertOut {
                user_certificate: UintRef::new(magnitude).map_err(enc)?,
                revocation_date: x509_time(time).map_err(enc)?,
                crl_entry_extensions: (e.reason != CrlReason::UNSPECIFIED)
                    .then_some(ReasonExtensions(ReasonCode(e.reason.0))),
            }
            .encode(&mut out)
            .map_err(enc)?;
        }
        let body_len = out.len() - gap;
        // RFC 5280 §5.1.2.6: no entry, no revokedCertificates.
        let revoked_len = if body_len == 0 { 0 } else { header_len(body_len).map_err(enc)? + body_len };
        let tbs_len = head.len() + revoked_len + tail.len();
        let tbs_total = header_len(tbs_len).map_err(enc)? + tbs_len;
        let outer_len = |sig_len: usize| -> Result<usize, CrlError> {
            let bits_len = header_len(sig_len + 1).map_err(enc)? + 1 + sig_len;
            Ok(tbs_total + algorithm_der.len() + bits_len)
        };

        let mut prefix = Vec::with_capacity(gap);
        write_header(Tag::Sequence, outer_len(predicted)?, &mut prefix).map_err(enc)?;
        let outer_header_len = prefix.len();
        write_header(Tag::Sequence, tbs_len, &mut prefix).map_err(enc)?;
        prefix.extend_from_slice(&head);
        if body_len > 0 {
            write_header(Tag::Sequence, body_len, &mut prefix).map_err(enc)?;
        }
        let start = gap - prefix.len();
        out[start..gap].copy_from_slice(&prefix);
        out.drain(..start);
        out.extend_from_slice(&tail);

        let signature = ca.signer().sign(SignatureAlgorithm::RsaPkcs1Sha256, &out[outer_header_len..])?;
        if signature.len() != predicted {
            // A signer whose output length the key did not tell: rewrite the outer header.
            let mut header = Vec::with_capacity(MAX_HEADER);
            write_header(Tag::Sequence, outer_len(signature.len())?, &mut header).map_err(enc)?;
            out.splice(..outer_header_len, header);
        }
        out.extend_from_slice(&algorithm_der);
        BitStringRef::new(0, &signature).map_err(enc)?.encode(&mut out).map_err(enc)?;
        Ok(out)
    }

    /// authorityKeyIdentifier, cRLNumber and, for a delta, deltaCRLIndicator (RFC 5280 §5.2).
    fn extensions(&self, key_id: &[u8]) -> der::Result<Vec<Extension>> {
        let aki = AuthorityKeyIdentifier {
            key_identifier: Some(OctetString::new(key_id)?),
            authority_cert_issuer: None,
            authority_cert_serial_number: None,
        };
        let mut exts = vec![
            extension(ID_CE_AUTHORITY_KEY_IDENTIFIER, false, &aki)?,
            extension(ID_CE_CRL_NUMBER, false, &CrlNumber(Uint::new(&self.crl_number.to_be_bytes())?))?,
        ];
        if let Some(base) = self.delta_base {
            exts.push(extension(ID_CE_DELTA_CRL_INDICATOR, true, &BaseCrlNumber(Uint::new(&base.to_be_bytes())?))?);
        }
        Ok(exts)
    }
}

/// Identifier octet + the longest length [`write_header`] writes.
const MAX_HEADER: usize = 6;
/// Typical encoded size of one entry with a reasonCode and an 8-octet serial.
const ENTRY_LEN_HINT: usize = 45;

fn extension<T: Encode>(id: const_oid::ObjectIdentifier, critical: bool, value: &T) -> der::Result<Extension> {
    Ok(Extension { extn_id: id, critical, extn_value: OctetString::new(value.to_der()?)? })
}

/// The RSA modulus length in octets (the PKCS#1 v1.5 signature length), or 0 if unknown.
fn signature_len<S: Signer>(ca: &CaGeneration<S>) -> usize {
    ca.signer()
        .public_key()
        .subject_public_key
        .as_bytes()
        .and_then(|key| RsaPublicKeyRef::from_der(key).ok())
        .and_then(|k| usize::try_from(k.modulus.len()).ok())
        .unwrap_or(0)
}
