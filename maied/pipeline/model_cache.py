"""Loaded models kept across tasks: same key = same loaded model, a different key replaces it."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from maied.domain import LoadedKind

LoadListener = Callable[[LoadedKind, str, float], None]
"""Told of each load: the kind of model, its key, the seconds it took."""


@dataclass
class ModelCache:
    """One loaded model per slot (the ASR model; each distinct LLM). The child process is the unit of release;
    this cache only makes sure a queue of tasks with the same model loads it once."""

    on_load: LoadListener | None = None
    _models: dict[str, tuple[tuple[Any, ...], Any]] = field(default_factory=dict)

    def get(self, kind: LoadedKind, key: tuple[Any, ...], load: Callable[[], Any], slot: str | None = None) -> Any:
        """The model of `kind` with `key` in `slot` (default: one slot per kind), loaded when not held."""
        slot = slot or kind
        held = self._models.get(slot)
        if held is not None and held[0] == key:
            return held[1]
        if held is not None:
            self.drop(slot)
        started = time.monotonic()
        model = load()
        seconds = time.monotonic() - started
        self._models[slot] = (key, model)
        if self.on_load is not None:
            self.on_load(kind, repr(key), seconds)
        return model

    def holds(self, slot: str, key: tuple[Any, ...]) -> bool:
        held = self._models.get(slot)
        return held is not None and held[0] == key

    def drop(self, slot: str) -> None:
        held = self._models.pop(slot, None)
        if held is not None:
            close = getattr(held[1], "close", None)
            if callable(close):
                close()
            del held
            gc.collect()
