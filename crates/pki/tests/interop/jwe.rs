//! JWE interop with jwcrypto (a real JOSE library): it decrypts what we encrypt, we decrypt what
//! it encrypts, for every alg/enc pair both implement; a JWE for another key is a clear error.

use hanko_pki::jwe::{encrypt, ContentAlgorithm, JweDecryptionKey, JweError, JwePolicy, KeyAlgorithm};
use rand_core::OsRng;
use serde_json::Map;

use crate::common::{describe, pem, run_python, TempDir};

/// argv: public JWK (JSON), alg, enc, extra header (JSON); stdin: plaintext; stdout: compact JWE.
const ENCRYPT: &str = r#"
import json, sys
from jwcrypto import jwk, jwe
key = jwk.JWK.from_json(sys.argv[1])
header = {"alg": sys.argv[2], "enc": sys.argv[3]}
header.update(json.loads(sys.argv[4]))
token = jwe.JWE(sys.stdin.buffer.read(), json.dumps(header))
token.add_recipient(key)
sys.stdout.write(token.serialize(compact=True))
"#;

/// argv: PKCS#8 PEM file; stdin: compact JWE; stdout: plaintext.
const DECRYPT: &str = r#"
import sys
from jwcrypto import jwk, jwe
key = jwk.JWK.from_pem(open(sys.argv[1], "rb").read())
token = jwe.JWE()
token.deserialize(sys.stdin.read(), key=key)
sys.stdout.buffer.write(token.payload)
"#;

fn everything() -> JwePolicy {
    JwePolicy {
        key_algorithms: KeyAlgorithm::ALL.to_vec(),
        content_algorithms: ContentAlgorithm::ALL.to_vec(),
        ..JwePolicy::default()
    }
}

fn jwcrypto_encrypt(dir: &TempDir, jwk: &str, alg: &str, enc: &str, extra: &str, plaintext: &[u8]) -> String {
    let out = run_python(dir, ENCRYPT, &[jwk, alg, enc, extra], plaintext);
    assert!(out.status.success(), "jwcrypto encrypt {alg} {enc}: {}", describe(&out));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn jwcrypto_decrypts_our_jwe_for_every_alg_and_enc() {
    let dir = TempDir::new("jwe", "theirs-decrypt");
    let key = JweDecryptionKey::generate_rsa2048().unwrap();
    dir.write("key.pem", pem("PRIVATE KEY", &key.to_pkcs8().unwrap()));
    let plaintext = r#"{"signature":"AAEC","certificate":"MIIB","note":"日本語"}"#.as_bytes();
    for alg in KeyAlgorithm::ALL {
        for enc in ContentAlgorithm::ALL {
            let token = encrypt(plaintext, key.public_key(), alg, enc, &Map::new(), &mut OsRng).unwrap();
            let out = run_python(&dir, DECRYPT, &["key.pem"], token.as_bytes());
            assert!(out.status.success(), "jwcrypto decrypt {} {}: {}", alg.name(), enc.name(), describe(&out));
            assert_eq!(out.stdout, plaintext, "{} {}", alg.name(), enc.name());
        }
    }
}

#[test]
fn we_decrypt_jwcrypto_jwe_for_every_alg_and_enc() {
    let dir = TempDir::new("jwe", "ours-decrypt");
    let key = JweDecryptionKey::generate_rsa2048().unwrap();
    let plaintext = b"the authentication app's sign result \x00\xff";
    for alg in KeyAlgorithm::ALL {
        let jwk = key.public_key().jwk(alg).to_string();
        for enc in ContentAlgorithm::ALL {
            let kid = format!(r#"{{"kid":"{}","cty":"JSON"}}"#, key.public_key().kid());
            for extra in ["{}", kid.as_str()] {
                let token = jwcrypto_encrypt(&dir, &jwk, alg.name(), enc.name(), extra, plaintext);
                let out = key.decrypt(&token, &everything()).unwrap();
                assert_eq!(&out.plaintext[..], plaintext, "{} {} {extra}", alg.name(), enc.name());
                assert_eq!((out.key_algorithm, out.content_algorithm), (alg, enc));
            }
        }
    }
    // The default policy takes RSA-OAEP-256 + A256GCM and nothing else.
    let jwk = key.public_key().jwk(KeyAlgorithm::RsaOaep).to_string();
    let token = jwcrypto_encrypt(&dir, &jwk, "RSA-OAEP", "A128GCM", "{}", b"x");
    assert_eq!(key.decrypt(&token, &JwePolicy::default()).unwrap_err(), JweError::AlgNotAllowed("RSA-OAEP"));
}

#[test]
fn a_jwcrypto_jwe_for_another_key_is_a_clear_error() {
    let dir = TempDir::new("jwe", "other-recipient");
    let ours = JweDecryptionKey::generate_rsa2048().unwrap();
    let theirs = JweDecryptionKey::generate_rsa2048().unwrap();
    let jwk = theirs.public_key().jwk(KeyAlgorithm::RsaOaep256).to_string();
    let token = jwcrypto_encrypt(&dir, &jwk, "RSA-OAEP-256", "A256GCM", "{}", b"not for us");
    assert_eq!(ours.decrypt(&token, &JwePolicy::default()).unwrap_err(), JweError::NotForThisKey);
    let with_kid = format!(r#"{{"kid":"{}"}}"#, theirs.public_key().kid());
    let token = jwcrypto_encrypt(&dir, &jwk, "RSA-OAEP-256", "A256GCM", &with_kid, b"not for us");
    let err = ours.decrypt(&token, &JwePolicy::default()).unwrap_err();
    assert!(matches!(err, JweError::OtherKeyId { .. }), "{err:?}");
    assert!(err.to_string().contains(theirs.public_key().kid()), "{err}");
}

#[test]
fn a_compressed_jwcrypto_jwe_is_refused() {
    let dir = TempDir::new("jwe", "zip");
    let key = JweDecryptionKey::generate_rsa2048().unwrap();
    let jwk = key.public_key().jwk(KeyAlgorithm::RsaOaep256).to_string();
    let token = jwcrypto_encrypt(&dir, &jwk, "RSA-OAEP-256", "A256GCM", r#"{"zip":"DEF"}"#, &[b'a'; 10_000]);
    assert_eq!(key.decrypt(&token, &JwePolicy::default()).unwrap_err(), JweError::Compressed("\"DEF\"".into()));
}
