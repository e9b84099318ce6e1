"""The model-swap policy: which part of which task the worker runs next when the ASR model and the LLM take
turns on the GPU (MODEL_SHARING=swap). Pure functions of the waiting work and the worker's turn."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from maied.domain import ModelKind, Part

Waiting = Mapping[str, int]
"""How many tasks wait for each part (TaskStore.waiting_work)."""


@dataclass(frozen=True)
class Turn:
    """Which model the worker child holds (None: no child), and how many tasks it ran since it switched."""

    holds: ModelKind | None = None
    count: int = 0


def next_phase(waiting: Waiting, turn: Turn, batch: int) -> ModelKind | None:
    """Stay with the model the child holds while it has work, up to `batch` tasks when the other model has work
    waiting; then switch. With no child: ASR work first. None: nothing waits."""
    held = turn.holds
    if held is None:
        return "asr" if waiting["asr"] else "llm" if waiting["llm"] else None
    other: ModelKind = "llm" if held == "asr" else "asr"
    if waiting[held] and (turn.count < batch or not waiting[other]):
        return held
    return other if waiting[other] else None


def part_to_run(phase: ModelKind, wants_llm: bool) -> Part:
    """A task claimed for `phase`: its LLM part, its ASR part (the LLM part comes later), or all of it."""
    if phase == "llm":
        return "llm"
    return "asr" if wants_llm else "all"


def take_turn(turn: Turn, part: Part) -> tuple[Turn, bool]:
    """The turn once `part` runs, and whether the child must switch models first (it exits, and its memory,
    GPU memory included, goes with it)."""
    needs: ModelKind = "llm" if part == "llm" else "asr"
    if needs == turn.holds:
        return Turn(needs, turn.count + 1), False
    return Turn(needs, 1), True
