"""Every command and option of maictl has help text and is documented in docs/maictl.md."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from maictl.cli import cli

DOC = (Path(__file__).resolve().parents[2] / "docs" / "maictl.md").read_text(encoding="utf-8")
COMMANDS = sorted(cli.commands)


def doc_section(name: str) -> str:
    match = re.search(rf"^### maictl {re.escape(name)}\n(.*?)(?=^#{{1,3}} |\Z)", DOC, flags=re.M | re.S)
    assert match, f"docs/maictl.md has no '### maictl {name}' section"
    return match.group(1)


def long_flags(command: click.Command) -> list[str]:
    flags = []
    for param in command.params:
        if isinstance(param, click.Option) and "--help" not in param.opts:
            flags += [o for o in param.opts + param.secondary_opts if o.startswith("--")]
    return flags


def test_the_expected_commands_exist() -> None:
    assert COMMANDS == ["cancel", "delete", "health", "list", "models", "result", "status", "submit",
                        "submit-text", "summarize", "templates"]


@pytest.mark.parametrize("name", COMMANDS)
def test_command_has_help_and_a_documented_section(name: str) -> None:
    command = cli.commands[name]
    assert command.help and command.help.strip(), f"maictl {name} has no help text"
    section = doc_section(name)
    for flag in long_flags(command):
        assert flag in section, f"{flag} of maictl {name} is not in its section of docs/maictl.md"


@pytest.mark.parametrize("name", COMMANDS)
def test_every_option_has_help(name: str) -> None:
    for param in cli.commands[name].params:
        if isinstance(param, click.Option):
            assert param.help, f"maictl {name} {param.opts} has no help text"


def test_global_options_and_exit_codes_are_documented() -> None:
    for flag in long_flags(cli):
        assert f"`{flag}" in DOC, f"global option {flag} is not documented"
    for param in cli.params:
        assert isinstance(param, click.Option) and param.help
    for code in range(6):
        assert re.search(rf"^\| {code} \| ", DOC, flags=re.M), f"exit code {code} is not documented"
