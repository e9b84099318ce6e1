"""Turn an embedded GGUF into the Hugging Face folder vLLM needs, once, into MODELS_DIR.

transformers (with the `gguf` package) dequantises a GGUF file on load. `save_pretrained` refuses a
model that still carries its GGUF quantiser, so that is dropped before saving; the weights are written as
bfloat16 safetensors (what vLLM runs on CPU anyway). The folder appears atomically (built under a
temporary name, then renamed) and a lock keeps two processes from converting at the same time.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import time
from pathlib import Path

from maied.errors import MissingExtra
from maied.llm.embedded import EmbeddedModel, ensure_gguf
from maied.llm.weights import hf_dirname

log = logging.getLogger(__name__)


def ensure_embedded_hf_model(model: EmbeddedModel, models_dir: Path) -> Path:
    """The converted folder `MODELS_DIR/<key>-hf`, converting the GGUF if it is missing."""
    dest = models_dir / hf_dirname(model)
    if (dest / "config.json").is_file():
        return dest
    gguf = ensure_gguf(model, models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    with (models_dir / ".convert-embedded.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (dest / "config.json").is_file():  # another process finished it while we waited
            return dest
        tmp = models_dir / f".{dest.name}.{os.getpid()}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        started = time.monotonic()
        try:
            convert_gguf_to_hf(gguf, tmp)
            tmp.rename(dest)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        log.info("converted %s to %s in %.1fs", gguf.name, dest, time.monotonic() - started)
    return dest


def convert_gguf_to_hf(gguf: Path, out_dir: Path) -> None:
    """Write a Hugging Face model folder (config, bf16 safetensors, tokenizer) for a GGUF file."""
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as exc:
        raise MissingExtra("transformers + torch (to convert the embedded model for vLLM)", "vllm",
                           import_error=str(exc)) from None
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.bfloat16)
    # save_pretrained refuses a model that remembers it was quantised (GGUF): it is plain bf16 now.
    setattr(model, "hf_quantizer", None)  # noqa: B010 - torch types the attribute as a submodule
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    out_dir.mkdir(parents=True)
    model.save_pretrained(str(out_dir), safe_serialization=True)
    tokenizer.save_pretrained(str(out_dir))
