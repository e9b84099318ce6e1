"""The LLM stage on real models, the same tests on both backends (llama.cpp and vLLM).

A 135M model writes poor content; what is asserted is what must hold whatever it writes: answers that
validate against each shipped template's schema, the retry path (a hook corrupts the first real
answer), map-reduce on a text longer than the context, enhancement as one batched call with a guard,
and the shape of the stage's results, metrics and versions.
"""

from __future__ import annotations

import json

import psutil
import pytest

from maied.domain import TaskRequest
from maied.errors import LLMProcessingError
from maied.llm.base import SUMMARY_REPETITION_PENALTY, GenerationRequest, LLMBackend
from maied.llm.enhance import enhance_transcript
from maied.llm.summarize import summarize
from maied.llm.textwork import comparable_words
from maied.pipeline.llm_stage import run_llm_stage
from maied.settings import Settings
from maied.templates import ENHANCEMENT_TEMPLATE_ID, Template, TemplateStore, validator_for_schema
from tests.llm.conftest import CallCounter

pytestmark = pytest.mark.slow

MEETING_EN = (
    "okay let's start the weekly meeting about the website release lan said the new checkout page is ready "
    "for testing minh will write the release notes by thursday we decided to release on monday the fifth "
    "hoa asked whether the mobile app needs an update too and nobody knew yet so we will check next week"
)
MEETING_VI = (
    "xin chào mọi người hôm nay chúng ta họp về kế hoạch ra mắt sản phẩm mới chị lan sẽ hoàn thành phần "
    "kiểm thử trước thứ sáu anh minh phụ trách viết tài liệu hướng dẫn chúng ta quyết định ra mắt vào ngày "
    "mười lăm"
)
SUMMARY_TEMPLATES = ["general-summary-en", "general-summary-vi", "meeting-notes", "interview-notes"]
NAMES = ["lan", "minh", "hoa", "tuan", "mai", "duc"]


def _small_template() -> Template:
    schema = {
        "type": "object", "additionalProperties": False, "required": ["topic", "points"],
        "properties": {
            "topic": {"type": "string", "minLength": 1, "maxLength": 60},
            "points": {"type": "array", "maxItems": 2, "items": {"type": "string", "minLength": 1, "maxLength": 80}},
        },
    }
    prompt = ("{% if merging %}Merge these part summaries.{% else %}Summarize this transcript.{% endif %} "
              "Answer with JSON: topic, and at most two short points.\n\n{{ transcript }}")
    return Template(id="small", schema=schema, prompt=prompt, example={"topic": "release", "points": ["a"]})


def _long_transcript(backend: LLMBackend) -> str:
    sentences = [
        f"in item {i} the team reviewed task number {i} and {NAMES[i % len(NAMES)]} agreed to finish it "
        f"by day {i % 28 + 1} of the month"
        for i in range(400)
    ]
    text, n = "", 0
    while backend.count_tokens(text) <= backend.context_length * 1.15:
        text = " ".join(sentences[: n + 20])
        n += 20
    return text


def test_generate_answers_a_batch_in_order_with_schema_enforced(llm_backend: LLMBackend) -> None:
    schema = _small_template().schema
    gens = llm_backend.generate([
        GenerationRequest(prompt=f"Summarize as JSON: {MEETING_EN}", max_tokens=800, json_schema=schema,
                          repetition_penalty=SUMMARY_REPETITION_PENALTY),
        GenerationRequest(prompt="Say hello in one short sentence.", max_tokens=20),
    ])
    assert len(gens) == 2
    if gens[0].finish_reason == "length":  # a small model may ramble to the limit: the grammar still held
        assert gens[0].text.lstrip().startswith("{")
    else:
        validator_for_schema(schema).validate(json.loads(gens[0].text))
    assert gens[1].text.strip() and not gens[1].text.lstrip().startswith("{")
    assert all(g.prompt_tokens > 0 and g.completion_tokens > 0 for g in gens)
    assert gens[1].completion_tokens <= 20
    assert llm_backend.count_tokens(MEETING_EN) > 20


@pytest.mark.parametrize("template_id", SUMMARY_TEMPLATES)
def test_summary_validates_against_each_shipped_template(
    llm_backend: LLMBackend, templates: TemplateStore, template_id: str
) -> None:
    template = templates.get(template_id)
    text = MEETING_VI if template_id.endswith("-vi") else MEETING_EN
    outcome = summarize(llm_backend, template, text, vocabulary=["Lan", "Minh"])
    validator_for_schema(template.schema).validate(outcome.summary)
    assert outcome.pieces == 1


def test_a_corrupted_first_answer_is_retried_with_the_reason(llm_backend: LLMBackend,
                                                             templates: TemplateStore) -> None:
    seen: list[tuple[int, str]] = []

    def corrupt_first(attempt: int, index: int, text: str) -> str:
        seen.append((attempt, text))
        return text[: len(text) // 2] if attempt == 0 else text

    template = templates.get("general-summary-en")
    outcome = summarize(llm_backend, template, MEETING_EN, answer_hook=corrupt_first)
    assert outcome.retries == 1
    assert [a for a, _ in seen] == [0, 1]
    validator_for_schema(template.schema).validate(outcome.summary)


def test_still_invalid_after_the_retry_fails_with_the_validation_message(llm_backend: LLMBackend,
                                                                          templates: TemplateStore) -> None:
    def drop_a_field(attempt: int, index: int, text: str) -> str:
        value = json.loads(text)
        value.pop("title", None)
        return json.dumps(value)

    with pytest.raises(LLMProcessingError) as err:
        summarize(llm_backend, templates.get("general-summary-en"), MEETING_EN, answer_hook=drop_a_field)
    assert err.value.code == "LLM_PROCESSING_ERROR"
    assert "'title' is a required property" in err.value.message


def test_text_longer_than_the_context_is_summarised_by_map_reduce(llm_backend: LLMBackend) -> None:
    counted = CallCounter(llm_backend)
    text = _long_transcript(llm_backend)
    assert llm_backend.count_tokens(text) > llm_backend.context_length
    template = _small_template()
    outcome = summarize(counted, template, text)
    validator_for_schema(template.schema).validate(outcome.summary)
    assert outcome.pieces >= 2 and outcome.merge_levels >= 1
    assert counted.batches[0] == outcome.pieces  # every piece went to the engine in one call


def test_enhancement_is_one_batched_call_and_the_guard_keeps_raw_text(llm_backend: LLMBackend,
                                                                      templates: TemplateStore) -> None:
    counted = CallCounter(llm_backend)
    raw = " ".join([MEETING_EN] * 2)
    outcome = enhance_transcript(counted, templates.get(ENHANCEMENT_TEMPLATE_ID), raw, max_edit_rate=0.0,
                                 language="en", max_chunk_tokens=48)
    assert outcome.chunks >= 3
    assert counted.batches == [outcome.chunks]
    # With LLM_MAX_EDIT_RATE=0 any rewording is rejected: the words are those recognised, chunk for chunk.
    assert comparable_words(outcome.text) == comparable_words(raw)
    assert outcome.edit_rate == 0.0
    assert (outcome.rejected_chunks > 0) == bool(outcome.warnings)
    if outcome.warnings:
        assert outcome.warnings[0].code == "ENHANCEMENT_REJECTED"
        assert f"{outcome.rejected_chunks} of {outcome.chunks}" in outcome.warnings[0].message


def test_llm_stage_fills_results_metrics_and_versions(llm_backend: LLMBackend, templates: TemplateStore,
                                                      tmp_path) -> None:
    purposes: list[str] = []

    def backend_for(purpose: str) -> LLMBackend:
        purposes.append(purpose)
        return llm_backend

    request = TaskRequest(features=["clean_transcript", "summary", "enhancement_metrics"],
                          template_id="meeting-notes", vocabulary=["Lan", "Minh"])
    settings = Settings(DATA_DIR=tmp_path, LLM_MAX_EDIT_RATE=1.0)
    out = run_llm_stage(backend_for, MEETING_EN, request, templates, settings, asr_model_punctuates=False)
    assert purposes == ["enhance", "summary"]
    assert isinstance(out.results["clean_transcript"], str) and out.results["clean_transcript"]
    validator_for_schema(templates.schema("meeting-notes")).validate(out.results["summary"])
    assert set(out.results["enhancement_metrics"]) == {"edit_rate", "chunks", "rejected_chunks"}
    assert out.metrics["edit_rate_cleaning"] == out.results["enhancement_metrics"]["edit_rate"]
    assert out.metrics["llm_tokens_per_second"] > 0 and out.metrics["llm_completion_tokens"] > 0
    assert out.metrics["llm_summary_seconds"] > 0 and out.metrics["llm_enhance_seconds"] > 0
    described = out.versions["summarization_llm"]
    assert {"name", "model", "checkpoint_hash", "quantization", "decoding"} <= set(described)
    assert described["name"] == llm_backend.name and described["checkpoint_hash"].startswith("sha256:")


def test_enhancement_is_skipped_for_an_asr_model_that_punctuates(llm_backend: LLMBackend,
                                                                 templates: TemplateStore, tmp_path) -> None:
    purposes: list[str] = []

    def backend_for(purpose: str) -> LLMBackend:
        purposes.append(purpose)
        return llm_backend

    request = TaskRequest(features=["clean_transcript"])
    out = run_llm_stage(backend_for, "Already clean.", request, templates, Settings(DATA_DIR=tmp_path),
                        asr_model_punctuates=True)
    assert purposes == []
    assert out.results["clean_transcript"] == "Already clean."
    assert [w.code for w in out.warnings] == ["ENHANCEMENT_SKIPPED"]


def test_close_leaves_no_engine_process(llm_backend: LLMBackend) -> None:
    """Runs last for each backend (pytest keeps a module fixture's tests together, in file order)."""
    before = [p for p in psutil.Process().children(recursive=True) if _is_engine(p)]
    llm_backend.close()
    llm_backend.close()  # idempotent
    _gone, alive = psutil.wait_procs(before, timeout=30)
    engines = [p for p in alive if _is_engine(p)]
    assert engines == [], f"engine processes left after close: {[(p.pid, p.name()) for p in engines]}"


def _is_engine(proc: psutil.Process) -> bool:
    """Any child but multiprocessing's resource tracker (which lives as long as this process)."""
    try:
        return proc.is_running() and "resource_tracker" not in " ".join(proc.cmdline())
    except psutil.Error:
        return False
