"""us-east-1 list prices, each with where it was read and when. Estimates, not a quote.

Read 2026-12-01 from the stored copies of public pages the tool library holds (its `search`
tool); no live page was fetched. Where the AWS page's own copy showed the figure, the AWS page
is the source; where it did not (the pages render their rate tables client-side), the
third-party page that quotes it is named too, with its own date. No free tier is applied: free
tiers are per account and shared with whatever else the account runs.
"""

from __future__ import annotations

from dataclasses import dataclass

READ = "2026-12-01"


@dataclass(frozen=True)
class Price:
    usd: float  # per one `unit`
    unit: str
    source: str


PRICES: dict[str, Price] = {
    # Lambda: https://aws.amazon.com/lambda/pricing/ (rates quoted by cloudchipr.com's "AWS
    # Lambda Pricing Breakdown" and git.mcrn.ar lambda-13-cost.md, 2026-05).
    "lambda_request": Price(
        0.20 / 1e6, "request", "aws.amazon.com/lambda/pricing ($0.20 per 1M requests)"
    ),
    "lambda_gb_second_arm64": Price(
        0.0000133334, "GB-second", "aws.amazon.com/lambda/pricing (Arm, first 7.5B GB-s)"
    ),
    "lambda_gb_second_x86": Price(
        0.0000166667, "GB-second", "aws.amazon.com/lambda/pricing (x86, first 6B GB-s)"
    ),
    # CloudWatch: https://aws.amazon.com/cloudwatch/pricing/ (tiers quoted from that page in
    # github.com/nishinoshake/aws-rough/issues/37; dashboards, alarms: c3x.dev, 2026).
    "cw_custom_metric_month": Price(
        0.30,
        "metric-month (first 10,000; then $0.10 to 250,000, $0.05 to 1M, $0.02)",
        "aws.amazon.com/cloudwatch/pricing: custom metrics, prorated by the hour",
    ),
    "cw_getmetricdata_metric": Price(
        0.01 / 1000, "metric requested", "aws.amazon.com/cloudwatch/pricing (GetMetricData)"
    ),
    "cw_api_request": Price(
        0.01 / 1000, "request", "aws.amazon.com/cloudwatch/pricing (ListMetrics and others)"
    ),
    "cw_dashboard_month": Price(3.00, "dashboard-month", "aws.amazon.com/cloudwatch/pricing"),
    "cw_alarm_metric_month": Price(
        0.10, "alarm metric-month (standard resolution)", "aws.amazon.com/cloudwatch/pricing"
    ),
    # CloudWatch Logs, standard class (aws.amazon.com/cloudwatch/pricing; c3x.dev "CloudWatch
    # Logs cost optimization", us-east-1 June 2026; hykell.com).
    "logs_ingest_gb": Price(0.50, "GB ingested", "aws.amazon.com/cloudwatch/pricing (Logs)"),
    "logs_storage_gb_month": Price(
        0.03, "GB-month stored", "aws.amazon.com/cloudwatch/pricing (Logs archive storage)"
    ),
    # EventBridge: https://aws.amazon.com/eventbridge/pricing/ (rates quoted by cloudburn.io,
    # March 2026); who pays a cross-account event: docs.aws.amazon.com/eventbridge/latest/
    # userguide/eb-cross-account.html ("charged to the sending account as custom events").
    "eventbridge_custom_event": Price(
        1.00 / 1e6, "event (64 KB chunk)", "aws.amazon.com/eventbridge/pricing (custom events)"
    ),
    "eventbridge_cross_account_event": Price(
        1.00 / 1e6,
        "event delivered to another account (64 KB chunk), sender pays",
        "docs.aws.amazon.com/eventbridge/latest/userguide/eb-cross-account.html",
    ),
    "eventbridge_archive_gb": Price(
        0.10, "GB archived (processing)", "aws.amazon.com/eventbridge/pricing (archive)"
    ),
    "eventbridge_archive_storage_gb_month": Price(
        0.023, "GB-month stored", "aws.amazon.com/eventbridge/pricing (archive storage)"
    ),
    "scheduler_invocation": Price(
        1.00 / 1e6, "scheduled invocation", "aws.amazon.com/eventbridge/pricing (Scheduler)"
    ),
    # SNS: https://aws.amazon.com/sns/pricing/ (factualminds.com "Amazon SNS Pricing", June 2026).
    "sns_publish": Price(0.50 / 1e6, "publish (64 KB chunk)", "aws.amazon.com/sns/pricing"),
    "sns_email_delivery": Price(2.00 / 100_000, "email notification", "aws.amazon.com/sns/pricing"),
    "sns_https_delivery": Price(0.60 / 1e6, "HTTP/S delivery", "aws.amazon.com/sns/pricing"),
    "sns_sqs_delivery": Price(0.0, "delivery to SQS (no charge)", "aws.amazon.com/sns/pricing"),
    # SQS: https://aws.amazon.com/sqs/pricing/ (factualminds.com, June 2026; unanswered.io).
    "sqs_request": Price(
        0.40 / 1e6, "request (64 KB chunk), standard queue", "aws.amazon.com/sqs/pricing"
    ),
    # DynamoDB on-demand after the November 2024 cut: https://aws.amazon.com/dynamodb/pricing/
    # (airbyte.com "Amazon DynamoDB Pricing", July 2025).
    "dynamodb_write_unit": Price(
        0.625 / 1e6, "write request unit (1 KB)", "aws.amazon.com/dynamodb/pricing"
    ),
    "dynamodb_read_unit": Price(
        0.125 / 1e6,
        "read request unit (4 KB strong, 8 KB eventual)",
        "aws.amazon.com/dynamodb/pricing",
    ),
    # KMS: https://aws.amazon.com/kms/pricing/ (the stored copy shows $1/month a key; requests
    # from wring.co "AWS KMS pricing guide").
    "kms_key_month": Price(1.00, "customer managed key-month", "aws.amazon.com/kms/pricing"),
    "kms_request": Price(0.03 / 10_000, "request", "aws.amazon.com/kms/pricing"),
}

CUSTOM_METRIC_TIERS = ((10_000, 0.30), (240_000, 0.10), (750_000, 0.05), (float("inf"), 0.02))


def custom_metrics_usd(metric_months: float) -> float:
    """The month's custom-metric charge for this many metric-months (tiers applied)."""
    usd, left = 0.0, metric_months
    for size, price in CUSTOM_METRIC_TIERS:
        used = min(left, size)
        usd += used * price
        left -= used
        if left <= 0:
            break
    return usd


def table() -> dict[str, dict[str, object]]:
    """The prices as results.json records them."""
    return {
        name: {"usd": price.usd, "unit": price.unit, "source": price.source, "read": READ}
        for name, price in PRICES.items()
    }
