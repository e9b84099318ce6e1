"""POST /v1/process diarization fields, and the transcript formats of a diarized task (no daemon needed)."""

from __future__ import annotations

import pytest

from maied.api import forms, subtitles
from maied.capabilities import Capabilities
from maied.errors import FeatureUnavailable, MaieError

SEGMENTS = [
    {"start": 0.0, "end": 2.0, "text": "Good morning everyone.", "speaker": "SPEAKER_1"},
    {"start": 2.0, "end": 3.5, "text": "Shall we start?", "speaker": "SPEAKER_1"},
    {"start": 4.0, "end": 6.0, "text": "Yes, the budget first.", "speaker": "SPEAKER_2"},
]


def build(**fields: str) -> object:
    return forms.build_request({k: [v] for k, v in fields.items()}, audio=True)


def test_speaker_fields_are_parsed() -> None:
    request = build(enable_diarization="true", num_speakers="2", min_speakers="1", max_speakers="3")
    assert (request.num_speakers, request.min_speakers, request.max_speakers) == (2, 1, 3)  # type: ignore[attr-defined]


@pytest.mark.parametrize("fields", [{"num_speakers": "2"}, {"enable_diarization": "true", "num_speakers": "21"},
                                    {"enable_diarization": "true", "min_speakers": "4", "max_speakers": "2"},
                                    {"enable_diarization": "true", "num_speakers": "5", "max_speakers": "3"}])
def test_bad_speaker_fields_are_invalid_requests(fields: dict[str, str]) -> None:
    with pytest.raises(MaieError) as caught:
        forms.check_feasible(build(**fields), Capabilities(), "whisper", audio=True, template_exists=lambda _: True)
    assert caught.value.code == "INVALID_REQUEST"


def test_without_the_stack_diarization_is_feature_unavailable() -> None:
    caps = Capabilities(diarization_unavailable="the 'diarization' extra is not installed")
    with pytest.raises(FeatureUnavailable) as caught:
        forms.check_feasible(build(enable_diarization="true"), caps, "whisper", audio=True,
                             template_exists=lambda _: True)
    assert caught.value.code == "FEATURE_UNAVAILABLE" and "diarization" in caught.value.message


def test_text_tasks_cannot_be_diarized() -> None:
    request = forms.build_request({"enable_diarization": ["true"], "features": ["summary"],
                                   "template_id": ["meeting-notes"]}, audio=False)
    with pytest.raises(MaieError) as caught:
        forms.check_feasible(request, Capabilities(), "whisper", audio=False, template_exists=lambda _: True)
    assert caught.value.code == "INVALID_REQUEST"


def test_srt_prefixes_each_turn_vtt_tags_every_cue_txt_has_a_line_a_turn() -> None:
    srt_text = subtitles.to_srt(SEGMENTS)
    assert "SPEAKER_1: Good morning everyone." in srt_text and "\nShall we start?\n" in srt_text
    assert "SPEAKER_2: Yes, the budget first." in srt_text
    vtt = subtitles.to_vtt(SEGMENTS)
    assert vtt.count("<v SPEAKER_1>") == 2 and vtt.count("<v SPEAKER_2>") == 1
    txt = subtitles.to_text({"raw_transcript": "plain", "segments": SEGMENTS})
    assert txt == "SPEAKER_1: Good morning everyone. Shall we start?\nSPEAKER_2: Yes, the budget first.\n"


def test_undiarized_transcripts_are_unchanged() -> None:
    plain = [{k: v for k, v in s.items() if k != "speaker"} for s in SEGMENTS]
    assert "SPEAKER" not in subtitles.to_srt(plain) + subtitles.to_vtt(plain)
    assert subtitles.to_text({"raw_transcript": "plain text", "segments": plain}) == "plain text\n"
