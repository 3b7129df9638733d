"""The enricher's bounds on what one event, or one account's metrics, can make it do: hosts
planned, metrics read, times at the edge of what a datetime holds. One account's job never
fails another's."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pytest

from shared.domain.parser import MAX_INSTANCE_COUNT, parse_event
from shared.domain.utilization import window
from shared.platform.errors import InvalidEvent
from shared.ports import Fetched
from tests.fakes import Recorder, SteadyMetrics
from tests.unit.conftest import read_event
from tests.unit.test_services_with_fakes import _enricher, _record


class PublishedHosts(SteadyMetrics):
    """An account that has published CPUUtilization for `count` Host values under each transform
    job's prefix (PutMetricData takes /aws/sagemaker/TransformJobs; the OAM link shares it)."""

    def __init__(self, count: int) -> None:
        super().__init__(50.0)
        self.count, self.queries = count, 0

    def hosts(self, account: str, namespace: str, prefixes: Iterable[str]) -> dict[str, list[str]]:
        return {p: [f"{p}/i-{n:017x}" for n in range(self.count)] for p in prefixes}

    def fetch(self, calls: Sequence[Any]) -> Fetched:
        self.queries += sum(len(call.queries) for call in calls)
        return super().fetch(calls)


def _transform_job() -> dict[str, Any]:
    job = read_event("transform-completed")  # TransformResources: 1 × ml.c5.xlarge, 37 min
    job["region"] = "us-east-1"  # the monitoring stack's Region
    return job


@pytest.mark.parametrize("published", [1, 50_000])
def test_given_a_one_instance_transform_job_when_enriched_then_no_more_hosts_than_instances(
    published: int,
) -> None:
    metrics, bus = PublishedHosts(published), Recorder()

    result = _enricher(metrics, bus, Recorder(), []).run([_record("t", _transform_job())])

    assert result.outcomes == {"t": "reported"}
    [report] = bus.items
    if published == 1:
        assert metrics.queries
        assert report["verdict"] != "insufficient-data"
    else:  # none read: which of them is the job's cannot be told
        assert metrics.queries == 0
        assert report["verdict"] == "insufficient-data"
        assert report["reasons"] == ["50000 hosts in CloudWatch for 1 instances"]


def test_given_one_accounts_job_ending_in_year_9999_when_enriched_then_the_batch_goes_on() -> None:
    good = read_event("training-completed-gpu")
    odd = read_event("training-completed-gpu")
    odd["id"], odd["account"] = "odd", "444455556666"
    odd["detail"]["TrainingJobName"] = "x"
    odd["detail"]["TrainingEndTime"] = "9999-12-31T23:59:59Z"  # in range, even in UTC
    bus = Recorder()

    result = _enricher(SteadyMetrics(1.0), bus, Recorder(), []).run(
        [_record("good", good), _record("odd", odd)]
    )

    assert result.outcomes == {"good": "reported", "odd": "reported"}
    verdicts = {report["job"]["name"]: report["verdict"] for report in bus.items}
    assert verdicts["x"] == "insufficient-data"
    assert verdicts["Vision-ResNet50-FT-20261120-0800"] != "insufficient-data"
    assert window(parse_event(odd)) is None


@pytest.mark.parametrize(("groups", "each", "refused"), [(5, 2_000, False), (50, 10_000, True)])
def test_given_instance_groups_when_parsed_then_the_host_bound_is_of_all_of_them(
    groups: int, each: int, refused: bool
) -> None:
    event = read_event("training-completed-gpu")
    event["detail"]["ResourceConfig"] = {
        "InstanceGroups": [
            {"InstanceGroupName": f"g{i}", "InstanceType": "ml.g5.xlarge", "InstanceCount": each}
            for i in range(groups)
        ]
    }
    if refused:
        with pytest.raises(InvalidEvent, match="500000 instances in all is implausible"):
            parse_event(event)
    else:
        assert parse_event(event).instance_count == groups * each <= MAX_INSTANCE_COUNT
