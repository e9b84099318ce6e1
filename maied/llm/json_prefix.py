"""Close a JSON document that was cut off at the token limit.

A grammar-constrained answer (llama.cpp's JSON-schema grammar) is always a prefix of valid JSON. A small
model that loops inside one string runs to max_tokens and leaves such a prefix. Its complete fields are
still good: the answer is closed at the last point where that is valid (an open string is ended, a
dangling key or comma dropped, open objects and arrays closed), and the caller then clips strings to
their maxLength and validates against the schema as usual (missing required fields still fail).
"""

from __future__ import annotations

import json
from typing import Any

MAX_TRIES = 64
_CLOSERS = {"{": "}", "[": "]"}


def close_json_prefix(text: str) -> Any | None:
    """The value of the longest closable prefix of `text`, or None (no object or array to recover)."""
    cuts, end_stack, in_string, whole = _scan(text)
    candidates = []
    if in_string:
        candidates.append((whole + '"', end_stack))
    candidates.append((whole, end_stack))
    candidates.extend(reversed(cuts))
    for prefix, stack in candidates[:MAX_TRIES]:
        try:
            return json.loads(prefix.rstrip().rstrip(",") + "".join(_CLOSERS[c] for c in reversed(stack)))
        except ValueError:
            continue
    return None


def _scan(text: str) -> tuple[list[tuple[str, list[str]]], list[str], bool, str]:
    """Cut points outside strings ((prefix, open containers) before each ',' and after each '{' / '['),
    the containers still open at the end, whether the text ends inside a string, and the text without a
    lone backslash it may end with."""
    cuts: list[tuple[str, list[str]]] = []
    stack: list[str] = []
    in_string = escaped = False
    for i, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in _CLOSERS:
            stack.append(ch)
            cuts.append((text[: i + 1], list(stack)))
        elif ch in "}]" and stack:
            stack.pop()
        elif ch == ",":
            cuts.append((text[:i], list(stack)))
    if in_string and escaped:  # a cut inside an escape sequence: drop the lone backslash
        text = text[:-1]
    return cuts, stack, in_string, text
