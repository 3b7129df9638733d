"""The workload (spoke) side of sagewatch, seen from Python: the event contract shared with the
monitoring side, and the inventory collector, read from workload-template.yaml's inline
`Code.ZipFile` and imported as a module (tests and the embedded AWS run the code the template
deploys, never a copy of it)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import ModuleType
from typing import Any

from sagewatch.template import WORKLOAD_TEMPLATE, load, resolve
from shared import fleet

# The event contract is the monitoring side's (shared.fleet): one definition for both sides.
HEARTBEAT_SOURCE, HEARTBEAT_DETAIL_TYPE = fleet.HEARTBEAT_SOURCE, fleet.HEARTBEAT_DETAIL_TYPE
INVENTORY_SOURCE, INVENTORY_DETAIL_TYPE = fleet.INVENTORY_SOURCE, fleet.SNAPSHOT_DETAIL_TYPE
REFRESH_SOURCE, REFRESH_DETAIL_TYPE = fleet.REFRESH_SOURCE, fleet.REFRESH_DETAIL_TYPE

COLLECTOR_FUNCTION = "InventoryCollectorFunction"
COLLECTOR_ROLE = "InventoryCollectorRole"
KPI_NAMES = tuple(fleet.KPIS)


def collector_source(path: Path = WORKLOAD_TEMPLATE) -> str:
    """The collector's Python source, as CloudFormation writes it to `index.py`."""
    function = load(path)["Resources"][COLLECTOR_FUNCTION]["Properties"]
    source = function["Code"]["ZipFile"]
    if not isinstance(source, str):
        raise ValueError(f"{path.name} {COLLECTOR_FUNCTION}: Code.ZipFile is not literal code")
    return source


def load_collector(path: Path = WORKLOAD_TEMPLATE) -> ModuleType:
    """A fresh module made of the collector's inline code (its own REGISTRY and client cache)."""
    module = ModuleType("index")
    module.__file__ = f"{path}#{COLLECTOR_FUNCTION}"
    code = compile(collector_source(path), module.__file__, "exec")
    exec(code, module.__dict__)  # noqa: S102 - the template's own code, as Lambda would run it
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
    text, variables = template["Resources"]["HeartbeatSchedule"]["Properties"]["Target"]["Input"][
        "Fn::Sub"
    ]
    refs = {
        "HeartbeatMinutes": str(interval_minutes),
        "Project": project,
        "Environment": environment,
        "AWS::StackName": stack,
    }
    values = refs | {name: str(resolve(v, refs, template)) for name, v in variables.items()}
    detail: dict[str, Any] = json.loads(re.sub(r"\$\{([^}]+)\}", lambda m: values[m[1]], text))
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
