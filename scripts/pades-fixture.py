#!/usr/bin/env python3
"""Makes signed-PDF fixtures with pyHanko (a real open PDF signing tool) for hanko's PAdES tests.

Run with the interop venv's python (scripts/py-interop-venv.sh prints it):

  pades-fixture.py blank OUT.pdf [TEXT]
      a minimal one-page PDF (no signature)
  pades-fixture.py sign IN.pdf OUT.pdf --key K.pem --cert C.pem [--chain CA.pem ...]
                   [--field NAME] [--subfilter pades|pkcs7] [--pkcs11-lib SO --pkcs11-token LABEL
                   --pkcs11-key-label L --pkcs11-cert-label L (PIN in $HANKO_PKCS11_PIN)]
      adds a signature as an incremental update (PAdES B-B with `pades`, the default;
      adbe.pkcs7.detached with `pkcs7`), SHA-256
  pades-fixture.py append IN.pdf OUT.pdf
      an incremental update that changes the page after the signatures (no new signature)

Synthetic keys only (made by the hanko sandbox CA in the tests); nothing is printed but errors.
"""
import argparse
import io
import os
import sys


def blank(out, text="hanko PAdES fixture"):
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    pdf = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(pdf))
        pdf += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(pdf)
    pdf += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for off in offsets:
        pdf += b"%010d 00000 n \n" % off
    pdf += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    with open(out, "wb") as f:
        f.write(pdf)


def sign(args):
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers
    from pyhanko.sign.fields import SigSeedSubFilter

    if args.pkcs11_lib:
        from pyhanko.config.pkcs11 import TokenCriteria
        from pyhanko.sign import pkcs11

        session = pkcs11.open_pkcs11_session(
            args.pkcs11_lib,
            token_criteria=TokenCriteria(label=args.pkcs11_token),
            user_pin=os.environ["HANKO_PKCS11_PIN"],
        )
        signer = pkcs11.PKCS11Signer(
            session, key_label=args.pkcs11_key_label, cert_label=args.pkcs11_cert_label, use_raw_mechanism=False
        )
    else:
        signer = signers.SimpleSigner.load(
            key_file=args.key, cert_file=args.cert, ca_chain_files=tuple(args.chain or ())
        )
        if signer is None:
            sys.exit("pyHanko could not load the key or certificate")
    subfilter = SigSeedSubFilter.PADES if args.subfilter == "pades" else SigSeedSubFilter.ADOBE_PKCS7_DETACHED
    meta = signers.PdfSignatureMetadata(field_name=args.field, subfilter=subfilter, md_algorithm="sha256")
    with open(args.input, "rb") as f:
        writer = IncrementalPdfFileWriter(f)
        out = signers.sign_pdf(writer, meta, signer=signer)
    with open(args.output, "wb") as f:
        f.write(out.getbuffer())


def append(args):
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    with open(args.input, "rb") as f:
        writer = IncrementalPdfFileWriter(f)
        info = generic.DictionaryObject({generic.NameObject("/Title"): generic.TextStringObject("changed after signing")})
        writer.set_info(writer.add_object(info))
        out = io.BytesIO()
        writer.write(out)
    with open(args.output, "wb") as f:
        f.write(out.getvalue())


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("blank")
    b.add_argument("output")
    b.add_argument("text", nargs="?", default="hanko PAdES fixture")
    s = sub.add_parser("sign")
    s.add_argument("input")
    s.add_argument("output")
    s.add_argument("--key")
    s.add_argument("--cert")
    s.add_argument("--chain", action="append")
    s.add_argument("--field", default="Signature1")
    s.add_argument("--subfilter", choices=["pades", "pkcs7"], default="pades")
    s.add_argument("--pkcs11-lib")
    s.add_argument("--pkcs11-token")
    s.add_argument("--pkcs11-key-label")
    s.add_argument("--pkcs11-cert-label")
    a = sub.add_parser("append")
    a.add_argument("input")
    a.add_argument("output")
    args = p.parse_args()
    if args.cmd == "blank":
        blank(args.output, args.text)
    elif args.cmd == "sign":
        sign(args)
    else:
        append(args)


if __name__ == "__main__":
    main()
