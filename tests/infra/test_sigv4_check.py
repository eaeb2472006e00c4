"""The search front's SigV4 check (infra/checks/sigv4_check.py): what a domain accepts and refuses.

Requests are signed here as the indexer signs them on AWS (requests-aws4auth, service `es`,
adapters/opensearch.py::sigv4_auth), then checked as they would arrive."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from requests.structures import CaseInsensitiveDict
from requests_aws4auth import AWS4Auth

from infra.checks.sigv4_check import refusal

HOST = "search-tradepipe.us-east-1.es.amazonaws.com"
SECRET = "indexer-secret"  # noqa: S105 - a made-up key pair
TOKEN = "session-token"  # noqa: S105
KEYS = {"AKIDINDEXER": SECRET}


def _signed(
    method: str = "POST",
    path: str = "/_bulk?require_alias=true",
    body: bytes = b'{"index":{"_index":"trading-signals"}}\n{"a":1}\n',
    secret: str = SECRET,
    token: str | None = TOKEN,
) -> requests.PreparedRequest:
    auth = AWS4Auth("AKIDINDEXER", secret, "us-east-1", "es", session_token=token)
    prepared = requests.Request(
        method, f"https://{HOST}{path}", data=body, headers={"Content-Type": "application/json"}
    ).prepare()
    signed: requests.PreparedRequest = auth(prepared)
    return signed


def _check(request: requests.PreparedRequest, **changes: Any) -> str | None:
    headers = CaseInsensitiveDict(request.headers)
    headers.update(changes.pop("headers", {}))
    body = changes.pop("body", request.body or b"")
    return refusal(
        request.method or "",
        changes.pop("target", request.path_url),
        HOST,
        headers,
        body if isinstance(body, bytes) else body.encode(),
        KEYS.get,
        changes.pop("now", None),
    )


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/_bulk?require_alias=true"),
        ("GET", "/_alias/trading-signals"),
        # Characters a path or query carries encoded: the path is encoded twice in the canonical request.
        ("GET", "/trading-signals%2Ctrading-orders/_search?q=ticker%3AMSFT&size=10"),
        ("PUT", "/_index_template/trading-signals"),
    ],
)
def test_a_request_signed_as_the_indexer_signs_is_accepted(method: str, path: str) -> None:
    assert _check(_signed(method, path)) is None


def test_a_request_signed_by_botocore_is_accepted() -> None:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest("GET", f"https://{HOST}/_cluster/health", data=b"")
    SigV4Auth(Credentials("AKIDINDEXER", SECRET), "es", "us-east-1").add_auth(request)
    headers = CaseInsensitiveDict({k: str(v) for k, v in request.headers.items()})
    assert refusal("GET", "/_cluster/health", HOST, headers, b"", KEYS.get) is None


def test_a_wrong_secret_key_is_refused() -> None:
    assert "does not match" in (_check(_signed(secret="another")) or "")


def test_an_unknown_key_id_is_refused() -> None:
    request = _signed()
    forged = request.headers["Authorization"].replace("AKIDINDEXER", "AKIDSOMEONE")
    assert "security token" in (_check(request, headers={"Authorization": forged}) or "")


def test_a_body_changed_after_signing_is_refused() -> None:
    assert "x-amz-content-sha256" in (_check(_signed(), body=b'{"index":{"_index":"other"}}\n{}\n') or "")


def test_a_signed_header_changed_after_signing_is_refused() -> None:
    assert "does not match" in (_check(_signed(), headers={"Content-Type": "text/plain"}) or "")


def test_a_path_changed_after_signing_is_refused() -> None:
    assert "does not match" in (_check(_signed(), target="/_bulk?require_alias=false") or "")


def test_a_session_token_changed_after_signing_is_refused() -> None:
    assert "does not match" in (_check(_signed(), headers={"X-Amz-Security-Token": "other"}) or "")


def test_a_signature_older_than_fifteen_minutes_is_refused() -> None:
    later = datetime.now(UTC) + timedelta(minutes=16)
    assert _check(_signed(), now=later) == "Signature expired"
    assert _check(_signed(), now=datetime.now(UTC) + timedelta(minutes=14)) is None
