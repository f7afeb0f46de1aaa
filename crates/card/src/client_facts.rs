//! The host side of the 券面事項入力補助AP (shared/spec/10-card.md §6): read the 4 facts or
//! the My Number after the right VERIFY, and check them against the integrity record and the
//! CV certificate.
//!
//! What opens what: the PIN opens everything; 照合番号A the My Number (and the integrity
//! record); 照合番号B the 4 facts (and the integrity record). The My Number is read only by
//! [`Client::read_my_number`] or an [`IntegrityScope`] that names it — never as a side effect.

use core::fmt;

use hanko_pki::{DigestAlgorithm, DigestInfo, RsaPublicKey, SignatureAlgorithm};

use crate::apdu::{Command, Ins};
use crate::client::{Client, ClientError};
use crate::cv::{CardDataError, ChipKeyRecord, CvCertificate, CvKeyId, IntegrityRecord, CHIP_KEY_RECORD_LEN};
use crate::cv::{CV_CERTIFICATE_LEN, INTEGRITY_RECORD_LEN};
use crate::emulator::Fid;
use crate::input_assist::{ef, parse_len, parse_my_number_ef, FourFacts, MyNumber};
use crate::input_assist::{MAX_FACTS_FILE_LEN, MY_NUMBER_EF_LEN};
use crate::layout::AID_INPUT_ASSIST;
use crate::transport::Transport;

/// Which secret opens the input-assist AP, with its value. `Debug` never shows the value.
#[derive(Clone, Copy)]
pub enum AccessCode<'a> {
    /// 券面事項入力補助用暗証番号 (4 digits): opens everything.
    Pin(&'a [u8]),
    /// 照合番号A (the 12-digit My Number): opens the My Number.
    NumberA(&'a [u8]),
    /// 照合番号B (14 digits: era birth date, expiry year, security code): opens the 4 facts.
    NumberB(&'a [u8]),
}

impl fmt::Debug for AccessCode<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AccessCode::Pin(_) => "AccessCode::Pin([elided])",
            AccessCode::NumberA(_) => "AccessCode::NumberA([elided])",
            AccessCode::NumberB(_) => "AccessCode::NumberB([elided])",
        })
    }
}

impl AccessCode<'_> {
    /// The key EF this code is verified against (`0011`, `0014` or `0015`).
    pub fn fid(&self) -> Fid {
        match self {
            AccessCode::Pin(_) => ef::PIN,
            AccessCode::NumberA(_) => ef::NUMBER_A,
            AccessCode::NumberB(_) => ef::NUMBER_B,
        }
    }

    fn value(&self) -> &[u8] {
        match self {
            AccessCode::Pin(v) | AccessCode::NumberA(v) | AccessCode::NumberB(v) => v,
        }
    }
}

/// Which data an integrity check reads and compares with the integrity record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IntegrityScope {
    /// The 4 facts (DF32): needs the PIN or 照合番号B.
    FourFacts,
    /// The My Number (DF31): needs the PIN or 照合番号A.
    MyNumber,
    /// Both: needs the PIN.
    Both,
}

impl IntegrityScope {
    fn facts(self) -> bool {
        matches!(self, IntegrityScope::FourFacts | IntegrityScope::Both)
    }
    fn my_number(self) -> bool {
        matches!(self, IntegrityScope::MyNumber | IntegrityScope::Both)
    }
}

/// Input-assist data whose integrity record verified under a CV certificate that verified with
/// the configured root key; only the client's integrity check makes one. `Debug` shows no facts.
pub struct VerifiedFacts {
    facts: Option<FourFacts>,
    my_number: Option<MyNumber>,
    issuer: CvKeyId,
    signer: CvKeyId,
}

impl fmt::Debug for VerifiedFacts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedFacts")
            .field("facts", &self.facts.as_ref().map(|_| "[elided]"))
            .field("my_number", &self.my_number.as_ref().map(|_| "[elided]"))
            .field("issuer", &self.issuer)
            .field("signer", &self.signer)
            .finish()
    }
}

impl VerifiedFacts {
    /// The 4 facts, when the scope included them.
    pub fn facts(&self) -> Option<&FourFacts> {
        self.facts.as_ref()
    }

    /// The My Number, when the scope included it.
    pub fn my_number(&self) -> Option<&MyNumber> {
        self.my_number.as_ref()
    }

    /// The CV certificate's issuer (root) key ID.
    pub fn issuer_key_id(&self) -> CvKeyId {
        self.issuer
    }

    /// The AP data-signing key ID that signed the integrity record.
    pub fn signer_key_id(&self) -> CvKeyId {
        self.signer
    }
}

/// Reading or checking the data of the input-assist AP, the 券面AP or the 住基AP failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CardAppError {
    /// The card or transport refused (a wrong or blocked code, `69 82` for an EF the verified
    /// code does not open, …).
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The card's data is malformed or does not verify.
    #[error(transparent)]
    Data(#[from] CardDataError),
    /// The access code given is empty (a case-1 VERIFY would only query the counter).
    #[error("the access code is empty")]
    EmptyCode,
    /// The 券面AP has no PIN: it opens with 照合番号A or 照合番号B.
    #[error("the card-face AP opens with 照合番号A or B, not a PIN")]
    UnsupportedCode,
}

impl<T: Transport> Client<T> {
    /// Selects the input-assist AP (clearing any earlier VERIFY) and verifies `code`.
    fn open_input_assist(&mut self, code: AccessCode<'_>) -> Result<(), CardAppError> {
        if code.value().is_empty() {
            return Err(CardAppError::EmptyCode);
        }
        Ok(self.verify_in(&AID_INPUT_ASSIST, code.fid(), code.value(), "verify input-assist code")?)
    }

    /// Reads exactly `len` bytes from the start of EF `fid` of the selected application.
    fn read_ef_exact(&mut self, fid: Fid, len: usize) -> Result<Vec<u8>, CardAppError> {
        self.select_ef(fid)?;
        self.read_from(0, len)
    }

    /// Reads `len` bytes of the current EF from `start`, in short-Le steps.
    fn read_from(&mut self, start: usize, len: usize) -> Result<Vec<u8>, CardAppError> {
        let mut out = Vec::with_capacity(len);
        while out.len() < len {
            let offset = u16::try_from(start + out.len())
                .ok()
                .filter(|o| *o <= 0x7FFF)
                .ok_or(CardDataError::Malformed("EF offset beyond 32 KB"))?;
            let chunk = self.read_binary(offset, (len - out.len()).min(256))?;
            if chunk.is_empty() || chunk.len() > len - out.len() {
                return Err(CardDataError::Malformed("EF shorter or longer than expected").into());
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }

    /// Reads the `FF 20` TLV of EF `0002` (its length from the header, at most
    /// [`MAX_FACTS_FILE_LEN`]) and parses it.
    fn read_facts_file(&mut self) -> Result<FourFacts, CardAppError> {
        self.select_ef(ef::FACTS)?;
        let mut head = self.read_binary(0, 5)?;
        let (len, n) = match head.as_slice() {
            [0xFF, 0x20, rest @ ..] => parse_len(rest).ok_or(CardDataError::Malformed("4-facts length"))?,
            _ => return Err(CardDataError::Malformed("4-facts file does not start with FF 20").into()),
        };
        let total = 2 + n + len;
        if total > MAX_FACTS_FILE_LEN {
            return Err(CardDataError::Malformed("4-facts file is too large").into());
        }
        head.truncate(total);
        let rest = self.read_from(head.len(), total - head.len())?;
        head.extend_from_slice(&rest);
        Ok(FourFacts::parse(&head)?)
    }

    /// VERIFY `code` in the input-assist AP, then read and parse the 4 facts (name, address,
    /// birth date, sex). Needs the PIN or 照合番号B; with 照合番号A the card answers `69 82`.
    /// The AP stays selected with `code` verified, so [`Client::verify_facts_integrity`] may follow.
    pub fn read_facts(&mut self, code: AccessCode<'_>) -> Result<FourFacts, CardAppError> {
        self.open_input_assist(code)?;
        self.read_facts_file()
    }

    /// VERIFY `code` in the input-assist AP, then read the My Number. Needs the PIN or
    /// 照合番号A; with 照合番号B the card answers `69 82`. Call it only when the My Number itself
    /// is needed.
    pub fn read_my_number(&mut self, code: AccessCode<'_>) -> Result<MyNumber, CardAppError> {
        self.open_input_assist(code)?;
        let ef = self.read_ef_exact(ef::MY_NUMBER, MY_NUMBER_EF_LEN)?;
        Ok(parse_my_number_ef(&ef)?)
    }

    /// [`Client::verify_integrity`] of the 4 facts.
    pub fn verify_facts_integrity(&mut self, root_public_key: &RsaPublicKey) -> Result<VerifiedFacts, CardAppError> {
        self.verify_integrity(root_public_key, IntegrityScope::FourFacts)
    }

    /// In the session opened by [`Client::read_facts`] or [`Client::read_my_number`] (the AP
    /// selected, a code verified): reads the CV certificate (EF `0004`) and checks it with the
    /// root key, reads the integrity record (EF `0003`) and checks DF33 with the certificate's
    /// key over DF31‖DF32, then reads the data `scope` names and compares its SHA-256 with DF32
    /// (the 4 facts from DF22 on) and/or DF31 (the 17-byte My Number EF).
    pub fn verify_integrity(
        &mut self,
        root_public_key: &RsaPublicKey,
        scope: IntegrityScope,
    ) -> Result<VerifiedFacts, CardAppError> {
        let cert = CvCertificate::parse(&self.read_ef_exact(ef::CV_CERTIFICATE, CV_CERTIFICATE_LEN)?)?;
        let cert = cert.verify(root_public_key)?;
        let record = IntegrityRecord::parse(&self.read_ef_exact(ef::INTEGRITY, INTEGRITY_RECORD_LEN)?)?;
        let record = record.verify(&cert)?;
        let facts = if scope.facts() {
            let facts = self.read_facts_file()?;
            record.check_facts(facts.signed_part())?;
            Some(facts)
        } else {
            None
        };
        let my_number = if scope.my_number() {
            let ef = zeroize::Zeroizing::new(self.read_ef_exact(ef::MY_NUMBER, MY_NUMBER_EF_LEN)?);
            record.check_my_number_ef(&ef)?;
            Some(parse_my_number_ef(&ef)?)
        } else {
            None
        };
        Ok(VerifiedFacts { facts, my_number, issuer: cert.issuer_key_id(), signer: cert.subject_key_id() })
    }

    /// Proves a genuine chip, in the session opened by [`Client::read_facts`] or
    /// [`Client::read_my_number`]: checks the CV certificate with the root key and the certified
    /// chip key (EF `0007`) with the certificate, then has the chip sign a fresh random
    /// challenge (`80 2A 00 00`, SHA-256 DigestInfo, no PIN) and checks that signature.
    pub fn authenticate_input_assist_chip(&mut self, root_public_key: &RsaPublicKey) -> Result<(), CardAppError> {
        let cert = CvCertificate::parse(&self.read_ef_exact(ef::CV_CERTIFICATE, CV_CERTIFICATE_LEN)?)?;
        let cert = cert.verify(root_public_key)?;
        let chip = ChipKeyRecord::parse(&self.read_ef_exact(ef::CHIP_KEY_RECORD, CHIP_KEY_RECORD_LEN)?)?;
        let chip_key = chip.verify(&cert)?;
        self.chip_challenge(&chip_key, "chip challenge")
    }

    /// Has the selected AP's chip key sign a fresh random challenge (`80 2A 00 00`, SHA-256
    /// DigestInfo, no PIN) and checks the signature with `key`.
    pub(crate) fn chip_challenge(&mut self, key: &RsaPublicKey, what: &'static str) -> Result<(), CardAppError> {
        let mut challenge = [0u8; 32];
        aws_lc_rs::rand::fill(&mut challenge).map_err(|_| CardDataError::Malformed("no randomness for a challenge"))?;
        let signature = self.chip_sign(&challenge, what)?;
        key.verify(SignatureAlgorithm::RsaPkcs1Sha256, &challenge, &signature)
            .map_err(|_| CardDataError::BadSignature(what).into())
    }

    /// The selected AP's chip key signs `challenge` (`80 2A 00 00` over the SHA-256 DigestInfo,
    /// no PIN).
    fn chip_sign(&mut self, challenge: &[u8], what: &'static str) -> Result<Vec<u8>, CardAppError> {
        let di = DigestInfo::of(DigestAlgorithm::Sha256, challenge)
            .to_der()
            .map_err(|_| CardDataError::Malformed("DigestInfo"))?;
        let cmd =
            Command { cla: 0x80, ins: Ins::COMPUTE_SIGNATURE, p1: 0, p2: 0, data: &di, le: Some(256), extended: false };
        let r = self.transmit(&cmd)?;
        if !r.sw.is_success() {
            return Err(ClientError::Status { what, sw: r.sw }.into());
        }
        Ok(r.data)
    }

    /// For a remote verifier, in the session opened by [`Client::read_facts`] or
    /// [`Client::read_my_number`]: the certified chip key record (EF `0007`) and the chip's
    /// signature over the verifier's `challenge` (`80 2A 00 00`, SHA-256 DigestInfo, no PIN).
    /// With the CV certificate the verifier checks that the input-assist files it is sent were
    /// read, now, from the genuine chip they belong to — not copied from another card earlier.
    pub fn prove_input_assist_chip(&mut self, challenge: &[u8]) -> Result<(Vec<u8>, Vec<u8>), CardAppError> {
        let record = self.read_ef_exact(ef::CHIP_KEY_RECORD, CHIP_KEY_RECORD_LEN)?;
        let signature = self.chip_sign(challenge, "input-assist chip proof")?;
        Ok((record, signature))
    }
}
