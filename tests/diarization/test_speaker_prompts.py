"""The summary templates read a diarized transcript's speaker labels; undiarized prompts are unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from maied.pipeline.run import builtin_templates_dir
from maied.templates import TemplateStore

TURNS = "SPEAKER_1: What did you work on last year?\nSPEAKER_2: I led the billing migration."


@pytest.fixture
def store(tmp_path: Path) -> TemplateStore:
    return TemplateStore(builtin_dir=builtin_templates_dir(), user_dir=tmp_path)


@pytest.mark.parametrize("template_id, word", [("interview-notes", "interviewer"), ("meeting-notes", "action item")])
def test_the_labels_reach_the_prompt(store: TemplateStore, template_id: str, word: str) -> None:
    prompt = store.get(template_id).render(transcript=TURNS, speakers=["SPEAKER_1", "SPEAKER_2"])
    assert "(SPEAKER_1, SPEAKER_2)" in prompt and word in prompt and TURNS in prompt


@pytest.mark.parametrize("template_id", ["interview-notes", "meeting-notes", "general-summary-en"])
def test_without_speakers_no_label_instructions(store: TemplateStore, template_id: str) -> None:
    prompt = store.get(template_id).render(transcript="plain text")
    assert "label" not in prompt and "SPEAKER_" not in prompt
