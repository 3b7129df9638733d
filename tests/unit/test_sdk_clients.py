"""The shared SDK clients (shared.adapters.boto): botocore's clients, made with a data loader
that reads only the folders of the services sagewatch calls, and parses its files into dicts."""

from __future__ import annotations

import bz2
import importlib
import json
import os
import pkgutil
from collections.abc import Iterator
from pathlib import Path

import botocore.loaders
import botocore.session
import pytest
from botocore.exceptions import UnknownServiceError

import shared.adapters
from shared.adapters.boto import SERVICES, Adapter, _loader, client

TYPES = ("service-2", "endpoint-rule-set-1", "paginators-1", "waiters-2")


@pytest.fixture
def clients(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")  # no search for credentials
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    client.cache_clear()
    yield
    client.cache_clear()


def _adapters(cls: type = Adapter) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _adapters(sub)


def test_given_the_adapters_then_services_names_each_service_they_call_and_no_other() -> None:
    for module in pkgutil.iter_modules(shared.adapters.__path__):
        importlib.import_module(f"shared.adapters.{module.name}")
    assert {sub.service for sub in _adapters() if sub.service} == set(SERVICES)


@pytest.mark.parametrize("type_name", TYPES)
def test_given_a_data_type_when_listed_then_the_services_botocore_lists_of_ours(
    type_name: str,
) -> None:
    ours = _loader(botocore.session.Session()).list_available_services(type_name)
    theirs = botocore.loaders.Loader().list_available_services(type_name)
    assert ours == [service for service in theirs if service in SERVICES]


@pytest.mark.parametrize("service", SERVICES)
def test_given_a_service_when_its_client_is_made_then_botocore_s_own_model_and_endpoint(
    clients: None, service: str
) -> None:
    ours = client(service)
    theirs = botocore.session.Session().create_client(service, region_name="eu-west-1")
    assert ours.meta.service_model.api_version == theirs.meta.service_model.api_version
    assert ours.meta.service_model.operation_names == theirs.meta.service_model.operation_names
    assert ours.meta.endpoint_url == theirs.meta.endpoint_url


def test_given_the_clients_when_made_then_only_their_services_folders_are_read(
    clients: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    read: list[str] = []
    listdir = os.listdir

    def counted(path: str) -> list[str]:
        read.append(str(path))
        return listdir(path)

    monkeypatch.setattr(botocore.loaders.os, "listdir", counted)
    for service in SERVICES:
        client(service)
    # botocore's own loader reads every service's folder (over 400) twice
    assert read
    assert len(read) <= 2 * len(SERVICES)
    assert {Path(path).name for path in read} <= set(SERVICES)


def test_given_a_service_sagewatch_does_not_call_then_botocore_refuses_it_by_name(
    clients: None,
) -> None:
    with pytest.raises(UnknownServiceError, match="'s3'"):
        client("s3")


def test_given_aws_data_path_then_its_folders_are_searched_first(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("MODELS", "models")
    monkeypatch.setenv("AWS_DATA_PATH", os.pathsep.join(["~/mine", str(tmp_path / "$MODELS")]))
    paths = _loader(botocore.session.Session()).search_paths
    assert paths[:2] == [str(tmp_path / "mine"), str(tmp_path / "models")]


SHARED_DATA = ("endpoints", "partitions", "sdk-default-configuration", "_retry")


@pytest.mark.parametrize("name", SHARED_DATA)
def test_given_the_sdk_s_shared_data_when_loaded_then_botocore_s_in_its_order_as_dicts(
    name: str,
) -> None:
    ours = _loader(botocore.session.Session()).load_data(name)
    theirs = botocore.loaders.Loader().load_data(name)
    assert type(ours) is dict  # botocore's OrderedDicts are what cost the time
    assert json.dumps(ours) == json.dumps(theirs)  # the same keys, in the same order


@pytest.mark.parametrize(
    ("service", "type_name"),
    [
        (service, type_name)
        for type_name in TYPES
        for service in botocore.loaders.Loader().list_available_services(type_name)
        if service in SERVICES
    ],
)
def test_given_a_service_s_data_when_loaded_then_botocore_s_in_its_order_as_dicts(
    service: str, type_name: str
) -> None:
    ours = _loader(botocore.session.Session()).load_service_model(service, type_name)
    theirs = botocore.loaders.Loader().load_service_model(service, type_name)
    assert type(ours) is dict
    assert json.dumps(ours) == json.dumps(theirs)


def test_given_data_in_a_form_it_does_not_read_then_botocore_s_loader_reads_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(botocore.loaders._JSON_OPEN_METHODS, ".json.bz2", bz2.open)
    with bz2.open(tmp_path / "extra.json.bz2", "wt") as file:
        json.dump({"version": 3}, file)
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path))
    assert _loader(botocore.session.Session()).load_data("extra") == {"version": 3}
