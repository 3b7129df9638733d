"""DynamoDB: the do-once records, the storm-control ledger and the fleet table."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from shared.adapters.boto import Adapter
from shared.contracts.labels import Labels, teams_from_record
from shared.domain.health import Breach
from shared.platform.idempotency import Progress
from shared.ports import IdleAlerted, IdlePlan


class OnceTable(Adapter):
    """`Once`'s records in the idempotency table: one item per key, claimed and settled with a
    conditional write each (a claim that finds the key held or done reads it in the same call)."""

    service = "dynamodb"

    def __init__(self, table: str, dynamodb: Any = None) -> None:
        super().__init__(dynamodb)
        self.table = table

    def claim(self, key: str, now: float, lease_until: float, expires_at: int) -> Progress | None:
        try:
            response = self.api.update_item(
                TableName=self.table,
                Key={"id": {"S": key}},
                UpdateExpression="SET lease_until = :lease, expiration = :expires, done = :no",
                # New, expired (DynamoDB deletes expired items within days, not at once), or
                # left unsettled by an attempt whose lease has ended.
                ConditionExpression=(
                    "attribute_not_exists(id) OR expiration < :now"
                    " OR (done = :no AND lease_until < :now)"
                ),
                ExpressionAttributeValues={
                    ":lease": {"N": str(lease_until)},
                    ":expires": {"N": str(expires_at)},
                    ":no": {"BOOL": False},
                    ":now": {"N": str(now)},
                },
                ReturnValues="ALL_OLD",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except self.api.exceptions.ConditionalCheckFailedException as refused:
            item = refused.response.get("Item", {})
            return _progress(item) if item.get("done", {}).get("BOOL") else None
        old = response.get("Attributes", {})
        if not old or float(old.get("expiration", {}).get("N", "0")) < now:
            if old:  # an expired record's progress belongs to an earlier incident
                self.settle(key, Progress())
            return Progress()
        return _progress(old)

    def settle(self, key: str, progress: Progress) -> None:
        self.api.update_item(
            TableName=self.table,
            Key={"id": {"S": key}},
            UpdateExpression="SET done = :done, sent = :sent, lease_until = :free"
            + (", outcome = :outcome" if progress.outcome else " REMOVE outcome"),
            ExpressionAttributeValues={
                ":done": {"BOOL": progress.done},
                ":sent": {"M": {name: {"S": value} for name, value in progress.sent.items()}},
                ":free": {"N": "0"},
            }
            | ({":outcome": {"S": progress.outcome}} if progress.outcome else {}),
        )


def _progress(item: Mapping[str, Any]) -> Progress:
    return Progress(
        done=item.get("done", {}).get("BOOL", False),
        outcome=item.get("outcome", {}).get("S"),
        sent={name: value["S"] for name, value in item.get("sent", {}).get("M", {}).items()},
    )


class BurstLedger(Adapter):
    """Failure incidents per (account, Region, job type, time window), in the idempotency table.

    One item per window, bounded (DynamoDB items hold at most 400 KB): the first `LISTED`
    incidents are kept as short digests, with their job names, so a retry never counts one twice;
    past that only a counter grows (a retry may then count twice: only "and N more" changes)."""

    service = "dynamodb"
    LISTED = 500  # ≤ 500 × (16-character digest + job name ≤ 256 characters) ≈ 140 KB

    def __init__(self, table: str, dynamodb: Any = None) -> None:
        super().__init__(dynamodb)
        self.table = table

    def add(self, bucket: str, incident: str, name: str, expires_at: int) -> tuple[int, bool]:
        """Record one incident; returns how many the window holds and whether it was summarized."""
        digest = hashlib.sha256(incident.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        expires = {":e": {"N": str(expires_at)}}
        try:
            response = self.api.update_item(
                TableName=self.table,
                Key={"id": {"S": bucket}},
                UpdateExpression=(
                    "ADD incidents :i, job_names :n SET expiration = if_not_exists(expiration, :e)"
                ),
                ConditionExpression=(
                    "attribute_not_exists(incidents) OR size(incidents) < :listed"
                    " OR contains(incidents, :d)"
                ),
                ExpressionAttributeValues={
                    ":i": {"SS": [digest]},
                    ":d": {"S": digest},
                    ":n": {"SS": [name]},
                    ":listed": {"N": str(self.LISTED)},
                    **expires,
                },
                ReturnValues="ALL_NEW",
            )
        except self.api.exceptions.ConditionalCheckFailedException:  # the list is full
            response = self.api.update_item(
                TableName=self.table,
                Key={"id": {"S": bucket}},
                UpdateExpression="ADD unlisted :one SET expiration = if_not_exists(expiration, :e)",
                ExpressionAttributeValues={":one": {"N": "1"}, **expires},
                ReturnValues="ALL_NEW",
            )
        item = response["Attributes"]
        return self._count(item), "summarized" in item

    def summarize(self, bucket: str) -> tuple[int, list[str]] | None:
        """Marks the window summarized and returns its count and job names, in one atomic write:
        a failure counted before is in them, one counted after sees the mark and alerts alone.
        None once the window expired."""
        try:
            response = self.api.update_item(
                TableName=self.table,
                Key={"id": {"S": bucket}},
                UpdateExpression="SET summarized = :t",
                ConditionExpression="attribute_exists(id)",  # never recreate an expired window
                ExpressionAttributeValues={":t": {"BOOL": True}},
                ReturnValues="ALL_NEW",
            )
        except self.api.exceptions.ConditionalCheckFailedException:
            return None
        item = response["Attributes"]
        return self._count(item), sorted(item.get("job_names", {}).get("SS", []))

    @staticmethod
    def _count(item: Mapping[str, Any]) -> int:
        listed = len(item.get("incidents", {}).get("SS", []))
        return listed + int(item.get("unlisted", {}).get("N", "0"))


class FleetTable(Adapter):
    """Per workload account and Region: the last heartbeat, whether its silence was alerted, and
    the endpoints of its last inventory snapshot (with when each was first seen)."""

    service = "dynamodb"

    def __init__(self, table: str, dynamodb: Any = None) -> None:
        super().__init__(dynamodb)
        self.table = table

    def put_heartbeat(
        self, account: str, region: str, at: float, interval: int, labels: Mapping[str, str]
    ) -> None:
        """Later heartbeats win (deliveries come out of order); the silence mark is kept."""
        with contextlib.suppress(self.api.exceptions.ConditionalCheckFailedException):
            self.api.update_item(  # an older heartbeat arriving late changes nothing
                TableName=self.table,
                Key={"id": {"S": f"source|{account}|{region}"}},
                UpdateExpression=("SET #a = :a, #r = :r, #t = :t, #i = :i, #p = :p, #e = :e"),
                ConditionExpression="attribute_not_exists(#t) OR #t < :t",
                ExpressionAttributeNames={
                    "#a": "account",
                    "#r": "region",
                    "#t": "last_seen",
                    "#i": "interval_minutes",
                    "#p": "project",
                    "#e": "environment",
                },
                ExpressionAttributeValues={
                    ":a": {"S": account},
                    ":r": {"S": region},
                    ":t": {"N": str(at)},
                    ":i": {"N": str(interval)},
                    ":p": {"S": labels.get("project", "unknown")},
                    ":e": {"S": labels.get("environment", "unknown")},
                },
            )

    def sources(self) -> tuple[list[dict[str, Any]], dict[str, tuple[float, bool]]]:
        """Every source's record, and the configured accounts not heard from yet: since when
        they were missed, and whether that was alerted."""
        sources: list[dict[str, Any]] = []
        never_heard: dict[str, tuple[float, bool]] = {}
        for item in self._scan():
            key = item["id"]["S"]
            if key.startswith("source|"):
                sources.append(
                    {
                        "account": item["account"]["S"],
                        "region": item["region"]["S"],
                        "last_seen": float(item["last_seen"]["N"]),
                        "interval_minutes": int(item["interval_minutes"]["N"]),
                        "silent_since": float(item["silent_since"]["N"])
                        if "silent_since" in item
                        else None,
                    }
                )
            elif key.startswith("expected|"):
                never_heard[key.split("|", 1)[1]] = (
                    float(item["since"]["N"]),
                    item.get("alerted", {"BOOL": True})["BOOL"],  # older marks were alerts
                )
        return sources, never_heard

    def expect(self, account: str, since: float) -> None:
        """A configured account missed for the first time: its grace starts (no alert yet)."""
        with contextlib.suppress(self.api.exceptions.ConditionalCheckFailedException):
            self.api.put_item(
                TableName=self.table,
                Item={
                    "id": {"S": f"expected|{account}"},
                    "since": {"N": str(since)},
                    "alerted": {"BOOL": False},
                },
                ConditionExpression="attribute_not_exists(id)",
            )

    def mark(self, account: str, region: str | None, silent_since: float | None) -> None:
        """Record (or clear) the silence a change alerted about."""
        if region is None:
            key = {"id": {"S": f"expected|{account}"}}
            if silent_since is None:
                self.api.delete_item(TableName=self.table, Key=key)
            else:
                self.api.put_item(
                    TableName=self.table,
                    Item=key | {"since": {"N": str(silent_since)}, "alerted": {"BOOL": True}},
                )
            return
        key = {"id": {"S": f"source|{account}|{region}"}}
        if silent_since is None:
            self.api.update_item(
                TableName=self.table, Key=key, UpdateExpression="REMOVE silent_since"
            )
        else:
            self.api.update_item(
                TableName=self.table,
                Key=key,
                UpdateExpression="SET silent_since = :s",
                ExpressionAttributeValues={":s": {"N": str(silent_since)}},
            )

    def put_inventory(self, record: Mapping[str, Any], expires: int) -> None:
        """Later snapshots win (a late, older one changes nothing); expires with TTL."""
        account, region, at = record["account"], record["region"], record["collected_at"]
        with contextlib.suppress(self.api.exceptions.ConditionalCheckFailedException):
            self.api.put_item(
                TableName=self.table,
                Item={
                    "id": {"S": f"inventory|{account}|{region}"},
                    "account": {"S": account},
                    "region": {"S": region},
                    "collected_at": {"N": str(at)},
                    "endpoints": {"S": record["endpoints"]},
                    "first_seen": {"S": record["first_seen"]},
                    "dead_letters": {"N": str(record["dead_letters"])},
                    "teams": {"S": record["teams"]},
                    "endpoints_complete": {"BOOL": record["endpoints_complete"]},
                    "expiration": {"N": str(expires)},
                },
                ConditionExpression="attribute_not_exists(collected_at) OR collected_at < :t",
                ExpressionAttributeValues={":t": {"N": str(at)}},
            )

    def inventory(self, account: str, region: str) -> dict[str, Any] | None:
        item = self.api.get_item(
            TableName=self.table, Key={"id": {"S": f"inventory|{account}|{region}"}}
        ).get("Item")
        return None if not item else _plain(item)

    def inventories(self) -> list[dict[str, Any]]:
        return [_plain(item) for item in self._scan() if item["id"]["S"].startswith("inventory|")]

    def labels(self, account: str, region: str) -> Labels | None:
        """The account's labels from its latest heartbeat in this Region (eventually
        consistent: a label a minute old is as good)."""
        item = self.api.get_item(
            TableName=self.table,
            Key={"id": {"S": f"source|{account}|{region}"}},
            # project, environment: reserved words
            ProjectionExpression="#p, #e, account_name, teams",
            ExpressionAttributeNames={"#p": "project", "#e": "environment"},
        ).get("Item")
        if not item:
            return None
        return Labels.from_record({name: value.get("S") for name, value in item.items()})

    def name_account(self, account: str, region: str, at: float, alias: str) -> None:
        """Only beside a heartbeat record (a record without one would be a source with no
        heartbeat to the watchdog); before the first heartbeat, the next snapshot names it."""
        with contextlib.suppress(self.api.exceptions.ConditionalCheckFailedException):
            self.api.update_item(
                TableName=self.table,
                Key={"id": {"S": f"source|{account}|{region}"}},
                UpdateExpression="SET account_name = :n, named_at = :at",
                ConditionExpression=(
                    "attribute_exists(last_seen)"
                    " AND (attribute_not_exists(named_at) OR named_at < :at)"
                ),
                ExpressionAttributeValues={":n": {"S": alias}, ":at": {"N": str(at)}},
            )

    def teams(self, account: str, region: str) -> Mapping[str, str]:
        """From the inventory record: only endpoint and pipeline alerts ask, so the heartbeat
        record (written every few minutes, read for every alert) stays small."""
        item = self.api.get_item(
            TableName=self.table,
            Key={"id": {"S": f"inventory|{account}|{region}"}},
            ProjectionExpression="teams",
        ).get("Item")
        return teams_from_record((item or {}).get("teams", {}).get("S"))

    def idle_alerted(self, account: str, region: str, day: str) -> IdleAlerted:
        item = self.api.get_item(
            TableName=self.table,
            Key={"id": {"S": _idle_key(account, region, day)}},
            ConsistentRead=True,  # the decision compares versions: read the last one
            ProjectionExpression="alerted, alone, pending, #v, grouped_at",
            ExpressionAttributeNames={"#v": "version"},
        ).get("Item", {})
        pending = item.get("pending", {}).get("M", {})
        return IdleAlerted(
            frozenset(item.get("alerted", {}).get("SS", ())),
            frozenset(item.get("alone", {}).get("SS", ())),
            {plan: frozenset(names["SS"]) for plan, names in pending.items()},
            int(item.get("version", {}).get("N", "0")),
            float(item.get("grouped_at", {}).get("N", "0")),
        )

    def plan_idle_alerts(
        self, account: str, region: str, day: str, plan: IdlePlan, version: int, expires: int
    ) -> bool:
        names = {"SS": sorted(plan.names)}
        # A new record gets its map of plans; an existing one has it (emptied, never removed).
        pending = "pending = :plans" if version == 0 else "pending.#p = :n"
        pending += "" if plan.alone else ", grouped_at = :at"
        try:
            self.api.update_item(
                TableName=self.table,
                Key={"id": {"S": _idle_key(account, region, day)}},
                UpdateExpression="ADD alerted :n"
                + (", alone :n" if plan.alone else "")
                + f" SET {pending}, #v = :next, expiration = if_not_exists(expiration, :e)",
                ConditionExpression="attribute_not_exists(#v)" if version == 0 else "#v = :v",
                ExpressionAttributeNames={"#v": "version"} | ({"#p": plan.id} if version else {}),
                ExpressionAttributeValues={
                    ":n": names,
                    ":next": {"N": str(version + 1)},
                    ":e": {"N": str(expires)},
                }
                | ({":v": {"N": str(version)}} if version else {":plans": {"M": {plan.id: names}}})
                | ({} if plan.alone else {":at": {"N": str(plan.decided_at)}}),
            )
        except self.api.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def idle_alerts_sent(self, account: str, region: str, day: str, plan_id: str) -> None:
        with contextlib.suppress(self.api.exceptions.ConditionalCheckFailedException):
            self.api.update_item(  # never recreates an expired record
                TableName=self.table,
                Key={"id": {"S": _idle_key(account, region, day)}},
                UpdateExpression="REMOVE pending.#p",
                ConditionExpression="attribute_exists(pending)",
                ExpressionAttributeNames={"#p": plan_id},
            )

    def put_running(self, key: str, job: str, at: float, expires: int) -> None:
        """Later state changes win; none after the job's end (deliveries come out of order)."""
        with contextlib.suppress(self.api.exceptions.ConditionalCheckFailedException):
            self.api.update_item(
                TableName=self.table,
                Key={"id": {"S": key}},
                UpdateExpression="SET job = :j, #at = :t, expiration = :e",
                ConditionExpression="attribute_not_exists(ended_at) "
                "AND (attribute_not_exists(#at) OR #at < :t)",
                ExpressionAttributeNames={"#at": "at"},
                ExpressionAttributeValues={
                    ":j": {"S": job},
                    ":t": {"N": str(at)},
                    ":e": {"N": str(expires)},
                },
            )

    def end_running(self, key: str, at: float, status: str, expires: int) -> dict[str, Any]:
        response = self.api.update_item(
            TableName=self.table,
            Key={"id": {"S": key}},
            UpdateExpression="SET ended_at = if_not_exists(ended_at, :t), "
            "ended_status = if_not_exists(ended_status, :s), expiration = :e",
            ExpressionAttributeValues={
                ":t": {"N": str(at)},
                ":s": {"S": status},
                ":e": {"N": str(expires)},
            },
            ReturnValues="ALL_NEW",
        )
        return _plain(response.get("Attributes", {}))

    def running_jobs(self) -> list[dict[str, Any]]:
        return [
            _plain(item)
            for item in self._scan()
            if item["id"]["S"].startswith("running|") and "ended_at" not in item
        ]

    def open_episode(self, key: str, since: float, percent: float) -> int | None:
        return self._opened(
            key,
            "SET idle_since = :s, idle_percent = :p, alerted = :no ADD episode :one",
            "attribute_exists(job) AND attribute_not_exists(ended_at) "
            "AND attribute_not_exists(idle_since)",
            {":s": {"N": str(since)}, ":p": {"N": str(percent)}},
        )

    def episode_alerted(self, key: str, episode: int) -> dict[str, Any] | None:
        try:
            response = self.api.update_item(
                TableName=self.table,
                Key={"id": {"S": key}},
                UpdateExpression="SET alerted = :yes",
                ConditionExpression="attribute_exists(idle_since) AND episode = :n",
                ExpressionAttributeValues={":yes": {"BOOL": True}, ":n": {"N": str(episode)}},
                ReturnValues="ALL_NEW",
            )
        except self.api.exceptions.ConditionalCheckFailedException:
            return None  # closed, or another episode by now
        return _plain(response.get("Attributes", {}))

    def close_episode(self, key: str, episode: int) -> bool:
        try:
            self.api.update_item(
                TableName=self.table,
                Key={"id": {"S": key}},
                UpdateExpression="REMOVE idle_since, idle_percent, alerted",
                ConditionExpression="attribute_exists(idle_since) AND episode = :n "
                "AND attribute_not_exists(ended_at)",
                ExpressionAttributeValues={":n": {"N": str(episode)}},
            )
        except self.api.exceptions.ConditionalCheckFailedException:
            return False  # ended (its end closes it), closed already, or gone
        return True

    def health_episodes(self) -> list[dict[str, Any]]:
        return [
            _plain(item)
            for item in self._scan()
            if item["id"]["S"].startswith("health|") and "unhealthy_since" in item
        ]

    def open_unhealthy(self, key: str, breach: Breach, expires: int) -> int | None:
        return self._opened(
            key,
            "SET unhealthy_since = :s, #value = :v, #limit = :l, requests = :r, alone = :a, "
            "#batch = :b, alerted = :no, expiration = :e ADD episode :one",
            "attribute_not_exists(unhealthy_since)",
            {
                ":s": {"N": str(breach.since)},
                ":v": {"N": str(breach.value)},
                ":l": {"N": str(breach.limit)},
                ":r": {"N": str(breach.requests)},
                ":a": {"BOOL": breach.alone},
                ":b": {"S": breach.batch},
                ":e": {"N": str(expires)},
            },
            {"#value": "value", "#limit": "limit"} | _BATCH,
        )

    def _opened(
        self,
        key: str,
        update: str,
        condition: str,
        values: dict[str, Any],
        names: dict[str, str] | None = None,
    ) -> int | None:
        """An episode opened by one conditional update (its number), or None if refused."""
        try:
            response = self.api.update_item(
                TableName=self.table,
                Key={"id": {"S": key}},
                UpdateExpression=update,
                ConditionExpression=condition,
                **({"ExpressionAttributeNames": names} if names else {}),
                ExpressionAttributeValues=values | {":no": {"BOOL": False}, ":one": {"N": "1"}},
                ReturnValues="UPDATED_NEW",
            )
        except self.api.exceptions.ConditionalCheckFailedException:
            return None
        return int(response["Attributes"]["episode"]["N"])

    def unhealthy_alerted(self, key: str, episode: int) -> bool:
        return self._if_open(key, episode, "SET alerted = :yes", {":yes": {"BOOL": True}})

    def keep_unhealthy(self, key: str, episode: int, expires: int) -> bool:
        return self._if_open(key, episode, "SET expiration = :e", {":e": {"N": str(expires)}})

    def close_unhealthy(self, key: str, episode: int, expires: int) -> bool:
        return self._if_open(
            key,
            episode,
            "SET expiration = :e REMOVE unhealthy_since, alerted, alone, requests, #batch",
            {":e": {"N": str(expires)}},
            _BATCH,
        )  # fmt: skip

    def _if_open(
        self,
        key: str,
        episode: int,
        update: str,
        values: dict[str, Any],
        names: dict[str, str] | None = None,
    ) -> bool:
        try:
            self.api.update_item(
                TableName=self.table,
                Key={"id": {"S": key}},
                UpdateExpression=update,
                ConditionExpression="attribute_exists(unhealthy_since) AND episode = :n",
                **({"ExpressionAttributeNames": names} if names else {}),
                ExpressionAttributeValues=values | {":n": {"N": str(episode)}},
            )
        except self.api.exceptions.ConditionalCheckFailedException:
            return False  # closed already, or another episode by now
        return True

    def _scan(self) -> Iterable[dict[str, Any]]:
        for page in self.api.get_paginator("scan").paginate(
            TableName=self.table, ConsistentRead=True
        ):
            yield from page.get("Items", [])


def _idle_key(account: str, region: str, day: str) -> str:
    return f"idle|{account}|{region}|{day}"


def _plain(item: Mapping[str, Any]) -> dict[str, Any]:
    """An item's values without their DynamoDB types (numbers stay text)."""
    return {name: next(iter(value.values())) for name, value in item.items()}


_BATCH = {"#batch": "batch"}  # value, limit and batch are DynamoDB reserved words
