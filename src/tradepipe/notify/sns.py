"""Email through SNS: one Publish to the channel's topic; its confirmed email subscriptions receive it."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tradepipe.notify.senders import SnsFault

# Faults a later attempt can get past; anything else (NotFound, AuthorizationError, InvalidParameter,
# KMS access) is a configuration to fix, not to retry.
_RETRYABLE = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "InternalError",
        "InternalFailure",
        "ServiceUnavailable",
        "KMSThrottling",
    }
)


class Boto3SnsPublisher:
    def __init__(self, client: Any) -> None:
        self._client = client

    def publish(self, topic_arn: str, subject: str, message: str) -> None:
        try:
            self._client.publish(TopicArn=topic_arn, Subject=subject, Message=message)
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", "Unknown"))
            status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
            raise SnsFault(code, code in _RETRYABLE or status >= 500) from None
        except BotoCoreError as error:  # no answer: connection, timeout
            raise SnsFault(type(error).__name__, True) from None
