"""Closing a grammar-constrained JSON answer cut off at the token limit (the CPU backend's loop guard)."""

from __future__ import annotations

import json

import pytest

from maied.llm.json_prefix import close_json_prefix

FULL = {"title": "Release", "points": ["ship on Monday", "notes by Thursday"], "owner": {"name": "Minh", "due": 5}}


@pytest.mark.parametrize("cut", range(1, len(json.dumps(FULL))))
def test_every_prefix_closes_to_a_value_made_of_complete_or_cut_fields(cut: int) -> None:
    text = json.dumps(FULL)[:cut]
    value = close_json_prefix(text)
    assert isinstance(value, dict)
    for key, got in value.items():  # nothing invented: each field is the original or a cut of it
        want = FULL[key]
        if isinstance(want, str):
            assert want.startswith(got)
        elif isinstance(want, list):
            assert all(want[i].startswith(v) for i, v in enumerate(got))


def test_a_loop_inside_a_string_keeps_the_fields_before_it() -> None:
    looping = '{"title": "Weekly sync", "summary": "the team the team the team the team the te'
    assert close_json_prefix(looping) == {"title": "Weekly sync", "summary": "the team the team the team the team the te"}


def test_dangling_key_escape_and_literal_are_dropped() -> None:
    assert close_json_prefix('{"a": "x", "b') == {"a": "x"}
    assert close_json_prefix('{"a": "x", "b": ') == {"a": "x"}
    assert close_json_prefix('{"a": "x\\') == {"a": "x"}
    assert close_json_prefix('{"a": 1, "b": tru') == {"a": 1}


def test_nothing_to_recover() -> None:
    assert close_json_prefix("") is None
    assert close_json_prefix("not json") is None
