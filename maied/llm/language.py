"""The language a text is written in (for text tasks, whose language nobody told us), and language names.

py3langid (BSD, its model ships in the wheel, ~1 ms a call) decides; a text too short to tell gives "".
"""

from __future__ import annotations

import functools
import re
from typing import Any

MIN_LETTERS = 20
"""Below this many letters a guess is not worth making."""

LANGUAGE_NAMES = {
    "vi": "Vietnamese (tiếng Việt)", "en": "English", "zh": "Chinese", "ja": "Japanese", "ko": "Korean",
    "fr": "French", "de": "German", "es": "Spanish", "it": "Italian", "pt": "Portuguese", "ru": "Russian",
    "th": "Thai", "id": "Indonesian", "ms": "Malay", "km": "Khmer", "lo": "Lao", "nl": "Dutch",
    "pl": "Polish", "tr": "Turkish", "ar": "Arabic", "hi": "Hindi", "uk": "Ukrainian", "sv": "Swedish",
}
"""Names the prompts use (a model follows "write in Vietnamese" better than "write in vi")."""


def language_name(code: str) -> str:
    return LANGUAGE_NAMES.get(code.lower(), code) if code else ""


@functools.cache
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_text_language(text: str) -> tuple[str, float]:
    """(ISO 639-1 code, probability) of `text`; ("", 0.0) when the text is too short or the detector is
    not installed."""
    if len(re.findall(r"[^\W\d_]", text[:20000])) < MIN_LETTERS:
        return "", 0.0
    try:
        code, probability = _identifier().classify(text[:20000])
    except ImportError:
        return "", 0.0
    return str(code), float(probability)
