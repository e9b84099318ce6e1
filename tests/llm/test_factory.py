"""Backend choice is cheap and says what to configure; the model key decides model reuse."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from maied.errors import LLMUnavailable
from maied.llm.embedded import DEFAULT_MODEL, QWEN_CODER_1_5B, SMOLLM2_135M, available
from maied.llm.factory import create_llm_backend, llm_model_key, llm_unavailable_reason, resolve_llm_backend
from maied.llm.weights import find_gguf, model_label
from maied.settings import Settings

HAS_LLAMA = importlib.util.find_spec("llama_cpp") is not None and available(SMOLLM2_135M, Path("/nonexistent"))
HAS_DEFAULT = available(DEFAULT_MODEL, Path("/nonexistent"))


def _settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(DATA_DIR=tmp_path, **values)


def test_none_means_no_llm_and_says_how_to_enable_it(tmp_path: Path) -> None:
    settings = _settings(tmp_path, LLM_BACKEND="none")
    assert resolve_llm_backend(settings) is None
    reason = llm_unavailable_reason(settings)
    assert reason is not None and "LLM_BACKEND" in reason
    with pytest.raises(LLMUnavailable):
        create_llm_backend(settings, "summary")


@pytest.mark.skipif(not HAS_LLAMA, reason="the llm-cpu extra is not installed")
def test_auto_without_cuda_picks_the_cpu_backend_with_the_embedded_model(tmp_path: Path) -> None:
    settings = _settings(tmp_path, LLM_BACKEND="auto", LLM_SUM_MODEL="", LLM_ENHANCE_MODEL="")
    if Path("/proc/driver/nvidia/version").exists():
        pytest.skip("a CUDA host resolves auto to vllm")
    assert resolve_llm_backend(settings) == "cpu"
    assert llm_unavailable_reason(settings) is None
    if HAS_DEFAULT:  # an empty setting is the default model; its parts are assembled on first load
        assert model_label(settings, "summary") == QWEN_CODER_1_5B.name
        assert find_gguf(settings, "summary") == settings.models_dir / QWEN_CODER_1_5B.filename


@pytest.mark.skipif(not HAS_LLAMA, reason="the llm-cpu extra is not installed")
def test_an_embedded_model_is_chosen_by_its_name(tmp_path: Path) -> None:
    settings = _settings(tmp_path, LLM_BACKEND="cpu", LLM_SUM_MODEL="SmolLM2-135M-Instruct")
    assert model_label(settings, "summary") == SMOLLM2_135M.name
    found = find_gguf(settings, "summary")
    assert found is not None and found.name == SMOLLM2_135M.filename


def test_a_configured_model_that_is_missing_is_named(tmp_path: Path) -> None:
    settings = _settings(tmp_path, LLM_BACKEND="cpu", LLM_SUM_MODEL="no-such-model.gguf")
    assert resolve_llm_backend(settings) is None
    reason = llm_unavailable_reason(settings)
    assert reason is not None
    assert "no-such-model.gguf" in reason or "llm-cpu" in reason


def test_a_gguf_in_models_dir_is_found_by_name(tmp_path: Path) -> None:
    models = tmp_path / "models" / "mine"
    models.mkdir(parents=True)
    (models / "Mine-1B.Q4_K_M.gguf").write_bytes(b"GGUF")
    settings = _settings(tmp_path, LLM_SUM_MODEL="mine")
    assert find_gguf(settings, "summary") == models / "Mine-1B.Q4_K_M.gguf"


def test_same_key_for_both_purposes_when_both_use_the_embedded_model(tmp_path: Path) -> None:
    settings = _settings(tmp_path, LLM_SUM_MODEL="", LLM_ENHANCE_MODEL="")
    assert llm_model_key(settings, "enhance") == llm_model_key(settings, "summary")
    other = _settings(tmp_path, LLM_SUM_MODEL="other")
    assert llm_model_key(other, "enhance") != llm_model_key(other, "summary")


def test_resolving_imports_no_model_library(tmp_path: Path) -> None:
    code = (
        "import sys, json; from maied.settings import Settings; from maied.llm.factory import "
        "resolve_llm_backend, llm_unavailable_reason; s = Settings(DATA_DIR=sys.argv[1]); "
        "resolve_llm_backend(s); llm_unavailable_reason(s); "
        "print(json.dumps([m for m in ('llama_cpp', 'vllm', 'torch', 'transformers') if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert json.loads(out.stdout) == []


def test_llm_backend_module_makes_the_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """LLM_BACKEND_MODULE is the seam for out-of-tree backends: its create_llm_backend(settings, purpose)
    makes the model, whatever LLM_BACKEND resolves to."""
    import types

    made: list[str] = []
    module = types.ModuleType("maie_test_llm_module")
    module.create_llm_backend = lambda settings, purpose: made.append(purpose) or "a backend"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    settings = _settings(tmp_path, LLM_BACKEND="none", LLM_BACKEND_MODULE=module.__name__)
    assert create_llm_backend(settings, "summary") == "a backend" and made == ["summary"]


def test_the_fake_llm_fails_only_the_recordings_named_for_it() -> None:
    from maied.errors import LLMProcessingError
    from maied.llm.base import Generation, GenerationRequest
    from tests.fake_llm import FaultyLLMBackend

    class Real:
        name, context_length, load_seconds = "real", 2048, 0.0

        def generate(self, requests: list[GenerationRequest]) -> list[Generation]:
            return [Generation("ok") for _ in requests]

    fake = FaultyLLMBackend(Real())  # type: ignore[arg-type]
    assert fake.generate([GenerationRequest("x", source="/a/t1/original-meeting.wav")])[0].text == "ok"
    assert fake.generate([GenerationRequest("x")])[0].text == "ok"  # a text task has no recording
    with pytest.raises(LLMProcessingError):
        fake.generate([GenerationRequest("x", source="/a/t1/original-LLMfail-meeting.wav")])
