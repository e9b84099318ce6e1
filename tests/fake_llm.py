"""Faults in the LLM stage for the daemon's plumbing tests, plugged in with LLM_BACKEND_MODULE=tests.fake_llm
(the daemon's own seam for out-of-tree LLM backends). It wraps the real built-in backend; what it does is
chosen by the uploaded file's name (GenerationRequest.source: `AUDIO_DIR/<task id>/original-<name>`):

- `llmfail-*`: the generation fails (the task FAILED with LLM_PROCESSING_ERROR, in PROCESSING_LLM);
- `llmcrash-*`: the worker child SIGKILLs itself;
- `llmhang-*`: never returns;
- any other name (and text tasks, which have no recording): the real backend.

All of it happens in the LLM stage (after the real ASR), in the worker child.
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from typing import Any

from maied.errors import LLMProcessingError
from maied.llm.base import Generation, GenerationRequest, LLMBackend, Purpose
from maied.llm.factory import create_builtin_llm_backend
from maied.settings import Settings

MODULE = "tests.fake_llm"
FAKE_LLM = {"LLM_BACKEND_MODULE": MODULE}
"""The daemon environment that plugs this wrapper in."""
LLM_FAULTS = ("llmfail-", "llmcrash-", "llmhang-")


def create_llm_backend(settings: Settings, purpose: Purpose) -> FaultyLLMBackend:
    return FaultyLLMBackend(create_builtin_llm_backend(settings, purpose))


def _file_name(request: GenerationRequest) -> str:
    return Path(request.source or "").name.removeprefix("original-").lower()


class FaultyLLMBackend:
    """The real backend, except for the generations of a recording named for a fault."""

    def __init__(self, real: LLMBackend):
        self.real = real
        self.name = real.name
        self.context_length = real.context_length
        self.load_seconds = real.load_seconds

    def describe(self) -> dict[str, Any]:
        return self.real.describe()

    def count_tokens(self, text: str) -> int:
        return self.real.count_tokens(text)

    def generate(self, requests: list[GenerationRequest]) -> list[Generation]:
        names = {_file_name(r) for r in requests}
        if any(n.startswith("llmcrash-") for n in names):
            os.kill(os.getpid(), signal.SIGKILL)
        if any(n.startswith("llmhang-") for n in names):
            threading.Event().wait()
        if any(n.startswith("llmfail-") for n in names):
            raise LLMProcessingError("the summary did not match the template's schema (tests.fake_llm)")
        return self.real.generate(requests)

    def close(self) -> None:
        self.real.close()
