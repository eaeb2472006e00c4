"""`--api https://…` signs operator commands for a deployed stage's IAM-authorized routes (SigV4). The
signature is recomputed here from AWS's published algorithm over the request exactly as it went out, so a
signer that signed other headers, another body, service or region than it sent would fail."""

from __future__ import annotations

import hashlib
import hmac
import json

import httpx
import pytest
from botocore.credentials import Credentials

from tradepipe.adapters.execute_api import NoAwsCredentials, execute_api_auth

URL = "https://abc123.execute-api.eu-west-2.amazonaws.com/prod"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


class _Session:
    def __init__(self, credentials: Credentials | None, region: str | None = "us-east-1") -> None:
        self._credentials = credentials
        self.region_name = region

    def get_credentials(self) -> Credentials | None:
        return self._credentials


def _sent(token: str | None = None) -> httpx.Request:
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(202, json={})

    auth = execute_api_auth(URL, _Session(Credentials("AKIDEXAMPLE", SECRET, token)))
    with httpx.Client(base_url=URL, auth=auth, transport=httpx.MockTransport(answer)) as client:
        client.post("/flatten/paper", json={"ticker": "MSFT", "by": "ops"})
    (request,) = sent
    return request


def _expected_signature(request: httpx.Request) -> str:
    fields = dict(p.split("=", 1) for p in request.headers["authorization"].split(" ", 1)[1].split(", "))
    signed_headers = fields["SignedHeaders"].split(";")
    amz_date = request.headers["x-amz-date"]
    scope = f"{amz_date[:8]}/eu-west-2/execute-api/aws4_request"
    assert fields["Credential"] == f"AKIDEXAMPLE/{scope}"
    canonical = "\n".join(
        [
            request.method,
            request.url.path,
            request.url.query.decode(),
            "".join(f"{h}:{request.headers[h].strip()}\n" for h in signed_headers),
            fields["SignedHeaders"],
            hashlib.sha256(request.content).hexdigest(),
        ]
    )
    to_sign = f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    key = f"AWS4{SECRET}".encode()
    for part in (amz_date[:8], "eu-west-2", "execute-api", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def test_a_request_to_a_deployed_stage_carries_a_sigv4_signature_over_what_was_sent() -> None:
    request = _sent()

    assert json.loads(request.content) == {"ticker": "MSFT", "by": "ops"}
    assert request.headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "host" in request.headers["authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
    assert request.headers["authorization"].endswith(f"Signature={_expected_signature(request)}")
    assert "x-amz-security-token" not in request.headers


def test_temporary_credentials_send_their_session_token() -> None:
    request = _sent(token="SESSION-TOKEN")

    assert request.headers["x-amz-security-token"] == "SESSION-TOKEN"
    assert "x-amz-security-token" in request.headers["authorization"]
    assert request.headers["authorization"].endswith(f"Signature={_expected_signature(request)}")


def test_without_credentials_the_command_says_so_instead_of_sending_unsigned() -> None:
    with pytest.raises(NoAwsCredentials, match="no AWS credentials"):
        execute_api_auth(URL, _Session(None))


def test_a_custom_domain_takes_the_sessions_region() -> None:
    auth = execute_api_auth("https://api.example.com/prod", _Session(Credentials("a", "b"), "ap-south-1"))

    assert auth.region == "ap-south-1"


def test_operator_commands_given_api_sign_their_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    from tradepipe.adapters.execute_api import ExecuteApiAuth
    from tradepipe.local.runtime.discovery import operator_client

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.delenv("AWS_PROFILE", raising=False)

    client = operator_client(api=URL)

    assert isinstance(client.auth, ExecuteApiAuth)
    assert client.auth.region == "eu-west-2"
