"""OpenSearch through opensearch-py: SigV4 on AWS, plain HTTP against the local server."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opensearchpy import OpenSearch, RequestsHttpConnection

from tradepipe.adapters.search_templates import index_templates
from tradepipe.ports import IndexAction


def build_client(endpoint: str, auth: str, region: str) -> OpenSearch:
    if auth == "sigv4":
        import boto3
        from requests_aws4auth import AWS4Auth

        creds = boto3.Session().get_credentials()
        if creds is None:
            raise RuntimeError("no AWS credentials to sign OpenSearch requests with")
        aws_auth = AWS4Auth(creds.access_key, creds.secret_key, region, "es", session_token=creds.token)
        return OpenSearch(
            hosts=[endpoint],
            http_auth=aws_auth,
            use_ssl=True,
            verify_certs=True,
            connection_class=RequestsHttpConnection,
            timeout=10,
        )
    return OpenSearch(hosts=[endpoint], timeout=10)


class OpenSearchIndex:
    def __init__(self, client: OpenSearch) -> None:
        self._client = client
        self._templates_applied = False

    def ensure_templates(self) -> None:
        """Idempotent: PUT of the same template is a no-op change."""
        for name, body in index_templates().items():
            self._client.indices.put_index_template(name=name, body=body)
        self._templates_applied = True

    def bulk(self, actions: Sequence[IndexAction]) -> list[str]:
        if not self._templates_applied:
            self.ensure_templates()
        body: list[dict[str, Any]] = []
        for action in actions:
            meta = {"_index": action.index, "_id": action.doc_id}
            if action.document is None:
                body.append({"delete": meta})
            else:
                body.append({"index": meta})
                body.append(dict(action.document))
        response = self._client.bulk(body=body)
        failed: list[str] = []
        if response.get("errors"):
            for item in response["items"]:
                result = next(iter(item.values()))
                if result.get("error") and not (result.get("status") == 404 and "delete" in item):
                    failed.append(f"{result['_index']}/{result['_id']}")
        return failed
