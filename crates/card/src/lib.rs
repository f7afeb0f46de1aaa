#![doc = include_str!("../README.md")]

pub mod apdu;
mod transport;

pub use apdu::{ApduError, Command, Ins, Response, StatusWord};
pub use transport::{Transport, TransportError};
