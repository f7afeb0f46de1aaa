//! The provider's signing keys: ES256 for ID tokens, RS256 for access tokens (what Keycloak
//! does), each under a `kid` (its RFC 7638 thumbprint), published at
//! `{issuer}/protocol/openid-connect/certs`.
//!
//! Keys are files under `DATA_DIR/keys/` (`{unix time}-{alg}.der`, PKCS#8 for EC, PKCS#1 for
//! RSA, mode 0600). The newest key of each algorithm signs; the older ones stay published so that
//! tokens they signed still verify, until removed. Rotation ([`rotate`]) adds a new key of
//! each algorithm: RPs pick the key by `kid`.

use std::collections::HashMap;
use std::path::Path;

use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use serde::Serialize;
use serde_json::{json, Value};

use crate::error::IdpError;

/// The directory of signing keys under the data directory.
pub const KEYS_DIR: &str = "keys";

/// One signing key.
pub(crate) struct SigningKey {
    pub(crate) kid: String,
    pub(crate) alg: Algorithm,
    encoding: EncodingKey,
    decoding: DecodingKey,
    jwk: Value,
}

/// The keys the provider signs with and publishes.
pub(crate) struct Keys {
    /// The newest ES256 key (ID tokens).
    id_token: SigningKey,
    /// The newest RS256 key (access tokens).
    access_token: SigningKey,
    /// Every key by kid (the older ones verify only).
    all: HashMap<String, SigningKey>,
    jwks: Value,
}

fn io(what: &str, path: &Path, e: std::io::Error) -> IdpError {
    IdpError::Internal(format!("{what} {}: {e}", path.display()))
}

fn load(path: &Path, alg: Algorithm) -> Result<SigningKey, IdpError> {
    let der = zeroize::Zeroizing::new(std::fs::read(path).map_err(|e| io("signing key", path, e))?);
    let encoding = match alg {
        Algorithm::ES256 => EncodingKey::from_ec_der(&der),
        _ => EncodingKey::from_rsa_der(&der),
    };
    let jwk = Jwk::from_encoding_key(&encoding, alg)
        .map_err(|e| IdpError::Internal(format!("signing key {}: {e}", path.display())))?;
    let kid = jwk.thumbprint(ThumbprintHash::SHA256).map_err(|e| IdpError::Internal(format!("thumbprint: {e}")))?;
    let decoding = DecodingKey::from_jwk(&jwk).map_err(|e| IdpError::Internal(format!("signing key: {e}")))?;
    let mut jwk = serde_json::to_value(&jwk).map_err(|e| IdpError::Internal(e.to_string()))?;
    jwk["kid"] = json!(kid);
    jwk["use"] = json!("sig");
    Ok(SigningKey { kid, alg, encoding, decoding, jwk })
}

fn generate(alg: Algorithm) -> Result<zeroize::Zeroizing<Vec<u8>>, IdpError> {
    match alg {
        Algorithm::ES256 => {
            use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
            let rng = aws_lc_rs::rand::SystemRandom::new();
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                .map_err(|_| IdpError::Internal("EC key generation failed".into()))?;
            Ok(zeroize::Zeroizing::new(pkcs8.as_ref().to_vec()))
        }
        _ => {
            use rsa::pkcs1::EncodeRsaPrivateKey;
            let key = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 2048)
                .map_err(|e| IdpError::Internal(format!("RSA key generation: {e}")))?;
            let der = key.to_pkcs1_der().map_err(|e| IdpError::Internal(format!("RSA key: {e}")))?;
            Ok(zeroize::Zeroizing::new(der.as_bytes().to_vec()))
        }
    }
}

fn alg_name(alg: Algorithm) -> &'static str {
    if alg == Algorithm::ES256 {
        "ES256"
    } else {
        "RS256"
    }
}

/// Adds a new signing key of each algorithm under `data_dir` (the first ones when there are
/// none); the kids of the new keys.
pub fn rotate(data_dir: &Path) -> Result<Vec<String>, IdpError> {
    let dir = data_dir.join(KEYS_DIR);
    std::fs::create_dir_all(&dir).map_err(|e| io("keys directory", &dir, e))?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
    let mut kids = Vec::new();
    for alg in [Algorithm::ES256, Algorithm::RS256] {
        let der = generate(alg)?;
        let path = dir.join(format!("{now:024}-{}.der", alg_name(alg)));
        hanko_store::create_new(&path, &der, 0o600).map_err(|e| io("signing key", &path, e))?;
        kids.push(load(&path, alg)?.kid);
    }
    Ok(kids)
}

impl Keys {
    /// Loads the keys under `data_dir/keys`, making the first ones when there are none.
    pub(crate) fn load(data_dir: &Path) -> Result<Keys, IdpError> {
        let dir = data_dir.join(KEYS_DIR);
        let mut files: Vec<_> = match std::fs::read_dir(&dir) {
            Ok(entries) => entries.filter_map(|e| e.ok().map(|e| e.path())).collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io("keys directory", &dir, e)),
        };
        if !files.iter().any(|f| f.extension().is_some_and(|x| x == "der")) {
            rotate(data_dir)?;
            files = std::fs::read_dir(&dir)
                .map_err(|e| io("keys directory", &dir, e))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .collect();
        }
        files.sort();
        let mut all = HashMap::new();
        let (mut es, mut rs) = (None, None);
        for f in files {
            let name = f.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
            let alg = if name.ends_with("-ES256.der") {
                Algorithm::ES256
            } else if name.ends_with("-RS256.der") {
                Algorithm::RS256
            } else {
                continue;
            };
            let key = load(&f, alg)?;
            if alg == Algorithm::ES256 {
                es = Some(key.kid.clone());
            } else {
                rs = Some(key.kid.clone());
            }
            all.insert(key.kid.clone(), key);
        }
        let (Some(es), Some(rs)) = (es, rs) else {
            return Err(IdpError::Internal(format!(
                "{} lacks an ES256 or an RS256 key; run `hanko idp rotate-keys`",
                dir.display()
            )));
        };
        let mut keys: Vec<&SigningKey> = all.values().collect();
        keys.sort_by(|a, b| a.kid.cmp(&b.kid));
        let jwks = json!({"keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>()});
        let take = |kid: &str, all: &HashMap<String, SigningKey>| -> Result<SigningKey, IdpError> {
            let k = &all[kid];
            Ok(SigningKey {
                kid: k.kid.clone(),
                alg: k.alg,
                encoding: k.encoding.clone(),
                decoding: k.decoding.clone(),
                jwk: k.jwk.clone(),
            })
        };
        Ok(Keys { id_token: take(&es, &all)?, access_token: take(&rs, &all)?, all, jwks })
    }

    /// The published JWKS.
    pub(crate) fn jwks(&self) -> &Value {
        &self.jwks
    }

    /// Signs `claims` as an ID token (ES256).
    pub(crate) fn sign_id_token<T: Serialize>(&self, claims: &T) -> Result<String, IdpError> {
        sign(&self.id_token, claims, None)
    }

    /// Signs `claims` as an access token (RS256, `typ: at+jwt` per RFC 9068).
    pub(crate) fn sign_access_token<T: Serialize>(&self, claims: &T) -> Result<String, IdpError> {
        sign(&self.access_token, claims, Some("at+jwt"))
    }

    /// Verifies the signature of one of our access tokens (any published RS256 key, by kid);
    /// the claims are checked by the caller.
    pub(crate) fn verify_access_token(&self, token: &str) -> Option<Value> {
        let header = jsonwebtoken::decode_header(token).ok()?;
        if header.alg != Algorithm::RS256 || header.typ.as_deref() != Some("at+jwt") {
            return None;
        }
        let key = self.all.get(header.kid.as_deref()?)?;
        if key.alg != Algorithm::RS256 {
            return None;
        }
        let mut v = jsonwebtoken::Validation::new(Algorithm::RS256);
        v.validate_exp = false;
        v.validate_aud = false;
        v.required_spec_claims.clear();
        jsonwebtoken::decode::<Value>(token, &key.decoding, &v).ok().map(|d| d.claims)
    }
}

fn sign<T: Serialize>(key: &SigningKey, claims: &T, typ: Option<&str>) -> Result<String, IdpError> {
    let mut header = Header::new(key.alg);
    header.kid = Some(key.kid.clone());
    header.typ = Some(typ.unwrap_or("JWT").to_owned());
    jsonwebtoken::encode(&header, claims, &key.encoding).map_err(|e| IdpError::Internal(format!("signing: {e}")))
}
