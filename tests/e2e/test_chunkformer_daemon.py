"""The ChunkFormer path end to end in the real daemon, on a tiny fixed-seed checkpoint written with the
package's own classes (no weights are reachable here: its text is meaningless, so the daemon's segments are
compared with a direct `endless_decode` of the same audio)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from maied.settings import Settings
from tests.audio_fixtures import VIETNAMESE_TEXT, speak_wav
from tests.e2e.daemon_harness import TERMINAL, running_daemon
from tests.required import require_module

pytestmark = pytest.mark.slow


def test_daemon_segments_equal_a_direct_endless_decode(models_dir: Path, tmp_path: Path) -> None:
    require_module("chunkformer")
    from chunkformer import ChunkFormerModel

    from maied.asr.chunkformer import decoding_params, parse_hhmmssms, write_pcm16_wav
    from maied.pipeline.media import decode_to_mono16k
    from tests.asr.chunkformer_tiny import write_tiny_chunkformer

    folder = write_tiny_chunkformer(tmp_path / "chunkformer-tiny")
    spoken = speak_wav(" ".join([VIETNAMESE_TEXT] * 2), tmp_path / "vi22k.wav", voice="vi")
    wav = tmp_path / "vi.wav"
    subprocess.run(["sox", str(spoken), "-r", "16000", "-c", "1", "-b", "16", str(wav)], check=True)
    # Chosen per task (asr_backend), with non-default decoding settings that must reach endless_decode.
    with running_daemon(MODELS_DIR=str(models_dir), CHUNKFORMER_MODEL_NAME=str(folder), CHUNKFORMER_CHUNK_SIZE="32",
                        CHUNKFORMER_LEFT_CONTEXT="64", LLM_BACKEND="none") as daemon:
        task_id = daemon.submit(wav, enable_vad="false", asr_backend="chunkformer").json()["task_id"]
        body = daemon.wait_for(task_id, TERMINAL)
    assert body["status"] == "COMPLETE", body
    assert body["versions"]["asr_backend"]["name"] == "chunkformer"
    decoding = decoding_params(Settings(CHUNKFORMER_CHUNK_SIZE=32, CHUNKFORMER_LEFT_CONTEXT=64))
    assert body["versions"]["asr_backend"]["decoding"] == decoding
    segments = body["results"]["segments"]

    same_audio = write_pcm16_wav(tmp_path / "direct.wav", decode_to_mono16k(wav))
    direct = ChunkFormerModel.from_pretrained(str(folder)).endless_decode(
        str(same_audio), return_timestamps=True, **decoding)
    expected = [(parse_hhmmssms(d["start"]), parse_hhmmssms(d["end"]), d["decode"].strip())
                for d in direct if d["decode"].strip()]
    assert expected, "the fixed-seed checkpoint emits tokens for this recording"
    got = [(s["start"], s["end"], s["text"].strip()) for s in segments]
    assert [g[2] for g in got] == [e[2] for e in expected]
    flat = [t for g in got for t in g[:2]]
    assert flat == pytest.approx([t for e in expected for t in e[:2]], abs=0.01)
    starts = [s["start"] for s in segments]
    assert starts == sorted(starts) and all(s["end"] >= s["start"] for s in segments)
