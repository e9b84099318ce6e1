#!/usr/bin/env bash
# Run the whole test suite from nothing: install (idempotent), lint, type-check, pytest.
#   scripts/test.sh            everything (what CI runs): lint, types, pytest, then the .deb checks as root
#   scripts/test.sh --fast     skip tests marked slow (about a minute)
#   scripts/test.sh -- ARGS    extra pytest arguments
set -euo pipefail
cd "$(dirname "$0")/.."
FAST=0
PYTEST_ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --fast) FAST=1; shift ;;
    --) shift; PYTEST_ARGS=("$@"); break ;;
    *) echo "test.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
WITH=${MAIE_TEST_WITH:-whisper,llm-cpu,diarization,dev,vllm,chunkformer}
if [ ! -f .venv/.maie-installed ] || [ "$(cat .venv/.maie-installed)" != "$WITH $(sha1sum pyproject.toml scripts/install.sh | sha1sum)" ]; then
  scripts/install.sh --system-deps --with "$WITH"
  echo "$WITH $(sha1sum pyproject.toml scripts/install.sh | sha1sum)" > .venv/.maie-installed
fi
PY=.venv/bin/python
# What was installed must run: a missing stack fails its tests instead of skipping them (tests/required.py).
REQUIRED=""
for pair in whisper:whisper llm-cpu:cpu diarization:diarization vllm:vllm chunkformer:chunkformer; do
  case ",$WITH," in *",${pair%%:*},"*) REQUIRED="${REQUIRED:+$REQUIRED,}${pair#*:}" ;; esac
done
export MAIE_REQUIRED_STACKS=${MAIE_REQUIRED_STACKS-$REQUIRED}
echo "== ruff"; $PY -m ruff check maied maictl tests
echo "== mypy"; $PY -m mypy maied maictl
if [ "$FAST" = 0 ]; then
  # The .deb: build, lintian, systemd-analyze, install into a debootstrap root and transcribe there.
  # Needs root (apt-get, debootstrap, chroot); MAIE_SKIP_PACKAGING=1 skips it.
  if [ "$(id -u)" = 0 ] && [ -z "${MAIE_SKIP_PACKAGING:-}" ]; then
    echo "== packaging"; bash .ci/packaging.sh
  else
    echo "== packaging skipped (needs root; MAIE_SKIP_PACKAGING=${MAIE_SKIP_PACKAGING:-})"
  fi
fi
echo "== pytest (last, so that its summary closes the output)"
if [ "$FAST" = 1 ]; then
  $PY -m pytest -m "not slow" "${PYTEST_ARGS[@]}"
else
  $PY -m pytest "${PYTEST_ARGS[@]}"
fi
