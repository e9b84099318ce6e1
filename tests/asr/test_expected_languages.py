"""EXPECTED_LANGUAGES: an unsure detection, or one outside the list, falls back to the likeliest expected
language. The rule on its own, then the real embedded Whisper base on espeak-ng speech: its detection
takes espeak's Vietnamese voice for Thai (p 0.84 on the sentence below), which transcribes it as Thai."""

from __future__ import annotations

from pathlib import Path

import pytest

from maied.asr.base import ASRBackend, ASROptions
from maied.asr.language import LANGUAGE_FALLBACK, SURE_PROBABILITY, choose_language
from maied.pipeline.media import decode_to_mono16k
from maied.settings import Settings
from tests.audio_fixtures import speak_wav

MISHEARD_VIETNAMESE = "Bây giờ chúng ta chuyển sang mục tiếp theo trong chương trình nghị sự."
"""Whisper base detects this espeak-ng Vietnamese as Thai (p ~0.84; vi ~0.05, en ~0.02)."""
ENGLISH = "Good morning everyone. The meeting starts at nine in the morning."
VI_EN = ("vi", "en")


@pytest.mark.parametrize(("probabilities", "expected", "language", "fell_back"), [
    ([("en", 0.9), ("vi", 0.05)], VI_EN, "en", False),  # sure and expected
    ([("th", 0.84), ("vi", 0.05), ("en", 0.02)], VI_EN, "vi", True),  # sure, but not expected
    ([("km", 0.27), ("vi", 0.25), ("en", 0.05)], VI_EN, "vi", True),  # unsure and not expected
    ([("en", 0.3), ("vi", 0.1)], ("vi",), "vi", True),  # expected elsewhere
    ([("vi", 0.3), ("en", 0.2)], VI_EN, "vi", False),  # unsure, but still the likeliest of the list
    ([("th", 0.9)], (), "th", False),  # nothing expected: detection as it is
    ([("th", 0.9)], ("vi",), "vi", True),  # an expected language Whisper gave no probability
])
def test_the_likeliest_expected_language_wins(probabilities: list[tuple[str, float]], expected: tuple[str, ...],
                                              language: str, fell_back: bool) -> None:
    choice = choose_language(probabilities, expected)
    assert (choice.language, choice.fell_back) == (language, fell_back)
    assert choice.detected == max(probabilities, key=lambda p: p[1])[0]
    assert (choice.warning() is not None) == fell_back
    if fell_back:
        assert choice.warning().code == LANGUAGE_FALLBACK  # type: ignore[union-attr]


def test_settings_normalise_the_list() -> None:
    settings = Settings(EXPECTED_LANGUAGES=" VI, en,vi ")
    assert settings.expected_languages == ("vi", "en")
    assert Settings().expected_languages == ()
    with pytest.raises(ValueError):
        Settings(EXPECTED_LANGUAGES="vi,english")


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("languages")
    return {"vi": speak_wav(MISHEARD_VIETNAMESE, d / "vi.wav", voice="vi"),
            "en": speak_wav(ENGLISH, d / "en.wav")}


@pytest.mark.slow
def test_vietnamese_detected_as_thai_falls_back_to_vietnamese(whisper_backend: ASRBackend,
                                                              speech: dict[str, Path]) -> None:
    audio = decode_to_mono16k(speech["vi"])
    free = whisper_backend.transcribe(audio, ASROptions())
    assert free.language == "th"  # the problem: a Thai transcript of Vietnamese speech
    held = whisper_backend.transcribe(audio, ASROptions(expected_languages=VI_EN))
    assert held.language == "vi"
    assert (held.metrics["language_detected"], held.metrics["language_fallback"]) == ("th", True)
    assert held.metrics["language_detected_probability"] >= SURE_PROBABILITY
    assert 0 < (held.language_probability or 0) < held.metrics["language_detected_probability"]
    assert [w.code for w in held.warnings] == [LANGUAGE_FALLBACK]
    assert any(word in held.text.lower() for word in ("chúng", "tiếp", "trình")), held.text


@pytest.mark.slow
def test_sure_expected_english_is_kept_and_a_given_language_skips_detection(
        whisper_backend: ASRBackend, speech: dict[str, Path]) -> None:
    english = whisper_backend.transcribe(decode_to_mono16k(speech["en"]), ASROptions(expected_languages=VI_EN))
    assert english.language == "en" and english.metrics["language_fallback"] is False and not english.warnings
    given = whisper_backend.transcribe(decode_to_mono16k(speech["vi"]),
                                       ASROptions(language="vi", expected_languages=VI_EN))
    assert given.language == "vi" and "language_detected" not in given.metrics
