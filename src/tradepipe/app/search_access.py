"""What the indexer may do inside OpenSearch (fine-grained access control), as security-plugin documents.

IAM lets the indexer's role reach the domain; FGAC decides what it may do there. The deploy-time setup
(`functions/search_setup/handler.py`, a CloudFormation custom resource) writes this role and maps the
indexer's IAM role to it as a backend role, so no one has to click through Dashboards after a deploy, and the
indexer gets its own indices and nothing else (not the security index, not other tenants' data).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

INDEXER_ROLE = "tradepipe_indexer"

# The indexer only writes documents through its aliases (SearchSetup applies templates, indices and aliases
# as the master user). Action names as the security plugin checks them (docs.opensearch.org, "Permissions"):
# `_bulk` is authorized as the cluster action indices:data/write/bulk, then per index as the shard-level
# indices:data/write/bulk[s] and each item's indices:data/write/index or .../delete. No alias lookups: a
# `GET /_alias/<name>` is checked as indices:admin/aliases/get on `*` (opensearch-project/security #1861).
_CLUSTER_PERMISSIONS = ("indices:data/write/bulk",)
_INDEX_PERMISSIONS = (
    "indices:data/write/bulk*",
    "indices:data/write/index",
    "indices:data/write/delete",
)


def indexer_role(index_patterns: Iterable[str]) -> dict[str, Any]:
    """Body of PUT _plugins/_security/api/roles/tradepipe_indexer."""
    patterns = sorted(set(index_patterns))
    if not patterns or any(p in {"*", ""} or p.startswith(".") for p in patterns):
        raise ValueError(f"the indexer's patterns must name its own indices, got {patterns}")
    return {
        "description": "tradepipe indexer: writes documents through its own aliases, nothing else",
        "cluster_permissions": list(_CLUSTER_PERMISSIONS),
        "index_permissions": [{"index_patterns": patterns, "allowed_actions": list(_INDEX_PERMISSIONS)}],
    }


def indexer_role_mapping(backend_roles: Iterable[str]) -> dict[str, Any]:
    """Body of PUT _plugins/_security/api/rolesmapping/tradepipe_indexer: the IAM role ARNs it applies to."""
    roles = sorted(set(backend_roles))
    if not roles or not all(r.startswith("arn:") and ":role/" in r for r in roles):
        raise ValueError(f"backend roles must be IAM role ARNs, got {roles}")
    return {"backend_roles": roles, "description": "the indexer function's IAM role"}
