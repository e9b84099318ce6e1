#!/usr/bin/env bash
# Packaging check (issue 6), called by .ci/run; runs as root on Debian bookworm, no systemd as PID 1.
#   1. apt-get the tools   2. build the .deb   3. lintian   4. debootstrap a clean bookworm root and
#   install the .deb there offline   5. systemd-analyze verify every unit against that root, and
#   security --offline on maied.service (fails above 2.5)   6. run maied from the installed files as the
#   maie user: maictl health and a transcription over its socket (as a user of group maie)
#   7. remove keeps the data, purge deletes it.
# Env: OUT_DIR (the .deb goes there; default dist/), MAIE_DEB (test this .deb, skip the build),
#   DEBIAN_MIRROR (default: the one apt uses here), MAIE_CI_CACHE (debootstrap tarball and llama.cpp wheel
#   cache; default ~/.cache/maie-ci), PACKAGING_STEPS (default "build lintian root verify e2e purge").
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
OUT_DIR=${OUT_DIR:-$REPO/dist}
CACHE=${MAIE_CI_CACHE:-$HOME/.cache/maie-ci}
STEPS=${PACKAGING_STEPS:-build lintian root verify e2e purge}
SECURITY_MAX=2.5
START=$(date +%s)
log() { printf '[packaging %4ss] %s\n' "$(( $(date +%s) - START ))" "$*" >&2; }
step() { case " $STEPS " in *" $1 "*) return 0 ;; *) log "skipping $1"; return 1 ;; esac; }
die() { log "FAILED: $*"; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (apt-get, debootstrap, chroot)"
mkdir -p "$OUT_DIR" "$CACHE"

# --- 1. tools ------------------------------------------------------------------------------------------
need=""
for pair in lintian:lintian unzip:unzip systemd-analyze:systemd debootstrap:debootstrap dpkg-deb:dpkg-dev objdump:binutils \
            espeak-ng:espeak-ng gcc:build-essential cmake:cmake; do
  command -v "${pair%%:*}" >/dev/null || need="$need ${pair#*:}"
done
/usr/bin/python3.11 -c 'import ensurepip, venv' 2>/dev/null || need="$need python3.11-venv"
if [ -n "$need" ]; then
  log "apt-get install$need"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -qq --no-install-recommends $need >/dev/null
fi

# --- 2. build ------------------------------------------------------------------------------------------
DEB=${MAIE_DEB:-}
if [ -z "$DEB" ] && step build; then
  log "building the .deb"
  DEB=$(MAIE_WHEEL_CACHE="$CACHE/wheels" timeout 2400 packaging/deb/build.sh --out "$OUT_DIR" | tail -1)
fi
[ -n "$DEB" ] || DEB=$(ls -t "$OUT_DIR"/maie_*.deb 2>/dev/null | head -1)
[ -f "$DEB" ] || die "no .deb to test"
# The embedded summary model's package changes only with the model: built once, kept in the cache.
MODEL_DEB=${MAIE_MODEL_DEB:-}
if [ -z "$MODEL_DEB" ] && step build; then
  log "building (or reusing) the model .deb"
  MODEL_CACHE=$CACHE/model-$(cat packaging/deb/model/* | sha1sum | cut -c1-12)
  MODEL_DEB=$(ls "$MODEL_CACHE"/maie-model-qwen2.5-coder-1.5b_*_all.deb 2>/dev/null | head -1 || true)
  [ -n "$MODEL_DEB" ] || MODEL_DEB=$(MAIE_WHEEL_CACHE="$CACHE/wheels" timeout 1200 packaging/deb/model/build.sh --out "$MODEL_CACHE" | tail -1)
fi
[ -n "$MODEL_DEB" ] || MODEL_DEB=$(ls -t "$OUT_DIR"/maie-model-*.deb 2>/dev/null | head -1)
[ -f "$MODEL_DEB" ] || die "no model .deb to test"
log "model package: $MODEL_DEB ($(du -h "$MODEL_DEB" | cut -f1))"
log "package: $DEB ($(du -h "$DEB" | cut -f1)); $(dpkg-deb -f "$DEB" Version) depends: $(dpkg-deb -f "$DEB" Depends)"

# --- 3. lintian --------------------------------------------------------------------------------------
if step lintian; then
  log "lintian"
  timeout 1200 lintian --fail-on error,warning --display-info --no-tag-display-limit "$DEB" \
    || die "lintian: fix the tag or override it with a reason in packaging/deb/lintian-overrides"
  timeout 1200 lintian --fail-on error,warning --display-info --no-tag-display-limit "$MODEL_DEB" \
    || die "lintian (model package)"
fi

# --- 4. a clean Debian root with the package installed -------------------------------------------------
ROOT=$(mktemp -d /var/tmp/maie-root.XXXXXX)
chmod 0755 "$ROOT"  # it becomes "/" for the maie user
DAEMON_PID=""
cleanup() {
  [ -n "$DAEMON_PID" ] && kill "$DAEMON_PID" 2>/dev/null && sleep 1
  for m in run dev/pts dev proc sys; do mountpoint -q "$ROOT/$m" && umount -l "$ROOT/$m"; done
  rm -rf --one-file-system "$ROOT"
}
trap cleanup EXIT
mount_root() {
  mount -t proc proc "$ROOT/proc"; mount --rbind /dev "$ROOT/dev"; mount -t sysfs sys "$ROOT/sys"
  mount -t tmpfs -o mode=0755 tmpfs "$ROOT/run"
}
IN_ROOT=(chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8)
in_root() { "${IN_ROOT[@]}" "$@"; }

if step root; then
  MIRROR=${DEBIAN_MIRROR:-$( { cat /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null || true; } \
    | grep -oE '^(URIs:|deb) +https?://[^ ]+/debian/?( |$)' | grep -oE 'https?://[^ ]+' | head -1 || true)}
  MIRROR=${MIRROR:-http://deb.debian.org/debian}
  # Only the package's own Depends (and systemd) are added to minbase: dpkg -i must then succeed offline.
  deps=$(dpkg-deb -f "$DEB" Depends | tr ',' '\n' | sed 's/(.*)//; s/|.*//; s/ //g' | grep . | paste -sd, -)
  # systemd is installed (not running): a real host has it, and verify --root needs its units.
  deps="$deps,systemd"
  TARBALL=$CACHE/bookworm-minbase-$(echo "$deps" | md5sum | cut -c1-8).tgz
  if [ ! -f "$TARBALL" ]; then
    log "debootstrap --make-tarball (bookworm minbase + $deps) from $MIRROR"
    timeout 900 debootstrap --variant=minbase --include="$deps" --make-tarball="$TARBALL.tmp" bookworm \
      "$(mktemp -d)" "$MIRROR" >/dev/null && mv "$TARBALL.tmp" "$TARBALL"
  fi
  log "debootstrap bookworm into $ROOT"
  timeout 900 debootstrap --variant=minbase --include="$deps" --unpack-tarball="$TARBALL" bookworm "$ROOT" \
    "$MIRROR" >/dev/null || die "debootstrap"
  mount_root
  cp "$DEB" "$ROOT/tmp/maie.deb"
  cp "$MODEL_DEB" "$ROOT/tmp/maie-model.deb"
  log "dpkg -i (offline, no systemd running): maie and its recommended model package"
  timeout 600 "${IN_ROOT[@]}" dpkg -i /tmp/maie.deb /tmp/maie-model.deb || die "dpkg -i"
  rm -f "$ROOT/tmp/maie-model.deb"
  in_root getent passwd maie >/dev/null || die "no maie user"
  for d in /var/lib/maie /var/log/maie; do
    [ "$(in_root stat -c %U:%G "$d")" = maie:maie ] || die "$d is not maie:maie"
  done
  [ "$(in_root stat -c %a:%U:%G /etc/maie.env)" = 640:root:maie ] || die "/etc/maie.env is not 0640 root:maie"
  [ -L "$ROOT/etc/systemd/system/multi-user.target.wants/maied.service" ] || die "maied.service not enabled"
  [ -L "$ROOT/etc/systemd/system/timers.target.wants/maie-clean-all.timer" ] || die "timers not enabled"
fi

# --- 5. systemd-analyze --------------------------------------------------------------------------------
if step verify; then
  in_root test -x /usr/bin/maied || die "verify needs the installed root (step root)"
  log "systemd-analyze verify --root=$ROOT"
  units=$(cd "$ROOT/lib/systemd/system" && ls maied.* maie-*.*)
  for unit in $units; do
    out=$(cd "$ROOT/lib/systemd/system" && systemd-analyze verify --root="$ROOT" "$unit" 2>&1) || die "verify $unit: $out"
    # Anything it prints about our own units is a finding (host-only noise about other units is not).
    if echo "$out" | grep -E "(maied|maie-)[a-z-]*\.(service|socket|timer)" | grep -v "^$"; then
      die "verify $unit printed the findings above"
    fi
    echo "  verify $unit: ok"
  done
  log "systemd-analyze security --offline=true maied.service"
  report=$(systemd-analyze security --offline=true --root="$ROOT" maied.service 2>&1) || true
  echo "$report" | grep -E "✗|Overall" || true
  score=$(echo "$report" | sed -n 's/.*Overall exposure level for maied.service: \([0-9.]*\).*/\1/p')
  [ -n "$score" ] || die "no exposure level in: $report"
  awk -v s="$score" -v m="$SECURITY_MAX" 'BEGIN{exit !(s <= m)}' || die "maied.service exposure $score > $SECURITY_MAX"
  log "maied.service exposure $score (<= $SECURITY_MAX)"
  for unit in maie-clean-all.service maie-clean-audio.service maie-disk-monitor.service; do
    systemd-analyze security --offline=true --root="$ROOT" "$unit" 2>&1 | grep Overall
  done
fi

# --- 6. the installed daemon, as maie, over its socket -------------------------------------------------
if step e2e; then
  in_root test -x /usr/bin/maied || die "e2e needs the installed root (step root)"
  log "starting maied from the installed files as maie"
  install -d -o "$(in_root id -u maie)" -g "$(in_root id -g maie)" -m 0755 "$ROOT/run/maie"
  in_root useradd --create-home --groups maie alice
  espeak-ng -v en -s 150 -w "$ROOT/tmp/hello.wav" \
    "Hello world. The quick brown fox jumps over the lazy dog. Please send the report by Friday."
  chmod 0644 "$ROOT/tmp/hello.wav"
  chroot "$ROOT" /usr/bin/env -i PATH=/usr/bin:/bin LANG=C.UTF-8 HOME=/var/lib/maie \
    setpriv --reuid=maie --regid=maie --init-groups /usr/bin/maied serve >"$ROOT/tmp/maied.out" 2>&1 &
  DAEMON_PID=$!
  for _ in $(seq 1 120); do
    [ -S "$ROOT/run/maie/maied.sock" ] && break
    kill -0 "$DAEMON_PID" 2>/dev/null || { cat "$ROOT/tmp/maied.out"; die "maied exited"; }
    sleep 0.5
  done
  [ -S "$ROOT/run/maie/maied.sock" ] || { cat "$ROOT/tmp/maied.out"; die "no socket after 60 s"; }
  ls -l "$ROOT/run/maie/maied.sock"
  AS_ALICE=("${IN_ROOT[@]}" setpriv --reuid=alice --regid=alice --init-groups env HOME=/home/alice)
  "${AS_ALICE[@]}" /usr/bin/maictl health || { cat "$ROOT/tmp/maied.out"; die "maictl health"; }
  log "transcribing an espeak-ng recording over the socket (as alice, group maie)"
  result=$(timeout 600 "${AS_ALICE[@]}" /usr/bin/maictl submit /tmp/hello.wav --language en --wait --json) \
    || { echo "$result"; tail -50 "$ROOT/tmp/maied.out"; die "maictl submit --wait"; }
  echo "$result" | head -c 2000; echo
  transcript=$(echo "$result" | grep -m1 '"raw_transcript"' || true)
  for word in fox "lazy dog" report friday; do
    echo "$transcript" | grep -qi "$word" || die "the transcript lacks '$word': $transcript"
  done
  log "transcript: $transcript"
  log "summary on the embedded LLM (no configuration), over the socket"
  result=$(timeout 600 "${AS_ALICE[@]}" /usr/bin/maictl submit /tmp/hello.wav --language en \
    --features raw_transcript,summary --template general-summary-en --wait --json) \
    || { echo "$result"; tail -50 "$ROOT/tmp/maied.out"; die "maictl submit --features summary"; }
  echo "$result" | python3 -c 'import json,sys; r=json.load(sys.stdin); s=r["results"]["summary"]; assert isinstance(s, dict) and s, s; print(json.dumps(s)[:400]); m=r["versions"]["summarization_llm"]["model"]; assert m.startswith("Qwen2.5-Coder-1.5B"), m; assert "report" in json.dumps(s).lower(), s' \
    || die "no summary by the packaged Qwen model, or it lacks the report, in: $(echo "$result" | head -c 2000)"
  log "maintenance verbs from the installed package, as maie"
  in_root setpriv --reuid=maie --regid=maie --init-groups /usr/bin/maied maintenance clean-all --dry-run
  in_root setpriv --reuid=maie --regid=maie --init-groups /usr/bin/maied maintenance disk-monitor || true
  kill -TERM "$DAEMON_PID"; wait "$DAEMON_PID" || true; DAEMON_PID=""
  tail -5 "$ROOT/tmp/maied.out"
fi

# --- 7. remove keeps the data, purge deletes it --------------------------------------------------------
if step purge; then
  [ -d "$ROOT/var/lib/maie" ] || die "purge needs the installed root (step root)"
  touch "$ROOT/var/lib/maie/keep-me"
  in_root dpkg -r maie maie-model-qwen2.5-coder-1.5b >/dev/null || die "dpkg -r"
  [ -f "$ROOT/var/lib/maie/keep-me" ] && [ -f "$ROOT/etc/maie.env" ] || die "remove deleted data or config"
  [ ! -e "$ROOT/opt/maie" ] || die "remove left /opt/maie"
  [ ! -e "$ROOT/usr/share/maie/models" ] || die "remove left the model behind"
  in_root dpkg --purge maie maie-model-qwen2.5-coder-1.5b >/dev/null || die "dpkg --purge"
  [ ! -e "$ROOT/var/lib/maie" ] && [ ! -e "$ROOT/var/log/maie" ] && [ ! -e "$ROOT/etc/maie.env" ] \
    || die "purge left data behind"
  log "remove kept the data; purge removed it"
fi
log "packaging: all steps passed ($STEPS)"
