//! The 4 facts as claims, in the authentication app service's formats (§5: strings — name
//! `"山田 太郎"`, one address string, birthdate `"19850315"`, gender `"1"`) or, per client,
//! OpenID Connect's standard ones.

use serde_json::{json, Map, Value};

use crate::clients::ClaimFormat;

/// The 4 facts as read (input-assist AP) or certified (signature certificate).
#[derive(Debug, Clone)]
pub(crate) struct Facts {
    pub(crate) name: String,
    pub(crate) address: String,
    /// `YYYYMMDD` (digits as on the card; `0`s where unknown).
    pub(crate) birthdate: String,
    /// The JIS X 0303 digit: `1` male, `2` female, `9` not applicable, `0` unknown.
    pub(crate) gender: String,
}

/// The claims of the facts `scopes` asks for, in `format`.
pub(crate) fn fact_claims(facts: &Facts, scopes: &[&str], format: ClaimFormat) -> Map<String, Value> {
    let mut out = Map::new();
    for s in scopes {
        let v = match (*s, format) {
            ("name", _) => json!(facts.name),
            ("address", ClaimFormat::Jpki) => json!(facts.address),
            ("address", ClaimFormat::Oidc) => json!({"formatted": facts.address}),
            ("birthdate", ClaimFormat::Jpki) => json!(facts.birthdate),
            ("birthdate", ClaimFormat::Oidc) => json!(oidc_date(&facts.birthdate)),
            ("gender", ClaimFormat::Jpki) => json!(facts.gender),
            ("gender", ClaimFormat::Oidc) => json!(match facts.gender.as_str() {
                "1" => "male",
                "2" => "female",
                _ => "other",
            }),
            _ => continue,
        };
        out.insert((*s).to_owned(), v);
    }
    out
}

/// `YYYYMMDD` as `YYYY-MM-DD`; `0000` parts (unknown) as OpenID Connect says (`0000` year, or
/// the year alone).
fn oidc_date(d: &str) -> String {
    if d.len() != 8 {
        return d.to_owned();
    }
    let (y, m, day) = (&d[0..4], &d[4..6], &d[6..8]);
    if m == "00" || day == "00" {
        y.to_owned()
    } else {
        format!("{y}-{m}-{day}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> Facts {
        Facts {
            name: "見本 花子".into(),
            address: "東京都見本区試験町一丁目１番１号".into(),
            birthdate: "19850315".into(),
            gender: "2".into(),
        }
    }

    #[test]
    fn jpki_format_is_strings() {
        let c = fact_claims(&facts(), &["name", "address", "birthdate", "gender"], ClaimFormat::Jpki);
        assert_eq!(
            Value::Object(c),
            json!({"name": "見本 花子", "address": "東京都見本区試験町一丁目１番１号", "birthdate": "19850315", "gender": "2"})
        );
    }

    #[test]
    fn oidc_format_uses_standard_claims() {
        let c = fact_claims(&facts(), &["address", "birthdate", "gender"], ClaimFormat::Oidc);
        assert_eq!(
            Value::Object(c),
            json!({"address": {"formatted": "東京都見本区試験町一丁目１番１号"}, "birthdate": "1985-03-15", "gender": "female"})
        );
        let mut partial = facts();
        partial.birthdate = "19800000".into();
        assert_eq!(fact_claims(&partial, &["birthdate"], ClaimFormat::Oidc)["birthdate"], "1980");
    }

    #[test]
    fn only_the_scopes_asked_are_given() {
        let c = fact_claims(&facts(), &["gender"], ClaimFormat::Jpki);
        assert_eq!(c.len(), 1);
    }
}
