#![no_main]
use hanko_pki::der::Encode;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(cert) = hanko_pki::JpkiCertificate::from_der(data) {
        // Whatever parses exposes its parts without panicking…
        let _ = (cert.kind(), cert.serial().to_string(), cert.facts().map(|f| f.birth_date().to_string()));
        let _ = (cert.subject_string(), cert.issuer_string(), cert.signature().len());
        // …and when the strict decoder also accepts it, the two agree on every part.
        if let Ok(x) = cert.to_x509() {
            assert_eq!(x.to_der().ok().as_deref(), Some(data));
            assert_eq!(x.tbs_certificate.to_der().ok().as_deref(), Some(cert.tbs_der()));
            assert_eq!(x.signature.raw_bytes(), cert.signature());
        }
    }
});
