"""ASR backends: one Protocol (base), a factory, one module per backend (whisper, chunkformer)."""

from maied.asr.base import ASRBackend, ASROptions, ASRResult
from maied.asr.factory import asr_model_key, create_asr_backend

__all__ = ["ASRBackend", "ASROptions", "ASRResult", "asr_model_key", "create_asr_backend"]
