"""Jinja2's sandbox with bounds, for prompts that admins upload: no attribute escapes (the sandbox), and no
memory or time exhaustion of the daemon by arithmetic or output (`{{ 'x' * 10**10 }}`, huge loops that
print). `range` is already capped by the sandbox (MAX_RANGE)."""

from __future__ import annotations

import numbers
from typing import Any

from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment, SecurityError

MAX_PRODUCT_ITEMS = 100_000
"""Longest string or list a `*` may make."""
MAX_POWER_EXPONENT = 64
EXTRA_OUTPUT_CHARS = 100_000
"""A rendered prompt may be this much longer than three times the text passed in."""


class BoundedSandbox(SandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, numbers.Number) and abs(float(right)) > MAX_POWER_EXPONENT:  # type: ignore[arg-type]
            raise SecurityError(f"exponent {right} is larger than {MAX_POWER_EXPONENT}")
        if operator == "*":
            _check_product(left, right)
        return super().call_binop(context, operator, left, right)


def _check_product(left: Any, right: Any) -> None:
    for seq, count in ((left, right), (right, left)):
        if isinstance(seq, (str, list, tuple)) and isinstance(count, int) and len(seq) * count > MAX_PRODUCT_ITEMS:
            raise SecurityError(f"a repeated sequence longer than {MAX_PRODUCT_ITEMS} items")


def output_limit(values: dict[str, Any]) -> int:
    """The longest prompt these values may render to: 3 x the input text + EXTRA_OUTPUT_CHARS."""
    return EXTRA_OUTPUT_CHARS + 3 * sum(len(v) for v in values.values() if isinstance(v, str))


def render_bounded(env: SandboxedEnvironment, source: str, values: dict[str, Any]) -> str:
    """Render, stopping as soon as the output passes its bound (`output_limit`)."""
    limit = output_limit(values)
    parts: list[str] = []
    size = 0
    for part in env.from_string(source).generate(values):
        size += len(part)
        if size > limit:
            raise SecurityError(f"the rendered prompt is longer than {limit} characters")
        parts.append(part)
    return "".join(parts)
