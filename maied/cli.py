"""`maied`: serve, config, transcribe (one-shot), models, maintenance."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from maied import __version__
from maied.domain import ASR_BACKENDS, speaker_turns_text
from maied.errors import ConfigError, MaieError
from maied.settings import Settings, load_settings


def fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"maied: error: {message}", err=True)
    sys.exit(code)


def settings_or_exit(**overrides: Any) -> Settings:
    try:
        return load_settings(**overrides)
    except ConfigError as exc:
        fail(exc.message, 2)


class MaiedGroup(click.Group):
    """A click group whose usage errors are one line, `maied: error: ...`, exit 2 (as maictl's)."""

    def main(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        kwargs["standalone_mode"] = False
        try:
            result = super().main(*args, **kwargs)
        except click.exceptions.NoArgsIsHelpError as exc:
            click.echo(exc.ctx.get_help() if exc.ctx else "", err=True)
            sys.exit(2)
        except click.ClickException as exc:
            ctx = getattr(exc, "ctx", None)
            hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
            fail(f"{exc.format_message()}{hint}", exc.exit_code)
        except click.exceptions.Abort:
            fail("interrupted", 130)
        sys.exit(result if isinstance(result, int) else 0)


@click.group(cls=MaiedGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="maied")
def cli() -> None:
    """maied: the maie audio intelligence daemon and its tools."""


@cli.command()
@click.option("--socket", "socket_path", type=click.Path(path_type=Path), help="Override API_SOCKET.")
@click.option("--data-dir", type=click.Path(path_type=Path), help="Override DATA_DIR.")
@click.option("--log-level", default="INFO", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False))
def serve(socket_path: Path | None, data_dir: Path | None, log_level: str) -> None:
    """Run the daemon in the foreground (systemd runs this)."""
    overrides: dict[str, Any] = {}
    if socket_path is not None:
        overrides["API_SOCKET"] = socket_path
    if data_dir is not None:
        overrides["DATA_DIR"] = data_dir
    settings = settings_or_exit(**overrides)
    from maied.daemon import DaemonError
    from maied.daemon import serve as run_daemon
    from maied.logs import setup_logging

    setup_logging(settings.log_dir, log_level.upper())
    try:
        run_daemon(settings)
    except (DaemonError, OSError) as exc:
        fail(str(exc))


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def config(as_json: bool) -> None:
    """Print the effective settings (secrets masked) with what each one means."""
    settings = settings_or_exit()
    values = settings.public_dict()
    if as_json:
        click.echo(json.dumps(values, indent=2, default=str))
        return
    for name, field in Settings.model_fields.items():
        for line in (field.description or "").splitlines():
            click.echo(click.style(f"# {line.strip()}", dim=True))
        click.echo(f"{name}={_shown(values.get(name))}")


def _shown(value: Any) -> str:
    """A value as an env file line takes it: quoted when it holds spaces, quotes or `#`."""
    text = "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
    if any(ch in text for ch in " \t#'\"\\"):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


@cli.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--features", "-f", multiple=True,
              help="raw_transcript, clean_transcript, summary, enhancement_metrics (repeat or comma list).")
@click.option("--template", "-t", "template_id", help="Template for the summary feature.")
@click.option("--backend", "asr_backend", type=click.Choice(ASR_BACKENDS))
@click.option("--language", help="Language code (vi, en, ...); empty = detect.")
@click.option("--vocabulary", help="Comma list of names and terms to bias recognition.")
@click.option("--vad/--no-vad", "enable_vad", default=None, help="Voice activity detection.")
@click.option("--diarize", is_flag=True, help="Label who spoke when (SPEAKER_1, SPEAKER_2, ...).")
@click.option("--speakers", type=click.IntRange(1, 20), help="With --diarize: the number of speakers, when known.")
@click.option("--json", "as_json", is_flag=True, help="Print the whole result as JSON.")
def transcribe(file: Path, features: tuple[str, ...], template_id: str | None, asr_backend: str | None,
               language: str | None, vocabulary: str | None, enable_vad: bool | None, diarize: bool,
               speakers: int | None, as_json: bool) -> None:
    """Run the same pipeline once on FILE, without a daemon."""
    from maied.oneshot import run_oneshot

    settings = settings_or_exit()
    fields = {"features": list(features), "template_id": [template_id] if template_id else [],
              "asr_backend": [asr_backend] if asr_backend else [], "language": [language] if language else [],
              "vocabulary": [vocabulary] if vocabulary else [],
              "enable_vad": [] if enable_vad is None else [str(enable_vad).lower()],
              "enable_diarization": ["true"] if diarize else [],
              "num_speakers": [str(speakers)] if speakers is not None else []}
    try:
        output = run_oneshot(file, fields, settings)
    except MaieError as exc:
        fail(f"{exc.code}: {exc.message}")
    if as_json:
        click.echo(json.dumps(output.to_dict(), indent=2, ensure_ascii=False))
        return
    for warning in output.warnings:
        click.echo(f"warning: {warning.code}: {warning.message}", err=True)
    results = output.results
    turns = speaker_turns_text(results.get("segments") or [])
    click.echo(results.get("clean_transcript") or turns or results.get("raw_transcript", ""))
    if "summary" in results:
        click.echo(json.dumps(results["summary"], indent=2, ensure_ascii=False))


def _register_groups() -> None:
    from maied.model_commands import models
    from maied.store_cli import store_group

    cli.add_command(models)
    cli.add_command(store_group)
    try:
        from maied.maintenance.cli import maintenance
    except ImportError:
        return
    cli.add_command(maintenance)


_register_groups()


def main() -> None:
    cli(prog_name="maied")


if __name__ == "__main__":
    main()
