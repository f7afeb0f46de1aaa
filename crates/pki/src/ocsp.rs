//! OCSP (RFC 6960): requests, signed responses, client-side verification (in progress).
