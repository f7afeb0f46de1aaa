//! The 住基AP (`D3 92 10 00 31 00 01 01 04 01`): the resident record code (住民票コード) behind
//! a 4-digit PIN (shared/spec/10-card.md §2, §5) \[S: myna-card\].
//!
//! | EF | contents | opened by |
//! |---|---|---|
//! | `0001` | resident record code, 11 ASCII digits, nothing else \[I: FID and layout\] | PIN |
//! | `001C` | 住基 PIN: 4 digits, 3 tries; changed with `80 32 00 80` (CHANGE KEY) | |

use core::fmt;

use zeroize::Zeroizing;

use crate::chip::{Pin, PinFormat};
use crate::emulator::{Access, Application, Object};
use crate::layout::{PersonalizeError, AID_JUKI};

/// EFs of the 住基AP.
pub mod ef {
    use crate::emulator::Fid;
    /// The resident record code (11 digits) \[I: FID\].
    pub const RECORD_CODE: Fid = Fid(0x0001);
    /// 住基 PIN (4 digits, 3 tries) \[S\].
    pub const PIN: Fid = Fid(0x001C);
}

/// Length of the resident record code EF.
pub const RECORD_CODE_LEN: usize = 11;
/// Tries of the 住基 PIN.
const PIN_TRIES: u8 = 3;

/// A resident record code (住民票コード): 11 ASCII digits. No check digit is enforced (its rule
/// is not in the sources). `Debug` and `Display` show `[elided]`; zeroised on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct ResidentRecordCode(Zeroizing<[u8; RECORD_CODE_LEN]>);

impl fmt::Debug for ResidentRecordCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ResidentRecordCode([elided])")
    }
}

impl fmt::Display for ResidentRecordCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[elided]")
    }
}

impl ResidentRecordCode {
    /// Exactly 11 ASCII digits.
    pub fn parse(digits: &[u8]) -> Option<ResidentRecordCode> {
        let d: [u8; RECORD_CODE_LEN] = digits.try_into().ok()?;
        let d = Zeroizing::new(d);
        d.iter().all(u8::is_ascii_digit).then(|| ResidentRecordCode(d))
    }

    /// The 11 digits. Named so that every use is visible in review.
    pub fn expose(&self) -> &[u8; RECORD_CODE_LEN] {
        &self.0
    }
}

/// Builds the 住基AP: the resident record code in EF `0001`, readable after the PIN, and the PIN
/// (4 digits, 3 tries) in EF `001C`. Pass it to [`crate::Personalization::extra_apps`].
pub fn juki_app(pin: &[u8], record_code: &ResidentRecordCode) -> Result<Application, PersonalizeError> {
    let pin = Pin::new(pin, PinFormat::FourDigits, PIN_TRIES).ok_or(PersonalizeError::PinFormat("住基 PIN"))?;
    let objects = vec![
        (ef::RECORD_CODE, Object::File { content: record_code.expose().to_vec(), read: Access::AnyOf(vec![ef::PIN]) }),
        (ef::PIN, Object::Pin(pin)),
    ];
    Ok(Application { aid: AID_JUKI.to_vec(), name: "juki", objects, secure_messaging: false })
}
