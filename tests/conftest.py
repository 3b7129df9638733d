"""The whole suite: which tests are integration tests, the guard that keeps every other test off
the network and off moto, and three savings that change nothing a test can observe.

`make unit` runs tests/unit and tests/templates without the `integration` marker, `make fuzz`
tests/fuzz, `make integration` every test with the marker (all of tests/integration, and the
few elsewhere that replay the demo); `make test` runs them all in one process.
"""

from __future__ import annotations

import functools
import gc
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import botocore.loaders
import botocore.session
import pytest

TESTS = Path(__file__).resolve().parent
FOLDERS = ("unit", "templates", "fuzz", "integration")  # every test is in one of these


def pytest_collection_finish(session: pytest.Session) -> None:
    """What is alive once every test module is imported (the SDK, moto, hypothesis, cfn-lint,
    the code) stays alive for the run: the cyclic garbage collector stops walking it at each
    full collection (an eighth to a fifth of the fuzz and replay tests' CPU time). What the
    tests make is collected as before."""
    gc.collect()
    gc.freeze()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        folder = item.path.relative_to(TESTS).parts[0]
        if folder not in FOLDERS:
            raise pytest.UsageError(f"{item.nodeid}: tests live in tests/{{{','.join(FOLDERS)}}}")
        if folder == "integration":
            item.add_marker(pytest.mark.integration)


# ---- the guard ----------------------------------------------------------------------------------


class Refused(RuntimeError):
    """A test without the integration marker reached for the network or for moto. Not an
    OSError: code that falls back quietly on connection errors (the SDK looking for credentials
    on the instance metadata endpoint, say) fails here instead of passing by luck."""


REFUSED = pytest.StashKey[list[str]]()  # a test's refused attempts (tests/unit/test_offline.py)
_REFUSED: dict[tuple[Any, str], str] = {
    (socket.socket, "connect"): "socket.connect",
    (socket.socket, "connect_ex"): "socket.connect_ex",
    (socket, "getaddrinfo"): "socket.getaddrinfo",
}


@pytest.fixture(autouse=True)
def _offline(request: pytest.FixtureRequest) -> Iterator[None]:
    """Unit, template and fuzz tests make no connection (a local Unix socket excepted), resolve
    no host name and start no moto. An attempt raises `Refused`, and fails the test even if the
    code under test caught it."""
    if request.node.get_closest_marker("integration"):
        yield
        return
    from moto.core.models import MockAWS

    attempts = request.node.stash[REFUSED] = []

    def refusing(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def refused(*args: Any, **kwargs: Any) -> Any:
            if name == "socket.getaddrinfo":
                target = args
            elif name == "mock_aws":
                target = ()
            elif args[0].family == socket.AF_UNIX:
                return original(*args, **kwargs)
            else:
                target = args[1:]
            attempts.append(f"{name}{target!r}")
            raise Refused(f"{name}{target!r} in a test without the integration marker")

        return refused

    refused_here = _REFUSED | {(MockAWS, "start"): "mock_aws"}
    originals = {(owner, name): getattr(owner, name) for owner, name in refused_here}
    for (owner, name), original in originals.items():
        setattr(owner, name, refusing(refused_here[owner, name], original))
    try:
        yield
    finally:
        for (owner, name), original in originals.items():
            setattr(owner, name, original)
    if attempts:
        pytest.fail(
            "used the network or moto (mark the test integration if it must): "
            + "; ".join(attempts),
            pytrace=False,
        )


# ---- shared fixtures -----------------------------------------------------------------------------


@pytest.fixture
def fleet_dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A DynamoDB client on moto (integration tests) with the fleet table, `fleet`, keyed as
    template.yaml keys it (a string `id`), for holding `FleetTable` to its in-memory twin."""
    import boto3
    from moto import mock_aws

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "x")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(
            TableName="fleet",
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        )
        yield dynamodb


# ---- savings that change nothing a test can observe ---------------------------------------------


class _SearchPaths(list[str]):
    """boto3 adds its own data folder to a session's loader; once is enough for a shared one."""

    def append(self, path: str) -> None:
        if path not in self:
            super().append(path)


@functools.cache
def _shared_loader(search_path_string: str | None) -> botocore.loaders.Loader:
    loader = botocore.loaders.create_loader(search_path_string)
    loader._search_paths = _SearchPaths(loader.search_paths)
    return loader


# Every SDK session in the test process reads the SDK's data files (service models, endpoints)
# through one loader, as the clients of one session always do: a new session otherwise decodes
# megabytes of JSON again, and the functions' idempotency layers, the embedded stacks and moto's
# reset of the default session make hundreds of sessions in a run.
vars(botocore.session)["create_loader"] = _shared_loader  # the module's own name, not in its stubs


@pytest.fixture(autouse=True)
def _one_sns_signing_key_for_moto(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("integration"):
        _one_sns_signing_key()


@functools.cache
def _one_sns_signing_key() -> None:
    """moto signs each SNS notification it delivers to a queue with a private key per
    subscription, an RSA-2048 key made on its first use (a tenth of a second); the embedded
    stack subscribes three queues, anew with each stack. Nothing reads the signatures: one key
    signs them all."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    from moto.sns.models import Subscription

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    Subscription.private_key = lambda self: key
