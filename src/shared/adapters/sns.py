"""SNS: one rendering of an alert to its topic."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.adapters.boto import Adapter
from shared.platform.errors import PublishError


class AlertPublisher(Adapter):
    service = "sns"

    def __init__(self, topic_arn: str, sns: Any = None) -> None:
        super().__init__(sns)
        self.topic_arn = topic_arn

    def publish(self, subject: str, message: str, attributes: Mapping[str, str]) -> str:
        """A plain (String-structured) message: SNS delivers message attributes, which filter
        policies match, only with those."""
        response = self.api.publish(
            TopicArn=self.topic_arn,
            Subject=subject,
            Message=message,
            MessageAttributes={
                name: {"DataType": "String", "StringValue": value}
                for name, value in attributes.items()
                if value  # SNS rejects empty attribute values
            },
        )
        message_id = response.get("MessageId")
        if not message_id:
            raise PublishError("SNS returned no MessageId")
        return str(message_id)
