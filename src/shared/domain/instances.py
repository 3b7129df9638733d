"""Capacity of ml.* instance types, from the table shipped in data/instance_types.json."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True, slots=True)
class InstanceSpec:
    instance_type: str
    vcpus: int
    gpus: int
    memory_gib: float
    accelerators: int = 0  # Trainium / Inferentia chips: their load is not in GPUUtilization


@cache
def _table() -> dict[str, InstanceSpec]:
    raw = json.loads(resources.files("shared").joinpath("data/instance_types.json").read_text())
    return {
        name: InstanceSpec(
            name,
            int(spec["vcpus"]),
            int(spec["gpus"]),
            float(spec["memory_gib"]),
            int(spec.get("accelerators", 0)),
        )
        for name, spec in raw["instance_types"].items()
    }


def instance_spec(instance_type: str) -> InstanceSpec | None:
    """None for a type the table does not know: such a job gets no verdict, never a wrong one."""
    return _table().get(instance_type)
