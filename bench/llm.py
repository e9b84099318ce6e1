"""Load time, tokens/s and peak memory of each LLM backend (llama.cpp and vLLM) on the embedded model.

Each backend runs in its own child process (the way the worker runs it, and so that one backend's memory
is not counted in the other's): load, one warm-up, then N requests of `--tokens` tokens in ONE batched call
(how the pipeline sends enhancement chunks and summary pieces) and one single request. RSS of the child and
its descendants (vLLM's engine process) is sampled every 0.2 s.

    python -m bench.llm [--quick] [--device cpu|cuda] [--backends cpu,vllm] [--batch 4] [--tokens 128]
"""

from __future__ import annotations

import json
import multiprocessing
import tempfile
import time
from pathlib import Path

from bench._common import gpu_memory_mb, machine_line, parser, print_table, tree_rss_mb

PROMPT = ("Write a short paragraph about a team meeting where the release date, the documentation and the "
          "final tests were discussed.")


def _measure(backend_name: str, models_dir: str, batch: int, tokens: int, out: str) -> None:
    from maied.llm.base import GenerationRequest
    from maied.llm.factory import create_llm_backend
    from maied.settings import Settings

    settings = Settings(DATA_DIR=Path(models_dir).parent, MODELS_DIR=Path(models_dir), LLM_BACKEND=backend_name)
    if backend_name == "vllm":  # the one-time GGUF -> Hugging Face conversion is not load time
        from maied.llm.embedded import SMOLLM2_135M
        from maied.llm.hf_convert import ensure_embedded_hf_model
        from maied.llm.weights import embedded_model

        ensure_embedded_hf_model(embedded_model(settings, "summary") or SMOLLM2_135M, Path(models_dir))
    started = time.monotonic()
    backend = create_llm_backend(settings, "summary")
    load = time.monotonic() - started
    request = GenerationRequest(prompt=PROMPT, max_tokens=tokens, temperature=0.0, repetition_penalty=1.1)
    backend.generate([request])  # warm-up
    started = time.monotonic()
    batched = backend.generate([request] * batch)
    batch_s = time.monotonic() - started
    started = time.monotonic()
    single = backend.generate([request])
    single_s = time.monotonic() - started
    result = {"load_s": load, "batch_tokens": sum(g.completion_tokens for g in batched), "batch_s": batch_s,
              "single_tokens": single[0].completion_tokens, "single_s": single_s}
    Path(out).write_text(json.dumps(result))
    backend.close()


def run_backend(name: str, models_dir: Path, batch: int, tokens: int) -> dict[str, float]:
    out = Path(tempfile.mkstemp(suffix=".json")[1])
    ctx = multiprocessing.get_context("spawn")
    proc = ctx.Process(target=_measure, args=(name, str(models_dir), batch, tokens, str(out)))
    gpu_before = gpu_memory_mb()
    proc.start()
    assert proc.pid is not None
    peak = 0.0
    while proc.is_alive():
        peak = max(peak, tree_rss_mb(proc.pid)["total"])
        time.sleep(0.2)
    proc.join()
    if proc.exitcode != 0:
        raise SystemExit(f"{name}: the measuring process failed with exit code {proc.exitcode}")
    result = json.loads(out.read_text())
    out.unlink()
    result.update(peak_rss_mb=peak, gpu_before=gpu_before, gpu_after_exit=gpu_memory_mb())
    return dict(result)


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--backends", default="cpu,vllm", help="comma list of cpu, vllm")
    p.add_argument("--batch", type=int, default=4, help="requests in the batched call")
    p.add_argument("--tokens", type=int, help="max tokens per request (default 128, quick 32)")
    args = p.parse_args()
    tokens = args.tokens or (32 if args.quick else 128)
    models_dir = Path(tempfile.gettempdir()) / "maie-bench" / "llm-models"
    models_dir.mkdir(parents=True, exist_ok=True)
    print(f"machine: {machine_line()}; embedded SmolLM2-135M; batch {args.batch} x {tokens} tokens")
    rows = []
    for name in args.backends.split(","):
        r = run_backend(name, models_dir, args.batch, tokens)
        rows.append([name, r["load_s"], r["batch_tokens"] / r["batch_s"], r["single_tokens"] / r["single_s"],
                     r["peak_rss_mb"], r["gpu_before"], r["gpu_after_exit"]])
    print_table("LLM backends", ["backend", "load s", f"tokens/s ({args.batch} batched)", "tokens/s (single)",
                                 "peak RSS MB (process tree)", "GPU MB before", "GPU MB after exit"], rows)


if __name__ == "__main__":
    main()
