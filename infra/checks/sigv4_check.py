"""The check an Amazon OpenSearch Service domain makes of a SigV4-signed request, for the local search front.

osmem ignores signatures, so a client that signed wrongly (the path encoded once instead of twice, a header
changed after signing, the body not the one hashed, the wrong region) would pass every local test and be
refused by the domain with a 403 on its first request. The front (infra/checks/search_front.py) recomputes
each signature with botocore's SigV4 signer (AWS's own) from what arrived and refuses what does not match,
as the domain does.

AWS Signature Version 4 (docs.aws.amazon.com, IAM User Guide, "Create a signed AWS API request"):
- the canonical request: the method; the URI path, each segment encoded twice for every service but S3; the
  query with each name and value URI-encoded (a space is `%20`: a `+` the server reads as a space, so a
  client that signed `+` is refused, a known cause of 403s with OpenSearch); exactly the headers the client
  listed in SignedHeaders, values trimmed; that list; the payload's SHA-256;
- the scope names the date, the region and the service: a domain answers for its own region and `es` only;
- temporary credentials carry `X-Amz-Security-Token`, which must be the one issued and be signed;
- the request must reach AWS within five minutes of its time stamp.
A hop-by-hop header in SignedHeaders (`Connection`, …) is refused too: the load balancer in front of the
service drops it before the signature is checked (opensearch-project/opensearch-py#1047).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, Protocol
from urllib.parse import parse_qsl, urlsplit

SIGV4 = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/"
    r"aws4_request, ?SignedHeaders=(?P<signed>[^,]+), ?Signature=(?P<signature>[0-9a-f]{64})$"
)
SKEW = timedelta(minutes=5)
SERVICE = "es"  # OpenSearch Service domains and their Dashboards
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
     "transfer-encoding", "upgrade"}
)  # fmt: skip
_INVALID_TOKEN = "The security token included in the request is invalid."  # noqa: S105 - AWS's message
_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check your AWS Secret "
    "Access Key and signing method."
)


class Headers(Protocol):
    """Case-insensitive headers: http.server's message, requests' CaseInsensitiveDict."""

    def get(self, name: str, /) -> str | None: ...


class SigningKey(NamedTuple):
    """What the domain knows of an access key id: its secret, and the session token issued with it (None:
    long-term keys, which carry none)."""

    secret: str
    token: str | None = None


def is_sigv4(authorization: str) -> bool:
    return authorization.startswith("AWS4-HMAC-SHA256 ")


def refusal(
    method: str,
    target: str,
    host: str,
    headers: Headers,
    body: bytes,
    keys: Callable[[str], SigningKey | None],
    region: str,
    now: datetime | None = None,
) -> str | None:
    """None when the request carries a valid SigV4 signature for `region`'s `es` by a key `keys` knows, else
    why the domain would refuse it. `target` is the request line's path and query, as sent."""
    found = SIGV4.match(headers.get("Authorization") or "")
    if found is None:
        return "malformed Authorization header"
    if (found["region"], found["service"]) != (region, SERVICE):
        return f"Credential should be scoped to a valid region/service: {region}/{SERVICE}, not " + (
            f"{found['region']}/{found['service']}"
        )
    key = keys(found["key"])
    token = headers.get("X-Amz-Security-Token")
    names = found["signed"].split(";")
    if key is None or token != key.token or (token is not None and "x-amz-security-token" not in names):
        return _INVALID_TOKEN
    amz_date = headers.get("X-Amz-Date") or ""
    stale = _time_refusal(amz_date, found["date"], now or datetime.now(UTC))
    if stale is not None:
        return stale
    declared = headers.get("X-Amz-Content-SHA256")
    if declared is not None and declared != hashlib.sha256(body).hexdigest():
        return "The provided 'x-amz-content-sha256' header does not match what was computed."
    if "host" not in names:
        return "the Host header is not signed"
    hop = sorted(HOP_BY_HOP.intersection(names))
    if hop:
        return f"hop-by-hop headers signed {hop}: the load balancer drops them before the check"
    missing = [n for n in names if n != "host" and headers.get(n) is None]
    if missing:
        return f"signed headers missing from the request: {missing}"
    signed = {n: (host if n == "host" else str(headers.get(n))) for n in names}
    expected = _signature(method, target, host, signed, body, amz_date, found, key.secret, token)
    return None if hmac.compare_digest(expected, found["signature"]) else _MISMATCH


def _time_refusal(amz_date: str, scope_date: str, now: datetime) -> str | None:
    try:
        signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return "missing or malformed X-Amz-Date"
    if abs(now - signed_at) > SKEW:
        return "Signature expired"
    if amz_date[:8] != scope_date:
        return "the credential scope's date is not the request's"
    return None


def _signature(
    method: str,
    target: str,
    host: str,
    signed: dict[str, str],
    body: bytes,
    amz_date: str,
    found: re.Match[str],
    secret: str,
    token: str | None,
) -> str:
    """The signature AWS computes: botocore's signer over the request as the server reads it (the query
    decoded, then encoded canonically), signing exactly the headers the client listed."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest, HTTPHeaders
    from botocore.credentials import Credentials

    class ListedHeaders(SigV4Auth):
        # botocore leaves out some headers it never signs itself (its list varies by version); the server
        # takes the client's list as it is.
        def headers_to_sign(self, request: Any) -> Any:
            chosen = HTTPHeaders()
            for name, value in signed.items():
                chosen[name] = value
            return chosen

    parts = urlsplit(target)
    params = parse_qsl(parts.query, keep_blank_values=True)
    # A list, not a mapping, so a repeated name keeps each value: botocore's canonical query takes either.
    query: Any = params
    request = AWSRequest(method=method, url=f"https://{host}{parts.path}", data=body, params=query)
    request.context["timestamp"] = amz_date
    signer = ListedHeaders(Credentials(found["key"], secret, token), found["service"], found["region"])
    canonical = signer.canonical_request(request)
    return str(signer.signature(signer.string_to_sign(request, canonical), request))
