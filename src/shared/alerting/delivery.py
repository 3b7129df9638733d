"""Publishing an alert: one SNS topic per rendering, each publish once per incident."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer

from shared.adapters.sns import AlertPublisher
from shared.alerting.alerts import Alert
from shared.alerting.render import dashboard_link, render
from shared.platform.idempotency import Once
from shared.ports import AlertChannel


class DeliverySettings(Protocol):
    """What publishing needs (the alerter's and the fleet function's settings both have it)."""

    @property
    def topics(self) -> Mapping[str, str]: ...  # rendering (email, json, chat) → topic ARN
    @property
    def idempotency_table(self) -> str: ...
    @property
    def dedup_seconds(self) -> int: ...
    @property
    def region(self) -> str: ...
    @property
    def dashboard_name(self) -> str: ...


class Delivery:
    """Publishes an alert to one topic per rendering, each at most once per incident.

    One topic per rendering, not one topic with per-protocol bodies: SNS sends message attributes
    only with String-structured messages, and Amazon Q Developer subscribes over HTTPS, where
    machines want the JSON document. So every topic gets a plain message and the same attributes,
    and subscription filter policies work the same on all three."""

    def __init__(
        self,
        settings: DeliverySettings,
        publishers: Mapping[str, AlertChannel] | None = None,
        store: BasePersistenceLayer | None = None,
    ) -> None:
        self.dashboard_url = (
            dashboard_link(settings.region, settings.dashboard_name)
            if settings.dashboard_name
            else None
        )
        self.publishers: dict[str, AlertChannel] = dict(publishers or {}) or {
            channel: AlertPublisher(arn) for channel, arn in settings.topics.items()
        }
        self.once = Once(
            self._publish,
            key="delivery",
            table=settings.idempotency_table,
            expires_after_seconds=settings.dedup_seconds,
            store=store,
        )

    def __call__(self, alert: Alert) -> dict[str, Any]:
        """{"fresh": whether anything was sent now, "message_ids": per channel}."""
        rendered = render(alert, self.dashboard_url)
        messages = {
            "email": rendered.text,
            "json": json.dumps(rendered.document, separators=(",", ":"), default=str),
            "chat": json.dumps(rendered.chat, separators=(",", ":")),
        }
        results = {
            channel: self.once(
                {
                    "delivery": f"{alert.incident}|{channel}",
                    "channel": channel,
                    "subject": rendered.subject,
                    "message": messages[channel],
                    "attributes": rendered.attributes,
                }
            )
            for channel in self.publishers
        }
        return {
            "fresh": any(not result.get("duplicate") for result in results.values()),
            "message_ids": {channel: result["message_id"] for channel, result in results.items()},
        }

    def _publish(self, payload: dict[str, Any]) -> dict[str, Any]:
        publisher = self.publishers[payload["channel"]]
        message_id = publisher.publish(
            payload["subject"], payload["message"], payload["attributes"]
        )
        return {"message_id": message_id}
