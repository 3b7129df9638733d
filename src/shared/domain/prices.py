"""On-demand prices of ml.* instance types, from the dated table shipped in data/prices.json.

The figures are estimates for training jobs, copied from a snapshot of AWS's public price list
(see the file's notes and sources): good for "roughly how much did this job cost", not for a bill.
A type or region the table does not know has no price, never a guessed one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any


@dataclass(frozen=True, slots=True)
class Price:
    usd_per_hour: float
    region: str
    instance_type: str
    as_of: str  # ISO date of the price snapshot


@cache
def _document() -> dict[str, Any]:
    text = resources.files("shared").joinpath("data/prices.json").read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


def price_table_as_of() -> str:
    """ISO date of the snapshot the prices were taken from (read on first use: the table is
    not loaded at import, which every cold start pays)."""
    return str(_document()["as_of"])


def hourly_price(region: str, instance_type: str) -> Price | None:
    """The on-demand USD/hour of one instance, or None when the table has no such price."""
    value = _document()["regions"].get(region, {}).get(instance_type)
    if value is None:
        return None
    return Price(float(value), region, instance_type, price_table_as_of())


def cost_estimate(region: str, groups: Sequence[tuple[str, float]]) -> float | None:
    """USD for (instance_type, instance_hours) pairs in one region; None if any type is unpriced."""
    total = 0.0
    for instance_type, instance_hours in groups:
        price = hourly_price(region, instance_type)
        if price is None:
            return None
        total += price.usd_per_hour * instance_hours
    return total
