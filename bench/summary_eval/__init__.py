"""The summary evaluation set: transcripts written for it, the facts each summary must carry, and scoring.

Used by `tests/llm/test_summary_faithfulness.py` (thresholds) and `python -m bench.summaries` (the table in
docs/llm.md). A case is a JSON file in `cases/`: `id`, `language`, `kind`, `has_action_items`,
`transcript`, and `facts` — each fact is carried when, for every group in `all_of`, one of the group's
strings occurs in the summary (case-insensitive).
"""
