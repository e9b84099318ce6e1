"""What every LLM backend offers: batched generation, a token counter, its context length, a description.

Plain data in, plain data out. A backend never knows about tasks, templates or the store; the summary and
enhancement logic (maied/llm/summarize.py, maied/llm/enhance.py) builds requests and reads generations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

Purpose = Literal["enhance", "summary"]

SUMMARY_REPETITION_PENALTY = 1.1
"""Used for summaries on both backends: small models otherwise loop until the token limit."""
Message = dict[str, str]


@dataclass
class GenerationRequest:
    """One prompt: `messages` (chat turns) or a bare `prompt` (sent as one user turn)."""

    prompt: str = ""
    messages: list[Message] | None = None
    max_tokens: int = 512
    temperature: float = 0.0
    json_schema: dict[str, Any] | None = None
    """When set, decoding is constrained to JSON valid against this schema (structured output)."""
    repetition_penalty: float = 1.0
    """> 1 discourages repeating tokens (small models loop); 1.0 for copying tasks such as enhancement."""
    source: str | None = None
    """The recording the text comes from (its path on disk; None for a text task), as ASROptions.source:
    for a backend's diagnostics. The built-in backends do not read it."""

    def chat(self) -> list[Message]:
        if self.messages:
            return list(self.messages)
        return [{"role": "user", "content": self.prompt}]


@dataclass
class Generation:
    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str = ""
    """"stop" (the model ended), "length" (max_tokens reached) or a backend's own word."""


@dataclass
class GenerationStats:
    """Totals over a number of `generate` calls: what the stage reports in its metrics."""

    seconds: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    calls: int = 0
    by_purpose: dict[str, float] = field(default_factory=dict)

    def add(self, purpose: str, seconds: float, generations: list[Generation]) -> None:
        self.seconds += seconds
        self.calls += 1
        self.by_purpose[purpose] = self.by_purpose.get(purpose, 0.0) + seconds
        for gen in generations:
            self.prompt_tokens += gen.prompt_tokens
            self.completion_tokens += gen.completion_tokens

    @property
    def tokens_per_second(self) -> float:
        return self.completion_tokens / self.seconds if self.seconds > 0 else 0.0


@runtime_checkable
class LLMBackend(Protocol):
    """A loaded model. `generate` takes every request of a stage in ONE call (the engine batches them)."""

    name: str
    context_length: int
    load_seconds: float

    def describe(self) -> dict[str, Any]:
        """The `versions.summarization_llm` object: name, model, checkpoint_hash, quantization, decoding."""
        ...

    def count_tokens(self, text: str) -> int:
        """Tokens `text` takes in this model's vocabulary (used to size chunks)."""
        ...

    def generate(self, requests: list[GenerationRequest]) -> list[Generation]:
        """One generation per request, in order."""
        ...

    def close(self) -> None:
        """Release the model (and any engine process). Idempotent."""
        ...
