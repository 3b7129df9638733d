"""The SDK clients every adapter shares: created lazily, on first use, from one botocore session,
so importing an adapter needs no credentials and costs nothing; tests inject a stub or a
moto-backed client instead.

botocore, not boto3: boto3's client is botocore's, and boto3 adds only resources and S3 transfers,
which sagewatch does not use; importing boto3 (and s3transfer) and setting up its session cost 5 %
of every cold start's instructions (docs/decisions.md).
"""

from __future__ import annotations

import json
import os
from typing import Any

# The services the adapters call (each Adapter's `service`; a test holds the two the same).
SERVICES = ("cloudwatch", "dynamodb", "events", "sns", "sqs")


class _Clients:
    """`client(service)`: one client per service from one session; `client.cache_clear()` drops
    both (the embedded AWS makes them anew when it restarts moto, as boto3's default session
    is made anew under moto's mock)."""

    def __init__(self) -> None:
        self._session: Any = None
        self._clients: dict[str, Any] = {}

    def __call__(self, service: str) -> Any:
        if service not in self._clients:
            from botocore.config import Config  # deferred: keeps handler import (INIT) cheap
            from botocore.session import Session

            if self._session is None:
                self._session = Session()  # one: its loader reads the SDK's shared data once
                self._session.register_component("data_loader", _loader(self._session))
            config = Config(retries={"mode": "standard", "max_attempts": 5})
            self._clients[service] = self._session.create_client(service, config=config)
        return self._clients[service]

    def cache_clear(self) -> None:
        self._session = None
        self._clients.clear()


client = _Clients()


def _loader(session: Any) -> Any:
    """botocore's data loader (its search path as botocore makes it), asked only about
    SERVICES: to check that a service exists, botocore's own lists every service's folders in
    the SDK (over 400: 884 directory reads for three clients), once for its model and once for
    its endpoint rules, which was 11-15 ms of CPU in each function's cold start. Here each
    check reads one service's folder; a service outside SERVICES is refused with botocore's
    UnknownServiceError."""
    import gzip

    from botocore.exceptions import DataNotFoundError
    from botocore.loaders import JSONFileLoader, Loader

    forms = ((".json", open), (".json.gz", gzip.open))  # as botocore's loader tries them

    class PlainDicts(JSONFileLoader):
        """botocore's files, parsed into dicts: botocore parses with `object_pairs_hook=
        OrderedDict`, twice as slow for the same keys in the same order (a dict keeps its
        insertion order); its 1.25 MB endpoints.json alone was 20-40 ms of each cold start.
        A file in a form other than these is botocore's to parse."""

        def load_file(self, file_path: str) -> Any:
            for extension, opener in forms:
                if os.path.isfile(file_path + extension):
                    with opener(file_path + extension, "rb") as file:
                        return json.loads(file.read().decode("utf-8"))
            return super().load_file(file_path)

    class OwnServices(Loader):
        def list_available_services(self, type_name: str) -> list[str]:
            found = []
            for service in SERVICES:
                try:
                    self.list_api_versions(service, type_name)  # cached: the load asks again
                except DataNotFoundError:  # no data of that type: as botocore's own list
                    continue
                found.append(service)
            return found

    paths = session.get_config_variable("data_path")  # AWS_DATA_PATH, read as botocore reads it
    extra = (
        [os.path.expanduser(os.path.expandvars(p)) for p in paths.split(os.pathsep)]
        if paths
        else []
    )
    return OwnServices(extra_search_paths=extra, file_loader=PlainDicts())


class Adapter:
    """Holds an injected client, or creates the shared one on first use."""

    service = ""

    def __init__(self, injected: Any = None) -> None:
        self._client = injected

    @property
    def api(self) -> Any:
        if self._client is None:
            self._client = client(self.service)
        return self._client
