#![doc = include_str!("../README.md")]

#[cfg_attr(not(feature = "pcsc"), allow(dead_code))]
mod chaining;
mod document_file;
mod image_file;
mod in_process;
#[cfg(feature = "pcsc")]
mod reader;
mod virtual_card;
mod vpcd;

pub use document_file::{
    documents_dir, list_documents, ChipFile, DocumentEntry, DocumentFile, ImageChip, DOCUMENT_IMAGE_FORMAT,
    DOCUMENT_IMAGE_VERSION, MAX_DOCUMENT_IMAGE_LEN,
};
pub use image_file::{cards_dir, list as list_card_images, seal_key, CardFile, CardFileError, NewCard};
pub use in_process::InProcess;
#[cfg(feature = "pcsc")]
pub use reader::{list_readers, PcscError, PcscTransport, ReaderInfo};
pub use virtual_card::{VirtualCard, JPKI_CONTACT_ATR};
pub use vpcd::{serve_vpcd, PeerPolicy, VpcdBridge, VpcdError, DEFAULT_VPCD_ADDR, MAX_VPCD_MESSAGE, VPCD_PORT};
