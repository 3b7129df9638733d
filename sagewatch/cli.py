"""`sagewatch`: run the monitoring pipeline on an embedded AWS (in memory; moto for fault
drills), no account, no Docker."""

from __future__ import annotations

import importlib.metadata
import json
import math
import os
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.cells import cell_len
from rich.console import Console
from rich.json import JSON
from rich.panel import Panel
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskProgressColumn, TextColumn
from rich.style import Style
from rich.table import Table
from rich.text import Text

from sagewatch import embedded
from sagewatch.faults import parse_spec
from sagewatch.metrics_format import check_metrics
from sagewatch.template import EVENTS
from shared.domain.text import for_terminal

DEMO_METRICS = Path(__file__).resolve().parent / "data" / "demo-metrics.json"
MAX_DUPLICATES = 100  # a typo of 30000 would replay for hours

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Cross-account SageMaker monitoring, run on an embedded AWS: no account needed.",
)


def _console(stderr: bool = False) -> Console:
    """COLUMNS when set, piped or not (Rich reads it); else a terminal's own width; else 80:
    piped, Rich would measure whatever terminal stdin is, and the output is not going there."""
    console = Console(stderr=stderr)
    if not console.is_terminal and not os.environ.get("COLUMNS", "").isdigit():
        console.width = 80
    return console


# Made again for each command (see _options): COLUMNS and the streams are the run's own.
out = _console()
err = _console(stderr=True)


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"sagewatch {importlib.metadata.version('sagewatch')}\n")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    global out, err  # this run's environment: COLUMNS, a terminal or not
    out, err = _console(), _console(stderr=True)


def _fail(message: str) -> typer.Exit:
    reason = for_terminal(message).replace("\n", " ")  # one line, no escape sequences
    err.print(Text.assemble(("error:", "red"), " ", reason), highlight=False, soft_wrap=True)
    return typer.Exit(code=2)


def _read_metrics(path: Path) -> Any:
    document = _read_json(path, "metrics file")
    try:
        check_metrics(document)
    except ValueError as error:
        raise _fail(f"metrics file {path}: {error} (docs/metrics-format.md)") from None
    return document


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text())
    except RecursionError:
        raise _fail(f"{what} {path}: JSON nested too deeply") from None
    except (OSError, ValueError) as error:
        raise _fail(f"{what} {path}: {error}") from None


def _events(paths: list[Path]) -> list[Any]:
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise _fail(f"no such file or folder: {', '.join(missing)}")
    try:
        return embedded.load_events(paths)
    except ValueError as error:
        raise _fail(str(error)) from None


def _run(
    events: list[Any], metrics: Any, quiet: bool, duplicates: int = 1, faults: str | None = None
) -> dict[str, Any]:
    """Replay; on a terminal (never with --json) with progress for delivery, then a spinner
    while the functions run (the longer phase: nothing would show otherwise)."""
    try:
        if quiet or not err.is_terminal:
            return embedded.replay(events, metrics, duplicates=duplicates, faults=faults)
        columns = (SpinnerColumn(finished_text="✓"), TextColumn("{task.description}"))
        with Progress(
            *columns, BarColumn(), TaskProgressColumn(), console=err, transient=True
        ) as bar:
            task = bar.add_task("delivering events", total=len(events))

            def delivered(count: int) -> None:
                bar.update(task, completed=count)
                if count == len(events):
                    bar.add_task("running the functions", total=None)
                    bar.refresh()

            return embedded.replay(
                events, metrics, duplicates=duplicates, faults=faults, progress=delivered
            )
    except ValueError as error:  # a malformed --faults spec or --metrics series
        raise _fail(str(error)) from None


@app.command()
def replay(
    paths: Annotated[
        list[Path], typer.Argument(help="Event files (one event or a list) or folders of *.json.")
    ],
    metrics: Annotated[
        Path | None,
        typer.Option("--metrics", help="Host datapoints to seed (docs/metrics-format.md)."),
    ] = None,
    duplicates: Annotated[
        int,
        typer.Option(
            "--duplicates",
            help="Deliver every event N times, each copy with its own event id (at-least-once).",
        ),
    ] = 1,
    faults: Annotated[
        str | None,
        typer.Option(
            "--faults",
            help="Inject AWS faults: TARGET=KIND[:COUNT][@AFTER],... (see the README).",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object, nothing else.")
    ] = False,
) -> None:
    """Deliver events to the monitoring bus as if forwarded and run every function they trigger."""
    if not 1 <= duplicates <= MAX_DUPLICATES:
        raise _fail(f"--duplicates {duplicates}: choose 1 to {MAX_DUPLICATES}")
    try:
        parse_spec(faults or "")  # before the (slow) replay
    except ValueError as error:
        raise _fail(f"--faults: {error}") from None
    seeded = _read_metrics(metrics) if metrics else None
    result = _run(_events(paths), seeded, quiet=as_json, duplicates=duplicates, faults=faults)
    if as_json:
        sys.stdout.write(json.dumps(result, default=str) + "\n")
    else:
        _print_report(result)


@app.command()
def demo() -> None:
    """Replay events/ with bundled synthetic metrics across several accounts and show the result."""
    if not EVENTS.is_dir():
        raise _fail(f"{EVENTS} not found: run the demo from a checkout (make demo)")
    events = embedded.load_events([EVENTS])
    # As they would arrive: in event time order (replay keeps the order it is given).
    events.sort(key=lambda e: str(e.get("time", "")) if isinstance(e, dict) else "")
    result = _run(events, _read_json(DEMO_METRICS, "demo metrics"), quiet=False)
    out.rule("[bold]sagewatch demo[/bold]: events/ replayed through the monitoring pipeline")
    _print_report(result)


@app.command()
def dashboard(
    preview: Annotated[
        Path,
        typer.Option(
            "--preview", help="Write the dashboard drawn with the demo's data: FILE.svg or .html."
        ),
    ],
) -> None:
    """Preview template.yaml's CloudWatch dashboard with the demo's data (events/, demo metrics)."""
    from sagewatch import dashboard as board

    if preview.suffix.lower() not in (".svg", ".html"):
        raise _fail(f"--preview {preview}: the file name must end in .svg or .html")
    if not EVENTS.is_dir():
        raise _fail(f"{EVENTS} not found: run the preview from a checkout")
    events = embedded.load_events([EVENTS])
    events.sort(key=lambda e: str(e.get("time", "")) if isinstance(e, dict) else "")
    data = board.demo_data(events, _read_json(DEMO_METRICS, "demo metrics"))
    svg = board.render_svg(board.dashboard_body(), data)
    text = board.render_html(svg) if preview.suffix.lower() == ".html" else svg
    try:
        preview.write_text(text, encoding="utf-8")
    except OSError as error:
        raise _fail(f"--preview {preview}: {error.strerror or error}") from None
    widgets = svg.count('<g class="widget"')
    out.print(
        _safe(f"wrote {preview}: {widgets} widgets drawn with the demo's data"),
        highlight=False,
        soft_wrap=True,
    )


@app.command()
def invoke(
    function: Annotated[
        str, typer.Argument(help=f"The function: {', '.join(embedded.FUNCTIONS)}.")
    ],
    event: Annotated[
        Path, typer.Option("--event", "-e", help="Event file (EventBridge event or SQS batch).")
    ],
    metrics: Annotated[
        Path | None, typer.Option("--metrics", help="Host datapoints to seed.")
    ] = None,
    aws: Annotated[
        bool,
        typer.Option(
            "--aws", help="Run against real AWS with your credentials and the function's env vars."
        ),
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object, nothing else.")
    ] = False,
) -> None:
    """Run one function's handler on one event and print its result and side effects."""
    if function not in embedded.FUNCTIONS:
        names = ", ".join(embedded.FUNCTIONS)
        raise _fail(f"unknown function {function!r}: choose one of {names}")
    payload = _read_json(event, "event file")
    if function == "enricher" and not (isinstance(payload, dict) and "Records" in payload):
        payload = {"Records": [{"messageId": "invoke-1", "body": json.dumps(payload)}]}
    if aws:
        if missing := _missing_settings(function):
            names = ", ".join(missing)
            raise _fail(f"{function} --aws: not set: {names} (the deployed function's variables)")
        try:
            real = embedded.invoke_real(function, payload)
        except Exception as error:  # credentials, access denied, a missing resource
            raise _fail(f"{function} raised {type(error).__name__}: {error}") from None
        if as_json:
            sys.stdout.write(json.dumps({"function": function, **real}, default=str) + "\n")
        else:
            out.print(JSON.from_data(real, default=str, ensure_ascii=True))
        return
    with embedded.EmbeddedAws() as local:
        if metrics:
            local.seed_metrics(_read_metrics(metrics))
        try:
            result = local.invoke(function, payload)
        except Exception as error:  # show what the function raised, as Lambda would
            result = {"errorType": type(error).__name__, "errorMessage": str(error)}
        summary = local.summary()
    if as_json:
        document = {"function": function, "result": result} | {
            key: summary[key] for key in ("alerts", "reports", "dead_letters", "metrics", "calls")
        }
        sys.stdout.write(json.dumps(document, default=str) + "\n")
        return
    # ensure_ascii: event text (bidi overrides, C1 controls) reaches the terminal escaped.
    returned = JSON.from_data(result, default=str, ensure_ascii=True)
    out.print(Panel.fit(returned, title=f"{function} returned"))
    effects = {
        "alerts published": [a["subject"] for a in summary["alerts"]],
        "reports put on the bus": [
            f"{_get(r, 'detail', 'job', 'name')}: {_get(r, 'detail', 'verdict')}"
            for r in summary["reports"]
        ],
        "EMF metrics": len(summary["metrics"]),
        "AWS calls": summary["calls"],
    }
    out.print(JSON.from_data(effects, ensure_ascii=True))


_REQUIRED = re.compile(r"environment variable (\w+) is required and not set")


def _missing_settings(function: str) -> list[str]:
    """Every required environment variable the function lacks here, found by parsing its
    settings as its handler does (they stop at the first), so that one run names them all."""
    from shared.config import AlerterSettings, EnricherSettings, FleetSettings
    from shared.platform.errors import ConfigError

    settings: dict[str, Any] = {
        "enricher": EnricherSettings,
        "alerter": AlerterSettings,
        "summarizer": AlerterSettings,
        "fleet": FleetSettings,
    }
    env, missing = dict(os.environ), list[str]()
    while True:
        try:
            settings[function].from_env(env)
            return missing
        except ConfigError as error:
            required = _REQUIRED.fullmatch(str(error))
            if required is None:  # set but malformed: its own message says which and why
                raise _fail(f"{function} --aws: {error}") from None
            missing.append(required[1])
            env[required[1]] = "set"


@app.command()
def redrive(
    stack: Annotated[
        str, typer.Option("--stack", help="The monitoring stack's name.")
    ] = "sagewatch",
    region: Annotated[str | None, typer.Option("--region", help="Its Region.")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would move and why.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Move dead-lettered events back to where they came from (real AWS, your credentials)."""
    from sagewatch.redrive import from_stack

    try:
        redriver = from_stack(stack, region)
        letters = redriver.letters()
        moved = {"moved": 0, "kept": len(letters)} if dry_run else redriver.redrive(letters)
    except Exception as error:  # credentials, a missing stack, access denied
        raise _fail(f"{type(error).__name__}: {error}") from None
    _print_letters([letter.summary() for letter in letters], moved, dry_run, as_json)


@app.command()
def onboard(
    account: Annotated[
        str | None, typer.Option("--account", help="The workload account to onboard (checked).")
    ] = None,
    workload_region: Annotated[
        str | None,
        typer.Option("--workload-region", help="Its Region (default: the monitoring stack's)."),
    ] = None,
    project: Annotated[str, typer.Option("--project", help="Label for its alerts/KPIs.")] = "",
    environment: Annotated[str, typer.Option("--environment", help="e.g. prod, dev.")] = "",
    stack: Annotated[
        str, typer.Option("--stack", help="The monitoring stack's name.")
    ] = "sagewatch",
    region: Annotated[str | None, typer.Option("--region", help="Its Region.")] = None,
    aws: Annotated[
        bool, typer.Option("--aws", help="Read the deployed stack (your credentials).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Print the `sam deploy` command that onboards one workload account (no Organizations)."""
    from sagewatch.onboard import allowed_by_bus_policy, onboarding

    if account is not None and not (account.isdigit() and len(account) == 12):
        raise _fail(f"--account {account!r} is not a 12-digit account id")
    try:
        if aws:
            import boto3

            from sagewatch.redrive import stack_outputs

            outputs = stack_outputs(stack, region)
            events = boto3.session.Session(region_name=region).client("events")
            policy = events.describe_event_bus(Name=outputs["EventBusName"]).get("Policy")
            home = outputs["EventBusArn"].split(":")[3]
        else:
            with embedded.EmbeddedAws() as local:
                outputs = local.outputs()
                policy = (
                    local.client("events").describe_event_bus(Name=local.bus_name).get("Policy")
                )
                home = embedded.REGION
        plan = onboarding(
            outputs,
            workload_region or home,
            labels={"Project": project, "Environment": environment},
            account=account,
            allowed_accounts=allowed_by_bus_policy(policy),
        )
    except Exception as error:  # credentials, a missing stack, access denied, not sagewatch
        raise _fail(f"{type(error).__name__}: {error}") from None
    if as_json:
        sys.stdout.write(json.dumps(plan.as_json()) + "\n")
        return
    out.print("Run with the workload account's credentials, from a sagewatch checkout:\n")
    out.print(Text(plan.command), soft_wrap=True)
    for note in plan.notes:
        out.print(Text(f"- {note}"))


@app.command()
def doctor(
    account: Annotated[
        str, typer.Option("--account", help="The workload account whose wiring to check.")
    ] = "444455556666",
    stack: Annotated[
        str, typer.Option("--stack", help="The monitoring stack's name.")
    ] = "sagewatch",
    region: Annotated[str | None, typer.Option("--region", help="Its Region.")] = None,
    aws: Annotated[
        bool,
        typer.Option("--aws", help="Check real AWS: your credentials for the monitoring account."),
    ] = False,
    workload_profile: Annotated[
        str | None,
        typer.Option("--workload-profile", help="AWS profile of the workload account (--aws)."),
    ] = None,
    workload_region: Annotated[
        str | None, typer.Option("--workload-region", help="Its Region (default: --region).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Check one workload account's wiring to the monitoring account, end to end: what is wrong
    and how to fix it. Without --aws, on the embedded AWS with an embedded workload account."""
    from sagewatch.doctor import Doctor

    if not (account.isdigit() and len(account) == 12):
        raise _fail(f"--account {account!r} is not a 12-digit account id")
    try:
        if aws:
            import boto3

            from sagewatch.redrive import stack_outputs

            monitoring = boto3.session.Session(region_name=region)
            workload = boto3.session.Session(
                profile_name=workload_profile, region_name=workload_region or region
            )
            findings = Doctor(
                stack_outputs(stack, region),
                account,
                lambda service: monitoring.client(service),  # type: ignore[call-overload]
                lambda service: workload.client(service),  # type: ignore[call-overload]
            ).run()
        else:
            from sagewatch.workload import EmbeddedWorkload

            with embedded.EmbeddedAws({"WorkloadAccountIds": account}) as local:
                spoke = EmbeddedWorkload(local, account).deploy()
                try:
                    findings = Doctor(
                        local.outputs(), account, local.client, spoke.client, wait=lambda: None
                    ).run()
                finally:
                    spoke.close()
    except Exception as error:  # credentials, a missing stack, access denied
        raise _fail(f"{type(error).__name__}: {error}") from None
    if as_json:
        sys.stdout.write(json.dumps([f.as_json() for f in findings]) + "\n")
    else:
        table = Table(title=f"sagewatch doctor: account {account}")
        for column in ("check", "status", "what was found", "how to fix it"):
            table.add_column(column, overflow="fold")
        colors = {"ok": "green", "fail": "red", "warn": "yellow", "skip": "dim"}
        for f in findings:
            table.add_row(
                f.check, Text(f.status, style=colors[f.status]), _safe(f.detail), _safe(f.fix)
            )
        out.print(table)
    if any(f.status == "fail" for f in findings):
        raise typer.Exit(code=1)


def _print_letters(
    letters: list[dict[str, Any]], moved: dict[str, int], dry_run: bool, as_json: bool
) -> None:
    if as_json:
        sys.stdout.write(json.dumps({"dead_letters": letters, **moved, "dry_run": dry_run}) + "\n")
        return
    table = Table(title="Dead letters" + (" (dry run: nothing moved)" if dry_run else ""))
    for column in ("queue", "event id", "back to", "why it failed"):
        table.add_column(column, overflow="fold")
    for letter in letters:
        table.add_row(
            _safe(letter["queue"]),
            _safe(letter["event_id"] or ""),
            _safe(letter["destination"]),
            _safe(letter["reason"]),
        )
    out.print(table)
    out.print(f"moved {moved['moved']}, kept {moved['kept']}")


# ---- rendering -------------------------------------------------------------------------------


def _safe(text: Any, style: str = "") -> Text:
    """Untrusted text for the terminal: no escape sequences (egress), no Rich markup (Text)."""
    return Text(for_terminal(text), style=style)


def _get(value: Any, *path: str) -> Any:
    """A field of an event-derived document, None when any step is missing or not an object
    (a report on the bus may come from anyone: its shape is not trusted)."""
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _number(value: Any) -> float | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    return float(value) if ok else None


def _pct(value: Any) -> str:
    number = _number(value)
    return "" if number is None else f"{number:.0f}%"


# The job table's columns in display order, and the order a narrow terminal keeps them in: the
# job and what happened to it first; the rest only while they fit, whole.
_JOB_COLUMNS = (
    "account", "region", "type", "job", "status", "hardware", "ran", "verdict", "gpu", "cpu",
)  # fmt: skip
_KEPT_FIRST = (
    "job", "status", "verdict", "account", "hardware", "ran", "gpu", "cpu", "type", "region",
)  # fmt: skip
_NAME_MIN = 24  # a job name keeps this many characters (then "…") before columns are dropped
_CELL_MAX = 32  # any other cell holds this many at most (untrusted values can be long)
_VERDICT_STYLES = {"under-used": "yellow", "idle": "red", "ok": "green"}


def _job_cells(report: Any) -> dict[str, Text]:
    detail, job = _get(report, "detail"), _get(report, "detail", "job")
    groups = _get(job, "instance_groups")
    hardware = "\n".join(
        f"{_get(g, 'instance_type')} x{_get(g, 'count')}"
        for g in (groups if isinstance(groups, list) else [])
    )
    seconds = _number(_get(job, "duration_seconds"))
    minutes = None if seconds is None else round(seconds / 60)
    verdict = str(_get(detail, "verdict") or "")
    texts = {
        "account": _get(job, "account"),
        "region": _get(job, "region"),
        "type": _get(job, "kind"),
        "job": _get(job, "name"),
        "status": _get(job, "status"),
        "hardware": hardware,
        "ran": "" if minutes is None else f"{minutes // 60}h{minutes % 60:02d}m",
        "gpu": _pct(_get(detail, "utilization", "gpu_percent")),
        "cpu": _pct(_get(detail, "utilization", "cpu_percent")),
    }
    cells = {name: _safe("" if text is None else text) for name, text in texts.items()}
    return cells | {"verdict": _safe(verdict, _VERDICT_STYLES.get(verdict, "dim"))}


def _fit(rows: list[dict[str, Text]], width: int) -> tuple[list[str], int]:
    """The columns that fit in `width` without breaking a cell, and the room for job names."""
    natural = {
        name: max(_cell_width(text) for text in [Text(name), *(row[name] for row in rows)])
        for name in _JOB_COLUMNS
    }
    natural = {k: v if k == "job" else min(v, _CELL_MAX) for k, v in natural.items()}
    name_min = min(natural["job"], _NAME_MIN)
    used, kept = 1 + 3 + name_min, ["job"]  # a rule at the edge; each column: padding + a rule
    for name in _KEPT_FIRST[1:]:
        if used + 3 + natural[name] <= width:
            kept.append(name)
            used += 3 + natural[name]
    return [n for n in _JOB_COLUMNS if n in kept], name_min + max(width - used, 0)


def _cell_width(text: Text) -> int:
    return max(cell_len(line) for line in text.plain.split("\n"))


def _print_report(result: dict[str, Any]) -> None:
    rows = [_job_cells(r) for r in result["reports"]]
    rows.sort(key=lambda row: (row["account"].plain, row["job"].plain))
    shown, name_width = _fit(rows, out.width)
    jobs = Table(title="Finished jobs across accounts", title_justify="left")
    for name in shown:
        limit = name_width if name == "job" else _CELL_MAX
        justify: Literal["left", "right"] = "right" if name in ("gpu", "cpu") else "left"
        jobs.add_column(name, justify=justify, no_wrap=True, overflow="ellipsis", max_width=limit)
    for row in rows:
        jobs.add_row(*(row[name] for name in shown))
    out.print(jobs)
    if hidden := [name for name in _JOB_COLUMNS if name not in shown]:
        note = f"hidden at {out.width} columns: {', '.join(hidden)}"
        out.print(Text(note, style="dim"))
    out.print()
    out.print(
        Text.assemble((f"{len(result['alerts'])} alerts", "bold"), ", as on-call receives them:")
    )
    for alert in result["alerts"]:
        _print_alert(alert)
    kinds = Counter(str(_get(a, "attributes", "kind")) for a in result["alerts"])
    counts = Table(title="Counts", show_header=False, title_justify="left")
    for label, value in (
        ("events replayed", str(result["events"])),
        ("events archived", str(result["archived"])),
        ("invocations", ", ".join(f"{k} {v}" for k, v in sorted(result["invocations"].items()))),
        ("utilization reports", str(len(result["reports"]))),
        ("alerts", ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())) or "0"),
        ("dead letters", str(len(result["dead_letters"]))),
        ("EMF metric values", str(len(result["metrics"]))),
        ("AWS calls", ", ".join(f"{k} {v}" for k, v in result["calls"].items())),
    ):
        counts.add_row(label, _safe(value))
    out.print(counts)
    for letter in result["dead_letters"]:
        line = f"dead letter {_get(letter, 'event_id')}: {_get(letter, 'reason')}"
        out.print(_safe(line, "red"))


def _print_alert(alert: dict[str, Any]) -> None:
    """The email as a panel; its links below it, each whole on a line of its own: a URL that
    a panel (or the width) wrapped could not be clicked or copied."""
    color = {"high": "red", "medium": "yellow"}.get(str(_get(alert, "attributes", "severity")))
    given = _get(alert, "json", "links")
    links = {str(k): for_terminal(v) for k, v in (given.items() if isinstance(given, dict) else ())}
    body = for_terminal(_get(alert, "email", "body") or "").split("\n")
    text = Text("\n".join(line for line in body if line.partition(": ")[2] not in links.values()))
    subject = _safe(_get(alert, "subject") or "")
    if cell_len(subject.plain) + 6 > out.width:  # a title the border would cut: a first line
        text, subject = Text.assemble((subject.plain, "bold"), "\n\n", text), Text()
    text.rstrip()
    out.print(Panel(text, title=subject or None, title_align="left", border_style=color or "cyan"))
    for label, url in links.items():
        link = Text(url, style=Style(link=url))  # a terminal that knows links opens it
        if cell_len(f"{label}: {url}") <= out.width:
            out.print(Text(f"{label.capitalize()}: "), link, sep="")
        else:
            out.print(Text(f"{label.capitalize()}:"))
            out.print(link, soft_wrap=True)  # longer than the line: left whole, not cut


def main() -> None:
    app()


if __name__ == "__main__":
    main()
