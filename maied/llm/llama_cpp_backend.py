"""The CPU backend: llama.cpp (llama-cpp-python) running a GGUF file, JSON Schema enforced by a grammar.

llama.cpp decodes one sequence at a time in this binding, so a batch is run request by request inside
the one `generate` call; the caller still hands over all of a stage's requests at once.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

from maied.errors import LLMProcessingError, MissingExtra, ModelMemoryError
from maied.llm.base import SUMMARY_REPETITION_PENALTY, Generation, GenerationRequest
from maied.llm.json_prefix import close_json_prefix
from maied.llm.weights import checkpoint_hash

_QUANT_RE = re.compile(r"[.-]((?:I?Q\d[\w]*)|F16|F32|BF16)\.gguf$", re.IGNORECASE)


def grammar_schema(schema: Any) -> Any:
    """The schema without string `maxLength`: llama.cpp unrolls it into a grammar that is slow to sample
    (a few tokens/s) or too large to build; lengths are still checked when the answer is validated."""
    if isinstance(schema, dict):
        return {k: grammar_schema(v) for k, v in schema.items() if k != "maxLength"}
    if isinstance(schema, list):
        return [grammar_schema(v) for v in schema]
    return schema


def clip_to_schema(value: Any, schema: Any) -> Any:
    """Enforce the length limits the grammar leaves out: strings cut to `maxLength` (at a word boundary
    when one is near), arrays to `maxItems`. Structure and types are already the grammar's."""
    if not isinstance(schema, dict):
        return value
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        return {k: clip_to_schema(v, props.get(k)) for k, v in value.items()}
    if isinstance(value, list):
        limit = schema.get("maxItems")
        items = value[:limit] if isinstance(limit, int) else value
        return [clip_to_schema(v, schema.get("items")) for v in items]
    if isinstance(value, str) and isinstance(schema.get("maxLength"), int) and len(value) > schema["maxLength"]:
        cut = value[: schema["maxLength"]]
        space = cut.rfind(" ")
        return cut[:space].rstrip() if space > len(cut) * 0.7 else cut
    return value


def _enforce_lengths(text: str, schema: dict[str, Any], *, cut_off: bool = False) -> str:
    """Strings clipped to maxLength, arrays to maxItems. An answer cut off at max_tokens (a small model
    looping inside a string) is closed at its last complete point first; validation judges the rest."""
    try:
        value = json.loads(text)
    except ValueError:
        value = close_json_prefix(text) if cut_off else None
        if value is None:
            return text  # validation reports it
    return json.dumps(clip_to_schema(value, schema), ensure_ascii=False)


def cpu_threads() -> int:
    """Half the cores (llama.cpp's own advice: a thread per hardware core). On a small busy host, threads
    that spin waiting for a descheduled one cost far more than they give: a 1.5B summary on 2 cores under
    load took 8 minutes with 2 threads and under 2 with 1."""
    return max(1, (os.cpu_count() or 2) // 2)


def gguf_quantization(path: Path) -> str | None:
    match = _QUANT_RE.search(path.name)
    return match.group(1).upper() if match else None


class LlamaCppBackend:
    """A GGUF model loaded with llama.cpp on the CPU."""

    name = "llama.cpp"

    def __init__(
        self,
        model_path: Path,
        *,
        context_length: int,
        label: str = "",
        hash_cache_dir: Path | None = None,
        threads: int | None = None,
    ):
        try:
            import llama_cpp
        except ImportError as exc:
            raise MissingExtra("llama-cpp-python (the CPU LLM backend)", "llm-cpu", import_error=str(exc)) from None
        self.model_path = model_path
        self.label = label or model_path.name
        self.context_length = context_length
        self._hash_cache_dir = hash_cache_dir
        self._version = getattr(llama_cpp, "__version__", "")
        started = time.monotonic()
        try:
            self._llm: Any = llama_cpp.Llama(
                model_path=str(model_path),
                n_ctx=context_length,
                n_threads=threads or cpu_threads(),
                n_threads_batch=threads or cpu_threads(),
                n_batch=min(512, context_length),
                seed=0,
                verbose=False,
            )
        except MemoryError as exc:
            raise ModelMemoryError(f"not enough memory to load {model_path}: {exc}") from None
        except (ValueError, RuntimeError) as exc:
            raise LLMProcessingError(f"llama.cpp could not load {model_path}: {exc}") from None
        self.load_seconds = time.monotonic() - started

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "backend_version": self._version,
            "model": self.label,
            "model_path": str(self.model_path),
            "checkpoint_hash": checkpoint_hash(self.model_path, self._hash_cache_dir),
            "quantization": gguf_quantization(self.model_path),
            "device": "cpu",
            "decoding": {
                "temperature": 0.0,
                "repeat_penalty": {"summary": SUMMARY_REPETITION_PENALTY, "enhance": 1.0},
                "context_length": self.context_length,
                "structured_output": "json_schema_grammar+length_clip+cut_off_close",
            },
        }

    def count_tokens(self, text: str) -> int:
        if not text:
            return 0
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def generate(self, requests: list[GenerationRequest]) -> list[Generation]:
        return [self._generate_one(req) for req in requests]

    def _generate_one(self, req: GenerationRequest) -> Generation:
        kwargs: dict[str, Any] = {
            "messages": req.chat(),
            "max_tokens": req.max_tokens,
            "temperature": req.temperature,
            "repeat_penalty": req.repetition_penalty,
            "seed": 0,
        }
        if req.json_schema is not None:
            kwargs["response_format"] = {"type": "json_object", "schema": grammar_schema(req.json_schema)}
        try:
            out = self._llm.create_chat_completion(**kwargs)
        except ValueError as exc:  # e.g. the prompt does not fit the context
            raise LLMProcessingError(f"llama.cpp generation failed: {exc}") from None
        choice = out["choices"][0]
        usage = out.get("usage") or {}
        text = choice["message"].get("content") or ""
        return Generation(
            text=(_enforce_lengths(text, req.json_schema, cut_off=choice.get("finish_reason") == "length")
                  if req.json_schema is not None else text),
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
            finish_reason=str(choice.get("finish_reason") or ""),
        )

    def close(self) -> None:
        llm = getattr(self, "_llm", None)
        if llm is not None:
            llm.close()
            self._llm = None
