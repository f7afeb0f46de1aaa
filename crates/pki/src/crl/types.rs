//! Lightweight borrowed ASN.1 types of RFC 5280 §5, encoded and decoded by `der`.

use const_oid::db::rfc5280::ID_CE_CRL_REASONS;
use const_oid::ObjectIdentifier;
use der::asn1::{OctetStringRef, UintRef};
use der::{DecodeValue, Encode, EncodeValue, FixedTag, Header, Length, Reader, Sequence, Tag, Writer};
use x509_cert::time::Time;

/// The content octets of an `OBJECT IDENTIFIER`, borrowed: compared as bytes on the hot path,
/// turned into an [`ObjectIdentifier`] (which validates the arcs) when needed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct OidRef<'a>(pub(super) &'a [u8]);

impl OidRef<'_> {
    pub(super) fn is(&self, oid: &ObjectIdentifier) -> bool {
        self.0 == oid.as_bytes()
    }

    pub(super) fn to_oid(self) -> der::Result<ObjectIdentifier> {
        ObjectIdentifier::from_bytes(self.0).map_err(|_| Tag::ObjectIdentifier.value_error())
    }
}

impl<'a> DecodeValue<'a> for OidRef<'a> {
    fn decode_value<R: Reader<'a>>(reader: &mut R, header: Header) -> der::Result<Self> {
        reader.read_slice(header.length).map(OidRef)
    }
}

impl EncodeValue for OidRef<'_> {
    fn value_len(&self) -> der::Result<Length> {
        Length::try_from(self.0.len())
    }
    fn encode_value(&self, writer: &mut impl Writer) -> der::Result<()> {
        writer.write(self.0)
    }
}

impl FixedTag for OidRef<'_> {
    const TAG: Tag = Tag::ObjectIdentifier;
}

/// ```text
/// Extension  ::=  SEQUENCE  {
///      extnID      OBJECT IDENTIFIER,
///      critical    BOOLEAN DEFAULT FALSE,
///      extnValue   OCTET STRING  }
/// ```
/// (RFC 5280 §4.1), borrowing its OID and value.
#[derive(Clone, Copy, Debug, Sequence)]
pub(super) struct ExtensionRef<'a> {
    pub(super) extn_id: OidRef<'a>,
    #[asn1(default = "Default::default")]
    pub(super) critical: bool,
    pub(super) extn_value: OctetStringRef<'a>,
}

/// The content octets of a `SEQUENCE` / `SEQUENCE OF`, borrowed and not yet decoded.
#[derive(Clone, Copy, Debug)]
pub(super) struct SequenceBody<'a>(pub(super) &'a [u8]);

impl<'a> DecodeValue<'a> for SequenceBody<'a> {
    fn decode_value<R: Reader<'a>>(reader: &mut R, header: Header) -> der::Result<Self> {
        reader.read_slice(header.length).map(SequenceBody)
    }
}

impl EncodeValue for SequenceBody<'_> {
    fn value_len(&self) -> der::Result<Length> {
        Length::try_from(self.0.len())
    }
    fn encode_value(&self, writer: &mut impl Writer) -> der::Result<()> {
        writer.write(self.0)
    }
}

impl FixedTag for SequenceBody<'_> {
    const TAG: Tag = Tag::Sequence;
}

/// `CRLReason ::= ENUMERATED { … }` (RFC 5280 §5.3.1), keeping unknown codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct ReasonCode(pub(super) u8);

impl<'a> DecodeValue<'a> for ReasonCode {
    fn decode_value<R: Reader<'a>>(reader: &mut R, header: Header) -> der::Result<Self> {
        u8::decode_value(reader, header).map(ReasonCode)
    }
}

impl EncodeValue for ReasonCode {
    fn value_len(&self) -> der::Result<Length> {
        self.0.value_len()
    }
    fn encode_value(&self, writer: &mut impl Writer) -> der::Result<()> {
        self.0.encode_value(writer)
    }
}

impl FixedTag for ReasonCode {
    const TAG: Tag = Tag::Enumerated;
}

/// The `crlEntryExtensions` of an entry hanko writes: exactly one non-critical reasonCode.
///
/// ```text
/// Extensions  ::=  SEQUENCE SIZE (1..MAX) OF Extension   -- { reasonCode }
/// ```
#[derive(Clone, Copy, Debug)]
pub(super) struct ReasonExtensions(pub(super) ReasonCode);

impl ReasonExtensions {
    fn with_extension<T>(&self, f: impl FnOnce(&ExtensionRef<'_>) -> der::Result<T>) -> der::Result<T> {
        let mut buf = [0u8; 4];
        let value = self.0.encode_to_slice(&mut buf)?;
        f(&ExtensionRef {
            extn_id: OidRef(ID_CE_CRL_REASONS.as_bytes()),
            critical: false,
            extn_value: OctetStringRef::new(value)?,
        })
    }
}

impl EncodeValue for ReasonExtensions {
    fn value_len(&self) -> der::Result<Length> {
        self.with_extension(|e| e.encoded_len())
    }
    fn encode_value(&self, writer: &mut impl Writer) -> der::Result<()> {
        self.with_extension(|e| e.encode(writer))
    }
}

impl FixedTag for ReasonExtensions {
    const TAG: Tag = Tag::Sequence;
}

/// One `revokedCertificates` element as hanko writes it.
///
/// ```text
/// SEQUENCE  {
///      userCertificate         CertificateSerialNumber,
///      revocationDate          Time,
///      crlEntryExtensions      Extensions OPTIONAL  }
/// ```
pub(super) struct RevokedCertOut<'a> {
    pub(super) user_certificate: UintRef<'a>,
    pub(super) revocation_date: Time,
    pub(super) crl_entry_extensions: Option<ReasonExtensions>,
}

impl EncodeValue for RevokedCertOut<'_> {
    fn value_len(&self) -> der::Result<Length> {
        self.user_certificate.encoded_len()?
            + self.revocation_date.encoded_len()?
            + self.crl_entry_extensions.encoded_len()?
    }
    fn encode_value(&self, writer: &mut impl Writer) -> der::Result<()> {
        self.user_certificate.encode(writer)?;
        self.revocation_date.encode(writer)?;
        self.crl_entry_extensions.encode(writer)
    }
}

impl FixedTag for RevokedCertOut<'_> {
    const TAG: Tag = Tag::Sequence;
}

/// One `revokedCertificates` element as read: the serial INTEGER and the extensions borrowed.
#[derive(Clone, Copy, Debug, Sequence)]
pub(super) struct RevokedCertRef<'a> {
    pub(super) user_certificate: der::asn1::IntRef<'a>,
    pub(super) revocation_date: Time,
    pub(super) crl_entry_extensions: Option<SequenceBody<'a>>,
}

/// `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }` (RFC 8017 A.1.1),
/// read only to know the signature length in advance.
#[derive(Clone, Copy, Debug, Sequence)]
pub(super) struct RsaPublicKeyRef<'a> {
    pub(super) modulus: UintRef<'a>,
    pub(super) public_exponent: UintRef<'a>,
}
