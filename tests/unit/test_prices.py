"""shared.prices: the dated on-demand price table and the cost estimate built on it."""

from __future__ import annotations

import json
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

import pytest

from shared.domain.instances import instance_spec
from shared.domain.prices import Price, cost_estimate, hourly_price, price_table_as_of

REQUIRED_REGIONS = [
    "us-east-1",
    "us-east-2",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "ap-northeast-1",
    "ap-southeast-2",
]
MIN_USD_PER_HOUR = 0.01
MAX_USD_PER_HOUR = 200.0
# Same size, GPU type vs general-purpose CPU type.
GPU_VS_CPU = [
    ("ml.g4dn.xlarge", "ml.m5.xlarge"),
    ("ml.g5.xlarge", "ml.m5.xlarge"),
    ("ml.g5.2xlarge", "ml.m5.2xlarge"),
    ("ml.g5.4xlarge", "ml.m5.4xlarge"),
    ("ml.g5.12xlarge", "ml.m5.12xlarge"),
    ("ml.g5.24xlarge", "ml.m5.24xlarge"),
    ("ml.p3.2xlarge", "ml.m5.2xlarge"),
]


@cache
def _raw() -> dict[str, Any]:
    text = resources.files("shared").joinpath("data/prices.json").read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


def _all_rows() -> list[tuple[str, str, float]]:
    return [
        (region, instance_type, float(value))
        for region, table in _raw()["regions"].items()
        for instance_type, value in table.items()
    ]


def test_given_known_type_and_region_when_priced_then_table_value_and_date_returned() -> None:
    price = hourly_price("us-east-1", "ml.m5.xlarge")

    assert price == Price(
        usd_per_hour=_raw()["regions"]["us-east-1"]["ml.m5.xlarge"],
        region="us-east-1",
        instance_type="ml.m5.xlarge",
        as_of=price_table_as_of(),
    )
    assert price.usd_per_hour == pytest.approx(0.23)


def test_given_same_type_in_two_regions_when_priced_then_each_region_has_its_own_price() -> None:
    virginia = hourly_price("us-east-1", "ml.g5.xlarge")
    tokyo = hourly_price("ap-northeast-1", "ml.g5.xlarge")

    assert virginia is not None
    assert tokyo is not None
    assert tokyo.usd_per_hour > virginia.usd_per_hour


def test_given_unknown_type_when_priced_then_none() -> None:
    assert hourly_price("us-east-1", "ml.z9.mega") is None
    assert hourly_price("us-east-1", "m5.xlarge") is None  # an EC2 name is not an ml.* type


def test_given_unknown_region_when_priced_then_none() -> None:
    assert hourly_price("mars-north-1", "ml.m5.xlarge") is None
    assert hourly_price("", "ml.m5.xlarge") is None


def test_given_type_missing_from_one_region_when_priced_there_then_none_not_borrowed() -> None:
    assert hourly_price("us-east-1", "ml.trn1.32xlarge") is not None
    assert hourly_price("eu-west-1", "ml.trn1.32xlarge") is None


def test_given_table_when_dated_then_as_of_is_an_iso_date_not_in_the_future() -> None:
    as_of = price_table_as_of()

    assert as_of == _raw()["as_of"]
    assert date.fromisoformat(as_of).isoformat() == as_of
    assert date.fromisoformat(as_of) <= date.today()


def test_given_table_when_read_then_header_names_currency_usage_notes_and_sources() -> None:
    raw = _raw()

    assert raw["currency"] == "USD"
    assert raw["usage"] == "training"
    assert raw["notes"]
    assert raw["sources"]


def test_given_required_regions_when_read_then_each_has_the_priority_cpu_and_gpu_types() -> None:
    for region in REQUIRED_REGIONS:
        for instance_type in ("ml.m5.xlarge", "ml.c5.xlarge", "ml.g4dn.xlarge", "ml.g5.xlarge"):
            assert hourly_price(region, instance_type) is not None, (region, instance_type)


def test_given_every_priced_type_when_checked_then_instance_table_knows_it() -> None:
    unknown = sorted({t for _, t, _ in _all_rows() if instance_spec(t) is None})

    assert unknown == []


def test_given_every_price_when_checked_then_positive_and_within_plausible_band() -> None:
    out_of_band = [row for row in _all_rows() if not MIN_USD_PER_HOUR <= row[2] <= MAX_USD_PER_HOUR]

    assert _all_rows()
    assert out_of_band == []


@pytest.mark.parametrize(("gpu_type", "cpu_type"), GPU_VS_CPU)
def test_given_gpu_and_cpu_type_of_same_size_when_priced_then_gpu_costs_more(
    gpu_type: str, cpu_type: str
) -> None:
    compared = 0
    for region in _raw()["regions"]:
        gpu, cpu = hourly_price(region, gpu_type), hourly_price(region, cpu_type)
        if gpu is None or cpu is None:
            continue
        compared += 1
        assert gpu.usd_per_hour > cpu.usd_per_hour, region

    assert compared >= 1


def test_given_family_sizes_when_priced_then_price_grows_with_vcpus() -> None:
    for region in REQUIRED_REGIONS:
        sizes = ["ml.m5.large", "ml.m5.xlarge", "ml.m5.2xlarge", "ml.m5.4xlarge", "ml.m5.12xlarge"]
        prices = [hourly_price(region, t) for t in sizes]
        values = [p.usd_per_hour for p in prices if p is not None]
        assert values == sorted(values), region
        assert len(set(values)) == len(values), region


def test_given_groups_when_cost_estimated_then_sum_of_price_times_hours() -> None:
    m5, g5 = hourly_price("us-west-2", "ml.m5.xlarge"), hourly_price("us-west-2", "ml.g5.xlarge")
    assert m5 is not None
    assert g5 is not None

    cost = cost_estimate("us-west-2", [("ml.m5.xlarge", 10.0), ("ml.g5.xlarge", 2.5)])

    assert cost == pytest.approx(m5.usd_per_hour * 10.0 + g5.usd_per_hour * 2.5)


def test_given_the_same_type_twice_when_cost_estimated_then_hours_add_up() -> None:
    once = cost_estimate("eu-west-1", [("ml.c5.xlarge", 3.0)])
    split = cost_estimate("eu-west-1", [("ml.c5.xlarge", 1.0), ("ml.c5.xlarge", 2.0)])

    assert once is not None
    assert split == pytest.approx(once)


def test_given_no_groups_when_cost_estimated_then_zero() -> None:
    assert cost_estimate("us-east-1", []) == 0.0


def test_given_one_unpriced_type_when_cost_estimated_then_none_not_a_partial_sum() -> None:
    groups = [("ml.m5.xlarge", 4.0), ("ml.z9.mega", 1.0)]

    assert cost_estimate("us-east-1", groups) is None
    assert cost_estimate("mars-north-1", [("ml.m5.xlarge", 1.0)]) is None
