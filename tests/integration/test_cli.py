"""The sagewatch CLI as a user runs it."""

from __future__ import annotations

import importlib.metadata
import json
import re
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sagewatch import embedded
from sagewatch import template as cfn
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
    # The fleet function: the job's state change, and before the end the in-flight check's tick
    # and the endpoint health check's two (every 5 minutes).
    assert document["invocations"] == {"alerter": 1, "enricher": 1, "fleet": 4}


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


# ---- replay --duplicates / --faults (as the README shows them) -------------------------------


def _replay_json(*args: str) -> dict[str, Any]:
    result = runner.invoke(app, ["replay", *args, "--json"])
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def test_given_duplicates_3_when_replay_json_then_exactly_the_alerts_of_one_delivery() -> None:
    once = _replay_json(str(EVENTS))
    thrice = _replay_json(str(EVENTS), "--duplicates", "3")

    assert thrice["events"] == 3 * once["events"]
    assert [a["json"] for a in thrice["alerts"]] == [a["json"] for a in once["alerts"]]
    incidents = sorted(a["json"]["incident"] for a in once["alerts"])
    assert sorted(a["json"]["incident"] for a in thrice["alerts"]) == incidents
    assert incidents


def test_given_faults_when_replay_json_then_they_are_injected_and_reported() -> None:
    result = _replay_json(str(EVENTS / "training-failed.json"), "--faults", "sns.Publish=5xx:2")

    assert result["faults_injected"] == {"sns.Publish=5xx": 2}
    assert [a["attributes"]["kind"] for a in result["alerts"]] == ["failure"]


@pytest.mark.parametrize(
    ("option", "value", "reason"),
    [
        ("--faults", "sns.Publish=melt", "bad fault"),
        ("--duplicates", "0", "--duplicates 0"),
        ("--duplicates", "100000", "--duplicates 100000"),
    ],
)
def test_given_bad_replay_option_when_replay_then_exit_2_with_one_line_reason(
    option: str, value: str, reason: str
) -> None:
    result = runner.invoke(app, ["replay", str(EVENTS / "training-failed.json"), option, value])

    assert result.exit_code == 2
    assert reason in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


# ---- the terminal: widths, links, untrusted text --------------------------------------------


def _job_names() -> set[str]:
    """Every job name the samples carry (a superset of the demo's job table)."""
    names: set[str] = set()
    for path in EVENTS.glob("*.json"):
        detail = json.loads(path.read_text()).get("detail", {})
        names |= {v for k, v in detail.items() if k.endswith("JobName") and isinstance(v, str)}
        if isinstance(report_name := detail.get("job", {}).get("name"), str):
            names.add(report_name)
    return names


def _job_cells(output: str) -> list[str]:
    """The job column of the job table, one cell per printed line that has one (a row's
    further lines, for a cluster's instance groups, leave it blank)."""
    lines = output.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("┃"))
    column = [c.strip() for c in lines[header].split("┃")].index("job")
    cells = []
    for line in lines[header + 2 :]:
        if not line.startswith("│"):
            break
        cells.append(line.split("│")[column].strip())
    return [cell for cell in cells if cell]


@pytest.mark.parametrize("width", [80, 120])
def test_given_columns_when_demo_piped_then_lines_fit_and_job_names_are_never_split(
    width: int,
) -> None:
    result = runner.invoke(app, ["demo"], env={"COLUMNS": str(width)})

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    too_long = [line for line in lines if len(line) > width]
    # Links are left whole on a line of their own (wrapped, they could not be opened or copied).
    assert all(re.fullmatch(r"https://\S+", line) for line in too_long), too_long
    names, cells = _job_names(), _job_cells(result.stdout)
    assert len(cells) >= 10
    for cell in cells:  # whole, or cut with an ellipsis: never a piece on the next line
        assert cell in names or (
            cell.endswith("…") and any(n.startswith(cell[:-1]) for n in names)
        ), cell
    dashboard = "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#dashboards/dashboard/sagewatch"
    assert dashboard in lines or f"Dashboard: {dashboard}" in lines
    boxed_links = [line for line in lines if re.match(r"│ (Console|Logs|Dashboard):", line)]
    assert boxed_links == []  # a box would wrap them


def test_given_no_columns_when_piped_then_80_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    result = runner.invoke(app, ["replay", str(EVENTS / "training-failed.json")])

    assert result.exit_code == 0, result.output
    assert max(len(line) for line in result.stdout.splitlines() if "https://" not in line) <= 80


def _hostile_events(path: Path) -> Path:
    """Samples whose fields carry escape sequences, bidi overrides and Rich markup."""
    completed = json.loads((EVENTS / "training-completed-gpu.json").read_text())
    completed["detail"]["TrainingJobName"] = "evil-\u202etxt.exe"
    completed["detail"]["ResourceConfig"]["InstanceType"] = "ml.p3.2xlarge\x1b[2J\x9b31m"
    failed = json.loads((EVENTS / "training-failed.json").read_text())
    failed["detail"]["TrainingJobName"] = "[/bogus]"
    failed["detail"]["FailureReason"] = (
        "boom \x1b]8;;https://evil.example\x07click\x1b]8;;\x07 [red]markup[/red] \u202egnp.exe"
    )
    report = json.loads((EVENTS / "utilization-report-under-used.json").read_text())
    report["detail"]["utilization"]["gpu_percent"] = "NaN"  # a forged report: any shape
    report["detail"]["job"]["duration_seconds"] = {"long": True}
    forged = report | {"id": "forged-2", "detail": {"job": "not an object"}}
    path.write_text(json.dumps([completed, failed, report, forged]))
    return path


def _assert_inert(text: str) -> None:
    controls = [ch for ch in text if ch not in "\n" and unicodedata.category(ch)[0] == "C"]
    assert controls == []


def test_given_escape_sequences_and_markup_in_events_when_replay_then_shown_as_inert_text(
    tmp_path: Path,
) -> None:
    events = _hostile_events(tmp_path / "hostile.json")
    result = runner.invoke(app, ["replay", str(events)], env={"COLUMNS": "200"})

    assert result.exit_code == 0, result.output
    _assert_inert(result.stdout)
    assert "[/bogus]" in result.stdout  # markup is printed as the text it is
    assert "[red]markup[/red]" in result.stdout
    assert "evil- txt.exe" in result.stdout


def test_given_escape_sequences_in_event_when_invoke_then_shown_as_inert_text(
    tmp_path: Path,
) -> None:
    events = json.loads(_hostile_events(tmp_path / "hostile.json").read_text())
    event = tmp_path / "failed.json"
    event.write_text(json.dumps(events[1]))
    result = runner.invoke(app, ["invoke", "alerter", "--event", str(event)])

    assert result.exit_code == 0, result.output
    _assert_inert(result.stdout)
    assert "[/bogus]" in result.stdout


@pytest.mark.parametrize("option", ["paths", "--metrics", "--event"])
def test_given_deeply_nested_json_when_read_then_exit_2_with_one_line_reason(
    tmp_path: Path, option: str
) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    sample = str(EVENTS / "training-failed.json")
    args = {
        "paths": ["replay", str(deep)],
        "--metrics": ["replay", sample, "--metrics", str(deep)],
        "--event": ["invoke", "alerter", "--event", str(deep)],
    }[option]
    result = runner.invoke(app, args)

    assert result.exit_code == 2
    assert "deep.json: JSON nested too deeply" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("content", ["{}", "[]", '{"Records": []}', '[1, "two"]'])
def test_given_file_without_events_when_replay_then_exit_2_naming_it(
    tmp_path: Path, content: str
) -> None:
    empty = tmp_path / "empty.json"
    empty.write_text(content)
    result = runner.invoke(app, ["replay", str(empty)])

    assert result.exit_code == 2
    assert f"no events in {empty}" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_given_good_and_bad_files_when_replay_then_exit_2_naming_only_the_bad(
    tmp_path: Path,
) -> None:
    (tmp_path / "a.json").write_text("{}")
    (tmp_path / "b.json").write_text("[]")
    good = EVENTS / "training-failed.json"
    result = runner.invoke(app, ["replay", str(good), str(tmp_path / "a.json"), str(tmp_path)])

    assert result.exit_code == 2
    assert "a.json" in result.stderr
    assert "b.json" in result.stderr
    assert good.name not in result.stderr


# ---- invoke: --aws settings, --help, --json; --version; progress ------------------------------


def _function_variables() -> set[str]:
    """Every variable template.yaml gives a function, and the Region Lambda sets."""
    document = cfn.load()
    names = set(document["Globals"]["Function"]["Environment"]["Variables"])
    for logical_id in embedded.FUNCTIONS.values():
        properties = document["Resources"][logical_id]["Properties"]
        names |= set(properties.get("Environment", {}).get("Variables", {}))
    return names | {"AWS_REGION"}


@pytest.mark.parametrize("function", list(embedded.FUNCTIONS))
def test_given_no_function_settings_when_invoke_aws_then_exit_2_naming_them_all_in_one_line(
    function: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in _function_variables():
        monkeypatch.delenv(name, raising=False)
    event = EVENTS / "endpoint-failed.json"
    result = runner.invoke(app, ["invoke", function, "--event", str(event), "--aws"])

    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert f"{function} --aws: not set: " in result.stderr
    assert "AWS_REGION" in result.stderr
    assert "Traceback" not in result.output
    if function == "alerter":
        named = result.stderr.split("not set: ", 1)[1].split(" (", 1)[0].split(", ")
        assert sorted(named) == sorted(
            ["AWS_REGION", "EMAIL_TOPIC_ARN", "JSON_TOPIC_ARN", "CHAT_TOPIC_ARN",
             "IDEMPOTENCY_TABLE", "SUMMARY_QUEUE_URL"]
        )  # fmt: skip


def test_given_invoke_help_then_every_function_is_listed() -> None:
    result = runner.invoke(app, ["invoke", "--help"], env={"COLUMNS": "200"})

    assert result.exit_code == 0, result.output
    assert all(function in result.stdout for function in embedded.FUNCTIONS)


def test_given_version_option_then_the_installed_version_is_printed() -> None:
    result = runner.invoke(app, ["--version"])

    assert result.exit_code == 0, result.output
    assert result.stdout == f"sagewatch {importlib.metadata.version('sagewatch')}\n"


def test_given_invoke_json_then_stdout_is_exactly_one_json_object() -> None:
    event = EVENTS / "endpoint-failed.json"
    result = runner.invoke(app, ["invoke", "alerter", "--event", str(event), "--json"])

    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["function"] == "alerter"
    assert document["result"]["outcome"] == "alerted"
    assert [a["subject"] for a in document["alerts"]] == [
        "[sagewatch] FAILED endpoint forecasting-demand-realtime (777788889999 us-east-1)"
    ]
    assert document["calls"]["sns.Publish"] == 3


def test_given_a_terminal_when_replay_then_the_run_phase_shows_progress_too() -> None:
    sample = str(EVENTS / "training-failed.json")
    result = runner.invoke(app, ["replay", sample], env={"TTY_COMPATIBLE": "1"})

    assert result.exit_code == 0, result.output
    assert "delivering events" in result.stderr
    assert "running the functions" in result.stderr


@pytest.mark.parametrize(
    ("args", "env"),
    [(["--json"], {"TTY_COMPATIBLE": "1"}), ([], {"TTY_COMPATIBLE": "0"})],
)
def test_given_json_or_no_terminal_when_replay_then_no_progress(
    args: list[str], env: dict[str, str]
) -> None:
    result = runner.invoke(app, ["replay", str(EVENTS / "training-failed.json"), *args], env=env)

    assert result.exit_code == 0, result.output
    assert result.stderr == ""
