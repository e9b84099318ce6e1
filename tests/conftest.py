"""Defaults for the whole suite.

The plumbing tests (queue, LLM stage wiring, retries, model turns) run the small SmolLM2-135M: they test
that the product runs a model, not what the model writes, and the 1.5B default would cost minutes each.
What the default model writes is scored by tests/llm/test_summary_faithfulness.py, which asks for it
explicitly. A test that sets LLM_SUM_MODEL / LLM_ENHANCE_MODEL itself wins over these defaults.
"""

from __future__ import annotations

import os

from maied.llm.embedded import SMOLLM2_135M

os.environ.setdefault("LLM_SUM_MODEL", SMOLLM2_135M.key)
os.environ.setdefault("LLM_ENHANCE_MODEL", SMOLLM2_135M.key)
