//! The standard table ([`Policy::standard`](super::Policy::standard)): one [`Rule`] per law and
//! transaction, one [`Cell`] per method the sources speak of. Cited rows `(n)m` are seed 001's
//! slides 「法律別本人確認方法①」 ((1)–(3)) and 「法律別本人確認方法②」 ((4)–(10)); their columns
//! are 番号法 / 犯収法 / 携帯法.

use super::{Acceptance, Cell, Law, Method, RecordItem, Retention, Rule, Transaction, SWITCH_2027};

use Acceptance::{AbolishedFrom, Accepted, NotAccepted, NotAnIdentityCheck};
use RecordItem as I;

const fn cell(method: Method, acceptance: Acceptance, basis: &'static str) -> Cell {
    Cell { method, acceptance, basis }
}

const LOGIN_ONLY: &str =
    "seed 001 「公的個人認証サービスの概要について」: the user-authentication certificate holds no \
    name, address or birth date (「基本4情報の記載なし」) and proves only 「利用者本人であること」; it is no row of \
    the 「法律別本人確認方法」 matrix";

// ----- AML Act (犯収法): a new customer (account opening, a contract that is a 特定取引) -----

const AML_NEW_CUSTOMER_CELLS: &[Cell] = &[
    cell(
        Method::JpkiSignature,
        Accepted,
        "seed 001 (6)② 公的個人認証による電子署名: 犯収法 ○; 「ワ」 in seed 000 (利活用事例1, 4, 7: \
         「JPKI方式 (ワ)方式」); 犯収法施行規則 第6条第1項第1号 (statute)",
    ),
    cell(
        Method::SmartphoneJpkiSignature,
        Accepted,
        "the JPKI signature certificate on a smartphone (seed 000 「スマホ用電子証明書搭載サービス」, from \
         2023-05-11); spec 40 §4 lists the smartphone My Number Card (カード代替電磁的記録) among the AML \
         non-face-to-face methods",
    ),
    cell(Method::JpkiUserAuthentication, NotAnIdentityCheck, LOGIN_ONLY),
    cell(Method::SmartphoneJpkiUserAuthentication, NotAnIdentityCheck, LOGIN_ONLY),
    cell(Method::MyNumberCardChipRead, NotAccepted, "seed 001 (6)① 個人番号カード(ICチップの読み取り): 犯収法 ×"),
    cell(
        Method::ChipAndSelfie,
        Accepted,
        "seed 001 (6)⑤ 容貌の画像 + 写真付き本人確認書類のICチップ情報: 犯収法 ○; kept after 2027-04-01 \
         (spec 40 §4)",
    ),
    cell(
        Method::ImageUpload,
        AbolishedFrom { from: SWITCH_2027 },
        "seed 001 (6)④ 容貌 + 写真付き本人確認書類の画像: 犯収法 ○ (「ホ」, seed 000 利活用事例1); abolished \
         from 2027-04-01 (seed 000 重点計画 No.1-36 「運転免許証等を送信する方法…は廃止」; spec 40 §4)",
    ),
    cell(
        Method::AccreditedESignature,
        Accepted,
        "seed 001 (6)⑧ 電子署名法に基づく電子証明書(氏名、住居、生年月日の記録のあるもの): 犯収法 ○",
    ),
    cell(
        Method::DocumentsByRegisteredMail,
        AbolishedFrom { from: SWITCH_2027 },
        "seed 001 (3)③ 本人確認書類又はその写しの送付 + 書留郵便等 (転送不要郵便物): 犯収法 ○; seed 000 §3 \
         背景 moves 「郵送方式」 to JPKI with the image methods (the 2027-04-01 date is inferred from spec 40 §4)",
    ),
    cell(
        Method::FaceToFaceChipRead,
        Accepted,
        "seed 001 (1)①② 対面: 犯収法 ○, with the chip read (「本人確認のデジタル化・厳格化の方法（対面）」); the \
         required in-person form from 2027-04-01 (seed 000 No.1-36)",
    ),
    cell(
        Method::FaceToFacePhotoId,
        AbolishedFrom { from: SWITCH_2027 },
        "seed 001 (1)①–③ 対面: 犯収法 ○; from 2027-04-01 the chip must be read (seed 000 No.1-36 「対面でも\
         マイナンバーカード等のICチップ情報の読み取りを犯収法及び携帯電話不正利用防止法の本人確認において義務付ける」; \
         spec 40 §4)",
    ),
    cell(
        Method::FaceToFaceNonPhotoDocument,
        NotAccepted,
        "seed 001 (1)④⑤: 犯収法 × (a document without a photo needs a second one or a mailing: (2)③④, (3)①②)",
    ),
];

const AML_NEW_CUSTOMER_ITEMS: &[RecordItem] = &[
    I::Method,
    I::CheckedAt,
    I::CheckedBy,
    I::DocumentType,
    I::DocumentNumber,
    I::Name,
    I::Address,
    I::BirthDate,
    I::Occupation,
    I::PurposeOfTransaction,
];

/// The AML record's items and retention, shared by the two new-customer rows.
macro_rules! aml_record {
    () => {
        "record: 本人特定事項 (氏名・住居・生年月日) + 取引を行う目的 + 職業 (seed 001 (8)①, seed 003 犯収法 row), who \
         checked, date and time, document name and number (seed 001 (3)④ 備考); 確認記録 kept 7 years from the end \
         of the contract (犯収法 Art. 6 (statute); spec 40 §4)"
    };
}

// ----- AML Act: an ongoing customer -----

const AML_LOGIN_CELLS: &[Cell] = &[
    cell(
        Method::JpkiSignature,
        Accepted,
        "a signature by the certificate registered at account opening (seed 001 「民間事業者の公的個人認証サービス\
         (署名と利用者証明)利用フロー」)",
    ),
    cell(
        Method::SmartphoneJpkiSignature,
        Accepted,
        "as the JPKI signature, with the smartphone certificate (seed 000 「スマホ用電子証明書搭載サービス」)",
    ),
    cell(
        Method::JpkiUserAuthentication,
        Accepted,
        "seed 001 「民間事業者の公的個人認証サービス(署名と利用者証明)利用フロー」 次回以降 ④' 利用者証明検証: the \
         user certificate linked to the signature certificate at opening (S1111-R2222) identifies the customer",
    ),
    cell(
        Method::SmartphoneJpkiUserAuthentication,
        Accepted,
        "as the JPKI user authentication, with the smartphone certificate (seed 000 「スマホ用電子証明書搭載\
         サービス」)",
    ),
    cell(
        Method::FaceToFaceChipRead,
        Accepted,
        "seed 000 かざし利用: 「最初の契約時に電子署名で契約を行い、２回目以降の来店の際には、カードをかざして\
         もらうだけで」",
    ),
];

// ----- My Number Act (番号法) -----

const MY_NUMBER_CELLS: &[Cell] = &[
    cell(
        Method::JpkiSignature,
        Accepted,
        "seed 001 (6)② 公的個人認証による電子署名: 番号法 ○; with the input-assist AP for the number (seed 000 \
         利活用事例4, 11)",
    ),
    cell(
        Method::SmartphoneJpkiSignature,
        Accepted,
        "seed 000 【資料1】 カード代替電磁的記録: 「マイナンバー法上の本人確認で利用可能」",
    ),
    cell(Method::JpkiUserAuthentication, NotAnIdentityCheck, LOGIN_ONLY),
    cell(Method::SmartphoneJpkiUserAuthentication, NotAnIdentityCheck, LOGIN_ONLY),
    cell(Method::MyNumberCardChipRead, Accepted, "seed 001 (6)① 個人番号カード(ICチップの読み取り): 番号法 ○"),
    cell(Method::ChipAndSelfie, NotAccepted, "seed 001 (6)⑤: 番号法 ×"),
    cell(Method::ImageUpload, NotAccepted, "seed 001 (6)④: 番号法 ×"),
    cell(Method::AccreditedESignature, NotAccepted, "seed 001 (6)⑧: 番号法 ×"),
    cell(Method::DocumentsByRegisteredMail, NotAccepted, "seed 001 (3)③: 番号法 ×"),
    cell(
        Method::FaceToFaceChipRead,
        Accepted,
        "seed 001 (1)① 個人番号カード: 番号法 ○; the chip read with the 券面事項確認アプリ (seed 001 「本人確認を確実に\
         行うために」, 個人番号利用事務・関係事務実施者)",
    ),
    cell(
        Method::FaceToFacePhotoId,
        Accepted,
        "seed 001 (1)①–③: 番号法 ○ (the 2024 plan's chip mandate names only the AML and mobile-phone Acts); a photo \
         ID other than the My Number Card checks the person only, the number needs its own document",
    ),
    cell(
        Method::FaceToFaceNonPhotoDocument,
        NotAccepted,
        "seed 001 (1)④⑤: 番号法 × (two documents are needed: (2)①②)",
    ),
];

// ----- mobile-phone Act (携帯電話不正利用防止法) -----

const MOBILE_CELLS: &[Cell] = &[
    cell(
        Method::JpkiSignature,
        Accepted,
        "seed 001 (6)② marks 携帯法 × (2019), but the same seed lists MVNO contracts and mobile rentals among JPKI \
         users (「公的個人認証サービスの民間利用」: (株)LogicLinks, (株)グッドスターグループ), seed 000 lists NTTドコモ \
         and 日本通信, and 重点計画 No.1-36 unifies this Act's non-face-to-face methods into JPKI: accepted",
    ),
    cell(
        Method::SmartphoneJpkiSignature,
        Accepted,
        "as the JPKI signature, with the smartphone certificate (seed 000 「スマホ用電子証明書搭載サービス」 \
         「携帯電話申込」)",
    ),
    cell(Method::JpkiUserAuthentication, NotAnIdentityCheck, LOGIN_ONLY),
    cell(Method::SmartphoneJpkiUserAuthentication, NotAnIdentityCheck, LOGIN_ONLY),
    cell(Method::MyNumberCardChipRead, NotAccepted, "seed 001 (6)①: 携帯法 ×"),
    cell(Method::ChipAndSelfie, NotAccepted, "seed 001 (6)⑤: 携帯法 ×"),
    cell(Method::ImageUpload, NotAccepted, "seed 001 (6)④: 携帯法 ×"),
    cell(Method::AccreditedESignature, Accepted, "seed 001 (6)⑧ 電子署名法に基づく電子証明書: 携帯法 ○"),
    cell(
        Method::DocumentsByRegisteredMail,
        AbolishedFrom { from: SWITCH_2027 },
        "seed 001 (3)③: 携帯法 ○; seed 000 §3 背景 moves 「郵送方式」 to JPKI (the date is inferred from spec 40 §4)",
    ),
    cell(
        Method::FaceToFaceChipRead,
        Accepted,
        "seed 001 (1)①②: 携帯法 ○; seed 000 「マイナンバーカード対面確認アプリ」 「携帯電話の契約のための本人確認時」",
    ),
    cell(
        Method::FaceToFacePhotoId,
        AbolishedFrom { from: SWITCH_2027 },
        "seed 001 (1)①–③: 携帯法 ○; seed 000 No.1-36 makes chip reading mandatory in person for this Act too (the \
         2027-04-01 date is spec 40 §4's for the AML ordinance, applied here by inference)",
    ),
    cell(
        Method::FaceToFaceNonPhotoDocument,
        Accepted,
        "seed 001 (1)④⑤ 各種健康保険証、年金手帳 …: 携帯法 ○ (the 2024 plan abolishes documents without a photo for \
         non-face-to-face checks only)",
    ),
];

// ----- second-hand goods Act (古物営業法) -----

const SECOND_HAND_CELLS: &[Cell] = &[
    cell(
        Method::JpkiSignature,
        Accepted,
        "seed 000 「公的個人認証サービスの民間利用」 lists 古物取引 businesses (インターリユース, ソフマップ) using JPKI for \
         online identity checks; 古物営業法施行規則 第15条第3項 (statute)",
    ),
    cell(
        Method::SmartphoneJpkiSignature,
        Accepted,
        "as the JPKI signature (the smartphone certificate is a 署名用電子証明書, seed 000)",
    ),
    cell(Method::JpkiUserAuthentication, NotAnIdentityCheck, LOGIN_ONLY),
    cell(Method::SmartphoneJpkiUserAuthentication, NotAnIdentityCheck, LOGIN_ONLY),
    cell(
        Method::FaceToFaceChipRead,
        Accepted,
        "seed 000 「マイナンバーカード対面確認アプリ」 主な利用シーン 「中古品の買取のための本人確認時」",
    ),
    cell(
        Method::FaceToFacePhotoId,
        Accepted,
        "古物営業法 Art. 15(1)(i): the counterparty's ID checked in person (statute); the 2024 plan's chip mandate \
         names only the AML and mobile-phone Acts",
    ),
];

// ----- online-dating Act (出会い系サイト規制法) -----

const DATING_CELLS: &[Cell] = &[
    cell(
        Method::JpkiSignature,
        Accepted,
        "seed 000 利活用事例14: 「規則第５条の児童でないことの確認方法として、公的個人認証サービスは包含する旨、\
         警察庁にて解釈されている」; the birth date comes from the signature certificate",
    ),
    cell(Method::SmartphoneJpkiSignature, Accepted, "as the JPKI signature (seed 000 利活用事例14)"),
    cell(Method::JpkiUserAuthentication, NotAnIdentityCheck, LOGIN_ONLY),
    cell(Method::SmartphoneJpkiUserAuthentication, NotAnIdentityCheck, LOGIN_ONLY),
];

/// The rows, in the order of the README's table.
pub(super) const RULES: &[Rule] = &[
    Rule {
        law: Law::MyNumberAct,
        transaction: Transaction::MyNumberCollection,
        basis: "番号法 Art. 16 本人確認の措置 (statute): 番号確認 and 身元確認 (seed 001 「マイナンバー制度の概要」 I-3); \
                the number is used only for 社会保障・税・災害対策 (ibid. I-2; 「マイナンバーカードについて②」 ①); \
                身元確認 items 氏名 + 生年月日又は住所 (seed 001 (2)②); no retention period: keep the number only \
                while the purpose needs it (Art. 20, statute)",
        items: &[
            I::Method,
            I::CheckedAt,
            I::CheckedBy,
            I::DocumentType,
            I::Name,
            I::BirthDateOrAddress,
            I::MyNumber,
            I::MyNumberPurpose,
        ],
        retention: Retention::NotMandated,
        cells: MY_NUMBER_CELLS,
    },
    Rule {
        law: Law::AmlAct,
        transaction: Transaction::AccountOpening,
        basis: concat!(
            "犯収法 Art. 4(1) 取引時確認 for a 特定取引 (預貯金契約, 証券取引 …: seed 003 犯収法 row); ",
            aml_record!()
        ),
        items: AML_NEW_CUSTOMER_ITEMS,
        retention: Retention::AfterContractEnds { years: 7 },
        cells: AML_NEW_CUSTOMER_CELLS,
    },
    Rule {
        law: Law::AmlAct,
        transaction: Transaction::ContractSigning,
        basis: concat!(
            "犯収法 Art. 4(1) 取引時確認 for a contract that is a 特定取引 (保険契約, 宅地建物の売買 …: seed 003 犯収法 \
             row); ",
            aml_record!()
        ),
        items: AML_NEW_CUSTOMER_ITEMS,
        retention: Retention::AfterContractEnds { years: 7 },
        cells: AML_NEW_CUSTOMER_CELLS,
    },
    Rule {
        law: Law::AmlAct,
        transaction: Transaction::Login,
        basis: "犯収法 Art. 4(3) (statute): a customer already verified is matched against the earlier 確認記録 \
                instead of a new check; the 取引記録 keeps the key of that record, 7 years from the transaction \
                (Art. 7, statute)",
        items: &[I::Method, I::CheckedAt, I::PriorRecord],
        retention: Retention::AfterTransaction { years: 7 },
        cells: AML_LOGIN_CELLS,
    },
    Rule {
        law: Law::MobilePhoneAct,
        transaction: Transaction::MobileContract,
        basis: "携帯法 Art. 3 本人確認 at contract and transfer, Art. 4 本人確認記録 kept 3 years after the contract ends \
                (statute); items 氏名、住所、生年月日 (seed 003 携帯電話不正利用防止法 row), who checked, date and \
                time, document name and number (seed 001 (3)④ 備考)",
        items: &[
            I::Method,
            I::CheckedAt,
            I::CheckedBy,
            I::DocumentType,
            I::DocumentNumber,
            I::Name,
            I::Address,
            I::BirthDate,
        ],
        retention: Retention::AfterContractEnds { years: 3 },
        cells: MOBILE_CELLS,
    },
    Rule {
        law: Law::SecondHandGoodsAct,
        transaction: Transaction::SecondHandPurchase,
        basis: "古物営業法 Art. 15 確認 when buying, exchanging or taking on consignment (seed 003 古物営業法 row: 氏名、\
                住所、職業、年齢); Art. 16 帳簿 and Art. 18 kept 3 years from the last entry (statute)",
        items: &[
            I::Method,
            I::CheckedAt,
            I::CheckedBy,
            I::DocumentType,
            I::Name,
            I::Address,
            I::Occupation,
            I::Age,
        ],
        retention: Retention::AfterTransaction { years: 3 },
        cells: SECOND_HAND_CELLS,
    },
    Rule {
        law: Law::OnlineDatingAct,
        transaction: Transaction::DatingSignUp,
        basis: "出会い系サイト規制法 Art. 11 (statute), 施行規則 第5条 (seed 000 利活用事例14): the user is not a child \
                (seed 003 「生年月日等（児童でないこと）」): the record keeps the age check (≥ 18), not more; no \
                retention period in the sources",
        items: &[I::Method, I::CheckedAt, I::AgeCheck],
        retention: Retention::NotMandated,
        cells: DATING_CELLS,
    },
];
