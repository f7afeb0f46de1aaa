#![doc = include_str!("../README.md")]
//!
//! | document | module | issuer check | chip check |
//! |---|---|---|---|
//! | driver's licence | [`licence`] | police signing key selected by SKI (EF07) | — |
//! | residence card | [`residence`] | immigration issuer certificate (DF3) | — |
//! | passport | [`passport`] | passive authentication (SOD, DSC → CSCA) | active authentication |
//! | My Number Card face | [`mynumber`] | 券面AP CV certificate → sandbox root | 券面AP chip key |

mod check;
mod chip;
pub mod crypto;
pub mod licence;
pub mod mynumber;
pub mod passport;
pub mod residence;
pub mod tlv;

pub use check::{
    check, AccessCode, CheckError, ChipCheck, DocumentKind, Field, IssuerCheck, Photo, PhotoFormat, PoliceKey,
    Progress, Report, Trust, TrustAnchors,
};
pub use chip::{Chip, DocumentChip, Loopback};
