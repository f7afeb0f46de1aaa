//! PACE (ICAO 9303-11 §4.4), Generic Mapping over ECDH, both the chip's and the terminal's side,
//! and EF.CardAccess's PACEInfo. To be built (issue 12).
