#!/usr/bin/env bash
# Regenerates crates/card/assets/portrait.jp2: the synthetic greyscale portrait that the emulated
# 券面AP stores as its DF27 photo (shared/spec/10-card.md §7). Nobody's face: a drawn head (hair,
# face oval, eyes, nose, mouth, neck, shoulders) on a flat background, with a hatched corner that
# marks it as a sample. 90×110 pixels, 8-bit grey, JPEG 2000 (JP2 container) at about 5:1.
#
#   scripts/gen-portrait.sh        writes crates/card/assets/portrait.jp2 (about 2 KB)
#
# Needs python3 (writes a PGM with no libraries) and opj_compress (Debian libopenjp2-tools,
# installed here when missing). The output is deterministic: rerunning it gives the same bytes,
# which crates/card's tests pin only by the JP2 signature box and the image size.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v opj_compress >/dev/null; then
  as_root apt-get update -qq
  as_root apt-get install -y -qq libopenjp2-tools
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

python3 - "$tmp/portrait.pgm" <<'PY'
import sys

W, H = 90, 110
img = [[228] * W for _ in range(H)]

def inside(x, y, cx, cy, rx, ry):
    return ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1.0

def ellipse(cx, cy, rx, ry, v, ymin=0, ymax=H):
    for y in range(max(0, ymin), min(H, ymax)):
        for x in range(W):
            if inside(x + 0.5, y + 0.5, cx, cy, rx, ry):
                img[y][x] = v

ellipse(45, 122, 44, 32, 70)          # shoulders (a dark jacket)
for y in range(72, 94):               # neck
    for x in range(37, 53):
        img[y][x] = 176
ellipse(45, 45, 27, 33, 52)           # hair
ellipse(45, 53, 22, 26, 196, ymin=33) # face below the fringe
ellipse(35.5, 50, 3.5, 2.2, 40)       # eyes
ellipse(54.5, 50, 3.5, 2.2, 40)
for y in range(53, 63):               # nose
    img[y][45] = 150
ellipse(45, 68, 7, 2.2, 112)          # mouth
for y in range(H):                    # a hatched corner: a sample, not a photograph
    for x in range(W):
        if x + y < 22 and (x - y) % 4 == 0:
            img[y][x] = 0
for x in range(W):                    # a 1-pixel frame
    img[0][x] = img[H - 1][x] = 0
for y in range(H):
    img[y][0] = img[y][W - 1] = 0

with open(sys.argv[1], "wb") as f:
    f.write(b"P5\n%d %d\n255\n" % (W, H))
    f.write(bytes(v for row in img for v in row))
PY

mkdir -p crates/card/assets
opj_compress -i "$tmp/portrait.pgm" -o "$tmp/portrait.jp2" -r 5 >/dev/null
cp "$tmp/portrait.jp2" crates/card/assets/portrait.jp2
echo "wrote crates/card/assets/portrait.jp2 ($(wc -c < crates/card/assets/portrait.jp2) bytes)"
