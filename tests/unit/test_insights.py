"""The Logs Insights subset the dashboard and saved queries use, on small hand-made events."""

from __future__ import annotations

from typing import Any

import pytest

from sagewatch.insights import InsightsError, Timestamp, display, parse_query, run


def event(time: str = "2026-11-20T10:00:00Z", **top: Any) -> dict[str, Any]:
    return {"time": time, "source": "aws.sagemaker", "account": "111122223333"} | top


JOBS = [
    event(
        "2026-11-20T10:00:00Z",
        **{"detail-type": "Job Report"},
        detail={"job": {"name": "a", "kind": "training", "hours": 2, "tags": {"team": "vision"}}},
    ),
    event(
        "2026-11-20T11:00:00Z",
        **{"detail-type": "Job Report"},
        detail={"job": {"name": "b", "kind": "training", "hours": 5, "tags": {"team": "nlp"}}},
    ),
    event(
        "2026-11-20T09:00:00Z",
        account="444455556666",
        **{"detail-type": "Job Report"},
        detail={"job": {"name": "c", "kind": "processing", "hours": None, "tags": {}}},
    ),
]


def rows(query: str, events: list[dict[str, Any]] = JOBS) -> list[dict[str, Any]]:
    return [dict(row) for row in run(query, events).rows]


# ---- fields, names and functions ----------------------------------------------------------------


def test_given_dotted_and_backticked_names_when_fields_then_flattened_json_paths_are_read() -> None:
    result = run(
        "fields detail.job.name as job, `detail-type` as type, `detail.job.tags.team`, account",
        JOBS[:1],
    )

    assert result.columns == ("job", "type", "detail.job.tags.team", "account")
    assert result.rows[0] == {
        "job": "a",
        "type": "Job Report",
        "detail.job.tags.team": "vision",
        "account": "111122223333",
    }


def test_given_an_array_when_fields_use_an_index_then_the_item_is_read() -> None:
    endpoint = event(detail={"ProductionVariants": [{"VariantName": "AllTraffic"}, {}]})

    assert rows("fields detail.ProductionVariants.0.VariantName as v", [endpoint]) == [
        {"v": "AllTraffic"}
    ]


def test_given_arithmetic_when_fields_then_precedence_parentheses_and_float_division_hold() -> None:
    job = event(detail={"start": 1000, "end": "61000", "n": 3})  # a numeric string counts

    assert rows(
        "fields (detail.end - detail.start) / 60000 as minutes, detail.n + 2 * 3 as nine, "
        "round(7 / 2) as four, round(-2.5) as minus_three",
        [job],
    ) == [{"minutes": 1.0, "nine": 9, "four": 4, "minus_three": -3}]


def test_given_concat_and_coalesce_when_fields_then_strings_join_and_first_present_wins() -> None:
    job = event(detail={"type": "ml.p3.2xlarge", "count": 2, "name": None, "alias": "x"})

    assert rows(
        "fields concat(detail.type, ' x ', detail.count) as hw, "
        "coalesce(detail.missing, detail.name, detail.alias) as name",
        [job],
    ) == [{"hw": "ml.p3.2xlarge x 2", "name": "x"}]


def test_given_a_missing_or_null_argument_when_concat_then_the_result_is_null() -> None:
    job = event(detail={"type": None, "count": 3})

    assert rows("fields concat(detail.type, ' x ', detail.count) as hw", [job]) == [{"hw": None}]
    assert rows("fields concat(detail.nope, 'x') as hw", [job]) == [{"hw": None}]


def test_given_missing_fields_when_arithmetic_or_round_then_null() -> None:
    assert rows("fields detail.nope / 60 as a, round(detail.nope) as b", [event()]) == [
        {"a": None, "b": None}
    ]


def test_given_timestamp_and_message_when_fields_then_time_as_insights_shows_and_raw_json() -> None:
    result = run("fields @timestamp as at, @message", [event("2026-11-20T09:07:53Z")])

    at = result.rows[0]["at"]
    assert isinstance(at, Timestamp)
    assert display(at) == "2026-11-20 09:07:53.000"
    assert '"time":"2026-11-20T09:07:53Z"' in str(result.rows[0]["@message"])


def test_given_booleans_when_flattened_then_true_and_false_strings() -> None:
    flags = [event(detail={"readOnly": False}), event(detail={"readOnly": True})]

    assert rows("filter detail.readOnly = 'false' | fields detail.readOnly", flags) == [
        {"detail.readOnly": "false"}
    ]


# ---- filter ------------------------------------------------------------------------------------


def test_given_equality_and_and_or_when_filtering_then_and_binds_tighter() -> None:
    query = (
        "filter detail.job.kind = 'processing' or detail.job.kind = 'training' "
        "and detail.job.name != 'a' | fields detail.job.name as job"
    )

    assert [r["job"] for r in rows(query)] == ["b", "c"]


def test_given_parentheses_when_filtering_then_they_group() -> None:
    query = (
        "filter (detail.job.kind = 'processing' or detail.job.kind = 'training') "
        "and detail.job.name != 'a' | fields detail.job.name as job"
    )

    assert [r["job"] for r in rows(query)] == ["b", "c"]


def test_given_in_list_when_filtering_then_any_member_matches() -> None:
    assert [
        r["job"]
        for r in rows("filter detail.job.name in ['a', 'c'] | fields detail.job.name as job")
    ] == [
        "a",
        "c",
    ]


def test_given_a_number_and_a_numeric_string_when_compared_then_equal() -> None:
    assert rows("filter detail.job.hours = '5' | fields detail.job.name as job") == [{"job": "b"}]
    assert rows("filter detail.job.hours = 2 | fields detail.job.name as job") == [{"job": "a"}]


def test_given_like_regex_when_filtering_then_it_searches_anywhere_and_honours_anchors() -> None:
    reports = [event(**{"detail-type": t}) for t in ("SageMaker Training Job State Change", "x")]

    assert len(rows("filter `detail-type` like /Job State/ | fields account", reports)) == 1
    assert rows("filter `detail-type` like /^Job/ | fields account", reports) == []
    assert len(rows("filter `detail-type` like /^(x|y)$/ | fields account", reports)) == 1


def test_given_missing_field_when_compared_then_every_comparison_is_false() -> None:
    empty = [event(detail={})]

    for condition in (
        "detail.status = 'Failed'",
        "detail.status != 'Failed'",
        "detail.status in ['Failed']",
        "detail.status like /.*/",
    ):
        assert rows(f"filter {condition} | fields account", empty) == [], condition


def test_given_json_null_when_compared_then_it_is_null_too() -> None:
    assert (
        rows("filter detail.status != 'x' | fields account", [event(detail={"status": None})]) == []
    )


# ---- parse -------------------------------------------------------------------------------------


def test_given_a_glob_when_parse_then_wildcards_capture_and_a_trailing_one_takes_the_rest() -> None:
    arn = event(detail={"arn": "arn:aws:sagemaker:eu-west-1:1:pipeline/nlp-train/execution/k2"})

    assert rows(
        "parse detail.arn ':pipeline/*/execution/*' as name, run | fields name, run", [arn]
    ) == [{"name": "nlp-train", "run": "k2"}]
    assert rows("parse detail.arn ':pipeline/*' as rest | fields rest", [arn]) == [
        {"rest": "nlp-train/execution/k2"}
    ]


def test_given_no_match_when_parse_then_the_event_stays_without_the_field() -> None:
    result = rows(
        "parse detail.arn ':pipeline/*' as p | fields account, p", [event(detail={"arn": "x"})]
    )

    assert result == [{"account": "111122223333", "p": None}]


# ---- stats -------------------------------------------------------------------------------------


def test_given_events_when_stats_count_sum_avg_by_field_then_one_row_per_group() -> None:
    result = run(
        "stats count(*) as jobs, count(detail.job.hours) as timed, sum(detail.job.hours) as hours, "
        "avg(detail.job.hours) as mean by detail.job.kind as kind",
        JOBS,
    )

    assert result.columns == ("kind", "jobs", "timed", "hours", "mean")
    assert [dict(r) for r in result.rows] == [
        {"kind": "training", "jobs": 2, "timed": 2, "hours": 7, "mean": 3.5},
        {"kind": "processing", "jobs": 1, "timed": 0, "hours": None, "mean": None},
    ]


def test_given_events_when_count_distinct_max_min_then_nulls_are_skipped() -> None:
    extra = [*JOBS, event(detail={"job": {"name": "a", "kind": "training", "hours": 9}})]

    assert rows(
        "stats count_distinct(detail.job.name) as names, max(detail.job.hours) as most, "
        "min(detail.job.hours) as least",
        extra,
    ) == [{"names": 3, "most": 9, "least": 2}]


def test_given_events_when_latest_then_the_newest_events_non_null_value() -> None:
    assert rows("stats latest(detail.job.name) as newest") == [{"newest": "b"}]


def test_given_max_timestamp_when_stats_then_it_stays_a_timestamp() -> None:
    result = run("stats max(@timestamp) as last by account", JOBS)

    assert [display(r["last"]) for r in result.rows] == [
        "2026-11-20 11:00:00.000",
        "2026-11-20 09:00:00.000",
    ]


def test_given_scalar_around_aggregate_when_stats_then_applied_to_the_group_value() -> None:
    assert rows(
        "stats round(avg(detail.job.hours * 10)) as tenths, sum(detail.job.hours) / 7 as one"
    ) == [{"tenths": 35, "one": 1.0}]


def test_given_missing_group_field_when_stats_by_then_a_null_group_is_kept() -> None:
    result = rows("stats count(*) as jobs by `detail.job.tags.team` as team")

    assert result == [
        {"team": "vision", "jobs": 1},
        {"team": "nlp", "jobs": 1},
        {"team": None, "jobs": 1},
    ]


def test_given_two_group_fields_when_stats_then_groups_are_their_combinations() -> None:
    result = rows("stats count(*) as n by account, detail.job.kind as kind")

    assert result == [
        {"account": "111122223333", "kind": "training", "n": 2},
        {"account": "444455556666", "kind": "processing", "n": 1},
    ]


def test_given_no_events_when_stats_without_by_then_one_row_of_zero() -> None:
    assert rows("stats count(*) as n", []) == [{"n": 0}]


def test_given_fields_then_stats_when_aliased_field_aggregated_then_alias_is_used() -> None:
    assert rows(
        "fields coalesce(detail.job.name, 'none') as job | stats count_distinct(job) as jobs"
    ) == [{"jobs": 3}]


# ---- sort and limit ----------------------------------------------------------------------------


def test_given_numbers_when_sort_desc_then_numeric_order_with_nulls_last() -> None:
    query = "fields detail.job.name as job, detail.job.hours as hours | sort hours desc"

    assert [r["job"] for r in rows(query)] == ["b", "a", "c"]
    assert [r["job"] for r in rows(query.replace("desc", "asc"))] == ["a", "b", "c"]


def test_given_two_sort_keys_when_sort_then_the_first_decides_and_the_second_breaks_ties() -> None:
    query = "fields detail.job.kind as kind, detail.job.name as job | sort kind asc, job desc"

    assert [r["job"] for r in rows(query)] == ["c", "b", "a"]


def test_given_limit_when_run_then_at_most_that_many_rows() -> None:
    assert len(rows("fields account | sort @timestamp desc | limit 2")) == 2


# ---- SOURCE ------------------------------------------------------------------------------------


def test_given_source_clause_when_run_on_that_log_group_then_it_reads_the_events() -> None:
    query = "SOURCE '/aws/events/archive' | filter account = '444455556666' | fields account"

    assert parse_query(query).sources == ("/aws/events/archive",)
    assert len(run(query, JOBS, log_group="/aws/events/archive").rows) == 1


def test_given_source_clause_when_run_on_another_log_group_then_error() -> None:
    with pytest.raises(InsightsError, match="reads"):
        run("SOURCE '/aws/other' | fields account", JOBS, log_group="/aws/events/archive")


def test_given_saved_query_without_source_when_run_on_a_log_group_then_it_runs() -> None:
    assert len(run("fields account", JOBS, log_group="/aws/events/archive").rows) == 3


# ---- what the query reads ----------------------------------------------------------------------


def test_given_aliases_and_parse_names_when_references_then_only_event_fields() -> None:
    query = parse_query(
        "filter `detail-type` = 'x' | parse detail.arn '*/*' as a, b "
        "| fields detail.job.name as job, a | stats count(*) as n by job, b | sort n desc"
    )

    assert query.references() == {"detail-type", "detail.arn", "detail.job.name"}


# ---- unsupported syntax ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("display account", "'display'"),
        ("dedup account", "'dedup'"),
        ("fields strlen(account)", "strlen()"),
        ("filter detail.n < 3", "'<'"),
        ("filter detail.n >= 3", "'>='"),
        ("filter not account = '1'", "'not'"),
        ("fields account # a comment", "comments"),
        ("parse @message /(?<x>.*)/", "only 'glob with *'"),
        ("filter account like 'substring'", "like operand"),
        ("sort account", "asc or desc"),
        ("fields count(*) as n", "only allowed in stats"),
        ("filter count(*) = 1", "only allowed in stats"),
        ("stats account", "outside an aggregate"),
        ("stats count(*) by count(*)", "only allowed in stats"),
        ("stats sum(*)", "sum(*)"),
        ("limit 0", "positive whole number"),
        ("fields 'unterminated", "unterminated"),
        ("parse detail.arn 'a*b*' as one", "2 wildcard(s) for 1 name(s)"),
        ("fields account | SOURCE 'x'", "SOURCE must come before"),
        ("SOURCE logGroups(namePrefix: ['x']) | fields account", "SOURCE logGroups"),
        ("fields account |", "empty command"),
        ("filter account", "needs a condition"),
        ("fields account ~ 1", "unexpected character"),
    ],
)
def test_given_unsupported_syntax_when_parsed_then_error_names_the_piece(
    query: str, names: str
) -> None:
    with pytest.raises(InsightsError) as raised:
        parse_query(query)

    assert names in str(raised.value)
