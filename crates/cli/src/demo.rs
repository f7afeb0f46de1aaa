//! `hanko demo` — the main job on the embedded default, in one process: the authority over
//! SQLite with its HTTP API on loopback, cards issued at the counter (keys made in the chip), a
//! signature made by a card through its APDUs, a move that revokes and reissues, the daily CRL
//! and OCSP fetched over HTTP by a registered platform operator, and verification of it all.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use hanko_authority::{Authority, CardPins, Clock, LifeEvent, ManualClock, NewPerson, Role, SystemClock};
use hanko_card::{CardSigner, Client, Slot};
use hanko_cardlink::CardFile;
use hanko_pki::ocsp::{build_request, verify_response, CertIdentity};
use hanko_pki::verify::{CrlSet, RevocationCheck, Signed, TrustStore, Usage, Verifier, VerifyError};
use hanko_pki::x509_cert::Certificate;
use hanko_pki::{cms, CaKind, DigestAlgorithm, PolicySet, RevocationStatus, SignatureAlgorithm, Signer};
use zeroize::Zeroizing;

use crate::files::write_atomic;
use crate::people::synthetic;
use crate::{fmt_time, now_or};

/// Options of `hanko demo`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Where to create the demo authority. An existing demo directory is replaced; any other
    /// existing directory is left alone and the demo refuses to run.
    #[arg(long, default_value = "hanko-demo")]
    dir: PathBuf,
    /// Run the demo at this time (RFC 3339) instead of now.
    #[arg(long)]
    at: Option<String>,
}

const MARKER: &str = ".hanko-demo";

/// The demo cards' secrets: $HANKO_PIN / $HANKO_PASSWORD, or the documented demo values
/// (docs/card.md). Never printed.
fn pins() -> Result<(Zeroizing<String>, Zeroizing<String>)> {
    let pin = crate::secrets::PIN.get_optional()?.unwrap_or_else(|| Zeroizing::new("1234".to_owned()));
    let password = crate::secrets::PASSWORD.get_optional()?.unwrap_or_else(|| Zeroizing::new("HANKO2026".to_owned()));
    Ok((pin, password))
}

pub(crate) fn run(args: &Args) -> Result<ExitCode> {
    let dir = &args.dir;
    if dir.exists() {
        if !dir.join(MARKER).exists() {
            bail!("{} exists and was not made by `hanko demo`; choose another --dir", dir.display());
        }
        std::fs::remove_dir_all(dir).with_context(|| format!("removing the previous demo in {}", dir.display()))?;
    }
    write_atomic(&dir.join(MARKER), b"made by hanko demo; safe to delete\n", 0o644)?;
    let clock: Arc<dyn Clock> = match &args.at {
        Some(at) => Arc::new(ManualClock::new(now_or(Some(at))?)),
        None => Arc::new(SystemClock),
    };
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(demo(dir, clock))
}

async fn demo(dir: &Path, clock: Arc<dyn Clock>) -> Result<ExitCode> {
    let authority =
        crate::cmd_authority::create(dir, None, clock.clone(), |c| c.ocsp_lag = std::time::Duration::ZERO).await?;
    println!("hanko demo — the JPKI ecosystem in one process, the authority over SQLite in {}", dir.display());
    println!("(test names only: O=JPKI-TEST, test policy OIDs, synthetic people)\n");
    for g in authority.cas()?.all() {
        println!(
            "CA   {:<9} generation {} valid to {}, OCSP by its delegated responder",
            g.ca.kind().as_str(),
            g.id,
            fmt_time(g.ca.validity().1)
        );
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let server = tokio::spawn(hanko_authority::serve(authority.clone(), listener, std::future::pending()));
    println!("API  {base}  (OpenAPI: {base}/openapi.json)\n");

    // The counter: residents, and a card each (keys generated in the chip).
    let (pin, password) = pins()?;
    let mut cards = Vec::new();
    for p in synthetic()? {
        let resident = authority
            .add_person(NewPerson {
                facts: p.facts.clone(),
                prefecture: p.prefecture.clone(),
                municipality: p.municipality.clone(),
                ward: false,
            })
            .await?;
        let card = authority
            .issue_card(&resident.id, &CardPins { sign_password: Some(password.clone()), auth_pin: pin.clone() })
            .await?;
        println!(
            "card {} {}: signature certificate {}, auth certificate {}",
            card.card_id,
            p.facts.name(),
            card.signature_serial.as_deref().unwrap_or("none (a minor: auth only)"),
            card.auth_serial
        );
        cards.push((resident, card));
    }
    println!();

    // The first resident signs an application with the card: raw PKCS#1 (80 2A) and CMS.
    let (_, card0) = &cards[0];
    let signer =
        CardSigner::new(Client::new(CardFile::open(dir, &card0.card_id)?), Slot::Signature, password.as_bytes())?;
    let cert = signer.certificate().to_vec();
    let doc = "口座開設申込書 — hanko demo\n".as_bytes();
    let sig = signer.sign(SignatureAlgorithm::RsaPkcs1Sha256, doc)?;
    let p7s =
        cms::sign(&signer, &cert, doc, cms::Encapsulation::Detached, DigestAlgorithm::Sha256, Some(clock.now()), &[])?;
    drop(signer);
    let docs = dir.join("documents");
    write_atomic(&docs.join("application.txt"), doc, 0o644)?;
    write_atomic(&docs.join("application.sig"), &sig, 0o644)?;
    write_atomic(&docs.join("application.p7s"), &p7s, 0o644)?;
    write_atomic(&docs.join("signer.der"), &cert, 0o644)?;
    println!(
        "sign {} signed documents/application.txt with card {} (VERIFY + 80 2A)\n",
        cards[0].0.facts.name(),
        card0.card_id
    );

    // A platform operator registers with the authority, with an insurer's service behind it;
    // the second resident consents (signed with the card) to the insurer fetching their latest
    // name and address (shared/spec/50-scenarios.md ★16).
    let platform = authority.register_verifier(Role::Platform, "demo platform operator").await?;
    authority.register_service(&platform.verifier.id, "SP-INSURER", "refresh", "demo insurer: address refresh").await?;
    println!("platform operator {} registered, SP service SP-INSURER/refresh behind it", platform.verifier.id);
    let http = reqwest::Client::new();
    let (mover, mover_card) = &cards[1];
    let consent_doc = serde_json::to_vec(&serde_json::json!({
        "type": hanko_authority::CONSENT_TYPE,
        "verifier_id": platform.verifier.id,
        "sp_id": "SP-INSURER",
        "service_id": "refresh",
        "items": ["name", "address"],
        "issued_at": fmt_time(clock.now()),
    }))?;
    let consent = {
        let signer = CardSigner::new(
            Client::new(CardFile::open(dir, &mover_card.card_id)?),
            Slot::Signature,
            password.as_bytes(),
        )?;
        let signature = signer.sign(SignatureAlgorithm::RsaPkcs1Sha256, &consent_doc)?;
        hanko_authority::SignedDocument::new(&consent_doc, &signature, signer.certificate())
    };
    let consent: serde_json::Value = http
        .post(format!("{base}/v1/consents"))
        .bearer_auth(&platform.api_key)
        .header(hanko_authority::SP_HEADER, "SP-INSURER/refresh")
        .json(&consent)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let consent_id = consent["consent_id"].as_str().context("a consent id")?.to_owned();
    println!(
        "consent {consent_id}: {} lets SP-INSURER/refresh fetch name and address (signed with the card)\n",
        mover.facts.name()
    );

    // The second resident moves: signature certificate revoked, auth kept, a new one written.
    let old_serial = mover_card.signature_serial.clone().context("an adult has a signature certificate")?;
    let out = authority
        .record_event(
            &mover.id,
            LifeEvent::FactsChanged {
                name: None,
                address: Some("東京都見本区架空台一丁目２番３号".into()),
                locality: None,
                birth_date: None,
                sex: None,
            },
        )
        .await?;
    let new_serial = out.issued.first().map(|(s, _)| s.clone()).context("a new signature certificate")?;
    println!(
        "move {} moved: signature certificate {old_serial} revoked (affiliationChanged), auth certificate kept,",
        mover.facts.name()
    );
    println!(
        "     new signature certificate {new_serial} with the new address written onto card {}\n",
        mover_card.card_id
    );

    // The daily CRL, published now.
    for c in authority.publish_crls().await? {
        println!(
            "CRL  {:<9} generation {}: #{} with {} entries, next update {}",
            c.kind.as_str(),
            c.generation,
            c.crl_number,
            c.entries,
            fmt_time(c.next_update)
        );
    }

    // The platform operator fetches revocation data over HTTP and verifies.
    println!();
    let mut trust = TrustStore::new(PolicySet::sandbox());
    for g in authority.cas()?.all() {
        trust.add_anchor(g.ca.certificate_der(), g.ca.kind())?;
    }
    let mut crls = CrlSet::new();
    for c in authority.published_crls().await? {
        let der =
            http.get(format!("{base}{}", c.url)).bearer_auth(&platform.api_key).send().await?.error_for_status()?;
        crls.add(&trust, &der.bytes().await?)?;
    }
    let verifier = Verifier::new(&trust);
    let rc = RevocationCheck::Crl(&crls);
    let now = clock.now();
    let v = verifier.verify_signature(&cert, DigestAlgorithm::Sha256, Signed::Data(doc), &sig, now, rc)?;
    let f = v.certificate().facts().context("signature certificates carry the 4 facts")?;
    let born = f.birth_date().date().map(|d| d.to_string()).unwrap_or_default();
    println!(
        "verify raw signature: OK — signed by {} (born {born} = {}, sex {}, {})",
        f.name(),
        f.birth_date(),
        f.sex().as_str(),
        f.address()
    );
    let v = verifier.verify_cms(&p7s, Some(doc), now, rc)?;
    println!(
        "verify CMS detached:  OK — certificate {}, signing time {}",
        v.certificate().serial(),
        v.signing_time().map(fmt_time).unwrap_or_default()
    );
    let old_cert = certificate_der(&authority, &old_serial).await?;
    match verifier.verify_certificate(&old_cert, Usage::Signature, now, rc) {
        Err(VerifyError::Revoked { reason, meaning, .. }) => println!(
            "verify old cert of {}: REVOKED ({reason}) → {} (fetch the latest 4 facts with consent)",
            mover.facts.name(),
            meaning.as_str()
        ),
        other => bail!("the moved person's old certificate should be revoked, got {other:?}"),
    }
    let new_cert = certificate_der(&authority, &new_serial).await?;
    let v = verifier.verify_certificate(&new_cert, Usage::Signature, now, rc)?;
    println!(
        "verify new cert of {}: OK — address {}",
        mover.facts.name(),
        v.facts().map(|f| f.address()).unwrap_or_default()
    );

    // The same question by OCSP, answered over HTTP by the delegated responder.
    let issuer = {
        let cas = authority.cas()?;
        let g = cas.current(CaKind::Signature, now)?;
        Certificate::clone(g.ca.certificate())
    };
    let id = CertIdentity::new(&issuer, hanko_pki::JpkiCertificate::from_der(&old_cert)?.serial())?;
    let mut nonce = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut nonce);
    let response = http
        .post(format!("{base}/ocsp"))
        .bearer_auth(&platform.api_key)
        .header("content-type", "application/ocsp-request")
        .body(build_request(std::slice::from_ref(&id), Some(&nonce))?)
        .send()
        .await?
        .bytes()
        .await?;
    let status = verify_response(&response, &issuer, &[id], Some(&nonce), now, hanko_pki::time::Duration::minutes(15))?;
    match status.first().map(|s| &s.status) {
        Some(RevocationStatus::Revoked(r)) => {
            println!("OCSP old cert of {}: revoked ({}), at {}", mover.facts.name(), r.reason, fmt_time(r.revoked_at))
        }
        other => bail!("OCSP should say revoked, said {other:?}"),
    }
    // affiliationChanged → the insurer asks for the latest facts, with the consent.
    let latest: serde_json::Value = http
        .post(format!("{base}/v1/latest-facts"))
        .bearer_auth(&platform.api_key)
        .header(hanko_authority::SP_HEADER, "SP-INSURER/refresh")
        .json(&serde_json::json!({"consent_id": consent_id}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    println!(
        "latest 4 facts (consented: name, address): {}, {} — from certificate {}",
        latest["facts"]["name"].as_str().unwrap_or("?"),
        latest["facts"]["address"].as_str().unwrap_or("?"),
        latest["serial"].as_str().unwrap_or("?")
    );
    server.abort();
    let month = hanko_authority::jst_month(clock.now());
    let report = authority.meter_report(&month).await?;
    println!(
        "meter {month}: {} billable events, {} yen (hanko authority report --data-dir {})",
        report.rows.iter().map(|r| r.count).sum::<u64>(),
        report.total_yen,
        dir.display()
    );

    println!("\nTry next:");
    println!("  hanko authority serve --data-dir {}        # the same authority over HTTP", dir.display());
    println!(
        "  hanko card serve --data-dir {} --card {}   # a card in pcscd for OpenSC / jpki-cli",
        dir.display(),
        card0.card_id
    );
    println!("  openssl x509 -inform DER -in {}/documents/signer.der -noout -text", dir.display());
    println!(
        "  hanko verify cms {0}/documents/application.p7s --content {0}/documents/application.txt --data-dir {0}",
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

async fn certificate_der(authority: &Authority, serial: &str) -> Result<Vec<u8>> {
    let s = hanko_pki::Serial::from_hex(serial).context("serial")?;
    authority.store().certificate(&s).await?.and_then(|c| c.der).context("certificate not in the register")
}
