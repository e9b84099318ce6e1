#!/usr/bin/env bash
# Install maie and transcribe one recording through the real daemon, on the embedded default models.
#   scripts/demo.sh [FILE]      (no FILE: a sample is spoken with espeak-ng)
# State goes to ./.maie-demo (database, audio, models); the daemon is stopped at the end.
set -euo pipefail
FILE=${1:-}
if [ -n "$FILE" ]; then
  [ -f "$FILE" ] || { echo "demo.sh: no such file: $FILE" >&2; exit 2; }
  FILE=$(cd "$(dirname "$FILE")" && pwd)/$(basename "$FILE")  # before the cd below
fi
cd "$(dirname "$0")/.."
scripts/install.sh --system-deps --with "${MAIE_DEMO_WITH:-whisper,llm-cpu}"
STATE=$PWD/.maie-demo
mkdir -p "$STATE"
if [ -z "$FILE" ]; then
  FILE=$STATE/sample.wav
  espeak-ng -s 150 -w "$FILE" "Good morning everyone. Today we agreed to ship the new release on Friday. Anna will update the documentation and Minh will run the final tests."
fi
SOCK=$(mktemp -u /tmp/maie-demo-XXXXXX.sock)
export MAIE_ENV_FILE=${MAIE_ENV_FILE:-/nonexistent} DATA_DIR=$STATE API_SOCKET=$SOCK MAIE_SOCKET=$SOCK
.venv/bin/maied serve > "$STATE/maied.log" 2>&1 &
PID=$!
trap 'kill -TERM $PID 2>/dev/null; wait $PID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  [ -S "$SOCK" ] && .venv/bin/maictl health >/dev/null 2>&1 && break
  kill -0 $PID 2>/dev/null || { echo "maied failed to start:"; tail -20 "$STATE/maied.log"; exit 1; }
  sleep 0.2
done
FEATURES=raw_transcript
LLM=$(.venv/bin/maictl health --json | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["llm"]["backend"] or "")')
if [ -n "$LLM" ]; then
  FEATURES=raw_transcript,summary
fi
echo "== maictl submit $FILE --features $FEATURES --wait" >&2
# The transcript (and summary JSON) on stdout; the task's warnings (e.g. EMBEDDED_MODEL) on stderr.
if [ "$FEATURES" = raw_transcript ]; then
  .venv/bin/maictl submit "$FILE" --wait
else
  .venv/bin/maictl submit "$FILE" --features "$FEATURES" --template "${MAIE_DEMO_TEMPLATE:-general-summary-en}" --wait
fi
