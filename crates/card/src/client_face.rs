//! The host side of the 券面AP and the 住基AP (shared/spec/10-card.md §5, §7): read the card face
//! after 照合番号A or B, check its signature against the CV certificate and the sandbox root,
//! prove the chip, read the age record and the rendered My Number, and read the resident record
//! code after the 住基 PIN.
//!
//! Every read is bounded: a TLV's length comes from its header and is checked against a limit
//! before anything else is read, and the parsers of [`crate::CardFace`] & co. are strict.

use core::fmt;

use hanko_pki::{BirthDate, RsaPublicKey, SignatureAlgorithm};

use crate::apdu::{Command, Ins};
use crate::card_face::{
    ef, AgeRecord, CardFace, CardFaceInfo, MyNumberImage, MAX_CARD_FACE_LEN, MAX_CARD_FACE_RECORD_LEN,
};
use crate::client::{Client, ClientError};
use crate::client_facts::{AccessCode, CardAppError};
use crate::cv::{sha256, CardDataError, CvCertificate, CvKeyId, VerifiedCvCertificate, CV_CERTIFICATE_LEN};
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

/// Shortest challenge [`Client::prove_card_face_chip`] sends (a fresh one, so a recorded answer
/// never fits again).
pub const MIN_CHIP_CHALLENGE_LEN: usize = 16;
/// Longest challenge: what one INTERNAL AUTHENTICATE carries under RSA-2048 PKCS#1 v1.5 (the
/// chip answers `67 00` above 245 bytes).
pub const MAX_CHIP_CHALLENGE_LEN: usize = 245;

/// The 券面AP's chip key as the age record stores it (DF12: `90 03 01 00 01 91 82 01 00` ‖ the
/// 2048-bit modulus), checked. Public: it identifies a card, like its certificates. A PIN-less
/// tap registration keeps it so that a later visit can make the chip prove itself with the free
/// `80 2A 00 00` ([`Client::challenge_card_face_chip`]) **before** the birth-date key is sent.
#[derive(Clone, PartialEq, Eq)]
pub struct CardFaceChipKey(Vec<u8>);

impl fmt::Debug for CardFaceChipKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CardFaceChipKey({}…)", hex::encode(&self.fingerprint()[..8]))
    }
}

impl CardFaceChipKey {
    /// Checks a DF12 value (265 bytes, exponent 65537, a 2048-bit modulus).
    pub fn from_value(value: &[u8]) -> Result<CardFaceChipKey, CardDataError> {
        crate::card_face::key_from_value(value)?;
        Ok(CardFaceChipKey(value.to_vec()))
    }
    /// The DF12 value.
    pub fn value(&self) -> &[u8] {
        &self.0
    }
    /// SHA-256 of the DF12 value: stable for one card, different on every other.
    pub fn fingerprint(&self) -> [u8; 32] {
        sha256(&self.0)
    }
    fn public_key(&self) -> Result<RsaPublicKey, CardDataError> {
        crate::card_face::key_from_value(&self.0)
    }
}

/// Proof that a genuine chip answered a verifier's challenge through the 券面AP's internal
/// authentication — the check the official PIN-less tap software (かざし利用ソフト) makes: 「券面事項
/// 確認AP（内部認証のみ）生年月日PINをインプットに内部認証結果を応答するIF … マイナンバーカードの
/// 真正性を確認するために使用」 (seed 000; 10-card.md §4, §7).
///
/// What was checked: the 券面AP's CV certificate (EF `0004`) under the configured CV root; the
/// age record (EF `0001`, opened by the birth-date key) signed under that certificate, so that its
/// DF12 is a chip key the issuer vouches for; and the chip's PKCS#1 v1.5 SHA-256 signature over
/// exactly [`VerifiedChip::challenge`] with that key. Only [`VerifiedChip::verify_answer`] (which
/// [`Client::prove_card_face_chip`] calls) makes one. `Debug` shows no holder data.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifiedChip {
    challenge: Vec<u8>,
    chip_key: CardFaceChipKey,
    birth_date: BirthDate,
    issuer: CvKeyId,
    signer: CvKeyId,
}

impl fmt::Debug for VerifiedChip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedChip")
            .field("chip_key", &self.chip_key)
            .field("issuer", &self.issuer)
            .field("signer", &self.signer)
            .finish_non_exhaustive()
    }
}

impl VerifiedChip {
    /// Checks a chip's answer: the age record under a verified CV certificate of the 券面AP,
    /// then `signature` (PKCS#1 v1.5 SHA-256) over `challenge` with the record's DF12 key.
    pub fn verify_answer(
        age: &AgeRecord,
        certificate: &VerifiedCvCertificate,
        challenge: &[u8],
        signature: &[u8],
    ) -> Result<VerifiedChip, CardDataError> {
        if !(MIN_CHIP_CHALLENGE_LEN..=MAX_CHIP_CHALLENGE_LEN).contains(&challenge.len()) {
            return Err(CardDataError::Malformed("chip challenge is not 16-245 bytes"));
        }
        age.verify(certificate)?;
        let chip_key = CardFaceChipKey::from_value(age.chip_key())?;
        chip_key
            .public_key()?
            .verify(SignatureAlgorithm::RsaPkcs1Sha256, challenge, signature)
            .map_err(|_| CardDataError::BadSignature("card-face internal authentication"))?;
        Ok(VerifiedChip {
            challenge: challenge.to_vec(),
            chip_key,
            birth_date: age.birth_date(),
            issuer: certificate.issuer_key_id(),
            signer: certificate.subject_key_id(),
        })
    }
    /// The challenge the chip signed (the verifier's, so a verifier can check it is its own).
    pub fn challenge(&self) -> &[u8] {
        &self.challenge
    }
    /// SHA-256 of the chip key as the age record stores it (DF12): stable for one card, different
    /// on every other — what a registration remembers to recognise the same chip later.
    pub fn chip_key_fingerprint(&self) -> [u8; 32] {
        self.chip_key.fingerprint()
    }
    /// The chip key itself (DF12), vouched for by the issuer through the age record.
    pub fn chip_key(&self) -> &CardFaceChipKey {
        &self.chip_key
    }
    /// DF11 of the signed age record: the birth date the card holds.
    pub fn birth_date(&self) -> BirthDate {
        self.birth_date
    }
    /// The CV certificate's issuer (root) key ID.
    pub fn issuer_key_id(&self) -> CvKeyId {
        self.issuer
    }
    /// The card-face data-signing key ID that signed the age record.
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

    /// Makes the 券面AP's chip prove that it holds `key` — one seen and verified earlier (a
    /// [`VerifiedChip::chip_key`]) — with the free chip challenge (`80 2A 00 00`, a fresh random
    /// challenge, no code sent). A PIN-less visit runs this first, so that the stored birth-date
    /// key is only ever sent to the registered chip.
    pub fn challenge_card_face_chip(&mut self, key: &CardFaceChipKey) -> Result<(), CardAppError> {
        let key = key.public_key()?;
        self.select_application(&AID_CARD_FACE)?;
        self.chip_challenge(&key, "card-face chip challenge")
    }

    /// VERIFY the birth-date key (era `YYMMDD`, key EF `0011`) in the 券面AP, then read and parse
    /// the age record (EF `0001`). Check it with [`AgeRecord::verify`] and
    /// [`Client::read_card_face_certificate`].
    pub fn read_age_record(&mut self, birth_date_key: &[u8]) -> Result<AgeRecord, CardAppError> {
        self.open_card_face(ef::BIRTH_DATE_KEY, birth_date_key)?;
        let file = self.read_tlv_ef(ef::AGE_RECORD, [0xFF, 0x10], MAX_CARD_FACE_RECORD_LEN)?;
        Ok(AgeRecord::parse(&file)?)
    }

    /// INTERNAL AUTHENTICATE in the selected 券面AP with its chip key (`00 88 00 9A Lc
    /// <challenge> 00`): the chip's PKCS#1 v1.5 SHA-256 signature over `challenge`. The chip
    /// answers only after the birth-date key was verified in this session (else `69 82`).
    pub fn card_face_internal_authenticate(&mut self, challenge: &[u8]) -> Result<Vec<u8>, CardAppError> {
        let p2 = 0x80 | (ef::CHIP_KEY.0 as u8);
        let cmd = Command {
            cla: 0,
            ins: Ins::INTERNAL_AUTHENTICATE,
            p1: 0,
            p2,
            data: challenge,
            le: Some(256),
            extended: false,
        };
        let r = self.transmit(&cmd)?;
        if !r.sw.is_success() {
            return Err(ClientError::Status { what: "card-face internal authenticate", sw: r.sw }.into());
        }
        if r.data.len() != 256 {
            return Err(CardDataError::Malformed("internal authentication answer is not 256 bytes").into());
        }
        Ok(r.data)
    }

    /// The PIN-less tap check of the chip (see [`VerifiedChip`]): reads the 券面AP's CV
    /// certificate and checks it with `root_public_key`, VERIFYs `birth_date_key` (era
    /// `YYMMDD`, [`crate::birth_date_key`]; a wrong one spends one of its tries), reads the age
    /// record, checks it under the certificate, sends `challenge` (the verifier's, fresh,
    /// 16–245 bytes) by INTERNAL AUTHENTICATE and checks the answer with the record's chip key.
    pub fn prove_card_face_chip(
        &mut self,
        birth_date_key: &[u8],
        root_public_key: &RsaPublicKey,
        challenge: &[u8],
    ) -> Result<VerifiedChip, CardAppError> {
        if !(MIN_CHIP_CHALLENGE_LEN..=MAX_CHIP_CHALLENGE_LEN).contains(&challenge.len()) {
            return Err(CardDataError::Malformed("chip challenge is not 16-245 bytes").into());
        }
        let cert = self.read_card_face_certificate(root_public_key)?;
        let age = self.read_age_record(birth_date_key)?;
        let signature = self.card_face_internal_authenticate(challenge)?;
        Ok(VerifiedChip::verify_answer(&age, &cert, challenge, &signature)?)
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
