"""The alerter's warm path in instructions: what handling one alert executes, counted by
valgrind's callgrind, against `json.loads` of its event. The count is the same every run, where
CPU time on a shared machine moves by half between runs (`warm_cpu` in `make bench`), so a lever
of a few percent can be told apart: `python -m bench.warm` (needs valgrind, ~3 minutes).

Each count is a child process: the same setup, then nothing (`setup`), `json.loads` of every
event (`floor`), or the alerter handling each (`alerter`); the differences over the events are
per event. The alerter is warm (it has handled other events first), its adapters in-memory fakes.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EVENTS = 300
WARM_UP = 20


def alerter_workload(events: int) -> tuple[list[str], Any, Callable[[], Any]]:
    """`events` failed training jobs, each its own incident, as their messages arrive (JSON
    text); the alerter's settings; a maker of alerters with in-memory fakes (a new one meets no
    duplicates)."""
    from sagewatch.template import EVENTS as SAMPLES
    from shared.alerting.service import Alerter
    from shared.config import AlerterSettings
    from tests.fakes import MemoryLedger, MemoryOnce, Recorder

    failed = json.loads((SAMPLES / "training-failed.json").read_text())
    raw = [
        json.dumps(
            failed | {"id": f"e{n}", "detail": failed["detail"] | {"TrainingJobName": f"job-{n}"}}
        )
        for n in range(events)
    ]
    settings = AlerterSettings(
        {c: f"arn:aws:sns:us-east-1:123456789012:{c}" for c in ("email", "json", "chat")},
        "t", "team", 3600, 0, 600, "", "us-east-1", "sagewatch",
    )  # fmt: skip

    def alerter() -> Alerter:
        return Alerter(
            settings, publishers=publishers(), ledger=MemoryLedger(), summaries=Recorder(),
            records=MemoryOnce(),
        )  # fmt: skip

    return raw, settings, alerter


def publishers() -> dict[str, Any]:
    from tests.fakes import Recorder

    return dict.fromkeys(("email", "json", "chat"), Recorder())


@contextlib.contextmanager
def quiet() -> Any:
    """The alerter's log lines and EMF records written, to memory."""
    from shared.platform.observability import logger

    handler: Any = logger.registered_handler
    sink, previous = io.StringIO(), handler.stream
    handler.stream = sink
    try:
        with contextlib.redirect_stdout(sink):
            yield
    finally:
        handler.stream = previous


def instructions(events: int = EVENTS) -> dict[str, Any]:
    counts = {}
    with tempfile.TemporaryDirectory() as folder:
        for mode in ("setup", "floor", "alerter"):
            report = Path(folder) / f"{mode}.out"
            command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={report}"]
            command += [sys.executable, "-m", "bench.warm", "--child", mode, str(events)]
            subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
            found = re.search(r"^(?:summary|totals): (\d+)", report.read_text(), re.MULTILINE)
            if found is None:
                raise RuntimeError(f"{mode}: no count in callgrind's report")
            counts[mode] = int(found.group(1))
    floor = (counts["floor"] - counts["setup"]) / events
    alert = (counts["alerter"] - counts["setup"]) / events
    return {
        "json_loads_per_event": round(floor),
        "alerter_per_event": round(alert),
        "alerter_vs_json_loads": round(alert / floor, 2),
        "events": events,
    }


def _child(mode: str, events: int) -> None:
    raw, _, alerter = alerter_workload(WARM_UP + events)
    handle = alerter().handle
    with quiet():
        for text in raw[:WARM_UP]:  # its first events make what every later one reuses
            handle(json.loads(text))
        raw = raw[WARM_UP:]
        if mode == "floor":
            [json.loads(text) for text in raw]
        elif mode == "alerter":
            [handle(json.loads(text)) for text in raw]


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _child(sys.argv[2], int(sys.argv[3]))
    else:
        print(json.dumps(instructions(*map(int, sys.argv[1:])), indent=2))
