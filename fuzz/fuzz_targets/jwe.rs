#![no_main]
use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hanko_pki::jwe::{encrypt, ContentAlgorithm, JweDecryptionKey, JwePolicy, KeyAlgorithm};
use libfuzzer_sys::fuzz_target;
use rand_core::OsRng;

struct Setup {
    key: JweDecryptionKey,
    policy: JwePolicy,
    /// Valid tokens (one per enc) whose parts the fuzzer replaces, so the symmetric paths run.
    tokens: Vec<String>,
}

fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let key = JweDecryptionKey::generate_rsa2048().unwrap();
        let tokens = ContentAlgorithm::ALL
            .iter()
            .map(|&enc| {
                encrypt(b"fuzz", key.public_key(), KeyAlgorithm::RsaOaep256, enc, &Default::default(), &mut OsRng).unwrap()
            })
            .collect();
        let policy = JwePolicy {
            key_algorithms: KeyAlgorithm::ALL.to_vec(),
            content_algorithms: ContentAlgorithm::ALL.to_vec(),
            ..JwePolicy::default()
        };
        Setup { key, policy, tokens }
    })
}

// Hostile tokens: decrypting must never panic. Input byte 0 picks a mode: a whole token, or
// one part (header, encrypted key, IV, ciphertext, tag) of a valid token replaced.
fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let s = setup();
    let token = if mode < 128 {
        String::from_utf8_lossy(rest).into_owned()
    } else {
        let base = &s.tokens[mode as usize % s.tokens.len()];
        let mut parts: Vec<String> = base.split('.').map(str::to_owned).collect();
        let part = (mode as usize / 8) % 5;
        parts[part] = URL_SAFE_NO_PAD.encode(rest);
        parts.join(".")
    };
    if let Ok(out) = s.key.decrypt(&token, &s.policy) {
        assert!(out.header.contains_key("alg"));
    }
});
