//! ICAO 9303-11 §9.8 secure messaging (3DES after BAC, AES after PACE), both sides.
//! To be built (issue 12).

use zeroize::Zeroizing;

/// Session keys and the send sequence counter's start, as BAC or PACE establish them.
pub enum SmKeys {
    /// 2-key 3DES (BAC, or PACE with 3DES): K_enc, K_mac; SSC 8 bytes.
    Tdes {
        /// KS_enc.
        enc: Zeroizing<[u8; 16]>,
        /// KS_mac.
        mac: Zeroizing<[u8; 16]>,
        /// Initial SSC (BAC: RND.ICC[4..8] ‖ RND.IFD[4..8]; PACE: zero).
        ssc: [u8; 8],
    },
    /// AES-128/192/256 (PACE): K_enc, K_mac; SSC 16 bytes, starting at zero.
    Aes {
        /// KS_enc.
        enc: Zeroizing<Vec<u8>>,
        /// KS_mac.
        mac: Zeroizing<Vec<u8>>,
    },
}

impl core::fmt::Debug for SmKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            SmKeys::Tdes { .. } => "SmKeys::Tdes([elided])",
            SmKeys::Aes { .. } => "SmKeys::Aes([elided])",
        })
    }
}
