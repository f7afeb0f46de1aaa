//! PAdES interop with pyHanko (a real open PDF signing tool, driven through
//! scripts/pades-fixture.py): PDFs it signs with a key and certificate from our sandbox CA are
//! found, their byte ranges checked, and each CMS verified by `Verifier::verify_cms` over the
//! signed bytes — two signatures in one file, then an update appended after them.

use std::path::Path;
use std::process::Command;

use hanko_pki::pades::{signatures, SubFilter};
use hanko_pki::time::macros::date;
use hanko_pki::time::{Duration, OffsetDateTime};
use hanko_pki::verify::{RevocationCheck, TrustStore, Verifier};
use hanko_pki::{end_of_day_jst, CaKind, PolicySet, Serial};
use rand_core::OsRng;

use crate::common::{describe, python, sandbox_ca, signature_holder, TempDir};

fn fixture_tool(dir: &Path, args: &[&str]) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/pades-fixture.py");
    let out = Command::new(python()).arg("-W").arg("ignore").arg(script).args(args).current_dir(dir).output().unwrap();
    assert!(out.status.success(), "pades-fixture.py {args:?}: {}", describe(&out));
}

#[test]
fn we_verify_every_signature_of_a_pdf_signed_twice_by_pyhanko_then_updated() {
    let dir = TempDir::new("pades", "pyhanko");
    let now = OffsetDateTime::now_utc();
    let ca = sandbox_ca(
        CaKind::Signature,
        &Serial::random(&mut OsRng),
        now - Duration::days(1),
        end_of_day_jst(date!(2034 - 12 - 31)),
    );
    let (key, ee) =
        signature_holder(&ca, &Serial::random(&mut OsRng), now, now - Duration::hours(1), now + Duration::days(365));
    dir.write_pem("ca.pem", "CERTIFICATE", ca.certificate_der());
    dir.write_pem("ee.pem", "CERTIFICATE", &ee);
    dir.write_pem("ee.key", "PRIVATE KEY", &key.to_pkcs8().unwrap());

    fixture_tool(&dir, &["blank", "blank.pdf"]);
    let signer = ["--key", "ee.key", "--cert", "ee.pem", "--chain", "ca.pem"];
    fixture_tool(&dir, &[&["sign", "blank.pdf", "one.pdf", "--subfilter", "pades"][..], &signer].concat());
    fixture_tool(
        &dir,
        &[&["sign", "one.pdf", "two.pdf", "--field", "Sig2", "--subfilter", "pkcs7"][..], &signer].concat(),
    );
    fixture_tool(&dir, &["append", "two.pdf", "updated.pdf"]);

    let mut trust = TrustStore::new(PolicySet::sandbox());
    trust.add_anchor(ca.certificate_der(), CaKind::Signature).unwrap();
    let verifier = Verifier::new(&trust);

    assert!(signatures(&dir.read("blank.pdf")).unwrap().is_empty());

    let one = dir.read("one.pdf");
    let found = signatures(&one).unwrap();
    assert_eq!(found.len(), 1);
    let sig = found[0].as_ref().unwrap();
    assert_eq!(sig.sub_filter, SubFilter::EtsiCadesDetached);
    assert!(sig.covers_whole_file());
    let verified = verifier.verify_cms(&sig.cms_der, Some(&sig.signed_content()), now, RevocationCheck::Skip).unwrap();
    assert_eq!(verified.certificate().certificate().der(), &ee[..]);

    let updated = dir.read("updated.pdf");
    let two_len = dir.read("two.pdf").len();
    let found = signatures(&updated).unwrap();
    assert_eq!(found.len(), 2, "{found:?}");
    let (first, second) = (found[0].as_ref().unwrap(), found[1].as_ref().unwrap());
    assert_eq!(first.sub_filter, SubFilter::EtsiCadesDetached);
    assert_eq!(second.sub_filter, SubFilter::AdbePkcs7Detached);
    assert_eq!(first.signed_end(), one.len(), "the first signature covers the file as it was signed");
    assert_eq!(second.signed_end(), two_len);
    assert_eq!(first.bytes_after(), updated.len() - one.len());
    assert_eq!(second.bytes_after(), updated.len() - two_len);
    assert!(second.bytes_after() > 0, "the appended update is reported");
    for sig in [first, second] {
        verifier.verify_cms(&sig.cms_der, Some(&sig.signed_content()), now, RevocationCheck::Skip).unwrap();
    }

    // One changed byte inside the first signed range breaks both signatures.
    let mut tampered = updated.clone();
    let at = tampered.windows(19).position(|w| w == b"hanko PAdES fixture").unwrap();
    tampered[at] = b'H';
    for sig in signatures(&tampered).unwrap() {
        let sig = sig.unwrap();
        assert!(verifier.verify_cms(&sig.cms_der, Some(&sig.signed_content()), now, RevocationCheck::Skip).is_err());
    }
}
