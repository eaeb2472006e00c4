"""Real-shaped Lambda events for handler tests."""

from __future__ import annotations

import base64
import hashlib
import uuid
from typing import Any


def rest_event(
    body: str | bytes,
    path: str = "/webhook",
    method: str = "POST",
    resource: str = "/webhook",
    content_type: str = "application/json",
    source_ip: str = "52.89.214.238",
    path_parameters: dict[str, str] | None = None,
) -> dict[str, Any]:
    raw = body.encode() if isinstance(body, str) else body
    try:
        text, b64 = raw.decode("utf-8"), False
    except UnicodeDecodeError:
        text, b64 = base64.b64encode(raw).decode(), True
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": {"Content-Type": content_type, "User-Agent": "Go-http-client/1.1"},
        "multiValueHeaders": {"Content-Type": [content_type], "User-Agent": ["Go-http-client/1.1"]},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": path_parameters,
        "stageVariables": None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "test",
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/prod{path}",
            "stage": "prod",
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": 0,
            "protocol": "HTTP/1.1",
            "identity": {"sourceIp": source_ip, "userAgent": "Go-http-client/1.1"},
        },
        "body": text,
        "isBase64Encoded": b64,
    }


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "0",
                    "SenderId": "test",
                    "ApproximateFirstReceiveTimestamp": "0",
                    "SequenceNumber": "1",
                    "MessageGroupId": m.get("Attributes", {}).get("MessageGroupId", "g"),
                    "MessageDeduplicationId": m.get("Attributes", {}).get("MessageDeduplicationId", "d"),
                },
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(m["Body"].encode(), usedforsecurity=False).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            }
            for m in messages
        ]
    }
