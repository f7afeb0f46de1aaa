//! Certificate revocation lists: build, parse, verify, and a compact index (in progress).
