//! Zero-copy CRL parsing (RFC 5280 §5.1–5.3).

use const_oid::db::rfc5280::{
    ID_CE_AUTHORITY_KEY_IDENTIFIER, ID_CE_CERTIFICATE_ISSUER, ID_CE_CRL_NUMBER, ID_CE_CRL_REASONS,
    ID_CE_DELTA_CRL_INDICATOR, ID_CE_INVALIDITY_DATE, ID_CE_ISSUING_DISTRIBUTION_POINT,
};
use const_oid::ObjectIdentifier;
use der::asn1::{BitStringRef, GeneralizedTime};
use der::{Decode, ErrorKind, Reader, SliceReader, Tag, TagMode, TagNumber};
use spki::AlgorithmIdentifierRef;
use time::OffsetDateTime;
use x509_cert::ext::pkix::AuthorityKeyIdentifier;
use x509_cert::name::Name;
use x509_cert::time::Time;

use super::envelope::read_header;
use super::types::{ExtensionRef, ReasonCode, RevokedCertRef, SequenceBody};
use super::{CrlEntry, CrlError};
use crate::{from_x509_time, CrlReason, RsaPublicKey, Serial, SignatureAlgorithm};

/// The default input budget of [`ParsedCrl::from_der`]: 2 GiB, about 48 million entries.
pub const DEFAULT_MAX_CRL_BYTES: usize = 1 << 31;

/// Budget of `crlExtensions`; a CRL with more is rejected.
pub const MAX_CRL_EXTENSIONS: usize = 32;

/// Budget of `crlEntryExtensions` per entry (hanko writes one: reasonCode).
pub const MAX_ENTRY_EXTENSIONS: usize = 4;

/// `der` readers cannot span more than [`der::Length::MAX`] octets.
const MAX_WINDOW: usize = 0x0FFF_FFFF;

fn window(input: &[u8]) -> &[u8] {
    input.get(..MAX_WINDOW).unwrap_or(input)
}

fn unexpected(expected: Tag, actual: Tag) -> der::Error {
    ErrorKind::TagUnexpected { expected: Some(expected), actual }.into()
}

/// Splits `input` into the value of the `SEQUENCE` at its start and what follows.
fn split_sequence<'a>(input: &'a [u8], at: &'static str) -> Result<(&'a [u8], &'a [u8]), CrlError> {
    let h = read_header(input).map_err(|error| CrlError::Malformed { at, error })?;
    if h.tag != Tag::Sequence {
        return Err(CrlError::Malformed { at, error: unexpected(Tag::Sequence, h.tag) });
    }
    let available = input.len() - h.header_len;
    if h.len > available {
        return Err(CrlError::Truncated { at, needed: h.len, available });
    }
    Ok(input[h.header_len..].split_at(h.len))
}

/// A parsed CRL borrowing its DER: the envelope and the CRL extensions are checked, the entries
/// are decoded lazily by [`ParsedCrl::entries`].
///
/// ```text
/// CertificateList  ::=  SEQUENCE  {
///      tbsCertList          TBSCertList,
///      signatureAlgorithm   AlgorithmIdentifier,
///      signatureValue       BIT STRING  }
/// ```
///
/// Checked by [`ParsedCrl::from_der`]: DER framing and trailing data, `version` = v2, a supported
/// RSASSA-PKCS1-v1_5 algorithm identical inside and outside the TBSCertList, the issuer Name,
/// the times, and every `crlExtensions` entry: authorityKeyIdentifier, cRLNumber and
/// deltaCRLIndicator are read; issuingDistributionPoint is refused (a partition would look like
/// a complete list); unknown critical extensions and duplicates are refused (RFC 5280 §5.2).
///
/// **Not** checked: the signature ([`ParsedCrl::verify_signature`]) and freshness (the caller
/// has the clock). See shared/spec/20-pki.md §3.
#[derive(Debug, Clone)]
pub struct ParsedCrl<'a> {
    tbs: &'a [u8],
    signature_algorithm: SignatureAlgorithm,
    signature: &'a [u8],
    issuer: Name,
    issuer_der: &'a [u8],
    this_update: Time,
    next_update: Option<Time>,
    crl_number: Option<u64>,
    delta_base: Option<u64>,
    authority_key_id: Option<Vec<u8>>,
    revoked: &'a [u8],
}

impl<'a> ParsedCrl<'a> {
    /// Parses a DER CRL of at most [`DEFAULT_MAX_CRL_BYTES`].
    pub fn from_der(der: &'a [u8]) -> Result<ParsedCrl<'a>, CrlError> {
        Self::from_der_with_budget(der, DEFAULT_MAX_CRL_BYTES)
    }

    /// Parses a DER CRL of at most `max_bytes` (and at most 4 GiB).
    pub fn from_der_with_budget(der: &'a [u8], max_bytes: usize) -> Result<ParsedCrl<'a>, CrlError> {
        if der.len() > max_bytes {
            return Err(CrlError::TooLarge { len: der.len(), max: max_bytes });
        }
        let (list, trailing) = split_sequence(der, "CertificateList")?;
        if !trailing.is_empty() {
            return Err(CrlError::TrailingData { extra: trailing.len() });
        }
        let (tbs_content, after_tbs) = split_sequence(list, "tbsCertList")?;
        let tbs = &list[..list.len() - after_tbs.len()];

        // signatureAlgorithm, signatureValue
        let at = "CertificateList";
        let malformed = |error| CrlError::Malformed { at, error };
        let mut r = SliceReader::new(after_tbs).map_err(malformed)?;
        let outer_alg_der = r.tlv_bytes().map_err(malformed)?;
        let outer_alg = AlgorithmIdentifierRef::from_der(outer_alg_der)
            .map_err(|error| CrlError::Malformed { at: "signatureAlgorithm", error })?;
        let bits: BitStringRef<'a> = r.decode().map_err(|error| CrlError::Malformed { at: "signatureValue", error })?;
        r.finish(()).map_err(malformed)?;
        let signature = bits.as_bytes().ok_or(CrlError::SignatureBits)?;

        // TBSCertList up to nextUpdate
        let at = "tbsCertList";
        let malformed = |error| CrlError::Malformed { at, error };
        let mut r = SliceReader::new(window(tbs_content)).map_err(malformed)?;
        let version: Option<u8> = r.decode().map_err(|error| CrlError::Malformed { at: "version", error })?;
        if version != Some(1) {
            return Err(CrlError::UnsupportedVersion { found: version });
        }
        let inner_alg_der = r.tlv_bytes().map_err(|error| CrlError::Malformed { at: "signature", error })?;
        let inner_alg = AlgorithmIdentifierRef::from_der(inner_alg_der)
            .map_err(|error| CrlError::Malformed { at: "signature", error })?;
        if inner_alg_der != outer_alg_der {
            return Err(CrlError::AlgorithmMismatch { inner: inner_alg.oid, outer: outer_alg.oid });
        }
        let signature_algorithm = SignatureAlgorithm::from_oid(outer_alg.oid)
            .filter(|_| outer_alg.parameters.is_none_or(|p| p.is_null()))
            .ok_or(CrlError::UnsupportedSignatureAlgorithm { oid: outer_alg.oid })?;
        let issuer_der = r.tlv_bytes().map_err(|error| CrlError::Malformed { at: "issuer", error })?;
        let issuer = Name::from_der(issuer_der).map_err(|error| CrlError::Malformed { at: "issuer", error })?;
        let this_update: Time = r.decode().map_err(|error| CrlError::Malformed { at: "thisUpdate", error })?;
        let next_update: Option<Time> = r.decode().map_err(|error| CrlError::Malformed { at: "nextUpdate", error })?;
        let consumed = usize::try_from(r.position()).map_err(malformed)?;
        let mut rest = &tbs_content[consumed..];

        // revokedCertificates OPTIONAL
        let mut revoked: &'a [u8] = &[];
        if !rest.is_empty() {
            let h = read_header(rest).map_err(|error| CrlError::Malformed { at: "revokedCertificates", error })?;
            if h.tag == Tag::Sequence {
                (revoked, rest) = split_sequence(rest, "revokedCertificates")?;
            }
        }

        // crlExtensions [0] EXPLICIT OPTIONAL
        let mut crl = ParsedCrl {
            tbs,
            signature_algorithm,
            signature,
            issuer,
            issuer_der,
            this_update,
            next_update,
            crl_number: None,
            delta_base: None,
            authority_key_id: None,
            revoked,
        };
        if !rest.is_empty() {
            let at = "crlExtensions";
            let malformed = |error| CrlError::Malformed { at, error };
            let mut r = SliceReader::new(rest).map_err(malformed)?;
            let extensions = r
                .context_specific::<SequenceBody<'a>>(TagNumber::N0, TagMode::Explicit)
                .map_err(malformed)?
                .ok_or_else(|| {
                    malformed(unexpected(
                        Tag::ContextSpecific { constructed: true, number: TagNumber::N0 },
                        tag_of(rest),
                    ))
                })?;
            r.finish(()).map_err(|error| CrlError::Malformed { at: "tbsCertList", error })?;
            crl.read_extensions(extensions.0)?;
        }
        Ok(crl)
    }

    fn read_extensions(&mut self, body: &'a [u8]) -> Result<(), CrlError> {
        for_each_extension(body, None, MAX_CRL_EXTENSIONS, |ext, oid| {
            let bad = |error| CrlError::BadExtension { oid, entry: None, error };
            let value = ext.extn_value.as_bytes();
            match oid {
                ID_CE_AUTHORITY_KEY_IDENTIFIER => {
                    let aki = AuthorityKeyIdentifier::from_der(value).map_err(bad)?;
                    self.authority_key_id = aki.key_identifier.map(|k| k.into_bytes());
                }
                ID_CE_CRL_NUMBER => self.crl_number = Some(u64::from_der(value).map_err(bad)?),
                ID_CE_DELTA_CRL_INDICATOR => self.delta_base = Some(u64::from_der(value).map_err(bad)?),
                ID_CE_ISSUING_DISTRIBUTION_POINT => return Err(CrlError::UnsupportedExtension { oid, entry: None }),
                oid if ext.critical => return Err(CrlError::UnknownCriticalExtension { oid, entry: None }),
                _ => {}
            }
            Ok(())
        })
    }

    /// The DER `TBSCertList`, the signed bytes.
    pub fn tbs_der(&self) -> &'a [u8] {
        self.tbs
    }

    /// The signature algorithm (the same inside and outside the TBSCertList).
    pub fn signature_algorithm(&self) -> SignatureAlgorithm {
        self.signature_algorithm
    }

    /// The signature value.
    pub fn signature(&self) -> &'a [u8] {
        self.signature
    }

    /// The issuer's Name.
    pub fn issuer(&self) -> &Name {
        &self.issuer
    }

    /// The issuer's Name, DER.
    pub fn issuer_der(&self) -> &'a [u8] {
        self.issuer_der
    }

    /// `thisUpdate`, as encoded.
    pub fn this_update_time(&self) -> Time {
        self.this_update
    }

    /// `thisUpdate`.
    pub fn this_update(&self) -> OffsetDateTime {
        from_x509_time(&self.this_update)
    }

    /// `nextUpdate` (RFC 5280 requires it; the ASN.1 makes it optional).
    pub fn next_update(&self) -> Option<OffsetDateTime> {
        self.next_update.as_ref().map(from_x509_time)
    }

    /// The cRLNumber extension (RFC 5280 §5.2.3), if present.
    pub fn crl_number(&self) -> Option<u64> {
        self.crl_number
    }

    /// The deltaCRLIndicator's BaseCRLNumber (RFC 5280 §5.2.4): `Some` for a delta CRL.
    pub fn delta_base(&self) -> Option<u64> {
        self.delta_base
    }

    /// Whether this is a delta CRL.
    pub fn is_delta(&self) -> bool {
        self.delta_base.is_some()
    }

    /// The authorityKeyIdentifier's keyIdentifier (the issuing CA's subjectKeyIdentifier).
    pub fn authority_key_id(&self) -> Option<&[u8]> {
        self.authority_key_id.as_deref()
    }

    /// The DER content of `revokedCertificates` (empty when absent).
    pub fn revoked_der(&self) -> &'a [u8] {
        self.revoked
    }

    /// The revoked certificates, decoded one by one without allocating. The iterator yields
    /// an error for the first malformed entry and then stops.
    pub fn entries(&self) -> CrlEntries<'a> {
        CrlEntries { rest: self.revoked, index: 0, failed: false }
    }

    /// Counts the entries by walking their headers only (cheap; does not validate them).
    pub fn entry_count(&self) -> Result<usize, CrlError> {
        let mut rest = self.revoked;
        let mut count = 0;
        while !rest.is_empty() {
            rest = split_sequence(rest, "revokedCertificates")?.1;
            count += 1;
        }
        Ok(count)
    }

    /// Checks the signature with the issuing CA's key.
    pub fn verify_signature(&self, key: &RsaPublicKey) -> Result<(), CrlError> {
        key.verify(self.signature_algorithm, self.tbs, self.signature).map_err(|_| CrlError::BadSignature)
    }
}

fn tag_of(input: &[u8]) -> Tag {
    input.first().and_then(|b| Tag::try_from(*b).ok()).unwrap_or(Tag::Null)
}

/// Calls `f` on each extension of the `Extensions` content `body` (with its OID, validated),
/// after rejecting an empty or over-budget list and duplicates (RFC 5280 §4.2: at most one
/// instance of an extension).
///
/// Duplicates are found by re-reading the earlier extensions: free for the usual single one,
/// bounded by the budget otherwise, and no allocation.
fn for_each_extension<'a>(
    body: &'a [u8],
    entry: Option<usize>,
    max: usize,
    mut f: impl FnMut(&ExtensionRef<'a>, ObjectIdentifier) -> Result<(), CrlError>,
) -> Result<(), CrlError> {
    for_each_raw_extension(body, entry, max, |ext| f(ext, ext.extn_id.to_oid().map_err(|e| malformed(entry, e))?))
}

fn malformed(entry: Option<usize>, error: der::Error) -> CrlError {
    match entry {
        Some(index) => CrlError::MalformedEntry { index, error },
        None => CrlError::Malformed { at: "crlExtensions", error },
    }
}

/// [`for_each_extension`] without validating the OIDs: `f` must validate any it does not
/// compare with a known one.
fn for_each_raw_extension<'a>(
    body: &'a [u8],
    entry: Option<usize>,
    max: usize,
    mut f: impl FnMut(&ExtensionRef<'a>) -> Result<(), CrlError>,
) -> Result<(), CrlError> {
    let malformed = |error| malformed(entry, error);
    if body.is_empty() {
        return Err(CrlError::ExtensionCount { count: 0, max, entry });
    }
    let mut r = SliceReader::new(window(body)).map_err(malformed)?;
    let mut count = 0;
    while !r.is_finished() {
        let start = r.position();
        let ext: ExtensionRef<'a> = r.decode().map_err(malformed)?;
        count += 1;
        if count > max {
            return Err(CrlError::ExtensionCount { count, max, entry });
        }
        if count > 1 {
            let earlier = body.get(..usize::try_from(start).map_err(malformed)?).unwrap_or_default();
            let mut e = SliceReader::new(earlier).map_err(malformed)?;
            while !e.is_finished() {
                let prev: ExtensionRef<'a> = e.decode().map_err(malformed)?;
                if prev.extn_id == ext.extn_id {
                    return Err(CrlError::DuplicateExtension { oid: ext.extn_id.to_oid().map_err(malformed)?, entry });
                }
            }
        }
        f(&ext)?;
    }
    Ok(())
}

/// One revoked certificate, borrowed from the CRL.
///
/// ```text
/// SEQUENCE  {
///      userCertificate         CertificateSerialNumber,
///      revocationDate          Time,
///      crlEntryExtensions      Extensions OPTIONAL  }
/// ```
///
/// Entry extensions: reasonCode is read, invalidityDate is checked and ignored,
/// certificateIssuer (indirect CRLs) is refused, unknown critical ones are refused
/// (RFC 5280 §5.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrlEntryRef<'a> {
    index: usize,
    serial: &'a [u8],
    revocation_date: Time,
    reason: Option<CrlReason>,
}

impl<'a> CrlEntryRef<'a> {
    /// Position in the list (0-based).
    pub fn index(&self) -> usize {
        self.index
    }

    /// The serial's magnitude, big-endian, without leading zeros (as [`Serial::as_bytes`]).
    pub fn serial_bytes(&self) -> &'a [u8] {
        self.serial
    }

    /// The serial, when it fits in 64 bits.
    pub fn serial_u64(&self) -> Option<u64> {
        (self.serial.len() <= 8).then(|| self.serial.iter().fold(0u64, |a, b| (a << 8) | u64::from(*b)))
    }

    /// The serial (allocates).
    pub fn serial(&self) -> Serial {
        Serial::from_bytes(self.serial)
    }

    /// `revocationDate`, as encoded.
    pub fn revocation_date(&self) -> Time {
        self.revocation_date
    }

    /// `revocationDate`.
    pub fn revoked_at(&self) -> OffsetDateTime {
        from_x509_time(&self.revocation_date)
    }

    /// The reasonCode extension, `None` when absent.
    pub fn reason_code(&self) -> Option<CrlReason> {
        self.reason
    }

    /// The reason; [`CrlReason::UNSPECIFIED`] when the reasonCode is absent (RFC 5280 §5.3.1).
    pub fn reason(&self) -> CrlReason {
        self.reason.unwrap_or(CrlReason::UNSPECIFIED)
    }

    /// As an owned [`CrlEntry`] (allocates).
    pub fn to_entry(&self) -> CrlEntry {
        CrlEntry { serial: self.serial(), revoked_at: self.revoked_at(), reason: self.reason() }
    }
}

/// Iterator over the entries of a [`ParsedCrl`]; see [`ParsedCrl::entries`].
#[derive(Debug, Clone)]
pub struct CrlEntries<'a> {
    rest: &'a [u8],
    index: usize,
    failed: bool,
}

impl<'a> Iterator for CrlEntries<'a> {
    type Item = Result<CrlEntryRef<'a>, CrlError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() || self.failed {
            return None;
        }
        match decode_entry(self.rest, self.index) {
            Ok((entry, used)) => {
                self.rest = self.rest.get(used..).unwrap_or_default();
                self.index += 1;
                Some(Ok(entry))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

impl core::iter::FusedIterator for CrlEntries<'_> {}

/// Decodes the entry at the start of `input`; returns it and its encoded length.
fn decode_entry(input: &[u8], index: usize) -> Result<(CrlEntryRef<'_>, usize), CrlError> {
    let malformed = |error| CrlError::MalformedEntry { index, error };
    let mut r = SliceReader::new(window(input)).map_err(malformed)?;
    let raw: RevokedCertRef<'_> = r.decode().map_err(malformed)?;
    let used = usize::try_from(r.position()).map_err(malformed)?;

    // CertificateSerialNumber ::= INTEGER — positive (RFC 5280 §4.1.2.2). The INTEGER is
    // canonical (der checked it), so at most one leading zero octet precedes the magnitude.
    let int = raw.user_certificate.as_bytes();
    if int.first().is_some_and(|b| b & 0x80 != 0) {
        return Err(CrlError::NegativeSerial { index });
    }
    let serial = match int {
        [0, rest @ ..] => rest,
        all => all,
    };

    let mut reason = None;
    if let Some(extensions) = raw.crl_entry_extensions {
        // The hot path: compare OIDs as bytes; validate only the others.
        for_each_raw_extension(extensions.0, Some(index), MAX_ENTRY_EXTENSIONS, |ext| {
            let entry = Some(index);
            let bad = |oid: &ObjectIdentifier, error| CrlError::BadExtension { oid: *oid, entry, error };
            let value = ext.extn_value.as_bytes();
            if ext.extn_id.is(&ID_CE_CRL_REASONS) {
                reason = Some(CrlReason(ReasonCode::from_der(value).map_err(|e| bad(&ID_CE_CRL_REASONS, e))?.0));
                return Ok(());
            }
            let oid = ext.extn_id.to_oid().map_err(|error| CrlError::MalformedEntry { index, error })?;
            match oid {
                ID_CE_INVALIDITY_DATE => {
                    GeneralizedTime::from_der(value).map_err(|e| bad(&oid, e))?;
                }
                ID_CE_CERTIFICATE_ISSUER => return Err(CrlError::UnsupportedExtension { oid, entry }),
                oid if ext.critical => return Err(CrlError::UnknownCriticalExtension { oid, entry }),
                _ => {}
            }
            Ok(())
        })?;
    }
    Ok((CrlEntryRef { index, serial, revocation_date: raw.revocation_date, reason }, used))
}

#[cfg(test)]
#[test]
fn window_is_der_limit() {
    assert_eq!(der::Length::try_from(MAX_WINDOW), Ok(der::Length::MAX));
}
