"""Cold start where Lambda runs it: each function's package, built by src/Makefile's recipe for
`sam build`, started under awslambdaric (the runtime interface client of AWS's python3.11
images) with the embedded AWS on localhost as its endpoint (sagewatch/localinvoke.py), and
given its sample from events/ at the samples' own time. The figure is the CPU time of the
function's process from its start through its first response: Lambda's INIT and the first
invocation, which makes the SDK's clients and the first calls.

The baseline is a handler that only imports boto3, the runtime's own (this environment's, as
the python3.11 runtime has one), run the same way: the interpreter and the runtime client cost
both the same. Rounds interleave the functions and the baseline (A, B, C, D, baseline, then
again), so that a slower or faster spell of the machine falls on all of them; medians.

CPU time on a shared machine varies by a fifth from run to run; `instructions` counts what each
cold start executes (valgrind's callgrind, one run each: the same count every time), which is
how a change of a few percent can be told apart (`python -m bench.coldstart --instructions`).
"""

from __future__ import annotations

import json
import re
import statistics
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sagewatch.embedded.inputs import load_events, replay_clock
from sagewatch.localinvoke import SAMPLES, Result, Stack, build, invoke, runtime
from sagewatch.template import EVENTS, ROOT

DEMO_METRICS = ROOT / "sagewatch" / "data" / "demo-metrics.json"
BASELINE = "boto3-baseline"
BASELINE_HANDLER = '''"""The baseline: a function that imports the runtime's boto3, nothing else."""

import boto3  # noqa: F401


def handler(event, context):
    return {}
'''

Run = Callable[[str, Sequence[str]], Result]  # (function or BASELINE, wrapper) → its cold start


def measure(rounds: int = 11) -> dict[str, Any]:
    """Median CPU seconds of each function's cold start over `rounds` interleaved rounds, and
    each median over the baseline's; `worst_ratio` is the largest of those ratios."""
    samples: dict[str, list[float]] = {name: [] for name in (*SAMPLES, BASELINE)}
    with _cold_starts() as run:
        for _ in range(rounds):
            for name, seconds in samples.items():
                seconds.append(run(name, ()).cpu_seconds)
    medians = {name: statistics.median(seconds) for name, seconds in samples.items()}
    return _ratios(medians) | {"cpu_seconds": medians, "rounds": rounds}


def instructions() -> dict[str, Any]:
    """Instructions each cold start executes (valgrind --tool=callgrind), over the baseline's."""
    counts = {}
    with _cold_starts() as run, tempfile.TemporaryDirectory() as folder:
        for name in (*SAMPLES, BASELINE):
            report = Path(folder) / f"{name}.out"
            run(name, ("valgrind", "--tool=callgrind", f"--callgrind-out-file={report}"))
            found = re.search(r"^(?:summary|totals): (\d+)", report.read_text(), re.MULTILINE)
            if found is None:
                raise RuntimeError(f"{name}: no count in callgrind's report")
            counts[name] = int(found.group(1))
    return _ratios(counts) | {"instructions": counts}


def _ratios(figures: dict[str, Any]) -> dict[str, Any]:
    ratios = {name: figures[name] / figures[BASELINE] for name in SAMPLES}
    return {"worst_ratio": max(ratios.values()), "ratios": ratios}


@contextmanager
def _cold_starts() -> Iterator[Run]:
    """The package built, the runtime, the baseline and the stack: `run(name, wrapper)` is one
    cold start of a function (or the baseline) on its sample, each on a stack as new."""
    # The samples' own day, as tests and replays run: the work done does not change with it.
    clock = replay_clock(load_events([EVENTS]))()
    metrics = json.loads(DEMO_METRICS.read_text())
    with tempfile.TemporaryDirectory() as folder, Stack() as stack:
        root = Path(folder)
        package = build(root / "package")
        baseline = root / "baseline"
        baseline.mkdir()
        (baseline / "baseline.py").write_text(BASELINE_HANDLER)
        runtime_dir = runtime(root / "runtime")

        def run(name: str, wrapper: Sequence[str]) -> Result:
            stack.reset(metrics)
            function = "AlerterFunction" if name == BASELINE else name
            environment = stack.environment(function) | {"PYTHONHASHSEED": "0"}  # same work
            if name == BASELINE:
                environment["_HANDLER"] = "baseline.handler"
            event = (EVENTS / SAMPLES[function]).read_bytes()
            code = baseline if name == BASELINE else package
            result = invoke(code, environment, event, runtime_dir, clock, wrapper)
            if result.error_type or result.escaped:
                raise RuntimeError(f"{name}: {result.error_type} {result.escaped}\n{result.logs}")
            return result

        yield run


if __name__ == "__main__":  # this measure alone: [--instructions] or [rounds]
    arguments = sys.argv[1:]
    figures = instructions() if arguments == ["--instructions"] else measure(*map(int, arguments))
    print(json.dumps(figures, indent=2))
