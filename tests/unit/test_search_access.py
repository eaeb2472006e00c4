"""The indexer's FGAC role and the deploy-time setup order."""

from __future__ import annotations

from typing import Any

import pytest

from tradepipe.app.search_access import INDEXER_ROLE, indexer_role, indexer_role_mapping
from tradepipe.app.search_setup import set_up_search

ROLE_ARN = "arn:aws:iam::123456789012:role/tradepipe-dev-IndexerRole"


def test_indexer_role_covers_its_own_patterns_only() -> None:
    body = indexer_role(["trading-signals*", "fills*", "fills*"])

    (grant,) = body["index_permissions"]
    assert grant["index_patterns"] == ["fills*", "trading-signals*"]
    # Writes only: templates, indices and aliases are the setup's (master user), never the indexer's.
    assert set(grant["allowed_actions"]) == {
        "indices:data/write/bulk*",
        "indices:data/write/index",
        "indices:data/write/delete",
    }
    assert body["cluster_permissions"] == ["indices:data/write/bulk"]


@pytest.mark.parametrize("patterns", [[], ["*"], [".opendistro_security"], ["fills*", ""]])
def test_indexer_role_refuses_patterns_beyond_its_indices(patterns: list[str]) -> None:
    with pytest.raises(ValueError, match="its own indices"):
        indexer_role(patterns)


def test_role_mapping_takes_iam_role_arns_only() -> None:
    assert indexer_role_mapping([ROLE_ARN])["backend_roles"] == [ROLE_ARN]
    with pytest.raises(ValueError, match="IAM role ARNs"):
        indexer_role_mapping(["tradepipe-indexer"])


class RecordingAdmin:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def put_security_role(self, name: str, body: dict[str, Any]) -> None:
        self.calls.append(("role", (name, body)))

    def put_role_mapping(self, name: str, body: dict[str, Any]) -> None:
        self.calls.append(("mapping", (name, body)))

    def index_patterns(self) -> list[str]:
        return ["trading-signals*", "trade-executions*"]

    def ensure_templates(self) -> None:
        self.calls.append(("templates", None))


def test_setup_writes_role_then_mapping_then_templates() -> None:
    admin = RecordingAdmin()

    result = set_up_search(admin, ROLE_ARN)

    assert [kind for kind, _ in admin.calls] == ["role", "mapping", "templates"]
    assert admin.calls[0][1][0] == admin.calls[1][1][0] == INDEXER_ROLE
    assert admin.calls[1][1][1]["backend_roles"] == [ROLE_ARN]
    assert result["index_patterns"] == ["trade-executions*", "trading-signals*"]
