//! CMS SignedData (RFC 5652): sign and verify, detached and attached (in progress).
