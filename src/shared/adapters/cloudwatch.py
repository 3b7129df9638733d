"""CloudWatch: job host metrics for the enricher, endpoint traffic for the fleet."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from shared.adapters.boto import Adapter
from shared.domain.health import Minute, Signal
from shared.domain.utilization import Call, JobKey, Query
from shared.platform.errors import RetryableError
from shared.ports import Fetched


class MetricsReader(Adapter):
    service = "cloudwatch"
    MAX_LISTED = 50_000  # transform hosts listed per account: 100 pages (legitimately, ~2 weeks
    # of 1,700 two-instance transform jobs a day)

    def fetch(self, calls: Sequence[Call]) -> Fetched:
        """Run planned calls, following NextToken; each query's datapoints, and the jobs whose
        account does not share its metrics with this one (StatusCode Forbidden)."""
        series: dict[Query, list[tuple[datetime, float]]] = {}
        forbidden: set[JobKey] = set()
        for call in calls:
            by_id = {query.id: query for query in call.queries}
            kwargs: dict[str, Any] = {
                "MetricDataQueries": [query.to_api() for query in call.queries],
                "StartTime": call.start,
                "EndTime": call.end,
                "ScanBy": "TimestampAscending",
            }
            while True:
                response = self.api.get_metric_data(**kwargs)
                for result in response.get("MetricDataResults", []):
                    query = by_id[result["Id"]]
                    status = result.get("StatusCode", "Complete")
                    if status == "Forbidden":
                        forbidden.add(query.job)
                    elif status == "InternalError":
                        raise RetryableError(f"GetMetricData: {result.get('Messages') or status}")
                    points = zip(
                        result.get("Timestamps", []), result.get("Values", []), strict=False
                    )
                    series.setdefault(query, []).extend(points)
                token = response.get("NextToken")
                if not token:
                    break
                kwargs["NextToken"] = token
            for query in call.queries:
                series.setdefault(query, [])
        return Fetched(series, forbidden)

    def hosts(self, account: str, namespace: str, prefixes: Iterable[str]) -> dict[str, list[str]]:
        """Hosts whose `Host` value starts with `<prefix>/` (transform hosts end in an instance id).

        The slash keeps `job-1` from matching `job-10`. One paginated ListMetrics per account,
        of at most MAX_LISTED metrics: the account publishes what is listed (PutMetricData takes
        that namespace), and listing more would spend the batch's time, every account's."""
        wanted = {prefix: f"{prefix}/" for prefix in prefixes}
        found: dict[str, set[str]] = {prefix: set() for prefix in wanted}
        paginator = self.api.get_paginator("list_metrics")
        pages = paginator.paginate(
            Namespace=namespace,
            MetricName="CPUUtilization",
            Dimensions=[{"Name": "Host"}],
            IncludeLinkedAccounts=True,
            OwningAccount=account,
            PaginationConfig={"MaxItems": self.MAX_LISTED},
        )
        for page in pages:
            for metric in page.get("Metrics", []):
                for dimension in metric.get("Dimensions", []):
                    if dimension.get("Name") != "Host":
                        continue
                    for prefix, with_slash in wanted.items():
                        if dimension["Value"].startswith(with_slash):
                            found[prefix].add(dimension["Value"])
        return {prefix: sorted(hosts) for prefix, hosts in found.items()}


class EndpointActivity(Adapter):
    """Invocation metrics of endpoint variants in linked accounts (GetMetricData with AccountId):
    their traffic for idle endpoints, their errors and latency for their health."""

    service = "cloudwatch"
    MAX_QUERIES = 500  # per GetMetricData call
    MAX_POINTS = 100_800  # per GetMetricData call
    PERIOD = 3600
    HEALTH = (("Invocations", "Sum"), ("Invocation5XXErrors", "Sum"), ("ModelLatency", "Average"))

    def invocations(
        self,
        account: str,
        endpoints: Mapping[str, Sequence[str]],
        start: datetime,
        end: datetime,
    ) -> dict[str, float | None]:
        """Invocations per endpoint, summed over its variants and the window, in as few calls as
        the API's limits allow; None for all when the account does not share its metrics."""
        pairs = [(name, variant) for name, variants in endpoints.items() for variant in variants]
        queries = [_query(account, name, variant, "Invocations", "Sum", self.PERIOD)
                   for name, variant in pairs]  # fmt: skip
        totals: dict[str, float | None] = dict.fromkeys(endpoints, 0.0)
        results = self._results(queries, start, end, self.PERIOD)
        if results is None:
            return dict.fromkeys(endpoints)
        for index, _, values in results:
            name = pairs[index][0]
            totals[name] = (totals[name] or 0.0) + sum(values)
        return totals

    def health(
        self,
        account: str,
        variants: Mapping[tuple[str, str], Collection[Signal]],
        start: datetime,
        end: datetime,
        requests: bool = True,
    ) -> dict[tuple[str, str], list[Minute]] | None:
        """Each (endpoint, variant)'s minutes from `start` to `end`: its requests (0 when not
        `requests`), and what its judged signals need (5XX errors, mean model latency in ms;
        every metric asked for is billed); None when the account does not share its metrics."""
        asked = [
            (pair, slot)
            for pair, signals in variants.items()
            for slot, signal in enumerate((None, Signal.ERRORS, Signal.LATENCY))
            if (requests if signal is None else signal in signals)
        ]
        queries = [_query(account, *pair, *self.HEALTH[slot], 60) for pair, slot in asked]
        results = self._results(queries, start, end, 60)
        if results is None:
            return None
        by_minute: dict[tuple[str, str], dict[datetime, list[float | None]]] = {
            pair: {} for pair in variants
        }
        for index, timestamps, values in results:
            pair, slot = asked[index]
            for at, value in zip(timestamps, values, strict=False):
                by_minute[pair].setdefault(at, [0.0, 0.0, None])[slot] = value
        return {
            pair: [
                Minute(at, float(v[0] or 0.0), float(v[1] or 0.0),
                       None if v[2] is None else v[2] / 1000)  # microseconds
                for at, v in sorted(minutes.items())
            ]
            for pair, minutes in by_minute.items()
        }  # fmt: skip

    def _results(
        self, queries: list[dict[str, Any]], start: datetime, end: datetime, period: int
    ) -> list[tuple[int, list[datetime], list[float]]] | None:
        """(query index, timestamps, values) of every query, in as few calls as the API's limits
        allow; None when the account does not share its metrics (StatusCode Forbidden)."""
        points = max(1, int((end - start).total_seconds()) // period + 1)
        per_call = max(1, min(self.MAX_QUERIES, self.MAX_POINTS // points))
        found: list[tuple[int, list[datetime], list[float]]] = []
        for offset in range(0, len(queries), per_call):
            chunk = queries[offset : offset + per_call]
            kwargs: dict[str, Any] = {
                "MetricDataQueries": [q | {"Id": f"q{i}"} for i, q in enumerate(chunk)],
                "StartTime": start,
                "EndTime": end,
            }
            while True:
                response = self.api.get_metric_data(**kwargs)
                for result in response.get("MetricDataResults", []):
                    status = result.get("StatusCode", "Complete")
                    if status == "Forbidden":
                        return None
                    if status == "InternalError":  # a missing count is not zero: never "idle"
                        raise RetryableError(f"GetMetricData: {result.get('Messages') or status}")
                    found.append(
                        (
                            offset + int(result["Id"][1:]),
                            list(result.get("Timestamps", [])),
                            list(result.get("Values", [])),
                        )
                    )
                if not response.get("NextToken"):
                    break
                kwargs["NextToken"] = response["NextToken"]
        return found


def _query(
    account: str, endpoint: str, variant: str, metric: str, stat: str, period: int
) -> dict[str, Any]:
    return {
        "MetricStat": {
            "Metric": {
                "Namespace": "AWS/SageMaker",
                "MetricName": metric,
                "Dimensions": [
                    {"Name": "EndpointName", "Value": endpoint},
                    {"Name": "VariantName", "Value": variant},
                ],
            },
            "Period": period,
            "Stat": stat,
        },
        "AccountId": account,
    }
