"""The check an Amazon OpenSearch Service domain makes of a SigV4-signed request, for the local search front.

osmem ignores signatures, so a client that signed wrongly (the path encoded once instead of twice, a header
changed after signing, the body not the one hashed) would pass every local test and be refused by the
domain with a 403 on its first request. The front (infra/checks/search_front.py) recomputes each signature
with botocore's SigV4 signer (AWS's own) from what arrived: the method, the path and query as sent, the
headers the request says it signed, the body; and refuses what does not match, as the domain does.

AWS Signature Version 4 (docs.aws.amazon.com, "Create a signed AWS API request"): the canonical request is the
method, the URI path encoded twice for every service but S3, the sorted query, the signed headers with
their values, their names and the payload's SHA-256; the string to sign names the time and the scope
(date/region/service/aws4_request); the key is derived from the secret key and that scope. A request more
than 15 minutes from the server's clock is refused too ("Signature expired").
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

SIGV4 = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/"
    r"aws4_request, ?SignedHeaders=(?P<signed>[^,]+), ?Signature=(?P<signature>[0-9a-f]{64})$"
)
SKEW = timedelta(minutes=15)


class Headers(Protocol):
    """Case-insensitive headers: http.server's message, requests' CaseInsensitiveDict."""

    def get(self, name: str, /) -> str | None: ...


def is_sigv4(authorization: str) -> bool:
    return authorization.startswith("AWS4-HMAC-SHA256 ")


def refusal(
    method: str,
    target: str,
    host: str,
    headers: Headers,
    body: bytes,
    secret_for: Callable[[str], str | None],
    now: datetime | None = None,
) -> str | None:
    """None when the request carries a valid SigV4 signature by a key `secret_for` knows, else why the
    domain would refuse it. `target` is the request line's path and query, as sent; `headers` are
    case-insensitive (http.server's message)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    found = SIGV4.match(headers.get("Authorization") or "")
    if found is None:
        return "malformed Authorization header"
    secret = secret_for(found["key"])
    if secret is None:
        return "The security token included in the request is invalid."
    amz_date = headers.get("X-Amz-Date") or ""
    try:
        signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return "missing or malformed X-Amz-Date"
    if abs((now or datetime.now(UTC)) - signed_at) > SKEW:
        return "Signature expired"
    if amz_date[:8] != found["date"]:
        return "the credential scope's date is not the request's"
    declared = headers.get("X-Amz-Content-SHA256")
    if declared is not None and declared != hashlib.sha256(body).hexdigest():
        return "The provided 'x-amz-content-sha256' header does not match what was computed."
    names = found["signed"].split(";")
    if "host" not in names:
        return "the Host header is not signed"
    missing = [n for n in names if n != "host" and headers.get(n) is None]
    if missing:
        return f"signed headers missing from the request: {missing}"
    # Exactly the headers the client signed: botocore signs every header of the request it is given.
    request = AWSRequest(
        method=method,
        url=f"https://{host}{target}",
        data=body,
        headers={n: (host if n == "host" else str(headers.get(n))) for n in names},
    )
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(
        Credentials(found["key"], secret, headers.get("X-Amz-Security-Token")),
        found["service"],
        found["region"],
    )
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if not hmac.compare_digest(expected, found["signature"]):
        return (
            "The request signature we calculated does not match the signature you provided. Check your AWS "
            "Secret Access Key and signing method."
        )
    return None
