//! Helpers shared by the interop tests: a scratch directory, the `openssl` runner, PEM, and a
//! sandbox CA with holder keys and certificates made through the public API.

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use hanko_pki::der::pem::LineEnding;
use hanko_pki::time::macros::date;
use hanko_pki::time::OffsetDateTime;
use hanko_pki::{
    auth_subject, issuance_id, signature_subject, BasicFacts, BirthDate, CaGeneration, CaKind, CertKind, Naming,
    PolicySet, Profile, Serial, Sex, Signer, SoftwareKey,
};

/// A fresh directory under the system temp dir, removed with its contents on drop. Derefs to
/// its [`Path`].
pub(crate) struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// `hanko-openssl-{area}-{pid}-{test}`: `area` keeps the modules of this one binary apart.
    pub(crate) fn new(area: &str, test: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("hanko-openssl-{area}-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir { path }
    }

    pub(crate) fn write(&self, name: &str, bytes: impl AsRef<[u8]>) {
        std::fs::write(self.path.join(name), bytes).unwrap();
    }

    pub(crate) fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path.join(name)).unwrap()
    }

    /// Writes `der` as PEM with `label`.
    pub(crate) fn write_pem(&self, name: &str, label: &str, der: &[u8]) {
        self.write(name, pem(label, der));
    }
}

impl Deref for TempDir {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Runs `openssl` in `dir`. Panics (fails the test) when the binary is missing.
pub(crate) fn openssl(dir: &Path, args: &[&str]) -> Output {
    Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the `openssl` binary is required for these tests (they do not skip)")
}

/// `openssl` that must succeed; returns stdout + stderr.
pub(crate) fn openssl_ok(dir: &Path, args: &[&str]) -> String {
    let out = openssl(dir, args);
    let text = stdout_and_stderr(&out);
    assert!(out.status.success(), "openssl {args:?} failed:\n{text}");
    text
}

/// stdout followed by stderr, lossily decoded.
pub(crate) fn stdout_and_stderr(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

pub(crate) fn describe(out: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

pub(crate) fn pem(label: &str, der: &[u8]) -> String {
    hanko_pki::der::pem::encode_string(label, LineEnding::LF, der).unwrap()
}

/// A sandbox CA of `kind` on a fresh RSA-2048 key.
pub(crate) fn sandbox_ca(
    kind: CaKind,
    serial: &Serial,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> CaGeneration<SoftwareKey> {
    CaGeneration::create(
        kind,
        Naming::sandbox(),
        PolicySet::sandbox(),
        SoftwareKey::generate_rsa2048().unwrap(),
        serial,
        not_before,
        not_after,
    )
    .unwrap()
}

/// A fresh RSA-2048 holder key and its signature certificate from `ca`, carrying the four facts
/// of a test holder; `now` dates the issuance ID.
pub(crate) fn signature_holder(
    ca: &CaGeneration<SoftwareKey>,
    serial: &Serial,
    now: OffsetDateTime,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> (SoftwareKey, Vec<u8>) {
    let key = SoftwareKey::generate_rsa2048().unwrap();
    let facts = BasicFacts::new(
        "試験　花子",
        Sex::FEMALE,
        BirthDate::Known(date!(1990 - 04 - 01)),
        "東京都千代田区霞が関一丁目１番１号",
    )
    .unwrap();
    let der = ca
        .issue(
            &Profile::end_entity(CertKind::Signature),
            serial,
            signature_subject("Tokyo-to", "Chiyoda-ku", &issuance_id(now, 1, "HANKOTEST")).unwrap(),
            key.public_key().clone(),
            Some(&facts),
            not_before,
            not_after,
        )
        .unwrap();
    (key, der)
}

/// A fresh RSA-2048 holder key and its user-authentication certificate (no facts) from `ca`.
pub(crate) fn auth_holder(
    ca: &CaGeneration<SoftwareKey>,
    serial: &Serial,
    id: &str,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> (SoftwareKey, Vec<u8>) {
    let key = SoftwareKey::generate_rsa2048().unwrap();
    let der = ca
        .issue(
            &Profile::end_entity(CertKind::Auth),
            serial,
            auth_subject(id).unwrap(),
            key.public_key().clone(),
            None,
            not_before,
            not_after,
        )
        .unwrap();
    (key, der)
}

/// The interop virtualenv's python (jwcrypto, pyHanko; pinned by scripts/py-interop-venv.sh,
/// which makes it on first use). Panics (fails the test) when it cannot be made.
pub(crate) fn python() -> &'static Path {
    static PYTHON: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PYTHON.get_or_init(|| {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/py-interop-venv.sh");
        let out = Command::new(&script).output().expect("scripts/py-interop-venv.sh runs");
        assert!(
            out.status.success(),
            "scripts/py-interop-venv.sh failed (these tests do not skip):\n{}",
            describe(&out)
        );
        PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
    })
}

/// Runs the interop python with `script` (`python -c`) and `args` in `dir`, `stdin` piped in.
pub(crate) fn run_python(dir: &Path, script: &str, args: &[&str], stdin: &[u8]) -> Output {
    use std::io::Write;
    let mut child = Command::new(python())
        .arg("-c")
        .arg(script)
        .args(args)
        .current_dir(dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}
