"""The search front's SigV4 check (infra/checks/sigv4_check.py): what a domain accepts and refuses.

Requests are signed here by the indexer's own signer (adapters/opensearch.py::sigv4_auth: opensearch-py's,
over the ambient credentials), then checked as they would arrive."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from requests.structures import CaseInsensitiveDict

from infra.checks.sigv4_check import refusal
from tradepipe.adapters.opensearch import sigv4_auth

HOST = "search-tradepipe.us-east-1.es.amazonaws.com"
SECRET = "indexer-secret"  # noqa: S105 - a made-up key pair
TOKEN = "session-token"  # noqa: S105
KEYS = {"AKIDINDEXER": SECRET}


@pytest.fixture(autouse=True)
def _credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ambient credentials the signer reads, as a function's role gives them."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDINDEXER")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)
    for name in ("AWS_PROFILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)


def _signed(
    method: str = "POST",
    path: str = "/_bulk?require_alias=true",
    body: bytes = b'{"index":{"_index":"trading-signals"}}\n{"a":1}\n',
    secret: str = SECRET,
    monkeypatch: pytest.MonkeyPatch | None = None,
) -> requests.PreparedRequest:
    if monkeypatch is not None:
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    auth = sigv4_auth("us-east-1")
    prepared = requests.Request(
        method, f"https://{HOST}{path}", data=body, headers={"Content-Type": "application/json"}
    ).prepare()
    signed: requests.PreparedRequest = auth(prepared)
    return signed


def _check(request: requests.PreparedRequest, keys: dict[str, str] = KEYS, **changes: Any) -> str | None:
    headers = CaseInsensitiveDict(request.headers)
    headers.update(changes.pop("headers", {}))
    body = changes.pop("body", request.body or b"")
    return refusal(
        request.method or "",
        changes.pop("target", request.path_url),
        HOST,
        headers,
        body if isinstance(body, bytes) else body.encode(),
        keys.get,
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


def test_a_wrong_secret_key_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "does not match" in (_check(_signed(secret="another", monkeypatch=monkeypatch)) or "")


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


def test_the_dashboards_import_is_signed_over_its_multipart_body() -> None:
    # `tradepipe dashboards import --sigv4` (cli/dashboards.py): a multipart upload through requests.
    prepared = requests.Request(
        "POST",
        f"https://{HOST}/_dashboards/api/saved_objects/_import",
        params={"overwrite": "true"},
        headers={"osd-xsrf": "true"},
        files={"file": ("tradepipe.ndjson", b'{"type":"dashboard"}\n', "application/ndjson")},
    ).prepare()
    signed = sigv4_auth("us-east-1")(prepared)
    assert _check(signed) is None
    assert "does not match" in (_check(signed, target="/_dashboards/api/saved_objects/_import") or "")


def test_credentials_that_expire_are_refreshed_between_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    # A role's credentials last an hour or so: a client built once (the indexer's, the operator's) must sign
    # with the new ones once they are refreshed, never with the first for good.
    import boto3
    from botocore.credentials import RefreshableCredentials

    clock = [datetime.now(UTC)]

    def refresh() -> dict[str, str]:
        expiry = clock[0] + timedelta(hours=1)
        return {
            "access_key": "AKIDNEW",
            "secret_key": "new-secret",
            "token": "t2",
            "expiry_time": expiry.isoformat(),
        }

    expiring = RefreshableCredentials(
        "AKIDOLD",
        "old-secret",
        "t1",
        clock[0] + timedelta(hours=1),
        refresh,
        "sts-assume-role",
        lambda: clock[0],
    )
    monkeypatch.setattr(boto3.Session, "get_credentials", lambda _self: expiring)
    auth = sigv4_auth("us-east-1")

    def sent() -> requests.PreparedRequest:
        signed: requests.PreparedRequest = auth(requests.Request("GET", f"https://{HOST}/_alias").prepare())
        return signed

    assert _check(sent(), keys={"AKIDOLD": "old-secret"}) is None
    clock[0] += timedelta(minutes=55)  # within the last 10 minutes: botocore refreshes before use
    assert _check(sent(), keys={"AKIDNEW": "new-secret"}) is None
