//! Files a service keeps beside its database: CA keys, card images, published CRLs.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

/// Writes `bytes` to `path` atomically (fresh temp file, fsync, rename, fsync of the directory)
/// with `mode` on Unix: after a crash the file is either the old one or the new one, and a
/// rename that was acknowledged survives a power cut.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    // A stale temp file (a crash of an earlier process with our pid) is removed, never reused:
    // create_new refuses symlinks and keeps the mode we ask for.
    let _ = fs::remove_file(&tmp);
    {
        let mut f = open_new(&tmp, mode)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    fs::File::open(dir)?.sync_all()
}

/// Creates `path` with `bytes` only if it does not exist (mode `mode`, synced). Returns `false`
/// when another process created it first — then the caller reads what that process wrote.
pub fn create_new(path: &Path, bytes: &[u8], mode: u32) -> io::Result<bool> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir)?;
    }
    match open_new(path, mode) {
        Ok(mut f) => {
            f.write_all(bytes)?;
            f.sync_all()?;
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

/// Creates `path`, which must not exist (symlinks refused), with `mode` on Unix.
fn open_new(path: &Path, mode: u32) -> io::Result<fs::File> {
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, mode);
    #[cfg(not(unix))]
    let _ = mode;
    opts.open(path)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_keeps_mode() {
        let dir = std::env::temp_dir().join(format!("hanko-files-{}", std::process::id()));
        let path = dir.join("sub/key.p8");
        write_atomic(&path, b"one", 0o600).unwrap();
        write_atomic(&path, b"two", 0o600).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        #[cfg(unix)]
        assert_eq!(std::os::unix::fs::PermissionsExt::mode(&fs::metadata(&path).unwrap().permissions()) & 0o777, 0o600);
        assert!(!create_new(&path, b"three", 0o600).unwrap());
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert!(create_new(&dir.join("new"), b"x", 0o644).unwrap());
        let _ = fs::remove_dir_all(&dir);
    }
}
