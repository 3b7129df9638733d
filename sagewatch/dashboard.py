"""A preview of template.yaml's CloudWatch dashboard, drawn with the embedded demo's data.

The DashboardBody is read from the template, its Fn::Sub variables replaced with the embedded
stack's names and the parameter defaults, and every widget drawn where the dashboard's 24-column
grid puts it, as one standalone SVG (also wrapped in an HTML page):

* text widgets: their markdown (headings, **bold**, `code`);
* log widgets: their Logs Insights query run (sagewatch.insights) over the demo's archive;
* metric widgets: SEARCH expressions (optionally inside SUM/AVG/MIN/MAX, optionally `/ n`),
  Metrics Insights queries (SELECT … FROM SCHEMA(…) [WHERE] [GROUP BY] [ORDER BY] [LIMIT]) and
  plain metric arrays evaluated over the demo's EMF metrics. The demo's timestamps mean nothing,
  so each series is one bar: its total (Sum) or mean (Average) over the demo. AWS/* and
  aws/sagemaker/* namespaces have no data in the embedded run: the widget says so;
* the alarm widget: the template's alarms, each "OK (embedded)".
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from sagewatch import embedded, insights
from sagewatch import template as cfn

# ---- the dashboard body with the embedded stack's names -----------------------------------------

_QUEUES = {  # logical id -> the embedded stack's queue name
    "EnrichmentQueue": "enrichment",
    "EnrichmentDeadLetterQueue": "enrichment-dlq",
    "SummaryQueue": "summary",
    "SummaryDeadLetterQueue": "summary-dlq",
    "TargetDeadLetterQueue": "target-dlq",
    "RunningJobsQueue": "running-jobs",
    "RunningJobsDeadLetterQueue": "running-jobs-dlq",
}


def stack_names(template: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Every Fn::Sub variable the dashboard and saved queries may use, as the embedded stack
    names it: pseudo parameters, parameter defaults, function, topic, queue and alarm names."""
    document = template or cfn.load()
    stack, region, account = embedded.DASHBOARD, embedded.REGION, embedded.ACCOUNT
    names = {
        "AWS::Region": region,
        "AWS::AccountId": account,
        "AWS::StackName": stack,
        "AWS::Partition": "aws",
        "ArchiveLogGroup": embedded.ARCHIVE_LOG_GROUP,
        "Dashboard": embedded.DASHBOARD,
        **cfn.parameter_defaults(dict(document)),
    }
    for function, logical_id in embedded.FUNCTIONS.items():
        names[logical_id] = f"{stack}-{function}"
    for channel in embedded.CHANNELS:
        topic = f"sagewatch-{channel}"
        names[f"{channel.capitalize()}Topic.TopicName"] = topic
        names[f"{channel.capitalize()}Topic"] = f"arn:aws:sns:{region}:{account}:{topic}"
    for logical_id, queue in _QUEUES.items():
        names[f"{logical_id}.QueueName"] = queue
        names[f"{logical_id}.Arn"] = f"arn:aws:sqs:{region}:{account}:{queue}"
    for logical_id in alarm_ids(document):
        names[f"{logical_id}.Arn"] = alarm_arn(logical_id)
    return names


def alarm_ids(template: Mapping[str, Any] | None = None) -> list[str]:
    resources = (template or cfn.load())["Resources"]
    return [k for k, v in resources.items() if v["Type"] == "AWS::CloudWatch::Alarm"]


def alarm_arn(logical_id: str) -> str:
    """CloudFormation names an alarm without AlarmName `<stack>-<logical id>-<suffix>`; the
    embedded stack has no suffix."""
    name = f"{embedded.DASHBOARD}-{logical_id}"
    return f"arn:aws:cloudwatch:{embedded.REGION}:{embedded.ACCOUNT}:alarm:{name}"


def dashboard_body(template: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The template's DashboardBody, substituted for the embedded stack and parsed."""
    document = template or cfn.load()
    dashboards = [
        r for r in document["Resources"].values() if r["Type"] == "AWS::CloudWatch::Dashboard"
    ]
    if len(dashboards) != 1:
        raise ValueError(f"expected one AWS::CloudWatch::Dashboard, found {len(dashboards)}")
    text = cfn.substitute(
        dashboards[0]["Properties"]["DashboardBody"], stack_names(document), document
    )
    body: dict[str, Any] = json.loads(text)
    return body


def saved_queries(template: Mapping[str, Any] | None = None) -> dict[str, str]:
    """The template's AWS::Logs::QueryDefinition query strings by logical id, substituted."""
    document = template or cfn.load()
    names = stack_names(document)
    return {
        logical_id: cfn.substitute(resource["Properties"]["QueryString"], names, document)
        for logical_id, resource in document["Resources"].items()
        if resource["Type"] == "AWS::Logs::QueryDefinition"
    }


# ---- the demo's data ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoData:
    archived: list[dict[str, Any]]  # every event as the archive log group stores it
    metrics: list[dict[str, Any]]  # EMF values as CloudWatch extracts them


def demo_data(events: Iterable[Any], metrics: Mapping[str, Any]) -> DemoData:
    """One quiet embedded run, as `sagewatch demo` does it: seed the host metrics, deliver the
    events, run every function, keep the archive and the EMF metrics."""
    with embedded.EmbeddedAws() as aws:
        aws.seed_metrics(metrics)
        for event in events:
            aws.deliver(event)
        aws.run()
        return DemoData(aws.archived(), list(aws.observed.metrics))


# ---- metrics: SEARCH expressions over the EMF values --------------------------------------------

_SEARCH = r"SEARCH\(\s*'(?P<search>[^']*)'\s*,\s*'(?P<stat>[^']+)'\s*(?:,\s*(?P<period>\d+)\s*)?\)"
_EXPRESSION = re.compile(
    rf"^\s*(?:(?P<function>SUM|AVG|MIN|MAX)\(\s*{_SEARCH}\s*\)|{_SEARCH.replace('?P<', '?P<p_')})"
    r"\s*(?:(?P<op>[*/])\s*(?P<number>\d+(?:\.\d+)?))?\s*$"
)
_SCHEMA = re.compile(r"^\s*\{(?P<schema>[^}]*)\}(?P<terms>.*)$")
# Key="value" is an exact match; MetricName=token (unquoted) CloudWatch's partial match
_TERM = re.compile(r'(?P<key>\w+)=(?:"(?P<value>[^"]*)"|(?P<partial>[\w.-]+))')
# Metrics Insights: a top-N over every series (SEARCH returns at most 500, in no set order).
_SELECT = re.compile(
    r"^\s*SELECT\s+(?P<function>AVG|COUNT|MAX|MIN|SUM)\((?P<metric>\w+)\)"
    r"\s+FROM\s+SCHEMA\((?P<schema>[^)]*)\)"
    r"(?:\s+WHERE\s+(?P<where>.+?))?"
    r"(?:\s+GROUP\s+BY\s+(?P<group>[\w.]+(?:\s*,\s*[\w.]+)*))?"
    r"(?:\s+ORDER\s+BY\s+(?P<order>AVG|COUNT|MAX|MIN|SUM)\(\)\s+(?P<direction>ASC|DESC))?"
    r"(?:\s+LIMIT\s+(?P<limit>\d+))?\s*$"
)
_WHERE_TERM = re.compile(r"^\s*(?P<key>[\w.]+)\s*=\s*'(?P<value>[^']*)'\s*$")
_SELECT_STATS = {"AVG": "Average", "COUNT": "SampleCount", "MAX": "Maximum", "MIN": "Minimum",
                 "SUM": "Sum"}  # fmt: skip
ACCOUNT_LABEL = "AWS.AccountId"  # Metrics Insights' label for the account a series belongs to


@dataclass(frozen=True)
class MetricQuery:
    """One metric, or one SEARCH, of a metric widget."""

    namespace: str
    metric_name: str
    dimension_names: frozenset[str]  # exactly these dimensions (the SEARCH schema)
    filters: tuple[tuple[str, str], ...]  # dimension values required
    stat: str
    label: str
    search: bool  # a SEARCH: one series per metric found (else one given metric)
    function: str | None = None  # SUM, AVG, MIN, MAX over the series found
    scale: tuple[str, float] | None = None  # ("/", 60)
    group_by: tuple[str, ...] | None = None  # Metrics Insights: one series per group
    top: tuple[bool, int] | None = None  # Metrics Insights: (descending, how many)

    @property
    def has_embedded_data(self) -> bool:
        """AWS's own namespaces (AWS/*, aws/sagemaker/*) exist only in a real account."""
        return not self.namespace.lower().startswith("aws/")


def metric_queries(widget: Mapping[str, Any]) -> list[MetricQuery]:
    """The metric widget's entries, parsed; ValueError names an entry this preview cannot read."""
    properties = widget["properties"]
    out = []
    for entry in properties.get("metrics", []):
        options = entry[-1] if entry and isinstance(entry[-1], dict) else {}
        stat = str(options.get("stat", properties.get("stat", "Average")))
        if "expression" in options and len(entry) == 1:
            out.append(_expression(str(options["expression"]), str(options.get("label", ""))))
        elif entry and all(isinstance(item, str) for item in entry[: len(entry) - bool(options)]):
            out.append(_plain(entry[: len(entry) - bool(options)], options, stat))
        else:
            raise ValueError(f"unsupported metric entry {entry!r}")
    return out


def _plain(parts: Sequence[str], options: Mapping[str, Any], stat: str) -> MetricQuery:
    if len(parts) < 2 or len(parts) % 2 or "." in parts:
        raise ValueError(f"unsupported metric array {list(parts)!r} (no '.' shorthand here)")
    namespace, name, *pairs = parts
    filters = tuple(zip(pairs[::2], pairs[1::2], strict=True))
    label = str(options.get("label") or name)
    return MetricQuery(
        namespace, name, frozenset(k for k, _ in filters), filters, stat, label, search=False
    )


def _expression(expression: str, label: str) -> MetricQuery:
    if expression.lstrip().upper().startswith("SELECT"):
        return _select(expression, label)
    match = _EXPRESSION.match(expression)
    if not match:
        raise ValueError(f"unsupported metric expression {expression!r}")
    parts = {k.removeprefix("p_"): v for k, v in match.groupdict().items() if v is not None}
    schema = _SCHEMA.match(parts["search"])
    if not schema:
        raise ValueError(f"SEARCH without a {{Namespace,Dimension,...}} schema: {expression!r}")
    namespace, *dimensions = (d.strip().strip('"') for d in schema["schema"].split(","))
    terms = schema["terms"].strip()
    found = {m["key"]: m["value"] for m in _TERM.finditer(terms) if m["value"] is not None}
    partial = {m["key"]: m["partial"] for m in _TERM.finditer(terms) if m["partial"]}
    if (
        _TERM.sub("", terms).strip()
        or "MetricName" not in found | partial
        or set(partial) - {"MetricName"}
    ):
        raise ValueError(f'unsupported SEARCH terms {terms!r}: Key="value" terms and a MetricName')
    name = found.pop("MetricName", None) or partial["MetricName"]
    scale = (parts["op"], float(parts["number"])) if "op" in parts else None
    return MetricQuery(
        namespace, name, frozenset(dimensions), tuple(sorted(found.items())), parts["stat"],
        label, search=True, function=parts.get("function"), scale=scale,
    )  # fmt: skip


def _select(expression: str, label: str) -> MetricQuery:
    match = _SELECT.match(expression)
    if not match:
        raise ValueError(f"unsupported Metrics Insights query {expression!r}")
    namespace, *dimensions = (d.strip().strip('"') for d in match["schema"].split(","))
    filters = []
    for term in re.split(r"\s+AND\s+", match["where"] or "") if match["where"] else []:
        found = _WHERE_TERM.match(term)
        if not found:
            raise ValueError(f"unsupported WHERE term {term!r}: Key = 'value' terms joined by AND")
        filters.append((found["key"], found["value"]))
    if match["order"] and match["order"] != match["function"]:
        raise ValueError(f"ORDER BY {match['order']}() sorts by another function: {expression!r}")
    group = tuple(g.strip() for g in match["group"].split(",")) if match["group"] else ()
    limit = int(match["limit"]) if match["limit"] else 500  # Metrics Insights returns ≤ 500
    return MetricQuery(
        namespace, match["metric"], frozenset(dimensions), tuple(sorted(filters)),
        _SELECT_STATS[match["function"]], label, search=True, group_by=group,
        top=(match["direction"] != "ASC", limit),
    )  # fmt: skip


@dataclass(frozen=True)
class Series:
    label: str
    value: float | None  # None: nothing matched (CloudWatch draws no line)


def evaluate(query: MetricQuery, metrics: Iterable[Mapping[str, Any]]) -> list[Series]:
    """The query over EMF values: one value per series (the stat over all of its datapoints),
    combined by the expression's function and scaled by its arithmetic."""
    by_series: dict[tuple[tuple[str, str], ...], list[float]] = {}
    for metric in metrics:
        dimensions = {k: str(v) for k, v in (metric.get("dimensions") or {}).items()}
        labels = dimensions | {ACCOUNT_LABEL: str(metric.get("account", ""))}
        if (
            metric.get("namespace") == query.namespace
            and metric.get("name") == query.metric_name
            and set(dimensions) == query.dimension_names
            and all(labels.get(k) == v for k, v in query.filters)
            and isinstance(metric.get("value"), int | float)
        ):
            grouped = query.group_by is not None
            key = tuple((k, labels.get(k, "Other")) for k in query.group_by or ())
            key = key if grouped else tuple(sorted(dimensions.items()))
            by_series.setdefault(key, []).append(float(metric["value"]))
    values = {key: _stat(query.stat, points) for key, points in sorted(by_series.items())}
    if query.top:
        descending, limit = query.top
        ranked = sorted(values.items(), key=lambda item: item[1], reverse=descending)
        values = dict(ranked[:limit])
    if query.function:
        combined = _combine(query.function, list(values.values()))
        return [Series(query.label or query.metric_name, _scaled(combined, query.scale))]
    if not values and not query.search:
        return [Series(query.label, None)]
    return [
        Series(query.label or " ".join(v for _, v in key), _scaled(value, query.scale))
        for key, value in values.items()
    ]


def _stat(stat: str, points: list[float]) -> float:
    if stat == "Sum":
        return sum(points)
    if stat == "Average":
        return sum(points) / len(points)
    if stat == "Maximum":
        return max(points)
    if stat == "Minimum":
        return min(points)
    if stat == "SampleCount":
        return float(len(points))
    if re.fullmatch(r"p\d+(\.\d+)?", stat):  # nearest rank
        ordered = sorted(points)
        rank = math.ceil(float(stat[1:]) / 100 * len(ordered))
        return ordered[max(rank, 1) - 1]
    raise ValueError(f"unsupported statistic {stat!r}")


def _combine(function: str, values: list[float]) -> float | None:
    if not values:
        return None
    if function == "SUM":
        return sum(values)
    if function == "AVG":
        return sum(values) / len(values)
    return max(values) if function == "MAX" else min(values)


def _scaled(value: float | None, scale: tuple[str, float] | None) -> float | None:
    if value is None or scale is None:
        return value
    op, number = scale
    return value / number if op == "/" else value * number


# ---- log widgets --------------------------------------------------------------------------------


def run_widget(widget: Mapping[str, Any], archived: Sequence[Mapping[str, Any]]) -> insights.Result:
    """A log widget's query over the archive (its SOURCE must be the archive log group)."""
    query = str(widget["properties"]["query"])
    return insights.run(query, archived, log_group=embedded.ARCHIVE_LOG_GROUP)


# ---- SVG ----------------------------------------------------------------------------------------

WIDTH = 1400
MARGIN = 12
BANNER = 58  # the preview's own header above the grid
ROW = 36  # pixels per grid row
GAP = 8
COLUMN = (WIDTH - 2 * MARGIN + GAP) / 24
TITLE = 30  # a widget's title band
SANS = "Helvetica, Arial, sans-serif"
MONO = "Menlo, Consolas, 'DejaVu Sans Mono', monospace"
INK, MUTED, LINE, PAGE, CODE = "#16191f", "#5f6b7a", "#d5dbdb", "#f2f3f3", "#8a3b12"
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    width: float
    height: float


def _attrs(attrs: Mapping[str, str]) -> str:
    """Keyword names as SVG attributes: font_weight -> font-weight, class_ -> class."""
    return "".join(
        f' {k.rstrip("_").replace("_", "-")}="{escape(v, {chr(34): "&quot;"})}"'
        for k, v in attrs.items()
    )


def _text(x: float, y: float, content: str, size: float = 12, **attrs: str) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size:g}"'
        f"{_attrs({'fill': INK} | attrs)}>{escape(content)}</text>"
    )


def _rect(box: Box, **attrs: str) -> str:
    return (
        f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{box.width:.1f}" '
        f'height="{box.height:.1f}"{_attrs(attrs)}/>'
    )


def _advance(size: float, mono: bool = False) -> float:
    """A generous average character width (no font metrics offline): text measured with it fits
    in Helvetica, Arial and the wider DejaVu Sans alike."""
    return size * (0.62 if mono else 0.57)


def _fit(text: str, width: float, size: float) -> str:
    """One line of `text` that fits `width`, cut with an ellipsis."""
    text = " ".join(text.split())
    keep = int(width / _advance(size))
    return text if len(text) <= keep else text[: max(keep - 1, 0)].rstrip() + "…"


def _number(value: float | None) -> str:
    if value is None:
        return "no data"
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.2f}".rstrip("0").rstrip(".")


def render_svg(body: Mapping[str, Any], data: DemoData) -> str:
    """The dashboard as one standalone SVG: same input, same bytes."""
    widgets = list(body["widgets"])
    height = BANNER + max(w["y"] + w["height"] for w in widgets) * ROW + MARGIN
    note = (
        "template.yaml's dashboard drawn with the embedded demo's data: log widgets run their "
        "Logs Insights queries over the demo's archive; metric widgets show each series' demo "
        "total or mean (the demo has no meaningful time axis)."
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="{SANS}">',
        _rect(Box(0, 0, WIDTH, height), fill=PAGE),
        _text(MARGIN, 26, "sagewatch dashboard preview", 18, font_weight="bold"),
        _text(MARGIN, 46, note, 11.5, fill=MUTED),
        *(_widget(index, widget, data) for index, widget in enumerate(widgets)),
        "</svg>",
    ]
    return "\n".join(parts) + "\n"


def render_html(svg: str) -> str:
    """A page around the same SVG."""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        "<title>sagewatch dashboard preview</title>\n"
        f"<style>body {{ margin: 0; background: {PAGE}; }} svg {{ display: block; }}</style>\n"
        f"</head>\n<body>\n{svg}</body>\n</html>\n"
    )


def _widget(index: int, widget: Mapping[str, Any], data: DemoData) -> str:
    frame = Box(
        MARGIN + widget["x"] * COLUMN,
        BANNER + widget["y"] * ROW,
        widget["width"] * COLUMN - GAP,
        widget["height"] * ROW - GAP,
    )
    properties, kind = widget.get("properties", {}), widget["type"]
    title = str(properties.get("title", ""))
    top = TITLE if title else 4
    inner = Box(frame.x + 12, frame.y + top, frame.width - 24, frame.height - top - 8)
    if kind == "text":
        content = _markdown(str(properties.get("markdown", "")), inner)
    elif kind == "log":
        content = _log(widget, data, inner)
    elif kind == "metric":
        content = _metric(widget, data, inner)
    elif kind == "alarm":
        content = _alarms([str(a) for a in properties.get("alarms", [])], inner)
    else:
        raise ValueError(f"unsupported widget type {kind!r}")
    heading = _text(
        frame.x + 12, frame.y + 20, _fit(title, inner.width, 14), 14, font_weight="bold"
    )
    return (
        f'<g class="widget"{_attrs({"data-type": kind, "data-title": title})}>'
        f'<clipPath id="clip{index}">{_rect(frame)}</clipPath>'
        + _rect(frame, rx="3", fill="#ffffff", stroke=LINE)
        + f'<g clip-path="url(#clip{index})">{heading if title else ""}{content}</g></g>'
    )


def _note(box: Box, paragraphs: Sequence[str]) -> str:
    """Centred grey lines: what the widget would show, and why it shows nothing here."""
    lines = [
        "".join(text for text, _ in line)
        for paragraph in paragraphs
        for line in _wrap([(paragraph, "")], box.width - 20, 12)
    ]
    middle = box.y + box.height / 2 - (len(lines) - 1) * 9
    return "".join(
        _text(box.x + box.width / 2, middle + 18 * i, _fit(line, box.width, 12), 12,
              fill=MUTED, text_anchor="middle", font_style="italic" if i else "normal")
        for i, line in enumerate(lines)
    )  # fmt: skip


# text widgets

_INLINE = re.compile(r"(\*\*[^*]+\*\*|`[^`]+`)")
Run = tuple[str, str]  # (text, style: "", "bold" or "code")


def _markdown(markdown: str, box: Box) -> str:
    out, y = [], box.y
    for line in markdown.split("\n"):
        level = len(line) - len(line.lstrip("#"))
        size = {1: 19.0, 2: 15.0}.get(level, 12.0)
        runs: list[Run] = [
            (part[2:-2], "bold") if part.startswith("**") else
            (part[1:-1], "code") if part.startswith("`") else
            (part, "bold" if level else "")
            for part in _INLINE.split(line.lstrip("#").strip()) if part
        ]  # fmt: skip
        for wrapped in _wrap(runs, box.width, size):
            y += size * 1.3
            spans = "".join(_span(text, style) for text, style in wrapped)
            out.append(
                f'<text x="{box.x:.1f}" y="{y:.1f}" font-size="{size:g}" fill="{INK}" '
                f'xml:space="preserve">{spans}</text>'
            )
    return "".join(out)


def _span(text: str, style: str) -> str:
    if style == "bold":
        return f'<tspan font-weight="bold">{escape(text)}</tspan>'
    if style == "code":
        return f'<tspan font-family="{MONO}" fill="{CODE}">{escape(text)}</tspan>'
    return escape(text)


def _wrap(runs: list[Run], width: float, size: float) -> list[list[Run]]:
    """Styled runs broken into lines of whole words that fit `width`."""
    lines: list[list[Run]] = [[]]
    used = 0.0
    for text, style in runs:
        for word in re.findall(r"\S+\s*|\s+", text):
            advance = len(word) * _advance(size, style == "code")
            if used and used + len(word.rstrip()) * _advance(size, style == "code") > width:
                lines.append([])
                used = 0.0
                word = word.lstrip()
            lines[-1].append((word, style))
            used += advance
    return [line for line in lines if line]


# log widgets


def _log(widget: Mapping[str, Any], data: DemoData, box: Box) -> str:
    result = run_widget(widget, data.archived)
    if not result.rows:
        return _note(box, ["No rows in the embedded demo", "(no sample event matches the query)"])
    if widget["properties"].get("view") != "bar":
        return _table(result, box)
    query = insights.parse_query(str(widget["properties"]["query"]))
    stats = [c for c in query.commands if isinstance(c, insights.Stats)]
    groups = [name for _, name in stats[-1].groups] if stats else [result.columns[0]]
    value = next(c for c in result.columns if c not in groups)
    bars = [
        Series(" ".join(insights.display(row[g]) for g in groups), _float(row[value]))
        for row in result.rows
    ]
    return _bars(bars, box, caption=value)


def _float(value: insights.Value) -> float | None:
    try:
        return None if value is None else float(value)
    except ValueError:
        return None


def _table(result: insights.Result, box: Box) -> str:
    size, line = 11.0, 18.0
    cells = [[insights.display(row[c]) for c in result.columns] for row in result.rows]
    natural = [
        max(len(column), *(len(" ".join(row[i].split())) for row in cells)) + 2
        for i, column in enumerate(result.columns)
    ]
    widths = [w * _advance(size) for w in _shares(natural, int(box.width / _advance(size)))]
    room = max(int(box.height // line) - 1, 1)  # rows below the header
    shown = cells if len(cells) <= room else cells[: room - 1]
    out = [_rect(Box(box.x - 4, box.y, box.width + 8, line), fill="#f4f4f4")]
    out += _row(result.columns, widths, box.x, box.y, size, font_weight="bold")
    for r, row in enumerate(shown, 1):
        if r % 2 == 0:
            out.append(_rect(Box(box.x - 4, box.y + r * line, box.width + 8, line), fill="#fafafa"))
        out += ['<g class="row">', *_row(row, widths, box.x, box.y + r * line, size), "</g>"]
    if hidden := len(cells) - len(shown):
        more = f"… {hidden} more row{'s' if hidden > 1 else ''} in the demo"
        out.append(_text(box.x, box.y + (len(shown) + 1) * line + 13, more, size, fill=MUTED))
    return "".join(out)


def _shares(natural: list[int], room: int) -> list[float]:
    """Column widths in characters: the widest columns give way first (short ones stay whole);
    spare room is shared out in proportion."""
    widths = list(natural)
    for floor in [min(n, 24) for n in natural], [6] * len(natural):
        while sum(widths) > room:
            shrinkable = [i for i, w in enumerate(widths) if w > floor[i]]
            if not shrinkable:
                break
            widths[max(shrinkable, key=lambda i: widths[i])] -= 1
    total = sum(widths)
    return [w * room / total for w in widths] if total < room else [float(w) for w in widths]


def _row(
    values: Sequence[str], widths: Sequence[float], x: float, y: float, size: float, **attrs: str
) -> list[str]:
    out = []
    for value, width in zip(values, widths, strict=True):
        out.append(_text(x, y + 13, _fit(value, width - 6, size), size, **attrs))
        x += width
    return out


# metric widgets


def _metric(widget: Mapping[str, Any], data: DemoData, box: Box) -> str:
    queries = metric_queries(widget)
    if not any(q.has_embedded_data for q in queries):
        namespaces = sorted({q.namespace for q in queries})
        where = (
            "read from linked accounts in AWS"
            if all(n.lower().startswith("aws/sagemaker") for n in namespaces)
            else f"the stack's own {', '.join(namespaces)} metrics, in AWS"
        )
        shows = ", ".join(dict.fromkeys(q.label or q.metric_name for q in queries))
        return _note(box, ["No data in the embedded demo", f"({where})", f"Series: {shows}"])
    series = [s for q in queries for s in evaluate(q, data.metrics)]
    stats = {q.stat for q in queries}
    names = {"Sum": "total", "Average": "mean", "Maximum": "maximum", "Minimum": "minimum"}
    stat = min(stats)
    caption = f"demo {names.get(stat, stat)}" if len(stats) == 1 else "demo value"
    y_max = widget["properties"].get("yAxis", {}).get("left", {}).get("max")
    return _bars(series, box, caption, float(y_max) if y_max is not None else None)


def _bars(series: Sequence[Series], box: Box, caption: str, top: float | None = None) -> str:
    """Horizontal bars, one per series, labelled, with the value after the bar."""
    size = 11.5
    out = [
        _text(box.x + box.width, box.y + box.height, f"bars: {caption}", 10.5, fill=MUTED,
              text_anchor="end", class_="caption")
    ]  # fmt: skip
    if not series:  # a SEARCH that found no metric draws nothing in CloudWatch either
        return out[0] + _note(
            box, ["No data in the embedded demo", "(the demo emitted no such metric)"]
        )
    pitch = min(26.0, (box.height - 14) / len(series))
    if pitch < 14:
        pitch, series = 14.0, series[: int((box.height - 14) // 14)]
    label_width = min(max(len(s.label) for s in series) * _advance(size) + 12, box.width * 0.45)
    top = top or max((s.value for s in series if s.value is not None), default=0.0) or 1.0
    room = box.width - label_width - 60
    for i, item in enumerate(series):
        y = box.y + i * pitch
        length = max(item.value / top, 0.0) * room if item.value else 0.0
        out += [
            '<g class="bar">',
            _text(box.x, y + pitch / 2 + 4, _fit(item.label, label_width - 10, size), size),
            _rect(
                Box(box.x + label_width, y + pitch * 0.15, max(length, 1.0), pitch * 0.7),
                fill=PALETTE[i % len(PALETTE)] if item.value else LINE,
            ),
            _text(box.x + label_width + length + 6, y + pitch / 2 + 4, _number(item.value), size,
                  fill=INK if item.value is not None else MUTED, class_="value"),
            "</g>",
        ]  # fmt: skip
    return "".join(out)


# the alarm widget


def _alarms(arns: Sequence[str], box: Box) -> str:
    size, line = 11.0, 15.0
    rows = max(int(box.height // line), 1)
    width = box.width / max(math.ceil(len(arns) / rows), 1)
    out = []
    for i, arn in enumerate(arns):
        name = arn.rsplit(":alarm:", 1)[-1]
        x, y = box.x + (i // rows) * width, box.y + (i % rows) * line
        out.append(f'<circle cx="{x + 5:.1f}" cy="{y + 7:.1f}" r="4.5" fill="#1d8102"/>')
        label = _fit(f"{name}: OK (embedded)", width - 24, size)
        out.append(_text(x + 16, y + 11, label, size, class_="alarm"))
    return "".join(out)
