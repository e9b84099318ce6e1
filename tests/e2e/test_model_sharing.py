"""The LLM stage through the real daemon (embedded Whisper + the CPU LLM backend, real models), and the
models taking turns (MODEL_SHARING=swap, what a 16-24 GB GPU needs for Whisper/ChunkFormer + vLLM): the
ASR parts of the queued tasks run in one worker child, which exits before a fresh child loads the LLM and
runs their LLM parts. A queue of N tasks costs one load of each model, and no process of a finished child
is left."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.e2e.conftest import copy_as
from tests.e2e.daemon_harness import TERMINAL, Daemon, all_gone, running_daemon
from tests.fake_asr import FAKE_ASR
from tests.llm.conftest import BUILTIN_TEMPLATES, backend_missing
from tests.required import skip_unless_required

pytestmark = pytest.mark.slow
TEMPLATE = "general-summary-en"
SUMMARY_FIELDS = {"features": "raw_transcript,summary", "template_id": TEMPLATE, "language": "en"}


@pytest.fixture(scope="module", autouse=True)
def _needs_cpu_llm() -> None:
    skip_unless_required("cpu", backend_missing("cpu"))


def log_events(daemon: Daemon) -> list[dict[str, Any]]:
    lines = (daemon.state / "logs" / "maied.log").read_text().splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def model_loads(daemon: Daemon) -> dict[str, int]:
    with daemon.client() as c:
        text = c.get("/metrics").text
    return {m[0]: int(float(m[1])) for m in re.findall(r'maie_model_loads_total\{kind="([^"]+)"\} (\S+)', text)}


def assert_summary(body: dict[str, Any]) -> None:
    assert body["status"] == "COMPLETE", body
    schema = json.loads((BUILTIN_TEMPLATES / TEMPLATE / "schema.json").read_text())
    jsonschema.validate(body["results"]["summary"], schema)
    assert body["versions"]["summarization_llm"]["name"] == "llama.cpp"
    assert body["metrics"]["processing_time_seconds"] >= body["metrics"]["asr_seconds"]


def test_swap_runs_asr_parts_then_llm_parts_with_one_load_each(models_dir: Path, english_wav: Path,
                                                                tmp_path: Path) -> None:
    with running_daemon(MODELS_DIR=str(models_dir), LLM_BACKEND="cpu", MODEL_SHARING="swap",
                        **FAKE_ASR) as daemon:
        with daemon.client() as c:
            assert c.get("/health").json()["model_sharing"]["mode"] == "swap"
        # The first file holds the child 3 s (tests/fake_asr.py): the whole queue is waiting when it starts.
        files = [copy_as(english_wav, tmp_path, name) for name in ("slow3-a.wav", "b.wav", "c.wav")]
        ids = [daemon.submit(f, **SUMMARY_FIELDS).json()["task_id"] for f in files]
        with daemon.client() as c:
            text_id = c.post("/v1/process_text", json={"text": "The team agreed to ship on Friday. Anna owns the "
                                                       "release notes.", "features": ["summary"],
                                                       "template_id": TEMPLATE}).json()["task_id"]
        bodies = [daemon.wait_for(i, TERMINAL, timeout=600) for i in [*ids, text_id]]
        for body in bodies[:3]:
            assert_summary(body)
            assert "fox" in body["results"]["raw_transcript"].lower()
        assert bodies[3]["status"] == "COMPLETE" and "summary" in bodies[3]["results"], bodies[3]
        assert model_loads(daemon) == {"asr": 1, "llm": 1}
        events = log_events(daemon)
    started = [e["pid"] for e in events if e.get("event") == "worker_started"]
    switches = [(e["from"], e["to"]) for e in events if e.get("event") == "model_switch"]
    assert switches == [("asr", "llm")] and len(started) == 2, (switches, started)
    assert all_gone([started[0]]) == []  # the ASR child exited before the LLM child started
    waited = {e["task_id"] for e in events if e.get("stage") == "WAITING_FOR_LLM"}
    assert waited == set(ids)  # each audio task's ASR part was stored while the others' ran


def test_swap_batch_limit_alternates_models(models_dir: Path, english_wav: Path, tmp_path: Path) -> None:
    """MODEL_SWAP_BATCH=1: the worker alternates; every task still completes, loads stay per turn."""
    with running_daemon(MODELS_DIR=str(models_dir), LLM_BACKEND="cpu", MODEL_SHARING="swap",
                        MODEL_SWAP_BATCH="1", **FAKE_ASR) as daemon:
        files = [copy_as(english_wav, tmp_path, name) for name in ("slow3-a.wav", "b.wav")]
        ids = [daemon.submit(f, **SUMMARY_FIELDS).json()["task_id"] for f in files]
        for task_id in ids:
            assert_summary(daemon.wait_for(task_id, TERMINAL, timeout=600))
        loads = model_loads(daemon)
    assert loads["asr"] >= 2 and loads["llm"] >= 1, loads


def test_kill9_while_waiting_for_the_llm_does_not_redo_the_asr(models_dir: Path, english_wav: Path,
                                                                tmp_path: Path) -> None:
    env = {"MODELS_DIR": str(models_dir), "LLM_BACKEND": "cpu", "MODEL_SHARING": "swap", **FAKE_ASR}
    with running_daemon(**env) as daemon:
        # The second task hangs in its ASR part, so the first stays WAITING_FOR_LLM.
        first = daemon.submit(copy_as(english_wav, tmp_path, "a.wav"), **SUMMARY_FIELDS).json()["task_id"]
        daemon.submit(copy_as(english_wav, tmp_path, "hang-b.wav"), **SUMMARY_FIELDS)
        body = daemon.status(first)
        while body["stage"] != "WAITING_FOR_LLM":
            assert body["status"] not in TERMINAL, body
            body = daemon.status(first, wait=30)
        daemon.kill9()
        daemon.env.update(ASR_BACKEND_MODULE="")
        daemon.start()
        assert_summary(daemon.wait_for(first, TERMINAL, timeout=600))
        events = log_events(daemon)
    restarted = max(i for i, e in enumerate(events) if e.get("msg") == "maied ready")
    after = {e["status"] for e in events[restarted:] if e.get("task_id") == first and e.get("event") == "task_status"}
    assert after == {"PROCESSING_LLM", "COMPLETE"}, after  # no PREPROCESSING / PROCESSING_ASR again


def test_llm_features_through_the_daemon_with_models_together(models_dir: Path, english_wav: Path) -> None:
    """The default on a CPU host: one child keeps both models; clean transcript and summary in one task.
    WHISPER_PUNCTUATES=false (a fine-tune that writes bare text) makes the enhancement really run."""
    with running_daemon(MODELS_DIR=str(models_dir), LLM_BACKEND="cpu", WHISPER_PUNCTUATES="false") as daemon:
        with daemon.client() as c:
            assert c.get("/health").json()["model_sharing"]["mode"] == "together"
        task_id = daemon.submit(english_wav, features="raw_transcript,clean_transcript,summary,enhancement_metrics",
                                template_id=TEMPLATE, language="en").json()["task_id"]
        body = daemon.wait_for(task_id, TERMINAL, timeout=600)
        assert_summary(body)
        assert body["results"]["clean_transcript"].strip()
        assert "edit_rate_cleaning" in body["metrics"] and body["results"]["enhancement_metrics"]["chunks"] >= 1
        assert "ENHANCEMENT_SKIPPED" not in {w["code"] for w in body["warnings"]}
        worker = daemon.worker_pids()
        assert worker, "the child (and its models) stays for the next task"
        assert Path(f"/proc/{min(worker)}/oom_score_adj").read_text().strip() == "1000"  # OOM takes it, not maied
        child_log = [json.loads(line) for line in (daemon.state / "logs" / "worker.log").read_text().splitlines()]
        assert any(r["pid"] == min(worker) and "llama.cpp" in r["msg"] for r in child_log), child_log[-5:]
    assert all_gone(worker) == [], "no process of the worker survives the daemon's stop"
