"""Write the templates' generated parts from the code's declarations (`make generate`).

- Each bus rule's pattern in template.yaml, from the routes registered for it: the `EventPattern`
  of a rule resource (EnrichRule), or the `Pattern` of the function event SAM turns into the rule
  the routes name (AlerterFunctionFailures is AlerterFunction's event Failures).
- The dashboard's body, from inline/dashboard.yaml (its reviewable source).
- The failed-jobs saved query's filter, from the status vocabulary.
- The workload collector's code in workload-template.yaml, from inline/collector.py (a module
  under ruff, mypy and tests) less its docstrings, and its "stopped by SageMaker" statuses from
  the vocabulary.
- docs/events.md's tables: what each SageMaker detail-type gets today, from the routes
  (`sagewatch.events_doc`).

The committed templates stay the ones users deploy (and that document the one they read);
`--check` (and a test) fails when they differ from what this writes. Everything else in the
templates is written by hand.
"""

from __future__ import annotations

import ast
import io
import json
import re
import sys
import tokenize
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml

from sagewatch import events_doc
from sagewatch.spoke import COLLECTOR
from sagewatch.template import ROOT, TEMPLATE, WORKLOAD_TEMPLATE, function_events, parse
from shared.alerting.service import alertable
from shared.domain.vocabulary import FAMILIES, JOBS, TRAINING, Outcome
from shared.enrichment.service import enrichable
from shared.fleet.service import fleet_events
from shared.platform.router import Route, Router

ROUTERS: tuple[Router[Any, Any], ...] = (enrichable, alertable, fleet_events)
DASHBOARD = ROOT / "inline" / "dashboard.yaml"
_PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._/-]*")


def rule_patterns(routers: Iterable[Router[Any, Any]] = ROUTERS) -> dict[str, dict[str, Any]]:
    """Each rule's EventPattern: its routes' detail-types and detail alternatives, merged."""
    by_rule: dict[str, list[Route[Any, Any]]] = {}
    for router in routers:
        for route in router.routes:
            by_rule.setdefault(route.rule, []).append(route)
    return {rule: _pattern(rule, routes) for rule, routes in sorted(by_rule.items())}


def _pattern(rule: str, routes: list[Route[Any, Any]]) -> dict[str, Any]:
    order = {family.detail_type: index for index, family in enumerate(FAMILIES)}
    routes = sorted(routes, key=lambda r: order.get(r.detail_type, len(order)))
    sources = {route.source for route in routes}
    own = {route.match.own_account for route in routes}
    if len(sources) != 1 or len(own) != 1:
        raise ValueError(f"{rule}: its routes must share one source and account scope")
    pattern: dict[str, Any] = {"source": sorted(sources)}
    if own == {True}:
        pattern["account"] = [{"Ref": "AWS::AccountId"}]
    pattern["detail-type"] = [route.detail_type for route in routes]
    clauses: list[dict[str, Any]] = []
    for route in routes:  # a match shared by several detail-types gives its clauses once
        clauses += [c.pattern() for c in route.match.clauses if c.pattern() not in clauses]
    if any(not route.match.clauses for route in routes) and clauses:
        raise ValueError(f"{rule}: a route without detail clauses shares it with routes with")
    if len(clauses) == 1:
        pattern["detail"] = clauses[0]
    elif clauses:
        pattern["detail"] = {"$or": clauses}
    return pattern


# ---- YAML text, in the template's own style ------------------------------------------------------
def _scalar(value: Any) -> str:
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return f"!Ref {value['Ref']}"
    if isinstance(value, dict):
        inner = ", ".join(f"{key}: {_scalar(v)}" for key, v in value.items())
        return f"{{ {inner} }}"
    if isinstance(value, list):
        return _flow(value)
    if isinstance(value, bool):  # YAML's own spelling (str() gives "True")
        return "true" if value else "false"
    text = str(value)
    return text if _PLAIN.fullmatch(text) and text.strip() == text else json.dumps(text)


def _flow(values: list[Any]) -> str:
    return "[" + ", ".join(_scalar(v) for v in values) + "]"


def _yaml(value: dict[str, Any], indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    for key, item in value.items():
        if isinstance(item, dict):
            lines += [f"{pad}{key}:", *_yaml(item, indent + 2)]
        elif isinstance(item, list) and item and isinstance(item[0], dict) and key == "$or":
            lines.append(f"{pad}{key}:")
            for clause in item:
                first, *rest = _yaml(clause, indent + 4)
                lines += [f"{pad}  - {first.lstrip()}", *rest]
        elif len(item) > 1 and key == "detail-type":
            lines += [f"{pad}{key}:", *(f"{pad}  - {_scalar(v)}" for v in item)]
        else:
            lines.append(f"{pad}{key}: {_flow(item)}")
    return lines


def _replace_block(text: str, path: Sequence[str], body: list[str]) -> str:
    """Replace the lines under the key at `path` (a resource, then the keys down to it, each
    looked for inside its parent's block) with `body`."""
    lines = text.split("\n")
    at = lines.index(f"  {path[0]}:")
    for key in path[1:]:
        depth = _indent(lines[at])
        at = next(
            i
            for i in range(at + 1, _block_end(lines, at, depth))
            if _indent(lines[i]) > depth and lines[i].strip().startswith(f"{key}:")
        )
    end = _block_end(lines, at, _indent(lines[at]))
    while not lines[end - 1].strip():  # keep the blank lines between resources
        end -= 1
    return "\n".join([*lines[: at + 1], *body, *lines[end:]])


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _block_end(lines: list[str], at: int, depth: int) -> int:
    """The index after the block that starts at `at` (blank lines and deeper lines)."""
    end = at + 1
    while end < len(lines) and (not lines[end].strip() or _indent(lines[end]) > depth):
        end += 1
    return end


def pattern_path(rule: str, template: dict[str, Any]) -> tuple[str, ...]:
    """Where a rule's pattern is written: the EventPattern of a rule resource, or the Pattern
    of the function event SAM writes the rule for (logical id <function><event>)."""
    resource = template["Resources"].get(rule, {})
    if resource.get("Type") == "AWS::Events::Rule":
        return (rule, "Properties", "EventPattern")
    events = function_events(template)
    if rule not in events:
        raise ValueError(f"{rule}: no rule or function event of template.yaml is deployed as it")
    function, event = events[rule]
    return (function, "Properties", "Events", event, "Properties", "Pattern")


# ---- the generated parts ------------------------------------------------------------------------
def failed_jobs_filter() -> str:
    """Logs Insights: a job failed, or SageMaker stopped it (out of time), as the alerter says."""
    failed = [
        f"detail.{family.status_key} = '{status}'"
        for family in JOBS
        for status in family.statuses(Outcome.FAILED)
    ]
    stopped = ", ".join(f"'{s}'" for s in TRAINING.stopped_by_sagemaker)
    (stop,) = TRAINING.statuses(Outcome.STOPPED)
    failed.append(
        f"(detail.{TRAINING.status_key} = '{stop}' and detail.SecondaryStatus in [{stopped}])"
    )
    return "| filter " + " or ".join(failed)


def dashboard_body(source: Path = DASHBOARD) -> list[str]:
    """The dashboard as CloudWatch takes it (JSON), one widget per line: diffs stay readable."""
    body = yaml.safe_load(source.read_text())
    widgets = [json.dumps(widget, ensure_ascii=False) for widget in body.pop("widgets")]
    head = ", ".join(f"{json.dumps(key)}: {json.dumps(value)}" for key, value in body.items())
    return [
        "{" + head + ', "widgets": [',
        *(f"  {widget}," for widget in widgets[:-1]),
        f"  {widgets[-1]}",
        "]}",
    ]


def monitoring_template(text: str) -> str:
    template = parse(text)
    for rule, pattern in rule_patterns().items():
        path = pattern_path(rule, template)
        indent = 2 + 2 * len(path)  # the pattern's keys, one level under its own
        body = [f"{' ' * indent}# `make generate`: {rule}'s routes in src/shared"]
        text = _replace_block(text, path, body + _yaml(pattern, indent))
    text = _replace_block(
        text,
        ("Dashboard", "Properties", "DashboardBody"),
        [f"        {line}" for line in dashboard_body()],
    )
    return re.sub(
        r"(?m)^(        )\| filter detail\.TrainingJobStatus = .*$",
        lambda m: m.group(1) + failed_jobs_filter(),
        text,
    )


def collector(text: str) -> str:
    stopped = ", ".join(json.dumps(s) for s in TRAINING.stopped_by_sagemaker)
    return re.sub(
        r"(?m)^(\s+stopped_by_sagemaker = )\(.*\)(  # generated.*)$",
        lambda m: f"{m.group(1)}({stopped}){m.group(2)}",
        text,
    )


def compact(code: str) -> str:
    """The code less its docstrings and comments, indented a space a level: the workload
    template must stay under the 51,200 bytes `--template-body` takes, and inline/collector.py,
    its source, keeps them for its readers."""
    return narrower(without_docstrings(without_comments(code)))


def narrower(code: str) -> str:
    """Each indentation level one space instead of four (a line inside a string as it is)."""
    inside: set[int] = set()
    for token in tokenize.generate_tokens(io.StringIO(code).readline):
        if token.type == tokenize.STRING and token.end[0] > token.start[0]:
            inside.update(range(token.start[0] + 1, token.end[0] + 1))  # 1-based rows
    lines = code.split("\n")
    for row, line in enumerate(lines, 1):
        if row not in inside and line.strip():
            spaces = len(line) - len(line.lstrip(" "))
            lines[row - 1] = " " * (spaces // 4 + spaces % 4) + line[spaces:]
    narrow = "\n".join(lines)
    compile(narrow, "collector", "exec")  # still the same program
    return narrow


def without_comments(code: str) -> str:
    """The code less its comments (a line that held only a comment goes too)."""
    lines = code.split("\n")
    for token in tokenize.generate_tokens(io.StringIO(code).readline):
        if token.type == tokenize.COMMENT:
            row, column = token.start
            lines[row - 1] = lines[row - 1][:column].rstrip() or "\0"  # \0: the line goes
    kept = "\n".join(line for line in lines if line != "\0")
    compile(kept, "collector", "exec")  # still the same program
    return kept


def without_docstrings(code: str) -> str:
    """The code less its docstrings (whole lines in this code's style)."""
    lines = code.split("\n")
    drop: set[int] = set()
    for node in ast.walk(ast.parse(code)):
        body = getattr(node, "body", None)
        if not isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef) or not body:
            continue
        first = body[0]
        docstring = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
        if docstring and isinstance(first.value.value, str) and len(body) > 1:  # never empty
            drop.update(range(first.lineno - 1, (first.end_lineno or first.lineno)))
    kept = "\n".join(line for number, line in enumerate(lines) if number not in drop)
    compile(kept, "collector", "exec")  # still the same program
    return kept.lstrip("\n")


def workload_template(text: str) -> str:
    code = compact(collector(COLLECTOR.read_text())).rstrip("\n").split("\n")
    body = [f"          {line}" if line else "" for line in code]
    return _replace_block(
        text, ("InventoryCollectorFunction", "Properties", "Code", "ZipFile"), body
    )


def events_table(text: str) -> str:
    return events_doc.write(text, ROUTERS)


GENERATED = {
    COLLECTOR: collector,
    TEMPLATE: monitoring_template,
    WORKLOAD_TEMPLATE: workload_template,
    events_doc.DOC: events_table,
}


def stale(files: dict[Path, Any] = GENERATED) -> list[Path]:
    """The templates whose generated parts differ from what `generate` writes."""
    return [path for path, write in files.items() if write(path.read_text()) != path.read_text()]


def main(argv: list[str]) -> int:
    if "--check" in argv:
        outdated = stale()
        for path in outdated:
            print(f"{path.name} is out of date: run `make generate` and commit it")
        return 1 if outdated else 0
    for path, write in GENERATED.items():
        path.write_text(write(path.read_text()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
