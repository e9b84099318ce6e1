"""Loaded models kept across tasks: same key = same loaded model, a different key replaces it."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

LoadListener = Callable[[str, str, float], None]


@dataclass
class ModelCache:
    """One loaded model per kind ("asr", "llm:enhance", ...). The child process is the unit of release;
    this cache only makes sure a queue of tasks with the same model loads it once."""

    on_load: LoadListener | None = None
    _models: dict[str, tuple[tuple[Any, ...], Any]] = field(default_factory=dict)

    def get(self, kind: str, key: tuple[Any, ...], load: Callable[[], Any]) -> Any:
        held = self._models.get(kind)
        if held is not None and held[0] == key:
            return held[1]
        if held is not None:
            self.drop(kind)
        started = time.monotonic()
        model = load()
        seconds = time.monotonic() - started
        self._models[kind] = (key, model)
        if self.on_load is not None:
            self.on_load(kind, repr(key), seconds)
        return model

    def holds(self, kind: str, key: tuple[Any, ...]) -> bool:
        held = self._models.get(kind)
        return held is not None and held[0] == key

    def drop(self, kind: str) -> None:
        held = self._models.pop(kind, None)
        if held is not None:
            close = getattr(held[1], "close", None)
            if callable(close):
                close()
            del held
            gc.collect()

    def kinds(self) -> list[str]:
        return list(self._models)
