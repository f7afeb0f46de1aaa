//! The 4 basic facts (基本4情報) carried by a signature certificate, with Japanese era dates,
//! sex codes, substitute-character maps and the certificate validity rule.
//!
//! shared/spec/20-pki.md §2: the subjectAltName of a signature certificate holds six
//! `otherName` values under `1.2.392.200149.8.5.5`:
//!
//! | OID | value |
//! |---|---|
//! | `.1` | name; characters outside JIS level 1–2 / 補助漢字 replaced by substitute characters |
//! | `.2` | name substitute-character map: one `0`/`1` per character |
//! | `.3` | sex: `1` male, `2` female, `3` unknown |
//! | `.4` | birth date `EYYYYMMDD`, E = 1 Meiji … 5 Reiwa, 0 unknown (Gregorian digits) |
//! | `.5` | address from the prefecture, no postal code, ≤ 200 characters |
//! | `.6` | address substitute-character map |

use core::fmt;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

/// Why a fact could not be built or parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FactsError {
    /// The birth date is not `EYYYYMMDD`. The input is not kept: it is a fact of a person (it
    /// would reach logs and error bodies).
    #[error("birth date is not EYYYYMMDD (an era digit 0–5 and 8 digits)")]
    BirthDateSyntax,
    /// The era digit does not match the Gregorian date.
    #[error("birth date era {given} does not match the date (expected {expected})")]
    EraMismatch {
        /// The era digit found.
        given: u8,
        /// The era the date falls in.
        expected: u8,
    },
    /// The date precedes the Meiji era (1868-10-23), the first one the profile can encode.
    #[error("date {0} precedes the Meiji era")]
    BeforeMeiji(Date),
    /// A substitute-character map is not one `0`/`1` per character of its text.
    #[error("substitute map for {field} has {map_len} flags for {text_len} characters or a flag other than 0/1")]
    SubstituteMap {
        /// `name` or `address`.
        field: &'static str,
        /// Number of characters of the map.
        map_len: usize,
        /// Number of characters of the text.
        text_len: usize,
    },
    /// A text field is empty or too long.
    #[error("{field} must have 1..={max} characters, has {len}")]
    Length {
        /// Which field.
        field: &'static str,
        /// Its length in characters.
        len: usize,
        /// The maximum.
        max: usize,
    },
    /// The sex code is not one digit.
    #[error("sex code {0:?} is not a single digit")]
    SexSyntax(String),
}

/// Japanese era (元号), with the digit used in `EYYYYMMDD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Era {
    /// 明治, from 1868-10-23.
    Meiji,
    /// 大正, from 1912-07-30.
    Taisho,
    /// 昭和, from 1926-12-25.
    Showa,
    /// 平成, from 1989-01-08.
    Heisei,
    /// 令和, from 2019-05-01.
    Reiwa,
}

const ERAS: [(Era, i32, Month, u8); 5] = [
    (Era::Meiji, 1868, Month::October, 23),
    (Era::Taisho, 1912, Month::July, 30),
    (Era::Showa, 1926, Month::December, 25),
    (Era::Heisei, 1989, Month::January, 8),
    (Era::Reiwa, 2019, Month::May, 1),
];

impl Era {
    /// The digit of this era in `EYYYYMMDD` (1 Meiji … 5 Reiwa).
    pub fn code(self) -> u8 {
        match self {
            Era::Meiji => 1,
            Era::Taisho => 2,
            Era::Showa => 3,
            Era::Heisei => 4,
            Era::Reiwa => 5,
        }
    }

    /// The era with `code`, if any.
    pub fn from_code(code: u8) -> Option<Era> {
        ERAS.iter().map(|e| e.0).find(|e| e.code() == code)
    }

    /// Japanese name, e.g. `昭和`.
    pub fn kanji(self) -> &'static str {
        match self {
            Era::Meiji => "明治",
            Era::Taisho => "大正",
            Era::Showa => "昭和",
            Era::Heisei => "平成",
            Era::Reiwa => "令和",
        }
    }

    /// First day of the era (Gregorian).
    pub fn first_day(self) -> Date {
        let (_, y, m, d) = ERAS[usize::from(self.code() - 1)];
        // The table holds valid dates; the fallback is unreachable.
        Date::from_calendar_date(y, m, d).unwrap_or(Date::MIN)
    }

    /// The era a Gregorian date falls in.
    pub fn of(date: Date) -> Result<Era, FactsError> {
        let key = (date.year(), date.month() as u8, date.day());
        ERAS.iter()
            .rev()
            .find(|(_, y, m, d)| key >= (*y, *m as u8, *d))
            .map(|e| e.0)
            .ok_or(FactsError::BeforeMeiji(date))
    }

    /// The era year of `date` (元年 = 1), e.g. 1980-12-31 → (Showa, 55).
    pub fn year_of(date: Date) -> Result<(Era, i32), FactsError> {
        let era = Era::of(date)?;
        Ok((era, date.year() - era.first_day().year() + 1))
    }
}

/// A birth date as the certificate encodes it: `EYYYYMMDD`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum BirthDate {
    /// A known Gregorian date; the era digit is derived from it.
    Known(Date),
    /// Era digit `0`: unknown or partial (the digits are kept as found, e.g. `019800000`).
    Unknown([u8; 8]),
}

impl BirthDate {
    /// Parses `EYYYYMMDD`; the era digit must match the date.
    pub fn parse(s: &str) -> Result<BirthDate, FactsError> {
        let err = || FactsError::BirthDateSyntax;
        let b = s.as_bytes();
        if b.len() != 9 || !b.iter().all(u8::is_ascii_digit) {
            return Err(err());
        }
        let era = b[0] - b'0';
        let mut digits = [0u8; 8];
        digits.copy_from_slice(&b[1..]);
        if era == 0 {
            return Ok(BirthDate::Unknown(digits));
        }
        let num = |r: core::ops::Range<usize>| -> u32 { b[r].iter().fold(0, |a, d| a * 10 + u32::from(d - b'0')) };
        let year = i32::try_from(num(1..5)).map_err(|_| err())?;
        let month = Month::try_from(u8::try_from(num(5..7)).map_err(|_| err())?).map_err(|_| err())?;
        let day = u8::try_from(num(7..9)).map_err(|_| err())?;
        let date = Date::from_calendar_date(year, month, day).map_err(|_| err())?;
        let expected = Era::of(date)?.code();
        if expected != era {
            return Err(FactsError::EraMismatch { given: era, expected });
        }
        Ok(BirthDate::Known(date))
    }

    /// The date, when known.
    pub fn date(&self) -> Option<Date> {
        match self {
            BirthDate::Known(d) => Some(*d),
            BirthDate::Unknown(_) => None,
        }
    }

    /// Age in completed years on `today` (birthday reached on the day itself), when known.
    pub fn age_on(&self, today: Date) -> Option<i32> {
        let b = self.date()?;
        let mut age = today.year() - b.year();
        if (today.month() as u8, today.day()) < (b.month() as u8, b.day()) {
            age -= 1;
        }
        Some(age)
    }
}

impl fmt::Display for BirthDate {
    /// Formats as `EYYYYMMDD`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BirthDate::Known(d) => {
                let era = Era::of(*d).map(Era::code).unwrap_or(0);
                write!(f, "{era}{:04}{:02}{:02}", d.year(), d.month() as u8, d.day())
            }
            BirthDate::Unknown(digits) => {
                f.write_str("0")?;
                f.write_str(core::str::from_utf8(digits).unwrap_or("00000000"))
            }
        }
    }
}

impl fmt::Debug for BirthDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BirthDate([elided])")
    }
}

/// Sex code (性別) of the resident register. Unknown codes round-trip.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sex(pub u8);

impl Sex {
    /// `1`.
    pub const MALE: Sex = Sex(b'1');
    /// `2`.
    pub const FEMALE: Sex = Sex(b'2');
    /// `3` — unknown \[S\].
    pub const UNKNOWN: Sex = Sex(b'3');

    /// Parses the one-digit code.
    pub fn parse(s: &str) -> Result<Sex, FactsError> {
        match s.as_bytes() {
            [d] if d.is_ascii_digit() => Ok(Sex(*d)),
            _ => Err(FactsError::SexSyntax(s.to_owned())),
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(core::slice::from_ref(&self.0)).unwrap_or("?")
    }
}

impl fmt::Debug for Sex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sex([elided])")
    }
}

/// A substitute-character map (代替文字マップ): one flag per character of the text, `1` where the
/// character was replaced because it lies outside JIS level 1–2 / 補助漢字.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct SubstituteMap(String);

impl SubstituteMap {
    /// A map saying "no character substituted" for `text`.
    pub fn none_for(text: &str) -> SubstituteMap {
        SubstituteMap("0".repeat(text.chars().count()))
    }

    /// Checks `map` against `text` for the field `field`.
    pub fn new(field: &'static str, text: &str, map: &str) -> Result<SubstituteMap, FactsError> {
        let text_len = text.chars().count();
        let map_len = map.chars().count();
        if map_len != text_len || !map.bytes().all(|b| b == b'0' || b == b'1') {
            return Err(FactsError::SubstituteMap { field, map_len, text_len });
        }
        Ok(SubstituteMap(map.to_owned()))
    }

    /// Checks the map still fits `text` (one flag per character).
    fn check(&self, field: &'static str, text: &str) -> Result<(), FactsError> {
        let (map_len, text_len) = (self.0.len(), text.chars().count());
        if map_len != text_len {
            return Err(FactsError::SubstituteMap { field, map_len, text_len });
        }
        Ok(())
    }

    /// The flags as text of `0`/`1`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Positions (in characters) that hold a substitute character.
    pub fn substituted(&self) -> impl Iterator<Item = usize> + '_ {
        self.0.bytes().enumerate().filter(|(_, b)| *b == b'1').map(|(i, _)| i)
    }
}

impl fmt::Debug for SubstituteMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SubstituteMap([elided])")
    }
}

/// Maximum address length in characters (20-pki.md §2).
pub const MAX_ADDRESS_CHARS: usize = 200;
/// Maximum name length in characters \[I\] (bounded so hostile input stays small).
pub const MAX_NAME_CHARS: usize = 100;

/// The 4 basic facts (基本4情報) of a person as a signature certificate carries them.
///
/// `Debug` never shows the values: the facts must not reach logs.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct BasicFacts {
    name: String,
    name_substitutes: SubstituteMap,
    sex: Sex,
    birth_date: BirthDate,
    address: String,
    address_substitutes: SubstituteMap,
}

fn check_len(field: &'static str, s: &str, max: usize) -> Result<(), FactsError> {
    let len = s.chars().count();
    if len == 0 || len > max {
        return Err(FactsError::Length { field, len, max });
    }
    Ok(())
}

impl BasicFacts {
    /// Facts with no substitute characters.
    pub fn new(name: &str, sex: Sex, birth_date: BirthDate, address: &str) -> Result<BasicFacts, FactsError> {
        BasicFacts::with_substitutes(
            name,
            SubstituteMap::none_for(name),
            sex,
            birth_date,
            address,
            SubstituteMap::none_for(address),
        )
    }

    /// Facts with explicit substitute-character maps (checked against the texts).
    pub fn with_substitutes(
        name: &str,
        name_substitutes: SubstituteMap,
        sex: Sex,
        birth_date: BirthDate,
        address: &str,
        address_substitutes: SubstituteMap,
    ) -> Result<BasicFacts, FactsError> {
        check_len("name", name, MAX_NAME_CHARS)?;
        check_len("address", address, MAX_ADDRESS_CHARS)?;
        name_substitutes.check("name", name)?;
        address_substitutes.check("address", address)?;
        Ok(BasicFacts {
            name: name.to_owned(),
            name_substitutes,
            sex,
            birth_date,
            address: address.to_owned(),
            address_substitutes,
        })
    }

    /// 氏名.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Substitute map of the name.
    pub fn name_substitutes(&self) -> &SubstituteMap {
        &self.name_substitutes
    }
    /// 性別.
    pub fn sex(&self) -> Sex {
        self.sex
    }
    /// 生年月日.
    pub fn birth_date(&self) -> BirthDate {
        self.birth_date
    }
    /// 住所.
    pub fn address(&self) -> &str {
        &self.address
    }
    /// Substitute map of the address.
    pub fn address_substitutes(&self) -> &SubstituteMap {
        &self.address_substitutes
    }
}

impl fmt::Debug for BasicFacts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BasicFacts([elided])")
    }
}

/// The end of an end-entity certificate's validity (20-pki.md §2): the holder's 5th birthday
/// after `issued`, capped by the card's own expiry date, at 23:59:59 JST (14:59:59Z).
///
/// A 29 February birthday falls on 28 February in common years \[I\]. With an unknown birth
/// date the 5th anniversary of the issue date is used \[I\].
pub fn end_entity_not_after(issued: OffsetDateTime, birth_date: BirthDate, card_expiry: Date) -> OffsetDateTime {
    // The issue day in Japan decides which birthdays are "after" it.
    let issued_jst = (issued + time::Duration::hours(9)).date();
    let anchor = birth_date.date().unwrap_or(issued_jst);
    let on_year = |year: i32| -> Date {
        Date::from_calendar_date(year, anchor.month(), anchor.day())
            .or_else(|_| Date::from_calendar_date(year, anchor.month(), anchor.day() - 1))
            .unwrap_or(Date::MAX)
    };
    let first = if on_year(issued_jst.year()) > issued_jst { issued_jst.year() } else { issued_jst.year() + 1 };
    let fifth = on_year(first + 4);
    end_of_day_jst(fifth.min(card_expiry))
}

/// 23:59:59 JST of `date`, as UTC (14:59:59Z) — how every JPKI validity ends.
pub fn end_of_day_jst(date: Date) -> OffsetDateTime {
    PrimitiveDateTime::new(date, Time::from_hms(14, 59, 59).unwrap_or(Time::MIDNIGHT)).assume_utc()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn era_boundaries() {
        assert_eq!(Era::of(date!(1989 - 01 - 07)).unwrap(), Era::Showa);
        assert_eq!(Era::of(date!(1989 - 01 - 08)).unwrap(), Era::Heisei);
        assert_eq!(Era::of(date!(2019 - 04 - 30)).unwrap(), Era::Heisei);
        assert_eq!(Era::of(date!(2019 - 05 - 01)).unwrap(), Era::Reiwa);
        assert_eq!(Era::of(date!(1912 - 07 - 30)).unwrap(), Era::Taisho);
        assert_eq!(Era::of(date!(1926 - 12 - 24)).unwrap(), Era::Taisho);
        assert!(Era::of(date!(1868 - 10 - 22)).is_err());
        assert_eq!(Era::year_of(date!(1980 - 12 - 31)).unwrap(), (Era::Showa, 55));
        assert_eq!(Era::year_of(date!(2019 - 05 - 01)).unwrap(), (Era::Reiwa, 1));
    }

    #[test]
    fn birth_date_round_trip_and_errors() {
        let b = BirthDate::parse("319801231").unwrap();
        assert_eq!(b.date(), Some(date!(1980 - 12 - 31)));
        assert_eq!(b.to_string(), "319801231");
        assert_eq!(BirthDate::parse("419801231"), Err(FactsError::EraMismatch { given: 4, expected: 3 }));
        assert!(BirthDate::parse("31980123").is_err());
        assert!(BirthDate::parse("319801332").is_err());
        assert!(BirthDate::parse("3198012a1").is_err());
        assert!(BirthDate::parse("３19801231").is_err());
        let unknown = BirthDate::parse("019800000").unwrap();
        assert_eq!(unknown.date(), None);
        assert_eq!(unknown.to_string(), "019800000");
    }

    #[test]
    fn age() {
        let b = BirthDate::Known(date!(2008 - 03 - 15));
        assert_eq!(b.age_on(date!(2026 - 03 - 14)), Some(17));
        assert_eq!(b.age_on(date!(2026 - 03 - 15)), Some(18));
    }

    #[test]
    fn substitute_maps_are_checked() {
        assert!(SubstituteMap::new("name", "山田　太郎", "00100").is_ok());
        assert!(SubstituteMap::new("name", "山田　太郎", "0010").is_err());
        assert!(SubstituteMap::new("name", "山田", "02").is_err());
        let m = SubstituteMap::new("name", "山田　太郎", "00101").unwrap();
        assert_eq!(m.substituted().collect::<Vec<_>>(), vec![2, 4]);
    }

    #[test]
    fn facts_lengths_and_debug() {
        let b = BirthDate::Known(date!(1980 - 12 - 31));
        assert!(BasicFacts::new("", Sex::MALE, b, "東京都").is_err());
        let long = "あ".repeat(201);
        assert!(BasicFacts::new("試験　花子", Sex::FEMALE, b, &long).is_err());
        let f = BasicFacts::new("試験　花子", Sex::FEMALE, b, "東京都千代田区").unwrap();
        assert!(!format!("{f:?}").contains("花子"));
    }

    #[test]
    fn validity_is_fifth_birthday_after_issue() {
        let b = BirthDate::Known(date!(1980 - 06 - 15));
        let far = date!(2099 - 01 - 01);
        // Issued before this year's birthday: the 1st birthday is this year.
        assert_eq!(end_entity_not_after(datetime!(2024-03-01 10:00 UTC), b, far), datetime!(2028-06-15 14:59:59 UTC));
        // Issued after it: the 1st birthday is next year.
        assert_eq!(end_entity_not_after(datetime!(2024-07-01 10:00 UTC), b, far), datetime!(2029-06-15 14:59:59 UTC));
        // Issued on the birthday (JST): that day is not "after".
        assert_eq!(end_entity_not_after(datetime!(2024-06-14 16:00 UTC), b, far), datetime!(2029-06-15 14:59:59 UTC));
        // Capped by the card.
        assert_eq!(
            end_entity_not_after(datetime!(2024-03-01 10:00 UTC), b, date!(2027 - 01 - 10)),
            datetime!(2027-01-10 14:59:59 UTC)
        );
        // 29 February.
        let leap = BirthDate::Known(date!(2000 - 02 - 29));
        assert_eq!(
            end_entity_not_after(datetime!(2024-03-01 00:00 UTC), leap, far),
            datetime!(2029-02-28 14:59:59 UTC)
        );
    }
}
