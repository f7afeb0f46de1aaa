//! Identity-check policy by law (法令別の本人確認方法): which methods a law accepts for a
//! transaction, which items the verification record (確認記録) must hold, and how long it is kept.
//!
//! Pure and table-driven: no I/O, no clock. The date of the check comes in as an argument,
//! because the table changes on [`SWITCH_2027`] (2027-04-01), when image-only non-face-to-face
//! methods are abolished and in-person checks must read the IC chip.
//!
//! # Sources
//!
//! Every cell of [`Policy::standard`] cites where it comes from. "seed 001" is the Cabinet
//! Secretariat's 「本人確認のデジタル化・厳格化の推進について (説明資料)」 (内閣官房 IT総合戦略室,
//! 2019); its slides 「法律別本人確認方法①」 and 「法律別本人確認方法②」 are the law × method
//! matrix for the My Number Act (番号法), the AML Act (犯収法) and the mobile-phone Act (携帯法),
//! and their rows are cited as `(form)number`, e.g. `(6)②` = オンライン完結 ② 公的個人認証による
//! 電子署名. "seed 000" is the Digital Agency's JPKI deck (2024, 重点計画 No.1-36 「犯収法等における
//! 非対面本人確認方法の JPKI 一本化」, 利活用事例 1–17), "seed 003" the authentication-app deck
//! whose table 「法令に基づく本人確認」 gives the items each law asks. `shared/spec/40-id-documents.md`
//! §4 gives the 2027-04-01 date and the 7-year retention. Articles marked *(statute)* come from
//! the acts themselves, not from the seeds.
//!
//! The AML ordinance (犯収法施行規則 第6条第1項第1号) names its methods by letters that have been
//! renumbered; the seeds say 「ワ」 for the JPKI signature method and 「ホ」 for the photo-ID image
//! and selfie method (seed 000, 利活用事例1 「Before ((ホ)方式) / After (JPKI方式 (ワ)方式)」). This
//! module names methods by content ([`Method`]), never by letter.
//!
//! ```
//! use hanko_sp::kyc::{Law, Method, Policy, Transaction};
//! use time::macros::date;
//!
//! let policy = Policy::standard();
//! let yes = policy.decide(Law::AmlAct, Transaction::AccountOpening, Method::JpkiSignature, date!(2026 - 05 - 01));
//! assert!(yes.accepted);
//! // The JPKI login certificate carries no name, address or birth date: no identity check.
//! let no = policy.decide(Law::AmlAct, Transaction::AccountOpening, Method::JpkiUserAuthentication, date!(2026 - 05 - 01));
//! assert!(!no.accepted);
//! // Photo-ID image + selfie (「ホ」) is abolished from 2027-04-01.
//! let before = policy.decide(Law::AmlAct, Transaction::AccountOpening, Method::ImageUpload, date!(2027 - 03 - 31));
//! let after = policy.decide(Law::AmlAct, Transaction::AccountOpening, Method::ImageUpload, date!(2027 - 04 - 01));
//! assert!(before.accepted && !after.accepted);
//! ```

use serde::{Deserialize, Serialize};
use time::macros::date;
use time::Date;

mod record;

pub use record::{
    age_on, AgeCheck, MyNumber, MyNumberError, MyNumberPurpose, RecordBuilder, RecordError, RetainUntil,
    VerificationRecord,
};

/// The day the 2024 plan's reform applies (seed 000, 重点計画 No.1-36; the date from
/// `shared/spec/40-id-documents.md` §4): non-face-to-face methods that send images or copies of an
/// ID (「運転免許証等を送信する方法」, 「eKYCの画像撮影方式や郵送方式」) are abolished, and a
/// photo ID with a chip shown in person must have its chip read (「対面でもマイナンバーカード等の
/// ICチップ情報の読み取りを犯収法及び携帯電話不正利用防止法の本人確認において義務付ける」).
pub const SWITCH_2027: Date = date!(2027 - 04 - 01);

/// The age the online-dating Act asks a user to have reached (出会い系サイト規制法: 児童 = under 18;
/// seed 003 「生年月日等（児童でないこと）」, seed 000 利活用事例14 「18歳以上であることを確認する目的」).
pub const DATING_MINIMUM_AGE: u8 = 18;

/// A law that asks a business for an identity check (本人確認).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Law {
    /// 行政手続における特定の個人を識別するための番号の利用等に関する法律 (番号法, the My Number
    /// Act): a business that receives a My Number checks the number and the person (番号確認と身元
    /// 確認, Art. 16 *(statute)*; seed 001 「マイナンバー制度の概要」 I-3).
    MyNumberAct,
    /// 犯罪による収益の移転防止に関する法律 (犯収法, the Act on Prevention of Transfer of Criminal
    /// Proceeds — the AML Act): 取引時確認 (Art. 4), 確認記録 kept 7 years (Art. 6) *(statute)*.
    AmlAct,
    /// 携帯音声通信事業者による契約者等の本人確認等及び携帯音声通信役務の不正な利用の防止に関する
    /// 法律 (携帯電話不正利用防止法, the mobile-phone improper-use Act): a carrier checks the person
    /// at contract and at transfer (Art. 3), 本人確認記録 (Art. 4) *(statute)*.
    MobilePhoneAct,
    /// 古物営業法 (the second-hand goods Act): a dealer buying second-hand goods checks name,
    /// address, occupation and age (Art. 15) and keeps the ledger 3 years (Art. 18) *(statute)*;
    /// items from seed 003.
    SecondHandGoodsAct,
    /// インターネット異性紹介事業を利用して児童を誘引する行為の規制等に関する法律 (出会い系サイト
    /// 規制法, the online-dating Act): the operator confirms a user is not a child (Art. 11
    /// *(statute)*; 施行規則 第5条, seed 000 利活用事例14).
    OnlineDatingAct,
}

impl Law {
    /// Every law of the table, in table order.
    pub const ALL: [Law; 5] =
        [Law::MyNumberAct, Law::AmlAct, Law::MobilePhoneAct, Law::SecondHandGoodsAct, Law::OnlineDatingAct];

    /// The English short name.
    pub fn name_en(self) -> &'static str {
        match self {
            Law::MyNumberAct => "the My Number Act",
            Law::AmlAct => "the AML Act",
            Law::MobilePhoneAct => "the mobile-phone Act",
            Law::SecondHandGoodsAct => "the second-hand goods Act",
            Law::OnlineDatingAct => "the online-dating Act",
        }
    }

    /// The age a person must have reached for the law's transaction, when the law asks one
    /// ([`DATING_MINIMUM_AGE`] for the online-dating Act).
    pub fn minimum_age(self) -> Option<u8> {
        match self {
            Law::OnlineDatingAct => Some(DATING_MINIMUM_AGE),
            _ => None,
        }
    }

    /// The Japanese short name.
    pub fn name_ja(self) -> &'static str {
        match self {
            Law::MyNumberAct => "番号法",
            Law::AmlAct => "犯罪収益移転防止法",
            Law::MobilePhoneAct => "携帯電話不正利用防止法",
            Law::SecondHandGoodsAct => "古物営業法",
            Law::OnlineDatingAct => "出会い系サイト規制法",
        }
    }
}

/// What the customer is doing when the check happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Transaction {
    /// Opening an account (口座開設: 預貯金契約, 証券口座 …) — a 特定取引 of the AML Act.
    AccountOpening,
    /// An already-verified customer comes back (ログイン; 取引時確認済みの顧客との取引): the
    /// business confirms it is the same person as in the earlier record instead of a new check
    /// (AML Act Art. 4(3) *(statute)*; seed 001 「民間事業者の公的個人認証サービス利用フロー」
    /// 「次回以降の手順」 ④' 利用者証明検証).
    Login,
    /// Signing a contract that is itself a 特定取引 (a loan, an insurance contract, a real-estate
    /// sale by a 宅地建物取引業者: seed 003 犯収法 row; seed 000 利活用事例8).
    ContractSigning,
    /// Contracting (or transferring the name of) a mobile line or SIM (携帯電話の契約・譲渡; seed
    /// 003 携帯電話不正利用防止法 row).
    MobileContract,
    /// Buying, exchanging or taking on consignment second-hand goods (古物の買受け等; seed 003
    /// 古物営業法 row).
    SecondHandPurchase,
    /// Signing up to an online dating service (出会い系サイトの利用開始; seed 003 row).
    DatingSignUp,
    /// Receiving a customer's or employee's My Number (個人番号の提供を受ける; seed 000
    /// 利活用事例4, 6, 11).
    MyNumberCollection,
}

impl Transaction {
    /// Every transaction of the table.
    pub const ALL: [Transaction; 7] = [
        Transaction::AccountOpening,
        Transaction::Login,
        Transaction::ContractSigning,
        Transaction::MobileContract,
        Transaction::SecondHandPurchase,
        Transaction::DatingSignUp,
        Transaction::MyNumberCollection,
    ];

    /// The English name.
    pub fn name_en(self) -> &'static str {
        match self {
            Transaction::AccountOpening => "account opening",
            Transaction::Login => "an ongoing customer's login",
            Transaction::ContractSigning => "contract signing",
            Transaction::MobileContract => "a mobile-phone contract",
            Transaction::SecondHandPurchase => "a second-hand purchase",
            Transaction::DatingSignUp => "a dating-service sign-up",
            Transaction::MyNumberCollection => "My Number collection",
        }
    }

    /// The Japanese name.
    pub fn name_ja(self) -> &'static str {
        match self {
            Transaction::AccountOpening => "口座開設",
            Transaction::Login => "取引時確認済みの顧客のログイン",
            Transaction::ContractSigning => "契約締結",
            Transaction::MobileContract => "携帯電話の契約",
            Transaction::SecondHandPurchase => "古物の買受け",
            Transaction::DatingSignUp => "出会い系サイトの利用開始",
            Transaction::MyNumberCollection => "個人番号の取得",
        }
    }
}

/// How the identity is checked, named by content (the AML ordinance's letters were renumbered).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Method {
    /// 公的個人認証による電子署名: the JPKI signature certificate (署名用電子証明書, with name,
    /// address, birth date, sex) and a signature it verifies over the transaction (「ワ」 in the
    /// seeds; seed 001 (6)②).
    JpkiSignature,
    /// The same with the smartphone JPKI signature certificate (スマホ用署名用電子証明書; the
    /// smartphone My Number Card, カード代替電磁的記録, seed 000 「スマホ用電子証明書搭載サービス」
    /// and 【資料1】): no card tap and no selfie.
    SmartphoneJpkiSignature,
    /// 電子利用者証明: the JPKI user-authentication certificate (利用者証明用電子証明書) and its
    /// signature over a challenge — a login. Its certificate holds no name, address or birth date
    /// (seed 001 「公的個人認証サービスの概要について」 「基本4情報の記載なし」, 「利用者本人であること
    /// のみを証明」): it is **not** an identity check for a new customer, only for an ongoing one.
    JpkiUserAuthentication,
    /// The same with the smartphone user-authentication certificate (スマホ用利用者証明用電子証明書).
    SmartphoneJpkiUserAuthentication,
    /// Online reading of the My Number Card's chip (個人番号カード(ICチップの読み取り), the
    /// input-assist AP with its signature; seed 001 (6)①): the My Number Act's online method.
    MyNumberCardChipRead,
    /// The IC chip of a photo ID (its signed data) and a selfie taken in the business's software
    /// (本人確認用画像情報(容貌) + 写真付き本人確認書類のICチップ情報; seed 001 (6)⑤).
    ChipAndSelfie,
    /// Images of a photo ID and a selfie taken in the business's software (写真付き本人確認書類の
    /// 画像 + 容貌の画像; 「ホ」 in the seeds; seed 001 (6)④). Abolished from [`SWITCH_2027`].
    ImageUpload,
    /// An accredited certification business's certificate with name, address and birth date
    /// under the e-Signature Act (電子署名法に基づく電子証明書; seed 001 (6)⑧).
    AccreditedESignature,
    /// An ID or its copy sent by the customer, then the transaction documents sent by registered
    /// mail not to be forwarded to the address on it (本人確認書類又はその写しの送付 + 書留郵便等
    /// による転送不要郵便物; seed 001 (3)③). Abolished from [`SWITCH_2027`] (seed 000 「郵送方式」).
    DocumentsByRegisteredMail,
    /// In person: the photo ID's IC chip read and verified, and compared with the card face
    /// (対面でのICチップ読み取り; seed 001 「本人確認のデジタル化・厳格化の方法（対面）」; seed 000
    /// 「マイナンバーカード対面確認アプリ」).
    FaceToFaceChipRead,
    /// In person: a photo ID shown and only its face looked at (対面・券面の目視; seed 001 (1)①–③).
    /// From [`SWITCH_2027`] the AML and mobile-phone Acts ask for the chip to be read instead.
    FaceToFacePhotoId,
    /// In person: one public document without a photo (health-insurance card, pension book …;
    /// seed 001 (1)④–⑤).
    FaceToFaceNonPhotoDocument,
}

impl Method {
    /// Every method of the table, in table order.
    pub const ALL: [Method; 12] = [
        Method::JpkiSignature,
        Method::SmartphoneJpkiSignature,
        Method::JpkiUserAuthentication,
        Method::SmartphoneJpkiUserAuthentication,
        Method::MyNumberCardChipRead,
        Method::ChipAndSelfie,
        Method::ImageUpload,
        Method::AccreditedESignature,
        Method::DocumentsByRegisteredMail,
        Method::FaceToFaceChipRead,
        Method::FaceToFacePhotoId,
        Method::FaceToFaceNonPhotoDocument,
    ];

    /// The English name.
    pub fn name_en(self) -> &'static str {
        match self {
            Method::JpkiSignature => "JPKI signature certificate + signature",
            Method::SmartphoneJpkiSignature => "smartphone JPKI signature certificate + signature",
            Method::JpkiUserAuthentication => "JPKI user authentication (login)",
            Method::SmartphoneJpkiUserAuthentication => "smartphone JPKI user authentication (login)",
            Method::MyNumberCardChipRead => "My Number Card chip read online",
            Method::ChipAndSelfie => "photo-ID IC chip + selfie",
            Method::ImageUpload => "photo-ID image + selfie upload",
            Method::AccreditedESignature => "accredited e-signature certificate + signature",
            Method::DocumentsByRegisteredMail => "ID by post + documents by registered mail",
            Method::FaceToFaceChipRead => "in person: chip read and compared with the card face",
            Method::FaceToFacePhotoId => "in person: photo ID looked at",
            Method::FaceToFaceNonPhotoDocument => "in person: one document without a photo",
        }
    }

    /// The Japanese name.
    pub fn name_ja(self) -> &'static str {
        match self {
            Method::JpkiSignature => "公的個人認証（署名用電子証明書＋電子署名）",
            Method::SmartphoneJpkiSignature => "スマホ用署名用電子証明書＋電子署名",
            Method::JpkiUserAuthentication => "公的個人認証（利用者証明用電子証明書）",
            Method::SmartphoneJpkiUserAuthentication => "スマホ用利用者証明用電子証明書",
            Method::MyNumberCardChipRead => "個人番号カードのICチップ読み取り（オンライン）",
            Method::ChipAndSelfie => "写真付き本人確認書類のICチップ情報＋容貌の画像",
            Method::ImageUpload => "写真付き本人確認書類の画像＋容貌の画像",
            Method::AccreditedESignature => "電子署名法の認定認証業務の電子証明書＋電子署名",
            Method::DocumentsByRegisteredMail => "本人確認書類の送付＋転送不要郵便",
            Method::FaceToFaceChipRead => "対面：ICチップ読み取り＋券面との照合",
            Method::FaceToFacePhotoId => "対面：写真付き本人確認書類の券面確認",
            Method::FaceToFaceNonPhotoDocument => "対面：顔写真のない本人確認書類",
        }
    }

    /// Whether the customer is in front of the business's staff.
    pub fn is_face_to_face(self) -> bool {
        matches!(self, Method::FaceToFaceChipRead | Method::FaceToFacePhotoId | Method::FaceToFaceNonPhotoDocument)
    }

    /// Whether the method leaves electronic evidence (a platform evidence id, the chip data, the
    /// images) that the record must point to (spec 40 §4: 「attach the evidence (chip data,
    /// signature, certificate, for selfie methods the images)」). A card face looked at, or a
    /// document received by post, leaves none.
    pub fn leaves_electronic_evidence(self) -> bool {
        !matches!(
            self,
            Method::FaceToFacePhotoId | Method::FaceToFaceNonPhotoDocument | Method::DocumentsByRegisteredMail
        )
    }

    /// The documents or certificates this method works with: a record whose document type is not
    /// one of these is refused.
    pub fn document_types(self) -> &'static [DocumentType] {
        use DocumentType as D;
        const CHIP_IDS: &[DocumentType] = &[
            D::MyNumberCard,
            D::DriversLicence,
            D::ResidenceCard,
            D::SpecialPermanentResidentCertificate,
            D::Passport,
        ];
        const PHOTO_IDS: &[DocumentType] = &[
            D::MyNumberCard,
            D::DriversLicence,
            D::ResidenceCard,
            D::SpecialPermanentResidentCertificate,
            D::Passport,
            D::OtherPhotoId,
        ];
        const ANY_ID: &[DocumentType] = &[
            D::MyNumberCard,
            D::DriversLicence,
            D::ResidenceCard,
            D::SpecialPermanentResidentCertificate,
            D::Passport,
            D::OtherPhotoId,
            D::NonPhotoDocument,
        ];
        match self {
            Method::JpkiSignature => &[D::JpkiSignatureCertificate],
            Method::SmartphoneJpkiSignature => &[D::SmartphoneJpkiSignatureCertificate],
            Method::JpkiUserAuthentication => &[D::JpkiUserCertificate],
            Method::SmartphoneJpkiUserAuthentication => &[D::SmartphoneJpkiUserCertificate],
            Method::MyNumberCardChipRead => &[D::MyNumberCard],
            Method::ChipAndSelfie | Method::FaceToFaceChipRead => CHIP_IDS,
            Method::ImageUpload | Method::FaceToFacePhotoId => PHOTO_IDS,
            Method::AccreditedESignature => &[D::AccreditedSignatureCertificate],
            Method::DocumentsByRegisteredMail => ANY_ID,
            Method::FaceToFaceNonPhotoDocument => &[D::NonPhotoDocument],
        }
    }
}

/// The document or certificate a check relied on (本人確認書類の名称).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DocumentType {
    /// マイナンバーカード (個人番号カード). Its number for the record is never the My Number (the
    /// face-to-face check app keeps the 8 digits of 照合番号B without the birth date, seed 000).
    MyNumberCard,
    /// 運転免許証 (a driver's licence).
    DriversLicence,
    /// 在留カード (a residence card).
    ResidenceCard,
    /// 特別永住者証明書 (a special permanent resident certificate).
    SpecialPermanentResidentCertificate,
    /// 旅券 (a passport). Japanese passports issued since 2020-02-04 carry no address.
    Passport,
    /// Another government photo ID with name, address and birth date (seed 001 (1)③).
    OtherPhotoId,
    /// A public document without a photo (health-insurance card, pension book …; seed 001 (1)④⑤).
    NonPhotoDocument,
    /// The JPKI signature certificate (署名用電子証明書); its number is the certificate serial
    /// (発行番号).
    JpkiSignatureCertificate,
    /// The smartphone JPKI signature certificate (スマホ用署名用電子証明書).
    SmartphoneJpkiSignatureCertificate,
    /// The JPKI user-authentication certificate (利用者証明用電子証明書).
    JpkiUserCertificate,
    /// The smartphone JPKI user-authentication certificate (スマホ用利用者証明用電子証明書).
    SmartphoneJpkiUserCertificate,
    /// An accredited e-signature certificate (電子署名法の認定認証業務の電子証明書).
    AccreditedSignatureCertificate,
}

/// One item a verification record must hold (確認記録の記録事項).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RecordItem {
    /// The method used (本人確認の方法).
    Method,
    /// When the check was made (確認を行った日付及び時刻 / 提示を受けた日付及び時刻; seed 001 (3)④).
    CheckedAt,
    /// Who checked (確認を行った者の氏名その他の当該者を特定するに足りる事項; seed 001 (3)④).
    CheckedBy,
    /// The document or certificate (本人確認書類の名称; seed 001 (3)④).
    DocumentType,
    /// Its number (記号番号その他の当該本人確認書類を特定するに足りる事項; seed 001 (3)④): the
    /// certificate serial for the JPKI methods.
    DocumentNumber,
    /// 氏名 (name).
    Name,
    /// 住所 / 住居 (address).
    Address,
    /// 生年月日 (birth date).
    BirthDate,
    /// The birth date or the address (生年月日又は住所; the My Number Act's 身元確認, seed 001 (2)②
    /// 「i氏名、ii生年月日又は住所」).
    BirthDateOrAddress,
    /// 性別 (sex): the 4th of the 4 facts; no law of this table asks for it.
    Sex,
    /// 年齢 (age in years on the day of the check; the second-hand goods Act, seed 003).
    Age,
    /// Whether the person has reached the law's age (the online-dating Act: 18, seed 000
    /// 利活用事例14, seed 003 「児童でないこと」).
    AgeCheck,
    /// 職業 (occupation; AML, seed 001 (8)① and seed 003; the second-hand goods Act, seed 003).
    Occupation,
    /// 取引を行う目的 (purpose of the transaction; AML, seed 001 (8)① and seed 003).
    PurposeOfTransaction,
    /// The evidence of an electronic check (the platform's evidence id, the chip data or images).
    EvidenceId,
    /// The earlier record of an ongoing customer (確認記録を検索するための事項).
    PriorRecord,
    /// 個人番号 (the My Number) — only ever under the My Number Act with an authorised purpose.
    MyNumber,
    /// The authorised purpose of collecting the My Number (個人番号関係事務の分野).
    MyNumberPurpose,
}

impl RecordItem {
    /// The English name.
    pub fn name_en(self) -> &'static str {
        match self {
            RecordItem::Method => "method",
            RecordItem::CheckedAt => "time of check",
            RecordItem::CheckedBy => "who checked",
            RecordItem::DocumentType => "document or certificate",
            RecordItem::DocumentNumber => "document number or certificate serial",
            RecordItem::Name => "name",
            RecordItem::Address => "address",
            RecordItem::BirthDate => "birth date",
            RecordItem::BirthDateOrAddress => "birth date or address",
            RecordItem::Sex => "sex",
            RecordItem::Age => "age",
            RecordItem::AgeCheck => "age check",
            RecordItem::Occupation => "occupation",
            RecordItem::PurposeOfTransaction => "purpose of the transaction",
            RecordItem::EvidenceId => "evidence id",
            RecordItem::PriorRecord => "earlier record",
            RecordItem::MyNumber => "My Number",
            RecordItem::MyNumberPurpose => "My Number purpose",
        }
    }

    /// The Japanese name.
    pub fn name_ja(self) -> &'static str {
        match self {
            RecordItem::Method => "本人確認の方法",
            RecordItem::CheckedAt => "確認の日付及び時刻",
            RecordItem::CheckedBy => "確認を行った者",
            RecordItem::DocumentType => "本人確認書類の名称",
            RecordItem::DocumentNumber => "記号番号",
            RecordItem::Name => "氏名",
            RecordItem::Address => "住所",
            RecordItem::BirthDate => "生年月日",
            RecordItem::BirthDateOrAddress => "生年月日又は住所",
            RecordItem::Sex => "性別",
            RecordItem::Age => "年齢",
            RecordItem::AgeCheck => "年齢確認の結果",
            RecordItem::Occupation => "職業",
            RecordItem::PurposeOfTransaction => "取引を行う目的",
            RecordItem::EvidenceId => "証跡",
            RecordItem::PriorRecord => "確認記録を検索するための事項",
            RecordItem::MyNumber => "個人番号",
            RecordItem::MyNumberPurpose => "個人番号の利用目的",
        }
    }
}

/// How long a record is kept, as the law of the rule says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Retention {
    /// `years` from the day the contract ends (AML Act Art. 6(2): 確認記録 「特定取引等に係る契約が
    /// 終了した日…から、七年間」; mobile-phone Act Art. 4(2): three years *(statute)*).
    AfterContractEnds {
        /// The number of years.
        years: u8,
    },
    /// `years` from the day of the transaction (AML Act Art. 7(3): 取引記録 7 years; second-hand
    /// goods Act Art. 18(1): the ledger 3 years from the last entry *(statute)*).
    AfterTransaction {
        /// The number of years.
        years: u8,
    },
    /// The law sets no period in this table: keep only as long as the purpose needs (the My
    /// Number Act Art. 20 forbids keeping a My Number beyond it *(statute)*).
    NotMandated,
}

/// Whether a law accepts a method for a transaction: one cell of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Acceptance {
    /// Accepted (○ in seed 001).
    Accepted,
    /// Accepted before `from`, abolished from that day on.
    AbolishedFrom {
        /// The first day it is refused.
        from: Date,
    },
    /// Not accepted by the law (× in seed 001).
    NotAccepted,
    /// The method proves only "same person as before", without the facts the law asks: it is no
    /// identity check here.
    NotAnIdentityCheck,
}

/// One cell: a method's acceptance under a rule, with where it comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cell {
    /// The method.
    pub method: Method,
    /// Its acceptance.
    pub acceptance: Acceptance,
    /// Where it comes from (seed slide and row, article), in English.
    pub basis: &'static str,
}

/// One row of the table: a law governing a transaction, the items its record must hold, the
/// retention, and the cells of the methods the sources speak of. A method with no cell is
/// refused ([`Verdict::NotInTable`]): the table never guesses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The law.
    pub law: Law,
    /// The transaction it governs.
    pub transaction: Transaction,
    /// The article and the seed that make the law govern the transaction and ask these items.
    pub basis: &'static str,
    /// The items the record must hold whatever the method ([`RecordItem::EvidenceId`] is added
    /// for methods that [leave electronic evidence](Method::leaves_electronic_evidence)).
    pub items: &'static [RecordItem],
    /// How long the record is kept.
    pub retention: Retention,
    /// The cells.
    pub cells: &'static [Cell],
}

impl Rule {
    /// The cell of a method, if the sources speak of it.
    pub fn cell(&self, method: Method) -> Option<&Cell> {
        self.cells.iter().find(|c| c.method == method)
    }

    /// The items the record must hold for a method, in [`RecordItem`] order.
    pub fn required_items(&self, method: Method) -> Vec<RecordItem> {
        let mut items = self.items.to_vec();
        if method.leaves_electronic_evidence() && !items.contains(&RecordItem::EvidenceId) {
            items.push(RecordItem::EvidenceId);
        }
        items.sort();
        items
    }
}

/// Why a method was accepted or refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Verdict {
    /// The law accepts the method for the transaction.
    Accepted,
    /// The law does not accept it.
    NotAccepted,
    /// It was accepted before `since` and is abolished from that day.
    Abolished {
        /// The first day it is refused.
        #[serde(serialize_with = "record::date_format::serialize")]
        since: Date,
    },
    /// It proves no facts: not an identity check for this transaction.
    NotAnIdentityCheck,
    /// The sources of this table say nothing about the method for this transaction: refused
    /// until a rule with a source is added.
    NotInTable,
    /// The law asks no identity check for this transaction in this table.
    NotGoverned,
}

/// The answer of [`Policy::decide`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Decision {
    /// The law asked about.
    pub law: Law,
    /// The transaction.
    pub transaction: Transaction,
    /// The method.
    pub method: Method,
    /// The day the decision is for.
    #[serde(serialize_with = "record::date_format::serialize")]
    pub on: Date,
    /// Whether the method may be used.
    pub accepted: bool,
    /// Why, as a code.
    pub verdict: Verdict,
    /// Why, as an English sentence for a person.
    pub reason_en: String,
    /// Why, as a Japanese sentence for a person.
    pub reason_ja: String,
    /// The legal basis of the cell (seed slide and row, article); empty when not governed.
    pub basis: &'static str,
    /// The legal basis of the rule (why the law governs the transaction and asks these items).
    pub rule_basis: &'static str,
    /// The items the verification record must hold (empty when refused).
    pub required_items: Vec<RecordItem>,
    /// How long the record is kept.
    pub retention: Retention,
}

/// The table of rules. [`Policy::standard`] is the table of the sources; [`Policy::with_rule`]
/// replaces or adds a row (for a business whose lawyers read an ordinance the seeds do not cover).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    rules: Vec<Rule>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy::standard()
    }
}

impl Policy {
    /// The standard table (see the module documentation for the sources).
    pub fn standard() -> Policy {
        Policy { rules: table::RULES.to_vec() }
    }

    /// The same policy with `rule` replacing the row of its law and transaction (or added).
    pub fn with_rule(mut self, rule: Rule) -> Policy {
        match self.rules.iter_mut().find(|r| r.law == rule.law && r.transaction == rule.transaction) {
            Some(existing) => *existing = rule,
            None => self.rules.push(rule),
        }
        self
    }

    /// The rows, in table order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The row of a law and a transaction, if the law governs it.
    pub fn rule(&self, law: Law, transaction: Transaction) -> Option<&Rule> {
        self.rules.iter().find(|r| r.law == law && r.transaction == transaction)
    }

    /// The laws that govern a transaction (a securities account with My Number collection is two
    /// transactions under two laws: seed 000 利活用事例4).
    pub fn laws_for(&self, transaction: Transaction) -> Vec<Law> {
        self.rules.iter().filter(|r| r.transaction == transaction).map(|r| r.law).collect()
    }

    /// The methods accepted on a day, in [`Method::ALL`] order (to offer on a page).
    pub fn accepted_methods(&self, law: Law, transaction: Transaction, on: Date) -> Vec<Method> {
        Method::ALL.into_iter().filter(|m| self.decide(law, transaction, *m, on).accepted).collect()
    }

    /// Whether `law` accepts `method` for `transaction` on the day `on` (the day of the check, in
    /// Japan time), why, on what basis, and which items the record must then hold.
    pub fn decide(&self, law: Law, transaction: Transaction, method: Method, on: Date) -> Decision {
        let (l_en, l_ja, t_en, t_ja, m_en, m_ja) = (
            law.name_en(),
            law.name_ja(),
            transaction.name_en(),
            transaction.name_ja(),
            method.name_en(),
            method.name_ja(),
        );
        let Some(rule) = self.rule(law, transaction) else {
            return Decision {
                law,
                transaction,
                method,
                on,
                accepted: false,
                verdict: Verdict::NotGoverned,
                reason_en: sentence(format!("In this table {l_en} asks no identity check for {t_en}.")),
                reason_ja: format!("この表では、{l_ja}は{t_ja}に本人確認を求めていません。"),
                basis: "",
                rule_basis: "",
                required_items: Vec::new(),
                retention: Retention::NotMandated,
            };
        };
        let (verdict, basis) = match rule.cell(method) {
            None => (Verdict::NotInTable, ""),
            Some(cell) => {
                let verdict = match cell.acceptance {
                    Acceptance::Accepted => Verdict::Accepted,
                    Acceptance::AbolishedFrom { from } if on < from => Verdict::Accepted,
                    Acceptance::AbolishedFrom { from } => Verdict::Abolished { since: from },
                    Acceptance::NotAccepted => Verdict::NotAccepted,
                    Acceptance::NotAnIdentityCheck => Verdict::NotAnIdentityCheck,
                };
                (verdict, cell.basis)
            }
        };
        let (reason_en, reason_ja) = match verdict {
            Verdict::Accepted => (
                format!("{l_en} accepts {m_en} for {t_en}."),
                format!("{l_ja}上、{t_ja}の本人確認として「{m_ja}」は認められています。"),
            ),
            Verdict::NotAccepted => (
                format!("{l_en} does not accept {m_en} for {t_en}."),
                format!("{l_ja}上、{t_ja}の本人確認として「{m_ja}」は認められていません。"),
            ),
            Verdict::Abolished { since } => (
                format!("{m_en} is abolished for {t_en} under {l_en} from {since}."),
                format!("「{m_ja}」は{since}以降、{l_ja}上の{t_ja}の本人確認として認められません（廃止）。"),
            ),
            Verdict::NotAnIdentityCheck => (
                format!(
                    "{m_en} proves only that the holder is the same person, without name, address or birth date: \
                     it is not an identity check for {t_en} under {l_en}."
                ),
                format!(
                    "「{m_ja}」は本人であることのみを証明し（基本4情報の記載なし）、{l_ja}上の{t_ja}の本人確認には\
                     なりません。"
                ),
            ),
            Verdict::NotInTable | Verdict::NotGoverned => (
                format!("This table has no source for {m_en} in {t_en} under {l_en}: refused."),
                format!("この表には{l_ja}上の{t_ja}における「{m_ja}」の根拠がないため、認めません。"),
            ),
        };
        let reason_en = sentence(reason_en);
        let accepted = verdict == Verdict::Accepted;
        Decision {
            law,
            transaction,
            method,
            on,
            accepted,
            verdict,
            reason_en,
            reason_ja,
            basis,
            rule_basis: rule.basis,
            required_items: if accepted { rule.required_items(method) } else { Vec::new() },
            retention: rule.retention,
        }
    }

    /// The law × method matrix as a markdown table (as in the crate README): one column per row
    /// of the table, `✓` accepted, `✓ until <day>` abolished from the next day, `✗` not accepted
    /// by the law, `✗ no facts` no identity check (a login proves no name, address or birth date),
    /// `·` no source (refused).
    pub fn markdown_matrix(&self) -> String {
        let mut out = String::from("| method |");
        for r in &self.rules {
            out.push_str(&format!(" {} — {} |", r.law.name_ja(), r.transaction.name_en()));
        }
        out.push_str("\n|---|");
        for _ in &self.rules {
            out.push_str("---|");
        }
        out.push('\n');
        for m in Method::ALL {
            out.push_str(&format!("| {} ({}) |", m.name_en(), m.name_ja()));
            for r in &self.rules {
                let cell = match r.cell(m).map(|c| c.acceptance) {
                    None => "·".to_string(),
                    Some(Acceptance::Accepted) => "✓".to_string(),
                    Some(Acceptance::AbolishedFrom { from }) => {
                        format!("✓ until {}", from.previous_day().unwrap_or(from))
                    }
                    Some(Acceptance::NotAccepted) => "✗".to_string(),
                    Some(Acceptance::NotAnIdentityCheck) => "✗ no facts".to_string(),
                };
                out.push_str(&format!(" {cell} |"));
            }
            out.push('\n');
        }
        out
    }

    /// The items and retention of each row as a markdown table (as in the crate README).
    pub fn markdown_items(&self) -> String {
        let mut out = String::from("| law — transaction | the record must hold | kept |\n|---|---|---|\n");
        for r in &self.rules {
            let items: Vec<&str> = r.items.iter().map(|i| i.name_en()).collect();
            let kept = match r.retention {
                Retention::AfterContractEnds { years } => format!("{years} years after the contract ends"),
                Retention::AfterTransaction { years } => format!("{years} years after the transaction"),
                Retention::NotMandated => "not set by the law".to_string(),
            };
            out.push_str(&format!(
                "| {} ({}) — {} | {} (+ evidence id for electronic methods) | {} |\n",
                r.law.name_en(),
                r.law.name_ja(),
                r.transaction.name_en(),
                items.join(", "),
                kept
            ));
        }
        out
    }
}

/// The sentence with its first letter in capitals.
fn sentence(s: String) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => s,
    }
}

mod table;

#[cfg(test)]
mod tests;
