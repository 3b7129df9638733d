"""`sagewatch`: run the monitoring pipeline on an embedded AWS (moto), no account, no Docker."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.progress import Progress
from rich.table import Table
from rich.text import Text

from sagewatch import embedded
from sagewatch.template import EVENTS
from shared.egress import for_terminal

DEMO_METRICS = Path(__file__).resolve().parent / "data" / "demo-metrics.json"

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Cross-account SageMaker monitoring, run on an embedded AWS (moto): no account needed.",
)
# Piped output (CI logs, files) gets a wide fixed width so the job table stays readable.
out = Console(width=None if sys.stdout.isatty() else 150)
err = Console(stderr=True)


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code=2)


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text())
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
    try:
        if quiet or len(events) * duplicates < 200:
            return embedded.replay(events, metrics, duplicates=duplicates, faults=faults)
        with Progress(console=err, transient=True) as progress:
            task = progress.add_task("replaying", total=len(events))
            return embedded.replay(
                events, metrics, duplicates=duplicates, faults=faults,
                progress=lambda n: progress.update(task, completed=n),
            )  # fmt: skip
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
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object, nothing else.")
    ] = False,
) -> None:
    """Deliver events to the monitoring bus as if forwarded and run every function they trigger."""
    seeded = _read_json(metrics, "metrics file") if metrics else None
    result = _run(_events(paths), seeded, quiet=as_json)
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
    result = embedded.replay(events, _read_json(DEMO_METRICS, "demo metrics"))
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
        f"wrote {escape(str(preview))}: {widgets} widgets drawn with the demo's data",
        highlight=False,
        soft_wrap=True,
    )


@app.command()
def invoke(
    function: Annotated[str, typer.Argument(help="enricher or alerter")],
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
) -> None:
    """Run one function's handler on one event and print its result and side effects."""
    if function not in embedded.FUNCTIONS:
        raise _fail(f"unknown function {function!r}: choose {' or '.join(embedded.FUNCTIONS)}")
    payload = _read_json(event, "event file")
    if function == "enricher" and not (isinstance(payload, dict) and "Records" in payload):
        payload = {"Records": [{"messageId": "invoke-1", "body": json.dumps(payload)}]}
    if aws:
        result = embedded.invoke_real(function, payload)
        out.print_json(data=result, default=str)
        return
    with embedded.EmbeddedAws() as local:
        if metrics:
            local.seed_metrics(_read_json(metrics, "metrics file"))
        try:
            result = local.invoke(function, payload)
        except Exception as error:  # show what the function raised, as Lambda would
            result = {"errorType": type(error).__name__, "errorMessage": str(error)}
        summary = local.summary()
    out.print(Panel.fit(json.dumps(result, indent=2, default=str), title=f"{function} returned"))
    effects = {
        "alerts published": [a["subject"] for a in summary["alerts"]],
        "reports put on the bus": [
            r["detail"]["job"]["name"] + ": " + r["detail"]["verdict"] for r in summary["reports"]
        ],
        "EMF metrics": len(summary["metrics"]),
        "AWS calls": summary["calls"],
    }
    out.print_json(data=effects)


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
            letter["queue"],
            _safe(letter["event_id"] or ""),
            letter["destination"],
            _safe(letter["reason"]),
        )
    out.print(table)
    out.print(f"moved {moved['moved']}, kept {moved['kept']}")


# ---- rendering -------------------------------------------------------------------------------


def _safe(text: Any) -> Text:
    """Untrusted text for the terminal: no escape sequences (egress), no Rich markup (Text)."""
    return Text(for_terminal(text))


def _pct(value: Any) -> str:
    return "" if value is None else f"{value:.0f}%"


def _print_report(result: dict[str, Any]) -> None:
    jobs = Table(title="Finished jobs across accounts", title_justify="left")
    for column in (
        "account",
        "region",
        "type",
        "job",
        "status",
        "hardware",
        "ran",
        "verdict",
        "gpu",
        "cpu",
    ):
        jobs.add_column(column, overflow="fold")
    for report in sorted(
        result["reports"], key=lambda r: (r["detail"]["job"]["account"], r["detail"]["job"]["name"])
    ):
        detail, job = report["detail"], report["detail"]["job"]
        hardware = " + ".join(
            f"{g['instance_type']} x{g['count']}" for g in job.get("instance_groups") or []
        )
        minutes = round((job.get("duration_seconds") or 0) / 60)
        verdict = detail["verdict"]
        style = {"under-used": "yellow", "idle": "red", "ok": "green"}.get(verdict, "dim")
        jobs.add_row(
            job["account"],
            job["region"],
            job["kind"],
            _safe(job["name"]),
            _safe(job["status"]),
            hardware,
            f"{minutes // 60}h{minutes % 60:02d}m",
            Text(verdict, style=style),
            _pct(detail["utilization"].get("gpu_percent")),
            _pct(detail["utilization"].get("cpu_percent")),
        )
    out.print(jobs)
    out.print()
    out.print(f"[bold]{len(result['alerts'])} alerts[/bold], as on-call receives them:")
    for alert in result["alerts"]:
        severity = alert["attributes"].get("severity")
        color = {"high": "red", "medium": "yellow"}.get(severity or "", "cyan")
        out.print(
            Panel(
                _safe(alert["email"]["body"]),
                title=_safe(alert["subject"]),
                title_align="left",
                border_style=color,
            )
        )
    kinds = Counter(a["attributes"].get("kind") for a in result["alerts"])
    counts = Table(title="Counts", show_header=False, title_justify="left")
    counts.add_row("events replayed", str(result["events"]))
    counts.add_row("events archived", str(result["archived"]))
    counts.add_row(
        "invocations", ", ".join(f"{k} {v}" for k, v in sorted(result["invocations"].items()))
    )
    counts.add_row("utilization reports", str(len(result["reports"])))
    counts.add_row("alerts", ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())) or "0")
    counts.add_row("dead letters", str(len(result["dead_letters"])))
    counts.add_row("EMF metric values", str(len(result["metrics"])))
    counts.add_row("AWS calls", ", ".join(f"{k} {v}" for k, v in result["calls"].items()))
    out.print(counts)
    for letter in result["dead_letters"]:
        out.print(
            Text(f"dead letter {letter.get('event_id')}: {letter.get('reason')}", style="red")
        )


def main() -> None:
    app()


if __name__ == "__main__":
    main()
