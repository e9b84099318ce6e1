"""Which language to transcribe in when the task does not say: Whisper's detection, held to the languages
the recordings are expected in (EXPECTED_LANGUAGES).

When the detected language is unsure (its probability below SURE_PROBABILITY) or is not one of the
expected languages, the expected language Whisper finds likeliest is used instead, and the result says so
(metrics `language_detected`, `language_detected_probability`, a LANGUAGE_FALLBACK warning).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from maied.domain import TaskWarning

SURE_PROBABILITY = 0.5
"""A detection below this probability is unsure. Whisper base on clear speech is far above it (espeak-ng
English ~0.97); on espeak-ng Vietnamese it is unsure and may name another language."""
LANGUAGE_FALLBACK = "LANGUAGE_FALLBACK"


@dataclass(frozen=True)
class LanguageChoice:
    language: str
    probability: float
    """Whisper's probability of the chosen language."""
    detected: str
    detected_probability: float

    @property
    def fell_back(self) -> bool:
        return self.language != self.detected

    def metrics(self) -> dict[str, object]:
        return {"language_detected": self.detected, "language_detected_probability": round(self.detected_probability, 4),
                "language_fallback": self.fell_back}

    def warning(self) -> TaskWarning | None:
        if not self.fell_back:
            return None
        why = "unsure" if self.detected_probability < SURE_PROBABILITY else "not one of EXPECTED_LANGUAGES"
        return TaskWarning(LANGUAGE_FALLBACK, (
            f"Whisper detected {self.detected!r} with probability {self.detected_probability:.2f} ({why}); "
            f"transcribed as {self.language!r} (probability {self.probability:.2f}), the likeliest of "
            "EXPECTED_LANGUAGES; pass the task's language when it is known"))


def choose_language(probabilities: Sequence[tuple[str, float]], expected: Sequence[str],
                    sure: float = SURE_PROBABILITY) -> LanguageChoice:
    """`probabilities`: Whisper's (language, probability) pairs, any order. The detected (likeliest)
    language when it is sure and expected (or nothing is expected), else the likeliest expected one."""
    ranked = sorted(probabilities, key=lambda p: p[1], reverse=True)
    if not ranked:
        raise ValueError("no language probabilities")
    detected, detected_p = ranked[0]
    if not expected or (detected in expected and detected_p >= sure):
        return LanguageChoice(detected, detected_p, detected, detected_p)
    scores = dict(ranked)
    best = max(expected, key=lambda code: scores.get(code, 0.0))
    return LanguageChoice(best, scores.get(best, 0.0), detected, detected_p)
