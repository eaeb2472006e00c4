"""The search front's SigV4 check (infra/checks/sigv4_check.py): what a domain accepts and refuses.

Requests are signed here by the indexer's own signer (adapters/opensearch.py::sigv4_auth: opensearch-py's,
over the ambient credentials), or by botocore where a client's mistake has to be made on purpose, then
checked as they would arrive."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from requests.structures import CaseInsensitiveDict

from infra.checks.sigv4_check import SigningKey, refusal
from tradepipe.adapters.opensearch import sigv4_auth

HOST = "search-tradepipe.us-east-1.es.amazonaws.com"
REGION = "us-east-1"
SECRET = "indexer-secret"  # noqa: S105 - a made-up key pair
TOKEN = "session-token"  # noqa: S105
KEYS = {"AKIDINDEXER": SigningKey(SECRET, TOKEN)}
BULK = b'{"index":{"_index":"trading-signals"}}\n{"a":1}\n'


@pytest.fixture(autouse=True)
def _credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ambient credentials the signer reads, as a function's role gives them."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDINDEXER")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)
    for name in ("AWS_PROFILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)


def _signed(
    method: str = "POST", path: str = "/_bulk?require_alias=true", body: bytes = BULK, region: str = REGION
) -> requests.PreparedRequest:
    prepared = requests.Request(
        method, f"https://{HOST}{path}", data=body, headers={"Content-Type": "application/json"}
    ).prepare()
    signed: requests.PreparedRequest = sigv4_auth(region)(prepared)
    return signed


def _by_botocore(
    method: str,
    url: str,
    headers: Mapping[str, str] | None = None,
    service: str = "es",
    every_header: bool = False,
) -> tuple[str, CaseInsensitiveDict[str]]:
    """A request botocore signs for this host, as sent: (its target, its headers). `every_header`: sign every
    header it is given, as older botocore and opensearch-py 3.2.0 together do (Connection included)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest, HTTPHeaders
    from botocore.credentials import Credentials

    class EveryHeader(SigV4Auth):
        def headers_to_sign(self, request: Any) -> Any:
            chosen = HTTPHeaders()
            for name, value in request.headers.items():
                chosen[name.lower()] = value
            chosen["host"] = HOST
            return chosen

    signer = (EveryHeader if every_header else SigV4Auth)(
        Credentials("AKIDINDEXER", SECRET, TOKEN), service, REGION
    )
    request = AWSRequest(method, url, data=b"", headers=dict(headers or {}))
    signer.add_auth(request)
    target = url.removeprefix(f"https://{HOST}")
    return target, CaseInsensitiveDict({k: str(v) for k, v in request.headers.items()})


def _check(
    request: requests.PreparedRequest, keys: Mapping[str, SigningKey] = KEYS, **changes: Any
) -> str | None:
    headers = CaseInsensitiveDict(request.headers)
    headers.update(changes.pop("headers", {}))
    for name in changes.pop("without", ()):
        headers.pop(name)
    body = changes.pop("body", request.body or b"")
    return refusal(
        request.method or "",
        changes.pop("target", request.path_url),
        HOST,
        headers,
        body if isinstance(body, bytes) else body.encode(),
        keys.get,
        REGION,
        changes.pop("now", None),
    )


def _refused(reason: str | None, says: str) -> bool:
    return reason is not None and says in reason


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
    target, headers = _by_botocore("GET", f"https://{HOST}/_cluster/health")
    assert refusal("GET", target, HOST, headers, b"", KEYS.get, REGION) is None


def test_a_query_is_read_as_the_server_reads_it() -> None:
    # `:` sent raw or encoded is the same parameter; a `+` is a space to the server, and a client that
    # signed the `+` itself is refused (the canonical query wants `%20`).
    target, headers = _by_botocore("GET", f"https://{HOST}/_search?q=ticker%3AMSFT")
    assert refusal("GET", "/_search?q=ticker:MSFT", HOST, headers, b"", KEYS.get, REGION) is None
    target, headers = _by_botocore("GET", f"https://{HOST}/_search?q=a+b")
    assert _refused(refusal("GET", target, HOST, headers, b"", KEYS.get, REGION), "does not match")
    target, headers = _by_botocore("GET", f"https://{HOST}/_search?q=a%20b")
    assert refusal("GET", target, HOST, headers, b"", KEYS.get, REGION) is None


def test_a_path_encoded_once_is_refused() -> None:
    # Signed over `/a,b` (canonically `/a%2Cb`) but sent as `/a%2Cb`, which the server encodes again.
    _, headers = _by_botocore("GET", f"https://{HOST}/trading-signals,trading-orders/_search")
    sent = "/trading-signals%2Ctrading-orders/_search"
    assert _refused(refusal("GET", sent, HOST, headers, b"", KEYS.get, REGION), "does not match")


def test_a_wrong_secret_key_is_refused() -> None:
    assert _refused(_check(_signed(), keys={"AKIDINDEXER": SigningKey("another", TOKEN)}), "does not match")


def test_an_unknown_key_id_is_refused() -> None:
    request = _signed()
    forged = request.headers["Authorization"].replace("AKIDINDEXER", "AKIDSOMEONE")
    assert _refused(_check(request, headers={"Authorization": forged}), "security token")


def test_another_region_or_service_is_refused() -> None:
    assert _refused(_check(_signed(region="eu-west-1")), "us-east-1/es")
    target, headers = _by_botocore("GET", f"https://{HOST}/_cluster/health", service="execute-api")
    assert _refused(refusal("GET", target, HOST, headers, b"", KEYS.get, REGION), "us-east-1/es")


def test_a_session_token_missing_changed_or_unsigned_is_refused() -> None:
    assert _refused(_check(_signed(), without=["X-Amz-Security-Token"]), "security token")
    assert _refused(_check(_signed(), headers={"X-Amz-Security-Token": "other"}), "security token")
    # Temporary keys whose token was added after signing: not in SignedHeaders.
    target, headers = _by_botocore("GET", f"https://{HOST}/_alias")
    unsigned = CaseInsensitiveDict({**headers, "X-Amz-Security-Token": TOKEN})
    authorization = unsigned["Authorization"].replace(";x-amz-security-token", "")
    unsigned["Authorization"] = authorization
    assert _refused(refusal("GET", target, HOST, unsigned, b"", KEYS.get, REGION), "security token")


def test_a_body_changed_after_signing_is_refused() -> None:
    assert _refused(_check(_signed(), body=b'{"index":{"_index":"other"}}\n{}\n'), "x-amz-content-sha256")


def test_a_signed_header_changed_after_signing_is_refused() -> None:
    assert _refused(_check(_signed(), headers={"Content-Type": "text/plain"}), "does not match")


def test_a_path_or_query_changed_after_signing_is_refused() -> None:
    assert _refused(_check(_signed(), target="/trading-signals/_bulk?require_alias=true"), "does not match")
    assert _refused(_check(_signed(), target="/_bulk?require_alias=false"), "does not match")


def test_a_signed_hop_by_hop_header_is_refused() -> None:
    # The load balancer drops Connection before the check (opensearch-project/opensearch-py#1047).
    target, headers = _by_botocore(
        "GET", f"https://{HOST}/_alias", headers={"Connection": "keep-alive"}, every_header=True
    )
    assert "connection" in headers["Authorization"]
    assert _refused(refusal("GET", target, HOST, headers, b"", KEYS.get, REGION), "hop-by-hop")


def test_a_signature_more_than_five_minutes_old_is_refused() -> None:
    assert _check(_signed(), now=datetime.now(UTC) + timedelta(minutes=6)) == "Signature expired"
    assert _check(_signed(), now=datetime.now(UTC) + timedelta(minutes=4)) is None


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
    auth = sigv4_auth(REGION)

    def sent() -> requests.PreparedRequest:
        signed: requests.PreparedRequest = auth(requests.Request("GET", f"https://{HOST}/_alias").prepare())
        return signed

    assert _check(sent(), keys={"AKIDOLD": SigningKey("old-secret", "t1")}) is None
    clock[0] += timedelta(minutes=55)  # within the last 10 minutes: botocore refreshes before use
    assert _check(sent(), keys={"AKIDNEW": SigningKey("new-secret", "t2")}) is None
