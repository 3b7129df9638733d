"""`EmbeddedAws`: the monitoring account on moto, in-process, provisioned from template.yaml.

Real APIs throughout: the bus's rules are created from template.yaml's own patterns and targets;
rule targets deliver to a log group and SQS queues; the enricher's PutEvents, GetMetricData and
ListMetrics, the alerter's SNS and DynamoDB calls all hit moto. This class holds the stack's
life (enter, reset, leave), its clients and the environment; the parts are in `provision`
(the resources), `runtime` (the hops moto cannot play: the bus's forwarding and Lambda),
`observe` (what the functions did) and `inputs` (events and metrics).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from sagewatch import moto_patches
from sagewatch import template as cfn
from sagewatch.embedded.inputs import seed_host_metrics
from sagewatch.embedded.observe import Observations, Outcome
from sagewatch.embedded.provision import (
    MOTO_CREDENTIALS,
    MOTO_ENVIRONMENT,
    Resources,
    invocations_queue,
    provision,
    sdk_client,
)
from sagewatch.embedded.runtime import (
    LambdaPoller,
    SqsQueues,
    forward_to_bus,
    invoke_in_process,
    reset_function_caches,
)
from sagewatch.faults import FaultInjector, parse_spec
from sagewatch.redrive import Redriver
from shared.platform.clock import Clock, system_clock


class EmbeddedAws:
    _resources: Resources  # provisioned on entering, again on each reset

    def __init__(
        self,
        parameters: Mapping[str, str] | None = None,
        faults: str | None = None,
        clock: Clock = system_clock,
    ) -> None:
        """`clock` is the functions' time and the bus's (tests pass a `FixedClock`)."""
        self.parameters = cfn.parameter_defaults() | dict(parameters or {})
        self.clock = clock
        self.observed = Observations()
        self.injector = FaultInjector(parse_spec(faults or ""))
        self._saved_env: dict[str, str | None] = {}
        self._entered_env: dict[str, str] = {}  # os.environ just after entering (for reset)
        self._mock: Any = None
        self._clients: dict[str, Any] = {}

    # ---- lifecycle -------------------------------------------------------------------------
    def __enter__(self) -> EmbeddedAws:
        from moto import mock_aws

        moto_patches.install()
        self._set_env(MOTO_ENVIRONMENT)
        self._mock = mock_aws()
        self._mock.start()
        reset_function_caches(self.clock)
        self._resources = provision(self.client, self.parameters)
        self._entered_env = dict(os.environ)
        return self

    def __exit__(self, *exc: object) -> None:
        self._mock.stop()
        self._mock = None
        reset_function_caches(system_clock)
        _restore_env(self._saved_env)

    def reset(self, faults: str | None = None, clock: Clock = system_clock) -> EmbeddedAws:
        """This stack as a new `EmbeddedAws(parameters, faults, clock)` would be just entered,
        without leaving moto (tests share one stack per module and reset it for each test).

        moto drops everything it holds, in every account (what a test put, added or broke), and
        the stack is provisioned again with the same clients; what the functions did is
        forgotten and their services are built anew on their next invocation; the environment
        is as just after entering. Moto's patches and this stack's clients stay as they are."""
        from moto.core.base_backend import BackendDict
        from moto.core.model_instances import reset_model_data

        if self._mock is None:
            raise RuntimeError("reset() is for an entered EmbeddedAws")
        BackendDict.reset()  # what moto's own start does, without restarting its patches
        reset_model_data()
        # Every variable set since: as it was after entering.
        _restore_env({name: self._entered_env.get(name) for name in self._saved_env})
        self.clock = clock
        self.observed = Observations()
        self.injector = FaultInjector(parse_spec(faults or ""))
        reset_function_caches(clock)
        self._resources = provision(self.client, self.parameters)
        return self

    def _set_env(self, values: Mapping[str, str]) -> None:
        for name, value in values.items():
            self._saved_env.setdefault(name, os.environ.get(name))
            os.environ[name] = value

    def client(self, service: str) -> Any:
        """A client of the monitoring account, whatever credentials the environment holds (an
        embedded workload account's code may be running)."""
        if service not in self._clients:  # one each: clients are costly to make
            self._clients[service] = sdk_client(service, MOTO_CREDENTIALS)
        return self._clients[service]

    # ---- what provisioning made ------------------------------------------------------------
    @property
    def bus_name(self) -> str:
        return self._resources.bus_name

    @property
    def bus_arn(self) -> str:
        return self._resources.bus_arn

    @property
    def queues(self) -> dict[str, str]:
        return self._resources.queues

    @property
    def topics(self) -> dict[str, str]:
        return self._resources.topics

    @property
    def function_env(self) -> dict[str, dict[str, str]]:
        return self._resources.function_env

    @property
    def enrichment_max_receives(self) -> int:
        return self._resources.enrichment_max_receives

    def outputs(self) -> dict[str, str]:
        return self._resources.outputs()

    # ---- what goes in ----------------------------------------------------------------------
    def seed_metrics(self, document: Mapping[str, Any]) -> int:
        """Datapoints from the documented `--metrics` format (see docs/metrics-format.md)."""
        return seed_host_metrics(self.client("cloudwatch"), document)

    def deliver(self, raw: Any) -> None:
        """Put one event on the bus as a workload account's forwarding rule would."""
        forward_to_bus(self.bus_name, raw, self.clock, self.observed)

    # ---- the functions ---------------------------------------------------------------------
    def run(self) -> None:
        """Invoke functions until no queue has work left (summaries last, when all is idle)."""
        queues = SqsQueues(self.client("sqs"), self._resources.queues)
        LambdaPoller(queues, self._resources.async_attempts, self.invoke, self.clock).run()

    def schedule(self, function: str, event: Any) -> None:
        """A schedule's invocation: asynchronous, as EventBridge invokes the function (Lambda's
        retries, then its on-failure destination), on the next `run`."""
        queues = SqsQueues(self.client("sqs"), self._resources.queues)
        queues.send(invocations_queue(function), json.dumps(event))

    def invoke(self, function: str, event: Any) -> Any:
        """One invocation, in the function's environment. The poller's invocations come through
        here too: bench times the functions by wrapping this method."""
        self._set_env(self.function_env[function])
        return invoke_in_process(function, event, self.observed, self.injector)

    # ---- what happened ---------------------------------------------------------------------
    def _outcome(self) -> Outcome:
        return Outcome(self.client, self._resources, self.observed)

    def archived(self) -> list[dict[str, Any]]:
        return self._outcome().archived()

    def alerts(self) -> list[dict[str, Any]]:
        """Every alert in its three renderings, as the subscribers of each topic receive them."""
        return self._outcome().alerts()

    def reports(self, archived: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        return self._outcome().reports(archived)

    def redriver(self) -> Redriver:
        """`sagewatch redrive` wired to the embedded queues (functions: their stand-in queue)."""
        return self._outcome().redriver()

    def dead_letters(self) -> list[dict[str, Any]]:
        return self._outcome().dead_letters()

    def summary(self) -> dict[str, Any]:
        return self._outcome().summary()


def _restore_env(values: Mapping[str, str | None]) -> None:
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
