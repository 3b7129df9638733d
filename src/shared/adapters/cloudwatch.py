"""CloudWatch: job host metrics for the enricher, endpoint traffic for the fleet."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from shared.adapters.boto import Adapter
from shared.domain.utilization import Call, JobKey, Query
from shared.platform.errors import RetryableError
from shared.ports import Fetched


class MetricsReader(Adapter):
    service = "cloudwatch"

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

        The slash keeps `job-1` from matching `job-10`. One paginated ListMetrics per account."""
        wanted = {prefix: f"{prefix}/" for prefix in prefixes}
        found: dict[str, set[str]] = {prefix: set() for prefix in wanted}
        paginator = self.api.get_paginator("list_metrics")
        pages = paginator.paginate(
            Namespace=namespace,
            MetricName="CPUUtilization",
            Dimensions=[{"Name": "Host"}],
            IncludeLinkedAccounts=True,
            OwningAccount=account,
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
    """Invocations of endpoint variants in linked accounts (GetMetricData with AccountId)."""

    service = "cloudwatch"
    MAX_QUERIES = 500  # per GetMetricData call
    MAX_POINTS = 100_800  # per GetMetricData call
    PERIOD = 3600

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
        points = max(1, int((end - start).total_seconds()) // self.PERIOD + 1)
        per_call = max(1, min(self.MAX_QUERIES, self.MAX_POINTS // points))
        totals: dict[str, float | None] = dict.fromkeys(endpoints, 0.0)
        for offset in range(0, len(pairs), per_call):
            chunk = pairs[offset : offset + per_call]
            queries = [
                _invocations_query(f"q{i}", account, name, variant)
                for i, (name, variant) in enumerate(chunk)
            ]
            kwargs: dict[str, Any] = {
                "MetricDataQueries": queries,
                "StartTime": start,
                "EndTime": end,
            }
            while True:
                response = self.api.get_metric_data(**kwargs)
                for result in response.get("MetricDataResults", []):
                    status = result.get("StatusCode", "Complete")
                    if status == "Forbidden":
                        return dict.fromkeys(endpoints)
                    if status == "InternalError":  # a missing count is not zero: never "idle"
                        raise RetryableError(f"GetMetricData: {result.get('Messages') or status}")
                    name = chunk[int(result["Id"][1:])][0]
                    totals[name] = (totals[name] or 0.0) + sum(result.get("Values", []))
                if not response.get("NextToken"):
                    break
                kwargs["NextToken"] = response["NextToken"]
        return totals


def _invocations_query(query_id: str, account: str, endpoint: str, variant: str) -> dict[str, Any]:
    return {
        "Id": query_id,
        "MetricStat": {
            "Metric": {
                "Namespace": "AWS/SageMaker",
                "MetricName": "Invocations",
                "Dimensions": [
                    {"Name": "EndpointName", "Value": endpoint},
                    {"Name": "VariantName", "Value": variant},
                ],
            },
            "Period": EndpointActivity.PERIOD,
            "Stat": "Sum",
        },
        "AccountId": account,
    }
