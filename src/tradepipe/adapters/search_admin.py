"""The domain's master user through opensearch-py: the security plugin's REST API and the templates."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities import parameters
from opensearchpy import OpenSearch

from tradepipe.adapters.opensearch import OpenSearchIndex
from tradepipe.resources import INDEXES


class OpenSearchAdmin:
    def __init__(self, client: OpenSearch) -> None:
        self._client = client

    @classmethod
    def with_master_user(cls, endpoint: str, username: str, password: str) -> OpenSearchAdmin:
        # Basic auth over HTTPS is how FGAC's internal master user signs in; the password never leaves
        # this call (it is not logged and not returned).
        return cls(
            OpenSearch(
                hosts=[endpoint], http_auth=(username, password), use_ssl=True, verify_certs=True, timeout=30
            )
        )

    @classmethod
    def with_master_secret(cls, endpoint: str, secret_arn: str) -> OpenSearchAdmin:
        """The master user from its Secrets Manager secret ({username, password}), read fresh through
        Powertools parameters in the function's own region; the values go no further than the client."""
        master = parameters.get_secret(secret_arn, transform="json", max_age=0)
        if not isinstance(master, dict):
            raise TypeError("the master-user secret is not a JSON object")
        return cls.with_master_user(endpoint, str(master["username"]), str(master["password"]))

    def put_security_role(self, name: str, body: dict[str, Any]) -> None:
        self._client.transport.perform_request("PUT", f"/_plugins/_security/api/roles/{name}", body=body)

    def put_role_mapping(self, name: str, body: dict[str, Any]) -> None:
        self._client.transport.perform_request(
            "PUT", f"/_plugins/_security/api/rolesmapping/{name}", body=body
        )

    def index_patterns(self) -> list[str]:
        # The versioned indices (`<alias>-v*`) and the aliases the indexer writes through.
        return [name for spec in INDEXES for name in (spec.pattern, spec.alias)]

    def ensure_templates(self) -> None:
        OpenSearchIndex(self._client).ensure_templates()
