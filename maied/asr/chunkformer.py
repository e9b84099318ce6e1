"""The ChunkFormer backend (Vietnamese, long-form): `chunkformer==1.2.2` on torch.

Installed with `scripts/install.sh --with chunkformer` (torch 2.13.0 pinned first). Without it, loading
raises MissingExtra("ChunkFormer", "chunkformer").
"""

from __future__ import annotations

from typing import Any

import numpy as np

from maied.asr.base import ASROptions, ASRResult
from maied.errors import MissingExtra
from maied.settings import Settings


def import_chunkformer() -> Any:
    try:
        import chunkformer
    except ImportError as exc:
        raise MissingExtra("ChunkFormer", "chunkformer", import_error=str(exc)) from None
    return chunkformer


class ChunkFormerBackend:
    name = "chunkformer"

    @classmethod
    def load(cls, settings: Settings) -> ChunkFormerBackend:
        import_chunkformer()
        raise MissingExtra(
            "ChunkFormer", "chunkformer", import_error="the ChunkFormer backend is not built yet"
        )

    def transcribe(self, audio: np.ndarray, options: ASROptions) -> ASRResult:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        return {"name": self.name}
