//! The verification record (確認記録 / 本人確認記録): built only through a builder that checks it
//! against the policy, and checked again when read back.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::macros::offset;
use time::{Date, Month, OffsetDateTime, UtcOffset};
use zeroize::Zeroizing;

use super::{Decision, DocumentType, Law, Method, Policy, RecordItem, Retention, Transaction};

/// Japan Standard Time: the laws count days in it.
const JST: UtcOffset = offset!(+9);

/// The authorised purpose of collecting a My Number: the three fields the My Number Act allows
/// (社会保障・税・災害対策, seed 001 「マイナンバー制度の概要」 I-2 and 「マイナンバーカードについて②」 ①).
/// There is no other value: a business with another purpose may not collect the number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum MyNumberPurpose {
    /// 税 (tax): e.g. a securities account's 告知義務 (seed 000 利活用事例4 「税法に基づくマイナンバー
    /// 告知義務」), an insurer's payment records (利活用事例6).
    Tax,
    /// 社会保障 (social security): e.g. an employer's health-insurance and pension filings (seed 000
    /// 利活用事例11).
    SocialSecurity,
    /// 災害対策 (disaster countermeasures).
    DisasterCountermeasures,
}

/// Why a My Number was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MyNumberError {
    /// Not 12 characters.
    #[error("a My Number has 12 digits")]
    Length,
    /// Not all ASCII digits.
    #[error("a My Number has only digits")]
    NotDigits,
    /// The 12th digit is not the check digit of the first 11.
    #[error("the My Number's check digit is wrong")]
    CheckDigit,
}

/// A 個人番号 (My Number): 12 ASCII digits whose last is the check digit of the first 11.
///
/// It never prints: `Debug` and `Display` show `[elided]`, and the digits are zeroised on drop.
/// It serialises as its digits, so a serialised record that holds one is as secret as the number.
#[derive(Clone, PartialEq, Eq)]
pub struct MyNumber(Zeroizing<String>);

impl fmt::Debug for MyNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MyNumber([elided])")
    }
}

impl fmt::Display for MyNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[elided]")
    }
}

impl MyNumber {
    /// Parses 12 ASCII digits and checks the check digit (総務省令第八十五号 第五条: `11 − (Σ P_n × Q_n
    /// mod 11)`, or 0 when the remainder is 0 or 1; `P_n` the n-th digit from the right of the first
    /// 11, `Q_n = n + 1` for n ≤ 6 and `n − 5` for n ≥ 7).
    pub fn parse(digits: &str) -> Result<MyNumber, MyNumberError> {
        let bytes = digits.as_bytes();
        if bytes.len() != 12 {
            return Err(MyNumberError::Length);
        }
        if !bytes.iter().all(u8::is_ascii_digit) {
            return Err(MyNumberError::NotDigits);
        }
        let sum: u32 = bytes[..11]
            .iter()
            .rev()
            .zip(1u32..)
            .map(|(p, n)| u32::from(p - b'0') * if n <= 6 { n + 1 } else { n - 5 })
            .sum();
        let r = sum % 11;
        let check = if r <= 1 { 0 } else { 11 - r };
        if u32::from(bytes[11] - b'0') != check {
            return Err(MyNumberError::CheckDigit);
        }
        Ok(MyNumber(Zeroizing::new(digits.to_string())))
    }

    /// The 12 digits. Named so that every use is visible in review: a My Number must not reach a
    /// log.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl Serialize for MyNumber {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for MyNumber {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let digits = Zeroizing::new(String::deserialize(d)?);
        MyNumber::parse(&digits).map_err(serde::de::Error::custom)
    }
}

/// Whether a person had reached an age on the day of the check (年齢確認の結果): the answer the
/// online-dating Act asks, without the birth date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgeCheck {
    /// The age asked (18 for the online-dating Act).
    pub at_least: u8,
    /// Whether the person had reached it.
    pub holds: bool,
}

impl AgeCheck {
    /// The check for a birth date on a day; `None` when the birth date is after the day.
    pub fn from_birth_date(birth: Date, on: Date, at_least: u8) -> Option<AgeCheck> {
        age_on(birth, on).map(|age| AgeCheck { at_least, holds: age >= u16::from(at_least) })
    }
}

/// A person's age in years on a day (年齢計算ニ関スル法律: one year older from the birthday's
/// anniversary; a person born on 29 February is a year older on 1 March in common years); `None`
/// when the birth date is after the day.
pub fn age_on(birth: Date, on: Date) -> Option<u16> {
    if birth > on {
        return None;
    }
    let years = on.year() - birth.year();
    let before_anniversary = (on.month() as u8, on.day()) < (birth.month() as u8, birth.day());
    u16::try_from(years - i32::from(before_anniversary)).ok()
}

/// The last day of a period of `years` counted from the day after `event` (民法 第140条: the
/// first day is not counted; 第143条第2項: the period ends on the day before the corresponding
/// day, or on the last day of the month when that month has no corresponding day).
fn period_end(event: Date, years: u8) -> Option<Date> {
    let start = event.next_day()?;
    let year = start.year() + i32::from(years);
    match start.replace_year(year) {
        Ok(corresponding) => corresponding.previous_day(),
        // The start is 29 February and the final year has none: the end of February.
        Err(_) => Date::from_calendar_date(year, Month::February, 28).ok(),
    }
}

/// Until when a record is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum RetainUntil {
    /// Until the end of this day (Japan time).
    Date {
        /// The last day.
        #[serde(with = "date_format")]
        until: Date,
    },
    /// The contract is still running: `years` after it ends ([`VerificationRecord::contract_ended`]
    /// fixes the day).
    YearsAfterContractEnds {
        /// The number of years.
        years: u8,
    },
    /// No period set by the law: keep only as long as the purpose needs.
    NotMandated,
}

/// Why a record was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The law does not accept the method for the transaction on the day of the check.
    #[error("{}", .0.reason_en)]
    MethodRefused(Box<Decision>),
    /// Items the law asks for are missing (or empty).
    #[error("the record lacks {}", names(.0))]
    MissingItems(Vec<RecordItem>),
    /// A My Number outside the My Number Act's collection with an authorised purpose: a My
    /// Number must never be recorded otherwise (seed 001 「マイナンバー制度の概要」 I-3: 「マイナンバー
    /// 法に定める場合以外のマイナンバーの収集・保管の禁止」).
    #[error("a My Number may be recorded only when collecting it under the My Number Act for an authorised purpose")]
    MyNumberNotAllowed,
    /// A My Number Card's number for the record looks like a My Number (12 digits): record the
    /// card's other identifiers (the certificate serial, 照合番号B without the birth date).
    #[error("a My Number Card is recorded without its My Number")]
    MyNumberAsDocumentNumber,
    /// The document does not go with the method (a driver's licence for a JPKI signature …).
    #[error("{document:?} does not go with {method:?}")]
    DocumentDoesNotFitMethod {
        /// The method.
        method: Method,
        /// The document.
        document: DocumentType,
    },
    /// The age check asks a lower age than the law does.
    #[error("the age check asks {given}, the law {law_minimum}")]
    AgeBelowLaw {
        /// What the law asks.
        law_minimum: u8,
        /// What the record says was asked.
        given: u8,
    },
    /// The age, the age check and the birth date do not agree, or the birth date is after the
    /// check.
    #[error("the age, the age check and the birth date do not agree")]
    AgeInconsistent,
    /// The contract cannot end before the check, and only a contract-bound record has an end.
    #[error("the contract end does not fit this record")]
    ContractEnd,
    /// A retention day past the calendar's range.
    #[error("the retention period ends past the calendar's range")]
    DateOutOfRange,
}

fn names(items: &[RecordItem]) -> String {
    items.iter().map(|i| i.name_en()).collect::<Vec<_>>().join(", ")
}

/// The stored form of a record (also its serde form).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordData {
    law: Law,
    transaction: Transaction,
    method: Method,
    #[serde(with = "rfc3339")]
    checked_at: OffsetDateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    checked_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    document_type: Option<DocumentType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    document_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_date_format")]
    birth_date: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sex: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    age: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    age_check: Option<AgeCheck>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    occupation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    purpose_of_transaction: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    evidence_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    prior_record: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    my_number: Option<MyNumber>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    my_number_purpose: Option<MyNumberPurpose>,
    required_items: Vec<RecordItem>,
    basis: String,
    retain_until: RetainUntil,
}

fn filled(s: &Option<String>) -> bool {
    s.as_deref().is_some_and(|s| !s.trim().is_empty())
}

impl RecordData {
    fn check_date(&self) -> Date {
        self.checked_at.to_offset(JST).date()
    }

    fn has(&self, item: RecordItem) -> bool {
        match item {
            RecordItem::Method | RecordItem::CheckedAt => true,
            RecordItem::CheckedBy => filled(&self.checked_by),
            RecordItem::DocumentType => self.document_type.is_some(),
            RecordItem::DocumentNumber => filled(&self.document_number),
            RecordItem::Name => filled(&self.name),
            RecordItem::Address => filled(&self.address),
            RecordItem::BirthDate => self.birth_date.is_some(),
            RecordItem::BirthDateOrAddress => self.birth_date.is_some() || filled(&self.address),
            RecordItem::Sex => filled(&self.sex),
            RecordItem::Age => self.age.is_some(),
            RecordItem::AgeCheck => self.age_check.is_some(),
            RecordItem::Occupation => filled(&self.occupation),
            RecordItem::PurposeOfTransaction => filled(&self.purpose_of_transaction),
            RecordItem::EvidenceId => filled(&self.evidence_id),
            RecordItem::PriorRecord => filled(&self.prior_record),
            RecordItem::MyNumber => self.my_number.is_some(),
            RecordItem::MyNumberPurpose => self.my_number_purpose.is_some(),
        }
    }

    /// The checks that do not depend on the policy: run when built and when read back.
    fn check(&self) -> Result<(), RecordError> {
        // A My Number only when collecting it under the My Number Act, always with its purpose.
        if self.my_number.is_some() || self.my_number_purpose.is_some() {
            let authorised = self.law == Law::MyNumberAct
                && self.transaction == Transaction::MyNumberCollection
                && self.my_number.is_some()
                && self.my_number_purpose.is_some();
            if !authorised {
                return Err(RecordError::MyNumberNotAllowed);
            }
        }
        if let Some(document) = self.document_type {
            if !self.method.document_types().contains(&document) {
                return Err(RecordError::DocumentDoesNotFitMethod { method: self.method, document });
            }
            if document == DocumentType::MyNumberCard {
                let digits = self.document_number.as_deref().unwrap_or("").chars().filter(char::is_ascii_digit);
                if digits.count() >= 12 {
                    return Err(RecordError::MyNumberAsDocumentNumber);
                }
            }
        }
        let on = self.check_date();
        if let Some(birth) = self.birth_date {
            let age = age_on(birth, on).ok_or(RecordError::AgeInconsistent)?;
            if self.age.is_some_and(|a| a != age) {
                return Err(RecordError::AgeInconsistent);
            }
            if self.age_check.is_some_and(|c| c.holds != (age >= u16::from(c.at_least))) {
                return Err(RecordError::AgeInconsistent);
            }
        }
        if let (Some(law_minimum), Some(c)) = (self.law.minimum_age(), self.age_check) {
            if c.at_least < law_minimum {
                return Err(RecordError::AgeBelowLaw { law_minimum, given: c.at_least });
            }
        }
        let missing: Vec<RecordItem> = self.required_items.iter().copied().filter(|i| !self.has(*i)).collect();
        if !missing.is_empty() {
            return Err(RecordError::MissingItems(missing));
        }
        if let RetainUntil::Date { until } = self.retain_until {
            if until < on {
                return Err(RecordError::ContractEnd);
            }
        }
        Ok(())
    }
}

/// A verification record (確認記録): what the law asks to keep about one identity check.
///
/// Made only by [`VerificationRecord::builder`] … [`RecordBuilder::build`], which refuses a
/// method the law does not accept on the day, a record missing an item the law asks, and a My
/// Number outside the My Number Act's collection with an authorised purpose. Reading one back
/// (`Deserialize`) runs the checks again — the items against the list the record keeps of what
/// the law asked, the My Number rule, the document, the ages — except the method's acceptance,
/// which depends on the policy of the day it was made (the store keeps records from tampering). `Debug` names the items present, never their values (the
/// 4 facts and the My Number stay out of logs).
#[derive(Clone, PartialEq, Eq)]
pub struct VerificationRecord(RecordData);

impl Serialize for VerificationRecord {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for VerificationRecord {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let data = RecordData::deserialize(d)?;
        data.check().map_err(serde::de::Error::custom)?;
        Ok(VerificationRecord(data))
    }
}

impl fmt::Debug for VerificationRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerificationRecord")
            .field("law", &self.0.law)
            .field("transaction", &self.0.transaction)
            .field("method", &self.0.method)
            .field("checked_at", &self.0.checked_at)
            .field("items", &self.items())
            .field("retain_until", &self.0.retain_until)
            .finish_non_exhaustive()
    }
}

impl VerificationRecord {
    /// Starts a record of a check made at `checked_at` by `method` for `transaction` under `law`.
    pub fn builder(law: Law, transaction: Transaction, method: Method, checked_at: OffsetDateTime) -> RecordBuilder {
        RecordBuilder {
            data: RecordData {
                law,
                transaction,
                method,
                checked_at,
                checked_by: None,
                document_type: None,
                document_number: None,
                name: None,
                address: None,
                birth_date: None,
                sex: None,
                age: None,
                age_check: None,
                occupation: None,
                purpose_of_transaction: None,
                evidence_id: None,
                prior_record: None,
                my_number: None,
                my_number_purpose: None,
                required_items: Vec::new(),
                basis: String::new(),
                retain_until: RetainUntil::NotMandated,
            },
            contract_ended: None,
        }
    }

    /// The law.
    pub fn law(&self) -> Law {
        self.0.law
    }
    /// The transaction.
    pub fn transaction(&self) -> Transaction {
        self.0.transaction
    }
    /// The method.
    pub fn method(&self) -> Method {
        self.0.method
    }
    /// When the check was made.
    pub fn checked_at(&self) -> OffsetDateTime {
        self.0.checked_at
    }
    /// Who checked.
    pub fn checked_by(&self) -> Option<&str> {
        self.0.checked_by.as_deref()
    }
    /// The document or certificate.
    pub fn document_type(&self) -> Option<DocumentType> {
        self.0.document_type
    }
    /// Its number (the certificate serial for JPKI).
    pub fn document_number(&self) -> Option<&str> {
        self.0.document_number.as_deref()
    }
    /// 氏名.
    pub fn name(&self) -> Option<&str> {
        self.0.name.as_deref()
    }
    /// 住所.
    pub fn address(&self) -> Option<&str> {
        self.0.address.as_deref()
    }
    /// 生年月日.
    pub fn birth_date(&self) -> Option<Date> {
        self.0.birth_date
    }
    /// 性別.
    pub fn sex(&self) -> Option<&str> {
        self.0.sex.as_deref()
    }
    /// 年齢 on the day of the check.
    pub fn age(&self) -> Option<u16> {
        self.0.age
    }
    /// The age check.
    pub fn age_check(&self) -> Option<AgeCheck> {
        self.0.age_check
    }
    /// 職業.
    pub fn occupation(&self) -> Option<&str> {
        self.0.occupation.as_deref()
    }
    /// 取引を行う目的.
    pub fn purpose_of_transaction(&self) -> Option<&str> {
        self.0.purpose_of_transaction.as_deref()
    }
    /// The evidence id.
    pub fn evidence_id(&self) -> Option<&str> {
        self.0.evidence_id.as_deref()
    }
    /// The earlier record of an ongoing customer.
    pub fn prior_record(&self) -> Option<&str> {
        self.0.prior_record.as_deref()
    }
    /// The My Number (only in a My Number Act collection record).
    pub fn my_number(&self) -> Option<&MyNumber> {
        self.0.my_number.as_ref()
    }
    /// Its purpose.
    pub fn my_number_purpose(&self) -> Option<MyNumberPurpose> {
        self.0.my_number_purpose
    }
    /// The items the law asked when the record was made.
    pub fn required_items(&self) -> &[RecordItem] {
        &self.0.required_items
    }
    /// The legal basis of the method's acceptance when the record was made.
    pub fn basis(&self) -> &str {
        &self.0.basis
    }
    /// Until when it is kept.
    pub fn retain_until(&self) -> RetainUntil {
        self.0.retain_until
    }
    /// The items it holds, in [`RecordItem`] order (what `Debug` shows).
    pub fn items(&self) -> Vec<RecordItem> {
        use RecordItem as I;
        [
            I::Method,
            I::CheckedAt,
            I::CheckedBy,
            I::DocumentType,
            I::DocumentNumber,
            I::Name,
            I::Address,
            I::BirthDate,
            I::Sex,
            I::Age,
            I::AgeCheck,
            I::Occupation,
            I::PurposeOfTransaction,
            I::EvidenceId,
            I::PriorRecord,
            I::MyNumber,
            I::MyNumberPurpose,
        ]
        .into_iter()
        .filter(|i| self.0.has(*i))
        .collect()
    }

    /// The contract ended on `on` (Japan time): a record kept "`years` after the contract ends"
    /// gets its last day. Refused for a record not bound to a contract end, or a day before the
    /// check.
    pub fn contract_ended(mut self, on: Date) -> Result<VerificationRecord, RecordError> {
        let RetainUntil::YearsAfterContractEnds { years } = self.0.retain_until else {
            return Err(RecordError::ContractEnd);
        };
        if on < self.0.check_date() {
            return Err(RecordError::ContractEnd);
        }
        let until = period_end(on, years).ok_or(RecordError::DateOutOfRange)?;
        self.0.retain_until = RetainUntil::Date { until };
        Ok(self)
    }
}

/// The builder of a [`VerificationRecord`] (consuming `with_*`; [`RecordBuilder::build`] checks).
#[derive(Clone)]
#[must_use]
pub struct RecordBuilder {
    data: RecordData,
    contract_ended: Option<Date>,
}

impl fmt::Debug for RecordBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordBuilder")
            .field("law", &self.data.law)
            .field("transaction", &self.data.transaction)
            .field("method", &self.data.method)
            .finish_non_exhaustive()
    }
}

impl RecordBuilder {
    /// Who checked (a staff id, or the system that did).
    pub fn with_checked_by(mut self, who: impl Into<String>) -> Self {
        self.data.checked_by = Some(who.into());
        self
    }
    /// The document or certificate and its number (the certificate serial for JPKI; for a My
    /// Number Card never the My Number).
    pub fn with_document(mut self, kind: DocumentType, number: impl Into<String>) -> Self {
        self.data.document_type = Some(kind);
        self.data.document_number = Some(number.into());
        self
    }
    /// The document or certificate, without a number.
    pub fn with_document_type(mut self, kind: DocumentType) -> Self {
        self.data.document_type = Some(kind);
        self
    }
    /// 氏名.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.data.name = Some(name.into());
        self
    }
    /// 住所.
    pub fn with_address(mut self, address: impl Into<String>) -> Self {
        self.data.address = Some(address.into());
        self
    }
    /// 生年月日. When the law asks for the age or an age check and none is given, `build`
    /// derives it from the birth date on the day of the check.
    pub fn with_birth_date(mut self, birth: Date) -> Self {
        self.data.birth_date = Some(birth);
        self
    }
    /// 性別.
    pub fn with_sex(mut self, sex: impl Into<String>) -> Self {
        self.data.sex = Some(sex.into());
        self
    }
    /// 年齢 on the day of the check.
    pub fn with_age(mut self, age: u16) -> Self {
        self.data.age = Some(age);
        self
    }
    /// The age check (without the birth date: what a dating service needs to keep).
    pub fn with_age_check(mut self, check: AgeCheck) -> Self {
        self.data.age_check = Some(check);
        self
    }
    /// 職業.
    pub fn with_occupation(mut self, occupation: impl Into<String>) -> Self {
        self.data.occupation = Some(occupation.into());
        self
    }
    /// 取引を行う目的.
    pub fn with_purpose_of_transaction(mut self, purpose: impl Into<String>) -> Self {
        self.data.purpose_of_transaction = Some(purpose.into());
        self
    }
    /// The evidence id (the platform's `evidence_id`, or the id of the stored chip data/images).
    pub fn with_evidence_id(mut self, id: impl Into<String>) -> Self {
        self.data.evidence_id = Some(id.into());
        self
    }
    /// The earlier record of an ongoing customer.
    pub fn with_prior_record(mut self, id: impl Into<String>) -> Self {
        self.data.prior_record = Some(id.into());
        self
    }
    /// The My Number and why it is collected; `build` refuses it outside the My Number Act's
    /// [`Transaction::MyNumberCollection`].
    pub fn with_my_number(mut self, number: MyNumber, purpose: MyNumberPurpose) -> Self {
        self.data.my_number = Some(number);
        self.data.my_number_purpose = Some(purpose);
        self
    }
    /// The day the contract ended, when it already has (a one-off contract).
    pub fn with_contract_ended(mut self, on: Date) -> Self {
        self.contract_ended = Some(on);
        self
    }

    /// Checks the record against `policy` on the day of the check (Japan time) and makes it.
    pub fn build(self, policy: &Policy) -> Result<VerificationRecord, RecordError> {
        let RecordBuilder { mut data, contract_ended } = self;
        let on = data.check_date();
        let decision = policy.decide(data.law, data.transaction, data.method, on);
        if !decision.accepted {
            return Err(RecordError::MethodRefused(Box::new(decision)));
        }
        if let Some(birth) = data.birth_date {
            if decision.required_items.contains(&RecordItem::Age) && data.age.is_none() {
                data.age = age_on(birth, on);
            }
            if decision.required_items.contains(&RecordItem::AgeCheck) && data.age_check.is_none() {
                if let Some(at_least) = data.law.minimum_age() {
                    data.age_check = AgeCheck::from_birth_date(birth, on, at_least);
                }
            }
        }
        data.retain_until = match decision.retention {
            Retention::AfterContractEnds { years } => match contract_ended {
                Some(end) if end < on => return Err(RecordError::ContractEnd),
                Some(end) => RetainUntil::Date { until: period_end(end, years).ok_or(RecordError::DateOutOfRange)? },
                None => RetainUntil::YearsAfterContractEnds { years },
            },
            Retention::AfterTransaction { years } => {
                RetainUntil::Date { until: period_end(on, years).ok_or(RecordError::DateOutOfRange)? }
            }
            Retention::NotMandated => RetainUntil::NotMandated,
        };
        data.required_items = decision.required_items;
        data.basis = decision.basis.to_string();
        data.check()?;
        Ok(VerificationRecord(data))
    }
}

/// `Date` as `YYYY-MM-DD` in serde.
pub(super) mod date_format {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::format_description::BorrowedFormatItem;
    use time::macros::format_description;
    use time::Date;

    pub(super) const FORMAT: &[BorrowedFormatItem<'static>] = format_description!("[year]-[month]-[day]");

    pub(crate) fn serialize<S: Serializer>(d: &Date, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&d.format(FORMAT).map_err(serde::ser::Error::custom)?)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        let s = String::deserialize(d)?;
        Date::parse(&s, FORMAT).map_err(serde::de::Error::custom)
    }
}

/// `OffsetDateTime` as RFC 3339 in serde.
mod rfc3339 {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::format_description::well_known::Rfc3339;
    use time::OffsetDateTime;

    pub(super) fn serialize<S: Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.format(&Rfc3339).map_err(serde::ser::Error::custom)?)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
        let s = String::deserialize(d)?;
        OffsetDateTime::parse(&s, &Rfc3339).map_err(serde::de::Error::custom)
    }
}

/// `Option<Date>` as `YYYY-MM-DD` in serde.
mod opt_date_format {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::Date;

    pub(super) fn serialize<S: Serializer>(d: &Option<Date>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => super::date_format::serialize(d, s),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Date>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(s) => Date::parse(&s, super::date_format::FORMAT).map(Some).map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use time::macros::date;

    #[test]
    fn period_end_follows_the_civil_code() {
        // 7 years from the day after 2025-03-31: ends 2032-03-31.
        assert_eq!(period_end(date!(2025 - 03 - 31), 7), Some(date!(2032 - 03 - 31)));
        // Started on 29 February, final year without one: the end of February.
        assert_eq!(period_end(date!(2024 - 02 - 28), 7), Some(date!(2031 - 02 - 28)));
        // Started on 1 March, final year a leap year: ends on 29 February.
        assert_eq!(period_end(date!(2025 - 02 - 28), 7), Some(date!(2032 - 02 - 29)));
        assert_eq!(period_end(date!(2026 - 12 - 31), 3), Some(date!(2029 - 12 - 31)));
    }

    #[test]
    fn age_counts_from_the_anniversary() {
        assert_eq!(age_on(date!(2008 - 04 - 01), date!(2026 - 03 - 31)), Some(17));
        assert_eq!(age_on(date!(2008 - 04 - 01), date!(2026 - 04 - 01)), Some(18));
        assert_eq!(age_on(date!(2008 - 02 - 29), date!(2026 - 02 - 28)), Some(17));
        assert_eq!(age_on(date!(2008 - 02 - 29), date!(2026 - 03 - 01)), Some(18));
        assert_eq!(age_on(date!(2030 - 01 - 01), date!(2026 - 03 - 01)), None);
        assert_eq!(
            AgeCheck::from_birth_date(date!(2008 - 04 - 02), date!(2026 - 04 - 01), 18),
            Some(AgeCheck { at_least: 18, holds: false })
        );
    }

    #[test]
    fn my_number_parses_checks_and_never_prints() {
        // 12345678901 → check digit 8 (Σ = 1×6+2×5+… by the ordinance's weights).
        let body = "12345678901";
        let good = (0..10).map(|d| format!("{body}{d}")).filter(|s| MyNumber::parse(s).is_ok()).collect::<Vec<_>>();
        assert_eq!(good, vec!["123456789018".to_string()]);
        // The card crate's vectors: 00000000001 → 9, 10000000000 → 5, 00000000000 → 0.
        assert!(MyNumber::parse("000000000019").is_ok());
        assert!(MyNumber::parse("100000000005").is_ok());
        assert!(MyNumber::parse("000000000000").is_ok());
        assert_eq!(MyNumber::parse("12345678901"), Err(MyNumberError::Length));
        assert_eq!(MyNumber::parse("12345678901x"), Err(MyNumberError::NotDigits));
        assert_eq!(MyNumber::parse("123456789010"), Err(MyNumberError::CheckDigit));
        let n = MyNumber::parse("123456789018").unwrap();
        assert_eq!(format!("{n:?} {n}"), "MyNumber([elided]) [elided]");
        assert_eq!(n.expose(), "123456789018");
    }
}
