"""Scoring a summary against its case: planted facts carried, facts invented, language, schema."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CASES_DIR = Path(__file__).parent / "cases"

_NUMBER_RE = re.compile(r"\d+(?:[.,:]\d+)*")
_WORD_RE = re.compile(r"\w+")
_HONORIFICS = {"anh", "chị", "em", "ông", "bà", "cô", "chú", "bạn", "mr", "mrs", "ms", "dr", "team", "the"}
_EN_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
    "sixty": 60, "hundred": 100, "thousand": 1000, "first": 1, "second": 2, "third": 3, "fourth": 4,
    "fifth": 5, "twice": 2, "double": 2, "once": 1, "dozen": 12, "quarter": 4,
}
_VI_DIGITS = {"một": 1, "hai": 2, "ba": 3, "bốn": 4, "tư": 4, "năm": 5, "sáu": 6, "bảy": 7, "tám": 8,
              "chín": 9, "mười": 10, "đôi": 2}


@dataclass
class Case:
    id: str
    language: str
    kind: str
    has_action_items: bool
    transcript: str
    facts: list[dict[str, Any]]

    @property
    def words(self) -> int:
        return len(self.transcript.split())


@dataclass
class Score:
    case_id: str
    template_id: str
    facts_found: list[str] = field(default_factory=list)
    facts_missed: list[str] = field(default_factory=list)
    invented: list[str] = field(default_factory=list)
    language_ok: bool = True
    language_seen: str = ""


def load_cases(directory: Path = CASES_DIR) -> list[Case]:
    cases = []
    for path in sorted(directory.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        cases.append(Case(**{k: data[k] for k in Case.__dataclass_fields__}))
    return cases


def normalize(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).lower().split())


def strings_of(value: Any) -> list[str]:
    """Every string value of a JSON value, depth first (keys excluded)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings_of(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings_of(v)]
    return []


def facts_carried(case: Case, summary: dict[str, Any]) -> tuple[list[str], list[str]]:
    text = normalize(" ".join(strings_of(summary)))
    found, missed = [], []
    for fact in case.facts:
        hit = all(any(normalize(alt) in text for alt in group) for group in fact["all_of"])
        (found if hit else missed).append(fact["fact"])
    return found, missed


def number_keys(text: str) -> set[str]:
    """The numbers a text states, separators dropped ("48,000" and "48000" and "1,2" vs "1.2" alike),
    including small numbers written as words in English or Vietnamese."""
    text = normalize(text)
    keys = {re.sub(r"\D", "", n) for n in _NUMBER_RE.findall(text)}
    words = _WORD_RE.findall(text)
    for i, word in enumerate(words):
        if word in _EN_NUMBERS:
            keys.add(str(_EN_NUMBERS[word]))
        if word in _VI_DIGITS:
            value = _VI_DIGITS[word]
            keys.add(str(value))
            nxt = words[i + 1] if i + 1 < len(words) else ""
            if word != "mười" and nxt in ("mươi", "chục"):
                keys.add(str(value * 10))
            if word == "mười" and nxt in _VI_DIGITS:
                keys.add(str(10 + _VI_DIGITS[nxt]))
    return {k.lstrip("0") or "0" for k in keys}


def invented_facts(case: Case, summary: dict[str, Any]) -> list[str]:
    """Owners, dates and figures in the summary that the transcript does not contain."""
    transcript = normalize(case.transcript)
    known_numbers = number_keys(case.transcript)
    problems = []
    for text in strings_of(summary):
        for number in _NUMBER_RE.findall(text):
            key = re.sub(r"\D", "", number).lstrip("0") or "0"
            if key not in known_numbers:
                problems.append(f"figure {number!r} in {text[:80]!r}")
    for item in summary.get("action_items") or []:
        owner = normalize(str(item.get("owner", "")) if isinstance(item, dict) else "")
        names = [w for w in _WORD_RE.findall(owner) if w not in _HONORIFICS and len(w) > 1]
        missing = [w for w in names if w not in transcript]
        if missing:
            problems.append(f"owner {owner!r} is not in the transcript")
    return problems


def score(case: Case, template_id: str, summary: dict[str, Any], expected_language: str,
          detect: Any) -> Score:
    """`detect(text) -> language code` (the product's own detector)."""
    found, missed = facts_carried(case, summary)
    seen = detect(" ".join(strings_of(summary)))
    return Score(case.id, template_id, found, missed, invented_facts(case, summary),
                 language_ok=seen == expected_language, language_seen=seen)
