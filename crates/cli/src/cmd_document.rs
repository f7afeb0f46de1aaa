//! `hanko document …` — the emulated IC documents other than the My Number Card (driver's
//! licence, residence card, passport): sandbox issuers, documents for synthetic holders, and
//! the list. `hanko card serve --card ID` serves them to pcscd; `hanko check read` checks them.
//!
//! What is kept in the data directory:
//!
//! | path | what | mode |
//! |---|---|---|
//! | `document-issuers/<kind>/issuer.key.der` | the sandbox issuer's private part (police signing key, immigration issuer, CSCA + document signer) | 0600 |
//! | `document-issuers/<kind>/trust.*` | what a counter trusts (police key by SKI, immigration root, CSCA) | 0644 |
//! | `documents/<id>.document` | a sealed document image (`card-seal.key`), written before each reply that changed it | 0600 |
//!
//! The three `Sandbox` impls at the end are the only code that names a document module's
//! issuer API (`generate`, DER in and out, `trust_anchor()`, `issue`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use hanko_documents::{DocumentChip, DocumentKind, TrustAnchors};
use serde_json::json;
use zeroize::Zeroizing;

use crate::files::write_atomic;
use crate::{DataDir, Failure};

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Create the sandbox issuers of the three documents — a police signing key (licence), an
    /// immigration issuer certificate (residence card), a CSCA with a document signer (passport),
    /// all named JPKI-TEST — in DATA_DIR/document-issuers/. Their private parts are written with
    /// mode 0600; what a counter trusts (the police key and its SKI, the immigration root, the
    /// CSCA) beside them as trust.* files, which `hanko check` reads. Existing issuers are kept.
    Init(InitArgs),
    /// Make an emulated document for a synthetic holder, signed by the sandbox issuer, as a
    /// sealed image in DATA_DIR/documents/. Prints the access code the counter needs (licence
    /// PINs, residence card number, passport MRZ): sandbox data, printed so that anyone can test
    /// a counter application — a real holder keeps these to themself.
    New(NewArgs),
    /// List the emulated documents of the data directory (no key needed, nothing unsealed).
    List {
        #[command(flatten)]
        data: DataDir,
    },
}

#[derive(Args)]
pub(crate) struct InitArgs {
    #[command(flatten)]
    data: DataDir,
}

/// The three documents `hanko document new` makes (the My Number Card: `hanko card new`).
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum NewKind {
    /// IC運転免許証 (driver's licence).
    Licence,
    /// 在留カード / 特別永住者証明書 (residence card).
    Residence,
    /// 旅券 (ICAO 9303 passport).
    Passport,
}

impl NewKind {
    fn sandbox(self) -> &'static dyn Sandbox {
        match self {
            NewKind::Licence => &Licence,
            NewKind::Residence => &Residence,
            NewKind::Passport => &Passport,
        }
    }
}

#[derive(Args)]
pub(crate) struct NewArgs {
    #[command(flatten)]
    data: DataDir,
    /// Which document.
    #[arg(value_enum)]
    kind: NewKind,
    /// Which synthetic holder of the document module's samples (0, 1, …).
    #[arg(long, default_value_t = 0)]
    holder: usize,
    /// A variant of the document: licence `pins` (default) or `no-pins` (the default PINs
    /// `****`); residence `residence` (default), `special-permanent`, `minor` (under 16: no photo,
    /// no signature); passport `bac-pace` (default: both, readers use PACE), `bac`, `pace-only`
    /// (BAC answers 6A 88), `no-sm` (no access control: the plain-read yardstick of
    /// `scripts/bench-documents.sh`).
    #[arg(long)]
    variant: Option<String>,
    /// The document id (letters, digits, '-'); default: `KIND-XXXXXXXX` (8 random hex digits).
    #[arg(long)]
    id: Option<String>,
}

/// What a counter trusts for one document, as the issuer gives it.
pub(crate) enum Anchor {
    /// A police signing key, selected by its subject key identifier (licence EF07).
    PoliceKey {
        /// Subject key identifier.
        ski: Vec<u8>,
        /// SubjectPublicKeyInfo DER.
        spki: Vec<u8>,
    },
    /// The immigration issuer root certificate (residence card DF3).
    ImmigrationRoot(Vec<u8>),
    /// A country signing CA certificate (passport).
    Csca(Vec<u8>),
}

/// A document made by a sandbox issuer, with the codes that open it.
pub(crate) struct Issued {
    pub(crate) chip: DocumentChip,
    /// The holder's name as printed on the document.
    pub(crate) holder: String,
    /// The access code: (environment variable `hanko check read` takes it from, label, value).
    pub(crate) codes: Vec<(&'static str, &'static str, Zeroizing<String>)>,
}

/// One document module's sandbox issuer, as the CLI uses it.
pub(crate) trait Sandbox: Sync {
    /// The kind.
    fn kind(&self) -> DocumentKind;
    /// The directory name under `document-issuers/`.
    fn dir(&self) -> &'static str;
    /// A fresh sandbox issuer: its private part (DER, kept 0600) and what a counter trusts.
    fn generate(&self) -> Result<(Zeroizing<Vec<u8>>, Anchor)>;
    /// A document for synthetic holder `holder` (variant as `--variant` says) by the issuer whose
    /// private part is `issuer`.
    fn issue(&self, issuer: &[u8], holder: usize, variant: Option<&str>) -> Result<Issued>;
}

const KINDS: [NewKind; 3] = [NewKind::Licence, NewKind::Residence, NewKind::Passport];

/// Where the issuers live.
pub(crate) fn issuers_dir(data: &Path) -> PathBuf {
    data.join("document-issuers")
}

fn write_anchor(dir: &Path, anchor: &Anchor) -> Result<Vec<PathBuf>> {
    Ok(match anchor {
        Anchor::PoliceKey { ski, spki } => {
            let (a, b) = (dir.join("trust.ski.hex"), dir.join("trust.spki.der"));
            write_atomic(&a, hex::encode_upper(ski).as_bytes(), 0o644)?;
            write_atomic(&b, spki, 0o644)?;
            vec![a, b]
        }
        Anchor::ImmigrationRoot(der) | Anchor::Csca(der) => {
            let a = dir.join("trust.cert.der");
            write_atomic(&a, der, 0o644)?;
            vec![a]
        }
    })
}

/// The trust anchors of a data directory: the My Number Card CV root (`cv/root.spki.der`, left
/// by `hanko authority init` / `hanko up`) and the trust files `hanko document init` wrote.
pub(crate) fn trust_anchors(data: &Path) -> Result<TrustAnchors> {
    let mut t = TrustAnchors::default();
    let read = |p: &Path| std::fs::read(p).with_context(|| format!("reading {}", p.display()));
    let root = data.join("cv").join("root.spki.der");
    if root.exists() {
        t.mynumber_cv_root = Some(read(&root)?);
    }
    let dir = issuers_dir(data);
    let licence = dir.join(Licence.dir());
    if licence.join("trust.spki.der").exists() {
        let ski_hex = std::fs::read_to_string(licence.join("trust.ski.hex"))?;
        let ski = hex::decode(ski_hex.trim()).context("trust.ski.hex is not hex")?;
        // The sandbox police issuer `hanko document init` writes signs as SANDBOX_SIGNER_NAME.
        t.police_keys.push(hanko_documents::PoliceKey {
            name: hanko_documents::licence::SANDBOX_SIGNER_NAME.to_owned(),
            ski,
            spki: read(&licence.join("trust.spki.der"))?,
        });
    }
    let residence = dir.join(Residence.dir()).join("trust.cert.der");
    if residence.exists() {
        t.immigration_roots.push(read(&residence)?);
    }
    let passport = dir.join(Passport.dir()).join("trust.cert.der");
    if passport.exists() {
        t.cscas.push(read(&passport)?);
    }
    Ok(t)
}

fn init(data: &Path, json: bool) -> Result<ExitCode> {
    let mut out = Vec::new();
    for k in KINDS {
        let s = k.sandbox();
        let dir = issuers_dir(data).join(s.dir());
        let key = dir.join("issuer.key.der");
        let state = if key.exists() {
            "kept"
        } else {
            match s.generate() {
                Ok((private, anchor)) => {
                    // The trust files first: an issuer key without them would make documents
                    // nobody trusts.
                    write_anchor(&dir, &anchor)?;
                    write_atomic(&key, &private, 0o600)?;
                    "created"
                }
                Err(e) if e.downcast_ref::<Failure>().is_some_and(|f| f.code == "not-built") => "not-built",
                Err(e) => return Err(e),
            }
        };
        if !json {
            println!("{:<15} {state:<8} {}", s.kind().as_str(), dir.display());
        }
        out.push(json!({"kind": s.kind().as_str(), "issuer": state, "dir": dir.display().to_string()}));
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&json!({ "issuers": out }))?);
    }
    Ok(ExitCode::SUCCESS)
}

fn random_id(prefix: &str) -> String {
    use rand_core::RngCore as _;
    format!("{prefix}-{:08x}", rand_core::OsRng.next_u32())
}

fn new_document(a: &NewArgs, json: bool) -> Result<ExitCode> {
    let s = a.kind.sandbox();
    let key = issuers_dir(&a.data.data_dir).join(s.dir()).join("issuer.key.der");
    let issuer = Zeroizing::new(std::fs::read(&key).map_err(|_| {
        Failure::bad_input(
            "no-issuer",
            format!(
                "no sandbox {} issuer in {} (run `hanko document init` first; it says not-built when this \
                 hanko has no emulator for the document yet)",
                s.dir(),
                issuers_dir(&a.data.data_dir).display()
            ),
        )
    })?);
    let issued = s.issue(&issuer, a.holder, a.variant.as_deref())?;
    let id = a.id.clone().unwrap_or_else(|| random_id(s.dir()));
    let file = hanko_cardlink::DocumentFile::create(&a.data.data_dir, &id, issued.chip)?;
    drop(file);
    let kind = s.kind();
    if json {
        let codes: serde_json::Map<String, serde_json::Value> =
            issued.codes.iter().map(|(var, _, v)| (var.to_string(), json!(v.as_str()))).collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "document": id, "kind": kind.as_str(), "holder": issued.holder, "access_code": codes,
            }))?
        );
    } else {
        println!("made {} {id} for {} (sandbox holder {})", kind.label_ja(), issued.holder, a.holder);
        println!("access code (sandbox data; a real holder keeps it to themself):");
        for (var, label, v) in &issued.codes {
            println!("  {label}: {}   (${var})", v.as_str());
        }
        println!("check it:  hanko check read --document {} --emulated {id}", check_name(kind));
        println!("serve it:  hanko card serve --card {id}");
    }
    Ok(ExitCode::SUCCESS)
}

/// The `--document` value of a kind.
pub(crate) fn check_name(kind: DocumentKind) -> &'static str {
    match kind {
        DocumentKind::MyNumberCard => "my-number-card",
        DocumentKind::DriverLicence => "driver-licence",
        DocumentKind::ResidenceCard => "residence-card",
        DocumentKind::Passport => "passport",
    }
}

fn list(data: &Path, json: bool) -> Result<ExitCode> {
    let docs = hanko_cardlink::list_documents(data)?;
    if json {
        let v: Vec<_> = docs
            .iter()
            .map(|d| json!({"document": d.id, "kind": d.kind.as_ref().ok(), "error": d.kind.as_ref().err()}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&json!({ "documents": v }))?);
    } else {
        for d in &docs {
            match &d.kind {
                Ok(k) => println!("{}  {k}", d.id),
                Err(e) => println!("{}  ({e})", d.id),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn run(cmd: Command, json: bool) -> Result<ExitCode> {
    match cmd {
        Command::Init(a) => init(&a.data.data_dir, json),
        Command::New(a) => new_document(&a, json),
        Command::List { data } => list(&data.data_dir, json),
    }
}

// ---- The three document modules' sandbox issuers -------------------------------------------

fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

fn holder_number(holder: usize) -> Result<u32> {
    u32::try_from(holder).map_err(|_| Failure::bad_input("bad-holder", "--holder is too large").into())
}

fn no_variants(kind: &str, variant: Option<&str>) -> Result<()> {
    match variant {
        None => Ok(()),
        Some(v) => Err(Failure::bad_input(
            "bad-variant",
            format!("a {kind} has no variant {v:?} (the holder number picks the sample: see docs/documents.md)"),
        )
        .into()),
    }
}

struct Licence;
struct Residence;
struct Passport;

impl Sandbox for Licence {
    fn kind(&self) -> DocumentKind {
        DocumentKind::DriverLicence
    }
    fn dir(&self) -> &'static str {
        "licence"
    }
    fn generate(&self) -> Result<(Zeroizing<Vec<u8>>, Anchor)> {
        use hanko_documents::licence::{PoliceIssuer, SANDBOX_SIGNER_NAME};
        let issuer = PoliceIssuer::generate(SANDBOX_SIGNER_NAME)?;
        let key = issuer.trust_anchor()?;
        Ok((issuer.to_pkcs8()?, Anchor::PoliceKey { ski: key.ski, spki: key.spki }))
    }
    fn issue(&self, issuer: &[u8], holder: usize, variant: Option<&str>) -> Result<Issued> {
        use hanko_documents::licence::{issue, sample_holder, PoliceIssuer, SANDBOX_SIGNER_NAME};
        no_variants("driver's licence", variant)?;
        let issuer = PoliceIssuer::from_pkcs8(issuer, SANDBOX_SIGNER_NAME)?;
        let h = sample_holder(holder_number(holder)?);
        let chip = issue(&h, &issuer, now().date(), &mut rand_core::OsRng)?;
        let (pin1, pin2) =
            h.pins.clone().unwrap_or_else(|| (Zeroizing::new("****".into()), Zeroizing::new("****".into())));
        Ok(Issued {
            chip: DocumentChip::Licence(chip),
            holder: h.entries.name.to_string(),
            codes: vec![
                ("HANKO_LICENCE_PIN1", "暗証番号1 (PIN1)", pin1),
                ("HANKO_LICENCE_PIN2", "暗証番号2 (PIN2)", pin2),
            ],
        })
    }
}

impl Sandbox for Residence {
    fn kind(&self) -> DocumentKind {
        DocumentKind::ResidenceCard
    }
    fn dir(&self) -> &'static str {
        "residence"
    }
    fn generate(&self) -> Result<(Zeroizing<Vec<u8>>, Anchor)> {
        use hanko_documents::residence::ImmigrationIssuer;
        let issuer = ImmigrationIssuer::generate(now(), &mut rand_core::OsRng)?;
        let d = issuer.to_der()?;
        // One private file: SEQUENCE OF OCTET STRING { root cert, root key, signer cert, signer key }.
        let parts = [&d.root_certificate[..], &d.root_key[..], &d.signer_certificate[..], &d.signer_key[..]]
            .into_iter()
            .map(der::asn1::OctetString::new)
            .collect::<Result<Vec<_>, _>>()?;
        let blob = Zeroizing::new(der::Encode::to_der(&parts)?);
        Ok((blob, Anchor::ImmigrationRoot(issuer.trust_anchor())))
    }
    fn issue(&self, issuer: &[u8], holder: usize, variant: Option<&str>) -> Result<Issued> {
        use hanko_documents::residence::{issue, sample_holder, ImmigrationIssuer, ImmigrationIssuerDer};
        no_variants("residence card", variant)?;
        let parts: Vec<der::asn1::OctetString> =
            der::Decode::from_der(issuer).context("the residence issuer file does not parse")?;
        let [root_certificate, root_key, signer_certificate, signer_key] = &parts[..] else {
            anyhow::bail!("the residence issuer file has {} parts, not 4", parts.len());
        };
        let issuer = ImmigrationIssuer::from_der(&ImmigrationIssuerDer {
            root_certificate: root_certificate.as_bytes().to_vec(),
            root_key: Zeroizing::new(root_key.as_bytes().to_vec()),
            signer_certificate: signer_certificate.as_bytes().to_vec(),
            signer_key: Zeroizing::new(signer_key.as_bytes().to_vec()),
        })?;
        let h = sample_holder(holder_number(holder)?);
        let chip = issue(&h, &issuer)?;
        let number = Zeroizing::new(String::from_utf8_lossy(h.card_number.as_bytes()).into_owned());
        Ok(Issued {
            chip: DocumentChip::Residence(chip),
            holder: format!(
                "{} ({:?}{})",
                String::from_utf8_lossy(h.card_number.as_bytes()).get(..2).unwrap_or(""),
                h.card_type,
                if h.photo.is_none() { ", under 16" } else { "" }
            ),
            codes: vec![("HANKO_CARD_NUMBER", "在留カード番号 (card number)", number)],
        })
    }
}

impl Sandbox for Passport {
    fn kind(&self) -> DocumentKind {
        DocumentKind::Passport
    }
    fn dir(&self) -> &'static str {
        "passport"
    }
    fn generate(&self) -> Result<(Zeroizing<Vec<u8>>, Anchor)> {
        use hanko_documents::passport::PassportIssuer;
        let issuer = PassportIssuer::generate("JP", now(), &mut rand_core::OsRng)?;
        Ok((issuer.to_der()?, Anchor::Csca(issuer.trust_anchor())))
    }
    fn issue(&self, issuer: &[u8], holder: usize, variant: Option<&str>) -> Result<Issued> {
        use hanko_documents::passport::{issue, sample_holder, AccessControl, PassportIssuer};
        let access = match variant.unwrap_or("bac-pace") {
            "bac-pace" => AccessControl::BacAndPace,
            "bac" => AccessControl::Bac,
            "pace-only" => AccessControl::PaceOnly,
            "no-sm" => AccessControl::None,
            other => {
                return Err(Failure::bad_input(
                    "bad-variant",
                    format!("a passport's variant is bac-pace (default), bac, pace-only or no-sm, not {other:?}"),
                )
                .into())
            }
        };
        let issuer = PassportIssuer::from_der(issuer)?;
        let h = sample_holder(holder_number(holder)?);
        let chip = issue(&h, &issuer, access, now())?;
        let mrz = hanko_documents::passport::lds::mrz_information(&h.document_number, &h.birth, &h.expiry)
            .context("the sample holder's MRZ information")?;
        let mut codes = vec![("HANKO_MRZ", "MRZ (document number, birth date, expiry with check digits)", mrz)];
        if let Some(can) = &h.can {
            if access.pace() {
                codes.push(("HANKO_CAN", "CAN (card access number)", Zeroizing::new(can.clone())));
            }
        }
        Ok(Issued { chip: DocumentChip::Passport(chip), holder: format!("{} {}", h.surname, h.given_names), codes })
    }
}
