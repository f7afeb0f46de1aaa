//! Time for the authority: the services' clock, from the store layer.

pub use hanko_store::{Clock, ManualClock, SystemClock};
