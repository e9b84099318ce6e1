"""The diarization error the real-speech tests assert with is itself right."""

from __future__ import annotations

import pytest

from tests.diarization.conversation import Turn, diarization_error

REF = [Turn(0.0, 2.0, "low"), Turn(2.5, 4.5, "high")]


def test_a_perfect_answer_under_other_labels_scores_zero() -> None:
    assert diarization_error(REF, [(0.0, 2.0, "X"), (2.5, 4.5, "Y")]) == 0.0


def test_missed_false_alarm_and_confusion_all_count() -> None:
    # 0.5 s missed, 0.5 s of silence called speech, 0.5 s given to the wrong speaker: 1.5 of 4 s.
    hyp = [(0.5, 2.5, "X"), (2.5, 4.0, "Y"), (4.0, 4.5, "X")]
    assert diarization_error(REF, hyp) == pytest.approx(1.5 / 4, abs=0.01)


def test_one_label_for_everyone_confuses_the_second_speaker() -> None:
    assert diarization_error(REF, [(0.0, 4.5, "X")]) == pytest.approx((0.5 + 2.0) / 4, abs=0.01)
