"""Deploy-time search setup: the indexer's FGAC role and mapping, then the index templates and aliases."""

from __future__ import annotations

from typing import Any

from tradepipe.app.search_access import INDEXER_ROLE, indexer_role, indexer_role_mapping
from tradepipe.ports.search import SearchAdmin


def set_up_search(admin: SearchAdmin, indexer_role_arn: str) -> dict[str, Any]:
    """Idempotent (every call is a PUT of the whole document), so CloudFormation may repeat it on update.
    The role comes first: templates applied by the master user would work without it, but an indexer that
    cannot write is the failure worth failing the deploy for."""
    patterns = admin.index_patterns()
    admin.put_security_role(INDEXER_ROLE, indexer_role(patterns))
    admin.put_role_mapping(INDEXER_ROLE, indexer_role_mapping([indexer_role_arn]))
    admin.ensure_templates()
    return {"role": INDEXER_ROLE, "index_patterns": sorted(set(patterns))}
