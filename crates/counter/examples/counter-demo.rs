//! The counter check page over emulated documents, for the Chromium walk and for trying the page
//! by hand until `hanko check serve` wires the data directory's images:
//!
//! ```text
//! cargo run -p hanko-counter --example counter-demo -- [--port 8480] [--ready-file F] [--stand-in] [--dir D]
//! ```
//!
//! Sources: a personalised sample My Number Card with its 券面AP (synthetic holder 試験　花子,
//! 照合番号B `55021720352285`) under a fresh sandbox CV root that the counter trusts, and the
//! three other documents' emulated chips as they are today (stubs answering `6D 00` until their
//! modules land). `--stand-in` replaces the reader by a stand-in that reads nothing from the
//! chip but a SELECT and answers a synthetic report marked STAND-IN (only to show the page
//! before `hanko_documents::mynumber` lands; never a verification). Prints the staff URL and,
//! with `--ready-file`, writes `{url, sign_in, number_b, sources}` there once it listens.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use hanko_card::{Transport, TransportError};
use hanko_counter::{CheckFn, CounterConfig, SourceInfo, Sources};
use hanko_documents::{
    AccessCode, CheckError, ChipCheck, DocumentChip, DocumentKind, Field, IssuerCheck, Loopback, Photo, PhotoFormat,
    Progress, Report, Trust, TrustAnchors,
};
use time::macros::date;

/// The sample card's 照合番号B: born Showa 55-02-17, the card expires 2035, security code 2285.
const NUMBER_B: &str = "55021720352285";

type SharedTransport = Arc<Mutex<Box<dyn Transport + Send>>>;

struct Shared(SharedTransport);

impl Transport for Shared {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).transmit(apdu)
    }
}

struct Demo(Vec<(SourceInfo, SharedTransport)>);

impl Sources for Demo {
    fn list(&self) -> Vec<SourceInfo> {
        self.0.iter().map(|(i, _)| i.clone()).collect()
    }
    fn open(&self, id: &str) -> Result<Box<dyn Transport + Send>, String> {
        let (_, t) = self.0.iter().find(|(i, _)| i.id == id).ok_or_else(|| format!("no source {id}"))?;
        Ok(Box::new(Shared(t.clone())))
    }
}

fn source(
    id: &str,
    label: &str,
    kind: DocumentKind,
    t: impl Transport + Send + 'static,
) -> (SourceInfo, SharedTransport) {
    (SourceInfo { id: id.into(), label: label.into(), kind: Some(kind) }, Arc::new(Mutex::new(Box::new(t))))
}

/// The sample My Number Card with its 券面AP, and the CV root's key (the counter's trust anchor).
fn my_number_card() -> (hanko_card::Card, Vec<u8>) {
    // The card-face and input-assist hierarchies under one sandbox CV root (the reader reads the
    // name and address text from the input-assist AP, verified under the same root).
    let root = hanko_pki::SoftwareKey::generate_rsa2048().unwrap();
    let key = || hanko_pki::SoftwareKey::generate_rsa2048().unwrap();
    let (root_id, face_id, assist_id) = (
        hanko_card::CvKeyId::SANDBOX_ROOT,
        hanko_card::CvKeyId::SANDBOX_CARD_FACE,
        hanko_card::CvKeyId::SANDBOX_INPUT_ASSIST,
    );
    let issuer = hanko_card::CvIssuer::new(&root, root_id, key(), face_id).unwrap();
    let assist = hanko_card::CvIssuer::new(&root, root_id, key(), assist_id).unwrap();
    let facts = hanko_card::CardFacts::new(
        hanko_card::MyNumber::from_body(b"99123456780").unwrap(),
        "試験　花子",
        "東京都見本区試験町一丁目１番１号",
        date!(1980 - 02 - 17),
        2,
    )
    .unwrap();
    let face = hanko_card::card_face_app(&facts, &issuer, date!(2035 - 12 - 31), "2285", "99999").unwrap();
    let assist = hanko_card::input_assist_app(&facts, &assist, b"1234", 2035, "2285").unwrap();
    let card = hanko_card::sample::issue(hanko_card::Device::Card, vec![assist, face]).unwrap().card;
    (card, issuer.root_public_key().spki_der().to_vec())
}

/// The stand-in reader (`--stand-in`): a SELECT to the chip, progress, a synthetic report.
fn stand_in(
    kind: DocumentKind,
    t: &mut dyn Transport,
    code: &AccessCode,
    _: &TrustAnchors,
    _: time::OffsetDateTime,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<Report, CheckError> {
    let steps =
        ["券面AP を選択 / select the card-face AP", "券面事項 / card face", "顔写真 / photo", "署名検証 / signature"];
    for (i, step) in steps.iter().enumerate() {
        progress(Progress { step, done: i, total: Some(steps.len()) });
        if i == 0 {
            t.transmit(&[0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x08])?;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    match code {
        AccessCode::NumberB(b) if b.as_str() == NUMBER_B => {}
        AccessCode::NumberB(_) => return Err(CheckError::WrongAccessCode { tries_left: Some(9) }),
        _ => return Err(CheckError::WrongKindOfCode("stand-in: only the sample My Number Card")),
    }
    let signed = |key, label, value: &str| Field { key, label, value: value.into(), trust: Trust::Signed };
    Ok(Report {
        kind,
        fields: vec![
            signed("name", "氏名", "試験　花子"),
            signed("birth_date", "生年月日", "1980-02-17"),
            signed("sex", "性別", "女"),
            signed("address", "住所", "東京都見本区試験町一丁目１番１号"),
            signed("expiry_date", "有効期限", "2035-12-31"),
            Field {
                key: "address_note",
                label: "追記欄",
                value: "（例）追記は署名の対象外".into(),
                trust: Trust::Unsigned { why: "STAND-IN: an example of an unsigned field".into() },
            },
        ],
        photo: Some(Photo {
            format: PhotoFormat::Jpeg2000,
            bytes: hanko_card::SYNTHETIC_PORTRAIT_JP2.to_vec(),
            trust: Trust::Signed,
        }),
        issuer: IssuerCheck {
            method: "STAND-IN reader: nothing verified (hanko_documents::mynumber not merged yet)".into(),
            signer: "CN=JPKI-TEST stand-in".into(),
        },
        chip: ChipCheck::NotProven { why: "STAND-IN reader".into() },
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut port = 0u16;
    let mut ready_file = None;
    let mut dir = None;
    let mut stand_in_reader = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--port" => port = args.next().unwrap_or_default().parse()?,
            "--ready-file" => ready_file = args.next(),
            "--dir" => dir = args.next(),
            "--stand-in" => stand_in_reader = true,
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    let (card, cv_root) = my_number_card();
    let sources = Demo(vec![
        source("emulated-mynumber", "エミュレート: 試験　花子 (マイナンバーカード)", DocumentKind::MyNumberCard, card),
        source(
            "emulated-licence",
            "エミュレート: 運転免許証 (stub)",
            DocumentKind::DriverLicence,
            Loopback(DocumentChip::Licence(hanko_documents::licence::LicenceChip {})),
        ),
        source(
            "emulated-residence",
            "エミュレート: 在留カード (stub)",
            DocumentKind::ResidenceCard,
            Loopback(DocumentChip::Residence(hanko_documents::residence::ResidenceChip {})),
        ),
        source(
            "emulated-passport",
            "エミュレート: 旅券 (stub)",
            DocumentKind::Passport,
            Loopback(DocumentChip::Passport(hanko_documents::passport::PassportChip {})),
        ),
    ]);
    let list = sources.list();
    let trust = TrustAnchors { mynumber_cv_root: Some(cv_root), ..TrustAnchors::default() };
    let dir = dir
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join(format!("hanko-counter-demo-{}", std::process::id())));
    let mut config = CounterConfig::new(trust, Arc::new(sources), &dir);
    if stand_in_reader {
        let f: Arc<CheckFn> = Arc::new(stand_in);
        config.checker = f;
    }
    let token = config.staff_token.clone();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let url = format!("http://{}", listener.local_addr()?);
    if let Some(f) = ready_file {
        let ready = serde_json::json!({
            "url": url, "sign_in": format!("{url}/?token={}", token.as_str()),
            "number_b": NUMBER_B, "sources": list, "stand_in": stand_in_reader,
        });
        std::fs::write(&f, serde_json::to_vec_pretty(&ready)?)?;
    }
    hanko_counter::serve(config, listener).await
}
