"""The model-swap policy on its own: which part runs next, and when the worker child switches models."""

from __future__ import annotations

import pytest

from maied.worker.scheduling import Turn, next_phase, part_to_run, take_turn


def waiting(asr: int = 0, llm: int = 0) -> dict[str, int]:
    return {"asr": asr, "llm": llm}


@pytest.mark.parametrize("work, expected", [
    (waiting(), None), (waiting(asr=2), "asr"), (waiting(llm=1), "llm"), (waiting(asr=1, llm=1), "asr"),
])
def test_without_a_child_asr_work_goes_first(work: dict[str, int], expected: str | None) -> None:
    assert next_phase(work, Turn(), batch=8) == expected


def test_the_held_model_keeps_its_turn_up_to_the_batch_while_the_other_waits() -> None:
    assert next_phase(waiting(asr=5, llm=3), Turn("asr", 7), batch=8) == "asr"
    assert next_phase(waiting(asr=5, llm=3), Turn("asr", 8), batch=8) == "llm"
    assert next_phase(waiting(asr=5, llm=3), Turn("llm", 8), batch=8) == "asr"


def test_the_held_model_goes_on_past_the_batch_when_nothing_else_waits() -> None:
    assert next_phase(waiting(asr=5), Turn("asr", 100), batch=8) == "asr"
    assert next_phase(waiting(llm=1), Turn("asr", 1), batch=8) == "llm"
    assert next_phase(waiting(), Turn("llm", 1), batch=8) is None


@pytest.mark.parametrize("phase, wants_llm, part", [
    ("llm", True, "llm"), ("asr", True, "asr"), ("asr", False, "all"),
])
def test_the_part_a_claim_runs(phase: str, wants_llm: bool, part: str) -> None:
    assert part_to_run(phase, wants_llm) == part  # type: ignore[arg-type]


def test_taking_turns_counts_and_says_when_to_switch() -> None:
    turn, switch = take_turn(Turn(), "asr")
    assert (turn, switch) == (Turn("asr", 1), True)  # the first child loads the ASR model
    turn, switch = take_turn(turn, "all")
    assert (turn, switch) == (Turn("asr", 2), False)
    turn, switch = take_turn(turn, "llm")
    assert (turn, switch) == (Turn("llm", 1), True)


def test_a_queue_of_n_tasks_costs_one_switch_each_way() -> None:
    """Three audio tasks that want the LLM, batch 8: three ASR parts, one switch, three LLM parts."""
    work, turn, order, switches = waiting(asr=3), Turn(), [], 0
    while (phase := next_phase(work, turn, batch=8)) is not None:
        part = part_to_run(phase, wants_llm=True)
        work[phase] -= 1
        if part == "asr":
            work["llm"] += 1
        turn, switch = take_turn(turn, part)
        switches += switch and turn.holds == "llm"
        order.append(part)
    assert order == ["asr", "asr", "asr", "llm", "llm", "llm"] and switches == 1
