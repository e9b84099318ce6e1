"""The ChunkFormer backend (Vietnamese, long-form, CTC/RNN-T): `chunkformer==1.2.2` on torch.

Installed with `scripts/install.sh --with chunkformer` (torch 2.13.0 pinned first). Without it, loading
raises MissingExtra("ChunkFormer", "chunkformer"). The checkpoint is a local folder holding `config.yaml`,
`pytorch_model.bin` and `vocab.txt` (optionally `global_cmvn`): CHUNKFORMER_MODEL_NAME as a path, or
found as MODELS_DIR/<name> or MODELS_DIR/<last part of the hub name>. Nothing is downloaded here.

ChunkFormer decodes a file path, so the 16 kHz audio is written to a temporary 16-bit WAV first. It has
no prompt (vocabulary is ignored), no word timestamps, no punctuation and no VAD of its own (the
pipeline's speech_chunks gives it only the speech when VAD is on).
"""

from __future__ import annotations

import logging
import tempfile
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np

from maied.asr.base import ASROptions, ASRResult, no_speech_warning
from maied.asr.checkpoint import checkpoint_sha256
from maied.domain import SAMPLE_RATE, Segment
from maied.errors import ASRProcessingError, MissingExtra, ModelMemoryError, ModelNotFound
from maied.settings import Settings

log = logging.getLogger(__name__)

CHECKPOINT_FILES = ("pytorch_model.bin", "pytorch_model.pt", "pytorch_model.ckpt")
PULL_HINT = ("run `maied models pull` where the model hub is reachable, or `maied models import PATH` with the "
             "model folder or a tarball of it (air-gapped hosts)")
MAX_SILENCE_DURATION = 0.5


def decoding_params(settings: Settings) -> dict[str, Any]:
    """endless_decode's chunking and context, from the CHUNKFORMER_* settings."""
    return {
        "chunk_size": settings.CHUNKFORMER_CHUNK_SIZE,
        "left_context_size": settings.CHUNKFORMER_LEFT_CONTEXT,
        "right_context_size": settings.CHUNKFORMER_RIGHT_CONTEXT,
        "total_batch_duration": settings.CHUNKFORMER_TOTAL_BATCH_DURATION,
        "max_silence_duration": MAX_SILENCE_DURATION,
    }


def resolve_device(setting: str) -> str:
    if setting != "auto":
        return setting
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def import_chunkformer() -> Any:
    try:
        import chunkformer
    except ImportError as exc:
        raise MissingExtra("ChunkFormer", "chunkformer", import_error=str(exc)) from None
    return chunkformer


def chunkformer_candidates(name: str, models_dir: Path) -> list[Path]:
    """Folders that may hold the checkpoint `name`, in the order they are tried."""
    name = name.strip()
    found: list[Path] = []
    for folder in (Path(name).expanduser(), models_dir / name, models_dir / name.split("/")[-1]):
        if folder not in found:
            found.append(folder)
    return found


def checkpoint_file(folder: Path) -> Path | None:
    if not (folder / "config.yaml").is_file():
        return None
    return next((folder / f for f in CHECKPOINT_FILES if (folder / f).is_file()), None)


def locate_chunkformer_model(settings: Settings) -> Path:
    candidates = chunkformer_candidates(settings.CHUNKFORMER_MODEL_NAME, settings.models_dir)
    for folder in candidates:
        if checkpoint_file(folder) is not None:
            return folder
    looked = ", ".join(str(c) for c in candidates)
    raise ModelNotFound(
        f"ChunkFormer model {settings.CHUNKFORMER_MODEL_NAME!r} not found (a folder with config.yaml and "
        f"pytorch_model.bin); looked at {looked}; {PULL_HINT}",
        details={"looked_at": [str(c) for c in candidates], "hint": PULL_HINT},
    )


class ChunkFormerBackend:
    name = "chunkformer"
    own_vad = False
    """The pipeline cuts the audio at the silences Silero finds (pipeline.speech_chunks) when VAD is on."""
    embedded = False

    def __init__(self, model: Any, model_dir: Path, device: str, decoding: dict[str, Any]):
        self._model = model
        self.model_dir = model_dir
        self.device = device
        self.decoding = decoding
        self.punctuates = False  # the seed's checkpoint writes bare lowercase text
        self.load_seconds = 0.0
        self._checkpoint_hash: str | None = None

    @classmethod
    def load(cls, settings: Settings) -> ChunkFormerBackend:
        chunkformer = import_chunkformer()
        import torch

        folder = locate_chunkformer_model(settings)
        device = resolve_device(settings.CHUNKFORMER_DEVICE)
        started = time.perf_counter()
        try:
            model = chunkformer.ChunkFormerModel.from_pretrained(str(folder)).to(device).eval()
        except (MemoryError, torch.cuda.OutOfMemoryError) as exc:
            raise ModelMemoryError(f"not enough memory to load ChunkFormer {folder}: {exc}") from None
        except (RuntimeError, ValueError, OSError, KeyError) as exc:
            raise ModelNotFound(f"the ChunkFormer model at {folder} could not be loaded: {exc}") from None
        backend = cls(model, folder, device, decoding_params(settings))
        backend.punctuates = settings.CHUNKFORMER_PUNCTUATES is True
        backend.load_seconds = round(time.perf_counter() - started, 3)
        log.info("loaded ChunkFormer %s on %s in %.2f s", folder, device, backend.load_seconds)
        return backend

    def describe(self) -> dict[str, Any]:
        if self._checkpoint_hash is None:
            weights = checkpoint_file(self.model_dir)
            self._checkpoint_hash = checkpoint_sha256(weights) if weights else ""
        return {
            "name": self.name,
            "model": str(self.model_dir),
            "model_name": self.model_dir.name,
            "checkpoint_hash": self._checkpoint_hash,
            "compute_type": "float32",
            "device": self.device,
            "decoding": dict(self.decoding),
        }

    def transcribe(self, audio: np.ndarray, options: ASROptions) -> ASRResult:
        seconds = audio.shape[0] / SAMPLE_RATE
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="maie-chunkformer-") as tmp:
            wav = write_pcm16_wav(Path(tmp) / "audio.wav", audio)
            items = self._decode(wav)
        elapsed = time.perf_counter() - started
        segments = [s for s in (_segment(item, seconds) for item in items) if s.text]
        return ASRResult(
            segments=segments,
            language="vi",
            language_probability=None,
            confidence_avg=None,
            warnings=[] if segments else [no_speech_warning(seconds)],
            metrics={
                "asr_seconds": round(elapsed, 3),
                "asr_rtf": round(elapsed / seconds, 4) if seconds else None,
                "audio_seconds": round(seconds, 3),
                "vocabulary_ignored": bool(options.vocabulary),
            },
        )

    def _decode(self, wav: Path) -> list[dict[str, Any]]:
        import torch

        try:
            out = self._model.endless_decode(str(wav), return_timestamps=True, **self.decoding)
        except (MemoryError, torch.cuda.OutOfMemoryError) as exc:
            raise ModelMemoryError(f"out of memory during ChunkFormer decoding: {exc}") from None
        except (RuntimeError, ValueError) as exc:
            raise ASRProcessingError(f"ChunkFormer decoding failed: {exc}") from None
        return list(out) if isinstance(out, list) else []


def write_pcm16_wav(path: Path, audio: np.ndarray) -> Path:
    pcm = (np.clip(audio, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(pcm.tobytes())
    return path


def parse_hhmmssms(stamp: str) -> float:
    """ChunkFormer's `hh:mm:ss:ms` -> seconds."""
    hours, minutes, secs, millis = (int(p) for p in stamp.split(":"))
    return hours * 3600 + minutes * 60 + secs + millis / 1000


def _segment(item: dict[str, Any], audio_seconds: float) -> Segment:
    start = min(parse_hhmmssms(str(item["start"])), audio_seconds)
    end = min(max(parse_hhmmssms(str(item["end"])), start), audio_seconds)
    return Segment(start=start, end=end, text=str(item.get("decode", "")).strip())
