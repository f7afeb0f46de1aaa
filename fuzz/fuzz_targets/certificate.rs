#![no_main]
use hanko_pki::der::Encode;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(cert) = hanko_pki::JpkiCertificate::from_der(data) {
        // Whatever parses exposes its parts without panicking and re-encodes to its bytes.
        let _ = (cert.kind(), cert.serial().to_string(), cert.facts().map(|f| f.birth_date().to_string()));
        assert_eq!(cert.tbs_der().len() < data.len(), true);
        let _ = cert.x509().to_der();
    }
});
