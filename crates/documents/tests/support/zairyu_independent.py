"""Drives an independent residence-card reader against a card in a PC/SC reader and prints what
it read as one JSON object (for tests/pcsc_residence.rs).

    python3 zairyu_independent.py <reader dir> <PC/SC reader name> <card number>

The reader is ZairyuCardReader of github.com/AkiThuong/Agentfront-NFC-Card (readers/zairyu.py),
not written here: this driver only connects it to the named reader and calls its own methods
(select_mf, read_card_type, mutual_authenticate, verify_card_number, read_front_image,
read_photo). Debian packages pycryptodome as "Cryptodome"; the reader imports "Crypto", so the
name is aliased. Nothing is written to disk.
"""

import hashlib
import json
import sys

import Cryptodome
import Cryptodome.Cipher
import Cryptodome.Hash

sys.modules.setdefault("Crypto", Cryptodome)
sys.modules.setdefault("Crypto.Cipher", Cryptodome.Cipher)
sys.modules.setdefault("Crypto.Hash", Cryptodome.Hash)

reader_dir, reader_name, number = sys.argv[1], sys.argv[2], sys.argv[3]
sys.path.insert(0, reader_dir)

from smartcard.System import readers  # noqa: E402

from readers.zairyu import ZairyuCardReader  # noqa: E402

matches = [r for r in readers() if reader_name in str(r)]
if not matches:
    print(json.dumps({"error": f"no reader {reader_name!r}"}))
    sys.exit(2)
connection = matches[0].createConnection()
connection.connect()
z = ZairyuCardReader(connection)
out = {"atr": bytes(connection.getATR()).hex().upper()}
out["mf"] = z.select_mf()
out["card_type"] = z.read_card_type()
out["mutual_auth"] = z.mutual_authenticate(number)
out["verified"] = out["mutual_auth"] and z.verify_card_number(number)
if out["verified"]:
    front = z.read_front_image()
    photo = z.read_photo()
    for name, data in (("front", front), ("photo", photo)):
        if data:
            out[name + "_len"] = len(data)
            out[name + "_sha256"] = hashlib.sha256(bytes(data)).hexdigest()
            out[name + "_head"] = bytes(data[:12]).hex().upper()
print(json.dumps(out))
