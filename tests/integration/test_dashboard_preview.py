"""`sagewatch dashboard --preview`: the dashboard drawn with the demo's data, as a user runs it."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sagewatch.cli import app
from sagewatch.dashboard import DemoData, dashboard_body, render_svg
from sagewatch.embedded import ARCHIVE_LOG_GROUP
from sagewatch.template import EVENTS

pytestmark = pytest.mark.integration
runner = CliRunner()
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def preview(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("preview") / "dashboard.svg"
    result = runner.invoke(app, ["dashboard", "--preview", str(path)])
    assert result.exit_code == 0, result.output
    widgets = len(dashboard_body()["widgets"])
    assert result.stdout.strip() == f"wrote {path}: {widgets} widgets drawn with the demo's data"
    return path


def failed_training_jobs_in_samples() -> int:
    """Independent of the preview: distinct training jobs in events/ that ended Failed, or Stopped
    by SageMaker for lack of time, as the enricher counts them (a tuning job's children too)."""
    names = set()
    for path in EVENTS.glob("*.json"):
        event = json.loads(path.read_text())
        detail = event.get("detail", {})
        if event.get("detail-type") != "SageMaker Training Job State Change":
            continue
        out_of_time = detail.get("TrainingJobStatus") == "Stopped" and detail.get(
            "SecondaryStatus"
        ) in ("MaxRuntimeExceeded", "MaxWaitTimeExceeded")
        if detail.get("TrainingJobStatus") == "Failed" or out_of_time:
            names.add(detail["TrainingJobName"])
    return len(names)


def test_given_the_demo_when_preview_svg_then_it_parses_and_titles_every_widget(
    preview: Path,
) -> None:
    root = ET.parse(preview).getroot()  # noqa: S314 - our own output

    assert root.tag == f"{SVG}svg"
    assert root.get("width") == "1400"
    drawn = [g.get("data-title") for g in root.iter(f"{SVG}g") if g.get("class") == "widget"]
    widgets = dashboard_body()["widgets"]
    assert len(drawn) == len(widgets)
    texts = {"".join(t.itertext()) for t in root.iter(f"{SVG}text")}
    for widget in widgets:
        title = widget["properties"].get("title")
        if title:
            assert title in drawn
            assert title in texts


def test_given_the_demo_when_preview_svg_then_failed_training_jobs_show_the_demo_count(
    preview: Path,
) -> None:
    root = ET.parse(preview).getroot()  # noqa: S314 - our own output
    [widget] = [g for g in root.iter(f"{SVG}g") if g.get("data-title") == "Failed jobs per hour"]
    bars = {
        "".join(texts[0].itertext()): "".join(texts[-1].itertext())
        for bar in widget.iter(f"{SVG}g")
        if bar.get("class") == "bar"
        for texts in [list(bar.iter(f"{SVG}text"))]
    }

    expected = failed_training_jobs_in_samples()
    assert expected >= 2
    assert bars["training"] == str(expected)


def test_given_the_demo_when_preview_svg_then_job_table_and_alarms_show_demo_values(
    preview: Path,
) -> None:
    text = preview.read_text()

    assert "vision-yolo-train-20261120-0330" in text  # a job from the finished-jobs table
    assert "sagewatch-EnrichmentLagAlarm: OK (embedded)" in text
    assert "No data in the embedded demo" in text  # the AWS/* widgets say so
    assert "canary-secret-" not in text


def test_given_html_when_preview_then_the_page_wraps_the_same_svg(
    preview: Path, tmp_path: Path
) -> None:
    page = tmp_path / "dashboard.html"
    result = runner.invoke(app, ["dashboard", "--preview", str(page)])

    assert result.exit_code == 0, result.output
    html = page.read_text()
    assert html.startswith("<!DOCTYPE html>")
    assert preview.read_text() in html  # same input, same bytes


@pytest.mark.parametrize("name", ["dashboard.png", "dashboard", "dashboard.svg.txt"])
def test_given_a_bad_extension_when_preview_then_exit_2_with_one_line_reason(
    name: str, tmp_path: Path
) -> None:
    result = runner.invoke(app, ["dashboard", "--preview", str(tmp_path / name)])

    assert result.exit_code == 2
    assert ".svg or .html" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / name).exists()


def test_given_widgets_without_demo_data_when_rendered_then_each_says_so() -> None:
    search = "SEARCH('{SageWatch,Account} MetricName=\"Nothing\"', 'Sum', 3600)"
    body = {
        "widgets": [
            {"type": "metric", "x": 0, "y": 0, "width": 12, "height": 6,
             "properties": {"title": "Empty search", "metrics": [[{"expression": search}]]}},
            {"type": "log", "x": 12, "y": 0, "width": 12, "height": 6,
             "properties": {"title": "Empty table", "view": "table",
                            "query": f"SOURCE '{ARCHIVE_LOG_GROUP}' | filter account = 'x'"}},
        ]
    }  # fmt: skip

    svg = render_svg(body, DemoData(archived=[{"time": "2026-11-20T10:00:00Z"}], metrics=[]))

    root = ET.fromstring(svg)  # noqa: S314 - our own output
    notes = {
        g.get("data-title"): " ".join("".join(t.itertext()) for t in g.iter(f"{SVG}text"))
        for g in root.iter(f"{SVG}g")
        if g.get("class") == "widget"
    }
    assert "No data in the embedded demo" in notes["Empty search"]
    assert "No rows in the embedded demo" in notes["Empty table"]
