//! `hanko demo` — the main job on the embedded default: a sandbox authority, certificates for a
//! few synthetic people, a move that revokes one, daily CRLs, and verification of it all.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use hanko_pki::verify::{CrlSet, RevocationCheck, Signed, TrustStore, Verifier, VerifyError};
use hanko_pki::{
    cms, BasicFacts, CertKind, CrlReason, DigestAlgorithm, PolicySet, SignatureAlgorithm, Signer, SoftwareKey,
};

use crate::cmd_ca::{default_card_expiry, issue, publish_crls};
use crate::people::synthetic;
use crate::sandbox::{self, write_atomic, Sandbox};
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

pub(crate) fn run(args: &Args) -> Result<ExitCode> {
    let dir = &args.dir;
    if dir.exists() {
        if !dir.join(MARKER).exists() {
            bail!("{} exists and was not made by `hanko demo`; choose another --dir", dir.display());
        }
        std::fs::remove_dir_all(dir).with_context(|| format!("removing the previous demo in {}", dir.display()))?;
    }
    write_atomic(&dir.join(MARKER), b"made by hanko demo; safe to delete\n", 0o644)?;
    let now = now_or(args.at.as_deref())?;
    let mut sb = Sandbox::open_or_empty(dir)?;

    println!("hanko demo — a sandbox JPKI authority in {}", dir.display());
    println!("(test names only: O=JPKI-TEST, test policy OIDs, synthetic people)\n");
    for kind in [hanko_pki::CaKind::Signature, hanko_pki::CaKind::Auth] {
        let g = sb.create_generation(kind, now)?;
        println!(
            "CA   {:<9} generation {} serial {} valid to {}",
            g.kind,
            g.id,
            g.serial,
            fmt_time(sandbox::from_ts(g.not_after)?)
        );
    }
    println!();

    // Issue certificates. Holder keys would live in the card's chip; here they stay in memory
    // and only the first person's signature key is kept (0600) so you can sign with it.
    let people = synthetic()?;
    let card_expiry = default_card_expiry(now);
    let mut holders: Vec<(SoftwareKey, Vec<u8>, String)> = Vec::new();
    for p in &people {
        let kinds: &[CertKind] = if p.adult { &[CertKind::Signature, CertKind::Auth] } else { &[CertKind::Auth] };
        for kind in kinds {
            let key = SoftwareKey::generate_rsa2048()?;
            let (rec, der, path) = issue(&mut sb, *kind, Some(p), key.public_key().clone(), now, card_expiry)?;
            println!(
                "cert {:<9} {:<16} {} to {}  → {}",
                rec.kind,
                rec.serial,
                p.facts.name(),
                fmt_time(sandbox::from_ts(rec.not_after)?),
                path.display()
            );
            holders.push((key, der, rec.serial));
        }
    }
    println!(
        "      (the minor {} holds only a user-authentication certificate)\n",
        people[people.len() - 1].facts.name()
    );

    // Person 1 signs a document: raw PKCS#1 (as the card's 80 2A returns) and CMS detached.
    let (key, cert, _) = &holders[0];
    let doc = "口座開設申込書 — hanko demo\n".as_bytes();
    let sig = key.sign(SignatureAlgorithm::RsaPkcs1Sha256, doc)?;
    let p7s = cms::sign(key, cert, doc, cms::Encapsulation::Detached, DigestAlgorithm::Sha256, Some(now), &[])?;
    let docs = dir.join("documents");
    write_atomic(&docs.join("application.txt"), doc, 0o644)?;
    write_atomic(&docs.join("application.sig"), &sig, 0o644)?;
    write_atomic(&docs.join("application.p7s"), &p7s, 0o644)?;
    write_atomic(&docs.join("signer.der"), cert, 0o644)?;

    // Person 2 moves house: the signature certificate is revoked (affiliationChanged), the auth
    // certificate is kept, and a new signature certificate carries the new address.
    let mover = &people[1];
    let (_, old_cert, old_serial) = &holders[2];
    let old_serial = old_serial.clone();
    let old_cert = old_cert.clone();
    sb.revoke(&hanko_pki::Serial::from_hex(&old_serial).context("serial")?, CrlReason::AFFILIATION_CHANGED, now)?;
    let moved = crate::people::Person {
        facts: BasicFacts::new(
            mover.facts.name(),
            mover.facts.sex(),
            mover.facts.birth_date(),
            "東京都見本区架空台一丁目２番３号",
        )?,
        prefecture: mover.prefecture.clone(),
        municipality: mover.municipality.clone(),
        adult: true,
    };
    let new_key = SoftwareKey::generate_rsa2048()?;
    let (new_rec, new_cert, _) =
        issue(&mut sb, CertKind::Signature, Some(&moved), new_key.public_key().clone(), now, card_expiry)?;
    println!(
        "move {} moved: signature certificate {old_serial} revoked (affiliationChanged), auth certificate kept,",
        mover.facts.name()
    );
    println!("     new signature certificate {} with the new address\n", new_rec.serial);

    for p in publish_crls(&mut sb, now)? {
        let s = |k: &str| p[k].as_str().map(str::to_owned).unwrap_or_else(|| p[k].to_string());
        println!(
            "CRL  {:<9} generation {}: #{} with {} entries, next update {} → {}",
            s("ca"),
            s("generation"),
            s("crl_number"),
            s("entries"),
            s("next_update"),
            s("path")
        );
    }
    println!();

    // Verify as a platform operator would: trust the sandbox CAs, revocation from the CRLs.
    let mut trust = TrustStore::new(PolicySet::sandbox());
    for (kind, der) in sb.anchors()? {
        trust.add_anchor(&der, kind)?;
    }
    let mut crls = CrlSet::new();
    for entry in std::fs::read_dir(dir.join("crl"))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "crl") {
            crls.add(&trust, &std::fs::read(&path)?)?;
        }
    }
    let verifier = Verifier::new(&trust);
    let rc = RevocationCheck::Crl(&crls);
    let v = verifier.verify_signature(cert, DigestAlgorithm::Sha256, Signed::Data(doc), &sig, now, rc)?;
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
    match verifier.verify_certificate(&old_cert, hanko_pki::verify::Usage::Signature, now, rc) {
        Err(VerifyError::Revoked { reason, meaning, .. }) => {
            println!(
                "verify old cert of {}: REVOKED ({reason}) → {} (fetch the latest 4 facts with consent)",
                mover.facts.name(),
                meaning.as_str()
            );
        }
        other => bail!("the moved person's old certificate should be revoked, got {other:?}"),
    }
    let v = verifier.verify_certificate(&new_cert, hanko_pki::verify::Usage::Signature, now, rc)?;
    println!(
        "verify new cert of {}: OK — address {}",
        mover.facts.name(),
        v.facts().map(|f| f.address()).unwrap_or_default()
    );

    println!("\nTry next:");
    println!("  openssl x509 -inform DER -in {}/documents/signer.der -noout -text", dir.display());
    println!("  cargo run -q -- verify cms {0}/documents/application.p7s --content {0}/documents/application.txt --data-dir {0}", dir.display());
    println!("  cargo run -q -- ca list --data-dir {}", dir.display());
    Ok(ExitCode::SUCCESS)
}
