//! Object identifiers of the JPKI profiles (shared/spec/20-pki.md §1–2) and the few
//! standard ones the crate names often.

use const_oid::ObjectIdentifier as Oid;

/// `1.2.392.200149.8.5.5.1` — name (氏名), UTF8String.
pub const JPKI_NAME: Oid = Oid::new_unwrap("1.2.392.200149.8.5.5.1");
/// `1.2.392.200149.8.5.5.2` — substitute-character map of the name.
pub const JPKI_NAME_SUBSTITUTES: Oid = Oid::new_unwrap("1.2.392.200149.8.5.5.2");
/// `1.2.392.200149.8.5.5.3` — sex code (性別).
pub const JPKI_SEX: Oid = Oid::new_unwrap("1.2.392.200149.8.5.5.3");
/// `1.2.392.200149.8.5.5.4` — birth date `EYYYYMMDD` (生年月日).
pub const JPKI_BIRTH_DATE: Oid = Oid::new_unwrap("1.2.392.200149.8.5.5.4");
/// `1.2.392.200149.8.5.5.5` — address (住所).
pub const JPKI_ADDRESS: Oid = Oid::new_unwrap("1.2.392.200149.8.5.5.5");
/// `1.2.392.200149.8.5.5.6` — substitute-character map of the address.
pub const JPKI_ADDRESS_SUBSTITUTES: Oid = Oid::new_unwrap("1.2.392.200149.8.5.5.6");

/// Production signature-certificate policy `1.2.392.200149.8.5.1.1.20` \[V\].
pub const POLICY_SIGNATURE: Oid = Oid::new_unwrap("1.2.392.200149.8.5.1.1.20");
/// Production user-authentication policy `1.2.392.200149.8.5.1.3.30` \[S\].
pub const POLICY_AUTH: Oid = Oid::new_unwrap("1.2.392.200149.8.5.1.3.30");
/// Production smartphone signature policy `1.2.392.200149.8.5.1.1.40` \[S\].
pub const POLICY_SMARTPHONE_SIGNATURE: Oid = Oid::new_unwrap("1.2.392.200149.8.5.1.1.40");
/// Test-hierarchy signature policy `1.2.392.200149.8.5.1.0.20` \[S\] — the sandbox default.
pub const POLICY_TEST_SIGNATURE: Oid = Oid::new_unwrap("1.2.392.200149.8.5.1.0.20");
/// Test-hierarchy user-authentication policy `1.2.392.200149.8.5.1.0.30` \[I\].
pub const POLICY_TEST_AUTH: Oid = Oid::new_unwrap("1.2.392.200149.8.5.1.0.30");
/// Test-hierarchy smartphone signature policy `1.2.392.200149.8.5.1.0.40` \[I\].
pub const POLICY_TEST_SMARTPHONE_SIGNATURE: Oid = Oid::new_unwrap("1.2.392.200149.8.5.1.0.40");

/// `id-qt-cps` policy qualifier (RFC 5280 §4.2.1.4).
pub const QT_CPS: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.2.1");
/// `sha256WithRSAEncryption`.
pub const SHA256_WITH_RSA: Oid = const_oid::db::rfc5912::SHA_256_WITH_RSA_ENCRYPTION;
/// `sha384WithRSAEncryption`.
pub const SHA384_WITH_RSA: Oid = const_oid::db::rfc5912::SHA_384_WITH_RSA_ENCRYPTION;
/// `sha512WithRSAEncryption`.
pub const SHA512_WITH_RSA: Oid = const_oid::db::rfc5912::SHA_512_WITH_RSA_ENCRYPTION;
/// `rsaEncryption`.
pub const RSA_ENCRYPTION: Oid = const_oid::db::rfc5912::RSA_ENCRYPTION;
/// `id-sha1` (used only for OCSP CertID hashes and key identifiers).
pub const SHA1: Oid = const_oid::db::rfc5912::ID_SHA_1;
/// `id-sha256`.
pub const SHA256: Oid = const_oid::db::rfc5912::ID_SHA_256;
/// `id-sha384`.
pub const SHA384: Oid = const_oid::db::rfc5912::ID_SHA_384;
/// `id-sha512`.
pub const SHA512: Oid = const_oid::db::rfc5912::ID_SHA_512;
