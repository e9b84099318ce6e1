"""Skip a test whose optional stack is not installed, unless the run says the stack is required.

scripts/test.sh sets MAIE_REQUIRED_STACKS from what it installed (e.g. `cpu,vllm,chunkformer`), so CI can
never go green by quietly skipping the vLLM, llama.cpp or ChunkFormer tests; a developer's partial venv
still skips them with the reason."""

from __future__ import annotations

import importlib.util
import os

import pytest

MODULES = {"cpu": "llama_cpp", "vllm": "vllm", "chunkformer": "chunkformer", "whisper": "faster_whisper",
           "diarization": "senko"}


def required_stacks() -> set[str]:
    return {s.strip() for s in os.environ.get("MAIE_REQUIRED_STACKS", "").split(",") if s.strip()}


def skip_unless_required(stack: str, missing: str | None) -> None:
    """`missing`: why the stack cannot run here (None: it can)."""
    if missing is None:
        return
    if stack in required_stacks():
        pytest.fail(f"{stack} is required in this run (MAIE_REQUIRED_STACKS) but {missing}")
    pytest.skip(missing)


def require_module(stack: str) -> None:
    module = MODULES[stack]
    missing = None if importlib.util.find_spec(module) is not None else f"{module} is not installed"
    skip_unless_required(stack, missing)
