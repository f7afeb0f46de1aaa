#![doc = include_str!("../README.md")]

pub mod apdu;
mod chip;
mod client;
mod emulator;
mod image;
pub mod layout;
#[cfg(test)]
mod tests;
mod transport;

pub use apdu::{ApduError, Command, Ins, Response, StatusWord};
pub use chip::{ChipKey, ChipKeyError, Pin, PinFormat};
pub use client::{Client, ClientError, CommonRecord, PinStatus, Slot, MAX_EF_READ};
pub use emulator::{Access, Application, Card, Device, Fid, Object, ATR, MAX_COMMAND_LEN};
pub use image::{ImageError, SealKey, IMAGE_VERSION, MAX_IMAGE_LEN};
pub use layout::{BlankChip, Personalization, PersonalizeError};
pub use transport::{Transport, TransportError};
