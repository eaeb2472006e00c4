"""What the indexer may do inside OpenSearch (fine-grained access control), as security-plugin documents.

IAM lets the indexer's role reach the domain; FGAC decides what it may do there. The deploy-time setup
(`functions/indexer/setup.py`, a CloudFormation custom resource) writes this role and maps the indexer's
IAM role to it as a backend role, so no one has to click through Dashboards after a deploy, and the indexer
gets its own indices and nothing else (not the security index, not other tenants' data).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

INDEXER_ROLE = "tradepipe_indexer"

# Cluster actions: bulk writes and applying its own index templates (the indexer applies them on first
# write, so a template change ships with the code).
_CLUSTER_PERMISSIONS = (
    "cluster_composite_ops",  # _bulk, _mget
    "cluster_monitor",
    "indices:admin/index_template/get",
    "indices:admin/index_template/put",
    "cluster:admin/component_template/get",  # the shared settings, dimensions and stage-time components
    "cluster:admin/component_template/put",
)
# Index actions on its own patterns only: write and read documents, create the versioned indices and their
# aliases, update mappings a new template version brings.
_INDEX_PERMISSIONS = (
    "crud",
    "create_index",
    "indices:admin/aliases",
    "indices:admin/aliases/get",
    "indices:admin/get",
    "indices:admin/exists",
    "indices:admin/mapping/put",
)


def indexer_role(index_patterns: Iterable[str]) -> dict[str, Any]:
    """Body of PUT _plugins/_security/api/roles/tradepipe_indexer."""
    patterns = sorted(set(index_patterns))
    if not patterns or any(p in {"*", ""} or p.startswith(".") for p in patterns):
        raise ValueError(f"the indexer's patterns must name its own indices, got {patterns}")
    return {
        "description": "tradepipe indexer: writes its own indices, applies its own templates",
        "cluster_permissions": list(_CLUSTER_PERMISSIONS),
        "index_permissions": [{"index_patterns": patterns, "allowed_actions": list(_INDEX_PERMISSIONS)}],
    }


def indexer_role_mapping(backend_roles: Iterable[str]) -> dict[str, Any]:
    """Body of PUT _plugins/_security/api/rolesmapping/tradepipe_indexer: the IAM role ARNs it applies to."""
    roles = sorted(set(backend_roles))
    if not roles or not all(r.startswith("arn:") and ":role/" in r for r in roles):
        raise ValueError(f"backend roles must be IAM role ARNs, got {roles}")
    return {"backend_roles": roles, "description": "the indexer function's IAM role"}
