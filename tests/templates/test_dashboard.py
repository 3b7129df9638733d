"""template.yaml's dashboard and saved queries, checked against what the demo really produces:
every SageWatch metric the dashboard reads was emitted, every query reads the archive, parses,
returns rows over the demo's archive and names only fields its events carry."""

from __future__ import annotations

import json
import re
from itertools import combinations
from typing import Any

import pytest

from sagewatch import dashboard, embedded, insights
from sagewatch.cli import DEMO_METRICS
from sagewatch.template import EVENTS, ROOT, load
from shared.contracts.report import REPORT_DETAIL_TYPE, UtilizationReport
from shared.domain.vocabulary import ResourceKind

BODY = dashboard.dashboard_body()
WIDGETS: list[dict[str, Any]] = BODY["widgets"]
METRIC_WIDGETS = [w for w in WIDGETS if w["type"] == "metric"]
LOG_WIDGETS = [w for w in WIDGETS if w["type"] == "log"]
SAVED = dashboard.saved_queries()
QUERIES = {f"widget: {w['properties']['title']}": w["properties"]["query"] for w in LOG_WIDGETS} | {
    f"saved: {name}": text for name, text in SAVED.items()
}

# Real AWS metrics the dashboard may read, by namespace: metric name -> its dimension set
# (None: not checked). Nothing outside this list may appear in an AWS/* or aws/* namespace.
AWS_METRICS: dict[str, dict[str, frozenset[str] | None]] = {
    "AWS/Lambda": {n: frozenset({"FunctionName"}) for n in ("Errors", "Throttles")},
    "AWS/SQS": {
        n: frozenset({"QueueName"})
        for n in ("ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage")
    },
    "AWS/SageMaker": {
        n: frozenset({"EndpointName", "VariantName"})
        for n in ("Invocation4XXErrors", "Invocation5XXErrors", "ModelLatency")
    },
    # Model Monitor's data-quality metrics (published by the workload accounts' schedules).
    "aws/sagemaker/Endpoints/data-metrics": {"feature_baseline_drift": None},
}

# Real fields no sample in events/ carries yet (so the demo's archive cannot show them):
# CloudTrail adds errorCode only to failed calls; endpointName is in endpoint calls' parameters.
FIELDS_WITHOUT_SAMPLES = {
    "saved: ApiCallsQuery": {"detail.errorCode", "detail.requestParameters.endpointName"},
}

# A query that names a field its events do not carry (template.yaml is not changed here).


ON_MOTO = pytest.mark.integration  # the tests that read the demo, which replays on moto


@pytest.fixture(scope="module")
def demo() -> dashboard.DemoData:
    """One replay of events/ with the demo metrics, as `sagewatch demo` runs it."""
    events = embedded.load_events([EVENTS])
    events.sort(key=lambda e: str(e.get("time", "")))
    return dashboard.demo_data(events, json.loads(DEMO_METRICS.read_text()))


# ---- layout ------------------------------------------------------------------------------------


def test_given_the_body_when_parsed_then_at_least_twelve_widgets() -> None:
    assert len(WIDGETS) >= 12


@pytest.mark.parametrize("widget", WIDGETS, ids=lambda w: f"{w['type']}@{w['x']},{w['y']}")
def test_given_each_widget_when_placed_then_integer_cells_inside_the_24_column_grid(
    widget: dict[str, Any],
) -> None:
    for key in ("x", "y", "width", "height"):
        assert type(widget[key]) is int, key
    assert min(widget["x"], widget["y"]) >= 0
    assert min(widget["width"], widget["height"]) >= 1
    assert widget["x"] + widget["width"] <= 24


def test_given_all_widgets_when_placed_then_no_two_overlap() -> None:
    def cells(w: dict[str, Any]) -> set[tuple[int, int]]:
        return {
            (x, y)
            for x in range(w["x"], w["x"] + w["width"])
            for y in range(w["y"], w["y"] + w["height"])
        }

    for a, b in combinations(WIDGETS, 2):
        assert not cells(a) & cells(b), (a["properties"].get("title"), b["properties"].get("title"))


def test_given_widgets_in_reading_order_then_each_section_opens_with_a_full_width_heading() -> None:
    ordered = sorted(WIDGETS, key=lambda w: (w["y"], w["x"]))
    assert ordered[0]["type"] == "text"
    sections: list[list[dict[str, Any]]] = []
    for widget in ordered:
        markdown = widget["properties"].get("markdown", "")
        if widget["type"] == "text" and markdown.startswith("## "):
            assert (widget["x"], widget["width"]) == (0, 24), markdown.splitlines()[0]
            sections.append([])
        elif widget["type"] != "text":
            assert sections, f"{widget['properties'].get('title')} comes before any section"
            sections[-1].append(widget)
    assert len(sections) >= 5
    assert all(sections), "a section heading with nothing under it"


def test_given_every_non_text_widget_then_it_has_a_title() -> None:
    assert all(w["properties"].get("title") for w in WIDGETS if w["type"] != "text")


# ---- metrics -----------------------------------------------------------------------------------


def _metric_queries() -> list[tuple[str, dashboard.MetricQuery]]:
    return [
        (f"{w['properties']['title']}: {q.label or q.metric_name}", q)
        for w in METRIC_WIDGETS
        for q in dashboard.metric_queries(w)
    ]


SAGEWATCH_METRICS = [(i, q) for i, q in _metric_queries() if q.namespace == "SageWatch"]
AWS_READS = [(i, q) for i, q in _metric_queries() if q.namespace != "SageWatch"]


def test_given_metric_widgets_when_read_then_every_entry_is_sagewatch_or_an_aws_namespace() -> None:
    assert SAGEWATCH_METRICS
    assert AWS_READS
    assert all(q.namespace.lower().startswith("aws/") for _, q in AWS_READS)


@ON_MOTO
@pytest.mark.parametrize(
    ("where", "query"), SAGEWATCH_METRICS, ids=[i for i, _ in SAGEWATCH_METRICS]
)
def test_given_a_sagewatch_metric_when_the_demo_ran_then_that_name_and_dimension_set_was_emitted(
    where: str, query: dashboard.MetricQuery, demo: dashboard.DemoData
) -> None:
    emitted = {
        (m["name"], frozenset(m["dimensions"]))
        for m in demo.metrics
        if m["namespace"] == "SageWatch"
    }

    assert (query.metric_name, query.dimension_names) in emitted, where
    assert {k for k, _ in query.filters} <= query.dimension_names, where


@pytest.mark.parametrize(("where", "query"), AWS_READS, ids=[i for i, _ in AWS_READS])
def test_given_an_aws_metric_when_read_then_it_is_a_real_metric_of_that_namespace(
    where: str, query: dashboard.MetricQuery
) -> None:
    known = AWS_METRICS.get(query.namespace, {})

    assert query.metric_name in known, f"{where}: {query.namespace} {query.metric_name}"
    dimensions = known[query.metric_name]
    if dimensions is not None:
        assert query.dimension_names == dimensions, where


@ON_MOTO
def test_given_the_demo_when_failed_jobs_are_evaluated_then_the_widget_sums_the_emitted_counts(
    demo: dashboard.DemoData,
) -> None:
    title = "Failed jobs per hour"
    widget = next(w for w in METRIC_WIDGETS if w["properties"]["title"] == title)
    training = dashboard.metric_queries(widget)[0]

    [series] = dashboard.evaluate(training, demo.metrics)
    # Counted independently: the demo's reports of failed training jobs.
    reports = [
        UtilizationReport.parse(event)
        for event in demo.archived
        if event.get("detail-type") == REPORT_DETAIL_TYPE
    ]
    failed = [r for r in reports if r.job.kind is ResourceKind.TRAINING and r.job.is_failure]
    assert series.value == len(failed) > 0


def test_given_metrics_of_every_linked_account_then_widgets_read_a_top_n_not_a_search() -> None:
    """SEARCH returns at most 500 series, in no set order: past about 56 accounts of a few
    endpoints each, a widget over every variant drops some without saying so. Widgets over the
    linked accounts' per-endpoint metrics are Metrics Insights top-N queries, which sort every
    series first. The one SEARCH left, Model Monitor's drift, needs its partial metric name
    (feature_baseline_drift_<feature>), which Metrics Insights does not match (README: Limits)."""
    per_endpoint = [
        (where, q)
        for where, q in AWS_READS
        if q.namespace == "AWS/SageMaker" or q.namespace.startswith("aws/sagemaker")
    ]
    for where, query in per_endpoint:
        if query.namespace == "aws/sagemaker/Endpoints/data-metrics":
            continue
        assert query.top is not None, where
        assert query.top[1] <= 10, where
        assert dashboard.ACCOUNT_LABEL in (query.group_by or ()), where


def test_given_a_top_n_query_then_the_preview_ranks_groups_across_accounts() -> None:
    expression = (
        'SELECT SUM(Invocation5XXErrors) FROM SCHEMA("AWS/SageMaker", EndpointName, VariantName)'
        " WHERE VariantName = 'main' GROUP BY AWS.AccountId, EndpointName"
        " ORDER BY SUM() DESC LIMIT 2"
    )
    [query] = dashboard.metric_queries(
        {"properties": {"metrics": [[{"expression": expression, "id": "e"}]]}}
    )

    def point(account: str, endpoint: str, value: float, variant: str = "main") -> dict[str, Any]:
        return {"namespace": "AWS/SageMaker", "name": "Invocation5XXErrors", "value": value,
                "account": account, "dimensions": {"EndpointName": endpoint,
                                                    "VariantName": variant}}  # fmt: skip

    metrics = [
        point("111111111111", "a", 3), point("111111111111", "a", 4), point("222222222222", "a", 5),
        point("222222222222", "b", 9, variant="shadow"), point("333333333333", "c", 1),
    ]  # fmt: skip

    assert [(s.label, s.value) for s in dashboard.evaluate(query, metrics)] == [
        ("111111111111 a", 7.0),  # one endpoint name in two accounts: two groups
        ("222222222222 a", 5.0),
    ]


# ---- log queries -------------------------------------------------------------------------------


@pytest.mark.parametrize("widget", LOG_WIDGETS, ids=[w["properties"]["title"] for w in LOG_WIDGETS])
def test_given_a_log_widget_then_its_query_reads_only_the_archive_log_group(
    widget: dict[str, Any],
) -> None:
    query = insights.parse_query(widget["properties"]["query"])

    assert query.sources == (embedded.ARCHIVE_LOG_GROUP,)


@pytest.mark.parametrize("name", sorted(SAVED))
def test_given_a_saved_query_then_it_is_defined_on_the_archive_log_group(name: str) -> None:
    properties = load()["Resources"][name]["Properties"]

    assert properties["LogGroupNames"] == [{"Ref": "ArchiveLogGroup"}]
    assert properties["Name"]["Fn::Sub"].startswith("${AWS::StackName}/")
    assert insights.parse_query(SAVED[name]).sources == ()


@ON_MOTO
@pytest.mark.parametrize("name", sorted(QUERIES))
def test_given_a_query_when_run_over_the_demo_archive_then_it_returns_rows(
    name: str, demo: dashboard.DemoData
) -> None:
    result = insights.run(QUERIES[name], demo.archived, log_group=embedded.ARCHIVE_LOG_GROUP)

    assert result.rows, f"{name} returns nothing over the demo's archive"
    assert any(value is not None for row in result.rows for value in row.values())


def _pinned(query: insights.Query, name: str) -> tuple[set[str], list[Any]]:
    """The values a query's filters pin field `name` to (`= 'x'`, `in [...]`) and its `like`
    patterns of it."""
    exact: set[str] = set()
    patterns: list[Any] = []
    field = insights.Field(name)

    def walk(node: Any) -> None:
        if isinstance(node, insights.Binary):
            if node.op == "=" and node.left == field:
                assert isinstance(node.right, insights.Literal)
                exact.add(str(node.right.value))
            walk(node.left)
            walk(node.right)
        elif isinstance(node, insights.In) and node.operand == field:
            exact.update(str(v) for v in node.values)
        elif isinstance(node, insights.Like) and node.operand == field:
            patterns.append(node.pattern)

    for command in query.commands:
        if isinstance(command, insights.Filter):
            walk(command.condition)
    return exact, patterns


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_given_a_query_that_picks_events_by_detail_type_then_it_pins_their_source_too(
    name: str,
) -> None:
    """A workload account may put its own sources (sagewatch.heartbeat, ...) on the bus with
    any detail-type, and the archive keeps them: a detail-type alone would let it add rows to a
    fleet-wide widget (a forged tuning job, a forged CloudTrail call naming someone else)."""
    query = insights.parse_query(QUERIES[name])
    exact, patterns = _pinned(query, "detail-type")
    if not exact and not patterns:
        return
    sources, _ = _pinned(query, "source")
    assert sources, f"{name}: picks {sorted(exact)} {patterns} by detail-type alone"
    assert all(s.startswith(("aws.", "sagewatch")) for s in sources)


@ON_MOTO
@pytest.mark.parametrize("name", sorted(QUERIES))
def test_given_a_query_then_every_detail_field_it_names_exists_in_an_event_of_its_detail_types(
    name: str, demo: dashboard.DemoData
) -> None:
    query = insights.parse_query(QUERIES[name])
    exact, patterns = _pinned(query, "detail-type")
    events = [
        insights.flatten(e)
        for e in demo.archived
        if (not exact and not patterns)
        or e.get("detail-type") in exact
        or any(p.search(str(e.get("detail-type"))) for p in patterns)
    ]
    assert events, f"{name}: no archived event of {sorted(exact)} {patterns}"
    named = {f for f in query.references() if f.startswith("detail.")}
    missing = {f for f in named if not any(f in record for record in events)}

    assert missing <= FIELDS_WITHOUT_SAMPLES.get(name, set()), f"{name}: {sorted(missing)}"


# ---- alarms ------------------------------------------------------------------------------------


def test_given_the_alarm_widget_then_it_lists_exactly_the_templates_alarms() -> None:
    [widget] = [w for w in WIDGETS if w["type"] == "alarm"]
    alarms = widget["properties"]["alarms"]

    assert len(alarms) == len(set(alarms))
    assert set(alarms) == {dashboard.alarm_arn(i) for i in dashboard.alarm_ids()}
    assert len(dashboard.alarm_ids()) >= 2


REPORT_QUERIES = sorted(name for name, text in QUERIES.items() if "Job Utilization Report" in text)


@ON_MOTO
@pytest.mark.parametrize("name", REPORT_QUERIES)
def test_given_a_report_forged_by_a_workload_account_when_queried_then_it_is_shown_nowhere(
    name: str, demo: dashboard.DemoData
) -> None:
    genuine = next(
        e
        for e in demo.archived
        if e.get("detail-type") == "Job Utilization Report"
        and e["detail"].get("verdict") in ("under-used", "idle")
    )
    forged = json.loads(json.dumps(genuine))  # the same report, put by a workload account
    forged["account"] = "666666666666"
    forged["id"] = "forged-report"
    forged["detail"]["job"]["name"] = "forged-job"
    forged["detail"]["waste"]["estimated_usd"] = 987_654

    result = insights.run(
        QUERIES[name], [*demo.archived, forged], log_group=embedded.ARCHIVE_LOG_GROUP
    )

    honest = insights.run(QUERIES[name], demo.archived, log_group=embedded.ARCHIVE_LOG_GROUP)
    assert result.rows == honest.rows
    assert "forged-job" not in json.dumps(result.rows)


def test_given_the_readme_when_it_counts_widgets_and_alarms_then_the_counts_are_the_templates() -> (
    None
):
    readme = (ROOT / "README.md").read_text()
    alarms = [r for r in load()["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    # CloudWatch bills a metric-math alarm per metric it reads.
    metrics = sum(
        sum("MetricStat" in q for q in a["Properties"].get("Metrics", [])) or 1 for a in alarms
    )

    assert re.findall(r"its (\d+) log widgets", readme) == [str(len(LOG_WIDGETS))]
    assert re.findall(r"with (\d+) alarms that publish", readme) == [str(len(alarms))]
    assert re.findall(r"(\d+) alarms over (\d+) metrics", readme) == [
        (str(len(alarms)), str(metrics))
    ]
    assert re.findall(r"billed per metric:\s+(\d+) × \$0\.10", readme) == [str(metrics)]
