//! `hanko card …` — issue emulated My Number Cards at the sandbox counter and use any card
//! (a card image, or a PC/SC reader) from the host side.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use hanko_card::{AccessCode, Client, ClientError, PinStatus, Slot, Transport};
use hanko_pki::{DigestAlgorithm, DigestInfo};
use serde_json::json;

use crate::files::{read_der, write_atomic};
use crate::people::{synthetic, Person};
use crate::secrets::{self, Secret};
use crate::{now_or, DataDir, Failure};
use hanko_cardlink::{list_card_images, CardFile};

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Issue a new emulated card at the sandbox counter: the chip makes its keys, the sandbox
    /// CAs certify them, and the certificates, PINs and card data are written to the chip.
    /// The signature password comes from $HANKO_PASSWORD, the 4-digit PIN from $HANKO_PIN.
    New(NewArgs),
    /// List the emulated cards of the data directory.
    List {
        #[command(flatten)]
        data: DataDir,
    },
    /// Show a card, read through its APDUs: auth certificate serial, PIN tries (no try spent) and
    /// the 共通AP record.
    Show {
        #[command(flatten)]
        on: On,
    },
    /// Read a certificate (DER) from the card.
    ReadCert {
        #[command(flatten)]
        on: On,
        /// Which certificate.
        #[arg(long, value_enum, default_value = "auth")]
        slot: SlotArg,
        /// Read the CA certificate that issued it instead.
        #[arg(long)]
        ca: bool,
        /// Where to write it (DER, or PEM when the name ends in .pem); default: PEM on stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Tries left on a PIN, read without spending one.
    PinStatus {
        #[command(flatten)]
        on: On,
        /// Which PIN.
        #[arg(long, value_enum, default_value = "auth")]
        slot: SlotArg,
    },
    /// Verify a PIN (spends a try when wrong). The PIN comes from $HANKO_PIN.
    VerifyPin {
        #[command(flatten)]
        on: On,
        /// Which PIN.
        #[arg(long, value_enum, default_value = "auth")]
        slot: SlotArg,
    },
    /// Change a PIN: the old one from $HANKO_PIN, the new one from $HANKO_NEW_PIN.
    ChangePin {
        #[command(flatten)]
        on: On,
        /// Which PIN.
        #[arg(long, value_enum, default_value = "auth")]
        slot: SlotArg,
    },
    /// Sign with the card (PKCS#1 v1.5 over a DigestInfo); the PIN comes from $HANKO_PIN.
    Sign {
        #[command(flatten)]
        on: On,
        /// Which key.
        #[arg(long, value_enum, default_value = "signature")]
        slot: SlotArg,
        /// The data to sign (hashed here).
        #[arg(long, conflicts_with = "digest", required_unless_present = "digest")]
        data: Option<PathBuf>,
        /// A SHA-256 digest (hex) to sign instead.
        #[arg(long)]
        digest: Option<String>,
        /// Where to write the 256-byte signature.
        #[arg(long)]
        out: PathBuf,
    },
    /// Read the 4 facts from the input-assist AP (券面事項入力補助AP) with the PIN from
    /// $HANKO_PIN, and verify their integrity record against the sandbox CV root key.
    ReadFacts {
        #[command(flatten)]
        on: On,
        /// Also read the My Number and write it to this file (mode 0600); it is never printed.
        #[arg(long)]
        my_number_out: Option<PathBuf>,
    },
    /// Read and verify the card face (券面AP) with 照合番号B from $HANKO_NUMBER_B (birth date as
    /// era YYMMDD + expiry year + security code, 14 digits): the signature over the images and
    /// data is checked against the sandbox CV root.
    ReadFace {
        #[command(flatten)]
        on: On,
        /// Write the photo (JPEG 2000) here.
        #[arg(long)]
        photo_out: Option<PathBuf>,
    },
    /// Make an emulated card — or an emulated licence, residence card or passport of
    /// `hanko document new` — appear in pcscd as an inserted card (vpcd bridge), until stopped.
    /// Any PC/SC application — OpenSC, jpki-cli, hanko — then uses it like a real card. Needs
    /// pcscd with the vpcd driver running (Debian: pcscd vsmartcard-vpcd; scripts/pcsc-up.sh);
    /// hanko itself speaks TCP to it and needs no PC/SC library.
    Serve {
        #[command(flatten)]
        data: DataDir,
        /// The card id, or a document id (`hanko document list`).
        #[arg(long)]
        card: String,
        /// pcscd's vpcd port: 35963 is reader "Virtual PCD 00 00", 35964 "Virtual PCD 00 01".
        #[arg(long, default_value_t = hanko_cardlink::VPCD_PORT)]
        port: u16,
    },
}

/// Which JPKI key pair.
#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum SlotArg {
    /// 署名用: signature key, certificate and password.
    Signature,
    /// 利用者証明用: user-authentication key, certificate and PIN.
    Auth,
}

impl SlotArg {
    fn slot(self) -> Slot {
        match self {
            SlotArg::Signature => Slot::Signature,
            SlotArg::Auth => Slot::Auth,
        }
    }
}

/// Which card a command talks to.
#[derive(Args)]
pub(crate) struct On {
    #[command(flatten)]
    data: DataDir,
    /// An emulated card of the data directory, by id (see `hanko card list`).
    #[arg(long, required_unless_present = "reader")]
    card: Option<String>,
    /// A card in a PC/SC reader whose name contains this text (e.g. "Virtual PCD"). Needs a
    /// running pcscd and a hanko built with `--features pcsc` (libpcsclite-dev); see docs/pcsc.md.
    #[arg(long, conflicts_with = "card")]
    reader: Option<String>,
}

impl On {
    fn open(&self) -> Result<Box<dyn Transport>> {
        match (&self.card, &self.reader) {
            (Some(id), _) => Ok(Box::new(CardFile::open(&self.data.data_dir, id)?)),
            (None, Some(name)) => reader_transport(name),
            (None, None) => bail!("give --card ID or --reader NAME"),
        }
    }
}

/// The card in the PC/SC reader whose name contains `name`.
#[cfg(feature = "pcsc")]
pub(crate) fn reader_transport(name: &str) -> Result<Box<dyn Transport>> {
    Ok(Box::new(hanko_cardlink::PcscTransport::connect(Some(name))?))
}

/// Without the `pcsc` feature there is no PC/SC library to reach a reader with.
#[cfg(not(feature = "pcsc"))]
pub(crate) fn reader_transport(_name: &str) -> Result<Box<dyn Transport>> {
    Err(crate::no_pcsc("--reader"))
}

/// The kind of device to issue.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum DeviceArg {
    /// A My Number Card.
    Card,
    /// An Android phone's JPKI applet.
    Android,
    /// An iPhone's JPKI applet.
    Iphone,
}

#[derive(Args)]
pub(crate) struct NewArgs {
    #[command(flatten)]
    data: DataDir,
    /// Which synthetic resident (0–3, see `hanko demo`); 3 is a minor (no signature certificate).
    #[arg(long, default_value_t = 0)]
    person: usize,
    /// The device.
    #[arg(long, value_enum, default_value = "card")]
    device: DeviceArg,
    /// Issue no signature certificate (adult wards, face-authentication-only cards).
    #[arg(long)]
    no_signature: bool,
    /// Issue at this time (RFC 3339) instead of now.
    #[arg(long)]
    at: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// A wrong or blocked PIN is a check that said no (exit status 1, codes `wrong-pin` /
/// `pin-blocked`), the same in every card command.
pub(crate) fn explain(e: ClientError) -> anyhow::Error {
    match e {
        ClientError::WrongPin { tries_left } => {
            Failure::refused("wrong-pin", format!("wrong PIN: {tries_left} tries left")).into()
        }
        ClientError::PinBlocked => {
            Failure::refused("pin-blocked", "PIN blocked: only the municipality counter can reset it").into()
        }
        other => anyhow::anyhow!(other),
    }
}

/// Prints `value` as JSON with `--json`, else as `key: value` lines.
fn emit(json: bool, value: &serde_json::Value) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(value)?);
    } else if let Some(map) = value.as_object() {
        for (k, v) in map {
            match v {
                serde_json::Value::Null => {}
                serde_json::Value::String(s) => println!("{k}: {s}"),
                other => println!("{k}: {other}"),
            }
        }
    }
    Ok(())
}

fn new_card(a: &NewArgs) -> Result<ExitCode> {
    let people = synthetic()?;
    let person: &Person = people.get(a.person).with_context(|| format!("--person must be 0..{}", people.len() - 1))?;
    if a.device != DeviceArg::Card {
        bail!("a phone gets its certificates online from a card: hanko authority enroll-phone --card ID");
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let issued = runtime.block_on(async {
        let clock: std::sync::Arc<dyn hanko_authority::Clock> = match &a.at {
            Some(at) => std::sync::Arc::new(hanko_authority::ManualClock::new(now_or(Some(at))?)),
            None => std::sync::Arc::new(hanko_authority::SystemClock),
        };
        let authority = crate::cmd_authority::open(&a.data.data_dir, None, clock, |_| {}).await?;
        let resident = authority
            .add_person(hanko_authority::NewPerson {
                facts: person.facts.clone(),
                prefecture: person.prefecture.clone(),
                municipality: person.municipality.clone(),
                ward: a.no_signature,
            })
            .await?;
        let pins = hanko_authority::CardPins {
            sign_password: secrets::PASSWORD.get_optional()?,
            auth_pin: secrets::PIN.get()?,
        };
        anyhow::Ok((resident.id.clone(), authority.issue_card(&resident.id, &pins).await?))
    })?;
    let (person_id, card) = issued;
    let id = &card.card_id;
    let summary = json!({
        "card": id,
        "person": person_id,
        "device": "card",
        "holder": person.facts.name(),
        "signature_certificate": card.signature_serial,
        "auth_certificate": card.auth_serial,
        "expiry": card.expiry,
        "security_code": card.security_code,
    });
    if a.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!(
            "issued card {id} to {} ({person_id}): auth certificate {}, signature certificate {}",
            person.facts.name(),
            card.auth_serial,
            card.signature_serial.as_deref().unwrap_or("none (minor or ward)")
        );
        // The security code is printed on a real card's face; it is sandbox data here, needed
        // for 照合番号B (card read-face).
        println!(
            "security code on the card face (part of 照合番号B for card read-face): {}, expiry {}",
            card.security_code, card.expiry
        );
        println!("serve it to PC/SC readers with: hanko card serve --card {id}");
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn run(cmd: Command, json: bool) -> Result<ExitCode> {
    match cmd {
        Command::ReadFace { on, photo_out } => {
            let root =
                hanko_pki::RsaPublicKey::from_spki_der(&read_der(&on.data.data_dir.join("cv").join("root.spki.der"))?)?;
            let mut c = Client::new(on.open()?);
            let code = secrets::NUMBER_B.get()?;
            let face = c.read_card_face(AccessCode::NumberB(code.as_bytes()))?;
            let verified = c.verify_card_face(&face, &root)?;
            if let Some(path) = &photo_out {
                write_atomic(path, face.photo_jp2(), 0o644)?;
            }
            let out = json!({
                "birth_date": face.birth_date().date().map(|d| d.to_string()),
                "sex": face.sex().to_string(),
                "expiry": face.expiry().to_string(),
                "name_image_bytes": face.name_png().len(),
                "photo_bytes": face.photo_jp2().len(),
                "signature": "verified",
                "cv_signer": String::from_utf8_lossy(&verified.signer_key_id().0),
                "photo": photo_out.as_ref().map(|p| p.display().to_string()),
            });
            emit(json, &out)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::ReadFacts { on, my_number_out } => {
            let root =
                hanko_pki::RsaPublicKey::from_spki_der(&read_der(&on.data.data_dir.join("cv").join("root.spki.der"))?)?;
            let mut c = Client::new(on.open()?);
            let pin = secrets::PIN.get()?;
            c.read_facts(AccessCode::Pin(pin.as_bytes()))?;
            let scope = if my_number_out.is_some() {
                hanko_card::IntegrityScope::Both
            } else {
                hanko_card::IntegrityScope::FourFacts
            };
            let verified = c.verify_integrity(&root, scope)?;
            // Print the facts the integrity check covered, not an earlier read.
            let facts = verified.facts().context("the integrity check read the 4 facts")?;
            if let (Some(path), Some(number)) = (&my_number_out, verified.my_number()) {
                write_atomic(path, number.expose(), 0o600)?;
            }
            let out = json!({
                "name": facts.name(),
                "address": facts.address(),
                "birth_date": facts.birth_date().date().map(|d| d.to_string()),
                "sex": facts.sex().to_string(),
                "integrity": "verified",
                "cv_issuer": String::from_utf8_lossy(&verified.issuer_key_id().0),
                "my_number": my_number_out.as_ref().map(|p| p.display().to_string()),
            });
            emit(json, &out)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve { data, card, port } => {
            let stop = std::sync::atomic::AtomicBool::new(false);
            let bridge = hanko_cardlink::VpcdBridge::loopback(port);
            // A My Number Card image, else an emulated document (`hanko document new`).
            if !hanko_cardlink::cards_dir(&data.data_dir).join(format!("{card}.card")).exists() {
                let mut file = hanko_cardlink::DocumentFile::open(&data.data_dir, &card)?;
                let kind = file.chip().kind();
                eprintln!("serving {} {card} to pcscd on 127.0.0.1:{port} (Ctrl-C to stop)", kind.as_str());
                bridge.serve(&mut file, &stop)?;
                return Ok(ExitCode::SUCCESS);
            }
            let mut file = CardFile::open(&data.data_dir, &card)?;
            eprintln!("serving card {card} to pcscd on 127.0.0.1:{port} (Ctrl-C to stop)");
            bridge.serve(&mut file, &stop)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::New(a) => new_card(&a),
        Command::List { data } => {
            let mut cards = Vec::new();
            for id in list_card_images(&data.data_dir)? {
                let (device, error) = match CardFile::open(&data.data_dir, &id) {
                    Ok(f) => (Some(f.card().device().as_str()), None),
                    Err(e) => (None, Some(format!("{e:#}"))),
                };
                if !json {
                    match (device, &error) {
                        (Some(d), _) => println!("{id}  {d}"),
                        (None, e) => println!("{id}  ({})", e.as_deref().unwrap_or_default()),
                    }
                }
                cards.push(json!({"card": id, "device": device, "error": error}));
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&json!({ "cards": cards }))?);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Show { on } => {
            let mut c = Client::new(on.open()?);
            let status = |s: PinStatus| match s {
                PinStatus::Tries(n) => json!(n),
                PinStatus::Blocked => json!("blocked"),
            };
            let auth = c.read_certificate(Slot::Auth).map_err(explain)?;
            let auth_serial = hanko_pki::JpkiCertificate::from_der(&auth).map(|c| c.serial().to_string()).ok();
            let out = json!({
                "auth_certificate": auth_serial,
                "auth_pin_tries": c.pin_status(Slot::Auth).map(status).ok(),
                "signature_password_tries": c.pin_status(Slot::Signature).map(status).ok(),
                "common": c.read_common_record().ok().map(|r| json!({"card_serial": r.card_serial, "municipality": r.municipality_code, "expiry": r.expiry})),
            });
            emit(json, &out)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::ReadCert { on, slot, ca, out } => {
            let mut c = Client::new(on.open()?);
            let der = match (slot.slot(), ca) {
                (s, true) => c.read_ca_certificate(s),
                (Slot::Signature, false) => c.read_signature_certificate(secrets::PASSWORD.get()?.as_bytes()),
                (Slot::Auth, false) => c.read_certificate(Slot::Auth),
            }
            .map_err(explain)?;
            let pem = crate::files::pem("CERTIFICATE", &der)?;
            match &out {
                Some(path) if path.extension().is_some_and(|e| e == "pem") => {
                    write_atomic(path, pem.as_bytes(), 0o644)?
                }
                Some(path) => write_atomic(path, &der, 0o644)?,
                None if json => {}
                None => print!("{pem}"),
            }
            if json {
                let path = out.as_ref().map(|p| p.display().to_string());
                println!(
                    "{}",
                    serde_json::to_string_pretty(&json!({"certificate": pem, "bytes": der.len(), "path": path}))?
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::PinStatus { on, slot } => {
            let mut c = Client::new(on.open()?);
            let status = c.pin_status(slot.slot()).map_err(explain)?;
            match (json, status) {
                (true, PinStatus::Tries(n)) => println!("{}", json!({"tries_left": n, "blocked": false})),
                (true, PinStatus::Blocked) => println!("{}", json!({"tries_left": 0, "blocked": true})),
                (false, PinStatus::Tries(n)) => println!("{n} tries left"),
                (false, PinStatus::Blocked) => println!("blocked"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::VerifyPin { on, slot } => {
            let pin = Secret::of(slot.slot()).get()?;
            let mut c = Client::new(on.open()?);
            // The answer is the result (stdout), as `hanko verify` reports: 0 correct, 1 not.
            let (code, tries_left) = match c.verify_pin(slot.slot(), pin.as_bytes()) {
                Ok(()) => {
                    if json {
                        println!("{}", json!({"verified": true}));
                    } else {
                        println!("PIN correct");
                    }
                    return Ok(ExitCode::SUCCESS);
                }
                Err(ClientError::WrongPin { tries_left }) => ("wrong-pin", Some(tries_left)),
                Err(ClientError::PinBlocked) => ("pin-blocked", None),
                Err(e) => return Err(explain(e)),
            };
            if json {
                println!("{}", json!({"verified": false, "code": code, "tries_left": tries_left.unwrap_or(0)}));
            } else {
                match tries_left {
                    Some(n) => println!("wrong PIN: {n} tries left"),
                    None => println!("PIN blocked: only the municipality counter can reset it"),
                }
            }
            Ok(ExitCode::from(1))
        }
        Command::ChangePin { on, slot } => {
            let (old, new) = (Secret::of(slot.slot()).get()?, Secret::new_of(slot.slot()).get()?);
            let mut c = Client::new(on.open()?);
            c.change_pin(slot.slot(), old.as_bytes(), new.as_bytes()).map_err(explain)?;
            if json {
                println!("{}", json!({"changed": true}));
            } else {
                println!("PIN changed");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Sign { on, slot, data, digest, out } => {
            let digest = match (data, digest) {
                (Some(path), _) => DigestAlgorithm::Sha256
                    .digest(&std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?),
                (None, Some(hex)) => match hex::decode(hex) {
                    Ok(d) if d.len() == 32 => d,
                    _ => {
                        return Err(
                            Failure::bad_input("bad-input", "--digest must be a SHA-256 digest: 64 hex digits").into()
                        )
                    }
                },
                (None, None) => bail!("give --data or --digest"),
            };
            let di = DigestInfo::new(DigestAlgorithm::Sha256, &digest)?.to_der()?;
            let pin = Secret::of(slot.slot()).get()?;
            let mut c = Client::new(on.open()?);
            let sig = c.sign(slot.slot(), pin.as_bytes(), &di).map_err(explain)?;
            write_atomic(&out, &sig, 0o644)?;
            if json {
                println!("{}", json!({"signature_bytes": sig.len(), "path": out.display().to_string()}));
            } else {
                println!("signed: {} bytes → {}", sig.len(), out.display());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
