"""Every function's package, built by src/Makefile's recipe for `sam build`, run as Lambda runs it
(sagewatch/localinvoke.py, `make local-invoke`): under awslambdaric, with the python3.11
runtime's packages and nothing else of this environment, against the embedded AWS on localhost,
on its sample from events/, at the samples' own time.

The package is built once for the module (the four functions share their CodeUri and recipe),
from the wheels `make test` downloads beforehand (`lambda-wheels`): no test reaches the network.
The functions reach nothing but localhost either: their proxy refuses anything else, and each
test asserts nothing was refused.
"""

from __future__ import annotations

import ast
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement

from sagewatch.embedded.provision import (
    ARCHIVE_LOG_GROUP,
    CHANNELS,
    FLEET_TABLE,
    capture_queue,
    invocations_queue,
)
from sagewatch.localinvoke import (
    RUNTIME_DISTRIBUTIONS,
    SAMPLES,
    WHEELS,
    Result,
    Stack,
    build,
    invoke,
)
from sagewatch.localinvoke import runtime as runtime_folder
from sagewatch.template import EVENTS
from tests.integration.conftest import SAMPLES_SETTLED

pytestmark = pytest.mark.integration

DEMO_METRICS = json.loads(
    (Path(__file__).resolve().parents[2] / "sagewatch/data/demo-metrics.json").read_text()
)


@dataclass(frozen=True)
class Lambda:
    package: Path  # the build's output for one function
    runtime: Path  # the runtime's /var/runtime
    stack: Stack

    def run(self, function: str, event: bytes | None = None, **environment: str) -> Result:
        """A cold start of `function` on its sample (or `event`), on a stack as new."""
        self.stack.reset(DEMO_METRICS)
        sample = event if event is not None else (EVENTS / SAMPLES[function]).read_bytes()
        variables = self.stack.environment(function) | environment
        return invoke(self.package, variables, sample, self.runtime, SAMPLES_SETTLED.timestamp())

    def messages(self, queue: str) -> list[dict[str, Any]]:
        sqs = self.stack.client("sqs")
        url = self.stack.resources.queues[queue]
        return list(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []))

    def subjects(self) -> dict[str, list[str]]:
        """The Subject of what each rendering's subscriber received."""
        return {
            channel: [
                json.loads(m["Body"])["Subject"] for m in self.messages(capture_queue(channel))
            ]
            for channel in CHANNELS
        }


@pytest.fixture(scope="module")
def aws_lambda(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lambda]:
    if not WHEELS.is_dir():
        pytest.fail(f"no Lambda bundle wheels in {WHEELS}: run `make test` (it downloads them)")
    root = tmp_path_factory.mktemp("local-invoke")
    package = build(root / "package", wheels=WHEELS)
    with Stack() as stack:
        yield Lambda(package, runtime_folder(root / "runtime"), stack)


def answered(result: Result) -> Any:
    """The function's response, once it is known it answered and kept to localhost."""
    assert result.error_type is None, result.logs
    assert result.escaped == ()
    assert "canary-secret-" not in result.logs  # the samples' secrets stay out of the logs
    return result.response


def test_given_finished_jobs_when_the_enricher_runs_under_awslambdaric_then_each_is_reported(
    aws_lambda: Lambda,
) -> None:
    response = answered(aws_lambda.run("EnricherFunction"))

    assert response == {"batchItemFailures": []}
    archived = aws_lambda.stack.client("logs").filter_log_events(logGroupName=ARCHIVE_LOG_GROUP)
    details = [json.loads(e["message"])["detail-type"] for e in archived["events"]]
    assert details == ["Job Utilization Report"] * 3  # one per job of the batch, on the bus
    assert aws_lambda.messages(invocations_queue("alerter"))  # the wasteful ones reach the alerter


def test_given_a_failed_job_when_the_alerter_runs_under_awslambdaric_then_each_rendering_is_sent(
    aws_lambda: Lambda,
) -> None:
    response = answered(aws_lambda.run("AlerterFunction"))

    assert response["outcome"] == "alerted"
    for sent in aws_lambda.subjects().values():
        assert len(sent) == 1
        assert sent[0].startswith("[sagewatch] FAILED training job forecasting-deepar-retrain")


def test_given_a_closed_window_when_the_summarizer_runs_under_awslambdaric_then_it_sends_a_summary(
    aws_lambda: Lambda,
) -> None:
    response = answered(aws_lambda.run("SummarizerFunction"))

    assert response == {"batchItemFailures": []}
    for sent in aws_lambda.subjects().values():
        assert len(sent) == 1
        assert sent[0].startswith("[sagewatch] FAILED")
        assert "111122223333" in sent[0]


def test_given_a_heartbeat_when_the_fleet_function_runs_under_awslambdaric_then_it_is_recorded(
    aws_lambda: Lambda,
) -> None:
    response = answered(aws_lambda.run("FleetFunction"))

    assert response == {"outcome": "recorded", "account": "444455556666", "region": "eu-west-1"}
    items = aws_lambda.stack.client("dynamodb").scan(TableName=FLEET_TABLE)["Items"]
    assert [item["id"]["S"] for item in items] == ["source|444455556666|eu-west-1"]


def test_given_a_handler_importing_what_the_runtime_lacks_then_init_fails_as_on_lambda(
    aws_lambda: Lambda, tmp_path: Path
) -> None:
    (tmp_path / "needs_moto.py").write_text(
        "import moto\n\ndef handler(event, context):\n    return 1\n"
    )
    (tmp_path / "fails.py").write_text("def handler(event, context):\n    raise ValueError('no')\n")
    lambda_ = Lambda(tmp_path, aws_lambda.runtime, aws_lambda.stack)

    missing = lambda_.run("FleetFunction", b"{}", _HANDLER="needs_moto.handler")
    failing = lambda_.run("FleetFunction", b"{}", _HANDLER="fails.handler")

    assert missing.error_type == "Runtime.ImportModuleError"
    assert "No module named 'moto'" in missing.response["errorMessage"]
    assert failing.error_type == "Unhandled"
    assert (failing.response["errorType"], failing.response["errorMessage"]) == ("ValueError", "no")


def test_given_the_package_then_it_ships_nothing_the_runtime_has_and_lacks_nothing_it_needs(
    aws_lambda: Lambda,
) -> None:
    bundled = {_name(d): d for d in metadata.distributions(path=[str(aws_lambda.package)])}
    runtime = {_name(d): d for d in metadata.distributions(path=[str(aws_lambda.runtime)])}
    assert set(runtime) == {_name(name) for name in RUNTIME_DISTRIBUTIONS}
    assert not set(bundled) & set(runtime), "the runtime has these: do not ship them"

    # What each bundled distribution requires (its extras aside), on Lambda's python3.11.
    environment = {"python_version": "3.11", "sys_platform": "linux", "extra": ""}
    unmet = []
    for name, distribution in bundled.items():
        for text in distribution.requires or ():
            requirement = Requirement(text)
            if requirement.marker and not requirement.marker.evaluate(environment):
                continue
            found = bundled.get(_name(requirement.name)) or runtime.get(_name(requirement.name))
            if found is None or found.version not in requirement.specifier:
                unmet.append(f"{name} needs {requirement}")
    assert unmet == []

    # And every module our code imports is ours, the standard library's, or one of theirs.
    provided = {"handlers", "shared"} | set(sys.stdlib_module_names)
    for distribution in (*bundled.values(), *runtime.values()):
        provided |= {Path(str(f)).parts[0].removesuffix(".py") for f in distribution.files or ()}
    imported = {
        (node.module if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]
        for source in (aws_lambda.package / "handlers", aws_lambda.package / "shared")
        for path in source.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Import | ast.ImportFrom) and not getattr(node, "level", 0)
        for alias in node.names
        if isinstance(node, ast.Import) or node.module
    }
    assert imported - provided == set()


def _name(distribution: metadata.Distribution | str) -> str:
    """A distribution's name as pip compares them (PEP 503)."""
    name = distribution if isinstance(distribution, str) else distribution.metadata["Name"]
    return name.lower().replace("_", "-").replace(".", "-")
