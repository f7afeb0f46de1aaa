//! A card key as a [`hanko_pki::Signer`]: CMS, documents and anything else that signs through
//! the `Signer` trait can sign with a My Number Card (emulated or in a reader). Every signature
//! is a VERIFY with the PIN and an `80 2A` over the DigestInfo; the key never leaves the chip.

use std::sync::Mutex;

use hanko_pki::spki::SubjectPublicKeyInfoOwned;
use hanko_pki::{DigestInfo, JpkiCertificate, SignatureAlgorithm, Signer, SignerError};
use zeroize::Zeroizing;

use crate::{Client, ClientError, Slot, Transport};

/// A card key behind the [`Signer`] trait. `Debug` shows neither PIN nor card state.
pub struct CardSigner<T: Transport> {
    client: Mutex<Client<T>>,
    slot: Slot,
    pin: Zeroizing<Vec<u8>>,
    public_key: SubjectPublicKeyInfoOwned,
    certificate: Vec<u8>,
}

impl<T: Transport> std::fmt::Debug for CardSigner<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardSigner").field("slot", &self.slot).finish_non_exhaustive()
    }
}

impl<T: Transport> CardSigner<T> {
    /// Reads `slot`'s certificate (the signature certificate needs the PIN) and keeps the PIN
    /// for the signatures to come.
    pub fn new(mut client: Client<T>, slot: Slot, pin: &[u8]) -> Result<CardSigner<T>, ClientError> {
        let certificate = match slot {
            Slot::Signature => client.read_signature_certificate(pin)?,
            Slot::Auth => client.read_certificate(slot)?,
        };
        let x509 = JpkiCertificate::from_der(&certificate)
            .and_then(|c| c.to_x509())
            .map_err(|_| ClientError::Malformed("the certificate EF does not hold a certificate"))?;
        Ok(CardSigner {
            client: Mutex::new(client),
            slot,
            pin: Zeroizing::new(pin.to_vec()),
            public_key: x509.tbs_certificate.subject_public_key_info,
            certificate,
        })
    }

    /// The certificate of the key (DER).
    pub fn certificate(&self) -> &[u8] {
        &self.certificate
    }
}

impl<T: Transport> Signer for CardSigner<T> {
    fn public_key(&self) -> &SubjectPublicKeyInfoOwned {
        &self.public_key
    }

    fn sign(&self, algorithm: SignatureAlgorithm, message: &[u8]) -> Result<Vec<u8>, SignerError> {
        self.sign_digest(algorithm, &algorithm.digest().digest(message))
    }

    fn sign_digest(&self, algorithm: SignatureAlgorithm, digest: &[u8]) -> Result<Vec<u8>, SignerError> {
        let info = DigestInfo::new(algorithm.digest(), digest)
            .map_err(|e| SignerError::Failed(e.to_string()))?
            .to_der()
            .map_err(|e| SignerError::Failed(e.to_string()))?;
        let mut client = self.client.lock().map_err(|_| SignerError::Failed("card session poisoned".into()))?;
        client.sign(self.slot, &self.pin, &info).map_err(|e| SignerError::Failed(e.to_string()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::sample;
    use crate::{Card, TransportError};

    struct Direct(Card);
    impl Transport for Direct {
        fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
            Ok(self.0.process(apdu))
        }
    }

    #[test]
    fn cms_signed_by_the_card_verifies_and_a_wrong_pin_is_an_error() {
        let s = sample::issue(crate::Device::Card, Vec::new()).unwrap();
        let signer = CardSigner::new(Client::new(Direct(s.card)), Slot::Signature, sample::PASSWORD).unwrap();
        assert_eq!(signer.certificate(), s.sign_cert.as_slice());
        let doc = b"application";
        let p7s = hanko_pki::cms::sign(
            &signer,
            signer.certificate(),
            doc,
            hanko_pki::cms::Encapsulation::Detached,
            hanko_pki::DigestAlgorithm::Sha256,
            Some(sample::NOW),
            &[],
        )
        .unwrap();
        let mut trust = hanko_pki::verify::TrustStore::new(hanko_pki::PolicySet::sandbox());
        trust.add_anchor(s.sign_ca.certificate_der(), hanko_pki::CaKind::Signature).unwrap();
        hanko_pki::verify::Verifier::new(&trust)
            .verify_cms(&p7s, Some(doc), sample::NOW, hanko_pki::verify::RevocationCheck::Skip)
            .unwrap();
        let bad = CardSigner::new(
            Client::new(Direct(sample::issue(crate::Device::Card, Vec::new()).unwrap().card)),
            Slot::Auth,
            b"9999",
        )
        .unwrap();
        assert!(bad.sign(SignatureAlgorithm::RsaPkcs1Sha256, doc).is_err());
    }
}
