#!/usr/bin/env bash
# Regenerates the residence card's synthetic test images (shared/spec/40-id-documents.md §2):
#
#   crates/documents/assets/residence_front.tif   DF1/EF01 tag D0: the card face as a bilevel
#       TIFF with CCITT Group 4 (MMR) compression, like the real chip's 7000-byte field. It is a
#       drawn layout (frame, photo box, field rules) with "SAMPLE TEST NOT A REAL CARD" in a
#       built-in 5x7 font and the TIFF ImageDescription "SYNTHETIC TEST IMAGE (hanko) - not a
#       residence card": nobody's data, no real layout.
#   crates/documents/assets/residence_photo.jp2   DF1/EF02 tag D1: a colour (RGB) JPEG 2000
#       variant of crates/card/assets/portrait.jp2 (the synthetic greyscale portrait), tinted.
#
# Needs python3, opj_compress/opj_decompress (libopenjp2-tools) and tiffcp/tiffset
# (libtiff-tools); installs them when missing. Deterministic output.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v opj_compress >/dev/null || ! command -v tiffcp >/dev/null; then
  as_root apt-get update -qq
  as_root apt-get install -y -qq libopenjp2-tools libtiff-tools
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# --- the colour portrait ---------------------------------------------------------------
opj_decompress -i crates/card/assets/portrait.jp2 -o "$tmp/grey.pgm" >/dev/null
python3 - "$tmp/grey.pgm" "$tmp/colour.ppm" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
# P5 header: magic, width, height, maxval, separated by whitespace; "#" starts a comment.
parts, i = [], 0
while len(parts) < 4:
    while data[i:i+1].isspace():
        i += 1
    if data[i:i+1] == b"#":
        while data[i:i+1] != b"\n":
            i += 1
        continue
    j = i
    while not data[j:j+1].isspace():
        j += 1
    parts.append(data[i:j]); i = j
i += 1
w, h = int(parts[1]), int(parts[2])
px = data[i:i + w * h]
out = bytearray()
for v in px:
    if v > 215:   # background: pale blue
        out += bytes((200, 218, 236))
    elif v > 180: # skin
        out += bytes((min(255, v + 30), v, max(0, v - 40)))
    elif v < 60:  # hair, eyes
        out += bytes((v + 20, v + 10, v))
    elif v < 90:  # jacket: navy
        out += bytes((30, 40, v + 40))
    else:
        out += bytes((v, max(0, v - 30), max(0, v - 30)))
with open(sys.argv[2], "wb") as f:
    f.write(b"P6\n%d %d\n255\n" % (w, h))
    f.write(bytes(out))
PY
opj_compress -i "$tmp/colour.ppm" -o "$tmp/photo.jp2" -r 14 >/dev/null
cp "$tmp/photo.jp2" crates/documents/assets/residence_photo.jp2

# --- the card face -----------------------------------------------------------------------
python3 - "$tmp/front.tif" <<'PY'
import struct, sys
W, H = 640, 404
img = [[0] * W for _ in range(H)]  # 1 = black
def rect(x0, y0, x1, y1):
    for x in range(x0, x1 + 1):
        img[y0][x] = img[y1][x] = 1
    for y in range(y0, y1 + 1):
        img[y][x0] = img[y][x1] = 1
FONT = {
    "S": ["01111", "10000", "10000", "01110", "00001", "00001", "11110"],
    "A": ["01110", "10001", "10001", "11111", "10001", "10001", "10001"],
    "M": ["10001", "11011", "10101", "10101", "10001", "10001", "10001"],
    "P": ["11110", "10001", "10001", "11110", "10000", "10000", "10000"],
    "L": ["10000", "10000", "10000", "10000", "10000", "10000", "11111"],
    "E": ["11111", "10000", "10000", "11110", "10000", "10000", "11111"],
    "T": ["11111", "00100", "00100", "00100", "00100", "00100", "00100"],
    "N": ["10001", "11001", "10101", "10011", "10001", "10001", "10001"],
    "O": ["01110", "10001", "10001", "10001", "10001", "10001", "01110"],
    "R": ["11110", "10001", "10001", "11110", "10100", "10010", "10001"],
    "C": ["01111", "10000", "10000", "10000", "10000", "10000", "01111"],
    "D": ["11110", "10001", "10001", "10001", "10001", "10001", "11110"],
    " ": ["00000"] * 7,
}
def text(x, y, s, scale):
    for ch in s:
        g = FONT[ch]
        for r, row in enumerate(g):
            for c, bit in enumerate(row):
                if bit == "1":
                    for dy in range(scale):
                        for dx in range(scale):
                            img[y + r * scale + dy][x + c * scale + dx] = 1
        x += 6 * scale
rect(0, 0, W - 1, H - 1)
rect(4, 4, W - 5, H - 5)
rect(456, 70, 620, 290)                 # photo box
for k in range(0, 164, 8):               # hatch it: no face here
    for t in range(0, 220):
        x, y = 456 + k + t // 2, 70 + t
        if x <= 620 and y <= 290:
            img[y][x] = 1
for i, y in enumerate(range(80, 300, 30)):   # field rules
    for x in range(20, 440):
        img[y][x] = 1
    for x in range(20, 20 + 60 + 13 * i):     # a "value" bar of varying length
        img[y - 10][x] = img[y - 9][x] = 1
text(24, 20, "SAMPLE TEST", 5)
text(24, 330, "NOT A REAL CARD", 4)
# An uncompressed bilevel TIFF (WhiteIsZero), one strip; tiffcp recompresses it as G4.
row_bytes = (W + 7) // 8
pix = bytearray()
for row in img:
    b = bytearray(row_bytes)
    for x, v in enumerate(row):
        if v:
            b[x // 8] |= 0x80 >> (x % 8)
    pix += b
entries = [
    (256, 3, 1, W), (257, 3, 1, H), (258, 3, 1, 1), (259, 3, 1, 1), (262, 3, 1, 0),
    (273, 4, 1, 0), (277, 3, 1, 1), (278, 3, 1, H), (279, 4, 1, len(pix)),
]
ifd_off = 8
data_off = ifd_off + 2 + 12 * len(entries) + 4
out = bytearray(b"II*\x00" + struct.pack("<I", ifd_off))
out += struct.pack("<H", len(entries))
for tag, typ, cnt, val in entries:
    if tag == 273:
        val = data_off
    if typ == 3:
        out += struct.pack("<HHIHH", tag, typ, cnt, val, 0)
    else:
        out += struct.pack("<HHII", tag, typ, cnt, val)
out += struct.pack("<I", 0)
out += pix
open(sys.argv[1], "wb").write(out)
PY
tiffcp -c g4 "$tmp/front.tif" "$tmp/front_g4.tif"
tiffset -s 270 "SYNTHETIC TEST IMAGE (hanko) - not a residence card" "$tmp/front_g4.tif"
cp "$tmp/front_g4.tif" crates/documents/assets/residence_front.tif
echo "wrote residence_front.tif ($(wc -c < crates/documents/assets/residence_front.tif) B), residence_photo.jp2 ($(wc -c < crates/documents/assets/residence_photo.jp2) B)"
