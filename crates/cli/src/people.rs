//! Synthetic people for the sandbox: invented names in an invented ward. Never real data.

use anyhow::Result;
use hanko_pki::time::{Date, Month};
use hanko_pki::{BasicFacts, BirthDate, Sex};

/// A synthetic resident: the 4 facts plus the romanised locality the subject DN carries.
pub(crate) struct Person {
    pub(crate) facts: BasicFacts,
    pub(crate) prefecture: String,
    pub(crate) municipality: String,
}

struct Row {
    name: &'static str,
    sex: Sex,
    born: (i32, Month, u8),
    address: &'static str,
}

const ROWS: [Row; 4] = [
    Row {
        name: "試験　花子",
        sex: Sex::FEMALE,
        born: (1985, Month::April, 1),
        address: "東京都見本区試験町一丁目１番１号",
    },
    Row {
        name: "見本　太郎",
        sex: Sex::MALE,
        born: (1958, Month::December, 31),
        address: "東京都見本区試験町二丁目３番４号",
    },
    Row {
        name: "架空　一",
        sex: Sex::MALE,
        born: (1990, Month::January, 8),
        address: "東京都見本区架空台五丁目６番７号見本ハイツ１０１号室",
    },
    Row {
        name: "例題　さくら",
        sex: Sex::FEMALE,
        born: (2014, Month::May, 1),
        address: "東京都見本区試験町一丁目１番１号",
    },
];

/// The demo residents. The last is a minor: the counter gives her a user-authentication
/// certificate only.
pub(crate) fn synthetic() -> Result<Vec<Person>> {
    ROWS.iter()
        .map(|r| {
            let born = Date::from_calendar_date(r.born.0, r.born.1, r.born.2)?;
            Ok(Person {
                facts: BasicFacts::new(r.name, r.sex, BirthDate::Known(born), r.address)?,
                prefecture: "Tokyo-to".into(),
                municipality: "Mihon-ku".into(),
            })
        })
        .collect()
}
