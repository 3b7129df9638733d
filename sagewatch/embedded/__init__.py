"""An embedded AWS (moto, in-process) provisioned as the monitoring account from template.yaml.

`EmbeddedAws` (stack.py) is the stack, entered, reset and left; its parts, each importing only
those listed before it:

* provision.py: the stack's names and resources, created in moto from template.yaml
* observe.py: what the functions did, captured as they run and read back from the stack
* runtime.py: the hops moto cannot play (a workload account's forwarding, Lambda)
* inputs.py: events from files, host metrics from the `--metrics` document, the replay clock
* stack.py: `EmbeddedAws`
* memory.py: `MemoryAws`, the same stack in memory (the functions' own code, moto off the hot
  path): what `replay` runs on unless faults are injected
* replay.py: `replay`, events through a new stack

The names below are what the CLI, the workload account, bench and the tests import.
"""

from sagewatch.embedded.inputs import load_events, replay_clock
from sagewatch.embedded.memory import MemoryAws
from sagewatch.embedded.observe import Observations, emf_metrics
from sagewatch.embedded.provision import (
    ACCOUNT,
    ARCHIVE_LOG_GROUP,
    CHANNELS,
    DASHBOARD,
    FLEET_TABLE,
    FUNCTIONS,
    REGION,
    TABLE,
    sdk_client,
)
from sagewatch.embedded.replay import replay
from sagewatch.embedded.runtime import invoke_real
from sagewatch.embedded.stack import EmbeddedAws

__all__ = [
    "ACCOUNT",
    "ARCHIVE_LOG_GROUP",
    "CHANNELS",
    "DASHBOARD",
    "FLEET_TABLE",
    "FUNCTIONS",
    "REGION",
    "TABLE",
    "EmbeddedAws",
    "MemoryAws",
    "Observations",
    "emf_metrics",
    "invoke_real",
    "load_events",
    "replay",
    "replay_clock",
    "sdk_client",
]
