"""Every `sagewatch` command shown in a code block of README.md and docs/*.md runs as shown.

Commands that need a real AWS account are skipped, each by name with its reason below; nothing
else is. Paths are relative to the repository root; output files go to a temporary folder.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sagewatch.cli import app

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

# Real AWS only: each reads a deployed stack or runs with the caller's credentials.
NEEDS_AWS = {
    # --aws: the handler runs against real AWS with the function's environment variables.
    "invoke alerter --event events/endpoint-failed.json --aws": "real AWS (--aws)",
    # redrive has no embedded mode: it reads the stack's outputs and moves real messages.
    "redrive --stack sagewatch --dry-run": "reads a deployed stack's dead-letter queues",
    "redrive --stack sagewatch": "moves a deployed stack's dead-lettered events",
    # --aws: reads the deployed monitoring stack's outputs and bus policy.
    "onboard --aws --stack sagewatch --account 444455556666 --project nlp --environment prod": (
        "reads a deployed stack (--aws)"
    ),
    # --aws --workload-profile: checks two real accounts.
    "doctor --aws --stack sagewatch --account 444455556666 --workload-profile nlp-prod": (
        "checks real accounts (--aws, --workload-profile)"
    ),
}
# The README's stand-ins for the reader's own files, and the repository's files that play them.
STAND_INS = {"my-events/": "events/", "my-metrics.json": "sagewatch/data/demo-metrics.json"}
OUTPUT_OPTIONS = ("--preview",)  # their value is a file the command writes
COMMAND = re.compile(r"\s*(\$\s+)?([\w.-]*/)*sagewatch(\s|$)")  # sagewatch, .venv/bin/sagewatch


def documented_commands() -> list[tuple[str, str]]:
    """(where, arguments) of every `sagewatch` command line in a fenced code block, with its
    continuation lines joined and its comment dropped."""
    commands = []
    for doc in DOCS:
        fenced, pending, start = False, "", 0
        for number, line in enumerate(doc.read_text().splitlines(), 1):
            if re.match(r"\s*(```|~~~)", line):
                fenced, pending = not fenced, ""
                continue
            if not fenced or not (pending or COMMAND.match(line)):
                continue
            start = start if pending else number
            pending += line
            if pending.endswith("\\"):
                pending = pending[:-1] + " "
                continue
            words, pending = shlex.split(pending, comments=True), ""
            commands.append((f"{doc.relative_to(ROOT)}:{start}", shlex.join(words[1:])))
    return commands


COMMANDS = documented_commands()


def test_given_the_docs_then_commands_are_found_and_every_skip_is_still_documented() -> None:
    shown = {command for _, command in COMMANDS}

    assert len(shown - set(NEEDS_AWS)) >= 5
    assert set(NEEDS_AWS) <= shown  # a skip whose command left the docs goes too
    for command in NEEDS_AWS:  # only commands that cannot run without an account
        words = command.split()
        assert "--aws" in words or words[0] == "redrive", command


@pytest.mark.parametrize(
    "command",
    [c for _, c in COMMANDS if c not in NEEDS_AWS],
    ids=[w for w, c in COMMANDS if c not in NEEDS_AWS],
)
def test_given_a_documented_command_when_run_then_it_exits_0(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    words = [STAND_INS.get(word, word) for word in shlex.split(command)]
    for index, word in enumerate(words[:-1]):
        if word in OUTPUT_OPTIONS:
            words[index + 1] = str(tmp_path / Path(words[index + 1]).name)
    result = CliRunner().invoke(app, words, env={"COLUMNS": "120"})

    assert result.exit_code == 0, f"sagewatch {command}\n{result.output}"
