//! The service test suites' shared backends (ARCHITECTURE.md §3.12: the same suite per
//! database). Included by each service's `tests/api/common.rs` with `#[path]` and re-exported
//! there, so `on_both!` finds `$crate::common::{Backend, postgres_or_skip}`.

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs an async test body once per backend: `on_both!(name, body_fn)` makes `name::sqlite`
/// and `name::postgres`.
#[macro_export]
macro_rules! on_both {
    ($name:ident, $body:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$body($crate::common::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(b) = $crate::common::postgres_or_skip() {
                    super::$body(b).await
                }
            }
        }
    };
}

/// The PostgreSQL backend, or `None` (printing SKIPPED) only when HANKO_SKIP_POSTGRES=1 says so.
pub fn postgres_or_skip() -> Option<Backend> {
    if std::env::var("HANKO_TEST_POSTGRES").is_ok() {
        return Some(Backend::Postgres);
    }
    if std::env::var("HANKO_SKIP_POSTGRES").as_deref() == Ok("1") {
        eprintln!("SKIPPED: the PostgreSQL half (HANKO_SKIP_POSTGRES=1)");
        return None;
    }
    panic!(
        "HANKO_TEST_POSTGRES is not set: run `export HANKO_TEST_POSTGRES=$(scripts/pg-up.sh)` \
         (or HANKO_SKIP_POSTGRES=1 to skip the PostgreSQL half knowingly)"
    )
}

static SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// A fresh, empty directory `hanko-<service>-<tag>-<pid>-<n>` under the system's temp dir.
pub fn temp_dir(service: &str, tag: &str) -> std::path::PathBuf {
    let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("hanko-{service}-{tag}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The URL of a fresh, empty PostgreSQL schema `<prefix>_<random>` on $HANKO_TEST_POSTGRES.
pub fn fresh_postgres_url(prefix: &str) -> String {
    let base = std::env::var("HANKO_TEST_POSTGRES").unwrap();
    let mut r = [0u8; 6];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut r);
    let schema = format!("{prefix}_{}", hex::encode(r));
    format!("{base}{}hanko_schema={schema}", if base.contains('?') { '&' } else { '?' })
}
