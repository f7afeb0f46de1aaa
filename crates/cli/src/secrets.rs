//! The one rule for card secrets, everywhere (issuing, card commands, enrolment, the counter):
//!
//! | variable | holds | format (10-card.md §5) |
//! |---|---|---|
//! | `$HANKO_PIN` | the 4-digit PIN: user authentication (利用者証明用) and input assist | 4 digits |
//! | `$HANKO_PASSWORD` | the signature password (署名用パスワード) | 6–16 of `A-Z0-9` |
//! | `$HANKO_NEW_PIN`, `$HANKO_NEW_PASSWORD` | the new value for `change-pin` / `pin-reset` | as above |
//! | `$HANKO_NUMBER_B` | 照合番号B for the card face | 14 digits |
//!
//! A command picks the variable by the key it uses (`--slot auth` → PIN, `--slot signature` →
//! password), so no command spends a password try with a PIN. A value that is missing, empty
//! or not of its format is refused here, before any APDU: it never reaches the card and never
//! costs a try. Values are never printed, not even in the refusal.

use hanko_card::{PinFormat, Slot};
use zeroize::Zeroizing;

use crate::Failure;

/// One kind of card secret and the variable it comes from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Secret {
    var: &'static str,
    what: &'static str,
    format: PinFormat,
    rule: &'static str,
}

/// `$HANKO_PIN`: the 4-digit user-authentication / input-assist PIN.
pub(crate) const PIN: Secret = Secret {
    var: "HANKO_PIN",
    what: "the 4-digit PIN (user authentication, input assist)",
    format: PinFormat::FourDigits,
    rule: "exactly 4 digits",
};
/// `$HANKO_PASSWORD`: the signature password.
pub(crate) const PASSWORD: Secret = Secret {
    var: "HANKO_PASSWORD",
    what: "the signature password",
    format: PinFormat::Password,
    rule: "6 to 16 upper-case letters A-Z and digits 0-9",
};
/// `$HANKO_NEW_PIN`.
pub(crate) const NEW_PIN: Secret = Secret { var: "HANKO_NEW_PIN", what: "the new 4-digit PIN", ..PIN };
/// `$HANKO_NEW_PASSWORD`.
pub(crate) const NEW_PASSWORD: Secret =
    Secret { var: "HANKO_NEW_PASSWORD", what: "the new signature password", ..PASSWORD };
/// `$HANKO_NUMBER_B`: 照合番号B (birth date era YYMMDD + expiry year + security code).
pub(crate) const NUMBER_B: Secret = Secret {
    var: "HANKO_NUMBER_B",
    what: "照合番号B (birth date as era YYMMDD, expiry year, security code)",
    format: PinFormat::Digits(14),
    rule: "exactly 14 digits",
};

impl Secret {
    /// The secret of `slot`'s key: the password for the signature key, the PIN for the auth key.
    pub(crate) fn of(slot: Slot) -> Secret {
        match slot {
            Slot::Signature => PASSWORD,
            _ => PIN,
        }
    }

    /// The new value's secret for `slot` (`change-pin`, `pin-reset`).
    pub(crate) fn new_of(slot: Slot) -> Secret {
        match slot {
            Slot::Signature => NEW_PASSWORD,
            _ => NEW_PIN,
        }
    }

    /// The value, checked against its format; a refusal names the variable and the rule only.
    pub(crate) fn get(self) -> Result<Zeroizing<String>, Failure> {
        let value = Zeroizing::new(std::env::var(self.var).unwrap_or_default());
        self.check(&value)?;
        Ok(value)
    }

    /// The value when the variable is set (and well-formed), `None` when it is unset.
    pub(crate) fn get_optional(self) -> Result<Option<Zeroizing<String>>, Failure> {
        match std::env::var_os(self.var) {
            None => Ok(None),
            Some(_) => self.get().map(Some),
        }
    }

    /// The value from `file` (its first line), else from the variable, else typed at a prompt
    /// on the terminal without echo (only when stdin is a terminal); checked against its format.
    /// The headless user app (`hanko app approve`) reads its PINs this way.
    pub(crate) fn resolve(self, file: Option<&std::path::Path>) -> anyhow::Result<Zeroizing<String>> {
        use std::io::IsTerminal as _;
        if let Some(path) = file {
            let text = Zeroizing::new(
                std::fs::read_to_string(path)
                    .map_err(|e| Failure::bad_input("io", format!("reading {}: {e}", path.display())))?,
            );
            let value = Zeroizing::new(text.lines().next().unwrap_or_default().trim().to_owned());
            if !self.format.accepts(value.as_bytes()) {
                return Err(Failure::bad_input(
                    "malformed-secret",
                    format!(
                        "{} does not hold {}: it must be {} (nothing was sent to the card)",
                        path.display(),
                        self.what,
                        self.rule
                    ),
                )
                .into());
            }
            return Ok(value);
        }
        if std::env::var_os(self.var).is_some() || !std::io::stdin().is_terminal() {
            return Ok(self.get()?);
        }
        let value = prompt(&format!("{} ({})", self.what, self.rule))?;
        self.check(&value)?;
        Ok(value)
    }

    fn check(self, value: &str) -> Result<(), Failure> {
        let Secret { var, what, format, rule } = self;
        if value.is_empty() {
            return Err(Failure::bad_input(
                "missing-secret",
                format!("set ${var} to {what} ({rule}); secrets are never taken from the command line"),
            ));
        }
        if !format.accepts(value.as_bytes()) {
            return Err(Failure::bad_input(
                "malformed-secret",
                format!("${var} is not {what}: it must be {rule} (nothing was sent to the card)"),
            ));
        }
        Ok(())
    }
}

/// Reads a line from the terminal with echo off (`stty -echo`), the prompt on stderr.
pub(crate) fn prompt(what: &str) -> anyhow::Result<Zeroizing<String>> {
    use std::process::{Command, Stdio};
    eprint!("{what}: ");
    let stty = |arg: &str| Command::new("stty").arg(arg).stdin(Stdio::inherit()).status().is_ok_and(|s| s.success());
    let hidden = stty("-echo");
    let mut line = Zeroizing::new(String::new());
    let read = std::io::stdin().read_line(&mut line);
    if hidden {
        stty("echo");
    }
    eprintln!();
    read.map_err(|e| Failure::bad_input("io", format!("reading the terminal: {e}")))?;
    Ok(Zeroizing::new(line.trim_end_matches(['\r', '\n']).to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_pins_and_passwords_are_refused_before_the_card() {
        for (secret, bad) in [
            (PIN, ""),
            (PIN, "123"),
            (PIN, "12345"),
            (PIN, "12a4"),
            (PIN, "HANKO2026"),
            (PASSWORD, ""),
            (PASSWORD, "1234"),
            (PASSWORD, "hanko2026"),
            (PASSWORD, "HANKO-2026"),
            (PASSWORD, "ABCDEFGHIJKLMNOPQ"),
            (NUMBER_B, "1234567890123"),
        ] {
            let e = secret.check(bad).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(e.contains(secret.var), "{:?} accepted {bad:?}", secret.var);
            assert!(bad.is_empty() || !e.contains(bad), "the refusal echoes the value: {e}");
        }
        for (secret, good) in
            [(PIN, "1234"), (PASSWORD, "HANKO2026"), (PASSWORD, "ABCDEF"), (NUMBER_B, "12345678901234")]
        {
            assert!(secret.check(good).is_ok(), "{:?} refused a well-formed value", secret.var);
        }
        assert_eq!(Secret::of(Slot::Signature).var, "HANKO_PASSWORD");
        assert_eq!(Secret::of(Slot::Auth).var, "HANKO_PIN");
        assert_eq!(Secret::new_of(Slot::Signature).var, "HANKO_NEW_PASSWORD");
    }
}
