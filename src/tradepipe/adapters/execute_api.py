"""SigV4 for the operator commands against a deployed stage's API (`--api https://…`): the read routes, the
kill switch and flatten are IAM-authorized at API Gateway (infra/components/api.py), which answers an
unsigned request 403 before the function runs. Signed with botocore's signer for the `execute-api` service
and the caller's ambient AWS credentials (profile, environment, SSO), as the AWS CLI would sign them."""

from __future__ import annotations

import re
from collections.abc import Generator
from typing import Any

import httpx

# https://{api-id}.execute-api.{region}.amazonaws.com/{stage}: the region is in the host.
_HOST_REGION = re.compile(r"\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$")


class NoAwsCredentials(RuntimeError):
    pass


class ExecuteApiAuth(httpx.Auth):
    requires_request_body = True  # the payload's hash is part of the signature

    def __init__(self, credentials: Any, region: str) -> None:
        self._credentials = credentials
        self.region = region

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        # Only what the request carries as sent is signed: the host (added by the signer) and the body's
        # content type; httpx's own headers (user agent, length) stay unsigned.
        signed = {k: v for k, v in request.headers.items() if k.lower() == "content-type"}
        aws = AWSRequest(method=request.method, url=str(request.url), data=request.content, headers=signed)
        SigV4Auth(self._credentials.get_frozen_credentials(), "execute-api", self.region).add_auth(aws)
        for name in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token"):
            if name in aws.headers:
                request.headers[name] = aws.headers[name]
        yield request


def execute_api_auth(url: str, session: Any = None) -> ExecuteApiAuth:
    """The signer for `url`'s API: its region from the execute-api host (else the session's), the session's
    credentials (boto3's default chain unless one is given)."""
    import boto3

    session = session or boto3.Session()
    host = httpx.URL(url).host
    match = _HOST_REGION.search(host)
    region = match.group(1) if match else session.region_name
    if not region:
        raise NoAwsCredentials(f"no AWS region for {host}: set AWS_REGION or use the execute-api URL")
    credentials = session.get_credentials()
    if credentials is None:
        raise NoAwsCredentials("no AWS credentials to sign the request with (the route is IAM-authorized)")
    return ExecuteApiAuth(credentials, region)
