//! The host side of the 券面AP and the 住基AP (shared/spec/10-card.md §5, §7): read the card face
//! after 照合番号A or B, check its signature against the CV certificate and the sandbox root,
//! prove the chip, read the age record and the rendered My Number, and read the resident record
//! code after the 住基 PIN.
//!
//! Every read is bounded: a TLV's length comes from its header and is checked against a limit
//! before anything else is read, and the parsers of [`crate::CardFace`] & co. are strict.

use core::fmt;

use hanko_pki::RsaPublicKey;

use crate::card_face::{
    ef, AgeRecord, CardFace, CardFaceInfo, MyNumberImage, MAX_CARD_FACE_LEN, MAX_CARD_FACE_RECORD_LEN,
};
use crate::client::Client;
use crate::client_facts::{AccessCode, CardAppError};
use crate::cv::{CardDataError, CvCertificate, CvKeyId, VerifiedCvCertificate, CV_CERTIFICATE_LEN};
use crate::emulator::Fid;
use crate::input_assist::parse_len;
use crate::juki::{self, ResidentRecordCode, RECORD_CODE_LEN};
use crate::layout::{AID_CARD_FACE, AID_JUKI};
use crate::transport::Transport;

/// A card face whose DF28 verified under a CV certificate that verified with the configured root
/// key; only [`Client::verify_card_face`] makes one. `Debug` shows no holder data.
pub struct VerifiedCardFace {
    face: CardFace,
    chip_key: RsaPublicKey,
    issuer: CvKeyId,
    signer: CvKeyId,
}

impl fmt::Debug for VerifiedCardFace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedCardFace")
            .field("face", &self.face)
            .field("issuer", &self.issuer)
            .field("signer", &self.signer)
            .finish_non_exhaustive()
    }
}

impl VerifiedCardFace {
    /// The verified face.
    pub fn face(&self) -> &CardFace {
        &self.face
    }
    /// The chip challenge key DF24 vouches for.
    pub fn chip_key(&self) -> &RsaPublicKey {
        &self.chip_key
    }
    /// The CV certificate's issuer (root) key ID.
    pub fn issuer_key_id(&self) -> CvKeyId {
        self.issuer
    }
    /// The card-face data-signing key ID that signed DF28.
    pub fn signer_key_id(&self) -> CvKeyId {
        self.signer
    }
}

impl<T: Transport> Client<T> {
    fn open_card_face(&mut self, fid: Fid, value: &[u8]) -> Result<(), CardAppError> {
        if value.is_empty() {
            return Err(CardAppError::EmptyCode);
        }
        Ok(self.verify_in(&AID_CARD_FACE, fid, value, "verify card-face code")?)
    }

    /// Reads `len` bytes of the current EF from `start` in short-Le steps; each answer must be
    /// non-empty and no longer than asked.
    fn read_span(&mut self, start: usize, len: usize) -> Result<Vec<u8>, CardDataError> {
        let mut out = Vec::with_capacity(len);
        while out.len() < len {
            let offset = u16::try_from(start + out.len())
                .ok()
                .filter(|o| *o <= 0x7FFF)
                .ok_or(CardDataError::Malformed("EF offset beyond 32 KB"))?;
            let chunk = self
                .read_binary(offset, (len - out.len()).min(256))
                .map_err(|_| CardDataError::Malformed("EF shorter than its header says"))?;
            if chunk.is_empty() || chunk.len() > len - out.len() {
                return Err(CardDataError::Malformed("EF shorter or longer than expected"));
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }

    /// Selects EF `fid` and reads the one TLV with a two-byte `tag` at its start (its length from
    /// the header, at most `max` bytes in all).
    fn read_tlv_ef(&mut self, fid: Fid, tag: [u8; 2], max: usize) -> Result<Vec<u8>, CardAppError> {
        self.select_ef(fid)?;
        let mut head = self.read_binary(0, 5)?;
        let (len, n) = match head.as_slice() {
            [a, b, rest @ ..] if [*a, *b] == tag => {
                parse_len(rest).ok_or(CardDataError::Malformed("EF does not start with a TLV header"))?
            }
            _ => return Err(CardDataError::Malformed("EF does not start with the expected tag").into()),
        };
        let total = 2 + n + len;
        if total > max {
            return Err(CardDataError::Malformed("EF is larger than the client reads").into());
        }
        head.truncate(total);
        let rest = self.read_span(head.len(), total - head.len())?;
        head.extend_from_slice(&rest);
        Ok(head)
    }

    /// VERIFY `code` in the 券面AP (照合番号A against key EF `0013`, 照合番号B against `0012`), then
    /// read and parse the card face (EF `0002`). A PIN is refused with
    /// [`CardAppError::UnsupportedCode`]. The AP stays selected with `code` verified.
    pub fn read_card_face(&mut self, code: AccessCode<'_>) -> Result<CardFace, CardAppError> {
        let (fid, value) = match code {
            AccessCode::NumberA(v) => (ef::NUMBER_A, v),
            AccessCode::NumberB(v) => (ef::NUMBER_B, v),
            AccessCode::Pin(_) => return Err(CardAppError::UnsupportedCode),
        };
        self.open_card_face(fid, value)?;
        let file = self.read_tlv_ef(ef::FACE, [0xFF, 0x20], MAX_CARD_FACE_LEN)?;
        Ok(CardFace::parse(&file)?)
    }

    /// Selects the 券面AP (clearing any VERIFY), reads its CV certificate (EF `0004`, free) and
    /// checks it with the sandbox root key.
    pub fn read_card_face_certificate(
        &mut self,
        root_public_key: &RsaPublicKey,
    ) -> Result<VerifiedCvCertificate, CardAppError> {
        self.select_application(&AID_CARD_FACE)?;
        self.select_ef(ef::CV_CERTIFICATE)?;
        let cert = CvCertificate::parse(&self.read_span(0, CV_CERTIFICATE_LEN)?)?;
        Ok(cert.verify(root_public_key)?)
    }

    /// Checks a card face read by [`Client::read_card_face`]: the CV certificate of this card's
    /// 券面AP (EF `0004`) with the root key, then DF28 with the certificate's key over
    /// DigestInfo(sha256, SHA-256(DF22‖DF23‖DF24) ‖ SHA-256(DF25‖DF26) ‖ SHA-256(DF27)). Selects
    /// the AP again, which clears the VERIFY of `read_card_face`.
    pub fn verify_card_face(
        &mut self,
        face: &CardFace,
        root_public_key: &RsaPublicKey,
    ) -> Result<VerifiedCardFace, CardAppError> {
        let cert = self.read_card_face_certificate(root_public_key)?;
        face.verify(&cert)?;
        Ok(VerifiedCardFace {
            face: face.clone(),
            chip_key: face.chip_public_key()?,
            issuer: cert.issuer_key_id(),
            signer: cert.subject_key_id(),
        })
    }

    /// Proves that the chip holds the key the verified face names (DF24): it signs a fresh
    /// random challenge with key `001A` (`80 2A 00 00`, SHA-256 DigestInfo, no PIN).
    pub fn authenticate_card_face_chip(&mut self, face: &VerifiedCardFace) -> Result<(), CardAppError> {
        self.select_application(&AID_CARD_FACE)?;
        self.chip_challenge(&face.chip_key, "card-face chip challenge")
    }

    /// VERIFY the birth-date key (era `YYMMDD`, key EF `0011`) in the 券面AP, then read and parse
    /// the age record (EF `0001`). Check it with [`AgeRecord::verify`] and
    /// [`Client::read_card_face_certificate`].
    pub fn read_age_record(&mut self, birth_date_key: &[u8]) -> Result<AgeRecord, CardAppError> {
        self.open_card_face(ef::BIRTH_DATE_KEY, birth_date_key)?;
        let file = self.read_tlv_ef(ef::AGE_RECORD, [0xFF, 0x10], MAX_CARD_FACE_RECORD_LEN)?;
        Ok(AgeRecord::parse(&file)?)
    }

    /// VERIFY 照合番号A (the My Number) in the 券面AP, then read and parse the rendered My Number
    /// (EF `0005`). Check it with [`MyNumberImage::verify`].
    pub fn read_my_number_image(&mut self, number_a: &[u8]) -> Result<MyNumberImage, CardAppError> {
        self.open_card_face(ef::NUMBER_A, number_a)?;
        let file = self.read_tlv_ef(ef::MY_NUMBER_IMAGE, [0xFF, 0x40], MAX_CARD_FACE_RECORD_LEN)?;
        Ok(MyNumberImage::parse(&file)?)
    }

    /// Selects the 券面AP and reads its AP basic info (EF `0003`, free).
    pub fn read_card_face_info(&mut self) -> Result<CardFaceInfo, CardAppError> {
        self.select_application(&AID_CARD_FACE)?;
        let file = self.read_tlv_ef(ef::AP_INFO, [0xFF, 0x30], MAX_CARD_FACE_RECORD_LEN)?;
        Ok(CardFaceInfo::parse(&file)?)
    }

    /// VERIFY the 住基 PIN (EF `001C`) in the 住基AP, then read the resident record code
    /// (EF `0001`, 11 digits).
    pub fn read_juki_record(&mut self, pin: &[u8]) -> Result<ResidentRecordCode, CardAppError> {
        if pin.is_empty() {
            return Err(CardAppError::EmptyCode);
        }
        self.verify_in(&AID_JUKI, juki::ef::PIN, pin, "verify 住基 PIN")?;
        self.select_ef(juki::ef::RECORD_CODE)?;
        let raw = zeroize::Zeroizing::new(self.read_binary(0, RECORD_CODE_LEN)?);
        Ok(ResidentRecordCode::parse(&raw).ok_or(CardDataError::Malformed("resident record code is not 11 digits"))?)
    }
}
