//! Storage for hanko's services: one SQL database, either **SQLite** (the embedded default, a
//! file under the data directory) or **PostgreSQL** (selected by a `postgres://` URL, for
//! several stateless service nodes on one cluster).
//!
//! Both backends go through sqlx's `Any` driver, so a service writes its queries once in the
//! portable subset (`$1` placeholders, `BIGINT`, `TEXT`, `ON CONFLICT`); only the schema (column
//! types, identity columns) is written per dialect, in [`Migration`]s. Each service owns its
//! tables and its migrations; [`Db::migrate`] applies the ones not yet applied, once, under a
//! lock, and records them in `hanko_schema`.
//!
//! Durability: SQLite runs in WAL mode with `synchronous = FULL`, so a transaction that
//! committed survives a crash or a power cut; PostgreSQL's defaults (`fsync`,
//! `synchronous_commit = on`) give the same. Services acknowledge a change only after its
//! commit returned.

mod clock;
mod files;
#[cfg(feature = "http")]
pub mod http;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Connection, Executor};

pub use clock::{Clock, ManualClock, SystemClock};
pub use files::{create_new, write_atomic};
pub use sqlx;

/// The SQL dialect behind a [`Db`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite 3 (embedded).
    Sqlite,
    /// PostgreSQL 12 or later.
    Postgres,
}

/// A storage failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The URL names no supported database.
    #[error("unsupported database URL {0:?} (use sqlite:PATH or postgres://…)")]
    UnsupportedUrl(String),
    /// A row with the same unique key exists.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database refused a value as malformed (e.g. a NUL character in PostgreSQL text).
    #[error("invalid value: {0}")]
    Invalid(String),
    /// A stored value could not be read back (corrupt or written by a newer version).
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
    /// The database failed. The message is sqlx's, once: it is not also given as the error's
    /// source, so `{:#}` chains do not repeat it.
    #[error("database: {}", database_message(.0))]
    Database(sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> StoreError {
        match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict(d.message().to_owned()),
            // 22021 character_not_in_repertoire, 22P05 untranslatable_character: the value, not
            // the database, is at fault.
            sqlx::Error::Database(d) if matches!(d.code().as_deref(), Some("22021" | "22P05")) => {
                StoreError::Invalid(d.message().to_owned())
            }
            _ => StoreError::Database(e),
        }
    }
}

/// sqlx's message without its own repetitions: a pool timeout or an I/O error says what it is
/// once ("connection refused", not "error communicating with database: …").
fn database_message(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Io(io) => io.to_string(),
        sqlx::Error::Database(d) => d.message().to_owned(),
        other => other.to_string(),
    }
}

/// One schema step of a service, written for both dialects. Each string may hold several
/// statements separated by `;`.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Version, increasing from 1 within a service.
    pub version: i64,
    /// What it does, for the log.
    pub description: &'static str,
    /// The SQLite DDL.
    pub sqlite: &'static str,
    /// The PostgreSQL DDL.
    pub postgres: &'static str,
}

/// Read-only SQLite connections of [`Db::reader`].
pub const READERS: u32 = 4;

/// A connection pool to the service database.
#[derive(Debug, Clone)]
pub struct Db {
    pool: AnyPool,
    /// Reads that may run beside the writer (see [`Db::reader`]).
    reader: AnyPool,
    dialect: Dialect,
}

impl Db {
    /// Connects to `url`: `sqlite:PATH` (created when missing) or `postgres://…`.
    ///
    /// A PostgreSQL URL may carry `?hanko_schema=NAME` to keep this service's tables in their own
    /// schema (created when missing) — how the test suite isolates its runs on one server.
    pub async fn connect(url: &str) -> Result<Db, StoreError> {
        sqlx::any::install_default_drivers();
        if let Some(path) = url.strip_prefix("sqlite:") {
            let path = path.trim_start_matches("//");
            return Db::open_sqlite(Path::new(path)).await;
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let (base, schema) = split_schema(url);
            let opts = AnyConnectOptions::from_str(&base)?.disable_statement_logging();
            // One connection first: a server that is down answers "connection refused" now,
            // where the pool would retry for its whole acquire timeout and then say "timed out".
            sqlx::AnyConnection::connect_with(&opts).await?.close().await?;
            let mut pool = AnyPoolOptions::new().max_connections(16).acquire_timeout(Duration::from_secs(30));
            if let Some(schema) = schema.clone() {
                pool = pool.after_connect(move |conn, _| {
                    let schema = schema.clone();
                    Box::pin(async move {
                        conn.execute(format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\"").as_str()).await?;
                        conn.execute(format!("SET search_path TO \"{schema}\"").as_str()).await?;
                        Ok(())
                    })
                });
            }
            let pool = pool.connect_with(opts).await?;
            return Ok(Db { reader: pool.clone(), pool, dialect: Dialect::Postgres });
        }
        Err(StoreError::UnsupportedUrl(url.to_owned()))
    }

    /// Opens (creating when missing) the SQLite database at `path`.
    pub async fn open_sqlite(path: &Path) -> Result<Db, StoreError> {
        sqlx::any::install_default_drivers();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Database(sqlx::Error::Io(e)))?;
        }
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let opts = AnyConnectOptions::from_str(&url)?.disable_statement_logging();
        // One connection: SQLite has one writer anyway, and a single connection can never
        // deadlock upgrading a read transaction. Other processes wait on busy_timeout.
        let pool = AnyPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(60))
            .after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute(
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; \
                         PRAGMA busy_timeout = 30000;",
                    )
                    .await?;
                    Ok(())
                })
            })
            .connect_with(opts)
            .await?;
        // Readers: WAL lets them read the last commit while the writer works (its fsync
        // included). Read-only, opened on first use.
        let ro = format!("sqlite://{}?mode=ro", path.display());
        let reader = AnyPoolOptions::new()
            .max_connections(READERS)
            .acquire_timeout(Duration::from_secs(60))
            .after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute("PRAGMA query_only = ON; PRAGMA busy_timeout = 30000;").await?;
                    Ok(())
                })
            })
            .connect_lazy_with(AnyConnectOptions::from_str(&ro)?.disable_statement_logging());
        Ok(Db { pool, reader, dialect: Dialect::Sqlite })
    }

    /// The pool, for queries.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A pool for reads on a hot path that need not see the caller's own uncommitted writes:
    /// on SQLite, [`READERS`] read-only connections that read the last commit beside the single
    /// writer connection (which a commit's fsync holds); on PostgreSQL, the same pool as
    /// [`Db::pool`].
    pub fn reader(&self) -> &AnyPool {
        &self.reader
    }

    /// Whether the database answers within 2 s (`SELECT 1` on a [`Db::reader`] connection, so
    /// a health check does not queue behind the writer): for `/healthz`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        match tokio::time::timeout(Duration::from_secs(2), sqlx::query("SELECT 1").execute(&self.reader)).await {
            Ok(done) => done.map(|_| ()).map_err(StoreError::from),
            Err(_) => Err(StoreError::Database(sqlx::Error::PoolTimedOut)),
        }
    }

    /// Which dialect this database speaks.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Applies `service`'s migrations that are not applied yet, in order, each in its own
    /// transaction. Safe to run from several nodes at once.
    pub async fn migrate(&self, service: &str, migrations: &[Migration]) -> Result<(), StoreError> {
        self.pool
            .execute(
                "CREATE TABLE IF NOT EXISTS hanko_schema (service TEXT NOT NULL, version BIGINT NOT NULL, \
                 description TEXT NOT NULL, PRIMARY KEY (service, version))",
            )
            .await?;
        for m in migrations {
            let mut tx = self.pool.begin().await?;
            if self.dialect == Dialect::Postgres {
                // Serialises migrations of several nodes starting at once.
                sqlx::query("SELECT pg_advisory_xact_lock(7243)").execute(&mut *tx).await?;
            }
            let applied: Option<i64> =
                sqlx::query_scalar("SELECT version FROM hanko_schema WHERE service = $1 AND version = $2")
                    .bind(service)
                    .bind(m.version)
                    .fetch_optional(&mut *tx)
                    .await?;
            if applied.is_some() {
                tx.rollback().await?;
                continue;
            }
            let ddl = match self.dialect {
                Dialect::Sqlite => m.sqlite,
                Dialect::Postgres => m.postgres,
            };
            tx.execute(ddl).await?;
            sqlx::query("INSERT INTO hanko_schema (service, version, description) VALUES ($1, $2, $3)")
                .bind(service)
                .bind(m.version)
                .bind(m.description)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        }
        Ok(())
    }

    /// The id that binds this database to `service`'s files (for the authority: the data
    /// directory holding its CA keys), or `None` when the database holds none. Reads only: a
    /// database that was never set up is left as it is.
    ///
    /// A service writes one random id into both its database ([`Db::bind`]) and its files when it
    /// is set up, and compares them on every start, so that a mistyped database URL is refused
    /// instead of silently setting up a second service over the first one's files.
    pub async fn binding(&self, service: &str) -> Result<Option<String>, StoreError> {
        let exists = match self.dialect {
            Dialect::Sqlite => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'hanko_binding'",
            Dialect::Postgres => {
                "SELECT COUNT(*) FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_name = 'hanko_binding'"
            }
        };
        let n: i64 = sqlx::query_scalar(exists).fetch_one(&self.pool).await?;
        if n == 0 {
            return Ok(None);
        }
        Ok(sqlx::query_scalar("SELECT id FROM hanko_binding WHERE service = $1")
            .bind(service)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Binds this database to `service`'s files by `id` unless it is bound already, and returns
    /// the id in force: `id`, or the one written first (compare them).
    pub async fn bind(&self, service: &str, id: &str) -> Result<String, StoreError> {
        self.pool
            .execute("CREATE TABLE IF NOT EXISTS hanko_binding (service TEXT PRIMARY KEY, id TEXT NOT NULL)")
            .await?;
        sqlx::query("INSERT INTO hanko_binding (service, id) VALUES ($1, $2) ON CONFLICT (service) DO NOTHING")
            .bind(service)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(sqlx::query_scalar("SELECT id FROM hanko_binding WHERE service = $1")
            .bind(service)
            .fetch_one(&self.pool)
            .await?)
    }

    /// Closes the pool (waits for connections to be returned).
    pub async fn close(&self) {
        self.pool.close().await;
        self.reader.close().await;
    }
}

/// Splits `?hanko_schema=NAME` off a PostgreSQL URL. Only `[a-z0-9_]` names are accepted.
fn split_schema(url: &str) -> (String, Option<String>) {
    let Some((base, query)) = url.split_once('?') else { return (url.to_owned(), None) };
    let mut schema = None;
    let rest: Vec<&str> = query
        .split('&')
        .filter(|kv| match kv.strip_prefix("hanko_schema=") {
            Some(name)
                if !name.is_empty()
                    && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') =>
            {
                schema = Some(name.to_owned());
                false
            }
            _ => true,
        })
        .collect();
    let base = if rest.is_empty() { base.to_owned() } else { format!("{base}?{}", rest.join("&")) };
    (base, schema)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const M: [Migration; 2] = [
        Migration {
            version: 1,
            description: "things",
            sqlite: "CREATE TABLE things (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE)",
            postgres:
                "CREATE TABLE things (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name TEXT NOT NULL UNIQUE)",
        },
        Migration {
            version: 2,
            description: "blobs",
            sqlite: "ALTER TABLE things ADD COLUMN data BLOB",
            postgres: "ALTER TABLE things ADD COLUMN data BYTEA",
        },
    ];

    /// The PostgreSQL URL of the test server (scripts/pg-up.sh); the suite fails without it
    /// unless HANKO_SKIP_POSTGRES=1 says so explicitly.
    pub(crate) fn postgres_url(schema: &str) -> Option<String> {
        match std::env::var("HANKO_TEST_POSTGRES") {
            Ok(url) => Some(format!("{url}{}hanko_schema={schema}", if url.contains('?') { '&' } else { '?' })),
            Err(_) if std::env::var("HANKO_SKIP_POSTGRES").as_deref() == Ok("1") => {
                eprintln!("SKIPPED: the PostgreSQL half (HANKO_SKIP_POSTGRES=1)");
                None
            }
            Err(_) => panic!(
                "HANKO_TEST_POSTGRES is not set: run `export HANKO_TEST_POSTGRES=$(scripts/pg-up.sh)` \
                 (or HANKO_SKIP_POSTGRES=1 to skip the PostgreSQL half knowingly)"
            ),
        }
    }

    async fn exercise(db: Db) {
        db.migrate("test", &M).await.unwrap();
        // Idempotent.
        db.migrate("test", &M).await.unwrap();
        sqlx::query("DELETE FROM things").execute(db.pool()).await.unwrap();
        sqlx::query("INSERT INTO things (name, data) VALUES ($1, $2)")
            .bind("a")
            .bind(vec![0u8, 255, 7])
            .execute(db.pool())
            .await
            .unwrap();
        let e = sqlx::query("INSERT INTO things (name) VALUES ($1)").bind("a").execute(db.pool()).await.unwrap_err();
        assert!(matches!(StoreError::from(e), StoreError::Conflict(_)));
        let (name, data): (String, Vec<u8>) = sqlx::query_as("SELECT name, data FROM things WHERE name = $1")
            .bind("a")
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!((name.as_str(), data.as_slice()), ("a", &[0u8, 255, 7][..]));
        let versions: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM hanko_schema WHERE service = 'test' ORDER BY version")
                .fetch_all(db.pool())
                .await
                .unwrap();
        assert_eq!(versions, [1, 2]);
    }

    #[tokio::test]
    async fn sqlite_migrates_once_and_maps_conflicts() {
        let dir = std::env::temp_dir().join(format!("hanko-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let db = Db::connect(&format!("sqlite:{}", dir.join("db.sqlite").display())).await.unwrap();
        assert_eq!(db.dialect(), Dialect::Sqlite);
        exercise(db).await;
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn sqlite_reader_sees_the_last_commit_during_a_write_and_cannot_write() {
        let dir = std::env::temp_dir().join(format!("hanko-store-reader-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let db = Db::connect(&format!("sqlite:{}", dir.join("db.sqlite").display())).await.unwrap();
        db.migrate("test", &M).await.unwrap();
        sqlx::query("INSERT INTO things (name) VALUES ('committed')").execute(db.pool()).await.unwrap();
        // The writer holds an open transaction with an uncommitted row: a reader is not blocked
        // by it and sees the last commit only.
        let mut tx = db.pool().begin().await.unwrap();
        sqlx::query("INSERT INTO things (name) VALUES ('pending')").execute(&mut *tx).await.unwrap();
        let names: Vec<String> =
            sqlx::query_scalar("SELECT name FROM things ORDER BY id").fetch_all(db.reader()).await.unwrap();
        assert_eq!(names, ["committed"]);
        tx.commit().await.unwrap();
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM things").fetch_one(db.reader()).await.unwrap();
        assert_eq!(n, 2);
        assert!(sqlx::query("INSERT INTO things (name) VALUES ('x')").execute(db.reader()).await.is_err());
        db.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn postgres_migrates_once_and_maps_conflicts() {
        // A fresh schema per run (so the migration runs from scratch every time), dropped
        // afterwards.
        let random = std::hash::BuildHasher::hash_one(&std::collections::hash_map::RandomState::new(), 0u8);
        let schema = format!("store_unit_{}_{random:x}", std::process::id());
        let Some(url) = postgres_url(&schema) else { return };
        let db = Db::connect(&url).await.unwrap();
        assert_eq!(db.dialect(), Dialect::Postgres);
        let versions: Vec<i64> = sqlx::query_scalar("SELECT version FROM hanko_schema WHERE service = 'test'")
            .fetch_all(db.pool())
            .await
            .unwrap_or_default();
        assert!(versions.is_empty(), "the schema {schema} is not fresh: {versions:?}");
        exercise(db.clone()).await;
        sqlx::query(&format!("DROP SCHEMA \"{schema}\" CASCADE")).execute(db.pool()).await.unwrap();
        let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = $1")
            .bind(&schema)
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(left, 0, "schema {schema} was not dropped");
    }

    #[test]
    fn schema_parameter_is_split_off_and_checked() {
        assert_eq!(
            split_schema("postgres://h/db?hanko_schema=t_1&sslmode=disable"),
            ("postgres://h/db?sslmode=disable".into(), Some("t_1".into()))
        );
        assert_eq!(split_schema("postgres://h/db?hanko_schema=x\";drop").1, None);
        assert_eq!(split_schema("postgres://h/db").1, None);
    }

    async fn bind_once(db: Db) {
        assert_eq!(db.binding("authority").await.unwrap(), None, "a fresh database holds no binding");
        assert_eq!(db.bind("authority", "id-one").await.unwrap(), "id-one");
        // A second bind never replaces the first: the caller sees the id in force.
        assert_eq!(db.bind("authority", "id-two").await.unwrap(), "id-one");
        assert_eq!(db.binding("authority").await.unwrap().as_deref(), Some("id-one"));
        assert_eq!(db.binding("other").await.unwrap(), None);
    }

    #[tokio::test]
    async fn mistyped_database_url_binding_is_written_once_sqlite() {
        let dir = std::env::temp_dir().join(format!("hanko-store-bind-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        bind_once(Db::connect(&format!("sqlite:{}", dir.join("db.sqlite").display())).await.unwrap()).await;
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn mistyped_database_url_binding_is_written_once_postgres() {
        let Some(url) = postgres_url("store_bind") else { return };
        let db = Db::connect(&url).await.unwrap();
        sqlx::query("DROP TABLE IF EXISTS hanko_binding").execute(db.pool()).await.unwrap();
        bind_once(db).await;
    }

    /// PostgreSQL down: the pool used to retry for 30 s and then say "pool timed out while
    /// waiting for an open connection" (twice, through the error's source); now the first
    /// attempt's "connection refused", once.
    #[tokio::test]
    async fn postgres_down_says_connection_refused_once() {
        // Port 1 on loopback: nothing listens there.
        let e = Db::connect("postgres://hanko@127.0.0.1:1/hanko").await.unwrap_err();
        let text = e.to_string();
        assert!(text.to_lowercase().contains("connection refused"), "{text}");
        assert!(!text.contains("timed out"), "{text}");
        assert!(std::error::Error::source(&e).is_none(), "the message would print twice in a chain: {text}");
        assert_eq!(text.matches("refused").count(), 1, "{text}");
    }

    #[tokio::test]
    async fn unknown_urls_are_refused() {
        assert!(matches!(Db::connect("mysql://x").await, Err(StoreError::UnsupportedUrl(_))));
    }
}
