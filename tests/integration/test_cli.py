"""The sagewatch CLI as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sagewatch.cli import app
from sagewatch.template import EVENTS

pytestmark = pytest.mark.integration
runner = CliRunner()


def test_given_events_when_replay_json_then_stdout_is_exactly_one_json_object() -> None:
    result = runner.invoke(app, ["replay", str(EVENTS / "training-failed.json"), "--json"])

    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["events"] == 1
    assert [a["attributes"]["kind"] for a in document["alerts"]] == ["failure"]
    assert document["invocations"] == {"alerter": 1, "enricher": 1}


def test_given_missing_path_when_replay_then_exit_2_with_one_line_reason(tmp_path: Path) -> None:
    result = runner.invoke(app, ["replay", str(tmp_path / "nope.json")])

    assert result.exit_code == 2
    assert "no such file or folder" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_given_malformed_json_when_replay_then_exit_2_naming_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    result = runner.invoke(app, ["replay", str(bad)])

    assert result.exit_code == 2
    assert "bad.json" in result.stderr


def test_given_demo_when_run_then_job_table_alerts_and_counts_are_shown() -> None:
    result = runner.invoke(app, ["demo"])

    assert result.exit_code == 0, result.output
    assert "Finished jobs across accounts" in result.stdout
    assert "[sagewatch] FAILED training job" in result.stdout
    assert "[sagewatch] IDLE" in result.stdout
    assert "canary-secret-" not in result.stdout


def test_given_alerter_and_event_when_invoke_then_result_and_side_effects_printed() -> None:
    result = runner.invoke(
        app, ["invoke", "alerter", "--event", str(EVENTS / "endpoint-failed.json")]
    )

    assert result.exit_code == 0, result.output
    assert '"outcome": "alerted"' in result.stdout
    assert "FAILED endpoint forecasting-demand-realtime" in result.stdout


def test_given_unknown_function_when_invoke_then_exit_2() -> None:
    result = runner.invoke(app, ["invoke", "nope", "--event", str(EVENTS / "endpoint-failed.json")])
    assert result.exit_code == 2
