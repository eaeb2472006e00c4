"""OpenSearch through opensearch-py: SigV4 on AWS, plain HTTP against the local server.

Writes go to aliases (`trading-signals`), never to concrete indices, and with `require_alias=true`: a
write that arrives before its alias exists fails (and is retried) instead of auto-creating a concrete
index under the alias's name with a guessed mapping, which would block the alias for good.

The indexer only writes: templates, indices and aliases are applied by the deploy-time SearchSetup (as the
master user) and by the local runtime at start (`ensure_templates`), so the indexer's FGAC role needs
write actions on its own aliases and nothing else (no template, index or alias administration).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from opensearchpy import OpenSearch, RequestsHttpConnection
from opensearchpy.exceptions import RequestError

from tradepipe.adapters.search_templates import component_templates, index_templates
from tradepipe.ports.search import IndexAction
from tradepipe.resources import INDEXES, SearchIndexSpec

log = logging.getLogger(__name__)


def sigv4_auth(region: str) -> Any:
    """opensearch-py's own SigV4 signer for the `es` service, over the ambient AWS credentials (the
    function's role, or an operator's profile): OpenSearch and Dashboards on AWS both take it. It signs with
    botocore's SigV4 and reads the credentials afresh (frozen) for every request, so an assumed role's or an
    SSO profile's credentials are refreshed as they expire instead of signing with the first ones for good."""
    import boto3
    from opensearchpy import RequestsAWSV4SignerAuth

    creds = boto3.Session().get_credentials()
    if creds is None:
        raise RuntimeError("no AWS credentials to sign OpenSearch requests with")
    return RequestsAWSV4SignerAuth(creds, region, "es")


def build_client(endpoint: str, auth: str, region: str) -> OpenSearch:
    if auth == "sigv4":
        return OpenSearch(
            hosts=[endpoint],
            http_auth=sigv4_auth(region),
            use_ssl=True,
            verify_certs=True,
            connection_class=RequestsHttpConnection,
            timeout=10,
        )
    return OpenSearch(hosts=[endpoint], timeout=10)


@dataclass(frozen=True)
class AliasState:
    """What ensure_indices found or did for one alias."""

    alias: str
    write_index: str | None
    action: str  # created | current | rolled-over | blocked
    detail: str
    previous: tuple[str, ...] = ()  # older versions still behind the alias: `migrate` reindexes them

    @property
    def ok(self) -> bool:
        return self.action != "blocked"


class OpenSearchIndex:
    def __init__(self, client: OpenSearch, indexes: Sequence[SearchIndexSpec] = INDEXES) -> None:
        self._client = client
        self._indexes = tuple(indexes)

    # --- setup: templates, versioned indices, aliases ---------------------------------------------------

    def ensure_templates(self) -> list[AliasState]:
        """Idempotent: PUT of an unchanged template changes nothing; an existing current index is left
        alone. Run by SearchSetup at deploy, the local runtime at start and `tradepipe dashboards import`."""
        for name, body in component_templates().items():
            self._client.cluster.put_component_template(name=name, body=body)
        for name, body in index_templates().items():
            self._client.indices.put_index_template(name=name, body=body)
        states = [self._ensure_alias(spec) for spec in self._indexes]
        for state in states:
            if not state.ok or state.previous:
                log.warning("search index %s: %s", state.alias, state.detail)
        return states

    def _ensure_alias(self, spec: SearchIndexSpec) -> AliasState:
        behind = self._indices_behind(spec.alias)
        if behind is None:
            if self._client.indices.exists(index=spec.alias):
                return AliasState(
                    spec.alias,
                    None,
                    "blocked",
                    f"a concrete index named {spec.alias!r} exists (written before aliases were used); "
                    f"run `tradepipe dashboards migrate` to reindex it into {spec.concrete} behind the alias",
                )
            self._create(spec.concrete, {spec.alias: {"is_write_index": True}})
            return AliasState(
                spec.alias, spec.concrete, "created", f"created {spec.concrete} as its write index"
            )
        write = next((name for name, is_write in behind.items() if is_write), None)
        older = tuple(sorted(name for name in behind if name != spec.concrete))
        if write == spec.concrete:
            detail = f"write index {spec.concrete}"
            if older:
                detail += f"; still behind it: {', '.join(older)} (run `tradepipe dashboards migrate`)"
            return AliasState(spec.alias, write, "current", detail, older)
        # A new mapping version: new documents go to the new index from now on (no outage); reads through
        # the alias see both until `migrate` copies the old documents over and detaches the old index.
        self._create(spec.concrete, {})
        actions: list[dict[str, Any]] = [
            {"add": {"index": spec.concrete, "alias": spec.alias, "is_write_index": True}}
        ]
        actions += [{"add": {"index": name, "alias": spec.alias, "is_write_index": False}} for name in older]
        self._client.indices.update_aliases(body={"actions": actions})
        return AliasState(
            spec.alias,
            spec.concrete,
            "rolled-over",
            f"{spec.concrete} is the new write index; run `tradepipe dashboards migrate` to copy "
            f"{', '.join(older)} into it",
            older,
        )

    def migrate(self) -> list[str]:
        """Copy every older index behind an alias into the current one and detach it (kept, not deleted).
        `op_type: create` so a document already rewritten in the new index is never overwritten by its
        older copy. A legacy concrete index named like the alias is reindexed, deleted, and the alias
        created in its place (writes fail and are retried for that moment)."""
        done: list[str] = []
        for spec in self._indexes:
            behind = self._indices_behind(spec.alias)
            if behind is None and self._client.indices.exists(index=spec.alias):
                self._create(spec.concrete, {})
                self._copy(spec.alias, spec.concrete)
                self._client.indices.delete(index=spec.alias)
                self._client.indices.put_alias(
                    index=spec.concrete, name=spec.alias, body={"is_write_index": True}
                )
                done.append(f"{spec.alias}: legacy index reindexed into {spec.concrete}, alias created")
                continue
            state = self._ensure_alias(spec)
            for old in state.previous:
                self._copy(old, spec.concrete)
                self._client.indices.update_aliases(
                    body={"actions": [{"remove": {"index": old, "alias": spec.alias}}]}
                )
                done.append(f"{spec.alias}: {old} reindexed into {spec.concrete} and detached (not deleted)")
        return done

    def _copy(self, source: str, dest: str) -> None:
        result = self._client.reindex(
            body={
                "source": {"index": source},
                "dest": {"index": dest, "op_type": "create"},
                "conflicts": "proceed",
            },
            refresh=True,
        )
        if result.get("failures"):
            raise RuntimeError(f"reindex {source} -> {dest}: {result['failures'][:3]}")

    def _indices_behind(self, alias: str) -> dict[str, bool] | None:
        """{concrete index: is it the write index} for the alias, or None when there is no such alias."""
        # ignore=404: a missing alias is an expected answer here, not a request failure worth a log line.
        found = self._client.indices.get_alias(name=alias, ignore=404)
        if not found or "error" in found or found.get("status") == 404:
            return None
        behind = {}
        for index, body in found.items():
            settings = body.get("aliases", {}).get(alias, {})
            behind[index] = bool(settings.get("is_write_index", len(found) == 1))
        return behind

    def _create(self, index: str, aliases: dict[str, Any]) -> None:
        try:
            self._client.indices.create(index=index, body={"aliases": aliases} if aliases else {})
        except RequestError as exc:
            # Two indexer containers starting together: the other one created it first.
            if exc.error != "resource_already_exists_exception":
                raise
            if aliases:
                for alias, settings in aliases.items():
                    self._client.indices.put_alias(index=index, name=alias, body=settings)

    # --- writes ------------------------------------------------------------------------------------------

    def bulk(self, actions: Sequence[IndexAction]) -> list[str]:
        """One bulk request; returns `<index>/<doc_id>` of each action that failed (retryable)."""
        body: list[dict[str, Any]] = []
        for action in actions:
            meta = {"_index": action.index, "_id": action.doc_id}
            if action.document is None:
                body.append({"delete": meta})
            else:
                body.append({"index": meta})
                body.append(dict(action.document))
        response = self._client.bulk(body=body, params={"require_alias": "true"})
        failed: list[str] = []
        if response.get("errors"):
            # Items answer in request order; their `_index` names the concrete index, not the alias we
            # wrote to, so failures are matched by position.
            for action, item in zip(actions, response["items"], strict=True):
                result = next(iter(item.values()))
                if result.get("error") and not (result.get("status") == 404 and "delete" in item):
                    log.error(
                        "document rejected",
                        extra={"index": action.index, "doc_id": action.doc_id, "error": result["error"]},
                    )
                    failed.append(f"{action.index}/{action.doc_id}")
        return failed
