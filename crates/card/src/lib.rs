#![doc = include_str!("../README.md")]

pub mod apdu;
mod card_face;
#[cfg(test)]
mod card_face_tests;
mod chip;
mod client;
mod client_face;
mod client_facts;
mod counter;
mod cv;
mod emulator;
mod face_font;
mod image;
mod input_assist;
#[cfg(test)]
mod input_assist_tests;
mod juki;
pub mod layout;
#[cfg(any(test, feature = "test-support"))]
pub mod sample;
mod signer;
#[cfg(test)]
mod tests;
mod transport;

pub use apdu::{ApduError, Command, Ins, Response, StatusWord};
pub use card_face::{
    birth_date_key, card_face_app, card_face_app_with_font, ef as card_face_ef, synthetic_text_png, AgeRecord,
    CardFace, CardFaceBuildError, CardFaceInfo, MyNumberImage, ADDRESS_IMAGE, CODE_IMAGE, JP2_SIGNATURE,
    MAX_CARD_FACE_LEN, MAX_CARD_FACE_RECORD_LEN, MY_NUMBER_IMAGE, NAME_IMAGE, PNG_SIGNATURE, SYNTHETIC_PORTRAIT_JP2,
};
pub use chip::{ChipKey, ChipKeyError, Pin, PinFormat};
pub use client::{Client, ClientError, CommonRecord, PinStatus, Slot, MAX_EF_READ};
pub use client_face::{
    CardFaceChipKey, VerifiedCardFace, VerifiedChip, MAX_CHIP_CHALLENGE_LEN, MIN_CHIP_CHALLENGE_LEN,
};
pub use client_facts::{AccessCode, CardAppError, IntegrityScope, VerifiedFacts};
pub use counter::CounterError;
pub use cv::{
    CardDataError, ChipKeyRecord, CvCertificate, CvIssueError, CvIssuer, CvKeyId, IntegrityRecord,
    VerifiedCvCertificate, VerifiedIntegrityRecord, CHIP_KEY_RECORD_LEN, CV_CERTIFICATE_LEN, INTEGRITY_RECORD_LEN,
};
pub use emulator::{Access, Application, Card, Device, Fid, Object, ATR, MAX_COMMAND_LEN};
pub use face_font::{FaceFont, MARK_BAND, SANDBOX_MARK};
pub use image::{ImageError, SealKey, IMAGE_VERSION, MAX_IMAGE_LEN};
pub use input_assist::{
    ap_basic_info, ef as input_assist_ef, four_facts_file, input_assist_app, my_number_ef, number_b,
    parse_my_number_ef, CardFacts, FourFacts, InputAssistBuildError, MyNumber, MyNumberError, AP_INFO_DF43_MARKER,
    MAX_FACTS_FILE_LEN, MY_NUMBER_EF_LEN,
};
pub use juki::{ef as juki_ef, juki_app, ResidentRecordCode, RECORD_CODE_LEN};
pub use layout::{BlankChip, Personalization, PersonalizeError};
pub use signer::CardSigner;
pub use transport::{Transport, TransportError};
