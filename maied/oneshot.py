"""`maied transcribe FILE`: the daemon's pipeline, run once in this process (no queue, no child)."""

from __future__ import annotations

import sys
from pathlib import Path

from maied.api.forms import build_request, check_feasible
from maied.capabilities import probe_capabilities
from maied.domain import PipelineOutput, TaskInput, TaskKind, TaskStatus
from maied.errors import UnsupportedMedia
from maied.media_probe import probe_media
from maied.pipeline.model_cache import ModelCache
from maied.pipeline.run import run_task
from maied.settings import Settings
from maied.templates import builtin_templates_dir


def _template_exists(settings: Settings, template_id: str) -> bool:
    dirs = [settings.templates_dir, builtin_templates_dir()]
    return any((d / template_id / "schema.json").is_file() for d in dirs)


def run_oneshot(file: Path, fields: dict[str, list[str]], settings: Settings) -> PipelineOutput:
    request = build_request(fields, audio=True)
    request.filename = file.name
    check_feasible(request, probe_capabilities(settings), settings.ASR_BACKEND, audio=True,
                   template_exists=lambda t: _template_exists(settings, t))
    if not probe_media(file).has_audio:
        raise UnsupportedMedia(f"{file} has no audio stream")
    task = TaskInput(id="oneshot", kind=TaskKind.AUDIO, request=request, audio_path=str(file))

    def report(status: TaskStatus, duration: float | None) -> None:
        print(f"{status.value}" + (f" ({duration:.1f} s of audio)" if duration else ""), file=sys.stderr)

    return run_task(task, ModelCache(), settings, report)
