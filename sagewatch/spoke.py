"""The workload (spoke) side of sagewatch, seen from Python: the event contract shared with the
monitoring side, and the inventory collector (inline/collector.py, which `make generate` writes
into workload-template.yaml's `Code.ZipFile`; a test fails when the two differ, so tests and the
embedded AWS run the code the template deploys)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

from sagewatch.template import ROOT, WORKLOAD_TEMPLATE, load, substitute
from shared.contracts import inventory as fleet

# The event contract is the monitoring side's (shared.fleet): one definition for both sides.
HEARTBEAT_SOURCE, HEARTBEAT_DETAIL_TYPE = fleet.HEARTBEAT_SOURCE, fleet.HEARTBEAT_DETAIL_TYPE
INVENTORY_SOURCE, INVENTORY_DETAIL_TYPE = fleet.INVENTORY_SOURCE, fleet.SNAPSHOT_DETAIL_TYPE
REFRESH_SOURCE, REFRESH_DETAIL_TYPE = fleet.REFRESH_SOURCE, fleet.REFRESH_DETAIL_TYPE

COLLECTOR = ROOT / "inline" / "collector.py"
COLLECTOR_FUNCTION = "InventoryCollectorFunction"
COLLECTOR_ROLE = "InventoryCollectorRole"
KPI_NAMES = tuple(fleet.KPIS)


def load_collector(path: Path = COLLECTOR) -> ModuleType:
    """A fresh `index` module of the collector (its own REGISTRY and client cache), as Lambda
    imports the template's inline code."""
    spec = importlib.util.spec_from_file_location("index", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load the collector from {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def heartbeat_detail(
    *,
    interval_minutes: int = 15,
    project: str = "",
    environment: str = "",
    stack: str = "sagewatch-workload",
    path: Path = WORKLOAD_TEMPLATE,
) -> dict[str, Any]:
    """The detail of the heartbeat HeartbeatSchedule sends for these parameter values, rendered
    from the template's own `Input` (for the embedded AWS and tests of the monitoring side)."""
    template = load(path)
    schedule = template["Resources"]["HeartbeatSchedule"]["Properties"]
    refs = {
        "HeartbeatMinutes": str(interval_minutes),
        "Project": project,
        "Environment": environment,
        "AWS::StackName": stack,
    }
    detail: dict[str, Any] = json.loads(substitute(schedule["Target"]["Input"], refs, template))
    return detail


def refresh_request(request_id: str, event_bus: str | None = None) -> dict[str, Any]:
    """A PutEvents entry asking for a snapshot; the collector echoes `request_id` (letters,
    digits and `._:-`, at most 128). In AWS the monitoring account puts it on its own bus, whose
    rule targets the workload accounts' default buses (EventBridge documents cross-account
    delivery through rule targets, not PutEvents naming another account's bus); in the embedded
    AWS it may go straight to a workload default bus. No `event_bus`: this account's default bus."""
    entry: dict[str, Any] = {
        "Source": REFRESH_SOURCE,
        "DetailType": REFRESH_DETAIL_TYPE,
        "Detail": json.dumps({"request_id": request_id}),
    }
    if event_bus is not None:
        entry["EventBusName"] = event_bus
    return entry
