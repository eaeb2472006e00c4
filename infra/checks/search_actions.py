"""Which OpenSearch security-plugin action each recorded request needs, and whether a role grants it.

Action names and default action groups are the security plugin's (docs.opensearch.org/latest/security/
access-control/permissions/ and .../default-action-groups/). A request the table does not know is an error,
not a pass: add its row when a client starts making a new kind of request.

| request | action checked | on |
|---|---|---|
| `POST /_bulk` | `indices:data/write/bulk` (cluster); per item `bulk[s]`, `index`, `delete` | item index |
| `GET /_alias/<name>` (also under an index) | `indices:admin/aliases/get` | `*` (security #1861, #5871) |
| `HEAD /<index>`, `GET /<index>` | `indices:admin/get` | the index |
| `PUT /<index>` | `indices:admin/create` | the index |
| `POST /_aliases`, `PUT /<index>/_alias/<name>` | `indices:admin/aliases` | each index named |
| `PUT /_component_template/<name>` | `cluster:admin/component_template/put` (cluster) | |
| `PUT /_index_template/<name>` | `indices:admin/index_template/put` (cluster) | |
| `POST /<index>/_refresh`, `POST /_refresh` | `indices:admin/refresh` | the index, or `*` |
| `PUT|GET /_plugins/_security/api/...` | the security REST API | roles all_access, security_manager |

AWS FGAC maps the master user to both all_access and security_manager.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from infra.checks.search_front import Recorded

CLUSTER = "cluster"
SECURITY_API = "security-rest-api"
# Default action groups, as the security plugin defines them (only those our roles may name).
ACTION_GROUPS: dict[str, tuple[str, ...]] = {
    "unlimited": ("*",),
    "cluster_all": ("cluster:*",),
    "cluster_monitor": ("cluster:monitor/*",),
    "cluster_composite_ops_ro": (
        "indices:data/read/mget", "indices:data/read/msearch", "indices:data/read/mtv",
        "indices:admin/aliases/exists*", "indices:admin/aliases/get*", "indices:data/read/scroll",
        "indices:admin/resolve/index",
    ),
    "cluster_composite_ops": (
        "indices:data/write/bulk", "indices:admin/aliases*", "indices:data/write/reindex",
        "indices:data/read/mget", "indices:data/read/msearch", "indices:data/read/mtv",
        "indices:admin/aliases/exists*", "indices:admin/aliases/get*", "indices:data/read/scroll",
        "indices:admin/resolve/index",
    ),
    "cluster_manage_index_templates": ("indices:admin/template/*", "indices:admin/index_template/*"),
    "indices_all": ("indices:*",),
    "write": ("indices:data/write*", "indices:admin/mapping/put"),
    "delete": ("indices:data/write/delete*",),
    "index": ("indices:data/write/index*", "indices:data/write/update*", "indices:admin/mapping/put",
              "indices:data/write/bulk*"),
    "read": ("indices:data/read*", "indices:admin/mappings/fields/get*", "indices:admin/resolve/index"),
    "crud": ("indices:data/read*", "indices:admin/mappings/fields/get*", "indices:data/write*",
             "indices:admin/mapping/put"),
    "create_index": ("indices:admin/create", "indices:admin/mapping/put"),
    "manage_aliases": ("indices:admin/aliases*",),
}  # fmt: skip
# AWS FGAC: "the master user ... is mapped to the all_access and security_manager roles".
ALL_ACCESS = {
    "cluster_permissions": ["*"],
    "index_permissions": [{"index_patterns": ["*"], "allowed_actions": ["*"]}],
}
SECURITY_ROLES = frozenset({"all_access", "security_manager"})


@dataclass(frozen=True)
class Needed:
    action: str
    index: str | None  # None: a cluster action
    request: str

    def __str__(self) -> str:
        where = "cluster" if self.index is None else f"index {self.index}"
        return f"{self.action} on {where} (for {self.request})"


class UnmappedRequest(ValueError):
    pass


_BULK_ITEM = {"index": "indices:data/write/index", "create": "indices:data/write/index",
              "delete": "indices:data/write/delete", "update": "indices:data/write/update"}  # fmt: skip


def needed(request: Recorded) -> list[Needed]:  # noqa: C901 - one branch per row of the table
    """The actions the security plugin checks for one request (the module docstring's table)."""
    method, path = request.method, request.path.rstrip("/") or "/"
    label = f"{method} {path}"
    parts = [p for p in path.split("/") if p]
    if parts[:3] == ["_plugins", "_security", "api"]:
        return [Needed(f"{SECURITY_API}:{parts[3] if len(parts) > 3 else ''}", None, label)]
    if parts and parts[-1] == "_bulk" and method in {"POST", "PUT"}:
        default_index = parts[0] if len(parts) == 2 else None
        result = [Needed("indices:data/write/bulk", None, label)]
        for line in request.json_lines():
            ((op, meta),) = (
                line.items() if len(line) == 1 and next(iter(line)) in _BULK_ITEM else ((None, None),)
            )
            if op is None or not isinstance(meta, dict):
                continue  # a document line
            index = str(meta.get("_index") or default_index)
            result.append(Needed("indices:data/write/bulk[s]", index, label))
            result.append(Needed(_BULK_ITEM[op], index, label))
        return result
    if "_alias" in parts and method in {"GET", "HEAD"}:
        return [Needed("indices:admin/aliases/get", "*", label)]
    if parts == ["_aliases"] and method == "POST":
        (body,) = request.json_lines()
        indices = {str(next(iter(a.values()))["index"]) for a in body["actions"]}
        return [Needed("indices:admin/aliases", index, label) for index in sorted(indices)]
    if len(parts) == 3 and parts[1] == "_alias" and method in {"PUT", "POST"}:
        return [Needed("indices:admin/aliases", parts[0], label)]
    if len(parts) == 2 and parts[0] == "_component_template" and method == "PUT":
        return [Needed("cluster:admin/component_template/put", None, label)]
    if len(parts) == 2 and parts[0] == "_index_template" and method == "PUT":
        return [Needed("indices:admin/index_template/put", None, label)]
    if parts and parts[-1] == "_refresh":
        return [Needed("indices:admin/refresh", parts[0] if len(parts) == 2 else "*", label)]
    if len(parts) == 1 and not parts[0].startswith("_"):
        if method in {"HEAD", "GET"}:
            return [Needed("indices:admin/get", parts[0], label)]
        if method == "PUT":
            return [Needed("indices:admin/create", parts[0], label)]
    raise UnmappedRequest(f"{label}: no row in infra/checks/search_actions.py's table")


def _expand(actions: Iterable[str]) -> list[str]:
    return [pattern for action in actions for pattern in ACTION_GROUPS.get(action, (action,))]


def _matches(patterns: Iterable[str], value: str) -> bool:
    # The security plugin's patterns: `*` and `?` wildcards, or a /regex/.
    for pattern in patterns:
        if pattern.startswith("/") and pattern.endswith("/") and re.fullmatch(pattern[1:-1], value):
            return True
        if fnmatch.fnmatchcase(value, pattern):
            return True
    return False


def granted(role: Mapping[str, Any], need: Needed, role_names: Iterable[str] = ()) -> bool:
    """Whether `role` (a security-plugin role document) grants `need`. `*` in an index_patterns entry
    matches every index, and an index pattern must match `*` itself for an all-indices check."""
    if need.action.startswith(SECURITY_API):
        return bool(SECURITY_ROLES & set(role_names))
    if need.index is None:
        return _matches(_expand(role.get("cluster_permissions", [])), need.action)
    for grant in role.get("index_permissions", []):
        if _matches(grant.get("index_patterns", []), need.index) and _matches(
            _expand(grant.get("allowed_actions", [])), need.action
        ):
            return True
    return False


def refused(
    requests: Iterable[Recorded], role: Mapping[str, Any], role_names: Iterable[str] = ()
) -> list[str]:
    """Each action a request needs that the role does not grant, as a readable line; [] when all pass."""
    names = list(role_names)
    return [str(n) for request in requests for n in needed(request) if not granted(role, n, names)]
