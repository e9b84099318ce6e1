#!/usr/bin/env bash
# Run the whole test suite from nothing: install (idempotent), lint, type-check, pytest.
#   scripts/test.sh            everything (what CI runs): lint, types, pytest, then the .deb checks as root
#   scripts/test.sh --fast     skip tests marked slow; installs only whisper + dev (no torch, vLLM or
#                              ChunkFormer: what is missing is skipped), under a minute once installed
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
if [ "$FAST" = 1 ]; then WITH=${MAIE_TEST_WITH:-whisper,dev}
else WITH=${MAIE_TEST_WITH:-whisper,llm-cpu,diarization,dev,vllm,chunkformer}; fi
# .venv/.maie-installed: "<stacks installed> <hash of what installs them>". Install when a wanted stack is
# missing or the install recipe changed; a bigger earlier install serves a smaller set (--fast after a full run).
RECIPE=$(sha1sum pyproject.toml scripts/install.sh | sha1sum | cut -d' ' -f1)
HAVE=""
if [ -f .venv/.maie-installed ] && [ "$(cut -d' ' -f2 .venv/.maie-installed)" = "$RECIPE" ]; then
  HAVE=$(cut -d' ' -f1 .venv/.maie-installed)
fi
MISSING=0
for stack in ${WITH//,/ }; do case ",$HAVE," in *",$stack,"*) ;; *) MISSING=1 ;; esac; done
if [ "$MISSING" = 1 ]; then
  scripts/install.sh --system-deps --with "$WITH"
  echo "${HAVE:+$HAVE,}$WITH $RECIPE" > .venv/.maie-installed
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
