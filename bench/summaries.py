"""Summary quality and speed of an LLM backend through the product's summarizer.

Quality: each case of the evaluation set (bench/summary_eval/cases) with the template of its kind, then
(unless --no-schema-sweep) every summary template on every case: planted facts carried, facts invented,
language right, schema failures. Speed: the time per `meeting-notes` summary of 1, 10 and 30 minutes of
speech (150 words a minute, English transcripts of the set joined). Load time and peak RSS of the model.

    python -m bench.summaries [--backend cpu|vllm] [--model NAME] [--minutes 1,10,30] [--no-schema-sweep]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import psutil

from bench._common import machine_line, print_table
from bench.summary_eval.evaluate import KIND_TEMPLATES, SUMMARY_TEMPLATES, Outcome, run_all
from bench.summary_eval.scoring import Case, load_cases
from maied.llm.base import LLMBackend
from maied.llm.factory import create_llm_backend
from maied.llm.summarize import summarize
from maied.settings import Settings
from maied.templates import TemplateStore

REPO = Path(__file__).resolve().parents[1]
WORDS_PER_MINUTE = 150


def quality_rows(outcomes: list[Outcome]) -> list[list[object]]:
    """One row per (language, template): mean facts, invented, language misses, schema failures, mean s."""
    groups: dict[tuple[str, str], list[Outcome]] = defaultdict(list)
    for o in outcomes:
        groups[(o.case.language, o.template_id)].append(o)
    rows: list[list[object]] = []
    for (lang, template_id), group in sorted(groups.items()):
        scored = [o.score for o in group if o.score is not None]
        facts = sum(len(s.facts_found) for s in scored) / len(scored) if scored else 0.0
        rows.append([lang, template_id, len(group), facts if scored else "-",
                     sum(len(s.invented) for s in scored), sum(not s.language_ok for s in scored),
                     sum(1 for o in group if o.error), sum(o.seconds for o in group) / len(group)])
    return rows


def speech_text(cases: list[Case], minutes: float) -> str:
    words: list[str] = []
    english = [c for c in cases if c.language == "en"]
    while len(words) < minutes * WORDS_PER_MINUTE:
        for case in english:
            words.extend(case.transcript.split())
    return " ".join(words[: int(minutes * WORDS_PER_MINUTE)])


def speed_rows(backend: LLMBackend, templates: TemplateStore, cases: list[Case], minutes: list[float]) -> list[list[object]]:
    rows: list[list[object]] = []
    for m in minutes:
        started = time.monotonic()
        result = summarize(backend, templates.get("meeting-notes"), speech_text(cases, m), language="en")
        rows.append([m, int(m * WORDS_PER_MINUTE), result.pieces, result.merge_levels, time.monotonic() - started])
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", default="cpu", choices=["cpu", "vllm"])
    p.add_argument("--model", default="", help="LLM_SUM_MODEL (default: the embedded default model)")
    p.add_argument("--minutes", default="1,10,30", help="speech lengths to time ('' for none)")
    p.add_argument("--no-schema-sweep", action="store_true", help="only each case's own template")
    p.add_argument("--speed-only", action="store_true", help="only the time per summary (no evaluation set)")
    args = p.parse_args()
    data = Path(tempfile.gettempdir()) / "maie-bench" / "summaries"
    settings = Settings(DATA_DIR=data, MODELS_DIR=data / "models", LLM_BACKEND=args.backend,
                        LLM_SUM_MODEL=args.model, LLM_ENHANCE_MODEL=args.model)
    templates = TemplateStore(REPO / "templates", data / "user-templates")
    cases = load_cases()
    rss_before = psutil.Process().memory_info().rss / 2**20
    backend = create_llm_backend(settings, "summary")
    print(f"machine: {machine_line()}")
    print(f"model: {backend.describe()['model']} on {args.backend}; load {backend.load_seconds:.1f} s; "
          f"RSS +{psutil.Process().memory_info().rss / 2**20 - rss_before:.0f} MB after load")
    outcomes = [] if args.speed_only else run_all(backend, templates, cases)
    if not args.no_schema_sweep and not args.speed_only:
        done = {(o.case.id, o.template_id) for o in outcomes}
        outcomes += run_all(backend, templates, cases, SUMMARY_TEMPLATES, skip=done)
    for o in outcomes:
        if o.score is not None and (o.score.facts_missed or o.score.invented or not o.score.language_ok):
            print(f"{o.case.id} / {o.template_id}: missed {o.score.facts_missed}; invented {o.score.invented}; "
                  f"language {o.score.language_seen}")
        if o.error:
            print(f"{o.case.id} / {o.template_id}: FAILED {o.error[:300]}")
    own = [o for o in outcomes if o.template_id == KIND_TEMPLATES[o.case.kind]]
    if outcomes:
        _quality_tables(own, outcomes)
    minutes = [float(m) for m in args.minutes.split(",") if m]
    if minutes:
        print_table("Time per meeting-notes summary", ["minutes of speech", "words", "pieces", "merge levels",
                                                       "seconds"], speed_rows(backend, templates, cases, minutes))
    print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


def _quality_tables(own: list[Outcome], outcomes: list[Outcome]) -> None:
    print_table("Planted facts (of 8), the template of each recording's kind",
                ["language", "template", "summaries", "facts (mean)", "invented", "wrong language",
                 "schema failures", "s per summary"], quality_rows(own))
    print_table("Every template on every transcript", ["language", "template", "summaries", "facts (mean)",
                "invented", "wrong language", "schema failures", "s per summary"], quality_rows(outcomes))


if __name__ == "__main__":
    main()
